/* CURP validation (docs/domain.md, CURP). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "afl_curp.h"
#include "afl_log.h"
#include "afl_utf8.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CURP_LEN 18

/* Structure only. Sex (11), state (12-13) and date (5-10) are deliberately
 * loose so that each gets its own reason code after the match. */
static const char curp_pattern[] = "^[A-Z][AEIOUX][A-Z]{2}[0-9]{6}[A-Z]{3}"
                                   "[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z][0-9]$";

static pcre2_code *curp_re;
static int curp_re_jit;
static int curp_init_rc = -1;
static pthread_once_t curp_once = PTHREAD_ONCE_INIT;

/* 32 states + NE (docs/domain.md, CURP state codes). */
static const struct {
    char code[3];
    const char *name;
} states[] = {
    {"AS", "Aguascalientes"}, {"BC", "Baja California"}, {"BS", "Baja California Sur"},
    {"CC", "Campeche"},       {"CL", "Coahuila"},        {"CM", "Colima"},
    {"CS", "Chiapas"},        {"CH", "Chihuahua"},       {"DF", "Ciudad de México"},
    {"DG", "Durango"},        {"GT", "Guanajuato"},      {"GR", "Guerrero"},
    {"HG", "Hidalgo"},        {"JC", "Jalisco"},         {"MC", "Estado de México"},
    {"MN", "Michoacán"},      {"MS", "Morelos"},         {"NT", "Nayarit"},
    {"NL", "Nuevo León"},     {"OC", "Oaxaca"},          {"PL", "Puebla"},
    {"QT", "Querétaro"},      {"QR", "Quintana Roo"},    {"SP", "San Luis Potosí"},
    {"SL", "Sinaloa"},        {"SR", "Sonora"},          {"TC", "Tabasco"},
    {"TS", "Tamaulipas"},     {"TL", "Tlaxcala"},        {"VZ", "Veracruz"},
    {"YN", "Yucatán"},        {"ZS", "Zacatecas"},       {"NE", "Nacido en el extranjero"},
};
#define N_STATES (sizeof states / sizeof states[0])

/* [first-'A'][second-'A'] -> index into states + 1, 0 = not a code.
 * Filled once by curp_init_once; read-only afterwards. */
static unsigned char state_index[26][26];

/* Anexo 2, 81 words (the tests check that exactly these 81 of A-Z^4 match). */
static const char inconvenient[][5] = {
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COGI",
    "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI", "GUEY", "JETA",
    "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI", "KOJA", "KOJE", "KOJI",
    "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO", "MAME", "MAMO", "MEAR", "MEAS",
    "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO", "NACA", "NACO", "PEDA", "PEDO", "PENE",
    "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO", "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO",
    "TETA", "VACA", "VAGA", "VAGO", "VAKA", "VUEI", "VUEY", "WUEI", "WUEY",
};
#define N_INCONVENIENT (sizeof inconvenient / sizeof inconvenient[0])

/* The same words packed into integers in a small open-addressing set
 * (load 81/256): about one probe per lookup. Built once; 0 = empty slot. */
#define INC_SLOTS 256
static uint32_t inconvenient_set[INC_SLOTS];

static uint32_t pack4(const unsigned char *w)
{
    return (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 | w[3];
}

static unsigned inc_hash(uint32_t key)
{
    return (key * 0x9E3779B1u) >> 24; /* Fibonacci hashing to 8 bits */
}

/* Character values for the check digit, plus one (0 = not in the table):
 * 0-9 -> 0-9, A-N -> 10-23, the Ñ slot written '&' (python-stdnum) -> 24,
 * O-Z -> 25-36. The gap is what makes O = 25. */
static const unsigned char char_value1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21, ['L'] = 22, ['M'] = 23, ['N'] = 24,
    ['&'] = 25, ['O'] = 26, ['P'] = 27, ['Q'] = 28, ['R'] = 29, ['S'] = 30, ['T'] = 31, ['U'] = 32,
    ['V'] = 33, ['W'] = 34, ['X'] = 35, ['Y'] = 36, ['Z'] = 37,
};

static void curp_init_once(void)
{
    int err;
    PCRE2_SIZE off;

    for (size_t i = 0; i < N_STATES; i++)
        state_index[states[i].code[0] - 'A'][states[i].code[1] - 'A'] = (unsigned char)(i + 1);
    for (size_t i = 0; i < N_INCONVENIENT; i++) {
        uint32_t key = pack4((const unsigned char *)inconvenient[i]);
        unsigned h = inc_hash(key);
        while (inconvenient_set[h])
            h = (h + 1) % INC_SLOTS;
        inconvenient_set[h] = key;
    }

    curp_re = pcre2_compile((PCRE2_SPTR)curp_pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE, &err, &off, NULL);
    if (!curp_re) {
        afl_log(AFL_LOG_ERR,
                AFL_LOGNO(00006) "CURP pattern does not compile (PCRE2 error %d at %zu)", err,
                          (size_t)off);
        return;
    }
    /* No JIT (not built in, or W^X policy) only costs speed. */
    curp_re_jit = pcre2_jit_compile(curp_re, PCRE2_JIT_COMPLETE) == 0;
    curp_init_rc = 0;
}

int afl_curp_init(void)
{
    if (pthread_once(&curp_once, curp_init_once) != 0)
        return -1;
    return curp_init_rc;
}

/* Per-call bump arena so that the general context and the match data live on
 * the caller's stack: pcre2_match_data_create would otherwise malloc on every
 * validation. Anything that does not fit (the interpreter's heap frames when
 * JIT is unavailable) falls back to malloc. */
struct arena {
    size_t used;
    _Alignas(16) unsigned char buf[512];
};

static void *arena_malloc(PCRE2_SIZE size, void *data)
{
    struct arena *a = data;
    size_t need = (size + 15) & ~(size_t)15;

    if (need >= size && need <= sizeof a->buf - a->used) {
        void *p = a->buf + a->used;
        a->used += need;
        return p;
    }
    return malloc(size);
}

static void arena_free(void *p, void *data)
{
    struct arena *a = data;
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)a->buf;

    if (p && (u < lo || u >= lo + sizeof a->buf))
        free(p);
}

/* 1 if the 18 normalised bytes have the CURP layout. Fails closed. */
static int layout_ok(const char *s)
{
    struct arena a = {.used = 0};
    pcre2_general_context *gc;
    pcre2_match_data *md;
    int rc;

    gc = pcre2_general_context_create(arena_malloc, arena_free, &a);
    if (!gc)
        return 0;
    md = pcre2_match_data_create(1, gc);
    if (!md) {
        pcre2_general_context_free(gc);
        return 0;
    }
    if (curp_re_jit)
        rc = pcre2_jit_match(curp_re, (PCRE2_SPTR)s, CURP_LEN, 0, 0, md, NULL);
    else
        rc = pcre2_match(curp_re, (PCRE2_SPTR)s, CURP_LEN, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_general_context_free(gc);
    return rc > 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

int afl_curp_check_digit(const char *first17)
{
    const unsigned char *p = (const unsigned char *)first17;
    int sum = 0;

    if (!p)
        return -1;
    for (int i = 0; i < 17; i++) {
        int v = char_value1[p[i]];
        if (!v)
            return -1; /* also stops at a NUL before position 17 */
        sum += (v - 1) * (18 - i);
    }
    return (10 - sum % 10) % 10;
}

/* w: 4 upper-case letters. */
static int inconvenient_upper(const unsigned char *w)
{
    uint32_t key = pack4(w);

    for (unsigned h = inc_hash(key); inconvenient_set[h]; h = (h + 1) % INC_SLOTS)
        if (inconvenient_set[h] == key)
            return 1;
    return 0;
}

int afl_curp_is_inconvenient(const char *first4)
{
    unsigned char w[4];

    if (!first4)
        return 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)first4[i];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c < 'A' || c > 'Z')
            return 0;
        w[i] = c;
    }
    afl_curp_init(); /* the packed keys */
    return inconvenient_upper(w);
}

const char *afl_curp_state_name(const char *code)
{
    unsigned idx;

    if (!code || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' || code[2])
        return NULL;
    afl_curp_init(); /* the table is built even if PCRE2 fails */
    idx = state_index[code[0] - 'A'][code[1] - 'A'];
    return idx ? states[idx - 1].name : NULL;
}

const char *afl_curp_reason_code(afl_curp_reason r)
{
    switch (r) {
    case AFL_CURP_OK:
        return "ok";
    case AFL_CURP_BAD_LENGTH:
        return "bad_length";
    case AFL_CURP_BAD_FORMAT:
        return "bad_format";
    case AFL_CURP_BAD_SEX:
        return "bad_sex";
    case AFL_CURP_BAD_STATE:
        return "bad_state";
    case AFL_CURP_BAD_DATE:
        return "bad_date";
    case AFL_CURP_INCONVENIENT_WORD:
        return "inconvenient_word";
    case AFL_CURP_BAD_CHECK_DIGIT:
        return "bad_check_digit";
    }
    return "unknown";
}

static int two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

afl_curp_reason afl_curp_validate(const char *input, size_t len, afl_curp_info *info)
{
    const unsigned char *p;
    char s[CURP_LEN + 1];
    int y, m, d, dv;
    unsigned idx;

    if (info)
        memset(info, 0, sizeof *info);
    afl_utf8_trim(&input, &len);
    p = (const unsigned char *)input;
    if (len != CURP_LEN)
        return AFL_CURP_BAD_LENGTH;

    for (int i = 0; i < CURP_LEN; i++) /* branch-free ASCII upper-casing */
        s[i] = (char)(p[i] - (((unsigned)(p[i] - 'a') < 26u) << 5));
    s[CURP_LEN] = '\0';
    if (info)
        memcpy(info->curp, s, sizeof s);

    if (afl_curp_init() != 0 || !layout_ok(s))
        return AFL_CURP_BAD_FORMAT;

    /* From here the layout guarantees A-Z / 0-9 where they are read. */
    if (s[10] != 'H' && s[10] != 'M' && s[10] != 'X')
        return AFL_CURP_BAD_SEX;
    if (info)
        info->sex = s[10];

    idx = state_index[s[11] - 'A'][s[12] - 'A'];
    if (!idx)
        return AFL_CURP_BAD_STATE;
    if (info)
        memcpy(info->state, states[idx - 1].code, 3);

    /* Position 17 gives the century: digit before 2000, letter from 2000. */
    y = (s[16] <= '9' ? 1900 : 2000) + two_digits(s + 4);
    m = two_digits(s + 6);
    d = two_digits(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return AFL_CURP_BAD_DATE;
    if (info) {
        info->birth_year = y;
        info->birth_month = m;
        info->birth_day = d;
    }

    if (inconvenient_upper((const unsigned char *)s))
        return AFL_CURP_INCONVENIENT_WORD;

    dv = afl_curp_check_digit(s);
    if (dv < 0 || s[17] - '0' != dv)
        return AFL_CURP_BAD_CHECK_DIGIT;
    return AFL_CURP_OK;
}
