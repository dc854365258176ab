"""The "Afiliate" section of mod_status: /server-status?auto before and after a
known sequence of requests, on every server of the matrix (both MPMs, both
drivers); a graceful restart keeps the counters; no personal data reaches
either form of the report. The mail counters on a server of their own with a
real SMTP sink."""
import re
import time

import pytest

from flows import Form, domicilio
from harness import Apache
from smtp_sink import SmtpSink

CURP_RE = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
NSS_RE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def status(server):
    """The Afiliate figures of /server-status?auto as {key: int}."""
    r = server.client().get("/server-status?auto")
    assert r.status == 200, r.status
    out = {}
    for line in r.text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("Afiliate") and key != "AfiliateServer":
            out[key] = int(value)
    assert out, r.text
    return out


def delta(before, after):
    return {k: after[k] - before[k] for k in after if after[k] != before.get(k)}


def assert_private(text, *values):
    for v in values:
        assert v not in text
    assert not CURP_RE.search(text), CURP_RE.search(text)
    assert not EMAIL_RE.search(text), EMAIL_RE.search(text)
    assert not NSS_RE.search(text), NSS_RE.search(text)


def test_counters_move_by_what_was_done(server, curps):
    found, found2, new = curps["found"].pop(), curps["found"].pop(), curps["new"].pop()
    before = status(server)

    # Found: the form, the POST, the comprobante downloaded.
    c1 = server.client(follow=False)
    r = Form(server, c1).submit(found, correo="estado.localiza@ejemplo.mx")
    assert r.status == 303 and r.header("Location").endswith("/resultado")
    nss = server.query("SELECT nss FROM asegurado WHERE curp = ?", found)[0][0]
    assert c1.get("/afiliate/comprobante?descargar=1").status == 200
    # New: the form, the POST, the address page and its POST; the tarjeta.
    c2 = server.client(follow=False)
    r = Form(server, c2).submit(new, correo="estado.nuevo@ejemplo.mx")
    assert r.status == 303 and r.header("Location").endswith("/domicilio")
    r = domicilio(c2)
    assert r.status == 303 and r.header("Location").endswith("/resultado")
    new_nss = server.query("SELECT nss FROM asegurado WHERE curp = ?", new)[0][0]
    assert c2.get("/afiliate/tarjeta").status == 200
    # A wrong CAPTCHA, then a CURP that is not one.
    c3 = server.client(follow=False)
    assert Form(server, c3).submit(found2, captcha="XXXXXX").status == 400
    c4 = server.client(follow=False)
    assert Form(server, c4).submit("NOESUNACURP").status == 400
    # No route.
    assert server.client().get("/afiliate/no-existe").status == 404

    after = status(server)
    d = delta(before, after)
    db = {k: d.pop(k) for k in list(d) if k.startswith("AfiliateDb")}
    d.pop("AfiliateUptime", None)
    d.pop("AfiliateMailOldestPendingAge", None)
    assert d == {
        "AfiliateRequestsNssForm": 4,
        "AfiliateRequestsNssSubmit": 4,
        "AfiliateRequestsComprobante": 1,
        "AfiliateRequestsDomicilio": 1,
        "AfiliateRequestsDomicilioSubmit": 1,
        "AfiliateRequestsTarjeta": 1,
        "AfiliateRequestsOther": 1,
        "AfiliateLocated": 1,
        "AfiliateNewCurp": 1,
        "AfiliateAssigned": 1,
        "AfiliateRefusedCaptcha": 1,
        "AfiliateInvalidCurp": 1,
        "AfiliatePdfComprobante": 1,
        "AfiliatePdfTarjeta": 1,
        # No relay on these servers: both comprobantes wait in the outbox.
        "AfiliateMailPending": 2,
    }, d
    # Every database call is counted and timed; none failed.
    assert db.get("AfiliateDbCalls", 0) > 10
    assert db.get("AfiliateDbMicroseconds", 0) > 0
    assert "AfiliateDbErrors" not in db
    assert after["AfiliateMailOldestPendingAge"] >= 0

    # Nothing about the persons reaches either form of the report.
    for path in ("/server-status?auto", "/server-status", "/server-status?notable"):
        text = server.client().get(path).text
        assert_private(text, found, new, nss, new_nss, "estado.localiza", "estado.nuevo")
    html = server.client().get("/server-status").text
    assert "<h2>Afiliate</h2>" in html and "AfiliateAssigned" in html
    notable = server.client().get("/server-status?notable").text
    assert f"AfiliateAssigned: {after['AfiliateAssigned']}" in notable


def test_rate_limit_refusals_are_counted(server):
    before = status(server)
    c = server.client()
    page = c.get("/afiliate-limitado/nss")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)
    statuses = [c.post("/afiliate-limitado/nss", {"csrf": csrf, "curp": "X"}).status
                for _ in range(5)]
    server.expect_log("rate limit")
    assert 429 in statuses
    d = delta(before, status(server))
    assert d["AfiliateRequestsNssForm"] == 1
    assert d["AfiliateRequestsNssSubmit"] == 5
    assert d["AfiliateRefusedRateLimit"] == statuses.count(429)
    # The others were refused for their missing CAPTCHA.
    assert d.get("AfiliateRefusedCaptcha", 0) == statuses.count(400)


def wait_generation(server, old_pid_children, timeout=20):
    """Waits until the graceful restart has replaced the children."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            r = server.client().get("/server-status?auto")
            m = re.search(r"ServerUptimeSeconds: (\d+)", r.text)
            if r.status == 200 and m and "Afiliate" in r.text and \
                    children(server) != old_pid_children:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the graceful restart did not finish")


def children(server):
    import subprocess
    out = subprocess.run(["pgrep", "-P", str(server.pid())], capture_output=True, text=True)
    return set(out.stdout.split())


def test_graceful_restart_keeps_the_counters(server):
    c = server.client()
    assert c.get("/afiliate/").status == 200
    before = status(server)
    old = children(server)
    r = server.apachectl("-k", "graceful")
    assert r.returncode == 0, r.stderr
    wait_generation(server, old)
    after = status(server)
    for key, value in before.items():
        if key in ("AfiliateUptime", "AfiliateMailOldestPendingAge") or key.startswith("AfiliateDb"):
            assert after[key] >= value, key
        else:
            assert after[key] == value, key
    assert c.get("/afiliate/").status == 200
    assert status(server)["AfiliateRequestsInicio"] == before["AfiliateRequestsInicio"] + 1


# ---------------------------------------------------------------- the sender's counters


@pytest.fixture(scope="module")
def mail_server():
    sink = SmtpSink().start()
    srv = Apache("it-status-mail", mpm="event",
                 extra=[f"AfiliateSMTPURL {sink.url}", "AfiliateOutboxInterval 1",
                        "AfiliateOutboxBackoff 1 2",
                        'AfiliateMailFrom no-reply@imss.example.mx "IMSS Digital"'])
    srv.setup(seed_count=300)
    srv.start()
    yield srv, sink
    srv.stop()
    sink.stop()


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_mail_counters_follow_the_outbox(mail_server):
    from flows import sample
    srv, sink = mail_server
    sink.mode = "accept"
    before = status(srv)
    curp = sample(srv, "found", 1)[0]
    r = Form(srv, srv.client(follow=False)).submit(curp, correo="estado.correo@ejemplo.mx")
    assert r.status == 303
    after = wait_for(lambda: (lambda s: s if s["AfiliateMailSent"] > before["AfiliateMailSent"]
                              else None)(status(srv)))
    assert after["AfiliateMailSent"] - before["AfiliateMailSent"] == 1
    assert after["AfiliateMailRetrying"] == before["AfiliateMailRetrying"]
    assert after["AfiliateMailFailed"] == before["AfiliateMailFailed"]
    assert after["AfiliateMailPending"] == 0 and after["AfiliateMailOldestPendingAge"] == 0

    # The relay refuses: the message waits, counted as retrying, and ages.
    sink.mode = "tempfail"
    curp = sample(srv, "found", 2)[1]
    r = Form(srv, srv.client(follow=False)).submit(curp, correo="estado.correo2@ejemplo.mx")
    assert r.status == 303
    srv.expect_log(r"outbox \d+: delivery failed")
    later = wait_for(lambda: (lambda s: s if s["AfiliateMailRetrying"] > after["AfiliateMailRetrying"]
                              else None)(status(srv)))
    assert later["AfiliateMailPending"] == 1
    time.sleep(1.1)
    assert status(srv)["AfiliateMailOldestPendingAge"] >= 1
    assert_private(srv.client().get("/server-status").text + srv.client().get(
        "/server-status?auto").text, curp, "estado.correo")
    sink.mode = "accept"

    # A relay that refuses the mailbox for good: counted as failed at once.
    failed_before = status(srv)["AfiliateMailFailed"]
    curp = sample(srv, "found", 3)[2]
    r = Form(srv, srv.client(follow=False)).submit(curp, correo="permfail.estado@ejemplo.mx")
    assert r.status == 303
    srv.expect_log(r"outbox \d+: ")
    wait_for(lambda: status(srv)["AfiliateMailFailed"] == failed_before + 1)
    srv.expect_log(r"outbox \d+: ")
    bad = srv.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)


def test_every_child_adds_to_the_same_counters(server):
    """Concurrent requests land on several children (prefork: processes); the
    report, served by any of them, shows them all."""
    from concurrent.futures import ThreadPoolExecutor
    before = status(server)
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: server.client().get("/afiliate/").status, range(64)))
    assert codes == [200] * 64
    for _ in range(5):  # each read may come from another child
        assert status(server)["AfiliateRequestsInicio"] == before["AfiliateRequestsInicio"] + 64


# ---------------------------------------------------------------- afiliatectl stats


def ctl_stats(server, *args):
    import subprocess
    from harness import CTL
    r = subprocess.run([str(CTL), "stats", "--driver", server.driver, "--db", server.db, *args],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def today_row(server):
    import json
    today = time.strftime("%Y-%m-%d", time.gmtime())
    days = json.loads(ctl_stats(server, "--format", "json", "--since", today))["days"]
    assert all(d["day"] == today for d in days)
    return days[0] if days else {}


def test_afiliatectl_stats_counts_the_day(server, curps):
    found, new = curps["found"].pop(), curps["new"].pop()
    before = today_row(server)
    c1 = server.client(follow=False)
    assert Form(server, c1).submit(found, correo="reporte.localiza@ejemplo.mx").status == 303
    assert c1.get("/afiliate/comprobante").status == 200
    c2 = server.client(follow=False)
    assert Form(server, c2).submit(new, correo="reporte.nuevo@ejemplo.mx").status == 303
    assert domicilio(c2).status == 303
    after = today_row(server)
    moved = {k: after[k] - before.get(k, 0) for k in after if k != "day"}
    assert moved == {"assigned": 1, "located": 1, "comprobantes": 1, "tarjetas": 0,
                     "constancias": 0, "mail_sent": 0, "mail_pending": 2, "mail_failed": 0}, moved

    nss = [n for (n,) in server.query("SELECT nss FROM asegurado WHERE curp IN (?, ?)", found, new)]
    for fmt in ("text", "csv", "json"):
        out = ctl_stats(server, "--format", fmt)
        assert_private(out, found, new, *nss, "reporte.")
    csv = ctl_stats(server, "--format", "csv").splitlines()
    assert csv[0] == ("day,assigned,located,comprobantes,tarjetas,constancias,mail_sent,"
                      "mail_pending,mail_failed")
    text = ctl_stats(server).splitlines()
    assert text[0].split()[0] == "day" and text[-1].split()[0] == "total"
    # A day after today: nothing yet.
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * 86400))
    assert ctl_stats(server, "--since", tomorrow, "--format", "csv").splitlines()[1:] == []


def test_afiliatectl_stats_usage(server):
    import subprocess
    from harness import CTL
    for args in (["--since", "2026-02-30"], ["--format", "xml"], ["--driver", "mysql"], []):
        r = subprocess.run([str(CTL), "stats", *(["--db", server.db] if args else []), *args],
                           capture_output=True, text=True)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "usage: afiliatectl stats" in r.stderr
