#!/usr/bin/env python3
"""Write benchmarks on PostgreSQL through the cluster (not a test): the same
found-flow and assignment POSTs as post_bench.py, replayed by wrk
(tests/bench/replay.lua), first against one node directly, then through the
balancer in front of two nodes, with the answers counted per node (the nodes
tag their answers with X-Afiliate-Node). PostgreSQL 15, fsync and
synchronous_commit on, AfiliateRateLimit 0.
"""
import hashlib
import os
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests" / "bench"))
sys.path.insert(0, str(TOP / "scripts"))

from cluster import Cluster  # noqa: E402
from harness import GEN, free_port  # noqa: E402
import wrkpost  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "2500"))
WARM = 500


def curps(cluster, kind, n):
    if kind == "found":
        sql = f"SELECT curp FROM asegurado ORDER BY random() LIMIT {n}"
    else:
        sql = ("SELECT p.curp FROM renapo_persona p LEFT JOIN asegurado a USING (curp) "
               "WHERE a.curp IS NULL AND p.status_curp = 'AN' ORDER BY random() "
               f"LIMIT {n}")
    return cluster.pg.psql(sql).stdout.split()


def one(cluster, sql):
    return int(cluster.pg.psql(sql).stdout.strip())


def run(base, lines, label, results):
    warm = wrkpost.replay(base, lines[:WARM], 1)
    r = wrkpost.replay(base, lines[WARM:], SECONDS)
    r.cookies = warm.cookies + r.cookies   # the rotated sessions
    per_node = ", ".join(f"{k} {v / SECONDS:.0f}/s" for k, v in sorted(r.nodes.items()))
    print(r.line(label) + (f"; per node: {per_node}" if per_node else ""), flush=True)
    results[label] = {"rps": r.rps, "p50_ms": r.p50, "p99_ms": r.p99, "ok": r.ok(303),
                      "nodes": {k: v / SECONDS for k, v in r.nodes.items()}}
    return r


def measure(cluster, base, label, secret, used, results):
    n = SECONDS * MAX_RATE + WARM
    found = [c for c in curps(cluster, "found", n + len(used)) if c not in used][:n]
    used.update(found)
    run(base, [wrkpost.form_post(secret, c)[1] for c in found],
        f"{label}: found-flow POST", results)
    lines = [wrkpost.form_post(secret, c)[1] for c in curps(cluster, "new", n)]
    tokens = run(base, lines, f"{label}: new-CURP POST", results).cookies
    ready = set(cluster.pg.psql("SELECT id FROM tramite WHERE paso = 'domicilio'").stdout.split())
    lines = [wrkpost.domicilio_post(secret, t) for t in tokens
             if hashlib.sha256(t.encode()).hexdigest() in ready]
    run(base, lines, f"{label}: assignment POST", results)


def main():
    cluster = Cluster(GEN / "bench-cluster", free_port(), nodes=2, rate_limit=0,
                      identity_limits=(1000000, 1000000))
    cluster.start(count=100000)
    results = {}
    try:
        secret = cluster.secret.read_bytes().strip()
        print(f"== PostgreSQL 15 (fsync, synchronous_commit on) write benchmark: event MPM, "
              f"{os.cpu_count()} cores, wrk {wrkpost.THREADS} threads "
              f"{wrkpost.CONNECTIONS} connections, {SECONDS} s per run; load average "
              f"{wrkpost.loadavg()}", flush=True)
        used = set()
        measure(cluster, f"http://127.0.0.1:{cluster.nodes[0].port}", "one node", secret, used,
                results)
        measure(cluster, f"http://127.0.0.1:{cluster.port}", "balancer, 2 nodes", secret, used,
                results)
        dups = one(cluster, "SELECT count(*) FROM (SELECT nss FROM asegurado GROUP BY nss "
                            "HAVING count(*) > 1) d")
        wrong = one(cluster, "SELECT count(*) FROM tramite t LEFT JOIN asegurado a "
                             "ON a.curp = t.curp WHERE t.paso = 'resultado' AND "
                             "t.origen = 'asignado' AND (a.nss IS NULL OR a.nss <> t.nss)")
        print(f"  database after the runs: duplicate NSS: {dups}; sessions whose NSS is not "
              f"their row's: {wrong}; load average {wrkpost.loadavg()}")
        results["duplicates"] = dups
        wrkpost.save("pgsql", results)
        if dups or wrong:
            sys.exit("cluster_bench: the assignment runs left the database inconsistent")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
