"""Hostile clients against a real apache2: a table of malformed requests, each
answered with a 4xx and a Spanish page (never a 5xx, never an [error] line),
and a slowloris that must not keep a student from finishing Paso 1.

Requests go over raw sockets: most of them are ones an HTTP library refuses to
send (bad escapes in the path, NUL bytes, two Content-Lengths, CR/LF where a
header value should be)."""
import re
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from captcha_answer import captcha_answer
from conftest import MATRIX
from flows import Form, assigned_nss, domicilio, field, sample
from harness import Apache

TOP = Path(__file__).resolve().parents[2]

ROUTES_GET = ["/afiliate/", "/afiliate/nss", "/afiliate/domicilio", "/afiliate/resultado",
              "/afiliate/comprobante", "/afiliate/tarjeta", "/afiliate/vigencia",
              "/afiliate/vigencia/resultado", "/afiliate/constancia", "/afiliate/verificar",
              "/afiliate/captcha/x.png", "/afiliate/cp/06700"]
ROUTES_POST = ["/afiliate/nss", "/afiliate/domicilio", "/afiliate/vigencia",
               "/afiliate/finalizar", "/afiliate/reenviar"]
ROUTES = sorted(set(ROUTES_GET + ROUTES_POST))
FORM_CT = "application/x-www-form-urlencoded"
INJECTIONS = ["\r\nBcc: victima@ejemplo.mx", "\nBcc: victima@ejemplo.mx",
              "\rBcc: victima@ejemplo.mx", "\r\n\r\nCuerpo inyectado"]


# ---------------------------------------------------------------- raw HTTP

def raw_request(server, data, half_close=False, timeout=15):
    """Sends bytes as they are; returns (status, headers dict, body bytes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.\d (\d{3})", lines[0]) if lines else None
    status = int(m.group(1)) if m else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return status, headers, body


def dechunk(body):
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2:]
    return out


def build(method, target, headers=(), body=b"", content_length=True, host=True):
    """A request as bytes; str parts are encoded as latin-1 so any byte can be placed."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("latin-1")
    lines = [b(method) + b" " + b(target) + b" HTTP/1.1"]
    if host:
        lines.append(b"Host: 127.0.0.1")
    lines += [b(h) for h in headers]
    lines.append(b"Connection: close")
    if content_length and body and not any(b(h).lower().startswith(b"content-length")
                                           or b(h).lower().startswith(b"transfer-encoding")
                                           for h in headers):
        lines.append(b"Content-Length: " + str(len(b(body))).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + b(body)


SPANISH = re.compile(r"lang=[\"']es-MX[\"']")


def is_spanish_page(headers, body, target=b""):
    text = body.decode("utf-8", "replace")
    if target.startswith(b"/afiliate/cp/"):
        # The postal-code look-up is the page script's JSON API: its errors are
        # JSON with a Spanish message for the script to show.
        if headers.get("content-type", "").startswith("application/json"):
            return '"error"' in text and "Código Postal" in text
    return headers.get("content-type", "").startswith("text/html") and bool(SPANISH.search(text))


# ---------------------------------------------------------------- a session to attack with

class Session:
    """A browser's cookie and CSRF token, plus fresh CAPTCHA ids on demand."""

    def __init__(self, server):
        self.server = server
        self.client = server.client()
        self.form = Form(server, self.client)
        self.csrf = self.form.csrf
        self.cookie = "afiliate_tramite=" + next(c.value for c in self.client.jar)

    def fresh_captcha(self):
        """A CAPTCHA id and its right answer for this session (each submission burns one)."""
        f = Form(self.server, self.client)
        assert f.csrf == self.csrf
        return f.captcha_id, f.answer()


def form_body(fields):
    return "&".join(f"{urllib.parse.quote_plus(k)}={urllib.parse.quote_plus(v)}"
                    for k, v in fields)


# Each case: (id, builder). A builder gets a context dict (server, sessions, CURPs)
# and returns (request bytes, half_close).

def cases():
    out = []

    def add(name, fn):
        out.append((name, fn))

    def simple(method, target, headers=(), body=b"", **kw):
        return lambda ctx: (build(method, target, headers, body, **kw), False)

    # -- path tricks on every route
    tricks = {
        "dotdot": "/../../../../etc/passwd",
        "enc-dotdot": "/%2e%2e/%2e%2e/etc/passwd",
        "enc-slash": "%2f..%2f..%2fetc%2fpasswd",
        "nul": "%00",
        "nul-ext": "%00.html",
        "bad-escape": "%zz",
        "trunc-escape": "%4",
        "overlong-utf8": "/%c0%af%c0%af",
        "invalid-utf8": "%ff%fe",
        "suffix": ".bak",
        "semicolon": ";jsessionid=1",
        "backslash": "\\..\\..\\windows\\win.ini",
    }
    for route in ROUTES:
        for tname, trick in tricks.items():
            add(f"path-{tname}:{route}", simple("GET", route.rstrip("/") + trick))
        add(f"path-upper:{route}", simple("GET", route.upper()))
        add(f"path-long:{route}", simple("GET", route + "A" * 9000))
    # -- wrong methods on every route
    for route in ROUTES:
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "get"):
            add(f"method-{method}:{route}", simple(method, route))
    for route in ROUTES_GET:
        if route not in ROUTES_POST:
            add(f"method-POST:{route}",
                simple("POST", route, [f"Content-Type: {FORM_CT}"], b"a=b"))
    for route in ("/afiliate/finalizar", "/afiliate/reenviar"):
        add(f"method-GET:{route}", simple("GET", route))

    # -- bodies and content types on every POST route (with a real session)
    def post(route, body, headers=None, ct=FORM_CT, half_close=False, cookie=True,
             **kw):
        def fn(ctx):
            s = ctx["session"]
            hs = []
            if ct is not None:
                hs.append(f"Content-Type: {ct}")
            if cookie:
                hs.append(f"Cookie: {s.cookie}")
            hs += headers or []
            b = body(s) if callable(body) else body
            return build("POST", route, hs, b, **kw), half_close
        return fn

    csrf = lambda s: f"csrf={s.csrf}"  # noqa: E731
    # Values a route reads: finalizar and reenviar read only the CSRF token, so
    # their bad values go there (other fields they ignore, by design).
    SPOILED = {"/afiliate/nss": "curp", "/afiliate/vigencia": "correo",
               "/afiliate/domicilio": "calle", "/afiliate/finalizar": "csrf",
               "/afiliate/reenviar": "csrf"}

    def spoil(value):
        """A body with value in the route's field (raw bytes kept as they are)."""
        def fn(s, route):
            f = SPOILED[route]
            head = b"" if f == "csrf" else f"csrf={s.csrf}&".encode()
            v = value if isinstance(value, bytes) else value.encode("latin-1")
            return head + f.encode() + b"=" + v
        return fn

    bodies = {
        "oversized": lambda s, r: f"{csrf(s)}&curp=" + "A" * 17000,
        "bad-escape": spoil("%zz"),
        "trunc-escape": spoil("%4"),
        "lone-percent": spoil("%"),
        "bad-escape-name": lambda s, r: f"{csrf(s)}&%G1=x",
        "invalid-utf8": spoil("%C3%28"),
        "invalid-utf8-ff": spoil("%FF%FE%40x.mx"),
        "overlong-utf8": spoil("%C0%AF"),
        "surrogate": spoil("%ED%A0%80"),
        "raw-8bit": spoil(b"\xff\xfe\x80"),
        "nul-escaped": spoil("A%00B"),
        "nul-name": lambda s, r: f"{csrf(s)}&cu%00rp=x",
        "nul-raw": spoil(b"A\x00B"),
        "repeated-field": lambda s, r: f"{csrf(s)}&curp=A&curp=B&calle=A&calle=B",
        "repeated-csrf": lambda s, r: f"{csrf(s)}&{csrf(s)}",
        "repeated-case": lambda s, r: f"{csrf(s)}&CSRF={s.csrf}",
        "too-many-fields": lambda s, r: csrf(s) + "".join(f"&f{i}=x" for i in range(200)),
        "empty-name": lambda s, r: f"{csrf(s)}&=x",
        "only-separators": lambda s, r: "&&&&====&&&",
        "no-csrf": lambda s, r: "curp=A",
        "forged-csrf": lambda s, r: "csrf=" + "0" * 64,
    }
    for route in ROUTES_POST:
        for bname, body in bodies.items():
            add(f"body-{bname}:{route}", post(route, lambda s, b=body, r=route: b(s, r)))
        add(f"body-oversized-chunked:{route}",
            post(route, lambda s: b"4000\r\n" + b"A" * 0x4000 + b"\r\n4000\r\n" + b"A" * 0x4000
                 + b"\r\n0\r\n\r\n", headers=["Transfer-Encoding: chunked"]))
        add(f"body-truncated:{route}",
            post(route, lambda s: f"{csrf(s)}&curp=A", headers=["Content-Length: 5000"],
                 half_close=True))
        add(f"body-truncated-chunked:{route}",
            post(route, lambda s: b"100\r\nabc", headers=["Transfer-Encoding: chunked"],
                 half_close=True))
        add(f"body-bad-chunk-size:{route}",
            post(route, lambda s: b"zz\r\nabc\r\n0\r\n\r\n",
                 headers=["Transfer-Encoding: chunked"]))
        add(f"body-negative-length:{route}",
            post(route, lambda s: "a=b", headers=["Content-Length: -1"]))
        add(f"body-alpha-length:{route}",
            post(route, lambda s: "a=b", headers=["Content-Length: abc"]))
        add(f"body-two-lengths:{route}",
            post(route, lambda s: "a=b", headers=["Content-Length: 3", "Content-Length: 7"]))
        add(f"body-huge-length:{route}",
            post(route, lambda s: "a=b", headers=["Content-Length: 99999999999999999999"]))
        for ct in (None, "text/plain", "application/json", "multipart/form-data; boundary=x",
                   "application/xml", "", "application/x-www-form-urlencodedx",
                   "application/x-www-form-urlencoded-evil"):
            add(f"ctype-{ct or 'none' if ct is None else 'empty' if ct == '' else ct}:{route}",
                post(route, csrf, ct=ct))
        add(f"cookie-none:{route}", post(route, csrf, cookie=False))
        add(f"cookie-forged:{route}",
            post(route, csrf, cookie=False, headers=["Cookie: afiliate_tramite=" + "ab" * 16]))
        add(f"cookie-not-hex:{route}",
            post(route, csrf, cookie=False, headers=["Cookie: afiliate_tramite=" + "zz" * 16]))
        add(f"cookie-short:{route}",
            post(route, csrf, cookie=False, headers=["Cookie: afiliate_tramite=abc"]))
        add(f"cookie-injected:{route}",
            post(route, csrf, cookie=False,
                 headers=["Cookie: afiliate_tramite=\"'; DROP TABLE tramite;--"]))
        add(f"cookie-repeated:{route}",
            post(route, csrf, cookie=False,
                 headers=["Cookie: afiliate_tramite=" + "ab" * 16 + "; afiliate_tramite="
                          + "cd" * 16]))

    # -- forged and bad session cookies on the document routes
    for route in ("/afiliate/comprobante", "/afiliate/tarjeta", "/afiliate/constancia"):
        for cname, value in (("forged", "ab" * 16), ("not-hex", "zz" * 16),
                             ("long", "a" * 4000), ("empty", ""),
                             ("quoted", '"' + "ab" * 16 + '"')):
            add(f"cookie-{cname}:GET {route}",
                simple("GET", route, [f"Cookie: afiliate_tramite={value}"]))
        add(f"cookie-repeated:GET {route}",
            simple("GET", route, ["Cookie: afiliate_tramite=" + "ab" * 16,
                                  "Cookie: afiliate_tramite=" + "cd" * 16]))
    # -- bad query strings and ids where a route reads them
    for query in ("folio=%00", "folio=%zz", "folio=<script>alert(1)</script>",
                  "folio=%27%20OR%201%3D1--", "folio=" + "9" * 5000, "folio=%C0%AF",
                  "folio=1&folio=2", "folio="):
        add(f"query-verificar:{query[:40]}", simple("GET", "/afiliate/verificar?" + query))
    for cid in ("x", "..%2f..%2fetc%2fpasswd", "a" * 300, "%00", "AAAA.1.BBBB",
                "%C3%28", "1e999.99999999999999999999.x"):
        add(f"captcha-id:{cid[:40]}", simple("GET", f"/afiliate/captcha/{cid}.png"))
    for cp in ("abc", "0670", "067000", "%00", "06700%00", "-1", "99999999999999999999",
               "%C3%28", "06700/x"):
        add(f"cp:{cp}", simple("GET", f"/afiliate/cp/{cp}"))

    # -- huge and strange headers
    for route in ("/afiliate/", "/afiliate/nss"):
        add(f"header-huge-cookie:{route}",
            simple("GET", route, ["Cookie: afiliate_tramite=" + "a" * 9000]))
        add(f"header-many-cookies:{route}",
            simple("GET", route, [f"Cookie: c{i}=" + "a" * 4000 for i in range(30)]))
        add(f"header-too-many:{route}",
            simple("GET", route, [f"X-H{i}: v" for i in range(150)]))
        add(f"header-no-colon:{route}", simple("GET", route, ["Esto no es un encabezado"]))
        add(f"header-nul:{route}", simple("GET", route, [b"X-A: a\x00b"]))
        add(f"header-bare-cr:{route}", simple("GET", route, [b"X-A: a\rb"]))
        add(f"header-space-name:{route}", simple("GET", route, ["X A: b"]))
        add(f"header-no-host:{route}", simple("GET", route, host=False))
        add(f"header-two-hosts:{route}", simple("GET", route, ["Host: otro.example"]))
        add(f"header-bad-host:{route}", lambda ctx, r=route: (
            build("GET", r, ["Host: a/b\\c"], host=False), False))
        add(f"header-expect:{route}", simple("GET", route, ["Expect: 200-no"]))
        add(f"header-te-unknown:{route}",
            simple("POST", route, ["Transfer-Encoding: gzip", f"Content-Type: {FORM_CT}"],
                   b"a=b"))
    # -- broken request lines
    for i, line in enumerate([b"GET", b"GET /afiliate/", b"GET  /afiliate/ HTTP/1.1",
                              b"GET /afiliate/ HTTP/1.1 extra", b"GET afiliate/ HTTP/1.1",
                              b"GET /afiliate/ HTTQ/1.1", b"\x00\x01\x02\x03",
                              b"GET /afiliate/\x00 HTTP/1.1", b"GET /afi liate/ HTTP/1.1",
                              b"G\xc3\x89T /afiliate/ HTTP/1.1"]):
        add(f"request-line-{i}", lambda ctx, l=line: (
            l + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", False))

    # -- CR/LF header injection in every field that reaches an e-mail, with the
    # rest of the form right (a located CURP, the right CAPTCHA): the injection
    # alone must be refused.
    for inj_i, inj in enumerate(INJECTIONS):
        for fname in ("correo", "correo_confirmacion", "curp"):
            def nss_inj(ctx, fname=fname, inj=inj):
                s = ctx["session"]
                cid, ans = s.fresh_captcha()
                correo = "estudiante@ejemplo.mx"
                fields = {"curp": ctx["found_curp"], "correo": correo,
                          "correo_confirmacion": correo, "captcha": ans, "captcha_id": cid,
                          "csrf": s.csrf}
                fields[fname] += inj
                return build("POST", "/afiliate/nss",
                             [f"Content-Type: {FORM_CT}", f"Cookie: {s.cookie}"],
                             form_body(fields.items())), False
            add(f"inject-{inj_i}-nss:{fname}", nss_inj)
        for fname in ("correo", "correo_confirmacion", "curp", "nss"):
            def vig_inj(ctx, fname=fname, inj=inj):
                s = ctx["session"]
                page = s.client.get("/afiliate/vigencia").text
                cid = field(page, "captcha_id")
                ans = captcha_answer(ctx["server"].secret, cid)
                correo = "estudiante@ejemplo.mx"
                fields = {"curp": ctx["found_curp"], "nss": ctx["found_nss"], "correo": correo,
                          "correo_confirmacion": correo, "captcha": ans, "captcha_id": cid,
                          "csrf": s.csrf}
                fields[fname] += inj
                return build("POST", "/afiliate/vigencia",
                             [f"Content-Type: {FORM_CT}", f"Cookie: {s.cookie}"],
                             form_body(fields.items())), False
            add(f"inject-{inj_i}-vigencia:{fname}", vig_inj)
        for fname in ("cp", "colonia", "calle", "numero_exterior", "numero_interior"):
            def dom_inj(ctx, fname=fname, inj=inj):
                d = ctx["domicilio"]()
                fields = {"cp": "06700", "colonia": "Roma Norte", "calle": "Orizaba",
                          "numero_exterior": "101", "numero_interior": "2", "csrf": d.csrf}
                fields[fname] += inj
                return build("POST", "/afiliate/domicilio",
                             [f"Content-Type: {FORM_CT}", f"Cookie: {d.cookie}"],
                             form_body(fields.items())), False
            add(f"inject-{inj_i}-domicilio:{fname}", dom_inj)
    return out


CASES = cases()


def conf_lines(path, prefix):
    return sorted(line.strip() for line in (TOP / "conf" / path).read_text().splitlines()
                  if line.strip().lstrip("#").strip().startswith(prefix))


def test_packaged_conf_matches_the_tested_one():
    """conf/afiliate.conf (the package's) carries the same Spanish error pages as
    the generated config under test, and suggests the same read timeouts."""
    ours = conf_lines("httpd.conf.in", "ErrorDocument")
    assert len(ours) >= 10 and ours == conf_lines("afiliate.conf", "ErrorDocument")
    timeout = [l.lstrip("#").strip() for l in conf_lines("afiliate.conf", "RequestReadTimeout")]
    assert timeout == conf_lines("httpd.conf.in", "RequestReadTimeout")


def test_enough_cases():
    assert len(CASES) >= 200, len(CASES)
    assert len({name for name, _ in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def hostile_ctx(apache_server, curps):
    """A session, a located CURP with its NSS, and a session waiting in the
    address step (made once, on first use: a trámite left there stays usable
    for every refused submission)."""
    srv = apache_server
    found = curps["found"].pop()
    nss = srv.query("SELECT nss FROM asegurado WHERE curp = ?", found)[0][0]
    dom = []

    def domicilio_session():
        if not dom:
            s = Session(srv)
            r = s.form.submit(curps["new"].pop())
            assert r.status == 200 and "/domicilio" in r.url, r.status
            s.csrf = field(s.client.get("/afiliate/domicilio").text, "csrf")
            dom.append(s)
        return dom[0]

    return {"server": srv, "found_curp": found, "found_nss": nss,
            "domicilio": domicilio_session}


@pytest.mark.parametrize("name,builder", CASES, ids=[c[0] for c in CASES])
def test_malformed_request(server, hostile_ctx, name, builder):
    ctx = dict(hostile_ctx, session=Session(server))
    data, half_close = builder(ctx)
    status, headers, body = raw_request(server, data, half_close=half_close)
    assert 400 <= status < 500, f"{name}: status {status}\n{body[:400]!r}"
    target = data.split(b" ", 2)[1] if data.count(b" ") >= 2 else b""
    assert is_spanish_page(headers, body, target), f"{name}: {status} not a Spanish page\n{body[:400]!r}"
    # Nothing left the outbox for an injected address, and no header was set from it.
    assert "bcc" not in headers
    # The [error] check is the server fixture's; it runs after every case.


def test_no_injected_mail_queued(server, hostile_ctx):
    """After the table: no queued message carries an injected header."""
    rows = server.query("SELECT COUNT(*) FROM outbox WHERE recipient LIKE ? "
                        "OR recipient LIKE ? OR recipient LIKE ?", "%victima%", "%\n%", "%\r%")
    assert rows[0][0] == 0


# ---------------------------------------------------------------- slowloris

SLOW_CONNECTIONS = 300
MPMS = sorted({combo.split("-")[0] for combo in MATRIX})
# Prefork sized as Debian's default (150 processes): with the
# tests' usual 32, 300 trickling connections queue a student for
# 300 / 32 x 5 s of header timeout, most of a minute (docs/deployment.md).
PREFORK_DEBIAN = ["<IfModule mpm_prefork_module>", "    MaxRequestWorkers 150",
                  "</IfModule>"]


@pytest.fixture(scope="module", params=MPMS)
def slow_server(request):
    srv = Apache(f"hostile-slow-{request.param}", mpm=request.param, extra=PREFORK_DEBIAN)
    srv.setup(seed_count=300)
    srv.start()
    yield srv
    srv.stop()


def test_slowloris_student_completes_paso1(slow_server):
    """Hundreds of loopback connections trickling header bytes while a student
    walks Paso 1 (new CURP: form, address, result). mod_reqtimeout closes the
    trickling connections; the student must finish, and all of it is bounded."""
    server = slow_server
    server.new_log_lines()
    curp = sample(server, "new", 1)[0]
    stop = threading.Event()
    socks = []
    lock = threading.Lock()
    opened = [0]
    cut = [0]

    def attacker(n):
        mine = []
        for _ in range(n):
            if stop.is_set():
                break
            try:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET /afiliate/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                mine.append(s)
            except OSError:
                pass
        with lock:
            socks.extend(mine)
            opened[0] += len(mine)
        i = 0
        while not stop.is_set() and mine:
            for s in list(mine):
                try:
                    s.sendall(f"X-Lento-{i}: a\r\n".encode())
                except OSError:
                    mine.remove(s)
                    with lock:
                        cut[0] += 1
            i += 1
            stop.wait(1.0)

    threads = [threading.Thread(target=attacker, args=(SLOW_CONNECTIONS // 10,), daemon=True)
               for _ in range(10)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(2.0)
    student = None
    try:
        c = server.client()
        start = time.monotonic()
        f = Form(server, c)
        r = f.submit(curp)
        assert r.status == 200 and "/domicilio" in r.url, r.status
        r = domicilio(c)
        assert r.status == 200, r.status
        nss = assigned_nss(r.text)
        student = time.monotonic() - start
        assert nss, r.text[:500]
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        for s in socks:
            s.close()
    total = time.monotonic() - t0
    print(f"slowloris ({server.mpm}): {opened[0]} connections, {cut[0]} cut by the server; "
          f"student finished Paso 1 in {student:.1f} s; {total:.1f} s in all")
    assert opened[0] >= 200
    assert total < 50
    # Saturation is worth an [error] line for the operator; nothing else is.
    server.expect_log(r"AH00484|AH00161|AH10159")
    bad = server.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)


def test_trickled_headers_are_cut(slow_server):
    """One connection trickling a header line a second is answered 408 (the
    Spanish page) and closed by mod_reqtimeout after about 5 s, not kept."""
    server = slow_server
    server.new_log_lines()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"GET /afiliate/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        s.settimeout(1.0)
        resp = b""
        i = 0
        while time.monotonic() - t0 < 25:
            try:
                s.sendall(f"X-Lento-{i}: a\r\n".encode())
            except OSError:
                break
            i += 1
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            resp += b
        elapsed = time.monotonic() - t0
    assert 4 <= elapsed < 10, elapsed
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), resp[:200]
    assert SPANISH.search(body.decode("latin-1")), body[:300]
    bad = server.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)
