/* afl_crash: named crash points for the crash tests (test builds only).
 *
 * Built with -DAFL_TEST_CRASH_POINTS (make test-crash, build/crash/), the
 * directive AfiliateTestCrashAt NAME makes the process abort() when it
 * reaches the point of that name; any other build compiles every point to
 * nothing, and the shipped module has neither the points nor the directive.
 *
 * The points:
 *   nss-counter           after the NSS folio counter is bumped (in the transaction)
 *   asegurado-insert      after the asegurado row is inserted (in the transaction)
 *   assign-before-commit  a transaction holding a new assignment, just before COMMIT
 *   assign-after-commit   the same, just after COMMIT, before the answer is sent
 *   outbox-claim          after the outbox sender claimed a row (committed)
 *   smtp-data             after the relay accepted DATA, before the row is marked sent
 *   documento-row         after a document row is committed, before its sello is
 *                         stored and the PDF sent
 *
 * The commit points fire only for a transaction that holds a new
 * assignment: the assignment body marks it (AFL_CRASH_MARK), the code that
 * commits tests the mark (AFL_CRASH_POINT_MARKED) and clears it. The mark is
 * per thread: the body runs on the thread that commits it (the group
 * committer's leader runs the bodies it commits). */
#ifndef AFL_CRASH_H
#define AFL_CRASH_H

#ifdef AFL_TEST_CRASH_POINTS

/* 1 when name is one of the points above. */
int afl_crash_known(const char *name);
/* Sets the point this process aborts at (copied; NULL or "" for none). */
void afl_crash_set(const char *name);
/* The point set, or "" for none. */
const char *afl_crash_get(void);
/* Logs and abort()s when name is the point set. */
void afl_crash_at(const char *name);
/* Marks (1) or clears (0) this thread's transaction as holding an assignment. */
void afl_crash_mark(int on);
/* afl_crash_at(name) when this thread's transaction is marked. */
void afl_crash_at_marked(const char *name);

#define AFL_CRASH_POINT(name) afl_crash_at(name)
#define AFL_CRASH_MARK(on) afl_crash_mark(on)
#define AFL_CRASH_POINT_MARKED(name) afl_crash_at_marked(name)

#else

#define AFL_CRASH_POINT(name) ((void)0)
#define AFL_CRASH_MARK(on) ((void)0)
#define AFL_CRASH_POINT_MARKED(name) ((void)0)

#endif

#endif
