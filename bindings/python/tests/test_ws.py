# SPDX-License-Identifier: MIT
"""WebSocket sessions and the frame codec through the binding."""

import unittest

import support  # noqa: F401 (sys.path)
import rtweb
from rtweb import ws
from rtweb.ws import Message, MessageBegin, MessageData, MessageEnd, Ping, Pong, Close

KEY = b"\x01\x02\x03\x04"


def pump(a, b):
    """Move a's pending output into b; returns b's events."""
    return b.feed(a.data_to_send())


def pair(**kw):
    return ws.Session("server", **kw), ws.Session("client", **kw)


class SessionTest(unittest.TestCase):
    def test_round_trip_both_ways(self):
        server, client = pair()
        with server, client:
            client.send("hello \u00e9")
            client.send(b"\x00\x01\xff")
            client.send_binary(bytearray(b"ba"))
            self.assertEqual(pump(client, server), [Message(ws.OP_TEXT, "hello \u00e9"),
                                                    Message(ws.OP_BINARY, b"\x00\x01\xff"),
                                                    Message(ws.OP_BINARY, b"ba")])
            server.send("back")
            server.send(b"")
            self.assertEqual(pump(server, client), [Message(ws.OP_TEXT, "back"),
                                                    Message(ws.OP_BINARY, b"")])

    def test_masking_on_the_wire(self):
        server, client = pair()
        with server, client:
            client.send(b"abc")
            frame = client.data_to_send()
            header, n = ws.parse_frame_header(frame)
            self.assertTrue(header.masked)
            self.assertEqual(ws.mask(frame[n:], header.mask), b"abc")
            server.send(b"abc")
            self.assertEqual(server.data_to_send(), b"\x82\x03abc")   # server: unmasked

    def test_fragmented_and_split(self):
        big = bytes(range(256)) * 300                     # 76800 bytes, fragment_size 1000
        server, client = pair(fragment_size=1000)
        with server, client:
            client.send(big)
            wire = client.data_to_send()
            self.assertGreater(len(wire), len(big) + 76 * 6)  # many frames
            events = []
            for k in range(0, len(wire), 777):            # arbitrary input cuts
                events += server.feed(wire[k:k + 777])
            self.assertEqual(events, [Message(ws.OP_BINARY, big)])

    def test_streamed_mode(self):
        server, client = pair(whole_messages=False)
        with server, client:
            client.send_fragment(ws.OP_TEXT, "ab", False)
            client.send_fragment(ws.OP_TEXT, "cd", True)
            events = pump(client, server)
            self.assertEqual(events[0], MessageBegin(ws.OP_TEXT))
            self.assertEqual(events[-1], MessageEnd())
            self.assertEqual(b"".join(e.data for e in events if isinstance(e, MessageData)),
                             b"abcd")

    def test_ping_auto_pong(self):
        server, client = pair()
        with server, client:
            client.ping(b"are you there")
            self.assertEqual(pump(client, server), [Ping(b"are you there")])
            self.assertEqual(pump(server, client), [Pong(b"are you there")])
            server.ping()
            self.assertEqual(pump(server, client), [Ping(b"")])
            self.assertEqual(pump(client, server), [Pong(b"")])

    def test_no_auto_pong(self):
        with ws.Session("server", auto_pong=False) as server, ws.Session("client") as client:
            client.ping(b"x")
            self.assertEqual(pump(client, server), [Ping(b"x")])
            self.assertFalse(server.want_write)
            server.pong(b"x")
            self.assertEqual(pump(server, client), [Pong(b"x")])

    def test_close_handshake(self):
        server, client = pair()
        with server, client:
            client.send_close(4000, "bye")
            self.assertEqual(client.close_sent, 4000)
            self.assertEqual(pump(client, server), [Close(4000, "bye")])
            self.assertEqual(server.close_received, 4000)
            self.assertEqual(server.close_sent, 4000)       # echoed (RFC 6455 5.5.1)
            self.assertEqual(pump(server, client), [Close(4000, "")])
            self.assertTrue(server.finished)
            self.assertFalse(client.want_write)             # the client waits for the
            self.assertTrue(client.want_read)               # server's EOF (RFC 6455 7.1.1)
            with self.assertRaises(rtweb.WebSocketError) as cm:
                client.send("too late")
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_CLOSED")

    def test_empty_close_and_bad_code(self):
        server, client = pair()
        with server, client:
            with self.assertRaises(rtweb.WebSocketError) as cm:
                client.send_close(1005)                     # reserved, never sent
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_BAD_CLOSE_CODE")
            client.send_close(0)
            self.assertEqual(pump(client, server), [Close(1005, "")])

    def test_protocol_errors_give_close_codes(self):
        cases = [
            (ws.build_frame(ws.OP_TEXT, b"x"), "RTW_ERR_WS_MASK_REQUIRED", 1002, {}),
            (ws.build_frame(3, b"", mask_key=KEY), "RTW_ERR_WS_RESERVED_OPCODE", 1002, {}),
            (ws.build_frame(ws.OP_TEXT, b"x", rsv=4, mask_key=KEY),
             "RTW_ERR_WS_RESERVED_BITS", 1002, {}),
            (ws.build_frame(ws.OP_CONTINUATION, b"x", mask_key=KEY),
             "RTW_ERR_WS_UNEXPECTED_CONTINUATION", 1002, {}),
            (ws.build_frame(ws.OP_PING, b"x" * 126, mask_key=KEY),
             "RTW_ERR_WS_CONTROL_TOO_LONG", 1002, {}),
            (ws.build_frame(ws.OP_CLOSE, b"\x03\xe8"[:1], mask_key=KEY),
             "RTW_ERR_WS_BAD_CLOSE_PAYLOAD", 1002, {}),
            (ws.build_frame(ws.OP_CLOSE, b"\x03\xed", mask_key=KEY),   # 1005 on the wire
             "RTW_ERR_WS_BAD_CLOSE_CODE", 1002, {}),
            (ws.build_frame(ws.OP_TEXT, b"\xc3\x28", mask_key=KEY), "RTW_ERR_INVALID_UTF8",
             1007, {}),
            (ws.build_frame(ws.OP_BINARY, b"x" * 100, mask_key=KEY),
             "RTW_ERR_WS_FRAME_TOO_LARGE", 1009, {"max_frame_size": 10}),
        ]
        for frame, name, code, kw in cases:
            with ws.Session("server", **kw) as server, ws.Session("client") as client:
                client.send("before")
                with self.assertRaises(rtweb.ProtocolError) as cm:
                    server.feed(client.data_to_send() + frame)
                err = cm.exception
                self.assertEqual((err.name, err.close_code), (name, code), name)
                self.assertEqual(err.events, [Message(ws.OP_TEXT, "before")])
                self.assertEqual(server.close_sent, code)
                self.assertFalse(server.want_read)
                # the close frame the session queued reaches the peer with that code
                events = pump(server, client)
                self.assertEqual([e.code for e in events if isinstance(e, Close)], [code])

    def test_client_rejects_masked_server_frame(self):
        with ws.Session("client") as client:
            with self.assertRaises(rtweb.ProtocolError) as cm:
                client.feed(ws.build_frame(ws.OP_TEXT, b"x", mask_key=KEY))
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_MASK_FORBIDDEN")

    def test_on_event_replies_before_close(self):
        def echo(event):
            if isinstance(event, Message):
                server.send(event.data)
            seen.append(event)
        seen = []
        server, client = ws.Session("server", on_event=echo), ws.Session("client")
        with server, client:
            client.send("one")
            client.send_close(1000)
            self.assertEqual(server.feed(client.data_to_send()), [])   # went to on_event
            self.assertEqual(seen, [Message(ws.OP_TEXT, "one"), Close(1000, "")])
            self.assertEqual(pump(server, client), [Message(ws.OP_TEXT, "one"), Close(1000, "")])

    def test_on_event_exception_fails_session(self):
        def boom(event):
            raise ZeroDivisionError("app bug")
        server, client = ws.Session("server", on_event=boom), ws.Session("client")
        with server, client:
            client.send("x")
            with self.assertRaises(ZeroDivisionError):
                server.feed(client.data_to_send())
            self.assertEqual(server.close_sent, 1011)       # RTW_ERR_CALLBACK_FAILURE
            self.assertEqual([e.code for e in pump(server, client)], [1011])

    def test_on_event_may_not_reenter(self):
        for action in ("feed", "close"):
            def reenter(event):
                if action == "feed":
                    server.feed(b"")
                else:
                    server.close()
            server, client = ws.Session("server", on_event=reenter), ws.Session("client")
            with server, client:
                client.send("x")
                with self.assertRaises(rtweb.Error) as cm:
                    server.feed(client.data_to_send())
                self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")
                self.assertIsNotNone(server._handle)        # not freed under the C call
            self.assertIsNone(server._handle)               # freed by __exit__

    def test_random_callback(self):
        calls = []

        def rnd(n):
            calls.append(n)
            return b"\x00" * n                      # zero key: payload visible on the wire
        with ws.Session("client", random=rnd) as client:
            client.send(b"plain")
            self.assertEqual(client.data_to_send(), b"\x82\x85\x00\x00\x00\x00plain")
            self.assertEqual(calls, [4])

    def test_random_callback_exception_propagates(self):
        def rnd(n):
            raise KeyError("no entropy")
        with ws.Session("client", random=rnd) as client:
            with self.assertRaises(KeyError):
                client.send(b"x")
            self.assertFalse(client.want_write)     # nothing queued

    def test_keepalive_timer(self):
        with ws.Session("server", keepalive_ms=1000) as server:
            self.assertIsNone(server.next_deadline)
            server.tick(0)
            self.assertEqual(server.next_deadline, 1000)
            server.tick(1000)
            header, n = ws.parse_frame_header(server.data_to_send())
            self.assertEqual(header.opcode, ws.OP_PING)

    def test_outbound_size_and_gate(self):
        """ws.h rtw_ws_outbound_size and the input gate: an echo with small water marks
        holds input while output is not written, loses nothing, and stays bounded."""
        def echo(event):
            if isinstance(event, Message):
                server.send(event.data)
        server = ws.Session("server", on_event=echo, outbound_high_water=300,
                            outbound_low_water=100, max_message_size=100,
                            max_outbound=300 + 100 + 14 + 256)
        client = ws.Session("client")
        with server, client:
            self.assertEqual(server.outbound_size, 0)
            for i in range(50):
                client.send(b"%03d" % i + b"x" * 97)
            wire = client.data_to_send()
            server.feed(wire)
            self.assertFalse(server.want_read)              # the gate holds input
            self.assertGreater(server.held_input, 0)
            self.assertGreaterEqual(server.outbound_size, 300)
            echoed = []
            while server.held_input or server.want_write:
                self.assertLessEqual(server.outbound_size, 300 + 100 + 14 + 256 + 256)
                echoed += client.feed(server.data_to_send())
                self.assertTrue(server.want_read)
                server.feed(b"")
            self.assertEqual([m.data for m in echoed],
                             [b"%03d" % i + b"x" * 97 for i in range(50)])
            self.assertEqual(server.close_sent, 0)

        with ws.Session("server", outbound_high_water=ws.SIZE_MAX) as s:
            s.send(b"x" * 5000)
            self.assertEqual(s.outbound_size, 5004)        # 4-byte header, 16-bit length
            self.assertTrue(s.want_read)                    # gate off

    def test_pause_input_stops_pong_timeout(self):
        with ws.Session("server", keepalive_ms=1000, pong_timeout_ms=500) as server:
            server.tick(0)
            server.tick(1000)                               # ping out
            server.pause_input(True)
            self.assertIsNone(server.next_deadline)
            server.tick(100000)                             # not judged dead
            server.pause_input(False)
            server.tick(200000)
            self.assertEqual(server.next_deadline, 200500)
            with self.assertRaises(rtweb.Error) as cm:
                server.tick(200500)
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_PONG_TIMEOUT")

    def test_send_timeout(self):
        with ws.Session("server", send_timeout_ms=300) as server:
            server.send("stuck")
            server.tick(0)
            self.assertEqual(server.next_deadline, 300)
            with self.assertRaises(rtweb.Error) as cm:
                server.tick(300)
            self.assertEqual(cm.exception.name, "RTW_ERR_SEND_TIMEOUT")
            self.assertTrue(server.finished)

    def test_client_waits_for_server_eof(self):
        """RFC 6455 7.1.1: the server closes TCP first; the client keeps reading for
        close_timeout_ms after the closing handshake."""
        server, client = ws.Session("server"), ws.Session("client", close_timeout_ms=200)
        with server, client:
            server.send_close(1000)
            client.feed(server.data_to_send())
            server.feed(client.data_to_send())
            self.assertTrue(server.finished)                 # the server closes first
            self.assertTrue(client.want_read)                # the client waits for EOF
            client.tick(1000)
            client.tick(1199)
            self.assertTrue(client.want_read)
            client.tick(1200)
            self.assertTrue(client.finished)

    def test_frame_codec(self):
        for length in (0, 125, 126, 65535, 65536, 2 ** 40):
            for mask_key in (None, KEY):
                head = ws.build_frame_header(ws.OP_BINARY, length, fin=False, mask=mask_key)
                frame, n = ws.parse_frame_header(head + b"rest")
                self.assertEqual(n, len(head))
                self.assertEqual((frame.fin, frame.opcode, frame.payload_len, frame.masked),
                                 (False, ws.OP_BINARY, length, mask_key is not None))
                self.assertIsNone(ws.parse_frame_header(head[:-1]))
        with self.assertRaises(rtweb.WebSocketError) as cm:
            ws.parse_frame_header(b"\x82\x7e\x00\x05")       # 16-bit form for 5 bytes
        self.assertEqual(cm.exception.name, "RTW_ERR_WS_BAD_LENGTH")
        data = bytes(range(200))
        self.assertEqual(ws.mask(ws.mask(data, KEY), KEY), data)
        self.assertEqual(ws.mask(data[3:], KEY, offset=3), ws.mask(data, KEY)[3:])


if __name__ == "__main__":
    unittest.main()
