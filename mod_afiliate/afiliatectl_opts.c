/* Options and helpers shared by the afiliatectl commands: one parser of the
 * data commands' options, messages prefixed with the command, opening the
 * database, preparing statements, reading a whole file. */
#include "afiliatectl_opts.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int afiliatectl_is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static void verr(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "afiliatectl %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void afiliatectl_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(cmd, fmt, ap);
    va_end(ap);
}

int afiliatectl_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(cmd, fmt, ap);
    va_end(ap);
    fputs(usage, stderr);
    return 2;
}

int afiliatectl_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int afiliatectl_walk_args(int argc, const char *const *argv, const char *usage, const char **pos,
                          int *npos, int max_pos, ctl_option_fn option, void *baton)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;

        if (afiliatectl_is_help(a)) {
            fputs(usage, stdout);
            return 1;
        }
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--")) {
            if ((rc = option(baton, argc, argv, &i, a)) != 0)
                return rc;
            continue;
        }
        if (!strcmp(a, "--")) {
            if (++i >= argc)
                break;
            a = argv[i];
        }
        if (*npos >= max_pos)
            return afiliatectl_usage_error(argv[0], usage, "unexpected argument: %s", a);
        pos[(*npos)++] = a;
    }
    return 0;
}

int afiliatectl_scan_args(int argc, const char *const *argv, const char *cmd, const char *usage,
                          const ctl_value_opt *values, ctl_option_fn other, void *baton)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const ctl_value_opt *v = values;
        int rc;

        if (afiliatectl_is_help(a)) {
            fputs(usage, stdout);
            return 1;
        }
        while (v->name && strcmp(a, v->name))
            v++;
        if (v->name) {
            if (i + 1 >= argc)
                return afiliatectl_usage_error(cmd, usage, "%s needs a value", a);
            *v->slot = argv[++i];
            continue;
        }
        rc = other ? other(baton, argc, argv, &i, a) : -1;
        if (rc < 0)
            return afiliatectl_usage_error(cmd, usage, "unknown argument '%s'", a);
        if (rc)
            return rc;
    }
    return 0;
}

int afiliatectl_db_args(const char *cmd, const char *usage, const char *db, const char *driver)
{
    if (!db)
        return afiliatectl_usage_error(cmd, usage, "%s", "--db is required");
    if (strcmp(driver, "sqlite3") && strcmp(driver, "pgsql"))
        return afiliatectl_usage_error(cmd, usage, "--driver must be sqlite3 or pgsql, not '%s'",
                                       driver);
    return 0;
}

int afiliatectl_opt_value(int argc, const char *const *argv, int *i, const char *name,
                          const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) || (a[n] != '\0' && a[n] != '='))
        return 0;
    if (a[n] == '=')
        *val = a + n + 1;
    else if (*i + 1 < argc)
        *val = argv[++*i];
    else
        *val = NULL;
    return 1;
}

typedef struct {
    ctl_opts *o;
    unsigned allowed;
    const char *usage;
} ctl_parse;

/* One option of the data commands (ctl_option_fn). */
static int ctl_option(void *baton, int argc, const char *const *argv, int *i, const char *a)
{
    ctl_parse *x = baton;
    ctl_opts *o = x->o;
    const char *val = NULL;
    unsigned which = 0;
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"--db", OPT_DB},     {"--driver", OPT_DRIVER}, {"--schema", OPT_SCHEMA},
                 {"--data", OPT_DATA}, {"--count", OPT_COUNT},   {"--seed", OPT_SEED}};

    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        if (afiliatectl_opt_value(argc, argv, i, names[k].name, &val)) {
            which = names[k].bit;
            break;
        }
    }
    if (!which || !(x->allowed & which)) {
        afiliatectl_err(o->cmd, "unknown option: %s", a);
        fputs(x->usage, stderr);
        return 2;
    }
    if (!val) {
        afiliatectl_err(o->cmd, "option %s needs a value", a);
        return 2;
    }
    switch (which) {
    case OPT_DB:
        o->db = val;
        break;
    case OPT_DRIVER:
        if (strcmp(val, "sqlite3") && strcmp(val, "pgsql")) {
            afiliatectl_err(o->cmd, "--driver must be sqlite3 or pgsql");
            return 2;
        }
        o->driver = val;
        break;
    case OPT_SCHEMA:
        o->schema = val;
        break;
    case OPT_DATA:
        o->data = val;
        break;
    case OPT_COUNT:
        if (afiliatectl_parse_long(val, 0, 10000000, &o->count)) {
            afiliatectl_err(o->cmd, "--count must be an integer from 0 to 10000000");
            return 2;
        }
        o->count_set = 1;
        break;
    case OPT_SEED: {
        char *end;
        errno = 0;
        o->seed = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-') {
            afiliatectl_err(o->cmd, "--seed must be a non-negative integer");
            return 2;
        }
        o->seed_set = 1;
        break;
    }
    }
    return 0;
}

/* Parses argv (argv[0] is the command). Returns 0 to run, 1 after --help
 * (usage printed), 2 on a usage error (message printed). */
int ctl_parse_opts(int argc, const char *const *argv, unsigned allowed, int min_pos, int max_pos,
                   const char *usage, ctl_opts *o)
{
    ctl_parse x = {o, allowed, usage};
    int rc;

    memset(o, 0, sizeof(*o));
    o->cmd = argv[0];
    o->driver = "sqlite3";
    rc = afiliatectl_walk_args(argc, argv, usage, o->pos, &o->npos, max_pos, ctl_option, &x);
    if (rc)
        return rc;
    if (o->npos < min_pos) {
        afiliatectl_err(o->cmd, "missing FILE argument");
        fputs(usage, stderr);
        return 2;
    }
    if ((allowed & OPT_DB) && !o->db) {
        afiliatectl_err(
            o->cmd,
            "missing --db (path of the SQLite file, or a libpq conninfo with --driver pgsql)");
        return 2;
    }
    return 0;
}

int ctl_begin_txn(afl_db *db, apr_pool_t *pool, const ctl_opts *o)
{
    int txn = afl_db_begin(db, pool);

    if (txn) {
        afiliatectl_err(o->cmd, "cannot start the transaction: %s", afl_db_errmsg(db, txn));
        afl_db_end(db, 1);
        return 1;
    }
    return 0;
}

int ctl_end_txn(afl_db *db, const ctl_opts *o, int rc)
{
    int txn = afl_db_end(db, rc != 0);

    if (rc == 0 && txn) {
        afiliatectl_err(o->cmd, "cannot commit the transaction: %s", afl_db_errmsg(db, txn));
        rc = 1;
    }
    return rc;
}

double ctl_seconds_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / (double)APR_USEC_PER_SEC;
}

/* Opens the database. must_exist: refuse a missing SQLite file instead of
 * letting sqlite create an empty one. */
afl_db *ctl_open_db(apr_pool_t *pool, const ctl_opts *o, int must_exist)
{
    afl_db *db = NULL;
    const char *e = NULL;

    if (must_exist && !strcmp(o->driver, "sqlite3")) {
        apr_finfo_t fi;
        if (apr_stat(&fi, o->db, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
            afiliatectl_err(
                o->cmd, "database %s does not exist; create it with 'afiliatectl migrate --db %s'",
                o->db, o->db);
            return NULL;
        }
    }
    if (afl_db_open(pool, o->driver, o->db, &db, &e)) {
        afiliatectl_err(o->cmd, "%s", e ? e : "cannot open the database");
        return NULL;
    }
    return db;
}

int ctl_prepare_all(afl_db *db, const ctl_opts *o, const afl_sql_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rv = afl_db_prepared(db, ids[i]) ? 0 : afl_db_prepare(db, ids[i]);
        if (rv) {
            afiliatectl_err(
                o->cmd, "cannot prepare %s: %s (was the database made with afiliatectl migrate?)",
                afl_sql_get(ids[i])->label, afl_db_errmsg(db, rv));
            return -1;
        }
    }
    return 0;
}

long long ctl_count_of(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                       const char *const *args)
{
    const char *v = NULL;

    if (afl_db_select_value(db, pool, id, nargs, args, &v) || !v)
        return -1;
    return atoll(v);
}

int ctl_all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[i] == '\0';
}

/* Directory of the running executable ("" if unknown). */
static const char *exe_dir(apr_pool_t *pool)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    char *slash;

    if (n <= 0)
        return "";
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (!slash)
        return "";
    *slash = '\0';
    return apr_pstrdup(pool, buf);
}

static int is_file(apr_pool_t *pool, const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS && fi.filetype == APR_REG;
}

/* sql/<dialect>/<rel> next to the executable (build/afiliatectl -> ../sql),
 * else under the current directory. NULL if neither exists. */
const char *ctl_find_sql_file(apr_pool_t *pool, const char *rel)
{
    const char *dir = exe_dir(pool);
    const char *cand[2];

    cand[0] = *dir ? apr_psprintf(pool, "%s/../sql/%s", dir, rel) : NULL;
    cand[1] = apr_psprintf(pool, "sql/%s", rel);
    for (int i = 0; i < 2; i++) {
        if (cand[i] && is_file(pool, cand[i])) {
            char real[PATH_MAX];
            return realpath(cand[i], real) ? apr_pstrdup(pool, real) : cand[i];
        }
    }
    return NULL;
}

/* Whole file into pool memory, NUL-terminated. 0 ok. max: the largest
 * size accepted, or -1 for any; with a limit, a file that is not regular or
 * is too large is refused by name. */
int afiliatectl_slurp(apr_pool_t *pool, const char *cmd, const char *path, apr_off_t max,
                      char **text, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
        if (rv == APR_SUCCESS && max >= 0 && (fi.filetype != APR_REG || fi.size > max)) {
            apr_file_close(f);
            afiliatectl_err(cmd, "%s: not a regular file of at most %" APR_OFF_T_FMT " bytes", path,
                            max);
            return -1;
        }
        if (rv == APR_SUCCESS && fi.filetype != APR_REG)
            rv = APR_EINVAL;
        if (rv == APR_SUCCESS) {
            *text = apr_palloc(pool, (apr_size_t)fi.size + 1);
            rv = apr_file_read_full(f, *text, (apr_size_t)fi.size, len);
            if (rv == APR_EOF)
                rv = APR_SUCCESS;
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        afiliatectl_err(cmd, "cannot read %s: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return -1;
    }
    (*text)[*len] = '\0';
    return 0;
}
