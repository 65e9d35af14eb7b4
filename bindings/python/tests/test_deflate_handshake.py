# SPDX-License-Identifier: MIT
"""permessage-deflate in the opening handshakes: ServerHandshake.accept_deflate() and
ClientHandshake.deflate() against each other, and python3-websockets' client (its own
permessage-deflate) against examples/echo_server.py with deflate over TCP."""

import unittest

import support  # noqa: F401 - sets sys.path
from support import run_async
from rtweb import ws, handshake

import echo_server
from test_deflate import chat

try:
    import websockets
except ImportError:                                     # CI installs python3-websockets
    websockets = None


class HandshakeTest(unittest.TestCase):
    def test_server_and_client_handshakes_negotiate(self):
        chosen = []

        def on_upgrade(hs):
            chosen.append(hs.accept_deflate())

        client_hs = handshake.ClientHandshake("example.com", extensions=ws.deflate_offer())
        with client_hs, handshake.ServerHandshake(on_upgrade=on_upgrade) as server_hs:
            self.assertEqual(server_hs.feed(client_hs.request), handshake.DONE)
            self.assertIsNotNone(chosen[0])
            self.assertIn(b"Sec-WebSocket-Extensions: permessage-deflate", server_hs.response)
            self.assertTrue(client_hs.feed(server_hs.response))
            seen = client_hs.deflate()
            self.assertEqual(seen, chosen[0])
        with ws.Session(ws.SERVER, deflate=chosen[0]) as s, \
                ws.Session(ws.CLIENT, deflate=seen) as c:
            c.send(chat(4))
            self.assertEqual(s.feed(c.data_to_send()), [ws.Message(ws.OP_TEXT, chat(4))])

    def test_no_offer_no_extension(self):
        chosen = []
        client_hs = handshake.ClientHandshake("example.com")
        with client_hs, handshake.ServerHandshake(
                on_upgrade=lambda hs: chosen.append(hs.accept_deflate())) as server_hs:
            server_hs.feed(client_hs.request)
            self.assertEqual(chosen, [None])
            self.assertNotIn(b"Sec-WebSocket-Extensions", server_hs.response)
            client_hs.feed(server_hs.response)
            self.assertIsNone(client_hs.deflate())


@unittest.skipIf(websockets is None, "python3-websockets not installed")
class ExampleServerTest(unittest.TestCase):
    def test_websockets_client_against_the_example_server(self):
        """Over TCP: websockets' client (compression="deflate", its default offer) against
        examples/echo_server.py with deflate; both directions compressed."""
        async def scenario():
            server = await echo_server.start(deflate=ws.DeflateConfig())
            port = server.sockets[0].getsockname()[1]
            async with server:
                async with websockets.connect("ws://127.0.0.1:%d/" % port,
                                              compression="deflate", max_size=None) as c:
                    self.assertEqual([type(e).__name__ for e in c.extensions],
                                     ["PerMessageDeflate"])
                    for n in range(4):
                        await c.send(chat(n) * (1 + 50 * n))
                        self.assertEqual(await c.recv(), chat(n) * (1 + 50 * n))
                    await c.send(bytes(70000))                  # several frames
                    self.assertEqual(await c.recv(), bytes(70000))
                self.assertEqual(c.close_code, 1000)
                server.close()
        run_async(scenario())


if __name__ == "__main__":
    unittest.main()
