/* afiliatectl data commands: init-db (afiliatectl_schema.c does the work), import-sepomex,
 * import-umf, import-registry, demo-registry, sample, seed-demo (docs/data.md).
 *
 * Every write runs in one transaction through prepared statements
 * (afl_db.h); nothing is half-written when a file has an error. Diagnostics
 * never quote a CURP, an NSS or an e-mail address: errors name the line and
 * the column instead. Exit status: 0 ok, 1 error, 2 usage. */
#include "afiliatectl.h"
#include "afl_curp.h"
#include "afl_curp_build.h"
#include "afl_db.h"
#include "afl_nss.h"
#include "afl_sepomex.h"
#include "afl_vigencia.h"

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
#include <zip.h>

#define DEMO_SEED_COUNT 100000
#define LAST_REG_YEAR 2025 /* latest registration year of the demo NSS */

/* ================================================================ options */

enum {
    OPT_DB = 1 << 0,
    OPT_DRIVER = 1 << 1,
    OPT_SCHEMA = 1 << 2,
    OPT_DATA = 1 << 3,
    OPT_COUNT = 1 << 4,
    OPT_SEED = 1 << 5,
};

typedef struct {
    const char *cmd;
    const char *db, *driver, *schema, *data;
    long count;
    int count_set;
    unsigned long long seed;
    int seed_set;
    const char *pos[2];
    int npos;
} opts;

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static void err(const opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void err(const opts *o, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "afiliatectl %s: ", o->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int parse_long(const char *s, long min, long max, long *out)
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

/* Parses argv (argv[0] is the command). Returns 0 to run, 1 after --help
 * (usage printed), 2 on a usage error (message printed). */
static int parse_opts(int argc, const char *const *argv, unsigned allowed, int min_pos, int max_pos,
                      const char *usage, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cmd = argv[0];
    o->driver = "sqlite3";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        unsigned which = 0;
        static const struct {
            const char *name;
            unsigned bit;
        } names[] = {{"--db", OPT_DB},     {"--driver", OPT_DRIVER}, {"--schema", OPT_SCHEMA},
                     {"--data", OPT_DATA}, {"--count", OPT_COUNT},   {"--seed", OPT_SEED}};

        if (is_help(a)) {
            fputs(usage, stdout);
            return 1;
        }
        if (a[0] != '-' || a[1] == '\0' || !strcmp(a, "--")) {
            if (!strcmp(a, "--")) {
                if (++i >= argc)
                    break;
                a = argv[i];
            }
            if (o->npos >= max_pos) {
                err(o, "unexpected argument: %s", a);
                fputs(usage, stderr);
                return 2;
            }
            o->pos[o->npos++] = a;
            continue;
        }
        for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
            size_t n = strlen(names[k].name);
            if (!strncmp(a, names[k].name, n) && (a[n] == '\0' || a[n] == '=')) {
                which = names[k].bit;
                if (a[n] == '=')
                    val = a + n + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                break;
            }
        }
        if (!which || !(allowed & which)) {
            err(o, "unknown option: %s", a);
            fputs(usage, stderr);
            return 2;
        }
        if (!val) {
            err(o, "option %s needs a value", a);
            return 2;
        }
        switch (which) {
        case OPT_DB:
            o->db = val;
            break;
        case OPT_DRIVER:
            if (strcmp(val, "sqlite3") && strcmp(val, "pgsql")) {
                err(o, "--driver must be sqlite3 or pgsql");
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
            if (parse_long(val, 0, 10000000, &o->count)) {
                err(o, "--count must be an integer from 0 to 10000000");
                return 2;
            }
            o->count_set = 1;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            o->seed = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-') {
                err(o, "--seed must be a non-negative integer");
                return 2;
            }
            o->seed_set = 1;
            break;
        }
        }
    }
    if (o->npos < min_pos) {
        err(o, "missing FILE argument");
        fputs(usage, stderr);
        return 2;
    }
    if ((allowed & OPT_DB) && !o->db) {
        err(o, "missing --db (path of the SQLite file, or a libpq conninfo with --driver pgsql)");
        return 2;
    }
    return 0;
}

/* ================================================================ helpers */

static double seconds_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / (double)APR_USEC_PER_SEC;
}

/* Opens the database. must_exist: refuse a missing SQLite file instead of
 * letting sqlite create an empty one. */
static afl_db *open_db(apr_pool_t *pool, const opts *o, int must_exist)
{
    afl_db *db = NULL;
    const char *e = NULL;

    if (must_exist && !strcmp(o->driver, "sqlite3")) {
        apr_finfo_t fi;
        if (apr_stat(&fi, o->db, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
            err(o, "database %s does not exist; create it with 'afiliatectl migrate --db %s'",
                o->db, o->db);
            return NULL;
        }
    }
    if (afl_db_open(pool, o->driver, o->db, &db, &e)) {
        err(o, "%s", e ? e : "cannot open the database");
        return NULL;
    }
    return db;
}

struct stmt_def {
    const char *label;
    const char *sql;
};

static int prepare_all(afl_db *db, const opts *o, const struct stmt_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rv = afl_db_prepare(db, defs[i].label, defs[i].sql);
        if (rv) {
            err(o, "cannot prepare %s: %s (was the database made with afiliatectl migrate?)",
                defs[i].label, afl_db_errmsg(db, rv));
            return -1;
        }
    }
    return 0;
}

static long long count_of(afl_db *db, apr_pool_t *pool, const char *label, int nargs,
                          const char *const *args)
{
    const char *v = NULL;

    if (afl_db_select_value(db, pool, label, nargs, args, &v) || !v)
        return -1;
    return atoll(v);
}

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[i] == '\0';
}

/* Well-formed UTF-8 without control characters (tab allowed). */
static int clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned c = *p;
        int n;
        unsigned cp;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (int k = 1; k <= n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0))
            return 0;
        p += n + 1;
    }
    return 1;
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
static const char *find_sql_file(apr_pool_t *pool, const char *rel)
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

/* Whole file into pool memory, NUL-terminated. */
static int slurp(apr_pool_t *pool, const opts *o, const char *path, char **text, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG)
        rv = APR_EINVAL;
    if (rv != APR_SUCCESS) {
        err(o, "cannot read %s: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return -1;
    }
    *text = apr_palloc(pool, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(f, *text, (apr_size_t)fi.size, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        err(o, "cannot read %s: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return -1;
    }
    (*text)[*len] = '\0';
    return 0;
}

/* ================================================================ CSV (RFC 4180) */

typedef struct {
    const char *p, *end;
    unsigned long line;     /* physical line of p */
    unsigned long rec_line; /* line where the last record started */
    char error[160];
} csv_reader;

static void csv_init(csv_reader *c, const char *text, apr_size_t len)
{
    memset(c, 0, sizeof(*c));
    c->p = text;
    c->end = text + len;
    c->line = 1;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) /* UTF-8 BOM */
        c->p += 3;
}

static int at_eol(const csv_reader *c, const char *q)
{
    return *q == '\n' || (*q == '\r' && q + 1 < c->end && q[1] == '\n');
}

/* Reads one record into fields (char *, allocated in pool). Empty lines are
 * skipped. Returns 1 for a record, 0 at the end, -1 on a syntax error. */
static int csv_next(csv_reader *c, apr_pool_t *pool, apr_array_header_t *fields)
{
    apr_array_clear(fields);
    while (c->p < c->end && at_eol(c, c->p)) {
        c->p += (*c->p == '\r') ? 2 : 1;
        c->line++;
    }
    if (c->p >= c->end)
        return 0;
    c->rec_line = c->line;
    for (;;) {
        char *buf;
        apr_size_t n = 0;

        if (*c->p == '"') {
            /* Find the closing quote first: the value is at most that long. */
            const char *q = c->p + 1;
            while (q < c->end && !(*q == '"' && (q + 1 >= c->end || q[1] != '"')))
                q += (*q == '"') ? 2 : 1;
            if (q >= c->end) {
                snprintf(c->error, sizeof c->error,
                         "line %lu: unclosed quote up to the end of the file", c->rec_line);
                return -1;
            }
            buf = apr_palloc(pool, (apr_size_t)(q - c->p));
            for (const char *s = c->p + 1; s < q; s++) {
                if (*s == '\n')
                    c->line++;
                buf[n++] = *s;
                if (*s == '"')
                    s++; /* "" -> " */
            }
            c->p = q + 1;
            if (c->p < c->end && *c->p != ',' && !at_eol(c, c->p)) {
                snprintf(c->error, sizeof c->error,
                         "line %lu: text after the closing quote in column %d", c->line,
                         fields->nelts + 1);
                return -1;
            }
        } else {
            const char *q = c->p;
            while (q < c->end && *q != ',' && !at_eol(c, q)) {
                if (*q == '"') {
                    snprintf(c->error, sizeof c->error,
                             "line %lu: quote inside an unquoted field (column %d)", c->line,
                             fields->nelts + 1);
                    return -1;
                }
                q++;
            }
            n = (apr_size_t)(q - c->p);
            buf = apr_palloc(pool, n + 1);
            memcpy(buf, c->p, n);
            c->p = q;
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n)) {
            snprintf(c->error, sizeof c->error, "line %lu: NUL byte in column %d", c->line,
                     fields->nelts + 1);
            return -1;
        }
        APR_ARRAY_PUSH(fields, char *) = buf;
        if (c->p >= c->end)
            return 1;
        if (*c->p == ',') {
            c->p++;
            if (c->p >= c->end) {
                APR_ARRAY_PUSH(fields, char *) = apr_pstrdup(pool, "");
                return 1;
            }
            continue;
        }
        c->p += (*c->p == '\r') ? 2 : 1;
        c->line++;
        return 1;
    }
}

/* Reads and checks the header line. 0 ok. */
static int csv_header(csv_reader *c, apr_pool_t *pool, const opts *o, const char *path,
                      const char *const *names, int ncols)
{
    apr_array_header_t *f = apr_array_make(pool, ncols, sizeof(char *));
    int r = csv_next(c, pool, f);
    int ok = r == 1 && f->nelts == ncols;

    for (int i = 0; ok && i < ncols; i++) {
        char *s = APR_ARRAY_IDX(f, i, char *);
        apr_collapse_spaces(s, s);
        ok = !strcmp(s, names[i]);
    }
    if (!ok) {
        char expected[256] = "";
        for (int i = 0; i < ncols; i++) {
            strncat(expected, names[i], sizeof expected - strlen(expected) - 2);
            if (i + 1 < ncols)
                strcat(expected, ",");
        }
        if (r < 0)
            err(o, "%s: %s", path, c->error);
        else
            err(o, "%s: line 1: unexpected header; expected: %s", path, expected);
        return -1;
    }
    return 0;
}

/* ================================================================ init-db */

/* Without a script: the migrations (afiliatectl migrate). With --schema FILE: that
 * script as it is, statement by statement, no version recorded (custom or test
 * schemas; the module refuses a database without schema_version). */
static int do_init_db(apr_pool_t *pool, afl_db *db, const opts *o, const char *schema)
{
    const char *e = NULL;
    int n = 0;

    if (!schema)
        return afiliatectl_migrate_db(pool, db, o->cmd);
    if (afl_db_apply_schema_file(db, pool, schema, &n, &e)) {
        err(o, "%s", e);
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
    opts o;
    afl_db *db;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_SCHEMA, 0, 0, usage_init_db, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!(db = open_db(pool, &o, 0)))
        return 1;
    rc = do_init_db(pool, db, &o, o.schema);
    afl_db_close(db);
    return rc;
}

/* ================================================================ import-sepomex */

static const struct stmt_def sepomex_stmts[] = {
    {"dat_sepomex_upsert",
     "INSERT INTO sepomex (cp, asentamiento, tipo_asentamiento, municipio, estado, ciudad, "
     "c_estado, c_mnpio, id_asenta, zona) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
     "ON CONFLICT (c_estado, c_mnpio, id_asenta) DO UPDATE SET cp = excluded.cp, "
     "asentamiento = excluded.asentamiento, tipo_asentamiento = excluded.tipo_asentamiento, "
     "municipio = excluded.municipio, estado = excluded.estado, ciudad = excluded.ciudad, "
     "zona = excluded.zona"},
    {"dat_sepomex_count", "SELECT count(*) FROM sepomex"},
    {"dat_sepomex_cps", "SELECT count(DISTINCT cp) FROM sepomex"},
};

typedef struct {
    afl_db *db;
    const opts *o;
    const char *path;
    apr_pool_t *iter; /* cleared every few thousand rows */
    apr_pool_t *keys; /* in-file keys, to report duplicates */
    apr_hash_t *seen;
    unsigned long rows, dups;
    int failed;
} sepomex_ctx;

static int sepomex_row(void *baton, const afl_sepomex_row *r, unsigned long line)
{
    sepomex_ctx *ctx = baton;
    const char *args[10];
    const char *key;
    int rv;

    if (!all_digits(r->d_codigo, 5) || !all_digits(r->c_estado, 2) || !all_digits(r->c_mnpio, 3) ||
        !*r->id_asenta_cpcons || !all_digits(r->id_asenta_cpcons, strlen(r->id_asenta_cpcons)) ||
        !*r->d_asenta || !*r->d_mnpio || !*r->d_estado || !*r->d_tipo_asenta) {
        err(ctx->o,
            "%s: line %lu: invalid row (needs a 5-digit d_codigo, 2-digit c_estado, 3-digit "
            "c_mnpio, numeric id_asenta_cpcons and non-empty names)",
            ctx->path, line);
        return 1;
    }
    key = apr_pstrcat(ctx->keys, r->c_estado, r->c_mnpio, r->id_asenta_cpcons, NULL);
    if (apr_hash_get(ctx->seen, key, APR_HASH_KEY_STRING))
        ctx->dups++;
    else
        apr_hash_set(ctx->seen, key, APR_HASH_KEY_STRING, "");
    args[0] = r->d_codigo;
    args[1] = r->d_asenta;
    args[2] = r->d_tipo_asenta;
    args[3] = r->d_mnpio;
    args[4] = r->d_estado;
    args[5] = r->d_ciudad;
    args[6] = r->c_estado;
    args[7] = r->c_mnpio;
    args[8] = r->id_asenta_cpcons;
    args[9] = r->d_zona;
    rv = afl_db_exec(ctx->db, ctx->iter, "dat_sepomex_upsert", NULL, 10, args);
    if (rv) {
        err(ctx->o, "%s: line %lu: %s", ctx->path, line, afl_db_errmsg(ctx->db, rv));
        return 1;
    }
    if (++ctx->rows % 4096 == 0)
        apr_pool_clear(ctx->iter);
    return 0;
}

/* Feeds the SEPOMEX text of path (plain, or the zip's CPdescarga.txt) to p. */
static int feed_sepomex(apr_pool_t *pool, const opts *o, const char *path, afl_sepomex_parser *p)
{
    char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int is_zip;

    if (!f) {
        err(o, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, 4, f);
    is_zip = n == 4 && !memcmp(buf, "PK\x03\x04", 4);
    if (!is_zip) {
        afl_sepomex_status st = afl_sepomex_feed(p, buf, n);
        while (st == AFL_SEPOMEX_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
            st = afl_sepomex_feed(p, buf, n);
        if (ferror(f)) {
            err(o, "error reading %s: %s", path, strerror(errno));
            fclose(f);
            return -1;
        }
        fclose(f);
        return 0;
    }
    fclose(f);

    /* The zip as Correos de México distributes it: member CPdescarga.txt, or
     * the only .txt member. */
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    zip_int64_t pick = -1, ntxt = 0, nentries;
    zip_file_t *zf;

    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        err(o, "cannot open the zip %s: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    nentries = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < nentries; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        const char *base;
        size_t len;
        if (!name)
            continue;
        base = strrchr(name, '/');
        base = base ? base + 1 : name;
        len = strlen(base);
        if (!strcasecmp(base, "CPdescarga.txt")) {
            pick = i;
            ntxt = 1;
            break;
        }
        if (len > 4 && !strcasecmp(base + len - 4, ".txt")) {
            ntxt++;
            pick = i;
        }
    }
    if (pick < 0 || ntxt != 1) {
        err(o, "%s: the zip holds neither CPdescarga.txt nor a single .txt file", path);
        zip_discard(z);
        return -1;
    }
    zf = zip_fopen_index(z, (zip_uint64_t)pick, 0);
    if (!zf) {
        err(o, "%s: cannot read the zip member: %s", path, zip_strerror(z));
        zip_discard(z);
        return -1;
    }
    for (;;) {
        zip_int64_t got = zip_fread(zf, buf, sizeof buf);
        if (got < 0) {
            err(o, "%s: decompression error: %s", path, zip_file_strerror(zf));
            zip_fclose(zf);
            zip_discard(z);
            return -1;
        }
        if (got == 0 || afl_sepomex_feed(p, buf, (size_t)got) != AFL_SEPOMEX_OK)
            break;
    }
    zip_fclose(zf);
    zip_discard(z);
    (void)pool;
    return 0;
}

static int do_import_sepomex(apr_pool_t *pool, afl_db *db, const opts *o, const char *path)
{
    sepomex_ctx ctx;
    afl_sepomex_parser *p;
    apr_time_t t0 = apr_time_now();
    int rc = 1, txn;
    long long nrows, ncps;

    if (prepare_all(db, o, sepomex_stmts, sizeof sepomex_stmts / sizeof *sepomex_stmts))
        return 1;
    memset(&ctx, 0, sizeof ctx);
    ctx.db = db;
    ctx.o = o;
    ctx.path = path;
    apr_pool_create(&ctx.iter, pool);
    apr_pool_create(&ctx.keys, pool);
    ctx.seen = apr_hash_make(ctx.keys);
    p = afl_sepomex_create(sepomex_row, &ctx);
    if (!p) {
        err(o, "out of memory");
        return 1;
    }
    txn = afl_db_begin(db, pool);
    if (txn) {
        err(o, "cannot start the transaction: %s", afl_db_errmsg(db, txn));
        afl_db_end(db, 1);
        afl_sepomex_destroy(p);
        return 1;
    }
    if (feed_sepomex(pool, o, path, p) == 0) {
        afl_sepomex_status st = afl_sepomex_finish(p);
        if (st == AFL_SEPOMEX_OK)
            rc = 0;
        else if (st != AFL_SEPOMEX_ABORTED) /* the callback has said why */
            err(o, "%s: %s", path, afl_sepomex_error(p));
    }
    if (rc == 0 && ctx.rows == 0) {
        err(o, "%s: the file has no data rows", path);
        rc = 1;
    }
    txn = afl_db_end(db, rc != 0);
    if (rc == 0 && txn) {
        err(o, "cannot commit the transaction: %s", afl_db_errmsg(db, txn));
        rc = 1;
    }
    afl_sepomex_destroy(p);
    apr_pool_destroy(ctx.keys);
    apr_pool_destroy(ctx.iter);
    if (rc) {
        err(o, "nothing was imported");
        return rc;
    }
    nrows = count_of(db, pool, "dat_sepomex_count", 0, NULL);
    ncps = count_of(db, pool, "dat_sepomex_cps", 0, NULL);
    if (ctx.dups)
        err(o,
            "warning: %lu rows repeat the key (c_estado, c_mnpio, id_asenta_cpcons); "
            "the last one was kept",
            ctx.dups);
    fprintf(stderr, "import-sepomex: %lu rows read from %s in %.2f s\n", ctx.rows, path,
            seconds_since(t0));
    printf("sepomex: %lld settlements, %lld postal codes\n", nrows, ncps);
    return 0;
}

static const char usage_import_sepomex[] =
    "usage: afiliatectl import-sepomex FILE --db PATH [--driver sqlite3|pgsql]\n\n"
    "Imports the national postal-code catalog of Correos de México (SEPOMEX):\n"
    "FILE is CPdescarga.txt (ISO-8859-1, '|'-separated, line 1 the legal notice,\n"
    "line 2 the header) or the zip CPdescargatxt.zip as downloaded. Inserts or\n"
    "updates by (c_estado, c_mnpio, id_asenta) in a single transaction: it can be\n"
    "run again, and an error leaves nothing half-written. Prints\n"
    "'sepomex: N settlements, M postal codes' (totals in the database).\n"
    "The full catalog may not be redistributed: download it from\n"
    "https://www.correosdemexico.gob.mx/SSLServicios/ConsultaCP/CodigoPostal_Exportar.aspx\n";

int afiliatectl_import_sepomex(apr_pool_t *pool, int argc, const char *const *argv)
{
    opts o;
    afl_db *db;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER, 1, 1, usage_import_sepomex, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!(db = open_db(pool, &o, 1)))
        return 1;
    rc = do_import_sepomex(pool, db, &o, o.pos[0]);
    afl_db_close(db);
    return rc;
}

/* ================================================================ import-umf */

static const char *const umf_cols[] = {"clave", "nombre",    "subdelegacion",
                                       "serie", "domicilio", "codigos_postales"};

static const struct stmt_def umf_stmts[] = {
    {"dat_umf_upsert",
     "INSERT INTO umf (clave, nombre, subdelegacion, serie, domicilio) "
     "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (clave) DO UPDATE SET nombre = excluded.nombre, "
     "subdelegacion = excluded.subdelegacion, serie = excluded.serie, "
     "domicilio = excluded.domicilio"},
    {"dat_umf_cp_clear", "DELETE FROM umf_cp WHERE umf_clave = %s"},
    {"dat_umf_cp_add",
     "INSERT INTO umf_cp (cp, umf_clave) VALUES (%s, %s) ON CONFLICT (cp, umf_clave) DO NOTHING"},
    {"dat_umf_count", "SELECT count(*) FROM umf"},
    {"dat_umf_cps", "SELECT count(DISTINCT cp) FROM umf_cp"},
    {"dat_umf_cps_unknown",
     "SELECT count(DISTINCT cp) FROM umf_cp WHERE cp NOT IN (SELECT cp FROM sepomex)"},
};

static int valid_clave(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_' || s[n] == '.'))
            return 0;
    return n >= 1 && n <= 32;
}

/* Trims blanks in place and returns the field; checks text fields. */
static char *field(apr_array_header_t *f, int i)
{
    char *s = APR_ARRAY_IDX(f, i, char *);
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int text_ok(const char *s, int required, size_t max)
{
    return (!required || *s) && strlen(s) <= max && clean_utf8(s);
}

static int do_import_umf(apr_pool_t *pool, afl_db *db, const opts *o, const char *path)
{
    char *text;
    apr_size_t len;
    csv_reader c;
    apr_array_header_t *f;
    apr_hash_t *claves;
    apr_pool_t *iter;
    int rc = 0, r, txn;
    unsigned long units = 0;
    long long n_umf, n_cps, n_unknown;

    if (prepare_all(db, o, umf_stmts, sizeof umf_stmts / sizeof *umf_stmts))
        return 1;
    if (slurp(pool, o, path, &text, &len))
        return 1;
    csv_init(&c, text, len);
    if (csv_header(&c, pool, o, path, umf_cols, 6))
        return 1;
    f = apr_array_make(pool, 6, sizeof(char *));
    claves = apr_hash_make(pool);
    apr_pool_create(&iter, pool);
    txn = afl_db_begin(db, pool);
    if (txn) {
        err(o, "cannot start the transaction: %s", afl_db_errmsg(db, txn));
        afl_db_end(db, 1);
        return 1;
    }
    while (rc == 0 && (r = csv_next(&c, iter, f)) == 1) {
        unsigned long line = c.rec_line;
        const char *clave, *nombre, *subdel, *serie, *dom;
        char *cps, *tok, *save = NULL;
        const char *args[5];
        int rv, ncp = 0;

        if (f->nelts != 6) {
            err(o, "%s: line %lu: expected 6 columns, found %d", path, line, f->nelts);
            rc = 1;
            break;
        }
        clave = field(f, 0);
        nombre = field(f, 1);
        subdel = field(f, 2);
        serie = field(f, 3);
        dom = field(f, 4);
        cps = field(f, 5);
        if (!valid_clave(clave)) {
            err(o, "%s: line %lu: invalid clave (1 to 32 ASCII letters, digits, '-', '_', '.')",
                path, line);
            rc = 1;
        } else if (apr_hash_get(claves, clave, APR_HASH_KEY_STRING)) {
            err(o, "%s: line %lu: clave %s already appeared on line %s", path, line, clave,
                (const char *)apr_hash_get(claves, clave, APR_HASH_KEY_STRING));
            rc = 1;
        } else if (!text_ok(nombre, 1, 200)) {
            err(o, "%s: line %lu: nombre is empty, too long or has invalid characters", path, line);
            rc = 1;
        } else if (!text_ok(subdel, 1, 200)) {
            err(o, "%s: line %lu: subdelegacion is empty, too long or has invalid characters", path,
                line);
            rc = 1;
        } else if (!all_digits(serie, 2)) {
            err(o, "%s: line %lu: invalid serie (must be 2 digits, e.g. 01)", path, line);
            rc = 1;
        } else if (!text_ok(dom, 0, 400)) {
            err(o, "%s: line %lu: domicilio is too long or has invalid characters", path, line);
            rc = 1;
        }
        if (rc)
            break;
        apr_hash_set(claves, apr_pstrdup(pool, clave), APR_HASH_KEY_STRING,
                     apr_psprintf(pool, "%lu", line));
        args[0] = clave;
        args[1] = nombre;
        args[2] = subdel;
        args[3] = serie;
        args[4] = dom;
        rv = afl_db_exec(db, iter, "dat_umf_upsert", NULL, 5, args);
        if (!rv)
            rv = afl_db_exec(db, iter, "dat_umf_cp_clear", NULL, 1, args);
        for (tok = apr_strtok(cps, " \t", &save); !rv && tok;
             tok = apr_strtok(NULL, " \t", &save)) {
            const char *a2[2] = {tok, clave};
            if (!all_digits(tok, 5)) {
                err(o,
                    "%s: line %lu: invalid postal code in codigos_postales: '%.12s' "
                    "(5-digit codes separated by spaces)",
                    path, line, tok);
                rc = 1;
                break;
            }
            rv = afl_db_exec(db, iter, "dat_umf_cp_add", NULL, 2, a2);
            ncp++;
        }
        if (rv) {
            err(o, "%s: line %lu: %s", path, line, afl_db_errmsg(db, rv));
            rc = 1;
        }
        units++;
        apr_pool_clear(iter);
    }
    if (rc == 0 && r < 0) {
        err(o, "%s: %s", path, c.error);
        rc = 1;
    }
    if (rc == 0 && units == 0) {
        err(o, "%s: the file has no data rows", path);
        rc = 1;
    }
    txn = afl_db_end(db, rc != 0);
    if (rc == 0 && txn) {
        err(o, "cannot commit the transaction: %s", afl_db_errmsg(db, txn));
        rc = 1;
    }
    apr_pool_destroy(iter);
    if (rc) {
        err(o, "nothing was imported");
        return rc;
    }
    n_umf = count_of(db, pool, "dat_umf_count", 0, NULL);
    n_cps = count_of(db, pool, "dat_umf_cps", 0, NULL);
    n_unknown = count_of(db, pool, "dat_umf_cps_unknown", 0, NULL);
    if (n_unknown > 0)
        err(o, "warning: %lld served postal codes are not in the imported SEPOMEX catalog",
            n_unknown);
    fprintf(stderr, "import-umf: %lu units read from %s\n", units, path);
    printf("umf: %lld units, %lld postal codes\n", n_umf, n_cps);
    return 0;
}

static const char usage_import_umf[] =
    "usage: afiliatectl import-umf FILE.csv --db PATH [--driver sqlite3|pgsql]\n\n"
    "Imports Unidades de Medicina Familiar (UMF) from a CSV file (UTF-8, RFC 4180,\n"
    "with header): clave,nombre,subdelegacion,serie,domicilio,codigos_postales\n"
    "serie: 2 digits (NSS serie of the subdelegación); codigos_postales: 5-digit\n"
    "postal codes separated by spaces. Inserts or updates by clave and replaces the\n"
    "postal codes of each UMF in the file; all in one transaction (an error writes\n"
    "nothing).\n";

int afiliatectl_import_umf(apr_pool_t *pool, int argc, const char *const *argv)
{
    opts o;
    afl_db *db;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER, 1, 1, usage_import_umf, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!(db = open_db(pool, &o, 1)))
        return 1;
    rc = do_import_umf(pool, db, &o, o.pos[0]);
    afl_db_close(db);
    return rc;
}

/* ================================================================ import-registry */

static const char *const active_codes[] = {"AN", "AH", "CRA", "RCN", "RCC"};
static const char *const inactive_codes[] = {"BD",  "BDA", "BCC", "BCN", "BAP",
                                             "BSU", "BDM", "BDP", "BJD"};

static int status_known(const char *s)
{
    for (size_t i = 0; i < sizeof active_codes / sizeof *active_codes; i++)
        if (!strcmp(s, active_codes[i]))
            return 1;
    for (size_t i = 0; i < sizeof inactive_codes / sizeof *inactive_codes; i++)
        if (!strcmp(s, inactive_codes[i]))
            return 1;
    return 0;
}

static int status_active(const char *s)
{
    for (size_t i = 0; i < sizeof active_codes / sizeof *active_codes; i++)
        if (!strcmp(s, active_codes[i]))
            return 1;
    return 0;
}

static const char *const registry_cols[] = {"curp",
                                            "nombres",
                                            "primer_apellido",
                                            "segundo_apellido",
                                            "fecha_nacimiento",
                                            "sexo",
                                            "entidad_nacimiento",
                                            "status_curp"};

#define SQL_ACTIVE "('AN', 'AH', 'CRA', 'RCN', 'RCC')"
#define SQL_INACTIVE "('BD', 'BDA', 'BCC', 'BCN', 'BAP', 'BSU', 'BDM', 'BDP', 'BJD')"

static const struct stmt_def registry_stmts[] = {
    {"dat_persona_upsert",
     "INSERT INTO renapo_persona (curp, nombres, primer_apellido, segundo_apellido, "
     "fecha_nacimiento, sexo, entidad_nacimiento, status_curp) "
     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (curp) DO UPDATE SET "
     "nombres = excluded.nombres, primer_apellido = excluded.primer_apellido, "
     "segundo_apellido = excluded.segundo_apellido, fecha_nacimiento = excluded.fecha_nacimiento, "
     "sexo = excluded.sexo, entidad_nacimiento = excluded.entidad_nacimiento, "
     "status_curp = excluded.status_curp"},
    {"dat_persona_count", "SELECT count(*) FROM renapo_persona"},
    {"dat_persona_active", "SELECT count(*) FROM renapo_persona WHERE status_curp IN " SQL_ACTIVE},
};

static const char *curp_reason_text(afl_curp_reason r)
{
    switch (r) {
    case AFL_CURP_OK:
        return "valid";
    case AFL_CURP_BAD_LENGTH:
        return "length is not 18";
    case AFL_CURP_BAD_FORMAT:
        return "format";
    case AFL_CURP_BAD_SEX:
        return "sex";
    case AFL_CURP_BAD_STATE:
        return "state";
    case AFL_CURP_BAD_DATE:
        return "date";
    case AFL_CURP_INCONVENIENT_WORD:
        return "inconvenient word";
    case AFL_CURP_BAD_CHECK_DIGIT:
        return "check digit";
    }
    return "unknown";
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* YYYY-MM-DD, a real date. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    if (*y < 1900 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

static int do_import_registry(apr_pool_t *pool, afl_db *db, const opts *o, const char *path)
{
    char *text;
    apr_size_t len;
    csv_reader c;
    apr_array_header_t *f;
    apr_hash_t *seen;
    apr_pool_t *iter;
    int rc = 0, r, txn;
    unsigned long rows = 0;
    long long total, active;

    if (prepare_all(db, o, registry_stmts, sizeof registry_stmts / sizeof *registry_stmts))
        return 1;
    if (slurp(pool, o, path, &text, &len))
        return 1;
    csv_init(&c, text, len);
    if (csv_header(&c, pool, o, path, registry_cols, 8))
        return 1;
    f = apr_array_make(pool, 8, sizeof(char *));
    seen = apr_hash_make(pool);
    apr_pool_create(&iter, pool);
    txn = afl_db_begin(db, pool);
    if (txn) {
        err(o, "cannot start the transaction: %s", afl_db_errmsg(db, txn));
        afl_db_end(db, 1);
        return 1;
    }
    while (rc == 0 && (r = csv_next(&c, iter, f)) == 1) {
        unsigned long line = c.rec_line;
        const char *curp, *nombres, *ap1, *ap2, *fecha, *sexo, *ent, *status;
        afl_curp_info info;
        afl_curp_reason why;
        int y, m, d, rv;
        const char *args[8];
        const char *prev;

        if (f->nelts != 8) {
            err(o, "%s: line %lu: expected 8 columns, found %d", path, line, f->nelts);
            rc = 1;
            break;
        }
        curp = field(f, 0);
        nombres = field(f, 1);
        ap1 = field(f, 2);
        ap2 = field(f, 3);
        fecha = field(f, 4);
        sexo = field(f, 5);
        ent = field(f, 6);
        status = field(f, 7);
        why = afl_curp_validate(curp, strlen(curp), &info);
        if (why != AFL_CURP_OK) {
            err(o, "%s: line %lu: invalid CURP (%s)", path, line, curp_reason_text(why));
            rc = 1;
        } else if ((prev = apr_hash_get(seen, info.curp, APR_HASH_KEY_STRING))) {
            err(o, "%s: line %lu: duplicate CURP (already on line %s)", path, line, prev);
            rc = 1;
        } else if (!text_ok(nombres, 1, 200) || !text_ok(ap1, 1, 200) || !text_ok(ap2, 0, 200)) {
            err(o,
                "%s: line %lu: nombres, primer_apellido or segundo_apellido: empty, too long or "
                "invalid",
                path, line);
            rc = 1;
        } else if (parse_date(fecha, &y, &m, &d)) {
            err(o, "%s: line %lu: invalid fecha_nacimiento (YYYY-MM-DD)", path, line);
            rc = 1;
        } else if (y != info.birth_year || m != info.birth_month || d != info.birth_day) {
            err(o, "%s: line %lu: fecha_nacimiento does not match the CURP", path, line);
            rc = 1;
        } else if (strlen(sexo) != 1 || (sexo[0] != 'H' && sexo[0] != 'M' && sexo[0] != 'X')) {
            err(o, "%s: line %lu: invalid sexo (H, M or X)", path, line);
            rc = 1;
        } else if (sexo[0] != info.sex) {
            err(o, "%s: line %lu: sexo does not match the CURP", path, line);
            rc = 1;
        } else if (!afl_curp_state_name(ent)) {
            err(o, "%s: line %lu: invalid entidad_nacimiento (2-letter state code or NE)", path,
                line);
            rc = 1;
        } else if (strcmp(ent, info.state)) {
            err(o, "%s: line %lu: entidad_nacimiento does not match the CURP", path, line);
            rc = 1;
        } else if (!status_known(status)) {
            err(o,
                "%s: line %lu: unknown status_curp (AN AH CRA RCN RCC BD BDA BCC BCN BAP "
                "BSU BDM BDP BJD)",
                path, line);
            rc = 1;
        }
        if (rc)
            break;
        apr_hash_set(seen, apr_pstrdup(pool, info.curp), APR_HASH_KEY_STRING,
                     apr_psprintf(pool, "%lu", line));
        args[0] = info.curp;
        args[1] = nombres;
        args[2] = ap1;
        args[3] = *ap2 ? ap2 : NULL;
        args[4] = fecha;
        args[5] = sexo;
        args[6] = ent;
        args[7] = status;
        rv = afl_db_exec(db, iter, "dat_persona_upsert", NULL, 8, args);
        if (rv) {
            err(o, "%s: line %lu: %s", path, line, afl_db_errmsg(db, rv));
            rc = 1;
        }
        rows++;
        apr_pool_clear(iter);
    }
    if (rc == 0 && r < 0) {
        err(o, "%s: %s", path, c.error);
        rc = 1;
    }
    if (rc == 0 && rows == 0) {
        err(o, "%s: the file has no data rows", path);
        rc = 1;
    }
    txn = afl_db_end(db, rc != 0);
    if (rc == 0 && txn) {
        err(o, "cannot commit the transaction: %s", afl_db_errmsg(db, txn));
        rc = 1;
    }
    apr_pool_destroy(iter);
    if (rc) {
        err(o, "nothing was imported");
        return rc;
    }
    total = count_of(db, pool, "dat_persona_count", 0, NULL);
    active = count_of(db, pool, "dat_persona_active", 0, NULL);
    fprintf(stderr, "import-registry: %lu rows read from %s\n", rows, path);
    printf("registry: %lld persons (%lld active, %lld inactive)\n", total, active, total - active);
    return 0;
}

static const char usage_import_registry[] =
    "usage: afiliatectl import-registry FILE.csv --db PATH [--driver sqlite3|pgsql]\n\n"
    "Imports the mirror of the RENAPO registry from a CSV file (UTF-8, RFC 4180,\n"
    "with header): curp,nombres,primer_apellido,segundo_apellido,fecha_nacimiento,\n"
    "sexo,entidad_nacimiento,status_curp\n"
    "fecha_nacimiento YYYY-MM-DD; sexo H, M or X; an empty segundo_apellido means\n"
    "none. Every CURP is validated (and its date, sex and state must match the\n"
    "columns); status_curp is one of AN AH CRA RCN RCC BD BDA BCC BCN BAP BSU BDM\n"
    "BDP BJD. Inserts or updates by curp in one transaction (an error writes\n"
    "nothing and names the line).\n";

int afiliatectl_import_registry(apr_pool_t *pool, int argc, const char *const *argv)
{
    opts o;
    afl_db *db;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER, 1, 1, usage_import_registry, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (afl_curp_init() != 0) {
        err(&o, "cannot initialise CURP validation");
        return 1;
    }
    if (!(db = open_db(pool, &o, 1)))
        return 1;
    rc = do_import_registry(pool, db, &o, o.pos[0]);
    afl_db_close(db);
    return rc;
}

/* ================================================================ demo-registry */

/* splitmix64: small, fast, good enough for synthetic data, same everywhere. */
typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rng_below(rng *r, unsigned n)
{
    return (unsigned)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Given names: compound names and accents as RENAPO writes them. */
static const char *const names_m[] = {
    "María Fernanda", "María José", "Ana Sofía",
    "Ximena",         "Valeria",    "Camila",
    "Regina",         "Renata",     "Daniela",
    "Sofía",          "Valentina",  "Mariana",
    "Andrea",         "Fernanda",   "Natalia",
    "Paola",          "Alejandra",  "Gabriela",
    "Ana Paula",      "Isabella",   "Victoria",
    "Montserrat",     "Jimena",     "Itzel",
    "Citlali",        "Guadalupe",  "María Guadalupe",
    "Juana",          "Rosa María", "Lucía",
    "Elena",          "Diana",      "Karla",
    "Brenda",         "Carolina",   "Claudia",
    "Adriana",        "Araceli",    "Beatriz",
    "Verónica",       "Patricia",   "Leticia",
    "Mónica",         "Sandra",     "Alma Rosa",
    "Yolanda",        "Norma",      "Gloria",
    "Silvia",         "Teresa",     "Margarita",
    "Josefina",       "Ángela",     "María de los Ángeles",
    "Dulce María",    "Estefanía",  "Nayeli",
    "Xóchitl",        "Yaretzi",    "Abril",
    "Ivanna",         "Romina",     "Aitana",
    "Julieta",        "Emilia",     "Constanza",
    "Luciana",        "Frida",      "Zoé",
    "Ashley",         "Melissa",    "Michelle",
    "Vanessa",        "Jazmín",     "Esmeralda",
    "Perla",          "Rocío",      "Miriam",
    "Noemí",          "Raquel",     "Susana",
    "Lorena",         "Cecilia",    "Liliana",
    "Marisol",        "Anahí",      "Arely",
    "Belén",          "Carmen",     "María Concepción",
    "Dolores",        "Inés",       "Irene",
    "Lourdes",        "Paulina",    "Sara",
    "Sonia",          "Tania",      "Yesenia",
    "Ana Karen",      "Maricruz",   "Ma. del Carmen",
    "Itzayana",       "Begoña",
};

static const char *const names_h[] = {
    "José Luis",     "Juan Carlos",   "Luis Fernando",
    "José Antonio",  "Miguel Ángel",  "Juan Pablo",
    "Jesús",         "Santiago",      "Sebastián",
    "Mateo",         "Leonardo",      "Emiliano",
    "Diego",         "Daniel",        "Alejandro",
    "Ángel",         "Iker",          "Gael",
    "Rodrigo",       "Fernando",      "Ricardo",
    "Eduardo",       "Francisco",     "Javier",
    "Carlos",        "Jorge",         "Luis",
    "Manuel",        "Pedro",         "Raúl",
    "Roberto",       "Sergio",        "Víctor",
    "Óscar",         "Arturo",        "Alberto",
    "Andrés",        "Antonio",       "Armando",
    "César",         "Enrique",       "Ernesto",
    "Gerardo",       "Guillermo",     "Héctor",
    "Hugo",          "Ignacio",       "Iván",
    "Jaime",         "Joel",          "Julio César",
    "Marco Antonio", "Mario",         "Martín",
    "Mauricio",      "Octavio",       "Pablo",
    "Rafael",        "Ramón",         "Rubén",
    "Salvador",      "Saúl",          "Tomás",
    "Ulises",        "Abraham",       "Adrián",
    "Benjamín",      "Bruno",         "Cristian",
    "Axel",          "Kevin",         "Brandon",
    "Erick",         "Isaac",         "Joaquín",
    "Josué",         "Moisés",        "Samuel",
    "Uriel",         "Aarón",         "Alan",
    "Damián",        "Efraín",        "Elías",
    "Emmanuel",      "Fabián",        "Gustavo",
    "Israel",        "José María",    "Juan José",
    "Luis Ángel",    "Jesús Alberto", "Francisco Javier",
    "José de Jesús", "Ramiro",        "Rogelio",
    "Valentín",      "Patricio",      "Tadeo",
    "Maximiliano",   "Íñigo",         "J. Guadalupe",
    "Cuauhtémoc",    "Xavier",
};

/* Surnames, the most frequent first (picked with a skew towards the top). */
static const char *const surnames[] = {
    "Hernández", "García",      "Martínez",      "López",     "González", "Pérez",
    "Rodríguez", "Sánchez",     "Ramírez",       "Cruz",      "Flores",   "Gómez",
    "Morales",   "Vázquez",     "Reyes",         "Jiménez",   "Torres",   "Díaz",
    "Gutiérrez", "Ruiz",        "Mendoza",       "Aguilar",   "Ortiz",    "Moreno",
    "Castillo",  "Romero",      "Álvarez",       "Méndez",    "Chávez",   "Rivera",
    "Juárez",    "Ramos",       "Domínguez",     "Herrera",   "Medina",   "Castro",
    "Vargas",    "Guzmán",      "Velázquez",     "Muñoz",     "Rojas",    "de la Cruz",
    "Contreras", "Salazar",     "Luna",          "Ortega",    "Guerrero", "Santiago",
    "Estrada",   "Bautista",    "Cortés",        "Soto",      "Alvarado", "Espinoza",
    "Lara",      "Ávila",       "Ríos",          "Cervantes", "Silva",    "Delgado",
    "Vega",      "Márquez",     "Sandoval",      "Fernández", "León",     "Carrillo",
    "Mejía",     "Solís",       "Núñez",         "Rosas",     "Valdez",   "Ibarra",
    "Campos",    "Santos",      "Camacho",       "Navarro",   "Peña",     "Maldonado",
    "Rosales",   "Acosta",      "Miranda",       "Trejo",     "Valencia", "Nava",
    "Pacheco",   "Robles",      "Molina",        "Rangel",    "Huerta",   "Padilla",
    "Fuentes",   "Cabrera",     "Meza",          "Ayala",     "Montes",   "Cárdenas",
    "Salinas",   "Zúñiga",      "Ibáñez",        "Ordóñez",   "Patiño",   "Quiñones",
    "Treviño",   "Castañeda",   "Saldaña",       "Peñaloza",  "Escobedo", "Villanueva",
    "Orozco",    "Galván",      "Cisneros",      "Benítez",   "Zamora",   "Arellano",
    "Barrera",   "Beltrán",     "Calderón",      "Duarte",    "Esquivel", "Figueroa",
    "Gallegos",  "Lozano",      "Mata",          "Montoya",   "Ochoa",    "Olvera",
    "Pineda",    "Quintero",    "Salas",         "Tapia",     "Urbina",   "Villegas",
    "Zavala",    "del Río",     "de los Santos", "del Ángel", "de León",  "Magaña",
    "Góngora",   "Nuño",        "Enríquez",      "Téllez",    "Ocaña",    "Cañedo",
    "Yáñez",     "Xicoténcatl", "Tzompa",        "Canché",    "Ek",       "Pech",
    "Chan",      "Uc",          "Bañuelos",      "Montaño",   "Toledo",   "Arriaga",
    "Becerra",   "Mañón",       "Briseño",       "Luján",
};

static const char *const streets[] = {
    "Avenida Insurgentes Sur",
    "Calle Hidalgo",
    "Calle Morelos",
    "Avenida Juárez",
    "Calle 5 de Mayo",
    "Calle Zaragoza",
    "Avenida Reforma",
    "Calle Allende",
    "Calle Guerrero",
    "Calle Independencia",
    "Avenida Revolución",
    "Calle Niños Héroes",
    "Calle Benito Juárez",
    "Calle Emiliano Zapata",
    "Calle Francisco I. Madero",
    "Avenida Universidad",
    "Calle Aldama",
    "Calle Matamoros",
    "Calle Abasolo",
    "Calle Ignacio Allende",
    "Avenida de las Torres",
    "Calle Colima",
    "Calle Durango",
    "Calle Jalapa",
    "Calle Orizaba",
    "Calle Querétaro",
    "Calle Tonalá",
    "Calle Mérida",
    "Avenida Vallarta",
    "Avenida Constitución",
    "Calle Pino Suárez",
    "Calle Xicoténcatl",
    "Calle Cuauhtémoc",
    "Privada de los Fresnos",
    "Cerrada Nogal",
};

static const char *const state_codes[] = {
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT",
    "GR", "HG", "JC", "MC", "MN", "MS", "NT", "NL", "OC", "PL", "QT",
    "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS", "NE",
};

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm). */
static void civil_from_days(long z, int *y, int *m, int *d)
{
    long era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static long days_from_civil(int y, int m, int d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ASCII e-mail part from a UTF-8 name: first word (or whole, for a surname
 * with particles), lowercase, accents dropped, Ñ -> n. */
static void ascii_slug(const char *in, int first_word_only, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)in;

    while (*p && n + 1 < cap) {
        unsigned c = *p;
        if (c == ' ' || c == '.') {
            if (first_word_only && n > 0)
                break;
            p++;
            continue;
        }
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                out[n++] = (char)c;
            else if (c >= 'A' && c <= 'Z')
                out[n++] = (char)(c - 'A' + 'a');
            p++;
            continue;
        }
        if (c == 0xC3 && p[1]) {
            /* Latin-1 supplement: U+00C0..U+00FF */
            static const char map[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyts"  /* C0..DF */
                                      "aaaaaaaceeeeiiiidnooooo/ouuuuyty"; /* E0..FF */
            unsigned cp = 0xC0 + (p[1] & 0x3F);
            char a = map[cp - 0xC0];
            if (a != '/')
                out[n++] = a;
            p += 2;
            continue;
        }
        p++; /* anything else is dropped */
    }
    out[n] = '\0';
}

typedef struct {
    const char *clave, *serie;
} umf_ref;

typedef struct {
    const char *cp, *colonia;
    apr_array_header_t *umfs; /* umf_ref */
} cp_ref;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *by_cp;          /* cp -> apr_array_header_t of umf_ref */
    apr_array_header_t *places; /* cp_ref */
} demo_geo;

static int load_umf_row(void *baton, int ncols, const char *const *v)
{
    demo_geo *g = baton;
    apr_array_header_t *list;
    umf_ref *u;

    if (ncols < 3 || !v[0] || !v[1] || !v[2])
        return 0;
    list = apr_hash_get(g->by_cp, v[0], APR_HASH_KEY_STRING);
    if (!list) {
        list = apr_array_make(g->pool, 2, sizeof(umf_ref));
        apr_hash_set(g->by_cp, apr_pstrdup(g->pool, v[0]), APR_HASH_KEY_STRING, list);
    }
    u = apr_array_push(list);
    u->clave = apr_pstrdup(g->pool, v[1]);
    u->serie = apr_pstrdup(g->pool, v[2]);
    return 0;
}

static int load_place_row(void *baton, int ncols, const char *const *v)
{
    demo_geo *g = baton;
    cp_ref *c;
    apr_array_header_t *umfs;

    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    umfs = apr_hash_get(g->by_cp, v[0], APR_HASH_KEY_STRING);
    if (!umfs)
        return 0;
    c = apr_array_push(g->places);
    c->cp = apr_pstrdup(g->pool, v[0]);
    c->colonia = apr_pstrdup(g->pool, v[1]);
    c->umfs = umfs;
    return 0;
}

static const struct stmt_def demo_stmts[] = {
    {"dat_demo_umfs",
     "SELECT c.cp, u.clave, u.serie FROM umf_cp c JOIN umf u ON u.clave = c.umf_clave "
     "ORDER BY c.cp, u.clave"},
    {"dat_demo_places",
     "SELECT s.cp, s.asentamiento FROM sepomex s WHERE s.cp IN (SELECT cp FROM umf_cp) "
     "ORDER BY s.cp, s.c_estado, s.c_mnpio, s.id_asenta"},
    {"dat_demo_persona",
     "SELECT nombres, primer_apellido, segundo_apellido, fecha_nacimiento, sexo, "
     "entidad_nacimiento FROM renapo_persona WHERE curp = %s"},
    {"dat_demo_persona_add",
     "INSERT INTO renapo_persona (curp, nombres, primer_apellido, segundo_apellido, "
     "fecha_nacimiento, sexo, entidad_nacimiento, status_curp) "
     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"},
    /* The folio counter shared with the web assignment (afl_store.c): the
     * folio taken is the old siguiente; siguiente = 10000 means exhausted. */
    {"dat_demo_folio_take",
     "INSERT INTO folio_contador (prefijo, siguiente) VALUES (%s, 1) ON CONFLICT (prefijo) "
     "DO UPDATE SET siguiente = folio_contador.siguiente + 1 "
     "WHERE folio_contador.siguiente < 10000"},
    {"dat_demo_folio_get", "SELECT siguiente FROM folio_contador WHERE prefijo = %s"},
    {"dat_demo_nss_taken", "SELECT 1 FROM asegurado WHERE nss = %s"},
    {"dat_demo_asegurado_add",
     "INSERT INTO asegurado (nss, curp, prefijo, folio, correo, cp, colonia, calle, "
     "numero_exterior, numero_interior, umf_clave, origen, creado, actualizado) "
     "VALUES (%s, %s, %s, %d, %s, %s, %s, %s, %s, %s, %s, 'localizado', %lld, %lld)"},
    /* Demo coverage, so Paso 2 has something to certify: one school period
     * per demo insured person. */
    {"dat_demo_cobertura_add",
     "INSERT INTO cobertura (clave, nss, curp, movimiento, inicio, fin, origen, escuela, creado, "
     "actualizado) VALUES (%s, %s, %s, 'alta', %s, %s, 'escuela', 'DEMO', %lld, %lld) "
     "ON CONFLICT (clave) DO NOTHING"},
    {"dat_persona_count", "SELECT count(*) FROM renapo_persona"},
    {"dat_asegurado_count", "SELECT count(*) FROM asegurado"},
};

typedef struct {
    char nombres[96], ap1[64], ap2[64];
    int y, m, d;
    char sex;
    const char *state;
    const char *status;
    char fecha[24];
} demo_person;

static void make_person(rng *r, demo_person *p)
{
    unsigned u = rng_below(r, 1000);
    long day0 = days_from_civil(1995, 1, 1), day1 = days_from_civil(2010, 12, 31);
    const char *given;

    p->sex = u < 3 ? 'X' : (u < 502 ? 'H' : 'M');
    if (p->sex == 'H')
        given = names_h[rng_below(r, COUNT(names_h))];
    else if (p->sex == 'M')
        given = names_m[rng_below(r, COUNT(names_m))];
    else
        given = rng_below(r, 2) ? names_h[rng_below(r, COUNT(names_h))]
                                : names_m[rng_below(r, COUNT(names_m))];
    snprintf(p->nombres, sizeof p->nombres, "%s", given);
    /* Skewed towards the frequent surnames: index = n * u^2. */
    for (int k = 0; k < 2; k++) {
        double x = (double)rng_below(r, 1u << 30) / (double)(1u << 30);
        size_t idx = (size_t)((double)COUNT(surnames) * x * x);
        snprintf(k ? p->ap2 : p->ap1, sizeof p->ap1, "%s", surnames[idx]);
    }
    if (rng_below(r, 100) < 3)
        p->ap2[0] = '\0'; /* ~3% without a second surname */
    civil_from_days(day0 + (long)rng_below(r, (unsigned)(day1 - day0 + 1)), &p->y, &p->m, &p->d);
    snprintf(p->fecha, sizeof p->fecha, "%04d-%02d-%02d", p->y, p->m, p->d);
    p->state = state_codes[rng_below(r, COUNT(state_codes))];
    u = rng_below(r, 1000);
    if (u < 970)
        p->status = "AN";
    else if (u < 977)
        p->status = "AH";
    else if (u < 982)
        p->status = "RCN";
    else if (u < 986)
        p->status = "RCC";
    else if (u < 990)
        p->status = "CRA";
    else
        p->status = inactive_codes[rng_below(r, COUNT(inactive_codes))];
}

typedef struct {
    const char *v[6];
    int seen;
} persona_row;

static int take_persona(void *baton, int ncols, const char *const *v)
{
    persona_row *pr = baton;

    if (ncols >= 6 && !pr->seen) {
        for (int i = 0; i < 6; i++)
            pr->v[i] = v[i];
        pr->seen = 1;
    }
    return 0;
}

static int str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

typedef struct {
    unsigned long created, existed, collisions, no_curp, with_nss, no_folio;
} demo_stats;

/* Takes the next folio of prefix; -1 exhausted, -2 database error (*dbrv). */
static int take_folio(afl_db *db, apr_pool_t *p, const char *prefix, int *dbrv)
{
    const char *v = NULL;
    int n = 0;

    if ((*dbrv = afl_db_exec(db, p, "dat_demo_folio_take", &n, 1, &prefix)))
        return -2;
    if (n != 1)
        return -1;
    if ((*dbrv = afl_db_select_value(db, p, "dat_demo_folio_get", 1, &prefix, &v)) || !v)
        return -2;
    return atoi(v) - 1;
}

/* NSS for an active person; 0 done (or no folio left), -2 database error. */

/* Demo coverage: about 70 % of the demo insured persons are covered today
 * (an alta that started 1 to 13 months ago and ends 1 to 7 months from now),
 * the rest lapsed (a period that ended 1 day to a year ago). Deterministic
 * for a seed and a day. */
static int demo_cobertura(afl_db *db, apr_pool_t *p, rng *r, const char *nss, const char *curp,
                          long long now, int *dbrv)
{
    int hoy = afl_vigencia_today(apr_time_from_sec(now)), inicio, fin;
    char a[11], b[11];

    if (rng_below(r, 10) < 7) {
        inicio = hoy - 30 - (int)rng_below(r, 370);
        fin = hoy + 30 + (int)rng_below(r, 180);
    } else {
        fin = hoy - 1 - (int)rng_below(r, 365);
        inicio = fin - 120 - (int)rng_below(r, 245);
    }
    afl_vigencia_format_date(inicio, a);
    afl_vigencia_format_date(fin, b);
    {
        const char *args[7] = {apr_pstrcat(p, "demo:", nss, NULL),
                               nss,
                               curp,
                               a,
                               b,
                               apr_ltoa(p, (long)now),
                               apr_ltoa(p, (long)now)};
        if ((*dbrv = afl_db_exec(db, p, "dat_demo_cobertura_add", NULL, 7, args)))
            return -2;
    }
    return 0;
}

static int give_nss(afl_db *db, apr_pool_t *p, rng *r, const demo_person *dp, const char *curp,
                    const demo_geo *g, long long now, demo_stats *st, int *dbrv)
{
    const cp_ref *place = &APR_ARRAY_IDX(g->places, rng_below(r, g->places->nelts), cp_ref);
    const umf_ref *umf = &APR_ARRAY_IDX(place->umfs, rng_below(r, place->umfs->nelts), umf_ref);
    int serie = atoi(umf->serie);
    int first = dp->y + 15 > LAST_REG_YEAR ? LAST_REG_YEAR : dp->y + 15;
    int reg = first + (int)rng_below(r, (unsigned)(LAST_REG_YEAR - first + 1));
    char given[32], sur[32], nss[12];
    const char *correo, *numext, *numint, *calle;

    ascii_slug(dp->nombres, 1, given, sizeof given);
    ascii_slug(dp->ap1, 0, sur, sizeof sur);
    correo = apr_psprintf(p, "%s.%s%u@ejemplo.mx", given, sur, rng_below(r, 1000));
    calle = streets[rng_below(r, COUNT(streets))];
    numext = apr_psprintf(p, "%u", 1 + rng_below(r, 2999));
    numint = rng_below(r, 4) == 0 ? apr_psprintf(p, "%u", 1 + rng_below(r, 40)) : NULL;
    /* The registration year falls back to earlier years when a prefix is full. */
    for (; reg >= first; reg--) {
        const char *prefix = apr_psprintf(p, "%02d%02d%02d", serie, reg % 100, dp->y % 100);
        for (;;) {
            const char *taken = NULL;
            const char *nssp = nss;
            int folio = take_folio(db, p, prefix, dbrv);
            if (folio == -2)
                return -2;
            if (folio < 0)
                break;
            if (afl_nss_compose(serie, reg % 100, dp->y % 100, folio, nss) != 0)
                return -2;
            if ((*dbrv = afl_db_select_value(db, p, "dat_demo_nss_taken", 1, &nssp, &taken)))
                return -2;
            if (taken)
                continue; /* an NSS loaded from elsewhere holds this folio */
            const char *args[13] = {nss,
                                    curp,
                                    prefix,
                                    apr_itoa(p, folio),
                                    correo,
                                    place->cp,
                                    place->colonia,
                                    calle,
                                    numext,
                                    numint,
                                    umf->clave,
                                    apr_ltoa(p, (long)now),
                                    apr_ltoa(p, (long)now)};
            if ((*dbrv = afl_db_exec(db, p, "dat_demo_asegurado_add", NULL, 13, args)))
                return -2;
            if (demo_cobertura(db, p, r, nss, curp, now, dbrv) != 0)
                return -2;
            st->with_nss++;
            return 0;
        }
    }
    st->no_folio++;
    return 0;
}

static int demo_one(afl_db *db, apr_pool_t *p, unsigned long long seed, unsigned long i,
                    const demo_geo *g, long long now, demo_stats *st, const opts *o)
{
    rng r = {seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(i + 1))};
    demo_person dp;
    afl_person ap;
    char curp[19];
    int ncand, rv;

    rng_next(&r);
    make_person(&r, &dp);
    memset(&ap, 0, sizeof ap);
    ap.given_names = dp.nombres;
    ap.first_surname = dp.ap1;
    ap.second_surname = dp.ap2;
    ap.birth_year = dp.y;
    ap.birth_month = dp.m;
    ap.birth_day = dp.d;
    ap.sex = dp.sex;
    ap.state = dp.state;
    ncand = dp.y < 2000 ? 10 : 26;
    for (int k = 0; k < ncand; k++) {
        persona_row pr;
        const char *curpp = curp;

        ap.homoclave = (char)(dp.y < 2000 ? '0' + k : 'A' + k);
        if (afl_curp_build(&ap, curp) != 0 || afl_curp_validate(curp, 18, NULL) != AFL_CURP_OK) {
            st->no_curp++;
            return 0;
        }
        memset(&pr, 0, sizeof pr);
        rv = afl_db_select(db, p, "dat_demo_persona", 1, &curpp, take_persona, &pr, NULL);
        if (rv) {
            err(o, "person %lu: %s", i + 1, afl_db_errmsg(db, rv));
            return -1;
        }
        if (pr.seen) {
            if (str_eq(pr.v[0], dp.nombres) && str_eq(pr.v[1], dp.ap1) && str_eq(pr.v[2], dp.ap2) &&
                str_eq(pr.v[3], dp.fecha) && pr.v[4] && pr.v[4][0] == dp.sex &&
                str_eq(pr.v[5], dp.state)) {
                st->existed++; /* same person from an earlier run */
                return 0;
            }
            st->collisions++;
            continue; /* homonym: next homoclave */
        }
        const char sexo[2] = {dp.sex, '\0'};
        const char *args[8] = {curp,     dp.nombres, dp.ap1,   *dp.ap2 ? dp.ap2 : NULL,
                               dp.fecha, sexo,       dp.state, dp.status};
        rv = afl_db_exec(db, p, "dat_demo_persona_add", NULL, 8, args);
        if (rv) {
            err(o, "person %lu: %s", i + 1, afl_db_errmsg(db, rv));
            return -1;
        }
        st->created++;
        /* ~30% of the active persons already hold an NSS. */
        if (status_active(dp.status) && rng_below(&r, 100) < 30) {
            int dbrv = 0;
            if (give_nss(db, p, &r, &dp, curp, g, now, st, &dbrv) != 0) {
                err(o, "person %lu: cannot record the NSS: %s", i + 1,
                    dbrv ? afl_db_errmsg(db, dbrv) : "serie out of range");
                return -1;
            }
        }
        return 0;
    }
    st->no_curp++; /* every homoclave taken */
    return 0;
}

static int do_demo_registry(apr_pool_t *pool, afl_db *db, const opts *o, long count,
                            unsigned long long seed)
{
    demo_geo g;
    demo_stats st;
    apr_pool_t *iter;
    apr_time_t t0 = apr_time_now();
    long long now = (long long)apr_time_sec(t0);
    int rc = 0, txn, rv;

    if (afl_curp_init() != 0) {
        err(o, "cannot initialise CURP validation");
        return 1;
    }
    if (prepare_all(db, o, demo_stmts, COUNT(demo_stmts)))
        return 1;
    memset(&st, 0, sizeof st);
    g.pool = pool;
    g.by_cp = apr_hash_make(pool);
    g.places = apr_array_make(pool, 256, sizeof(cp_ref));
    rv = afl_db_select(db, pool, "dat_demo_umfs", 0, NULL, load_umf_row, &g, NULL);
    if (!rv)
        rv = afl_db_select(db, pool, "dat_demo_places", 0, NULL, load_place_row, &g, NULL);
    if (rv) {
        err(o, "%s", afl_db_errmsg(db, rv));
        return 1;
    }
    if (g.places->nelts == 0) {
        err(o, "no postal code is served by a UMF: first import SEPOMEX (import-sepomex) and "
               "the UMFs (import-umf), or use seed-demo");
        return 1;
    }
    apr_pool_create(&iter, pool);
    txn = afl_db_begin(db, pool);
    if (txn) {
        err(o, "cannot start the transaction: %s", afl_db_errmsg(db, txn));
        afl_db_end(db, 1);
        return 1;
    }
    for (long i = 0; i < count && rc == 0; i++) {
        if (demo_one(db, iter, seed, (unsigned long)i, &g, now, &st, o))
            rc = 1;
        apr_pool_clear(iter);
    }
    txn = afl_db_end(db, rc != 0);
    if (rc == 0 && txn) {
        err(o, "cannot commit the transaction: %s", afl_db_errmsg(db, txn));
        rc = 1;
    }
    apr_pool_destroy(iter);
    if (rc) {
        err(o, "nothing was generated");
        return rc;
    }
    fprintf(stderr,
            "demo-registry: %ld persons (seed %llu) in %.2f s; %lu homonyms resolved with "
            "another homoclave; %lu without a possible CURP; %lu without a free folio\n",
            count, seed, seconds_since(t0), st.collisions, st.no_curp, st.no_folio);
    printf("demo-registry: %lu new persons, %lu already existed, %lu with NSS; "
           "registry: %lld persons, %lld insured\n",
           st.created, st.existed, st.with_nss, count_of(db, pool, "dat_persona_count", 0, NULL),
           count_of(db, pool, "dat_asegurado_count", 0, NULL));
    return 0;
}

static const char usage_demo_registry[] =
    "usage: afiliatectl demo-registry --count N --seed S --db PATH [--driver sqlite3|pgsql]\n\n"
    "Generates N synthetic persons of the RENAPO registry (born 1995-2010, in the 32\n"
    "states and NE, names with accents and Ñ) with CURPs built from their data.\n"
    "Same seed, same persons: running it again adds no duplicates (persons already\n"
    "present are skipped). ~97% AN, a few AH/RCN/RCC/CRA, ~1% inactive; ~30% of the\n"
    "active ones already hold an NSS (asegurado 'localizado', with an address in an\n"
    "imported postal code and a UMF serving it; folio taken from folio_contador, like\n"
    "the web assignment). Needs SEPOMEX and UMFs imported. One single transaction.\n";

int afiliatectl_demo_registry(apr_pool_t *pool, int argc, const char *const *argv)
{
    opts o;
    afl_db *db;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT | OPT_SEED, 0, 0,
                        usage_demo_registry, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!o.count_set || !o.seed_set) {
        err(&o, "--count N and --seed S are required");
        return 2;
    }
    if (!(db = open_db(pool, &o, 1)))
        return 1;
    rc = do_demo_registry(pool, db, &o, o.count, o.seed);
    afl_db_close(db);
    return rc;
}

/* ================================================================ sample */

static const struct stmt_def sample_stmts[] = {
    {"dat_sample_found", "SELECT p.curp FROM renapo_persona p JOIN asegurado a ON a.curp = p.curp "
                         "WHERE p.status_curp IN " SQL_ACTIVE " ORDER BY p.curp LIMIT %d"},
    {"dat_sample_new", "SELECT p.curp FROM renapo_persona p WHERE p.status_curp IN " SQL_ACTIVE
                       " AND NOT EXISTS (SELECT 1 FROM asegurado a WHERE a.curp = p.curp) "
                       "ORDER BY p.curp LIMIT %d"},
    {"dat_sample_inactive",
     "SELECT p.curp FROM renapo_persona p WHERE p.status_curp IN " SQL_INACTIVE
     " ORDER BY p.curp LIMIT %d"},
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
    opts o;
    afl_db *db;
    const char *label;
    const char *arg;
    int n = 0, rv;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT, 1, 1, usage_sample, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!strcmp(o.pos[0], "found"))
        label = "dat_sample_found";
    else if (!strcmp(o.pos[0], "new"))
        label = "dat_sample_new";
    else if (!strcmp(o.pos[0], "inactive"))
        label = "dat_sample_inactive";
    else {
        err(&o, "unknown kind '%s' (found, new or inactive)", o.pos[0]);
        return 2;
    }
    if (!o.count_set)
        o.count = 1;
    if (!(db = open_db(pool, &o, 1)))
        return 1;
    if (prepare_all(db, &o, sample_stmts, COUNT(sample_stmts))) {
        afl_db_close(db);
        return 1;
    }
    arg = apr_ltoa(pool, o.count);
    rv = afl_db_select(db, pool, label, 1, &arg, print_row, NULL, &n);
    if (rv) {
        err(&o, "%s", afl_db_errmsg(db, rv));
        afl_db_close(db);
        return 1;
    }
    afl_db_close(db);
    if (n < o.count) {
        err(&o, "only %d CURPs of kind %s exist (%ld requested)", n, o.pos[0], o.count);
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
    opts o;
    afl_db *db;
    const char *data, *subset, *umf;
    int rc = parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT | OPT_DATA, 0, 0,
                        usage_seed_demo, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!o.count_set)
        o.count = DEMO_SEED_COUNT;
    if (o.data) {
        data = o.data;
    } else {
        const char *f = find_sql_file(pool, "seed/umf-demo.csv");
        if (!f) {
            err(&o, "sql/seed not found next to the executable nor under the current directory; "
                    "use --data DIR");
            return 1;
        }
        data = apr_pstrndup(pool, f, strlen(f) - strlen("/umf-demo.csv"));
    }
    subset = apr_pstrcat(pool, data, "/sepomex-subset.txt", NULL);
    umf = apr_pstrcat(pool, data, "/umf-demo.csv", NULL);
    if (!(db = open_db(pool, &o, 0)))
        return 1;
    rc = afiliatectl_migrate_db(pool, db, o.cmd);
    if (!rc)
        rc = do_import_sepomex(pool, db, &o, subset);
    if (!rc)
        rc = do_import_umf(pool, db, &o, umf);
    if (!rc)
        rc = do_demo_registry(pool, db, &o, o.count, 1);
    afl_db_close(db);
    return rc;
}
