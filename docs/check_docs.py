#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Documentation checks, as TAP (meson test suite 'docs').

1. Doxygen on the public headers (docs/Doxyfile.in, WARN_IF_UNDOCUMENTED, WARN_NO_PARAMDOC)
   produces no warning: every public function, parameter, return value, type, member,
   enumerator and macro is documented, and every reference resolves. Each warning is listed.
2. docs/errors.md has a table row for every error of the RTW_ERRNO_MAP X-macro in
   include/rtweb/common.h, with the same value and message, and no row for an unknown error.

usage: check_docs.py DOXYFILE SOURCE_ROOT [DOXYGEN]
Without a doxygen program the first check is skipped (CI installs Debian's doxygen).
"""
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doxygen_filter import error_list  # noqa: E402


def run_doxygen(doxygen, doxyfile):
    """Returns (ok, diagnostics)."""
    with open(doxyfile, encoding="utf-8") as f:
        config = f.read()
    with tempfile.TemporaryDirectory(prefix="rtweb-doxygen-") as tmp:
        log = os.path.join(tmp, "warnings.log")
        # Later assignments win: write into a private directory so that a concurrent
        # `ninja docs` and this test do not share files.
        config += "\nOUTPUT_DIRECTORY = %s\nWARN_LOGFILE = %s\n" % (tmp, log)
        r = subprocess.run([doxygen, "-"], input=config, capture_output=True, text=True)
        warnings = []
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                warnings = [w for w in f.read().splitlines() if w.strip()]
        if r.returncode != 0:
            return False, ["doxygen exited with %d" % r.returncode] + r.stderr.splitlines()[:20]
        if not os.path.exists(os.path.join(tmp, "html", "index.html")):
            return False, ["doxygen wrote no html/index.html"]
        return not warnings, warnings


def check_errors_md(root):
    with open(os.path.join(root, "include", "rtweb", "common.h"), encoding="utf-8") as f:
        errors = error_list(f.read())
    try:
        with open(os.path.join(root, "docs", "errors.md"), encoding="utf-8") as f:
            md = f.read()
    except OSError as e:
        return False, ["cannot read docs/errors.md: %s" % e], len(errors)
    rows = {}
    for m in re.finditer(r"^\|\s*`RTW_ERR_([A-Z0-9_]+)`\s*\|\s*(-?\d+)\s*\|\s*([^|]*?)\s*\|",
                         md, re.M):
        rows[m.group(1)] = (int(m.group(2)), m.group(3))
    diag = []
    if not errors:
        diag.append("no RTW_ERRNO_MAP entries found in common.h")
    for name, value, msg in errors:
        if name not in rows:
            diag.append("RTW_ERR_%s (%d) has no row in docs/errors.md" % (name, value))
        elif rows[name] != (value, msg):
            diag.append("RTW_ERR_%s: errors.md says %r, common.h says %r"
                        % (name, rows[name], (value, msg)))
    known = {n for n, _, _ in errors}
    for name in sorted(set(rows) - known):
        diag.append("docs/errors.md lists RTW_ERR_%s, which common.h does not define" % name)
    return not diag, diag, len(errors)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    doxyfile, root = sys.argv[1], sys.argv[2]
    doxygen = sys.argv[3] if len(sys.argv) == 4 else ""

    results = []
    if doxygen:
        ok, diag = run_doxygen(doxygen, doxyfile)
        results.append(("doxygen: public headers fully documented (%d warnings)" % (
            0 if ok else len(diag)), ok, diag, None))
    else:
        results.append(("doxygen: public headers fully documented", True, [],
                        "doxygen not installed (Debian: doxygen)"))
    ok, diag, n = check_errors_md(root)
    results.append(("docs/errors.md lists all %d RTW_ERRNO_MAP errors with value and message"
                    % n, ok, diag, None))

    print("1..%d" % len(results))
    failed = 0
    for i, (name, ok, diag, skip) in enumerate(results, 1):
        if skip:
            print("ok %d - %s # SKIP %s" % (i, name, skip))
            continue
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            failed += 1
            for line in diag:
                print("#   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
