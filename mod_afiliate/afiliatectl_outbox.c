/* afiliatectl outbox: one pass of the mail sender, the outbox counts, and
 * requeueing failed messages (docs/mail.md). Built on the same units as the
 * module's watchdog sender (afl_outbox, afl_store), so a pass from the
 * command line and one inside httpd behave alike and never send the same
 * message twice at the same time. Diagnostics name outbox ids only.
 * Exit status: 0 ok, 1 error, 2 usage. */
#include "afiliatectl.h"
#include "afiliatectl_opts.h"
#include "afl_db.h"
#include "afl_log.h"
#include "afl_mime.h"
#include "afl_outbox.h"
#include "afl_smtp.h"
#include "afl_store.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: afiliatectl outbox --once --db PATH [--driver sqlite3|pgsql] --smtp URL\n"
    "                          [--from ADDR [--from-name NAME]] [--credentials FILE]\n"
    "                          [--require-tls] [--ca-file FILE] [--max-attempts N]\n"
    "                          [--backoff MIN [MAX]]\n"
    "                          [--font FILE] [--font-bold FILE] [--verbose]\n"
    "       afiliatectl outbox status --db PATH [--driver sqlite3|pgsql]\n"
    "       afiliatectl outbox requeue --db PATH [--driver sqlite3|pgsql] (--id N | --failed)\n"
    "\n"
    "--once      one pass of the sender: every due message is claimed, rendered and\n"
    "            handed to the relay; failures are rescheduled with backoff, or marked\n"
    "            failed after the last attempt (default 150, backoff 30 1800 seconds)\n"
    "status      prints 'pending N', 'sending N', 'sent N' and 'failed N'\n"
    "requeue     puts failed messages back in the queue (attempts start again)\n"
    "\n"
    "--driver pgsql takes a libpq conninfo as --db. --credentials names a file with\n"
    "one line user:password. --require-tls makes STARTTLS mandatory on smtp://;\n"
    "--ca-file names the PEM CA bundle for the relay's certificate.\n";

static int verbose;

static void log_stderr(void *baton, afl_log_level level, const char *msg)
{
    (void)baton;
    if (level <= AFL_LOG_WARN || (verbose && level == AFL_LOG_INFO))
        fprintf(stderr, "afiliatectl outbox: %s\n", msg);
}

static afl_db *open_store(apr_pool_t *pool, const char *driver, const char *path, afl_store *st)
{
    afl_db *db = NULL;
    const char *err = NULL;

    if (afl_db_open(pool, driver, path, &db, &err)) {
        fprintf(stderr, "afiliatectl outbox: %s\n", err ? err : "cannot open the database");
        return NULL;
    }
    st->db = db;
    st->commit = NULL;
    st->in_txn = 0;
    if (afl_store_configure(pool, st) != APR_SUCCESS || afl_store_prepare_all(st) != APR_SUCCESS) {
        fprintf(stderr, "afiliatectl outbox: the database is not usable (see above)\n");
        return NULL;
    }
    return db;
}

/* The outbox options that are no plain string value. */
typedef struct {
    const char *mode;
    long max_attempts, backoff_min, backoff_max, id;
    int require_tls, failed;
} outbox_args;

/* One of them (ctl_option_fn). */
static int outbox_option(void *baton, int argc, const char *const *argv, int *i, const char *a)
{
    outbox_args *x = baton;
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;

    if (!strcmp(a, "--once") || !strcmp(a, "status") || !strcmp(a, "requeue")) {
        if (x->mode)
            return afiliatectl_usage_error("outbox", usage,
                                           "choose one of --once, status and requeue (%s)", a);
        x->mode = a;
        return 0;
    }
    if (!strcmp(a, "--require-tls")) {
        x->require_tls = 1;
        return 0;
    }
    if (!strcmp(a, "--failed")) {
        x->failed = 1;
        return 0;
    }
    if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
        verbose = 1;
        return 0;
    }
    if (strcmp(a, "--max-attempts") && strcmp(a, "--backoff") && strcmp(a, "--id"))
        return -1;
    if (!next)
        return afiliatectl_usage_error("outbox", usage, "%s needs a value", a);
    ++*i;
    if (!strcmp(a, "--max-attempts")) {
        if (afiliatectl_parse_long(next, 1, 10000, &x->max_attempts))
            return afiliatectl_usage_error("outbox", usage,
                                           "--max-attempts must be 1-10000, not '%s'", next);
    } else if (!strcmp(a, "--id")) {
        if (afiliatectl_parse_long(next, 1, 0x7fffffffL, &x->id))
            return afiliatectl_usage_error("outbox", usage, "--id must be an outbox id, not '%s'",
                                           next);
    } else {
        if (afiliatectl_parse_long(next, 1, 86400, &x->backoff_min))
            return afiliatectl_usage_error("outbox", usage,
                                           "--backoff takes seconds (1-86400), not '%s'", next);
        x->backoff_max = x->backoff_min;
        if (*i + 1 < argc && argv[*i + 1][0] != '-') {
            ++*i;
            if (afiliatectl_parse_long(argv[*i], x->backoff_min, 86400, &x->backoff_max))
                return afiliatectl_usage_error(
                    "outbox", usage, "--backoff MAX must be MIN-86400, not '%s'", argv[*i]);
        }
    }
    return 0;
}

int afiliatectl_outbox(apr_pool_t *pool, int argc, const char *const *argv)
{
    const char *db_path = NULL, *driver = "sqlite3", *smtp = NULL;
    const char *credentials = NULL, *font = NULL, *font_bold = NULL, *ca_file = NULL;
    const char *from = NULL, *from_name = NULL;
    outbox_args x = {NULL, -1, -1, -1, 0, 0, 0};
    int rc = 0;
    afl_store st;
    afl_db *db;
    const ctl_value_opt values[] = {{"--db", &db_path},          {"--driver", &driver},
                                    {"--smtp", &smtp},           {"--from", &from},
                                    {"--from-name", &from_name}, {"--credentials", &credentials},
                                    {"--ca-file", &ca_file},     {"--font", &font},
                                    {"--font-bold", &font_bold}, {NULL, NULL}};

    afl_log_set(log_stderr, NULL);
    rc = afiliatectl_scan_args(argc, argv, "outbox", usage, values, outbox_option, &x);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (!x.mode)
        return afiliatectl_usage_error("outbox", usage, "%s", "say --once, status or requeue");
    if (afiliatectl_db_args("outbox", usage, db_path, driver))
        return 2;
    if (!strcmp(x.mode, "requeue") && !x.failed && !x.id)
        return afiliatectl_usage_error("outbox", usage, "%s", "requeue needs --id N or --failed");
    if (!strcmp(x.mode, "--once")) {
        const char *why = NULL;
        if (!smtp)
            return afiliatectl_usage_error("outbox", usage, "%s", "--once needs --smtp URL");
        if (!afl_smtp_url_ok(smtp, &why))
            return afiliatectl_usage_error("outbox", usage, "--smtp: %s", why);
        if (from && !afl_mime_address_ok(from))
            return afiliatectl_usage_error("outbox", usage,
                                           "--from needs a bare e-mail address, not '%s'", from);
        if (from_name && !afl_mime_encode_header(pool, from_name))
            return afiliatectl_usage_error("outbox", usage, "%s",
                                           "--from-name must be one line of UTF-8 text");
    }

    db = open_store(pool, driver, db_path, &st);
    if (!db)
        return 1;

    if (!strcmp(x.mode, "status")) {
        afl_outbox_counts n;
        if (afl_store_outbox_counts(pool, &st, &n) != AFL_STORE_OK)
            return 1;
        printf("pending %lld\nsending %lld\nsent %lld\nfailed %lld\n", n.pending, n.sending, n.sent,
               n.failed);
    } else if (!strcmp(x.mode, "requeue")) {
        int count = 0;
        if (afl_store_outbox_requeue(pool, &st, x.failed ? 0 : x.id, (long long)time(NULL),
                                     &count) != AFL_STORE_OK)
            return 1;
        printf("requeued %d\n", count);
        if (x.id && !count) {
            fprintf(stderr, "afiliatectl outbox: message %ld is not in state failed\n", x.id);
            rc = 1;
        }
    } else {
        afl_outbox_conf c;
        afl_outbox_stats stats;

        afl_outbox_conf_defaults(&c);
        c.smtp.url = smtp;
        c.smtp.require_tls = x.require_tls;
        c.smtp.ca_file = ca_file;
        if (from) {
            c.from = from;
            c.from_name = from_name;
        }
        if (x.max_attempts > 0)
            c.max_attempts = (int)x.max_attempts;
        if (x.backoff_min > 0) {
            c.backoff_min = (int)x.backoff_min;
            c.backoff_max = (int)x.backoff_max;
        }
        if ((font && afl_pdf_font_load(pool, font, &c.font) != APR_SUCCESS) ||
            (font_bold && afl_pdf_font_load(pool, font_bold, &c.font_bold) != APR_SUCCESS)) {
            fprintf(stderr,
                    "afiliatectl outbox: %s is not a TrueType font the PDF writer can "
                    "embed\n",
                    c.font || !font ? font_bold : font);
            return 2;
        }
        if (credentials) {
            const char *err = NULL;
            if (afl_smtp_read_credentials(pool, credentials, &c.smtp.username, &c.smtp.password,
                                          &err)) {
                fprintf(stderr, "afiliatectl outbox: %s\n", err);
                return 1;
            }
        }
        if (afl_smtp_global_init() != 0) {
            fprintf(stderr, "afiliatectl outbox: cannot initialise libcurl\n");
            return 1;
        }
        if (afl_outbox_drain(pool, &st, &c, &stats) != APR_SUCCESS)
            rc = 1;
        afl_smtp_global_cleanup();
        printf("claimed %d\nsent %d\nretry %d\nfailed %d\n", stats.claimed, stats.sent,
               stats.retried, stats.failed);
        if (stats.stopped)
            fprintf(stderr, "afiliatectl outbox: the relay is unavailable; the pass ended "
                            "early and the remaining messages wait\n");
    }
    afl_db_close(db);
    return rc;
}
