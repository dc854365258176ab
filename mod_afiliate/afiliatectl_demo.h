/* The demo registry of afiliatectl (afiliatectl_demo.c): synthetic persons
 * for make run and the tests, also run by seed-demo. */
#ifndef AFILIATECTL_DEMO_H
#define AFILIATECTL_DEMO_H

#include "afiliatectl_opts.h"

/* count persons from seed, in one transaction. 0 ok, 1 error. */
int ctl_do_demo_registry(apr_pool_t *pool, afl_db *db, const ctl_opts *o, long count,
                         unsigned long long seed);

#endif
