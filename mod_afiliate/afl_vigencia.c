/* afl_vigencia: coverage periods and the schools' CSV report (afl_vigencia.h). */
#include "afl_vigencia.h"
#include "afl_csv.h"
#include "afl_curp.h"
#include "afl_nss.h"
#include "afl_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_encode.h>
#include <apr_strings.h>

#include <openssl/evp.h>

/* ================================================================ dates */

/* Howard Hinnant's days_from_civil / civil_from_days. */
int afl_vigencia_day(int year, int month, int mday)
{
    long y = (long)year - (month <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (month + (month > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (int)(era * 146097 + doe - 719468);
}

void afl_vigencia_civil(int day, int *year, int *month, int *mday)
{
    long z = (long)day + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);

    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *mday = (int)d;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int afl_vigencia_parse_date(const char *s, int *day)
{
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < AFL_VIGENCIA_YEAR_MIN || y > AFL_VIGENCIA_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m))
        return -1;
    *day = afl_vigencia_day(y, m, d);
    return 0;
}

void afl_vigencia_format_date(int day, char out[11])
{
    int y, m, d;

    out[0] = '\0';
    if (day == AFL_VIGENCIA_ABIERTA)
        return;
    afl_vigencia_civil(day, &y, &m, &d);
    if (y < AFL_VIGENCIA_YEAR_MIN || y > AFL_VIGENCIA_YEAR_MAX)
        return;
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

int afl_vigencia_today(apr_time_t t)
{
    apr_time_exp_t tm;

    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS)
        return afl_vigencia_day(1970, 1, 1) + (int)(apr_time_sec(t) / 86400);
    return afl_vigencia_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

apr_time_t afl_vigencia_noon(int day)
{
    apr_time_t utc_noon = apr_time_from_sec((apr_int64_t)day * 86400 + 12 * 3600);
    apr_time_exp_t tm;

    if (apr_time_exp_lt(&tm, utc_noon) != APR_SUCCESS)
        return utc_noon;
    return utc_noon - apr_time_from_sec(tm.tm_gmtoff);
}

/* ================================================================ coverage */

int afl_vigencia_mov_from_row(const char *movimiento, const char *inicio, const char *fin,
                              afl_movimiento *m)
{
    memset(m, 0, sizeof *m);
    if (!movimiento || afl_vigencia_parse_date(inicio, &m->fecha))
        return -1;
    if (!strcmp(movimiento, "alta")) {
        m->tipo = AFL_MOV_ALTA;
        if (!fin || !*fin)
            m->fin = AFL_VIGENCIA_ABIERTA;
        else if (afl_vigencia_parse_date(fin, &m->fin) || m->fin < m->fecha)
            return -1;
        return 0;
    }
    if (!strcmp(movimiento, "baja")) {
        m->tipo = AFL_MOV_BAJA;
        m->fin = m->fecha;
        return 0;
    }
    return -1;
}

typedef struct {
    int s, e; /* e may be AFL_VIGENCIA_ABIERTA */
} period;

static int cmp_period(const void *a, const void *b)
{
    const period *x = a, *y = b;

    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return x->e < y->e ? -1 : x->e > y->e;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return x < y ? -1 : x > y;
}

int afl_vigencia_eval(apr_pool_t *p, const afl_movimiento *m, size_t n, int dia, afl_vigencia *out)
{
    period *per, *blk;
    int *bajas;
    size_t np = 0, nb = 0, nblk = 0, i, sel;

    if (!out || (!m && n) || n > 100000)
        return -1;
    memset(out, 0, sizeof *out);
    per = apr_palloc(p, sizeof *per * (n ? n : 1));
    bajas = apr_palloc(p, sizeof *bajas * (n ? n : 1));
    for (i = 0; i < n; i++) {
        if (m[i].tipo == AFL_MOV_BAJA)
            bajas[nb++] = m[i].fecha;
    }
    qsort(bajas, nb, sizeof *bajas, cmp_int);
    for (i = 0; i < n; i++) {
        size_t lo = 0, hi = nb;
        int e;

        if (m[i].tipo != AFL_MOV_ALTA || m[i].fin < m[i].fecha)
            continue;
        e = m[i].fin;
        /* the first baja on or after the alta's start ends it */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (bajas[mid] < m[i].fecha)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nb && bajas[lo] < e)
            e = bajas[lo];
        per[np].s = m[i].fecha;
        per[np].e = e;
        np++;
    }
    if (np == 0) {
        out->estado = AFL_VIGENCIA_SIN_COBERTURA;
        return 0;
    }
    qsort(per, np, sizeof *per, cmp_period);
    /* merge overlapping and adjacent periods into continuous blocks */
    blk = apr_palloc(p, sizeof *blk * np);
    for (i = 0; i < np; i++) {
        if (nblk > 0 && (long long)per[i].s <= (long long)blk[nblk - 1].e + 1) {
            if (per[i].e > blk[nblk - 1].e)
                blk[nblk - 1].e = per[i].e;
        } else {
            blk[nblk++] = per[i];
        }
    }
    /* The block that contains the day, else the latest before it, else the first after. */
    out->estado = AFL_VIGENCIA_FUTURA;
    sel = 0;
    for (i = 0; i < nblk; i++)
        if (blk[i].s <= dia && dia <= blk[i].e) {
            out->estado = AFL_VIGENCIA_VIGENTE;
            sel = i;
            break;
        }
    for (i = nblk; out->estado == AFL_VIGENCIA_FUTURA && i-- > 0;)
        if (blk[i].e < dia) {
            out->estado = AFL_VIGENCIA_VENCIDA;
            sel = i;
        }
    out->vigente = out->estado == AFL_VIGENCIA_VIGENTE;
    out->desde = blk[sel].s;
    out->hasta = blk[sel].e;
    if (out->estado != AFL_VIGENCIA_FUTURA && sel + 1 < nblk) {
        out->has_proxima = 1;
        out->proxima = blk[sel + 1].s;
    }
    return 0;
}

const char *afl_vigencia_clave_asignacion(apr_pool_t *p, const char *nss)
{
    return apr_pstrcat(p, "asignacion:", nss ? nss : "", NULL);
}

/* ================================================================ CSV */

static const char *const columns[] = {"curp",  "nss",     "movimiento",
                                      "fecha", "escuela", "periodo_fin"};
#define NCOLS 6

static void fail(afl_vigencia_error *err, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(afl_vigencia_error *err, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (!err)
        return;
    err->line = line;
    if (line)
        n = snprintf(err->msg, sizeof err->msg, "line %lu: ", line);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

/* One record into f[0..*nf) (pool strings). 1 record, 0 end, -1 error.
 * fields is scratch space of at least NCOLS + 1 slots. */
static int next_record(afl_csv *r, apr_pool_t *p, apr_array_header_t *fields, char **f, int *nf,
                       afl_vigencia_error *err)
{
    int rc = afl_csv_next(r, p, fields);

    *nf = 0;
    if (rc < 0) {
        switch (r->error) {
        case AFL_CSV_TOO_MANY:
            fail(err, r->rec_line, "more than %d columns", NCOLS);
            break;
        case AFL_CSV_UNCLOSED_QUOTE:
            fail(err, r->rec_line, "unterminated quoted field in column %d", r->error_column);
            break;
        case AFL_CSV_TOO_LONG:
            fail(err, r->rec_line, "record longer than %d bytes", AFL_VIGENCIA_LINE_MAX);
            break;
        case AFL_CSV_AFTER_QUOTE:
            fail(err, r->rec_line, "text after the closing quote in column %d", r->error_column);
            break;
        case AFL_CSV_QUOTE_INSIDE:
            fail(err, r->rec_line, "quote inside an unquoted field (column %d)", r->error_column);
            break;
        case AFL_CSV_NUL:
        default:
            fail(err, r->rec_line, "NUL byte in column %d", r->error_column);
            break;
        }
        return -1;
    }
    for (int i = 0; i < fields->nelts; i++)
        f[i] = APR_ARRAY_IDX(fields, i, char *);
    *nf = fields->nelts;
    return rc;
}

static const char *row_key(apr_pool_t *p, const char *nss, const char *mov, const char *fecha,
                           const char *escuela)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok;

    if (!ctx)
        return NULL;
    /* fields separated by U+001F (unit separator), which no field contains */
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, nss, strlen(nss)) == 1 && EVP_DigestUpdate(ctx, "\x1f", 1) == 1 &&
         EVP_DigestUpdate(ctx, mov, strlen(mov)) == 1 && EVP_DigestUpdate(ctx, "\x1f", 1) == 1 &&
         EVP_DigestUpdate(ctx, fecha, strlen(fecha)) == 1 &&
         EVP_DigestUpdate(ctx, "\x1f", 1) == 1 &&
         EVP_DigestUpdate(ctx, escuela, strlen(escuela)) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &n) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NULL;
    return apr_pstrcat(p, "csv:", apr_pencode_base16_binary(p, md, n, APR_ENCODE_LOWER, NULL),
                       NULL);
}

/* Validate one record into *row. 0 ok, -1 with err set. */
static int check_row(apr_pool_t *p, char **f, int nf, unsigned long line, afl_vigencia_fila *row,
                     afl_vigencia_error *err)
{
    afl_curp_info ci;
    afl_curp_reason cr;
    afl_nss_reason nr;
    char nss[12];
    char *curp, *mov, *fecha, *escuela, *fin;

    if (nf != NCOLS) {
        fail(err, line, "expected %d columns, found %d", NCOLS, nf);
        return -1;
    }
    memset(row, 0, sizeof *row);
    row->line = line;
    curp = afl_csv_trim(f[0]);
    cr = afl_curp_validate(curp, strlen(curp), &ci);
    if (cr != AFL_CURP_OK) {
        fail(err, line, "column curp: invalid CURP (%s)", afl_curp_reason_code(cr));
        return -1;
    }
    row->curp = apr_pstrdup(p, ci.curp);
    {
        char *s = afl_csv_trim(f[1]);
        nr = afl_nss_validate(s, strlen(s), nss);
    }
    if (nr != AFL_NSS_OK) {
        fail(err, line, "column nss: invalid NSS (%s)", afl_nss_reason_code(nr));
        return -1;
    }
    row->nss = apr_pstrdup(p, nss);
    mov = afl_csv_trim(f[2]);
    if (!strcasecmp(mov, "alta")) {
        row->movimiento = AFL_MOV_ALTA;
        row->mov_texto = "alta";
    } else if (!strcasecmp(mov, "baja")) {
        row->movimiento = AFL_MOV_BAJA;
        row->mov_texto = "baja";
    } else {
        fail(err, line, "column movimiento: must be alta or baja");
        return -1;
    }
    fecha = afl_csv_trim(f[3]);
    if (afl_vigencia_parse_date(fecha, &row->mov.fecha)) {
        fail(err, line, "column fecha: not a date YYYY-MM-DD between %d and %d",
             AFL_VIGENCIA_YEAR_MIN, AFL_VIGENCIA_YEAR_MAX);
        return -1;
    }
    row->fecha = fecha;
    escuela = afl_csv_trim(f[4]);
    if (!*escuela || strlen(escuela) > AFL_VIGENCIA_ESCUELA_MAX ||
        !afl_utf8_printable(escuela, 0)) {
        fail(err, line, "column escuela: empty, longer than %d bytes or not printable UTF-8",
             AFL_VIGENCIA_ESCUELA_MAX);
        return -1;
    }
    row->escuela = escuela;
    fin = afl_csv_trim(f[5]);
    row->mov.tipo = row->movimiento;
    if (row->movimiento == AFL_MOV_BAJA) {
        if (*fin) {
            fail(err, line, "column periodo_fin: must be empty for a baja");
            return -1;
        }
        row->mov.fin = row->mov.fecha;
    } else if (!*fin) {
        row->mov.fin = AFL_VIGENCIA_ABIERTA;
    } else if (afl_vigencia_parse_date(fin, &row->mov.fin)) {
        fail(err, line, "column periodo_fin: not a date YYYY-MM-DD (or empty)");
        return -1;
    } else if (row->mov.fin < row->mov.fecha) {
        fail(err, line, "column periodo_fin: before fecha");
        return -1;
    }
    row->periodo_fin = fin;
    row->clave = row_key(p, row->nss, row->mov_texto, row->fecha, row->escuela);
    if (!row->clave) {
        fail(err, line, "cannot compute the row key (OpenSSL)");
        return -1;
    }
    return 0;
}

int afl_vigencia_csv(apr_pool_t *p, const char *data, size_t len, afl_vigencia_fila_fn *fn,
                     void *baton, unsigned long *rows, afl_vigencia_error *err)
{
    afl_csv r;
    apr_array_header_t *fields;
    apr_pool_t *iter;
    char *f[NCOLS];
    int nf, rc, rv = 0;
    unsigned long count = 0;

    if (rows)
        *rows = 0;
    if (err) {
        err->line = 0;
        err->msg[0] = '\0';
    }
    if (!data && len) {
        fail(err, 0, "no data");
        return -1;
    }
    afl_csv_init(&r, data, len);
    r.max_fields = NCOLS;
    r.max_record = AFL_VIGENCIA_LINE_MAX;
    fields = apr_array_make(p, NCOLS + 1, sizeof(char *));
    if (apr_pool_create(&iter, p) != APR_SUCCESS) {
        fail(err, 0, "out of memory");
        return -1;
    }

    rc = next_record(&r, iter, fields, f, &nf, err);
    if (rc == 0) {
        fail(err, 0,
             "empty file (the header curp,nss,movimiento,fecha,escuela,periodo_fin "
             "is missing)");
        rv = -1;
    } else if (rc < 0) {
        rv = -1;
    } else {
        int ok = nf == NCOLS;
        for (int i = 0; ok && i < NCOLS; i++)
            ok = !strcmp(afl_csv_trim(f[i]), columns[i]);
        if (!ok) {
            fail(err, r.rec_line,
                 "unexpected header; expected curp,nss,movimiento,fecha,escuela,periodo_fin");
            rv = -1;
        }
    }
    apr_pool_clear(iter);

    while (rv == 0 && (rc = next_record(&r, iter, fields, f, &nf, err)) == 1) {
        afl_vigencia_fila row;

        if (check_row(iter, f, nf, r.rec_line, &row, err)) {
            rv = -1;
            break;
        }
        if (fn) {
            int cb = fn(baton, &row);
            if (cb) {
                rv = cb;
                break;
            }
        }
        count++;
        apr_pool_clear(iter);
    }
    if (rv == 0 && rc < 0)
        rv = -1;
    if (rv == 0 && count == 0) {
        fail(err, 0, "the file has no data rows");
        rv = -1;
    }
    apr_pool_destroy(iter);
    if (rows)
        *rows = count;
    return rv;
}
