/* Unit tests: afl_curp (docs/domain.md, CURP). */
#include "afl_curp.h"

#include <check.h>
#include "check_run.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Published vectors (docs/domain.md, CURP check digit). */
#define SABC "SABC560626MDFLRN01"
#define BOXW "BOXW310820HNERXN09"

static afl_curp_reason v(const char *s)
{
    return afl_curp_validate(s, s ? strlen(s) : 0, NULL);
}

/* Completes 17 characters with the check digit computed by the unit. */
static const char *with_dv(const char *first17, char out[19])
{
    int dv = afl_curp_check_digit(first17);

    ck_assert_int_ge(dv, 0);
    memcpy(out, first17, 17);
    out[17] = (char)('0' + dv);
    out[18] = '\0';
    return out;
}

/* Same, with the check digit made wrong on purpose. */
static const char *with_bad_dv(const char *first17, char out[19])
{
    with_dv(first17, out);
    out[17] = (char)('0' + (out[17] - '0' + 1) % 10);
    return out;
}

/* Independent check digit: alphabet with '&' in the Ñ slot (python-stdnum),
 * and the "all 18 with weights 18..1 == 0 mod 10" form (docs/domain.md, CURP
 * check digit). */
static int ref_sum18_ok(const char *s)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    int sum = 0;

    for (int i = 0; i < 18; i++)
        sum += (int)(strchr(alphabet, s[i]) - alphabet) * (18 - i);
    return sum % 10 == 0;
}

START_TEST(documented_vectors)
{
    afl_curp_info info;

    ck_assert_int_eq(afl_curp_init(), 0);
    ck_assert_int_eq(afl_curp_validate(SABC, 18, &info), AFL_CURP_OK);
    ck_assert_str_eq(info.curp, SABC);
    ck_assert_int_eq(info.birth_year, 1956);
    ck_assert_int_eq(info.birth_month, 6);
    ck_assert_int_eq(info.birth_day, 26);
    ck_assert_int_eq(info.sex, 'M');
    ck_assert_str_eq(info.state, "DF");

    ck_assert_int_eq(afl_curp_validate(BOXW, 18, &info), AFL_CURP_OK);
    ck_assert_str_eq(info.curp, BOXW);
    ck_assert_int_eq(info.birth_year, 1931);
    ck_assert_int_eq(info.birth_month, 8);
    ck_assert_int_eq(info.birth_day, 20);
    ck_assert_int_eq(info.sex, 'H');
    ck_assert_str_eq(info.state, "NE");
}
END_TEST

START_TEST(check_digit_values)
{
    char buf[19];

    /* Sums 1979 and 2551 (docs/domain.md, CURP check digit). */
    ck_assert_int_eq(afl_curp_check_digit("SABC560626MDFLRN0"), 1);
    ck_assert_int_eq(afl_curp_check_digit("BOXW310820HNERXN0"), 9);
    /* O..Z sit one above a gapless alphabet: 'O' must weigh 25, not 24. */
    ck_assert_int_eq(afl_curp_check_digit("OOOO000000000000O"),
                     (10 - (25 * 18 + 25 * 17 + 25 * 16 + 25 * 15 + 25 * 2) % 10) % 10);
    ck_assert_int_eq(afl_curp_check_digit("NNNN000000000000N"),
                     (10 - (23 * (18 + 17 + 16 + 15 + 2)) % 10) % 10);
    ck_assert(ref_sum18_ok(with_dv("ZZZZ991231XZZZZZZ", buf)));
    /* Outside the 37-symbol table. */
    ck_assert_int_eq(afl_curp_check_digit("sabc560626MDFLRN0"), -1);
    ck_assert_int_eq(afl_curp_check_digit("SABC-60626MDFLRN0"), -1);
    ck_assert_int_eq(afl_curp_check_digit("SABC560626MDFLRN"), -1);
    ck_assert_int_eq(afl_curp_check_digit("SABC560626MDF\xC3\x91RN0"), -1);
    ck_assert_int_eq(afl_curp_check_digit(""), -1);
    ck_assert_int_eq(afl_curp_check_digit(NULL), -1);
}
END_TEST

/* The check digit against the independent form on many strings. */
START_TEST(check_digit_matches_reference)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char s[19];
    unsigned seed = 12345;

    for (int n = 0; n < 20000; n++) {
        for (int i = 0; i < 17; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = alphabet[(seed >> 16) % 36];
        }
        with_dv(s, s);
        ck_assert_msg(ref_sum18_ok(s), "check digit wrong for %s", s);
    }
}
END_TEST

START_TEST(reason_codes)
{
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_OK), "ok");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_LENGTH), "bad_length");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_FORMAT), "bad_format");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_SEX), "bad_sex");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_STATE), "bad_state");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_DATE), "bad_date");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_INCONVENIENT_WORD), "inconvenient_word");
    ck_assert_str_eq(afl_curp_reason_code(AFL_CURP_BAD_CHECK_DIGIT), "bad_check_digit");
    ck_assert_str_eq(afl_curp_reason_code((afl_curp_reason)99), "unknown");
}
END_TEST

START_TEST(bad_length)
{
    afl_curp_info info;

    memset(&info, 'x', sizeof info);
    ck_assert_int_eq(afl_curp_validate(NULL, 0, &info), AFL_CURP_BAD_LENGTH);
    ck_assert_str_eq(info.curp, "");
    ck_assert_int_eq(info.sex, 0);
    ck_assert_int_eq(afl_curp_validate(NULL, 18, NULL), AFL_CURP_BAD_LENGTH);
    ck_assert_int_eq(v(""), AFL_CURP_BAD_LENGTH);
    ck_assert_int_eq(v("   \t\r\n"), AFL_CURP_BAD_LENGTH);
    ck_assert_int_eq(v("SABC560626MDFLRN0"), AFL_CURP_BAD_LENGTH);
    ck_assert_int_eq(v("SABC560626MDFLRN011"), AFL_CURP_BAD_LENGTH);
    /* len is authoritative: a shorter len cuts the string. */
    ck_assert_int_eq(afl_curp_validate(SABC, 17, NULL), AFL_CURP_BAD_LENGTH);
    /* A NUL is not whitespace. */
    ck_assert_int_eq(afl_curp_validate(SABC "\0", 19, NULL), AFL_CURP_BAD_LENGTH);
    /* UTF-8 Ñ is two bytes: 19 bytes. */
    ck_assert_int_eq(v("\xC3\x91"
                       "ABC560626MDFLRN01"),
                     AFL_CURP_BAD_LENGTH);
    /* Non-ASCII blanks are not trimmed (NBSP). */
    ck_assert_int_eq(v("\xC2\xA0" SABC), AFL_CURP_BAD_LENGTH);
    /* Bad length wins over everything else. */
    ck_assert_int_eq(v("1234567890123456789"), AFL_CURP_BAD_LENGTH);
}
END_TEST

START_TEST(one_megabyte)
{
    size_t n = 1u << 20;
    char *big = malloc(n);

    ck_assert_ptr_nonnull(big);
    memset(big, 'A', n);
    ck_assert_int_eq(afl_curp_validate(big, n, NULL), AFL_CURP_BAD_LENGTH);
    /* 1 MB of blanks around a valid CURP: trimming keeps it valid. */
    memset(big, ' ', n);
    memcpy(big + n / 2, SABC, 18);
    ck_assert_int_eq(afl_curp_validate(big, n, NULL), AFL_CURP_OK);
    /* Embedded NULs all over. */
    memset(big, 0, n);
    ck_assert_int_eq(afl_curp_validate(big, n, NULL), AFL_CURP_BAD_LENGTH);
    free(big);
}
END_TEST

START_TEST(bad_format)
{
    char buf[19];
    afl_curp_info info;

    ck_assert_int_eq(v("1ABC560626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 1 digit */
    ck_assert_int_eq(v("SBBC560626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 2 not vowel/X */
    ck_assert_int_eq(v("SA1C560626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 3 */
    ck_assert_int_eq(v("SAB1560626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 4 */
    ck_assert_int_eq(v("SABCA60626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 5 letter */
    ck_assert_int_eq(v("SABC56062AMDFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 10 letter */
    ck_assert_int_eq(v("SABC5606261DFLRN01"), AFL_CURP_BAD_FORMAT); /* pos 11 digit */
    ck_assert_int_eq(v("SABC560626M1FLRN01"), AFL_CURP_BAD_FORMAT); /* pos 12 digit */
    ck_assert_int_eq(v("SABC560626MDFARN01"), AFL_CURP_BAD_FORMAT); /* pos 14 vowel */
    ck_assert_int_eq(v("SABC560626MDFLEN01"), AFL_CURP_BAD_FORMAT); /* pos 15 vowel */
    ck_assert_int_eq(v("SABC560626MDFLRU01"), AFL_CURP_BAD_FORMAT); /* pos 16 vowel */
    ck_assert_int_eq(v("SABC560626MDFLRN-1"), AFL_CURP_BAD_FORMAT); /* pos 17 */
    ck_assert_int_eq(v("SABC560626MDFLRN0A"), AFL_CURP_BAD_FORMAT); /* pos 18 letter */
    ck_assert_int_eq(v("SABC 60626MDFLRN01"), AFL_CURP_BAD_FORMAT); /* blank inside */
    ck_assert_int_eq(v("SABC-560626MDFLRN0"), AFL_CURP_BAD_FORMAT);
    /* Ñ replacing two ASCII letters keeps 18 bytes: not a CURP letter. */
    ck_assert_int_eq(v("S\xC3\x91"
                       "C560626MDFLRN01"),
                     AFL_CURP_BAD_FORMAT);
    /* Cyrillic А (U+0410) and Latin-1 Ñ (0xD1). */
    ck_assert_int_eq(v("SABC560626M\xD0\x90"
                       "LRN01"),
                     AFL_CURP_BAD_FORMAT);
    ck_assert_int_eq(v("\xD1"
                       "ABC560626MDFLRN01"),
                     AFL_CURP_BAD_FORMAT);
    /* Full-width digits: 3 bytes each, so use one in place of 3 digits. */
    ck_assert_int_eq(v("SABC\xEF\xBC\x95"
                       "626MDFLRN01"),
                     AFL_CURP_BAD_FORMAT);
    /* Embedded NUL, len authoritative. */
    ck_assert_int_eq(afl_curp_validate("SABC5606\0"
                                       "6MDFLRN01",
                                       18, &info),
                     AFL_CURP_BAD_FORMAT);
    ck_assert_int_eq(memcmp(info.curp,
                            "SABC5606\0"
                            "6MDFLRN01",
                            19),
                     0);
    /* A trailing newline inside the 18 bytes is not a '$' escape hatch. */
    ck_assert_int_eq(afl_curp_validate("SABC560626MDFLRN0\n", 18, NULL), AFL_CURP_BAD_LENGTH);
    ck_assert_int_eq(afl_curp_validate("SABC560626MDFLRN\n1", 18, NULL), AFL_CURP_BAD_FORMAT);
    /* Format is checked before sex/state/date/check digit. */
    ck_assert_int_eq(v(with_bad_dv("SABC561399ZZZARN0", buf)), AFL_CURP_BAD_FORMAT);
    /* X at position 2 is allowed. */
    ck_assert_int_eq(v(with_dv("SXBC560626MDFLRN0", buf)), AFL_CURP_OK);
}
END_TEST

START_TEST(bad_sex)
{
    char buf[19];
    afl_curp_info info;

    ck_assert_int_eq(v(with_dv("SABC560626ZDFLRN0", buf)), AFL_CURP_BAD_SEX);
    ck_assert_int_eq(v(with_dv("SABC560626FDFLRN0", buf)), AFL_CURP_BAD_SEX);
    /* Before state, date and check digit. */
    ck_assert_int_eq(afl_curp_validate(with_bad_dv("SABC561332FZZLRN0", buf), 18, &info),
                     AFL_CURP_BAD_SEX);
    ck_assert_str_eq(info.curp, buf);
    ck_assert_int_eq(info.sex, 0);
    ck_assert_str_eq(info.state, "");
    /* H, M and X all pass. */
    ck_assert_int_eq(v(with_dv("SABC560626HDFLRN0", buf)), AFL_CURP_OK);
    ck_assert_int_eq(v(with_dv("SABC560626MDFLRN0", buf)), AFL_CURP_OK);
    ck_assert_int_eq(afl_curp_validate(with_dv("SABC560626XDFLRN0", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.sex, 'X');
}
END_TEST

START_TEST(bad_state)
{
    char buf[19];
    afl_curp_info info;

    ck_assert_int_eq(v(with_dv("SABC560626MZZLRN0", buf)), AFL_CURP_BAD_STATE);
    ck_assert_int_eq(v(with_dv("SABC560626MDXLRN0", buf)), AFL_CURP_BAD_STATE);
    ck_assert_int_eq(v(with_dv("SABC560626MENLRN0", buf)), AFL_CURP_BAD_STATE); /* NE reversed */
    ck_assert_int_eq(v(with_dv("SABC560626MCDLRN0", buf)), AFL_CURP_BAD_STATE); /* "CDMX" */
    /* Before date and check digit. */
    ck_assert_int_eq(afl_curp_validate(with_bad_dv("SABC561332MZZLRN0", buf), 18, &info),
                     AFL_CURP_BAD_STATE);
    ck_assert_int_eq(info.sex, 'M');
    ck_assert_str_eq(info.state, "");
    ck_assert_int_eq(info.birth_year, 0);
}
END_TEST

START_TEST(all_states_accepted)
{
    static const char *codes[] = {"AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT",
                                  "GR", "HG", "JC", "MC", "MN", "MS", "NT", "NL", "OC", "PL", "QT",
                                  "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS", "NE"};
    char first[18], buf[19];
    afl_curp_info info;
    int names = 0;

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        snprintf(first, sizeof first, "SABC560626M%sLRN0", codes[i]);
        ck_assert_int_eq(afl_curp_validate(with_dv(first, buf), 18, &info), AFL_CURP_OK);
        ck_assert_str_eq(info.state, codes[i]);
        ck_assert_ptr_nonnull(afl_curp_state_name(codes[i]));
    }
    /* Exactly 33 codes exist among the 676 two-letter pairs. */
    for (char a = 'A'; a <= 'Z'; a++) {
        for (char b = 'A'; b <= 'Z'; b++) {
            char code[3] = {a, b, 0};
            names += afl_curp_state_name(code) != NULL;
            snprintf(first, sizeof first, "SABC560626M%sLRN0", code);
            ck_assert_int_eq(v(with_dv(first, buf)),
                             afl_curp_state_name(code) ? AFL_CURP_OK : AFL_CURP_BAD_STATE);
        }
    }
    ck_assert_int_eq(names, 33);
}
END_TEST

START_TEST(state_names)
{
    ck_assert_str_eq(afl_curp_state_name("DF"), "Ciudad de M\xC3\xA9xico");
    ck_assert_str_eq(afl_curp_state_name("NE"), "Nacido en el extranjero");
    ck_assert_str_eq(afl_curp_state_name("MC"), "Estado de M\xC3\xA9xico");
    ck_assert_str_eq(afl_curp_state_name("NL"), "Nuevo Le\xC3\xB3n");
    ck_assert_str_eq(afl_curp_state_name("SP"), "San Luis Potos\xC3\xAD");
    ck_assert_str_eq(afl_curp_state_name("YN"), "Yucat\xC3\xA1n");
    ck_assert_str_eq(afl_curp_state_name("AS"), "Aguascalientes");
    ck_assert_str_eq(afl_curp_state_name("ZS"), "Zacatecas");
    ck_assert_ptr_null(afl_curp_state_name("XX"));
    ck_assert_ptr_null(afl_curp_state_name("df"));
    ck_assert_ptr_null(afl_curp_state_name("DFX"));
    ck_assert_ptr_null(afl_curp_state_name("D"));
    ck_assert_ptr_null(afl_curp_state_name(""));
    ck_assert_ptr_null(afl_curp_state_name(NULL));
    ck_assert_ptr_null(afl_curp_state_name("\xC3\x91"));
}
END_TEST

START_TEST(bad_date)
{
    char buf[19];
    afl_curp_info info;

    ck_assert_int_eq(v(with_dv("SABC561326MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* month 13 */
    ck_assert_int_eq(v(with_dv("SABC560026MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* month 00 */
    ck_assert_int_eq(v(with_dv("SABC560600MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* day 00 */
    ck_assert_int_eq(v(with_dv("SABC560631MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* June 31 */
    ck_assert_int_eq(v(with_dv("SABC560132MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* day 32 */
    ck_assert_int_eq(v(with_dv("SABC560230MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* Feb 30 */
    ck_assert_int_eq(v(with_dv("SABC560431MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* Apr 31 */
    ck_assert_int_eq(v(with_dv("SABC561131MDFLRN0", buf)), AFL_CURP_BAD_DATE); /* Nov 31 */
    ck_assert_int_eq(v(with_dv("SABC561231MDFLRN0", buf)), AFL_CURP_OK);
    ck_assert_int_eq(v(with_dv("SABC560131MDFLRN0", buf)), AFL_CURP_OK);
    /* Before inconvenient word and check digit. */
    ck_assert_int_eq(afl_curp_validate(with_bad_dv("BUEY561326MDFLRN0", buf), 18, &info),
                     AFL_CURP_BAD_DATE);
    ck_assert_int_eq(info.sex, 'M');
    ck_assert_str_eq(info.state, "DF");
    ck_assert_int_eq(info.birth_year, 0);
    /* No "future" rule: 2099 is accepted. */
    ck_assert_int_eq(afl_curp_validate(with_dv("SABC991231MDFLRNZ", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.birth_year, 2099);
}
END_TEST

START_TEST(leap_days)
{
    char buf[19];
    afl_curp_info info;

    /* 000229 with a letter at 17: 2000-02-29, 2000 is a leap year. */
    ck_assert_int_eq(afl_curp_validate(with_dv("SABC000229MDFLRNA", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.birth_year, 2000);
    ck_assert_int_eq(info.birth_month, 2);
    ck_assert_int_eq(info.birth_day, 29);
    /* 000229 with a digit at 17: 1900-02-29, 1900 is not. */
    ck_assert_int_eq(v(with_dv("SABC000229MDFLRN0", buf)), AFL_CURP_BAD_DATE);
    ck_assert_int_eq(afl_curp_validate(with_dv("SABC040229HDFLRN7", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.birth_year, 1904);
    ck_assert_int_eq(v(with_dv("SABC040229HDFLRNB", buf)), AFL_CURP_OK);       /* 2004 */
    ck_assert_int_eq(v(with_dv("SABC960229HDFLRN0", buf)), AFL_CURP_OK);       /* 1996 */
    ck_assert_int_eq(v(with_dv("SABC010229HDFLRNA", buf)), AFL_CURP_BAD_DATE); /* 2001 */
    ck_assert_int_eq(v(with_dv("SABC970229HDFLRN0", buf)), AFL_CURP_BAD_DATE); /* 1997 */
    ck_assert_int_eq(v(with_dv("SABC000228MDFLRN0", buf)), AFL_CURP_OK);       /* 1900-02-28 */
}
END_TEST

START_TEST(century_from_position_17)
{
    char buf[19];
    afl_curp_info info;

    ck_assert_int_eq(afl_curp_validate(with_dv("SABC150101HDFLRN9", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.birth_year, 1915);
    ck_assert_int_eq(afl_curp_validate(with_dv("SABC150101HDFLRNZ", buf), 18, &info), AFL_CURP_OK);
    ck_assert_int_eq(info.birth_year, 2015);
}
END_TEST

START_TEST(inconvenient_word)
{
    char buf[19];
    afl_curp_info info;

    /* Right check digit: still refused, and before the check digit. */
    ck_assert_int_eq(afl_curp_validate(with_dv("BUEY560626MDFLRN0", buf), 18, &info),
                     AFL_CURP_INCONVENIENT_WORD);
    ck_assert_int_eq(info.birth_year, 1956);
    ck_assert_int_eq(v(with_bad_dv("BUEY560626MDFLRN0", buf)), AFL_CURP_INCONVENIENT_WORD);
    ck_assert_int_eq(v(with_dv("PUTA560626MDFLRN0", buf)), AFL_CURP_INCONVENIENT_WORD);
    ck_assert_int_eq(v(with_dv("WUEY560626MDFLRN0", buf)), AFL_CURP_INCONVENIENT_WORD);
    ck_assert_int_eq(v(with_dv("BACA560626MDFLRN0", buf)), AFL_CURP_INCONVENIENT_WORD);
    /* Lower case is normalised first. */
    with_dv("BUEY560626MDFLRN0", buf);
    buf[1] = 'u';
    ck_assert_int_eq(v(buf), AFL_CURP_INCONVENIENT_WORD);
    /* The censored form the rule produces is fine. */
    ck_assert_int_eq(v(with_dv("BXEY560626MDFLRN0", buf)), AFL_CURP_OK);
    ck_assert_int_eq(v(with_dv("PXTA560626MDFLRN0", buf)), AFL_CURP_OK);
}
END_TEST

START_TEST(inconvenient_list)
{
    static const char *words[] = {
        "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE",
        "COGI", "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI",
        "GUEY", "JETA", "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI",
        "KOJA", "KOJE", "KOJI", "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO",
        "MAME", "MAMO", "MEAR", "MEAS", "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO",
        "NACA", "NACO", "PEDA", "PEDO", "PENE", "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO",
        "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO", "TETA", "VACA", "VAGA", "VAGO", "VAKA",
        "VUEI", "VUEY", "WUEI", "WUEY"};
    char w[5] = {0};
    int count = 0;

    ck_assert_int_eq(sizeof words / sizeof words[0], 81);
    for (size_t i = 0; i < 81; i++)
        ck_assert_msg(afl_curp_is_inconvenient(words[i]), "%s not found", words[i]);
    /* Exhaustive over A-Z^4: exactly the 81 words. */
    for (w[0] = 'A'; w[0] <= 'Z'; w[0]++)
        for (w[1] = 'A'; w[1] <= 'Z'; w[1]++)
            for (w[2] = 'A'; w[2] <= 'Z'; w[2]++)
                for (w[3] = 'A'; w[3] <= 'Z'; w[3]++)
                    count += afl_curp_is_inconvenient(w);
    ck_assert_int_eq(count, 81);
    ck_assert_int_eq(afl_curp_is_inconvenient("buey"), 1);
    ck_assert_int_eq(afl_curp_is_inconvenient("BUEYXXXX"), 1);
    ck_assert_int_eq(afl_curp_is_inconvenient("BXEY"), 0);
    ck_assert_int_eq(afl_curp_is_inconvenient("BUE"), 0);
    ck_assert_int_eq(afl_curp_is_inconvenient(""), 0);
    ck_assert_int_eq(afl_curp_is_inconvenient(NULL), 0);
}
END_TEST

START_TEST(bad_check_digit)
{
    char buf[19];
    afl_curp_info info;

    for (char d = '0'; d <= '9'; d++) {
        memcpy(buf, SABC, 19);
        buf[17] = d;
        ck_assert_int_eq(afl_curp_validate(buf, 18, &info),
                         d == '1' ? AFL_CURP_OK : AFL_CURP_BAD_CHECK_DIGIT);
        /* Every other field was parsed. */
        ck_assert_int_eq(info.birth_year, 1956);
        ck_assert_str_eq(info.state, "DF");
    }
    ck_assert_int_eq(v("BOXW310820HNERXN08"), AFL_CURP_BAD_CHECK_DIGIT);
    /* A single changed letter is caught. */
    ck_assert_int_eq(v("SABD560626MDFLRN01"), AFL_CURP_BAD_CHECK_DIGIT);
}
END_TEST

START_TEST(normalisation)
{
    afl_curp_info info;
    const char *s = " \t sabc560626mdflrn01 \r\n";

    ck_assert_int_eq(afl_curp_validate(s, strlen(s), &info), AFL_CURP_OK);
    ck_assert_str_eq(info.curp, SABC);
    ck_assert_int_eq(v("SaBc560626mDfLrN01"), AFL_CURP_OK);
    ck_assert_int_eq(v("\v\fBOXW310820HNERXN09\v\f"), AFL_CURP_OK);
    /* Only ASCII letters change case: é (C3 A9) stays and fails. */
    ck_assert_int_eq(v("S\xC3\xA9"
                       "C560626MDFLRN01"),
                     AFL_CURP_BAD_FORMAT);
}
END_TEST

/* Reference layout check, written without a regex, for every byte at every
 * position of a valid CURP. */
static int ref_layout(const unsigned char *s)
{
    static const char *cls[18] = {"L", "V", "L", "L", "D", "D", "D", "D", "D",
                                  "D", "L", "L", "L", "C", "C", "C", "A", "D"};
    for (int i = 0; i < 18; i++) {
        unsigned char c = s[i];
        int L = c >= 'A' && c <= 'Z', D = c >= '0' && c <= '9';
        int ok;
        switch (cls[i][0]) {
        case 'L':
            ok = L;
            break;
        case 'D':
            ok = D;
            break;
        case 'V':
            ok = c && strchr("AEIOUX", c);
            break;
        case 'C':
            ok = L && !strchr("AEIOU", c);
            break;
        default:
            ok = L || D;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

START_TEST(every_byte_every_position)
{
    unsigned char s[19], up[19];
    afl_curp_info info;

    for (int pos = 0; pos < 18; pos++) {
        for (int c = 0; c < 256; c++) {
            afl_curp_reason r;
            memcpy(s, SABC, 19);
            s[pos] = (unsigned char)c;
            memcpy(up, s, 19);
            up[pos] = (unsigned char)(c >= 'a' && c <= 'z' ? c - 32 : c);
            if ((pos == 0 || pos == 17) && (c == ' ' || (c >= '\t' && c <= '\r')))
                continue; /* trimmed: a length question, covered elsewhere */
            r = afl_curp_validate((const char *)s, 18, &info);
            ck_assert_int_eq(memcmp(info.curp, up, 18), 0);
            if (!ref_layout(up)) {
                ck_assert_msg(r == AFL_CURP_BAD_FORMAT, "pos %d byte %d: %s", pos, c,
                              afl_curp_reason_code(r));
            } else {
                ck_assert_msg(r != AFL_CURP_BAD_FORMAT && r != AFL_CURP_BAD_LENGTH,
                              "pos %d byte %d: %s", pos, c, afl_curp_reason_code(r));
                if (r == AFL_CURP_OK)
                    ck_assert(ref_sum18_ok((const char *)up));
            }
        }
    }
}
END_TEST

/* Many threads validating at once give the single-thread answers. */
struct job {
    const char *const *inputs;
    int n;
    const afl_curp_reason *expect;
    int mismatches;
};

static void *worker(void *arg)
{
    struct job *j = arg;

    for (int round = 0; round < 20000; round++) {
        int i = round % j->n;
        afl_curp_info info;
        if (afl_curp_validate(j->inputs[i], strlen(j->inputs[i]), &info) != j->expect[i])
            j->mismatches++;
    }
    return NULL;
}

START_TEST(threads)
{
    static const char *const inputs[] = {SABC,
                                         BOXW,
                                         "SABC560626MDFLRN02",
                                         "SABC560626ZDFLRN01",
                                         "sabc560626mdflrn01",
                                         "BUEY560626MDFLRN01",
                                         "",
                                         "X"};
    afl_curp_reason expect[8];
    pthread_t t[8];
    struct job jobs[8];

    for (int i = 0; i < 8; i++)
        expect[i] = v(inputs[i]);
    ck_assert_int_eq(expect[0], AFL_CURP_OK);
    for (int i = 0; i < 8; i++) {
        jobs[i] = (struct job){inputs, 8, expect, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(jobs[i].mismatches, 0);
    }
}
END_TEST

START_TEST(init_idempotent)
{
    ck_assert_int_eq(afl_curp_init(), 0);
    ck_assert_int_eq(afl_curp_init(), 0);
    ck_assert_int_eq(v(SABC), AFL_CURP_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_curp");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, documented_vectors);
    tcase_add_test(tc, check_digit_values);
    tcase_add_test(tc, check_digit_matches_reference);
    tcase_add_test(tc, reason_codes);
    tcase_add_test(tc, bad_length);
    tcase_add_test(tc, one_megabyte);
    tcase_add_test(tc, bad_format);
    tcase_add_test(tc, bad_sex);
    tcase_add_test(tc, bad_state);
    tcase_add_test(tc, all_states_accepted);
    tcase_add_test(tc, state_names);
    tcase_add_test(tc, bad_date);
    tcase_add_test(tc, leap_days);
    tcase_add_test(tc, century_from_position_17);
    tcase_add_test(tc, inconvenient_word);
    tcase_add_test(tc, inconvenient_list);
    tcase_add_test(tc, bad_check_digit);
    tcase_add_test(tc, normalisation);
    tcase_add_test(tc, every_byte_every_position);
    tcase_add_test(tc, threads);
    tcase_add_test(tc, init_idempotent);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
