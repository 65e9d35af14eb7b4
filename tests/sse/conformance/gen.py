#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate the SSE conformance corpus run by tests/tools/run_conformance.sh.

Writes, next to this script, one set of files per case:
  NAME.input     the raw bytes of the event stream (fed to `rtwcat decode sse` on stdin)
  NAME.expected  the exact JSON lines rtwcat must print (docs/rtwcat.md, OUTPUT FORMAT)
  NAME.args      extra rtwcat arguments, one per line (only when a case needs them)
and README.md, the index of cases with the rules each one covers. Files of cases that no
longer exist are removed. `gen.py --check` writes nothing and exits 1 if any file is stale.

Every expected output below was derived by hand from WHATWG HTML 9.2.6 "Interpreting an event
stream" (rules P1-P18, listed in RULES) and the WHATWG Encoding UTF-8 decoder, plus the limits
documented in include/rtweb/sse.h. None was produced by running a parser. The web-platform-
tests cases reproduce the streams of WPT eventsource/format-*.any.js and event-data.any.js as
the server sends them (resources/message.py appends "\\n\\n\\n", or "\\n" with newline=none).

Run with /usr/bin/python3 (standard library only) and commit both this script and its output.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

RULES = {
    "P1": "Decode as UTF-8 (WHATWG Encoding): each maximal subpart of an invalid sequence "
          "becomes one U+FFFD; decoding continues across chunks",
    "P2": "One leading BOM (EF BB BF at stream start) is stripped; any other BOM is content",
    "P3": "Lines end at CRLF, LF or CR; LF CR is two endings; a CR at end of stream ends its "
          "line; U+2028, U+0085, VT and FF are not line endings",
    "P4": "The data, event type and last event ID buffers start empty",
    "P5": "A blank line dispatches the event",
    "P6": "A line starting with ':' is a comment (reported by on_comment, text after the "
          "colon minus one leading space)",
    "P7": "Field = text before the first ':'; value = text after it minus one leading U+0020; "
          "the name is not trimmed",
    "P8": "A line without ':' is a field name with an empty value",
    "P9": "Field names are compared literally (case-sensitive)",
    "P10": "event: sets the event type buffer",
    "P11": "data: appends the value and a LF to the data buffer",
    "P12": "id: sets the last event ID buffer unless the value contains NUL (then the field "
           "is ignored); an empty value resets it",
    "P13": "retry: sets the reconnection time when the value is ASCII digits only (base ten; "
           "rtweb: empty ignored, above 4294967295 saturates); reported at its line",
    "P14": "Other field names are ignored",
    "P15": "At end of stream pending data is discarded: no dispatch without the blank line",
    "P16": "Dispatch: last event ID := buffer (even for a block without data); empty data "
           "buffer -> no event, buffers reset; one trailing LF removed; type 'message' when "
           "the type buffer is empty",
    "P17": "An event without an id field reports the last ID seen (it persists; rtweb: it "
           "can be seeded with --last-event-id, as on a reconnect)",
    "P18": "After dispatch (or a block without data) the data and event type buffers are "
           "empty",
}

# The WPT eventsource format tests (sse-anchors.md section 2.1); each must have a case.
WPT_TESTS = [
    "format-bom", "format-bom-2", "format-comments", "format-data-before-final-empty-line",
    "format-field-data", "format-field-event", "format-field-event-empty", "format-field-id",
    "format-field-id-2", "format-field-id-3", "format-field-id-null", "format-field-parsing",
    "format-field-retry", "format-field-retry-bogus", "format-field-retry-empty",
    "format-field-unknown", "format-leading-space", "format-newlines", "format-null-character",
    "format-utf-8", "format-mime-trailing-semicolon", "format-mime-valid-bogus",
    "format-mime-bogus", "event-data",
]

U = "\ufffd"  # REPLACEMENT CHARACTER
UINT32_MAX = 4294967295


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


def E(data, event="message", id=""):
    """A dispatched event: its type, data and the last event ID."""
    return '{"event":%s,"data":%s,"id":%s}' % (js(event), js(data), js(id))


def R(ms):
    """A valid retry field."""
    return '{"retry":%d}' % ms


def C(text):
    """A comment (only printed with --comments)."""
    return '{"comment":%s}' % js(text)


def ERR(name):
    """The parser failed; rtwcat exits 1."""
    return '{"error":"%s"}' % name


def message_py(message, newline_none=False):
    """The body WPT eventsource/resources/message.py sends for ?message=..."""
    return message + (b"" if newline_none else b"\n\n") + b"\n"


# ---------------------------------------------------------------- cases

CASES = []


def case(name, rules, doc, inp, out, args=()):
    assert all(c.islower() or c.isdigit() or c == "-" for c in name), name
    assert name not in [c["name"] for c in CASES], "duplicate case " + name
    for r in rules.split():
        assert r in RULES or r.startswith("wpt:") or r == "limit", (name, r)
    assert isinstance(inp, bytes), name
    CASES.append({"name": name, "rules": rules.split(), "doc": doc, "input": inp,
                  "expected": list(out), "args": list(args)})


COMMENTS = ["--comments"]

# ---- the spec's own examples (WHATWG HTML 9.2.1, 9.2.6)

case("spec-example-stock", "P11 P16",
     "9.2.6 example: three data lines become one event joined with LF",
     b"data: YHOO\ndata: +2\ndata: 10\n\n",
     [E("YHOO\n+2\n10")])
case("spec-example-four-blocks", "P6 P12 P16 P7",
     "9.2.6 example: a comment-only block fires nothing; a bare `id` resets the ID; "
     "`data:  third event` keeps one leading space",
     b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
     b"data:  third event\n\n",
     [E("first event", id="1"), E("second event"), E(" third event")])
case("spec-example-empty-data", "P8 P11 P15 P16",
     "9.2.6 example: `data` alone appends an empty line; the last block has no blank line "
     "and is discarded",
     b"data\n\ndata\ndata\n\ndata:",
     [E(""), E("\n")])
case("spec-example-space-optional", "P7",
     "9.2.6 example: `data:test` and `data: test` are the same",
     b"data:test\n\ndata: test\n\n",
     [E("test"), E("test")])
case("spec-example-intro-messages", "P5 P11 P16",
     "9.2.1 example: three messages, the second on two lines",
     b"data: This is the first message.\n\n"
     b"data: This is the second message, it\ndata: has two lines.\n\n"
     b"data: This is the third message.\n\n",
     [E("This is the first message."), E("This is the second message, it\nhas two lines."),
      E("This is the third message.")])
case("spec-example-event-types", "P10 P18",
     "9.2.1 example: typed events add/remove",
     b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
     [E("73857293", "add"), E("2153", "remove"), E("113411", "add")])

# ---- web-platform-tests eventsource/ (streams as sent by the WPT server)

case("wpt-format-bom", "wpt:format-bom P2",
     "format-bom: the first BOM is stripped; one before the second block is content, so "
     "`\\ufeffdata` is an unknown field and \"2\" never fires",
     message_py(b"\xef\xbb\xbfdata:1\n\n\xef\xbb\xbfdata:2\n\ndata:3"),
     [E("1"), E("3")])
case("wpt-format-bom-2", "wpt:format-bom-2 P2",
     "format-bom-2: only one BOM is stripped, so \"1\" never fires",
     message_py(b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\ndata:3"),
     [E("2"), E("3")])
WPT_LONG = b"x" * 2048
WPT_COMMENTS = message_py(b"data:1\r:\x00\n:\r\ndata:2\n:" + WPT_LONG + b"\rdata:3\n:data:fail\r:"
                          + WPT_LONG + b"\ndata:4\n", newline_none=True)
case("wpt-format-comments", "wpt:format-comments P6 P3",
     "format-comments: comments of every shape and line ending, 2 KiB comments",
     WPT_COMMENTS,
     [E("1\n2\n3\n4")])
case("wpt-format-comments-shown", "wpt:format-comments P6 P3",
     "format-comments with --comments: each comment reported, NUL included",
     WPT_COMMENTS,
     [C("\x00"), C(""), C("x" * 2048), C("data:fail"), C("x" * 2048), E("1\n2\n3\n4")],
     COMMENTS)
case("wpt-format-data-before-final-empty-line", "wpt:format-data-before-final-empty-line P15 P13",
     "format-data-before-final-empty-line: the last block has no blank line and is "
     "discarded, its id never applied",
     message_py(b"retry:1000\ndata:test1\n\nid:test\ndata:test2", newline_none=True),
     [R(1000), E("test1")])
case("wpt-format-field-data", "wpt:format-field-data P8 P11",
     "format-field-data: `data:` -> \"\", `data` twice -> \"\\n\"",
     message_py(b"data:\n\ndata\ndata\n\ndata:test"),
     [E(""), E("\n"), E("test")])
case("wpt-format-field-event", "wpt:format-field-event P10 P18",
     "format-field-event: custom type, reset to message after dispatch",
     message_py(b"event:test\ndata:x\n\ndata:x"),
     [E("x", "test"), E("x")])
case("wpt-format-field-event-empty", "wpt:format-field-event-empty P10 P16",
     "format-field-event-empty: `event: ` gives the type \"\", dispatched as message",
     message_py(b"event: \ndata:data"),
     [E("data")])
LEI_HELLO = b"\nretry: 200\ndata: hello\n\n"  # resources/last-event-id.py after its id line
case("wpt-format-field-id", "wpt:format-field-id P12 P13",
     "format-field-id, first connection: last-event-id.py sends id U+2026",
     b"id: \xe2\x80\xa6" + LEI_HELLO,
     [R(200), E("hello", id="\u2026")])
case("wpt-format-field-id-2", "wpt:format-field-id-2 wpt:format-field-id P17",
     "format-field-id(-2), reconnection: the server echoes Last-Event-ID as data; the "
     "parser seeded with the previous ID reports it for id-less events",
     b"data: \xe2\x80\xa6\n\n",
     [E("\u2026", id="\u2026")], ["--last-event-id", "\u2026"])
case("wpt-format-field-id-3-persists", "wpt:format-field-id-3 P17",
     "format-field-id-3 (type=1, last-event-id2.py): the ID persists across events",
     b"id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
     [E("1", id="1"), E("2", id="1"), E("3", id="2"), E("4", id="2")])
case("wpt-format-field-id-3-resets", "wpt:format-field-id-3 P12",
     "format-field-id-3 (type=2): `id:` resets the ID",
     b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
     [E("1", id="1"), E("2"), E("3")])
case("wpt-format-field-id-3-resets-no-colon", "wpt:format-field-id-3 P8 P12",
     "format-field-id-3 (type=3): `id` without a colon resets the ID",
     b"id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
     [E("1", id="1"), E("2"), E("3")])
for i, value in enumerate([b"\x00\x00", b"x\x00", b"\x00x", b"x\x00x", b" \x00"], 1):
    case("wpt-format-field-id-null-%d" % i, "wpt:format-field-id-null P12",
         "format-field-id-null: id value %r contains NUL, so the field is ignored" % value,
         b"id: " + value + LEI_HELLO,
         [R(200), E("hello")])
case("wpt-format-field-parsing", "wpt:format-field-parsing P7 P9 P3 P11",
     "format-field-parsing: case-sensitive names, NUL in names, leading space in a name",
     message_py(b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\n"
                b"data:3\rdata:\r\n data:32\ndata:4\n", newline_none=True),
     [E("\x00\n 2\n1\n3\n\n4")])
case("wpt-format-field-retry", "wpt:format-field-retry P13",
     "format-field-retry: 03000 is 3000 (decimal, not octal)",
     message_py(b"retry:03000\ndata:x"),
     [R(3000), E("x")])
case("wpt-format-field-retry-bogus", "wpt:format-field-retry-bogus P13",
     "format-field-retry-bogus: `1000x` is ignored, 3000 stays",
     message_py(b"retry:3000\nretry:1000x\ndata:x"),
     [R(3000), E("x")])
case("wpt-format-field-retry-empty", "wpt:format-field-retry-empty P13 P8",
     "format-field-retry-empty: `retry` alone is ignored, the event still fires",
     message_py(b"retry\ndata:test"),
     [E("test")])
case("wpt-format-field-unknown", "wpt:format-field-unknown P14 P7 P8 P6",
     "format-field-unknown: unknown fields, ` data`, text without a colon",
     message_py(b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\n"
                b"data:test"),
     [E("test\n\ntest")])
case("wpt-format-leading-space", "wpt:format-leading-space P7 P3",
     "format-leading-space: a tab is not stripped; one space is; CR as a line end",
     message_py(b"data:\ttest\rdata: \ndata:test"),
     [E("\ttest\n\ntest")])
case("wpt-format-newlines", "wpt:format-newlines P3",
     "format-newlines: CRLF and LF mixed; the final CR and message.py's LF are one CRLF",
     message_py(b"data:test\r\ndata\ndata:test\r\n\r", newline_none=True),
     [E("test\n\ntest")])
case("wpt-format-null-character", "wpt:format-null-character P11",
     "format-null-character: NUL in data survives",
     message_py(b"data:\x00\n\n"),
     [E("\x00")])
case("wpt-format-utf-8", "wpt:format-utf-8 P1",
     "format-utf-8: always UTF-8 (the Content-Type charset=windows-1252 is ignored)",
     message_py(b"data:ok\xe2\x80\xa6"),
     [E("ok\u2026")])
for t in ["mime-trailing-semicolon", "mime-valid-bogus", "mime-bogus"]:
    case("wpt-format-" + t, "wpt:format-" + t + " P7 P16",
         "format-%s: the default message.py body; the MIME check belongs to the client "
         "policy (HTTP layer), the parser only sees the body" % t,
         message_py(b"data: data"),
         [E("data")])
case("wpt-event-data", "wpt:event-data P6 P9 P14 P8 P16",
     "event-data (message2.py, one round): blocks with only unknown fields fire nothing",
     b"data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\n"
     b"data:end\n\n",
     [E("msg\nmsg"), E(""), E("end")])

# ---- P2: the byte order mark

case("bom-stripped", "P2",
     "one leading BOM is stripped (the --chunk 1 run splits it EF|BB|BF)",
     b"\xef\xbb\xbfdata:1\n\n",
     [E("1")])
case("bom-stripped-crlf", "P2 P3",
     "leading BOM then CRLF lines",
     b"\xef\xbb\xbfdata:1\r\n\r\n",
     [E("1")])
case("bom-then-comment", "P2 P6",
     "BOM then a comment: the line after the BOM starts with ':'",
     b"\xef\xbb\xbf: hi\ndata:1\n\n",
     [C("hi"), E("1")], COMMENTS)
case("bom-then-blank-line", "P2 P5",
     "BOM then a blank line: nothing to dispatch",
     b"\xef\xbb\xbf\ndata:1\n\n",
     [E("1")])
case("bom-only", "P2",
     "a stream that is only a BOM",
     b"\xef\xbb\xbf",
     [])
case("bom-double", "P2",
     "two BOMs: the second is U+FEFF in the field name `\\ufeffdata` (unknown)",
     b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-second-line", "P2 P14",
     "a BOM at the start of a later line is content",
     b"data:1\n\xef\xbb\xbfdata:2\n\n",
     [E("1")])
case("bom-after-leading-blank-line", "P2",
     "a BOM after a leading LF is not at stream start",
     b"\n\xef\xbb\xbfdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-in-value", "P2 P11",
     "a BOM inside a value is kept as U+FEFF",
     b"data:\xef\xbb\xbfx\n\n",
     [E("\ufeffx")])
case("bom-as-event-type", "P2 P10",
     "a BOM as the whole event type: the type is U+FEFF (non-empty)",
     b"event:\xef\xbb\xbf\ndata:x\n\n",
     [E("x", "\ufeff")])
case("bom-partial-ef-bb", "P2 P1",
     "EF BB then `d` is not a BOM: one U+FFFD starts the field name",
     b"\xef\xbbdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-partial-ef", "P2 P1",
     "EF then `d`: one U+FFFD starts the field name",
     b"\xefdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-partial-then-colon", "P2 P1 P6 P14",
     "EF BB then ':' gives the line `\\ufffd:x`, a field (unknown), not a comment",
     b"\xef\xbb:x\ndata:y\n\n",
     [E("y")], COMMENTS)
case("bom-mojibake-characters", "P2",
     "the characters U+00EF U+00BB U+00BF (the BOM read as Latin-1, re-encoded) are not a BOM",
     b"\xc3\xaf\xc2\xbb\xc2\xbfdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-utf16-be", "P2 P1",
     "FE FF is not a UTF-8 BOM: two U+FFFD",
     b"\xfe\xffdata:1\n\ndata:2\n\n",
     [E("2")])
case("bom-utf16-le", "P2 P1",
     "FF FE is not a UTF-8 BOM: two U+FFFD",
     b"\xff\xfedata:1\n\ndata:2\n\n",
     [E("2")])

# ---- P3: lines

case("lines-lf", "P3", "LF line endings", b"data:a\n\n", [E("a")])
case("lines-cr", "P3", "CR line endings", b"data:a\r\r", [E("a")])
case("lines-crlf", "P3", "CRLF line endings", b"data:a\r\n\r\n", [E("a")])
case("lines-crlf-many", "P3",
     "CRLF throughout; the chunked runs split CR from LF",
     b"data:1\r\n\r\ndata:2\r\n\r\ndata:3\r\n\r\n",
     [E("1"), E("2"), E("3")])
case("lines-cr-only-stream", "P3 P10",
     "a stream using CR only",
     b"event:e\rdata:1\r\rdata:2\r\r",
     [E("1", "e"), E("2")])
case("lines-mixed-in-one-event", "P3 P11",
     "CRLF, CR, LF, CRLF, then LF for the blank line",
     b"data:a\r\ndata:b\rdata:c\ndata:d\r\n\n",
     [E("a\nb\nc\nd")])
case("lines-cr-then-text", "P3",
     "a CR not followed by LF ends the line",
     b"data:a\rdata:b\n\n",
     [E("a\nb")])
case("lines-lf-cr-two-endings", "P3 P5",
     "LF CR is two line endings: the CR is a blank line",
     b"data:a\n\rdata:b\n\n",
     [E("a"), E("b")])
case("lines-cr-crlf", "P3",
     "CR then CRLF: two line endings",
     b"data:a\r\r\n",
     [E("a")])
case("lines-crlf-lf", "P3",
     "CRLF then LF: two line endings",
     b"data:a\r\n\ndata:b\n\n",
     [E("a"), E("b")])
case("lines-lf-crlf", "P3",
     "LF then CRLF: two line endings",
     b"data:a\n\r\n",
     [E("a")])
case("lines-cr-at-eof", "P3 P15",
     "a CR at end of stream ends its line at once, so the blank line dispatches",
     b"data:a\n\r",
     [E("a")])
case("lines-crlf-then-cr-at-eof", "P3",
     "CRLF, then a final CR that is a blank line",
     b"data:a\r\n\r",
     [E("a")])
case("lines-not-line-endings", "P3 P11",
     "U+2028, U+2029, U+0085, VT and FF are not line endings",
     b"data:a\xe2\x80\xa8b\xe2\x80\xa9c\xc2\x85d\x0be\x0cf\n\n",
     [E("a\u2028b\u2029c\u0085d\x0be\x0cf")])
case("lines-blank-only", "P3 P5 P16",
     "only blank lines (LF, CRLF, CR, CRLF, LF): nothing dispatched",
     b"\n\r\n\r\r\n\n",
     [])
case("lines-empty-input", "P15", "empty input", b"", [])

# ---- P1: UTF-8 decoding

case("utf8-valid-multibyte", "P1",
     "2-, 3- and 4-byte sequences; the chunked runs split them",
     b"data:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n\n",
     [E("\u00e9\u20ac\U0001f600")])
case("utf8-valid-4byte-run", "P1",
     "eight 4-byte characters: --chunk 7 splits them at every offset",
     b"data:" + "\U0001f600".encode() * 8 + b"\n\n",
     [E("\U0001f600" * 8)])
case("utf8-c0-af", "P1",
     "C0 AF (overlong '/'): C0 is never valid, AF is a lone continuation -> 2 U+FFFD",
     b"data:a\xc0\xafb\n\n",
     [E("a" + U * 2 + "b")])
case("utf8-surrogate-ed-a0-80", "P1",
     "ED A0 80 (a surrogate): ED accepts 80..9F only -> 3 U+FFFD",
     b"data:\xed\xa0\x80\n\n",
     [E(U * 3)])
case("utf8-surrogate-ed-bf-bf", "P1",
     "ED BF BF (U+DFFF) -> 3 U+FFFD",
     b"data:\xed\xbf\xbf\n\n",
     [E(U * 3)])
case("utf8-truncated-before-lf", "P1 P3",
     "E2 82 then LF: one U+FFFD and the LF still ends the line",
     b"data:\xe2\x82\n\n",
     [E(U)])
case("utf8-truncated-before-cr", "P1 P3",
     "F0 9F 98 then CR: one U+FFFD, the CR ends the line",
     b"data:\xf0\x9f\x98\r\r",
     [E(U)])
case("utf8-truncated-before-crlf", "P1 P3",
     "E2 then CRLF: one U+FFFD",
     b"data:\xe2\r\n\r\n",
     [E(U)])
case("utf8-truncated-then-ascii", "P1",
     "E2 82 then 'A': one U+FFFD, then 'A'",
     b"data:\xe2\x82A\n\n",
     [E(U + "A")])
case("utf8-truncated-4byte-then-ascii", "P1",
     "F0 9F 98 then 'x': one U+FFFD, then 'x'",
     b"data:\xf0\x9f\x98x\n\n",
     [E(U + "x")])
case("utf8-lead-then-lead", "P1",
     "E2 followed by a complete E2 82 AC: one U+FFFD, then the euro sign",
     b"data:\xe2\xe2\x82\xac\n\n",
     [E(U + "\u20ac")])
case("utf8-f4-90-80-80", "P1",
     "F4 90 80 80 (above U+10FFFF): F4 accepts 80..8F only -> 4 U+FFFD",
     b"data:\xf4\x90\x80\x80\n\n",
     [E(U * 4)])
case("utf8-invalid-leads", "P1",
     "F5 80 F8 FF FE: bytes that never start a sequence -> 5 U+FFFD",
     b"data:\xf5\x80\xf8\xff\xfe\n\n",
     [E(U * 5)])
case("utf8-overlong-2byte", "P1",
     "C1 BF (overlong) -> 2 U+FFFD",
     b"data:\xc1\xbf\n\n",
     [E(U * 2)])
case("utf8-overlong-3byte", "P1",
     "E0 80 AF (overlong '/'): E0 accepts A0..BF only -> 3 U+FFFD",
     b"data:\xe0\x80\xaf\n\n",
     [E(U * 3)])
case("utf8-overlong-4byte", "P1",
     "F0 80 80 AF (overlong '/'): F0 accepts 90..BF only -> 4 U+FFFD",
     b"data:\xf0\x80\x80\xaf\n\n",
     [E(U * 4)])
case("utf8-lone-continuations", "P1",
     "80 BF 80: each lone continuation byte -> one U+FFFD",
     b"data:\x80\xbf\x80\n\n",
     [E(U * 3)])
case("utf8-max-code-point", "P1",
     "F4 8F BF BF is U+10FFFF, valid",
     b"data:\xf4\x8f\xbf\xbf\n\n",
     [E("\U0010ffff")])
case("utf8-noncharacters-kept", "P1",
     "U+FFFE and U+FFFF are well formed and kept",
     b"data:\xef\xbf\xbe\xef\xbf\xbf\n\n",
     [E("\ufffe\uffff")])
case("utf8-literal-replacement-char", "P1",
     "a U+FFFD in the input passes through",
     b"data:\xef\xbf\xbd\n\n",
     [E(U)])
case("utf8-cr-interrupts-sequence", "P1 P3 P8 P14",
     "E2 CR 82 AC: U+FFFD, the CR ends the line, then `\\ufffd\\ufffd` is an unknown field",
     b"data:\xe2\r\x82\xac\n\n",
     [E(U)])
case("utf8-invalid-in-event-type", "P1 P10",
     "FF as the event type -> type U+FFFD",
     b"event:\xff\ndata:x\n\n",
     [E("x", U)])
case("utf8-invalid-in-id", "P1 P12",
     "C0 as the id -> id U+FFFD",
     b"id:\xc0\ndata:x\n\n",
     [E("x", id=U)])
case("utf8-invalid-in-field-name", "P1 P7 P14",
     "`data` E2 82 `:x`: the field name is `data\\ufffd`, unknown",
     b"data\xe2\x82:x\n\ndata:y\n\n",
     [E("y")])
case("utf8-invalid-in-comment", "P1 P6",
     "FE in a comment -> U+FFFD (so no leading space to remove)",
     b":\xfe hi\n",
     [C(U + " hi")], COMMENTS)
case("utf8-truncated-at-eof", "P1 P15",
     "a truncated sequence in the unterminated last line is discarded with it",
     b"data:x\n\ndata:\xe2",
     [E("x")])

# ---- P6: comments

case("comment-ignored", "P6", "a comment is not reported without --comments",
     b":hi\ndata:x\n\n", [E("x")])
case("comment-shown", "P6", "with --comments a comment is reported before the event",
     b":hi\ndata:x\n\n", [C("hi"), E("x")], COMMENTS)
case("comment-shapes", "P6",
     "`:`, `::`, `:data: x`, one space removed, only one, a tab kept",
     b":\n::\n:data: x\n: two\n:  three\n:\tfour\n",
     [C(""), C(":"), C("data: x"), C("two"), C(" three"), C("\tfour")], COMMENTS)
case("comment-inside-block", "P6 P11",
     "a comment between data lines does not end the block",
     b"data:a\n:c\ndata:b\n\n",
     [E("a\nb")])
case("comment-inside-block-shown", "P6 P11",
     "as comment-inside-block, with --comments",
     b"data:a\n:c\ndata:b\n\n",
     [C("c"), E("a\nb")], COMMENTS)
case("comment-line-endings", "P6 P3",
     "comments ended by CR, LF, CRLF",
     b":a\r:b\n:c\r\n:d\n",
     [C("a"), C("b"), C("c"), C("d")], COMMENTS)
case("comment-nul", "P6",
     "NUL in comments",
     b":\x00\n: \x00x\n",
     [C("\x00"), C("\x00x")], COMMENTS)
case("comment-heartbeat-shown", "P6 P5",
     "heartbeat comments each followed by a blank line",
     b": ping\n\n: ping\n\n",
     [C("ping"), C("ping")], COMMENTS)
case("comment-heartbeat-hidden", "P6 P5",
     "heartbeat comments print nothing without --comments",
     b": ping\n\n: ping\n\n",
     [])
case("comment-not-a-blank-line", "P6 P15",
     "a comment does not dispatch; the block is unterminated at end of stream",
     b"data:a\n:\n",
     [])
case("comment-unterminated-at-eof", "P6 P15",
     "an unterminated last comment line is discarded",
     b":a\n:b",
     [C("a")], COMMENTS)
case("comment-long", "P6",
     "a 10000-byte comment",
     b":" + b"z" * 10000 + b"\n",
     [C("z" * 10000)], COMMENTS)

# ---- P7: field and value

case("field-first-colon-splits", "P7", "only the first colon splits",
     b"data:a:b\n\n", [E("a:b")])
case("field-double-colon", "P7", "`data:: x`: the value is `: x`",
     b"data:: x\n\n", [E(": x")])
case("field-one-space-removed", "P7", "one leading space is removed",
     b"data: a\n\n", [E("a")])
case("field-only-one-space-removed", "P7", "only one leading space is removed",
     b"data:  a\n\n", [E(" a")])
case("field-tab-kept", "P7", "a leading tab is kept",
     b"data:\ta\n\n", [E("\ta")])
case("field-trailing-space-kept", "P7", "trailing spaces are kept",
     b"data:a \n\n", [E("a ")])
case("field-space-only-value", "P7 P11 P16",
     "`data: ` appends an empty line: the event has data \"\"",
     b"data: \n\n", [E("")])
case("field-name-not-trimmed", "P7 P14",
     "`data :`, ` data:` and `data\\t:` are unknown fields",
     b"data : x\n data: y\ndata\t:z\ndata:ok\n\n",
     [E("ok")])
case("field-value-with-colon-space", "P7 P10",
     "values may contain ': '",
     b"event: a: b\ndata: c: d\n\n",
     [E("c: d", "a: b")])

# ---- P8: lines without a colon

case("nocolon-data", "P8 P11", "`data` alone: data \"\"", b"data\n\n", [E("")])
case("nocolon-data-twice", "P8 P11", "`data` twice: data \"\\n\"",
     b"data\ndata\n\n", [E("\n")])
case("nocolon-data-then-value", "P8 P11", "`data` then `data:x`: data \"\\nx\"",
     b"data\ndata:x\n\n", [E("\nx")])
case("nocolon-event-resets-type", "P8 P10", "`event` alone sets the type to \"\"",
     b"event:foo\nevent\ndata:x\n\n", [E("x")])
case("nocolon-id-resets", "P8 P12", "`id` alone resets the ID",
     b"id:1\ndata:a\n\nid\ndata:b\n\n", [E("a", id="1"), E("b")])
case("nocolon-retry-ignored", "P8 P13", "`retry` alone is ignored",
     b"retry:5\nretry\ndata:x\n\n", [R(5), E("x")])
case("nocolon-unknown", "P8 P14", "an unknown name without a colon is ignored",
     b"foo\ndata:x\n\n", [E("x")])
case("nocolon-name-with-space", "P8 P14", "`data ` (trailing space) is an unknown field",
     b"data \n\n", [])

# ---- P9: field names are case-sensitive

case("names-case-sensitive", "P9 P14",
     "Data, DATA, Event, EVENT, Id, ID, Retry, RETRY are unknown",
     b"Data:a\nDATA:b\nEvent:e\nEVENT:e\nId:1\nID:1\nRetry:5\nRETRY:5\ndata:c\n\n",
     [E("c")])
case("names-near-misses", "P9 P14",
     "data_5, datax, dat, data-, events, ids, retrys are unknown",
     b"data_5:x\ndatax:y\ndat:z\ndata-:w\nevents:t\nids:1\nretrys:1\ndata:ok\n\n",
     [E("ok")])
case("names-fullwidth-letter", "P9 P14", "U+FF44 FULLWIDTH d in `data` is another name",
     b"\xef\xbd\x84ata:x\ndata:ok\n\n", [E("ok")])

# ---- P10, P18: event type

case("event-custom-type", "P10", "a custom type", b"event:add\ndata:1\n\n", [E("1", "add")])
case("event-last-wins", "P10", "the last event field in a block wins",
     b"event:a\nevent:b\ndata:x\n\n", [E("x", "b")])
case("event-empty-is-message", "P10 P16", "`event:` gives type message",
     b"event:\ndata:x\n\n", [E("x")])
case("event-explicit-message", "P10", "`event:message`",
     b"event:message\ndata:x\n\n", [E("x")])
case("event-after-data", "P10 P16", "the type is taken at dispatch, after the data line",
     b"data:x\nevent:late\n\n", [E("x", "late")])
case("event-reset-after-dispatch", "P18", "the type is reset after an event",
     b"event:foo\ndata:a\n\ndata:b\n\n", [E("a", "foo"), E("b")])
case("event-reset-by-empty-block", "P16 P18",
     "a block without data still resets the type",
     b"event:foo\n\ndata:x\n\n", [E("x")])
case("event-reset-by-id-only-block", "P16 P18 P12",
     "an id-only block resets the type and sets the ID",
     b"event:foo\nid:1\n\ndata:x\n\n", [E("x", id="1")])
case("event-without-data", "P16", "a type without data dispatches nothing",
     b"event:foo\n\n", [])
case("event-type-leading-spaces", "P7 P10", "`event:  sp`: type \" sp\"",
     b"event:  sp\ndata:x\n\n", [E("x", " sp")])
case("event-type-unicode", "P1 P10", "a non-ASCII type",
     b"event:caf\xc3\xa9 \xe2\x98\x95\ndata:x\n\n", [E("x", "caf\u00e9 \u2615")])

# ---- P11, P16: data

case("data-multiline", "P11 P16", "three data lines", b"data:a\ndata:b\ndata:c\n\n",
     [E("a\nb\nc")])
case("data-empty-middle-line", "P11", "an empty line in the middle",
     b"data:a\ndata:\ndata:b\n\n", [E("a\n\nb")])
case("data-trailing-empty-line", "P11 P16", "only one trailing LF is removed",
     b"data:a\ndata:\n\n", [E("a\n")])
case("data-two-trailing-empty-lines", "P11 P16", "`a\\n\\n\\n` loses one LF",
     b"data:a\ndata:\ndata:\n\n", [E("a\n\n")])
case("data-leading-empty-line", "P11", "an empty first line",
     b"data:\ndata:a\n\n", [E("\na")])
case("data-two-empty-lines", "P11 P16", "two empty lines: data \"\\n\"",
     b"data:\ndata:\n\n", [E("\n")])
case("data-nul", "P11", "NUL bytes in data",
     b"data:a\x00b\x00\n\n", [E("a\x00b\x00")])
case("data-json-value", "P11", "a JSON value as data (quotes escaped in the output)",
     b'data: {"username": "bobby", "time": "02:33:48"}\n\n',
     [E('{"username": "bobby", "time": "02:33:48"}')])
case("data-backslashes", "P11", "backslashes and quotes",
     b'data:C:\\path\\to "x"\n\n', [E('C:\\path\\to "x"')])
case("data-many-lines", "P11", "500 data lines in one event",
     b"".join(b"data:%d\n" % i for i in range(500)) + b"\n",
     [E("\n".join(str(i) for i in range(500)))])
case("data-many-events", "P5 P16", "300 events",
     b"".join(b"data:%d\n\n" % i for i in range(300)),
     [E(str(i)) for i in range(300)])
case("data-interleaved-fields", "P10 P11 P12 P13",
     "data, event, id and retry interleaved in one block",
     b"data:a\nevent:t\nid:9\ndata:b\nretry:10\ndata:c\n\n",
     [R(10), E("a\nb\nc", "t", "9")])

# ---- P12, P16, P17: last event ID

case("id-set", "P12 P16", "an id applies to its own event",
     b"id:1\ndata:a\n\n", [E("a", id="1")])
case("id-persists", "P17", "the ID persists into id-less events",
     b"id:1\ndata:a\n\ndata:b\n\n", [E("a", id="1"), E("b", id="1")])
case("id-changes", "P12 P17", "a new id replaces the old one",
     b"id:1\ndata:a\n\nid:2\ndata:b\n\ndata:c\n\n",
     [E("a", id="1"), E("b", id="2"), E("c", id="2")])
case("id-empty-value-resets", "P12", "`id:` resets the ID",
     b"id:1\ndata:a\n\nid:\ndata:b\n\n", [E("a", id="1"), E("b")])
case("id-space-only-resets", "P12 P7", "`id: ` is an empty value and resets",
     b"id:1\ndata:a\n\nid: \ndata:b\n\n", [E("a", id="1"), E("b")])
case("id-after-data", "P12 P16", "an id after the data line still applies to the event",
     b"data:a\nid:7\n\n", [E("a", id="7")])
case("id-last-in-block-wins", "P12", "the last id field in a block wins",
     b"id:1\nid:2\ndata:a\n\n", [E("a", id="2")])
case("id-only-block", "P16 P17", "an id-only block sets the ID for later events",
     b"id:5\n\ndata:a\n\n", [E("a", id="5")])
case("id-only-block-reset", "P16 P12", "an id-only block with `id` resets it",
     b"id:5\ndata:a\n\nid\n\ndata:b\n\n", [E("a", id="5"), E("b")])
case("id-nul-keeps-previous", "P12", "an id with NUL is ignored; the previous ID stays",
     b"id:1\ndata:a\n\nid:x\x00y\ndata:b\n\n", [E("a", id="1"), E("b", id="1")])
case("id-nul-initial", "P12 P4", "an id of only NUL is ignored; the ID stays \"\"",
     b"id:\x00\ndata:a\n\n", [E("a")])
case("id-nul-then-valid", "P12", "NUL id ignored, a later id in the block applies",
     b"id:\x00\nid:ok\ndata:a\n\n", [E("a", id="ok")])
case("id-valid-then-nul", "P12", "a NUL id after a valid one does not reset it",
     b"id:ok\nid:\x00\ndata:a\n\n", [E("a", id="ok")])
case("id-nul-only-block", "P12 P16", "an id-only block whose id has NUL changes nothing",
     b"id:1\n\nid:\x00\n\ndata:a\n\n", [E("a", id="1")])
case("id-inner-spaces-kept", "P12 P7", "spaces inside and after the id are kept",
     b"id: a b \ndata:x\n\n", [E("x", id="a b ")])
case("id-leading-spaces", "P12 P7", "`id:  7`: id \" 7\"",
     b"id:  7\ndata:x\n\n", [E("x", id=" 7")])
case("id-unicode", "P1 P12", "a non-ASCII id (U+2026)",
     b"id:\xe2\x80\xa6\ndata:x\n\n", [E("x", id="\u2026")])

# ---- --last-event-id: seeding as on a reconnect (P17; sse.h rtw_sse_parser_reset)

case("seed-used-by-events", "P17", "id-less events report the seed",
     b"data:a\n\n", [E("a", id="42")], ["--last-event-id", "42"])
case("seed-overridden-by-id", "P17 P12", "an id field replaces the seed",
     b"id:7\ndata:a\n\ndata:b\n\n", [E("a", id="7"), E("b", id="7")],
     ["--last-event-id", "42"])
case("seed-reset-by-bare-id", "P12 P8", "`id` resets the seeded ID",
     b"id\ndata:a\n\n", [E("a")], ["--last-event-id", "42"])
case("seed-kept-when-id-has-nul", "P12", "an id with NUL leaves the seed",
     b"id:x\x00\ndata:a\n\n", [E("a", id="42")], ["--last-event-id", "42"])
case("seed-replaced-by-id-only-block", "P16 P17", "an id-only block replaces the seed",
     b"id:9\n\ndata:a\n\n", [E("a", id="9")], ["--last-event-id", "42"])
case("seed-unicode", "P17", "a non-ASCII seed",
     b"data:a\n\n", [E("a", id="\u2026")], ["--last-event-id", "\u2026"])
case("seed-with-spaces", "P17", "a seed with leading, inner and trailing spaces",
     b"data:a\n\n", [E("a", id=" a b ")], ["--last-event-id", " a b "])
case("seed-empty", "P17 P4", "an empty seed: the ID is \"\"",
     b"data:a\n\n", [E("a")], ["--last-event-id", ""])

# ---- P13: retry

case("retry-basic", "P13", "a valid retry is reported at its line, no dispatch needed",
     b"retry:1000\n", [R(1000)])
case("retry-leading-zero", "P13", "03000 is 3000 (base ten)", b"retry:03000\n", [R(3000)])
case("retry-zero", "P13", "0 is valid", b"retry:0\n", [R(0)])
case("retry-one-space", "P13 P7", "one space after the colon is removed",
     b"retry: 10\n", [R(10)])
case("retry-two-spaces", "P13 P7", "` 10` (second space kept) is not digits",
     b"retry:  10\n", [])
case("retry-trailing-space", "P13", "`10 ` is not digits", b"retry:10 \n", [])
case("retry-plus", "P13", "`+10` is not digits", b"retry:+10\n", [])
case("retry-minus", "P13", "`-1` is not digits", b"retry:-1\n", [])
case("retry-decimal-point", "P13", "`1.5` is not digits", b"retry:1.5\n", [])
case("retry-exponent", "P13", "`1e3` is not digits", b"retry:1e3\n", [])
case("retry-hex", "P13", "`0x10` is not digits", b"retry:0x10\n", [])
case("retry-tab", "P13", "a tab before the digits", b"retry:\t10\n", [])
case("retry-unit-suffix", "P13", "`10ms` is not digits", b"retry:10ms\n", [])
case("retry-nul", "P13", "NUL between digits", b"retry:1\x000\n", [])
case("retry-empty-value", "P13", "`retry:` (rtweb: empty is ignored)", b"retry:\n", [])
case("retry-bare", "P13 P8", "`retry` alone (rtweb: ignored)", b"retry\n", [])
case("retry-fullwidth-digits", "P13", "U+FF11 U+FF10 are not ASCII digits",
     b"retry:\xef\xbc\x91\xef\xbc\x90\n", [])
case("retry-arabic-indic-digit", "P13", "U+0663 is not an ASCII digit",
     b"retry:\xd9\xa3\n", [])
case("retry-uint32-max", "P13", "4294967295 is kept",
     b"retry:4294967295\n", [R(UINT32_MAX)])
case("retry-uint32-max-plus-one", "P13", "4294967296 saturates to 4294967295",
     b"retry:4294967296\n", [R(UINT32_MAX)])
case("retry-huge-saturates", "P13", "forty 9s saturate to 4294967295",
     b"retry:" + b"9" * 40 + b"\n", [R(UINT32_MAX)])
case("retry-many-leading-zeros", "P13", "100 leading zeros then 42 is 42",
     b"retry:" + b"0" * 100 + b"42\n", [R(42)])
case("retry-many-zeros", "P13", "fifty zeros are 0", b"retry:" + b"0" * 50 + b"\n", [R(0)])
case("retry-inside-block", "P13", "retry is reported at its line, before the event",
     b"data:a\nretry:7\n\n", [R(7), E("a")])
case("retry-in-discarded-block", "P13 P15",
     "retry applies even though its block is never dispatched",
     b"data:x\nretry:9\n", [R(9)])
case("retry-unterminated-line", "P13 P15", "an unterminated retry line is discarded",
     b"retry:10\nretry:20", [R(10)])
case("retry-repeated", "P13", "every valid retry is reported",
     b"retry:1\nretry:2\nretry:1\n", [R(1), R(2), R(1)])
case("retry-crlf", "P13 P3", "retry ended by CRLF", b"retry:5\r\n", [R(5)])
case("retry-cr-at-eof", "P13 P3", "retry ended by a final CR", b"retry:5\r", [R(5)])

# ---- P14: unknown fields

case("unknown-fields-ignored", "P14", "unknown fields, `last-event-id` included",
     b"foo:bar\nlast-event-id:5\ndata:x\n\n", [E("x")])
case("unknown-only-block", "P14 P16", "a block of unknown fields dispatches nothing",
     b"foo:bar\n\ndata:x\n\n", [E("x")])

# ---- P5, P15, P16: dispatch and end of stream

case("dispatch-two-events", "P5", "two events", b"data:a\n\ndata:b\n\n", [E("a"), E("b")])
case("dispatch-extra-blank-lines", "P5 P16", "extra blank lines dispatch nothing more",
     b"data:a\n\n\n\n\ndata:b\n\n", [E("a"), E("b")])
case("dispatch-empty-blocks", "P16", "blocks without data dispatch nothing",
     b"\n\nevent:x\n\nfoo\n\n", [])
case("eof-no-blank-line", "P15", "a final block without its blank line is discarded",
     b"data:a\n", [])
case("eof-unterminated-line", "P15", "an unterminated final line is discarded",
     b"data:a", [])
case("eof-after-complete-event", "P15", "only the complete event fires",
     b"data:a\n\ndata:b\n", [E("a")])

# ---- NUL and JSON escaping

case("nul-in-data-and-event-type", "P10 P11", "NUL passes through in type and data",
     b"event:\x00t\x00\ndata:\x00\n\n", [E("\x00", "\x00t\x00")])
case("nul-in-field-name", "P7 P14", "`data\\0` and `\\0data` are unknown fields",
     b"data\x00:x\n\x00data:y\ndata:ok\n\n", [E("ok")])
# Written out literally (not through js()) so the escaping itself is pinned.
case("json-escape-controls", "P11",
     "rtwcat output: every C0 control except LF/CR, DEL, quote, backslash, slash",
     b"data:" + bytes(c for c in range(0x20) if c not in (0x0a, 0x0d)) + b'\x7f"\\/\n\n',
     ['{"event":"message","data":"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007'
      '\\u0008\\t\\u000b\\u000c\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016'
      '\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7f\\"\\\\/","id":""}'])
case("json-escape-type-and-id", "P10 P12",
     "rtwcat output: quotes, backslashes and a tab in the type and the id",
     b'event:"q"\\\nid:\t"\\\ndata:x\n\n',
     ['{"event":"\\"q\\"\\\\","data":"x","id":"\\t\\"\\\\"}'])
case("json-non-ascii-raw", "P1",
     "rtwcat output: non-ASCII (e-acute, U+2028, U+FFFD) is written as UTF-8, not escaped",
     b"data:\xc3\xa9\xe2\x80\xa8\xef\xbf\xbd\n\n",
     ['{"event":"message","data":"\u00e9\u2028\ufffd","id":""}'])

# ---- limits (include/rtweb/sse.h defaults: event data 16 MiB, event type and id 1 MiB each;
# no line limit: comments, retry values and unknown fields of any length are accepted, as
# browsers accept them; the 1 MiB boundaries are tested in tests/limits)

case("limit-data-line-exempt", "limit P11",
     "a 70000-byte data line is accepted",
     b"data:" + b"x" * 70000 + b"\n\n", [E("x" * 70000)])
case("limit-comment-over-64k", "limit P6",
     "a comment line of 64 KiB + 1 byte is accepted (skipped as it streams)",
     b"data:a\n\n:" + b"c" * 65536 + b"\ndata:b\n\n", [E("a"), E("b")])
case("limit-unknown-field-long", "limit P14",
     "an unknown field of 100000 bytes is accepted (skipped as it streams)",
     b"x-pad:" + b"u" * 100000 + b"\ndata:b\n\n", [E("b")])
case("limit-retry-long", "limit P13",
     "a retry value of 70000 digits is parsed as it streams",
     b"retry:" + b"0" * 69998 + b"42\n", [R(42)])
case("limit-event-10000", "limit P10", "an event type of 10000 bytes is accepted",
     b"event:" + b"t" * 10000 + b"\ndata:x\n\n", [E("x", event="t" * 10000)])
case("limit-id-10000", "limit P12", "an id of 10000 bytes is accepted",
     b"id:" + b"i" * 10000 + b"\ndata:x\n\n", [E("x", id="i" * 10000)])


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
        "# SSE conformance corpus",
        "",
        "Generated by `gen.py` (run `/usr/bin/python3 gen.py`; do not edit the case files by",
        "hand). Each case is `NAME.input` (raw bytes, fed on stdin), `NAME.expected` (the exact",
        "output of `rtwcat decode sse`, see docs/rtwcat.md) and optionally `NAME.args` (extra",
        "arguments, one per line). `tests/tools/run_conformance.sh` runs every case whole, with",
        "`--chunk 1` and with `--chunk 7` (meson test `sse_conformance`).",
        "",
        "Expected outputs were derived by hand from WHATWG HTML 9.2.6 and the WHATWG Encoding",
        "UTF-8 decoder, never by running a parser. `wpt:` cases are the streams of the",
        "web-platform-tests `eventsource/` tests, as the WPT server sends them. `limit` cases",
        "check the default limits documented in include/rtweb/sse.h.",
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
        args = " ".join("`%s`" % a if a else "`''`" for a in c["args"])
        lines.append("| %s | %s | %s | %s |" % (c["name"], " ".join(c["rules"]), args,
                                              md_escape(c["doc"])))
    return ("\n".join(lines) + "\n").encode("utf-8")


def main():
    check = "--check" in sys.argv[1:]
    for r in RULES:
        assert any(r in c["rules"] for c in CASES), "no case covers " + r
    for t in WPT_TESTS:
        assert any("wpt:" + t in c["rules"] for c in CASES), "no case for WPT " + t
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
