/* Unit tests: afl_breaker, the RENAPO circuit breaker (docs/renapo.md), with
 * injected time. */
#include "afl_breaker.h"

#include <check.h>
#include "check_run.h"

static const afl_breaker_conf conf = {3, 10, 30, 2}; /* 3 failures in 10 s; 30 s open; 2 out */

/* A new breaker opened by three failures at t. */
static void opened_at(afl_breaker *b, long long t)
{
    afl_breaker_init(b);
    for (int i = 0; i < 3; i++)
        afl_breaker_failure(b, &conf, t);
    ck_assert_int_eq(afl_breaker_current(b), AFL_BREAKER_OPEN);
}

START_TEST(closed_until_n_failures_in_the_window)
{
    afl_breaker b;
    afl_breaker_init(&b);

    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 100), AFL_BREAKER_ALLOW);
    afl_breaker_failure(&b, &conf, 100);
    afl_breaker_failure(&b, &conf, 105);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_CLOSED);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 106), AFL_BREAKER_ALLOW);
    afl_breaker_failure(&b, &conf, 109);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_OPEN);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 110), AFL_BREAKER_REFUSE);
    ck_assert_uint_eq(b.opened, 1);
}
END_TEST

START_TEST(failures_spread_over_windows_do_not_open_it)
{
    afl_breaker b;
    afl_breaker_init(&b);

    for (long long t = 1000; t < 1100; t += 6) { /* two per 10-second window at most */
        ck_assert_int_eq(afl_breaker_allow(&b, &conf, t), AFL_BREAKER_ALLOW);
        afl_breaker_failure(&b, &conf, t);
    }
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_CLOSED);
}
END_TEST

START_TEST(cooldown_then_one_probe_that_closes_it)
{
    afl_breaker b;

    opened_at(&b, 200);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 229), AFL_BREAKER_REFUSE);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 230), AFL_BREAKER_PROBE);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_HALF_OPEN);
    /* Only the probe is out. */
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 231), AFL_BREAKER_REFUSE);
    afl_breaker_success(&b, &conf, 232);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_CLOSED);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 232), AFL_BREAKER_ALLOW);
    /* A fresh count: two failures do not open it again. */
    afl_breaker_failure(&b, &conf, 233);
    afl_breaker_failure(&b, &conf, 234);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_CLOSED);
}
END_TEST

START_TEST(a_failed_probe_opens_it_for_another_cooldown)
{
    afl_breaker b;

    opened_at(&b, 300);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 330), AFL_BREAKER_PROBE);
    afl_breaker_failure(&b, &conf, 331);
    ck_assert_int_eq(afl_breaker_current(&b), AFL_BREAKER_OPEN);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 360), AFL_BREAKER_REFUSE);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 361), AFL_BREAKER_PROBE);
    ck_assert_uint_eq(b.opened, 2);
}
END_TEST

START_TEST(a_lost_probe_is_replaced_after_a_cooldown)
{
    afl_breaker b;

    opened_at(&b, 400);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 430), AFL_BREAKER_PROBE);
    /* Its process died: no report. */
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 459), AFL_BREAKER_REFUSE);
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 460), AFL_BREAKER_PROBE);
}
END_TEST

START_TEST(a_late_failure_while_open_changes_nothing)
{
    afl_breaker b;

    opened_at(&b, 500);
    afl_breaker_failure(&b, &conf, 529); /* a request from before it opened */
    ck_assert_int_eq(afl_breaker_allow(&b, &conf, 530), AFL_BREAKER_PROBE);
}
END_TEST

START_TEST(at_most_max_inflight_out_at_once)
{
    afl_breaker b;
    afl_breaker_init(&b);

    ck_assert_int_eq(afl_breaker_enter(&b, &conf), 1);
    ck_assert_int_eq(afl_breaker_enter(&b, &conf), 1);
    ck_assert_int_eq(afl_breaker_enter(&b, &conf), 0);
    ck_assert_uint_eq(b.inflight, 2);
    afl_breaker_leave(&b);
    ck_assert_int_eq(afl_breaker_enter(&b, &conf), 1);
    afl_breaker_leave(&b);
    afl_breaker_leave(&b);
    ck_assert_uint_eq(b.inflight, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afl_breaker");
    TCase *tc = tcase_create("core");
    int failed;

    tcase_add_test(tc, closed_until_n_failures_in_the_window);
    tcase_add_test(tc, failures_spread_over_windows_do_not_open_it);
    tcase_add_test(tc, cooldown_then_one_probe_that_closes_it);
    tcase_add_test(tc, a_failed_probe_opens_it_for_another_cooldown);
    tcase_add_test(tc, a_lost_probe_is_replaced_after_a_cooldown);
    tcase_add_test(tc, a_late_failure_while_open_changes_nothing);
    tcase_add_test(tc, at_most_max_inflight_out_at_once);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    return failed != 0;
}
