/* Command-line database access through apr_dbd (sqlite3 or pgsql).
 *
 * Pure unit: APR/APR-util only, no httpd. It is meant for afiliatectl and
 * the tests, which own one connection for the life of the process; the
 * module itself goes through mod_dbd. It handles the apr_dbd pitfalls once
 * (docs/architecture.md, Database connections):
 *   - sqlite3 connections get PRAGMA busy_timeout=200, synchronous=FULL and
 *     foreign_keys=ON before any statement is prepared (foreign_keys expires
 *     statements prepared earlier), each run through apr_dbd_select and read
 *     to the end (apr_dbd_query treats a returned row as an error);
 *   - statement labels are lowercase [a-z0-9_] (pgsql folds PREPARE names);
 *   - result sets are always read until apr_dbd_get_row() == -1;
 *   - a transaction is always ended, also after a failed start.
 * SQL text given to afl_db_prepare uses apr_dbd markers (%s, %d) and %% for
 * a literal percent sign; values are always bound, never spliced in.
 *
 * Error messages (afl_db_errmsg) never contain bound values: for pgsql only
 * the first line of the server message is kept (the DETAIL line can quote a
 * key, i.e. a CURP or an NSS). */
#ifndef AFL_DB_H
#define AFL_DB_H

#include <apr_pools.h>
#include <apr_dbd.h>

typedef struct afl_db afl_db;

/* driver: "sqlite3" (NULL means sqlite3; params is a file path) or "pgsql"
 * (params is a libpq conninfo). The connection lives in pool and is closed by
 * its cleanup (or afl_db_close). On failure returns non-zero and, when err is
 * not NULL, sets *err to a Spanish message allocated in pool. */
int afl_db_open(apr_pool_t *pool, const char *driver, const char *params, afl_db **db,
                const char **err);
void afl_db_close(afl_db *db);

/* Wraps a connection opened elsewhere (mod_dbd's) for read-only helpers that take
 * an afl_db; afl_db_close then frees the wrapper, never the connection. Prepare
 * nothing through it: the labels would share the connection's namespace. */
afl_db *afl_db_wrap(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle);

/* "sqlite3" or "pgsql". */
const char *afl_db_driver_name(const afl_db *db);
int afl_db_is_sqlite(const afl_db *db);
const apr_dbd_driver_t *afl_db_driver(const afl_db *db);
apr_dbd_t *afl_db_handle(const afl_db *db);

/* Message for the last error (rv as returned by the failing call), with
 * values removed as described above; allocated in the connection's pool. */
const char *afl_db_errmsg(afl_db *db, int rv);

/* Prepares sql under label ([a-z0-9_]{1,48}); preparing a label twice
 * replaces it. 0 on success. */
int afl_db_prepare(afl_db *db, const char *label, const char *sql);

/* Runs a prepared statement that returns no row. args holds one string per
 * marker (NULL binds SQL NULL); *nrows (may be NULL) gets the changed rows.
 * Temporary memory comes from pool. */
int afl_db_exec(afl_db *db, apr_pool_t *pool, const char *label, int *nrows, int nargs,
                const char *const *args);

/* Row callback for afl_db_select: values[0..ncols-1] (NULL for SQL NULL).
 * Returning non-zero stops the delivery, but the result set is still read to
 * the end; afl_db_select then returns that value. */
typedef int afl_db_row_fn(void *baton, int ncols, const char *const *values);

/* Runs a prepared select and hands every row to fn (fn may be NULL). Returns
 * 0, the driver's error code, or the callback's non-zero value. *nrows (may be
 * NULL) gets the number of rows read. */
int afl_db_select(afl_db *db, apr_pool_t *pool, const char *label, int nargs,
                  const char *const *args, afl_db_row_fn *fn, void *baton, int *nrows);

/* The same for one unparameterised SELECT given as text (no value bound, nothing
 * prepared: safe to run again on a pgsql connection). */
int afl_db_select_sql(afl_db *db, apr_pool_t *pool, const char *sql, afl_db_row_fn *fn, void *baton,
                      int *nrows);

/* Convenience: first column of the first row copied into pool (*value NULL if
 * there is no row or the value is NULL). */
int afl_db_select_value(afl_db *db, apr_pool_t *pool, const char *label, int nargs,
                        const char *const *args, const char **value);

/* Runs one unparameterised SQL statement (schema, pragmas). Statements that
 * can return rows (PRAGMA, SELECT, SHOW, WITH, VALUES, EXPLAIN) go through
 * apr_dbd_select and are read to the end; others through apr_dbd_query. */
int afl_db_run_sql(afl_db *db, apr_pool_t *pool, const char *sql);

/* Transactions: BEGIN IMMEDIATE on sqlite3, BEGIN on pgsql (apr_dbd's own).
 * afl_db_begin returns non-zero if the start failed; afl_db_end must be
 * called in every case (it clears the driver's transaction pointer). After
 * any failed statement inside it, afl_db_end rolls back; rollback != 0 forces
 * a rollback. afl_db_end returns 0 only if the transaction committed. */
int afl_db_begin(afl_db *db, apr_pool_t *pool);
int afl_db_end(afl_db *db, int rollback);

/* Callback form: begin, fn(db, baton), end (rollback if fn returned
 * non-zero). Returns fn's value, or the begin/commit error. */
typedef int afl_db_txn_fn(afl_db *db, void *baton);
int afl_db_in_transaction(afl_db *db, apr_pool_t *pool, afl_db_txn_fn *fn, void *baton);

/* Splits a schema script into statements: a statement ends with a ';' that
 * is the last character of a line outside comments ("--" and block comments)
 * and quotes. Calls fn for each statement (trailing ';' removed, comments
 * kept out) with the 1-based line where it starts. Non-zero from fn stops. */
typedef int afl_db_stmt_fn(void *baton, const char *stmt, unsigned line);
int afl_db_split_script(const char *text, apr_size_t len, afl_db_stmt_fn *fn, void *baton);

/* Applies a schema script with afl_db_run_sql, statement by statement, outside
 * any transaction (PRAGMA journal_mode cannot change inside one). *count (may
 * be NULL) gets the number of statements run. On error returns non-zero and
 * sets *err (when not NULL) to a message with the statement's line. */
int afl_db_apply_schema(afl_db *db, apr_pool_t *pool, const char *text, apr_size_t len, int *count,
                        const char **err);
int afl_db_apply_schema_file(afl_db *db, apr_pool_t *pool, const char *path, int *count,
                             const char **err);

#endif
