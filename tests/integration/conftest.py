import os

import pytest

from harness import Apache

MPMS = os.environ.get("AFILIATE_MPMS", "event,prefork").split(",")


@pytest.fixture(scope="session", params=MPMS)
def apache_server(request):
    """One real apache2 per MPM, shared by the tests of the session."""
    srv = Apache(f"it-{request.param}", mpm=request.param, extra=LIMITED.splitlines())
    srv.setup(seed_count=int(os.environ.get("AFILIATE_SEED_COUNT", "3000"))
              if os.environ.get("AFILIATE_WITH_DB", "1") == "1" else None)
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


LIMITED = """<Location /afiliate-limitado>
    SetHandler afiliate
    AfiliateRateLimit 3
</Location>"""


@pytest.fixture(scope="session")
def curps(apache_server):
    """Registry CURPs of each kind for this server; tests pop what they use."""
    from flows import sample
    return {kind: sample(apache_server.db, kind, {"new": 1500, "found": 200, "inactive": 20}[kind])
            for kind in ("new", "found", "inactive")}
