"""E-mail: every located or assigned NSS reaches the student's inbox
through the outbox, none is lost while the relay is down, Reenviar is
limited. A real apache2 + mod_dbd + SQLite, and a real SMTP server on loopback
(tests/smtp_sink.py, Debian's python3-aiosmtpd)."""
import os
import re
import subprocess
import threading
import time

import pytest

from captcha_answer import captcha_answer
from flows import Form, assigned_nss, domicilio, field, sample
from harness import CTL, Apache
from mail_fixtures import SENDER, address, delivered, mail_lines, watched

SUBJECT = "Comprobante de tu Número de Seguridad Social (NSS)"
SUBJECT_CONSTANCIA = "IMSS DIGITAL REPORTE DE VIGENCIA DE DERECHOS"
FAILED_LINE = r"mod_afiliate: AFL\d{5}: outbox \d+: delivery failed \(attempt \d+ of \d+\)"

CURP_RE = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
NSS_RE = re.compile(r"(?<!\d)\d{11}(?!\d)")


DRIVERS = os.environ.get("AFILIATE_MAIL_DRIVERS", "sqlite3,pgsql").split(",")


@pytest.fixture(scope="module", params=DRIVERS)
def mail_apache(request, sink):
    """One server per database driver: the outbox SQL runs on both."""
    pg = None
    db = None
    if request.param == "pgsql":
        from pg import Postgres
        pg = Postgres("pg-mail")
        pg.start()
        db = pg.conninfo
    srv = Apache(f"it-mail-{request.param}", mpm="event", db=db, driver=request.param,
                 extra=mail_lines(sink))
    try:
        srv.setup(seed_count=3000)
        srv.start()
        yield srv
    finally:
        srv.stop()
        if pg:
            pg.stop()


@pytest.fixture
def mail(mail_apache, sink):
    """The mail server; fails the test on an unexpected [warn]/[error] line."""
    with watched(mail_apache, sink) as s:
        yield s


@pytest.fixture(scope="module")
def pool(mail_apache):
    return {kind: sample(mail_apache, kind, n) for kind, n in (("new", 200), ("found", 60))}


def rows(server, sql, *args):
    """Rows of a query ('?' placeholders) on the server's SQLite or PostgreSQL database."""
    return server.query(sql, *args)


def found_flow(server, curp, correo):
    c = server.client()
    r = Form(server, c).submit(curp, correo=correo)
    assert r.status == 200 and r.url.endswith("/afiliate/resultado"), r.status
    return c, r


def assign_flow(server, curp, correo):
    c = server.client()
    r = Form(server, c).submit(curp, correo=correo)
    assert r.url.endswith("/afiliate/domicilio"), r.url
    r = domicilio(c)
    assert r.status == 200 and assigned_nss(r.text), r.status
    return c, r


def pdf_text(data, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(data)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")


def check_message(msg, to, nss, curp, tmp_path, opening, pub=None):
    p = msg.parsed
    assert msg.rcpt_tos == [to]
    assert msg.mail_from == SENDER
    assert p["To"] == to
    assert p["Subject"] == SUBJECT
    assert p["From"].addresses[0].addr_spec == SENDER
    assert p["From"].addresses[0].display_name == "IMSS Digital"
    assert p["Date"].datetime is not None
    assert re.fullmatch(r"<outbox-\d+\.[0-9a-f]{32}@imss\.example\.mx>", p["Message-ID"])
    assert p.get_content_type() == "multipart/mixed"
    # Nothing personal in the headers a notification preview shows.
    assert curp not in str(p["Subject"]) and nss not in str(p["Subject"])
    text = p.get_body(preferencelist=("plain",)).get_content()
    html = p.get_body(preferencelist=("html",)).get_content()
    assert opening in text and "Adjuntamos el comprobante" in text
    assert "<html" in html and "Adjuntamos el comprobante" in html
    atts = list(p.iter_attachments())
    assert len(atts) == 2
    att, card = atts
    assert att.get_content_type() == "application/pdf"
    assert card.get_content_type() == "application/pdf"
    assert card.get_filename() == f"tarjetaNSS{nss}.pdf"
    card_body = card.get_content()
    assert card_body.startswith(b"%PDF-")
    card_txt = pdf_text(card_body, tmp_path, f"mail-tarjeta-{nss}.pdf")
    assert nss in card_txt and "Tarjeta" in card_txt
    assert att.get_filename() == f"comprobanteNSS{nss}.pdf"
    body = att.get_content()
    assert body.startswith(b"%PDF-")
    txt = pdf_text(body, tmp_path, f"mail-{nss}.pdf")
    assert nss in txt and curp in txt
    if pub:  # the attached comprobante is sealed like the download and verifies offline
        r = subprocess.run([str(CTL), "verify", str(tmp_path / f"mail-{nss}.pdf"), "--pub",
                            str(pub)], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.split()[0] == "valid", r.stdout + r.stderr
        r = subprocess.run([str(CTL), "verify", str(tmp_path / f"mail-tarjeta-{nss}.pdf"),
                            "--pub", str(pub)], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.split()[0] == "valid", r.stdout + r.stderr
    return txt


def folio(text):
    m = re.search(r"\b(\d{21})\b", text)
    return m.group(1) if m else None


# ---------------------------------------------------------------- the two flows


def test_found_flow_delivers_one_message(mail, sink, pool, tmp_path):
    curp = pool["found"].pop()
    to = address("localiza")
    c, _ = found_flow(mail, curp, to)
    (msg,) = delivered(sink, to)
    (nss,), = rows(mail, "SELECT nss FROM asegurado WHERE curp = ?", curp)
    txt = check_message(msg, to, nss, curp, tmp_path, "Se localizó tu Número de Seguridad",
                        pub=mail.public_key_path)
    assert "Localización" in txt
    (mid, reason, status, attempts), = rows(
        mail, "SELECT o.message_id, o.reason, o.status, o.attempts FROM outbox o "
              "JOIN asegurado a ON a.id = o.asegurado_id WHERE o.recipient = ?", to)
    assert (mid, reason, status, attempts) == (msg.message_id, "localizacion", "sent", 1)
    # The attachment and the download are both issued, sealed documents of the same
    # data; each is recorded under its own folio.
    download = pdf_text(c.get("/afiliate/comprobante").body, tmp_path, "download.pdf")
    assert folio(txt) and folio(download)
    for f in (folio(txt), folio(download)):
        assert rows(mail, "SELECT count(*) FROM documento WHERE folio = ?", f) == [(1,)]
    assert nss in download and curp in download


def test_assigned_flow_delivers_one_message(mail, sink, pool, tmp_path):
    curp = pool["new"].pop()
    to = address("asigna")
    c, r = assign_flow(mail, curp, to)
    nss = assigned_nss(r.text)
    (msg,) = delivered(sink, to)
    txt = check_message(msg, to, nss, curp, tmp_path, "Se te asignó un Número de Seguridad",
                        pub=mail.public_key_path)
    assert "Asignación" in txt
    assert rows(mail, "SELECT reason, status FROM outbox WHERE recipient = ?", to) == \
        [("asignacion", "sent")]
    # A refresh of the result page and a double submit queue nothing more.
    c.get("/afiliate/resultado")
    domicilio(c)
    delivered(sink, to, n=1, settle=1.5)


# ---------------------------------------------------------------- relay outages


def test_relay_down_nothing_lost(mail, sink, pool):
    """Refused connections, then connections dropped after the data: every
    message arrives once the relay is back, with its Message-ID unchanged."""
    mail.expect_log(FAILED_LINE)
    sink.stop()
    sent = []
    for i in range(3):
        to = address(f"caido{i}")
        found_flow(mail, pool["found"].pop(), to)
        sent.append(to)
    for i in range(2):
        to = address(f"caidonuevo{i}")
        assign_flow(mail, pool["new"].pop(), to)
        sent.append(to)
    # The form pages keep answering at once while the relay is down.
    t0 = time.perf_counter()
    assert mail.client().get("/afiliate/nss").status == 200
    assert time.perf_counter() - t0 < 1.0
    deadline = time.time() + 20
    while time.time() < deadline:
        tried = rows(mail, "SELECT count(*) FROM outbox WHERE attempts > 0 AND status = "
                           "'pending' AND recipient LIKE ?", "caido%")[0][0]
        if tried >= 1:
            break
        time.sleep(0.2)
    assert tried >= 1, "the sender never tried while the relay was down"
    assert rows(mail, "SELECT count(*) FROM outbox WHERE status = 'sent' AND "
                      "recipient LIKE ?", "caido%")[0][0] == 0

    # Back, but dropping every connection after the final "." without a reply.
    def ours():
        return [m for m in list(sink.dropped) if m.rcpt_tos[0] in sent]

    sink.mode = "drop"
    sink.start()
    deadline = time.time() + 20
    while time.time() < deadline and not ours():
        time.sleep(0.1)
    assert ours(), "no delivery was attempted against the dropping relay"
    dropped_ids = {m.message_id: m.rcpt_tos[0] for m in ours()}
    assert rows(mail, "SELECT count(*) FROM outbox WHERE status = 'sent' AND "
                      "recipient LIKE ?", "caido%")[0][0] == 0

    # Healthy again: everything arrives, exactly once per trámite.
    sink.mode = "accept"
    for to in sent:
        (msg,) = delivered(sink, to, timeout=40, settle=0)
    time.sleep(1.5)
    by_id = {}
    for to in sent:
        got = sink.to(to)
        assert len(got) == 1, to
        by_id[got[0].message_id] = to
    for mid, to in dropped_ids.items():
        assert by_id.get(mid) == to, "a retry changed the Message-ID"
    assert rows(mail, "SELECT count(*) FROM outbox WHERE status = 'sent' AND "
                      "recipient LIKE ?", "caido%")[0][0] == 5
    assert rows(mail, "SELECT min(attempts) FROM outbox WHERE recipient LIKE ?",
                "caido%")[0][0] >= 1
    # The warnings name outbox ids, never an address.
    log = mail.read_log()
    assert re.search(FAILED_LINE, log)
    assert not EMAIL_RE.search(log)


def test_permanent_refusal_marks_failed(mail, sink, pool):
    mail.expect_log(r"mod_afiliate: AFL\d{5}: outbox \d+: marked failed after attempt 1 "
                    r"\(refused permanently\)")
    to = address("permfail")
    found_flow(mail, pool["found"].pop(), to)
    deadline = time.time() + 20
    status = None
    while time.time() < deadline:
        (status, err), = rows(mail, "SELECT status, last_error FROM outbox WHERE recipient = ?",
                              to)
        if status == "failed":
            break
        time.sleep(0.2)
    assert status == "failed" and "550" in err
    assert to not in err
    assert not sink.to(to)
    out = subprocess.run([str(CTL), "outbox", "status", "--driver", mail.driver, "--db", mail.db],
                         capture_output=True, text=True, check=True).stdout
    assert re.search(r"^failed [1-9]\d*$", out, re.M), out


# ---------------------------------------------------------------- Reenviar


def resend(client):
    page = client.get("/afiliate/resultado")
    return client.post("/afiliate/reenviar", {"csrf": field(page.text, "csrf")})


def test_reenviar_three_times_then_429(mail, sink, pool):
    mail.expect_log("resend limit reached")
    to = address("reenvia")
    c, r = found_flow(mail, pool["found"].pop(), to)
    assert "Reenviar" in r.text
    for _ in range(3):
        r = resend(c)
        assert r.status == 200 and r.url.endswith("/afiliate/resultado?reenviado=1")
        assert "El comprobante ha sido reenviado" in r.text
    r = resend(c)
    assert r.status == 429
    assert "Ya no es posible reenviar el comprobante" in r.text
    got = delivered(sink, to, n=4)
    assert len({m.message_id for m in got}) == 4
    assert sorted(reason for (reason,) in rows(
        mail, "SELECT reason FROM outbox WHERE recipient = ?", to)) == \
        ["localizacion", "reenvio", "reenvio", "reenvio"]
    # The plain result page has no notice.
    assert "ha sido reenviado" not in c.get("/afiliate/resultado").text


def test_reenviar_needs_its_session_and_csrf(mail, pool):
    c, _ = found_flow(mail, pool["found"].pop(), address("csrf"))
    assert c.post("/afiliate/reenviar", {"csrf": "0" * 64}).status == 403
    assert c.post("/afiliate/reenviar", {}).status == 403
    assert mail.client().post("/afiliate/reenviar", {"csrf": "x"}).status == 403
    r = c.get("/afiliate/reenviar")
    assert r.status == 405 and r.header("Allow") == "POST"


# ---------------------------------------------------------------- Paso 2: the constancia


def paso2_flow(server, curp, correo):
    """Paso 2 with an insured CURP and its NSS; returns (client, result page, nss)."""
    (nss,), = rows(server, "SELECT nss FROM asegurado WHERE curp = ?", curp)
    c = server.client()
    page = c.get("/afiliate/vigencia")
    captcha_id = field(page.text, "captcha_id")
    r = c.post("/afiliate/vigencia", {
        "curp": curp, "nss": nss, "correo": correo, "correo_confirmacion": correo,
        "captcha": captcha_answer(server.secret, captcha_id), "captcha_id": captcha_id,
        "csrf": field(page.text, "csrf")})
    assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado"), r.status
    return c, r, nss


def resend_constancia(client):
    page = client.get("/afiliate/vigencia/resultado")
    return client.post("/afiliate/reenviar", {"csrf": field(page.text, "csrf")})


def test_constancia_mail_arrives_with_its_pdf(mail, sink, pool, tmp_path):
    curp = pool["found"].pop()
    to = address("vigencia")
    c, r, nss = paso2_flow(mail, curp, to)
    assert "Reenviar" in r.text
    (msg,) = delivered(sink, to)
    p = msg.parsed
    assert msg.rcpt_tos == [to] and msg.mail_from == SENDER
    assert p["Subject"] == SUBJECT_CONSTANCIA
    assert re.fullmatch(r"<outbox-\d+\.[0-9a-f]{32}@imss\.example\.mx>", p["Message-ID"])
    text = p.get_body(preferencelist=("plain",)).get_content()
    assert "constancia de vigencia de derechos" in text and "Adjuntamos la constancia" in text
    (att,) = list(p.iter_attachments())
    assert att.get_content_type() == "application/pdf"
    assert att.get_filename() == f"comprobanteVigenciaDerechos{nss}.pdf"
    body = att.get_content()
    assert body.startswith(b"%PDF-") and len(body) <= 40960
    txt = pdf_text(body, tmp_path, f"constancia-{nss}.pdf")
    assert nss in txt and "Vigencia" in txt and curp in txt
    r = subprocess.run([str(CTL), "verify", str(tmp_path / f"constancia-{nss}.pdf"), "--pub",
                        str(mail.public_key_path)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split()[0] == "valid", r.stdout + r.stderr
    assert rows(mail, "SELECT kind, reason, status FROM outbox WHERE recipient = ?", to) == \
        [("constancia", "vigencia", "sent")]
    # A refresh of the result page queues nothing more.
    c.get("/afiliate/vigencia/resultado")
    delivered(sink, to, n=1, settle=1.5)


def test_reenviar_constancia_three_times_then_429(mail, sink, pool):
    mail.expect_log("resend limit reached")
    to = address("revigencia")
    c, _, nss = paso2_flow(mail, pool["found"].pop(), to)
    for _ in range(3):
        r = resend_constancia(c)
        assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado?reenviado=1")
        assert "La constancia ha sido reenviada" in r.text
    r = resend_constancia(c)
    assert r.status == 429
    assert "Ya no es posible reenviar la constancia" in r.text
    got = delivered(sink, to, n=4)
    assert len({m.message_id for m in got}) == 4
    assert all(m.parsed["Subject"] == SUBJECT_CONSTANCIA for m in got)
    assert all([a.get_filename() for a in m.parsed.iter_attachments()] ==
               [f"comprobanteVigenciaDerechos{nss}.pdf"] for m in got)
    assert sorted(rows(mail, "SELECT kind, reason FROM outbox WHERE recipient = ?", to)) == \
        [("constancia", "reenvio")] * 3 + [("constancia", "vigencia")]
    assert "ha sido reenviada" not in c.get("/afiliate/vigencia/resultado").text


@pytest.fixture(scope="module")
def limits_server():
    """No relay configured (messages wait in the outbox), low daily limits."""
    srv = Apache("it-mail-limits", mpm="prefork",
                 extra=["AfiliateResendDailyPerCurp 4", "AfiliateResendDailyPerAddress 6",
                        f"AfiliateMailFrom {SENDER}"])
    srv.setup(seed_count=2000)
    srv.start()
    yield srv
    srv.stop()


def test_daily_limits_hold(limits_server):
    srv = limits_server
    srv.expect_log("resend limit reached")
    curps = sample(srv, "found", 3)
    # Per CURP: 3 in one trámite, 1 more in a second, then refused.
    c1, _ = found_flow(srv, curps[0], address("dia"))
    assert [resend(c1).status for _ in range(3)] == [200, 200, 200]
    c2, _ = found_flow(srv, curps[0], address("dia"))
    assert resend(c2).status == 200
    r = resend(c2)
    assert r.status == 429 and "Ya no es posible reenviar" in r.text
    # Per client address: 6 a day from 127.0.0.1, whatever the CURP (4 used).
    c3, _ = found_flow(srv, curps[1], address("dia"))
    assert [resend(c3).status for _ in range(3)] == [200, 200, 429]
    c4, _ = found_flow(srv, curps[2], address("dia"))
    assert resend(c4).status == 429
    # The limit keys are pseudonyms, never a CURP or an address.
    keys = [k for (k,) in rows(srv, "SELECT clave FROM limite WHERE clave LIKE ?", "reenvio%")]
    assert keys and all(re.fullmatch(r"reenvio-(curp|ip):[0-9a-f]{32}", k) for k in keys)
    assert rows(srv, "SELECT count(*) FROM outbox WHERE reason = 'reenvio'")[0][0] == 6
    bad = srv.unexpected_log_lines()
    assert not bad, bad


def test_without_relay_messages_wait_then_cli_sends(limits_server, sink, tmp_path):
    srv = limits_server
    log = srv.read_log()
    assert ("mail delivery disabled: AfiliateSMTPURL not set; messages wait in "
            "the outbox") in log
    assert log.count("mail delivery disabled") == 1
    status = subprocess.run([str(CTL), "outbox", "status", "--db", srv.db], capture_output=True,
                            text=True, check=True).stdout
    counts = dict(line.split() for line in status.splitlines())
    assert set(counts) == {"pending", "sending", "sent", "failed"}
    pending = int(counts["pending"])
    assert pending >= 4 and counts["sent"] == "0"
    sink.mode = "accept"
    sink.start()
    before = len(sink.messages)
    out = subprocess.run([str(CTL), "outbox", "--once", "--db", srv.db, "--smtp", sink.url,
                          "--from", SENDER], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"sent {pending}" in out.stdout
    assert len(sink.messages) - before == pending
    status = subprocess.run([str(CTL), "outbox", "status", "--db", srv.db], capture_output=True,
                            text=True, check=True).stdout
    assert "pending 0" in status and f"sent {pending}" in status
    # A second pass finds nothing to do.
    out = subprocess.run([str(CTL), "outbox", "--once", "--db", srv.db, "--smtp", sink.url],
                         capture_output=True, text=True, check=True)
    assert "claimed 0" in out.stdout


def test_cli_requeue_and_usage(limits_server):
    srv = limits_server
    r = subprocess.run([str(CTL), "outbox", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: afiliatectl outbox")
    for args in (["status"], ["--once", "--db", srv.db], ["--once", "--db", srv.db, "--smtp",
                                                          "http://x"],
                 ["requeue", "--db", srv.db], ["bogus", "--db", srv.db]):
        assert subprocess.run([str(CTL), "outbox", *args], capture_output=True).returncode == 2
    out = subprocess.run([str(CTL), "outbox", "requeue", "--failed", "--db", srv.db],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("requeued ")


# ---------------------------------------------------------------- concurrency


def test_concurrent_assignments_one_message_each(mail, sink, pool):
    """30 concurrent new trámites: 30 NSS, 30 outbox rows, 30 messages."""
    chosen = [pool["new"].pop() for _ in range(30)]
    tos = {curp: address("conc") for curp in chosen}
    errors = []
    barrier = threading.Barrier(30)

    def go(curp):
        try:
            c = mail.client()
            f = Form(mail, c)
            barrier.wait(timeout=60)
            r = f.submit(curp, correo=tos[curp])
            r = domicilio(c)
            assert r.status == 200 and assigned_nss(r.text)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=go, args=(curp,)) for curp in chosen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    marks = ",".join("?" * 30)
    # One to one: each assignment has exactly one outbox row, and no row is orphaned.
    assert rows(mail, f"SELECT count(*) FROM asegurado WHERE curp IN ({marks})", *chosen) == \
        [(30,)]
    per = rows(mail, f"SELECT a.id, count(o.id) FROM asegurado a LEFT JOIN outbox o ON "
                     f"o.asegurado_id = a.id AND o.reason = 'asignacion' "
                     f"WHERE a.curp IN ({marks}) GROUP BY a.id", *chosen)
    assert len(per) == 30 and all(n == 1 for _, n in per)
    assert rows(mail, "SELECT count(*) FROM outbox o LEFT JOIN asegurado a ON "
                      "a.id = o.asegurado_id WHERE a.id IS NULL") == [(0,)]
    assert rows(mail, "SELECT count(*) FROM asegurado a WHERE a.origen = 'asignado' AND "
                      "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.asegurado_id = a.id "
                      "AND o.reason = 'asignacion')") == [(0,)]
    for to in tos.values():
        delivered(sink, to, timeout=60, settle=0)
    time.sleep(1.5)
    assert all(len(sink.to(to)) == 1 for to in tos.values())


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("line,message", [
    ("AfiliateSMTPURL http://relay.example.mx", "AfiliateSMTPURL must be an smtp:// or smtps://"),
    ("AfiliateSMTPURL smtp://usuario:clave@relay", "AfiliateSMTPCredentials"),
    ("AfiliateOutboxInterval 0", "AfiliateOutboxInterval must be a whole number between 1"),
    ("AfiliateOutboxMaxAttempts muchos", "AfiliateOutboxMaxAttempts must be a whole number"),
    ("AfiliateOutboxBackoff 60 10", "the maximum must not be below the minimum"),
    ("AfiliateMailFrom 'no es correo'", "AfiliateMailFrom needs a bare e-mail address"),
    ("AfiliateResendLimit -1", "AfiliateResendLimit must be a whole number between 0 and 100"),
    ("AfiliateResendDailyPerCurp 0", "AfiliateResendDailyPerCurp must be a whole number"),
    ("AfiliateResendDailyPerAddress x", "AfiliateResendDailyPerAddress must be a whole number"),
    ("AfiliateSMTPRequireTLS quizas", "AfiliateSMTPRequireTLS"),
])
def test_bad_mail_directives_refused(line, message):
    srv = Apache("it-mail-badconf", extra=[line])
    srv.setup(seed_count=None)
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert message in r.stderr + r.stdout


def test_unreadable_credentials_stop_the_start(tmp_path):
    srv = Apache("it-mail-nocred", extra=["AfiliateSMTPURL smtp://127.0.0.1:1",
                                          f"AfiliateSMTPCredentials {tmp_path}/no-such-file"])
    srv.setup(seed_count=None)
    with pytest.raises(RuntimeError):
        srv.start()
        srv.stop()
    assert "AfiliateSMTPCredentials: cannot open" in srv.read_log()


# ---------------------------------------------------------------- privacy (last)


def luhn_ok(nss):
    total = 0
    for i, ch in enumerate(nss[:10]):
        v = int(ch) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return (10 - total % 10) % 10 == int(nss[10])


def test_zz_no_personal_data_in_logs(mail_apache, limits_server):
    for srv in (mail_apache, limits_server):
        text = srv.read_log()
        assert "outbox" in text or srv is limits_server
        assert not CURP_RE.search(text)
        assert not EMAIL_RE.search(text)
        assert not [n for n in NSS_RE.findall(text) if luhn_ok(n)]
