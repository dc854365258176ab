/* Unit tests: afl_form (urlencoded parsing and input validation; OWASP
 * ASVS 5.1.1, 5.1.3, 5.2.2, 5.2.3). */
#include "afl_form.h"
#include "afl_curp.h"

#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_status_t parse(const char *body, size_t max, apr_table_t **t)
{
    return afl_form_parse(pool, body, body ? strlen(body) : 0, max, t);
}

static const char *get(apr_table_t *t, const char *k)
{
    return apr_table_get(t, k);
}

static apr_table_t *table(const char *const *kv)
{
    apr_table_t *t = apr_table_make(pool, 8);

    for (; kv[0]; kv += 2)
        apr_table_set(t, kv[0], kv[1]);
    return t;
}

static char *repeat(const char *s, int n)
{
    char *r = "";

    while (n-- > 0)
        r = apr_pstrcat(pool, r, s, NULL);
    return r;
}

/* ------------------------------------------------------------------ urlencoded */

START_TEST(parse_basic)
{
    apr_table_t *t = NULL;

    ck_assert_int_eq(parse("a=1&b=x+y%20z&c=%2B%26%3d&d=%C3%b1", 16, &t), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 4);
    ck_assert_str_eq(get(t, "a"), "1");
    ck_assert_str_eq(get(t, "b"), "x y z");
    ck_assert_str_eq(get(t, "c"), "+&=");
    ck_assert_str_eq(get(t, "d"), "ñ");
    /* '=' inside a value, names decoded too. */
    ck_assert_int_eq(parse("a==b&n%61me=v+", 16, &t), APR_SUCCESS);
    ck_assert_str_eq(get(t, "a"), "=b");
    ck_assert_str_eq(get(t, "name"), "v ");
}
END_TEST

START_TEST(parse_empty_and_keys_without_value)
{
    apr_table_t *t = NULL;

    ck_assert_int_eq(afl_form_parse(pool, NULL, 0, 16, &t), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(parse("", 16, &t), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(parse("&&&", 0, &t), APR_SUCCESS); /* empty pairs are not fields */
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(parse("flag&a=1&", 16, &t), APR_SUCCESS);
    ck_assert_str_eq(get(t, "flag"), "");
    ck_assert_str_eq(get(t, "a"), "1");
    ck_assert_int_eq(parse("empty=", 16, &t), APR_SUCCESS);
    ck_assert_str_eq(get(t, "empty"), "");
    /* A nameless field. */
    ck_assert_int_eq(parse("=x", 16, &t), AFL_FORM_EBADENC);
    ck_assert_int_eq(parse("a=1&=", 16, &t), AFL_FORM_EBADENC);
}
END_TEST

START_TEST(parse_bad_escapes)
{
    apr_table_t *t = NULL, *before;

    ck_assert_int_eq(parse("a=%G1", 16, &t), AFL_FORM_EBADENC);
    ck_assert_int_eq(parse("a=%1G", 16, &t), AFL_FORM_EBADENC);
    ck_assert_int_eq(parse("a=%", 16, &t), AFL_FORM_EBADENC);  /* lone % at the end */
    ck_assert_int_eq(parse("a=%4", 16, &t), AFL_FORM_EBADENC); /* truncated */
    ck_assert_int_eq(parse("a=%&b=1", 16, &t), AFL_FORM_EBADENC);
    ck_assert_int_eq(parse("%zz=1", 16, &t), AFL_FORM_EBADENC); /* in a name */
    ck_assert_int_eq(parse("a=100%", 16, &t), AFL_FORM_EBADENC);
    ck_assert_ptr_null(t); /* untouched on error */
    /* The escape must be complete within the pair: "%4" then "&1". */
    ck_assert_int_eq(parse("a=%4&1", 16, &t), AFL_FORM_EBADENC);
    /* len bounds the body: the "%41" past len is not seen. */
    ck_assert_int_eq(afl_form_parse(pool, "a=1%41", 4, 16, &t), AFL_FORM_EBADENC);
    ck_assert_int_eq(afl_form_parse(pool, "a=1%41", 3, 16, &t), APR_SUCCESS);
    ck_assert_str_eq(get(t, "a"), "1");
    before = t;
    ck_assert_int_eq(parse("x=%", 16, &t), AFL_FORM_EBADENC);
    ck_assert_ptr_eq(t, before);
}
END_TEST

START_TEST(parse_nul_refused)
{
    apr_table_t *t = NULL;

    ck_assert_int_eq(parse("a=%00", 16, &t), AFL_FORM_ENUL);
    ck_assert_int_eq(parse("correo=a%40b.mx%00x", 16, &t), AFL_FORM_ENUL);
    ck_assert_int_eq(parse("a%00b=1", 16, &t), AFL_FORM_ENUL);
    ck_assert_int_eq(afl_form_parse(pool, "a=1\0b", 5, 16, &t), AFL_FORM_ENUL); /* raw NUL */
}
END_TEST

START_TEST(parse_repeated_refused)
{
    apr_table_t *t = NULL;

    ck_assert_int_eq(parse("curp=A&curp=B", 16, &t), AFL_FORM_EREPEATED);
    ck_assert_int_eq(parse("curp=A&curp=A", 16, &t), AFL_FORM_EREPEATED);
    ck_assert_int_eq(parse("curp=A&x=1&curp", 16, &t), AFL_FORM_EREPEATED);
    /* After decoding and caselessly, as apr_table_get() would see them. */
    ck_assert_int_eq(parse("curp=A&CUR%50=B", 16, &t), AFL_FORM_EREPEATED);
    ck_assert_int_eq(parse("correo=a&Correo=b", 16, &t), AFL_FORM_EREPEATED);
    ck_assert_int_eq(parse("a+b=1&a%20b=2", 16, &t), AFL_FORM_EREPEATED);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(parse("curp=A&curp2=A", 16, &t), APR_SUCCESS);
}
END_TEST

START_TEST(parse_field_limit)
{
    apr_table_t *t = NULL;
    char *body = "";
    char *same;
    int i;

    /* 10,000 distinct parameters. */
    {
        apr_array_header_t *parts = apr_array_make(pool, 10000, sizeof(char *));

        for (i = 0; i < 10000; i++)
            APR_ARRAY_PUSH(parts, char *) = apr_psprintf(pool, "p%d=%d", i, i);
        body = apr_array_pstrcat(pool, parts, '&');
    }
    ck_assert_int_eq(parse(body, AFL_FORM_DEFAULT_FIELDS, &t), AFL_FORM_ETOOMANY);
    ck_assert_int_eq(parse(body, 9999, &t), AFL_FORM_ETOOMANY);
    ck_assert_int_eq(parse(body, 10000, &t), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 10000);
    ck_assert_str_eq(get(t, "p9999"), "9999");
    /* 10,000 copies of one name: refused at the second, whatever the limit. */
    same = repeat("a=1&", 10000);
    ck_assert_int_eq(parse(same, 100000, &t), AFL_FORM_EREPEATED);
    /* Exactly at the limit, and the limit of 0. */
    ck_assert_int_eq(parse("a=1&b=2", 2, &t), APR_SUCCESS);
    ck_assert_int_eq(parse("a=1&b=2&c=3", 2, &t), AFL_FORM_ETOOMANY);
    ck_assert_int_eq(parse("a=1", 0, &t), AFL_FORM_ETOOMANY);
}
END_TEST

START_TEST(parse_error_strings)
{
    ck_assert_str_eq(afl_form_strerror(APR_SUCCESS), "ok");
    ck_assert_str_ne(afl_form_strerror(AFL_FORM_EBADENC), afl_form_strerror(AFL_FORM_EREPEATED));
    ck_assert_str_ne(afl_form_strerror(AFL_FORM_ETOOMANY), afl_form_strerror(AFL_FORM_ENUL));
    ck_assert_str_eq(afl_form_strerror(APR_ENOMEM), "unknown form error");
    ck_assert_int_ne(AFL_FORM_EBADENC, AFL_FORM_EREPEATED);
    ck_assert_int_ne(AFL_FORM_EREPEATED, AFL_FORM_ETOOMANY);
}
END_TEST

/* ------------------------------------------------------------------ UTF-8 */

static int u8(const char *s)
{
    return afl_text_valid_utf8(s, strlen(s));
}

START_TEST(utf8_valid)
{
    ck_assert_int_eq(u8(""), 1);
    ck_assert_int_eq(u8("abc"), 1);
    ck_assert_int_eq(u8("\xC3\xB1"), 1);                 /* ñ */
    ck_assert_int_eq(u8("\xE2\x82\xAC"), 1);             /* € */
    ck_assert_int_eq(u8("\xF0\x9F\x98\x80"), 1);         /* 😀 */
    ck_assert_int_eq(u8("\xC2\x80"), 1);                 /* U+0080, smallest 2-byte */
    ck_assert_int_eq(u8("\xE0\xA0\x80"), 1);             /* U+0800, smallest 3-byte */
    ck_assert_int_eq(u8("\xED\x9F\xBF"), 1);             /* U+D7FF, below the surrogates */
    ck_assert_int_eq(u8("\xEE\x80\x80"), 1);             /* U+E000, above them */
    ck_assert_int_eq(u8("\xEF\xBF\xBF"), 1);             /* U+FFFF */
    ck_assert_int_eq(u8("\xF0\x90\x80\x80"), 1);         /* U+10000 */
    ck_assert_int_eq(u8("\xF4\x8F\xBF\xBF"), 1);         /* U+10FFFF */
    ck_assert_int_eq(afl_text_valid_utf8("a\0b", 3), 1); /* NUL is UTF-8; is_safe refuses */
    ck_assert_int_eq(afl_text_valid_utf8(NULL, 0), 1);
    ck_assert_int_eq(afl_text_utf8_len("ñandú 😀"), 7);
}
END_TEST

START_TEST(utf8_invalid)
{
    ck_assert_int_eq(u8("\xC0\xAF"), 0);                 /* overlong '/' */
    ck_assert_int_eq(u8("\xC1\xBF"), 0);                 /* overlong */
    ck_assert_int_eq(u8("\xE0\x80\xAF"), 0);             /* overlong 3-byte */
    ck_assert_int_eq(u8("\xE0\x9F\xBF"), 0);             /* overlong 3-byte, top */
    ck_assert_int_eq(u8("\xF0\x80\x80\xAF"), 0);         /* overlong 4-byte */
    ck_assert_int_eq(u8("\xF0\x8F\xBF\xBF"), 0);         /* overlong 4-byte, top */
    ck_assert_int_eq(u8("\xED\xA0\x80"), 0);             /* U+D800 surrogate */
    ck_assert_int_eq(u8("\xED\xBF\xBF"), 0);             /* U+DFFF */
    ck_assert_int_eq(u8("\xED\xA0\xBD\xED\xB8\x80"), 0); /* CESU-8 pair */
    ck_assert_int_eq(u8("\xF4\x90\x80\x80"), 0);         /* U+110000 */
    ck_assert_int_eq(u8("\xF5\x80\x80\x80"), 0);
    ck_assert_int_eq(u8("\xF8\x88\x80\x80\x80"), 0); /* 5-byte form */
    ck_assert_int_eq(u8("\x80"), 0);                 /* lone continuation */
    ck_assert_int_eq(u8("a\xBF"), 0);
    ck_assert_int_eq(u8("\xC3"), 0); /* truncated */
    ck_assert_int_eq(u8("\xE2\x82"), 0);
    ck_assert_int_eq(u8("\xF0\x9F\x98"), 0);
    ck_assert_int_eq(u8("\xC3(a"), 0); /* bad continuation */
    ck_assert_int_eq(u8("\xFE"), 0);
    ck_assert_int_eq(u8("\xFF"), 0);
    /* n bounds the read: a valid sequence cut by n is invalid. */
    ck_assert_int_eq(afl_text_valid_utf8("\xC3\xB1", 1), 0);
}
END_TEST

/* ------------------------------------------------------------------ safe text */

START_TEST(safe_text)
{
    ck_assert_int_eq(afl_text_is_safe(""), 1);
    ck_assert_int_eq(afl_text_is_safe("Calle 5 de Mayo #12, Col. Peñón ¿qué? ü € 😀"), 1);
    ck_assert_int_eq(afl_text_is_safe("\xC2\xA0"), 1);     /* no-break space is visible as space */
    ck_assert_int_eq(afl_text_is_safe("\xEF\xB8\x8F"), 1); /* emoji variation selector */
    ck_assert_int_eq(afl_text_is_safe(NULL), 0);
}
END_TEST

START_TEST(unsafe_text)
{
    static const char *const bad[] = {"a\tb",
                                      "a\rb",
                                      "a\nb",
                                      "\x01",
                                      "\x1F",
                                      "\x7F",
                                      "x\x1B[31m", /* C0, DEL, ANSI */
                                      "\xC2\x80",
                                      "\xC2\x85",
                                      "\xC2\x9F", /* C1 (NEL) */
                                      "\xE2\x80\xAA",
                                      "\xE2\x80\xAB",
                                      "\xE2\x80\xAC",
                                      "\xE2\x80\xAD",
                                      "\xE2\x80\xAE", /* U+202A-202E */
                                      "\xE2\x81\xA6",
                                      "\xE2\x81\xA7",
                                      "\xE2\x81\xA8",
                                      "\xE2\x81\xA9", /* U+2066-2069 */
                                      "\xE2\x80\x8E",
                                      "\xE2\x80\x8F",
                                      "\xD8\x9C", /* LRM RLM ALM */
                                      "\xE2\x80\x8B",
                                      "\xE2\x80\x8C",
                                      "\xE2\x80\x8D",
                                      "\xEF\xBB\xBF", /* zero width */
                                      "\xC2\xAD",
                                      "\xE2\x81\xA0", /* soft hyphen, WJ */
                                      "\xE2\x80\xA8",
                                      "\xE2\x80\xA9", /* LS PS */
                                      "\xEF\xBF\xBE",
                                      "\xEF\xB7\x90",
                                      "\xF4\x8F\xBF\xBF", /* noncharacters */
                                      "\xF3\xA0\x81\x81", /* tag 'A' */
                                      "\xC0\xAF",
                                      "\xED\xA0\x80", /* invalid UTF-8 */
                                      NULL};

    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!afl_text_is_safe(apr_pstrcat(pool, "ok ", bad[i], " ok", NULL)),
                      "case %d accepted", i);
}
END_TEST

START_TEST(cp1252)
{
    char *w;

    ck_assert_int_eq(afl_text_cp1252_ok("Peñón ÁÉÍÓÚÜ áéíóúü ¿¡ °"), 1);
    ck_assert_int_eq(afl_text_cp1252_ok("€ ’ “ ” — … Š Ž Ÿ œ ™"), 1);
    ck_assert_int_eq(afl_text_cp1252_ok("😀"), 0);
    ck_assert_int_eq(afl_text_cp1252_ok("Ā"), 0);        /* U+0100 */
    ck_assert_int_eq(afl_text_cp1252_ok("\xC2\x80"), 0); /* U+0080 is not € */
    ck_assert_int_eq(afl_text_cp1252_ok("\xC2\x81"), 0); /* unused byte 0x81 */
    ck_assert_int_eq(afl_text_cp1252_ok("\xE2\x80\xAE"), 0);
    ck_assert_int_eq(afl_text_cp1252_ok("\xC0\xAF"), 0); /* invalid UTF-8 */
    ck_assert_int_eq(afl_text_cp1252_ok(NULL), 0);
    w = afl_text_to_cp1252(pool, "€ñ’A");
    ck_assert_str_eq(w, "\x80\xF1\x92"
                        "A");
    ck_assert_ptr_null(afl_text_to_cp1252(pool, "a😀"));
    ck_assert_ptr_null(afl_text_to_cp1252(pool, "\xFF"));
    /* the lossy form for drawing: '?' per character it cannot represent */
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "€ñ’A ¿Ñ?"), "\x80\xF1\x92"
                                                                 "A \xBF\xD1?");
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "a😀b Жa"), "a?b ?a");
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "Bad\xFF\xFEUtf"), "Bad??Utf");
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "Cut\xE2\x82"), "Cut?");
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "\xC2\x80x"), "?x"); /* U+0080 */
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, "a\tb\nc\x7F"), "a b c ");
    ck_assert_str_eq(afl_text_to_cp1252_lossy(pool, ""), "");
    ck_assert_ptr_null(afl_text_to_cp1252_lossy(pool, NULL));
}
END_TEST

START_TEST(trim)
{
    const char *s = "abc";

    ck_assert_ptr_eq(afl_text_trim(pool, s), s); /* nothing to trim: no copy */
    ck_assert_str_eq(afl_text_trim(pool, " \t\r\n a b \v\f\r\n"), "a b");
    ck_assert_str_eq(afl_text_trim(pool, "   "), "");
    ck_assert_str_eq(afl_text_trim(pool, ""), "");
    ck_assert_str_eq(afl_text_trim(pool, "\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0"); /* ASCII */
    ck_assert_ptr_null(afl_text_trim(pool, NULL));
}
END_TEST

START_TEST(compose_latin)
{
    const char *s = "Peñón";

    ck_assert_ptr_eq(afl_text_compose_latin(pool, s), s);
    ck_assert_str_eq(afl_text_compose_latin(pool, "Pen\xCC\x83o\xCC\x81n"), "Peñón");
    ck_assert_str_eq(afl_text_compose_latin(pool, "N\xCC\x83U\xCC\x88"), "ÑÜ");
    ck_assert_str_eq(afl_text_compose_latin(pool, "C\xCC\xA7"), "Ç");
    /* No Latin-1 composite: left alone (and refused later as not CP1252). */
    ck_assert_str_eq(afl_text_compose_latin(pool, "x\xCC\x81"), "x\xCC\x81");
    ck_assert_str_eq(afl_text_compose_latin(pool, "\xCC\x81"), "\xCC\x81");
    ck_assert_str_eq(afl_text_compose_latin(pool, "e\xCC\x81\xCC\x81"), "é\xCC\x81");
}
END_TEST

/* ------------------------------------------------------------------ e-mail */

START_TEST(email_valid)
{
    static const char *const good[] = {"ana@example.com",
                                       "ana.lopez+imss@sub.dominio.gob.mx",
                                       "o'hara@x.mx",
                                       "a@b.co",
                                       "A_B-C.d~e!f#g$h%i&j*k/l=m?n^o`p{q|r}s@x-1.y2.ORG",
                                       "1@2.mx",
                                       NULL};

    for (int i = 0; good[i]; i++)
        ck_assert_msg(afl_email_valid(good[i]), "refused %s", good[i]);
    /* Length limits exactly. */
    ck_assert_int_eq(afl_email_valid(apr_pstrcat(pool, repeat("a", 64), "@b.mx", NULL)), 1);
    ck_assert_int_eq(afl_email_valid(apr_pstrcat(pool, "a@", repeat("b", 63), ".mx", NULL)), 1);
    {
        /* 254 octets: 64 local + '@' + 62 + '.' + 62 + '.' + 60 + ".mx" = 254. */
        char *d = apr_pstrcat(pool, repeat("b", 62), ".", repeat("c", 62), ".", repeat("d", 60),
                              ".mx", NULL);
        char *e = apr_pstrcat(pool, repeat("a", 64), "@", d, NULL);

        ck_assert_uint_eq(strlen(e), 254);
        ck_assert_int_eq(afl_email_valid(e), 1);
        e = apr_pstrcat(pool, repeat("a", 64), "@x", d, NULL);
        ck_assert_uint_eq(strlen(e), 255);
        ck_assert_int_eq(afl_email_valid(e), 0);
    }
}
END_TEST

START_TEST(email_invalid)
{
    static const char *const bad[] = {"",
                                      "a",
                                      "@b.mx",
                                      "a@",
                                      "a@b",          /* no TLD */
                                      "a@mx",         /* one label */
                                      "a@b.m",        /* TLD of 1 */
                                      "a@b.m1",       /* TLD not alphabetic */
                                      "a@b.xn--p1ai", /* punycode TLD: documented refusal */
                                      "a@b..mx",
                                      "a@.b.mx",
                                      "a@b.mx.",
                                      "a@-b.mx",
                                      "a@b-.mx",
                                      "a@b_c.mx",
                                      "a..b@c.mx", /* double dot */
                                      ".a@c.mx",
                                      "a.@c.mx",
                                      "a@b@c.mx",
                                      "a b@c.mx",
                                      " a@b.mx",
                                      "a@b.mx ",
                                      "\"a\"@c.mx",
                                      "\"a b\"@c.mx",
                                      "a,b@c.mx",
                                      "a@b.mx,c@d.mx",
                                      "<a@b.mx>",
                                      "a(b)@c.mx",
                                      "a;b@c.mx",
                                      "a:b@c.mx",
                                      "a\\b@c.mx",
                                      "a@[127.0.0.1]",
                                      "a@b.mx\r\nBcc:x@y", /* header injection */
                                      "a@b.mx\r\nBcc: x@y.mx",
                                      "a@b.mx\nBcc:x@y.mx",
                                      "a@b.mx\r",
                                      "a\r\n@b.mx",
                                      "a\t@b.mx",
                                      "ñ@b.mx",
                                      "a@ñ.mx",
                                      "a@b.mx\xE2\x80\xAE",
                                      NULL};

    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!afl_email_valid(bad[i]), "accepted '%s'", bad[i]);
    ck_assert_int_eq(afl_email_valid(NULL), 0);
    ck_assert_int_eq(afl_email_valid(apr_pstrcat(pool, repeat("a", 65), "@b.mx", NULL)), 0);
    ck_assert_int_eq(afl_email_valid(apr_pstrcat(pool, "a@", repeat("b", 64), ".mx", NULL)), 0);
    ck_assert_int_eq(afl_email_valid(apr_pstrcat(pool, repeat("a", 250), "@b.mx", NULL)), 0);
}
END_TEST

START_TEST(email_normalize)
{
    ck_assert_str_eq(afl_email_normalize(pool, "  Ana.Lopez@Example.COM \r\n"),
                     "Ana.Lopez@example.com");
    ck_assert_str_eq(afl_email_normalize(pool, "no-at-sign"), "no-at-sign");
    ck_assert_ptr_null(afl_email_normalize(pool, NULL));
}
END_TEST

START_TEST(email_crlf_through_the_form)
{
    /* The ASVS 5.2.3 payload as a browser would post it. */
    apr_table_t *t = NULL;
    afl_solicitud s;

    ck_assert_int_eq(parse("curp=X&correo=a%40b.mx%0d%0aBcc:x%40y&correo_confirmacion=a%40b.mx"
                           "%0d%0aBcc:x%40y&captcha=abc&captcha_id=i&csrf=c",
                           16, &t),
                     APR_SUCCESS);
    afl_form_solicitud(pool, t, &s);
    ck_assert_str_eq(s.err_correo, AFL_MSG_EMAIL_INVALID);
}
END_TEST

/* ------------------------------------------------------------------ first form */

START_TEST(solicitud_ok)
{
    static const char *const kv[] = {"curp",
                                     "  SABC560626MDFLRN01 ",
                                     "correo",
                                     "Ana@Example.com",
                                     "correo_confirmacion",
                                     " ana@EXAMPLE.com",
                                     "captcha",
                                     "aB3xY9",
                                     "captcha_id",
                                     "Zm9v.YmFy",
                                     "csrf",
                                     "tok-_=",
                                     "submit",
                                     "Continuar", /* extra fields are ignored */
                                     NULL};
    afl_solicitud s;

    ck_assert_int_eq(afl_form_solicitud(pool, table(kv), &s), 0);
    ck_assert_str_eq(s.curp, "SABC560626MDFLRN01");
    ck_assert_str_eq(s.correo, "Ana@example.com");
    ck_assert_str_eq(s.correo_confirmacion, "ana@example.com");
    ck_assert_str_eq(s.captcha, "aB3xY9"); /* case kept: the CAPTCHA is case-sensitive */
    ck_assert_str_eq(s.captcha_id, "Zm9v.YmFy");
    ck_assert_str_eq(s.csrf, "tok-_=");
    ck_assert_ptr_null(s.err_curp);
    ck_assert_ptr_null(s.err_correo);
    ck_assert_ptr_null(s.err_correo_confirmacion);
    ck_assert_ptr_null(s.err_captcha);
    ck_assert_int_eq(s.tampered, 0);
    ck_assert_ptr_null(s.err_form);
}
END_TEST

START_TEST(solicitud_empty)
{
    static const char *const kv[] = {"curp", "   ", "correo", "", NULL};
    afl_solicitud s;

    ck_assert_int_eq(afl_form_solicitud(pool, table(kv), &s), 5);
    ck_assert_str_eq(s.err_curp, "Este campo es obligatorio");
    ck_assert_str_eq(s.err_correo, "Este campo es obligatorio");
    ck_assert_str_eq(s.err_correo_confirmacion, "Este campo es obligatorio");
    ck_assert_str_eq(s.err_captcha, "Este campo es obligatorio");
    ck_assert_int_eq(s.tampered, 1);
    ck_assert_str_eq(s.err_form, AFL_MSG_FORM);
    ck_assert_str_eq(s.curp, "");
    ck_assert_str_eq(s.csrf, "");
}
END_TEST

START_TEST(solicitud_messages)
{
    const char *kv[] = {"curp",
                        "SABC560626MDFLRN01",
                        "correo",
                        "ana@example.com",
                        "correo_confirmacion",
                        "ana@example.org",
                        "captcha",
                        "abc",
                        "captcha_id",
                        "id",
                        "csrf",
                        "tok",
                        NULL};
    afl_solicitud s;

    ck_assert_int_eq(afl_form_solicitud(pool, table(kv), &s), 1);
    ck_assert_str_eq(s.err_correo_confirmacion, "Los correos electrónicos no coinciden");

    kv[3] = "ana@@example.com";
    kv[5] = "ana@@example.com";
    ck_assert_int_eq(afl_form_solicitud(pool, table(kv), &s), 1);
    ck_assert_str_eq(s.err_correo, "El correo electrónico no es válido");
    ck_assert_ptr_null(s.err_correo_confirmacion); /* same text: only one message */

    kv[3] = apr_pstrcat(pool, repeat("a", 250), "@b.mx", NULL); /* 255 octets */
    kv[5] = kv[3];
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_str_eq(s.err_correo, AFL_MSG_EMAIL_INVALID);

    kv[3] = kv[5] = "ana@example.com";
    kv[1] = repeat("A", 65);
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_str_eq(s.err_curp, "La CURP debe tener 18 caracteres.");
    kv[1] = repeat("A", 64); /* within the raw cap: the CURP unit decides */
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_ptr_null(s.err_curp);

    kv[7] = repeat("a", 17);
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_str_eq(s.err_captcha, AFL_MSG_CAPTCHA);
    kv[7] = repeat("a", 16);
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_ptr_null(s.err_captcha);
    kv[7] = "ab c";
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_str_eq(s.err_captcha, AFL_MSG_CAPTCHA);
    kv[7] = "\xC3\xB1";
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_str_eq(s.err_captcha, AFL_MSG_CAPTCHA);
    kv[7] = "abc";

    kv[11] = repeat("t", 129);
    ck_assert_int_eq(afl_form_solicitud(pool, table(kv), &s), 1);
    ck_assert_int_eq(s.tampered, 1);
    kv[11] = "<script>";
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_int_eq(s.tampered, 1);
    kv[11] = "tok";
    kv[9] = "";
    afl_form_solicitud(pool, table(kv), &s);
    ck_assert_int_eq(s.tampered, 1);
}
END_TEST

START_TEST(curp_messages)
{
    const char *seen[8] = {0};

    /* The integer values this unit relies on, checked against the CURP unit. */
    ck_assert_int_eq(AFL_CURP_OK, 0);
    ck_assert_int_eq(AFL_CURP_BAD_LENGTH, 1);
    ck_assert_int_eq(AFL_CURP_BAD_FORMAT, 2);
    ck_assert_int_eq(AFL_CURP_BAD_SEX, 3);
    ck_assert_int_eq(AFL_CURP_BAD_STATE, 4);
    ck_assert_int_eq(AFL_CURP_BAD_DATE, 5);
    ck_assert_int_eq(AFL_CURP_INCONVENIENT_WORD, 6);
    ck_assert_int_eq(AFL_CURP_BAD_CHECK_DIGIT, 7);

    ck_assert_ptr_null(afl_form_curp_message(AFL_CURP_OK));
    ck_assert_str_eq(afl_form_curp_message(AFL_CURP_BAD_LENGTH),
                     "La CURP debe tener 18 caracteres.");
    ck_assert_ptr_nonnull(strstr(afl_form_curp_message(AFL_CURP_BAD_FORMAT), "formato"));
    ck_assert_ptr_nonnull(strstr(afl_form_curp_message(AFL_CURP_BAD_SEX), "H, M o X"));
    ck_assert_ptr_nonnull(strstr(afl_form_curp_message(AFL_CURP_BAD_STATE), "12 y 13"));
    ck_assert_ptr_nonnull(strstr(afl_form_curp_message(AFL_CURP_BAD_DATE), "fecha"));
    ck_assert_ptr_nonnull(strstr(afl_form_curp_message(AFL_CURP_BAD_CHECK_DIGIT), "verificador"));
    for (int r = 1; r <= 7; r++) {
        seen[r] = afl_form_curp_message(r);
        ck_assert_ptr_nonnull(seen[r]);
        ck_assert_int_eq(afl_text_valid_utf8(seen[r], strlen(seen[r])), 1);
        for (int q = 1; q < r; q++)
            ck_assert_str_ne(seen[q], seen[r]);
    }
    ck_assert_ptr_nonnull(afl_form_curp_message(8));
    ck_assert_ptr_nonnull(afl_form_curp_message(-1));
}
END_TEST

/* ------------------------------------------------------------------ address */

START_TEST(address_ok)
{
    static const char *const kv[] = {"cp",
                                     " 06700 ",
                                     "colonia",
                                     "Roma Norte",
                                     "calle",
                                     "Av. Álvaro Obregón",
                                     "numero_exterior",
                                     "123-B",
                                     NULL};
    afl_address a;

    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 0);
    ck_assert_str_eq(a.cp, "06700");
    ck_assert_str_eq(a.calle, "Av. Álvaro Obregón");
    ck_assert_str_eq(a.numero_interior, ""); /* optional */
    ck_assert_ptr_null(a.err_cp);
    ck_assert_ptr_null(a.err_numero_interior);
}
END_TEST

START_TEST(address_required)
{
    static const char *const kv[] = {"cp", "", "numero_interior", "  ", NULL};
    afl_address a;

    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 4);
    ck_assert_str_eq(a.err_cp, "Este campo es obligatorio");
    ck_assert_str_eq(a.err_colonia, "Este campo es obligatorio");
    ck_assert_str_eq(a.err_calle, "Este campo es obligatorio");
    ck_assert_str_eq(a.err_numero_exterior, "Este campo es obligatorio");
    ck_assert_ptr_null(a.err_numero_interior);
}
END_TEST

START_TEST(address_cp)
{
    static const char *const bad[] = {
        "6700",
        "067000",
        "06a00",
        "06 700",
        "-6700",
        "+6700",
        "\xEF\xBC\x90\xEF\xBC\x96\xEF\xBC\x97\xEF\xBC\x90\xEF\xBC\x90",
        NULL};
    const char *kv[] = {"cp", NULL, "colonia", "x", "calle", "x", "numero_exterior", "1", NULL};
    afl_address a;

    for (int i = 0; bad[i]; i++) {
        kv[1] = bad[i];
        ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 1);
        ck_assert_str_eq(a.err_cp, "El Código Postal debe tener 5 dígitos");
    }
    kv[1] = "99999";
    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 0);
}
END_TEST

START_TEST(address_lengths)
{
    const char *kv[] = {"cp", "01000",           "colonia", NULL, "calle",
                        "x",  "numero_exterior", NULL,      NULL};
    afl_address a;

    /* Characters, not bytes: 100 "ñ" are 200 bytes and fit. */
    kv[3] = repeat("ñ", 100);
    kv[7] = repeat("9", 20);
    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 0);
    kv[3] = repeat("ñ", 101);
    kv[7] = repeat("9", 21);
    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 2);
    ck_assert_str_eq(a.err_colonia, "Máximo 100 caracteres");
    ck_assert_str_eq(a.err_numero_exterior, "Máximo 20 caracteres");
    kv[3] = repeat("a", 5000); /* far too long: refused before decoding */
    afl_form_address(pool, table(kv), &a);
    ck_assert_str_eq(a.err_colonia, "Máximo 100 caracteres");
    /* Decomposed input is composed before counting: 100 "n + U+0303" fit. */
    kv[3] = repeat("n\xCC\x83", 100);
    kv[7] = "1";
    ck_assert_int_eq(afl_form_address(pool, table(kv), &a), 0);
    ck_assert_str_eq(a.colonia, repeat("ñ", 100));
}
END_TEST

START_TEST(address_characters)
{
    static const char *const good[] = {"Del Valle Centro",
                                       "Niños Héroes de Chapultepec",
                                       "Ampliación [Sección 2] (Norte)",
                                       "Mz. 3 Lt. 5, Int. 4",
                                       "S/N",
                                       "1ª Cerrada N° 5 ´",
                                       "O'Higgins",
                                       "O’Higgins",
                                       "“La Loma”",
                                       "Calle \"A\"",
                                       "#12-B",
                                       "ÜÏÖ àè ç",
                                       NULL};
    static const char *const bad[] = {
        "<script>",      "a&b",   "a;b",       "a\tb",      "a\nb", "x\xE2\x80\xAE",
        "x\xE2\x80\x8B", "😀",     "a\xC0\xAF", "x\xCC\x81", /* combining */
        "a×b",           "€",     "Ā",         "a_b",       "a@b",  "x\xC2\xAD",
        "{x}",           "a\x7F", NULL};
    const char *kv[] = {"cp", "01000", "colonia", "x", "calle", NULL, "numero_exterior", "1", NULL};
    afl_address a;

    for (int i = 0; good[i]; i++) {
        kv[5] = good[i];
        ck_assert_msg(afl_form_address(pool, table(kv), &a) == 0, "refused '%s'", good[i]);
    }
    for (int i = 0; bad[i]; i++) {
        kv[5] = bad[i];
        ck_assert_msg(afl_form_address(pool, table(kv), &a) == 1, "accepted case %d", i);
        ck_assert_str_eq(a.err_calle, "Usa solo letras, números y signos comunes");
    }
}
END_TEST

/* Every code point the address allow-list accepts is safe and CP1252-representable:
 * the allow-list implies the two general checks. */
START_TEST(address_allow_list_implies_safe_and_cp1252)
{
    const char *kv[] = {"cp", "01000", "colonia", NULL, "calle", "x", "numero_exterior", "1", NULL};
    apr_pool_t *sub;
    unsigned accepted = 0;

    apr_pool_create(&sub, pool);
    for (unsigned long c = 1; c <= 0x10FFFF; c++) {
        char buf[5];
        afl_address a;
        apr_table_t *t;

        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        if (c < 0x80) {
            buf[0] = (char)c;
            buf[1] = 0;
        } else if (c < 0x800) {
            buf[0] = (char)(0xC0 | c >> 6);
            buf[1] = (char)(0x80 | (c & 0x3F));
            buf[2] = 0;
        } else if (c < 0x10000) {
            buf[0] = (char)(0xE0 | c >> 12);
            buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[2] = (char)(0x80 | (c & 0x3F));
            buf[3] = 0;
        } else {
            buf[0] = (char)(0xF0 | c >> 18);
            buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[3] = (char)(0x80 | (c & 0x3F));
            buf[4] = 0;
        }
        t = apr_table_make(sub, 4);
        apr_table_setn(t, "colonia", buf);
        apr_table_setn(t, "cp", kv[1]);
        apr_table_setn(t, "calle", "x");
        apr_table_setn(t, "numero_exterior", "1");
        afl_form_address(sub, t, &a);
        if (!a.err_colonia) {
            accepted++;
            ck_assert_msg(afl_text_is_safe(buf) && afl_text_cp1252_ok(buf), "U+%04lX", c);
        }
        if ((c & 0xFFF) == 0)
            apr_pool_clear(sub);
    }
    /* ASCII letters+digits 62, punctuation 11 (not space: it trims away), Latin-1 letters
     * 62, ° º ª ´ and 4 smart quotes. */
    ck_assert_uint_eq(accepted, 62 + 11 + 62 + 8);
}
END_TEST

static Suite *form_suite(void)
{
    Suite *s = suite_create("afl_form");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parse_basic);
    tcase_add_test(tc, parse_empty_and_keys_without_value);
    tcase_add_test(tc, parse_bad_escapes);
    tcase_add_test(tc, parse_nul_refused);
    tcase_add_test(tc, parse_repeated_refused);
    tcase_add_test(tc, parse_field_limit);
    tcase_add_test(tc, parse_error_strings);
    tcase_add_test(tc, utf8_valid);
    tcase_add_test(tc, utf8_invalid);
    tcase_add_test(tc, safe_text);
    tcase_add_test(tc, unsafe_text);
    tcase_add_test(tc, cp1252);
    tcase_add_test(tc, trim);
    tcase_add_test(tc, compose_latin);
    tcase_add_test(tc, email_valid);
    tcase_add_test(tc, email_invalid);
    tcase_add_test(tc, email_normalize);
    tcase_add_test(tc, email_crlf_through_the_form);
    tcase_add_test(tc, solicitud_ok);
    tcase_add_test(tc, solicitud_empty);
    tcase_add_test(tc, solicitud_messages);
    tcase_add_test(tc, curp_messages);
    tcase_add_test(tc, address_ok);
    tcase_add_test(tc, address_required);
    tcase_add_test(tc, address_cp);
    tcase_add_test(tc, address_lengths);
    tcase_add_test(tc, address_characters);
    tcase_add_test(tc, address_allow_list_implies_safe_and_cp1252);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_main(form_suite());
}
