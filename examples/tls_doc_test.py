#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Keep the C code of docs/tls.md honest (TAP).

  tls_doc_test.py SOURCE_ROOT CC [CC ARGS...]

Every ```c block of docs/tls.md is either quoted verbatim from examples/tls_server.c (cut at
`/* ... */` lines, as docs/embedding.md's blocks are from epoll_server.c), or, when it is
not (the configuration snippet), compiles as the body of a function against include/ with
CC -std=c99 -Wall -Wextra -pedantic -Werror. The guide must quote the example at least
four times (the three pumps and the close), so the recipe cannot drift from running code.
"""
import os
import re
import subprocess
import sys
import tempfile

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}", flush=True)


def c_blocks(text):
    for m in re.finditer(r"^```c\n(.*?)^```$", text, re.S | re.M):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


def pieces(body):
    for piece in re.split(r"^[ \t]*/\* \.\.\. \*/[ \t]*\n", body, flags=re.M):
        piece = piece.strip("\n")
        if piece.strip():
            yield piece + "\n"


def compiles(cc, root, body):
    src = ("#include <rtweb/tls.h>\nvoid doc_snippet(void);\nvoid doc_snippet(void)\n{\n"
           + body + "}\n")
    with tempfile.TemporaryDirectory(prefix="rtweb-tls-doc-") as tmp:
        path = os.path.join(tmp, "snippet.c")
        with open(path, "w", encoding="utf-8") as f:
            f.write(src)
        cmd = cc + ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only",
                    "-I", os.path.join(root, "include"), path]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return r.returncode == 0, " ".join(cmd) + "\n" + r.stderr


def main():
    if len(sys.argv) < 3:
        print("usage: tls_doc_test.py SOURCE_ROOT CC [CC ARGS...]", file=sys.stderr)
        return 2
    root, cc = sys.argv[1], sys.argv[2:]
    with open(os.path.join(root, "docs", "tls.md"), encoding="utf-8") as f:
        guide = f.read()
    with open(os.path.join(root, "examples", "tls_server.c"), encoding="utf-8") as f:
        source = f.read()
    quoted = 0
    for line, body in c_blocks(guide):
        if all(p in source for p in pieces(body)):
            quoted += 1
            check(f"docs/tls.md:{line}: quoted verbatim from examples/tls_server.c", True)
            continue
        ok, detail = compiles(cc, root, body)
        check(f"docs/tls.md:{line}: not quoted from the example, so it compiles on its own",
              ok, detail)
    check("docs/tls.md quotes examples/tls_server.c at least 4 times", quoted >= 4, quoted)
    print(f"1..{len(results)}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
