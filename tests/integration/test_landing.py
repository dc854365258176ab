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


def allow(r):
    return {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}


def test_405_names_the_methods_of_the_route(server):
    """One route table: a known path with another method is 405 with its own methods
    (httpd adds HEAD wherever GET is allowed)."""
    c = server.client()
    r = c.request("PUT", "/afiliate/nss", raw=b"x")
    assert r.status == 405 and allow(r) == {"GET", "HEAD", "POST"}
    r = c.post("/afiliate/verificar", {"folio": "1"})
    assert r.status == 405 and allow(r) == {"GET", "HEAD"}
    r = c.post("/afiliate/cp/06700", {})
    assert r.status == 405 and allow(r) == {"GET", "HEAD"}
    r = c.get("/afiliate/finalizar")
    assert r.status == 405 and allow(r) == {"POST"}
    assert c.request("PUT", "/afiliate/no-existe", raw=b"x").status == 404


def test_server_root_not_exposed(server):
    assert server.client().get("/").status in (403, 404)
