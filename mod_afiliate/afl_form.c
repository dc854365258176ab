/* Form decoding and input validation. See afl_form.h for the rules. */
#include "afl_form.h"
#include "afl_utf8.h"

#include <stdint.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>

/* ------------------------------------------------------------------ UTF-8 */

int afl_text_valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;

    if (!s)
        return n == 0;
    while (i < n) {
        size_t k;

        /* ASCII runs are the common case: skip them without decoding. */
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        k = afl_utf8_decode(u + i, n - i, &cp);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

size_t afl_text_utf8_len(const char *s)
{
    size_t n = 0;

    /* Count every byte that is not a continuation byte. */
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Calls fn on every code point of the NUL-terminated s; 0 when s is not valid UTF-8 or
 * fn refuses a code point. */
static int each_cp(const char *s, int (*fn)(uint32_t))
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    uint32_t cp;

    while (i < n) {
        size_t k = afl_utf8_decode(u + i, n - i, &cp);

        if (!k || !fn(cp))
            return 0;
        i += k;
    }
    return 1;
}

static int cp_safe(uint32_t c)
{
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
        return 0; /* C0, DEL, C1 */
    if (c < 0xAD)
        return 1;
    if (c == 0xAD || c == 0x061C || c == 0x180E)
        return 0; /* soft hyphen, Arabic letter mark, Mongolian vowel separator */
    if (c >= 0x200B && c <= 0x200F)
        return 0; /* zero-width space/non-joiner/joiner, LRM, RLM */
    if (c >= 0x2028 && c <= 0x202E)
        return 0; /* line/paragraph separator, bidi embeddings and overrides */
    if (c >= 0x2060 && c <= 0x206F)
        return 0; /* word joiner, invisible operators, bidi isolates, deprecated formats */
    if (c == 0xFEFF)
        return 0; /* zero-width no-break space (BOM) */
    if (c >= 0xFFF9 && c <= 0xFFFB)
        return 0; /* interlinear annotation */
    if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
        return 0; /* noncharacters */
    if (c >= 0xE0000 && c <= 0xE007F)
        return 0; /* tag characters: invisible, used to smuggle text */
    return 1;
}

int afl_text_is_safe(const char *s)
{
    return s && each_cp(s, cp_safe);
}

/* Windows-1252 bytes 0x80-0x9F and the code points they stand for (the five unused
 * bytes 0x81 0x8D 0x8F 0x90 0x9D are left out). */
static const struct {
    uint16_t cp;
    unsigned char byte;
} cp1252_high[] = {
    {0x20AC, 0x80}, {0x201A, 0x82}, {0x0192, 0x83}, {0x201E, 0x84}, {0x2026, 0x85}, {0x2020, 0x86},
    {0x2021, 0x87}, {0x02C6, 0x88}, {0x2030, 0x89}, {0x0160, 0x8A}, {0x2039, 0x8B}, {0x0152, 0x8C},
    {0x017D, 0x8E}, {0x2018, 0x91}, {0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95},
    {0x2013, 0x96}, {0x2014, 0x97}, {0x02DC, 0x98}, {0x2122, 0x99}, {0x0161, 0x9A}, {0x203A, 0x9B},
    {0x0153, 0x9C}, {0x017E, 0x9E}, {0x0178, 0x9F},
};

/* The CP1252 byte for c, or -1. */
static int cp1252_byte(uint32_t c)
{
    size_t i;

    if (c < 0x80 || (c >= 0xA0 && c <= 0xFF))
        return (int)c;
    for (i = 0; i < sizeof cp1252_high / sizeof cp1252_high[0]; i++)
        if (cp1252_high[i].cp == c)
            return cp1252_high[i].byte;
    return -1;
}

static int cp_in_cp1252(uint32_t c)
{
    return cp1252_byte(c) >= 0;
}

int afl_text_cp1252_ok(const char *s)
{
    return s && each_cp(s, cp_in_cp1252);
}

/* UTF-8 to CP1252, one byte per code point (never longer than the input). Strict: NULL
 * for invalid UTF-8 or a code point CP1252 lacks. Lossy: '?' for each of those (an invalid
 * sequence with its continuation bytes) and a space for an ASCII control character. */
static char *to_cp1252(apr_pool_t *p, const char *s, int lossy)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n, i = 0, o = 0;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s);
    out = apr_palloc(p, n + 1);
    while (i < n) {
        uint32_t cp;
        size_t k;
        int b;

        if (lossy && u[i] < 0x80) { /* ASCII: no decoding */
            out[o++] = u[i] < 0x20 || u[i] == 0x7F ? ' ' : (char)u[i];
            i++;
            continue;
        }
        k = afl_utf8_decode(u + i, n - i, &cp);
        b = k ? cp1252_byte(cp) : -1;
        if (b < 0) {
            if (!lossy)
                return NULL;
            if (!k)
                for (k = 1; k < 4 && i + k < n && (u[i + k] & 0xC0) == 0x80; k++)
                    ;
            b = '?';
        }
        out[o++] = (char)b;
        i += k;
    }
    out[o] = '\0';
    return out;
}

char *afl_text_to_cp1252(apr_pool_t *p, const char *s)
{
    return to_cp1252(p, s, 0);
}

char *afl_text_to_cp1252_lossy(apr_pool_t *p, const char *s)
{
    return to_cp1252(p, s, 1);
}

const char *afl_text_trim(apr_pool_t *p, const char *s)
{
    const char *b = s;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s);
    afl_utf8_trim(&b, &n);
    if (b == s && s[n] == '\0')
        return s;
    return apr_pstrmemdup(p, b, n);
}

/* Latin-1 letters that are an ASCII letter plus one combining mark (Unicode canonical
 * decompositions of U+00C0-U+00FF). */
static const struct {
    char base;
    unsigned char mark; /* second byte of the mark's UTF-8 encoding, CC xx */
    unsigned char composed;
} latin_compose[] = {
    /* U+0300 grave */
    {'A', 0x80, 0xC0},
    {'E', 0x80, 0xC8},
    {'I', 0x80, 0xCC},
    {'O', 0x80, 0xD2},
    {'U', 0x80, 0xD9},
    {'a', 0x80, 0xE0},
    {'e', 0x80, 0xE8},
    {'i', 0x80, 0xEC},
    {'o', 0x80, 0xF2},
    {'u', 0x80, 0xF9},
    /* U+0301 acute */
    {'A', 0x81, 0xC1},
    {'E', 0x81, 0xC9},
    {'I', 0x81, 0xCD},
    {'O', 0x81, 0xD3},
    {'U', 0x81, 0xDA},
    {'Y', 0x81, 0xDD},
    {'a', 0x81, 0xE1},
    {'e', 0x81, 0xE9},
    {'i', 0x81, 0xED},
    {'o', 0x81, 0xF3},
    {'u', 0x81, 0xFA},
    {'y', 0x81, 0xFD},
    /* U+0302 circumflex */
    {'A', 0x82, 0xC2},
    {'E', 0x82, 0xCA},
    {'I', 0x82, 0xCE},
    {'O', 0x82, 0xD4},
    {'U', 0x82, 0xDB},
    {'a', 0x82, 0xE2},
    {'e', 0x82, 0xEA},
    {'i', 0x82, 0xEE},
    {'o', 0x82, 0xF4},
    {'u', 0x82, 0xFB},
    /* U+0303 tilde */
    {'A', 0x83, 0xC3},
    {'N', 0x83, 0xD1},
    {'O', 0x83, 0xD5},
    {'a', 0x83, 0xE3},
    {'n', 0x83, 0xF1},
    {'o', 0x83, 0xF5},
    /* U+0308 diaeresis */
    {'A', 0x88, 0xC4},
    {'E', 0x88, 0xCB},
    {'I', 0x88, 0xCF},
    {'O', 0x88, 0xD6},
    {'U', 0x88, 0xDC},
    {'a', 0x88, 0xE4},
    {'e', 0x88, 0xEB},
    {'i', 0x88, 0xEF},
    {'o', 0x88, 0xF6},
    {'u', 0x88, 0xFC},
    {'y', 0x88, 0xFF},
    /* U+030A ring above */
    {'A', 0x8A, 0xC5},
    {'a', 0x8A, 0xE5},
    /* U+0327 cedilla */
    {'C', 0xA7, 0xC7},
    {'c', 0xA7, 0xE7},
};

static int latin_composed(char base, unsigned char mark)
{
    size_t i;

    for (i = 0; i < sizeof latin_compose / sizeof latin_compose[0]; i++)
        if (latin_compose[i].base == base && latin_compose[i].mark == mark)
            return latin_compose[i].composed;
    return -1;
}

const char *afl_text_compose_latin(apr_pool_t *p, const char *s)
{
    size_t n, i, o = 0;
    char *out;

    if (!s)
        return NULL;
    /* Nothing to do unless a combining mark U+0300-U+033F (CC 80-BF) is present. */
    if (!strchr(s, '\xCC'))
        return s;
    n = strlen(s);
    out = apr_palloc(p, n + 1); /* base + 2-byte mark becomes 2 bytes: never grows */
    for (i = 0; i < n; i++) {
        int c;

        if ((unsigned char)s[i] == 0xCC && i + 1 < n && o > 0 &&
            (c = latin_composed(out[o - 1], (unsigned char)s[i + 1])) >= 0) {
            /* U+00C0-U+00FF encode as C3 80-BF. */
            out[o - 1] = (char)0xC3;
            out[o++] = (char)(0x80 | (c & 0x3F));
            i++;
            continue;
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------ urlencoded */

/* Decode s[0..n) into a new NUL-terminated string. */
static apr_status_t url_decode(apr_pool_t *p, const char *s, size_t n, char **out)
{
    char *d = apr_palloc(p, n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;

            if (n - i < 3 || (hi = OPENSSL_hexchar2int((unsigned char)s[i + 1])) < 0 ||
                (lo = OPENSSL_hexchar2int((unsigned char)s[i + 2])) < 0)
                return AFL_FORM_EBADENC;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return AFL_FORM_ENUL; /* a raw NUL or %00: C strings would truncate it */
        d[o++] = (char)c;
    }
    d[o] = '\0';
    *out = d;
    return APR_SUCCESS;
}

apr_status_t afl_form_parse(apr_pool_t *p, const char *body, size_t len, size_t max_fields,
                            apr_table_t **out)
{
    apr_table_t *t;
    apr_hash_t *seen;
    size_t nfields = 0, pos = 0;

    if (!body)
        len = 0;
    t = apr_table_make(p, max_fields < 16 ? (int)max_fields : 16);
    /* apr_table_get() is linear; a hash of lower-cased names keeps duplicate detection
     * linear in the number of fields whatever max_fields the caller picks. */
    seen = apr_hash_make(p);

    while (pos < len) {
        const char *seg = body + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t seglen = amp ? (size_t)(amp - seg) : len - pos;
        const char *eq;
        char *name, *value, *key;
        apr_status_t st;
        size_t k;

        pos += seglen + 1;
        if (seglen == 0)
            continue;
        if (++nfields > max_fields)
            return AFL_FORM_ETOOMANY;
        eq = memchr(seg, '=', seglen);
        if (eq == seg)
            return AFL_FORM_EBADENC; /* "=x": browsers never send a nameless field */
        st = url_decode(p, seg, eq ? (size_t)(eq - seg) : seglen, &name);
        if (st != APR_SUCCESS)
            return st;
        if (eq) {
            st = url_decode(p, eq + 1, seglen - (size_t)(eq - seg) - 1, &value);
            if (st != APR_SUCCESS)
                return st;
        } else {
            value = "";
        }
        key = apr_pstrdup(p, name);
        for (k = 0; key[k]; k++)
            key[k] = (char)apr_tolower(key[k]);
        if (apr_hash_get(seen, key, APR_HASH_KEY_STRING))
            return AFL_FORM_EREPEATED;
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
        apr_table_addn(t, name, value);
    }
    *out = t;
    return APR_SUCCESS;
}

const char *afl_form_strerror(apr_status_t st)
{
    switch (st) {
    case APR_SUCCESS:
        return "ok";
    case AFL_FORM_EBADENC:
        return "malformed form encoding (bad %-escape or nameless field)";
    case AFL_FORM_EREPEATED:
        return "repeated form field (parameter pollution)";
    case AFL_FORM_ETOOMANY:
        return "too many form fields";
    case AFL_FORM_ENUL:
        return "NUL byte in a form field";
    default:
        return "unknown form error";
    }
}

/* ------------------------------------------------------------------ e-mail */

/* RFC 5322 atext. */
static int is_atext(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int afl_email_valid(const char *s)
{
    const char *at, *label;
    size_t n, i, nlabels = 0;

    if (!s)
        return 0;
    n = strlen(s);
    if (n == 0 || n > AFL_EMAIL_MAX)
        return 0;
    at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return 0;

    /* Local part: dot-atom. */
    if (at == s || (size_t)(at - s) > AFL_EMAIL_LOCAL_MAX || s[0] == '.' || at[-1] == '.')
        return 0;
    for (i = 0; s + i < at; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (c >= 0x80 || !is_atext(c)) {
            return 0;
        }
    }

    /* Domain: LDH labels. */
    label = at + 1;
    for (;;) {
        size_t llen;
        const char *e = label;

        while (*e && *e != '.')
            e++;
        llen = (size_t)(e - label);
        if (llen == 0 || llen > AFL_EMAIL_LABEL_MAX || label[0] == '-' || e[-1] == '-')
            return 0;
        for (i = 0; i < llen; i++)
            if ((unsigned char)label[i] >= 0x80 || !(apr_isalnum(label[i]) || label[i] == '-'))
                return 0;
        nlabels++;
        if (!*e) {
            /* Last label is the TLD: letters only, at least two. */
            if (llen < 2)
                return 0;
            for (i = 0; i < llen; i++)
                if (!apr_isalpha(label[i]))
                    return 0;
            break;
        }
        label = e + 1;
    }
    return nlabels >= 2;
}

const char *afl_email_normalize(apr_pool_t *p, const char *s)
{
    char *c, *at;

    if (!s)
        return NULL;
    c = apr_pstrdup(p, afl_text_trim(p, s));
    at = strchr(c, '@');
    if (at)
        for (at++; *at; at++)
            *at = (char)apr_tolower(*at);
    return c;
}

static int ascii_casecmp(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int d = apr_tolower(*a) - apr_tolower(*b);

        if (d)
            return d;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

/* ------------------------------------------------------------------ first form */

/* The trimmed value of a field, "" when absent. */
static const char *field(apr_pool_t *p, const apr_table_t *t, const char *name)
{
    const char *v = apr_table_get(t, name);

    return v ? afl_text_trim(p, v) : "";
}

static int token_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > AFL_TOKEN_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || !(apr_isalnum(s[i]) || strchr("-_.=~:+/", s[i])))
            return 0;
    return 1;
}

int afl_form_solicitud(apr_pool_t *p, const apr_table_t *t, afl_solicitud *out)
{
    const char *v;
    size_t i;

    memset(out, 0, sizeof *out);

    out->curp = field(p, t, AFL_FIELD_CURP);
    if (!*out->curp)
        out->err_curp = AFL_MSG_REQUIRED;
    else if (strlen(out->curp) > AFL_CURP_MAX_RAW)
        out->err_curp = AFL_MSG_CURP_LENGTH;

    out->correo = afl_email_normalize(p, field(p, t, AFL_FIELD_CORREO));
    if (!*out->correo)
        out->err_correo = AFL_MSG_REQUIRED;
    else if (!afl_email_valid(out->correo))
        out->err_correo = AFL_MSG_EMAIL_INVALID;

    /* The confirmation exists to catch typos, so it is only compared; case differences
     * are not typos that change the mailbox in practice, hence the caseless compare. */
    out->correo_confirmacion = afl_email_normalize(p, field(p, t, AFL_FIELD_CORREO_CONF));
    if (!*out->correo_confirmacion)
        out->err_correo_confirmacion = AFL_MSG_REQUIRED;
    else if (*out->correo && ascii_casecmp(out->correo, out->correo_confirmacion) != 0)
        out->err_correo_confirmacion = AFL_MSG_EMAIL_MISMATCH;

    /* CAPTCHA answers are letters and digits, compared case-sensitively elsewhere. */
    v = out->captcha = field(p, t, AFL_FIELD_CAPTCHA);
    if (!*v) {
        out->err_captcha = AFL_MSG_REQUIRED;
    } else if (strlen(v) > AFL_CAPTCHA_MAX) {
        out->err_captcha = AFL_MSG_CAPTCHA;
    } else {
        for (i = 0; v[i]; i++)
            if ((unsigned char)v[i] >= 0x80 || !apr_isalnum(v[i])) {
                out->err_captcha = AFL_MSG_CAPTCHA;
                break;
            }
    }

    out->captcha_id = field(p, t, AFL_FIELD_CAPTCHA_ID);
    out->csrf = field(p, t, AFL_FIELD_CSRF);
    if (!token_ok(out->captcha_id) || !token_ok(out->csrf)) {
        out->tampered = 1;
        out->err_form = AFL_MSG_FORM;
    }

    out->nerrors = !!out->err_curp + !!out->err_correo + !!out->err_correo_confirmacion +
                   !!out->err_captcha + out->tampered;
    return out->nerrors;
}

const char *afl_form_curp_message(int reason)
{
    static const char *const msg[] = {
        NULL,
        AFL_MSG_CURP_LENGTH,
        "La CURP no tiene el formato correcto: 4 letras, 6 dígitos de tu fecha de "
        "nacimiento, la letra del sexo, 2 letras de la entidad de nacimiento, 3 consonantes, "
        "la homoclave y el dígito verificador.",
        "La letra del sexo (posición 11 de la CURP) debe ser H, M o X.",
        "La clave de la entidad de nacimiento (posiciones 12 y 13 de la CURP) no es válida.",
        "La fecha de nacimiento de la CURP (posiciones 5 a 10, año, mes y día) no es una "
        "fecha válida.",
        "La CURP no es válida. Verifica que la hayas escrito correctamente.",
        "El dígito verificador de la CURP (último carácter) no corresponde. Verifica que la "
        "hayas escrito correctamente.",
    };

    if (reason >= 0 && (size_t)reason < sizeof msg / sizeof msg[0])
        return msg[reason];
    return "La CURP no es válida. Verifica que la hayas escrito correctamente.";
}

/* ------------------------------------------------------------------ address form */

/* The address allow-list (see afl_form.h). */
static int addr_cp_ok(uint32_t c)
{
    if (c < 0x80)
        return apr_isalnum(c) || (c && strchr(" .,-#/'\"()[]", (int)c) != NULL);
    if (c >= 0xC0 && c <= 0xFF)
        return c != 0xD7 && c != 0xF7; /* Latin-1 letters, but not × and ÷ */
    return c == 0xB0 || c == 0xBA || c == 0xAA || c == 0xB4 ||       /* ° º ª ´ */
           c == 0x2018 || c == 0x2019 || c == 0x201C || c == 0x201D; /* ‘ ’ “ ” */
}

/* Validate one address text field; returns the Spanish message or NULL, and stores the
 * trimmed, composed value. */
static const char *addr_text(apr_pool_t *p, const apr_table_t *t, const char *name, size_t max,
                             int required, const char **value)
{
    const char *v = field(p, t, name);
    size_t n = strlen(v);

    *value = v;
    if (n == 0)
        return required ? AFL_MSG_REQUIRED : NULL;
    /* 4 bytes is the longest UTF-8 character: longer cannot be within max characters,
     * and bounding it first bounds the work below. */
    if (n > 4 * max)
        return apr_psprintf(p, "Máximo %" APR_SIZE_T_FMT " caracteres", max);
    if (!afl_text_valid_utf8(v, n))
        return AFL_MSG_CHARS;
    *value = v = afl_text_compose_latin(p, v);
    if (afl_text_utf8_len(v) > max)
        return apr_psprintf(p, "Máximo %" APR_SIZE_T_FMT " caracteres", max);
    if (!each_cp(v, addr_cp_ok))
        return AFL_MSG_CHARS;
    return NULL;
}

int afl_form_address(apr_pool_t *p, const apr_table_t *t, afl_address *out)
{
    const char *cp;
    size_t i;

    memset(out, 0, sizeof *out);

    cp = out->cp = field(p, t, AFL_FIELD_CP);
    if (!*cp) {
        out->err_cp = AFL_MSG_REQUIRED;
    } else {
        for (i = 0; cp[i] >= '0' && cp[i] <= '9'; i++)
            ;
        if (i != 5 || cp[i] != '\0')
            out->err_cp = AFL_MSG_CP;
    }
    out->err_colonia = addr_text(p, t, AFL_FIELD_COLONIA, AFL_COLONIA_MAX, 1, &out->colonia);
    out->err_calle = addr_text(p, t, AFL_FIELD_CALLE, AFL_CALLE_MAX, 1, &out->calle);
    out->err_numero_exterior =
        addr_text(p, t, AFL_FIELD_NUM_EXT, AFL_NUM_EXT_MAX, 1, &out->numero_exterior);
    out->err_numero_interior =
        addr_text(p, t, AFL_FIELD_NUM_INT, AFL_NUM_INT_MAX, 0, &out->numero_interior);

    out->nerrors = !!out->err_cp + !!out->err_colonia + !!out->err_calle +
                   !!out->err_numero_exterior + !!out->err_numero_interior;
    return out->nerrors;
}
