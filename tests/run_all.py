#!/usr/bin/env python3
"""Run every test layer and print one closing line: "N passed, N failed, N skipped".

Layers: unit (Check binaries in build/tests), fuzz (corpus replay of each
fuzz target), integration (pytest against a real apache2), browser (node's
test runner driving Debian's Chromium through playwright-core against a real
apache2, with axe-core on every page; tests/browser/), clone (`make run` from
a fresh clone in a folder only root can enter; tests/clone_check.py), guard
(every directive struct member merged, defaulted and documented;
tests/config_guard.py, with its self-test). Every layer returns
(passed, failed, skipped); a skipped test is printed and counted, never
folded into the passes. Exit status is non-zero when anything failed or a
layer could not run.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
BUILD = TOP / "build"
OUT = TOP / "tests" / "out"

CHECK_RE = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def run_unit():
    passed = failed = 0
    bins = sorted(p for p in (BUILD / "tests").glob("test_*") if os.access(p, os.X_OK))
    if not bins:
        print("unit: no test binaries found")
        return 0, 1, 0
    for b in bins:
        proc = subprocess.run([str(b)], cwd=TOP, capture_output=True, text=True,
                              env=dict(os.environ, CK_DEFAULT_TIMEOUT="60"))
        out = proc.stdout + proc.stderr
        m = CHECK_RE.search(out)
        if not m:
            print(f"unit: {b.name}: no Check summary (exit {proc.returncode})\n{out}")
            failed += 1
            continue
        n, f, e = map(int, m.groups())
        passed += n - f - e
        failed += f + e
        status = "ok" if f + e == 0 and proc.returncode == 0 else "FAILED"
        print(f"unit: {b.name}: {n - f - e}/{n} {status}")
        if status != "ok":
            print(out)
            if f + e == 0:
                failed += 1
    # Check has no notion of a skipped test.
    print(f"unit: {passed} passed, {failed} failed, 0 skipped")
    return passed, failed, 0


def run_fuzz():
    passed = failed = 0
    for b in sorted((BUILD / "fuzz").glob("replay_fuzz_*")):
        name = b.name[len("replay_fuzz_"):]
        corpus = TOP / "tests" / "fuzz" / "corpus" / name
        proc = subprocess.run([str(b), str(corpus)], cwd=TOP, capture_output=True, text=True)
        ok = proc.returncode == 0
        print(f"fuzz: {name}: {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ''}"
              f" {'ok' if ok else 'FAILED'}")
        if ok:
            passed += 1
        else:
            failed += 1
            print(proc.stdout + proc.stderr)
    print(f"fuzz: {passed} passed, {failed} failed, 0 skipped")
    return passed, failed, 0


def run_integration(extra):
    OUT.mkdir(parents=True, exist_ok=True)
    junit = OUT / "integration.xml"
    if junit.exists():
        junit.unlink()
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--junitxml", str(junit), str(TOP / "tests" / "integration"),
           # needs the test-only build of make test-crash, which runs it
           f"--ignore={TOP / 'tests' / 'integration' / 'test_crash.py'}"] + extra
    proc = subprocess.run(cmd, cwd=TOP)
    if not junit.exists():
        print("integration: pytest produced no report")
        return 0, 1, 0
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed, failed = total - bad - skipped, bad
    if proc.returncode not in (0, 1) and failed == 0:
        failed = 1
    print(f"integration: {passed} passed, {failed} failed, {skipped} skipped")
    if skipped:
        for case in root.iter("testcase"):
            sk = case.find("skipped")
            if sk is not None:
                print(f"integration: skipped {case.get('classname')}::{case.get('name')}: "
                      f"{sk.get('message', '')}")
    return passed, failed, skipped


NODE_SUMMARY_RE = re.compile(r"^\s*[ℹ#]\s*(tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$")


def run_browser():
    """tests/browser/*.test.js under `node --test`; totals from its summary."""
    d = TOP / "tests" / "browser"
    if not (d / "node_modules" / "playwright-core").is_dir():
        print("browser: tests/browser/node_modules is missing (make test-browser runs npm ci)")
        return 0, 1, 0
    axe_log = OUT / "browser-axe.jsonl"
    OUT.mkdir(parents=True, exist_ok=True)
    if axe_log.exists():
        axe_log.unlink()
    for sub in ("screenshots", "downloads"):
        shutil.rmtree(OUT / sub, ignore_errors=True)
    files = sorted(str(p) for p in d.glob("*.test.js"))
    try:
        major = int(subprocess.run(["node", "--version"], capture_output=True, text=True)
                    .stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError):
        major = 0
    # One file at a time (each starts its own apache2 and Chromium); Node.js 18
    # (Debian's) has neither flag and runs files one at a time on 2 cores anyway.
    flags = ["--test-concurrency=1", "--test-force-exit"] if major >= 20 else []
    cmd = ["node", "--test", *flags, "--test-reporter=spec", *files]
    counts = {}
    try:
        proc = subprocess.Popen(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, encoding="utf-8", errors="replace",
                                start_new_session=True)
    except OSError as e:
        print(f"browser: cannot run node: {e}")
        return 0, 1, 0
    # A hung browser must not hang `make test`: the whole layer gets 10 minutes,
    # then SIGTERM (serve.py stops its apache2 on it), then SIGKILL.
    def stop_layer():
        print("browser: still running after 600 s: stopping it")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            time.sleep(10)

    watchdog = threading.Timer(600, stop_layer)
    watchdog.daemon = True
    watchdog.start()
    for line in proc.stdout:
        sys.stdout.write(line)
        m = NODE_SUMMARY_RE.match(line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    proc.wait()
    watchdog.cancel()
    if "pass" not in counts:
        print(f"browser: node --test printed no summary (exit {proc.returncode})")
        return 0, 1, 0
    passed = counts["pass"]
    failed = counts.get("fail", 0) + counts.get("cancelled", 0)
    skipped = counts.get("skipped", 0) + counts.get("todo", 0)
    if proc.returncode != 0 and failed == 0:
        failed = 1
    if axe_log.exists():
        rows = [json.loads(l) for l in axe_log.read_text().splitlines() if l.strip()]
        bad = sum(1 for r in rows if r["violations"])
        print(f"browser: axe-core (WCAG 2.1 A/AA) on {len(rows)} pages: "
              f"{bad} with violations")
    print(f"browser: {passed} passed, {failed} failed, {skipped} skipped")
    return passed, failed, skipped


def run_script(layer, script, *args):
    """A layer that is one script printing "<layer>: N passed, N failed[, N skipped]"."""
    proc = subprocess.run([sys.executable, str(TOP / "tests" / script), *args], cwd=TOP,
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout + proc.stderr)
    m = re.search(rf"^{layer}: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", proc.stdout,
                  re.M)
    if not m:
        return 0, 1, 0
    passed, failed, skipped = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if proc.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed, skipped


def run_guard():
    """tests/config_guard.py --self-test: the directive structs against the docs;
    tests/log_ids.py --self-test: every log line's id against docs/log-messages.md."""
    counts = [run_script("guard", "config_guard.py", "--self-test"),
              run_script("guard", "log_ids.py", "--self-test")]
    return tuple(sum(c[i] for c in counts) for i in range(3))


def run_clone():
    """tests/clone_check.py: `make run` from a fresh clone in a mode-0700 folder."""
    return run_script("clone", "clone_check.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["guard", "unit", "fuzz", "integration", "browser", "clone"])
    ap.add_argument("pytest_args", nargs="*")
    a = ap.parse_args()
    layers = {"guard": run_guard, "unit": run_unit, "fuzz": run_fuzz,
              "integration": lambda: run_integration(a.pytest_args),
              "browser": run_browser, "clone": run_clone}
    passed = failed = skipped = 0
    for name, fn in layers.items():
        if a.only and a.only != name:
            continue
        p, f, s = fn()
        passed += p
        failed += f
        skipped += s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
