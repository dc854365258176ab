/* Drawing for the PDF documents: the document context, fonts, text layout,
 * the QR code, saving to memory; and the date formats printed on them. */
#include "afl_pdf_draw.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "afl_cadena.h"
#include "afl_form.h"
#include "afl_pdf_seal.h"
#include "afl_qr.h"

/* ================================================================ dates */

void afl_pdf_format_date(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (afl_cadena_local(t, &tm, buf, n) == 0)
        snprintf(buf, n, "%02d de %s de %04d", tm.tm_mday, afl_cadena_mes(tm.tm_mon + 1),
                 tm.tm_year + 1900);
}

void afl_pdf_format_time(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (afl_cadena_local(t, &tm, buf, n) == 0)
        snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *afl_pdf_sexo_name(char sexo)
{
    switch (sexo) {
    case 'H':
        return "Hombre";
    case 'M':
        return "Mujer";
    case 'X':
        return "No binario";
    default:
        return NULL;
    }
}

/* libharu error handler. It only records the first error: returning to
 * libharu (instead of longjmp) lets every call unwind normally, so nothing
 * it allocated mid-call leaks, and the drawing code checks afl_pdf_doc_ok() at
 * phase boundaries. The context is per document (user_data), never global. */
static void pdf_on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    pdf_err *e = user_data;

    if (e->error_no == 0) {
        e->error_no = error_no;
        e->detail_no = detail_no;
    }
}

int afl_pdf_doc_ok(doc_t *d)
{
    if (d->rv == APR_SUCCESS && d->err.error_no != 0) {
        d->rv = APR_EGENERAL;
        d->msg = apr_psprintf(d->p, "libharu error 0x%04X (detail %u)", (unsigned)d->err.error_no,
                              (unsigned)d->err.detail_no);
    }
    return d->rv == APR_SUCCESS;
}

void afl_pdf_doc_fail(doc_t *d, apr_status_t rv, const char *msg)
{
    if (d->rv == APR_SUCCESS) {
        d->rv = rv;
        d->msg = apr_pstrdup(d->p, msg);
    }
}

/* UTF-8 -> CP1252 for drawing (afl_text_to_cp1252_lossy): a character outside
 * CP1252 or an invalid sequence becomes '?', a control character a space; the
 * document is always produced, and what could not be represented is visible
 * rather than silently lost. */
const char *afl_pdf_cp(doc_t *d, const char *utf8)
{
    return utf8 ? afl_text_to_cp1252_lossy(d->scratch, utf8) : "";
}

/* ================================================================= fonts
 *
 * Default: the standard Type 1 fonts every PDF reader has (Helvetica,
 * Helvetica-Bold), nothing embedded. WinAnsiEncoding is CP1252, so every
 * Spanish letter and sign is one byte and extracts as itself.
 *
 * A TrueType face (afl_pdf_font_load) is embedded by libharu, which keeps
 * only the glyphs used but copies the font's other tables whole: the file
 * should be reduced beforehand with a maintained subsetter (docs/documents.md
 * gives the pyftsubset command). libharu keeps a font inside one HPDF_Doc
 * (its memory manager and font list), so a TrueType file is opened and
 * parsed again for every document; loading it once at start-up only checks
 * that it is usable, so that a bad file fails the start and not each
 * request. */

struct afl_pdf_font {
    const char *path;
};

#define STD_REGULAR "Helvetica"
#define STD_BOLD "Helvetica-Bold"
#define ENCODING "WinAnsiEncoding"

/* The font name libharu gives the TrueType file at path in pdf, or NULL. */
static const char *load_ttf(HPDF_Doc pdf, const char *path)
{
    const char *name = HPDF_LoadTTFontFromFile(pdf, path, HPDF_TRUE);

    return name && HPDF_GetFont(pdf, name, ENCODING) ? name : NULL;
}

apr_status_t afl_pdf_font_load(apr_pool_t *p, const char *path, const afl_pdf_font **font)
{
    apr_finfo_t fi;
    apr_status_t rv;
    pdf_err err = {0, 0};
    HPDF_Doc pdf;
    afl_pdf_font *f;
    int ok;

    *font = NULL;
    if (!path || !*path)
        return APR_EINVAL;
    rv = apr_stat(&fi, path, APR_FINFO_TYPE, p);
    if (rv != APR_SUCCESS)
        return rv;
    if (fi.filetype != APR_REG)
        return APR_EINVAL;
    pdf = HPDF_New(pdf_on_error, &err);
    if (!pdf)
        return APR_ENOMEM;
    ok = load_ttf(pdf, path) != NULL && err.error_no == 0;
    HPDF_Free(pdf);
    if (!ok)
        return APR_EINVAL;
    f = apr_palloc(p, sizeof *f);
    f->path = apr_pstrdup(p, path);
    *font = f;
    return APR_SUCCESS;
}

void afl_pdf_process_init(void)
{
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
}

const char *afl_pdf_font_path(const afl_pdf_font *font)
{
    return font ? font->path : NULL;
}

/* The document's face: the TrueType font if given, else the standard one. */
static HPDF_Font load_font(doc_t *d, const afl_pdf_font *ttf, const char *std)
{
    const char *name = ttf ? load_ttf(d->pdf, ttf->path) : std;
    HPDF_Font font = name ? HPDF_GetFont(d->pdf, name, ENCODING) : NULL;

    if (!font || !afl_pdf_doc_ok(d)) {
        d->rv = APR_ENOENT;
        d->msg = apr_psprintf(d->p, "cannot use font %s (libharu error 0x%04X)",
                              ttf ? ttf->path : std, (unsigned)d->err.error_no);
        return NULL;
    }
    return font;
}

static void new_page(doc_t *d);

apr_status_t afl_pdf_doc_begin(doc_t *d, apr_pool_t *p, const afl_pdf_font *font,
                               const afl_pdf_font *font_bold)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->rv = APR_SUCCESS;
    if (apr_pool_create(&d->scratch, p) != APR_SUCCESS) {
        d->scratch = NULL;
        afl_pdf_doc_fail(d, APR_ENOMEM, "out of memory");
        return d->rv;
    }
    d->pdf = HPDF_New(pdf_on_error, &d->err);
    if (!d->pdf) {
        afl_pdf_doc_fail(d, APR_ENOMEM, "HPDF_New failed");
        return d->rv;
    }
    HPDF_SetCompressionMode(d->pdf, HPDF_COMP_ALL);
    d->regular = load_font(d, font, STD_REGULAR);
    if (!d->regular)
        return d->rv;
    if (font_bold || !font) {
        d->bold = load_font(d, font_bold, STD_BOLD);
        if (!d->bold)
            return d->rv;
    } else {
        /* a TrueType face without its bold: stroke the regular one */
        d->bold = d->regular;
        d->fake_bold = 1;
    }
    d->left = MARGIN;
    d->right = PAGE_W - MARGIN;
    new_page(d);
    afl_pdf_doc_ok(d);
    return d->rv;
}

/* Free everything but the result; safe after any failure. */
void afl_pdf_doc_end(doc_t *d)
{
    if (d->pdf)
        HPDF_Free(d->pdf);
    d->pdf = NULL;
    if (d->scratch)
        apr_pool_destroy(d->scratch);
    d->scratch = NULL;
}

static void draw_footer(doc_t *d);

/* Serialize into pool memory: SaveToStream, then ReadFromStream until EOF. */
void afl_pdf_doc_save(doc_t *d, const unsigned char **pdf, size_t *len)
{
    HPDF_UINT32 size;
    unsigned char *buf;
    size_t off = 0;

    draw_footer(d);
    afl_pdf_seal_dict(d);
    if (!afl_pdf_doc_ok(d))
        return;
    if (HPDF_SaveToStream(d->pdf) != HPDF_OK || !afl_pdf_doc_ok(d)) {
        afl_pdf_doc_fail(d, APR_EGENERAL, "HPDF_SaveToStream failed");
        return;
    }
    size = HPDF_GetStreamSize(d->pdf);
    if (size == 0) {
        afl_pdf_doc_fail(d, APR_EGENERAL, "empty PDF stream");
        return;
    }
    buf = apr_palloc(d->p, size);
    while (off < size) {
        HPDF_UINT32 n = (HPDF_UINT32)(size - off);
        HPDF_STATUS st = HPDF_ReadFromStream(d->pdf, buf + off, &n);
        off += n;
        if (st == HPDF_STREAM_EOF || n == 0)
            break;
        if (st != HPDF_OK) {
            afl_pdf_doc_fail(d, APR_EGENERAL, "HPDF_ReadFromStream failed");
            return;
        }
    }
    if (off != size) {
        afl_pdf_doc_fail(d, APR_EGENERAL, "short PDF stream");
        return;
    }
    afl_pdf_seal_patch(d, buf, size);
    if (d->rv != APR_SUCCESS)
        return;
    *pdf = buf;
    *len = size;
}

/* ========================================================= drawing helpers
 * All take UTF-8 and are no-ops once the document has failed. Reusable by
 * the tarjeta and the constancia. */

static void set_font(doc_t *d, int bold, float size)
{
    HPDF_Page_SetFontAndSize(d->page, bold ? d->bold : d->regular, size);
    if (bold && d->fake_bold) {
        HPDF_Page_SetTextRenderingMode(d->page, HPDF_FILL_THEN_STROKE);
        HPDF_Page_SetLineWidth(d->page, size / 30.0f);
    } else {
        HPDF_Page_SetTextRenderingMode(d->page, HPDF_FILL);
    }
}

/* One line of text at (x, y), already CP1252. */
void afl_pdf_text_at(doc_t *d, float x, float y, int bold, float size, const char *cp1252)
{
    if (!afl_pdf_doc_ok(d) || !*cp1252)
        return;
    HPDF_Page_BeginText(d->page);
    set_font(d, bold, size);
    HPDF_Page_TextOut(d->page, x, y, cp1252);
    HPDF_Page_EndText(d->page);
}

/* Split CP1252 text into lines of at most width points, breaking at spaces
 * (a word longer than a line is broken where it must). Draws each line at x
 * starting at baseline y and returns the number of lines. When draw is 0 it
 * only counts (for layout before drawing). */
int afl_pdf_wrap_lines(doc_t *d, float x, float y, float width, int bold, float size, float leading,
                       const char *cp1252, int draw)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    const char *s = cp1252;
    int lines = 0;

    while (*s == ' ')
        s++;
    while (*s && afl_pdf_doc_ok(d)) {
        HPDF_UINT n = (HPDF_UINT)strlen(s);
        HPDF_UINT fit = HPDF_Font_MeasureText(font, (const HPDF_BYTE *)s, n, width, size, 0, 0,
                                              HPDF_TRUE, NULL);
        HPDF_UINT take;

        if (fit == 0) /* one word wider than the line: cut it */
            fit = HPDF_Font_MeasureText(font, (const HPDF_BYTE *)s, n, width, size, 0, 0,
                                        HPDF_FALSE, NULL);
        if (fit == 0)
            fit = 1;
        take = fit;
        while (take > 0 && s[take - 1] == ' ')
            take--;
        if (draw && take > 0) {
            char *line = apr_pstrndup(d->scratch, s, take);
            afl_pdf_text_at(d, x, y - lines * leading, bold, size, line);
        }
        lines++;
        s += fit;
        while (*s == ' ')
            s++;
    }
    return lines;
}

void afl_pdf_rgb_fill(doc_t *d, float r, float g, float b)
{
    HPDF_Page_SetRGBFill(d->page, r, g, b);
}

/* Text for the bottom of every page (UTF-8); set it before the content so
 * pages added by afl_pdf_ensure_space() get it too. */
void afl_pdf_set_footer(doc_t *d, const char *text)
{
    d->footer = afl_pdf_cp(d, text);
}

/* Small grey text at the bottom of the current page, above a rule. */
static void draw_footer(doc_t *d)
{
    const float y = MARGIN - 6;

    if (!afl_pdf_doc_ok(d) || !d->page || !d->footer || !*d->footer)
        return;
    HPDF_Page_SetRGBStroke(d->page, 0.7f, 0.7f, 0.7f);
    HPDF_Page_SetLineWidth(d->page, 0.5f);
    HPDF_Page_MoveTo(d->page, d->left, y + 14);
    HPDF_Page_LineTo(d->page, d->right, y + 14);
    HPDF_Page_Stroke(d->page);
    afl_pdf_rgb_fill(d, 0.35f, 0.35f, 0.35f);
    HPDF_Page_SetRGBStroke(d->page, 0.35f, 0.35f, 0.35f);
    afl_pdf_wrap_lines(d, d->left, y, d->right - d->left, 0, 8, 10, d->footer, 1);
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
}

/* Finish the current page (footer) and start another. */
static void new_page(doc_t *d)
{
    if (!afl_pdf_doc_ok(d))
        return;
    draw_footer(d);
    d->page = HPDF_AddPage(d->pdf);
    HPDF_Page_SetWidth(d->page, PAGE_W);
    HPDF_Page_SetHeight(d->page, PAGE_H);
    d->y = PAGE_H - MARGIN;
}

/* Start a new page unless `need` points fit below the cursor: long values
 * (names, the constancia's lists) flow onto another page instead of running
 * into the footer. */
void afl_pdf_ensure_space(doc_t *d, float need)
{
    if (d->y - need < CONTENT_BOTTOM)
        new_page(d);
}

/* Full-width coloured band at the top with a title and a subtitle. */
void afl_pdf_header_band(doc_t *d, const char *title, const char *subtitle)
{
    const float band = 84.0f;

    if (!afl_pdf_doc_ok(d))
        return;
    afl_pdf_rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, 0, PAGE_H - band, PAGE_W, band);
    HPDF_Page_Fill(d->page);
    afl_pdf_rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    afl_pdf_text_at(d, d->left, PAGE_H - 38, 1, 17, afl_pdf_cp(d, title));
    afl_pdf_wrap_lines(d, d->left, PAGE_H - 62, d->right - d->left, 0, 12, 14,
                       afl_pdf_cp(d, subtitle), 1);
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y = PAGE_H - band - 34;
}

/* Section heading in green with a rule under it. */
void afl_pdf_section(doc_t *d, const char *title)
{
    if (!afl_pdf_doc_ok(d))
        return;
    afl_pdf_ensure_space(d, 24 + 24); /* never a heading alone at the bottom */
    afl_pdf_rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    afl_pdf_text_at(d, d->left, d->y, 1, 12, afl_pdf_cp(d, title));
    HPDF_Page_SetLineWidth(d->page, 0.8f);
    HPDF_Page_MoveTo(d->page, d->left, d->y - 5);
    HPDF_Page_LineTo(d->page, d->right, d->y - 5);
    HPDF_Page_Stroke(d->page);
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= 24;
}

#define LABEL_W 196.0f

/* "Label    value" row; the value wraps inside its column. */
void afl_pdf_row(doc_t *d, const char *label, const char *value)
{
    const float size = 10.0f, leading = 13.0f;
    float vx = d->left + LABEL_W;
    int lines;

    const char *l = afl_pdf_cp(d, label), *v = afl_pdf_cp(d, value);
    int llines;

    if (!afl_pdf_doc_ok(d))
        return;
    llines = afl_pdf_wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 0);
    lines = afl_pdf_wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 0);
    if (lines < llines)
        lines = llines;
    if (lines < 1)
        lines = 1;
    afl_pdf_ensure_space(d, (lines - 1) * leading + 10);
    afl_pdf_rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    afl_pdf_wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 1);
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    afl_pdf_wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 1);
    /* hairline under the row */
    HPDF_Page_SetRGBStroke(d->page, 0.85f, 0.85f, 0.85f);
    HPDF_Page_SetLineWidth(d->page, 0.5f);
    HPDF_Page_MoveTo(d->page, d->left, d->y - (lines - 1) * leading - 5);
    HPDF_Page_LineTo(d->page, d->right, d->y - (lines - 1) * leading - 5);
    HPDF_Page_Stroke(d->page);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= lines * leading + 6;
}

/* Wrapped paragraph at the cursor. */
void afl_pdf_paragraph(doc_t *d, float size, const char *text)
{
    const float leading = size * 1.4f;
    int lines;

    const char *t = afl_pdf_cp(d, text);

    if (!afl_pdf_doc_ok(d))
        return;
    lines = afl_pdf_wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 0);
    afl_pdf_ensure_space(d, (lines - 1) * leading + size * 0.4f);
    afl_pdf_wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 1);
    d->y -= lines * leading + size * 0.6f;
}

/* A highlighted box with a caption and a big value (the NSS). */
void afl_pdf_highlight(doc_t *d, const char *caption, const char *value)
{
    const float h = 58.0f;
    float top;

    if (!afl_pdf_doc_ok(d))
        return;
    afl_pdf_ensure_space(d, h);
    top = d->y + 14;
    HPDF_Page_SetRGBFill(d->page, 0.93f, 0.96f, 0.94f);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetLineWidth(d->page, 1.0f);
    HPDF_Page_Rectangle(d->page, d->left, top - h, d->right - d->left, h);
    HPDF_Page_FillStroke(d->page);
    afl_pdf_rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    afl_pdf_text_at(d, d->left + 14, top - 20, 1, 10, afl_pdf_cp(d, caption));
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    afl_pdf_text_at(d, d->left + 14, top - 46, 1, 22, afl_pdf_cp(d, value));
    d->y = top - h - 26;
}

/* Document information; no personal data in it (it is visible in viewers'
 * property dialogs and in search indexes). */
void afl_pdf_set_info(doc_t *d, const char *title, apr_time_t when)
{
    apr_time_exp_t tm;
    HPDF_Date date;

    if (!afl_pdf_doc_ok(d))
        return;
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_TITLE, afl_pdf_cp(d, title));
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_AUTHOR, "Instituto Mexicano del Seguro Social");
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_CREATOR, "mod_afiliate");
    if (apr_time_exp_lt(&tm, when) == APR_SUCCESS) {
        long off = tm.tm_gmtoff < 0 ? -(long)tm.tm_gmtoff : (long)tm.tm_gmtoff;
        date.year = tm.tm_year + 1900;
        date.month = tm.tm_mon + 1;
        date.day = tm.tm_mday;
        date.hour = tm.tm_hour;
        date.minutes = tm.tm_min;
        date.seconds = tm.tm_sec;
        date.ind = tm.tm_gmtoff == 0 ? 'Z' : tm.tm_gmtoff < 0 ? '-' : '+';
        date.off_hour = (HPDF_INT)(off / 3600);
        date.off_minutes = (HPDF_INT)((off % 3600) / 60);
        HPDF_SetInfoDateAttr(d->pdf, HPDF_INFO_CREATION_DATE, date);
    }
    afl_pdf_doc_ok(d);
}

int afl_pdf_empty(const char *s)
{
    return !s || !*s;
}

/* Width of CP1252 text in the given face and size. */
float afl_pdf_text_width(doc_t *d, int bold, float size, const char *cp1252)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    HPDF_TextWidth tw =
        HPDF_Font_TextWidth(font, (const HPDF_BYTE *)cp1252, (HPDF_UINT)strlen(cp1252));

    return (float)tw.width * size / 1000.0f;
}

void afl_pdf_grey(doc_t *d, float g)
{
    afl_pdf_rgb_fill(d, g, g, g);
    HPDF_Page_SetRGBStroke(d->page, g, g, g);
}

/* ------------------------------------------------------------- QR code */

/* The QR path as content-stream text: "col row w h re" per rectangle. */
typedef struct {
    char *buf;
    size_t len;
    int first[4]; /* the first rectangle, drawn through libharu's API */
    int n;
} qr_path;

static char *put_int(char *o, int v)
{
    char tmp[12];
    int k = 0;

    do
        tmp[k++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (k > 0)
        *o++ = tmp[--k];
    return o;
}

static void qr_rect(void *baton, int row, int col, int w, int h)
{
    qr_path *q = baton;
    char *o = q->buf + q->len;

    if (q->n++ == 0) {
        q->first[0] = col;
        q->first[1] = row;
        q->first[2] = w;
        q->first[3] = h;
        return;
    }
    o = put_int(o, col);
    *o++ = ' ';
    o = put_int(o, row);
    *o++ = ' ';
    o = put_int(o, w);
    *o++ = ' ';
    o = put_int(o, h);
    memcpy(o, " re\n", 4);
    q->len = (size_t)(o + 4 - q->buf);
}

/* The QR code of text as a size x size square whose top-left corner is at
 * (x, top); modules are unit squares in a scaled, y-flipped space, so the
 * content stream holds small integers, and all rectangles are one path
 * filled once. Returns 0, or -1 (document failed) when the text cannot be
 * encoded. */
int afl_pdf_draw_qr(doc_t *d, float x, float top, float size, const char *text)
{
    afl_qr qr;
    qr_path q;
    float m;

    if (!afl_pdf_doc_ok(d))
        return -1;
    if (afl_qr_encode(d->scratch, text, &qr) != APR_SUCCESS) {
        afl_pdf_doc_fail(d, APR_EINVAL, "cannot encode the QR code (URL too long?)");
        return -1;
    }
    m = size / (float)qr.width;
    HPDF_Page_GSave(d->page);
    HPDF_Page_Concat(d->page, m, 0, 0, -m, x, top);
    afl_pdf_rgb_fill(d, 0, 0, 0);
    /* libharu formats each operator through a zeroed 512-byte buffer and a
     * float printer: a few hundred rectangles cost more than the rest of the
     * page. The first goes through HPDF_Page_Rectangle (which puts the page in
     * path mode for the fill); the others, small integers, are written to the
     * page's content stream in one piece. At most 4 numbers of 3 digits and
     * 7 separators per module. */
    memset(&q, 0, sizeof q);
    q.buf = apr_palloc(d->scratch, (size_t)qr.width * (size_t)qr.width * 19 + 1);
    if (afl_qr_rects(d->scratch, &qr, qr_rect, &q) != APR_SUCCESS || q.n == 0) {
        afl_pdf_doc_fail(d, APR_ENOMEM, "out of memory");
    } else {
        HPDF_Page_Rectangle(d->page, (HPDF_REAL)q.first[0], (HPDF_REAL)q.first[1],
                            (HPDF_REAL)q.first[2], (HPDF_REAL)q.first[3]);
        if (q.len > 0 && afl_pdf_doc_ok(d) &&
            HPDF_Stream_Write(((HPDF_PageAttr)d->page->attr)->stream, (HPDF_BYTE *)q.buf,
                              (HPDF_UINT)q.len) != HPDF_OK)
            afl_pdf_doc_fail(d, APR_EGENERAL, "cannot write the QR code");
    }
    HPDF_Page_Fill(d->page);
    HPDF_Page_GRestore(d->page);
    return afl_pdf_doc_ok(d) ? 0 : -1;
}

/* Size of the QR code at the top right of the comprobante and constancia. */
#define QR_SIZE 78.0f
#define QR_GAP 14.0f

/* The QR code at the right margin with its top at top, "Verifica este
 * documento" under it. Returns the width the content beside it must leave
 * free (0 when there is no QR) and sets *bottom to the lowest y used. */
float afl_pdf_qr_corner(doc_t *d, const afl_pdf_firma *f, float top, float *bottom)
{
    float x = d->right - QR_SIZE;

    *bottom = top;
    if (!afl_pdf_doc_ok(d) || !f || afl_pdf_empty(f->verify_url))
        return 0;
    if (afl_pdf_draw_qr(d, x, top, QR_SIZE, f->verify_url) != 0)
        return 0;
    afl_pdf_grey(d, 0.30f);
    afl_pdf_text_at(d,
                    x + (QR_SIZE - afl_pdf_text_width(d, 1, 6.5f, "Verifica este documento")) / 2,
                    top - QR_SIZE - 9, 1, 6.5f, "Verifica este documento");
    afl_pdf_grey(d, 0);
    *bottom = top - QR_SIZE - 12;
    return QR_SIZE + QR_GAP;
}
