/* afl_smtp: hands one ready-made message to an SMTP relay with libcurl.
 *
 * Pure unit (APR + libcurl). The message text (afl_mime_build) is uploaded
 * as it is (CURLOPT_UPLOAD + CURLOPT_READFUNCTION), so its headers are never
 * rewritten; libcurl adds the SMTP dot-stuffing and the final ".".
 *
 * TLS: smtps:// is TLS from the first byte. For smtp://, require_tls selects
 * CURLUSESSL_ALL (STARTTLS is mandatory: a relay that does not offer it, or a
 * failed handshake, is a temporary failure and nothing is sent in clear);
 * without it CURLUSESSL_TRY (STARTTLS when offered, plain otherwise; meant for
 * a loopback sink). Certificates are always verified, against ca_file or
 * the system store.
 *
 * Results are classified as RFC 5321 asks: a 2xx after the data is "sent";
 * 4xx replies, connection failures, timeouts, a connection dropped before the
 * final reply, TLS and authentication problems (530, 535: configuration of
 * our side, not of the recipient) are "temporary"; other 5xx replies to MAIL,
 * RCPT or DATA are "permanent".
 *
 * Thread safety: afl_smtp_global_init() before threads start; one session per
 * thread. */
#ifndef AFL_SMTP_H
#define AFL_SMTP_H

#include <stddef.h>

#include <apr_pools.h>

typedef struct {
    const char *url;         /* smtp://host[:port][/helo-name] or smtps://... */
    int require_tls;         /* smtp:// only: STARTTLS is mandatory */
    const char *username;    /* NULL: no authentication */
    const char *password;    /* with username */
    const char *ca_file;     /* PEM CA bundle for the relay's certificate; NULL: system store */
    long connect_timeout_ms; /* 0: 10000 */
    long timeout_ms;         /* whole transaction; 0: 60000 */
} afl_smtp_conf;

typedef enum {
    AFL_SMTP_SENT = 0,
    AFL_SMTP_TEMPFAIL = 1,
    AFL_SMTP_PERMFAIL = 2,
} afl_smtp_result;

/* curl_global_init (once; later calls only count). 0 on success. */
int afl_smtp_global_init(void);
/* Balances afl_smtp_global_init; the last call runs curl_global_cleanup. */
void afl_smtp_global_cleanup(void);

/* 1 if url is an smtp:// or smtps:// URL with a host and nothing libcurl
 * could misread (no spaces or control characters, no user info); otherwise 0
 * and *why (if not NULL) says why, in English. */
int afl_smtp_url_ok(const char *url, const char **why);

/* Reads a credentials file: one line "user:password" (the password may hold
 * ':'; a trailing newline is ignored). 0 on success; otherwise non-zero and
 * *err tells why (never quoting the file's content). */
int afl_smtp_read_credentials(apr_pool_t *p, const char *path, const char **user,
                              const char **password, const char **err);

/* A session keeps one connection open across messages. Lives in p (closed by
 * its cleanup, or afl_smtp_close). NULL if libcurl cannot make a handle. */
typedef struct afl_smtp afl_smtp;
afl_smtp *afl_smtp_open(apr_pool_t *p, const afl_smtp_conf *conf);
void afl_smtp_close(afl_smtp *s);

/* Sends msg[0..len) from `from` to `to` (bare addresses, checked with
 * afl_mime_address_ok). *code gets the last SMTP reply code (0 when there was
 * none). err gets a short English description without personal data. */
afl_smtp_result afl_smtp_send(afl_smtp *s, const char *from, const char *to, const char *msg,
                              size_t len, int *code, char *err, size_t errlen);

#endif
