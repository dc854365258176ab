/* Form decoding and input validation (pure unit: APR only, no httpd).
 *
 * Everything a student types passes through here before any other unit sees it
 * (OWASP ASVS 4.0.3 V5.1/V5.2):
 *
 *  1. afl_form_parse() decodes the raw application/x-www-form-urlencoded body into
 *     an apr_table_t and refuses HTTP parameter pollution (a repeated name), too many
 *     fields, malformed %-escapes and NUL bytes. The glue answers 400 on any error.
 *  2. afl_form_solicitud() / afl_form_address() read the fields of the two forms out of
 *     that table, trim and normalise them, and return one Spanish (es-MX) message per
 *     invalid field, ready to be shown next to the field.
 *  3. The afl_text_* and afl_email_* helpers are the building blocks, exported for the
 *     other units (PDF text, mail headers, logs).
 *
 * Returned strings live in the pool given; the table given is never modified.
 */
#ifndef AFL_FORM_H
#define AFL_FORM_H

#include <stddef.h>

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* ------------------------------------------------------------------ field names
 * The HTML "name" attributes of both forms; templates and glue use the same macros. */
#define AFL_FIELD_CURP "curp"
#define AFL_FIELD_CORREO "correo"
#define AFL_FIELD_CORREO_CONF "correo_confirmacion"
#define AFL_FIELD_CAPTCHA "captcha"
#define AFL_FIELD_CAPTCHA_ID "captcha_id"
#define AFL_FIELD_CSRF "csrf"
#define AFL_FIELD_CP "cp"
#define AFL_FIELD_COLONIA "colonia"
#define AFL_FIELD_CALLE "calle"
#define AFL_FIELD_NUM_EXT "numero_exterior"
#define AFL_FIELD_NUM_INT "numero_interior"

/* ------------------------------------------------------------------ limits */
#define AFL_CURP_MAX_RAW 64        /* bytes accepted before the CURP unit looks at it */
#define AFL_EMAIL_MAX 254          /* RFC 5321 path limit minus the angle brackets */
#define AFL_EMAIL_LOCAL_MAX 64     /* RFC 5321 §4.5.3.1.1 */
#define AFL_EMAIL_LABEL_MAX 63     /* RFC 1035 */
#define AFL_CAPTCHA_MAX 16         /* bytes */
#define AFL_TOKEN_MAX 128          /* captcha_id and csrf, bytes */
#define AFL_COLONIA_MAX 100        /* characters (code points) */
#define AFL_CALLE_MAX 100          /* characters */
#define AFL_NUM_EXT_MAX 20         /* characters */
#define AFL_NUM_INT_MAX 20         /* characters */
#define AFL_FORM_DEFAULT_FIELDS 16 /* a sensible max_fields for our forms */

/* ------------------------------------------------------------------ urlencoded parser */

/* Error codes of afl_form_parse(); APR_SUCCESS (0) on success. They sit in APR's
 * user range with an offset of our own, and are distinct from every APR code. */
enum {
    AFL_FORM_EBADENC = APR_OS_START_USERERR + 4100, /* '%' not followed by 2 hex digits,
                                                       or an empty name ("=x") */
    AFL_FORM_EREPEATED,                             /* a name appears twice (ASVS 5.1.1) */
    AFL_FORM_ETOOMANY,                              /* more than max_fields pairs */
    AFL_FORM_ENUL                                   /* %00 in a decoded name or value */
};

/* Parse an application/x-www-form-urlencoded body of len bytes (need not be
 * NUL-terminated; body may be NULL when len is 0).
 *
 *  - pairs are separated by '&'; empty pairs ("a=1&&b=2", trailing '&') are skipped;
 *  - '+' decodes to a space, %XX (either case) to the byte; anything else is literal;
 *  - a name without '=' gets the empty value ("flag" -> flag = "");
 *  - names are compared after decoding and case-insensitively, as apr_table_get() does,
 *    so "curp" and "CUR%50" count as a repeated name;
 *  - max_fields counts non-empty pairs; 0 allows none.
 *
 * On success *out holds one entry per name, names and values NUL-terminated and
 * allocated in p. On error *out is left untouched. Validity of UTF-8 is NOT checked
 * here: the field validators report it with a message for the student. */
apr_status_t afl_form_parse(apr_pool_t *p, const char *body, size_t len, size_t max_fields,
                            apr_table_t **out);

/* English description of an afl_form_parse() status, for logs. */
const char *afl_form_strerror(apr_status_t st);

/* ------------------------------------------------------------------ text helpers */

/* 1 if s[0..n) is strict UTF-8 (RFC 3629): no overlong forms, no surrogates
 * (U+D800-U+DFFF), nothing above U+10FFFF, no truncated sequence. NUL bytes are valid
 * UTF-8 here; afl_text_is_safe() rejects them. */
int afl_text_valid_utf8(const char *s, size_t n);

/* Number of code points in a valid UTF-8 string. */
size_t afl_text_utf8_len(const char *s);

/* 1 if the NUL-terminated s is valid UTF-8 and holds nothing that is invisible or
 * changes how the surrounding text is displayed. Form fields are single-line, so
 * rejected are:
 *  - C0 controls U+0000-U+001F (TAB, CR and LF included), DEL U+007F, C1 U+0080-U+009F;
 *  - bidi controls: U+061C, U+200E-U+200F, embeddings/overrides U+202A-U+202E,
 *    isolates U+2066-U+2069 (the "Trojan Source" characters);
 *  - zero-width and other invisible format characters: U+00AD soft hyphen, U+180E,
 *    U+200B-U+200D, U+2060-U+2064, U+206A-U+206F, U+FEFF; none has a use in Spanish
 *    names or addresses, and they make two different strings look identical;
 *  - line and paragraph separators U+2028, U+2029; interlinear annotation
 *    U+FFF9-U+FFFB; noncharacters U+FDD0-U+FDEF and U+xxFFFE/U+xxFFFF; tag characters
 *    U+E0000-U+E007F (invisible, used to smuggle text past reviewers).
 * Everything else, emoji included, is "safe" (other checks may still refuse it). */
int afl_text_is_safe(const char *s);

/* 1 if the NUL-terminated UTF-8 s is valid and every code point has a Windows-1252
 * byte (ASCII, U+00A0-U+00FF, and the 27 characters CP1252 puts in 0x80-0x9F, e.g. €,
 * ’, “, —). The PDF fonts are CP1252-encoded. C1 controls are not representable. */
int afl_text_cp1252_ok(const char *s);

/* Transcode UTF-8 to Windows-1252 for the PDF writer. NULL when s is invalid or holds a
 * code point CP1252 lacks (check afl_text_cp1252_ok() first for a message). */
char *afl_text_to_cp1252(apr_pool_t *p, const char *s);

/* The same, for text that must be drawn whatever it holds (the PDF writer): never NULL
 * for a non-NULL s. A code point CP1252 lacks becomes '?', and so does each invalid
 * sequence (its lead byte and the continuation bytes after it: one '?' per broken
 * character); C0 controls and DEL become a space. The result is never longer than s. */
char *afl_text_to_cp1252_lossy(apr_pool_t *p, const char *s);

/* s without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r). Returns s
 * itself when there is nothing to trim, else a copy in p. NULL stays NULL. */
const char *afl_text_trim(apr_pool_t *p, const char *s);

/* Compose the decomposed (NFD) Latin letters that Spanish text can carry, e.g. "n" +
 * U+0303 -> "ñ", "e" + U+0301 -> "é", "u" + U+0308 -> "ü", so that text pasted from a
 * decomposing source compares and prints like typed text. Only pairs whose composed
 * form is in Latin-1 (U+00C0-U+00FF) are composed; this is NFC restricted to the
 * repertoire the PDF can print, not a full Unicode normaliser. s must be valid UTF-8;
 * returns s itself when nothing changes. */
const char *afl_text_compose_latin(apr_pool_t *p, const char *s);

/* ------------------------------------------------------------------ e-mail */

/* 1 if s is an address we accept: at most 254 octets, ASCII only, exactly one '@';
 * local part 1-64 octets of RFC 5322 atext (letters, digits and ! # $ % & ' * + - / = ?
 * ^ _ ` { | } ~) and dots, with no leading, trailing or doubled dot (dot-atom, no quoted
 * strings); domain of at least two labels, each 1-63 letters, digits or hyphens not
 * starting or ending with a hyphen; last label alphabetic, at least 2 letters.
 * So CR, LF, NUL, spaces, '"', ',', '<', '>', '(' ')' ';' ':' and '\' are all refused,
 * which is what keeps the address from injecting mail headers (ASVS 5.2.3).
 * The browser's <input type=email> check (WHATWG) uses the same character sets but is
 * looser (leading or doubled dots, one-label domains), so this check is the one that
 * counts. Internationalised addresses (SMTPUTF8) and punycode TLDs are refused. */
int afl_email_valid(const char *s);

/* Trimmed copy of s with the domain lower-cased (the local part keeps its case: RFC
 * 5321 lets the receiving host decide). Returns NULL if s is NULL. Does not validate. */
const char *afl_email_normalize(apr_pool_t *p, const char *s);

/* ------------------------------------------------------------------ first form */

typedef struct {
    /* Trimmed values ("" when absent), safe to show back in the form (the template
     * engine escapes them). correo and correo_confirmacion have a lower-cased domain. */
    const char *curp;
    const char *correo;
    const char *correo_confirmacion;
    const char *captcha;
    const char *captcha_id;
    const char *csrf;

    /* Spanish message for each visible field, NULL when the field passed. */
    const char *err_curp;
    const char *err_correo;
    const char *err_correo_confirmacion;
    const char *err_captcha;

    /* The hidden fields captcha_id and csrf were missing or malformed: not something a
     * student can fix. The glue should re-issue the form with err_form as a banner
     * (or answer 400) and log it as a tampering event. */
    int tampered;
    const char *err_form;

    int nerrors; /* visible-field messages plus 1 if tampered */
} afl_solicitud;

/* Read and check the first form (CURP, e-mail twice, CAPTCHA, captcha_id, csrf).
 * Only presence and length are checked for the CURP: the caller runs
 * afl_curp_validate() when err_curp is NULL and maps the result with
 * afl_form_curp_message(). The CAPTCHA answer is checked by the CAPTCHA unit.
 * Returns nerrors. */
int afl_form_solicitud(apr_pool_t *p, const apr_table_t *t, afl_solicitud *out);

/* Spanish message for an afl_curp_validate() result: 0 OK (returns NULL), 1 bad
 * length, 2 bad format, 3 bad sex, 4 bad state, 5 bad date, 6 inconvenient word,
 * 7 bad check digit; anything else gets a generic message. */
const char *afl_form_curp_message(int reason);

/* ------------------------------------------------------------------ address form */

typedef struct {
    const char *cp;      /* 5 ASCII digits */
    const char *colonia; /* trimmed, Latin letters composed (see above) */
    const char *calle;
    const char *numero_exterior;
    const char *numero_interior; /* "" when the home has none */

    const char *err_cp; /* Spanish message per field, NULL when valid */
    const char *err_colonia;
    const char *err_calle;
    const char *err_numero_exterior;
    const char *err_numero_interior;

    int nerrors;
} afl_address;

/* Read and check the address form. Each text field must be valid UTF-8, within its
 * length in characters, and made only of the address allow-list: letters (ASCII and
 * Latin-1 letters such as á, Ñ, ü), digits, space and . , - # / ' " ( ) [ ] ° º ª ´ ‘ ’ “ ”
 * (the SEPOMEX catalogue's colonia names use exactly these, plus smart quotes that
 * phone keyboards insert). That set is CP1252-representable and free of controls,
 * bidi and zero-width characters by construction. Returns nerrors. */
int afl_form_address(apr_pool_t *p, const apr_table_t *t, afl_address *out);

/* The Spanish messages, exported so templates and tests use the same text. */
#define AFL_MSG_REQUIRED "Este campo es obligatorio"
#define AFL_MSG_EMAIL_INVALID "El correo electrónico no es válido"
#define AFL_MSG_EMAIL_MISMATCH "Los correos electrónicos no coinciden"
#define AFL_MSG_CP "El Código Postal debe tener 5 dígitos"
#define AFL_MSG_CHARS "Usa solo letras, números y signos comunes"
#define AFL_MSG_CAPTCHA "Escribe solo los caracteres que aparecen en la imagen"
#define AFL_MSG_CURP_LENGTH "La CURP debe tener 18 caracteres."
#define AFL_MSG_FORM                                                                               \
    "El formulario ya no es válido. Vuelve a cargar la página e inténtalo de nuevo."
/* "Máximo N caracteres" is built per field. */

#endif
