#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The README's C example compiles warning-free (C99, -Wall -Wextra -pedantic) against the
public headers, links against the built shared library, and prints what its comment says.

usage: check_readme.py README.md INCLUDE_DIR LIBDIR CC [EXTRA_FLAGS...]
(EXTRA_FLAGS: the build's sanitizer flags, so that an instrumented library links)
"""
import os
import re
import subprocess
import sys
import tempfile

readme, incdir, libdir, cc = sys.argv[1:5]
extra = sys.argv[5:]
text = open(readme, encoding="utf-8").read()
blocks = re.findall(r"^```c\n(.*?)^```$", text, re.S | re.M)
print("1..4")
if not blocks:
    print("not ok 1 - the README has a C example")
    sys.exit(1)
src = blocks[0]
print("ok 1 - the README has a C example")
lines = src.rstrip("\n").split("\n")
n = len(lines)
print(("ok" if n <= 24 else "not ok") + f" 2 - the example is short ({n} lines)")
# the output the example promises, written in its last "/* ... */" comment on a recv line
promised = re.findall(r"/\*\s*([^*]+?)\s*\*/", src)[-1]
with tempfile.TemporaryDirectory() as tmp:
    c = os.path.join(tmp, "example.c")
    exe = os.path.join(tmp, "example")
    open(c, "w", encoding="utf-8").write(src)
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", incdir, c,
           "-L", libdir, "-lrtweb", "-o", exe] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("not ok 3 - it compiles with -std=c99 -Wall -Wextra -pedantic -Werror")
        sys.stdout.write("# " + r.stderr.replace("\n", "\n# ") + "\n")
        print("not ok 4 - it prints what it promises # not run")
        sys.exit(1)
    print("ok 3 - it compiles with -std=c99 -Wall -Wextra -pedantic -Werror")
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    r = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=30)
    out = r.stdout.strip()
    ok = r.returncode == 0 and out == promised
    print(("ok" if ok else "not ok") + f" 4 - it prints {promised!r} (got {out!r}, status {r.returncode})")
    sys.exit(0 if ok else 1)
