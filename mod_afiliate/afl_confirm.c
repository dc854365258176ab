/* afl_confirm: the e-mail confirmation link (afl_confirm.h). */
#include "afl_confirm.h"

#include <apr_strings.h>
#include <string.h>

#include "afl_token.h"

#define TRAMITE_HEX 64
#define PURPOSE "confirmar-correo"

static const char *payload(apr_pool_t *p, const char *tramite_id, long long expires)
{
    return apr_psprintf(p, "%s.%" APR_INT64_T_FMT, tramite_id, (apr_int64_t)expires);
}

const char *afl_confirm_token(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                              const char *tramite_id, long long expires)
{
    const char *data, *mac;

    if (!tramite_id || !afl_token_is_hex(tramite_id, TRAMITE_HEX) || expires <= 0)
        return NULL;
    data = payload(p, tramite_id, expires);
    mac = afl_token_hmac(p, secret, secret_len, PURPOSE, data, AFL_CONFIRM_MAC_HEX);
    return mac ? apr_pstrcat(p, data, ".", mac, NULL) : NULL;
}

/* Splits "<64 hex>.<digits>.<32 hex>"; 0 when the token has another shape. */
static int parse(const char *token, long long *expires, const char **mac)
{
    const char *dot, *digits;
    long long v = 0;
    size_t n;

    if (!token || strlen(token) > TRAMITE_HEX + 1 + 18 + 1 + AFL_CONFIRM_MAC_HEX)
        return 0;
    if (strlen(token) < TRAMITE_HEX + 3 || token[TRAMITE_HEX] != '.')
        return 0;
    for (size_t i = 0; i < TRAMITE_HEX; i++)
        if (!token[i] || !strchr("0123456789abcdef", token[i]))
            return 0;
    digits = token + TRAMITE_HEX + 1;
    dot = strchr(digits, '.');
    if (!dot)
        return 0;
    n = (size_t)(dot - digits);
    if (n == 0 || n > 18 || digits[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return 0;
        v = v * 10 + (digits[i] - '0');
    }
    if (!afl_token_is_hex(dot + 1, AFL_CONFIRM_MAC_HEX))
        return 0;
    *expires = v;
    *mac = dot + 1;
    return 1;
}

afl_confirm_check afl_confirm_verify(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                                     const char *token, long long now, const char **tramite_id,
                                     long long *expires)
{
    const char *mac, *want, *id;
    long long exp = 0;

    if (!parse(token, &exp, &mac))
        return AFL_CONFIRM_FORGED;
    id = apr_pstrmemdup(p, token, TRAMITE_HEX);
    want = afl_token_hmac(p, secret, secret_len, PURPOSE, payload(p, id, exp), AFL_CONFIRM_MAC_HEX);
    if (!want || !afl_token_equal(want, mac))
        return AFL_CONFIRM_FORGED;
    if (tramite_id)
        *tramite_id = id;
    if (expires)
        *expires = exp;
    return now < exp ? AFL_CONFIRM_VALID : AFL_CONFIRM_EXPIRED;
}

long long afl_confirm_expiry(const char *token)
{
    long long exp = 0;
    const char *mac;

    return parse(token, &exp, &mac) ? exp : 0;
}

/* The first two bytes of a part (one if it is that short), then "***". A
 * multi-byte UTF-8 character is kept whole. */
static const char *mask_part(apr_pool_t *p, const char *s, size_t n)
{
    size_t keep = 0;

    for (int chars = 0; keep < n && chars < (n > 2 ? 2 : 1); chars++) {
        keep++;
        while (keep < n && ((unsigned char)s[keep] & 0xC0) == 0x80)
            keep++;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, s, keep), "***", NULL);
}

const char *afl_confirm_mask_email(apr_pool_t *p, const char *email)
{
    const char *at, *first, *last;

    if (!email || !(at = strchr(email, '@')) || at == email || !at[1])
        return "***";
    /* The domain's first label masked, its last one (".mx") kept. */
    first = strchr(at + 1, '.');
    last = strrchr(at + 1, '.');
    if (!first || first == at + 1 || !last[1])
        return apr_pstrcat(p, mask_part(p, email, (size_t)(at - email)), "@***", NULL);
    return apr_pstrcat(p, mask_part(p, email, (size_t)(at - email)), "@",
                       mask_part(p, at + 1, (size_t)(first - at - 1)), last, NULL);
}
