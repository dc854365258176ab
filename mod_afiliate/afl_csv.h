/* afl_csv: one RFC 4180 record reader over text held in memory, shared by
 * the importers of afiliatectl and the schools' report (afl_vigencia).
 *
 * Fields may be quoted ("" is a quote inside one, a quoted field may span
 * lines); records end with CRLF or LF; a UTF-8 BOM at the start is skipped;
 * blank lines are skipped. The reader reports what went wrong and where, and
 * leaves the wording to the caller, whose messages are part of its
 * interface. Fields are returned as they are (no trimming). */
#ifndef AFL_CSV_H
#define AFL_CSV_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    AFL_CSV_OK = 0,
    AFL_CSV_UNCLOSED_QUOTE, /* a quoted field runs to the end of the text */
    AFL_CSV_AFTER_QUOTE,    /* text between a closing quote and the separator */
    AFL_CSV_QUOTE_INSIDE,   /* a quote inside an unquoted field */
    AFL_CSV_NUL,            /* a NUL byte in a field */
    AFL_CSV_TOO_MANY,       /* more fields than max_fields */
    AFL_CSV_TOO_LONG,       /* a record longer than max_record bytes */
} afl_csv_error;

typedef struct {
    const char *p, *end;
    unsigned long line;       /* physical line of p, 1-based */
    unsigned long rec_line;   /* line where the last record started */
    int max_fields;           /* 0: no limit */
    size_t max_record;        /* bytes; 0: no limit */
    afl_csv_error error;      /* after afl_csv_next returned -1 */
    int error_column;         /* 1-based column of the error */
    unsigned long error_line; /* physical line where the error was found */
} afl_csv;

/* Starts reading text[0..len) (need not be NUL-terminated), with no limits. */
void afl_csv_init(afl_csv *c, const char *text, size_t len);

/* Reads the next record into fields (char *, NUL-terminated, allocated in
 * pool; the array is cleared first). Returns 1 for a record, 0 at the end,
 * -1 on an error (error, error_column and error_line set). */
int afl_csv_next(afl_csv *c, apr_pool_t *pool, apr_array_header_t *fields);

/* Strips blanks (space, tab; a trailing CR too) around a field in place and
 * returns its first character. */
char *afl_csv_trim(char *s);

#endif
