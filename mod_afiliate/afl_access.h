/* Can the server user reach a file? Judged from mode bits, as root.
 *
 * Pure unit. httpd checks its configuration as root and only then switches to
 * User/Group, so access(2) in the parent says nothing about what the children
 * will be allowed to do; this looks at the owner, group and mode of the path and
 * of every directory above it instead (ACLs are not read). */
#ifndef AFL_ACCESS_H
#define AFL_ACCESS_H

#include <apr_pools.h>
#include <sys/types.h>

#define AFL_ACCESS_R 4
#define AFL_ACCESS_W 2
#define AFL_ACCESS_X 1

/* Whether the user uid with groups gids[0..ngids-1] may access path with want
 * (AFL_ACCESS_* bits), needing search permission on every directory above it.
 * uid 0 may do anything. Returns 0 if so; otherwise non-zero and *why (English,
 * allocated in pool) names the path and the reason. A missing path is an error. */
int afl_access_check(apr_pool_t *pool, const char *path, uid_t uid, const gid_t *gids, int ngids,
                     int want, const char **why);

#endif
