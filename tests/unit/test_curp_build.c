/* Unit tests: afl_curp_build (docs/domain.md, Building a CURP). */
#include "afl_curp.h"
#include "afl_curp_build.h"

#include <check.h>
#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static afl_person person(const char *given, const char *first, const char *second, int y, int m,
                         int d, char sex, const char *state)
{
    afl_person p;

    memset(&p, 0, sizeof p);
    p.given_names = given;
    p.first_surname = first;
    p.second_surname = second;
    p.birth_year = y;
    p.birth_month = m;
    p.birth_day = d;
    p.sex = sex;
    p.state = state;
    return p;
}

/* Builds, and checks the first 17 characters, the check digit recomputed
 * independently of the builder, and that the result validates. */
#define expect_build(p, first17)                                                                   \
    do {                                                                                           \
        char out_[19];                                                                             \
        afl_person p_ = (p);                                                                       \
        ck_assert_int_eq(afl_curp_build(&p_, out_), 0);                                            \
        ck_assert_int_eq(strlen(out_), 18);                                                        \
        ck_assert_msg(!strncmp(out_, first17, 17), "built %s, want %s?", out_, first17);           \
        ck_assert_int_eq(out_[17] - '0', afl_curp_check_digit(first17));                           \
        ck_assert_int_eq(afl_curp_validate(out_, 18, NULL), AFL_CURP_OK);                          \
    } while (0)

#define expect_fail(p)                                                                             \
    do {                                                                                           \
        char out_[19] = "junk";                                                                    \
        afl_person p_ = (p);                                                                       \
        ck_assert_int_eq(afl_curp_build(&p_, out_), -1);                                           \
        ck_assert_str_eq(out_, "");                                                                \
    } while (0)

START_TEST(documented_vectors)
{
    afl_person p;
    char out[19];

    /* The Instructivo sample: Concepción Salgado Briseño -> SABC... */
    p = person("Concepción", "Salgado", "Briseño", 1956, 6, 26, 'M', "DF");
    ck_assert_int_eq(afl_curp_build(&p, out), 0);
    ck_assert_str_eq(out, "SABC560626MDFLRN01");
    /* python-stdnum's vector, with names that fit its letters. */
    p = person("Wenceslao", "Borja", NULL, 1931, 8, 20, 'H', "NE");
    ck_assert_int_eq(afl_curp_build(&p, out), 0);
    ck_assert_str_eq(out, "BOXW310820HNERXN09");
    /* Upper-case ASCII in, same answer. */
    p = person("CONCEPCION", "SALGADO", "BRISENO", 1956, 6, 26, 'M', "DF");
    ck_assert_int_eq(afl_curp_build(&p, out), 0);
    ck_assert_str_eq(out, "SABC560626MDFLRN01");
}
END_TEST

START_TEST(particles)
{
    expect_build(person("Juan", "de la Cruz", "del Valle", 1990, 5, 15, 'H', "JC"),
                 "CUVJ900515HJCRLN0");
    expect_build(person("Juan", "DE LA CRUZ", "DEL VALLE", 1990, 5, 15, 'H', "JC"),
                 "CUVJ900515HJCRLN0");
    expect_build(person("Ana", "Mc Gregor", "Van der Berg", 1990, 5, 15, 'M', "JC"),
                 "GEBA900515MJCRRN0");
    expect_build(person("Ana", "Mac Donald", "Von Trapp", 1990, 5, 15, 'M', "JC"),
                 "DOTA900515MJCNRN0");
    expect_build(person("Ana", "Ponce de León", "y Pérez", 1990, 5, 15, 'M', "JC"),
                 "POPA900515MJCNRN0");
    /* Particles in given names, then the MARIA rule. */
    expect_build(person("María de los Ángeles", "Torres", NULL, 1999, 7, 7, 'M', "VZ"),
                 "TOXA990707MVZRXN0");
    expect_build(person("Ma. del Carmen", "Torres", NULL, 1999, 7, 7, 'M', "VZ"),
                 "TOXC990707MVZRXR0");
    /* Only particles: they are kept (DE -> D, E, no consonant). */
    expect_build(person("Juan", "De La", "Del", 1990, 5, 15, 'H', "JC"), "DEDJ900515HJCXLN0");
    /* A name that merely starts like a particle is not one. */
    expect_build(person("Delia", "Lara", "Delgado", 1990, 5, 15, 'M', "JC"), "LADD900515MJCRLL0");
}
END_TEST

START_TEST(compound_names)
{
    expect_build(person("María José", "González", "Pérez", 1985, 12, 1, 'M', "NL"),
                 "GOPJ851201MNLNRS0");
    expect_build(person("José Luis", "Hernández", "López", 1970, 1, 31, 'H', "MC"),
                 "HELL700131HMCRPS0");
    expect_build(person("Ma. Guadalupe", "Ramírez", "Ortiz", 2001, 3, 10, 'M', "PL"),
                 "RAOG010310MPLMRDA");
    expect_build(person("M. Guadalupe", "Ramírez", "Ortiz", 2001, 3, 10, 'M', "PL"),
                 "RAOG010310MPLMRDA");
    expect_build(person("MA GUADALUPE", "Ramírez", "Ortiz", 2001, 3, 10, 'M', "PL"),
                 "RAOG010310MPLMRDA");
    expect_build(person("J. Jesús", "Núñez", "Ñañez", 1988, 8, 8, 'H', "DF"), "NUXJ880808HDFXXS0");
    expect_build(person("J Jesús", "Núñez", "Ñañez", 1988, 8, 8, 'H', "DF"), "NUXJ880808HDFXXS0");
    /* Only the first one is skipped. */
    expect_build(person("José María", "Soto", "Ruiz", 1980, 4, 4, 'H', "SR"), "SORM800404HSRTZR0");
    /* Alone, MARIA and JOSE are used. */
    expect_build(person("María", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"), "SORM800404MSRTZR0");
    expect_build(person("José", "Soto", "Ruiz", 1980, 4, 4, 'H', "SR"), "SORJ800404HSRTZS0");
    /* Not in the list: the first name counts. */
    expect_build(person("Juan José", "Soto", "Ruiz", 1980, 4, 4, 'H', "SR"), "SORJ800404HSRTZN0");
    expect_build(person("Mariana José", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"),
                 "SORM800404MSRTZR0");
    /* Blanks of any kind between names. */
    expect_build(person("  María\xC2\xA0\tJosé  ", "González", "Pérez", 1985, 12, 1, 'M', "NL"),
                 "GOPJ851201MNLNRS0");
}
END_TEST

START_TEST(enye)
{
    /* Internal Ñ as consonant -> X. */
    expect_build(person("Ana", "Muñoz", "Ibarra", 1975, 11, 20, 'M', "YN"), "MUIA751120MYNXBN0");
    /* Initial Ñ -> X, in every field. */
    expect_build(person("Ñoño", "Muñoz", "Ibarra", 1975, 11, 20, 'H', "YN"), "MUIX751120HYNXBX0");
    expect_build(person("Ana", "Ñañez", "Ñuñez", 1975, 11, 20, 'M', "YN"), "XAXA751120MYNXXN0");
    expect_build(person("ana", "ÑAÑEZ", "ñuñez", 1975, 11, 20, 'M', "YN"), "XAXA751120MYNXXN0");
}
END_TEST

START_TEST(no_second_surname)
{
    expect_build(person("Ana", "Torres", NULL, 1999, 7, 7, 'M', "VZ"), "TOXA990707MVZRXN0");
    expect_build(person("Ana", "Torres", "", 1999, 7, 7, 'M', "VZ"), "TOXA990707MVZRXN0");
    expect_build(person("Ana", "Torres", "   ", 1999, 7, 7, 'M', "VZ"), "TOXA990707MVZRXN0");
    expect_build(person("Ana", "Torres", "-", 1999, 7, 7, 'M', "VZ"), "TOXA990707MVZRXN0");
}
END_TEST

START_TEST(inconvenient_words)
{
    char out[19];
    afl_person p = person("Yolanda", "Bueno", "Esparza", 1980, 1, 1, 'M', "SL");

    /* BUEY -> BXEY */
    expect_build(p, "BXEY800101MSLNSL0");
    ck_assert_int_eq(afl_curp_build(&p, out), 0);
    ck_assert_int_eq(afl_curp_is_inconvenient("BUEY"), 1);
    ck_assert_int_eq(strncmp(out, "BXEY", 4), 0);
    /* PUTA -> PXTA, MEAR -> MXAR */
    expect_build(person("Ana", "Puente", "Torres", 1992, 2, 2, 'M', "TC"), "PXTA920202MTCNRN0");
    expect_build(person("Raúl", "Mendoza", "Álvarez", 1992, 2, 2, 'H', "TC"), "MXAR920202HTCNLL0");
    /* Through the Ñ -> X and MARIA rules too: COLA from Coronel Loza María Ana. */
    expect_build(person("María Ana", "Coronel", "Loza", 1992, 2, 2, 'M', "TC"),
                 "CXLA920202MTCRZN0");
}
END_TEST

START_TEST(accents_and_symbols)
{
    expect_build(person("Ángel", "Álvarez", "Éguez", 1966, 6, 6, 'H', "GT"), "AAEA660606HGTLGN0");
    expect_build(person("ÁNGEL", "ÁLVAREZ", "ÉGUEZ", 1966, 6, 6, 'H', "GT"), "AAEA660606HGTLGN0");
    expect_build(person("Íñigo", "Güemes", "Öst", 1966, 6, 6, 'H', "GT"), "GUOI660606HGTMSX0");
    expect_build(person("Çelia", "Ürsula", "Ýañez", 1966, 6, 6, 'M', "GT"), "UUYC660606MGTRXL0");
    /* Non-letters are ignored inside a word. */
    expect_build(person("Juan", "O'Brien", "Pérez-Gómez", 1995, 9, 9, 'H', "CH"),
                 "OIPJ950909HCHBRN0");
    expect_build(person("Juan.", "/Soto/", "(Ruiz)", 1995, 9, 9, 'H', "CH"), "SORJ950909HCHTZN0");
    /* Letters outside Latin-1 and invalid UTF-8 are ignored. */
    expect_build(person("Jos\xC3", "\xFF\xFESoto", "Ruiz\xE2\x82\xAC", 1995, 9, 9, 'H', "CH"),
                 "SORJ950909HCHTZS0");
    expect_build(person("Łukasz", "Soto", "Ruiz", 1995, 9, 9, 'H', "CH"), "SORU950909HCHTZK0");
}
END_TEST

START_TEST(no_internal_letters)
{
    /* NG: no internal vowel -> X; WU: no internal consonant -> X. */
    expect_build(person("Li", "Ng", "Wu", 2000, 1, 1, 'X', "NE"), "NXWL000101XNEGXXA");
    expect_build(person("O", "Y", "A", 2000, 1, 1, 'X', "NE"), "YXAO000101XNEXXXA");
}
END_TEST

START_TEST(dates_and_homoclave)
{
    afl_person p;

    expect_build(person("Ana", "Soto", "Ruiz", 2000, 2, 29, 'M', "DF"), "SORA000229MDFTZNA");
    expect_build(person("Ana", "Soto", "Ruiz", 1999, 12, 31, 'M', "DF"), "SORA991231MDFTZN0");
    expect_build(person("Ana", "Soto", "Ruiz", 2000, 1, 1, 'M', "DF"), "SORA000101MDFTZNA");
    expect_build(person("Ana", "Soto", "Ruiz", 1900, 1, 1, 'M', "DF"), "SORA000101MDFTZN0");
    expect_build(person("Ana", "Soto", "Ruiz", 2099, 12, 31, 'M', "DF"), "SORA991231MDFTZNA");
    expect_fail(person("Ana", "Soto", "Ruiz", 1900, 2, 29, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 2001, 2, 29, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1999, 4, 31, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1999, 13, 1, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1999, 0, 1, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1999, 1, 0, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1999, 1, 32, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1899, 12, 31, 'M', "DF"));
    expect_fail(person("Ana", "Soto", "Ruiz", 2100, 1, 1, 'M', "DF"));

    p = person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR");
    p.homoclave = '7';
    expect_build(p, "SORA800404MSRTZN7");
    p.homoclave = 'A';
    expect_fail(p);
    p = person("Ana", "Soto", "Ruiz", 2005, 4, 4, 'M', "SR");
    p.homoclave = 'b';
    expect_build(p, "SORA050404MSRTZNB");
    p.homoclave = '5';
    expect_fail(p);
    p.homoclave = '-';
    expect_fail(p);
}
END_TEST

START_TEST(sex_and_state)
{
    expect_build(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'X', "SR"), "SORA800404XSRTZN0");
    expect_build(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'h', "df"), "SORA800404HDFTZN0");
    expect_build(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'm', "ne"), "SORA800404MNETZN0");
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'F', "SR"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 0, "SR"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', "XX"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', "D"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', "DFX"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', "1F"));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', ""));
    expect_fail(person("Ana", "Soto", "Ruiz", 1980, 4, 4, 'M', NULL));
}
END_TEST

START_TEST(empty_names)
{
    char out[19];

    expect_fail(person("", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person("   ", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person("...", "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person(NULL, "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person("Ana", "", "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person("Ana", NULL, "Ruiz", 1980, 4, 4, 'M', "SR"));
    expect_fail(person("Ana", "\xE6\x9D\x8E", "Ruiz", 1980, 4, 4, 'M', "SR")); /* CJK only */
    ck_assert_int_eq(afl_curp_build(NULL, out), -1);
}
END_TEST

START_TEST(long_names)
{
    size_t n = 1u << 20;
    char *big = malloc(n + 1), *parts = malloc(n + 1);

    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(parts);
    memset(big, 'a', n);
    big[n] = '\0';
    big[1] = 'n';
    expect_build(person(big, "Soto", "Ruiz", 1980, 4, 4, 'M', "SR"), "SORA800404MSRTZN0");
    /* 1 MB of particles before the real surname. */
    for (size_t i = 0; i + 3 <= n; i += 3)
        memcpy(parts + i, "DE ", 3);
    memcpy(parts + n - 8, " Zamora ", 8);
    parts[n] = '\0';
    expect_build(person("Ana", parts, "Ruiz", 1980, 4, 4, 'M', "SR"), "ZARA800404MSRMZN0");
    free(big);
    free(parts);
}
END_TEST

/* Whatever the names, a successful build validates and keeps the data. */
START_TEST(every_build_validates)
{
    static const char *const syll[] = {
        "ma", "ría", "jo", "sé", "ñu", "de", "la", "y",  " ",  "güe", "mc", "o",  "x",       "ch",
        "ll", "ú",   ".",  "-",  "bu", "ey", "pu", "ta", "ca", "ga",  "Á",  "ng", "\xC2\xA0"};
    static const char *const states[] = {"DF", "NE", "JC", "ZS", "AS", "YN"};
    const size_t ns = sizeof syll / sizeof syll[0];
    unsigned seed = 2024;
    int built = 0;

    for (int n = 0; n < 20000; n++) {
        char f[3][64], out[19];
        afl_curp_info info;
        afl_person p;
        for (int k = 0; k < 3; k++) {
            f[k][0] = '\0';
            seed = seed * 1103515245u + 12345u;
            for (unsigned j = 0, len = (seed >> 16) % 6; j < len; j++) {
                seed = seed * 1103515245u + 12345u;
                strcat(f[k], syll[(seed >> 16) % ns]);
            }
        }
        seed = seed * 1103515245u + 12345u;
        p = person(f[0], f[1], f[2], 1900 + (int)((seed >> 8) % 200), 1 + (int)((seed >> 4) % 12),
                   1 + (int)((seed >> 16) % 31), "HMX"[(seed >> 12) % 3], states[seed % 6]);
        if (afl_curp_build(&p, out) != 0)
            continue;
        built++;
        ck_assert_msg(afl_curp_validate(out, 18, &info) == AFL_CURP_OK, "%s from '%s' '%s' '%s'",
                      out, f[0], f[1], f[2]);
        ck_assert_int_eq(info.birth_year, p.birth_year);
        ck_assert_int_eq(info.birth_month, p.birth_month);
        ck_assert_int_eq(info.birth_day, p.birth_day);
        ck_assert_int_eq(info.sex, p.sex);
        ck_assert_str_eq(info.state, p.state);
        ck_assert_int_eq(afl_curp_is_inconvenient(out), 0);
    }
    ck_assert_int_gt(built, 10000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_curp_build");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, documented_vectors);
    tcase_add_test(tc, particles);
    tcase_add_test(tc, compound_names);
    tcase_add_test(tc, enye);
    tcase_add_test(tc, no_second_surname);
    tcase_add_test(tc, inconvenient_words);
    tcase_add_test(tc, accents_and_symbols);
    tcase_add_test(tc, no_internal_letters);
    tcase_add_test(tc, dates_and_homoclave);
    tcase_add_test(tc, sex_and_state);
    tcase_add_test(tc, empty_names);
    tcase_add_test(tc, long_names);
    tcase_add_test(tc, every_build_validates);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
