# SPDX-License-Identifier: MIT
"""Text through librtweb's transcoder (rtw_utf8_to_units / rtw_utf8_from_units): the same
str in and out as CPython's codec gives, for every width, small and large, batch, views and
callback modes, with the C path on and off (as where ctypes.pythonapi is missing)."""

import ctypes
import sys
import unittest

import support  # noqa: F401 (sys.path)
from rtweb import ws
from rtweb._lib import lib
from rtweb.errors import Error, ProtocolError

# mostly ASCII with characters from U+0100 on sprinkled in, and Latin-1 ones
MIXED = ("The caf\u00e9 sells cr\u00e8me br\u00fbl\u00e9e for 4 \u20ac \u2014 \u201cdo you "
         "have jalape\u00f1os?\u201d Order #4471 shipped \u2713 status=ok, retries=0. ")
SAMPLES = {
    "ascii": "hello world, plain ASCII. ",
    "latin1": "h\u00e9llo w\u00f6rld \u00ff\u0080 ",                 # width 1
    "ucs2": MIXED,                                                   # width 2
    "ucs2_sparse": "a" * 60 + "\u20ac",
    "ucs2_edges": "\u0100\u07ff\u0800\ud7ff\ue000\ufffd\uffff x",
    "ucs4": "emoji \U0001F600 and \U0010FFFF, \U00010000 ",          # width 4
    "ucs4_sparse": "a" * 61 + "\U0001F680",
}
SIZES = (1, 100, ws._UNITS_MIN - 1, ws._UNITS_MIN, ws._UNITS_MIN + 3, 70000)


def text_of(sample, n):
    """About n characters of the sample, repeated."""
    return (sample * (n // len(sample) + 1))[:n]


class Counting:
    """Wraps a ctypes function in the ws module, counting calls."""

    def __init__(self, name):
        self.name, self.fn, self.calls = name, getattr(ws, name), 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)

    def __enter__(self):
        setattr(ws, self.name, self)
        return self

    def __exit__(self, *exc):
        setattr(ws, self.name, self.fn)


def echo(texts, **kw):
    """Send texts client -> server, echo every message the server gets, return what the
    server received and what the client got back."""
    server = ws.Session("server", max_message_size=1 << 24, **kw)
    client = ws.Session("client", max_message_size=1 << 24)
    with server, client:
        for t in texts:
            client.send(t)
        got = server.feed(client.data_to_send())
        for ev in got:
            server.send(ev.data)
        back = client.feed(server.data_to_send())
    return [e.data for e in got], [e.data for e in back]


class TextTest(unittest.TestCase):
    def setUp(self):
        self.saved = ws._units

    def tearDown(self):
        ws._units = self.saved

    def test_the_c_path_exists_here(self):
        # Debian's /usr/bin/python3 is CPython: the C path must be on by default
        self.assertIsNotNone(ws._from_kind)
        self.assertTrue(self.saved)

    def test_every_width_every_size_round_trip(self):
        for units in (True, False):
            ws._units = units
            for name, sample in SAMPLES.items():
                texts = [text_of(sample, n) for n in SIZES]
                for views in (False, True):
                    got, back = echo(texts, views=views)
                    self.assertEqual(got, texts, (units, name, views))
                    self.assertEqual(back, texts, (units, name, views))

    def test_decoded_in_c_only_when_it_pays(self):
        big, small = text_of(MIXED, ws._UNITS_MIN + 10), text_of(MIXED, 200)
        with Counting("_to_units") as c:
            self.assertEqual(echo([big, small, "a" * (ws._UNITS_MIN + 10)])[0],
                             [big, small, "a" * (ws._UNITS_MIN + 10)])
        self.assertEqual(c.calls, 2)    # the large non-ASCII one, at each end
        ws._units = False
        with Counting("_to_units") as c:
            self.assertEqual(echo([big])[0], [big])
        self.assertEqual(c.calls, 0)

    def test_widths_are_canonical(self):
        # the str built from the units compares, hashes and sizes as CPython's own
        for name, sample in SAMPLES.items():
            t = text_of(sample, ws._UNITS_MIN * 2)
            got = echo([t])[0][0]
            self.assertEqual(got, t)
            self.assertEqual(hash(got), hash(t))
            self.assertEqual(got.isascii(), t.isascii())
            self.assertEqual(sys.getsizeof(got), sys.getsizeof(t), name)

    def test_encoded_in_c_for_large_non_ascii(self):
        t = text_of(MIXED, ws._ENCODE_MIN + 5)
        for units in (True, False):
            ws._units = units
            server = ws.Session("server", max_message_size=1 << 24)
            client = ws.Session("client", max_message_size=1 << 24)
            with server, client, Counting("_from_units") as c:
                server.send(t)                              # batched send()
                server.send_text(t + "\U0001F600")           # at once
                self.assertEqual([e.data for e in client.feed(server.data_to_send())],
                                 [t, t + "\U0001F600"])
            self.assertEqual(c.calls, 2 if units else 0)
        # a Latin-1 str keeps CPython's encoder
        t1 = text_of(SAMPLES["latin1"], ws._ENCODE_MIN + 5)
        server = ws.Session("server")
        client = ws.Session("client")
        with server, client, Counting("_from_units") as c:
            server.send(t1)
            self.assertEqual([e.data for e in client.feed(server.data_to_send())], [t1])
        self.assertEqual(c.calls, 0)
        # on the wire: the same bytes as through CPython's encoder
        outs = []
        for units in (True, False):
            ws._units = units
            server = ws.Session("server")
            with server:
                server.send(t)
                outs.append(server.data_to_send())
        self.assertEqual(outs[0], outs[1])
        self.assertIn(t.encode("utf-8")[:60000], outs[0])

    def test_lone_surrogate_is_refused_as_before(self):
        # no UTF-8 form: never sent as text, whatever the size and path
        for units in (True, False):
            ws._units = units
            for n in (10, ws._ENCODE_MIN + 10):
                for bad in ("\ud800", "\udfff", "\ud83d" + "x"):
                    server = ws.Session("server")
                    with server:
                        t = "a" * (n // 2) + bad + "\u20ac" * (n // 2)
                        with self.assertRaises(Error) as cm:
                            server.send(t)
                        self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_UTF8")
                        with self.assertRaises(Error):
                            server.send_text(t)
                        self.assertEqual(server.data_to_send(), b"")

    def test_invalid_utf8_received_is_still_a_protocol_error(self):
        for units in (True, False):
            ws._units = units
            payload = ("\u20ac" * ws._UNITS_MIN).encode() + b"\xed\xa0\x80"
            server = ws.Session("server")
            with server:
                with self.assertRaises(ProtocolError):
                    server.feed(ws.build_frame(ws.OP_TEXT, payload, mask_key=b"abcd"))

    def test_callback_mode(self):
        for units in (True, False):
            ws._units = units
            got = []
            server = ws.Session("server", on_event=got.append)
            client = ws.Session("client")
            texts = [text_of(s, ws._UNITS_MIN + 7) for s in SAMPLES.values()]
            with server, client:
                for t in texts:
                    client.send(t)
                server.feed(client.data_to_send())
            self.assertEqual([e.data for e in got], texts)

    def test_larger_than_the_kept_buffer(self):
        # 4 bytes per input byte would pass _UBUF_KEEP: sized first, buffer not kept
        t = text_of(SAMPLES["ucs2_sparse"], ws._UBUF_KEEP // 4 + 1000)
        server = ws.Session("server", max_message_size=1 << 24)
        client = ws.Session("client", max_message_size=1 << 24)
        with server, client:
            client.send(t)
            self.assertEqual([e.data for e in server.feed(client.data_to_send())], [t])
            self.assertTrue(all(t[2] <= ws._UBUF_KEEP for t in ws._UPOOL))
            server.send(t + "\u2014")
            self.assertEqual([e.data for e in client.feed(server.data_to_send())],
                             [t + "\u2014"])

    def test_without_pythonapi(self):
        # where ctypes has no pythonapi (not CPython), the binding finds no C path
        saved = ctypes.pythonapi
        try:
            del ctypes.pythonapi
            self.assertIsNone(ws._kind_api())
        finally:
            ctypes.pythonapi = saved
        self.assertIsNotNone(ws._kind_api())

    def test_c_functions_directly(self):
        count, width = ctypes.c_size_t(), ctypes.c_int()
        src = "a\u00e9\u20ac\U0001F600".encode()
        buf = ctypes.create_string_buffer(64)
        self.assertEqual(lib.rtw_utf8_to_units(src, len(src), buf, 64, ctypes.byref(count),
                                               ctypes.byref(width)), 0)
        self.assertEqual((count.value, width.value), (4, 4))
        self.assertEqual(buf.raw[:16], "a\u00e9\u20ac\U0001F600".encode("utf-32-le"))
        self.assertEqual(lib.rtw_utf8_to_units(b"\xc0\x80", 2, buf, 64, ctypes.byref(count),
                                               ctypes.byref(width)), -7)
        u = "a\U0001F600".encode("utf-16-le")
        n = ctypes.c_size_t()
        self.assertEqual(lib.rtw_utf8_from_units(u, len(u) // 2, 2, buf, 64,
                                                 ctypes.byref(n)), 0)
        self.assertEqual(buf.raw[:n.value], "a\U0001F600".encode())


if __name__ == "__main__":
    unittest.main()
