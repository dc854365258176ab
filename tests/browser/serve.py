#!/usr/bin/env python3
"""A real apache2 with mod_afiliate for the browser tests.

Starts the server of tests/integration/harness.py (same generated config as
`make run` and the integration tests) with a seeded SQLite database, prints
one JSON line on stdout:

    {"base": "http://127.0.0.1:PORT", "db": PATH, "secret_file": PATH,
     "error_log": PATH, "found": [{"curp": ..., "nss": ...}, ...],
     "new": [CURP, ...], "inactive": [CURP, ...]}

and keeps it running until its standard input closes or it gets SIGTERM or
SIGINT; then it stops apache2 and exits. A line "log" on standard input makes
it print one JSON line: {"unexpected": [...]}, the error_log lines of level
warn or worse written since the last such line that the tests did not expect
(the same rules as the integration tests' `server` fixture).

Usage: serve.py [--name NAME] [--seed-count N] [--conf 'Directive value']...
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))

import harness  # noqa: E402
from harness import CTL, Apache  # noqa: E402

# A location with a tiny rate limit, to show the 429 page; its static files
# are served like the main location's.
LIMITED = """<Location /afiliate-limitado>
    SetHandler afiliate
    AfiliateRateLimit 2
</Location>
Alias /afiliate-limitado/static "{htdocs}/static"
<Location /afiliate-limitado/static>
    SetHandler none
</Location>"""


def sample(db, kind, count):
    """Registry CURPs of one kind (afiliatectl sample), in CURP order."""
    out = subprocess.run([str(CTL), "sample", kind, "--count", str(count), "--db", db],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default=f"browser-{os.getpid()}")
    ap.add_argument("--seed-count", type=int, default=400)
    ap.add_argument("--conf", action="append", default=[],
                    help="one more server-scope directive line (repeatable)")
    a = ap.parse_args()

    srv = Apache(a.name, extra=LIMITED.format(htdocs=harness.htdocs()).splitlines() + a.conf)
    srv.setup(seed_count=a.seed_count)
    # Run a private copy of the module: a `make` during the run rewrites
    # build/mod_afiliate.so in place, which would crash the running children.
    copy = srv.root / "mod_afiliate.so"
    shutil.copyfile(harness.MODULE, copy)
    harness.MODULE = copy
    srv.write_conf()
    counts = {"found": 40, "new": 80, "inactive": 5}
    curps = {k: sample(srv.db, k, n) for k, n in counts.items()}
    con = sqlite3.connect(f"file:{srv.db}?mode=ro", uri=True)
    try:
        nss = dict(con.execute(
            "SELECT curp, nss FROM asegurado WHERE curp IN (%s)" %
            ",".join("?" * len(curps["found"])), curps["found"]).fetchall())
    finally:
        con.close()
    srv.start()
    srv.new_log_lines()

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def unexpected():
        # The 429 page is asked for on purpose.
        srv.expect_log(r"form rate limit reached for a client address")
        # confirmar.test.js opens a spent e-mail confirmation link on purpose.
        srv.expect_log(r"an e-mail confirmation link was opened again")
        return srv.unexpected_log_lines()

    def watch_stdin():
        try:
            for line in sys.stdin:
                if line.strip() == "log":
                    print(json.dumps({"unexpected": unexpected()}), flush=True)
        except OSError:
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        print(json.dumps({
            "base": srv.base,
            "db": srv.db,
            "secret_file": str(srv.secret_path),
            "error_log": str(srv.error_log),
            "found": [{"curp": c, "nss": nss[c]} for c in curps["found"]],
            "new": curps["new"],
            "inactive": curps["inactive"],
        }), flush=True)
        while not done.wait(0.5):
            pass
    finally:
        srv.stop()
        bad = unexpected()
        if bad:
            print("serve.py: unexpected error_log lines:\n" + "\n".join(bad), file=sys.stderr)


if __name__ == "__main__":
    main()
