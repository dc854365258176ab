/* mod_afiliate: the RENAPO web service settings and the circuit breaker's
 * shared memory (httpd glue; the client is afl_renapo, the seam afl_identity,
 * the breaker afl_breaker; docs/renapo.md). */
#ifndef MOD_AFILIATE_RENAPO_H
#define MOD_AFILIATE_RENAPO_H

#include "httpd.h"

#include "mod_afiliate_config.h"

/* check_config, for one server: refuses remote without AfiliateRenapoURL,
 * reads the credentials file (as root), and builds sc->identity. 0 on a
 * configuration error (logged). */
int afl_renapo_configure(apr_pool_t *pconf, server_rec *s, afl_server_conf *sc);

/* post_config: one anonymous shared segment per remote server for its
 * breaker (inherited by every child), and libcurl's global start-up. */
int afl_renapo_post_config(apr_pool_t *pconf, server_rec *s);

#endif
