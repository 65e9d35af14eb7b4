# SPDX-License-Identifier: MIT
"""rtweb errors as Python exceptions: names, codes, messages, families."""

import unittest

import support  # noqa: F401 (sys.path)
import rtweb
from rtweb import errors, sse, ws


class ErrorsTest(unittest.TestCase):
    def test_codes_and_names_from_the_library(self):
        self.assertEqual(errors.CODES["RTW_ERR_NOMEM"], -2)
        self.assertEqual(errors.RTW_ERR_WS_BAD_CLOSE_CODE, -210)
        self.assertEqual(errors.NAMES[-104], "RTW_ERR_SSE_HISTORY_GAP")
        self.assertEqual(errors.name_of(0), "RTW_OK")
        self.assertEqual(errors.name_of(-9999), "RTW_ERR_UNKNOWN")
        self.assertGreater(len(errors.CODES), 50)

    def test_from_code(self):
        e = rtweb.Error.from_code(-201)
        self.assertIsInstance(e, rtweb.WebSocketError)
        self.assertEqual((e.name, e.code), ("RTW_ERR_WS_RESERVED_BITS", -201))
        self.assertEqual(e.message, "WebSocket RSV bit set without a negotiated extension")
        self.assertEqual(str(e), "RTW_ERR_WS_RESERVED_BITS (-201): " + e.message)
        self.assertEqual(e.args, ("RTW_ERR_WS_RESERVED_BITS", -201, e.message))
        self.assertIs(type(rtweb.Error.from_code(-104)), rtweb.HistoryGap)
        self.assertIs(type(rtweb.Error.from_code(-105)), rtweb.HistoryEnd)
        self.assertIs(type(rtweb.Error.from_code(-101)), rtweb.SSEError)
        self.assertIs(type(rtweb.Error.from_code(-300)), rtweb.HTTPError)
        self.assertIs(type(rtweb.Error.from_code(-2)), rtweb.Error)
        self.assertIs(type(rtweb.HandshakeError.from_code(-309)), rtweb.HandshakeError)

    def test_raised_by_calls(self):
        with self.assertRaises(rtweb.Error) as cm:
            sse.format_event("x", id="\n")
        self.assertEqual(cm.exception.name, "RTW_ERR_SSE_INVALID_FIELD")
        with ws.Session("server") as s:
            with self.assertRaises(rtweb.WebSocketError) as cm:
                s.ping(b"x" * 126)
            self.assertEqual(cm.exception.name, "RTW_ERR_WS_CONTROL_TOO_LONG")
            with self.assertRaises(rtweb.Error) as cm:
                s.send_text(b"\xff")
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_UTF8")
            with self.assertRaises(rtweb.Error) as cm:
                s.consumed(1)                    # nothing pending
            self.assertEqual(cm.exception.name, "RTW_ERR_INVALID_ARGUMENT")

    def test_type_errors_stay_python(self):
        with self.assertRaises(TypeError):
            sse.format_event(42)


if __name__ == "__main__":
    unittest.main()
