"""A child killed by abort() at each commit point; the student retries.

Under both MPMs (event: threads of one child share its connections, group
committer and outbox sender; prefork: one request per child) and both drivers.

Runs only against the module built with the test-only crash points
(`make test-crash`: build/crash/mod_afiliate.so, AFILIATE_CRASH_POINTS=1), where
`AfiliateTestCrashAt NAME` aborts the child at the point of that name
(mod_afiliate/afl_crash.h). For each point a server starts with the directive,
students walk the flow that reaches it and their child dies under them (the
client sees the connection drop, or a 5xx); the server is then stopped and
started again without the directive, and each student retries. In the end:
every CURP has exactly one NSS, the folio and document counters have no gap,
no half-written trámite, documento or outbox row is visible, PRAGMA
integrity_check is ok, and every student's comprobante reached the SMTP sink
at least once and at most twice (docs/mail.md says which points send twice).

The outbox points: a sender that dies holding a claim leaves the row 'sending'
until its lease ends (the SMTP timeout plus a minute); the test moves that
lease into the past instead of waiting for it, which is what the passing time
would do.
"""
import http.client
import os
import pwd
import re
import resource
import time
import urllib.error

import pytest

from flows import Form, assigned_nss, consistent, domicilio, end_claims, sample
from harness import TOP, Apache
from mail_fixtures import mail_lines

pytestmark = pytest.mark.skipif(
    os.environ.get("AFILIATE_CRASH_POINTS") != "1",
    reason="needs the module with the test-only crash points (make test-crash)")

# Point -> the flow that reaches it.
POINTS = {
    "nss-counter": "assign",
    "asegurado-insert": "assign",
    "assign-before-commit": "assign",
    "assign-after-commit": "assign",
    "documento-row": "download",
    "outbox-claim": "outbox",
    "smtp-data": "outbox",
}
# Students whose request (or message) dies at each point.
PER_POINT = 2
# What a crashing child leaves in the error_log: the point's own line and the
# parent's notice of the child's death. Allowed only while the directive is set.
CRASH_LOG = [r"mod_afiliate: AFL\d{5}: test crash point [a-z-]+ reached: abort\(\)",
             r"AH00052: child pid \d+ exit signal Aborted"]

RESULTS = {}     # (MPM, driver, point) -> row of the closing table


@pytest.fixture(scope="module", params=["event-sqlite3", "event-pgsql", "prefork-sqlite3",
                                        "prefork-pgsql"])
def srv(request):
    """A server and an SMTP sink of its own per MPM and driver (all draw the same CURPs)."""
    from smtp_sink import SmtpSink
    mpm, driver = request.param.split("-")
    sink = SmtpSink().start()
    name = f"it-crash-{mpm}-{driver}"
    db = None
    if driver == "pgsql":
        db = request.getfixturevalue("pg_cluster").create_db(name.replace("-", "_"))
    s = Apache(name, mpm=mpm, db=db, driver=driver)
    s.mail = mail_lines(sink, "no-reply@afiliate.example.mx")
    s.setup(seed_count=300)
    s.curps = sample(s, "new", 60)
    s.sink = sink
    yield s
    s.stop()
    sink.stop()


def configure(srv, point=None, mail=True):
    """Stops the server, rewrites its configuration and starts it again.

    A server without a crash point has no child that dies on purpose: if one dies
    anyway, its core is kept in <root>/cores (CoreDumpDirectory makes the children
    dumpable again after they change user, and the server starts with no limit on a
    core's size). Once, a child of such a server was reported dead of SIGSEGV at the
    stop that followed its start by 50 ms, and no core was left to tell why. A server
    with a crash point starts with cores off: its children abort by design."""
    srv.stop()
    cores = srv.root / "cores"
    if point is None:
        cores.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("www-data")
            os.chown(cores, pw.pw_uid, pw.pw_gid)
    srv.extra = (srv.mail if mail else []) + \
        ([f"AfiliateTestCrashAt {point}"] if point else [f"CoreDumpDirectory {cores}"])
    srv.write_conf()
    limit = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (limit[1] if point is None else 0, limit[1]))
    try:
        srv.start()     # apache2 and its children inherit the limit
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, limit)


def address(curp):
    return f"{curp.lower()}@escuela.edu.mx"


def guarded(fn):
    """fn()'s Response, or None when the connection dropped (the child died)."""
    try:
        return fn()
    except (ConnectionError, http.client.HTTPException, urllib.error.URLError, TimeoutError):
        return None


def paso1(srv, curp, client=None):
    """Paso 1 for curp from a new form: (client, last response or None, NSS or None)."""
    c = client or srv.client()
    r = guarded(lambda: Form(srv, c).submit(curp, correo=address(curp)))
    if r is not None and r.status == 200 and r.url.endswith("/domicilio"):
        r = guarded(lambda: domicilio(c))
    nss = assigned_nss(r.text) if r is not None and r.status == 200 else None
    return c, r, nss


def died(r):
    """The student saw the injected crash: no answer, or a 5xx from the dying child."""
    return r is None or r.status >= 500


def wait_crashes(srv, point, count, timeout=30):
    pattern = re.compile(rf"test crash point {re.escape(point)} reached")
    deadline = time.time() + timeout
    while len(pattern.findall(srv.read_log())) < count:
        assert time.time() < deadline, f"{point}: {count} crashes expected\n" + srv.read_log()
        time.sleep(0.1)


def crash_count(srv, point):
    return len(re.findall(rf"test crash point {re.escape(point)} reached", srv.read_log()))


def q1(srv, sql, *args):
    return srv.query(sql, *args)[0][0]


@pytest.mark.parametrize("point", list(POINTS))
def test_crash_point(srv, point):
    flow = POINTS[point]
    sink = srv.sink
    curps = [srv.curps.pop() for _ in range(PER_POINT)]
    srv.new_log_lines()
    before = crash_count(srv, point)
    row = {"mpm": srv.mpm, "driver": srv.driver, "flow": flow, "crashed": 0, "retried": 0}
    # Mail only where the point is on the sender's path: elsewhere the sender
    # would render (and store) the comprobante before the student downloads it.
    # The outbox points' students finish Paso 1 first, on a server that neither
    # sends nor crashes: a sender dying in the child that serves them would
    # take their requests with it.
    if flow == "outbox":
        configure(srv, None, mail=False)
        for curp in curps:
            _, r, nss = paso1(srv, curp)
            assert r is not None and r.status == 200 and nss, (point, r and r.status)
    configure(srv, point, mail=flow == "outbox")
    clients = {}
    if flow == "assign":
        for curp in curps:
            c, r, nss = paso1(srv, curp)
            assert died(r) and nss is None, (point, r and r.status)
            clients[curp] = c
            row["crashed"] += 1
    elif flow == "download":
        for curp in curps:
            c, r, nss = paso1(srv, curp)
            assert r is not None and r.status == 200 and nss, (point, r and r.status)
            clients[curp] = c
            pdf = guarded(lambda: c.get("/afiliate/comprobante?descargar=1"))
            assert died(pdf), (point, pdf.status)
            row["crashed"] += 1
    else:
        # The sender claims one row, dies; the next child's sender claims the other.
        wait_crashes(srv, point, before + PER_POINT)
        row["crashed"] = PER_POINT
        row["retried"] = PER_POINT      # by the sender, once the claims' leases end
    wait_crashes(srv, point, before + row["crashed"])
    time.sleep(0.5)     # the parent's notice of the last death
    srv.stop()
    for pattern in CRASH_LOG:
        srv.expect_log(pattern)
    bad = srv.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)

    # What the dead child left: an assignment is whole or absent, never half there.
    for curp in curps:
        kept = q1(srv, "SELECT count(*) FROM asegurado WHERE curp = ?", curp)
        if flow == "assign":
            assert kept == (1 if point == "assign-after-commit" else 0), (point, curp, kept)
        else:
            assert kept == 1, (point, curp)
        if flow == "download":       # committed before the crash, the PDF never sent
            assert q1(srv, "SELECT count(*) FROM documento WHERE curp = ?", curp) == 1
    if flow == "outbox":
        held = end_claims(srv)
        assert held == PER_POINT, point          # each claim was committed before the crash
    configure(srv)      # no crash point, the outbox sender on

    for curp in curps:
        if flow == "assign":
            # The student sends the address form again from the same browser.
            r = domicilio(clients[curp])
            assert r.status == 200 and assigned_nss(r.text), (point, r.status, r.url)
            assert srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp) == \
                [(assigned_nss(r.text),)]
            row["retried"] += 1
        elif flow == "download":
            pdf = clients[curp].get("/afiliate/comprobante?descargar=1")
            assert pdf.status == 200 and pdf.body.startswith(b"%PDF-"), pdf.status
            row["retried"] += 1
        nss = srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp)
        assert len(nss) == 1, (point, curp, nss)
        # The comprobante was queued with the assignment (one commits only with the other).
        assert q1(srv, "SELECT count(*) FROM outbox o JOIN asegurado a "
                       "ON a.id = o.asegurado_id WHERE a.curp = ?", curp) >= 1, (point, curp)
    sink.wait_for(lambda msgs: all(any(address(c) in m.rcpt_tos for m in msgs)
                                   for c in curps), timeout=60)
    deadline = time.time() + 30
    while q1(srv, "SELECT count(*) FROM outbox WHERE status <> 'sent'") != 0:
        assert time.time() < deadline, srv.query("SELECT id, status, attempts FROM outbox "
                                                 "WHERE status <> 'sent'")
        time.sleep(0.2)
    row["mails"] = [len(sink.to(address(c))) for c in curps]
    if point == "smtp-data":
        # Sent twice, as one message: the same Message-ID both times.
        for curp in curps:
            ids = {m.message_id for m in sink.to(address(curp))}
            assert len(sink.to(address(curp))) == 2 and len(ids) == 1, (curp, ids)
    for curp in curps:
        assert 1 <= len(sink.to(address(curp))) <= 2, (point, curp)
    consistent(srv)
    row["lost"] = "nothing"
    RESULTS[(srv.mpm, srv.driver, point)] = row
    bad = srv.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)


def test_summary(srv):
    """The table of points, operations and losses of the points that passed, printed
    and written to tests/out/crash-<mpm>-<driver>.md."""
    lines = ["| point | MPM | driver | flow | crashed | retried | e-mails per student | lost |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (mpm, driver, point), row in RESULTS.items():
        if (mpm, driver) == (srv.mpm, srv.driver):
            lines.append(f"| {point} | {mpm} | {driver} | {row['flow']} | {row['crashed']} | "
                         f"{row['retried']} | {row['mails']} | {row['lost']} |")
    out = TOP / "tests" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"crash-{srv.mpm}-{srv.driver}.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
