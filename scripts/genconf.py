#!/usr/bin/env python3
"""Write a standalone httpd config for mod_afiliate from conf/httpd.conf.in.

Used by `make run` (scripts/run.sh) and by the integration tests, so both
exercise the same configuration.
"""
import argparse
import os
import pwd
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]


def afiliate_block(opts):
    lines = [
        "DBDriver sqlite3" if opts.get("driver", "sqlite3") == "sqlite3" else "DBDriver pgsql",
        f'DBDParams "{opts["db"]}"',
        "DBDPersist On",
        f"DBDMin 1",
        f"DBDKeep 2",
        f"DBDMax {opts.get('dbdmax', 25)}",
        "",
        f'AfiliateTemplateDir "{opts["htdocs"]}/templates"',
        f'AfiliateSecretFile "{opts["secret"]}"',
    ]
    # PDFs: the standard fonts unless a TrueType file is asked for.
    if opts.get("font"):
        lines.append(f'AfiliateFont "{opts["font"]}"')
    if opts.get("font_bold"):
        lines.append(f'AfiliateFontBold "{opts["font_bold"]}"')
    if opts.get("signing_key"):
        lines.append(f'AfiliateSigningKey "{opts["signing_key"]}"')
    lines += opts.get("extra", [])
    lines += [
        "",
        f'Alias /afiliate/static "{opts["htdocs"]}/static"',
        f'<Directory "{opts["htdocs"]}/static">',
        "    Require all granted",
        "</Directory>",
        "<Location /afiliate>",
        "    SetHandler afiliate",
        "    LimitRequestBody 16384",
    ]
    # The module's own defaults unless the caller sets a limit (the tests turn
    # them off where one client address plays many students).
    if opts.get("rate_limit") is not None:
        lines.append(f"    AfiliateRateLimit {opts['rate_limit']}")
    limits = opts.get("failure_limits")
    if limits is not None:
        lines.append(f"    AfiliateFailureLimit {limits[0]}")
        lines.append(f"    AfiliateAddressFailureLimit {limits[1]}")
    limits = opts.get("identity_limits")
    if limits is not None:
        lines.append(f"    AfiliateCurpLimit {limits[0]}")
        lines.append(f"    AfiliateEmailLimit {limits[1]}")
    lines += [
        "</Location>",
        "<Location /afiliate/static>",
        "    SetHandler none",
        "</Location>",
    ]
    return "\n".join(lines)


def render(opts):
    text = (TOP / "conf" / "httpd.conf.in").read_text()
    user = ""
    if os.geteuid() == 0:
        user = "User www-data\nGroup www-data"
    subst = {
        "SERVER_ROOT": opts["root"],
        "PORT": str(opts["port"]),
        "MPM": opts.get("mpm", "event"),
        "MODULE": opts["module"],
        "DOCROOT": opts.get("docroot", opts["root"] + "/docroot"),
        "USER_GROUP": user,
        "AFILIATE": afiliate_block(opts),
    }
    for k, v in subst.items():
        text = text.replace(f"@{k}@", v)
    return text


def prepare_root(opts):
    """Create the server root; give the data directory to the server user."""
    root = Path(opts["root"])
    for sub in ("run", "docroot"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("www-data")
        for p in [root, root / "run"]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
        if opts.get("driver", "sqlite3") == "sqlite3":
            # SQLite writes its -wal and -shm files beside the database.
            db = Path(opts["db"])
            os.chown(db.parent, pw.pw_uid, pw.pw_gid)
            for f in db.parent.glob(db.name + "*"):
                os.chown(f, pw.pw_uid, pw.pw_gid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mpm", default="event")
    ap.add_argument("--module", required=True)
    ap.add_argument("--db", required=True, help="SQLite file, or PostgreSQL conninfo")
    ap.add_argument("--driver", default="sqlite3", choices=["sqlite3", "pgsql"])
    ap.add_argument("--htdocs", required=True,
                    help="templates and static files the server user can read "
                         "(scripts/runtime.py htdocs)")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--signing-key", help="PEM private key (afiliatectl keygen --out-dir DIR)")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--rate-limit", type=int, default=None,
                    help="AfiliateRateLimit; default: the module's")
    a = ap.parse_args()
    opts = dict(root=a.root, port=a.port, mpm=a.mpm, module=a.module, db=a.db,
                htdocs=a.htdocs, secret=a.secret, extra=a.extra, rate_limit=a.rate_limit,
                driver=a.driver, signing_key=a.signing_key)
    prepare_root(opts)
    out = Path(a.root) / "httpd.conf"
    out.write_text(render(opts))
    print(out)


if __name__ == "__main__":
    main()
