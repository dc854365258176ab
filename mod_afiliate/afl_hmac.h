/* afl_hmac: HMAC-SHA256 with a precomputed key schedule.
 *
 * OpenSSL 3's one-shot HMAC() fetches the digest and rebuilds the key pads on
 * every call (about 5 us here); the form page needs two MACs per request. The
 * server's secret is fixed for the life of a process, so afl_hmac_preload()
 * initialises one EVP_MAC context with it (the pads hashed once) and later calls
 * with the same key only duplicate that context. Other keys take the ordinary path. */
#ifndef AFL_HMAC_H
#define AFL_HMAC_H

#include <stddef.h>

#define AFL_HMAC_LEN 32

/* Prepares the fast path for this key (same pointer and length on later calls).
 * Call before threads start (child_init, or once in a program). 0 on success. */
int afl_hmac_preload(const unsigned char *key, size_t len);

/* HMAC-SHA256(key, m1 || m2); m2 may be NULL. 0 on success. */
int afl_hmac_sha256(const unsigned char *key, size_t len, const void *m1, size_t n1, const void *m2,
                    size_t n2, unsigned char out[AFL_HMAC_LEN]);

#endif
