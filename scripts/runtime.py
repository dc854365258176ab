#!/usr/bin/env python3
"""The runtime tree of a checkout: what Apache's children and PostgreSQL read and write.

Apache's children run as www-data and the tests' PostgreSQL as postgres. A checkout
may sit where those users cannot enter (a clone under /root, or in any `mktemp -d`
folder, mode 0700), and its permissions are the user's business. So everything a
server process must reach at run time lives outside the checkout, in a folder of
this checkout's own:

    /var/tmp/mod_afiliate-<uid>/<checkout name>-<hash of its path>/
        htdocs/   a copy of htdocs/ (templates, static files), refreshed at each start
        var/      `make run`'s data: database, secret, signing key, logs, httpd.conf
                  (the checkout's var/ is a symbolic link to it)
        gen/      the tests' servers, databases and private PostgreSQL

The module itself is loaded by the root parent before it drops privileges, so it is
used from build/ in place. AFILIATE_RUNTIME_DIR overrides the location.

Usage: scripts/runtime.py root|htdocs|var
"""
import hashlib
import os
import shutil
import stat
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]


def _own_dir(path):
    """A directory of ours, mode 0755 whatever the umask; refuses one planted by another user."""
    try:
        path.mkdir(mode=0o755)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise SystemExit(f"runtime: {path} is not a directory owned by uid {os.geteuid()}; "
                         "remove it or set AFILIATE_RUNTIME_DIR")
    if stat.S_IMODE(st.st_mode) != 0o755:
        os.chmod(path, 0o755)
    return path


def root():
    env = os.environ.get("AFILIATE_RUNTIME_DIR")
    if env:
        base = Path(env)
        base.parent.mkdir(parents=True, exist_ok=True)
        return _own_dir(base)
    tag = hashlib.sha256(str(TOP).encode()).hexdigest()[:10]
    parent = _own_dir(Path("/var/tmp") / f"mod_afiliate-{os.geteuid()}")
    return _own_dir(parent / f"{TOP.name}-{tag}")


def subdir(name):
    return _own_dir(root() / name)


def var():
    """`make run`'s data folder; the checkout's var/ becomes a link to it."""
    dest = root() / "var"
    link = TOP / "var"
    if link.is_dir() and not link.is_symlink():
        # A var/ folder made by an older build: its data moves out once.
        if dest.exists() and any(dest.iterdir()):
            raise SystemExit(f"runtime: both {link} and {dest} hold data; remove one of them")
        if dest.exists():
            dest.rmdir()
        shutil.move(str(link), str(dest))
        print(f"runtime: moved var/ to {dest}", file=sys.stderr)
    _own_dir(dest)
    if not (link.is_symlink() and os.readlink(link) == str(dest)):
        tmp = TOP / f".var.{os.getpid()}"
        os.symlink(dest, tmp)
        os.replace(tmp, link)
    return dest


def _readable_copy(src, dst):
    shutil.copytree(src, dst)
    for d, dirs, files in os.walk(dst):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


def htdocs():
    """Refresh the copy of htdocs/ and return its path.

    The new copy is built beside the old one and swapped in, so a server that is
    running from the old copy never sees a half-written folder.
    """
    base = root()
    dest = base / "htdocs"
    fresh = base / f".htdocs.{os.getpid()}"
    old = base / f".htdocs-old.{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    _readable_copy(TOP / "htdocs", fresh)
    try:
        os.rename(dest, old)
    except FileNotFoundError:
        pass
    try:
        os.rename(fresh, dest)
    except OSError:
        # Another process swapped in its own copy of the same files first.
        shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return dest


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "root"
    if what == "root":
        print(root())
    elif what == "htdocs":
        print(htdocs())
    elif what == "var":
        print(var())
    else:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
