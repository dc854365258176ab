"""Behind a TLS terminator: the session cookie is Secure when a trusted proxy
(AfiliateTrustedProxy, the TCP peer) says the browser's request was HTTPS,
and a header from anyone else changes nothing."""
import pytest

from harness import Apache


def session_cookie(r):
    return r.header("Set-Cookie") or ""


@pytest.fixture(scope="module")
def behind_proxy():
    srv = Apache("it-proxy", extra=["AfiliateTrustedProxy 192.0.2.0/24 127.0.0.1"])
    srv.setup(seed_count=None)
    srv.start()
    yield srv
    srv.stop()


def test_a_trusted_proxy_saying_https_makes_the_cookie_secure(behind_proxy):
    c = behind_proxy.client()
    r = c.get("/afiliate/nss", headers={"X-Forwarded-Proto": "https"})
    assert r.status == 200
    cookie = session_cookie(r)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "; Secure" in cookie
    # The same proxy forwarding plain HTTP: no Secure.
    r = behind_proxy.client().get("/afiliate/nss", headers={"X-Forwarded-Proto": "http"})
    assert "Secure" not in session_cookie(r)


def test_the_header_from_an_untrusted_peer_is_ignored(server):
    r = server.client().get("/afiliate/nss", headers={"X-Forwarded-Proto": "https"})
    assert r.status == 200
    assert "Secure" not in session_cookie(r)


@pytest.mark.parametrize("arg", ["proxy.example.mx", "10.0.0.0/99", "300.1.1.1"])
def test_a_bad_address_is_refused_by_the_configuration_test(arg):
    srv = Apache("it-proxy-badconf", extra=[f"AfiliateTrustedProxy {arg}"])
    srv.setup(seed_count=None)
    r = srv.apachectl("-t")
    assert r.returncode != 0
    assert "AfiliateTrustedProxy takes addresses or networks" in r.stderr + r.stdout
