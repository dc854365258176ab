/* Unit tests: afl_txn, write transactions over apr_dbd. On SQLite always; on
 * a real PostgreSQL when AFL_TEST_PG_DSN names one (the integration layer
 * runs this binary against its PostgreSQL): a BEGIN on a session the server
 * ended must fail cleanly (apr-util's own transaction start crashes there),
 * and a COMMIT after a failed statement must not report success. */
#include <check.h>
#include "check_run.h"
#include <apr_dbd.h>
#include <apr_general.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afl_txn.h"

static apr_pool_t *pool;
static const apr_dbd_driver_t *drv;
static apr_dbd_t *h;

static void connect_to(const char *name, const char *params)
{
    const char *err = NULL;

    ck_assert_int_eq(apr_dbd_get_driver(pool, name, &drv), APR_SUCCESS);
    ck_assert_msg(apr_dbd_open_ex(drv, pool, params, &h, &err) == APR_SUCCESS, "open: %s",
                  err ? err : "");
}

static void exec_ok(const char *sql)
{
    int n = 0;

    ck_assert_msg(apr_dbd_query(drv, h, &n, sql) == 0, "%s: %s", sql, apr_dbd_error(drv, h, 1));
}

static long count_rows(const char *table)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long n = -1;
    char sql[128];

    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    ck_assert_int_eq(apr_dbd_select(drv, pool, h, &res, sql, 1), 0);
    while (apr_dbd_get_row(drv, pool, res, &row, -1) == 0)
        n = atol(apr_dbd_get_entry(drv, row, 0));
    return n;
}

static void kept_or_dropped(const char *table)
{
    afl_txn *t = NULL;
    char sql[128];

    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (1)", table);
    ck_assert_int_eq(afl_txn_begin(pool, drv, h, &t), 0);
    exec_ok(sql);
    ck_assert_int_eq(afl_txn_end(pool, t, 0), 0);
    ck_assert_int_eq(count_rows(table), 0);
    ck_assert_int_eq(afl_txn_begin(pool, drv, h, &t), 0);
    exec_ok(sql);
    ck_assert_int_eq(afl_txn_end(pool, t, 1), 0);
    ck_assert_int_eq(count_rows(table), 1);
}

START_TEST(sqlite_commit_and_rollback)
{
    char path[] = "/tmp/afl-txn-XXXXXX";
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    close(fd);
    connect_to("sqlite3", path);
    exec_ok("CREATE TABLE t (x INTEGER)");
    kept_or_dropped("t");
    ck_assert_int_ne(afl_txn_end(pool, NULL, 1), 0);
    apr_dbd_close(drv, h);
    unlink(path);
}
END_TEST

START_TEST(pgsql_commit_and_rollback)
{
    connect_to("pgsql", getenv("AFL_TEST_PG_DSN"));
    exec_ok("CREATE TEMP TABLE t (x INTEGER)");
    kept_or_dropped("t");
    apr_dbd_close(drv, h);
}
END_TEST

START_TEST(pgsql_commit_after_a_failed_statement_fails)
{
    afl_txn *t = NULL;
    int n = 0;

    connect_to("pgsql", getenv("AFL_TEST_PG_DSN"));
    exec_ok("CREATE TEMP TABLE t (x INTEGER)");
    ck_assert_int_eq(afl_txn_begin(pool, drv, h, &t), 0);
    exec_ok("INSERT INTO t VALUES (1)");
    ck_assert_int_ne(apr_dbd_query(drv, h, &n, "INSERT INTO t VALUES (1/0)"), 0);
    ck_assert_int_ne(afl_txn_end(pool, t, 1), 0);
    ck_assert_int_eq(count_rows("t"), 0);
    apr_dbd_close(drv, h);
}
END_TEST

START_TEST(pgsql_begin_on_an_ended_session_fails)
{
    const apr_dbd_driver_t *d2 = NULL;
    apr_dbd_t *killer = NULL;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *err = NULL;
    char sql[96];
    afl_txn *t = (afl_txn *)&t;
    long pid = 0;

    connect_to("pgsql", getenv("AFL_TEST_PG_DSN"));
    ck_assert_int_eq(apr_dbd_select(drv, pool, h, &res, "SELECT pg_backend_pid()", 1), 0);
    while (apr_dbd_get_row(drv, pool, res, &row, -1) == 0)
        pid = atol(apr_dbd_get_entry(drv, row, 0));
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(apr_dbd_get_driver(pool, "pgsql", &d2), APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open_ex(d2, pool, getenv("AFL_TEST_PG_DSN"), &killer, &err), 0);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%ld)", pid);
    res = NULL;
    row = NULL;
    ck_assert_int_eq(apr_dbd_select(d2, pool, killer, &res, sql, 1), 0);
    while (apr_dbd_get_row(d2, pool, res, &row, -1) == 0)
        ;
    usleep(200000);
    ck_assert_int_ne(afl_txn_begin(pool, drv, h, &t), 0);
    ck_assert_ptr_null(t);
    apr_dbd_close(d2, killer);
    apr_dbd_close(drv, h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("txn");
    TCase *tc = tcase_create("txn");
    int failed;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_dbd_init(pool);
    tcase_add_test(tc, sqlite_commit_and_rollback);
    if (getenv("AFL_TEST_PG_DSN")) {
        tcase_add_test(tc, pgsql_commit_and_rollback);
        tcase_add_test(tc, pgsql_commit_after_a_failed_statement_fails);
        tcase_add_test(tc, pgsql_begin_on_an_ended_session_fails);
    }
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
