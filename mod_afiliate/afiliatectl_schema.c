/* afiliatectl migrate: creates or upgrades the schema (afl_migrate.h,
 * docs/deployment.md "Schema upgrades"). init-db and seed-demo go through
 * afiliatectl_migrate_db too. Exit status: 0 ok, 1 error, 2 usage. */
#include "afiliatectl.h"
#include "afiliatectl_opts.h"
#include "afl_migrate.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct progress {
    const char *cmd;
    int adopted;
};

static void note_step(void *baton, const afl_migration *m, int adopted)
{
    struct progress *pr = baton;
    const char *cmd = pr->cmd;

    pr->adopted |= adopted;
    if (adopted)
        printf("%s: first-release schema found without schema_version: recorded as version "
               "%d (%s), nothing re-run\n",
               cmd, m->version, m->name);
    else
        printf("%s: applied %04d_%s\n", cmd, m->version, m->name);
}

int afiliatectl_migrate_set(apr_pool_t *pool, afl_db *db, const char *cmd, const afl_migration *set,
                            int n)
{
    const char *err = NULL;
    int from = 0, to = 0;
    struct progress pr = {cmd, 0};

    if (afl_migrate_run(db, pool, set, n, note_step, &pr, &from, &to, &err)) {
        fprintf(stderr, "afiliatectl %s: %s\n", cmd, err ? err : "migration failed");
        if (to > from)
            fprintf(stderr, "afiliatectl %s: the database was left at schema version %d\n", cmd,
                    to);
        return 1;
    }
    if (from == to && !pr.adopted)
        printf("%s: schema version %d, up to date\n", cmd, to);
    else if (pr.adopted && from == to)
        printf("%s: schema version %d (was the first release's, unrecorded)\n", cmd, to);
    else
        printf("%s: schema version %d (was %d)\n", cmd, to, from);
    return 0;
}

int afiliatectl_migrate_db(apr_pool_t *pool, afl_db *db, const char *cmd)
{
    return afiliatectl_migrate_set(pool, db, cmd, afl_migrations, afl_migrations_count);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* NNNN_name.sql files of dir, in one dialect, as a set numbered from 1. */
static int load_dir(apr_pool_t *pool, const char *dir, int sqlite, afl_migration **set, int *n)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(const char *));
    apr_status_t rv = apr_dir_open(&d, dir, pool);
    char ebuf[120];

    if (rv != APR_SUCCESS) {
        fprintf(stderr, "afiliatectl migrate: cannot read %s: %s\n", dir,
                apr_strerror(rv, ebuf, sizeof ebuf));
        return 1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS)
        if (fi.filetype == APR_REG && strlen(fi.name) > 9 &&
            !strcmp(fi.name + strlen(fi.name) - 4, ".sql"))
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(pool, fi.name);
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), by_name);
    *set = apr_pcalloc(pool, sizeof **set * (apr_size_t)(names->nelts ? names->nelts : 1));
    for (int i = 0; i < names->nelts; i++) {
        const char *f = APR_ARRAY_IDX(names, i, const char *);
        char *text;
        apr_size_t len;
        apr_file_t *fh;
        afl_migration *m = &(*set)[i];

        if (strspn(f, "0123456789") != 4 || f[4] != '_' || atoi(f) != i + 1) {
            fprintf(stderr,
                    "afiliatectl migrate: %s/%s: expected %04d_name.sql (numbered from 0001 "
                    "without a gap)\n",
                    dir, f, i + 1);
            return 1;
        }
        rv = apr_file_open(&fh, apr_pstrcat(pool, dir, "/", f, NULL), APR_FOPEN_READ,
                           APR_FPROT_OS_DEFAULT, pool);
        if (rv == APR_SUCCESS)
            rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fh);
        if (rv == APR_SUCCESS) {
            text = apr_palloc(pool, (apr_size_t)fi.size + 1);
            rv = apr_file_read_full(fh, text, (apr_size_t)fi.size, &len);
            apr_file_close(fh);
            if (rv == APR_EOF)
                rv = APR_SUCCESS;
        }
        if (rv != APR_SUCCESS) {
            fprintf(stderr, "afiliatectl migrate: cannot read %s/%s: %s\n", dir, f,
                    apr_strerror(rv, ebuf, sizeof ebuf));
            return 1;
        }
        text[len] = '\0';
        m->version = i + 1;
        m->name = apr_pstrndup(pool, f + 5, strlen(f) - 5 - 4);
        if (sqlite)
            m->sqlite = text;
        else
            m->pgsql = text;
    }
    *n = names->nelts;
    return 0;
}

static const char usage_migrate[] =
    "usage: afiliatectl migrate --db PATH [--driver sqlite3|pgsql] [--migrations DIR]\n\n"
    "Creates the schema on a new or empty database, upgrades an older one, and does\n"
    "nothing on a current one: the numbered migrations compiled into this build are\n"
    "applied in order, each in its own transaction, and recorded in schema_version.\n"
    "A database made by the first release (its tables, no schema_version) is recorded\n"
    "as version 1 without re-running the baseline. With --driver pgsql, --db is a\n"
    "libpq conninfo. Run it before starting or restarting httpd on a new release: the\n"
    "module refuses to start on a database older than its code.\n"
    "--migrations DIR applies DIR/NNNN_name.sql (one dialect, numbered from 0001)\n"
    "instead of the compiled ones: to try a new migration before building it in.\n";

int afiliatectl_migrate(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *db_arg = NULL, *driver = "sqlite3", *dir = NULL;
    const char *e = NULL;
    afl_db *db;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], **slot = NULL;
        if (afiliatectl_is_help(a)) {
            fputs(usage_migrate, stdout);
            return 0;
        }
        if (!strcmp(a, "--db"))
            slot = &db_arg;
        else if (!strcmp(a, "--driver"))
            slot = &driver;
        else if (!strcmp(a, "--migrations"))
            slot = &dir;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "afiliatectl migrate: %s: %s\n", a,
                    slot ? "needs a value" : "unknown option");
            fputs(usage_migrate, stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!db_arg) {
        fprintf(stderr, "afiliatectl migrate: missing --db (path of the SQLite file, or a libpq "
                        "conninfo with --driver pgsql)\n");
        return 2;
    }
    if (strcmp(driver, "sqlite3") && strcmp(driver, "pgsql")) {
        fprintf(stderr, "afiliatectl migrate: --driver must be sqlite3 or pgsql\n");
        return 2;
    }
    if (afl_db_open(pool, driver, db_arg, &db, &e)) {
        fprintf(stderr, "afiliatectl migrate: %s\n", e ? e : "cannot open the database");
        return 1;
    }
    if (dir) {
        afl_migration *set;
        int n = 0;
        rc = load_dir(pool, dir, !strcmp(driver, "sqlite3"), &set, &n);
        if (!rc)
            rc = afiliatectl_migrate_set(pool, db, "migrate", set, n);
    } else {
        rc = afiliatectl_migrate_db(pool, db, "migrate");
    }
    afl_db_close(db);
    return rc;
}
