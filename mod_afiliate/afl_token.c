/* afl_token: random tokens, digests and keyed pseudonyms. */
#include "afl_token.h"
#include "afl_hmac.h"

#include <apr_encode.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

/* Lower-case hex, as every token and digest has always been stored. */
static const char *hex(apr_pool_t *p, const unsigned char *b, size_t n)
{
    return apr_pencode_base16_binary(p, b, (apr_ssize_t)n, APR_ENCODE_LOWER, NULL);
}

const char *afl_token_random(apr_pool_t *p)
{
    unsigned char b[16];

    /* RAND_bytes is OpenSSL's thread-safe CSPRNG, seeded from the OS; it
     * avoids opening /dev/urandom per request. */
    if (RAND_bytes(b, sizeof b) != 1)
        return NULL;
    return hex(p, b, sizeof b);
}

const char *afl_token_sha256(apr_pool_t *p, const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL))
        return NULL;
    return hex(p, md, n);
}

const char *afl_token_hmac(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                           const char *purpose, const char *data, size_t hexlen)
{
    unsigned char md[AFL_HMAC_LEN];
    const char *label = apr_pstrcat(p, purpose, ":", NULL);
    char *h;

    if (afl_hmac_sha256(secret, secret_len, label, strlen(label), data, strlen(data), md) != 0)
        return NULL;
    h = (char *)hex(p, md, sizeof md);
    if (hexlen < 2 * sizeof md)
        h[hexlen] = '\0';
    return h;
}

int afl_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

int afl_token_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

uint64_t afl_token_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
