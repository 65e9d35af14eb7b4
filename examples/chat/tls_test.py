#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""rtweb-chat over TLS (TAP): `tls_test.py path/to/rtweb-chat`.

Makes a throwaway CA and a localhost leaf with Debian's `openssl` CLI in a temporary
directory, starts `rtweb-chat --tls-cert --tls-key` on a free port and checks, with Python's
ssl module verifying against that CA: the options (both or neither, a bad file); the page
over https (with close_notify after the response); plain HTTP on the TLS port (dropped
unanswered); the feed over https; two chat sockets over wss with a same-origin https Origin;
a chat socket that sends 8000 messages of 1 KB without reading (it stalls: the server's
input gate holds its input, inside rtw_tls), then reads every copy in order; a connection that never completes
its handshake (dropped by the timeout); SIGTERM (close 1001 over wss). Needs Debian's
python3-websockets. Every process it starts is stopped before it exits.
"""
import asyncio
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time  # the stall is judged by select() timeouts, the counts are what is asserted

# the throwaway CA maker shared by the TLS tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "helpers"))
import throwaway_ca  # noqa: E402 (tests/helpers)

try:
    import websockets
except ImportError:
    print("1..0 # SKIP python3-websockets is not installed")
    sys.exit(0)

EXE = sys.argv[1] if len(sys.argv) > 1 else "build/examples/chat/rtweb-chat"
URL_LINE = re.compile(r"^rtweb-chat: open https://127\.0\.0\.1:(\d+)/ in a browser$")

results = []
procs = []


def check(ok, name, diag=None):
    results.append(bool(ok))
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and diag is not None:
        for line in str(diag).splitlines():
            print("# " + line)
    sys.stdout.flush()
    return ok


def make_certs(d):
    """A CA and a leaf for localhost and 127.0.0.1 signed by it (EC P-256, 2 days)."""
    throwaway_ca.make_ca_and_leaf(d)


def start(*args):
    """Start rtweb-chat; (process, port or None, first stdout line)."""
    p = subprocess.Popen([EXE, "--port", "0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    procs.append(p)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    m = URL_LINE.match(line.rstrip("\n"))
    return p, (int(m.group(1)) if m else None), line


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


def https_get(ctx, port, path):
    """GET over TLS with a blocking socket that does not forgive a missing close_notify:
    (status, headers, body, clean) where clean says the server sent close_notify."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % (path, port)).encode())
    data, clean = b"", False
    try:
        while True:
            got = s.recv(65536)
            if not got:
                clean = True  # close_notify (RFC 5246 7.2.1), not a bare TCP FIN
                break
            data += got
    except ssl.SSLEOFError:
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
    return status, headers, body, clean, s.version() if hasattr(s, "version") else None


async def read_feed(ctx, port, want, limit=5.0):
    """The SSE feed over https: event types until `want` of them arrived."""
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                         server_hostname="localhost")
    w.write(("GET /events HTTP/1.1\r\nHost: localhost:%d\r\nAccept: text/event-stream\r\n\r\n"
             % port).encode())
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    types, buf = [], b""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    try:
        while len(types) < want and loop.time() < end:
            buf += await asyncio.wait_for(r.read(4096), end - loop.time())
            types = re.findall(rb"^event: (\w+)$", buf, re.M)
    except asyncio.TimeoutError:
        pass
    w.close()
    return head.decode("latin-1"), [t.decode() for t in types], buf


async def chat_part(ctx, port):
    uri = "wss://localhost:%d/chat" % port
    origin = "https://localhost:%d" % port
    a = await websockets.connect(uri, ssl=ctx, origin=origin)
    b = await websockets.connect(uri, ssl=ctx, origin=origin)
    await a.send(json.dumps({"name": "alice", "text": "over wss"}))
    got = []
    for ws in (a, b):
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            got.append(repr(e))
    check(all(isinstance(m, dict) and m.get("text") == "over wss" for m in got) and
          got[0].get("mine") is True and "mine" not in got[1],
          "wss: both chat sockets get the message, the author's copy says mine", got)
    try:
        bad = await websockets.connect(uri, ssl=ctx, origin="https://evil.example")
        await bad.close()
        refused = None
    except Exception as e:  # noqa: BLE001
        refused = e
    check(refused is not None and "403" in str(refused),
          "wss: a foreign Origin is refused with 403", refused)

    await a.close()
    check(a.close_code == 1000, "wss: closing handshake 1000", a.close_code)
    await b.close()


def frame(payload):
    """A masked text frame (RFC 6455 5.2); the all-zero key leaves the payload as it is."""
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + n.to_bytes(2, "big"))
    return head + b"\0\0\0\0" + payload


def backpressure(ctx, port, n=8000):
    """n chat messages of 1 KB sent without reading over TLS, through a 4 KiB receive buffer,
    then every copy read back while the rest is sent. One non-blocking thread (an SSL socket
    is not shared between threads). Returns (stalled, copies read in order)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    if not head.startswith(b"HTTP/1.1 101"):
        return False, -1
    out = b"".join(frame(json.dumps({"name": "bp", "text": "%05d" % i + "w" * 1000}).encode())
                   for i in range(n))
    view, off, stalled, dropped = memoryview(out), 0, False, []
    s.setblocking(False)

    def send_some():
        nonlocal off
        try:
            while off < len(out):
                off += s.send(view[off:off + 2048])  # small records: many per read
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass
        except OSError as e:  # ssl.SSLError included: the server dropped us
            dropped.append(e)
            off = len(out)

    # not reading: the server's queue for us passes its high water mark and it stops
    # reading us (under TLS: the records stay in rtw_tls, the rest in the socket)
    while off < len(out):
        before = off
        send_some()
        if off == before and not select.select([], [s], [], 2.0)[1]:
            stalled = True
            break
    got, buf = 0, b""
    deadline = time.monotonic() + 60
    while got < n and time.monotonic() < deadline:
        send_some()
        select.select([s], [s] if off < len(out) else [], [], 1.0)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    deadline = 0
                    break
                buf += data
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            pass
        except OSError as e:
            dropped.append(e)
            deadline = 0
        while len(buf) >= 2:  # the server's frames: unmasked, text, no extension
            ln, hl = buf[1] & 0x7F, 2
            if ln == 126:
                if len(buf) < 4:
                    break
                ln, hl = int.from_bytes(buf[2:4], "big"), 4
            if len(buf) < hl + ln:
                break
            m = json.loads(buf[hl:hl + ln])
            buf = buf[hl + ln:]
            if m.get("text", "")[:5] != "%05d" % got:
                deadline = 0
                break
            got += 1
    s.close()
    if dropped:
        print("# dropped: %r" % dropped[0])
    return stalled, got


async def shutdown_part(p, b):
    """SIGTERM while a wss socket is open: it gets close 1001."""
    p.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(b.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(b.close_code == 1001, "SIGTERM: an open wss socket is closed 1001", b.close_code)


def main():
    if shutil.which("openssl") is None:
        print("1..0 # SKIP the openssl CLI is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="rtweb-chat-tls-")
    try:
        make_certs(tmp)
        cert, key = os.path.join(tmp, "leaf.pem"), os.path.join(tmp, "leaf.key")
        ctx = ssl.create_default_context(cafile=os.path.join(tmp, "ca.pem"))

        p = subprocess.run([EXE, "--port", "0", "--tls-cert", cert], capture_output=True,
                           timeout=10)
        check(p.returncode == 2 and b"go together" in p.stderr,
              "--tls-cert without --tls-key: usage error", p)
        p = subprocess.run([EXE, "--port", "0", "--tls-cert", key, "--tls-key", key],
                           capture_output=True, timeout=10)
        check(p.returncode == 1 and p.stderr.startswith(b"rtweb-chat: "),
              "a key given as the certificate: exit 1 with the reason", p)

        p, port, line = start("--tls-cert", cert, "--tls-key", key, "--msg-rate", "0",
                              "--byte-rate", "0")
        if not check(port is not None, "starts and prints its https URL", line):
            return 1
        status, headers, body, clean, _ = https_get(ctx, port, "/")
        check(status == 200 and headers.get("content-type", "").startswith("text/html") and
              b"location.protocol" in body, "GET / over https (CA-verified): the page", status)
        check(clean, "the response ends with close_notify, not a bare FIN")
        status, _, _, _, _ = https_get(ctx, port, "/nope")
        check(status == 404, "an unknown path over https is 404", status)

        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        raw.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            answer = raw.recv(4096)
        except OSError as e:
            answer = repr(e).encode()
        raw.close()
        check(answer == b"", "plain HTTP on the TLS port: closed without an answer", answer)

        asyncio.run(asyncio.wait_for(chat_part(ctx, port), 60))

        head, types, _ = asyncio.run(read_feed(ctx, port, want=5))
        check("text/event-stream" in head and
              types[:5] == ["join", "join", "message", "leave", "leave"],
              "the feed over https: text/event-stream with the chat's events", (head, types))

        stalled, got = backpressure(ctx, port)
        check(stalled, "wss: 8000 messages sent without reading: the sender stalls (the server "
              "stops reading it: its input paused under TLS)")
        check(got == 8000, "wss: then every copy arrives, in order", "%d of 8000" % got)


        # A client that opens TCP and sends half a TLS record header, then nothing: the
        # handshake timeout (10 s) drops it.
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        raw.sendall(b"\x16\x03\x01")
        t0 = time.monotonic()
        try:
            answer = raw.recv(4096)
        except OSError as e:
            answer = repr(e).encode()
        waited = time.monotonic() - t0
        raw.close()
        check(answer == b"" and waited < 19, "a stalled TLS handshake is dropped",
              (answer, waited))

        async def last():
            uri = "wss://localhost:%d/chat" % port
            ws = await websockets.connect(uri, ssl=ctx)
            await shutdown_part(p, ws)
        asyncio.run(asyncio.wait_for(last(), 20))
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "exits 0 after SIGTERM", rc)
        err = p.stderr.read().decode(errors="replace")
        check("not TLS" in err, "the plain HTTP attempt is logged with the TLS reason", err)
    finally:
        for q in procs:
            if q.poll() is None:
                q.kill()
                q.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
