#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Smoke test of the examples (TAP): start each server on a free port, talk to it, stop it.

  smoke_test.py --ws_echo_server PATH --ws_client PATH --sse_server PATH [--libuv_echo PATH]

WebSocket servers (ws_echo_server, libuv_echo): ws_client's echoes and exit status; text,
binary, a 1 MiB message (partial writes), a ping and the closing handshake through Debian's
python3-websockets; a plain GET answered 426. SSE server: two events with increasing ids, a
reconnect with Last-Event-ID resumed from the history, an unknown id reported as a gap, 404.
Every process started here is stopped here (terminate, then kill).
"""
import argparse
import asyncio
import base64
import hashlib
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import time

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}", flush=True)


def skip(name, why):
    results.append(True)
    print(f"ok {len(results)} - {name} # SKIP {why}", flush=True)


class Server:
    """A server example started on port 0; reads the port from its first stdout line."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path, "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"{path}: unexpected first line {line!r}")
        self.port = int(line[len(prefix):])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def plain_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    return conn, conn.getresponse()


def ws_frame(opcode, payload, fin):
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


def recv_exact(sock, n, buf):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf[:n], buf[n:]


def read_frame(sock, buf):
    """One server frame: (fin, opcode, payload, rest of buf)."""
    head, buf = recv_exact(sock, 2, buf)
    n = head[1] & 0x7F
    if n == 126:
        ext, buf = recv_exact(sock, 2, buf)
        n = struct.unpack("!H", ext)[0]
    elif n == 127:
        ext, buf = recv_exact(sock, 8, buf)
        n = struct.unpack("!Q", ext)[0]
    payload, buf = recv_exact(sock, n, buf)
    return head[0] >> 7, head[0] & 0x0F, payload, buf


def raw_ws_echo(port, opcode, payload):
    """A raw-socket client with a small receive buffer, so the server's writes come out
    partial: sends one message in two fragments, reads its echo late, closes with 1000.
    Returns (echo opcode, echo payload, close code received)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /raw HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
        raise RuntimeError(f"bad handshake response {head!r}")
    half = len(payload) // 2
    sock.sendall(ws_frame(opcode, payload[:half], False) + ws_frame(0, payload[half:], True))
    time.sleep(0.3)  # let the echo pile up against our small receive buffer
    echo_op, echo = None, b""
    while True:
        fin, op, data, buf = read_frame(sock, buf)
        if op in (1, 2, 0):
            echo_op = op if op else echo_op
            echo += data
            if fin:
                break
    sock.sendall(ws_frame(8, struct.pack("!H", 1000) + b"bye", True))
    while op != 8:
        fin, op, data, buf = read_frame(sock, buf)
    sock.close()
    return echo_op, echo, struct.unpack("!H", data[:2])[0]


async def ws_session(port):
    import websockets  # Debian python3-websockets
    big = os.urandom(1 << 20)
    async with websockets.connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        await ws.send("héllo")
        text = await ws.recv()
        await ws.send(b"\x00\x01\xff")
        binary = await ws.recv()
        await ws.send(big)
        large = await ws.recv()
        pong = await asyncio.wait_for(await ws.ping(b"p"), 5)
        await ws.close(1000, "done")
        return text, binary, large == big, pong, ws.close_code


def test_ws_server(name, server_path, client_path):
    try:
        srv = Server(server_path)
    except Exception as e:  # noqa: BLE001 - report any start failure as a test failure
        check(f"{name}: starts and prints its port", False, e)
        return
    try:
        check(f"{name}: starts and prints its port", 0 < srv.port < 65536)
        url = f"ws://127.0.0.1:{srv.port}/echo"
        msgs = ["hello", "wörld", "third message"]
        r = subprocess.run([client_path, url] + msgs, capture_output=True, text=True, timeout=10)
        check(f"{name}: ws_client gets every message echoed and closes with 1000",
              r.returncode == 0 and r.stdout.splitlines() == msgs,
              f"rc={r.returncode} stdout={r.stdout!r} stderr={r.stderr!r}")
        r = subprocess.run([client_path, url], capture_output=True, text=True, timeout=10)
        check(f"{name}: ws_client without messages just closes", r.returncode == 0,
              f"rc={r.returncode} stderr={r.stderr!r}")
        try:
            import websockets  # noqa: F401
            have_ws = True
        except ImportError:
            have_ws = False
        if have_ws:
            try:
                text, binary, large_ok, _, code = asyncio.run(
                    asyncio.wait_for(ws_session(srv.port), 20))
                check(f"{name}: text echoed as text", text == "héllo", repr(text))
                check(f"{name}: binary echoed as binary", binary == b"\x00\x01\xff", repr(binary))
                check(f"{name}: 1 MiB message echoed intact", large_ok)
                check(f"{name}: ping answered, close completed with 1000", code == 1000, code)
            except Exception as e:  # noqa: BLE001
                check(f"{name}: python3-websockets session", False, repr(e))
        else:
            skip(f"{name}: python3-websockets session", "python3-websockets not installed")
        try:
            big = os.urandom(8 << 20)  # more than the socket buffers hold
            op, echo, code = raw_ws_echo(srv.port, 2, big)
            check(f"{name}: 8 MiB fragmented binary echoed to a slow reader (partial writes)",
                  op == 2 and echo == big and code == 1000, f"opcode {op} code {code}")
        except Exception as e:  # noqa: BLE001
            check(f"{name}: 8 MiB fragmented binary echoed to a slow reader (partial writes)",
                  False, repr(e))
        conn, resp = plain_get(srv.port, "/")
        check(f"{name}: a plain GET is answered 426", resp.status == 426, resp.status)
        conn.close()
        conn, resp = plain_get(srv.port, "/", {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "12",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        check(f"{name}: an upgrade with version 12 is refused (426, version 13)",
              resp.status == 426 and resp.getheader("Sec-WebSocket-Version") == "13",
              resp.status)
        conn.close()
        check(f"{name}: still running after all that", srv.proc.poll() is None)
    finally:
        srv.stop()


def read_events(resp, count):
    """Read `count` events from an open event stream: a list of (id, data)."""
    events, ev_id, data = [], None, None
    while len(events) < count:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("id: "):
            ev_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data is not None:
            events.append((ev_id, data))
            data = None
        elif line.startswith(":"):
            events.append(("comment", line))
    return events


def test_sse_server(server_path, client_path):
    try:
        srv = Server(server_path)
    except Exception as e:  # noqa: BLE001
        check("sse_server: starts and prints its port", False, e)
        return
    try:
        check("sse_server: starts and prints its port", 0 < srv.port < 65536)
        conn, resp = plain_get(srv.port, "/events", {"Accept": "text/event-stream"})
        ctype = resp.getheader("Content-Type")
        check("sse_server: 200 text/event-stream, chunked",
              resp.status == 200 and ctype == "text/event-stream" and resp.chunked,
              f"{resp.status} {ctype} chunked={resp.chunked}")
        events = read_events(resp, 2)
        conn.close()
        ids = [int(i) for i, _ in events if i and i.isdigit()]
        check("sse_server: two events, ids increasing, data 'tick N'",
              len(ids) == 2 and ids[1] == ids[0] + 1 and
              all(d == f"tick {i}" for (_, d), i in zip(events, ids)), events)
        if len(ids) == 2:
            # The second id was sent already, so a live-only stream would start after it:
            # getting it back at once proves the replay from the history.
            conn, resp = plain_get(srv.port, "/events", {"Last-Event-ID": str(ids[0])})
            again = read_events(resp, 1)
            conn.close()
            check("sse_server: Last-Event-ID resumes right after that event",
                  bool(again) and again[0][0] == str(ids[1]), again)
        else:
            check("sse_server: Last-Event-ID resumes right after that event", False,
                  "no ids to resume from")
        conn, resp = plain_get(srv.port, "/events", {"Last-Event-ID": "no-such-id"})
        gap = read_events(resp, 1)
        conn.close()
        check("sse_server: an unknown Last-Event-ID is reported as a gap",
              gap == [("comment", ": gap")], gap)
        conn, resp = plain_get(srv.port, "/elsewhere")
        check("sse_server: other paths get 404", resp.status == 404, resp.status)
        conn.close()
        r = subprocess.run([client_path, f"ws://127.0.0.1:{srv.port}/events", "x"],
                           capture_output=True, text=True, timeout=10)
        check("ws_client: a refused handshake exits 1", r.returncode == 1,
              f"rc={r.returncode} stderr={r.stderr!r}")
        check("sse_server: still running after all that", srv.proc.poll() is None)
    finally:
        srv.stop()


def stop_here(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # runs the finally blocks: servers stop


def main():
    ap = argparse.ArgumentParser()
    for name in ("ws_echo_server", "ws_client", "sse_server", "libuv_echo"):
        ap.add_argument("--" + name)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, stop_here)  # meson's timeout
    signal.signal(signal.SIGALRM, stop_here)
    signal.alarm(100)  # a hang fails the test instead of blocking CI
    socket.setdefaulttimeout(10)
    test_ws_server("ws_echo_server", args.ws_echo_server, args.ws_client)
    if args.libuv_echo:
        test_ws_server("libuv_echo", args.libuv_echo, args.ws_client)
    else:
        skip("libuv_echo", "not built (libuv not found; Debian: libuv1-dev)")
    test_sse_server(args.sse_server, args.ws_client)
    print(f"1..{len(results)}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
