/* afl_mime: MIME message writer (see afl_mime.h). */
#include "afl_mime.h"
#include "afl_token.h"
#include "afl_utf8.h"

#include <apr_encode.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <string.h>

/* ------------------------------------------------------------------ buffer */

typedef struct {
    apr_pool_t *p;
    char *buf;
    size_t len, cap;
} sbuf;

static void sb_init(sbuf *b, apr_pool_t *p, size_t cap)
{
    b->p = p;
    b->cap = cap < 64 ? 64 : cap;
    b->buf = apr_palloc(p, b->cap);
    b->len = 0;
    b->buf[0] = '\0';
}

static void sb_reserve(sbuf *b, size_t more)
{
    if (b->len + more + 1 > b->cap) {
        size_t cap = b->cap * 2;
        char *nb;
        while (cap < b->len + more + 1)
            cap *= 2;
        nb = apr_palloc(b->p, cap);
        memcpy(nb, b->buf, b->len + 1);
        b->buf = nb;
        b->cap = cap;
    }
}

static void sb_add(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_ch(sbuf *b, char c)
{
    sb_add(b, &c, 1);
}

/* ------------------------------------------------------------------ checks */

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid or a control character
 * other than tab. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t k = afl_utf8_decode(s, n, &cp);

    return k && (cp == '\t' || !afl_utf8_is_control(cp)) ? k : 0;
}

int afl_mime_address_ok(const char *addr)
{
    static const char bad[] = " \"(),:;<>[\\]";
    const char *at;
    size_t n;

    if (!addr)
        return 0;
    n = strlen(addr);
    if (n < 3 || n > 254 || !printable_ascii(addr) || strpbrk(addr, bad))
        return 0;
    at = strchr(addr, '@');
    if (!at || at == addr || at - addr > 64 || !at[1] || strchr(at + 1, '@'))
        return 0;
    return 1;
}

const char *afl_mime_address_domain(apr_pool_t *p, const char *addr)
{
    if (!afl_mime_address_ok(addr))
        return NULL;
    return apr_pstrdup(p, strchr(addr, '@') + 1);
}

static int message_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    const char *at;

    if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] > 0x7e)
            return 0;
    at = strchr(id, '@');
    return at && at > id + 1 && !strchr(at + 1, '@') && at[1] != '>' && !strchr(id + 1, '<') &&
           strchr(id, '>') == id + n - 1;
}

static int filename_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 100 || s[0] == '.')
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int mime_type_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    const char *slash = s ? strchr(s, '/') : NULL;
    if (n == 0 || n > 100 || !slash || slash == s || !slash[1])
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789/.+-") == n;
}

/* ------------------------------------------------------------------ encoders */

/* Padded base64 of d[0..n), n <= 57 (one 76-character line at the most). */
static void b64_raw(sbuf *b, const unsigned char *d, size_t n)
{
    char q[77];
    apr_size_t len = 0;

    apr_encode_base64_binary(q, d, (apr_ssize_t)n, APR_ENCODE_NONE, &len);
    sb_add(b, q, len);
}

const char *afl_mime_base64(apr_pool_t *p, const unsigned char *data, size_t len)
{
    sbuf b;

    /* 57 input octets make one 76-character line. */
    sb_init(&b, p, (len + 2) / 3 * 4 + (len / 57 + 1) * 2 + 1);
    for (size_t off = 0; off < len; off += 57) {
        size_t n = len - off < 57 ? len - off : 57;
        b64_raw(&b, data + off, n);
        sb_add(&b, "\r\n", 2);
    }
    return b.buf;
}

/* Appends one encoded line (no line break in it), with soft breaks. */
static void qp_line(sbuf *b, const char *s, size_t n)
{
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tok[4];
        size_t tn;
        int last = i + 1 == n;
        int encode = c == '=' || c > 0x7e || (c < 0x20 && c != '\t') ||
                     ((c == ' ' || c == '\t') && last) || (i == 0 && c == '.') ||
                     (i == 0 && c == 'F' && n >= 5 && !strncmp(s, "From ", 5));

        if (encode) {
            tok[0] = '=';
            apr_encode_base16_binary(tok + 1, &c, 1, APR_ENCODE_NONE, NULL);
            tn = 3;
        } else {
            tok[0] = (char)c;
            tn = 1;
        }
        /* Keep room for the soft break '=' unless this is the line's last token. */
        if (col + tn > (last ? 76u : 75u)) {
            sb_add(b, "=\r\n", 3);
            col = 0;
        }
        sb_add(b, tok, tn);
        col += tn;
    }
}

const char *afl_mime_qp(apr_pool_t *p, const char *text)
{
    sbuf b;
    const char *s = text ? text : "";

    sb_init(&b, p, strlen(s) * 3 / 2 + 64);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        size_t m = n;
        if (m > 0 && s[m - 1] == '\r')
            m--;
        qp_line(&b, s, m);
        if (!nl)
            break;
        sb_add(&b, "\r\n", 2);
        s = nl + 1;
    }
    return b.buf;
}

/* Encoded words for s (valid UTF-8 of n octets): 39 octets give 52 base64
 * characters, a 64-octet word, so even the first one fits on a line after
 * "Subject: "; words are folded with CRLF SP and never split a UTF-8 sequence. */
static const char *b_words(apr_pool_t *p, const unsigned char *u, size_t n)
{
    size_t i = 0;
    sbuf b;

    sb_init(&b, p, n * 2 + 32);
    while (i < n) {
        size_t start = i;
        while (i < n) {
            size_t k = utf8_seq(u + i, n - i);
            if (i + k - start > 39)
                break;
            i += k;
        }
        if (start)
            sb_add(&b, "\r\n ", 3);
        sb_str(&b, "=?UTF-8?B?");
        b64_raw(&b, u + start, i - start);
        sb_str(&b, "?=");
    }
    return b.buf;
}

/* Length of s if it is valid UTF-8 without control characters, else -1;
 * *ascii tells whether it is plain ASCII. */
static long header_text(const char *s, int *ascii)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, len = strlen(s);

    *ascii = 1;
    while (u[i]) {
        size_t n = utf8_seq(u + i, len - i);
        if (n == 0 || u[i] == '\t')
            return -1;
        if (n > 1)
            *ascii = 0;
        i += n;
    }
    return (long)i;
}

const char *afl_mime_encode_header(apr_pool_t *p, const char *s)
{
    int ascii;
    long n = s ? header_text(s, &ascii) : -1;

    if (n < 0)
        return NULL;
    /* Short ASCII goes as it is; text that looks like an encoded word, and
     * text too long for one line, is encoded (and so folded). */
    if (ascii && !strstr(s, "=?") && n <= 66)
        return apr_pstrdup(p, s);
    return b_words(p, (const unsigned char *)s, (size_t)n);
}

const char *afl_mime_date(apr_pool_t *p, apr_time_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    apr_time_exp_t tm;
    long off;
    char sign;

    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS)
        apr_time_exp_gmt(&tm, t);
    off = tm.tm_gmtoff / 60;
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    return apr_psprintf(p, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
                        tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                        tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

/* ------------------------------------------------------------------ message */

/* A display name as a quoted-string, or encoded words when it is not short
 * ASCII; NULL when it is not acceptable header text. */
static const char *display_name(apr_pool_t *p, const char *name)
{
    int ascii;
    long n = header_text(name, &ascii);
    sbuf b;

    if (n < 0)
        return NULL;
    if (!ascii || strstr(name, "=?") || n > 60)
        return b_words(p, (const unsigned char *)name, (size_t)n);
    sb_init(&b, p, strlen(name) + 8);
    sb_ch(&b, '"');
    for (const char *s = name; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_ch(&b, '\\');
        sb_ch(&b, *s);
    }
    sb_ch(&b, '"');
    return b.buf;
}

static const char *boundary(apr_pool_t *p, const char *kind)
{
    const char *r = afl_token_random(p);
    /* "=_" never occurs in quoted-printable or base64 text. */
    return r ? apr_pstrcat(p, "=_afl_", kind, "_", r, NULL) : NULL;
}

static void header(sbuf *b, const char *name, const char *value)
{
    sb_str(b, name);
    sb_str(b, ": ");
    sb_str(b, value);
    sb_str(b, "\r\n");
}

apr_status_t afl_mime_build(apr_pool_t *p, const afl_mime_msg *m, const char **out, apr_size_t *len)
{
    const char *subject, *from, *b_mixed, *b_alt, *text_qp, *html_qp;
    const char **b64;
    apr_array_header_t *parts;
    size_t total = 0;
    sbuf b;

    if (!m || !afl_mime_address_ok(m->from) || !afl_mime_address_ok(m->to) ||
        !message_id_ok(m->message_id) || !m->subject || !*m->subject || !m->text || !m->html ||
        (m->n_attachments && !m->attachments))
        return APR_EINVAL;
    /* The single attachment of the first callers, then the list. */
    parts = apr_array_make(p, (int)m->n_attachments + 1, sizeof(afl_mime_part));
    if (m->attachment_name) {
        afl_mime_part *a = apr_array_push(parts);
        a->name = m->attachment_name;
        a->type = m->attachment_type;
        a->data = m->attachment;
        a->len = m->attachment_len;
    }
    for (size_t i = 0; i < m->n_attachments; i++)
        *(afl_mime_part *)apr_array_push(parts) = m->attachments[i];
    if (parts->nelts == 0 && !m->no_attachment)
        return APR_EINVAL;
    b64 = apr_palloc(p, sizeof(const char *) * (size_t)parts->nelts);
    for (int i = 0; i < parts->nelts; i++) {
        const afl_mime_part *a = &APR_ARRAY_IDX(parts, i, afl_mime_part);
        if (!filename_ok(a->name) || !mime_type_ok(a->type) || (!a->data && a->len))
            return APR_EINVAL;
    }
    subject = afl_mime_encode_header(p, m->subject);
    if (!subject)
        return APR_EINVAL;
    from = m->from;
    if (m->from_name && *m->from_name) {
        const char *dn = display_name(p, m->from_name);
        if (!dn)
            return APR_EINVAL;
        from = apr_pstrcat(p, dn, " <", m->from, ">", NULL);
    }
    b_mixed = boundary(p, "mix");
    b_alt = boundary(p, "alt");
    if (!b_mixed || !b_alt)
        return APR_EGENERAL;
    text_qp = afl_mime_qp(p, m->text);
    html_qp = afl_mime_qp(p, m->html);
    /* Paranoia: the boundaries cannot occur in these encodings, check anyway. */
    if (strstr(text_qp, "=_afl_") || strstr(html_qp, "=_afl_"))
        return APR_EGENERAL;
    for (int i = 0; i < parts->nelts; i++) {
        const afl_mime_part *a = &APR_ARRAY_IDX(parts, i, afl_mime_part);
        b64[i] = afl_mime_base64(p, a->data, a->len);
        if (strstr(b64[i], "=_afl_"))
            return APR_EGENERAL;
        total += strlen(b64[i]) + 512;
    }

    sb_init(&b, p, strlen(text_qp) + strlen(html_qp) + total + 2048);
    header(&b, "Date", afl_mime_date(p, m->date));
    header(&b, "From", from);
    header(&b, "To", m->to);
    header(&b, "Subject", subject);
    header(&b, "Message-ID", m->message_id);
    header(&b, "MIME-Version", "1.0");
    header(&b, "Auto-Submitted", "auto-generated");
    header(&b, "Content-Type",
           apr_pstrcat(p, "multipart/mixed;\r\n boundary=\"", b_mixed, "\"", NULL));
    sb_str(&b, "\r\nThis is a multi-part message in MIME format.\r\n");

    sb_str(&b, apr_pstrcat(p, "\r\n--", b_mixed, "\r\n", NULL));
    header(&b, "Content-Type",
           apr_pstrcat(p, "multipart/alternative;\r\n boundary=\"", b_alt, "\"", NULL));
    sb_str(&b, apr_pstrcat(p, "\r\n--", b_alt, "\r\n", NULL));
    header(&b, "Content-Type", "text/plain; charset=UTF-8");
    header(&b, "Content-Transfer-Encoding", "quoted-printable");
    sb_str(&b, "\r\n");
    sb_str(&b, text_qp);
    sb_str(&b, apr_pstrcat(p, "\r\n--", b_alt, "\r\n", NULL));
    header(&b, "Content-Type", "text/html; charset=UTF-8");
    header(&b, "Content-Transfer-Encoding", "quoted-printable");
    sb_str(&b, "\r\n");
    sb_str(&b, html_qp);
    sb_str(&b, apr_pstrcat(p, "\r\n--", b_alt, "--\r\n", NULL));

    for (int i = 0; i < parts->nelts; i++) {
        const afl_mime_part *a = &APR_ARRAY_IDX(parts, i, afl_mime_part);
        sb_str(&b, apr_pstrcat(p, "\r\n--", b_mixed, "\r\n", NULL));
        header(&b, "Content-Type", apr_pstrcat(p, a->type, ";\r\n name=\"", a->name, "\"", NULL));
        header(&b, "Content-Disposition",
               apr_pstrcat(p, "attachment;\r\n filename=\"", a->name, "\"", NULL));
        header(&b, "Content-Transfer-Encoding", "base64");
        sb_str(&b, "\r\n");
        sb_str(&b, b64[i]);
    }
    sb_str(&b, apr_pstrcat(p, "\r\n--", b_mixed, "--\r\n", NULL));

    *out = b.buf;
    *len = b.len;
    return APR_SUCCESS;
}
