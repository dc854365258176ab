"""The Debian package on this machine's real apache2, as an administrator uses it.

`make deb` builds build/libapache2-mod-afiliate_*.deb; this test installs it
with apt-get, checks what postinst made, imports the seed SEPOMEX subset, the
demo UMFs and a demo registry with the installed /usr/sbin/afiliatectl, runs
`a2enmod afiliate`, starts Apache with `apache2ctl start` on a free loopback
port, walks Paso 1 (found and new) to the signed PDF, then removes and purges
the package and checks that Apache still starts without it.

The system Apache is never started and /etc/apache2 is never edited by hand:
Apache runs as a second Debian instance (APACHE_CONFDIR=/etc/apache2-afiliate-test,
a copy of /etc/apache2 whose ports.conf listens on 127.0.0.1:PORT; Debian's
envvars gives it its own run, lock and log folders). Only dpkg and a2enmod
touch /etc/apache2 and /var/lib/apache2, exactly as for an administrator; both
are snapshotted first and compared (and restored) at the end. Maintainer
scripts restart apache2 through invoke-rc.d: a policy-rc.d that denies it is
in place for the duration (the machine's own, or a temporary one).

Needs root (CI runs as root). Whatever happens, the package is purged, the
test instance stopped and removed, /var/lib/afiliate removed and the
snapshots restored; a run killed outright is repaired by the next one (the
snapshot stays in /var/tmp/afiliate-deb-test until then).
"""
import fcntl
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from captcha_answer import load_secret
from flows import Form, assigned_nss, domicilio
from harness import TOP, Client, free_port, wait_exit

PKG = "libapache2-mod-afiliate"
CTL = "/usr/sbin/afiliatectl"
STATE = Path("/var/lib/afiliate")
DB = STATE / "afiliate.db"
SECRET = Path("/etc/apache2/afiliate.secret")
KEY = Path("/etc/apache2/afiliate-signing.key")
PUB = Path("/etc/apache2/afiliate-signing.pub")
ETC = Path("/etc/apache2")
VARLIB = Path("/var/lib/apache2")
POLICY = Path("/usr/sbin/policy-rc.d")
INSTANCE = "afiliate-test"
CONFDIR = Path(f"/etc/apache2-{INSTANCE}")
INSTANCE_DIRS = [CONFDIR, Path(f"/var/run/apache2-{INSTANCE}"),
                 Path(f"/var/lock/apache2-{INSTANCE}"), Path(f"/var/log/apache2-{INSTANCE}")]
WORK = Path("/var/tmp/afiliate-deb-test")     # snapshots; its presence means "repair first"
LOCK = Path("/run/lock/afiliate-deb-test.lock")
SEED = TOP / "sql" / "seed"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root: installs the .deb with apt-get into the system and runs apache2ctl")

APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]


def run(*cmd, env=None, check=True, timeout=300, cwd=None):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))}: exit {proc.returncode}\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def installed():
    proc = run("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    return proc.returncode == 0 and "not-installed" not in proc.stdout \
        and proc.stdout.strip() != ""


# ---------------------------------------------------------------- snapshots


def manifest(root):
    """path -> (kind, mode, uid, gid, content digest or link target); mtimes ignored."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                what = ("dir", None)
            else:
                what = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            out[rel] = (what[0], stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what[1])
    return out


def diff(before, after):
    lines = [f"+ {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"- {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return lines


def restore(snapshot, root):
    """Make root equal to snapshot again, touching only what differs."""
    want, have = manifest(snapshot), manifest(root)
    for rel in sorted(have.keys() - want.keys(), reverse=True):
        p = root / rel
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for rel in sorted(want):
        if have.get(rel) == want[rel]:
            continue
        src, dst = snapshot / rel, root / rel
        kind, mode, uid, gid, _ = want[rel]
        if dst.is_symlink() or (dst.exists() and not dst.is_dir()):
            dst.unlink()
        elif dst.is_dir() and kind != "dir":
            shutil.rmtree(dst)
        if kind == "dir":
            dst.mkdir(exist_ok=True)
        elif kind == "link":
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
        if kind != "link":
            os.chown(dst, uid, gid)
            os.chmod(dst, mode)


# ---------------------------------------------------------------- the test instance


def instance_env():
    return dict(os.environ, APACHE_CONFDIR=str(CONFDIR))


def make_instance(port):
    """A copy of the machine's /etc/apache2 as it is now, listening on 127.0.0.1:port."""
    if CONFDIR.exists():
        shutil.rmtree(CONFDIR)
    shutil.copytree(ETC, CONFDIR, symlinks=True)
    (CONFDIR / "ports.conf").write_text(f"Listen 127.0.0.1:{port}\n")
    Path(f"/var/log/apache2-{INSTANCE}").mkdir(exist_ok=True)


def instance_pid():
    try:
        return int(Path(f"/var/run/apache2-{INSTANCE}/apache2.pid").read_text())
    except (OSError, ValueError):
        return None


def start_instance(port):
    proc = run("apache2ctl", "start", env=instance_env(), check=False)
    error_log = Path(f"/var/log/apache2-{INSTANCE}/error.log")
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.returncode == 0:
            try:
                Client(f"http://127.0.0.1:{port}").get("/", timeout=2)
                return
            except OSError:
                pass
        time.sleep(0.1)
    log = error_log.read_text(errors="replace") if error_log.exists() else ""
    raise AssertionError(f"apache2ctl start: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
                         f"\nerror.log:\n{log}")


def stop_instance():
    pid = instance_pid()
    if CONFDIR.exists():
        run("apache2ctl", "stop", env=instance_env(), check=False)
    if pid is None:
        return
    if wait_exit(pid, step=0.1):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- cleanup


def policy_denies():
    if not os.access(POLICY, os.X_OK):
        return False
    return run(POLICY, "apache2", "restart", check=False).returncode == 101


def deny_service_starts():
    """Maintainer scripts restart apache2 through invoke-rc.d: make sure it is refused."""
    if policy_denies():
        return
    if POLICY.exists() or POLICY.is_symlink():
        shutil.copy2(POLICY, WORK / "policy-rc.d", follow_symlinks=False)
    POLICY.write_text("#!/bin/sh\n# Temporary: tests/integration/test_deb.py, removed when it ends.\n"
                      "exit 101\n")
    POLICY.chmod(0o755)
    (WORK / "policy-rc.d.ours").touch()


def clean_up():
    """Leave nothing behind: stop, purge, remove, restore. Safe to call twice."""
    errors = []

    def attempt(what, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every step runs whatever the others did
            errors.append(f"{what}: {e}")

    attempt("stop the test apache2", stop_instance)
    if installed():
        attempt("purge the package",
                lambda: run(*APT, "purge", PKG, env=APT_ENV))
    for d in INSTANCE_DIRS + [STATE]:
        attempt(f"remove {d}", lambda d=d: shutil.rmtree(d) if d.exists() else None)
    for snap, root in ((WORK / "etc-apache2", ETC), (WORK / "var-lib-apache2", VARLIB)):
        if snap.is_dir():
            attempt(f"restore {root}", lambda s=snap, r=root: restore(s, r))
    if (WORK / "policy-rc.d.ours").exists():
        def put_back():
            POLICY.unlink()
            if (WORK / "policy-rc.d").exists() or (WORK / "policy-rc.d").is_symlink():
                shutil.copy2(WORK / "policy-rc.d", POLICY, follow_symlinks=False)
        attempt("restore policy-rc.d", put_back)
    if not errors:
        shutil.rmtree(WORK, ignore_errors=True)
    return errors


@pytest.fixture
def machine():
    """Exclusive use of dpkg's view of this package; snapshots taken; cleanup guaranteed."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if WORK.exists():                      # a run that was killed: repair first
            left = clean_up()
            assert not left, "cannot repair what a killed run left:\n" + "\n".join(left)
        if installed():
            pytest.fail(f"{PKG} is already installed on this machine; this test installs and "
                        f"purges it: remove it first (apt-get purge {PKG})")
        for p in (STATE, SECRET, KEY, PUB, CONFDIR):
            assert not p.exists(), f"{p} exists before the package is installed; remove it first"
        WORK.mkdir(parents=True)
        shutil.copytree(ETC, WORK / "etc-apache2", symlinks=True)
        shutil.copytree(VARLIB, WORK / "var-lib-apache2", symlinks=True)
        deny_service_starts()

        def on_term(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        old_term = signal.signal(signal.SIGTERM, on_term)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, old_term)
            left = clean_up()
            assert not left, "cleanup failed:\n" + "\n".join(left)


# ---------------------------------------------------------------- the walk


def build_deb():
    proc = run("make", "-C", TOP, "--no-print-directory", "deb", check=False, timeout=900)
    assert proc.returncode == 0, f"make deb failed:\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
    version = run("dpkg-parsechangelog", "-l", TOP / "debian" / "changelog",
                  "-S", "Version").stdout.strip()
    arch = run("dpkg", "--print-architecture").stdout.strip()
    deb = TOP / "build" / f"{PKG}_{version}_{arch}.deb"
    assert deb.is_file(), f"make deb did not write {deb}"
    return deb


def ctl(*args, user=None):
    cmd = [CTL, *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return run(*cmd).stdout


def owner(p):
    st = p.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, \
        stat.S_IMODE(st.st_mode)


def pdf_text(body, path):
    path.write_bytes(body)
    check = run("qpdf", "--check", path, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    return run("pdftotext", "-layout", path, "-").stdout


class Server:
    """What flows.Form needs: the secret the module derives CAPTCHA answers from."""

    def __init__(self, port):
        self.port = port
        self.secret = load_secret(str(SECRET))

    def client(self):
        return Client(f"http://127.0.0.1:{self.port}")


def check_postinst_state():
    files = run("dpkg", "-L", PKG).stdout.split()
    for path in ("/usr/lib/apache2/modules/mod_afiliate.so", CTL,
                 "/etc/apache2/mods-available/afiliate.load",
                 "/etc/apache2/mods-available/afiliate.conf",
                 "/usr/share/afiliate/templates/nss.html", "/usr/share/afiliate/static/afiliate.css",
                 "/usr/share/afiliate/sql/sqlite/schema.sql",
                 "/usr/share/afiliate/sql/pgsql/schema.sql",
                 f"/usr/share/doc/{PKG}/README.md", f"/usr/share/doc/{PKG}/copyright",
                 f"/usr/share/doc/{PKG}/docs/deployment.md"):
        assert path in files, f"{PKG} does not ship {path}"
    assert "# Depends: dbd" in Path("/etc/apache2/mods-available/afiliate.load").read_text()
    # Not enabled by the package: the administrator enables it after the SEPOMEX import.
    assert not (ETC / "mods-enabled" / "afiliate.load").exists()

    assert owner(STATE)[:2] == ("www-data", "www-data")
    assert owner(DB)[:2] == ("www-data", "www-data")
    with sqlite3.connect(DB) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sepomex", "umf", "umf_cp", "renapo_persona", "asegurado"} <= tables, tables
    for p in (SECRET, KEY):
        assert owner(p) == ("root", "root", 0o600), (p, owner(p))
    assert len(load_secret(str(SECRET))) >= 32
    assert PUB.exists()


def load_data():
    """The administrator's imports, as the user that owns the database. The files are
    copied out of the checkout first: www-data cannot read a clone under /root, as it
    could not read the admin's own download there."""
    seed = WORK / "seed"
    seed.mkdir(mode=0o755, exist_ok=True)
    for name in ("sepomex-subset.txt", "umf-demo.csv"):
        shutil.copy(SEED / name, seed / name)
        (seed / name).chmod(0o644)
    ctl("import-sepomex", seed / "sepomex-subset.txt", "--db", DB, user="www-data")
    ctl("import-umf", seed / "umf-demo.csv", "--db", DB, user="www-data")
    ctl("demo-registry", "--count", "2000", "--seed", "7", "--db", DB, user="www-data")
    leftovers = [p.name for p in STATE.iterdir() if owner(p)[0] != "www-data"]
    assert not leftovers, f"files in {STATE} not owned by www-data: {leftovers}"


def walk_paso1(port, tmp_path):
    srv = Server(port)
    found = ctl("sample", "found", "--count", "1", "--db", DB).split()[0]
    new = ctl("sample", "new", "--count", "1", "--db", DB).split()[0]

    c = srv.client()
    r = Form(srv, c).submit(found, correo="localiza@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/afiliate/resultado"), (r.status, r.url, r.text)
    assert "localizado" in r.text
    with sqlite3.connect(DB) as con:
        nss = con.execute("SELECT nss FROM asegurado WHERE curp = ?", (found,)).fetchone()[0]
    pdf = c.get("/afiliate/comprobante")
    assert pdf.status == 200 and pdf.header("Content-Type") == "application/pdf"
    text = pdf_text(pdf.body, tmp_path / "localizado.pdf")
    assert nss in text and found in text and "Localización" in text
    verdict = run(CTL, "verify", tmp_path / "localizado.pdf", "--pub", PUB, check=False)
    assert verdict.returncode == 0 and verdict.stdout.startswith("valid"), \
        verdict.stdout + verdict.stderr

    c = srv.client()
    r = Form(srv, c).submit(new, correo="nuevo@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/afiliate/domicilio"), (r.status, r.url)
    r = domicilio(c)
    assert r.status == 200 and "Asignación de NSS exitosa." in r.text, r.text
    nss = assigned_nss(r.text)
    assert nss
    text = pdf_text(c.get("/afiliate/comprobante").body, tmp_path / "asignado.pdf")
    assert nss in text and new in text and "Asignación" in text


def check_error_log():
    log = Path(f"/var/log/apache2-{INSTANCE}/error.log").read_text(errors="replace")
    bad = [line for line in log.splitlines()
           if re.search(r":(error|crit|alert|emerg)\]", line) or "Segmentation fault" in line]
    assert not bad, "error.log:\n" + "\n".join(bad)


def test_package_install_serve_remove_purge(machine, tmp_path):
    deb = build_deb()
    etc_before = manifest(WORK / "etc-apache2")
    dbd_was_enabled = (ETC / "mods-enabled" / "dbd.load").exists()

    # Install, the way the README tells an administrator to.
    run(*APT, "install", "--no-install-recommends", f"./{deb.name}", cwd=deb.parent,
        env=APT_ENV)
    check_postinst_state()
    load_data()

    # Installing again keeps the secret, the key and the data (postinst makes them once).
    secret, key = SECRET.read_bytes(), KEY.read_bytes()
    with sqlite3.connect(DB) as con:
        persons = con.execute("SELECT count(*) FROM renapo_persona").fetchone()[0]
    assert persons >= 2000
    run(*APT, "install", "--reinstall", f"./{deb.name}", cwd=deb.parent, env=APT_ENV)
    assert SECRET.read_bytes() == secret and KEY.read_bytes() == key
    with sqlite3.connect(DB) as con:
        assert con.execute("SELECT count(*) FROM renapo_persona").fetchone()[0] == persons

    run("a2enmod", "afiliate")
    assert (ETC / "mods-enabled" / "afiliate.load").is_symlink()
    assert (ETC / "mods-enabled" / "dbd.load").exists()

    port = free_port()
    make_instance(port)
    start_instance(port)
    try:
        walk_paso1(port, tmp_path)
    finally:
        stop_instance()
    check_error_log()

    # remove: the module is disabled and its files go; the data stays.
    run(*APT, "remove", PKG, env=APT_ENV)
    assert not installed() or "config-files" in run("dpkg-query", "-W", "-f=${Status}",
                                                      PKG).stdout
    assert not Path(CTL).exists()
    assert not (ETC / "mods-enabled" / "afiliate.load").exists()
    for p in (DB, SECRET, KEY, PUB):
        assert p.exists(), f"remove deleted {p}"

    # purge: the data goes too.
    run(*APT, "purge", PKG, env=APT_ENV)
    assert not installed()
    for p in (STATE, SECRET, KEY, PUB, ETC / "mods-available" / "afiliate.conf",
              ETC / "mods-available" / "afiliate.load"):
        assert not p.exists(), f"purge left {p}"
    assert not [p for p in VARLIB.rglob("*afiliate*")], "purge left a2enmod state behind"

    # Apache still starts with the machine's configuration as the package left it.
    port = free_port()
    make_instance(port)
    start_instance(port)
    try:
        assert Client(f"http://127.0.0.1:{port}").get("/afiliate/nss").status == 404
    finally:
        stop_instance()

    # a2enmod brought mod_dbd in (afiliate.load says "# Depends: dbd") and a2dismod
    # leaves dependencies enabled: the administrator's own step to undo.
    if not dbd_was_enabled:
        run("a2dismod", "-q", "dbd")
    left = diff(etc_before, manifest(ETC))
    assert not left, "/etc/apache2 differs from before the test:\n" + "\n".join(left)
