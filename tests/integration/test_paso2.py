"""Signed documents, the verification page and Paso 2 (the constancia de vigencia de
derechos), end to end against a real apache2 on every MPM and database of the matrix."""
import datetime
import os
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest

from flows import Form, assigned_nss, domicilio, field
from harness import CTL, Apache

MSG_NSS_NO = "El Instituto (IMSS) no ha podido localizar tu Número de Seguridad Social (NSS)"
MSG_INCONSISTENTE = "El Instituto (IMSS) ha localizado inconsistencias en tus datos"


def today():
    """The server's calendar day (documents and coverage use Mexico City time)."""
    tz = ZoneInfo(os.environ.get("AFILIATE_TZ", "America/Mexico_City"))
    return datetime.datetime.now(tz).strftime("%Y-%m-%d")


FOLIO_RE = re.compile(r"verificar\?folio=(\d{21})")


# Every document, with its cadena original, sello digital and QR code, fits in
# this many bytes (the standard PDF fonts, nothing embedded).
PDF_MAX = 6144


def full_name(server, curp):
    """The person's name as the documents print it (accents and Ñ as stored)."""
    row = server.query("SELECT nombres, primer_apellido, segundo_apellido FROM renapo_persona "
                       "WHERE curp = ?", curp)[0]
    return " ".join(x for x in row if x)


def flat(text):
    return " ".join(text.split())


def pdf_check(body, tmp_path, name):
    """Writes the PDF, checks it with qpdf and returns (path, text)."""
    path = tmp_path / name
    path.write_bytes(body)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    return path, text


def verify(server, path):
    return subprocess.run([str(CTL), "verify", str(path), "--pub", str(server.public_key_path)],
                          capture_output=True, text=True)


def assert_signature(server, path, tmp_path):
    r = verify(server, path)
    assert r.returncode == 0 and r.stdout.startswith("valid"), r.stdout + r.stderr
    # One byte changed anywhere in the file (here, in the middle) fails.
    data = bytearray(path.read_bytes())
    i = len(data) // 2
    data[i] = (data[i] + 1) % 256
    bad = tmp_path / ("alterado-" + path.name)
    bad.write_bytes(bytes(data))
    r = verify(server, bad)
    assert r.returncode == 1 and r.stdout.startswith("invalid"), r.stdout + r.stderr


def new_assignment(server, curps):
    """A browser that completes Paso 1 with a new CURP; returns (client, curp, nss)."""
    curp = curps["new"].pop()
    c = server.client()
    Form(server, c).submit(curp, correo="nuevo@ejemplo.mx")
    r = domicilio(c)
    assert r.status == 200, r.text
    nss = assigned_nss(r.text)
    assert nss
    return c, curp, nss


class Paso2(Form):
    """The Paso 2 form as served."""

    PATH = "/afiliate/vigencia"

    def submit(self, curp, nss, correo="estudiante@ejemplo.mx", captcha=None, **overrides):
        data = {"curp": curp, "nss": nss, "correo": correo, "correo_confirmacion": correo,
                "captcha": captcha if captcha is not None else self.answer(),
                "captcha_id": self.captcha_id, "csrf": self.csrf}
        data.update(overrides)
        return self.client.post(self.PATH, data)


def lapsed_insured(server):
    """A demo insured person whose only coverage ended before today."""
    rows = server.query(
        "SELECT a.curp, a.nss FROM asegurado a JOIN renapo_persona p ON p.curp = a.curp "
        "WHERE p.status_curp = 'AN' AND NOT EXISTS (SELECT 1 FROM cobertura c "
        "WHERE c.nss = a.nss AND (c.fin IS NULL OR c.fin >= ?)) "
        "AND EXISTS (SELECT 1 FROM cobertura c WHERE c.nss = a.nss) ORDER BY a.nss LIMIT 20",
        today())
    assert rows, "the demo data has no lapsed coverage"
    return rows


# ---------------------------------------------------------------- signed documents


def test_comprobante_and_tarjeta_are_signed(server, curps, tmp_path):
    c, curp, nss = new_assignment(server, curps)
    html = c.get("/afiliate/resultado").text
    assert 'href="/afiliate/tarjeta"' in html

    r = c.get("/afiliate/comprobante?descargar=1")
    assert r.status == 200 and r.header("Content-Type") == "application/pdf"
    assert len(r.body) <= PDF_MAX, len(r.body)
    path, text = pdf_check(r.body, tmp_path, "comprobante.pdf")
    assert nss in text and curp in text
    assert full_name(server, curp) in flat(text)
    assert "Comprobante de Asignación de Número de Seguridad Social" in flat(text)
    assert_signature(server, path, tmp_path)
    (n,) = server.query("SELECT count(*) FROM documento WHERE nss = ? AND tipo = 'comprobante'",
                        nss)[0]
    assert n == 1
    # A re-download in the same trámite reuses the stored document (same folio).
    c.get("/afiliate/comprobante")
    assert server.query("SELECT count(*) FROM documento WHERE nss = ? AND tipo = 'comprobante'",
                        nss)[0][0] == 1

    r = c.get("/afiliate/tarjeta?descargar=1")
    assert r.status == 200 and r.header("Content-Type") == "application/pdf"
    assert r.header("Cache-Control") == "no-store"
    assert f'attachment; filename="tarjetaNSS{nss}.pdf"' == r.header("Content-Disposition")
    assert len(r.body) <= PDF_MAX, len(r.body)
    path, text = pdf_check(r.body, tmp_path, "tarjeta.pdf")
    assert nss in text and curp in text
    assert full_name(server, curp) in flat(text)
    assert "Tarjeta de Número de Seguridad Social" in flat(text)
    assert_signature(server, path, tmp_path)
    inline = c.get("/afiliate/tarjeta")
    assert inline.header("Content-Disposition").startswith("inline")
    ((folio, tipo),) = server.query("SELECT folio, tipo FROM documento WHERE nss = ? "
                                    "AND tipo = 'tarjeta'", nss)
    assert len(folio) == 21


def test_tarjeta_needs_the_result(server):
    r = server.client().get("/afiliate/tarjeta")
    assert r.status == 404
    assert "Documento no disponible" in r.text


# ---------------------------------------------------------------- verification page


def test_verification_page(server, curps, tmp_path):
    c, curp, nss = new_assignment(server, curps)
    c.get("/afiliate/tarjeta")
    ((folio, nombre),) = server.query("SELECT folio, nombre FROM documento WHERE nss = ? "
                                      "AND tipo = 'tarjeta'", nss)
    anon = server.client()
    r = anon.get(f"/afiliate/verificar?folio={folio}")
    assert r.status == 200, r.text
    assert "Sello digital válido" in r.text and "no válido" not in r.text
    assert "Tarjeta de Número de Seguridad Social" in r.text
    assert nss[:2] + "******" + nss[8:] in r.text and nss not in r.text
    first = nombre.split()[0]
    assert first in r.text
    for word in nombre.split()[1:]:
        assert word not in r.text.replace(first, "")
    assert curp not in r.text

    # Unknown and malformed folios.
    r = anon.get("/afiliate/verificar?folio=" + "1" + "0" * 20)
    assert r.status == 404 and "No existe un documento con ese folio" in r.text
    assert anon.get("/afiliate/verificar?folio=123").status == 400
    assert anon.get("/afiliate/verificar").status == 400

    # A stored cadena that no longer matches its sello.
    server.execute("UPDATE documento SET cadena = replace(cadena, 'Tarjeta', 'Tarjetas') "
                   "WHERE folio = ?", folio)
    r = anon.get(f"/afiliate/verificar?folio={folio}")
    assert r.status == 200 and "Sello digital no válido" in r.text


def test_qr_url_is_the_verification_page(server, curps, tmp_path):
    c, curp, nss = new_assignment(server, curps)
    path, text = pdf_check(c.get("/afiliate/tarjeta").body, tmp_path, "t.pdf")
    m = FOLIO_RE.search(text.replace("\n", ""))
    assert m, text
    assert server.query("SELECT count(*) FROM documento WHERE folio = ?", m.group(1))[0][0] == 1


def test_qr_url_ignores_the_host_header(server, curps, tmp_path):
    """Without AfiliatePublicURL the base is ServerName and port, never the client's Host."""
    c, curp, nss = new_assignment(server, curps)
    r = c.get("/afiliate/tarjeta", headers={"Host": "evil.example"})
    assert r.status == 200
    _, text = pdf_check(r.body, tmp_path, "host.pdf")
    flat = text.replace("\n", "")
    assert "evil.example" not in flat
    assert f"http://127.0.0.1:{server.port}/afiliate/verificar?folio=" in flat


# ---------------------------------------------------------------- Paso 2


def test_paso2_form_page(server):
    r = server.client().get("/afiliate/vigencia")
    assert r.status == 200
    for name in ("curp", "nss", "correo", "correo_confirmacion", "captcha"):
        assert f'name="{name}"' in r.text
    assert field(r.text, "captcha_id") and field(r.text, "csrf")
    assert "Paso 2" in r.text


def test_paso2_vigente_si(server, curps, tmp_path):
    _, curp, nss = new_assignment(server, curps)
    (fin,) = server.query("SELECT fin FROM cobertura WHERE clave = ?", "asignacion:" + nss)[0]
    assert fin >= today()
    c = server.client()
    r = Paso2(server, c).submit(curp, nss)
    assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado"), r.text
    assert "Vigente: <strong>SÍ</strong>" in r.text
    assert nss in r.text and "Unidad de Medicina Familiar" in r.text

    r = c.get("/afiliate/constancia?descargar=1")
    assert r.status == 200 and r.header("Content-Type") == "application/pdf"
    assert r.header("Content-Disposition") == \
        f'attachment; filename="comprobanteVigenciaDerechos{nss}.pdf"'
    assert len(r.body) <= PDF_MAX, len(r.body)
    path, text = pdf_check(r.body, tmp_path, "constancia.pdf")
    assert full_name(server, curp) in flat(text)
    assert "Constancia de Vigencia de Derechos" in text
    assert "Vigente" in text and "SÍ" in text and nss in text and curp in text
    assert "Régimen" in text or "Modalidad 32" in text
    assert_signature(server, path, tmp_path)
    assert c.get("/afiliate/constancia").header("Content-Disposition").startswith("inline")
    assert server.query("SELECT count(*) FROM documento WHERE nss = ? AND tipo = 'constancia'",
                        nss)[0][0] == 1


def test_paso2_vigente_no(server, tmp_path):
    curp, nss = lapsed_insured(server)[0]
    c = server.client()
    r = Paso2(server, c).submit(curp, nss)
    assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado"), r.text
    assert "Vigente: <strong>NO</strong>" in r.text
    path, text = pdf_check(c.get("/afiliate/constancia").body, tmp_path, "no.pdf")
    assert "Vigente" in text and "NO" in text and nss in text
    nombres = server.query("SELECT nombres FROM renapo_persona WHERE curp = ?", curp)[0][0]
    assert nombres.split()[0] in text


def test_paso2_errors(server, curps):
    curp_a, nss_a = lapsed_insured(server)[0]
    curp_b, nss_b = lapsed_insured(server)[1]

    # NSS of another person: inconsistent data.
    r = Paso2(server, server.client()).submit(curp_a, nss_b)
    assert r.status == 422 and MSG_INCONSISTENTE in r.text

    # A valid NSS nobody holds.
    # Serie 99 (no subdelegación uses it), check digit by Luhn (weights 1,2,1,2...).
    base = "9926059999"
    total = 0
    for i, ch in enumerate(base):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    unknown = base + str((10 - total % 10) % 10)
    assert not server.query("SELECT 1 FROM asegurado WHERE nss = ?", unknown)
    r = Paso2(server, server.client()).submit(curp_a, unknown)
    assert r.status == 422 and MSG_NSS_NO in r.text

    # Field errors.
    r = Paso2(server, server.client()).submit(curp_a, "123")
    assert r.status == 400 and "El NSS debe tener 11 dígitos" in r.text
    r = Paso2(server, server.client()).submit(curp_a, nss_a[:10] + str((int(nss_a[10]) + 1) % 10))
    assert r.status == 400 and "dígito verificador" in r.text
    r = Paso2(server, server.client()).submit(curp_a, nss_a, captcha="XXXXXX")
    assert r.status == 400 and "El captcha no fue válido" in r.text
    r = Paso2(server, server.client()).submit("XXXX000000XXXXXX00", nss_a)
    assert r.status == 400
    r = Paso2(server, server.client()).submit(curp_a, nss_a, correo="no-es-correo")
    assert r.status == 400 and "El correo electrónico no es válido" in r.text

    # CSRF: a post without the session's token is refused.
    c = server.client()
    f = Paso2(server, c)
    f.csrf = "0" * 64
    assert f.submit(curp_a, nss_a).status == 403

    # The constancia needs a session at the Paso 2 result.
    assert server.client().get("/afiliate/constancia").status == 404


def curp_check_digit(first17):
    alphabet = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
    total = sum(alphabet.index(ch) * (18 - i) for i, ch in enumerate(first17))
    return str((10 - total % 10) % 10)


def test_paso2_curp_not_in_registry(server):
    curp_a, nss_a = lapsed_insured(server)[0]
    # A well-formed CURP that RENAPO does not hold: another homoclave.
    for h in "ZYXW":
        other = curp_a[:16] + h
        other += curp_check_digit(other)
        if not server.query("SELECT 1 FROM renapo_persona WHERE curp = ?", other):
            break
    r = Paso2(server, server.client()).submit(other, nss_a)
    assert r.status == 422 and "No se localizó información en RENAPO" in r.text


# ---------------------------------------------------------------- directives


@pytest.mark.parametrize("line, message", [
    ("AfiliatePeriodoFin 2026-02-30", "AfiliatePeriodoFin must be a date YYYY-MM-DD"),
    ("AfiliatePublicURL ftp://afiliate.example", "AfiliatePublicURL must be an absolute"),
    ("AfiliatePublicURL https://x.example/a?b=1", "AfiliatePublicURL must be an absolute"),
    ("AfiliateSigningKey /nonexistent/afiliate-signing.key",
     "AfiliateSigningKey /nonexistent/afiliate-signing.key is not a usable private key"),
])
def test_bad_document_directives_refused(line, message):
    srv = Apache("it-badconf-docs")
    srv.setup(seed_count=None)
    conf = srv.root / "httpd.conf"
    conf.write_text(conf.read_text() + "\n" + line + "\n")
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert message in r.stderr + r.stdout


def test_good_document_directives_accepted():
    srv = Apache("it-goodconf-docs")
    srv.setup(seed_count=None)
    conf = srv.root / "httpd.conf"
    conf.write_text(conf.read_text() + "\nAfiliatePeriodoFin 2027-01-31\n"
                    "AfiliatePublicURL https://afiliate.example.gob.mx/afiliate/\n"
                    "AfiliateFont none\nAfiliateFontBold None\n"
                    "AfiliateCaptchaFont /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\n")
    r = srv.apachectl("-t")
    assert r.returncode == 0, r.stderr + r.stdout


def test_public_url_and_periodo_fin(tmp_path):
    """AfiliatePublicURL goes into the QR code; AfiliatePeriodoFin ends the coverage an
    assignment opens."""
    from flows import sample
    srv = Apache("it-publicurl",
                 extra=["AfiliatePublicURL https://afiliate.example.gob.mx/afiliate/",
                        "AfiliatePeriodoFin 2199-12-31"])
    srv.setup(seed_count=300)
    srv.start()
    try:
        curps = {"new": sample(srv, "new", 2)}
        c, curp, nss = new_assignment(srv, curps)
        assert srv.query("SELECT inicio, fin FROM cobertura WHERE clave = ?",
                         "asignacion:" + nss) == [(today(), "2199-12-31")]
        _, text = pdf_check(c.get("/afiliate/tarjeta").body, tmp_path, "pub.pdf")
        assert "https://afiliate.example.gob.mx/afiliate/verificar?folio=" in \
            text.replace("\n", "")
    finally:
        srv.stop()
