#!/usr/bin/env python3
"""PostgreSQL benchmarks (not a test): assignments per second and found-flow
requests per second through one node, and through the balancer with two nodes.

Each measured request needs its own CAPTCHA and CSRF token, so forms are fetched
first and only the POSTs are timed, from a pool of keep-alive client threads.
"""
import os
import sys
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))
sys.path.insert(0, str(TOP / "scripts"))

from cluster import Cluster  # noqa: E402
from flows import Form, domicilio  # noqa: E402
from harness import GEN, Client, free_port  # noqa: E402

N = int(os.environ.get("BENCH_REQUESTS", "400"))
WORKERS = int(os.environ.get("BENCH_CONCURRENCY", "16"))


class Endpoint:
    def __init__(self, base, secret_path):
        self.base = base
        self.secret = secret_path.read_bytes().strip()

    def client(self):
        return Client(self.base)


def timed(items, fn):
    lock, it = threading.Lock(), iter(items)
    ok = [0]

    def worker():
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            if fn(item):
                with lock:
                    ok[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, ok[0]


def curps(cluster, kind, n):
    if kind == "found":
        sql = f"SELECT curp FROM asegurado ORDER BY random() LIMIT {n}"
    else:
        sql = ("SELECT p.curp FROM renapo_persona p LEFT JOIN asegurado a USING (curp) "
               "WHERE a.curp IS NULL AND p.status_curp = 'AN' ORDER BY random() "
               f"LIMIT {n}")
    return cluster.pg.psql(sql).stdout.split()


def measure(cluster, ep, label):
    forms = [(Form(ep, ep.client()), c) for c in curps(cluster, "found", N)]
    secs, ok = timed(forms, lambda fc: fc[0].submit(fc[1]).status == 200)
    print(f"{label}: found-flow POST {N / secs:8.0f} req/s ({ok}/{N} ok)")
    clients = []
    for c in curps(cluster, "new", N):
        cl = ep.client()
        Form(ep, cl).submit(c)
        clients.append(cl)
    secs, ok = timed(clients, lambda cl: domicilio(cl).status == 200)
    print(f"{label}: assignments     {N / secs:8.0f} /s     ({ok}/{N} ok)")


def main():
    cluster = Cluster(GEN / "bench-cluster", free_port(), nodes=2, rate_limit=0)
    cluster.start(count=20000)
    try:
        print(f"== PostgreSQL 15, event MPM, {os.cpu_count()} cores, {WORKERS} client threads, "
              f"{N} requests per figure")
        node = Endpoint(f"http://127.0.0.1:{cluster.nodes[0].port}", cluster.secret)
        measure(cluster, node, "one node        ")
        bal = Endpoint(f"http://127.0.0.1:{cluster.port}", cluster.secret)
        measure(cluster, bal, "balancer, 2 nodes")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
