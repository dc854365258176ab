"""The PostgreSQL schema loads into a real PostgreSQL 15 and matches SQLite's."""
import sqlite3
import subprocess

import pytest

from harness import CTL, TOP
from pg import Postgres


@pytest.fixture(scope="module")
def pg():
    p = Postgres("pg-schema")
    p.start()
    yield p
    p.stop()


def test_schema_loads_twice(pg):
    for _ in range(2):   # idempotent: IF NOT EXISTS everywhere
        r = pg.psql_file(TOP / "sql" / "pgsql" / "schema.sql")
        assert r.returncode == 0, r.stderr


def test_same_tables_and_columns_as_sqlite(pg, tmp_path):
    pg.psql_file(TOP / "sql" / "pgsql" / "schema.sql")
    rows = pg.psql("SELECT table_name || '.' || column_name FROM information_schema.columns "
                   "WHERE table_schema = 'public'").stdout.split()
    db = tmp_path / "s.db"
    con = sqlite3.connect(db)
    con.executescript((TOP / "sql" / "sqlite" / "schema.sql").read_text())
    lite = set()
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%'"):
        lite |= {f"{table}.{c[1]}" for c in con.execute(f"PRAGMA table_info({table})")}
    assert set(rows) == lite


def test_afiliatectl_seeds_postgresql(pg):
    r = subprocess.run([str(CTL), "seed-demo", "--driver", "pgsql", "--db", pg.conninfo,
                        "--count", "500"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert int(pg.psql("SELECT count(*) FROM renapo_persona").stdout) == 500
    assert int(pg.psql("SELECT count(*) FROM sepomex WHERE cp = '06700'").stdout) > 0


def test_transactions_on_a_real_postgresql(pg):
    """afl_txn's PostgreSQL cases (tests/unit/test_txn.c) against this server:
    a BEGIN on a session the server ended fails instead of crashing, and a
    COMMIT after a failed statement is not reported as a commit."""
    binary = TOP / "build" / "tests" / "test_txn"
    r = subprocess.run([str(binary)], capture_output=True, text=True,
                       env={"AFL_TEST_PG_DSN": pg.dsn(), "PATH": "/usr/bin:/bin"})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Checks: 4, Failures: 0, Errors: 0" in out, out
