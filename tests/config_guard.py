#!/usr/bin/env python3
"""Config guard: every member of the directive structs is a real, merged,
defaulted and documented directive.

Reads mod_afiliate/mod_afiliate_config.h (the structs afl_server_conf and
afl_dir_conf), mod_afiliate/mod_afiliate_config.c (afl_cmds, the create and
merge functions and the member tables they pass on: an entry merges the
member, an M_INT entry also starts it as AFL_UNSET), the other mod_afiliate/*.c files (where int defaults are
applied) and docs/directives.md (one table row per directive). A member
belongs to the directives when it sits above the struct's "Loaded in
post_config" comment; its comment names the directive(s) that set it
(`AfiliateXxx`), or says "not a directive" with the reason.

Fails, one line per finding, when:
  - a member names no directive, or one that afl_cmds does not define;
  - a directive of afl_cmds sets no member;
  - the merge function never assigns a member;
  - an int member does not start as AFL_UNSET in the create function (a
    virtual host could not tell "unset" from a value), or no code applies a
    default to it (AFL_SC_INT, or a `== AFL_UNSET ?` test);
  - a directive has no row in docs/directives.md, or its Default cell is empty.
Blocks under `#ifdef AFL_TEST_CRASH_POINTS` (test builds only) are left out.

`--self-test` spoils a copy of each source in turn and checks that the guard
notices (so the guard itself cannot pass vacuously).
Prints "guard: N passed, N failed" like the other layers.
"""
import re
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
SRC = TOP / "mod_afiliate"

STRUCTS = {"afl_server_conf": ("afl_create_server_conf", "afl_merge_server_conf"),
           "afl_dir_conf": ("afl_create_dir_conf", "afl_merge_dir_conf")}
DIRECTIVE = re.compile(r"\bAfiliate[A-Z]\w*")


def struct_members(header, name):
    """[(member, ctype, comment)] of the directive part of struct `name`."""
    end = header.find("\n} " + name + ";")
    start = header.rfind("typedef struct {\n", 0, end)
    if end < 0 or start < 0:
        raise SystemExit(f"guard: struct {name} not found in mod_afiliate_config.h")
    out = []
    for line in header[start:end].splitlines()[1:]:
        if "Loaded in post_config" in line:
            break
        code, _, comment = line.partition("/*")
        code = code.strip()
        if not code.endswith(";"):
            continue
        decl = code[:-1]
        ctype = "int" if re.match(r"int\b", decl) else "ptr"
        first = re.match(r"(?:const\s+)?(?:unsigned\s+)?\w+\s*", decl)
        for name_ in decl[first.end():].split(","):
            out.append((name_.strip().lstrip("*").strip(), ctype, comment))
    return out


def function_body(source, name):
    m = re.search(r"\n\w[^\n]*\b" + name + r"\([^)]*\)\n\{\n(.*?)\n\}\n", source, re.S)
    if not m:
        raise SystemExit(f"guard: function {name} not found in mod_afiliate_config.c")
    return m.group(1)


MEMBER_TABLE = re.compile(r"\nstatic const member (\w+)\[\] = \{(.*?)\n\};", re.S)
TABLE_ENTRY = re.compile(r"\b[A-Z]\w*\(\s*(M_\w+),\s*(\w+)")


def table_entries(config_c, body):
    """{member: kind} of the member tables that a function body passes on."""
    out = {}
    for name, text in MEMBER_TABLE.findall(config_c):
        if re.search(r"\b" + name + r"\b", body):
            out.update({member: kind for kind, member in TABLE_ENTRY.findall(text)})
    return out


def documented(doc):
    """{directive: default cell} from every table of docs/directives.md."""
    rows, default_col = {}, None
    for line in doc.splitlines():
        if not line.startswith("|"):
            default_col = None if not line.strip() else default_col
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "Directive":
            default_col = cells.index("Default") if "Default" in cells else None
            continue
        m = re.fullmatch(r"`(Afiliate\w+)`", cells[0]) if cells else None
        if m and default_col is not None and default_col < len(cells):
            rows[m.group(1)] = cells[default_col]
    return rows


def check(header, config_c, others, doc):
    findings, checked = [], 0
    commands = set(re.findall(r'AP_INIT_\w+\(\s*"(Afiliate\w+)"', config_c))
    docs = documented(doc)
    named = set()
    for struct, (create, merge) in STRUCTS.items():
        create_body = function_body(config_c, create)
        merge_body = function_body(config_c, merge)
        created, merged = table_entries(config_c, create_body), table_entries(config_c, merge_body)
        for member, ctype, comment in struct_members(header, struct):
            checked += 1
            where = f"{struct}.{member}"
            dirs = DIRECTIVE.findall(comment)
            if not dirs and "not a directive" not in comment:
                findings.append(f"{where}: its comment names no Afiliate* directive "
                                "(or says 'not a directive' and why)")
            for d in dirs:
                named.add(d)
                if d not in commands:
                    findings.append(f"{where}: names {d}, which afl_cmds does not define")
            if member not in merged and \
                    not re.search(r"c->" + member + r"\s*=|MERGE_\w+\(" + member + r"\)", merge_body):
                findings.append(f"{where}: {merge} never assigns it (no merge rule)")
            if ctype == "int":
                if created.get(member) != "M_INT" and \
                        not re.search(r"c->" + member + r"\s*=\s*AFL_UNSET", create_body):
                    findings.append(f"{where}: {create} does not start it as AFL_UNSET")
                applied = re.search(r"AFL_SC_INT\(\s*[\w>-]+,\s*" + member + r"\b", others) or \
                    re.search(r"->" + member + r"\s*==\s*AFL_UNSET\s*\?", others + header)
                if not applied:
                    findings.append(f"{where}: no code applies a default when it is unset "
                                    "(AFL_SC_INT or `== AFL_UNSET ?`)")
    for d in sorted(commands):
        checked += 1
        if d not in named:
            findings.append(f"{d}: defined in afl_cmds but no struct member names it")
        if d not in docs:
            findings.append(f"{d}: no row in docs/directives.md")
        elif not docs[d]:
            findings.append(f"{d}: its Default cell in docs/directives.md is empty")
    return checked, findings


# Test builds only (make test-crash): AfiliateTestCrashAt, kept outside the structs and
# never in the shipped module, is no directive of the module's own.
TEST_ONLY = re.compile(r"\n#ifdef AFL_TEST_CRASH_POINTS\n.*?\n#endif\n", re.S)


def sources():
    header = (SRC / "mod_afiliate_config.h").read_text()
    config_c = TEST_ONLY.sub("\n", (SRC / "mod_afiliate_config.c").read_text())
    others = "\n".join(p.read_text() for p in sorted(SRC.glob("*.c"))
                       if p.name != "mod_afiliate_config.c")
    doc = (TOP / "docs" / "directives.md").read_text()
    return header, config_c, others, doc


def self_test():
    """Each spoiled copy must produce a finding; the real sources none."""
    header, config_c, others, doc = sources()
    spoils = {
        "merge rule removed": (header, re.sub(r"\n\s*S_\(M_INT, resend_limit\),", "", config_c),
                               others, doc),
        "AFL_UNSET removed": (header, config_c.replace("D_(M_INT, max_body)", "D_(M_PTR, max_body)"),
                              others, doc),
        "default not applied": (header, config_c,
                                others.replace("resend_limit, AFL_DEFAULT_RESEND_LIMIT)",
                                               "resend_limitx, AFL_DEFAULT_RESEND_LIMIT)"),
                                doc),
        "docs row removed": (header, config_c, others,
                             re.sub(r"\n\| `AfiliateMaxBody` \|[^\n]*", "", doc)),
        "member without directive": (header.replace("/* AfiliateSMTPURL", "/* the URL"),
                                     config_c, others, doc),
    }
    passed = failed = 0
    for what, args in spoils.items():
        if args == (header, config_c, others, doc):
            print(f"guard: self-test '{what}': the spoil did not change the sources FAILED")
            failed += 1
            continue
        _, found = check(*args)
        ok = bool(found)
        print(f"guard: self-test '{what}': {'noticed' if ok else 'NOT noticed FAILED'}")
        passed, failed = passed + ok, failed + (not ok)
    return passed, failed


def main():
    checked, findings = check(*sources())
    for f in findings:
        print(f"guard: {f}")
    print(f"guard: {checked} members and directives checked, {len(findings)} findings")
    passed, failed = (1, 0) if not findings else (0, 1)
    if "--self-test" in sys.argv:
        p, f = self_test()
        passed, failed = passed + p, failed + f
    print(f"guard: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
