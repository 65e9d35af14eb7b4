#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# `rtwcat ws:// --json` against a hostile, scripted server (rawws.Fixture): the client role of
# RFC 6455 as an Autobahn-style fuzzing server judges it. Every ping gets its pong, in order,
# also after the client's own close (5.5.2); the close is echoed with the peer's code (5.5.1);
# protocol errors are answered with the right close code (7.4.1: 1002, 1007), failing fast
# inside a message (8.1); after the closing handshake the client waits for the server to
# close TCP first (7.1.1), for a bounded time; a ping flood from a server that never reads
# leaves the client's RSS under 64 MiB (issue #12). Prints TAP.
#
# usage: ws_client_test.py RTWCAT

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawws  # noqa: E402
from rawws import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,  # noqa: E402
                   close_payload, frame)

RTWCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
if RTWCAT is None:
    print("usage: ws_client_test.py RTWCAT", file=sys.stderr)
    sys.exit(2)

T = rawws.Tap()
check = T.check

# how long the server waits, after the closing handshake, to see whether the client closes
# TCP before it (RFC 6455 7.1.1 wants the server to close first)
FIN_WINDOW = 0.3


class Run:
    """One case: the fixture runs script(conn); rtwcat ws:// --json connects to it."""

    def __init__(self, script, args=(), stdin_eof=False, timeout=20):
        self.fx = rawws.Fixture(script)
        self.p = T.start([RTWCAT, "ws://127.0.0.1:%d/" % self.fx.port, "--json"] + list(args))
        self.lines = []
        self.out_th = rawws.drain(self.p.stdout, self.lines)
        if stdin_eof:
            self.p.stdin.close()
        self.result = self.fx.join(timeout)
        self.server_done = time.time()
        try:
            self.rc = self.p.wait(timeout=timeout)
        except Exception:  # noqa: BLE001
            self.p.kill()
            self.rc = None
        self.exit_after = time.time() - self.server_done
        self.out_th.join(5)
        self.err = self.p.stderr.read().decode(errors="replace")
        if not self.p.stdin.closed:
            self.p.stdin.close()

    def diag(self):
        return {"result": self.result, "fixture_error": self.fx.error, "rc": self.rc,
                "stderr": self.err, "stdout": self.lines[-5:]}


def close_code(f):
    """The code of a close frame (None for an empty one); 'not close' for another frame."""
    if f is None or f[2] != OP_CLOSE:
        return "not close: %r" % (f,)
    return int.from_bytes(f[3][:2], "big") if len(f[3]) >= 2 else None


# ------------------------------------------------------------------ pings and pongs

def test_ping_burst():
    """Autobahn 2.10: ten pings in one write, ten pongs with their payloads, in order; then
    a server close, echoed; the client must not close TCP first."""
    def script(c):
        c.send(b"".join(frame(OP_PING, b"payload-%d" % i) for i in range(10)))
        pongs = [c.read_frame() for _ in range(10)]
        c.send(frame(OP_CLOSE, close_payload(1000, b"done")))
        reply = c.read_frame()
        early_fin = c.eof_within(FIN_WINDOW)
        return pongs, reply, early_fin

    r = Run(script)
    pongs, reply, early_fin = r.result or ([], None, None)
    check("10 pings in one write: 10 pongs, each with its ping's payload, in order",
          [(f[2], f[3]) if f else None for f in pongs] ==
          [(OP_PONG, b"payload-%d" % i) for i in range(10)], r.diag())
    check("server close 1000 'done': echoed as exactly 1000 without reason (5.5.1)",
          reply is not None and reply[:3] == (1, 0, OP_CLOSE) and reply[3] == b"\x03\xe8",
          r.diag())
    check("after the closing handshake the client waits for the server's FIN (7.1.1)",
          early_fin is False, r.diag())
    check("... and exits 0 as soon as the server closes", r.rc == 0 and r.exit_after < 3,
          (r.exit_after, r.diag()))


def test_ping_after_own_close():
    """stdin EOF: the client sends its close first; a ping that arrives before the server's
    close still gets its pong (5.5.2), a ping after the server's close does not (5.5.1)."""
    def script(c):
        first = c.read_frame()
        c.send(frame(OP_PING, b"late"))
        pong = c.read_frame()
        c.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_PING, b"after-close"))
        extra = c.read_frame(timeout=FIN_WINDOW)
        early_fin = c.eof_within(FIN_WINDOW)
        return first, pong, extra, early_fin

    r = Run(script, stdin_eof=True)
    first, pong, extra, early_fin = r.result or (None, None, "x", None)
    check("stdin EOF: the client's close 1000 comes first", close_code(first) == 1000,
          r.diag())
    check("a ping after our close, before the server's: answered with its pong (5.5.2)",
          pong is not None and pong[2:] == (OP_PONG, b"late"), r.diag())
    check("nothing after the server's close, not even a pong for a later ping",
          extra is None, r.diag())
    check("client-initiated close: the client still waits for the server's FIN",
          early_fin is False and r.rc == 0, r.diag())


def test_pings_between_fragments():
    def script(c):
        c.send(frame(OP_TEXT, b"Hel", fin=False) + frame(OP_PING, b"p1") +
               frame(OP_CONT, b"l", fin=False) + frame(OP_PING, b"p2") +
               frame(OP_CONT, b"o") + frame(OP_BINARY, b"\x00\x01"))
        pongs = [c.read_frame(), c.read_frame()]
        c.send(frame(OP_CLOSE, close_payload(1000)))
        return pongs, c.read_frame()

    r = Run(script)
    pongs, reply = r.result or ([None, None], None)
    msgs = [l.decode().strip() for l in r.lines]
    check("pings between fragments: both answered in order (5.4, 5.5.2)",
          [p[2:] if p else None for p in pongs] == [(OP_PONG, b"p1"), (OP_PONG, b"p2")],
          r.diag())
    check("... and the message is printed whole, then the binary one",
          '{"type":"text","data":"Hello"}' in msgs and
          '{"type":"binary","base64":"AAE="}' in msgs and close_code(reply) == 1000, msgs)


# ------------------------------------------------------------------ closing

def test_close_echo():
    cases = [
        ("close 4000 'custom' is echoed as 4000 (exit 3)", close_payload(4000, b"custom"),
         b"\x0f\xa0", 3),
        ("an empty close is answered with an empty close (exit 0)", b"", b"", 0),
        ("close 1001 with a 123-byte reason is echoed as 1001 (exit 0)",
         close_payload(1001, b"r" * 123), b"\x03\xe9", 0),
        ("close 3000 is echoed as 3000 (exit 3)", close_payload(3000), b"\x0b\xb8", 3),
    ]
    for name, payload, want, status in cases:
        def script(c, payload=payload):
            c.send(frame(OP_CLOSE, payload))
            reply = c.read_frame()
            return reply, c.eof_within(FIN_WINDOW)

        r = Run(script)
        reply, early_fin = r.result or (None, None)
        check(name, reply is not None and reply[2:] == (OP_CLOSE, want) and
              early_fin is False and r.rc == status, r.diag())


def test_linger_bounded():
    """A server that never closes TCP: the client gives up after its close timeout (5 s)."""
    def script(c):
        c.send(frame(OP_CLOSE, close_payload(1000)))
        reply = c.read_frame()
        t0 = time.time()
        fin = c.eof_within(9)
        return reply, fin, time.time() - t0

    r = Run(script)
    reply, fin, waited = r.result or (None, None, 0)
    check("a server that keeps TCP open: the client closes it itself after about 5 s",
          close_code(reply) == 1000 and fin and 3 < waited < 8 and r.rc == 0,
          (waited, r.diag()))


def test_close_after_messages_and_ignored_after_close():
    """Autobahn 7.1.x: data and a second close after the server's close are ignored."""
    def script(c):
        c.send(frame(OP_TEXT, b"before") + frame(OP_CLOSE, close_payload(1000)) +
               frame(OP_TEXT, b"after") + frame(OP_CLOSE, close_payload(1001)))
        reply = c.read_frame()
        more = c.read_frame(timeout=FIN_WINDOW)
        return reply, more

    r = Run(script)
    reply, more = r.result or (None, "x")
    msgs = [l.decode().strip() for l in r.lines]
    check("a message before the close is printed, nothing after it; one close reply",
          close_code(reply) == 1000 and more is None and
          msgs[1:] == ['{"type":"text","data":"before"}',
                       '{"type":"close","code":1000,"reason":""}'] and r.rc == 0,
          r.diag())


# ------------------------------------------------------------------ protocol errors

ERRORS = [
    # (name, bytes the server sends, the close code the client must send)
    ("RSV1 without an extension", frame(OP_TEXT, b"x", rsv=4), 1002),
    ("RSV3 on a ping", frame(OP_PING, b"x", rsv=1), 1002),
    ("reserved opcode 3", frame(0x3, b""), 1002),
    ("reserved control opcode 0xB", frame(0xB, b"x"), 1002),
    ("a masked frame from the server (5.1)", frame(OP_TEXT, b"x", mask=b"abcd"), 1002),
    ("a ping with 126 bytes (5.5)", frame(OP_PING, b"p" * 126), 1002),
    ("a fragmented ping (5.5)", frame(OP_PING, b"x", fin=False), 1002),
    ("a continuation without a message (5.4)", frame(OP_CONT, b"x"), 1002),
    ("a new text frame inside a fragmented message (5.4)",
     frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"), 1002),
    ("a close with a 1-byte payload (5.5.1)", frame(OP_CLOSE, b"\x03"), 1002),
    ("close code 1005 (7.4.1)", frame(OP_CLOSE, close_payload(1005)), 1002),
    ("close code 999", frame(OP_CLOSE, close_payload(999)), 1002),
    ("close code 5000", frame(OP_CLOSE, close_payload(5000)), 1002),
    ("a close reason that is not UTF-8", frame(OP_CLOSE, close_payload(1000, b"\xff")), 1007),
    ("text with a UTF-16 surrogate (8.1)",
     frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), 1007),
    ("a text message truncated inside a UTF-8 sequence", frame(OP_TEXT, b"ok\xe2\x82"), 1007),
]


def test_protocol_errors():
    for name, data, code in ERRORS:
        def script(c, data=data):
            c.send(data)
            reply = c.read_frame()
            early_fin = c.eof_within(FIN_WINDOW)
            return reply, early_fin

        r = Run(script)
        reply, early_fin = r.result or (None, None)
        check("%s: close %d, then the client waits for the server's FIN; exit 1" % (name, code),
              close_code(reply) == code and early_fin is False and r.rc == 1 and
              r.exit_after < 3, r.diag())


def test_fail_fast():
    """Autobahn 6.4.x: invalid UTF-8 in the first fragment fails at once, before the rest."""
    def script(c):
        c.send(frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xf4\x90\x80\x80", fin=False))
        t0 = time.time()
        reply = c.read_frame(timeout=2)
        took = time.time() - t0
        if reply is not None:
            c.send(frame(OP_CONT, b"\x80\x80"))
        return reply, took

    r = Run(script)
    reply, took = r.result or (None, 9)
    check("invalid UTF-8 in an unfinished fragment: close 1007 at once (fail fast)",
          close_code(reply) == 1007 and took < 1.5 and r.rc == 1, (took, r.diag()))


# ------------------------------------------------------------------ ping flood

def test_ping_flood():
    """A server that floods pings and never reads: the client's RSS stays under 64 MiB;
    afterwards it still answers and closes properly."""
    state = {"flood": True}

    def script(c):
        burst = frame(OP_PING, b"f" * 125) * 2000
        c.s.settimeout(0.2)
        sent = 0
        end = time.time() + 3
        while time.time() < end:
            try:
                sent += c.s.send(burst)
            except OSError:
                pass
        state["flood"] = False
        c.s.settimeout(None)
        # finish the partial frame the last send may have left, then close
        rest = (len(frame(OP_PING, b"f" * 125)) - sent % len(frame(OP_PING, b"f" * 125)))
        rest %= len(frame(OP_PING, b"f" * 125))
        c.send(burst[:rest] + frame(OP_CLOSE, close_payload(1000)))
        deadline = time.time() + 20
        while time.time() < deadline:
            f = c.read_frame(timeout=max(0.1, deadline - time.time()))
            if f is None or f[2] == OP_CLOSE:
                return sent, f
            if f[2] != OP_PONG:
                return sent, f
        return sent, None

    fx = rawws.Fixture(script)
    # raw mode: pings are not printed, so the client reads as fast as it can
    p = T.start([RTWCAT, "ws://127.0.0.1:%d/" % fx.port])
    lines = []
    rawws.drain(p.stdout, None)
    peak = 0
    while fx.th.is_alive() and state["flood"]:
        peak = max(peak, rawws.rss_kib(p.pid))
        time.sleep(0.05)
    sent, last = fx.join(30) or (0, None)
    try:
        rc = p.wait(timeout=10)
    except Exception:  # noqa: BLE001
        p.kill()
        rc = None
    check("ping flood for 3 s from a server that never reads: client RSS %d KiB < 64 MiB "
          "(%d MB of pings)" % (peak, sent >> 20), 0 < peak < 64 * 1024 and sent > (1 << 20),
          (peak, sent, fx.error))
    check("after the flood: the close is echoed (pongs before it) and the client exits 0",
          close_code(last) == 1000 and rc == 0, (last, rc, fx.error, lines[-3:]))


TESTS = [test_ping_burst, test_ping_after_own_close, test_pings_between_fragments,
         test_close_echo, test_close_after_messages_and_ignored_after_close,
         test_protocol_errors, test_fail_fast, test_linger_bounded, test_ping_flood]


def main():
    only = os.environ.get("RTW_TEST_ONLY")  # a comma-separated subset, for debugging
    for t in TESTS:
        if not only or t.__name__ in only.split(","):
            t()
    return T.finish()


if __name__ == "__main__":
    try:
        status = main()
    finally:
        T.kill_all()
    sys.exit(status)
