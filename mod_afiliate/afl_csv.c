/* afl_csv: RFC 4180 records from memory (afl_csv.h). */
#include "afl_csv.h"

#include <string.h>

#include <apr_strings.h>

void afl_csv_init(afl_csv *c, const char *text, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->p = text ? text : "";
    c->end = c->p + len;
    c->line = 1;
    if (len >= 3 && !memcmp(c->p, "\xEF\xBB\xBF", 3)) /* UTF-8 BOM */
        c->p += 3;
}

static int at_eol(const afl_csv *c, const char *q)
{
    return *q == '\n' || (*q == '\r' && q + 1 < c->end && q[1] == '\n');
}

static int fail(afl_csv *c, afl_csv_error e, int column)
{
    c->error = e;
    c->error_column = column;
    c->error_line = c->line;
    return -1;
}

static int too_many(const afl_csv *c, const apr_array_header_t *fields)
{
    return c->max_fields > 0 && fields->nelts >= c->max_fields;
}

static int too_long(const afl_csv *c, const char *start, const char *q)
{
    return c->max_record > 0 && (size_t)(q - start) > c->max_record;
}

int afl_csv_next(afl_csv *c, apr_pool_t *pool, apr_array_header_t *fields)
{
    const char *start;

    apr_array_clear(fields);
    c->error = AFL_CSV_OK;
    while (c->p < c->end && at_eol(c, c->p)) { /* blank lines */
        c->p += (*c->p == '\r') ? 2 : 1;
        c->line++;
    }
    if (c->p >= c->end)
        return 0;
    c->rec_line = c->line;
    start = c->p;
    for (;;) {
        char *buf;
        size_t n = 0;
        int col = fields->nelts + 1;

        if (too_many(c, fields))
            return fail(c, AFL_CSV_TOO_MANY, col);
        if (*c->p == '"') {
            /* Find the closing quote first: the value is at most that long. */
            const char *q = c->p + 1;
            while (q < c->end && !(*q == '"' && (q + 1 >= c->end || q[1] != '"')))
                q += (*q == '"') ? 2 : 1;
            if (q >= c->end)
                return fail(c, AFL_CSV_UNCLOSED_QUOTE, col);
            if (too_long(c, start, q))
                return fail(c, AFL_CSV_TOO_LONG, col);
            buf = apr_palloc(pool, (apr_size_t)(q - c->p));
            for (const char *s = c->p + 1; s < q; s++) {
                if (*s == '\n')
                    c->line++;
                buf[n++] = *s;
                if (*s == '"')
                    s++; /* "" -> " */
            }
            c->p = q + 1;
            if (c->p < c->end && *c->p != ',' && !at_eol(c, c->p))
                return fail(c, AFL_CSV_AFTER_QUOTE, col);
        } else {
            const char *q = c->p;
            while (q < c->end && *q != ',' && !at_eol(c, q)) {
                if (*q == '"')
                    return fail(c, AFL_CSV_QUOTE_INSIDE, col);
                q++;
            }
            if (too_long(c, start, q))
                return fail(c, AFL_CSV_TOO_LONG, col);
            n = (size_t)(q - c->p);
            buf = apr_palloc(pool, n + 1);
            memcpy(buf, c->p, n);
            c->p = q;
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
            return fail(c, AFL_CSV_NUL, col);
        APR_ARRAY_PUSH(fields, char *) = buf;
        if (c->p >= c->end)
            return 1;
        if (*c->p == ',') {
            c->p++;
            if (c->p >= c->end) { /* a trailing separator: one more, empty field */
                if (too_many(c, fields))
                    return fail(c, AFL_CSV_TOO_MANY, fields->nelts + 1);
                APR_ARRAY_PUSH(fields, char *) = apr_pstrdup(pool, "");
                return 1;
            }
            continue;
        }
        c->p += (*c->p == '\r') ? 2 : 1;
        c->line++;
        return 1;
    }
}

char *afl_csv_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}
