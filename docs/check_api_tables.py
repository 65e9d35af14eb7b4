#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check the API tables of the guides against the public headers, as TAP (suite docs).

  check_api_tables.py SOURCE_ROOT

1. docs/design.md, "Objects and ownership": one table row per public constructor
   (`RTW_EXPORT int rtw_*_new(`), giving its parameters after the output pointer, by name
   and in order, and no row for a constructor that does not exist.
2. docs/abi.md, "Versioned structs": one table row per versioned struct, giving its version
   constant and the version the headers declare today (every `#define RTW_*_VERSION Nu`).

The headers are the reference; when one changes, the failure says which row to fix.
"""

import os
import re
import sys

HEADERS = ("common.h", "sse.h", "ws.h", "http.h", "rtweb.h", "tls.h")


def read(root, *parts):
    with open(os.path.join(root, *parts), encoding="utf-8") as f:
        return f.read()


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def constructors(root):
    """{name: [parameter names after the first]} for every exported rtw_*_new."""
    found = {}
    for h in HEADERS:
        code = strip_comments(read(root, "include", "rtweb", h))
        for m in re.finditer(r"RTW_EXPORT\s+int\s+(rtw_\w+_new)\s*\(([^)]*)\)", code):
            params = [p.strip() for p in m.group(2).split(",")]
            names = [re.search(r"(\w+)\s*$", p).group(1) for p in params]
            found[m.group(1)] = names[1:]
    return found


def version_constants(root):
    """{RTW_..._VERSION: int} for every struct version constant of the headers."""
    found = {}
    for h in HEADERS:
        code = strip_comments(read(root, "include", "rtweb", h))
        for m in re.finditer(r"#define\s+(RTW_\w+_VERSION)\s+(\d+)u?\b", code):
            found[m.group(1)] = int(m.group(2))
    return found


def design_rows(root):
    """{constructor: [argument names]} from design.md's constructor table."""
    rows = {}
    for line in read(root, "docs", "design.md").splitlines():
        m = re.match(r"\s*\|\s*`(rtw_\w+_new)`\s*\|\s*`([^`]*)`", line)
        if m:
            rows[m.group(1)] = [a.strip() for a in m.group(2).split(",")]
    return rows


def abi_rows(root):
    """{RTW_..._VERSION: int} from abi.md's versioned-struct table (`| ... | CONST | N |`)."""
    rows = {}
    for line in read(root, "docs", "abi.md").splitlines():
        m = re.match(r"\s*\|.*\|\s*`(RTW_\w+_VERSION)`\s*\|\s*(\d+)\s*\|\s*$", line)
        if m:
            rows[m.group(1)] = int(m.group(2))
    return rows


def compare(what, want, got):
    """Differences between the headers (want) and a table (got), one line each."""
    out = []
    for k in sorted(want):
        if k not in got:
            out.append("%s: %s is missing from the table (headers: %s)" % (what, k, want[k]))
        elif got[k] != want[k]:
            out.append("%s: %s is %s in the table, %s in the headers" % (what, k, got[k], want[k]))
    for k in sorted(set(got) - set(want)):
        out.append("%s: %s is in the table but not in the headers" % (what, k))
    return out


def main():
    root = sys.argv[1]
    checks = [
        ("docs/design.md lists every constructor with its parameters",
         compare("design.md", constructors(root), design_rows(root))),
        ("docs/abi.md lists every versioned struct with its current version",
         compare("abi.md", version_constants(root), abi_rows(root))),
    ]
    print("1..%d" % len(checks))
    failed = 0
    for i, (name, problems) in enumerate(checks, 1):
        if problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in problems:
                print("#   " + p)
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
