/* CURP construction from a person's data (RENAPO rules, docs/domain.md,
 * Building a CURP). Pure unit, no httpd; no allocation, any input length. */
#ifndef AFL_CURP_BUILD_H
#define AFL_CURP_BUILD_H

typedef struct {
    const char *given_names;    /* UTF-8, e.g. "María José" */
    const char *first_surname;  /* UTF-8 */
    const char *second_surname; /* UTF-8; NULL or "" when there is none */
    int birth_year, birth_month, birth_day;
    char sex;          /* 'H','M','X' */
    const char *state; /* two-letter code or "NE" */
    char homoclave;    /* position 17; '0'-'9' if born before 2000, 'A'-'Z' from 2000;
                          0 = pick the default ('0' or 'A') */
} afl_person;

/* 0 ok (out is a valid CURP per afl_curp_validate), -1 bad input: no letter
 * in the given names or first surname, a date that is not real or outside
 * 1900-2099, sex, state or homoclave not allowed. out is "" on error.
 * Sex, state and homoclave are accepted in either case. */
int afl_curp_build(const afl_person *p, char out[19]);

#endif
