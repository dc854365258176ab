/* Unit tests: afl_flow, every step of Paso 1 and Paso 2 on a real SQLite
 * database (sql/sqlite/schema.sql) with the real templates (htdocs/templates):
 * found, new, inactive and unknown CURP, no UMF, prefix exhausted, CAPTCHA
 * wrong or replayed, expired session, CSRF, rate limit, resend, each Paso 2
 * outcome, the coverage rule and the masking of the verification page. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afl_captcha.h"
#include "afl_curp.h"
#include "afl_curp_build.h"
#include "afl_db.h"
#include "db_fixture.h"
#include "afl_flow.h"
#include "afl_nss.h"
#include "afl_store.h"
#include "afl_token.h"
#include "afl_tpl.h"

/* 2026-03-15 18:00:00 UTC: inside the February-July semester. */
#define NOW 1773597600LL
#define SECRET "0123456789abcdef0123456789abcdef"
#define NSS_FOUND_PREFIX 01
#define CP_OK "06700"
#define CP_NO_UMF "44100"

static apr_pool_t *pool;
static char dbpath[64];
static afl_db *db;
static afl_store st;
static afl_tpl_set *templates;
static int store_down;

static char curp_found[19], curp_new[19], curp_inactive[19], curp_unknown[19], curp_exhaust[19],
    curp_other[19];
static char nss_found[12], nss_other[12], nss_unknown[12];

/* ------------------------------------------------------------------ fixtures */

static void sql(const char *s)
{
    fixture_sql(pool, db, s);
}

static long long count(const char *q)
{
    return fixture_count(pool, db, q);
}

static const char *value(const char *q)
{
    const char *v = NULL;

    ck_assert(afl_db_value_sql(db, pool, q, &v) == 0);
    return v;
}

static void make_curp(const char *nombres, const char *ap1, const char *ap2, int year, char sex,
                      char out[19])
{
    afl_person p = {nombres, ap1, ap2, year, 5, 17, sex, "DF", 0};
    ck_assert_int_eq(afl_curp_build(&p, out), 0);
}

static void add_persona(const char *curp, const char *nombres, const char *ap1, const char *ap2,
                        const char *fecha, const char *status)
{
    sql(apr_psprintf(pool,
                     "INSERT INTO renapo_persona VALUES ('%s', '%s', '%s', %s, '%s', 'H', 'DF', "
                     "'%s')",
                     curp, nombres, ap1, ap2 ? apr_psprintf(pool, "'%s'", ap2) : "NULL", fecha,
                     status));
}

static void add_asegurado(const char *nss, const char *curp, int folio)
{
    sql(apr_psprintf(pool,
                     "INSERT INTO asegurado (nss, curp, prefijo, folio, umf_clave, origen, creado, "
                     "actualizado) VALUES ('%s', '%s', '%.6s', %d, 'UMF10', 'localizado', "
                     "%" APR_INT64_T_FMT ", 0)",
                     nss, curp, nss, folio, (apr_int64_t)(NOW - 86400)));
}

static afl_store *get_store(void *baton)
{
    (void)baton;
    return store_down ? NULL : &st;
}

static void setup(void)
{
    const char *err = NULL;

    apr_pool_create(&pool, NULL);
    store_down = 0;
    db = fixture_open(pool, dbpath, "flow", 1);
    ck_assert_msg(afl_tpl_load(pool, "htdocs/templates", afl_flow_templates, &templates, &err) ==
                      APR_SUCCESS,
                  "templates: %s", err ? err : "");

    make_curp("Juan", "Pérez", "López", 2006, 'H', curp_found);
    make_curp("Ana", "García", "Ruiz", 2007, 'M', curp_new);
    make_curp("Pedro", "Santos", "Mora", 2005, 'H', curp_inactive);
    make_curp("Luis", "Vega", "Soto", 2006, 'H', curp_unknown);
    make_curp("Rosa", "Núñez", NULL, 2024, 'M', curp_exhaust);
    make_curp("Mario", "Díaz", "Cano", 2004, 'H', curp_other);
    add_persona(curp_found, "JUAN", "PÉREZ", "LÓPEZ", "2006-05-17", "AN");
    add_persona(curp_new, "ANA", "GARCÍA", "RUIZ", "2007-05-17", "AN");
    add_persona(curp_inactive, "PEDRO", "SANTOS", "MORA", "2005-05-17", "BD");
    add_persona(curp_exhaust, "ROSA", "NÚÑEZ", NULL, "2024-05-17", "AN");
    add_persona(curp_other, "MARIO", "DÍAZ", "CANO", "2004-05-17", "AN");

    sql("INSERT INTO umf (clave, nombre, subdelegacion, serie) VALUES "
        "('UMF10', 'UMF No. 10 Cuauhtémoc', 'Centro', '01')");
    sql("INSERT INTO umf_cp VALUES ('" CP_OK "', 'UMF10')");
    sql("INSERT INTO sepomex (cp, asentamiento, tipo_asentamiento, municipio, estado, c_estado, "
        "c_mnpio, id_asenta) VALUES ('" CP_OK "', 'Roma Norte', 'Colonia', 'Cuauhtémoc', "
        "'Ciudad de México', '09', '015', '0947'), ('" CP_NO_UMF "', 'Guadalajara Centro', "
        "'Colonia', 'Guadalajara', 'Jalisco', '14', '039', '0003')");
    ck_assert_int_eq(afl_nss_compose(1, 24, 6, 10, nss_found), 0);
    ck_assert_int_eq(afl_nss_compose(1, 24, 4, 11, nss_other), 0);
    ck_assert_int_eq(afl_nss_compose(1, 24, 6, 99, nss_unknown), 0);
    add_asegurado(nss_found, curp_found, 10);
    add_asegurado(nss_other, curp_other, 11);
    /* The found person is covered until the end of the semester. */
    sql(apr_psprintf(pool,
                     "INSERT INTO cobertura (clave, nss, curp, movimiento, inicio, fin, origen, "
                     "creado, actualizado) VALUES ('t:1', '%s', '%s', 'alta', '2026-02-01', "
                     "'2026-07-31', 'escuela', 0, 0)",
                     nss_found, curp_found));
    /* Every prefix a person born in 2024 could take is full. */
    for (int y = 14; y <= 30; y++)
        sql(apr_psprintf(pool, "INSERT INTO folio_contador VALUES ('01%02d24', 10000)", y));

    fixture_store(pool, db, &st);
}

static void teardown(void)
{
    fixture_remove(pool, db, dbpath);
    apr_pool_destroy(pool);
}

/* One browser: its cookie token gives the session id and the CSRF token. */
typedef struct {
    afl_flow_env env;
    afl_flow_out out;
} browser;

static void browser_open(browser *b, const char *token)
{
    memset(b, 0, sizeof *b);
    b->env.pool = pool;
    b->env.get_store = get_store;
    b->env.secret = (const unsigned char *)SECRET;
    b->env.secret_len = strlen(SECRET);
    b->env.base = "/afiliate";
    b->env.sid = afl_token_sha256(pool, token);
    b->env.csrf = afl_token_hmac(pool, b->env.secret, b->env.secret_len, "csrf", token, 64);
    b->env.client_ip = "192.0.2.7";
    b->env.now = NOW;
    b->env.request_time = apr_time_from_sec(NOW);
    b->env.session_timeout = 1800;
    b->env.resend_limit = 3;
    b->env.resend_daily_curp = 5;
    b->env.resend_daily_address = 20;
    b->env.mail_host = "imss.example.mx";
    b->env.public_base = "https://imss.example.mx/afiliate";
}

static afl_flow_out *step(browser *b, afl_flow_step *fn, apr_table_t *form, const char *args)
{
    afl_flow_in in = {form, args, NULL};
    memset(&b->out, 0, sizeof b->out);
    b->env.st = NULL;
    fn(&b->env, &in, &b->out);
    return &b->out;
}

static const char *render(const afl_flow_out *out)
{
    const char *html = NULL;
    ck_assert_int_eq(out->kind, AFL_FLOW_PAGE);
    ck_assert_int_eq(afl_tpl_render(pool, templates, out->tpl, out->view, &html, NULL),
                     APR_SUCCESS);
    return html;
}

#define ck_page_has(out, text)                                                                     \
    do {                                                                                           \
        const char *html_ = render(out);                                                           \
        ck_assert_msg(strstr(html_, text) != NULL, "page lacks \"%s\": %s", text, html_);          \
    } while (0)

/* A fresh CAPTCHA id issued at now and its answer (what the student reads off
 * the image). */
static void captcha(apr_table_t *form, int right, long long now)
{
    const char *id = NULL;
    char answer[AFL_CAPTCHA_LEN + 1];

    ck_assert_int_eq(afl_captcha_issue(pool, (const unsigned char *)SECRET, strlen(SECRET),
                                       apr_time_from_sec(now), &id),
                     APR_SUCCESS);
    afl_captcha_answer((const unsigned char *)SECRET, strlen(SECRET), id, answer);
    if (!right)
        answer[0] = answer[0] == 'x' ? 'y' : 'x';
    apr_table_set(form, "captcha_id", id);
    apr_table_set(form, "captcha", answer);
}

static apr_table_t *paso1_form(browser *b, const char *curp, int right)
{
    apr_table_t *f = apr_table_make(pool, 8);
    apr_table_set(f, "csrf", b->env.csrf);
    apr_table_set(f, "curp", curp);
    apr_table_set(f, "correo", "alumno@ejemplo.mx");
    apr_table_set(f, "correo_confirmacion", "alumno@ejemplo.mx");
    captcha(f, right, b->env.now);
    return f;
}

static apr_table_t *paso2_form(browser *b, const char *curp, const char *nss, int right)
{
    apr_table_t *f = paso1_form(b, curp, right);
    apr_table_set(f, "nss", nss);
    return f;
}

static apr_table_t *address_form(browser *b, const char *cp)
{
    apr_table_t *f = apr_table_make(pool, 8);
    apr_table_set(f, "csrf", b->env.csrf);
    apr_table_set(f, "cp", cp);
    apr_table_set(f, "colonia", "Roma Norte");
    apr_table_set(f, "calle", "Orizaba");
    apr_table_set(f, "numero_exterior", "101");
    return f;
}

static const char *paso_of(browser *b)
{
    return value(apr_psprintf(pool, "SELECT paso FROM tramite WHERE id = '%s'", b->env.sid));
}

/* ------------------------------------------------------------------ Paso 1 */

START_TEST(form_page_has_csrf_and_captcha)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000001");
    o = step(&b, afl_flow_nss_form, NULL, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_assert_str_eq(o->tpl, "nss");
    ck_assert(o->no_store);
    ck_page_has(o, b.env.csrf);
    ck_page_has(o, "Paso 1: Obtén o localiza tu NSS");
    /* No session without a cookie: no CAPTCHA, no form. */
    b.env.csrf = NULL;
    ck_assert_int_eq(step(&b, afl_flow_nss_form, NULL, NULL)->kind, AFL_FLOW_FAILED);
}
END_TEST

START_TEST(found_goes_to_result_and_mails)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000002");
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_REDIRECT);
    ck_assert_str_eq(o->location, "/resultado");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_COMPROBANTE);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_LOCATED);
    ck_assert_str_eq(paso_of(&b), "resultado");
    ck_assert_str_eq(value("SELECT reason FROM outbox"), "localizacion");
    ck_assert_int_eq(count("SELECT count(*) FROM captcha_usado"), 1);

    o = step(&b, afl_flow_resultado, NULL, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_page_has(o, "Tu Número de Seguridad Social ha sido localizado");
    ck_page_has(o, "alumno@ejemplo.mx");
    ck_assert_ptr_null(strstr(render(o), "ha sido reenviado"));
    /* Back to the address form: already at the result. */
    o = step(&b, afl_flow_domicilio, NULL, NULL);
    ck_assert_str_eq(o->location, "/resultado");
    /* The comprobante of this session (unsigned here: no key). */
    o = step(&b, afl_flow_comprobante, NULL, "descargar=1");
    ck_assert_int_eq(o->kind, AFL_FLOW_PDF);
    ck_assert(o->attachment);
    ck_assert_str_eq(o->filename, apr_psprintf(pool, "comprobanteNSS%s.pdf", nss_found));
    ck_assert(o->len > 4 && !memcmp(o->body, "%PDF", 4));
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria WHERE evento = 'descarga'"), 1);
    /* The constancia belongs to Paso 2: not here. */
    o = step(&b, afl_flow_constancia, NULL, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_NOT_FOUND);
    ck_page_has(o, "La constancia solo está disponible al concluir el Paso 2");
}
END_TEST

START_TEST(new_curp_assigns_after_the_address)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000003");
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_new, 1), NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_REDIRECT);
    ck_assert_str_eq(o->location, "/domicilio");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_NONE);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NEW_CURP);
    ck_assert_str_eq(paso_of(&b), "domicilio");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 0);

    o = step(&b, afl_flow_domicilio, NULL, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_page_has(o, "ANA GARCÍA RUIZ");
    /* The result page is not reached yet. */
    ck_assert_str_eq(step(&b, afl_flow_resultado, NULL, NULL)->location, "/nss");

    /* "Aceptar" without JavaScript: the colonias of the postal code, no error. */
    f = address_form(&b, CP_OK);
    apr_table_set(f, "aceptar", "1");
    apr_table_unset(f, "calle");
    o = step(&b, afl_flow_domicilio_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_page_has(o, "Roma Norte");
    ck_page_has(o, "Ciudad de México");

    /* A colonia of another postal code is refused. */
    f = address_form(&b, CP_OK);
    apr_table_set(f, "colonia", "Centro");
    o = step(&b, afl_flow_domicilio_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "Selecciona una colonia de la lista");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NONE);

    o = step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_REDIRECT);
    ck_assert_str_eq(o->location, "/resultado");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_COMPROBANTE);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_ASSIGNED);
    ck_assert_str_eq(paso_of(&b), "resultado");
    ck_assert_str_eq(
        value(apr_psprintf(pool, "SELECT origen FROM asegurado WHERE curp = '%s'", curp_new)),
        "asignado");
    ck_assert_str_eq(
        value(apr_psprintf(pool, "SELECT umf_clave FROM asegurado WHERE curp = '%s'", curp_new)),
        "UMF10");
    /* The assignment opens coverage to the end of the semester. */
    ck_assert_str_eq(
        value(apr_psprintf(pool, "SELECT fin FROM cobertura WHERE curp = '%s'", curp_new)),
        "2026-07-31");
    ck_assert_str_eq(value("SELECT reason FROM outbox"), "asignacion");
    o = step(&b, afl_flow_resultado, NULL, NULL);
    ck_page_has(o, "<h1>Asignación de NSS exitosa.</h1>");
    ck_page_has(
        o, apr_psprintf(
               pool, "NSS: <strong>%s</strong>",
               value(apr_psprintf(pool, "SELECT nss FROM asegurado WHERE curp = '%s'", curp_new))));
    /* A double submit lands on the result, no second NSS. */
    o = step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL);
    ck_assert_str_eq(o->location, "/resultado");
    ck_assert_int_eq(count("SELECT count(*) FROM asegurado"), 3);
}
END_TEST

START_TEST(inactive_curp_is_refused)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000004");
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_inactive, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_assert_str_eq(o->tpl, "nss");
    ck_page_has(o, "no está vigente en RENAPO (baja por defunción)");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NOT_IN_REGISTRY);
    /* The CAPTCHA id is spent, and no session was stored. */
    ck_assert_int_eq(count("SELECT count(*) FROM captcha_usado"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM tramite"), 0);
    ck_assert_str_eq(afl_flow_inactive_message(pool, "XYZ") + 0,
                     "La CURP capturada no está vigente en RENAPO (baja). Tu solicitud requiere "
                     "que acudas a la subdelegación del IMSS que te corresponda, o que aclares tu "
                     "CURP ante el Registro Nacional de Población.");
}
END_TEST

START_TEST(unknown_curp_is_refused)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000005");
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_unknown, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_page_has(o, "No se localizó información en RENAPO con la CURP capturada.");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NOT_IN_REGISTRY);
}
END_TEST

START_TEST(bad_captcha_and_replay)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000006");
    f = paso1_form(&b, curp_found, 0);
    o = step(&b, afl_flow_nss_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El captcha no fue válido, favor de intentar nuevamente");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_REFUSED_CAPTCHA);
    ck_assert_int_eq(count("SELECT count(*) FROM captcha_usado"), 1);
    /* The same id with the right answer: spent already. */
    {
        char answer[AFL_CAPTCHA_LEN + 1];
        afl_captcha_answer((const unsigned char *)SECRET, strlen(SECRET),
                           apr_table_get(f, "captcha_id"), answer);
        apr_table_set(f, "captcha", answer);
    }
    o = step(&b, afl_flow_nss_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El captcha no fue válido");
    ck_assert_int_eq(count("SELECT count(*) FROM tramite"), 0);
    /* A field error keeps what was typed. */
    f = paso1_form(&b, "NOESUNACURP", 1);
    o = step(&b, afl_flow_nss_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "NOESUNACURP");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_INVALID_CURP);
}
END_TEST

START_TEST(csrf_and_expired_session)
{
    browser b, other;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000007");
    /* A form without this browser's CSRF token. */
    f = paso1_form(&b, curp_found, 1);
    apr_table_set(f, "csrf", "0");
    o = step(&b, afl_flow_nss_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_FORBIDDEN);
    ck_page_has(o, "Tu sesión expiró");

    /* No session row: the address step refuses, the pages go back to the form. */
    o = step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_FORBIDDEN);
    ck_assert_str_eq(step(&b, afl_flow_domicilio, NULL, NULL)->location, "/nss");
    ck_assert_str_eq(step(&b, afl_flow_resultado, NULL, NULL)->location, "/nss");
    ck_assert_str_eq(step(&b, afl_flow_vigencia_resultado, NULL, NULL)->location, "/vigencia");
    ck_assert_int_eq(step(&b, afl_flow_comprobante, NULL, NULL)->status, AFL_FLOW_NOT_FOUND);
    ck_assert_int_eq(step(&b, afl_flow_tarjeta, NULL, NULL)->status, AFL_FLOW_NOT_FOUND);

    /* A session that expired: the same as none. */
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_new, 1), NULL)->location,
                     "/domicilio");
    b.env.now = NOW + 1801;
    b.env.request_time = apr_time_from_sec(b.env.now);
    ck_assert_str_eq(step(&b, afl_flow_domicilio, NULL, NULL)->location, "/nss");
    ck_assert_int_eq(step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL)->status,
                     AFL_FLOW_FORBIDDEN);

    /* Another browser cannot use this session's row. */
    b.env.now = NOW;
    browser_open(&other, "00000000000000000000000000000077");
    other.env.sid = b.env.sid;
    o = step(&other, afl_flow_domicilio_submit, address_form(&other, CP_OK), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_FORBIDDEN);
}
END_TEST

START_TEST(no_umf_for_the_postal_code)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000008");
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_new, 1), NULL)->location,
                     "/domicilio");
    f = address_form(&b, CP_NO_UMF);
    apr_table_set(f, "colonia", "Guadalajara Centro");
    o = step(&b, afl_flow_domicilio_submit, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El Código Postal " CP_NO_UMF
                   " no se encuentra relacionado a ninguna Unidad Médica Familiar (UMF)");
    /* A postal code SEPOMEX does not know: the same message. */
    o = step(&b, afl_flow_domicilio_submit, address_form(&b, "99999"), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El Código Postal 99999 no se encuentra relacionado");
    ck_assert_int_eq(count("SELECT count(*) FROM asegurado"), 2);
    ck_assert_str_eq(paso_of(&b), "domicilio");
    /* The postal-code lookup says the same. */
    {
        afl_flow_in in = {NULL, NULL, CP_NO_UMF};
        memset(&b.out, 0, sizeof b.out);
        afl_flow_cp(&b.env, &in, &b.out);
        ck_assert_int_eq(b.out.kind, AFL_FLOW_JSON);
        ck_assert_int_eq(b.out.status, AFL_FLOW_OK);
        ck_assert_ptr_nonnull(strstr((const char *)b.out.body, "\"umf\": false"));
        in.tail = CP_OK;
        afl_flow_cp(&b.env, &in, &b.out);
        ck_assert_ptr_nonnull(strstr((const char *)b.out.body, "\"colonias\": [\"Roma Norte\"]"));
        ck_assert(b.out.cacheable);
        in.tail = "0670";
        memset(&b.out, 0, sizeof b.out);
        afl_flow_cp(&b.env, &in, &b.out);
        ck_assert_int_eq(b.out.status, AFL_FLOW_NOT_FOUND);
    }
}
END_TEST

START_TEST(prefix_exhausted)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000009");
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_exhaust, 1), NULL)->location,
                     "/domicilio");
    o = step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNAVAILABLE);
    ck_assert_str_eq(o->tpl, "aviso");
    ck_assert_int_eq(o->log_level, AFL_FLOW_LOG_ERR);
    ck_page_has(o, "No fue posible asignar tu NSS");
    ck_page_has(o, "http://www.imss.gob.mx/tramites/imss02008");
    ck_assert_int_eq(count("SELECT count(*) FROM asegurado"), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 0);
    ck_assert_str_eq(paso_of(&b), "domicilio");
}
END_TEST

START_TEST(database_down_and_rate_limit)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000010");
    store_down = 1;
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNAVAILABLE);
    ck_assert_int_eq(o->retry_after, 30);
    ck_page_has(o, "Servicio no disponible");
    /* The form page needs no database. */
    ck_assert_int_eq(step(&b, afl_flow_nss_form, NULL, NULL)->status, AFL_FLOW_OK);
    store_down = 0;

    b.env.rate_limit = 1;
    ck_assert_int_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_unknown, 1), NULL)->status,
                     AFL_FLOW_UNPROCESSABLE);
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_unknown, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_assert_int_eq(o->retry_after, 60);
    ck_assert_int_eq(o->log_level, AFL_FLOW_LOG_WARN);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_REFUSED_RATE);
    /* The limite row holds no address. */
    ck_assert_ptr_null(strstr(value("SELECT clave FROM limite"), "192.0.2.7"));
}
END_TEST

/* Failures are what the limits count: a session is slowed from half its
 * budget and refused at it; an address past its budget is refused only for
 * wrong CAPTCHAs, so a solved form from another browser still goes on. */
START_TEST(failure_budget)
{
    browser bot, student;
    afl_flow_out *o;

    browser_open(&bot, "00000000000000000000000000000020");
    bot.env.client_ip = "192.0.2.99";
    bot.env.fail_limit = 4;
    bot.env.address_fail_limit = 6;
    /* Two failures: answered normally (wrong CAPTCHA, unknown CURP). */
    ck_assert_int_eq(step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 0), NULL)->status,
                     AFL_FLOW_BAD_REQUEST);
    ck_assert_int_eq(
        step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_unknown, 1), NULL)->status,
        AFL_FLOW_UNPROCESSABLE);
    /* Half the budget spent: one form per AFL_FLOW_SLOW_SECONDS. */
    bot.env.now += AFL_FLOW_SLOW_SECONDS;
    ck_assert_int_eq(step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 0), NULL)->status,
                     AFL_FLOW_BAD_REQUEST);
    o = step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 0), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_assert_int_eq(o->retry_after, AFL_FLOW_SLOW_SECONDS);
    ck_page_has(o, "Espera un momento");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_REFUSED_RATE);
    bot.env.now += AFL_FLOW_SLOW_SECONDS;
    ck_assert_int_eq(step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 0), NULL)->status,
                     AFL_FLOW_BAD_REQUEST);
    /* Four failures: refused, even with a right CAPTCHA, until the window ends. */
    bot.env.now += AFL_FLOW_SLOW_SECONDS;
    o = step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_assert_int_gt(o->retry_after, AFL_FLOW_SLOW_SECONDS);
    ck_assert_int_le(o->retry_after, AFL_FLOW_FAIL_WINDOW);
    ck_page_has(o, "Demasiados intentos fallidos");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_REFUSED_RATE);
    ck_assert_int_eq(o->log_level, AFL_FLOW_LOG_WARN);

    /* Another browser behind the same address: two failures of its own spend
     * the address's budget (6), then its wrong CAPTCHAs are refused while its
     * solved form is accepted. */
    browser_open(&student, "00000000000000000000000000000021");
    student.env.client_ip = "192.0.2.99";
    student.env.now = bot.env.now;
    student.env.fail_limit = 4;
    student.env.address_fail_limit = 6;
    for (int i = 0; i < 2; i++) {
        student.env.now += AFL_FLOW_SLOW_SECONDS;
        ck_assert_int_eq(
            step(&student, afl_flow_nss_submit, paso1_form(&student, curp_found, 0), NULL)->status,
            AFL_FLOW_BAD_REQUEST);
    }
    o = step(&student, afl_flow_nss_submit, paso1_form(&student, curp_found, 0), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_page_has(o, "Demasiados intentos fallidos");
    ck_assert_str_eq(
        step(&student, afl_flow_nss_submit, paso1_form(&student, curp_found, 1), NULL)->location,
        "/resultado");
    /* The next window starts afresh; no row holds the address. */
    bot.env.now += AFL_FLOW_FAIL_WINDOW;
    ck_assert_int_eq(step(&bot, afl_flow_nss_submit, paso1_form(&bot, curp_found, 0), NULL)->status,
                     AFL_FLOW_BAD_REQUEST);
    ck_assert_ptr_null(strstr(value("SELECT group_concat(clave) FROM limite"), "192.0.2.99"));
}
END_TEST

/* Accepted forms per CURP and per e-mail address a day, from any session. */
START_TEST(daily_limits_per_curp_and_email)
{
    browser b[6];
    afl_flow_out *o;

    for (int i = 0; i < 6; i++) {
        browser_open(&b[i], apr_psprintf(pool, "000000000000000000000000000000%02d", 30 + i));
        b[i].env.client_ip = apr_psprintf(pool, "198.51.100.%d", i + 1);
        b[i].env.curp_limit = 2;
        b[i].env.email_limit = 3;
    }
    for (int i = 0; i < 2; i++)
        ck_assert_str_eq(
            step(&b[i], afl_flow_nss_submit, paso1_form(&b[i], curp_found, 1), NULL)->location,
            "/resultado");
    /* A third look-up of the CURP, from another address and session. */
    o = step(&b[2], afl_flow_nss_submit, paso1_form(&b[2], curp_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_page_has(o, "La CURP capturada ya se consultó muchas veces");
    ck_assert_int_gt(o->retry_after, 0);
    ck_assert_int_le(o->retry_after, AFL_FLOW_DAY);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_REFUSED_RATE);
    /* A wrong CAPTCHA is not counted, nor a CURP the registry does not know
     * (nothing is recorded or mailed for it)... */
    ck_assert_int_eq(
        step(&b[3], afl_flow_nss_submit, paso1_form(&b[3], curp_found, 0), NULL)->status,
        AFL_FLOW_BAD_REQUEST);
    ck_assert_int_eq(
        step(&b[3], afl_flow_nss_submit, paso1_form(&b[3], curp_unknown, 1), NULL)->status,
        AFL_FLOW_UNPROCESSABLE);
    ck_assert_str_eq(
        step(&b[3], afl_flow_nss_submit, paso1_form(&b[3], curp_new, 1), NULL)->location,
        "/domicilio");
    /* ...so the fourth accepted form naming the e-mail address is refused,
     * whatever the CURP. */
    o = step(&b[4], afl_flow_nss_submit, paso1_form(&b[4], curp_new, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_page_has(o, "El correo electrónico capturado ya se usó");
    /* Paso 2 counts the same. */
    o = step(&b[4], afl_flow_vigencia_submit, paso2_form(&b[4], curp_found, nss_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    /* Refused forms moved no count: 2 + 1 per CURP, 3 for the address. */
    ck_assert_int_eq(count("SELECT sum(cuenta) FROM limite WHERE clave LIKE 'curp-d:%'"), 3);
    ck_assert_int_eq(count("SELECT sum(cuenta) FROM limite WHERE clave LIKE 'correo-d:%'"), 3);
    /* The next day starts afresh; the keys are pseudonyms. */
    b[5].env.now += AFL_FLOW_DAY;
    ck_assert_str_eq(
        step(&b[5], afl_flow_nss_submit, paso1_form(&b[5], curp_found, 1), NULL)->location,
        "/resultado");
    ck_assert_ptr_null(strstr(value("SELECT group_concat(clave) FROM limite"), curp_found));
    ck_assert_ptr_null(strstr(value("SELECT group_concat(clave) FROM limite"), "alumno"));
}
END_TEST

/* The daily counts move in the form's own transaction and are checked there
 * again: a form that would pass a limit (two browsers that both read "one
 * left") writes nothing, not even its CAPTCHA id, and moves no count. */
START_TEST(daily_limit_checked_in_the_forms_transaction)
{
    afl_tramite t = {"csrf", AFL_PASO_DOMICILIO, curp_new, "alumno@example.mx", "", "",
                     0,      1800003600LL};
    afl_store_daily d = {
        1800000000LL - 1800000000LL % AFL_FLOW_DAY, "curp-d:k", "correo-d:k", 1, 5, 0};

    ck_assert_int_eq(afl_store_tramite_start(pool, &st, "captcha-a", 1800000600LL, &d, "sesion-a",
                                             &t, 1800000000LL),
                     AFL_STORE_OK);
    ck_assert_int_eq(afl_store_tramite_start(pool, &st, "captcha-b", 1800000600LL, &d, "sesion-b",
                                             &t, 1800000000LL),
                     AFL_STORE_LIMITED);
    ck_assert_int_eq(d.by_curp, 1);
    ck_assert_int_eq(count("SELECT count(*) FROM tramite WHERE id = 'sesion-b'"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM captcha_usado WHERE id = 'captcha-b'"), 0);
    ck_assert_int_eq(count("SELECT cuenta FROM limite WHERE clave = 'curp-d:k'"), 1);
    ck_assert_int_eq(count("SELECT cuenta FROM limite WHERE clave = 'correo-d:k'"), 1);
    /* The address's limit, on its own. */
    d.curp_key = "curp-d:otra";
    d.correo_limit = 1;
    ck_assert_int_eq(afl_store_tramite_start(pool, &st, "captcha-c", 1800000600LL, &d, "sesion-c",
                                             &t, 1800000000LL),
                     AFL_STORE_LIMITED);
    ck_assert_int_eq(d.by_curp, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM limite WHERE clave = 'curp-d:otra'"), 0);
}
END_TEST

/* Leaving the form for a result rotates the session: the trámite lives
 * under the new id only, and only a success hands out the new cookie. */
START_TEST(session_rotates_on_success_only)
{
    browser b;
    afl_flow_out *o;
    const char *old_sid;

    browser_open(&b, "00000000000000000000000000000022");
    old_sid = b.env.sid;
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 0), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_assert_ptr_null(o->session_token);
    ck_assert_str_eq(b.env.sid, old_sid);
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL);
    ck_assert_str_eq(o->location, "/resultado");
    ck_assert_ptr_nonnull(o->session_token);
    ck_assert_str_eq(b.env.sid, afl_token_sha256(pool, o->session_token));
    ck_assert_str_ne(b.env.sid, old_sid);
    ck_assert_str_eq(
        value(apr_psprintf(pool, "SELECT COUNT(*) FROM tramite WHERE id = '%s'", old_sid)), "0");
    ck_assert_str_eq(paso_of(&b), "resultado");
}
END_TEST

START_TEST(resend_and_finish)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000011");
    b.env.resend_limit = 1;
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL)->location,
                     "/resultado");
    f = apr_table_make(pool, 1);
    apr_table_set(f, "csrf", b.env.csrf);
    o = step(&b, afl_flow_reenviar, f, NULL);
    ck_assert_str_eq(o->location, "/resultado?reenviado=1");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_COMPROBANTE);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'reenvio'"), 1);
    ck_page_has(step(&b, afl_flow_resultado, NULL, "reenviado=1"),
                "El comprobante ha sido reenviado");
    o = step(&b, afl_flow_reenviar, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_page_has(o, "Ya no es posible reenviar el comprobante");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'reenvio'"), 1);

    o = step(&b, afl_flow_finalizar, f, NULL);
    ck_assert_str_eq(o->location, "/");
    ck_assert(o->end_session);
    ck_assert_int_eq(count("SELECT count(*) FROM tramite"), 0);
    ck_assert_int_eq(step(&b, afl_flow_reenviar, f, NULL)->status, AFL_FLOW_FORBIDDEN);
}
END_TEST

/* ------------------------------------------------------------------ Paso 2 */

START_TEST(paso2_vigente)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000012");
    o = step(&b, afl_flow_vigencia_form, NULL, NULL);
    ck_assert_str_eq(o->tpl, "vigencia");
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, nss_found, 1), NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_REDIRECT);
    ck_assert_str_eq(o->location, "/vigencia/resultado");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_CONSTANCIA);
    ck_assert_str_eq(paso_of(&b), "vigencia");
    ck_assert_str_eq(value("SELECT kind || '/' || reason FROM outbox"), "constancia/vigencia");

    o = step(&b, afl_flow_vigencia_resultado, NULL, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_page_has(o, "Vigente: <strong>SÍ</strong>");
    ck_page_has(o, "JUAN PÉREZ LÓPEZ");
    ck_page_has(o, "UMF No. 10 Cuauhtémoc");
    o = step(&b, afl_flow_constancia, NULL, NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_PDF);
    ck_assert(!o->attachment);
    ck_assert_str_eq(o->filename,
                     apr_psprintf(pool, "comprobanteVigenciaDerechos%s.pdf", nss_found));
    /* The Paso 1 documents are not this session's. */
    ck_assert_int_eq(step(&b, afl_flow_comprobante, NULL, NULL)->status, AFL_FLOW_NOT_FOUND);
    /* Reenviar at the Paso 2 result sends the constancia. */
    f = apr_table_make(pool, 1);
    apr_table_set(f, "csrf", b.env.csrf);
    o = step(&b, afl_flow_reenviar, f, NULL);
    ck_assert_str_eq(o->location, "/vigencia/resultado?reenviado=1");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_CONSTANCIA);
    ck_page_has(step(&b, afl_flow_vigencia_resultado, NULL, "reenviado=1"),
                "La constancia ha sido reenviada");
}
END_TEST

START_TEST(paso2_no_vigente)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000013");
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_other, nss_other, 1), NULL);
    ck_assert_str_eq(o->location, "/vigencia/resultado");
    o = step(&b, afl_flow_vigencia_resultado, NULL, NULL);
    ck_page_has(o, "Vigente: <strong>NO</strong>");
    ck_page_has(o, "No hay registro de cobertura");
}
END_TEST

START_TEST(paso2_refusals)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000014");
    /* An NSS nobody has. */
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, nss_unknown, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_page_has(o, "no ha podido localizar tu Número de Seguridad Social");
    /* Somebody else's NSS. */
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, nss_other, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_page_has(o, "ha localizado inconsistencias en tus datos");
    /* CURP unknown to RENAPO, and inactive. */
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_unknown, nss_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_page_has(o, "No se localizó información en RENAPO");
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_inactive, nss_found, 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_UNPROCESSABLE);
    ck_page_has(o, "baja por defunción");
    /* A wrong check digit, letters, a wrong CAPTCHA. */
    {
        char bad[12];
        memcpy(bad, nss_found, 12);
        bad[10] = bad[10] == '9' ? '0' : (char)(bad[10] + 1);
        o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, bad, 1), NULL);
        ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
        ck_page_has(o, "revisa el último dígito");
    }
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, "1234567890A", 1), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El NSS solo puede contener dígitos.");
    o = step(&b, afl_flow_vigencia_submit, paso2_form(&b, curp_found, nss_found, 0), NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "El captcha no fue válido");
    ck_assert_int_eq(count("SELECT count(*) FROM tramite"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 0);
}
END_TEST

/* ------------------------------------------------------------------ rules */

START_TEST(coverage_to_the_semester_end)
{
    const char *ini, *fin;
    /* 12:00 UTC on a given day. */
#define DAY(y, m, d) apr_time_from_sec((long long)afl_vigencia_day(y, m, d) * 86400 + 43200)

    afl_flow_coverage(pool, DAY(2026, 1, 10), NULL, &ini, &fin);
    ck_assert_str_eq(ini, "2026-01-10");
    ck_assert_str_eq(fin, "2026-01-31");
    afl_flow_coverage(pool, DAY(2026, 2, 1), NULL, &ini, &fin);
    ck_assert_str_eq(fin, "2026-07-31");
    afl_flow_coverage(pool, DAY(2026, 7, 31), NULL, &ini, &fin);
    ck_assert_str_eq(fin, "2026-07-31");
    afl_flow_coverage(pool, DAY(2026, 8, 1), NULL, &ini, &fin);
    ck_assert_str_eq(fin, "2027-01-31");
    afl_flow_coverage(pool, DAY(2026, 12, 31), NULL, &ini, &fin);
    ck_assert_str_eq(fin, "2027-01-31");
    /* AfiliatePeriodoFin wins while it is not past; a bad or past one is ignored. */
    afl_flow_coverage(pool, DAY(2026, 3, 1), "2026-06-15", &ini, &fin);
    ck_assert_str_eq(fin, "2026-06-15");
    afl_flow_coverage(pool, DAY(2026, 3, 1), "2026-03-01", &ini, &fin);
    ck_assert_str_eq(fin, "2026-03-01");
    afl_flow_coverage(pool, DAY(2026, 3, 1), "2026-02-28", &ini, &fin);
    ck_assert_str_eq(fin, "2026-07-31");
    afl_flow_coverage(pool, DAY(2026, 3, 1), "mañana", &ini, &fin);
    ck_assert_str_eq(fin, "2026-07-31");
#undef DAY
}
END_TEST

START_TEST(verification_masks)
{
    browser b;
    afl_flow_out *o;

    ck_assert_str_eq(afl_flow_mask_nss(pool, "12345678903"), "12******903");
    ck_assert_str_eq(afl_flow_mask_nss(pool, "123"), "***********");
    ck_assert_str_eq(afl_flow_mask_nombre(pool, "MARÍA JOSÉ ÑÚÑEZ ÁVILA"), "MARÍA J*** Ñ*** Á***");
    ck_assert_str_eq(afl_flow_mask_nombre(pool, "  ANA  "), "ANA");
    ck_assert_str_eq(afl_flow_mask_nombre(pool, ""), "");

    browser_open(&b, "00000000000000000000000000000015");
    o = step(&b, afl_flow_verificar, NULL, "folio=123");
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "Folio no válido");
    o = step(&b, afl_flow_verificar, NULL, "folio=202603151800000000001");
    ck_assert_int_eq(o->status, AFL_FLOW_NOT_FOUND);
    ck_page_has(o, "No existe un documento con ese folio.");
}
END_TEST

/* The identity registry cannot be read (here: its table is gone): 503, and
 * the outcome says so, apart from the other database failures. */
START_TEST(identity_source_unavailable)
{
    browser b;
    afl_flow_out *o;
    apr_table_t *f;

    browser_open(&b, "00000000000000000000000000000011");
    f = paso1_form(&b, curp_found, 1);
    sql("ALTER TABLE renapo_persona RENAME TO renapo_fuera");
    o = step(&b, afl_flow_nss_submit, f, NULL);
    sql("ALTER TABLE renapo_fuera RENAME TO renapo_persona");
    ck_assert_int_eq(o->status, AFL_FLOW_UNAVAILABLE);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_IDENTITY_DOWN);
}
END_TEST

/* ------------------------------------------------------------------ e-mail confirmation */

static void confirm_on(browser *b, int minutes)
{
    b->env.confirm_email = 1;
    b->env.confirm_minutes = minutes;
    b->env.confirm_base = "https://imss.example.mx/afiliate";
}

/* The query string of the newest confirmation link in the outbox ("t=..."). */
static const char *mailed_link_args(void)
{
    const char *link = value("SELECT enlace FROM outbox WHERE kind = 'confirmacion' "
                             "ORDER BY id DESC LIMIT 1");
    const char *q;

    ck_assert_ptr_nonnull(link);
    ck_assert_msg(!strncmp(link, "https://imss.example.mx/afiliate/confirmar?t=", 45), "%s", link);
    q = strchr(link, '?');
    return apr_pstrdup(pool, q + 1);
}

/* Before the link is opened: the waiting page everywhere, no NSS, no document. */
static void nothing_revealed(browser *b)
{
    afl_flow_out *o = step(b, afl_flow_resultado, NULL, NULL);

    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_assert_str_eq(o->tpl, "confirmar");
    ck_assert_ptr_null(strstr(render(o), nss_found));
    ck_page_has(o, "al***@ej***.mx");
    ck_page_has(o, "vigencia de 30 minutos");
    ck_assert_str_eq(step(b, afl_flow_domicilio, NULL, NULL)->tpl, "confirmar");
    ck_assert_int_eq(step(b, afl_flow_comprobante, NULL, NULL)->status, AFL_FLOW_NOT_FOUND);
    ck_assert_int_eq(step(b, afl_flow_tarjeta, NULL, NULL)->status, AFL_FLOW_NOT_FOUND);
    ck_assert_str_eq(step(b, afl_flow_domicilio_submit, address_form(b, CP_OK), NULL)->location,
                     "/confirmar");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind <> 'confirmacion'"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM asegurado WHERE correo IS NOT NULL"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM documento"), 0);
}

START_TEST(confirm_found_on_another_browser)
{
    browser b, phone;
    afl_flow_out *o;
    const char *args, *waiting;

    browser_open(&b, "00000000000000000000000000000031");
    confirm_on(&b, 30);
    o = step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL);
    ck_assert_int_eq(o->kind, AFL_FLOW_REDIRECT);
    ck_assert_str_eq(o->location, "/confirmar");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_CONFIRMACION);
    ck_assert_ptr_nonnull(o->session_token); /* rotated as without confirmation */
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NONE);
    ck_assert_str_eq(paso_of(&b), "confirmacion");
    ck_assert_int_eq(count("SELECT count(*) FROM captcha_usado"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'confirmacion' AND "
                           "reason = 'confirmacion' AND asegurado_id IS NULL AND "
                           "recipient = 'alumno@ejemplo.mx'"),
                     1);
    /* The session row lives as long as the link. */
    ck_assert_int_eq(
        count(apr_psprintf(pool, "SELECT expira FROM tramite WHERE id = '%s'", b.env.sid)),
        NOW + 1800);
    ck_assert_str_eq(step(&b, afl_flow_confirmar, NULL, NULL)->tpl, "confirmar");
    nothing_revealed(&b);
    waiting = b.env.sid;

    /* Another phone, no cookie: the link alone continues the trámite. */
    args = mailed_link_args();
    browser_open(&phone, "00000000000000000000000000000032");
    phone.env.sid = NULL;
    phone.env.csrf = NULL;
    confirm_on(&phone, 30);
    o = step(&phone, afl_flow_confirmar, NULL, args);
    ck_assert_int_eq(o->kind, AFL_FLOW_PAGE);
    ck_assert_int_eq(o->status, AFL_FLOW_OK);
    ck_assert_str_eq(o->tpl, "confirmado");
    ck_assert_ptr_nonnull(o->session_token);
    ck_assert_str_eq(phone.env.sid, afl_token_sha256(pool, o->session_token));
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_COMPROBANTE);
    ck_assert_int_eq(o->event, AFL_FLOW_EV_LOCATED);
    /* The page moves on by itself, same site, to the result. */
    ck_page_has(o, "http-equiv=\"refresh\" content=\"0; url=/afiliate/resultado\"");
    ck_assert_str_eq(paso_of(&phone), "resultado");
    ck_assert_int_eq(
        count(apr_psprintf(pool, "SELECT count(*) FROM tramite WHERE id = '%s'", waiting)), 0);
    /* Only now: the comprobante queued, the e-mail recorded, the audit row. */
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'comprobante' AND "
                           "reason = 'localizacion'"),
                     1);
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria WHERE evento = 'localizacion'"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM confirmacion_usada"), 1);
    o = step(&phone, afl_flow_resultado, NULL, NULL);
    ck_assert_str_eq(o->tpl, "resultado");
    ck_page_has(o, "Tu Número de Seguridad Social ha sido localizado");
    ck_assert_int_eq(step(&phone, afl_flow_comprobante, NULL, NULL)->kind, AFL_FLOW_PDF);

    /* The first browser's cookie reaches nothing any more. */
    ck_assert_str_eq(step(&b, afl_flow_resultado, NULL, NULL)->location, "/nss");
    /* The same link again, on any browser: used. */
    browser_open(&phone, "00000000000000000000000000000033");
    o = step(&phone, afl_flow_confirmar, NULL, args);
    ck_assert_int_eq(o->status, AFL_FLOW_GONE);
    ck_page_has(o, "Esta liga ya fue usada");
    ck_assert_ptr_null(o->session_token);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'comprobante'"), 1);
}
END_TEST

START_TEST(confirm_new_curp_then_address)
{
    browser b;
    afl_flow_out *o;

    browser_open(&b, "00000000000000000000000000000034");
    confirm_on(&b, 30);
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_new, 1), NULL)->location,
                     "/confirmar");
    o = step(&b, afl_flow_domicilio, NULL, NULL);
    ck_assert_str_eq(o->tpl, "confirmar");
    /* The same browser opens the link: it goes on to the address. */
    o = step(&b, afl_flow_confirmar, NULL, mailed_link_args());
    ck_assert_str_eq(o->tpl, "confirmado");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_NEW_CURP);
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_NONE);
    ck_page_has(o, "url=/afiliate/domicilio");
    ck_assert_str_eq(paso_of(&b), "domicilio");
    o = step(&b, afl_flow_domicilio, NULL, NULL);
    ck_assert_str_eq(o->tpl, "domicilio");
    o = step(&b, afl_flow_domicilio_submit, address_form(&b, CP_OK), NULL);
    ck_assert_str_eq(o->location, "/resultado");
    ck_assert_int_eq(o->event, AFL_FLOW_EV_ASSIGNED);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'asignacion'"), 1);
    ck_assert_str_eq(step(&b, afl_flow_resultado, NULL, NULL)->tpl, "resultado");
}
END_TEST

START_TEST(confirm_link_refusals_and_resend)
{
    browser b, other;
    afl_flow_out *o;
    apr_table_t *f;
    const char *first, *second, *tampered;
    char *m;

    browser_open(&b, "00000000000000000000000000000035");
    confirm_on(&b, 30);
    b.env.resend_limit = 1;
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL)->location,
                     "/confirmar");
    first = mailed_link_args();
    /* Forged: one digit of the MAC changed. */
    m = apr_pstrdup(pool, first);
    m[strlen(m) - 1] = m[strlen(m) - 1] == '0' ? '1' : '0';
    tampered = m;
    browser_open(&other, "00000000000000000000000000000036");
    o = step(&other, afl_flow_confirmar, NULL, tampered);
    ck_assert_int_eq(o->status, AFL_FLOW_BAD_REQUEST);
    ck_page_has(o, "La liga de confirmación no es válida");
    ck_page_has(o, "/afiliate/nss");
    ck_assert_ptr_null(o->session_token);
    ck_assert_int_eq(step(&other, afl_flow_confirmar, NULL, "t=basura")->status,
                     AFL_FLOW_BAD_REQUEST);
    /* Expired: the same link 30 minutes later. */
    other.env.now = NOW + 1800;
    o = step(&other, afl_flow_confirmar, NULL, first);
    ck_assert_int_eq(o->status, AFL_FLOW_GONE);
    ck_page_has(o, "La liga de confirmación venció");
    ck_assert_str_eq(paso_of(&b), "confirmacion");

    /* Reenviar: a new link, bounded like every resend. */
    f = apr_table_make(pool, 1);
    apr_table_set(f, "csrf", b.env.csrf);
    b.env.now = NOW + 600;
    o = step(&b, afl_flow_reenviar, f, NULL);
    ck_assert_str_eq(o->location, "/confirmar?reenviado=1");
    ck_assert_int_eq(o->mail, AFL_FLOW_MAIL_CONFIRMACION);
    ck_page_has(step(&b, afl_flow_confirmar, NULL, "reenviado=1"), "Te enviamos una nueva liga");
    second = mailed_link_args();
    ck_assert_str_ne(first, second);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'confirmacion' AND "
                           "reason = 'confirmacion'"),
                     2);
    /* The row waits for the newer link. */
    ck_assert_int_eq(
        count(apr_psprintf(pool, "SELECT expira FROM tramite WHERE id = '%s'", b.env.sid)),
        NOW + 600 + 1800);
    o = step(&b, afl_flow_reenviar, f, NULL);
    ck_assert_int_eq(o->status, AFL_FLOW_TOO_MANY);
    ck_page_has(o, "Ya no es posible reenviar la liga de confirmación");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'confirmacion'"), 2);

    /* The newer link, after the first one expired, works; then the older one is used too. */
    browser_open(&other, "00000000000000000000000000000037");
    other.env.now = NOW + 1900;
    o = step(&other, afl_flow_confirmar, NULL, second);
    ck_assert_str_eq(o->tpl, "confirmado");
    ck_assert_int_eq(step(&other, afl_flow_confirmar, NULL, second)->status, AFL_FLOW_GONE);
    other.env.now = NOW + 60;
    browser_open(&b, "00000000000000000000000000000038");
    b.env.now = NOW + 60;
    o = step(&b, afl_flow_confirmar, NULL, first);
    ck_assert_int_eq(o->status, AFL_FLOW_GONE);
    ck_page_has(o, "Esta liga ya fue usada");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'comprobante'"), 1);
    /* The used record outlives every link of the trámite, then is purged. */
    ck_assert_int_ge(count("SELECT expira FROM confirmacion_usada"), NOW + 600 + 1800);
    ck_assert_int_eq(afl_store_purge(pool, &st, NOW + 1900 + 1800), AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT count(*) FROM confirmacion_usada"), 1);
    ck_assert_int_eq(afl_store_purge(pool, &st, NOW + 1900 + 1800 + 1), AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT count(*) FROM confirmacion_usada"), 0);
    /* Without a session, the page without a link goes back to the form. */
    browser_open(&other, "00000000000000000000000000000039");
    ck_assert_str_eq(step(&other, afl_flow_confirmar, NULL, NULL)->location, "/nss");
}
END_TEST

START_TEST(confirm_off_is_unchanged)
{
    browser b;

    browser_open(&b, "00000000000000000000000000000040");
    ck_assert_str_eq(step(&b, afl_flow_nss_submit, paso1_form(&b, curp_found, 1), NULL)->location,
                     "/resultado");
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'confirmacion'"), 0);
    ck_assert_str_eq(paso_of(&b), "resultado");
}
END_TEST

static Suite *flow_suite(void)
{
    Suite *s = suite_create("afl_flow");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, form_page_has_csrf_and_captcha);
    tcase_add_test(tc, found_goes_to_result_and_mails);
    tcase_add_test(tc, new_curp_assigns_after_the_address);
    tcase_add_test(tc, inactive_curp_is_refused);
    tcase_add_test(tc, unknown_curp_is_refused);
    tcase_add_test(tc, bad_captcha_and_replay);
    tcase_add_test(tc, csrf_and_expired_session);
    tcase_add_test(tc, no_umf_for_the_postal_code);
    tcase_add_test(tc, prefix_exhausted);
    tcase_add_test(tc, database_down_and_rate_limit);
    tcase_add_test(tc, failure_budget);
    tcase_add_test(tc, daily_limits_per_curp_and_email);
    tcase_add_test(tc, daily_limit_checked_in_the_forms_transaction);
    tcase_add_test(tc, session_rotates_on_success_only);
    tcase_add_test(tc, identity_source_unavailable);
    tcase_add_test(tc, resend_and_finish);
    tcase_add_test(tc, paso2_vigente);
    tcase_add_test(tc, paso2_no_vigente);
    tcase_add_test(tc, paso2_refusals);
    tcase_add_test(tc, coverage_to_the_semester_end);
    tcase_add_test(tc, verification_masks);
    tcase_add_test(tc, confirm_found_on_another_browser);
    tcase_add_test(tc, confirm_new_curp_then_address);
    tcase_add_test(tc, confirm_link_refusals_and_resend);
    tcase_add_test(tc, confirm_off_is_unchanged);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed;

    /* Dates are local time in the module: the tests pin the zone. */
    setenv("TZ", "UTC", 1);
    tzset();
    apr_initialize();
    if (afl_curp_init() != 0) {
        fprintf(stderr, "cannot compile the CURP pattern\n");
        return EXIT_FAILURE;
    }
    failed = check_run(flow_suite());
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
