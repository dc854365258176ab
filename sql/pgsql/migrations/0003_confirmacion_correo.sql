-- Migration 0003, e-mail confirmation (PostgreSQL dialect; AfiliateConfirmarCorreo,
-- docs/mail.md "Confirming the e-mail address"). The outbox also carries the message
-- with the confirmation link, which is queued before the trámite has an insured row:
-- asegurado_id may be NULL for that kind (and only for it), and enlace holds the link.
-- confirmacion_usada records the trámites whose link was opened (single use on every
-- server sharing the database). Written to apply also over a database made from
-- schema.sql, which already has all of it (IF EXISTS / IF NOT EXISTS).
ALTER TABLE outbox ALTER COLUMN asegurado_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS enlace TEXT;
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('comprobante', 'constancia', 'confirmacion'));
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_reason_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_reason_check
    CHECK (reason IN ('asignacion', 'localizacion', 'reenvio', 'vigencia', 'confirmacion'));
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_confirmacion_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_confirmacion_check
    CHECK ((kind = 'confirmacion') = (asegurado_id IS NULL));

CREATE TABLE IF NOT EXISTS confirmacion_usada (
    tramite_id         TEXT PRIMARY KEY,           -- the trámite (session row id) the link named
    usada              BIGINT NOT NULL,            -- UNIX seconds
    expira             BIGINT NOT NULL             -- no link of that trámite is valid after this
);
CREATE INDEX IF NOT EXISTS confirmacion_usada_expira ON confirmacion_usada (expira);
