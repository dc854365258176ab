/* afl_flow: the steps of Paso 1 and Paso 2 (afl_flow.h). Each step reads
 * the session row, applies the procedure's rules through the store and fills
 * the outcome; nothing here knows about requests or responses. One file on
 * purpose, longer than most: the procedure reads top to bottom in the order a
 * student walks it, and its steps share the session, CAPTCHA and page helpers. */
#include "afl_flow.h"

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

#include "afl_cadena.h"
#include "afl_captcha.h"
#include "afl_confirm.h"
#include "afl_curp.h"
#include "afl_doc.h"
#include "afl_form.h"
#include "afl_identity.h"
#include "afl_json.h"
#include "afl_log.h"
#include "afl_nss.h"
#include "afl_pdf.h"
#include "afl_token.h"
#include "afl_vigencia.h"

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

/* ------------------------------------------------------------------ templates */

#define COMMON "base", "titulo", "refresco" /* refresco: a page that moves on by itself */
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
static const char *const allow_confirmar[] = {COMMON, "correo", "minutos", "csrf", "aviso", NULL};
static const char *const allow_confirmado[] = {COMMON, "mensaje", "continuar", NULL};
static const char *const allow_verificar[] = {COMMON,   "folio",    "tipo",   "fecha", "nss",
                                              "nombre", "no_serie", "valido", NULL};

const afl_tpl_decl afl_flow_templates[] = {
    {"inicio", allow_inicio},
    {"nss", allow_nss},
    {"domicilio", allow_domicilio},
    {"resultado", allow_resultado},
    {"aviso", allow_aviso},
    {"vigencia", allow_vigencia},
    {"vigencia_resultado", allow_vigencia_resultado},
    {"verificar", allow_verificar},
    {"confirmar", allow_confirmar},
    {"confirmado", allow_confirmado},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ outcomes */

static afl_tpl_ctx *view(afl_flow_env *env, const char *titulo)
{
    afl_tpl_ctx *ctx = afl_tpl_ctx_make(env->pool);
    afl_tpl_set_strn(ctx, "base", env->base);
    afl_tpl_set_strn(ctx, "titulo", titulo);
    return ctx;
}

static void page(afl_flow_out *out, int status, const char *tpl, afl_tpl_ctx *ctx)
{
    out->kind = AFL_FLOW_PAGE;
    out->status = status;
    out->tpl = tpl;
    out->view = ctx;
    out->no_store = 1;
}

/* enlace: a path under the base ("/nss"), an absolute URL, or NULL. */
static void aviso(afl_flow_env *env, afl_flow_out *out, int status, const char *titulo,
                  const char *mensaje, const char *enlace, const char *enlace_texto)
{
    afl_tpl_ctx *ctx = view(env, titulo);
    afl_tpl_set_strn(ctx, "mensaje", mensaje);
    if (enlace) {
        afl_tpl_set_strn(ctx, "enlace",
                         *enlace == '/' ? apr_pstrcat(env->pool, env->base, enlace, NULL) : enlace);
        afl_tpl_set_strn(ctx, "enlace_texto", enlace_texto);
    }
    page(out, status, "aviso", ctx);
}

static void busy(afl_flow_env *env, afl_flow_out *out)
{
    aviso(env, out, AFL_FLOW_UNAVAILABLE, "Servicio no disponible",
          "El servicio no está disponible por el momento. Intenta nuevamente en unos minutos.", "/",
          "Volver al inicio");
    out->retry_after = 30;
}

/* RENAPO's web service could not answer (AfiliateIdentitySource remote). */
static void renapo_down(afl_flow_env *env, afl_flow_out *out)
{
    aviso(env, out, AFL_FLOW_UNAVAILABLE, "Servicio no disponible",
          "En este momento no es posible consultar tu CURP en RENAPO. Intenta nuevamente en "
          "unos minutos.",
          "/", "Volver al inicio");
    out->retry_after = 30;
}

/* A refusal by a limit (429): the notice (with a link home when home is set), Retry-After,
 * the counters' event and a warning without personal data. */
static void refused(afl_flow_env *env, afl_flow_out *out, const char *titulo, const char *mensaje,
                    int home, int retry_after, const char *log)
{
    aviso(env, out, AFL_FLOW_TOO_MANY, titulo, mensaje, home ? "/" : NULL,
          home ? "Volver al inicio" : NULL);
    out->retry_after = retry_after;
    out->event = AFL_FLOW_EV_REFUSED_RATE;
    out->log_level = AFL_FLOW_LOG_WARN;
    out->log = log;
}

static void too_many(afl_flow_env *env, afl_flow_out *out)
{
    refused(env, out, "Demasiadas solicitudes",
            "Has realizado demasiadas solicitudes en poco tiempo. Espera un minuto e intenta "
            "nuevamente.",
            0, 60, AFL_TAG ": " AFL_LOGNO(00088) "form rate limit reached for a client address");
}

static void forbidden(afl_flow_env *env, afl_flow_out *out)
{
    aviso(env, out, AFL_FLOW_FORBIDDEN, "Sesión no válida",
          "Tu sesión expiró o la solicitud no es válida. Vuelve a iniciar el trámite. Si el "
          "problema continúa, verifica que tu navegador acepte cookies.",
          "/nss", "Iniciar el trámite");
}

static void redirect(afl_flow_out *out, const char *path)
{
    out->kind = AFL_FLOW_REDIRECT;
    out->location = path;
    out->no_store = 1;
}

static void failed(afl_flow_out *out, const char *log)
{
    out->kind = AFL_FLOW_FAILED;
    out->log_level = AFL_FLOW_LOG_ERR;
    out->log = log;
}

/* ------------------------------------------------------------------ session and store */

static afl_store *store(afl_flow_env *env)
{
    if (!env->st && env->get_store)
        env->st = env->get_store(env->store_baton);
    return env->st;
}

/* The session row; AFL_STORE_NOTFOUND when there is none (or it expired). */
static afl_store_status load_session(afl_flow_env *env, afl_tramite *t)
{
    if (!env->sid)
        return AFL_STORE_NOTFOUND;
    if (!store(env))
        return AFL_STORE_ERROR;
    return afl_store_tramite_get(env->pool, env->st, env->sid, env->now, t);
}

static long long session_expiry(const afl_flow_env *env)
{
    return env->now + env->session_timeout;
}

static int csrf_ok(const afl_flow_env *env, apr_table_t *form)
{
    const char *sent = form ? apr_table_get(form, AFL_FIELD_CSRF) : NULL;
    return env->csrf && sent && afl_token_equal(sent, env->csrf);
}

static const char *curp_hmac(afl_flow_env *env, const char *curp)
{
    return afl_token_hmac(env->pool, env->secret, env->secret_len, "curp", curp, 32);
}

/* The identity of a CURP from the configured source (afl_identity.h). With
 * AFL_STORE_ERROR, *down tells that RENAPO, not the database, failed. */
static afl_store_status identity(afl_flow_env *env, const char *curp, afl_persona *per, int *down)
{
    afl_identity_source src;
    const afl_identity *id = env->identity;
    afl_store_status s = afl_identity_lookup(
        env->pool, env->st, id, curp,
        id && id->mode != AFL_IDENTITY_LOCAL ? curp_hmac(env, curp) : NULL, env->now, per, &src);
    *down = s == AFL_STORE_ERROR && src == AFL_IDENTITY_SRC_UNAVAILABLE;
    return s;
}

static const char *ip_hmac(afl_flow_env *env)
{
    return afl_token_hmac(env->pool, env->secret, env->secret_len, "ip",
                          env->client_ip ? env->client_ip : "", 32);
}

/* Counts one form submission of this client address; 1 when over the limit. */
static int rate_limited(afl_flow_env *env, int *db_error)
{
    long long count = 0, window = env->now - env->now % 60;
    const char *key;

    *db_error = 0;
    if (env->rate_limit == 0)
        return 0;
    if (!store(env)) {
        *db_error = 1;
        return 0;
    }
    /* The address is pseudonymised: the table holds no personal data. */
    key = apr_pstrcat(env->pool, "form:", env->base, ":", ip_hmac(env), NULL);
    if (afl_store_rate_hit(env->pool, env->st, key, window, &count) != AFL_STORE_OK) {
        *db_error = 1;
        return 0;
    }
    return count > env->rate_limit;
}

/* Rate limit of a form POST: 1 when the outcome is already set. */
static int refused_by_rate(afl_flow_env *env, afl_flow_out *out)
{
    int dberr = 0;
    if (rate_limited(env, &dberr)) {
        too_many(env, out);
        return 1;
    }
    if (dberr) {
        busy(env, out);
        return 1;
    }
    return 0;
}

/* A new session id for a trámite that leaves the form for a result: a cookie
 * that existed before the student identified themselves (left on a shared
 * computer, or planted by someone else) does not reach what follows. The
 * trámite is written under the new id; the glue sends the new cookie only
 * with the step's success (out->session_token). */
static int rotate_session(afl_flow_env *env, const char **token)
{
    const char *t = afl_token_random(env->pool);

    if (!t)
        return 0;
    env->sid = afl_token_sha256(env->pool, t);
    env->csrf = afl_token_hmac(env->pool, env->secret, env->secret_len, "csrf", t, 64);
    *token = t;
    return 1;
}

/* ------------------------------------------------------------------ the failure budget */

/* What abuse costs is limited, not honest use: failed attempts (a wrong or
 * replayed CAPTCHA, a malformed CURP, a CURP unknown to RENAPO or not active,
 * an NSS that is not the CURP's) are counted per browser session and per
 * client address (docs/directives.md, "Limits"). */
static long long fail_window(const afl_flow_env *env)
{
    return env->now - env->now % AFL_FLOW_FAIL_WINDOW;
}

/* Pseudonymous keys: the session row id is a hash of the cookie, the address
 * an HMAC. */
static const char *fail_key(afl_flow_env *env, int per_address)
{
    return per_address ? apr_pstrcat(env->pool, "fail-a:", env->base, ":", ip_hmac(env), NULL)
                       : apr_pstrcat(env->pool, "fail-s:", env->base, ":", env->sid, NULL);
}

static void refused_for_failures(afl_flow_env *env, afl_flow_out *out, int retry_after)
{
    refused(env, out, "Demasiados intentos fallidos",
            "Se registraron demasiados intentos fallidos (código de la imagen o CURP). Espera "
            "unos minutos e intenta nuevamente.",
            1, retry_after,
            AFL_TAG
            ": " AFL_LOGNO(00089) "failure limit reached for a session or a client address");
}

static void slowed(afl_flow_env *env, afl_flow_out *out)
{
    refused(env, out, "Espera un momento",
            "Para proteger el servicio, espera unos segundos antes de enviar de nuevo el "
            "formulario.",
            0, AFL_FLOW_SLOW_SECONDS,
            AFL_TAG ": " AFL_LOGNO(00090) "a session past half its failure limit was slowed");
}

/* Before a CAPTCHA form runs: 1 when the outcome is set. A session that spent
 * its budget is refused; past half of it, it may send one form every
 * AFL_FLOW_SLOW_SECONDS. An address that spent its budget is refused only
 * for wrong CAPTCHAs: a form a student was shown and solved is accepted once. */
static int over_budget(afl_flow_env *env, int captcha_right, afl_flow_out *out)
{
    long long sess = 0, addr = 0, w = fail_window(env), n = 0;
    int retry_after = (int)(w + AFL_FLOW_FAIL_WINDOW - env->now);

    if (!env->fail_limit && !env->address_fail_limit)
        return 0;
    if (!store(env) || afl_store_rate_get_pair(env->pool, env->st, w, fail_key(env, 0),
                                               fail_key(env, 1), &sess, &addr) != AFL_STORE_OK) {
        busy(env, out);
        return 1;
    }
    if (env->fail_limit && sess >= env->fail_limit) {
        refused_for_failures(env, out, retry_after);
        return 1;
    }
    if (!captcha_right && env->address_fail_limit && addr >= env->address_fail_limit) {
        refused_for_failures(env, out, retry_after);
        return 1;
    }
    if (env->fail_limit && env->sid && sess >= (env->fail_limit + 1) / 2) {
        const char *key = apr_pstrcat(env->pool, "slow:", env->base, ":", env->sid, NULL);
        if (afl_store_rate_hit(env->pool, env->st, key, env->now - env->now % AFL_FLOW_SLOW_SECONDS,
                               &n) != AFL_STORE_OK) {
            busy(env, out);
            return 1;
        }
        if (n > 1) {
            slowed(env, out);
            return 1;
        }
    }
    return 0;
}

/* Counts one failed attempt for the session and the address. A database
 * error is not the student's: the attempt's own answer stands. */
static void note_failure(afl_flow_env *env)
{
    const char *keys[] = {env->fail_limit && env->sid ? fail_key(env, 0) : NULL,
                          env->address_fail_limit ? fail_key(env, 1) : NULL};

    if (store(env))
        afl_store_rate_hits(env->pool, env->st, fail_window(env), keys, 2);
}

/* ------------------------------------------------------------------ per CURP and per e-mail */

/* Accepted forms are counted per CURP and per e-mail address for a day,
 * whatever the address or session they come from: they bound what a client can
 * do to another person (look a CURP's NSS up again and again, or have many
 * CURPs' documents mailed to one address) while a student sends a handful
 * (docs/directives.md, "Limits"). Both keys are HMACs. */
static const char *correo_hmac(afl_flow_env *env, const char *correo)
{
    char *lower = apr_pstrdup(env->pool, correo ? correo : "");

    for (char *c = lower; *c; c++)
        *c = (char)apr_tolower(*c);
    return afl_token_hmac(env->pool, env->secret, env->secret_len, "correo", lower, 32);
}

/* The form's daily counts, moved in the transaction that records the form
 * (a limit of 0 leaves its key NULL: nothing counted). */
static void daily_counts(afl_flow_env *env, const afl_solicitud *sol, afl_store_daily *d)
{
    memset(d, 0, sizeof *d);
    d->window = env->now - env->now % AFL_FLOW_DAY;
    d->curp_limit = env->curp_limit;
    d->correo_limit = env->email_limit;
    if (env->curp_limit)
        d->curp_key = apr_pstrcat(env->pool, "curp-d:", curp_hmac(env, sol->curp), NULL);
    if (env->email_limit)
        d->correo_key = apr_pstrcat(env->pool, "correo-d:", correo_hmac(env, sol->correo), NULL);
}

/* The Spanish 429 of a daily limit, until the end of the day. */
static void daily_refused(afl_flow_env *env, afl_flow_out *out, const afl_store_daily *d)
{
    aviso(env, out, AFL_FLOW_TOO_MANY, "Intenta de nuevo mañana",
          d->by_curp ? "La CURP capturada ya se consultó muchas veces el día de hoy. Por la "
                       "seguridad de sus datos, intenta de nuevo mañana o acude a tu "
                       "Subdelegación del IMSS."
                     : "El correo electrónico capturado ya se usó en muchos trámites el día de "
                       "hoy. Captura tu propio correo electrónico o intenta de nuevo mañana.",
          "/", "Volver al inicio");
    out->retry_after = (int)(d->window + AFL_FLOW_DAY - env->now);
    out->event = AFL_FLOW_EV_REFUSED_RATE;
    out->log_level = AFL_FLOW_LOG_WARN;
    out->log = d->by_curp
        ? AFL_TAG ": " AFL_LOGNO(00007) "daily limit of forms for one CURP reached"
        : AFL_TAG ": " AFL_LOGNO(00008) "daily limit of forms for one e-mail address reached";
}

/* A form whose CURP or address has used its day already is refused before any
 * identity look-up, by a read; the counts themselves move (and are checked
 * again, exactly) in the form's transaction. */
static int over_daily_limits(afl_flow_env *env, const afl_solicitud *sol, afl_store_daily *d,
                             afl_flow_out *out)
{
    long long by_curp = 0, by_correo = 0;

    daily_counts(env, sol, d);
    if (!d->curp_key && !d->correo_key)
        return 0;
    if (afl_store_rate_get_pair(env->pool, env->st, d->window, d->curp_key ? d->curp_key : "",
                                d->correo_key ? d->correo_key : "", &by_curp,
                                &by_correo) != AFL_STORE_OK) {
        busy(env, out);
        return 1;
    }
    d->by_curp = d->curp_key && by_curp >= d->curp_limit;
    if (d->by_curp || (d->correo_key && by_correo >= d->correo_limit)) {
        daily_refused(env, out, d);
        return 1;
    }
    return 0;
}

/* Housekeeping every few hundred submissions per process: expired CAPTCHA ids,
 * sessions and rate windows, and the sello of documents whose process died
 * between the row and its sello (a few per pass: each is one signature; rows
 * of the last minute may still have theirs on the way). */
#define UNSEALED_PER_PASS 20
#define UNSEALED_AGE 60
static void maybe_purge(afl_flow_env *env)
{
    static volatile apr_uint32_t submissions;
    if (apr_atomic_inc32(&submissions) % 256 != 0 || !env->st)
        return;
    afl_store_purge(env->pool, env->st, env->now);
    if (env->sign_key)
        afl_doc_seal_unsealed(env->pool, env->st, env->sign_key, env->now - UNSEALED_AGE,
                              UNSEALED_PER_PASS, NULL);
}

static const char *nombre_completo(apr_pool_t *p, const afl_persona *per)
{
    return *per->segundo_apellido ? apr_pstrcat(p, per->nombres, " ", per->primer_apellido, " ",
                                                per->segundo_apellido, NULL)
                                  : apr_pstrcat(p, per->nombres, " ", per->primer_apellido, NULL);
}

static int query_is(const afl_flow_in *in, const char *args)
{
    return in && in->args && !strcmp(in->args, args);
}

/* ------------------------------------------------------------------ CAPTCHA */

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

/* One field of a form page: what the student typed (echo 0: not shown
 * again), its message, and its entry in the list of errors. */
typedef struct {
    const char *campo, *err_campo; /* template names: literals */
    const char *value, *err;
    int echo;
} form_field;

/* The fields in the form's order (the list of errors follows it). */
static void form_fields(afl_tpl_ctx *ctx, const form_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].echo)
            afl_tpl_set_strn(ctx, f[i].campo, f[i].value);
        afl_tpl_set_strn(ctx, f[i].err_campo, f[i].err);
        add_error(ctx, f[i].campo, f[i].err);
    }
}

/* A new CAPTCHA id for a form page; 0 (outcome FAILED) without random bytes. */
static int issue_captcha(afl_flow_env *env, afl_flow_out *out, const char **id)
{
    if (!env->csrf || afl_captcha_issue(env->pool, env->secret, env->secret_len,
                                        apr_time_from_sec(env->now), id) != APR_SUCCESS) {
        failed(out, AFL_TAG ": " AFL_LOGNO(00009) "no random bytes available");
        return 0;
    }
    return 1;
}

/* 1 when the form's CAPTCHA id is ours and unexpired (*expires set). */
static int captcha_id_valid(const afl_flow_env *env, const afl_solicitud *sol, long long *expires)
{
    *expires = 0;
    return sol->captcha_id && *sol->captcha_id &&
           afl_captcha_check_id(env->secret, env->secret_len, sol->captcha_id,
                                apr_time_from_sec(env->now), expires) == AFL_CAPTCHA_VALID;
}

/* 1 when the answer is the one the id's image shows (no database: the id is
 * burned by burn_captcha or with the form's own writes). */
static int captcha_answer_ok(const afl_flow_env *env, const afl_solicitud *sol)
{
    return sol->captcha &&
           afl_captcha_matches(env->secret, env->secret_len, sol->captcha_id, sol->captcha);
}

/* Burns a valid CAPTCHA id on its own transaction: 1 when this call used it
 * first, 0 on a replay or a database error (*db_error set). */
static int burn_captcha(afl_flow_env *env, const afl_solicitud *sol, long long expires,
                        int *db_error)
{
    afl_store_status s;

    *db_error = 0;
    if (!store(env)) {
        *db_error = 1;
        return 0;
    }
    s = afl_store_captcha_use(env->pool, env->st, sol->captcha_id, expires);
    if (s == AFL_STORE_ERROR)
        *db_error = 1;
    return s == AFL_STORE_OK;
}

/* The CURP of the form, validated and normalised (sol->err_curp otherwise). */
static void check_curp(apr_pool_t *p, afl_solicitud *sol)
{
    afl_curp_info info;
    afl_curp_reason reason;

    if (sol->err_curp)
        return;
    reason = afl_curp_validate(sol->curp, strlen(sol->curp), &info);
    if (reason != AFL_CURP_OK)
        sol->err_curp = afl_form_curp_message(reason);
    else
        sol->curp = apr_pstrdup(p, info.curp);
}

/* What the POST of a CAPTCHA form (Paso 1 or Paso 2) works with. */
typedef struct {
    afl_solicitud sol;
    long long expires;   /* the CAPTCHA id's */
    int id_valid, right; /* the id is ours and alive; the answer is right */
    afl_store_daily daily;
} form_post_state;

/* The start of both CAPTCHA forms' POST: the CSRF check, the form read with
 * its CURP checked, the CAPTCHA id and answer judged (nothing burned yet), then
 * the failure budget and the flood limit. 0 when out is answered already. */
static int form_post(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out,
                     form_post_state *f)
{
    memset(f, 0, sizeof *f);
    if (!csrf_ok(env, in->form)) {
        forbidden(env, out);
        return 0;
    }
    afl_form_solicitud(env->pool, in->form, &f->sol);
    check_curp(env->pool, &f->sol);
    f->id_valid = captcha_id_valid(env, &f->sol, &f->expires);
    f->right = f->id_valid && captcha_answer_ok(env, &f->sol);
    /* What the failure budget refuses costs no write and no flood count. */
    return !over_budget(env, f->right, out) && !refused_by_rate(env, out);
}

const char *afl_flow_inactive_message(apr_pool_t *p, const char *status)
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

    for (size_t i = 0; status && i < sizeof bajas / sizeof bajas[0]; i++)
        if (!strcmp(status, bajas[i].code))
            text = bajas[i].text;
    return apr_psprintf(p,
                        "La CURP capturada no está vigente en RENAPO (%s). Tu solicitud requiere "
                        "que acudas a la subdelegación del IMSS que te corresponda, o que "
                        "aclares tu CURP ante el Registro Nacional de Población.",
                        text);
}

/* ------------------------------------------------------------------ e-mail confirmation */

static int confirm_minutes(const afl_flow_env *env)
{
    return env->confirm_minutes > 0 ? env->confirm_minutes : AFL_CONFIRM_DEFAULT_MINUTES;
}

/* The absolute link for the trámite tramite_id, valid until expires; NULL
 * without a base URL or random bytes. */
static const char *confirm_link(afl_flow_env *env, const char *tramite_id, long long expires)
{
    const char *t = afl_confirm_token(env->pool, env->secret, env->secret_len, tramite_id, expires);

    if (!t || !env->confirm_base)
        return NULL;
    return apr_pstrcat(env->pool, env->confirm_base, "/confirmar?t=", t, NULL);
}

/* The session row waits for the link: it lives as long as the link does. */
static long long confirm_row_expiry(const afl_flow_env *env, long long link_expires)
{
    return session_expiry(env) > link_expires ? session_expiry(env) : link_expires;
}

/* Paso 1's valid form with AfiliateConfirmarCorreo On: the trámite waits at
 * 'confirmacion' under the (rotated) session id, with the link queued. */
static afl_store_status confirm_start(afl_flow_env *env, const afl_solicitud *sol,
                                      long long captcha_expires, afl_store_daily *daily)
{
    long long link_expires = env->now + 60LL * confirm_minutes(env);
    const char *enlace = confirm_link(env, env->sid, link_expires);
    afl_tramite t = {env->csrf, AFL_PASO_CONFIRMACION,
                     sol->curp, sol->correo,
                     "",        "",
                     0,         confirm_row_expiry(env, link_expires)};

    if (!enlace) {
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00085) "cannot build the e-mail confirmation link");
        return AFL_STORE_ERROR;
    }
    return afl_store_confirm_start(env->pool, env->st, sol->captcha_id, captcha_expires, daily,
                                   env->sid, &t, enlace, env->mail_host, env->now);
}

/* "Revisa tu correo": where the link went (masked), how long it lasts, resend
 * and start again. Whatever page a waiting trámite asks for, this is it. */
static void confirm_page(afl_flow_env *env, afl_flow_out *out, const afl_tramite *t,
                         const afl_flow_in *in)
{
    afl_tpl_ctx *ctx = view(env, "Revisa tu correo electrónico");

    afl_tpl_set_strn(ctx, "correo", afl_confirm_mask_email(env->pool, t->correo));
    afl_tpl_set_strn(ctx, "minutos",
                     confirm_minutes(env) == 1
                         ? "1 minuto"
                         : apr_psprintf(env->pool, "%d minutos", confirm_minutes(env)));
    afl_tpl_set_strn(ctx, "csrf", env->csrf);
    if (query_is(in, "reenviado=1"))
        afl_tpl_set_strn(ctx, "aviso", "Te enviamos una nueva liga. Usa la más reciente.");
    page(out, AFL_FLOW_OK, "confirmar", ctx);
}

static void link_refused(afl_flow_env *env, afl_flow_out *out, int status, const char *titulo,
                         const char *mensaje, const char *log)
{
    aviso(env, out, status, titulo, mensaje, "/nss", "Iniciar el trámite de nuevo");
    out->log_level = AFL_FLOW_LOG_WARN;
    out->log = log;
}

static void link_used(afl_flow_env *env, afl_flow_out *out)
{
    link_refused(env, out, AFL_FLOW_GONE, "Liga ya usada",
                 "Esta liga ya fue usada. Cada liga de confirmación sirve una sola vez. Si no "
                 "concluiste tu trámite, inícialo de nuevo.",
                 AFL_TAG ": " AFL_LOGNO(00091) "an e-mail confirmation link was opened again");
}

static void link_expired(afl_flow_env *env, afl_flow_out *out)
{
    link_refused(env, out, AFL_FLOW_GONE, "Liga vencida",
                 "La liga de confirmación venció o el trámite ya no está disponible. Inicia el "
                 "trámite de nuevo para recibir una nueva liga.",
                 AFL_TAG ": " AFL_LOGNO(00092) "an expired e-mail confirmation link was opened");
}

/* GET /confirmar?t=TOKEN: the link from the e-mail, on any browser (no cookie
 * needed). A valid, unused link continues the trámite under a new session
 * cookie: a located NSS is recorded and e-mailed now, a new CURP goes on to
 * the address. The answer is a page (not a redirect) that moves on by itself:
 * a redirect from the mail client's cross-site navigation would not carry the
 * SameSite=Strict cookie, a navigation started by our own page does. Without
 * t: the "revisa tu correo" page of this browser's trámite. */
void afl_flow_confirmar(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    apr_table_t *params = NULL;
    const char *args = in ? in->args : NULL, *token, *old_id = NULL, *cookie = NULL, *siguiente;
    long long expires = 0, used_until;
    afl_tramite t, next;
    afl_asegurado aseg;
    afl_confirm_req req;
    afl_store_status s;
    afl_tpl_ctx *ctx;
    int located;

    if (args && afl_form_parse(p, args, strlen(args), 4, &params) != APR_SUCCESS)
        params = NULL;
    token = params ? apr_table_get(params, "t") : NULL;
    if (!token) {
        s = load_session(env, &t);
        if (s == AFL_STORE_ERROR)
            return busy(env, out);
        if (s == AFL_STORE_OK && t.paso == AFL_PASO_CONFIRMACION)
            return confirm_page(env, out, &t, in);
        /* Not waiting (any more): the address page sends a session where it belongs. */
        return redirect(out, s == AFL_STORE_OK ? "/domicilio" : "/nss");
    }
    switch (
        afl_confirm_verify(p, env->secret, env->secret_len, token, env->now, &old_id, &expires)) {
    case AFL_CONFIRM_VALID:
        break;
    case AFL_CONFIRM_EXPIRED:
        return link_expired(env, out);
    default:
        return link_refused(env, out, AFL_FLOW_BAD_REQUEST, "Liga no válida",
                            "La liga de confirmación no es válida. Copia la liga completa del "
                            "correo que te enviamos, o inicia el trámite de nuevo.",
                            AFL_TAG ": " AFL_LOGNO(00093) "a forged or damaged e-mail confirmation link was refused");
    }
    if (!store(env))
        return busy(env, out);
    s = afl_store_tramite_get(p, env->st, old_id, env->now, &t);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_CONFIRMACION) {
        s = afl_store_confirm_used(p, env->st, old_id);
        if (s == AFL_STORE_ERROR)
            return busy(env, out);
        return s == AFL_STORE_OK ? link_used(env, out) : link_expired(env, out);
    }
    s = afl_store_asegurado(p, env->st, t.curp, &aseg);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    located = s == AFL_STORE_OK;
    if (!rotate_session(env, &cookie))
        return failed(out, AFL_TAG ": " AFL_LOGNO(00086) "no random bytes available");
    memset(&next, 0, sizeof next);
    next.csrf = env->csrf;
    next.paso = located ? AFL_PASO_RESULTADO : AFL_PASO_DOMICILIO;
    next.curp = t.curp;
    next.correo = t.correo;
    next.nss = located ? aseg.nss : "";
    next.origen = located ? "localizado" : "";
    next.expira = session_expiry(env);
    /* Every link of this trámite ends with this one: none is valid after used_until. */
    used_until = env->now + 60LL * confirm_minutes(env);
    if (expires > used_until)
        used_until = expires;
    memset(&req, 0, sizeof req);
    req.tramite_id = old_id;
    req.used_until = used_until;
    req.new_id = env->sid;
    req.t = &next;
    req.curp_hmac = curp_hmac(env, t.curp);
    req.msgid_host = env->mail_host;
    req.now = env->now;
    s = afl_store_confirm_use(p, env->st, &req);
    if (s == AFL_STORE_USED)
        return link_used(env, out);
    if (s == AFL_STORE_NOTFOUND)
        return link_expired(env, out);
    if (s != AFL_STORE_OK)
        return busy(env, out);
    out->session_token = cookie;
    if (located) {
        out->mail = AFL_FLOW_MAIL_COMPROBANTE;
        out->event = AFL_FLOW_EV_LOCATED;
    } else {
        out->event = AFL_FLOW_EV_NEW_CURP;
    }
    ctx = view(env, "Correo electrónico confirmado");
    afl_tpl_set_strn(ctx, "mensaje",
                     located ? "Confirmaste tu correo electrónico. Continúa para "
                               "ver tu Número de Seguridad Social (NSS)."
                             : "Confirmaste tu correo electrónico. Continúa para "
                               "capturar tu domicilio.");
    /* The header's <meta http-equiv="refresh"> (cabecera.html) and the link. */
    siguiente = apr_pstrcat(p, env->base, located ? "/resultado" : "/domicilio", NULL);
    afl_tpl_set_strn(ctx, "refresco", siguiente);
    afl_tpl_set_strn(ctx, "continuar", siguiente);
    page(out, AFL_FLOW_OK, "confirmado", ctx);
}

/* ------------------------------------------------------------------ Paso 1: the form */

void afl_flow_inicio(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    (void)in;
    page(out, AFL_FLOW_OK, "inicio", view(env, "Inicio"));
    out->no_store = 0;
}

/* The CAPTCHA form of Paso 1 (with_nss 0) or Paso 2 (with_nss 1, its NSS field too): a new
 * CAPTCHA, the CSRF token, what the student typed and one message per wrong field, in
 * the form's order. NULL (outcome FAILED) without a CAPTCHA. */
static afl_tpl_ctx *captcha_form(afl_flow_env *env, afl_flow_out *out, const char *titulo,
                                 const afl_solicitud *sol, int with_nss, const char *nss,
                                 const char *err_nss, const char *aviso_text)
{
    afl_tpl_ctx *ctx = view(env, titulo);
    const char *captcha_id = NULL;

    if (!issue_captcha(env, out, &captcha_id))
        return NULL;
    afl_tpl_set_strn(ctx, "csrf", env->csrf);
    afl_tpl_set_strn(ctx, "captcha_id", captcha_id);
    if (sol) {
        const form_field f[] = {{"curp", "err_curp", sol->curp, sol->err_curp, 1},
                                {"nss", "err_nss", nss, err_nss, 1},
                                {"correo", "err_correo", sol->correo, sol->err_correo, 1},
                                {"correo_confirmacion", "err_correo_confirmacion",
                                 sol->correo_confirmacion, sol->err_correo_confirmacion, 1},
                                {"captcha", "err_captcha", NULL, sol->err_captcha, 0}};
        /* Paso 1 has no NSS field. */
        form_fields(ctx, f, 1);
        form_fields(ctx, f + (with_nss ? 1 : 2), with_nss ? 4 : 3);
    }
    if (aviso_text)
        afl_tpl_set_strn(ctx, "aviso", aviso_text);
    return ctx;
}

static void form_page(afl_flow_env *env, afl_flow_out *out, int status, const afl_solicitud *sol,
                      const char *aviso_text)
{
    afl_tpl_ctx *ctx =
        captcha_form(env, out, "Paso 1: Obtén o localiza tu NSS", sol, 0, NULL, NULL, aviso_text);

    if (ctx)
        page(out, status, "nss", ctx);
}

void afl_flow_nss_form(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    (void)in;
    form_page(env, out, AFL_FLOW_OK, NULL, NULL);
}

/* Paso 1's POST. The CAPTCHA id is burned exactly once whatever the outcome
 * (one attempt per id), and in the same transaction as the trámite's own
 * writes when the form goes on: one commit per POST. */
void afl_flow_nss_submit(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    form_post_state f;
    afl_persona per;
    afl_asegurado aseg;
    afl_store_status s;
    const char *token = NULL;
    int dberr = 0, down = 0;

    if (!form_post(env, in, out, &f))
        return;
    if (!f.right)
        f.sol.err_captcha = MSG_CAPTCHA;
    if (f.sol.err_curp || f.sol.err_correo || f.sol.err_correo_confirmacion || f.sol.err_captcha) {
        if (f.id_valid && !burn_captcha(env, &f.sol, f.expires, &dberr)) {
            if (dberr)
                return busy(env, out);
            f.sol.err_captcha = MSG_CAPTCHA; /* replay */
        }
        if (f.sol.err_captcha || f.sol.err_curp)
            note_failure(env);
        form_page(env, out, AFL_FLOW_BAD_REQUEST, &f.sol, NULL);
        out->event = f.sol.err_captcha ? AFL_FLOW_EV_REFUSED_CAPTCHA
                     : f.sol.err_curp  ? AFL_FLOW_EV_INVALID_CURP
                                       : AFL_FLOW_EV_NONE;
        return;
    }
    if (!store(env))
        return busy(env, out);
    if (over_daily_limits(env, &f.sol, &f.daily, out))
        return;
    maybe_purge(env);

    s = identity(env, f.sol.curp, &per, &down);
    if (s == AFL_STORE_ERROR) {
        if (down)
            renapo_down(env, out);
        else
            busy(env, out);
        out->event = AFL_FLOW_EV_IDENTITY_DOWN;
        return;
    }
    if (s == AFL_STORE_OK && afl_store_status_active(per.status_curp))
        s = afl_store_asegurado(p, env->st, f.sol.curp, &aseg);
    else {
        /* The form goes no further: the CAPTCHA is burned on its own. */
        if (!burn_captcha(env, &f.sol, f.expires, &dberr)) {
            if (dberr)
                return busy(env, out);
            f.sol.err_captcha = MSG_CAPTCHA;
            note_failure(env);
            form_page(env, out, AFL_FLOW_BAD_REQUEST, &f.sol, NULL);
            out->event = AFL_FLOW_EV_REFUSED_CAPTCHA;
            return;
        }
        note_failure(env);
        form_page(env, out, AFL_FLOW_UNPROCESSABLE, &f.sol,
                  s == AFL_STORE_NOTFOUND ? MSG_RENAPO
                                          : afl_flow_inactive_message(p, per.status_curp));
        out->event = AFL_FLOW_EV_NOT_IN_REGISTRY;
        return;
    }
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (!rotate_session(env, &token))
        return failed(out, AFL_TAG ": " AFL_LOGNO(00010) "no random bytes available");
    if (env->confirm_email) {
        /* Nothing is shown or e-mailed but the link until the address is confirmed. */
        s = confirm_start(env, &f.sol, f.expires, &f.daily);
        if (s == AFL_STORE_OK) {
            out->mail = AFL_FLOW_MAIL_CONFIRMACION;
            out->session_token = token;
            return redirect(out, "/confirmar");
        }
    } else if (s == AFL_STORE_OK) {
        afl_tramite t = {env->csrf, AFL_PASO_RESULTADO, f.sol.curp, f.sol.correo,
                         aseg.nss,  "localizado",       0,          session_expiry(env)};
        s = afl_store_locate_form(p, env->st, f.sol.captcha_id, f.expires, &f.daily, env->sid, &t,
                                  curp_hmac(env, f.sol.curp), env->mail_host, env->now);
        if (s == AFL_STORE_OK) {
            out->mail = AFL_FLOW_MAIL_COMPROBANTE;
            out->event = AFL_FLOW_EV_LOCATED;
            out->session_token = token;
            return redirect(out, "/resultado");
        }
    } else {
        afl_tramite t = {env->csrf, AFL_PASO_DOMICILIO, f.sol.curp, f.sol.correo, "", "",
                         0,         session_expiry(env)};
        s = afl_store_tramite_start(p, env->st, f.sol.captcha_id, f.expires, &f.daily, env->sid, &t,
                                    env->now);
        if (s == AFL_STORE_OK) {
            out->event = AFL_FLOW_EV_NEW_CURP;
            out->session_token = token;
            return redirect(out, "/domicilio");
        }
    }
    if (s == AFL_STORE_LIMITED)
        return daily_refused(env, out, &f.daily);
    if (s == AFL_STORE_USED) {
        f.sol.err_captcha = MSG_CAPTCHA;
        form_page(env, out, AFL_FLOW_BAD_REQUEST, &f.sol, NULL);
        out->event = AFL_FLOW_EV_REFUSED_CAPTCHA;
        return;
    }
    busy(env, out);
}

/* ------------------------------------------------------------------ Paso 1: the address */

typedef struct {
    afl_address addr;
    afl_cp_info cp;
    int cp_found;
} domicilio_view;

static void domicilio_page(afl_flow_env *env, afl_flow_out *out, int status, const afl_tramite *t,
                           const domicilio_view *v)
{
    afl_tpl_ctx *ctx = view(env, "Asignación de NSS");
    afl_persona per;

    if (afl_store_persona(env->pool, env->st, t->curp, &per) != AFL_STORE_OK)
        return busy(env, out);
    afl_tpl_set_strn(ctx, "csrf", env->csrf);
    afl_tpl_set_strn(ctx, "nombre_completo", nombre_completo(env->pool, &per));
    afl_tpl_set_strn(ctx, "curp", t->curp);
    if (v) {
        const form_field f[] = {{"cp", "err_cp", v->addr.cp, v->addr.err_cp, 1},
                                {"colonia", "err_colonia", NULL, v->addr.err_colonia, 0},
                                {"calle", "err_calle", v->addr.calle, v->addr.err_calle, 1},
                                {"numero_exterior", "err_numero_exterior", v->addr.numero_exterior,
                                 v->addr.err_numero_exterior, 1},
                                {"numero_interior", "err_numero_interior", v->addr.numero_interior,
                                 v->addr.err_numero_interior, 1}};
        /* The colonia is echoed as the selected item of its list below. */
        form_fields(ctx, f, sizeof f / sizeof f[0]);
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
    }
    page(out, status, "domicilio", ctx);
}

void afl_flow_domicilio(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    afl_tramite t;
    afl_store_status s = load_session(env, &t);

    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND)
        return redirect(out, "/nss");
    if (t.paso == AFL_PASO_CONFIRMACION)
        return confirm_page(env, out, &t, in);
    if (t.paso == AFL_PASO_RESULTADO)
        return redirect(out, "/resultado");
    if (t.paso != AFL_PASO_DOMICILIO)
        return redirect(out, "/nss");
    domicilio_page(env, out, AFL_FLOW_OK, &t, NULL);
}

static int contains(const apr_array_header_t *arr, const char *s)
{
    for (int i = 0; s && i < arr->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(arr, i, const char *), s))
            return 1;
    return 0;
}

/* The coverage an assignment opens: from today to AfiliatePeriodoFin or,
 * when unset (or already past), to the end of the current semester: July 31
 * for February to July, January 31 of the next year for August to January. */
void afl_flow_coverage(apr_pool_t *p, apr_time_t when, const char *periodo_fin, const char **inicio,
                       const char **fin)
{
    int hoy = afl_vigencia_today(when), dia = 0, y, m, d;
    char buf[11];

    afl_vigencia_format_date(hoy, buf);
    *inicio = apr_pstrdup(p, buf);
    if (periodo_fin && afl_vigencia_parse_date(periodo_fin, &dia) == 0 && dia >= hoy) {
        *fin = periodo_fin;
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
    *fin = apr_pstrdup(p, buf);
}

static int current_year(apr_time_t when)
{
    apr_time_exp_t tm;
    apr_time_exp_lt(&tm, when);
    return tm.tm_year + 1900;
}

void afl_flow_domicilio_submit(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    afl_tramite t;
    domicilio_view v;
    apr_array_header_t *umfs = NULL;
    afl_curp_info info;
    afl_store_status s;
    afl_assign_req req;
    const char *nss = NULL;
    int assigned = 0;
    unsigned char pick = 0;

    s = load_session(env, &t);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND || !csrf_ok(env, in->form) || !afl_token_equal(t.csrf, env->csrf))
        return forbidden(env, out);
    if (t.paso == AFL_PASO_RESULTADO)
        return redirect(out, "/resultado"); /* double submit: already assigned */
    if (t.paso == AFL_PASO_CONFIRMACION)
        return redirect(out, "/confirmar"); /* the address waits for the e-mail link */
    if (t.paso != AFL_PASO_DOMICILIO)
        return redirect(out, "/nss");
    if (refused_by_rate(env, out))
        return;

    memset(&v, 0, sizeof v);
    afl_form_address(p, in->form, &v.addr);
    if (!v.addr.err_cp) {
        s = afl_store_cp(p, env->st, v.addr.cp, &v.cp);
        if (s == AFL_STORE_ERROR)
            return busy(env, out);
        v.cp_found = s == AFL_STORE_OK;
        if (afl_store_umfs(p, env->st, v.addr.cp, &umfs) != AFL_STORE_OK)
            return busy(env, out);
        if (!v.cp_found || umfs->nelts == 0)
            v.addr.err_cp = apr_psprintf(p, MSG_NO_UMF, v.addr.cp);
    }
    if (apr_table_get(in->form, "aceptar")) {
        /* "Aceptar" without JavaScript: show Estado, Municipio and the colonias. */
        v.addr.err_colonia = v.addr.err_calle = v.addr.err_numero_exterior = NULL;
        v.addr.err_numero_interior = NULL;
        return domicilio_page(env, out, v.addr.err_cp ? AFL_FLOW_UNPROCESSABLE : AFL_FLOW_OK, &t,
                              &v);
    }
    if (!v.addr.err_colonia && v.cp_found && !contains(v.cp.colonias, v.addr.colonia))
        v.addr.err_colonia = "Selecciona una colonia de la lista del Código Postal capturado";
    if (v.addr.err_cp || v.addr.err_colonia || v.addr.err_calle || v.addr.err_numero_exterior ||
        v.addr.err_numero_interior)
        return domicilio_page(env, out, AFL_FLOW_BAD_REQUEST, &t, &v);

    if (afl_curp_validate(t.curp, strlen(t.curp), &info) != AFL_CURP_OK)
        return forbidden(env, out);
    /* Several UMFs serve this postal code: IMSS picks one at random. */
    if (apr_generate_random_bytes(&pick, 1) != APR_SUCCESS)
        pick = 0;
    memset(&req, 0, sizeof req);
    req.curp = t.curp;
    req.correo = t.correo;
    req.birth_year = info.birth_year;
    req.reg_year = current_year(env->request_time);
    req.umf = &APR_ARRAY_IDX(umfs, pick % umfs->nelts, afl_umf);
    req.cp = v.addr.cp;
    req.colonia = v.addr.colonia;
    req.calle = v.addr.calle;
    req.numero_exterior = v.addr.numero_exterior;
    req.numero_interior = v.addr.numero_interior;
    req.tramite_id = env->sid;
    req.curp_hmac = curp_hmac(env, t.curp);
    req.now = env->now;
    req.session_expira = session_expiry(env);
    req.msgid_host = env->mail_host;
    afl_flow_coverage(p, env->request_time, env->periodo_fin, &req.cobertura_inicio,
                      &req.cobertura_fin);
    s = afl_store_assign(p, env->st, &req, &nss, &assigned);
    if (s == AFL_STORE_EXHAUSTED) {
        aviso(env, out, AFL_FLOW_UNAVAILABLE, "No fue posible asignar tu NSS",
              "Tu solicitud requiere que acudas a la subdelegación del IMSS que te corresponda.",
              URL_SUBDELEGACION, "Consulta el trámite IMSS-02-008");
        out->log_level = AFL_FLOW_LOG_ERR;
        out->log =
            AFL_TAG ": " AFL_LOGNO(00011) "no NSS folio left for a prefix of this subdelegación";
        return;
    }
    if (s != AFL_STORE_OK)
        return busy(env, out);
    out->mail = AFL_FLOW_MAIL_COMPROBANTE;
    /* Not assigned: the CURP got its NSS meanwhile (another trámite). */
    out->event = assigned ? AFL_FLOW_EV_ASSIGNED : AFL_FLOW_EV_LOCATED;
    redirect(out, "/resultado");
}

/* ------------------------------------------------------------------ Paso 1: result */

/* Loads the session's trámite into *t and checks that it is at paso; 1 when it is.
 * Otherwise out is the answer: busy (503) when the database failed, else a redirect to
 * back (the step's form) or, with back NULL, the "Documento no disponible" notice (404)
 * with mensaje and a link to inicio. */
static int session_at(afl_flow_env *env, afl_flow_out *out, afl_paso paso, afl_tramite *t,
                      const char *back, const char *mensaje, const char *inicio)
{
    afl_store_status s = load_session(env, t);

    if (s == AFL_STORE_ERROR) {
        busy(env, out);
        return 0;
    }
    if (s == AFL_STORE_NOTFOUND || t->paso != paso) {
        if (back)
            redirect(out, back);
        else
            aviso(env, out, AFL_FLOW_NOT_FOUND, "Documento no disponible", mensaje, inicio,
                  "Iniciar el trámite");
        return 0;
    }
    return 1;
}

void afl_flow_resultado(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    afl_tramite t;
    afl_tpl_ctx *ctx;
    int asignado;
    afl_store_status s = load_session(env, &t);

    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_OK && t.paso == AFL_PASO_CONFIRMACION)
        return confirm_page(env, out, &t, NULL); /* no NSS before the link is opened */
    if (s == AFL_STORE_NOTFOUND || t.paso != AFL_PASO_RESULTADO)
        return redirect(out, "/nss");
    asignado = !strcmp(t.origen, "asignado");
    ctx = view(env, asignado ? "Asignación de NSS exitosa" : "NSS localizado");
    afl_tpl_set_bool(ctx, "asignado", asignado);
    afl_tpl_set_bool(ctx, "localizado", !asignado);
    afl_tpl_set_strn(ctx, "nss", t.nss);
    afl_tpl_set_strn(ctx, "correo", t.correo);
    afl_tpl_set_strn(ctx, "csrf", env->csrf);
    /* After a resend (POST /reenviar redirects here with this flag only). */
    if (query_is(in, "reenviado=1"))
        afl_tpl_set_strn(ctx, "aviso", MSG_REENVIADO);
    page(out, AFL_FLOW_OK, "resultado", ctx);
}

/* ------------------------------------------------------------------ signed documents */

static int wants_download(const afl_flow_in *in)
{
    return in && in->args && strstr(in->args, "descargar=1") != NULL;
}

/* Issues (or, for a re-download in the same trámite, finds again) a signed
 * document and fills firma for the PDF. Without a signing key the document
 * is not signed: an unrecorded folio (sequence 0), firma zeroed. */
static afl_store_status issue_signed(afl_flow_env *env, const char *tipo, afl_cadena_tipo ct,
                                     const char *nss, const char *curp, const char *nombre,
                                     afl_store_doc *doc, afl_pdf_firma *firma)
{
    apr_pool_t *p = env->pool;
    afl_doc_req req;

    if (!env->sign_key) {
        char folio[AFL_FOLIO_LEN + 1];
        memset(firma, 0, sizeof *firma);
        memset(doc, 0, sizeof *doc);
        afl_folio_make(apr_time_from_sec(env->now), 0, folio);
        doc->folio = apr_pstrdup(p, folio);
        doc->emitido = env->now;
        return AFL_STORE_OK;
    }
    req = (afl_doc_req){.tipo = tipo,
                        .cadena_tipo = ct,
                        .nss = nss,
                        .curp = curp,
                        .nombre = nombre,
                        .emitido = env->now, /* whole seconds: the cadena's Fecha */
                        .datos = env->sid ? apr_pstrcat(p, "{\"tramite\":\"", env->sid, "\"}", NULL)
                                          : NULL,
                        .key = env->sign_key};
    return afl_doc_issue_firma(p, env->st, &req, env->public_base, doc, firma);
}

static void pdf(afl_flow_out *out, const unsigned char *body, size_t len, const char *filename,
                int attachment)
{
    out->kind = AFL_FLOW_PDF;
    out->status = AFL_FLOW_OK;
    out->body = body;
    out->len = len;
    out->filename = filename;
    out->attachment = attachment;
    out->no_store = 1;
}

/* What each document step (comprobante, tarjeta, constancia) works with. */
typedef struct doc_kind doc_kind;

typedef struct {
    const doc_kind *kind;
    afl_tramite t;             /* the session's trámite */
    int descargar;             /* ?descargar=1: an attachment, else shown inline */
    afl_store_doc doc;         /* the issued document */
    const unsigned char *body; /* the PDF */
    size_t len;
    char err[256]; /* why the PDF could not be built */
} doc_step;

/* The three documents: the step whose result offers each, and the notice
 * (404) for a session elsewhere. */
struct doc_kind {
    const char *tipo; /* documento.tipo, audit detail, log word */
    afl_paso paso;
    const char *mensaje, *inicio;
};

static const doc_kind COMPROBANTE = {
    "comprobante", AFL_PASO_RESULTADO,
    "El comprobante solo está disponible al concluir el Paso 1 en esta sesión.", "/nss"};
static const doc_kind TARJETA = {
    "tarjeta", AFL_PASO_RESULTADO,
    "La tarjeta solo está disponible al concluir el Paso 1 en esta sesión.", "/nss"};
static const doc_kind CONSTANCIA = {
    "constancia", AFL_PASO_VIGENCIA,
    "La constancia solo está disponible al concluir el Paso 2 en esta sesión.", "/vigencia"};

/* The session for a document of kind k, else the notice. 1 when d->t is set. */
static int document_session(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out,
                            const doc_kind *k, doc_step *d)
{
    d->kind = k;
    d->descargar = wants_download(in);
    return session_at(env, out, k->paso, &d->t, NULL, k->mensaje, k->inicio);
}

static void audit_download(afl_flow_env *env, const doc_step *d)
{
    /* posted: the document does not wait for this row's fsync (afl_store.h) */
    afl_store_audit_later(env->pool, env->st, env->now, d->descargar ? "descarga" : "impresion",
                          curp_hmac(env, d->t.curp), d->kind->tipo);
}

/* The step's document issued under the person's name (issue_signed) into
 * d->doc and firma; 0 after the 503 page when the store fails. */
static int issue_document(afl_flow_env *env, afl_flow_out *out, doc_step *d, afl_cadena_tipo ct,
                          const afl_pdf_persona *who, afl_pdf_firma *firma)
{
    const char *nombre =
        afl_cadena_nombre(env->pool, who->nombres, who->primer_apellido, who->segundo_apellido);

    if (issue_signed(env, d->kind->tipo, ct, who->nss, who->curp, nombre, &d->doc, firma) ==
        AFL_STORE_OK)
        return 1;
    busy(env, out);
    return 0;
}

/* The outcome of building the step's PDF (rv, d->body, d->err): the download
 * recorded and the PDF sent as filename. */
static void send_pdf(afl_flow_env *env, afl_flow_out *out, const doc_step *d, apr_status_t rv,
                     const char *filename)
{
    if (rv != APR_SUCCESS)
        return failed(
            out, apr_psprintf(env->pool, AFL_TAG ": " AFL_LOGNO(00012) "cannot build the %s: %s",
                                                                d->kind->tipo, d->err));
    audit_download(env, d);
    pdf(out, d->body, d->len, filename, d->descargar);
}

/* The comprobante and the tarjeta of the session that reached the Paso 1
 * result: the same stored data as the e-mailed attachments (afl_outbox). */
static void paso1_document(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out,
                           const doc_kind *k)
{
    apr_pool_t *p = env->pool;
    int tarjeta = k == &TARJETA;
    doc_step d;
    afl_comprobante c;
    apr_status_t rv;

    if (!document_session(env, in, out, k, &d))
        return;
    if (afl_doc_comprobante(p, env->st, d.t.curp, &c) != AFL_STORE_OK)
        return busy(env, out);
    if (!issue_document(env, out, &d,
                        tarjeta          ? AFL_CADENA_TARJETA
                        : c.localizacion ? AFL_CADENA_LOCALIZACION
                                         : AFL_CADENA_ASIGNACION,
                        &c.persona, &c.emision.firma))
        return;
    /* Built after the database work: no transaction is open here. */
    c.emision.issued = apr_time_from_sec(d.doc.emitido);
    c.emision.font = env->font;
    c.emision.font_bold = env->font_bold;
    if (tarjeta) {
        afl_tarjeta tj = {.persona = c.persona, .emision = c.emision};

        /* The card always shows its folio; unsigned, the unrecorded one. */
        tj.emision.folio = d.doc.folio;
        rv = afl_pdf_tarjeta(p, &tj, &d.body, &d.len, d.err, sizeof d.err);
    } else {
        if (env->sign_key)
            c.emision.folio = d.doc.folio;
        rv = afl_pdf_comprobante(p, &c, &d.body, &d.len, d.err, sizeof d.err);
    }
    send_pdf(env, out, &d, rv,
             apr_psprintf(p, tarjeta ? "tarjetaNSS%s.pdf" : "comprobanteNSS%s.pdf", c.persona.nss));
}

void afl_flow_comprobante(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    paso1_document(env, in, out, &COMPROBANTE);
}

/* The Tarjeta de NSS, for the session that reached the Paso 1 result. */
void afl_flow_tarjeta(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    paso1_document(env, in, out, &TARJETA);
}

/* "Reenviar": the document of the session's result goes again to the e-mail of
 * this trámite, within the per-trámite, per-CURP and per-address limits
 * (afl_store_resend): at the Paso 1 result the comprobante (and tarjeta), at
 * the Paso 2 result the constancia. One route, the session's step decides. */
void afl_flow_reenviar(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    afl_tramite t;
    afl_resend_req req;
    afl_store_status s = load_session(env, &t);
    const char *documento, *resultado;
    int constancia, confirmacion;

    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND || !csrf_ok(env, in->form) || !afl_token_equal(t.csrf, env->csrf))
        return forbidden(env, out);
    constancia = t.paso == AFL_PASO_VIGENCIA;
    confirmacion = t.paso == AFL_PASO_CONFIRMACION;
    if (t.paso != AFL_PASO_RESULTADO && !constancia && !confirmacion)
        return redirect(out, "/nss");
    documento = confirmacion ? "confirmacion" : constancia ? "constancia" : "comprobante";
    resultado = confirmacion ? "/confirmar" : constancia ? "/vigencia/resultado" : "/resultado";

    memset(&req, 0, sizeof req);
    req.tramite_id = env->sid;
    req.kind = documento;
    req.curp = t.curp;
    req.correo = t.correo;
    req.limit_tramite = env->resend_limit;
    req.limit_curp = env->resend_daily_curp;
    req.limit_address = env->resend_daily_address;
    /* Pseudonymous keys: the limite table holds no CURP and no address. */
    req.curp_key = apr_pstrcat(p, "reenvio-curp:", curp_hmac(env, t.curp), NULL);
    req.address_key = apr_pstrcat(p, "reenvio-ip:", ip_hmac(env), NULL);
    req.window = env->now - env->now % 86400;
    req.msgid_host = env->mail_host;
    req.now = env->now;
    if (confirmacion) {
        /* A new link (the earlier ones stay valid until one is used). */
        long long link_expires = env->now + 60LL * confirm_minutes(env);
        req.enlace = confirm_link(env, env->sid, link_expires);
        req.tramite_expira = t.expira > link_expires ? t.expira : link_expires;
        if (!req.enlace)
            return busy(env, out);
    }
    s = afl_store_resend(p, env->st, &req);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_LIMITED) {
        aviso(env, out, AFL_FLOW_TOO_MANY, "Límite de reenvíos alcanzado",
              confirmacion ? "Ya no es posible reenviar la liga de confirmación. Revisa tu "
                             "correo, también la carpeta de correo no deseado, o inicia el "
                             "trámite de nuevo."
              : constancia ? "Ya no es posible reenviar la constancia por correo electrónico. "
                             "Puedes imprimirla o descargarla desde la página de tu resultado."
                           : "Ya no es posible reenviar el comprobante por correo electrónico. "
                             "Puedes imprimirlo o descargarlo desde la página de tu resultado.",
              resultado, confirmacion ? "Volver" : "Volver al resultado");
        out->log_level = AFL_FLOW_LOG_WARN;
        out->log = AFL_TAG
            ": " AFL_LOGNO(00013) "resend limit reached (per session, CURP or client address)";
        return;
    }
    afl_store_audit(p, env->st, env->now, "reenvio", curp_hmac(env, t.curp), documento);
    out->mail = confirmacion ? AFL_FLOW_MAIL_CONFIRMACION
                : constancia ? AFL_FLOW_MAIL_CONSTANCIA
                             : AFL_FLOW_MAIL_COMPROBANTE;
    redirect(out, apr_pstrcat(p, resultado, "?reenviado=1", NULL));
}

void afl_flow_finalizar(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    if (!csrf_ok(env, in->form))
        return forbidden(env, out);
    if (!store(env))
        return busy(env, out);
    if (afl_store_tramite_del(env->pool, env->st, env->sid) != AFL_STORE_OK)
        return busy(env, out);
    out->end_session = 1;
    redirect(out, "/");
}

/* ------------------------------------------------------------------ postal codes */

static void json(afl_flow_out *out, int status, const char *body)
{
    out->kind = AFL_FLOW_JSON;
    out->status = status;
    out->body = (const unsigned char *)body;
    out->len = strlen(body);
}

void afl_flow_cp(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    const char *cp = in && in->tail ? in->tail : "";
    afl_cp_info info;
    afl_store_status s;
    const char *body, *msg;

    if (strlen(cp) != 5 || strspn(cp, "0123456789") != 5)
        return json(out, AFL_FLOW_NOT_FOUND,
                    "{\"error\": \"El Código Postal debe tener 5 dígitos.\"}");
    if (!store(env))
        return json(out, AFL_FLOW_UNAVAILABLE,
                    "{\"error\": \"El servicio no está disponible por el momento.\"}");
    s = afl_store_cp_lookup(p, env->st, cp, &info);
    if (s == AFL_STORE_ERROR)
        return json(out, AFL_FLOW_UNAVAILABLE,
                    "{\"error\": \"El servicio no está disponible por el momento.\"}");
    msg = apr_psprintf(p, MSG_NO_UMF, cp);
    if (s == AFL_STORE_NOTFOUND)
        return json(out, AFL_FLOW_NOT_FOUND,
                    apr_psprintf(p, "{\"cp\": %s, \"error\": %s}", afl_json_str(p, cp),
                                 afl_json_str(p, msg)));
    body = apr_psprintf(p, "{\"cp\": %s, \"estado\": %s, \"municipio\": %s, \"umf\": %s",
                        afl_json_str(p, cp), afl_json_str(p, info.estado),
                        afl_json_str(p, info.municipio), info.umf ? "true" : "false");
    if (!info.umf)
        body = apr_pstrcat(p, body, ", \"mensaje\": ", afl_json_str(p, msg), NULL);
    body = apr_pstrcat(p, body, ", \"colonias\": [", NULL);
    for (int i = 0; i < info.colonias->nelts; i++)
        body = apr_pstrcat(p, body, i ? ", " : "",
                           afl_json_str(p, APR_ARRAY_IDX(info.colonias, i, const char *)), NULL);
    json(out, AFL_FLOW_OK, apr_pstrcat(p, body, "]}", NULL));
    out->cacheable = 1;
}

/* ------------------------------------------------------------------ Paso 2: vigencia */

static void vigencia_page(afl_flow_env *env, afl_flow_out *out, int status,
                          const afl_solicitud *sol, const char *nss, const char *err_nss,
                          const char *aviso_text)
{
    afl_tpl_ctx *ctx = captcha_form(env, out, "Paso 2: Obtén tu constancia de vigencia de derechos",
                                    sol, 1, nss, err_nss, aviso_text);

    if (ctx)
        page(out, status, "vigencia", ctx);
}

void afl_flow_vigencia_form(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    (void)in;
    vigencia_page(env, out, AFL_FLOW_OK, NULL, NULL, NULL, NULL);
}

/* The NSS field: trimmed; *err gets the message for the student, or NULL. */
static const char *read_nss(apr_pool_t *p, apr_table_t *form, const char **err)
{
    const char *raw = afl_text_trim(p, apr_table_get(form, "nss"));
    char norm[12];

    *err = NULL;
    if (!raw || !*raw) {
        *err = AFL_MSG_REQUIRED;
        return "";
    }
    if (strlen(raw) > 32) {
        *err = "El NSS debe tener 11 dígitos.";
        return "";
    }
    switch (afl_nss_validate(raw, strlen(raw), norm)) {
    case AFL_NSS_OK:
        return apr_pstrdup(p, norm);
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

void afl_flow_vigencia_submit(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    form_post_state f;
    const char *nss, *err_nss;
    afl_persona per;
    afl_asegurado_nss aseg;
    afl_store_status s;
    int dberr = 0, captcha_good, down = 0;

    if (!form_post(env, in, out, &f))
        return;
    nss = read_nss(p, in->form, &err_nss);
    /* The CAPTCHA id is burned at once: one attempt per id, whatever follows. */
    captcha_good = f.id_valid && burn_captcha(env, &f.sol, f.expires, &dberr) && f.right;
    if (dberr)
        return busy(env, out);
    if (!captcha_good)
        f.sol.err_captcha = MSG_CAPTCHA;
    if (f.sol.err_curp || err_nss || f.sol.err_correo || f.sol.err_correo_confirmacion ||
        f.sol.err_captcha) {
        if (f.sol.err_captcha || f.sol.err_curp || err_nss)
            note_failure(env);
        return vigencia_page(env, out, AFL_FLOW_BAD_REQUEST, &f.sol, nss, err_nss, NULL);
    }
    if (over_daily_limits(env, &f.sol, &f.daily, out))
        return;
    maybe_purge(env);

    s = identity(env, f.sol.curp, &per, &down);
    if (s == AFL_STORE_ERROR)
        return down ? renapo_down(env, out) : busy(env, out);
    if (s == AFL_STORE_NOTFOUND || (s == AFL_STORE_OK && !afl_store_status_active(per.status_curp)))
        note_failure(env);
    if (s == AFL_STORE_NOTFOUND)
        return vigencia_page(env, out, AFL_FLOW_UNPROCESSABLE, &f.sol, nss, NULL, MSG_RENAPO);
    if (!afl_store_status_active(per.status_curp))
        return vigencia_page(env, out, AFL_FLOW_UNPROCESSABLE, &f.sol, nss, NULL,
                             afl_flow_inactive_message(p, per.status_curp));
    s = afl_store_asegurado_nss(p, env->st, nss, &aseg);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND || (s == AFL_STORE_OK && strcmp(aseg.curp, f.sol.curp)))
        note_failure(env);
    if (s == AFL_STORE_NOTFOUND)
        return vigencia_page(env, out, AFL_FLOW_UNPROCESSABLE, &f.sol, nss, NULL, MSG_NSS_NO);
    if (strcmp(aseg.curp, f.sol.curp))
        return vigencia_page(env, out, AFL_FLOW_UNPROCESSABLE, &f.sol, nss, NULL,
                             MSG_INCONSISTENTE);
    if (!rotate_session(env, &out->session_token))
        return failed(out, AFL_TAG ": " AFL_LOGNO(00014) "no random bytes available");
    {
        /* The session's result, its audit row and the constancia e-mail commit together. */
        afl_tramite t = {env->csrf, AFL_PASO_VIGENCIA,  f.sol.curp, f.sol.correo, nss, "",
                         0,         session_expiry(env)};
        s = afl_store_vigencia_record(p, env->st, &f.daily, env->sid, &t,
                                      curp_hmac(env, f.sol.curp), env->mail_host, env->now);
        if (s != AFL_STORE_OK) {
            out->session_token = NULL;
            return s == AFL_STORE_LIMITED ? daily_refused(env, out, &f.daily) : busy(env, out);
        }
    }
    out->mail = AFL_FLOW_MAIL_CONSTANCIA;
    redirect(out, "/vigencia/resultado");
}

/* Everything the result page shows about one person. */
typedef struct {
    afl_persona per;
    afl_asegurado_nss aseg;
    afl_vigencia vig;
} vigencia_view;

static afl_store_status load_vigencia(afl_flow_env *env, const afl_tramite *t, vigencia_view *v)
{
    afl_store_status s = afl_store_persona(env->pool, env->st, t->curp, &v->per);

    if (s == AFL_STORE_OK)
        s = afl_store_asegurado_nss(env->pool, env->st, t->nss, &v->aseg);
    if (s == AFL_STORE_OK)
        s = afl_store_vigencia(env->pool, env->st, t->nss,
                               afl_vigencia_today(apr_time_from_sec(env->now)), &v->vig);
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

void afl_flow_vigencia_resultado(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    afl_tramite t;
    afl_tpl_ctx *ctx;
    vigencia_view v;

    if (!session_at(env, out, AFL_PASO_VIGENCIA, &t, "/vigencia", NULL, NULL))
        return;
    if (load_vigencia(env, &t, &v) != AFL_STORE_OK)
        return busy(env, out);
    ctx = view(env, "Constancia de vigencia de derechos");
    afl_tpl_set_strn(ctx, "nss", t.nss);
    afl_tpl_set_strn(ctx, "nombre", nombre_completo(env->pool, &v.per));
    afl_tpl_set_bool(ctx, "vigente", v.vig.vigente);
    afl_tpl_set_bool(ctx, "sin_cobertura", v.vig.estado == AFL_VIGENCIA_SIN_COBERTURA);
    if (v.vig.estado != AFL_VIGENCIA_SIN_COBERTURA) {
        afl_tpl_set_strn(ctx, "desde", fecha_dia(env->pool, v.vig.desde));
        afl_tpl_set_strn(ctx, "hasta", fecha_dia(env->pool, v.vig.hasta));
    }
    afl_tpl_set_strn(ctx, "umf", *v.aseg.umf_nombre ? v.aseg.umf_nombre : "Sin UMF asignada");
    afl_tpl_set_strn(ctx, "csrf", env->csrf);
    /* After a resend (POST /reenviar redirects here with this flag only). */
    if (query_is(in, "reenviado=1"))
        afl_tpl_set_strn(ctx, "aviso", MSG_REENVIADA_CONSTANCIA);
    page(out, AFL_FLOW_OK, "vigencia_resultado", ctx);
}

void afl_flow_constancia(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    doc_step d;
    afl_persona per;
    afl_pdf_firma firma;
    afl_constancia c;
    afl_pdf_persona who;

    if (!document_session(env, in, out, &CONSTANCIA, &d))
        return;
    if (afl_store_persona(env->pool, env->st, d.t.curp, &per) != AFL_STORE_OK)
        return busy(env, out);
    who = (afl_pdf_persona){per.nombres, per.primer_apellido, per.segundo_apellido, d.t.curp,
                            d.t.nss};
    if (!issue_document(env, out, &d, AFL_CADENA_CONSTANCIA, &who, &firma))
        return;
    /* Coverage on the day of issue: a re-download shows the same answer. The
     * same stored data as the e-mailed attachment (afl_outbox). */
    if (afl_doc_constancia(env->pool, env->st, d.t.curp, d.t.nss, d.doc.emitido, &c) !=
        AFL_STORE_OK)
        return busy(env, out);
    c.emision = (afl_pdf_emision){.folio = d.doc.folio,
                                  .issued = apr_time_from_sec(d.doc.emitido),
                                  .font = env->font,
                                  .font_bold = env->font_bold,
                                  .firma = firma};
    send_pdf(env, out, &d, afl_pdf_constancia(env->pool, &c, &d.body, &d.len, d.err, sizeof d.err),
             apr_psprintf(env->pool, "comprobanteVigenciaDerechos%s.pdf", d.t.nss));
}

/* ------------------------------------------------------------------ verification */

/* "12******903": enough to recognise one's own document, not to learn an NSS. */
const char *afl_flow_mask_nss(apr_pool_t *p, const char *nss)
{
    if (!nss || strlen(nss) != 11)
        return "***********";
    return apr_pstrcat(p, apr_pstrmemdup(p, nss, 2), "******", nss + 8, NULL);
}

/* "MARÍA J*** M*** I***": the first word whole, the others by their first letter. */
const char *afl_flow_mask_nombre(apr_pool_t *p, const char *nombre)
{
    const char *s = nombre ? nombre : "", *masked = "";
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
            masked = apr_pstrmemdup(p, w, n);
            first = 0;
            continue;
        }
        /* The first character, whole (1 to 4 bytes of UTF-8). */
        cp = 1;
        while (cp < n && ((unsigned char)w[cp] & 0xC0) == 0x80)
            cp++;
        masked = apr_pstrcat(p, masked, " ", apr_pstrmemdup(p, w, cp), "***", NULL);
    }
    return masked;
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

void afl_flow_verificar(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out)
{
    apr_pool_t *p = env->pool;
    const char *args = in ? in->args : NULL;
    apr_table_t *params = NULL;
    afl_store_doc doc;
    afl_store_status s;
    afl_tpl_ctx *ctx;
    const char *folio, *campo;
    char fecha[40], hora[16];
    int dberr = 0, valido;

    if (rate_limited(env, &dberr))
        return too_many(env, out);
    if (dberr || !store(env))
        return busy(env, out);
    if (!args || afl_form_parse(p, args, strlen(args), 4, &params) != APR_SUCCESS ||
        !(folio = apr_table_get(params, "folio")) || !afl_folio_valid(folio))
        return aviso(env, out, AFL_FLOW_BAD_REQUEST, "Folio no válido",
                     "El folio de un documento tiene 21 dígitos. Revisa el folio impreso en el "
                     "documento.",
                     NULL, NULL);
    s = afl_doc_get(p, env->st, env->sign_key, folio, &doc);
    if (s == AFL_STORE_ERROR)
        return busy(env, out);
    if (s == AFL_STORE_NOTFOUND)
        return aviso(env, out, AFL_FLOW_NOT_FOUND, "Documento no encontrado",
                     "No existe un documento con ese folio.", NULL, NULL);
    /* Valid when this server's key signed the stored cadena, and the cadena
     * names this folio. */
    campo = afl_cadena_campo(p, doc.cadena, "Folio");
    valido = env->sign_key && !strcmp(doc.no_serie, afl_sign_serial(env->sign_key)) && campo &&
             !strcmp(campo, folio) &&
             afl_sign_verify_sello(env->sign_key, doc.cadena, strlen(doc.cadena), doc.sello) ==
                 AFL_SIGN_OK;
    afl_pdf_format_date(apr_time_from_sec(doc.emitido), fecha, sizeof fecha);
    afl_pdf_format_time(apr_time_from_sec(doc.emitido), hora, sizeof hora);
    ctx = view(env, "Verificación de documento");
    afl_tpl_set_strn(ctx, "folio", folio);
    afl_tpl_set_strn(ctx, "tipo", tipo_documento(doc.tipo));
    afl_tpl_set_strn(ctx, "fecha", apr_pstrcat(p, fecha, ", ", hora, " h", NULL));
    afl_tpl_set_strn(ctx, "nss", afl_flow_mask_nss(p, doc.nss));
    afl_tpl_set_strn(ctx, "nombre", afl_flow_mask_nombre(p, doc.nombre));
    afl_tpl_set_strn(ctx, "no_serie", doc.no_serie);
    afl_tpl_set_bool(ctx, "valido", valido);
    page(out, AFL_FLOW_OK, "verificar", ctx);
}
