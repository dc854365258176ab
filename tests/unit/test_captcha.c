/* Unit tests for afl_captcha (ids, answers, PNG) and afl_secret. */
#include <check.h>
#include "check_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "afl_captcha.h"
#include "afl_secret.h"

#define FONT_DIR "/usr/share/fonts/truetype/dejavu/"
#define FONT_BOLD FONT_DIR "DejaVuSans-Bold.ttf"

static apr_pool_t *pool;

static const unsigned char SECRET[] = "unit-test-secret-0123456789abcdef";
#define SECRET_LEN (sizeof SECRET - 1)
static const unsigned char OTHER[] = "another-secret-ABCDEFGHIJKLMNOPQR";
#define OTHER_LEN (sizeof OTHER - 1)

/* 2026-11-26 12:00:00 UTC */
#define NOW_SEC 1795694400LL
#define NOW apr_time_from_sec(NOW_SEC)

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *issue(void)
{
    const char *id = NULL;
    ck_assert_int_eq(afl_captcha_issue(pool, SECRET, SECRET_LEN, NOW, &id), APR_SUCCESS);
    ck_assert_ptr_nonnull(id);
    return id;
}

/* The formula, written out again with OpenSSL so a change in the unit is
 * caught rather than mirrored. */
static void reference_answer(const unsigned char *secret, size_t slen, const char *id, char *out)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    char *msg = apr_pstrcat(pool, "captcha:", id, NULL);
    int i;

    ck_assert_ptr_nonnull(
        HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)msg, strlen(msg), mac, &mlen));
    ck_assert_uint_eq(mlen, 32);
    for (i = 0; i < 6; i++)
        out[i] = alphabet[mac[i] % 56];
    out[6] = '\0';
}

/* ------------------------------------------------------------------ ids */

START_TEST(test_issue_then_valid)
{
    const char *id = issue(), *id2 = issue(), *c;
    long long exp = -1;

    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, id, NOW, &exp), AFL_CAPTCHA_VALID);
    ck_assert_int_eq(exp, NOW_SEC + AFL_CAPTCHA_TTL);
    ck_assert_str_ne(id, id2);
    ck_assert_uint_le(strlen(id), AFL_CAPTCHA_ID_MAX);
    for (c = id; *c; c++)
        ck_assert_msg(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", *c) != NULL,
            "character %c not URL-safe", *c);
    /* still valid one second before the expiry */
    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, id,
                                          apr_time_from_sec(NOW_SEC + AFL_CAPTCHA_TTL - 1), NULL),
                     AFL_CAPTCHA_VALID);
}
END_TEST

START_TEST(test_tampered_is_malformed)
{
    const char *id = issue();
    size_t i, n = strlen(id);
    long long exp = 123;

    /* Every single-character change, at every position. */
    for (i = 0; i < n; i++) {
        char *t = apr_pstrdup(pool, id);
        t[i] = (t[i] == 'A') ? 'B' : (t[i] == '.' ? '_' : 'A');
        ck_assert_msg(afl_captcha_check_id(SECRET, SECRET_LEN, t, NOW, &exp) ==
                          AFL_CAPTCHA_MALFORMED,
                      "change at %zu accepted", i);
        ck_assert_int_eq(exp, 0);
    }
    /* A different secret (rotation) does not accept it either. */
    ck_assert_int_eq(afl_captcha_check_id(OTHER, OTHER_LEN, id, NOW, NULL), AFL_CAPTCHA_MALFORMED);
    /* Truncation, extension, junk. */
    ck_assert_int_eq(
        afl_captcha_check_id(SECRET, SECRET_LEN, apr_pstrndup(pool, id, n - 1), NOW, NULL),
        AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(
        afl_captcha_check_id(SECRET, SECRET_LEN, apr_pstrcat(pool, id, "A", NULL), NOW, NULL),
        AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, "", NOW, NULL),
                     AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, NULL, NOW, NULL),
                     AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, "../../etc/passwd", NOW, NULL),
                     AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(afl_captcha_check_id(
                         SECRET, SECRET_LEN,
                         "AAAAAAAAAAAAAAAAAAAAAA.01795694400.AAAAAAAAAAAAAAAAAAAAAA", NOW, NULL),
                     AFL_CAPTCHA_MALFORMED);
    ck_assert_int_eq(afl_captcha_check_id(
                         SECRET, SECRET_LEN,
                         "AAAAAAAAAAAAAAAAAAAAAA.1234567890123.AAAAAAAAAAAAAAAAAAAAAA", NOW, NULL),
                     AFL_CAPTCHA_MALFORMED);
}
END_TEST

START_TEST(test_expired)
{
    const char *id = issue();
    long long exp = 0;

    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, id,
                                          apr_time_from_sec(NOW_SEC + AFL_CAPTCHA_TTL + 1), &exp),
                     AFL_CAPTCHA_EXPIRED);
    ck_assert_int_eq(exp, NOW_SEC + AFL_CAPTCHA_TTL);
    ck_assert_int_eq(afl_captcha_check_id(SECRET, SECRET_LEN, id,
                                          apr_time_from_sec(NOW_SEC + AFL_CAPTCHA_TTL), NULL),
                     AFL_CAPTCHA_EXPIRED);
}
END_TEST

START_TEST(test_issue_refuses_empty_secret)
{
    const char *id = "x";
    ck_assert_int_eq(afl_captcha_issue(pool, SECRET, 0, NOW, &id), APR_EINVAL);
    ck_assert_ptr_null(id);
}
END_TEST

/* -------------------------------------------------------------- answers */

START_TEST(test_answer_alphabet_and_determinism)
{
    int k;

    for (k = 0; k < 200; k++) {
        const char *id = issue();
        char a[AFL_CAPTCHA_LEN + 1], b[AFL_CAPTCHA_LEN + 1], o[AFL_CAPTCHA_LEN + 1];
        char ref[7];
        int i;

        afl_captcha_answer(SECRET, SECRET_LEN, id, a);
        afl_captcha_answer(SECRET, SECRET_LEN, id, b);
        afl_captcha_answer(OTHER, OTHER_LEN, id, o);
        ck_assert_uint_eq(strlen(a), AFL_CAPTCHA_LEN);
        for (i = 0; i < AFL_CAPTCHA_LEN; i++)
            ck_assert_ptr_nonnull(strchr(AFL_CAPTCHA_ALPHABET, a[i]));
        ck_assert_str_eq(a, b);
        ck_assert_str_ne(a, o);
        reference_answer(SECRET, SECRET_LEN, id, ref);
        ck_assert_str_eq(a, ref);
    }
    ck_assert_uint_eq(strlen(AFL_CAPTCHA_ALPHABET), 56);
}
END_TEST

/* Vectors computed once with tests/captcha_answer.py (the integration tests'
 * copy of the formula), so the C and Python sides cannot drift apart. */
START_TEST(test_python_vectors)
{
    static const unsigned char s3[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                         11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                         22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    const char *id1 = "q3Jx0pLm9ZtYw8VbN2cR4A.1764175200.Zm9vYmFyYmF6cXV4MTIzNDU2";
    char out[AFL_CAPTCHA_LEN + 1];

    afl_captcha_answer((const unsigned char *)"vector-secret-0123456789abcdef", 30, id1, out);
    ck_assert_str_eq(out, "rKFpS5");
    afl_captcha_answer((const unsigned char *)"another-secret-ABCDEFGHIJKLMNOP", 31, id1, out);
    ck_assert_str_eq(out, "VKxnSG");
    afl_captcha_answer(s3, sizeof s3, "AAAAAAAAAAAAAAAAAAAAAA.1.AAAAAAAAAAAAAAAAAAAAAA", out);
    ck_assert_str_eq(out, "bUNCpK");
}
END_TEST

static int has_letter(const char *s)
{
    for (; *s; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            return 1;
    return 0;
}

START_TEST(test_matches)
{
    const char *id;
    char a[AFL_CAPTCHA_LEN + 1], swapped[AFL_CAPTCHA_LEN + 1];
    int i;

    do {
        id = issue();
        afl_captcha_answer(SECRET, SECRET_LEN, id, a);
    } while (!has_letter(a));

    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, a), 1);
    ck_assert_int_eq(
        afl_captcha_matches(SECRET, SECRET_LEN, id, apr_pstrcat(pool, " \t", a, "\r\n ", NULL)), 1);
    for (i = 0; i < AFL_CAPTCHA_LEN; i++) {
        char c = a[i];
        swapped[i] = (c >= 'a' && c <= 'z') ? c - 32 : (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
    swapped[AFL_CAPTCHA_LEN] = '\0';
    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, swapped), 0);
    /* wrong secret, wrong length, inner space, empty, NULL */
    ck_assert_int_eq(afl_captcha_matches(OTHER, OTHER_LEN, id, a), 0);
    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, apr_pstrndup(pool, a, 5)), 0);
    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, apr_pstrcat(pool, a, "x", NULL)),
                     0);
    ck_assert_int_eq(
        afl_captcha_matches(SECRET, SECRET_LEN, id, apr_psprintf(pool, "%.3s %s", a, a + 3)), 0);
    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, ""), 0);
    ck_assert_int_eq(afl_captcha_matches(SECRET, SECRET_LEN, id, NULL), 0);
}
END_TEST

/* ---------------------------------------------------------------- image */

START_TEST(test_png)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const char *id = issue();
    const unsigned char *png = NULL, *png2 = NULL, *png3 = NULL;
    size_t len = 0, len2 = 0, len3 = 0;
    const char *sample = getenv("AFL_CAPTCHA_SAMPLE");

    ck_assert_int_eq(afl_captcha_render(pool, SECRET, SECRET_LEN, id, FONT_BOLD, &png, &len),
                     APR_SUCCESS);
    ck_assert_uint_gt(len, 8);
    ck_assert_int_eq(memcmp(png, sig, 8), 0);
    ck_assert_msg(len < 20 * 1024, "PNG is %zu bytes", len);

    /* reproducible for the id, different for another seed */
    ck_assert_int_eq(afl_captcha_render(pool, SECRET, SECRET_LEN, id, FONT_BOLD, &png2, &len2),
                     APR_SUCCESS);
    ck_assert(len == len2 && memcmp(png, png2, len) == 0);
    ck_assert_int_eq(afl_captcha_png(pool, "AbCd23", FONT_BOLD, 1, &png3, &len3), APR_SUCCESS);
    ck_assert(len3 != len || memcmp(png, png3, len) != 0);

    if (sample) {
        FILE *f = fopen(sample, "wb");
        char a[AFL_CAPTCHA_LEN + 1];
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(png, 1, len, f), len);
        fclose(f);
        afl_captcha_answer(SECRET, SECRET_LEN, id, a);
        fprintf(stderr, "sample %s: %zu bytes, answer %s\n", sample, len, a);
    }
}
END_TEST

START_TEST(test_png_errors)
{
    const unsigned char *png = (const unsigned char *)"x";
    size_t len = 1;

    ck_assert_int_ne(afl_captcha_png(pool, "AbCd23", "/nonexistent/font.ttf", 1, &png, &len),
                     APR_SUCCESS);
    ck_assert_ptr_null(png);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(afl_captcha_png(pool, "", FONT_BOLD, 1, &png, &len), APR_EINVAL);
    ck_assert_int_eq(afl_captcha_png(pool, NULL, FONT_BOLD, 1, &png, &len), APR_EINVAL);
    ck_assert_int_eq(afl_captcha_png(pool, "ABCDEFGHJKLMNPQRSTUV", FONT_BOLD, 1, &png, &len),
                     APR_EINVAL);
}
END_TEST

/* Same image from 4 threads at once as from one: no shared mutable state
 * beyond the font cache set up by afl_captcha_global_init(). */
typedef struct {
    const unsigned char *want;
    size_t want_len;
    int ok;
} thread_arg;

static void *render_thread(void *v)
{
    thread_arg *t = v;
    apr_pool_t *p;
    int k;

    apr_pool_create_unmanaged(&p);
    t->ok = 1;
    for (k = 0; k < 20; k++) {
        const unsigned char *png;
        size_t len;
        if (afl_captcha_png(p, "Kk7sSz", FONT_BOLD, 42, &png, &len) != APR_SUCCESS ||
            len != t->want_len || memcmp(png, t->want, len) != 0)
            t->ok = 0;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_png_threads)
{
    pthread_t th[4];
    thread_arg args[4];
    const unsigned char *want;
    size_t want_len;
    int i;

    ck_assert_int_eq(afl_captcha_png(pool, "Kk7sSz", FONT_BOLD, 42, &want, &want_len), APR_SUCCESS);
    for (i = 0; i < 4; i++) {
        args[i].want = want;
        args[i].want_len = want_len;
        ck_assert_int_eq(pthread_create(&th[i], NULL, render_thread, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert(args[i].ok);
    }
}
END_TEST

/* --------------------------------------------------------------- secret */

static const char *write_tmp(const void *data, size_t n)
{
    char *path = apr_pstrdup(pool, "/tmp/afl_secret_XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static apr_status_t load(const char *content, size_t n, const unsigned char **s, size_t *len)
{
    const char *path = write_tmp(content, n);
    apr_status_t rv = afl_secret_load(pool, path, s, len);
    unlink(path);
    return rv;
}

START_TEST(test_secret_load)
{
    const unsigned char *s = NULL;
    size_t len = 0;
    const char good[] = " \t0123456789abcdef-secret\r\n\n";
    char big[AFL_SECRET_MAX_FILE + 2];

    ck_assert_int_eq(load(good, sizeof good - 1, &s, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 23);
    ck_assert_int_eq(memcmp(s, "0123456789abcdef-secret", 23), 0);
    ck_assert_int_eq(s[len], '\0');

    /* exactly the minimum is accepted, one byte less is not */
    ck_assert_int_eq(load("0123456789abcdef\n", 17, &s, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, AFL_SECRET_MIN_LEN);
    ck_assert_int_eq(load("  0123456789abcde\n", 18, &s, &len), APR_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(load("", 0, &s, &len), APR_EINVAL);
    ck_assert_int_eq(load(" \n\t\r\n                    \n", 26, &s, &len), APR_EINVAL);

    memset(big, 'k', sizeof big);
    ck_assert_int_eq(load(big, AFL_SECRET_MAX_FILE, &s, &len), APR_SUCCESS);
    ck_assert_int_eq(load(big, AFL_SECRET_MAX_FILE + 1, &s, &len), APR_EINVAL);

    ck_assert_int_ne(afl_secret_load(pool, "/nonexistent/afl-secret", &s, &len), APR_SUCCESS);
    ck_assert_ptr_null(s);
}
END_TEST

static Suite *captcha_suite(void)
{
    Suite *s = suite_create("captcha");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_issue_then_valid);
    tcase_add_test(tc, test_tampered_is_malformed);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_issue_refuses_empty_secret);
    tcase_add_test(tc, test_answer_alphabet_and_determinism);
    tcase_add_test(tc, test_python_vectors);
    tcase_add_test(tc, test_matches);
    tcase_add_test(tc, test_png);
    tcase_add_test(tc, test_png_errors);
    tcase_add_test(tc, test_png_threads);
    tcase_add_test(tc, test_secret_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed;

    apr_initialize();
    afl_captcha_global_init();
    failed = check_run(captcha_suite());
    afl_captcha_global_cleanup();
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
