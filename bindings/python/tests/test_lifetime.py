# SPDX-License-Identifier: MIT
"""Object lifetimes and threads: close(), the garbage-collector fallback, the callback table,
and distinct objects used from several threads at once."""

import gc
import threading
import unittest

import support  # noqa: F401 (sys.path)
import rtweb
from rtweb import _lib, sse, ws, handshake


class LifetimeTest(unittest.TestCase):
    def test_gc_frees_and_unregisters(self):
        gc.collect()
        before = len(_lib._registry)
        for _ in range(200):
            p = sse.Parser(on_comment=lambda t: None)
            p.feed(b": x\ndata: y\n\n")
            cycle = []
            s = ws.Session("client", on_event=cycle.append)   # session -> list -> session
            cycle.append(s)
            s.send("x")
            h = sse.History()
            hs = handshake.ClientHandshake("h", random=lambda n: b"\x01" * n)
            del p, s, h, hs, cycle
        gc.collect()
        self.assertEqual(len(_lib._registry), before)

    def test_close_is_idempotent_everywhere(self):
        objs = [sse.Parser(), sse.History(), sse.HttpRequest(), ws.Session(),
                handshake.ServerHandshake(), handshake.ClientHandshake("h")]
        for o in objs:
            with o:
                pass
            o.close()
            self.assertIsNone(o._handle)
        with self.assertRaises(rtweb.Error):
            objs[3].send("x")

    def test_threads(self):
        errors = []

        def worker(n):
            try:
                with ws.Session("server") as server, ws.Session("client") as client, \
                        sse.Parser() as parser:
                    for k in range(200):
                        client.send(b"%d-%d" % (n, k))
                        got = server.feed(client.data_to_send())
                        assert got == [ws.Message(ws.OP_BINARY, b"%d-%d" % (n, k))], got
                        ev = parser.feed(sse.format_event(str(k), id=str(n)))
                        assert ev == [sse.Event("message", str(k), str(n))], ev
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
