/* afl_json: the small JSON writer the postal-code endpoint needs. */
#ifndef AFL_JSON_H
#define AFL_JSON_H

#include <apr_pools.h>

/* s as a JSON string literal, quotes included. UTF-8 passes through; quotes,
 * backslashes, control characters and '<', '>', '&' are escaped so the
 * result is also inert if ever embedded in HTML. */
const char *afl_json_str(apr_pool_t *p, const char *s);

#endif
