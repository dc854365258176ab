/* Write transactions over apr_dbd; see afl_txn.h for why pgsql is apart. */
#include "afl_txn.h"

#include <libpq-fe.h>
#include <string.h>

struct afl_txn {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_transaction_t *trans; /* sqlite3 only */
};

static int is_pgsql(const apr_dbd_driver_t *driver)
{
    return !strcmp(apr_dbd_name(driver), "pgsql");
}

static int plain(afl_txn *t, const char *sql)
{
    int n = 0;

    return apr_dbd_query(t->driver, t->handle, &n, sql);
}

int afl_txn_begin(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                  afl_txn **txn)
{
    afl_txn *t = apr_pcalloc(pool, sizeof *t);
    int rv;

    *txn = NULL;
    t->driver = driver;
    t->handle = handle;
    if (is_pgsql(driver)) {
        rv = plain(t, "BEGIN");
        if (rv != 0)
            return rv; /* a failed BEGIN leaves nothing open */
    } else {
        rv = apr_dbd_transaction_start(driver, pool, handle, &t->trans);
        if (rv != 0) {
            /* The sqlite3 driver keeps a pointer to the failed transaction:
             * end it so the next statement does not run inside it. */
            if (t->trans) {
                apr_dbd_transaction_mode_set(driver, t->trans, APR_DBD_TRANSACTION_ROLLBACK);
                apr_dbd_transaction_end(driver, pool, t->trans);
            }
            return rv;
        }
    }
    *txn = t;
    return 0;
}

int afl_txn_end(apr_pool_t *pool, afl_txn *t, int commit)
{
    if (!t)
        return -1;
    if (!t->trans) {
        PGconn *conn = apr_dbd_native_handle(t->driver, t->handle);
        /* COMMIT of an aborted transaction answers success (it rolls back). */
        if (commit && conn && PQtransactionStatus(conn) == PQTRANS_INERROR) {
            plain(t, "ROLLBACK");
            return -1;
        }
        return plain(t, commit ? "COMMIT" : "ROLLBACK");
    }
    if (!commit)
        apr_dbd_transaction_mode_set(t->driver, t->trans, APR_DBD_TRANSACTION_ROLLBACK);
    return apr_dbd_transaction_end(t->driver, pool, t->trans);
}
