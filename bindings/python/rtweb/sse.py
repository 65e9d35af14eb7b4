# SPDX-License-Identifier: MIT
"""Server-Sent Events (WHATWG HTML 9.2): parser, writer, replay history, and the server side
of SSE over HTTP/1.1. Thin Pythonic objects over rtweb/sse.h and rtweb/http.h."""

import ctypes
from collections import namedtuple

from . import _lib
from ._lib import lib, as_bytes, span, get_span, trampoline, Handle
from .errors import Error, raise_for

__all__ = ["Event", "Parser", "format_event", "format_comment", "format_retry", "History",
           "HttpRequest", "http_response_head", "http_chunk", "LAST_CHUNK"]

byref, c_size_t, c_void_p = ctypes.byref, ctypes.c_size_t, ctypes.c_void_p
c_uint64 = ctypes.c_uint64

#: One dispatched event. `type` ("message" by default), `data` and `id` (the last event ID,
#: which persists across events) are str, or bytes with Parser(raw_bytes=True). With
#: Parser(on_data=...) the data went to on_data in pieces and `data` is None.
Event = namedtuple("Event", "type data id")

# ============================================================================ parser


class Parser(Handle):
    """An event-stream parser (client side): feed bytes in any pieces, get Events.

    >>> with Parser() as p:
    ...     p.feed(b"id: 7\\nevent: tick\\ndata: he") + p.feed(b"llo\\n\\n")
    [Event(type='tick', data='hello', id='7')]

    Limits (0 = the library's default) raise SSEError subclasses with the rtweb error name:
    max_event_size (data), max_type_length (`event`), max_id_length (`id`). Comments, retry
    values and unknown fields of any length are accepted; on_comment sees at most the first
    max_comment_length bytes of a comment.
    Optional callables: on_id(id), on_retry(ms), on_comment(text), and for huge events
    on_data(piece) / on_discard() (streamed data: nothing is buffered, Event.data is None).
    `retry` holds the last reconnection time the server sent (None until one arrives).
    An exception raised by a callable stops the parser (it is then failed, see reset()) and
    propagates out of feed()/end().
    """

    _free = lib.rtw_sse_parser_free

    def __init__(self, max_event_size=0, max_id_length=0, max_type_length=0,
                 max_comment_length=0, raw_bytes=False, on_id=None, on_retry=None,
                 on_comment=None, on_data=None, on_discard=None):
        Handle.__init__(self)
        self._raw = bool(raw_bytes)
        self._on = {"id": on_id, "retry": on_retry, "comment": on_comment, "data": on_data,
                    "discard": on_discard}
        self.retry = None
        self._events = []
        settings = _lib.rtw_sse_settings(version=_lib.RTW_SSE_SETTINGS_VERSION)
        settings.max_event_size = max_event_size
        settings.max_id_length = max_id_length
        settings.max_type_length = max_type_length
        settings.max_comment_length = max_comment_length
        if raw_bytes:
            settings.flags |= _lib.RTW_SSE_FLAG_RAW_BYTES
        cb = _lib.rtw_sse_callbacks(version=_lib.RTW_SSE_CALLBACKS_VERSION)
        cb.on_event, cb.on_id = _ON_EVENT, _ON_ID
        cb.on_retry, cb.on_comment = _ON_RETRY, _ON_COMMENT
        if on_data is not None:
            settings.flags |= _lib.RTW_SSE_FLAG_STREAM_DATA
            cb.on_data, cb.on_discard = _ON_DATA, _ON_DISCARD
        handle = c_void_p()
        raise_for(lib.rtw_sse_parser_new(byref(handle), byref(cb), byref(settings), None,
                                         c_void_p(self._key)))
        self._handle = handle.value

    # -- callbacks (called through the module-level trampolines below)
    def _text(self, ptr, n):
        b = span(ptr, n)
        return b if self._raw else b.decode("utf-8")

    def _cb_event(self, evp):
        ev = evp.contents
        data = None if self._on["data"] is not None else self._text(ev.data, ev.data_len)
        self._events.append(Event(self._text(ev.type, ev.type_len), data,
                                  self._text(ev.id, ev.id_len)))

    def _cb_id(self, i, ilen):
        if self._on["id"] is not None:
            self._on["id"](self._text(i, ilen))

    def _cb_retry(self, ms):
        self.retry = ms
        if self._on["retry"] is not None:
            self._on["retry"](ms)

    def _cb_comment(self, t, tlen):
        if self._on["comment"] is not None:
            self._on["comment"](self._text(t, tlen))

    def _cb_data(self, d, dlen):
        self._on["data"](self._text(d, dlen))

    def _cb_discard(self):
        if self._on["discard"] is not None:
            self._on["discard"]()

    # -- API
    def _run(self, call):
        self._enter_call()
        self._events = []
        try:
            rv = call()
        finally:
            self._busy = False
        events, self._events = self._events, []
        self._raise_deferred()
        if rv < 0:
            err = Error.from_code(rv)
            err.events = events
            raise err
        return events

    def feed(self, data):
        """Parse the next bytes of the stream; returns the events they completed."""
        buf = as_bytes(data)
        h = self._h()
        nread = c_size_t()
        return self._run(lambda: lib.rtw_sse_parser_recv(h, buf, len(buf), byref(nread)))

    def end(self):
        """End of stream: an unfinished event is discarded (WHATWG 9.2.6). Returns []."""
        h = self._h()
        return self._run(lambda: lib.rtw_sse_parser_end(h))

    def reset(self, last_event_id=None):
        """New stream (reconnect): clears a sticky error; seeds the last event ID if given."""
        h = self._h()
        if self._busy:
            raise Error.from_code(_lib.RTW_ERR_INVALID_STATE, "reset() from inside a callback")
        ident = None if last_event_id is None else as_bytes(last_event_id, "last_event_id")
        raise_for(lib.rtw_sse_parser_reset(h, ident, len(ident or b"")))

    @property
    def last_event_id(self):
        """What a reconnect sends as Last-Event-ID ("" when none)."""
        ptr, n = c_void_p(), c_size_t()
        raise_for(lib.rtw_sse_parser_last_event_id(self._h(), byref(ptr), byref(n)))
        return self._text(ptr.value, n.value)


_ON_EVENT = trampoline(_lib.SSE_ON_EVENT, "_cb_event")
_ON_ID = trampoline(_lib.SSE_ON_ID, "_cb_id")
_ON_RETRY = trampoline(_lib.SSE_ON_RETRY, "_cb_retry")
_ON_COMMENT = trampoline(_lib.SSE_ON_COMMENT, "_cb_comment")
_ON_DATA = trampoline(_lib.SSE_ON_DATA, "_cb_data")
_ON_DISCARD = trampoline(_lib.SSE_ON_DISCARD, "_cb_discard")

# ============================================================================ writer


def _write(fn, *args):
    """Call an rtweb writer: try a small buffer, then exactly the size it asked for."""
    n = c_size_t()
    buf = ctypes.create_string_buffer(256)
    rv = fn(buf, len(buf), byref(n), *args)
    if rv == _lib.RTW_ERR_BUFFER_TOO_SMALL:
        buf = ctypes.create_string_buffer(n.value)
        rv = fn(buf, len(buf), byref(n), *args)
    raise_for(rv)
    return buf.raw[:n.value]


def _flags(crlf):
    return _lib.RTW_SSE_WRITE_CRLF if crlf else 0


def format_event(data="", event=None, id=None, crlf=False):
    """Serialise one event: `event:` (if given), `id:` (if not None; "" clears the client's
    last event ID), one `data:` line per line of data, and the blank line. str is UTF-8."""
    d = as_bytes(data)
    t = b"" if event is None else as_bytes(event, "event")
    i = None if id is None else as_bytes(id, "id")
    keep = [ctypes.create_string_buffer(b, len(b) + 1) for b in (t, i or b"", d)]
    ev = _lib.rtw_sse_event()
    ev.type, ev.type_len = ctypes.addressof(keep[0]), len(t)
    ev.id, ev.id_len = (None, 0) if i is None else (ctypes.addressof(keep[1]), len(i))
    ev.data, ev.data_len = ctypes.addressof(keep[2]), len(d)
    return _write(lib.rtw_sse_write_event, byref(ev), _flags(crlf))


def format_comment(text="", crlf=False):
    """A comment (`: text` per line): a heartbeat the client ignores."""
    t = as_bytes(text, "text")
    return _write(lib.rtw_sse_write_comment, t, len(t), _flags(crlf))


def format_retry(ms, crlf=False):
    """A `retry: ms` line: the client's reconnection time."""
    return _write(lib.rtw_sse_write_retry, ms, _flags(crlf))

# ============================================================================ history


class History(Handle):
    """A bounded replay history of serialised events, for Last-Event-ID (server side).

    push() stores event bytes under their id and returns the sequence number; find(id)
    gives the sequence number after that event (HistoryGap when it is no longer retained);
    since(seq) returns the retained events from seq on, as bytes.
    """

    _free = lib.rtw_sse_history_free

    def __init__(self, max_events=0, max_bytes=0):
        Handle.__init__(self)
        handle = c_void_p()
        raise_for(lib.rtw_sse_history_new(byref(handle), max_events, max_bytes, None))
        self._handle = handle.value

    def push(self, id, event_bytes):
        """Append serialised event bytes under `id`; returns its sequence number."""
        i, b = as_bytes(id, "id"), as_bytes(event_bytes)
        seq = c_uint64()
        raise_for(lib.rtw_sse_history_push(self._h(), i, len(i), b, len(b), byref(seq)))
        return seq.value

    def publish(self, data, id, event=None):
        """format_event() and push() in one step; returns the bytes to broadcast."""
        b = format_event(data, event=event, id=id)
        self.push(id, b)
        return b

    def find(self, last_event_id):
        """The sequence number after the event with that id; raises HistoryGap."""
        i = as_bytes(last_event_id, "last_event_id")
        seq = c_uint64()
        raise_for(lib.rtw_sse_history_find(self._h(), i, len(i), byref(seq)))
        return seq.value

    def get(self, seq):
        """The event bytes with sequence number seq (a copy); HistoryGap or HistoryEnd."""
        ptr, n = c_void_p(), c_size_t()
        raise_for(lib.rtw_sse_history_get(self._h(), seq, byref(ptr), byref(n)))
        return span(ptr.value, n.value)

    def since(self, seq):
        """The retained events from seq up to next_seq (HistoryGap if seq was evicted)."""
        return [self.get(s) for s in range(seq, self.next_seq)]

    def replay(self, last_event_id):
        """What a client that sent Last-Event-ID missed; raises HistoryGap."""
        return self.since(self.find(last_event_id))

    @property
    def next_seq(self):
        return lib.rtw_sse_history_next_seq(self._h())

    @property
    def first_seq(self):
        return lib.rtw_sse_history_first_seq(self._h())

    def __len__(self):
        return self.next_seq - self.first_seq

# ============================================================================ SSE over HTTP


class HttpRequest(Handle):
    """The request of an SSE connection (server side): feed() bytes until it returns True,
    then read path, last_event_id, chunked, and resume() against a History."""

    _free = lib.rtw_sse_http_request_free

    def __init__(self, max_headers=0, max_head_size=0):
        Handle.__init__(self)
        st = _lib.rtw_sse_http_request_settings(version=_lib.RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION,
                                                max_headers=max_headers,
                                                max_head_size=max_head_size)
        handle = c_void_p()
        raise_for(lib.rtw_sse_http_request_new(byref(handle), byref(st), None))
        self._handle = handle.value
        self.trailing = b""

    def feed(self, data):
        """True once the head is complete (`trailing` holds any bytes after it); raises
        HTTPError (e.g. RTW_ERR_HTTP_BAD_METHOD: answer 405) for a bad request."""
        buf = as_bytes(data)
        nread = c_size_t()
        rv = raise_for(lib.rtw_sse_http_request_recv(self._h(), buf, len(buf), byref(nread)))
        if rv == _lib.RTW_SSE_HTTP_DONE:
            self.trailing = buf[nread.value:]
            return True
        return False

    def _str(self, fn, *args):
        b = get_span(fn, self._h(), *args)
        return None if b is None else b.decode("latin-1")

    @property
    def path(self):
        return self._str(lib.rtw_sse_http_request_path)

    @property
    def query(self):
        return self._str(lib.rtw_sse_http_request_query)

    @property
    def last_event_id(self):
        """The Last-Event-ID value (UTF-8 decoded), or None."""
        b = get_span(lib.rtw_sse_http_request_last_event_id, self._h())
        return None if b is None else b.decode("utf-8", "replace")

    def header(self, name, index=0):
        n = as_bytes(name, "name")
        return self._str(lib.rtw_sse_http_request_header, n, len(n), index)

    @property
    def accepts(self):
        return raise_for(lib.rtw_sse_http_request_accepts(self._h())) == 1

    @property
    def chunked(self):
        return raise_for(lib.rtw_sse_http_request_chunked(self._h())) == 1

    @property
    def version(self):
        """The HTTP version as (major, minor), e.g. (1, 1)."""
        major, minor = ctypes.c_int(), ctypes.c_int()
        raise_for(lib.rtw_sse_http_request_version(self._h(), byref(major), byref(minor)))
        return major.value, minor.value

    @property
    def outcome(self):
        """What the C parser returned for the head: 0 (incomplete), 1 (RTW_SSE_HTTP_DONE) or
        a negative error code (see errors), without raising."""
        return lib.rtw_sse_http_request_outcome(self._h())

    def resume(self, history):
        """Where to start sending from `history`: the sequence number after the client's
        last event, or None for a client without Last-Event-ID (live events only). Raises
        HistoryGap (with `.seq`, the next sequence number) when the id is not retained."""
        seq = c_uint64()
        rv = lib.rtw_sse_http_request_resume(self._h(), history._h(), byref(seq))
        if rv == 1:
            return None
        if rv < 0:
            err = Error.from_code(rv)
            err.seq = seq.value
            raise err
        return seq.value


def http_response_head(chunked=True, headers=()):
    """The 200 text/event-stream response head; `headers` is a dict or (name, value) pairs."""
    items = list(headers.items()) if hasattr(headers, "items") else list(headers)
    arr = (_lib.rtw_http_header * max(1, len(items)))()
    for k, (name, value) in enumerate(items):
        n, v = as_bytes(name, "header name"), as_bytes(value, "header value")
        arr[k] = _lib.rtw_http_header(n, len(n), v, len(v))
    flags = _lib.RTW_SSE_HTTP_RESPONSE_CHUNKED if chunked else 0
    return _write(lib.rtw_sse_http_response, flags, arr, len(items))


def http_chunk(data):
    """One HTTP/1.1 chunk around data (b"" for empty data: a zero chunk would end the body)."""
    d = as_bytes(data)
    if not d:
        return b""
    return _write(lib.rtw_sse_http_chunk, d, len(d))


#: Ends a chunked stream (RFC 9112 7.1).
LAST_CHUNK = b"0\r\n\r\n"
