/* afiliatectl document commands: keygen, verify, import-vigencia,
 * demo-doc.
 *
 *   keygen --out-dir DIR          a new Ed25519 signing key pair
 *   verify FILE.pdf --pub KEY     checks a document offline (afl_pdf_verify)
 *   import-vigencia FILE.csv --db PATH [--driver sqlite3|pgsql]
 *                                 a school's enrolment report into cobertura
 *   demo-doc TIPO --key KEY --out FILE.pdf
 *                                 a signed document with synthetic data
 *
 * Diagnostics never quote a CURP, an NSS or an e-mail address. Exit status:
 * 0 ok (verify: valid), 1 error (verify: invalid), 2 usage or setup error. */
#include "afiliatectl.h"
#include "afiliatectl_import.h"
#include "afiliatectl_opts.h"
#include "afl_cadena.h"
#include "afl_db.h"
#include "afl_pdf.h"
#include "afl_qr.h"
#include "afl_sign.h"
#include "afl_vigencia.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_PDF (16 * 1024 * 1024)
#define MAX_CSV (512L * 1024 * 1024)

/* ================================================================ options */

typedef struct {
    const ctl_value_opt *opts;
    const char *usage;
} doc_opts;

/* One option of a document command: a value ("--x V" or "--x=V") of its
 * table (ctl_option_fn). */
static int doc_option(void *baton, int argc, const char *const *argv, int *i, const char *a)
{
    const doc_opts *x = baton;
    const ctl_value_opt *o;
    const char *val;

    for (o = x->opts; o->name; o++) {
        if (afiliatectl_opt_value(argc, argv, i, o->name, &val)) {
            if (!val) {
                afiliatectl_err(argv[0], "missing value for %s", a);
                return 2;
            }
            *o->slot = val;
            return 0;
        }
    }
    afiliatectl_err(argv[0], "unknown option: %s", a);
    fputs(x->usage, stderr);
    return 2;
}

/* argv[0] is the command. Options take a value ("--x V" or "--x=V"); the
 * rest are positional (at most max_pos, at least min_pos). Returns 0 to run,
 * 1 after --help, 2 on a usage error (message printed). */
static int parse(int argc, const char *const *argv, const ctl_value_opt *opts, const char **pos,
                 int min_pos, int max_pos, const char *usage)
{
    doc_opts x = {opts, usage};
    int npos = 0;
    int rc = afiliatectl_walk_args(argc, argv, usage, pos, &npos, max_pos, doc_option, &x);

    if (rc)
        return rc;
    if (npos < min_pos) {
        afiliatectl_err(argv[0], "missing argument");
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}

/* ================================================================ keygen */

static const char usage_keygen[] =
    "usage: afiliatectl keygen --out-dir DIR\n\n"
    "Creates a new Ed25519 signing key pair for the documents' sello digital:\n"
    "  DIR/" AFL_SIGN_PRIVATE_NAME "  private key (PKCS#8 PEM, mode 0600): the file the\n"
    "                          module's signing-key directive names\n"
    "  DIR/" AFL_SIGN_PUBLIC_NAME "  public key (PEM): give it to whoever verifies documents\n"
    "DIR is created if missing. Existing key files are never overwritten. Prints the\n"
    "key's No. de serie, the serial the documents show.\n";

int afiliatectl_keygen(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *dir = NULL, *pos[1];
    const ctl_value_opt opts[] = {{"--out-dir", &dir}, {NULL, NULL}};
    const char *priv, *pub;
    const afl_sign_key *key;
    char e[256];
    apr_status_t rv;
    int rc = parse(argc, argv, opts, pos, 0, 0, usage_keygen);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!dir || !*dir) {
        afiliatectl_err(argv[0], "missing --out-dir DIR");
        return 2;
    }
    rv = apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        afiliatectl_err(argv[0], "cannot create %s: %s", dir, apr_strerror(rv, e, sizeof e));
        return 1;
    }
    priv = apr_pstrcat(pool, dir, "/", AFL_SIGN_PRIVATE_NAME, NULL);
    pub = apr_pstrcat(pool, dir, "/", AFL_SIGN_PUBLIC_NAME, NULL);
    rv = afl_sign_keygen(pool, priv, pub, &key, e, sizeof e);
    if (rv != APR_SUCCESS) {
        afiliatectl_err(argv[0], "%s", e);
        return 1;
    }
    printf("keygen: wrote %s (private, mode 0600) and %s\n", priv, pub);
    printf("No. de serie: %s (%s)\n", afl_sign_serial(key), afl_sign_algorithm(key));
    return 0;
}

/* ================================================================ verify */

static const char usage_verify[] =
    "usage: afiliatectl verify FILE.pdf --pub KEY.pub\n\n"
    "Checks a comprobante, tarjeta or constancia offline with the public key: the\n"
    "sello digital is the key's signature of the cadena original the document\n"
    "carries, and the document seal covers the whole file, so a document whose\n"
    "data was altered in any way fails. Prints \"valid\" and the document's type,\n"
    "folio, date and key serial (exit 0), or \"invalid: REASON\" (exit 1).\n"
    "Exit 2: usage error, unreadable file or key.\n";

int afiliatectl_verify(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *pubpath = NULL, *pos[1] = {NULL};
    const ctl_value_opt opts[] = {{"--pub", &pubpath}, {NULL, NULL}};
    const afl_sign_key *key;
    afl_pdf_sellado s;
    const char *reason = NULL, *fecha, *tramite;
    char e[256], *pdf;
    apr_size_t len = 0;
    int rc = parse(argc, argv, opts, pos, 1, 1, usage_verify);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!pubpath || !*pubpath) {
        afiliatectl_err(argv[0], "missing --pub KEY.pub");
        return 2;
    }
    if (afl_sign_load_public(pool, pubpath, &key, e, sizeof e) != APR_SUCCESS) {
        afiliatectl_err(argv[0], "%s", e);
        return 2;
    }
    if (afiliatectl_slurp(pool, argv[0], pos[0], MAX_PDF, &pdf, &len))
        return 2;
    if (afl_pdf_verify(pool, (const unsigned char *)pdf, len, key, &s, &reason) != 0) {
        printf("invalid: %s\n", reason ? reason : "unknown reason");
        return 1;
    }
    fecha = afl_cadena_campo(pool, s.cadena_original, "Fecha");
    printf("valid\n");
    printf("  tipo: %s\n", s.tipo);
    tramite = afl_cadena_campo(pool, s.cadena_original, "Tipo de trámite");
    printf("  tipo de trámite: %s\n", tramite ? tramite : "?");
    printf("  folio: %s\n", s.folio);
    printf("  fecha: %s\n", fecha ? fecha : "?");
    printf("  no. de serie: %s (%s)\n", s.no_serie, afl_sign_algorithm(key));
    return 0;
}

/* ======================================================== import-vigencia */

static const afl_sql_id vig_stmts[] = {
    AFL_SQL_VIG_ASEG_BY_NSS, AFL_SQL_VIG_ASEG_BY_CURP, AFL_SQL_VIG_OTHER_CURP, AFL_SQL_VIG_GET,
    AFL_SQL_VIG_INSERT,      AFL_SQL_VIG_UPDATE,       AFL_SQL_VIG_COUNT,
};

typedef struct {
    afl_db *db;
    apr_pool_t *pool;
    const char *cmd, *path;
    const char *now;
    unsigned long added, updated, unchanged, unknown_nss;
    int failed;
} vig_ctx;

/* First column of the first row of a prepared select into *value (NULL if
 * no row). 0 ok, else the driver's error (reported). */
static int value_of(vig_ctx *x, apr_pool_t *p, afl_sql_id q, int nargs, const char *const *args,
                    const char **value, unsigned long line)
{
    int rv = afl_db_select_value(x->db, p, q, nargs, args, value);

    if (rv)
        afiliatectl_err(x->cmd, "%s: line %lu: %s", x->path, line, afl_db_errmsg(x->db, rv));
    return rv;
}

/* The fin of an existing cobertura row. */
typedef struct {
    apr_pool_t *p;
    int found;
    const char *fin;
} existing;

static int take_existing(void *baton, int ncols, const char *const *values)
{
    existing *e = baton;

    e->found = 1;
    /* "" is NULL too (a fin is never empty): drivers differ in how they hand out NULL */
    e->fin = ncols > 0 && values[0] && *values[0] ? apr_pstrdup(e->p, values[0]) : NULL;
    return 0;
}

static int vig_row(void *baton, const afl_vigencia_fila *f)
{
    vig_ctx *x = baton;
    apr_pool_t *p;
    const char *v = NULL, *fin = *f->periodo_fin ? f->periodo_fin : NULL;
    int rv = 0;

    apr_pool_create(&p, x->pool);
    {
        const char *a[1] = {f->nss};
        rv = value_of(x, p, AFL_SQL_VIG_ASEG_BY_NSS, 1, a, &v, f->line);
        if (!rv && v && strcmp(v, f->curp)) {
            afiliatectl_err(x->cmd, "%s: line %lu: the NSS belongs to another CURP in the registry",
                            x->path, f->line);
            rv = -1;
        }
        if (!rv && !v)
            x->unknown_nss++;
    }
    if (!rv) {
        const char *a[1] = {f->curp};
        rv = value_of(x, p, AFL_SQL_VIG_ASEG_BY_CURP, 1, a, &v, f->line);
        if (!rv && v && strcmp(v, f->nss)) {
            afiliatectl_err(x->cmd, "%s: line %lu: the CURP has another NSS in the registry",
                            x->path, f->line);
            rv = -1;
        }
    }
    if (!rv) {
        const char *a[2] = {f->nss, f->curp};
        rv = value_of(x, p, AFL_SQL_VIG_OTHER_CURP, 2, a, &v, f->line);
        if (!rv && v && strcmp(v, "0")) {
            afiliatectl_err(
                x->cmd, "%s: line %lu: coverage already recorded for this NSS with another CURP",
                x->path, f->line);
            rv = -1;
        }
    }
    if (!rv) {
        const char *a[1] = {f->clave};
        existing old = {p, 0, NULL};
        rv = afl_db_select(x->db, p, AFL_SQL_VIG_GET, 1, a, take_existing, &old, NULL);
        if (!rv && !old.found) {
            const char *ins[9] = {f->clave, f->nss,     f->curp, f->mov_texto, f->fecha,
                                  fin,      f->escuela, x->now,  x->now};
            rv = afl_db_exec(x->db, p, AFL_SQL_VIG_INSERT, NULL, 9, ins);
            if (!rv)
                x->added++;
        } else if (!rv) {
            if ((old.fin == NULL) != (fin == NULL) || (old.fin && strcmp(old.fin, fin))) {
                const char *up[3] = {fin, x->now, f->clave};
                rv = afl_db_exec(x->db, p, AFL_SQL_VIG_UPDATE, NULL, 3, up);
                if (!rv)
                    x->updated++;
            } else if (!rv) {
                x->unchanged++;
            }
        }
        if (rv)
            afiliatectl_err(x->cmd, "%s: line %lu: %s", x->path, f->line, afl_db_errmsg(x->db, rv));
    }
    apr_pool_destroy(p);
    if (rv)
        x->failed = 1;
    return rv ? -2 : 0;
}

static const char usage_import_vigencia[] =
    "usage: afiliatectl import-vigencia FILE.csv --db PATH [--driver sqlite3|pgsql]\n\n"
    "Loads a school's enrolment report (altas and bajas of Seguro Facultativo) into\n"
    "the cobertura table. CSV, UTF-8, RFC 4180, with the header\n"
    "  curp,nss,movimiento,fecha,escuela,periodo_fin\n"
    "movimiento: alta or baja; fecha: YYYY-MM-DD (alta: first day enrolled; baja:\n"
    "last day covered); escuela: the school's key or name; periodo_fin: YYYY-MM-DD,\n"
    "the end of the school period reported with an alta (empty: until a baja), empty\n"
    "for a baja. Idempotent: a line already imported changes nothing (a new\n"
    "periodo_fin for the same alta updates it). Every line is checked first, and\n"
    "against the registry (an NSS must not belong to another CURP); all or nothing,\n"
    "in one transaction. With --driver pgsql, --db is a libpq conninfo.\n";

int afiliatectl_import_vigencia(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *db_arg = NULL, *driver = "sqlite3", *pos[1] = {NULL};
    const ctl_value_opt opts[] = {{"--db", &db_arg}, {"--driver", &driver}, {NULL, NULL}};
    afl_vigencia_error ve;
    vig_ctx x;
    char *data;
    apr_size_t len = 0;
    unsigned long rows = 0;
    ctl_opts o;
    int rc = parse(argc, argv, opts, pos, 1, 1, usage_import_vigencia);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!db_arg || !*db_arg) {
        afiliatectl_err(argv[0],
                        "missing --db (SQLite file path, or a conninfo with --driver pgsql)");
        return 2;
    }
    if (strcmp(driver, "sqlite3") && strcmp(driver, "pgsql")) {
        afiliatectl_err(argv[0], "--driver must be sqlite3 or pgsql");
        return 2;
    }
    if (afiliatectl_slurp(pool, argv[0], pos[0], MAX_CSV, &data, &len))
        return 1;
    /* Pass 1: the whole file must be valid before the database is touched. */
    if (afl_vigencia_csv(pool, data, len, NULL, NULL, &rows, &ve) != 0) {
        afiliatectl_err(argv[0], "%s: %s", pos[0], ve.msg);
        afiliatectl_err(argv[0], "nothing was imported");
        return 1;
    }

    memset(&o, 0, sizeof o);
    o.cmd = argv[0];
    o.db = db_arg;
    o.driver = driver;
    memset(&x, 0, sizeof x);
    x.cmd = argv[0];
    x.path = pos[0];
    x.pool = pool;
    x.now = apr_psprintf(pool, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_sec(apr_time_now()));
    if (!(x.db = ctl_open_db(pool, &o, 1)))
        return 1;
    if (ctl_prepare_all(x.db, &o, vig_stmts, COUNT(vig_stmts)) || ctl_begin_txn(x.db, pool, &o)) {
        afl_db_close(x.db);
        return 1;
    }
    /* Pass 2, in one transaction: registry checks and upserts. */
    rc = afl_vigencia_csv(pool, data, len, vig_row, &x, &rows, &ve);
    if (rc == -1) /* cannot happen after pass 1, but never write half a file */
        afiliatectl_err(argv[0], "%s: %s", pos[0], ve.msg);
    if (ctl_end_import(x.db, &o, rc != 0 || x.failed)) {
        afl_db_close(x.db);
        return 1;
    }
    if (x.unknown_nss)
        afiliatectl_err(argv[0],
                        "warning: %lu line(s) name an NSS that is not in the registry (asegurado)",
                        x.unknown_nss);
    fprintf(stderr, "import-vigencia: %lu line(s) read from %s\n", rows, pos[0]);
    printf("cobertura: %lu new, %lu updated, %lu unchanged\n", x.added, x.updated, x.unchanged);
    afl_db_close(x.db);
    return 0;
}

/* ================================================================ demo-doc */

static const char usage_demo_doc[] =
    "usage: afiliatectl demo-doc comprobante|tarjeta|constancia --key KEY --out FILE.pdf\n"
    "         [--base-url URL] [--vigente si|no] [--font TTF] [--font-bold TTF]\n\n"
    "Writes a document signed with the private key KEY for a synthetic person (no\n"
    "real data), e.g. to check a signing key and 'afiliatectl verify'. --base-url:\n"
    "the module's absolute URL for the QR code (default\n"
    "https://localhost/afiliate); --vigente: the constancia's coverage (default si);\n"
    "--font, --font-bold: TrueType files to embed (default: the standard PDF fonts).\n";

int afiliatectl_demo_doc(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *keypath = NULL, *out = NULL, *base = "https://localhost/afiliate", *vigente = "si",
               *font = NULL, *font_bold = NULL;
    const char *pos[1] = {NULL};
    const ctl_value_opt opts[] = {{"--key", &keypath},   {"--out", &out},
                                  {"--base-url", &base}, {"--vigente", &vigente},
                                  {"--font", &font},     {"--font-bold", &font_bold},
                                  {NULL, NULL}};
    const afl_sign_key *key;
    const afl_pdf_font *ttf = NULL, *ttf_bold = NULL;
    afl_pdf_persona who;
    afl_pdf_emision how;
    afl_cadena cad;
    char e[256], folio[AFL_FOLIO_LEN + 1];
    const unsigned char *pdf = NULL;
    size_t len = 0;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    apr_file_t *f;
    int rc = parse(argc, argv, opts, pos, 1, 1, usage_demo_doc);

    static const char *const nombres = "María José", *const ap1 = "Muñoz", *const ap2 = "Ibáñez",
                             *const curp = "MUIM050315MNLXBRA5", *const nss = "12345678903";

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!keypath || !out) {
        afiliatectl_err(argv[0], "--key and --out are required");
        return 2;
    }
    if (strcmp(pos[0], "comprobante") && strcmp(pos[0], "tarjeta") &&
        strcmp(pos[0], "constancia")) {
        afiliatectl_err(argv[0], "the type must be comprobante, tarjeta or constancia");
        return 2;
    }
    if (strcmp(vigente, "si") && strcmp(vigente, "no")) {
        afiliatectl_err(argv[0], "--vigente must be si or no");
        return 2;
    }
    if (afl_sign_load_private(pool, keypath, &key, e, sizeof e) != APR_SUCCESS) {
        afiliatectl_err(argv[0], "%s", e);
        return 2;
    }
    if ((font && afl_pdf_font_load(pool, font, &ttf) != APR_SUCCESS) ||
        (font_bold && afl_pdf_font_load(pool, font_bold, &ttf_bold) != APR_SUCCESS)) {
        afiliatectl_err(argv[0], "%s is not a TrueType font the PDF writer can embed",
                        ttf || !font ? font_bold : font);
        return 2;
    }
    now -= now % APR_USEC_PER_SEC; /* the cadena shows whole seconds */
    afl_folio_make(now, 1, folio);
    memset(&cad, 0, sizeof cad);
    cad.fecha = now;
    cad.folio = folio;
    cad.nombre = afl_cadena_nombre(pool, nombres, ap1, ap2);
    cad.curp = curp;
    cad.nss = nss;
    how = (afl_pdf_emision){.folio = folio, .issued = now, .font = ttf, .font_bold = ttf_bold};
    how.firma.key = key;
    how.firma.verify_url = afl_qr_verify_url(pool, base, folio);
    if (!how.firma.verify_url) {
        afiliatectl_err(argv[0], "--base-url must not be empty");
        return 2;
    }

    who = (afl_pdf_persona){nombres, ap1, ap2, curp, nss};
    if (!strcmp(pos[0], "comprobante")) {
        afl_comprobante c = {.persona = who, .emision = how};
        cad.tipo = AFL_CADENA_ASIGNACION;
        c.emision.firma.cadena_original = afl_cadena_original(pool, &cad);
        c.sexo = 'M';
        c.entidad_nacimiento = "Nuevo León";
        c.umf = "UMF No. 10 Cuauhtémoc";
        rv = afl_pdf_comprobante(pool, &c, &pdf, &len, e, sizeof e);
    } else if (!strcmp(pos[0], "tarjeta")) {
        afl_tarjeta t = {.persona = who, .emision = how};
        cad.tipo = AFL_CADENA_TARJETA;
        t.emision.firma.cadena_original = afl_cadena_original(pool, &cad);
        rv = afl_pdf_tarjeta(pool, &t, &pdf, &len, e, sizeof e);
    } else {
        afl_constancia c = {.persona = who, .emision = how};
        afl_movimiento m;
        int today = afl_vigencia_today(now);
        cad.tipo = AFL_CADENA_CONSTANCIA;
        c.emision.firma.cadena_original = afl_cadena_original(pool, &cad);
        m.tipo = AFL_MOV_ALTA;
        m.fecha = today - 120;
        m.fin = !strcmp(vigente, "si") ? today + 60 : today - 10;
        afl_vigencia_eval(pool, &m, 1, today, &c.vigencia);
        c.umf = "UMF No. 10 Cuauhtémoc";
        c.umf_domicilio = "Av. Chapultepec 100, Col. Roma Norte, Cuauhtémoc, C.P. 06700";
        c.subdelegacion = "Subdelegación Cuauhtémoc";
        rv = afl_pdf_constancia(pool, &c, &pdf, &len, e, sizeof e);
    }
    if (rv != APR_SUCCESS) {
        afiliatectl_err(argv[0], "%s", e);
        return 1;
    }
    rv = apr_file_open(&f, out,
                       APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                       APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        apr_size_t done = 0;
        rv = apr_file_write_full(f, pdf, len, &done);
        if (apr_file_close(f) != APR_SUCCESS && rv == APR_SUCCESS)
            rv = APR_EGENERAL;
    }
    if (rv != APR_SUCCESS) {
        afiliatectl_err(argv[0], "cannot write %s: %s", out, apr_strerror(rv, e, sizeof e));
        return 1;
    }
    printf("demo-doc: wrote %s (%s, %zu bytes, folio %s)\n", out, pos[0], len, folio);
    return 0;
}
