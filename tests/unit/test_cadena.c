/* Unit tests for afl_cadena: the exact cadena original of each document
 * (docs/domain.md, Cadena original), the escaping of values and the document folio. */
#include <check.h>
#include "check_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "afl_cadena.h"
#include "afl_qr.h"

/* 2026-11-26 12:00:00 UTC = 06:00:00 in Mexico City (UTC-6); main() sets TZ. */
#define ISSUED apr_time_from_sec(1795694400)
#define FOLIO "179569440000000000123"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static afl_cadena sample(afl_cadena_tipo tipo)
{
    afl_cadena c;

    memset(&c, 0, sizeof c);
    c.tipo = tipo;
    c.fecha = ISSUED;
    c.folio = FOLIO;
    c.nombre = "María José Muñoz Ibáñez";
    c.curp = "MUIM050315MNLXBRA1";
    c.nss = "12345678903";
    return c;
}

START_TEST(test_asignacion)
{
    afl_cadena c = sample(AFL_CADENA_ASIGNACION);

    ck_assert_str_eq(afl_cadena_original(pool, &c),
                     "||Invocante:portalimssdigital|Tipo de trámite:Asignación de NSS"
                     "|Fecha:26 de noviembre 2026, 06:00:00|Folio:179569440000000000123|RFC:"
                     "|Nombre o Razon Social:María José Muñoz Ibáñez|Curp:MUIM050315MNLXBRA1"
                     "|Número Registro Patronal:|Número de Seguridad Social:12345678903||");
}
END_TEST

START_TEST(test_localizacion_with_rfc)
{
    afl_cadena c = sample(AFL_CADENA_LOCALIZACION);

    c.rfc = "MUIM050315AB1";
    ck_assert_str_eq(afl_cadena_original(pool, &c),
                     "||Invocante:portalimssdigital|Tipo de trámite:Localización de NSS"
                     "|Fecha:26 de noviembre 2026, 06:00:00|Folio:179569440000000000123"
                     "|RFC:MUIM050315AB1|Nombre o Razon Social:María José Muñoz Ibáñez"
                     "|Curp:MUIM050315MNLXBRA1|Número Registro Patronal:"
                     "|Número de Seguridad Social:12345678903||");
}
END_TEST

START_TEST(test_tarjeta)
{
    afl_cadena c = sample(AFL_CADENA_TARJETA);

    ck_assert_str_eq(afl_cadena_original(pool, &c),
                     "||Invocante:portalimssdigital|Tipo de trámite:Tarjeta de NSS"
                     "|Fecha:26 de noviembre 2026, 06:00:00|Folio:179569440000000000123|RFC:"
                     "|Nombre o Razon Social:María José Muñoz Ibáñez|Curp:MUIM050315MNLXBRA1"
                     "|Número Registro Patronal:|Número de Seguridad Social:12345678903||");
}
END_TEST

START_TEST(test_constancia)
{
    afl_cadena c = sample(AFL_CADENA_CONSTANCIA);

    /* "Razón" with accent, no RFC part without an RFC, no Registro Patronal */
    ck_assert_str_eq(afl_cadena_original(pool, &c),
                     "||Invocante:portalimssdigital|Tipo de trámite:COMPROBANTE DE VIGENCIA DE "
                     "DERECHOHABIENTES|Fecha:26 de noviembre 2026, 06:00:00"
                     "|Folio:179569440000000000123|Nombre o Razón Social:María José Muñoz Ibáñez"
                     "|Curp:MUIM050315MNLXBRA1|Número de Seguridad Social:12345678903||");
    c.rfc = "MUIM050315AB1";
    ck_assert_str_eq(afl_cadena_original(pool, &c),
                     "||Invocante:portalimssdigital|Tipo de trámite:COMPROBANTE DE VIGENCIA DE "
                     "DERECHOHABIENTES|Fecha:26 de noviembre 2026, 06:00:00"
                     "|Folio:179569440000000000123|RFC:MUIM050315AB1"
                     "|Nombre o Razón Social:María José Muñoz Ibáñez"
                     "|Curp:MUIM050315MNLXBRA1|Número de Seguridad Social:12345678903||");
}
END_TEST

START_TEST(test_fecha)
{
    char buf[48];

    afl_cadena_fecha(ISSUED, buf, sizeof buf);
    ck_assert_str_eq(buf, "26 de noviembre 2026, 06:00:00");
    /* 2026-01-05 18:30:07 UTC = 12:30:07 local: two-digit day, 24-hour clock */
    afl_cadena_fecha(apr_time_from_sec(1767637807), buf, sizeof buf);
    ck_assert_str_eq(buf, "05 de enero 2026, 12:30:07");
    /* 2026-09-01 04:05:09 UTC = 2026-08-31 22:05:09 local: the local date */
    afl_cadena_fecha(apr_time_from_sec(1788235509), buf, sizeof buf);
    ck_assert_str_eq(buf, "31 de agosto 2026, 22:05:09");
    /* the longest one fits the documented 33 bytes */
    afl_cadena_fecha(apr_time_from_sec(1790488799), buf, 33); /* 2026-09-26 23:59:59 local */
    ck_assert_str_eq(buf, "26 de septiembre 2026, 23:59:59");
}
END_TEST

START_TEST(test_escaping)
{
    afl_cadena c = sample(AFL_CADENA_ASIGNACION);
    const char *s;

    ck_assert_str_eq(afl_cadena_valor(pool, "a|b||c"), "a b  c");
    ck_assert_str_eq(afl_cadena_valor(pool, "tab\there\nnl\r\x7f"), "tab here nl  ");
    ck_assert_str_eq(afl_cadena_valor(pool, "Bad\xFF\xFEUtf"), "Bad??Utf");
    ck_assert_str_eq(afl_cadena_valor(pool, "Cut\xE2\x82"), "Cut??");
    ck_assert_str_eq(afl_cadena_valor(pool, "Zoë 😀 Жанна"), "Zoë 😀 Жанна"); /* valid UTF-8 kept */
    ck_assert_str_eq(afl_cadena_valor(pool, NULL), "");
    /* a '|' in a name cannot add a field to the cadena */
    c.nombre = "Ana|Curp:XXXX010101HDFXXX09";
    s = afl_cadena_original(pool, &c);
    ck_assert_ptr_nonnull(strstr(s, "|Nombre o Razon Social:Ana Curp:XXXX010101HDFXXX09|"));
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Curp"), "MUIM050315MNLXBRA1");
}
END_TEST

START_TEST(test_missing_fields)
{
    afl_cadena c = sample(AFL_CADENA_ASIGNACION);

    ck_assert_ptr_null(afl_cadena_original(pool, NULL));
    c.folio = "";
    ck_assert_ptr_null(afl_cadena_original(pool, &c));
    c = sample(AFL_CADENA_CONSTANCIA);
    c.nss = NULL;
    ck_assert_ptr_null(afl_cadena_original(pool, &c));
    c = sample(AFL_CADENA_TARJETA);
    c.nombre = NULL;
    ck_assert_ptr_null(afl_cadena_original(pool, &c));
    c = sample((afl_cadena_tipo)42);
    ck_assert_ptr_null(afl_cadena_original(pool, &c));
    ck_assert_ptr_null(afl_cadena_tramite((afl_cadena_tipo)42));
}
END_TEST

START_TEST(test_nombre_and_campo)
{
    afl_cadena c = sample(AFL_CADENA_CONSTANCIA);
    const char *s = afl_cadena_original(pool, &c);

    ck_assert_str_eq(afl_cadena_nombre(pool, "María José", "Muñoz", "Ibáñez"),
                     "María José Muñoz Ibáñez");
    ck_assert_str_eq(afl_cadena_nombre(pool, "Ana", "López", NULL), "Ana López");
    ck_assert_str_eq(afl_cadena_nombre(pool, "Ana", "López", ""), "Ana López");
    ck_assert_str_eq(afl_cadena_nombre(pool, "", "López", "Pérez"), "López Pérez");

    ck_assert_str_eq(afl_cadena_campo(pool, s, "Folio"), FOLIO);
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Fecha"), "26 de noviembre 2026, 06:00:00");
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Tipo de trámite"),
                     "COMPROBANTE DE VIGENCIA DE DERECHOHABIENTES");
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Número de Seguridad Social"), "12345678903");
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Invocante"), "portalimssdigital");
    ck_assert_ptr_null(afl_cadena_campo(pool, s, "RFC"));
    ck_assert_ptr_null(afl_cadena_campo(pool, s, "Foli"));
    ck_assert_ptr_null(afl_cadena_campo(pool, "Folio:1", "Folio"));
    ck_assert_ptr_null(afl_cadena_campo(pool, "||", "Folio"));
    ck_assert_ptr_null(afl_cadena_campo(pool, NULL, "Folio"));
    /* an empty value is a value */
    c = sample(AFL_CADENA_ASIGNACION);
    s = afl_cadena_original(pool, &c);
    ck_assert_str_eq(afl_cadena_campo(pool, s, "RFC"), "");
    ck_assert_str_eq(afl_cadena_campo(pool, s, "Número Registro Patronal"), "");
}
END_TEST

START_TEST(test_folio)
{
    char f[AFL_FOLIO_LEN + 1];

    /* the IMSS sample: 1436559705956 ms, request 12345678 */
    ck_assert_int_eq(afl_folio_make(apr_time_from_msec(1436559705956LL), 12345678, f), 0);
    ck_assert_str_eq(f, "143655970595612345678");
    ck_assert(afl_folio_valid(f));
    ck_assert(afl_folio_time(f) == apr_time_from_msec(1436559705956LL));
    /* the sequence is zero-padded and taken modulo 10^8 */
    ck_assert_int_eq(afl_folio_make(ISSUED, 123, f), 0);
    ck_assert_str_eq(f, FOLIO);
    ck_assert_int_eq(afl_folio_make(ISSUED, 100000000ULL + 7, f), 0);
    ck_assert_str_eq(f, "179569440000000000007");
    /* microseconds are truncated to the millisecond */
    ck_assert_int_eq(afl_folio_make(ISSUED + 1999, 1, f), 0);
    ck_assert_str_eq(f, "179569440000100000001");
    /* outside the 13-digit range */
    ck_assert_int_eq(afl_folio_make(apr_time_from_sec(999999999), 1, f), -1); /* 2001 */
    ck_assert_str_eq(f, "");
    ck_assert_int_eq(afl_folio_make(-1, 1, f), -1);
    /* validity */
    ck_assert(!afl_folio_valid("17956944000000000012"));
    ck_assert(!afl_folio_valid("1795694400000000001234"));
    ck_assert(!afl_folio_valid("1795694400000000001a3"));
    ck_assert(!afl_folio_valid("079569440000000000123"));
    ck_assert(!afl_folio_valid(NULL));
    ck_assert(afl_folio_time("x") == 0);
}
END_TEST

START_TEST(test_verify_url)
{
    ck_assert_str_eq(afl_qr_verify_url(pool, "https://afiliate.example.gob.mx/afiliate", FOLIO),
                     "https://afiliate.example.gob.mx/afiliate/verificar?folio=" FOLIO);
    ck_assert_str_eq(afl_qr_verify_url(pool, "http://127.0.0.1:8080/afiliate//", FOLIO),
                     "http://127.0.0.1:8080/afiliate/verificar?folio=" FOLIO);
    ck_assert_ptr_null(afl_qr_verify_url(pool, "", FOLIO));
    ck_assert_ptr_null(afl_qr_verify_url(pool, "/", FOLIO));
    ck_assert_ptr_null(afl_qr_verify_url(pool, "https://x", "123&x=1"));
    ck_assert_str_eq(afl_qr_server_base(pool, "http", "127.0.0.1", 8080, "/afiliate"),
                     "http://127.0.0.1:8080/afiliate");
    ck_assert_str_eq(afl_qr_server_base(pool, NULL, "a.example", 80, "/afiliate"),
                     "http://a.example/afiliate");
    ck_assert_str_eq(afl_qr_server_base(pool, "https", "a.example", 443, "/x"),
                     "https://a.example/x");
    ck_assert_str_eq(afl_qr_server_base(pool, "https", "a.example", 80, "/x"),
                     "https://a.example:80/x");
    ck_assert_str_eq(afl_qr_server_base(pool, "http", "a.example", 0, ""), "http://a.example");
}
END_TEST

START_TEST(month_names)
{
    ck_assert_str_eq(afl_cadena_mes(1), "enero");
    ck_assert_str_eq(afl_cadena_mes(12), "diciembre");
    ck_assert_ptr_null(afl_cadena_mes(0));
    ck_assert_ptr_null(afl_cadena_mes(13));
}
END_TEST

static Suite *cadena_suite(void)
{
    Suite *s = suite_create("cadena");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_asignacion);
    tcase_add_test(tc, test_localizacion_with_rfc);
    tcase_add_test(tc, test_tarjeta);
    tcase_add_test(tc, test_constancia);
    tcase_add_test(tc, test_fecha);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_missing_fields);
    tcase_add_test(tc, test_nombre_and_campo);
    tcase_add_test(tc, test_folio);
    tcase_add_test(tc, test_verify_url);
    tcase_add_test(tc, month_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setenv("TZ", "America/Mexico_City", 1);
    tzset();
    return check_main(cadena_suite());
}
