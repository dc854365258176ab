/* Benchmark: signed documents per second on one thread, built in
 * memory as the module builds them: cadena original, sello digital
 * (Ed25519), QR code, PDF and document seal, in the standard PDF fonts.
 * Also the raw sello and verification rates and the documents' sizes.
 * Usage: bench_docs [seconds per figure] (default 2). AFL_FONT_DIR=DIR:
 * embed DIR/DejaVuSans.ttf and DejaVuSans-Bold.ttf instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "afl_cadena.h"
#include "afl_pdf.h"
#include "afl_qr.h"
#include "afl_sign.h"
#include "afl_vigencia.h"

enum { COMPROBANTE, TARJETA, CONSTANCIA };

typedef struct {
    const afl_sign_key *key;
    const afl_pdf_font *font, *bold;
    const char *base;
    apr_uint64_t seq;
} ctx;

/* One signed document, everything per call as in a request. */
static apr_status_t one(apr_pool_t *p, ctx *x, int kind, size_t *size, char *err, size_t errlen)
{
    apr_time_t now = apr_time_now();
    char folio[AFL_FOLIO_LEN + 1];
    afl_cadena cad;
    afl_pdf_firma firma;
    const unsigned char *pdf = NULL;
    size_t len = 0;
    apr_status_t rv;

    now -= now % APR_USEC_PER_SEC;
    afl_folio_make(now, ++x->seq, folio);
    memset(&cad, 0, sizeof cad);
    cad.fecha = now;
    cad.folio = folio;
    cad.nombre = afl_cadena_nombre(p, "María José", "Muñoz", "Ibáñez");
    cad.curp = "MUIM050315MNLXBRA5";
    cad.nss = "12345678903";
    cad.tipo = kind == COMPROBANTE ? AFL_CADENA_ASIGNACION
               : kind == TARJETA   ? AFL_CADENA_TARJETA
                                   : AFL_CADENA_CONSTANCIA;
    memset(&firma, 0, sizeof firma);
    firma.cadena_original = afl_cadena_original(p, &cad);
    if (afl_sign_sello(p, x->key, firma.cadena_original, strlen(firma.cadena_original),
                       &firma.sello) != APR_SUCCESS) {
        snprintf(err, errlen, "cannot sign");
        return APR_EGENERAL;
    }
    firma.no_serie = afl_sign_serial(x->key);
    firma.verify_url = afl_qr_verify_url(p, x->base, folio);
    firma.key = x->key;

    if (kind == COMPROBANTE) {
        afl_comprobante c;
        memset(&c, 0, sizeof c);
        c.persona.nombres = "María José";
        c.persona.primer_apellido = "Muñoz";
        c.persona.segundo_apellido = "Ibáñez";
        c.persona.curp = cad.curp;
        c.persona.nss = cad.nss;
        c.sexo = 'M';
        c.entidad_nacimiento = "Nuevo León";
        c.umf = "UMF No. 10 Cuauhtémoc";
        c.emision.folio = folio;
        c.emision.issued = now;
        c.emision.font = x->font;
        c.emision.font_bold = x->bold;
        c.emision.firma = firma;
        rv = afl_pdf_comprobante(p, &c, &pdf, &len, err, errlen);
    } else if (kind == TARJETA) {
        afl_tarjeta t;
        memset(&t, 0, sizeof t);
        t.persona.nombres = "María José";
        t.persona.primer_apellido = "Muñoz";
        t.persona.segundo_apellido = "Ibáñez";
        t.persona.curp = cad.curp;
        t.persona.nss = cad.nss;
        t.emision.folio = folio;
        t.emision.issued = now;
        t.emision.font = x->font;
        t.emision.font_bold = x->bold;
        t.emision.firma = firma;
        rv = afl_pdf_tarjeta(p, &t, &pdf, &len, err, errlen);
    } else {
        afl_constancia c;
        afl_movimiento m[2];
        int today = afl_vigencia_today(now);
        memset(&c, 0, sizeof c);
        m[0].tipo = AFL_MOV_ALTA;
        m[0].fecha = today - 90;
        m[0].fin = today + 90;
        m[1].tipo = AFL_MOV_BAJA;
        m[1].fecha = today + 30;
        m[1].fin = m[1].fecha;
        afl_vigencia_eval(p, m, 2, today, &c.vigencia);
        c.persona.nombres = "María José";
        c.persona.primer_apellido = "Muñoz";
        c.persona.segundo_apellido = "Ibáñez";
        c.persona.curp = cad.curp;
        c.persona.nss = cad.nss;
        c.umf = "UMF No. 10 Cuauhtémoc";
        c.umf_domicilio = "Av. Chapultepec 100, Col. Roma Norte, Cuauhtémoc, C.P. 06700";
        c.subdelegacion = "Subdelegación Cuauhtémoc";
        c.emision.folio = folio;
        c.emision.issued = now;
        c.emision.font = x->font;
        c.emision.font_bold = x->bold;
        c.emision.firma = firma;
        rv = afl_pdf_constancia(p, &c, &pdf, &len, err, errlen);
    }
    *size = len;
    return rv;
}

static double rate_docs(apr_pool_t *p, ctx *x, int kind, double seconds, size_t *size)
{
    char err[256];
    apr_time_t start = apr_time_now(), now;
    long n = 0;

    do {
        if (one(p, x, kind, size, err, sizeof err) != APR_SUCCESS) {
            fprintf(stderr, "bench_docs: %s\n", err);
            return -1;
        }
        apr_pool_clear(p);
        n++;
        now = apr_time_now();
    } while ((double)(now - start) < seconds * APR_USEC_PER_SEC);
    return (double)n * APR_USEC_PER_SEC / (double)(now - start);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("AFL_FONT_DIR");
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    static const char *const names[] = {"comprobante", "tarjeta", "constancia"};
    apr_pool_t *root, *p;
    ctx x;
    char err[256];
    size_t sizes[3];

    if (seconds <= 0)
        seconds = 2.0;
    apr_initialize();
    afl_pdf_process_init(); /* as the module's child_init */
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);
    memset(&x, 0, sizeof x);
    x.base = "https://afiliate.example.gob.mx/afiliate";
    if (afl_sign_generate(root, &x.key, err, sizeof err) != APR_SUCCESS ||
        (dir && (afl_pdf_font_load(root, apr_pstrcat(root, dir, "/DejaVuSans.ttf", NULL),
                                   &x.font) != APR_SUCCESS ||
                 afl_pdf_font_load(root, apr_pstrcat(root, dir, "/DejaVuSans-Bold.ttf", NULL),
                                   &x.bold) != APR_SUCCESS))) {
        fprintf(stderr, "bench_docs: cannot create the key or load the fonts\n");
        return 1;
    }

    for (int k = 0; k < 3; k++) {
        double r = rate_docs(p, &x, k, seconds, &sizes[k]);
        if (r < 0)
            return 1;
        printf("signed %s PDFs per second (1 thread, %s): %.0f\n", names[k],
               dir ? "embedded DejaVu" : "standard fonts", r);
    }
    for (int k = 0; k < 3; k++)
        printf("signed %s PDF size: %zu bytes\n", names[k], sizes[k]);

    /* the signature alone, and an offline verification of a whole document */
    {
        const char *cadena = "||Invocante:portalimssdigital|Tipo de trámite:COMPROBANTE DE "
                             "VIGENCIA DE DERECHOHABIENTES|Fecha:26 de noviembre 2026, "
                             "06:00:00|Folio:179569440000000000123|Nombre o Razón Social:María "
                             "José Muñoz Ibáñez|Curp:MUIM050315MNLXBRA5|Número de Seguridad "
                             "Social:12345678903||";
        const char *sello, *reason;
        apr_time_t start = apr_time_now(), now;
        long n = 0;
        const unsigned char *pdf;
        size_t len;
        afl_constancia c;
        afl_cadena cad;
        unsigned char *copy;

        do {
            afl_sign_sello(p, x.key, cadena, strlen(cadena), &sello);
            apr_pool_clear(p);
            n++;
            now = apr_time_now();
        } while ((double)(now - start) < seconds * APR_USEC_PER_SEC / 2);
        printf("Ed25519 sellos per second (1 thread): %.0f\n",
               (double)n * APR_USEC_PER_SEC / (double)(now - start));

        memset(&cad, 0, sizeof cad);
        memset(&c, 0, sizeof c);
        cad.tipo = AFL_CADENA_CONSTANCIA;
        cad.fecha = c.emision.issued = apr_time_now();
        cad.folio = c.emision.folio = "179569440000000000123";
        cad.nombre = "María José Muñoz";
        cad.curp = c.persona.curp = "MUIM050315MNLXBRA5";
        cad.nss = c.persona.nss = "12345678903";
        c.persona.nombres = "María José";
        c.persona.primer_apellido = "Muñoz";
        c.emision.font = x.font;
        c.emision.font_bold = x.bold;
        c.emision.firma.cadena_original = afl_cadena_original(root, &cad);
        c.emision.firma.verify_url = afl_qr_verify_url(root, x.base, c.emision.folio);
        c.emision.firma.key = x.key;
        if (afl_pdf_constancia(root, &c, &pdf, &len, err, sizeof err) != APR_SUCCESS) {
            fprintf(stderr, "bench_docs: %s\n", err);
            return 1;
        }
        copy = apr_pmemdup(root, pdf, len);
        n = 0;
        start = apr_time_now();
        do {
            if (afl_pdf_verify(p, copy, len, x.key, NULL, &reason) != 0) {
                fprintf(stderr, "bench_docs: verify: %s\n", reason);
                return 1;
            }
            apr_pool_clear(p);
            n++;
            now = apr_time_now();
        } while ((double)(now - start) < seconds * APR_USEC_PER_SEC / 2);
        printf("constancia verifications per second (1 thread): %.0f\n",
               (double)n * APR_USEC_PER_SEC / (double)(now - start));
    }
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
