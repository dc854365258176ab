/* Fuzz target: the reading of a RENAPO answer (afl_renapo_parse).
 *
 * The input is the body; the first byte picks the HTTP status (200, 404, 500)
 * and whether the content type is JSON. A found answer must hold what the
 * contract of docs/renapo.md promises (names within limits and without control
 * characters, H/M/X, an ISO date, a known state and status), an error must give
 * a reason, and reading twice gives the same result. Any violation aborts. */
#include "afl_curp.h"
#include "afl_renapo.h"
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

#define CURP "GOMC000101HDFRRRA1"

static void check_name(const char *s, int may_be_empty)
{
    size_t n = strlen(s);
    CHECK(n <= 120 && (n > 0 || may_be_empty));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 404, 500, 200};
    static int init;
    apr_pool_t *p;
    afl_persona a, b;
    const char *why_a = NULL, *why_b = NULL, *ctype;
    afl_renapo_result ra, rb;
    long status;
    int day;

    if (!init) {
        apr_initialize();
        init = 1;
    }
    if (size < 1)
        return 0;
    status = statuses[data[0] & 3];
    ctype = data[0] & 4 ? "text/html" : "application/json; charset=utf-8";
    apr_pool_create(&p, NULL);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ra = afl_renapo_parse(p, CURP, status, ctype, (const char *)data + 1, size - 1, &a, &why_a);
    rb = afl_renapo_parse(p, CURP, status, ctype, (const char *)data + 1, size - 1, &b, &why_b);
    CHECK(ra == rb);
    if (ra == AFL_RENAPO_ERROR)
        CHECK(why_a && *why_a && !strcmp(why_a, why_b));
    if (ra == AFL_RENAPO_NOTFOUND)
        CHECK(status != 500 && !(data[0] & 4));
    if (ra == AFL_RENAPO_FOUND) {
        CHECK(status == 200 && !(data[0] & 4));
        check_name(a.nombres, 0);
        check_name(a.primer_apellido, 0);
        check_name(a.segundo_apellido, 1);
        CHECK(a.sexo == 'H' || a.sexo == 'M' || a.sexo == 'X');
        CHECK(afl_vigencia_parse_date(a.fecha_nacimiento, &day) == 0);
        CHECK(strlen(a.entidad) == 2 && afl_curp_state_name(a.entidad));
        CHECK(strlen(a.status_curp) >= 2 && strlen(a.status_curp) <= 3);
        CHECK(!strcmp(a.nombres, b.nombres) && !strcmp(a.status_curp, b.status_curp));
    }
    apr_pool_destroy(p);
    return 0;
}
