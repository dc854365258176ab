/* Write transactions over apr_dbd that survive a lost PostgreSQL connection.
 *
 * apr-util's pgsql driver (apr_dbd_pgsql, 1.6) dereferences a NULL
 * transaction when BEGIN fails with a result, which is what a connection the
 * server closed gives: the httpd child crashes. On pgsql the transaction is
 * therefore sent as plain statements (BEGIN, COMMIT, ROLLBACK); on sqlite3
 * through apr_dbd_transaction_*. */
#ifndef AFL_TXN_H
#define AFL_TXN_H

#include <apr_dbd.h>
#include <apr_pools.h>

typedef struct afl_txn afl_txn;

/* Opens a transaction on handle; 0 or the driver's error code. On failure
 * *txn is NULL and nothing is left open. */
int afl_txn_begin(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                  afl_txn **txn);

/* Commits when commit is set, else rolls back; 0 or an error code. A
 * PostgreSQL transaction that a failed statement aborted is rolled back and
 * reported as an error, never as a commit. NULL is an error. */
int afl_txn_end(apr_pool_t *pool, afl_txn *txn, int commit);

#endif
