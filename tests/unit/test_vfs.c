/* afl_vfs: an open asked for writing that SQLite could only make read-only fails.
 *
 * A real file the test's user may read but not write (mode 0444; as root the
 * checks run in a child process with the euid of nobody, since root writes any
 * file). */
#include <check.h>
#include "check_run.h"
#include <apr_dbd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "afl_vfs.h"

#define NOBODY 65534

static char dir[64];
static char dbpath[96];

static void setup(void)
{
    sqlite3 *db = NULL;

    snprintf(dir, sizeof dir, "/tmp/afl_vfs_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "PRAGMA journal_mode = WAL; CREATE TABLE t (x); "
                                  "INSERT INTO t VALUES (1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    ck_assert_int_eq(chmod(dbpath, 0444), 0);
}

static void teardown(void)
{
    char path[128];

    afl_vfs_uninstall();
    unlink(dbpath);
    snprintf(path, sizeof path, "%s-wal", dbpath);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", dbpath);
    unlink(path);
    rmdir(dir);
}

/* Runs fn as a user who cannot write the file; its failures fail the test. */
static void as_reader(void (*fn)(void))
{
    pid_t pid;
    int status = 0;

    if (geteuid() != 0) {
        fn();
        return;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setegid(NOBODY) != 0 || seteuid(NOBODY) != 0)
            _exit(3);
        fn();
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "checks failed: status %d",
                  status);
}

/* In the child: any failed expectation exits non-zero. */
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                    \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

static void plain_sqlite_falls_back(void)
{
    sqlite3 *db = NULL;

    /* The premise: without afl_vfs, SQLite opens the file read-only and says nothing. */
    EXPECT(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    EXPECT(sqlite3_db_readonly(db, "main") == 1);
    EXPECT(sqlite3_exec(db, "INSERT INTO t VALUES (2)", NULL, NULL, NULL) != SQLITE_OK);
    sqlite3_close(db);
}

static void installed_refuses_read_only(void)
{
    const apr_dbd_driver_t *driver = NULL;
    apr_dbd_t *handle = NULL;
    apr_pool_t *pool;
    sqlite3 *db = NULL;
    int rc;

    EXPECT(afl_vfs_install() == SQLITE_OK);
    EXPECT(afl_vfs_install() == SQLITE_OK); /* idempotent */
    EXPECT(!strcmp(sqlite3_vfs_find(NULL)->zName, afl_vfs_name));
    rc = sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL);
    EXPECT(rc == SQLITE_CANTOPEN);
    sqlite3_close(db);
    db = NULL;

    /* Through apr_dbd, as mod_dbd opens it: no handle at all. */
    apr_pool_create(&pool, NULL);
    EXPECT(apr_dbd_init(pool) == APR_SUCCESS);
    EXPECT(apr_dbd_get_driver(pool, "sqlite3", &driver) == APR_SUCCESS);
    EXPECT(apr_dbd_open(driver, pool, dbpath, &handle) != APR_SUCCESS || handle == NULL);

    /* Asked for reading only, it still opens (read-only, as asked). */
    EXPECT(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    EXPECT(sqlite3_db_readonly(db, "main") == 1);
    sqlite3_close(db);
    apr_pool_destroy(pool);

    /* Uninstalled, the previous default is back. */
    afl_vfs_uninstall();
    EXPECT(strcmp(sqlite3_vfs_find(NULL)->zName, afl_vfs_name));
    EXPECT(sqlite3_vfs_find(afl_vfs_name) == NULL);
}

START_TEST(without_it_sqlite_opens_read_only)
{
    as_reader(plain_sqlite_falls_back);
}
END_TEST

START_TEST(read_only_fallback_is_refused)
{
    as_reader(installed_refuses_read_only);
}
END_TEST

START_TEST(writable_file_is_served)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    ck_assert_int_eq(chmod(dbpath, 0644), 0);
    ck_assert_int_eq(afl_vfs_install(), SQLITE_OK);
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_db_readonly(db, "main"), 0);
    ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO t VALUES (3)", NULL, NULL, &err), SQLITE_OK);
    sqlite3_free(err);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vfs");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, without_it_sqlite_opens_read_only);
    tcase_add_test(tc, read_only_fallback_is_refused);
    tcase_add_test(tc, writable_file_is_served);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
