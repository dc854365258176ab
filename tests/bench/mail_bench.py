#!/usr/bin/python3
"""Mail benchmarks of mod_afiliate (not a test), against one real apache2 and a
local SMTP sink (tests/smtp_sink.py).

Prints:
- messages per second delivered to the sink by the outbox sender, both by
  `afiliatectl outbox --once` and by the mod_watchdog sender inside httpd
  (N rows queued first, then drained; each message is rendered from the
  database: PDF, MIME, SMTP on one reused connection);
- the form latency (GET /afiliate/nss with wrk, and the found-flow POST,
  which queues a message) with the SMTP server up versus down: the request
  never waits on SMTP, so the two should match.
"""
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))

from flows import Form, sample  # noqa: E402
from harness import CTL, Apache  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

MPM = os.environ.get("BENCH_MPM", "event")
DURATION = os.environ.get("BENCH_SECONDS", "5")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "300"))
POSTS = int(os.environ.get("BENCH_POSTS", "300"))
ROUNDS = int(os.environ.get("BENCH_MAIL_ROUNDS", "3"))
SENDER = "no-reply@imss.example.mx"


def queue_rows(srv, n, tag):
    """n pending rows, as the handler writes them (a located NSS each). created is now:
    the e-mailed document is sealed with that time (a folio needs a real date)."""
    srv.execute(
        "INSERT INTO outbox (kind, reason, asegurado_id, recipient, status, attempts, "
        "next_attempt_at, message_id, created) SELECT 'comprobante', 'localizacion', id, "
        "'bench' || CAST(id AS TEXT) || '@ejemplo.mx', 'pending', 0, 0, "
        "'<outbox-bench-' || ? || '-' || CAST(id AS TEXT) || '@imss.example.mx>', ? "
        "FROM asegurado ORDER BY id LIMIT " + str(int(n)), tag, int(time.time()))


def wait_delivered(sink, before, n, timeout=300):
    deadline = time.time() + timeout
    while len(sink.messages) - before < n:
        if time.time() > deadline:
            raise TimeoutError(f"only {len(sink.messages) - before} of {n} delivered")
        time.sleep(0.02)


def wrk(url):
    out = subprocess.run(["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{DURATION}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return rps, p50, p99


def post_latencies(srv, curps):
    """Found-flow POSTs from CONCURRENCY threads; forms fetched first, POSTs timed."""
    forms = [(Form(srv, srv.client(follow=False)), curp) for curp in curps]
    lat, lock, it = [], threading.Lock(), iter(forms)

    def worker():
        while True:
            with lock:
                try:
                    f, curp = next(it)
                except StopIteration:
                    return
            t0 = time.perf_counter()
            r = f.submit(curp, correo="bench@ejemplo.mx")
            dt = time.perf_counter() - t0
            assert r.status == 303, r.status
            with lock:
                lat.append(dt * 1000)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    return len(lat) / secs, q[49], q[94], q[98]


def main():
    sink = SmtpSink().start()
    srv = Apache(f"bench-mail-{MPM}", mpm=MPM,
                 extra=[f"AfiliateSMTPURL {sink.url}", "AfiliateOutboxInterval 1",
                        "AfiliateOutboxBackoff 1 2", f"AfiliateMailFrom {SENDER}"])
    srv.setup(seed_count=20000)
    print(f"== mod_afiliate mail benchmark ({MPM} MPM, {os.cpu_count()} cores, "
          f"local SMTP sink on loopback)")
    try:
        cli(srv, sink)
        srv.start()
        run(srv, sink)
    finally:
        srv.stop()
        sink.stop()


def cli(srv, sink):
    """The CLI sender alone (httpd not running): MESSAGES queued rows, one pass."""
    queue_rows(srv, MESSAGES, "cli")
    before = len(sink.messages)
    t0 = time.perf_counter()
    out = subprocess.run([str(CTL), "outbox", "--once", "--db", srv.db, "--smtp", sink.url,
                          "--from", SENDER], capture_output=True, text=True, check=True)
    secs = time.perf_counter() - t0
    sent = len(sink.messages) - before
    assert f"sent {MESSAGES}" in out.stdout, out.stdout
    print(f"outbox sender, afiliatectl outbox --once   {sent / secs:8.0f} messages/s "
          f"({sent} in {secs:.2f} s, process start included)")


def run(srv, sink):

    # 2. The watchdog sender inside httpd: rows queued while the relay is down.
    sink.stop()
    srv.execute("DELETE FROM outbox")
    queue_rows(srv, MESSAGES, "wd")
    time.sleep(2.5)  # the watchdog sees the relay down and backs off
    srv.execute("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'")
    before = len(sink.messages)
    sink.start()
    t0 = time.perf_counter()
    wait_delivered(sink, before, MESSAGES)
    secs = time.perf_counter() - t0
    print(f"outbox sender, mod_watchdog in httpd       {MESSAGES / secs:8.0f} messages/s "
          f"({MESSAGES} in {secs:.2f} s, from relay up to last message; ticks every 1 s)")
    wait_delivered(sink, before, MESSAGES)

    # 3. Form latency, relay up vs down, alternating rounds (the host may be busy).
    found = sample(srv, "found", 200)
    curps = (found * (POSTS // len(found) + 1))[:POSTS]
    results = {"down": [], "up": []}
    for _ in range(ROUNDS):
        for state in ("down", "up"):
            if state == "down":
                sink.stop()
            else:
                sink.start()
            rps, p50, p99 = wrk(f"{srv.base}/afiliate/nss")
            prps, pp50, pp95, pp99 = post_latencies(srv, curps)
            results[state].append((rps, ms(p50), ms(p99), prps, pp50, pp95, pp99))
            print(f"  SMTP {state:4}  GET /afiliate/nss {rps:7.0f} req/s  p50 {ms(p50):5.2f} ms  "
                  f"p99 {ms(p99):6.2f} ms | POST found flow {prps:5.0f} req/s  p50 {pp50:5.1f} ms"
                  f"  p95 {pp95:5.1f} ms  p99 {pp99:5.1f} ms")
    for state in ("down", "up"):
        med = [statistics.median(col) for col in zip(*results[state])]
        print(f"SMTP {state:4} (median of {ROUNDS})  GET /afiliate/nss {med[0]:7.0f} req/s  "
              f"p50 {med[1]:5.2f} ms  p99 {med[2]:6.2f} ms | POST found flow {med[3]:5.0f} req/s"
              f"  p50 {med[4]:5.1f} ms  p95 {med[5]:5.1f} ms  p99 {med[6]:5.1f} ms")
    # Everything queued meanwhile (also while the relay was down) arrives.
    sink.start()
    queued = srv.query("SELECT count(*) FROM outbox WHERE status <> 'sent'")[0][0]
    t0 = time.perf_counter()
    deadline = time.time() + 300
    while srv.query("SELECT count(*) FROM outbox WHERE status <> 'sent'")[0][0]:
        if time.time() > deadline:
            print(srv.query("SELECT status, count(*), min(next_attempt_at), max(attempts), "
                            "min(last_error) FROM outbox WHERE status <> 'sent' GROUP BY status"),
                  int(time.time()))
            raise TimeoutError("the outbox did not drain")
        time.sleep(0.2)
    print(f"backlog after the runs: {queued} messages delivered in "
          f"{time.perf_counter() - t0:.1f} s, none lost")


def ms(text):
    """wrk's latency ("779.00us", "7.66ms", "1.02s") in milliseconds."""
    v, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


if __name__ == "__main__":
    main()
