#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Load on an rtweb cluster (bench/run_cluster.sh starts one): SSE subscribers and chatting
WebSocket clients through one URL (nginx in front of the nodes), all from this process on
one epoll loop.

Every chat line carries its send time (CLOCK_MONOTONIC, ns) and a number; each subscriber
and each chat socket records when it sees each line. Printed: the delivery latency
percentiles (p50/p90/p99/max) for the feed (SSE) and the chat (WebSocket), and the lines
lost: a subscriber or a socket that opened before the first line must see every line,
exactly once (after sending, it waits until every line reached every client, or 30 s).

Connections come from several loopback source addresses (127.0.1.1 ...), so that nginx's
per-client limit (limit_conn, 64) is not what is measured.

usage: cluster_load.py URL [--sse 1000] [--ws 100] [--rate 20] [--seconds 20]
"""
import argparse
import base64
import os
import re
import select
import socket
import struct
import sys
import time
from urllib.parse import urlparse

LINE = re.compile(rb'"text":"L(\d+) (\d+)"')


def now_ns():
    return time.monotonic_ns()


class Conn:
    def __init__(self, kind, idx, host, port, src):
        self.kind, self.idx = kind, idx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((src, 0))
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.connect_ex((host, port))
        self.buf = b""
        self.head_done = False
        self.seen = {}  # line number -> latency ns
        self.dupes = 0
        self.out = b""


def ws_frame(text):
    """A masked client text frame (RFC 6455 5.2)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def ws_messages(c):
    """Whole frames from c.buf (server frames are not masked); returns text payloads."""
    out = []
    b = c.buf
    pos = 0
    while len(b) - pos >= 2:
        op = b[pos] & 0x0F
        n = b[pos + 1] & 0x7F
        h = 2
        if n == 126:
            if len(b) - pos < 4:
                break
            n = struct.unpack_from("!H", b, pos + 2)[0]
            h = 4
        elif n == 127:
            if len(b) - pos < 10:
                break
            n = struct.unpack_from("!Q", b, pos + 2)[0]
            h = 10
        if len(b) - pos < h + n:
            break
        payload = b[pos + h:pos + h + n]
        pos += h + n
        if op == 1:
            out.append(payload)
        elif op == 9:  # ping: pong with the same payload
            c.out += bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload  # mask 0
    c.buf = b[pos:]
    return out


delivered = [0]


def record(c, data, t):
    for m in LINE.finditer(data):
        k = int(m.group(1))
        if k in c.seen:
            c.dupes += 1
        else:
            c.seen[k] = t - int(m.group(2))
            delivered[0] += 1


def pct(values, p):
    if not values:
        return float("nan")
    i = min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))
    return values[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--sse", type=int, default=1000)
    ap.add_argument("--ws", type=int, default=100)
    ap.add_argument("--rate", type=float, default=20.0, help="chat lines per second, in all")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds between connecting and sending")
    a = ap.parse_args()
    u = urlparse(a.url)
    host, port = u.hostname, u.port or 80
    hostport = f"{host}:{port}"
    ep = select.epoll()
    conns = {}
    key = base64.b64encode(os.urandom(16)).decode()
    origin = f"http://{hostport}"
    for i in range(a.sse + a.ws):
        kind = "sse" if i < a.sse else "ws"
        c = Conn(kind, i, host, port, f"127.0.1.{1 + i % 50}")
        if kind == "sse":  # HTTP/1.0: the body comes unchunked, until the end
            c.out = (f"GET /events HTTP/1.0\r\nHost: {hostport}\r\n"
                     "Accept: text/event-stream\r\n\r\n").encode()
        else:
            c.out = (f"GET /chat HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     f"Origin: {origin}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        conns[c.sock.fileno()] = c
        ep.register(c.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
    ws = [c for c in conns.values() if c.kind == "ws"]
    open_count = 0
    t_start = time.monotonic()
    sent = {}  # line -> send time
    next_line = 0
    phase = "connect"
    phase_end = t_start + 30
    failures = 0
    cpu0 = time.process_time()
    while True:
        t = time.monotonic()
        if phase == "connect" and open_count == len(conns):
            phase, phase_end = "warm", t + a.warmup
            connect_secs = t - t_start
        elif phase == "connect" and t > phase_end:
            print(f"only {open_count} of {len(conns)} connections opened", file=sys.stderr)
            return 1
        elif phase == "warm" and t > phase_end:
            phase, send_start = "send", t
            phase_end = t + a.seconds
        elif phase == "send" and t > phase_end:
            phase, phase_end = "drain", t + 30.0
        elif phase == "drain" and (t > phase_end or delivered[0] >= len(sent) * len(conns)):
            break  # every line everywhere, or 30 s: what is missing then is lost
        if phase == "send":
            due = int((t - send_start) * a.rate)
            while next_line < due:
                c = ws[next_line % len(ws)]
                ts = now_ns()
                c.out += ws_frame(f'{{"name":"b{c.idx}","text":"L{next_line} {ts}"}}')
                sent[next_line] = ts
                next_line += 1
                try:
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                except BlockingIOError:
                    pass
        for fd, ev in ep.poll(0.01):
            c = conns[fd]
            if ev & select.EPOLLOUT and c.out:
                try:
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    failures += 1
            if not c.out and ev & select.EPOLLOUT:
                ep.modify(fd, select.EPOLLIN)
            if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                try:
                    data = c.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                tr = now_ns()
                if not data:
                    ep.unregister(fd)
                    failures += 1
                    continue
                if not c.head_done:
                    c.buf += data
                    end = c.buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    status = c.buf[:c.buf.find(b"\r\n")]
                    if (c.kind == "sse" and b" 200 " not in status) or \
                            (c.kind == "ws" and b" 101 " not in status):
                        print(f"{c.kind} {c.idx}: {status!r}", file=sys.stderr)
                        failures += 1
                        ep.unregister(fd)
                        continue
                    c.head_done = True
                    open_count += 1
                    data = c.buf[end + 4:]
                    c.buf = b""
                if c.kind == "sse":
                    tail = c.buf + data
                    cut = tail.rfind(b"\n")
                    record(c, tail[:cut + 1], tr)
                    c.buf = tail[cut + 1:]
                else:
                    c.buf += data
                    for msg in ws_messages(c):
                        record(c, msg, tr)
                    if c.out:
                        ep.modify(fd, select.EPOLLIN | select.EPOLLOUT)
    cpu = time.process_time() - cpu0
    load = os.getloadavg()[0]
    lines = len(sent)
    report = {}
    for kind in ("sse", "ws"):
        group = [c for c in conns.values() if c.kind == kind]
        lat = sorted(v for c in group for k, v in c.seen.items() if k in sent)
        lost = sum(lines - len([k for k in c.seen if k in sent]) for c in group)
        dupes = sum(c.dupes for c in group)
        report[kind] = (len(group), lat, lost, dupes)
    print(f"cluster_load: {a.url}, {a.sse} SSE subscribers, {a.ws} chat sockets, "
          f"{lines} chat lines at {a.rate:g}/s for {a.seconds:g} s; all connected in "
          f"{connect_secs:.2f} s; client CPU {cpu:.1f} s; connection failures {failures}; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    for kind, (n, lat, lost, dupes) in report.items():
        ms = lambda v: v / 1e6
        print(f"  {kind:3}: {len(lat)} deliveries to {n} clients: latency ms p50 "
              f"{ms(pct(lat, 50)):.1f} p90 {ms(pct(lat, 90)):.1f} p99 {ms(pct(lat, 99)):.1f} "
              f"max {ms(lat[-1]) if lat else float('nan'):.1f}; lost {lost}, duplicates {dupes}")
    bad = failures or any(r[2] or r[3] for r in report.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
