#!/usr/bin/env python3
"""Write benchmarks on SQLite (not a test): the found-flow POST and the
assignment POST, replayed by wrk from requests prepared beforehand
(tests/bench/wrkpost.py), against one real apache2 with AfiliateRateLimit 0
so that one client address can drive it.

- found flow: POST /afiliate/nss with a CURP that has an NSS (answer: 303 to
  /resultado; the NSS is located, the session, audit and outbox rows written);
- first documents: GET /afiliate/comprobante once per trámite the found flow
  located (answer: the signed PDF; the documento row is written and the PDF
  rendered, none comes from the cache of rendered documents);
- assignments: POST /afiliate/domicilio of sessions that a POST /afiliate/nss
  of a new CURP brought to the address step (answer: 303 to /resultado).

After the run the database is checked: every 303 of the assignment run is one
new insured row, no NSS appears twice, every session holds the NSS of its row.
"""
import hashlib
import os
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests" / "bench"))

from flows import sample  # noqa: E402
from harness import Apache  # noqa: E402
import breakdown  # noqa: E402
import wrkpost  # noqa: E402

MPM = os.environ.get("BENCH_MPM", "event")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
# Enough prepared requests for SECONDS at this rate; a thread that runs out stops.
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "3000"))
# Requests of the unmeasured second before each run: every thread's pooled
# connection is opened and its statements prepared (the server restarts
# between runs so that its children log their counters).
WARM = 1000


def check_assignments(srv):
    """(insured rows, duplicate NSS, assigned sessions whose NSS is not their row's)."""
    (after,) = srv.query("SELECT count(*) FROM asegurado")[0]
    (dups,) = srv.query("SELECT count(*) FROM (SELECT nss FROM asegurado GROUP BY nss "
                        "HAVING count(*) > 1) d")[0]
    (wrong,) = srv.query("SELECT count(*) FROM tramite t LEFT JOIN asegurado a "
                         "ON a.curp = t.curp WHERE t.paso = 'resultado' AND "
                         "t.origen = 'asignado' AND (a.nss IS NULL OR a.nss <> t.nss)")[0]
    return after, dups, wrong


def main():
    srv = Apache(f"bench-post-{MPM}", mpm=MPM, rate_limit=0, failure_limits=None,
                 identity_limits=(1000000, 1000000),
                 extra=[breakdown.LOGLEVEL])
    srv.setup(seed_count=60000)
    srv.start()
    try:
        run(srv)
    finally:
        srv.stop()


RESULTS = {}


def phase(srv, label, lines, status=303):
    """A warm-up second, then one measured wrk run with its breakdown; restarts the
    server afterwards. Returns (warm-up result, measured result)."""
    warm = wrkpost.replay(srv.base, lines[:WARM], 1)
    probe = breakdown.Probe(srv)
    r = wrkpost.replay(srv.base, lines[WARM:], SECONDS)
    print(r.line(label, status), flush=True)
    b = probe.finish(r.requests, warm.requests)
    print(breakdown.line(label, b), flush=True)
    RESULTS[label] = {"rps": r.rps, "p50_ms": r.p50, "p99_ms": r.p99, "ok": r.ok(status),
                      "breakdown": b}
    return warm, r


def run(srv):
    secret = srv.secret
    n = SECONDS * MAX_RATE + WARM
    print(f"== SQLite (WAL, synchronous=FULL) write benchmark: {MPM} MPM, {os.cpu_count()} "
          f"cores, wrk {wrkpost.THREADS} threads {wrkpost.CONNECTIONS} connections, "
          f"{SECONDS} s per run; load average {wrkpost.loadavg()}")
    found = sample(srv, "found", n)
    warm, r = phase(srv, "found-flow POST /afiliate/nss",
                    [wrkpost.form_post(secret, c)[1] for c in found])
    # Each located trámite's first comprobante: the documento row (folio, cadena, sello)
    # is written and the signed PDF rendered; nothing comes from the rendered-document
    # cache (the peer's FPDF script renders every request as well).
    tokens = warm.cookies + r.cookies
    phase(srv, "first comprobante GET (renders, signs)",
          [f"/afiliate/comprobante\t{wrkpost.COOKIE}={t}\t" for t in tokens], status=200)

    new = sample(srv, "new", 2 * n)
    lines = [wrkpost.form_post(secret, c)[1] for c in new]
    warm, r = phase(srv, "new-CURP POST /afiliate/nss", lines)
    tokens = warm.cookies + r.cookies   # the rotated sessions
    # Only the sessions that reached the address step are assigned.
    ready = {t for (t,) in srv.query("SELECT id FROM tramite WHERE paso = 'domicilio'")}
    lines = [wrkpost.domicilio_post(secret, t) for t in tokens
             if hashlib.sha256(t.encode()).hexdigest() in ready]
    (before,) = srv.query("SELECT count(*) FROM asegurado")[0]
    warm, r = phase(srv, "assignment POST /afiliate/domicilio", lines)
    added, dups, wrong = check_assignments(srv)
    added -= before
    answered = warm.ok(303) + r.ok(303)
    # Requests still in flight when wrk stopped (warm-up and run) may have committed unseen.
    in_flight = added - answered
    print(f"  database after the run: {added} new insured rows for {answered} answers 303 "
          f"({in_flight} in flight at the end); duplicate NSS: {dups}; sessions whose NSS "
          f"is not their row's: {wrong}")
    print(f"load average after: {wrkpost.loadavg()}")
    RESULTS["duplicates"] = dups
    wrkpost.save(f"sqlite-{MPM}", RESULTS)
    if dups or wrong or not 0 <= in_flight <= 2 * wrkpost.CONNECTIONS:
        sys.exit("post_bench: the assignment run left the database inconsistent")


if __name__ == "__main__":
    main()
