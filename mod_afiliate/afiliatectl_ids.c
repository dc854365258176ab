/* afiliatectl curp | nss | curp-build: identifiers from the command line. */
#include "afiliatectl.h"
#include "afiliatectl_opts.h"
#include "afl_curp.h"
#include "afl_curp_build.h"
#include "afl_nss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One validator behind a common shape: verdict text for (bytes, len). */
typedef const char *check_fn(const char *s, size_t len, int *valid);

static const char *check_curp(const char *s, size_t len, int *valid)
{
    afl_curp_reason r = afl_curp_validate(s, len, NULL);

    *valid = r == AFL_CURP_OK;
    return afl_curp_reason_code(r);
}

static const char *check_nss(const char *s, size_t len, int *valid)
{
    afl_nss_reason r = afl_nss_validate(s, len, NULL);

    *valid = r == AFL_NSS_OK;
    return afl_nss_reason_code(r);
}

/* <input as given> TAB valid|invalid TAB reason */
static void report(const char *s, size_t len, check_fn *check)
{
    int valid;
    const char *why = check(s, len, &valid);

    fwrite(s, 1, len, stdout);
    printf("\t%s\t%s\n", valid ? "valid" : "invalid", why);
}

/* Arguments, or one item per stdin line (any length, any bytes). */
struct validator {
    const char *cmd, *item, *reasons, *example;
    check_fn *check;
};

static const struct validator curp_validator = {
    "curp", "CURP",
    "bad_length bad_format bad_sex bad_state bad_date inconvenient_word bad_check_digit",
    "SABC560626MDFLRN01", check_curp};
static const struct validator nss_validator = {"nss", "NSS", "bad_length bad_chars bad_check_digit",
                                               "92919084431", check_nss};

static int run_validator(int argc, const char *const *argv, const struct validator *vd)
{
    const char *what = vd->cmd;
    check_fn *check = vd->check;
    int i = 1;

    if (argc > 1 && afiliatectl_is_help(argv[1])) {
        printf("usage: afiliatectl %s [%s...]\n\n"
               "Validates each argument, or with no argument each line of stdin\n"
               "(a trailing CR LF or LF is removed; surrounding blanks are ignored).\n"
               "Prints one line per input: <input> TAB valid|invalid TAB ok|<reason>,\n"
               "the reason being the first failing check of:\n  %s.\n"
               "Exit 0. Use -- before an argument that starts with '-'.\n"
               "Example: afiliatectl %s %s\n",
               what, vd->item, vd->reasons, what, vd->example);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--"))
        i = 2;

    if (i < argc) {
        for (; i < argc; i++)
            report(argv[i], strlen(argv[i]), check);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        /* getline keeps embedded NUL bytes and grows for 1 MB lines. */
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            size_t len = (size_t)n;
            if (len && line[len - 1] == '\n') {
                len--;
                if (len && line[len - 1] == '\r')
                    len--;
            }
            report(line, len, check);
        }
        free(line);
        if (ferror(stdin)) {
            fprintf(stderr, "afiliatectl %s: error reading stdin\n", what);
            return 1;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "afiliatectl %s: error writing stdout\n", what);
        return 1;
    }
    return 0;
}

int afiliatectl_curp(apr_pool_t *pool, int argc, const char *const *argv)
{
    (void)pool;
    return run_validator(argc, argv, &curp_validator);
}

int afiliatectl_nss(apr_pool_t *pool, int argc, const char *const *argv)
{
    (void)pool;
    return run_validator(argc, argv, &nss_validator);
}

static void build_usage(FILE *out)
{
    fprintf(out, "usage: afiliatectl curp-build --nombre N --primer-apellido A "
                 "[--segundo-apellido B]\n"
                 "                              --fecha YYYY-MM-DD --sexo H|M|X --entidad XX "
                 "[--homoclave C]\n\n"
                 "Builds a CURP with the RENAPO rules and prints it. Names are UTF-8.\n"
                 "--entidad is a two-letter state code or NE (born abroad).\n"
                 "--homoclave is position 17: 0-9 if born before 2000, A-Z from 2000\n"
                 "(default 0 or A). Errors go to stderr with exit 2.\n");
}

/* YYYY-MM-DD, digits only; the calendar check is afl_curp_build's. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    static const char shape[] = "dddd-dd-dd";

    if (strlen(s) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != '-')
            return -1;
    }
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    return 0;
}

static int real_date(int y, int m, int d)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

static int build_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "afiliatectl curp-build: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}

static int has_letter(const char *s)
{
    /* Any ASCII letter or UTF-8 lead byte; afl_curp_build has the last word. */
    for (; s && *s; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (unsigned char)*s >= 0xC0)
            return 1;
    return 0;
}

int afiliatectl_curp_build(apr_pool_t *pool, int argc, const char *const *argv)
{
    static const char *const names[] = {
        "--nombre", "--primer-apellido", "--segundo-apellido", "--fecha",
        "--sexo",   "--entidad",         "--homoclave"};
    enum { NOMBRE, PRIMER, SEGUNDO, FECHA, SEXO, ENTIDAD, HOMOCLAVE, NOPT };
    const char *val[NOPT] = {NULL};
    afl_person p;
    char curp[19];

    (void)pool;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        size_t nlen;
        int o;

        if (afiliatectl_is_help(a)) {
            build_usage(stdout);
            return 0;
        }
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        for (o = 0; o < NOPT; o++)
            if (strlen(names[o]) == nlen && !strncmp(a, names[o], nlen))
                break;
        if (o == NOPT)
            return build_error("unknown option '%s' (see --help)", a);
        if (eq)
            val[o] = eq + 1; /* --opt=value */
        else if (i + 1 < argc)
            val[o] = argv[++i];
        else
            return build_error("option %s needs a value", names[o]);
    }

    for (int o = 0; o < NOPT; o++)
        if (!val[o] && o != SEGUNDO && o != HOMOCLAVE)
            return build_error("missing %s (see --help)", names[o]);

    memset(&p, 0, sizeof p);
    p.given_names = val[NOMBRE];
    p.first_surname = val[PRIMER];
    p.second_surname = val[SEGUNDO];
    p.state = val[ENTIDAD];
    if (!has_letter(p.given_names))
        return build_error("--nombre has no letters: '%s'", val[NOMBRE]);
    if (!has_letter(p.first_surname))
        return build_error("--primer-apellido has no letters: '%s'", val[PRIMER]);
    if (parse_date(val[FECHA], &p.birth_year, &p.birth_month, &p.birth_day) != 0)
        return build_error("--fecha must be YYYY-MM-DD, got '%s'", val[FECHA]);
    if (strlen(val[SEXO]) != 1 || !strchr("HMXhmx", val[SEXO][0]))
        return build_error("--sexo must be H, M or X, got '%s'", val[SEXO]);
    p.sex = val[SEXO][0];
    {
        char code[3] = {0};
        if (strlen(val[ENTIDAD]) == 2) {
            code[0] = (char)(val[ENTIDAD][0] & ~0x20);
            code[1] = (char)(val[ENTIDAD][1] & ~0x20);
        }
        if (!afl_curp_state_name(code))
            return build_error("--entidad must be a state code (e.g. DF, JC) or NE, got '%s'",
                               val[ENTIDAD]);
    }
    if (p.birth_year < 1900 || p.birth_year > 2099)
        return build_error("--fecha: the year must be 1900-2099, got '%s'", val[FECHA]);
    if (!real_date(p.birth_year, p.birth_month, p.birth_day))
        return build_error("--fecha: no such date '%s'", val[FECHA]);
    if (val[HOMOCLAVE]) {
        char h = val[HOMOCLAVE][0];
        int digit = h >= '0' && h <= '9', letter = (h >= 'A' && h <= 'Z') || (h >= 'a' && h <= 'z');
        if (strlen(val[HOMOCLAVE]) != 1 || (p.birth_year < 2000 ? !digit : !letter))
            return build_error("--homoclave must be one character, 0-9 if born before 2000, "
                               "A-Z from 2000; got '%s'",
                               val[HOMOCLAVE]);
        p.homoclave = h;
    }

    if (afl_curp_build(&p, curp) != 0)
        return build_error("cannot build a CURP from these names (no usable letter in '%s'?)",
                           val[NOMBRE]);
    printf("%s\n", curp);
    return fflush(stdout) == 0 ? 0 : 1;
}
