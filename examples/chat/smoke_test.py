#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Smoke test of the chat demo (TAP): `smoke_test.py path/to/rtweb-chat`.

Starts rtweb-chat on a free port with a temporary feed file and checks, as a browser would
see it: the page; two WebSocket clients on /chat that both receive a message one of them
sent; the SSE feed at /events (retry, join/message/leave events with increasing ids); the
limits (an oversized message is closed with 1009, a malformed one answered with an error to
its author), the author's copy tagged "mine"; then a restart
with the same feed file: ids continue, and Last-Event-ID resumes with exactly the events
missed, across the restart. Then permessage-deflate (RFC 7692): negotiated by default (as
with a browser's offer) and the broadcast arrives compressed (RSV1), a compressed message
that inflates past 4 KiB is closed with 1009, and --no-deflate declines the offer. Needs
Debian's python3-websockets. Every process it starts is
stopped before it exits (each step has a timeout).
"""
import asyncio
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile

try:
    import websockets
except ImportError:  # CI installs python3-websockets; say so rather than fail obscurely
    print("1..0 # SKIP python3-websockets is not installed")
    sys.exit(0)

EXE = sys.argv[1] if len(sys.argv) > 1 else "build/examples/chat/rtweb-chat"
URL_LINE = re.compile(r"^rtweb-chat: open http://127\.0\.0\.1:(\d+)/ in a browser$")

results = []
procs = []


def check(ok, name, diag=None):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and diag is not None:
        for line in str(diag).splitlines():
            print("# " + line)
    sys.stdout.flush()
    return ok


def start(feed, *args):
    """Start rtweb-chat; return (process, port) once it printed its URL line."""
    p = subprocess.Popen([EXE, "--port", "0", "--feed-file", feed, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    procs.append(p)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    m = URL_LINE.match(line.rstrip("\n"))
    return p, (int(m.group(1)) if m else None), line


def stop(p):
    """SIGTERM, as a user's Ctrl-C; the exit status (None when it had to be killed)."""
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


async def http_get(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode())
    await w.drain()
    data = await asyncio.wait_for(r.read(), 5)  # Connection: close
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers, body


class Feed:
    """A raw SSE client: parses the chunked event stream into events and comments."""

    def __init__(self):
        self.events, self.comments, self.retry = [], [], None
        self._buf, self._block = b"", {}

    def _line(self, line):
        if line == "":
            if "data" in self._block:
                self.events.append(self._block)
            self._block = {}
        elif line.startswith(":"):
            self.comments.append(line[1:].strip())
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "retry":
                self.retry = int(value)
            else:
                self._block[field] = value

    def feed(self, data):
        self._buf += data
        while b"\n" in self._buf:
            line, _, self._buf = self._buf.partition(b"\n")
            self._line(line.decode().rstrip("\r"))

    async def read(self, port, last_event_id=None, want=0, quiet=0.4, limit=5.0):
        """Collect events until `want` arrived and then nothing more for `quiet` seconds."""
        r, w = await asyncio.open_connection("127.0.0.1", port)
        req = "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n" % port
        if last_event_id is not None:
            req += "Last-Event-ID: %s\r\n" % last_event_id
        w.write((req + "\r\n").encode())
        await w.drain()
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
        self.head = head.decode("latin-1")
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        try:
            while True:
                now = loop.time()
                wait = end - now if len(self.events) < want else min(quiet, end - now)
                if wait <= 0:
                    break
                size = await asyncio.wait_for(r.readuntil(b"\r\n"), wait)
                n = int(size.strip(), 16)
                chunk = await asyncio.wait_for(r.readexactly(n + 2), 5)
                if n == 0:
                    break
                self.feed(chunk[:-2])
        except asyncio.TimeoutError:
            pass
        w.close()
        return self


def ids(events):
    return [int(e["id"]) for e in events]


async def chat_part(port):
    """The page, two chat sockets, the feed, the limits. Returns the events seen."""
    uri = "ws://127.0.0.1:%d/chat" % port
    status, headers, body = await http_get(port, "/")
    check(status == 200 and headers.get("content-type", "").startswith("text/html"),
          "GET / is 200 text/html", (status, headers))
    check(all(('id="%s"' % i).encode() in body
              for i in ("sse-state", "ws-state", "feed", "messages", "name", "text", "send")),
          "the page has the DOM ids of the contract")
    status, _, _ = await http_get(port, "/no-such-page")
    check(status == 404, "an unknown path is 404", status)

    a = await websockets.connect(uri)
    b = await websockets.connect(uri)
    await a.send("this is not JSON")  # answered with an error to a alone; a stays open
    await a.send(json.dumps({"name": "alice", "text": "hi \u00e9\n\"quoted\""}))
    got = []
    for ws in (a, a, b):
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            got.append(repr(e))
    check(isinstance(got[0], dict) and "not a chat message" in got[0].get("error", ""),
          "a message that is not {name, text} gets an error, to its author only", got[0])
    got = got[1:]
    check(all(isinstance(m, dict) and m.get("name") == "alice" and
              m.get("text") == "hi \u00e9\n\"quoted\"" and isinstance(m.get("ts"), int)
              for m in got), "both chat sockets receive the message, with ts", got)
    check(got[0].get("mine") is True and "mine" not in got[1],
          "only the author's copy says mine:true", got)

    big = await websockets.connect(uri)
    await big.send(json.dumps({"name": "mallory", "text": "x" * 5000}))
    try:
        await asyncio.wait_for(big.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(big.close_code == 1009, "a message over 4 KiB is closed with 1009", big.close_code)

    await a.close()
    await b.close()
    await asyncio.sleep(0.3)

    feed = await Feed().read(port, want=7)
    evs = feed.events
    check("text/event-stream" in feed.head and feed.retry == 1000,
          "/events is text/event-stream with retry: 1000", feed.head)
    types = [e.get("event") for e in evs]
    want_types = ["join", "join", "message", "join", "leave", "leave", "leave"]
    check(types == want_types, "feed: join, join, message, join, and three leaves",
          types)
    check(ids(evs) == list(range(1, len(evs) + 1)), "feed ids are 1, 2, 3, ...", ids(evs))
    counts = [json.loads(e["data"]).get("count") for e in evs if e.get("event") != "message"]
    check(counts == [1, 2, 3, 2, 1, 0], "join/leave counts follow the sockets", counts)
    msg = [json.loads(e["data"]) for e in evs if e.get("event") == "message"]
    check(msg == [{"name": "alice", "text": "hi \u00e9\n\"quoted\""}],
          "the message event carries name and text", msg)
    return evs


async def restart_part(port, before):
    """After a restart with the same feed file: ids continue; Last-Event-ID resumes exactly."""
    last = int(before[-1]["id"])
    c = await websockets.connect("ws://127.0.0.1:%d/chat" % port)
    await c.send(json.dumps({"name": "bob", "text": "back again"}))
    await asyncio.wait_for(c.recv(), 5)
    await c.close()
    await asyncio.sleep(0.3)

    new = (await Feed().read(port, last_event_id=last, want=3)).events
    check(ids(new) == [last + 1, last + 2, last + 3] and
          [e.get("event") for e in new] == ["join", "message", "leave"],
          "after the restart ids continue, and Last-Event-ID %d gets exactly what followed"
          % last, [(e.get("id"), e.get("event")) for e in new])

    mid = int(before[2]["id"])
    resumed = (await Feed().read(port, last_event_id=mid, want=len(before) - 3 + 3)).events
    expect = before[3:] + new
    check(resumed == expect,
          "Last-Event-ID %d (before the restart) resumes with no loss and no duplicate" % mid,
          "got %s\nwant %s" % (ids(resumed), ids(expect)))

    up_to_date = await Feed().read(port, last_event_id=ids(new)[-1], quiet=0.5)
    check(up_to_date.events == [], "an up-to-date Last-Event-ID gets nothing old",
          ids(up_to_date.events))

    everything = before + new
    unknown = await Feed().read(port, last_event_id="999999", want=len(everything) + 1)
    evs = unknown.events
    check("gap" in unknown.comments and evs[:1] and evs[0].get("event") == "reset" and
          "id" not in evs[0] and evs[1:] == everything,
          "an id this feed never gave out: a gap comment, a reset event, the retained feed",
          (unknown.comments, [(e.get("id"), e.get("event")) for e in evs]))
    return everything


async def evicted_part(port, everything):
    """An id the history has evicted: a gap comment, then all it still has, no reset."""
    feed = await Feed().read(port, last_event_id=everything[1]["id"], want=3)
    check("gap" in feed.comments and feed.events == everything[-3:],
          "an evicted Last-Event-ID: a gap comment, then the 3 events kept, none twice",
          (feed.comments, [(e.get("id"), e.get("event")) for e in feed.events]))


def rsv1_counter(ws):
    """Count data frames arriving with RSV1 (compressed), in websockets' own decoder; None
    when permessage-deflate was not negotiated."""
    exts = [e for e in ws.extensions if e.name == "permessage-deflate"]
    if not exts:
        return None
    ext, n = exts[0], [0]
    orig = ext.decode

    def decode(frame, **kw):
        if frame.rsv1:
            n[0] += 1
        return orig(frame, **kw)
    ext.decode = decode
    return n


async def deflate_part(port, no_deflate_port):
    import zlib
    uri = "ws://127.0.0.1:%d/chat" % port
    a = await websockets.connect(uri, compression="deflate")
    b = await websockets.connect(uri, compression="deflate")
    hdr = a.response_headers.get("Sec-WebSocket-Extensions", "")
    check(hdr.startswith("permessage-deflate") and rsv1_counter(a) is not None,
          "permessage-deflate is negotiated by default", hdr)
    nb = rsv1_counter(b)
    text = "compress me, " * 100
    await a.send(json.dumps({"name": "alice", "text": text}))
    got = []
    for ws in (a, b):
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            got.append({"error": repr(e)})
    check([m.get("text") for m in got] == [text, text] and got[0].get("mine") is True and
          "mine" not in got[1], "a 1.3 KB line reaches both sockets, mine on the author's", got)
    check(nb is not None and nb[0] == 1, "the broadcast arrives compressed (RSV1)", nb)
    # a compressed message that inflates to 1 MB: refused at 4 KiB inflated (1009)
    bomb = await websockets.connect(uri, compression="deflate")
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = z.compress(b'{"name":"m","text":"' + b"x" * 1000000 + b'"}') + z.flush(zlib.Z_SYNC_FLUSH)
    raw = bomb.transport
    # one masked frame, RSV1, written under websockets (it would compress it again)
    key = os.urandom(4)
    payload = data[:-4]
    head = bytes([0xC1, 0x80 | 126]) + len(payload).to_bytes(2, "big") if len(payload) < 65536 \
        else bytes([0xC1, 0x80 | 127]) + len(payload).to_bytes(8, "big")
    raw.write(head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload)))
    try:
        await asyncio.wait_for(bomb.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(bomb.close_code == 1009, "a compressed message inflating past 4 KiB: 1009 (%d B sent)"
          % len(payload), bomb.close_code)
    await a.close()
    await b.close()
    c = await websockets.connect("ws://127.0.0.1:%d/chat" % no_deflate_port, compression="deflate")
    hdr = c.response_headers.get("Sec-WebSocket-Extensions")
    await c.send(json.dumps({"name": "carol", "text": "plain"}))
    m = json.loads(await asyncio.wait_for(c.recv(), 5))
    check(hdr is None and not c.extensions and m.get("text") == "plain",
          "--no-deflate declines the offer; the chat works uncompressed", hdr)
    await c.close()


def main():
    if not os.access(EXE, os.X_OK):
        print("1..0 # SKIP %s is not built" % EXE)
        return 0
    tmp = tempfile.mkdtemp(prefix="rtweb-chat-test-")
    feed = os.path.join(tmp, "feed.log")
    try:
        p, port, line = start(feed)
        if not check(port is not None, "prints its URL line once listening", line):
            return 1
        before = asyncio.run(asyncio.wait_for(chat_part(port), 30))
        check(stop(p) == 0, "SIGTERM: clean exit with status 0")
        with open(feed, encoding="utf-8") as f:
            lines = f.read().splitlines()
        check(len(lines) == len(before) and all(l.startswith("%d\t" % (i + 1))
                                                for i, l in enumerate(lines)),
              "the feed file holds one line per event", lines)

        p, port, line = start(feed)
        check(port is not None, "restarts with the same feed file", line)
        everything = asyncio.run(asyncio.wait_for(restart_part(port, before), 30))
        check(stop(p) == 0, "SIGTERM again: exit status 0")

        p, port, line = start(feed, "--history", "3")
        check(port is not None, "restarts with --history 3", line)
        asyncio.run(asyncio.wait_for(evicted_part(port, everything), 30))
        stop(p)

        p, port, line = start(os.path.join(tmp, "feed2.log"))
        q, qport, qline = start(os.path.join(tmp, "feed3.log"), "--no-deflate")
        if check(port is not None and qport is not None, "starts with and without --no-deflate",
                 (line, qline)):
            asyncio.run(asyncio.wait_for(deflate_part(port, qport), 30))
        check(stop(p) == 0 and stop(q) == 0, "both exit 0 on SIGTERM")
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
