/* afl_store: database operations of the web procedure (see afl_store.h).
 * Its statements are rows of the one table of afl_sql.c, run through afl_db;
 * this file holds the transaction bodies that use them. One file on purpose,
 * longer than most: its runners (run, query, select_into, txn) and the
 * observer's counters stay private to it, so that no other unit can reach a
 * connection except through a whole operation; its sections (identity,
 * limits, trámite, assignment, outbox, documents, coverage, RENAPO answers)
 * follow afl_store.h. */
#include "afl_store.h"
#include "afl_commit.h"
#include "afl_crash.h"
#include "afl_log.h"
#include "afl_nss.h"
#include "afl_sql.h"
#include "afl_token.h"
#include "afl_txn.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_pgsql(const afl_store *st)
{
    return !afl_db_is_sqlite(st->db);
}

static afl_store_observer *observer;

void afl_store_set_observer(afl_store_observer *fn)
{
    observer = fn;
}

static void observe_error(void)
{
    if (observer)
        observer(AFL_STORE_OBS_ERROR, 0);
}

static void observe_call(apr_time_t started)
{
    if (observer)
        observer(AFL_STORE_OBS_CALL, apr_time_now() - started);
}

/* Log a database failure without the driver's text on PostgreSQL: its
 * DETAIL lines can carry key values (CURP, NSS). */
static void log_db_error(const afl_store *st, const char *what, int rv)
{
    observe_error();
    if (is_pgsql(st))
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00021) "database error in %s (rv=%d)", what, rv);
    else
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00022) "database error in %s (rv=%d): %s", what, rv,
                                       afl_db_errmsg(st->db, rv));
}

/* Runs a statement that returns no rows through apr_dbd_select, reading to
 * the end: PRAGMAs that answer with a row count as errors in apr_dbd_query. */
static int exec_reading_rows(apr_pool_t *p, afl_store *st, const char *sql, const char **first)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const apr_dbd_driver_t *driver = afl_db_driver(st->db);
    int rv = apr_dbd_select(driver, p, afl_db_handle(st->db), &res, sql, 1);

    if (rv != 0)
        return rv;
    if (first)
        *first = NULL;
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
        if (first && !*first) {
            const char *v = apr_dbd_get_entry(driver, row, 0);
            *first = apr_pstrdup(p, v ? v : "");
        }
    }
    return 0;
}

apr_status_t afl_store_configure(apr_pool_t *p, afl_store *st)
{
    static const struct {
        const char *set, *get, *want;
    } pragmas[] = {
        {"PRAGMA busy_timeout = 200", "PRAGMA busy_timeout", "200"},
        {"PRAGMA synchronous = FULL", "PRAGMA synchronous", "2"},
        {"PRAGMA foreign_keys = ON", "PRAGMA foreign_keys", "1"},
        {NULL, "PRAGMA journal_mode", "wal"},
    };
    static const char *const tuning[] = {
        "PRAGMA temp_store = MEMORY",
    };

    if (is_pgsql(st)) {
        const char *v = NULL;
        if (exec_reading_rows(p, st, "SHOW synchronous_commit", &v) != 0 || !v || strcmp(v, "on")) {
            afl_log(AFL_LOG_ERR,
                    AFL_LOGNO(00023) "refusing to serve: PostgreSQL synchronous_commit is not on");
            return APR_EGENERAL;
        }
        if (exec_reading_rows(p, st, "SHOW fsync", &v) != 0 || !v || strcmp(v, "on")) {
            afl_log(AFL_LOG_ERR, AFL_LOGNO(00024) "refusing to serve: PostgreSQL fsync is not on");
            return APR_EGENERAL;
        }
        return APR_SUCCESS;
    }
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
        const char *v = NULL;
        if (pragmas[i].set && exec_reading_rows(p, st, pragmas[i].set, NULL) != 0) {
            afl_log(AFL_LOG_ERR, AFL_LOGNO(00025) "cannot run '%s' on the SQLite connection",
                                           pragmas[i].set);
            return APR_EGENERAL;
        }
        if (exec_reading_rows(p, st, pragmas[i].get, &v) != 0 || !v ||
            strcasecmp(v, pragmas[i].want)) {
            afl_log(AFL_LOG_ERR,
                    AFL_LOGNO(00026) "refusing to serve: SQLite '%s' is '%s', must be '%s' "
                                     "(journal_mode=WAL is "
                                     "set once when the database is created: afiliatectl init-db)",
                              pragmas[i].get, v ? v : "(error)", pragmas[i].want);
            return APR_EGENERAL;
        }
    }
    /* Cheaper requests, best effort (nothing depends on it): statement
     * journals in memory instead of a temporary file opened and unlinked
     * inside a transaction. */
    for (size_t i = 0; i < sizeof tuning / sizeof tuning[0]; i++)
        if (exec_reading_rows(p, st, tuning[i], NULL) != 0)
            afl_log(AFL_LOG_WARN, AFL_LOGNO(00027) "'%s' failed on the SQLite connection",
                                            tuning[i]);
    return APR_SUCCESS;
}

apr_status_t afl_store_prepare_all(afl_store *st)
{
    for (int i = 0; i < AFL_SQL_STORE_END; i++) {
        int rv = afl_db_prepare(st->db, (afl_sql_id)i);
        if (rv != 0) {
            afl_log(AFL_LOG_ERR, AFL_LOGNO(00028) "cannot prepare statement '%s' (is the schema "
                                                  "loaded? afiliatectl init-db)",
                                           afl_sql_get((afl_sql_id)i)->label);
            log_db_error(st, afl_sql_get((afl_sql_id)i)->label, rv);
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

int afl_store_ready(const afl_store *st)
{
    for (int i = 0; i < AFL_SQL_STORE_END; i++)
        if (!afl_db_prepared(st->db, (afl_sql_id)i))
            return 0;
    return 1;
}

/* Statements run by this process (every connection), for the benchmarks. */
static volatile apr_uint32_t statements;

apr_uint32_t afl_store_statements(void)
{
    return apr_atomic_read32(&statements);
}

static afl_store_status txn(apr_pool_t *p, afl_store *st, afl_commit_body *body, void *baton);

typedef struct {
    afl_sql_id q;
    int *nrows, nargs;
    const char **args;
} one_stmt;

static int run(apr_pool_t *p, afl_store *st, afl_sql_id q, int *nrows, int nargs,
               const char **args);

static afl_store_status run_body(apr_pool_t *p, afl_store *st, void *baton)
{
    one_stmt *o = baton;
    return run(p, st, o->q, o->nrows, o->nargs, o->args) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

/* A failed call of afl_db: counted, and logged by the statement's label. */
static int failed(const afl_store *st, afl_sql_id q, int rv)
{
    if (rv == AFL_DB_UNPREPARED) {
        observe_error();
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00029) "statement '%s' is not prepared on this connection",
                                       afl_sql_get(q)->label);
    } else {
        log_db_error(st, afl_sql_get(q)->label, rv);
    }
    return rv;
}

/* Runs a statement without result rows; *nrows gets the rows changed. Outside
 * a transaction a write goes through the group committer when there is one. */
static int run(apr_pool_t *p, afl_store *st, afl_sql_id q, int *nrows, int nargs, const char **args)
{
    int rv;
    apr_time_t started;

    if (st->commit && !st->in_txn) {
        one_stmt o = {q, nrows, nargs, args};
        return txn(p, st, run_body, &o) == AFL_STORE_OK ? 0 : -1;
    }
    apr_atomic_inc32(&statements);
    started = observer ? apr_time_now() : 0;
    rv = afl_db_exec(st->db, p, q, nrows, nargs, args);
    observe_call(started);
    return rv != 0 ? failed(st, q, rv) : 0;
}

/* Row callback of query: the row's values, NULL for SQL NULL (afl_db.h). */
typedef void row_fn(apr_pool_t *p, const char *const *v, void *baton);

typedef struct {
    apr_pool_t *p;
    row_fn *fn;
    void *baton;
} query_rows;

static int each_row(void *baton, int ncols, const char *const *v)
{
    query_rows *qr = baton;

    (void)ncols;
    qr->fn(qr->p, v, qr->baton);
    return 0;
}

/* Runs a select, calling fn for every row. The result set is always read to
 * the end (the pgsql driver requires it); a failure while reading is an error. */
static int query(apr_pool_t *p, afl_store *st, afl_sql_id q, int nargs, const char **args,
                 row_fn *fn, void *baton, int *nrows)
{
    query_rows qr = {p, fn, baton};
    int rv;
    apr_time_t started;

    apr_atomic_inc32(&statements);
    started = observer ? apr_time_now() : 0;
    rv = afl_db_select(st->db, p, q, nargs, args, each_row, &qr, nrows);
    observe_call(started);
    return rv != 0 ? failed(st, q, rv) : 0;
}

/* Column i of a row copied into p ("" for SQL NULL). */
static const char *col(apr_pool_t *p, const char *const *v, int i)
{
    return apr_pstrdup(p, v[i] ? v[i] : "");
}

/* Copies the first row's columns into a char* array (baton). */
typedef struct {
    int ncols;
    const char **out;
    int seen;
} first_row;

static void take_first(apr_pool_t *p, const char *const *v, void *baton)
{
    first_row *fr = baton;
    if (fr->seen++)
        return;
    for (int i = 0; i < fr->ncols; i++)
        fr->out[i] = col(p, v, i);
}

/* A select expected to give at most one row. */
static afl_store_status select_one(apr_pool_t *p, afl_store *st, afl_sql_id q, int nargs,
                                   const char **args, int ncols, const char **out)
{
    first_row fr = {ncols, out, 0};
    if (query(p, st, q, nargs, args, take_first, &fr, NULL) != 0)
        return AFL_STORE_ERROR;
    return fr.seen ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

/* Where a column of a one-row select goes in the caller's struct. */
typedef enum { COL_STR, COL_LLONG, COL_INT, COL_CHAR, COL_PASO } col_kind;
typedef struct {
    size_t offset;
    col_kind kind;
} col_field;
#define COL(type, member, kind)                                                                    \
    {                                                                                              \
        offsetof(type, member), kind                                                               \
    }

/* select_one with each column stored in its field of out (ncols <= 16). */
static afl_store_status select_into(apr_pool_t *p, afl_store *st, afl_sql_id q, int nargs,
                                    const char **args, const col_field *f, int ncols, void *out)
{
    const char *v[16];
    afl_store_status s;

    if (ncols > 16)
        return AFL_STORE_ERROR;
    s = select_one(p, st, q, nargs, args, ncols, v);
    for (int i = 0; s == AFL_STORE_OK && i < ncols; i++) {
        char *at = (char *)out + f[i].offset;
        switch (f[i].kind) {
        case COL_STR:
            *(const char **)at = v[i];
            break;
        case COL_LLONG:
            *(long long *)at = atoll(v[i]);
            break;
        case COL_INT:
            *(int *)at = atoi(v[i]);
            break;
        case COL_CHAR:
            *at = v[i][0];
            break;
        case COL_PASO:
            *(afl_paso *)at = afl_paso_parse(v[i]);
            break;
        }
    }
    return s;
}

static const char *lld(apr_pool_t *p, long long v)
{
    /* apr_psprintf has no %lld: use APR's 64-bit format. */
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

int afl_store_status_active(const char *status)
{
    static const char *const active[] = {"AN", "AH", "CRA", "RCN", "RCC"};
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++)
        if (status && !strcmp(status, active[i]))
            return 1;
    return 0;
}

afl_store_status afl_store_persona(apr_pool_t *p, afl_store *st, const char *curp, afl_persona *out)
{
    static const col_field f[] = {COL(afl_persona, nombres, COL_STR),
                                  COL(afl_persona, primer_apellido, COL_STR),
                                  COL(afl_persona, segundo_apellido, COL_STR),
                                  COL(afl_persona, fecha_nacimiento, COL_STR),
                                  COL(afl_persona, sexo, COL_CHAR),
                                  COL(afl_persona, entidad, COL_STR),
                                  COL(afl_persona, status_curp, COL_STR)};
    return select_into(p, st, AFL_SQL_PERSONA, 1, &curp, f, 7, out);
}

afl_store_status afl_store_asegurado(apr_pool_t *p, afl_store *st, const char *curp,
                                     afl_asegurado *out)
{
    static const col_field f[] = {
        COL(afl_asegurado, nss, COL_STR),       COL(afl_asegurado, origen, COL_STR),
        COL(afl_asegurado, id, COL_LLONG),      COL(afl_asegurado, creado, COL_LLONG),
        COL(afl_asegurado, umf_clave, COL_STR), COL(afl_asegurado, umf_nombre, COL_STR)};
    return select_into(p, st, AFL_SQL_ASEGURADO, 1, &curp, f, 6, out);
}

afl_store_status afl_store_captcha_use(apr_pool_t *p, afl_store *st, const char *id,
                                       long long expires)
{
    const char *args[] = {id, lld(p, expires)};
    int n = 0;

    if (run(p, st, AFL_SQL_CAPTCHA_USE, &n, 2, args) != 0)
        return AFL_STORE_ERROR;
    return n == 1 ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

typedef struct {
    const char *key;
    long long window, *count;
} rate_args;

static afl_store_status rate_body(apr_pool_t *p, afl_store *st, void *baton)
{
    rate_args *ra = baton;
    const char *args[] = {ra->key, lld(p, ra->window)};
    const char *v[1];

    if (run(p, st, AFL_SQL_LIMITE_HIT, NULL, 2, args) != 0)
        return AFL_STORE_ERROR;
    if (select_one(p, st, AFL_SQL_LIMITE_GET, 2, args, 1, v) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    *ra->count = atoll(v[0]);
    return AFL_STORE_OK;
}

afl_store_status afl_store_rate_hit(apr_pool_t *p, afl_store *st, const char *key, long long window,
                                    long long *count)
{
    rate_args ra = {key, window, count};
    return txn(p, st, rate_body, &ra);
}

/* Both counts of a pair of keys: one row per key that has one. */
typedef struct {
    const char *key_a;
    long long *a, *b;
} pair_counts;

static void take_pair(apr_pool_t *p, const char *const *v, void *baton)
{
    pair_counts *pc = baton;
    const char *key = v[0];
    const char *n = v[1];

    (void)p;
    *(key && !strcmp(key, pc->key_a) ? pc->a : pc->b) = n ? atoll(n) : 0;
}

afl_store_status afl_store_rate_get_pair(apr_pool_t *p, afl_store *st, long long window,
                                         const char *key_a, const char *key_b, long long *a,
                                         long long *b)
{
    const char *args[] = {lld(p, window), key_a, key_b};
    pair_counts pc = {key_a, a, b};

    *a = *b = 0;
    return query(p, st, AFL_SQL_LIMITE_GET_PAIR, 3, args, take_pair, &pc, NULL) == 0
               ? AFL_STORE_OK
               : AFL_STORE_ERROR;
}

typedef struct {
    const char *const *keys;
    int n;
    long long window;
} hits_args;

static afl_store_status hits_body(apr_pool_t *p, afl_store *st, void *baton)
{
    hits_args *h = baton;

    for (int i = 0; i < h->n; i++) {
        const char *args[] = {h->keys[i], lld(p, h->window)};
        if (h->keys[i] && run(p, st, AFL_SQL_LIMITE_HIT, NULL, 2, args) != 0)
            return AFL_STORE_ERROR;
    }
    return AFL_STORE_OK;
}

afl_store_status afl_store_rate_hits(apr_pool_t *p, afl_store *st, long long window,
                                     const char *const *keys, int n)
{
    hits_args h = {keys, n, window};
    return txn(p, st, hits_body, &h);
}

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

static const char *const paso_names[] = {
    [AFL_PASO_NINGUNO] = "",
    [AFL_PASO_FORMULARIO] = "formulario",
    [AFL_PASO_DOMICILIO] = "domicilio",
    [AFL_PASO_RESULTADO] = "resultado",
    [AFL_PASO_VIGENCIA] = "vigencia",
    [AFL_PASO_CONFIRMACION] = "confirmacion",
};

const char *afl_paso_name(afl_paso paso)
{
    return (unsigned)paso < sizeof paso_names / sizeof paso_names[0] ? paso_names[paso] : "";
}

afl_paso afl_paso_parse(const char *name)
{
    for (unsigned i = 1; name && i < sizeof paso_names / sizeof paso_names[0]; i++)
        if (!strcmp(name, paso_names[i]))
            return (afl_paso)i;
    return AFL_PASO_NINGUNO;
}

afl_store_status afl_store_tramite_put(apr_pool_t *p, afl_store *st, const char *id,
                                       const afl_tramite *t, long long now)
{
    const char *args[] = {id,
                          t->csrf,
                          afl_paso_name(t->paso),
                          or_null(t->curp),
                          or_null(t->correo),
                          or_null(t->nss),
                          or_null(t->origen),
                          lld(p, now),
                          lld(p, t->expira)};
    return run(p, st, AFL_SQL_TRAMITE_PUT, NULL, 9, args) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

afl_store_status afl_store_tramite_get(apr_pool_t *p, afl_store *st, const char *id, long long now,
                                       afl_tramite *out)
{
    static const col_field f[] = {
        COL(afl_tramite, csrf, COL_STR),     COL(afl_tramite, paso, COL_PASO),
        COL(afl_tramite, curp, COL_STR),     COL(afl_tramite, correo, COL_STR),
        COL(afl_tramite, nss, COL_STR),      COL(afl_tramite, origen, COL_STR),
        COL(afl_tramite, reenvios, COL_INT), COL(afl_tramite, expira, COL_LLONG)};
    const char *args[] = {id, lld(p, now)};
    return select_into(p, st, AFL_SQL_TRAMITE_GET, 2, args, f, 8, out);
}

afl_store_status afl_store_tramite_touch(apr_pool_t *p, afl_store *st, const char *id,
                                         long long expira)
{
    const char *args[] = {lld(p, expira), id};
    return run(p, st, AFL_SQL_TRAMITE_TOUCH, NULL, 2, args) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

afl_store_status afl_store_tramite_del(apr_pool_t *p, afl_store *st, const char *id)
{
    return run(p, st, AFL_SQL_TRAMITE_DEL, NULL, 1, &id) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

static void add_colonia(apr_pool_t *p, const char *const *v, void *baton)
{
    afl_cp_info *info = baton;
    APR_ARRAY_PUSH(info->colonias, const char *) = col(p, v, 0);
    if (!info->municipio) {
        info->municipio = col(p, v, 1);
        info->estado = col(p, v, 2);
    }
}

/* The colonias of cp through statement q, each row handed to fn. */
static afl_store_status cp_rows(apr_pool_t *p, afl_store *st, afl_sql_id q, const char *cp,
                                row_fn *fn, afl_cp_info *out)
{
    memset(out, 0, sizeof *out);
    out->cp = cp;
    out->colonias = apr_array_make(p, 16, sizeof(const char *));
    if (query(p, st, q, 1, &cp, fn, out, NULL) != 0)
        return AFL_STORE_ERROR;
    return out->colonias->nelts ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

afl_store_status afl_store_cp(apr_pool_t *p, afl_store *st, const char *cp, afl_cp_info *out)
{
    return cp_rows(p, st, AFL_SQL_CP_COLONIAS, cp, add_colonia, out);
}

static void add_colonia_umf(apr_pool_t *p, const char *const *v, void *baton)
{
    afl_cp_info *info = baton;
    const char *u;

    add_colonia(p, v, baton);
    u = v[3];
    if (u && *u == '1')
        info->umf = 1;
}

afl_store_status afl_store_cp_lookup(apr_pool_t *p, afl_store *st, const char *cp, afl_cp_info *out)
{
    return cp_rows(p, st, AFL_SQL_CP_LOOKUP, cp, add_colonia_umf, out);
}

static void add_umf(apr_pool_t *p, const char *const *v, void *baton)
{
    apr_array_header_t *arr = baton;
    afl_umf *u = &APR_ARRAY_PUSH(arr, afl_umf);
    u->clave = col(p, v, 0);
    u->nombre = col(p, v, 1);
    u->serie = col(p, v, 2);
}

afl_store_status afl_store_umfs(apr_pool_t *p, afl_store *st, const char *cp,
                                apr_array_header_t **out)
{
    *out = apr_array_make(p, 4, sizeof(afl_umf));
    return query(p, st, AFL_SQL_CP_UMFS, 1, &cp, add_umf, *out, NULL) == 0 ? AFL_STORE_OK
                                                                           : AFL_STORE_ERROR;
}

afl_store_status afl_store_audit(apr_pool_t *p, afl_store *st, long long now, const char *evento,
                                 const char *curp_hmac, const char *detalle)
{
    const char *args[] = {lld(p, now), evento, curp_hmac, detalle ? detalle : ""};
    return run(p, st, AFL_SQL_AUDIT_ADD, NULL, 4, args) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

/* Queues one statement for the group committer without waiting for its
 * commit (afl_commit_post). One malloc'd block holds the statement, its
 * arguments and their text: this request may be over before it runs. Returns
 * -1 (nothing queued) when there is no committer to post to, or no memory. */
#define POST_MAX_ARGS 4
static int post(afl_store *st, apr_pool_t *p, afl_sql_id q, int nargs, const char *const *args)
{
    struct posted {
        one_stmt o;
        const char *args[POST_MAX_ARGS];
    } * b;
    size_t len[POST_MAX_ARGS], total = 0;
    char *text;

    if (!st->commit || st->in_txn || nargs > POST_MAX_ARGS)
        return -1;
    for (int i = 0; i < nargs; i++)
        total += len[i] = strlen(args[i]) + 1;
    if (!(b = malloc(sizeof *b + total)))
        return -1;
    text = (char *)(b + 1);
    for (int i = 0; i < nargs; i++) {
        b->args[i] = memcpy(text, args[i], len[i]);
        text += len[i];
    }
    b->o.q = q;
    b->o.nrows = NULL;
    b->o.nargs = nargs;
    b->o.args = b->args;
    afl_commit_post(st->commit, p, st, run_body, b);
    return 0;
}

afl_store_status afl_store_audit_later(apr_pool_t *p, afl_store *st, long long now,
                                       const char *evento, const char *curp_hmac,
                                       const char *detalle)
{
    const char *args[] = {lld(p, now), evento, curp_hmac, detalle ? detalle : ""};

    if (post(st, p, AFL_SQL_AUDIT_ADD, 4, args) == 0)
        return AFL_STORE_OK;
    return afl_store_audit(p, st, now, evento, curp_hmac, detalle);
}

afl_store_status afl_store_nss_take(apr_pool_t *p, afl_store *st, int serie, int reg_year,
                                    int min_year, int birth_year, afl_nss_folio *out)
{
    for (int year = reg_year; year >= min_year; year--) {
        const char *prefix = apr_psprintf(p, "%02d%02d%02d", serie, year % 100, birth_year % 100);
        const char *v[1];
        int n = 0;

        /* A folio whose NSS already exists (e.g. imported from elsewhere) is
         * skipped, as IMSS generates again; the counter still moves on. */
        for (;;) {
            char nss[12];
            const char *nssp = nss;
            afl_store_status taken;
            int folio;

            if (run(p, st, AFL_SQL_FOLIO_TAKE, &n, 1, &prefix) != 0)
                return AFL_STORE_ERROR;
            if (n != 1)
                break; /* prefix exhausted */
            AFL_CRASH_POINT("nss-counter");
            if (select_one(p, st, AFL_SQL_FOLIO_GET, 1, &prefix, 1, v) != AFL_STORE_OK)
                return AFL_STORE_ERROR;
            folio = atoi(v[0]) - 1;
            if (afl_nss_compose(serie, year % 100, birth_year % 100, folio, nss) != 0)
                return AFL_STORE_ERROR;
            taken = select_one(p, st, AFL_SQL_NSS_TAKEN, 1, &nssp, 1, v);
            if (taken == AFL_STORE_ERROR)
                return AFL_STORE_ERROR;
            if (taken == AFL_STORE_NOTFOUND) {
                out->prefix = prefix;
                out->folio = folio;
                out->nss = apr_pstrdup(p, nss);
                return AFL_STORE_OK;
            }
        }
    }
    return AFL_STORE_EXHAUSTED;
}

/* Lowest registration year a prefix may fall back to (IMSS never goes below 14). */
#define AFL_MIN_REG_YEAR 2014

/* Opens a write transaction (BEGIN IMMEDIATE on SQLite); on failure nothing
 * is left open. */
static afl_store_status begin_txn(apr_pool_t *p, afl_store *st, afl_txn **txn)
{
    int rv = afl_txn_begin(p, afl_db_driver(st->db), afl_db_handle(st->db), txn);

    if (rv != 0) {
        log_db_error(st, "transaction start", rv);
        return AFL_STORE_ERROR;
    }
    return AFL_STORE_OK;
}

/* Commits when s is OK, else rolls back. A failed commit turns an OK into
 * AFL_STORE_ERROR. */
static afl_store_status finish_txn(apr_pool_t *p, afl_store *st, afl_txn *txn, afl_store_status s)
{
    int rv = afl_txn_end(p, txn, s == AFL_STORE_OK);

    if (s == AFL_STORE_OK && rv != 0) {
        log_db_error(st, "commit", rv);
        return AFL_STORE_ERROR;
    }
    return s;
}

/* Runs body as one write transaction: through the group committer (SQLite in
 * a server), else in an apr_dbd transaction of its own; inside a body, as
 * part of it. The body's writes are kept only when it returns AFL_STORE_OK. */
static afl_store_status txn(apr_pool_t *p, afl_store *st, afl_commit_body *body, void *baton)
{
    afl_txn *t = NULL;

    if (st->in_txn)
        return body(p, st, baton);
    if (st->commit)
        return afl_commit_run(st->commit, p, st, body, baton);
    if (begin_txn(p, st, &t) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    st->in_txn = 1;
    AFL_CRASH_MARK(0);
    {
        afl_store_status s = body(p, st, baton);
        st->in_txn = 0;
        if (s == AFL_STORE_OK)
            AFL_CRASH_POINT_MARKED("assign-before-commit");
        s = finish_txn(p, st, t, s);
        if (s == AFL_STORE_OK)
            AFL_CRASH_POINT_MARKED("assign-after-commit");
        AFL_CRASH_MARK(0);
        return s;
    }
}

/* A random token for a new outbox row, the Message-ID's unique part; NULL
 * (logged) without random bytes. */
static const char *outbox_token(apr_pool_t *p)
{
    const char *token = afl_token_random(p);

    if (!token)
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00031) "no random bytes for an outbox Message-ID");
    return token;
}

/* Inserts an outbox row by q (its args carry token) and turns the token into
 * the final Message-ID, which holds the row id, inside the caller's
 * transaction. */
static afl_store_status outbox_insert(apr_pool_t *p, afl_store *st, afl_sql_id q, int nargs,
                                      const char **args, const char *token, const char *msgid_host)
{
    const char *msgid[] = {msgid_host && *msgid_host ? msgid_host : "localhost", token};
    int n = 0;

    if (run(p, st, q, &n, nargs, args) != 0 || n != 1 ||
        run(p, st, AFL_SQL_OUTBOX_MSGID, &n, 2, msgid) != 0 || n != 1)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

/* Queues a message of this kind (comprobante | constancia) for curp to
 * recipient, inside the caller's transaction. Nothing is queued without a
 * recipient. */
static afl_store_status outbox_add(apr_pool_t *p, afl_store *st, const char *kind, const char *curp,
                                   const char *recipient, const char *reason,
                                   const char *msgid_host, long long now)
{
    const char *token;

    if (!recipient || !*recipient)
        return AFL_STORE_OK;
    if (!(token = outbox_token(p)))
        return AFL_STORE_ERROR;
    {
        const char *args[] = {kind, reason, recipient, lld(p, now), token, lld(p, now), curp};
        return outbox_insert(p, st, AFL_SQL_OUTBOX_ADD, 7, args, token, msgid_host);
    }
}

/* Queues the message with the e-mail confirmation link, inside the caller's
 * transaction. */
static afl_store_status confirm_outbox_add(apr_pool_t *p, afl_store *st, const char *recipient,
                                           const char *enlace, const char *msgid_host,
                                           long long now)
{
    const char *token;

    if (!recipient || !*recipient || !enlace || !*enlace)
        return AFL_STORE_ERROR; /* a link that reaches nobody would strand the trámite */
    if (!(token = outbox_token(p)))
        return AFL_STORE_ERROR;
    {
        const char *args[] = {recipient, lld(p, now), token, lld(p, now), enlace};
        return outbox_insert(p, st, AFL_SQL_CONFIRM_OUTBOX_ADD, 5, args, token, msgid_host);
    }
}

typedef struct {
    const afl_assign_req *req;
    const char **nss;
    int *assigned;
} assign_args;

static afl_store_status assign_body(apr_pool_t *p, afl_store *st, void *baton)
{
    assign_args *aa = baton;
    const afl_assign_req *req = aa->req;
    const char **nss = aa->nss;
    int *assigned = aa->assigned;
    afl_store_status s;
    afl_asegurado a;
    afl_nss_folio f;
    const char *curp;

    curp = req->curp;
    s = select_one(p, st, AFL_SQL_CURP_LOCK, 1, &curp, 0, NULL);
    if (s != AFL_STORE_ERROR)
        s = afl_store_asegurado(p, st, req->curp, &a);
    if (s == AFL_STORE_OK) {
        *nss = a.nss;
        *assigned = 0;
    } else if (s == AFL_STORE_NOTFOUND) {
        int min_year = req->birth_year > AFL_MIN_REG_YEAR ? req->birth_year : AFL_MIN_REG_YEAR;

        s = afl_store_nss_take(p, st, atoi(req->umf->serie), req->reg_year, min_year,
                               req->birth_year, &f);
        if (s == AFL_STORE_OK) {
            *nss = f.nss;
            const char *args[] = {f.nss,
                                  req->curp,
                                  f.prefix,
                                  apr_itoa(p, f.folio),
                                  or_null(req->correo),
                                  req->cp,
                                  req->colonia,
                                  req->calle,
                                  req->numero_exterior,
                                  or_null(req->numero_interior),
                                  req->umf->clave,
                                  lld(p, req->now),
                                  lld(p, req->now)};
            if (run(p, st, AFL_SQL_ASEGURADO_ADD, NULL, 13, args) != 0)
                s = AFL_STORE_ERROR;
            else
                AFL_CRASH_POINT("asegurado-insert");
            if (s != AFL_STORE_OK || afl_store_audit(p, st, req->now, "asignacion", req->curp_hmac,
                                                     req->umf->clave) != AFL_STORE_OK)
                s = AFL_STORE_ERROR;
            /* The assignment opens coverage until the end of the school period. */
            if (s == AFL_STORE_OK && req->cobertura_inicio && req->cobertura_fin) {
                const char *cargs[] = {afl_vigencia_clave_asignacion(p, *nss),
                                       *nss,
                                       req->curp,
                                       req->cobertura_inicio,
                                       req->cobertura_fin,
                                       lld(p, req->now),
                                       lld(p, req->now)};
                if (run(p, st, AFL_SQL_COBERTURA_ALTA, NULL, 7, cargs) != 0)
                    s = AFL_STORE_ERROR;
            }
            *assigned = 1;
        }
    }
    if (s == AFL_STORE_OK && req->tramite_id) {
        const char *args[] = {*nss, *assigned ? "asignado" : "localizado",
                              lld(p, req->session_expira), req->tramite_id};
        if (run(p, st, AFL_SQL_TRAMITE_RESULT, NULL, 4, args) != 0)
            s = AFL_STORE_ERROR;
    }
    /* The message goes with the result: one commits only with the other. */
    if (s == AFL_STORE_OK && outbox_add(p, st, "comprobante", req->curp, req->correo,
                                        *assigned ? "asignacion" : "localizacion", req->msgid_host,
                                        req->now) != AFL_STORE_OK)
        s = AFL_STORE_ERROR;
    if (s == AFL_STORE_OK && *assigned)
        AFL_CRASH_MARK(1); /* the commit points fire for this transaction */
    return s;
}

static afl_store_status assign_once(apr_pool_t *p, afl_store *st, const afl_assign_req *req,
                                    const char **nss, int *assigned)
{
    assign_args aa = {req, nss, assigned};
    return txn(p, st, assign_body, &aa);
}

afl_store_status afl_store_assign(apr_pool_t *p, afl_store *st, const afl_assign_req *req,
                                  const char **nss, int *assigned)
{
    afl_store_status s = assign_once(p, st, req, nss, assigned);

    /* Another server may have assigned this CURP between our read and our
     * insert (PostgreSQL, READ COMMITTED): the UNIQUE(curp) constraint made
     * our transaction fail and roll back; the stored NSS is the answer. */
    if (s == AFL_STORE_ERROR) {
        afl_asegurado a;
        if (afl_store_asegurado(p, st, req->curp, &a) == AFL_STORE_OK) {
            s = assign_once(p, st, req, nss, assigned);
        }
    }
    return s;
}

typedef struct {
    const char *captcha_id; /* NULL: none */
    long long captcha_expires;
    afl_store_daily *daily; /* NULL: none */
    const char *tramite_id;
    const afl_tramite *t;
    const char *curp_hmac, *msgid_host;
    long long now;
} form_args;

static afl_store_status bucket_over(apr_pool_t *p, afl_store *st, const char *key, long long window,
                                    int limit, int *over);

/* Moves the form's daily counts (afl_store_daily); AFL_STORE_LIMITED when one
 * passes its limit, and the caller's transaction is then rolled back. */
static afl_store_status count_daily(apr_pool_t *p, afl_store *st, afl_store_daily *d)
{
    afl_store_status s;
    int over = 0;

    if (!d)
        return AFL_STORE_OK;
    d->by_curp = 0;
    s = bucket_over(p, st, d->curp_key, d->window, d->curp_limit, &over);
    if (s == AFL_STORE_OK && over) {
        d->by_curp = 1;
        return AFL_STORE_LIMITED;
    }
    if (s == AFL_STORE_OK)
        s = bucket_over(p, st, d->correo_key, d->window, d->correo_limit, &over);
    return s == AFL_STORE_OK && over ? AFL_STORE_LIMITED : s;
}

/* Burns the form's CAPTCHA id and moves its daily counts inside the form's
 * transaction. */
static afl_store_status burn(apr_pool_t *p, afl_store *st, const form_args *fa)
{
    if (fa->captcha_id) {
        switch (afl_store_captcha_use(p, st, fa->captcha_id, fa->captcha_expires)) {
        case AFL_STORE_OK:
            break;
        case AFL_STORE_NOTFOUND:
            return AFL_STORE_USED;
        default:
            return AFL_STORE_ERROR;
        }
    }
    return count_daily(p, st, fa->daily);
}

static afl_store_status locate_body(apr_pool_t *p, afl_store *st, void *baton)
{
    form_args *fa = baton;
    const afl_tramite *t = fa->t;
    const char *args[] = {or_null(t->correo), lld(p, fa->now), t->curp};
    afl_store_status s = burn(p, st, fa);

    if (s != AFL_STORE_OK)
        return s;
    if (afl_store_tramite_put(p, st, fa->tramite_id, t, fa->now) != AFL_STORE_OK ||
        run(p, st, AFL_SQL_ASEGURADO_CORREO, NULL, 3, args) != 0 ||
        afl_store_audit(p, st, fa->now, "localizacion", fa->curp_hmac, "") != AFL_STORE_OK ||
        outbox_add(p, st, "comprobante", t->curp, t->correo, "localizacion", fa->msgid_host,
                   fa->now) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

afl_store_status afl_store_locate(apr_pool_t *p, afl_store *st, const char *tramite_id,
                                  const afl_tramite *t, const char *curp_hmac,
                                  const char *msgid_host, long long now)
{
    return afl_store_locate_form(p, st, NULL, 0, NULL, tramite_id, t, curp_hmac, msgid_host, now);
}

afl_store_status afl_store_locate_form(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                       long long captcha_expires, afl_store_daily *daily,
                                       const char *tramite_id, const afl_tramite *t,
                                       const char *curp_hmac, const char *msgid_host, long long now)
{
    form_args fa = {captcha_id, captcha_expires, daily, tramite_id, t, curp_hmac, msgid_host, now};
    return txn(p, st, locate_body, &fa);
}

static afl_store_status start_body(apr_pool_t *p, afl_store *st, void *baton)
{
    form_args *fa = baton;
    afl_store_status s = burn(p, st, fa);

    if (s != AFL_STORE_OK)
        return s;
    return afl_store_tramite_put(p, st, fa->tramite_id, fa->t, fa->now);
}

afl_store_status afl_store_tramite_start(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                         long long captcha_expires, afl_store_daily *daily,
                                         const char *tramite_id, const afl_tramite *t,
                                         long long now)
{
    form_args fa = {captcha_id, captcha_expires, daily, tramite_id, t, NULL, NULL, now};
    return txn(p, st, start_body, &fa);
}

/* ------------------------------------------------------------------ e-mail confirmation */

typedef struct {
    form_args fa;
    const char *enlace;
} confirm_start_args;

static afl_store_status confirm_start_body(apr_pool_t *p, afl_store *st, void *baton)
{
    confirm_start_args *ca = baton;
    afl_store_status s = burn(p, st, &ca->fa);

    if (s != AFL_STORE_OK)
        return s;
    if (afl_store_tramite_put(p, st, ca->fa.tramite_id, ca->fa.t, ca->fa.now) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    return confirm_outbox_add(p, st, ca->fa.t->correo, ca->enlace, ca->fa.msgid_host, ca->fa.now);
}

afl_store_status afl_store_confirm_start(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                         long long captcha_expires, afl_store_daily *daily,
                                         const char *tramite_id, const afl_tramite *t,
                                         const char *enlace, const char *msgid_host, long long now)
{
    confirm_start_args ca = {
        {captcha_id, captcha_expires, daily, tramite_id, t, NULL, msgid_host, now}, enlace};
    return txn(p, st, confirm_start_body, &ca);
}

static afl_store_status confirm_use_body(apr_pool_t *p, afl_store *st, void *baton)
{
    const afl_confirm_req *req = baton;
    int n = 0;

    {
        const char *args[] = {req->tramite_id, lld(p, req->now), lld(p, req->used_until)};
        if (run(p, st, AFL_SQL_CONFIRM_USE, &n, 3, args) != 0)
            return AFL_STORE_ERROR;
        if (n != 1)
            return AFL_STORE_USED;
    }
    {
        const char *args[] = {req->tramite_id, lld(p, req->now)};
        if (run(p, st, AFL_SQL_CONFIRM_TAKE, &n, 2, args) != 0)
            return AFL_STORE_ERROR;
        if (n != 1)
            return AFL_STORE_NOTFOUND; /* rolled back: nothing was used */
    }
    if (req->t->paso == AFL_PASO_RESULTADO) {
        /* Located: recorded, audited and e-mailed only now, as without confirmation. */
        form_args fa = {NULL,    0, NULL, req->new_id, req->t, req->curp_hmac, req->msgid_host,
                        req->now};
        return locate_body(p, st, &fa);
    }
    return afl_store_tramite_put(p, st, req->new_id, req->t, req->now);
}

afl_store_status afl_store_confirm_use(apr_pool_t *p, afl_store *st, const afl_confirm_req *req)
{
    return txn(p, st, confirm_use_body, (void *)req);
}

afl_store_status afl_store_confirm_used(apr_pool_t *p, afl_store *st, const char *tramite_id)
{
    const char *v[1];
    return select_one(p, st, AFL_SQL_CONFIRM_USED, 1, &tramite_id, 1, v);
}

static afl_store_status vigencia_body(apr_pool_t *p, afl_store *st, void *baton)
{
    form_args *fa = baton;
    const afl_tramite *t = fa->t;
    afl_store_status s = burn(p, st, fa);

    if (s != AFL_STORE_OK)
        return s;
    if (afl_store_tramite_put(p, st, fa->tramite_id, t, fa->now) != AFL_STORE_OK ||
        afl_store_audit(p, st, fa->now, "vigencia", fa->curp_hmac, "") != AFL_STORE_OK ||
        outbox_add(p, st, "constancia", t->curp, t->correo, "vigencia", fa->msgid_host, fa->now) !=
            AFL_STORE_OK)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

afl_store_status afl_store_vigencia_record(apr_pool_t *p, afl_store *st, afl_store_daily *daily,
                                           const char *tramite_id, const afl_tramite *t,
                                           const char *curp_hmac, const char *msgid_host,
                                           long long now)
{
    form_args fa = {NULL, 0, daily, tramite_id, t, curp_hmac, msgid_host, now};
    return txn(p, st, vigencia_body, &fa);
}

static afl_store_status purge_body(apr_pool_t *p, afl_store *st, void *baton)
{
    long long now = *(long long *)baton;
    const char *t = lld(p, now);
    const char *w = lld(p, now - 86400);

    if (run(p, st, AFL_SQL_PURGE_CAPTCHA, NULL, 1, &t) != 0 ||
        run(p, st, AFL_SQL_PURGE_TRAMITE, NULL, 1, &t) != 0 ||
        run(p, st, AFL_SQL_PURGE_LIMITE, NULL, 1, &w) != 0 ||
        run(p, st, AFL_SQL_CONFIRM_PURGE, NULL, 1, &t) != 0)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

afl_store_status afl_store_purge(apr_pool_t *p, afl_store *st, long long now)
{
    return txn(p, st, purge_body, &now);
}

/* ------------------------------------------------------------------ resend */

/* Counts one resend in a daily bucket; 1 when it goes over the limit. */
static afl_store_status bucket_over(apr_pool_t *p, afl_store *st, const char *key, long long window,
                                    int limit, int *over)
{
    long long count = 0;

    *over = 0;
    if (!key)
        return AFL_STORE_OK;
    if (afl_store_rate_hit(p, st, key, window, &count) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    *over = count > limit;
    return AFL_STORE_OK;
}

static afl_store_status resend_body(apr_pool_t *p, afl_store *st, void *baton)
{
    const afl_resend_req *req = baton;
    afl_store_status s = AFL_STORE_OK;
    int n = 0, over = 0;
    int constancia = req->kind && !strcmp(req->kind, "constancia");
    int confirmacion = req->kind && !strcmp(req->kind, "confirmacion");

    {
        /* The trámite must be at the result that offers this document (or, for
         * the confirmation link, still waiting for it). */
        const char *args[] = {req->tramite_id,
                              afl_paso_name(confirmacion ? AFL_PASO_CONFIRMACION
                                            : constancia ? AFL_PASO_VIGENCIA
                                                         : AFL_PASO_RESULTADO),
                              apr_itoa(p, req->limit_tramite), lld(p, req->now)};
        if (run(p, st, AFL_SQL_TRAMITE_RESEND, &n, 4, args) != 0)
            s = AFL_STORE_ERROR;
        else if (n != 1)
            s = AFL_STORE_LIMITED;
    }
    if (s == AFL_STORE_OK) {
        s = bucket_over(p, st, req->curp_key, req->window, req->limit_curp, &over);
        if (s == AFL_STORE_OK && over)
            s = AFL_STORE_LIMITED;
    }
    if (s == AFL_STORE_OK) {
        s = bucket_over(p, st, req->address_key, req->window, req->limit_address, &over);
        if (s == AFL_STORE_OK && over)
            s = AFL_STORE_LIMITED;
    }
    if (s == AFL_STORE_OK && (!req->correo || !*req->correo))
        s = AFL_STORE_ERROR; /* a resend without an address would queue nothing */
    if (s == AFL_STORE_OK && confirmacion)
        s = confirm_outbox_add(p, st, req->correo, req->enlace, req->msgid_host, req->now);
    else if (s == AFL_STORE_OK)
        s = outbox_add(p, st, constancia ? "constancia" : "comprobante", req->curp, req->correo,
                       "reenvio", req->msgid_host, req->now);
    /* The new link may outlive the session row: the row waits for it. */
    if (s == AFL_STORE_OK && confirmacion && req->tramite_expira) {
        const char *args[] = {lld(p, req->tramite_expira), req->tramite_id};
        if (run(p, st, AFL_SQL_TRAMITE_TOUCH, NULL, 2, args) != 0)
            s = AFL_STORE_ERROR;
    }
    /* A refused resend changes nothing: no count moves. */
    return s;
}

afl_store_status afl_store_resend(apr_pool_t *p, afl_store *st, const afl_resend_req *req)
{
    return txn(p, st, resend_body, (void *)req);
}

/* ------------------------------------------------------------------ outbox */

static void add_id(apr_pool_t *p, const char *const *v, void *baton)
{
    apr_array_header_t *ids = baton;
    APR_ARRAY_PUSH(ids, long long) = atoll(col(p, v, 0));
}

afl_store_status afl_store_outbox_due(apr_pool_t *p, afl_store *st, long long now, int limit,
                                      apr_array_header_t **ids)
{
    const char *args[] = {lld(p, now), lld(p, now), apr_itoa(p, limit)};

    *ids = apr_array_make(p, limit > 0 ? limit : 1, sizeof(long long));
    return query(p, st, AFL_SQL_OUTBOX_DUE, 3, args, add_id, *ids, NULL) == 0 ? AFL_STORE_OK
                                                                              : AFL_STORE_ERROR;
}

static const col_field outbox_fields[] = {
    COL(afl_outbox_row, reason, COL_STR),     COL(afl_outbox_row, recipient, COL_STR),
    COL(afl_outbox_row, message_id, COL_STR), COL(afl_outbox_row, attempts, COL_INT),
    COL(afl_outbox_row, created, COL_LLONG),  COL(afl_outbox_row, curp, COL_STR),
    COL(afl_outbox_row, kind, COL_STR),       COL(afl_outbox_row, nss, COL_STR),
    COL(afl_outbox_row, enlace, COL_STR)};

afl_store_status afl_store_outbox_claim(apr_pool_t *p, afl_store *st, long long id, long long now,
                                        long long lease_until, afl_outbox_row *out)
{
    const char *sid = lld(p, id);
    const char *args[] = {lld(p, lease_until), sid, lld(p, now), lld(p, now)};
    int n = 0;
    afl_store_status s;

    if (run(p, st, AFL_SQL_OUTBOX_CLAIM, &n, 4, args) != 0)
        return AFL_STORE_ERROR;
    if (n != 1)
        return AFL_STORE_NOTFOUND; /* another sender has it, or it is no longer due */
    s = select_into(p, st, AFL_SQL_OUTBOX_GET, 1, &sid, outbox_fields, 9, out);
    if (s != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    out->id = id;
    return AFL_STORE_OK;
}

afl_store_status afl_store_outbox_sent(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                       long long now)
{
    const char *args[] = {lld(p, now), lld(p, id), apr_itoa(p, attempts)};
    int n = 0;

    if (run(p, st, AFL_SQL_OUTBOX_SENT, &n, 3, args) != 0)
        return AFL_STORE_ERROR;
    return n == 1 ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

afl_store_status afl_store_outbox_retry(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                        long long next_at, const char *error)
{
    const char *args[] = {lld(p, next_at), error ? error : "", lld(p, id), apr_itoa(p, attempts)};
    int n = 0;

    if (run(p, st, AFL_SQL_OUTBOX_RETRY, &n, 4, args) != 0)
        return AFL_STORE_ERROR;
    return n == 1 ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

afl_store_status afl_store_outbox_fail(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                       const char *error)
{
    const char *args[] = {error ? error : "", lld(p, id), apr_itoa(p, attempts)};
    int n = 0;

    if (run(p, st, AFL_SQL_OUTBOX_FAIL, &n, 3, args) != 0)
        return AFL_STORE_ERROR;
    return n == 1 ? AFL_STORE_OK : AFL_STORE_NOTFOUND;
}

static void add_count(apr_pool_t *p, const char *const *v, void *baton)
{
    afl_outbox_counts *c = baton;
    const char *status = col(p, v, 0);
    long long n = atoll(col(p, v, 1));

    if (!strcmp(status, "pending"))
        c->pending = n;
    else if (!strcmp(status, "sending"))
        c->sending = n;
    else if (!strcmp(status, "sent"))
        c->sent = n;
    else if (!strcmp(status, "failed"))
        c->failed = n;
}

afl_store_status afl_store_outbox_counts(apr_pool_t *p, afl_store *st, afl_outbox_counts *out)
{
    memset(out, 0, sizeof *out);
    return query(p, st, AFL_SQL_OUTBOX_COUNTS, 0, NULL, add_count, out, NULL) == 0
               ? AFL_STORE_OK
               : AFL_STORE_ERROR;
}

typedef struct {
    long long count, oldest;
} backlog_row;

static void take_backlog(apr_pool_t *p, const char *const *v, void *baton)
{
    backlog_row *b = baton;
    b->count = atoll(col(p, v, 0));
    b->oldest = atoll(col(p, v, 1));
}

afl_store_status afl_store_outbox_backlog(apr_pool_t *p, afl_store *st, long long *count,
                                          long long *oldest)
{
    backlog_row b = {0, 0};

    if (query(p, st, AFL_SQL_OUTBOX_BACKLOG, 0, NULL, take_backlog, &b, NULL) != 0)
        return AFL_STORE_ERROR;
    *count = b.count;
    *oldest = b.oldest;
    return AFL_STORE_OK;
}

afl_store_status afl_store_outbox_requeue(apr_pool_t *p, afl_store *st, long long id, long long now,
                                          int *count)
{
    int n = 0, rv;

    if (id > 0) {
        const char *args[] = {lld(p, now), lld(p, id)};
        rv = run(p, st, AFL_SQL_OUTBOX_REQUEUE_ID, &n, 2, args);
    } else {
        const char *args[] = {lld(p, now)};
        rv = run(p, st, AFL_SQL_OUTBOX_REQUEUE_FAILED, &n, 1, args);
    }
    if (rv != 0)
        return AFL_STORE_ERROR;
    if (count)
        *count = n;
    return AFL_STORE_OK;
}

/* ------------------------------------------------------------------ signed documents */

afl_store_status afl_store_documento_reuse(apr_pool_t *p, afl_store *st, const char *nss,
                                           const char *tipo, const char *datos, afl_store_doc *out)
{
    static const col_field f[] = {
        COL(afl_store_doc, folio, COL_STR), COL(afl_store_doc, emitido, COL_LLONG),
        COL(afl_store_doc, cadena, COL_STR), COL(afl_store_doc, sello, COL_STR),
        COL(afl_store_doc, no_serie, COL_STR)};
    const char *args[] = {nss, tipo, datos};
    afl_store_status s;

    memset(out, 0, sizeof *out);
    s = select_into(p, st, AFL_SQL_DOC_REUSE, 3, args, f, 5, out);
    out->reused = s == AFL_STORE_OK;
    return s;
}

typedef struct {
    afl_store_doc_make *make;
    void *baton;
    afl_store_doc_row *row;
} take_args;

/* Takes the next sequence and inserts the row made with it, without sello. */
static afl_store_status take_body(apr_pool_t *p, afl_store *st, void *baton)
{
    take_args *ta = baton;
    afl_store_doc_row *row = ta->row;
    afl_store_status s;
    const char *v[1];
    int n = 0;

    if (run(p, st, AFL_SQL_DOC_TAKE, &n, 0, NULL) != 0)
        return AFL_STORE_ERROR;
    s = n == 1 ? select_one(p, st, AFL_SQL_DOC_NEXT, 0, NULL, 1, v) : AFL_STORE_NOTFOUND;
    if (s == AFL_STORE_NOTFOUND)
        afl_log(AFL_LOG_ERR,
                AFL_LOGNO(00095) "documento_contador has no row (is the schema loaded?)");
    if (s != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    memset(row, 0, sizeof *row);
    if (ta->make(p, atoll(v[0]) - 1, row, ta->baton) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    {
        const char *args[] = {row->folio,    row->tipo,
                              row->nss,      row->curp,
                              row->nombre,   lld(p, row->emitido),
                              row->cadena,   "",
                              row->no_serie, row->datos ? row->datos : ""};
        if (run(p, st, AFL_SQL_DOC_ADD, NULL, 10, args) != 0)
            return AFL_STORE_ERROR;
    }
    return AFL_STORE_OK;
}

afl_store_status afl_store_documento_take(apr_pool_t *p, afl_store *st, afl_store_doc_make *make,
                                          void *baton, afl_store_doc_row *row)
{
    take_args ta = {make, baton, row};
    return txn(p, st, take_body, &ta);
}

afl_store_status afl_store_documento_seal(apr_pool_t *p, afl_store *st, const char *folio,
                                          const char *sello, int wait)
{
    const char *args[] = {sello, folio};

    if (!wait && post(st, p, AFL_SQL_DOC_SEAL, 2, args) == 0)
        return AFL_STORE_OK;
    return run(p, st, AFL_SQL_DOC_SEAL, NULL, 2, args) == 0 ? AFL_STORE_OK : AFL_STORE_ERROR;
}

typedef struct {
    apr_array_header_t *folios, *cadenas;
} unsealed_rows;

static void add_unsealed(apr_pool_t *p, const char *const *v, void *baton)
{
    unsealed_rows *u = baton;
    APR_ARRAY_PUSH(u->folios, const char *) = col(p, v, 0);
    APR_ARRAY_PUSH(u->cadenas, const char *) = col(p, v, 1);
}

afl_store_status afl_store_documento_unsealed(apr_pool_t *p, afl_store *st, const char *no_serie,
                                              long long before, int max,
                                              apr_array_header_t **folios,
                                              apr_array_header_t **cadenas)
{
    const char *args[] = {no_serie, lld(p, before), apr_itoa(p, max)};
    unsealed_rows u = {apr_array_make(p, 8, sizeof(const char *)),
                       apr_array_make(p, 8, sizeof(const char *))};

    if (query(p, st, AFL_SQL_DOC_UNSEALED, 3, args, add_unsealed, &u, NULL) != 0)
        return AFL_STORE_ERROR;
    *folios = u.folios;
    *cadenas = u.cadenas;
    return AFL_STORE_OK;
}

afl_store_status afl_store_documento_get(apr_pool_t *p, afl_store *st, const char *folio,
                                         afl_store_doc *out)
{
    static const col_field f[] = {
        COL(afl_store_doc, tipo, COL_STR),    COL(afl_store_doc, nss, COL_STR),
        COL(afl_store_doc, nombre, COL_STR),  COL(afl_store_doc, emitido, COL_LLONG),
        COL(afl_store_doc, cadena, COL_STR),  COL(afl_store_doc, sello, COL_STR),
        COL(afl_store_doc, no_serie, COL_STR)};
    afl_store_status s;

    memset(out, 0, sizeof *out);
    s = select_into(p, st, AFL_SQL_DOC_GET, 1, &folio, f, 7, out);
    if (s == AFL_STORE_OK)
        out->folio = apr_pstrdup(p, folio);
    return s;
}

/* ------------------------------------------------------------------ coverage */

typedef struct {
    apr_array_header_t *movs;
    int bad;
} cobertura_rows;

static void add_mov(apr_pool_t *p, const char *const *v, void *baton)
{
    cobertura_rows *cr = baton;
    afl_movimiento m;

    /* Through pgsql a NULL fin comes back as "": an open alta. */
    if (afl_vigencia_mov_from_row(col(p, v, 0), col(p, v, 1), col(p, v, 2), &m) != 0) {
        cr->bad++;
        return;
    }
    APR_ARRAY_PUSH(cr->movs, afl_movimiento) = m;
}

afl_store_status afl_store_vigencia(apr_pool_t *p, afl_store *st, const char *nss, int dia,
                                    afl_vigencia *out)
{
    cobertura_rows cr = {apr_array_make(p, 4, sizeof(afl_movimiento)), 0};

    if (query(p, st, AFL_SQL_COBERTURA_NSS, 1, &nss, add_mov, &cr, NULL) != 0)
        return AFL_STORE_ERROR;
    if (cr.bad)
        afl_log(AFL_LOG_WARN, AFL_LOGNO(00033) "%d malformed cobertura row(s) ignored", cr.bad);
    if (afl_vigencia_eval(p, (const afl_movimiento *)cr.movs->elts, (size_t)cr.movs->nelts, dia,
                          out) != 0)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

afl_store_status afl_store_asegurado_nss(apr_pool_t *p, afl_store *st, const char *nss,
                                         afl_asegurado_nss *out)
{
    static const col_field f[] = {
        COL(afl_asegurado_nss, curp, COL_STR), COL(afl_asegurado_nss, umf_clave, COL_STR),
        COL(afl_asegurado_nss, umf_nombre, COL_STR), COL(afl_asegurado_nss, umf_domicilio, COL_STR),
        COL(afl_asegurado_nss, subdelegacion, COL_STR)};
    return select_into(p, st, AFL_SQL_ASEGURADO_NSS, 1, &nss, f, 5, out);
}

/* ------------------------------------------------------------------ RENAPO answers */
/* The RENAPO web service's answers (afl_identity, docs/renapo.md): read and
 * recorded here, statements in the RENAPO block of stmts[]. */

afl_store_status afl_store_renapo_consulta(apr_pool_t *p, afl_store *st, const char *curp,
                                           int *encontrado, long long *consultado)
{
    const char *v[2];
    afl_store_status s = select_one(p, st, AFL_SQL_RENAPO_CONSULTA_GET, 1, &curp, 2, v);

    if (s != AFL_STORE_OK)
        return s;
    *encontrado = atoi(v[0]);
    *consultado = atoll(v[1]);
    return AFL_STORE_OK;
}

typedef struct {
    const char *curp;
    const afl_persona *per; /* NULL: not found */
    long long now;
    const char *curp_hmac;
} renapo_put;

static afl_store_status renapo_put_body(apr_pool_t *p, afl_store *st, void *baton)
{
    const renapo_put *b = baton;
    const char *consulta[] = {b->curp, b->per ? "1" : "0", lld(p, b->now)};
    const char *audit[] = {lld(p, b->now), "identidad_renapo", b->curp_hmac,
                           b->per ? "encontrado" : "no_encontrado"};

    if (b->per) {
        const afl_persona *r = b->per;
        const char *persona[] = {b->curp,
                                 r->nombres,
                                 r->primer_apellido,
                                 r->segundo_apellido,
                                 r->fecha_nacimiento,
                                 apr_pstrndup(p, &r->sexo, 1),
                                 r->entidad,
                                 r->status_curp};
        if (run(p, st, AFL_SQL_RENAPO_PERSONA_PUT, NULL, 8, persona) != 0)
            return AFL_STORE_ERROR;
    }
    if (run(p, st, AFL_SQL_RENAPO_CONSULTA_PUT, NULL, 3, consulta) != 0 ||
        run(p, st, AFL_SQL_AUDIT_ADD, NULL, 4, audit) != 0)
        return AFL_STORE_ERROR;
    return AFL_STORE_OK;
}

afl_store_status afl_store_renapo_record(apr_pool_t *p, afl_store *st, const char *curp,
                                         const afl_persona *per, long long now,
                                         const char *curp_hmac)
{
    renapo_put b = {curp, per, now, curp_hmac};
    return txn(p, st, renapo_put_body, &b);
}
