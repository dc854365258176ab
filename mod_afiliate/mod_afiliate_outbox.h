/* mod_afiliate: the mail outbox sender, a mod_watchdog singleton (httpd glue). */
#ifndef MOD_AFILIATE_OUTBOX_H
#define MOD_AFILIATE_OUTBOX_H

#include "httpd.h"

/* Reads the mail settings of every server that runs the module, loads the
 * relay credentials (httpd is still root here), initialises libcurl and
 * registers one drain callback per server with the "afiliate-outbox"
 * singleton watchdog. Must run before mod_watchdog's own post_config. */
int afl_outbox_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* Registers the child_init hook that lets a running pass finish before the child's
 * database connections are torn down. Called from register_hooks. */
void afl_outbox_register_hooks(apr_pool_t *p);

/* libcurl's global start-up in post_config, before the fork (counted: the mail
 * sender and the RENAPO client each call it), undone when pconf is cleared.
 * 0 on failure (logged against s). */
int afl_curl_start(apr_pool_t *pconf, server_rec *s);

#endif
