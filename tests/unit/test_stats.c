/* Unit tests: afl_stats (counters in shared memory and their mod_status forms). */
#include "afl_stats.h"

#include <apr_general.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static apr_pool_t *pool;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

/* The value of key in an ?auto text, or -2 when the key is missing. */
static long long auto_value(const char *text, const char *key)
{
    const char *k = apr_pstrcat(pool, "\n", key, ": ", NULL);
    const char *at = strstr(apr_pstrcat(pool, "\n", text, NULL), k);
    return at ? atoll(at + strlen(k)) : -2;
}

START_TEST(counts_and_keys)
{
    afl_stats s;
    afl_stats_live live = {1, 3, 125};
    const char *text;

    afl_stats_init(&s, apr_time_from_sec(1000));
    ck_assert(afl_stats_valid(&s));
    afl_stats_route_hit(&s, AFL_STATS_R_NSS_SUBMIT);
    afl_stats_route_hit(&s, AFL_STATS_R_NSS_SUBMIT);
    afl_stats_route_hit(&s, AFL_STATS_ROUTES); /* out of range: ignored */
    afl_stats_inc(&s, AFL_STATS_LOCATED);
    afl_stats_add(&s, AFL_STATS_MAIL_SENT, 5);
    afl_stats_db_call(&s, 250);
    afl_stats_db_call(&s, 50);
    afl_stats_db_call(&s, -3);              /* a clock step: counted, no time */
    afl_stats_inc(NULL, AFL_STATS_LOCATED); /* no segment: nothing */
    ck_assert_uint_eq(afl_stats_route_get(&s, AFL_STATS_R_NSS_SUBMIT), 2);
    ck_assert_uint_eq(afl_stats_get(&s, AFL_STATS_DB_CALLS), 3);
    ck_assert_uint_eq(afl_stats_get(&s, AFL_STATS_DB_USEC), 300);

    text = afl_stats_format_auto(pool, &s, &live, "127.0.0.1:8080", apr_time_from_sec(1060));
    ck_assert_str_eq(apr_pstrndup(pool, text, 30), "AfiliateServer: 127.0.0.1:8080");
    ck_assert_int_eq(auto_value(text, "AfiliateUptime"), 60);
    ck_assert_int_eq(auto_value(text, "AfiliateRequestsNssSubmit"), 2);
    ck_assert_int_eq(auto_value(text, "AfiliateRequestsInicio"), 0);
    ck_assert_int_eq(auto_value(text, "AfiliateLocated"), 1);
    ck_assert_int_eq(auto_value(text, "AfiliateMailSent"), 5);
    ck_assert_int_eq(auto_value(text, "AfiliateDbMicroseconds"), 300);
    ck_assert_int_eq(auto_value(text, "AfiliateMailPending"), 3);
    ck_assert_int_eq(auto_value(text, "AfiliateMailOldestPendingAge"), 125);
    /* Every key is there exactly once, every line is "Key: value". */
    for (int r = 0; r < AFL_STATS_ROUTES; r++)
        ck_assert_int_ne(auto_value(text, afl_stats_route_key((afl_stats_route)r)), -2);
    for (int c = 0; c < AFL_STATS_COUNTERS; c++) {
        const char *k = afl_stats_counter_key((afl_stats_counter)c);
        const char *first = strstr(text, apr_pstrcat(pool, k, ": ", NULL));
        ck_assert_ptr_nonnull(first);
        ck_assert_ptr_null(strstr(first + 1, apr_pstrcat(pool, "\n", k, ": ", NULL)));
    }
    ck_assert_int_eq(text[strlen(text) - 1], '\n');
}
END_TEST

START_TEST(unknown_backlog_and_html)
{
    afl_stats s;
    afl_stats_live none = {0, 0, 0};
    const char *text, *html;

    afl_stats_init(&s, apr_time_from_sec(1000));
    afl_stats_inc(&s, AFL_STATS_ASSIGNED);
    text = afl_stats_format_auto(pool, &s, &none, "a b<c>", apr_time_from_sec(900));
    ck_assert_int_eq(auto_value(text, "AfiliateMailPending"), -1);
    ck_assert_int_eq(auto_value(text, "AfiliateMailOldestPendingAge"), -1);
    ck_assert_int_eq(auto_value(text, "AfiliateUptime"), 0); /* clock behind: 0, not negative */
    ck_assert_ptr_nonnull(strstr(text, "AfiliateServer: a_b_c_\n"));

    html = afl_stats_format_html(pool, &s, &none, "a b<c>", apr_time_from_sec(1000));
    ck_assert_ptr_nonnull(strstr(html, "<h2>Afiliate</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>AfiliateAssigned</td><td>1</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>AfiliateMailPending</td><td>unknown"));
    ck_assert_ptr_null(strstr(html, "<c>"));
}
END_TEST

START_TEST(layout_guard)
{
    afl_stats s;

    afl_stats_init(&s, 0);
    s.version++;
    ck_assert(!afl_stats_valid(&s));
    ck_assert(!afl_stats_valid(NULL));
}
END_TEST

/* Several processes add to one anonymous shared segment at once: no lost
 * increment (this is how httpd's children share it). */
START_TEST(shared_between_processes)
{
    apr_shm_t *shm;
    afl_stats *s;
    enum { PROCS = 4, EACH = 20000 };

    ck_assert_int_eq(apr_shm_create(&shm, sizeof *s, NULL, pool), APR_SUCCESS);
    s = apr_shm_baseaddr_get(shm);
    afl_stats_init(s, apr_time_now());
    for (int i = 0; i < PROCS; i++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int n = 0; n < EACH; n++) {
                afl_stats_route_hit(s, AFL_STATS_R_CP);
                afl_stats_db_call(s, 2);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < PROCS; i++) {
        int status = 0;
        wait(&status);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ck_assert_uint_eq(afl_stats_route_get(s, AFL_STATS_R_CP), PROCS * EACH);
    ck_assert_uint_eq(afl_stats_get(s, AFL_STATS_DB_CALLS), PROCS * EACH);
    ck_assert_uint_eq(afl_stats_get(s, AFL_STATS_DB_USEC), 2 * PROCS * EACH);
    apr_shm_destroy(shm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_stats");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_and_keys);
    tcase_add_test(tc, unknown_backlog_and_html);
    tcase_add_test(tc, layout_guard);
    tcase_add_test(tc, shared_between_processes);
    suite_add_tcase(s, tc);

    failed = check_run(s);
    return failed != 0;
}
