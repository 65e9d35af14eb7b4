# SPDX-License-Identifier: MIT
"""SSE through the binding: parser, writer, history, and the HTTP server helpers."""

import unittest

import support
import rtweb
from rtweb import sse
from rtweb.sse import Event

STREAM = (b"\xef\xbb\xbf: hello\r\n"
          b"retry: 2500\r\n"
          b"id: 1\nevent: greeting\ndata: hello\ndata: world\n\n"
          b"data:  leading space\r\r"
          b"id: 2\rdata: caf\xc3\xa9 \xff\r\n\r\n"
          b"id: 3\n\n"                                   # id only: no event, on_id fires
          b"event: nul\ndata: a\x00b\n\n"
          b"data: never dispatched\n")


def parse(pieces, **kw):
    comments, ids = [], []
    with sse.Parser(on_comment=comments.append, on_id=ids.append, **kw) as p:
        events = []
        for piece in pieces:
            events += p.feed(piece)
        p.end()
        return events, comments, ids, p.retry, p.last_event_id


class ParserTest(unittest.TestCase):
    def test_events(self):
        events, comments, ids, retry, last = parse([STREAM])
        self.assertEqual(events, [
            Event("greeting", "hello\nworld", "1"),
            Event("message", " leading space", "1"),
            Event("message", "caf\u00e9 \ufffd", "2"),   # invalid UTF-8 -> U+FFFD
            Event("nul", "a\x00b", "3"),
        ])
        self.assertEqual(comments, ["hello"])
        self.assertEqual(ids, ["1", "2", "3"])
        self.assertEqual(retry, 2500)
        self.assertEqual(last, "3")

    def test_whole_equals_pieces(self):
        whole = parse([STREAM])
        for pieces in support.splits(STREAM):
            self.assertEqual(parse(pieces), whole, pieces)

    def test_raw_bytes(self):
        with sse.Parser(raw_bytes=True) as p:
            self.assertEqual(p.feed(b"data: \xff\n\n"), [Event(b"message", b"\xff", b"")])

    def test_streamed_data(self):
        pieces, discards = [], []
        with sse.Parser(on_data=pieces.append, on_discard=lambda: discards.append(1)) as p:
            events = p.feed(b"data: ab\ndata: cd\n\n")
            self.assertEqual(events, [Event("message", None, "")])
            self.assertEqual("".join(pieces), "ab\ncd")
            del pieces[:]
            self.assertEqual(p.feed(b"data: lost"), [])
            self.assertEqual(discards, [])
            p.end()
        self.assertEqual("".join(pieces), "lost")
        self.assertEqual(discards, [1])             # drop what on_data delivered

    def test_limit_error_has_name(self):
        with sse.Parser(max_type_length=8) as p:
            with self.assertRaises(rtweb.SSEError) as cm:
                p.feed(b"data: ok\n\nevent: much-too-long\n")
            self.assertEqual(cm.exception.name, "RTW_ERR_SSE_TYPE_TOO_LONG")
            self.assertEqual(cm.exception.events, [Event("message", "ok", "")])
            with self.assertRaises(rtweb.SSEError):         # sticky
                p.feed(b"data: x\n\n")
            p.reset()
            self.assertEqual(p.feed(b"data: x\n\n"), [Event("message", "x", "")])

    def test_long_lines_and_comment_cut(self):
        comments = []
        with sse.Parser(on_comment=comments.append, max_comment_length=4) as p:
            events = p.feed(b": " + b"c" * 100000 + b"\nx-pad: " + b"u" * 100000 +
                            b"\nretry: " + b"0" * 100000 + b"7\ndata: ok\n\n")
            self.assertEqual(events, [Event("message", "ok", "")])
            self.assertEqual(comments, ["cccc"])    # cut to max_comment_length
            self.assertEqual(p.retry, 7)

    def test_reset_seeds_last_event_id(self):
        with sse.Parser() as p:
            p.feed(b"id: 41\ndata: a\n\n")
            p.reset(p.last_event_id)
            self.assertEqual(p.feed(b"data: b\n\n"), [Event("message", "b", "41")])
            with self.assertRaises(rtweb.Error) as cm:
                p.reset("bad\nid")
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_ARGUMENT")

    def test_callback_exception_propagates(self):
        class Boom(Exception):
            pass

        def on_comment(text):
            raise Boom(text)
        with sse.Parser(on_comment=on_comment) as p:
            with self.assertRaises(Boom):
                p.feed(b": x\ndata: y\n\n")
            # the parser failed with RTW_ERR_CALLBACK_FAILURE (sticky) until reset
            with self.assertRaises(rtweb.Error) as cm:
                p.feed(b"data: z\n\n")
            self.assertEqual(cm.exception.name, "RTW_ERR_CALLBACK_FAILURE")

    def test_closed_object_raises(self):
        p = sse.Parser()
        p.close()
        p.close()                                   # idempotent
        with self.assertRaises(rtweb.Error) as cm:
            p.feed(b"data: x\n\n")
        self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")


class WriterTest(unittest.TestCase):
    CASES = [
        ("hello", None, None),
        ("two\nlines\r\nand\rthree", "update", "7"),
        ("", "empty", ""),
        (" leading and trailing ", None, "x y"),
        ("nul \x00 inside", "t\x00ype", "id-\u00e9"),
        ("\u2603 snow \U0001F600", "\u00e9v\u00e9nement", "\u4e2d"),
        ("x" * 5000, None, "big"),
    ]

    def test_round_trip(self):
        for crlf in (False, True):
            stream = b"".join(sse.format_event(d, event=t, id=i, crlf=crlf)
                              for d, t, i in self.CASES)
            with sse.Parser() as p:
                events = p.feed(stream)
            self.assertEqual(len(events), len(self.CASES))
            for ev, (d, t, i) in zip(events, self.CASES):
                expect = d.replace("\r\n", "\n").replace("\r", "\n")
                self.assertEqual(ev.data, expect)
                self.assertEqual(ev.type, t or "message")
            self.assertEqual(events[-1].id, "big")

    def test_exact_bytes(self):
        self.assertEqual(sse.format_event("EUR 10\nUSD 11", event="price", id="42"),
                         b"event: price\nid: 42\ndata: EUR 10\ndata: USD 11\n\n")
        self.assertEqual(sse.format_event("x", crlf=True), b"data: x\r\n\r\n")
        self.assertEqual(sse.format_comment(), b":\n")
        self.assertEqual(sse.format_comment("ping"), b": ping\n")
        self.assertEqual(sse.format_retry(5000), b"retry: 5000\n")

    def test_refused(self):
        for kw, name in (({"id": "a\nb"}, "RTW_ERR_SSE_INVALID_FIELD"),
                         ({"id": "a\x00b"}, "RTW_ERR_SSE_INVALID_FIELD"),
                         ({"event": "a\rb"}, "RTW_ERR_SSE_INVALID_FIELD")):
            with self.assertRaises(rtweb.SSEError) as cm:
                sse.format_event("x", **kw)
            self.assertEqual(cm.exception.name, name)
        with self.assertRaises(rtweb.Error) as cm:
            sse.format_event(b"\xff")
        self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_UTF8")


class HistoryTest(unittest.TestCase):
    def test_resume(self):
        with sse.History(max_events=8) as h:
            sent = [h.publish("event %d" % k, id=str(k)) for k in range(1, 6)]
            self.assertEqual((h.first_seq, h.next_seq, len(h)), (0, 5, 5))
            self.assertEqual(h.find("2"), 2)
            self.assertEqual(h.replay("2"), sent[2:])
            self.assertEqual(h.replay("5"), [])           # up to date
            self.assertEqual(h.get(0), sent[0])
            with self.assertRaises(rtweb.HistoryEnd):
                h.get(5)

    def test_gap(self):
        with sse.History(max_events=3) as h:
            for k in range(1, 8):
                h.publish("e%d" % k, id=str(k))
            self.assertEqual((h.first_seq, h.next_seq), (4, 7))
            with self.assertRaises(rtweb.HistoryGap) as cm:
                h.find("2")                                # evicted
            self.assertEqual(cm.exception.name, "RTW_ERR_SSE_HISTORY_GAP")
            with self.assertRaises(rtweb.HistoryGap):
                h.find("unknown")
            with self.assertRaises(rtweb.HistoryGap):
                h.get(1)
            self.assertEqual(len(h.replay("5")), 2)

    def test_too_large(self):
        with sse.History(max_events=4, max_bytes=64) as h:
            with self.assertRaises(rtweb.SSEError) as cm:
                h.push("1", b"x" * 100)
            self.assertEqual(cm.exception.name, "RTW_ERR_SSE_EVENT_TOO_LARGE")
            self.assertEqual(h.next_seq, 0)


class HttpTest(unittest.TestCase):
    def test_request_and_resume(self):
        req_bytes = (b"GET /events?x=1 HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
                     b"Last-Event-ID: 2\r\n\r\n")
        with sse.History() as h:
            for k in range(1, 4):
                h.publish("e", id=str(k))
            for pieces in support.splits(req_bytes):
                with sse.HttpRequest() as req:
                    done = [req.feed(p) for p in pieces]
                    self.assertEqual(done[-1], True)
                    self.assertFalse(any(done[:-1]))
                    self.assertEqual((req.path, req.query, req.last_event_id),
                                     ("/events", "x=1", "2"))
                    self.assertTrue(req.accepts)
                    self.assertTrue(req.chunked)
                    self.assertEqual(req.resume(h), 2)
            with sse.HttpRequest() as req:
                req.feed(b"GET /events HTTP/1.1\r\nHost: h\r\nLast-Event-ID: zz\r\n\r\n")
                with self.assertRaises(rtweb.HistoryGap) as cm:
                    req.resume(h)
                self.assertEqual(cm.exception.seq, 3)
            with sse.HttpRequest() as req:
                req.feed(b"GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
                self.assertIsNone(req.resume(h))

    def test_bad_request(self):
        with sse.HttpRequest() as req:
            with self.assertRaises(rtweb.HTTPError) as cm:
                req.feed(b"POST /events HTTP/1.1\r\nHost: h\r\n\r\n")
            self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_BAD_METHOD")

    def test_response_and_chunks(self):
        head = sse.http_response_head(chunked=True, headers={"Access-Control-Allow-Origin": "*"})
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertIn(b"Content-Type: text/event-stream\r\n", head)
        self.assertIn(b"Transfer-Encoding: chunked\r\n", head)
        self.assertIn(b"Access-Control-Allow-Origin: *\r\n", head)
        self.assertTrue(head.endswith(b"\r\n\r\n"))
        self.assertIn(b"Connection: close", sse.http_response_head(chunked=False))
        self.assertEqual(sse.http_chunk(b"data: x\n\n"), b"9\r\ndata: x\n\n\r\n")
        self.assertEqual(sse.http_chunk(b""), b"")
        with self.assertRaises(rtweb.HTTPError) as cm:
            sse.http_response_head(headers={"Content-Type": "text/plain"})
        self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_INVALID_HEADER")


if __name__ == "__main__":
    unittest.main()
