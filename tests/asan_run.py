#!/usr/bin/env python3
"""make test-asan: the integration suite against the ASan+UBSan build.

build/asan/mod_afiliate.so is loaded by every apache2 the tests start, with
libasan preloaded (httpd itself is not instrumented), and build/asan/afiliatectl
serves every CLI call. The suite runs on SQLite under the event and the prefork
MPM, in a runtime folder of its own (so it never shares servers with `make test`).
The run fails on a test failure and on any sanitizer report: in a server's
sanitizer.* files, in an error_log (a child's stderr), in afiliatectl's own
sanitizer files, or in pytest's output. Observed with gcc 12's runtime: a child's
error report lands in the error_log even with log_path set, while statistics
printed at exit reach the files; both are read.
The instrumented module cannot load without libasan first in the process
("ASan runtime does not come first"), so every server that started was checked.

Prints "asan: N passed, N failed, N sanitizer reports" and the wall time.
"""
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "scripts"))
import runtime  # noqa: E402

ASAN = TOP / "build" / "asan"
OUT = TOP / "tests" / "out"
# What a sanitizer writes: ASan and LSan errors, a deadly signal under ASan, UBSan's
# "runtime error:" lines and its summary.
REPORT_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|AddressSanitizer:DEADLYSIGNAL|"
                       r"runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")
# Files that need PostgreSQL, the cluster, the Debian package or the crash-point build
# (make test-crash): not this layer's.
IGNORE = ["test_cluster.py", "test_deb.py", "test_pgsql_schema.py", "test_crash.py"]


def libasan():
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                         text=True).stdout.strip()
    path = Path(out).resolve() if out else None
    if not path or not path.exists():
        raise SystemExit("asan: libasan.so not found (gcc -print-file-name=libasan.so)")
    return str(path)


def scan(root, since):
    """(file, first report line) for every sanitizer report written since the start."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.stat().st_mtime < since:
            continue
        if not (path.name.startswith("sanitizer") or path.name == "error_log"
                or path.name.startswith("ctl-sanitizer")):
            continue
        text = path.read_text(errors="replace")
        for line in text.splitlines():
            if REPORT_RE.search(line):
                found.append((path, line.strip()))
                break
    return found


def main():
    for name in ("mod_afiliate.so", "afiliatectl"):
        if not (ASAN / name).exists():
            raise SystemExit(f"asan: {ASAN / name} is missing (make asan-build)")
    rt = Path(str(runtime.root()) + "-asan")
    if rt.exists():
        shutil.rmtree(rt)
    env = dict(os.environ,
               AFILIATE_RUNTIME_DIR=str(rt),
               AFILIATE_MODULE=str(ASAN / "mod_afiliate.so"),
               AFILIATECTL=str(ASAN / "afiliatectl"),
               AFILIATE_SANITIZER_PRELOAD=libasan(),
               AFILIATE_MATRIX="event-sqlite3,prefork-sqlite3",
               AFILIATE_MAIL_DRIVERS="sqlite3",
               # afiliatectl is linked with the sanitizers, leak checking included (a
               # short-lived CLI frees what it allocates); its reports go to files too.
               ASAN_OPTIONS=f"detect_leaks=1:log_path={rt}/ctl-sanitizer",
               UBSAN_OPTIONS=f"print_stacktrace=1:log_path={rt}/ctl-sanitizer")
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "asan-pytest.log"
    junit = OUT / "asan.xml"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--junitxml", str(junit), str(TOP / "tests" / "integration"),
           "-k", "not pgsql and not postgresql"]
    cmd += [f"--ignore={TOP / 'tests' / 'integration' / f}" for f in IGNORE]
    cmd += sys.argv[1:]
    start = time.time()
    t0 = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=TOP, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in proc.stdout:
            sys.stdout.write(line)
            f.write(line)
        proc.wait()
    wall = time.monotonic() - t0

    passed = failed = 0
    if junit.exists():
        root = ET.parse(junit).getroot()
        suites = [root] if root.tag == "testsuite" else list(root)
        total = sum(int(s.get("tests", 0)) for s in suites)
        failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        passed = total - failed - sum(int(s.get("skipped", 0)) for s in suites)
    if proc.returncode != 0 and failed == 0:
        failed = 1
    reports = scan(rt, start - 1)
    if REPORT_RE.search(log.read_text()):
        reports.append((log, "report in pytest's output"))
    for path, line in reports:
        print(f"asan: sanitizer report in {path}: {line}")
    print(f"asan: wall time {wall:.0f} s")
    print(f"asan: {passed} passed, {failed} failed, {len(reports)} sanitizer reports")
    sys.exit(1 if failed or reports else 0)


if __name__ == "__main__":
    main()
