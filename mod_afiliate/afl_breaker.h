/* afl_breaker: the circuit breaker in front of the RENAPO web service
 * (docs/renapo.md, "Circuit breaker"). Pure unit: a small state machine over
 * a struct that the glue places in anonymous shared memory made in
 * post_config, so every child of a server sees the same state. Time is passed
 * in (UNIX seconds), so the unit test drives it without sleeping.
 *
 * closed    : every call may go out. `failures` failures within `window`
 *             seconds open the breaker.
 * open      : no call goes out until `cooldown` seconds have passed; then the
 *             first caller becomes the probe and the breaker is half-open.
 * half-open : only the probe is out. Its success closes the breaker, its
 *             failure opens it again for another cool-down. A probe that never
 *             reports (its process died) is replaced after another cool-down.
 *
 * The fields are guarded by a spin lock word taken with apr_atomic_cas32; a
 * critical section is a handful of loads and stores.
 *
 * It also counts the requests out at once on the server (the bulkhead,
 * afl_breaker_enter): a process that dies with a request out keeps its place
 * until the next restart, which makes a new breaker. */
#ifndef AFL_BREAKER_H
#define AFL_BREAKER_H

#include <apr.h>

typedef enum {
    AFL_BREAKER_CLOSED = 0,
    AFL_BREAKER_OPEN = 1,
    AFL_BREAKER_HALF_OPEN = 2,
} afl_breaker_state;

typedef struct {
    int failures;     /* failures that open it */
    int window;       /* seconds in which they must fall */
    int cooldown;     /* seconds it stays open before a probe */
    int max_inflight; /* requests out at once on the server; more fail at once */
} afl_breaker_conf;

#define AFL_BREAKER_DEFAULT_FAILURES 5
#define AFL_BREAKER_DEFAULT_WINDOW 30
#define AFL_BREAKER_DEFAULT_COOLDOWN 30
#define AFL_BREAKER_DEFAULT_MAX_INFLIGHT 16

/* Lives in shared memory: plain fields only, no pointers. */
typedef struct {
    volatile apr_uint32_t lock;
    apr_uint32_t state; /* afl_breaker_state */
    apr_uint32_t failures;
    apr_int64_t window_start;
    apr_int64_t opened_at;          /* open: when; half-open: when the probe went out */
    apr_uint32_t opened;            /* times it opened, for the operators */
    volatile apr_uint32_t inflight; /* requests out now, every process of the server */
} afl_breaker;

void afl_breaker_init(afl_breaker *b);

typedef enum {
    AFL_BREAKER_REFUSE = 0, /* open: do not call */
    AFL_BREAKER_ALLOW = 1,  /* closed: call */
    AFL_BREAKER_PROBE = 2,  /* this call is the half-open probe: report its outcome */
} afl_breaker_verdict;

afl_breaker_verdict afl_breaker_allow(afl_breaker *b, const afl_breaker_conf *c, long long now);
/* The outcome of a call that went out. */
void afl_breaker_success(afl_breaker *b, const afl_breaker_conf *c, long long now);
void afl_breaker_failure(afl_breaker *b, const afl_breaker_conf *c, long long now);
afl_breaker_state afl_breaker_current(afl_breaker *b);

/* The bulkhead: a request (or a wait for another's answer) takes a place
 * before it goes out and gives it back after. 0 when max_inflight are out
 * already: the caller does not ask (RENAPO slow or hung must not hold every
 * worker of the server). */
int afl_breaker_enter(afl_breaker *b, const afl_breaker_conf *c);
void afl_breaker_leave(afl_breaker *b);

#endif
