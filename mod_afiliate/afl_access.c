/* File access of the server user from mode bits; see afl_access.h. */
#include "afl_access.h"

#include <apr_strings.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int may(const struct stat *sb, uid_t uid, const gid_t *gids, int ngids, int want)
{
    int bits;

    if (uid == 0)
        return 1;
    if (sb->st_uid == uid) {
        bits = (sb->st_mode >> 6) & 7;
    } else {
        bits = sb->st_mode & 7;
        for (int i = 0; i < ngids; i++)
            if (gids[i] == sb->st_gid) {
                bits = (sb->st_mode >> 3) & 7;
                break;
            }
    }
    return (bits & want) == want;
}

static const char *mode_of(apr_pool_t *pool, const struct stat *sb)
{
    return apr_psprintf(pool, "owner uid %ld, group gid %ld, mode %04o", (long)sb->st_uid,
                        (long)sb->st_gid, (unsigned)(sb->st_mode & 07777));
}

int afl_access_check(apr_pool_t *pool, const char *path, uid_t uid, const gid_t *gids, int ngids,
                     int want, const char **why)
{
    struct stat sb;
    char *dir = apr_pstrdup(pool, path);
    char *slash;

    if (stat(path, &sb) != 0) {
        *why = apr_psprintf(pool, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!may(&sb, uid, gids, ngids, want)) {
        const char *what = apr_pstrcat(pool, want & AFL_ACCESS_R ? " read" : "",
                                       want & AFL_ACCESS_W ? " write" : "",
                                       want & AFL_ACCESS_X ? " search" : "", NULL);
        *why = apr_psprintf(pool, "%s: no%s permission for uid %ld (%s)", path, what, (long)uid,
                            mode_of(pool, &sb));
        return -1;
    }
    /* Every directory above: search (x) permission. */
    while ((slash = strrchr(dir, '/')) != NULL) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(dir, &sb) != 0) {
            *why = apr_psprintf(pool, "%s: %s", dir, strerror(errno));
            return -1;
        }
        if (!may(&sb, uid, gids, ngids, AFL_ACCESS_X)) {
            *why = apr_psprintf(pool, "%s: no search permission for uid %ld (%s)", dir, (long)uid,
                                mode_of(pool, &sb));
            return -1;
        }
        if (slash == dir)
            break;
    }
    return 0;
}
