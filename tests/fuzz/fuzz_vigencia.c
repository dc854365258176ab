/* Fuzz target: the schools' enrolment CSV parser and the coverage logic
 * (afl_vigencia).
 *
 * The input is parsed as a report; every row delivered must hold what
 * afl_vigencia.h promises (a valid CURP and NSS, alta or baja, real dates in
 * order, a printable escuela, a 68-character key, increasing line numbers),
 * an error must name a line that exists and never quote a CURP or NSS, and
 * parsing twice gives the same result. The rows then go through
 * afl_vigencia_eval on a few days, whose answer must be consistent. Any
 * violation aborts. */
#include "afl_curp.h"
#include "afl_nss.h"
#include "afl_vigencia.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define MAX_MOVS 256

typedef struct {
    unsigned long rows, last_line;
    uint64_t digest;
    afl_movimiento movs[MAX_MOVS];
    size_t nmovs;
    char curps[4][19];
} summary;

static void mix(summary *s, const char *str)
{
    for (; *str; str++)
        s->digest = (s->digest ^ (unsigned char)*str) * 0x100000001B3ULL;
    s->digest = (s->digest ^ 0x1FF) * 0x100000001B3ULL;
}

static int row_cb(void *baton, const afl_vigencia_fila *f)
{
    summary *s = baton;
    afl_curp_info ci;
    char nss[12];
    int d;

    CHECK(f->line > s->last_line);
    s->last_line = f->line;
    CHECK(afl_curp_validate(f->curp, strlen(f->curp), &ci) == AFL_CURP_OK);
    CHECK(!strcmp(ci.curp, f->curp));
    CHECK(afl_nss_validate(f->nss, strlen(f->nss), nss) == AFL_NSS_OK && !strcmp(nss, f->nss));
    CHECK(f->movimiento == AFL_MOV_ALTA || f->movimiento == AFL_MOV_BAJA);
    CHECK(!strcmp(f->mov_texto, f->movimiento == AFL_MOV_ALTA ? "alta" : "baja"));
    CHECK(afl_vigencia_parse_date(f->fecha, &d) == 0 && d == f->mov.fecha);
    CHECK(f->mov.tipo == f->movimiento);
    CHECK(*f->escuela && strlen(f->escuela) <= AFL_VIGENCIA_ESCUELA_MAX);
    CHECK(f->escuela[0] != ' ' && f->escuela[strlen(f->escuela) - 1] != ' ');
    for (const unsigned char *p = (const unsigned char *)f->escuela; *p; p++)
        CHECK(*p >= 0x20 && *p != 0x7F);
    if (f->movimiento == AFL_MOV_BAJA) {
        CHECK(*f->periodo_fin == '\0' && f->mov.fin == f->mov.fecha);
    } else if (*f->periodo_fin) {
        CHECK(afl_vigencia_parse_date(f->periodo_fin, &d) == 0 && d == f->mov.fin);
        CHECK(f->mov.fin >= f->mov.fecha);
    } else {
        CHECK(f->mov.fin == AFL_VIGENCIA_ABIERTA);
    }
    CHECK(strlen(f->clave) == 68 && !strncmp(f->clave, "csv:", 4));
    for (int i = 4; i < 68; i++)
        CHECK((f->clave[i] >= '0' && f->clave[i] <= '9') ||
              (f->clave[i] >= 'a' && f->clave[i] <= 'f'));
    mix(s, f->curp);
    mix(s, f->nss);
    mix(s, f->fecha);
    mix(s, f->escuela);
    mix(s, f->periodo_fin);
    mix(s, f->clave);
    if (s->rows < 4)
        memcpy(s->curps[s->rows], f->curp, 19);
    if (s->nmovs < MAX_MOVS)
        s->movs[s->nmovs++] = f->mov;
    s->rows++;
    return 0;
}

static unsigned long count_lines(const uint8_t *data, size_t size)
{
    unsigned long n = 1;

    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

static void check_eval(apr_pool_t *p, const summary *s)
{
    static const int probe[] = {-25567, 0, 20000, 20600, 21000, 60000, 84000};

    for (size_t i = 0; i < sizeof probe / sizeof *probe; i++) {
        afl_vigencia v;
        CHECK(afl_vigencia_eval(p, s->movs, s->nmovs, probe[i], &v) == 0);
        CHECK(v.vigente == (v.estado == AFL_VIGENCIA_VIGENTE));
        switch (v.estado) {
        case AFL_VIGENCIA_VIGENTE:
            CHECK(v.desde <= probe[i] && probe[i] <= v.hasta);
            break;
        case AFL_VIGENCIA_VENCIDA:
            CHECK(v.desde <= v.hasta && v.hasta < probe[i]);
            break;
        case AFL_VIGENCIA_FUTURA:
            CHECK(v.desde > probe[i] && v.desde <= v.hasta);
            break;
        case AFL_VIGENCIA_SIN_COBERTURA:
            CHECK(v.desde == 0 && v.hasta == 0);
            break;
        default:
            CHECK(0);
        }
        if (v.has_proxima)
            CHECK(v.proxima > probe[i] && v.proxima > v.hasta);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    summary a, b;
    afl_vigencia_error ea, eb;
    unsigned long rows_a, rows_b;
    int ra, rb;

    if (!init) {
        apr_initialize();
        init = 1;
    }
    apr_pool_create(&p, NULL);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ra = afl_vigencia_csv(p, (const char *)data, size, row_cb, &a, &rows_a, &ea);
    rb = afl_vigencia_csv(p, (const char *)data, size, row_cb, &b, &rows_b, &eb);
    CHECK(ra == 0 || ra == -1);
    CHECK(ra == rb && rows_a == rows_b && a.rows == b.rows && a.digest == b.digest);
    CHECK(rows_a == a.rows);
    if (ra == 0) {
        CHECK(a.rows > 0);
    } else {
        CHECK(ea.line == eb.line && !strcmp(ea.msg, eb.msg));
        CHECK(ea.msg[0] != '\0');
        CHECK(ea.line <= count_lines(data, size));
        CHECK(ea.line == 0 || ea.line > a.last_line);
        for (unsigned long i = 0; i < a.rows && i < 4; i++)
            CHECK(!strstr(ea.msg, a.curps[i]));
    }
    /* validation-only parse agrees */
    {
        unsigned long rows_c;
        afl_vigencia_error ec;
        int rc = afl_vigencia_csv(p, (const char *)data, size, NULL, NULL, &rows_c, &ec);
        CHECK(rc == ra && rows_c == rows_a);
    }
    check_eval(p, &a);
    apr_pool_destroy(p);
    return 0;
}
