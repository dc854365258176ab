/* afl_crash: named crash points for the crash tests (see afl_crash.h). */
#include "afl_crash.h"

#ifdef AFL_TEST_CRASH_POINTS

#include <stdlib.h>
#include <string.h>

#include "afl_log.h"

static const char *const points[] = {
    "nss-counter",  "asegurado-insert", "assign-before-commit", "assign-after-commit",
    "outbox-claim", "smtp-data",        "documento-row",
};

/* Set once while the configuration is read, before any child starts. */
static char crash_at[32];
static __thread int marked;

int afl_crash_known(const char *name)
{
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++)
        if (name && strcmp(name, points[i]) == 0)
            return 1;
    return 0;
}

void afl_crash_set(const char *name)
{
    crash_at[0] = '\0';
    if (name)
        strncat(crash_at, name, sizeof crash_at - 1);
}

const char *afl_crash_get(void)
{
    return crash_at;
}

void afl_crash_at(const char *name)
{
    if (crash_at[0] && strcmp(name, crash_at) == 0) {
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00005) "test crash point %s reached: abort()", name);
        abort();
    }
}

void afl_crash_mark(int on)
{
    marked = on;
}

void afl_crash_at_marked(const char *name)
{
    if (marked)
        afl_crash_at(name);
}

#else

/* Without AFL_TEST_CRASH_POINTS this unit is empty (ISO C wants a declaration). */
typedef int afl_crash_unused;

#endif
