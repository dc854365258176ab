/* afl_sql: every SQL statement of the module and of afiliatectl, in one table.
 *
 * Pure data: afl_db prepares and runs these statements by id (afl_db.h), and
 * afl_store and the afiliatectl commands go through afl_db. Each row has a
 * lower-case label ([a-z0-9_]: the pgsql driver folds PREPARE names), the
 * SQLite text and, where the dialect differs, the PostgreSQL text (NULL: the
 * SQLite text serves both). Markers are apr_dbd's (%s, %d, %lld; %% for a
 * literal percent sign): values are always bound, never spliced in.
 *
 * Outside this table, on purpose (docs/architecture.md, "Where to add"):
 *   - the numbered migrations and schema.sql of sql/sqlite and sql/pgsql (DDL
 *     files, compiled in by afl_migrate) and the CREATE of schema_version in
 *     afl_migrate.c;
 *   - connection and session settings, where a connection is set up: the
 *     PRAGMAs and SHOWs of afl_db_open and afl_store_configure, PRAGMA
 *     journal_mode and foreign_keys around a migration, DEALLOCATE ALL in
 *     mod_afiliate_dbd.c; they read or set the session, not the data;
 *   - transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) in afl_txn.c
 *     and afl_commit.c. */
#ifndef AFL_SQL_H
#define AFL_SQL_H

typedef enum {
    /* ---- the web procedure (afl_store): prepared on every connection */
    AFL_SQL_CURP_LOCK,
    AFL_SQL_PERSONA,
    AFL_SQL_ASEGURADO,
    AFL_SQL_NSS_TAKEN,
    AFL_SQL_CAPTCHA_USE,
    AFL_SQL_LIMITE_HIT,
    AFL_SQL_LIMITE_GET,
    AFL_SQL_LIMITE_GET_PAIR,
    AFL_SQL_TRAMITE_PUT,
    AFL_SQL_TRAMITE_GET,
    AFL_SQL_TRAMITE_TOUCH,
    AFL_SQL_TRAMITE_RESULT,
    AFL_SQL_TRAMITE_DEL,
    AFL_SQL_CP_COLONIAS,
    AFL_SQL_CP_UMFS,
    AFL_SQL_CP_LOOKUP,
    AFL_SQL_FOLIO_TAKE,
    AFL_SQL_FOLIO_GET,
    AFL_SQL_ASEGURADO_ADD,
    AFL_SQL_ASEGURADO_CORREO,
    AFL_SQL_AUDIT_ADD,
    AFL_SQL_PURGE_CAPTCHA,
    AFL_SQL_PURGE_TRAMITE,
    AFL_SQL_PURGE_LIMITE,
    AFL_SQL_TRAMITE_RESEND,
    AFL_SQL_OUTBOX_ADD,
    AFL_SQL_OUTBOX_MSGID,
    AFL_SQL_OUTBOX_DUE,
    AFL_SQL_OUTBOX_CLAIM,
    AFL_SQL_OUTBOX_GET,
    AFL_SQL_OUTBOX_SENT,
    AFL_SQL_OUTBOX_RETRY,
    AFL_SQL_OUTBOX_FAIL,
    AFL_SQL_OUTBOX_COUNTS,
    AFL_SQL_OUTBOX_BACKLOG,
    AFL_SQL_OUTBOX_REQUEUE_ID,
    AFL_SQL_OUTBOX_REQUEUE_FAILED,
    AFL_SQL_DOC_NEXT,
    AFL_SQL_DOC_TAKE,
    AFL_SQL_DOC_ADD,
    AFL_SQL_DOC_REUSE,
    AFL_SQL_DOC_GET,
    AFL_SQL_DOC_SEAL,
    AFL_SQL_DOC_UNSEALED,
    AFL_SQL_COBERTURA_ALTA,
    AFL_SQL_COBERTURA_NSS,
    AFL_SQL_ASEGURADO_NSS,
    /* RENAPO web service answers (afl_identity, docs/renapo.md) */
    AFL_SQL_RENAPO_CONSULTA_GET,
    AFL_SQL_RENAPO_CONSULTA_PUT,
    AFL_SQL_RENAPO_PERSONA_PUT,
    /* E-mail confirmation (AfiliateConfirmarCorreo) */
    AFL_SQL_CONFIRM_USE,
    AFL_SQL_CONFIRM_USED,
    AFL_SQL_CONFIRM_TAKE,
    AFL_SQL_CONFIRM_OUTBOX_ADD,
    AFL_SQL_CONFIRM_PURGE,
    AFL_SQL_STORE_END, /* the statements below are prepared by their users only */

    /* ---- schema versions (afl_migrate): run without a kept prepared
     * statement (afl_db_select_once), also before the schema exists */
    AFL_SQL_MIGRATE_TABLES,
    AFL_SQL_MIGRATE_VERSION,
    AFL_SQL_MIGRATE_RECORD,
    AFL_SQL_MIGRATE_LOCK,
    AFL_SQL_MIGRATE_FK_CHECK,

    /* ---- afiliatectl sample */
    AFL_SQL_SAMPLE_FOUND,
    AFL_SQL_SAMPLE_NEW,
    AFL_SQL_SAMPLE_INACTIVE,

    /* ---- afiliatectl import-sepomex, import-umf, import-registry */
    AFL_SQL_SEPOMEX_UPSERT,
    AFL_SQL_SEPOMEX_COUNT,
    AFL_SQL_SEPOMEX_CPS,
    AFL_SQL_UMF_UPSERT,
    AFL_SQL_UMF_CP_CLEAR,
    AFL_SQL_UMF_CP_ADD,
    AFL_SQL_UMF_COUNT,
    AFL_SQL_UMF_CPS,
    AFL_SQL_UMF_CPS_UNKNOWN,
    AFL_SQL_PERSONA_UPSERT,
    AFL_SQL_PERSONA_COUNT,
    AFL_SQL_PERSONA_ACTIVE,

    /* ---- afiliatectl demo-registry (its NSS folios: afl_store_nss_take) */
    AFL_SQL_DEMO_UMFS,
    AFL_SQL_DEMO_PLACES,
    AFL_SQL_DEMO_PERSONA,
    AFL_SQL_DEMO_PERSONA_ADD,
    AFL_SQL_DEMO_ASEGURADO_ADD,
    AFL_SQL_DEMO_COBERTURA_ADD,
    AFL_SQL_ASEGURADO_COUNT,

    /* ---- afiliatectl import-vigencia */
    AFL_SQL_VIG_ASEG_BY_NSS,
    AFL_SQL_VIG_ASEG_BY_CURP,
    AFL_SQL_VIG_OTHER_CURP,
    AFL_SQL_VIG_GET,
    AFL_SQL_VIG_INSERT,
    AFL_SQL_VIG_UPDATE,
    AFL_SQL_VIG_COUNT,

    /* ---- afiliatectl stats (the one value: the first second of --since) */
    AFL_SQL_STATS_ASSIGNED,
    AFL_SQL_STATS_LOCATED,
    AFL_SQL_STATS_COMPROBANTE,
    AFL_SQL_STATS_TARJETA,
    AFL_SQL_STATS_CONSTANCIA,
    AFL_SQL_STATS_OUTBOX,

    AFL_SQL_COUNT
} afl_sql_id;

typedef struct {
    const char *label;
    const char *sqlite;
    const char *pgsql; /* NULL: the SQLite text */
} afl_sql_stmt;

/* The row of id (NULL when id is out of range). */
const afl_sql_stmt *afl_sql_get(afl_sql_id id);

/* The text of id for the driver (pgsql != 0: PostgreSQL); NULL when id is out
 * of range. */
const char *afl_sql_text(afl_sql_id id, int pgsql);

#endif
