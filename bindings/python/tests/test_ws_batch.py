# SPDX-License-Identifier: MIT
"""Batched delivery and batched sends (issue 15, "Through the FFI"): feed() crosses into C
once per read and walks the events the library recorded (ws.h, "Event batches"); send()
defers messages the session certainly accepts and queues them in one call. Everything here
is compared against the callback path (on_event), which takes one C callback per event."""

import unittest

import support  # noqa: F401 (sys.path)
from rtweb import ws, _lib
from rtweb.errors import Error, CODES
from rtweb.ws import Message, MessageBegin, MessageData, MessageEnd, Ping, Pong, Close

KEYS = [bytes([i & 0xff, (i >> 8) & 0xff, 7, 9]) for i in range(20000)]


def client_stream(*frames):
    """Masked client frames: (opcode, payload, fin) tuples."""
    out = []
    for i, (op, payload, fin) in enumerate(frames):
        out.append(ws.build_frame(op, payload, fin=fin, mask_key=KEYS[i]))
    return b"".join(out)


def callback_events(stream, **kw):
    """What the one-callback-per-event path delivers for the whole stream."""
    got = []
    s = ws.Session("server", on_event=got.append, **kw)
    with s:
        s.feed(stream)
    return got


def mixed_stream():
    return client_stream(
        (ws.OP_TEXT, "hello \u00e9".encode(), True),
        (ws.OP_BINARY, b"\x00\x01\x02", True),
        (ws.OP_TEXT, b"frag", False),
        (ws.OP_PING, b"p1", True),
        (ws.OP_CONTINUATION, "mented \u4e2d".encode(), True),
        (ws.OP_BINARY, b"", True),
        (ws.OP_PONG, b"po", True),
        (ws.OP_CLOSE, b"\x03\xe8bye", True))


EXPECTED_WHOLE = [Message(ws.OP_TEXT, "hello \u00e9"), Message(ws.OP_BINARY, b"\x00\x01\x02"),
                  Ping(b"p1"), Message(ws.OP_TEXT, "fragmented \u4e2d"),
                  Message(ws.OP_BINARY, b""), Pong(b"po"), Close(1000, "bye")]


def join_streamed(events):
    """Streamed events with the MessageData pieces of each message joined (pieces follow
    input boundaries)."""
    out, cur = [], None
    for e in events:
        if isinstance(e, MessageData):
            cur += bytes(e.data)
            continue
        if isinstance(e, MessageBegin):
            cur = b""
        elif isinstance(e, MessageEnd):
            out.append(MessageData(cur))
        out.append(e)
    return out


class BatchFeedTest(unittest.TestCase):
    def test_same_events_as_callbacks(self):
        stream = mixed_stream()
        self.assertEqual(callback_events(stream), EXPECTED_WHOLE)
        with ws.Session("server") as s:
            self.assertIsNotNone(s._batch)            # the batch path is the one tested
            self.assertEqual(s.feed(stream), EXPECTED_WHOLE)
            self.assertEqual(s.close_sent, 1000)
        streamed = callback_events(stream, whole_messages=False)
        with ws.Session("server", whole_messages=False) as s:
            self.assertEqual(s.feed(stream), streamed)

    def test_every_split(self):
        stream = mixed_stream()
        for whole in (True, False):
            ref = join_streamed(callback_events(stream, whole_messages=whole))
            for cut in range(len(stream) + 1):
                with ws.Session("server", whole_messages=whole) as s:
                    got = s.feed(stream[:cut]) + s.feed(stream[cut:])
                    self.assertEqual(join_streamed(got), ref, (whole, cut))
            with ws.Session("server", whole_messages=whole) as s:    # byte by byte
                got = []
                for i in range(len(stream)):
                    got += s.feed(stream[i:i + 1])
                self.assertEqual(join_streamed(got), ref)

    def test_many_messages_in_one_feed(self):
        # more than one batch holds (RTW_WS_BATCH_DEFAULT_MAX_EVENTS): feed() loops in C
        n = _lib.RTW_WS_BATCH_DEFAULT_MAX_EVENTS * 2 + 17
        texts = ["m%d" % i for i in range(n)]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        with ws.Session("server") as s:
            got = s.feed(stream)
            self.assertEqual(got, [Message(ws.OP_TEXT, t) for t in texts])
            self.assertEqual(s.held_input, 0)

    def test_large_messages_over_the_arena(self):
        # messages larger than the default arena, many in one read: decoded through a view
        big = [bytes([i]) * (300 * 1024) for i in range(5)]
        text = "\u00e9" * 70000
        stream = client_stream(*([(ws.OP_BINARY, b, True) for b in big] +
                                 [(ws.OP_TEXT, text.encode(), True)]))
        with ws.Session("server") as s:
            got = s.feed(stream)
            self.assertEqual(got, [Message(ws.OP_BINARY, b) for b in big] +
                             [Message(ws.OP_TEXT, text)])
            self.assertIs(type(got[0].data), bytes)

    def test_protocol_error_keeps_earlier_events(self):
        stream = client_stream((ws.OP_TEXT, b"ok", True), (ws.OP_TEXT, b"\xff", True))
        with ws.Session("server") as s:
            with self.assertRaises(Error) as cm:
                s.feed(stream)
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_UTF8")
            self.assertEqual(cm.exception.events, [Message(ws.OP_TEXT, "ok")])
            self.assertEqual(cm.exception.close_code, 1007)

    def test_ping_in_the_middle_and_deferred_echo_order(self):
        # echo each message; the session's own pong (queued during feed) goes out first,
        # then the echoes, in order, then what is sent after
        stream = client_stream((ws.OP_TEXT, b"a", True), (ws.OP_PING, b"p", True),
                               (ws.OP_TEXT, b"b", True))
        with ws.Session("server") as s, ws.Session("client") as c:
            for e in s.feed(stream):
                if isinstance(e, Message):
                    s.send(e.data)
            s.ping(b"q")
            s.send(b"c")
            self.assertEqual(c.feed(s.data_to_send()),
                             [Pong(b"p"), Message(ws.OP_TEXT, "a"),
                              Message(ws.OP_TEXT, "b"), Ping(b"q"),
                              Message(ws.OP_BINARY, b"c")])

    def test_close_in_the_middle(self):
        stream = client_stream((ws.OP_TEXT, b"a", True), (ws.OP_CLOSE, b"\x03\xe8", True),
                               (ws.OP_TEXT, b"after", True))
        with ws.Session("server") as s:
            self.assertEqual(s.feed(stream), [Message(ws.OP_TEXT, "a"), Close(1000, "")])
            # closed: send() raises at once, nothing is deferred
            with self.assertRaises(Error) as cm:
                s.send("late")
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_CLOSED")

    def test_backpressure_pause(self):
        # the input gate closes at outbound_high_water: feed() stops and holds the rest,
        # also when the replies that closed it were deferred sends
        stream = client_stream(*[(ws.OP_BINARY, bytes(100), True) for _ in range(10)])
        with ws.Session("server", outbound_high_water=250, outbound_low_water=1) as s:
            got = s.feed(stream[:0])
            s.send(bytes(300))
            got = s.feed(stream)
            self.assertEqual(got, [])
            self.assertEqual(s.held_input, len(stream))
            self.assertFalse(s.want_read)
            s.data_to_send()
            self.assertTrue(s.want_read)
            got = s.feed(b"")
            self.assertEqual(len(got), 10)
            self.assertEqual(s.held_input, 0)


class ViewsTest(unittest.TestCase):
    def test_views_are_released_at_the_next_call(self):
        stream = client_stream((ws.OP_BINARY, b"abc", True), (ws.OP_TEXT, b"t", True),
                               (ws.OP_BINARY, b"xyz", True))
        for nxt in ("feed", "send", "data_to_send", "close"):
            s = ws.Session("server", views=True)
            got = s.feed(stream)
            self.assertIsInstance(got[0].data, memoryview)
            self.assertEqual(bytes(got[0].data), b"abc")
            self.assertEqual(got[1], Message(ws.OP_TEXT, "t"))    # text stays str
            self.assertEqual(got[2].data.tobytes(), b"xyz")
            kept = bytes(got[2].data)                            # a copy survives
            if nxt == "feed":
                s.feed(b"")
            elif nxt == "send":
                s.send(b"x")
            elif nxt == "data_to_send":
                s.data_to_send()
            else:
                s.close()
            for e in (got[0], got[2]):
                with self.assertRaises(ValueError):
                    bytes(e.data)
            self.assertEqual(kept, b"xyz")
            s.close()

    def test_streamed_views(self):
        stream = client_stream((ws.OP_BINARY, b"ab", False), (ws.OP_CONTINUATION, b"cd", True))
        with ws.Session("server", whole_messages=False, views=True) as s:
            got = s.feed(stream)
            self.assertEqual([type(e) for e in got],
                             [MessageBegin, MessageData, MessageData, MessageEnd])
            self.assertEqual(b"".join(bytes(e.data) for e in got[1:3]), b"abcd")
            s.feed(b"")
            with self.assertRaises(ValueError):
                got[1].data.tobytes()

    def test_default_is_bytes(self):
        with ws.Session("server") as s:
            got = s.feed(client_stream((ws.OP_BINARY, b"abc", True)))
            self.assertIs(type(got[0].data), bytes)


class DeferredSendTest(unittest.TestCase):
    def test_sends_are_batched(self):
        with ws.Session("server") as s, ws.Session("client") as c:
            for i in range(100):
                s.send("t%d" % i)
            self.assertEqual(len(s._q), 100)                     # deferred, not in C yet
            s.send(bytearray(b"ba"))                             # not str/bytes: direct
            self.assertEqual(len(s._q), 0)                       # ... after the others
            s.send(b"bin")
            out = s.data_to_send()
            self.assertIs(type(out), bytes)
            self.assertEqual(c.feed(out), [Message(ws.OP_TEXT, "t%d" % i) for i in range(100)]
                             + [Message(ws.OP_BINARY, b"ba"), Message(ws.OP_BINARY, b"bin")])

    def test_state_queries_see_deferred_sends(self):
        with ws.Session("server") as s:
            s.send(b"12345")
            self.assertTrue(s.want_write)
            self.assertEqual(s.outbound_size, 7)
            self.assertEqual(s.peek(), b"\x82\x0512345")
            s.consumed(7)
            self.assertFalse(s.want_write)

    def test_max_outbound_error_at_the_send_that_overflows(self):
        with ws.Session("server", max_outbound=1000) as s, ws.Session("client") as c:
            for _ in range(9):
                s.send(bytes(100))                   # 9 * 102 bytes fit
            with self.assertRaises(Error) as cm:
                s.send(bytes(100))
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_OUTBOUND_FULL")
            self.assertEqual(s.outbound_size, 9 * 102)
            self.assertEqual(len(c.feed(s.data_to_send())), 9)

    def test_invalid_text_raises_at_once(self):
        with ws.Session("server") as s:
            s.send("ok")
            with self.assertRaises(Error) as cm:
                s.send("\ud800")                     # a lone surrogate is not UTF-8
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_UTF8")
            self.assertEqual(s.outbound_size, 4)     # "ok" was queued before it

    def test_fragments_and_close_keep_order(self):
        with ws.Session("server") as s, ws.Session("client") as c:
            s.send("one")
            s.send_fragment(ws.OP_TEXT, "tw", False)
            with self.assertRaises(Error) as cm:     # a message inside a streamed one
                s.send("x")
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")
            s.send_fragment(ws.OP_TEXT, "o", True)
            s.send("three")
            s.send_close(1000, "done")
            self.assertEqual(c.feed(s.data_to_send()),
                             [Message(ws.OP_TEXT, "one"), Message(ws.OP_TEXT, "two"),
                              Message(ws.OP_TEXT, "three"), Close(1000, "done")])

    def test_close_drops_deferred_sends(self):
        s = ws.Session("server")
        s.send("never")
        s.close()
        with self.assertRaises(Error):
            s.send("x")

    def test_client_role_with_random(self):
        # the random callback of a batch-mode session reaches Python through the batch
        calls = []

        def rnd(n):
            calls.append(n)
            return b"\x11" * n
        with ws.Session("client", random=rnd) as c, ws.Session("server") as s:
            c.send("hi")
            c.send("there")
            self.assertEqual(len(calls), 2)          # a random callback: sent at once
            self.assertEqual(s.feed(c.data_to_send()),
                             [Message(ws.OP_TEXT, "hi"), Message(ws.OP_TEXT, "there")])
            s.ping(b"x")
            c.feed(s.data_to_send())                 # its automatic pong is masked in C
            self.assertEqual(len(calls), 3)

    def test_echo_non_ascii_reuses_received_bytes(self):
        # large non-ASCII text: send() of the very str feed() returned reuses its UTF-8
        # bytes instead of encoding it again; any other str is encoded
        texts = ["\u00e9t\u00e9 %d " % i * 40 for i in range(3)] + ["x" * 300]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        with ws.Session("server") as s, ws.Session("client") as c:
            got = s.feed(stream)
            self.assertEqual(got, [Message(ws.OP_TEXT, t) for t in texts])
            self.assertEqual(len(s._relay), 3)                   # ASCII is not kept
            s.send(got[0].data)
            self.assertIs(s._q[-1], s._relay[id(got[0].data)][1])
            s.send("".join(got[1].data))                         # equal, not the same str
            s.send(got[2].data)
            s.send(got[3].data)
            self.assertEqual(c.feed(s.data_to_send()), got)
            s.feed(b"")
            self.assertEqual(s._relay, {})                       # forgotten at the next feed

    def test_echo_relays_a_view_over_the_arena(self):
        # a large non-ASCII text decoded in C is relayed from the batch's arena without a
        # copy: the deferred send holds a memoryview, and data_to_send() queues it by
        # reference (RTW_WS_QUEUE_NOCOPY) and gathers the output, in order after what the
        # session queued itself (the pong answering a ping in the same read)
        texts = ["\u00e9t\u00e9 \u20ac %d " % i * 1000 for i in range(3)]
        stream = client_stream(*([(ws.OP_PING, b"p", True)] +
                                 [(ws.OP_TEXT, t.encode(), True) for t in texts]))
        calls = {"batch": 0, "message": 0}

        def counted(name, fn):
            def call(*args):
                calls[name] += 1
                return fn(*args)
            return call
        saved = ws._queue_batch, ws._queue_message
        ws._queue_batch = counted("batch", ws._queue_batch)
        ws._queue_message = counted("message", ws._queue_message)
        try:
            with ws.Session("server") as s, \
                    ws.Session("client", max_message_size=1 << 24) as c:
                got = s.feed(stream)
                self.assertEqual(got, [Ping(b"p")] + [Message(ws.OP_TEXT, t) for t in texts])
                got = got[1:]
                entry = s._relay[id(got[0].data)]
                self.assertIs(type(entry[1]), memoryview)
                self.assertIsNotNone(entry[2])
                s.send(got[0].data)
                self.assertIs(s._q[0], entry[1])
                self.assertEqual(s._addrs_of(s._q), [entry[2]])
                self.assertEqual(c.feed(s.data_to_send()), [Pong(b"p")] + got[:1])
                self.assertEqual(calls, {"batch": 0, "message": 1})
                s.send(got[1].data)
                s.send(got[2].data)
                self.assertEqual(c.feed(s.data_to_send()), got[1:])
                s.send(got[0].data)                              # again: still valid
                self.assertEqual(c.feed(s.data_to_send()), got[:1])
                self.assertEqual(calls, {"batch": 0, "message": 4})
                self.assertEqual(s.outbound_size, 0)
                s.send(got[0].data)
                s.send("x")                       # not a view: queued as before
                self.assertEqual(c.feed(s.data_to_send()), got[:1] + [Message(1, "x")])
                self.assertEqual(calls, {"batch": 1, "message": 4})
        finally:
            ws._queue_batch, ws._queue_message = saved

    def test_many_relayed_views_at_once(self):
        # more views than data_to_send() gathers at once: queued in one batch instead
        texts = ["%d \u00e9t\u00e9 " % i * 500 for i in range(ws._IOV_MAX // 2 + 3)]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        with ws.Session("server") as s, ws.Session("client", max_message_size=1 << 24) as c:
            got = s.feed(stream)
            for n in (ws._IOV_MAX // 2, ws._IOV_MAX // 2 + 1, 1):
                for e in got[:n]:
                    s.send(e.data)
                self.assertEqual(c.feed(s.data_to_send()), got[:n])

    def test_relayed_views_survive_a_queueing_failure(self):
        # the second NOCOPY queueing fails (out of memory): data_to_send() raises, but the
        # first message, queued by reference, was taken out before (no reference into the
        # arena outlives the call) and comes with the next data_to_send(), after a feed()
        # that reused the arena
        texts = ["%d \u00e9t\u00e9 \u20ac " % i * 900 for i in range(3)]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        nomem = CODES["RTW_ERR_NOMEM"]
        real, calls = ws._queue_message, []

        def failing(*args):
            calls.append(args[3])
            return nomem if len(calls) == 2 else real(*args)
        with ws.Session("server") as s, ws.Session("client", max_message_size=1 << 24) as c:
            got = s.feed(stream[:len(stream) // 2])
            rest = s.feed(stream[len(stream) // 2:])
            self.assertEqual(got + rest, [Message(ws.OP_TEXT, t) for t in texts])
            for e in rest:
                s.send(e.data)
            ws._queue_message = failing
            try:
                with self.assertRaises(Error) as cm:
                    s.data_to_send()
            finally:
                ws._queue_message = real
            self.assertEqual(cm.exception.code, nomem)
            self.assertEqual(len(calls), 2)
            self.assertEqual(s.outbound_size, 0)             # nothing left referenced
            s.feed(client_stream((ws.OP_TEXT, ("\u20ac" * 30000).encode(), True)))
            self.assertEqual(c.feed(s.data_to_send()), rest[:1])

    def test_relay_views_copied_before_the_arena_is_reused(self):
        # a read holding more than a batch (each message over the 256 KiB arena): feed()
        # records again into the same arena before returning, so the relayed bytes of the
        # messages before are copied first; their echo is still exact
        texts = [("%d \u00e9t\u00e9 \u2014 " % i) * 30000 for i in range(3)]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        with ws.Session("server", max_message_size=1 << 24) as s, \
                ws.Session("client", max_message_size=1 << 24) as c:
            got = s.feed(stream)
            self.assertEqual(got, [Message(ws.OP_TEXT, t) for t in texts])
            kinds = [type(s._relay[id(e.data)][1]) for e in got]
            self.assertEqual(kinds, [bytes, bytes, memoryview])      # the last one stays
            for e in got:
                s.send(e.data)
            self.assertEqual(c.feed(s.data_to_send()), got)

    def test_echo_many(self):
        # the benchmark's loop: every message echoed, output taken once per read
        texts = ["%05d" % i * 7 for i in range(3000)]
        stream = client_stream(*[(ws.OP_TEXT, t.encode(), True) for t in texts])
        with ws.Session("server") as s, ws.Session("client") as c:
            out = []
            for i in range(0, len(stream), 4096):
                for e in s.feed(stream[i:i + 4096]):
                    s.send(e.data)
                out.append(s.data_to_send())
            got = c.feed(b"".join(out))
            self.assertEqual(got, [Message(ws.OP_TEXT, t) for t in texts])


if __name__ == "__main__":
    unittest.main()
