/* Unit tests: group commit (afl_commit) on a real SQLite database. A body's
 * writes are kept only when it returns AFL_STORE_OK, a failing body is rolled
 * back alone while the others of its batch commit, and the bodies of several
 * threads, each with its own connection, share transactions. */
#include <check.h>
#include "check_run.h"
#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afl_commit.h"
#include "afl_db.h"
#include "afl_store.h"

#define THREADS 8
#define PER_THREAD 40

static apr_pool_t *pool;
static char dbpath[64];
static afl_commit *committer;

static afl_db *open_db(afl_store *st)
{
    const char *err = NULL;
    afl_db *db = NULL;

    ck_assert_msg(afl_db_open(pool, "sqlite3", dbpath, &db, &err) == 0, "open: %s", err ? err : "");
    memset(st, 0, sizeof *st);
    st->db = db;
    st->commit = committer;
    return db;
}

static long long count_rows(afl_db *db, const char *where)
{
    const char *v = NULL;
    ck_assert_int_eq(
        afl_db_value_sql(db, pool, apr_pstrcat(pool, "SELECT count(*) FROM t ", where, NULL), &v),
        0);
    return v ? atoll(v) : -1;
}

static void setup(void)
{
    afl_store st;
    afl_db *db;
    int fd;

    apr_pool_create(&pool, NULL);
    snprintf(dbpath, sizeof dbpath, "/tmp/afl_commit_XXXXXX");
    fd = mkstemp(dbpath);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(dbpath);
    ck_assert_int_eq(afl_commit_create(pool, NULL, &committer), APR_SUCCESS);
    db = open_db(&st);
    ck_assert_int_eq(afl_db_run_sql(db, pool, "PRAGMA journal_mode = WAL"), 0);
    ck_assert_int_eq(
        afl_db_run_sql(db, pool, "CREATE TABLE t (k INTEGER PRIMARY KEY, thread INTEGER)"), 0);
    afl_db_close(db);
}

static void teardown(void)
{
    char path[96];

    unlink(dbpath);
    snprintf(path, sizeof path, "%s-wal", dbpath);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", dbpath);
    unlink(path);
    apr_pool_destroy(pool);
}

/* ------------------------------------------------------------------ bodies */

typedef struct {
    int key, thread;
    afl_store_status result;         /* what the body returns after its insert */
    volatile apr_uint32_t *wait_for; /* NULL, or: wait until this many threads are queuing */
} insert_args;

static volatile apr_uint32_t queuing;

static afl_store_status insert_body(apr_pool_t *p, afl_store *st, void *baton)
{
    insert_args *a = baton;
    char sql[96];
    int n = 0;

    /* The first leader holds the write lock until every other thread is about to
     * queue a body: they then share its transaction. */
    if (a->wait_for) {
        while (apr_atomic_read32(a->wait_for) < THREADS)
            apr_sleep(1000);
        apr_sleep(50000);
    }
    (void)p;
    snprintf(sql, sizeof sql, "INSERT INTO t (k, thread) VALUES (%d, %d)", a->key, a->thread);
    if (apr_dbd_query(afl_db_driver(st->db), afl_db_handle(st->db), &n, sql) != 0)
        return AFL_STORE_ERROR;
    return a->result;
}

/* ------------------------------------------------------------------ one thread */

START_TEST(kept_only_when_ok)
{
    afl_store st;
    afl_db *db = open_db(&st);
    insert_args ok = {1, 0, AFL_STORE_OK, NULL};
    insert_args notfound = {2, 0, AFL_STORE_NOTFOUND, NULL};
    insert_args failed = {3, 0, AFL_STORE_ERROR, NULL};
    insert_args duplicate = {1, 0, AFL_STORE_OK, NULL};
    afl_commit_stats stats;

    ck_assert_int_eq(afl_commit_run(committer, pool, &st, insert_body, &ok), AFL_STORE_OK);
    ck_assert_int_eq(afl_commit_run(committer, pool, &st, insert_body, &notfound),
                     AFL_STORE_NOTFOUND);
    ck_assert_int_eq(afl_commit_run(committer, pool, &st, insert_body, &failed), AFL_STORE_ERROR);
    /* A statement that fails (primary key) fails its body only. */
    ck_assert_int_eq(afl_commit_run(committer, pool, &st, insert_body, &duplicate),
                     AFL_STORE_ERROR);
    ck_assert_int_eq(count_rows(db, ""), 1);
    ck_assert_int_eq(count_rows(db, "WHERE k = 1"), 1);
    ck_assert_int_eq(st.in_txn, 0);
    afl_commit_get_stats(committer, &stats);
    ck_assert_uint_eq(stats.commits, 4);
    ck_assert_uint_eq(stats.bodies, 4);
    ck_assert_uint_eq(stats.failed, 0);
    afl_db_close(db);
}
END_TEST

/* ------------------------------------------------------------------ threads */

typedef struct {
    int thread;
    afl_store st;
    afl_db *db;
    apr_pool_t *p;
    int ok, errors;
} worker;

static void *APR_THREAD_FUNC work(apr_thread_t *t, void *data)
{
    worker *w = data;

    for (int i = 0; i < PER_THREAD; i++) {
        /* Thread 3's bodies fail after their insert: rolled back alone. */
        insert_args a = {w->thread * 1000 + i, w->thread,
                         w->thread == 3 ? AFL_STORE_ERROR : AFL_STORE_OK,
                         w->thread == 0 && i == 0 ? &queuing : NULL};
        afl_store_status s;

        if (i == 0)
            apr_atomic_inc32(&queuing);
        s = afl_commit_run(committer, w->p, &w->st, insert_body, &a);
        if (s == AFL_STORE_OK)
            w->ok++;
        else
            w->errors++;
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Each worker on its own connection and pool; the first is started alone
 * and leads, the others follow, stagger_us apart. Returns when all ended. */
static void run_workers(worker *w, apr_thread_start_t fn, apr_interval_time_t stagger_us)
{
    apr_thread_t *t[THREADS];

    apr_atomic_set32(&queuing, 0);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].thread = i;
        w[i].db = open_db(&w[i].st);
        apr_pool_create(&w[i].p, pool);
    }
    ck_assert_int_eq(apr_thread_create(&t[0], NULL, fn, &w[0], pool), APR_SUCCESS);
    apr_sleep(20000);
    for (int i = 1; i < THREADS; i++) {
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, fn, &w[i], pool), APR_SUCCESS);
        apr_sleep(stagger_us);
    }
    for (int i = 0; i < THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, t[i]);
    }
}

static void close_workers(worker *w)
{
    for (int i = 0; i < THREADS; i++)
        afl_db_close(w[i].db);
}

START_TEST(threads_share_transactions)
{
    worker w[THREADS];
    afl_commit_stats stats;
    afl_store st;
    afl_db *db;

    /* Thread 0 starts first and leads; the others queue behind its first body. */
    run_workers(w, work, 0);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(w[i].ok, i == 3 ? 0 : PER_THREAD);
        ck_assert_int_eq(w[i].errors, i == 3 ? PER_THREAD : 0);
    }
    db = open_db(&st);
    ck_assert_int_eq(count_rows(db, ""), (THREADS - 1) * PER_THREAD);
    ck_assert_int_eq(count_rows(db, "WHERE thread = 3"), 0);
    afl_commit_get_stats(committer, &stats);
    ck_assert_uint_eq(stats.bodies, THREADS * PER_THREAD);
    ck_assert_uint_eq(stats.failed, 0);
    /* Bodies shared commits: the first batch held every thread's first body. */
    ck_assert_uint_ge(stats.max_batch, 2);
    ck_assert_uint_lt(stats.commits, THREADS * PER_THREAD);
    afl_db_close(db);
    close_workers(w);
}
END_TEST

/* ------------------------------------------------------------------ posted bodies */

/* A posted body with a malloc'd baton, as afl_store_audit_later makes it. */
static void post(afl_store *st, apr_pool_t *p, int key, int thread)
{
    insert_args *a = calloc(1, sizeof *a);

    ck_assert_ptr_nonnull(a);
    a->key = key;
    a->thread = thread;
    a->result = AFL_STORE_OK;
    afl_commit_post(committer, p, st, insert_body, a);
}

START_TEST(posted_alone_commits_at_once)
{
    afl_store st;
    afl_db *db = open_db(&st);
    afl_commit_stats stats;

    /* No leader at work: the poster leads, the row is there on return. */
    post(&st, pool, 7, 0);
    ck_assert_int_eq(count_rows(db, "WHERE k = 7"), 1);
    afl_commit_get_stats(committer, &stats);
    ck_assert_uint_eq(stats.posted, 1);
    ck_assert_uint_eq(stats.bodies, 1);
    afl_db_close(db);
}
END_TEST

static void *APR_THREAD_FUNC post_work(apr_thread_t *t, void *data)
{
    worker *w = data;

    for (int i = 0; i < PER_THREAD; i++) {
        if (i % 2) {
            post(&w->st, w->p, w->thread * 1000 + i, w->thread);
            w->ok++;
        } else {
            insert_args a = {w->thread * 1000 + i, w->thread, AFL_STORE_OK, NULL};
            if (afl_commit_run(committer, w->p, &w->st, insert_body, &a) == AFL_STORE_OK)
                w->ok++;
            else
                w->errors++;
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Posted and waited-for bodies from many threads: once every thread has
 * returned, every posted row is committed (none left in the queue). */
START_TEST(posted_never_left_behind)
{
    worker w[THREADS];
    apr_thread_t *t[THREADS];
    afl_commit_stats stats;
    afl_store st;
    afl_db *db;

    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].thread = i;
        w[i].db = open_db(&w[i].st);
        apr_pool_create(&w[i].p, pool);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, post_work, &w[i], pool), APR_SUCCESS);
    for (int i = 0; i < THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, t[i]);
        ck_assert_int_eq(w[i].errors, 0);
    }
    db = open_db(&st);
    ck_assert_int_eq(count_rows(db, ""), THREADS * PER_THREAD);
    afl_commit_get_stats(committer, &stats);
    ck_assert_uint_eq(stats.posted, THREADS * PER_THREAD / 2);
    ck_assert_uint_eq(stats.bodies, THREADS * PER_THREAD);
    ck_assert_uint_eq(stats.failed, 0);
    afl_db_close(db);
    for (int i = 0; i < THREADS; i++)
        afl_db_close(w[i].db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("commit");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, kept_only_when_ok);
    tcase_add_test(tc, threads_share_transactions);
    tcase_add_test(tc, posted_alone_commits_at_once);
    tcase_add_test(tc, posted_never_left_behind);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
