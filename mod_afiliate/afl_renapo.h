/* afl_renapo: the RENAPO "consulta por CURP" web service client (the
 * contract, the failure kinds and the security rules are in docs/renapo.md).
 *
 * Pure unit (APR, libcurl, jansson). One HTTPS GET per CURP, TLS verification
 * always on, mutual TLS with a client certificate, a total time limit, a
 * capped body. The answer is parsed strictly: anything unexpected is an error
 * (the caller answers "try later" or asks the local mirror), never a wrong
 * identity and never a wrong "not found".
 *
 * Threads: afl_smtp_global_init() (curl_global_init) must have run before
 * threads start. Each thread keeps one curl handle (connections are reused);
 * at most one request per CURP is in flight in a process: a second asker of
 * the same CURP waits for the first one's answer (afl_renapo_ask). */
#ifndef AFL_RENAPO_H
#define AFL_RENAPO_H

#include <stddef.h>

#include <apr_pools.h>

#include "afl_store.h"

/* PEM text held in memory: read at start-up while httpd is root, so the
 * key file can stay 0600 root and the children never open it. */
typedef struct {
    const char *data; /* NULL: none */
    size_t len;
} afl_renapo_pem;

typedef struct {
    const char *url;     /* https://host[:port]/path: the CURP is appended after a '/' */
    long timeout_ms;     /* the whole request */
    afl_renapo_pem ca;   /* CA certificates of the service; none: the system's store */
    afl_renapo_pem cert; /* client certificate (mutual TLS); none: no client certificate */
    afl_renapo_pem key;  /* its private key */
    const char *bearer;  /* Authorization: Bearer <bearer>; NULL: none */
    const char *userpwd; /* HTTP Basic user:password; NULL: none */
} afl_renapo_conf;

/* Reads a PEM file into *out (in p). 0 on success; otherwise *err says why. */
int afl_renapo_read_pem(apr_pool_t *p, const char *path, afl_renapo_pem *out, const char **err);

#define AFL_RENAPO_DEFAULT_TIMEOUT_MS 3000
/* An answer is a few hundred bytes; a larger body is refused. */
#define AFL_RENAPO_MAX_BODY 16384

typedef enum {
    AFL_RENAPO_FOUND = 0,
    AFL_RENAPO_NOTFOUND = 1,
    AFL_RENAPO_ERROR = -1,
} afl_renapo_result;

/* Once, before threads start: seeds jansson's hash function (which it would
 * otherwise do lazily, on the first object a thread parses). */
void afl_renapo_global_init(void);

/* Judges one answer: HTTP status, Content-Type (may be NULL), body. FOUND
 * fills *out (strings in p); ERROR sets *why (short English, no personal data). */
afl_renapo_result afl_renapo_parse(apr_pool_t *p, const char *curp, long status, const char *ctype,
                                   const char *body, size_t len, afl_persona *out,
                                   const char **why);

/* One request with this thread's handle. */
afl_renapo_result afl_renapo_fetch(apr_pool_t *p, const afl_renapo_conf *c, const char *curp,
                                   afl_persona *out, const char **why);

/* afl_renapo_fetch, but a CURP already asked by another thread of this process
 * waits for that answer instead of asking again. *leader: 1 when this call
 * asked, 0 when it took another's answer. */
afl_renapo_result afl_renapo_ask(apr_pool_t *p, const afl_renapo_conf *c, const char *curp,
                                 afl_persona *out, const char **why, int *leader);

/* Requests this process sent (for the tests and the benchmarks). */
unsigned long afl_renapo_requests(void);

/* Reads a credentials file: its first line is "Bearer <token>" or
 * "user:password". 0 on success (one of *bearer, *userpwd set, the other
 * NULL); otherwise *err says why, never quoting the file. */
int afl_renapo_read_credentials(apr_pool_t *p, const char *path, const char **bearer,
                                const char **userpwd, const char **err);

#endif
