/* afl_smtp: SMTP submission with libcurl (see afl_smtp.h). */
#include "afl_smtp.h"
#include "afl_mime.h"

#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static volatile apr_uint32_t init_count;

int afl_smtp_global_init(void)
{
    /* The first caller initialises; the count lets nested users balance. */
    if (apr_atomic_inc32(&init_count) == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            apr_atomic_dec32(&init_count);
            return -1;
        }
    }
    return 0;
}

void afl_smtp_global_cleanup(void)
{
    if (apr_atomic_read32(&init_count) == 0)
        return;
    if (apr_atomic_dec32(&init_count) == 0)
        curl_global_cleanup();
}

int afl_smtp_url_ok(const char *url, const char **why)
{
    const char *host, *end;
    const char *w = NULL;

    if (!url || !*url)
        w = "empty URL";
    else if (strncasecmp(url, "smtp://", 7) && strncasecmp(url, "smtps://", 8))
        w = "the URL must start with smtp:// or smtps://";
    else {
        for (const char *s = url; *s; s++)
            if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
                w = "the URL contains spaces or control characters";
        host = strstr(url, "://") + 3;
        end = host + strcspn(host, "/?#");
        if (!w && end == host)
            w = "the URL has no host";
        else if (!w && memchr(host, '@', (size_t)(end - host)))
            w = "put credentials in AfiliateSMTPCredentials, not in the URL";
        else if (!w && (*host == ':'))
            w = "the URL has no host";
        else if (!w && (strchr(url, '?') || strchr(url, '#')))
            w = "the URL must not have a query or fragment";
    }
    if (why)
        *why = w;
    return w == NULL;
}

int afl_smtp_read_credentials(apr_pool_t *p, const char *path, const char **user,
                              const char **password, const char **err)
{
    apr_file_t *f;
    char buf[1024];
    apr_size_t n = sizeof buf - 1;
    apr_status_t rv;
    char *colon, *nl;

    *err = NULL;
    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        char e[120];
        *err = apr_psprintf(p, "cannot open %s: %s", path, apr_strerror(rv, e, sizeof e));
        return -1;
    }
    rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return -1;
    }
    buf[n] = '\0';
    if (n == sizeof buf - 1) {
        *err = apr_psprintf(p, "%s is too long (one line user:password expected)", path);
        return -1;
    }
    nl = strpbrk(buf, "\r\n");
    if (nl) {
        /* Only line breaks (and nothing else) may follow the first line. */
        if (nl[strspn(nl, "\r\n")] != '\0') {
            *err = apr_psprintf(p, "%s must hold a single line user:password", path);
            return -1;
        }
        *nl = '\0';
    }
    colon = strchr(buf, ':');
    if (!colon || colon == buf || !colon[1]) {
        *err = apr_psprintf(p, "%s must hold one line user:password", path);
        return -1;
    }
    for (const char *s = buf; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) {
            *err = apr_psprintf(p, "%s contains control characters", path);
            return -1;
        }
    *colon = '\0';
    *user = apr_pstrdup(p, buf);
    *password = apr_pstrdup(p, colon + 1);
    memset(buf, 0, sizeof buf);
    return 0;
}

struct afl_smtp {
    CURL *curl;
    afl_smtp_conf conf;
};

static apr_status_t smtp_cleanup(void *data)
{
    afl_smtp *s = data;
    if (s->curl) {
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
    }
    return APR_SUCCESS;
}

afl_smtp *afl_smtp_open(apr_pool_t *p, const afl_smtp_conf *conf)
{
    afl_smtp *s = apr_pcalloc(p, sizeof *s);

    s->conf = *conf;
    s->curl = curl_easy_init();
    if (!s->curl)
        return NULL;
    apr_pool_cleanup_register(p, s, smtp_cleanup, apr_pool_cleanup_null);
    return s;
}

void afl_smtp_close(afl_smtp *s)
{
    if (s)
        smtp_cleanup(s);
}

typedef struct {
    const char *data;
    size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    upload *u = userp;
    size_t room = size * nitems, n = u->len - u->off;

    if (n > room)
        n = room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return 1;
    default:
        return 0;
    }
}

afl_smtp_result afl_smtp_send(afl_smtp *s, const char *from, const char *to, const char *msg,
                              size_t len, int *code, char *err, size_t errlen)
{
    struct curl_slist *rcpt = NULL;
    upload u = {msg, len, 0};
    long reply = 0;
    CURLcode rc;
    afl_smtp_result result;
    char envelope_from[300], envelope_to[300];
    CURL *c = s ? s->curl : NULL;

    *code = 0;
    if (errlen)
        err[0] = '\0';
    if (!c) {
        snprintf(err, errlen, "no libcurl handle");
        return AFL_SMTP_TEMPFAIL;
    }
    if (!afl_mime_address_ok(from) || !afl_mime_address_ok(to)) {
        snprintf(err, errlen, "unusable envelope address");
        return AFL_SMTP_PERMFAIL;
    }
    snprintf(envelope_from, sizeof envelope_from, "<%s>", from);
    snprintf(envelope_to, sizeof envelope_to, "<%s>", to);
    rcpt = curl_slist_append(NULL, envelope_to);
    if (!rcpt) {
        snprintf(err, errlen, "out of memory");
        return AFL_SMTP_TEMPFAIL;
    }

    curl_easy_setopt(c, CURLOPT_URL, s->conf.url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     s->conf.connect_timeout_ms > 0 ? s->conf.connect_timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->conf.timeout_ms > 0 ? s->conf.timeout_ms : 60000L);
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     s->conf.require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->conf.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->conf.ca_file);
    if (s->conf.username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->conf.username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->conf.password ? s->conf.password : "");
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);

    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
    /* The list must not outlive this call: libcurl keeps only the pointer. */
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(c, CURLOPT_READDATA, NULL);
    curl_slist_free_all(rcpt);
    *code = (int)reply;

    if (rc == CURLE_OK) {
        result = AFL_SMTP_SENT;
    } else if (rc == CURLE_LOGIN_DENIED || is_tls_error(rc) || rc == CURLE_COULDNT_CONNECT ||
               rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT ||
               rc == CURLE_OUT_OF_MEMORY || rc == CURLE_UNSUPPORTED_PROTOCOL ||
               rc == CURLE_URL_MALFORMAT) {
        /* Our side (relay unreachable, TLS or authentication setup): retry. */
        result = AFL_SMTP_TEMPFAIL;
    } else if (reply == 530 || reply == 535 || reply == 538) {
        /* Authentication required or refused: our configuration, not the recipient. */
        result = AFL_SMTP_TEMPFAIL;
    } else if (reply >= 500 && reply <= 599) {
        result = AFL_SMTP_PERMFAIL;
    } else {
        /* 4xx, no reply, or a connection lost before the final reply. */
        result = AFL_SMTP_TEMPFAIL;
    }
    if (rc != CURLE_OK && errlen) {
        if (reply)
            snprintf(err, errlen, "%s (SMTP reply %ld)", curl_easy_strerror(rc), reply);
        else
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    }
    return result;
}
