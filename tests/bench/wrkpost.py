"""POST benchmarks with wrk (not a test): requests prepared beforehand in
Python and replayed once each by tests/bench/replay.lua.

Every POST needs its own session cookie, CSRF token and CAPTCHA. They are made
here the way the module makes them (the bench knows the server secret): the
session token is 16 random bytes in hex, the CSRF token its HMAC ("csrf:"),
the CAPTCHA id a signed id with an expiry (tests/integration/flows.py) and its
answer the one the image shows (tests/captcha_answer.py). So the client does
no work during the run: wrk only sends bytes, and the figures are the server's.
"""
import hashlib
import hmac
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))

from captcha_answer import captcha_answer  # noqa: E402
from flows import forge_captcha_id  # noqa: E402

LUA = Path(__file__).resolve().parent / "replay.lua"
COOKIE = "afiliate_tramite"
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
THREADS = 2


def session(secret):
    """A fresh session: (cookie token, CSRF token)."""
    token = secrets.token_hex(16)
    csrf = hmac.new(secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()
    return token, csrf


def captcha(secret, ttl=600):
    cid = forge_captcha_id(secret, int(time.time()) + ttl)
    return cid, captcha_answer(secret, cid)


def form_post(secret, curp, correo="estudiante@ejemplo.mx"):
    """One POST /afiliate/nss line for curp and its session token."""
    token, csrf = session(secret)
    cid, answer = captcha(secret)
    body = urllib.parse.urlencode({"curp": curp, "correo": correo,
                                   "correo_confirmacion": correo, "captcha": answer,
                                   "captcha_id": cid, "csrf": csrf})
    return token, f"/afiliate/nss\t{COOKIE}={token}\t{body}"


def domicilio_post(secret, token):
    """One POST /afiliate/domicilio line for a session already at the address step."""
    csrf = hmac.new(secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()
    body = urllib.parse.urlencode({"cp": "06700", "colonia": "Roma Norte", "calle": "Orizaba",
                                   "numero_exterior": "101", "numero_interior": "",
                                   "csrf": csrf})
    return f"/afiliate/domicilio\t{COOKIE}={token}\t{body}"


class Result:
    def __init__(self, out, seconds):
        self.out = out
        self.seconds = seconds
        m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
        self.requests = int(m.group(1)) if m else 0
        self.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        self.p50 = int(re.search(r"p50_us (\d+)", out).group(1)) / 1000
        self.p90 = int(re.search(r"p90_us (\d+)", out).group(1)) / 1000
        self.p99 = int(re.search(r"p99_us (\d+)", out).group(1)) / 1000
        st = re.search(r"statuses ?(.*)", out).group(1)
        self.statuses = {int(k): int(v) for k, v in (x.split("=") for x in st.split())}
        self.exhausted = "exhausted" in out
        nd = re.search(r"nodes ?(.*)", out)
        self.nodes = {k: int(v) for k, v in (x.split("=") for x in nd.group(1).split())} \
            if nd else {}

    def ok(self, status):
        return self.statuses.get(status, 0)

    def line(self, label, status=303):
        bad = sum(v for k, v in self.statuses.items() if k != status)
        return (f"{label:<38} {self.rps:8.0f} req/s  p50 {self.p50:6.1f} ms  "
                f"p99 {self.p99:6.1f} ms  ({self.ok(status)} x {status}, {bad} other"
                f"{'; requests ran out: rate is a lower bound' if self.exhausted else ''})")


def replay(base, lines, seconds, connections=CONNECTIONS, done=None):
    """Runs wrk over the prepared lines for `seconds` (bounded); each line is sent at
    most once. done: a function polled every 0.2 s; wrk is stopped early (SIGINT)
    once it returns true (wrk itself always runs its whole duration). Returns a
    Result."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    cookies = path + ".cookies"
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s",
                                 "--timeout", "10s", "-s", str(LUA), base, "--", path,
                                 str(THREADS), cookies],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while done and proc.poll() is None and time.perf_counter() - t0 < seconds:
            if done():
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.2)
        out, err = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed: {err}")
        result = Result(out + err, time.perf_counter() - t0)
        # The session cookies the server set: a form that leads on rotates the
        # session, so the next step of a trámite goes with the new cookie.
        result.cookies = []
        for i in range(THREADS):
            p = Path(f"{cookies}.{i}")
            if p.exists():
                result.cookies += p.read_text().split()
                p.unlink()
        return result
    finally:
        os.unlink(path)


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


RESULTS = TOP / "build" / "bench"


def save(name, results):
    """Keeps a benchmark's figures for summary.py (build/bench/writes-NAME.json)."""
    import json
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = dict(results, loadavg=loadavg())
    (RESULTS / f"writes-{name}.json").write_text(json.dumps(results, indent=1))
