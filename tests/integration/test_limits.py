"""A school's computer lab behind one address, with the module's default limits.

Sixty students complete Paso 1 at once (found and new) from the loopback
address, while robots from the same address keep failing: one keeps its
cookie and fails the CAPTCHA, one solves the CAPTCHA but tries CURPs that are
not active. Both are slowed and then refused; no student is. Then a robot that
drops its cookie spends the address's budget: its wrong CAPTCHAs are refused
without a database write, and a student's solved form still goes through.
"""
import threading
import time
from collections import Counter

import pytest

from flows import Form, assigned_nss, domicilio, sample
from harness import Apache
from test_paso2 import Paso2

STUDENTS_FOUND, STUDENTS_NEW = 30, 30
SLOWED, REFUSED = "Espera un momento", "Demasiados intentos fallidos"
WINDOW = 600   # AFL_FLOW_FAIL_WINDOW: failures are counted in windows of 10 minutes


@pytest.fixture(scope="module")
def lab():
    # rate_limit and failure_limits None: the module's own defaults.
    srv = Apache("it-limits", rate_limit=None, failure_limits=None)
    srv.setup(seed_count=1000)
    srv.start()
    yield srv
    srv.stop()


def verdict(r):
    if r.status != 429:
        return r.status
    return "slowed" if SLOWED in r.text else "refused" if REFUSED in r.text else 429


def student(lab, curp, new, n):
    """A whole Paso 1 as a student does it; what went wrong, or None."""
    c = lab.client()
    r = Form(lab, c).submit(curp, correo=f"alumno{n}@escuela.edu.mx")
    if new:
        if r.status != 200 or not r.url.endswith("/domicilio"):
            return f"form: {r.status} {r.url}"
        r = domicilio(c)
        if r.status != 200 or not assigned_nss(r.text):
            return f"domicilio: {r.status}"
    elif r.status != 200 or not r.url.endswith("/resultado"):
        return f"form: {r.status} {r.url}"
    pdf = c.get("/afiliate/comprobante")
    if pdf.status != 200 or not pdf.body.startswith(b"%PDF"):
        return f"comprobante: {pdf.status}"
    return None


def robot(lab, stop, attempt, seen):
    """Keeps its cookie and submits a form every 0.3 s, appending the verdicts to
    seen; True when the run crossed into another failure window (counts restart)."""
    c = lab.client()
    first = time.time() // WINDOW
    while not stop.is_set():
        seen.append(verdict(attempt(Form(lab, c))))
        time.sleep(0.3)
    return time.time() // WINDOW != first


def test_a_school_lab_goes_through_while_robots_are_refused(lab):
    lab.expect_log("failure limit reached")
    lab.expect_log("was slowed")
    found = sample(lab, "found", STUDENTS_FOUND)
    new = sample(lab, "new", STUDENTS_NEW)
    inactive = sample(lab, "inactive", 5)
    stop = threading.Event()
    robots = {"captcha": [], "inactive": []}
    crossed = {}

    def run_robot(name, attempt):
        crossed[name] = robot(lab, stop, attempt, robots[name])

    threads = [
        threading.Thread(target=run_robot,
                         args=("captcha", lambda f: f.submit(found[0], captcha="zzzzz"))),
        threading.Thread(target=run_robot,
                         args=("inactive", lambda f: f.submit(inactive[0]))),
    ]
    for t in threads:
        t.start()

    started = time.time()
    problems, lock = [], threading.Lock()
    queue = [(c, False) for c in found] + [(c, True) for c in new]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                curp, is_new = queue.pop()
                n = len(queue)
            why = student(lab, curp, is_new, n)
            if why:
                with lock:
                    problems.append(why)

    workers = [threading.Thread(target=worker) for _ in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.time() - started
    # Four slowed windows of 10 s take the robots from half their budget to refused.
    deadline = time.time() + 60
    while time.time() < deadline and not all("refused" in seen for seen in robots.values()):
        time.sleep(1)
    stop.set()
    for t in threads:
        t.join()

    assert problems == [], problems
    assert elapsed < 300, f"sixty students took {elapsed:.0f} s"
    for name, seen in robots.items():
        first_slowed = seen.index("slowed")
        first_refused = seen.index("refused")
        assert first_slowed < first_refused, (name, seen)
        if crossed[name]:   # a new window began during the run: only the order is certain
            continue
        assert set(seen[first_refused:]) == {"refused"}, (name, seen)
        failures = Counter(seen[:first_refused])
        assert failures[400 if name == "captcha" else 422] == 8, (name, seen)


def test_a_robot_without_cookies_spends_the_address_not_the_lab(lab):
    lab.expect_log("failure limit reached")
    # A few seconds of work that must not straddle two failure windows.
    left = WINDOW - time.time() % WINDOW
    if left < 30:
        time.sleep(left + 1)
    found = sample(lab, "found", 40)[-2:]
    seen = []
    for _ in range(150):
        seen.append(verdict(Form(lab, lab.client()).submit(found[0], captcha="zzzzz")))
        if seen[-1] == "refused":
            break
    assert seen[-1] == "refused", Counter(seen)
    assert Counter(seen)[400] <= 100
    # A student's wrong CAPTCHA from the address is refused as well...
    c = lab.client()
    assert verdict(Form(lab, c).submit(found[1], captcha="zzzzz")) == "refused"
    # ...but a form the student was shown and solved goes through.
    r = Form(lab, c).submit(found[1])
    assert r.status == 200 and r.url.endswith("/resultado")


# ---------------------------------------------------------------- per CURP and per e-mail

DAILY = "Intenta de nuevo mañana"


@pytest.fixture(scope="module")
def daily():
    # Only the daily limits, small: 3 forms per CURP, 4 per e-mail address.
    srv = Apache("it-limits-daily", identity_limits=(3, 4))
    srv.setup(seed_count=200)
    srv.start()
    yield srv
    srv.stop()


def refused_for_the_day(r):
    return (r.status == 429 and DAILY in r.text
            and 0 < int(r.headers.get("Retry-After", "0")) <= 86400)


def test_one_curp_is_looked_up_a_few_times_a_day_from_anywhere(daily):
    daily.expect_log("daily limit of forms for one CURP")
    curp, other = sample(daily, "found", 2)
    for n in range(3):   # three students' browsers, three e-mail addresses
        r = Form(daily, daily.client()).submit(curp, correo=f"persona{n}@ejemplo.mx")
        assert r.status == 200 and r.url.endswith("/resultado"), (n, r.status, r.url)
    r = Form(daily, daily.client()).submit(curp, correo="otra@ejemplo.mx")
    assert refused_for_the_day(r), (r.status, r.text[:300])
    assert "CURP capturada ya se consultó" in r.text
    assert curp not in r.text
    # Paso 2 answers to the same count...
    ((nss,),) = daily.query(f"SELECT nss FROM asegurado WHERE curp = '{curp}'")
    r = Paso2(daily, daily.client()).submit(curp, nss, correo="otra@ejemplo.mx")
    assert refused_for_the_day(r), (r.status, r.text[:300])
    # ...and another CURP is untouched.
    r = Form(daily, daily.client()).submit(other, correo="otra@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/resultado"), (r.status, r.url)


def test_one_email_address_receives_a_few_trámites_a_day(daily):
    daily.expect_log("daily limit of forms for one e-mail address")
    curps = sample(daily, "new", 6)
    for curp in curps[:4]:
        r = Form(daily, daily.client()).submit(curp, correo="Buzon.Comun@Ejemplo.mx")
        assert r.status == 200 and r.url.endswith("/domicilio"), (r.status, r.url)
    # the same mailbox in other letters is the same address
    r = Form(daily, daily.client()).submit(curps[4], correo="buzon.comun@ejemplo.mx")
    assert refused_for_the_day(r), (r.status, r.text[:300])
    assert "correo electrónico capturado ya se usó" in r.text
    assert "buzon" not in r.text.lower()
    r = Form(daily, daily.client()).submit(curps[5], correo="propio@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/domicilio"), (r.status, r.url)


def test_a_wrong_captcha_costs_nothing_of_the_daily_limits(daily):
    curp = sample(daily, "found", 3)[2]
    for _ in range(5):
        r = Form(daily, daily.client()).submit(curp, correo="x@ejemplo.mx", captcha="zzzzz")
        assert r.status == 400
    r = Form(daily, daily.client()).submit(curp, correo="y@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/resultado"), (r.status, r.url)
