/* Internal to the PDF units (afl_pdf_draw.c, afl_pdf_seal.c,
 * afl_pdf_docs.c): the document being built and the drawing primitives the
 * layouts use. Callers outside the PDF code use afl_pdf.h only. */
#ifndef AFL_PDF_DRAW_H
#define AFL_PDF_DRAW_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

#include <hpdf.h>

#include "afl_pdf.h"
#include "afl_sign.h"

typedef struct {
    HPDF_STATUS error_no;
    HPDF_STATUS detail_no;
} pdf_err;

typedef struct {
    apr_pool_t *p;       /* result pool */
    apr_pool_t *scratch; /* fonts read from disk, converted strings */
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font regular;
    HPDF_Font bold;
    int fake_bold; /* no bold face: stroke the regular one */
    pdf_err err;
    float y;            /* cursor: baseline of the next line, from the bottom */
    float left;         /* margins */
    float right;        /* x of the right margin */
    const char *footer; /* CP1252, drawn at the bottom of every page */
    char *msg;          /* first failure, English */
    apr_status_t rv;
    /* seal (afl_pdf_firma_prepare): written by afl_pdf_doc_save when key is set */
    const afl_sign_key *key;
    const char *tipo, *folio, *cadena, *sello, *serie;
} doc_t;

/* Page geometry: US Letter ("carta"), the usual paper in Mexico. Content
 * stays above CONTENT_BOTTOM, the footer below it. */
#define PAGE_W 612.0f
#define PAGE_H 792.0f
#define MARGIN 56.0f
#define CONTENT_BOTTOM (MARGIN + 24.0f)

/* Colours: IMSS green for headings and the band, dark grey for labels. */
#define GREEN_R 0.0f
#define GREEN_G 0.388f
#define GREEN_B 0.255f

/* The document: the first failure wins (doc_ok turns a libharu error into
 * one, doc_fail records another); cp converts UTF-8 for drawing (CP1252,
 * lossy). doc_begin opens it with one page, doc_save seals and serializes
 * it into d->p, doc_end frees everything but the result. */
int afl_pdf_doc_ok(doc_t *d);
void afl_pdf_doc_fail(doc_t *d, apr_status_t rv, const char *msg);
const char *afl_pdf_cp(doc_t *d, const char *utf8);
apr_status_t afl_pdf_doc_begin(doc_t *d, apr_pool_t *p, const afl_pdf_font *font,
                               const afl_pdf_font *font_bold);
void afl_pdf_doc_end(doc_t *d);
void afl_pdf_doc_save(doc_t *d, const unsigned char **pdf, size_t *len);

/* Drawing: text is UTF-8 unless the parameter says cp1252; nothing is
 * drawn once the document has failed. y values are baselines from the
 * bottom of the page; d->y is the cursor of the flowing layout. */
void afl_pdf_text_at(doc_t *d, float x, float y, int bold, float size, const char *cp1252);
int afl_pdf_wrap_lines(doc_t *d, float x, float y, float width, int bold, float size, float leading,
                       const char *cp1252, int draw);
void afl_pdf_rgb_fill(doc_t *d, float r, float g, float b);
void afl_pdf_grey(doc_t *d, float g);
float afl_pdf_text_width(doc_t *d, int bold, float size, const char *cp1252);
void afl_pdf_set_footer(doc_t *d, const char *text);
void afl_pdf_ensure_space(doc_t *d, float need);
void afl_pdf_header_band(doc_t *d, const char *title, const char *subtitle);
void afl_pdf_section(doc_t *d, const char *title);
void afl_pdf_row(doc_t *d, const char *label, const char *value);
void afl_pdf_paragraph(doc_t *d, float size, const char *text);
void afl_pdf_highlight(doc_t *d, const char *caption, const char *value);
void afl_pdf_set_info(doc_t *d, const char *title, apr_time_t when);
int afl_pdf_draw_qr(doc_t *d, float x, float top, float size, const char *text);
float afl_pdf_qr_corner(doc_t *d, const afl_pdf_firma *f, float top, float *bottom);

/* s is NULL or "". */
int afl_pdf_empty(const char *s);

#endif
