#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# `rtwcat serve` against hostile clients (issue #12): a ping flood and an echo flood from
# clients that never read stay under 64 MiB of RSS; idle, trickling, silent, non-reading and
# slow-head connections are closed after the configured timeouts (small flag values here);
# SSE output buffers shrink once 10 subscribers have caught up with an 8 MB replay. Prints
# TAP.
#
# usage: serve_limits_test.py RTWCAT

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawws  # noqa: E402
from rawws import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, close_payload, frame  # noqa: E402

RTWCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
if RTWCAT is None:
    print("usage: serve_limits_test.py RTWCAT", file=sys.stderr)
    sys.exit(2)

T = rawws.Tap()
check = T.check
MASK = b"\x11\x22\x33\x44"
LIMIT_KIB = 64 * 1024


class Serve:
    def __init__(self, *extra):
        self.p = T.start([RTWCAT, "serve", "--port", "0"] + list(extra))
        line = self.p.stdout.readline().decode()
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        self.port = int(m.group(1)) if m else 0
        self.errs = []
        rawws.drain(self.p.stderr, self.errs)

    def rss(self):
        return rawws.rss_kib(self.p.pid)

    def stop(self):
        return rawws.stop(self.p)


def flood(conn, data, seconds):
    """Send data over and over for `seconds`, never reading; returns the bytes sent."""
    conn.s.settimeout(0.2)
    sent = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            sent += conn.s.send(data)
        except OSError:
            pass
    conn.s.settimeout(None)
    return sent


def echo_works(port):
    c = rawws.client_handshake(port)
    c.send(frame(OP_TEXT, b"still here", mask=MASK))
    f = c.read_frame()
    c.close()
    return f is not None and f[2:] == (OP_TEXT, b"still here")


def watch_rss(srv, stop):
    peak = [0]

    def run():
        while not stop.is_set():
            peak[0] = max(peak[0], srv.rss())
            time.sleep(0.05)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return peak, th


# ------------------------------------------------------------------ floods

def test_ping_flood():
    srv = Serve()
    c = rawws.client_handshake(srv.port)
    stop = threading.Event()
    peak, th = watch_rss(srv, stop)
    sent = flood(c, frame(OP_PING, b"f" * 125, mask=MASK) * 2000, 3)
    stop.set()
    th.join()
    check("ping flood for 3 s from a client that never reads: serve RSS %d KiB < 64 MiB"
          % peak[0], 0 < peak[0] < LIMIT_KIB and sent > (1 << 20), (peak[0], sent))
    check("... and serve still echoes for another client", echo_works(srv.port))
    c.close()
    check("serve exits 0 after the flood", srv.stop() == 0, srv.errs)


def test_echo_flood():
    srv = Serve()
    c = rawws.client_handshake(srv.port)
    stop = threading.Event()
    peak, th = watch_rss(srv, stop)
    sent = flood(c, frame(OP_TEXT, b"e" * (1 << 20), mask=MASK), 3)
    stop.set()
    th.join()
    check("1 MiB messages for 3 s from a client that never reads the echoes: serve RSS "
          "%d KiB < 64 MiB" % peak[0], 0 < peak[0] < LIMIT_KIB and sent > (1 << 20),
          (peak[0], sent))
    c.close()
    srv.stop()


# ------------------------------------------------------------------ timeouts

def test_idle_timeout():
    srv = Serve("--idle-timeout", "0.5")
    c = rawws.client_handshake(srv.port)
    t0 = time.time()
    f = c.read_frame(timeout=5)
    took = time.time() - t0
    check("--idle-timeout 0.5: a silent client gets close 1001 'idle timeout'",
          f is not None and f[2] == OP_CLOSE and f[3] == close_payload(1001, b"idle timeout")
          and 0.4 < took < 3, (f, took))
    c.send(frame(OP_CLOSE, close_payload(1001), mask=MASK))
    check("... and after the client's close, serve closes TCP", c.eof_within(3))
    c.close()
    a = rawws.client_handshake(srv.port)
    alive = True
    for i in range(6):  # 1.2 s of messages every 0.2 s: never idle
        a.send(frame(OP_TEXT, b"m%d" % i, mask=MASK))
        f = a.read_frame(timeout=2)
        alive = alive and f is not None and f[2:] == (OP_TEXT, b"m%d" % i)
        time.sleep(0.2)
    check("a client sending a message every 0.2 s is not idle", alive)
    a.close()
    srv.stop()


def test_trickle():
    srv = Serve("--idle-timeout", "0.6", "--close-timeout", "0.5")
    c = rawws.client_handshake(srv.port)
    # a frame announcing 1000 bytes, then one byte every 0.1 s: never a whole frame
    c.send(frame(OP_TEXT, b"", mask=MASK, length=1000))
    t0 = time.time()
    got_close = None
    closed = False
    while time.time() - t0 < 8:
        try:
            c.s.send(b"x")
        except OSError:
            closed = True
            break
        if c.fill(time.time() + 0.1):
            f = c._parse()
            if f is not None and f[2] == OP_CLOSE:
                got_close = f
        elif got_close is not None and c.eof_within(0.05):
            closed = True
            break
    took = time.time() - t0
    check("a client trickling a frame byte by byte: close 1001, then (no close back within "
          "--close-timeout) TCP closed", got_close is not None and
          got_close[3][:2] == b"\x03\xe9" and closed and 0.9 < took < 6, (got_close, took))
    c.close()
    srv.stop()


def test_keepalive():
    srv = Serve("--keepalive", "0.3")
    c = rawws.client_handshake(srv.port)
    f = c.read_frame(timeout=3)
    check("--keepalive 0.3: a silent client is pinged", f is not None and f[2] == OP_PING, f)
    t0 = time.time()
    check("... and closed when the pong does not come", c.eof_within(3) and
          time.time() - t0 < 2.5)
    c.close()
    a = rawws.client_handshake(srv.port)
    pongs = 0
    end = time.time() + 1.5
    ok = True
    while time.time() < end:
        f = a.read_frame(timeout=max(0.05, end - time.time()))
        if f is None:
            ok = time.time() >= end - 0.05
            break
        if f[2] == OP_PING:
            a.send(frame(OP_PONG, f[3], mask=MASK))
            pongs += 1
    check("a client answering the pings stays connected (%d pings in 1.5 s)" % pongs,
          ok and pongs >= 3)
    a.send(frame(OP_TEXT, b"x", mask=MASK))
    f = a.read_frame()
    while f is not None and f[2] == OP_PING:
        f = a.read_frame()
    check("... and its echo still works", f is not None and f[2:] == (OP_TEXT, b"x"), f)
    a.close()
    srv.stop()


def test_write_timeout_ws():
    srv = Serve("--write-timeout", "0.5")
    c = rawws.client_handshake(srv.port)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    flood(c, frame(OP_TEXT, b"w" * (1 << 20), mask=MASK), 2.5)
    # read what is buffered; a connection serve gave up on ends within that
    got = 0
    deadline = time.time() + 8
    eof = False
    while time.time() < deadline:
        if not c.fill(deadline):
            eof = True
            break
        got += len(c.buf)
        c.buf = b""
    check("--write-timeout 0.5: a WebSocket client that never reads its echoes is closed "
          "(%d bytes were in flight)" % got, eof and time.time() < deadline)
    c.close()
    srv.stop()


def test_write_timeout_sse():
    srv = Serve("--write-timeout", "0.5", "--history", "10000")  # no slow-consumer drop
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    line = ("d" * 999 + "\n").encode()
    srv.p.stdin.write(line * 6000)  # 6 MB: more than the socket buffers, less than the history
    srv.p.stdin.flush()
    time.sleep(2)
    c = rawws.Conn(s)
    deadline = time.time() + 8
    eof = False
    while time.time() < deadline:
        if not c.fill(deadline):
            eof = True
            break
        c.buf = b""
    check("--write-timeout 0.5: an SSE subscriber that never reads is closed",
          eof and time.time() < deadline)
    c.close()
    srv.stop()


def test_failure_lingers():
    """A protocol error: close 1002, then serve shuts its side down and reads what the client
    still sends until the client's EOF: a clean FIN, no reset that could eat the close."""
    srv = Serve()
    c = rawws.client_handshake(srv.port)
    c.send(frame(OP_TEXT, b"x", rsv=4, mask=MASK) + b"\x00" * 200000)
    f = c.read_frame()
    fin = None
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            d = c.s.recv(65536)
        except ConnectionResetError:
            fin = "reset"
            break
        if not d:
            fin = "fin"
            break
    check("a client's protocol error: close 1002, then a clean FIN (serve lingers)",
          f is not None and f[2] == OP_CLOSE and f[3][:2] == b"\x03\xea" and fin == "fin",
          (f, fin))
    c.close()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" + b"y" * 200000)
    data, how = b"", None
    s.settimeout(5)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                how = "fin"
                break
            data += d
    except ConnectionResetError:
        how = "reset"
    except OSError:
        how = "timeout"
    check("a 404 with unread bytes behind the request: the response, then a clean FIN",
          data.startswith(b"HTTP/1.1 404") and how == "fin", (data[:40], how))
    s.close()
    srv.stop()


def test_head_timeout():
    srv = Serve("--head-timeout", "0.5")
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    c = rawws.Conn(s)
    check("--head-timeout 0.5: an unfinished request head is closed",
          c.eof_within(4) and 0.4 < time.time() - t0 < 3)
    c.close()
    srv.stop()


def test_bad_flags():
    p = T.start([RTWCAT, "serve", "--help"])
    out = p.communicate(timeout=10)[0].decode()
    flags = ["--head-timeout", "--keepalive", "--idle-timeout", "--write-timeout",
             "--close-timeout"]
    check("serve --help lists the timer flags", p.returncode == 0 and
          all(f in out for f in flags), out)
    for args in (["--idle-timeout", "x"], ["--close-timeout", "0"], ["--head-timeout", "0"],
                 ["--keepalive", "5000000"], ["--write-timeout", "-1"]):
        p = T.start([RTWCAT, "serve", "--port", "0"] + args)
        try:
            rc = p.wait(timeout=10)
        except Exception:  # noqa: BLE001
            p.kill()
            rc = None
        check("serve %s is a usage error (exit 2)" % " ".join(args), rc == 2)


# ------------------------------------------------------------------ SSE memory

def subscriber(port, last_id, want, box):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %d\r\n\r\n" % last_id)
    data = bytearray()
    tail = b"id: %d\n" % want
    deadline = time.time() + 60
    s.settimeout(5)
    while time.time() < deadline and tail not in data[-65536:]:
        try:
            d = s.recv(1 << 20)
        except OSError:
            break
        if not d:
            break
        data += d
    box.append((s, [int(x) for x in re.findall(rb"\nid: (\d+)\n", bytes(data))]))


def test_sse_buffers_shrink():
    srv = Serve("--history", "1000")
    n, size = 1000, 8000
    srv.p.stdin.write(b"".join((b"%05d" % i) + b"s" * (size - 5) + b"\n" for i in range(n)))
    srv.p.stdin.flush()
    time.sleep(0.5)
    base = srv.rss()
    stop = threading.Event()
    peak, th = watch_rss(srv, stop)
    box = []
    threads = [threading.Thread(target=subscriber, args=(srv.port, 1, n, box))
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    time.sleep(0.3)
    after = srv.rss()
    stop.set()
    th.join()
    complete = len(box) == 10 and all(ids == list(range(2, n + 1)) for _, ids in box)
    check("10 subscribers resuming after id 1 each get events 2..1000 of 8 KB, in order",
          complete, [len(ids) for _, ids in box])
    check("SSE output is bounded while they catch up: peak RSS %d KiB < base %d + 16 MiB"
          % (peak[0], base), peak[0] < base + 16 * 1024, (peak[0], base))
    check("... and released once they have: RSS %d KiB < base %d + 4 MiB" % (after, base),
          after < base + 4 * 1024, (after, base))
    for s, _ in box:
        s.close()
    srv.stop()


TESTS = [test_bad_flags, test_failure_lingers, test_head_timeout, test_idle_timeout, test_trickle, test_keepalive,
         test_write_timeout_ws, test_write_timeout_sse, test_ping_flood, test_echo_flood,
         test_sse_buffers_shrink]


def main():
    only = os.environ.get("RTW_TEST_ONLY")  # a comma-separated subset, for debugging
    for t in TESTS:
        if not only or t.__name__ in only.split(","):
            try:
                t()
            except Exception as e:  # noqa: BLE001
                check(t.__name__ + " ran without an exception", False, repr(e))
    return T.finish()


if __name__ == "__main__":
    try:
        status = main()
    finally:
        T.kill_all()
    sys.exit(status)
