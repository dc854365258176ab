/* Benchmark: unsigned comprobante PDFs per second on one thread, and their
 * size, in the standard PDF fonts and with an embedded TrueType font.
 * Usage: bench_pdf [seconds] (default 2). TrueType fonts from AFL_FONT_DIR or
 * the Debian fonts-dejavu-core location. */
#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "afl_pdf.h"

/* PDFs per second over `seconds`; -1 on error. Each document is issued a
 * second after the previous one, so none comes from the cache of rendered
 * documents (afl_pdfcache.h). */
static double run(apr_pool_t *p, afl_comprobante *c, double seconds, size_t *size)
{
    const unsigned char *pdf = NULL;
    size_t len = 0;
    char err[256];
    apr_time_t start = apr_time_now(), now;
    long n = 0;

    do {
        if (afl_pdf_comprobante(p, c, &pdf, &len, err, sizeof err) != APR_SUCCESS) {
            fprintf(stderr, "bench_pdf: %s\n", err);
            return -1;
        }
        *size = len;
        c->emision.issued += APR_USEC_PER_SEC;
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
    apr_pool_t *root, *p;
    afl_comprobante c = {0};
    size_t size = 0;
    double rate;

    if (seconds <= 0)
        seconds = 2.0;
    if (!dir)
        dir = "/usr/share/fonts/truetype/dejavu";
    apr_initialize();
    afl_pdf_process_init(); /* as the module's child_init */
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);

    c.persona.nombres = "María José";
    c.persona.primer_apellido = "Muñoz";
    c.persona.segundo_apellido = "Ibáñez";
    c.persona.curp = "MUIM050315MNLXBRA1";
    c.persona.nss = "12345678903";
    c.sexo = 'M';
    c.entidad_nacimiento = "Nuevo León";
    c.umf = "UMF No. 10 Cuauhtémoc";
    c.emision.folio = "1795694400000000123";
    c.emision.issued = apr_time_now();

    rate = run(p, &c, seconds, &size);
    if (rate < 0)
        return 1;
    printf("comprobante PDFs per second (1 thread, standard fonts): %.0f, %zu bytes\n", rate, size);

    /* An embedded TrueType face: libharu parses the file for every document. */
    if (afl_pdf_font_load(root, apr_pstrcat(root, dir, "/DejaVuSans.ttf", NULL), &c.emision.font) !=
            APR_SUCCESS ||
        afl_pdf_font_load(root, apr_pstrcat(root, dir, "/DejaVuSans-Bold.ttf", NULL),
                          &c.emision.font_bold) != APR_SUCCESS) {
        fprintf(stderr, "bench_pdf: cannot load fonts\n");
        return 1;
    }
    rate = run(p, &c, seconds, &size);
    if (rate < 0)
        return 1;
    printf("comprobante PDFs per second (1 thread, embedded DejaVu): %.0f, %zu bytes\n", rate,
           size);
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
