/* Unit tests: afl_doc_issue and the store's two allocators on a real SQLite
 * database (sql/sqlite/schema.sql). A document's row is stored with the
 * sequence its transaction took and without its sello; the sello is signed
 * after the commit and stored. A row left without it (its process died in
 * between) is signed again, to the same sello, by whoever reads it next with
 * the key that issued it, or by the sweep; the counter never skips.
 * The NSS folio allocator (afl_store_nss_take, shared with afiliatectl
 * demo-registry) takes folios in order, skips an NSS that exists and falls
 * back to earlier registration years. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afl_cadena.h"
#include "afl_db.h"
#include "db_fixture.h"
#include "afl_doc.h"
#include "afl_nss.h"
#include "afl_sign.h"
#include "afl_store.h"

/* 2026-03-15 18:00:00 UTC. */
#define NOW 1773597600LL
#define CURP "PELJ060517HDFRPNA1"

static apr_pool_t *pool;
static char dbpath[64];
static afl_db *db;
static afl_store st;
static const afl_sign_key *key;

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
    char ebuf[128];

    apr_pool_create(&pool, NULL);
    db = fixture_open(pool, dbpath, "doc", 1);
    ck_assert_int_eq(afl_sign_generate(pool, &key, ebuf, sizeof ebuf), APR_SUCCESS);
    sql("INSERT INTO renapo_persona (curp, nombres, primer_apellido, segundo_apellido, "
        "fecha_nacimiento, sexo, entidad_nacimiento, status_curp) VALUES ('" CURP "', 'JUAN', "
        "'PEREZ', 'LOPEZ', '2006-05-17', 'H', 'DF', 'AN')");
    fixture_store(pool, db, &st);
}

static void teardown(void)
{
    fixture_remove(pool, db, dbpath);
    apr_pool_destroy(pool);
}

static afl_doc_req request(const char *datos)
{
    afl_doc_req r;

    memset(&r, 0, sizeof r);
    r.tipo = "comprobante";
    r.cadena_tipo = AFL_CADENA_ASIGNACION;
    r.nss = "01240612345";
    r.curp = CURP;
    r.nombre = "JUAN PEREZ LOPEZ";
    r.emitido = NOW;
    r.datos = datos;
    r.key = key;
    return r;
}

/* The folio of a document issued at NOW with sequence seq. */
static const char *folio_of(long long seq)
{
    char f[AFL_FOLIO_LEN + 1];

    ck_assert_int_eq(afl_folio_make(apr_time_from_sec(NOW), (apr_uint64_t)seq, f), 0);
    return apr_pstrdup(pool, f);
}

/* The folio's last eight digits: the sequence. */
static long long seq_of(const char *folio)
{
    ck_assert_int_eq((int)strlen(folio), AFL_FOLIO_LEN);
    return atoll(folio + AFL_FOLIO_LEN - 8);
}

START_TEST(test_issue_signs_and_reuses)
{
    afl_doc_req r = request("{\"tramite\":\"a\"}");
    afl_store_doc d, again, got;
    long long first = count("SELECT siguiente FROM documento_contador WHERE id = 1");

    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d), AFL_STORE_OK);
    ck_assert_int_eq(d.reused, 0);
    ck_assert_int_eq(seq_of(d.folio), first);
    ck_assert_ptr_nonnull(strstr(d.cadena, d.folio));
    ck_assert_int_eq(afl_sign_verify_sello(key, d.cadena, strlen(d.cadena), d.sello), AFL_SIGN_OK);
    ck_assert_str_eq(d.no_serie, afl_sign_serial(key));
    /* The stored row is the signed one. */
    ck_assert_int_eq(afl_store_documento_get(pool, &st, d.folio, &got), AFL_STORE_OK);
    ck_assert_str_eq(got.cadena, d.cadena);
    ck_assert_str_eq(got.sello, d.sello);
    /* The same trámite prints it again: the same row. */
    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &again), AFL_STORE_OK);
    ck_assert_int_eq(again.reused, 1);
    ck_assert_str_eq(again.folio, d.folio);
    ck_assert_str_eq(again.sello, d.sello);
    ck_assert_int_eq(count("SELECT count(*) FROM documento"), 1);
    ck_assert_int_eq(count("SELECT siguiente FROM documento_contador WHERE id = 1"), first + 1);
}
END_TEST

/* The process died between the row and its sello: printing the document
 * again in the same trámite signs it again, to the same sello, and stores it. */
START_TEST(test_lost_sello_on_reuse)
{
    afl_doc_req r = request("{\"tramite\":\"b\"}");
    afl_store_doc d, again;

    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d), AFL_STORE_OK);
    sql("UPDATE documento SET sello = ''");
    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &again), AFL_STORE_OK);
    ck_assert_int_eq(again.reused, 1);
    ck_assert_str_eq(again.folio, d.folio);
    ck_assert_str_eq(again.sello, d.sello);
    ck_assert_int_eq(count("SELECT count(*) FROM documento WHERE sello = ''"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM documento"), 1);
}
END_TEST

/* The verification page reads a row without its sello: with the key that
 * issued it, signed again and stored; with another key or none, left as is. */
START_TEST(test_lost_sello_on_verification)
{
    afl_doc_req r = request(NULL);
    afl_store_doc d, got;
    const afl_sign_key *other;
    char ebuf[128];

    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d), AFL_STORE_OK);
    sql("UPDATE documento SET sello = ''");
    ck_assert_int_eq(afl_sign_generate(pool, &other, ebuf, sizeof ebuf), APR_SUCCESS);
    ck_assert_int_eq(afl_doc_get(pool, &st, other, d.folio, &got), AFL_STORE_OK);
    ck_assert_str_eq(got.sello, "");
    ck_assert_int_eq(afl_doc_get(pool, &st, NULL, d.folio, &got), AFL_STORE_OK);
    ck_assert_str_eq(got.sello, "");
    ck_assert_int_eq(count("SELECT count(*) FROM documento WHERE sello = ''"), 1);
    ck_assert_int_eq(afl_doc_get(pool, &st, key, d.folio, &got), AFL_STORE_OK);
    ck_assert_str_eq(got.sello, d.sello);
    ck_assert_int_eq(count("SELECT count(*) FROM documento WHERE sello = ''"), 0);
    ck_assert_int_eq(afl_doc_get(pool, &st, key, folio_of(999), &got), AFL_STORE_NOTFOUND);
}
END_TEST

/* The sweep signs again at most max rows per call, only the key's own and
 * only those issued before the time it is given. */
START_TEST(test_sweep_seals_the_keys_rows)
{
    afl_doc_req r = request(NULL);
    afl_store_doc d[3];
    int sealed = -1;

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d[i]), AFL_STORE_OK);
    sql("UPDATE documento SET sello = ''");
    sql(apr_pstrcat(pool, "UPDATE documento SET no_serie = 'otra' WHERE folio = '", d[2].folio, "'",
                    NULL));
    /* Rows issued this very second may still have their sello on the way. */
    ck_assert_int_eq(afl_doc_seal_unsealed(pool, &st, key, NOW, 20, &sealed), AFL_STORE_OK);
    ck_assert_int_eq(sealed, 0);
    ck_assert_int_eq(afl_doc_seal_unsealed(pool, &st, key, NOW + 1, 1, &sealed), AFL_STORE_OK);
    ck_assert_int_eq(sealed, 1);
    ck_assert_int_eq(count("SELECT count(*) FROM documento WHERE sello = ''"), 2);
    ck_assert_int_eq(afl_doc_seal_unsealed(pool, &st, key, NOW + 1, 20, &sealed), AFL_STORE_OK);
    ck_assert_int_eq(sealed, 1);
    ck_assert_int_eq(afl_doc_seal_unsealed(pool, &st, key, NOW + 1, 20, &sealed), AFL_STORE_OK);
    ck_assert_int_eq(sealed, 0);
    for (int i = 0; i < 2; i++) {
        afl_store_doc got;
        ck_assert_int_eq(afl_store_documento_get(pool, &st, d[i].folio, &got), AFL_STORE_OK);
        ck_assert_str_eq(got.sello, d[i].sello);
    }
    ck_assert_int_eq(count(apr_pstrcat(pool,
                                       "SELECT count(*) FROM documento WHERE sello = '' "
                                       "AND folio = '",
                                       d[2].folio, "'", NULL)),
                     1);
}
END_TEST

/* Documents take consecutive sequences, each stored with its sello. */
START_TEST(test_sequences_without_gaps)
{
    afl_doc_req r = request(NULL);
    long long first = count("SELECT siguiente FROM documento_contador WHERE id = 1");

    for (int i = 0; i < 5; i++) {
        afl_store_doc d;
        ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d), AFL_STORE_OK);
        ck_assert_int_eq(seq_of(d.folio), first + i);
        ck_assert_int_eq(afl_sign_verify_sello(key, d.cadena, strlen(d.cadena), d.sello),
                         AFL_SIGN_OK);
    }
    ck_assert_int_eq(count("SELECT siguiente - 1 FROM documento_contador WHERE id = 1"),
                     count("SELECT count(*) FROM documento"));
    ck_assert_int_eq(count("SELECT count(*) FROM documento WHERE sello = ''"), 0);
}
END_TEST

/* A database error in the transaction leaves no sequence taken. */
START_TEST(test_failed_insert_gives_the_sequence_back)
{
    afl_doc_req r = request(NULL);
    afl_store_doc d;
    long long before = count("SELECT siguiente FROM documento_contador WHERE id = 1");

    /* The folio of the next document exists already: the insert fails. */
    sql(apr_pstrcat(pool,
                    "INSERT INTO documento (folio, tipo, nss, curp, nombre, emitido, cadena, "
                    "sello, no_serie, datos) VALUES ('",
                    folio_of(before),
                    "', 'comprobante', '01240612345', '" CURP "', 'X', 0, 'c', 's', 'n', '')",
                    NULL));
    ck_assert_int_eq(afl_doc_issue(pool, &st, &r, &d), AFL_STORE_ERROR);
    ck_assert_int_eq(count("SELECT siguiente FROM documento_contador WHERE id = 1"), before);
    ck_assert_int_eq(count("SELECT count(*) FROM documento"), 1);
}
END_TEST

/* The NSS folio allocator, inside a transaction as its callers run it. */
static afl_store_status take(int serie, int reg, int min, int birth, afl_nss_folio *f)
{
    afl_store_status s;

    ck_assert_int_eq(afl_db_begin(db, pool), 0);
    st.in_txn = 1;
    s = afl_store_nss_take(pool, &st, serie, reg, min, birth, f);
    st.in_txn = 0;
    ck_assert_int_eq(afl_db_end(db, s != AFL_STORE_OK && s != AFL_STORE_EXHAUSTED), 0);
    return s;
}

START_TEST(test_nss_take)
{
    afl_nss_folio f;
    char nss[12];

    ck_assert_int_eq(take(1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    ck_assert_str_eq(f.prefix, "012606");
    ck_assert_int_eq(f.folio, 0);
    ck_assert_int_eq(afl_nss_compose(1, 26, 6, 0, nss), 0);
    ck_assert_str_eq(f.nss, nss);
    ck_assert_int_eq(take(1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    ck_assert_int_eq(f.folio, 1);
    /* Folio 2 belongs to an NSS loaded from elsewhere: skipped. */
    ck_assert_int_eq(afl_nss_compose(1, 26, 6, 2, nss), 0);
    sql(apr_psprintf(pool,
                     "INSERT INTO asegurado (nss, curp, prefijo, folio, origen, creado, "
                     "actualizado) VALUES ('%s', '" CURP "', '012606', 2, 'localizado', 0, 0)",
                     nss));
    ck_assert_int_eq(take(1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    ck_assert_int_eq(f.folio, 3);
    /* A full prefix falls back to the previous registration year. */
    sql("UPDATE folio_contador SET siguiente = 10000 WHERE prefijo = '012606'");
    ck_assert_int_eq(take(1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    ck_assert_str_eq(f.prefix, "012506");
    ck_assert_int_eq(f.folio, 0);
    /* Nothing left down to min_year. */
    sql("UPDATE folio_contador SET siguiente = 10000 WHERE prefijo = '012506'");
    ck_assert_int_eq(take(1, 2026, 2025, 2006, &f), AFL_STORE_EXHAUSTED);
    ck_assert_int_eq(count("SELECT count(*) FROM folio_contador WHERE siguiente < 10000"), 0);
}
END_TEST

/* A rollback gives the folio back: the next caller gets the same one. */
START_TEST(test_nss_take_rollback)
{
    afl_nss_folio f;

    ck_assert_int_eq(afl_db_begin(db, pool), 0);
    st.in_txn = 1;
    ck_assert_int_eq(afl_store_nss_take(pool, &st, 1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    st.in_txn = 0;
    ck_assert_int_eq(f.folio, 0);
    ck_assert_int_ne(afl_db_end(db, 1), 0); /* rolled back */
    ck_assert_int_eq(take(1, 2026, 2014, 2006, &f), AFL_STORE_OK);
    ck_assert_int_eq(f.folio, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_doc");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_issue_signs_and_reuses);
    tcase_add_test(tc, test_lost_sello_on_reuse);
    tcase_add_test(tc, test_lost_sello_on_verification);
    tcase_add_test(tc, test_sweep_seals_the_keys_rows);
    tcase_add_test(tc, test_sequences_without_gaps);
    tcase_add_test(tc, test_failed_insert_gives_the_sequence_back);
    tcase_add_test(tc, test_nss_take);
    tcase_add_test(tc, test_nss_take_rollback);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? 1 : 0;
}
