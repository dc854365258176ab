/* afl_stats: operating counters and their mod_status rendering (afl_stats.h). */
#include "afl_stats.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

static const char *const route_keys[AFL_STATS_ROUTES] = {
    [AFL_STATS_R_INICIO] = "AfiliateRequestsInicio",
    [AFL_STATS_R_NSS_FORM] = "AfiliateRequestsNssForm",
    [AFL_STATS_R_NSS_SUBMIT] = "AfiliateRequestsNssSubmit",
    [AFL_STATS_R_DOMICILIO] = "AfiliateRequestsDomicilio",
    [AFL_STATS_R_DOMICILIO_SUBMIT] = "AfiliateRequestsDomicilioSubmit",
    [AFL_STATS_R_RESULTADO] = "AfiliateRequestsResultado",
    [AFL_STATS_R_COMPROBANTE] = "AfiliateRequestsComprobante",
    [AFL_STATS_R_TARJETA] = "AfiliateRequestsTarjeta",
    [AFL_STATS_R_REENVIAR] = "AfiliateRequestsReenviar",
    [AFL_STATS_R_FINALIZAR] = "AfiliateRequestsFinalizar",
    [AFL_STATS_R_VIGENCIA_FORM] = "AfiliateRequestsVigenciaForm",
    [AFL_STATS_R_VIGENCIA_SUBMIT] = "AfiliateRequestsVigenciaSubmit",
    [AFL_STATS_R_VIGENCIA_RESULTADO] = "AfiliateRequestsVigenciaResultado",
    [AFL_STATS_R_CONSTANCIA] = "AfiliateRequestsConstancia",
    [AFL_STATS_R_VERIFICAR] = "AfiliateRequestsVerificar",
    [AFL_STATS_R_CP] = "AfiliateRequestsCp",
    [AFL_STATS_R_CAPTCHA] = "AfiliateRequestsCaptcha",
    [AFL_STATS_R_CONFIRMAR] = "AfiliateRequestsConfirmar",
    [AFL_STATS_R_OTHER] = "AfiliateRequestsOther",
};

static const char *const counter_keys[AFL_STATS_COUNTERS] = {
    [AFL_STATS_LOCATED] = "AfiliateLocated",
    [AFL_STATS_NEW_CURP] = "AfiliateNewCurp",
    [AFL_STATS_ASSIGNED] = "AfiliateAssigned",
    [AFL_STATS_REFUSED_CAPTCHA] = "AfiliateRefusedCaptcha",
    [AFL_STATS_REFUSED_RATE] = "AfiliateRefusedRateLimit",
    [AFL_STATS_INVALID_CURP] = "AfiliateInvalidCurp",
    [AFL_STATS_NOT_IN_REGISTRY] = "AfiliateNotInRegistry",
    [AFL_STATS_IDENTITY_UNAVAILABLE] = "AfiliateIdentityUnavailable",
    [AFL_STATS_PDF_COMPROBANTE] = "AfiliatePdfComprobante",
    [AFL_STATS_PDF_TARJETA] = "AfiliatePdfTarjeta",
    [AFL_STATS_PDF_CONSTANCIA] = "AfiliatePdfConstancia",
    [AFL_STATS_MAIL_SENT] = "AfiliateMailSent",
    [AFL_STATS_MAIL_RETRY] = "AfiliateMailRetrying",
    [AFL_STATS_MAIL_FAILED] = "AfiliateMailFailed",
    [AFL_STATS_DB_ERRORS] = "AfiliateDbErrors",
    [AFL_STATS_DB_CALLS] = "AfiliateDbCalls",
    [AFL_STATS_DB_USEC] = "AfiliateDbMicroseconds",
};

/* Section headings of the HTML table: the first counter of each group. */
static const char *group_heading(afl_stats_counter c)
{
    switch (c) {
    case AFL_STATS_LOCATED:
        return "Paso 1 outcomes";
    case AFL_STATS_PDF_COMPROBANTE:
        return "Documents served";
    case AFL_STATS_MAIL_SENT:
        return "E-mail (outbox sender)";
    case AFL_STATS_DB_ERRORS:
        return "Database";
    default:
        return NULL;
    }
}

void afl_stats_init(afl_stats *s, apr_time_t started)
{
    memset(s, 0, sizeof *s);
    s->magic = AFL_STATS_MAGIC;
    s->version = AFL_STATS_VERSION;
    s->started = started;
}

int afl_stats_valid(const afl_stats *s)
{
    return s && s->magic == AFL_STATS_MAGIC && s->version == AFL_STATS_VERSION;
}

static void word_add(volatile afl_stats_word *w, apr_uint64_t n)
{
#if AFL_STATS_64
    apr_atomic_add64(w, n);
#else
    apr_atomic_add32(w, (apr_uint32_t)n);
#endif
}

static apr_uint64_t word_read(const volatile afl_stats_word *w)
{
#if AFL_STATS_64
    return apr_atomic_read64((volatile apr_uint64_t *)w);
#else
    return apr_atomic_read32((volatile apr_uint32_t *)w);
#endif
}

void afl_stats_route_hit(afl_stats *s, afl_stats_route r)
{
    if (s && (unsigned)r < AFL_STATS_ROUTES)
        word_add(&s->route[r], 1);
}

void afl_stats_add(afl_stats *s, afl_stats_counter c, apr_uint64_t n)
{
    if (s && (unsigned)c < AFL_STATS_COUNTERS && n)
        word_add(&s->counter[c], n);
}

void afl_stats_db_call(afl_stats *s, apr_interval_time_t usec)
{
    if (!s)
        return;
    word_add(&s->counter[AFL_STATS_DB_CALLS], 1);
    if (usec > 0)
        word_add(&s->counter[AFL_STATS_DB_USEC], (apr_uint64_t)usec);
}

apr_uint64_t afl_stats_route_get(const afl_stats *s, afl_stats_route r)
{
    return s && (unsigned)r < AFL_STATS_ROUTES ? word_read(&s->route[r]) : 0;
}

apr_uint64_t afl_stats_get(const afl_stats *s, afl_stats_counter c)
{
    return s && (unsigned)c < AFL_STATS_COUNTERS ? word_read(&s->counter[c]) : 0;
}

const char *afl_stats_route_key(afl_stats_route r)
{
    return (unsigned)r < AFL_STATS_ROUTES ? route_keys[r] : "AfiliateRequestsUnknown";
}

const char *afl_stats_counter_key(afl_stats_counter c)
{
    return (unsigned)c < AFL_STATS_COUNTERS ? counter_keys[c] : "AfiliateUnknown";
}

static long long uptime(const afl_stats *s, apr_time_t now)
{
    return s && s->started && now > s->started ? (long long)apr_time_sec(now - s->started) : 0;
}

/* Only the host:port text of a server name is printed; anything else is
 * replaced (it comes from the configuration, never from a request). */
static const char *clean_server(apr_pool_t *p, const char *server)
{
    char *out = apr_pstrdup(p, server && *server ? server : "-");
    for (char *c = out; *c; c++)
        if (!apr_isalnum(*c) && !strchr(".-:[]_", *c))
            *c = '_';
    return out;
}

const char *afl_stats_format_auto(apr_pool_t *p, const afl_stats *s, const afl_stats_live *live,
                                  const char *server, apr_time_t now)
{
    const char *out = apr_psprintf(p, "AfiliateServer: %s\nAfiliateUptime: %" APR_INT64_T_FMT "\n",
                                   clean_server(p, server), (apr_int64_t)uptime(s, now));

    for (int r = 0; r < AFL_STATS_ROUTES; r++)
        out = apr_psprintf(p, "%s%s: %" APR_UINT64_T_FMT "\n", out, route_keys[r],
                           afl_stats_route_get(s, (afl_stats_route)r));
    for (int c = 0; c < AFL_STATS_COUNTERS; c++)
        out = apr_psprintf(p, "%s%s: %" APR_UINT64_T_FMT "\n", out, counter_keys[c],
                           afl_stats_get(s, (afl_stats_counter)c));
    return apr_psprintf(p,
                        "%sAfiliateMailPending: %" APR_INT64_T_FMT
                        "\nAfiliateMailOldestPendingAge: %" APR_INT64_T_FMT "\n",
                        out, (apr_int64_t)(live && live->known ? live->pending : -1),
                        (apr_int64_t)(live && live->known ? live->oldest_age : -1));
}

static const char *row(apr_pool_t *p, const char *out, const char *key, const char *value)
{
    return apr_pstrcat(p, out, "<tr><td>", key, "</td><td>", value, "</td></tr>\n", NULL);
}

static const char *num(apr_pool_t *p, apr_uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, v);
}

static const char *heading(apr_pool_t *p, const char *out, const char *text)
{
    return apr_pstrcat(p, out, "<tr><th colspan=\"2\">", text, "</th></tr>\n", NULL);
}

const char *afl_stats_format_html(apr_pool_t *p, const afl_stats *s, const afl_stats_live *live,
                                  const char *server, apr_time_t now)
{
    const char *out = apr_pstrcat(p, "<h2>Afiliate</h2>\n<table class=\"afiliate\">\n", NULL);
    const char *unknown = "unknown (database unreadable)";

    out = row(p, out, "Server", clean_server(p, server));
    out = row(p, out, "Counting for (seconds)",
              apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)uptime(s, now)));
    out = heading(p, out, "Requests by route");
    for (int r = 0; r < AFL_STATS_ROUTES; r++)
        out = row(p, out, route_keys[r], num(p, afl_stats_route_get(s, (afl_stats_route)r)));
    for (int c = 0; c < AFL_STATS_COUNTERS; c++) {
        const char *h = group_heading((afl_stats_counter)c);
        if (h)
            out = heading(p, out, h);
        out = row(p, out, counter_keys[c], num(p, afl_stats_get(s, (afl_stats_counter)c)));
        if (c == AFL_STATS_MAIL_FAILED) {
            out = row(p, out, "AfiliateMailPending",
                      live && live->known
                          ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)live->pending)
                          : unknown);
            out = row(p, out, "AfiliateMailOldestPendingAge",
                      live && live->known
                          ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)live->oldest_age)
                          : unknown);
        }
    }
    return apr_pstrcat(p, out, "</table>\n", NULL);
}
