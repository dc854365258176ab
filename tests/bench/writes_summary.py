#!/usr/bin/env python3
"""Prints the write benchmarks side by side (not a test): SQLite
(post_bench.py) beside PostgreSQL through the cluster (cluster_bench.py), from
the figures they left in build/bench/writes-*.json during this `make bench`."""
import json
import sys
from pathlib import Path

DIR = Path(__file__).resolve().parents[2] / "build" / "bench"
ROWS = [
    ("found-flow POST", "found-flow POST /afiliate/nss", "found-flow POST", 2000),
    ("assignment POST", "assignment POST /afiliate/domicilio", "assignment POST", 1000),
]


def load(name):
    try:
        return json.loads((DIR / f"writes-{name}.json").read_text())
    except (OSError, ValueError):
        return None


def cell(r):
    if not r:
        return "-"
    return f"{r['rps']:.0f}/s p50 {r['p50_ms']:.1f} p99 {r['p99_ms']:.1f} ms"


def main():
    sq, pg = load("sqlite-event"), load("pgsql")
    if not sq and not pg:
        sys.exit("writes_summary: no figures (run post_bench.py and cluster_bench.py first)")
    print("== Writes side by side (wrk 2 threads, 16 connections; SQLite WAL synchronous=FULL "
          "vs PostgreSQL 15 synchronous_commit=on)")
    print(f"{'':18} {'SQLite, event MPM':32} {'PostgreSQL, one node':32} "
          f"{'PostgreSQL, balancer + 2 nodes':32} {'per node':22} goal (SQLite)")
    for name, sq_key, pg_key, goal in ROWS:
        s = sq.get(sq_key) if sq else None
        one = pg.get(f"one node: {pg_key}") if pg else None
        bal = pg.get(f"balancer, 2 nodes: {pg_key}") if pg else None
        nodes = ", ".join(f"{k} {v:.0f}/s" for k, v in sorted((bal or {}).get("nodes", {})
                                                             .items())) or "-"
        met = "" if not s else (" met" if s["rps"] >= goal else " NOT met")
        print(f"{name:18} {cell(s):32} {cell(one):32} {cell(bal):32} {nodes:22} "
              f">= {goal}/s{met}")
    print(f"{'duplicate NSS':18} {str(sq.get('duplicates', '-')) if sq else '-':32} "
          f"{str(pg.get('duplicates', '-')) if pg else '-':32}")
    print(f"{'load average':18} {sq.get('loadavg', '-') if sq else '-':32} "
          f"{pg.get('loadavg', '-') if pg else '-':32}")


if __name__ == "__main__":
    main()
