#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# `rtwcat serve --deflate` against an Autobahn-style run of sections 12 and 13
# (permessage-deflate, RFC 7692) made by a raw client of our own, so it controls every bit
# it sends: python's zlib deflates each message raw (negative windowBits), sync-flushes and
# strips the 00 00 FF FF tail (RFC 7692 7.2.1), sets RSV1 on the first frame only
# (RFC 7692 6), masks (RFC 6455 5.3). For each offer set of Autobahn 13.1-13.7 (and a bare
# offer) and each size of section 12 (16 B .. 128 KiB) it sends compressed messages, whole
# and fragmented (a ping between fragments), text and binary, and checks each echo byte for
# byte (compressed from 1 KiB on) after inflating it with the window and context rules the server's answer declared
# (RFC 7692 7.1.1, 7.1.2: a fresh inflater per message under server_no_context_takeover, a
# window of server_max_window_bits), then a clean close (1000 both ways, the server closes
# TCP first). Then the failures: RSV1 on a continuation frame or without the extension ->
# 1002, invalid DEFLATE data -> 1007, a deflate bomb (200 MB of zeros in about 200 KB) ->
# 1009 quickly with the server's VmRSS bounded. And the client: `rtwcat ws:// --deflate`
# against the server, its options, and answers it must refuse (close 1010, exit 1). Prints
# TAP.
#
# usage: deflate_cases_test.py RTWCAT

import os
import random
import re
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawws  # noqa: E402
from rawws import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT  # noqa: E402

RTWCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
if RTWCAT is None:
    print("usage: deflate_cases_test.py RTWCAT", file=sys.stderr)
    sys.exit(2)

T = rawws.Tap()
check = T.check
TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.1
SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]  # Autobahn 12.x.1-10
CLIENT_BITS = "client_max_window_bits"
# Autobahn 13.x offers, (requestNoContextTakeover, requestMaxWindowBits) each, made as its
# PerMessageDeflateOffer does: client_no_context_takeover and client_max_window_bits are
# always offered; request* become server_no_context_takeover / server_max_window_bits.
AUTOBAHN_13 = {
    "13.1": [(False, 0)],
    "13.2": [(True, 0)],
    "13.3": [(False, 8)],
    "13.4": [(False, 15)],
    "13.5": [(True, 8)],
    "13.6": [(True, 15)],
    "13.7": [(True, 8), (True, 0), (False, 0)],
}


def autobahn_offer(pairs):
    out = []
    for nct, bits in pairs:
        o = "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        if nct:
            o += "; server_no_context_takeover"
        if bits:
            o += "; server_max_window_bits=%d" % bits
        out.append(o)
    return ", ".join(out)


OFFERS = [(k, autobahn_offer(v)) for k, v in AUTOBAHN_13.items()]
OFFERS.append(("bare", "permessage-deflate"))
OFFERS.append(("client-bits-10", "permessage-deflate; client_max_window_bits=10"))


def mask_bytes(data, key):
    """RFC 6455 5.3 masking, as one big-integer XOR (fast for 128 KiB payloads)."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def cframe(opcode, payload=b"", fin=True, rsv1=False):
    """A masked client frame (RFC 6455 5.2) with RSV1 as given."""
    key = os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return head + key + mask_bytes(payload, key)


def parse_extension(value):
    """The parameters of a permessage-deflate response element, or None without one."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(";")]
    if parts[0] != "permessage-deflate":
        return None
    params = {}
    for p in parts[1:]:
        name, _, v = p.partition("=")
        params[name.strip()] = int(v.strip().strip('"')) if v else True
    return params


def handshake(port, offer):
    """Open a WebSocket with `offer` in Sec-WebSocket-Extensions (None: none); returns
    (conn, the response's extension value or None)."""
    import base64
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(None)
    key = base64.b64encode(os.urandom(16))
    req = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
           b"\r\nSec-WebSocket-Version: 13\r\n")
    if offer is not None:
        req += b"Sec-WebSocket-Extensions: " + offer.encode() + b"\r\n"
    s.sendall(req + b"\r\n")
    c = rawws.Conn(s)
    deadline = time.time() + 10
    while b"\r\n\r\n" not in c.buf:
        if not c.fill(deadline):
            raise RuntimeError("no 101")
    head, c.buf = c.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if " 101 " not in lines[0] or rawws.accept_value(key) not in head.decode("latin-1"):
        raise RuntimeError("bad handshake: %r" % head)
    ext = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-extensions":
            ext = value.strip() if ext is None else ext + ", " + value.strip()
    return c, ext


class Deflater:
    """The client's compressor under the negotiated parameters (RFC 7692 7.2.1)."""

    def __init__(self, bits, takeover):
        self.bits, self.takeover, self.z = bits, takeover, None

    def compress(self, data):
        if self.z is None or not self.takeover:
            # zlib refuses raw windowBits 8; 9 keeps an 8-bit limit (distances <= 250)
            self.z = zlib.compressobj(6, zlib.DEFLATED, -max(self.bits, 9), 8)
        out = self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]


class Inflater:
    """Inflates the server's messages with the window and context rules it declared: a
    window of server_max_window_bits (a longer distance is an error), and a fresh context per
    message when it declared server_no_context_takeover."""

    def __init__(self, bits, takeover):
        self.bits, self.takeover, self.z = bits, takeover, None

    def inflate(self, data):
        if self.z is None or not self.takeover:
            self.z = zlib.decompressobj(-self.bits)
        return self.z.decompress(data + TAIL)


def read_message(c, timeout=10.0):
    """(opcode, rsv1 of the first frame, payload, frame count, pongs seen) of the next data
    message; control frames between its frames are collected. None on EOF or timeout;
    ("close", code) for a close frame."""
    parts, opcode, rsv1, nframes, pongs = [], None, None, 0, []
    while True:
        f = c.read_frame(timeout)
        if f is None:
            return None
        fin, rsv, op, p = f
        if op == OP_CLOSE:
            return ("close", struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None)
        if op == OP_PONG:
            pongs.append(p)
            continue
        if op == OP_PING:
            continue
        nframes += 1
        if opcode is None:
            opcode, rsv1 = op, bool(rsv & 4)
        elif op != OP_CONT or rsv != 0:
            return ("bad", "frame %d: opcode %d rsv %d" % (nframes, op, rsv))
        parts.append(p)
        if fin:
            return opcode, rsv1, b"".join(parts), nframes, pongs


def close_clean(c):
    """Our close 1000; the server's 1000 back, then its EOF (RFC 6455 7.1.1). Data frames
    still in flight are skipped."""
    c.send(cframe(OP_CLOSE, struct.pack("!H", 1000)))
    deadline = time.time() + 10
    while time.time() < deadline:
        f = c.read_frame(max(0.0, deadline - time.time()))
        if f is None:
            return "no close frame"
        if f[2] == OP_CLOSE:
            code = struct.unpack("!H", f[3][:2])[0] if len(f[3]) >= 2 else None
            if code != 1000:
                return "close code %r" % code
            return None if c.eof_within(5) else "no EOF after the close"
    return "timeout"


def payload(kind, size, rnd):
    """Autobahn-like payloads: JSON text with non-ASCII, or binary half repetitive, half
    random (compressible but not trivially)."""
    if kind == OP_TEXT:
        unit = ('{"user":"zoë-%d","text":"Grüße aus Köln, ünïcödé ✓","n":%d}\n'
                % (rnd.randrange(1000), rnd.randrange(100000)))
        s = (unit * (size // len(unit.encode()) + 2)).encode()
        s = s[:size]
        while True:  # cut at a character boundary, pad with ASCII to the exact size
            try:
                s.decode("utf-8")
                break
            except UnicodeDecodeError:
                s = s[:-1]
        return s + b"x" * (size - len(s))
    half = size // 2
    return (bytes(range(256)) * (half // 256 + 1))[:half] + rnd.randbytes(size - half)


def run_offer(port, name, offer, rnd, stats):
    """Every section-12 size under one offer: a connection per size (as Autobahn), messages
    whole and fragmented, text and binary, echoed byte for byte."""
    # 13.3, 13.5 and 13.7 (whose first offer is taken) limit the server to 8 bits: accepted
    # and answered 8 (RFC 7692 7.1.2.1); rtweb's zlib deflates at 9 bits, whose distances
    # (<= 250) the 8-bit inflater below (python zlib, wbits -8) must take.
    want8 = name in ("13.3", "13.5", "13.7")
    for size in SIZES:
        label = "%s offer, %d B" % (name, size)
        try:
            c, ext = handshake(port, offer)
        except Exception as e:  # noqa: BLE001
            check(label, False, repr(e))
            continue
        params = parse_extension(ext)
        ok = params is not None and (params.get("server_max_window_bits", 15) == 8) == want8
        if not ok:
            c.close()
            check(label + ": negotiated as expected", False, ext)
            continue
        dfl = Deflater(params.get(CLIENT_BITS, 15), "client_no_context_takeover" not in params)
        inf = Inflater(params.get("server_max_window_bits", 15),
                       "server_no_context_takeover" not in params)
        err = None
        count = 4 if size <= 16384 else 2
        for i in range(count * 2):
            op = OP_TEXT if i % 2 == 0 else OP_BINARY
            frag = i >= count  # the second half fragmented, a ping inside
            data = payload(op, size, rnd)
            wire = dfl.compress(data) if dfl is not None else data
            if not frag:
                c.send(cframe(op, wire, rsv1=dfl is not None))
            else:
                step = 256 if size <= 8192 else 8192
                pieces = [wire[j:j + step] for j in range(0, len(wire), step)] or [b""]
                for j, piece in enumerate(pieces):
                    last = j == len(pieces) - 1
                    c.send(cframe(op if j == 0 else OP_CONT, piece, fin=last,
                                  rsv1=dfl is not None and j == 0))
                    if j == 0:
                        c.send(cframe(OP_PING, b"mid-%d" % i))
            m = read_message(c)
            if m is None or m[0] in ("close", "bad"):
                err = "message %d: %r" % (i, m)
                break
            opcode, rsv1, body, _, pongs = m
            # RFC 7692 lets a sender send any message uncompressed; rtweb does so when
            # compression would not shrink it (no context takeover on its side). Our payloads
            # of 1 KiB and more shrink by half or more: their echoes must be compressed. Under
            # an 8-bit server window the binary payload's repetition (period 256) is beyond
            # the 250 bytes a 9-bit zlib reaches, so only text must shrink there.
            must_shrink = size >= 1024 and not (want8 and op == OP_BINARY)
            if dfl is not None and not rsv1 and must_shrink:
                err = "message %d: echo of %d B not compressed (RSV1 clear)" % (i, size)
                break
            if dfl is None and rsv1:
                err = "message %d: RSV1 without the extension" % i
                break
            try:
                got = inf.inflate(body) if rsv1 else body
            except zlib.error as e:
                err = "message %d: the echo does not inflate under %r: %s" % (i, params, e)
                break
            if opcode != op or got != data:
                err = "message %d: echo differs (opcode %d, %d bytes, want %d)" % (
                    i, opcode, len(got), len(data))
                break
            if frag and pongs != [b"mid-%d" % i] and not pending_pong(c, b"mid-%d" % i, pongs):
                err = "message %d: no pong for the ping between fragments" % i
                break
            stats["messages"] += 1
            stats["wire"] += len(body)
            stats["payload"] += len(data)
        if err is None:
            err = close_clean(c)
        c.close()
        check(label + ": %d echoes (%s)" % (count * 2, ext or "declined"), err is None, err)


def pending_pong(c, want, pongs):
    """The pong may come after the echo's frames: read it."""
    if want in pongs:
        return True
    f = c.read_frame(5)
    return f is not None and f[2] == OP_PONG and f[3] == want


class Serve:
    def __init__(self, *extra):
        self.p = T.start([RTWCAT, "serve", "--port", "0", "--deflate"] + list(extra))
        line = self.p.stdout.readline().decode()
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        self.port = int(m.group(1)) if m else 0
        self.errs = []
        rawws.drain(self.p.stderr, self.errs)

    def stop(self):
        return rawws.stop(self.p)


def expect_close(c, code, timeout=10):
    """Read until a close frame: True when its code is `code`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        f = c.read_frame(max(0.0, deadline - time.time()))
        if f is None:
            return "EOF without a close frame"
        if f[2] == OP_CLOSE:
            got = struct.unpack("!H", f[3][:2])[0] if len(f[3]) >= 2 else None
            return None if got == code else "close %r, want %d" % (got, code)
    return "timeout"


def negotiated(port):
    c, ext = handshake(port, "permessage-deflate; client_max_window_bits")
    if parse_extension(ext) is None:
        raise RuntimeError("permessage-deflate not accepted: %r" % ext)
    return c


def failures(srv):
    d = Deflater(15, False)
    # RFC 7692 6.1: RSV1 only on the first frame of a message -> 1002
    try:
        c = negotiated(srv.port)
        w = d.compress(b"hello, fragmented world" * 10)
        c.send(cframe(OP_TEXT, w[:10], fin=False, rsv1=True))
        c.send(cframe(OP_CONT, w[10:], fin=True, rsv1=True))
        err = expect_close(c, 1002)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("RSV1 on a continuation frame: close 1002", err is None, err)
    # RSV1 on a control frame -> 1002
    try:
        c = negotiated(srv.port)
        c.send(cframe(OP_PING, b"x", rsv1=True))
        err = expect_close(c, 1002)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("RSV1 on a ping: close 1002", err is None, err)
    # RSV1 when the offer was declined (an unknown parameter, RFC 7692 7) -> 1002
    try:
        c, ext = handshake(srv.port, "permessage-deflate; x_unknown_parameter")
        c.send(cframe(OP_TEXT, d.compress(b"hi"), rsv1=True))
        err = expect_close(c, 1002) if ext is None else "accepted: %r" % ext
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("RSV1 without the extension: close 1002", err is None, err)
    # invalid DEFLATE data -> 1007 (0xff: a final block of the reserved type 11, RFC 1951
    # 3.2.3)
    try:
        c = negotiated(srv.port)
        c.send(cframe(OP_BINARY, b"\xff\xff\xff\xff", rsv1=True))
        err = expect_close(c, 1007)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("invalid DEFLATE data: close 1007", err is None, err)
    # text that inflates to invalid UTF-8 -> 1007
    try:
        c = negotiated(srv.port)
        c.send(cframe(OP_TEXT, d.compress(b"ok so far \xc3\x28 not"), rsv1=True))
        err = expect_close(c, 1007)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("compressed text with invalid UTF-8: close 1007", err is None, err)
    # an empty compressed message (RFC 7692 7.2.3.6: a single 0x00 byte) echoes empty
    try:
        c = negotiated(srv.port)
        c.send(cframe(OP_TEXT, b"\x00", rsv1=True))
        m = read_message(c)
        ok = m is not None and m[0] == OP_TEXT and (
            Inflater(15, False).inflate(m[2]) if m[1] else m[2]) == b""
        err = None if ok else "echo %r" % (m,)
        if err is None:
            err = close_clean(c)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("empty compressed message (00) echoes empty", err is None, err)
    # a client without an offer is echoed uncompressed
    try:
        c, ext = handshake(srv.port, None)
        c.send(cframe(OP_TEXT, b"plain"))
        m = read_message(c)
        err = None if ext is None and m is not None and m[:3] == (OP_TEXT, False, b"plain") \
            else "ext %r echo %r" % (ext, m)
        if err is None:
            err = close_clean(c)
        c.close()
    except Exception as e:  # noqa: BLE001
        err = repr(e)
    check("no offer: no extension, plain echo", err is None, err)


def run_client(port, args, data, timeout=20):
    import subprocess
    p = subprocess.run([RTWCAT, "ws://127.0.0.1:%d/c" % port] + args, input=data,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def client_cases(srv):
    """`rtwcat ws:// --deflate` against `rtwcat serve --deflate`, and the options' checks."""
    import json
    lines = [payload(OP_TEXT, n, random.Random(n)).replace(b"\n", b" ") for n in SIZES]
    rc, out, err = run_client(srv.port, ["--deflate", "--json"], b"\n".join(lines) + b"\n")
    recs = [json.loads(x) for x in out.decode().splitlines() if x]
    first = recs[0] if recs else {}
    texts = [r["data"].encode() for r in recs if r.get("type") == "text"]
    check("ws:// --deflate -> serve --deflate: open line names the answer",
          rc == 0 and first.get("type") == "open" and
          str(first.get("deflate", "")).startswith("permessage-deflate"), (rc, first, err))
    check("ws:// --deflate -> serve --deflate: %d lines 16 B..128 KiB echoed exactly" % len(lines),
          rc == 0 and texts == lines, (rc, len(texts), err[-300:]))
    rc, out, err = run_client(srv.port, ["--deflate-level", "9", "--deflate-window", "9",
                                         "--deflate-peer-window", "10", "--deflate-threshold",
                                         "100", "--json"], b"short\n" + lines[-1] + b"\n")
    recs = [json.loads(x) for x in out.decode().splitlines() if x]
    first = recs[0] if recs else {}
    texts = [r["data"].encode() for r in recs if r.get("type") == "text"]
    check("ws:// --deflate-* knobs imply --deflate; server window limited to 10",
          rc == 0 and "server_max_window_bits=10" in str(first.get("deflate")) and
          texts == [b"short", lines[-1]], (rc, first, err))
    for bad in (["--deflate-level", "0"], ["--deflate-level", "10"], ["--deflate-window", "8"],
                ["--deflate-peer-window", "7"], ["--deflate-threshold", "x"],
                ["--deflate-memory", "0"]):
        rc, out, err = run_client(srv.port, bad, b"")
        check("ws:// %s: usage error (exit 2)" % " ".join(bad), rc == 2 and bad[0] in err,
              (rc, err))
    import subprocess
    p = subprocess.run([RTWCAT, "serve", "--deflate-window", "16"], capture_output=True,
                       timeout=10)
    check("serve --deflate-window 16: usage error (exit 2)", p.returncode == 2, p.stderr)
    p = subprocess.run([RTWCAT, "serve", "--help"], capture_output=True, timeout=10)
    check("serve --help lists --deflate", p.returncode == 0 and b"--deflate " in p.stdout)
    p = subprocess.run([RTWCAT, "ws://x/", "--help"], capture_output=True, timeout=10)
    check("ws:// --help lists --deflate and --deflate-required",
          p.returncode == 0 and b"--deflate " in p.stdout and b"--deflate-required" in p.stdout)


def answering_server(answer):
    """A one-connection server that answers the upgrade with Sec-WebSocket-Extensions:
    `answer`, then reads the client's frames; .result is the first frame (or None)."""
    import socket
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    out = {"frame": None, "port": ls.getsockname()[1]}

    def run():
        try:
            ls.settimeout(10)
            s, _ = ls.accept()
            c = rawws.Conn(s)
            deadline = time.time() + 10
            while b"\r\n\r\n" not in c.buf:
                if not c.fill(deadline):
                    return
            head, c.buf = c.buf.split(b"\r\n\r\n", 1)
            key = b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            c.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                    "Sec-WebSocket-Extensions: %s\r\n\r\n"
                    % (rawws.accept_value(key), answer)).encode())
            out["frame"] = c.read_frame(10)
            c.close()
        except OSError:
            pass
        finally:
            ls.close()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    out["thread"] = th
    return out


def bad_answers():
    """RFC 7692 7.1: a client must fail the connection on an answer it did not offer or
    allow; rtwcat says so, sends close 1010 and exits 1."""
    for answer in ("permessage-deflate; server_max_window_bits=7",
                   "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
                   "permessage-deflate; mystery_param"):
        srv = answering_server(answer)
        import subprocess
        p = subprocess.run([RTWCAT, "ws://127.0.0.1:%d/" % srv["port"], "--deflate"],
                           input=b"hi\n", capture_output=True, timeout=20)
        srv["thread"].join(10)
        f = srv["frame"]
        err = p.stderr.decode(errors="replace")
        ok = p.returncode == 1 and "permessage-deflate answer is not acceptable" in err and \
            f is not None and f[2] == OP_CLOSE and f[3][:2] == struct.pack("!H", 1010)
        check("ws:// --deflate, answer %r: close 1010, exit 1, said why" % answer, ok,
              (p.returncode, err, f))
    # without --deflate nothing was offered: an answer naming an extension fails the
    # handshake itself (RFC 6455 4.1 item 5): exit 1, no frame sent
    srv = answering_server("permessage-deflate")
    import subprocess
    p = subprocess.run([RTWCAT, "ws://127.0.0.1:%d/" % srv["port"]], input=b"hi\n",
                       capture_output=True, timeout=20)
    srv["thread"].join(10)
    check("ws:// without --deflate, answered permessage-deflate: handshake fails (exit 1)",
          p.returncode == 1 and srv["frame"] is None, (p.returncode, p.stderr, srv["frame"]))


def bomb_bytes():
    """200 MB of zeros, raw deflate (about 200 KB), tail stripped."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    chunk = bytes(1 << 20)
    out = [z.compress(chunk) for _ in range(200)]
    out.append(z.flush(zlib.Z_SYNC_FLUSH))
    b = b"".join(out)
    return b[:-4]


def bomb(extra, limit_kib, label):
    """Send the bomb in 16 KiB frames from a thread; the server must close 1009 before it
    has all of it inflated, with its VmRSS under limit_kib the whole time."""
    srv = Serve(*extra)
    data = BOMB
    try:
        c = negotiated(srv.port)
    except Exception as e:  # noqa: BLE001
        check(label, False, repr(e))
        srv.stop()
        return
    base = rawws.rss_kib(srv.p.pid)
    peak = [base]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rawws.rss_kib(srv.p.pid))
            time.sleep(0.01)

    def send():
        step = 16384
        try:
            for j in range(0, len(data), step):
                last = j + step >= len(data)
                c.send(cframe(OP_BINARY if j == 0 else OP_CONT, data[j:j + step], fin=last,
                              rsv1=j == 0))
        except OSError:
            pass  # the server closed first: what we want

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    sender = threading.Thread(target=send, daemon=True)
    t0 = time.time()
    sender.start()
    err = expect_close(c, 1009, timeout=20)
    took = time.time() - t0
    done.set()
    th.join()
    c.close()
    sender.join(5)
    check("%s: close 1009 (%.2f s)" % (label, took), err is None and took < 10, err)
    check("%s: server RSS peak %d KiB (from %d) under %d KiB" % (label, peak[0], base,
                                                                 limit_kib),
          peak[0] < limit_kib, (peak[0], base, srv.errs[-3:]))
    srv.stop()


BOMB = bomb_bytes()


def main():
    rnd = random.Random(1312)
    srv = Serve()
    if srv.port == 0:
        check("rtwcat serve --deflate starts", False, srv.errs)
        return T.finish()
    stats = {"messages": 0, "wire": 0, "payload": 0}
    t0 = time.time()
    for name, offer in OFFERS:
        run_offer(srv.port, name, offer, rnd, stats)
    took = time.time() - t0
    check("sections 12/13: %d echoes, %d payload bytes in %d compressed (%.1f s)"
          % (stats["messages"], stats["payload"], stats["wire"], took),
          stats["messages"] > 0 and stats["wire"] < stats["payload"], stats)
    failures(srv)
    client_cases(srv)
    bad_answers()
    rc = srv.stop()
    check("serve exits 0 on SIGTERM", rc == 0, (rc, srv.errs[-3:]))
    # 1 MiB limit: 1009 after at most ~1 MiB inflated, RSS stays small
    bomb(["--max-message", "1048576"], 48 * 1024, "deflate bomb, --max-message 1 MiB")
    # the default 64 MiB limit: refused long before 200 MB are inflated
    bomb([], 160 * 1024, "deflate bomb, default limits")
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
