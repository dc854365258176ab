#!/usr/bin/env python3
"""Run every test layer and print one closing line: "N passed, N failed".

Layers: unit (Check binaries in build/tests), fuzz (corpus replay of each
fuzz target), integration (pytest against a real apache2). Exit status is
non-zero when anything failed or a layer could not run.
"""
import argparse
import os
import re
import subprocess
import sys
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
        return 0, 1
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
    return passed, failed


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
    return passed, failed


def run_integration(extra):
    OUT.mkdir(parents=True, exist_ok=True)
    junit = OUT / "integration.xml"
    if junit.exists():
        junit.unlink()
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--junitxml", str(junit), str(TOP / "tests" / "integration")] + extra
    proc = subprocess.run(cmd, cwd=TOP)
    if not junit.exists():
        print("integration: pytest produced no report")
        return 0, 1
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed, failed = total - bad - skipped, bad
    if proc.returncode not in (0, 1) and failed == 0:
        failed = 1
    print(f"integration: {passed} passed, {failed} failed, {skipped} skipped")
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["unit", "fuzz", "integration"])
    ap.add_argument("pytest_args", nargs="*")
    a = ap.parse_args()
    layers = {"unit": run_unit, "fuzz": run_fuzz,
              "integration": lambda: run_integration(a.pytest_args)}
    passed = failed = 0
    for name, fn in layers.items():
        if a.only and a.only != name:
            continue
        p, f = fn()
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
