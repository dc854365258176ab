/* mod_afiliate: mod_dbd glue: connections and statement preparation. */
#ifndef MOD_AFILIATE_DBD_H
#define MOD_AFILIATE_DBD_H

#include "httpd.h"
#include "afl_store.h"

/* Registers the post_connect hook (called from register_hooks). */
void afl_dbd_register_hooks(apr_pool_t *p);

/* Per-child state: the SQLite group committer (afl_commit.h). */
void afl_dbd_child_init(apr_pool_t *pchild, server_rec *s);

/* Looks up mod_dbd's functions; returns an error message when mod_dbd is missing. */
const char *afl_dbd_init(void);

/* The request's pooled connection, ready to use, or NULL (the caller answers 503;
 * the reason is already logged). */
afl_store *afl_dbd_store(request_rec *r);

/* Outside a request (the outbox sender): a pooled connection of server s and
 * its store, or NULL (logged). Give it back with afl_dbd_release. */
typedef struct afl_dbd_conn afl_dbd_conn;
afl_dbd_conn *afl_dbd_open(apr_pool_t *p, server_rec *s, afl_store **st);
void afl_dbd_release(afl_dbd_conn *c);

/* check_config: the database of server s exists, SQLite's folder and files are
 * usable by the server user, and its schema version is the one this code expects
 * (afl_migrate.h). Logs why and returns 0 when the server must not start. */
int afl_dbd_check_database(apr_pool_t *ptemp, server_rec *s);

#endif
