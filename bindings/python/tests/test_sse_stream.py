# SPDX-License-Identifier: MIT
"""The server-side SSE stream through the binding: resume, gap, live events, framing, budget,
slow consumers, heartbeats and the send timeout. Output is decoded (chunks) and parsed back
with sse.Parser."""

import unittest

import support  # noqa: F401 - sets sys.path
import rtweb
from rtweb import sse, sse_stream, errors, SSEError
from rtweb.sse import Event
from rtweb.sse_stream import Stream

HEAD11 = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
          b"X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n")
HEAD10 = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
          b"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n")


def request(last_id=None, v10=False):
    head = b"GET /events HTTP/1.0\r\n" if v10 else b"GET /events HTTP/1.1\r\nHost: x\r\n"
    if last_id is not None:
        head += b"Last-Event-ID: " + last_id.encode() + b"\r\n"
    req = sse.HttpRequest()
    assert req.feed(head + b"\r\n")
    return req


def drain(st, step=None):
    out = b""
    while True:
        data = st.pending()
        if not data:
            return out
        n = len(data) if step is None else min(step, len(data))
        out += data[:n]
        st.consumed(n)


def dechunk(body):
    """RFC 9112 7.1 chunked body -> (bytes, ended)."""
    out = b""
    while body:
        line, _, rest = body.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            assert rest == b"\r\n"
            return out, True
        out += rest[:size]
        assert rest[size:size + 2] == b"\r\n"
        body = rest[size + 2:]
    return out, False


def events(stream_bytes, comments=None):
    with sse.Parser(on_comment=(comments.append if comments is not None else None)) as p:
        return p.feed(stream_bytes)


def publish(history, lo, hi):
    for i in range(lo, hi):
        history.publish("event %d" % i, id=str(i))


class StreamTest(unittest.TestCase):
    def test_resume_live_and_end(self):
        h = sse.History(16, 4096)
        publish(h, 0, 5)
        with request("2") as req:
            st = Stream(req, h, retry_ms=1500)
        self.assertEqual(st.cursor, 3)
        out = drain(st)
        self.assertTrue(out.startswith(HEAD11))
        publish(h, 5, 6)                       # pushed after creation: noticed
        self.assertTrue(st.want_write)
        st.send("direct", event="note")
        out += drain(st, step=3)               # partial writes
        st.end()
        out += drain(st)
        self.assertTrue(st.done)
        body, ended = dechunk(out[len(HEAD11):])
        self.assertTrue(ended)
        self.assertEqual(events(body), [
            Event("message", "event 3", "3"),
            Event("message", "event 4", "4"),
            Event("note", "direct", "4"),
            Event("message", "event 5", "5"),
        ])
        self.assertTrue(body.startswith(b"retry: 1500\n"))
        st.close()
        h.close()

    def test_gap_sends_reset(self):
        h = sse.History(4, 4096)
        publish(h, 0, 10)
        seen = []

        def on_gap(stream, reason):
            seen.append(reason)
            stream.send("", event="reset")

        with request("0") as req:
            st = Stream(req, h, on_gap=on_gap)
        self.assertEqual(seen, [sse_stream.GAP_RESUME])
        self.assertEqual(st.cursor, 10)
        body, ended = dechunk(drain(st)[len(HEAD11):])
        self.assertFalse(ended)
        self.assertEqual(events(body), [Event("reset", "", "")])
        st.close()
        h.close()

    def test_set_cursor(self):
        h = sse.History(4, 4096)
        publish(h, 0, 10)                      # 6..9 retained

        def on_gap(stream, reason):            # an evicted id: continue from the oldest
            stream.comment("gap")
            stream.cursor = h.first_seq

        with request("1") as req:
            st = Stream(req, h, on_gap=on_gap)
        self.assertEqual(st.cursor, 6)
        with self.assertRaises(rtweb.HistoryGap):
            st.cursor = 5
        with self.assertRaises(SSEError):
            st.cursor = 11
        comments = []
        body, _ = dechunk(drain(st)[len(HEAD11):])
        self.assertEqual([e.id for e in events(body, comments)], ["6", "7", "8", "9"])
        self.assertEqual(comments, ["gap"])
        st.close()
        h.close()

    def test_gap_callback_exception(self):
        def on_gap(stream, reason):
            raise ValueError("boom")

        with request("nope") as req:
            with self.assertRaises(ValueError):
                Stream(req, None, on_gap=on_gap)

    def test_http10(self):
        h = sse.History()
        publish(h, 0, 2)
        with request("0", v10=True) as req:
            st = Stream(req, h, headers={"Access-Control-Allow-Origin": "*"})
        out = drain(st)
        st.end()
        self.assertTrue(st.done)
        head = HEAD10[:-2] + b"Access-Control-Allow-Origin: *\r\n\r\n"
        self.assertEqual(out, head + b"id: 1\ndata: event 1\n\n")
        st.close()
        h.close()

    def test_budget(self):
        h = sse.History(64, 8192)
        publish(h, 0, 10)
        with request("0") as req:
            st = Stream(req, h, max_outbound=100)
        st.consumed(len(st.pending()))         # the head
        first = st.pending()                   # 4 events of 27 framed bytes
        self.assertEqual(len(first), 4 * 27)
        self.assertEqual(st.cursor, 5)
        with self.assertRaises(SSEError) as cm:
            st.send("refused")
        self.assertEqual(cm.exception.name, "RTW_ERR_SSE_OUTBOUND_FULL")
        self.assertEqual(st.outbound_size, 4 * 27)
        st.consumed(len(first))
        body, _ = dechunk(first + drain(st))
        self.assertEqual([e.id for e in events(body)], [str(i) for i in range(1, 10)])
        st.close()
        h.close()

    def test_slow_drop_and_hold(self):
        h = sse.History(4, 4096)
        with request() as req:
            drop = Stream(req, h)
            reasons = []
            hold = Stream(req, h, slow_policy=sse_stream.SLOW_HOLD,
                          on_gap=lambda s, r: reasons.append(r))
        publish(h, 0, 10)                      # 0..5 evicted before anything was pulled
        comments = []
        body, ended = dechunk(drain(drop)[len(HEAD11):])
        self.assertTrue(ended)
        self.assertEqual(events(body, comments), [])
        self.assertEqual(comments, ["rtweb: dropped, slow consumer"])
        self.assertEqual(drop.error.name, "RTW_ERR_SSE_SLOW_CONSUMER")
        self.assertTrue(drop.done)
        body, ended = dechunk(drain(hold)[len(HEAD11):])
        self.assertEqual(reasons, [sse_stream.GAP_SLOW])
        self.assertEqual([e.id for e in events(body)], ["6", "7", "8", "9"])
        self.assertIsNone(hold.error)
        drop.close()
        hold.close()
        h.close()

    def test_heartbeat_and_send_timeout(self):
        with request() as req:
            st = Stream(req, None, heartbeat_ms=1000)
            slow = Stream(req, None, heartbeat=False, send_timeout_ms=500)
        drain(st)
        self.assertIsNone(st.next_deadline)    # timers arm at the first tick
        st.tick(0)
        self.assertEqual(st.next_deadline, 1000)
        st.tick(1000)
        self.assertEqual(st.pending(), b"2\r\n:\n\r\n")
        slow.tick(0)
        self.assertEqual(slow.next_deadline, 500)
        with self.assertRaises(errors.Error) as cm:
            slow.tick(500)
        self.assertEqual(cm.exception.name, "RTW_ERR_SEND_TIMEOUT")
        self.assertTrue(slow.done)
        self.assertEqual(slow.pending(), b"")
        st.close()
        slow.close()


if __name__ == "__main__":
    unittest.main()
