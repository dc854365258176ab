#!/usr/bin/env python3
"""HTTP benchmarks of mod_afiliate against one real apache2 (not a test).

Prints requests per second for:
- GET /afiliate/nss beside the same bytes served as a static file by that Apache;
- the signed PDF downloads: GET /afiliate/comprobante and /afiliate/tarjeta of a finished
  Paso 1 and GET /afiliate/constancia of a finished Paso 2 (each response is a PDF built,
  sealed and signed in the module; the documento row of the trámite is reused).

wrk drives them all. The POSTs (found flow, assignments) are measured by
post_bench.py (SQLite) and cluster_bench.py (PostgreSQL), wrk replaying
requests prepared beforehand.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
sys.path.insert(0, str(TOP / "tests"))

from flows import Form, sample  # noqa: E402
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

    # PDF download of a finished trámite.
    f, curp = Form(srv, srv.client()), sample(srv, "found", 1)[0]
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


if __name__ == "__main__":
    main()
