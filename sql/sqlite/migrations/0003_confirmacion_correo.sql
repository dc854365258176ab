-- Migration 0003, e-mail confirmation (SQLite dialect; AfiliateConfirmarCorreo,
-- docs/mail.md "Confirming the e-mail address"). The outbox also carries the message
-- with the confirmation link, which is queued before the trámite has an insured row:
-- asegurado_id may be NULL for that kind (and only for it), and enlace holds the link.
-- SQLite cannot change a column's constraints: the table is rebuilt with its rows.
-- confirmacion_usada records the trámites whose link was opened (single use on every
-- server sharing the database).
ALTER TABLE outbox RENAME TO outbox_v1;
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL DEFAULT 'comprobante'
                       CHECK (kind IN ('comprobante', 'constancia', 'confirmacion')),
    reason             TEXT NOT NULL
                       CHECK (reason IN ('asignacion', 'localizacion', 'reenvio', 'vigencia', 'confirmacion')),
    asegurado_id       INTEGER REFERENCES asegurado (id), -- NULL only for kind 'confirmacion'
    recipient          TEXT NOT NULL,              -- the e-mail given in the trámite
    status             TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0, -- claims so far (the current one included)
    next_attempt_at    INTEGER NOT NULL,           -- due from this time (UNIX seconds)
    lease_until        INTEGER,                    -- 'sending': claimed until this time
    message_id         TEXT NOT NULL UNIQUE,       -- Message-ID header, fixed for every retry
    last_error         TEXT,                       -- short, never personal data
    created            INTEGER NOT NULL,
    sent_at            INTEGER,
    enlace             TEXT,                       -- kind 'confirmacion': the link
    CONSTRAINT outbox_confirmacion_check CHECK ((kind = 'confirmacion') = (asegurado_id IS NULL))
);
INSERT INTO outbox (id, kind, reason, asegurado_id, recipient, status, attempts, next_attempt_at,
                    lease_until, message_id, last_error, created, sent_at)
    SELECT id, kind, reason, asegurado_id, recipient, status, attempts, next_attempt_at,
           lease_until, message_id, last_error, created, sent_at FROM outbox_v1;
DROP TABLE outbox_v1;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_asegurado ON outbox (asegurado_id);

CREATE TABLE confirmacion_usada (
    tramite_id         TEXT PRIMARY KEY,           -- the trámite (session row id) the link named
    usada              INTEGER NOT NULL,           -- UNIX seconds
    expira             INTEGER NOT NULL            -- no link of that trámite is valid after this
);
CREATE INDEX confirmacion_usada_expira ON confirmacion_usada (expira);
