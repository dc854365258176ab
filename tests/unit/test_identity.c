/* Unit tests: afl_identity, the identity seam (docs/renapo.md), on a real
 * SQLite file with the current schema. RENAPO itself is an address that
 * refuses connections here; the HTTPS round trips are in
 * tests/integration/test_renapo.py. */
#include "afl_db.h"
#include "afl_identity.h"
#include "afl_smtp.h"
#include "afl_store.h"
#include "db_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURP "GARA070517MDFRZNA1"
#define NOW 1800000000LL

static apr_pool_t *pool;
static char dbpath[64];
static afl_db *db;
static afl_store st;
static afl_breaker breaker;
static afl_identity id;

static void sql(const char *s)
{
    fixture_sql(pool, db, s);
}

static long long count(const char *q)
{
    return fixture_count(pool, db, q);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    db = fixture_open(pool, dbpath, "identity", 1);
    sql("INSERT INTO renapo_persona VALUES ('" CURP "', 'ANA', 'GARCÍA', 'RUIZ', '2007-05-17', "
        "'M', 'DF', 'AN')");
    fixture_store(pool, db, &st);

    memset(&id, 0, sizeof id);
    id.mode = AFL_IDENTITY_REMOTE;
    id.renapo.url = "https://127.0.0.1:1/renapo"; /* nothing listens on port 1 */
    id.renapo.timeout_ms = 2000;
    afl_breaker_init(&breaker);
    id.breaker = &breaker;
    id.breaker_conf = (afl_breaker_conf){2, 60, 30, 4};
    id.cache_ttl = 3600;
}

static void teardown(void)
{
    fixture_remove(pool, db, dbpath);
    apr_pool_destroy(pool);
}

static afl_store_status lookup(const afl_identity *i, afl_persona *per, afl_identity_source *src)
{
    return afl_identity_lookup(pool, &st, i, CURP, "hmac-de-prueba", NOW, per, src);
}

START_TEST(local_reads_the_mirror_and_asks_nobody)
{
    afl_persona per;
    afl_identity_source src;
    unsigned long asked = afl_renapo_requests();

    ck_assert_int_eq(lookup(NULL, &per, &src), AFL_STORE_OK);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_LOCAL);
    ck_assert_str_eq(per.nombres, "ANA");
    id.mode = AFL_IDENTITY_LOCAL;
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_OK);
    ck_assert_uint_eq(afl_renapo_requests(), asked);
}
END_TEST

START_TEST(a_fresh_recorded_answer_is_used)
{
    afl_persona per;
    afl_identity_source src;
    unsigned long asked = afl_renapo_requests();

    sql("INSERT INTO renapo_consulta VALUES ('" CURP "', 1, 1799999000)");
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_OK);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_CACHE);
    ck_assert_str_eq(per.primer_apellido, "GARCÍA");
    sql("UPDATE renapo_consulta SET encontrado = 0");
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_NOTFOUND);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_CACHE);
    ck_assert_uint_eq(afl_renapo_requests(), asked);
}
END_TEST

START_TEST(a_stale_answer_is_asked_again_and_a_failure_is_unavailable)
{
    afl_persona per;
    afl_identity_source src;
    unsigned long asked = afl_renapo_requests();

    sql("INSERT INTO renapo_consulta VALUES ('" CURP "', 0, 1799990000)"); /* 10000 s old */
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_ERROR);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_UNAVAILABLE);
    ck_assert_uint_eq(afl_renapo_requests(), asked + 1);
    /* Nothing recorded: the old answer stays as it was. */
    ck_assert_int_eq(count("SELECT consultado FROM renapo_consulta"), 1799990000);
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria"), 0);
}
END_TEST

START_TEST(remote_local_falls_back_to_the_mirror_and_audits_it)
{
    afl_persona per;
    afl_identity_source src;

    id.mode = AFL_IDENTITY_REMOTE_LOCAL;
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_OK);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_LOCAL);
    ck_assert_str_eq(per.nombres, "ANA");
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria WHERE evento = 'identidad_local' "
                           "AND curp_hmac = 'hmac-de-prueba' AND detalle = 'cannot connect'"),
                     1);
}
END_TEST

START_TEST(the_open_breaker_and_the_bulkhead_ask_nobody)
{
    afl_persona per;
    afl_identity_source src;
    unsigned long asked = afl_renapo_requests();

    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_ERROR);
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_ERROR);
    ck_assert_int_eq(afl_breaker_current(&breaker), AFL_BREAKER_OPEN);
    ck_assert_uint_eq(afl_renapo_requests(), asked + 2);
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_ERROR);
    ck_assert_int_eq(src, AFL_IDENTITY_SRC_UNAVAILABLE);
    ck_assert_uint_eq(afl_renapo_requests(), asked + 2);

    /* Closed, but the server already has max_inflight requests out. */
    afl_breaker_init(&breaker);
    breaker.inflight = 4;
    id.mode = AFL_IDENTITY_REMOTE_LOCAL;
    ck_assert_int_eq(lookup(&id, &per, &src), AFL_STORE_OK);
    ck_assert_uint_eq(afl_renapo_requests(), asked + 2);
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria WHERE detalle = "
                           "'too many requests in flight'"),
                     1);
    ck_assert_uint_eq(breaker.inflight, 4);
}
END_TEST

START_TEST(recording_an_answer_writes_person_answer_and_audit_together)
{
    afl_persona per = {"LUIS", "VEGA", "", "2006-05-17", 'H', "JC", "BD"};
    afl_persona back;
    int found = -1;
    long long when = 0;

    ck_assert_int_eq(afl_store_renapo_record(pool, &st, "VESL060517HJCGTSA1", &per, NOW, "h"),
                     AFL_STORE_OK);
    ck_assert_int_eq(afl_store_persona(pool, &st, "VESL060517HJCGTSA1", &back), AFL_STORE_OK);
    ck_assert_str_eq(back.status_curp, "BD");
    ck_assert_str_eq(back.segundo_apellido, "");
    ck_assert_int_eq(count("SELECT count(*) FROM renapo_persona WHERE segundo_apellido IS NULL"),
                     1);
    ck_assert_int_eq(afl_store_renapo_consulta(pool, &st, "VESL060517HJCGTSA1", &found, &when),
                     AFL_STORE_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(when, NOW);
    ck_assert_int_eq(afl_store_renapo_record(pool, &st, CURP, NULL, NOW, "h"), AFL_STORE_OK);
    ck_assert_int_eq(afl_store_renapo_consulta(pool, &st, CURP, &found, &when), AFL_STORE_OK);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria WHERE evento = 'identidad_renapo'"), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_identity");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    apr_initialize();
    afl_smtp_global_init();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, local_reads_the_mirror_and_asks_nobody);
    tcase_add_test(tc, a_fresh_recorded_answer_is_used);
    tcase_add_test(tc, a_stale_answer_is_asked_again_and_a_failure_is_unavailable);
    tcase_add_test(tc, remote_local_falls_back_to_the_mirror_and_audits_it);
    tcase_add_test(tc, the_open_breaker_and_the_bulkhead_ask_nobody);
    tcase_add_test(tc, recording_an_answer_writes_person_answer_and_audit_together);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    afl_smtp_global_cleanup();
    apr_terminate();
    return failed != 0;
}
