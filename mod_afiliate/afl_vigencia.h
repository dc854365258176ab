/* afl_vigencia: coverage under Seguro Facultativo (Modalidad 32) and the
 * schools' enrolment reports (docs/domain.md, Vigencia rules). Pure unit: APR,
 * OpenSSL (SHA-256) and the CURP/NSS validators; no httpd, no database.
 *
 * Model. Coverage is kept per insured person (NSS) as movements, the rows
 * of the cobertura table (sql/<dialect>/schema.sql):
 *   - an alta covers from its fecha to its fin, both days included; fin
 *     open (NULL) means "until a baja". Altas come from Paso 1 (an
 *     assignment opens one until the end of the current school period) and
 *     from the schools' reports;
 *   - a baja on day B ends every alta of the same person that started on or
 *     before B: such an alta then covers at most up to B (B included). An
 *     alta that starts after B (re-enrolment) is not affected.
 * The result depends only on the set of movements, never on the order they
 * were recorded in, so importing a report twice, or two reports in any
 * order, gives the same coverage. Overlapping or adjacent periods (one ends
 * on day D, the next starts on D + 1) count as one continuous coverage.
 *
 * Dates are day numbers: days since 1970-01-01 in the proleptic Gregorian
 * calendar (negative before 1970), so the logic never meets a time zone.
 * The database stores them as 'YYYY-MM-DD' text. */
#ifndef AFL_VIGENCIA_H
#define AFL_VIGENCIA_H

#include <limits.h>
#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

/* "Open": an alta without an end. */
#define AFL_VIGENCIA_ABIERTA INT_MAX

/* Dates accepted: years AFL_VIGENCIA_YEAR_MIN..AFL_VIGENCIA_YEAR_MAX. */
#define AFL_VIGENCIA_YEAR_MIN 1900
#define AFL_VIGENCIA_YEAR_MAX 2199

/* Strict "YYYY-MM-DD" (a real calendar day in the years above) -> *day.
 * 0 ok, -1 otherwise (*day untouched). */
int afl_vigencia_parse_date(const char *s, int *day);

/* day -> "YYYY-MM-DD" (out has 11 bytes); "" for AFL_VIGENCIA_ABIERTA or a
 * day outside the accepted years. */
void afl_vigencia_format_date(int day, char out[11]);

/* Day number of a civil date (no range check) and back. */
int afl_vigencia_day(int year, int month, int mday);
void afl_vigencia_civil(int day, int *year, int *month, int *mday);

/* The local calendar day of t (server time zone, as the documents print
 * it: TZ=America/Mexico_City). */
int afl_vigencia_today(apr_time_t t);

/* apr_time_t of 12:00 local time of a day, for afl_pdf_format_date(). */
apr_time_t afl_vigencia_noon(int day);

typedef enum { AFL_MOV_ALTA = 0, AFL_MOV_BAJA } afl_mov_tipo;

typedef struct {
    afl_mov_tipo tipo;
    int fecha; /* alta: first day covered; baja: last day covered */
    int fin;   /* alta: last day covered or AFL_VIGENCIA_ABIERTA; ignored for a baja */
} afl_movimiento;

/* A cobertura row as the database returns it (movimiento 'alta'|'baja',
 * inicio 'YYYY-MM-DD', fin 'YYYY-MM-DD' or NULL/""). 0 ok, -1 if malformed
 * (also an alta whose fin is before its inicio). */
int afl_vigencia_mov_from_row(const char *movimiento, const char *inicio, const char *fin,
                              afl_movimiento *m);

typedef enum {
    AFL_VIGENCIA_SIN_COBERTURA = 0, /* no alta at all */
    AFL_VIGENCIA_VIGENTE,           /* covered on the day asked */
    AFL_VIGENCIA_VENCIDA,           /* covered before, not any more */
    AFL_VIGENCIA_FUTURA             /* never covered yet; an alta starts later */
} afl_vigencia_estado;

typedef struct {
    afl_vigencia_estado estado;
    int vigente; /* 1 iff estado == AFL_VIGENCIA_VIGENTE */
    /* The continuous coverage the answer is about: VIGENTE, the one that
     * contains the day; VENCIDA, the latest one that ended before it;
     * FUTURA, the first one that starts after it; SIN_COBERTURA, 0 and 0.
     * hasta may be AFL_VIGENCIA_ABIERTA. */
    int desde, hasta;
    /* VIGENTE or VENCIDA: first day of a later coverage that starts after
     * the day asked (a reported re-enrolment), else 0 (has_proxima 0). */
    int has_proxima, proxima;
} afl_vigencia;

/* Coverage on day dia from n movements (any order; n may be 0). Scratch
 * memory from p; O(n log n). 0 ok, -1 on a bad argument (m NULL with n > 0,
 * n above 100000, out NULL). */
int afl_vigencia_eval(apr_pool_t *p, const afl_movimiento *m, size_t n, int dia, afl_vigencia *out);

/* Idempotency key of the cobertura row a Paso 1 assignment opens:
 * "asignacion:" + nss (one per NSS: assigning twice cannot happen, and a
 * retried request does not open a second period). In p. */
const char *afl_vigencia_clave_asignacion(apr_pool_t *p, const char *nss);

/* ------------------------------------------------- the schools' CSV report
 *
 * UTF-8 (a BOM is skipped), RFC 4180 (fields may be quoted; CRLF or LF),
 * blank lines ignored, one header line that must be exactly
 *
 *     curp,nss,movimiento,fecha,escuela,periodo_fin
 *
 * and then one movement per line:
 *   curp         the student's CURP (valid, afl_curp rules; upper-cased)
 *   nss          the student's NSS (11 digits, valid check digit)
 *   movimiento   alta | baja (any case)
 *   fecha        YYYY-MM-DD: alta, first day of enrolment; baja, last day
 *   escuela      the school's key (clave del centro de trabajo) or name,
 *                1..100 bytes of printable UTF-8
 *   periodo_fin  alta: YYYY-MM-DD, last day of the school period reported
 *                (not before fecha), or empty for "until a baja";
 *                baja: empty
 * Surrounding blanks of a field are ignored. Example:
 *
 *     curp,nss,movimiento,fecha,escuela,periodo_fin
 *     MUIM050315MNLXBRA1,12345678903,alta,2026-08-24,09DES0001X,2027-01-31
 *     MUIM050315MNLXBRA1,12345678903,baja,2026-11-15,09DES0001X,
 *
 * Idempotency: each line's key (clave) is "csv:" + SHA-256 (hex) of its NSS,
 * movimiento, fecha and escuela; periodo_fin is not part of it, so a later
 * report that corrects the end of a period updates that period instead of
 * adding another. Importing the same file again changes nothing. */

#define AFL_VIGENCIA_ESCUELA_MAX 100
#define AFL_VIGENCIA_LINE_MAX 4096

typedef struct {
    unsigned long line;      /* 1-based line of the record */
    const char *curp;        /* 18 characters, normalised */
    const char *nss;         /* 11 digits */
    afl_mov_tipo movimiento; /* alta or baja */
    const char *mov_texto;   /* "alta" or "baja" */
    const char *fecha;       /* YYYY-MM-DD */
    const char *escuela;     /* trimmed */
    const char *periodo_fin; /* YYYY-MM-DD, or "" (open alta; every baja) */
    afl_movimiento mov;      /* the same as a movement (fin AFL_VIGENCIA_ABIERTA if open) */
    const char *clave;       /* idempotency key, "csv:" + 64 hex digits */
} afl_vigencia_fila;

typedef struct {
    unsigned long line; /* 1-based line of the problem; 0 when it is not about a line */
    char msg[200];      /* English; names the line and the column, never quotes a CURP or NSS */
} afl_vigencia_error;

/* Called for each valid record, in file order. The strings live until the
 * callback returns (copy what you keep). Non-zero stops the parse. */
typedef int afl_vigencia_fila_fn(void *baton, const afl_vigencia_fila *f);

/* Parse and validate a whole report held in memory (data need not be
 * NUL-terminated). Returns 0 when every record was valid and delivered
 * (at least one: a file without data rows is an error); -1 on the first
 * invalid line, with err filled (records before it were delivered: a
 * caller that must write all or nothing runs the parse inside its
 * transaction and rolls back, or parses once with fn NULL to validate
 * first); or the callback's non-zero value. *rows (may be NULL) gets the
 * number of records delivered. fn may be NULL. */
int afl_vigencia_csv(apr_pool_t *p, const char *data, size_t len, afl_vigencia_fila_fn *fn,
                     void *baton, unsigned long *rows, afl_vigencia_error *err);

#endif
