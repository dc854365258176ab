/* Fuzz target: CURP and NSS validators, and the CURP builder.
 * Invariants are checked against small independent references; any
 * violation aborts so that libFuzzer (and the replay) report it. */
#include "afl_curp.h"
#include "afl_curp_build.h"
#include "afl_nss.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static int ref_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static void ref_trim(const uint8_t **p, size_t *n)
{
    while (*n && ref_space((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && ref_space((*p)[*n - 1]))
        (*n)--;
}

/* Layout without a regex: L letter, V vowel or X, D digit, C consonant,
 * A letter or digit. */
static int ref_layout(const uint8_t *s)
{
    static const char cls[] = "LVLLDDDDDDLLLCCCAD";

    for (int i = 0; i < 18; i++) {
        uint8_t c = s[i];
        int L = c >= 'A' && c <= 'Z', D = c >= '0' && c <= '9';
        int vowel = c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
        int ok = cls[i] == 'L'   ? L
                 : cls[i] == 'V' ? vowel || c == 'X'
                 : cls[i] == 'D' ? D
                 : cls[i] == 'C' ? L && !vowel
                                 : L || D;
        if (!ok)
            return 0;
    }
    return 1;
}

/* docs/domain.md, CURP check digit, second form: all 18 with weights 18..1 sum to 0 mod 10,
 * alphabet with the Ñ slot ('&') between N and O. */
static int ref_check_sum(const uint8_t *s)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    int sum = 0;

    for (int i = 0; i < 18; i++) {
        const char *at = memchr(alphabet, s[i], sizeof alphabet - 1);
        if (!at)
            return 0;
        sum += (int)(at - alphabet) * (18 - i);
    }
    return sum % 10 == 0;
}

/* A real date per the C library: timegm must not normalise it. */
static int ref_date_ok(int y, int m, int d)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};

    if (m < 1 || m > 12 || d < 1)
        return 0;
    timegm(&tm);
    return tm.tm_year == y - 1900 && tm.tm_mon == m - 1 && tm.tm_mday == d;
}

static void check_curp(const uint8_t *data, size_t size)
{
    afl_curp_info info;
    afl_curp_reason r = afl_curp_validate((const char *)data, size, &info);
    const uint8_t *p = data;
    size_t n = size;
    uint8_t up[18];

    CHECK(r >= AFL_CURP_OK && r <= AFL_CURP_BAD_CHECK_DIGIT);
    CHECK(strcmp(afl_curp_reason_code(r), "unknown") != 0);
    CHECK(afl_curp_validate((const char *)data, size, NULL) == r);

    ref_trim(&p, &n);
    CHECK((n != 18) == (r == AFL_CURP_BAD_LENGTH));
    if (n != 18) {
        CHECK(info.curp[0] == '\0');
        return;
    }
    for (int i = 0; i < 18; i++)
        up[i] = p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i];
    CHECK(memcmp(info.curp, up, 18) == 0 && info.curp[18] == '\0');
    CHECK(ref_layout(up) == (r != AFL_CURP_BAD_FORMAT));
    if (r == AFL_CURP_BAD_FORMAT)
        return;
    CHECK((up[10] == 'H' || up[10] == 'M' || up[10] == 'X') == (r != AFL_CURP_BAD_SEX));
    if (r == AFL_CURP_BAD_SEX)
        return;
    CHECK(info.sex == (char)up[10]);
    {
        char code[3] = {(char)up[11], (char)up[12], 0};
        CHECK((afl_curp_state_name(code) != NULL) == (r != AFL_CURP_BAD_STATE));
    }
    if (r == AFL_CURP_BAD_STATE)
        return;
    CHECK(afl_curp_state_name(info.state) != NULL && !memcmp(info.state, up + 11, 2));
    {
        int y = (up[16] <= '9' ? 1900 : 2000) + (up[4] - '0') * 10 + (up[5] - '0');
        int ok =
            ref_date_ok(y, (up[6] - '0') * 10 + (up[7] - '0'), (up[8] - '0') * 10 + (up[9] - '0'));
        CHECK(ok == (r != AFL_CURP_BAD_DATE));
    }
    if (r == AFL_CURP_BAD_DATE) {
        CHECK(info.birth_year == 0);
        return;
    }
    CHECK(info.birth_month >= 1 && info.birth_month <= 12 && info.birth_day >= 1 &&
          info.birth_day <= 31);
    CHECK(info.birth_year >= 1900 && info.birth_year <= 2099);
    CHECK((info.birth_year >= 2000) == (up[16] >= 'A'));
    CHECK(info.birth_year % 100 == (up[4] - '0') * 10 + (up[5] - '0'));
    CHECK(afl_curp_is_inconvenient((const char *)up) == (r == AFL_CURP_INCONVENIENT_WORD));
    if (r == AFL_CURP_INCONVENIENT_WORD)
        return;
    CHECK((afl_curp_check_digit((const char *)up) == up[17] - '0') == (r == AFL_CURP_OK));
    CHECK(ref_check_sum(up) == (r == AFL_CURP_OK)); /* independent of afl_curp_check_digit */
    if (r == AFL_CURP_OK)
        CHECK(afl_curp_validate(info.curp, 18, NULL) == AFL_CURP_OK); /* idempotent */
}

static void check_nss(const uint8_t *data, size_t size)
{
    char out[12];
    afl_nss_reason r = afl_nss_validate((const char *)data, size, out);
    const uint8_t *p = data;
    size_t n = size;
    int digits = 1;

    CHECK(r >= AFL_NSS_OK && r <= AFL_NSS_BAD_CHECK_DIGIT);
    CHECK(strcmp(afl_nss_reason_code(r), "unknown") != 0);
    ref_trim(&p, &n);
    CHECK((n != 11) == (r == AFL_NSS_BAD_LENGTH));
    if (n != 11) {
        CHECK(out[0] == '\0');
        return;
    }
    for (int i = 0; i < 11; i++)
        digits &= p[i] >= '0' && p[i] <= '9';
    CHECK(digits == (r != AFL_NSS_BAD_CHARS));
    if (!digits) {
        CHECK(out[0] == '\0');
        return;
    }
    CHECK(memcmp(out, p, 11) == 0 && out[11] == '\0');
    if (r == AFL_NSS_OK) {
        afl_nss_parts parts;
        char again[12];
        CHECK(afl_nss_check_digit(out) == out[10] - '0');
        CHECK(afl_nss_parse(out, &parts) == 0);
        CHECK(afl_nss_compose(parts.serie, parts.reg_year, parts.birth_year, parts.folio, again) ==
              0);
        CHECK(strcmp(again, out) == 0);
    } else {
        CHECK(afl_nss_check_digit(out) != out[10] - '0');
    }
}

/* Bytes 0-5 pick date, sex, state, homoclave; the rest is split at '|' into
 * given names, first and second surname. Any successful build must validate. */
static void check_build(const uint8_t *data, size_t size)
{
    static const char *const states[] = {"DF", "NE", "JC", "zs", "XX", "D"};
    char *copy, *f[3] = {NULL, NULL, NULL}, out[19];
    afl_person per;
    afl_curp_info info;

    if (size < 6)
        return;
    copy = malloc(size - 6 + 1);
    if (!copy)
        return;
    memcpy(copy, data + 6, size - 6);
    copy[size - 6] = '\0';
    f[0] = copy;
    for (int k = 1; k < 3; k++) {
        char *bar = strchr(f[k - 1], '|');
        if (!bar)
            break;
        *bar = '\0';
        f[k] = bar + 1;
    }
    memset(&per, 0, sizeof per);
    per.given_names = f[0];
    per.first_surname = f[1];
    per.second_surname = f[2];
    per.birth_year = 1890 + data[0] % 220;
    per.birth_month = data[1] % 14;
    per.birth_day = data[2] % 33;
    per.sex = (char)data[3];
    per.state = states[data[4] % 6];
    per.homoclave = data[5] & 1 ? 0 : (char)data[5];
    if (afl_curp_build(&per, out) == 0) {
        CHECK(strlen(out) == 18);
        CHECK(afl_curp_validate(out, 18, &info) == AFL_CURP_OK);
        CHECK(info.birth_year == per.birth_year && info.birth_month == per.birth_month &&
              info.birth_day == per.birth_day);
    } else {
        CHECK(out[0] == '\0');
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_curp(data, size);
    check_nss(data, size);
    check_build(data, size);
    return 0;
}
