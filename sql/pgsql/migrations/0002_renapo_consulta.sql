-- Migration 0002, RENAPO answers (PostgreSQL dialect): when the module asks RENAPO's web
-- service (AfiliateIdentitySource remote, docs/renapo.md), each answer, found or not
-- found, is recorded here with the time it was fetched, so that a second visit and the
-- other servers of the cluster do not ask again while AfiliateRenapoCacheTTL says it is
-- fresh. A found person is written into renapo_persona in the same transaction.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS renapo_consulta (
    curp               TEXT PRIMARY KEY CHECK (length(curp) = 18),
    encontrado         SMALLINT NOT NULL CHECK (encontrado IN (0, 1)),
    consultado         BIGINT NOT NULL             -- UNIX seconds of RENAPO's answer
);
