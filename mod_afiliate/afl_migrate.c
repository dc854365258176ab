/* Schema versions and migrations; see afl_migrate.h. */
#include "afl_migrate.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdlib.h>
#include <string.h>

/* Every table the first release created (its schema: tests/fixtures/schema-v1-*.sql).
 * A database holding all of them and no schema_version is that release's. */
static const char *const v1_tables[] = {
    "renapo_persona",
    "sepomex",
    "umf",
    "umf_cp",
    "folio_contador",
    "asegurado",
    "captcha_usado",
    "tramite",
    "limite",
    "auditoria",
    "outbox",
    "cobertura",
    "documento",
    "documento_contador",
};

/* Same text on both drivers: INTEGER PRIMARY KEY and BIGINT mean the same there. */
static const char create_version_table[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY CHECK (version >= 1),"
    " name TEXT NOT NULL,"
    " applied BIGINT NOT NULL," /* UNIX seconds */
    " how TEXT NOT NULL CHECK (how IN ('applied', 'adopted')))";

int afl_migrate_latest(void)
{
    return afl_migrations_count;
}

static int collect_table(void *baton, int ncols, const char *const *v)
{
    apr_hash_t *h = baton;
    apr_pool_t *p = apr_hash_pool_get(h);

    if (ncols > 0 && v[0])
        apr_hash_set(h, apr_pstrdup(p, v[0]), APR_HASH_KEY_STRING, "");
    return 0;
}

struct max_version {
    int version;
};

static int take_max(void *baton, int ncols, const char *const *v)
{
    if (ncols > 0 && v[0])
        ((struct max_version *)baton)->version = atoi(v[0]);
    return 0;
}

static int fail(afl_db *db, apr_pool_t *pool, int rv, const char *what, const char **err)
{
    if (err)
        *err = apr_psprintf(pool, "%s: %s", what, afl_db_errmsg(db, rv));
    return rv ? rv : APR_EGENERAL;
}

int afl_migrate_state(afl_db *db, apr_pool_t *pool, afl_schema_state *state, int *version,
                      const char **err)
{
    apr_hash_t *tables = apr_hash_make(pool);
    const char *missing = NULL;
    int present = 0, rv;

    *state = AFL_SCHEMA_EMPTY;
    *version = 0;
    /* No kept prepared statement: this runs on every new mod_dbd connection
     * (whose labels are the store's) and before the schema exists. */
    rv = afl_db_select_once(db, pool, AFL_SQL_MIGRATE_TABLES, 0, NULL, collect_table, tables, NULL);
    if (rv)
        return fail(db, pool, rv, "cannot list the tables", err);

    if (apr_hash_get(tables, "schema_version", APR_HASH_KEY_STRING)) {
        struct max_version mv = {0};
        rv = afl_db_select_once(db, pool, AFL_SQL_MIGRATE_VERSION, 0, NULL, take_max, &mv, NULL);
        if (rv)
            return fail(db, pool, rv, "cannot read schema_version", err);
        *state = AFL_SCHEMA_VERSIONED;
        *version = mv.version;
        return 0;
    }
    for (size_t i = 0; i < sizeof v1_tables / sizeof *v1_tables; i++) {
        if (apr_hash_get(tables, v1_tables[i], APR_HASH_KEY_STRING))
            present++;
        else
            missing = missing ? apr_pstrcat(pool, missing, ", ", v1_tables[i], NULL) : v1_tables[i];
    }
    if (present == 0)
        return 0;
    if (!missing) {
        *state = AFL_SCHEMA_UNVERSIONED;
        *version = 1;
        return 0;
    }
    *state = AFL_SCHEMA_PARTIAL;
    if (err)
        *err = apr_psprintf(pool,
                            "the database has some of the application's tables but not all "
                            "(missing: %s) and no schema_version: it was not made by "
                            "afiliatectl; refusing to touch it",
                            missing);
    return 0;
}

static int count_rows(void *baton, int ncols, const char *const *v)
{
    (void)ncols;
    (void)v;
    ++*(int *)baton;
    return 0;
}

/* One step inside an open transaction: adopt (version 1 recorded, nothing run) or
 * apply set[cur] (version cur + 1). */
static int one_step(afl_db *db, apr_pool_t *pool, const afl_migration *m, int adopted,
                    const char **err)
{
    const char *script = afl_db_is_sqlite(db) ? m->sqlite : m->pgsql;
    const char *e = NULL;
    int rv;

    if (!adopted) {
        if (!script) {
            *err = apr_psprintf(pool, "migration %04d_%s has no %s script", m->version, m->name,
                                afl_db_driver_name(db));
            return APR_EINVAL;
        }
        rv = afl_db_apply_schema(db, pool, script, strlen(script), NULL, &e);
        if (rv) {
            *err = apr_psprintf(pool, "migration %04d_%s: %s", m->version, m->name, e);
            return rv;
        }
    }
    rv = afl_db_run_sql(db, pool, create_version_table);
    if (!rv) {
        const char *args[] = {
            apr_itoa(pool, m->version), m->name,
            apr_psprintf(pool, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_sec(apr_time_now())),
            adopted ? "adopted" : "applied"};
        rv = afl_db_exec_once(db, pool, AFL_SQL_MIGRATE_RECORD, NULL, 4, args);
    }
    if (rv)
        return fail(db, pool, rv, "cannot record the version in schema_version", err);
    if (afl_db_is_sqlite(db)) {
        int bad = 0;
        rv =
            afl_db_select_once(db, pool, AFL_SQL_MIGRATE_FK_CHECK, 0, NULL, count_rows, &bad, NULL);
        if (rv)
            return fail(db, pool, rv, "PRAGMA foreign_key_check", err);
        if (bad) {
            *err = apr_psprintf(pool,
                                "migration %04d_%s leaves %d rows whose foreign key "
                                "points nowhere",
                                m->version, m->name, bad);
            return APR_EGENERAL;
        }
    }
    return 0;
}

static int valid_set(apr_pool_t *pool, const afl_migration *set, int n, const char **err)
{
    if (n < 1) {
        *err = "no migration to apply";
        return APR_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (set[i].version != i + 1 || !set[i].name) {
            *err = apr_psprintf(pool, "migrations must be numbered 1 to %d without a gap", n);
            return APR_EINVAL;
        }
        for (const char *c = set[i].name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
                *err = apr_psprintf(pool, "migration %04d: name must be [a-z0-9_]", i + 1);
                return APR_EINVAL;
            }
    }
    return 0;
}

int afl_migrate_run(afl_db *db, apr_pool_t *pool, const afl_migration *set, int n,
                    afl_migrate_note_fn *note, void *baton, int *from, int *to, const char **err)
{
    const char *dummy;
    int rv, first = -1, cur = 0;
    int sqlite = afl_db_is_sqlite(db);

    if (!err)
        err = &dummy;
    *err = NULL;
    if ((rv = valid_set(pool, set, n, err)) != 0)
        return rv;
    if (sqlite) {
        /* journal_mode cannot change inside a transaction; foreign_keys neither,
         * and it expires prepared statements: both before anything is prepared.
         * Connection settings of the migration, so here and not in afl_sql.c. */
        rv = afl_db_run_sql(db, pool, "PRAGMA journal_mode = WAL");
        if (!rv)
            rv = afl_db_run_sql(db, pool, "PRAGMA foreign_keys = OFF");
        if (rv)
            return fail(db, pool, rv, "cannot prepare the SQLite connection", err);
    }
    for (;;) {
        apr_pool_t *step;
        afl_schema_state state;
        int adopt, end;

        apr_pool_create(&step, pool);
        rv = afl_db_begin(db, step);
        if (rv) {
            afl_db_end(db, 1);
            apr_pool_destroy(step);
            return fail(db, pool, rv, "cannot start a transaction", err);
        }
        if (!sqlite)
            rv = afl_db_select_once(db, step, AFL_SQL_MIGRATE_LOCK, 0, NULL, NULL, NULL, NULL);
        if (rv)
            rv = fail(db, pool, rv, "cannot take the migration lock", err);
        else
            rv = afl_migrate_state(db, step, &state, &cur, err);
        if (!rv && state == AFL_SCHEMA_PARTIAL) {
            *err = apr_pstrdup(pool, *err);
            rv = APR_EGENERAL;
        }
        if (!rv && cur > n) {
            *err = apr_psprintf(pool,
                                "the database is at schema version %d, newer than the %d this "
                                "afiliatectl knows: use the afiliatectl of the newer release",
                                cur, n);
            rv = APR_EGENERAL;
        }
        if (first < 0)
            first = cur;
        adopt = !rv && state == AFL_SCHEMA_UNVERSIONED;
        if (rv || (!adopt && cur == n)) {
            afl_db_end(db, 1); /* nothing was written */
            apr_pool_destroy(step);
            break;
        }
        rv = one_step(db, step, adopt ? &set[0] : &set[cur], adopt, err);
        if (rv)
            *err = apr_pstrdup(pool, *err);
        end = afl_db_end(db, rv != 0);
        if (!rv && end)
            rv = fail(db, pool, end, "cannot commit", err);
        if (!rv && note)
            note(baton, adopt ? &set[0] : &set[cur], adopt);
        apr_pool_destroy(step);
        if (rv)
            break;
    }
    if (sqlite)
        afl_db_run_sql(db, pool, "PRAGMA foreign_keys = ON");
    if (from)
        *from = first < 0 ? 0 : first;
    if (to)
        *to = cur;
    return rv;
}

int afl_migrate_check(afl_db *db, apr_pool_t *pool, int expected, const char **why)
{
    afl_schema_state state;
    const char *err = NULL;
    int version = 0;
    int rv = afl_migrate_state(db, pool, &state, &version, &err);

    if (rv) {
        *why = apr_psprintf(pool, "cannot read its schema version (%s)", err);
        return rv;
    }
    switch (state) {
    case AFL_SCHEMA_EMPTY:
        *why =
            apr_psprintf(pool, "it has no schema (the code expects schema version %d)", expected);
        return 1;
    case AFL_SCHEMA_PARTIAL:
        *why = err;
        return 1;
    case AFL_SCHEMA_UNVERSIONED:
        *why = apr_psprintf(pool,
                            "it was made by the first release and has no schema_version "
                            "table (the code expects schema version %d)",
                            expected);
        return 1;
    case AFL_SCHEMA_VERSIONED:
        break;
    }
    if (version < expected) {
        *why = apr_psprintf(pool, "its schema version is %d, older than the %d this code expects",
                            version, expected);
        return 1;
    }
    if (version > expected) {
        *why = apr_psprintf(pool,
                            "its schema version is %d, newer than the %d this code expects: "
                            "install the release that matches the database",
                            version, expected);
        return 1;
    }
    return 0;
}
