/* Fuzz target: the SEPOMEX catalog parser (afl_sepomex).
 *
 * The input is parsed twice: in one buffer and in chunks whose sizes come
 * from the first byte. Both runs must agree on status, row count, error line
 * and on a digest of every field. Every field must be valid UTF-8 without
 * '|', CR, LF or surrounding blanks; rows always have 15 fields. Any violation
 * aborts so that libFuzzer (and the corpus replay) report it. */
#include "afl_sepomex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

typedef struct {
    unsigned long rows;
    uint64_t digest;
    unsigned long last_line;
} summary;

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n;
        if (*s < 0x80) {
            s++;
            continue;
        }
        if (*s >= 0xC2 && *s <= 0xDF)
            n = 1;
        else if (*s >= 0xE0 && *s <= 0xEF)
            n = 2;
        else
            return 0;
        for (int k = 1; k <= n; k++)
            if ((s[k] & 0xC0) != 0x80)
                return 0;
        s += n + 1;
    }
    return 1;
}

static int row_cb(void *baton, const afl_sepomex_row *r, unsigned long line)
{
    summary *sm = baton;
    const char *f[AFL_SEPOMEX_FIELDS] = {
        r->d_codigo,      r->d_asenta, r->d_tipo_asenta,    r->d_mnpio,   r->d_estado,
        r->d_ciudad,      r->d_cp,     r->c_estado,         r->c_oficina, r->c_cp,
        r->c_tipo_asenta, r->c_mnpio,  r->id_asenta_cpcons, r->d_zona,    r->c_cve_ciudad,
    };

    CHECK(line >= 3);
    CHECK(line > sm->last_line);
    sm->last_line = line;
    for (int i = 0; i < AFL_SEPOMEX_FIELDS; i++) {
        size_t n;
        CHECK(f[i] != NULL);
        n = strlen(f[i]);
        CHECK(n <= AFL_SEPOMEX_MAX_LINE * 3);
        CHECK(!strpbrk(f[i], "|\r\n"));
        CHECK(valid_utf8((const unsigned char *)f[i]));
        if (n) {
            CHECK(f[i][0] != ' ' && f[i][0] != '\t');
            CHECK(f[i][n - 1] != ' ' && f[i][n - 1] != '\t');
        }
        for (size_t k = 0; k < n; k++)
            sm->digest = (sm->digest ^ (unsigned char)f[i][k]) * 0x100000001B3ULL;
        sm->digest = (sm->digest ^ 0x1FF) * 0x100000001B3ULL;
    }
    sm->rows++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    summary a = {0, 0xcbf29ce484222325ULL, 0}, b = {0, 0xcbf29ce484222325ULL, 0};
    afl_sepomex_status sa, sb;
    afl_sepomex_parser *p;
    unsigned long line_a;
    size_t chunk = size ? (size_t)data[0] % 17 + 1 : 1;

    p = afl_sepomex_create(row_cb, &a);
    if (!p)
        return 0;
    sa = afl_sepomex_feed(p, (const char *)data, size);
    if (sa == AFL_SEPOMEX_OK)
        sa = afl_sepomex_finish(p);
    line_a = afl_sepomex_error_line(p);
    CHECK((sa == AFL_SEPOMEX_OK) == (afl_sepomex_error(p)[0] == '\0'));
    CHECK(sa != AFL_SEPOMEX_ABORTED && sa != AFL_SEPOMEX_STATE);
    CHECK(afl_sepomex_rows(p) == a.rows);
    afl_sepomex_destroy(p);

    p = afl_sepomex_create(row_cb, &b);
    if (!p)
        return 0;
    sb = AFL_SEPOMEX_OK;
    for (size_t off = 0; off < size && sb == AFL_SEPOMEX_OK; off += chunk)
        sb = afl_sepomex_feed(p, (const char *)data + off, size - off < chunk ? size - off : chunk);
    if (sb == AFL_SEPOMEX_OK)
        sb = afl_sepomex_finish(p);
    CHECK(sa == sb);
    CHECK(a.rows == b.rows);
    CHECK(a.digest == b.digest);
    CHECK(line_a == afl_sepomex_error_line(p));
    afl_sepomex_destroy(p);
    return 0;
}
