/* Loading of the module's HMAC secret (CAPTCHA ids and answers, later other
 * tokens). Pure unit: APR only. */
#ifndef AFL_SECRET_H
#define AFL_SECRET_H

#include <stddef.h>

#include <apr_pools.h>

/* Shortest secret accepted, in bytes after trimming. 16 bytes is the floor
 * for an HMAC-SHA256 key that must resist offline guessing; generate it with
 * e.g. `head -c 32 /dev/urandom | base64`. */
#define AFL_SECRET_MIN_LEN 16

/* Largest secret file read; a bigger file is certainly a wrong path. */
#define AFL_SECRET_MAX_FILE 4096

/* Read the secret file at path, trim surrounding ASCII whitespace (so a
 * trailing newline from `echo` or an editor does not become key material) and
 * return the remaining bytes, NUL-terminated for convenience, in pool memory.
 * The bytes are used as they are (a base64 text is not decoded), which is also
 * what tests/captcha_answer.py expects.
 * Returns APR_SUCCESS; the open/read error from APR; APR_EINVAL when the
 * trimmed secret is shorter than AFL_SECRET_MIN_LEN (an empty file included)
 * or the file is larger than AFL_SECRET_MAX_FILE. On failure *secret is NULL
 * and *len is 0. */
apr_status_t afl_secret_load(apr_pool_t *p, const char *path, const unsigned char **secret,
                             size_t *len);

/* Trim surrounding ASCII whitespace of buf[0..*len) in place: returns the
 * first kept byte and updates *len. Exposed for tests and other callers. */
const unsigned char *afl_secret_trim(const unsigned char *buf, size_t *len);

#endif
