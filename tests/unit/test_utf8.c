/* Unit tests: afl_utf8, the one strict UTF-8 decoder. */
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

#include "afl_utf8.h"

static size_t dec(const char *s, uint32_t *cp)
{
    return afl_utf8_decode((const unsigned char *)s, strlen(s), cp);
}

START_TEST(decodes_each_length)
{
    uint32_t cp = 0;

    ck_assert_uint_eq(dec("A", &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_uint_eq(dec("\xC3\xB1", &cp), 2); /* ñ */
    ck_assert_uint_eq(cp, 0xF1);
    ck_assert_uint_eq(dec("\xE2\x82\xAC", &cp), 3); /* € */
    ck_assert_uint_eq(cp, 0x20AC);
    ck_assert_uint_eq(dec("\xF0\x9F\x98\x80", &cp), 4); /* U+1F600 */
    ck_assert_uint_eq(cp, 0x1F600);
    ck_assert_uint_eq(dec("\xF4\x8F\xBF\xBF", NULL), 4); /* U+10FFFF, cp not wanted */
    ck_assert_uint_eq(afl_utf8_decode((const unsigned char *)"", 1, &cp), 1); /* NUL */
    ck_assert_uint_eq(cp, 0);
}
END_TEST

START_TEST(refuses_what_rfc3629_refuses)
{
    static const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong, 3 bytes */
        "\xE0\x9F\xBF",     /* overlong U+07FF */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xED\xBF\xBF",     /* surrogate U+DFFF */
        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80", /* F5 lead */
        "\xFF",             /* never in UTF-8 */
        "\xC3",             /* truncated */
        "\xE2\x82",         /* truncated */
        "\xC3(",            /* not a continuation */
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(dec(bad[i], NULL) == 0, "accepted bad[%zu]", i);
    /* n ends the sequence even if more bytes follow in memory. */
    ck_assert_uint_eq(afl_utf8_decode((const unsigned char *)"\xE2\x82\xAC", 2, NULL), 0);
    ck_assert_uint_eq(dec("\xED\x9F\xBF", NULL), 3); /* U+D7FF, last before surrogates */
    ck_assert_uint_eq(dec("\xEE\x80\x80", NULL), 3); /* U+E000, first after them */
}
END_TEST

START_TEST(controls_and_printable)
{
    ck_assert(afl_utf8_is_control(0));
    ck_assert(afl_utf8_is_control(0x1F));
    ck_assert(afl_utf8_is_control(0x7F));
    ck_assert(afl_utf8_is_control(0x80));
    ck_assert(afl_utf8_is_control(0x9F));
    ck_assert(!afl_utf8_is_control(' '));
    ck_assert(!afl_utf8_is_control(0xA0));

    ck_assert(afl_utf8_printable("Escuela Secundaria Técnica Núm. 1", 0));
    ck_assert(afl_utf8_printable("", 0));
    ck_assert(!afl_utf8_printable("a\tb", 0));
    ck_assert(afl_utf8_printable("a\tb", 1));
    ck_assert(!afl_utf8_printable("a\nb", 1));
    ck_assert(!afl_utf8_printable("a\x7f", 1));
    ck_assert(!afl_utf8_printable("a\xC2\x85", 1)); /* NEL, a C1 control */
    ck_assert(afl_utf8_printable("a\xC2\xA0", 0));  /* NBSP is not a control */
    ck_assert(!afl_utf8_printable("caf\xE9", 0));   /* Latin-1, not UTF-8 */
}
END_TEST

START_TEST(trims_ascii_space_only)
{
    const char *s = " \t\r\n\v\fMAPA800101\xC2\xA0 \n", *t;
    size_t n = strlen(s);

    afl_utf8_trim(&s, &n);
    ck_assert_uint_eq(n, 12); /* the NBSP is not ASCII white space: it stays */
    ck_assert_int_eq(memcmp(s, "MAPA800101\xC2\xA0", n), 0);
    t = "   ";
    n = 3;
    afl_utf8_trim(&t, &n);
    ck_assert_uint_eq(n, 0);
    t = "abc";
    n = 2; /* only the first n bytes count */
    afl_utf8_trim(&t, &n);
    ck_assert_uint_eq(n, 2);
    t = NULL;
    n = 5;
    afl_utf8_trim(&t, &n);
    ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_test(tc, decodes_each_length);
    tcase_add_test(tc, refuses_what_rfc3629_refuses);
    tcase_add_test(tc, controls_and_printable);
    tcase_add_test(tc, trims_ascii_space_only);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
