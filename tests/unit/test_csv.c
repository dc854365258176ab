/* Unit tests: afl_csv, the RFC 4180 reader of the importers and the schools'
 * report. */
#include "afl_csv.h"

#include <apr_general.h>
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

static apr_pool_t *pool;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

static const char *fld(apr_array_header_t *f, int i)
{
    return APR_ARRAY_IDX(f, i, char *);
}

/* Reads text with the given limits; returns the result of the first call. */
static int first(afl_csv *c, const char *text, apr_array_header_t **f)
{
    *f = apr_array_make(pool, 4, sizeof(char *));
    afl_csv_init(c, text, strlen(text));
    return afl_csv_next(c, pool, *f);
}

START_TEST(plain_records)
{
    afl_csv c;
    apr_array_header_t *f;

    ck_assert_int_eq(first(&c, "a,b,c\r\n1,,3\n", &f), 1);
    ck_assert_int_eq(f->nelts, 3);
    ck_assert_str_eq(fld(f, 0), "a");
    ck_assert_str_eq(fld(f, 2), "c");
    ck_assert_uint_eq(c.rec_line, 1);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 1);
    ck_assert_int_eq(f->nelts, 3);
    ck_assert_str_eq(fld(f, 1), "");
    ck_assert_uint_eq(c.rec_line, 2);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 0);
}
END_TEST

START_TEST(bom_blank_lines_and_no_final_newline)
{
    afl_csv c;
    apr_array_header_t *f;

    ck_assert_int_eq(first(&c, "\xEF\xBB\xBFx,y\n\n\r\nz,w", &f), 1);
    ck_assert_str_eq(fld(f, 0), "x");
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 1);
    ck_assert_uint_eq(c.rec_line, 4);
    ck_assert_str_eq(fld(f, 0), "z");
    ck_assert_str_eq(fld(f, 1), "w");
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 0);
}
END_TEST

START_TEST(trailing_separator_is_an_empty_field)
{
    afl_csv c;
    apr_array_header_t *f;

    ck_assert_int_eq(first(&c, "a,", &f), 1);
    ck_assert_int_eq(f->nelts, 2);
    ck_assert_str_eq(fld(f, 1), "");
}
END_TEST

START_TEST(quoted_fields)
{
    afl_csv c;
    apr_array_header_t *f;

    ck_assert_int_eq(first(&c, "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext\n", &f), 1);
    ck_assert_int_eq(f->nelts, 3);
    ck_assert_str_eq(fld(f, 0), "a,b");
    ck_assert_str_eq(fld(f, 1), "say \"hi\"");
    ck_assert_str_eq(fld(f, 2), "two\nlines");
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 1);
    ck_assert_uint_eq(c.rec_line, 3); /* the quoted newline counts as a line */
    ck_assert_str_eq(fld(f, 0), "next");
}
END_TEST

START_TEST(errors_name_kind_column_and_line)
{
    afl_csv c;
    apr_array_header_t *f;

    ck_assert_int_eq(first(&c, "ok\n\"open,\nstill", &f), 1);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_UNCLOSED_QUOTE);
    ck_assert_int_eq(c.error_column, 1);
    ck_assert_uint_eq(c.rec_line, 2);

    ck_assert_int_eq(first(&c, "a,\"x\ny\"z\n", &f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_AFTER_QUOTE);
    ck_assert_int_eq(c.error_column, 2);
    ck_assert_uint_eq(c.rec_line, 1);
    ck_assert_uint_eq(c.error_line, 2);

    ck_assert_int_eq(first(&c, "a,b\"c\n", &f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_QUOTE_INSIDE);
    ck_assert_int_eq(c.error_column, 2);
}
END_TEST

START_TEST(nul_byte)
{
    static const char text[] = "a,b\0c\n";
    afl_csv c;
    apr_array_header_t *f = apr_array_make(pool, 4, sizeof(char *));

    afl_csv_init(&c, text, sizeof text - 1);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_NUL);
    ck_assert_int_eq(c.error_column, 2);
}
END_TEST

START_TEST(limits)
{
    afl_csv c;
    apr_array_header_t *f = apr_array_make(pool, 4, sizeof(char *));

    afl_csv_init(&c, "a,b,c\n", 6);
    c.max_fields = 2;
    ck_assert_int_eq(afl_csv_next(&c, pool, f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_TOO_MANY);
    ck_assert_int_eq(c.error_column, 3);

    afl_csv_init(&c, "a,b,", 4);
    c.max_fields = 2;
    ck_assert_int_eq(afl_csv_next(&c, pool, f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_TOO_MANY);

    afl_csv_init(&c, "a,b\n", 4);
    c.max_fields = 2;
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 1);
    ck_assert_int_eq(f->nelts, 2);

    afl_csv_init(&c, "12345,67\n", 9);
    c.max_record = 6;
    ck_assert_int_eq(afl_csv_next(&c, pool, f), -1);
    ck_assert_int_eq(c.error, AFL_CSV_TOO_LONG);
    ck_assert_int_eq(c.error_column, 2);

    afl_csv_init(&c, "12345,6\n", 8);
    c.max_record = 7;
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 1);
}
END_TEST

START_TEST(empty_and_null_text)
{
    afl_csv c;
    apr_array_header_t *f = apr_array_make(pool, 4, sizeof(char *));

    afl_csv_init(&c, NULL, 0);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 0);
    afl_csv_init(&c, "\n\r\n", 3);
    ck_assert_int_eq(afl_csv_next(&c, pool, f), 0);
    ck_assert_int_eq(f->nelts, 0);
}
END_TEST

START_TEST(trim)
{
    char a[] = " \tx y\t \r", b[] = "   ", c[] = "z";

    ck_assert_str_eq(afl_csv_trim(a), "x y");
    ck_assert_str_eq(afl_csv_trim(b), "");
    ck_assert_str_eq(afl_csv_trim(c), "z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_csv");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_records);
    tcase_add_test(tc, bom_blank_lines_and_no_final_newline);
    tcase_add_test(tc, trailing_separator_is_an_empty_field);
    tcase_add_test(tc, quoted_fields);
    tcase_add_test(tc, errors_name_kind_column_and_line);
    tcase_add_test(tc, nul_byte);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, empty_and_null_text);
    tcase_add_test(tc, trim);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
