#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scale-out test of the chat demo on a Redis stream (TAP): `redis_test.py path/to/rtweb-chat`.

Starts its own redis-server (Debian package) on a free loopback port, without persistence,
and rtweb-chat nodes with --redis on it, then checks (docs/scale-out.md):
  - a chat line sent on node A reaches node B's sockets (and the other way), "mine" only
    for the author; a chat socket that reconnects (to the other node) with
    /chat?after=<id> gets the lines it missed;
  - the feed read from A and from B is identical (ids, types, data, order), ids
    `<epoch>-<seq>` with a dense seq;
  - Last-Event-ID on the other node: inside its window, and older than its window (replayed
    from the log while live events arrive): exactly the missed events, none twice;
  - a trimmed log (--redis-maxlen 5) answers an old id with a `reset` event;
  - the nodes' links killed (CLIENT KILL): same epoch, the tail resumes, nothing twice;
  - redis-server killed (SIGKILL) and restarted on the same port: the nodes live on, say
    `status` down then up, refuse chat lines meanwhile, then `reset` (a new epoch) and the
    chat works again; FLUSHALL under running nodes: the same reset, found by the nodes;
  - a hostile fake "redis" (huge array and bulk lengths, garbage, an endless reply) fails
    only its connection: the node serves its page and keeps reconnecting, in bounded memory.
Skips (not a pass) when redis-server or python3-websockets is missing. Every process it
starts is stopped before it exits.
"""
import asyncio
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

try:
    import websockets
except ImportError:
    print("1..0 # SKIP python3-websockets is not installed")
    sys.exit(0)

REDIS = shutil.which("redis-server") or ("/usr/bin/redis-server"
                                         if os.path.exists("/usr/bin/redis-server") else None)
if REDIS is None:
    print("1..0 # SKIP redis-server is not installed (Debian redis-server)")
    sys.exit(0)

EXE = sys.argv[1] if len(sys.argv) > 1 else "build/examples/chat/rtweb-chat"
URL_LINE = re.compile(r"^rtweb-chat: open http://127\.0\.0\.1:(\d+)/ in a browser$")
ID = re.compile(r"^([0-9a-f]+)-(\d+)$")

results = []
procs = []
tmp = tempfile.mkdtemp(prefix="rtweb-redis-test-")


def check(ok, name, diag=None):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and diag is not None:
        for line in str(diag).splitlines()[:30]:
            print("# " + line)
    sys.stdout.flush()
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_redis(port):
    p = subprocess.Popen([REDIS, "--save", "", "--appendonly", "no", "--port", str(port),
                          "--bind", "127.0.0.1", "--stream-node-max-entries", "4",
                          "--dir", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    return p


def redis_cmd(port, *args):
    """One command, RESP by hand; returns the raw reply bytes."""
    s = socket.create_connection(("127.0.0.1", port), 2)
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(req)
    s.settimeout(2)
    data = s.recv(65536)
    s.close()
    return data


def start_node(redis_port, *args, name="node"):
    log = open(os.path.join(tmp, name + ".log"), "wb")
    p = subprocess.Popen([EXE, "--port", "0", "--redis", "127.0.0.1:%d" % redis_port, *args],
                         stdout=subprocess.PIPE, stderr=log)
    procs.append(p)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    m = URL_LINE.match(line.rstrip("\n"))
    return p, (int(m.group(1)) if m else None)


def stop(p):
    if p.poll() is not None:
        return p.returncode
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


class Feed:
    """A raw SSE client on /events (chunked): events as dicts, in order."""

    def __init__(self, port, last_event_id=None):
        self.port, self.last = port, last_event_id
        self.events, self._buf, self._block = [], b"", {}

    def _line(self, line):
        if line == "":
            if "data" in self._block:
                self.events.append(self._block)
            self._block = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            self._block[field] = value[1:] if value.startswith(" ") else value

    async def open(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        req = "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % self.port
        if self.last is not None:
            req += "Last-Event-ID: %s\r\n" % self.last
        self.w.write((req + "\r\n").encode())
        await self.w.drain()
        await asyncio.wait_for(self.r.readuntil(b"\r\n\r\n"), 5)
        return self

    async def until(self, pred, limit=5.0):
        """Read until pred(events) holds or the limit passes; returns pred's last value."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        while not pred(self.events):
            wait = end - loop.time()
            if wait <= 0:
                return False
            try:
                size = await asyncio.wait_for(self.r.readuntil(b"\r\n"), wait)
                n = int(size.strip(), 16)
                chunk = await asyncio.wait_for(self.r.readexactly(n + 2), 5)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                return pred(self.events)
            if n == 0:
                break
            self._buf += chunk[:-2]
            while b"\n" in self._buf:
                line, _, self._buf = self._buf.partition(b"\n")
                self._line(line.decode().rstrip("\r"))
        return pred(self.events)

    async def quiet(self, seconds=0.4):
        """Read whatever comes within `seconds`."""
        n = len(self.events)
        await self.until(lambda ev: False, seconds)
        return self.events[n:]

    def close(self):
        self.w.close()

    def log(self):
        """The feed's log events: (id, type, data) of join, leave and message."""
        return [(e.get("id"), e.get("event"), e.get("data")) for e in self.events
                if e.get("event") in ("join", "leave", "message")]


def seq_of(event_id):
    m = ID.match(event_id or "")
    return int(m.group(2)) if m else None


async def recv_json(ws, limit=5):
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), limit))
    except Exception as e:  # noqa: BLE001 - reported by the caller's check
        return repr(e)


async def drain(*sockets):
    """Drop what the chat sockets received so far (lines of earlier steps)."""
    for ws in sockets:
        while True:
            try:
                await asyncio.wait_for(ws.recv(), 0.3)
            except asyncio.TimeoutError:
                break


def with_status(evs, state):
    return any(e.get("event") == "status" and json.loads(e["data"]).get("log") == state
               for e in evs)


async def cross_node_part(pa, pb):
    a = await websockets.connect("ws://127.0.0.1:%d/chat" % pa)
    b = await websockets.connect("ws://127.0.0.1:%d/chat" % pb)
    await asyncio.sleep(0.3)
    await a.send(json.dumps({"name": "alice", "text": "from A"}))
    got_a, got_b = await recv_json(a), await recv_json(b)
    check(isinstance(got_b, dict) and got_b.get("text") == "from A" and
          "mine" not in got_b and isinstance(got_b.get("ts"), int),
          "a chat line sent on node A reaches node B's socket", got_b)
    check(isinstance(got_a, dict) and got_a.get("mine") is True and got_a.get("text") == "from A",
          "the author on node A gets its own line back, tagged mine", got_a)
    await b.send(json.dumps({"name": "bob", "text": "from B"}))
    got_a, got_b = await recv_json(a), await recv_json(b)
    check(isinstance(got_a, dict) and got_a.get("text") == "from B" and "mine" not in got_a and
          isinstance(got_b, dict) and got_b.get("mine") is True,
          "and a line sent on node B reaches node A", (got_a, got_b))
    return a, b


async def identical_part(pa, pb, want):
    fa, fb = await Feed(pa).open(), await Feed(pb).open()
    await fa.until(lambda ev: len([e for e in ev if "id" in e]) >= want)
    await fb.until(lambda ev: len([e for e in ev if "id" in e]) >= want)
    la, lb = fa.log(), fb.log()
    fa.close()
    fb.close()
    check(len(la) >= want and la == lb,
          "the feed read from node A and from node B is identical (%d events)" % len(la),
          "\n".join(map(str, la)) + "\n--\n" + "\n".join(map(str, lb)))
    epochs = {ID.match(i).group(1) if ID.match(i or "") else None for i, _, _ in la}
    seqs = [seq_of(i) for i, _, _ in la]
    check(len(epochs) == 1 and None not in epochs and seqs == list(range(1, len(la) + 1)),
          "ids are <epoch>-<seq>, one epoch, seq 1, 2, 3, ...", [i for i, _, _ in la])
    return la


async def resume_part(redis_port, pa, pb, a, everything):
    """Node B keeps 4 events; resume on it inside and before its window."""
    # inside B's window: the last event but two
    k = len(everything) - 3
    f = await Feed(pb, everything[k - 1][0]).open()
    await f.until(lambda ev: len(f.log()) >= 2, 3)
    got = f.log() + [(e.get("id"), e.get("event"), e.get("data"))
                     for e in await f.quiet(0.3) if e.get("event") in ("message", "join", "leave")]
    f.close()
    check(got == everything[k:], "Last-Event-ID from node A, in node B's window: the missed "
          "events on B, exactly", (got, everything[k:]))
    # before B's window (B has --history 4, and 14 more events come first): the log
    # replays, live events (6 more, sent meanwhile) merge by seq
    for i in range(14):
        await a.send(json.dumps({"name": "alice", "text": "before replay %d" % i}))
    await asyncio.sleep(0.4)
    f = await Feed(pb, everything[0][0]).open()
    for i in range(6):
        await a.send(json.dumps({"name": "alice", "text": "during replay %d" % i}))
    await asyncio.sleep(0.05)
    await f.until(lambda ev: len(f.log()) >= len(everything) - 1 + 20, 6)
    got = f.log() + [(e.get("id"), e.get("event"), e.get("data"))
                     for e in await f.quiet(0.4) if e.get("event") in ("message", "join", "leave")]
    f.close()
    stats = redis_cmd(redis_port, "INFO", "commandstats").decode(errors="replace")
    m = re.search(r"cmdstat_xrange:calls=(\d+)", stats)
    check(m is not None and int(m.group(1)) >= 2,
          "node B asked the log for what its window lacked (XRANGE calls: %s)" %
          (m.group(1) if m else 0))
    fa = await Feed(pa).open()
    await fa.until(lambda ev: len(fa.log()) >= len(everything) + 20, 4)
    ref = fa.log()
    fa.close()
    check(len(got) == len(everything) - 1 + 20 and got == ref[1:],
          "Last-Event-ID older than node B's window: replayed from the log, then live, "
          "exactly the missed events (%d), none twice" % (len(ref) - 1),
          "\n".join(map(str, got)) + "\n--\n" + "\n".join(map(str, ref[1:])))
    other = await Feed(pb, "0123abcd-3").open()
    evs = await other.quiet(0.5)
    other.close()
    check(any(e.get("event") == "reset" for e in evs),
          "an id of another epoch gets a reset event", evs[:4])
    return ref


async def trim_part(redis_port):
    p, port = start_node(redis_port, "--redis-stream", "trimmed", "--redis-maxlen", "5",
                         "--history", "2", name="trim")
    if not check(port is not None, "a node with --redis-maxlen 5 starts"):
        return
    w = await websockets.connect("ws://127.0.0.1:%d/chat" % port, max_queue=None)
    await asyncio.sleep(0.3)
    for i in range(24):
        await w.send(json.dumps({"name": "t", "text": "line %d" % i}))
        await recv_json(w)
        await asyncio.sleep(0.02)
    xlen = redis_cmd(redis_port, "XLEN", "trimmed")
    f = await Feed(port).open()
    await f.until(lambda ev: len(f.log()) >= 2, 3)
    newest = f.log()
    f.close()
    first_id = newest[0][0] if newest else "?"
    epoch = ID.match(first_id).group(1) if ID.match(first_id or "") else "x"
    old = "%s-2" % epoch
    f = await Feed(port, old).open()
    evs = await f.quiet(0.6)
    f.close()
    resets = [e for e in evs if e.get("event") == "reset"]
    after = [e for e in evs if e.get("event") in ("join", "leave", "message")]
    ok = len(resets) == 1 and resets[0].get("id", "").startswith(epoch + "-") and \
        after and seq_of(after[0]["id"]) == seq_of(resets[0]["id"]) + 1
    check(ok, "a trimmed log (XLEN %s) answers an old Last-Event-ID with one reset event "
          "whose id is just before the retained events" % xlen.strip().decode(errors="replace"),
          evs[:5])
    await w.close()
    stop(p)


async def links_killed_part(redis_port, pa, pb, a, b):
    await drain(a, b)
    fa = await Feed(pa).open()
    await fa.quiet(0.3)
    before = fa.log()
    redis_cmd(redis_port, "CLIENT", "KILL", "TYPE", "normal")
    await asyncio.sleep(0.1)
    ok = False
    for _ in range(40):  # chat lines are refused until the node is back
        await a.send(json.dumps({"name": "alice", "text": "after the links died"}))
        m = await recv_json(a)
        if isinstance(m, dict) and m.get("mine"):
            ok = True
            break
        await asyncio.sleep(0.1)
    mb = await recv_json(b)
    check(ok and isinstance(mb, dict) and mb.get("text") == "after the links died",
          "links killed by Redis: the nodes reconnect and the chat works", mb)
    await fa.until(lambda ev: len(fa.log()) > len(before), 3)
    after = fa.log() + [(e.get("id"), e.get("event"), e.get("data")) for e in
                        await fa.quiet(0.3) if e.get("event") in ("join", "leave", "message")]
    ids = [i for i, _, _ in after]
    seqs = [seq_of(i) for i in ids]
    check(len(ids) == len(set(ids)) and seqs == sorted(seqs) and
          not any(e.get("event") == "reset" for e in fa.events),
          "same epoch after the reconnect: no reset, no duplicate, in order", ids)
    fa.close()


async def redis_restart_part(redis, redis_port, pa, pb, a, b):
    await drain(a, b)
    fa, fb = await Feed(pa).open(), await Feed(pb).open()
    await fa.quiet(0.2)
    await fb.quiet(0.2)
    redis.kill()
    redis.wait()
    down = await fa.until(lambda ev: with_status(ev, "down"), 3)
    check(down, "redis-server killed: the feed says status down")
    await a.send(json.dumps({"name": "alice", "text": "while down"}))
    m = await recv_json(a)
    check(isinstance(m, dict) and "unavailable" in m.get("error", ""),
          "a chat line while the log is down is refused, its author told", m)
    status, _, _ = await http_get(pa, "/")
    check(status == 200, "node A still serves its page while Redis is down", status)
    redis = start_redis(redis_port)
    up = await fa.until(lambda ev: with_status(ev[-3:], "up") and
                        any(e.get("event") == "reset" for e in ev), 6)
    check(up, "redis-server restarted: status up and a reset (a new epoch) on the feed",
          [e for e in fa.events if e.get("event") in ("status", "reset")])
    await fb.until(lambda ev: any(e.get("event") == "reset" for e in ev), 3)
    ok = False
    for _ in range(30):
        await a.send(json.dumps({"name": "alice", "text": "after restart"}))
        m = await recv_json(a)
        if isinstance(m, dict) and m.get("mine"):
            ok = True
            break
        await asyncio.sleep(0.1)
    mb = await recv_json(b)
    check(ok and isinstance(mb, dict) and mb.get("text") == "after restart",
          "after the restart a line on A reaches B", mb)
    await fa.quiet(0.3)
    await fb.quiet(0.3)

    def after_reset(f):
        i = max(i for i, e in enumerate(f.events) if e.get("event") == "reset")
        return [(e.get("id"), e.get("event"), e.get("data")) for e in f.events[i + 1:]
                if e.get("event") in ("join", "leave", "message")]
    ra, rb = after_reset(fa), after_reset(fb)
    check(ra and ra == rb and len({i for i, _, _ in ra}) == len(ra),
          "after the reset both nodes' feeds are identical, nothing twice", (ra, rb))
    fa.close()
    fb.close()
    return redis


async def flush_part(redis_port, pa, pb, a, b):
    """FLUSHALL under running nodes: both notice the new log by themselves (an idle tail
    checks the epoch) and reset their feeds; the chat goes on."""
    await drain(a, b)
    fa, fb = await Feed(pa).open(), await Feed(pb).open()
    await fa.quiet(0.2)
    await fb.quiet(0.2)
    redis_cmd(redis_port, "FLUSHALL")
    ra = await fa.until(lambda ev: any(e.get("event") == "reset" for e in ev), 6)
    rb = await fb.until(lambda ev: any(e.get("event") == "reset" for e in ev), 3)
    check(ra and rb, "FLUSHALL: both nodes' feeds get a reset without any append")
    ok = False
    for _ in range(30):
        await a.send(json.dumps({"name": "alice", "text": "after flush"}))
        m = await recv_json(a)
        if isinstance(m, dict) and m.get("mine"):
            ok = True
            break
        await asyncio.sleep(0.1)
    mb = await recv_json(b)
    await fb.until(lambda ev: any(e.get("event") == "message" and "after flush" in e["data"]
                                  for e in ev), 3)
    msgs = [e for e in fb.events if e.get("event") == "message"]
    check(ok and isinstance(mb, dict) and mb.get("text") == "after flush" and msgs and
          seq_of(msgs[-1]["id"]) is not None,
          "after FLUSHALL a line on A reaches B's socket and feed", (mb, msgs[-1:]))
    fa.close()
    fb.close()


async def chat_resume_part(pa, pb, a, b):
    """A chat socket that reconnects, to another node, with /chat?after=<id of the last line
    it showed> gets the lines sent meanwhile, in order, then live ones; none twice."""
    await drain(a, b)
    c = await websockets.connect("ws://127.0.0.1:%d/chat" % pb)  # B: --history 4
    await asyncio.sleep(0.2)
    await b.send(json.dumps({"name": "bob", "text": "seen by c"}))
    seen = await recv_json(c)
    last = seen.get("id") if isinstance(seen, dict) else None
    check(isinstance(last, str) and seq_of(last) is not None,
          "with --redis a chat line carries its feed id", seen)
    await c.close()
    await asyncio.sleep(0.2)
    for i in range(3):
        await b.send(json.dumps({"name": "bob", "text": "missed %d" % i}))
    await asyncio.sleep(0.4)
    c = await websockets.connect("ws://127.0.0.1:%d/chat?after=%s" % (pa, last))
    got = [await recv_json(c) for _ in range(3)]
    await b.send(json.dumps({"name": "bob", "text": "live again"}))
    live = await recv_json(c)
    more = None
    try:
        more = json.loads(await asyncio.wait_for(c.recv(), 0.5))
    except asyncio.TimeoutError:
        pass
    await c.close()
    texts = [m.get("text") if isinstance(m, dict) else m for m in got]
    seqs = [seq_of(m.get("id")) if isinstance(m, dict) else None for m in got]
    check(texts == ["missed 0", "missed 1", "missed 2"] and None not in seqs and
          seqs == sorted(seqs) and seqs[0] > seq_of(last) and
          isinstance(live, dict) and live.get("text") == "live again" and more is None,
          "a chat socket reconnecting on the other node with ?after=<id> gets the lines "
          "it missed, in order, then live ones, nothing twice", (got, live, more))
    await drain(a, b)


async def foreign_part(redis_port, pa, pb, a, b):
    """An entry of another type in the stream (a foreign writer): no node shows it, both
    keep their windows, the next events follow on both."""
    await drain(a, b)
    fb = await Feed(pb).open()
    await fb.quiet(0.3)
    epoch = redis_cmd(redis_port, "GET", "rtweb-chat:epoch").split(b"\r\n")[1].decode()
    seq = int(redis_cmd(redis_port, "INCR", "rtweb-chat:seq")[1:].strip())
    redis_cmd(redis_port, "XADD", "rtweb-chat", "%d-0" % seq, "type", "bogus", "data", "{}",
              "epoch", epoch)
    await a.send(json.dumps({"name": "alice", "text": "after a foreign entry"}))
    await fb.until(lambda ev: any("after a foreign entry" in e.get("data", "") for e in ev), 3)
    fa = await Feed(pa).open()
    await fa.until(lambda ev: any("after a foreign entry" in e.get("data", "") for e in ev), 3)
    la, lb = fa.log(), fb.log()
    fa.close()
    fb.close()
    shown = [e.get("event") for e in fa.events + fb.events]
    check("bogus" not in shown and la and la[-1][2].find("after a foreign entry") > 0 and
          seq_of(la[-1][0]) == seq + 1 and lb[-1] == la[-1] and len(la) > 1,
          "a foreign entry (seq %d) is shown by no node; the windows keep what they had" % seq,
          (shown, la[-3:], lb[-3:]))


async def http_get(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode())
    await w.drain()
    data = await asyncio.wait_for(r.read(), 5)
    w.close()
    return int(data.split(b" ", 2)[1]), None, data


class FakeRedis(threading.Thread):
    """Answers every connection with one hostile reply, in turn."""
    REPLIES = [b"*2147483647\r\n",                      # an array of 2^31 elements
               b"$999999999999\r\n" + b"x" * 65536,     # a bulk string of ~1 TB
               b"+OK\r\n:1\r\nthis is not RESP\r\n",     # garbage after a wrong reply
               b"*1\r\n" * 100,                          # nesting deeper than the reader takes
               None]                                     # an endless bulk string: 9 MiB

    def __init__(self):
        super().__init__(daemon=True)
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.conns = 0
        self.stopping = False

    def run(self):
        self.srv.settimeout(0.2)
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            reply = self.REPLIES[self.conns % len(self.REPLIES)]
            self.conns += 1
            try:
                c.settimeout(1)
                c.recv(65536)  # the command (the tail link sends nothing at first)
            except OSError:
                pass
            try:
                if reply is None:
                    c.sendall(b"$100000000\r\n")
                    chunk = b"y" * 65536
                    for _ in range(150):
                        c.sendall(chunk)
                else:
                    c.sendall(reply)
                time.sleep(0.1)
            except OSError:
                pass
            c.close()


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


async def hostile_part():
    fake = FakeRedis()
    fake.start()
    p, port = start_node(fake.port, name="hostile")
    if not check(port is not None, "a node on a hostile fake redis starts"):
        fake.stopping = True
        return
    deadline = time.time() + 12
    while fake.conns < 2 * len(FakeRedis.REPLIES) + 2 and time.time() < deadline:
        await asyncio.sleep(0.2)
    alive = p.poll() is None
    status, _, _ = await http_get(port, "/") if alive else (None, None, None)
    f = await Feed(port).open() if alive else None
    evs = await f.quiet(0.3) if f else []
    if f:
        f.close()
    rss = vmrss_kib(p.pid) if alive else -1
    check(alive and fake.conns >= 2 * len(FakeRedis.REPLIES),
          "every hostile reply fails only that connection: the node lives and reconnects "
          "(%d connections)" % fake.conns, p.returncode)
    check(status == 200 and with_status(evs, "down"),
          "meanwhile it serves its page, and its feed says status down", (status, evs))
    check(0 < rss < 64 * 1024, "in bounded memory (VmRSS %d KiB < 64 MiB)" % rss)
    fake.stopping = True
    rc = stop(p)
    check(rc == 0, "and it exits cleanly on SIGTERM", rc)
    with open(os.path.join(tmp, "hostile.log"), "rb") as f:
        log = f.read().decode(errors="replace")
    check("reply too large" in log and "bad reply" in log,
          "the size cap and the reader's errors were both hit", log[-2000:])


async def main():
    redis_port = free_port()
    redis = start_redis(redis_port)
    pa_proc, pa = start_node(redis_port, name="A")
    pb_proc, pb = start_node(redis_port, "--history", "4", name="B")
    if not check(pa is not None and pb is not None, "two nodes start on one redis-server"):
        return
    a, b = await cross_node_part(pa, pb)
    everything = await identical_part(pa, pb, 4)
    everything = await resume_part(redis_port, pa, pb, a, everything)
    await chat_resume_part(pa, pb, a, b)
    await trim_part(redis_port)
    await links_killed_part(redis_port, pa, pb, a, b)
    redis = await redis_restart_part(redis, redis_port, pa, pb, a, b)
    await flush_part(redis_port, pa, pb, a, b)
    await foreign_part(redis_port, pa, pb, a, b)
    await a.close()
    await b.close()
    check(pa_proc.poll() is None and pb_proc.poll() is None, "no node crashed")
    for p, name in ((pa_proc, "A"), (pb_proc, "B")):
        check(stop(p) == 0, "node %s exits cleanly on SIGTERM" % name)
    stop(redis)
    await hostile_part()
    reports = []
    for name in ("A", "B", "trim", "hostile"):
        path = os.path.join(tmp, name + ".log")
        if os.path.exists(path):
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace")
            reports += [name + ": " + line for line in text.splitlines()
                        if "runtime error" in line or "Sanitizer" in line]
    check(not reports, "no sanitizer report in the nodes' logs", "\n".join(reports))


try:
    asyncio.run(asyncio.wait_for(main(), 100))
except Exception as e:  # noqa: BLE001 - a crash of the test is a failure, said as one
    check(False, "the test ran to its end", repr(e))
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
