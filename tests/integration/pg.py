"""A private PostgreSQL 15 for the tests: its own data directory, a Unix socket
in that directory and a free port number, run as the `postgres` user when the
tests run as root (PostgreSQL refuses to run as root). Stopped at teardown."""
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from harness import GEN, free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_pg(cmd, **kw):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class Postgres:
    def __init__(self, name="pg"):
        self.root = GEN / name
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()

    @property
    def conninfo(self):
        return f"host={self.sock} port={self.port} dbname=afiliate user=afiliate connect_timeout=2"

    def start(self):
        if self.root.exists():
            self.stop()
            shutil.rmtree(self.root)
        self.sock.mkdir(parents=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        r = _as_pg([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C.UTF-8"])
        assert r.returncode == 0, r.stdout + r.stderr
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses='' "
                "-c log_error_verbosity=terse -c fsync=on -c synchronous_commit=on "
                "-c max_connections=200 -c shared_buffers=64MB")
        r = _as_pg([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                    "-o", opts, "-w", "start"])
        assert r.returncode == 0, r.stdout + r.stderr + self.log()
        self.psql("CREATE ROLE afiliate LOGIN", db="postgres", user="postgres")
        self.psql("CREATE DATABASE afiliate OWNER afiliate", db="postgres", user="postgres")

    def psql(self, sql, db="afiliate", user="afiliate", check=True):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                            "-p", str(self.port), "-U", user, "-d", db, "-At", "-c", sql],
                           capture_output=True, text=True)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def psql_file(self, path):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                            "-p", str(self.port), "-U", "afiliate", "-d", "afiliate", "-f",
                            str(path)], capture_output=True, text=True)
        return r

    def log(self):
        try:
            return (self.root / "log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            _as_pg([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
