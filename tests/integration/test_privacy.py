"""No personal data in the logs of the whole session, and the failure modes
that need a server of their own. Marked runs_last: conftest.py moves these
tests after every other test of the same server, whatever the file order."""
import re
from pathlib import Path

import pytest

from harness import Apache

pytestmark = pytest.mark.runs_last

CURP_RE = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
NSS_RE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def luhn_ok(nss):
    total = 0
    for i, ch in enumerate(nss[:10]):
        v = int(ch) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return (10 - total % 10) % 10 == int(nss[10])


def test_no_personal_data_in_logs(server):
    for name in ("error_log", "access_log"):
        text = (server.root / name).read_text(errors="replace")
        assert not CURP_RE.search(text), name
        assert not EMAIL_RE.search(text), name
        assert not [n for n in NSS_RE.findall(text) if luhn_ok(n)], name


def test_missing_database_refuses_the_start():
    """SQLite would create an empty file (as root) and every request would fail: the
    start is refused instead, naming the command that creates the database."""
    srv = Apache("it-nodb", mpm="prefork")
    srv.setup(seed_count=None)
    Path(srv.db).unlink()
    r = srv.apachectl("-k", "start")
    assert r.returncode != 0
    assert f"the database {srv.db} (DBDParams) does not exist: create it with " \
           f"afiliatectl migrate --db {srv.db}" in r.stderr
    assert not Path(srv.db).exists() and srv.pid() is None


def test_dropped_tables_are_503():
    """A database that loses its tables under a running server: 503, no crash."""
    srv = Apache("it-nodb", mpm="prefork")
    srv.setup(seed_count=None)
    srv.start()
    try:
        srv.execute("DROP TABLE sepomex")
        r = srv.client().get("/afiliate/nss")
        assert r.status == 200   # the form needs no database
        from flows import Form
        f = Form(srv, srv.client())
        r = f.submit("SABC560626MDFLRN01")
        assert r.status == 503
        assert "El servicio no está disponible" in r.text
        assert r.header("Retry-After") == "30"
        assert srv.client().get("/afiliate/cp/06700").status == 503
        log = srv.read_log()
        assert "mod_afiliate" in log and "Segmentation fault" not in log
    finally:
        srv.stop()


def test_bad_directive_refused(tmp_path):
    srv = Apache("it-badconf")
    srv.setup(seed_count=None)
    conf = srv.root / "httpd.conf"
    conf.write_text(conf.read_text().replace("AfiliateRateLimit 1000000",
                                             "AfiliateRateLimit muchos"))
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert "AfiliateRateLimit must be a whole number" in r.stderr + r.stdout
