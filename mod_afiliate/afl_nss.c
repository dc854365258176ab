/* NSS validation and composition (docs/domain.md, NSS). */
#include "afl_nss.h"
#include "afl_utf8.h"

#include <stdio.h>
#include <string.h>

#define NSS_LEN 11

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int afl_nss_check_digit(const char *first10)
{
    int sum = 0;

    if (!first10)
        return -1;
    for (int i = 0; i < 10; i++) {
        unsigned char c = (unsigned char)first10[i];
        int v;
        if (!is_digit(c))
            return -1; /* also stops at a NUL before the 10th digit */
        v = (c - '0') * (i % 2 ? 2 : 1);
        sum += v > 9 ? v - 9 : v; /* 18 -> 1+8 */
    }
    return (10 - sum % 10) % 10;
}

afl_nss_reason afl_nss_validate(const char *input, size_t len, char out[12])
{
    const unsigned char *p;

    if (out)
        out[0] = '\0';
    afl_utf8_trim(&input, &len);
    p = (const unsigned char *)input;
    if (len != NSS_LEN)
        return AFL_NSS_BAD_LENGTH;
    for (int i = 0; i < NSS_LEN; i++)
        if (!is_digit(p[i]))
            return AFL_NSS_BAD_CHARS;
    if (out) {
        memcpy(out, p, NSS_LEN);
        out[NSS_LEN] = '\0';
    }
    if (afl_nss_check_digit((const char *)p) != p[10] - '0')
        return AFL_NSS_BAD_CHECK_DIGIT;
    return AFL_NSS_OK;
}

const char *afl_nss_reason_code(afl_nss_reason r)
{
    switch (r) {
    case AFL_NSS_OK:
        return "ok";
    case AFL_NSS_BAD_LENGTH:
        return "bad_length";
    case AFL_NSS_BAD_CHARS:
        return "bad_chars";
    case AFL_NSS_BAD_CHECK_DIGIT:
        return "bad_check_digit";
    }
    return "unknown";
}

int afl_nss_compose(int serie, int reg_year, int birth_year, int folio, char out[12])
{
    out[0] = '\0';
    if (serie < 0 || serie > 99 || reg_year < 0 || reg_year > 99 || birth_year < 0 ||
        birth_year > 99 || folio < 0 || folio > 9999)
        return -1;
    snprintf(out, 11, "%02d%02d%02d%04d", serie, reg_year, birth_year, folio);
    out[10] = (char)('0' + afl_nss_check_digit(out));
    out[11] = '\0';
    return 0;
}

static int digits(const char *s, int n)
{
    int v = 0;

    while (n--)
        v = v * 10 + (*s++ - '0');
    return v;
}

int afl_nss_parse(const char *nss11, afl_nss_parts *parts)
{
    char d[12];

    if (parts)
        memset(parts, 0, sizeof *parts);
    if (!nss11 || afl_nss_validate(nss11, strlen(nss11), d) != AFL_NSS_OK)
        return -1;
    if (parts) {
        parts->serie = digits(d, 2);
        parts->reg_year = digits(d + 2, 2);
        parts->birth_year = digits(d + 4, 2);
        parts->folio = digits(d + 6, 4);
        parts->check = d[10] - '0';
    }
    return 0;
}
