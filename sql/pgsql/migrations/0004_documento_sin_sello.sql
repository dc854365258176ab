-- Migration 0004, documents sealed after their row is stored (PostgreSQL dialect;
-- docs/architecture.md "Signed documents"). A documento row is inserted in the
-- transaction that takes its folio's sequence, with sello '' (signing never runs inside
-- a transaction); the sello is stored right after. A row left without one (a process
-- that died in between) is signed again from its stored cadena: this partial index
-- finds such rows per signing key.
CREATE INDEX IF NOT EXISTS documento_sin_sello ON documento (no_serie, folio) WHERE sello = '';
