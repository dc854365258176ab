/* Streaming parser of the official SEPOMEX catalog export (CPdescarga.txt),
 * docs/domain.md, SEPOMEX catalog format.
 *
 * Format: ISO-8859-1, CRLF (LF alone is tolerated), '|'-separated, no
 * quoting. Line 1 is the legal notice (skipped, any content); line 2 must be
 * exactly the 15 official field names; every later line is one row of exactly
 * 15 fields. Empty fields are accepted; surrounding blanks of each field are
 * trimmed (the official file has trailing blanks in some d_ciudad values);
 * empty lines are ignored. Rows are handed to a callback with their fields
 * decoded to UTF-8.
 *
 * Pure unit, no APR needed: the parser is one malloc'd object with fixed
 * buffers (a line may hold at most AFL_SEPOMEX_MAX_LINE bytes), so a feed of
 * any size uses bounded memory. Input can come in chunks of any size (e.g. a
 * zip member read with libzip) or as one buffer. Not thread-safe per object. */
#ifndef AFL_SEPOMEX_H
#define AFL_SEPOMEX_H

#include <stddef.h>

#define AFL_SEPOMEX_FIELDS 15
#define AFL_SEPOMEX_MAX_LINE 4096 /* bytes of one input line, CRLF excluded */

/* One data row; every pointer is a NUL-terminated UTF-8 string ("" if
 * empty), valid only during the callback. Field names are the official ones. */
typedef struct {
    const char *d_codigo;         /* código postal del asentamiento */
    const char *d_asenta;         /* nombre del asentamiento */
    const char *d_tipo_asenta;    /* tipo de asentamiento */
    const char *d_mnpio;          /* municipio (header: D_mnpio) */
    const char *d_estado;         /* entidad */
    const char *d_ciudad;         /* ciudad (often empty) */
    const char *d_cp;             /* CP de la administración postal */
    const char *c_estado;         /* clave INEGI de la entidad, 2 digits */
    const char *c_oficina;        /* CP de la oficina que reparte */
    const char *c_cp;             /* always empty in the official file */
    const char *c_tipo_asenta;    /* clave del tipo de asentamiento */
    const char *c_mnpio;          /* clave INEGI del municipio, 3 digits */
    const char *id_asenta_cpcons; /* id of the asentamiento within the municipio */
    const char *d_zona;           /* Urbano / Rural / Semiurbano */
    const char *c_cve_ciudad;     /* clave de la ciudad */
} afl_sepomex_row;

/* Called once per data row; line is the 1-based line number in the file.
 * Returning non-zero stops the parse (afl_sepomex_feed/finish return
 * AFL_SEPOMEX_ABORTED and keep that value in afl_sepomex_abort_code). */
typedef int afl_sepomex_row_fn(void *baton, const afl_sepomex_row *row, unsigned long line);

typedef enum {
    AFL_SEPOMEX_OK = 0,
    AFL_SEPOMEX_NOMEM,
    AFL_SEPOMEX_NO_HEADER,   /* input ended before line 2 */
    AFL_SEPOMEX_BAD_HEADER,  /* line 2 is not the 15 official names */
    AFL_SEPOMEX_FIELD_COUNT, /* a row without exactly 15 fields */
    AFL_SEPOMEX_LINE_TOO_LONG,
    AFL_SEPOMEX_CONTROL_CHAR, /* NUL or another control character in a row */
    AFL_SEPOMEX_ABORTED,      /* the callback returned non-zero */
    AFL_SEPOMEX_STATE         /* feed after an error or after finish */
} afl_sepomex_status;

typedef struct afl_sepomex_parser afl_sepomex_parser;

/* NULL if out of memory. */
afl_sepomex_parser *afl_sepomex_create(afl_sepomex_row_fn *fn, void *baton);
void afl_sepomex_destroy(afl_sepomex_parser *p);

/* Feeds the next len bytes. After the first error every later call returns
 * the same status. */
afl_sepomex_status afl_sepomex_feed(afl_sepomex_parser *p, const char *buf, size_t len);

/* End of input: handles a last line without CRLF and checks that the header
 * was seen. */
afl_sepomex_status afl_sepomex_finish(afl_sepomex_parser *p);

/* Data rows delivered so far. */
unsigned long afl_sepomex_rows(const afl_sepomex_parser *p);

/* Line number of the error (0 if none), callback's non-zero return value. */
unsigned long afl_sepomex_error_line(const afl_sepomex_parser *p);
int afl_sepomex_abort_code(const afl_sepomex_parser *p);

/* Human-readable (Spanish, UTF-8) description of the error, including the
 * line number and, for a bad row, the field count found. Never quotes the
 * row's content. "" if no error. */
const char *afl_sepomex_error(const afl_sepomex_parser *p);

/* Whole buffer in one call: create, feed, finish, destroy. errbuf (may be
 * NULL) receives afl_sepomex_error(); *rows (may be NULL) the row count. */
afl_sepomex_status afl_sepomex_parse(const char *buf, size_t len, afl_sepomex_row_fn *fn,
                                     void *baton, unsigned long *rows, char *errbuf, size_t errlen);

/* The 15 names of line 2, in order, as a '|'-joined string. */
extern const char afl_sepomex_header[];

#endif
