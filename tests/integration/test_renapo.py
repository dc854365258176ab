"""Identity from RENAPO's web service (docs/renapo.md): a real apache2 asking the
HTTPS test double (tests/renapo_double.py, mutual TLS with a CA made for the
test) on every MPM and driver of the matrix. Found and new flows, answers
recorded in the database (a second visit and a second server do not ask),
every failure kind as a Spanish 503 (remote) or the mirror's answer with its
audit event (remote+local), the breaker opening and closing, a status that
forbids the procedure, and Paso 1 still serving other students while RENAPO
hangs."""
import os
import threading
import time
import urllib.request

import pytest

from conftest import MATRIX
from flows import Form, assigned_nss, domicilio, sample
from harness import GEN, Apache
import renapo_double

DOWN = "En este momento no es posible consultar tu CURP en RENAPO"
NOT_FOUND = "No se localizó información en RENAPO con la CURP capturada."
FAILURES = ["500", "malformed", "oversized", "ctype", "reset", "othercurp", "missing", "hang"]


@pytest.fixture(scope="session")
def pki():
    return renapo_double.make_pki(GEN / "renapo-pki")


@pytest.fixture(scope="session")
def double(pki):
    d = renapo_double.Double(GEN / "renapo-pki").start()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def other_ca_double(pki):
    """Serves a certificate of another CA: the module must refuse it."""
    d = renapo_double.Double(GEN / "renapo-pki", server_cert="other-server").start()
    yield d
    d.stop()


def renapo_conf(pki, url, mode="remote", timeout=1500, breaker="1000 60 60", ttl=86400,
                client_cert=True, extra_lines=()):
    lines = [f"AfiliateIdentitySource {mode}", f"AfiliateRenapoURL {url}",
             f"AfiliateRenapoTimeout {timeout}", f'AfiliateRenapoCAFile "{pki["ca"]}"',
             f"AfiliateRenapoBreaker {breaker}", f"AfiliateRenapoCacheTTL {ttl}"]
    if client_cert:
        lines.append(f'AfiliateRenapoClientCert "{pki["client"]}" "{pki["client_key"]}"')
    return lines + list(extra_lines)


class World:
    """One server of the matrix, its double and the CURPs each test uses."""

    def __init__(self, srv, double, pki):
        self.srv, self.double, self.pki = srv, double, pki
        new = sample(srv, "new", 260)
        # Known to RENAPO only: their mirror rows move to the double.
        self.remote_only = []
        for curp in new[:60]:
            row = srv.query("SELECT curp, nombres, primer_apellido, segundo_apellido, "
                            "fecha_nacimiento, sexo, entidad_nacimiento, status_curp "
                            "FROM renapo_persona WHERE curp = ?", curp)[0]
            double.persons[curp] = renapo_double.answer_from_row(*row)
            srv.execute("DELETE FROM renapo_persona WHERE curp = ?", curp)
            self.remote_only.append(curp)
        # Known to both (the double answers from the same registry rows).
        self.both = []
        for curp in new[60:200]:
            row = srv.query("SELECT curp, nombres, primer_apellido, segundo_apellido, "
                            "fecha_nacimiento, sexo, entidad_nacimiento, status_curp "
                            "FROM renapo_persona WHERE curp = ?", curp)[0]
            double.persons[curp] = renapo_double.answer_from_row(*row)
            self.both.append(curp)
        # In the mirror only: RENAPO says "not found".
        self.mirror_only = new[200:]
        self.conf = None

    def configure(self, **kw):
        lines = renapo_conf(self.pki, kw.pop("url", self.double.url), **kw)
        if lines != self.conf:
            self.srv.extra = lines
            self.srv.write_conf()
            self.srv.restart()
            self.conf = lines
        self.double.reset()


@pytest.fixture(scope="module", params=MATRIX)
def world(request, double, pki):
    mpm, driver = request.param.split("-")
    name = f"it-renapo-{mpm}-{driver}"
    db = None
    if driver == "pgsql":
        db = request.getfixturevalue("pg_cluster").create_db(name.replace("-", "_"))
    srv = Apache(name, mpm=mpm, db=db, driver=driver,
                 extra=renapo_conf(pki, double.url))
    srv.setup(seed_count=600)
    srv.start()
    w = World(srv, double, pki)
    yield w
    double.release()
    srv.stop()
    # Never a CURP in the log.
    log = srv.read_log()
    for curp in w.remote_only + w.both + w.mirror_only:
        assert curp not in log


def audit(srv, evento):
    return srv.query("SELECT detalle FROM auditoria WHERE evento = ? ORDER BY id", evento)


def consulta(srv, curp):
    return srv.query("SELECT encontrado, consultado FROM renapo_consulta WHERE curp = ?", curp)


# ---------------------------------------------------------------- found, new, cached


def test_a_curp_only_renapo_knows_gets_its_nss(world):
    w = world
    w.configure()
    curp = w.remote_only.pop()
    c = w.srv.client()
    r = Form(w.srv, c).submit(curp)
    assert r.status == 200 and "/domicilio" in r.url, r.text[:500]
    who = w.double.persons[curp]
    assert who["primerApellido"] in r.text
    r = domicilio(c)
    assert r.status == 200 and assigned_nss(r.text), r.text[:500]
    assert w.double.counts[curp] == 1
    assert consulta(w.srv, curp)[0][0] == 1
    # The answer was written into the mirror with the status RENAPO gave.
    assert w.srv.query("SELECT status_curp FROM renapo_persona WHERE curp = ?", curp) == [
        (who["statusCurp"],)]
    assert ("encontrado",) in audit(w.srv, "identidad_renapo")


def test_a_recorded_answer_is_not_asked_again_on_this_or_another_server(world, pki):
    w = world
    w.configure()
    curp = w.both.pop()
    for _ in range(2):
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 200 and "/domicilio" in r.url
    assert w.double.counts[curp] == 1
    # A second server on the same database (another node behind the balancer).
    other = Apache(w.srv.name + "-b", mpm=w.srv.mpm, db=w.srv.db, driver=w.srv.driver,
                   extra=renapo_conf(pki, w.double.url))
    other.root.mkdir(parents=True, exist_ok=True)
    other.secret_path.write_bytes(w.srv.secret_path.read_bytes())
    other.write_conf()
    other.start()
    try:
        r = Form(other, other.client()).submit(curp)
        assert r.status == 200 and "/domicilio" in r.url
    finally:
        other.stop()
    assert w.double.counts[curp] == 1


def test_a_stale_answer_is_asked_again(world):
    w = world
    w.configure()
    curp = w.both.pop()
    Form(w.srv, w.srv.client()).submit(curp)
    assert w.double.counts[curp] == 1
    w.srv.execute("UPDATE renapo_consulta SET consultado = consultado - 86400 WHERE curp = ?",
                  curp)
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 200 and "/domicilio" in r.url
    assert w.double.counts[curp] == 2


def test_not_found_at_renapo_is_not_found_and_is_recorded(world):
    w = world
    w.configure()
    curp = w.mirror_only.pop()
    for _ in range(2):
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 422 and NOT_FOUND in r.text
    assert w.double.counts[curp] == 1
    assert consulta(w.srv, curp)[0][0] == 0
    assert ("no_encontrado",) in audit(w.srv, "identidad_renapo")


def test_a_status_that_forbids_the_procedure_shows_the_registry_message(world):
    w = world
    w.configure()
    curp = w.both.pop()
    w.double.persons[curp] = dict(w.double.persons[curp], statusCurp="BD")
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 422 and "no está vigente" in r.text and "defunción" in r.text
    # The mirror now says BD too: the local path gives the very same page.
    assert w.srv.query("SELECT status_curp FROM renapo_persona WHERE curp = ?", curp) == [("BD",)]


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("how", FAILURES)
def test_remote_failure_is_a_spanish_503(world, how):
    w = world
    w.configure(timeout=1000)
    curp = w.both.pop()
    w.double.behaviour[curp] = how
    started = time.monotonic()
    r = Form(w.srv, w.srv.client()).submit(curp)
    took = time.monotonic() - started
    assert r.status == 503 and DOWN in r.text, (r.status, r.text[:300])
    assert r.header("Retry-After") == "30"
    # libcurl sends a request again, once, when a reused connection drops.
    assert w.double.counts[curp] == 1 or (how == "reset" and w.double.counts[curp] == 2)
    assert consulta(w.srv, curp) == []  # nothing recorded, never "not found"
    assert took < 3.0


@pytest.mark.parametrize("how", FAILURES)
def test_remote_local_failure_is_answered_by_the_mirror(world, how):
    w = world
    w.configure(mode="remote+local", timeout=1000)
    before = len(audit(w.srv, "identidad_local"))
    curp = w.both.pop()
    w.double.behaviour[curp] = how
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 200 and "/domicilio" in r.url, (r.status, r.text[:300])
    # libcurl sends a request again, once, when a reused connection drops.
    assert w.double.counts[curp] == 1 or (how == "reset" and w.double.counts[curp] == 2)
    assert consulta(w.srv, curp) == []
    rows = audit(w.srv, "identidad_local")
    assert len(rows) == before + 1 and rows[-1][0]  # the reason, no personal data


def test_a_server_certificate_of_another_ca_is_refused(world, other_ca_double):
    w = world
    w.configure(url=other_ca_double.url)
    other_ca_double.reset()
    curp = w.both.pop()
    other_ca_double.persons[curp] = w.double.persons[curp]
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 503 and DOWN in r.text
    assert other_ca_double.counts[curp] == 0  # no request crossed the handshake


def test_without_a_client_certificate_the_service_refuses(world):
    w = world
    w.configure(client_cert=False)
    curp = w.both.pop()
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 503 and DOWN in r.text
    assert w.double.counts[curp] == 0


def test_the_breaker_opens_after_n_failures_and_closes_after_the_cooldown(world):
    w = world
    w.configure(breaker="3 60 2")
    w.double.behaviour["*"] = "500"
    curps = [w.both.pop() for _ in range(6)]
    for curp in curps[:3]:
        assert Form(w.srv, w.srv.client()).submit(curp).status == 503
    asked = sum(w.double.counts.values())
    assert asked == 3
    # Open: the next students are answered at once, RENAPO is not asked.
    for curp in curps[3:5]:
        started = time.monotonic()
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 503 and DOWN in r.text
        assert time.monotonic() - started < 1.0
    assert sum(w.double.counts.values()) == asked
    status = w.srv.client().get("/server-status?auto").text
    assert "AfiliateRenapoBreaker: open\n" in status
    assert "AfiliateRenapoBreakerOpened: 1\n" in status
    # After the cool-down one probe goes out; RENAPO answers again and it closes.
    w.double.behaviour.clear()
    time.sleep(2.2)
    r = Form(w.srv, w.srv.client()).submit(curps[5])
    assert r.status == 200 and "/domicilio" in r.url
    for curp in curps[3:5]:
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 200 and "/domicilio" in r.url
    assert sum(w.double.counts.values()) == asked + 3
    assert "AfiliateRenapoBreaker: closed\n" in w.srv.client().get("/server-status?auto").text


# ---------------------------------------------------------------- RENAPO hangs


def test_paso1_keeps_serving_while_renapo_hangs(world):
    """Many students wait on a hung RENAPO; the others' pages must not wait.
    The bulkhead holds at most `cap` workers of the server on RENAPO: under
    prefork a worker is a process, and prefork starts 4 (conf/httpd.conf.in),
    so the cap there stays below them (docs/renapo.md, "Circuit breaker and
    bulkhead")."""
    w = world
    hung, timeout_ms = 40, 3000
    cap = 2 if w.srv.mpm == "prefork" else 8
    w.configure(timeout=timeout_ms, breaker=f"1000 60 60 {cap}")
    w.double.behaviour["*"] = "hang"
    students = [(w.both.pop(), w.srv.client()) for _ in range(hung)]
    forms = [(curp, Form(w.srv, c)) for curp, c in students]
    results = []

    def student(curp, form):
        t0 = time.monotonic()
        r = form.submit(curp)
        results.append((r.status, time.monotonic() - t0))

    threads = [threading.Thread(target=student, args=cf) for cf in forms]
    for t in threads:
        t.start()
    time.sleep(0.3)
    others = []
    t_end = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() < t_end:
        for path in ("/afiliate/nss", "/afiliate/cp/06700"):
            t0 = time.monotonic()
            with urllib.request.urlopen(w.srv.base + path, timeout=10) as resp:
                assert resp.status == 200
                resp.read()
            others.append(time.monotonic() - t0)
    for t in threads:
        t.join(30)
    w.double.release()
    statuses = sorted({s for s, _ in results})
    asked = sum(w.double.counts.values())
    at_once = w.double.max_inflight
    worst = max(others)
    others.sort()
    p50 = others[len(others) // 2]
    report = (f"[{w.srv.mpm}-{w.srv.driver}] {hung} students on a hung RENAPO "
              f"(timeout {timeout_ms} ms, at most {cap} in flight): {asked} requests reached "
              f"RENAPO, {at_once} at once, answers {statuses}, slowest hung student "
              f"{max(d for _, d in results):.2f} s; other students: {len(others)} requests, "
              f"median {p50 * 1000:.1f} ms, worst {worst * 1000:.1f} ms")
    print(report)
    with open(GEN / "renapo-hang-figures.txt", "a") as f:
        f.write(report + "\n")
    assert len(results) == hung and statuses == [503]
    assert at_once <= cap
    # Nobody else waited on RENAPO (that would be the full timeout); the worst case is
    # two shared cores busy with 40 students at once.
    assert p50 < 0.05 and worst < timeout_ms / 2000.0


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("lines,message", [
    (["AfiliateIdentitySource remote"], "AfiliateIdentitySource remote needs AfiliateRenapoURL"),
    (["AfiliateIdentitySource remote+local"],
     "AfiliateIdentitySource remote+local needs AfiliateRenapoURL"),
    (["AfiliateIdentitySource remoto"], "AfiliateIdentitySource takes local, remote or"),
    (["AfiliateRenapoURL http://127.0.0.1:8443/renapo"], "AfiliateRenapoURL must be an https://"),
    (["AfiliateRenapoBreaker 5 30"], "AfiliateRenapoBreaker takes three or four numbers"),
    (["AfiliateIdentitySource remote", "AfiliateRenapoURL https://127.0.0.1:8443/r",
      "AfiliateRenapoCAFile /nonexistent/ca.pem"], "AfiliateRenapoCAFile: cannot read"),
])
def test_a_bad_renapo_configuration_is_refused_by_the_configuration_test(lines, message):
    srv = Apache("it-renapo-badconf", extra=lines)
    srv.setup(seed_count=None)
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert message in r.stderr + r.stdout, r.stderr + r.stdout


def test_credentials_are_sent_and_never_logged(world, tmp_path):
    w = world
    token = "tok-" + os.urandom(8).hex()
    cred = GEN / "renapo-cred"
    cred.write_text(f"Bearer {token}\n")
    cred.chmod(0o600)
    w.configure(extra_lines=[f'AfiliateRenapoCredentialsFile "{cred}"'])
    w.double.token = token
    try:
        curp = w.both.pop()
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 200 and "/domicilio" in r.url
        w.double.token = "otro"
        curp = w.both.pop()
        r = Form(w.srv, w.srv.client()).submit(curp)
        assert r.status == 503 and DOWN in r.text  # 401 is a failure, never "not found"
    finally:
        w.double.token = None
    assert token not in w.srv.read_log()


def test_a_slow_answer_within_the_limit_is_used(world):
    w = world
    w.configure(timeout=1500)
    curp = w.both.pop()
    w.double.behaviour[curp] = "delay:0.6"
    r = Form(w.srv, w.srv.client()).submit(curp)
    assert r.status == 200 and "/domicilio" in r.url
    assert consulta(w.srv, curp)[0][0] == 1


def test_students_asking_the_same_curp_at_once_share_one_request(world):
    """One request per CURP in flight per process: under event the five land on
    at most the two started processes; under prefork each process serves one
    student, so only the outcome is checked."""
    w = world
    w.configure(timeout=3000)
    curp = w.both.pop()
    w.double.behaviour[curp] = "delay:1.0"
    forms = [Form(w.srv, w.srv.client()) for _ in range(5)]
    statuses = []
    threads = [threading.Thread(target=lambda f=f: statuses.append(f.submit(curp).status))
               for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 5
    if w.srv.mpm == "event":
        assert w.double.counts[curp] <= 2
    assert w.double.counts[curp] <= 5


def test_paso2_and_the_documents_of_a_person_only_renapo_knows(world):
    """After the assignment every later step reads the person RENAPO gave: the
    comprobante, and Paso 2 (asked again once the answer is stale; with RENAPO
    down then, the Spanish 503)."""
    from test_paso2 import Paso2
    w = world
    w.configure()
    curp = w.remote_only.pop()
    c = w.srv.client()
    assert "/domicilio" in Form(w.srv, c).submit(curp).url
    nss = assigned_nss(domicilio(c).text)
    assert nss
    r = c.get("/afiliate/comprobante")
    assert r.status == 200 and r.header("Content-Type") == "application/pdf"
    r = Paso2(w.srv, w.srv.client()).submit(curp, nss)
    assert r.status == 200 and r.url.endswith("/afiliate/vigencia/resultado"), r.text[:300]
    assert "Vigente: <strong>SÍ</strong>" in r.text
    assert w.double.counts[curp] == 1  # the recorded answer served Paso 2
    w.srv.execute("UPDATE renapo_consulta SET consultado = consultado - 86400 WHERE curp = ?",
                  curp)
    w.double.behaviour[curp] = "500"
    r = Paso2(w.srv, w.srv.client()).submit(curp, nss)
    assert r.status == 503 and DOWN in r.text
    assert w.double.counts[curp] == 2
