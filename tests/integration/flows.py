"""Helpers that walk Paso 1 like a browser does."""
import base64
import hashlib
import hmac
import os
import re
import subprocess
import time

from harness import CTL
from captcha_answer import captcha_answer

FIELD_RE = r'name="{}" value="([^"]*)"'


def field(html, name):
    m = re.search(FIELD_RE.format(re.escape(name)), html)
    return m.group(1) if m else None


class Form:
    """The Paso 1 form as served: its CSRF token and CAPTCHA id."""

    PATH = "/afiliate/nss"

    def __init__(self, server, client):
        self.server = server
        self.client = client
        r = client.get(self.PATH)
        assert r.status == 200, r.status
        self.html = r.text
        self.csrf = field(self.html, "csrf")
        self.captcha_id = field(self.html, "captcha_id")
        assert self.csrf and self.captcha_id

    def answer(self):
        return captcha_answer(self.server.secret, self.captcha_id)

    def submit(self, curp, correo="estudiante@ejemplo.mx", confirmacion=None, captcha=None,
               **overrides):
        data = {
            "curp": curp,
            "correo": correo,
            "correo_confirmacion": correo if confirmacion is None else confirmacion,
            "captcha": self.answer() if captcha is None else captcha,
            "captcha_id": self.captcha_id,
            "csrf": self.csrf,
        }
        data.update(overrides)
        data = {k: v for k, v in data.items() if v is not None}
        return self.client.post(self.PATH, data)


def domicilio(client, cp="06700", colonia="Roma Norte", calle="Orizaba",
              numero_exterior="101", numero_interior="", **extra):
    """The address form fetched and sent, as a browser does. When the server refuses
    the page itself (a 5xx: e.g. a child that cannot reach the database) there is no
    form to send: that page is what the student sees, and it is returned. Sending the
    form anyway would post no CSRF token and be refused (403) as a forged request."""
    page = client.get("/afiliate/domicilio")
    if page.status >= 500:
        return page
    csrf = field(page.text, "csrf")
    data = {"cp": cp, "colonia": colonia, "calle": calle, "numero_exterior": numero_exterior,
            "numero_interior": numero_interior, "csrf": csrf}
    data.update(extra)
    return client.post("/afiliate/domicilio", data)


def forge_captcha_id(secret: bytes, expires: int) -> str:
    """A correctly signed CAPTCHA id with a chosen expiry (for the expiry test)."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    prefix = f"{b64(os.urandom(16))}.{expires}"
    tag = hmac.new(secret, b"captcha-id:" + prefix.encode(), hashlib.sha256).digest()[:16]
    return f"{prefix}.{b64(tag)}"


def sample(server, kind, count=1):
    out = subprocess.run([str(CTL), "sample", kind, "--count", str(count), "--driver",
                          server.driver, "--db", server.db],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def nss_valid(nss):
    out = subprocess.run([str(CTL), "nss", nss], check=True, capture_output=True,
                         text=True).stdout
    return out.split("\t")[1] == "valid"


NSS_RE = re.compile(r"NSS: <strong>(\d{11})</strong>")
# Seconds consistent() allows the last sellos to be stored after their rows.
SEAL_WAIT = 3


def assigned_nss(html):
    m = NSS_RE.search(html)
    return m.group(1) if m else None


def end_claims(srv):
    """Ends the lease of every outbox row a sender claimed and could not settle (a crash,
    a fault): it would wait for its lease otherwise. Returns how many rows were held."""
    held = srv.query("SELECT count(*) FROM outbox WHERE status = 'sending'")[0][0]
    srv.execute("UPDATE outbox SET lease_until = 0 WHERE status = 'sending'")
    return held


def consistent(srv):
    """Nothing half-written anywhere in the server's database (after a crash, a fault)."""
    if srv.driver == "sqlite3":
        assert srv.query("PRAGMA integrity_check") == [("ok",)]
    # One NSS per CURP, one CURP per NSS.
    assert srv.query("SELECT curp FROM asegurado GROUP BY curp HAVING count(*) > 1") == []
    assert srv.query("SELECT nss FROM asegurado GROUP BY nss HAVING count(*) > 1") == []
    # The folio counters have no gap.
    assert srv.query("SELECT f.prefijo FROM folio_contador f WHERE f.siguiente < 10000 AND "
                     "f.siguiente <> (SELECT count(*) FROM asegurado a "
                     "WHERE a.prefijo = f.prefijo)") == []
    # The document sequence has no gap; every documento is whole and names its asegurado.
    # One statement reads both sides (one snapshot): the server may still be issuing
    # documents (its outbox sender). A sello is stored right after its row, by the group
    # committer's next batch: a row may be seen without it for a moment.
    assert srv.query("SELECT (SELECT siguiente - 1 FROM documento_contador WHERE id = 1) - "
                     "(SELECT count(*) FROM documento)") == [(0,)]
    until = time.monotonic() + SEAL_WAIT
    while (unsealed := srv.query("SELECT folio FROM documento WHERE sello = ''")) and \
            time.monotonic() < until:
        time.sleep(0.05)
    # A sello whose batch failed (a fault, a crash before it was stored) is signed again
    # by the row's next reader: the verification page stores it. (Rows issued since the
    # wait may still be waiting for theirs: only these are checked for a sello.)
    c = srv.client()
    for (folio,) in unsealed:
        r = c.get(f"/afiliate/verificar?folio={folio}")
        assert r.status == 200, (folio, r.status)
        assert srv.query("SELECT sello <> '' FROM documento WHERE folio = ?", folio) == [(1,)]
    assert srv.query("SELECT d.folio FROM documento d LEFT JOIN asegurado a "
                     "ON a.nss = d.nss AND a.curp = d.curp "
                     "WHERE a.nss IS NULL OR d.cadena = ''") == []
    # A trámite has an NSS exactly when it reached its result, and that NSS is the CURP's.
    assert srv.query("SELECT t.id FROM tramite t LEFT JOIN asegurado a "
                     "ON a.nss = t.nss AND a.curp = t.curp "
                     "WHERE t.nss IS NOT NULL AND a.nss IS NULL") == []
    assert srv.query("SELECT id FROM tramite WHERE (paso = 'resultado') <> "
                     "(nss IS NOT NULL)") == []
