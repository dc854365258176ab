/* CURP validation (docs/domain.md, CURP). Pure unit: APR/PCRE2 only, no httpd.
 * Thread-safe: the compiled pattern is shared read-only, everything else is
 * per call and allocation-free. */
#ifndef AFL_CURP_H
#define AFL_CURP_H

#include <stddef.h>

/* Exactly one verdict: the first failing check in this order. */
typedef enum {
    AFL_CURP_OK = 0,
    AFL_CURP_BAD_LENGTH,
    AFL_CURP_BAD_FORMAT,
    AFL_CURP_BAD_SEX,
    AFL_CURP_BAD_STATE,
    AFL_CURP_BAD_DATE,
    AFL_CURP_INCONVENIENT_WORD,
    AFL_CURP_BAD_CHECK_DIGIT
} afl_curp_reason;

/* Fields are zero/empty unless their own check passed: curp is set when the
 * normalised length is 18; sex, state and the date once they are valid. */
typedef struct {
    char curp[19]; /* normalised (trimmed, upper-cased), NUL-terminated; set when length is 18 */
    int birth_year, birth_month, birth_day; /* full year, century from position 17 */
    char sex;                               /* 'H', 'M' or 'X' */
    char state[3];                          /* two-letter code, "NE" included */
} afl_curp_info;

/* Compiles the PCRE2 pattern once (JIT when available). Idempotent and
 * thread-safe; afl_curp_validate calls it too. 0 on success. */
int afl_curp_init(void);

/* input may hold any bytes (len is authoritative); NULL counts as empty.
 * Surrounding ASCII whitespace is trimmed and ASCII letters upper-cased. */
afl_curp_reason afl_curp_validate(const char *input, size_t len, afl_curp_info *info);

/* "ok", "bad_length", ...; "unknown" for a value outside the enum. */
const char *afl_curp_reason_code(afl_curp_reason r);

/* "DF" -> "Ciudad de México" (UTF-8), "NE" -> "Nacido en el extranjero";
 * NULL for anything that is not exactly one of the 33 upper-case codes. */
const char *afl_curp_state_name(const char *code);

/* Position 18 for the first 17 characters: 0..9, or -1 if a character is
 * outside the 37-symbol table (0-9, A-N, the Ñ slot written '&', O-Z). */
int afl_curp_check_digit(const char *first17);

/* 1 if the first 4 characters (ASCII, any case) are one of the 81 words of
 * Anexo 2, else 0. Stops early at a NUL. */
int afl_curp_is_inconvenient(const char *first4);

#endif
