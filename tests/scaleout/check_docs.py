#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/scale-out.md quotes the nginx configurations that tools/cluster.sh and the tests use
(tools/nginx/*.conf.in), verbatim, each in an ```nginx block; and it has the document's
seven sections in their order. TAP output. The source root comes from RTW_SOURCE_ROOT or
the script's location."""
import os
import re
import sys

root = os.environ.get("RTW_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
SECTIONS = ["Design", "Event ids", "Replay and reset", "Redis failures", "Running a cluster",
            "nginx", "Capacity"]
CONFS = ["tools/nginx/rtweb-cluster.conf.in", "tools/nginx/rtweb-cluster-tls.conf.in"]


def main():
    with open(os.path.join(root, "docs/scale-out.md")) as f:
        doc = f.read()
    blocks = re.findall(r"^```nginx\n(.*?)^```$", doc, re.S | re.M)
    headings = re.findall(r"^## (.+)$", doc, re.M)
    print(f"1..{len(CONFS) + 1}")
    n = 0
    bad = 0
    for conf in CONFS:
        with open(os.path.join(root, conf)) as f:
            text = f.read()
        n += 1
        ok = text in blocks
        bad += not ok
        print(f"{'ok' if ok else 'not ok'} {n} - docs/scale-out.md quotes {conf} verbatim")
    n += 1
    ok = headings == SECTIONS
    bad += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - sections {SECTIONS}" +
          ("" if ok else f" (found {headings})"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
