/* afiliatectl importers: import-sepomex, import-umf, import-registry
 * (docs/data.md).
 *
 * Every write runs in one transaction through prepared statements
 * (afl_db.h); nothing is half-written when a file has an error. Diagnostics
 * never quote a CURP, an NSS or an e-mail address: errors name the line and
 * the column instead. */
#include "afiliatectl_import.h"
#include "afiliatectl.h"
#include "afl_csv.h"
#include "afl_curp.h"
#include "afl_nss.h"
#include "afl_sepomex.h"
#include "afl_utf8.h"
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

/* afl_csv's error in this tool's words. */
static const char *csv_error(apr_pool_t *pool, const afl_csv *c)
{
    switch (c->error) {
    case AFL_CSV_UNCLOSED_QUOTE:
        return apr_psprintf(pool, "line %lu: unclosed quote up to the end of the file",
                            c->rec_line);
    case AFL_CSV_AFTER_QUOTE:
        return apr_psprintf(pool, "line %lu: text after the closing quote in column %d",
                            c->error_line, c->error_column);
    case AFL_CSV_QUOTE_INSIDE:
        return apr_psprintf(pool, "line %lu: quote inside an unquoted field (column %d)",
                            c->error_line, c->error_column);
    default:
        return apr_psprintf(pool, "line %lu: NUL byte in column %d", c->error_line,
                            c->error_column);
    }
}

/* Reads and checks the header line. 0 ok. */
static int csv_header(afl_csv *c, apr_pool_t *pool, const ctl_opts *o, const char *path,
                      const char *const *names, int ncols)
{
    apr_array_header_t *f = apr_array_make(pool, ncols, sizeof(char *));
    int r = afl_csv_next(c, pool, f);
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
            afiliatectl_err(o->cmd, "%s: %s", path, csv_error(pool, c));
        else
            afiliatectl_err(o->cmd, "%s: line 1: unexpected header; expected: %s", path, expected);
        return -1;
    }
    return 0;
}

/* Reads the whole file at path and checks its header line. 0 ok, 1 after
 * a message. */
static int csv_open(apr_pool_t *pool, const ctl_opts *o, const char *path, const char *const *names,
                    int ncols, afl_csv *c)
{
    char *text;
    apr_size_t len;

    if (afiliatectl_slurp(pool, o->cmd, path, -1, &text, &len))
        return 1;
    afl_csv_init(c, text, len);
    return csv_header(c, pool, o, path, names, ncols) ? 1 : 0;
}

int ctl_end_import(afl_db *db, const ctl_opts *o, int rc)
{
    rc = ctl_end_txn(db, o, rc);
    if (rc)
        afiliatectl_err(o->cmd, "nothing was imported");
    return rc;
}

/* One CSV row of an importer: the fields (trimmed with field()), its line,
 * a pool cleared after the row. 0 ok, 1 after a message. */
typedef int (*csv_row_fn)(void *baton, apr_array_header_t *f, unsigned long line, apr_pool_t *iter);

/* Field i with its surrounding blanks trimmed in place. */
static char *field(apr_array_header_t *f, int i)
{
    return afl_csv_trim(APR_ARRAY_IDX(f, i, char *));
}

/* A CSV importer's state for its rows. */
typedef struct {
    afl_db *db;
    const ctl_opts *o;
    const char *path;
    apr_pool_t *pool;
    apr_hash_t *seen; /* the rows' keys (clave, CURP) -> the line they appeared on */
} import_ctx;

/* The line key appeared on before, or NULL; and key remembered at line. */
static const char *seen_at(import_ctx *x, const char *key, unsigned long line)
{
    const char *prev = apr_hash_get(x->seen, key, APR_HASH_KEY_STRING);

    if (!prev)
        apr_hash_set(x->seen, apr_pstrdup(x->pool, key), APR_HASH_KEY_STRING,
                     apr_psprintf(x->pool, "%lu", line));
    return prev;
}

/* The CSV importers' skeleton: prepares stmts, reads path with the header
 * cols, and hands every row of ncols fields to row inside one transaction.
 * *rows: the data rows read. 0 ok, 1 after a message (nothing written). */
static int csv_import(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path,
                      const afl_sql_id *stmts, size_t nstmts, const char *const *cols, int ncols,
                      csv_row_fn row, void *baton, unsigned long *rows)
{
    afl_csv c;
    apr_array_header_t *f;
    apr_pool_t *iter;
    int rc = 0, r;

    *rows = 0;
    if (ctl_prepare_all(db, o, stmts, nstmts))
        return 1;
    if (csv_open(pool, o, path, cols, ncols, &c))
        return 1;
    f = apr_array_make(pool, ncols, sizeof(char *));
    apr_pool_create(&iter, pool);
    if (ctl_begin_txn(db, pool, o))
        return 1;
    while (rc == 0 && (r = afl_csv_next(&c, iter, f)) == 1) {
        if (f->nelts != ncols) {
            afiliatectl_err(o->cmd, "%s: line %lu: expected %d columns, found %d", path, c.rec_line,
                            ncols, f->nelts);
            rc = 1;
            break;
        }
        rc = row(baton, f, c.rec_line, iter);
        ++*rows;
        apr_pool_clear(iter);
    }
    if (rc == 0 && r < 0) {
        afiliatectl_err(o->cmd, "%s: %s", path, csv_error(pool, &c));
        rc = 1;
    } else if (rc == 0 && *rows == 0) {
        afiliatectl_err(o->cmd, "%s: the file has no data rows", path);
        rc = 1;
    }
    apr_pool_destroy(iter);
    return ctl_end_import(db, o, rc);
}

/* An import command: FILE --db PATH [--driver D], the file imported by
 * do_import. Returns the exit status. */
static int run_import(apr_pool_t *pool, int argc, const char *const *argv, const char *usage,
                      int (*do_import)(apr_pool_t *, afl_db *, const ctl_opts *, const char *))
{
    ctl_opts o;
    afl_db *db;
    int rc = ctl_parse_opts(argc, argv, OPT_DB | OPT_DRIVER, 1, 1, usage, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!(db = ctl_open_db(pool, &o, 1)))
        return 1;
    rc = do_import(pool, db, &o, o.pos[0]);
    afl_db_close(db);
    return rc;
}

/* ================================================================ import-sepomex */

static const afl_sql_id sepomex_stmts[] = {
    AFL_SQL_SEPOMEX_UPSERT,
    AFL_SQL_SEPOMEX_COUNT,
    AFL_SQL_SEPOMEX_CPS,
};

typedef struct {
    afl_db *db;
    const ctl_opts *o;
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

    if (!ctl_all_digits(r->d_codigo, 5) || !ctl_all_digits(r->c_estado, 2) ||
        !ctl_all_digits(r->c_mnpio, 3) || !*r->id_asenta_cpcons ||
        !ctl_all_digits(r->id_asenta_cpcons, strlen(r->id_asenta_cpcons)) || !*r->d_asenta ||
        !*r->d_mnpio || !*r->d_estado || !*r->d_tipo_asenta) {
        afiliatectl_err(
            ctx->o->cmd,
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
    rv = afl_db_exec(ctx->db, ctx->iter, AFL_SQL_SEPOMEX_UPSERT, NULL, 10, args);
    if (rv) {
        afiliatectl_err(ctx->o->cmd, "%s: line %lu: %s", ctx->path, line,
                        afl_db_errmsg(ctx->db, rv));
        return 1;
    }
    if (++ctx->rows % 4096 == 0)
        apr_pool_clear(ctx->iter);
    return 0;
}

/* Feeds the SEPOMEX text of path (plain, or the zip's CPdescarga.txt) to p. */
static int feed_sepomex(apr_pool_t *pool, const ctl_opts *o, const char *path,
                        afl_sepomex_parser *p)
{
    char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int is_zip;

    if (!f) {
        afiliatectl_err(o->cmd, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, 4, f);
    is_zip = n == 4 && !memcmp(buf, "PK\x03\x04", 4);
    if (!is_zip) {
        afl_sepomex_status st = afl_sepomex_feed(p, buf, n);
        while (st == AFL_SEPOMEX_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
            st = afl_sepomex_feed(p, buf, n);
        if (ferror(f)) {
            afiliatectl_err(o->cmd, "error reading %s: %s", path, strerror(errno));
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
        afiliatectl_err(o->cmd, "cannot open the zip %s: %s", path, zip_error_strerror(&ze));
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
        afiliatectl_err(o->cmd, "%s: the zip holds neither CPdescarga.txt nor a single .txt file",
                        path);
        zip_discard(z);
        return -1;
    }
    zf = zip_fopen_index(z, (zip_uint64_t)pick, 0);
    if (!zf) {
        afiliatectl_err(o->cmd, "%s: cannot read the zip member: %s", path, zip_strerror(z));
        zip_discard(z);
        return -1;
    }
    for (;;) {
        zip_int64_t got = zip_fread(zf, buf, sizeof buf);
        if (got < 0) {
            afiliatectl_err(o->cmd, "%s: decompression error: %s", path, zip_file_strerror(zf));
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

int ctl_do_import_sepomex(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path)
{
    sepomex_ctx ctx;
    afl_sepomex_parser *p;
    apr_time_t t0 = apr_time_now();
    int rc = 1;
    long long nrows, ncps;

    if (ctl_prepare_all(db, o, sepomex_stmts, sizeof sepomex_stmts / sizeof *sepomex_stmts))
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
        afiliatectl_err(o->cmd, "out of memory");
        return 1;
    }
    if (ctl_begin_txn(db, pool, o)) {
        afl_sepomex_destroy(p);
        return 1;
    }
    if (feed_sepomex(pool, o, path, p) == 0) {
        afl_sepomex_status st = afl_sepomex_finish(p);
        if (st == AFL_SEPOMEX_OK)
            rc = 0;
        else if (st != AFL_SEPOMEX_ABORTED) /* the callback has said why */
            afiliatectl_err(o->cmd, "%s: %s", path, afl_sepomex_error(p));
    }
    if (rc == 0 && ctx.rows == 0) {
        afiliatectl_err(o->cmd, "%s: the file has no data rows", path);
        rc = 1;
    }
    rc = ctl_end_import(db, o, rc);
    afl_sepomex_destroy(p);
    apr_pool_destroy(ctx.keys);
    apr_pool_destroy(ctx.iter);
    if (rc)
        return rc;
    nrows = ctl_count_of(db, pool, AFL_SQL_SEPOMEX_COUNT, 0, NULL);
    ncps = ctl_count_of(db, pool, AFL_SQL_SEPOMEX_CPS, 0, NULL);
    if (ctx.dups)
        afiliatectl_err(o->cmd,
                        "warning: %lu rows repeat the key (c_estado, c_mnpio, id_asenta_cpcons); "
                        "the last one was kept",
                        ctx.dups);
    fprintf(stderr, "import-sepomex: %lu rows read from %s in %.2f s\n", ctx.rows, path,
            ctl_seconds_since(t0));
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
    return run_import(pool, argc, argv, usage_import_sepomex, ctl_do_import_sepomex);
}

/* ================================================================ import-umf */

static const char *const umf_cols[] = {"clave", "nombre",    "subdelegacion",
                                       "serie", "domicilio", "codigos_postales"};

static const afl_sql_id umf_stmts[] = {
    AFL_SQL_UMF_UPSERT, AFL_SQL_UMF_CP_CLEAR, AFL_SQL_UMF_CP_ADD,
    AFL_SQL_UMF_COUNT,  AFL_SQL_UMF_CPS,      AFL_SQL_UMF_CPS_UNKNOWN,
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

static int text_ok(const char *s, int required, size_t max)
{
    return (!required || *s) && strlen(s) <= max && afl_utf8_printable(s, 1);
}

static int umf_row(void *baton, apr_array_header_t *f, unsigned long line, apr_pool_t *iter)
{
    import_ctx *x = baton;
    const ctl_opts *o = x->o;
    const char *path = x->path;
    const char *clave, *nombre, *subdel, *serie, *dom, *prev;
    char *cps, *tok, *save = NULL;
    const char *args[5];
    int rv;

    clave = field(f, 0);
    nombre = field(f, 1);
    subdel = field(f, 2);
    serie = field(f, 3);
    dom = field(f, 4);
    cps = field(f, 5);
    if (!valid_clave(clave)) {
        afiliatectl_err(
            o->cmd, "%s: line %lu: invalid clave (1 to 32 ASCII letters, digits, '-', '_', '.')",
            path, line);
        return 1;
    }
    if ((prev = seen_at(x, clave, line))) {
        afiliatectl_err(o->cmd, "%s: line %lu: clave %s already appeared on line %s", path, line,
                        clave, prev);
        return 1;
    }
    if (!text_ok(nombre, 1, 200)) {
        afiliatectl_err(o->cmd, "%s: line %lu: nombre is empty, too long or has invalid characters",
                        path, line);
        return 1;
    }
    if (!text_ok(subdel, 1, 200)) {
        afiliatectl_err(o->cmd,
                        "%s: line %lu: subdelegacion is empty, too long or has invalid characters",
                        path, line);
        return 1;
    }
    if (!ctl_all_digits(serie, 2)) {
        afiliatectl_err(o->cmd, "%s: line %lu: invalid serie (must be 2 digits, e.g. 01)", path,
                        line);
        return 1;
    }
    if (!text_ok(dom, 0, 400)) {
        afiliatectl_err(o->cmd, "%s: line %lu: domicilio is too long or has invalid characters",
                        path, line);
        return 1;
    }
    args[0] = clave;
    args[1] = nombre;
    args[2] = subdel;
    args[3] = serie;
    args[4] = dom;
    rv = afl_db_exec(x->db, iter, AFL_SQL_UMF_UPSERT, NULL, 5, args);
    if (!rv)
        rv = afl_db_exec(x->db, iter, AFL_SQL_UMF_CP_CLEAR, NULL, 1, args);
    for (tok = apr_strtok(cps, " \t", &save); !rv && tok; tok = apr_strtok(NULL, " \t", &save)) {
        const char *a2[2] = {tok, clave};
        if (!ctl_all_digits(tok, 5)) {
            afiliatectl_err(o->cmd,
                            "%s: line %lu: invalid postal code in codigos_postales: '%.12s' "
                            "(5-digit codes separated by spaces)",
                            path, line, tok);
            return 1;
        }
        rv = afl_db_exec(x->db, iter, AFL_SQL_UMF_CP_ADD, NULL, 2, a2);
    }
    if (rv) {
        afiliatectl_err(o->cmd, "%s: line %lu: %s", path, line, afl_db_errmsg(x->db, rv));
        return 1;
    }
    return 0;
}

int ctl_do_import_umf(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path)
{
    import_ctx x = {db, o, path, pool, apr_hash_make(pool)};
    unsigned long units;
    long long n_umf, n_cps, n_unknown;

    if (csv_import(pool, db, o, path, umf_stmts, COUNT(umf_stmts), umf_cols, 6, umf_row, &x,
                   &units))
        return 1;
    n_umf = ctl_count_of(db, pool, AFL_SQL_UMF_COUNT, 0, NULL);
    n_cps = ctl_count_of(db, pool, AFL_SQL_UMF_CPS, 0, NULL);
    n_unknown = ctl_count_of(db, pool, AFL_SQL_UMF_CPS_UNKNOWN, 0, NULL);
    if (n_unknown > 0)
        afiliatectl_err(o->cmd,
                        "warning: %lld served postal codes are not in the imported SEPOMEX catalog",
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
    return run_import(pool, argc, argv, usage_import_umf, ctl_do_import_umf);
}

/* ================================================================ import-registry */

static const char *const active_codes[] = {"AN", "AH", "CRA", "RCN", "RCC"};
const char *const ctl_inactive_codes[CTL_INACTIVE_CODES] = {"BD",  "BDA", "BCC", "BCN", "BAP",
                                                            "BSU", "BDM", "BDP", "BJD"};

static int status_known(const char *s)
{
    for (size_t i = 0; i < sizeof active_codes / sizeof *active_codes; i++)
        if (!strcmp(s, active_codes[i]))
            return 1;
    for (size_t i = 0; i < sizeof ctl_inactive_codes / sizeof *ctl_inactive_codes; i++)
        if (!strcmp(s, ctl_inactive_codes[i]))
            return 1;
    return 0;
}

int ctl_status_active(const char *s)
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

static const afl_sql_id registry_stmts[] = {
    AFL_SQL_PERSONA_UPSERT,
    AFL_SQL_PERSONA_COUNT,
    AFL_SQL_PERSONA_ACTIVE,
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

/* YYYY-MM-DD, a real date (afl_vigencia's years). */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    int day;

    if (afl_vigencia_parse_date(s, &day))
        return -1;
    afl_vigencia_civil(day, y, m, d);
    return 0;
}

/* Why a registry row is refused, or NULL. */
static const char *registry_refusal(import_ctx *x, unsigned long line, const afl_curp_info *info,
                                    apr_pool_t *iter, const char *nombres, const char *ap1,
                                    const char *ap2, const char *fecha, const char *sexo,
                                    const char *ent, const char *status)
{
    const char *prev;
    int y, m, d;

    if ((prev = seen_at(x, info->curp, line)))
        return apr_psprintf(iter, "duplicate CURP (already on line %s)", prev);
    if (!text_ok(nombres, 1, 200) || !text_ok(ap1, 1, 200) || !text_ok(ap2, 0, 200))
        return "nombres, primer_apellido or segundo_apellido: empty, too long or invalid";
    if (parse_date(fecha, &y, &m, &d))
        return "invalid fecha_nacimiento (YYYY-MM-DD)";
    if (y != info->birth_year || m != info->birth_month || d != info->birth_day)
        return "fecha_nacimiento does not match the CURP";
    if (strlen(sexo) != 1 || (sexo[0] != 'H' && sexo[0] != 'M' && sexo[0] != 'X'))
        return "invalid sexo (H, M or X)";
    if (sexo[0] != info->sex)
        return "sexo does not match the CURP";
    if (!afl_curp_state_name(ent))
        return "invalid entidad_nacimiento (2-letter state code or NE)";
    if (strcmp(ent, info->state))
        return "entidad_nacimiento does not match the CURP";
    if (!status_known(status))
        return "unknown status_curp (AN AH CRA RCN RCC BD BDA BCC BCN BAP BSU BDM BDP BJD)";
    return NULL;
}

static int registry_row(void *baton, apr_array_header_t *f, unsigned long line, apr_pool_t *iter)
{
    import_ctx *x = baton;
    const char *curp = field(f, 0), *nombres = field(f, 1), *ap1 = field(f, 2), *ap2 = field(f, 3),
               *fecha = field(f, 4), *sexo = field(f, 5), *ent = field(f, 6), *status = field(f, 7);
    const char *why_not, *args[8];
    afl_curp_info info;
    afl_curp_reason why = afl_curp_validate(curp, strlen(curp), &info);
    int rv;

    if (why != AFL_CURP_OK) {
        afiliatectl_err(x->o->cmd, "%s: line %lu: invalid CURP (%s)", x->path, line,
                        curp_reason_text(why));
        return 1;
    }
    why_not = registry_refusal(x, line, &info, iter, nombres, ap1, ap2, fecha, sexo, ent, status);
    if (why_not) {
        afiliatectl_err(x->o->cmd, "%s: line %lu: %s", x->path, line, why_not);
        return 1;
    }
    args[0] = info.curp;
    args[1] = nombres;
    args[2] = ap1;
    args[3] = *ap2 ? ap2 : NULL;
    args[4] = fecha;
    args[5] = sexo;
    args[6] = ent;
    args[7] = status;
    rv = afl_db_exec(x->db, iter, AFL_SQL_PERSONA_UPSERT, NULL, 8, args);
    if (rv) {
        afiliatectl_err(x->o->cmd, "%s: line %lu: %s", x->path, line, afl_db_errmsg(x->db, rv));
        return 1;
    }
    return 0;
}

static int do_import_registry(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path)
{
    import_ctx x = {db, o, path, pool, apr_hash_make(pool)};
    unsigned long rows;
    long long total, active;

    if (afl_curp_init() != 0) {
        afiliatectl_err(o->cmd, "cannot initialise CURP validation");
        return 1;
    }

    if (csv_import(pool, db, o, path, registry_stmts, COUNT(registry_stmts), registry_cols, 8,
                   registry_row, &x, &rows))
        return 1;
    total = ctl_count_of(db, pool, AFL_SQL_PERSONA_COUNT, 0, NULL);
    active = ctl_count_of(db, pool, AFL_SQL_PERSONA_ACTIVE, 0, NULL);
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
    return run_import(pool, argc, argv, usage_import_registry, do_import_registry);
}
