/* afl_stats: the module's operating counters, in a fixed layout that lives in
 * shared memory (the httpd glue creates it; every child increments it) and
 * their rendering as mod_status "Key: value" lines and as an HTML table.
 *
 * Only counts and times are kept: no CURP, NSS, e-mail address, name or client
 * address can ever reach this unit. Increments are lock-free (apr_atomic):
 * 64-bit words when APR has 64-bit atomics, else 32-bit ones that wrap. */
#ifndef AFL_STATS_H
#define AFL_STATS_H

#include <apr_atomic.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <apr_version.h>

#if APR_VERSION_AT_LEAST(1, 7, 0)
#define AFL_STATS_64 1
typedef apr_uint64_t afl_stats_word;
#else
#define AFL_STATS_64 0
typedef apr_uint32_t afl_stats_word;
#endif

/* Routes of the handler (method + path), for the requests counters. */
typedef enum {
    AFL_STATS_R_INICIO = 0,
    AFL_STATS_R_NSS_FORM,
    AFL_STATS_R_NSS_SUBMIT,
    AFL_STATS_R_DOMICILIO,
    AFL_STATS_R_DOMICILIO_SUBMIT,
    AFL_STATS_R_RESULTADO,
    AFL_STATS_R_COMPROBANTE,
    AFL_STATS_R_TARJETA,
    AFL_STATS_R_REENVIAR,
    AFL_STATS_R_FINALIZAR,
    AFL_STATS_R_VIGENCIA_FORM,
    AFL_STATS_R_VIGENCIA_SUBMIT,
    AFL_STATS_R_VIGENCIA_RESULTADO,
    AFL_STATS_R_CONSTANCIA,
    AFL_STATS_R_VERIFICAR,
    AFL_STATS_R_CP,
    AFL_STATS_R_CAPTCHA,
    AFL_STATS_R_CONFIRMAR, /* GET /confirmar: the e-mail confirmation link */
    AFL_STATS_R_OTHER,     /* no route: 404 or 405 */
    AFL_STATS_ROUTES
} afl_stats_route;

/* Everything else that is counted. */
typedef enum {
    /* Paso 1 outcomes */
    AFL_STATS_LOCATED = 0,          /* an existing NSS was found */
    AFL_STATS_NEW_CURP,             /* no NSS yet: the student went on to the address */
    AFL_STATS_ASSIGNED,             /* a new NSS was assigned */
    AFL_STATS_REFUSED_CAPTCHA,      /* wrong, expired or reused CAPTCHA */
    AFL_STATS_REFUSED_RATE,         /* a form refused by AfiliateRateLimit (429) */
    AFL_STATS_INVALID_CURP,         /* the CURP's format or check digit is wrong */
    AFL_STATS_NOT_IN_REGISTRY,      /* the CURP is unknown to the registry or inactive */
    AFL_STATS_IDENTITY_UNAVAILABLE, /* the identity registry could not be read (503) */
    /* documents served */
    AFL_STATS_PDF_COMPROBANTE,
    AFL_STATS_PDF_TARJETA,
    AFL_STATS_PDF_CONSTANCIA,
    /* the outbox sender */
    AFL_STATS_MAIL_SENT,
    AFL_STATS_MAIL_RETRY,
    AFL_STATS_MAIL_FAILED,
    /* the database */
    AFL_STATS_DB_ERRORS,
    AFL_STATS_DB_CALLS,
    AFL_STATS_DB_USEC, /* summed latency of the calls, microseconds */
    AFL_STATS_COUNTERS
} afl_stats_counter;

#define AFL_STATS_MAGIC 0x41464c53u /* "AFLS" */
#define AFL_STATS_VERSION 1u

/* The shared segment of one server. Plain words, no pointer: every process
 * may map it at its own address. */
typedef struct afl_stats {
    apr_uint32_t magic, version;
    apr_time_t started; /* when the counters started (kept across graceful restarts) */
    volatile afl_stats_word route[AFL_STATS_ROUTES];
    volatile afl_stats_word counter[AFL_STATS_COUNTERS];
} afl_stats;

/* Zeroes s and stamps it with started. */
void afl_stats_init(afl_stats *s, apr_time_t started);
/* 1 when s carries this build's layout (a segment kept across a restart by an
 * older module must be made anew). */
int afl_stats_valid(const afl_stats *s);

/* Lock-free increments; s may be NULL (then nothing is counted). */
void afl_stats_route_hit(afl_stats *s, afl_stats_route r);
void afl_stats_add(afl_stats *s, afl_stats_counter c, apr_uint64_t n);
static inline void afl_stats_inc(afl_stats *s, afl_stats_counter c)
{
    afl_stats_add(s, c, 1);
}
/* One database call that took usec microseconds. */
void afl_stats_db_call(afl_stats *s, apr_interval_time_t usec);

apr_uint64_t afl_stats_route_get(const afl_stats *s, afl_stats_route r);
apr_uint64_t afl_stats_get(const afl_stats *s, afl_stats_counter c);

/* The keys used in both outputs. */
const char *afl_stats_route_key(afl_stats_route r);     /* "AfiliateRequestsNssSubmit" */
const char *afl_stats_counter_key(afl_stats_counter c); /* "AfiliateLocated" */

/* What is read from the database at the time of the report: the outbox
 * backlog. known 0: the database could not be read (both shown as -1). */
typedef struct {
    int known;
    long long pending;    /* rows pending or being sent */
    long long oldest_age; /* seconds since the oldest of them was queued; 0 when none */
} afl_stats_live;

/* mod_status's ?auto form: one "Key: value" line per figure, each ending in
 * "\n", beginning with "AfiliateServer: <server>" (server: "host:port", no
 * personal data). */
const char *afl_stats_format_auto(apr_pool_t *p, const afl_stats *s, const afl_stats_live *live,
                                  const char *server, apr_time_t now);
/* The same figures as an HTML table with a heading (server HTML-escaped). */
const char *afl_stats_format_html(apr_pool_t *p, const afl_stats *s, const afl_stats_live *live,
                                  const char *server, apr_time_t now);

#endif
