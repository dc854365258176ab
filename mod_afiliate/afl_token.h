/* afl_token: random tokens, digests and keyed pseudonyms (OpenSSL). */
#ifndef AFL_TOKEN_H
#define AFL_TOKEN_H

#include <apr_pools.h>
#include <stddef.h>
#include <stdint.h>

/* 16 random bytes (128 bits) from the OS CSPRNG, as 32 lower-case hex digits. */
const char *afl_token_random(apr_pool_t *p);

/* SHA-256 of s, 64 hex digits: sessions are stored under the digest of the
 * cookie token, so a database leak does not hand out live cookies. */
const char *afl_token_sha256(apr_pool_t *p, const char *s);

/* HMAC-SHA256(secret, purpose ":" data), hex, truncated to hexlen digits (<= 64).
 * Used for CSRF tokens bound to the session cookie and for pseudonyms of
 * personal data in audit rows and rate-limit keys. */
const char *afl_token_hmac(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                           const char *purpose, const char *data, size_t hexlen);

/* Constant-time comparison of two NUL-terminated strings. */
int afl_token_equal(const char *a, const char *b);

/* 1 if s is exactly n lower-case hex digits. */
int afl_token_is_hex(const char *s, size_t n);

/* splitmix64: the next of a seeded sequence of 64-bit values (advances
 * *state). Not for secrets: for data that must repeat for a seed (the demo
 * registry) or noise (the CAPTCHA image). */
uint64_t afl_token_splitmix64(uint64_t *state);

#endif
