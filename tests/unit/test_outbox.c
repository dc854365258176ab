/* Unit tests: the outbox on a real SQLite database (sql/sqlite/schema.sql)
 * through afl_store, and the sender (afl_outbox) with a scripted relay and a
 * fake clock: enqueue in the result's transaction (and rollback together),
 * Message-IDs, claims and leases, fencing, backoff, failure states, resend
 * limits, counts and requeue. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afl_db.h"
#include "db_fixture.h"
#include "afl_outbox.h"
#include "afl_token.h"
#include "afl_store.h"

#define CURP_A "GOMA000101HDFRRNA1"
#define CURP_B "LOPB010202MDFPZLA2"
#define CURP_BOOM "RUIC030303HDFZZRA3"

static apr_pool_t *pool;
static char dbpath[64];
static afl_db *db;
static afl_store st;

/* ------------------------------------------------------------------ fixtures */

static long long fake_now = 1800000000;

static long long fake_clock(void *baton)
{
    (void)baton;
    return fake_now;
}

/* A scripted relay: answers from `script` in turn (then 'S'), records what
 * it was given. 'S' sent, 'T' 4xx relay down (421), 'D' 450 deferral,
 * 'P' 550, 'C' connection refused. */
typedef struct {
    const char *script;
    int calls;
    char to[8][128];
    char msgid[8][128];
    const char *last_msg;
} relay;

static afl_smtp_result fake_send(void *baton, const char *from, const char *to, const char *msg,
                                 size_t len, int *code, char *err, size_t errlen)
{
    relay *r = baton;
    char what = r->script && r->script[r->calls] ? r->script[r->calls] : 'S';
    const char *mid = strstr(msg, "\r\nMessage-ID: ");
    int i = r->calls < 8 ? r->calls : 7;

    (void)from;
    (void)len;
    snprintf(r->to[i], sizeof r->to[i], "%s", to);
    if (mid)
        snprintf(r->msgid[i], sizeof r->msgid[i], "%.*s", (int)strcspn(mid + 14, "\r"), mid + 14);
    r->last_msg = apr_pstrdup(pool, msg);
    r->calls++;
    switch (what) {
    case 'T':
        *code = 421;
        snprintf(err, errlen, "service not available (SMTP reply 421)");
        return AFL_SMTP_TEMPFAIL;
    case 'D':
        *code = 450;
        snprintf(err, errlen, "deferred (SMTP reply 450)");
        return AFL_SMTP_TEMPFAIL;
    case 'P':
        *code = 550;
        snprintf(err, errlen, "refused (SMTP reply 550)");
        return AFL_SMTP_PERMFAIL;
    case 'C':
        *code = 0;
        snprintf(err, errlen, "Couldn't connect to server");
        return AFL_SMTP_TEMPFAIL;
    default:
        *code = 250;
        return AFL_SMTP_SENT;
    }
}

static void sql(const char *s)
{
    ck_assert_msg(afl_db_run_sql(db, pool, s) == 0, "SQL failed: %s", s);
}

static afl_db *open_store(afl_store *out)
{
    afl_db *d = NULL;
    const char *err = NULL;

    ck_assert_int_eq(afl_db_open(pool, "sqlite3", dbpath, &d, &err), 0);
    fixture_store(pool, d, out);
    return d;
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    db = fixture_open(pool, dbpath, "outbox", 1);
    sql("INSERT INTO umf (clave, nombre, subdelegacion, serie) VALUES "
        "('UMF10', 'UMF No. 10 Cuauhtémoc', 'Centro', '01')");
    sql("INSERT INTO renapo_persona VALUES ('" CURP_A "', 'María José', 'Gómez', 'Ruiz', "
        "'2000-01-01', 'M', 'DF', 'AN')");
    sql("INSERT INTO renapo_persona VALUES ('" CURP_B "', 'Luis', 'López', NULL, "
        "'2001-02-02', 'H', 'DF', 'AN')");
    sql("INSERT INTO renapo_persona VALUES ('" CURP_BOOM "', 'Carlos', 'Ruiz', NULL, "
        "'2003-03-03', 'H', 'DF', 'AN')");
    /* A failing outbox insert, to prove that the assignment rolls back with it. */
    sql("CREATE TRIGGER outbox_boom BEFORE INSERT ON outbox WHEN NEW.recipient = "
        "'boom@ejemplo.mx' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    afl_db_close(db);
    db = open_store(&st);
    fake_now = 1800000000;
}

static void teardown(void)
{
    fixture_remove(pool, db, dbpath);
    apr_pool_destroy(pool);
}

static const afl_umf umf10 = {"UMF10", "UMF No. 10 Cuauhtémoc", "01"};

static afl_store_status assign(const char *curp, const char *correo, const char **nss,
                               int *assigned)
{
    afl_assign_req req;

    memset(&req, 0, sizeof req);
    req.curp = curp;
    req.correo = correo;
    req.birth_year = 2000;
    req.reg_year = 2026;
    req.umf = &umf10;
    req.cp = "06700";
    req.colonia = "Roma Norte";
    req.calle = "Orizaba";
    req.numero_exterior = "101";
    req.curp_hmac = "pseudonimo";
    req.now = fake_now;
    req.session_expira = fake_now + 1800;
    req.msgid_host = "imss.example.mx";
    return afl_store_assign(pool, &st, &req, nss, assigned);
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

static afl_outbox_conf conf(relay *r)
{
    afl_outbox_conf c;

    afl_outbox_conf_defaults(&c);
    c.from = "no-reply@imss.example.mx";
    c.send = fake_send;
    c.send_baton = r;
    c.clock = fake_clock;
    c.max_attempts = 3;
    c.backoff_min = 30;
    c.backoff_max = 1800;
    c.lease = 120;
    return c;
}

/* ------------------------------------------------------------------ tests */

START_TEST(assignment_enqueues_in_its_transaction)
{
    const char *nss = NULL, *mid;
    int assigned = -1;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(assigned, 1);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 1);
    ck_assert_str_eq(value("SELECT reason FROM outbox"), "asignacion");
    ck_assert_str_eq(value("SELECT recipient FROM outbox"), "ana@ejemplo.mx");
    ck_assert_str_eq(value("SELECT status FROM outbox"), "pending");
    mid = value("SELECT message_id FROM outbox");
    ck_assert_msg(!strncmp(mid, "<outbox-1.", 10) && strlen(mid) == 10 + 32 + 17, "Message-ID: %s",
                  mid);
    ck_assert_str_eq(mid + 42, "@imss.example.mx>");

    /* The same CURP again: located inside the assignment transaction. */
    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(assigned, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'localizacion'"), 1);
    ck_assert_int_eq(count("SELECT count(DISTINCT message_id) FROM outbox"), 2);
}
END_TEST

START_TEST(failed_enqueue_rolls_back_the_assignment)
{
    const char *nss = NULL;
    int assigned = -1;

    ck_assert_int_eq(assign(CURP_BOOM, "boom@ejemplo.mx", &nss, &assigned), AFL_STORE_ERROR);
    ck_assert_int_eq(count("SELECT count(*) FROM asegurado"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM auditoria"), 0);
    /* The folio went back too: the next assignment takes folio 0. */
    ck_assert_int_eq(assign(CURP_B, "luis@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT folio FROM asegurado"), 0);
}
END_TEST

START_TEST(locate_enqueues_and_rolls_back)
{
    const char *nss = NULL;
    int assigned;
    afl_tramite t = {"csrf", AFL_PASO_RESULTADO, CURP_A, "otra@ejemplo.mx",
                     "",     "localizado",       0,      fake_now + 1800};

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    t.nss = nss;
    ck_assert_int_eq(
        afl_store_locate(pool, &st, "sesion1", &t, "pseudonimo", "imss.example.mx", fake_now),
        AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'localizacion' AND "
                           "recipient = 'otra@ejemplo.mx'"),
                     1);
    t.correo = "boom@ejemplo.mx";
    ck_assert_int_eq(
        afl_store_locate(pool, &st, "sesion2", &t, "pseudonimo", "imss.example.mx", fake_now),
        AFL_STORE_ERROR);
    ck_assert_int_eq(count("SELECT count(*) FROM tramite WHERE id = 'sesion2'"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 2);
}
END_TEST

START_TEST(drain_sends_and_marks_sent)
{
    const char *nss;
    int assigned;
    relay r = {"S", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    fake_now += 5;
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.claimed, 1);
    ck_assert_int_eq(stats.sent, 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_str_eq(r.to[0], "ana@ejemplo.mx");
    ck_assert_str_eq(r.msgid[0], value("SELECT message_id FROM outbox"));
    ck_assert_str_eq(value("SELECT status FROM outbox"), "sent");
    ck_assert_int_eq(count("SELECT sent_at FROM outbox"), fake_now);
    ck_assert_int_eq(count("SELECT attempts FROM outbox"), 1);
    ck_assert_ptr_nonnull(
        strstr(r.last_msg, apr_pstrcat(pool, "filename=\"comprobanteNSS", nss, ".pdf\"", NULL)));
    ck_assert_ptr_nonnull(strstr(r.last_msg, "Content-Type: application/pdf"));
    ck_assert_ptr_null(strstr(r.last_msg, CURP_A)); /* the CURP is only inside the PDF */
    /* Nothing due any more. */
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.claimed, 0);
    ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(temporary_failures_back_off_then_fail)
{
    const char *nss, *mid;
    int assigned;
    relay r = {"TTT", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;
    long long next;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    mid = value("SELECT message_id FROM outbox");
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.retried, 1);
    ck_assert_int_eq(stats.stopped, 1);
    ck_assert_str_eq(value("SELECT status FROM outbox"), "pending");
    next = count("SELECT next_attempt_at FROM outbox");
    ck_assert(next >= fake_now + 15 && next <= fake_now + 30);
    ck_assert_ptr_nonnull(strstr(value("SELECT last_error FROM outbox"), "421"));
    /* Not due before its time. */
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.claimed, 0);
    fake_now = next;
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.retried, 1);
    next = count("SELECT next_attempt_at FROM outbox");
    ck_assert(next >= fake_now + 30 && next <= fake_now + 60);
    fake_now = next;
    /* Third attempt = max_attempts: failed. */
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.failed, 1);
    ck_assert_str_eq(value("SELECT status FROM outbox"), "failed");
    ck_assert_int_eq(count("SELECT attempts FROM outbox"), 3);
    /* Every attempt carried the same Message-ID. */
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(r.msgid[i], mid);

    /* Requeue: pending again, and delivered with the same Message-ID. */
    {
        int n = 0;
        afl_outbox_counts k;
        ck_assert_int_eq(afl_store_outbox_counts(pool, &st, &k), AFL_STORE_OK);
        ck_assert(k.failed == 1 && k.pending == 0 && k.sent == 0);
        ck_assert_int_eq(afl_store_outbox_requeue(pool, &st, 0, fake_now, &n), AFL_STORE_OK);
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
        ck_assert_int_eq(stats.sent, 1);
        ck_assert_str_eq(r.msgid[3], mid);
        ck_assert_int_eq(afl_store_outbox_counts(pool, &st, &k), AFL_STORE_OK);
        ck_assert(k.failed == 0 && k.sent == 1);
    }
}
END_TEST

START_TEST(permanent_failure_and_relay_down)
{
    const char *nss;
    int assigned;
    relay r = {"PC", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(assign(CURP_B, "luis@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(assign(CURP_A, "ana2@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    /* 550 fails row 1 at once and the pass goes on; the refused connection
     * (row 2) ends the pass: row 3 waits without spending an attempt. */
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.failed, 1);
    ck_assert_int_eq(stats.retried, 1);
    ck_assert_int_eq(stats.stopped, 1);
    ck_assert_str_eq(value("SELECT status FROM outbox WHERE id = 1"), "failed");
    ck_assert_ptr_nonnull(strstr(value("SELECT last_error FROM outbox WHERE id = 1"), "550"));
    ck_assert_str_eq(value("SELECT status FROM outbox WHERE id = 2"), "pending");
    ck_assert_int_eq(count("SELECT attempts FROM outbox WHERE id = 3"), 0);
    /* A 450 for one message does not stop the others. */
    r.script = "DSS";
    r.calls = 0;
    fake_now += 3600;
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.claimed, 2);
    ck_assert_int_eq(stats.retried, 1);
    ck_assert_int_eq(stats.sent, 1);
    ck_assert_int_eq(stats.stopped, 0);
}
END_TEST

START_TEST(claims_leases_and_fencing)
{
    const char *nss;
    int assigned;
    afl_store st2;
    afl_db *db2 = open_store(&st2);
    afl_outbox_row a, b;
    apr_array_header_t *ids;
    relay r = {"S", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    /* Two senders see the row due; only one claim wins. */
    ck_assert_int_eq(afl_store_outbox_due(pool, &st, fake_now, 10, &ids), AFL_STORE_OK);
    ck_assert_int_eq(ids->nelts, 1);
    ck_assert_int_eq(afl_store_outbox_claim(pool, &st, 1, fake_now, fake_now + 120, &a),
                     AFL_STORE_OK);
    ck_assert_int_eq(afl_store_outbox_claim(pool, &st2, 1, fake_now, fake_now + 120, &b),
                     AFL_STORE_NOTFOUND);
    ck_assert_int_eq(a.attempts, 1);
    ck_assert_str_eq(a.curp, CURP_A);
    ck_assert_str_eq(a.reason, "asignacion");

    /* Within the lease nobody else takes it. */
    fake_now += 60;
    ck_assert_int_eq(afl_outbox_drain(pool, &st2, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.claimed, 0);
    /* The first sender "died": after the lease the row is claimed again. */
    fake_now += 61;
    ck_assert_int_eq(afl_outbox_drain(pool, &st2, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.sent, 1);
    ck_assert_int_eq(count("SELECT attempts FROM outbox"), 2);
    /* The dead sender's late outcome changes nothing (its attempt number is stale). */
    ck_assert_int_eq(afl_store_outbox_sent(pool, &st, 1, a.attempts, fake_now), AFL_STORE_NOTFOUND);
    ck_assert_int_eq(afl_store_outbox_retry(pool, &st, 1, a.attempts, fake_now, "x"),
                     AFL_STORE_NOTFOUND);
    ck_assert_str_eq(value("SELECT status FROM outbox"), "sent");
    afl_db_close(db2);
}
END_TEST

START_TEST(row_claimed_too_often_fails)
{
    const char *nss;
    int assigned;
    afl_outbox_row a;
    relay r = {"S", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    /* Three senders died holding it (max_attempts = 3). */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(afl_store_outbox_claim(pool, &st, 1, fake_now, fake_now + 10, &a),
                         AFL_STORE_OK);
        fake_now += 11;
    }
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.failed, 1);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_str_eq(value("SELECT status FROM outbox"), "failed");
}
END_TEST

START_TEST(backoff_schedule)
{
    afl_outbox_conf c;

    afl_outbox_conf_defaults(&c);
    ck_assert_int_eq(afl_outbox_backoff(&c, 1, 0), 30);
    ck_assert_int_eq(afl_outbox_backoff(&c, 2, 0), 60);
    ck_assert_int_eq(afl_outbox_backoff(&c, 3, 0), 120);
    ck_assert_int_eq(afl_outbox_backoff(&c, 7, 0), 1800);
    ck_assert_int_eq(afl_outbox_backoff(&c, 1000, 0), 1800);
    for (unsigned rnd = 0; rnd < 1000; rnd += 7) {
        long long d = afl_outbox_backoff(&c, 2, rnd);
        ck_assert(d >= 30 && d <= 60);
    }
    c.backoff_min = c.backoff_max = 1;
    ck_assert_int_eq(afl_outbox_backoff(&c, 5, 12345), 1);
}
END_TEST

static afl_store_status resend(const char *sid, const char *curp, const char *ip)
{
    afl_resend_req req;

    memset(&req, 0, sizeof req);
    req.tramite_id = sid;
    req.curp = curp;
    req.correo = "ana@ejemplo.mx";
    req.limit_tramite = 3;
    req.curp_key = apr_pstrcat(pool, "reenvio-curp:", curp, NULL);
    req.address_key = apr_pstrcat(pool, "reenvio-ip:", ip, NULL);
    req.limit_curp = 5;
    req.limit_address = 7;
    req.window = fake_now - fake_now % 86400;
    req.msgid_host = "imss.example.mx";
    req.now = fake_now;
    return afl_store_resend(pool, &st, &req);
}

static void result_session(const char *sid, const char *curp)
{
    afl_tramite t = {"csrf", AFL_PASO_RESULTADO, curp, "ana@ejemplo.mx",
                     "",     "asignado",         0,    fake_now + 1800};
    ck_assert_int_eq(afl_store_tramite_put(pool, &st, sid, &t, fake_now), AFL_STORE_OK);
}

START_TEST(resend_limits)
{
    const char *nss;
    int assigned;

    ck_assert_int_eq(assign(CURP_A, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(assign(CURP_B, "ana@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    result_session("s1", CURP_A);
    result_session("s2", CURP_A);
    result_session("s3", CURP_B);
    result_session("s4", CURP_B);
    /* Three per trámite. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(resend("s1", CURP_A, "ip1"), AFL_STORE_OK);
    ck_assert_int_eq(resend("s1", CURP_A, "ip1"), AFL_STORE_LIMITED);
    ck_assert_int_eq(count("SELECT reenvios FROM tramite WHERE id = 's1'"), 3);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'reenvio'"), 3);
    /* Five per CURP per day, across trámites; a refusal moves no count. */
    ck_assert_int_eq(resend("s2", CURP_A, "ip1"), AFL_STORE_OK);
    ck_assert_int_eq(resend("s2", CURP_A, "ip1"), AFL_STORE_OK);
    ck_assert_int_eq(resend("s2", CURP_A, "ip1"), AFL_STORE_LIMITED);
    ck_assert_int_eq(count("SELECT reenvios FROM tramite WHERE id = 's2'"), 2);
    ck_assert_int_eq(count("SELECT cuenta FROM limite WHERE clave = 'reenvio-curp:" CURP_A "'"), 5);
    ck_assert_int_eq(count("SELECT cuenta FROM limite WHERE clave = 'reenvio-ip:ip1'"), 5);
    /* Seven per client address per day. */
    ck_assert_int_eq(resend("s3", CURP_B, "ip1"), AFL_STORE_OK);
    ck_assert_int_eq(resend("s3", CURP_B, "ip1"), AFL_STORE_OK);
    ck_assert_int_eq(resend("s3", CURP_B, "ip1"), AFL_STORE_LIMITED);
    ck_assert_int_eq(resend("s4", CURP_B, "ip2"), AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE reason = 'reenvio'"), 8);
    /* The next day the daily buckets start again. */
    fake_now += 86400;
    result_session("s5", CURP_A);
    ck_assert_int_eq(resend("s5", CURP_A, "ip1"), AFL_STORE_OK);
    /* Only a trámite at its result can resend. */
    {
        afl_tramite t = {"csrf", AFL_PASO_DOMICILIO, CURP_A, "ana@ejemplo.mx", "", "",
                         0,      fake_now + 1800};
        ck_assert_int_eq(afl_store_tramite_put(pool, &st, "s6", &t, fake_now), AFL_STORE_OK);
        ck_assert_int_eq(resend("s6", CURP_A, "ip3"), AFL_STORE_LIMITED);
    }
}
END_TEST

static int observed_calls, observed_errors;
static apr_interval_time_t observed_usec;

static void observer(afl_store_obs what, apr_interval_time_t usec)
{
    if (what == AFL_STORE_OBS_CALL) {
        observed_calls++;
        observed_usec += usec;
    } else {
        observed_errors++;
    }
}

/* The backlog the status page shows, and the observer that feeds the
 * database counters: every statement counted and timed, every failure seen. */
START_TEST(backlog_and_observer)
{
    long long n = -1, oldest = -1;
    const char *nss = NULL;
    int assigned = 0;

    ck_assert_int_eq(afl_store_outbox_backlog(pool, &st, &n, &oldest), AFL_STORE_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(oldest, 0);

    observed_calls = observed_errors = 0;
    observed_usec = 0;
    afl_store_set_observer(observer);
    ck_assert_int_eq(assign(CURP_A, "a@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_gt(observed_calls, 2);
    ck_assert_int_ge(observed_usec, 0);
    ck_assert_int_eq(observed_errors, 0);
    fake_now += 100;
    ck_assert_int_eq(assign(CURP_B, "b@ejemplo.mx", &nss, &assigned), AFL_STORE_OK);
    ck_assert_int_eq(afl_store_outbox_backlog(pool, &st, &n, &oldest), AFL_STORE_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(oldest, fake_now - 100);
    /* A failing statement (the trigger) is an error the observer sees. */
    ck_assert_int_eq(assign(CURP_BOOM, "boom@ejemplo.mx", &nss, &assigned), AFL_STORE_ERROR);
    ck_assert_int_ge(observed_errors, 1);
    afl_store_set_observer(NULL);
    {
        int before = observed_calls;
        ck_assert_int_eq(afl_store_outbox_backlog(pool, &st, &n, &oldest), AFL_STORE_OK);
        ck_assert_int_eq(observed_calls, before);
    }
    /* Sent rows leave the backlog. */
    sql("UPDATE outbox SET status = 'sent'");
    ck_assert_int_eq(afl_store_outbox_backlog(pool, &st, &n, &oldest), AFL_STORE_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(oldest, 0);
}
END_TEST

START_TEST(confirmation_link_is_sent_without_attachment)
{
    relay r = {"S", 0, {{0}}, {{0}}, NULL};
    afl_outbox_conf c = conf(&r);
    afl_outbox_stats stats;
    const char *sid = afl_token_sha256(pool, "a session token");
    const char *link =
        apr_psprintf(pool,
                     "https://imss.example.mx/afiliate/confirmar?t=%s.%" APR_INT64_T_FMT
                     ".0123456789abcdef0123456789abcdef",
                     sid, (apr_int64_t)(fake_now + 1800));
    afl_tramite t = {"csrf", AFL_PASO_CONFIRMACION, CURP_A, "ana@ejemplo.mx", "", "",
                     0,      fake_now + 1800};

    /* No insured row yet: the message needs none. */
    ck_assert_int_eq(afl_store_confirm_start(pool, &st, "captcha-1", fake_now + 600, NULL, sid, &t,
                                             link, "imss.example.mx", fake_now),
                     AFL_STORE_OK);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE kind = 'confirmacion' AND "
                           "asegurado_id IS NULL"),
                     1);
    /* The CAPTCHA id is burned with it: a replay writes nothing. */
    ck_assert_int_eq(afl_store_confirm_start(pool, &st, "captcha-1", fake_now + 600, NULL, "otra",
                                             &t, link, "imss.example.mx", fake_now),
                     AFL_STORE_USED);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 1);
    /* A link that reaches nobody is not queued, and nothing is kept. */
    ck_assert_int_eq(afl_store_confirm_start(pool, &st, "captcha-2", fake_now + 600, NULL, "otra",
                                             &t, "", "imss.example.mx", fake_now),
                     AFL_STORE_ERROR);
    ck_assert_int_eq(count("SELECT count(*) FROM tramite WHERE id = 'otra'"), 0);
    /* The schema refuses a confirmation message tied to an insured row, and the reverse. */
    ck_assert_int_ne(afl_db_run_sql(db, pool,
                                    "INSERT INTO outbox (kind, reason, recipient, "
                                    "next_attempt_at, message_id, created) VALUES ('comprobante', "
                                    "'localizacion', 'x@ejemplo.mx', 0, '<x@y>', 0)"),
                     0);

    fake_now += 5;
    ck_assert_int_eq(afl_outbox_drain(pool, &st, &c, &stats), APR_SUCCESS);
    ck_assert_int_eq(stats.sent, 1);
    ck_assert_str_eq(r.to[0], "ana@ejemplo.mx");
    ck_assert_str_eq(value("SELECT status FROM outbox"), "sent");
    ck_assert_ptr_nonnull(strstr(r.last_msg, "multipart/alternative"));
    ck_assert_ptr_null(strstr(r.last_msg, "Content-Disposition: attachment"));
    ck_assert_ptr_null(strstr(r.last_msg, CURP_A));
    /* The subject, encoded (RFC 2047), and the link in the quoted-printable body. */
    ck_assert_ptr_nonnull(strstr(r.last_msg, "Subject: =?UTF-8?B?"));
    {
        /* The quoted-printable text without its soft line breaks holds the whole link. */
        char *flat = apr_pstrdup(pool, r.last_msg), *o = flat;
        for (const char *i = r.last_msg; *i; i++) {
            if (i[0] == '=' && i[1] == '\r' && i[2] == '\n')
                i += 2;
            else
                *o++ = *i;
        }
        *o = '\0';
        ck_assert_ptr_nonnull(strstr(flat, apr_pstrcat(pool, "confirmar?t=3D", sid, NULL)));
        ck_assert_ptr_nonnull(strstr(flat, "La liga es v=C3=A1lida hasta las"));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("core");
    int failed;

    apr_initialize();
    setenv("TZ", "America/Mexico_City", 1);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, assignment_enqueues_in_its_transaction);
    tcase_add_test(tc, failed_enqueue_rolls_back_the_assignment);
    tcase_add_test(tc, locate_enqueues_and_rolls_back);
    tcase_add_test(tc, drain_sends_and_marks_sent);
    tcase_add_test(tc, temporary_failures_back_off_then_fail);
    tcase_add_test(tc, permanent_failure_and_relay_down);
    tcase_add_test(tc, claims_leases_and_fencing);
    tcase_add_test(tc, row_claimed_too_often_fails);
    tcase_add_test(tc, backoff_schedule);
    tcase_add_test(tc, resend_limits);
    tcase_add_test(tc, backlog_and_observer);
    tcase_add_test(tc, confirmation_link_is_sent_without_attachment);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
