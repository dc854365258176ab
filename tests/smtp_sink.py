#!/usr/bin/python3
"""A loopback SMTP sink for the tests and benchmarks (Debian's python3-aiosmtpd).

It stores every message it accepts, byte for byte, and can be switched into
the failure modes the outbox must survive:

    accept    250 after the data (the default)
    tempfail  451 to RCPT TO (a temporary refusal)
    permfail  550 to RCPT TO (a permanent refusal)
    drop      reads the whole message, then closes the connection without a
              reply (the RFC 1047 case: the client cannot know it arrived)
    stop()    no listener at all: connections are refused

Per recipient, a local part starting with "tempfail" or "permfail" forces
that answer whatever the mode.

With tls=(certfile, keyfile) it offers STARTTLS; with auth=(user, password)
it requires AUTH (only after STARTTLS when TLS is on).

As a library: `SmtpSink().start()`, then `.port`, `.messages`, `.mode`.
As a script (used by the C unit tests): prints "PORT <n>" and writes each
accepted message to DIR/<n>.eml until stdin closes:

    smtp_sink.py --dir DIR [--port N] [--tls-cert F --tls-key F] [--auth USER:PASSWORD]
"""
import argparse
import email
import email.policy
import logging
import os
import socket
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Message:
    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data
        self.received = time.time()

    @property
    def parsed(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self):
        return self.parsed["Message-ID"]


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.sink.mode
        local = address.split("@", 1)[0].lower()
        if mode == "tempfail" or local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        if mode == "permfail" or local.startswith("permfail"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        msg = Message(envelope.mail_from, envelope.rcpt_tos, data)
        if self.sink.mode == "drop":
            with self.sink.lock:
                self.sink.dropped.append(msg)
            # No reply: the client sees the connection close after its final ".".
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        with self.sink.lock:
            self.sink.messages.append(msg)
            self.sink.cond.notify_all()
        if self.sink.directory:
            n = len(self.sink.messages)
            with open(os.path.join(self.sink.directory, f"{n}.eml"), "wb") as f:
                f.write(data)
        return "250 2.0.0 Queued"


class SmtpSink:
    def __init__(self, port=None, directory=None, tls=None, auth=None):
        self.port = port or free_port()
        self.directory = directory
        self.tls = tls
        self.auth = auth
        self.mode = "accept"
        self.messages = []
        self.dropped = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        if self.controller is None:
            kw = {}
            if self.tls:
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(*self.tls)
                kw["tls_context"] = ctx
            if self.auth:
                user, password = (x.encode() for x in self.auth)

                def authenticator(server, session, envelope, mechanism, data):
                    return AuthResult(success=(data.login, data.password) == (user, password))

                kw.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=bool(self.tls))
            self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                         decode_data=False, ready_timeout=10, **kw)
            self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.dropped.clear()

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, predicate, timeout=30):
        """Waits until predicate(messages) is true; returns the messages."""
        deadline = time.time() + timeout
        with self.cond:
            while not predicate(self.messages):
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(f"sink: condition not met ({len(self.messages)} messages)")
                self.cond.wait(min(left, 0.2))
            return list(self.messages)


def main():
    # Refused TLS handshakes (the tests provoke them) would print tracebacks.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth")
    a = ap.parse_args()
    sink = SmtpSink(port=a.port or None, directory=a.dir,
                    tls=(a.tls_cert, a.tls_key) if a.tls_cert else None,
                    auth=tuple(a.auth.split(":", 1)) if a.auth else None).start()
    print(f"PORT {sink.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
