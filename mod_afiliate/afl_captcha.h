/* CAPTCHA for the NSS form: stateless ids, derived answers, PNG rendering.
 *
 * Nothing about a challenge is stored when it is issued. The id carries its
 * own expiry and a MAC; the answer is derived from the id with the secret:
 *
 *   answer[i] = AFL_CAPTCHA_ALPHABET[HMAC-SHA256(secret, "captcha:" + id)[i] % 56],
 *   i = 0..5
 *
 * (tests/captcha_answer.py implements the same formula for the integration
 * tests.) The answer is compared case-sensitively, as the public guide asks
 * ("respetando mayúsculas y minúsculas"; docs/domain.md, Paso 1).
 *
 * Id format, only [A-Za-z0-9_.-] so it fits a URL path segment
 * (/afiliate/captcha/<id>.png) and a hidden form field without escaping:
 *
 *   <rand>.<exp>.<tag>
 *   rand = base64url, no padding, of 16 random bytes (22 characters)
 *   exp  = expiry, unix seconds, decimal without leading zeros
 *   tag  = base64url of the first 16 bytes of
 *          HMAC-SHA256(secret, "captcha-id:" + rand + "." + exp) (22 characters)
 *
 * Single use is the caller's job: after a successful or failed attempt it
 * stores the id (e.g. in the DB) until the expiry afl_captcha_check_id()
 * returns, and refuses an id already stored.
 *
 * Thread safety: every function is reentrant; the only process state is
 * libgd's FreeType font cache, which afl_captcha_global_init() must create
 * before threads start (libgd races when it is created lazily). */
#ifndef AFL_CAPTCHA_H
#define AFL_CAPTCHA_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

#define AFL_CAPTCHA_LEN 6
#define AFL_CAPTCHA_TTL 600 /* seconds */

/* 56 symbols; the order is part of the answer formula. */
#define AFL_CAPTCHA_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
#define AFL_CAPTCHA_ALPHABET_LEN 56

/* Longest id afl_captcha_issue() produces (22 + 1 + 12 + 1 + 22), without NUL;
 * callers can size DB columns and reject longer input early. */
#define AFL_CAPTCHA_ID_MAX 58

/* Results of afl_captcha_check_id(). */
#define AFL_CAPTCHA_VALID 0
#define AFL_CAPTCHA_EXPIRED 1
#define AFL_CAPTCHA_MALFORMED 2 /* bad syntax or bad MAC (wrong or rotated secret) */

/* Image size of afl_captcha_png(). */
#define AFL_CAPTCHA_PNG_WIDTH 200
#define AFL_CAPTCHA_PNG_HEIGHT 70

/* Issue a new id: 128 random bits from apr_generate_random_bytes(), expiry =
 * now + AFL_CAPTCHA_TTL. *id is allocated in p. Returns the random source's
 * error (the id is then NULL) or APR_EINVAL for an empty secret. */
apr_status_t afl_captcha_issue(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                               apr_time_t now, const char **id);

/* Check the id's syntax, MAC (constant time) and expiry. Returns
 * AFL_CAPTCHA_VALID, AFL_CAPTCHA_EXPIRED (the MAC was good; now >= expiry) or
 * AFL_CAPTCHA_MALFORMED. When the MAC is good, *expires (if not NULL) gets the
 * expiry in unix seconds, so the caller can keep the used id until then;
 * otherwise it gets 0. */
int afl_captcha_check_id(const unsigned char *secret, size_t secret_len, const char *id,
                         apr_time_t now, long long *expires);

/* The answer for an id: AFL_CAPTCHA_LEN characters + NUL in out. Defined for
 * any id string; call afl_captcha_check_id() first to know the id is ours. */
void afl_captcha_answer(const unsigned char *secret, size_t secret_len, const char *id,
                        char out[AFL_CAPTCHA_LEN + 1]);

/* Distortion seed for afl_captcha_png(), from bytes of the same HMAC that the
 * answer does not use: reproducible for an id (the image can be requested
 * again and looks the same, so reloading it gives no new sample) but not
 * predictable without the secret. */
unsigned long afl_captcha_seed(const unsigned char *secret, size_t secret_len, const char *id);

/* 1 when typed, with surrounding ASCII whitespace removed, equals the derived
 * answer exactly (case-sensitive). The comparison of the characters takes
 * constant time; only the length check is early. 0 otherwise, also for NULL. */
int afl_captcha_matches(const unsigned char *secret, size_t secret_len, const char *id,
                        const char *typed);

/* Render text (normally the answer) as a distorted PNG of
 * AFL_CAPTCHA_PNG_WIDTH x AFL_CAPTCHA_PNG_HEIGHT: dark characters, each
 * rotated and offset, on a light background with coloured noise lines, arcs
 * and dots, drawn with libgd and the TrueType font at font_path (a bold face
 * such as DejaVuSans-Bold.ttf reads best). The same seed gives the same image.
 * On success *png / *len point to pool memory. Returns APR_EINVAL for empty or
 * over-long text, APR_ENOENT when libgd cannot render with the font, APR_ENOMEM
 * when libgd cannot allocate. */
apr_status_t afl_captcha_png(apr_pool_t *p, const char *text, const char *font_path,
                             unsigned long seed, const unsigned char **png, size_t *len);

/* Convenience for the image route: answer + seed + PNG for an id. Does not
 * check the id; the caller does that first (and answers 404 if bad). */
apr_status_t afl_captcha_render(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                                const char *id, const char *font_path, const unsigned char **png,
                                size_t *len);

/* gdFontCacheSetup(): call once per process before threads start (httpd:
 * child_init). afl_captcha_global_cleanup() releases it (pchild cleanup). */
void afl_captcha_global_init(void);
void afl_captcha_global_cleanup(void);

#endif
