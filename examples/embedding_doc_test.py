#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Keep docs/embedding.md honest to examples/epoll_server.c (TAP).

  embedding_doc_test.py SOURCE_ROOT CC [CC ARGS...]

1. The guide names examples/epoll_server.c as its source of truth.
2. Every ```c block of the guide is quoted from examples/epoll_server.c verbatim: the block is
   cut at lines reading `/* ... */`, and each piece must occur in the file as it is (same
   lines, same indentation). So the guide cannot show code the example does not run.
3. The example compiles warning-free as a user compiles it outside the tree:
   CC -std=c99 -Wall -Wextra -pedantic -Werror (syntax only, against include/).
The guide's section "## TLS" quotes examples/tls_server.c instead, under the same rules.
"""
import os
import re
import subprocess
import sys

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}", flush=True)


def c_blocks(text):
    """(line number, body) of every ```c block."""
    for m in re.finditer(r"^```c\n(.*?)^```$", text, re.S | re.M):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


def pieces(body):
    """The block cut at `/* ... */` lines, without blank lines at either end."""
    for piece in re.split(r"^[ \t]*/\* \.\.\. \*/[ \t]*\n", body, flags=re.M):
        piece = piece.strip("\n")
        if piece.strip():
            yield piece + "\n"


def main():
    if len(sys.argv) < 3:
        print("usage: embedding_doc_test.py SOURCE_ROOT CC [CC ARGS...]", file=sys.stderr)
        return 2
    root, cc = sys.argv[1], sys.argv[2:]
    source_path = os.path.join(root, "examples", "epoll_server.c")
    tls_path = os.path.join(root, "examples", "tls_server.c")
    with open(os.path.join(root, "docs", "embedding.md"), encoding="utf-8") as f:
        guide = f.read()
    with open(source_path, encoding="utf-8") as f:
        source = f.read()
    with open(tls_path, encoding="utf-8") as f:
        tls_source = f.read()
    tls_section = guide.find("\n## TLS")

    check("docs/embedding.md names examples/epoll_server.c as its source of truth",
          "examples/epoll_server.c" in guide and "source of truth" in guide)
    blocks = list(c_blocks(guide))
    check("docs/embedding.md quotes C code", len(blocks) >= 10, len(blocks))
    check("docs/embedding.md has its TLS section", tls_section >= 0)
    for line, body in blocks:
        in_tls = tls_section >= 0 and line > guide.count("\n", 0, tls_section) + 1
        name, text = (("tls_server.c", tls_source) if in_tls else ("epoll_server.c", source))
        missing = [p for p in pieces(body) if p not in text]
        check(f"docs/embedding.md:{line}: the C block is quoted verbatim from {name}",
              not missing, f"not in examples/{name}:\n" + "".join(missing[:1]))

    for path in (source_path, tls_path):
        cmd = cc + ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only",
                    "-I", os.path.join(root, "include"), path]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        check(f"examples/{os.path.basename(path)} compiles with -std=c99 -Wall -Wextra "
              "-pedantic -Werror", r.returncode == 0, " ".join(cmd) + "\n" + r.stderr)
    print(f"1..{len(results)}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
