"""Data tooling of afiliatectl: init-db, import-sepomex, import-umf,
import-registry, demo-registry, sample, seed-demo (docs/data.md).

Runs the real executable against SQLite files under tmp_path; no httpd.
The executable comes from $AFILIATECTL (default build/afiliatectl)."""
import csv
import io
import os
import re
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
CTL = Path(os.environ.get("AFILIATECTL", TOP / "build" / "afiliatectl"))
SEED = TOP / "sql" / "seed"
SUBSET = SEED / "sepomex-subset.txt"
UMF_DEMO = SEED / "umf-demo.csv"
FULL_ZIP = TOP.parent / "shared" / "data" / "sepomex" / "CPdescargatxt.zip"

HEADER = ("d_codigo|d_asenta|d_tipo_asenta|D_mnpio|d_estado|d_ciudad|d_CP|c_estado|c_oficina|"
          "c_CP|c_tipo_asenta|c_mnpio|id_asenta_cpcons|d_zona|c_cve_ciudad")
LEGAL = ("El Catálogo Nacional de Códigos Postales, es elaborado por Correos de México y se "
         "proporciona en forma gratuita para uso particular, no estando permitida su "
         "comercialización, total o parcial, ni su distribución a terceros bajo ningún concepto.")
ACTIVE = {"AN", "AH", "CRA", "RCN", "RCC"}
INACTIVE = {"BD", "BDA", "BCC", "BCN", "BAP", "BSU", "BDM", "BDP", "BJD"}
STATES = {"AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC",
          "MC", "MN", "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS",
          "TL", "VZ", "YN", "ZS", "NE"}

pytestmark = pytest.mark.skipif(not CTL.exists(), reason=f"{CTL} not built (make build/afiliatectl)")


def ctl(*args, check=True, stdin=None):
    proc = subprocess.run([str(CTL), *map(str, args)], capture_output=True, text=True,
                          input=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"afiliatectl {' '.join(map(str, args))} -> {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def q(db, sql, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def summary_counts(out):
    m = re.search(r"^sepomex: (\d+) settlements, (\d+) postal codes$", out, re.M)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def sepomex_file(path, rows, header=HEADER, legal=LEGAL, eol="\r\n"):
    text = eol.join([legal, header, *rows]) + eol
    path.write_bytes(text.encode("latin-1"))
    return path


def row(cp, asenta, mnpio="Cuauhtémoc", estado="Ciudad de México", c_estado="09",
        c_mnpio="015", id_asenta="0001", ciudad="Ciudad de México"):
    return "|".join([cp, asenta, "Colonia", mnpio, estado, ciudad, cp, c_estado, cp, "",
                     "09", c_mnpio, id_asenta, "Urbano", "01"])


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "afiliate.db"
    ctl("init-db", "--db", path)
    return path


@pytest.fixture
def demo_db(tmp_path):
    """Subset + demo UMFs + 2,000 synthetic persons."""
    path = tmp_path / "demo.db"
    ctl("init-db", "--db", path)
    ctl("import-sepomex", SUBSET, "--db", path)
    ctl("import-umf", UMF_DEMO, "--db", path)
    out = ctl("demo-registry", "--count", 2000, "--seed", 7, "--db", path).stdout
    assert "2000 new persons" in out, out
    return path


# ------------------------------------------------------------------ init-db

def test_init_db_is_idempotent(tmp_path):
    path = tmp_path / "x.db"
    out = ctl("init-db", "--db", path).stdout
    assert out.startswith("init-db: applied 0001_baseline"), out
    out = ctl("init-db", "--db", path).stdout
    latest = len(list((TOP / "sql" / "sqlite" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql")))
    assert out == f"init-db: schema version {latest}, up to date\n", out
    tables = {r[0] for r in q(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"renapo_persona", "sepomex", "umf", "umf_cp", "folio_contador",
            "asegurado"} <= tables
    assert q(path, "PRAGMA journal_mode") == [("wal",)]


def test_init_db_explicit_schema_and_errors(tmp_path):
    path = tmp_path / "x.db"
    ctl("init-db", "--db", path, "--schema", TOP / "sql" / "sqlite" / "schema.sql")
    bad = tmp_path / "bad.sql"
    bad.write_text("-- comment; not the end\nCREATE TABLE ok1 (a TEXT);\n\nCREATE TABLE (;\n")
    proc = ctl("init-db", "--db", path, "--schema", bad, check=False)
    assert proc.returncode == 1
    assert "line 4" in proc.stderr
    proc = ctl("init-db", "--db", path, "--schema", tmp_path / "missing.sql", check=False)
    assert proc.returncode == 1 and "missing.sql" in proc.stderr
    # Statement splitting: ';' ends a statement only at the end of a line, outside
    # comments and quotes; row-returning statements (PRAGMA, SELECT) are fine.
    tricky = tmp_path / "tricky.sql"
    tricky.write_text("/* a block comment;\n   over two lines; */\n"
                      "CREATE TABLE t1 (a TEXT DEFAULT 'x;\ny;', -- not the end;\n"
                      "                 b TEXT); CREATE TABLE t2 (c TEXT);\n"
                      "PRAGMA journal_mode = WAL;\n"
                      "SELECT 1;\n"
                      "INSERT INTO t1 (b) VALUES ('it''s; fine')\n")
    out = ctl("init-db", "--db", path, "--schema", tricky).stdout
    assert "(4 statements" in out, out
    assert q(path, "SELECT a, b FROM t1") == [("x;\ny;", "it's; fine")]
    assert q(path, "SELECT count(*) FROM t2") == [(0,)]


def test_every_command_has_help():
    for cmd in ("init-db", "import-sepomex", "import-umf", "import-registry", "demo-registry",
                "sample", "seed-demo"):
        proc = ctl(cmd, "--help")
        assert proc.stdout.startswith(f"usage: afiliatectl {cmd}"), proc.stdout
        assert "--db" in proc.stdout


def test_usage_errors(tmp_path):
    assert ctl("import-sepomex", SUBSET, check=False).returncode == 2  # no --db
    assert ctl("sample", "found", "--db", "x", "--bogus", check=False).returncode == 2
    assert ctl("sample", "maybe", "--db", tmp_path / "x", check=False).returncode == 2
    assert ctl("init-db", "--db", "x", "--driver", "mysql", check=False).returncode == 2
    assert ctl("demo-registry", "--db", "x", "--count", "-1", "--seed", 1,
               check=False).returncode == 2


def test_missing_sqlite_db_is_not_created(tmp_path):
    path = tmp_path / "nope.db"
    proc = ctl("import-sepomex", SUBSET, "--db", path, check=False)
    assert proc.returncode == 1
    assert "afiliatectl migrate --db" in proc.stderr
    assert not path.exists()


# ------------------------------------------------------------------ SEPOMEX

@pytest.mark.skipif(not FULL_ZIP.exists(), reason=f"official catalog not present at {FULL_ZIP}")
def test_full_sepomex_import_from_zip(db):
    t0 = time.monotonic()
    out = ctl("import-sepomex", FULL_ZIP, "--db", db).stdout
    first = time.monotonic() - t0
    assert summary_counts(out) == (145092, 32166)
    assert q(db, "SELECT count(*), count(DISTINCT cp) FROM sepomex") == [(145092, 32166)]
    assert q(db, "SELECT asentamiento, municipio, estado FROM sepomex WHERE cp = '06700'") == [
        ("Roma Norte", "Cuauhtémoc", "Ciudad de México")]
    assert q(db, "SELECT asentamiento, municipio, estado FROM sepomex WHERE cp = '44100'") == [
        ("Guadalajara Centro", "Guadalajara", "Jalisco")]
    assert sorted(q(db, "SELECT asentamiento FROM sepomex WHERE cp = '64000'")) == [
        ("La Finca",), ("Monterrey Centro",)]
    assert q(db, "SELECT count(DISTINCT c_estado) FROM sepomex") == [(32,)]
    # c_CP is empty everywhere, d_ciudad often: empty strings, never NULL.
    assert q(db, "SELECT count(*) FROM sepomex WHERE ciudad = ''") == [(94170,)]
    assert q(db, "SELECT count(*) FROM sepomex WHERE ciudad <> trim(ciudad)") == [(0,)]
    assert q(db, "SELECT zona, count(*) FROM sepomex GROUP BY zona ORDER BY zona") == [
        ("Rural", 88608), ("Semiurbano", 3845), ("Urbano", 52639)]
    # Each CP belongs to one estado and one municipio (docs/domain.md, Address-form rules).
    assert q(db, "SELECT count(*) FROM (SELECT cp FROM sepomex GROUP BY cp "
                 "HAVING count(DISTINCT c_estado || c_mnpio) > 1)") == [(0,)]
    # Idempotent: same counts the second time.
    t0 = time.monotonic()
    out = ctl("import-sepomex", FULL_ZIP, "--db", db).stdout
    second = time.monotonic() - t0
    assert summary_counts(out) == (145092, 32166)
    print(f"full SEPOMEX import: {first:.2f} s, again {second:.2f} s")
    assert first < 60


@pytest.mark.skipif(not FULL_ZIP.exists(), reason=f"official catalog not present at {FULL_ZIP}")
def test_subset_rows_are_official_rows():
    with zipfile.ZipFile(FULL_ZIP) as z:
        full = z.read("CPdescarga.txt").split(b"\r\n")
    sub = SUBSET.read_bytes().split(b"\r\n")
    assert sub[:2] == full[:2]
    official = set(full[2:])
    rows = [r for r in sub[2:] if r]
    assert all(r in official for r in rows)
    # Every row of the chosen CPs, not a sample of them.
    cps = {r.split(b"|")[0] for r in rows}
    assert len([r for r in full[2:] if r.split(b"|")[0] in cps]) == len(rows)


def test_shipped_subset_format_and_content(db):
    raw = SUBSET.read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.decode("latin-1").split("\r\n")[:-1]
    assert lines[0] == LEGAL
    assert lines[1] == HEADER
    rows = [ln.split("|") for ln in lines[2:]]
    assert 0 < len(rows) <= 1000
    assert all(len(r) == 15 for r in rows)
    cps = {r[0] for r in rows}
    assert {"06700", "44100", "64000"} <= cps
    assert len({r[7] for r in rows}) == 32
    out = ctl("import-sepomex", SUBSET, "--db", db).stdout
    assert summary_counts(out) == (len(rows), len(cps))
    assert q(db, "SELECT asentamiento, municipio, estado FROM sepomex WHERE cp = '06700'") == [
        ("Roma Norte", "Cuauhtémoc", "Ciudad de México")]
    assert summary_counts(ctl("import-sepomex", SUBSET, "--db", db).stdout) == (
        len(rows), len(cps))


def test_shipped_umfs_cover_every_subset_cp(db):
    ctl("import-sepomex", SUBSET, "--db", db)
    out = ctl("import-umf", UMF_DEMO, "--db", db)
    assert "not in the imported SEPOMEX catalog" not in out.stderr
    assert q(db, "SELECT count(*) FROM (SELECT DISTINCT cp FROM sepomex "
                 "WHERE cp NOT IN (SELECT cp FROM umf_cp))") == [(0,)]
    assert q(db, "SELECT count(*) FROM umf_cp WHERE cp NOT IN (SELECT cp FROM sepomex)") == [
        (0,)]
    assert q(db, "SELECT count(*) FROM umf_cp WHERE cp = '06700'")[0][0] > 1
    multi = q(db, "SELECT count(*) FROM (SELECT cp FROM umf_cp GROUP BY cp "
                  "HAVING count(*) > 1)")[0][0]
    assert multi >= 3
    assert q(db, "SELECT count(*) FROM umf_cp WHERE cp = '99999'") == [(0,)]
    assert q(db, "SELECT count(*) FROM sepomex WHERE cp = '99999'") == [(0,)]
    series = [r[0] for r in q(db, "SELECT serie FROM umf")]
    assert all(re.fullmatch(r"\d\d", s) for s in series)


def test_sepomex_lf_only_and_zip_member(db, tmp_path):
    rows = [row("06700", "Roma Norte", id_asenta="0947"),
            row("06700", "Niños Héroes", id_asenta="0948")]
    plain = sepomex_file(tmp_path / "lf.txt", rows, eol="\n")
    assert summary_counts(ctl("import-sepomex", plain, "--db", db).stdout) == (2, 1)
    # A zip whose only .txt member has another name.
    zpath = tmp_path / "otro.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("LEEME.pdf", b"%PDF")
        z.writestr("datos/catalogo.txt", sepomex_file(tmp_path / "c.txt", rows + [
            row("44100", "Guadalajara Centro", "Guadalajara", "Jalisco", "14", "039", "0003",
                "Guadalajara")]).read_bytes())
    assert summary_counts(ctl("import-sepomex", zpath, "--db", db).stdout) == (3, 2)
    assert q(db, "SELECT asentamiento FROM sepomex WHERE id_asenta = '0948'") == [
        ("Niños Héroes",)]
    # A zip with two .txt members and no CPdescarga.txt is refused.
    with zipfile.ZipFile(tmp_path / "dos.zip", "w") as z:
        z.writestr("a.txt", b"x")
        z.writestr("b.txt", b"y")
    proc = ctl("import-sepomex", tmp_path / "dos.zip", "--db", db, check=False)
    assert proc.returncode == 1 and "CPdescarga.txt" in proc.stderr


def test_sepomex_bad_header_and_short_row_write_nothing(db, tmp_path):
    bad = sepomex_file(tmp_path / "bad.txt", [row("06700", "Roma Norte")],
                       header=HEADER.replace("D_mnpio", "d_mnpio"))
    proc = ctl("import-sepomex", bad, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 2" in proc.stderr and "D_mnpio" in proc.stderr
    short = sepomex_file(tmp_path / "short.txt", [
        row("06700", "Roma Norte", id_asenta="0947"),
        row("06701", "Otra", id_asenta="0950"),
        "|".join(row("06702", "Corta").split("|")[:14])])
    proc = ctl("import-sepomex", short, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 5" in proc.stderr and "expected 15 fields, found 14" in proc.stderr
    badcp = sepomex_file(tmp_path / "cp.txt", [row("0670", "Roma Norte")])
    proc = ctl("import-sepomex", badcp, "--db", db, check=False)
    assert proc.returncode == 1 and "line 3" in proc.stderr
    assert q(db, "SELECT count(*) FROM sepomex") == [(0,)]


# ------------------------------------------------------------------ UMF

UMF_HEADER = "clave,nombre,subdelegacion,serie,domicilio,codigos_postales\n"


def test_import_umf_quoting_and_upsert(db, tmp_path):
    f = tmp_path / "umf.csv"
    f.write_text(UMF_HEADER +
                 'U1,"UMF No. 1 ""Roma""",Subdelegación Centro,01,"Av. Cuauhtémoc 330, Doctores",'
                 '06700 06600\r\n'
                 'U2,UMF No. 2 Niños Héroes,Subdelegación Centro,01,,06700\r\n'
                 '"U3","UMF No. 3, Sur",Subdelegación Sur,02,"",  44100   44600 \r\n',
                 encoding="utf-8")
    out = ctl("import-umf", f, "--db", db).stdout
    assert "umf: 3 units, 4 postal codes" in out
    assert q(db, "SELECT nombre, domicilio FROM umf WHERE clave = 'U1'") == [
        ('UMF No. 1 "Roma"', "Av. Cuauhtémoc 330, Doctores")]
    assert q(db, "SELECT nombre FROM umf WHERE clave = 'U3'") == [("UMF No. 3, Sur",)]
    assert sorted(q(db, "SELECT umf_clave FROM umf_cp WHERE cp = '06700'")) == [("U1",), ("U2",)]
    # Re-import: U1 now serves only 06600; its CP list is replaced.
    f.write_text(UMF_HEADER + "U1,UMF No. 1 Roma,Subdelegación Centro,01,,06600\n",
                 encoding="utf-8")
    ctl("import-umf", f, "--db", db)
    assert q(db, "SELECT count(*) FROM umf") == [(3,)]
    assert q(db, "SELECT cp FROM umf_cp WHERE umf_clave = 'U1'") == [("06600",)]


@pytest.mark.parametrize("bad_line,needle", [
    ("U9,UMF No. 9,Subdelegación,1,,06700", "serie"),
    ("U9,UMF No. 9,Subdelegación,A1,,06700", "serie"),
    ("U9,UMF No. 9,Subdelegación,09,,0670", "postal code"),
    ("U9,UMF No. 9,Subdelegación,09,,06700,44100", "expected 6 columns"),
    ("U9,UMF No. 9,Subdelegación,09,,067001", "postal code"),
    ("U9,,Subdelegación,09,,06700", "nombre"),
    ("U 9,UMF No. 9,Subdelegación,09,,06700", "clave"),
    ("U1,UMF repetida,Subdelegación,09,,06700", "line 2"),
    ('U9,"UMF No. 9,Subdelegación,09,,06700', "unclosed quote"),
    ('U9,"UMF No. 9\nSur",Subdelegación,09,,06700', "nombre"),
    ('U9,UMF No. "9",Subdelegación,09,,06700', "quote inside an unquoted field"),
])
def test_import_umf_bad_row_writes_nothing(db, tmp_path, bad_line, needle):
    f = tmp_path / "umf.csv"
    f.write_text(UMF_HEADER + "U1,UMF No. 1,Subdelegación Centro,01,,06700\n"
                 "U2,UMF No. 2,Subdelegación Centro,01,,06600\n" + bad_line + "\n",
                 encoding="utf-8")
    proc = ctl("import-umf", f, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 4" in proc.stderr, proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert "nothing was imported" in proc.stderr
    assert q(db, "SELECT count(*) FROM umf") == [(0,)]
    assert q(db, "SELECT count(*) FROM umf_cp") == [(0,)]


def test_import_umf_bad_header(db, tmp_path):
    f = tmp_path / "umf.csv"
    f.write_text("clave,nombre,serie\nU1,UMF,01\n", encoding="utf-8")
    proc = ctl("import-umf", f, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 1" in proc.stderr and "codigos_postales" in proc.stderr


# ------------------------------------------------------------------ registry

REG_HEADER = ("curp,nombres,primer_apellido,segundo_apellido,fecha_nacimiento,sexo,"
              "entidad_nacimiento,status_curp\n")


def build_curp(nombre, ap1, ap2, fecha, sexo, entidad):
    args = ["curp-build", "--nombre", nombre, "--primer-apellido", ap1, "--fecha", fecha,
            "--sexo", sexo, "--entidad", entidad]
    if ap2:
        args += ["--segundo-apellido", ap2]
    return ctl(*args).stdout.strip()


def registry_rows():
    people = [("María Fernanda", "Núñez", "de la Cruz", "2004-02-29", "M", "JC", "AN"),
              ("José Luis", "Peña", "", "1999-12-31", "H", "NE", "AH"),
              ("Alex", "Ortiz", "Ibáñez", "2001-07-15", "X", "DF", "BD")]
    return [[build_curp(n, a1, a2, f, s, e), n, a1, a2, f, s, e, st]
            for n, a1, a2, f, s, e, st in people]


def write_csv(path, header, rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(header + buf.getvalue(), encoding="utf-8")
    return path


def test_import_registry(db, tmp_path):
    rows = registry_rows()
    f = write_csv(tmp_path / "reg.csv", REG_HEADER, rows)
    out = ctl("import-registry", f, "--db", db).stdout
    assert "registry: 3 persons (2 active, 1 inactive)" in out
    got = q(db, "SELECT curp, nombres, primer_apellido, segundo_apellido, fecha_nacimiento, "
                "sexo, entidad_nacimiento, status_curp FROM renapo_persona ORDER BY curp")
    assert sorted(tuple(r) for r in rows) == [
        tuple("" if v is None else v for v in r) for r in got]
    assert q(db, "SELECT count(*) FROM renapo_persona WHERE segundo_apellido IS NULL") == [(1,)]
    # Upsert: a status change, same row count.
    rows[0][7] = "BDA"
    write_csv(f, REG_HEADER, rows)
    assert "registry: 3 persons (1 active, 2 inactive)" in ctl(
        "import-registry", f, "--db", db).stdout


@pytest.mark.parametrize("col,value,needle", [
    (0, "SABC560626MDFLRN02", "invalid CURP (check digit)"),
    (0, "SABC560626", "invalid CURP (length"),
    (4, "2004-02-30", "invalid fecha_nacimiento"),
    (4, "2004-03-01", "fecha_nacimiento does not match the CURP"),
    (5, "H", "sexo does not match"),
    (6, "ZZ", "invalid entidad_nacimiento"),
    (6, "DF", "entidad_nacimiento does not match"),
    (7, "XX", "unknown status_curp"),
    (1, "", "nombres"),
])
def test_import_registry_bad_row(db, tmp_path, col, value, needle):
    rows = registry_rows()
    bad = list(rows[0])
    bad[col] = value
    f = write_csv(tmp_path / "reg.csv", REG_HEADER, [rows[1], bad, rows[2]])
    proc = ctl("import-registry", f, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 3" in proc.stderr, proc.stderr
    assert needle in proc.stderr, proc.stderr
    # Nothing half-written, and no CURP quoted in diagnostics.
    assert q(db, "SELECT count(*) FROM renapo_persona") == [(0,)]
    for r in rows:
        assert r[0] not in proc.stderr
    assert value not in proc.stderr or not re.fullmatch(r"[A-Z0-9]{18}", value)


def test_import_registry_duplicate_curp(db, tmp_path):
    rows = registry_rows()
    f = write_csv(tmp_path / "reg.csv", REG_HEADER, [rows[0], rows[1], rows[0]])
    proc = ctl("import-registry", f, "--db", db, check=False)
    assert proc.returncode == 1
    assert "line 4" in proc.stderr and "line 2" in proc.stderr
    assert rows[0][0] not in proc.stderr


# ------------------------------------------------------------------ demo registry

def test_demo_registry(demo_db):
    db = demo_db
    persons = q(db, "SELECT curp, nombres, primer_apellido, segundo_apellido, fecha_nacimiento, "
                    "sexo, entidad_nacimiento, status_curp FROM renapo_persona")
    assert len(persons) == 2000
    # Every CURP valid, per the project's own validator.
    out = ctl("curp", stdin="\n".join(p[0] for p in persons) + "\n").stdout.splitlines()
    assert len(out) == 2000
    assert all(line.split("\t")[1] == "valid" for line in out), [
        line for line in out if "\tvalid\t" not in line][:3]
    # CURP fields agree with the row; homoclave digit before 2000, letter from 2000.
    for curp, _, _, _, fecha, sexo, ent, _ in persons:
        assert curp[4:10] == fecha[2:4] + fecha[5:7] + fecha[8:10]
        assert curp[10] == sexo and curp[11:13] == ent
        assert curp[16].isdigit() == (fecha < "2000")
        assert "1995-01-01" <= fecha <= "2010-12-31"
    assert {p[6] for p in persons} == STATES
    sexes = {p[5] for p in persons}
    assert {"H", "M"} <= sexes
    statuses = [p[7] for p in persons]
    assert statuses.count("AN") / 2000 > 0.93
    assert any(s in INACTIVE for s in statuses)
    assert set(statuses) <= ACTIVE | INACTIVE
    assert set(statuses) & (ACTIVE - {"AN"})
    names = " ".join(f"{p[1]} {p[2]} {p[3] or ''}" for p in persons)
    assert "Ñ" in names.upper()
    assert re.search("[ÁÉÍÓÚáéíóú]", names)
    assert any(" " in p[1] for p in persons)  # compound given names
    assert any((p[2] + " " + (p[3] or "")).startswith("de ") or " de " in (p[3] or "")
               or (p[3] or "").startswith("de") or p[2].startswith("de") for p in persons)
    assert 0 < sum(1 for p in persons if p[3] is None) < 200
    # ~30% of the active persons already hold an NSS, none of the inactive ones.
    active = sum(1 for s in statuses if s in ACTIVE)
    insured = q(db, "SELECT a.nss, a.curp, a.prefijo, a.folio, a.correo, a.cp, a.colonia, "
                    "a.umf_clave, a.origen, p.fecha_nacimiento, p.status_curp "
                    "FROM asegurado a JOIN renapo_persona p ON p.curp = a.curp")
    assert 0.25 < len(insured) / active < 0.35
    assert all(r[10] in ACTIVE for r in insured)
    out = ctl("nss", stdin="\n".join(r[0] for r in insured) + "\n").stdout.splitlines()
    assert all(line.split("\t")[1] == "valid" for line in out)
    for nss, curp, prefijo, folio, correo, cp, colonia, umf, origen, fecha, _ in insured:
        assert nss[:6] == prefijo and int(nss[6:10]) == folio
        assert nss[4:6] == fecha[2:4]
        assert int(fecha[:4]) + 15 <= 2000 + int(nss[2:4]) <= 2025
        assert origen == "localizado"
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@ejemplo\.mx", correo), correo
        assert correo.isascii()
    # Address fields come from a shipped CP/colonia served by that UMF with that serie.
    assert q(db, "SELECT count(*) FROM asegurado a WHERE NOT EXISTS (SELECT 1 FROM sepomex s "
                 "WHERE s.cp = a.cp AND s.asentamiento = a.colonia)") == [(0,)]
    assert q(db, "SELECT count(*) FROM asegurado a WHERE NOT EXISTS (SELECT 1 FROM umf_cp c "
                 "JOIN umf u ON u.clave = c.umf_clave WHERE c.cp = a.cp AND u.clave = a.umf_clave "
                 "AND u.serie = substr(a.nss, 1, 2))") == [(0,)]
    # The shared folio counter is ahead of every folio it handed out.
    assert q(db, "SELECT count(*) FROM folio_contador f WHERE f.siguiente <> "
                 "(SELECT max(folio) + 1 FROM asegurado a WHERE a.prefijo = f.prefijo)") == [(0,)]
    assert q(db, "SELECT count(*) FROM asegurado a WHERE NOT EXISTS "
                 "(SELECT 1 FROM folio_contador f WHERE f.prefijo = a.prefijo)") == [(0,)]


def test_demo_registry_is_deterministic_and_idempotent(demo_db, tmp_path):
    before = q(demo_db, "SELECT * FROM renapo_persona ORDER BY curp")
    nss_before = q(demo_db, "SELECT curp, nss FROM asegurado ORDER BY curp")
    out = ctl("demo-registry", "--count", 2000, "--seed", 7, "--db", demo_db).stdout
    assert "0 new persons, 2000 already existed, 0 with NSS" in out
    assert q(demo_db, "SELECT * FROM renapo_persona ORDER BY curp") == before
    assert q(demo_db, "SELECT curp, nss FROM asegurado ORDER BY curp") == nss_before
    # Same seed in a fresh database: the same persons; a longer run extends it.
    other = tmp_path / "other.db"
    ctl("init-db", "--db", other)
    ctl("import-sepomex", SUBSET, "--db", other)
    ctl("import-umf", UMF_DEMO, "--db", other)
    ctl("demo-registry", "--count", 2100, "--seed", 7, "--db", other)
    again = {r[0]: r for r in q(other, "SELECT * FROM renapo_persona")}
    assert len(again) == 2100
    assert all(again[r[0]] == r for r in before)
    # Another seed: other persons.
    ctl("demo-registry", "--count", 200, "--seed", 8, "--db", other)
    assert q(other, "SELECT count(*) FROM renapo_persona") == [(2300,)]


def test_demo_registry_needs_umfs(db):
    proc = ctl("demo-registry", "--count", 10, "--seed", 1, "--db", db, check=False)
    assert proc.returncode == 1 and "import-umf" in proc.stderr


# ------------------------------------------------------------------ sample

def test_sample_kinds(demo_db):
    found = ctl("sample", "found", "--count", 50, "--db", demo_db).stdout.split()
    new = ctl("sample", "new", "--count", 50, "--db", demo_db).stdout.split()
    inactive = ctl("sample", "inactive", "--count", 5, "--db", demo_db).stdout.split()
    assert len(found) == 50 and len(new) == 50 and len(inactive) == 5
    assert found == sorted(found) and new == sorted(new)
    status = dict(q(demo_db, "SELECT curp, status_curp FROM renapo_persona"))
    insured = {r[0] for r in q(demo_db, "SELECT curp FROM asegurado")}
    assert all(c in insured and status[c] in ACTIVE for c in found)
    assert all(c not in insured and status[c] in ACTIVE for c in new)
    assert all(status[c] in INACTIVE for c in inactive)
    one = ctl("sample", "new", "--db", demo_db).stdout.split()
    assert one == new[:1]
    proc = ctl("sample", "inactive", "--count", 100000, "--db", demo_db, check=False)
    assert proc.returncode == 1 and re.search(r"only \d+ CURPs of kind inactive exist", proc.stderr)
    assert len(proc.stdout.split()) == len([s for s in status.values() if s in INACTIVE])


# ------------------------------------------------------------------ seed-demo

def test_seed_demo(tmp_path):
    path = tmp_path / "seed.db"
    out = ctl("seed-demo", "--db", path, "--count", 300).stdout
    assert "sepomex: " in out and "umf: " in out and "300 new persons" in out
    out = ctl("seed-demo", "--db", path, "--count", 300, "--data", SEED).stdout
    assert "0 new persons, 300 already existed" in out
    assert q(path, "SELECT count(*) FROM renapo_persona") == [(300,)]
    assert q(path, "SELECT count(DISTINCT cp) FROM sepomex") == q(
        path, "SELECT count(DISTINCT cp) FROM umf_cp")
