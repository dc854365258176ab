/* The importers of afiliatectl (afiliatectl_import.c), also run by
 * seed-demo: import-sepomex, import-umf, import-registry (docs/data.md). */
#ifndef AFILIATECTL_IMPORT_H
#define AFILIATECTL_IMPORT_H

#include "afiliatectl_opts.h"

/* The inactive RENAPO CURP statuses (the demo registry draws from them; the
 * same list as SQL_INACTIVE in afl_sql.c). */
#define CTL_INACTIVE_CODES 9
extern const char *const ctl_inactive_codes[CTL_INACTIVE_CODES];

/* The whole file at path in one transaction. 0 ok, 1 error (message
 * printed, nothing written). */
int ctl_do_import_sepomex(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path);
int ctl_do_import_umf(apr_pool_t *pool, afl_db *db, const ctl_opts *o, const char *path);
int ctl_status_active(const char *s);

/* Ends an import's transaction (ctl_begin_txn): commits when rc is 0, else
 * rolls back and says "nothing was imported" (also when the commit fails).
 * Returns rc, or 1 when the commit failed. */
int ctl_end_import(afl_db *db, const ctl_opts *o, int rc);

#endif
