# SPDX-License-Identifier: MIT
"""WebSocket (RFC 6455): the session engine, both roles, the frame codec, and
permessage-deflate (RFC 7692). Thin Pythonic objects over rtweb/ws.h: feed received bytes,
get events; queue messages, take the bytes to write with data_to_send()."""

import array
import ctypes
import struct
import sys
from collections import namedtuple

from . import _lib
from ._lib import lib, as_bytes, span, trampoline, Handle
from .errors import Error, ProtocolError, raise_for, CODES

__all__ = ["Session", "Message", "MessageBegin", "MessageData", "MessageEnd", "Ping", "Pong",
           "Close", "Frame", "parse_frame_header", "build_frame_header", "build_frame", "mask",
           "OP_CONTINUATION", "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG",
           "SERVER", "CLIENT", "SIZE_MAX", "DeflateParams", "DeflateConfig", "deflate_parse",
           "deflate_accept", "deflate_format", "deflate_offer", "deflate_check_response",
           "Prepared", "BITS_NO_VALUE"]

byref, c_size_t, c_void_p = ctypes.byref, ctypes.c_size_t, ctypes.c_void_p
string_at = ctypes.string_at
_tuple_new = tuple.__new__

OP_CONTINUATION, OP_TEXT, OP_BINARY = (_lib.RTW_WS_OP_CONTINUATION, _lib.RTW_WS_OP_TEXT,
                                       _lib.RTW_WS_OP_BINARY)
OP_CLOSE, OP_PING, OP_PONG = _lib.RTW_WS_OP_CLOSE, _lib.RTW_WS_OP_PING, _lib.RTW_WS_OP_PONG
SERVER, CLIENT = "server", "client"

#: A whole message: opcode OP_TEXT with str data, or OP_BINARY with bytes.
Message = namedtuple("Message", "opcode data")
#: Streamed mode (Session(whole_messages=False)): begin, pieces (bytes), end.
MessageBegin = namedtuple("MessageBegin", "opcode")
MessageData = namedtuple("MessageData", "data")
MessageEnd = namedtuple("MessageEnd", "")
#: Control frames received (a ping is already answered unless auto_pong=False).
Ping = namedtuple("Ping", "data")
Pong = namedtuple("Pong", "data")
#: The peer's close frame: code (1005 when it had none) and reason (str).
Close = namedtuple("Close", "code reason")

_PROTOCOL_CODES = set(c for c in CODES.values() if -299 <= c <= -200)
_PROTOCOL_CODES.add(CODES["RTW_ERR_INVALID_UTF8"])
_PAUSE = CODES["RTW_ERR_PAUSE"]
#: outbound_high_water=SIZE_MAX turns the backpressure gate off.
SIZE_MAX = ctypes.c_size_t(-1).value

# Event batches (ws.h): rtw_ws_batch_event read with struct (native layout, size_t 'N').
_EV = struct.Struct("@IINN")
_EV_SIZE = _EV.size
assert _EV_SIZE == ctypes.sizeof(_lib.rtw_ws_batch_event)
_K_MESSAGE, _K_BEGIN, _K_DATA = (_lib.RTW_WS_BATCH_MESSAGE, _lib.RTW_WS_BATCH_BEGIN,
                                 _lib.RTW_WS_BATCH_DATA)
_K_END, _K_PING, _K_PONG = _lib.RTW_WS_BATCH_END, _lib.RTW_WS_BATCH_PING, _lib.RTW_WS_BATCH_PONG
#: Average payload from which feed() decodes through a memoryview over the arena rather
#: than one bytes copy of it (a copy is cheaper for many small payloads).
_VIEW_MIN = 2048
_HDR = _lib.RTW_WS_MAX_HEADER
#: Smallest non-ASCII text feed() remembers the UTF-8 bytes of (see Session._relay).
_RELAY_MIN = 256
# Deferred sends are kept as rtw_ws_batch_event items in an array of machine words:
# where size_t is 8 bytes an item is 3 words (kind | value << 32 in the first, in native
# byte order), where it is 4 bytes, 4 words.
if ctypes.sizeof(c_size_t) == 8:
    _W_WORDS, _ITEM_CODE = 3, "Q"
    _W_TEXT, _W_BINARY = (struct.unpack("=Q", struct.pack("=II", _K_MESSAGE, op))[0]
                          for op in (OP_TEXT, OP_BINARY))
else:
    _W_WORDS, _ITEM_CODE = 4, "I"
    _W_TEXT, _W_BINARY = OP_TEXT, OP_BINARY
assert array.array(_ITEM_CODE).itemsize * _W_WORDS == _EV_SIZE

# Text at C speed whatever its characters. CPython 3.11's UTF-8 codec runs at copy speed on
# ASCII but far slower on text with characters from U+0100 on (a str of kind UCS-2 or
# UCS-4), and pathologically so on large messages (1 MiB of ASCII with a euro sign every 60
# characters: ~11 ms to decode, ~8 ms to encode, against ~1.3 ms through C). So non-ASCII
# text from _UNITS_MIN bytes is decoded by librtweb (rtw_utf8_to_units: valid UTF-8 -> the
# code units CPython stores, of the narrowest width) and the str is built from those units
# by PyUnicode_FromKindAndData; a str from _ENCODE_MIN characters with characters from
# U+0100 on is encoded to UTF-16 by CPython (a widening copy) and from there to UTF-8 by
# rtw_utf8_from_units (a Latin-1 str keeps str.encode, fast enough).
# Shorter text keeps bytes.decode / str.encode: the ctypes calls cost more than they save
# there (bench/results/echo_python.md has the figures).


def _kind_api():
    """PyUnicode_FromKindAndData through ctypes.pythonapi, or None where there is none
    (not CPython)."""
    if sys.implementation.name != "cpython":
        return None
    try:
        fn = ctypes.pythonapi.PyUnicode_FromKindAndData
    except AttributeError:
        return None
    fn.restype = ctypes.py_object
    fn.argtypes = [ctypes.c_int, c_void_p, ctypes.c_ssize_t]
    return fn


_from_kind = _kind_api()
#: Whether text goes through the C transcoder (False without ctypes.pythonapi; the tests
#: turn it off to check the fallback, which gives the same results).
_units = _from_kind is not None
#: Smallest text (UTF-8 bytes) feed() decodes in C, smallest non-ASCII str (characters)
#: send() encodes in C (bench/results/echo_python.md).
_UNITS_MIN = 4096
_ENCODE_MIN = 65536
#: Largest transcoding buffer kept for the next message (larger ones are freed).
_UBUF_KEEP = 1 << 22
#: Bytes of a large text feed() looks at before trying CPython's ASCII decoder on it: when
#: they are not all ASCII, the text goes to C at once (a failed try costs a UnicodeDecodeError
#: holding a copy of the whole message).
_HEAD = 64
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
_to_units, _from_units = lib.rtw_utf8_to_units, lib.rtw_utf8_from_units
#: Transcoding buffers free for the next call, shared by all sessions: a new Session reuses
#: the last one instead of paying for a fresh zeroed buffer (ctypes clears it: a memset and
#: a page fault per 4 KiB, for buffers of 4 bytes per byte of text). Taken with _take_buf()
#: and handed back with _give_buf(); list.pop/append are atomic, so two threads never hold
#: the same buffer (ctypes releases the GIL during the C call).
_UPOOL = []


def _take_buf(need):
    """(buffer, address, size) of at least `need` bytes: the pooled one when large enough
    (a smaller one is dropped), else a new one."""
    try:
        t = _UPOOL.pop()
        if t[2] >= need:
            return t
    except IndexError:
        pass
    buf = (ctypes.c_char * need)()
    return buf, ctypes.addressof(buf), need


def _give_buf(t):
    """Return a buffer from _take_buf() to the pool (one is kept, of at most _UBUF_KEEP)."""
    if t[2] <= _UBUF_KEEP and not _UPOOL:
        _UPOOL.append(t)


#: batch address -> registry key of its Session (the random callback gets the batch)
_BATCH_KEYS = {}


def _new_items():
    return array.array(_ITEM_CODE)


_batch_recv, _batch_events = lib.rtw_ws_batch_recv, lib.rtw_ws_batch_events
_queue_batch = lib.rtw_ws_queue_batch
_queue_message, _pending_iov = lib.rtw_ws_queue_message, lib.rtw_ws_send_pending_iov
_consumed = lib.rtw_ws_send_consumed
_NOCOPY_TEXT = _lib.RTW_WS_QUEUE_NOCOPY | _lib.RTW_WS_QUEUE_VALID_UTF8
#: Gather elements data_to_send() takes per call when it sends views (see _send_views),
#: read with struct (rtw_iovec: a pointer and a size_t, native layout).
_IOV_MAX = 16
_IOVEC = struct.Struct("@PN")
assert _IOVEC.size == ctypes.sizeof(_lib.rtw_iovec)


class Session(Handle):
    """One WebSocket connection after its opening handshake.

    >>> server, client = Session("server"), Session("client")
    >>> client.send("hi")
    >>> server.feed(client.data_to_send())
    [Message(opcode=1, data='hi')]

    feed() raises ProtocolError when the peer breaks RFC 6455: the session has then queued
    the close frame (`close_code`), so write data_to_send() and close the transport.

    With `on_event=callable`, events are handed to it one by one *while* feed() runs (from
    the C callback) instead of being returned. It may queue sends (send, ping, send_close),
    which then go out in order with the session's own answers: an echo server replies to a
    message before the close frame that followed it in the same read. It must not call
    feed() or close(). If it raises, the session fails (close code 1011) and feed() re-raises.
    Settings are those of rtw_ws_settings (0 = default). `random(n) -> bytes` optionally
    replaces the library's CSPRNG for masking keys (client role).

    Speed (issue 15): without on_event, feed() crosses into C once per read (the library
    records the events in a batch, ws.h "Event batches") and send() keeps str/bytes
    messages the session certainly accepts in Python until the next call that needs them,
    then queues them all in one C call; data_to_send() copies the pending bytes once.
    `views=True` makes binary message data and streamed pieces memoryviews over the batch
    instead of bytes copies, valid until the next call on the session (see feed()).

    Backpressure (ws.h, "Backpressure recipe"): while outbound_size is at or above
    outbound_high_water (default 1 MiB; ws.SIZE_MAX turns it off), want_read is False and
    feed() stops before the next frame, holding the rest of its input (held_input bytes);
    it is processed first by the next feed() call (feed(b"") once want_read is True again).
    pause_input(True/False) tells keepalive that the host stopped/resumed reading.

    permessage-deflate (RFC 7692): `deflate=DeflateParams(...)` (what the handshake
    negotiated: ServerHandshake.accept_deflate(), ClientHandshake.deflate()) switches it on
    at creation, with `deflate_config` (a DeflateConfig, or None for the defaults); or call
    set_deflate() before the first feed() or send. Then messages of at least the config's
    threshold go out compressed (send(..., compress=False) opts one out), compressed
    messages are inflated on receipt, and `deflate` / `deflate_memory` report the state.
    """

    _free = lib.rtw_ws_free
    _batch = None

    def _free_batch(self):
        b, self._batch = self._batch, None
        if b is not None:
            _BATCH_KEYS.pop(b, None)
            lib.rtw_ws_batch_free(b)

    def close(self):
        """Free the C session now (queued output and deferred sends are dropped).
        Idempotent; later calls on the object raise."""
        if self._handed:
            self._release_views()
        self._q, self._qitems, self._qoff, self._qroom = [], _new_items(), 0, -1
        Handle.close(self)
        self._free_batch()

    def __del__(self):
        Handle.__del__(self)
        try:
            if self._handle is None:
                self._free_batch()
        except Exception:
            pass

    def __init__(self, role=SERVER, whole_messages=True, auto_pong=True, max_frame_size=0,
                 max_message_size=0, fragment_size=0, max_outbound=0, keepalive_ms=0,
                 pong_timeout_ms=0, close_timeout_ms=0, rsv_allowed=0, random=None,
                 on_event=None, outbound_high_water=0, outbound_low_water=0,
                 send_timeout_ms=0, deflate=None, deflate_config=None, views=False):
        Handle.__init__(self)
        if role not in (SERVER, CLIENT):
            raise ValueError("role must be 'server' or 'client'")
        self.role = role
        self._random = random
        self._on_event = on_event
        self._events = []
        self._held = b""
        self._batch = None
        self._views = bool(views)
        self._handed = []           # views handed out by the last feed(), released next time
        # id(str) -> (str, its UTF-8 bytes, their address or None) for non-ASCII text the
        # last feed() decoded: echoing or relaying that str skips encoding it again (the str
        # is kept alive, so its id stays its own until the next feed()). The bytes are a
        # memoryview over the batch's arena where feed() had one (address set): valid until
        # the next rtw_ws_batch_recv(), and every path to that call queues the deferred
        # sends first (feed() flushes before it, copies the views before a second one).
        self._relay = {}
        # transcoder out parameters (see _UNITS_MIN)
        self._ucount, self._uwidth = c_size_t(), ctypes.c_int()
        self._ucount_p, self._uwidth_p = byref(self._ucount), byref(self._uwidth)
        # deferred sends (see send()): payloads (bytes, or views over the arena taken from
        # _relay), their rtw_ws_batch_event words, room left
        self._q, self._qitems, self._qoff, self._qroom = [], _new_items(), 0, -1
        # gather elements for _send_views(), made at its first use (CPython keeps up to 30
        # instance attributes in a shared-keys dict; past that every attribute access of
        # the session is slower, so new per-session state goes into few attributes)
        self._gather = None
        self._stash = b""       # output taken before an error, for the next data_to_send()
        self._frag_open = False
        self._max_out = max_outbound or _lib.RTW_WS_DEFAULT_MAX_OUTBOUND
        # sends are deferred (send()) only where the outcome is known in advance: not with
        # on_event (replies must precede the session's own answers), a random callback
        # (it may fail) or fragment_size (more frame headers than one per message)
        self._batching = on_event is None and random is None and not fragment_size
        st = _lib.rtw_ws_settings(version=_lib.RTW_WS_SETTINGS_VERSION)
        st.flags = ((_lib.RTW_WS_FLAG_WHOLE_MESSAGES if whole_messages else 0)
                    | (0 if auto_pong else _lib.RTW_WS_FLAG_NO_AUTO_PONG))
        st.max_frame_size, st.max_message_size = max_frame_size, max_message_size
        st.fragment_size, st.max_outbound = fragment_size, max_outbound
        st.keepalive_ms, st.pong_timeout_ms = keepalive_ms, pong_timeout_ms
        st.close_timeout_ms, st.rsv_allowed = close_timeout_ms, rsv_allowed
        st.outbound_high_water, st.outbound_low_water = outbound_high_water, outbound_low_water
        st.send_timeout_ms = send_timeout_ms
        cb = _lib.rtw_ws_callbacks(version=_lib.RTW_WS_CALLBACKS_VERSION)
        user = self._key
        if on_event is None:
            # Batch mode: the C side records the events of one read; feed() walks them
            # after a single call (ws.h, "Event batches").
            batch = c_void_p()
            raise_for(lib.rtw_ws_batch_new(byref(batch), 0, 0, None))
            self._batch = user = batch.value
            _BATCH_KEYS[user] = self._key
            lib.rtw_ws_batch_callbacks(byref(cb), 1 if whole_messages else 0)
            if random is not None:
                cb.random = _BATCH_RANDOM
        else:
            if whole_messages:
                cb.on_message = _ON_MESSAGE
            else:
                cb.on_message_begin, cb.on_message_data = _ON_BEGIN, _ON_DATA
                cb.on_message_end = _ON_END
            cb.on_ping, cb.on_pong, cb.on_close = _ON_PING, _ON_PONG, _ON_CLOSE
            if random is not None:
                cb.random = _RANDOM
        role_c = _lib.RTW_WS_ROLE_SERVER if role == SERVER else _lib.RTW_WS_ROLE_CLIENT
        handle = c_void_p()
        rv = lib.rtw_ws_new(byref(handle), role_c, byref(cb), byref(st), None, c_void_p(user))
        if rv < 0:
            self._free_batch()
            raise_for(rv)
        self._handle = handle.value
        if deflate is not None:
            self.set_deflate(deflate, deflate_config)

    # -- callbacks (through the module-level trampolines)
    def _emit(self, event):
        if self._on_event is not None:
            self._on_event(event)
        else:
            self._events.append(event)

    def _cb_message(self, opcode, ptr, n):
        b = span(ptr, n)
        if opcode == OP_TEXT and n >= _UNITS_MIN and _units and not b.isascii():
            self._emit(Message(opcode, self._decode(ptr, n)))
            return
        self._emit(Message(opcode, b.decode("utf-8") if opcode == OP_TEXT else b))

    # -- text through the C transcoder (see _UNITS_MIN)
    def _decode(self, addr, n):
        """str of the valid UTF-8 text at addr[0..n) (the session validated it)."""
        need = n << 2   # count <= n units of at most 4 bytes
        if need > _UBUF_KEEP:
            raise_for(_to_units(addr, n, None, 0, self._ucount_p, self._uwidth_p))
            need = self._ucount.value * self._uwidth.value
        t = _take_buf(need)
        try:
            rv = _to_units(addr, n, t[1], t[2], self._ucount_p, self._uwidth_p)
            if rv:
                raise_for(rv)
            return _from_kind(self._uwidth.value, t[1], self._ucount.value)
        finally:
            _give_buf(t)

    def _encode(self, text):
        """UTF-8 bytes of a non-ASCII str, or None when it has a lone surrogate (no UTF-8
        form: the caller's fallback refuses it). A Latin-1 str (CPython encodes those well:
        the probe is a plain copy) goes through str.encode; any other through UTF-16 and
        rtw_utf8_from_units."""
        try:
            text.encode("latin-1")
            return text.encode()
        except UnicodeEncodeError:
            pass
        try:
            u = text.encode(_UTF16)
        except UnicodeEncodeError:
            return None
        n = len(u) >> 1
        t = _take_buf(3 * n)    # at most 3 bytes per UTF-16 unit
        try:
            if _from_units(u, n, 2, t[1], t[2], self._ucount_p) != 0:
                return None
            return string_at(t[1], self._ucount.value)
        finally:
            _give_buf(t)

    def _cb_begin(self, opcode):
        self._emit(MessageBegin(opcode))

    def _cb_data(self, ptr, n):
        self._emit(MessageData(span(ptr, n)))

    def _cb_end(self):
        self._emit(MessageEnd())

    def _cb_ping(self, ptr, n):
        self._emit(Ping(span(ptr, n)))

    def _cb_pong(self, ptr, n):
        self._emit(Pong(span(ptr, n)))

    def _cb_close(self, code, ptr, n):
        self._emit(Close(code, span(ptr, n).decode("utf-8")))

    def _cb_random(self, buf, n):
        b = bytes(self._random(n))
        if len(b) != n:
            raise ValueError("random(%d) returned %d bytes" % (n, len(b)))
        ctypes.memmove(buf, b, n)

    # -- receiving
    def feed(self, data):
        """Process received bytes; returns the events they completed (Message, Ping, Pong,
        Close, or the streamed MessageBegin/Data/End). Input the backpressure gate did not
        let through is held and fed first next time (see held_input).

        Without on_event, the whole call crosses into C once per read: the library records
        the events in a batch (ws.h, "Event batches") that this method walks afterwards.
        With views=True, binary message data and streamed MessageData pieces are
        memoryviews over the batch's buffer instead of bytes copies: valid until the next
        call on this session (feed, send, data_to_send, ... or close); the binding releases
        them then, so using one afterwards raises ValueError. Copy what you keep
        (bytes(view)); a view sliced from one is not released and must not be used after
        that point either."""
        if self._batch is None:
            return self._feed_callbacks(data)
        if self._q:
            self._flush()
        self._qroom = -1
        if self._handed:
            self._release_views()
        if self._relay:
            self._relay = {}
        buf = data if type(data) is bytes else as_bytes(data)
        if self._held:
            buf = self._held + buf
        h, b = self._h(), self._batch
        nread = c_size_t()
        events = []
        total, pos, base = len(buf), 0, None
        self._enter_call()
        try:
            while True:
                if pos == 0:
                    rv = _batch_recv(b, h, buf, total, byref(nread))
                else:  # the rest of the same input, after a full batch
                    if self._relay:
                        self._pin_relay()
                    if base is None:
                        base = ctypes.cast(ctypes.c_char_p(buf), c_void_p).value
                    rv = _batch_recv(b, h, base + pos, total - pos, byref(nread))
                pos += nread.value
                self._walk(b, events)
                if rv != _PAUSE or pos == total or not lib.rtw_ws_batch_full(b):
                    break
        finally:
            self._busy = False
        if rv == _PAUSE and pos == total:
            rv = 0
        self._held = buf[pos:] if rv == _PAUSE else b""
        self._raise_deferred()
        if rv == _PAUSE or rv == 0:
            return events
        cls = ProtocolError if rv in _PROTOCOL_CODES else Error
        err = cls.from_code(rv)
        err.events = events
        err.close_code = lib.rtw_ws_close_sent(h)
        raise err

    def _walk(self, b, out):
        """Turn the batch's events into Python events, appended to out."""
        evp, arp = c_void_p(), c_void_p()
        n = _batch_events(b, byref(evp), byref(arp))
        if not n:
            return
        raw = string_at(evp.value, n * _EV_SIZE)
        arena = arp.value
        last = _EV.unpack_from(raw, (n - 1) * _EV_SIZE)
        used = last[2] + last[3]
        views = self._views
        if views or used >= n * _VIEW_MIN:
            mv = memoryview((ctypes.c_char * used).from_address(arena)).cast("B") \
                if used else memoryview(b"")
            ab = None
        else:
            ab, mv = string_at(arena, used), None
        append, new = out.append, _tuple_new
        for kind, value, off, ln in _EV.iter_unpack(raw):
            if kind == _K_MESSAGE:
                if value == OP_TEXT:
                    if ln < _RELAY_MIN and ab is not None:
                        d = ab[off:off + ln].decode("utf-8")
                    elif ln >= _UNITS_MIN and _units:
                        # ASCII decodes at copy speed in CPython; the rest in C
                        if ab is not None:
                            seg, a = ab[off:off + ln], None
                            ascii_head = ab[off:off + _HEAD].isascii()
                        else:
                            seg, a = mv[off:off + ln], arena + off
                            ascii_head = mv[off:off + _HEAD].tobytes().isascii()
                        d = None
                        if ascii_head:
                            try:
                                d = str(seg, "ascii")
                            except UnicodeDecodeError:
                                pass
                        if d is None:
                            d = self._decode(arena + off, ln)
                            self._relay[id(d)] = (d, seg, a)    # as below
                    elif ab is not None:
                        raw = ab[off:off + ln]
                        d = raw.decode("utf-8")
                        if not d.isascii():
                            self._relay[id(d)] = (d, raw, None)   # as below
                    else:
                        seg = mv[off:off + ln]
                        d = str(seg, "utf-8")
                        if not d.isascii():
                            # Encoding it back is slow (ASCII is a copy): remember the
                            # bytes, valid UTF-8 already, for a send() of this very str
                            # (a view over the arena, no copy: see _relay).
                            self._relay[id(d)] = (d, seg, arena + off)
                elif ab is not None:
                    d = ab[off:off + ln]
                elif views:
                    d = mv[off:off + ln]
                    self._handed.append(d)
                else:
                    d = bytes(mv[off:off + ln])
                append(new(Message, (value, d)))
            elif kind == _K_DATA:
                if ab is not None:
                    d = ab[off:off + ln]
                elif views:
                    d = mv[off:off + ln]
                    self._handed.append(d)
                else:
                    d = bytes(mv[off:off + ln])
                append(new(MessageData, (d,)))
            else:
                p = ab[off:off + ln] if ab is not None else bytes(mv[off:off + ln])
                if kind == _K_BEGIN:
                    append(MessageBegin(value))
                elif kind == _K_END:
                    append(MessageEnd())
                elif kind == _K_PING:
                    append(Ping(p))
                elif kind == _K_PONG:
                    append(Pong(p))
                else:
                    append(Close(value, p.decode("utf-8")))
        if mv is not None and views:    # else none of its views reaches the user
            self._handed.append(mv)

    def _pin_relay(self):
        """Copy the relay's views over the arena into bytes (the arena is about to be
        reused while the strs are still out)."""
        r = self._relay
        for k, (d, seg, a) in list(r.items()):
            if a is not None:
                r[k] = (d, bytes(seg), None)

    def _release_views(self):
        handed, self._handed = self._handed, []
        for v in handed:
            try:
                v.release()
            except (BufferError, ValueError):
                pass    # exported further (e.g. to numpy); documented as invalid anyway

    def _feed_callbacks(self, data):
        """feed() with on_event: one C callback per event."""
        buf = as_bytes(data)
        if self._held:
            buf = self._held + buf
        h = self._h()
        nread = c_size_t()
        self._enter_call()
        self._events = []
        try:
            rv = lib.rtw_ws_recv(h, buf, len(buf), byref(nread))
        finally:
            self._busy = False
        events, self._events = self._events, []
        self._held = buf[nread.value:] if rv == _PAUSE else b""
        self._raise_deferred()
        if rv == _PAUSE:
            return events
        if rv < 0:
            cls = ProtocolError if rv in _PROTOCOL_CODES else Error
            err = cls.from_code(rv)
            err.events = events
            err.close_code = lib.rtw_ws_close_sent(h)
            raise err
        return events

    # -- sending
    def _call(self, fn, *args):
        if self._q:
            self._flush()
        self._qroom = -1
        if self._handed:
            self._release_views()
        rv = fn(self._h(), *args)
        self._raise_deferred()      # a random callback that raised
        return raise_for(rv)

    def _room(self):
        """Bytes of deferred sends (payload + 14 per frame header) that max_outbound
        certainly accepts; -1 when sends must go to C at once (closed, failed, or a
        streamed message being sent)."""
        h = self._h()
        if (self._frag_open or lib.rtw_ws_close_sent(h) or
                not (lib.rtw_ws_want_read(h) or lib.rtw_ws_want_write(h))):
            return -1
        room = self._max_out - lib.rtw_ws_outbound_size(h) - _lib.RTW_WS_MAX_HEADER
        return room if room >= 0 else -1

    def _flush(self):
        """Queue the deferred sends in C, in one call (rtw_ws_queue_batch)."""
        q, items = self._q, self._qitems
        self._q, self._qitems, self._qoff, self._qroom = [], _new_items(), 0, -1
        if len(q) == 1:
            data = q[0]
            size = len(data)
            if type(data) is memoryview:    # a view over the arena (see _relay)
                data = self._addrs_of(q)[0]
        else:
            data = b"".join(q)
            size = len(data)
        rv = _queue_batch(self._h(), data, size, items.buffer_info()[0], len(q),
                          _lib.RTW_WS_QUEUE_VALID_UTF8, None)
        self._raise_deferred()
        raise_for(rv)

    def send(self, data, compress=True):
        """Queue a message: str as text, bytes-like as binary. compress=False sends it
        uncompressed even when permessage-deflate is on (RTW_WS_QUEUE_NO_COMPRESS).

        Batching: without on_event, random or permessage-deflate, a str or bytes message
        that the session certainly accepts (open, within max_outbound) is kept in Python
        and handed to C together with the others at the next call that needs them
        (data_to_send, feed, peek, any other send or state query): one crossing for many
        messages, same order, same bytes. Errors are still raised by the send() that
        causes them; only an out-of-memory failure would surface at that next call."""
        if self._batching:
            t = type(data)
            if t is str:
                r = self._relay.get(id(data)) if self._relay else None
                if r is not None and r[0] is data:
                    b, w = r[1], _W_TEXT
                elif len(data) >= _ENCODE_MIN and _units and not data.isascii():
                    b, w = self._encode(data), _W_TEXT
                else:
                    try:
                        b, w = data.encode(), _W_TEXT
                    except UnicodeEncodeError:
                        b = None
            elif t is bytes:
                b, w = data, _W_BINARY
            else:
                b = None
            if b is not None:
                n = len(b)
                room = self._qroom
                if room < 0:
                    if self._handed:
                        self._release_views()
                    room = self._room()
                if n + _HDR <= room:
                    self._qroom = room - n - _HDR
                    self._q.append(b)
                    self._qitems.extend((w, self._qoff, n) if _W_WORDS == 3
                                        else (_lib.RTW_WS_BATCH_MESSAGE, w, self._qoff, n))
                    self._qoff += n
                    return
        if isinstance(data, str):
            self.send_text(data, compress)
        else:
            self.send_binary(data, compress)

    def _addrs_of(self, q):
        """The addresses of the views in q (deferred sends that are all views from
        _relay, the only source of views there)."""
        where = {id(e[1]): e[2] for e in self._relay.values() if e[2] is not None}
        return [where[id(v)] for v in q]

    def _send_views(self, out):
        """data_to_send() of deferred sends that are all views over the arena (relayed
        text, see _relay), server role: each is queued by reference (RTW_WS_QUEUE_NOCOPY)
        and the output is gathered (rtw_ws_send_pending_iov) into `out`, payloads as slices
        of their views: the returned bytes are the only copy of the payloads (instead of
        one into the session's buffer and one out of it). The references end before this
        returns (everything pending is reported written), so the arena, valid until the
        next feed(), outlives them. Should queueing fail part way (out of memory), what was
        queued is still gathered and kept for the next data_to_send() before the error is
        raised, so no reference outlives this call either."""
        q, addrs = self._q, self._addrs_of(self._q)
        self._q, self._qitems, self._qoff, self._qroom = [], _new_items(), 0, -1
        h = self._h()
        err = 0
        for i, (v, a) in enumerate(zip(q, addrs)):
            err = _queue_message(h, OP_TEXT, a, len(v), _NOCOPY_TEXT)
            if err:
                q, addrs = q[:i], addrs[:i]
                break
        self._gather_views(h, q, addrs, out)
        if err:
            self._stash = b"".join(out)
            del out[:]
            self._raise_deferred()
            raise_for(err)

    def _gather_views(self, h, q, addrs, out):
        """Take all pending output into out (see _send_views), q's views by slices."""
        spans = [(a, a + len(v), v) for v, a in zip(q, addrs)]
        if self._gather is None:
            iov, cnt = (_lib.rtw_iovec * _IOV_MAX)(), c_size_t()
            self._gather = (iov, cnt, byref(cnt), memoryview(
                (ctypes.c_char * ctypes.sizeof(iov)).from_buffer(iov)).cast("B"))
        iov, cnt, cnt_p, raw = self._gather
        while True:
            raise_for(_pending_iov(h, iov, _IOV_MAX, cnt_p))
            k = cnt.value
            if not k:
                return
            total = 0
            for b, ln in _IOVEC.iter_unpack(raw[:k * _IOVEC.size]):
                for lo, hi, v in spans:
                    if lo <= b < hi:
                        out.append(v[b - lo:b - lo + ln])
                        break
                else:
                    out.append(string_at(b, ln))
                total += ln
            raise_for(_consumed(h, total))

    def send_text(self, text, compress=True):
        b = None
        if type(text) is str and len(text) >= _ENCODE_MIN and _units and not text.isascii():
            b = self._encode(text)
        if b is None:
            b = as_bytes(text)
        self._call(lib.rtw_ws_queue_message, OP_TEXT, b, len(b), _queue_flags(compress))

    def send_binary(self, data, compress=True):
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_message, OP_BINARY, b, len(b), _queue_flags(compress))

    def send_prepared(self, prepared):
        """Queue a Prepared message: its shared bytes where this session's negotiated
        parameters allow (server role, server_no_context_takeover, a large enough window, or
        no compression at all), else compressed or masked for this session alone. The
        session keeps the C message alive until written; `prepared` may be closed at once."""
        if not isinstance(prepared, Prepared):
            raise TypeError("send_prepared() takes a ws.Prepared")
        self._call(lib.rtw_ws_queue_prepared, prepared._h())

    # -- permessage-deflate
    def set_deflate(self, negotiated, config=None):
        """Switch permessage-deflate on with the parameters the handshake negotiated (a
        DeflateParams), before any input or output. negotiated=None means the server did
        not accept it: nothing changes, except that a client whose config has required=True
        queues a close (1010) and raises WebSocketError RTW_ERR_WS_EXTENSION_MISSING."""
        p = None if negotiated is None else byref(_params_c(negotiated))
        self._call(lib.rtw_ws_set_deflate, p, _config_c(config))
        if negotiated is not None:
            self._batching = False     # compression may fail on memory: send at once

    @property
    def deflate(self):
        """The negotiated DeflateParams (absent windows as 15) when permessage-deflate is on,
        else None."""
        p = _lib.rtw_ws_deflate_params()
        if lib.rtw_ws_deflate_active(self._h(), byref(p)) != 1:
            return None
        return _params_py(p)

    @property
    def deflate_memory(self):
        """zlib memory the session holds now, in bytes (0 while idle without context
        takeover)."""
        if self._q:
            self._flush()
        return lib.rtw_ws_deflate_memory(self._h())

    def send_fragment(self, opcode, data, fin):
        """Streamed send: same opcode on every piece; fin=True ends the message."""
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_fragment, opcode, b, len(b), 1 if fin else 0)
        self._frag_open = not fin

    def ping(self, data=b""):
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_ping, b, len(b))

    def pong(self, data=b""):
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_pong, b, len(b))

    def send_close(self, code=_lib.RTW_WS_CLOSE_NORMAL, reason=""):
        """Start the closing handshake (code 0: a close frame without payload)."""
        r = as_bytes(reason, "reason")
        self._call(lib.rtw_ws_close, code, r, len(r))

    def peek(self):
        """The next contiguous pending bytes (a copy), without consuming them."""
        ptr, n = c_void_p(), c_size_t()
        self._call(lib.rtw_ws_send_pending, byref(ptr), byref(n))
        return span(ptr.value, n.value)

    def consumed(self, n):
        """Report that the first n pending bytes were written."""
        self._call(lib.rtw_ws_send_consumed, n)

    def data_to_send(self):
        """All pending output as bytes, marked as written (for a transport that buffers).
        The session's pending bytes are copied once, straight into the returned bytes."""
        out = [self._stash] if self._stash else []
        self._stash = b""
        views = False
        q = self._q
        if q:
            views = (len(q) <= _IOV_MAX // 2 and self.role == SERVER and
                     all(type(v) is memoryview for v in q))
            if views:
                self._send_views(out)   # all of the output
            else:
                self._flush()
        self._qroom = -1
        if self._handed:
            self._release_views()
        if views:
            return b"".join(out)
        h = self._h()
        ptr, n = c_void_p(), c_size_t()
        while True:
            rv = lib.rtw_ws_send_pending(h, byref(ptr), byref(n))
            self._raise_deferred()
            raise_for(rv)
            if not n.value:
                break
            out.append(string_at(ptr.value, n.value))
            raise_for(lib.rtw_ws_send_consumed(h, n.value))
        return out[0] if len(out) == 1 else b"".join(out)

    # -- state and timers
    @property
    def want_read(self):
        if self._q:
            self._flush()
        return lib.rtw_ws_want_read(self._h()) == 1

    @property
    def want_write(self):
        if self._q:
            self._flush()
        return lib.rtw_ws_want_write(self._h()) == 1

    @property
    def outbound_size(self):
        """Bytes queued and not yet reported written (what max_outbound bounds)."""
        if self._q:
            self._flush()
        return lib.rtw_ws_outbound_size(self._h())

    @property
    def held_input(self):
        """Bytes of input held back by the backpressure gate, fed first by the next feed()."""
        return len(self._held)

    def pause_input(self, paused=True):
        """Tell the session the host stopped (True) or resumed (False) reading: keepalive
        sends no ping and the pong timeout stands still meanwhile."""
        self._call(lib.rtw_ws_pause_input, 1 if paused else 0)

    @property
    def finished(self):
        """Nothing more to read or write: close the transport."""
        return not self.want_read and not self.want_write

    @property
    def close_sent(self):
        """The close code we sent (0 none, 1005 empty close frame)."""
        return lib.rtw_ws_close_sent(self._h())

    @property
    def close_received(self):
        """The close code the peer sent (0 none yet, 1005 empty close frame)."""
        return lib.rtw_ws_close_received(self._h())

    def tick(self, now_ms):
        """Advance timers (keepalive ping; pong, close and send timeouts; the client's
        wait for the server's EOF) to now_ms."""
        self._call(lib.rtw_ws_tick, int(now_ms))

    @property
    def next_deadline(self):
        """When tick() next needs to run (None: no timer armed)."""
        if self._q:
            self._flush()
        t = lib.rtw_ws_next_deadline(self._h())
        return None if t == _lib.UINT64_MAX else t


def _queue_flags(compress):
    return 0 if compress else _lib.RTW_WS_QUEUE_NO_COMPRESS


_ON_MESSAGE = trampoline(_lib.WS_ON_MESSAGE, "_cb_message")
_ON_BEGIN = trampoline(_lib.WS_ON_MESSAGE_BEGIN, "_cb_begin")
_ON_DATA = trampoline(_lib.WS_ON_MESSAGE_DATA, "_cb_data")
_ON_END = trampoline(_lib.WS_ON_MESSAGE_END, "_cb_end")
_ON_PING = trampoline(_lib.WS_ON_CONTROL, "_cb_ping")
_ON_PONG = trampoline(_lib.WS_ON_CONTROL, "_cb_pong")
_ON_CLOSE = trampoline(_lib.WS_ON_CLOSE, "_cb_close")
_RANDOM = trampoline(_lib.WS_RANDOM, "_cb_random", abort=-1)


def _batch_random(ws_, buf, n, batch):
    """The random callback of a batch-mode session: its user_data is the batch."""
    obj = _lib.lookup(_BATCH_KEYS.get(batch))
    if obj is None:
        return -1
    try:
        obj._cb_random(buf, n)
    except BaseException as exc:  # noqa: B902 - as _lib.trampoline
        obj._defer(exc)
        return -1
    return 0


_BATCH_RANDOM = _lib.WS_RANDOM(_batch_random)

# ============================================================================ frame codec

#: A frame header (RFC 6455 5.2); mask is 4 bytes (zero when not masked).
Frame = namedtuple("Frame", "fin rsv opcode masked mask payload_len")


def parse_frame_header(data):
    """(Frame, header_length) from the start of data, or None when incomplete. Raises
    WebSocketError (RTW_ERR_WS_BAD_LENGTH) for a non-minimal length."""
    b = as_bytes(data)
    f, n = _lib.rtw_ws_frame(), c_size_t()
    raise_for(lib.rtw_ws_frame_parse(b, len(b), byref(f), byref(n)))
    if n.value == 0:
        return None
    return Frame(bool(f.fin), f.rsv, f.opcode, bool(f.masked), bytes(f.mask),
                 f.payload_len), n.value


def build_frame_header(opcode, payload_len, fin=True, mask=None, rsv=0):
    """The header bytes for a frame (minimal length encoding); mask: 4 bytes or None."""
    f = _lib.rtw_ws_frame(fin=1 if fin else 0, rsv=rsv, opcode=opcode,
                          masked=0 if mask is None else 1, payload_len=payload_len)
    if mask is not None:
        f.mask[:] = list(as_bytes(mask, "mask"))
    out, n = ctypes.create_string_buffer(_lib.RTW_WS_MAX_HEADER), c_size_t()
    raise_for(lib.rtw_ws_frame_build(out, byref(f), byref(n)))
    return out.raw[:n.value]


def mask(data, key, offset=0):
    """XOR data with the 4-byte masking key (RFC 6455 5.3), starting at payload offset."""
    b, k = as_bytes(data), as_bytes(key, "key")
    if len(k) != 4:
        raise ValueError("a masking key is 4 bytes")
    out = ctypes.create_string_buffer(len(b))
    lib.rtw_ws_mask(out, b, len(b), (ctypes.c_uint8 * 4)(*k), offset)
    return out.raw


def build_frame(opcode, payload=b"", fin=True, mask_key=None, rsv=0):
    """A whole frame: header plus (masked, when mask_key is given) payload."""
    p = as_bytes(payload)
    head = build_frame_header(opcode, len(p), fin=fin, mask=mask_key, rsv=rsv)
    return head + (p if mask_key is None else mask(p, mask_key))

# ============================================================================ permessage-deflate

#: The parameters of one permessage-deflate offer or answer (RFC 7692 7.1). The two
#: *_no_context_takeover members are bools; a window-bits member is 0 when absent, 8..15, or
#: (client_max_window_bits of an offer) BITS_NO_VALUE when named without a value.
DeflateParams = namedtuple("DeflateParams", "server_no_context_takeover "
                           "client_no_context_takeover server_max_window_bits "
                           "client_max_window_bits")
DeflateParams.__new__.__defaults__ = (False, False, 0, 0)
BITS_NO_VALUE = _lib.RTW_WS_DEFLATE_BITS_NO_VALUE


#: rtw_ws_tick() releases idle zlib streams without context takeover after this long.
IDLE_RELEASE_MS = _lib.RTW_WS_DEFLATE_IDLE_RELEASE_MS


class DeflateConfig(object):
    """The host's compression policy (rtw_ws_deflate_config); 0 means the library default:
    level 6, windows 15, memLevel 8, threshold 0 (compress everything), a 384 KiB memory
    budget. own_context_takeover / peer_context_takeover keep the compressor / allow the
    peer's between messages (off by default); required (client): close with 1010 when the
    server declines; no_client_bits_offer (client): do not offer client_max_window_bits;
    release_each_message: free a stream without context takeover after every message
    instead of keeping it until the session is idle (RTW_WS_DEFLATE_IDLE_RELEASE_MS)."""

    def __init__(self, level=0, deflate_window_bits=0, deflate_mem_level=0,
                 inflate_window_bits=0, threshold=0, memory_budget=0,
                 own_context_takeover=False, peer_context_takeover=False, required=False,
                 no_client_bits_offer=False, release_each_message=False):
        self.level, self.threshold, self.memory_budget = level, threshold, memory_budget
        self.deflate_window_bits, self.deflate_mem_level = deflate_window_bits, deflate_mem_level
        self.inflate_window_bits = inflate_window_bits
        self.own_context_takeover = own_context_takeover
        self.peer_context_takeover = peer_context_takeover
        self.required, self.no_client_bits_offer = required, no_client_bits_offer
        self.release_each_message = release_each_message

    def __repr__(self):
        return "DeflateConfig(%s)" % ", ".join("%s=%r" % kv for kv in sorted(vars(self).items()))

    def _c(self):
        flags = ((_lib.RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER if self.own_context_takeover else 0)
                 | (_lib.RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER if self.peer_context_takeover
                    else 0)
                 | (_lib.RTW_WS_DEFLATE_REQUIRED if self.required else 0)
                 | (_lib.RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER if self.no_client_bits_offer
                    else 0)
                 | (_lib.RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE if self.release_each_message
                    else 0))
        for name in ("level", "deflate_window_bits", "deflate_mem_level",
                     "inflate_window_bits"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError("%s out of range" % name)
        return _lib.rtw_ws_deflate_config(
            version=_lib.RTW_WS_DEFLATE_CONFIG_VERSION, flags=flags, level=self.level,
            deflate_window_bits=self.deflate_window_bits,
            deflate_mem_level=self.deflate_mem_level,
            inflate_window_bits=self.inflate_window_bits, threshold=self.threshold,
            memory_budget=self.memory_budget)


def _config_c(config):
    """A DeflateConfig (or None: NULL, the defaults) as the pointer argument."""
    if config is None:
        return None
    if not isinstance(config, DeflateConfig):
        raise TypeError("config must be a ws.DeflateConfig or None")
    return byref(config._c())


def _params_c(params):
    p = DeflateParams(*params)
    for v in p[2:]:
        if not 0 <= v <= 255:
            raise ValueError("window bits out of range")
    return _lib.rtw_ws_deflate_params(1 if p[0] else 0, 1 if p[1] else 0, p[2], p[3])


def _params_py(p):
    return DeflateParams(bool(p.server_no_context_takeover), bool(p.client_no_context_takeover),
                         p.server_max_window_bits, p.client_max_window_bits)


def _who(sender):
    if sender not in (SERVER, CLIENT):
        raise ValueError("sender must be 'server' or 'client'")
    return _lib.RTW_WS_ROLE_SERVER if sender == SERVER else _lib.RTW_WS_ROLE_CLIENT


def deflate_parse(ext, sender):
    """Parse one Sec-WebSocket-Extensions element sent by `sender` ("client": an offer,
    "server": an answer). Returns DeflateParams, or None for another extension; raises
    WebSocketError (RTW_ERR_WS_DEFLATE_PARAM) for permessage-deflate with a bad, unknown
    or repeated parameter (RFC 7692 7.1: such an offer is declined)."""
    b = as_bytes(ext, "ext")
    p = _lib.rtw_ws_deflate_params()
    if raise_for(lib.rtw_ws_deflate_parse(b, len(b), _who(sender), byref(p))) != 1:
        return None
    return _params_py(p)


def deflate_accept(offer, config=None):
    """Server: the answer to a parsed offer under `config` (DeflateParams), or None when
    the offer is declined (try the next one)."""
    resp = _lib.rtw_ws_deflate_params()
    if raise_for(lib.rtw_ws_deflate_accept(byref(_params_c(offer)), _config_c(config),
                                           byref(resp))) != 1:
        return None
    return _params_py(resp)


def _text_out(fn, *args):
    buf, n = ctypes.create_string_buffer(_lib.RTW_WS_DEFLATE_ELEMENT_MAX), c_size_t()
    raise_for(fn(*(args + (buf, len(buf), byref(n)))))
    return buf.raw[:n.value].decode("ascii")


def deflate_format(params):
    """DeflateParams as a Sec-WebSocket-Extensions element (str), e.g.
    'permessage-deflate; server_no_context_takeover'."""
    return _text_out(lib.rtw_ws_deflate_format, byref(_params_c(params)))


def deflate_offer(config=None):
    """Client: the Sec-WebSocket-Extensions value `config` offers (str)."""
    return _text_out(lib.rtw_ws_deflate_offer, _config_c(config))


def deflate_check_response(response, config=None):
    """Client: check the server's parsed answer against the offer `config` makes. Returns
    None; raises WebSocketError (RTW_ERR_WS_DEFLATE_PARAM) when the server answered what
    was not offered (RFC 7692: fail the connection)."""
    raise_for(lib.rtw_ws_deflate_check_response(_config_c(config),
                                                byref(_params_c(response))))


class Prepared(Handle):
    """A message framed, and with `deflate` also compressed, once, for many sessions
    (Session.send_prepared()). `data`: str (text) or bytes-like (binary). `deflate`: None
    (no compressed form), True (the default DeflateConfig) or a DeflateConfig (its level,
    deflate_window_bits and deflate_mem_level). Sessions keep the C object alive while
    they hold it, so close() may come right after the last send_prepared()."""

    _free = lib.rtw_ws_prepared_free

    def __init__(self, data, deflate=None):
        Handle.__init__(self)
        opcode = OP_TEXT if isinstance(data, str) else OP_BINARY
        b = as_bytes(data)
        if deflate is True:
            deflate = DeflateConfig()
        handle = c_void_p()
        raise_for(lib.rtw_ws_prepared_new(byref(handle), opcode, b, len(b),
                                          None if deflate in (None, False)
                                          else _config_c(deflate), None))
        self._handle = handle.value
        self.opcode = opcode

    @property
    def sizes(self):
        """(plain frame bytes, compressed frame bytes or 0), headers included."""
        plain, comp = c_size_t(), c_size_t()
        raise_for(lib.rtw_ws_prepared_sizes(self._h(), byref(plain), byref(comp)))
        return plain.value, comp.value
