/* Unit tests for afl_pdf: the comprobante, checked with poppler's pdftotext,
 * pdffonts and qpdf --check (installed by scripts/deps.sh test); a TrueType
 * font reduced with fontTools' pyftsubset (python3-fonttools) as
 * docs/documents.md tells. */
#include <check.h>
#include "check_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "afl_cadena.h"
#include "afl_pdf.h"

#define FONT_DIR "/usr/share/fonts/truetype/dejavu/"
#define FONT FONT_DIR "DejaVuSans.ttf"
#define FONT_BOLD FONT_DIR "DejaVuSans-Bold.ttf"

/* The names of test_asignacion with every accented letter Spanish uses, as
 * pdftotext must give them back. */
#define NOMBRES "María José Ángel Éricka Íñigo Óscar Úrsula"
#define APELLIDO1 "Muñoz Güémez"
#define APELLIDO2 "Ibáñez ¿Ñúñez? ¡Peña!"

/* 2026-11-26 12:00:00 UTC = 06:00:00 in Mexico City (UTC-6, no DST since
 * 2022); main() sets TZ so the expected strings are fixed. */
#define ISSUED apr_time_from_sec(1795694400)

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/afl_test_pdf_XXXXXX";

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static afl_comprobante sample(int localizacion)
{
    afl_comprobante c = {0};

    c.localizacion = localizacion;
    c.persona.nombres = "María José";
    c.persona.primer_apellido = "Muñoz";
    c.persona.segundo_apellido = "Ibáñez";
    c.persona.curp = "MUIM050315MNLXBRA1";
    c.persona.nss = "12345678903";
    c.sexo = 'M';
    c.entidad_nacimiento = localizacion ? "Ciudad de México" : "Nuevo León";
    c.umf = localizacion ? NULL : "UMF No. 10 Cuauhtémoc";
    c.emision.folio = "1795694400000000123";
    c.emision.issued = ISSUED;
    return c;
}

static const unsigned char *build(const afl_comprobante *c, size_t *len)
{
    const unsigned char *pdf = NULL;
    char err[256] = "unset";
    apr_status_t rv = afl_pdf_comprobante(pool, c, &pdf, len, err, sizeof err);

    ck_assert_msg(rv == APR_SUCCESS, "afl_pdf_comprobante: %d %s", rv, err);
    ck_assert_ptr_nonnull(pdf);
    ck_assert_uint_gt(*len, 100);
    return pdf;
}

static const char *write_pdf(const unsigned char *pdf, size_t len)
{
    static int n;
    const char *path = apr_psprintf(pool, "%s/doc%d.pdf", tmpdir, n++);
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

/* The output of a command, as one string. */
static char *command_output(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    char *buf = apr_palloc(pool, 65536);
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    pclose(f);
    return buf;
}

/* Text of the PDF as pdftotext extracts it (UTF-8). */
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

START_TEST(test_asignacion)
{
    afl_comprobante c = sample(0);
    size_t len;
    const unsigned char *pdf = build(&c, &len);
    const char *path = write_pdf(pdf, len);
    char *t;

    ck_assert_int_eq(memcmp(pdf, "%PDF-", 5), 0);
    ck_assert_msg(len <= AFL_PDF_MAX, "PDF is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_eq(page_count(path), 1);
    {
        /* the standard fonts, nothing embedded */
        char *fonts = command_output(apr_psprintf(pool, "pdffonts '%s' 2>&1", path));
        ck_contains(fonts, "Helvetica ");
        ck_contains(fonts, "Helvetica-Bold ");
        ck_contains(fonts, "WinAnsi");
        ck_assert_msg(strstr(fonts, " yes ") == NULL, "a font is embedded:\n%s", fonts);
    }
    t = pdf_text(path);
    ck_contains(t, "Instituto Mexicano del Seguro Social");
    ck_contains(t, "Comprobante de Asignación de Número de Seguridad Social");
    ck_contains(t, "Asignación de NSS");
    ck_contains(t, "María José Muñoz Ibáñez");
    ck_contains(t, "MUIM050315MNLXBRA1");
    ck_contains(t, "12345678903");
    ck_contains(t, "Mujer");
    ck_contains(t, "Nuevo León");
    ck_contains(t, "UMF No. 10 Cuauhtémoc");
    ck_contains(t, "26 de noviembre de 2026");
    ck_contains(t, "06:00:00");
    ck_contains(t, "1795694400000000123");
    ck_contains(t, "Unidad de Medicina Familiar");
    ck_contains(t, "permanente y único");
    ck_assert(strstr(t, "Localización") == NULL);
    if (getenv("AFL_PDF_SAMPLE")) {
        FILE *f = fopen(getenv("AFL_PDF_SAMPLE"), "wb");
        ck_assert_ptr_nonnull(f);
        fwrite(pdf, 1, len, f);
        fclose(f);
        fprintf(stderr, "sample %s: %zu bytes\n", getenv("AFL_PDF_SAMPLE"), len);
    }
}
END_TEST

/* Every accented letter, upper and lower case, ü, ñ, Ñ, ¿ and ¡ come back
 * from pdftotext exactly as they went in. */
START_TEST(test_accents_exact)
{
    afl_comprobante c = sample(0);
    size_t len;
    const unsigned char *pdf;
    const char *path;
    char *t;

    c.persona.nombres = NOMBRES;
    c.persona.primer_apellido = APELLIDO1;
    c.persona.segundo_apellido = APELLIDO2;
    c.entidad_nacimiento = "ÁÉÍÓÚ ÜÑ áéíóú üñ";
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "PDF is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    t = pdf_text(path);
    for (char *q = t; *q; q++) /* the name wraps in its column: lines as spaces */
        if (*q == '\n')
            *q = ' ';
    ck_contains(t, NOMBRES " " APELLIDO1 " " APELLIDO2);
    ck_contains(t, "ÁÉÍÓÚ ÜÑ áéíóú üñ");
}
END_TEST

START_TEST(test_localizacion)
{
    afl_comprobante c = sample(1);
    size_t len;
    const unsigned char *pdf;
    const char *path;
    char *t;

    c.persona.segundo_apellido = NULL;
    c.sexo = 'X';
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "PDF is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    t = pdf_text(path);
    ck_contains(t, "Localización de NSS");
    ck_contains(t, "Comprobante de Localización de Número de Seguridad Social");
    ck_contains(t, "María José Muñoz");
    ck_assert(strstr(t, "Ibáñez") == NULL);
    ck_contains(t, "No binario");
    ck_contains(t, "Ciudad de México");
    ck_contains(t, "Sin asignar");
    ck_contains(t, "26 de noviembre de 2026");
    ck_assert(strstr(t, "Asignación de NSS") == NULL);
}
END_TEST

/* Every CP1252 letter and sign a name could bring: still within the size
 * budget (glyphs are subset) and still extracted correctly. */
START_TEST(test_full_repertoire_size)
{
    afl_comprobante c = sample(0);
    size_t len;
    const unsigned char *pdf;
    const char *path;
    char *t;

    c.persona.nombres = "ÁÉÍÓÚÜÑ ÀÈÌÒÙ ÂÊÎÔÛ ÄËÏÖ Ç Ã Õ Ø Å Æ Œ Š Ž Ÿ Ý ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    c.persona.primer_apellido =
        "áéíóúüñ àèìòù âêîôû äëïö ç ã õ ø å æ œ š ž ÿ ý ß abcdefghijklmnopqrstuvwxyz";
    c.persona.segundo_apellido = "¿¡ «» –— ‘’ “” € °ºª #$%&*+/<=>@[]^_{|}~ 0123456789 ,.;:!?'\"()";
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert_msg(len <= AFL_PDF_MAX, "PDF is %zu bytes", len);
    ck_assert(qpdf_ok(path));
    t = pdf_text(path);
    ck_contains(t, "ÁÉÍÓÚÜÑ");
    ck_contains(t, "áéíóúüñ");
    ck_contains(t, "€");
    ck_contains(t, "Œ Š Ž Ÿ");
}
END_TEST

/* Outside CP1252: an emoji, a Cyrillic letter, invalid UTF-8, a truncated
 * sequence, control characters. Each becomes '?' (or a space); the PDF is
 * still produced and valid. */
START_TEST(test_outside_cp1252)
{
    afl_comprobante c = sample(0);
    size_t len;
    const unsigned char *pdf;
    const char *path;
    char *t;

    c.persona.nombres = "Zoë \xF0\x9F\x98\x80 Жанна";
    c.persona.primer_apellido = "Bad\xFF\xFEUtf";
    c.persona.segundo_apellido = "Cut\xE2\x82";
    c.umf = "UMF\tNo.\n10";
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    t = pdf_text(path);
    ck_contains(t, "Zoë ? ?????");
    ck_contains(t, "Bad??Utf");
    ck_contains(t, "Cut?");
    ck_contains(t, "UMF No. 10");
}
END_TEST

/* A long name wraps inside its column and stays on one page. */
START_TEST(test_long_name_wraps)
{
    afl_comprobante c = sample(1);
    const unsigned char *pdf;
    size_t len;
    const char *path;
    char *t;

    c.persona.nombres = "María Guadalupe de los Ángeles del Sagrado Corazón";
    c.persona.primer_apellido = "Fernández de Córdoba y Villaseñor";
    c.persona.segundo_apellido = "Ibáñez de la Peña Santibáñez";
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_eq(page_count(path), 1);
    t = pdf_text(path);
    ck_contains(t, "Villaseñor");
    ck_contains(t, "Santibáñez");
}
END_TEST

/* Content that cannot fit flows onto a second page instead of running
 * into the footer. */
START_TEST(test_overflow_adds_page)
{
    afl_comprobante c = sample(1);
    char *huge = apr_palloc(pool, 3000);
    const unsigned char *pdf;
    size_t len, i;
    const char *path;

    for (i = 0; i + 6 < 3000; i += 6)
        memcpy(huge + i, "Ñandú ", 6);
    huge[i] = '\0';
    c.umf = huge;
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_assert_int_ge(page_count(path), 2);
}
END_TEST

/* A TrueType face instead of the standard fonts: embedded (only the glyphs
 * used), text still extracted; without a bold face the regular one is
 * stroked for labels. */
START_TEST(test_truetype)
{
    afl_comprobante c = sample(0);
    const afl_pdf_font *f = NULL, *fb = NULL;
    const unsigned char *pdf;
    size_t len;
    const char *path;
    char *fonts;

    ck_assert_int_eq(afl_pdf_font_load(pool, FONT, &f), APR_SUCCESS);
    ck_assert_int_eq(afl_pdf_font_load(pool, FONT_BOLD, &fb), APR_SUCCESS);
    ck_assert_str_eq(afl_pdf_font_path(f), FONT);
    ck_assert_ptr_null(afl_pdf_font_path(NULL));
    c.emision.font = f;
    c.emision.font_bold = fb;
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_contains(pdf_text(path), "María José Muñoz Ibáñez");
    fonts = command_output(apr_psprintf(pool, "pdffonts '%s' 2>&1", path));
    ck_contains(fonts, "+DejaVuSans,");
    ck_contains(fonts, "+DejaVuSans-Bold,");
    ck_contains(fonts, "TrueType          WinAnsi          yes yes"); /* embedded, subset */
    ck_assert_msg(strstr(fonts, "Helvetica") == NULL, "%s", fonts);

    c.emision.font_bold = NULL;
    pdf = build(&c, &len);
    path = write_pdf(pdf, len);
    ck_assert(qpdf_ok(path));
    ck_contains(pdf_text(path), "María José Muñoz Ibáñez");
    fonts = command_output(apr_psprintf(pool, "pdffonts '%s' 2>&1", path));
    ck_assert_msg(strstr(fonts, "Bold") == NULL && strstr(fonts, "Helvetica") == NULL, "%s", fonts);
}
END_TEST

/* The reduction docs/documents.md gives (pyftsubset to Windows-1252, no
 * hinting, no layout tables) yields a font libharu embeds: the document is
 * much smaller than with the whole face and reads the same. */
START_TEST(test_truetype_pyftsubset)
{
    afl_comprobante c = sample(0);
    const afl_pdf_font *whole = NULL, *small = NULL;
    const char *out = apr_psprintf(pool, "%s/DejaVuSans-cp1252.ttf", tmpdir);
    const unsigned char *pdf;
    size_t whole_len, small_len;
    const char *path;

    ck_assert_int_eq(
        system(apr_psprintf(pool,
                            "/usr/bin/python3 -m fontTools.subset '%s' "
                            "--unicodes='U+0020-007E,U+00A0-00FF,U+0152-0153,"
                            "U+0160-0161,U+0178,U+017D-017E,U+0192,U+02C6,U+02DC,U+2013-2014,"
                            "U+2018-201A,U+201C-201E,U+2020-2022,U+2026,U+2030,U+2039-203A,"
                            "U+20AC,U+2122' --no-hinting --layout-features='' "
                            "--output-file='%s' 2>/dev/null",
                            FONT, out)),
        0);
    ck_assert_int_eq(afl_pdf_font_load(pool, FONT, &whole), APR_SUCCESS);
    ck_assert_int_eq(afl_pdf_font_load(pool, out, &small), APR_SUCCESS);
    c.emision.font = whole;
    build(&c, &whole_len);
    c.emision.font = small;
    pdf = build(&c, &small_len);
    path = write_pdf(pdf, small_len);
    ck_assert_msg(small_len * 2 < whole_len, "reduced %zu bytes, whole %zu", small_len, whole_len);
    ck_assert(qpdf_ok(path));
    ck_contains(pdf_text(path), "María José Muñoz Ibáñez");
    ck_contains(pdf_text(path), "Comprobante de Asignación de Número de Seguridad Social");
}
END_TEST

START_TEST(test_font_load_errors)
{
    const afl_pdf_font *f = (const afl_pdf_font *)1;
    const char *junk = apr_psprintf(pool, "%s/junk.ttf", tmpdir);
    FILE *fp;

    ck_assert_int_eq(afl_pdf_font_load(pool, "/nonexistent/font.ttf", &f), APR_ENOENT);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(afl_pdf_font_load(pool, "", &f), APR_EINVAL);
    ck_assert_int_eq(afl_pdf_font_load(pool, NULL, &f), APR_EINVAL);
    ck_assert_int_eq(afl_pdf_font_load(pool, tmpdir, &f), APR_EINVAL);
    fp = fopen(junk, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs("this is not a TrueType font, just some text to fill the file up\n", fp);
    fclose(fp);
    ck_assert_int_eq(afl_pdf_font_load(pool, junk, &f), APR_EINVAL);
    ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_errors)
{
    afl_comprobante c = sample(0);
    const unsigned char *pdf = (const unsigned char *)"x";
    size_t len = 1;
    char err[256];

    /* missing required fields, bad sexo: an error, no PDF, a message
     * without personal data */
    c.persona.nss = NULL;
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert_ptr_null(pdf);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_gt(strlen(err), 0);
    ck_assert(strstr(err, "María") == NULL && strstr(err, "MUIM") == NULL);
    c = sample(0);
    c.persona.curp = "";
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    c = sample(0);
    c.sexo = 'Q';
    ck_assert_int_eq(afl_pdf_comprobante(pool, &c, &pdf, &len, err, sizeof err), APR_EINVAL);
    ck_assert_int_eq(afl_pdf_comprobante(pool, NULL, &pdf, &len, err, sizeof err), APR_EINVAL);
    /* errlen 0 is allowed */
    ck_assert_int_eq(afl_pdf_comprobante(pool, NULL, &pdf, &len, NULL, 0), APR_EINVAL);
}
END_TEST

START_TEST(test_dates)
{
    static const char *const want[12] = {"enero",      "febrero", "marzo",     "abril",
                                         "mayo",       "junio",   "julio",     "agosto",
                                         "septiembre", "octubre", "noviembre", "diciembre"};
    char buf[32];
    int m;

    for (m = 1; m <= 12; m++)
        ck_assert_str_eq(afl_cadena_mes(m), want[m - 1]);
    ck_assert_ptr_null(afl_cadena_mes(0));
    ck_assert_ptr_null(afl_cadena_mes(13));

    afl_pdf_format_date(ISSUED, buf, sizeof buf);
    ck_assert_str_eq(buf, "26 de noviembre de 2026");
    afl_pdf_format_time(ISSUED, buf, sizeof buf);
    ck_assert_str_eq(buf, "06:00:00");
    /* 2026-01-05 18:30:00 UTC = 12:30:00 local */
    afl_pdf_format_date(apr_time_from_sec(1767637800), buf, sizeof buf);
    ck_assert_str_eq(buf, "05 de enero de 2026");
    afl_pdf_format_time(apr_time_from_sec(1767637800), buf, sizeof buf);
    ck_assert_str_eq(buf, "12:30:00");
    /* the longest date fits the documented 25 bytes */
    afl_pdf_format_date(apr_time_from_sec(1788264000), buf, 25); /* 2026-09-01 06:00 local */
    ck_assert_str_eq(buf, "01 de septiembre de 2026");
    /* 2026-11-26 05:30 UTC is still the 25th in Mexico City: local date */
    afl_pdf_format_date(apr_time_from_sec(1795671000), buf, sizeof buf);
    ck_assert_str_eq(buf, "25 de noviembre de 2026");

    ck_assert_str_eq(afl_pdf_sexo_name('H'), "Hombre");
    ck_assert_str_eq(afl_pdf_sexo_name('M'), "Mujer");
    ck_assert_str_eq(afl_pdf_sexo_name('X'), "No binario");
    ck_assert_ptr_null(afl_pdf_sexo_name('h'));
}
END_TEST

/* One HPDF_Doc per call, no shared state: 4 threads produce byte-identical
 * documents. */
typedef struct {
    const unsigned char *want;
    size_t want_len;
    int ok;
} thread_arg;

static void *pdf_thread(void *v)
{
    thread_arg *t = v;
    afl_comprobante c = sample(0);
    apr_pool_t *p;
    int k;

    apr_pool_create_unmanaged(&p);
    t->ok = 1;
    for (k = 0; k < 10; k++) {
        const unsigned char *pdf;
        size_t len;
        char err[128];
        if (afl_pdf_comprobante(p, &c, &pdf, &len, err, sizeof err) != APR_SUCCESS ||
            len != t->want_len || memcmp(pdf, t->want, len) != 0)
            t->ok = 0;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_threads)
{
    afl_comprobante c = sample(0);
    pthread_t th[4];
    thread_arg args[4];
    size_t len;
    const unsigned char *want = build(&c, &len);
    int i;

    for (i = 0; i < 4; i++) {
        args[i].want = want;
        args[i].want_len = len;
        ck_assert_int_eq(pthread_create(&th[i], NULL, pdf_thread, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert(args[i].ok);
    }
}
END_TEST

static Suite *pdf_suite(void)
{
    Suite *s = suite_create("pdf");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_asignacion);
    tcase_add_test(tc, test_accents_exact);
    tcase_add_test(tc, test_localizacion);
    tcase_add_test(tc, test_full_repertoire_size);
    tcase_add_test(tc, test_outside_cp1252);
    tcase_add_test(tc, test_long_name_wraps);
    tcase_add_test(tc, test_overflow_adds_page);
    tcase_add_test(tc, test_truetype);
    tcase_add_test(tc, test_truetype_pyftsubset);
    tcase_add_test(tc, test_font_load_errors);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setenv("TZ", "America/Mexico_City", 1);
    tzset();
    return check_main_tmpdir(pdf_suite, tmpdir, "test_pdf");
}
