/* afl_commit: group commit of SQLite write transactions in one process.
 *
 * With synchronous=FULL every SQLite commit costs one fsync of the WAL, and
 * only one connection of all processes may write at a time. Each thread that
 * wants to write queues its transaction body; the first one becomes the
 * leader, takes every queued body, and runs them all in one BEGIN IMMEDIATE
 * ... COMMIT on its own connection, each body inside its own SAVEPOINT (a
 * failing body is rolled back alone). The others wait until that commit
 * returned: their writes are then as durable as if each had committed alone,
 * but the batch shares one fsync. While a leader holds the write lock, the
 * next bodies queue up, so batches grow with the load.
 *
 * An optional cross-process mutex orders the leaders of several processes:
 * a waiting leader blocks on it and wakes when it is released, instead of
 * sleeping in SQLite's busy handler (which polls at up to 100 ms steps).
 * BEGIN, SAVEPOINT and COMMIT go to the native sqlite3 handle, outside the
 * apr_dbd driver's process-wide mutex, so other threads of the process read
 * while the fsync runs. */
#ifndef AFL_COMMIT_H
#define AFL_COMMIT_H

#include <apr_global_mutex.h>
#include <apr_pools.h>

#include "afl_store.h"

/* A transaction body: the writes of one request, run on the leader's st
 * (never capture another afl_store). Its writes are kept when it returns
 * AFL_STORE_OK and rolled back otherwise. */
typedef afl_store_status afl_commit_body(apr_pool_t *p, afl_store *st, void *baton);

/* One per process, created before the threads start. xlock: NULL or a
 * cross-process mutex shared by every process writing the database. */
apr_status_t afl_commit_create(apr_pool_t *p, apr_global_mutex_t *xlock, afl_commit **out);

/* Runs body in a write transaction shared with whatever other bodies are
 * queued. Returns the body's status, or AFL_STORE_ERROR when the batch could
 * not begin or commit (then nothing of the body was written). */
afl_store_status afl_commit_run(afl_commit *c, apr_pool_t *p, afl_store *st, afl_commit_body *body,
                                void *baton);

/* Queues body without waiting for its commit: for writes whose loss in a crash
 * is acceptable and which nobody reads back in the same request (the audit row
 * of a document printed or downloaded again, a document's sello: afl_doc.h
 * signs a lost one again). baton is malloc'd and holds everything the body
 * uses; the committer free()s it once the body ran, which runs on the leading
 * thread's pool and store. p and st are the caller's, used if this thread
 * leads. No leader at work: this thread leads the batch at once. A leader at
 * work: the first such thread waits to lead the next batch, the others return
 * at once. A leader hands over to that successor, or leads again itself, until
 * no posted body is queued; so a posted body is committed within the next
 * batch or two, never left behind, and no thread leads for long. */
void afl_commit_post(afl_commit *c, apr_pool_t *p, afl_store *st, afl_commit_body *body,
                     void *baton);

/* What the committer did so far in this process (for the benchmarks). */
typedef struct {
    apr_uint64_t commits;       /* transactions committed (or rolled back) */
    apr_uint64_t bodies;        /* bodies run in them */
    apr_uint64_t failed;        /* batches that could not begin or commit */
    apr_uint64_t max_batch;     /* largest batch */
    apr_uint64_t lock_wait_us;  /* leaders waiting for the cross-process mutex */
    apr_uint64_t begin_us;      /* BEGIN IMMEDIATE (waiting for SQLite's write lock) */
    apr_uint64_t bodies_us;     /* running the bodies */
    apr_uint64_t commit_us;     /* COMMIT (WAL write + fsync, checkpoints) */
    apr_uint64_t queue_us;      /* bodies waiting in the queue for a leader */
    apr_uint64_t pages_written; /* pages SQLite wrote to the WAL (SQLITE_DBSTATUS_CACHE_WRITE) */
    apr_uint64_t posted;        /* bodies queued by afl_commit_post (not waited for) */
} afl_commit_stats;

void afl_commit_get_stats(afl_commit *c, afl_commit_stats *out);

#endif
