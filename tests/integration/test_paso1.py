"""Paso 1 end to end against a real apache2 + mod_dbd + SQLite, under each MPM."""
import re
import subprocess
import threading
import time
from collections import defaultdict

import pytest

from flows import Form, assigned_nss, domicilio, field, forge_captcha_id, nss_valid
from harness import CTL, copy_jar

PDF_TEXT_CACHE = {}


def pdf_text(body, tmp_path, name="c.pdf"):
    path = tmp_path / name
    path.write_bytes(body)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")


def db_rows(server, sql, *args):
    return server.query(sql, *args)


# ---------------------------------------------------------------- the form


def test_form_page(server):
    r = server.client().get("/afiliate/nss")
    assert r.status == 200
    html = r.text
    assert "Para este paso es necesario tener a la mano CURP y correo electrónico" in html
    for name in ("curp", "correo", "correo_confirmacion", "captcha"):
        assert f'name="{name}"' in html
    assert field(html, "captcha_id") and field(html, "csrf")
    assert r.header("Cache-Control") == "no-store"
    cookie = r.header("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie


def test_captcha_image(server):
    c = server.client()
    form = Form(server, c)
    r = c.get(f"/afiliate/captcha/{form.captcha_id}.png")
    assert r.status == 200
    assert r.header("Content-Type") == "image/png"
    assert r.header("Cache-Control") == "no-store"
    assert r.body.startswith(b"\x89PNG\r\n\x1a\n")
    tampered = form.captcha_id[:-1] + ("A" if form.captcha_id[-1] != "A" else "B")
    assert c.get(f"/afiliate/captcha/{tampered}.png").status == 404


def session_cookie(client):
    return {c.name: c.value for c in client.jar}


@pytest.mark.parametrize("kind", ["found", "new"])
def test_session_id_rotates_when_the_form_leads_on(server, curps, kind):
    """The cookie a browser had on the form (maybe left on a shared computer, or
    planted) does not reach the result: a new one is set with the step."""
    c = server.client()
    form = Form(server, c)
    before, saved = session_cookie(c), c.jar_copy()
    r = form.submit(curps[kind].pop())
    assert r.status == 200 and r.url.endswith("/resultado" if kind == "found" else "/domicilio")
    after = session_cookie(c)
    assert after.keys() == before.keys() and after != before
    # The old cookie gets nothing of the trámite; the new one carries it on.
    old = server.client(jar=saved)
    page = "/afiliate/resultado" if kind == "found" else "/afiliate/domicilio"
    assert old.get(page).url.endswith("/afiliate/nss")
    assert old.get("/afiliate/comprobante").status == 404
    r = c.get(page)
    assert r.status == 200 and r.url.endswith(page)


# ---------------------------------------------------------------- found and new flows


def test_found_flow(server, curps, tmp_path):
    curp = curps["found"].pop()
    c = server.client()
    r = Form(server, c).submit(curp, correo="localiza@ejemplo.mx")
    assert r.status == 200, r.text
    assert r.url.endswith("/afiliate/resultado")
    html = r.text
    assert "localizado" in html and "localiza@ejemplo.mx" in html
    for option in ("Reenviar", "Imprimir", "Descargar", "Finalizar Trámite"):
        assert option in html
    nss = db_rows(server, "SELECT nss FROM asegurado WHERE curp = ?", curp)[0][0]

    pdf = c.get("/afiliate/comprobante")
    assert pdf.status == 200
    assert pdf.header("Content-Type") == "application/pdf"
    assert pdf.header("Content-Disposition") == f'inline; filename="comprobanteNSS{nss}.pdf"'
    assert pdf.header("Cache-Control") == "no-store"
    assert len(pdf.body) <= 6144, len(pdf.body)
    text = pdf_text(pdf.body, tmp_path)
    assert nss in text and curp in text and "Localización" in text

    dl = c.get("/afiliate/comprobante?descargar=1")
    assert dl.header("Content-Disposition") == f'attachment; filename="comprobanteNSS{nss}.pdf"'


def test_new_flow_assigns_and_is_found_again(server, curps, tmp_path):
    curp = curps["new"].pop()
    c = server.client()
    r = Form(server, c).submit(curp, correo="nuevo@ejemplo.mx")
    assert r.status == 200 and r.url.endswith("/afiliate/domicilio")
    html = r.text
    assert "No se encontró un número asociado a tu CURP, se te asignará uno." in html
    assert curp in html
    nombres, ap1 = db_rows(server, "SELECT nombres, primer_apellido FROM renapo_persona "
                                   "WHERE curp = ?", curp)[0]
    assert nombres in html and ap1 in html
    assert "Este proceso puede tardar algunos minutos, no cierre ni refresque la ventana." in html

    r = domicilio(c, numero_interior="4B")
    assert r.status == 200, r.text
    assert "Asignación de NSS exitosa." in r.text
    assert "Finalizar Trámite" in r.text
    nss = assigned_nss(r.text)
    assert nss and nss_valid(nss)
    (stored, umf, cp), = db_rows(server, "SELECT nss, umf_clave, cp FROM asegurado "
                                         "WHERE curp = ?", curp)
    assert stored == nss and cp == "06700"
    assert umf in [u for (u,) in db_rows(server, "SELECT umf_clave FROM umf_cp WHERE cp='06700'")]
    assert nss[2:4] == time.strftime("%y") and nss[4:6] == curp[4:6]

    text = pdf_text(c.get("/afiliate/comprobante").body, tmp_path)
    assert nss in text and curp in text and "Asignación" in text

    # A double submit and a refresh give the same NSS.
    assert assigned_nss(domicilio(c).text) == nss
    assert assigned_nss(c.get("/afiliate/resultado").text) == nss

    # The same CURP in a new trámite is now found, with the same NSS.
    c2 = server.client()
    r = Form(server, c2).submit(curp)
    assert r.url.endswith("/afiliate/resultado") and "localizado" in r.text
    assert db_rows(server, "SELECT count(*) FROM asegurado WHERE curp = ?", curp)[0][0] == 1


def test_finalizar_ends_the_tramite(server, curps):
    c = server.client()
    Form(server, c).submit(curps["found"].pop())
    page = c.get("/afiliate/resultado")
    r = c.post("/afiliate/finalizar", {"csrf": field(page.text, "csrf")})
    assert r.status == 200 and r.url.endswith("/afiliate/")
    assert c.get("/afiliate/comprobante").status == 404
    assert c.get("/afiliate/resultado").url.endswith("/afiliate/nss")


def test_comprobante_needs_the_session(server, curps):
    c = server.client()
    Form(server, c).submit(curps["found"].pop())
    assert c.get("/afiliate/comprobante").status == 200
    assert server.client().get("/afiliate/comprobante").status == 404


# ---------------------------------------------------------------- address form


def test_postal_code_json(server):
    c = server.client()
    r = c.get("/afiliate/cp/06700")
    assert r.status == 200 and r.header("Content-Type").startswith("application/json")
    import json
    data = json.loads(r.text)
    assert data["cp"] == "06700" and data["estado"] == "Ciudad de México"
    assert data["municipio"] == "Cuauhtémoc" and "Roma Norte" in data["colonias"]
    for cp in ("99999", "1234", "abcde"):
        r = c.get(f"/afiliate/cp/{cp}")
        assert r.status == 404 and "error" in json.loads(r.text)


def test_aceptar_without_javascript_fills_the_form(server, curps):
    c = server.client()
    Form(server, c).submit(curps["new"].pop())
    r = domicilio(c, cp="44100", colonia="", calle="", numero_exterior="", aceptar="1")
    assert r.status == 200
    assert 'value="Jalisco"' in r.text and 'value="Guadalajara"' in r.text
    assert "Guadalajara Centro" in r.text
    assert "Asignación de NSS exitosa." not in r.text


def test_unknown_postal_code(server, curps):
    c = server.client()
    Form(server, c).submit(curps["new"].pop())
    r = domicilio(c, cp="99999")
    assert r.status == 400
    assert ("El Código Postal 99999 no se encuentra relacionado a ninguna Unidad Médica "
            "Familiar (UMF)") in r.text
    assert "Asignación de NSS exitosa." not in r.text


def test_address_validation(server, curps):
    c = server.client()
    Form(server, c).submit(curps["new"].pop())
    r = domicilio(c, colonia="No Existe", calle="", numero_exterior="x" * 30)
    assert r.status == 400
    assert "Este campo es obligatorio" in r.text
    assert "Selecciona una colonia" in r.text


# ---------------------------------------------------------------- validation messages

CURP_CASES = {
    "SABC560626MDFLRN0": "18 caracteres",
    "SABC5606261DFLRN01": "formato",
    "SABC560626ZDFLRN01": "sexo",
    "SABC560626MZZLRN01": "entidad",
    "SABC561326MDFLRN01": "fecha",
    "SABC560626MDFLRN02": "verificador",
}


@pytest.mark.parametrize("curp,word", CURP_CASES.items())
def test_curp_messages(server, curp, word):
    c = server.client()
    r = Form(server, c).submit(curp)
    assert r.status == 400
    assert word in r.text
    assert f'value="{curp}"' in r.text  # the input is kept


def test_empty_fields(server):
    c = server.client()
    r = Form(server, c).submit("", correo="", captcha="")
    assert r.status == 400
    assert r.text.count("Este campo es obligatorio") >= 3


def test_email_messages(server, curps):
    c = server.client()
    f = Form(server, c)
    r = f.submit(curps["found"][0], correo="no-es-correo", confirmacion="no-es-correo")
    assert r.status == 400 and "El correo electrónico no es válido" in r.text
    f = Form(server, c)
    r = f.submit(curps["found"][0], correo="a@ejemplo.mx", confirmacion="b@ejemplo.mx")
    assert r.status == 400 and "no coinciden" in r.text
    assert 'value="a@ejemplo.mx"' in r.text


def test_renapo_messages(server, curps):
    c = server.client()
    r = Form(server, c).submit("SABC560626MDFLRN01")  # valid, not in the demo registry
    assert r.status == 422
    assert "No se localizó información en RENAPO con la CURP capturada." in r.text
    r = Form(server, c).submit(curps["inactive"].pop())
    assert r.status == 422 and "no está vigente" in r.text


# ---------------------------------------------------------------- CAPTCHA


def test_captcha_wrong_and_wrong_case(server, curps):
    c = server.client()
    f = Form(server, c)
    r = f.submit(curps["found"][0], captcha="zzzzzz")
    assert r.status == 400
    assert "El captcha no fue válido, favor de intentar nuevamente" in r.text
    f = Form(server, c)
    r = f.submit(curps["found"][0], captcha=f.answer().swapcase())
    assert r.status == 400 and "El captcha no fue válido" in r.text
    # A wrong answer burns the challenge: the right one afterwards is refused.
    f = Form(server, c)
    f.submit(curps["found"][0], captcha="zzzzzz")
    assert f.submit(curps["found"][0]).status == 400


def test_captcha_expired_and_replayed(server, curps):
    c = server.client()
    f = Form(server, c)
    f.captcha_id = forge_captcha_id(server.secret, int(time.time()) - 1)
    r = f.submit(curps["found"][0])
    assert r.status == 400 and "El captcha no fue válido" in r.text
    f = Form(server, c)
    replay = c.jar_copy()   # the form's own session: the step rotates the browser's
    assert f.submit(curps["found"][0]).status == 200
    f.client = server.client(jar=replay)
    assert f.submit(curps["found"][0]).status == 400  # replay


def test_one_captcha_twenty_concurrent_submissions(server, curps):
    c = server.client()
    f = Form(server, c)
    curp = curps["found"][1]
    results = []
    barrier = threading.Barrier(20)

    jar = c.jar_copy()

    def go():
        # Each request carries the form's session cookie, as twenty copies of
        # one page would (the winner's response rotates only its own copy).
        mine = Form.__new__(Form)
        mine.__dict__.update(f.__dict__, client=server.client(jar=copy_jar(jar)))
        barrier.wait()
        results.append(mine.submit(curp).status)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(200) == 1, results
    assert results.count(400) == 19


# ---------------------------------------------------------------- safety


def test_csrf_required(server, curps):
    c = server.client()
    f = Form(server, c)
    assert f.submit(curps["found"][0], csrf=None).status == 403
    f = Form(server, c)
    assert f.submit(curps["found"][0], csrf="0" * 64).status == 403
    # Another browser's token does not work with this cookie.
    other = Form(server, server.client())
    f = Form(server, c)
    assert f.submit(curps["found"][0], csrf=other.csrf).status == 403


def test_repeated_parameter_and_bad_body(server):
    c = server.client()
    f = Form(server, c)
    body = f"curp=A&curp=B&csrf={f.csrf}".encode()
    r = c.post("/afiliate/nss", raw=body,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400
    r = c.post("/afiliate/nss", raw=b"%G1=x",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400
    r = c.post("/afiliate/nss", raw=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 415


def test_oversized_body(server):
    r = server.client().post("/afiliate/nss", raw=b"curp=" + b"A" * 20000,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 413


def test_rate_limit(server, curps):
    c = server.client()
    page = c.get("/afiliate-limitado/nss")
    csrf = field(page.text, "csrf")
    statuses = [c.post("/afiliate-limitado/nss", {"csrf": csrf, "curp": "X"}).status
                for _ in range(5)]
    server.expect_log("rate limit")
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3:] == [429, 429]
    r = c.post("/afiliate-limitado/nss", {"csrf": csrf})
    assert "Espera un minuto" in r.text and r.header("Retry-After") == "60"


def test_escaped_output(server):
    c = server.client()
    evil = '<script>alert("x")</script>\'ñ'
    r = Form(server, c).submit(evil, correo=evil)
    assert r.status == 400
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text


# ---------------------------------------------------------------- concurrency


def test_concurrent_assignment(server, curps):
    """100 concurrent trámites for 50 new CURPs: exactly 50 NSS, no gaps."""
    chosen = [curps["new"].pop() for _ in range(50)]
    results = defaultdict(list)
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(100)

    def trámite(curp):
        try:
            c = server.client()
            f = Form(server, c)
            barrier.wait(timeout=60)
            r = f.submit(curp)
            if r.url.endswith("/domicilio"):
                r = domicilio(c)
            nss = assigned_nss(r.text) if r.status == 200 else None
            if nss is None and "localizado" in r.text:
                nss = "localizado"
            with lock:
                results[curp].append((r.status, nss))
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=trámite, args=(curp,)) for curp in chosen * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    statuses = [s for v in results.values() for s, _ in v]
    assert statuses.count(200) == 100, statuses
    rows = db_rows(server, "SELECT curp, nss FROM asegurado WHERE curp IN (%s)"
                   % ",".join("?" * 50), *chosen)
    assert len(rows) == 50
    by_curp = dict(rows)
    assert len(set(by_curp.values())) == 50
    for curp, outcomes in results.items():
        for _, nss in outcomes:
            assert nss in (by_curp[curp], "localizado")
    assert all(nss_valid(n) for n in by_curp.values())
    # Folios without gaps per prefix, and counters equal to rows.
    folios = defaultdict(list)
    for prefijo, folio in db_rows(server, "SELECT prefijo, folio FROM asegurado"):
        folios[prefijo].append(folio)
    for prefijo, siguiente in db_rows(server, "SELECT prefijo, siguiente FROM folio_contador"):
        if siguiente == 10000 and not folios[prefijo]:
            continue  # marked full by the exhaustion tests
        assert sorted(folios[prefijo]) == list(range(siguiente)), prefijo
    # Outbox and results one to one (no lost or doubled mail): one message per trámite, and
    # each assignment carries exactly one 'asignacion' message.
    marks = ",".join("?" * 50)
    assert db_rows(server, "SELECT count(*) FROM outbox o JOIN asegurado a ON "
                           f"a.id = o.asegurado_id WHERE a.curp IN ({marks})", *chosen) == [(100,)]
    per = db_rows(server, "SELECT a.id, count(o.id) FROM asegurado a LEFT JOIN outbox o ON "
                          "o.asegurado_id = a.id AND o.reason = 'asignacion' "
                          f"WHERE a.curp IN ({marks}) GROUP BY a.id", *chosen)
    assert len(per) == 50 and all(n == 1 for _, n in per), per


def test_concurrent_documents(server, curps, tmp_path):
    """20 trámites download their first comprobante at the same moment: each row takes its
    sequence in its transaction and its sello is signed and stored after the commit; in
    the end every one has its own folio and its sello, the sequence has no gap and each
    file verifies against the public key."""
    chosen = [curps["found"].pop() for _ in range(20)]
    clients = []
    for curp in chosen:
        c = server.client()
        r = Form(server, c).submit(curp)
        assert r.status == 200 and r.url.endswith("/resultado"), (r.status, r.url)
        clients.append(c)
    before = db_rows(server, "SELECT count(*) FROM documento")[0][0]
    barrier = threading.Barrier(len(clients))
    got, errors = {}, []

    def download(i, c):
        try:
            barrier.wait(timeout=60)
            got[i] = c.get("/afiliate/comprobante?descargar=1")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=download, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(r.status == 200 and r.body.startswith(b"%PDF-") for r in got.values()), \
        [r.status for r in got.values()]
    # Each sello is stored right after its row, by the group committer's next batch.
    until = time.monotonic() + 5
    while db_rows(server, "SELECT count(*) FROM documento WHERE sello = ''") != [(0,)] and \
            time.monotonic() < until:
        time.sleep(0.05)
    marks = ",".join("?" * len(chosen))
    rows = db_rows(server, f"SELECT folio, cadena, sello FROM documento WHERE curp IN ({marks}) "
                           "AND tipo = 'comprobante'", *chosen)
    assert len(rows) == len(chosen) and len({f for f, _, _ in rows}) == len(chosen)
    assert all(folio in cadena and sello for folio, cadena, sello in rows)
    assert db_rows(server, "SELECT count(*) FROM documento")[0][0] == before + len(chosen)
    assert db_rows(server, "SELECT siguiente - 1 FROM documento_contador WHERE id = 1") == \
        db_rows(server, "SELECT count(*) FROM documento")
    for i, r in got.items():
        path = tmp_path / f"c{i}.pdf"
        path.write_bytes(r.body)
        v = subprocess.run([str(CTL), "verify", str(path), "--pub", str(server.public_key_path)],
                           capture_output=True, text=True)
        assert v.returncode == 0 and v.stdout.startswith("valid"), v.stdout + v.stderr


# ---------------------------------------------------------------- folio exhaustion


def single_umf_cp(server):
    (cp, serie), = db_rows(server, "SELECT c.cp, min(u.serie) FROM umf_cp c "
                                   "JOIN umf u ON u.clave = c.umf_clave GROUP BY c.cp "
                                   "HAVING count(*) = 1 ORDER BY c.cp LIMIT 1")
    colonia = db_rows(server, "SELECT asentamiento FROM sepomex WHERE cp = ? LIMIT 1", cp)[0][0]
    return cp, colonia, serie


def set_counter(server, prefijo, siguiente):
    server.execute("INSERT INTO folio_contador (prefijo, siguiente) VALUES (?, ?) "
                   "ON CONFLICT (prefijo) DO UPDATE SET siguiente = excluded.siguiente",
                   prefijo, siguiente)


def new_curp_born(curps, yy):
    for i, curp in enumerate(curps["new"]):
        if curp[4:6] == yy:
            return curps["new"].pop(i)
    pytest.skip(f"no new CURP born in {yy}")


def test_full_prefix_falls_back_to_previous_year(server, curps):
    cp, colonia, serie = single_umf_cp(server)
    curp = new_curp_born(curps, "03")
    year = int(time.strftime("%y"))
    set_counter(server, f"{serie}{year:02d}03", 10000)   # this year's prefix is full
    c = server.client()
    Form(server, c).submit(curp)
    r = domicilio(c, cp=cp, colonia=colonia)
    nss = assigned_nss(r.text)
    assert nss and nss_valid(nss), r.text
    assert nss.startswith(f"{serie}{year - 1:02d}03")


def test_no_folio_left_sends_to_the_subdelegacion(server, curps):
    cp, colonia, serie = single_umf_cp(server)
    curp = new_curp_born(curps, "04")
    year = int(time.strftime("%y"))
    for y in range(14, year + 1):
        set_counter(server, f"{serie}{y:02d}04", 10000)
    c = server.client()
    Form(server, c).submit(curp)
    server.expect_log("no NSS folio left")
    r = domicilio(c, cp=cp, colonia=colonia)
    assert r.status == 503
    assert "acudas a la subdelegación" in r.text
    assert not db_rows(server, "SELECT 1 FROM asegurado WHERE curp = ?", curp)
    # Nothing half-written: the counters did not move past the limit.
    assert db_rows(server, "SELECT max(siguiente) FROM folio_contador WHERE prefijo LIKE ?",
                   f"{serie}__04")[0][0] == 10000
