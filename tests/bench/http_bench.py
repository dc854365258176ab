#!/usr/bin/env python3
"""HTTP benchmarks of mod_afiliate against one real apache2 (not a test).

Prints requests per second for:
- GET /afiliate/nss beside the same bytes served as a static file by that Apache;
- the found-flow POST (forms fetched first, only the POSTs are timed);
- the signed PDF downloads: GET /afiliate/comprobante and /afiliate/tarjeta of a finished
  Paso 1 and GET /afiliate/constancia of a finished Paso 2 (each response is a PDF built,
  sealed and signed in the module; the documento row of the trámite is reused);
- assignments per second (POST /afiliate/domicilio of new CURPs, concurrent).

wrk drives the GETs; the POSTs need a fresh CAPTCHA and CSRF token each, so a
thread pool of keep-alive clients drives them.
"""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))

from flows import Form, domicilio, sample  # noqa: E402
from harness import Apache  # noqa: E402
from captcha_answer import captcha_answer  # noqa: E402

MPM = os.environ.get("BENCH_MPM", "event")
DURATION = os.environ.get("BENCH_SECONDS", "5")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))


def wrk(url, extra=()):
    out = subprocess.run(["wrk", "-t2", f"-c{CONCURRENCY * 2}", f"-d{DURATION}s", "--latency",
                          *extra, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def parallel(items, fn, workers=CONCURRENCY):
    """Runs fn over items with `workers` threads; returns (seconds, results)."""
    results, lock, it = [], threading.Lock(), iter(items)

    def worker():
        while True:
            with lock:
                try:
                    item = next(it)
                except StopIteration:
                    return
            r = fn(item)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, results


def main():
    srv = Apache(f"bench-{MPM}", mpm=MPM)
    srv.setup(seed_count=20000)
    srv.start()
    try:
        run(srv)
    finally:
        srv.stop()


def run(srv):
    print(f"== mod_afiliate HTTP benchmark ({MPM} MPM, {os.cpu_count()} cores, "
          f"{CONCURRENCY * 2} connections, {DURATION} s per wrk run)")
    # The same bytes as the form page, served as a static file by the same Apache.
    page = srv.client().get("/afiliate/nss").body
    (srv.root / "docroot" / "nss.html").write_bytes(page)
    static_rps, static_p99, _ = wrk(f"{srv.base}/nss.html")
    form_rps, form_p99, bad = wrk(f"{srv.base}/afiliate/nss")
    print(f"GET /afiliate/nss          {form_rps:10.0f} req/s  p99 {form_p99}  "
          f"({form_rps / static_rps:.2f} of static; non-2xx {bad})")
    print(f"GET static, same {len(page)} B  {static_rps:10.0f} req/s  p99 {static_p99}")

    # Found flow: prepare forms, time only the POSTs.
    found = sample(srv, "found", 400)
    forms = [(Form(srv, srv.client()), curp) for curp in found]
    secs, res = parallel(forms, lambda fc: fc[0].submit(fc[1]).status)
    ok = sum(1 for s in res if s == 200)
    print(f"POST /afiliate/nss (found) {len(res) / secs:10.0f} req/s  "
          f"({ok}/{len(res)} ok; each POST follows its 303 to the result page)")

    # PDF download of a finished trámite.
    f, curp = Form(srv, srv.client()), found[0]
    f.submit(curp)
    cookie = "; ".join(f"{c.name}={c.value}" for c in f.client.jar)
    pdf_rps, pdf_p99, bad = wrk(f"{srv.base}/afiliate/comprobante", ["-H", f"Cookie: {cookie}"])
    print(f"GET /afiliate/comprobante  {pdf_rps:10.0f} req/s  p99 {pdf_p99}  (non-2xx {bad})")
    pdf_rps, pdf_p99, bad = wrk(f"{srv.base}/afiliate/tarjeta", ["-H", f"Cookie: {cookie}"])
    print(f"GET /afiliate/tarjeta      {pdf_rps:10.0f} req/s  p99 {pdf_p99}  (non-2xx {bad})")

    # The constancia of a finished Paso 2 (a demo insured person: CURP + NSS).
    ((curp2, nss2),) = srv.query("SELECT curp, nss FROM asegurado ORDER BY nss LIMIT 1")
    c2 = srv.client()
    page = c2.get("/afiliate/vigencia").text
    cid = re.search(r'name="captcha_id" value="([^"]*)"', page).group(1)
    csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
    c2.post("/afiliate/vigencia", {"curp": curp2, "nss": nss2, "correo": "a@ejemplo.mx",
                                   "correo_confirmacion": "a@ejemplo.mx", "csrf": csrf,
                                   "captcha_id": cid,
                                   "captcha": captcha_answer(srv.secret, cid)})
    cookie2 = "; ".join(f"{c.name}={c.value}" for c in c2.jar)
    pdf_rps, pdf_p99, bad = wrk(f"{srv.base}/afiliate/constancia", ["-H", f"Cookie: {cookie2}"])
    print(f"GET /afiliate/constancia   {pdf_rps:10.0f} req/s  p99 {pdf_p99}  (non-2xx {bad})")

    # Assignments: new CURPs up to the address form, then time the assignments.
    new = sample(srv, "new", 400)
    clients = []
    for curp in new:
        c = srv.client()
        Form(srv, c).submit(curp)
        clients.append(c)
    secs, res = parallel(clients, lambda c: domicilio(c).status)
    ok = sum(1 for s in res if s == 200)
    print(f"assignments (POST /afiliate/domicilio) {len(res) / secs:6.0f} /s  "
          f"({ok}/{len(res)} ok)")


if __name__ == "__main__":
    main()
