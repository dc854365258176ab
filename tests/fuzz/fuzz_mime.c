/* Fuzz target: afl_mime. The input is split at NUL bytes into subject, display name,
 * recipient, text body and HTML body, and goes through the header encoder, the
 * quoted-printable encoder and the whole message builder. Invariants checked: no crash or
 * leak; what comes out is 7-bit with CRLF line ends and bounded lines; a built message has
 * exactly the header fields the builder writes (nothing injected through any field). */
#include "afl_mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 7-bit, every CR followed by LF and every LF preceded by CR, lines <= max octets. */
static void check_lines(const char *s, size_t n, size_t max)
{
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c == 0)
            abort();
        if (c == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
            abort();
        if (c == '\n') {
            if (i == 0 || s[i - 1] != '\r')
                abort();
            col = 0;
            continue;
        }
        if (c != '\r' && ++col > max)
            abort();
    }
}

static void check_headers(const char *msg)
{
    static const char *const names[] = {"Date",           "From",         "To",
                                        "Subject",        "Message-ID",   "MIME-Version",
                                        "Auto-Submitted", "Content-Type", NULL};
    const char *end = strstr(msg, "\r\n\r\n");
    int seen = 0;

    if (!end)
        abort();
    for (const char *s = msg; s < end + 2; s = strstr(s, "\r\n") + 2) {
        size_t len;
        int known = 0;

        if (*s == ' ' || *s == '\t')
            continue; /* folded continuation */
        len = strcspn(s, ":");
        for (int i = 0; names[i]; i++)
            if (strlen(names[i]) == len && !strncmp(s, names[i], len))
                known = 1;
        if (!known)
            abort();
        seen++;
    }
    if (seen != 8)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    static const unsigned char pdf[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
    const char *field[5] = {"", "", "", "", ""};
    apr_pool_t *p;
    char *buf;
    int k = 0;

    if (!initialized) {
        apr_initialize();
        initialized = 1;
    }
    apr_pool_create(&p, NULL);
    buf = apr_pstrmemdup(p, (const char *)data, size);
    field[0] = buf;
    for (size_t i = 0; i < size && k < 4; i++)
        if (data[i] == 0)
            field[++k] = buf + i + 1;

    {
        const char *enc = afl_mime_encode_header(p, field[0]);
        if (enc) {
            check_lines(enc, strlen(enc), 900);
            for (const char *s = enc; (s = strstr(s, "\r\n")); s += 2)
                if (s[2] != ' ')
                    abort(); /* a line break in a header is only ever folding */
        }
    }
    {
        const char *qp = afl_mime_qp(p, field[3]);
        check_lines(qp, strlen(qp), 76);
    }
    {
        afl_mime_msg m;
        const char *msg;
        apr_size_t len;

        memset(&m, 0, sizeof m);
        m.from = "no-reply@imss.example.mx";
        m.from_name = field[1];
        m.to = *field[2] ? field[2] : "estudiante@ejemplo.mx";
        m.subject = *field[0] ? field[0] : "Comprobante";
        m.message_id = "<outbox-1.0123456789abcdef@imss.example.mx>";
        m.date = apr_time_from_sec(1795705021);
        m.text = field[3];
        m.html = field[4];
        m.attachment_name = "comprobanteNSS12345678901.pdf";
        m.attachment_type = "application/pdf";
        m.attachment = pdf;
        m.attachment_len = sizeof pdf - 1;
        if (afl_mime_build(p, &m, &msg, &len) == APR_SUCCESS) {
            if (strlen(msg) != len)
                abort();
            check_lines(msg, len, 998);
            check_headers(msg);
            if (!afl_mime_address_ok(m.to))
                abort();
        } else if (afl_mime_address_ok(m.to) && afl_mime_encode_header(p, m.subject) &&
                   (!*m.from_name || afl_mime_encode_header(p, m.from_name))) {
            abort(); /* refused although every field is acceptable */
        }
    }
    apr_pool_destroy(p);
    return 0;
}
