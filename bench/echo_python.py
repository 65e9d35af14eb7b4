#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Echo through the Python binding, in one process, without sockets: rtweb's
# ws.Session("server") (feed, send, data_to_send) against python3-websockets' own sans-I/O
# connection (websockets.connection.Connection, server side, state OPEN) on the same masked
# client stream (issue 15, "Through the FFI"). Run it with Debian's /usr/bin/python3.
#
#   /usr/bin/python3 bench/echo_python.py [--sizes 32,1024,65536] [--passes 3]
#                                         [--bytes N] [--read N] [--binary | --ascii | --mixed]
#
# The stream holds about --bytes of text messages (each masked with its own key, as a
# browser sends them), cut into --read sized reads (64 KiB, what one recv() returns). Per
# read, each side takes the bytes, echoes every message it completed and takes its output
# once: rtweb `for ev in s.feed(chunk): s.send(ev.data)` then `s.data_to_send()`;
# websockets `c.receive_data(chunk)`, `c.send_text(f.data)` for each text frame of
# `c.events_received()`, then `c.data_to_send()`. The timed passes drop the output as a
# server would after writing it (keeping megabytes of it would time the allocator's page
# faults instead). websockets' sans-I/O layer does not check
# UTF-8 and hands out bytes; rtweb validates text and hands out str. Both outputs are
# checked to be the same bytes before anything is timed.
#
# Prints one row per size: best of --passes passes (messages/s) for each side and the
# ratio rtweb / websockets. Passes alternate between the two, so a noisy neighbour hurts
# both alike; the ratio is what to quote (the machine may be shared).
import argparse
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "bindings", "python"))

from rtweb import ws  # noqa: E402
from websockets.connection import Connection, Side, State  # noqa: E402
from websockets.frames import Opcode  # noqa: E402
import websockets  # noqa: E402


# --mixed: mostly ASCII with characters from U+0100 on sprinkled in (euro sign, dashes,
# quotes, a check mark) beside Latin-1 ones, as bench/bench_ws.c's text_source: a str of
# kind UCS-2, which CPython 3.11's UTF-8 codec decodes and encodes slowly.
MIXED = ("The caf\u00e9 on the corner sells cr\u00e8me br\u00fbl\u00e9e for 4 \u20ac; "
         "a na\u00efve visitor asked for the men\u00fc \u2014 \u201cdo you have "
         "jalape\u00f1os?\u201d The fa\u00e7ade was painted in 2019 and the Stra\u00dfe "
         "outside is quiet at night. Order #4471 shipped \u2713 status=ok, retries=0, "
         "latency 12 ms, region eu-west, user alice. ")


def make_stream(size, total, binary, ascii_only=False, mixed=False):
    """Masked client frames of `size` byte messages, about `total` bytes, and the count."""
    count = max(1, total // (size + 14))
    rnd = os.urandom(4 * count)
    if binary:
        payload = bytes(range(256)) * (size // 256 + 1)
        payload = payload[:size]
        op = ws.OP_BINARY
    else:
        # text with a few 2-byte characters (or ASCII only), the same every message
        word = ("hello world " if ascii_only else MIXED if mixed
                else "h\u00e9llo w\u00f6rld ")
        text = (word * (size // 8 + 1)).encode("utf-8")[:size]
        while True:  # cut on a character boundary
            try:
                text.decode("utf-8")
                break
            except UnicodeDecodeError:
                text = text[:-1] + b"x"
        payload, op = text, ws.OP_TEXT
    frames = [ws.build_frame(op, payload, mask_key=rnd[4 * i:4 * i + 4]) for i in range(count)]
    return b"".join(frames), count


def chunks_of(stream, read):
    return [stream[i:i + read] for i in range(0, len(stream), read)]


def run_rtweb(chunks, count, keep=False):
    s = ws.Session("server", max_message_size=1 << 24)
    n = 0
    out = []
    t0 = time.perf_counter()
    for chunk in chunks:
        for ev in s.feed(chunk):
            s.send(ev.data)
            n += 1
        data = s.data_to_send()
        if keep:
            out.append(data)
    t = time.perf_counter() - t0
    assert n == count, (n, count)
    s.close()
    return t, out


def run_websockets(chunks, count, binary, keep=False):
    c = Connection(Side.SERVER, State.OPEN, max_size=None)
    op = Opcode.BINARY if binary else Opcode.TEXT
    send = c.send_binary if binary else c.send_text
    n = 0
    out = []
    t0 = time.perf_counter()
    for chunk in chunks:
        c.receive_data(chunk)
        for f in c.events_received():
            if f.opcode is op:
                send(f.data)
                n += 1
        data = c.data_to_send()
        if keep:
            out.append(data)
    t = time.perf_counter() - t0
    assert n == count, (n, count)
    return t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="32,1024,65536")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=4 << 20)
    ap.add_argument("--read", type=int, default=65536)
    ap.add_argument("--binary", action="store_true")
    ap.add_argument("--ascii", action="store_true", help="ASCII text (default: a few "
                    "2-byte characters, which Python decodes and encodes more slowly)")
    ap.add_argument("--mixed", action="store_true", help="mostly ASCII text with characters "
                    "from U+0100 on (euro sign, dashes, quotes) and Latin-1 ones")
    args = ap.parse_args()
    print("# echo_python: python %s, websockets %s, librtweb %s" %
          (sys.version.split()[0], websockets.__version__, ws._lib.library_path))
    print("# %s messages, ~%d bytes per pass, %d B reads, best of %d passes" %
          ("binary" if args.binary else "ASCII text" if args.ascii else "mixed text (from "
           "U+0100 on)" if args.mixed else "text (2-byte characters in it)", args.bytes,
           args.read, args.passes))
    print("| size | rtweb msg/s | websockets msg/s | rtweb / websockets |")
    print("|---|---|---|---|")
    for size in [int(x) for x in args.sizes.split(",")]:
        stream, count = make_stream(size, args.bytes, args.binary, args.ascii, args.mixed)
        chunks = chunks_of(stream, args.read)
        # correctness first: both echo the same bytes (server frames are not masked)
        _, a = run_rtweb(chunks, count, keep=True)
        _, b = run_websockets(chunks, count, args.binary, keep=True)
        if b"".join(a) != b"".join(b"".join(x) for x in b):
            sys.exit("echo_python: the two outputs differ for size %d" % size)
        best_r = best_w = float("inf")
        for _ in range(args.passes):
            best_r = min(best_r, run_rtweb(chunks, count)[0])
            best_w = min(best_w, run_websockets(chunks, count, args.binary)[0])
        r, w = count / best_r, count / best_w
        label = "%d KiB" % (size // 1024) if size >= 1024 and size % 1024 == 0 else "%d B" % size
        print("| %s | %.0f | %.0f | %.2fx |" % (label, r, w, r / w))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
