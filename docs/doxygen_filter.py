#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Doxygen INPUT_FILTER for the public headers (docs/Doxyfile.in).

Doxygen cannot document enumerators that a macro generates, so for common.h this filter
expands `RTW_ERRNO_MAP(RTW__ERR_ENUM)` inside `enum rtw_error` into one enumerator per error,
documented with its message from the X-macro: the list stays written once, in the header.
Line numbers are kept (the expansion is one line, the helper macro lines become blank), so
warnings point at the real source. Every other file passes through unchanged.

usage: doxygen_filter.py HEADER   (writes the filtered text to stdout)
"""
import re
import sys

ENTRY = re.compile(r'XX\(\s*([A-Z0-9_]+)\s*,\s*(-?\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')


def error_list(text):
    """[(name, value, message)] from the RTW_ERRNO_MAP definition, in order."""
    m = re.search(r"#define RTW_ERRNO_MAP\(XX\)(.*?)\n\s*\n", text, re.S)
    if not m:
        return []
    return [(n, int(v), msg) for n, v, msg in ENTRY.findall(m.group(1))]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    errors = error_list(text)
    if not errors or "RTW_ERRNO_MAP(RTW__ERR_ENUM)" not in text:
        sys.stdout.write(text)
        return 0
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#define RTW__ERR_ENUM") or s.startswith("#undef RTW__ERR_ENUM"):
            out.append("")
        elif s == "RTW_ERRNO_MAP(RTW__ERR_ENUM)":
            out.append(" ".join('/** %s (%d). */ RTW_ERR_%s = %d,' % (msg.replace("*/", "* /"),
                                                                        val, name, val)
                                for name, val, msg in errors))
        else:
            out.append(line)
    sys.stdout.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
