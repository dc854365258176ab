/* afl_utf8: strict UTF-8 decoding. See afl_utf8.h. */
#include "afl_utf8.h"

#include <string.h>

size_t afl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    uint32_t v;
    size_t len;

    if (c < 0x80) {
        v = c;
        len = 1;
    } else if (c < 0xC2) {
        return 0;
    } else if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        v = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        len = 2;
    } else if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;
        v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        len = 3;
    } else if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
            ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        len = 4;
    } else {
        return 0;
    }
    if (cp)
        *cp = v;
    return len;
}

int afl_utf8_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

void afl_utf8_trim(const char **s, size_t *n)
{
    const unsigned char *u = (const unsigned char *)*s;
    size_t len = u ? *n : 0;

    while (len && is_space(u[0])) {
        u++;
        len--;
    }
    while (len && is_space(u[len - 1]))
        len--;
    *s = (const char *)u;
    *n = len;
}

int afl_utf8_printable(const char *s, int tab_ok)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;

    while (i < n) {
        uint32_t cp;
        size_t k = afl_utf8_decode(u + i, n - i, &cp);

        if (!k || (afl_utf8_is_control(cp) && !(tab_ok && cp == '\t')))
            return 0;
        i += k;
    }
    return 1;
}
