# SPDX-License-Identifier: MIT
"""WebSocket (RFC 6455): the session engine, both roles, and the frame codec. Thin Pythonic
objects over rtweb/ws.h: feed received bytes, get events; queue messages, take the bytes to
write with data_to_send()."""

import ctypes
from collections import namedtuple

from . import _lib
from ._lib import lib, as_bytes, span, trampoline, Handle
from .errors import Error, ProtocolError, raise_for, CODES

__all__ = ["Session", "Message", "MessageBegin", "MessageData", "MessageEnd", "Ping", "Pong",
           "Close", "Frame", "parse_frame_header", "build_frame_header", "build_frame", "mask",
           "OP_CONTINUATION", "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG",
           "SERVER", "CLIENT", "SIZE_MAX"]

byref, c_size_t, c_void_p = ctypes.byref, ctypes.c_size_t, ctypes.c_void_p

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

    Backpressure (ws.h, "Backpressure recipe"): while outbound_size is at or above
    outbound_high_water (default 1 MiB; ws.SIZE_MAX turns it off), want_read is False and
    feed() stops before the next frame, holding the rest of its input (held_input bytes);
    it is processed first by the next feed() call (feed(b"") once want_read is True again).
    pause_input(True/False) tells keepalive that the host stopped/resumed reading.
    """

    _free = lib.rtw_ws_free

    def __init__(self, role=SERVER, whole_messages=True, auto_pong=True, max_frame_size=0,
                 max_message_size=0, fragment_size=0, max_outbound=0, keepalive_ms=0,
                 pong_timeout_ms=0, close_timeout_ms=0, rsv_allowed=0, random=None,
                 on_event=None, outbound_high_water=0, outbound_low_water=0,
                 send_timeout_ms=0):
        Handle.__init__(self)
        if role not in (SERVER, CLIENT):
            raise ValueError("role must be 'server' or 'client'")
        self.role = role
        self._random = random
        self._on_event = on_event
        self._events = []
        self._held = b""
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
        raise_for(lib.rtw_ws_new(byref(handle), role_c, byref(cb), byref(st), None,
                                 c_void_p(self._key)))
        self._handle = handle.value

    # -- callbacks (through the module-level trampolines)
    def _emit(self, event):
        if self._on_event is not None:
            self._on_event(event)
        else:
            self._events.append(event)

    def _cb_message(self, opcode, ptr, n):
        b = span(ptr, n)
        self._emit(Message(opcode, b.decode("utf-8") if opcode == OP_TEXT else b))

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
        let through is held and fed first next time (see held_input)."""
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
        rv = fn(self._h(), *args)
        self._raise_deferred()      # a random callback that raised
        return raise_for(rv)

    def send(self, data):
        """Queue a message: str as text, bytes-like as binary."""
        if isinstance(data, str):
            self.send_text(data)
        else:
            self.send_binary(data)

    def send_text(self, text):
        b = as_bytes(text)
        self._call(lib.rtw_ws_queue_message, OP_TEXT, b, len(b), 0)

    def send_binary(self, data):
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_message, OP_BINARY, b, len(b), 0)

    def send_fragment(self, opcode, data, fin):
        """Streamed send: same opcode on every piece; fin=True ends the message."""
        b = as_bytes(data)
        self._call(lib.rtw_ws_queue_fragment, opcode, b, len(b), 1 if fin else 0)

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
        """All pending output as bytes, marked as written (for a transport that buffers)."""
        out = []
        while lib.rtw_ws_want_write(self._h()):
            chunk = self.peek()
            if not chunk:
                break
            out.append(chunk)
            self.consumed(len(chunk))
        return b"".join(out)

    # -- state and timers
    @property
    def want_read(self):
        return lib.rtw_ws_want_read(self._h()) == 1

    @property
    def want_write(self):
        return lib.rtw_ws_want_write(self._h()) == 1

    @property
    def outbound_size(self):
        """Bytes queued and not yet reported written (what max_outbound bounds)."""
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
        t = lib.rtw_ws_next_deadline(self._h())
        return None if t == _lib.UINT64_MAX else t


_ON_MESSAGE = trampoline(_lib.WS_ON_MESSAGE, "_cb_message")
_ON_BEGIN = trampoline(_lib.WS_ON_MESSAGE_BEGIN, "_cb_begin")
_ON_DATA = trampoline(_lib.WS_ON_MESSAGE_DATA, "_cb_data")
_ON_END = trampoline(_lib.WS_ON_MESSAGE_END, "_cb_end")
_ON_PING = trampoline(_lib.WS_ON_CONTROL, "_cb_ping")
_ON_PONG = trampoline(_lib.WS_ON_CONTROL, "_cb_pong")
_ON_CLOSE = trampoline(_lib.WS_ON_CLOSE, "_cb_close")
_RANDOM = trampoline(_lib.WS_RANDOM, "_cb_random", abort=-1)

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
