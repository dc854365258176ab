/* afiliatectl data commands: init-db (afiliatectl_schema.c does the work), sample,
 * seed-demo (docs/data.md); the importers are in afiliatectl_import.c, the
 * demo registry in afiliatectl_demo.c, the shared options in
 * afiliatectl_opts.c.
 *
 * Every write runs in one transaction through prepared statements
 * (afl_db.h); nothing is half-written when a file has an error. Diagnostics
 * never quote a CURP, an NSS or an e-mail address: errors name the line and
 * the column instead. Exit status: 0 ok, 1 error, 2 usage. */
#include "afiliatectl.h"
#include "afiliatectl_demo.h"
#include "afiliatectl_import.h"
#include "afiliatectl_opts.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEMO_SEED_COUNT 100000

/* ================================================================ init-db */

/* Without a script: the migrations (afiliatectl migrate). With --schema FILE: that
 * script as it is, statement by statement, no version recorded (custom or test
 * schemas; the module refuses a database without schema_version). */
static int do_init_db(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *schema)
{
    const char *e = NULL;
    int n = 0;

    if (!schema)
        return afiliatectl_migrate_db(pool, db, o->cmd);
    if (afl_db_apply_schema_file(db, pool, schema, &n, &e)) {
        afiliatectl_err(o->cmd, "%s", e);
        return 1;
    }
    printf("init-db: script applied (%d statements from %s); no schema version recorded\n", n,
           schema);
    return 0;
}

static const char usage_init_db[] =
    "usage: afiliatectl init-db --db PATH [--driver sqlite3|pgsql] [--schema FILE]\n\n"
    "The same as 'afiliatectl migrate': creates or upgrades the schema with the\n"
    "migrations compiled into this build (it can be run again). With --driver pgsql,\n"
    "--db is a libpq conninfo. --schema FILE instead runs that SQL script as it is,\n"
    "statement by statement, and records no schema version (the module refuses such\n"
    "a database until 'afiliatectl migrate' has recorded one). Do not run it while\n"
    "httpd is running (prepared statements expire).\n";

int afiliatectl_init_db(apr_pool_t *pool, int argc, const char *const *argv)
{
    ctl_opts o;
    afl_db *db;
    int rc = ctl_parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_SCHEMA, 0, 0, usage_init_db, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!(db = ctl_open_db(pool, &o, 0)))
        return 1;
    rc = do_init_db(pool, db, &o, o.schema);
    afl_db_close(db);
    return rc;
}

/* ================================================================ sample */

static const afl_sql_id sample_stmts[] = {
    AFL_SQL_SAMPLE_FOUND,
    AFL_SQL_SAMPLE_NEW,
    AFL_SQL_SAMPLE_INACTIVE,
};

static int print_row(void *baton, int ncols, const char *const *v)
{
    (void)baton;
    if (ncols > 0 && v[0])
        printf("%s\n", v[0]);
    return 0;
}

static const char usage_sample[] =
    "usage: afiliatectl sample found|new|inactive [--count N] --db PATH "
    "[--driver sqlite3|pgsql]\n\n"
    "Prints registry CURPs, one per line, ordered by CURP:\n"
    "  found     active and with an NSS (a row in asegurado)\n"
    "  new       active and without an NSS\n"
    "  inactive  with an inactive status (BD BDA BCC BCN BAP BSU BDM BDP BJD)\n"
    "--count N (default 1). Exits with 1 if there are fewer than N.\n";

int afiliatectl_sample(apr_pool_t *pool, int argc, const char *const *argv)
{
    ctl_opts o;
    afl_db *db;
    afl_sql_id q;
    const char *arg;
    int n = 0, rv;
    int rc = ctl_parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT, 1, 1, usage_sample, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!strcmp(o.pos[0], "found"))
        q = AFL_SQL_SAMPLE_FOUND;
    else if (!strcmp(o.pos[0], "new"))
        q = AFL_SQL_SAMPLE_NEW;
    else if (!strcmp(o.pos[0], "inactive"))
        q = AFL_SQL_SAMPLE_INACTIVE;
    else {
        afiliatectl_err(o.cmd, "unknown kind '%s' (found, new or inactive)", o.pos[0]);
        return 2;
    }
    if (!o.count_set)
        o.count = 1;
    if (!(db = ctl_open_db(pool, &o, 1)))
        return 1;
    if (ctl_prepare_all(db, &o, sample_stmts, COUNT(sample_stmts))) {
        afl_db_close(db);
        return 1;
    }
    arg = apr_ltoa(pool, o.count);
    rv = afl_db_select(db, pool, q, 1, &arg, print_row, NULL, &n);
    if (rv) {
        afiliatectl_err(o.cmd, "%s", afl_db_errmsg(db, rv));
        afl_db_close(db);
        return 1;
    }
    afl_db_close(db);
    if (n < o.count) {
        afiliatectl_err(o.cmd, "only %d CURPs of kind %s exist (%ld requested)", n, o.pos[0],
                        o.count);
        return 1;
    }
    return 0;
}

/* ================================================================ seed-demo */

static const char usage_seed_demo[] =
    "usage: afiliatectl seed-demo --db PATH [--count N] [--data DIR] [--driver sqlite3|pgsql]\n\n"
    "Prepares a demo database: migrate, the shipped SEPOMEX subset\n"
    "(DIR/sepomex-subset.txt), the demo UMFs (DIR/umf-demo.csv) and\n"
    "demo-registry --count N (default 100000) --seed 1. DIR defaults to sql/seed\n"
    "next to the executable (../sql/seed) or under the current directory.\n"
    "It can be run again.\n";

int afiliatectl_seed_demo(apr_pool_t *pool, int argc, const char *const *argv)
{
    ctl_opts o;
    afl_db *db;
    const char *data, *subset, *umf;
    int rc = ctl_parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT | OPT_DATA, 0, 0,
                            usage_seed_demo, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!o.count_set)
        o.count = DEMO_SEED_COUNT;
    if (o.data) {
        data = o.data;
    } else {
        const char *f = ctl_find_sql_file(pool, "seed/umf-demo.csv");
        if (!f) {
            afiliatectl_err(
                o.cmd, "sql/seed not found next to the executable nor under the current directory; "
                       "use --data DIR");
            return 1;
        }
        data = apr_pstrndup(pool, f, strlen(f) - strlen("/umf-demo.csv"));
    }
    subset = apr_pstrcat(pool, data, "/sepomex-subset.txt", NULL);
    umf = apr_pstrcat(pool, data, "/umf-demo.csv", NULL);
    if (!(db = ctl_open_db(pool, &o, 0)))
        return 1;
    rc = afiliatectl_migrate_db(pool, db, o.cmd);
    if (!rc)
        rc = ctl_do_import_sepomex(pool, db, &o, subset);
    if (!rc)
        rc = ctl_do_import_umf(pool, db, &o, umf);
    if (!rc)
        rc = ctl_do_demo_registry(pool, db, &o, o.count, 1);
    afl_db_close(db);
    return rc;
}
