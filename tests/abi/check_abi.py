#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ABI checks, as TAP: the shared library exports exactly the functions the public headers
declare with RTW_EXPORT (nothing internal leaks, nothing declared is missing), and each public
header compiles alone as C89 -pedantic, C99 -pedantic and C++.

usage: check_abi.py [--headers a.h,b.h] LIBRTWEB_SO INCLUDE_DIR CC [CXX]

--headers names the headers that declare the library's API (default: the rtweb headers;
librtweb-tls.so is checked with --headers tls.h).
"""
import os
import re
import subprocess
import sys
import tempfile

HEADERS = ["common.h", "sse.h", "ws.h", "http.h", "rtweb.h"]


def declared(include_dir):
    names = set()
    for h in HEADERS:
        text = open(os.path.join(include_dir, "rtweb", h)).read()
        # RTW_EXPORT <return type and name> ( ... : the identifier just before the '('
        for m in re.finditer(r"^RTW_EXPORT\s+([^;(]*?)\(", text, re.M):
            ident = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(1))
            if ident:
                names.add(ident[-1])
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W", "i"):
            names.add(parts[2].split("@")[0])  # drop the symbol version, e.g. @@RTWEB_0
    return names


def main():
    global HEADERS
    if len(sys.argv) > 2 and sys.argv[1] == "--headers":
        HEADERS = sys.argv[2].split(",")
        del sys.argv[1:3]
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    lib, inc, cc = sys.argv[1:4]
    cxx = sys.argv[4] if len(sys.argv) == 5 else ""
    checks = []

    decl, exp = declared(inc), exported(lib)
    checks.append(("exported symbols are exactly the declared ones",
                   decl == exp and len(decl) > 0,
                   ["declared, not exported: %s" % n for n in sorted(decl - exp)] +
                   ["exported, not declared: %s" % n for n in sorted(exp - decl)]))

    modes = [("C89", [cc, "-x", "c", "-std=c89", "-pedantic-errors"]),
             ("C99", [cc, "-x", "c", "-std=c99", "-pedantic-errors"])]
    if cxx:
        modes.append(("C++11", [cxx, "-x", "c++", "-std=c++11", "-pedantic-errors"]))
    with tempfile.TemporaryDirectory() as tmp:
        for h in HEADERS:
            src = os.path.join(tmp, "t.c")
            with open(src, "w") as f:
                f.write("#include <rtweb/%s>\nint rtw_abi_check_unit;\n" % h)
            for label, cmd in modes:
                r = subprocess.run(cmd + ["-Wall", "-Wextra", "-Werror", "-I", inc,
                                          "-fsyntax-only", src],
                                   capture_output=True, text=True)
                checks.append(("%s compiles alone as %s" % (h, label), r.returncode == 0,
                               r.stderr.splitlines()[:20]))

    print("1..%d" % len(checks))
    failed = 0
    for i, (name, ok, diag) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            failed += 1
            for line in diag:
                print("#   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
