/* NSS validation and composition (docs/domain.md, NSS). Pure unit, no httpd. */
#ifndef AFL_NSS_H
#define AFL_NSS_H

#include <stddef.h>

/* Exactly one verdict: the first failing check in this order. */
typedef enum {
    AFL_NSS_OK = 0,
    AFL_NSS_BAD_LENGTH,
    AFL_NSS_BAD_CHARS,
    AFL_NSS_BAD_CHECK_DIGIT
} afl_nss_reason;

/* SS AA BB FFFF D */
typedef struct {
    int serie, reg_year, birth_year, folio, check;
} afl_nss_parts;

/* input may hold any bytes (len is authoritative); NULL counts as empty.
 * Surrounding ASCII whitespace is trimmed. out (may be NULL) receives the
 * 11 digits when they are 11 digits (OK or bad check digit), else "". */
afl_nss_reason afl_nss_validate(const char *input, size_t len, char out[12]);

/* "ok", "bad_length", "bad_chars", "bad_check_digit"; "unknown" otherwise. */
const char *afl_nss_reason_code(afl_nss_reason r);

/* Luhn over the first 10 digits, weights 1,2,1,2... from the left;
 * -1 if one of them is not an ASCII digit. */
int afl_nss_check_digit(const char *first10);

/* Writes the 11-digit NSS. 0 ok, -1 out of range (serie and years 0..99,
 * folio 0..9999); out is "" on error. */
int afl_nss_compose(int serie, int reg_year, int birth_year, int folio, char out[12]);

/* Splits a valid NSS (afl_nss_validate rules on a NUL-terminated string).
 * 0 ok, -1 not a valid NSS (parts then zeroed). */
int afl_nss_parse(const char *nss11, afl_nss_parts *parts);

#endif
