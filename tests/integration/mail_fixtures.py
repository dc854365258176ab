"""What the e-mail tests share besides the sink fixture (conftest.py): the
directives that point a server at the SMTP sink (tests/smtp_sink.py), a
server watched for unexpected error_log lines, fresh recipient addresses and
waiting for delivered messages."""
import contextlib
import time
import uuid

SENDER = "no-reply@imss.example.mx"


def mail_lines(sink, sender=f'{SENDER} "IMSS Digital"', **more):
    """The directives that deliver through sink, fast retries, and more as 'Name value'."""
    return [f"AfiliateSMTPURL {sink.url}",
            "AfiliateOutboxInterval 1",
            "AfiliateOutboxBackoff 1 2",
            f"AfiliateMailFrom {sender}"] + [f"{k} {v}" for k, v in more.items()]


@contextlib.contextmanager
def watched(server, sink):
    """The server for one test, its sink accepting again; fails the test on an
    unexpected [warn]/[error] line in its error_log."""
    sink.mode = "accept"
    sink.start()
    server.new_log_lines()
    server.expected = []
    yield server
    bad = server.unexpected_log_lines()
    assert not bad, "unexpected error_log lines:\n" + "\n".join(bad)


def address(tag):
    """A recipient address no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@ejemplo.mx"


def delivered(sink, to, n=1, timeout=30, settle=1.5):
    """Waits for n messages to `to`, then makes sure no further one comes."""
    sink.wait_for(lambda msgs: sum(to in m.rcpt_tos for m in msgs) >= n, timeout=timeout)
    time.sleep(settle)
    got = sink.to(to)
    assert len(got) == n, f"{len(got)} messages to one address, expected {n}"
    return got
