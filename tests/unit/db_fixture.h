/* The unit tests' SQLite file: a fresh name under /tmp, opened through afl_db
 * (optionally with sql/sqlite/schema.sql loaded), the store on it, and the
 * file removed with its WAL files. Included by the tests that run on a real database. */
#ifndef AFL_TEST_DB_FIXTURE_H
#define AFL_TEST_DB_FIXTURE_H

#include <check.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afl_db.h"
#include "afl_store.h"

/* Opens a new SQLite file /tmp/afl_NAME_XXXXXX (its path into path); with
 * schema != 0 the application's schema is loaded. */
static inline afl_db *fixture_open(apr_pool_t *pool, char path[64], const char *name, int schema)
{
    const char *err = NULL;
    afl_db *d = NULL;
    int fd;

    snprintf(path, 64, "/tmp/afl_%s_XXXXXX", name);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    ck_assert_msg(afl_db_open(pool, "sqlite3", path, &d, &err) == 0, "open: %s", err ? err : "");
    if (schema)
        ck_assert_msg(afl_db_apply_schema_file(d, pool, "sql/sqlite/schema.sql", NULL, &err) == 0,
                      "schema: %s", err ? err : "");
    return d;
}

/* The store on d, as afiliatectl has it: no group committer, its statements
 * prepared. */
static inline void fixture_store(apr_pool_t *pool, afl_db *d, afl_store *st)
{
    st->db = d;
    st->commit = NULL;
    st->in_txn = 0;
    ck_assert_int_eq(afl_store_configure(pool, st), APR_SUCCESS);
    ck_assert_int_eq(afl_store_prepare_all(st), APR_SUCCESS);
}

/* Runs one statement given as text; the test fails if it does. */
static inline void fixture_sql(apr_pool_t *pool, afl_db *d, const char *s)
{
    ck_assert_msg(afl_db_run_sql(d, pool, s) == 0, "SQL failed: %s", s);
}

/* The integer the query given as text returns (-1: no row or NULL). */
static inline long long fixture_count(apr_pool_t *pool, afl_db *d, const char *q)
{
    const char *v = NULL;

    ck_assert_msg(afl_db_value_sql(d, pool, q, &v) == 0, "SQL failed: %s", q);
    return v ? atoll(v) : -1;
}

/* Closes d and removes the file with its -wal and -shm. */
static inline void fixture_remove(apr_pool_t *pool, afl_db *d, const char *path)
{
    afl_db_close(d);
    unlink(path);
    unlink(apr_pstrcat(pool, path, "-wal", NULL));
    unlink(apr_pstrcat(pool, path, "-shm", NULL));
}

#endif
