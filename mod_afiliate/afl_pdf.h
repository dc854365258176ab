/* PDF documents of the procedure, built in memory with libhpdf (libharu 2.3).
 *
 * Text: the caller passes UTF-8 (NFC, as afl_form produces); it is converted
 * to CP1252 with iconv and drawn with an embedded TrueType font in CP1252
 * encoding, so accents, Ñ, ¿ and ¡ display and extract correctly. A character
 * outside CP1252 (or invalid UTF-8) becomes '?'; it never fails the document.
 *
 * Size: libharu 2.3 embeds a TrueType font with its full cmap, hmtx, post and
 * name tables (~60 KB per DejaVu face). Before handing a font to libharu the
 * unit therefore reduces it in memory to the CP1252 repertoire (~230 glyphs,
 * format-4 cmap, post format 3, name IDs 0-6) and passes that through a
 * memfd (/proc/self/fd/N); libharu then subsets glyphs as usual. A comprobante
 * with DejaVu Sans and DejaVu Sans Bold is ~20 KB. If the reduction cannot be
 * used (unusual font layout, no memfd or /proc) the original file is loaded
 * as it is: the PDF is still correct, only larger.
 *
 * Dates and times are formatted in the server's local time zone
 * (apr_time_exp_lt), so the server must run with TZ=America/Mexico_City (or
 * the zone of the office) for the printed time to be the student's.
 *
 * Thread safety: one HPDF_Doc per call with its own error context; no
 * mutable static state. */
#ifndef AFL_PDF_H
#define AFL_PDF_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

/* A font read and reduced once (see above), to share between documents and
 * threads: immutable after afl_pdf_font_load(). Loading it in child_init
 * saves reading ~1.4 MB of font files per document. */
typedef struct afl_pdf_font afl_pdf_font;

/* Read the TrueType font at path and prepare it for embedding; *font lives
 * in p. Returns the file's open/read error (APR_ENOENT, ...), APR_EINVAL for
 * an empty path or a file over 32 MB. A font the reduction cannot handle
 * still loads (it will be embedded whole). */
apr_status_t afl_pdf_font_load(apr_pool_t *p, const char *path, const afl_pdf_font **font);

/* The comprobante of domain.md §5.1: one layout for asignación and
 * localización. All strings are UTF-8. */
typedef struct {
    int localizacion;               /* 0 = "Asignación de NSS", 1 = "Localización de NSS" */
    const char *nombres;            /* given names */
    const char *primer_apellido;    /* first surname */
    const char *segundo_apellido;   /* may be NULL or "" */
    const char *curp;               /* 18 characters */
    const char *nss;                /* 11 digits */
    char sexo;                      /* 'H' Hombre, 'M' Mujer, 'X' No binario */
    const char *entidad_nacimiento; /* state name (the caller maps the CURP code) */
    const char *umf;                /* e.g. "UMF No. 10 Cuauhtémoc"; NULL/"" = none */
    const char *folio;              /* document folio */
    apr_time_t issued;              /* date and time of issue */
    const char *font_path;          /* regular TTF, e.g. DejaVuSans.ttf */
    const char *font_bold_path;     /* bold TTF; NULL/"" = use font_path for labels too */
    const afl_pdf_font *font;       /* optional, preloaded: used instead of font_path */
    const afl_pdf_font *font_bold;  /* optional, preloaded: used instead of font_bold_path */
} afl_comprobante;

/* Largest PDF the comprobante is expected to reach with DejaVu Sans;
 * a budget for tests and Content-Length sanity checks, not a hard limit. */
#define AFL_PDF_COMPROBANTE_MAX 30720

/* Build the comprobante in memory. On success *pdf / *len point to memory
 * in p. On failure returns an APR error (APR_EINVAL for a missing required
 * field, APR_ENOENT for an unusable font, APR_EGENERAL for a libharu error,
 * APR_ENOMEM) and writes an English message without personal data to errbuf
 * (if errlen > 0). */
apr_status_t afl_pdf_comprobante(apr_pool_t *p, const afl_comprobante *c, const unsigned char **pdf,
                                 size_t *len, char *errbuf, size_t errlen);

/* Spanish month name in lower case, month 1..12 ("enero" .. "diciembre");
 * NULL outside that range. */
const char *afl_pdf_month_name(int month);

/* "dd de <mes> de aaaa" in server local time, e.g. "26 de noviembre de 2026"
 * (day with two digits, as the IMSS documents print it). UTF-8 (all month
 * names are ASCII). Needs n >= 25 ("01 de septiembre de 2026" + NUL); a
 * smaller buffer gets a truncated string. */
void afl_pdf_format_date(apr_time_t t, char *buf, size_t n);

/* "HH:MM:SS", 24-hour, server local time. Needs n >= 9. */
void afl_pdf_format_time(apr_time_t t, char *buf, size_t n);

/* The name of the sexo code as printed: "Hombre", "Mujer", "No binario";
 * NULL for another code. */
const char *afl_pdf_sexo_name(char sexo);

#endif
