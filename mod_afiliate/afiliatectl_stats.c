/* afiliatectl stats: the procedure's outcomes per day, read from the database,
 * for the agency's reports (docs/operations.md). Counts only: no CURP, NSS,
 * name or e-mail address is ever read. Days are UTC calendar days of the
 * stored UNIX times: auditoria.ts (assignments, located NSS), documento.emitido
 * (documents issued) and outbox.created (e-mails, by their state now).
 * Exit status: 0 ok, 1 error, 2 usage. */
#include "afiliatectl.h"
#include "afiliatectl_opts.h"
#include "afl_db.h"
#include "afl_vigencia.h"

#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: afiliatectl stats --db PATH [--driver sqlite3|pgsql] [--since YYYY-MM-DD]\n"
    "                         [--format text|csv|json]\n"
    "\n"
    "Prints, per UTC day with any activity (from --since on, default every day):\n"
    "  assigned      new NSS assigned\n"
    "  located       existing NSS located (Paso 1)\n"
    "  comprobantes, tarjetas, constancias   signed documents issued (downloads and\n"
    "                e-mail attachments)\n"
    "  mail_sent, mail_pending, mail_failed  e-mails queued that day, by their state now\n"
    "                (pending includes a message being sent)\n"
    "text adds a total line. --driver pgsql takes a libpq conninfo as --db.\n";

enum {
    C_ASSIGNED,
    C_LOCATED,
    C_COMPROBANTE,
    C_TARJETA,
    C_CONSTANCIA,
    C_SENT,
    C_PENDING,
    C_FAILED,
    C_COUNT
};

static const char *const names[C_COUNT] = {
    "assigned",    "located",   "comprobantes", "tarjetas",
    "constancias", "mail_sent", "mail_pending", "mail_failed",
};

typedef struct {
    long long day; /* days since 1970-01-01 */
    long long n[C_COUNT];
} day_row;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *days; /* day (long long) -> day_row* */
    int column;       /* for one-column queries */
    int by_status;    /* rows are (day, status, count) */
} collect;

static day_row *day_of(collect *c, long long day)
{
    day_row *d = apr_hash_get(c->days, &day, sizeof day);

    if (!d) {
        d = apr_pcalloc(c->pool, sizeof *d);
        d->day = day;
        apr_hash_set(c->days, &d->day, sizeof d->day, d);
    }
    return d;
}

static int take_row(void *baton, int ncols, const char *const *v)
{
    collect *c = baton;
    int col = c->column;

    if (ncols < 2 || !v[0] || !v[ncols - 1])
        return 0;
    if (c->by_status) {
        if (ncols < 3 || !v[1])
            return 0;
        if (!strcmp(v[1], "sent"))
            col = C_SENT;
        else if (!strcmp(v[1], "failed"))
            col = C_FAILED;
        else
            col = C_PENDING; /* pending, sending */
    }
    day_of(c, atoll(v[0]))->n[col] += atoll(v[ncols - 1]);
    return 0;
}

static int cmp_day(const void *a, const void *b)
{
    const day_row *x = *(day_row *const *)a, *y = *(day_row *const *)b;
    return x->day < y->day ? -1 : x->day > y->day;
}

static const char *date_of(apr_pool_t *p, long long day)
{
    char buf[11];

    afl_vigencia_format_date((int)(day - afl_vigencia_day(1970, 1, 1)), buf);
    return apr_pstrdup(p, buf);
}

/* The text and CSV tables: the first column's and the counts' formats, and
 * whether a total row ends the table. */
static void print_table(apr_array_header_t *rows, const char *first, const char *name,
                        const char *count, int totals)
{
    long long total[C_COUNT] = {0};

    printf(first, "day");
    for (int i = 0; i < C_COUNT; i++)
        printf(name, names[i]);
    putchar('\n');
    for (int r = 0; r < rows->nelts; r++) {
        day_row *d = APR_ARRAY_IDX(rows, r, day_row *);
        printf(first, date_of(rows->pool, d->day));
        for (int i = 0; i < C_COUNT; i++) {
            printf(count, d->n[i]);
            total[i] += d->n[i];
        }
        putchar('\n');
    }
    if (!totals)
        return;
    printf(first, "total");
    for (int i = 0; i < C_COUNT; i++)
        printf(count, total[i]);
    putchar('\n');
}

static void print_json(apr_array_header_t *rows)
{
    printf("{\"days\": [");
    for (int r = 0; r < rows->nelts; r++) {
        day_row *d = APR_ARRAY_IDX(rows, r, day_row *);
        printf("%s\n  {\"day\": \"%s\"", r ? "," : "", date_of(rows->pool, d->day));
        for (int i = 0; i < C_COUNT; i++)
            printf(", \"%s\": %lld", names[i], d->n[i]);
        putchar('}');
    }
    printf("%s]}\n", rows->nelts ? "\n" : "");
}

int afiliatectl_stats(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *db_path = NULL, *driver = "sqlite3", *since = NULL, *format = "text";
    long long since_ts = 0;
    const char *err = NULL;
    afl_db *db = NULL;
    collect c;
    apr_array_header_t *rows;
    static const struct {
        int column, by_status;
        afl_sql_id q; /* its one value: the first second of --since */
    } queries[] = {
        {C_ASSIGNED, 0, AFL_SQL_STATS_ASSIGNED},       {C_LOCATED, 0, AFL_SQL_STATS_LOCATED},
        {C_COMPROBANTE, 0, AFL_SQL_STATS_COMPROBANTE}, {C_TARJETA, 0, AFL_SQL_STATS_TARJETA},
        {C_CONSTANCIA, 0, AFL_SQL_STATS_CONSTANCIA},   {0, 1, AFL_SQL_STATS_OUTBOX},
    };
    const ctl_value_opt values[] = {{"--db", &db_path},
                                    {"--driver", &driver},
                                    {"--since", &since},
                                    {"--format", &format},
                                    {NULL, NULL}};

    int rc = afiliatectl_scan_args(argc, argv, "stats", usage, values, NULL, NULL);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (afiliatectl_db_args("stats", usage, db_path, driver))
        return 2;
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "json"))
        return afiliatectl_usage_error("stats", usage,
                                       "--format must be text, csv or json, not '%s'", format);
    if (since) {
        int day;
        if (afl_vigencia_parse_date(since, &day) != 0)
            return afiliatectl_usage_error("stats", usage,
                                           "--since must be a date YYYY-MM-DD, not '%s'", since);
        since_ts = (long long)(day - afl_vigencia_day(1970, 1, 1)) * 86400;
    }
    if (afl_db_open(pool, driver, db_path, &db, &err)) {
        fprintf(stderr, "afiliatectl stats: %s\n", err ? err : "cannot open the database");
        return 1;
    }
    c.pool = pool;
    c.days = apr_hash_make(pool);
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        const char *since_arg = apr_psprintf(pool, "%" APR_INT64_T_FMT, (apr_int64_t)since_ts);
        int rv = afl_db_prepare(db, queries[q].q);

        c.column = queries[q].column;
        c.by_status = queries[q].by_status;
        if (!rv)
            rv = afl_db_select(db, pool, queries[q].q, 1, &since_arg, take_row, &c, NULL);
        if (rv != 0) {
            fprintf(stderr, "afiliatectl stats: cannot read the database: %s\n",
                    afl_db_errmsg(db, rv));
            afl_db_close(db);
            return 1;
        }
    }
    afl_db_close(db);

    rows = apr_array_make(pool, (int)apr_hash_count(c.days) + 1, sizeof(day_row *));
    for (apr_hash_index_t *hi = apr_hash_first(pool, c.days); hi; hi = apr_hash_next(hi))
        APR_ARRAY_PUSH(rows, day_row *) = apr_hash_this_val(hi);
    qsort(rows->elts, (size_t)rows->nelts, sizeof(day_row *), cmp_day);
    if (!strcmp(format, "csv"))
        print_table(rows, "%s", ",%s", ",%lld", 0);
    else if (!strcmp(format, "json"))
        print_json(rows);
    else
        print_table(rows, "%-10s", " %12s", " %12lld", 1);
    return 0;
}
