/* Unit tests: afl_renapo's strict reading of an answer and of the credentials
 * file (docs/renapo.md, "Contract"). The HTTPS round trip is in
 * tests/integration/test_renapo.py against tests/renapo_double.py. */
#include "afl_renapo.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURP "GOMC000101HDFRRRA1"
#define JSON "application/json; charset=utf-8"

static apr_pool_t *pool;

static const char *found(void)
{
    return "{\"curp\":\"" CURP "\",\"nombres\":\"CARLA JOSÉ\",\"primerApellido\":\"GÓMEZ\","
           "\"segundoApellido\":null,\"sexo\":\"H\",\"fechaNacimiento\":\"01/01/2000\","
           "\"claveEntidad\":\"DF\",\"statusCurp\":\"AN\"}";
}

static afl_renapo_result parse(long status, const char *ctype, const char *body, afl_persona *per,
                               const char **why)
{
    *why = NULL;
    return afl_renapo_parse(pool, CURP, status, ctype, body, strlen(body), per, why);
}

START_TEST(a_found_person)
{
    afl_persona per;
    const char *why;

    ck_assert_int_eq(parse(200, JSON, found(), &per, &why), AFL_RENAPO_FOUND);
    ck_assert_str_eq(per.nombres, "CARLA JOSÉ");
    ck_assert_str_eq(per.primer_apellido, "GÓMEZ");
    ck_assert_str_eq(per.segundo_apellido, "");
    ck_assert_str_eq(per.fecha_nacimiento, "2000-01-01");
    ck_assert_int_eq(per.sexo, 'H');
    ck_assert_str_eq(per.entidad, "DF");
    ck_assert_str_eq(per.status_curp, "AN");
    ck_assert_int_eq(parse(200, "application/json", found(), &per, &why), AFL_RENAPO_FOUND);
}
END_TEST

START_TEST(not_found_answers)
{
    afl_persona per;
    const char *why;

    ck_assert_int_eq(parse(404, JSON, "{\"curp\":\"" CURP "\",\"encontrado\":false}", &per, &why),
                     AFL_RENAPO_NOTFOUND);
    ck_assert_int_eq(parse(200, JSON, "{\"curp\":\"" CURP "\",\"encontrado\":false}", &per, &why),
                     AFL_RENAPO_NOTFOUND);
    /* A 404 that is not the service's JSON is a fault, never "not found". */
    ck_assert_int_eq(parse(404, "text/html", "<h1>Not Found</h1>", &per, &why), AFL_RENAPO_ERROR);
    ck_assert_int_eq(
        parse(404, JSON, "{\"curp\":\"XXXX000101HDFRRRA1\",\"encontrado\":false}", &per, &why),
        AFL_RENAPO_ERROR);
    ck_assert_int_eq(parse(200, JSON,
                           "{\"curp\":\"" CURP "\",\"encontrado\":false,\"nombres\":\"ANA\"}", &per,
                           &why),
                     AFL_RENAPO_ERROR);
}
END_TEST

START_TEST(faults_are_errors)
{
    afl_persona per;
    const char *why;
    char *other = apr_pstrdup(pool, found());
    char *p = strstr(other, CURP);

    ck_assert_int_eq(parse(500, JSON, found(), &per, &why), AFL_RENAPO_ERROR);
    ck_assert_str_eq(why, "server error (5xx)");
    ck_assert_int_eq(parse(403, JSON, found(), &per, &why), AFL_RENAPO_ERROR);
    ck_assert_int_eq(parse(200, "text/html", found(), &per, &why), AFL_RENAPO_ERROR);
    ck_assert_str_eq(why, "wrong content type");
    ck_assert_int_eq(parse(200, NULL, found(), &per, &why), AFL_RENAPO_ERROR);
    ck_assert_int_eq(parse(200, "application/jsonx", found(), &per, &why), AFL_RENAPO_ERROR);
    ck_assert_int_eq(parse(200, JSON, "{\"curp\":", &per, &why), AFL_RENAPO_ERROR);
    ck_assert_str_eq(why, "malformed JSON");
    ck_assert_int_eq(parse(200, JSON, "[1,2]", &per, &why), AFL_RENAPO_ERROR);
    ck_assert_int_eq(parse(200, JSON, "{\"curp\":\"" CURP "\",\"curp\":\"" CURP "\"}", &per, &why),
                     AFL_RENAPO_ERROR);
    p[17] = '9'; /* another CURP */
    ck_assert_int_eq(parse(200, JSON, other, &per, &why), AFL_RENAPO_ERROR);
    ck_assert_str_eq(why, "answer is about another CURP");
}
END_TEST

/* found() with one field replaced: key and its new JSON value (NULL: removed). */
static const char *with(const char *key, const char *value)
{
    const char *keys[] = {"nombres",         "primerApellido", "segundoApellido", "sexo",
                          "fechaNacimiento", "claveEntidad",   "statusCurp"};
    const char *vals[] = {"\"ANA\"",        "\"LOPEZ\"", "\"PEREZ\"", "\"M\"",
                          "\"31/12/1999\"", "\"JC\"",    "\"AN\""};
    char *s = apr_pstrdup(pool, "{\"curp\":\"" CURP "\"");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = strcmp(keys[i], key) ? vals[i] : value;
        if (v)
            s = apr_psprintf(pool, "%s,\"%s\":%s", s, keys[i], v);
    }
    return apr_pstrcat(pool, s, "}", NULL);
}

START_TEST(each_field_is_checked)
{
    afl_persona per;
    const char *why;

    ck_assert_int_eq(parse(200, JSON, with("none", NULL), &per, &why), AFL_RENAPO_FOUND);
    ck_assert_str_eq(per.segundo_apellido, "PEREZ");
    ck_assert_str_eq(per.fecha_nacimiento, "1999-12-31");
    ck_assert_int_eq(parse(200, JSON, with("segundoApellido", NULL), &per, &why), AFL_RENAPO_FOUND);
    ck_assert_int_eq(parse(200, JSON, with("statusCurp", "\"BD\""), &per, &why), AFL_RENAPO_FOUND);
    ck_assert_str_eq(per.status_curp, "BD");
    static const char *const bad[][2] = {
        {"nombres", NULL},
        {"nombres", "\"\""},
        {"nombres", "42"},
        {"nombres", "\"A\\u0001B\""},
        {"primerApellido", NULL},
        {"segundoApellido", "7"},
        {"sexo", "\"F\""},
        {"sexo", NULL},
        {"fechaNacimiento", "\"1999-12-31\""},
        {"fechaNacimiento", "\"31/02/1999\""},
        {"claveEntidad", "\"ZZ\""},
        {"claveEntidad", "\"DFX\""},
        {"statusCurp", "\"XX\""},
        {"statusCurp", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(parse(200, JSON, with(bad[i][0], bad[i][1]), &per, &why) == AFL_RENAPO_ERROR,
                      "%s=%s accepted", bad[i][0], bad[i][1] ? bad[i][1] : "(absent)");
        ck_assert_ptr_nonnull(why);
    }
    {
        char *longname = apr_pstrcat(pool, "\"", NULL);
        for (int i = 0; i < 121; i++)
            longname = apr_pstrcat(pool, longname, "A", NULL);
        longname = apr_pstrcat(pool, longname, "\"", NULL);
        ck_assert_int_eq(parse(200, JSON, with("nombres", longname), &per, &why), AFL_RENAPO_ERROR);
    }
}
END_TEST

static const char *write_tmp(const char *text)
{
    char *path = apr_pstrdup(pool, "/tmp/afl_renapo_credXXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(credentials_file)
{
    const char *bearer, *userpwd, *err = NULL;
    const char *path;

    path = write_tmp("Bearer abc.def\n");
    ck_assert_int_eq(afl_renapo_read_credentials(pool, path, &bearer, &userpwd, &err), 0);
    ck_assert_str_eq(bearer, "abc.def");
    ck_assert_ptr_null(userpwd);
    unlink(path);
    path = write_tmp("imss:s3cr:et\r\n");
    ck_assert_int_eq(afl_renapo_read_credentials(pool, path, &bearer, &userpwd, &err), 0);
    ck_assert_str_eq(userpwd, "imss:s3cr:et");
    ck_assert_ptr_null(bearer);
    unlink(path);
    path = write_tmp("justatoken\n");
    ck_assert_int_ne(afl_renapo_read_credentials(pool, path, &bearer, &userpwd, &err), 0);
    ck_assert_ptr_null(strstr(err, "justatoken")); /* never quoted */
    unlink(path);
    ck_assert_int_ne(afl_renapo_read_credentials(pool, "/nonexistent/x", &bearer, &userpwd, &err),
                     0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_renapo");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    tcase_add_test(tc, a_found_person);
    tcase_add_test(tc, not_found_answers);
    tcase_add_test(tc, faults_are_errors);
    tcase_add_test(tc, each_field_is_checked);
    tcase_add_test(tc, credentials_file);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed != 0;
}
