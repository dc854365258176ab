/* CURP construction (docs/domain.md, Building a CURP). Names are scanned once as a
 * stream of words; only what the key needs is kept, so there is no
 * allocation and no length limit. */
#include "afl_curp_build.h"
#include "afl_curp.h"

#include <string.h>

#define HEAD_MAX 8 /* longest particle / compound name is 5 letters */

struct word {
    char head[HEAD_MAX];            /* first letters, for the particle and MARIA/JOSE lists */
    size_t n;                       /* letters in the word */
    char initial, vowel, consonant; /* 0 when absent */
};

/* The words that matter: the first two words, and the first two that are not
 * particles (particles are dropped only when other words remain). */
struct field {
    struct word any[2], kept[2];
    int n_any, n_kept;
};

static const char *const particles[] = {"DA",  "DAS", "DE",  "DEL", "DER", "DI", "DIE",
                                        "DD",  "EL",  "LA",  "LOS", "LAS", "LE", "LES",
                                        "MAC", "MC",  "VAN", "VON", "Y",   NULL};

/* After non-letters are dropped "MA." and "M." read MA and M, "J." reads J. */
static const char *const compound_first[] = {"MARIA", "MA", "M", "JOSE", "J", NULL};

/* U+00C0..U+00FF (UTF-8 C3 80..C3 BF) to the letter RENAPO writes; Ñ/ñ
 * become X as in the key itself; 0 = not a letter, ignored. */
static const char latin1_map[64] = {
    'A', 'A', 'A', 'A', 'A', 'A', 0,   'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I', /* C0 */
    'D', 'X', 'O', 'O', 'O', 'O', 'O', 0,   'O', 'U', 'U', 'U', 'U', 'Y', 0,   0,   /* D0 */
    'A', 'A', 'A', 'A', 'A', 'A', 0,   'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I', /* E0 */
    'D', 'X', 'O', 'O', 'O', 'O', 'O', 0,   'O', 'U', 'U', 'U', 'U', 'Y', 0,   'Y', /* F0 */
};

static int in_list(const struct word *w, const char *const *list)
{
    if (w->n >= HEAD_MAX)
        return 0;
    for (; *list; list++)
        if (strlen(*list) == w->n && !memcmp(*list, w->head, w->n))
            return 1;
    return 0;
}

static int is_vowel(char c)
{
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

static void word_add(struct word *w, char c)
{
    if (w->n == 0)
        w->initial = c;
    else if (is_vowel(c)) {
        if (!w->vowel)
            w->vowel = c;
    } else if (!w->consonant) {
        w->consonant = c;
    }
    if (w->n < HEAD_MAX)
        w->head[w->n] = c;
    w->n++;
}

static void field_end_word(struct field *f, struct word *w)
{
    if (w->n == 0)
        return;
    if (f->n_any < 2)
        f->any[f->n_any++] = *w;
    if (f->n_kept < 2 && !in_list(w, particles))
        f->kept[f->n_kept++] = *w;
    memset(w, 0, sizeof *w);
}

/* Splits UTF-8 text into upper-case ASCII words. Whitespace (ASCII, NBSP)
 * separates words; other non-letters, and letters outside Latin-1, are
 * ignored. Invalid UTF-8 is ignored byte by byte. */
static void field_scan(struct field *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    struct word w;

    memset(f, 0, sizeof *f);
    memset(&w, 0, sizeof w);
    if (!s)
        return;
    while (*s) {
        unsigned char c = *s++;
        if (c >= 'a' && c <= 'z') {
            word_add(&w, (char)(c - ('a' - 'A')));
        } else if (c >= 'A' && c <= 'Z') {
            word_add(&w, (char)c);
        } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
            field_end_word(f, &w);
        } else if (c == 0xC2 && *s == 0xA0) { /* NBSP */
            s++;
            field_end_word(f, &w);
        } else if (c == 0xC3 && *s >= 0x80 && *s <= 0xBF) {
            char m = latin1_map[*s++ - 0x80];
            if (m)
                word_add(&w, m);
        }
    }
    field_end_word(f, &w);
}

/* The word a surname contributes: first non-particle word; NULL if none. */
static const struct word *surname_word(const struct field *f)
{
    if (f->n_kept)
        return &f->kept[0];
    return f->n_any ? &f->any[0] : NULL;
}

/* The given name used: skip a leading MARIA/JOSE/MA./J. when another follows. */
static const struct word *given_word(const struct field *f)
{
    const struct word *list = f->n_kept ? f->kept : f->any;
    int n = f->n_kept ? f->n_kept : f->n_any;

    if (n == 0)
        return NULL;
    if (n > 1 && in_list(&list[0], compound_first))
        return &list[1];
    return &list[0];
}

static char or_x(char c)
{
    return c ? c : 'X';
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - ('a' - 'A')) : c;
}

int afl_curp_build(const afl_person *p, char out[19])
{
    struct field f1, f2, fn;
    const struct word *w1, *w2, *wn;
    char k[19], sex, hc;
    int yy, dv;

    out[0] = '\0';
    if (!p || !p->state || p->birth_year < 1900 || p->birth_year > 2099 || p->birth_month < 1 ||
        p->birth_month > 12 || p->birth_day < 1 || p->birth_day > 31)
        return -1;
    sex = upper(p->sex);
    if (sex != 'H' && sex != 'M' && sex != 'X')
        return -1;
    if (strlen(p->state) != 2)
        return -1;

    hc = upper(p->homoclave);
    if (!hc)
        hc = p->birth_year < 2000 ? '0' : 'A';
    if (p->birth_year < 2000 ? (hc < '0' || hc > '9') : (hc < 'A' || hc > 'Z'))
        return -1;

    field_scan(&f1, p->first_surname);
    field_scan(&f2, p->second_surname);
    field_scan(&fn, p->given_names);
    w1 = surname_word(&f1);
    w2 = surname_word(&f2); /* NULL: no second surname */
    wn = given_word(&fn);
    if (!w1 || !wn)
        return -1;

    k[0] = w1->initial;
    k[1] = or_x(w1->vowel);
    k[2] = w2 ? w2->initial : 'X';
    k[3] = wn->initial;
    if (afl_curp_is_inconvenient(k))
        k[1] = 'X'; /* Anexo 2: BUEY -> BXEY */

    yy = p->birth_year % 100;
    k[4] = (char)('0' + yy / 10);
    k[5] = (char)('0' + yy % 10);
    k[6] = (char)('0' + p->birth_month / 10);
    k[7] = (char)('0' + p->birth_month % 10);
    k[8] = (char)('0' + p->birth_day / 10);
    k[9] = (char)('0' + p->birth_day % 10);
    k[10] = sex;
    k[11] = upper(p->state[0]);
    k[12] = upper(p->state[1]);
    k[13] = or_x(w1->consonant);
    k[14] = w2 ? or_x(w2->consonant) : 'X';
    k[15] = or_x(wn->consonant);
    k[16] = hc;
    dv = afl_curp_check_digit(k);
    if (dv < 0)
        return -1;
    k[17] = (char)('0' + dv);
    k[18] = '\0';

    /* The validator decides the rest: a real date, a known state code. */
    if (afl_curp_validate(k, 18, NULL) != AFL_CURP_OK)
        return -1;
    memcpy(out, k, sizeof k);
    return 0;
}
