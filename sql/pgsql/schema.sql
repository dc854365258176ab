-- mod_afiliate schema, PostgreSQL dialect. Keep in step with ../sqlite/schema.sql:
-- same tables, same columns, same constraints. Times are UNIX seconds (INTEGER),
-- dates are 'YYYY-MM-DD' text, so every statement reads the same on both drivers.
-- Applied out of band (afiliatectl init-db), never while httpd runs.

SET client_min_messages = warning;

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
    id                 BIGSERIAL PRIMARY KEY,
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
    creado             BIGINT NOT NULL,
    actualizado        BIGINT NOT NULL,
    UNIQUE (prefijo, folio)
);

-- CAPTCHA ids already used (single use across every server sharing the database).
CREATE TABLE IF NOT EXISTS captcha_usado (
    id                 TEXT PRIMARY KEY,
    expira             BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS captcha_usado_expira ON captcha_usado (expira);

-- Server-side sessions of the trámite; id is the SHA-256 (hex) of the cookie token.
CREATE TABLE IF NOT EXISTS tramite (
    id                 TEXT PRIMARY KEY,
    csrf               TEXT NOT NULL,
    paso               TEXT NOT NULL,              -- formulario, domicilio, resultado
    curp               TEXT,
    correo             TEXT,
    nss                TEXT,
    origen             TEXT,
    reenvios           INTEGER NOT NULL DEFAULT 0,
    creado             BIGINT NOT NULL,
    expira             BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tramite_expira ON tramite (expira);

-- Fixed-window counters for rate limits shared by every process and server.
CREATE TABLE IF NOT EXISTS limite (
    clave              TEXT NOT NULL,              -- e.g. 'form:' || HMAC of the client address
    ventana            BIGINT NOT NULL,           -- window start, UNIX seconds
    cuenta             INTEGER NOT NULL,
    PRIMARY KEY (clave, ventana)
);

-- Audit log: who did what, without personal data (HMAC pseudonyms only).
CREATE TABLE IF NOT EXISTS auditoria (
    id                 BIGSERIAL PRIMARY KEY,
    ts                 BIGINT NOT NULL,
    evento             TEXT NOT NULL,              -- asignacion, localizacion, descarga, ...
    curp_hmac          TEXT,
    detalle            TEXT NOT NULL DEFAULT ''
);
