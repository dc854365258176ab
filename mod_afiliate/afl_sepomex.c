/* Streaming parser of the SEPOMEX catalog export; see afl_sepomex.h. */
#include "afl_sepomex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char afl_sepomex_header[] =
    "d_codigo|d_asenta|d_tipo_asenta|D_mnpio|d_estado|d_ciudad|d_CP|c_estado|c_oficina|c_CP|"
    "c_tipo_asenta|c_mnpio|id_asenta_cpcons|d_zona|c_cve_ciudad";

static const char *const header_names[AFL_SEPOMEX_FIELDS] = {
    "d_codigo",      "d_asenta", "d_tipo_asenta",    "D_mnpio",   "d_estado",
    "d_ciudad",      "d_CP",     "c_estado",         "c_oficina", "c_CP",
    "c_tipo_asenta", "c_mnpio",  "id_asenta_cpcons", "d_zona",    "c_cve_ciudad",
};

/* A decoded byte takes at most 3 UTF-8 bytes (the euro sign of CP1252). */
#define OUT_SIZE (AFL_SEPOMEX_MAX_LINE * 3 + 1)

struct afl_sepomex_parser {
    afl_sepomex_row_fn *fn;
    void *baton;
    unsigned long line; /* 1-based number of the line being read */
    unsigned long rows;
    size_t len; /* raw bytes of the current line */
    int header_seen;
    afl_sepomex_status status;
    unsigned long err_line;
    int abort_code;
    char err[512];
    char raw[AFL_SEPOMEX_MAX_LINE + 1];
    char out[OUT_SIZE];
};

/* Bytes 0x80-0x9F are C1 controls in ISO-8859-1; they are read as Windows-1252
 * (the superset every consumer of "Latin-1" text uses), whose printable
 * characters there are these code points. 0 marks the five undefined bytes. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

afl_sepomex_parser *afl_sepomex_create(afl_sepomex_row_fn *fn, void *baton)
{
    afl_sepomex_parser *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->fn = fn;
    p->baton = baton;
    p->line = 1;
    return p;
}

void afl_sepomex_destroy(afl_sepomex_parser *p)
{
    free(p);
}

static afl_sepomex_status fail(afl_sepomex_parser *p, afl_sepomex_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static afl_sepomex_status fail(afl_sepomex_parser *p, afl_sepomex_status st, const char *fmt, ...)
{
    va_list ap;
    int n;

    p->status = st;
    p->err_line = p->line;
    n = snprintf(p->err, sizeof p->err, "line %lu: ", p->line);
    va_start(ap, fmt);
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

/* Decodes raw[0..len) into out, splitting on '|'. Returns the number of
 * fields found (up to max stored in f), or -1 on a control character. */
static int decode_split(afl_sepomex_parser *p, char **f, int max)
{
    char *o = p->out;
    int nf = 0;

    if (max > 0)
        f[0] = o;
    nf = 1;
    for (size_t i = 0; i < p->len; i++) {
        unsigned char c = (unsigned char)p->raw[i];
        unsigned cp;

        if (c == '|') {
            *o++ = '\0';
            if (nf < max)
                f[nf] = o;
            nf++;
            continue;
        }
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            *o++ = (char)c;
            continue;
        }
        if (c < 0xA0) {
            cp = cp1252_high[c - 0x80];
            if (!cp)
                return -1;
        } else {
            cp = c;
        }
        if (cp < 0x800) {
            *o++ = (char)(0xC0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (char)(0xE0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    *o = '\0';
    return nf;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Five digits: the first field of a data row (a CP). */
static int looks_like_row(const char *f0)
{
    for (int i = 0; i < 5; i++)
        if (f0[i] < '0' || f0[i] > '9')
            return 0;
    return f0[5] == '\0';
}

static afl_sepomex_status check_header(afl_sepomex_parser *p)
{
    char *f[AFL_SEPOMEX_FIELDS];
    int nf = decode_split(p, f, AFL_SEPOMEX_FIELDS);

    if (nf < 0)
        return fail(p, AFL_SEPOMEX_BAD_HEADER,
                    "the header contains control characters; expected %s", afl_sepomex_header);
    for (int i = 0; i < nf && i < AFL_SEPOMEX_FIELDS; i++) {
        if (strcmp(f[i], header_names[i]))
            return fail(p, AFL_SEPOMEX_BAD_HEADER,
                        "unexpected header: field %d must be '%s' (expected %s)%s", i + 1,
                        header_names[i], afl_sepomex_header,
                        looks_like_row(f[0]) ? "; it looks like a data row: is line 1 (the "
                                               "legal notice) missing?"
                                             : "");
    }
    if (nf != AFL_SEPOMEX_FIELDS)
        return fail(p, AFL_SEPOMEX_BAD_HEADER,
                    "unexpected header: it has %d fields, expected %d (%s)", nf, AFL_SEPOMEX_FIELDS,
                    afl_sepomex_header);
    p->header_seen = 1;
    return AFL_SEPOMEX_OK;
}

static afl_sepomex_status end_of_line(afl_sepomex_parser *p)
{
    char *f[AFL_SEPOMEX_FIELDS];
    afl_sepomex_row row;
    int nf, rc;

    if (p->len > 0 && p->raw[p->len - 1] == '\r')
        p->len--;
    if (p->line == 1)
        return AFL_SEPOMEX_OK; /* the legal notice */
    if (p->line == 2)
        return check_header(p);
    if (p->len == 0)
        return AFL_SEPOMEX_OK;
    nf = decode_split(p, f, AFL_SEPOMEX_FIELDS);
    if (nf < 0)
        return fail(p, AFL_SEPOMEX_CONTROL_CHAR, "control character or invalid byte");
    if (nf != AFL_SEPOMEX_FIELDS)
        return fail(p, AFL_SEPOMEX_FIELD_COUNT, "expected %d fields, found %d", AFL_SEPOMEX_FIELDS,
                    nf);
    for (int i = 0; i < AFL_SEPOMEX_FIELDS; i++)
        f[i] = trim(f[i]);
    row.d_codigo = f[0];
    row.d_asenta = f[1];
    row.d_tipo_asenta = f[2];
    row.d_mnpio = f[3];
    row.d_estado = f[4];
    row.d_ciudad = f[5];
    row.d_cp = f[6];
    row.c_estado = f[7];
    row.c_oficina = f[8];
    row.c_cp = f[9];
    row.c_tipo_asenta = f[10];
    row.c_mnpio = f[11];
    row.id_asenta_cpcons = f[12];
    row.d_zona = f[13];
    row.c_cve_ciudad = f[14];
    p->rows++;
    rc = p->fn ? p->fn(p->baton, &row, p->line) : 0;
    if (rc) {
        p->abort_code = rc;
        return fail(p, AFL_SEPOMEX_ABORTED, "import aborted");
    }
    return AFL_SEPOMEX_OK;
}

afl_sepomex_status afl_sepomex_feed(afl_sepomex_parser *p, const char *buf, size_t len)
{
    if (p->status != AFL_SEPOMEX_OK)
        return p->status;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (c == '\n') {
            if (end_of_line(p) != AFL_SEPOMEX_OK)
                return p->status;
            p->line++;
            p->len = 0;
            continue;
        }
        if (p->line == 1)
            continue; /* legal notice: not stored, any length */
        if (p->len >= AFL_SEPOMEX_MAX_LINE)
            return fail(p, AFL_SEPOMEX_LINE_TOO_LONG, "longer than %d bytes", AFL_SEPOMEX_MAX_LINE);
        p->raw[p->len++] = c;
    }
    return AFL_SEPOMEX_OK;
}

afl_sepomex_status afl_sepomex_finish(afl_sepomex_parser *p)
{
    if (p->status != AFL_SEPOMEX_OK)
        return p->status;
    if (p->len > 0 && p->line > 1) {
        if (end_of_line(p) != AFL_SEPOMEX_OK)
            return p->status;
        p->len = 0;
        p->line++;
    }
    if (!p->header_seen) {
        fail(p, AFL_SEPOMEX_NO_HEADER,
             "the file ends before the header (line 2: %s); "
             "is this the CPdescarga.txt from Correos de México?",
             afl_sepomex_header);
        return p->status;
    }
    p->status = AFL_SEPOMEX_STATE; /* no more input accepted */
    return AFL_SEPOMEX_OK;
}

unsigned long afl_sepomex_rows(const afl_sepomex_parser *p)
{
    return p->rows;
}

unsigned long afl_sepomex_error_line(const afl_sepomex_parser *p)
{
    return p->err_line;
}

int afl_sepomex_abort_code(const afl_sepomex_parser *p)
{
    return p->abort_code;
}

const char *afl_sepomex_error(const afl_sepomex_parser *p)
{
    return p->err;
}

afl_sepomex_status afl_sepomex_parse(const char *buf, size_t len, afl_sepomex_row_fn *fn,
                                     void *baton, unsigned long *rows, char *errbuf, size_t errlen)
{
    afl_sepomex_parser *p = afl_sepomex_create(fn, baton);
    afl_sepomex_status st;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!p) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return AFL_SEPOMEX_NOMEM;
    }
    st = afl_sepomex_feed(p, buf, len);
    if (st == AFL_SEPOMEX_OK)
        st = afl_sepomex_finish(p);
    if (rows)
        *rows = p->rows;
    if (st != AFL_SEPOMEX_OK && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", p->err);
    afl_sepomex_destroy(p);
    return st;
}
