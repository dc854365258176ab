/* Unit tests: schema migrations (afl_migrate) on real SQLite files: a new database,
 * running twice, a first-release database (tests/fixtures/schema-v1-sqlite.sql)
 * adopted without re-running the baseline, an upgrade by a test-only migration that
 * rebuilds a table with its rows, a failing step rolled back, foreign keys, and the
 * refusals (partial, newer, bad sets) with the module's version check. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afl_db.h"
#include "db_fixture.h"
#include "afl_migrate.h"

static apr_pool_t *pool;
static char dbpath[64];
static afl_db *db;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    db = fixture_open(pool, dbpath, "migrate", 0);
}

static void teardown(void)
{
    fixture_remove(pool, db, dbpath);
    apr_pool_destroy(pool);
}

static void sql(const char *s)
{
    int rv = afl_db_run_sql(db, pool, s);
    ck_assert_msg(rv == 0, "%s: %s", s, afl_db_errmsg(db, rv));
}

static int take(void *baton, int ncols, const char *const *v)
{
    const char **out = baton;
    *out = apr_pstrdup(pool, ncols > 0 && v[0] ? v[0] : "(null)");
    return 0;
}

/* First column of the first row, as text. */
static const char *value(const char *q)
{
    const char *out = NULL;
    int rv = afl_db_select_sql(db, pool, q, take, &out, NULL);
    ck_assert_msg(rv == 0, "%s: %s", q, afl_db_errmsg(db, rv));
    return out;
}

static void load_fixture(void)
{
    const char *err = NULL;
    ck_assert_msg(
        afl_db_apply_schema_file(db, pool, "tests/fixtures/schema-v1-sqlite.sql", NULL, &err) == 0,
        "%s", err ? err : "");
}

/* Representative first-release rows: a person, an UMF, an assignment with its
 * outbox message, coverage and a document. */
static void fill_rows(void)
{
    sql("INSERT INTO umf (clave, nombre, subdelegacion, serie) VALUES ('U1', 'UMF 1', 'C', '01')");
    sql("INSERT INTO renapo_persona VALUES ('GOMA000101HDFRRNA1', 'María', 'Gómez', NULL, "
        "'2000-01-01', 'M', 'DF', 'AN')");
    sql("INSERT INTO asegurado (nss, curp, prefijo, folio, correo, umf_clave, origen, creado, "
        "actualizado) VALUES ('01250012345', 'GOMA000101HDFRRNA1', '012500', 1234, "
        "'a@ejemplo.mx', 'U1', 'asignado', 1, 1)");
    sql("INSERT INTO outbox (kind, reason, asegurado_id, recipient, next_attempt_at, message_id, "
        "created) VALUES ('constancia', 'vigencia', 1, 'a@ejemplo.mx', 5, '<m1@x>', 5)");
    sql("INSERT INTO cobertura VALUES ('asignacion:01250012345', '01250012345', "
        "'GOMA000101HDFRRNA1', 'alta', '2026-01-01', '2026-07-31', 'asignacion', '', 1, 1)");
}

static const char *compiled_sqlite(int version)
{
    ck_assert_int_ge(afl_migrations_count, version);
    return afl_migrations[version - 1].sqlite;
}

/* ------------------------------------------------------------------ tests */

START_TEST(new_database_gets_every_migration_once)
{
    const char *err = NULL, *schema1;
    int from = -1, to = -1;
    afl_schema_state state;
    int version;

    ck_assert_int_ge(afl_migrate_latest(), 1);
    ck_assert_int_eq(afl_migrate_state(db, pool, &state, &version, &err), 0);
    ck_assert_int_eq(state, AFL_SCHEMA_EMPTY);
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest(), &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "has no schema"));

    ck_assert_msg(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, NULL, NULL, &from,
                                  &to, &err) == 0,
                  "%s", err);
    ck_assert_int_eq(from, 0);
    ck_assert_int_eq(to, afl_migrate_latest());
    ck_assert_str_eq(value("PRAGMA journal_mode"), "wal");
    ck_assert_str_eq(value("PRAGMA foreign_keys"), "1"); /* given back */
    ck_assert_str_eq(value("SELECT count(*) FROM schema_version WHERE how = 'applied'"),
                     apr_itoa(pool, afl_migrate_latest()));
    ck_assert_str_eq(value("SELECT name FROM schema_version WHERE version = 1"), "baseline");
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest(), &err), 0);
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest() + 1, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "older than"));
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest() - 1, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "newer than"));

    /* Again: nothing changes, not even the recorded times. */
    schema1 = value("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master "
                    "ORDER BY name)");
    sql("UPDATE schema_version SET applied = 42");
    ck_assert_int_eq(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, NULL, NULL,
                                     &from, &to, &err),
                     0);
    ck_assert_int_eq(from, to);
    ck_assert_str_eq(value("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master "
                           "ORDER BY name)"),
                     schema1);
    ck_assert_str_eq(value("SELECT count(*) FROM schema_version WHERE applied <> 42"), "0");
}
END_TEST

static int adopted_seen;
static void note(void *baton, const afl_migration *m, int adopted)
{
    (void)baton;
    if (adopted) {
        ck_assert_int_eq(m->version, 1);
        adopted_seen++;
    }
}

START_TEST(first_release_database_is_adopted_without_rerun)
{
    const char *err = NULL;
    afl_schema_state state;
    int version, from, to;

    load_fixture();
    fill_rows();
    /* Proof that the baseline is not run again: it would re-create this index
     * (one no later migration touches). */
    sql("DROP INDEX tramite_expira");
    ck_assert_int_eq(afl_migrate_state(db, pool, &state, &version, &err), 0);
    ck_assert_int_eq(state, AFL_SCHEMA_UNVERSIONED);
    ck_assert_int_eq(version, 1);
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest(), &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "first release"));

    adopted_seen = 0;
    ck_assert_msg(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, note, NULL, &from,
                                  &to, &err) == 0,
                  "%s", err);
    ck_assert_int_eq(adopted_seen, 1);
    ck_assert_int_eq(from, 1);
    ck_assert_int_eq(to, afl_migrate_latest());
    ck_assert_str_eq(value("SELECT how FROM schema_version WHERE version = 1"), "adopted");
    ck_assert_str_eq(
        value(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'tramite_expira'"),
        "0");
    ck_assert_str_eq(value("SELECT nss || curp || origen FROM asegurado"),
                     "01250012345GOMA000101HDFRRNA1asignado");
    ck_assert_str_eq(value("SELECT count(*) FROM outbox"), "1");
    ck_assert_int_eq(afl_migrate_check(db, pool, afl_migrate_latest(), &err), 0);
}
END_TEST

/* A test-only 0002 of the kind a CHECK change needs in SQLite: rebuild outbox with a
 * new column, copy its rows, put back its indexes. */
static const char rebuild_outbox[] =
    "CREATE TABLE outbox_new (\n"
    "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    kind TEXT NOT NULL DEFAULT 'comprobante' CHECK (kind IN ('comprobante', 'constancia', "
    "'aviso')),\n"
    "    reason TEXT NOT NULL,\n"
    "    asegurado_id INTEGER NOT NULL REFERENCES asegurado (id),\n"
    "    recipient TEXT NOT NULL,\n"
    "    status TEXT NOT NULL DEFAULT 'pending',\n"
    "    attempts INTEGER NOT NULL DEFAULT 0,\n"
    "    next_attempt_at INTEGER NOT NULL,\n"
    "    lease_until INTEGER,\n"
    "    message_id TEXT NOT NULL UNIQUE,\n"
    "    last_error TEXT,\n"
    "    created INTEGER NOT NULL,\n"
    "    sent_at INTEGER,\n"
    "    priority INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "INSERT INTO outbox_new (id, kind, reason, asegurado_id, recipient, status, attempts,\n"
    "    next_attempt_at, lease_until, message_id, last_error, created, sent_at)\n"
    "  SELECT id, kind, reason, asegurado_id, recipient, status, attempts, next_attempt_at,\n"
    "    lease_until, message_id, last_error, created, sent_at FROM outbox;\n"
    "DROP TABLE outbox;\n"
    "ALTER TABLE outbox_new RENAME TO outbox;\n"
    "CREATE INDEX outbox_due ON outbox (status, next_attempt_at);\n"
    "CREATE INDEX outbox_asegurado ON outbox (asegurado_id);\n";

START_TEST(upgrade_keeps_rows_and_a_failed_step_rolls_back)
{
    const char *err = NULL;
    int from, to;
    afl_migration set[3] = {
        {1, "baseline", compiled_sqlite(1), NULL},
        {2, "outbox_priority", rebuild_outbox, NULL},
        /* The first statement works, the second fails: neither may stay. */
        {3, "broken", "CREATE TABLE half (a TEXT);\nINSERT INTO no_such_table VALUES (1);\n", NULL},
    };

    load_fixture();
    fill_rows();
    ck_assert_msg(afl_migrate_run(db, pool, set, 2, NULL, NULL, &from, &to, &err) == 0, "%s", err);
    ck_assert_int_eq(from, 1);
    ck_assert_int_eq(to, 2);
    ck_assert_str_eq(value("SELECT group_concat(version || how, ',') FROM schema_version"),
                     "1adopted,2applied");
    ck_assert_str_eq(value("SELECT kind || reason || recipient || message_id || priority "
                           "FROM outbox"),
                     "constanciavigenciaa@ejemplo.mx<m1@x>0");
    ck_assert_str_eq(value("SELECT count(*) FROM asegurado"), "1");
    ck_assert_str_eq(value("SELECT count(*) FROM cobertura"), "1");
    ck_assert_str_eq(
        value("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' "
              "AND name IN ('outbox_due', 'outbox_asegurado')"),
        "2");
    /* The new CHECK holds: 'aviso' is a kind now. */
    sql("INSERT INTO outbox (kind, reason, asegurado_id, recipient, next_attempt_at, message_id, "
        "created) VALUES ('aviso', 'x', 1, 'a@ejemplo.mx', 5, '<m2@x>', 5)");

    ck_assert_int_ne(afl_migrate_run(db, pool, set, 3, NULL, NULL, &from, &to, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "0003_broken"));
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    ck_assert_int_eq(to, 2);
    ck_assert_str_eq(value("SELECT max(version) FROM schema_version"), "2");
    ck_assert_str_eq(value("SELECT count(*) FROM sqlite_master WHERE name = 'half'"), "0");
}
END_TEST

START_TEST(dangling_foreign_keys_are_refused)
{
    const char *err = NULL;
    afl_migration set[2] = {
        {1, "baseline", compiled_sqlite(1), NULL},
        {2, "orphans", "DELETE FROM asegurado;\n", NULL},
    };

    load_fixture();
    fill_rows();
    ck_assert_int_ne(afl_migrate_run(db, pool, set, 2, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "foreign key"));
    ck_assert_str_eq(value("SELECT count(*) FROM asegurado"), "1");
    ck_assert_str_eq(value("SELECT max(version) FROM schema_version"), "1");
}
END_TEST

START_TEST(partial_newer_and_bad_sets_are_refused)
{
    const char *err = NULL;
    afl_schema_state state;
    int version, to;
    afl_migration gap[2] = {{1, "baseline", compiled_sqlite(1), NULL}, {3, "x", "", NULL}};
    afl_migration badname[1] = {{1, "Baseline; DROP", compiled_sqlite(1), NULL}};
    afl_migration pg_only[1] = {{1, "baseline", NULL, "SELECT 1;"}};

    ck_assert_int_ne(afl_migrate_run(db, pool, gap, 2, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "without a gap"));
    ck_assert_int_ne(afl_migrate_run(db, pool, badname, 1, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "[a-z0-9_]"));
    ck_assert_int_ne(afl_migrate_run(db, pool, pg_only, 1, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "no sqlite3 script"));
    ck_assert_int_ne(afl_migrate_run(db, pool, afl_migrations, 0, NULL, NULL, NULL, NULL, &err), 0);

    /* Some of the application's tables only: not ours to touch. */
    sql("CREATE TABLE asegurado (id INTEGER)");
    ck_assert_int_eq(afl_migrate_state(db, pool, &state, &version, &err), 0);
    ck_assert_int_eq(state, AFL_SCHEMA_PARTIAL);
    ck_assert_ptr_nonnull(strstr(err, "missing: renapo_persona"));
    ck_assert_int_ne(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, NULL, NULL,
                                     NULL, NULL, &err),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "missing: renapo_persona"));
    ck_assert_int_eq(afl_migrate_check(db, pool, 1, &err), 1);
    ck_assert_str_eq(value("SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'"),
                     "0");
    sql("DROP TABLE asegurado");

    /* A database from a newer release. */
    ck_assert_int_eq(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, NULL, NULL,
                                     NULL, &to, &err),
                     0);
    sql(apr_psprintf(pool, "INSERT INTO schema_version VALUES (%d, 'future', 0, 'applied')",
                     afl_migrations_count + 1));
    ck_assert_int_ne(afl_migrate_run(db, pool, afl_migrations, afl_migrations_count, NULL, NULL,
                                     NULL, &to, &err),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "newer than"));
    ck_assert_int_eq(to, afl_migrations_count + 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("sqlite");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_database_gets_every_migration_once);
    tcase_add_test(tc, first_release_database_is_adopted_without_rerun);
    tcase_add_test(tc, upgrade_keeps_rows_and_a_failed_step_rolls_back);
    tcase_add_test(tc, dangling_foreign_keys_are_refused);
    tcase_add_test(tc, partial_newer_and_bad_sets_are_refused);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
