/* afl_renapo: the RENAPO web service client (see afl_renapo.h, docs/renapo.md).
 *
 * The JSON is read with jansson (Debian's libjansson): it rejects invalid
 * UTF-8, duplicate keys (JSON_REJECT_DUPLICATES) and trailing garbage, which a
 * parser of our own would have to get right by hand. */
#include "afl_renapo.h"
#include "afl_curp.h"
#include "afl_log.h"
#include "afl_vigencia.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ the answer */

static const char *const statuses[] = {"AN",  "AH",  "CRA", "RCN", "RCC", "BD",  "BDA",
                                       "BCC", "BCN", "BAP", "BSU", "BDM", "BDP", "BJD"};

static int known_status(const char *s)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (!strcmp(s, statuses[i]))
            return 1;
    return 0;
}

/* A name part: 1..120 bytes (jansson already checked the UTF-8), no control character. */
static int name_ok(const char *s, int may_be_empty)
{
    size_t n = strlen(s);
    if ((!n && !may_be_empty) || n > 120)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int json_type_ok(const char *ctype)
{
    size_t n = strlen("application/json");
    if (!ctype || strncasecmp(ctype, "application/json", n))
        return 0;
    return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

static const char *str_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* RENAPO's "DD/MM/AAAA" -> "YYYY-MM-DD"; NULL if not a real date. */
static const char *iso_date(apr_pool_t *p, const char *s)
{
    int day;
    const char *iso;

    if (strlen(s) != 10 || s[2] != '/' || s[5] != '/')
        return NULL;
    iso = apr_psprintf(p, "%.4s-%.2s-%.2s", s + 6, s + 3, s);
    return afl_vigencia_parse_date(iso, &day) == 0 ? iso : NULL;
}

void afl_renapo_global_init(void)
{
    json_object_seed(0);
}

static afl_renapo_result fail(const char **why, const char *reason)
{
    *why = reason;
    return AFL_RENAPO_ERROR;
}

afl_renapo_result afl_renapo_parse(apr_pool_t *p, const char *curp, long status, const char *ctype,
                                   const char *body, size_t len, afl_persona *out, const char **why)
{
    json_error_t jerr;
    json_t *root, *enc;
    const char *v, *nombres, *ap1, *ap2, *fecha, *sexo, *ent, *st;
    afl_renapo_result r;

    if (status != 200 && status != 404)
        return fail(why, status >= 500 ? "server error (5xx)" : "unexpected HTTP status");
    /* A 404 that is not the service's JSON (a wrong URL, a proxy's page) is a
     * fault, not "this CURP does not exist". */
    if (!json_type_ok(ctype))
        return fail(why, "wrong content type");
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(why, "malformed JSON");
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(why, "JSON answer is not an object");
    }
    v = str_field(root, "curp");
    if (!v || strcmp(v, curp)) {
        json_decref(root);
        return fail(why, "answer is about another CURP");
    }
    enc = json_object_get(root, "encontrado");
    if (enc && !json_is_boolean(enc)) {
        json_decref(root);
        return fail(why, "'encontrado' is not a boolean");
    }
    if (status == 404 || (enc && json_is_false(enc))) {
        r = status == 200 && json_object_get(root, "nombres")
                ? fail(why, "not found but with a person")
                : AFL_RENAPO_NOTFOUND;
        json_decref(root);
        return r;
    }
    nombres = str_field(root, "nombres");
    ap1 = str_field(root, "primerApellido");
    ap2 = str_field(root, "segundoApellido");
    fecha = str_field(root, "fechaNacimiento");
    sexo = str_field(root, "sexo");
    ent = str_field(root, "claveEntidad");
    st = str_field(root, "statusCurp");
    r = AFL_RENAPO_FOUND;
    if (!nombres || !ap1 || !fecha || !sexo || !ent || !st)
        r = fail(why, "a field is missing or not a string");
    else if (json_object_get(root, "segundoApellido") && !ap2 &&
             !json_is_null(json_object_get(root, "segundoApellido")))
        r = fail(why, "'segundoApellido' is not a string");
    else if (!name_ok(nombres, 0) || !name_ok(ap1, 0) || (ap2 && !name_ok(ap2, 1)))
        r = fail(why, "a name is empty, too long or has control characters");
    else if (strcmp(sexo, "H") && strcmp(sexo, "M") && strcmp(sexo, "X"))
        r = fail(why, "'sexo' is not H, M or X");
    else if (strlen(ent) != 2 || !afl_curp_state_name(ent))
        r = fail(why, "'claveEntidad' is not a state code");
    else if (!known_status(st))
        r = fail(why, "'statusCurp' is not a known status");
    else if (!(out->fecha_nacimiento = iso_date(p, fecha)))
        r = fail(why, "'fechaNacimiento' is not a DD/MM/AAAA date");
    if (r == AFL_RENAPO_FOUND) {
        out->nombres = apr_pstrdup(p, nombres);
        out->primer_apellido = apr_pstrdup(p, ap1);
        out->segundo_apellido = apr_pstrdup(p, ap2 ? ap2 : "");
        out->sexo = sexo[0];
        out->entidad = apr_pstrdup(p, ent);
        out->status_curp = apr_pstrdup(p, st);
    }
    json_decref(root);
    return r;
}

/* ------------------------------------------------------------------ one request */

static volatile apr_uint32_t requests;

unsigned long afl_renapo_requests(void)
{
    return apr_atomic_read32(&requests);
}

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void handle_key_make(void)
{
    pthread_key_create(&handle_key, handle_free);
}

/* This thread's handle: made once, reset between requests (curl_easy_reset
 * keeps the open connections, so the next request reuses one). */
static CURL *thread_handle(void)
{
    CURL *h;

    pthread_once(&handle_once, handle_key_make);
    h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

typedef struct {
    char buf[AFL_RENAPO_MAX_BODY];
    size_t len;
    int oversized;
} body_buf;

static size_t on_body(char *data, size_t size, size_t n, void *baton)
{
    body_buf *b = baton;
    size_t len = size * n;

    if (len > sizeof b->buf - b->len) {
        b->oversized = 1;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    return len;
}

static const char *curl_why(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot connect";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
        return "TLS failure";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "connection reset";
    default:
        return "request failed";
    }
}

afl_renapo_result afl_renapo_fetch(apr_pool_t *p, const afl_renapo_conf *c, const char *curp,
                                   afl_persona *out, const char **why)
{
    CURL *h = thread_handle();
    struct curl_slist *hdrs = NULL;
    body_buf *b;
    CURLcode rc;
    long status = 0;
    char *ctype = NULL;
    const char *url;
    afl_renapo_result r;

    if (!h)
        return fail(why, "no curl handle");
    b = apr_palloc(p, sizeof *b);
    b->len = 0;
    b->oversized = 0;
    url = apr_pstrcat(p, c->url, c->url[strlen(c->url) - 1] == '/' ? "" : "/", curp, NULL);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (c->bearer)
        hdrs = curl_slist_append(hdrs, apr_pstrcat(p, "Authorization: Bearer ", c->bearer, NULL));
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca.data) {
        struct curl_blob ca = {(void *)c->ca.data, c->ca.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (c->cert.data) {
        struct curl_blob cert = {(void *)c->cert.data, c->cert.len, CURL_BLOB_NOCOPY};
        struct curl_blob key = {(void *)c->key.data, c->key.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, c->key.data ? &key : &cert);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (c->userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_afiliate");
    apr_atomic_inc32(&requests);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
        r = afl_renapo_parse(p, curp, status, ctype, b->buf, b->len, out, why);
    } else
        r = fail(why, b->oversized ? "oversized body" : curl_why(rc));
    /* The handle must not keep pointers into this request's pool. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return r;
}

/* ------------------------------------------------------------------ one request per CURP */

#define INFLIGHT_SLOTS 64
#define NAME_MAX_BYTES 121

typedef struct {
    int busy, done, waiters;
    char curp[19];
    afl_renapo_result r;
    const char *why; /* a static string */
    char nombres[NAME_MAX_BYTES], ap1[NAME_MAX_BYTES], ap2[NAME_MAX_BYTES];
    char fecha[11], entidad[3], status[4], sexo;
} inflight;

static inflight slots[INFLIGHT_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cv = PTHREAD_COND_INITIALIZER;

static void copy_out(apr_pool_t *p, const inflight *s, afl_persona *out, const char **why)
{
    *why = s->why;
    if (s->r != AFL_RENAPO_FOUND)
        return;
    out->nombres = apr_pstrdup(p, s->nombres);
    out->primer_apellido = apr_pstrdup(p, s->ap1);
    out->segundo_apellido = apr_pstrdup(p, s->ap2);
    out->fecha_nacimiento = apr_pstrdup(p, s->fecha);
    out->entidad = apr_pstrdup(p, s->entidad);
    out->status_curp = apr_pstrdup(p, s->status);
    out->sexo = s->sexo;
}

static void copy_in(inflight *s, afl_renapo_result r, const afl_persona *per, const char *why)
{
    s->r = r;
    s->why = why;
    if (r != AFL_RENAPO_FOUND)
        return;
    apr_cpystrn(s->nombres, per->nombres, sizeof s->nombres);
    apr_cpystrn(s->ap1, per->primer_apellido, sizeof s->ap1);
    apr_cpystrn(s->ap2, per->segundo_apellido, sizeof s->ap2);
    apr_cpystrn(s->fecha, per->fecha_nacimiento, sizeof s->fecha);
    apr_cpystrn(s->entidad, per->entidad, sizeof s->entidad);
    apr_cpystrn(s->status, per->status_curp, sizeof s->status);
    s->sexo = per->sexo;
}

afl_renapo_result afl_renapo_ask(apr_pool_t *p, const afl_renapo_conf *c, const char *curp,
                                 afl_persona *out, const char **why, int *leader)
{
    inflight *mine = NULL, *free_slot = NULL;
    afl_renapo_result r;

    pthread_mutex_lock(&slots_mu);
    for (int i = 0; i < INFLIGHT_SLOTS; i++) {
        inflight *s = &slots[i];
        if (s->busy && !strcmp(s->curp, curp)) {
            /* Another thread is asking: wait for its answer (bounded by its timeout). */
            s->waiters++;
            while (!s->done)
                pthread_cond_wait(&slots_cv, &slots_mu);
            copy_out(p, s, out, why);
            r = s->r;
            if (--s->waiters == 0)
                s->busy = 0;
            pthread_mutex_unlock(&slots_mu);
            *leader = 0;
            return r;
        }
        if (!s->busy && !free_slot)
            free_slot = s;
    }
    if (free_slot) {
        mine = free_slot;
        mine->busy = 1;
        mine->done = 0;
        mine->waiters = 0;
        apr_cpystrn(mine->curp, curp, sizeof mine->curp);
    }
    pthread_mutex_unlock(&slots_mu);

    /* Every slot busy (many different CURPs at once): ask without sharing. */
    *leader = 1;
    r = afl_renapo_fetch(p, c, curp, out, why);
    if (!mine)
        return r;
    pthread_mutex_lock(&slots_mu);
    copy_in(mine, r, out, *why);
    mine->done = 1;
    if (mine->waiters == 0)
        mine->busy = 0;
    else
        pthread_cond_broadcast(&slots_cv);
    pthread_mutex_unlock(&slots_mu);
    return r;
}

/* ------------------------------------------------------------------ files read at start-up */

int afl_renapo_read_pem(apr_pool_t *p, const char *path, afl_renapo_pem *out, const char **err)
{
    char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return -1;
    }
    n = fread(buf, 1, sizeof buf, f);
    if (ferror(f) || n == sizeof buf || !memmem(buf, n, "-----BEGIN ", 11)) {
        fclose(f);
        memset(buf, 0, sizeof buf);
        *err = apr_psprintf(p, "%s is not a PEM file of at most 64 KiB", path);
        return -1;
    }
    fclose(f);
    out->data = apr_pmemdup(p, buf, n);
    out->len = n;
    memset(buf, 0, sizeof buf);
    return 0;
}

int afl_renapo_read_credentials(apr_pool_t *p, const char *path, const char **bearer,
                                const char **userpwd, const char **err)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    size_t n;

    *bearer = *userpwd = NULL;
    if (!f) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return -1;
    }
    if (!fgets(buf, sizeof buf, f)) {
        fclose(f);
        *err = apr_psprintf(p, "%s is empty", path);
        return -1;
    }
    fclose(f);
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20) {
            *err = apr_psprintf(p, "%s holds a control character", path);
            return -1;
        }
    if (!strncasecmp(buf, "Bearer ", 7) && buf[7]) {
        *bearer = apr_pstrdup(p, buf + 7);
        return 0;
    }
    if (strchr(buf, ':') && buf[0] != ':') {
        *userpwd = apr_pstrdup(p, buf);
        return 0;
    }
    *err = apr_psprintf(p, "%s: the first line must be 'Bearer TOKEN' or 'user:password'", path);
    memset(buf, 0, sizeof buf);
    return -1;
}
