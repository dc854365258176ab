/* Unit tests: afl_nss (docs/domain.md, NSS). */
#include "afl_nss.h"

#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

static afl_nss_reason v(const char *s)
{
    return afl_nss_validate(s, s ? strlen(s) : 0, NULL);
}

START_TEST(documented_vectors)
{
    char out[12];

    ck_assert_int_eq(afl_nss_validate("12345678903", 11, out), AFL_NSS_OK);
    ck_assert_str_eq(out, "12345678903");
    ck_assert_int_eq(v("92919084431"), AFL_NSS_OK);
    ck_assert_int_eq(v("72795608040"), AFL_NSS_OK);
    ck_assert_int_eq(afl_nss_check_digit("1234567890"), 3);
    ck_assert_int_eq(afl_nss_check_digit("9291908443"), 1);
    ck_assert_int_eq(afl_nss_check_digit("7279560804"), 0);
}
END_TEST

START_TEST(reason_codes)
{
    ck_assert_str_eq(afl_nss_reason_code(AFL_NSS_OK), "ok");
    ck_assert_str_eq(afl_nss_reason_code(AFL_NSS_BAD_LENGTH), "bad_length");
    ck_assert_str_eq(afl_nss_reason_code(AFL_NSS_BAD_CHARS), "bad_chars");
    ck_assert_str_eq(afl_nss_reason_code(AFL_NSS_BAD_CHECK_DIGIT), "bad_check_digit");
    ck_assert_str_eq(afl_nss_reason_code((afl_nss_reason)42), "unknown");
}
END_TEST

START_TEST(bad_length)
{
    char out[12] = "junk";

    ck_assert_int_eq(afl_nss_validate(NULL, 0, out), AFL_NSS_BAD_LENGTH);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(afl_nss_validate(NULL, 11, NULL), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(v(""), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(v(" \t\r\n"), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(v("1234567890"), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(v("123456789030"), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(v("9291-90-8443-1"), AFL_NSS_BAD_LENGTH); /* separators are not removed */
    /* Length is checked before characters. */
    ck_assert_int_eq(v("ABCDEFGHIJKL"), AFL_NSS_BAD_LENGTH);
    /* UTF-8 full-width digit makes it 13 bytes. */
    ck_assert_int_eq(v("\xEF\xBC\x91"
                       "2345678903"),
                     AFL_NSS_BAD_LENGTH);
    /* A trailing NUL is not whitespace. */
    ck_assert_int_eq(afl_nss_validate("12345678903\0", 12, NULL), AFL_NSS_BAD_LENGTH);
    ck_assert_int_eq(afl_nss_validate("12345678903", 10, NULL), AFL_NSS_BAD_LENGTH);
}
END_TEST

START_TEST(one_megabyte)
{
    size_t n = 1u << 20;
    char *big = malloc(n);

    ck_assert_ptr_nonnull(big);
    memset(big, '1', n);
    ck_assert_int_eq(afl_nss_validate(big, n, NULL), AFL_NSS_BAD_LENGTH);
    memset(big, '\n', n);
    memcpy(big + 1000, "92919084431", 11);
    ck_assert_int_eq(afl_nss_validate(big, n, NULL), AFL_NSS_OK);
    free(big);
}
END_TEST

START_TEST(bad_chars)
{
    char out[12] = "junk";

    ck_assert_int_eq(afl_nss_validate("1234567890a", 11, out), AFL_NSS_BAD_CHARS);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(v("A2345678903"), AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("12345 78903"), AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("+2345678903"), AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("-2345678903"), AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("1234.678903"), AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(afl_nss_validate("12345\0"
                                      "78903",
                                      11, NULL),
                     AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("\xC3\xB1"
                       "345678903"),
                     AFL_NSS_BAD_CHARS);
    ck_assert_int_eq(v("1234567890\xB3"), AFL_NSS_BAD_CHARS);
    /* bad chars wins over a bad check digit */
    ck_assert_int_eq(v("x2345678900"), AFL_NSS_BAD_CHARS);
}
END_TEST

START_TEST(bad_check_digit)
{
    char s[12] = "92919084431", out[12];

    for (char d = '0'; d <= '9'; d++) {
        s[10] = d;
        ck_assert_int_eq(afl_nss_validate(s, 11, out),
                         d == '1' ? AFL_NSS_OK : AFL_NSS_BAD_CHECK_DIGIT);
        ck_assert_str_eq(out, s); /* the 11 digits are returned either way */
    }
}
END_TEST

/* Luhn catches every single-digit error and every adjacent transposition
 * except 0<->9. */
START_TEST(luhn_properties)
{
    static const char *valid[] = {"12345678903", "92919084431", "72795608040"};

    for (size_t k = 0; k < 3; k++) {
        for (int pos = 0; pos < 11; pos++) {
            for (char d = '0'; d <= '9'; d++) {
                char s[12];
                memcpy(s, valid[k], 12);
                if (s[pos] == d)
                    continue;
                s[pos] = d;
                ck_assert_msg(v(s) == AFL_NSS_BAD_CHECK_DIGIT, "%s accepted", s);
            }
        }
        for (int pos = 0; pos < 10; pos++) {
            char s[12], t;
            memcpy(s, valid[k], 12);
            if (s[pos] == s[pos + 1] || (s[pos] == '0' && s[pos + 1] == '9') ||
                (s[pos] == '9' && s[pos + 1] == '0'))
                continue;
            t = s[pos];
            s[pos] = s[pos + 1];
            s[pos + 1] = t;
            ck_assert_msg(v(s) == AFL_NSS_BAD_CHECK_DIGIT, "%s accepted", s);
        }
    }
}
END_TEST

/* Reference: digits doubled at odd positions (0-based), reduced, sum. */
START_TEST(check_digit_reference)
{
    char s[11];
    unsigned seed = 7;

    for (int n = 0; n < 20000; n++) {
        int sum = 0;
        for (int i = 0; i < 10; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = (char)('0' + (seed >> 16) % 10);
            int x = (s[i] - '0') * (i & 1 ? 2 : 1);
            sum += x / 10 + x % 10;
        }
        s[10] = '\0';
        ck_assert_int_eq(afl_nss_check_digit(s), (sum * 9) % 10); /* mexa-py form */
    }
    ck_assert_int_eq(afl_nss_check_digit("123456789"), -1);
    ck_assert_int_eq(afl_nss_check_digit("123456789a"), -1);
    ck_assert_int_eq(afl_nss_check_digit(" 234567890"), -1);
    ck_assert_int_eq(afl_nss_check_digit(""), -1);
    ck_assert_int_eq(afl_nss_check_digit(NULL), -1);
    /* Extra characters after the 10th are ignored. */
    ck_assert_int_eq(afl_nss_check_digit("1234567890zz"), 3);
}
END_TEST

START_TEST(trim)
{
    char out[12];

    ck_assert_int_eq(afl_nss_validate(" \t92919084431\r\n", 15, out), AFL_NSS_OK);
    ck_assert_str_eq(out, "92919084431");
    ck_assert_int_eq(v("\v\f12345678903 "), AFL_NSS_OK);
    /* NBSP is not ASCII whitespace */
    ck_assert_int_eq(v("\xC2\xA0"
                       "12345678903"),
                     AFL_NSS_BAD_LENGTH);
}
END_TEST

START_TEST(compose)
{
    char out[12];

    ck_assert_int_eq(afl_nss_compose(92, 91, 90, 8443, out), 0);
    ck_assert_str_eq(out, "92919084431");
    ck_assert_int_eq(afl_nss_compose(72, 79, 56, 804, out), 0);
    ck_assert_str_eq(out, "72795608040");
    ck_assert_int_eq(afl_nss_compose(12, 34, 56, 7890, out), 0);
    ck_assert_str_eq(out, "12345678903");
    /* zero padding */
    ck_assert_int_eq(afl_nss_compose(1, 2, 3, 4, out), 0);
    ck_assert_int_eq(strncmp(out, "0102030004", 10), 0);
    ck_assert_int_eq(v(out), AFL_NSS_OK);
    ck_assert_int_eq(afl_nss_compose(0, 0, 0, 0, out), 0);
    ck_assert_str_eq(out, "00000000000");
    ck_assert_int_eq(afl_nss_compose(99, 99, 99, 9999, out), 0);
    ck_assert_int_eq(v(out), AFL_NSS_OK);
    /* ranges */
    ck_assert_int_eq(afl_nss_compose(100, 1, 1, 1, out), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(afl_nss_compose(-1, 1, 1, 1, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, 100, 1, 1, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, -1, 1, 1, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, 1, 100, 1, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, 1, -5, 1, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, 1, 1, 10000, out), -1);
    ck_assert_int_eq(afl_nss_compose(1, 1, 1, -1, out), -1);
}
END_TEST

START_TEST(parse)
{
    afl_nss_parts p;
    char out[12];

    ck_assert_int_eq(afl_nss_parse("92919084431", &p), 0);
    ck_assert_int_eq(p.serie, 92);
    ck_assert_int_eq(p.reg_year, 91);
    ck_assert_int_eq(p.birth_year, 90);
    ck_assert_int_eq(p.folio, 8443);
    ck_assert_int_eq(p.check, 1);
    ck_assert_int_eq(afl_nss_parse(" 72795608040\n", &p), 0);
    ck_assert_int_eq(p.folio, 804);
    ck_assert_int_eq(p.check, 0);
    ck_assert_int_eq(afl_nss_parse("92919084432", &p), -1);
    ck_assert_int_eq(p.serie, 0);
    ck_assert_int_eq(p.folio, 0);
    ck_assert_int_eq(afl_nss_parse("9291908443", &p), -1);
    ck_assert_int_eq(afl_nss_parse("", &p), -1);
    ck_assert_int_eq(afl_nss_parse(NULL, &p), -1);
    ck_assert_int_eq(afl_nss_parse("92919084431", NULL), 0);
    /* compose and parse round-trip over a grid */
    for (int s = 0; s < 100; s += 7)
        for (int y = 0; y < 100; y += 13)
            for (int f = 0; f < 10000; f += 997) {
                ck_assert_int_eq(afl_nss_compose(s, y, 99 - y, f, out), 0);
                ck_assert_int_eq(afl_nss_parse(out, &p), 0);
                ck_assert_int_eq(p.serie, s);
                ck_assert_int_eq(p.reg_year, y);
                ck_assert_int_eq(p.birth_year, 99 - y);
                ck_assert_int_eq(p.folio, f);
                ck_assert_int_eq(p.check, out[10] - '0');
            }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_nss");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_test(tc, documented_vectors);
    tcase_add_test(tc, reason_codes);
    tcase_add_test(tc, bad_length);
    tcase_add_test(tc, one_megabyte);
    tcase_add_test(tc, bad_chars);
    tcase_add_test(tc, bad_check_digit);
    tcase_add_test(tc, luhn_properties);
    tcase_add_test(tc, check_digit_reference);
    tcase_add_test(tc, trim);
    tcase_add_test(tc, compose);
    tcase_add_test(tc, parse);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
