#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Smoke test of examples/epoll_server (TAP): the example under the load issue #12 describes.

  epoll_server_test.py PATH_TO_epoll_server

1. Two WebSocket clients flood the server for 5 s and read nothing, one with 16 KiB messages
   (and pings), one with pings: each is stalled by backpressure (it could send less than
   SENT_BOUND_MIB), the server's peak RSS (VmHWM) stays under RSS_BOUND_MIB, and a third
   client's echo is intact meanwhile.
2. After the flood, a fresh client's echo is intact, and the flooders, once they read, get
   every message they sent echoed back, exact bytes, in order, and close cleanly.
3. SSE: events published on the server's stdin arrive with their ids; a reconnect with
   Last-Event-ID gets exactly the missed events (no loss, no duplicate); an id the history
   no longer holds, or never held, gets the `reset` event; heartbeats arrive on idle streams.
   A subscriber that reads nothing while 16 MiB are published costs bounded memory and,
   reading again, gets consecutive events, then the slow-consumer comment and the end.
4. Keepalive: a client that stops answering pings is dropped after keepalive + pong timeout;
   one that answers stays.
5. Connection limit within RLIMIT_NOFILE: extra clients wait in the backlog (no busy loop)
   and are served once others leave.
6. SIGTERM: WebSocket clients get close 1001, event streams end cleanly, exit status 0.

Only 127.0.0.1; every step is bounded in time; every server started here is stopped here.
"""
import base64
import hashlib
import http.client
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

RSS_BOUND_MIB = 64
SENT_BOUND_MIB = 128
KEEPALIVE_MS, PONG_TIMEOUT_MS = 1000, 1500
HISTORY = 8
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}", flush=True)


def note(text):
    print(f"# {text}", flush=True)


class Server:
    """epoll_server on port 0, stdin a pipe (publishing), stderr kept for the log."""

    def __init__(self, path, args, nofile=None):
        self.log = tempfile.TemporaryFile()

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        # Under AddressSanitizer (CI's asan build) freed memory waits in a quarantine of up
        # to 256 MiB, which would count against the bound: keep it small (ignored otherwise).
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                      "quarantine_size_mb=8"]))
        self.proc = subprocess.Popen([path, "0"] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     preexec_fn=limit, env=env)
        line = self.proc.stdout.readline().decode().strip()
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"unexpected first line {line!r}")
        self.port = int(line[len(prefix):])

    def publish(self, *lines):
        self.proc.stdin.write("".join(f"{x}\n" for x in lines).encode())
        self.proc.stdin.flush()

    def status(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])  # kB
        return -1

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def dump_log(self):
        self.log.seek(0)
        for line in self.log.read().decode(errors="replace").splitlines()[-15:]:
            note(f"server: {line}")


# ------------------------------------------------------------------ WebSocket, by hand

def ws_frame(opcode, payload, fin=True):
    """A masked client frame (RFC 6455 5.2, 5.3)."""
    key = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return head + key + masked


class Frames:
    """Server frames parsed from whatever bytes arrive."""

    def __init__(self, data=b""):
        self.buf = bytearray(data)

    def feed(self, data):
        self.buf += data

    def pop(self):
        """The next frame as (fin, opcode, payload), or None until it is complete."""
        b = self.buf
        if len(b) < 2:
            return None
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack_from("!Q", b, 2)[0], 10
        if len(b) < off + n:
            return None
        frame = (b[0] >> 7, b[0] & 0x0F, bytes(b[off:off + n]))
        del b[:off + n]
        return frame


def ws_connect(port, path="/ws", rcvbuf=None):
    """A raw client after its 101: (socket, Frames holding any bytes read past the head)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed during the handshake")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
        raise RuntimeError(f"bad handshake response {head[:200]!r}")
    return s, Frames(rest)


def read_messages(s, frames, count, timeout, outgoing=b""):
    """Read `count` whole data messages [(opcode, payload)], answering pings, while sending
    `outgoing` (the server may read it only as we read); stops early at a close frame or EOF.
    Returns (messages, close code or None)."""
    s.setblocking(False)
    try:
        return _read_messages(s, frames, count, time.monotonic() + timeout, outgoing)
    finally:
        s.settimeout(10)


def _read_messages(s, frames, count, end, outgoing):
    out, opcode, data = [], None, b""
    outgoing = memoryview(bytes(outgoing))
    while len(out) < count and time.monotonic() < end:
        f = frames.pop()
        if f is None:
            r, w, _ = select.select([s], [s] if outgoing else [], [], end - time.monotonic())
            try:
                if w:
                    outgoing = outgoing[s.send(outgoing):]
                chunk = s.recv(1 << 20) if r else None
            except (BlockingIOError, ConnectionError):
                break
            if chunk == b"":
                break
            if chunk:
                frames.feed(chunk)
            continue
        fin, op, payload = f
        if op == 9:
            outgoing = memoryview(bytes(outgoing) + ws_frame(10, payload))
        elif op == 8:
            return out, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        elif op in (0, 1, 2):
            opcode = op or opcode
            data += payload
            if fin:
                out.append((opcode, data))
                data = b""
    return out, None


def echo(port, messages):
    """A fresh client: send each (opcode, payload), read the echoes, close with 1000."""
    s, frames = ws_connect(port)
    try:
        for op, payload in messages:
            s.sendall(ws_frame(op, payload))
        got, _ = read_messages(s, frames, len(messages), 10)
        s.sendall(ws_frame(8, struct.pack("!H", 1000)))
        return got
    finally:
        s.close()


# ------------------------------------------------------------------ 1, 2: the flood

class Flooder:
    """A client that sends without reading: frames come from `make`, sent non-blocking."""

    def __init__(self, port, make):
        self.sock, self.frames = ws_connect(port, rcvbuf=65536)
        self.sock.setblocking(False)
        self.make, self.pending, self.sent = make, b"", 0

    def pump(self):
        if not self.pending:
            self.pending = memoryview(self.make())
        try:
            n = self.sock.send(self.pending)
        except BlockingIOError:
            return
        self.pending, self.sent = self.pending[n:], self.sent + n

    def read(self, count, then=b""):
        """Read `count` messages while sending the rest of the frame in progress and `then`."""
        return read_messages(self.sock, self.frames, count, 30, bytes(self.pending) + then)


def test_flood(srv):
    base = os.urandom(20000)
    sample = [(1, "héllo wörld".encode()), (2, os.urandom(100000))]
    ping = ws_frame(9, b"p" * 125)
    messages = []

    def next_message():  # 16 KiB, numbered, a ping after every eighth
        i = len(messages)
        messages.append(struct.pack("!Q", i) + base[i % 997:i % 997 + 16376])
        return ws_frame(2, messages[-1]) + (ping if i % 8 == 7 else b"")

    # Two clients flood for 5 s and read nothing: one sends messages (the server echoes
    # them until its queue passes high water, then stops reading that client), the other
    # pings (the pongs fill the queue the same way: a ping flood cannot grow memory).
    msgs = Flooder(srv.port, next_message)
    pings = Flooder(srv.port, lambda: ping * 8192)
    peak, served, start = 0, None, time.monotonic()
    while time.monotonic() < start + 5:
        msgs.pump()
        pings.pump()
        select.select([], [msgs.sock, pings.sock], [], 0.05)
        peak = max(peak, srv.status("VmRSS"))
        if served is None and time.monotonic() > start + 2.5:
            try:  # the server keeps serving others meanwhile
                served = echo(srv.port, sample)
            except Exception as e:  # noqa: BLE001
                served = repr(e)
    check("flood: another client's echo is intact during the flood", served == sample,
          repr(served)[:200])
    # Without backpressure loopback takes gigabytes in 5 s; with it, what the kernel's socket
    # buffers hold on both sides (MiBs, however long the client keeps trying).
    note(f"flood: {len(messages)} messages ({msgs.sent >> 10} KiB) and "
         f"{pings.sent // len(ping)} pings ({pings.sent >> 10} KiB) sent in 5 s")
    check(f"flood: backpressure reached both non-reading clients (< {SENT_BOUND_MIB} MiB each)",
          max(msgs.sent, pings.sent) < SENT_BOUND_MIB << 20, f"{msgs.sent} {pings.sent}")
    hwm = srv.status("VmHWM")
    note(f"flood: server VmRSS peak seen {peak} kB, VmHWM {hwm} kB")
    check(f"flood: server memory bounded (VmHWM {hwm} kB < {RSS_BOUND_MIB} MiB)",
          0 < hwm < RSS_BOUND_MIB * 1024, hwm)

    try:
        got = echo(srv.port, sample)
    except Exception as e:  # noqa: BLE001
        got = repr(e)
    check("after the flood: a fresh client's text and binary echoes are intact", got == sample,
          repr(got)[:200])

    # The flooders now read: every message comes back in order, exact bytes; the ping
    # flooder's next message is echoed after its pongs.
    try:
        got, code = msgs.read(len(messages))
    except Exception as e:  # noqa: BLE001
        got, code = [], repr(e)
    ok = len(got) == len(messages) and all(op == 2 and p == m
                                           for (op, p), m in zip(got, messages))
    check(f"after the flood: the flooding client gets all {len(messages)} messages back intact",
          ok, f"got {len(got)} close={code}")
    try:
        got, code = pings.read(1, ws_frame(1, b"after the pings"))
    except Exception as e:  # noqa: BLE001
        got, code = [], repr(e)
    check("after the flood: the ping flooder, reading again, gets its echo intact",
          got == [(1, b"after the pings")], f"got {got} close={code}")
    for f in (msgs, pings):
        try:
            bye = ws_frame(8, struct.pack("!H", 1000))
            _, code = read_messages(f.sock, f.frames, 1, 10, bye)
        except Exception as e:  # noqa: BLE001
            code = repr(e)
        f.sock.close()
        check("after the flood: the flooding client closes cleanly (1000)", code == 1000, code)


# ------------------------------------------------------------------ 3: SSE

class Stream:
    """An /events client; next_event() returns (type, id, data), or None at the end."""

    def __init__(self, port, last_id=None, rcvbuf=None):
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        if rcvbuf:  # a small window, set before connecting
            self.conn.sock = socket.socket()
            self.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.conn.sock.settimeout(5)
            self.conn.sock.connect(("127.0.0.1", port))
        self.conn.request("GET", "/events", headers=headers)
        self.resp = self.conn.getresponse()
        self.comments = 0

    def next_event(self):
        etype, eid, data = "message", None, None
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n").rstrip("\r")
            if line == "":
                if data is not None:
                    return etype, eid, data
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                etype = value
            elif field == "id":
                eid = value
            elif field == "data":
                data = value if data is None else data + "\n" + value

    def events(self, n):
        return [self.next_event() for _ in range(n)]

    def close(self):
        self.conn.close()


def test_sse(srv):
    def ev(i):
        return ("message", str(i), f"event {i}")

    try:
        a = Stream(srv.port)
        check("sse: /events is 200 text/event-stream, chunked",
              a.resp.status == 200 and a.resp.getheader("Content-Type") == "text/event-stream"
              and a.resp.chunked, f"{a.resp.status} {a.resp.getheader('Content-Type')}")
        srv.publish(*(f"event {i}" for i in (1, 2, 3)))
        got = a.events(3)
        check("sse: published events arrive with ids 1, 2, 3", got == [ev(1), ev(2), ev(3)], got)
        a.close()

        srv.publish(*(f"event {i}" for i in (4, 5, 6)))  # while nobody listens
        b = Stream(srv.port, "3")
        srv.publish("event 7")  # live, right behind the replay
        got = b.events(4)
        check("sse: Last-Event-ID 3 replays exactly 4, 5, 6, then live 7",
              got == [ev(4), ev(5), ev(6), ev(7)], got)
        srv.publish("event 8")
        got = b.next_event()
        check("sse: no duplicate after the replay (next is 8)", got == ev(8), got)
        b.close()

        srv.publish(*(f"event {i}" for i in range(9, 9 + HISTORY + 2)))  # evicts 1..10
        last = 9 + HISTORY + 1
        for name, last_id in (("an evicted id", "3"), ("an unknown id", "no-such-id")):
            c = Stream(srv.port, last_id)
            first = c.next_event()
            last += 1
            srv.publish(f"event {last}")
            then = c.next_event()
            c.close()
            check(f"sse: {name} gets the reset event, then live events only",
                  first is not None and first[0] == "reset" and then == ev(last),
                  f"{first} {then}")
        d = Stream(srv.port)
        last += 1
        srv.publish(f"event {last}")
        got = d.next_event()
        check("sse: a new client gets live events only", got == ev(last), got)
        time.sleep(1.2)  # idle for longer than --heartbeat-ms 500
        last += 1
        srv.publish(f"event {last}")
        got = d.next_event()  # reads the heartbeats on its way
        d.close()
        check("sse: an idle stream gets heartbeat comments", d.comments >= 1 and got == ev(last),
              f"{d.comments} comments, then {got}")
    except Exception as e:  # noqa: BLE001
        check("sse: stream tests ran to the end", False, repr(e))


def test_sse_slow(path):
    """A subscriber that reads nothing while 16 MiB of events are published (history 1024):
    the server's memory stays bounded, a subscriber that reads gets every event, and the one
    that did not, when it reads again, gets consecutive events, then the slow-consumer
    comment and the end of its stream (never a silent gap)."""
    count = 16000
    srv = Server(path, ["--history", "1024"])
    try:
        slow = Stream(srv.port, rcvbuf=16384)
        fast = Stream(srv.port)
        hwm = srv.status("VmHWM")
        got = []
        for start in range(0, count, 500):  # in steps the reading subscriber keeps up with
            srv.publish(*(f"bulk {i} " + "x" * 1000 for i in range(start, start + 500)))
            got += fast.events(500)
        fast.close()
        check(f"sse: a subscriber that reads gets all {count} bulk events in order",
              None not in got and
              [e[2].split(" ")[1] for e in got] == [str(i) for i in range(count)],
              f"{len(got)} events, {got.count(None)} ends")
        events, end = [], time.monotonic() + 20
        while time.monotonic() < end and (e := slow.next_event()) is not None:
            events.append(e)
        slow.close()
        ids = [int(e[1]) for e in events]
        check("sse: a subscriber that read nothing gets consecutive events, then is dropped",
              e is None and 0 < len(ids) < count and
              ids == list(range(ids[0], ids[0] + len(ids))) and slow.comments >= 1,
              f"{len(ids)} events, {slow.comments} comments, last {e}")
        grew = srv.status("VmHWM") - hwm
        check(f"sse: server memory bounded under a slow subscriber (VmHWM grew {grew} kB)",
              grew < 16 * 1024, grew)
    except Exception as e:  # noqa: BLE001
        check("sse: slow consumer tests ran to the end", False, repr(e))
    finally:
        srv.stop()
        if not all(results):
            srv.dump_log()


# ------------------------------------------------------------------ 4: keepalive

def test_keepalive(srv):
    """Two idle clients: `quiet` stops answering pings after its first echo, `alive` answers
    them. Expect quiet dropped after about keepalive + pong timeout, alive still served."""
    quiet, qf = ws_connect(srv.port)
    alive, af = ws_connect(srv.port)
    for s, f in ((quiet, qf), (alive, af)):
        s.sendall(ws_frame(1, b"still here?"))
        read_messages(s, f, 1, 5)
    start = time.monotonic()
    quiet_pings = alive_pings = 0
    dropped_after = None
    quiet.setblocking(False)
    alive.setblocking(False)
    while time.monotonic() < start + 5:
        ready, _, _ = select.select([quiet, alive] if dropped_after is None else [alive],
                                    [], [], 0.1)
        for s in ready:
            try:
                data = s.recv(65536)
            except (BlockingIOError, ConnectionError):
                data = b"" if s is quiet else None
            if s is quiet and not data:
                dropped_after = time.monotonic() - start
                continue
            if data is None:
                continue
            f = qf if s is quiet else af
            f.feed(data)
            while (fr := f.pop()) is not None:
                if fr[1] == 9:
                    if s is quiet:
                        quiet_pings += 1  # and no pong
                    else:
                        alive_pings += 1
                        s.setblocking(True)
                        s.sendall(ws_frame(10, fr[2]))
                        s.setblocking(False)
    expected = (KEEPALIVE_MS + PONG_TIMEOUT_MS) / 1000
    check(f"keepalive: a client that stops answering pings is dropped after ~{expected} s",
          quiet_pings >= 1 and dropped_after is not None and
          expected - 0.5 <= dropped_after <= expected + 2.0,
          f"pings {quiet_pings}, dropped after {dropped_after}")
    alive.setblocking(True)
    alive.settimeout(5)
    try:
        alive.sendall(ws_frame(1, b"after 5 s"))
        got, _ = read_messages(alive, af, 1, 5)
    except Exception as e:  # noqa: BLE001
        got = repr(e)
    check("keepalive: a client that answers its pings stays connected and served",
          alive_pings >= 2 and got == [(1, b"after 5 s")], f"pings {alive_pings}, got {got}")
    quiet.close()
    alive.close()


# ------------------------------------------------------------------ 5: connection limit

def test_limit(path):
    """RLIMIT_NOFILE 24: the server clamps its limit to 24 - 8 spare = 16 connections."""
    srv = Server(path, [], nofile=24)
    socks = []
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(req)
            socks.append(s)

        def answered(pool, timeout):
            done, end = [], time.monotonic() + timeout
            while len(done) < len(pool) and time.monotonic() < end:
                ready, _, _ = select.select([s for s in pool if s not in done], [], [], 0.1)
                for s in ready:
                    if s.recv(4096).startswith(b"HTTP/1.1 101"):
                        done.append(s)
            return done

        served = answered(socks, 2)
        check("limit: with RLIMIT_NOFILE 24, 16 clients are served and 4 wait",
              len(served) == 16, len(served))
        cpu = srv.cpu_seconds()
        time.sleep(1)
        cpu = srv.cpu_seconds() - cpu
        check(f"limit: the server idles while clients wait (CPU {cpu:.2f} s in 1 s)",
              cpu < 0.2, cpu)
        waiting = [s for s in socks if s not in served]
        for s in served[:4]:
            s.close()
        late = answered(waiting, 3)
        check("limit: the waiting clients are served once others leave", len(late) == 4,
              len(late))
        check("limit: still running", srv.proc.poll() is None)
    finally:
        for s in socks:
            s.close()
        srv.stop()


# ------------------------------------------------------------------ 6: shutdown

def test_shutdown(srv):
    s, f = ws_connect(srv.port)
    stream = Stream(srv.port)
    srv.proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    _, code = read_messages(s, f, 1, 5)
    if code is not None:
        s.sendall(ws_frame(8, struct.pack("!H", code)))
    s.close()
    check("shutdown: a WebSocket client gets close 1001", code == 1001, code)
    try:
        ended = stream.next_event() is None  # raises on a truncated chunked body
    except Exception as e:  # noqa: BLE001
        ended = repr(e)
    stream.close()
    check("shutdown: an event stream ends cleanly (last chunk)", ended is True, ended)
    try:
        rc = srv.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - start
    check(f"shutdown: the server exits with status 0 ({took:.1f} s)", rc == 0 and took < 4,
          f"rc={rc} after {took:.1f} s")


def stop_here(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # runs the finally blocks: servers stop


def main():
    if len(sys.argv) != 2:
        print("usage: epoll_server_test.py PATH_TO_epoll_server", file=sys.stderr)
        return 2
    path = sys.argv[1]
    signal.signal(signal.SIGTERM, stop_here)  # meson's timeout
    signal.signal(signal.SIGALRM, stop_here)
    signal.alarm(150)  # a hang fails the test instead of blocking CI
    socket.setdefaulttimeout(10)
    try:
        srv = Server(path, ["--keepalive-ms", str(KEEPALIVE_MS),
                            "--pong-timeout-ms", str(PONG_TIMEOUT_MS),
                            "--send-timeout-ms", "30000", "--heartbeat-ms", "500",
                            "--history", str(HISTORY)])
    except Exception as e:  # noqa: BLE001 - report any start failure as a test failure
        check("starts and prints its port", False, repr(e))
        print(f"1..{len(results)}", flush=True)
        return 1
    try:
        check("starts and prints its port", 0 < srv.port < 65536)
        for test in (test_flood, test_sse, test_keepalive):
            try:
                test(srv)
            except Exception as e:  # noqa: BLE001
                check(f"{test.__name__} ran to the end", False, repr(e))
        check("still running after all that", srv.proc.poll() is None)
        test_shutdown(srv)
    finally:
        srv.stop()
        if not all(results):
            srv.dump_log()
    for test in (test_sse_slow, test_limit):
        try:
            test(path)
        except Exception as e:  # noqa: BLE001
            check(f"{test.__name__} ran to the end", False, repr(e))
    print(f"1..{len(results)}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
