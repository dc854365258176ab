/* Unit tests: afl_sepomex, the SEPOMEX catalog parser (docs/domain.md, SEPOMEX catalog format). */
#include "afl_sepomex.h"

#include <check.h>
#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEGAL                                                                                      \
    "El Cat\xe1logo Nacional de C\xf3"                                                             \
    "digos Postales, es elaborado por Correos de M\xe9xico"
#define HEADER                                                                                     \
    "d_codigo|d_asenta|d_tipo_asenta|D_mnpio|d_estado|d_ciudad|d_CP|c_estado|c_oficina|c_CP|"      \
    "c_tipo_asenta|c_mnpio|id_asenta_cpcons|d_zona|c_cve_ciudad"
/* Official rows (Latin-1 bytes), 2018-10-25 file. */
#define ROW_ROMA                                                                                   \
    "06700|Roma Norte|Colonia|Cuauht\xe9moc|Ciudad de M\xe9xico|Ciudad de "                        \
    "M\xe9xico|06001|09|06001|"                                                                    \
    "|09|015|0947|Urbano|01"
#define ROW_GDL                                                                                    \
    "44100|Guadalajara "                                                                           \
    "Centro|Colonia|Guadalajara|Jalisco|Guadalajara|44101|14|44101||09|039|0003|"                  \
    "Urbano|03"
#define ROW_ENYE                                                                                   \
    "20920|Jes\xfas Mar\xed"                                                                       \
    "a Centro|Colonia|Jes\xfas Mar\xed"                                                            \
    "a|Aguascalientes|Jes\xfas Mar\xed"                                                            \
    "a "                                                                                           \
    "|20921|01|20921||09|005|0891|Urbano|04"
#define ROW_NINO                                                                                   \
    "09000|Ni\xf1os H\xe9roes|Colonia|Iztapalapa|Ciudad de "                                       \
    "M\xe9xico||09001|09|09001||09|007|0001|"                                                      \
    "Urbano|"

typedef struct {
    int n;
    char cp[8][8];
    char asenta[8][64];
    char mnpio[8][64];
    char ciudad[8][64];
    char id[8][8];
    char c_cp[8][8];
    char cve_ciudad[8][8];
    unsigned long line[8];
    int stop_at; /* abort when n reaches this (0: never) */
} rows;

static int collect(void *baton, const afl_sepomex_row *r, unsigned long line)
{
    rows *rs = baton;

    if (rs->n < 8) {
        snprintf(rs->cp[rs->n], sizeof rs->cp[0], "%s", r->d_codigo);
        snprintf(rs->asenta[rs->n], sizeof rs->asenta[0], "%s", r->d_asenta);
        snprintf(rs->mnpio[rs->n], sizeof rs->mnpio[0], "%s", r->d_mnpio);
        snprintf(rs->ciudad[rs->n], sizeof rs->ciudad[0], "%s", r->d_ciudad);
        snprintf(rs->id[rs->n], sizeof rs->id[0], "%s", r->id_asenta_cpcons);
        snprintf(rs->c_cp[rs->n], sizeof rs->c_cp[0], "%s", r->c_cp);
        snprintf(rs->cve_ciudad[rs->n], sizeof rs->cve_ciudad[0], "%s", r->c_cve_ciudad);
        rs->line[rs->n] = line;
    }
    rs->n++;
    if (rs->stop_at && rs->n == rs->stop_at)
        return 7;
    return 0;
}

static afl_sepomex_status parse(const char *text, rows *rs, char *err, size_t errlen)
{
    unsigned long n = 0;
    afl_sepomex_status st;

    memset(rs, 0, sizeof(*rs));
    st = afl_sepomex_parse(text, strlen(text), collect, rs, &n, err, errlen);
    ck_assert_uint_eq(n, (unsigned long)rs->n);
    return st;
}

START_TEST(latin1_to_utf8_crlf)
{
    rows rs;
    char err[512];
    const char *text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "\r\n" ROW_GDL "\r\n" ROW_NINO "\r\n";

    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(rs.n, 3);
    ck_assert_str_eq(rs.cp[0], "06700");
    ck_assert_str_eq(rs.asenta[0], "Roma Norte");
    ck_assert_str_eq(rs.mnpio[0], "Cuauhtémoc");
    ck_assert_str_eq(rs.ciudad[0], "Ciudad de México");
    ck_assert_str_eq(rs.id[0], "0947");
    ck_assert_uint_eq(rs.line[0], 3);
    ck_assert_str_eq(rs.cp[1], "44100");
    ck_assert_uint_eq(rs.line[1], 4);
    ck_assert_str_eq(rs.asenta[2], "Niños Héroes");
    ck_assert_uint_eq(rs.line[2], 5);
}
END_TEST

START_TEST(every_latin1_letter)
{
    /* Á É Í Ñ Ó Ú á é í ñ ó ú ü ° ´ as measured in the official file. */
    rows rs;
    char err[512];
    const char *text = LEGAL "\r\n" HEADER "\r\n"
                             "01000|\xc1\xc9\xcd\xd1\xd3\xda\xe1\xe9\xed\xf1\xf3\xfa\xfc\xb0\xb4|"
                             "Colonia|M|E||01001|09|01001||09|010|0001|Urbano|01\r\n";

    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_str_eq(rs.asenta[0], "ÁÉÍÑÓÚáéíñóúü°´");
}
END_TEST

START_TEST(lf_only_and_no_final_newline)
{
    rows rs;
    char err[512];
    const char *text = LEGAL "\n" HEADER "\n" ROW_ROMA "\n" ROW_GDL;

    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_int_eq(rs.n, 2);
    ck_assert_str_eq(rs.cp[1], "44100");
    ck_assert_str_eq(rs.cve_ciudad[1], "03");
    ck_assert_uint_eq(rs.line[1], 4);
}
END_TEST

START_TEST(empty_fields_and_trailing_blanks)
{
    rows rs;
    char err[512];
    const char *text = LEGAL "\r\n" HEADER "\r\n" ROW_ENYE "\r\n" ROW_NINO "\r\n";

    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_int_eq(rs.n, 2);
    /* "Jesús María " in d_ciudad: the trailing blank is trimmed. */
    ck_assert_str_eq(rs.ciudad[0], "Jesús María");
    ck_assert_str_eq(rs.c_cp[0], "");
    ck_assert_str_eq(rs.ciudad[1], "");     /* empty d_ciudad */
    ck_assert_str_eq(rs.cve_ciudad[1], ""); /* empty last field */
}
END_TEST

START_TEST(blank_lines_ignored)
{
    rows rs;
    char err[512];
    const char *text = LEGAL "\r\n" HEADER "\r\n\r\n" ROW_ROMA "\r\n\r\n";

    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_int_eq(rs.n, 1);
    ck_assert_uint_eq(rs.line[0], 4);
}
END_TEST

START_TEST(bad_header)
{
    rows rs;
    char err[512];

    /* d_mnpio in lower case: the official spelling is D_mnpio. */
    const char *text = LEGAL "\r\n"
                             "d_codigo|d_asenta|d_tipo_asenta|d_mnpio|d_estado|d_ciudad|d_CP|"
                             "c_estado|c_oficina|c_CP|c_tipo_asenta|c_mnpio|id_asenta_cpcons|"
                             "d_zona|c_cve_ciudad\r\n" ROW_ROMA "\r\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_BAD_HEADER);
    ck_assert_int_eq(rs.n, 0);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    ck_assert_ptr_nonnull(strstr(err, "field 4"));
    ck_assert_ptr_nonnull(strstr(err, "D_mnpio"));

    /* 14 header fields. */
    text = LEGAL "\r\nd_codigo|d_asenta|d_tipo_asenta|D_mnpio|d_estado|d_ciudad|d_CP|c_estado|"
                 "c_oficina|c_CP|c_tipo_asenta|c_mnpio|id_asenta_cpcons|d_zona\r\n" ROW_ROMA "\r\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_BAD_HEADER);
    ck_assert_ptr_nonnull(strstr(err, "it has 14 fields"));

    /* Legal notice missing: line 2 is a data row. */
    text = HEADER "\r\n" ROW_ROMA "\r\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_BAD_HEADER);
    ck_assert_ptr_nonnull(strstr(err, "legal notice"));

    /* A CSV file. */
    text = "cp,colonia\n06700,Roma Norte\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_BAD_HEADER);
}
END_TEST

START_TEST(no_header)
{
    rows rs;
    char err[512];

    ck_assert_int_eq(parse("", &rs, err, sizeof err), AFL_SEPOMEX_NO_HEADER);
    ck_assert_int_eq(parse(LEGAL, &rs, err, sizeof err), AFL_SEPOMEX_NO_HEADER);
    ck_assert_int_eq(parse(LEGAL "\r\n", &rs, err, sizeof err), AFL_SEPOMEX_NO_HEADER);
    ck_assert_ptr_nonnull(strstr(err, "ends before the header"));
    /* Header without CRLF at the very end is fine, with zero rows. */
    ck_assert_int_eq(parse(LEGAL "\r\n" HEADER, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_int_eq(rs.n, 0);
}
END_TEST

START_TEST(short_and_long_rows)
{
    rows rs;
    char err[512];
    const char *text;

    /* Line 4 has 14 fields: the row before it was delivered, nothing after. */
    text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "\r\n"
                 "44100|Guadalajara Centro|Colonia|Guadalajara|Jalisco|Guadalajara|44101|14|44101||"
                 "09|039|0003|Urbano\r\n" ROW_GDL "\r\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_FIELD_COUNT);
    ck_assert_int_eq(rs.n, 1);
    ck_assert_str_eq(err, "line 4: expected 15 fields, found 14");

    /* 16 fields on line 3. */
    text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "|extra\r\n";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_FIELD_COUNT);
    ck_assert_str_eq(err, "line 3: expected 15 fields, found 16");

    /* A short last line without CRLF is still checked. */
    text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "\r\n06700|Roma";
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_FIELD_COUNT);
    ck_assert_ptr_nonnull(strstr(err, "line 4"));
}
END_TEST

START_TEST(control_chars_and_long_lines)
{
    rows rs;
    char err[512];
    char *big;
    size_t n;
    static const char with_nul[] = LEGAL "\r\n" HEADER "\r\n06700|Ro\0ma|||||||||||||\r\n";

    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(
        afl_sepomex_parse(with_nul, sizeof with_nul - 1, collect, &rs, NULL, err, sizeof err),
        AFL_SEPOMEX_CONTROL_CHAR);
    ck_assert_ptr_nonnull(strstr(err, "line 3"));

    /* A lone CR inside a row is a control character. */
    ck_assert_int_eq(
        parse(LEGAL "\r\n" HEADER "\r\n06700|Ro\rma|||||||||||||\r\n", &rs, err, sizeof err),
        AFL_SEPOMEX_CONTROL_CHAR);

    /* Windows-1252 bytes 0x80-0x9F: a curly quote decodes, 0x81 does not. */
    ck_assert_int_eq(
        parse(LEGAL "\r\n" HEADER "\r\n06700|\x93Roma\x94|||||||||||||\r\n", &rs, err, sizeof err),
        AFL_SEPOMEX_OK);
    ck_assert_str_eq(rs.asenta[0], "\xe2\x80\x9cRoma\xe2\x80\x9d");
    ck_assert_int_eq(
        parse(LEGAL "\r\n" HEADER "\r\n06700|\x81|||||||||||||\r\n", &rs, err, sizeof err),
        AFL_SEPOMEX_CONTROL_CHAR);

    /* A data line longer than the limit; the legal notice may be any length. */
    n = AFL_SEPOMEX_MAX_LINE + 200;
    big = malloc(n + 64);
    memset(big, 'x', n);
    big[n] = '\0';
    {
        size_t tl = strlen(HEADER) + n + 16;
        char *text = malloc(tl + n);
        snprintf(text, tl + n, "%s\r\n%s\r\n", big, HEADER);
        ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
        snprintf(text, tl + n, "L\r\n%s\r\n%s\r\n", HEADER, big);
        ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_LINE_TOO_LONG);
        ck_assert_ptr_nonnull(strstr(err, "line 3"));
        free(text);
    }
    free(big);
}
END_TEST

START_TEST(chunked_feed_matches_one_buffer)
{
    /* Every split point, including inside CRLF and inside a Latin-1 row. */
    const char *text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "\r\n" ROW_ENYE "\r\n" ROW_NINO "\r\n";
    size_t len = strlen(text);
    rows whole;
    char err[512];

    ck_assert_int_eq(parse(text, &whole, err, sizeof err), AFL_SEPOMEX_OK);
    for (size_t cut = 0; cut <= len; cut++) {
        rows rs;
        afl_sepomex_parser *p;

        memset(&rs, 0, sizeof rs);
        p = afl_sepomex_create(collect, &rs);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(afl_sepomex_feed(p, text, cut), AFL_SEPOMEX_OK);
        ck_assert_int_eq(afl_sepomex_feed(p, text + cut, len - cut), AFL_SEPOMEX_OK);
        ck_assert_int_eq(afl_sepomex_finish(p), AFL_SEPOMEX_OK);
        ck_assert_uint_eq(afl_sepomex_rows(p), 3);
        ck_assert_int_eq(memcmp(&rs, &whole, sizeof rs), 0);
        /* After finish no more input is taken. */
        ck_assert_int_eq(afl_sepomex_feed(p, "x", 1), AFL_SEPOMEX_STATE);
        afl_sepomex_destroy(p);
    }
    /* One byte at a time. */
    {
        rows rs;
        afl_sepomex_parser *p;

        memset(&rs, 0, sizeof rs);
        p = afl_sepomex_create(collect, &rs);
        for (size_t i = 0; i < len; i++)
            ck_assert_int_eq(afl_sepomex_feed(p, text + i, 1), AFL_SEPOMEX_OK);
        ck_assert_int_eq(afl_sepomex_finish(p), AFL_SEPOMEX_OK);
        ck_assert_int_eq(memcmp(&rs, &whole, sizeof rs), 0);
        afl_sepomex_destroy(p);
    }
}
END_TEST

START_TEST(callback_abort)
{
    const char *text = LEGAL "\r\n" HEADER "\r\n" ROW_ROMA "\r\n" ROW_GDL "\r\n" ROW_NINO "\r\n";
    rows rs;
    afl_sepomex_parser *p;

    memset(&rs, 0, sizeof rs);
    rs.stop_at = 2;
    p = afl_sepomex_create(collect, &rs);
    ck_assert_int_eq(afl_sepomex_feed(p, text, strlen(text)), AFL_SEPOMEX_ABORTED);
    ck_assert_int_eq(afl_sepomex_abort_code(p), 7);
    ck_assert_uint_eq(afl_sepomex_error_line(p), 4);
    ck_assert_int_eq(rs.n, 2);
    /* Sticky: later calls return the same status. */
    ck_assert_int_eq(afl_sepomex_feed(p, "x\r\n", 3), AFL_SEPOMEX_ABORTED);
    ck_assert_int_eq(afl_sepomex_finish(p), AFL_SEPOMEX_ABORTED);
    afl_sepomex_destroy(p);
}
END_TEST

/* The exported header is the one the parser accepts, and the one its
 * errors quote, so afiliatectl's messages name the real expected line. */
START_TEST(header_constant)
{
    rows rs;
    char err[512];
    char *text = NULL, *bad, *at;

    ck_assert_int_gt(asprintf(&text, "%s\r\n%s\r\n%s\r\n", LEGAL, afl_sepomex_header, ROW_ROMA), 0);
    ck_assert_int_eq(parse(text, &rs, err, sizeof err), AFL_SEPOMEX_OK);
    ck_assert_int_eq(rs.n, 1);
    ck_assert_str_eq(rs.cp[0], "06700");

    /* One letter changed in the exported header: refused, and quoted. */
    bad = strdup(text);
    at = strstr(bad, "d_asenta");
    ck_assert_ptr_nonnull(at);
    at[2] = 'X';
    err[0] = '\0';
    ck_assert_int_eq(parse(bad, &rs, err, sizeof err), AFL_SEPOMEX_BAD_HEADER);
    ck_assert_int_eq(rs.n, 0);
    ck_assert_ptr_nonnull(strstr(err, afl_sepomex_header));
    free(bad);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_sepomex");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_test(tc, latin1_to_utf8_crlf);
    tcase_add_test(tc, every_latin1_letter);
    tcase_add_test(tc, lf_only_and_no_final_newline);
    tcase_add_test(tc, empty_fields_and_trailing_blanks);
    tcase_add_test(tc, blank_lines_ignored);
    tcase_add_test(tc, bad_header);
    tcase_add_test(tc, no_header);
    tcase_add_test(tc, short_and_long_rows);
    tcase_add_test(tc, control_chars_and_long_lines);
    tcase_add_test(tc, chunked_feed_matches_one_buffer);
    tcase_add_test(tc, callback_abort);
    tcase_add_test(tc, header_constant);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
