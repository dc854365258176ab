/* afl_hmac: HMAC-SHA256 (RFC 2104) over OpenSSL 3's EVP_MAC. */
#include "afl_hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* Read-only after afl_hmac_preload(); duplicated, never modified, by callers. */
static struct {
    const unsigned char *key;
    size_t len;
    EVP_MAC_CTX *ctx; /* initialised with the key: the pads are hashed once */
} pre;

static EVP_MAC *hmac;

/* A context for HMAC-SHA256 under key, ready for EVP_MAC_update. */
static EVP_MAC_CTX *keyed(const unsigned char *key, size_t len)
{
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX *c;

    if (!hmac && !(hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return NULL;
    c = EVP_MAC_CTX_new(hmac);
    if (c && EVP_MAC_init(c, key, len, params) != 1) {
        EVP_MAC_CTX_free(c);
        c = NULL;
    }
    return c;
}

int afl_hmac_preload(const unsigned char *key, size_t len)
{
    EVP_MAC_CTX *c = keyed(key, len);

    if (!c)
        return -1;
    EVP_MAC_CTX_free(pre.ctx);
    pre.key = key;
    pre.len = len;
    pre.ctx = c;
    return 0;
}

int afl_hmac_sha256(const unsigned char *key, size_t len, const void *m1, size_t n1, const void *m2,
                    size_t n2, unsigned char out[AFL_HMAC_LEN])
{
    /* The preloaded key: a copy of its context per call, so threads share nothing
     * they write. */
    EVP_MAC_CTX *c =
        pre.ctx && key == pre.key && len == pre.len ? EVP_MAC_CTX_dup(pre.ctx) : keyed(key, len);
    size_t n = 0;
    int ok = c && EVP_MAC_update(c, m1, n1) == 1 && (!m2 || EVP_MAC_update(c, m2, n2) == 1) &&
             EVP_MAC_final(c, out, &n, AFL_HMAC_LEN) == 1 && n == AFL_HMAC_LEN;

    EVP_MAC_CTX_free(c);
    return ok ? 0 : -1;
}
