/* mod_afiliate: the operating counters in shared memory and the "Afiliate"
 * section of mod_status (httpd glue; the counters themselves are afl_stats). */
#ifndef MOD_AFILIATE_STATUS_H
#define MOD_AFILIATE_STATUS_H

#include "httpd.h"

#include "afl_flow.h"
#include "afl_stats.h"

/* Registers the mod_status hook (optional: nothing happens without mod_status). */
void afl_status_register_hooks(apr_pool_t *p);

/* post_config: gives every server that runs the module its segment, created
 * once and kept across restarts of the same parent process. */
int afl_status_post_config(apr_pool_t *pconf, server_rec *s);

/* child_init: database calls are counted from here on. */
void afl_status_child_init(apr_pool_t *pchild, server_rec *s);

/* The database calls of this thread go to s from now on (NULL: nowhere). */
void afl_status_enter(afl_stats *s);

/* The handler's outcome of one step on route: its Paso 1 event and, for a
 * document, its type. */
void afl_status_outcome(afl_stats *s, afl_stats_route route, const afl_flow_out *out);

#endif
