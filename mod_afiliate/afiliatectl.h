/* afiliatectl: command-line tool built from the pure units.
 * Each command lives in its own afiliatectl_<group>.c and is listed in the
 * table of afiliatectl.c. A command gets argv starting at its own name. */
#ifndef AFILIATECTL_H
#define AFILIATECTL_H

#include <apr_pools.h>

#include "afl_db.h"
#include "afl_migrate.h"

typedef int afiliatectl_cmd_fn(apr_pool_t *pool, int argc, const char *const *argv);

/* Identifiers: afiliatectl_ids.c */
afiliatectl_cmd_fn afiliatectl_curp;
afiliatectl_cmd_fn afiliatectl_nss;
afiliatectl_cmd_fn afiliatectl_curp_build;

/* Data: afiliatectl_data.c (init-db, sample, seed-demo), afiliatectl_import.c,
 * afiliatectl_demo.c */
afiliatectl_cmd_fn afiliatectl_init_db;
afiliatectl_cmd_fn afiliatectl_import_sepomex;
afiliatectl_cmd_fn afiliatectl_import_umf;
afiliatectl_cmd_fn afiliatectl_import_registry;
afiliatectl_cmd_fn afiliatectl_demo_registry;
afiliatectl_cmd_fn afiliatectl_sample;
afiliatectl_cmd_fn afiliatectl_seed_demo;

/* Schema: afiliatectl_schema.c */
afiliatectl_cmd_fn afiliatectl_migrate;
/* Brings db to the compiled migrations' latest version, printing each step
 * prefixed with cmd; errors on stderr. 0 ok, 1 error. */
int afiliatectl_migrate_db(apr_pool_t *pool, afl_db *db, const char *cmd);
/* The same with a given set (afl_migrate_run). */
int afiliatectl_migrate_set(apr_pool_t *pool, afl_db *db, const char *cmd, const afl_migration *set,
                            int n);

/* Mail outbox: afiliatectl_outbox.c */
afiliatectl_cmd_fn afiliatectl_outbox;

/* Per-day outcomes for reports: afiliatectl_stats.c */
afiliatectl_cmd_fn afiliatectl_stats;

/* Documents (sello digital, vigencia): afiliatectl_docs.c */
afiliatectl_cmd_fn afiliatectl_keygen;
afiliatectl_cmd_fn afiliatectl_verify;
afiliatectl_cmd_fn afiliatectl_import_vigencia;
afiliatectl_cmd_fn afiliatectl_demo_doc;

#endif
