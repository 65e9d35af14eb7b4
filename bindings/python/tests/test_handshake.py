# SPDX-License-Identifier: MIT
"""The opening handshake through the binding: client and server against each other."""

import base64
import hashlib
import unittest

import support
import rtweb
from rtweb import handshake, sse, ws
from rtweb.handshake import ClientHandshake, ServerHandshake


def upgrade_request(**overrides):
    fields = {"Host": "example.com", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
    fields.update(overrides)
    lines = ["GET /chat?room=1 HTTP/1.1"] + ["%s: %s" % kv for kv in fields.items()
                                               if kv[1] is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class HandshakeTest(unittest.TestCase):
    def test_accept_value(self):
        self.assertEqual(handshake.accept_value("dGhlIHNhbXBsZSBub25jZQ=="),
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")              # RFC 6455 4.2.2

    def test_client_against_server(self):
        seen = {}

        def on_upgrade(hs):
            seen.update(path=hs.path, query=hs.query, origin=hs.origin, method=hs.method,
                        protos=hs.subprotocols, exts=hs.extensions,
                        token=hs.header("authorization"))
            hs.select_subprotocol("superchat")
            hs.add_header("Set-Cookie", "a=b")

        with ClientHandshake("example.com:8080", "/chat?room=1", origin="https://example.com",
                             subprotocols=["chat", "superchat"],
                             headers=[("Authorization", "Bearer abc")]) as client, \
                ServerHandshake(on_upgrade=on_upgrade) as server:
            request = client.request
            self.assertTrue(request.startswith(b"GET /chat?room=1 HTTP/1.1\r\n"))
            self.assertEqual(server.feed(request + b"\x81"), handshake.DONE)
            self.assertEqual(server.trailing, b"\x81")                # first frame byte
            self.assertEqual(seen, dict(path="/chat", query="room=1", method="GET",
                                        origin="https://example.com",
                                        protos=["chat", "superchat"], exts=[],
                                        token="Bearer abc"))
            self.assertEqual(server.status, 101)
            response = server.response
            self.assertIn(b"Set-Cookie: a=b\r\n", response)
            # the client validates it, cut anywhere; frames behind it are left over
            frames = ws.Session("server")
            frames.send("first")
            first = frames.data_to_send()
            self.assertFalse(client.feed(response[:10]))
            self.assertTrue(client.feed(response[10:] + first))
            self.assertEqual(client.trailing, first)
            self.assertEqual(client.subprotocol, "superchat")
            self.assertEqual(client.header("set-cookie"), "a=b")
            with ws.Session("client") as session:
                self.assertEqual(session.feed(client.trailing), [ws.Message(ws.OP_TEXT, "first")])
            frames.close()

    def test_server_every_split(self):
        req = upgrade_request()
        for pieces in support.splits(req):
            with ServerHandshake() as server:
                outcomes = [server.feed(p) for p in pieces]
                self.assertEqual(outcomes[-1], handshake.DONE)
                self.assertTrue(all(o == handshake.INCOMPLETE for o in outcomes[:-1]))
                self.assertIn(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
                              server.response)

    def test_rejections(self):
        cases = [
            (upgrade_request(**{"Sec-WebSocket-Version": "8"}), "RTW_ERR_HTTP_WS_BAD_VERSION", 426),
            (upgrade_request(**{"Sec-WebSocket-Key": "short"}), "RTW_ERR_HTTP_WS_BAD_KEY", 400),
            (upgrade_request(Host=None), "RTW_ERR_HTTP_NO_HOST", 400),
            (b"GARBAGE\r\n\r\n", "RTW_ERR_HTTP_MALFORMED", 400),
        ]
        for req, name, status in cases:
            with ServerHandshake() as server:
                with self.assertRaises(rtweb.HandshakeError) as cm:
                    server.feed(req)
                self.assertEqual((cm.exception.name, cm.exception.status), (name, status))
                self.assertTrue(cm.exception.response.startswith(b"HTTP/1.1 %d " % status))

    def test_on_upgrade_rejects(self):
        with ServerHandshake(on_upgrade=lambda hs: 403) as server:
            with self.assertRaises(rtweb.HandshakeError) as cm:
                server.feed(upgrade_request())
            self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_REJECTED")
            self.assertTrue(cm.exception.response.startswith(b"HTTP/1.1 403 "))

    def test_on_upgrade_exception(self):
        def on_upgrade(hs):
            hs.select_subprotocol("not-offered")   # raises an rtweb.HTTPError
        with ServerHandshake(on_upgrade=on_upgrade) as server:
            with self.assertRaises(rtweb.HTTPError) as cm:
                server.feed(upgrade_request())
            self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED")
            self.assertEqual(server.status, 500)   # a 500 is ready to write
            self.assertTrue(server.response.startswith(b"HTTP/1.1 500 "))

    def test_callback_may_not_reenter(self):
        def on_upgrade(hs):
            hs.feed(b"x")
        with ServerHandshake(on_upgrade=on_upgrade) as server:
            with self.assertRaises(rtweb.Error) as cm:
                server.feed(upgrade_request())
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")

    def test_plain_request(self):
        with ServerHandshake() as server:
            req = b"GET /events HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 9\r\n\r\nGET /next"
            self.assertEqual(server.feed(req), handshake.PLAIN_REQUEST)
            self.assertEqual((server.path, server.header("last-event-id")), ("/events", "9"))
            self.assertIsNone(server.response)
            self.assertEqual(server.trailing, b"GET /next")
            server.reset()
            self.assertEqual(server.feed(upgrade_request()), handshake.DONE)

    def test_plain_request_as_sse_request(self):
        history = sse.History()
        history.push("1", b"data: a\n\n")
        history.push("2", b"data: b\n\n")
        with ServerHandshake() as server:
            self.assertIsNone(server.version)
            self.assertIsNone(server.plain_request())
            req = b"GET /events?x=1 HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 1\r\n\r\nnext"
            self.assertEqual(server.feed(req), handshake.PLAIN_REQUEST)
            self.assertEqual(server.version, (1, 1))
            view = server.plain_request()
            self.assertIsInstance(view, sse.HttpRequest)
            self.assertEqual(view.outcome, 1)            # RTW_SSE_HTTP_DONE
            self.assertEqual((view.path, view.query, view.last_event_id), ("/events", "x=1", "1"))
            self.assertEqual((view.version, view.chunked, view.accepts), ((1, 1), True, True))
            self.assertEqual(view.resume(history), 1)     # after the client's last event
            self.assertEqual(view.trailing, b"next")
            with self.assertRaises(rtweb.Error):
                view.feed(b"x")                           # a view is not fed
            view.close()                                  # frees nothing
            view = server.plain_request()
            self.assertEqual(view.header("host"), "h")
            server.reset()                                # the view is gone with the head
            with self.assertRaises(rtweb.Error) as cm:
                view.path
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")
            self.assertIsNone(server.plain_request())
            self.assertEqual(server.feed(b"GET /e HTTP/1.0\r\n\r\n"), handshake.PLAIN_REQUEST)
            self.assertEqual(server.plain_request().version, (1, 0))
            self.assertFalse(server.plain_request().chunked)
            server.reset()
            self.assertEqual(server.feed(b"POST /e HTTP/1.1\r\nHost: h\r\n\r\n"),
                             handshake.PLAIN_REQUEST)
            self.assertEqual(server.plain_request().outcome, rtweb.errors.RTW_ERR_HTTP_BAD_METHOD)
            view = server.plain_request()
        with self.assertRaises(rtweb.Error):             # the server was closed
            view.outcome
        history.close()

    def test_field_name_with_space_is_400(self):
        with ServerHandshake() as server:
            with self.assertRaises(rtweb.HandshakeError) as cm:
                server.feed(upgrade_request(**{"Host ": "evil"}))
            self.assertEqual((cm.exception.name, cm.exception.status),
                             ("RTW_ERR_HTTP_MALFORMED", 400))

    def test_client_checks_accept(self):
        with ClientHandshake("h", random=lambda n: b"\x00" * n) as client:
            key = base64.b64encode(b"\x00" * 16)
            self.assertIn(b"Sec-WebSocket-Key: " + key + b"\r\n", client.request)
            good = base64.b64encode(hashlib.sha1(
                key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n")
            with self.assertRaises(rtweb.HandshakeError) as cm:
                client.feed(head % b"AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_WS_BAD_ACCEPT")
        with ClientHandshake("h", random=lambda n: b"\x00" * n) as client:
            self.assertTrue(client.feed(head % good))
        with ClientHandshake("h") as client:
            with self.assertRaises(rtweb.HandshakeError) as cm:
                client.feed(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n")
            self.assertEqual((cm.exception.name, cm.exception.status),
                             ("RTW_ERR_HTTP_WS_BAD_STATUS", 302))
            self.assertEqual(client.header("location"), "/x")

    def test_client_settings_refused(self):
        with self.assertRaises(rtweb.HTTPError) as cm:
            ClientHandshake("h", headers={"Sec-WebSocket-Key": "x"})
        self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_INVALID_HEADER")
        with self.assertRaises(rtweb.Error) as cm:
            ClientHandshake("h", path="no-slash")
        self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_ARGUMENT")

    def test_client_random_exception(self):
        def rnd(n):
            raise RuntimeError("rng down")
        with self.assertRaises(RuntimeError):
            ClientHandshake("h", random=rnd)


if __name__ == "__main__":
    unittest.main()
