/* afiliatectl: command dispatcher. */
#include "afiliatectl.h"

#include <apr_general.h>
#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    afiliatectl_cmd_fn *fn;
    const char *summary;
};

static const struct command commands[] = {
    {"curp", afiliatectl_curp, "validate CURPs (arguments or one per line on stdin)"},
    {"nss", afiliatectl_nss, "validate NSS (arguments or one per line on stdin)"},
    {"curp-build", afiliatectl_curp_build, "build a CURP from a person's data"},
    {"migrate", afiliatectl_migrate, "create or upgrade the schema (idempotent)"},
    {"init-db", afiliatectl_init_db, "the same as migrate (or --schema FILE: run a script)"},
    {"import-sepomex", afiliatectl_import_sepomex, "import CPdescarga.txt or its zip"},
    {"import-umf", afiliatectl_import_umf, "import UMFs and their postal codes (CSV)"},
    {"import-registry", afiliatectl_import_registry, "import RENAPO registry rows (CSV)"},
    {"demo-registry", afiliatectl_demo_registry, "generate synthetic persons and NSS"},
    {"sample", afiliatectl_sample, "print registry CURPs: found, new or inactive"},
    {"seed-demo", afiliatectl_seed_demo, "migrate + shipped demo data + demo-registry"},
    {"outbox", afiliatectl_outbox, "mail outbox: send once, status, requeue failed"},
    {"stats", afiliatectl_stats, "outcomes per day for reports (text, CSV, JSON)"},
    {"keygen", afiliatectl_keygen, "new Ed25519 key pair for the documents' sello digital"},
    {"verify", afiliatectl_verify, "check a document's sello digital offline"},
    {"import-vigencia", afiliatectl_import_vigencia, "import a school's enrolment report (CSV)"},
    {"demo-doc", afiliatectl_demo_doc, "write a signed document with synthetic data"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: afiliatectl COMMAND [ARGS...]\n\ncommands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "  %-16s %s\n", c->name, c->summary);
    fprintf(out, "\n'afiliatectl COMMAND --help' describes one command.\n");
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "afiliatectl: cannot initialise APR\n");
        return 1;
    }
    apr_pool_create(&pool, NULL);
    for (const struct command *c = commands; c->name; c++) {
        if (!strcmp(argv[1], c->name)) {
            rc = c->fn(pool, argc - 1, argv + 1);
            apr_pool_destroy(pool);
            apr_terminate();
            return rc;
        }
    }
    fprintf(stderr, "afiliatectl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    apr_terminate();
    return 2;
}
