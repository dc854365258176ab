"""Schema versions: `afiliatectl migrate` on SQLite and PostgreSQL, a first-release
database (tests/fixtures/schema-v1-*.sql) upgraded and then used by Paso 1 and Paso 2
through a real apache2 with every earlier row kept, and the start refused while the
database is older or newer than the code."""
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from flows import Form, assigned_nss, domicilio, sample
from harness import CTL, TOP, Apache, server_env
from test_paso2 import Paso2

FIXTURE = {"sqlite3": TOP / "tests" / "fixtures" / "schema-v1-sqlite.sql",
           "pgsql": TOP / "tests" / "fixtures" / "schema-v1-pgsql.sql"}
DIALECT = {"sqlite3": "sqlite", "pgsql": "pgsql"}
SEED = TOP / "sql" / "seed"


def ctl(*args, check=True):
    r = subprocess.run([str(CTL), *map(str, args)], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def latest():
    return len(list((TOP / "sql" / "sqlite" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql")))


@pytest.fixture(scope="module")
def pg():
    if not shutil.which("pg_ctl") and not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL is not installed")
    from pg import Postgres
    p = Postgres("pg-schema-versions")
    p.start()
    yield p
    p.stop()


def new_db(driver, pg, tmp_path, name):
    """An empty database: a file path or a conninfo."""
    if driver == "pgsql":
        return pg.create_db(name)
    return str(tmp_path / f"{name}.db")


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize("driver", ["sqlite3", "pgsql"])
def test_migrate_creates_then_changes_nothing(driver, pg, tmp_path):
    db = new_db(driver, pg, tmp_path, "mig_fresh")
    out = ctl("migrate", "--driver", driver, "--db", db).stdout
    assert "migrate: applied 0001_baseline\n" in out
    assert out.endswith(f"migrate: schema version {latest()} (was 0)\n")
    before = dump(driver, db)
    out = ctl("migrate", "--driver", driver, "--db", db).stdout
    assert out == f"migrate: schema version {latest()}, up to date\n"
    assert dump(driver, db) == before
    rows = query(driver, db, "SELECT version, name, how FROM schema_version ORDER BY version")
    assert rows[0] == (1, "baseline", "applied") and len(rows) == latest()
    # init-db is the same command.
    assert ctl("init-db", "--driver", driver, "--db", db).stdout == \
        f"init-db: schema version {latest()}, up to date\n"


def test_migrate_usage_and_errors(tmp_path):
    assert ctl("migrate", check=False).returncode == 2
    assert ctl("migrate", "--db", tmp_path / "x.db", "--driver", "mysql",
               check=False).returncode == 2
    assert ctl("migrate", "--db", tmp_path / "x.db", "--bogus", "1", check=False).returncode == 2
    assert "--migrations DIR" in ctl("migrate", "--help").stdout
    # A database of a newer release is refused, and left alone.
    db = tmp_path / "new.db"
    ctl("migrate", "--db", db)
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO schema_version VALUES (?, 'future', 0, 'applied')",
                  (latest() + 1,))
    r = ctl("migrate", "--db", db, check=False)
    assert r.returncode == 1
    assert f"the database is at schema version {latest() + 1}, newer than the {latest()}" \
        in r.stderr
    # Some of the tables only: not a database of ours.
    db = tmp_path / "partial.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE asegurado (id INTEGER)")
    r = ctl("migrate", "--db", db, check=False)
    assert r.returncode == 1 and "(missing: renapo_persona, sepomex" in r.stderr
    # A directory with a gap.
    d = tmp_path / "gap"
    d.mkdir()
    shutil.copy(TOP / "sql/sqlite/migrations/0001_baseline.sql", d)
    (d / "0003_x.sql").write_text("SELECT 1;\n")
    r = ctl("migrate", "--db", tmp_path / "g.db", "--migrations", d, check=False)
    assert r.returncode == 1 and "expected 0002_name.sql" in r.stderr


def normalized_sqlite_schema(db):
    con = sqlite3.connect(db)
    out = set()
    for typ, name, sql in con.execute("SELECT type, name, sql FROM sqlite_master "
                                      "WHERE name NOT IN ('schema_version', 'sqlite_sequence')"):
        sql = re.sub(r"--[^\n]*", "", sql or "")
        out.add((typ, name, " ".join(sql.split())))
    con.close()
    return out


PG_SCHEMA = [
    "SELECT table_name, column_name, data_type, is_nullable, "
    "coalesce(column_default, '') FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name <> 'schema_version'",
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
    "AND tablename <> 'schema_version'",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'schema_version'",
]


@pytest.mark.parametrize("driver", ["sqlite3", "pgsql"])
def test_schema_sql_is_what_the_migrations_make(driver, pg, tmp_path):
    """sql/*/schema.sql documents the current schema; the migrations are what make it.
    This keeps the two equal."""
    a = new_db(driver, pg, tmp_path, "mig_a")
    b = new_db(driver, pg, tmp_path, "mig_b")
    ctl("migrate", "--driver", driver, "--db", a)
    ctl("init-db", "--driver", driver, "--db", b, "--schema",
        TOP / "sql" / DIALECT[driver] / "schema.sql")
    if driver == "sqlite3":
        assert normalized_sqlite_schema(a) == normalized_sqlite_schema(b)
    else:
        for q in PG_SCHEMA:
            assert sorted(query(driver, a, q)) == sorted(query(driver, b, q)), q


def test_fixture_is_the_baseline():
    """Migration 0001 is the first release's schema: the same statements as the fixture
    (the SQLite one sets WAL outside the transaction instead)."""
    def statements(path):
        text = re.sub(r"--[^\n]*", "", Path(path).read_text())
        return [" ".join(s.split()) for s in text.split(";\n") if s.strip()]
    for d, f in (("sqlite", "schema-v1-sqlite.sql"), ("pgsql", "schema-v1-pgsql.sql")):
        fixture = [s for s in statements(TOP / "tests/fixtures" / f)
                   if s != "PRAGMA journal_mode = WAL"]
        assert statements(TOP / "sql" / d / "migrations/0001_baseline.sql") == fixture


# ---------------------------------------------------------------- helpers on both drivers


def connect(driver, db):
    if driver == "pgsql":
        import psycopg2
        return psycopg2.connect(db)
    return sqlite3.connect(db, timeout=10)


def query(driver, db, sql, *args):
    con = connect(driver, db)
    try:
        cur = con.cursor()
        cur.execute(sql.replace("?", "%s") if driver == "pgsql" else sql, args)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()


def execute(driver, db, statements):
    con = connect(driver, db)
    try:
        cur = con.cursor()
        for sql, args in statements:
            cur.execute(sql.replace("?", "%s") if driver == "pgsql" else sql, args)
        con.commit()
    finally:
        con.close()


def tables(driver, db):
    if driver == "pgsql":
        rows = query(driver, db, "SELECT table_name FROM information_schema.tables "
                                 "WHERE table_schema = 'public'")
    else:
        rows = query(driver, db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name NOT LIKE 'sqlite_%'")
    return sorted(r[0] for r in rows)


def dump(driver, db):
    return {t: sorted(query(driver, db, f"SELECT * FROM {t}"), key=repr)
            for t in tables(driver, db)}


def load_fixture(driver, db, pg):
    if driver == "pgsql":
        name = re.search(r"dbname=(\S+)", db).group(1)
        r = pg.psql_file(FIXTURE["pgsql"], db=name)
        assert r.returncode == 0, r.stderr
    else:
        con = sqlite3.connect(db)
        con.executescript(FIXTURE["sqlite3"].read_text())
        con.close()


def fill_first_release(driver, db):
    """Rows of every kind a first-release server writes: the catalogs and registry with
    the first release's importers (they run on its schema), and an assignment with its
    trámite, outbox messages, coverage, document and audit rows, inserted directly."""
    args = ["--driver", driver, "--db", db]
    ctl("import-sepomex", SEED / "sepomex-subset.txt", *args)
    ctl("import-umf", SEED / "umf-demo.csv", *args)
    ctl("demo-registry", "--count", 400, "--seed", 11, *args)
    curp = sample_on(driver, db, "new")
    umf = query(driver, db, "SELECT umf_clave FROM umf_cp WHERE cp = '06700'")[0][0]
    execute(driver, db, [
        ("INSERT INTO folio_contador (prefijo, siguiente) VALUES ('992500', 1) "
         "ON CONFLICT (prefijo) DO NOTHING", ()),
        ("INSERT INTO asegurado (nss, curp, prefijo, folio, correo, cp, colonia, calle, "
         "numero_exterior, umf_clave, origen, creado, actualizado) VALUES (?, ?, '992500', 0, "
         "'previa@ejemplo.mx', '06700', 'Roma Norte', 'Orizaba', '1', ?, 'asignado', 1, 1)",
         ("99250000009", curp, umf)),
        ("INSERT INTO outbox (kind, reason, asegurado_id, recipient, status, next_attempt_at, "
         "message_id, created, sent_at) SELECT 'comprobante', 'asignacion', id, "
         "'previa@ejemplo.mx', 'sent', 1, '<v1-1@afiliate>', 1, 2 FROM asegurado WHERE nss = ?",
         ("99250000009",)),
        ("INSERT INTO outbox (kind, reason, asegurado_id, recipient, next_attempt_at, "
         "message_id, created) SELECT 'constancia', 'vigencia', id, 'previa@ejemplo.mx', "
         "4102444800, '<v1-2@afiliate>', 3 FROM asegurado WHERE nss = ?", ("99250000009",)),
        ("INSERT INTO cobertura VALUES ('asignacion:99250000009', '99250000009', ?, 'alta', "
         "'2026-01-01', '2099-07-31', 'asignacion', '', 1, 1)", (curp,)),
        ("INSERT INTO documento VALUES ('000000000000100000001', 'comprobante', '99250000009', "
         "?, 'Nombre Previo', 1, '||1|x||', 'c2VsbG8=', '01', '')", (curp,)),
        ("UPDATE documento_contador SET siguiente = 2", ()),
        ("INSERT INTO tramite (id, csrf, paso, curp, correo, nss, origen, creado, expira) "
         "VALUES (?, 'c', 'resultado', ?, 'previa@ejemplo.mx', '99250000009', 'asignado', 1, "
         "4102444800)", ("ab" * 32, curp)),
        ("INSERT INTO auditoria (ts, evento, curp_hmac, detalle) VALUES (1, 'asignacion', "
         "'hmac', '')", ()),
        ("INSERT INTO captcha_usado VALUES ('v1-captcha', 4102444800)", ()),
    ])
    return curp


def sample_on(driver, db, kind):
    return ctl("sample", kind, "--driver", driver, "--db", db).stdout.split()[0]


# Counters move with every assignment and document: their keys must stay.
MOVING = {"folio_contador": 1, "documento_contador": 1, "limite": 2}


def assert_kept(driver, db, before):
    after = dump(driver, db)
    for table, rows in before.items():
        now = after[table]
        if table in MOVING:
            k = MOVING[table]
            assert {r[:k] for r in rows} <= {r[:k] for r in now}, table
            continue
        if table == "asegurado":   # Paso 1 found refreshes correo and actualizado
            rows = [r[:5] + r[12:14] for r in rows]
            now = [r[:5] + r[12:14] for r in now]
        if rows:   # columns a later migration added (at the end) are not the earlier rows'
            now = [r[:len(rows[0])] for r in now]
        missing = [r for r in rows if r not in now]
        assert not missing, f"{table}: {len(missing)} earlier rows changed or lost"


# ---------------------------------------------------------------- the upgrade, end to end


@pytest.mark.parametrize("driver", ["sqlite3", "pgsql"])
def test_first_release_database_upgraded_then_served(driver, pg, tmp_path):
    name = f"it-upgrade-{driver}"
    if driver == "pgsql":
        scratch, db = pg.create_db("mig_scratch"), pg.create_db("mig_v1")
    else:
        scratch, db = None, None
    srv = Apache(name, mpm="prefork", driver=driver, db=scratch)
    srv.setup(seed_count=None)
    if driver == "sqlite3":
        db = str(srv.root / "data" / "v1.db")
    load_fixture(driver, db, pg)
    curp_v1 = fill_first_release(driver, db)
    srv.db = db
    srv.write_conf()   # the server user gets the data folder and files

    # Not migrated yet: the configuration test and the start both refuse, naming the command.
    cmd = f"afiliatectl migrate --db {db}" if driver == "sqlite3" else \
        "afiliatectl migrate --driver pgsql --db \""
    for args in (("-t",), ("-k", "start")):
        r = srv.apachectl(*args)
        assert r.returncode != 0, args
        assert "refusing to start: the database" in r.stderr
        assert "made by the first release and has no schema_version table" in r.stderr
        assert cmd in r.stderr, r.stderr
    assert srv.pid() is None

    before = dump(driver, db)
    out = ctl("migrate", "--driver", driver, "--db", db).stdout
    assert "recorded as version 1 (baseline), nothing re-run" in out
    assert_kept(driver, db, before)
    assert query(driver, db, "SELECT version, how FROM schema_version WHERE version = 1") == \
        [(1, "adopted")]
    srv.write_conf()
    srv.start()
    try:
        # Paso 1, found: a person of the first release's registry.
        found = sample(srv, "found")[0]
        c = srv.client()
        r = Form(srv, c).submit(found, correo="localiza@ejemplo.mx")
        assert r.status == 200 and r.url.endswith("/afiliate/resultado"), r.text
        assert "localizado" in r.text
        assert c.get("/afiliate/comprobante").status == 200
        # Paso 1, new, to the NSS and the comprobante.
        new = sample(srv, "new")[0]
        assert new != curp_v1
        c = srv.client()
        r = Form(srv, c).submit(new, correo="nuevo@ejemplo.mx")
        assert r.status == 200 and r.url.endswith("/afiliate/domicilio"), r.text
        r = domicilio(c)
        nss = assigned_nss(r.text)
        assert r.status == 200 and nss, r.text
        assert c.get("/afiliate/comprobante").status == 200
        # Paso 2 for the new NSS and for the one the first release assigned.
        for curp, n in ((new, nss), (curp_v1, "99250000009")):
            c = srv.client()
            r = Paso2(srv, c).submit(curp, n)
            assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado"), r.text
            assert "Vigente: <strong>SÍ</strong>" in r.text
            assert c.get("/afiliate/constancia").status == 200
        # The earlier CURP is found again, with its NSS, not assigned a second one.
        c = srv.client()
        r = Form(srv, c).submit(curp_v1, correo="previa@ejemplo.mx")
        assert r.status == 200 and "ha sido localizado" in r.text
        assert not srv.unexpected_log_lines()
    finally:
        srv.stop()
    assert_kept(driver, db, before)
    assert query(driver, db, "SELECT count(*) FROM asegurado WHERE nss = ?", nss) == [(1,)]
    assert query(driver, db, "SELECT count(*) FROM documento")[0][0] > \
        len(before["documento"])


@pytest.mark.parametrize("driver", ["sqlite3", "pgsql"])
def test_upgrade_by_a_later_migration_keeps_rows(driver, pg, tmp_path):
    """The path a release with a new migration takes: v1 with rows, then 0002 (here a
    test-only one, the kind a CHECK change needs) through `migrate --migrations`. A
    database newer than the code is then refused by the module."""
    db = new_db(driver, pg, tmp_path, "mig_later")
    load_fixture(driver, db, pg)
    fill_first_release(driver, db)
    before = dump(driver, db)
    d = tmp_path / "migrations"
    d.mkdir()
    shutil.copy(TOP / "sql" / DIALECT[driver] / "migrations" / "0001_baseline.sql", d)
    if driver == "pgsql":
        (d / "0002_outbox_priority.sql").write_text(
            "ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;\n"
            "ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;\n"
            "ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check\n"
            "    CHECK (kind IN ('comprobante', 'constancia', 'aviso'));\n")
    else:
        (d / "0002_outbox_priority.sql").write_text(
            (TOP / "tests/fixtures/schema-v1-sqlite.sql").read_text()
            .split("CREATE TABLE IF NOT EXISTS outbox (")[1].split(");")[0]
            .join(["CREATE TABLE outbox_new (", ",\n    priority INTEGER NOT NULL DEFAULT 0);\n"])
            .replace("'comprobante', 'constancia')", "'comprobante', 'constancia', 'aviso')")
            + "INSERT INTO outbox_new SELECT *, 0 FROM outbox;\n"
              "DROP TABLE outbox;\n"
              "ALTER TABLE outbox_new RENAME TO outbox;\n"
              "CREATE INDEX outbox_due ON outbox (status, next_attempt_at);\n"
              "CREATE INDEX outbox_asegurado ON outbox (asegurado_id);\n")
    out = ctl("migrate", "--driver", driver, "--db", db, "--migrations", d).stdout
    assert "recorded as version 1" in out and "applied 0002_outbox_priority" in out
    assert out.endswith("schema version 2 (was 1)\n")
    assert ctl("migrate", "--driver", driver, "--db", db, "--migrations", d).stdout \
        .endswith("schema version 2, up to date\n")
    after = dump(driver, db)
    assert [r[:-1] for r in after["outbox"]] == before["outbox"]
    assert {r[-1] for r in after["outbox"]} == {0}
    del before["outbox"]
    assert_kept(driver, db, before)
    execute(driver, db, [("INSERT INTO outbox (kind, reason, asegurado_id, recipient, "
                          "next_attempt_at, message_id, created) SELECT 'aviso', 'reenvio', "
                          "min(id), 'x@ejemplo.mx', 1, '<v2@x>', 1 FROM asegurado", ())])
    # A failing 0003 leaves the database at 2, with nothing of 0003 in it.
    (d / "0003_broken.sql").write_text("CREATE TABLE half (a TEXT);\n"
                                       "INSERT INTO no_such_table VALUES (1);\n")
    r = ctl("migrate", "--driver", driver, "--db", db, "--migrations", d, check=False)
    assert r.returncode == 1 and "0003_broken" in r.stderr and "line 2" in r.stderr
    assert query(driver, db, "SELECT max(version) FROM schema_version") == [(2,)]
    assert "half" not in tables(driver, db)

    if latest() < 2:   # this database is now newer than the code
        srv = Apache(f"it-newer-{driver}", driver=driver,
                     db=None if driver == "sqlite3" else pg.create_db("mig_scratch2"))
        srv.setup(seed_count=None)
        if driver == "sqlite3":
            shutil.copy(db, srv.db)
            srv.write_conf()
        else:
            srv.db = db
            srv.write_conf()
        r = srv.apachectl("-t")
        assert r.returncode != 0
        assert f"its schema version is 2, newer than the {latest()} this code expects: " \
               "install the release that matches the database" in r.stderr


# ---------------------------------------------------------------- apache2 -t


def _bad_server(name):
    srv = Apache(name)
    srv.setup(seed_count=None)
    return srv


def _templates_copy(srv):
    """A copy of the templates that the test may spoil; the config points at it."""
    tdir = srv.root / "templates"
    shutil.copytree(TOP / "htdocs" / "templates", tdir)
    conf = srv.root / "httpd.conf"
    conf.write_text(re.sub(r'AfiliateTemplateDir "[^"]*"', f'AfiliateTemplateDir "{tdir}"',
                           conf.read_text()))
    return tdir


def _missing_template(srv):
    tdir = _templates_copy(srv)
    (tdir / "resultado.html").unlink()
    return f"templates refused: template 'resultado' is required but " \
           f"{tdir}/resultado.html does not exist"


def _unreadable_template(srv):
    tdir = _templates_copy(srv)
    (tdir / "aviso.html").unlink()
    (tdir / "aviso.html").mkdir()   # root reads any file: a folder is what it cannot read
    return f"{tdir}/aviso.html"


def _unknown_placeholder(srv):
    tdir = _templates_copy(srv)
    with open(tdir / "inicio.html", "a") as f:
        f.write("<p>{{desconocido}}</p>\n")
    return f"placeholder 'desconocido' is not allowed in template 'inicio'"


def _missing_secret(srv):
    srv.secret_path.unlink()
    return f"cannot use the secret file {srv.secret_path}"


def _missing_signing_key(srv):
    srv.signing_key_path.unlink()
    return f"AfiliateSigningKey {srv.signing_key_path} is not a usable private key"


def _db_folder_not_writable(srv):
    data = Path(srv.db).parent
    os.chown(data, 0, 0)
    os.chmod(data, 0o755)
    return (f"the database {srv.db} is not usable by the server user www-data: {data}: "
            "no write search permission")


def _db_missing(srv):
    Path(srv.db).unlink()
    return f"create it with afiliatectl migrate --db {srv.db}"


def _db_first_release(srv):
    Path(srv.db).unlink()
    load_fixture("sqlite3", srv.db, None)
    os.chown(srv.db, 33, 33)
    return f"has no schema_version table (the code expects schema version {latest()}); " \
           f"upgrade it with: afiliatectl migrate --db {srv.db}"


def _db_newer(srv):
    execute("sqlite3", srv.db, [("INSERT INTO schema_version VALUES (?, 'x', 0, 'applied')",
                                 (latest() + 1,))])
    return f"its schema version is {latest() + 1}, newer than the {latest()} this code expects"


DEFECTS = {
    "missing-template": _missing_template,
    "unreadable-template": _unreadable_template,
    "unknown-placeholder": _unknown_placeholder,
    "missing-secret": _missing_secret,
    "missing-signing-key": _missing_signing_key,
    "db-folder-not-writable": _db_folder_not_writable,
    "db-missing": _db_missing,
    "db-first-release": _db_first_release,
    "db-newer": _db_newer,
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_configtest_refuses(defect):
    if defect == "db-folder-not-writable" and os.geteuid() != 0:
        pytest.skip("the server user differs from the current one only under root")
    srv = _bad_server("it-configtest")
    message = DEFECTS[defect](srv)
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert "Syntax OK" not in r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    # apache2ctl configtest runs the same test.
    env = dict(os.environ, APACHE_CONFDIR=str(srv.root),
               APACHE_ARGUMENTS=f"-f {srv.root / 'httpd.conf'}", **server_env(srv.root))
    r2 = subprocess.run(["apache2ctl", "configtest"], capture_output=True, text=True, env=env)
    assert r2.returncode != 0 and message in r2.stderr, r2.stderr
    # And the start is refused the same way.
    r = srv.apachectl("-k", "start")
    assert r.returncode != 0 and message in r.stderr
    assert srv.pid() is None


def test_configtest_passes_on_a_good_server():
    srv = _bad_server("it-configtest")
    r = srv.apachectl("-t")
    assert r.returncode == 0 and "Syntax OK" in r.stderr, r.stderr
