/* Unit tests for the signed documents of afl_pdf: comprobante with
 * sello digital and QR, tarjeta, constancia, the document seal and
 * afl_pdf_verify; checked with poppler's pdftotext and qpdf --check. */
#include <check.h>
#include "check_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "afl_cadena.h"
#include "afl_pdf.h"
#include "afl_pdfcache.h"
#include "afl_qr.h"
#include "afl_sign.h"
#include "afl_vigencia.h"

#define FONT_DIR "/usr/share/fonts/truetype/dejavu/"
#define FONT FONT_DIR "DejaVuSans.ttf"
#define FONT_BOLD FONT_DIR "DejaVuSans-Bold.ttf"

/* 2026-11-26 12:00:00 UTC = 06:00:00 in Mexico City; main() sets TZ. */
#define ISSUED apr_time_from_sec(1795694400)
#define FOLIO "179569440000000000123"
#define CURP "MUIM050315MNLXBRA5"
#define NSS "12345678903"
#define BASE "https://afiliate.example.gob.mx/afiliate"

static apr_pool_t *pool;
static const afl_sign_key *key;
static char tmpdir[] = "/tmp/afl_test_docs_XXXXXX";

static void setup(void)
{
    char err[128];

    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(afl_sign_generate(pool, &key, err, sizeof err), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static afl_pdf_firma firma(afl_cadena_tipo tipo, const char *nombre)
{
    afl_pdf_firma f;
    afl_cadena c;

    memset(&c, 0, sizeof c);
    c.tipo = tipo;
    c.fecha = ISSUED;
    c.folio = FOLIO;
    c.nombre = nombre;
    c.curp = CURP;
    c.nss = NSS;
    memset(&f, 0, sizeof f);
    f.cadena_original = afl_cadena_original(pool, &c);
    f.verify_url = afl_qr_verify_url(pool, BASE, FOLIO);
    f.key = key;
    return f;
}

static afl_comprobante comprobante(void)
{
    afl_comprobante c;

    memset(&c, 0, sizeof c);
    c.persona.nombres = "María José";
    c.persona.primer_apellido = "Muñoz";
    c.persona.segundo_apellido = "Ibáñez";
    c.persona.curp = CURP;
    c.persona.nss = NSS;
    c.sexo = 'M';
    c.entidad_nacimiento = "Nuevo León";
    c.umf = "UMF No. 10 Cuauhtémoc";
    c.emision.folio = FOLIO;
    c.emision.issued = ISSUED;
    c.emision.firma = firma(AFL_CADENA_ASIGNACION, "María José Muñoz Ibáñez");
    return c;
}

static afl_tarjeta tarjeta(void)
{
    afl_tarjeta t;

    memset(&t, 0, sizeof t);
    t.persona.nombres = "María José";
    t.persona.primer_apellido = "Muñoz";
    t.persona.segundo_apellido = "Ibáñez";
    t.persona.curp = CURP;
    t.persona.nss = NSS;
    t.emision.folio = FOLIO;
    t.emision.issued = ISSUED;
    t.emision.firma = firma(AFL_CADENA_TARJETA, "María José Muñoz Ibáñez");
    return t;
}

static int D(const char *s)
{
    int d = 0;

    ck_assert_int_eq(afl_vigencia_parse_date(s, &d), 0);
    return d;
}

/* A constancia with coverage from an alta 2026-08-24 .. fin (NULL: open). */
static afl_constancia constancia(const char *fin)
{
    afl_constancia c;
    afl_movimiento m = {AFL_MOV_ALTA, D("2026-08-24"), fin ? D(fin) : AFL_VIGENCIA_ABIERTA};

    memset(&c, 0, sizeof c);
    c.persona.nombres = "María José";
    c.persona.primer_apellido = "Muñoz";
    c.persona.segundo_apellido = "Ibáñez";
    c.persona.curp = CURP;
    c.persona.nss = NSS;
    ck_assert_int_eq(afl_vigencia_eval(pool, &m, 1, D("2026-11-26"), &c.vigencia), 0);
    c.umf = "UMF No. 10 Cuauhtémoc";
    c.umf_domicilio = "Av. Chapultepec 100, Col. Roma Norte, Cuauhtémoc, C.P. 06700";
    c.subdelegacion = "Subdelegación Cuauhtémoc";
    c.emision.folio = FOLIO;
    c.emision.issued = ISSUED;
    c.emision.firma = firma(AFL_CADENA_CONSTANCIA, "María José Muñoz Ibáñez");
    return c;
}

static const char *write_pdf(const unsigned char *pdf, size_t len)
{
    static int n;
    const char *path = apr_psprintf(pool, "%s/doc%d-%d.pdf", tmpdir, (int)getpid(), n++);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(pdf, 1, len, f), len);
    fclose(f);
    return path;
}

static int qpdf_ok(const char *path)
{
    return system(apr_psprintf(pool, "qpdf --check '%s' >/dev/null 2>&1", path)) == 0;
}

static char *pdf_text(const char *path)
{
    const char *txt = apr_pstrcat(pool, path, ".txt", NULL);
    char *buf;
    FILE *f;
    long n;

    ck_assert_int_eq(
        system(apr_psprintf(pool, "pdftotext -enc UTF-8 '%s' '%s' 2>/dev/null", path, txt)), 0);
    f = fopen(txt, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* pdftotext's text with every run of blanks and line breaks as one space:
 * wrapped values (the cadena, the sello) can then be searched whole. */
static char *flat_text(const char *path)
{
    char *t = pdf_text(path), *o = t;

    for (const char *s = t; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\f' || *s == '\r') {
            if (o > t && o[-1] != ' ')
                *o++ = ' ';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return t;
}

/* The text without any blank at all (for values wrapped anywhere). */
static char *dense_text(const char *path)
{
    char *t = pdf_text(path), *o = t;

    for (const char *s = t; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\f' && *s != '\r')
            *o++ = *s;
    *o = '\0';
    return t;
}

static char *dense(const char *s)
{
    char *t = apr_pstrdup(pool, s), *o = t;

    for (; *s; s++)
        if (*s != ' ')
            *o++ = *s;
    *o = '\0';
    return t;
}

#define ck_contains(hay, needle)                                                                   \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "\"%s\" not in extracted text:\n%s", (needle),  \
                  (hay))

static int page_count(const char *path)
{
    FILE *f = popen(apr_psprintf(pool, "pdfinfo '%s' 2>/dev/null", path), "r");
    char line[256];
    int pages = -1;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pages: %d", &pages) == 1)
            break;
    pclose(f);
    return pages;
}

static const char *verify_reason(const unsigned char *pdf, size_t len, const afl_sign_key *k)
{
    const char *reason = NULL;
    afl_pdf_sellado s;
    int rc = afl_pdf_verify(pool, pdf, len, k, &s, &reason);

    if (rc == 0) {
        ck_assert_ptr_null(reason);
        return NULL;
    }
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(reason);
    return reason;
}

/* Every check common to a signed document. */
static void check_signed(const unsigned char *pdf, size_t len, const char *tipo,
                         const afl_pdf_firma *f, const char *text)
{
    afl_pdf_sellado s;
    const char *reason = NULL, *sello;

    ck_assert_int_eq(afl_pdf_verify(pool, pdf, len, key, &s, &reason), 0);
    ck_assert_str_eq(s.tipo, tipo);
    ck_assert_str_eq(s.folio, FOLIO);
    ck_assert_str_eq(s.cadena_original, f->cadena_original);
    ck_assert_str_eq(s.no_serie, afl_sign_serial(key));
    ck_assert_int_eq(
        afl_sign_sello(pool, key, f->cadena_original, strlen(f->cadena_original), &sello),
        APR_SUCCESS);
    ck_assert_str_eq(s.sello, sello);
    /* what the page shows: the cadena, the sello and the serial, in full */
    ck_contains(text, dense(f->cadena_original));
    ck_contains(text, sello);
    ck_contains(text, apr_pstrcat(pool, "No.deserie:", afl_sign_serial(key), NULL));
    ck_contains(text, "Verificaestedocumento");
    ck_contains(text, dense(f->verify_url));
    /* the seal dictionary, never in the document information */
    ck_assert_ptr_nonnull(memmem(pdf, len, "/AfiliateSello", 14));
}

START_TEST(test_comprobante_signed)
{
    afl_comprobante c = comprobante();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path;
    char *t;

    ck_assert_msg(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err) == APR_SUCCESS, "%s",
                  err);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "comprobante is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_eq(page_count(path), 1);
    t = flat_text(path);
    ck_contains(t, "Comprobante de Asignación de Número de Seguridad Social");
    ck_contains(t, "María José Muñoz Ibáñez");
    ck_contains(t, "Sello digital");
    ck_contains(t, "Cadena original");
    check_signed(pdf, len, "comprobante", &c.emision.firma, dense_text(path));
    if (getenv("AFL_DOCS_SAMPLE_DIR"))
        ck_assert_int_eq(system(apr_psprintf(pool, "cp '%s' '%s/comprobante.pdf'", path,
                                             getenv("AFL_DOCS_SAMPLE_DIR"))),
                         0);
}
END_TEST

/* Without a firma the comprobante is what it was: no sello, no seal. */
START_TEST(test_comprobante_unsigned)
{
    afl_comprobante c = comprobante();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path, *reason;
    afl_pdf_sellado s;

    memset(&c.emision.firma, 0, sizeof c.emision.firma);
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_assert_ptr_null(strstr(pdf_text(path), "Sello digital"));
    ck_assert_ptr_null(memmem(pdf, len, "/AfiliateSello", 14));
    ck_assert_int_eq(afl_pdf_extract(pool, pdf, len, &s, &reason), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(verify_reason(pdf, len, key), "no sello digital"));

    /* cadena and QR without a key: drawn, but not sealed */
    c = comprobante();
    c.emision.firma.key = NULL;
    c.emision.firma.sello = "c2VsbG8=";
    c.emision.firma.no_serie = "0123456789ABCDEF0123";
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_contains(pdf_text(path), "c2VsbG8=");
    ck_assert_ptr_null(memmem(pdf, len, "/AfiliateSello", 14));
}
END_TEST

/* Every CP1252 letter in the name, with the sello and QR: still within the
 * size budget. */
START_TEST(test_comprobante_full_repertoire_size)
{
    afl_comprobante c = comprobante();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path;

    c.persona.nombres = "ÁÉÍÓÚÜÑ ÀÈÌÒÙ ÂÊÎÔÛ ÄËÏÖ Ç Ã Õ Ø Å Æ Œ Š Ž Ÿ Ý ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    c.persona.primer_apellido =
        "áéíóúüñ àèìòù âêîôû äëïö ç ã õ ø å æ œ š ž ÿ ý ß abcdefghijklmnopqrstuvwxyz";
    c.persona.segundo_apellido = "¿¡ «» –— ‘’ “” € °ºª #$%&*+/<=>@[]^_{|}~ 0123456789 ,.;:!?'\"()";
    c.emision.firma = firma(AFL_CADENA_ASIGNACION,
                            afl_cadena_nombre(pool, c.persona.nombres, c.persona.primer_apellido,
                                              c.persona.segundo_apellido));
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "comprobante is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    ck_assert_ptr_null(verify_reason(pdf, len, key));
    /* the '|' of the name became a space in the cadena, which still parses */
    ck_assert_ptr_nonnull(strstr(c.emision.firma.cadena_original, "[]^_{ }~"));
    ck_assert_str_eq(afl_cadena_campo(pool, c.emision.firma.cadena_original, "Curp"), CURP);
}
END_TEST

START_TEST(test_tarjeta)
{
    afl_tarjeta t = tarjeta();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path, *sello;
    char *text;

    ck_assert_msg(afl_pdf_tarjeta(pool, &t, &pdf, &len, err, sizeof err) == APR_SUCCESS, "%s", err);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "tarjeta is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_eq(page_count(path), 1);
    text = flat_text(path);
    ck_contains(text, "Tarjeta de Número de Seguridad Social");
    ck_contains(text, "Recorta por la línea punteada");
    ck_contains(text, "NÚMERO DE SEGURIDAD SOCIAL (NSS)");
    ck_contains(text, NSS);
    ck_contains(text, "María José Muñoz Ibáñez");
    ck_contains(text, CURP);
    ck_contains(text, "Folio: " FOLIO);
    ck_contains(text, "Tipo de trámite:Tarjeta de NSS");
    afl_sign_sello(pool, key, t.emision.firma.cadena_original,
                   strlen(t.emision.firma.cadena_original), &sello);
    /* the sello's short form on the card */
    ck_contains(text,
                apr_pstrcat(pool, "Sello digital: ", apr_pstrndup(pool, sello, 28), "…", NULL));
    check_signed(pdf, len, "tarjeta", &t.emision.firma, dense_text(path));
    if (getenv("AFL_DOCS_SAMPLE_DIR"))
        ck_assert_int_eq(system(apr_psprintf(pool, "cp '%s' '%s/tarjeta.pdf'", path,
                                             getenv("AFL_DOCS_SAMPLE_DIR"))),
                         0);
}
END_TEST

START_TEST(test_tarjeta_long_name)
{
    afl_tarjeta t = tarjeta();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path;
    char *text;

    t.persona.nombres = "María Guadalupe de los Ángeles del Sagrado Corazón";
    t.persona.primer_apellido = "Fernández de Córdoba y Villaseñor";
    t.persona.segundo_apellido = NULL;
    t.emision.firma = firma(AFL_CADENA_TARJETA,
                            afl_cadena_nombre(pool, t.persona.nombres, t.persona.primer_apellido,
                                              t.persona.segundo_apellido));
    ck_assert_int_eq(afl_pdf_tarjeta(pool, &t, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_eq(page_count(path), 1);
    ck_assert_uint_le(len, AFL_PDF_MAX);
    text = dense_text(path);
    ck_contains(text, "Villaseñor");
    ck_assert_ptr_null(verify_reason(pdf, len, key));
}
END_TEST

static char *build_constancia(const afl_constancia *c, const char **path, size_t *lenp)
{
    const unsigned char *pdf;
    size_t len;
    char err[256];

    ck_assert_msg(afl_pdf_constancia(pool, c, &pdf, &len, err, sizeof err) == APR_SUCCESS, "%s",
                  err);
    *path = write_pdf(pdf, len);
    /* the budget is for one page; a second one may take as much again */
    ck_assert_msg(len <= (page_count(*path) == 1 ? 1 : 2) * AFL_PDF_MAX, "constancia is %zu bytes",
                  len);
    ck_assert(qpdf_ok(*path));
    ck_assert_ptr_null(verify_reason(pdf, len, key));
    if (lenp)
        *lenp = len;
    return flat_text(*path);
}

START_TEST(test_constancia_vigente)
{
    afl_constancia c = constancia("2027-01-31");
    const char *path;
    char *t = build_constancia(&c, &path, NULL);
    const unsigned char *pdf;
    size_t len;
    char err[256];

    ck_assert_int_eq(page_count(path), 1);
    ck_contains(t, "Instituto Mexicano del Seguro Social");
    ck_contains(t, "Constancia de Vigencia de Derechos");
    ck_contains(t, "Vigente: SÍ");
    ck_contains(t, "Vigente SÍ");
    ck_contains(t, "Tienes derecho a recibir atención médica");
    ck_contains(t, "María José Muñoz Ibáñez");
    ck_contains(t, CURP);
    ck_contains(t, NSS);
    ck_contains(t, "Régimen Voluntario — Modalidad 32 Seguro Facultativo");
    ck_contains(t, "Fecha de inicio de vigencia 24 de agosto de 2026");
    ck_contains(t, "Fecha de fin de vigencia 31 de enero de 2027");
    ck_contains(t, "UMF No. 10 Cuauhtémoc");
    ck_contains(t, "Av. Chapultepec 100, Col. Roma Norte, Cuauhtémoc, C.P. 06700");
    ck_contains(t, "Subdelegación Cuauhtémoc");
    ck_contains(t, "Fecha y hora de emisión 26 de noviembre de 2026, 06:00:00");
    ck_contains(t, "Folio " FOLIO);
    ck_assert_ptr_null(strstr(t, "Vigente: NO"));
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    check_signed(pdf, len, "constancia", &c.emision.firma, dense_text(path));
    ck_contains(dense_text(path), "Nombreo");
    ck_contains(t, "COMPROBANTE DE VIGENCIA DE");
    if (getenv("AFL_DOCS_SAMPLE_DIR"))
        ck_assert_int_eq(system(apr_psprintf(pool, "cp '%s' '%s/constancia.pdf'", path,
                                             getenv("AFL_DOCS_SAMPLE_DIR"))),
                         0);
}
END_TEST

START_TEST(test_constancia_no_vigente)
{
    afl_constancia c = constancia("2026-10-31");
    const char *path;
    char *t = build_constancia(&c, &path, NULL);

    ck_assert_int_eq(c.vigencia.estado, AFL_VIGENCIA_VENCIDA);
    ck_assert_int_eq(page_count(path), 1);
    ck_contains(t, "Vigente: NO");
    ck_contains(t, "Vigente NO");
    ck_contains(t, "Tu cobertura terminó el 31 de octubre de 2026");
    ck_contains(t, "Fecha de inicio de vigencia 24 de agosto de 2026");
    ck_contains(t, "Fecha de fin de vigencia 31 de octubre de 2026");
    ck_assert_ptr_null(strstr(t, "SÍ"));
}
END_TEST

START_TEST(test_constancia_other_states)
{
    afl_constancia c = constancia(NULL); /* open */
    const char *path;
    char *t = build_constancia(&c, &path, NULL);

    ck_contains(t, "Vigente: SÍ");
    ck_contains(t, "Sin fecha de término");
    ck_contains(t, "mientras conserves tu condición de estudiante");

    /* no coverage at all: NO, no dates, no UMF */
    c = constancia(NULL);
    memset(&c.vigencia, 0, sizeof c.vigencia);
    c.umf = NULL;
    c.umf_domicilio = NULL;
    c.subdelegacion = "";
    t = build_constancia(&c, &path, NULL);
    ck_contains(t, "Vigente: NO");
    ck_contains(t, "No hay un periodo de cobertura registrado");
    ck_contains(t, "Fecha de inicio de vigencia Sin registro");
    ck_contains(t, "Unidad de Medicina Familiar Sin asignar");
    ck_assert_ptr_null(strstr(t, "Subdelegación"));

    /* coverage that starts later */
    {
        afl_movimiento m = {AFL_MOV_ALTA, D("2027-01-10"), D("2027-06-30")};
        c = constancia(NULL);
        afl_vigencia_eval(pool, &m, 1, D("2026-11-26"), &c.vigencia);
        t = build_constancia(&c, &path, NULL);
        ck_contains(t, "Vigente: NO");
        ck_contains(t, "Tu cobertura inicia el 10 de enero de 2027");
    }
    /* a re-enrolment reported ahead */
    {
        afl_movimiento m[2] = {{AFL_MOV_ALTA, D("2026-01-10"), D("2026-07-31")},
                               {AFL_MOV_ALTA, D("2027-01-10"), D("2027-06-30")}};
        c = constancia(NULL);
        afl_vigencia_eval(pool, m, 2, D("2026-11-26"), &c.vigencia);
        t = build_constancia(&c, &path, NULL);
        ck_contains(t, "Vigente: NO");
        ck_contains(t, "Nueva vigencia a partir del 10 de enero de 2027");
    }
}
END_TEST

/* Long names and address flow onto a second page, inside the budget. */
START_TEST(test_constancia_long)
{
    afl_constancia c = constancia("2027-01-31");
    const char *path;
    size_t len;
    char *t;
    char *huge = apr_palloc(pool, 1200);
    size_t i;

    for (i = 0; i + 6 < 1200; i += 6)
        memcpy(huge + i, "Ñandú ", 6);
    huge[i] = '\0';
    c.persona.nombres = "ÁÉÍÓÚÜÑ ÀÈÌÒÙ ÂÊÎÔÛ ÄËÏÖ Ç Ã Õ Ø Å Æ Œ Š Ž Ÿ Ý ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    c.persona.primer_apellido =
        "áéíóúüñ àèìòù âêîôû äëïö ç ã õ ø å æ œ š ž ÿ ý ß abcdefghijklmnopqrstuvwxyz";
    c.persona.segundo_apellido = "¿¡ «» –— ‘’ “” € °ºª #$%&*+/<=>@[]^_{|}~ 0123456789 ,.;:!?'\"()";
    c.umf_domicilio = huge;
    c.emision.firma = firma(AFL_CADENA_CONSTANCIA,
                            afl_cadena_nombre(pool, c.persona.nombres, c.persona.primer_apellido,
                                              c.persona.segundo_apellido));
    t = build_constancia(&c, &path, &len);
    ck_assert_int_ge(page_count(path), 2);
    ck_contains(t, "ÁÉÍÓÚÜÑ");
    ck_contains(t, "Sello digital");
}
END_TEST

/* The same inputs give the same file, byte for byte (deterministic seal). */
START_TEST(test_deterministic)
{
    afl_constancia c = constancia("2027-01-31");
    const unsigned char *a, *b;
    size_t alen, blen;
    char err[256];
    const afl_pdf_font *f, *fb;

    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &a, &alen, err, sizeof err), APR_SUCCESS);
    afl_pdfcache_clear(); /* rendered again, not served from the cache */
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &b, &blen, err, sizeof err), APR_SUCCESS);
    ck_assert(alen == blen && memcmp(a, b, alen) == 0);
    /* with an embedded TrueType font too */
    ck_assert_int_eq(afl_pdf_font_load(pool, FONT, &f), APR_SUCCESS);
    ck_assert_int_eq(afl_pdf_font_load(pool, FONT_BOLD, &fb), APR_SUCCESS);
    c.emision.font = f;
    c.emision.font_bold = fb;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &a, &alen, err, sizeof err), APR_SUCCESS);
    afl_pdfcache_clear(); /* rendered again, not served from the cache */
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &b, &blen, err, sizeof err), APR_SUCCESS);
    ck_assert(alen == blen && memcmp(a, b, alen) == 0);
    ck_assert_ptr_null(verify_reason(a, alen, key));
}
END_TEST

/* A second request for the same input is served from the cache, byte for
 * byte; any changed field is another document. */
START_TEST(test_cache)
{
    afl_comprobante c = comprobante();
    afl_tarjeta t = tarjeta();
    const unsigned char *a, *b, *x;
    size_t alen, blen, xlen;
    char err[256];
    afl_pdfcache_stats s0, s1;

    afl_pdfcache_clear();
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &a, &alen, err, sizeof err), APR_SUCCESS);
    afl_pdfcache_get_stats(&s0);
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &b, &blen, err, sizeof err), APR_SUCCESS);
    afl_pdfcache_get_stats(&s1);
    ck_assert_uint_eq(s1.hits, s0.hits + 1);
    ck_assert(a != b && alen == blen && memcmp(a, b, alen) == 0);
    ck_assert_ptr_null(verify_reason(b, blen, key));

    /* a field that changes: another document, rendered */
    c.umf = "UMF No. 11 Coyoacán";
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert(xlen != alen || memcmp(x, a, alen) != 0);
    c.umf = "UMF No. 10 Cuauhtémoc";
    c.emision.firma.verify_url =
        afl_qr_verify_url(pool, "https://otro.example.gob.mx/afiliate", FOLIO);
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert(xlen != alen || memcmp(x, a, alen) != 0);
    c.emision.firma.verify_url = afl_qr_verify_url(pool, BASE, FOLIO);
    c.emision.issued += apr_time_from_sec(1);
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert(xlen != alen || memcmp(x, a, alen) != 0);
    /* the same names in another kind of document are not the comprobante */
    ck_assert_int_eq(afl_pdf_tarjeta(pool, &t, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert(xlen != alen || memcmp(x, a, alen) != 0);
    /* a failed document is not kept: it fails again */
    c.emision.issued -= apr_time_from_sec(1);
    c.emision.firma.sello = "AAAA";
    ck_assert_int_ne(afl_pdf_comprobante(pool, &c, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert_int_ne(afl_pdf_comprobante(pool, &c, &x, &xlen, err, sizeof err), APR_SUCCESS);
    ck_assert_ptr_null(x);
}
END_TEST

/* Any change to a sealed file fails verification. */
START_TEST(test_tamper)
{
    afl_constancia c = constancia("2026-10-31");
    const unsigned char *pdf;
    size_t len, at;
    char err[256];
    unsigned char *x;
    const char *r;
    const unsigned char *hit;

    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    ck_assert_ptr_null(verify_reason(pdf, len, key));
    /* one bit anywhere: every 97th byte, and the last one */
    for (at = 0; at < len; at += (at + 97 < len || at == len - 1) ? 97 : len - 1 - at) {
        x = apr_pmemdup(pool, pdf, len);
        x[at] ^= 0x04;
        r = verify_reason(x, len, key);
        ck_assert_msg(r != NULL, "byte %zu changed and the document still verifies", at);
        if (at == len - 1)
            break;
    }
    /* the cadena's NSS digit in the seal dictionary */
    hit = memmem(pdf, len, "/CadenaOriginal <", 17);
    ck_assert_ptr_nonnull(hit);
    x = apr_pmemdup(pool, pdf, len);
    x[hit - pdf + 17 + 40] = x[hit - pdf + 17 + 40] == '1' ? '2' : '1';
    ck_assert_ptr_nonnull(strstr(verify_reason(x, len, key), "altered"));
    /* bytes appended (an incremental update), or cut */
    x = apr_palloc(pool, len + 20);
    memcpy(x, pdf, len);
    memcpy(x + len, "\n% appended update\n", 19);
    ck_assert_ptr_nonnull(strstr(verify_reason(x, len + 19, key), "altered"));
    ck_assert_ptr_nonnull(verify_reason(pdf, len - 10, key));
    /* the document seal zeroed (as before signing) */
    hit = memmem(pdf, len, "/SelloDocumento <", 17);
    x = apr_pmemdup(pool, pdf, len);
    memset(x + (hit - pdf) + 17, '0', 128);
    ck_assert_ptr_nonnull(strstr(verify_reason(x, len, key), "altered"));
    /* a second seal dictionary */
    x = apr_palloc(pool, len + 40);
    memcpy(x, pdf, len);
    memcpy(x + len, "/AfiliateSello << >>", 20);
    ck_assert_ptr_nonnull(verify_reason(x, len + 20, key));
    /* not a PDF */
    ck_assert_ptr_nonnull(strstr(verify_reason((const unsigned char *)"hello", 5, key), "PDF"));
}
END_TEST

/* Text altered by a PDF tool (qpdf uncompresses, "NO" becomes "SÍ"): the
 * file changed, so it fails, whatever a viewer shows. */
START_TEST(test_tamper_with_qpdf)
{
    afl_constancia c = constancia("2026-10-31");
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const char *path, *qdf, *out;
    FILE *f;
    long n;
    unsigned char *buf, *hit;

    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    qdf = apr_pstrcat(pool, path, ".qdf.pdf", NULL);
    out = apr_pstrcat(pool, path, ".edited.pdf", NULL);
    ck_assert_int_eq(
        system(apr_psprintf(pool, "qpdf --qdf --object-streams=disable '%s' '%s'", path, qdf)), 0);
    f = fopen(qdf, "rb");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (size_t)n);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    hit = memmem(buf, (size_t)n, "(NO) Tj", 7);
    ck_assert_ptr_nonnull(hit);
    memcpy(hit, "(S\xCD) Tj", 7);
    f = fopen(out, "wb");
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
    /* the rewritten seal dictionary (literal strings now) still reads the same */
    {
        afl_pdf_sellado s;
        const char *reason;
        ck_assert_int_eq(afl_pdf_extract(pool, buf, (size_t)n, &s, &reason), APR_SUCCESS);
        ck_assert_str_eq(s.cadena_original, c.emision.firma.cadena_original);
        ck_assert_str_eq(s.no_serie, afl_sign_serial(key));
    }
    /* the forgery displays SÍ, and does not verify */
    ck_contains(flat_text(out), "Vigente: SÍ");
    ck_assert_ptr_nonnull(strstr(verify_reason(buf, (size_t)n, key), "altered"));
}
END_TEST

START_TEST(test_wrong_key_and_extract)
{
    afl_tarjeta t = tarjeta();
    const unsigned char *pdf;
    size_t len;
    char err[256];
    const afl_sign_key *other;
    afl_pdf_sellado s;
    const char *reason, *pem;
    const afl_sign_key *pub;

    ck_assert_int_eq(afl_pdf_tarjeta(pool, &t, &pdf, &len, err, sizeof err), APR_SUCCESS);
    ck_assert_int_eq(afl_sign_generate(pool, &other, err, sizeof err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(verify_reason(pdf, len, other), "another key"));
    /* the public half alone verifies */
    pem = afl_sign_public_pem(pool, key);
    ck_assert_int_eq(afl_sign_public_from_pem(pool, pem, strlen(pem), &pub, err, sizeof err),
                     APR_SUCCESS);
    ck_assert_ptr_null(verify_reason(pdf, len, pub));
    ck_assert_int_eq(afl_pdf_verify(pool, pdf, len, NULL, NULL, &reason), 1);
    /* extract reads without checking */
    ck_assert_int_eq(afl_pdf_extract(pool, pdf, len, &s, &reason), APR_SUCCESS);
    ck_assert_str_eq(s.tipo, "tarjeta");
    ck_assert_str_eq(s.folio, FOLIO);
    ck_assert_str_eq(s.cadena_original, t.emision.firma.cadena_original);
    ck_assert_str_eq(s.no_serie, afl_sign_serial(key));
}
END_TEST

/* A key made elsewhere (RSA-2048) seals and verifies too. */
START_TEST(test_rsa_sealed)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIO *b = BIO_new(BIO_s_mem());
    char *pem, err[256];
    long n;
    const afl_sign_key *rsa;
    afl_constancia c = constancia("2027-01-31");
    const unsigned char *pdf;
    size_t len;
    const char *path;

    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &pem);
    ck_assert_int_eq(afl_sign_private_from_pem(pool, pem, (size_t)n, &rsa, err, sizeof err),
                     APR_SUCCESS);
    BIO_free(b);
    EVP_PKEY_free(pk);
    c.emision.firma.key = rsa;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_assert_uint_le(len, AFL_PDF_MAX);
    ck_assert_int_eq(page_count(path), 1);
    ck_assert_ptr_null(verify_reason(pdf, len, rsa));
    ck_assert_ptr_nonnull(verify_reason(pdf, len, key));
}
END_TEST

START_TEST(test_firma_errors)
{
    afl_constancia c = constancia("2027-01-31");
    afl_tarjeta t = tarjeta();
    const unsigned char *pdf = (const unsigned char *)"x";
    size_t len = 1;
    char err[256];
    const char *pem = afl_sign_public_pem(pool, key);
    const afl_sign_key *pub;
    char *longurl = apr_palloc(pool, AFL_QR_MAX_TEXT + 10);

    /* a key without a cadena */
    c.emision.firma.cadena_original = NULL;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert_ptr_null(pdf);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(strstr(err, "cadena"));
    /* a cadena of another folio, a sello or serial that are not the key's */
    c = constancia("2027-01-31");
    c.emision.folio = "179569440000000000124";
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "folio"));
    c = constancia("2027-01-31");
    afl_sign_sello(pool, key, "other data", 10, &c.emision.firma.sello);
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    c = constancia("2027-01-31");
    c.emision.firma.no_serie = "0123456789ABCDEF0123";
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    /* the right sello and serial given explicitly are accepted */
    c = constancia("2027-01-31");
    afl_sign_sello(pool, key, c.emision.firma.cadena_original,
                   strlen(c.emision.firma.cadena_original), &c.emision.firma.sello);
    c.emision.firma.no_serie = afl_sign_serial(key);
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_SUCCESS);
    /* a public key cannot seal */
    c = constancia("2027-01-31");
    afl_sign_public_from_pem(pool, pem, strlen(pem), &pub, err, sizeof err);
    c.emision.firma.key = pub;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    /* a URL too long for a QR code */
    memset(longurl, 'a', AFL_QR_MAX_TEXT + 5);
    longurl[AFL_QR_MAX_TEXT + 5] = '\0';
    t.emision.firma.verify_url = longurl;
    ck_assert_int_ne(afl_pdf_tarjeta(pool, &t, &pdf, &len, err, sizeof err), APR_SUCCESS);
    ck_assert_ptr_null(pdf);
    /* missing fields, an impossible vigencia */
    t = tarjeta();
    t.persona.curp = "";
    ck_assert_int_eq(afl_pdf_tarjeta(pool, &t, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert_int_eq(afl_pdf_tarjeta(pool, NULL, &pdf, &len, NULL, 0), APR_EINVAL);
    c = constancia("2027-01-31");
    c.vigencia.hasta = c.vigencia.desde - 1;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    c = constancia("2027-01-31");
    c.vigencia.estado = (afl_vigencia_estado)9;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    c = constancia("2027-01-31");
    c.emision.folio = NULL;
    ck_assert_int_eq(afl_pdf_constancia(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert(strstr(err, "María") == NULL && strstr(err, "MUIM") == NULL);
}
END_TEST

typedef struct {
    int dark;
    int bad;
    int width;
} qr_count;

static void count_run(void *baton, int row, int col, int len)
{
    qr_count *c = baton;

    c->dark += len;
    if (row < 0 || col < 0 || len <= 0 || col + len > c->width || row >= c->width)
        c->bad++;
}

typedef struct {
    const afl_qr *qr;
    unsigned char *cover; /* times each module is covered */
    int rects, bad;
} qr_cover;

static void cover_rect(void *baton, int row, int col, int w, int h)
{
    qr_cover *c = baton;

    c->rects++;
    if (row < 0 || col < 0 || w <= 0 || h <= 0 || col + w > c->qr->width ||
        row + h > c->qr->width) {
        c->bad++;
        return;
    }
    for (int r = row; r < row + h; r++)
        for (int k = col; k < col + w; k++)
            c->cover[r * c->qr->width + k]++;
}

static void count_runs(void *baton, int row, int col, int len)
{
    (void)row;
    (void)col;
    (void)len;
    (*(int *)baton)++;
}

START_TEST(test_qr)
{
    afl_qr qr;
    qr_count c = {0, 0, 0};
    qr_cover cv = {0};
    int dark = 0, runs = 0;

    ck_assert_int_eq(afl_qr_encode(pool, afl_qr_verify_url(pool, BASE, FOLIO), &qr), APR_SUCCESS);
    ck_assert_int_ge(qr.version, 1);
    ck_assert_int_le(qr.version, 5);
    ck_assert_int_eq(qr.width, 17 + 4 * qr.version);
    /* the three finder patterns: dark 7x7 borders at three corners */
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(qr.modules[i], 1);                             /* top-left, top row */
        ck_assert_int_eq(qr.modules[i * qr.width], 1);                  /* top-left, left column */
        ck_assert_int_eq(qr.modules[qr.width - 1 - i], 1);              /* top-right */
        ck_assert_int_eq(qr.modules[(qr.width - 1) * qr.width + i], 1); /* bottom-left */
    }
    for (int i = 0; i < qr.width * qr.width; i++) {
        ck_assert(qr.modules[i] == 0 || qr.modules[i] == 1);
        dark += qr.modules[i];
    }
    c.width = qr.width;
    afl_qr_runs(&qr, count_run, &c);
    ck_assert_int_eq(c.dark, dark);
    ck_assert_int_eq(c.bad, 0);
    /* the rectangles cover every dark module once and no light one, with
     * fewer rectangles than runs */
    cv.qr = &qr;
    cv.cover = apr_pcalloc(pool, (size_t)qr.width * (size_t)qr.width);
    ck_assert_int_eq(afl_qr_rects(pool, &qr, cover_rect, &cv), APR_SUCCESS);
    ck_assert_int_eq(cv.bad, 0);
    for (int i = 0; i < qr.width * qr.width; i++)
        ck_assert_int_eq(cv.cover[i], qr.modules[i]);
    afl_qr_runs(&qr, count_runs, &runs);
    ck_assert_int_lt(cv.rects, runs);
    ck_assert_int_eq(afl_qr_encode(pool, "", &qr), APR_EINVAL);
    ck_assert_int_eq(afl_qr_encode(pool, NULL, &qr), APR_EINVAL);
}
END_TEST

/* Documents built concurrently with one key, in the standard fonts and in an
 * embedded TrueType one. */
typedef struct {
    afl_constancia c[2]; /* built by the main thread: the test pool is not shared */
    int bad;
} job;

static void *doc_worker(void *arg)
{
    job *j = arg;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    for (int i = 0; i < 10; i++) {
        const afl_constancia *c = &j->c[i % 2];
        const unsigned char *pdf;
        size_t len;
        char err[256];
        const char *reason;

        if (afl_pdf_constancia(p, c, &pdf, &len, err, sizeof err) != APR_SUCCESS ||
            afl_pdf_verify(p, pdf, len, key, NULL, &reason) != 0)
            j->bad++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t t[4];
    job j[4];
    const afl_pdf_font *f, *fb;

    ck_assert_int_eq(afl_pdf_font_load(pool, FONT, &f), APR_SUCCESS);
    ck_assert_int_eq(afl_pdf_font_load(pool, FONT_BOLD, &fb), APR_SUCCESS);
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 2; k++) {
            j[i].c[k] = constancia(k ? "2027-01-31" : "2026-10-31");
            j[i].c[k].emision.font = k ? f : NULL;
            j[i].c[k].emision.font_bold = k ? fb : NULL;
        }
        j[i].bad = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, doc_worker, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(j[i].bad, 0);
    }
}
END_TEST

static Suite *docs_suite(void)
{
    Suite *s = suite_create("docs_pdf");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_comprobante_signed);
    tcase_add_test(tc, test_comprobante_unsigned);
    tcase_add_test(tc, test_comprobante_full_repertoire_size);
    tcase_add_test(tc, test_tarjeta);
    tcase_add_test(tc, test_tarjeta_long_name);
    tcase_add_test(tc, test_constancia_vigente);
    tcase_add_test(tc, test_constancia_no_vigente);
    tcase_add_test(tc, test_constancia_other_states);
    tcase_add_test(tc, test_constancia_long);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_tamper_with_qpdf);
    tcase_add_test(tc, test_wrong_key_and_extract);
    tcase_add_test(tc, test_rsa_sealed);
    tcase_add_test(tc, test_firma_errors);
    tcase_add_test(tc, test_qr);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setenv("TZ", "America/Mexico_City", 1);
    tzset();
    return check_main_tmpdir(docs_suite, tmpdir, "test_docs_pdf");
}
