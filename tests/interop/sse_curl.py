#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Server-Sent Events seen by `curl -N`: the SSE endpoints of `rtwcat serve` (events fed on its
standard input) and of the chat demo `rtweb-chat` (its activity feed, driven by a chat client).

Checks the response head (status, Content-Type), the wire form of events (id, data, event,
retry fields), heartbeats, replay from Last-Event-ID, the gap comment, broadcast to several
clients, 404 for other paths, and clean shutdown. The stream is parsed here by a small
independent reader of the WHATWG format, not by rtweb's parser.
Prints TAP. Environment: RTWCAT, RTWEB_CHAT = paths to the built programs.
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHILDREN = []
DEADLINE = time.monotonic() + 90


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond and diag:
            for line in str(diag).splitlines():
                print(f"# {line}", flush=True)
        return cond

    def test(self, name, fn):
        try:
            r = fn()
        except Exception as e:
            return self.ok(False, name, f"{type(e).__name__}: {e}")
        if isinstance(r, tuple):
            return self.ok(bool(r[0]), name, r[1])
        return self.ok(r is not False, name)


def skip_all(why):
    print(f"1..0 # SKIP {why}", flush=True)
    sys.exit(0)


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    CHILDREN.append(p)
    return p


def stop(p, grace=3.0):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def kill_all():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            p.wait()


def read_line(p, pattern, timeout=10.0):
    """Reads p.stdout (a pipe) until a line matches pattern; returns the match."""
    end = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(pattern, buf)
            if m:
                return m
    raise RuntimeError(f"no line matching {pattern!r} within {timeout} s: {buf[:300]!r}")


class Curl:
    """`curl -sN -D - URL`: the response head and the body as it streams, parsed into events."""

    def __init__(self, url, *headers):
        args = ["curl", "-sN", "-D", "-", "--max-time", "60"]
        for h in headers:
            args += ["-H", h]
        self.p = spawn(args + [url], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.raw = b""

    def pump(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if r:
            chunk = os.read(self.p.stdout.fileno(), 65536)
            self.raw += chunk
            return len(chunk) > 0
        return True

    def head_body(self):
        i = self.raw.find(b"\r\n\r\n")
        if i < 0:
            return None, b""
        return self.raw[:i].decode("latin-1"), self.raw[i + 4:]

    def status_and_headers(self):
        head, _ = self.head_body()
        if head is None:
            return None, {}
        lines = head.split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return lines[0], hdrs

    def items(self):
        """Events and comments, in order: ('event', type, data, id) / ('comment', text) /
        ('retry', value). A minimal reader of WHATWG HTML 9.2.6 for LF-terminated lines."""
        _, body = self.head_body()
        out, data, etype, last_id = [], [], "", ""
        text = body.decode("utf-8", errors="replace")
        lines = text.split("\n")[:-1]  # the last piece is an unfinished line
        for line in lines:
            line = line.rstrip("\r")
            if line == "":
                if data:
                    out.append(("event", etype or "message", "\n".join(data), last_id))
                data, etype = [], ""
                continue
            if line.startswith(":"):
                out.append(("comment", line[1:].lstrip(" ") if line[1:2] == " " else line[1:]))
                continue
            field, sep, value = line.partition(":")
            if sep and value.startswith(" "):
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                etype = value
            elif field == "id":
                last_id = value
            elif field == "retry":
                out.append(("retry", value))
        return out

    def events(self):
        return [(t, d, i) for (k, *rest) in self.items() if k == "event" for (t, d, i) in [rest]]

    def wait(self, pred, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self):
                return True
            if not self.pump(0.05):  # end of the body: only the process exit can still change
                time.sleep(0.05)
        return pred(self)

    def close(self):
        stop(self.p, 1)


def serve_tests(tap, rtwcat):
    srv = spawn([rtwcat, "serve", "--port", "0", "--history", "4", "--heartbeat", "1"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = int(read_line(srv, rb"listening on http://127\.0\.0\.1:(\d+)/").group(1))
    url = f"http://127.0.0.1:{port}/events"
    sent = 0

    def feed(*lines):
        nonlocal sent
        srv.stdin.write("".join(line + "\n" for line in lines).encode())
        srv.stdin.flush()
        sent += len(lines)

    try:
        c1 = Curl(url, "Accept: text/event-stream")
        c2 = Curl(url)  # any Accept

        def head():
            c1.wait(lambda c: c.head_body()[0] is not None)
            status, h = c1.status_and_headers()
            ok = status is not None and " 200" in status and h.get("content-type", "").startswith("text/event-stream")
            return ok, f"status {status} headers {h}"
        tap.test("curl -N rtwcat serve /events: 200, Content-Type text/event-stream", head)

        def first_events():
            time.sleep(0.2)  # both curls connected before the first line
            feed("one", "two wörld", "a: b")
            want = [("message", "one", "1"), ("message", "two wörld", "2"), ("message", "a: b", "3")]
            c1.wait(lambda c: len(c.events()) >= 3)
            c2.wait(lambda c: len(c.events()) >= 3)
            ok = c1.events() == want and c2.events() == want
            return ok, f"c1 {c1.events()} c2 {c2.events()}"
        tap.test("curl -N: stdin lines arrive as events with ids 1, 2, 3 (two clients)", first_events)

        def wire():
            _, body = c1.head_body()
            return b"id: 1\ndata: one\n\n" in body or b"id:1\ndata:one\n\n" in body or \
                b"data: one\nid: 1\n\n" in body, f"body {body[:200]!r}"
        tap.test("curl -N: wire form of an event (id and data fields, blank line)", wire)

        def heartbeat():
            ok = c1.wait(lambda c: ("comment", "heartbeat") in c.items(), 3.5)
            return ok, f"items {c1.items()[-5:]}"
        tap.test("curl -N: ': heartbeat' comment with --heartbeat 1", heartbeat)
        c2.close()

        def replay():
            c3 = Curl(url, "Last-Event-ID: 1")
            try:
                c3.wait(lambda c: len(c.events()) >= 2)
                feed("four")
                c3.wait(lambda c: len(c.events()) >= 3)
                want = [("message", "two wörld", "2"), ("message", "a: b", "3"), ("message", "four", "4")]
                return c3.events() == want, f"got {c3.events()}"
            finally:
                c3.close()
        tap.test("curl -N -H 'Last-Event-ID: 1': replays 2 and 3, then continues with 4", replay)

        def gap():
            feed("5", "6", "7", "8", "9")  # history 4: ids 6..9 are kept
            c1.wait(lambda c: len(c.events()) >= 9)
            c4 = Curl(url, "Last-Event-ID: 2")
            try:
                c4.wait(lambda c: ("comment", "gap") in c.items(), 3)
                time.sleep(0.2)
                feed("ten")
                c4.wait(lambda c: len(c.events()) >= 1)
                time.sleep(0.2)
                c4.pump(0.05)
                items = [i for i in c4.items() if i[0] != "comment" or i[1] != "heartbeat"]
                ok = items and items[0] == ("comment", "gap") and c4.events() == [("message", "ten", "10")]
                return ok, f"items {items}"
            finally:
                c4.close()
        tap.test("curl -N: Last-Event-ID older than the history (--history 4) -> ': gap', then live", gap)

        def all_seen():
            c1.wait(lambda c: len(c.events()) >= 10)
            ids = [i for (_, _, i) in c1.events()]
            return ids == [str(i) for i in range(1, 11)], f"ids {ids}"
        tap.test("curl -N: the first client saw ids 1..10 exactly once, in order", all_seen)

        def not_found():
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                f"http://127.0.0.1:{port}/nothing"], capture_output=True, timeout=10)
            return r.stdout == b"404", f"status {r.stdout!r}"
        tap.test("curl: GET /nothing -> 404", not_found)

        def shutdown():
            code = stop(srv)
            ended = c1.wait(lambda c: c.p.poll() is not None, 3)
            return code == 0 and ended, f"serve exit {code}; curl ended {ended} ({c1.p.poll()})"
        tap.test("rtwcat serve: SIGTERM -> exit 0, the SSE response ends", shutdown)
    finally:
        stop(srv)


def chat_tests(tap, rtwcat, chat):
    tmp = tempfile.mkdtemp(prefix="rtw-interop-")
    feed_file = os.path.join(tmp, "feed.log")
    srv = spawn([chat, "--port", "0", "--feed-file", feed_file], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        port = int(read_line(srv, rb"rtweb-chat: open http://127\.0\.0\.1:(\d+)/ in a browser").group(1))
        url = f"http://127.0.0.1:{port}/events"
        c = Curl(url, "Accept: text/event-stream")

        def head():
            c.wait(lambda x: ("retry", "1000") in x.items(), 3)
            status, h = c.status_and_headers()
            ok = status and " 200" in status and h.get("content-type", "").startswith("text/event-stream") and \
                ("retry", "1000") in c.items()
            return ok, f"status {status} headers {h} items {c.items()}"
        tap.test("curl -N rtweb-chat /events: 200, text/event-stream, retry: 1000", head)

        def chat_events():
            msg = json.dumps({"name": "curl", "text": "hi über"}) + "\n"
            r = subprocess.run([rtwcat, f"ws://127.0.0.1:{port}/chat"], input=msg.encode(),
                               capture_output=True, timeout=15)
            c.wait(lambda x: len(x.events()) >= 3)
            ev = c.events()
            ok = len(ev) == 3 and [e[0] for e in ev] == ["join", "message", "leave"] and \
                [e[2] for e in ev] == ["1", "2", "3"] and json.loads(ev[0][1]) == {"count": 1} and \
                json.loads(ev[1][1]) == {"name": "curl", "text": "hi über"} and json.loads(ev[2][1]) == {"count": 0}
            echo = r.stdout.decode(errors="replace").strip()
            try:
                e = json.loads(echo)
                ok = ok and e.get("name") == "curl" and e.get("text") == "hi über" and isinstance(e.get("ts"), int)
            except ValueError:
                ok = False
            return ok, f"rtwcat exit {r.returncode} stdout {echo!r}; events {ev}"
        tap.test("curl -N rtweb-chat /events: join, message, leave with ids 1, 2, 3 (chat via rtwcat ws://)", chat_events)

        def resume():
            c2 = Curl(url, "Last-Event-ID: 1")
            try:
                c2.wait(lambda x: len(x.events()) >= 2)
                time.sleep(0.2)
                c2.pump(0.05)
                ids = [e[2] for e in c2.events()]
                return ids == ["2", "3"], f"ids {ids}"
            finally:
                c2.close()
        tap.test("curl -N -H 'Last-Event-ID: 1' rtweb-chat /events: exactly 2 and 3", resume)

        def restart():
            nonlocal srv
            c.close()
            code = stop(srv)
            srv = spawn([chat, "--port", "0", "--feed-file", feed_file], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            p2 = int(read_line(srv, rb"rtweb-chat: open http://127\.0\.0\.1:(\d+)/ in a browser").group(1))
            c3 = Curl(f"http://127.0.0.1:{p2}/events", "Last-Event-ID: 2")
            try:
                subprocess.run([rtwcat, f"ws://127.0.0.1:{p2}/chat"], input=b"", capture_output=True, timeout=15)
                c3.wait(lambda x: len(x.events()) >= 3)
                time.sleep(0.2)
                c3.pump(0.05)
                ids = [e[2] for e in c3.events()]
                types = [e[0] for e in c3.events()]
                return code == 0 and ids == ["3", "4", "5"] and types == ["leave", "join", "leave"], \
                    f"first exit {code}; ids {ids} types {types}"
            finally:
                c3.close()
        tap.test("rtweb-chat restarted with the same --feed-file: Last-Event-ID 2 -> 3, then new ids 4, 5", restart)
    finally:
        stop(srv)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if shutil.which("curl") is None:
        skip_all("curl not installed (apt-get install curl)")
    rtwcat = os.environ.get("RTWCAT", "")
    chat = os.environ.get("RTWEB_CHAT", "")
    if not os.path.exists(rtwcat):
        skip_all(f"rtwcat not built (RTWCAT={rtwcat or 'unset'})")
    tap = Tap()
    signal.signal(signal.SIGALRM, lambda *_: (tap.ok(False, "driver finished within 90 s"), kill_all(),
                                               print(f"1..{tap.n}", flush=True), os._exit(1)))
    signal.alarm(90)
    try:
        try:
            serve_tests(tap, rtwcat)
        except Exception as e:
            tap.ok(False, "rtwcat serve SSE cases ran to their end", f"{type(e).__name__}: {e}")
        if os.path.exists(chat):
            try:
                chat_tests(tap, rtwcat, chat)
            except Exception as e:
                tap.ok(False, "rtweb-chat SSE cases ran to their end", f"{type(e).__name__}: {e}")
        else:
            tap.n += 1
            print(f"ok {tap.n} - rtweb-chat /events # SKIP rtweb-chat not built (RTWEB_CHAT={chat or 'unset'})")
    finally:
        kill_all()
    print(f"1..{tap.n}", flush=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
