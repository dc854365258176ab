/* Options and helpers shared by the afiliatectl commands (afiliatectl_opts.c).
 * Messages go to stderr as "afiliatectl CMD: ..."; exit status 0 ok,
 * 1 error, 2 usage. */
#ifndef AFILIATECTL_OPTS_H
#define AFILIATECTL_OPTS_H

#include <stddef.h>

#include <apr_file_io.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "afl_db.h"

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* The options of the data commands: which ones a command takes. */
enum {
    OPT_DB = 1 << 0,
    OPT_DRIVER = 1 << 1,
    OPT_SCHEMA = 1 << 2,
    OPT_DATA = 1 << 3,
    OPT_COUNT = 1 << 4,
    OPT_SEED = 1 << 5,
};

typedef struct {
    const char *cmd;
    const char *db, *driver, *schema, *data;
    long count;
    int count_set;
    unsigned long long seed;
    int seed_set;
    const char *pos[2];
    int npos;
} ctl_opts;

/* "--help" or "-h". */
int afiliatectl_is_help(const char *a);

/* "afiliatectl CMD: " and the message, on stderr. */
void afiliatectl_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: the message, then the command's usage, on stderr.
 * Returns 2, the exit status of a usage error. */
int afiliatectl_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A decimal integer in [min, max], nothing else. 0 ok, -1 not. */
int afiliatectl_parse_long(const char *s, long min, long max, long *out);

/* One option of a command, argv[*i] (also in a): 0 taken (*i moved past
 * any value it took), 2 after a usage error (message printed); for
 * afiliatectl_scan_args also -1, not one of the command's. */
typedef int (*ctl_option_fn)(void *baton, int argc, const char *const *argv, int *i, const char *a);

/* The walk of the option parsers over argv (argv[0] the command): --help
 * prints usage on stdout; an argument not starting with '-' (or any after
 * "--") goes to pos[(*npos)++], more than max_pos being a usage error; an
 * option to option(). Returns 0 to run, 1 after --help, 2 after a usage
 * error. */
int afiliatectl_walk_args(int argc, const char *const *argv, const char *usage, const char **pos,
                          int *npos, int max_pos, ctl_option_fn option, void *baton);

/* A string option "NAME VALUE" of a command's table (ended by a NULL name). */
typedef struct {
    const char *name;
    const char **slot;
} ctl_value_opt;

/* The walk of the commands without positional arguments (outbox, stats):
 * --help prints usage on stdout; an option of values takes the next argument
 * as its value ("NAME needs a value" without one); any other argument goes
 * to other (NULL: none), and one it does not take is an "unknown argument".
 * Returns 0 to run, 1 after --help, 2 after a usage error. */
int afiliatectl_scan_args(int argc, const char *const *argv, const char *cmd, const char *usage,
                          const ctl_value_opt *values, ctl_option_fn other, void *baton);

/* The --db and --driver of a command: db given, driver sqlite3 or pgsql.
 * 0 ok, 2 after a usage error. */
int afiliatectl_db_args(const char *cmd, const char *usage, const char *db, const char *driver);

/* Whether argv[*i] is the option name, alone or as "name=value": 1 with
 * *val the value after '=' or the next argument (*i moving to it), or NULL
 * when there is none; 0 when it is another option. */
int afiliatectl_opt_value(int argc, const char *const *argv, int *i, const char *name,
                          const char **val);

/* Whole file into pool memory (afiliatectl_opts.c). */
int afiliatectl_slurp(apr_pool_t *pool, const char *cmd, const char *path, apr_off_t max,
                      char **text, apr_size_t *len);

/* Parses argv (argv[0] is the command) for the options in allowed and
 * min_pos..max_pos positional arguments. Returns 0 to run, 1 after --help
 * (usage printed), 2 on a usage error (message printed). */
int ctl_parse_opts(int argc, const char *const *argv, unsigned allowed, int min_pos, int max_pos,
                   const char *usage, ctl_opts *o);

/* Begins the command's transaction. 0 ok, 1 after a message. */
int ctl_begin_txn(afl_db *db, apr_pool_t *pool, const ctl_opts *o);

/* Ends the command's transaction: commits when rc is 0, else rolls back.
 * Returns rc, or 1 when the commit failed (message printed). */
int ctl_end_txn(afl_db *db, const ctl_opts *o, int rc);

/* Seconds since t0, for the summaries. */
double ctl_seconds_since(apr_time_t t0);

/* Opens the database. must_exist: refuse a missing SQLite file instead of
 * letting SQLite create an empty one. NULL after a message. */
afl_db *ctl_open_db(apr_pool_t *pool, const ctl_opts *o, int must_exist);

/* Prepares the statements ids[0..n) of afl_sql.h that are not prepared on db
 * yet (seed-demo runs several commands on one connection). 0 ok, -1 after a
 * message. */
int ctl_prepare_all(afl_db *db, const ctl_opts *o, const afl_sql_id *ids, size_t n);

/* The integer that the prepared query id returns, or -1. */
long long ctl_count_of(afl_db *db, apr_pool_t *pool, afl_sql_id id, int nargs,
                       const char *const *args);

/* s has exactly n characters, all ASCII digits. */
int ctl_all_digits(const char *s, size_t n);

/* sql/<rel> next to the executable (build/afiliatectl -> ../sql), else
 * under the current directory. NULL if neither exists. */
const char *ctl_find_sql_file(apr_pool_t *pool, const char *rel);

#endif
