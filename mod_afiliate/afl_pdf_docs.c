/* The layouts of the comprobante, the tarjeta and the constancia, and the
 * cache of rendered documents (afl_pdfcache.h). */
#include "afl_pdf.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "afl_cadena.h"
#include "afl_pdf_draw.h"
#include "afl_pdf_seal.h"
#include "afl_pdfcache.h"

/* Sizes in the "Sello digital" section: text, its leading, labels. */
#define FIRMA_SMALL 6.6f
#define FIRMA_LEAD 8.0f
#define FIRMA_LAB 7.0f

/* One part of the "Sello digital" section at d->y, lines long as measured:
 * its label (NULL: none) above the wrapped cp1252 text. */
static void firma_part(doc_t *d, const char *label, const char *cp1252, int lines)
{
    if (label) {
        afl_pdf_grey(d, 0.30f);
        afl_pdf_text_at(d, d->left, d->y, 1, FIRMA_LAB, afl_pdf_cp(d, label));
        afl_pdf_grey(d, 0);
        d->y -= FIRMA_LAB + 2;
    }
    afl_pdf_wrap_lines(d, d->left, d->y, d->right - d->left, 0, FIRMA_SMALL, FIRMA_LEAD, cp1252, 1);
    d->y -= lines * FIRMA_LEAD + (label ? 3 : 0);
}

/* The "Sello digital" section, full width: cadena original and sello
 * digital wrapped in a small font, the No. de serie and the verification
 * URL (the QR code itself is drawn elsewhere: afl_pdf_qr_corner, the tarjeta's
 * card). Nothing when the firma has neither a cadena nor a URL. */
static void firma_block(doc_t *d, const afl_pdf_firma *f)
{
    const float small = FIRMA_SMALL, lead = FIRMA_LEAD, lab = FIRMA_LAB, w = d->right - d->left;
    const char *cad, *sel, *tail;
    int ncad = 0, nsel = 0, ntail = 0;
    float h = 0;

    if (!afl_pdf_doc_ok(d) || !f || (!d->cadena && afl_pdf_empty(f->verify_url)))
        return;
    cad = d->cadena ? afl_pdf_cp(d, d->cadena) : NULL;
    sel = d->sello ? afl_pdf_cp(d, d->sello) : NULL;
    /* "No. de serie: X. Verifica este documento en: URL" */
    tail = apr_pstrcat(d->scratch, d->serie ? "No. de serie: " : "", d->serie ? d->serie : "",
                       d->serie && !afl_pdf_empty(f->verify_url) ? ". " : "",
                       afl_pdf_empty(f->verify_url) ? "" : "Verifica este documento en: ",
                       afl_pdf_empty(f->verify_url) ? "" : f->verify_url, NULL);
    tail = afl_pdf_cp(d, tail);
    if (cad) {
        ncad = afl_pdf_wrap_lines(d, d->left, 0, w, 0, small, lead, cad, 0);
        h += lab + 2 + ncad * lead + 3;
    }
    if (sel) {
        nsel = afl_pdf_wrap_lines(d, d->left, 0, w, 0, small, lead, sel, 0);
        h += lab + 2 + nsel * lead + 3;
    }
    if (*tail) {
        ntail = afl_pdf_wrap_lines(d, d->left, 0, w, 0, small, lead, tail, 0);
        h += ntail * lead;
    }
    afl_pdf_ensure_space(d, 24 + h); /* the heading never alone at the bottom of a page */
    afl_pdf_section(d, "Sello digital");
    d->y += 6;
    if (cad)
        firma_part(d, "Cadena original", cad, ncad);
    if (sel)
        firma_part(d, "Sello digital", sel, nsel);
    if (*tail)
        firma_part(d, NULL, tail, ntail);
    d->y -= 6;
}

/* The start of every document: no file yet, and the shared required fields
 * (all of who but segundo_apellido, the folio) checked along with valid, the
 * document's own check. APR_EINVAL with "what: missing or invalid field" in
 * errbuf (if errlen > 0) when any fails; who and how may then be NULL. */
static apr_status_t doc_check(const char *what, const afl_pdf_persona *who,
                              const afl_pdf_emision *how, int valid, const unsigned char **pdf,
                              size_t *len, char *errbuf, size_t errlen)
{
    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (valid && who && how && !afl_pdf_empty(who->nombres) &&
        !afl_pdf_empty(who->primer_apellido) && !afl_pdf_empty(who->curp) &&
        !afl_pdf_empty(who->nss) && !afl_pdf_empty(how->folio))
        return APR_SUCCESS;
    if (errlen > 0)
        snprintf(errbuf, errlen, "%s: missing or invalid field", what);
    return APR_EINVAL;
}

/* What every layout prints of the shared parts. */
typedef struct {
    const char *nombre; /* full name */
    char fecha[32];     /* date of issue, afl_pdf_format_date */
    char hora[16];      /* time of issue, afl_pdf_format_time */
} doc_names;

/* Begins a checked document (doc_check): fills n, then d with the fonts and
 * the firma's seal for what. Returns afl_pdf_doc_begin's status: draw only
 * on APR_SUCCESS, end with doc_finish either way. */
static apr_status_t doc_begin(doc_t *d, apr_pool_t *p, const char *what, const afl_pdf_persona *who,
                              const afl_pdf_emision *how, doc_names *n)
{
    n->nombre = afl_cadena_nombre(p, who->nombres, who->primer_apellido, who->segundo_apellido);
    afl_pdf_format_date(how->issued, n->fecha, sizeof n->fecha);
    afl_pdf_format_time(how->issued, n->hora, sizeof n->hora);
    if (afl_pdf_doc_begin(d, p, how->font, how->font_bold) != APR_SUCCESS)
        return d->rv;
    afl_pdf_firma_prepare(d, &how->firma, what, how->folio);
    return APR_SUCCESS;
}

/* What every page starts with: the document information's title, the
 * footer "<lead> el <fecha> a las <hora>. Folio: <folio>.<tail>" and the
 * header band with subtitle band. */
static void doc_head(doc_t *d, const afl_pdf_emision *how, const doc_names *n, const char *title,
                     const char *lead, const char *tail, const char *band)
{
    afl_pdf_set_info(d, title, how->issued);
    afl_pdf_set_footer(d, apr_psprintf(d->scratch, "%s el %s a las %s. Folio: %s.%s", lead,
                                       n->fecha, n->hora, how->folio, tail));
    afl_pdf_header_band(d, "Instituto Mexicano del Seguro Social", band);
}

/* A section titled title with the rows every document gives its person:
 * name, CURP and NSS. */
static void person_rows(doc_t *d, const char *title, const doc_names *n, const afl_pdf_persona *who)
{
    afl_pdf_section(d, title);
    afl_pdf_row(d, "Nombre", n->nombre);
    afl_pdf_row(d, "CURP", who->curp);
    afl_pdf_row(d, "Número de Seguridad Social (NSS)", who->nss);
}

/* The end of every document: the firma block and the file (both nothing once the document
 * has failed), or no file and "what: why" in errbuf (if errlen > 0). The document is
 * released either way. */
static apr_status_t doc_finish(doc_t *d, const afl_pdf_emision *how, const char *what,
                               const unsigned char **pdf, size_t *len, char *errbuf, size_t errlen)
{
    apr_status_t rv;

    firma_block(d, &how->firma);
    afl_pdf_doc_save(d, pdf, len);
    rv = d->rv;

    if (rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "%s: %s", what, d->msg ? d->msg : "failed");
    }
    afl_pdf_doc_end(d);
    return rv;
}

/* ========================================================== comprobante */

static int comprobante_valid(const void *doc)
{
    return afl_pdf_sexo_name(((const afl_comprobante *)doc)->sexo) != NULL;
}

static void draw_comprobante(doc_t *d, const void *doc, const afl_pdf_persona *who,
                             const afl_pdf_emision *how, const doc_names *n)
{
    const afl_comprobante *c = doc;
    const char *tramite = c->localizacion ? "Localización de NSS" : "Asignación de NSS";
    const char *sexo = afl_pdf_sexo_name(c->sexo);
    float right, qr_bottom;

    doc_head(d, how, n,
             c->localizacion ? "Comprobante de Localización de NSS"
                             : "Comprobante de Asignación de NSS",
             "Documento generado electrónicamente", "",
             c->localizacion ? "Comprobante de Localización de Número de Seguridad Social"
                             : "Comprobante de Asignación de Número de Seguridad Social");
    /* the QR code at the top right; title, text and NSS box beside it */
    right = d->right;
    d->right -= afl_pdf_qr_corner(d, &how->firma, d->y + 12, &qr_bottom);

    afl_pdf_rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    afl_pdf_text_at(d, d->left, d->y, 1, 16, afl_pdf_cp(d, tramite));
    afl_pdf_rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= 22;
    afl_pdf_paragraph(d, 11,
                      c->localizacion
                          ? "Tu Número de Seguridad Social (NSS) fue localizado en los registros "
                            "del IMSS. Es el mismo que ya tenías: no necesitas tramitar otro."
                          : "Se te asignó un Número de Seguridad Social (NSS).");
    d->y -= 8;
    afl_pdf_highlight(d, "Tu Número de Seguridad Social", who->nss);
    d->right = right;
    if (d->y > qr_bottom - 24)
        d->y = qr_bottom - 24;

    person_rows(d, "Datos personales", n, who);
    afl_pdf_row(d, "Sexo", sexo);
    afl_pdf_row(d, "Lugar de nacimiento",
                afl_pdf_empty(c->entidad_nacimiento) ? "No disponible" : c->entidad_nacimiento);
    afl_pdf_row(d, "Unidad de Medicina Familiar", afl_pdf_empty(c->umf) ? "Sin asignar" : c->umf);

    d->y -= 4;
    afl_pdf_section(d, "Datos del comprobante");
    afl_pdf_row(d, "Tipo de trámite", tramite);
    afl_pdf_row(d, "Fecha y hora de emisión",
                apr_pstrcat(d->scratch, n->fecha, ", ", n->hora, " h", NULL));
    afl_pdf_row(d, "Folio", how->folio);

    d->y -= 4;
    afl_pdf_section(d, "Información importante");
    afl_pdf_paragraph(d, 9.5f,
                      "Este número es permanente y único para toda la vida: es el mismo mientras "
                      "estudias y cuando empieces a trabajar. Consérvalo, lo necesitarás en todos "
                      "tus trámites ante el IMSS.");
    afl_pdf_paragraph(
        d, 9.5f,
        afl_pdf_empty(c->umf)
            ? "Para recibir atención médica debes registrarte en la Unidad de Medicina "
              "Familiar (UMF) que corresponde a tu domicilio. Acude a ella con una "
              "identificación oficial con fotografía, un comprobante de domicilio "
              "reciente, tu CURP y este comprobante."
            : "Para recibir atención médica debes registrarte en tu Unidad de Medicina "
              "Familiar (UMF), la indicada arriba. Acude a ella con una identificación "
              "oficial con fotografía, un comprobante de domicilio reciente, tu CURP y "
              "este comprobante.");
    afl_pdf_paragraph(d, 9.5f,
                      "Como estudiante, el Seguro Facultativo te da atención médica gratuita "
                      "mientras conserves tu condición de estudiante.");
}

/* ================================================================ tarjeta */

/* ID-1 card (85.6 x 54 mm) in points. */
#define CARD_W 242.65f
#define CARD_H 153.07f
#define CARD_PAD 9.0f
#define CARD_QR 68.0f

/* The card with its top-left corner at (x, top). */
static void draw_card(doc_t *d, float x, float top, const afl_pdf_persona *who,
                      const afl_pdf_emision *how, const char *nombre)
{
    const float strip = 26.0f, tw = CARD_W - 2 * CARD_PAD - CARD_QR - 8;
    float tx = x + CARD_PAD, y;
    const char *n = afl_pdf_cp(d, nombre), *sub = afl_pdf_cp(d, "Número de Seguridad Social");
    float nsize = 7.5f, nlead = 9.0f;
    int nlines;

    if (!afl_pdf_doc_ok(d))
        return;
    /* white card, dashed cut line on its edge */
    HPDF_Page_SetRGBFill(d->page, 1, 1, 1);
    HPDF_Page_Rectangle(d->page, x, top - CARD_H, CARD_W, CARD_H);
    HPDF_Page_Fill(d->page);
    afl_pdf_rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, x, top - strip, CARD_W, strip);
    HPDF_Page_Fill(d->page);
    afl_pdf_rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    afl_pdf_text_at(d, tx, top - 17.5f, 1, 12, "IMSS");
    afl_pdf_text_at(d, x + CARD_W - CARD_PAD - afl_pdf_text_width(d, 0, 7, sub), top - 16.5f, 0, 7,
                    sub);

    y = top - strip - 12;
    afl_pdf_grey(d, 0.35f);
    afl_pdf_text_at(d, tx, y, 1, 5.8f, afl_pdf_cp(d, "NÚMERO DE SEGURIDAD SOCIAL (NSS)"));
    afl_pdf_grey(d, 0);
    y -= 18;
    afl_pdf_text_at(d, tx, y, 1, 17, afl_pdf_cp(d, who->nss));

    y -= 13;
    afl_pdf_grey(d, 0.35f);
    afl_pdf_text_at(d, tx, y, 1, 5.8f, "NOMBRE");
    afl_pdf_grey(d, 0);
    y -= 9;
    nlines = afl_pdf_wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    if (nlines > 2) {
        nsize = 6.2f;
        nlead = 7.4f;
        nlines = afl_pdf_wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    }
    afl_pdf_wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 1);
    y -= (nlines - 1) * nlead + 12;

    afl_pdf_grey(d, 0.35f);
    afl_pdf_text_at(d, tx, y, 1, 5.8f, "CURP");
    afl_pdf_grey(d, 0);
    y -= 9;
    afl_pdf_text_at(d, tx, y, 0, 8, afl_pdf_cp(d, who->curp));

    /* folio and short sello along the bottom edge */
    afl_pdf_grey(d, 0.35f);
    afl_pdf_text_at(d, tx, top - CARD_H + 16, 0, 5.5f,
                    afl_pdf_cp(d, apr_pstrcat(d->scratch, "Folio: ", how->folio, NULL)));
    if (d->sello)
        afl_pdf_text_at(
            d, tx, top - CARD_H + 8, 0, 5.5f,
            afl_pdf_cp(d, apr_pstrcat(d->scratch, "Sello digital: ",
                                      apr_pstrndup(d->scratch, d->sello, 28), "…", NULL)));
    afl_pdf_grey(d, 0);

    if (!afl_pdf_empty(how->firma.verify_url))
        afl_pdf_draw_qr(d, x + CARD_W - CARD_PAD - CARD_QR, top - strip - 10, CARD_QR,
                        how->firma.verify_url);

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

static void draw_tarjeta(doc_t *d, const void *doc, const afl_pdf_persona *who,
                         const afl_pdf_emision *how, const doc_names *n)
{
    float top;

    (void)doc; /* the tarjeta has nothing but the shared parts */
    doc_head(d, how, n, "Tarjeta de Número de Seguridad Social",
             "Documento generado electrónicamente", "", "Tarjeta de Número de Seguridad Social");
    afl_pdf_paragraph(d, 10.5f,
                      "Esta es tu tarjeta de Número de Seguridad Social (NSS). Imprímela a tamaño "
                      "real (100 %), sin ajustar a la página, recórtala y guárdala con tus "
                      "documentos.");
    d->y -= 4;
    afl_pdf_grey(d, 0.35f);
    afl_pdf_text_at(d, d->left, d->y, 1, 8.5f, afl_pdf_cp(d, "Recorta por la línea punteada"));
    afl_pdf_grey(d, 0);
    top = d->y - 8;
    draw_card(d, d->left, top, who, how, n->nombre);
    d->y = top - CARD_H - 30;

    person_rows(d, "Datos de la tarjeta", n, who);
    afl_pdf_row(d, "Fecha de emisión", apr_pstrcat(d->scratch, n->fecha, ", ", n->hora, NULL));
    afl_pdf_row(d, "Folio", how->folio);
    d->y -= 4;
    afl_pdf_paragraph(d, 9.5f,
                      "Tu NSS es permanente y único para toda la vida. Con él te registras en tu "
                      "Unidad de Medicina Familiar y haces tus trámites ante el IMSS. El código QR "
                      "lleva a la página donde cualquier persona puede comprobar que esta tarjeta "
                      "fue emitida por el IMSS.");
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
    const char *label = afl_pdf_cp(d, "Vigente: "), *value = afl_pdf_cp(d, vigente ? "SÍ" : "NO");
    const char *e = afl_pdf_cp(d, explain);
    float r = vigente ? GREEN_R : RED_R, g = vigente ? GREEN_G : RED_G,
          b = vigente ? GREEN_B : RED_B;
    int lines;

    if (!afl_pdf_doc_ok(d))
        return;
    lines = afl_pdf_wrap_lines(d, d->left + pad, 0, w, 0, size, lead, e, 0);
    h = pad + big * 0.75f + 12 + lines * lead + pad - 3;
    afl_pdf_ensure_space(d, h);
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
    afl_pdf_grey(d, 0.2f);
    afl_pdf_text_at(d, d->left + pad, base, 1, big, label);
    vx = d->left + pad + afl_pdf_text_width(d, 1, big, label);
    afl_pdf_rgb_fill(d, r, g, b);
    HPDF_Page_SetRGBStroke(d->page, r, g, b);
    afl_pdf_text_at(d, vx, base, 1, big, value);
    afl_pdf_grey(d, 0);
    afl_pdf_wrap_lines(d, d->left + pad, base - 12 - size * 0.8f, w, 0, size, lead, e, 1);
    d->y = top - h - 24;
}

static int constancia_valid(const void *doc)
{
    const afl_vigencia *v = &((const afl_constancia *)doc)->vigencia;

    return v->estado >= AFL_VIGENCIA_SIN_COBERTURA && v->estado <= AFL_VIGENCIA_FUTURA &&
           (v->estado == AFL_VIGENCIA_SIN_COBERTURA || v->hasta >= v->desde);
}

static void draw_constancia(doc_t *d, const void *doc, const afl_pdf_persona *who,
                            const afl_pdf_emision *how, const doc_names *n)
{
    const afl_constancia *c = doc;
    const afl_vigencia *v = &c->vigencia;
    const char *explain, *inicio, *fin;
    float right, qr_bottom;
    int vig = v->estado == AFL_VIGENCIA_VIGENTE;

    doc_head(d, how, n, "Constancia de Vigencia de Derechos",
             "Constancia generada electrónicamente", " Refleja la vigencia registrada a esa fecha.",
             "Constancia de Vigencia de Derechos");

    inicio = v->estado == AFL_VIGENCIA_SIN_COBERTURA ? "Sin registro" : fecha_dia(d, v->desde);
    if (v->estado == AFL_VIGENCIA_SIN_COBERTURA)
        fin = "Sin registro";
    else if (v->hasta == AFL_VIGENCIA_ABIERTA)
        fin = "Sin fecha de término (mientras seas estudiante)";
    else
        fin = fecha_dia(d, v->hasta);
    switch (v->estado) {
    case AFL_VIGENCIA_VIGENTE:
        explain = v->hasta == AFL_VIGENCIA_ABIERTA
                      ? "Tienes derecho a recibir atención médica en el IMSS mientras "
                        "conserves tu condición de estudiante."
                      : apr_pstrcat(d->scratch,
                                    "Tienes derecho a recibir atención médica en el IMSS "
                                    "hasta el ",
                                    fin, ".", NULL);
        break;
    case AFL_VIGENCIA_VENCIDA:
        explain = apr_pstrcat(d->scratch, "Tu cobertura terminó el ", fin,
                              ". Para recuperarla, tu escuela debe reportar tu inscripción "
                              "al IMSS.",
                              NULL);
        break;
    case AFL_VIGENCIA_FUTURA:
        explain = apr_pstrcat(d->scratch, "Tu cobertura inicia el ", inicio,
                              ". Antes de esa fecha no tienes derecho a atención médica.", NULL);
        break;
    default:
        explain = "No hay un periodo de cobertura registrado para tu NSS. Tu escuela debe "
                  "reportar tu inscripción al IMSS.";
        break;
    }
    right = d->right;
    d->right -= afl_pdf_qr_corner(d, &how->firma, d->y + 14, &qr_bottom);
    status_box(d, vig, explain);
    d->right = right;
    if (d->y > qr_bottom - 20)
        d->y = qr_bottom - 20;

    person_rows(d, "Datos del asegurado", n, who);
    afl_pdf_row(d, "Régimen", "Voluntario — Modalidad 32 Seguro Facultativo");

    afl_pdf_section(d, "Vigencia de derechos");
    afl_pdf_row(d, "Vigente", vig ? "SÍ" : "NO");
    afl_pdf_row(d, "Fecha de inicio de vigencia", inicio);
    afl_pdf_row(d, "Fecha de fin de vigencia", fin);
    if (v->has_proxima)
        afl_pdf_row(d, "Nueva vigencia a partir del", fecha_dia(d, v->proxima));

    afl_pdf_section(d, "Unidad de Medicina Familiar");
    afl_pdf_row(d, "Unidad de Medicina Familiar", afl_pdf_empty(c->umf) ? "Sin asignar" : c->umf);
    if (!afl_pdf_empty(c->umf_domicilio))
        afl_pdf_row(d, "Domicilio", c->umf_domicilio);
    if (!afl_pdf_empty(c->subdelegacion))
        afl_pdf_row(d, "Subdelegación", c->subdelegacion);

    afl_pdf_section(d, "Datos de la constancia");
    afl_pdf_row(d, "Fecha y hora de emisión",
                apr_pstrcat(d->scratch, n->fecha, ", ", n->hora, " h", NULL));
    afl_pdf_row(d, "Folio", how->folio);
    d->y -= 2;
    afl_pdf_paragraph(d, 8.5f,
                      "El Seguro Facultativo cubre la atención médica, quirúrgica, farmacéutica, "
                      "hospitalaria y de maternidad del Seguro de Enfermedades y Maternidad, sin "
                      "beneficiarios, mientras conserves tu condición de estudiante.");
}

/* ================================================= rendered-document cache
 *
 * Every input of a document goes into its cache key (afl_pdfcache.h): the
 * same input renders the same bytes, so a re-download is served from the
 * first rendering. A field added to a document's struct must be added to
 * its key below as well. */

static void key_font(afl_pdfcache_kb *kb, const afl_pdf_font *f)
{
    afl_pdfcache_kb_str(kb, afl_pdf_font_path(f));
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

/* The shared parts, every field in the order of its struct. */
static void key_shared(afl_pdfcache_kb *kb, const afl_pdf_persona *who, const afl_pdf_emision *how)
{
    afl_pdfcache_kb_str(kb, who->nombres);
    afl_pdfcache_kb_str(kb, who->primer_apellido);
    afl_pdfcache_kb_str(kb, who->segundo_apellido);
    afl_pdfcache_kb_str(kb, who->curp);
    afl_pdfcache_kb_str(kb, who->nss);
    afl_pdfcache_kb_str(kb, how->folio);
    key_time(kb, how->issued);
    key_font(kb, how->font);
    key_font(kb, how->font_bold);
    key_firma(kb, &how->firma);
}

/* What tells the three documents apart in document(). */
typedef struct {
    const char *what;                                /* "comprobante", ... */
    int (*valid)(const void *doc);                   /* its own fields; NULL = no check */
    void (*key)(afl_pdfcache_kb *, const void *doc); /* its own fields; NULL = none */
    /* the page, between doc_begin and doc_finish: title and footer included */
    void (*draw)(doc_t *d, const void *doc, const afl_pdf_persona *who, const afl_pdf_emision *how,
                 const doc_names *n);
} doc_kind;

static void key_comprobante(afl_pdfcache_kb *kb, const void *doc)
{
    const afl_comprobante *c = doc;

    afl_pdfcache_kb_int(kb, c->localizacion);
    afl_pdfcache_kb_int(kb, c->sexo);
    afl_pdfcache_kb_str(kb, c->entidad_nacimiento);
    afl_pdfcache_kb_str(kb, c->umf);
}

static void key_constancia(afl_pdfcache_kb *kb, const void *doc)
{
    const afl_constancia *c = doc;

    afl_pdfcache_kb_int(kb, c->vigencia.estado);
    afl_pdfcache_kb_int(kb, c->vigencia.vigente);
    afl_pdfcache_kb_int(kb, c->vigencia.desde);
    afl_pdfcache_kb_int(kb, c->vigencia.hasta);
    afl_pdfcache_kb_int(kb, c->vigencia.has_proxima);
    afl_pdfcache_kb_int(kb, c->vigencia.proxima);
    afl_pdfcache_kb_str(kb, c->umf);
    afl_pdfcache_kb_str(kb, c->umf_domicilio);
    afl_pdfcache_kb_str(kb, c->subdelegacion);
}

static const doc_kind COMPROBANTE = {"comprobante", comprobante_valid, key_comprobante,
                                     draw_comprobante};
static const doc_kind TARJETA = {"tarjeta", NULL, NULL, draw_tarjeta};
static const doc_kind CONSTANCIA = {"constancia", constancia_valid, key_constancia,
                                    draw_constancia};

/* Every entry point: doc (NULL: APR_EINVAL) checked (doc_check and k->valid),
 * keyed by its own fields and its shared parts who and how, served from the
 * cache, else drawn and kept. Without a key (digest failure) it simply
 * draws. Only documents that pass the check are ever cached. */
static apr_status_t document(apr_pool_t *p, const doc_kind *k, const void *doc,
                             const afl_pdf_persona *who, const afl_pdf_emision *how,
                             const unsigned char **pdf, size_t *len, char *errbuf, size_t errlen)
{
    afl_pdfcache_kb kb;
    afl_pdfcache_key key;
    int keyed;
    doc_t d;
    doc_names n;
    apr_status_t rv;

    if (doc_check(k->what, who, how, doc && (!k->valid || k->valid(doc)), pdf, len, errbuf,
                  errlen) != APR_SUCCESS)
        return APR_EINVAL;
    afl_pdfcache_kb_init(&kb, p, k->what);
    if (k->key)
        k->key(&kb, doc);
    key_shared(&kb, who, how);
    keyed = afl_pdfcache_key_make(&kb, &key) == 0;
    if (keyed && afl_pdfcache_get(&key, p, pdf, len))
        return APR_SUCCESS;
    if (doc_begin(&d, p, k->what, who, how, &n) == APR_SUCCESS)
        k->draw(&d, doc, who, how, &n);
    rv = doc_finish(&d, how, k->what, pdf, len, errbuf, errlen);
    if (rv == APR_SUCCESS && keyed)
        afl_pdfcache_put(&key, *pdf, *len);
    return rv;
}

apr_status_t afl_pdf_comprobante(apr_pool_t *p, const afl_comprobante *c, const unsigned char **pdf,
                                 size_t *len, char *errbuf, size_t errlen)
{
    return document(p, &COMPROBANTE, c, c ? &c->persona : NULL, c ? &c->emision : NULL, pdf, len,
                    errbuf, errlen);
}

apr_status_t afl_pdf_tarjeta(apr_pool_t *p, const afl_tarjeta *t, const unsigned char **pdf,
                             size_t *len, char *errbuf, size_t errlen)
{
    return document(p, &TARJETA, t, t ? &t->persona : NULL, t ? &t->emision : NULL, pdf, len,
                    errbuf, errlen);
}

apr_status_t afl_pdf_constancia(apr_pool_t *p, const afl_constancia *c, const unsigned char **pdf,
                                size_t *len, char *errbuf, size_t errlen)
{
    return document(p, &CONSTANCIA, c, c ? &c->persona : NULL, c ? &c->emision : NULL, pdf, len,
                    errbuf, errlen);
}
