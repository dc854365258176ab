/* The unit tests' runner: one Check suite run, its results printed. */
#ifndef CHECK_RUN_H
#define CHECK_RUN_H

#include <check.h>

/* Runs the suite s (CK_NORMAL output) and returns how many of its tests
 * failed. */
static inline int check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

#endif
