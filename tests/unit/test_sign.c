/* Unit tests for afl_sign: Ed25519 (and RSA) sellos through OpenSSL, the key
 * files keygen writes, the No. de serie. */
#include <check.h>
#include "check_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "afl_sign.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/afl_test_sign_XXXXXX";

static const char cadena[] = "||Invocante:portalimssdigital|Tipo de trámite:Asignación de "
                             "NSS|Fecha:26 de noviembre 2026, 06:00:00|Folio:"
                             "179569440000000000123|RFC:|Nombre o Razon Social:María José "
                             "Muñoz Ibáñez|Curp:MUIM050315MNLXBRA1|Número Registro "
                             "Patronal:|Número de Seguridad Social:12345678903||";

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const afl_sign_key *new_key(void)
{
    const afl_sign_key *k = NULL;
    char err[256] = "";

    ck_assert_msg(afl_sign_generate(pool, &k, err, sizeof err) == APR_SUCCESS, "%s", err);
    ck_assert_ptr_nonnull(k);
    return k;
}

START_TEST(test_sign_verify)
{
    const afl_sign_key *k = new_key();
    const char *sello = NULL, *again = NULL;
    unsigned char raw[AFL_SIGN_MAX_SIG];

    ck_assert(afl_sign_is_private(k));
    ck_assert_str_eq(afl_sign_algorithm(k), "Ed25519");
    ck_assert_uint_eq(afl_sign_size(k), 64);
    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, strlen(cadena), &sello), APR_SUCCESS);
    ck_assert_uint_eq(strlen(sello), 88); /* 64 bytes in base64 */
    ck_assert_int_eq(afl_sign_base64_decode(sello, raw, sizeof raw), 64);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, strlen(cadena), sello), AFL_SIGN_OK);
    /* deterministic: the same bytes give the same sello */
    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, strlen(cadena), &again), APR_SUCCESS);
    ck_assert_str_eq(sello, again);
    /* the empty message can be signed too */
    ck_assert_int_eq(afl_sign_sello(pool, k, "", 0, &again), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_verify_sello(k, "", 0, again), AFL_SIGN_OK);
}
END_TEST

/* afl_sign_sello_is_keys: the sello just made is recognised without signing
 * again; anything else is checked in full, for Ed25519 and RSA alike. */
START_TEST(test_sello_is_keys)
{
    const afl_sign_key *k = new_key(), *other = new_key();
    const char *sello, *older, *rsa_sello;
    char *bad;

    ck_assert_int_eq(afl_sign_sello(pool, k, "otra cadena", 11, &older), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, strlen(cadena), &sello), APR_SUCCESS);
    ck_assert(afl_sign_sello_is_keys(pool, k, cadena, strlen(cadena), sello));
    /* not the last one made: signed again and compared */
    ck_assert(afl_sign_sello_is_keys(pool, k, "otra cadena", 11, older));
    ck_assert(afl_sign_sello_is_keys(pool, k, cadena, strlen(cadena), sello));
    /* other data, another key, a changed character, nothing */
    ck_assert(!afl_sign_sello_is_keys(pool, k, cadena, strlen(cadena) - 1, sello));
    ck_assert(!afl_sign_sello_is_keys(pool, other, cadena, strlen(cadena), sello));
    bad = apr_pstrdup(pool, sello);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    ck_assert(!afl_sign_sello_is_keys(pool, k, cadena, strlen(cadena), bad));
    ck_assert(!afl_sign_sello_is_keys(pool, k, cadena, strlen(cadena), NULL));
    ck_assert(!afl_sign_sello_is_keys(pool, NULL, cadena, strlen(cadena), sello));
    {
        EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        BIO *b = BIO_new(BIO_s_mem());
        char *pem, err[256];
        long n;
        const afl_sign_key *rsa;

        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
        n = BIO_get_mem_data(b, &pem);
        ck_assert_int_eq(afl_sign_private_from_pem(pool, pem, (size_t)n, &rsa, err, sizeof err),
                         APR_SUCCESS);
        BIO_free(b);
        EVP_PKEY_free(pk);
        ck_assert_int_eq(afl_sign_sello(pool, rsa, cadena, strlen(cadena), &rsa_sello),
                         APR_SUCCESS);
        ck_assert(afl_sign_sello_is_keys(pool, rsa, cadena, strlen(cadena), rsa_sello));
        /* the memo holds another key's sello now: verified in full */
        ck_assert_int_eq(afl_sign_sello(pool, k, cadena, strlen(cadena), &sello), APR_SUCCESS);
        ck_assert(afl_sign_sello_is_keys(pool, rsa, cadena, strlen(cadena), rsa_sello));
        ck_assert(!afl_sign_sello_is_keys(pool, rsa, cadena, strlen(cadena), sello));
    }
}
END_TEST

/* Any one-byte change of the signed data fails: every position, flipped. */
START_TEST(test_one_byte_change_fails)
{
    const afl_sign_key *k = new_key();
    const char *sello;
    size_t n = strlen(cadena);
    char *copy = apr_pstrdup(pool, cadena);

    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, n, &sello), APR_SUCCESS);
    for (size_t i = 0; i < n; i++) {
        copy[i] ^= 0x01;
        ck_assert_msg(afl_sign_verify_sello(k, copy, n, sello) == AFL_SIGN_MISMATCH,
                      "byte %zu changed and the sello still verifies", i);
        copy[i] ^= 0x01;
    }
    ck_assert_int_eq(afl_sign_verify_sello(k, copy, n, sello), AFL_SIGN_OK);
    /* shorter and longer data fail too */
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n - 1, sello), AFL_SIGN_MISMATCH);
    ck_assert_int_eq(afl_sign_verify_sello(k, apr_pstrcat(pool, cadena, " ", NULL), n + 1, sello),
                     AFL_SIGN_MISMATCH);
}
END_TEST

START_TEST(test_sello_tampered_or_malformed)
{
    const afl_sign_key *k = new_key();
    const char *sello;
    char *bad;
    size_t n = strlen(cadena);

    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, n, &sello), APR_SUCCESS);
    /* one character of the sello changed */
    bad = apr_pstrdup(pool, sello);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, bad), AFL_SIGN_MISMATCH);
    /* not base64, wrong length, padding missing, blanks, NULL, empty */
    bad = apr_pstrdup(pool, sello);
    bad[5] = '*';
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, bad), AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, apr_pstrndup(pool, sello, 84)),
                     AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, apr_pstrndup(pool, sello, 86)),
                     AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, apr_pstrcat(pool, " ", sello, NULL)),
                     AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, NULL), AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(k, cadena, n, ""), AFL_SIGN_BAD_ENCODING);
    ck_assert_int_eq(afl_sign_verify_sello(NULL, cadena, n, sello), AFL_SIGN_BAD_ENCODING);
}
END_TEST

START_TEST(test_wrong_key_fails)
{
    const afl_sign_key *a = new_key(), *b = new_key();
    const char *sello;

    ck_assert_str_ne(afl_sign_serial(a), afl_sign_serial(b));
    ck_assert_int_eq(afl_sign_sello(pool, a, cadena, strlen(cadena), &sello), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_verify_sello(b, cadena, strlen(cadena), sello), AFL_SIGN_MISMATCH);
}
END_TEST

START_TEST(test_base64)
{
    unsigned char out[16];

    ck_assert_int_eq(afl_sign_base64_decode("TWFu", out, sizeof out), 3);
    ck_assert_int_eq(memcmp(out, "Man", 3), 0);
    ck_assert_int_eq(afl_sign_base64_decode("TWE=", out, sizeof out), 2);
    ck_assert_int_eq(afl_sign_base64_decode("TQ==", out, sizeof out), 1);
    ck_assert_int_eq(afl_sign_base64_decode("TQ==TWFu", out, sizeof out), -1); /* pad inside */
    ck_assert_int_eq(afl_sign_base64_decode("TR==", out, sizeof out), -1);     /* not canonical */
    ck_assert_int_eq(afl_sign_base64_decode("T===", out, sizeof out), -1);
    ck_assert_int_eq(afl_sign_base64_decode("TWF", out, sizeof out), -1);
    ck_assert_int_eq(afl_sign_base64_decode("TW\nu", out, sizeof out), -1);
    ck_assert_int_eq(afl_sign_base64_decode("TWFuTWFu", out, 5), -1); /* no room */
    ck_assert_int_eq(afl_sign_base64_decode("", out, sizeof out), -1);
}
END_TEST

static mode_t mode_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(test_keygen_files)
{
    const char *priv = apr_psprintf(pool, "%s/k1.key", tmpdir),
               *pub = apr_psprintf(pool, "%s/k1.pub", tmpdir);
    const afl_sign_key *k = NULL, *kpriv = NULL, *kpub = NULL, *kpub2 = NULL;
    const char *sello;
    char err[256] = "";
    mode_t old = umask(0); /* permissions must not depend on the umask */

    ck_assert_msg(afl_sign_keygen(pool, priv, pub, &k, err, sizeof err) == APR_SUCCESS, "%s", err);
    umask(old);
    ck_assert_uint_eq(mode_of(priv), 0600);
    ck_assert_uint_eq(mode_of(pub), 0644);

    ck_assert_int_eq(afl_sign_load_private(pool, priv, &kpriv, err, sizeof err), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_load_public(pool, pub, &kpub, err, sizeof err), APR_SUCCESS);
    ck_assert(afl_sign_is_private(kpriv));
    ck_assert(!afl_sign_is_private(kpub));
    ck_assert_str_eq(afl_sign_serial(k), afl_sign_serial(kpriv));
    ck_assert_str_eq(afl_sign_serial(k), afl_sign_serial(kpub));
    ck_assert_uint_eq(strlen(afl_sign_serial(kpub)), AFL_SIGN_SERIAL_LEN);
    /* signed with the loaded private key, verified with the loaded public one */
    ck_assert_int_eq(afl_sign_sello(pool, kpriv, cadena, strlen(cadena), &sello), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_verify_sello(kpub, cadena, strlen(cadena), sello), AFL_SIGN_OK);
    /* a public key cannot sign */
    ck_assert_int_eq(afl_sign_sello(pool, kpub, cadena, strlen(cadena), &sello), APR_EINVAL);
    /* the private file also serves as a public key */
    ck_assert_int_eq(afl_sign_load_public(pool, priv, &kpub2, err, sizeof err), APR_SUCCESS);
    ck_assert_str_eq(afl_sign_serial(kpub2), afl_sign_serial(k));
    /* a public file is not a private key */
    ck_assert_int_eq(afl_sign_load_private(pool, pub, &kpub2, err, sizeof err), APR_EINVAL);
    ck_assert_ptr_null(kpub2);

    /* never overwritten: both refused, the existing files untouched */
    ck_assert_int_eq(afl_sign_keygen(pool, priv, pub, NULL, err, sizeof err), APR_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    ck_assert_int_eq(afl_sign_load_private(pool, priv, &kpriv, err, sizeof err), APR_SUCCESS);
    ck_assert_str_eq(afl_sign_serial(kpriv), afl_sign_serial(k));
    /* a failure on the public file leaves no private file behind */
    {
        const char *p2 = apr_psprintf(pool, "%s/k2.key", tmpdir);
        ck_assert_int_eq(afl_sign_keygen(pool, p2, pub, NULL, err, sizeof err), APR_EEXIST);
        ck_assert_int_ne(access(p2, F_OK), 0);
    }
    /* no such directory */
    ck_assert_int_ne(afl_sign_keygen(pool, "/nonexistent/dir/x.key", "/nonexistent/dir/x.pub", NULL,
                                     err, sizeof err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(test_load_errors)
{
    const afl_sign_key *k = (const afl_sign_key *)1;
    char err[256];
    const char *junk = apr_psprintf(pool, "%s/junk.pem", tmpdir);
    const char *enc = apr_psprintf(pool, "%s/enc.pem", tmpdir);
    FILE *f;

    ck_assert_int_eq(afl_sign_load_private(pool, "/nonexistent/key.pem", &k, err, sizeof err),
                     APR_ENOENT);
    ck_assert_ptr_null(k);
    f = fopen(junk, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    ck_assert_int_eq(afl_sign_load_private(pool, junk, &k, err, sizeof err), APR_EINVAL);
    ck_assert_int_eq(afl_sign_load_public(pool, junk, &k, err, sizeof err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, junk)); /* the message names the file */
    ck_assert_int_eq(afl_sign_private_from_pem(pool, "", 0, &k, err, sizeof err), APR_EINVAL);
    ck_assert_int_eq(afl_sign_load_private(pool, tmpdir, &k, err, sizeof err), APR_EINVAL);

    /* an encrypted key is refused, without prompting for a pass phrase */
    {
        EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        f = fopen(enc, "w");
        ck_assert(PEM_write_PKCS8PrivateKey(f, pk, EVP_aes_128_cbc(), "secret", 6, NULL, NULL));
        fclose(f);
        EVP_PKEY_free(pk);
        ck_assert_int_eq(afl_sign_load_private(pool, enc, &k, err, sizeof err), APR_EINVAL);
    }
    /* an unsupported algorithm (EC P-256) and a short RSA key */
    {
        EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        BIO *b = BIO_new(BIO_s_mem());
        char *pem;
        long n;
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
        n = BIO_get_mem_data(b, &pem);
        ck_assert_int_eq(afl_sign_private_from_pem(pool, pem, (size_t)n, &k, err, sizeof err),
                         APR_EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "unsupported"));
        BIO_free(b);
        EVP_PKEY_free(pk);
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        b = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
        n = BIO_get_mem_data(b, &pem);
        ck_assert_int_eq(afl_sign_private_from_pem(pool, pem, (size_t)n, &k, err, sizeof err),
                         APR_EINVAL);
        BIO_free(b);
        EVP_PKEY_free(pk);
    }
}
END_TEST

/* A key made elsewhere: RSA-2048 gives the IMSS-sized 344-character sello. */
START_TEST(test_rsa_key)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIO *b = BIO_new(BIO_s_mem());
    char *pem;
    long n;
    const afl_sign_key *k, *pub;
    const char *sello, *pubpem;
    char err[256];

    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &pem);
    ck_assert_int_eq(afl_sign_private_from_pem(pool, pem, (size_t)n, &k, err, sizeof err),
                     APR_SUCCESS);
    BIO_free(b);
    EVP_PKEY_free(pk);
    ck_assert_str_eq(afl_sign_algorithm(k), "RSA-2048");
    ck_assert_uint_eq(afl_sign_size(k), 256);
    ck_assert_int_eq(afl_sign_sello(pool, k, cadena, strlen(cadena), &sello), APR_SUCCESS);
    ck_assert_uint_eq(strlen(sello), 344);
    pubpem = afl_sign_public_pem(pool, k);
    ck_assert_int_eq(afl_sign_public_from_pem(pool, pubpem, strlen(pubpem), &pub, err, sizeof err),
                     APR_SUCCESS);
    ck_assert_str_eq(afl_sign_serial(pub), afl_sign_serial(k));
    ck_assert_int_eq(afl_sign_verify_sello(pub, cadena, strlen(cadena), sello), AFL_SIGN_OK);
    ck_assert_int_eq(afl_sign_verify_sello(pub, cadena, strlen(cadena) - 1, sello),
                     AFL_SIGN_MISMATCH);
    /* an Ed25519 sello is the wrong size for an RSA key */
    {
        const char *ed;
        ck_assert_int_eq(afl_sign_sello(pool, new_key(), cadena, strlen(cadena), &ed), APR_SUCCESS);
        ck_assert_int_eq(afl_sign_verify_sello(pub, cadena, strlen(cadena), ed),
                         AFL_SIGN_BAD_ENCODING);
    }
}
END_TEST

START_TEST(test_serial_is_public_key_digest)
{
    const afl_sign_key *k = new_key();
    const char *pem = afl_sign_public_pem(pool, k);
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    unsigned char *der = NULL, md[32];
    unsigned int mdlen;
    int derlen = i2d_PUBKEY(pk, &der);
    char hex[AFL_SIGN_SERIAL_LEN + 1];

    ck_assert_int_gt(derlen, 0);
    EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < AFL_SIGN_SERIAL_LEN / 2; i++)
        sprintf(hex + 2 * i, "%02X", md[i]);
    ck_assert_str_eq(afl_sign_serial(k), hex);
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    BIO_free(b);
    /* the private PEM round-trips to the same key */
    {
        const char *priv = afl_sign_private_pem(pool, k);
        const afl_sign_key *k2;
        char err[128];
        ck_assert_ptr_nonnull(strstr(priv, "BEGIN PRIVATE KEY"));
        ck_assert_int_eq(afl_sign_private_from_pem(pool, priv, strlen(priv), &k2, err, sizeof err),
                         APR_SUCCESS);
        ck_assert_str_eq(afl_sign_serial(k2), afl_sign_serial(k));
        ck_assert_ptr_null(afl_sign_private_pem(pool, NULL));
    }
}
END_TEST

/* One key shared by threads, each signing and verifying its own data. */
typedef struct {
    const afl_sign_key *key;
    int id, bad;
} worker;

static void *sign_worker(void *arg)
{
    worker *w = arg;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    for (int i = 0; i < 300; i++) {
        const char *msg = apr_psprintf(p, "%s|%d|%d", cadena, w->id, i), *sello;
        if (afl_sign_sello(p, w->key, msg, strlen(msg), &sello) != APR_SUCCESS ||
            afl_sign_verify_sello(w->key, msg, strlen(msg), sello) != AFL_SIGN_OK)
            w->bad++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_threads)
{
    const afl_sign_key *k = new_key();
    pthread_t t[8];
    worker w[8];

    for (int i = 0; i < 8; i++) {
        w[i].key = k;
        w[i].id = i;
        w[i].bad = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, sign_worker, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].bad, 0);
    }
}
END_TEST

static Suite *sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sello_is_keys);
    tcase_add_test(tc, test_sign_verify);
    tcase_add_test(tc, test_one_byte_change_fails);
    tcase_add_test(tc, test_sello_tampered_or_malformed);
    tcase_add_test(tc, test_wrong_key_fails);
    tcase_add_test(tc, test_base64);
    tcase_add_test(tc, test_keygen_files);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_rsa_key);
    tcase_add_test(tc, test_serial_is_public_key_digest);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_main_tmpdir(sign_suite, tmpdir, "test_sign");
}
