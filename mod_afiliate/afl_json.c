/* afl_json: JSON string literals. */
#include "afl_json.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

const char *afl_json_str(apr_pool_t *p, const char *s)
{
    size_t n = strlen(s);
    char *out = apr_palloc(p, n * 6 + 3), *o = out;

    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        default:
            if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&') {
                sprintf(o, "\\u%04x", *c);
                o += 6;
            } else {
                *o++ = (char)*c;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}
