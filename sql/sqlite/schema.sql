-- mod_afiliate schema, SQLite dialect. Keep in step with ../pgsql/schema.sql:
-- same tables, same columns, same constraints. Times are UNIX seconds (INTEGER),
-- dates are 'YYYY-MM-DD' text, so every statement reads the same on both drivers.
-- The full current schema, for reading. Databases are made and upgraded by the
-- migrations in migrations/ (afiliatectl migrate, docs/deployment.md "Schema
-- upgrades"); a test checks that this file equals what they produce.

PRAGMA journal_mode = WAL;

-- RENAPO registry mirror.
CREATE TABLE IF NOT EXISTS renapo_persona (
    curp               TEXT PRIMARY KEY CHECK (length(curp) = 18),
    nombres            TEXT NOT NULL,
    primer_apellido    TEXT NOT NULL,
    segundo_apellido   TEXT,                       -- NULL when the person has none
    fecha_nacimiento   TEXT NOT NULL CHECK (length(fecha_nacimiento) = 10),
    sexo               TEXT NOT NULL CHECK (sexo IN ('H', 'M', 'X')),
    entidad_nacimiento TEXT NOT NULL CHECK (length(entidad_nacimiento) = 2),
    status_curp        TEXT NOT NULL               -- AN AH CRA RCN RCC active; BD BDA ... inactive
);

-- RENAPO web service answers (docs/renapo.md): found or not, and when; a found
-- person is also written into renapo_persona.
CREATE TABLE IF NOT EXISTS renapo_consulta (
    curp               TEXT PRIMARY KEY CHECK (length(curp) = 18),
    encontrado         INTEGER  NOT NULL CHECK (encontrado IN (0, 1)),
    consultado         INTEGER  NOT NULL            -- UNIX seconds of RENAPO's answer
);

-- SEPOMEX catalog (UTF-8). id_asenta is unique within a municipio only.
CREATE TABLE IF NOT EXISTS sepomex (
    cp                 TEXT NOT NULL CHECK (length(cp) = 5),
    asentamiento       TEXT NOT NULL,
    tipo_asentamiento  TEXT NOT NULL,
    municipio          TEXT NOT NULL,
    estado             TEXT NOT NULL,
    ciudad             TEXT NOT NULL DEFAULT '',
    c_estado           TEXT NOT NULL,
    c_mnpio            TEXT NOT NULL,
    id_asenta          TEXT NOT NULL,
    zona               TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (c_estado, c_mnpio, id_asenta)
);
CREATE INDEX IF NOT EXISTS sepomex_cp ON sepomex (cp);

-- Unidades de Medicina Familiar and the postal codes each one serves.
CREATE TABLE IF NOT EXISTS umf (
    clave              TEXT PRIMARY KEY,
    nombre             TEXT NOT NULL,
    subdelegacion      TEXT NOT NULL,
    serie              TEXT NOT NULL CHECK (length(serie) = 2),   -- NSS serie of the subdelegación
    domicilio          TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS umf_cp (
    cp                 TEXT NOT NULL CHECK (length(cp) = 5),
    umf_clave          TEXT NOT NULL REFERENCES umf (clave),
    PRIMARY KEY (cp, umf_clave)
);

-- Next folio per NSS prefix (serie + registration year + birth year).
-- siguiente = 10000 means the prefix is exhausted.
CREATE TABLE IF NOT EXISTS folio_contador (
    prefijo            TEXT PRIMARY KEY CHECK (length(prefijo) = 6),
    siguiente          INTEGER NOT NULL CHECK (siguiente BETWEEN 0 AND 10000)
);

-- Insured persons. origen: 'asignado' (by this module) or 'localizado' (NSS already existed).
CREATE TABLE IF NOT EXISTS asegurado (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    nss                TEXT NOT NULL UNIQUE CHECK (length(nss) = 11),
    curp               TEXT NOT NULL UNIQUE REFERENCES renapo_persona (curp),
    prefijo            TEXT NOT NULL CHECK (length(prefijo) = 6),
    folio              INTEGER NOT NULL CHECK (folio BETWEEN 0 AND 9999),
    correo             TEXT,
    cp                 TEXT,
    colonia            TEXT,
    calle              TEXT,
    numero_exterior    TEXT,
    numero_interior    TEXT,
    umf_clave          TEXT REFERENCES umf (clave),
    origen             TEXT NOT NULL CHECK (origen IN ('asignado', 'localizado')),
    creado             INTEGER NOT NULL,
    actualizado        INTEGER NOT NULL,
    UNIQUE (prefijo, folio)
);

-- CAPTCHA ids already used (single use across every server sharing the database).
CREATE TABLE IF NOT EXISTS captcha_usado (
    id                 TEXT PRIMARY KEY,
    expira             INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS captcha_usado_expira ON captcha_usado (expira);

-- Server-side sessions of the trámite; id is the SHA-256 (hex) of the cookie token.
CREATE TABLE IF NOT EXISTS tramite (
    id                 TEXT PRIMARY KEY,
    csrf               TEXT NOT NULL,
    paso               TEXT NOT NULL,              -- formulario, confirmacion, domicilio, resultado, vigencia
    curp               TEXT,
    correo             TEXT,
    nss                TEXT,
    origen             TEXT,
    reenvios           INTEGER NOT NULL DEFAULT 0,
    creado             INTEGER NOT NULL,
    expira             INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tramite_expira ON tramite (expira);

-- Fixed-window counters for rate limits shared by every process and server.
CREATE TABLE IF NOT EXISTS limite (
    clave              TEXT NOT NULL,              -- e.g. 'form:' || HMAC of the client address
    ventana            INTEGER NOT NULL,           -- window start, UNIX seconds
    cuenta             INTEGER NOT NULL,
    PRIMARY KEY (clave, ventana)
);

-- Audit log: who did what, without personal data (HMAC pseudonyms only).
CREATE TABLE IF NOT EXISTS auditoria (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    ts                 INTEGER NOT NULL,
    evento             TEXT NOT NULL,              -- asignacion, localizacion, descarga, ...
    curp_hmac          TEXT,
    detalle            TEXT NOT NULL DEFAULT ''
);

-- Mail outbox (docs/mail.md). A row is written in the same transaction that
-- records a located or assigned NSS, a Paso 2 result (kind 'constancia', reason
-- 'vigencia') or a resend, so no result exists without its message; with
-- AfiliateConfirmarCorreo, also the message with the confirmation link (kind and
-- reason 'confirmacion', no insured row yet, the link in enlace). A sender (the
-- mod_watchdog singleton or `afiliatectl outbox --once`) claims a due row with a
-- lease, renders the message from the stored data, sends it, and marks it sent
-- after the SMTP 250; a failure is retried with backoff until the attempt limit,
-- then the row is 'failed'.
CREATE TABLE IF NOT EXISTS outbox (
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
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_asegurado ON outbox (asegurado_id);

-- Trámites whose e-mail confirmation link was opened (AfiliateConfirmarCorreo): a link
-- is single use on every server sharing the database. Purged after expira.
CREATE TABLE IF NOT EXISTS confirmacion_usada (
    tramite_id         TEXT PRIMARY KEY,           -- the trámite (session row id) the link named
    usada              INTEGER NOT NULL,           -- UNIX seconds
    expira             INTEGER NOT NULL            -- no link of that trámite is valid after this
);
CREATE INDEX IF NOT EXISTS confirmacion_usada_expira ON confirmacion_usada (expira);

-- Coverage under Seguro Facultativo (Modalidad 32), as movements per insured person
-- (rules in mod_afiliate/afl_vigencia.h). An alta covers inicio..fin, both days
-- included (fin NULL = until a baja); a baja on inicio ends every alta of the same NSS
-- that started on or before it. origen: 'asignacion' (Paso 1 opens one until the end of
-- the school period) or 'escuela' (afiliatectl import-vigencia). clave makes every
-- source idempotent: 'asignacion:' || nss, or 'csv:' || SHA-256 of (nss, movimiento,
-- fecha, escuela) for a school report line.
CREATE TABLE IF NOT EXISTS cobertura (
    clave              TEXT PRIMARY KEY,
    nss                TEXT NOT NULL CHECK (length(nss) = 11),
    curp               TEXT NOT NULL CHECK (length(curp) = 18),
    movimiento         TEXT NOT NULL CHECK (movimiento IN ('alta', 'baja')),
    inicio             TEXT NOT NULL CHECK (length(inicio) = 10),   -- 'YYYY-MM-DD'
    fin                TEXT CHECK (fin IS NULL OR (length(fin) = 10 AND fin >= inicio)),
    origen             TEXT NOT NULL CHECK (origen IN ('asignacion', 'escuela')),
    escuela            TEXT NOT NULL DEFAULT '',   -- school key or name ('' for asignacion)
    creado             INTEGER NOT NULL,
    actualizado        INTEGER NOT NULL,
    CHECK (movimiento = 'alta' OR fin IS NULL)
);
CREATE INDEX IF NOT EXISTS cobertura_nss ON cobertura (nss);

-- Documents issued with a sello digital: what GET /verificar?folio= shows and
-- checks. folio: 13-digit epoch milliseconds + 8-digit sequence (afl_folio_make);
-- cadena and sello: the cadena original and its base64 signature ('' for the moment between
-- the row and its sello, see documento_sin_sello); no_serie: the
-- signing key's serial (afl_sign_serial); datos: what the document needs to be rendered
-- again identically besides the columns (e.g. the constancia's coverage), JSON.
CREATE TABLE IF NOT EXISTS documento (
    folio              TEXT PRIMARY KEY CHECK (length(folio) = 21),
    tipo               TEXT NOT NULL CHECK (tipo IN ('comprobante', 'tarjeta', 'constancia')),
    nss                TEXT NOT NULL CHECK (length(nss) = 11),
    curp               TEXT NOT NULL CHECK (length(curp) = 18),
    nombre             TEXT NOT NULL,
    emitido            INTEGER NOT NULL,           -- UNIX seconds (the cadena's Fecha)
    cadena             TEXT NOT NULL,
    sello              TEXT NOT NULL,
    no_serie           TEXT NOT NULL,
    datos              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documento_nss ON documento (nss, tipo, emitido);
-- Rows still without their sello (stored right after the row; docs/architecture.md).
CREATE INDEX IF NOT EXISTS documento_sin_sello ON documento (no_serie, folio) WHERE sello = '';

-- The sequence part of document folios: one row, incremented in the transaction that
-- inserts the documento (UPDATE ... SET siguiente = siguiente + 1, then read back).
CREATE TABLE IF NOT EXISTS documento_contador (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    siguiente          INTEGER NOT NULL CHECK (siguiente >= 1)
);
INSERT INTO documento_contador (id, siguiente) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;
