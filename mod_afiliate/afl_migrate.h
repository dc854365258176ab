/* Schema versions: numbered migrations recorded in a schema_version table.
 *
 * Pure unit (APR, afl_db). The migrations are sql/sqlite/migrations and
 * sql/pgsql/migrations/NNNN_name.sql, compiled in by scripts/embed-migrations.sh
 * (build/gen/afl_migrations.c); migration 1 is the baseline, the schema of the
 * first release. afiliatectl migrate applies them, each in its own transaction;
 * the module compares the database's version with afl_migrate_latest() before
 * it serves (docs/deployment.md, "Schema upgrades"). */
#ifndef AFL_MIGRATE_H
#define AFL_MIGRATE_H

#include "afl_db.h"

#include <apr_pools.h>

typedef struct {
    int version;        /* 1, 2, 3... */
    const char *name;   /* [a-z0-9_]: the file name without number and .sql */
    const char *sqlite; /* script per dialect; NULL when a set holds only one */
    const char *pgsql;
} afl_migration;

/* The migrations compiled into this build, versions 1..afl_migrations_count. */
extern const afl_migration *const afl_migrations;
extern const int afl_migrations_count;

/* The schema version this build's code expects: the highest compiled migration. */
int afl_migrate_latest(void);

typedef enum {
    AFL_SCHEMA_EMPTY,       /* none of the application's tables */
    AFL_SCHEMA_UNVERSIONED, /* the first release's tables, no schema_version: version 1 */
    AFL_SCHEMA_PARTIAL,     /* some of the first release's tables only: refused */
    AFL_SCHEMA_VERSIONED,   /* schema_version says which */
} afl_schema_state;

/* Where db stands. *version: 0 (empty or partial), 1 (unversioned) or the highest
 * recorded version. On a database error returns non-zero and sets *err. For
 * AFL_SCHEMA_PARTIAL, *err (when not NULL) names the missing tables. */
int afl_migrate_state(afl_db *db, apr_pool_t *pool, afl_schema_state *state, int *version,
                      const char **err);

/* Called after each step: a migration applied, or (adopted != 0) an unversioned
 * first-release database recorded as version 1 without running the baseline. */
typedef void afl_migrate_note_fn(void *baton, const afl_migration *m, int adopted);

/* Brings db up to the last of set[0..n-1] (versions 1..n, set[0] the baseline):
 * each step in its own transaction that also records it in schema_version, so a
 * failed step leaves the database at the previous version. Running it on a
 * current database changes nothing. Refuses a partial database and one newer
 * than the set. SQLite: journal_mode=WAL first; foreign keys are off during a
 * step (a table rebuild needs it) and PRAGMA foreign_key_check must be clean
 * before its commit. PostgreSQL: steps of concurrent runs are serialised by a
 * transaction-level advisory lock. *from and *to (may be NULL) get the versions
 * before and after. 0 on success; else *err says why (English). */
int afl_migrate_run(afl_db *db, apr_pool_t *pool, const afl_migration *set, int n,
                    afl_migrate_note_fn *note, void *baton, int *from, int *to, const char **err);

/* Checks that db is exactly at version expected. Returns 0 if so; otherwise
 * non-zero with *why set to the reason, in English, without the command to run
 * (the caller knows how it reached the database and names it). */
int afl_migrate_check(afl_db *db, apr_pool_t *pool, int expected, const char **why);

#endif
