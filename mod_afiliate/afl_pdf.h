/* PDF documents of the procedure, built in memory with libhpdf (libharu 2.3).
 *
 * Text: the caller passes UTF-8 (NFC, as afl_form produces); it is converted
 * to CP1252 (afl_text_to_cp1252_lossy) and drawn in WinAnsiEncoding, which is
 * CP1252, so accents, Ñ, ¿ and ¡ display and extract correctly. A character
 * outside CP1252 (or invalid UTF-8) becomes '?'; it never fails the document.
 *
 * Fonts: by default the standard PDF fonts Helvetica and Helvetica-Bold,
 * which every reader has and nothing is embedded for: a signed document with
 * its QR code is about 4-5 KB. An agency that needs an embedded font gives a
 * TrueType file (afl_pdf_font_load); libharu embeds the glyphs used, and the
 * file should be reduced at install time with fontTools' pyftsubset
 * (docs/documents.md), or every document carries its whole tables.
 *
 * Size: content streams are Flate-compressed; the QR code is drawn as one
 * rectangle per block of dark modules (afl_qr_rects).
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

#include "afl_sign.h"
#include "afl_vigencia.h"

/* A TrueType face to embed instead of a standard font; immutable, shared by
 * every document and thread. */
typedef struct afl_pdf_font afl_pdf_font;

/* Check that libharu can load the TrueType file at path and keep its path;
 * *font lives in p. Call it once at start-up: a file that cannot be used
 * fails here, not in every document. Returns the file's stat error
 * (APR_ENOENT, ...), APR_EINVAL for an empty path, a non-regular file or a
 * file libharu refuses. libharu keeps fonts per document, so the file is
 * still opened and parsed for each document (a reduced font keeps that
 * cheap). */
apr_status_t afl_pdf_font_load(apr_pool_t *p, const char *path, const afl_pdf_font **font);

/* Once per process, before documents are built (httpd: child_init). Every
 * document's content stream is compressed by zlib, whose ~270 KB of deflate
 * state is allocated and freed per document; with glibc's default trim
 * threshold (128 KB) the freed heap top goes back to the kernel each time and
 * the next document page-faults it in again (10x the page faults, a quarter
 * of the rate, in bench_pdf). This keeps up to 1 MB of free heap per malloc
 * arena instead (mallopt M_TRIM_THRESHOLD). Process-wide; harmless without. */
void afl_pdf_process_init(void);

/* The file of a loaded font; NULL for NULL (the standard fonts). */
const char *afl_pdf_font_path(const afl_pdf_font *font);

/* ============================================================ sello digital
 *
 * Every document (comprobante, tarjeta, constancia) can carry a "Sello
 * digital" block and a seal. All fields are optional; a NULL field is not
 * drawn, so a zeroed afl_pdf_firma gives an unsigned document, without QR
 * code.
 *
 * What is drawn: a "Sello digital" section at the end with the cadena
 * original (afl_cadena.h) and the sello digital, both wrapped in a small
 * font, the "No. de serie" of the key and the verification URL; the QR code
 * of verify_url (vector, "Verifica este documento") at the top right of the
 * comprobante and the constancia, on the card of the tarjeta.
 *
 * The seal (when key is set): the PDF carries, in a private dictionary of
 * its document catalog (/AfiliateSello: never shown by viewers, not in the
 * document information a search index reads), its tipo, folio, cadena
 * original, sello digital and No. de serie as hex strings, plus
 * /SelloDocumento: the key's signature over the whole file as written, with
 * the signature's own hex digits set to '0' (the technique of PDF
 * signatures' /ByteRange). The sello digital proves who issued the cadena;
 * the document seal proves that nothing in the file, the displayed text
 * included, changed after it was issued: any edit, even one byte, or a
 * re-save by another program, fails afl_pdf_verify. Ed25519 and RSA
 * PKCS#1 v1.5 are deterministic, so the same inputs always give the same
 * file, byte for byte. */
typedef struct {
    /* UTF-8, afl_cadena_original(); required when key is set, and then its
     * Folio must be the document's folio */
    const char *cadena_original;
    /* base64 signature of cadena_original. NULL + key: computed here; given
     * + key: checked (APR_EINVAL when it is not the key's signature) */
    const char *sello;
    /* key serial. NULL + key: afl_sign_serial(key); given + key: must match */
    const char *no_serie;
    /* QR payload, afl_qr_verify_url(); NULL = no QR code */
    const char *verify_url;
    /* private key: seal the file (see above); NULL = no seal */
    const afl_sign_key *key;
} afl_pdf_firma;

/* Whom a document names: the same for the comprobante, the tarjeta and the
 * constancia. All strings are UTF-8. */
typedef struct {
    const char *nombres;          /* given names */
    const char *primer_apellido;  /* first surname */
    const char *segundo_apellido; /* may be NULL or "" */
    const char *curp;             /* 18 characters */
    const char *nss;              /* 11 digits */
} afl_pdf_persona;

/* How a document is issued: the same for all three documents. */
typedef struct {
    const char *folio;             /* document folio */
    apr_time_t issued;             /* date and time of issue */
    const afl_pdf_font *font;      /* NULL = Helvetica (the standard fonts) */
    const afl_pdf_font *font_bold; /* NULL = Helvetica-Bold, or with font set: font, stroked */
    afl_pdf_firma firma;           /* optional sello digital, QR and seal (zeroed: none) */
} afl_pdf_emision;

/* The comprobante (docs/domain.md, Comprobante and tarjeta): one layout for asignación and
 * localización. All strings are UTF-8. */
typedef struct {
    int localizacion;               /* 0 = "Asignación de NSS", 1 = "Localización de NSS" */
    afl_pdf_persona persona;        /* all but segundo_apellido required */
    char sexo;                      /* 'H' Hombre, 'M' Mujer, 'X' No binario */
    const char *entidad_nacimiento; /* state name (the caller maps the CURP code) */
    const char *umf;                /* e.g. "UMF No. 10 Cuauhtémoc"; NULL/"" = none */
    afl_pdf_emision emision;        /* folio required */
} afl_comprobante;

/* Size budget of a one-page document with the standard fonts, sello
 * digital and QR code: what the tests hold every document to. Not a hard
 * limit (a very long name or an embedded TrueType font may exceed it). */
#define AFL_PDF_MAX 6144

/* Build the comprobante in memory. On success *pdf / *len point to memory
 * in p. On failure returns an APR error (APR_EINVAL for a missing required
 * field, APR_ENOENT for an unusable font, APR_EGENERAL for a libharu error,
 * APR_ENOMEM) and writes an English message without personal data to errbuf
 * (if errlen > 0). */
apr_status_t afl_pdf_comprobante(apr_pool_t *p, const afl_comprobante *c, const unsigned char **pdf,
                                 size_t *len, char *errbuf, size_t errlen);

/* ================================================================ tarjeta
 *
 * The "Tarjeta de Número de Seguridad Social" (the IMSS credencial NSS;
 * docs/domain.md, Comprobante and tarjeta): a page with a wallet-size card (85.6 x 54 mm, ID-1) to
 * cut out along a dashed line ("Recorta por la línea punteada"): NSS in
 * large type, name, CURP, QR code, folio and the sello in short form (its
 * first characters). Below the card, on the page: the complete sello
 * digital block (cadena original, sello, No. de serie). Cadena original: the
 * comprobante layout with tipo de trámite "Tarjeta de NSS" (AFL_CADENA_TARJETA). */
typedef struct {
    afl_pdf_persona persona;
    afl_pdf_emision emision;
} afl_tarjeta;

/* Build the tarjeta; same contract as afl_pdf_comprobante(). */
apr_status_t afl_pdf_tarjeta(apr_pool_t *p, const afl_tarjeta *t, const unsigned char **pdf,
                             size_t *len, char *errbuf, size_t errlen);

/* ============================================================= constancia
 *
 * "Constancia de Vigencia de Derechos" (docs/domain.md, Constancia de
 * vigencia): name, CURP,
 * NSS, "Régimen: Voluntario — Modalidad 32 Seguro Facultativo", a large
 * "Vigente: SÍ" (green) or "Vigente: NO" (red) with what it means, the
 * fecha de inicio and fin de vigencia of the coverage afl_vigencia_eval()
 * reported, the UMF with its address and subdelegación, date and time of
 * issue, folio, and the sello digital block. Cadena original: the constancia
 * layout (AFL_CADENA_CONSTANCIA). */
typedef struct {
    afl_pdf_persona persona;
    afl_vigencia vigencia;     /* afl_vigencia_eval() on the day of issue */
    const char *umf;           /* e.g. "UMF No. 10 Cuauhtémoc"; NULL/"" = none assigned */
    const char *umf_domicilio; /* NULL/"" = not drawn */
    const char *subdelegacion; /* NULL/"" = not drawn */
    afl_pdf_emision emision;
} afl_constancia;

/* Build the constancia; same contract as afl_pdf_comprobante(). */
apr_status_t afl_pdf_constancia(apr_pool_t *p, const afl_constancia *c, const unsigned char **pdf,
                                size_t *len, char *errbuf, size_t errlen);

/* ============================================================ verification */

/* What a sealed document says about itself (strings in p). */
typedef struct {
    const char *tipo;            /* "comprobante", "tarjeta" or "constancia" */
    const char *folio;           /* AFL_FOLIO_LEN digits */
    const char *cadena_original; /* UTF-8 */
    const char *sello;           /* base64 */
    const char *no_serie;
} afl_pdf_sellado;

/* Read the seal dictionary of a PDF made by this unit, without checking
 * anything. APR_SUCCESS; APR_EINVAL with *reason (English) when the file is
 * not a PDF or carries no (well-formed) seal. */
apr_status_t afl_pdf_extract(apr_pool_t *p, const unsigned char *pdf, size_t len,
                             afl_pdf_sellado *out, const char **reason);

/* Verify a sealed PDF with the public key (a private key works too):
 * the seal is present and well formed; its No. de serie is the key's; the
 * document seal matches the file (nothing changed); the sello digital is
 * the key's signature of the cadena original; the cadena's folio is the
 * document's. Returns 0 when all hold (*out filled), 1 otherwise with
 * *reason, an English sentence without personal data (e.g. "the document
 * was altered after it was issued"). out may be NULL. */
int afl_pdf_verify(apr_pool_t *p, const unsigned char *pdf, size_t len, const afl_sign_key *pub,
                   afl_pdf_sellado *out, const char **reason);

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
