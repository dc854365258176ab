/* afl_sql: the statement table (see afl_sql.h). */
#include "afl_sql.h"

#include <stddef.h>

/* RENAPO status codes of an active CURP (afl_store_status_active) and of an
 * inactive one, as SQL lists. */
#define SQL_ACTIVE "('AN', 'AH', 'CRA', 'RCN', 'RCC')"
#define SQL_INACTIVE "('BD', 'BDA', 'BCC', 'BCN', 'BAP', 'BSU', 'BDM', 'BDP', 'BJD')"

static const afl_sql_stmt table[AFL_SQL_COUNT] = {
    /* Serializes trámites of one CURP across servers (PostgreSQL, READ COMMITTED):
     * without it two servers both see "no NSS yet" and one fails on UNIQUE(curp).
     * The lock ends with the transaction. SQLite's BEGIN IMMEDIATE already takes
     * the one database write lock. */
    [AFL_SQL_CURP_LOCK] = {"afl_curp_lock", "SELECT 1 WHERE %s IS NOT NULL",
                           "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"},
    [AFL_SQL_PERSONA] = {"afl_persona",
                         "SELECT nombres, primer_apellido, COALESCE(segundo_apellido, ''), "
                         "fecha_nacimiento, sexo, entidad_nacimiento, status_curp "
                         "FROM renapo_persona WHERE curp = %s",
                         NULL},
    [AFL_SQL_ASEGURADO] = {"afl_asegurado",
                           "SELECT a.nss, a.origen, a.id, a.creado, COALESCE(a.umf_clave, ''), "
                           "COALESCE(u.nombre, '') FROM asegurado a "
                           "LEFT JOIN umf u ON u.clave = a.umf_clave WHERE a.curp = %s",
                           NULL},
    [AFL_SQL_NSS_TAKEN] = {"afl_nss_taken", "SELECT 1 FROM asegurado WHERE nss = %s", NULL},
    [AFL_SQL_CAPTCHA_USE] = {"afl_captcha_use",
                             "INSERT INTO captcha_usado (id, expira) VALUES (%s, %lld) "
                             "ON CONFLICT (id) DO NOTHING",
                             NULL},
    [AFL_SQL_LIMITE_HIT] = {"afl_limite_hit",
                            "INSERT INTO limite (clave, ventana, cuenta) VALUES (%s, %lld, 1) "
                            "ON CONFLICT (clave, ventana) DO UPDATE SET cuenta = limite.cuenta + 1",
                            NULL},
    [AFL_SQL_LIMITE_GET] = {"afl_limite_get",
                            "SELECT cuenta FROM limite WHERE clave = %s AND ventana = %lld", NULL},
    [AFL_SQL_LIMITE_GET_PAIR] = {"afl_limite_get_pair",
                                 "SELECT clave, cuenta FROM limite WHERE ventana = %lld AND "
                                 "clave IN (%s, %s)",
                                 NULL},
    [AFL_SQL_TRAMITE_PUT] =
        {"afl_tramite_put",
         "INSERT INTO tramite (id, csrf, paso, curp, correo, nss, origen, reenvios, "
         "creado, expira) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %lld, %lld) "
         "ON CONFLICT (id) DO UPDATE SET csrf = excluded.csrf, paso = excluded.paso, "
         "curp = excluded.curp, correo = excluded.correo, nss = excluded.nss, "
         "origen = excluded.origen, reenvios = 0, creado = excluded.creado, "
         "expira = excluded.expira",
         NULL},
    [AFL_SQL_TRAMITE_GET] = {"afl_tramite_get",
                             "SELECT csrf, paso, COALESCE(curp, ''), COALESCE(correo, ''), "
                             "COALESCE(nss, ''), COALESCE(origen, ''), reenvios, expira "
                             "FROM tramite WHERE id = %s AND expira > %lld",
                             NULL},
    [AFL_SQL_TRAMITE_TOUCH] = {"afl_tramite_touch",
                               "UPDATE tramite SET expira = %lld WHERE id = %s", NULL},
    [AFL_SQL_TRAMITE_RESULT] = {"afl_tramite_result",
                                "UPDATE tramite SET paso = 'resultado', nss = %s, origen = %s, "
                                "expira = %lld WHERE id = %s",
                                NULL},
    [AFL_SQL_TRAMITE_DEL] = {"afl_tramite_del", "DELETE FROM tramite WHERE id = %s", NULL},
    [AFL_SQL_CP_COLONIAS] = {"afl_cp_colonias",
                             "SELECT asentamiento, municipio, estado FROM sepomex WHERE cp = %s "
                             "ORDER BY asentamiento",
                             NULL},
    [AFL_SQL_CP_UMFS] = {"afl_cp_umfs",
                         "SELECT u.clave, u.nombre, u.serie FROM umf_cp c "
                         "JOIN umf u ON u.clave = c.umf_clave WHERE c.cp = %s ORDER BY u.clave",
                         NULL},
    /* The postal-code look-up in one statement: colonias, and whether any UMF
     * serves the code (1/0 on both databases). */
    [AFL_SQL_CP_LOOKUP] =
        {"afl_cp_lookup",
         "SELECT s.asentamiento, s.municipio, s.estado, "
         "CASE WHEN EXISTS (SELECT 1 FROM umf_cp c JOIN umf u ON u.clave = c.umf_clave "
         "WHERE c.cp = s.cp) THEN 1 ELSE 0 END "
         "FROM sepomex s WHERE s.cp = %s ORDER BY s.asentamiento",
         NULL},
    /* The NSS folio counter (afl_store_nss_take, the one allocator of the web
     * assignment and of afiliatectl demo-registry): the folio taken is the old
     * siguiente; siguiente = 10000 means the prefix is exhausted (no row changes). */
    [AFL_SQL_FOLIO_TAKE] = {"afl_folio_take",
                            "INSERT INTO folio_contador (prefijo, siguiente) VALUES (%s, 1) "
                            "ON CONFLICT (prefijo) DO UPDATE SET siguiente = "
                            "folio_contador.siguiente + 1 WHERE folio_contador.siguiente < 10000",
                            NULL},
    [AFL_SQL_FOLIO_GET] = {"afl_folio_get",
                           "SELECT siguiente FROM folio_contador WHERE prefijo = %s", NULL},
    [AFL_SQL_ASEGURADO_ADD] =
        {"afl_asegurado_add",
         "INSERT INTO asegurado (nss, curp, prefijo, folio, correo, cp, colonia, "
         "calle, numero_exterior, numero_interior, umf_clave, origen, creado, "
         "actualizado) VALUES (%s, %s, %s, %d, %s, %s, %s, %s, %s, %s, %s, "
         "'asignado', %lld, %lld)",
         NULL},
    [AFL_SQL_ASEGURADO_CORREO] = {"afl_asegurado_correo",
                                  "UPDATE asegurado SET correo = %s, actualizado = %lld "
                                  "WHERE curp = %s",
                                  NULL},
    [AFL_SQL_AUDIT_ADD] = {"afl_audit_add",
                           "INSERT INTO auditoria (ts, evento, curp_hmac, detalle) "
                           "VALUES (%lld, %s, %s, %s)",
                           NULL},
    [AFL_SQL_PURGE_CAPTCHA] = {"afl_purge_captcha", "DELETE FROM captcha_usado WHERE expira < %lld",
                               NULL},
    [AFL_SQL_PURGE_TRAMITE] = {"afl_purge_tramite", "DELETE FROM tramite WHERE expira < %lld",
                               NULL},
    [AFL_SQL_PURGE_LIMITE] = {"afl_purge_limite", "DELETE FROM limite WHERE ventana < %lld", NULL},
    /* Resends: the per-trámite count moves only while under the limit. */
    [AFL_SQL_TRAMITE_RESEND] = {"afl_tramite_resend",
                                "UPDATE tramite SET reenvios = reenvios + 1 WHERE id = %s AND "
                                "paso = %s AND reenvios < %d AND expira > %lld",
                                NULL},
    /* Outbox. A row is inserted with a random token as message_id, then the
     * token is turned into the final Message-ID, which holds the row id. */
    [AFL_SQL_OUTBOX_ADD] =
        {"afl_outbox_add",
         "INSERT INTO outbox (kind, reason, asegurado_id, recipient, status, attempts, "
         "next_attempt_at, message_id, created) SELECT %s, %s, id, %s, "
         "'pending', 0, %lld, %s, %lld FROM asegurado WHERE curp = %s",
         NULL},
    [AFL_SQL_OUTBOX_MSGID] =
        {"afl_outbox_msgid",
         "UPDATE outbox SET message_id = '<outbox-' || CAST(id AS TEXT) || '.' || "
         "message_id || '@' || %s || '>' WHERE message_id = %s",
         NULL},
    /* Due rows: pending ones whose time has come, and claimed ones whose lease
     * expired (their sender died). The claim below is what makes a row ours:
     * a conditional UPDATE is atomic on both databases (PostgreSQL re-checks
     * the WHERE clause on the locked row), so no SKIP LOCKED is needed. */
    [AFL_SQL_OUTBOX_DUE] =
        {"afl_outbox_due",
         "SELECT id FROM outbox WHERE (status = 'pending' AND next_attempt_at <= %lld) "
         "OR (status = 'sending' AND lease_until < %lld) ORDER BY next_attempt_at, id LIMIT %d",
         NULL},
    [AFL_SQL_OUTBOX_CLAIM] = {"afl_outbox_claim",
                              "UPDATE outbox SET status = 'sending', lease_until = %lld, "
                              "attempts = attempts + 1 WHERE id = %lld AND "
                              "((status = 'pending' AND next_attempt_at <= %lld) OR "
                              "(status = 'sending' AND lease_until < %lld))",
                              NULL},
    [AFL_SQL_OUTBOX_GET] =
        {"afl_outbox_get",
         "SELECT o.reason, o.recipient, o.message_id, o.attempts, o.created, "
         "COALESCE(a.curp, ''), o.kind, COALESCE(a.nss, ''), COALESCE(o.enlace, '') "
         "FROM outbox o LEFT JOIN asegurado a ON a.id = o.asegurado_id WHERE o.id = %lld",
         NULL},
    /* The attempt number is the claim's fencing token: a sender whose lease
     * ran out (and whose row was claimed again) changes nothing. */
    [AFL_SQL_OUTBOX_SENT] =
        {"afl_outbox_sent",
         "UPDATE outbox SET status = 'sent', sent_at = %lld, lease_until = NULL, "
         "last_error = NULL WHERE id = %lld AND attempts = %d AND status = 'sending'",
         NULL},
    [AFL_SQL_OUTBOX_RETRY] =
        {"afl_outbox_retry",
         "UPDATE outbox SET status = 'pending', next_attempt_at = %lld, "
         "lease_until = NULL, last_error = %s WHERE id = %lld AND attempts = %d "
         "AND status = 'sending'",
         NULL},
    [AFL_SQL_OUTBOX_FAIL] =
        {"afl_outbox_fail",
         "UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = %s "
         "WHERE id = %lld AND attempts = %d AND status = 'sending'",
         NULL},
    [AFL_SQL_OUTBOX_COUNTS] = {"afl_outbox_counts",
                               "SELECT status, count(*) FROM outbox GROUP BY status", NULL},
    [AFL_SQL_OUTBOX_BACKLOG] = {"afl_outbox_backlog",
                                "SELECT count(*), coalesce(min(created), 0) FROM outbox "
                                "WHERE status IN ('pending', 'sending')",
                                NULL},
    [AFL_SQL_OUTBOX_REQUEUE_ID] = {"afl_outbox_requeue_id",
                                   "UPDATE outbox SET status = 'pending', attempts = 0, "
                                   "next_attempt_at = %lld, lease_until = NULL "
                                   "WHERE id = %lld AND status = 'failed'",
                                   NULL},
    [AFL_SQL_OUTBOX_REQUEUE_FAILED] = {"afl_outbox_requeue_failed",
                                       "UPDATE outbox SET status = 'pending', attempts = 0, "
                                       "next_attempt_at = %lld, lease_until = NULL "
                                       "WHERE status = 'failed'",
                                       NULL},
    /* Signed documents (afl_doc_issue): one transaction takes the next
     * sequence (the UPDATE holds the counter's row until the commit, so the
     * read-back is this transaction's own) and inserts the row with sello '';
     * the sello, signed after the commit, is stored by AFL_SQL_DOC_SEAL. */
    [AFL_SQL_DOC_NEXT] = {"afl_doc_next", "SELECT siguiente FROM documento_contador WHERE id = 1",
                          NULL},
    [AFL_SQL_DOC_TAKE] = {"afl_doc_take",
                          "UPDATE documento_contador SET siguiente = siguiente + 1 WHERE id = 1",
                          NULL},
    [AFL_SQL_DOC_ADD] =
        {"afl_doc_add",
         "INSERT INTO documento (folio, tipo, nss, curp, nombre, emitido, cadena, sello, "
         "no_serie, datos) VALUES (%s, %s, %s, %s, %s, %lld, %s, %s, %s, %s)",
         NULL},
    /* The document already issued to this trámite (datos names it). */
    [AFL_SQL_DOC_REUSE] = {"afl_doc_reuse",
                           "SELECT folio, emitido, cadena, sello, no_serie FROM documento "
                           "WHERE nss = %s AND tipo = %s AND datos = %s "
                           "ORDER BY emitido DESC, folio DESC LIMIT 1",
                           NULL},
    [AFL_SQL_DOC_GET] =
        {"afl_doc_get",
         "SELECT tipo, nss, nombre, emitido, cadena, sello, no_serie FROM documento "
         "WHERE folio = %s",
         NULL},
    [AFL_SQL_DOC_SEAL] = {"afl_doc_seal",
                          "UPDATE documento SET sello = %s WHERE folio = %s AND sello = ''", NULL},
    /* Rows a process left without their sello (index documento_sin_sello). */
    [AFL_SQL_DOC_UNSEALED] = {"afl_doc_unsealed",
                              "SELECT folio, cadena FROM documento WHERE no_serie = %s AND "
                              "sello = '' AND emitido < %lld ORDER BY folio LIMIT %d",
                              NULL},
    [AFL_SQL_COBERTURA_ALTA] =
        {"afl_cobertura_alta",
         "INSERT INTO cobertura (clave, nss, curp, movimiento, inicio, fin, "
         "origen, escuela, creado, actualizado) VALUES (%s, %s, %s, 'alta', %s, "
         "%s, 'asignacion', '', %lld, %lld) ON CONFLICT (clave) DO NOTHING",
         NULL},
    [AFL_SQL_COBERTURA_NSS] = {"afl_cobertura_nss",
                               "SELECT movimiento, inicio, COALESCE(fin, '') FROM cobertura "
                               "WHERE nss = %s",
                               NULL},
    [AFL_SQL_ASEGURADO_NSS] = {"afl_asegurado_nss",
                               "SELECT a.curp, COALESCE(a.umf_clave, ''), COALESCE(u.nombre, ''), "
                               "COALESCE(u.domicilio, ''), COALESCE(u.subdelegacion, '') "
                               "FROM asegurado a LEFT JOIN umf u ON u.clave = a.umf_clave "
                               "WHERE a.nss = %s",
                               NULL},
    /* ---- RENAPO web service answers (afl_identity, docs/renapo.md) ---- */
    [AFL_SQL_RENAPO_CONSULTA_GET] = {"afl_renapo_consulta_get",
                                     "SELECT encontrado, consultado FROM renapo_consulta "
                                     "WHERE curp = %s",
                                     NULL},
    [AFL_SQL_RENAPO_CONSULTA_PUT] =
        {"afl_renapo_consulta_put",
         "INSERT INTO renapo_consulta (curp, encontrado, consultado) "
         "VALUES (%s, %d, %lld) ON CONFLICT (curp) DO UPDATE SET "
         "encontrado = excluded.encontrado, consultado = excluded.consultado",
         NULL},
    [AFL_SQL_RENAPO_PERSONA_PUT] =
        {"afl_renapo_persona_put",
         "INSERT INTO renapo_persona (curp, nombres, primer_apellido, "
         "segundo_apellido, fecha_nacimiento, sexo, entidad_nacimiento, "
         "status_curp) VALUES (%s, %s, %s, NULLIF(%s, ''), %s, %s, %s, %s) "
         "ON CONFLICT (curp) DO UPDATE SET nombres = excluded.nombres, "
         "primer_apellido = excluded.primer_apellido, "
         "segundo_apellido = excluded.segundo_apellido, "
         "fecha_nacimiento = excluded.fecha_nacimiento, "
         "sexo = excluded.sexo, "
         "entidad_nacimiento = excluded.entidad_nacimiento, "
         "status_curp = excluded.status_curp",
         NULL},
    /* ---- E-mail confirmation (AfiliateConfirmarCorreo, docs/mail.md "Confirming the
     * e-mail address"). A link is single use: the first opening of any link of a
     * trámite inserts its row; the trámite waiting at 'confirmacion' is taken (its row
     * moves to the new session id) in the same transaction. */
    [AFL_SQL_CONFIRM_USE] = {"afl_confirm_use",
                             "INSERT INTO confirmacion_usada (tramite_id, usada, expira) "
                             "VALUES (%s, %lld, %lld) ON CONFLICT (tramite_id) DO NOTHING",
                             NULL},
    [AFL_SQL_CONFIRM_USED] = {"afl_confirm_used",
                              "SELECT 1 FROM confirmacion_usada WHERE tramite_id = %s", NULL},
    [AFL_SQL_CONFIRM_TAKE] = {"afl_confirm_take",
                              "DELETE FROM tramite WHERE id = %s AND paso = 'confirmacion' AND "
                              "expira > %lld",
                              NULL},
    /* The message with the link: no insured row yet (kind 'confirmacion'). */
    [AFL_SQL_CONFIRM_OUTBOX_ADD] =
        {"afl_confirm_outbox_add",
         "INSERT INTO outbox (kind, reason, asegurado_id, recipient, status, "
         "attempts, next_attempt_at, message_id, created, enlace) VALUES "
         "('confirmacion', 'confirmacion', NULL, %s, 'pending', 0, %lld, %s, "
         "%lld, %s)",
         NULL},
    [AFL_SQL_CONFIRM_PURGE] = {"afl_confirm_purge",
                               "DELETE FROM confirmacion_usada WHERE expira < %lld", NULL},

    /* ---- schema versions (afl_migrate) */
    [AFL_SQL_MIGRATE_TABLES] = {"afl_migrate_tables",
                                "SELECT name FROM sqlite_master WHERE type = 'table'",
                                "SELECT table_name FROM information_schema.tables WHERE "
                                "table_schema = current_schema() AND table_type = 'BASE TABLE'"},
    [AFL_SQL_MIGRATE_VERSION] = {"afl_migrate_version", "SELECT max(version) FROM schema_version",
                                 NULL},
    [AFL_SQL_MIGRATE_RECORD] = {"afl_migrate_record",
                                "INSERT INTO schema_version (version, name, applied, how) "
                                "VALUES (%d, %s, %lld, %s)",
                                NULL},
    /* One migration step at a time per PostgreSQL database (any constant shared
     * by every afiliatectl migrate); SQLite's BEGIN IMMEDIATE does the same. */
    [AFL_SQL_MIGRATE_LOCK] = {"afl_migrate_lock", "SELECT 1",
                              "SELECT pg_advisory_xact_lock(7243981508)"},
    /* Rows whose foreign key points nowhere (SQLite only: PostgreSQL checks
     * every constraint as it goes). */
    [AFL_SQL_MIGRATE_FK_CHECK] = {"afl_migrate_fk_check", "PRAGMA foreign_key_check",
                                  "SELECT 1 WHERE false"},

    /* ---- afiliatectl sample */
    [AFL_SQL_SAMPLE_FOUND] = {"dat_sample_found",
                              "SELECT p.curp FROM renapo_persona p JOIN asegurado a ON a.curp = "
                              "p.curp WHERE p.status_curp IN " SQL_ACTIVE
                              " ORDER BY p.curp LIMIT %d",
                              NULL},
    [AFL_SQL_SAMPLE_NEW] = {"dat_sample_new",
                            "SELECT p.curp FROM renapo_persona p WHERE p.status_curp IN " SQL_ACTIVE
                            " AND NOT EXISTS (SELECT 1 FROM asegurado a WHERE a.curp = p.curp) "
                            "ORDER BY p.curp LIMIT %d",
                            NULL},
    [AFL_SQL_SAMPLE_INACTIVE] =
        {"dat_sample_inactive",
         "SELECT p.curp FROM renapo_persona p WHERE p.status_curp IN " SQL_INACTIVE
         " ORDER BY p.curp LIMIT %d",
         NULL},

    /* ---- afiliatectl import-sepomex, import-umf, import-registry */
    [AFL_SQL_SEPOMEX_UPSERT] =
        {"dat_sepomex_upsert",
         "INSERT INTO sepomex (cp, asentamiento, tipo_asentamiento, municipio, estado, ciudad, "
         "c_estado, c_mnpio, id_asenta, zona) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
         "ON CONFLICT (c_estado, c_mnpio, id_asenta) DO UPDATE SET cp = excluded.cp, "
         "asentamiento = excluded.asentamiento, tipo_asentamiento = excluded.tipo_asentamiento, "
         "municipio = excluded.municipio, estado = excluded.estado, ciudad = excluded.ciudad, "
         "zona = excluded.zona",
         NULL},
    [AFL_SQL_SEPOMEX_COUNT] = {"dat_sepomex_count", "SELECT count(*) FROM sepomex", NULL},
    [AFL_SQL_SEPOMEX_CPS] = {"dat_sepomex_cps", "SELECT count(DISTINCT cp) FROM sepomex", NULL},
    [AFL_SQL_UMF_UPSERT] = {"dat_umf_upsert",
                            "INSERT INTO umf (clave, nombre, subdelegacion, serie, domicilio) "
                            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (clave) DO UPDATE SET "
                            "nombre = excluded.nombre, subdelegacion = excluded.subdelegacion, "
                            "serie = excluded.serie, domicilio = excluded.domicilio",
                            NULL},
    [AFL_SQL_UMF_CP_CLEAR] = {"dat_umf_cp_clear", "DELETE FROM umf_cp WHERE umf_clave = %s", NULL},
    [AFL_SQL_UMF_CP_ADD] = {"dat_umf_cp_add",
                            "INSERT INTO umf_cp (cp, umf_clave) VALUES (%s, %s) "
                            "ON CONFLICT (cp, umf_clave) DO NOTHING",
                            NULL},
    [AFL_SQL_UMF_COUNT] = {"dat_umf_count", "SELECT count(*) FROM umf", NULL},
    [AFL_SQL_UMF_CPS] = {"dat_umf_cps", "SELECT count(DISTINCT cp) FROM umf_cp", NULL},
    [AFL_SQL_UMF_CPS_UNKNOWN] = {"dat_umf_cps_unknown",
                                 "SELECT count(DISTINCT cp) FROM umf_cp "
                                 "WHERE cp NOT IN (SELECT cp FROM sepomex)",
                                 NULL},
    [AFL_SQL_PERSONA_UPSERT] =
        {"dat_persona_upsert",
         "INSERT INTO renapo_persona (curp, nombres, primer_apellido, segundo_apellido, "
         "fecha_nacimiento, sexo, entidad_nacimiento, status_curp) "
         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (curp) DO UPDATE SET "
         "nombres = excluded.nombres, primer_apellido = excluded.primer_apellido, "
         "segundo_apellido = excluded.segundo_apellido, fecha_nacimiento = "
         "excluded.fecha_nacimiento, "
         "sexo = excluded.sexo, entidad_nacimiento = excluded.entidad_nacimiento, "
         "status_curp = excluded.status_curp",
         NULL},
    [AFL_SQL_PERSONA_COUNT] = {"dat_persona_count", "SELECT count(*) FROM renapo_persona", NULL},
    [AFL_SQL_PERSONA_ACTIVE] =
        {"dat_persona_active",
         "SELECT count(*) FROM renapo_persona WHERE status_curp IN " SQL_ACTIVE, NULL},

    /* ---- afiliatectl demo-registry */
    [AFL_SQL_DEMO_UMFS] = {"dat_demo_umfs",
                           "SELECT c.cp, u.clave, u.serie FROM umf_cp c "
                           "JOIN umf u ON u.clave = c.umf_clave ORDER BY c.cp, u.clave",
                           NULL},
    [AFL_SQL_DEMO_PLACES] = {"dat_demo_places",
                             "SELECT s.cp, s.asentamiento FROM sepomex s "
                             "WHERE s.cp IN (SELECT cp FROM umf_cp) "
                             "ORDER BY s.cp, s.c_estado, s.c_mnpio, s.id_asenta",
                             NULL},
    [AFL_SQL_DEMO_PERSONA] = {"dat_demo_persona",
                              "SELECT nombres, primer_apellido, segundo_apellido, "
                              "fecha_nacimiento, sexo, entidad_nacimiento FROM renapo_persona "
                              "WHERE curp = %s",
                              NULL},
    [AFL_SQL_DEMO_PERSONA_ADD] = {"dat_demo_persona_add",
                                  "INSERT INTO renapo_persona (curp, nombres, primer_apellido, "
                                  "segundo_apellido, fecha_nacimiento, sexo, entidad_nacimiento, "
                                  "status_curp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                  NULL},
    [AFL_SQL_DEMO_ASEGURADO_ADD] =
        {"dat_demo_asegurado_add",
         "INSERT INTO asegurado (nss, curp, prefijo, folio, correo, cp, colonia, calle, "
         "numero_exterior, numero_interior, umf_clave, origen, creado, actualizado) "
         "VALUES (%s, %s, %s, %d, %s, %s, %s, %s, %s, %s, %s, 'localizado', %lld, %lld)",
         NULL},
    /* Demo coverage, so Paso 2 has something to certify: one school period per
     * demo insured person. */
    [AFL_SQL_DEMO_COBERTURA_ADD] =
        {"dat_demo_cobertura_add",
         "INSERT INTO cobertura (clave, nss, curp, movimiento, inicio, fin, origen, escuela, "
         "creado, actualizado) VALUES (%s, %s, %s, 'alta', %s, %s, 'escuela', 'DEMO', %lld, %lld) "
         "ON CONFLICT (clave) DO NOTHING",
         NULL},
    [AFL_SQL_ASEGURADO_COUNT] = {"dat_asegurado_count", "SELECT count(*) FROM asegurado", NULL},

    /* ---- afiliatectl import-vigencia */
    [AFL_SQL_VIG_ASEG_BY_NSS] = {"vig_aseg_by_nss", "SELECT curp FROM asegurado WHERE nss = %s",
                                 NULL},
    [AFL_SQL_VIG_ASEG_BY_CURP] = {"vig_aseg_by_curp", "SELECT nss FROM asegurado WHERE curp = %s",
                                  NULL},
    [AFL_SQL_VIG_OTHER_CURP] = {"vig_other_curp",
                                "SELECT count(*) FROM cobertura WHERE nss = %s AND curp <> %s",
                                NULL},
    [AFL_SQL_VIG_GET] = {"vig_get", "SELECT fin FROM cobertura WHERE clave = %s", NULL},
    [AFL_SQL_VIG_INSERT] = {"vig_insert",
                            "INSERT INTO cobertura (clave, nss, curp, movimiento, inicio, fin, "
                            "origen, escuela, creado, actualizado) VALUES (%s, %s, %s, %s, %s, "
                            "%s, 'escuela', %s, %lld, %lld)",
                            NULL},
    [AFL_SQL_VIG_UPDATE] = {"vig_update",
                            "UPDATE cobertura SET fin = %s, actualizado = %lld WHERE clave = %s",
                            NULL},
    [AFL_SQL_VIG_COUNT] = {"vig_count", "SELECT count(*) FROM cobertura", NULL},

    /* ---- afiliatectl stats: outcomes per day since a first second */
    [AFL_SQL_STATS_ASSIGNED] = {"ctl_stats_assigned",
                                "SELECT ts / 86400, count(*) FROM auditoria WHERE evento = "
                                "'asignacion' AND ts >= %lld GROUP BY ts / 86400",
                                NULL},
    [AFL_SQL_STATS_LOCATED] = {"ctl_stats_located",
                               "SELECT ts / 86400, count(*) FROM auditoria WHERE evento = "
                               "'localizacion' AND ts >= %lld GROUP BY ts / 86400",
                               NULL},
    [AFL_SQL_STATS_COMPROBANTE] = {"ctl_stats_comprobante",
                                   "SELECT emitido / 86400, count(*) FROM documento WHERE tipo = "
                                   "'comprobante' AND emitido >= %lld GROUP BY emitido / 86400",
                                   NULL},
    [AFL_SQL_STATS_TARJETA] = {"ctl_stats_tarjeta",
                               "SELECT emitido / 86400, count(*) FROM documento WHERE tipo = "
                               "'tarjeta' AND emitido >= %lld GROUP BY emitido / 86400",
                               NULL},
    [AFL_SQL_STATS_CONSTANCIA] = {"ctl_stats_constancia",
                                  "SELECT emitido / 86400, count(*) FROM documento WHERE tipo = "
                                  "'constancia' AND emitido >= %lld GROUP BY emitido / 86400",
                                  NULL},
    [AFL_SQL_STATS_OUTBOX] = {"ctl_stats_outbox",
                              "SELECT created / 86400, status, count(*) FROM outbox "
                              "WHERE created >= %lld GROUP BY created / 86400, status",
                              NULL},
};

const afl_sql_stmt *afl_sql_get(afl_sql_id id)
{
    return (unsigned)id < AFL_SQL_COUNT && table[id].label ? &table[id] : NULL;
}

const char *afl_sql_text(afl_sql_id id, int pgsql)
{
    const afl_sql_stmt *s = afl_sql_get(id);

    if (!s)
        return NULL;
    return pgsql && s->pgsql ? s->pgsql : s->sqlite;
}
