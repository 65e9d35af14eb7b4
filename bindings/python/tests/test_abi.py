# SPDX-License-Identifier: MIT
"""The binding's ctypes declarations against the C headers and the loaded library.

The binding copies a few things from include/rtweb/*.h (constants, the versioned structs,
callback signatures). These tests read the headers of the source tree and require the copies
to match, and probe the last member of each settings struct through the library to show the
offsets agree (the ABI exposes no struct sizes to compare against).
"""

import ctypes
import os
import re
import unittest

import support
import rtweb
from rtweb import _lib, errors, sse, ws, handshake

HEADERS = ["common.h", "sse.h", "ws.h", "http.h"]


def read_headers():
    text = ""
    for h in HEADERS:
        with open(os.path.join(support.INCLUDE, h)) as f:
            text += f.read() + "\n"
    return text


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_value(expr):
    """Evaluate the integer #define bodies the headers use: 0x1u, (64u * 1024u), 1000."""
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr.strip())
    if not re.fullmatch(r"[0-9a-fA-FxX()*+<|\s-]+", expr):
        return None
    return eval(expr, {"__builtins__": {}})  # digits and operators only (checked above)


def header_defines(text):
    out = {}
    for m in re.finditer(r"^#define\s+(RTW_\w+)\s+(.+?)\s*$", strip_comments(text), re.M):
        v = c_value(m.group(2))
        if v is not None:
            out[m.group(1)] = v
    return out


def kind_of_ctype(t):
    if isinstance(t, type) and issubclass(t, ctypes._CFuncPtr):
        return "fn%d" % len(t._argtypes_)
    if t in (ctypes.c_char_p, ctypes.c_void_p) or issubclass(t, ctypes._Pointer):
        return "ptr"
    if issubclass(t, ctypes.Array):
        return "%s[%d]" % (kind_of_ctype(t._type_), t._length_)
    # ctypes aliases same-sized integers (c_size_t is c_uint64 on LP64): compare sign + width
    return "%s%d" % ("i" if t(-1).value < 0 else "u", 8 * ctypes.sizeof(t))


def kind_of_c(decl):
    """(name, kind) of one C struct member declaration."""
    decl = " ".join(decl.split())
    fn = re.match(r".*\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", decl)
    if fn:
        params = [p for p in fn.group(2).split(",") if p.strip() and p.strip() != "void"]
        return fn.group(1), "fn%d" % len(params)
    m = re.match(r"(.*?)(\w+)\s*(\[\s*(\d+)\s*\])?$", decl)
    ctype, name, count = m.group(1).strip(), m.group(2), m.group(4)
    if "*" in ctype:
        kind = "ptr"
    else:
        widths = {"uint32_t": "u32", "uint64_t": "u64", "uint8_t": "u8",
                  "size_t": "u%d" % (8 * ctypes.sizeof(ctypes.c_size_t)),
                  "int": "i%d" % (8 * ctypes.sizeof(ctypes.c_int))}
        kind = widths[ctype.replace("const", "").strip()]
    return name, kind if count is None else "%s[%s]" % (kind, count)


def header_structs(text):
    out = {}
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} \1;", strip_comments(text), re.S):
        members = [d for d in m.group(2).split(";") if d.strip()]
        out[m.group(1)] = [kind_of_c(d) for d in members]
    return out


@unittest.skipUnless(os.path.isdir(support.INCLUDE), "headers not found at " + support.INCLUDE)
class HeaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read_headers()

    def test_constants_match_header(self):
        defines = header_defines(self.text)
        checked = 0
        for name in dir(_lib):
            if name.startswith("RTW_") and not name.startswith("RTW_ERR_") and name != "RTW_OK":
                self.assertIn(name, defines, name)
                self.assertEqual(getattr(_lib, name), defines[name], name)
                checked += 1
        self.assertGreater(checked, 30)

    def test_error_list_matches_header_and_library(self):
        listed = dict((("RTW_ERR_" + n), int(v)) for n, v in
                      re.findall(r"XX\((\w+),\s*(-\d+),", self.text))
        self.assertEqual(listed, errors.CODES)
        for name in dir(_lib):
            if name.startswith("RTW_ERR_"):
                self.assertEqual(getattr(_lib, name), listed[name], name)

    def test_structs_match_header(self):
        structs = header_structs(self.text)
        for cname, cls in _lib.VERSIONED_STRUCTS + _lib.PLAIN_STRUCTS:
            self.assertIn(cname, structs)
            ours = [(n, kind_of_ctype(t)) for n, t in cls._fields_]
            self.assertEqual(ours, structs[cname], cname)
        for cname, cls in _lib.VERSIONED_STRUCTS:
            self.assertEqual(cls._fields_[0], ("version", ctypes.c_uint32), cname)

    def test_every_declared_function_exists(self):
        declared = set(re.findall(r"RTW_EXPORT\s+[\w\s\*]*?\b(rtw_\w+)\s*\(", self.text))
        for name in _lib._PROTOS:
            self.assertIn(name, declared, name)


class LayoutProbeTest(unittest.TestCase):
    """Set the last member of a settings struct and watch the library obey it."""

    def test_sse_settings_last_member(self):
        with sse.Parser(max_id_length=3) as p:
            with self.assertRaises(rtweb.SSEError) as cm:
                p.feed(b"id: 1234\n\n")
            self.assertEqual(cm.exception.name, "RTW_ERR_SSE_ID_TOO_LONG")

    def test_ws_settings_last_member(self):
        frame = ws.build_frame(ws.OP_BINARY, b"x", rsv=4, mask_key=b"abcd")
        with ws.Session("server", rsv_allowed=4) as s:
            self.assertEqual(s.feed(frame), [ws.Message(ws.OP_BINARY, b"x")])
        with ws.Session("server", close_timeout_ms=7) as s:
            s.tick(100)
            s.send_close()
            s.data_to_send()
            s.tick(101)
            self.assertEqual(s.next_deadline, 108)

    def test_handshake_client_settings_last_members(self):
        with handshake.ClientHandshake("h", headers=[("X-One", "1"), ("X-Two", "2")]) as c:
            self.assertTrue(c.request.endswith(b"X-One: 1\r\nX-Two: 2\r\n\r\n"))

    def test_handshake_server_settings_last_member(self):
        with handshake.ServerHandshake(max_head_size=40) as s:
            with self.assertRaises(rtweb.HandshakeError) as cm:
                s.feed(b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 40 + b"\r\n\r\n")
            self.assertEqual(cm.exception.name, "RTW_ERR_HTTP_HEAD_TOO_LARGE")

    def test_library_is_the_one_asked_for(self):
        env = os.environ.get("RTWEB_LIBRARY")
        if env:
            self.assertEqual(rtweb.library_path, env)
        self.assertEqual(rtweb.library_version().split(".")[0], str(_lib.RTW_VERSION_MAJOR))


if __name__ == "__main__":
    unittest.main()
