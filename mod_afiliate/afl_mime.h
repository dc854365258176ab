/* afl_mime: the e-mail message of the procedure as RFC 5322 / MIME text.
 *
 * Pure unit (APR only). The message is built in full here, headers included,
 * and handed to afl_smtp as bytes, so nothing rewrites a header on the way.
 * afl_outbox builds it again for every attempt: the Message-ID is the one
 * stored with the outbox row, so a retry repeats it and a duplicate can be
 * recognised; the Date is the time of that attempt.
 *
 * Layout:
 *   multipart/mixed
 *     multipart/alternative
 *       text/plain; charset=UTF-8   (quoted-printable)
 *       text/html; charset=UTF-8    (quoted-printable)
 *     one part per attachment       (base64, 76-column lines)
 * Every line ends in CRLF and no line exceeds 78 octets. Non-ASCII header text
 * (Subject, the sender's display name) is encoded per RFC 2047 as UTF-8 "B"
 * encoded words. Addresses containing CR, LF or any character outside the
 * accepted set are refused, so nothing a student typed can add a header. */
#ifndef AFL_MIME_H
#define AFL_MIME_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

/* One attached file. */
typedef struct {
    const char *name; /* ASCII file name, e.g. tarjetaNSS12345678901.pdf */
    const char *type; /* e.g. application/pdf */
    const unsigned char *data;
    size_t len;
} afl_mime_part;

typedef struct {
    const char *from;            /* addr-spec, e.g. no-reply@imss.gob.mx (afl_mime_address_ok) */
    const char *from_name;       /* UTF-8 display name; NULL or "" for none */
    const char *to;              /* addr-spec (afl_mime_address_ok) */
    const char *subject;         /* UTF-8, one line */
    const char *message_id;      /* "<...@...>", printable ASCII, no spaces */
    apr_time_t date;             /* Date header, printed in the server's local time */
    const char *text;            /* UTF-8 plain text body, lines separated by \n or \r\n */
    const char *html;            /* UTF-8 HTML body */
    const char *attachment_name; /* ASCII file name, e.g. comprobanteNSS12345678901.pdf */
    const char *attachment_type; /* e.g. application/pdf */
    const unsigned char *attachment;
    size_t attachment_len;
    /* More attachments, after the one above (attachment_name NULL: none
     * there, then at least one here). */
    const afl_mime_part *attachments;
    size_t n_attachments;
    int no_attachment; /* 1: a message without any (the e-mail confirmation link) */
} afl_mime_msg;

/* Builds the whole message; *out (NUL-terminated) and *len live in p.
 * APR_EINVAL when an address, the Message-ID, an attachment name or type or a
 * header text is unacceptable (CR/LF, control characters, missing fields), or
 * when there is no attachment at all (unless no_attachment is set). */
apr_status_t afl_mime_build(apr_pool_t *p, const afl_mime_msg *m, const char **out,
                            apr_size_t *len);

/* 1 if addr can go into an envelope and an address header: 3-254 octets of
 * printable ASCII without spaces, quotes, parentheses, angle brackets, commas,
 * semicolons, colons, backslashes or square brackets; exactly one '@' with a
 * non-empty local part (at most 64 octets) and domain. Looser than the form's
 * afl_email_valid() (it accepts a one-label domain such as "localhost"). */
int afl_mime_address_ok(const char *addr);

/* The domain part of an address accepted by afl_mime_address_ok (in p), or NULL. */
const char *afl_mime_address_domain(apr_pool_t *p, const char *addr);

/* RFC 2047 encoding of a UTF-8 header value: the text itself when it is
 * printable ASCII of at most 66 octets (it then fits on one line after
 * "Subject: "), otherwise "=?UTF-8?B?...?=" encoded words of at most 75
 * octets, never splitting a UTF-8 sequence, joined by CRLF SP (folding).
 * NULL if s contains CR, LF or other control characters, or invalid UTF-8. */
const char *afl_mime_encode_header(apr_pool_t *p, const char *s);

/* Base64 of data in lines of 76 characters, each ending in CRLF. */
const char *afl_mime_base64(apr_pool_t *p, const unsigned char *data, size_t len);

/* Quoted-printable (RFC 2045 §6.7) of text with CRLF line ends: line breaks
 * (\n or \r\n) become CRLF, encoded lines are at most 76 characters (soft
 * breaks "=" CRLF), '=' and non-ASCII bytes are =XX, trailing spaces and tabs
 * are encoded, and a '.' or "From " at the start of a line is encoded too. */
const char *afl_mime_qp(apr_pool_t *p, const char *text);

/* RFC 5322 date-time in local time, e.g. "Thu, 26 Nov 2026 08:57:01 -0600". */
const char *afl_mime_date(apr_pool_t *p, apr_time_t t);

#endif
