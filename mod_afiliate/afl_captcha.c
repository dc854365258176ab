#include "afl_captcha.h"
#include "afl_hmac.h"
#include "afl_token.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_encode.h>
#include <apr_strings.h>

#include <gd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define RAND_BYTES 16
#define TAG_BYTES 16
#define B64_LEN(n) (((n)*4 + 2) / 3) /* unpadded base64url length */
#define RAND_B64 B64_LEN(RAND_BYTES) /* 22 */
#define TAG_B64 B64_LEN(TAG_BYTES)   /* 22 */
#define EXP_DIGITS_MAX 12

/* HMAC-SHA256(secret, label + msg). The label keeps the id MAC and the answer
 * derivation in separate domains although they share one key. */
static void hmac_label(const unsigned char *secret, size_t secret_len, const char *label,
                       const char *msg, unsigned char out[32])
{
    static const unsigned char empty_key[1] = {0};

    if (afl_hmac_sha256(secret ? secret : empty_key, secret_len, label, strlen(label), msg,
                        strlen(msg), out) != 0)
        memset(out, 0, 32);
}

/* Unpadded base64url; out must hold B64_LEN(n) + 1 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    apr_encode_base64_binary(out, in, (apr_ssize_t)n, APR_ENCODE_BASE64URL, NULL);
}

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void make_tag(const unsigned char *secret, size_t secret_len, const char *prefix,
                     char out[TAG_B64 + 1])
{
    unsigned char mac[32];

    hmac_label(secret, secret_len, "captcha-id:", prefix, mac);
    b64url_encode(mac, TAG_BYTES, out);
}

apr_status_t afl_captcha_issue(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                               apr_time_t now, const char **id)
{
    unsigned char rnd[RAND_BYTES];
    char rnd64[RAND_B64 + 1];
    char tag[TAG_B64 + 1];
    char *prefix;
    apr_status_t rv;

    *id = NULL;
    if (!secret || secret_len == 0)
        return APR_EINVAL;
    rv = apr_generate_random_bytes(rnd, sizeof rnd);
    if (rv != APR_SUCCESS)
        return rv;
    b64url_encode(rnd, sizeof rnd, rnd64);
    prefix = apr_psprintf(p, "%s.%" APR_INT64_T_FMT, rnd64,
                          (apr_int64_t)apr_time_sec(now) + AFL_CAPTCHA_TTL);
    make_tag(secret, secret_len, prefix, tag);
    *id = apr_pstrcat(p, prefix, ".", tag, NULL);
    return APR_SUCCESS;
}

int afl_captcha_check_id(const unsigned char *secret, size_t secret_len, const char *id,
                         apr_time_t now, long long *expires)
{
    char prefix[RAND_B64 + 1 + EXP_DIGITS_MAX + 1];
    char tag[TAG_B64 + 1];
    const char *s, *exp_start;
    size_t i, ndig, plen;
    long long exp = 0;

    if (expires)
        *expires = 0;
    if (!id || !secret || secret_len == 0)
        return AFL_CAPTCHA_MALFORMED;
    /* rand: exactly 22 base64url characters */
    for (i = 0; i < RAND_B64; i++)
        if (!is_b64url(id[i]))
            return AFL_CAPTCHA_MALFORMED;
    if (id[RAND_B64] != '.')
        return AFL_CAPTCHA_MALFORMED;
    /* exp: 1..12 digits, no leading zero */
    exp_start = id + RAND_B64 + 1;
    for (s = exp_start, ndig = 0; *s >= '0' && *s <= '9'; s++, ndig++) {
        if (ndig == EXP_DIGITS_MAX)
            return AFL_CAPTCHA_MALFORMED;
        exp = exp * 10 + (*s - '0');
    }
    if (ndig == 0 || exp_start[0] == '0' || *s != '.')
        return AFL_CAPTCHA_MALFORMED;
    /* tag: exactly 22 base64url characters, then the end */
    plen = (size_t)(s - id);
    s++;
    for (i = 0; i < TAG_B64; i++)
        if (!is_b64url(s[i]))
            return AFL_CAPTCHA_MALFORMED;
    if (s[TAG_B64] != '\0')
        return AFL_CAPTCHA_MALFORMED;

    memcpy(prefix, id, plen);
    prefix[plen] = '\0';
    make_tag(secret, secret_len, prefix, tag);
    if (CRYPTO_memcmp(tag, s, TAG_B64) != 0)
        return AFL_CAPTCHA_MALFORMED;
    if (expires)
        *expires = exp;
    if ((long long)apr_time_sec(now) >= exp)
        return AFL_CAPTCHA_EXPIRED;
    return AFL_CAPTCHA_VALID;
}

void afl_captcha_answer(const unsigned char *secret, size_t secret_len, const char *id,
                        char out[AFL_CAPTCHA_LEN + 1])
{
    unsigned char mac[32];
    int i;

    hmac_label(secret, secret_len, "captcha:", id ? id : "", mac);
    for (i = 0; i < AFL_CAPTCHA_LEN; i++)
        out[i] = AFL_CAPTCHA_ALPHABET[mac[i] % AFL_CAPTCHA_ALPHABET_LEN];
    out[AFL_CAPTCHA_LEN] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
}

unsigned long afl_captcha_seed(const unsigned char *secret, size_t secret_len, const char *id)
{
    unsigned char mac[32];
    unsigned long seed = 0;
    int i;

    /* Bytes 16..23: disjoint from the answer's bytes 0..5. */
    hmac_label(secret, secret_len, "captcha:", id ? id : "", mac);
    for (i = 16; i < 24; i++)
        seed = (seed << 8) | mac[i];
    OPENSSL_cleanse(mac, sizeof mac);
    return seed;
}

static int is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int afl_captcha_matches(const unsigned char *secret, size_t secret_len, const char *id,
                        const char *typed)
{
    char want[AFL_CAPTCHA_LEN + 1];
    size_t n;
    int eq;

    if (!typed || !id)
        return 0;
    while (is_ascii_space(*typed))
        typed++;
    n = strlen(typed);
    while (n > 0 && is_ascii_space(typed[n - 1]))
        n--;
    if (n != AFL_CAPTCHA_LEN)
        return 0;
    afl_captcha_answer(secret, secret_len, id, want);
    eq = CRYPTO_memcmp(want, typed, AFL_CAPTCHA_LEN) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return eq;
}

/* ------------------------------------------------------------------ image */

/* splitmix64: small, good enough for visual noise, and local to the call
 * (rand() would be shared process state). */
typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    return afl_token_splitmix64(&r->s);
}

/* Uniform integer in [lo, hi]. */
static int rng_range(rng_t *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0; /* [0,1) */
}

/* Colour with each channel in [lo, hi]. */
static int rng_colour(rng_t *r, gdImagePtr im, int lo, int hi)
{
    return gdImageColorAllocate(im, rng_range(r, lo, hi), rng_range(r, lo, hi),
                                rng_range(r, lo, hi));
}

#define GLYPH_PT 24.0   /* at libgd's 96 dpi: ~32 px em, caps ~23 px */
#define GLYPH_ANGLE 0.3 /* max rotation, radians (~17 degrees) */
#define MAX_TEXT 16

apr_status_t afl_captcha_png(apr_pool_t *p, const char *text, const char *font_path,
                             unsigned long seed, const unsigned char **png, size_t *len)
{
    const int w = AFL_CAPTCHA_PNG_WIDTH, h = AFL_CAPTCHA_PNG_HEIGHT;
    rng_t rng = {(uint64_t)seed ^ 0x5DEECE66DULL};
    gdImagePtr im;
    int advance[MAX_TEXT];
    int brect[8];
    int i, n, total, x, baseline, size = 0;
    void *data;
    char ch[2] = {0, 0};

    *png = NULL;
    *len = 0;
    if (!text || !font_path)
        return APR_EINVAL;
    n = (int)strlen(text);
    if (n == 0 || n > MAX_TEXT)
        return APR_EINVAL;

    /* Measure each glyph upright, so the string can be centred and the
     * characters neither collide nor drift apart. A NULL image only computes
     * the bounding box; it also tells whether the font can be used at all. */
    total = 0;
    for (i = 0; i < n; i++) {
        ch[0] = text[i];
        if (gdImageStringFT(NULL, brect, 0, (char *)font_path, GLYPH_PT, 0.0, 0, 0, ch))
            return APR_ENOENT;
        advance[i] = brect[2] - brect[0];
        total += advance[i];
    }

    im = gdImageCreateTrueColor(w, h);
    if (!im)
        return APR_ENOMEM;

    /* Light, slightly tinted background: dark text on it stays above the
     * WCAG AA contrast ratio of 4.5:1 whatever the draws are. */
    gdImageFilledRectangle(im, 0, 0, w - 1, h - 1, rng_colour(&rng, im, 236, 255));

    /* Background clutter: light-to-mid lines and arcs, under the text. */
    gdImageSetThickness(im, 2);
    for (i = 0; i < 5; i++)
        gdImageLine(im, rng_range(&rng, 0, w - 1), rng_range(&rng, 0, h - 1),
                    rng_range(&rng, 0, w - 1), rng_range(&rng, 0, h - 1),
                    rng_colour(&rng, im, 150, 215));
    for (i = 0; i < 5; i++)
        gdImageArc(im, rng_range(&rng, 0, w - 1), rng_range(&rng, 0, h - 1),
                   rng_range(&rng, 40, 160), rng_range(&rng, 20, 80), rng_range(&rng, 0, 359),
                   rng_range(&rng, 0, 359), rng_colour(&rng, im, 150, 215));
    gdImageSetThickness(im, 1);

    /* The text. One shared baseline (small jitter only) and one size, so
     * upper and lower case stay distinguishable (C/c, K/k, S/s, ... are all
     * in the alphabet and the comparison is case-sensitive); rotation and
     * spacing vary per character. */
    {
        int gaps = (n - 1) * 3;
        x = (w - total - gaps) / 2;
    }
    if (x < 4)
        x = 4;
    baseline = h / 2 + 12;
    for (i = 0; i < n; i++) {
        /* Dark ink, channels <= 70: contrast >= ~8:1 on the background. */
        int ink = gdImageColorResolve(im, rng_range(&rng, 0, 70), rng_range(&rng, 0, 70),
                                      rng_range(&rng, 0, 70));
        double angle = (rng_unit(&rng) * 2.0 - 1.0) * GLYPH_ANGLE;
        int dy = rng_range(&rng, -3, 3);

        ch[0] = text[i];
        if (gdImageStringFT(im, brect, ink, (char *)font_path, GLYPH_PT, angle, x, baseline + dy,
                            ch)) {
            gdImageDestroy(im);
            return APR_ENOENT;
        }
        x += advance[i] + rng_range(&rng, 2, 4); /* never touching: "rn" vs "m" */
    }

    /* Foreground clutter: two thin wavy lines across the text and dots. Thin
     * and mid-toned, so they cut glyph outlines for OCR without hiding the
     * glyphs from people. */
    for (i = 0; i < 2; i++) {
        int colour = rng_colour(&rng, im, 70, 150);
        double amp = 4.0 + rng_unit(&rng) * 6.0;
        double period = 40.0 + rng_unit(&rng) * 50.0;
        double phase = rng_unit(&rng) * 6.2832;
        double y0 = h * (0.3 + 0.4 * rng_unit(&rng));
        int px = 0, py = (int)(y0 + amp * sin(phase));
        int xx;

        for (xx = 4; xx < w; xx += 4) {
            int yy = (int)(y0 + amp * sin(phase + xx * 6.2832 / period));
            gdImageLine(im, px, py, xx, yy, colour);
            px = xx;
            py = yy;
        }
    }
    for (i = 0; i < 350; i++)
        gdImageSetPixel(im, rng_range(&rng, 0, w - 1), rng_range(&rng, 0, h - 1),
                        rng_colour(&rng, im, 60, 230));

    data = gdImagePngPtrEx(im, &size, 9);
    gdImageDestroy(im);
    if (!data || size <= 0) {
        if (data)
            gdFree(data);
        return APR_ENOMEM;
    }
    *png = apr_pmemdup(p, data, (apr_size_t)size);
    *len = (size_t)size;
    gdFree(data);
    return APR_SUCCESS;
}

apr_status_t afl_captcha_render(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                                const char *id, const char *font_path, const unsigned char **png,
                                size_t *len)
{
    char answer[AFL_CAPTCHA_LEN + 1];
    apr_status_t rv;

    afl_captcha_answer(secret, secret_len, id, answer);
    rv = afl_captcha_png(p, answer, font_path, afl_captcha_seed(secret, secret_len, id), png, len);
    OPENSSL_cleanse(answer, sizeof answer);
    return rv;
}

void afl_captcha_global_init(void)
{
    gdFontCacheSetup();
}

void afl_captcha_global_cleanup(void)
{
    gdFontCacheShutdown();
}
