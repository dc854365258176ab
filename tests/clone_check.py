#!/usr/bin/env python3
"""The "clone" test layer: the README's `make run` from a clone no other user can enter.

Root's home is mode 0700, and so is every `mktemp -d` folder: Apache's children
(www-data) cannot search a checkout there. This clones the repository (with the
working tree's uncommitted and untracked files, so what is tested is what is on
disk) into such a folder, runs `make run` on a free loopback port, and passes when
Paso 1's form and a static file answer 200 with no permission error in the log.
The clone's folder is never made readable to others: the runtime tree must live
where the server can reach it by itself (scripts/runtime.py).

Prints "clone: N passed, N failed" and exits non-zero on a failure.
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
OUT = TOP / "tests" / "out"
DEADLINE = 900  # a build from nothing on 2 busy cores, then 100,000 demo persons


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args, cwd=TOP, **kw):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, **kw)


def make_clone(parent):
    dest = Path(parent) / "mod_afiliate"
    git("clone", "-q", "--no-hardlinks", str(TOP), str(dest))
    diff = git("diff", "HEAD", "--binary").stdout
    if diff:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=dest, input=diff,
                       check=True, capture_output=True)
    others = git("ls-files", "-z", "--others", "--exclude-standard").stdout.split(b"\0")
    for rel in filter(None, others):
        src, dst = TOP / os.fsdecode(rel), dest / os.fsdecode(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    return dest


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def main():
    checks = []  # (name, ok, detail)
    parent = tempfile.mkdtemp(prefix="afiliate-clone-")
    mode = stat.S_IMODE(os.stat(parent).st_mode)
    checks.append(("the clone's parent folder is mode 0700", mode == 0o700, oct(mode)))
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "clone-make-run.log"
    proc = None
    clone = None
    try:
        clone = make_clone(parent)
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        base = f"http://127.0.0.1:{port}/afiliate"
        status, body = 0, ""
        start = time.time()
        while time.time() - start < DEADLINE and proc.poll() is None:
            try:
                status, body = get(base + "/nss")
                if status:
                    break
            except OSError:
                time.sleep(1)
        took = time.time() - start
        checks.append(("make run serves Paso 1's form (200)",
                       status == 200 and 'name="curp"' in body,
                       f"status {status} after {took:.0f} s"))
        css = [p.name for p in (clone / "htdocs" / "static").glob("*.css")]
        st = get(f"{base}/static/{css[0]}")[0] if css else 0
        checks.append(("a static file is served (200)", st == 200, f"{css[:1]} -> {st}"))
        err_log = clone / "var" / "error_log"
        text = err_log.read_text(errors="replace") if err_log.exists() else ""
        denied = [l for l in text.splitlines() if "AH00035" in l or "Permission denied" in l]
        checks.append(("no permission error in var/error_log", not denied and bool(text),
                       denied[0] if denied else ("no error_log" if not text else "")))
        mode = stat.S_IMODE(os.stat(parent).st_mode)
        checks.append(("the clone's folder is still mode 0700", mode == 0o700, oct(mode)))
    except subprocess.CalledProcessError as e:
        checks.append(("clone the repository", False, (e.stderr or b"").decode(errors="replace")))
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if clone is not None and (clone / "scripts" / "runtime.py").exists():
            rt = subprocess.run([sys.executable, str(clone / "scripts" / "runtime.py"), "root"],
                                capture_output=True, text=True).stdout.strip()
            if rt and "mod_afiliate" in rt:
                shutil.rmtree(rt, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)

    passed = sum(1 for _, ok, _ in checks if ok)
    failed = len(checks) - passed
    for name, ok, detail in checks:
        print(f"clone: {'ok' if ok else 'FAILED'}: {name}" + (f" ({detail})" if detail else ""))
    if failed:
        print(f"clone: make run's output is in {log_path}")
        sys.stdout.write(log_path.read_text(errors="replace")[-4000:] if log_path.exists() else "")
    print(f"clone: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
