/* afl_identity: where a CURP's identity comes from (AfiliateIdentitySource,
 * docs/renapo.md). The one seam the flow asks: it gives the same afl_persona
 * and status as afl_store_persona, so the rest of the flow does not change.
 *
 *   local         the registry mirror (renapo_persona), as always;
 *   remote        RENAPO's web service, through the answers recorded in the
 *                 database while fresh (AfiliateRenapoCacheTTL), behind the
 *                 circuit breaker; when RENAPO cannot answer: unavailable;
 *   remote+local  the same, but when RENAPO cannot answer the mirror does,
 *                 and the audit log says so ('identidad_local').
 *
 * Pure unit. The network request never runs inside a database transaction:
 * the answer is recorded afterwards, in a transaction of its own. */
#ifndef AFL_IDENTITY_H
#define AFL_IDENTITY_H

#include "afl_breaker.h"
#include "afl_renapo.h"
#include "afl_store.h"

typedef enum {
    AFL_IDENTITY_LOCAL = 0,
    AFL_IDENTITY_REMOTE = 1,
    AFL_IDENTITY_REMOTE_LOCAL = 2,
} afl_identity_mode;

typedef struct afl_identity {
    afl_identity_mode mode;
    afl_renapo_conf renapo;
    afl_breaker *breaker; /* shared by the server's processes; NULL: none */
    afl_breaker_conf breaker_conf;
    int cache_ttl; /* seconds an answer stays fresh; 0: always ask */
} afl_identity;

#define AFL_IDENTITY_DEFAULT_CACHE_TTL 86400

typedef enum {
    AFL_IDENTITY_SRC_LOCAL = 0,   /* the mirror answered */
    AFL_IDENTITY_SRC_CACHE,       /* a fresh recorded RENAPO answer */
    AFL_IDENTITY_SRC_RENAPO,      /* RENAPO answered now */
    AFL_IDENTITY_SRC_UNAVAILABLE, /* RENAPO could not answer and nothing else may */
} afl_identity_source;

/* AFL_STORE_OK (found, *out filled), AFL_STORE_NOTFOUND, or AFL_STORE_ERROR:
 * with *src AFL_IDENTITY_SRC_UNAVAILABLE RENAPO could not answer (the student
 * is told to try later), otherwise the database failed. id NULL: local.
 * curp_hmac: the audit pseudonym (remote modes only; may be NULL in local). */
afl_store_status afl_identity_lookup(apr_pool_t *p, afl_store *st, const afl_identity *id,
                                     const char *curp, const char *curp_hmac, long long now,
                                     afl_persona *out, afl_identity_source *src);

/* "local", "remote", "remote+local" -> mode; -1 otherwise. */
int afl_identity_mode_parse(const char *s);

#endif
