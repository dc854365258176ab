/* afl_identity: the identity seam (see afl_identity.h, docs/renapo.md). */
#include "afl_identity.h"
#include "afl_log.h"

#include <string.h>

int afl_identity_mode_parse(const char *s)
{
    if (!strcmp(s, "local"))
        return AFL_IDENTITY_LOCAL;
    if (!strcmp(s, "remote"))
        return AFL_IDENTITY_REMOTE;
    if (!strcmp(s, "remote+local"))
        return AFL_IDENTITY_REMOTE_LOCAL;
    return -1;
}

/* A fresh recorded answer: AFL_STORE_OK or NOTFOUND with *fresh set; the
 * store's error otherwise. */
static afl_store_status recorded(apr_pool_t *p, afl_store *st, const afl_identity *id,
                                 const char *curp, long long now, afl_persona *out, int *fresh)
{
    int encontrado = 0;
    long long when = 0;
    afl_store_status s;

    *fresh = 0;
    if (id->cache_ttl <= 0)
        return AFL_STORE_NOTFOUND;
    s = afl_store_renapo_consulta(p, st, curp, &encontrado, &when);
    if (s != AFL_STORE_OK || now < when || now - when >= id->cache_ttl)
        return s == AFL_STORE_ERROR ? s : AFL_STORE_NOTFOUND;
    if (!encontrado) {
        *fresh = 1;
        return AFL_STORE_NOTFOUND;
    }
    /* A found answer was written into the mirror with it. */
    s = afl_store_persona(p, st, curp, out);
    if (s == AFL_STORE_OK)
        *fresh = 1;
    return s == AFL_STORE_ERROR ? s : AFL_STORE_OK;
}

static afl_store_status unavailable(apr_pool_t *p, afl_store *st, const afl_identity *id,
                                    const char *curp, const char *curp_hmac, long long now,
                                    const char *why, afl_persona *out, afl_identity_source *src)
{
    if (id->mode != AFL_IDENTITY_REMOTE_LOCAL) {
        *src = AFL_IDENTITY_SRC_UNAVAILABLE;
        return AFL_STORE_ERROR;
    }
    *src = AFL_IDENTITY_SRC_LOCAL;
    /* Which source answered, and why, without personal data. */
    if (afl_store_audit_later(p, st, now, "identidad_local", curp_hmac ? curp_hmac : "", why) !=
        AFL_STORE_OK)
        return AFL_STORE_ERROR;
    return afl_store_persona(p, st, curp, out);
}

afl_store_status afl_identity_lookup(apr_pool_t *p, afl_store *st, const afl_identity *id,
                                     const char *curp, const char *curp_hmac, long long now,
                                     afl_persona *out, afl_identity_source *src)
{
    afl_breaker_verdict verdict = AFL_BREAKER_ALLOW;
    afl_renapo_result r;
    afl_store_status s;
    const char *why = NULL;
    int fresh, leader = 0;

    *src = AFL_IDENTITY_SRC_LOCAL;
    if (!id || id->mode == AFL_IDENTITY_LOCAL)
        return afl_store_persona(p, st, curp, out);

    s = recorded(p, st, id, curp, now, out, &fresh);
    if (s == AFL_STORE_ERROR)
        return s;
    if (fresh) {
        *src = AFL_IDENTITY_SRC_CACHE;
        return s;
    }
    if (id->breaker)
        verdict = afl_breaker_allow(id->breaker, &id->breaker_conf, now);
    if (verdict == AFL_BREAKER_REFUSE)
        return unavailable(p, st, id, curp, curp_hmac, now, "breaker open", out, src);

    if (id->breaker && !afl_breaker_enter(id->breaker, &id->breaker_conf)) {
        /* A probe refused here is replaced after another cool-down. */
        return unavailable(p, st, id, curp, curp_hmac, now, "too many requests in flight", out,
                           src);
    }
    r = afl_renapo_ask(p, &id->renapo, curp, out, &why, &leader);
    if (id->breaker)
        afl_breaker_leave(id->breaker);
    if (id->breaker && (leader || verdict == AFL_BREAKER_PROBE)) {
        if (r == AFL_RENAPO_ERROR)
            afl_breaker_failure(id->breaker, &id->breaker_conf, now);
        else
            afl_breaker_success(id->breaker, &id->breaker_conf, now);
    }
    if (r == AFL_RENAPO_ERROR) {
        if (leader)
            afl_log(AFL_LOG_WARN, AFL_LOGNO(00015) "RENAPO did not answer usably: %s", why);
        return unavailable(p, st, id, curp, curp_hmac, now, why, out, src);
    }
    *src = AFL_IDENTITY_SRC_RENAPO;
    /* The one who asked records the answer, after the request, in its own
     * transaction. The later steps read the person from the mirror, so an
     * answer that could not be recorded is a database failure (503). */
    if (leader && afl_store_renapo_record(p, st, curp, r == AFL_RENAPO_FOUND ? out : NULL, now,
                                          curp_hmac ? curp_hmac : "") != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    return r == AFL_RENAPO_FOUND ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}
