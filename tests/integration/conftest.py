"""Fixtures: one real apache2 per (MPM, database driver) of the matrix, shared
by the tests of the session. The whole suite runs on SQLite and on a private
PostgreSQL 15, under the event and the prefork MPM."""
import os

import pytest

from harness import Apache

MATRIX = os.environ.get("AFILIATE_MATRIX",
                        "event-sqlite3,prefork-sqlite3,event-pgsql,prefork-pgsql").split(",")

LIMITED = """<Location /afiliate-limitado>
    SetHandler afiliate
    AfiliateRateLimit 3
</Location>"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "runs_last: runs after every other test of its server (reads the whole log)")


def _server_param(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("apache_server") if callspec else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Moves runs_last tests behind every other test of the same apache_server
    parameter. trylast: after pytest has grouped the items by session
    parameter, so each server is still up (not started again) for them."""
    late = [i for i in items if i.get_closest_marker("runs_last")]
    if not late:
        return
    rest = [i for i in items if not i.get_closest_marker("runs_last")]
    last_of = {}
    for n, item in enumerate(rest):
        last_of[_server_param(item)] = n
    after = {}
    tail = []
    for item in late:
        key = _server_param(item)
        if key is not None and key in last_of:
            after.setdefault(last_of[key], []).append(item)
        else:
            tail.append(item)
    ordered = []
    for n, item in enumerate(rest):
        ordered.append(item)
        ordered.extend(after.get(n, []))
    items[:] = ordered + tail


@pytest.fixture(scope="module")
def sink():
    """One real SMTP sink on loopback (tests/smtp_sink.py) for the test module."""
    from smtp_sink import SmtpSink
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pg_cluster():
    """Started only when a pgsql combination of the matrix is used."""
    from pg import Postgres
    pg = Postgres("pg")
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session", params=MATRIX)
def apache_server(request):
    mpm, driver = request.param.split("-")
    name = f"it-{mpm}-{driver}"
    db = None
    if driver == "pgsql":
        db = request.getfixturevalue("pg_cluster").create_db(name.replace("-", "_"))
    srv = Apache(name, mpm=mpm, db=db, driver=driver, extra=LIMITED.splitlines())
    srv.setup(seed_count=int(os.environ.get("AFILIATE_SEED_COUNT", "3000")))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(apache_server):
    """The shared server; the test fails on any unexpected [error]/[warn] line."""
    apache_server.new_log_lines()
    apache_server.expected = []
    yield apache_server
    bad = apache_server.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)


@pytest.fixture(scope="session")
def curps(apache_server):
    """Registry CURPs of each kind for this server; tests pop what they use."""
    from flows import sample
    counts = {"new": 1500, "found": 200, "inactive": 20}
    return {kind: sample(apache_server, kind, n) for kind, n in counts.items()}
