"""The database's storage starts refusing writes while students are being served.

Concurrent students are assigned an NSS (Paso 1 for a new CURP) and located (Paso 1
for a CURP that has one) when the storage under the database stops taking writes,
with the server's connections already open:

- SQLite: the database lives on a pass-through FUSE file system (tests/faultfs.py)
  mounted by the test, which from one moment on fails every write, fsync, truncate
  and create with EIO while reads, look-ups and locks go on: a disk whose writes fail
  (with EROFS and opens for writing refused too, a file system gone read-only: see
  SQLITE_MODES).
  A device-mapper `flakey` target would do the same one layer lower, but this kernel
  has no device-mapper; `blockdev --setro` under a mounted ext4 only warns and lets
  the writes through; `mount -o remount,ro` is refused while the files are open for
  writing; an ext4 error that remounts it read-only cannot be undone without
  unmounting; and `fsfreeze` makes writes hang, not fail.
- PostgreSQL: the cluster is made read-only for every session, the server's open
  ones included (`ALTER SYSTEM SET default_transaction_read_only = on` and a reload,
  which every backend applies at its next command): writes fail with SQLSTATE 25006
  as on a standby. The test's private cluster is restored when the test ends.

While writes are refused a student gets the Spanish 503 page (never another 5xx, never
a crash); what needs no write is still served (the form, the postal-code look-up, the
landing page). Nothing is half-written: every NSS a student was shown is in the
database, every CURP has at most one NSS, the folio counters have no gap, and on
SQLite PRAGMA integrity_check is ok. When writes are allowed again the same server
(not restarted) assigns again and every student who retries gets exactly one NSS.
The outbox sender, which cannot claim or mark rows while writes fail, delivers every
student's message at least once and at most twice (docs/mail.md): a row it had
claimed and could not settle waits for its lease (the SMTP timeout plus a minute),
which the test moves into the past instead of waiting, as test_crash.py does.
"""
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import MATRIX
from flows import Form, assigned_nss, consistent, domicilio, end_claims, sample
from harness import GEN, TOP, Apache

FAULTFS = TOP / "tests" / "faultfs.py"
WORKERS = 6
HEALTHY = 24        # new students assigned before the fault
DURING = 60         # new students sent while the fault starts
LOCATED = 10        # students with an NSS who come back during the fault
RECYCLE = 40        # MaxConnectionsPerChild
READS = 20          # postal-code look-ups while writes are refused
READ_ONLY_LOG = [
    r"mod_afiliate: AFL\d{5}: database error in ",
    r"mod_afiliate: AFL\d{5}: outbox pass stopped by a database error",
    r"mod_afiliate: AFL\d{5}: outbox \d+: ",
]
# A child that cannot open its connection while the file system is read-only
# (mod_afiliate/afl_vfs.h): mod_dbd's lines, the module's, and the 503's.
CANNOT_OPEN_LOG = [
    r"mod_afiliate: AFL\d{5}: the SQLite (database|write-ahead log) cannot be opened for "
    r"writing",
    # The database file opened for writing, its WAL then refused: the connection's
    # first statement fails and mod_dbd keeps nothing.
    r"mod_afiliate: AFL\d{5}: cannot run 'PRAGMA [a-z_]+ = [A-Z0-9]+' on the SQLite",
    r"mod_afiliate: AFL\d{5}: the database connection has no prepared statements",
    r"AH00629: Can't connect to sqlite3",
    r"AH00633: failed to initialise",
    r"AH00636: child init failed",
    r"AH02655: Failed to acquire DBD connection from pool",
    r"mod_afiliate: AFL\d{5}: no database connection",
]


def address(curp):
    return f"{curp.lower()}@escuela.edu.mx"


class FuseFault:
    """SQLite's directory on tests/faultfs.py: writes refused while the flag exists."""

    def __init__(self, name, mode):
        self.mode = mode
        self.backing = GEN / f"{name}.backing"
        self.mnt = GEN / name
        self.flag = GEN / f"{name}.backing.refuse"
        self.proc = None

    def mount(self):
        subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)
        for d in (self.backing, self.mnt):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        self.flag.unlink(missing_ok=True)
        if not os.path.exists("/dev/fuse"):
            pytest.skip("no /dev/fuse in this container")
        try:
            import fusepy  # noqa: F401
        except ImportError:
            pytest.skip("python3-fusepy is not installed (scripts/deps.sh test)")
        self.proc = subprocess.Popen(["/usr/bin/python3", str(FAULTFS), str(self.backing),
                                      str(self.mnt)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 10
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.time() > deadline:
                out = self.proc.stdout.read() if self.proc.poll() is not None else ""
                self.unmount()
                pytest.skip(f"cannot mount a FUSE file system here: {out.strip()}")
            time.sleep(0.05)
        # The server user makes its -wal and -shm files beside the database.
        os.chmod(self.mnt, 0o755)
        return self.mnt / "afiliate.db"

    def unmount(self):
        self.flag.unlink(missing_ok=True)
        subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def refuse(self):
        self.flag.write_text(self.mode + "\n")

    def allow(self):
        self.flag.unlink()


class PgFault:
    """The whole private cluster read-only for every session, open ones included."""

    def __init__(self, cluster):
        self.cluster = cluster

    def _connect(self, user, dbname):
        import psycopg2
        return psycopg2.connect(host=str(self.cluster.sock), port=self.cluster.port, user=user,
                                dbname=dbname, connect_timeout=2,
                                options="-c default_transaction_read_only=off")

    def _admin(self, sql):
        con = self._connect("postgres", "postgres")
        try:
            con.autocommit = True
            cur = con.cursor()
            cur.execute(sql)
            cur.execute("SELECT pg_reload_conf()")
        finally:
            con.close()

    def _wait(self, value):
        """Until a new session of the server's user starts with the new value."""
        import psycopg2
        deadline = time.time() + 10
        while True:
            con = psycopg2.connect(self.cluster.dsn())
            try:
                cur = con.cursor()
                cur.execute("SHOW default_transaction_read_only")
                if cur.fetchone()[0] == value:
                    return
            finally:
                con.close()
            assert time.time() < deadline, f"default_transaction_read_only never became {value}"
            time.sleep(0.05)

    mode = "read-only"

    def refuse(self):
        self._admin("ALTER SYSTEM SET default_transaction_read_only = on")
        self._wait("on")

    def allow(self):
        self._admin("ALTER SYSTEM RESET default_transaction_read_only")
        self._wait("off")


# SQLite's faults: a disk whose writes fail (EIO) and a file system gone read-only
# (EROFS: opens for writing refused too, so children recycled during the fault cannot
# connect: mod_afiliate/afl_vfs.h). AFILIATE_READ_ONLY_MODES picks some (EIO,EROFS).
SQLITE_MODES = tuple(os.environ.get("AFILIATE_READ_ONLY_MODES", "EIO,EROFS").split(","))


def pytest_generate_tests(metafunc):
    """One server per (MPM, driver) of the matrix and kind of fault: on SQLite a disk
    whose writes fail (EIO) and a file system gone read-only (EROFS); on
    PostgreSQL a cluster gone read-only."""
    if "srv" in metafunc.fixturenames:
        cases = [(combo, mode) for combo in MATRIX
                 for mode in (SQLITE_MODES if combo.endswith("sqlite3") else ("read-only",))]
        metafunc.parametrize("srv", cases, ids=[f"{c}-{m}" for c, m in cases], indirect=True,
                             scope="module")


@pytest.fixture(scope="module")
def srv(request):
    """A server, its database on the fault's storage, and an SMTP sink of its own
    (the servers are seeded alike: they draw the same CURPs)."""
    from smtp_sink import SmtpSink
    combo, mode = request.param
    mpm, driver = combo.split("-")
    name = f"it-read-only-{mpm}-{driver}-{mode.lower()}"
    # Children recycled every few connections: new database connections are opened
    # while writes are refused, and must not stay read-only once they return.
    sink = SmtpSink().start()
    mail = [f"AfiliateSMTPURL {sink.url}", "AfiliateOutboxInterval 1",
            "AfiliateOutboxBackoff 1 2", "AfiliateMailFrom no-reply@afiliate.example.mx",
            f"MaxConnectionsPerChild {RECYCLE}"]
    if driver == "sqlite3":
        if os.geteuid() != 0:
            pytest.skip("mounting a FUSE file system with allow_other needs root")
        fault = FuseFault(f"read-only-{mpm}-{mode.lower()}", mode)
        db = str(fault.mount())
    else:
        cluster = request.getfixturevalue("pg_cluster")
        fault = PgFault(cluster)
        db = cluster.create_db(name.replace("-", "_"))
    s = Apache(name, mpm=mpm, db=db, driver=driver, extra=mail)
    s.fault = fault
    s.sink = sink
    try:
        s.setup(seed_count=300)
        s.start()
        yield s
    finally:
        s.stop()
        sink.stop()
        if driver == "sqlite3":
            fault.unmount()
        else:
            fault.allow()


def paso1(srv, curp):
    """Paso 1 from a new form: (statuses seen, last response, NSS shown or None)."""
    c = srv.client()
    r = Form(srv, c).submit(curp, correo=address(curp))
    seen = [200, r.status]
    if r.status == 200 and r.url.endswith("/domicilio"):
        r = domicilio(c)
        seen.append(r.status)
    nss = assigned_nss(r.text) if r.status == 200 and r.url.endswith("/resultado") else None
    return seen, r, nss


def sql_check(srv):
    """Nothing half-written, and every assignment committed its e-mail with it."""
    consistent(srv)
    assert srv.query("SELECT a.curp FROM asegurado a JOIN tramite t ON t.nss = a.nss "
                     "LEFT JOIN outbox o ON o.asegurado_id = a.id WHERE o.id IS NULL") == []


def access_statuses(srv, since):
    """HTTP statuses in the access log after byte offset since."""
    text = (srv.root / "access_log").read_text(errors="replace")[since:]
    return Counter(line.split('"')[2].split()[0] for line in text.splitlines() if '"' in line)


def test_writes_refused_under_load_give_503_and_the_service_resumes(srv):
    sink = srv.sink
    for pattern in READ_ONLY_LOG + (CANNOT_OPEN_LOG if srv.fault.mode == "EROFS" else []):
        srv.expect_log(pattern)
    deadline = time.time() + 10
    while srv.pid() is None and time.time() < deadline:
        time.sleep(0.1)
    pid = srv.pid()
    assert pid
    log_start = (srv.root / "access_log").stat().st_size
    new = sample(srv, "new", HEALTHY + DURING)
    found = sample(srv, "found", LOCATED)
    known = {c: srv.query("SELECT nss FROM asegurado WHERE curp = ?", c)[0][0] for c in found}
    got, refused = {}, []
    lock = threading.Lock()
    statuses = Counter()

    def student(curp):
        seen, r, nss = paso1(srv, curp)
        with lock:
            statuses.update(seen)
            if nss:
                got[curp] = nss
            else:
                assert r.status == 503, (seen, r.url)
                assert "Servicio no disponible" in r.text and r.header("Retry-After") == "30"
                refused.append(curp)
        return nss

    # Healthy: every student is assigned.
    with ThreadPoolExecutor(WORKERS) as pool:
        assert all(pool.map(student, new[:HEALTHY]))
    # The fault starts while the next students are in the middle of Paso 1.
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(student, c) for c in new[HEALTHY:]]
        while sum(f.done() for f in futures) < WORKERS:
            time.sleep(0.01)
        srv.fault.refuse()
        fault_on = time.time()
        for f in futures:
            f.result()
    assert len(refused) >= DURING // 2, statuses     # the writes were refused
    # What needs no write is still served, and a located student is refused whole.
    c = srv.client()
    assert c.get("/afiliate/").status == 200
    form = c.get("/afiliate/nss")
    assert form.status == 200 and 'name="captcha_id"' in form.text
    reads = Counter()
    for _ in range(READS):
        cp = c.get("/afiliate/cp/06700")
        reads[cp.status] += 1
        if srv.fault.mode == "EROFS" and cp.status == 503:
            # A child that must open a connection cannot: SQLite would open the file
            # read-only, and the pool would keep a connection that refuses writes
            # after they return (afl_store_configure refuses it).
            assert "no está disponible" in cp.text, cp.text[:200]
        else:
            assert cp.status == 200 and "Roma Norte" in cp.text, (cp.status, cp.text[:200])
    if srv.fault.mode != "EROFS":
        assert set(reads) == {200}, reads
    for curp in found:
        seen, r, nss = paso1(srv, curp)
        assert nss is None and r.status == 503, (seen, r.url)
        assert "Servicio no disponible" in r.text
    time.sleep(2.5)      # the outbox sender meets the refused writes too
    refused_during = len(refused)
    fault_seconds = time.time() - fault_on

    # Writes return; the same server (no restart) serves the students who retry.
    srv.fault.allow()
    # Nothing half-written while refused, checked as soon as writes return (under EROFS
    # a new process cannot open the database once the server's connections have all
    # closed; meanwhile only the outbox sender may have written, never an assignment).
    # A shown NSS is stored; a refused student has none, unless the COMMIT of their
    # assignment failed with an I/O error after its WAL frames were written (the fsync
    # failed): SQLite reports the error, yet the frames are whole in the WAL and the
    # next recovery of the WAL index (a connection opened when no other is open) keeps
    # the transaction. Its outcome is unknown to the module as to any SQLite user: such
    # a student saw the 503 page, holds a whole assignment (its e-mail queued with it),
    # and is located with that NSS when retrying (below).
    committed = {}
    for curp in refused:
        rows = srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp)
        assert len(rows) <= 1, (curp, rows)
        if rows:
            committed[curp] = rows[0][0]
    if committed:
        assert "database error in 'COMMIT'" in srv.read_log(), committed
    for curp, nss in got.items():
        assert srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp) == [(nss,)], curp
    sql_check(srv)
    allowed = time.time()
    # The first student who retries is served at once: no connection stayed broken.
    retry = [c for c in refused if c not in committed]
    seen, r, nss = paso1(srv, retry[0])
    assert nss, (seen, r.url)
    first = time.time() - allowed
    got[retry[0]] = nss
    retry = retry[1:]
    refused.clear()
    with ThreadPoolExecutor(WORKERS) as pool:
        assert all(pool.map(student, retry)), refused
    for curp, nss in committed.items():     # assigned by a COMMIT reported as failed
        seen, r, _ = paso1(srv, curp)
        assert r.status == 200 and "ha sido localizado" in r.text, (seen, r.url)
        got[curp] = nss
    for curp in found:     # located again: the page says so, the NSS goes by e-mail
        seen, r, _ = paso1(srv, curp)
        assert r.status == 200 and r.url.endswith("/resultado"), (seen, r.url)
        assert "ha sido localizado" in r.text
        assert srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp) == [(known[curp],)]
    assert srv.pid() == pid
    assert len(got) == HEALTHY + DURING
    assert len(set(got.values())) == len(got)
    for curp, nss in got.items():
        assert srv.query("SELECT nss FROM asegurado WHERE curp = ?", curp) == [(nss,)], curp
    sql_check(srv)

    held = end_claims(srv)
    everyone = list(got) + found
    sink.wait_for(lambda msgs: all(any(address(c) in m.rcpt_tos for m in msgs)
                                   for c in everyone), timeout=60)
    deadline = time.time() + 30
    while srv.query("SELECT count(*) FROM outbox WHERE status <> 'sent'") != [(0,)]:
        assert time.time() < deadline, srv.query("SELECT status, count(*) FROM outbox "
                                                 "GROUP BY status")
        time.sleep(0.5)
    for curp in got:     # located again: the NSS goes by e-mail once more
        assert 1 <= len(sink.to(address(curp))) <= (3 if curp in committed else 2), curp
    statuses_seen = access_statuses(srv, log_start)
    assert {s for s in statuses_seen if s.startswith("5")} == {"503"}, statuses_seen
    bad = srv.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)
    assert "exit signal" not in srv.read_log() and "Segmentation" not in srv.read_log()
    print(f"\n{srv.name}: {HEALTHY + DURING + LOCATED} students, {refused_during} refused "
          f"with 503 while writes failed ({fault_seconds:.1f} s), {LOCATED} located refused, "
          f"postal-code look-ups {dict(reads)}, "
          f"first assignment {first:.2f} s after writes returned, {len(committed)} refused "
          f"but committed, {held} outbox rows "
          f"held by a claim, "
          f"responses {dict(statuses_seen)}")
