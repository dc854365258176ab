/* afl_utf8: the one strict UTF-8 decoder (RFC 3629) of the module.
 *
 * Every check of UTF-8 text (forms, templates, e-mail headers, cadenas, the
 * schools' report) goes through afl_utf8_decode, so all of them accept and
 * refuse the same bytes. */
#ifndef AFL_UTF8_H
#define AFL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one sequence from s[0..n), n >= 1. Returns its length (1-4) and stores the
 * code point in *cp (cp may be NULL), or 0 when the bytes are not a valid, shortest-form
 * sequence: the ranges of RFC 3629 §4 (Unicode Table 3-7), which exclude overlongs (C0,
 * C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90+,
 * F5+). A NUL inside s[1..n) ends a sequence like any other non-continuation byte, so
 * NUL-terminated text may pass its remaining length. */
size_t afl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Whether cp is a control character: C0 (U+0000-U+001F), DEL or C1 (U+0080-U+009F). */
int afl_utf8_is_control(uint32_t cp);

/* Whether the NUL-terminated s is valid UTF-8 without control characters; a tab passes
 * only when tab_ok. */
int afl_utf8_printable(const char *s, int tab_ok);

/* Narrows s[0..*n) to leave out the ASCII white space (space, \t \n \v \f \r) at both
 * ends: *s moves forward, *n shrinks. A NULL *s is taken as empty (*n becomes 0). */
void afl_utf8_trim(const char **s, size_t *n);

#endif
