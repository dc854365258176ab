/* Unit tests for afl_vigencia: coverage from altas and bajas, dates, and the
 * schools' CSV report (validation, line numbers, idempotency keys). */
#include <check.h>
#include "check_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "afl_vigencia.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static int D(const char *s)
{
    int d = 0;

    ck_assert_msg(afl_vigencia_parse_date(s, &d) == 0, "bad test date %s", s);
    return d;
}

static afl_movimiento alta(const char *from, const char *to)
{
    afl_movimiento m = {AFL_MOV_ALTA, D(from), to ? D(to) : AFL_VIGENCIA_ABIERTA};

    return m;
}

static afl_movimiento baja(const char *on)
{
    afl_movimiento m = {AFL_MOV_BAJA, D(on), D(on)};

    return m;
}

static afl_vigencia eval(const afl_movimiento *m, size_t n, const char *day)
{
    afl_vigencia v;

    ck_assert_int_eq(afl_vigencia_eval(pool, m, n, D(day), &v), 0);
    ck_assert_int_eq(v.vigente, v.estado == AFL_VIGENCIA_VIGENTE);
    return v;
}

START_TEST(test_dates)
{
    int d;
    char out[11];
    int y, m, dd;

    ck_assert_int_eq(afl_vigencia_day(1970, 1, 1), 0);
    ck_assert_int_eq(afl_vigencia_day(2000, 3, 1), 11017);
    ck_assert_int_eq(afl_vigencia_day(1969, 12, 31), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2024-02-29", &d), 0);
    afl_vigencia_format_date(d, out);
    ck_assert_str_eq(out, "2024-02-29");
    afl_vigencia_civil(d + 1, &y, &m, &dd);
    ck_assert(y == 2024 && m == 3 && dd == 1);
    ck_assert_int_eq(afl_vigencia_parse_date("1900-01-01", &d), 0);
    afl_vigencia_format_date(d, out);
    ck_assert_str_eq(out, "1900-01-01");
    ck_assert_int_eq(afl_vigencia_parse_date("2199-12-31", &d), 0);
    /* refused */
    ck_assert_int_eq(afl_vigencia_parse_date("2025-02-29", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026-13-01", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026-00-10", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026-04-31", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("1899-12-31", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2200-01-01", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026-1-01", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026/01/01", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("2026-01-01 ", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date("", &d), -1);
    ck_assert_int_eq(afl_vigencia_parse_date(NULL, &d), -1);
    afl_vigencia_format_date(AFL_VIGENCIA_ABIERTA, out);
    ck_assert_str_eq(out, "");
    /* every day of 1900..2199 round-trips */
    for (int day = afl_vigencia_day(1900, 1, 1); day <= afl_vigencia_day(2199, 12, 31); day++) {
        int back;
        afl_vigencia_format_date(day, out);
        ck_assert_int_eq(afl_vigencia_parse_date(out, &back), 0);
        ck_assert_int_eq(back, day);
    }
}
END_TEST

START_TEST(test_today_and_noon)
{
    /* 2026-11-26 05:30 UTC is still the 25th in Mexico City (UTC-6) */
    ck_assert_int_eq(afl_vigencia_today(apr_time_from_sec(1795671000)), D("2026-11-25"));
    ck_assert_int_eq(afl_vigencia_today(apr_time_from_sec(1795694400)), D("2026-11-26"));
    /* noon local = 18:00 UTC */
    ck_assert(afl_vigencia_noon(D("2026-11-26")) == apr_time_from_sec(1795694400 + 6 * 3600));
    ck_assert_int_eq(afl_vigencia_today(afl_vigencia_noon(D("2026-07-01"))), D("2026-07-01"));
}
END_TEST

START_TEST(test_no_movements)
{
    afl_vigencia v = eval(NULL, 0, "2026-11-26");

    ck_assert_int_eq(v.estado, AFL_VIGENCIA_SIN_COBERTURA);
    ck_assert_int_eq(v.desde, 0);
    ck_assert_int_eq(v.hasta, 0);
    /* a baja alone covers nothing */
    {
        afl_movimiento m[1] = {baja("2026-01-01")};
        v = eval(m, 1, "2026-11-26");
        ck_assert_int_eq(v.estado, AFL_VIGENCIA_SIN_COBERTURA);
    }
    ck_assert_int_eq(afl_vigencia_eval(pool, NULL, 1, 0, &v), -1);
    ck_assert_int_eq(afl_vigencia_eval(pool, NULL, 0, 0, NULL), -1);
}
END_TEST

START_TEST(test_single_period_bounds)
{
    afl_movimiento m[1] = {alta("2026-08-24", "2027-01-31")};
    afl_vigencia v;

    v = eval(m, 1, "2026-08-24"); /* first day included */
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
    ck_assert_int_eq(v.desde, D("2026-08-24"));
    ck_assert_int_eq(v.hasta, D("2027-01-31"));
    ck_assert_int_eq(v.has_proxima, 0);
    v = eval(m, 1, "2027-01-31"); /* last day included */
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
    v = eval(m, 1, "2027-02-01");
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(v.desde, D("2026-08-24"));
    ck_assert_int_eq(v.hasta, D("2027-01-31"));
    v = eval(m, 1, "2026-08-23");
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_FUTURA);
    ck_assert_int_eq(v.desde, D("2026-08-24"));
}
END_TEST

START_TEST(test_open_alta)
{
    afl_movimiento m[1] = {alta("2025-08-25", NULL)};
    afl_vigencia v = eval(m, 1, "2199-12-31");

    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
    ck_assert_int_eq(v.hasta, AFL_VIGENCIA_ABIERTA);
}
END_TEST

START_TEST(test_baja_ends_coverage)
{
    afl_movimiento m[2] = {alta("2025-08-25", NULL), baja("2026-03-15")};
    afl_vigencia v;

    v = eval(m, 2, "2026-03-15"); /* the baja's day is still covered */
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
    ck_assert_int_eq(v.hasta, D("2026-03-15"));
    v = eval(m, 2, "2026-03-16");
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(v.desde, D("2025-08-25"));
    ck_assert_int_eq(v.hasta, D("2026-03-15"));
    /* a baja after the alta's own end changes nothing */
    {
        afl_movimiento m2[2] = {alta("2025-08-25", "2026-01-31"), baja("2026-03-15")};
        v = eval(m2, 2, "2026-01-15");
        ck_assert_int_eq(v.hasta, D("2026-01-31"));
    }
    /* a baja before an alta does not touch it (re-enrolment) */
    {
        afl_movimiento m3[3] = {alta("2024-08-26", NULL), baja("2025-06-30"),
                                alta("2025-08-25", "2026-07-31")};
        v = eval(m3, 3, "2025-07-15");
        ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
        ck_assert_int_eq(v.hasta, D("2025-06-30"));
        ck_assert_int_eq(v.has_proxima, 1);
        ck_assert_int_eq(v.proxima, D("2025-08-25"));
        v = eval(m3, 3, "2026-02-01");
        ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
        ck_assert_int_eq(v.desde, D("2025-08-25"));
        ck_assert_int_eq(v.hasta, D("2026-07-31"));
    }
    /* the earliest baja on or after the start wins */
    {
        afl_movimiento m4[3] = {baja("2026-05-01"), alta("2026-01-10", NULL), baja("2026-02-01")};
        v = eval(m4, 3, "2026-03-01");
        ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
        ck_assert_int_eq(v.hasta, D("2026-02-01"));
    }
    /* alta and baja on the same day: one day */
    {
        afl_movimiento m5[2] = {alta("2026-01-10", NULL), baja("2026-01-10")};
        v = eval(m5, 2, "2026-01-10");
        ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
        ck_assert_int_eq(v.desde, v.hasta);
    }
}
END_TEST

START_TEST(test_adjacent_and_overlapping_merge)
{
    /* Paso 1 assignment until the end of the period, then the school's reports */
    afl_movimiento m[4] = {alta("2026-08-24", "2026-12-31"), alta("2027-01-01", "2027-06-30"),
                           alta("2027-03-01", "2027-07-31"), alta("2027-09-01", "2027-12-31")};
    afl_vigencia v = eval(m, 4, "2026-09-10");

    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VIGENTE);
    ck_assert_int_eq(v.desde, D("2026-08-24"));
    ck_assert_int_eq(v.hasta, D("2027-07-31"));
    ck_assert_int_eq(v.has_proxima, 1);
    ck_assert_int_eq(v.proxima, D("2027-09-01"));
    v = eval(m, 4, "2027-08-15"); /* the summer gap */
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(v.hasta, D("2027-07-31"));
    ck_assert_int_eq(v.proxima, D("2027-09-01"));
    v = eval(m, 4, "2028-01-01");
    ck_assert_int_eq(v.estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(v.desde, D("2027-09-01"));
    ck_assert_int_eq(v.has_proxima, 0);
}
END_TEST

/* The result depends on the set of movements, not on their order, and a
 * movement twice is the same as once. */
START_TEST(test_order_independent)
{
    afl_movimiento m[5] = {alta("2025-08-25", NULL), baja("2026-03-15"),
                           alta("2026-04-01", "2026-07-31"), alta("2026-08-24", NULL),
                           baja("2026-10-31")};
    afl_movimiento perm[10];
    const char *days[] = {"2025-08-24", "2025-09-01", "2026-03-15", "2026-03-20",
                          "2026-05-05", "2026-08-01", "2026-09-09", "2026-11-30"};
    afl_vigencia ref[8];
    unsigned seed = 12345;

    for (int i = 0; i < 8; i++)
        ref[i] = eval(m, 5, days[i]);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 5; i++)
            perm[i] = perm[i + 5] = m[i];
        for (int i = 9; i > 0; i--) {
            int j;
            afl_movimiento t;
            seed = seed * 1103515245 + 12345;
            j = (int)((seed >> 8) % (unsigned)(i + 1));
            t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < 8; i++) {
            afl_vigencia v = eval(perm, 10, days[i]);
            ck_assert_int_eq(v.estado, ref[i].estado);
            ck_assert_int_eq(v.desde, ref[i].desde);
            ck_assert_int_eq(v.hasta, ref[i].hasta);
            ck_assert_int_eq(v.has_proxima, ref[i].has_proxima);
            ck_assert_int_eq(v.proxima, ref[i].proxima);
        }
    }
    ck_assert_int_eq(ref[0].estado, AFL_VIGENCIA_FUTURA);
    ck_assert_int_eq(ref[3].estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(ref[4].estado, AFL_VIGENCIA_VIGENTE);
    ck_assert_int_eq(ref[7].estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(ref[7].hasta, D("2026-10-31"));
}
END_TEST

START_TEST(test_mov_from_row)
{
    afl_movimiento m;

    ck_assert_int_eq(afl_vigencia_mov_from_row("alta", "2026-08-24", "2027-01-31", &m), 0);
    ck_assert(m.tipo == AFL_MOV_ALTA && m.fecha == D("2026-08-24") && m.fin == D("2027-01-31"));
    ck_assert_int_eq(afl_vigencia_mov_from_row("alta", "2026-08-24", NULL, &m), 0);
    ck_assert_int_eq(m.fin, AFL_VIGENCIA_ABIERTA);
    ck_assert_int_eq(afl_vigencia_mov_from_row("alta", "2026-08-24", "", &m), 0);
    ck_assert_int_eq(m.fin, AFL_VIGENCIA_ABIERTA);
    ck_assert_int_eq(afl_vigencia_mov_from_row("baja", "2026-10-01", NULL, &m), 0);
    ck_assert(m.tipo == AFL_MOV_BAJA && m.fecha == D("2026-10-01"));
    ck_assert_int_eq(afl_vigencia_mov_from_row("alta", "2026-08-24", "2026-08-23", &m), -1);
    ck_assert_int_eq(afl_vigencia_mov_from_row("ALTA", "2026-08-24", NULL, &m), -1);
    ck_assert_int_eq(afl_vigencia_mov_from_row("alta", "24/08/2026", NULL, &m), -1);
    ck_assert_int_eq(afl_vigencia_mov_from_row(NULL, "2026-08-24", NULL, &m), -1);
    ck_assert_str_eq(afl_vigencia_clave_asignacion(pool, "12345678903"), "asignacion:12345678903");
}
END_TEST

/* ---------------------------------------------------------------- CSV */

#define HEADER "curp,nss,movimiento,fecha,escuela,periodo_fin\n"
#define CURP "MUIM050315MNLXBRA5"
#define NSS "12345678903"

typedef struct {
    int n;
    afl_vigencia_fila rows[8];
    char keys[8][80];
    char escuelas[8][128];
    int stop_at;
} collected;

static int collect(void *baton, const afl_vigencia_fila *f)
{
    collected *c = baton;

    if (c->n < 8) {
        c->rows[c->n] = *f;
        snprintf(c->keys[c->n], sizeof c->keys[0], "%s", f->clave);
        snprintf(c->escuelas[c->n], sizeof c->escuelas[0], "%s", f->escuela);
    }
    c->n++;
    return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static int parse(const char *text, collected *c, afl_vigencia_error *e)
{
    unsigned long rows = 0;
    int rc;

    memset(c, 0, sizeof *c);
    rc = afl_vigencia_csv(pool, text, strlen(text), collect, c, &rows, e);
    ck_assert_uint_eq(rows, (unsigned long)(rc == 7 ? c->n - 1 : c->n));
    return rc;
}

START_TEST(test_csv_ok)
{
    collected c;
    afl_vigencia_error e;
    const char *csv = "\xEF\xBB\xBF" HEADER "\r\n" CURP "," NSS ",alta,2026-08-24,09DES0001X,"
                      "2027-01-31\r\n"
                      "\r\n"
                      " muim050315mnlxbra5 , " NSS " , BAJA ,2026-11-15, 09DES0001X ,\r\n"
                      "\"" CURP "\",\"" NSS "\",alta,2027-02-01,\"Escuela \"\"Benito Juárez\"\", "
                      "turno matutino\",\n";

    ck_assert_int_eq(parse(csv, &c, &e), 0);
    ck_assert_int_eq(c.n, 3);
    ck_assert_uint_eq(c.rows[0].line, 3);
    ck_assert_int_eq(c.rows[0].movimiento, AFL_MOV_ALTA);
    ck_assert_int_eq(c.rows[0].mov.fecha, D("2026-08-24"));
    ck_assert_int_eq(c.rows[0].mov.fin, D("2027-01-31"));
    ck_assert_uint_eq(c.rows[1].line, 5);
    ck_assert_int_eq(c.rows[1].movimiento, AFL_MOV_BAJA);
    ck_assert_int_eq(c.rows[1].mov.fecha, D("2026-11-15"));
    ck_assert_uint_eq(c.rows[2].line, 6);
    ck_assert_int_eq(c.rows[2].mov.fin, AFL_VIGENCIA_ABIERTA);
    ck_assert_str_eq(c.escuelas[2], "Escuela \"Benito Juárez\", turno matutino");
    ck_assert_str_eq(c.escuelas[1], "09DES0001X");
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(strlen(c.keys[i]), 4 + 64);
        ck_assert_int_eq(strncmp(c.keys[i], "csv:", 4), 0);
    }
    ck_assert_str_ne(c.keys[0], c.keys[1]);
    ck_assert_str_ne(c.keys[0], c.keys[2]);
}
END_TEST

START_TEST(test_csv_key)
{
    collected a, b;
    afl_vigencia_error e;

    /* the key ignores periodo_fin, case and blanks: a corrected end updates */
    ck_assert_int_eq(parse(HEADER CURP "," NSS ",alta,2026-08-24,09DES0001X,2027-01-31\n", &a, &e),
                     0);
    ck_assert_int_eq(
        parse(HEADER CURP "," NSS ", Alta ,2026-08-24,09DES0001X ,2027-06-30\n", &b, &e), 0);
    ck_assert_str_eq(a.keys[0], b.keys[0]);
    /* another school or date is another key */
    ck_assert_int_eq(parse(HEADER CURP "," NSS ",alta,2026-08-24,09DES0002X,2027-01-31\n", &b, &e),
                     0);
    ck_assert_str_ne(a.keys[0], b.keys[0]);
    ck_assert_int_eq(parse(HEADER CURP "," NSS ",alta,2026-08-25,09DES0001X,2027-01-31\n", &b, &e),
                     0);
    ck_assert_str_ne(a.keys[0], b.keys[0]);
}
END_TEST

/* Each bad line is refused with its line number and column, and the
 * message never quotes the CURP or the NSS. */
START_TEST(test_csv_errors)
{
    static const struct {
        const char *text;
        unsigned long line;
        const char *needle;
    } cases[] = {
        {"", 0, "empty file"},
        {"curp,nss,movimiento,fecha,escuela\n", 1, "unexpected header"},
        {"curp;nss;movimiento;fecha;escuela;periodo_fin\n", 1, "unexpected header"},
        {HEADER, 0, "no data rows"},
        {HEADER "\n\n", 0, "no data rows"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E1\n", 2, "expected 6 columns, found 5"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E1,,x\n", 2, "more than 6 columns"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E1,\n"
                     "MUIM050315MNLXBRA1," NSS ",alta,2026-08-24,E1,\n",
         3, "column curp: invalid CURP (bad_check_digit)"},
        {HEADER CURP ",12345678904,alta,2026-08-24,E1,\n", 2,
         "column nss: invalid NSS (bad_check_digit)"},
        {HEADER CURP ",1234567890,alta,2026-08-24,E1,\n", 2,
         "column nss: invalid NSS (bad_length)"},
        {HEADER CURP "," NSS ",reingreso,2026-08-24,E1,\n", 2, "must be alta or baja"},
        {HEADER CURP "," NSS ",alta,24/08/2026,E1,\n", 2, "column fecha"},
        {HEADER CURP "," NSS ",alta,2026-02-30,E1,\n", 2, "column fecha"},
        {HEADER CURP "," NSS ",alta,2026-08-24,,\n", 2, "column escuela"},
        {HEADER CURP "," NSS ",alta,2026-08-24,\"a\tb\",\n", 2, "column escuela"},
        {HEADER CURP "," NSS ",alta,2026-08-24,\xff\xfe,\n", 2, "column escuela"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E1,2026-08-23\n", 2, "before fecha"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E1,31/12/2026\n", 2, "column periodo_fin"},
        {HEADER CURP "," NSS ",baja,2026-08-24,E1,2026-12-31\n", 2, "must be empty for a baja"},
        {HEADER CURP "," NSS ",alta,2026-08-24,\"E1,\n", 2, "unterminated quoted field"},
        {HEADER CURP "," NSS ",alta,2026-08-24,\"E1\"x,\n", 2, "text after the closing quote"},
        {HEADER CURP "," NSS ",alta,2026-08-24,E\"1,\n", 2, "quote inside an unquoted field"},
        /* blank lines count; a quoted line break is refused at the record's first line */
        {HEADER "\n\n" CURP "," NSS ",alta,2026-08-24,\"multi\nline\",\n" CURP "," NSS
                ",alta,2026-08-24,E1,2026-01-01\n",
         4, "column escuela"},
        {HEADER "\r\n\r\n" CURP "," NSS ",alta,2026-08-24,E1,\r\n" CURP "," NSS
                ",alta,2026-08-24,E1,2026-01-01\r\n",
         5, "before fecha"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        collected c;
        afl_vigencia_error e;
        int rc = parse(cases[i].text, &c, &e);

        ck_assert_msg(rc == -1, "case %zu: rc %d", i, rc);
        ck_assert_msg(e.line == cases[i].line, "case %zu: line %lu, expected %lu (%s)", i, e.line,
                      cases[i].line, e.msg);
        ck_assert_msg(strstr(e.msg, cases[i].needle) != NULL, "case %zu: \"%s\" not in \"%s\"", i,
                      cases[i].needle, e.msg);
        ck_assert_msg(!strstr(e.msg, "MUIM050315") && !strstr(e.msg, "1234567890"),
                      "case %zu: personal data in \"%s\"", i, e.msg);
        if (cases[i].line) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "line %lu: ", cases[i].line);
            ck_assert_msg(!strncmp(e.msg, prefix, strlen(prefix)), "case %zu: %s", i, e.msg);
        }
    }
}
END_TEST

START_TEST(test_csv_limits_and_callback)
{
    collected c;
    afl_vigencia_error e;
    char *big = apr_palloc(pool, AFL_VIGENCIA_LINE_MAX + 200);
    unsigned long rows;

    /* an escuela over 100 bytes, a record over the line limit */
    memset(big, 'x', AFL_VIGENCIA_LINE_MAX + 100);
    big[AFL_VIGENCIA_LINE_MAX + 100] = '\0';
    ck_assert_int_eq(parse(apr_pstrcat(pool, HEADER CURP "," NSS ",alta,2026-08-24,",
                                       apr_pstrndup(pool, big, 101), ",\n", NULL),
                           &c, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "column escuela"));
    ck_assert_int_eq(
        parse(apr_pstrcat(pool, HEADER CURP "," NSS ",alta,2026-08-24,", big, ",\n", NULL), &c, &e),
        -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
    /* NUL inside the data */
    {
        static const char nul[] = HEADER CURP "," NSS ",alta,2026-08-24,E\0001,\n";
        ck_assert_int_eq(afl_vigencia_csv(pool, nul, sizeof nul - 1, NULL, NULL, &rows, &e), -1);
        ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    }
    /* the callback's value stops the parse and is returned */
    memset(&c, 0, sizeof c);
    c.stop_at = 2;
    {
        static const char three[] =
            HEADER CURP "," NSS ",alta,2026-08-24,E1,\n" CURP "," NSS ",baja,2026-09-24,E1,\n" CURP
                        "," NSS ",alta,2026-10-24,E1,\n";
        ck_assert_int_eq(afl_vigencia_csv(pool, three, sizeof three - 1, collect, &c, &rows, &e),
                         7);
    }
    ck_assert_int_eq(c.n, 2);
    ck_assert_uint_eq(rows, 1);
    /* no trailing newline, fn NULL: validation only */
    ck_assert_int_eq(afl_vigencia_csv(pool, HEADER CURP "," NSS ",alta,2026-08-24,E1,",
                                      strlen(HEADER CURP "," NSS ",alta,2026-08-24,E1,"), NULL,
                                      NULL, &rows, &e),
                     0);
    ck_assert_uint_eq(rows, 1);
    ck_assert_int_eq(afl_vigencia_csv(pool, NULL, 0, NULL, NULL, &rows, &e), -1);
}
END_TEST

static Suite *vigencia_suite(void)
{
    Suite *s = suite_create("vigencia");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_today_and_noon);
    tcase_add_test(tc, test_no_movements);
    tcase_add_test(tc, test_single_period_bounds);
    tcase_add_test(tc, test_open_alta);
    tcase_add_test(tc, test_baja_ends_coverage);
    tcase_add_test(tc, test_adjacent_and_overlapping_merge);
    tcase_add_test(tc, test_order_independent);
    tcase_add_test(tc, test_mov_from_row);
    tcase_add_test(tc, test_csv_ok);
    tcase_add_test(tc, test_csv_key);
    tcase_add_test(tc, test_csv_errors);
    tcase_add_test(tc, test_csv_limits_and_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setenv("TZ", "America/Mexico_City", 1);
    tzset();
    return check_main(vigencia_suite());
}
