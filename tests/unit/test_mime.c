/* Unit tests: afl_mime (RFC 2047 headers, base64, quoted-printable, the whole
 * message: CRLF, line lengths, boundaries, header injection). */
#include <check.h>
#include "check_run.h"
#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afl_mime.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* Decodes a header made of encoded words (as afl_mime_encode_header writes
 * them) back to UTF-8; checks each word's length on the way. */
static const char *decode_words(const char *h)
{
    char *out = apr_pcalloc(pool, strlen(h) + 1);
    size_t n = 0;
    const char *s = h;

    while (*s) {
        const char *end;
        char *b64, *dec;
        int len;

        ck_assert_msg(!strncmp(s, "=?UTF-8?B?", 10), "not an encoded word: %s", s);
        end = strstr(s + 10, "?=");
        ck_assert_ptr_nonnull(end);
        ck_assert_int_le((int)(end + 2 - s), 75);
        b64 = apr_pstrmemdup(pool, s + 10, (apr_size_t)(end - s - 10));
        dec = apr_palloc(pool, (apr_size_t)apr_base64_decode_len(b64));
        len = apr_base64_decode(dec, b64);
        memcpy(out + n, dec, (size_t)len);
        n += (size_t)len;
        s = end + 2;
        if (*s) {
            ck_assert_msg(!strncmp(s, "\r\n ", 3), "words not folded with CRLF SP");
            s += 3;
        }
    }
    out[n] = '\0';
    return out;
}

START_TEST(header_ascii_passes_through)
{
    ck_assert_str_eq(afl_mime_encode_header(pool, "Comprobante NSS"), "Comprobante NSS");
    /* Long ASCII text is encoded too, so that it is folded into short lines. */
    {
        const char *longtext = "Comprobante de tu Numero de Seguridad Social (NSS) emitido por el "
                               "Instituto Mexicano del Seguro Social";
        const char *enc = afl_mime_encode_header(pool, longtext);
        ck_assert_str_eq(decode_words(enc), longtext);
    }
    /* Text that looks like an encoded word is encoded itself. */
    ck_assert_str_eq(decode_words(afl_mime_encode_header(pool, "a =?x?= b")), "a =?x?= b");
}
END_TEST

START_TEST(header_round_trips)
{
    static const char *const texts[] = {
        "Comprobante de tu Número de Seguridad Social (NSS)",
        "ñÑáéíóúÁÉÍÓÚüÜ¿¡",
        "Instituto Mexicano del Seguro Social — Constancia de vigencia de derechos de "
        "atención médica en la Unidad de Medicina Familiar número 10 (Cuauhtémoc)",
        "€ 😀 mixed ascii and 4-byte sequences 😀😀😀😀😀😀😀😀😀😀",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *enc = afl_mime_encode_header(pool, texts[i]);
        ck_assert_ptr_nonnull(enc);
        ck_assert_str_eq(decode_words(enc), texts[i]);
        /* The first word must fit on one line after "Subject: ". */
        ck_assert_int_le((int)(strcspn(enc, "\r") + strlen("Subject: ")), 78);
        for (const char *c = enc; *c; c++)
            ck_assert_msg((unsigned char)*c < 0x80, "raw 8-bit byte in an encoded header");
    }
}
END_TEST

START_TEST(header_refuses_controls_and_bad_utf8)
{
    ck_assert_ptr_null(afl_mime_encode_header(pool, "Asunto\r\nBcc: x@y.mx"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "Asunto\nBcc: x@y.mx"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "Asunto\rX"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "tab\there"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "bad \xc3"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "overlong \xc0\xaf"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "surrogate \xed\xa0\x80"));
    ck_assert_ptr_null(afl_mime_encode_header(pool, "c1 \xc2\x85"));
}
END_TEST

START_TEST(base64_lines)
{
    unsigned char data[1000];
    const char *b64;
    size_t total = 0;
    char *joined;
    int dlen;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    b64 = afl_mime_base64(pool, data, sizeof data);
    joined = apr_pcalloc(pool, strlen(b64) + 1);
    for (const char *s = b64; *s;) {
        const char *crlf = strstr(s, "\r\n");
        size_t n;
        ck_assert_ptr_nonnull(crlf);
        n = (size_t)(crlf - s);
        ck_assert_int_le((int)n, 76);
        if (crlf[2])
            ck_assert_int_eq((int)n, 76); /* only the last line is shorter */
        memcpy(joined + total, s, n);
        total += n;
        s = crlf + 2;
    }
    {
        char *dec = apr_palloc(pool, (apr_size_t)apr_base64_decode_len(joined));
        dlen = apr_base64_decode(dec, joined);
        ck_assert_int_eq(dlen, (int)sizeof data);
        ck_assert(memcmp(dec, data, sizeof data) == 0);
    }
    ck_assert_str_eq(afl_mime_base64(pool, (const unsigned char *)"", 0), "");
    ck_assert_str_eq(afl_mime_base64(pool, (const unsigned char *)"M", 1), "TQ==\r\n");
}
END_TEST

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : c - 'A' + 10;
}

/* Decodes quoted-printable (CRLF lines) to text with \n line ends. */
static const char *qp_decode(const char *qp)
{
    char *out = apr_palloc(pool, strlen(qp) + 1), *o = out;

    for (const char *s = qp; *s;) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=') {
            ck_assert(isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]));
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        } else if (s[0] == '\r' && s[1] == '\n') {
            *o++ = '\n';
            s += 2;
        } else {
            ck_assert_msg(*s != '\r' && *s != '\n', "bare CR or LF in quoted-printable");
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

START_TEST(qp_round_trips)
{
    const char *text = "Hola, José:\n\nTu NSS = 12345678901 está listo.   \n.empieza con punto\n"
                       "From here\n"
                       "Una línea muy larga con acentos áéíóú que rebasa por mucho los setenta "
                       "y seis caracteres permitidos por RFC 2045 en quoted-printable, ñññññ.\n"
                       "tab\tfinal\t\nfin";
    const char *qp = afl_mime_qp(pool, text);

    ck_assert_str_eq(qp_decode(qp), text);
    for (const char *s = qp; *s;) {
        const char *crlf = strstr(s, "\r\n");
        size_t n = crlf ? (size_t)(crlf - s) : strlen(s);
        ck_assert_int_le((int)n, 76);
        /* No unencoded whitespace at the end of a line. */
        if (n)
            ck_assert(s[n - 1] != ' ' && s[n - 1] != '\t');
        ck_assert(s[0] != '.');
        ck_assert(strncmp(s, "From ", 5) != 0);
        if (!crlf)
            break;
        s = crlf + 2;
    }
    for (const char *s = qp; *s; s++)
        ck_assert((unsigned char)*s < 0x80);
    /* CRLF input gives the same encoding as LF input. */
    ck_assert_str_eq(afl_mime_qp(pool, "a\r\nb\r\n"), afl_mime_qp(pool, "a\nb\n"));
}
END_TEST

START_TEST(addresses)
{
    ck_assert(afl_mime_address_ok("estudiante@ejemplo.mx"));
    ck_assert(afl_mime_address_ok("no-reply@localhost"));
    ck_assert(afl_mime_address_ok("a+b.c@sub.dominio.gob.mx"));
    ck_assert(!afl_mime_address_ok(NULL));
    ck_assert(!afl_mime_address_ok(""));
    ck_assert(!afl_mime_address_ok("sin-arroba"));
    ck_assert(!afl_mime_address_ok("@dominio.mx"));
    ck_assert(!afl_mime_address_ok("a@"));
    ck_assert(!afl_mime_address_ok("a@b@c.mx"));
    ck_assert(!afl_mime_address_ok("a@b.mx\r\nBcc: c@d.mx"));
    ck_assert(!afl_mime_address_ok("a@b.mx\nBcc: c@d.mx"));
    ck_assert(!afl_mime_address_ok("a b@c.mx"));
    ck_assert(!afl_mime_address_ok("<a@b.mx>"));
    ck_assert(!afl_mime_address_ok("a@b.mx, c@d.mx"));
    ck_assert(!afl_mime_address_ok("\"a\"@b.mx"));
    ck_assert(!afl_mime_address_ok("josé@b.mx"));
    ck_assert_str_eq(afl_mime_address_domain(pool, "no-reply@imss.gob.mx"), "imss.gob.mx");
    ck_assert_ptr_null(afl_mime_address_domain(pool, "x"));
}
END_TEST

START_TEST(date_format)
{
    /* 2026-11-26 14:57:01 UTC */
    const char *d = afl_mime_date(pool, apr_time_from_sec(1795705021));
    int day, year, hh, mm, ss, off;
    char wd[4], mon[4], sign;

    ck_assert_int_eq(sscanf(d, "%3s, %2d %3s %4d %2d:%2d:%2d %c%4d", wd, &day, mon, &year, &hh, &mm,
                            &ss, &sign, &off),
                     9);
    ck_assert_int_eq(year, 2026);
    ck_assert(sign == '+' || sign == '-');
    ck_assert_str_eq(mon, "Nov");
}
END_TEST

static unsigned char pdf[3000];

static afl_mime_msg sample(void)
{
    afl_mime_msg m;

    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < sizeof pdf; i++)
        pdf[i] = (unsigned char)(i * 31);
    memcpy(pdf, "%PDF-1.4\n", 9);
    m.from = "no-reply@imss.example.mx";
    m.from_name = "IMSS Digital";
    m.to = "estudiante@ejemplo.mx";
    m.subject = "Comprobante de tu Número de Seguridad Social (NSS)";
    m.message_id = "<outbox-7.0123456789abcdef0123456789abcdef@imss.example.mx>";
    m.date = apr_time_from_sec(1795705021);
    m.text = "Hola, María José:\n\n.Adjuntamos tu comprobante.\n";
    m.html = "<p>Hola, María José:</p>\n<p>Adjuntamos tu comprobante.</p>\n";
    m.attachment_name = "comprobanteNSS12345678901.pdf";
    m.attachment_type = "application/pdf";
    m.attachment = pdf;
    m.attachment_len = sizeof pdf;
    return m;
}

static const char *header_value(const char *msg, const char *name)
{
    const char *body = strstr(msg, "\r\n\r\n");
    size_t n = strlen(name);

    for (const char *s = msg; s && s < body; s = strstr(s, "\r\n") + 2) {
        if (!strncmp(s, name, n) && s[n] == ':') {
            const char *v = s + n + 2, *e = v;
            /* Unfold continuation lines. */
            while ((e = strstr(e, "\r\n")) && (e[2] == ' ' || e[2] == '\t'))
                e += 2;
            return apr_pstrmemdup(pool, v, (apr_size_t)(e - v));
        }
    }
    return NULL;
}

START_TEST(message_structure)
{
    afl_mime_msg m = sample();
    const char *msg, *ct, *mixed, *alt;
    apr_size_t len;
    int delimiters = 0;

    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_SUCCESS);
    ck_assert_int_eq((int)strlen(msg), (int)len);
    /* CRLF everywhere, no line over 78 octets, 7-bit only. */
    for (apr_size_t i = 0; i < len; i++) {
        ck_assert((unsigned char)msg[i] < 0x80);
        if (msg[i] == '\n')
            ck_assert(i > 0 && msg[i - 1] == '\r');
        if (msg[i] == '\r')
            ck_assert(msg[i + 1] == '\n');
    }
    for (const char *s = msg; *s;) {
        const char *e = strstr(s, "\r\n");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_le((int)(e - s), 78);
        s = e + 2;
    }
    ck_assert_str_eq(header_value(msg, "Message-ID"), m.message_id);
    ck_assert_str_eq(header_value(msg, "To"), "estudiante@ejemplo.mx");
    ck_assert_str_eq(header_value(msg, "From"), "\"IMSS Digital\" <no-reply@imss.example.mx>");
    ck_assert_str_eq(header_value(msg, "MIME-Version"), "1.0");
    ck_assert_ptr_nonnull(header_value(msg, "Date"));
    ck_assert_str_eq(decode_words(header_value(msg, "Subject")), m.subject);

    ct = header_value(msg, "Content-Type");
    ck_assert(!strncmp(ct, "multipart/mixed;", 16));
    mixed = strstr(ct, "boundary=\"") + 10;
    mixed = apr_pstrmemdup(pool, mixed, strcspn(mixed, "\""));
    alt = strstr(msg, "multipart/alternative;\r\n boundary=\"");
    ck_assert_ptr_nonnull(alt);
    alt += strlen("multipart/alternative;\r\n boundary=\"");
    alt = apr_pstrmemdup(pool, alt, strcspn(alt, "\""));
    ck_assert_str_ne(mixed, alt);
    /* Each boundary appears only on its delimiter lines (and in its header). */
    for (const char *s = msg; (s = strstr(s, mixed)); s += strlen(mixed))
        delimiters++;
    ck_assert_int_eq(delimiters, 1 + 3); /* header, two parts, close */
    delimiters = 0;
    for (const char *s = msg; (s = strstr(s, alt)); s += strlen(alt))
        delimiters++;
    ck_assert_int_eq(delimiters, 1 + 3);
    ck_assert_ptr_nonnull(strstr(msg, apr_pstrcat(pool, "\r\n--", mixed, "--\r\n", NULL)));
    ck_assert_ptr_nonnull(strstr(msg, apr_pstrcat(pool, "\r\n--", alt, "--\r\n", NULL)));
    ck_assert_ptr_nonnull(strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n"
                                      "Content-Transfer-Encoding: quoted-printable\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "Content-Type: text/html; charset=UTF-8\r\n"
                                      "Content-Transfer-Encoding: quoted-printable\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "filename=\"comprobanteNSS12345678901.pdf\""));
    ck_assert_ptr_nonnull(strstr(msg, afl_mime_base64(pool, pdf, sizeof pdf)));
    ck_assert_ptr_nonnull(strstr(msg, afl_mime_qp(pool, m.text)));
}
END_TEST

START_TEST(non_ascii_display_name)
{
    afl_mime_msg m = sample();
    const char *msg, *from;
    apr_size_t len;

    m.from_name = "Instituto Mexicano del Seguro Social — Atención";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_SUCCESS);
    from = header_value(msg, "From");
    ck_assert(!strncmp(from, "=?UTF-8?B?", 10));
    ck_assert_ptr_nonnull(strstr(from, "?= <no-reply@imss.example.mx>"));
    m.from_name = "Comillas \"y\" barra \\";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_SUCCESS);
    ck_assert_str_eq(header_value(msg, "From"),
                     "\"Comillas \\\"y\\\" barra \\\\\" <no-reply@imss.example.mx>");
}
END_TEST

START_TEST(header_injection_refused)
{
    afl_mime_msg m = sample();
    const char *msg = NULL;
    apr_size_t len;

    m.to = "estudiante@ejemplo.mx\r\nBcc: victima@ejemplo.mx";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.to = "estudiante@ejemplo.mx\nBcc: victima@ejemplo.mx";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.from = "no-reply@imss.example.mx\r\nX-Evil: 1";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.subject = "Comprobante\r\nBcc: victima@ejemplo.mx";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.from_name = "IMSS\r\nBcc: victima@ejemplo.mx";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.message_id = "<a@b>\r\nBcc: victima@ejemplo.mx";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.message_id = "sin-angulos@b";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.attachment_name = "a\"; x=\"y.pdf";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.attachment_name = "../../etc/passwd";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    m = sample();
    m.subject = "";
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
}
END_TEST

START_TEST(several_attachments)
{
    afl_mime_msg m = sample();
    afl_mime_part extra[1];
    const char *msg, *first, *second;
    apr_size_t len;

    extra[0].name = "tarjetaNSS12345678901.pdf";
    extra[0].type = "application/pdf";
    extra[0].data = (const unsigned char *)"%PDF-1.4\n%tarjeta";
    extra[0].len = 18;
    m.attachments = extra;
    m.n_attachments = 1;
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_SUCCESS);
    first = strstr(msg, "filename=\"comprobanteNSS12345678901.pdf\"");
    second = strstr(msg, "filename=\"tarjetaNSS12345678901.pdf\"");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    ck_assert(first < second);
    ck_assert_ptr_nonnull(strstr(second, afl_mime_base64(pool, extra[0].data, extra[0].len)));
    /* The list alone is enough; no attachment at all is refused. */
    m.attachment_name = NULL;
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_SUCCESS);
    ck_assert_ptr_null(strstr(msg, "comprobanteNSS"));
    m.n_attachments = 0;
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
    /* Every name in the list is checked like the first. */
    m = sample();
    extra[0].name = "../x.pdf";
    m.attachments = extra;
    m.n_attachments = 1;
    ck_assert_int_eq(afl_mime_build(pool, &m, &msg, &len), APR_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, header_ascii_passes_through);
    tcase_add_test(tc, header_round_trips);
    tcase_add_test(tc, header_refuses_controls_and_bad_utf8);
    tcase_add_test(tc, base64_lines);
    tcase_add_test(tc, qp_round_trips);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, date_format);
    tcase_add_test(tc, message_structure);
    tcase_add_test(tc, non_ascii_display_name);
    tcase_add_test(tc, header_injection_refused);
    tcase_add_test(tc, several_attachments);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
