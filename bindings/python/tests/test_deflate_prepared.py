# SPDX-License-Identifier: MIT
"""Prepared messages (ws.Prepared, Session.send_prepared): compressed and framed once, the
same bytes on every session whose negotiated parameters allow it, a session's own copy
(plain, compressed with its own context, or masked) otherwise."""

import unittest

import support  # noqa: F401 - sets sys.path
from rtweb import ws

from test_deflate import chat, negotiated_pair


class PreparedTest(unittest.TestCase):
    def test_broadcast_to_several_sessions(self):
        msg = chat(9) * 8
        with ws.Prepared(msg, deflate=True) as pm:
            plain, compressed = pm.sizes
            self.assertEqual(plain, len(msg.encode()) + 4)                # 16-bit length
            self.assertGreater(compressed, 0)
            self.assertLess(compressed, plain)
            pairs = [negotiated_pair() for _ in range(3)]
            for server, _ in pairs:
                server.send_prepared(pm)
        # the Python object is closed: the sessions hold the C message until written
        for server, client in pairs:
            out = server.data_to_send()
            self.assertEqual(len(out), compressed)
            self.assertEqual(client.feed(out), [ws.Message(ws.OP_TEXT, msg)])
            server.close()
            client.close()

    def test_without_deflate_and_with_context_takeover(self):
        blob = b"\x00\x01" * 500
        with ws.Prepared(blob, deflate=True) as pm:
            plain, _ = pm.sizes
            with ws.Session(ws.SERVER) as s, ws.Session(ws.CLIENT) as c:
                s.send_prepared(pm)                      # no extension: the plain frame
                out = s.data_to_send()
                self.assertEqual(len(out), plain)
                self.assertEqual(c.feed(out), [ws.Message(ws.OP_BINARY, blob)])
            server, client = negotiated_pair(ws.DeflateConfig(own_context_takeover=True),
                                             ws.DeflateConfig(peer_context_takeover=True))
            with server, client:                         # falls back to its own compressor
                self.assertFalse(server.deflate.server_no_context_takeover)
                server.send_prepared(pm)
                self.assertEqual(client.feed(server.data_to_send()),
                                 [ws.Message(ws.OP_BINARY, blob)])
            server, client = negotiated_pair()
            with server, client:                         # client role: masked, its own copy
                client.send_prepared(pm)
                self.assertEqual(server.feed(client.data_to_send()),
                                 [ws.Message(ws.OP_BINARY, blob)])

    def test_no_compressed_form(self):
        with ws.Prepared("hi") as pm:
            self.assertEqual(pm.sizes, (4, 0))
            with self.assertRaises(TypeError):
                ws.Session().send_prepared("hi")


if __name__ == "__main__":
    unittest.main()
