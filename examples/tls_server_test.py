#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Smoke test of examples/tls_server (TAP): WebSocket and SSE over rtw_tls, real peers.

  tls_server_test.py PATH_TO_tls_server

A throwaway CA and a leaf for localhost / 127.0.0.1 are made here with the openssl CLI, in
a temporary directory deleted at the end. Then, against one server:

1. Options: no certificate is a usage error; a key that is not PEM fails at startup.
2. Python's ssl module, verifying against the CA: TLS 1.2 or later, ALPN http/1.1; a
   WebSocket handshake written by hand, text, 200 KiB binary (many records) and ping echoed,
   the closing handshake, then the server's close_notify (no truncation).
3. The same with the client's ciphertext sent one byte per TCP segment (a memory BIO).
4. Session resumption: a second connection with the first one's session is resumed.
5. SSE with curl --cacert: events published on stdin, replayed after Last-Event-ID, then a
   live one; a 404 for another path (curl against the IP address, its subjectAltName).
6. Bad input: plain HTTP on the TLS port gets no byte of HTTP and is closed; a garbage
   record is closed (with at most an alert); a client that stalls during the handshake is
   dropped by the handshake timeout; the server still serves after all of them.
7. SIGTERM: the open WebSocket gets close 1001 then close_notify, curl's stream ends cleanly
   (exit 0), the server exits 0.

Only 127.0.0.1; every wait is bounded; the server started here is stopped here.
"""
import base64
import hashlib
import os
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

# the throwaway CA maker shared by the TLS tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "helpers"))
import throwaway_ca  # noqa: E402 (tests/helpers)

HANDSHAKE_TIMEOUT_MS = 3000  # long enough for a real handshake on a loaded machine
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}", flush=True)


def make_certs(d):
    """A CA and a leaf it signs, for DNS:localhost and IP:127.0.0.1 (EC P-256, 2 days)."""
    return throwaway_ca.make_ca_and_leaf(d)


# ------------------------------------------------------------------ WebSocket by hand

def ws_request(key):
    return (f"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


def accept_value(key):
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1(key.encode() + guid).digest()).decode()


def frame(opcode, payload):
    """A masked client frame (RFC 6455 5.2, 5.3)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Reader:
    """Reads from a stream (an SSL socket, or anything with recv) with a deadline."""

    def __init__(self, recv):
        self.recv, self.buf = recv, b""

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.recv(65536)
            if not chunk:
                raise EOFError("closed before the head ended")
            self.buf += chunk
        i = self.buf.index(b"\r\n\r\n") + 4
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("latin-1")

    def frame(self):
        b0, b1 = self.need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.need(8))[0]
        return b0 & 0x80, b0 & 0x0F, self.need(n)

    def message(self):
        """A whole message: fragments (RFC 6455 5.4) joined; control frames come alone."""
        fin, op, data = self.frame()
        while not fin:
            fin, _, more = self.frame()  # the server sends no control frame in between here
            data += more
        return op, data


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tls_connect(port, ctx, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    # suppress_ragged_eofs=False: an end without close_notify raises instead of reading b"".
    return ctx.wrap_socket(raw, server_hostname="localhost", session=session,
                           suppress_ragged_eofs=False)


def ws_open(sendall, reader):
    key = base64.b64encode(os.urandom(16)).decode()
    sendall(ws_request(key))
    head = reader.head()
    return head.startswith("HTTP/1.1 101") and accept_value(key) in head, head


def ws_echo_checks(label, sendall, reader):
    ok, head = ws_open(sendall, reader)
    check(f"{label}: 101 with the right Sec-WebSocket-Accept", ok, head)
    sendall(frame(1, "héllo wss".encode()))
    check(f"{label}: text echoed", reader.message() == (1, "héllo wss".encode()))
    big = os.urandom(200 * 1024)
    sendall(frame(2, big))
    op, got = reader.message()
    check(f"{label}: 200 KiB binary echoed intact (many TLS records)", (op, got) == (2, big),
          f"opcode {op}, {len(got)} bytes")
    sendall(frame(9, b"p1"))
    check(f"{label}: ping answered with its pong", reader.message() == (10, b"p1"))
    sendall(frame(8, struct.pack("!H", 1000) + b"bye"))
    op, got = reader.message()
    check(f"{label}: close 1000 answered", op == 8 and got[:2] == struct.pack("!H", 1000),
          f"{op} {got[:40]!r}")


def expect_close_notify(s):
    try:
        data = s.recv(100)
        return data == b"", repr(data[:40])
    except ssl.SSLEOFError as e:  # the transport ended without close_notify
        return False, str(e)
    except OSError as e:
        return False, repr(e)


def test_python_ssl(port, certs):
    ctx = tls_context(certs["ca"])
    s = tls_connect(port, ctx)
    check("python ssl: the certificate verifies for localhost against the CA", True)
    check("python ssl: TLS 1.2 or later", s.version() in ("TLSv1.2", "TLSv1.3"), s.version())
    check("python ssl: ALPN chose http/1.1", s.selected_alpn_protocol() == "http/1.1",
          s.selected_alpn_protocol())
    ws_echo_checks("python ssl", s.sendall, Reader(s.recv))
    ok, detail = expect_close_notify(s)
    check("python ssl: the server ends with close_notify, not a truncation", ok, detail)
    s.close()


def test_byte_by_byte(port, certs):
    """The client's ciphertext one byte per send (TCP_NODELAY), through a memory BIO."""
    ctx = tls_context(certs["ca"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    sent = [0]

    def push():
        data = out.read()
        for i in range(len(data)):
            raw.sendall(data[i:i + 1])
        sent[0] += len(data)

    def pull():
        data = raw.recv(65536)
        if data:
            inc.write(data)
        else:
            inc.write_eof()
        return data

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            push()
            if not pull():
                raise EOFError("closed during the handshake")
    push()
    check("byte by byte: the handshake completes", obj.version() is not None, obj.version())

    def sendall(data):
        obj.write(data)
        push()

    def recv(n):
        while True:
            try:
                return obj.read(n)
            except ssl.SSLWantReadError:
                if not pull():
                    return b""

    reader = Reader(recv)
    ok, head = ws_open(sendall, reader)
    check("byte by byte: 101", ok, head)
    sendall(frame(1, b"one byte at a time"))
    check("byte by byte: text echoed", reader.message() == (1, b"one byte at a time"))
    check(f"byte by byte: {sent[0]} bytes of ciphertext sent in 1-byte segments",
          sent[0] > 100, sent[0])
    raw.close()


def test_resumption(port, certs):
    ctx = tls_context(certs["ca"])
    s1 = tls_connect(port, ctx)
    ws_open(s1.sendall, Reader(s1.recv))  # some traffic: TLS 1.3 tickets arrive after
    session = s1.session
    s1.close()
    s2 = tls_connect(port, ctx, session=session)
    check("resumption: a second connection resumes the first one's session (ticket)",
          s2.session_reused, f"session {session!r}")
    ok, head = ws_open(s2.sendall, Reader(s2.recv))
    check("resumption: the resumed connection serves the upgrade", ok, head)
    s2.close()


# ------------------------------------------------------------------ SSE with curl

class LineReader:
    def __init__(self, proc):
        self.proc, self.buf = proc, b""
        os.set_blocking(proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)

    def until(self, text, timeout=10):
        end = time.monotonic() + timeout
        while text.encode() not in self.buf and time.monotonic() < end:
            if self.sel.select(timeout=max(0.0, end - time.monotonic())):
                chunk = self.proc.stdout.read()
                if not chunk:
                    break
                self.buf += chunk
        return text.encode() in self.buf


def curl_cmd(port, certs, path, *extra, host="localhost"):
    return ["curl", "-sS", "-N", "--cacert", certs["ca"], "--resolve",
            f"localhost:{port}:127.0.0.1", *extra, f"https://{host}:{port}{path}"]


def start_sse(port, certs):
    proc = subprocess.Popen(curl_cmd(port, certs, "/events", "-H", "Last-Event-ID: 1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, LineReader(proc)


# ------------------------------------------------------------------ bad input

def raw_exchange(port, data, wait=10):
    """Send data, then read until the server closes; returns (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    got = b""
    try:
        if data:
            s.sendall(data)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        return got, False
    except ConnectionResetError:
        return got, True
    finally:
        s.close()


def test_bad_input(port, certs):
    got, closed = raw_exchange(port, b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
    check("plain HTTP on the TLS port: closed, nothing answered", closed and got == b"",
          f"closed={closed} got={got[:60]!r}")
    # A handshake record header announcing 64 bytes of junk.
    got, closed = raw_exchange(port, b"\x16\x03\x01\x00\x40" + b"\xee" * 64)
    check("a garbage handshake record: closed, at most a TLS alert (content type 21)",
          closed and (got == b"" or got[0] == 21), f"closed={closed} got={got[:16]!r}")
    t0 = time.monotonic()
    got, closed = raw_exchange(port, b"", wait=HANDSHAKE_TIMEOUT_MS / 1000 + 8)
    check("silent client: dropped by the handshake timeout", closed and got == b"",
          f"closed={closed} after {time.monotonic() - t0:.1f} s")
    got, closed = raw_exchange(port, b"\x16\x03\x01", wait=HANDSHAKE_TIMEOUT_MS / 1000 + 8)
    check("client stalled inside its ClientHello: dropped by the handshake timeout",
          closed and got == b"", f"closed={closed}")
    s = tls_connect(port, tls_context(certs["ca"]))
    ok, head = ws_open(s.sendall, Reader(s.recv))
    check("the server still serves after the bad input", ok, head)
    s.close()


# ------------------------------------------------------------------ main

def main():
    if len(sys.argv) != 2:
        print("usage: tls_server_test.py PATH_TO_tls_server", file=sys.stderr)
        return 2
    exe = sys.argv[1]
    missing = [p for p in ("openssl", "curl") if shutil.which(p) is None]
    if missing:
        print(f"1..0 # SKIP {', '.join(missing)} not installed", flush=True)
        return 0
    tmp = tempfile.mkdtemp(prefix="rtweb-tls-example-")
    server = None
    try:
        certs = make_certs(tmp)
        r = subprocess.run([exe, "--key", certs["key"]], capture_output=True, timeout=10)
        check("no --cert: usage error (exit 2)", r.returncode == 2, r.returncode)
        r = subprocess.run([exe, "--cert", certs["leaf"], "--key", certs["ca"] + ".missing"],
                           capture_output=True, text=True, timeout=10)
        check("an unreadable key: exit 1 with mbedTLS's reason", r.returncode == 1
              and r.stderr.strip() != "", f"{r.returncode} {r.stderr}")

        server = subprocess.Popen([exe, "--cert", certs["leaf"], "--key", certs["key"],
                                   "--handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        line = server.stdout.readline().decode()
        check("the server listens", line.startswith("listening on 127.0.0.1:"), line)
        port = int(line.rsplit(":", 1)[1])

        test_python_ssl(port, certs)
        test_byte_by_byte(port, certs)
        test_resumption(port, certs)

        server.stdin.write(b"one\ntwo\n")
        server.stdin.flush()
        curl, lines = start_sse(port, certs)
        check("curl --cacert: Last-Event-ID 1 replays event 2",
              lines.until("id: 2\ndata: two\n\n"), lines.buf)
        check("curl: event 1 is not replayed", b"data: one" not in lines.buf, lines.buf)
        server.stdin.write(b"three\n")
        server.stdin.flush()
        check("curl: a live event arrives", lines.until("id: 3\ndata: three\n\n"), lines.buf)
        r = subprocess.run(curl_cmd(port, certs, "/nope", "-o", "/dev/null", "-w",
                                    "%{http_code}", host="127.0.0.1"),
                           capture_output=True, text=True, timeout=20)
        check("curl against 127.0.0.1 (IP subjectAltName): 404 for another path",
              r.returncode == 0 and r.stdout == "404", f"{r.returncode} {r.stdout} {r.stderr}")

        test_bad_input(port, certs)

        ws = tls_connect(port, tls_context(certs["ca"]))
        reader = Reader(ws.recv)
        ws_open(ws.sendall, reader)
        server.send_signal(signal.SIGTERM)
        op, got = reader.message()
        check("SIGTERM: the WebSocket gets close 1001",
              op == 8 and got[:2] == struct.pack("!H", 1001), f"{op} {got[:40]!r}")
        ws.sendall(frame(8, struct.pack("!H", 1001)))
        ok, detail = expect_close_notify(ws)
        check("SIGTERM: then close_notify", ok, detail)
        ws.close()
        try:
            rc = curl.wait(timeout=10)
        except subprocess.TimeoutExpired:
            curl.kill()
            rc = curl.wait()
        check("SIGTERM: curl's event stream ends cleanly (exit 0)", rc == 0,
              f"exit {rc}: {curl.stderr.read().decode()}")
        try:
            rc = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check("SIGTERM: the server exits 0", rc == 0, rc)
    except Exception as e:  # a step that throws is a failure, with its reason
        check(f"no exception ({type(e).__name__})", False, repr(e))
    finally:
        if server is not None:
            if server.poll() is None:
                server.kill()
            server.wait()
            log = server.stderr.read().decode(errors="replace")
            for line in log.splitlines()[:40]:
                print(f"# server: {line}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{len(results)}", flush=True)
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
