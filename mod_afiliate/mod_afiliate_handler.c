/* mod_afiliate: the HTTP glue of the procedure. One route table maps method
 * and path to a step of afl_flow (which holds every rule), and one function
 * turns the step's outcome into the response. Sessions are a cookie here and
 * a row in the store; the flow only sees the ids derived from the cookie. */
#include "mod_afiliate_handler.h"
#include "mod_afiliate_config.h"
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_status.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_cookies.h"
#include "apr_strings.h"

#include "afl_captcha.h"
#include "afl_curp.h"
#include "afl_flow.h"
#include "afl_form.h"
#include "afl_hmac.h"
#include "afl_log.h"
#include "afl_pdf.h"
#include "afl_secret.h"
#include "afl_token.h"
#include "afl_tpl.h"

#include <sys/stat.h>

APLOG_USE_MODULE(afiliate);

#define COOKIE_NAME "afiliate_tramite"

/* Everything the glue needs about the request. */
typedef struct {
    request_rec *r;
    afl_server_conf *sc;
    afl_dir_conf *dc;
    const char *base;      /* <Location> path, no trailing slash */
    const char *token;     /* session cookie token (32 hex), NULL when absent */
    const char *csrf;      /* HMAC of the token: the CSRF token of this session */
    afl_stats_route route; /* for the operating counters */
} afl_req;

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

/* A notice about the request itself (its body), before any step runs. */
static int send_aviso(afl_req *q, int status, const char *titulo, const char *mensaje,
                      const char *enlace, const char *enlace_texto)
{
    afl_tpl_ctx *ctx = afl_tpl_ctx_make(q->r->pool);
    afl_tpl_set_strn(ctx, "base", q->base);
    afl_tpl_set_strn(ctx, "titulo", titulo);
    afl_tpl_set_strn(ctx, "mensaje", mensaje);
    if (enlace) {
        afl_tpl_set_strn(ctx, "enlace", enlace);
        afl_tpl_set_strn(ctx, "enlace_texto", enlace_texto);
    }
    no_store(q->r);
    return send_page(q, status, "aviso", ctx);
}

static int send_body(request_rec *r, const char *ctype, const void *body, apr_size_t len)
{
    ap_set_content_type(r, ctype);
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(body, (int)len, r);
    return OK;
}

/* ------------------------------------------------------------------ session */

/* Secure when the request is HTTPS, or when a proxy the admin trusts
 * (AfiliateTrustedProxy: the TCP peer, not a forwarded address) says the
 * browser's request was. */
static int cookie_secure(afl_req *q)
{
    request_rec *r = q->r;
    const apr_array_header_t *trusted = q->sc->trusted_proxies;
    const char *proto;

    if (ap_http_scheme(r) && !strcmp(ap_http_scheme(r), "https"))
        return 1;
    proto = apr_table_get(r->headers_in, "X-Forwarded-Proto");
    if (!trusted || !proto || strcasecmp(proto, "https"))
        return 0;
    for (int i = 0; i < trusted->nelts; i++)
        if (apr_ipsubnet_test(APR_ARRAY_IDX(trusted, i, apr_ipsubnet_t *),
                              r->connection->client_addr))
            return 1;
    return 0;
}

static void set_cookie(afl_req *q, const char *value, int expire)
{
    const char *attrs =
        apr_psprintf(q->r->pool, "Path=%s/; HttpOnly; SameSite=Strict%s%s", q->base,
                     cookie_secure(q) ? "; Secure" : "", expire ? "; Max-Age=0" : "");
    apr_table_add(q->r->err_headers_out, "Set-Cookie",
                  apr_psprintf(q->r->pool, "%s=%s; %s", COOKIE_NAME, value, attrs));
}

/* apr_table_do callback: counts the session cookies in one Cookie header. */
static int count_session_cookies(void *rec, const char *key, const char *value)
{
    int *n = rec;
    const char *s = value;
    apr_size_t len = sizeof(COOKIE_NAME) - 1;

    (void)key;
    /* Pairs are separated by ';', and by ',' where httpd joined repeated
     * Cookie headers into one. */
    while (s && *s) {
        while (*s == ' ' || *s == '\t' || *s == ';' || *s == ',')
            s++;
        if (!strncmp(s, COOKIE_NAME, len) && (s[len] == '=' || s[len] == ' '))
            ++*n;
        s = strpbrk(s, ";,");
    }
    return 1;
}

/* A request that sends the session cookie twice is a client's mistake (or a
 * cookie-tossing attempt): it gets no session, and the log says so at info,
 * where ap_cookie_read() would have logged an error. */
static int session_cookie_repeated(request_rec *r)
{
    int n = 0;

    apr_table_do(count_session_cookies, &n, r->headers_in, "Cookie", NULL);
    if (n > 1) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      AFL_TAG ": session cookie sent %d times; ignored", n);
        return 1;
    }
    return 0;
}

static void read_session_cookie(afl_req *q)
{
    const char *v = NULL;

    if (session_cookie_repeated(q->r))
        return;
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

/* ------------------------------------------------------------------ request body */

/* Reads an urlencoded body within the directory's size cap. Returns OK with
 * *form set; otherwise the response is already made (413, 415, 400: DONE) or
 * the value is the status the handler returns. */
static int read_form(afl_req *q, apr_table_t **form)
{
    request_rec *r = q->r;
    int max = afl_dir_max_body(q->dc);
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    char *buf = apr_palloc(r->pool, (apr_size_t)max + 1);
    apr_size_t len = 0;
    apr_status_t rv;
    int rc;

    /* The media type itself, then parameters: "...-urlencodedjunk" is another type. */
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0 ||
        (ctype[33] && ctype[33] != ';' && ctype[33] != ' ' && ctype[33] != '\t')) {
        rc = send_aviso(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "Solicitud no válida",
                        "El formulario se envió en un formato que no se reconoce.", NULL, NULL);
        return rc == OK ? DONE : rc;
    }
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (ap_should_client_block(r)) {
        long n;
        while ((n = ap_get_client_block(r, buf + len, (apr_size_t)max + 1 - len)) > 0) {
            len += (apr_size_t)n;
            if (len > (apr_size_t)max) {
                ap_discard_request_body(r);
                rc = send_aviso(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "Solicitud demasiado grande",
                                "La información enviada es demasiado grande.", NULL, NULL);
                return rc == OK ? DONE : rc;
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
        rc = send_aviso(q, HTTP_BAD_REQUEST, "Solicitud no válida",
                        "La información enviada no es válida. Vuelve a capturarla.",
                        apr_pstrcat(r->pool, q->base, "/nss", NULL), "Volver al formulario");
        return rc == OK ? DONE : rc;
    }
    return OK;
}

/* ------------------------------------------------------------------ the flow's environment */

static afl_store *acquire_store(void *baton)
{
    return afl_dbd_store(baton);
}

/* Domain of the Message-IDs of queued mail (AfiliateMailFrom's). */
static const char *mail_host(const afl_server_conf *sc)
{
    return sc->mail_host ? sc->mail_host : "localhost";
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

static void flow_env(afl_req *q, afl_flow_env *env, int documents)
{
    afl_server_conf *sc = q->sc;

    memset(env, 0, sizeof *env);
    env->pool = q->r->pool;
    env->get_store = acquire_store;
    env->store_baton = q->r;
    env->secret = sc->secret;
    env->secret_len = sc->secret_len;
    env->base = q->base;
    env->sid = q->token ? afl_token_sha256(q->r->pool, q->token) : NULL;
    env->csrf = q->csrf;
    env->client_ip = q->r->useragent_ip;
    env->now = (long long)apr_time_sec(q->r->request_time);
    env->request_time = q->r->request_time;
    env->session_timeout = AFL_SC_INT(sc, session_timeout, AFL_DEFAULT_SESSION_TIMEOUT);
    env->rate_limit = afl_dir_rate_limit(q->dc);
    env->fail_limit = afl_dir_fail_limit(q->dc);
    env->address_fail_limit = afl_dir_address_fail_limit(q->dc);
    env->curp_limit = afl_dir_curp_limit(q->dc);
    env->email_limit = afl_dir_email_limit(q->dc);
    env->resend_limit = AFL_SC_INT(sc, resend_limit, AFL_DEFAULT_RESEND_LIMIT);
    env->resend_daily_curp = AFL_SC_INT(sc, resend_daily_curp, AFL_DEFAULT_RESEND_DAILY_CURP);
    env->resend_daily_address =
        AFL_SC_INT(sc, resend_daily_address, AFL_DEFAULT_RESEND_DAILY_ADDRESS);
    env->mail_host = mail_host(sc);
    env->periodo_fin = sc->periodo_fin;
    env->sign_key = sc->sign_key;
    env->font = sc->pdf_font;
    env->font_bold = sc->pdf_font_bold;
    env->public_base = documents ? public_base(q) : NULL;
}

/* ------------------------------------------------------------------ outcomes */

static int respond(afl_req *q, const afl_flow_out *out)
{
    request_rec *r = q->r;

    afl_status_outcome(q->sc->stats, q->route, out);
    if (out->log)
        ap_log_rerror(APLOG_MARK, out->log_level == AFL_FLOW_LOG_ERR ? APLOG_ERR : APLOG_WARNING, 0,
                      r, "%s", out->log);
    if (out->end_session)
        set_cookie(q, "", 1);
    else if (out->session_token)
        set_cookie(q, out->session_token, 0);
    if (out->no_store)
        no_store(r);
    if (out->retry_after)
        apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, out->retry_after));
    switch (out->kind) {
    case AFL_FLOW_PAGE:
        return send_page(q, out->status, out->tpl, out->view);
    case AFL_FLOW_REDIRECT:
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, q->base, out->location, NULL));
        return HTTP_SEE_OTHER;
    case AFL_FLOW_PDF:
        apr_table_setn(r->headers_out, "Content-Disposition",
                       apr_psprintf(r->pool, "%s; filename=\"%s\"",
                                    out->attachment ? "attachment" : "inline", out->filename));
        return send_body(r, "application/pdf", out->body, out->len);
    case AFL_FLOW_JSON:
        if (out->cacheable)
            apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=3600");
        r->status = out->status;
        return send_body(r, "application/json; charset=UTF-8", out->body, out->len);
    case AFL_FLOW_FAILED:
    default:
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* ------------------------------------------------------------------ CAPTCHA image */

static const char *captcha_font(const afl_server_conf *sc)
{
    return sc->captcha_font ? sc->captcha_font : AFL_DEFAULT_CAPTCHA_FONT;
}

/* /captcha/<id>.png: the image of a CAPTCHA id (no database, no session). */
static int captcha_png(afl_req *q, const char *file)
{
    const unsigned char *png;
    const char *id;
    size_t len, n = strlen(file);
    long long expires;

    if (n <= 4 || strcmp(file + n - 4, ".png"))
        return HTTP_NOT_FOUND;
    id = apr_pstrmemdup(q->r->pool, file, n - 4);
    if (afl_captcha_check_id(q->sc->secret, q->sc->secret_len, id,
                             apr_time_from_sec(apr_time_sec(q->r->request_time)),
                             &expires) != AFL_CAPTCHA_VALID)
        return HTTP_NOT_FOUND;
    if (afl_captcha_render(q->r->pool, q->sc->secret, q->sc->secret_len, id, captcha_font(q->sc),
                           &png, &len) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": cannot render a CAPTCHA image");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    no_store(q->r);
    return send_body(q->r, "image/png", png, len);
}

/* ------------------------------------------------------------------ routing */

#define ROUTE_FORM 1   /* read the urlencoded body first */
#define ROUTE_TOKEN 2  /* give the browser a session cookie (form pages) */
#define ROUTE_PREFIX 4 /* path is a prefix; the rest goes to the step as tail */
#define ROUTE_DOC 8    /* the step signs documents: it needs the public URL */

typedef struct {
    const char *path;
    int method; /* M_GET (HEAD too) or M_POST */
    afl_flow_step *step;
    int (*glue)(afl_req *q, const char *tail); /* instead of a step */
    int flags;
    afl_stats_route stat; /* its requests counter */
} afl_route;

static const afl_route routes[] = {
    {"", M_GET, afl_flow_inicio, NULL, 0, AFL_STATS_R_INICIO},
    {"/", M_GET, afl_flow_inicio, NULL, 0, AFL_STATS_R_INICIO},
    {"/nss", M_GET, afl_flow_nss_form, NULL, ROUTE_TOKEN, AFL_STATS_R_NSS_FORM},
    {"/nss", M_POST, afl_flow_nss_submit, NULL, ROUTE_FORM, AFL_STATS_R_NSS_SUBMIT},
    {"/domicilio", M_GET, afl_flow_domicilio, NULL, 0, AFL_STATS_R_DOMICILIO},
    {"/domicilio", M_POST, afl_flow_domicilio_submit, NULL, ROUTE_FORM,
     AFL_STATS_R_DOMICILIO_SUBMIT},
    {"/resultado", M_GET, afl_flow_resultado, NULL, 0, AFL_STATS_R_RESULTADO},
    {"/comprobante", M_GET, afl_flow_comprobante, NULL, ROUTE_DOC, AFL_STATS_R_COMPROBANTE},
    {"/tarjeta", M_GET, afl_flow_tarjeta, NULL, ROUTE_DOC, AFL_STATS_R_TARJETA},
    {"/reenviar", M_POST, afl_flow_reenviar, NULL, ROUTE_FORM, AFL_STATS_R_REENVIAR},
    {"/finalizar", M_POST, afl_flow_finalizar, NULL, ROUTE_FORM, AFL_STATS_R_FINALIZAR},
    {"/vigencia", M_GET, afl_flow_vigencia_form, NULL, ROUTE_TOKEN, AFL_STATS_R_VIGENCIA_FORM},
    {"/vigencia", M_POST, afl_flow_vigencia_submit, NULL, ROUTE_FORM, AFL_STATS_R_VIGENCIA_SUBMIT},
    {"/vigencia/resultado", M_GET, afl_flow_vigencia_resultado, NULL, 0,
     AFL_STATS_R_VIGENCIA_RESULTADO},
    {"/constancia", M_GET, afl_flow_constancia, NULL, ROUTE_DOC, AFL_STATS_R_CONSTANCIA},
    {"/verificar", M_GET, afl_flow_verificar, NULL, 0, AFL_STATS_R_VERIFICAR},
    {"/cp/", M_GET, afl_flow_cp, NULL, ROUTE_PREFIX, AFL_STATS_R_CP},
    {"/captcha/", M_GET, NULL, captcha_png, ROUTE_PREFIX, AFL_STATS_R_CAPTCHA},
    {NULL, 0, NULL, NULL, 0, AFL_STATS_R_OTHER},
};

static int route_matches(const afl_route *rt, const char *path, const char **tail)
{
    if (rt->flags & ROUTE_PREFIX) {
        size_t n = strlen(rt->path);
        *tail = path + n;
        return !strncmp(path, rt->path, n);
    }
    *tail = NULL;
    return !strcmp(path, rt->path);
}

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

static int run_route(afl_req *q, const afl_route *rt, const char *tail)
{
    afl_flow_env env;
    afl_flow_in in = {NULL, q->r->args, tail};
    afl_flow_out out;
    int rc;

    if (rt->glue)
        return rt->glue(q, tail);
    if ((rt->flags & ROUTE_FORM) && (rc = read_form(q, &in.form)) != OK)
        return rc == DONE ? OK : rc;
    if ((rt->flags & ROUTE_TOKEN) && !ensure_token(q)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, AFL_TAG ": no random bytes available");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    flow_env(q, &env, rt->flags & ROUTE_DOC);
    memset(&out, 0, sizeof out);
    rt->step(&env, &in, &out);
    return respond(q, &out);
}

int afl_handler(request_rec *r)
{
    afl_req q;
    const char *path, *tail;
    int get = 0, post = 0;

    if (!r->handler || strcmp(r->handler, "afiliate"))
        return DECLINED;

    memset(&q, 0, sizeof q);
    q.r = r;
    q.sc = ap_get_module_config(r->server->module_config, &afiliate_module);
    q.dc = ap_get_module_config(r->per_dir_config, &afiliate_module);
    security_headers(r);

    if (!q.sc->templates || !q.sc->secret) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      AFL_TAG ": not configured for this server (AfiliateTemplateDir and "
                              "AfiliateSecretFile are required)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    afl_status_enter(q.sc->stats);
    path = route_path(r, q.dc, &q.base);
    if (!path) {
        afl_stats_route_hit(q.sc->stats, AFL_STATS_R_OTHER);
        return HTTP_NOT_FOUND;
    }
    for (const afl_route *rt = routes; rt->path; rt++) {
        if (!route_matches(rt, path, &tail))
            continue;
        if (rt->method == r->method_number) {
            q.route = rt->stat;
            afl_stats_route_hit(q.sc->stats, rt->stat);
            read_session_cookie(&q);
            return run_route(&q, rt, tail);
        }
        get |= rt->method == M_GET;
        post |= rt->method == M_POST;
    }
    afl_stats_route_hit(q.sc->stats, AFL_STATS_R_OTHER);
    if (!get && !post)
        return HTTP_NOT_FOUND;
    /* A known path, another method: 405 with the methods it has. */
    if (get && post)
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "POST", NULL);
    else
        ap_allow_methods(r, REPLACE_ALLOW, get ? "GET" : "POST", NULL);
    return HTTP_METHOD_NOT_ALLOWED;
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
    rv = afl_tpl_load(pconf, sc->template_dir, afl_flow_templates, &sc->templates, &err);
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
