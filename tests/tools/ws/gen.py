#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate the WebSocket decode corpus run by tests/tools/run_ws_conformance.sh.

Writes, next to this script, one set of files per case:
  NAME.input     raw frames as the receiving endpoint reads them after the opening handshake
                 (fed to `rtwcat decode ws` on stdin)
  NAME.expected  the exact JSON lines rtwcat must print (docs/rtwcat.md, decode ws)
  NAME.args      extra rtwcat arguments, one per line (only when a case needs them)
and README.md, the index of cases with the rules each one covers. Files of cases that no
longer exist are removed. `gen.py --check` writes nothing and exits 1 if any file is stale.

Frames are built here, masking included (RFC 6455 5.3, `mask()` below). Every expected output
was derived by hand from RFC 6455 (rules in RULES) and the limits and error codes documented
in include/rtweb/ws.h; none was produced by running an implementation. The section 5.7
examples are written out byte for byte as the RFC prints them.

Run with /usr/bin/python3 (standard library only) and commit both this script and its output.
"""

import base64
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

RULES = {
    "F1": "5.2: FIN, opcode and a 7-, 16- or 64-bit payload length; 126 and 127 select the "
          "16- and 64-bit forms",
    "F2": "5.2: the minimal number of bytes MUST be used for the length, and the 64-bit "
          "length has its most significant bit clear (else RTW_ERR_WS_BAD_LENGTH, 1002)",
    "F3": "5.2: RSV1-3 MUST be 0 unless an extension defines them (none is negotiated here: "
          "RTW_ERR_WS_RESERVED_BITS, 1002)",
    "F4": "5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved (RTW_ERR_WS_RESERVED_OPCODE, 1002)",
    "M1": "5.1/5.3: a server MUST close the connection on an unmasked frame "
          "(RTW_ERR_WS_MASK_REQUIRED, 1002); any 32-bit key, zero included, is valid",
    "M2": "5.1: a client MUST close the connection on a masked frame "
          "(RTW_ERR_WS_MASK_FORBIDDEN, 1002)",
    "M3": "5.3: payload byte i is XORed with key byte i mod 4",
    "G1": "5.4: a fragmented message is a first frame with FIN clear and its opcode, then "
          "continuation frames, the last with FIN set; fragments may be empty",
    "G2": "5.4: control frames MAY be injected in the middle of a fragmented message",
    "G3": "5.4: a continuation frame outside a message "
          "(RTW_ERR_WS_UNEXPECTED_CONTINUATION) or a new data frame inside one "
          "(RTW_ERR_WS_EXPECTED_CONTINUATION) fails the connection with 1002",
    "C1": "5.5: control frames have a payload of at most 125 bytes "
          "(RTW_ERR_WS_CONTROL_TOO_LONG, 1002) and MUST NOT be fragmented "
          "(RTW_ERR_WS_CONTROL_FRAGMENTED, 1002)",
    "C2": "5.5.1: a close payload is empty or a 2-byte big-endian code followed by a UTF-8 "
          "reason; 1 byte fails (RTW_ERR_WS_BAD_CLOSE_PAYLOAD, 1002); an empty one reports "
          "code 1005 (printed without \"code\")",
    "C3": "7.4: codes 1000-1003, 1007-1014 (1012-1014 IANA-registered) and 3000-4999 are "
          "valid in a close frame; 0-999, 1004-1006, 1015-2999 and 5000+ fail "
          "(RTW_ERR_WS_BAD_CLOSE_CODE, 1002)",
    "C4": "5.5.1: after the close frame, the endpoint reads no more data: the rest of the "
          "input is ignored",
    "C5": "5.5.2/5.5.3: ping and pong carry up to 125 bytes of application data; an "
          "unsolicited pong is allowed",
    "U1": "5.6/8.1: text messages and close reasons MUST be UTF-8; otherwise fail with 1007 "
          "(RTW_ERR_INVALID_UTF8). Overlong forms, surrogates and code points above U+10FFFF "
          "are invalid (RFC 3629)",
    "U2": "8.1: a message may split a UTF-8 sequence across fragments; it is validated as a "
          "whole",
    "U3": "8.1: the connection fails as soon as invalid UTF-8 is seen, before the message "
          "or its frame is complete (fail fast)",
    "E1": "7.1.7: after failing, nothing more is read; messages before the fault are "
          "reported",
    "E2": "rtwcat: end of input ends the session; a partial frame or message prints nothing "
          "and the exit status is 0",
    "L1": "include/rtweb/ws.h: max_frame_size (16 MiB by default) is checked against the "
          "declared length at the frame header (RTW_ERR_WS_FRAME_TOO_LARGE, 1009)",
    "J1": "rtwcat output: text and reasons escaped as json.c does; binary, ping and pong "
          "payloads in base64 (RFC 4648 section 4, padded)",
}

CASES = []
SERVER = []            # default role: input is client frames, masked
CLIENT = ["--role", "client"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Masking keys handed out in turn to masked frames; the counter restarts at every case so a
# case's bytes do not depend on the cases before it.
KEYS = [bytes.fromhex(k) for k in
        ("37fa213d", "a5c3e10f", "01020304", "ff00ff00", "5e1d9b72", "80808080", "0badf00d")]
_key_next = [0]


def next_key():
    k = KEYS[_key_next[0] % len(KEYS)]
    _key_next[0] += 1
    return k


# ---------------------------------------------------------------- frames

def mask(payload, key):
    """RFC 6455 5.3: octet i of the payload XOR octet i MOD 4 of the masking key."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, key=None, length=None,
          form=None):
    """One frame (RFC 6455 5.2).

    masked: add a masking key (next_key() unless key is given) and mask the payload.
    length: the payload length to declare (default len(payload)); form: '7', '16' or '64' to
    force a length encoding (default: the minimal one)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    if form is None:
        form = "7" if n <= 125 else "16" if n <= 0xFFFF else "64"
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if masked else 0
    if form == "7":
        assert n <= 125
        head = bytes([b0, mbit | n])
    elif form == "16":
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if masked:
        key = next_key() if key is None else key
        return head + key + mask(payload, key)
    return head + payload


def C(opcode, payload=b"", **kw):
    """A frame as a client sends it (masked): what the default server role reads."""
    return frame(opcode, payload, masked=True, **kw)


def S(opcode, payload=b"", **kw):
    """A frame as a server sends it (unmasked): what --role client reads."""
    return frame(opcode, payload, masked=False, **kw)


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack(">H", code) + reason


# ---------------------------------------------------------------- output lines

def js(s):
    """A JSON string literal, escaped exactly as rtwcat's json.c does."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def b64(data):
    return '"' + base64.b64encode(data).decode("ascii") + '"'


def T(text):
    """A whole text message."""
    return '{"type":"text","data":%s}' % js(text)


def B(data):
    """A whole binary message."""
    return '{"type":"binary","base64":%s}' % b64(data)


def PING(data=b""):
    return '{"type":"ping","base64":%s}' % b64(data)


def PONG(data=b""):
    return '{"type":"pong","base64":%s}' % b64(data)


def CLOSE(code=None, reason=""):
    """The peer's close; code None for a close frame without payload."""
    if code is None:
        return '{"type":"close","reason":%s}' % js(reason)
    return '{"type":"close","code":%d,"reason":%s}' % (code, js(reason))


def ERR(name, close_code):
    """The session failed with RTW_ERR_<name> and queued a close with close_code; exit 1."""
    return '{"type":"error","error":"RTW_ERR_%s","close_code":%d}' % (name, close_code)


def case(name, rules, doc, inp, out, args=()):
    assert all(c.islower() or c.isdigit() or c == "-" for c in name), name
    assert name not in [c["name"] for c in CASES], "duplicate case " + name
    for r in rules.split():
        assert r in RULES or r.startswith("rfc5.7"), (name, r)
    assert isinstance(inp, bytes), name
    CASES.append({"name": name, "rules": rules.split(), "doc": doc, "input": inp,
                  "expected": list(out), "args": list(args)})
    _key_next[0] = 0


# Text with multi-byte sequences of every length, used by several cases.
MIXED = "caf\u00e9 \u20ac5 \U0001d11e na\u00efve"

# ---- RFC 6455 5.7 examples, byte for byte

RFC_MASKED_HELLO = bytes([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
# Our own masking must reproduce the RFC's bytes.
assert frame(OP_TEXT, b"Hello", key=bytes.fromhex("37fa213d")) == RFC_MASKED_HELLO

case("rfc-5-7-unmasked-text", "rfc5.7 F1", "5.7: a single-frame unmasked text message",
     bytes([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), [T("Hello")], CLIENT)
case("rfc-5-7-masked-text", "rfc5.7 F1 M3", "5.7: a single-frame masked text message",
     RFC_MASKED_HELLO, [T("Hello")])
case("rfc-5-7-fragmented-unmasked-text", "rfc5.7 G1",
     "5.7: a fragmented unmasked text message (\"Hel\", \"lo\")",
     bytes([0x01, 0x03, 0x48, 0x65, 0x6c]) + bytes([0x80, 0x02, 0x6c, 0x6f]),
     [T("Hello")], CLIENT)
case("rfc-5-7-unmasked-ping", "rfc5.7 C5",
     "5.7: an unmasked ping with body \"Hello\" (its pong is masked with the default random "
     "source)",
     bytes([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), [PING(b"Hello")], CLIENT)
case("rfc-5-7-masked-pong", "rfc5.7 C5 M3",
     "5.7: a masked pong with body \"Hello\", answering the ping above",
     bytes([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
     [PONG(b"Hello")])
BIN256 = bytes(range(256))
case("rfc-5-7-binary-256", "rfc5.7 F1",
     "5.7: 256 bytes of binary in a single unmasked frame (0x82 0x7E 0x0100)",
     bytes([0x82, 0x7e, 0x01, 0x00]) + BIN256, [B(BIN256)], CLIENT)
BIN64K = bytes((i * 7 + 3) & 0xFF for i in range(65536))
case("rfc-5-7-binary-64k", "rfc5.7 F1",
     "5.7: 64 KiB of binary in a single unmasked frame (0x82 0x7F 0x0000000000010000)",
     bytes([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]) + BIN64K, [B(BIN64K)], CLIENT)

# ---- data frames, lengths and masking

case("text-hello", "F1 M3", "one masked text frame", C(OP_TEXT, "Hello"), [T("Hello")])
case("text-empty", "F1", "an empty text message", C(OP_TEXT, b""), [T("")])
case("binary-all-bytes", "F1 M3 J1", "binary with every byte value 0x00-0xFF",
     C(OP_BINARY, BIN256), [B(BIN256)])
case("binary-empty", "F1 J1", "an empty binary message", C(OP_BINARY, b""), [B(b"")])
case("binary-base64-padding", "J1",
     "binary of 1, 2, 3 and 4 bytes: base64 padding '==', '=', none, '=='",
     C(OP_BINARY, b"\xff") + C(OP_BINARY, b"\xfb\xff") + C(OP_BINARY, b"\x00\x10\x83") +
     C(OP_BINARY, b"Man!"),
     [B(b"\xff"), B(b"\xfb\xff"), B(b"\x00\x10\x83"), B(b"Man!")])
case("text-len-125", "F1", "125 bytes: the largest 7-bit length",
     C(OP_TEXT, "a" * 125), [T("a" * 125)])
case("text-len-126", "F1", "126 bytes: the smallest 16-bit length",
     C(OP_TEXT, "b" * 126), [T("b" * 126)])
ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789"
TEXT64K = "".join(ALPHA[i % len(ALPHA)] for i in range(65536))
case("text-len-65535", "F1", "65535 bytes: the largest 16-bit length",
     C(OP_TEXT, TEXT64K[:65535]), [T(TEXT64K[:65535])])
case("text-len-65536", "F1", "65536 bytes: the smallest 64-bit length",
     C(OP_TEXT, TEXT64K), [T(TEXT64K)])
case("text-utf8-multibyte", "U1 M3", "2-, 3- and 4-byte UTF-8 sequences",
     C(OP_TEXT, MIXED), [T(MIXED)])
EDGES = "\u0080\u07ff\u0800\ufeff\ufffd\uffff\U00010000\U0010ffff\u2028"
case("text-utf8-edges", "U1 J1",
     "the first and last code points of each length, U+FEFF (content, not stripped), U+2028",
     C(OP_TEXT, EDGES), [T(EDGES)])
CTRL = "".join(chr(c) for c in range(0x20)) + "\x7f\"\\/"
case("text-json-escapes", "J1",
     "every C0 control (NUL included), DEL, quote, backslash, slash: escaped as json.c does",
     C(OP_TEXT, CTRL), [T(CTRL)])
case("mask-zero-key", "M1 M3", "a masking key of 00 00 00 00 is a valid key",
     C(OP_TEXT, "zero", key=b"\x00\x00\x00\x00"), [T("zero")])
case("mask-key-per-frame", "M3", "every frame has its own key",
     C(OP_TEXT, "one") + C(OP_TEXT, "two") + C(OP_BINARY, b"three") + C(OP_TEXT, "four"),
     [T("one"), T("two"), B(b"three"), T("four")])
case("messages-in-sequence", "F1", "text, binary and control frames in a row",
     C(OP_TEXT, "a") + C(OP_BINARY, b"b") + C(OP_PING, b"c") + C(OP_TEXT, "d") +
     C(OP_PONG, b"e"),
     [T("a"), B(b"b"), PING(b"c"), T("d"), PONG(b"e")])

# ---- fragmentation

case("frag-text-two", "G1", "a text message in two fragments",
     C(OP_TEXT, "Hel", fin=False) + C(OP_CONT, "lo"), [T("Hello")])
case("frag-text-empty-fragments", "G1", "empty first and last fragments",
     C(OP_TEXT, "", fin=False) + C(OP_CONT, "abc", fin=False) + C(OP_CONT, ""), [T("abc")])
case("frag-all-empty", "G1", "a fragmented message with no payload at all",
     C(OP_TEXT, "", fin=False) + C(OP_CONT, "", fin=False) + C(OP_CONT, ""), [T("")])
case("frag-binary", "G1", "a binary message in three fragments",
     C(OP_BINARY, b"\x00\x01", fin=False) + C(OP_CONT, b"\x02", fin=False) +
     C(OP_CONT, b"\x03\xff"), [B(b"\x00\x01\x02\x03\xff")])
case("frag-one-byte-frames", "G1", "\"Hello\" as five one-byte fragments",
     b"".join(C(OP_TEXT if i == 0 else OP_CONT, c, fin=(i == 4))
              for i, c in enumerate("Hello")), [T("Hello")])
case("frag-then-whole", "G1", "a fragmented message, then a whole one",
     C(OP_BINARY, b"ab", fin=False) + C(OP_CONT, b"cd") + C(OP_TEXT, "next"),
     [B(b"abcd"), T("next")])
EURO = "\u20ac".encode("utf-8")
case("frag-utf8-split", "U2 G1", "U+20AC split 1 + 2 bytes across two fragments",
     C(OP_TEXT, b"x" + EURO[:1], fin=False) + C(OP_CONT, EURO[1:] + b"y"),
     [T("x\u20acy")])
CLEF = "\U0001d11e".encode("utf-8")
case("frag-utf8-split-4-byte", "U2 G1", "U+1D11E split over four one-byte fragments",
     b"".join(C(OP_TEXT if i == 0 else OP_CONT, CLEF[i:i + 1], fin=(i == 3))
              for i in range(4)), [T("\U0001d11e")])
case("frag-ping-between", "G2 C5", "a ping between two fragments is reported first",
     C(OP_TEXT, "Hel", fin=False) + C(OP_PING, b"p") + C(OP_CONT, "lo"),
     [PING(b"p"), T("Hello")])
case("frag-pong-between", "G2 C5", "a pong between two fragments",
     C(OP_BINARY, b"a", fin=False) + C(OP_PONG, b"q") + C(OP_CONT, b"b"),
     [PONG(b"q"), B(b"ab")])
case("frag-controls-between", "G2", "ping, pong and ping between fragments",
     C(OP_TEXT, "a", fin=False) + C(OP_PING) + C(OP_CONT, "b", fin=False) + C(OP_PONG, b"1") +
     C(OP_PING, b"2") + C(OP_CONT, "c"),
     [PING(), PONG(b"1"), PING(b"2"), T("abc")])
case("frag-close-between", "G2 C4",
     "a close between fragments: reported; the unfinished message is never delivered",
     C(OP_TEXT, "Hel", fin=False) + C(OP_CLOSE, close_payload(1000)) + C(OP_CONT, "lo"),
     [CLOSE(1000)])

# ---- control frames

case("ping-empty", "C5", "a ping without payload", C(OP_PING), [PING()])
case("ping-payload", "C5 J1", "a ping with binary payload", C(OP_PING, b"\x00\xffping"),
     [PING(b"\x00\xffping")])
case("ping-125", "C1 C5", "a ping of 125 bytes, the most a control frame holds",
     C(OP_PING, BIN256[:125]), [PING(BIN256[:125])])
case("pong-empty", "C5", "an unsolicited pong without payload", C(OP_PONG), [PONG()])
case("pong-125", "C1 C5", "a pong of 125 bytes", C(OP_PONG, BIN256[131:]),
     [PONG(BIN256[131:])])
case("ping-many", "C5",
     "2000 pings: their pongs are taken from the session and dropped, so nothing fills up",
     b"".join(C(OP_PING, b"%d" % i) for i in range(2000)),
     [PING(b"%d" % i) for i in range(2000)])

# ---- close

case("close-empty", "C2", "a close frame without payload: no \"code\"",
     C(OP_CLOSE), [CLOSE()])
for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
             3999, 4000, 4999):
    case("close-code-%d" % code, "C3", "close code %d is valid" % code,
         C(OP_CLOSE, close_payload(code)), [CLOSE(code)])
case("close-reason", "C2", "a close with code and reason",
     C(OP_CLOSE, close_payload(1000, "bye")), [CLOSE(1000, "bye")])
case("close-reason-utf8", "C2 U1", "a reason with multi-byte characters",
     C(OP_CLOSE, close_payload(1001, MIXED)), [CLOSE(1001, MIXED)])
case("close-reason-123", "C1 C2", "the longest reason: 123 bytes (payload 125)",
     C(OP_CLOSE, close_payload(4000, "r" * 123)), [CLOSE(4000, "r" * 123)])
case("close-reason-json-escapes", "C2 J1", "quote, backslash, LF and NUL in a reason",
     C(OP_CLOSE, close_payload(1000, "a\"b\\c\nd\x00")), [CLOSE(1000, "a\"b\\c\nd\x00")])
case("close-then-data-ignored", "C4", "frames after the close are not reported",
     C(OP_TEXT, "before") + C(OP_CLOSE, close_payload(1000)) + C(OP_TEXT, "after") +
     C(OP_PING), [T("before"), CLOSE(1000)])
case("close-then-garbage-ignored", "C4",
     "bytes after the close are not parsed: an invalid frame there is no error",
     C(OP_CLOSE) + b"\xff\xff\xff\xff" + S(OP_TEXT, "unmasked", rsv=7), [CLOSE()])

# ---- framing errors

case("err-rsv1", "F3", "RSV1 set on a text frame", C(OP_TEXT, "x", rsv=4),
     [ERR("WS_RESERVED_BITS", 1002)])
case("err-rsv2", "F3", "RSV2 set on a binary frame", C(OP_BINARY, b"x", rsv=2),
     [ERR("WS_RESERVED_BITS", 1002)])
case("err-rsv3", "F3", "RSV3 set on a text frame", C(OP_TEXT, "x", rsv=1),
     [ERR("WS_RESERVED_BITS", 1002)])
case("err-rsv-on-ping", "F3", "RSV1 set on a ping", C(OP_PING, b"x", rsv=4),
     [ERR("WS_RESERVED_BITS", 1002)])
case("err-rsv-on-continuation", "F3 G1", "RSV1 set on a continuation frame",
     C(OP_TEXT, "a", fin=False) + C(OP_CONT, "b", rsv=4), [ERR("WS_RESERVED_BITS", 1002)])
for op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF):
    kind = "non-control" if op < 8 else "control"
    case("err-opcode-%x" % op, "F4", "reserved %s opcode 0x%X" % (kind, op),
         C(op, b"x"), [ERR("WS_RESERVED_OPCODE", 1002)])
case("err-reserved-opcode-after-message", "F4 E1",
     "a message, then a reserved opcode: the message is reported, then the error",
     C(OP_TEXT, "ok") + C(0x3) + C(OP_TEXT, "never"),
     [T("ok"), ERR("WS_RESERVED_OPCODE", 1002)])
case("err-length-16-for-125", "F2", "the 16-bit form for a length of 125 is not minimal",
     C(OP_BINARY, b"z" * 125, form="16"), [ERR("WS_BAD_LENGTH", 1002)])
case("err-length-16-for-0", "F2", "the 16-bit form for a length of 0",
     C(OP_BINARY, b"", form="16"), [ERR("WS_BAD_LENGTH", 1002)])
case("err-length-64-for-65535", "F2",
     "the 64-bit form for a length of 65535 (header only: the error needs no payload)",
     frame(OP_BINARY, b"", length=65535, form="64"), [ERR("WS_BAD_LENGTH", 1002)])
case("err-length-64-for-126", "F2", "the 64-bit form for a length of 126",
     C(OP_BINARY, b"w" * 126, form="64"), [ERR("WS_BAD_LENGTH", 1002)])
case("err-length-64-msb", "F2",
     "a 64-bit length with its most significant bit set (header only)",
     bytes([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]) + bytes(4),
     [ERR("WS_BAD_LENGTH", 1002)])

# ---- masking errors

case("err-unmasked-text", "M1", "an unmasked text frame sent to a server",
     S(OP_TEXT, "Hello"), [ERR("WS_MASK_REQUIRED", 1002)])
case("err-unmasked-ping", "M1", "an unmasked ping sent to a server", S(OP_PING, b"p"),
     [ERR("WS_MASK_REQUIRED", 1002)])
case("err-unmasked-close", "M1", "an unmasked close sent to a server",
     S(OP_CLOSE, close_payload(1000)), [ERR("WS_MASK_REQUIRED", 1002)])
case("err-unmasked-continuation", "M1 G1", "a masked first fragment, an unmasked second",
     C(OP_TEXT, "a", fin=False) + S(OP_CONT, "b"), [ERR("WS_MASK_REQUIRED", 1002)])
case("err-unmasked-after-message", "M1 E1", "a masked message, then an unmasked one",
     C(OP_TEXT, "ok") + S(OP_TEXT, "no"), [T("ok"), ERR("WS_MASK_REQUIRED", 1002)])

# ---- fragmentation errors

case("err-continuation-first", "G3", "a continuation frame with no message started",
     C(OP_CONT, "x"), [ERR("WS_UNEXPECTED_CONTINUATION", 1002)])
case("err-continuation-after-message", "G3 E1",
     "a continuation after a finished message",
     C(OP_TEXT, "done") + C(OP_CONT, "more"),
     [T("done"), ERR("WS_UNEXPECTED_CONTINUATION", 1002)])
case("err-text-inside-fragmented", "G3", "a new text frame inside a fragmented message",
     C(OP_TEXT, "a", fin=False) + C(OP_TEXT, "b"), [ERR("WS_EXPECTED_CONTINUATION", 1002)])
case("err-binary-inside-fragmented", "G3", "a binary frame inside a fragmented text message",
     C(OP_TEXT, "a", fin=False) + C(OP_BINARY, b"b"),
     [ERR("WS_EXPECTED_CONTINUATION", 1002)])

# ---- control frame errors

case("err-ping-126", "C1", "a ping of 126 bytes (16-bit length)", C(OP_PING, b"p" * 126),
     [ERR("WS_CONTROL_TOO_LONG", 1002)])
case("err-pong-126", "C1", "a pong of 126 bytes", C(OP_PONG, b"p" * 126),
     [ERR("WS_CONTROL_TOO_LONG", 1002)])
case("err-close-126", "C1", "a close of 126 bytes (code and a 124-byte reason)",
     C(OP_CLOSE, close_payload(1000, "r" * 124)), [ERR("WS_CONTROL_TOO_LONG", 1002)])
case("err-ping-fragmented", "C1", "a ping with FIN clear",
     C(OP_PING, b"a", fin=False) + C(OP_CONT, b"b"), [ERR("WS_CONTROL_FRAGMENTED", 1002)])
case("err-close-fragmented", "C1", "a close with FIN clear",
     C(OP_CLOSE, close_payload(1000), fin=False), [ERR("WS_CONTROL_FRAGMENTED", 1002)])
case("err-close-1-byte", "C2", "a close payload of one byte",
     C(OP_CLOSE, b"\x03"), [ERR("WS_BAD_CLOSE_PAYLOAD", 1002)])
for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
    case("err-close-code-%d" % code, "C3", "close code %d is not allowed" % code,
         C(OP_CLOSE, close_payload(code)), [ERR("WS_BAD_CLOSE_CODE", 1002)])
case("err-close-reason-invalid-utf8", "C2 U1", "a close reason that is not UTF-8",
     C(OP_CLOSE, close_payload(1000, b"ok\xff")), [ERR("INVALID_UTF8", 1007)])
case("err-close-reason-truncated-utf8", "C2 U1",
     "a close reason ending inside a sequence (E2 82)",
     C(OP_CLOSE, close_payload(1000, b"\xe2\x82")), [ERR("INVALID_UTF8", 1007)])

# ---- UTF-8 errors

BAD_UTF8 = [
    ("lone-continuation", b"\x80", "a lone continuation byte 80"),
    ("overlong-2", b"\xc0\xaf", "overlong '/' C0 AF"),
    ("overlong-3", b"\xe0\x80\xaf", "overlong '/' E0 80 AF"),
    ("overlong-4", b"\xf0\x80\x80\xaf", "overlong '/' F0 80 80 AF"),
    ("surrogate-high", b"\xed\xa0\x80", "the high surrogate U+D800 (ED A0 80)"),
    ("surrogate-low", b"\xed\xbf\xbf", "the low surrogate U+DFFF (ED BF BF)"),
    ("above-max", b"\xf4\x90\x80\x80", "U+110000 (F4 90 80 80)"),
    ("byte-f5", b"\xf5\x80\x80\x80", "the byte F5"),
    ("byte-fe", b"\xfe", "the byte FE"),
    ("byte-ff", b"\xff", "the byte FF"),
    ("missing-continuation", b"\xc3(", "C3 followed by an ASCII byte"),
    ("truncated-at-end", b"ok\xe2\x82", "the message ends inside a sequence (E2 82)"),
]
for tag, bad, what in BAD_UTF8:
    case("err-utf8-" + tag, "U1", "text with " + what,
         C(OP_TEXT, b"a" + bad), [ERR("INVALID_UTF8", 1007)])
case("err-utf8-after-valid-message", "U1 E1", "a valid text message, then an invalid one",
     C(OP_TEXT, MIXED) + C(OP_TEXT, b"\xff"), [T(MIXED), ERR("INVALID_UTF8", 1007)])
case("err-utf8-truncated-across-fragments", "U1 U2",
     "a fragmented message whose last fragment ends inside a sequence",
     C(OP_TEXT, b"a\xe2", fin=False) + C(OP_CONT, b"\x82"), [ERR("INVALID_UTF8", 1007)])
case("err-utf8-split-invalid", "U1 U2",
     "E2 at the end of one fragment, then an ASCII byte: invalid across the boundary",
     C(OP_TEXT, b"a\xe2", fin=False) + C(OP_CONT, b"b"), [ERR("INVALID_UTF8", 1007)])
case("err-utf8-fail-fast-fragment", "U3",
     "an invalid first fragment fails at once; the message never completes",
     C(OP_TEXT, b"ok\xff", fin=False), [ERR("INVALID_UTF8", 1007)])
# A frame declaring 100 bytes, of which only "ok" FF arrive: the error needs no more input.
case("err-utf8-fail-fast-mid-frame", "U3",
     "an invalid byte fails at once, before the rest of its frame arrives",
     C(OP_TEXT, b"ok\xff" + b"x" * 97)[:2 + 4 + 3], [ERR("INVALID_UTF8", 1007)])
case("err-sticky", "E1", "after an error nothing more is reported",
     C(OP_TEXT, "a", rsv=4) + C(OP_TEXT, "b") + C(OP_CLOSE),
     [ERR("WS_RESERVED_BITS", 1002)])

# ---- limits (include/rtweb/ws.h defaults)

MAX_FRAME = 16 * 1024 * 1024
case("err-frame-too-large", "L1",
     "a header declaring 16 MiB + 1 bytes fails at once (only the header is sent)",
     frame(OP_BINARY, b"", length=MAX_FRAME + 1), [ERR("WS_FRAME_TOO_LARGE", 1009)])
case("limit-frame-at-max-truncated", "L1 E2",
     "a header declaring exactly 16 MiB is accepted; the payload never comes",
     frame(OP_BINARY, b"", length=MAX_FRAME) + b"\x00" * 10, [])

# ---- end of input

case("eof-empty", "E2", "no input, no output", b"", [])
case("eof-partial-header", "E2", "one byte of a header", C(OP_TEXT, "x")[:1], [])
case("eof-partial-mask", "E2", "a header cut inside its masking key",
     C(OP_TEXT, "x")[:4], [])
case("eof-partial-payload", "E2", "a message, then a frame cut inside its payload",
     C(OP_TEXT, "first") + C(OP_TEXT, "second")[:8], [T("first")])
case("eof-mid-fragmented-message", "E2 G1", "the last fragment never comes",
     C(OP_TEXT, "a", fin=False) + C(OP_CONT, "b", fin=False), [])

# ---- client role (--role client): unmasked server frames

case("client-text", "M2 F1", "client role: an unmasked text message",
     S(OP_TEXT, MIXED), [T(MIXED)], CLIENT)
case("client-fragmented-with-ping", "M2 G2", "client role: a ping between fragments",
     S(OP_BINARY, b"ab", fin=False) + S(OP_PING, b"hi") + S(OP_CONT, b"cd"),
     [PING(b"hi"), B(b"abcd")], CLIENT)
case("client-close", "M2 C2", "client role: a close with code and reason",
     S(OP_CLOSE, close_payload(1001, "going")), [CLOSE(1001, "going")], CLIENT)
case("client-err-masked", "M2", "client role: a masked frame fails",
     C(OP_TEXT, "Hello"), [ERR("WS_MASK_FORBIDDEN", 1002)], CLIENT)
case("client-err-masked-after-message", "M2 E1",
     "client role: an unmasked message, then a masked one",
     S(OP_TEXT, "ok") + C(OP_PING), [T("ok"), ERR("WS_MASK_FORBIDDEN", 1002)], CLIENT)
case("client-err-rsv", "F3", "client role: RSV bits are refused too",
     S(OP_TEXT, "x", rsv=2), [ERR("WS_RESERVED_BITS", 1002)], CLIENT)
case("client-err-invalid-utf8", "U1", "client role: invalid UTF-8 fails with 1007",
     S(OP_TEXT, b"\xc0\x80"), [ERR("INVALID_UTF8", 1007)], CLIENT)
case("role-server-explicit", "M1", "--role server is the default",
     C(OP_TEXT, "srv"), [T("srv")], ["--role", "server"])


# ---------------------------------------------------------------- output

def expected_bytes(c):
    return "".join(line + "\n" for line in c["expected"]).encode("utf-8")


def files_of(c):
    out = {c["name"] + ".input": c["input"], c["name"] + ".expected": expected_bytes(c)}
    if c["args"]:
        out[c["name"] + ".args"] = "".join(a + "\n" for a in c["args"]).encode("utf-8")
    return out


def md_escape(s):
    return s.replace("|", "\\|")


def readme():
    lines = [
        "# WebSocket decode corpus",
        "",
        "Generated by `gen.py` (run `/usr/bin/python3 gen.py`; do not edit the case files by",
        "hand). Each case is `NAME.input` (raw frames as the receiving endpoint reads them,",
        "fed on stdin), `NAME.expected` (the exact output of `rtwcat decode ws`, see",
        "docs/rtwcat.md) and optionally `NAME.args` (extra arguments, one per line; without",
        "them the role is server, so the input is masked client frames).",
        "`tests/tools/run_ws_conformance.sh` runs every case whole, with `--chunk 1` and with",
        "`--chunk 7` (meson test `ws_decode_conformance`).",
        "",
        "Frames, masking included, are built by gen.py. Expected outputs were derived by hand",
        "from RFC 6455 and the limits and error codes of include/rtweb/ws.h, never by running",
        "an implementation. `rfc5.7` cases are the examples of RFC 6455 section 5.7, byte for",
        "byte.",
        "",
        "## Rules",
        "",
        "| Rule | Meaning | Cases |",
        "|---|---|---|",
    ]
    for r, text in RULES.items():
        n = sum(1 for c in CASES if r in c["rules"])
        lines.append("| %s | %s | %d |" % (r, md_escape(text), n))
    lines += ["", "## Cases (%d)" % len(CASES), "", "| Case | Rules | Args | What it checks |",
              "|---|---|---|---|"]
    for c in CASES:
        args = " ".join("`%s`" % a for a in c["args"])
        lines.append("| %s | %s | %s | %s |" % (c["name"], " ".join(c["rules"]), args,
                                              md_escape(c["doc"])))
    return ("\n".join(lines) + "\n").encode("utf-8")


def main():
    check = "--check" in sys.argv[1:]
    for r in RULES:
        assert any(r in c["rules"] for c in CASES), "no case covers " + r
    want = {"README.md": readme()}
    for c in CASES:
        want.update(files_of(c))
    stale = []
    for fn, data in sorted(want.items()):
        path = os.path.join(HERE, fn)
        try:
            with open(path, "rb") as f:
                same = f.read() == data
        except FileNotFoundError:
            same = False
        if not same:
            stale.append(fn)
            if not check:
                with open(path, "wb") as f:
                    f.write(data)
    for fn in sorted(os.listdir(HERE)):
        if fn.endswith((".input", ".expected", ".args")) and fn not in want:
            stale.append(fn)
            if not check:
                os.remove(os.path.join(HERE, fn))
    if check:
        for fn in stale:
            print("stale: " + fn)
        return 1 if stale else 0
    print("%d cases, %d files updated" % (len(CASES), len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
