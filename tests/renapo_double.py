#!/usr/bin/env python3
"""A RENAPO test double: the "consulta por CURP" of docs/renapo.md over HTTPS on
127.0.0.1, standard library only (http.server + ssl).

make_pki(dir) makes, with the openssl command, a CA, a server certificate for
127.0.0.1 and localhost, a client certificate signed by the same CA (the double
requires one: mutual TLS), and a second CA with its own server certificate for
the "wrong CA" case.

Identities come from a table (Double.persons, CURP -> answer) and, when a
SQLite database is given, from its renapo_persona rows. Per CURP, or for every
CURP with "*", Double.behaviour picks a fault:

  ok          the answer (404 JSON when the CURP is unknown)
  delay:S     the answer after S seconds
  hang        no answer until the double is released or stopped
  500         HTTP 500
  malformed   200 application/json, truncated JSON
  oversized   200 application/json, one megabyte
  ctype       200 text/html with a correct JSON body
  reset       the connection reset (TCP RST) without an answer
  othercurp   a correct answer about another CURP
  missing     an answer without statusCurp

Double.counts counts the requests per CURP, Double.max_inflight the most
requests it was answering at once. Run as a script (make run
RENAPO=double) it serves until killed:

  renapo_double.py --pki DIR --port N [--sqlite DB] [--token T]
"""
import argparse
import collections
import json
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_PATH = "/renapo/v1/curp/"


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d, name, cn):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(d, name, ca, cn, ext):
    (d / f"{name}.ext").write_text(ext)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
             cwd=d)
    (d / f"{name}.key").chmod(0o600)


def make_pki(d):
    """Certificates under d (made once): ca, server, client, other-ca, other-server."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "other-server.pem").exists():
        server_ext = ("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                      "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _ca(d, "ca", "RENAPO de prueba CA")
        _leaf(d, "server", "ca", "127.0.0.1", server_ext)
        _leaf(d, "client", "ca", "mod_afiliate de prueba",
              "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        _ca(d, "other-ca", "Otra CA")
        _leaf(d, "other-server", "other-ca", "127.0.0.1", server_ext)
    return {k: str(d / f"{k}.pem") for k in ("ca", "server", "client", "other-ca",
                                             "other-server")} | {
        "client_key": str(d / "client.key")}


def answer_from_row(curp, nombres, ap1, ap2, fecha, sexo, entidad, status):
    y, m, dd = fecha.split("-")
    return {"curp": curp, "nombres": nombres, "primerApellido": ap1,
            "segundoApellido": ap2 or None, "sexo": sexo, "fechaNacimiento": f"{dd}/{m}/{y}",
            "claveEntidad": entidad, "statusCurp": status}


class Double:
    def __init__(self, pki, port=0, server_cert="server", sqlite_db=None, token=None):
        self.pki = Path(pki)
        self.port = port
        self.server_cert = server_cert
        self.sqlite_db = sqlite_db
        self.token = token
        self.persons = {}
        self.behaviour = {}
        self.counts = collections.Counter()
        self.inflight = 0      # requests being answered now
        self.max_inflight = 0  # the most at once since the last reset
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.httpd = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}{BASE_PATH.rstrip('/')}"

    def reset(self):
        with self.lock:
            self.behaviour.clear()
            self.counts.clear()
            self.max_inflight = self.inflight
        self.released.set()
        self.released = threading.Event()

    def release(self):
        self.released.set()

    def lookup(self, curp):
        if curp in self.persons:
            return self.persons[curp]
        if self.sqlite_db:
            con = sqlite3.connect(self.sqlite_db, timeout=5)
            try:
                row = con.execute(
                    "SELECT curp, nombres, primer_apellido, segundo_apellido, fecha_nacimiento, "
                    "sexo, entidad_nacimiento, status_curp FROM renapo_persona WHERE curp = ?",
                    (curp,)).fetchone()
            finally:
                con.close()
            if row:
                return answer_from_row(*row)
        return None

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki / f"{self.server_cert}.pem",
                            self.pki / f"{self.server_cert}.key")
        ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: a client certificate of our CA
        ctx.load_verify_locations(self.pki / "ca.pem")
        double = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def finish_request(self, request, client_address):
                # The handshake runs in the connection's own thread.
                try:
                    tls = ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    super().finish_request(tls, client_address)
                finally:
                    try:
                        tls.close()
                    except OSError:
                        pass

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, status, body, ctype="application/json; charset=utf-8"):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body, ensure_ascii=False)
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with double.lock:
                    double.inflight += 1
                    double.max_inflight = max(double.max_inflight, double.inflight)
                try:
                    self.answer()
                finally:
                    with double.lock:
                        double.inflight -= 1

            def answer(self):
                if not self.path.startswith(BASE_PATH):
                    return self.send(404, "<h1>Not Found</h1>", "text/html")
                curp = self.path[len(BASE_PATH):]
                if double.token and self.headers.get("Authorization") != f"Bearer {double.token}":
                    return self.send(401, {"error": "no autorizado"})
                with double.lock:
                    double.counts[curp] += 1
                    how = double.behaviour.get(curp, double.behaviour.get("*", "ok"))
                    released = double.released
                if how.startswith("delay:"):
                    time.sleep(float(how[6:]))
                    how = "ok"
                if how == "hang":
                    released.wait(120)
                    return self.close_hard()
                if how == "500":
                    return self.send(500, {"error": "interno"})
                if how == "reset":
                    return self.close_hard()
                person = double.lookup(curp)
                if how == "malformed":
                    return self.send(200, '{"curp": "%s", "nombres": ' % curp)
                if how == "oversized":
                    return self.send(200, '{"curp": "%s", "x": "%s"}' % (curp, "A" * (1 << 20)))
                if person is None:
                    return self.send(404, {"curp": curp, "encontrado": False})
                if how == "ctype":
                    return self.send(200, person, "text/html")
                if how == "othercurp":
                    return self.send(200, dict(person, curp=curp[:17] + (
                        "0" if curp[17] != "0" else "1")))
                if how == "missing":
                    return self.send(200, {k: v for k, v in person.items()
                                           if k != "statusCurp"})
                return self.send(200, person)

            def close_hard(self):
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.released.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pki", required=True)
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--sqlite", help="answer from this database's renapo_persona")
    ap.add_argument("--token", help="require Authorization: Bearer TOKEN")
    a = ap.parse_args()
    make_pki(a.pki)
    d = Double(a.pki, port=a.port, sqlite_db=a.sqlite, token=a.token).start()
    print(f"renapo_double: {d.url}/<CURP> (mutual TLS, CA {a.pki}/ca.pem)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    d.stop()


if __name__ == "__main__":
    sys.exit(main())
