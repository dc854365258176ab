/* afl_breaker: the RENAPO circuit breaker's state machine (see afl_breaker.h). */
#include "afl_breaker.h"

#include <apr_atomic.h>
#include <sched.h>
#include <string.h>

static void lock(afl_breaker *b)
{
    while (apr_atomic_cas32(&b->lock, 1, 0) != 0)
        sched_yield();
}

static void unlock(afl_breaker *b)
{
    apr_atomic_set32(&b->lock, 0);
}

void afl_breaker_init(afl_breaker *b)
{
    memset(b, 0, sizeof *b);
}

static void open_at(afl_breaker *b, long long now)
{
    b->state = AFL_BREAKER_OPEN;
    b->opened_at = now;
    b->failures = 0;
    b->opened++;
}

afl_breaker_verdict afl_breaker_allow(afl_breaker *b, const afl_breaker_conf *c, long long now)
{
    afl_breaker_verdict v = AFL_BREAKER_ALLOW;

    lock(b);
    switch (b->state) {
    case AFL_BREAKER_CLOSED:
        break;
    case AFL_BREAKER_OPEN:
    case AFL_BREAKER_HALF_OPEN:
        /* Open and cooled down, or a probe that never reported: one probe. */
        if (now - b->opened_at >= c->cooldown) {
            b->state = AFL_BREAKER_HALF_OPEN;
            b->opened_at = now;
            v = AFL_BREAKER_PROBE;
        } else
            v = AFL_BREAKER_REFUSE;
        break;
    }
    unlock(b);
    return v;
}

void afl_breaker_success(afl_breaker *b, const afl_breaker_conf *c, long long now)
{
    (void)c;
    lock(b);
    if (b->state != AFL_BREAKER_CLOSED) {
        b->state = AFL_BREAKER_CLOSED;
        b->failures = 0;
        b->window_start = now;
    }
    unlock(b);
}

void afl_breaker_failure(afl_breaker *b, const afl_breaker_conf *c, long long now)
{
    lock(b);
    switch (b->state) {
    case AFL_BREAKER_CLOSED:
        if (now - b->window_start >= c->window || now < b->window_start) {
            b->window_start = now;
            b->failures = 0;
        }
        if (++b->failures >= (apr_uint32_t)c->failures)
            open_at(b, now);
        break;
    case AFL_BREAKER_HALF_OPEN:
        open_at(b, now); /* the probe failed */
        break;
    case AFL_BREAKER_OPEN:
        break; /* a call from before it opened: it stays open */
    }
    unlock(b);
}

afl_breaker_state afl_breaker_current(afl_breaker *b)
{
    afl_breaker_state s;
    lock(b);
    s = (afl_breaker_state)b->state;
    unlock(b);
    return s;
}

int afl_breaker_enter(afl_breaker *b, const afl_breaker_conf *c)
{
    if (apr_atomic_inc32(&b->inflight) >= (apr_uint32_t)c->max_inflight) {
        apr_atomic_dec32(&b->inflight);
        return 0;
    }
    return 1;
}

void afl_breaker_leave(afl_breaker *b)
{
    apr_atomic_dec32(&b->inflight);
}
