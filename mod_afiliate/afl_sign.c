/* afl_sign: Ed25519 / RSA sello digital through OpenSSL 3 EVP (afl_sign.h). */
#include "afl_sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct afl_sign_key {
    EVP_PKEY *pkey;
    /* A signing context initialised once (private keys): each signature
     * copies it instead of fetching the algorithm from the provider again,
     * about a third of an Ed25519 signature. Read-only once made, so threads
     * may copy it at the same time. NULL: initialise per signature. */
    EVP_MD_CTX *sign_tpl;
    int is_private;
    int ed25519; /* else RSA */
    size_t sig_size;
    char serial[AFL_SIGN_SERIAL_LEN + 1];
    char alg[16];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reason of OpenSSL's first queued error (no key material in it), and an
 * empty queue afterwards so that a later call on this thread starts clean. */
static const char *ossl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(buf, n, "unknown OpenSSL error");
    else
        ERR_error_string_n(e, buf, n);
    ERR_clear_error();
    return buf;
}

static apr_status_t key_cleanup(void *data)
{
    afl_sign_key *k = data;

    EVP_MD_CTX_free(k->sign_tpl);
    k->sign_tpl = NULL;
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
    return APR_SUCCESS;
}

/* Passphrase callback that refuses: an encrypted key fails instead of
 * OpenSSL prompting on the terminal of a daemon. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Wrap pkey (ownership taken) after checking its algorithm. */
static void make_sign_tpl(afl_sign_key *k);

static apr_status_t wrap_key(apr_pool_t *p, EVP_PKEY *pkey, int is_private,
                             const afl_sign_key **out, char *err, size_t errlen)
{
    afl_sign_key *k;
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int derlen;
    static const char digits[] = "0123456789ABCDEF";

    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        k = apr_pcalloc(p, sizeof *k);
        k->ed25519 = 1;
        snprintf(k->alg, sizeof k->alg, "Ed25519");
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < 2048 || bits > 4096) {
            set_err(err, errlen, "RSA key of %d bits: 2048 to 4096 bits are accepted", bits);
            EVP_PKEY_free(pkey);
            return APR_EINVAL;
        }
        k = apr_pcalloc(p, sizeof *k);
        snprintf(k->alg, sizeof k->alg, "RSA-%d", bits);
    } else {
        set_err(err, errlen, "unsupported key type (Ed25519 or RSA expected)");
        EVP_PKEY_free(pkey);
        return APR_EINVAL;
    }
    k->pkey = pkey;
    k->is_private = is_private;
    k->sig_size = (size_t)EVP_PKEY_get_size(pkey);
    apr_pool_cleanup_register(p, k, key_cleanup, apr_pool_cleanup_null);
    if (k->sig_size == 0 || k->sig_size > AFL_SIGN_MAX_SIG) {
        set_err(err, errlen, "unexpected signature size %zu", k->sig_size);
        return APR_EINVAL;
    }

    derlen = i2d_PUBKEY(pkey, &der);
    if (derlen <= 0 || !EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL)) {
        char e[160];
        OPENSSL_free(der);
        set_err(err, errlen, "cannot encode the public key: %s", ossl_reason(e, sizeof e));
        return APR_EGENERAL;
    }
    OPENSSL_free(der);
    for (int i = 0; i < AFL_SIGN_SERIAL_LEN / 2; i++) {
        k->serial[2 * i] = digits[md[i] >> 4];
        k->serial[2 * i + 1] = digits[md[i] & 15];
    }
    k->serial[AFL_SIGN_SERIAL_LEN] = '\0';
    if (is_private)
        make_sign_tpl(k);
    *out = k;
    return APR_SUCCESS;
}

static apr_status_t from_pem(apr_pool_t *p, const char *pem, size_t len, int want_private,
                             const afl_sign_key **key, char *err, size_t errlen)
{
    BIO *bio;
    EVP_PKEY *pkey = NULL;
    int is_private = 0;

    *key = NULL;
    if (!pem || len == 0 || len > AFL_SIGN_MAX_FILE || len > (size_t)0x7fffffff) {
        set_err(err, errlen, "empty or oversized key");
        return APR_EINVAL;
    }
    if (!want_private) {
        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
            return APR_ENOMEM;
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    }
    if (!pkey) {
        ERR_clear_error();
        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
            return APR_ENOMEM;
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        is_private = pkey != NULL;
    }
    if (!pkey) {
        char e[160];
        ossl_reason(e, sizeof e);
        set_err(err, errlen,
                want_private ? "not an unencrypted PEM private key (BEGIN PRIVATE KEY)"
                             : "not a PEM public key (BEGIN PUBLIC KEY) or private key");
        return APR_EINVAL;
    }
    ERR_clear_error();
    return wrap_key(p, pkey, is_private, key, err, errlen);
}

static apr_status_t load_file(apr_pool_t *p, const char *path, int want_private,
                              const afl_sign_key **key, char *err, size_t errlen)
{
    apr_pool_t *tmp;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got = 0;
    apr_status_t rv;
    char *buf = NULL, e[120];

    *key = NULL;
    if (!path || !*path) {
        set_err(err, errlen, "no key file given");
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS)
        return rv;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, tmp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
        if (rv == APR_SUCCESS &&
            (fi.filetype != APR_REG || fi.size <= 0 || fi.size > AFL_SIGN_MAX_FILE)) {
            set_err(err, errlen, "%s: not a regular file of 1 to %d bytes", path,
                    AFL_SIGN_MAX_FILE);
            apr_file_close(f);
            apr_pool_destroy(tmp);
            return APR_EINVAL;
        }
        if (rv == APR_SUCCESS) {
            buf = apr_palloc(tmp, (apr_size_t)fi.size);
            rv = apr_file_read_full(f, buf, (apr_size_t)fi.size, &got);
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        set_err(err, errlen, "%s: %s", path, apr_strerror(rv, e, sizeof e));
        apr_pool_destroy(tmp);
        return rv;
    }
    rv = from_pem(p, buf, got, want_private, key, err, errlen);
    if (rv != APR_SUCCESS && err && errlen > 0) {
        char *m = apr_pstrdup(tmp, err);
        set_err(err, errlen, "%s: %s", path, m);
    }
    OPENSSL_cleanse(buf, got); /* private key material */
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t afl_sign_load_private(apr_pool_t *p, const char *path, const afl_sign_key **key,
                                   char *err, size_t errlen)
{
    return load_file(p, path, 1, key, err, errlen);
}

apr_status_t afl_sign_private_from_pem(apr_pool_t *p, const char *pem, size_t len,
                                       const afl_sign_key **key, char *err, size_t errlen)
{
    return from_pem(p, pem, len, 1, key, err, errlen);
}

apr_status_t afl_sign_load_public(apr_pool_t *p, const char *path, const afl_sign_key **key,
                                  char *err, size_t errlen)
{
    return load_file(p, path, 0, key, err, errlen);
}

apr_status_t afl_sign_public_from_pem(apr_pool_t *p, const char *pem, size_t len,
                                      const afl_sign_key **key, char *err, size_t errlen)
{
    return from_pem(p, pem, len, 0, key, err, errlen);
}

apr_status_t afl_sign_generate(apr_pool_t *p, const afl_sign_key **key, char *err, size_t errlen)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    *key = NULL;
    if (!pkey) {
        char e[160];
        set_err(err, errlen, "Ed25519 key generation failed: %s", ossl_reason(e, sizeof e));
        return APR_EGENERAL;
    }
    return wrap_key(p, pkey, 1, key, err, errlen);
}

/* Contents of a memory BIO as a pool string; the BIO is freed. */
static const char *bio_string(apr_pool_t *p, BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s = NULL;

    if (n > 0 && data)
        s = apr_pstrmemdup(p, data, (apr_size_t)n);
    BIO_free(bio); /* a mem BIO clears its buffer on free */
    return s;
}

const char *afl_sign_private_pem(apr_pool_t *p, const afl_sign_key *key)
{
    BIO *bio;

    if (!key || !key->is_private || !(bio = BIO_new(BIO_s_secmem())))
        return NULL;
    if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        ERR_clear_error();
        BIO_free(bio);
        return NULL;
    }
    return bio_string(p, bio);
}

const char *afl_sign_public_pem(apr_pool_t *p, const afl_sign_key *key)
{
    BIO *bio;

    if (!key || !(bio = BIO_new(BIO_s_mem())))
        return NULL;
    if (PEM_write_bio_PUBKEY(bio, key->pkey) != 1) {
        ERR_clear_error();
        BIO_free(bio);
        return NULL;
    }
    return bio_string(p, bio);
}

/* Create path exclusively with exactly perms and write text to it. */
static apr_status_t write_new(apr_pool_t *p, const char *path, const char *text,
                              apr_fileperms_t perms, char *err, size_t errlen)
{
    apr_file_t *f;
    apr_size_t n = strlen(text), done = 0;
    apr_status_t rv;
    char e[120];

    rv = apr_file_open(
        &f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL | APR_FOPEN_BINARY, perms, p);
    if (rv != APR_SUCCESS) {
        set_err(err, errlen, "%s: %s", path,
                APR_STATUS_IS_EEXIST(rv) ? "already exists (not overwritten)"
                                         : apr_strerror(rv, e, sizeof e));
        return APR_STATUS_IS_EEXIST(rv) ? APR_EEXIST : rv;
    }
    /* The umask may have removed bits; never added any. Set them exactly. */
    rv = apr_file_perms_set(path, perms);
    if (rv == APR_ENOTIMPL)
        rv = APR_SUCCESS;
    if (rv == APR_SUCCESS)
        rv = apr_file_write_full(f, text, n, &done);
    if (rv == APR_SUCCESS)
        rv = apr_file_sync(f);
    if (rv != APR_SUCCESS) {
        set_err(err, errlen, "%s: %s", path, apr_strerror(rv, e, sizeof e));
        apr_file_close(f);
        apr_file_remove(path, p);
        return rv;
    }
    rv = apr_file_close(f);
    if (rv != APR_SUCCESS) {
        set_err(err, errlen, "%s: %s", path, apr_strerror(rv, e, sizeof e));
        apr_file_remove(path, p);
    }
    return rv;
}

apr_status_t afl_sign_write_pair(apr_pool_t *p, const afl_sign_key *key, const char *priv_path,
                                 const char *pub_path, char *err, size_t errlen)
{
    apr_pool_t *tmp;
    const char *priv, *pub;
    apr_status_t rv;

    if (!key || !key->is_private || !priv_path || !pub_path) {
        set_err(err, errlen, "a private key and two paths are needed");
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS)
        return rv;
    priv = afl_sign_private_pem(tmp, key);
    pub = afl_sign_public_pem(tmp, key);
    if (!priv || !pub) {
        set_err(err, errlen, "cannot encode the key as PEM");
        rv = APR_EGENERAL;
    } else {
        rv = write_new(tmp, priv_path, priv, APR_FPROT_UREAD | APR_FPROT_UWRITE, err, errlen);
        if (rv == APR_SUCCESS) {
            rv = write_new(tmp, pub_path, pub,
                           APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD | APR_FPROT_WREAD,
                           err, errlen);
            if (rv != APR_SUCCESS)
                apr_file_remove(priv_path, tmp);
        }
    }
    if (priv)
        OPENSSL_cleanse((void *)priv, strlen(priv));
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t afl_sign_keygen(apr_pool_t *p, const char *priv_path, const char *pub_path,
                             const afl_sign_key **key, char *err, size_t errlen)
{
    const afl_sign_key *k;
    apr_status_t rv = afl_sign_generate(p, &k, err, errlen);

    if (key)
        *key = NULL;
    if (rv == APR_SUCCESS)
        rv = afl_sign_write_pair(p, k, priv_path, pub_path, err, errlen);
    if (rv == APR_SUCCESS && key)
        *key = k;
    return rv;
}

int afl_sign_is_private(const afl_sign_key *key)
{
    return key && key->is_private;
}

const char *afl_sign_algorithm(const afl_sign_key *key)
{
    return key ? key->alg : NULL;
}

const char *afl_sign_serial(const afl_sign_key *key)
{
    return key ? key->serial : NULL;
}

size_t afl_sign_size(const afl_sign_key *key)
{
    return key ? key->sig_size : 0;
}

/* The digest to combine with the key: none for Ed25519 (PureEdDSA). */
static const char *md_name(const afl_sign_key *key)
{
    return key->ed25519 ? NULL : "SHA256";
}

static void make_sign_tpl(afl_sign_key *k)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx && EVP_DigestSignInit_ex(ctx, NULL, md_name(k), NULL, NULL, k->pkey, NULL) == 1) {
        k->sign_tpl = ctx;
        return;
    }
    EVP_MD_CTX_free(ctx); /* signatures then initialise their own context */
    ERR_clear_error();
}

/* A fresh signing context: a copy of the key's template, or a new init. */
static EVP_MD_CTX *sign_ctx(const afl_sign_key *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx)
        return NULL;
    if (key->sign_tpl
            ? EVP_MD_CTX_copy_ex(ctx, key->sign_tpl) == 1
            : EVP_DigestSignInit_ex(ctx, NULL, md_name(key), NULL, NULL, key->pkey, NULL) == 1)
        return ctx;
    EVP_MD_CTX_free(ctx);
    return NULL;
}

apr_status_t afl_sign_raw(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                          const unsigned char **sig, size_t *siglen)
{
    EVP_MD_CTX *ctx;
    unsigned char *buf;
    size_t n;
    int ok;

    *sig = NULL;
    *siglen = 0;
    if (!key || !key->is_private || (!data && len))
        return APR_EINVAL;
    if (!(ctx = sign_ctx(key))) {
        ERR_clear_error();
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, key->sig_size);
    n = key->sig_size;
    ok = EVP_DigestSign(ctx, buf, &n, data ? data : (const void *)"", len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || n != key->sig_size) {
        ERR_clear_error();
        return APR_EGENERAL;
    }
    *sig = buf;
    *siglen = n;
    return APR_SUCCESS;
}

/* The last sello this thread made: its key, a SHA-256 of the data and the sello
 * (RSA-4096 sellos, the longest, are 684 characters). */
#define MEMO_SELLO_MAX 704
static __thread struct {
    const afl_sign_key *key;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char sello[MEMO_SELLO_MAX];
} memo;

static int data_digest(const void *data, size_t len, unsigned char md[SHA256_DIGEST_LENGTH])
{
    unsigned int n = 0;
    return EVP_Digest(data ? data : (const void *)"", len, md, &n, EVP_sha256(), NULL) == 1 &&
           n == SHA256_DIGEST_LENGTH;
}

apr_status_t afl_sign_sello(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                            const char **sello)
{
    const unsigned char *sig;
    size_t n;
    apr_status_t rv = afl_sign_raw(p, key, data, len, &sig, &n);
    char *b64;
    size_t b64len;

    *sello = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    b64 = apr_palloc(p, 4 * ((n + 2) / 3) + 1);
    b64len = (size_t)EVP_EncodeBlock((unsigned char *)b64, sig, (int)n);
    *sello = b64;
    memo.key = NULL;
    if (b64len < sizeof memo.sello && data_digest(data, len, memo.md)) {
        memcpy(memo.sello, b64, b64len + 1);
        memo.key = key;
    }
    return APR_SUCCESS;
}

int afl_sign_sello_is_keys(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                           const char *sello)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    const char *mine;

    if (!key || !sello)
        return 0;
    if (memo.key == key && data_digest(data, len, md) && !memcmp(md, memo.md, sizeof md) &&
        !strcmp(sello, memo.sello))
        return 1;
    if (key->ed25519)
        return afl_sign_sello(p, key, data, len, &mine) == APR_SUCCESS && !strcmp(mine, sello);
    return afl_sign_verify_sello(key, data, len, sello) == AFL_SIGN_OK;
}

afl_sign_result afl_sign_verify_raw(const afl_sign_key *key, const void *data, size_t len,
                                    const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx;
    int ok;

    if (!key || !sig || siglen != key->sig_size || (!data && len))
        return AFL_SIGN_BAD_ENCODING;
    if (!(ctx = EVP_MD_CTX_new()))
        return AFL_SIGN_MISMATCH;
    ok = EVP_DigestVerifyInit_ex(ctx, NULL, md_name(key), NULL, NULL, key->pkey, NULL) == 1 &&
         EVP_DigestVerify(ctx, sig, siglen, data ? data : (const void *)"", len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? AFL_SIGN_OK : AFL_SIGN_MISMATCH;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long afl_sign_base64_decode(const char *b64, unsigned char *out, size_t outcap)
{
    size_t n, i, o = 0;

    if (!b64)
        return -1;
    n = strlen(b64);
    if (n == 0 || n % 4 != 0)
        return -1;
    for (i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        unsigned long w;

        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)b64[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after '=' */
                return -1;
            v[k] = b64_value(c);
            if (v[k] < 0)
                return -1;
        }
        w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) | ((unsigned long)v[2] << 6) |
            (unsigned long)v[3];
        /* canonical: the bits dropped by the padding must be zero */
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF)))
            return -1;
        if (o + 3 - (size_t)pad > outcap)
            return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)w;
    }
    return (long)o;
}

afl_sign_result afl_sign_verify_sello(const afl_sign_key *key, const void *data, size_t len,
                                      const char *sello)
{
    unsigned char sig[AFL_SIGN_MAX_SIG];
    long n;

    if (!key)
        return AFL_SIGN_BAD_ENCODING;
    n = afl_sign_base64_decode(sello, sig, sizeof sig);
    if (n < 0 || (size_t)n != key->sig_size)
        return AFL_SIGN_BAD_ENCODING;
    return afl_sign_verify_raw(key, data, len, sig, (size_t)n);
}
