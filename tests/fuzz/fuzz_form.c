/* Fuzz target: afl_form. The input is parsed as an urlencoded body; the resulting table
 * goes through both form validators, and the raw input through every text and e-mail
 * helper. Invariants checked: no crash or leak; what a validator accepts really has the
 * properties documented in afl_form.h. */
#include "afl_form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(apr_pool_t *p, const char *s)
{
    size_t n = strlen(s);
    int valid = afl_text_valid_utf8(s, n);
    const char *t, *c;
    char *w;

    if (afl_text_is_safe(s) && (!valid || strpbrk(s, "\r\n\t\x7f")))
        abort();
    if (afl_text_cp1252_ok(s)) {
        if (!valid || !(w = afl_text_to_cp1252(p, s)) || strlen(w) > n)
            abort();
        if (afl_text_utf8_len(s) != strlen(w))
            abort(); /* one CP1252 byte per code point */
    } else if (valid && afl_text_to_cp1252(p, s) != NULL) {
        abort();
    }
    t = afl_text_trim(p, s);
    if (strlen(t) > n ||
        (*t && (strchr(" \t\n\v\f\r", t[0]) || strchr(" \t\n\v\f\r", t[strlen(t) - 1]))))
        abort();
    if (valid) {
        c = afl_text_compose_latin(p, s);
        if (strlen(c) > n || !afl_text_valid_utf8(c, strlen(c)))
            abort();
    }
    if (afl_email_valid(s)) {
        if (n > AFL_EMAIL_MAX || strpbrk(s, "\r\n \"\t,<>()[]\\;:") || !strchr(s, '@'))
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80)
                abort();
    }
    (void)afl_email_normalize(p, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    apr_pool_t *p;
    apr_table_t *t = NULL;
    apr_status_t rv;

    if (!initialized) {
        apr_initialize();
        initialized = 1;
    }
    apr_pool_create(&p, NULL);

    rv = afl_form_parse(p, (const char *)data, size, 32, &t);
    if (rv == APR_SUCCESS) {
        const apr_array_header_t *arr = apr_table_elts(t);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        afl_solicitud s;
        afl_address a;

        if (arr->nelts > 32)
            abort();
        for (int i = 0; i < arr->nelts; i++) {
            if (!*e[i].key)
                abort();
            for (int j = 0; j < i; j++)
                if (!strcasecmp(e[i].key, e[j].key))
                    abort(); /* repeated names must have been refused */
            check_text(p, e[i].val);
        }
        afl_form_solicitud(p, t, &s);
        if (!s.err_correo && !afl_email_valid(s.correo))
            abort();
        if (!s.err_curp && (!*s.curp || strlen(s.curp) > AFL_CURP_MAX_RAW))
            abort();
        if (!s.err_captcha && strlen(s.captcha) > AFL_CAPTCHA_MAX)
            abort();
        afl_form_address(p, t, &a);
        {
            const char *v[] = {a.colonia, a.calle, a.numero_exterior, a.numero_interior};
            const char *m[] = {a.err_colonia, a.err_calle, a.err_numero_exterior,
                               a.err_numero_interior};

            for (int i = 0; i < 4; i++)
                if (!m[i] && *v[i] && !(afl_text_is_safe(v[i]) && afl_text_cp1252_ok(v[i])))
                    abort();
            if (!a.err_cp && strspn(a.cp, "0123456789") != 5)
                abort();
        }
    } else if (rv != AFL_FORM_EBADENC && rv != AFL_FORM_EREPEATED && rv != AFL_FORM_ETOOMANY &&
               rv != AFL_FORM_ENUL) {
        abort();
    }

    /* The raw input as one string. */
    check_text(p, apr_pstrmemdup(p, (const char *)data, size));
    apr_pool_destroy(p);
    return 0;
}
