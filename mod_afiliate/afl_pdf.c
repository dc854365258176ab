#include "afl_pdf.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include <hpdf.h>

#include "afl_cadena.h"
#include "afl_form.h"
#include "afl_pdfcache.h"
#include "afl_qr.h"
#include "afl_sign.h"

/* ================================================================ dates */

static const char *const month_names[12] = {"enero",      "febrero", "marzo",     "abril",
                                            "mayo",       "junio",   "julio",     "agosto",
                                            "septiembre", "octubre", "noviembre", "diciembre"};

const char *afl_pdf_month_name(int month)
{
    if (month < 1 || month > 12)
        return NULL;
    return month_names[month - 1];
}

void afl_pdf_format_date(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (!buf || n == 0)
        return;
    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS || tm.tm_mon < 0 || tm.tm_mon > 11) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "%02d de %s de %04d", tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900);
}

void afl_pdf_format_time(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (!buf || n == 0)
        return;
    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS) {
        buf[0] = '\0';
        return;
    }
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

/* ======================================================= document context */

typedef struct {
    HPDF_STATUS error_no;
    HPDF_STATUS detail_no;
} pdf_err;

/* libharu error handler. It only records the first error: returning to
 * libharu (instead of longjmp) lets every call unwind normally, so nothing
 * it allocated mid-call leaks, and the drawing code checks doc_ok() at
 * phase boundaries. The context is per document (user_data), never global. */
static void pdf_on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    pdf_err *e = user_data;

    if (e->error_no == 0) {
        e->error_no = error_no;
        e->detail_no = detail_no;
    }
}

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
    /* seal (firma_prepare): written by doc_save when key is set */
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

static int doc_ok(doc_t *d)
{
    if (d->rv == APR_SUCCESS && d->err.error_no != 0) {
        d->rv = APR_EGENERAL;
        d->msg = apr_psprintf(d->p, "libharu error 0x%04X (detail %u)", (unsigned)d->err.error_no,
                              (unsigned)d->err.detail_no);
    }
    return d->rv == APR_SUCCESS;
}

static void doc_fail(doc_t *d, apr_status_t rv, const char *msg)
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
static const char *cp(doc_t *d, const char *utf8)
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

    if (!font || !doc_ok(d)) {
        d->rv = APR_ENOENT;
        d->msg = apr_psprintf(d->p, "cannot use font %s (libharu error 0x%04X)",
                              ttf ? ttf->path : std, (unsigned)d->err.error_no);
        return NULL;
    }
    return font;
}

static void new_page(doc_t *d);

static apr_status_t doc_begin(doc_t *d, apr_pool_t *p, const afl_pdf_font *font,
                              const afl_pdf_font *font_bold)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->rv = APR_SUCCESS;
    if (apr_pool_create(&d->scratch, p) != APR_SUCCESS) {
        d->scratch = NULL;
        doc_fail(d, APR_ENOMEM, "out of memory");
        return d->rv;
    }
    d->pdf = HPDF_New(pdf_on_error, &d->err);
    if (!d->pdf) {
        doc_fail(d, APR_ENOMEM, "HPDF_New failed");
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
    doc_ok(d);
    return d->rv;
}

/* Free everything but the result; safe after any failure. */
static void doc_end(doc_t *d)
{
    if (d->pdf)
        HPDF_Free(d->pdf);
    d->pdf = NULL;
    if (d->scratch)
        apr_pool_destroy(d->scratch);
    d->scratch = NULL;
}

static void draw_footer(doc_t *d);
static void seal_dict(doc_t *d);
static void seal_patch(doc_t *d, unsigned char *buf, size_t len);

/* Serialize into pool memory: SaveToStream, then ReadFromStream until EOF. */
static void doc_save(doc_t *d, const unsigned char **pdf, size_t *len)
{
    HPDF_UINT32 size;
    unsigned char *buf;
    size_t off = 0;

    draw_footer(d);
    seal_dict(d);
    if (!doc_ok(d))
        return;
    if (HPDF_SaveToStream(d->pdf) != HPDF_OK || !doc_ok(d)) {
        doc_fail(d, APR_EGENERAL, "HPDF_SaveToStream failed");
        return;
    }
    size = HPDF_GetStreamSize(d->pdf);
    if (size == 0) {
        doc_fail(d, APR_EGENERAL, "empty PDF stream");
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
            doc_fail(d, APR_EGENERAL, "HPDF_ReadFromStream failed");
            return;
        }
    }
    if (off != size) {
        doc_fail(d, APR_EGENERAL, "short PDF stream");
        return;
    }
    seal_patch(d, buf, size);
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
static void text_at(doc_t *d, float x, float y, int bold, float size, const char *cp1252)
{
    if (!doc_ok(d) || !*cp1252)
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
static int wrap_lines(doc_t *d, float x, float y, float width, int bold, float size, float leading,
                      const char *cp1252, int draw)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    const char *s = cp1252;
    int lines = 0;

    while (*s == ' ')
        s++;
    while (*s && doc_ok(d)) {
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
            text_at(d, x, y - lines * leading, bold, size, line);
        }
        lines++;
        s += fit;
        while (*s == ' ')
            s++;
    }
    return lines;
}

static void rgb_fill(doc_t *d, float r, float g, float b)
{
    HPDF_Page_SetRGBFill(d->page, r, g, b);
}

/* Text for the bottom of every page (UTF-8); set it before the content so
 * pages added by ensure_space() get it too. */
static void set_footer(doc_t *d, const char *text)
{
    d->footer = cp(d, text);
}

/* Small grey text at the bottom of the current page, above a rule. */
static void draw_footer(doc_t *d)
{
    const float y = MARGIN - 6;

    if (!doc_ok(d) || !d->page || !d->footer || !*d->footer)
        return;
    HPDF_Page_SetRGBStroke(d->page, 0.7f, 0.7f, 0.7f);
    HPDF_Page_SetLineWidth(d->page, 0.5f);
    HPDF_Page_MoveTo(d->page, d->left, y + 14);
    HPDF_Page_LineTo(d->page, d->right, y + 14);
    HPDF_Page_Stroke(d->page);
    rgb_fill(d, 0.35f, 0.35f, 0.35f);
    HPDF_Page_SetRGBStroke(d->page, 0.35f, 0.35f, 0.35f);
    wrap_lines(d, d->left, y, d->right - d->left, 0, 8, 10, d->footer, 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
}

/* Finish the current page (footer) and start another. */
static void new_page(doc_t *d)
{
    if (!doc_ok(d))
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
static void ensure_space(doc_t *d, float need)
{
    if (d->y - need < CONTENT_BOTTOM)
        new_page(d);
}

/* Full-width coloured band at the top with a title and a subtitle. */
static void header_band(doc_t *d, const char *title, const char *subtitle)
{
    const float band = 84.0f;

    if (!doc_ok(d))
        return;
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, 0, PAGE_H - band, PAGE_W, band);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    text_at(d, d->left, PAGE_H - 38, 1, 17, cp(d, title));
    wrap_lines(d, d->left, PAGE_H - 62, d->right - d->left, 0, 12, 14, cp(d, subtitle), 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y = PAGE_H - band - 34;
}

/* Section heading in green with a rule under it. */
static void section(doc_t *d, const char *title)
{
    if (!doc_ok(d))
        return;
    ensure_space(d, 24 + 24); /* never a heading alone at the bottom */
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    text_at(d, d->left, d->y, 1, 12, cp(d, title));
    HPDF_Page_SetLineWidth(d->page, 0.8f);
    HPDF_Page_MoveTo(d->page, d->left, d->y - 5);
    HPDF_Page_LineTo(d->page, d->right, d->y - 5);
    HPDF_Page_Stroke(d->page);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= 24;
}

#define LABEL_W 196.0f

/* "Label    value" row; the value wraps inside its column. */
static void row(doc_t *d, const char *label, const char *value)
{
    const float size = 10.0f, leading = 13.0f;
    float vx = d->left + LABEL_W;
    int lines;

    const char *l = cp(d, label), *v = cp(d, value);
    int llines;

    if (!doc_ok(d))
        return;
    llines = wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 0);
    lines = wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 0);
    if (lines < llines)
        lines = llines;
    if (lines < 1)
        lines = 1;
    ensure_space(d, (lines - 1) * leading + 10);
    rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 1);
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
static void paragraph(doc_t *d, float size, const char *text)
{
    const float leading = size * 1.4f;
    int lines;

    const char *t = cp(d, text);

    if (!doc_ok(d))
        return;
    lines = wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 0);
    ensure_space(d, (lines - 1) * leading + size * 0.4f);
    wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 1);
    d->y -= lines * leading + size * 0.6f;
}

/* A highlighted box with a caption and a big value (the NSS). */
static void highlight(doc_t *d, const char *caption, const char *value)
{
    const float h = 58.0f;
    float top;

    if (!doc_ok(d))
        return;
    ensure_space(d, h);
    top = d->y + 14;
    HPDF_Page_SetRGBFill(d->page, 0.93f, 0.96f, 0.94f);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetLineWidth(d->page, 1.0f);
    HPDF_Page_Rectangle(d->page, d->left, top - h, d->right - d->left, h);
    HPDF_Page_FillStroke(d->page);
    rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    text_at(d, d->left + 14, top - 20, 1, 10, cp(d, caption));
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    text_at(d, d->left + 14, top - 46, 1, 22, cp(d, value));
    d->y = top - h - 26;
}

/* Document information; no personal data in it (it is visible in viewers'
 * property dialogs and in search indexes). */
static void set_info(doc_t *d, const char *title, apr_time_t when)
{
    apr_time_exp_t tm;
    HPDF_Date date;

    if (!doc_ok(d))
        return;
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_TITLE, cp(d, title));
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
    doc_ok(d);
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* Width of CP1252 text in the given face and size. */
static float text_width(doc_t *d, int bold, float size, const char *cp1252)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    HPDF_TextWidth tw =
        HPDF_Font_TextWidth(font, (const HPDF_BYTE *)cp1252, (HPDF_UINT)strlen(cp1252));

    return (float)tw.width * size / 1000.0f;
}

static void grey(doc_t *d, float g)
{
    rgb_fill(d, g, g, g);
    HPDF_Page_SetRGBStroke(d->page, g, g, g);
}

/* ========================================================= sello digital */

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Name of the private catalog entry and of its document-seal key. */
#define SEAL_DICT "AfiliateSello"
#define SEAL_SIG "SelloDocumento"

static const char hexdig[] = "0123456789ABCDEF";

/* Whether d->sello is the key's sello of d->cadena. Ed25519 signs
 * deterministically and faster than it verifies: the sello is made again and
 * compared (stricter than a verification: only the signature this key makes
 * passes). RSA verifies much faster than it signs. */
static int sello_is_keys(doc_t *d, const afl_sign_key *key)
{
    const char *mine;

    if (strcmp(afl_sign_algorithm(key), "Ed25519") == 0)
        return afl_sign_sello(d->scratch, key, d->cadena, strlen(d->cadena), &mine) ==
                   APR_SUCCESS &&
               strcmp(mine, d->sello) == 0;
    return afl_sign_verify_sello(key, d->cadena, strlen(d->cadena), d->sello) == AFL_SIGN_OK;
}

/* Check the firma of a document and fill in what the key provides: the
 * sello of the cadena and the serial. Fails the document on an
 * inconsistent firma (a key without a cadena, a key that cannot sign). */
static void firma_prepare(doc_t *d, const afl_pdf_firma *f, const char *tipo, const char *folio)
{
    if (!doc_ok(d) || !f)
        return;
    d->tipo = tipo;
    d->folio = folio;
    d->cadena = empty(f->cadena_original) ? NULL : f->cadena_original;
    d->sello = empty(f->sello) ? NULL : f->sello;
    d->serie = empty(f->no_serie) ? NULL : f->no_serie;
    if (!f->key)
        return;
    if (!d->cadena) {
        doc_fail(d, APR_EINVAL, "a signing key was given without a cadena original");
        return;
    }
    if (!afl_sign_is_private(f->key)) {
        doc_fail(d, APR_EINVAL, "the signing key is not a private key");
        return;
    }
    {
        const char *cf = afl_cadena_campo(d->scratch, d->cadena, "Folio");
        if (!cf || strcmp(cf, folio) != 0) {
            doc_fail(d, APR_EINVAL, "the cadena original is not of this folio");
            return;
        }
    }
    /* a sello or serial given by the caller (e.g. from the documento row)
     * must be this key's: a sealed document never carries a wrong one */
    if (!d->sello) {
        if (afl_sign_sello(d->p, f->key, d->cadena, strlen(d->cadena), &d->sello) != APR_SUCCESS) {
            doc_fail(d, APR_EGENERAL, "cannot sign the cadena original");
            return;
        }
    } else if (!sello_is_keys(d, f->key)) {
        doc_fail(d, APR_EINVAL, "the sello digital given is not the key's signature of the cadena");
        return;
    }
    if (!d->serie)
        d->serie = afl_sign_serial(f->key);
    if (strcmp(d->serie, afl_sign_serial(f->key)) != 0) {
        doc_fail(d, APR_EINVAL, "the No. de serie given is not the key's");
        return;
    }
    d->key = f->key;
}

static HPDF_STATUS add_hex(doc_t *d, HPDF_Dict dict, const char *key, const void *v, size_t n)
{
    HPDF_Binary b = HPDF_Binary_New(d->pdf->mmgr, (HPDF_BYTE *)v, (HPDF_UINT)n);

    if (!b)
        return HPDF_FAILD_TO_ALLOC_MEM;
    return HPDF_Dict_Add(dict, key, b);
}

/* The private catalog dictionary, with a zeroed document seal. */
static void seal_dict(doc_t *d)
{
    HPDF_Dict dict;
    size_t n;
    unsigned char *zeros;

    if (!doc_ok(d) || !d->key)
        return;
    n = afl_sign_size(d->key);
    zeros = apr_pcalloc(d->scratch, n);
    dict = HPDF_Dict_New(d->pdf->mmgr);
    if (!dict || HPDF_Dict_AddNumber(dict, "V", 1) != HPDF_OK ||
        add_hex(d, dict, "Tipo", d->tipo, strlen(d->tipo)) != HPDF_OK ||
        add_hex(d, dict, "Folio", d->folio, strlen(d->folio)) != HPDF_OK ||
        add_hex(d, dict, "CadenaOriginal", d->cadena, strlen(d->cadena)) != HPDF_OK ||
        add_hex(d, dict, "SelloDigital", d->sello, strlen(d->sello)) != HPDF_OK ||
        add_hex(d, dict, "NoSerie", d->serie, strlen(d->serie)) != HPDF_OK ||
        add_hex(d, dict, SEAL_SIG, zeros, n) != HPDF_OK ||
        HPDF_Dict_Add(d->pdf->catalog, SEAL_DICT, dict) != HPDF_OK) {
        doc_ok(d);
        doc_fail(d, APR_EGENERAL, "cannot add the seal dictionary");
    }
}

/* Where the hex digits of the document seal are: the only "/SelloDocumento
 * <" of the file, followed by 2 * siglen hex digits and '>'. 0 ok. */
static int seal_region(const unsigned char *buf, size_t len, size_t siglen, size_t *at)
{
    static const char needle[] = "/" SEAL_SIG " <";
    const size_t nl = sizeof needle - 1;
    const unsigned char *hit, *again;
    size_t pos;

    hit = memmem(buf, len, needle, nl);
    if (!hit)
        return -1;
    pos = (size_t)(hit - buf) + nl;
    again = memmem(buf + pos, len - pos, needle, nl);
    if (again)
        return -1;
    if (siglen == 0 || pos + 2 * siglen >= len || buf[pos + 2 * siglen] != '>')
        return -1;
    for (size_t i = 0; i < 2 * siglen; i++)
        if (hexval(buf[pos + i]) < 0)
            return -1;
    *at = pos;
    return 0;
}

/* Sign the file (seal digits all '0') and write the signature in place. */
static void seal_patch(doc_t *d, unsigned char *buf, size_t len)
{
    size_t at, n;
    const unsigned char *sig;
    size_t siglen;

    if (!d->key || d->rv != APR_SUCCESS)
        return;
    n = afl_sign_size(d->key);
    if (seal_region(buf, len, n, &at) != 0) {
        doc_fail(d, APR_EGENERAL, "seal placeholder not found in the PDF");
        return;
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (buf[at + i] != '0') {
            doc_fail(d, APR_EGENERAL, "seal placeholder is not zeroed");
            return;
        }
    if (afl_sign_raw(d->scratch, d->key, buf, len, &sig, &siglen) != APR_SUCCESS || siglen != n) {
        doc_fail(d, APR_EGENERAL, "cannot sign the document");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        buf[at + 2 * i] = (unsigned char)hexdig[sig[i] >> 4];
        buf[at + 2 * i + 1] = (unsigned char)hexdig[sig[i] & 15];
    }
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
static int draw_qr(doc_t *d, float x, float top, float size, const char *text)
{
    afl_qr qr;
    qr_path q;
    float m;

    if (!doc_ok(d))
        return -1;
    if (afl_qr_encode(d->scratch, text, &qr) != APR_SUCCESS) {
        doc_fail(d, APR_EINVAL, "cannot encode the QR code (URL too long?)");
        return -1;
    }
    m = size / (float)qr.width;
    HPDF_Page_GSave(d->page);
    HPDF_Page_Concat(d->page, m, 0, 0, -m, x, top);
    rgb_fill(d, 0, 0, 0);
    /* libharu formats each operator through a zeroed 512-byte buffer and a
     * float printer: a few hundred rectangles cost more than the rest of the
     * page. The first goes through HPDF_Page_Rectangle (which puts the page in
     * path mode for the fill); the others, small integers, are written to the
     * page's content stream in one piece. At most 4 numbers of 3 digits and
     * 7 separators per module. */
    memset(&q, 0, sizeof q);
    q.buf = apr_palloc(d->scratch, (size_t)qr.width * (size_t)qr.width * 19 + 1);
    if (afl_qr_rects(d->scratch, &qr, qr_rect, &q) != APR_SUCCESS || q.n == 0) {
        doc_fail(d, APR_ENOMEM, "out of memory");
    } else {
        HPDF_Page_Rectangle(d->page, (HPDF_REAL)q.first[0], (HPDF_REAL)q.first[1],
                            (HPDF_REAL)q.first[2], (HPDF_REAL)q.first[3]);
        if (q.len > 0 && doc_ok(d) &&
            HPDF_Stream_Write(((HPDF_PageAttr)d->page->attr)->stream, (HPDF_BYTE *)q.buf,
                              (HPDF_UINT)q.len) != HPDF_OK)
            doc_fail(d, APR_EGENERAL, "cannot write the QR code");
    }
    HPDF_Page_Fill(d->page);
    HPDF_Page_GRestore(d->page);
    return doc_ok(d) ? 0 : -1;
}

/* Size of the QR code at the top right of the comprobante and constancia. */
#define QR_SIZE 78.0f
#define QR_GAP 14.0f

/* The QR code at the right margin with its top at top, "Verifica este
 * documento" under it. Returns the width the content beside it must leave
 * free (0 when there is no QR) and sets *bottom to the lowest y used. */
static float qr_corner(doc_t *d, const afl_pdf_firma *f, float top, float *bottom)
{
    float x = d->right - QR_SIZE;

    *bottom = top;
    if (!doc_ok(d) || !f || empty(f->verify_url))
        return 0;
    if (draw_qr(d, x, top, QR_SIZE, f->verify_url) != 0)
        return 0;
    grey(d, 0.30f);
    text_at(d, x + (QR_SIZE - text_width(d, 1, 6.5f, "Verifica este documento")) / 2,
            top - QR_SIZE - 9, 1, 6.5f, "Verifica este documento");
    grey(d, 0);
    *bottom = top - QR_SIZE - 12;
    return QR_SIZE + QR_GAP;
}

/* The "Sello digital" section, full width: cadena original and sello
 * digital wrapped in a small font, the No. de serie and the verification
 * URL (the QR code itself is drawn elsewhere: qr_corner, the tarjeta's
 * card). Nothing when the firma has neither a cadena nor a URL. */
static void firma_block(doc_t *d, const afl_pdf_firma *f)
{
    const float small = 6.6f, lead = 8.0f, lab = 7.0f, w = d->right - d->left;
    const char *cad, *sel, *tail;
    int ncad = 0, nsel = 0, ntail = 0;
    float h = 0;

    if (!doc_ok(d) || !f || (!d->cadena && empty(f->verify_url)))
        return;
    cad = d->cadena ? cp(d, d->cadena) : NULL;
    sel = d->sello ? cp(d, d->sello) : NULL;
    /* "No. de serie: X. Verifica este documento en: URL" */
    tail = apr_pstrcat(d->scratch, d->serie ? "No. de serie: " : "", d->serie ? d->serie : "",
                       d->serie && !empty(f->verify_url) ? ". " : "",
                       empty(f->verify_url) ? "" : "Verifica este documento en: ",
                       empty(f->verify_url) ? "" : f->verify_url, NULL);
    tail = cp(d, tail);
    if (cad) {
        ncad = wrap_lines(d, d->left, 0, w, 0, small, lead, cad, 0);
        h += lab + 2 + ncad * lead + 3;
    }
    if (sel) {
        nsel = wrap_lines(d, d->left, 0, w, 0, small, lead, sel, 0);
        h += lab + 2 + nsel * lead + 3;
    }
    if (*tail) {
        ntail = wrap_lines(d, d->left, 0, w, 0, small, lead, tail, 0);
        h += ntail * lead;
    }
    ensure_space(d, 24 + h); /* the heading never alone at the bottom of a page */
    section(d, "Sello digital");
    d->y += 6;
    if (cad) {
        grey(d, 0.30f);
        text_at(d, d->left, d->y, 1, lab, cp(d, "Cadena original"));
        grey(d, 0);
        d->y -= lab + 2;
        wrap_lines(d, d->left, d->y, w, 0, small, lead, cad, 1);
        d->y -= ncad * lead + 3;
    }
    if (sel) {
        grey(d, 0.30f);
        text_at(d, d->left, d->y, 1, lab, cp(d, "Sello digital"));
        grey(d, 0);
        d->y -= lab + 2;
        wrap_lines(d, d->left, d->y, w, 0, small, lead, sel, 1);
        d->y -= nsel * lead + 3;
    }
    if (*tail) {
        wrap_lines(d, d->left, d->y, w, 0, small, lead, tail, 1);
        d->y -= ntail * lead;
    }
    d->y -= 6;
}

/* ========================================================== comprobante */

static apr_status_t render_comprobante(apr_pool_t *p, const afl_comprobante *c,
                                       const unsigned char **pdf, size_t *len, char *errbuf,
                                       size_t errlen)
{
    doc_t d;
    const char *tramite, *sexo, *nombre;
    char fecha[32], hora[16];
    float right, qr_bottom;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!c || empty(c->nombres) || empty(c->primer_apellido) || empty(c->curp) || empty(c->nss) ||
        empty(c->folio) || !afl_pdf_sexo_name(c->sexo)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "comprobante: missing or invalid field");
        return APR_EINVAL;
    }
    tramite = c->localizacion ? "Localización de NSS" : "Asignación de NSS";
    sexo = afl_pdf_sexo_name(c->sexo);
    nombre = empty(c->segundo_apellido) ? apr_pstrcat(p, c->nombres, " ", c->primer_apellido, NULL)
                                        : apr_pstrcat(p, c->nombres, " ", c->primer_apellido, " ",
                                                      c->segundo_apellido, NULL);
    afl_pdf_format_date(c->issued, fecha, sizeof fecha);
    afl_pdf_format_time(c->issued, hora, sizeof hora);

    if (doc_begin(&d, p, c->font, c->font_bold) == APR_SUCCESS) {
        firma_prepare(&d, &c->firma, "comprobante", c->folio);
        set_info(&d,
                 c->localizacion ? "Comprobante de Localización de NSS"
                                 : "Comprobante de Asignación de NSS",
                 c->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Documento generado electrónicamente el %s a las %s. "
                                    "Folio: %s.",
                                    fecha, hora, c->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    c->localizacion ? "Comprobante de Localización de Número de Seguridad Social"
                                    : "Comprobante de Asignación de Número de Seguridad Social");
        /* the QR code at the top right; title, text and NSS box beside it */
        right = d.right;
        d.right -= qr_corner(&d, &c->firma, d.y + 12, &qr_bottom);

        rgb_fill(&d, GREEN_R, GREEN_G, GREEN_B);
        HPDF_Page_SetRGBStroke(d.page, GREEN_R, GREEN_G, GREEN_B);
        text_at(&d, d.left, d.y, 1, 16, cp(&d, tramite));
        rgb_fill(&d, 0, 0, 0);
        HPDF_Page_SetRGBStroke(d.page, 0, 0, 0);
        d.y -= 22;
        paragraph(&d, 11,
                  c->localizacion
                      ? "Tu Número de Seguridad Social (NSS) fue localizado en los registros "
                        "del IMSS. Es el mismo que ya tenías: no necesitas tramitar otro."
                      : "Se te asignó un Número de Seguridad Social (NSS).");
        d.y -= 8;
        highlight(&d, "Tu Número de Seguridad Social", c->nss);
        d.right = right;
        if (d.y > qr_bottom - 24)
            d.y = qr_bottom - 24;

        section(&d, "Datos personales");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", c->curp);
        row(&d, "Número de Seguridad Social (NSS)", c->nss);
        row(&d, "Sexo", sexo);
        row(&d, "Lugar de nacimiento",
            empty(c->entidad_nacimiento) ? "No disponible" : c->entidad_nacimiento);
        row(&d, "Unidad de Medicina Familiar", empty(c->umf) ? "Sin asignar" : c->umf);

        d.y -= 4;
        section(&d, "Datos del comprobante");
        row(&d, "Tipo de trámite", tramite);
        row(&d, "Fecha y hora de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, " h", NULL));
        row(&d, "Folio", c->folio);

        d.y -= 4;
        section(&d, "Información importante");
        paragraph(&d, 9.5f,
                  "Este número es permanente y único para toda la vida: es el mismo mientras "
                  "estudias y cuando empieces a trabajar. Consérvalo, lo necesitarás en todos "
                  "tus trámites ante el IMSS.");
        paragraph(&d, 9.5f,
                  empty(c->umf)
                      ? "Para recibir atención médica debes registrarte en la Unidad de Medicina "
                        "Familiar (UMF) que corresponde a tu domicilio. Acude a ella con una "
                        "identificación oficial con fotografía, un comprobante de domicilio "
                        "reciente, tu CURP y este comprobante."
                      : "Para recibir atención médica debes registrarte en tu Unidad de Medicina "
                        "Familiar (UMF), la indicada arriba. Acude a ella con una identificación "
                        "oficial con fotografía, un comprobante de domicilio reciente, tu CURP y "
                        "este comprobante.");
        paragraph(&d, 9.5f,
                  "Como estudiante, el Seguro Facultativo te da atención médica gratuita "
                  "mientras conserves tu condición de estudiante.");
        firma_block(&d, &c->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "comprobante: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* ================================================================ tarjeta */

/* ID-1 card (85.6 x 54 mm) in points. */
#define CARD_W 242.65f
#define CARD_H 153.07f
#define CARD_PAD 9.0f
#define CARD_QR 68.0f

/* The card with its top-left corner at (x, top). */
static void draw_card(doc_t *d, float x, float top, const afl_tarjeta *t, const char *nombre)
{
    const float strip = 26.0f, tw = CARD_W - 2 * CARD_PAD - CARD_QR - 8;
    float tx = x + CARD_PAD, y;
    const char *n = cp(d, nombre), *sub = cp(d, "Número de Seguridad Social");
    float nsize = 7.5f, nlead = 9.0f;
    int nlines;

    if (!doc_ok(d))
        return;
    /* white card, dashed cut line on its edge */
    HPDF_Page_SetRGBFill(d->page, 1, 1, 1);
    HPDF_Page_Rectangle(d->page, x, top - CARD_H, CARD_W, CARD_H);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, x, top - strip, CARD_W, strip);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    text_at(d, tx, top - 17.5f, 1, 12, "IMSS");
    text_at(d, x + CARD_W - CARD_PAD - text_width(d, 0, 7, sub), top - 16.5f, 0, 7, sub);

    y = top - strip - 12;
    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, cp(d, "NÚMERO DE SEGURIDAD SOCIAL (NSS)"));
    grey(d, 0);
    y -= 18;
    text_at(d, tx, y, 1, 17, cp(d, t->nss));

    y -= 13;
    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, "NOMBRE");
    grey(d, 0);
    y -= 9;
    nlines = wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    if (nlines > 2) {
        nsize = 6.2f;
        nlead = 7.4f;
        nlines = wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    }
    wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 1);
    y -= (nlines - 1) * nlead + 12;

    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, "CURP");
    grey(d, 0);
    y -= 9;
    text_at(d, tx, y, 0, 8, cp(d, t->curp));

    /* folio and short sello along the bottom edge */
    grey(d, 0.35f);
    text_at(d, tx, top - CARD_H + 16, 0, 5.5f,
            cp(d, apr_pstrcat(d->scratch, "Folio: ", t->folio, NULL)));
    if (d->sello)
        text_at(d, tx, top - CARD_H + 8, 0, 5.5f,
                cp(d, apr_pstrcat(d->scratch, "Sello digital: ",
                                  apr_pstrndup(d->scratch, d->sello, 28), "…", NULL)));
    grey(d, 0);

    if (!empty(t->firma.verify_url))
        draw_qr(d, x + CARD_W - CARD_PAD - CARD_QR, top - strip - 10, CARD_QR, t->firma.verify_url);

    /* the cut line, drawn last so nothing covers it */
    HPDF_Page_SetRGBStroke(d->page, 0.2f, 0.2f, 0.2f);
    HPDF_Page_SetLineWidth(d->page, 0.8f);
    {
        const HPDF_UINT16 dash[2] = {4, 3};
        HPDF_Page_SetDash(d->page, dash, 2, 0);
    }
    HPDF_Page_Rectangle(d->page, x, top - CARD_H, CARD_W, CARD_H);
    HPDF_Page_Stroke(d->page);
    HPDF_Page_SetDash(d->page, NULL, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
}

static apr_status_t render_tarjeta(apr_pool_t *p, const afl_tarjeta *t, const unsigned char **pdf,
                                   size_t *len, char *errbuf, size_t errlen)
{
    doc_t d;
    const char *nombre;
    char fecha[32], hora[16];
    float top;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!t || empty(t->nombres) || empty(t->primer_apellido) || empty(t->curp) || empty(t->nss) ||
        empty(t->folio)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "tarjeta: missing or invalid field");
        return APR_EINVAL;
    }
    nombre = afl_cadena_nombre(p, t->nombres, t->primer_apellido, t->segundo_apellido);
    afl_pdf_format_date(t->issued, fecha, sizeof fecha);
    afl_pdf_format_time(t->issued, hora, sizeof hora);

    if (doc_begin(&d, p, t->font, t->font_bold) == APR_SUCCESS) {
        firma_prepare(&d, &t->firma, "tarjeta", t->folio);
        set_info(&d, "Tarjeta de Número de Seguridad Social", t->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Documento generado electrónicamente el %s a las %s. "
                                    "Folio: %s.",
                                    fecha, hora, t->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    "Tarjeta de Número de Seguridad Social");
        paragraph(&d, 10.5f,
                  "Esta es tu tarjeta de Número de Seguridad Social (NSS). Imprímela a tamaño "
                  "real (100 %), sin ajustar a la página, recórtala y guárdala con tus "
                  "documentos.");
        d.y -= 4;
        grey(&d, 0.35f);
        text_at(&d, d.left, d.y, 1, 8.5f, cp(&d, "Recorta por la línea punteada"));
        grey(&d, 0);
        top = d.y - 8;
        draw_card(&d, d.left, top, t, nombre);
        d.y = top - CARD_H - 30;

        section(&d, "Datos de la tarjeta");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", t->curp);
        row(&d, "Número de Seguridad Social (NSS)", t->nss);
        row(&d, "Fecha de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, NULL));
        row(&d, "Folio", t->folio);
        d.y -= 4;
        paragraph(&d, 9.5f,
                  "Tu NSS es permanente y único para toda la vida. Con él te registras en tu "
                  "Unidad de Medicina Familiar y haces tus trámites ante el IMSS. El código QR "
                  "lleva a la página donde cualquier persona puede comprobar que esta tarjeta "
                  "fue emitida por el IMSS.");
        firma_block(&d, &t->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "tarjeta: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* ============================================================= constancia */

#define RED_R 0.72f
#define RED_G 0.11f
#define RED_B 0.11f

/* "dd de <mes> de aaaa" of a day number. */
static const char *fecha_dia(doc_t *d, int day)
{
    char buf[32];

    afl_pdf_format_date(afl_vigencia_noon(day), buf, sizeof buf);
    return apr_pstrdup(d->scratch, buf);
}

/* The big "Vigente: SÍ / NO" box (one line, one size, so text extraction
 * keeps it together) with an explanatory paragraph under it. */
static void status_box(doc_t *d, int vigente, const char *explain)
{
    const float big = 24.0f, pad = 12.0f, size = 10.0f, lead = 12.5f;
    const float w = d->right - d->left - 2 * pad;
    float top, h, base, vx;
    const char *label = cp(d, "Vigente: "), *value = cp(d, vigente ? "SÍ" : "NO");
    const char *e = cp(d, explain);
    float r = vigente ? GREEN_R : RED_R, g = vigente ? GREEN_G : RED_G,
          b = vigente ? GREEN_B : RED_B;
    int lines;

    if (!doc_ok(d))
        return;
    lines = wrap_lines(d, d->left + pad, 0, w, 0, size, lead, e, 0);
    h = pad + big * 0.75f + 12 + lines * lead + pad - 3;
    ensure_space(d, h);
    top = d->y + 14;
    if (vigente)
        HPDF_Page_SetRGBFill(d->page, 0.91f, 0.96f, 0.92f);
    else
        HPDF_Page_SetRGBFill(d->page, 0.99f, 0.92f, 0.92f);
    HPDF_Page_SetRGBStroke(d->page, r, g, b);
    HPDF_Page_SetLineWidth(d->page, 1.5f);
    HPDF_Page_Rectangle(d->page, d->left, top - h, d->right - d->left, h);
    HPDF_Page_FillStroke(d->page);
    base = top - pad - big * 0.75f;
    grey(d, 0.2f);
    text_at(d, d->left + pad, base, 1, big, label);
    vx = d->left + pad + text_width(d, 1, big, label);
    rgb_fill(d, r, g, b);
    HPDF_Page_SetRGBStroke(d->page, r, g, b);
    text_at(d, vx, base, 1, big, value);
    grey(d, 0);
    wrap_lines(d, d->left + pad, base - 12 - size * 0.8f, w, 0, size, lead, e, 1);
    d->y = top - h - 24;
}

static apr_status_t render_constancia(apr_pool_t *p, const afl_constancia *c,
                                      const unsigned char **pdf, size_t *len, char *errbuf,
                                      size_t errlen)
{
    doc_t d;
    const char *nombre, *explain, *inicio, *fin;
    char fecha[32], hora[16];
    const afl_vigencia *v;
    float right, qr_bottom;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!c || empty(c->nombres) || empty(c->primer_apellido) || empty(c->curp) || empty(c->nss) ||
        empty(c->folio) || c->vigencia.estado < AFL_VIGENCIA_SIN_COBERTURA ||
        c->vigencia.estado > AFL_VIGENCIA_FUTURA ||
        (c->vigencia.estado != AFL_VIGENCIA_SIN_COBERTURA &&
         c->vigencia.hasta < c->vigencia.desde)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "constancia: missing or invalid field");
        return APR_EINVAL;
    }
    v = &c->vigencia;
    nombre = afl_cadena_nombre(p, c->nombres, c->primer_apellido, c->segundo_apellido);
    afl_pdf_format_date(c->issued, fecha, sizeof fecha);
    afl_pdf_format_time(c->issued, hora, sizeof hora);

    if (doc_begin(&d, p, c->font, c->font_bold) == APR_SUCCESS) {
        int vig = v->estado == AFL_VIGENCIA_VIGENTE;

        firma_prepare(&d, &c->firma, "constancia", c->folio);
        set_info(&d, "Constancia de Vigencia de Derechos", c->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Constancia generada electrónicamente el %s a las %s. "
                                    "Folio: %s. Refleja la vigencia registrada a esa fecha.",
                                    fecha, hora, c->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    "Constancia de Vigencia de Derechos");

        inicio = v->estado == AFL_VIGENCIA_SIN_COBERTURA ? "Sin registro" : fecha_dia(&d, v->desde);
        if (v->estado == AFL_VIGENCIA_SIN_COBERTURA)
            fin = "Sin registro";
        else if (v->hasta == AFL_VIGENCIA_ABIERTA)
            fin = "Sin fecha de término (mientras seas estudiante)";
        else
            fin = fecha_dia(&d, v->hasta);
        switch (v->estado) {
        case AFL_VIGENCIA_VIGENTE:
            explain = v->hasta == AFL_VIGENCIA_ABIERTA
                          ? "Tienes derecho a recibir atención médica en el IMSS mientras "
                            "conserves tu condición de estudiante."
                          : apr_pstrcat(d.scratch,
                                        "Tienes derecho a recibir atención médica en el IMSS "
                                        "hasta el ",
                                        fin, ".", NULL);
            break;
        case AFL_VIGENCIA_VENCIDA:
            explain = apr_pstrcat(d.scratch, "Tu cobertura terminó el ", fin,
                                  ". Para recuperarla, tu escuela debe reportar tu inscripción "
                                  "al IMSS.",
                                  NULL);
            break;
        case AFL_VIGENCIA_FUTURA:
            explain =
                apr_pstrcat(d.scratch, "Tu cobertura inicia el ", inicio,
                            ". Antes de esa fecha no tienes derecho a atención médica.", NULL);
            break;
        default:
            explain = "No hay un periodo de cobertura registrado para tu NSS. Tu escuela debe "
                      "reportar tu inscripción al IMSS.";
            break;
        }
        right = d.right;
        d.right -= qr_corner(&d, &c->firma, d.y + 14, &qr_bottom);
        status_box(&d, vig, explain);
        d.right = right;
        if (d.y > qr_bottom - 20)
            d.y = qr_bottom - 20;

        section(&d, "Datos del asegurado");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", c->curp);
        row(&d, "Número de Seguridad Social (NSS)", c->nss);
        row(&d, "Régimen", "Voluntario — Modalidad 32 Seguro Facultativo");

        section(&d, "Vigencia de derechos");
        row(&d, "Vigente", vig ? "SÍ" : "NO");
        row(&d, "Fecha de inicio de vigencia", inicio);
        row(&d, "Fecha de fin de vigencia", fin);
        if (v->has_proxima)
            row(&d, "Nueva vigencia a partir del", fecha_dia(&d, v->proxima));

        section(&d, "Unidad de Medicina Familiar");
        row(&d, "Unidad de Medicina Familiar", empty(c->umf) ? "Sin asignar" : c->umf);
        if (!empty(c->umf_domicilio))
            row(&d, "Domicilio", c->umf_domicilio);
        if (!empty(c->subdelegacion))
            row(&d, "Subdelegación", c->subdelegacion);

        section(&d, "Datos de la constancia");
        row(&d, "Fecha y hora de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, " h", NULL));
        row(&d, "Folio", c->folio);
        d.y -= 2;
        paragraph(&d, 8.5f,
                  "El Seguro Facultativo cubre la atención médica, quirúrgica, farmacéutica, "
                  "hospitalaria y de maternidad del Seguro de Enfermedades y Maternidad, sin "
                  "beneficiarios, mientras conserves tu condición de estudiante.");
        firma_block(&d, &c->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "constancia: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* =========================================================== verification */

/* A PDF literal string "(...)" at *sp (balanced parentheses, backslash
 * escapes, octal codes) decoded into p; *sp moves past it. NULL if it does
 * not end before end. */
static char *literal_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                            size_t *n)
{
    const unsigned char *s = *sp + 1;
    char *out = apr_palloc(p, (size_t)(end - s) + 1);
    size_t o = 0;
    int depth = 1;

    while (s < end) {
        unsigned char c = *s++;
        if (c == '\\') {
            if (s >= end)
                return NULL;
            c = *s++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '\r': /* line continuation */
                if (s < end && *s == '\n')
                    s++;
                continue;
            case '\n':
                continue;
            default:
                if (c >= '0' && c <= '7') {
                    unsigned v = c - '0';
                    for (int k = 0; k < 2 && s < end && *s >= '0' && *s <= '7'; k++)
                        v = v * 8 + (unsigned)(*s++ - '0');
                    c = (unsigned char)v;
                }
                break; /* '(', ')', '\\' and unknown escapes: the character itself */
            }
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            out[o] = '\0';
            *n = o;
            *sp = s;
            return out;
        }
        out[o++] = (char)c;
    }
    return NULL;
}

/* A PDF hex string "<...>" at *sp decoded into p. NULL if malformed. */
static char *hex_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                        size_t *n)
{
    const unsigned char *h = *sp + 1, *s = h;
    char *val, *v;

    while (s < end && *s != '>')
        s++;
    if (s >= end)
        return NULL;
    val = v = apr_palloc(p, (size_t)(s - h) / 2 + 2);
    for (const unsigned char *q = h; q < s;) {
        int hi, lo;
        while (q < s && is_ws(*q))
            q++;
        if (q >= s)
            break;
        hi = hexval(*q++);
        while (q < s && is_ws(*q))
            q++;
        lo = q < s ? hexval(*q++) : 0; /* odd count: a trailing 0 (PDF rule) */
        if (hi < 0 || lo < 0)
            return NULL;
        *v++ = (char)(hi * 16 + lo);
    }
    *v = '\0';
    *n = (size_t)(v - val);
    *sp = s + 1;
    return val;
}

/* Parse the seal dictionary that starts at s (just after "/AfiliateSello"):
 * "<<", entries "/Name string" (hex, as written here, or literal, as a PDF
 * tool may rewrite them) or "/Name number", ">>". Fills out. 0 ok. */
static int parse_seal(apr_pool_t *p, const unsigned char *s, const unsigned char *end,
                      afl_pdf_sellado *out, int *version)
{
    while (s < end && is_ws(*s))
        s++;
    if (end - s < 2 || s[0] != '<' || s[1] != '<')
        return -1;
    s += 2;
    for (;;) {
        const unsigned char *name;
        size_t nlen, vlen = 0;
        const char **slot = NULL;
        char *val;

        while (s < end && is_ws(*s))
            s++;
        if (end - s >= 2 && s[0] == '>' && s[1] == '>')
            return 0;
        if (s >= end || *s != '/')
            return -1;
        name = ++s;
        while (s < end && !is_ws(*s) && *s != '<' && *s != '(' && *s != '/' && *s != '>')
            s++;
        nlen = (size_t)(s - name);
        while (s < end && is_ws(*s))
            s++;
        if (s >= end)
            return -1;
        if (*s >= '0' && *s <= '9') {
            int n = 0;
            while (s < end && *s >= '0' && *s <= '9' && n < 1000000)
                n = n * 10 + (*s++ - '0');
            if (nlen == 1 && name[0] == 'V')
                *version = n;
            continue;
        }
        if (*s == '<')
            val = hex_string(p, &s, end, &vlen);
        else if (*s == '(')
            val = literal_string(p, &s, end, &vlen);
        else
            return -1;
        if (!val)
            return -1;
        if (memchr(val, '\0', vlen))
            val = NULL; /* binary (the document seal itself) */
#define SLOT(key, field)                                                                           \
    if (nlen == sizeof key - 1 && !memcmp(name, key, nlen))                                        \
        slot = &out->field;
        SLOT("Tipo", tipo)
        SLOT("Folio", folio)
        SLOT("CadenaOriginal", cadena_original)
        SLOT("SelloDigital", sello)
        SLOT("NoSerie", no_serie)
#undef SLOT
        if (slot) {
            if (!val || *slot)
                return -1; /* not text, or a key twice */
            *slot = val;
        }
    }
}

apr_status_t afl_pdf_extract(apr_pool_t *p, const unsigned char *pdf, size_t len,
                             afl_pdf_sellado *out, const char **reason)
{
    static const char needle[] = "/" SEAL_DICT;
    const unsigned char *hit, *after;
    int version = 0;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pdf || len < 8 || memcmp(pdf, "%PDF-", 5) != 0) {
        *reason = "not a PDF file";
        return APR_EINVAL;
    }
    hit = memmem(pdf, len, needle, sizeof needle - 1);
    if (!hit) {
        *reason = "the document carries no sello digital (not issued by mod_afiliate, or "
                  "issued without a signing key)";
        return APR_EINVAL;
    }
    after = hit + sizeof needle - 1;
    if (memmem(after, len - (size_t)(after - pdf), needle, sizeof needle - 1)) {
        *reason = "the document carries more than one seal dictionary";
        return APR_EINVAL;
    }
    if (parse_seal(p, after, pdf + len, out, &version) != 0 || version != 1 || !out->tipo ||
        !out->folio || !out->cadena_original || !out->sello || !out->no_serie) {
        memset(out, 0, sizeof *out);
        *reason = "the seal dictionary is malformed";
        return APR_EINVAL;
    }
    if (strcmp(out->tipo, "comprobante") && strcmp(out->tipo, "tarjeta") &&
        strcmp(out->tipo, "constancia")) {
        memset(out, 0, sizeof *out);
        *reason = "unknown document type in the seal";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

int afl_pdf_verify(apr_pool_t *p, const unsigned char *pdf, size_t len, const afl_sign_key *pub,
                   afl_pdf_sellado *out, const char **reason)
{
    afl_pdf_sellado s;
    size_t at, n;
    unsigned char *copy, sig[AFL_SIGN_MAX_SIG];
    const char *folio;

    if (out)
        memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pub) {
        *reason = "no public key";
        return 1;
    }
    if (afl_pdf_extract(p, pdf, len, &s, reason) != APR_SUCCESS)
        return 1;
    if (strcmp(s.no_serie, afl_sign_serial(pub)) != 0) {
        *reason = apr_psprintf(p,
                               "signed with another key (No. de serie %.40s; the public key "
                               "given is %s)",
                               s.no_serie, afl_sign_serial(pub));
        return 1;
    }
    n = afl_sign_size(pub);
    if (seal_region(pdf, len, n, &at) != 0) {
        *reason = "the document seal is missing or malformed";
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(pdf[at + 2 * i]), lo = hexval(pdf[at + 2 * i + 1]);
        sig[i] = (unsigned char)(hi * 16 + lo);
    }
    copy = apr_pmemdup(p, pdf, len);
    memset(copy + at, '0', 2 * n);
    if (afl_sign_verify_raw(pub, copy, len, sig, n) != AFL_SIGN_OK) {
        *reason = "the document was altered after it was issued (the document seal does not "
                  "match its content)";
        return 1;
    }
    switch (afl_sign_verify_sello(pub, s.cadena_original, strlen(s.cadena_original), s.sello)) {
    case AFL_SIGN_OK:
        break;
    case AFL_SIGN_BAD_ENCODING:
        *reason = "the sello digital is malformed";
        return 1;
    default:
        *reason = "the sello digital does not match the cadena original";
        return 1;
    }
    folio = afl_cadena_campo(p, s.cadena_original, "Folio");
    if (!afl_folio_valid(s.folio) || !folio || strcmp(folio, s.folio) != 0) {
        *reason = "the folio of the cadena original is not the document's";
        return 1;
    }
    if (out)
        *out = s;
    return 0;
}

/* ================================================= rendered-document cache
 *
 * Every input of a document goes into its cache key (afl_pdfcache.h): the
 * same input renders the same bytes, so a re-download is served from the
 * first rendering. A field added to a document's struct must be added to
 * its key below as well. */

static void key_font(afl_pdfcache_kb *kb, const afl_pdf_font *f)
{
    afl_pdfcache_kb_str(kb, f ? f->path : NULL);
}

/* The instant and the local UTC offset it is shown in (dates are local). */
static void key_time(afl_pdfcache_kb *kb, apr_time_t t)
{
    apr_time_exp_t tm;

    afl_pdfcache_kb_int(kb, (long long)t);
    afl_pdfcache_kb_int(kb, apr_time_exp_lt(&tm, t) == APR_SUCCESS ? tm.tm_gmtoff : -1000000);
}

static void key_firma(afl_pdfcache_kb *kb, const afl_pdf_firma *f)
{
    afl_pdfcache_kb_str(kb, f->cadena_original);
    afl_pdfcache_kb_str(kb, f->sello);
    afl_pdfcache_kb_str(kb, f->no_serie);
    afl_pdfcache_kb_str(kb, f->verify_url);
    afl_pdfcache_kb_ptr(kb, f->key);
    afl_pdfcache_kb_str(kb, f->key ? afl_sign_serial(f->key) : NULL);
    afl_pdfcache_kb_int(kb, f->key ? afl_sign_is_private(f->key) : -1);
}

/* Serves the document from the cache, else renders and keeps it. Without a
 * key (digest failure) it simply renders. */
static apr_status_t cached(apr_pool_t *p, afl_pdfcache_kb *kb, const unsigned char **pdf,
                           size_t *len, char *errbuf, size_t errlen,
                           apr_status_t (*render)(apr_pool_t *, const void *,
                                                  const unsigned char **, size_t *, char *, size_t),
                           const void *doc)
{
    afl_pdfcache_key k;
    int keyed = afl_pdfcache_key_make(kb, &k) == 0;
    apr_status_t rv;

    if (keyed && afl_pdfcache_get(&k, p, pdf, len)) {
        if (errlen > 0)
            errbuf[0] = '\0';
        return APR_SUCCESS;
    }
    rv = render(p, doc, pdf, len, errbuf, errlen);
    if (rv == APR_SUCCESS && keyed)
        afl_pdfcache_put(&k, *pdf, *len);
    return rv;
}

static apr_status_t render_comprobante_v(apr_pool_t *p, const void *doc, const unsigned char **pdf,
                                         size_t *len, char *errbuf, size_t errlen)
{
    return render_comprobante(p, doc, pdf, len, errbuf, errlen);
}

static apr_status_t render_tarjeta_v(apr_pool_t *p, const void *doc, const unsigned char **pdf,
                                     size_t *len, char *errbuf, size_t errlen)
{
    return render_tarjeta(p, doc, pdf, len, errbuf, errlen);
}

static apr_status_t render_constancia_v(apr_pool_t *p, const void *doc, const unsigned char **pdf,
                                        size_t *len, char *errbuf, size_t errlen)
{
    return render_constancia(p, doc, pdf, len, errbuf, errlen);
}

apr_status_t afl_pdf_comprobante(apr_pool_t *p, const afl_comprobante *c, const unsigned char **pdf,
                                 size_t *len, char *errbuf, size_t errlen)
{
    afl_pdfcache_kb kb;

    if (!c)
        return render_comprobante(p, c, pdf, len, errbuf, errlen);
    afl_pdfcache_kb_init(&kb, p, "comprobante");
    afl_pdfcache_kb_int(&kb, c->localizacion);
    afl_pdfcache_kb_str(&kb, c->nombres);
    afl_pdfcache_kb_str(&kb, c->primer_apellido);
    afl_pdfcache_kb_str(&kb, c->segundo_apellido);
    afl_pdfcache_kb_str(&kb, c->curp);
    afl_pdfcache_kb_str(&kb, c->nss);
    afl_pdfcache_kb_int(&kb, c->sexo);
    afl_pdfcache_kb_str(&kb, c->entidad_nacimiento);
    afl_pdfcache_kb_str(&kb, c->umf);
    afl_pdfcache_kb_str(&kb, c->folio);
    key_time(&kb, c->issued);
    key_font(&kb, c->font);
    key_font(&kb, c->font_bold);
    key_firma(&kb, &c->firma);
    return cached(p, &kb, pdf, len, errbuf, errlen, render_comprobante_v, c);
}

apr_status_t afl_pdf_tarjeta(apr_pool_t *p, const afl_tarjeta *t, const unsigned char **pdf,
                             size_t *len, char *errbuf, size_t errlen)
{
    afl_pdfcache_kb kb;

    if (!t)
        return render_tarjeta(p, t, pdf, len, errbuf, errlen);
    afl_pdfcache_kb_init(&kb, p, "tarjeta");
    afl_pdfcache_kb_str(&kb, t->nombres);
    afl_pdfcache_kb_str(&kb, t->primer_apellido);
    afl_pdfcache_kb_str(&kb, t->segundo_apellido);
    afl_pdfcache_kb_str(&kb, t->curp);
    afl_pdfcache_kb_str(&kb, t->nss);
    afl_pdfcache_kb_str(&kb, t->folio);
    key_time(&kb, t->issued);
    key_font(&kb, t->font);
    key_font(&kb, t->font_bold);
    key_firma(&kb, &t->firma);
    return cached(p, &kb, pdf, len, errbuf, errlen, render_tarjeta_v, t);
}

apr_status_t afl_pdf_constancia(apr_pool_t *p, const afl_constancia *c, const unsigned char **pdf,
                                size_t *len, char *errbuf, size_t errlen)
{
    afl_pdfcache_kb kb;

    if (!c)
        return render_constancia(p, c, pdf, len, errbuf, errlen);
    afl_pdfcache_kb_init(&kb, p, "constancia");
    afl_pdfcache_kb_str(&kb, c->nombres);
    afl_pdfcache_kb_str(&kb, c->primer_apellido);
    afl_pdfcache_kb_str(&kb, c->segundo_apellido);
    afl_pdfcache_kb_str(&kb, c->curp);
    afl_pdfcache_kb_str(&kb, c->nss);
    afl_pdfcache_kb_int(&kb, c->vigencia.estado);
    afl_pdfcache_kb_int(&kb, c->vigencia.vigente);
    afl_pdfcache_kb_int(&kb, c->vigencia.desde);
    afl_pdfcache_kb_int(&kb, c->vigencia.hasta);
    afl_pdfcache_kb_int(&kb, c->vigencia.has_proxima);
    afl_pdfcache_kb_int(&kb, c->vigencia.proxima);
    afl_pdfcache_kb_str(&kb, c->umf);
    afl_pdfcache_kb_str(&kb, c->umf_domicilio);
    afl_pdfcache_kb_str(&kb, c->subdelegacion);
    afl_pdfcache_kb_str(&kb, c->folio);
    key_time(&kb, c->issued);
    key_font(&kb, c->font);
    key_font(&kb, c->font_bold);
    key_firma(&kb, &c->firma);
    return cached(p, &kb, pdf, len, errbuf, errlen, render_constancia_v, c);
}
