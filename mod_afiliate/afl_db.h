/* The one database layer, over apr_dbd (sqlite3 or pgsql).
 *
 * Pure unit: APR/APR-util only, no httpd. afiliatectl and the tests own one
 * connection for the life of the process (afl_db_open); the module wraps
 * mod_dbd's connection (afl_db_wrap) and afl_store runs on it. Statements are
 * the rows of the one table of afl_sql.h, prepared and run by id; the text of
 * the driver's dialect is chosen here. It handles the apr_dbd pitfalls once
 * (docs/architecture.md, Database connections):
 *   - sqlite3 connections get PRAGMA busy_timeout=200, synchronous=FULL and
 *     foreign_keys=ON before any statement is prepared (foreign_keys expires
 *     statements prepared earlier), each run through apr_dbd_select and read
 *     to the end (apr_dbd_query treats a returned row as an error);
 *   - statement labels are lowercase [a-z0-9_] (pgsql folds PREPARE names);
 *   - result sets are always read until apr_dbd_get_row() == -1;
 *   - a transaction is always ended, also after a failed start.
 * Values are always bound through apr_dbd markers, never spliced in.
 *
 * Error messages (afl_db_errmsg) never contain bound values: for pgsql only
 * the first line of the server message is kept (the DETAIL line can quote a
 * key, i.e. a CURP or an NSS). */
#ifndef AFL_DB_H
#define AFL_DB_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_pools.h>

#include "afl_sql.h"

typedef struct afl_db afl_db;

/* driver: "sqlite3" (NULL means sqlite3; params is a file path) or "pgsql"
 * (params is a libpq conninfo). The connection lives in pool and is closed by
 * its cleanup (or afl_db_close). On failure returns non-zero and, when err is
 * not NULL, sets *err to a Spanish message allocated in pool. */
int afl_db_open(apr_pool_t *pool, const char *driver, const char *params, afl_db **db,
                const char **err);
void afl_db_close(afl_db *db);

/* Wraps a connection opened elsewhere (mod_dbd's), allocated in pool with no
 * pool or cleanup of its own, so a request can wrap cheaply. Statements are
 * looked up in, and prepared into, `prepared` (label -> apr_dbd_prepared_t *,
 * e.g. mod_dbd's hash of that connection; NULL: a new one), so what one
 * wrapper prepares on the connection every later wrapper finds. Prepare
 * through a wrapper only with a pool that lives as long as the connection.
 * afl_db_close does nothing on a wrapper: the connection is the caller's. */
afl_db *afl_db_wrap(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                    apr_hash_t *prepared);

/* "sqlite3" or "pgsql". */
const char *afl_db_driver_name(const afl_db *db);
int afl_db_is_sqlite(const afl_db *db);
const apr_dbd_driver_t *afl_db_driver(const afl_db *db);
apr_dbd_t *afl_db_handle(const afl_db *db);

/* Message for the last error (rv as returned by the failing call), with
 * values removed as described above; allocated in the connection's pool. */
const char *afl_db_errmsg(afl_db *db, int rv);

/* Returned by the calls below for a statement that is not prepared on this
 * connection (never a driver's code: those are positive). */
#define AFL_DB_UNPREPARED (-4040)

/* Prepares statement id of afl_sql.h, in the driver's dialect, under its
 * label; preparing it again replaces it (a pgsql session must not hold it
 * yet: the glue re-prepares only after DEALLOCATE ALL). 0 on success. */
int afl_db_prepare(afl_db *db, afl_sql_id id);
/* True when id is prepared on this connection. */
int afl_db_prepared(const afl_db *db, afl_sql_id id);

/* Runs prepared statement id that returns no row. args holds one string per
 * marker (NULL binds SQL NULL); *nrows (may be NULL) gets the changed rows.
 * Temporary memory comes from pool. */
int afl_db_exec(afl_db *db, apr_pool_t *pool, afl_sql_id id, int *nrows, int nargs,
                const char *const *args);

/* Row callback for afl_db_select: values[0..ncols-1] (NULL for SQL NULL).
 * Returning non-zero stops the delivery, but the result set is still read to
 * the end; afl_db_select then returns that value. */
typedef int afl_db_row_fn(void *baton, int ncols, const char *const *values);

/* Runs prepared select id and hands every row to fn (fn may be NULL); the
 * values stay valid while pool lives. Returns 0, the driver's error code
 * (also for a failure while reading rows), or the callback's non-zero value.
 * *nrows (may be NULL) gets the number of rows read. */
int afl_db_select(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs, const char *const *args,
                  afl_db_row_fn *fn, void *baton, int *nrows);

/* Convenience: first column of the first row copied into pool (*value NULL if
 * there is no row or the value is NULL). */
int afl_db_select_value(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                        const char *const *args, const char **value);

/* afl_db_select and afl_db_exec of statement id without a kept prepared
 * statement (an unnamed one, freed with pool; values still bound): for
 * statements run before the schema exists, or more than once in one pgsql
 * session on a connection whose labels belong to someone else (afl_migrate). */
int afl_db_select_once(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                       const char *const *args, afl_db_row_fn *fn, void *baton, int *nrows);
int afl_db_exec_once(afl_db *db, apr_pool_t *pool, afl_sql_id id, int *nrows, int nargs,
                     const char *const *args);

/* One unparameterised SELECT given as text, nothing prepared: for the tests'
 * own look at the data. The module and afiliatectl use the table's ids. */
int afl_db_select_sql(afl_db *db, apr_pool_t *pool, const char *sql, afl_db_row_fn *fn, void *baton,
                      int *nrows);
/* Its first column of the first row copied into pool (*value NULL if there
 * is no row or the value is NULL). */
int afl_db_value_sql(afl_db *db, apr_pool_t *pool, const char *sql, const char **value);

/* Runs one unparameterised SQL statement (schema scripts, pragmas). Statements that
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
