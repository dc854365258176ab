/* afl_commit: group commit of SQLite write transactions (see afl_commit.h). */
#include "afl_commit.h"
#include "afl_crash.h"
#include "afl_log.h"

#include <apr_dbd.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <sqlite3.h>
#include <stdlib.h>

typedef struct item {
    afl_commit_body *body;
    void *baton;
    apr_pool_t *pool;
    afl_store_status status;
    int done;
    int async; /* posted: nobody waits; the leader frees it and its baton */
    apr_time_t queued;
    struct item *next;
} item;

struct afl_commit {
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *cv;
    item *head, **tail;
    int leading;
    apr_uint64_t async_queued; /* posted items still in the queue */
    int successor;             /* a posting thread waits to lead the next batch */
    apr_global_mutex_t *xlock;
    afl_commit_stats stats; /* under mu */
};

apr_status_t afl_commit_create(apr_pool_t *p, apr_global_mutex_t *xlock, afl_commit **out)
{
    afl_commit *c = apr_pcalloc(p, sizeof *c);
    apr_status_t rv = apr_thread_mutex_create(&c->mu, APR_THREAD_MUTEX_DEFAULT, p);

    if (rv == APR_SUCCESS)
        rv = apr_thread_cond_create(&c->cv, p);
    if (rv != APR_SUCCESS)
        return rv;
    c->tail = &c->head;
    c->xlock = xlock;
    *out = c;
    return APR_SUCCESS;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

    if (rc != SQLITE_OK)
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00001) "database error in '%s': %s", sql,
                                       err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return rc;
}

/* Bodies in one transaction at most: bounds a batch's latency. */
#define MAX_BATCH 64

/* Takes up to room queued items off the queue (as a NULL-terminated list). */
static item *take(afl_commit *c, apr_uint64_t room, afl_commit_stats *t, apr_uint64_t *n)
{
    apr_time_t now = apr_time_now();
    item *first, *last = NULL;

    apr_thread_mutex_lock(c->mu);
    first = c->head;
    for (item *it = first; it && room; it = it->next, room--) {
        t->queue_us += (apr_uint64_t)(now - it->queued);
        if (it->async)
            c->async_queued--;
        (*n)++;
        last = it;
    }
    if (last) {
        c->head = last->next;
        if (!c->head)
            c->tail = &c->head;
        last->next = NULL;
    } else {
        first = NULL;
    }
    apr_thread_mutex_unlock(c->mu);
    return first;
}

/* Runs one body inside its own savepoint. 0 when the transaction is still
 * sound. */
static int run_one(sqlite3 *db, afl_store *st, apr_pool_t *lp, item *it)
{
    if (exec(db, "SAVEPOINT afl_body") != SQLITE_OK)
        return 0; /* this body fails alone */
    /* a posted body has no pool of its own: it uses the leader's */
    it->status = it->body(it->pool ? it->pool : lp, st, it->baton);
    /* A failed ROLLBACK TO or RELEASE leaves the transaction in an unknown
     * state: the whole batch is given up. */
    if ((it->status != AFL_STORE_OK && exec(db, "ROLLBACK TO afl_body") != SQLITE_OK) ||
        exec(db, "RELEASE afl_body") != SQLITE_OK)
        return -1;
    return 0;
}

/* One transaction on the leader's connection. The queue is taken only once
 * the write lock is held, and again until it is empty: bodies that arrived
 * while the leader waited for another process's commit, or while it ran the
 * first ones, share this commit. Returns the items run (every status set). */
static item *run_batch(afl_commit *c, afl_store *st, apr_pool_t *lp, afl_commit_stats *t)
{
    sqlite3 *db = apr_dbd_native_handle(afl_db_driver(st->db), afl_db_handle(st->db));
    apr_time_t t0 = apr_time_now(), t1, t2, t3, t4;
    item *all = NULL, **end = &all, *b;
    apr_uint64_t n = 0;
    int locked = 0, broken = 0, pages = 0, hw = 0;

    if (c->xlock && apr_global_mutex_lock(c->xlock) == APR_SUCCESS)
        locked = 1;
    t1 = apr_time_now();
    if (!db || exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
        if (!db)
            afl_log(AFL_LOG_ERR, AFL_LOGNO(00002) "group commit needs the native SQLite handle");
        t->failed++;
        all = take(c, MAX_BATCH, t, &n);
        for (item *it = all; it; it = it->next)
            it->status = AFL_STORE_ERROR;
        t->lock_wait_us += (apr_uint64_t)(t1 - t0);
        if (locked)
            apr_global_mutex_unlock(c->xlock);
        return all;
    }
    t2 = apr_time_now();
    /* SQLite's own count of pages this connection writes (to the WAL). */
    sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &pages, &hw, 1);
    st->in_txn = 1;
    AFL_CRASH_MARK(0);
    while (!broken && n < MAX_BATCH && (b = take(c, MAX_BATCH - n, t, &n))) {
        *end = b;
        for (item *it = b; it; it = it->next) {
            it->status = AFL_STORE_ERROR;
            end = &it->next;
            if (!broken && run_one(db, st, lp, it) != 0)
                broken = 1;
        }
    }
    st->in_txn = 0;
    t3 = apr_time_now();
    if (!broken)
        AFL_CRASH_POINT_MARKED("assign-before-commit");
    if (broken || exec(db, "COMMIT") != SQLITE_OK) {
        /* A COMMIT that failed on a full disk has already rolled back. */
        if (!sqlite3_get_autocommit(db))
            exec(db, "ROLLBACK");
        broken = 1;
    } else {
        AFL_CRASH_POINT_MARKED("assign-after-commit");
    }
    AFL_CRASH_MARK(0);
    t4 = apr_time_now();
    if (locked)
        apr_global_mutex_unlock(c->xlock);
    if (sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &pages, &hw, 1) == SQLITE_OK &&
        pages > 0)
        t->pages_written += (apr_uint64_t)pages;
    if (broken) {
        t->failed++;
        for (item *it = all; it; it = it->next)
            if (it->status == AFL_STORE_OK)
                it->status = AFL_STORE_ERROR;
    }
    t->commits++;
    t->bodies += n;
    if (n > t->max_batch)
        t->max_batch = n;
    t->lock_wait_us += (apr_uint64_t)(t1 - t0);
    t->begin_us += (apr_uint64_t)(t2 - t1);
    t->bodies_us += (apr_uint64_t)(t3 - t2);
    t->commit_us += (apr_uint64_t)(t4 - t3);
    return all;
}

/* Leads batches (called and returning with mu held, leading clear). After
 * each batch: done when no posted item is queued; when some are, a waiting
 * successor leads the next batch, else this thread does. A posted item that
 * arrived while a batch committed is never left behind, and no thread leads
 * for long: while posts keep arriving there is a successor. */
static void lead(afl_commit *c, afl_store *st, apr_pool_t *lp)
{
    c->leading = 1;
    for (;;) {
        afl_commit_stats t = {0};
        item *batch, *next;

        apr_thread_mutex_unlock(c->mu);
        batch = run_batch(c, st, lp, &t);
        apr_thread_mutex_lock(c->mu);
        /* A waiter may return as soon as it is done: read next first. */
        for (item *it = batch; it; it = next) {
            next = it->next;
            if (it->async) {
                if (it->status != AFL_STORE_OK)
                    afl_log(
                        AFL_LOG_ERR,
                        AFL_LOGNO(00003) "a posted write (audit row or sello) could not be committed");
                free(it->baton);
                free(it);
            } else {
                it->done = 1;
            }
        }
        c->stats.commits += t.commits;
        c->stats.bodies += t.bodies;
        c->stats.failed += t.failed;
        c->stats.lock_wait_us += t.lock_wait_us;
        c->stats.begin_us += t.begin_us;
        c->stats.bodies_us += t.bodies_us;
        c->stats.commit_us += t.commit_us;
        c->stats.queue_us += t.queue_us;
        c->stats.pages_written += t.pages_written;
        if (t.max_batch > c->stats.max_batch)
            c->stats.max_batch = t.max_batch;
        if (c->async_queued == 0 || c->successor)
            break;
    }
    c->leading = 0;
    apr_thread_cond_broadcast(c->cv);
}

afl_store_status afl_commit_run(afl_commit *c, apr_pool_t *p, afl_store *st, afl_commit_body *body,
                                void *baton)
{
    item me = {body, baton, p, AFL_STORE_ERROR, 0, 0, apr_time_now(), NULL};

    apr_thread_mutex_lock(c->mu);
    *c->tail = &me;
    c->tail = &me.next;
    while (!me.done) {
        if (!c->leading)
            lead(c, st, p);
        else
            apr_thread_cond_wait(c->cv, c->mu);
    }
    apr_thread_mutex_unlock(c->mu);
    return me.status;
}

void afl_commit_post(afl_commit *c, apr_pool_t *p, afl_store *st, afl_commit_body *body,
                     void *baton)
{
    item *it = calloc(1, sizeof *it);

    if (!it) {
        afl_log(AFL_LOG_ERR,
                AFL_LOGNO(00004) "out of memory: a posted write (audit row or sello) is lost");
        free(baton);
        return;
    }

    it->body = body;
    it->baton = baton;
    it->pool = NULL;
    it->status = AFL_STORE_ERROR;
    it->async = 1;
    it->queued = apr_time_now();
    apr_thread_mutex_lock(c->mu);
    *c->tail = it;
    c->tail = &it->next;
    c->async_queued++;
    c->stats.posted++;
    /* No leader: this thread leads. A leader at work: the first poster
     * waits to lead the next batch (the leader hands over to it), later
     * ones return at once, their item queued for that batch. */
    if (!c->leading) {
        lead(c, st, p);
    } else if (!c->successor) {
        c->successor = 1;
        while (c->leading)
            apr_thread_cond_wait(c->cv, c->mu);
        c->successor = 0;
        if (c->async_queued > 0)
            lead(c, st, p);
    }
    apr_thread_mutex_unlock(c->mu);
}

void afl_commit_get_stats(afl_commit *c, afl_commit_stats *out)
{
    apr_thread_mutex_lock(c->mu);
    *out = c->stats;
    apr_thread_mutex_unlock(c->mu);
}
