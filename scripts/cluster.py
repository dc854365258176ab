#!/usr/bin/env python3
"""The production shape on one machine: a private PostgreSQL 15, N Apache nodes
with mod_afiliate (mod_dbd's pgsql driver) and one Apache balancer in front
(mod_proxy_balancer). Used by `make run-cluster` and the multi-node tests.

    scripts/cluster.py --root var/cluster --port 8080 [--nodes 2] [--count 100000]

runs until SIGINT/SIGTERM, then stops the balancer, the nodes and PostgreSQL.
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "scripts"))
import genconf  # noqa: E402
import runtime  # noqa: E402

APACHE = "/usr/sbin/apache2"
PGBIN = Path("/usr/lib/postgresql/15/bin")
MODULE = TOP / "build" / "mod_afiliate.so"
CTL = TOP / "build" / "afiliatectl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _as_pg(cmd, **kw):
    # PostgreSQL refuses to run as root.
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    # The caller's folder (a checkout under /root, say) may be closed to postgres.
    kw.setdefault("cwd", "/")
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class Postgres:
    """A private cluster: its own data directory, a Unix socket in it, a free port."""

    def __init__(self, root):
        self.root = Path(root)
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()

    def dsn(self, db="afiliate"):
        return (f"host={self.sock} port={self.port} dbname={db} user=afiliate "
                "connect_timeout=2")

    def start(self, fresh=True):
        if fresh and self.root.exists():
            self.stop()
            shutil.rmtree(self.root)
        new = not self.data.exists()
        self.sock.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        if new:
            r = _as_pg([str(PGBIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A",
                        "trust", "-E", "UTF8", "--locale=C.UTF-8"])
            if r.returncode != 0:
                raise RuntimeError("initdb failed: " + r.stdout + r.stderr)
        self.pg_ctl_start()
        if new:
            self.psql("CREATE ROLE afiliate LOGIN", db="postgres", user="postgres")
            self.psql("CREATE DATABASE afiliate OWNER afiliate", db="postgres", user="postgres")

    def pg_ctl_start(self):
        # terse: PostgreSQL's DETAIL lines would carry CURP/NSS values (unique violations).
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses='' "
                "-c log_error_verbosity=terse -c fsync=on -c synchronous_commit=on "
                "-c max_connections=300 -c shared_buffers=64MB")
        r = _as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                    "-o", opts, "-w", "start"])
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr + self.log())

    def restart(self, mode="immediate", down_seconds=0.0):
        """Stops (immediate = a crash for PostgreSQL) and starts again."""
        _as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        time.sleep(down_seconds)
        self.pg_ctl_start()

    def create_db(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name}", db="postgres", user="postgres")
        self.psql(f"CREATE DATABASE {name} OWNER afiliate", db="postgres", user="postgres")
        return self.dsn(name)

    def psql(self, sql, db="afiliate", user="afiliate", check=True):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                            "-p", str(self.port), "-U", user, "-d", db, "-At", "-c", sql],
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r

    def psql_file(self, path, db="afiliate"):
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                               str(self.sock), "-p", str(self.port), "-U", "afiliate", "-d", db,
                               "-f", str(path)], capture_output=True, text=True)

    def log(self):
        try:
            return (self.root / "log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            _as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])


class ApacheProc:
    """An apache2 started as a daemon from a generated config."""

    def __init__(self, root, port, conf_text):
        self.root = Path(root)
        self.port = port
        self.conf = self.root / "httpd.conf"
        self.conf_text = conf_text

    def ctl(self, *args):
        env = dict(os.environ, TZ=os.environ.get("TZ", "America/Mexico_City"))
        return subprocess.run([APACHE, "-d", str(self.root), "-f", str(self.conf), *args],
                              capture_output=True, text=True, env=env)

    def start(self):
        self.conf.write_text(self.conf_text)
        r = self.ctl("-k", "start")
        if r.returncode != 0 or not wait_port(self.port):
            raise RuntimeError(f"apache2 ({self.root}) failed: {r.stdout}{r.stderr}")

    def pid(self):
        try:
            return int((self.root / "httpd.pid").read_text())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def kill9(self):
        """SIGKILL the parent and every child: a node that dies. The parent
        first, so that it forks no child after the others are listed; then
        every process of this server root until none is left (a child forked
        while the list was read would keep accepting and reset connections)."""
        pid = self.pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pattern = f"apache2 -d {self.root} "
        for _ in range(50):
            left = subprocess.run(["pgrep", "-f", pattern], capture_output=True,
                                  text=True).stdout.split()
            if not left:
                return
            for p in map(int, left):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)


NODE_EXTRA = [
    "LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so",
    "LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so",
    # Only the balancer may say who the client is.
    "RemoteIPHeader X-Forwarded-For",
    "RemoteIPInternalProxy 127.0.0.1",
]


class Cluster:
    def __init__(self, root, port, nodes=2, mpm="event", extra=(), rate_limit=None,
                 secret=None, identity_limits=None):
        self.root = Path(root)
        self.port = port
        self.pg = Postgres(self.root / "pg")
        self.secret = Path(secret) if secret else self.root / "afiliate.secret"
        self.nodes = []
        self.mpm = mpm
        self.extra = list(extra)
        self.rate_limit = rate_limit
        self.identity_limits = identity_limits
        self.node_ports = [free_port() for _ in range(nodes)]
        self.balancer = None

    def node_conf(self, i, port, conninfo):
        name = f"node{i + 1}"
        opts = dict(root=str(self.root / name), port=port, mpm=self.mpm, module=str(MODULE),
                    db=conninfo, driver="pgsql", htdocs=str(runtime.htdocs()),
                    secret=str(self.secret), rate_limit=self.rate_limit,
                    identity_limits=self.identity_limits,
                    signing_key=str(self.root / "afiliate-signing.key"),
                    extra=NODE_EXTRA + [f'Header always set X-Afiliate-Node "{name}"'] +
                    self.extra)
        genconf.prepare_root(opts)
        return genconf.render(opts)

    def balancer_conf(self):
        root = self.root / "balancer"
        (root / "run").mkdir(parents=True, exist_ok=True)
        members = "\n".join(f'    BalancerMember "http://127.0.0.1:{p}" route=node{i + 1} '
                            "retry=10 connectiontimeout=2 timeout=30 ttl=3"
                            for i, p in enumerate(self.node_ports))
        user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
        if os.geteuid() == 0:
            pw = pwd.getpwnam("www-data")
            os.chown(root / "run", pw.pw_uid, pw.pw_gid)
        text = (TOP / "conf" / "balancer.conf.in").read_text()
        for k, v in {"SERVER_ROOT": str(root), "PORT": str(self.port), "MEMBERS": members,
                     "USER_GROUP": user}.items():
            text = text.replace(f"@{k}@", v)
        return text

    def start(self, count=100000, fresh=True):
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.secret.exists() or not self.secret.read_bytes().strip():
            self.secret.write_text(os.urandom(32).hex() + "\n")
            self.secret.chmod(0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("www-data")
            os.chown(self.secret, pw.pw_uid, pw.pw_gid)
        # One signing key shared by every node: any node verifies any document.
        key = self.root / "afiliate-signing.key"
        if not key.exists():
            r = subprocess.run([str(CTL), "keygen", "--out-dir", str(self.root)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("keygen failed: " + r.stderr)
        self.pg.start(fresh=fresh)
        conninfo = self.pg.dsn()
        seeded = self.pg.psql("SELECT to_regclass('renapo_persona') IS NOT NULL").stdout
        if seeded.strip() != "t" and count:
            r = subprocess.run([str(CTL), "seed-demo", "--driver", "pgsql", "--db", conninfo,
                                "--count", str(count)], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("seed-demo failed: " + r.stderr)
        (self.root / "cluster.conninfo").write_text(conninfo + "\n")
        if fresh:
            # A fresh cluster starts with empty logs: the tests read them.
            for name in [f"node{i + 1}" for i in range(len(self.node_ports))] + ["balancer"]:
                (self.root / name / "error_log").unlink(missing_ok=True)
        for i, port in enumerate(self.node_ports):
            node = ApacheProc(self.root / f"node{i + 1}", port, self.node_conf(i, port, conninfo))
            node.start()
            self.nodes.append(node)
        self.balancer = ApacheProc(self.root / "balancer", self.port, self.balancer_conf())
        self.balancer.start()

    def stop(self):
        if self.balancer:
            self.balancer.stop()
        for n in self.nodes:
            n.stop()
        self.pg.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=None, help="default: the runtime folder's var/cluster")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()
    os.environ.setdefault("TZ", "America/Mexico_City")
    var = runtime.var()
    if a.root is None:
        a.root = str(var / "cluster")
    cluster = Cluster(a.root, a.port, nodes=a.nodes, extra=a.extra)
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        cluster.start(count=a.count, fresh=False)
        top_conn = var / "cluster.conninfo"
        top_conn.write_text(cluster.pg.dsn() + "\n")
        print(f"run-cluster: PostgreSQL on {cluster.pg.sock} port {cluster.pg.port} "
              f"(conninfo in var/cluster.conninfo)")
        for i, n in enumerate(cluster.nodes):
            print(f"run-cluster: node{i + 1} on 127.0.0.1:{n.port}")
        print(f"run-cluster: balancer serving http://127.0.0.1:{a.port}/afiliate/ "
              "(Ctrl-C to stop)", flush=True)
        while not stopping:
            time.sleep(0.5)
    finally:
        cluster.stop()
        print("run-cluster: stopped")


if __name__ == "__main__":
    main()
