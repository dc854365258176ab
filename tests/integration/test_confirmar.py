"""E-mail confirmation (AfiliateConfirmarCorreo On): after a valid Paso 1 form the
student gets only a "revisa tu correo" page and a message with a single-use link,
read here from the real SMTP sink (tests/smtp_sink.py). Opening the link, from a
browser that never saw the trámite, continues it: the located NSS is shown and
e-mailed only then, a new CURP goes on to the address. Until then no page, document
or message carries the NSS. A used, expired, forged or tampered link gets a Spanish
page; on PostgreSQL a second server sharing the database and the secret honours the
same link once. A real apache2 per (MPM, driver) of the matrix."""
import os
import re
import shutil
import time
import urllib.parse

import pytest

from captcha_answer import captcha_answer
from flows import Form, assigned_nss, domicilio, field, sample
from harness import Apache
from mail_fixtures import SENDER, address, delivered, mail_lines, watched

MATRIX = os.environ.get("AFILIATE_MATRIX",
                        "event-sqlite3,prefork-sqlite3,event-pgsql,prefork-pgsql").split(",")
SUBJECT = "Confirma tu correo electrónico para continuar tu trámite"
SUBJECT_NSS = "Comprobante de tu Número de Seguridad Social (NSS)"
VIGENCIA = 1  # minutes: the expiry test waits it out
LINK_RE = re.compile(r"https?://\S+/confirmar\?t=[0-9a-f]{64}\.\d+\.[0-9a-f]{32}")
OTHER = "/tramite-nss"  # a second <Location> of the same server
# Eleven digits on their own, as a page shows an NSS: not a run of digits inside a
# random hex token (the CSRF token holds one in about one page in ten).
NSS_RE = re.compile(r"(?<![0-9A-Za-z])\d{11}(?![0-9A-Za-z])")
REFUSED_LINK = r"mod_afiliate: AFL\d{5}: (an expired|a forged or damaged) e-mail confirmation link|" \
               r"mod_afiliate: AFL\d{5}: an e-mail confirmation link was opened again"


def conf_lines(sink):
    return mail_lines(sink) + [
            "AfiliateConfirmarCorreo On",
            f"AfiliateConfirmarCorreoVigencia {VIGENCIA}",
            f"<Location {OTHER}>", "    SetHandler afiliate", "    AfiliateMaxBody 16384",
            "</Location>"]


@pytest.fixture(scope="module", params=MATRIX)
def srv(request, sink):
    mpm, driver = request.param.split("-")
    name = f"it-confirm-{mpm}-{driver}"
    db = None
    if driver == "pgsql":
        db = request.getfixturevalue("pg_cluster").create_db(name.replace("-", "_"))
    s = Apache(name, mpm=mpm, db=db, driver=driver, extra=conf_lines(sink))
    s.setup(seed_count=3000)
    s.start()
    s.started = time.time()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def server(srv, sink):
    """The server; fails the test on an unexpected [warn]/[error] line."""
    with watched(srv, sink) as s:
        yield s


@pytest.fixture(scope="module")
def pool(srv):
    return {kind: sample(srv, kind, n) for kind, n in (("new", 40), ("found", 40))}


def text_of(msg):
    return msg.parsed.get_body(preferencelist=("plain",)).get_content()


def link_of(msg):
    """The confirmation link of a message, checked for what it must and must not hold."""
    p = msg.parsed
    assert p["Subject"] == SUBJECT
    assert p["From"].addresses[0].addr_spec == SENDER
    assert not list(p.iter_attachments())
    text = text_of(msg)
    html = p.get_body(preferencelist=("html",)).get_content()
    links = LINK_RE.findall(text)
    assert len(links) == 1, text
    assert f'href="{links[0]}"' in html
    assert "La liga es válida hasta las" in text and "sirve una sola vez" in text
    return links[0]


def path_of(link, server, base="/afiliate"):
    """The link as this server's client requests it (the host is httpd's ServerName)."""
    u = urllib.parse.urlsplit(link)
    assert u.scheme == "http" and u.port == server.port, link
    assert u.path == f"{base}/confirmar", link
    return f"{u.path}?{u.query}"


def submit(server, curp, to):
    """Paso 1's form: the browser lands on the "revisa tu correo" page."""
    c = server.client()
    r = Form(server, c).submit(curp, correo=to)
    assert r.status == 200 and r.url.endswith("/afiliate/confirmar"), (r.status, r.url)
    return c, r


def no_nss_anywhere(server, c, nss, r):
    """Before the link: the waiting page everywhere, the NSS nowhere."""
    assert "Revisa tu correo electrónico" in r.text
    assert nss not in r.text and not NSS_RE.search(r.text)
    for path in ("/afiliate/resultado", "/afiliate/domicilio", "/afiliate/confirmar"):
        page = c.get(path)
        assert page.status == 200 and "Revisa tu correo electrónico" in page.text, path
        assert nss not in page.text, path
    for path in ("/afiliate/comprobante", "/afiliate/comprobante?descargar=1", "/afiliate/tarjeta"):
        doc = c.get(path)
        assert doc.status == 404 and doc.header("Content-Type").startswith("text/html"), path
        assert b"%PDF" not in doc.body and nss not in doc.text, path


def open_link(server, path, base="/afiliate"):
    """Opens the link like a phone that never saw the trámite: no cookie, no redirect
    followed. The answer is a page that moves on by itself to a same-site URL."""
    phone = server.client(follow=False)
    r = phone.get(path)
    assert r.status == 200, r.status
    cookie = r.header("Set-Cookie")
    assert cookie and cookie.startswith("afiliate_tramite=")
    for attr in ("HttpOnly", "SameSite=Strict", f"Path={base}/"):
        assert attr in cookie, cookie
    m = re.search(r'<meta http-equiv="refresh" content="0; url=(' + re.escape(base) +
                  r'/[a-z]+)">', r.text)
    assert m, r.text
    assert f'href="{m.group(1)}"' in r.text  # the same without a meta refresh
    return phone, r, m.group(1)


# ---------------------------------------------------------------- the two flows


def test_found_nss_only_after_the_link_on_another_phone(server, sink, pool, early):
    curp = pool["found"].pop()
    to = address("confirma")
    (nss,), = server.query("SELECT nss FROM asegurado WHERE curp = ?", curp)
    c, r = submit(server, curp, to)
    assert "co***@ej***.mx" in r.text and to not in r.text
    assert f"vigencia de {VIGENCIA} minuto" in r.text
    no_nss_anywhere(server, c, nss, r)
    (msg,) = delivered(sink, to, 1)
    assert nss not in msg.data.decode("utf-8", "replace") and curp not in text_of(msg)
    assert server.query("SELECT count(*) FROM outbox WHERE recipient = ? AND kind = "
                        "'comprobante'", to) == [(0,)]
    path = path_of(link_of(msg), server)

    phone, r, nxt = open_link(server, path)
    assert nxt == "/afiliate/resultado"
    assert nss not in r.text
    page = phone.get(nxt)
    assert page.status == 200 and "Tu Número de Seguridad Social ha sido localizado" in page.text
    doc = phone.get("/afiliate/comprobante")
    assert doc.status == 200 and doc.body.startswith(b"%PDF")
    # Only now the comprobante goes out, to the confirmed address.
    got = delivered(sink, to, 2)
    assert got[1].parsed["Subject"] == SUBJECT_NSS
    assert [a.get_filename() for a in got[1].parsed.iter_attachments()] == \
        [f"comprobanteNSS{nss}.pdf", f"tarjetaNSS{nss}.pdf"]
    # The browser that sent the form reaches nothing any more; the link is spent.
    assert c.get("/afiliate/resultado").url.endswith("/afiliate/nss")
    server.expect_log(REFUSED_LINK)
    again = server.client().get(path)
    assert again.status == 410 and "Esta liga ya fue usada" in again.text
    assert 'href="/afiliate/nss"' in again.text
    assert again.header("Set-Cookie") is None


def test_new_curp_goes_on_to_the_address_after_the_link(server, sink, pool):
    curp = pool["new"].pop()
    to = address("nuevo")
    c, r = submit(server, curp, to)
    assert server.query("SELECT count(*) FROM asegurado WHERE curp = ?", curp) == [(0,)]
    (msg,) = delivered(sink, to, 1)
    assert c.get("/afiliate/domicilio").text.count("Revisa tu correo electrónico") >= 1
    # The same browser opens it: its cookie is replaced by the link's.
    r = c.get(path_of(link_of(msg), server))
    assert r.status == 200
    assert 'content="0; url=/afiliate/domicilio"' in r.text
    r = domicilio(c)
    nss = assigned_nss(r.text)
    assert r.status == 200 and nss, r.status
    assert server.query("SELECT nss FROM asegurado WHERE curp = ?", curp) == [(nss,)]
    got = delivered(sink, to, 2)
    assert got[1].parsed["Subject"] == SUBJECT_NSS


# ---------------------------------------------------------------- refusals


def test_forged_and_tampered_links_are_refused(server, sink, pool):
    curp = pool["found"].pop()
    to = address("forja")
    submit(server, curp, to)
    path = path_of(link_of(delivered(sink, to, 1)[0]), server)
    base, token = path.split("?t=")
    tramite, expiry, mac = token.split(".")
    flip = "0" if mac[-1] != "0" else "1"
    other = "f" if tramite[0] != "f" else "e"
    server.expect_log(REFUSED_LINK)
    for bad in (f"{tramite}.{expiry}.{mac[:-1]}{flip}",       # MAC changed
                f"{tramite}.{int(expiry) + 3600}.{mac}",       # later expiry, old MAC
                f"{other}{tramite[1:]}.{expiry}.{mac}",        # another trámite
                f"{tramite}.{expiry}",                         # cut short
                "basura", ""):
        r = server.client().get(f"{base}?t={urllib.parse.quote(bad)}")
        assert r.status == 400, (bad, r.status)
        assert "La liga de confirmación no es válida" in r.text
        assert r.header("Set-Cookie") is None
    assert server.query("SELECT count(*) FROM outbox WHERE recipient = ? AND kind = "
                        "'comprobante'", to) == [(0,)]
    # The genuine link still works.
    phone, _, nxt = open_link(server, path)
    assert "ha sido localizado" in phone.get(nxt).text


def test_resend_is_bounded_and_any_one_link_works_once(server, sink, pool):
    curp = pool["found"].pop()
    to = address("reenvia")
    c, r = submit(server, curp, to)
    csrf = field(r.text, "csrf")
    for n in range(1, 4):   # AfiliateResendLimit, default 3
        r = c.post("/afiliate/reenviar", {"csrf": csrf})
        assert r.status == 200 and r.url.endswith("/afiliate/confirmar?reenviado=1"), r.url
        assert "Te enviamos una nueva liga" in r.text
    server.expect_log(r"mod_afiliate: AFL\d{5}: resend limit reached")
    r = c.post("/afiliate/reenviar", {"csrf": csrf})
    assert r.status == 429 and "Ya no es posible reenviar la liga" in r.text
    got = delivered(sink, to, 4)
    paths = [path_of(link_of(m), server) for m in got]
    phone, _, nxt = open_link(server, paths[-1])
    assert phone.get(nxt).status == 200
    server.expect_log(REFUSED_LINK)
    for p in paths:
        r = server.client().get(p)
        assert r.status == 410 and "Esta liga ya fue usada" in r.text
    assert len(delivered(sink, to, 5)) == 5   # the comprobante, once


def test_link_names_the_location_the_form_was_sent_to(server, sink, pool):
    """The same module under another <Location>: the link, its cookie and the page it
    moves on to are under that path."""
    c = server.client()
    r = c.get(f"{OTHER}/nss")
    assert r.status == 200
    csrf, cid = field(r.text, "csrf"), field(r.text, "captcha_id")
    to = address("otra")
    r = c.post(f"{OTHER}/nss", {"curp": pool["found"].pop(), "correo": to,
                                "correo_confirmacion": to, "csrf": csrf, "captcha_id": cid,
                                "captcha": captcha_answer(server.secret, cid)})
    assert r.status == 200 and r.url.endswith(f"{OTHER}/confirmar"), (r.status, r.url)
    path = path_of(link_of(delivered(sink, to, 1)[0]), server, OTHER)
    phone, _, nxt = open_link(server, path, OTHER)
    assert nxt == f"{OTHER}/resultado"
    assert "ha sido localizado" in phone.get(nxt).text


# ---------------------------------------------------------------- a second server


def test_link_opened_on_a_second_server_once(server, sink, pool):
    """PostgreSQL: two servers with the same database and secret (the production
    shape); the link from one is honoured by the other, then refused by both."""
    if server.driver != "pgsql":
        pytest.skip("two servers share a database on PostgreSQL only")
    node2 = Apache(server.name + "-n2", mpm=server.mpm, db=server.db, driver="pgsql",
                   extra=conf_lines(sink))
    node2.setup(seed_count=None)    # migrate: up to date; then the first node's secret
    shutil.copy(server.secret_path, node2.secret_path)
    node2.write_conf()
    node2.start()
    try:
        curp = pool["found"].pop()
        to = address("nodo")
        (nss,), = server.query("SELECT nss FROM asegurado WHERE curp = ?", curp)
        submit(server, curp, to)
        path = path_of(link_of(delivered(sink, to, 1)[0]), server)
        phone, _, nxt = open_link(node2, path)
        assert "Tu Número de Seguridad Social ha sido localizado" in phone.get(nxt).text
        assert server.query("SELECT count(*) FROM auditoria WHERE evento = 'localizacion' "
                            "AND curp_hmac IS NOT NULL") != [(0,)]
        server.expect_log(REFUSED_LINK)
        for node in (server, node2):
            r = node.client().get(path)
            assert r.status == 410 and "Esta liga ya fue usada" in r.text
        got = delivered(sink, to, 2)
        assert got[1].parsed["Subject"] == SUBJECT_NSS
        bad = [ln for ln in node2.read_log().splitlines()
               if re.search(r":(error|crit|alert|emerg)\]", ln)]
        assert not bad, bad
    finally:
        node2.stop()


# ---------------------------------------------------------------- last: an expired link


@pytest.fixture(scope="module")
def early(srv, sink, pool):
    """A trámite started by the first test: its link has expired by the time the last
    test of the module (for this server) reads it."""
    to = address("vence")
    submit(srv, pool["found"].pop(), to)
    return to, time.time()


def test_expired_link_is_refused(server, sink, early):
    to, started = early
    (msg,) = delivered(sink, to, 1, settle=0)
    path = path_of(link_of(msg), server)
    time.sleep(max(0.0, started + VIGENCIA * 60 + 2 - time.time()))
    server.expect_log(REFUSED_LINK)
    r = server.client().get(path)
    assert r.status == 410, r.status
    assert "La liga de confirmación venció" in r.text and 'href="/afiliate/nss"' in r.text
    assert r.header("Set-Cookie") is None
    assert server.query("SELECT count(*) FROM outbox WHERE recipient = ?", to) == [(1,)]
