#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Idle connections on one rtweb-chat node (issue 16, "each node holds its share").

Starts rtweb-chat itself (--port 0) and opens, from this one process on epoll:
  1. 10,000 WebSocket connections (GET /chat upgrade, 101 read, then idle): the time to
     accept them all and the node's RSS growth per connection (VmRSS after 10,000 minus
     VmRSS after a first 200 that warm the allocator, over 9,800);
  2. 2,000 feed streams (GET /events, head read, then idle) on a second node;
  3. 500 WebSocket and 500 feed connections over TLS on a third node (--tls-cert, a
     throwaway certificate from the openssl CLI).
Bounds are generous, never tight timings: plain WebSocket and SSE under 4096 bytes per idle
connection, TLS under 64 KiB, and every connection accepted. The figures are printed as TAP
comments (docs/scale-out.md, "Capacity", quotes them).

usage: idle_test.py RTWEB_CHAT
"""
import os
import resource
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time

WS_CONNS = int(os.environ.get("RTW_IDLE_WS", "10000"))
SSE_CONNS = int(os.environ.get("RTW_IDLE_SSE", "2000"))
TLS_CONNS = int(os.environ.get("RTW_IDLE_TLS", "500"))
WARM = 200
WINDOW = 100  # handshakes in flight at once (the node's listen backlog is 128)

results = []


def tap(ok, name):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    return ok


SANITIZED = False  # the node is built with AddressSanitizer: its RSS is ASan's, not the program's


def tap_rss(ok, name):
    """An RSS bound: skipped (not counted as passed) for a sanitized build."""
    if SANITIZED:
        results.append(True)
        print(f"ok {len(results)} - {name} # SKIP AddressSanitizer build: shadow memory and "
              "quarantine are not the program's", flush=True)
    else:
        tap(ok, name)


def comment(text):
    print(f"# {text}", flush=True)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    """The process's user + system CPU time (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Node:
    def __init__(self, exe, tmp, name, extra=()):
        self.name = name
        self.log = open(os.path.join(tmp, f"{name}.log"), "w+")
        self.proc = subprocess.Popen(
            [exe, "--port", "0", "--max-conns", "12000", "--max-conns-per-addr", "20000",
             "--max-http-per-addr", "20000", "--join-rate", "0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        ok = tap(self.proc.returncode == 0, f"the {self.name} node exits with status 0 on SIGTERM")
        if not ok:
            self.log.seek(0)
            for line in self.log.read().splitlines()[-20:]:
                comment(line)
        self.log.close()


def ws_request(port):
    return (f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


def sse_request(port):
    return (f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n").encode()


def open_many(port, count, request, expect, ctx=None, keep=None):
    """Open `count` connections, WINDOW at a time, each sending `request` and reading until
    `expect` is in the response; they stay open in `keep`. Returns (opened, seconds)."""
    ep = select.epoll()
    pending = {}  # fd -> [sock, state, buffer]; state 0 connecting, 1 handshaking TLS, 2 reading
    started = done = 0
    t0 = time.monotonic()
    deadline = t0 + 60
    while done < count and time.monotonic() < deadline:
        while started < count and len(pending) < WINDOW:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            if ctx is not None:
                s = ctx.wrap_socket(s, do_handshake_on_connect=False)
            pending[s.fileno()] = [s, 0, b""]
            ep.register(s.fileno(), select.EPOLLOUT)
            started += 1
        for fd, ev in ep.poll(1.0):
            entry = pending.get(fd)
            if entry is None:
                continue
            s = entry[0]
            if ev & (select.EPOLLERR | select.EPOLLHUP) and entry[1] == 0:
                raise RuntimeError("connect failed")
            try:
                if entry[1] == 0:
                    entry[1] = 1 if ctx is not None else 2
                    if entry[1] == 2:
                        s.sendall(request)
                        ep.modify(fd, select.EPOLLIN)
                        continue
                if entry[1] == 1:
                    try:
                        s.do_handshake()
                    except ssl.SSLWantReadError:
                        ep.modify(fd, select.EPOLLIN)
                        continue
                    except ssl.SSLWantWriteError:
                        ep.modify(fd, select.EPOLLOUT)
                        continue
                    entry[1] = 2
                    s.sendall(request)
                    ep.modify(fd, select.EPOLLIN)
                    continue
                data = s.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            if not data:
                raise RuntimeError("closed by the node")
            entry[2] += data
            if expect in entry[2]:
                ep.unregister(fd)
                del pending[fd]
                keep.append(s)
                done += 1
    ep.close()
    return done, time.monotonic() - t0


def measure(node, count, request, expect, ctx=None):
    keep = []
    warm, _ = open_many(node.port, WARM, request, expect, ctx, keep)
    time.sleep(0.3)
    before = rss_bytes(node.proc.pid)
    cpu = cpu_seconds(node.proc.pid)
    n, secs = open_many(node.port, count - WARM, request, expect, ctx, keep)
    time.sleep(0.5)  # let the node settle (its writes are done once the client read them)
    after = rss_bytes(node.proc.pid)
    cpu = cpu_seconds(node.proc.pid) - cpu
    per = (after - before) / max(n, 1)
    comment(f"node CPU for those {n}: {cpu:.2f} s")
    return warm + n, secs, per, keep


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def main():
    global SANITIZED
    exe = sys.argv[1]
    with open(exe, "rb") as f:
        SANITIZED = b"__asan_init" in f.read()
    hard = raise_fd_limit()
    if hard < WS_CONNS + 500:
        print(f"1..0 # SKIP the descriptor hard limit ({hard}) is below {WS_CONNS + 500}")
        return 0
    print("1..13", flush=True)
    with tempfile.TemporaryDirectory(prefix="rtweb-idle-") as tmp:
        # 1. WebSocket, plain
        node = Node(exe, tmp, "ws")
        try:
            n, secs, per, keep = measure(node, WS_CONNS, ws_request(node.port), b"\r\n\r\n")
            comment(f"WebSocket: {n} connections accepted and upgraded in {secs:.2f} s "
                    f"(after {WARM} warm-up ones); RSS growth {per:.0f} bytes per idle "
                    f"connection")
            tap(n == WS_CONNS, f"{WS_CONNS} idle WebSocket connections accepted")
            tap_rss(per < 4096, f"idle WebSocket connection under 4096 bytes of RSS ({per:.0f})")
            tap(node.proc.poll() is None, "the node still runs")
            close_all(keep)
        finally:
            node.stop()
        # 2. SSE, plain
        node = Node(exe, tmp, "sse")
        try:
            n, secs, per, keep = measure(node, SSE_CONNS, sse_request(node.port), b"retry:")
            comment(f"SSE: {n} feed streams in {secs:.2f} s; RSS growth {per:.0f} bytes per "
                    f"idle stream")
            tap(n == SSE_CONNS, f"{SSE_CONNS} idle feed streams accepted")
            tap_rss(per < 4096, f"idle feed stream under 4096 bytes of RSS ({per:.0f})")
            close_all(keep)
        finally:
            node.stop()
        # 3. TLS: WebSocket and SSE
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        for what, req, expect in (("WebSocket", ws_request, b"\r\n\r\n"),
                                  ("SSE", sse_request, b"retry:")):
            node = Node(exe, tmp, "tls-" + what, ("--tls-cert", cert, "--tls-key", key))
            try:
                n, secs, per, keep = measure(node, TLS_CONNS, req(node.port), expect, ctx)
                comment(f"TLS {what}: {n} connections in {secs:.2f} s; RSS growth {per:.0f} "
                        f"bytes per idle connection")
                tap(n == TLS_CONNS, f"{TLS_CONNS} idle {what} connections over TLS")
                tap_rss(per < 65536, f"idle {what} over TLS under 64 KiB ({per:.0f})")
                close_all(keep)
            finally:
                node.stop()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
