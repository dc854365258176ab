/* mod_afiliate: routing, sessions and responses (httpd glue). The rules live
 * in the pure units (afl_form, afl_curp, afl_captcha, afl_store, afl_pdf,
 * afl_tpl); this file only wires them to the request. */
#include "mod_afiliate_handler.h"
#include "mod_afiliate_config.h"
#include "mod_afiliate_dbd.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_cookies.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "afl_cadena.h"
#include "afl_captcha.h"
#include "afl_curp.h"
#include "afl_form.h"
#include "afl_hmac.h"
#include "afl_json.h"
#include "afl_log.h"
#include "afl_nss.h"
#include "afl_pdf.h"
#include "afl_qr.h"
#include "afl_secret.h"
#include "afl_sign.h"
#include "afl_store.h"
#include "afl_token.h"
#include "afl_tpl.h"
#include "afl_vigencia.h"

#include <sys/stat.h>

#include <openssl/rand.h>

APLOG_USE_MODULE(afiliate);

#define COOKIE_NAME "afiliate_tramite"
#define MSG_CAPTCHA "El captcha no fue válido, favor de intentar nuevamente"
#define MSG_RENAPO "No se localizó información en RENAPO con la CURP capturada."
#define MSG_NO_UMF                                                                                 \
    "El Código Postal %s no se encuentra relacionado a ninguna Unidad Médica Familiar (UMF)"
#define URL_SUBDELEGACION "http://www.imss.gob.mx/tramites/imss02008"
#define MSG_REENVIADO "El comprobante ha sido reenviado"
#define MSG_REENVIADA_CONSTANCIA "La constancia ha sido reenviada"
#define MSG_NSS_NO                                                                                 \
    "El Instituto (IMSS) no ha podido localizar tu Número de Seguridad Social (NSS). Verifica "   \
    "el número capturado o acude a la Subdelegación del IMSS más cercana."
#define MSG_INCONSISTENTE                                                                          \
    "El Instituto (IMSS) ha localizado inconsistencias en tus datos. Verifica que la CURP y el "   \
    "NSS capturados sean los tuyos, o acude a la Subdelegación del IMSS más cercana para su "    \
    "aclaración."

/* Everything a route needs about the request. */
typedef struct {
    request_rec *r;
    afl_server_conf *sc;
    afl_dir_conf *dc;
    const char *base;  /* <Location> path, no trailing slash */
    const char *token; /* session cookie token (32 hex), NULL when absent */
    const char *sid;   /* SHA-256 of the token: the session row id */
    const char *csrf;  /* HMAC of the token: the CSRF token of this session */
    long long now;     /* UNIX seconds */
    afl_store *st;     /* acquired on first use */
} afl_req;

/* ------------------------------------------------------------------ templates */

#define COMMON "base", "titulo"
#define SUMMARY                                                                                    \
    "errores", "lista_errores", "campo", "mensaje", "aviso", "aviso_enlace", "aviso_enlace_texto"

static const char *const allow_inicio[] = {COMMON, NULL};
static const char *const allow_nss[] = {COMMON,
                                        SUMMARY,
                                        "csrf",
                                        "captcha_id",
                                        "curp",
                                        "correo",
                                        "correo_confirmacion",
                                        "err_curp",
                                        "err_correo",
                                        "err_correo_confirmacion",
                                        "err_captcha",
                                        NULL};
static const char *const allow_domicilio[] = {COMMON,
                                              SUMMARY,
                                              "csrf",
                                              "nombre_completo",
                                              "curp",
                                              "cp",
                                              "estado",
                                              "municipio",
                                              "colonias",
                                              "nombre",
                                              "seleccionada",
                                              "calle",
                                              "numero_exterior",
                                              "numero_interior",
                                              "err_cp",
                                              "err_colonia",
                                              "err_calle",
                                              "err_numero_exterior",
                                              "err_numero_interior",
                                              NULL};
static const char *const allow_resultado[] = {COMMON,   "asignado", "localizado", "nss",
                                              "correo", "aviso",    "csrf",       NULL};
static const char *const allow_aviso[] = {COMMON, "mensaje", "enlace", "enlace_texto", NULL};
static const char *const allow_vigencia[] = {
    COMMON,        SUMMARY,   "csrf",       "captcha_id",
    "curp",        "nss",     "correo",     "correo_confirmacion",
    "err_curp",    "err_nss", "err_correo", "err_correo_confirmacion",
    "err_captcha", NULL};
static const char *const allow_vigencia_resultado[] = {
    COMMON,          "nss", "nombre", "vigente", "desde", "hasta",
    "sin_cobertura", "umf", "csrf",   "aviso",   NULL};
static const char *const allow_verificar[] = {COMMON,   "folio",    "tipo",   "fecha", "nss",
                                              "nombre", "no_serie", "valido", NULL};

static const afl_tpl_decl templates[] = {
    {"inicio", allow_inicio},
    {"nss", allow_nss},
    {"domicilio", allow_domicilio},
    {"resultado", allow_resultado},
    {"aviso", allow_aviso},
    {"vigencia", allow_vigencia},
    {"vigencia_resultado", allow_vigencia_resultado},
    {"verificar", allow_verificar},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ responses */

static void security_headers(request_rec *r)
{
    /* err_headers_out: sent with error responses too. */
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "default-src 'self'; img-src 'self'; object-src 'none'; "
                   "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    apr_table_setn(r->err_headers_out, "X-Frame-Options", "DENY");
}

static void no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
}

static afl_tpl_ctx *page_ctx(afl_req *q, const char *titulo)
{
    afl_tpl_ctx *ctx = afl_tpl_ctx_make(q->r->pool);
    afl_tpl_set_strn(ctx, "base", q->base);
    afl_tpl_set_strn(ctx, "titulo", titulo);
    return ctx;
}

/* Sends a rendered page with the given status; the handler then returns OK. */
static int send_page(afl_req *q, int status, const char *name, afl_tpl_ctx *ctx)
{
    request_rec *r = q->r;
    const char *html;
    apr_size_t len;
    apr_status_t rv = afl_tpl_render(r->pool, q->sc->templates, name, ctx, &html, &len);

    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, AFL_TAG ": cannot render template '%s'", name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(html, (int)len, r);
    return OK;
}

static int send_aviso(afl_req *q, int status, const char *titulo, const char *mensaje,
                      const char *enlace, const char *enlace_texto)
{
    afl_tpl_ctx *ctx = page_ctx(q, titulo);
    afl_tpl_set_strn(ctx, "mensaje", mensaje);
    if (enlace) {
        afl_tpl_set_strn(ctx, "enlace", enlace);
        afl_tpl_set_strn(ctx, "enlace_texto", enlace_texto);
    }
    no_store(q->r);
    return send_page(q, status, "aviso", ctx);
}

static int unavailable(afl_req *q)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", "30");
    return send_aviso(q, HTTP_SERVICE_UNAVAILABLE, "Servicio no disponible",
                      "El servicio no está disponible por el momento. Intenta nuevamente en "
                      "unos minutos.",
                      apr_pstrcat(q->r->pool, q->base, "/", NULL), "Volver al inicio");
}

static int too_many(afl_req *q)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", "60");
    return send_aviso(q, HTTP_TOO_MANY_REQUESTS, "Demasiadas solicitudes",
                      "Has realizado demasiadas solicitudes en poco tiempo. Espera un minuto e "
                      "intenta nuevamente.",
                      NULL, NULL);
}

static int forbidden(afl_req *q)
{
    return send_aviso(q, HTTP_FORBIDDEN, "Sesión no válida",
                      "Tu sesión expiró o la solicitud no es válida. Vuelve a iniciar el "
                      "trámite. Si el problema continúa, verifica que tu navegador acepte "
                      "cookies.",
                      apr_pstrcat(q->r->pool, q->base, "/nss", NULL), "Iniciar el trámite");
}

static int redirect(afl_req *q, const char *path)
{
    apr_table_setn(q->r->headers_out, "Location", apr_pstrcat(q->r->pool, q->base, path, NULL));
    no_store(q->r);
    return HTTP_SEE_OTHER;
}

/* ------------------------------------------------------------------ session */

static int cookie_secure(request_rec *r)
{
    return ap_http_scheme(r) && !strcmp(ap_http_scheme(r), "https");
}

static void set_cookie(afl_req *q, const char *value, int expire)
{
    const char *attrs =
        apr_psprintf(q->r->pool, "Path=%s/; HttpOnly; SameSite=Strict%s%s", q->base,
                     cookie_secure(q->r) ? "; Secure" : "", expire ? "; Max-Age=0" : "");
    apr_table_add(q->r->err_headers_out, "Set-Cookie",
                  apr_psprintf(q->r->pool, "%s=%s; %s", COOKIE_NAME, value, attrs));
}

static void read_session_cookie(afl_req *q)
{
    const char *v = NULL;

    if (ap_cookie_read(q->r, COOKIE_NAME, &v, 0) == APR_SUCCESS && v && afl_token_is_hex(v, 32))
        q->token = v;
    if (q->token) {
        q->csrf =
            afl_token_hmac(q->r->pool, q->sc->secret, q->sc->secret_len, "csrf", q->token, 64);
    }
}

/* Gives a browser without a session cookie a new one (no database write: a
 * session row exists only once the trámite has state). */
static int ensure_token(afl_req *q)
{
    if (q->token)
        return 1;
    q->token = afl_token_random(q->r->pool);
    if (!q->token)
        return 0;
    q->csrf = afl_token_hmac(q->r->pool, q->sc->secret, q->sc->secret_len, "csrf", q->token, 64);
    set_cookie(q, q->token, 0);
    return 1;
}

/* The session row id, computed when first needed (the form page needs none). */
static const char *session_id(afl_req *q)
{
    if (!q->sid && q->token)
        q->sid = afl_token_sha256(q->r->pool, q->token);
    return q->sid;
}

static afl_store *store(afl_req *q)
{
    if (!q->st)
        q->st = afl_dbd_store(q->r);
    return q->st;
}

/* Loads the session row; AFL_STORE_NOTFOUND when there is none (or expired). */
static afl_store_status load_session(afl_req *q, afl_tramite *t)
{
    if (!session_id(q))
        return AFL_STORE_NOTFOUND;
    if (!store(q))
        return AFL_STORE_ERROR;
    return afl_store_tramite_get(q->r->pool, q->st, q->sid, q->now, t);
}

static long long session_expiry(afl_req *q)
{
    int t =
        q->sc->session_timeout == AFL_UNSET ? AFL_DEFAULT_SESSION_TIMEOUT : q->sc->session_timeout;
    return q->now + t;
}

static int csrf_ok(afl_req *q, apr_table_t *form)
{
    const char *sent = apr_table_get(form, AFL_FIELD_CSRF);
    return q->csrf && sent && afl_token_equal(sent, q->csrf);
}

/* ------------------------------------------------------------------ request body */

/* A page was sent instead of going on: DONE tells the caller (and httpd) that
 * the response is complete. */
static int sent(int rc)
{
    return rc == OK ? DONE : rc;
}

/* Reads an urlencoded body within the directory's size cap. Returns OK with
 * *form set; otherwise the response is already made (413, 415, 400) and the
 * value is what the handler returns. */
static int read_form(afl_req *q, apr_table_t **form)
{
    request_rec *r = q->r;
    int max = afl_dir_max_body(q->dc);
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    char *buf = apr_palloc(r->pool, (apr_size_t)max + 1);
    apr_size_t len = 0;
    apr_status_t rv;
    int rc;

    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
        return sent(send_aviso(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "Solicitud no válida",
                               "El formulario se envió en un formato que no se reconoce.", NULL,
                               NULL));
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (ap_should_client_block(r)) {
        long n;
        while ((n = ap_get_client_block(r, buf + len, (apr_size_t)max + 1 - len)) > 0) {
            len += (apr_size_t)n;
            if (len > (apr_size_t)max) {
                ap_discard_request_body(r);
                return sent(send_aviso(q, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "Solicitud demasiado grande",
                                       "La información enviada es demasiado grande.", NULL, NULL));
            }
        }
        if (n < 0)
            return HTTP_BAD_REQUEST;
    }
    buf[len] = '\0';
    rv = afl_form_parse(r->pool, buf, len, AFL_FORM_DEFAULT_FIELDS, form);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AFL_TAG ": rejected form body: %s",
                      afl_form_strerror(rv));
        return sent(send_aviso(q, HTTP_BAD_REQUEST, "Solicitud no válida",
                               "La información enviada no es válida. Vuelve a capturarla.",
                               apr_pstrcat(r->pool, q->base, "/nss", NULL),
                               "Volver al formulario"));
    }
    return OK;
}

/* Counts one form submission of this client address; 1 when over the limit. */
static int rate_limited(afl_req *q, int *db_error)
{
    int limit = afl_dir_rate_limit(q->dc);
    long long count = 0, window = q->now - q->now % 60;
    const char *key;

    *db_error = 0;
    if (limit == 0)
        return 0;
    if (!store(q)) {
        *db_error = 1;
        return 0;
    }
    /* The address is pseudonymised: the table holds no personal data. */
    key = apr_pstrcat(
        q->r->pool, "form:", q->base, ":",
        afl_token_hmac(q->r->pool, q->sc->secret, q->sc->secret_len, "ip", q->r->useragent_ip, 32),
        NULL);
    if (afl_store_rate_hit(q->r->pool, q->st, key, window, &count) != AFL_STORE_OK) {
        *db_error = 1;
        return 0;
    }
    if (count > limit) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                      AFL_TAG ": form rate limit reached for a client address");
        return 1;
    }
    return 0;
}

/* Housekeeping every few hundred submissions per process: expired CAPTCHA ids,
 * sessions and rate windows. */
static void maybe_purge(afl_req *q)
{
    static volatile apr_uint32_t submissions;
    if (apr_atomic_inc32(&submissions) % 256 == 0 && q->st)
        afl_store_purge(q->r->pool, q->st, q->now);
}

static const char *curp_hmac(afl_req *q, const char *curp)
{
    return afl_token_hmac(q->r->pool, q->sc->secret, q->sc->secret_len, "curp", curp, 32);
}

/* Domain of the Message-IDs of queued mail (AfiliateMailFrom's). */
static const char *mail_host(afl_req *q)
{
    return q->sc->mail_host ? q->sc->mail_host : "localhost";
}

static const char *nombre_completo(apr_pool_t *p, const afl_persona *per)
{
    return *per->segundo_apellido ? apr_pstrcat(p, per->nombres, " ", per->primer_apellido, " ",
                                                per->segundo_apellido, NULL)
                                  : apr_pstrcat(p, per->nombres, " ", per->primer_apellido, NULL);
}

/* ------------------------------------------------------------------ Paso 1: the form */

static void add_error(afl_tpl_ctx *ctx, const char *campo, const char *mensaje)
{
    afl_tpl_ctx *item;
    if (!mensaje)
        return;
    item = afl_tpl_add_item(ctx, "lista_errores");
    afl_tpl_set_strn(item, "campo", campo);
    afl_tpl_set_strn(item, "mensaje", mensaje);
    afl_tpl_set_bool(ctx, "errores", 1);
}

static int send_form(afl_req *q, int status, const afl_solicitud *sol, const char *aviso)
{
    afl_tpl_ctx *ctx = page_ctx(q, "Paso 1: Obtén o localiza tu NSS");
    const char *captcha_id = NULL;

    if (!ensure_token(q) ||
        afl_captcha_issue(q->r->pool, q->sc->secret, q->sc->secret_len, apr_time_from_sec(q->now),
                          &captcha_id) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": no random bytes available");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    afl_tpl_set_strn(ctx, "csrf", q->csrf);
    afl_tpl_set_strn(ctx, "captcha_id", captcha_id);
    if (sol) {
        afl_tpl_set_strn(ctx, "curp", sol->curp);
        afl_tpl_set_strn(ctx, "correo", sol->correo);
        afl_tpl_set_strn(ctx, "correo_confirmacion", sol->correo_confirmacion);
        afl_tpl_set_strn(ctx, "err_curp", sol->err_curp);
        afl_tpl_set_strn(ctx, "err_correo", sol->err_correo);
        afl_tpl_set_strn(ctx, "err_correo_confirmacion", sol->err_correo_confirmacion);
        afl_tpl_set_strn(ctx, "err_captcha", sol->err_captcha);
        add_error(ctx, "curp", sol->err_curp);
        add_error(ctx, "correo", sol->err_correo);
        add_error(ctx, "correo_confirmacion", sol->err_correo_confirmacion);
        add_error(ctx, "captcha", sol->err_captcha);
    }
    if (aviso)
        afl_tpl_set_strn(ctx, "aviso", aviso);
    no_store(q->r);
    return send_page(q, status, "nss", ctx);
}

/* 1 when the form's CAPTCHA id is ours and unexpired (*expires set). */
static int captcha_id_valid(afl_req *q, const afl_solicitud *sol, long long *expires)
{
    *expires = 0;
    return sol->captcha_id && *sol->captcha_id &&
           afl_captcha_check_id(q->sc->secret, q->sc->secret_len, sol->captcha_id,
                                apr_time_from_sec(q->now), expires) == AFL_CAPTCHA_VALID;
}

/* 1 when the answer is the one the id's image shows (no database: the id is
 * burned by burn_captcha or with the form's own writes). */
static int captcha_answer_ok(afl_req *q, const afl_solicitud *sol)
{
    return sol->captcha &&
           afl_captcha_matches(q->sc->secret, q->sc->secret_len, sol->captcha_id, sol->captcha);
}

/* Burns a valid CAPTCHA id on its own transaction: 1 when this call used it
 * first, 0 on a replay or a database error (*db_error set). */
static int burn_captcha(afl_req *q, const afl_solicitud *sol, long long expires, int *db_error)
{
    afl_store_status s;

    *db_error = 0;
    if (!store(q)) {
        *db_error = 1;
        return 0;
    }
    s = afl_store_captcha_use(q->r->pool, q->st, sol->captcha_id, expires);
    if (s == AFL_STORE_ERROR)
        *db_error = 1;
    return s == AFL_STORE_OK;
}

/* Checks and burns the CAPTCHA: one attempt per id, across every server. */
static int captcha_ok(afl_req *q, const afl_solicitud *sol, int *db_error)
{
    long long expires = 0;
    afl_store_status s;

    *db_error = 0;
    if (!captcha_id_valid(q, sol, &expires))
        return 0;
    if (!store(q)) {
        *db_error = 1;
        return 0;
    }
    s = afl_store_captcha_use(q->r->pool, q->st, sol->captcha_id, expires);
    if (s == AFL_STORE_ERROR) {
        *db_error = 1;
        return 0;
    }
    if (s == AFL_STORE_NOTFOUND)
        return 0; /* replay */
    return sol->captcha &&
           afl_captcha_matches(q->sc->secret, q->sc->secret_len, sol->captcha_id, sol->captcha);
}

static const char *inactive_message(apr_pool_t *p, const char *status)
{
    static const struct {
        const char *code, *text;
    } bajas[] = {
        {"BD", "baja por defunción"},
        {"BDA", "baja por duplicidad"},
        {"BCC", "baja por cambio en CURP"},
        {"BCN", "baja no afectando a CURP"},
        {"BAP", "baja por documento apócrifo"},
        {"BSU", "baja sin uso"},
        {"BDM", "baja administrativa"},
        {"BDP", "baja por adopción"},
        {"BJD", "baja judicial"},
    };
    const char *text = "baja";

    for (size_t i = 0; i < sizeof bajas / sizeof bajas[0]; i++)
        if (!strcmp(status, bajas[i].code))
            text = bajas[i].text;
    return apr_psprintf(p,
                        "La CURP capturada no está vigente en RENAPO (%s). Tu solicitud requiere "
                        "que acudas a la subdelegación del IMSS que te corresponda, o que "
                        "aclares tu CURP ante el Registro Nacional de Población.",
                        text);
}

/* Paso 1's POST. The CAPTCHA id is burned exactly once whatever the outcome
 * (one attempt per id), and in the same transaction as the trámite's own
 * writes when the form goes on: one commit per POST. */
static int submit_form(afl_req *q)
{
    apr_table_t *form;
    afl_solicitud sol;
    afl_curp_info info;
    afl_persona per;
    afl_asegurado aseg;
    afl_store_status s;
    long long expires = 0;
    int rc, dberr = 0, id_valid, captcha_good;

    if ((rc = read_form(q, &form)) != OK)
        return rc == DONE ? OK : rc;
    if (!csrf_ok(q, form))
        return forbidden(q);
    if (rate_limited(q, &dberr))
        return too_many(q);
    if (dberr)
        return unavailable(q);

    afl_form_solicitud(q->r->pool, form, &sol);
    if (!sol.err_curp) {
        afl_curp_reason reason = afl_curp_validate(sol.curp, strlen(sol.curp), &info);
        if (reason != AFL_CURP_OK)
            sol.err_curp = afl_form_curp_message(reason);
        else
            sol.curp = apr_pstrdup(q->r->pool, info.curp);
    }
    id_valid = captcha_id_valid(q, &sol, &expires);
    captcha_good = id_valid && captcha_answer_ok(q, &sol);
    if (!captcha_good)
        sol.err_captcha = MSG_CAPTCHA;
    if (sol.err_curp || sol.err_correo || sol.err_correo_confirmacion || sol.err_captcha) {
        if (id_valid && !burn_captcha(q, &sol, expires, &dberr)) {
            if (dberr)
                return unavailable(q);
            sol.err_captcha = MSG_CAPTCHA; /* replay */
        }
        return send_form(q, HTTP_BAD_REQUEST, &sol, NULL);
    }
    if (!store(q))
        return unavailable(q);
    maybe_purge(q);

    s = afl_store_persona(q->r->pool, q->st, sol.curp, &per);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_OK && afl_store_status_active(per.status_curp))
        s = afl_store_asegurado(q->r->pool, q->st, sol.curp, &aseg);
    else {
        /* The form goes no further: the CAPTCHA is burned on its own. */
        if (!burn_captcha(q, &sol, expires, &dberr)) {
            if (dberr)
                return unavailable(q);
            sol.err_captcha = MSG_CAPTCHA;
            return send_form(q, HTTP_BAD_REQUEST, &sol, NULL);
        }
        if (s == AFL_STORE_NOTFOUND)
            return send_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol, MSG_RENAPO);
        return send_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol,
                         inactive_message(q->r->pool, per.status_curp));
    }
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_OK) {
        afl_tramite t = {q->csrf,  AFL_PASO_RESULTADO,  sol.curp, sol.correo,
                         aseg.nss, "localizado", 0,        session_expiry(q)};
        s = afl_store_locate_form(q->r->pool, q->st, sol.captcha_id, expires, session_id(q), &t,
                                  curp_hmac(q, sol.curp), mail_host(q), q->now);
    } else {
        afl_tramite t = {q->csrf, AFL_PASO_DOMICILIO, sol.curp, sol.correo, "", "", 0, session_expiry(q)};
        s = afl_store_tramite_start(q->r->pool, q->st, sol.captcha_id, expires, session_id(q), &t,
                                    q->now);
        if (s == AFL_STORE_OK)
            return redirect(q, "/domicilio");
    }
    if (s == AFL_STORE_USED) {
        sol.err_captcha = MSG_CAPTCHA;
        return send_form(q, HTTP_BAD_REQUEST, &sol, NULL);
    }
    if (s != AFL_STORE_OK)
        return unavailable(q);
    return redirect(q, "/resultado");
}

/* ------------------------------------------------------------------ Paso 1: the address */

typedef struct {
    afl_address addr;
    afl_cp_info cp;
    int cp_found;
    const char *aviso;
} domicilio_view;

static int send_domicilio(afl_req *q, int status, const afl_tramite *t, const domicilio_view *v)
{
    afl_tpl_ctx *ctx = page_ctx(q, "Asignación de NSS");
    afl_persona per;
    afl_store_status s = afl_store_persona(q->r->pool, q->st, t->curp, &per);

    if (s != AFL_STORE_OK)
        return unavailable(q);
    afl_tpl_set_strn(ctx, "csrf", q->csrf);
    afl_tpl_set_strn(ctx, "nombre_completo", nombre_completo(q->r->pool, &per));
    afl_tpl_set_strn(ctx, "curp", t->curp);
    if (v) {
        afl_tpl_set_strn(ctx, "cp", v->addr.cp);
        afl_tpl_set_strn(ctx, "calle", v->addr.calle);
        afl_tpl_set_strn(ctx, "numero_exterior", v->addr.numero_exterior);
        afl_tpl_set_strn(ctx, "numero_interior", v->addr.numero_interior);
        afl_tpl_set_strn(ctx, "err_cp", v->addr.err_cp);
        afl_tpl_set_strn(ctx, "err_colonia", v->addr.err_colonia);
        afl_tpl_set_strn(ctx, "err_calle", v->addr.err_calle);
        afl_tpl_set_strn(ctx, "err_numero_exterior", v->addr.err_numero_exterior);
        afl_tpl_set_strn(ctx, "err_numero_interior", v->addr.err_numero_interior);
        add_error(ctx, "cp", v->addr.err_cp);
        add_error(ctx, "colonia", v->addr.err_colonia);
        add_error(ctx, "calle", v->addr.err_calle);
        add_error(ctx, "numero_exterior", v->addr.err_numero_exterior);
        add_error(ctx, "numero_interior", v->addr.err_numero_interior);
        if (v->cp_found) {
            afl_tpl_set_strn(ctx, "estado", v->cp.estado);
            afl_tpl_set_strn(ctx, "municipio", v->cp.municipio);
            for (int i = 0; i < v->cp.colonias->nelts; i++) {
                const char *c = APR_ARRAY_IDX(v->cp.colonias, i, const char *);
                afl_tpl_ctx *item = afl_tpl_add_item(ctx, "colonias");
                afl_tpl_set_strn(item, "nombre", c);
                /* A postal code with one colonia needs no choice (as the script does). */
                afl_tpl_set_bool(item, "seleccionada",
                                 v->cp.colonias->nelts == 1 ||
                                     (v->addr.colonia && !strcmp(v->addr.colonia, c)));
            }
        }
        if (v->aviso)
            afl_tpl_set_strn(ctx, "aviso", v->aviso);
    }
    no_store(q->r);
    return send_page(q, status, "domicilio", ctx);
}

static int page_domicilio(afl_req *q)
{
    afl_tramite t;
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND)
        return redirect(q, "/nss");
    if (t.paso == AFL_PASO_RESULTADO)
        return redirect(q, "/resultado");
    if (t.paso != AFL_PASO_DOMICILIO)
        return redirect(q, "/nss");
    return send_domicilio(q, HTTP_OK, &t, NULL);
}

static int current_year(request_rec *r)
{
    apr_time_exp_t tm;
    apr_time_exp_lt(&tm, r->request_time);
    return tm.tm_year + 1900;
}

static int contains(const apr_array_header_t *arr, const char *s)
{
    for (int i = 0; i < arr->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(arr, i, const char *), s))
            return 1;
    return 0;
}

/* The coverage an assignment opens: from today to AfiliatePeriodoFin or,
 * when unset (or already past), to the end of the current semester: July 31
 * for February to July, January 31 of the next year for August to January. */
static void periodo_coverage(afl_req *q, const char **inicio, const char **fin)
{
    int hoy = afl_vigencia_today(q->r->request_time), dia = 0, y, m, d;
    char buf[11];

    afl_vigencia_format_date(hoy, buf);
    *inicio = apr_pstrdup(q->r->pool, buf);
    if (q->sc->periodo_fin && afl_vigencia_parse_date(q->sc->periodo_fin, &dia) == 0 &&
        dia >= hoy) {
        *fin = q->sc->periodo_fin;
        return;
    }
    afl_vigencia_civil(hoy, &y, &m, &d);
    if (m == 1)
        dia = afl_vigencia_day(y, 1, 31);
    else if (m <= 7)
        dia = afl_vigencia_day(y, 7, 31);
    else
        dia = afl_vigencia_day(y + 1, 1, 31);
    afl_vigencia_format_date(dia, buf);
    *fin = apr_pstrdup(q->r->pool, buf);
}

static int submit_domicilio(afl_req *q)
{
    apr_table_t *form;
    afl_tramite t;
    domicilio_view v;
    apr_array_header_t *umfs;
    afl_curp_info info;
    afl_store_status s;
    const char *nss = NULL;
    int rc, dberr, assigned = 0, lookup_only;
    unsigned char pick;
    const char *cobertura_inicio, *cobertura_fin;

    if ((rc = read_form(q, &form)) != OK)
        return rc == DONE ? OK : rc;
    s = load_session(q, &t);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || !csrf_ok(q, form) || !afl_token_equal(t.csrf, q->csrf))
        return forbidden(q);
    if (t.paso == AFL_PASO_RESULTADO)
        return redirect(q, "/resultado"); /* double submit: already assigned */
    if (t.paso != AFL_PASO_DOMICILIO)
        return redirect(q, "/nss");
    if (rate_limited(q, &dberr))
        return too_many(q);
    if (dberr)
        return unavailable(q);

    memset(&v, 0, sizeof v);
    afl_form_address(q->r->pool, form, &v.addr);
    lookup_only = apr_table_get(form, "aceptar") != NULL;
    if (!v.addr.err_cp) {
        s = afl_store_cp(q->r->pool, q->st, v.addr.cp, &v.cp);
        if (s == AFL_STORE_ERROR)
            return unavailable(q);
        v.cp_found = s == AFL_STORE_OK;
        if (afl_store_umfs(q->r->pool, q->st, v.addr.cp, &umfs) != AFL_STORE_OK)
            return unavailable(q);
        if (!v.cp_found || umfs->nelts == 0)
            v.addr.err_cp = apr_psprintf(q->r->pool, MSG_NO_UMF, v.addr.cp);
    }
    if (lookup_only) {
        /* "Aceptar" without JavaScript: show Estado, Municipio and the colonias. */
        v.addr.err_colonia = v.addr.err_calle = v.addr.err_numero_exterior = NULL;
        v.addr.err_numero_interior = NULL;
        return send_domicilio(q, v.addr.err_cp ? HTTP_UNPROCESSABLE_ENTITY : HTTP_OK, &t, &v);
    }
    if (!v.addr.err_colonia && v.cp_found && !contains(v.cp.colonias, v.addr.colonia))
        v.addr.err_colonia = "Selecciona una colonia de la lista del Código Postal capturado";
    if (v.addr.err_cp || v.addr.err_colonia || v.addr.err_calle || v.addr.err_numero_exterior ||
        v.addr.err_numero_interior)
        return send_domicilio(q, HTTP_BAD_REQUEST, &t, &v);

    if (afl_curp_validate(t.curp, strlen(t.curp), &info) != AFL_CURP_OK)
        return forbidden(q);
    periodo_coverage(q, &cobertura_inicio, &cobertura_fin);
    /* Several UMFs serve this postal code: IMSS picks one at random. */
    if (RAND_bytes(&pick, 1) != 1)
        pick = 0;
    {
        afl_assign_req req = {
            .curp = t.curp,
            .correo = t.correo,
            .birth_year = info.birth_year,
            .reg_year = current_year(q->r),
            .umf = &APR_ARRAY_IDX(umfs, pick % umfs->nelts, afl_umf),
            .cp = v.addr.cp,
            .colonia = v.addr.colonia,
            .calle = v.addr.calle,
            .numero_exterior = v.addr.numero_exterior,
            .numero_interior = v.addr.numero_interior,
            .tramite_id = session_id(q),
            .curp_hmac = curp_hmac(q, t.curp),
            .now = q->now,
            .session_expira = session_expiry(q),
            .msgid_host = mail_host(q),
            .cobertura_inicio = cobertura_inicio,
            .cobertura_fin = cobertura_fin,
        };
        s = afl_store_assign(q->r->pool, q->st, &req, &nss, &assigned);
    }
    if (s == AFL_STORE_EXHAUSTED) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      AFL_TAG ": no NSS folio left for a prefix of this subdelegación");
        return send_aviso(q, HTTP_SERVICE_UNAVAILABLE, "No fue posible asignar tu NSS",
                          "Tu solicitud requiere que acudas a la subdelegación del IMSS que te "
                          "corresponda.",
                          URL_SUBDELEGACION, "Consulta el trámite IMSS-02-008");
    }
    if (s != AFL_STORE_OK)
        return unavailable(q);
    return redirect(q, "/resultado");
}

/* ------------------------------------------------------------------ Paso 1: result */

static int page_resultado(afl_req *q)
{
    afl_tramite t;
    afl_tpl_ctx *ctx;
    int asignado;
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_RESULTADO)
        return redirect(q, "/nss");
    asignado = !strcmp(t.origen, "asignado");
    ctx = page_ctx(q, asignado ? "Asignación de NSS exitosa" : "NSS localizado");
    afl_tpl_set_bool(ctx, "asignado", asignado);
    afl_tpl_set_bool(ctx, "localizado", !asignado);
    afl_tpl_set_strn(ctx, "nss", t.nss);
    afl_tpl_set_strn(ctx, "correo", t.correo);
    afl_tpl_set_strn(ctx, "csrf", q->csrf);
    /* After a resend (POST /reenviar redirects here with this flag only). */
    if (q->r->args && !strcmp(q->r->args, "reenviado=1"))
        afl_tpl_set_strn(ctx, "aviso", MSG_REENVIADO);
    no_store(q->r);
    return send_page(q, HTTP_OK, "resultado", ctx);
}

/* ------------------------------------------------------------------ signed documents */

static int wants_download(request_rec *r)
{
    return r->args && ap_strstr_c(r->args, "descargar=1") != NULL;
}

/* Base URL of the verification link: AfiliatePublicURL, else this server's
 * scheme, ServerName and port (never the client's Host header) + <Location>. */
static const char *public_base(afl_req *q)
{
    request_rec *r = q->r;
    const char *scheme = ap_http_scheme(r);
    /* ServerName's port, else the port this connection came in on. */
    apr_port_t port = r->server->port ? r->server->port : r->connection->local_addr->port;

    if (q->sc->public_url)
        return q->sc->public_url;
    if (port == ap_default_port(r))
        return apr_psprintf(r->pool, "%s://%s%s", scheme, r->server->server_hostname, q->base);
    return apr_psprintf(r->pool, "%s://%s:%u%s", scheme, r->server->server_hostname, (unsigned)port,
                        q->base);
}

/* Issues (or, for a re-download in the same trámite, finds again) a signed
 * document and fills firma for the PDF. Without AfiliateSigningKey the
 * document is not signed: an unrecorded folio (sequence 0), firma zeroed. */
static afl_store_status issue_document(afl_req *q, const char *tipo, afl_cadena_tipo ct,
                                       const char *nss, const char *curp, const char *nombre,
                                       afl_store_doc *doc, afl_pdf_firma *firma)
{
    apr_pool_t *p = q->r->pool;
    afl_store_doc_req req;
    afl_store_status s;

    memset(firma, 0, sizeof *firma);
    if (!q->sc->sign_key) {
        char folio[AFL_FOLIO_LEN + 1];
        memset(doc, 0, sizeof *doc);
        afl_folio_make(apr_time_from_sec(q->now), 0, folio);
        doc->folio = apr_pstrdup(p, folio);
        doc->emitido = q->now;
        return AFL_STORE_OK;
    }
    memset(&req, 0, sizeof req);
    req.tipo = tipo;
    req.cadena_tipo = ct;
    req.nss = nss;
    req.curp = curp;
    req.nombre = nombre;
    req.emitido = q->now; /* whole seconds: the cadena's Fecha */
    req.datos =
        session_id(q) ? apr_pstrcat(p, "{\"tramite\":\"", session_id(q), "\"}", NULL) : NULL;
    req.key = q->sc->sign_key;
    s = afl_store_documento_emitir(p, q->st, &req, doc);
    if (s != AFL_STORE_OK)
        return s;
    firma->cadena_original = doc->cadena;
    firma->sello = doc->sello;
    firma->no_serie = doc->no_serie;
    firma->verify_url = afl_qr_verify_url(p, public_base(q), doc->folio);
    firma->key = q->sc->sign_key;
    return AFL_STORE_OK;
}

static int send_pdf(afl_req *q, const unsigned char *pdf, size_t len, const char *filename,
                    int descargar)
{
    request_rec *r = q->r;

    no_store(r);
    ap_set_content_type(r, "application/pdf");
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "%s; filename=\"%s\"", descargar ? "attachment" : "inline",
                                filename));
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(pdf, (int)len, r);
    return OK;
}

static int pdf_failed(afl_req *q, const char *what, const char *err)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": cannot build the %s: %s", what, err);
    return HTTP_INTERNAL_SERVER_ERROR;
}

static int document_unavailable(afl_req *q, const char *mensaje, const char *path)
{
    return send_aviso(q, HTTP_NOT_FOUND, "Documento no disponible", mensaje,
                      apr_pstrcat(q->r->pool, q->base, path, NULL), "Iniciar el trámite");
}

static int comprobante(afl_req *q)
{
    request_rec *r = q->r;
    afl_tramite t;
    afl_comprobante c;
    afl_store_doc doc;
    const unsigned char *pdf;
    size_t len;
    char err[256];
    int descargar = wants_download(r);
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_RESULTADO)
        return document_unavailable(q,
                                    "El comprobante solo está disponible al concluir el Paso 1 "
                                    "en esta sesión.",
                                    "/nss");
    /* The same stored data as the e-mailed attachment (afl_outbox). */
    if (afl_store_comprobante(r->pool, q->st, t.curp, &c) != AFL_STORE_OK)
        return unavailable(q);
    if (issue_document(q, "comprobante",
                       c.localizacion ? AFL_CADENA_LOCALIZACION : AFL_CADENA_ASIGNACION, c.nss,
                       c.curp,
                       afl_cadena_nombre(r->pool, c.nombres, c.primer_apellido, c.segundo_apellido),
                       &doc, &c.firma) != AFL_STORE_OK)
        return unavailable(q);
    if (q->sc->sign_key)
        c.folio = doc.folio;
    afl_store_audit(r->pool, q->st, q->now, descargar ? "descarga" : "impresion",
                    curp_hmac(q, t.curp), "comprobante");

    /* Built after the database work: no transaction is open here. */
    c.issued = apr_time_from_sec(doc.emitido);
    c.font = q->sc->pdf_font;
    c.font_bold = q->sc->pdf_font_bold;
    if (afl_pdf_comprobante(r->pool, &c, &pdf, &len, err, sizeof err) != APR_SUCCESS)
        return pdf_failed(q, "comprobante", err);
    return send_pdf(q, pdf, len, apr_psprintf(r->pool, "comprobanteNSS%s.pdf", c.nss), descargar);
}

/* The Tarjeta de NSS, for the session that reached the Paso 1 result. */
static int tarjeta(afl_req *q)
{
    request_rec *r = q->r;
    afl_tramite t;
    afl_comprobante c;
    afl_tarjeta tj;
    afl_store_doc doc;
    const unsigned char *pdf;
    size_t len;
    char err[256];
    int descargar = wants_download(r);
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_RESULTADO)
        return document_unavailable(q,
                                    "La tarjeta solo está disponible al concluir el Paso 1 en "
                                    "esta sesión.",
                                    "/nss");
    if (afl_store_comprobante(r->pool, q->st, t.curp, &c) != AFL_STORE_OK)
        return unavailable(q);
    memset(&tj, 0, sizeof tj);
    if (issue_document(q, "tarjeta", AFL_CADENA_TARJETA, c.nss, c.curp,
                       afl_cadena_nombre(r->pool, c.nombres, c.primer_apellido, c.segundo_apellido),
                       &doc, &tj.firma) != AFL_STORE_OK)
        return unavailable(q);
    afl_store_audit(r->pool, q->st, q->now, descargar ? "descarga" : "impresion",
                    curp_hmac(q, t.curp), "tarjeta");
    tj.nombres = c.nombres;
    tj.primer_apellido = c.primer_apellido;
    tj.segundo_apellido = c.segundo_apellido;
    tj.curp = c.curp;
    tj.nss = c.nss;
    tj.folio = doc.folio;
    tj.issued = apr_time_from_sec(doc.emitido);
    tj.font = q->sc->pdf_font;
    tj.font_bold = q->sc->pdf_font_bold;
    if (afl_pdf_tarjeta(r->pool, &tj, &pdf, &len, err, sizeof err) != APR_SUCCESS)
        return pdf_failed(q, "tarjeta", err);
    return send_pdf(q, pdf, len, apr_psprintf(r->pool, "tarjetaNSS%s.pdf", c.nss), descargar);
}

/* "Reenviar": the document of the session's result goes again to the e-mail of
 * this trámite, within the per-trámite, per-CURP and per-address limits
 * (afl_store_resend): at the Paso 1 result the comprobante (and tarjeta), at
 * the Paso 2 result the constancia. One route, the session's paso decides. */
static int reenviar(afl_req *q)
{
    apr_table_t *form;
    afl_tramite t;
    afl_resend_req req;
    afl_store_status s;
    apr_pool_t *p = q->r->pool;
    const char *documento, *resultado;
    int rc, constancia;

    if ((rc = read_form(q, &form)) != OK)
        return rc == DONE ? OK : rc;
    s = load_session(q, &t);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || !csrf_ok(q, form) || !afl_token_equal(t.csrf, q->csrf))
        return forbidden(q);
    constancia = t.paso == AFL_PASO_VIGENCIA;
    if (t.paso != AFL_PASO_RESULTADO && !constancia)
        return redirect(q, "/nss");
    documento = constancia ? "constancia" : "comprobante";
    resultado = constancia ? "/vigencia/resultado" : "/resultado";

    memset(&req, 0, sizeof req);
    req.tramite_id = session_id(q);
    req.kind = documento;
    req.curp = t.curp;
    req.correo = t.correo;
    req.limit_tramite = AFL_SC_INT(q->sc, resend_limit, AFL_DEFAULT_RESEND_LIMIT);
    req.limit_curp = AFL_SC_INT(q->sc, resend_daily_curp, AFL_DEFAULT_RESEND_DAILY_CURP);
    req.limit_address = AFL_SC_INT(q->sc, resend_daily_address, AFL_DEFAULT_RESEND_DAILY_ADDRESS);
    /* Pseudonymous keys: the limite table holds no CURP and no address. */
    req.curp_key = apr_pstrcat(p, "reenvio-curp:", curp_hmac(q, t.curp), NULL);
    req.address_key = apr_pstrcat(
        p, "reenvio-ip:",
        afl_token_hmac(p, q->sc->secret, q->sc->secret_len, "ip", q->r->useragent_ip, 32), NULL);
    req.window = q->now - q->now % 86400;
    req.msgid_host = mail_host(q);
    req.now = q->now;
    s = afl_store_resend(p, q->st, &req);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_LIMITED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                      AFL_TAG ": resend limit reached (per session, CURP or client address)");
        return send_aviso(q, HTTP_TOO_MANY_REQUESTS, "Límite de reenvíos alcanzado",
                          constancia
                              ? "Ya no es posible reenviar la constancia por correo electrónico. "
                                "Puedes imprimirla o descargarla desde la página de tu resultado."
                              : "Ya no es posible reenviar el comprobante por correo electrónico. "
                                "Puedes imprimirlo o descargarlo desde la página de tu resultado.",
                          apr_pstrcat(p, q->base, resultado, NULL), "Volver al resultado");
    }
    afl_store_audit(p, q->st, q->now, "reenvio", curp_hmac(q, t.curp), documento);
    return redirect(q, apr_pstrcat(p, resultado, "?reenviado=1", NULL));
}

static int finalizar(afl_req *q)
{
    apr_table_t *form;
    int rc;

    if ((rc = read_form(q, &form)) != OK)
        return rc == DONE ? OK : rc;
    if (!csrf_ok(q, form))
        return forbidden(q);
    if (!store(q))
        return unavailable(q);
    if (afl_store_tramite_del(q->r->pool, q->st, session_id(q)) != AFL_STORE_OK)
        return unavailable(q);
    set_cookie(q, "", 1);
    return redirect(q, "/");
}

/* ------------------------------------------------------------------ Paso 2: vigencia */

static int send_vigencia_form(afl_req *q, int status, const afl_solicitud *sol, const char *nss,
                              const char *err_nss, const char *aviso)
{
    afl_tpl_ctx *ctx = page_ctx(q, "Paso 2: Obtén tu constancia de vigencia de derechos");
    const char *captcha_id = NULL;

    if (!ensure_token(q) ||
        afl_captcha_issue(q->r->pool, q->sc->secret, q->sc->secret_len, apr_time_from_sec(q->now),
                          &captcha_id) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": no random bytes available");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    afl_tpl_set_strn(ctx, "csrf", q->csrf);
    afl_tpl_set_strn(ctx, "captcha_id", captcha_id);
    if (sol) {
        afl_tpl_set_strn(ctx, "curp", sol->curp);
        afl_tpl_set_strn(ctx, "nss", nss);
        afl_tpl_set_strn(ctx, "correo", sol->correo);
        afl_tpl_set_strn(ctx, "correo_confirmacion", sol->correo_confirmacion);
        afl_tpl_set_strn(ctx, "err_curp", sol->err_curp);
        afl_tpl_set_strn(ctx, "err_nss", err_nss);
        afl_tpl_set_strn(ctx, "err_correo", sol->err_correo);
        afl_tpl_set_strn(ctx, "err_correo_confirmacion", sol->err_correo_confirmacion);
        afl_tpl_set_strn(ctx, "err_captcha", sol->err_captcha);
        add_error(ctx, "curp", sol->err_curp);
        add_error(ctx, "nss", err_nss);
        add_error(ctx, "correo", sol->err_correo);
        add_error(ctx, "correo_confirmacion", sol->err_correo_confirmacion);
        add_error(ctx, "captcha", sol->err_captcha);
    }
    if (aviso)
        afl_tpl_set_strn(ctx, "aviso", aviso);
    no_store(q->r);
    return send_page(q, status, "vigencia", ctx);
}

/* The NSS field: trimmed; *err gets the message for the student, or NULL. */
static const char *read_nss(afl_req *q, apr_table_t *form, const char **err)
{
    const char *raw = afl_text_trim(q->r->pool, apr_table_get(form, "nss"));
    char out[12];

    *err = NULL;
    if (!raw || !*raw) {
        *err = AFL_MSG_REQUIRED;
        return "";
    }
    if (strlen(raw) > 32) {
        *err = "El NSS debe tener 11 dígitos.";
        return "";
    }
    switch (afl_nss_validate(raw, strlen(raw), out)) {
    case AFL_NSS_OK:
        return apr_pstrdup(q->r->pool, out);
    case AFL_NSS_BAD_LENGTH:
        *err = "El NSS debe tener 11 dígitos.";
        break;
    case AFL_NSS_BAD_CHARS:
        *err = "El NSS solo puede contener dígitos.";
        break;
    default:
        *err = "El NSS capturado no es válido: revisa el último dígito (dígito verificador).";
        break;
    }
    return raw;
}

static int submit_vigencia(afl_req *q)
{
    apr_table_t *form;
    afl_solicitud sol;
    afl_curp_info info;
    afl_persona per;
    afl_asegurado_nss aseg;
    afl_store_status s;
    const char *nss, *err_nss;
    int rc, dberr = 0, captcha_good;

    if ((rc = read_form(q, &form)) != OK)
        return rc == DONE ? OK : rc;
    if (!csrf_ok(q, form))
        return forbidden(q);
    if (rate_limited(q, &dberr))
        return too_many(q);
    if (dberr)
        return unavailable(q);

    afl_form_solicitud(q->r->pool, form, &sol);
    nss = read_nss(q, form, &err_nss);
    if (!sol.err_curp) {
        afl_curp_reason reason = afl_curp_validate(sol.curp, strlen(sol.curp), &info);
        if (reason != AFL_CURP_OK)
            sol.err_curp = afl_form_curp_message(reason);
        else
            sol.curp = apr_pstrdup(q->r->pool, info.curp);
    }
    captcha_good = captcha_ok(q, &sol, &dberr);
    if (dberr)
        return unavailable(q);
    if (!captcha_good)
        sol.err_captcha = MSG_CAPTCHA;
    if (sol.err_curp || err_nss || sol.err_correo || sol.err_correo_confirmacion || sol.err_captcha)
        return send_vigencia_form(q, HTTP_BAD_REQUEST, &sol, nss, err_nss, NULL);
    maybe_purge(q);

    s = afl_store_persona(q->r->pool, q->st, sol.curp, &per);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND)
        return send_vigencia_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol, nss, NULL, MSG_RENAPO);
    if (!afl_store_status_active(per.status_curp))
        return send_vigencia_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol, nss, NULL,
                                  inactive_message(q->r->pool, per.status_curp));
    s = afl_store_asegurado_nss(q->r->pool, q->st, nss, &aseg);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND)
        return send_vigencia_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol, nss, NULL, MSG_NSS_NO);
    if (strcmp(aseg.curp, sol.curp))
        return send_vigencia_form(q, HTTP_UNPROCESSABLE_ENTITY, &sol, nss, NULL, MSG_INCONSISTENTE);
    {
        /* The session's result, its audit row and the constancia e-mail commit together. */
        afl_tramite t = {q->csrf, AFL_PASO_VIGENCIA, sol.curp, sol.correo, nss, "", 0, session_expiry(q)};
        if (afl_store_vigencia_record(q->r->pool, q->st, session_id(q), &t, curp_hmac(q, sol.curp),
                                      mail_host(q), q->now) != AFL_STORE_OK)
            return unavailable(q);
    }
    return redirect(q, "/vigencia/resultado");
}

/* Everything the result page and the constancia show about one person. */
typedef struct {
    afl_persona per;
    afl_asegurado_nss aseg;
    afl_vigencia vig;
} vigencia_view;

static afl_store_status load_vigencia(afl_req *q, const afl_tramite *t, long long when,
                                      vigencia_view *v)
{
    afl_store_status s = afl_store_persona(q->r->pool, q->st, t->curp, &v->per);

    if (s == AFL_STORE_OK)
        s = afl_store_asegurado_nss(q->r->pool, q->st, t->nss, &v->aseg);
    if (s == AFL_STORE_OK)
        s = afl_store_vigencia(q->r->pool, q->st, t->nss,
                               afl_vigencia_today(apr_time_from_sec(when)), &v->vig);
    return s == AFL_STORE_NOTFOUND ? AFL_STORE_ERROR : s;
}

static const char *fecha_dia(apr_pool_t *p, int day)
{
    char buf[32];
    if (day == AFL_VIGENCIA_ABIERTA)
        return "Indefinida (hasta la baja de la escuela)";
    afl_pdf_format_date(afl_vigencia_noon(day), buf, sizeof buf);
    return apr_pstrdup(p, buf);
}

static int page_vigencia_resultado(afl_req *q)
{
    afl_tramite t;
    afl_tpl_ctx *ctx;
    vigencia_view v;
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_VIGENCIA)
        return redirect(q, "/vigencia");
    if (load_vigencia(q, &t, q->now, &v) != AFL_STORE_OK)
        return unavailable(q);
    ctx = page_ctx(q, "Constancia de vigencia de derechos");
    afl_tpl_set_strn(ctx, "nss", t.nss);
    afl_tpl_set_strn(ctx, "nombre", nombre_completo(q->r->pool, &v.per));
    afl_tpl_set_bool(ctx, "vigente", v.vig.vigente);
    afl_tpl_set_bool(ctx, "sin_cobertura", v.vig.estado == AFL_VIGENCIA_SIN_COBERTURA);
    if (v.vig.estado != AFL_VIGENCIA_SIN_COBERTURA) {
        afl_tpl_set_strn(ctx, "desde", fecha_dia(q->r->pool, v.vig.desde));
        afl_tpl_set_strn(ctx, "hasta", fecha_dia(q->r->pool, v.vig.hasta));
    }
    afl_tpl_set_strn(ctx, "umf", *v.aseg.umf_nombre ? v.aseg.umf_nombre : "Sin UMF asignada");
    afl_tpl_set_strn(ctx, "csrf", q->csrf);
    /* After a resend (POST /reenviar redirects here with this flag only). */
    if (q->r->args && !strcmp(q->r->args, "reenviado=1"))
        afl_tpl_set_strn(ctx, "aviso", MSG_REENVIADA_CONSTANCIA);
    no_store(q->r);
    return send_page(q, HTTP_OK, "vigencia_resultado", ctx);
}

static int constancia(afl_req *q)
{
    request_rec *r = q->r;
    afl_tramite t;
    afl_constancia c;
    afl_store_doc doc;
    afl_persona per;
    afl_pdf_firma firma;
    const unsigned char *pdf;
    size_t len;
    char err[256];
    int descargar = wants_download(r);
    afl_store_status s = load_session(q, &t);

    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_VIGENCIA)
        return document_unavailable(q,
                                    "La constancia solo está disponible al concluir el Paso 2 "
                                    "en esta sesión.",
                                    "/vigencia");
    if (afl_store_persona(r->pool, q->st, t.curp, &per) != AFL_STORE_OK)
        return unavailable(q);
    if (issue_document(
            q, "constancia", AFL_CADENA_CONSTANCIA, t.nss, t.curp,
            afl_cadena_nombre(r->pool, per.nombres, per.primer_apellido, per.segundo_apellido),
            &doc, &firma) != AFL_STORE_OK)
        return unavailable(q);
    /* Coverage on the day of issue: a re-download shows the same answer. The
     * same stored data as the e-mailed attachment (afl_outbox). */
    if (afl_store_constancia(r->pool, q->st, t.curp, t.nss, doc.emitido, &c) != AFL_STORE_OK)
        return unavailable(q);
    afl_store_audit(r->pool, q->st, q->now, descargar ? "descarga" : "impresion",
                    curp_hmac(q, t.curp), "constancia");
    c.firma = firma;
    c.folio = doc.folio;
    c.issued = apr_time_from_sec(doc.emitido);
    c.font = q->sc->pdf_font;
    c.font_bold = q->sc->pdf_font_bold;
    if (afl_pdf_constancia(r->pool, &c, &pdf, &len, err, sizeof err) != APR_SUCCESS)
        return pdf_failed(q, "constancia", err);
    return send_pdf(q, pdf, len, apr_psprintf(r->pool, "comprobanteVigenciaDerechos%s.pdf", t.nss),
                    descargar);
}

/* ------------------------------------------------------------------ verification */

/* "12******903". */
static const char *mask_nss(apr_pool_t *p, const char *nss)
{
    size_t n = strlen(nss);
    if (n != 11)
        return "***********";
    return apr_pstrcat(p, apr_pstrmemdup(p, nss, 2), "******", nss + 8, NULL);
}

/* "MARÍA J*** M*** I***": the first word whole, the others by their first letter. */
static const char *mask_nombre(apr_pool_t *p, const char *nombre)
{
    const char *s = nombre, *out = "";
    int first = 1;

    while (*s) {
        const char *w;
        apr_size_t n, cp;

        while (*s == ' ')
            s++;
        if (!*s)
            break;
        w = s;
        while (*s && *s != ' ')
            s++;
        n = (apr_size_t)(s - w);
        if (first) {
            out = apr_pstrmemdup(p, w, n);
            first = 0;
            continue;
        }
        /* The first character, whole (1 to 4 bytes of UTF-8). */
        cp = 1;
        while (cp < n && ((unsigned char)w[cp] & 0xC0) == 0x80)
            cp++;
        out = apr_pstrcat(p, out, " ", apr_pstrmemdup(p, w, cp), "***", NULL);
    }
    return out;
}

static const char *tipo_documento(const char *tipo)
{
    if (!strcmp(tipo, "comprobante"))
        return "Comprobante de Número de Seguridad Social";
    if (!strcmp(tipo, "tarjeta"))
        return "Tarjeta de Número de Seguridad Social";
    if (!strcmp(tipo, "constancia"))
        return "Constancia de Vigencia de Derechos";
    return tipo;
}

static int verificar(afl_req *q)
{
    request_rec *r = q->r;
    apr_table_t *args = NULL;
    afl_store_doc doc;
    afl_store_status s;
    afl_tpl_ctx *ctx;
    const char *folio, *campo;
    char fecha[40], hora[16];
    int dberr = 0, valido;

    if (rate_limited(q, &dberr))
        return too_many(q);
    if (dberr || !store(q))
        return unavailable(q);
    if (!r->args || afl_form_parse(r->pool, r->args, strlen(r->args), 4, &args) != APR_SUCCESS ||
        !(folio = apr_table_get(args, "folio")) || !afl_folio_valid(folio))
        return send_aviso(q, HTTP_BAD_REQUEST, "Folio no válido",
                          "El folio de un documento tiene 21 dígitos. Revisa el folio impreso "
                          "en el documento.",
                          NULL, NULL);
    s = afl_store_documento_get(r->pool, q->st, folio, &doc);
    if (s == AFL_STORE_ERROR)
        return unavailable(q);
    if (s == AFL_STORE_NOTFOUND)
        return send_aviso(q, HTTP_NOT_FOUND, "Documento no encontrado",
                          "No existe un documento con ese folio.", NULL, NULL);
    /* Valid when this server's key signed the stored cadena, and the cadena
     * names this folio. */
    campo = afl_cadena_campo(r->pool, doc.cadena, "Folio");
    valido = q->sc->sign_key && !strcmp(doc.no_serie, afl_sign_serial(q->sc->sign_key)) && campo &&
             !strcmp(campo, folio) &&
             afl_sign_verify_sello(q->sc->sign_key, doc.cadena, strlen(doc.cadena), doc.sello) ==
                 AFL_SIGN_OK;
    afl_pdf_format_date(apr_time_from_sec(doc.emitido), fecha, sizeof fecha);
    afl_pdf_format_time(apr_time_from_sec(doc.emitido), hora, sizeof hora);
    ctx = page_ctx(q, "Verificación de documento");
    afl_tpl_set_strn(ctx, "folio", folio);
    afl_tpl_set_strn(ctx, "tipo", tipo_documento(doc.tipo));
    afl_tpl_set_strn(ctx, "fecha", apr_pstrcat(r->pool, fecha, ", ", hora, " h", NULL));
    afl_tpl_set_strn(ctx, "nss", mask_nss(r->pool, doc.nss));
    afl_tpl_set_strn(ctx, "nombre", mask_nombre(r->pool, doc.nombre));
    afl_tpl_set_strn(ctx, "no_serie", doc.no_serie);
    afl_tpl_set_bool(ctx, "valido", valido);
    no_store(r);
    return send_page(q, HTTP_OK, "verificar", ctx);
}

/* ------------------------------------------------------------------ small endpoints */

static const char *captcha_font(const afl_server_conf *sc)
{
    return sc->captcha_font ? sc->captcha_font : AFL_DEFAULT_CAPTCHA_FONT;
}

static int captcha_png(afl_req *q, const char *id)
{
    const unsigned char *png;
    size_t len;
    long long expires;

    if (afl_captcha_check_id(q->sc->secret, q->sc->secret_len, id, apr_time_from_sec(q->now),
                             &expires) != AFL_CAPTCHA_VALID)
        return HTTP_NOT_FOUND;
    if (afl_captcha_render(q->r->pool, q->sc->secret, q->sc->secret_len, id, captcha_font(q->sc),
                           &png, &len) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": cannot render a CAPTCHA image");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    no_store(q->r);
    ap_set_content_type(q->r, "image/png");
    ap_set_content_length(q->r, len);
    if (!q->r->header_only)
        ap_rwrite(png, (int)len, q->r);
    return OK;
}

static int send_json(afl_req *q, int status, const char *json)
{
    q->r->status = status;
    ap_set_content_type(q->r, "application/json; charset=UTF-8");
    ap_set_content_length(q->r, strlen(json));
    if (!q->r->header_only)
        ap_rputs(json, q->r);
    return OK;
}

static int cp_json(afl_req *q, const char *cp)
{
    apr_pool_t *p = q->r->pool;
    afl_cp_info info;
    apr_array_header_t *umfs;
    afl_store_status s;
    const char *json, *msg;
    int valid = strlen(cp) == 5 && strspn(cp, "0123456789") == 5;

    if (!valid)
        return send_json(q, HTTP_NOT_FOUND,
                         "{\"error\": \"El Código Postal debe tener 5 dígitos.\"}");
    if (!store(q))
        return send_json(q, HTTP_SERVICE_UNAVAILABLE,
                         "{\"error\": \"El servicio no está disponible por el momento.\"}");
    s = afl_store_cp(p, q->st, cp, &info);
    if (s == AFL_STORE_ERROR || afl_store_umfs(p, q->st, cp, &umfs) != AFL_STORE_OK)
        return send_json(q, HTTP_SERVICE_UNAVAILABLE,
                         "{\"error\": \"El servicio no está disponible por el momento.\"}");
    msg = apr_psprintf(p, MSG_NO_UMF, cp);
    if (s == AFL_STORE_NOTFOUND)
        return send_json(q, HTTP_NOT_FOUND,
                         apr_psprintf(p, "{\"cp\": %s, \"error\": %s}", afl_json_str(p, cp),
                                      afl_json_str(p, msg)));
    json = apr_psprintf(p, "{\"cp\": %s, \"estado\": %s, \"municipio\": %s, \"umf\": %s",
                        afl_json_str(p, cp), afl_json_str(p, info.estado),
                        afl_json_str(p, info.municipio), umfs->nelts ? "true" : "false");
    if (!umfs->nelts)
        json = apr_pstrcat(p, json, ", \"mensaje\": ", afl_json_str(p, msg), NULL);
    json = apr_pstrcat(p, json, ", \"colonias\": [", NULL);
    for (int i = 0; i < info.colonias->nelts; i++)
        json = apr_pstrcat(p, json, i ? ", " : "",
                           afl_json_str(p, APR_ARRAY_IDX(info.colonias, i, const char *)), NULL);
    apr_table_setn(q->r->headers_out, "Cache-Control", "public, max-age=3600");
    return send_json(q, HTTP_OK, apr_pstrcat(p, json, "]}", NULL));
}

static int page_inicio(afl_req *q)
{
    return send_page(q, HTTP_OK, "inicio", page_ctx(q, "Inicio"));
}

/* ------------------------------------------------------------------ routing */

/* The request path relative to the <Location> the handler is mounted on. */
static const char *route_path(request_rec *r, afl_dir_conf *d, const char **base)
{
    apr_size_t n;

    /* d->base exists only when an Afiliate* directive sits in the <Location>
     * (httpd creates a section's config only for modules used in it). */
    *base = d->base ? d->base : AFL_DEFAULT_BASE;
    n = strlen(*base);
    if (strncmp(r->uri, *base, n) != 0)
        return NULL;
    return r->uri + n;
}

int afl_handler(request_rec *r)
{
    afl_req q;
    const char *path;
    int get, post;

    if (!r->handler || strcmp(r->handler, "afiliate"))
        return DECLINED;

    memset(&q, 0, sizeof q);
    q.r = r;
    q.sc = ap_get_module_config(r->server->module_config, &afiliate_module);
    q.dc = ap_get_module_config(r->per_dir_config, &afiliate_module);
    q.now = (long long)apr_time_sec(r->request_time);
    security_headers(r);

    if (!q.sc->templates || !q.sc->secret) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      AFL_TAG ": not configured for this server (AfiliateTemplateDir and "
                              "AfiliateSecretFile are required)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    get = r->method_number == M_GET;
    post = r->method_number == M_POST;
    if (!get && !post) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    path = route_path(r, q.dc, &q.base);
    if (!path)
        return HTTP_NOT_FOUND;
    read_session_cookie(&q);

    if (!*path || !strcmp(path, "/"))
        return get ? page_inicio(&q) : HTTP_METHOD_NOT_ALLOWED;
    if (!strcmp(path, "/nss"))
        return get ? send_form(&q, HTTP_OK, NULL, NULL) : submit_form(&q);
    if (!strcmp(path, "/domicilio"))
        return get ? page_domicilio(&q) : submit_domicilio(&q);
    if (!strcmp(path, "/resultado") && get)
        return page_resultado(&q);
    if (!strcmp(path, "/comprobante") && get)
        return comprobante(&q);
    if (!strcmp(path, "/tarjeta") && get)
        return tarjeta(&q);
    if (!strcmp(path, "/vigencia"))
        return get ? send_vigencia_form(&q, HTTP_OK, NULL, NULL, NULL, NULL) : submit_vigencia(&q);
    if (!strcmp(path, "/vigencia/resultado") && get)
        return page_vigencia_resultado(&q);
    if (!strcmp(path, "/constancia") && get)
        return constancia(&q);
    if (!strcmp(path, "/verificar") && get)
        return verificar(&q);
    if (!strcmp(path, "/finalizar") && post)
        return finalizar(&q);
    if (!strcmp(path, "/reenviar") && post)
        return reenviar(&q);
    if (!strncmp(path, "/captcha/", 9) && get) {
        const char *file = path + 9;
        apr_size_t n = strlen(file);
        if (n > 4 && !strcmp(file + n - 4, ".png"))
            return captcha_png(&q, apr_pstrmemdup(r->pool, file, n - 4));
        return HTTP_NOT_FOUND;
    }
    if (!strncmp(path, "/cp/", 4) && get)
        return cp_json(&q, path + 4);
    if (!strcmp(path, "/resultado") || !strcmp(path, "/comprobante") || !strcmp(path, "/tarjeta") ||
        !strcmp(path, "/vigencia/resultado") || !strcmp(path, "/constancia") ||
        !strcmp(path, "/verificar") || !strcmp(path, "/finalizar") || !strcmp(path, "/reenviar")) {
        ap_allow_methods(r, REPLACE_ALLOW, post ? "GET" : "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    return HTTP_NOT_FOUND;
}

/* ------------------------------------------------------------------ start-up */

/* AfiliateSigningKey was read while parsing the configuration (as root):
 * warn when the file is not private. */
static int check_signing_key(server_rec *s, afl_server_conf *sc)
{
    struct stat sb;

    if (!sc->sign_key) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, AFL_TAG ": AfiliateSigningKey %s was not loaded",
                     sc->signing_key_file);
        return 0;
    }
    if (stat(sc->signing_key_file, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     AFL_TAG ": AfiliateSigningKey %s is readable by its group or others: make "
                             "it mode 0600, owned by root",
                     sc->signing_key_file);
    return 1;
}

/* A TrueType font for the PDFs, checked once before the fork; unset or
 * "none": the standard fonts (*font NULL). 0 when the file is unusable. */
static int load_pdf_font(apr_pool_t *pconf, server_rec *s, const char *directive, const char *value,
                         const struct afl_pdf_font **font)
{
    const char *path = afl_conf_font(value);
    apr_status_t rv;

    *font = NULL;
    if (!path)
        return 1;
    rv = afl_pdf_font_load(pconf, path, font);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     AFL_TAG ": %s %s is not a TrueType font the PDF writer can embed", directive,
                     path);
        return 0;
    }
    return 1;
}

static int configure_server(apr_pool_t *pconf, server_rec *s, afl_server_conf *sc)
{
    const char *err = NULL;
    apr_status_t rv;
    size_t len = 0;

    if (!sc->secret_file) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": AfiliateSecretFile is required with AfiliateTemplateDir");
        return 0;
    }
    rv = afl_secret_load(pconf, sc->secret_file, &sc->secret, &len);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     AFL_TAG ": cannot use the secret file %s (it must hold at least %d bytes)",
                     sc->secret_file, AFL_SECRET_MIN_LEN);
        return 0;
    }
    sc->secret_len = len;
    if (sc->signing_key_file && !check_signing_key(s, sc))
        return 0;
    if (!sc->signing_key_file)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     AFL_TAG ": AfiliateSigningKey is not set: documents are issued without "
                             "sello digital and cannot be verified");
    if (!load_pdf_font(pconf, s, "AfiliateFont", sc->font, &sc->pdf_font) ||
        !load_pdf_font(pconf, s, "AfiliateFontBold", sc->font_bold, &sc->pdf_font_bold))
        return 0;
    {
        /* Without its font no CAPTCHA, and without a CAPTCHA no form can be sent. */
        apr_finfo_t fi;
        rv = apr_stat(&fi, captcha_font(sc), APR_FINFO_TYPE, pconf);
        if (rv != APR_SUCCESS || fi.filetype != APR_REG) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         AFL_TAG ": AfiliateCaptchaFont %s is not a readable file (Debian: "
                                 "fonts-dejavu-core)",
                         captcha_font(sc));
            return 0;
        }
    }
    rv = afl_tpl_load(pconf, sc->template_dir, templates, &sc->templates, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, AFL_TAG ": templates refused: %s",
                     err ? err : "(no detail)");
        return 0;
    }
    return 1;
}

/* check_config runs on every start and restart and under `apache2 -t`, before
 * logs are opened (messages go to stderr, or to the error log on a restart):
 * whatever would stop the server is found by a configuration test too. */
int afl_handler_check_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const char *err = afl_dbd_init();
    int failed = 0;

    for (server_rec *v = s; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        if (!sc->template_dir)
            continue;
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, AFL_TAG ": %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Every server is checked, so that one run names every defect. */
        if (!configure_server(pconf, v, sc) || !afl_dbd_check_database(ptemp, v))
            failed = 1;
    }
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

void afl_handler_child_init(apr_pool_t *pchild, server_rec *s)
{
    afl_dbd_child_init(pchild, s);
    /* The secret is fixed for the process: precompute its HMAC key schedule. */
    for (server_rec *v = s; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        if (sc->secret) {
            afl_hmac_preload(sc->secret, sc->secret_len);
            break;
        }
    }
    if (afl_curp_init() != 0)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, AFL_TAG ": cannot compile the CURP pattern");
    afl_captcha_global_init();
    afl_pdf_process_init();
}
