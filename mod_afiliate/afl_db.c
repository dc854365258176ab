/* The one database layer, over apr_dbd; see afl_db.h. */
#include "afl_db.h"
#include "afl_txn.h"

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct afl_db {
    apr_pool_t *pool; /* the prepared statements' (owned: also the connection's) */
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *stmts; /* label -> apr_dbd_prepared_t * */
    int sqlite;
    int owned;              /* opened by afl_db_open, closed by afl_db_close */
    apr_pool_t *trans_pool; /* pool given to afl_db_begin, needed by end */
    afl_txn *trans;
    int trans_failed; /* a statement failed inside the open transaction */
};

static apr_status_t db_cleanup(void *data)
{
    afl_db *db = data;

    if (db->handle) {
        if (db->trans)
            afl_db_end(db, 1);
        apr_dbd_close(db->driver, db->handle);
        db->handle = NULL;
    }
    return APR_SUCCESS;
}

/* Per-connection settings (docs/architecture.md, Database connections):
 * each through apr_dbd_select (busy_timeout returns a row) and read to the
 * end. */
static const char *const sqlite_pragmas[] = {
    "PRAGMA busy_timeout = 200",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
};

int afl_db_open(apr_pool_t *pool, const char *driver, const char *params, afl_db **out,
                const char **err)
{
    apr_pool_t *sub;
    afl_db *db;
    const char *derr = NULL;
    apr_status_t rv;

    *out = NULL;
    if (!driver || !*driver)
        driver = "sqlite3";
    if (strcmp(driver, "sqlite3") && strcmp(driver, "pgsql")) {
        if (err)
            *err = apr_psprintf(pool, "unknown driver '%s' (use sqlite3 or pgsql)", driver);
        return APR_EINVAL;
    }
    if (!params || !*params) {
        if (err)
            *err = "no database given (--db)";
        return APR_EINVAL;
    }
    rv = apr_dbd_init(pool);
    if (rv != APR_SUCCESS) {
        if (err)
            *err = "cannot initialise apr_dbd";
        return rv;
    }
    if (apr_pool_create(&sub, pool) != APR_SUCCESS)
        return APR_ENOMEM;
    db = apr_pcalloc(sub, sizeof(*db));
    db->pool = sub;
    db->stmts = apr_hash_make(sub);
    db->sqlite = !strcmp(driver, "sqlite3");
    db->owned = 1;
    rv = apr_dbd_get_driver(sub, driver, &db->driver);
    if (rv != APR_SUCCESS) {
        if (err)
            *err = apr_psprintf(pool, "cannot load the apr_dbd driver '%s'", driver);
        apr_pool_destroy(sub);
        return rv;
    }
    rv = apr_dbd_open_ex(db->driver, sub, params, &db->handle, &derr);
    if (rv != APR_SUCCESS || !db->handle) {
        if (err) {
            /* libpq messages may echo the conninfo; keep only their first line. */
            const char *nl = derr ? strchr(derr, '\n') : NULL;
            *err = apr_psprintf(pool, "cannot open the database (%s): %s", driver,
                                derr ? (nl ? apr_pstrmemdup(pool, derr, nl - derr) : derr)
                                     : "unknown error");
        }
        db->handle = NULL;
        apr_pool_destroy(sub);
        return rv != APR_SUCCESS ? (int)rv : APR_EGENERAL;
    }
    apr_pool_cleanup_register(sub, db, db_cleanup, apr_pool_cleanup_null);
    if (db->sqlite) {
        for (size_t i = 0; i < sizeof sqlite_pragmas / sizeof *sqlite_pragmas; i++) {
            int r = afl_db_run_sql(db, sub, sqlite_pragmas[i]);
            if (r) {
                if (err)
                    *err = apr_psprintf(pool, "%s: %s", sqlite_pragmas[i], afl_db_errmsg(db, r));
                apr_pool_destroy(sub);
                return r;
            }
        }
    }
    *out = db;
    return 0;
}

afl_db *afl_db_wrap(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                    apr_hash_t *prepared)
{
    afl_db *db = apr_pcalloc(pool, sizeof(*db));

    db->pool = pool;
    db->stmts = prepared ? prepared : apr_hash_make(pool);
    db->driver = driver;
    db->handle = handle;
    db->sqlite = !strcmp(apr_dbd_name(driver), "sqlite3");
    return db; /* no cleanup: the connection belongs to the caller */
}

void afl_db_close(afl_db *db)
{
    if (db && db->owned)
        apr_pool_destroy(db->pool);
}

const char *afl_db_driver_name(const afl_db *db)
{
    return db->sqlite ? "sqlite3" : "pgsql";
}

int afl_db_is_sqlite(const afl_db *db)
{
    return db->sqlite;
}

const apr_dbd_driver_t *afl_db_driver(const afl_db *db)
{
    return db->driver;
}

apr_dbd_t *afl_db_handle(const afl_db *db)
{
    return db->handle;
}

const char *afl_db_errmsg(afl_db *db, int rv)
{
    const char *msg = apr_dbd_error(db->driver, db->handle, rv);
    const char *nl;

    if (!msg || !*msg)
        return apr_psprintf(db->pool, "driver error %d", rv);
    /* pgsql: "ERROR:  ...\nDETAIL:  Key (curp)=(...) ..." -> first line only. */
    nl = strchr(msg, '\n');
    if (nl)
        msg = apr_pstrmemdup(db->pool, msg, nl - msg);
    return msg;
}

int afl_db_prepare(afl_db *db, afl_sql_id id)
{
    const afl_sql_stmt *def = afl_sql_get(id);
    apr_dbd_prepared_t *stmt = NULL;
    int rv;

    if (!def)
        return APR_EINVAL;
    rv = apr_dbd_prepare(db->driver, db->pool, db->handle, afl_sql_text(id, !db->sqlite),
                         def->label, &stmt);
    if (rv)
        return rv;
    apr_hash_set(db->stmts, def->label, APR_HASH_KEY_STRING, stmt);
    return 0;
}

static apr_dbd_prepared_t *find_stmt(const afl_db *db, afl_sql_id id)
{
    const afl_sql_stmt *def = afl_sql_get(id);

    return def ? apr_hash_get(db->stmts, def->label, APR_HASH_KEY_STRING) : NULL;
}

int afl_db_prepared(const afl_db *db, afl_sql_id id)
{
    return find_stmt(db, id) != NULL;
}

static int exec_stmt(afl_db *db, apr_pool_t *pool, apr_dbd_prepared_t *stmt, int *nrows, int nargs,
                     const char *const *args)
{
    int n = 0, rv;

    rv = apr_dbd_pquery(db->driver, pool, db->handle, &n, stmt, nargs, (const char **)args);
    if (nrows)
        *nrows = n;
    if (rv && db->trans)
        db->trans_failed = 1;
    return rv;
}

int afl_db_exec(afl_db *db, apr_pool_t *pool, afl_sql_id id, int *nrows, int nargs,
                const char *const *args)
{
    apr_dbd_prepared_t *stmt = find_stmt(db, id);

    if (nrows)
        *nrows = 0;
    if (!stmt)
        return AFL_DB_UNPREPARED;
    return exec_stmt(db, pool, stmt, nrows, nargs, args);
}

/* Reads res to the end, handing rows to fn until it returns non-zero. A
 * failure while reading (a lost connection) is returned as an error, not
 * taken for the end of the rows. */
static int drain(afl_db *db, apr_pool_t *pool, apr_dbd_results_t *res, afl_db_row_fn *fn,
                 void *baton, int *nrows)
{
    apr_dbd_row_t *row = NULL;
    int ncols = apr_dbd_num_cols(db->driver, res);
    const char **vals = apr_pcalloc(pool, sizeof(*vals) * (ncols > 0 ? ncols : 1));
    int stop = 0, n = 0, rv;

    while ((rv = apr_dbd_get_row(db->driver, pool, res, &row, -1)) == 0) {
        n++;
        if (stop || !fn)
            continue;
        for (int i = 0; i < ncols; i++)
            vals[i] = apr_dbd_get_entry(db->driver, row, i);
        stop = fn(baton, ncols, vals);
    }
    if (nrows)
        *nrows = n;
    if (rv != -1) {
        if (db->trans)
            db->trans_failed = 1;
        return rv;
    }
    return stop;
}

static int select_stmt(afl_db *db, apr_pool_t *pool, apr_dbd_prepared_t *stmt, int nargs,
                       const char *const *args, afl_db_row_fn *fn, void *baton, int *nrows)
{
    apr_dbd_results_t *res = NULL;
    int rv;

    /* random=1: the pgsql driver then fetches the whole result synchronously and
     * reports a failed query as an error; in its row-by-row mode a dead connection
     * looks like an empty result ("not found" instead of 503). Results are small. */
    rv = apr_dbd_pselect(db->driver, pool, db->handle, &res, stmt, 1, nargs, (const char **)args);
    if (rv) {
        if (db->trans)
            db->trans_failed = 1;
        return rv;
    }
    return drain(db, pool, res, fn, baton, nrows);
}

int afl_db_select(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs, const char *const *args,
                  afl_db_row_fn *fn, void *baton, int *nrows)
{
    apr_dbd_prepared_t *stmt = find_stmt(db, id);

    if (nrows)
        *nrows = 0;
    if (!stmt)
        return AFL_DB_UNPREPARED;
    return select_stmt(db, pool, stmt, nargs, args, fn, baton, nrows);
}

/* An unnamed statement: the pgsql driver keeps no server-side statement for
 * it (it runs with PQexecParams), the sqlite3 driver finalizes it with pool. */
static int prepare_once(afl_db *db, apr_pool_t *pool, afl_sql_id id, apr_dbd_prepared_t **stmt,
                        int *nrows)
{
    const char *sql = afl_sql_text(id, !db->sqlite);
    int rv = sql ? apr_dbd_prepare(db->driver, pool, db->handle, sql, NULL, stmt) : APR_EINVAL;

    if (nrows)
        *nrows = 0;
    if (rv && db->trans)
        db->trans_failed = 1;
    return rv;
}

int afl_db_select_once(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                       const char *const *args, afl_db_row_fn *fn, void *baton, int *nrows)
{
    apr_dbd_prepared_t *stmt = NULL;
    int rv = prepare_once(db, pool, id, &stmt, nrows);

    return rv ? rv : select_stmt(db, pool, stmt, nargs, args, fn, baton, nrows);
}

int afl_db_exec_once(afl_db *db, apr_pool_t *pool, afl_sql_id id, int *nrows, int nargs,
                     const char *const *args)
{
    apr_dbd_prepared_t *stmt = NULL;
    int rv = prepare_once(db, pool, id, &stmt, nrows);

    return rv ? rv : exec_stmt(db, pool, stmt, nrows, nargs, args);
}

int afl_db_select_sql(afl_db *db, apr_pool_t *pool, const char *sql, afl_db_row_fn *fn, void *baton,
                      int *nrows)
{
    apr_dbd_results_t *res = NULL;
    int rv;

    if (nrows)
        *nrows = 0;
    rv = apr_dbd_select(db->driver, pool, db->handle, &res, sql, 1);
    if (rv) {
        if (db->trans)
            db->trans_failed = 1;
        return rv;
    }
    return drain(db, pool, res, fn, baton, nrows);
}

struct first_value {
    apr_pool_t *pool;
    const char *value;
    int seen;
};

static int take_first(void *baton, int ncols, const char *const *values)
{
    struct first_value *fv = baton;

    if (!fv->seen) {
        fv->seen = 1;
        fv->value = (ncols > 0 && values[0]) ? apr_pstrdup(fv->pool, values[0]) : NULL;
    }
    return 0;
}

int afl_db_select_value(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                        const char *const *args, const char **value)
{
    struct first_value fv = {pool, NULL, 0};
    int rv = afl_db_select(db, pool, id, nargs, args, take_first, &fv, NULL);

    *value = rv ? NULL : fv.value;
    return rv;
}

int afl_db_value_sql(afl_db *db, apr_pool_t *pool, const char *sql, const char **value)
{
    struct first_value fv = {pool, NULL, 0};
    int rv = afl_db_select_sql(db, pool, sql, take_first, &fv, NULL);

    *value = rv ? NULL : fv.value;
    return rv;
}

/* First keyword of a statement decides whether it can return rows. */
static int returns_rows(const char *sql)
{
    static const char *const kw[] = {"PRAGMA", "SELECT", "SHOW", "WITH", "VALUES", "EXPLAIN"};

    while (isspace((unsigned char)*sql))
        sql++;
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++) {
        size_t n = strlen(kw[i]);
        if (!strncasecmp(sql, kw[i], n) && !isalnum((unsigned char)sql[n]) && sql[n] != '_')
            return 1;
    }
    return 0;
}

int afl_db_run_sql(afl_db *db, apr_pool_t *pool, const char *sql)
{
    int rv, n = 0;

    if (returns_rows(sql)) {
        apr_dbd_results_t *res = NULL;
        rv = apr_dbd_select(db->driver, pool, db->handle, &res, sql, 1);
        if (!rv)
            drain(db, pool, res, NULL, NULL, NULL);
    } else {
        rv = apr_dbd_query(db->driver, db->handle, &n, sql);
    }
    if (rv && db->trans)
        db->trans_failed = 1;
    return rv;
}

int afl_db_begin(afl_db *db, apr_pool_t *pool)
{
    if (db->trans)
        return APR_EINVAL; /* no nesting */
    db->trans_pool = pool;
    db->trans_failed = 0;
    return afl_txn_begin(pool, db->driver, db->handle, &db->trans);
}

int afl_db_end(afl_db *db, int rollback)
{
    int failed, rv;

    if (!db->trans)
        return APR_EINVAL;
    failed = rollback || db->trans_failed;
    rv = afl_txn_end(db->trans_pool, db->trans, !failed);
    db->trans = NULL;
    db->trans_pool = NULL;
    db->trans_failed = 0;
    if (rv)
        return rv;
    return failed ? APR_EGENERAL : 0;
}

int afl_db_in_transaction(afl_db *db, apr_pool_t *pool, afl_db_txn_fn *fn, void *baton)
{
    int rv = afl_db_begin(db, pool);
    int end;

    if (rv) {
        if (db->trans)
            afl_db_end(db, 1);
        return rv;
    }
    rv = fn(db, baton);
    end = afl_db_end(db, rv != 0);
    return rv ? rv : end;
}

/* ------------------------------------------------------------- scripts */

int afl_db_split_script(const char *text, apr_size_t len, afl_db_stmt_fn *fn, void *baton)
{
    char *buf = NULL;
    apr_size_t cap = 0, n = 0;
    unsigned line = 1, start_line = 0;
    int in_block = 0, in_quote = 0, rv = 0;
    apr_size_t i = 0;

    /* Statements are copied without comments into buf (malloc'd so the
     * function works without a pool). */
    while (i <= len && !rv) {
        int eol = (i == len) || text[i] == '\n';
        if (!eol) {
            char c = text[i];
            if (in_block) {
                if (c == '*' && i + 1 < len && text[i + 1] == '/') {
                    in_block = 0;
                    i++;
                }
                i++;
                continue;
            }
            if (!in_quote && c == '-' && i + 1 < len && text[i + 1] == '-') {
                while (i < len && text[i] != '\n')
                    i++;
                continue;
            }
            if (!in_quote && c == '/' && i + 1 < len && text[i + 1] == '*') {
                in_block = 1;
                i += 2;
                continue;
            }
            if (c == '\'')
                in_quote = !in_quote;
            if (n + 2 > cap) {
                cap = cap ? cap * 2 : 256;
                char *nb = realloc(buf, cap);
                if (!nb) {
                    rv = APR_ENOMEM;
                    break;
                }
                buf = nb;
            }
            if (!start_line && !isspace((unsigned char)c))
                start_line = line;
            buf[n++] = c;
            i++;
            continue;
        }
        /* End of a line (or of the text). */
        {
            apr_size_t e = n;
            while (e > 0 && isspace((unsigned char)buf[e - 1]))
                e--;
            int ends = !in_quote && !in_block && e > 0 && buf[e - 1] == ';';
            if (ends || (i == len && start_line)) {
                if (ends)
                    e--;
                while (e > 0 && isspace((unsigned char)buf[e - 1]))
                    e--;
                if (e > 0) {
                    buf[e] = '\0';
                    rv = fn(baton, buf, start_line);
                }
                n = 0;
                start_line = 0;
            } else if (n > 0 && start_line) {
                buf[n++] = '\n';
            } else {
                n = 0;
            }
        }
        line++;
        i++;
    }
    free(buf);
    return rv;
}

struct apply_ctx {
    afl_db *db;
    apr_pool_t *pool;
    int count;
    unsigned fail_line;
    int fail_rv;
};

static int apply_one(void *baton, const char *stmt, unsigned line)
{
    struct apply_ctx *ctx = baton;
    apr_pool_t *tmp;
    int rv;

    apr_pool_create(&tmp, ctx->pool);
    rv = afl_db_run_sql(ctx->db, tmp, stmt);
    apr_pool_destroy(tmp);
    if (rv) {
        ctx->fail_line = line;
        ctx->fail_rv = rv;
        return rv;
    }
    ctx->count++;
    return 0;
}

int afl_db_apply_schema(afl_db *db, apr_pool_t *pool, const char *text, apr_size_t len, int *count,
                        const char **err)
{
    struct apply_ctx ctx = {db, pool, 0, 0, 0};
    int rv = afl_db_split_script(text, len, apply_one, &ctx);

    if (count)
        *count = ctx.count;
    if (rv && err) {
        if (ctx.fail_line)
            *err = apr_psprintf(pool, "the statement at line %u failed: %s", ctx.fail_line,
                                afl_db_errmsg(db, ctx.fail_rv));
        else
            *err = "out of memory";
    }
    return rv;
}

int afl_db_apply_schema_file(afl_db *db, apr_pool_t *pool, const char *path, int *count,
                             const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *text;
    apr_size_t got;
    apr_status_t rv;
    char ebuf[128];

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS) {
        if (err)
            *err =
                apr_psprintf(pool, "cannot read %s: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return rv;
    }
    text = apr_palloc(pool, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(f, text, (apr_size_t)fi.size, &got);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        if (err)
            *err =
                apr_psprintf(pool, "cannot read %s: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return rv;
    }
    text[got] = '\0';
    rv = afl_db_apply_schema(db, pool, text, got, count, err);
    if (rv && err)
        *err = apr_psprintf(pool, "%s: %s", path, *err);
    return rv;
}
