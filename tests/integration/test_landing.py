"""The landing page, under each MPM."""


def test_landing_page_is_spanish_utf8(server):
    r = server.client().get("/afiliate/")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=UTF-8"
    html = r.text
    assert '<html lang="es-MX">' in html
    assert "Paso 1" in html and "Número de Seguridad Social" in html
    assert "Paso 2" in html and "vigencia de derechos" in html
    assert 'href="/afiliate/nss"' in html and 'href="/afiliate/vigencia"' in html


def test_landing_page_security_headers(server):
    r = server.client().get("/afiliate/")
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert "default-src 'self'" in r.header("Content-Security-Policy")
    assert r.header("Referrer-Policy") == "no-referrer"


def test_unknown_route_is_404(server):
    assert server.client().get("/afiliate/no-existe").status == 404


def test_other_methods_are_405(server):
    r = server.client().request("PUT", "/afiliate/", raw=b"x")
    assert r.status == 405
    assert "GET" in r.header("Allow")


def test_server_root_not_exposed(server):
    assert server.client().get("/").status in (403, 404)
