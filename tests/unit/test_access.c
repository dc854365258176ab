/* Unit tests: afl_access judges what the server user may do from owner, group and
 * mode bits of a path and of every directory above it. Runs as any user: the
 * files are judged for made-up uids and gids, not opened. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afl_access.h"

static apr_pool_t *pool;
static char top[64];
static const char *dir, *file;
static uid_t me;
static gid_t mygid;

#define OTHER_UID 54321
#define OTHER_GID 54322

static void setup(void)
{
    FILE *f;

    apr_pool_create(&pool, NULL);
    snprintf(top, sizeof top, "/tmp/afl_access_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(top));
    chmod(top, 0755);
    dir = apr_pstrcat(pool, top, "/data", NULL);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    file = apr_pstrcat(pool, dir, "/afiliate.db", NULL);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    chmod(file, 0644);
    me = getuid();
    mygid = getgid();
}

static void teardown(void)
{
    chmod(top, 0755);
    chmod(dir, 0755);
    unlink(file);
    rmdir(dir);
    rmdir(top);
    apr_pool_destroy(pool);
}

START_TEST(owner_group_and_others)
{
    const char *why = NULL;
    gid_t other[1] = {OTHER_GID}, mine[2] = {OTHER_GID, mygid};

    /* The owner may write what is 0644 and its folder 0755. */
    ck_assert_int_eq(afl_access_check(pool, file, me, &mygid, 1, AFL_ACCESS_R | AFL_ACCESS_W, &why),
                     0);
    ck_assert_int_eq(afl_access_check(pool, dir, me, &mygid, 1, AFL_ACCESS_W | AFL_ACCESS_X, &why),
                     0);
    /* Anyone else may read, not write; the reason names the path and the mode. */
    ck_assert_int_eq(afl_access_check(pool, file, OTHER_UID, other, 1, AFL_ACCESS_R, &why), 0);
    ck_assert_int_ne(
        afl_access_check(pool, dir, OTHER_UID, other, 1, AFL_ACCESS_W | AFL_ACCESS_X, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, dir));
    ck_assert_msg(strstr(why, "no write search permission") != NULL, "%s", why);
    ck_assert_ptr_nonnull(strstr(why, "mode 0755"));
    /* Group write counts for a member of the file's group, supplementary too. */
    chmod(dir, 0775);
    if (me != OTHER_UID) {
        ck_assert_int_ne(
            afl_access_check(pool, dir, OTHER_UID, other, 1, AFL_ACCESS_W | AFL_ACCESS_X, &why), 0);
        ck_assert_int_eq(
            afl_access_check(pool, dir, OTHER_UID, mine, 2, AFL_ACCESS_W | AFL_ACCESS_X, &why), 0);
    }
    /* uid 0 may do anything. */
    chmod(file, 0);
    ck_assert_int_eq(afl_access_check(pool, file, 0, other, 1, AFL_ACCESS_R | AFL_ACCESS_W, &why),
                     0);
}
END_TEST

START_TEST(every_folder_above_needs_search)
{
    const char *why = NULL;
    gid_t other[1] = {OTHER_GID};

    chmod(file, 0666);
    chmod(dir, 0777);
    ck_assert_int_eq(
        afl_access_check(pool, file, OTHER_UID, other, 1, AFL_ACCESS_R | AFL_ACCESS_W, &why), 0);
    /* A 0700 folder two levels up (root's home, a mktemp -d) hides everything. */
    chmod(top, 0700);
    ck_assert_int_ne(
        afl_access_check(pool, file, OTHER_UID, other, 1, AFL_ACCESS_R | AFL_ACCESS_W, &why), 0);
    ck_assert_str_eq(why, apr_psprintf(pool,
                                       "%s: no search permission for uid %d (owner uid %ld, "
                                       "group gid %ld, mode 0700)",
                                       top, OTHER_UID, (long)me, (long)mygid));
}
END_TEST

START_TEST(missing_path)
{
    const char *why = NULL;

    ck_assert_int_ne(afl_access_check(pool, apr_pstrcat(pool, dir, "/nope.db", NULL), 0, NULL, 0,
                                      AFL_ACCESS_R, &why),
                     0);
    ck_assert_ptr_nonnull(strstr(why, "nope.db: No such file or directory"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("modes");
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, owner_group_and_others);
    tcase_add_test(tc, every_folder_above_needs_search);
    tcase_add_test(tc, missing_path);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
