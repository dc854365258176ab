/* The unit tests' runner: one Check suite run, its results printed. */
#ifndef CHECK_RUN_H
#define CHECK_RUN_H

#include <apr_general.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

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

/* main() of most tests: the suite between apr_initialize() and
 * apr_terminate(). Returns the exit status. */
static inline int check_main(Suite *s)
{
    int failed;

    apr_initialize();
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* main() of a test that writes files: makes the directory dir (a mkdtemp
 * template, modified), runs the suite like check_main(), then removes the
 * directory. name: the test's, in a message when it cannot. */
static inline int check_main_tmpdir(Suite *(*suite)(void), char *dir, const char *name)
{
    char cmd[128];
    int rc;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    rc = check_main(suite());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", name, dir);
    return rc;
}

#endif
