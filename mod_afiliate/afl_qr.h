/* afl_qr: QR codes for the documents (docs/domain.md, QR code), with
 * libqrencode. Pure unit: APR and libqrencode only, no httpd.
 *
 * Every document carries a QR code with its verification URL,
 * "<base>/verificar?folio=<folio>" (afl_qr_verify_url); the module passes
 * the absolute base URL of its location (e.g.
 * "https://afiliate.example.gob.mx/afiliate"). Decision: the URL, not the
 * IMSS tarjeta's payload "||Número de Seguridad Social: ... |Nombre: ...
 * |CURP: ...||": a phone that scans the code reaches the
 * verification page, which shows the NSS and name partly masked, and the
 * code does not hand out the CURP to every scanner.
 *
 * The symbol is a module matrix that afl_pdf draws as filled rectangles
 * (afl_qr_rects: a horizontal run of dark modules, merged with the same run
 * on the rows below): vector, sharp at any zoom, under 1 KB compressed. Error correction level M
 * (15 %), the mode chosen by libqrencode per segment (the folio's digits go in numeric mode), the
 * smallest version that fits.
 *
 * Thread safety: libqrencode 4 as packaged (built with pthread) is
 * thread-safe; nothing here keeps state. */
#ifndef AFL_QR_H
#define AFL_QR_H

#include <apr_pools.h>

typedef struct {
    int version;                  /* 1..40 */
    int width;                    /* modules per side: 17 + 4 * version */
    const unsigned char *modules; /* width * width bytes, row-major from the top-left, 1 = dark */
} afl_qr;

/* Modules of white border a reader needs around the symbol (ISO/IEC 18004);
 * the drawer leaves it blank. */
#define AFL_QR_QUIET_ZONE 4

/* Longest text accepted (bytes); a verification URL is ~80. */
#define AFL_QR_MAX_TEXT 1024

/* Encode text (NUL-terminated, non-empty, at most AFL_QR_MAX_TEXT bytes)
 * into *qr; the modules live in p. APR_EINVAL for an empty or too long text,
 * APR_ENOMEM, or APR_EGENERAL if libqrencode fails. */
apr_status_t afl_qr_encode(apr_pool_t *p, const char *text, afl_qr *qr);

/* "<base>/verificar?folio=<folio>" with the trailing '/' of base removed;
 * NULL if base is empty or the folio is not AFL_FOLIO_LEN digits
 * (afl_cadena.h). */
const char *afl_qr_verify_url(apr_pool_t *p, const char *base, const char *folio);

/* "<scheme>://<host>[:<port>]<path>": the base of the verification URL from the server's
 * own name, never a client's Host header. The port is left out when it is 0 or the
 * scheme's default (80 for http, 443 for https). scheme NULL is "http". */
const char *afl_qr_server_base(apr_pool_t *p, const char *scheme, const char *host, unsigned port,
                               const char *path);

/* Calls fn once per horizontal run of dark modules, top row first: row and
 * col of the run's first module (0-based from the top-left) and its length.
 * This is what a drawer turns into rectangles. */
typedef void afl_qr_run_fn(void *baton, int row, int col, int len);
void afl_qr_runs(const afl_qr *qr, afl_qr_run_fn *fn, void *baton);

/* Calls fn once per rectangle of dark modules, top row first: a horizontal
 * run (as afl_qr_runs gives it) together with the identical runs (same
 * column, same length) directly below it, h rows in all. Every dark module
 * is covered by exactly one rectangle, and no light module by any: fewer
 * path operations than one per run (about a quarter fewer; the finder
 * patterns' sides become one rectangle each). Uses scratch space from p;
 * APR_ENOMEM if it cannot get it. */
typedef void afl_qr_rect_fn(void *baton, int row, int col, int w, int h);
apr_status_t afl_qr_rects(apr_pool_t *p, const afl_qr *qr, afl_qr_rect_fn *fn, void *baton);

#endif
