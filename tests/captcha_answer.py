#!/usr/bin/env python3
"""CAPTCHA answer derivation, the same formula as mod_afiliate/afl_captcha.c.

The answer is not stored anywhere: it is derived from the captcha id with the
module's secret, so a test that knows the secret can pass the CAPTCHA:

    answer[i] = ALPHABET[HMAC-SHA256(secret, b"captcha:" + id)[i] % 56], i = 0..5

`secret` is the secret file's content with surrounding ASCII whitespace
removed (what afl_secret_load() returns); `captcha_id` is the id exactly as
the server sent it (hidden field or image URL).

Usage as a script: captcha_answer.py SECRET_FILE CAPTCHA_ID
"""

import hashlib
import hmac
import sys

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
LENGTH = 6

assert len(ALPHABET) == 56


def captcha_answer(secret: bytes, captcha_id: str) -> str:
    """The six characters the image for captcha_id shows."""
    mac = hmac.new(secret, b"captcha:" + captcha_id.encode("ascii"), hashlib.sha256).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in mac[:LENGTH])


def load_secret(path: str) -> bytes:
    """Read a secret file the way afl_secret_load() does (trim ASCII whitespace)."""
    with open(path, "rb") as f:
        return f.read().strip(b" \t\r\n\x0b\x0c")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: captcha_answer.py SECRET_FILE CAPTCHA_ID")
    print(captcha_answer(load_secret(sys.argv[1]), sys.argv[2]))
