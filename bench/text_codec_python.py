#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Text codecs alone, through the Python binding (issue 15, "Through the FFI"): CPython's
# bytes.decode / str.encode against the binding's C path (ws.Session._decode:
# rtw_utf8_to_units + PyUnicode_FromKindAndData; ws.Session._encode: UTF-16 in CPython +
# rtw_utf8_from_units), on texts of each kind and size. Run it with Debian's
# /usr/bin/python3 and a release librtweb (RTWEB_LIBRARY):
#
#   /usr/bin/python3 bench/text_codec_python.py [--sizes 4096,65536,1048576]
#
# Prints microseconds per call, the best of 5 loops. CPython's figures depend on the heap
# state of the process (see bench/results/echo_python.md): run it a few times.
import argparse
import ctypes
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "bindings", "python"))
sys.path.insert(0, _HERE)

from rtweb import ws  # noqa: E402
from echo_python import MIXED  # noqa: E402

TEXTS = {"mixed": MIXED, "euro/60": "a" * 60 + "\u20ac", "latin": "h\u00e9llo w\u00f6rld ",
         "emoji/60": "a" * 60 + "\U0001F600"}


def best(f, n):
    r = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        r.append((time.perf_counter() - t0) / n * 1e6)
    return min(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="4096,65536,1048576")
    args = ap.parse_args()
    print("| size | text | decode CPython | decode C | encode CPython | encode C |")
    print("|---|---|---|---|---|---|")
    for size in [int(x) for x in args.sizes.split(",")]:
        for name, src in TEXTS.items():
            t = (src * (size // len(src.encode()) + 1)).encode()[:size]
            while True:     # cut on a character boundary
                try:
                    x = t.decode()
                    break
                except UnicodeDecodeError:
                    t = t[:-1]
            s = ws.Session("server")
            buf = ctypes.create_string_buffer(t, len(t))
            addr = ctypes.addressof(buf)
            if s._decode(addr, len(t)) != x or s._encode(x) != t:
                sys.exit("text_codec_python: the C path differs for %s %d" % (name, size))
            n = max(5, 400000 // size)
            print("| %d | %s | %.1f | %.1f | %.1f | %.1f |" % (
                size, name, best(lambda: t.decode(), n), best(lambda: s._decode(addr, len(t)), n),
                best(lambda: x.encode(), n), best(lambda: s._encode(x), n)))
            sys.stdout.flush()
            s.close()


if __name__ == "__main__":
    main()
