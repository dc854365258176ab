/* afl_hmac: HMAC-SHA256 (RFC 2104) over OpenSSL's EVP digests. */
#include "afl_hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define BLOCK 64

/* Read-only after afl_hmac_preload(); copied, never modified, by callers. */
static struct {
    const unsigned char *key;
    size_t len;
    EVP_MD_CTX *inner, *outer;
} pre;

static EVP_MD *sha256;

int afl_hmac_preload(const unsigned char *key, size_t len)
{
    unsigned char k[BLOCK], pad[BLOCK];
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new();
    unsigned int n;
    int ok;

    if (!sha256)
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    memset(k, 0, sizeof k);
    if (len > BLOCK)
        ok = EVP_Digest(key, len, k, &n, sha256, NULL);
    else
        ok = (memcpy(k, key, len), 1);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && inner && outer && sha256 && EVP_DigestInit_ex(inner, sha256, NULL) &&
         EVP_DigestUpdate(inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer, sha256, NULL) && EVP_DigestUpdate(outer, pad, BLOCK);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        EVP_MD_CTX_free(inner);
        EVP_MD_CTX_free(outer);
        return -1;
    }
    EVP_MD_CTX_free(pre.inner);
    EVP_MD_CTX_free(pre.outer);
    pre.key = key;
    pre.len = len;
    pre.inner = inner;
    pre.outer = outer;
    return 0;
}

static int fast(const void *m1, size_t n1, const void *m2, size_t n2,
                unsigned char out[AFL_HMAC_LEN])
{
    unsigned char ih[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_MD_CTX_copy_ex(c, pre.inner) && EVP_DigestUpdate(c, m1, n1) &&
             (!m2 || EVP_DigestUpdate(c, m2, n2)) && EVP_DigestFinal_ex(c, ih, &n) &&
             EVP_MD_CTX_copy_ex(c, pre.outer) && EVP_DigestUpdate(c, ih, n) &&
             EVP_DigestFinal_ex(c, out, &n);

    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int afl_hmac_sha256(const unsigned char *key, size_t len, const void *m1, size_t n1, const void *m2,
                    size_t n2, unsigned char out[AFL_HMAC_LEN])
{
    unsigned char stackbuf[256];
    unsigned char *buf = stackbuf;
    unsigned int n = 0;
    int ok;

    if (pre.inner && key == pre.key && len == pre.len)
        return fast(m1, n1, m2, n2, out);
    if (!m2)
        return HMAC(EVP_sha256(), key, (int)len, m1, n1, out, &n) ? 0 : -1;
    /* Two parts: one contiguous message (long ones only from hostile input). */
    if (n1 + n2 > sizeof stackbuf && !(buf = OPENSSL_malloc(n1 + n2)))
        return -1;
    memcpy(buf, m1, n1);
    memcpy(buf + n1, m2, n2);
    ok = HMAC(EVP_sha256(), key, (int)len, buf, n1 + n2, out, &n) != NULL;
    if (buf != stackbuf)
        OPENSSL_free(buf);
    return ok ? 0 : -1;
}
