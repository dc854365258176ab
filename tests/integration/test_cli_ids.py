"""afiliatectl curp / nss / curp-build: the public command-line interface."""
import subprocess

from harness import CTL


def run(*args, stdin=None):
    return subprocess.run([str(CTL), *args], input=stdin, capture_output=True, check=False)


def test_curp_arguments_documented_examples():
    r = run("curp", "SABC560626MDFLRN01", "BOXW310820HNERXN09", "SABC560626MDFLRN02")
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == [
        "SABC560626MDFLRN01\tvalid\tok",
        "BOXW310820HNERXN09\tvalid\tok",
        "SABC560626MDFLRN02\tinvalid\tbad_check_digit",
    ]


def test_curp_stdin_every_reason_and_raw_bytes():
    lines = [b"", b"  sabc560626mdflrn01 ", b"SABC560626MDFLRN0", b"SABC5606261DFLRN01",
             b"SABC560626ZDFLRN01", b"SABC560626MZZLRN01", b"SABC561326MDFLRN01",
             "SAÑC560626MDFLRN01".encode(), b"\xff" * 18, b"A" * (1 << 20)]
    r = run("curp", stdin=b"\n".join(lines) + b"\n")
    assert r.returncode == 0
    out = r.stdout.split(b"\n")[:-1]
    assert len(out) == len(lines)
    verdicts = [o.rsplit(b"\t", 2)[1:] for o in out]
    assert [o.rsplit(b"\t", 2)[0] for o in out] == lines   # input echoed as given
    assert verdicts == [[b"invalid", b"bad_length"], [b"valid", b"ok"],
                        [b"invalid", b"bad_length"], [b"invalid", b"bad_format"],
                        [b"invalid", b"bad_sex"], [b"invalid", b"bad_state"],
                        [b"invalid", b"bad_date"], [b"invalid", b"bad_length"],
                        [b"invalid", b"bad_format"], [b"invalid", b"bad_length"]]


def test_nss_documented_examples_and_reasons():
    r = run("nss", "12345678903", "92919084431", "72795608040", "12345678904", "1234567890",
            "1234567890A")
    assert r.returncode == 0
    assert [line.split("\t")[2] for line in r.stdout.decode().splitlines()] == [
        "ok", "ok", "ok", "bad_check_digit", "bad_length", "bad_chars"]


def test_curp_build_and_help():
    r = run("curp-build", "--nombre", "María José", "--primer-apellido", "Muñoz",
            "--segundo-apellido", "de la Cruz", "--fecha", "2004-02-29", "--sexo", "M",
            "--entidad", "DF")
    assert r.returncode == 0
    curp = r.stdout.decode().strip()
    assert curp.startswith("MUCJ040229MDF")
    assert run("curp", curp).stdout.decode().split("\t")[1] == "valid"
    for cmd in ("curp", "nss", "curp-build"):
        h = run(cmd, "--help")
        assert h.returncode == 0 and b"usage" in h.stdout.lower()
