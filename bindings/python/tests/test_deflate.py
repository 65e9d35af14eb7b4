# SPDX-License-Identifier: MIT
"""permessage-deflate (RFC 7692) through the binding: negotiation helpers, compressed round
trips between two binding sessions (whole, byte by byte and at every split), the opt-out,
the threshold, limits and errors, context takeover and memory, and python3-websockets' own
permessage-deflate implementation decoding what our session sends (and the reverse).
Prepared messages: test_deflate_prepared.py; the handshakes: test_deflate_handshake.py."""

import json
import unittest
import zlib

import support
import rtweb
from rtweb import ws


try:
    from websockets.extensions.permessage_deflate import PerMessageDeflate
    from websockets.frames import Frame as WsFrame, Opcode as WsOpcode
except ImportError:                                     # CI installs python3-websockets
    PerMessageDeflate = None

MASK = b"\x01\x02\x03\x04"


def chat(n):
    """A JSON chat message, varied and compressible, numbered n."""
    words = ["deploy", "the", "build", "is", "green", "again", "thanks", "merge", "later"]
    text = " ".join(words[(n * 7 + k * 3) % len(words)] for k in range(12 + n % 5))
    return json.dumps({"type": "message", "id": n, "room": "general",
                       "user": "user%d" % (n % 9), "text": text})


def frames_of(wire):
    """[(Frame, payload)] of the unmasked frames in `wire`."""
    out = []
    while wire:
        frame, n = ws.parse_frame_header(wire)
        out.append((frame, wire[n:n + frame.payload_len]))
        wire = wire[n + frame.payload_len:]
    return out


_RSV1 = ws._lib.RTW_WS_RSV1


def frames_of_masked(wire):
    out = []
    while wire:
        frame, n = ws.parse_frame_header(wire)
        payload = wire[n:n + frame.payload_len]
        out.append((frame, ws.mask(payload, frame.mask) if frame.masked else payload))
        wire = wire[n + frame.payload_len:]
    return out


def negotiated_pair(server_config=None, client_config=None):
    """A server and a client session switched to what negotiation between the two configs
    gives (offer -> parse -> accept -> format -> parse -> check, as a handshake does)."""
    offer = ws.deflate_parse(ws.deflate_offer(client_config), ws.CLIENT)
    answer = ws.deflate_accept(offer, server_config)
    assert answer is not None, "the server declined"
    seen = ws.deflate_parse(ws.deflate_format(answer), ws.SERVER)
    ws.deflate_check_response(seen, client_config)
    server = ws.Session(ws.SERVER, deflate=answer, deflate_config=server_config)
    client = ws.Session(ws.CLIENT, deflate=seen, deflate_config=client_config)
    return server, client


class NegotiationTest(unittest.TestCase):
    def test_default_offer_parses_as_documented(self):
        offer = ws.deflate_offer()
        self.assertTrue(offer.startswith("permessage-deflate"), offer)
        p = ws.deflate_parse(offer, ws.CLIENT)
        # ws.h: a client offers server_no_context_takeover unless PEER_CONTEXT_TAKEOVER, and
        # client_max_window_bits without a value unless NO_CLIENT_BITS_OFFER.
        self.assertTrue(p.server_no_context_takeover)
        self.assertEqual(p.client_max_window_bits, ws.BITS_NO_VALUE)
        p = ws.deflate_parse(ws.deflate_offer(ws.DeflateConfig(
            no_client_bits_offer=True, peer_context_takeover=True)), ws.CLIENT)
        self.assertFalse(p.server_no_context_takeover)
        self.assertEqual(p.client_max_window_bits, 0)

    def test_parse(self):
        self.assertEqual(ws.deflate_parse("permessage-deflate", ws.CLIENT), ws.DeflateParams())
        self.assertIsNone(ws.deflate_parse("x-webkit-deflate-frame", ws.CLIENT))
        p = ws.deflate_parse('permessage-deflate; server_max_window_bits="10"; '
                             'client_no_context_takeover', ws.CLIENT)
        self.assertEqual(p, ws.DeflateParams(False, True, 10, 0))
        for bad in ("permessage-deflate; server_max_window_bits=16",
                    "permessage-deflate; server_max_window_bits=010",
                    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                    "permessage-deflate; unknown_param",
                    "permessage-deflate; server_no_context_takeover=1"):
            with self.assertRaises(rtweb.WebSocketError) as cm:
                ws.deflate_parse(bad, ws.CLIENT)
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_DEFLATE_PARAM", bad)
        # a value-less client_max_window_bits is valid only in an offer (RFC 7692 7.1.2.2)
        self.assertEqual(ws.deflate_parse("permessage-deflate; client_max_window_bits",
                                          ws.CLIENT).client_max_window_bits, ws.BITS_NO_VALUE)
        with self.assertRaises(rtweb.WebSocketError):
            ws.deflate_parse("permessage-deflate; client_max_window_bits", ws.SERVER)
        with self.assertRaises(ValueError):
            ws.deflate_parse("permessage-deflate", "peer")

    def test_accept_and_format(self):
        answer = ws.deflate_accept(ws.DeflateParams())
        self.assertIsNotNone(answer)
        text = ws.deflate_format(answer)
        self.assertEqual(ws.deflate_parse(text, ws.SERVER), answer)
        # the answer names only what the client may accept
        a = ws.deflate_accept(ws.DeflateParams(server_max_window_bits=10))
        self.assertEqual(a.server_max_window_bits, 10)
        self.assertEqual(ws.deflate_format(ws.DeflateParams(True, False, 0, 0)),
                         "permessage-deflate; server_no_context_takeover")

    def test_server_window_of_8_is_honoured(self):
        # zlib cannot deflate raw with an 8-bit window, so the session runs zlib at 9: a
        # 9-bit zlib compressor never reaches back more than 250 bytes (RFC 7692 7.1.2.1
        # holds); never a decline, never a crash (node's bug, Autobahn 13.3.x).
        answer = ws.deflate_accept(ws.DeflateParams(server_max_window_bits=8))
        self.assertIsNotNone(answer)
        self.assertEqual(answer.server_max_window_bits, 8)
        with ws.Session(ws.SERVER, deflate=answer) as s:
            msg = "".join(chat(n) for n in range(40)).encode()
            s.send(msg)
            (frame, payload), = frames_of(s.data_to_send())
            self.assertTrue(frame.rsv & _RSV1)
            # an 8-bit raw inflater (what the client promised to need at most) takes it
            d = zlib.decompressobj(-8)
            self.assertEqual(d.decompress(payload + b"\x00\x00\xff\xff"), msg)

    def test_check_response(self):
        ws.deflate_check_response(ws.deflate_accept(
            ws.deflate_parse(ws.deflate_offer(), ws.CLIENT)))
        # client_max_window_bits answered when the client did not offer it
        cfg = ws.DeflateConfig(no_client_bits_offer=True)
        with self.assertRaises(rtweb.WebSocketError) as cm:
            ws.deflate_check_response(ws.DeflateParams(client_max_window_bits=10), cfg)
        self.assertEqual(cm.exception.name, "RTW_ERR_WS_DEFLATE_PARAM")

    def test_bad_config_is_refused(self):
        with self.assertRaises(rtweb.Error) as cm:
            ws.deflate_offer(ws.DeflateConfig(level=10))
        self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_ARGUMENT")
        with self.assertRaises(TypeError):
            ws.deflate_offer({"level": 1})


class RoundTripTest(unittest.TestCase):
    def test_both_ways_compressed(self):
        server, client = negotiated_pair()
        with server, client:
            self.assertEqual(server.deflate, client.deflate)
            self.assertEqual(server.deflate.server_max_window_bits, 15)   # absent as 15
            msg = chat(1) * 4
            client.send(msg)
            wire = client.data_to_send()
            (frame, _), = frames_of_masked(wire)
            self.assertTrue(frame.rsv & _RSV1)                            # compressed
            self.assertLess(len(wire), len(msg.encode()))
            self.assertEqual(server.feed(wire), [ws.Message(ws.OP_TEXT, msg)])
            blob = bytes(range(256)) * 64
            server.send(blob)
            out = server.data_to_send()
            (frame, payload), = frames_of(out)
            self.assertTrue(frame.rsv & _RSV1)
            self.assertLess(len(payload), len(blob))
            self.assertEqual(client.feed(out), [ws.Message(ws.OP_BINARY, blob)])

    def test_every_split_gives_the_same_message(self):
        server, client = negotiated_pair()
        with server, client:
            msgs = [chat(n) for n in range(3)] + [""]                     # empty included
            for m in msgs:
                server.send(m)
            wire = server.data_to_send()
        want = [ws.Message(ws.OP_TEXT, m) for m in msgs]
        for pieces in support.splits(wire):
            s, c = negotiated_pair()
            with s, c:
                got = []
                for piece in pieces:
                    got += c.feed(piece)
                self.assertEqual(got, want)

    def test_streamed_delivery_of_a_compressed_message(self):
        answer = ws.deflate_accept(ws.deflate_parse(ws.deflate_offer(), ws.CLIENT))
        server = ws.Session(ws.SERVER, deflate=answer)
        client = ws.Session(ws.CLIENT, whole_messages=False,
                            deflate=ws.deflate_parse(ws.deflate_format(answer), ws.SERVER))
        with server, client:
            big = (chat(5) * 2000).encode()
            server.send(big)
            events = client.feed(server.data_to_send())
            self.assertEqual(events[0], ws.MessageBegin(ws.OP_BINARY))
            self.assertEqual(events[-1], ws.MessageEnd())
            self.assertEqual(b"".join(e.data for e in events[1:-1]), big)

    def test_compress_false_sends_plain(self):
        server, client = negotiated_pair()
        with server, client:
            server.send(chat(2), compress=False)
            out = server.data_to_send()
            (frame, payload), = frames_of(out)
            self.assertEqual(frame.rsv, 0)
            self.assertEqual(payload, chat(2).encode())
            self.assertEqual(client.feed(out), [ws.Message(ws.OP_TEXT, chat(2))])

    def test_threshold(self):
        server, client = negotiated_pair(server_config=ws.DeflateConfig(threshold=100))
        with server, client:
            server.send("short")
            server.send("x" * 100)
            out = server.data_to_send()
            rsv = [f.rsv for f, _ in frames_of(out)]
            self.assertEqual(rsv, [0, _RSV1])
            self.assertEqual(client.feed(out), [ws.Message(ws.OP_TEXT, "short"),
                                                ws.Message(ws.OP_TEXT, "x" * 100)])

    def test_rsv1_without_deflate_is_a_protocol_error(self):
        with ws.Session(ws.SERVER) as s:
            self.assertIsNone(s.deflate)
            with self.assertRaises(rtweb.ProtocolError) as cm:
                s.feed(ws.build_frame(ws.OP_TEXT, b"\x00", rsv=_RSV1, mask_key=MASK))
            self.assertEqual(cm.exception.close_code, 1002)

    def test_bad_compressed_data_closes_1007(self):
        server, client = negotiated_pair()
        with server, client:
            with self.assertRaises(rtweb.ProtocolError) as cm:
                server.feed(ws.build_frame(ws.OP_BINARY, b"\xff\xff\xff\xff", rsv=_RSV1,
                                           mask_key=MASK))
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_BAD_COMPRESSED")
            self.assertEqual(cm.exception.close_code, 1007)

    def test_inflated_size_is_bounded(self):
        answer = ws.deflate_accept(ws.deflate_parse(ws.deflate_offer(), ws.CLIENT))
        with ws.Session(ws.SERVER, max_message_size=1000, deflate=answer) as s:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            bomb = c.compress(b"\x00" * 1000000) + c.flush(zlib.Z_SYNC_FLUSH)
            self.assertLess(len(bomb), 2000)
            with self.assertRaises(rtweb.ProtocolError) as cm:
                s.feed(ws.build_frame(ws.OP_BINARY, bomb[:-4], rsv=_RSV1, mask_key=MASK))
            self.assertEqual(cm.exception.close_code, 1009)

    def test_set_deflate_after_traffic_is_refused(self):
        with ws.Session(ws.SERVER) as s:
            s.send("x")
            with self.assertRaises(rtweb.Error) as cm:
                s.set_deflate(ws.DeflateParams())
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_STATE")

    def test_required_without_agreement_closes_1010(self):
        with ws.Session(ws.CLIENT) as c:
            with self.assertRaises(rtweb.WebSocketError) as cm:
                c.set_deflate(None, ws.DeflateConfig(required=True))
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_EXTENSION_MISSING")
            self.assertEqual(c.close_sent, 1010)

    def test_memory_is_released_without_context_takeover(self):
        server, client = negotiated_pair()
        with server, client:
            self.assertEqual(server.deflate_memory, 0)                      # lazy
            server.tick(0)
            server.send(chat(3))
            client.tick(0)
            client.feed(server.data_to_send())
            self.assertGreater(server.deflate_memory, 0)          # reset, kept while busy
            self.assertGreater(client.deflate_memory, 0)
            # the first tick after the message arms the idle timer; a tick
            # IDLE_RELEASE_MS later with no compressed message since releases the streams
            server.tick(10)
            client.tick(10)
            server.tick(10 + ws.IDLE_RELEASE_MS - 1)
            self.assertGreater(server.deflate_memory, 0)          # not before the deadline
            server.tick(10 + ws.IDLE_RELEASE_MS)
            client.tick(10 + ws.IDLE_RELEASE_MS)
            self.assertEqual(server.deflate_memory, 0)            # idle: released
            self.assertEqual(client.deflate_memory, 0)
        cfg = ws.DeflateConfig(release_each_message=True)
        server, client = negotiated_pair(cfg, cfg)
        with server, client:
            server.send(chat(3))
            client.feed(server.data_to_send())
            self.assertEqual(server.deflate_memory, 0)            # freed after the message
            self.assertEqual(client.deflate_memory, 0)
        cfg = ws.DeflateConfig(own_context_takeover=True, peer_context_takeover=True)
        server, client = negotiated_pair(cfg, cfg)
        with server, client:
            self.assertFalse(server.deflate.server_no_context_takeover)
            self.assertEqual(server.deflate_memory, 0)
            server.send(chat(3))
            first = server.data_to_send()
            self.assertGreater(server.deflate_memory, 0)                    # kept
            server.send(chat(3))
            second = server.data_to_send()
            self.assertLess(len(second), len(first))  # the context remembers the first one
            self.assertEqual(client.feed(first + second),
                             [ws.Message(ws.OP_TEXT, chat(3))] * 2)
            self.assertGreater(client.deflate_memory, 0)                    # peer's context


@unittest.skipIf(PerMessageDeflate is None, "python3-websockets not installed")
class WebsocketsInteropTest(unittest.TestCase):
    """websockets' own RFC 7692 implementation (zlib underneath) against our sessions."""

    def test_websockets_decodes_what_we_send(self):
        server, client = negotiated_pair()
        p = client.deflate
        # websockets as the client: remote = the server (us)
        ext = PerMessageDeflate(p.server_no_context_takeover, p.client_no_context_takeover,
                                p.server_max_window_bits, p.client_max_window_bits)
        with server, client:
            for n in range(5):
                msg = chat(n) * (1 + n)
                server.send(msg)
                (frame, payload), = frames_of(server.data_to_send())
                self.assertTrue(frame.rsv & _RSV1)
                got = ext.decode(WsFrame(WsOpcode.TEXT, payload, fin=True, rsv1=True))
                self.assertEqual(got.data.decode(), msg)

    def test_we_decode_what_websockets_sends(self):
        server, client = negotiated_pair()
        p = client.deflate
        ext = PerMessageDeflate(p.server_no_context_takeover, p.client_no_context_takeover,
                                p.server_max_window_bits, p.client_max_window_bits)
        with server, client:
            for n in range(5):
                msg = chat(n) * (1 + n)
                f = ext.encode(WsFrame(WsOpcode.TEXT, msg.encode()))
                self.assertTrue(f.rsv1)
                wire = ws.build_frame(ws.OP_TEXT, f.data, rsv=_RSV1, mask_key=MASK)
                self.assertEqual(server.feed(wire), [ws.Message(ws.OP_TEXT, msg)])


if __name__ == "__main__":
    unittest.main()
