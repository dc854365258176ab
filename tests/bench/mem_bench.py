#!/usr/bin/env python3
"""Memory of the server's children over 100,000 mixed requests (not a test).

One apache2 (event MPM, SQLite, AfiliateRateLimit 0); wrk replays a shuffled mix
prepared beforehand (tests/bench/replay.lua): the form page, found-flow and
new-CURP POSTs (each with its own session, CSRF token and CAPTCHA), the result
page, the postal-code look-up and the comprobante and tarjeta PDFs of finished
trámites. Each child's VmRSS (/proc/PID/status) and its open SQLite
connections are printed before the first request, after 10,000, 55,000 and
100,000. A pooled connection opened late (its statements and page cache) is
not a leak; the run fails when a child grows more than 1 MB over the second
half with the same connections open.
"""
import hashlib
import os
import random
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests" / "bench"))

from flows import sample  # noqa: E402
from harness import Apache  # noqa: E402
import breakdown  # noqa: E402
import wrkpost  # noqa: E402

MPM = os.environ.get("BENCH_MPM", "event")
TOTAL = int(os.environ.get("BENCH_MEM_REQUESTS", "100000"))
FIRST = TOTAL // 10
MIX = [  # (share of the requests, kind)
    (0.55, "form"), (0.12, "found"), (0.12, "new"), (0.06, "resultado"), (0.05, "cp"),
    (0.05, "comprobante"), (0.05, "tarjeta"),
]
# Bound: wrk stops at this many seconds even if requests are left.
LIMIT = int(os.environ.get("BENCH_MEM_SECONDS", "300"))


def rss(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def db_handles(pid, db):
    """Open descriptors of the SQLite database file: the child's pooled connections."""
    n = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == db:
                    n += 1
            except OSError:
                pass
    except OSError:
        return None
    return n


def snapshot(srv):
    pids = []
    for _ in range(50):  # just after the start the children may not be there yet
        pids = breakdown.children(srv)
        if pids:
            break
        time.sleep(0.1)
    return {p: (rss(p), db_handles(p, srv.db)) for p in pids}


def access_lines(srv):
    """Requests answered so far, but for the GET /afiliate/ that replay.lua sends
    when a thread has run out of lines."""
    try:
        with open(srv.root / "access_log", "rb") as f:
            return sum(1 for line in f if b'"GET /afiliate/ HTTP' not in line)
    except OSError:
        return 0


def replay_all(srv, lines):
    """Replays every line; stops wrk once all are answered, or when nothing has been
    answered for 2 s (a request lost with its connection is not sent again)."""
    target = access_lines(srv) + len(lines)
    seen = {"n": -1, "at": time.time()}

    def done():
        n = access_lines(srv)
        if n != seen["n"]:
            seen["n"], seen["at"] = n, time.time()
        return n >= target or time.time() - seen["at"] > 2

    return wrkpost.replay(srv.base, lines, LIMIT, done=done)


# glibc gives each thread of a threaded MPM child its own malloc arena (up to 8 per
# core), and the arenas fragment: with the default, children grew 1.1-1.6 MB over
# the last 45,000 requests; with 2 arenas they stayed flat and 25 % smaller. The
# deployment docs recommend it (docs/deployment.md, "Memory"); BENCH_ARENAS=default
# measures glibc's own default.
ARENAS = os.environ.get("BENCH_ARENAS", "2")


def main():
    if ARENAS != "default":
        os.environ["MALLOC_ARENA_MAX"] = ARENAS
    srv = Apache(f"bench-mem-{MPM}", mpm=MPM, rate_limit=0, failure_limits=None,
                 identity_limits=(1000000, 1000000))
    srv.setup(seed_count=60000)
    srv.start()
    try:
        run(srv)
    finally:
        srv.stop()


def run(srv):
    secret = srv.secret
    counts = {kind: int(share * TOTAL) for share, kind in MIX}
    counts["form"] += TOTAL - sum(counts.values())
    start = snapshot(srv)
    # Finished trámites whose result page and documents the mix asks for.
    found = sample(srv, "found", counts["found"] + 50)
    lines = [wrkpost.form_post(secret, c)[1] for c in found[:50]]
    done_tokens = replay_all(srv, lines).cookies   # the rotated sessions
    finished = {t for (t,) in srv.query("SELECT id FROM tramite WHERE paso = 'resultado'")}
    cookies = [f"{wrkpost.COOKIE}={t}" for t in done_tokens
               if hashlib.sha256(t.encode()).hexdigest() in finished]
    rnd = random.Random(1)
    mix = ["/afiliate/nss\t\t"] * counts["form"]
    mix += [wrkpost.form_post(secret, c)[1] for c in found[50:]]
    mix += [wrkpost.form_post(secret, c)[1] for c in sample(srv, "new", counts["new"])]
    for kind in ("resultado", "comprobante", "tarjeta"):
        mix += [f"/afiliate/{kind}\t{rnd.choice(cookies)}\t" for _ in range(counts[kind])]
    mix += ["/afiliate/cp/06700\t\t"] * counts["cp"]
    rnd.shuffle(mix)

    print(f"== memory over {len(mix)} mixed requests ({MPM} MPM, SQLite, wrk "
          f"{wrkpost.THREADS} threads {wrkpost.CONNECTIONS} connections): "
          + ", ".join(f"{counts[k]} {k}" for _, k in MIX)
          + f"; MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'default')}"
          + f"; load average {wrkpost.loadavg()}", flush=True)
    # RSS after 10 %, 55 % and 100 % of the requests.
    marks = [FIRST, (FIRST + len(mix)) // 2, len(mix)]
    snaps, results, done = [], [], 0
    for m in marks:
        results.append(replay_all(srv, mix[done:m]))
        snaps.append(snapshot(srv))
        done = m
    answered = {}
    for r in results:
        for k, v in r.statuses.items():
            answered[k] = answered.get(k, 0) + v
    print(f"  answered: {sum(r.requests for r in results)} requests in "
          f"{sum(r.seconds for r in results):.0f} s (by status: {dict(sorted(answered.items()))})")
    print(f"  VmRSS of each child (and its open SQLite connections) before the first "
          f"request and after {', '.join(map(str, marks))}:")
    grew = False
    for pid in sorted(set(start).union(*snaps)):
        row = [start.get(pid)] + [sn.get(pid) for sn in snaps]
        b, c = row[1], row[-1]
        g = (f"{c[0] - b[0]:+d} kB over the last {len(mix) - FIRST}"
             if b and c and b[0] is not None and c[0] is not None else "(child not there)")
        # A newly opened pooled connection (prepared statements, page cache) is not
        # a leak: the check is the second half, with the same connections open.
        h = row[2]
        half = (f"; {c[0] - h[0]:+d} kB over the last {len(mix) - marks[1]} with "
                f"{'the same' if h[1] == c[1] else 'more'} connections"
                if h and c and h[0] is not None and c[0] is not None else "")
        print(f"  child {pid:>7}: " + " -> ".join(fmt(x) for x in row) + f"; {g}{half}")
        if h and c and h[0] is not None and c[0] is not None and h[1] == c[1] and \
                c[0] - h[0] > 1024:
            grew = True
    print(f"  load average after: {wrkpost.loadavg()}")
    wrkpost.save(f"memory-{MPM}", {"start": start, "marks": marks, "snapshots": snaps})
    if grew:
        sys.exit("mem_bench: a child grew by more than 1 MB over the second half with the same "
                 "connections open")


def fmt(x):
    return f"{x[0]} kB ({x[1]})" if x and x[0] is not None else "-"


if __name__ == "__main__":
    main()
