#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Hostile clients against the chat demo (TAP):
`hostile_test.py path/to/rtweb-chat path/to/chat_name_probe`.

What an operator meets, each against its own rtweb-chat on a free port of 127.0.0.1 (every
step bounded in time, every process stopped at the end):

- names: controls (C0, C1), bidi (U+202E, U+2066), invisible characters (U+200B, U+FEFF, a
  name of no-break spaces) are refused with an {"error"} to the author and go nowhere; a
  name in any script is accepted; and every assigned code point goes through the rule
  (chat_name_probe) against Python's unicodedata categories;
- "mine": the server tags the author's copy of a message, however many share its name;
- rate limits: too many messages, too many bytes: close 1008 with the reason;
- a ping flood from a client that never reads: closed 1008 by the rate limit, and with the
  limits off the server's memory (VmRSS) still grows less than 64 MiB; a flooder that reads
  a trickle is dropped after --send-timeout;
- backpressure: a client that sends 8000 messages without reading stalls (the server stops
  reading it over its high water mark) and then gets every echo, in order;
- EMFILE: with the descriptor limit lowered under the running server (prlimit), a crowd of
  connections costs under 20% of a CPU, and the server accepts again once they leave;
  started under a low limit, --max-conns is lowered to fit and the rest get 503;
- per-address shares: 200 slow request heads, or 40 answers never read, or 70 feed
  streams from 127.0.0.1 leave 127.0.0.2 served;
- per-address joins: beyond --join-rate, opening a chat socket gets 429 (reconnecting in a
  loop cannot flood the feed with join and leave events);
- the feed file under a message flood stays within its bound (4 x the history), and a
  restart on it continues the ids.
"""
import base64
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

EXE = sys.argv[1] if len(sys.argv) > 1 else "build/examples/chat/rtweb-chat"
PROBE = sys.argv[2] if len(sys.argv) > 2 else "build/examples/chat/chat_name_probe"
URL_LINE = re.compile(rb"^rtweb-chat: open http://127\.0\.0\.1:(\d+)/ in a browser$")
MiB = 1024 * 1024

results = []
procs = []
tmp = tempfile.mkdtemp(prefix="rtweb-chat-hostile-")


def check(ok, name, diag=None):
    results.append(bool(ok))
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and diag is not None:
        for line in str(diag).splitlines():
            print("# " + line)
    sys.stdout.flush()
    return ok


def start(*args, prefix=()):
    """Start rtweb-chat (stderr to a file); return (process, port, stderr path)."""
    err = os.path.join(tmp, "stderr-%d.log" % len(procs))
    env = dict(os.environ)
    # an ASan build keeps freed memory in quarantine (256 MiB by default), which VmRSS would
    # count as growth: keep it small (other builds ignore the variable)
    env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), "quarantine_size_mb=8")
                                   if x)
    with open(err, "wb") as ef:
        p = subprocess.Popen([*prefix, EXE, "--port", "0", *args], stdout=subprocess.PIPE,
                             stderr=ef, env=env)
    procs.append(p)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    m = URL_LINE.match(p.stdout.readline().rstrip(b"\n")) if ready else None
    return p, (int(m.group(1)) if m else None), err


exits = []


def stop(p):
    """SIGTERM; the exit status (None when it had to be killed), also kept in `exits`."""
    p.send_signal(signal.SIGTERM)
    try:
        st = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        st = None
    exits.append(st)
    return st


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def tcp(port, src="127.0.0.1", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def http_get(port, path="/", src="127.0.0.1"):
    """Status of a GET (0 when the connection fails or says nothing)."""
    try:
        s = tcp(port, src)
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    except OSError:
        return 0


class WS:
    """A minimal blocking WebSocket client (RFC 6455) that can misbehave on purpose."""

    def __init__(self, port, src="127.0.0.1", rcvbuf=None):
        self.s = tcp(port, src, rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("no handshake response")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise OSError("handshake: " + head.decode("latin-1"))
        self.close_code, self.close_reason = None, None

    @staticmethod
    def frame(opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        return head + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")

    def send_text(self, text):
        self.s.sendall(self.frame(1, text.encode()))

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def recv_frame(self, timeout=5):
        """(opcode, payload), or None on EOF or timeout."""
        end = time.monotonic() + timeout
        while True:
            n, off = (self.buf[1] & 0x7F, 2) if len(self.buf) >= 2 else (0, 2 ** 62)
            if n == 126:
                n, off = (struct.unpack("!H", self.buf[2:4])[0], 4) if len(self.buf) >= 4 \
                    else (0, 2 ** 62)
            elif n == 127:
                n, off = (struct.unpack("!Q", self.buf[2:10])[0], 10) if len(self.buf) >= 10 \
                    else (0, 2 ** 62)
            if len(self.buf) >= off + n:
                op, payload = self.buf[0] & 0x0F, self.buf[off:off + n]
                self.buf = self.buf[off + n:]
                if op == 8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else 1005
                    self.close_reason = payload[2:].decode(errors="replace")
                return op, payload
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, OSError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def recv_json(self, timeout=5):
        """The next text message as JSON; None on close, EOF or timeout."""
        while True:
            f = self.recv_frame(timeout)
            if f is None or f[0] == 8:
                return None
            if f[0] == 1:
                return json.loads(f[1])

    def wait_close(self, timeout=5):
        """Read until a close frame (its code) or EOF/timeout (None)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            f = self.recv_frame(end - time.monotonic())
            if f is None:
                return self.close_code
            if f[0] == 8:
                return self.close_code
        return self.close_code

    def close(self):
        self.s.close()


def names_and_mine(port):
    a, b = WS(port), WS(port)
    bad = {"\u202eevil": "U+202E", "zero\u200bwidth": "U+200B", "c1\u0085": "U+0085",
           "bom\ufeff": "U+FEFF", "\u2066iso": "U+2066", "\u00a0\u00a0": "U+00A0",
           "nul\u0000": "U+0000", "\u2028line": "U+2028", "x" * 41: "1 to 40 bytes"}
    replies = []
    for name, want in bad.items():
        a.send_json({"name": name, "text": "hello"})
        r = a.recv_json()
        replies.append((name, r))
    check(all(isinstance(r, dict) and want in r.get("error", "") and "text" not in r
              for (name, r), want in zip(replies, bad.values())),
          "names with controls, bidi or invisible characters are refused with the reason",
          replies)
    good = "Zo\u00eb \u65e5\u672c \u2764\ufe0f"
    a.send_json({"name": "  " + good + " ", "text": "ok"})
    mine_a, other_b = a.recv_json(), b.recv_json()
    check(other_b is not None and other_b.get("name") == good and other_b.get("text") == "ok",
          "a refused name reached nobody; a name in any script (and an emoji) is accepted",
          other_b)
    check(mine_a is not None and mine_a.get("mine") is True and "mine" not in (other_b or {}),
          "the author's copy says mine:true, the others' do not", (mine_a, other_b))
    b.send_json({"name": good, "text": "same name"})
    to_a, to_b = a.recv_json(), b.recv_json()
    check(to_a is not None and "mine" not in to_a and to_b is not None and
          to_b.get("mine") is True,
          "a reader that takes another's name does not make the message the other's own",
          (to_a, to_b))
    a.close()
    b.close()


# Refused although not in a refused category: invisible fillers and joiners, variation
# selectors (U+FE0F is allowed after a non-ASCII character only; the probe puts it after
# "a"), the braille blank, the object replacement character.
INVISIBLE = set([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, 0xFFFC] +
                list(range(0x180B, 0x1810)) + list(range(0xFE00, 0xFE10)) +
                list(range(0xE0100, 0xE01F0)))


def names_exhaustive():
    """Every assigned code point (Python's unicodedata) through the server's name rule."""
    if not os.access(PROBE, os.X_OK):
        check(False, "the name probe is built", PROBE)
        return
    want = {}
    for cp in range(0x110000):
        cat = unicodedata.category(chr(cp))
        if cat == "Cs" or (cat == "Cn" and (cp & 0xFFFE) != 0xFFFE and
                           not 0xFDD0 <= cp <= 0xFDEF):
            continue  # not encodable, or unassigned in this Python (noncharacters are kept)
        refused = cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn") or (cat == "Zs" and cp != 0x20)
        want[cp] = not (refused or cp in INVISIBLE)
    out = subprocess.run([PROBE], input="".join("%x\n" % cp for cp in want).encode(),
                         capture_output=True, timeout=60).stdout.decode().split("\n")
    got = {int(a, 16): b == "1" for a, b in (l.split() for l in out if l)}
    wrong = [(hex(cp), unicodedata.category(chr(cp)), got.get(cp)) for cp in want
             if got.get(cp) != want[cp]]
    check(len(got) == len(want) and not wrong,
          "all %d assigned code points: names take letters, marks, numbers, punctuation and "
          "symbols, and refuse every control, format, separator, private-use and "
          "noncharacter (Unicode %s)" % (len(want), unicodedata.unidata_version), wrong[:20])


def rate_limits(port):
    a = WS(port)
    for i in range(100):  # default --msg-rate 5: a 10 s burst is 50 messages
        try:
            a.send_json({"name": "spam", "text": "m%d" % i})
        except OSError:
            break
    code = a.wait_close(5)
    check(code == 1008 and a.close_reason == "rate limit: too many messages",
          "100 messages at once: close 1008 \"rate limit: too many messages\"",
          (code, a.close_reason))
    a.close()


def byte_limit(port):
    a = WS(port)
    for i in range(20):  # --byte-rate 1000: a 10 s burst is 10,000 bytes
        try:
            a.send_json({"name": "big", "text": "y" * 1000})
        except OSError:
            break
    code = a.wait_close(5)
    check(code == 1008 and a.close_reason == "rate limit: too many bytes",
          "20 KB at once under --byte-rate 1000: close 1008 \"rate limit: too many bytes\"",
          (code, a.close_reason))
    a.close()


def ping_flood(p, port, seconds, trickle=False):
    """Send pings without reading; (bytes sent, peak RSS growth KiB, dropped)."""
    base = rss_kib(p.pid)
    ws = WS(port, rcvbuf=4096)
    ws.s.setblocking(False)
    ping = WS.frame(9, b"p" * 125) * 64
    sent, peak, dropped = 0, base, False
    end = time.monotonic() + seconds
    next_read = time.monotonic() + 0.5
    while time.monotonic() < end:
        try:
            sent += ws.s.send(ping)
        except BlockingIOError:
            select.select([], [ws.s], [], 0.05)
        except OSError:
            dropped = True
            break
        if trickle and time.monotonic() >= next_read:
            next_read += 0.5
            try:
                if ws.s.recv(64) == b"":
                    dropped = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                dropped = True
                break
        peak = max(peak, rss_kib(p.pid))
    ws.close()
    return sent, peak - base, dropped


def backpressure(p, port, n=8000):
    """Send n chat messages without reading (a sender thread), then read every echo."""
    base = rss_kib(p.pid)
    ws = WS(port, rcvbuf=4096)
    frames = b"".join(WS.frame(1, json.dumps({"name": "bp", "text": "%05d" % i + "w" * 1000})
                               .encode()) for i in range(n))
    sent = [0]

    def send_all():
        view = memoryview(frames)
        try:
            while sent[0] < len(frames):
                sent[0] += ws.s.send(view[sent[0]:sent[0] + 65536])
        except OSError:
            pass  # dropped: what was read back says so

    sender = threading.Thread(target=send_all, daemon=True)
    ws.s.settimeout(30)
    sender.start()
    time.sleep(2)  # not reading: the server's queue for us passes its high water mark
    stalled = sent[0] < len(frames)
    peak, got = rss_kib(p.pid), 0
    while got < n:
        m = ws.recv_json(10)
        if m is None or m.get("text", "")[:5] != "%05d" % got:
            break
        got += 1
        if got % 500 == 0:
            peak = max(peak, rss_kib(p.pid))
    sender.join(5)
    ws.close()
    return got if stalled else -1, n, peak - base


def flood_parts():
    p, port, _ = start()
    if not check(port is not None, "starts with the default limits"):
        return
    a = WS(port, rcvbuf=4096)
    a.s.setblocking(False)
    ping = WS.frame(9, b"p" * 125)
    try:
        for _ in range(200):
            a.s.send(ping)
    except OSError:
        pass
    a.s.setblocking(True)
    code = a.wait_close(5)
    check(code == 1008 and a.close_reason == "rate limit: too many messages",
          "200 pings: close 1008 (pings count as messages)", (code, a.close_reason))
    a.close()
    rate_limits(port)
    names_and_mine(port)
    stop(p)

    p, port, _ = start("--msg-rate", "0", "--byte-rate", "1000")
    if check(port is not None, "starts with --byte-rate 1000"):
        byte_limit(port)
        stop(p)

    p, port, _ = start("--msg-rate", "0", "--byte-rate", "0")
    if check(port is not None, "starts with the rate limits off"):
        sent, growth, _ = ping_flood(p, port, 6)
        check(sent > 100000 and growth < 64 * 1024,
              "ping flood, never read, limits off: VmRSS grew %d KiB (< 64 MiB) for %d MB of "
              "pings" % (growth, sent // 1000000), (sent, growth))
        check(http_get(port) == 200, "the server still answers after the flood")
        stop(p)

    p, port, _ = start("--msg-rate", "0", "--byte-rate", "0")
    if check(port is not None, "starts with the rate limits off (backpressure)"):
        got, n, growth = backpressure(p, port)
        check(got == n and growth < 64 * 1024,
              "%d messages sent without reading for 2 s: the sender stalls (input paused), "
              "nothing dropped: all %d echoed in order once read (VmRSS +%d KiB)" % (n, got, growth), (got, growth))
        stop(p)

    p, port, _ = start("--msg-rate", "0", "--byte-rate", "0", "--send-timeout", "2")
    if check(port is not None, "starts with --send-timeout 2"):
        t0 = time.monotonic()
        _, growth, dropped = ping_flood(p, port, 10, trickle=True)
        took = time.monotonic() - t0
        check(dropped and took < 9,
              "a flooder that reads 64 bytes every 0.5 s is dropped (after %.1f s)" % took,
              (dropped, took, growth))
        stop(p)


def emfile_part():
    p, port, err = start("--max-http-per-addr", "1000")
    if not check(port is not None, "starts for the EMFILE case"):
        return
    subprocess.run(["prlimit", "--pid", str(p.pid), "--nofile=40:40"], check=True)
    held = []
    for i in range(80):
        try:
            s = tcp(port)
            s.sendall(b"GET / HTTP/1.1\r\n")  # a head that never ends
            held.append(s)
        except OSError:
            break
    time.sleep(0.5)
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(3)
    use = (cpu_seconds(p.pid) - c0) / (time.monotonic() - t0)
    with open(err, "rb") as f:
        said = f.read().count(b"not accepting until a connection closes")
    check(said == 1 and use < 0.20, "at EMFILE with %d connections waiting: %.1f%% CPU "
          "(< 20%%), said once" % (len(held), use * 100), (said, use))
    for s in held:
        s.close()
    time.sleep(1.5)
    check(http_get(port) == 200, "once they leave, it accepts again")
    stop(p)

    p, port, err = start("--max-conns", "512", "--max-http-per-addr", "1000",
                         prefix=("prlimit", "--nofile=64:64"))
    if not check(port is not None, "starts under a descriptor limit of 64"):
        return
    with open(err, "rb") as f:
        m = re.search(rb"--max-conns 512 lowered to (\d+)", f.read())
    check(m is not None and int(m.group(1)) == 48, "--max-conns is lowered to fit (64 - 16)",
          m and m.group(0))
    held, statuses = [], []
    for i in range(60):
        s = tcp(port)
        s.sendall(b"GET / HTTP/1.1\r\n")
        held.append(s)
    time.sleep(0.5)
    for s in held[48:]:
        try:
            statuses.append(s.recv(64).split(b" ")[1])
        except (OSError, IndexError):
            statuses.append(b"?")
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(2)
    use = (cpu_seconds(p.pid) - c0) / (time.monotonic() - t0)
    check(statuses == [b"503"] * 12 and use < 0.20,
          "beyond the lowered --max-conns: 503, %.1f%% CPU" % (use * 100), (statuses, use))
    for s in held:
        s.close()
    stop(p)


def joins_part():
    p, port, _ = start("--join-rate", "12")  # one per 5 s; a 10 s burst: 2 per address
    if not check(port is not None, "starts with --join-rate 12"):
        return
    statuses = []
    for i in range(4):
        try:
            WS(port).close()
            statuses.append(101)
        except OSError as e:
            statuses.append(429 if "429" in str(e) else str(e))
    check(statuses == [101] * 2 + [429] * 2,
          "4 chat sockets opened at once from one address: 2 joined, then 429", statuses)
    ws = WS(port, src="127.0.0.2")
    ws.close()
    check(True, "another address still joins")
    stop(p)
    with open(os.path.join(tmp, "stderr-%d.log" % (len(procs) - 1)), "rb") as f:
        check(f.read().count(b"too many joins") == 2, "the refusals are logged")


def heads_part():
    p, port, _ = start()
    if not check(port is not None, "starts for the per-address case"):
        return
    held = []
    for i in range(200):
        s = tcp(port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # slow: never finished
        held.append(s)
    time.sleep(0.5)
    refused = 0
    for s in held:
        s.settimeout(0.01)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
        except OSError:
            pass
    check(refused == 200 - 16, "200 slow heads from 127.0.0.1: 184 of them get 503 (16 allowed)",
          refused)
    check(http_get(port, "/", "127.0.0.2") == 200, "meanwhile 127.0.0.2 gets the page")
    ws = WS(port, src="127.0.0.3")
    ws.send_json({"name": "other", "text": "still here"})
    got = ws.recv_json()
    check(got is not None and got.get("text") == "still here", "and 127.0.0.3 chats", got)
    ws.close()
    for s in held:
        s.close()
    time.sleep(0.3)
    check(http_get(port) == 200, "127.0.0.1 is served again once its heads are gone")
    time.sleep(0.3)  # that connection is gone too
    readers, refused = [], 0
    for i in range(40):  # ask for the page and never read it (nor close)
        s = tcp(port, rcvbuf=2048)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        readers.append(s)
    time.sleep(0.5)
    for s in readers:
        s.settimeout(0.01)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
        except OSError:
            pass
    check(refused == 40 - 16 and http_get(port, "/", "127.0.0.2") == 200,
          "40 page requests never read from 127.0.0.1: 24 get 503; 127.0.0.2 gets the page",
          refused)
    for s in readers:
        s.close()
    time.sleep(0.3)
    streams, codes = [], []
    for i in range(70):  # feed streams opened one after the other and never read
        s = tcp(port, rcvbuf=2048)
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            codes.append(s.recv(12)[9:12])
        except OSError:
            codes.append(b"?")
        streams.append(s)
    check(codes == [b"200"] * 64 + [b"503"] * 6 and http_get(port, "/", "127.0.0.2") == 200,
          "70 feed streams from 127.0.0.1: 64 open (--max-conns-per-addr), 6 get 503; "
          "127.0.0.2 gets the page", codes)
    for s in streams:
        s.close()
    stop(p)


def feed_file_part():
    feed = os.path.join(tmp, "feed.log")
    p, port, _ = start("--feed-file", feed, "--history", "20", "--msg-rate", "0",
                       "--byte-rate", "0")
    if not check(port is not None, "starts with --history 20 and a feed file"):
        return
    line_bound = 4 * 20 + 1024  # FEED_FILE_FACTOR x history + FEED_FILE_MIN_LINES
    byte_bound = 4 * MiB        # FEED_FILE_FACTOR x the history's byte budget (1 MiB at least)
    ws = WS(port)
    text = "z" * 900
    biggest, n = 0, 3000
    for i in range(n):
        ws.send_json({"name": "flood", "text": text})
        got = ws.recv_json()  # our own copy: keeps its send queue short
        if got is None:
            break
        if i % 50 == 0:
            biggest = max(biggest, os.path.getsize(feed))
    ws.close()
    time.sleep(0.3)
    biggest = max(biggest, os.path.getsize(feed))
    with open(feed, encoding="utf-8") as f:
        lines = f.read().splitlines()
    ids = [int(l.split("\t", 1)[0]) for l in lines]
    check(i == n - 1 and biggest <= byte_bound and len(lines) <= line_bound,
          "3000 messages of 900 bytes: the feed file stayed under %d lines and 4 MiB "
          "(largest %d bytes, %d lines now)" % (line_bound, biggest, len(lines)),
          (i, biggest, len(lines)))
    check(ids == list(range(ids[0], ids[0] + len(ids))) and ids[-1] == n + 2,
          "it holds the newest events, in order, up to the last id (%d)" % (n + 2),
          ids[:3] + ids[-3:])
    check(stop(p) == 0, "SIGTERM: exit 0")
    p, port, _ = start("--feed-file", feed, "--history", "20")
    w2 = WS(port)
    w2.close()
    time.sleep(0.3)
    stop(p)
    with open(feed, encoding="utf-8") as f:
        last = [int(l.split("\t", 1)[0]) for l in f.read().splitlines()][-2:]
    check(last == [n + 3, n + 4], "after a restart on that file the ids continue", last)

    big = os.path.join(tmp, "big.log")  # as an older server left it: 5000 events, 5 MB
    with open(big, "w", encoding="utf-8") as f:
        for i in range(1, 5001):
            f.write('%d\tmessage\t{"name":"old","text":"%s"}\n' % (i, "o" * 1000))
    p, port, _ = start("--feed-file", big, "--history", "20")
    with open(big, encoding="utf-8") as f:
        kept = [int(l.split("\t", 1)[0]) for l in f.read().splitlines()]
    check(port is not None and kept == list(range(4981, 5001)),
          "a 5 MB feed file from before is cut to the 20 events the history keeps at start",
          (len(kept), kept[:2], kept[-2:]))
    stop(p)


def main():
    if not os.access(EXE, os.X_OK):
        print("1..0 # SKIP %s is not built" % EXE)
        return 0
    try:
        for part in (names_exhaustive, flood_parts, emfile_part, joins_part, heads_part,
                     feed_file_part):
            try:
                part()
            except Exception as e:  # noqa: BLE001 - reported, the other parts still run
                check(False, "%s ran to its end" % part.__name__, "%s: %s" % (type(e).__name__, e))
        check(len(exits) == len(procs) and all(st == 0 for st in exits),
              "every server exited with status 0 on SIGTERM (no sanitizer report)", exits)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
