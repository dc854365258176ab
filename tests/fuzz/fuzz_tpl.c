/* Fuzz target: afl_tpl. The input is compiled as a template (with a permissive
 * allow-list and one fixed partial) and, when it loads, rendered with a small context
 * whose values include the input itself. Invariants checked: loading either succeeds
 * or gives an error message; rendering succeeds or hits the documented budget; the page
 * is valid UTF-8 without NUL; an escaped value never carries markup characters. */
#include "afl_tpl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

static const char *const allowed[] = {
    "a", "b", "c",    "d",    "e",     "f",    "g",     "h",     "i",    "j",   "k",    "l",
    "m", "n", "o",    "p",    "q",     "r",    "s",     "t",     "u",    "v",   "w",    "x",
    "y", "z", "list", "item", "items", "flag", "empty", "title", "name", "nss", "curp", NULL};

/* Strict UTF-8 check, written independently of the unit under test. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        uint32_t cp;

        if (c == 0)
            return 0; /* no NUL in a page either */
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            k = 2, min = 0x80, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            k = 3, min = 0x800, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            k = 4, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        if (n - i < k)
            return 0;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    apr_pool_t *p;
    afl_tpl_source src[3];
    afl_tpl_decl decls[] = {{"main", allowed}, {"p", allowed}, {NULL, NULL}};
    afl_tpl_set *set = NULL;
    afl_tpl_ctx *ctx;
    const char *err = NULL, *out = NULL, *value;
    apr_size_t len = 0, vlen = size < 256 ? size : 256;
    apr_status_t rv;
    char *esc;

    if (!initialized) {
        apr_initialize();
        initialized = 1;
    }
    apr_pool_create(&p, NULL);

    /* The input as a value: escaped, it must be inert and valid UTF-8. */
    value = apr_pstrmemdup(p, (const char *)data, vlen);
    vlen = strlen(value);
    esc = afl_tpl_escape(p, value, vlen);
    if (!esc || !valid_utf8((const unsigned char *)esc, strlen(esc)) || strpbrk(esc, "<>\"'"))
        abort();

    src[0] = (afl_tpl_source){"main", (const char *)data, size};
    src[1] =
        (afl_tpl_source){"p", "<p>{{a}}{{#list}}[{{b}}|{{n}}]{{/list}}{{^flag}}-{{/flag}}</p>", 0};
    src[1].len = strlen(src[1].text);
    src[2] = (afl_tpl_source){NULL, NULL, 0};
    rv = afl_tpl_load_mem(p, src, decls, &set, &err);
    if (rv != APR_SUCCESS) {
        if (!err || !*err)
            abort();
        apr_pool_destroy(p);
        return 0;
    }

    ctx = afl_tpl_ctx_make(p);
    afl_tpl_set_str(ctx, "a", "<&>\"'\xC3\xB1\xF0\x9F\x98\x80\xE2\x80\xAE");
    afl_tpl_set_strn(ctx, "b", value);
    afl_tpl_set_bool(ctx, "flag", size & 1);
    afl_tpl_set_str(ctx, "empty", "");
    for (int i = 0; i < 3; i++) {
        afl_tpl_ctx *it = afl_tpl_add_item(ctx, "list");

        afl_tpl_set_fmt(it, "n", "%d", i);
        if (i == 1)
            afl_tpl_set_str(it, "b", "\xFF<x>");
        afl_tpl_add_item(it, "items");
    }
    rv = afl_tpl_render(p, set, "main", ctx, &out, &len);
    if (rv == APR_SUCCESS) {
        if (!out || strlen(out) != len || !valid_utf8((const unsigned char *)out, len))
            abort();
    } else if (rv != APR_ENOSPC) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
