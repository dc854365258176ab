/* The document seal: written into a PDF as it is saved, read back and
 * checked by afl_pdf_extract and afl_pdf_verify. */
#include "afl_pdf_seal.h"

#include <string.h>

#include <apr_strings.h>

#include <openssl/crypto.h>

#include "afl_cadena.h"
#include "afl_sign.h"

/* ========================================================= sello digital */

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}

/* Name of the private catalog entry and of its document-seal key. */
#define SEAL_DICT "AfiliateSello"
#define SEAL_SIG "SelloDocumento"

static const char hexdig[] = "0123456789ABCDEF";

/* Check the firma of a document and fill in what the key provides: the
 * sello of the cadena and the serial. Fails the document on an
 * inconsistent firma (a key without a cadena, a key that cannot sign). */
void afl_pdf_firma_prepare(doc_t *d, const afl_pdf_firma *f, const char *tipo, const char *folio)
{
    if (!afl_pdf_doc_ok(d) || !f)
        return;
    d->tipo = tipo;
    d->folio = folio;
    d->cadena = afl_pdf_empty(f->cadena_original) ? NULL : f->cadena_original;
    d->sello = afl_pdf_empty(f->sello) ? NULL : f->sello;
    d->serie = afl_pdf_empty(f->no_serie) ? NULL : f->no_serie;
    if (!f->key)
        return;
    if (!d->cadena) {
        afl_pdf_doc_fail(d, APR_EINVAL, "a signing key was given without a cadena original");
        return;
    }
    if (!afl_sign_is_private(f->key)) {
        afl_pdf_doc_fail(d, APR_EINVAL, "the signing key is not a private key");
        return;
    }
    {
        const char *cf = afl_cadena_campo(d->scratch, d->cadena, "Folio");
        if (!cf || strcmp(cf, folio) != 0) {
            afl_pdf_doc_fail(d, APR_EINVAL, "the cadena original is not of this folio");
            return;
        }
    }
    /* a sello or serial given by the caller (e.g. from the documento row)
     * must be this key's: a sealed document never carries a wrong one */
    if (!d->sello) {
        if (afl_sign_sello(d->p, f->key, d->cadena, strlen(d->cadena), &d->sello) != APR_SUCCESS) {
            afl_pdf_doc_fail(d, APR_EGENERAL, "cannot sign the cadena original");
            return;
        }
    } else if (!afl_sign_sello_is_keys(d->scratch, f->key, d->cadena, strlen(d->cadena),
                                       d->sello)) {
        afl_pdf_doc_fail(d, APR_EINVAL,
                         "the sello digital given is not the key's signature of the cadena");
        return;
    }
    if (!d->serie)
        d->serie = afl_sign_serial(f->key);
    if (strcmp(d->serie, afl_sign_serial(f->key)) != 0) {
        afl_pdf_doc_fail(d, APR_EINVAL, "the No. de serie given is not the key's");
        return;
    }
    d->key = f->key;
}

static HPDF_STATUS add_hex(doc_t *d, HPDF_Dict dict, const char *key, const void *v, size_t n)
{
    HPDF_Binary b = HPDF_Binary_New(d->pdf->mmgr, (HPDF_BYTE *)v, (HPDF_UINT)n);

    if (!b)
        return HPDF_FAILD_TO_ALLOC_MEM;
    return HPDF_Dict_Add(dict, key, b);
}

/* The private catalog dictionary, with a zeroed document seal. */
void afl_pdf_seal_dict(doc_t *d)
{
    HPDF_Dict dict;
    size_t n;
    unsigned char *zeros;

    if (!afl_pdf_doc_ok(d) || !d->key)
        return;
    n = afl_sign_size(d->key);
    zeros = apr_pcalloc(d->scratch, n);
    dict = HPDF_Dict_New(d->pdf->mmgr);
    if (!dict || HPDF_Dict_AddNumber(dict, "V", 1) != HPDF_OK ||
        add_hex(d, dict, "Tipo", d->tipo, strlen(d->tipo)) != HPDF_OK ||
        add_hex(d, dict, "Folio", d->folio, strlen(d->folio)) != HPDF_OK ||
        add_hex(d, dict, "CadenaOriginal", d->cadena, strlen(d->cadena)) != HPDF_OK ||
        add_hex(d, dict, "SelloDigital", d->sello, strlen(d->sello)) != HPDF_OK ||
        add_hex(d, dict, "NoSerie", d->serie, strlen(d->serie)) != HPDF_OK ||
        add_hex(d, dict, SEAL_SIG, zeros, n) != HPDF_OK ||
        HPDF_Dict_Add(d->pdf->catalog, SEAL_DICT, dict) != HPDF_OK) {
        afl_pdf_doc_ok(d);
        afl_pdf_doc_fail(d, APR_EGENERAL, "cannot add the seal dictionary");
    }
}

/* Where the hex digits of the document seal are: the only "/SelloDocumento
 * <" of the file, followed by 2 * siglen hex digits and '>'. 0 ok. */
static int seal_region(const unsigned char *buf, size_t len, size_t siglen, size_t *at)
{
    static const char needle[] = "/" SEAL_SIG " <";
    const size_t nl = sizeof needle - 1;
    const unsigned char *hit, *again;
    size_t pos;

    hit = memmem(buf, len, needle, nl);
    if (!hit)
        return -1;
    pos = (size_t)(hit - buf) + nl;
    again = memmem(buf + pos, len - pos, needle, nl);
    if (again)
        return -1;
    if (siglen == 0 || pos + 2 * siglen >= len || buf[pos + 2 * siglen] != '>')
        return -1;
    for (size_t i = 0; i < 2 * siglen; i++)
        if (OPENSSL_hexchar2int(buf[pos + i]) < 0)
            return -1;
    *at = pos;
    return 0;
}

/* Sign the file (seal digits all '0') and write the signature in place. */
void afl_pdf_seal_patch(doc_t *d, unsigned char *buf, size_t len)
{
    size_t at, n;
    const unsigned char *sig;
    size_t siglen;

    if (!d->key || d->rv != APR_SUCCESS)
        return;
    n = afl_sign_size(d->key);
    if (seal_region(buf, len, n, &at) != 0) {
        afl_pdf_doc_fail(d, APR_EGENERAL, "seal placeholder not found in the PDF");
        return;
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (buf[at + i] != '0') {
            afl_pdf_doc_fail(d, APR_EGENERAL, "seal placeholder is not zeroed");
            return;
        }
    if (afl_sign_raw(d->scratch, d->key, buf, len, &sig, &siglen) != APR_SUCCESS || siglen != n) {
        afl_pdf_doc_fail(d, APR_EGENERAL, "cannot sign the document");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        buf[at + 2 * i] = (unsigned char)hexdig[sig[i] >> 4];
        buf[at + 2 * i + 1] = (unsigned char)hexdig[sig[i] & 15];
    }
}

/* =========================================================== verification */

/* A PDF literal string "(...)" at *sp (balanced parentheses, backslash
 * escapes, octal codes) decoded into p; *sp moves past it. NULL if it does
 * not end before end. */
static char *literal_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                            size_t *n)
{
    const unsigned char *s = *sp + 1;
    char *out = apr_palloc(p, (size_t)(end - s) + 1);
    size_t o = 0;
    int depth = 1;

    while (s < end) {
        unsigned char c = *s++;
        if (c == '\\') {
            if (s >= end)
                return NULL;
            c = *s++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '\r': /* line continuation */
                if (s < end && *s == '\n')
                    s++;
                continue;
            case '\n':
                continue;
            default:
                if (c >= '0' && c <= '7') {
                    unsigned v = c - '0';
                    for (int k = 0; k < 2 && s < end && *s >= '0' && *s <= '7'; k++)
                        v = v * 8 + (unsigned)(*s++ - '0');
                    c = (unsigned char)v;
                }
                break; /* '(', ')', '\\' and unknown escapes: the character itself */
            }
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            out[o] = '\0';
            *n = o;
            *sp = s;
            return out;
        }
        out[o++] = (char)c;
    }
    return NULL;
}

/* A PDF hex string "<...>" at *sp decoded into p. NULL if malformed. */
static char *hex_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                        size_t *n)
{
    const unsigned char *h = *sp + 1, *s = h;
    char *val, *v;

    while (s < end && *s != '>')
        s++;
    if (s >= end)
        return NULL;
    val = v = apr_palloc(p, (size_t)(s - h) / 2 + 2);
    for (const unsigned char *q = h; q < s;) {
        int hi, lo;
        while (q < s && is_ws(*q))
            q++;
        if (q >= s)
            break;
        hi = OPENSSL_hexchar2int(*q++);
        while (q < s && is_ws(*q))
            q++;
        lo = q < s ? OPENSSL_hexchar2int(*q++) : 0; /* odd count: a trailing 0 (PDF rule) */
        if (hi < 0 || lo < 0)
            return NULL;
        *v++ = (char)(hi * 16 + lo);
    }
    *v = '\0';
    *n = (size_t)(v - val);
    *sp = s + 1;
    return val;
}

/* Parse the seal dictionary that starts at s (just after "/AfiliateSello"):
 * "<<", entries "/Name string" (hex, as written here, or literal, as a PDF
 * tool may rewrite them) or "/Name number", ">>". Fills out. 0 ok. */
static int parse_seal(apr_pool_t *p, const unsigned char *s, const unsigned char *end,
                      afl_pdf_sellado *out, int *version)
{
    while (s < end && is_ws(*s))
        s++;
    if (end - s < 2 || s[0] != '<' || s[1] != '<')
        return -1;
    s += 2;
    for (;;) {
        const unsigned char *name;
        size_t nlen, vlen = 0;
        const char **slot = NULL;
        char *val;

        while (s < end && is_ws(*s))
            s++;
        if (end - s >= 2 && s[0] == '>' && s[1] == '>')
            return 0;
        if (s >= end || *s != '/')
            return -1;
        name = ++s;
        while (s < end && !is_ws(*s) && *s != '<' && *s != '(' && *s != '/' && *s != '>')
            s++;
        nlen = (size_t)(s - name);
        while (s < end && is_ws(*s))
            s++;
        if (s >= end)
            return -1;
        if (*s >= '0' && *s <= '9') {
            int n = 0;
            while (s < end && *s >= '0' && *s <= '9' && n < 1000000)
                n = n * 10 + (*s++ - '0');
            if (nlen == 1 && name[0] == 'V')
                *version = n;
            continue;
        }
        if (*s == '<')
            val = hex_string(p, &s, end, &vlen);
        else if (*s == '(')
            val = literal_string(p, &s, end, &vlen);
        else
            return -1;
        if (!val)
            return -1;
        if (memchr(val, '\0', vlen))
            val = NULL; /* binary (the document seal itself) */
#define SLOT(key, field)                                                                           \
    if (nlen == sizeof key - 1 && !memcmp(name, key, nlen))                                        \
        slot = &out->field;
        SLOT("Tipo", tipo)
        SLOT("Folio", folio)
        SLOT("CadenaOriginal", cadena_original)
        SLOT("SelloDigital", sello)
        SLOT("NoSerie", no_serie)
#undef SLOT
        if (slot) {
            if (!val || *slot)
                return -1; /* not text, or a key twice */
            *slot = val;
        }
    }
}

apr_status_t afl_pdf_extract(apr_pool_t *p, const unsigned char *pdf, size_t len,
                             afl_pdf_sellado *out, const char **reason)
{
    static const char needle[] = "/" SEAL_DICT;
    const unsigned char *hit, *after;
    int version = 0;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pdf || len < 8 || memcmp(pdf, "%PDF-", 5) != 0) {
        *reason = "not a PDF file";
        return APR_EINVAL;
    }
    hit = memmem(pdf, len, needle, sizeof needle - 1);
    if (!hit) {
        *reason = "the document carries no sello digital (not issued by mod_afiliate, or "
                  "issued without a signing key)";
        return APR_EINVAL;
    }
    after = hit + sizeof needle - 1;
    if (memmem(after, len - (size_t)(after - pdf), needle, sizeof needle - 1)) {
        *reason = "the document carries more than one seal dictionary";
        return APR_EINVAL;
    }
    if (parse_seal(p, after, pdf + len, out, &version) != 0 || version != 1 || !out->tipo ||
        !out->folio || !out->cadena_original || !out->sello || !out->no_serie) {
        memset(out, 0, sizeof *out);
        *reason = "the seal dictionary is malformed";
        return APR_EINVAL;
    }
    if (strcmp(out->tipo, "comprobante") && strcmp(out->tipo, "tarjeta") &&
        strcmp(out->tipo, "constancia")) {
        memset(out, 0, sizeof *out);
        *reason = "unknown document type in the seal";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

int afl_pdf_verify(apr_pool_t *p, const unsigned char *pdf, size_t len, const afl_sign_key *pub,
                   afl_pdf_sellado *out, const char **reason)
{
    afl_pdf_sellado s;
    size_t at, n;
    unsigned char *copy, sig[AFL_SIGN_MAX_SIG];
    const char *folio;

    if (out)
        memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pub) {
        *reason = "no public key";
        return 1;
    }
    if (afl_pdf_extract(p, pdf, len, &s, reason) != APR_SUCCESS)
        return 1;
    if (strcmp(s.no_serie, afl_sign_serial(pub)) != 0) {
        *reason = apr_psprintf(p,
                               "signed with another key (No. de serie %.40s; the public key "
                               "given is %s)",
                               s.no_serie, afl_sign_serial(pub));
        return 1;
    }
    n = afl_sign_size(pub);
    if (seal_region(pdf, len, n, &at) != 0) {
        *reason = "the document seal is missing or malformed";
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = OPENSSL_hexchar2int(pdf[at + 2 * i]),
            lo = OPENSSL_hexchar2int(pdf[at + 2 * i + 1]);
        sig[i] = (unsigned char)(hi * 16 + lo);
    }
    copy = apr_pmemdup(p, pdf, len);
    memset(copy + at, '0', 2 * n);
    if (afl_sign_verify_raw(pub, copy, len, sig, n) != AFL_SIGN_OK) {
        *reason = "the document was altered after it was issued (the document seal does not "
                  "match its content)";
        return 1;
    }
    switch (afl_sign_verify_sello(pub, s.cadena_original, strlen(s.cadena_original), s.sello)) {
    case AFL_SIGN_OK:
        break;
    case AFL_SIGN_BAD_ENCODING:
        *reason = "the sello digital is malformed";
        return 1;
    default:
        *reason = "the sello digital does not match the cadena original";
        return 1;
    }
    folio = afl_cadena_campo(p, s.cadena_original, "Folio");
    if (!afl_folio_valid(s.folio) || !folio || strcmp(folio, s.folio) != 0) {
        *reason = "the folio of the cadena original is not the document's";
        return 1;
    }
    if (out)
        *out = s;
    return 0;
}
