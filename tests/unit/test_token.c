/* Unit tests: afl_hmac, afl_token, afl_json. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afl_hmac.h"
#include "afl_json.h"
#include "afl_token.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static void hexify(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". */
START_TEST(hmac_rfc4231_both_paths)
{
    static const unsigned char key[] = "Jefe";
    const char *want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    unsigned char mac[AFL_HMAC_LEN];
    char hex[65];

    ck_assert_int_eq(afl_hmac_sha256(key, 4, "what do ya ", 11, "want for nothing?", 17, mac), 0);
    hexify(mac, sizeof mac, hex);
    ck_assert_str_eq(hex, want);
    ck_assert_int_eq(afl_hmac_preload(key, 4), 0);
    ck_assert_int_eq(afl_hmac_sha256(key, 4, "what do ya want for nothing?", 28, NULL, 0, mac), 0);
    hexify(mac, sizeof mac, hex);
    ck_assert_str_eq(hex, want);
}
END_TEST

/* RFC 4231 test case 6: a 131-byte key is hashed first. */
START_TEST(hmac_long_key)
{
    unsigned char key[131], mac[AFL_HMAC_LEN];
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    char hex[65];

    memset(key, 0xaa, sizeof key);
    ck_assert_int_eq(afl_hmac_preload(key, sizeof key), 0);
    ck_assert_int_eq(afl_hmac_sha256(key, sizeof key, msg, strlen(msg), NULL, 0, mac), 0);
    hexify(mac, sizeof mac, hex);
    ck_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(token_random_and_digests)
{
    const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
    const char *a = afl_token_random(pool), *b = afl_token_random(pool);

    ck_assert(afl_token_is_hex(a, 32) && afl_token_is_hex(b, 32));
    ck_assert_str_ne(a, b);
    ck_assert_str_eq(afl_token_sha256(pool, "abc"),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(strlen(afl_token_hmac(pool, secret, 32, "csrf", a, 64)), 64);
    ck_assert_int_eq(strlen(afl_token_hmac(pool, secret, 32, "ip", "127.0.0.1", 32)), 32);
    ck_assert_str_ne(afl_token_hmac(pool, secret, 32, "csrf", a, 64),
                     afl_token_hmac(pool, secret, 32, "csrf", b, 64));
    ck_assert_str_ne(afl_token_hmac(pool, secret, 32, "csrf", a, 64),
                     afl_token_hmac(pool, secret, 32, "curp", a, 64));
    ck_assert(afl_token_equal("abc", "abc"));
    ck_assert(!afl_token_equal("abc", "abd"));
    ck_assert(!afl_token_equal("abc", "abcd"));
    ck_assert(!afl_token_is_hex("ABCDEF", 6));
    ck_assert(!afl_token_is_hex("abcdef0", 6));
}
END_TEST

START_TEST(json_strings)
{
    ck_assert_str_eq(afl_json_str(pool, "Cuauhtémoc"), "\"Cuauhtémoc\"");
    ck_assert_str_eq(afl_json_str(pool, "a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    ck_assert_str_eq(afl_json_str(pool, "<x>&\x01"), "\"\\u003cx\\u003e\\u0026\\u0001\"");
}
END_TEST

/* The reference sequence of splitmix64 (Vigna's splitmix64.c) for seed
 * 1234567, and the state advancing by the golden-ratio increment. */
START_TEST(splitmix64_reference)
{
    uint64_t st = 1234567;

    ck_assert_uint_eq(afl_token_splitmix64(&st), 6457827717110365317ULL);
    ck_assert_uint_eq(afl_token_splitmix64(&st), 3203168211198807973ULL);
    ck_assert_uint_eq(afl_token_splitmix64(&st), 9817491932198370423ULL);
    ck_assert_uint_eq(st, 1234567ULL + 3 * 0x9E3779B97F4A7C15ULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, hmac_rfc4231_both_paths);
    tcase_add_test(tc, hmac_long_key);
    tcase_add_test(tc, token_random_and_digests);
    tcase_add_test(tc, json_strings);
    tcase_add_test(tc, splitmix64_reference);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
