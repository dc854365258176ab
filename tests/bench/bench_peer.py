#!/usr/bin/env python3
"""mod_afiliate side by side with the PHP peer (`make bench-peer`; a benchmark, not a test).

The peer is what an agency would write instead: mod_php (prefork) + PDO SQLite + FPDF or
TCPDF on the same Apache. It lives outside the repository, in ../shared/peer-php beside the
checkout (PEER_PHP_DIR overrides), and is only run from there: its bench.sh starts its two
servers, checks its endpoints and measures; its rows.tsv is read back. This script starts
mod_afiliate in a real apache2 (tests/integration/harness.py) and measures both with the
same wrk load, -t2 -c16, BENCH_SECONDS per run (default 10) after a 3 s warm-up, through
the peer's own wrk script (peer.lua), in ROUNDS rounds (default 2) that alternate which
side goes first (A B, then B A), so that the machine's drift falls on both. The peer's
form.php is skipped: the form goal compares the module with the same bytes as a static
file, and form.php needs a 7-minute settle of its session files.

Prints one table: req/s of each side (median of the rounds), bytes, the ratio and the goal.
"""
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))

from flows import Form, sample  # noqa: E402
from harness import Apache  # noqa: E402
from captcha_answer import captcha_answer  # noqa: E402

sys.path.insert(0, str(TOP / "tests" / "bench"))
import wrkpost  # noqa: E402

PEER = Path(os.environ.get("PEER_PHP_DIR", TOP.parent / "shared" / "peer-php")).resolve()
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
WARMUP = 3
# Prepared trámites per second of a first-download run (more than it can serve).
FIRST_MAX_RATE = int(os.environ.get("BENCH_FIRST_MAX_RATE", "2500"))
PEER_TARGETS = ["form.html@event", "lookup.php", "lookup_persistent.php", "pdf.php",
                "pdf_tcpdf.php"]
RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)


def die(msg):
    print(f"bench-peer: {msg}", file=sys.stderr)
    sys.exit(1)


def wrk(url, headers=(), prefix=None, listfile=None, seconds=SECONDS):
    """One wrk run with the peer's script; returns its RESULT fields."""
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(PEER / "peer.lua")]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    if prefix:
        cmd += ["--", prefix]
    env = dict(os.environ)
    if listfile:
        env["PEER_CURPS"] = str(listfile)  # peer.lua rotates through this list
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    m = RESULT_RE.search(out)
    if not m:
        die(f"no RESULT line from wrk: {out}")
    r = dict(kv.split("=", 1) for kv in m.group(1).split())
    errors = sum(int(r[k]) for k in ("connect_err", "read_err", "write_err", "timeout_err",
                                     "status_err"))
    return {"rps": float(r["rps"]), "p99_ms": int(r["p99_us"]) / 1000, "errors": errors}


def measure_ours(srv, t):
    if t.get("first"):
        return measure_first(srv, t)
    args = (srv.base + t["path"], t.get("headers", ()), t.get("prefix"), t.get("list"))
    wrk(*args, seconds=WARMUP)
    return wrk(*args)


def measure_first(srv, t):
    """One round of first downloads: each prepared trámite's comprobante once."""
    tokens = t["tokens"].pop(0)
    lines = [f"{t['path']}\t{wrkpost.COOKIE}={tok}\t" for tok in tokens]
    warm = WARMUP * FIRST_MAX_RATE
    wrkpost.replay(srv.base, lines[:warm], WARMUP)
    r = wrkpost.replay(srv.base, lines[warm:], SECONDS)
    if r.exhausted:
        print(f"bench-peer: first downloads ran out after {r.requests}: a lower bound",
              file=sys.stderr)
    return {"rps": r.rps, "p99_ms": r.p99,
            "errors": sum(v for k, v in r.statuses.items() if k != 200)}


def measure_peer():
    """One bench.sh invocation over PEER_TARGETS (one round): {target: row}."""
    results = Path(os.environ.get("PEER_DIR", "/tmp/peer")) / "results"
    before = set(results.iterdir()) if results.exists() else set()
    env = dict(os.environ, ONLY=" ".join(PEER_TARGETS), ROUNDS="1",
               DURATION=f"{SECONDS}s", WARMUP=f"{WARMUP}s", PDF_SAMPLE="5")
    proc = subprocess.run(["./bench.sh"], cwd=PEER, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"the peer's bench.sh failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    new = sorted(set(results.iterdir()) - before)
    if not new:
        die("the peer's bench.sh wrote no results")
    rows = {}
    for line in (new[-1] / "rows.tsv").read_text().splitlines():
        f = line.split("\t")
        rows[f[1]] = {"rps": float(f[4]), "p99_ms": int(f[6]) / 1000, "body": int(f[8]),
                      "errors": int(f[11]) + int(f[12])}
    missing = [t for t in PEER_TARGETS if t not in rows]
    if missing:
        die(f"the peer measured no {missing}")
    return rows


def cookie_of(client):
    return "Cookie: " + "; ".join(f"{c.name}={c.value}" for c in client.jar)


def prepare(srv, tmp):
    """Our targets: the form page and the same bytes as a static file, the postal-code
    look-up over 1000 postal codes, and the three signed documents of finished trámites
    (re-downloads in the same trámite, as the module serves them)."""
    page = srv.client().get("/afiliate/nss").body
    (srv.root / "docroot" / "nss.html").write_bytes(page)
    cps = [r[0] for r in srv.query("SELECT DISTINCT cp FROM sepomex ORDER BY cp LIMIT 1000")]
    cplist = tmp / "cps.txt"
    cplist.write_text("\n".join(cps) + "\n")

    f = Form(srv, srv.client())
    f.submit(sample(srv, "found", 1)[0])

    ((curp2, nss2),) = srv.query("SELECT curp, nss FROM asegurado ORDER BY nss LIMIT 1")
    c2 = srv.client()
    page2 = c2.get("/afiliate/vigencia").text
    cid = re.search(r'name="captcha_id" value="([^"]*)"', page2).group(1)
    csrf = re.search(r'name="csrf" value="([^"]*)"', page2).group(1)
    c2.post("/afiliate/vigencia", {"curp": curp2, "nss": nss2, "correo": "a@ejemplo.mx",
                                   "correo_confirmacion": "a@ejemplo.mx", "csrf": csrf,
                                   "captcha_id": cid, "captcha": captcha_answer(srv.secret, cid)})

    targets = {
        "form": {"path": "/afiliate/nss", "body": len(page)},
        "static": {"path": "/nss.html", "body": len(page)},
        "lookup": {"path": "/", "prefix": "/afiliate/cp/", "list": cplist},
        "comprobante": {"path": "/afiliate/comprobante", "headers": [cookie_of(f.client)]},
        "tarjeta": {"path": "/afiliate/tarjeta", "headers": [cookie_of(f.client)]},
        "constancia": {"path": "/afiliate/constancia", "headers": [cookie_of(c2)]},
    }
    for name, client in (("comprobante", f.client), ("tarjeta", f.client), ("constancia", c2)):
        r = client.get(targets[name]["path"])
        if r.status != 200 or not r.body.startswith(b"%PDF-"):
            die(f"GET {targets[name]['path']} gave {r.status}, not a PDF")
        targets[name]["body"] = len(r.body)
    r = srv.client().get("/afiliate/cp/" + cps[0])
    if r.status != 200:
        die(f"GET /afiliate/cp/{cps[0]} gave {r.status}")
    targets["lookup"]["body"] = len(r.body)
    targets["first"] = first_downloads(srv, targets["comprobante"]["body"])
    return targets


def first_downloads(srv, body):
    """Trámites whose comprobante was never downloaded, for the first-download target:
    found-flow POSTs replayed by wrk (tests/bench/wrkpost.py) leave each session at the
    result; its first GET writes the documento row (folio, cadena, sello) and renders
    the signed PDF, so nothing comes from the cache of rendered documents."""
    need = ROUNDS * (SECONDS + WARMUP) * FIRST_MAX_RATE
    curps = sample(srv, "found", 2000)
    lines = [wrkpost.form_post(srv.secret, curps[i % len(curps)])[1] for i in range(need)]
    (before,) = srv.query("SELECT count(*) FROM tramite WHERE paso = 'resultado'")[0]

    def all_located():
        (n,) = srv.query("SELECT count(*) FROM tramite WHERE paso = 'resultado'")[0]
        return n - before >= need - wrkpost.CONNECTIONS

    r = wrkpost.replay(srv.base, lines, need // 1000 + 30, done=all_located)
    if len(r.cookies) < need // 2:
        die(f"only {len(r.cookies)} trámites prepared for the first downloads ({r.statuses})")
    per_round = len(r.cookies) // ROUNDS
    return {"path": "/afiliate/comprobante", "body": body, "first": True,
            "tokens": [r.cookies[i * per_round:(i + 1) * per_round] for i in range(ROUNDS)]}


def main():
    if not (PEER / "bench.sh").is_file() or not (PEER / "peer.lua").is_file():
        die(f"the PHP peer is missing: no bench.sh and peer.lua in {PEER} (expected in "
            "../shared/peer-php beside the checkout; PEER_PHP_DIR=DIR points elsewhere)")
    if os.geteuid() != 0:
        die("run as root (the peer's Apache switches its children to nobody)")
    started = time.time()
    srv = Apache("bench-peer", mpm=os.environ.get("BENCH_MPM", "event"))
    srv.setup(seed_count=20000)
    srv.start()
    ours, peer = {}, {}
    try:
        targets = prepare(srv, srv.root)
        for rnd in range(ROUNDS):
            for side in (("ours", "peer") if rnd % 2 == 0 else ("peer", "ours")):
                print(f"== round {rnd + 1}: {side} (load {os.getloadavg()[0]:.1f})",
                      file=sys.stderr, flush=True)
                if side == "ours":
                    for name, t in targets.items():
                        ours.setdefault(name, []).append(measure_ours(srv, t))
                else:
                    for name, row in measure_peer().items():
                        peer.setdefault(name, []).append(row)
    finally:
        srv.stop()
    report(targets, ours, peer, time.time() - started)


def med(rows):
    return statistics.median(r["rps"] for r in rows)


def spread(rows):
    return "/".join(f"{r['rps']:.0f}" for r in rows)


def report(targets, ours, peer, elapsed):
    load = os.getloadavg()
    print(f"# mod_afiliate vs the PHP peer ({PEER}), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"wrk -t2 -c16 -d{SECONDS}s after a {WARMUP}s warm-up, {ROUNDS} rounds alternating "
          f"which side goes first; req/s = median of the rounds (each round in brackets); "
          f"{os.cpu_count()} cores shared with wrk; load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}; {elapsed:.0f} s in all")
    print()
    rows = [
        ("form page GET /afiliate/nss", "form", "static file, same bytes", None, "static", 0.9),
        ("look-up GET /afiliate/cp/<cp>", "lookup", "lookup.php (PDO)", "lookup.php", None, 3),
        ("look-up GET /afiliate/cp/<cp>", "lookup", "lookup_persistent.php",
         "lookup_persistent.php", None, 2),
    ]
    for doc in ("comprobante", "tarjeta", "constancia"):
        rows.append((f"{doc} PDF", doc, "FPDF pdf.php", "pdf.php", None, 4))
        rows.append((f"{doc} PDF", doc, "TCPDF pdf_tcpdf.php", "pdf_tcpdf.php", None, 12))
    # No goal: the first download also writes and signs the documento row, which the
    # peer's script does not do; shown so that the cache is not mistaken for rendering.
    rows.append(("comprobante PDF, first download", "first", "FPDF pdf.php", "pdf.php", None,
                 None))
    rows.append(("comprobante PDF, first download", "first", "TCPDF pdf_tcpdf.php",
                 "pdf_tcpdf.php", None, None))
    print("| mod_afiliate | req/s | bytes | compared with | req/s | bytes | ratio | goal | |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---|")
    held = 0
    for label, mine, other_label, peer_name, our_other, goal in rows:
        a = ours[mine]
        b = ours[our_other] if our_other else peer[peer_name]
        body_b = targets[our_other]["body"] if our_other else b[0]["body"]
        ratio = med(a) / med(b)
        if goal is None:
            verdict, goal_text = "no goal", "—"
        else:
            held += ratio >= goal
            verdict, goal_text = "holds" if ratio >= goal else "NOT MET", f"≥ {goal}×"
        print(f"| {label} | {med(a):.0f} [{spread(a)}] | {targets[mine]['body']} | {other_label} "
              f"| {med(b):.0f} [{spread(b)}] | {body_b} | {ratio:.2f}× | {goal_text} "
              f"| {verdict} |")
    errs = sum(r["errors"] for rs in ours.values() for r in rs)
    perrs = sum(r["errors"] for rs in peer.values() for r in rs)
    print()
    print(f"non-2xx responses and socket errors: mod_afiliate {errs}, peer {perrs}")
    print("p99 ms, last round: " + ", ".join(f"{k} {v[-1]['p99_ms']:.1f}"
                                             for k, v in list(ours.items()) + list(peer.items())))
    print(f"goals: {held} of {sum(1 for r in rows if r[5] is not None)} hold")


if __name__ == "__main__":
    main()
