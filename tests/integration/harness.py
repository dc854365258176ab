"""A real /usr/sbin/apache2 with mod_afiliate, on a free loopback port.

Modelled on httpd's own pytest harness (pyhttpd), but self-contained: the
config comes from scripts/genconf.py, the same generator `make run` uses.
"""
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
sys.path.insert(0, str(TOP / "tests"))
import genconf  # noqa: E402
import runtime  # noqa: E402

APACHE = "/usr/sbin/apache2"
# Another build of both (make test-asan's, under build/asan/) through the environment.
MODULE = Path(os.environ.get("AFILIATE_MODULE", TOP / "build" / "mod_afiliate.so"))
CTL = Path(os.environ.get("AFILIATECTL", TOP / "build" / "afiliatectl"))
# make test-asan: the sanitizer runtime preloaded into every apache2 (httpd itself is
# not instrumented, the module is), its reports written beside each server's error_log.
SANITIZER_PRELOAD = os.environ.get("AFILIATE_SANITIZER_PRELOAD")
# Servers, databases and PostgreSQL live outside the checkout, where www-data and
# postgres can reach them whatever the checkout's folders allow (scripts/runtime.py).
GEN = runtime.subdir("gen")
_HTDOCS = []


def htdocs():
    """The readable copy of htdocs/, refreshed once per test process."""
    if not _HTDOCS:
        _HTDOCS.append(runtime.htdocs())
    return _HTDOCS[0]

# Lines that may appear in error_log without failing a test.
BENIGN = [
    re.compile(r"AH00558"),                    # ServerName guess
    re.compile(r"AH00489|AH00094|AH00491|AH00492|AH00493|AH00169"),  # start/stop notices
]


def sanitizer_env(root):
    """LD_PRELOAD and options for an apache2 under make test-asan. Leak detection is
    off for httpd: the start-up process exits with httpd's own APR allocator unfreed
    (a leak report that fails `apache2 -k start`), and children exit without
    destroying the configuration pool, whose memory LeakSanitizer does not scan, so
    OpenSSL objects held only by it (the signing key's context) read as leaks."""
    log = Path(root) / "sanitizer"
    return {
        "LD_PRELOAD": SANITIZER_PRELOAD,
        "ASAN_OPTIONS": f"detect_leaks=0:abort_on_error=0:log_path={log}:"
                        "detect_stack_use_after_return=0:strict_string_checks=1",
        "UBSAN_OPTIONS": f"print_stacktrace=1:log_path={log}",
    }


def server_env(root):
    """What every apache2 started for the server at root needs in its environment
    beyond the tests' own: nothing, or make test-asan's sanitizer settings."""
    return sanitizer_env(root) if SANITIZER_PRELOAD else {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    @property
    def text(self):
        return self.body.decode("utf-8")

    def header(self, name):
        return self.headers.get(name)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def copy_jar(jar):
    """A new cookie jar holding the cookies of jar as they are now."""
    out = http.cookiejar.CookieJar()
    for cookie in jar:
        out.set_cookie(cookie)
    return out


class Client:
    """A browser-like client: keeps cookies, follows redirects unless told not to."""

    def __init__(self, base, follow=True, jar=None):
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method, path, data=None, headers=None, raw=None, timeout=30):
        body = raw
        hdrs = dict(headers or {})
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read(), resp.url)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read(), e.url)

    def jar_copy(self):
        """A new jar holding this client's cookies as they are now."""
        return copy_jar(self.jar)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data=None, **kw):
        return self.request("POST", path, data=data, **kw)


def wait_exit(pid, seconds=15, step=0.05):
    """Whether the process pid has gone within seconds."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(step)
    return False


class Apache:
    def __init__(self, name, mpm="event", db=None, extra=None, rate_limit=1000000,
                 driver="sqlite3", failure_limits=(0, 0), identity_limits=(0, 0)):
        self.name = name
        self.mpm = mpm
        self.root = GEN / name
        self.port = free_port()
        self.db = db or str(self.root / "data" / "afiliate.db")
        self.secret_path = self.root / "afiliate.secret"
        self.signing_key_path = self.root / "afiliate-signing.key"
        self.public_key_path = self.root / "afiliate-signing.pub"
        self.extra = extra or []
        self.rate_limit = rate_limit
        # One loopback address plays every student: limits off unless a test sets them.
        self.failure_limits = failure_limits
        # ...and every student uses a few CURPs and one e-mail address, day after day.
        self.identity_limits = identity_limits
        self.driver = driver
        self.log_pos = 0
        self.expected = []

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self):
        return self.root / "error_log"

    @property
    def secret(self):
        return self.secret_path.read_bytes().strip()

    def _connect(self):
        if self.driver == "pgsql":
            import psycopg2
            return psycopg2.connect(self.db)
        import sqlite3
        return sqlite3.connect(self.db, timeout=10)

    @staticmethod
    def _params(sql, driver):
        return sql.replace("?", "%s") if driver == "pgsql" else sql

    def query(self, sql, *args):
        """Rows of a read-only query ('?' placeholders) on this server's database."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute(self._params(sql, self.driver), args)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            con.close()

    def execute(self, sql, *args):
        """One write statement, committed."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute(self._params(sql, self.driver), args)
            con.commit()
        finally:
            con.close()

    def client(self, follow=True, jar=None):
        return Client(self.base, follow=follow, jar=jar)

    def setup(self, seed_count=None):
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "data").mkdir(parents=True)
        self.secret_path.write_text(secrets.token_hex(32) + "\n")
        # The documents' signing key pair: <root>/afiliate-signing.key and .pub.
        subprocess.run([str(CTL), "keygen", "--out-dir", str(self.root)], check=True,
                       capture_output=True)
        if seed_count is not None:
            subprocess.run([str(CTL), "seed-demo", "--driver", self.driver, "--db", self.db,
                            "--count", str(seed_count)], check=True, capture_output=True)
        else:   # an empty database with the current schema: the module refuses to start without
            subprocess.run([str(CTL), "migrate", "--driver", self.driver, "--db", self.db],
                           check=True, capture_output=True)
        self.write_conf()

    def write_conf(self):
        opts = dict(root=str(self.root), port=self.port, mpm=self.mpm, module=str(MODULE),
                    db=self.db, htdocs=str(htdocs()), secret=str(self.secret_path),
                    extra=self.extra, rate_limit=self.rate_limit, driver=self.driver,
                    failure_limits=self.failure_limits, identity_limits=self.identity_limits,
                    signing_key=str(self.signing_key_path)
                    if self.signing_key_path.exists() else None)
        genconf.prepare_root(opts)
        (self.root / "httpd.conf").write_text(genconf.render(opts))

    def apachectl(self, *args):
        # Documents print local time: Mexico City's (UTC-6 all year since 2022).
        env = dict(os.environ, TZ=os.environ.get("AFILIATE_TZ", "America/Mexico_City"))
        env.update(server_env(self.root))
        return subprocess.run([APACHE, "-d", str(self.root), "-f", str(self.root / "httpd.conf"),
                               *args], capture_output=True, text=True, env=env)

    def start(self):
        r = self.apachectl("-k", "start")
        if r.returncode != 0:
            raise RuntimeError(f"apache2 failed to start: {r.stdout}{r.stderr}")
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    self._wait_sqlite_files()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("apache2 did not answer: " + self.read_log())

    def _wait_sqlite_files(self, timeout=5):
        """The children open their connections as they start (DBDMin 1) and so create the
        database's -wal and -shm files as www-data. The tests' own connections run as root:
        one opened first would create them as root, and a child could then open the
        write-ahead log only read-only, which the module refuses. Waits for the files (at
        most timeout seconds: a server whose storage refuses writes may never make them)."""
        if self.driver != "sqlite3":
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(os.path.exists(self.db + suffix) for suffix in ("-wal", "-shm")):
                return
            time.sleep(0.02)

    def pid(self):
        try:
            return int((self.root / "httpd.pid").read_text())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not wait_exit(pid):
            os.kill(pid, signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def read_log(self):
        try:
            return self.error_log.read_text(errors="replace")
        except OSError:
            return ""

    def new_log_lines(self):
        text = self.read_log()
        lines = text[self.log_pos:].splitlines()
        self.log_pos = len(text)
        return lines

    def expect_log(self, pattern):
        """Allow lines matching pattern until the next check."""
        self.expected.append(re.compile(pattern))

    def unexpected_log_lines(self):
        bad = []
        for line in self.new_log_lines():
            if not re.search(r":(error|warn|crit|alert|emerg)\]", line) and \
                    "Segmentation fault" not in line:
                continue
            if any(p.search(line) for p in BENIGN + self.expected):
                continue
            bad.append(line)
        self.expected = []
        return bad
