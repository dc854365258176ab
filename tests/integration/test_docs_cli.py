"""Document commands of afiliatectl: keygen, demo-doc, verify,
import-vigencia.

Runs the real executable against files under tmp_path; no httpd. The
executable comes from $AFILIATECTL (default build/afiliatectl)."""
import os
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
CTL = Path(os.environ.get("AFILIATECTL", TOP / "build" / "afiliatectl"))

CURP = "MUIM050315MNLXBRA5"      # the synthetic person of demo-doc
NSS = "12345678903"
CURP2 = "MUIM050315MNLXBR05"     # another valid CURP
CURP3 = "GOMA800101HDFMRR00"     # and another
NSS2 = "12345678911"             # another valid NSS (Luhn)
HEADER = "curp,nss,movimiento,fecha,escuela,periodo_fin\n"

pytestmark = pytest.mark.skipif(not CTL.exists(),
                                reason=f"{CTL} not built (make build/afiliatectl)")


def ctl(*args, check=True):
    proc = subprocess.run([str(CTL), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"afiliatectl {' '.join(map(str, args))} -> {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = ctl("keygen", "--out-dir", d).stdout
    serial = re.search(r"^No\. de serie: ([0-9A-F]{20}) \(Ed25519\)$", out, re.M)
    assert serial, out
    return d / "afiliate-signing.key", d / "afiliate-signing.pub", serial.group(1)


@pytest.fixture(scope="module")
def docs(keys, tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    out = {}
    for kind, extra in (("comprobante", []), ("tarjeta", []),
                        ("constancia", ["--vigente", "si"]),
                        ("constancia-no", ["--vigente", "no"])):
        path = d / f"{kind}.pdf"
        r = ctl("demo-doc", kind.split("-")[0], "--key", keys[0], "--out", path,
                "--base-url", "http://127.0.0.1:8080/afiliate", *extra)
        assert "wrote" in r.stdout
        out[kind] = path
    return out


def pdftotext(path):
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


# ---------------------------------------------------------------- keygen

def test_keygen_files_and_modes(tmp_path):
    d = tmp_path / "nested" / "keys"
    out = ctl("keygen", "--out-dir", d).stdout
    priv, pub = d / "afiliate-signing.key", d / "afiliate-signing.pub"
    assert f"wrote {priv}" in out
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub.stat().st_mode) == 0o644
    assert priv.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # openssl agrees it is an Ed25519 key pair
    r = subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout"], capture_output=True,
                       text=True)
    if r.returncode == 0:
        assert r.stdout == pub.read_text()


def test_keygen_never_overwrites(tmp_path):
    ctl("keygen", "--out-dir", tmp_path)
    before = (tmp_path / "afiliate-signing.key").read_bytes()
    r = ctl("keygen", "--out-dir", tmp_path, check=False)
    assert r.returncode == 1
    assert "already exists" in r.stderr
    assert (tmp_path / "afiliate-signing.key").read_bytes() == before


def test_keygen_usage():
    assert ctl("keygen", check=False).returncode == 2
    assert ctl("keygen", "--bogus", "x", check=False).returncode == 2
    r = ctl("keygen", "--help")
    assert "afiliate-signing.key" in r.stdout


# ---------------------------------------------------------------- verify

@pytest.mark.parametrize("kind,tipo", [("comprobante", "comprobante"), ("tarjeta", "tarjeta"),
                                       ("constancia", "constancia"),
                                       ("constancia-no", "constancia")])
def test_verify_valid(docs, keys, kind, tipo):
    r = ctl("verify", docs[kind], "--pub", keys[1])
    lines = r.stdout.splitlines()
    assert lines[0] == "valid"
    assert f"  tipo: {tipo}" in lines
    assert f"  no. de serie: {keys[2]} (Ed25519)" in lines
    assert re.search(r"^  folio: \d{21}$", r.stdout, re.M)
    # no personal data in the report
    assert CURP not in r.stdout and NSS not in r.stdout and "María" not in r.stdout
    # the private key file works as the public key too
    assert ctl("verify", docs[kind], "--pub", keys[0]).stdout.startswith("valid")


def test_documents_display_their_data(docs, keys):
    for kind in docs:
        assert subprocess.run(["qpdf", "--check", str(docs[kind])],
                              capture_output=True).returncode == 0
        size = docs[kind].stat().st_size
        assert size <= 6144, (kind, size)
    t = pdftotext(docs["constancia"])
    assert "Constancia de Vigencia de Derechos" in t
    assert "SÍ" in t and "Voluntario — Modalidad 32 Seguro Facultativo" in t
    assert "Nombre o Razón Social:María José Muñoz Ibáñez" in t
    assert f"No. de serie: {keys[2]}" in t
    assert "http://127.0.0.1:8080/afiliate/verificar?folio=" in t
    assert "NO" in pdftotext(docs["constancia-no"])
    t = pdftotext(docs["tarjeta"])
    assert "Recorta por la línea punteada" in t and NSS in t and CURP in t


def verify(path, pub):
    r = ctl("verify", path, "--pub", pub, check=False)
    return r.returncode, r.stdout.strip()


def test_verify_altered_byte_fails(docs, keys, tmp_path):
    data = bytearray(docs["constancia"].read_bytes())
    for at in (len(data) // 3, len(data) // 2, len(data) - 40):
        bad = bytearray(data)
        bad[at] ^= 0x01
        path = tmp_path / f"bad{at}.pdf"
        path.write_bytes(bad)
        code, out = verify(path, keys[1])
        assert code == 1 and out.startswith("invalid: "), out


def test_verify_altered_cadena_fails(docs, keys, tmp_path):
    """The NSS inside the embedded cadena original changed, same length."""
    data = docs["comprobante"].read_bytes()
    m = re.search(rb"/CadenaOriginal <([0-9A-F]+)>", data)
    cadena = bytes.fromhex(m.group(1).decode())
    assert f"Número de Seguridad Social:{NSS}".encode() in cadena
    forged = cadena.replace(NSS.encode(), NSS2.encode())
    bad = data.replace(m.group(1), forged.hex().upper().encode())
    assert len(bad) == len(data) and bad != data
    path = tmp_path / "forged.pdf"
    path.write_bytes(bad)
    code, out = verify(path, keys[1])
    assert code == 1 and "altered" in out, out


def test_verify_altered_text_fails(docs, keys, tmp_path):
    """A PDF tool rewrites the constancia and turns "NO" into "SÍ": the page
    says SÍ, the verification says invalid."""
    qdf, forged = tmp_path / "qdf.pdf", tmp_path / "si.pdf"
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(docs["constancia-no"]),
                    str(qdf)], check=True)
    data = qdf.read_bytes()
    assert b"(NO) Tj" in data
    forged.write_bytes(data.replace(b"(NO) Tj", b"(S\xcd) Tj"))
    assert "Vigente: SÍ" in pdftotext(forged)
    code, out = verify(forged, keys[1])
    assert code == 1 and "altered" in out, out
    # even the unmodified rewrite is not the issued document
    code, out = verify(qdf, keys[1])
    assert code == 1


def test_verify_appended_update_fails(docs, keys, tmp_path):
    path = tmp_path / "appended.pdf"
    path.write_bytes(docs["tarjeta"].read_bytes() + b"\n1 0 obj\n<< >>\nendobj\n")
    code, out = verify(path, keys[1])
    assert code == 1 and "altered" in out, out


def test_verify_other_key_and_junk(docs, keys, tmp_path):
    other = tmp_path / "other"
    ctl("keygen", "--out-dir", other)
    code, out = verify(docs["comprobante"], other / "afiliate-signing.pub")
    assert code == 1 and "another key" in out and keys[2] in out, out
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    code, out = verify(junk, keys[1])
    assert code == 1 and out == "invalid: not a PDF file"
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(b"%PDF-1.3\n%%EOF\n")
    code, out = verify(plain, keys[1])
    assert code == 1 and "no sello digital" in out


def test_verify_usage_errors(docs, keys, tmp_path):
    assert ctl("verify", docs["comprobante"], check=False).returncode == 2   # no --pub
    assert ctl("verify", "--pub", keys[1], check=False).returncode == 2      # no file
    assert ctl("verify", tmp_path / "missing.pdf", "--pub", keys[1], check=False).returncode == 2
    bad_key = tmp_path / "bad.pub"
    bad_key.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    r = ctl("verify", docs["comprobante"], "--pub", bad_key, check=False)
    assert r.returncode == 2 and "not a PEM public key" in r.stderr


# ---------------------------------------------------------------- import-vigencia

@pytest.fixture
def db(tmp_path):
    path = tmp_path / "afiliate.db"
    ctl("init-db", "--db", path)
    with sqlite3.connect(path) as c:
        c.execute("INSERT INTO renapo_persona VALUES (?, 'María José', 'Muñoz', 'Ibáñez', "
                  "'2005-03-15', 'M', 'NL', 'AN')", (CURP,))
        c.execute("INSERT INTO asegurado (nss, curp, prefijo, folio, origen, creado, actualizado) "
                  "VALUES (?, ?, '123456', 7890, 'asignado', 0, 0)", (NSS, CURP))
    return path


def rows(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT clave, nss, curp, movimiento, inicio, fin, origen, escuela, "
                         "creado, actualizado FROM cobertura "
                         "ORDER BY inicio, movimiento").fetchall()


REPORT = (HEADER
          + f"{CURP},{NSS},alta,2026-08-24,09DES0001X,2027-01-31\n"
          + f"{CURP},{NSS},baja,2026-11-15,09DES0001X,\n"
          + f"{CURP2},{NSS2},alta,2026-08-24,\"Escuela \"\"Benito Juárez\"\", matutino\",\n")


def test_import_vigencia_and_idempotency(db, tmp_path):
    csv = tmp_path / "report.csv"
    csv.write_text(REPORT)
    r = ctl("import-vigencia", csv, "--db", db)
    assert r.stdout.strip() == "cobertura: 3 new, 0 updated, 0 unchanged"
    assert "1 line(s) name an NSS that is not in the registry" in r.stderr
    first = rows(db)
    assert [(x[1], x[3], x[4], x[5], x[6], x[7]) for x in first] == [
        (NSS, "alta", "2026-08-24", "2027-01-31", "escuela", "09DES0001X"),
        (NSS2, "alta", "2026-08-24", None, "escuela", 'Escuela "Benito Juárez", matutino'),
        (NSS, "baja", "2026-11-15", None, "escuela", "09DES0001X"),
    ]
    assert all(re.fullmatch(r"csv:[0-9a-f]{64}", x[0]) for x in first)
    # the same file again changes nothing
    r = ctl("import-vigencia", csv, "--db", db)
    assert r.stdout.strip() == "cobertura: 0 new, 0 updated, 3 unchanged"
    assert rows(db) == first
    # a corrected end of the period updates that alta, not a new one
    csv.write_text(HEADER + f"{CURP},{NSS},ALTA,2026-08-24, 09DES0001X ,2027-06-30\n")
    r = ctl("import-vigencia", csv, "--db", db)
    assert r.stdout.strip() == "cobertura: 0 new, 1 updated, 0 unchanged"
    after = rows(db)
    assert len(after) == 3
    assert after[0][5] == "2027-06-30" and after[0][0] == first[0][0]


@pytest.mark.parametrize("bad,line,needle", [
    (f"{CURP},{NSS},alta,2026-02-30,E1,\n", 3, "column fecha"),
    (f"{CURP},12345678904,alta,2026-08-24,E1,\n", 3, "invalid NSS (bad_check_digit)"),
    (f"{CURP},{NSS},baja,2026-08-24,E1,2026-12-31\n", 3, "must be empty for a baja"),
    (f"{CURP},{NSS},reingreso,2026-08-24,E1,\n", 3, "must be alta or baja"),
])
def test_import_vigencia_bad_line_writes_nothing(db, tmp_path, bad, line, needle):
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER + f"{CURP},{NSS},alta,2026-08-24,E1,2027-01-31\n" + bad)
    r = ctl("import-vigencia", csv, "--db", db, check=False)
    assert r.returncode == 1
    assert f"line {line}: " in r.stderr and needle in r.stderr, r.stderr
    assert "nothing was imported" in r.stderr
    assert CURP not in r.stderr and NSS not in r.stderr
    assert rows(db) == []


def test_import_vigencia_registry_mismatch_writes_nothing(db, tmp_path):
    csv = tmp_path / "mismatch.csv"
    # line 2 is fine; line 3 gives the registered NSS to another CURP
    csv.write_text(HEADER + f"{CURP},{NSS},alta,2026-08-24,E1,\n"
                   + f"{CURP2},{NSS},alta,2026-08-24,E1,\n")
    r = ctl("import-vigencia", csv, "--db", db, check=False)
    assert r.returncode == 1
    assert "line 3: the NSS belongs to another CURP in the registry" in r.stderr, r.stderr
    assert rows(db) == []
    # the registered CURP with another NSS
    csv.write_text(HEADER + f"{CURP},{NSS2},alta,2026-08-24,E1,\n")
    r = ctl("import-vigencia", csv, "--db", db, check=False)
    assert r.returncode == 1 and "line 2: the CURP has another NSS" in r.stderr
    # an NSS outside the registry already covered under another CURP
    ctl("import-vigencia",
        _write(tmp_path / "a.csv", HEADER + f"{CURP2},{NSS2},alta,2026-08-24,E1,\n"), "--db", db)
    r = ctl("import-vigencia",
            _write(tmp_path / "b.csv", HEADER + f"{CURP3},{NSS2},baja,2026-09-01,E1,\n"),
            "--db", db, check=False)
    assert r.returncode == 1
    assert "line 2: coverage already recorded for this NSS with another CURP" in r.stderr
    assert len(rows(db)) == 1


def _write(path, text):
    path.write_text(text)
    return path


def test_import_vigencia_usage_and_missing_db(tmp_path):
    csv = _write(tmp_path / "r.csv", REPORT)
    assert ctl("import-vigencia", csv, check=False).returncode == 2              # no --db
    assert ctl("import-vigencia", "--db", tmp_path / "x.db", check=False).returncode == 2
    assert ctl("import-vigencia", csv, "--db", tmp_path / "x.db", "--driver", "mysql",
               check=False).returncode == 2
    r = ctl("import-vigencia", csv, "--db", tmp_path / "missing.db", check=False)
    assert r.returncode == 1 and "afiliatectl migrate --db" in r.stderr
    assert not (tmp_path / "missing.db").exists()
    r = ctl("import-vigencia", _write(tmp_path / "h.csv", "curp,nss\n"), "--db", tmp_path / "x.db",
            check=False)
    assert r.returncode == 1 and "line 1: unexpected header" in r.stderr


# ---------------------------------------------------------------- PostgreSQL

def test_import_vigencia_postgresql(tmp_path):
    """The same statements on PostgreSQL: import, re-import, a bad line."""
    import shutil
    if not shutil.which("pg_ctl") and not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL is not installed")
    from pg import Postgres
    pg = Postgres("pg-vigencia")
    pg.start()
    try:
        ctl("init-db", "--driver", "pgsql", "--db", pg.conninfo)
        csv = _write(tmp_path / "r.csv", REPORT)
        r = ctl("import-vigencia", csv, "--driver", "pgsql", "--db", pg.conninfo)
        assert r.stdout.strip() == "cobertura: 3 new, 0 updated, 0 unchanged"
        r = ctl("import-vigencia", csv, "--driver", "pgsql", "--db", pg.conninfo)
        assert r.stdout.strip() == "cobertura: 0 new, 0 updated, 3 unchanged"
        bad = _write(tmp_path / "bad.csv", HEADER + f"{CURP3},{NSS2},alta,2026-08-30,E9,\n"
                     + f"{CURP},{NSS},alta,2026-02-30,E1,\n")
        r = ctl("import-vigencia", bad, "--driver", "pgsql", "--db", pg.conninfo, check=False)
        assert r.returncode == 1 and "line 3: column fecha" in r.stderr
        assert pg.psql("SELECT count(*) FROM cobertura").stdout.strip() == "3"
        assert pg.psql("SELECT count(*) FROM documento_contador").stdout.strip() == "1"
    finally:
        pg.stop()
