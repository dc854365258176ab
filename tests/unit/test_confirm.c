/* Unit tests: afl_confirm, the e-mail confirmation link's token (signed,
 * expiring, bound to one trámite, refused when forged or altered) and the
 * masked address on the "revisa tu correo" page. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#include "afl_confirm.h"
#include "afl_token.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"
#define NOW 1773597600LL

static apr_pool_t *pool;
static const char *tramite;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    tramite = afl_token_sha256(pool, "00000000000000000000000000000042");
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *sign(const char *secret, const char *id, long long expires)
{
    return afl_confirm_token(pool, (const unsigned char *)secret, strlen(secret), id, expires);
}

static afl_confirm_check check(const char *token, long long now, const char **id,
                               long long *expires)
{
    return afl_confirm_verify(pool, (const unsigned char *)SECRET, strlen(SECRET), token, now, id,
                              expires);
}

START_TEST(sign_and_verify)
{
    const char *t = sign(SECRET, tramite, NOW + 1800), *id = NULL;
    long long exp = 0;

    ck_assert_ptr_nonnull(t);
    /* "<64 hex>.<expiry>.<32 hex>": URL-safe as it is. */
    ck_assert_int_eq(strlen(t), 64 + 1 + 10 + 1 + AFL_CONFIRM_MAC_HEX);
    ck_assert_uint_eq(strspn(t, "0123456789abcdef."), strlen(t));
    ck_assert(!strncmp(t, tramite, 64));
    ck_assert_int_eq(check(t, NOW, &id, &exp), AFL_CONFIRM_VALID);
    ck_assert_str_eq(id, tramite);
    ck_assert_int_eq(exp, NOW + 1800);
    ck_assert_int_eq(afl_confirm_expiry(t), NOW + 1800);
    /* Deterministic: the same trámite and expiry sign the same way on every node. */
    ck_assert_str_eq(sign(SECRET, tramite, NOW + 1800), t);
    ck_assert_str_ne(sign(SECRET, tramite, NOW + 1801), t);
    /* Only a session row id can be named. */
    ck_assert_ptr_null(sign(SECRET, "not-an-id", NOW + 1800));
    ck_assert_ptr_null(sign(SECRET, tramite, 0));
}
END_TEST

START_TEST(expiry)
{
    const char *t = sign(SECRET, tramite, NOW + 60), *id = NULL;
    long long exp = 0;

    ck_assert_int_eq(check(t, NOW + 59, NULL, NULL), AFL_CONFIRM_VALID);
    ck_assert_int_eq(check(t, NOW + 60, &id, &exp), AFL_CONFIRM_EXPIRED);
    ck_assert_str_eq(id, tramite); /* an expired link still says which trámite */
    ck_assert_int_eq(exp, NOW + 60);
    ck_assert_int_eq(check(t, NOW + 86400, NULL, NULL), AFL_CONFIRM_EXPIRED);
}
END_TEST

START_TEST(forgery)
{
    const char *t = sign(SECRET, tramite, NOW + 1800);
    const char *other_id = afl_token_sha256(pool, "00000000000000000000000000000043");
    char *m;

    /* Another secret (another deployment). */
    ck_assert_int_eq(check(sign(OTHER, tramite, NOW + 1800), NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    /* A later expiry with the old MAC. */
    m = apr_pstrdup(pool, t);
    m[65] = m[65] == '9' ? '8' : '9';
    ck_assert_int_eq(check(m, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    /* Another trámite with this MAC. */
    m = apr_pstrcat(pool, other_id, t + 64, NULL);
    ck_assert_int_eq(check(m, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    /* One flipped digit of the MAC. */
    m = apr_pstrdup(pool, t);
    m[strlen(m) - 1] = m[strlen(m) - 1] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(check(m, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    /* A forged token is forged even when its claimed expiry has passed. */
    ck_assert_int_eq(check(m, NOW + 86400, NULL, NULL), AFL_CONFIRM_FORGED);
    /* Shapes. */
    ck_assert_int_eq(check(NULL, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    ck_assert_int_eq(check("", NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    ck_assert_int_eq(check(apr_pstrndup(pool, t, strlen(t) - 1), NOW, NULL, NULL),
                     AFL_CONFIRM_FORGED);
    ck_assert_int_eq(check(apr_pstrcat(pool, t, "0", NULL), NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    m = apr_pstrdup(pool, t);
    m[3] = 'G';
    ck_assert_int_eq(check(m, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    m = apr_pstrdup(pool, t);
    m[0] = m[0] >= 'a' ? 'A' : m[0]; /* upper-case hex is not ours */
    if (m[0] == 'A')
        ck_assert_int_eq(check(m, NOW, NULL, NULL), AFL_CONFIRM_FORGED);
    ck_assert_int_eq(check(apr_pstrcat(pool, tramite, "..", apr_pstrndup(pool, t + 76, 32), NULL),
                           NOW, NULL, NULL),
                     AFL_CONFIRM_FORGED);
    ck_assert_int_eq(check(apr_pstrcat(pool, tramite, ".-5.", apr_pstrndup(pool, t + 76, 32), NULL),
                           NOW, NULL, NULL),
                     AFL_CONFIRM_FORGED);
    ck_assert_int_eq(afl_confirm_expiry("junk"), 0);
}
END_TEST

START_TEST(masked_address)
{
    ck_assert_str_eq(afl_confirm_mask_email(pool, "estudiante@ejemplo.mx"), "es***@ej***.mx");
    ck_assert_str_eq(afl_confirm_mask_email(pool, "a@b.com.mx"), "a***@b***.mx");
    ck_assert_str_eq(afl_confirm_mask_email(pool, "ñu@éxito.mx"), "ñu***@éx***.mx");
    ck_assert_str_eq(afl_confirm_mask_email(pool, "ab@localhost"), "a***@***");
    ck_assert_str_eq(afl_confirm_mask_email(pool, NULL), "***");
    ck_assert_str_eq(afl_confirm_mask_email(pool, "sin-arroba"), "***");
    ck_assert_str_eq(afl_confirm_mask_email(pool, "@ejemplo.mx"), "***");
    /* Never the whole address. */
    ck_assert_ptr_null(strstr(afl_confirm_mask_email(pool, "estudiante@ejemplo.mx"), "estudiante"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("confirm");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sign_and_verify);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, forgery);
    tcase_add_test(tc, masked_address);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
