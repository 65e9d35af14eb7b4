# SPDX-License-Identifier: MIT
# Raw RFC 6455 endpoints for rtwcat's hostile-peer tests: a server fixture that plays a
# scripted (and misbehaving) server against `rtwcat ws://`, a client that talks to
# `rtwcat serve` byte by byte, frame builders, a frame reader, RSS sampling and TAP output.
# Standard library only; everything binds 127.0.0.1 and every wait has a deadline.

import atexit
import base64
import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length=None):
    """One frame (RFC 6455 5.2). mask: 4 bytes to mask with (a client's frame) or None.
    length overrides the declared payload length (for frames announced but not sent)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask is None:
        return head + payload
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def close_payload(code=None, reason=b""):
    return b"" if code is None else struct.pack("!H", code) + reason


class Conn:
    """A connected socket with a frame reader (unmasks what a client sends)."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def fill(self, deadline):
        """Read more bytes; False at EOF, reset or the deadline."""
        left = deadline - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([self.s], [], [], left)
        if not r:
            return False
        try:
            d = self.s.recv(65536)
        except OSError:
            return False
        if not d:
            return False
        self.buf += d
        return True

    def read_frame(self, timeout=5.0):
        """(fin, rsv, opcode, payload) of the next frame, or None at EOF or timeout."""
        deadline = time.time() + timeout
        while True:
            f = self._parse()
            if f is not None:
                return f
            if not self.fill(deadline):
                return None

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin, rsv, op = b[0] >> 7, (b[0] >> 4) & 7, b[0] & 15
        masked, n, pos = b[1] >> 7, b[1] & 127, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, pos = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, pos = struct.unpack("!Q", b[2:10])[0], 10
        key = b""
        if masked:
            if len(b) < pos + 4:
                return None
            key, pos = b[pos:pos + 4], pos + 4
        if len(b) < pos + n:
            return None
        p = b[pos:pos + n]
        if masked:
            p = bytes(c ^ key[i % 4] for i, c in enumerate(p))
        self.buf = b[pos + n:]
        return fin, rsv, op, p

    def eof_within(self, timeout):
        """True when the peer closes (EOF or reset) within timeout; data is dropped."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.s], [], [], max(0.0, deadline - time.time()))
            if not r:
                return False
            try:
                if not self.s.recv(65536):
                    return True
            except OSError:
                return True
        return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def accept_value(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()


class Fixture:
    """A one-connection WebSocket server: accepts, answers the handshake with 101, then runs
    script(conn) in a thread; the script's result is kept in .result."""

    def __init__(self, script):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.port = self.ls.getsockname()[1]
        self.result = None
        self.error = None
        self.th = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.th.start()

    def _run(self, script):
        try:
            self.ls.settimeout(10)
            s, _ = self.ls.accept()
            s.settimeout(None)
            c = Conn(s)
            deadline = time.time() + 10
            while b"\r\n\r\n" not in c.buf:
                if not c.fill(deadline):
                    raise RuntimeError("no request head")
            head, c.buf = c.buf.split(b"\r\n\r\n", 1)
            key = b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            c.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                    % accept_value(key)).encode())
            try:
                self.result = script(c)
            finally:
                c.close()
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)
        finally:
            self.ls.close()

    def join(self, timeout=30):
        self.th.join(timeout)
        return self.result


def client_handshake(port, path="/"):
    """Open a WebSocket to 127.0.0.1:port as a raw client; returns the Conn after the 101."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(None)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    c = Conn(s)
    deadline = time.time() + 10
    while b"\r\n\r\n" not in c.buf:
        if not c.fill(deadline):
            raise RuntimeError("no 101")
    head, c.buf = c.buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0] or accept_value(key).encode() not in head:
        raise RuntimeError("bad handshake: %r" % head)
    return c


def rss_kib(pid):
    """VmRSS of a process in KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Tap:
    def __init__(self):
        self.results = []
        self.procs = []
        atexit.register(self.kill_all)

    def check(self, name, cond, diag=None):
        self.results.append((name, bool(cond), diag))

    def start(self, args, **kw):
        # An ASan build keeps freed memory in quarantine (256 MiB by default), which the
        # VmRSS checks would count as growth: keep it small (other builds ignore it).
        env = dict(kw.pop("env", None) or os.environ)
        env["ASAN_OPTIONS"] = ":".join(
            x for x in (env.get("ASAN_OPTIONS"), "quarantine_size_mb=1") if x)
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, **kw)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass

    def finish(self):
        print("1..%d" % len(self.results))
        for i, (name, ok, diag) in enumerate(self.results, 1):
            print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
            if not ok and diag is not None:
                for line in repr(diag)[:2000].splitlines():
                    print("# " + line)
        return 0 if all(ok for _, ok, _ in self.results) else 1


def drain(stream, sink=None):
    """Read a pipe to its end in a thread (so the writer never blocks); lines go to sink."""
    def run():
        for line in iter(stream.readline, b""):
            if sink is not None:
                sink.append(line)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return None
