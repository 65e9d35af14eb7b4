# SPDX-License-Identifier: MIT
"""The server side of one SSE subscriber (rtw_sse_stream in rtweb/http.h): the response head,
chunk framing, replay from a shared History after Last-Event-ID, an output budget, the
slow-consumer policy, heartbeats and a send timeout. Sans-I/O: you write what pending()
returns and report it with consumed(); you pass the time to tick().

    history = sse.History()
    req = sse.HttpRequest(); req.feed(head_bytes)            # True: complete
    st = Stream(req, history, on_gap=lambda st, reason: st.send("", event="reset"))
    history.publish("hello", id="1")
    while st.want_write:
        data = st.pending()
        st.consumed(sock.send(data))
"""

import ctypes

from . import _lib, errors
from ._lib import lib, as_bytes, span, Handle
from .errors import Error, raise_for

__all__ = ["Stream", "SLOW_DROP", "SLOW_HOLD", "GAP_RESUME", "GAP_SLOW"]

byref, c_size_t, c_void_p = ctypes.byref, ctypes.c_size_t, ctypes.c_void_p

#: Slow-consumer policies: fail the stream (RTW_ERR_SSE_SLOW_CONSUMER) after a closing
#: comment and the last chunk, or keep it (on_gap fires and the cursor jumps ahead).
SLOW_DROP = _lib.RTW_SSE_STREAM_SLOW_DROP
SLOW_HOLD = _lib.RTW_SSE_STREAM_SLOW_HOLD
#: Reasons given to on_gap: the Last-Event-ID is not in the history (at creation), or the
#: history evicted events the stream never sent (SLOW_HOLD).
GAP_RESUME = _lib.RTW_SSE_STREAM_GAP_RESUME
GAP_SLOW = _lib.RTW_SSE_STREAM_GAP_SLOW


def _event(data, event, id):
    """An rtw_sse_event over buffers kept alive by the returned list."""
    d = as_bytes(data)
    t = b"" if event is None else as_bytes(event, "event")
    i = None if id is None else as_bytes(id, "id")
    keep = [ctypes.create_string_buffer(b, len(b) + 1) for b in (t, i or b"", d)]
    ev = _lib.rtw_sse_event()
    ev.type, ev.type_len = ctypes.addressof(keep[0]), len(t)
    ev.id, ev.id_len = (None, 0) if i is None else (ctypes.addressof(keep[1]), len(i))
    ev.data, ev.data_len = ctypes.addressof(keep[2]), len(d)
    return ev, keep


def _on_gap(stream, reason, user_data):
    obj = _lib.lookup(user_data)
    if obj is None:
        return _lib.RTW_ERR_CALLBACK_FAILURE
    if obj._handle is None:      # on_gap during rtw_sse_stream_new(): the stream exists
        obj._handle = stream
    try:
        rv = obj._gap(obj, reason)
    except BaseException as exc:  # noqa: B902 - never unwind through C frames
        obj._defer(exc)
        return _lib.RTW_ERR_CALLBACK_FAILURE
    return 0 if rv is None else rv


_ON_GAP = _lib.SSE_STREAM_ON_GAP(_on_gap)


class Stream(Handle):
    """One subscriber's event stream, answering a complete sse.HttpRequest.

    history: the shared sse.History to replay from and pull new events from (None: only
    send()). on_gap(stream, reason): the client missed events the history cannot give
    (GAP_RESUME at creation, GAP_SLOW under SLOW_HOLD); send a reset from it. The other
    arguments are rtw_sse_stream_settings (0: the library's default). The request may be
    closed after the constructor returns; the history must outlive the stream.
    """

    _free = lib.rtw_sse_stream_free

    def __init__(self, request, history=None, max_outbound=0, heartbeat_ms=0, heartbeat=True,
                 retry_ms=0, send_timeout_ms=0, slow_policy=SLOW_DROP, headers=(),
                 on_gap=None):
        Handle.__init__(self)
        self._gap = on_gap
        self._history = history          # keep it alive as long as the stream
        items = list(headers.items()) if hasattr(headers, "items") else list(headers)
        keep = []
        arr = (_lib.rtw_http_header * max(1, len(items)))()
        for k, (name, value) in enumerate(items):
            n, v = as_bytes(name, "header name"), as_bytes(value, "header value")
            keep += [n, v]
            arr[k] = _lib.rtw_http_header(n, len(n), v, len(v))
        st = _lib.rtw_sse_stream_settings(
            version=_lib.RTW_SSE_STREAM_SETTINGS_VERSION,
            flags=0 if heartbeat else _lib.RTW_SSE_STREAM_FLAG_NO_HEARTBEAT,
            max_outbound=max_outbound, heartbeat_ms=heartbeat_ms, retry_ms=retry_ms,
            send_timeout_ms=send_timeout_ms, slow_policy=slow_policy,
            headers=arr, num_headers=len(items))
        cb = _lib.rtw_sse_stream_callbacks(version=_lib.RTW_SSE_STREAM_CALLBACKS_VERSION)
        if on_gap is not None:
            cb.on_gap = _ON_GAP
        handle = c_void_p()
        self._busy = True
        try:
            rv = lib.rtw_sse_stream_new(byref(handle), request._h(),
                                        history._h() if history is not None else None,
                                        byref(cb), byref(st), None, self._key)
        finally:
            self._busy = False
        self._handle = handle.value      # None on failure (also if on_gap had set it)
        self._raise_deferred()
        raise_for(rv)

    def _pump(self, fn, *args):
        """Run a call that may fire on_gap; re-raise what the callback raised."""
        if self._busy:
            raise Error.from_code(errors.RTW_ERR_REENTRANT, "not from inside on_gap")
        self._busy = True
        try:
            rv = fn(self._h(), *args)
        finally:
            self._busy = False
        self._raise_deferred()
        return rv

    def send(self, data="", event=None, id=None):
        """Queue one event for this subscriber only (not stored in the history). Raises
        SSEError RTW_ERR_SSE_OUTBOUND_FULL when the output is at max_outbound (nothing
        queued: write what is pending first)."""
        ev, keep = _event(data, event, id)
        raise_for(lib.rtw_sse_stream_send(self._h(), byref(ev)))
        del keep

    def comment(self, text=""):
        """Queue a comment (`: text`), which clients ignore."""
        t = as_bytes(text, "text")
        raise_for(lib.rtw_sse_stream_comment(self._h(), t, len(t)))

    @property
    def want_write(self):
        """True when output is pending or the history has events to pull under budget."""
        return lib.rtw_sse_stream_want_write(self._h()) == 1

    def pending(self):
        """The bytes to write now (a copy; b"" when nothing is pending), after pulling
        history events under budget. Once the stream failed, still its last bytes: the
        failure is in `error` (and `done` turns True when they are written)."""
        ptr, n = c_void_p(), c_size_t()
        rv = self._pump(lib.rtw_sse_stream_send_pending, byref(ptr), byref(n))
        if rv in (errors.RTW_ERR_REENTRANT, errors.RTW_ERR_INVALID_ARGUMENT):
            raise_for(rv)
        if rv < 0:
            self.error = Error.from_code(rv)
        return span(ptr.value, n.value)

    #: The Error that failed the stream (RTW_ERR_SSE_SLOW_CONSUMER, ...), or None.
    error = None

    def consumed(self, n):
        """Report that the first n bytes of pending() were written."""
        raise_for(self._pump(lib.rtw_sse_stream_send_consumed, n))

    def tick(self, now_ms):
        """Advance the timers (heartbeat, send timeout, slow consumer) to now_ms; raises the
        error that failed the stream (e.g. RTW_ERR_SEND_TIMEOUT: close the connection)."""
        rv = self._pump(lib.rtw_sse_stream_tick, now_ms)
        if rv < 0 and rv != errors.RTW_ERR_REENTRANT:
            self.error = Error.from_code(rv)
        raise_for(rv)

    def end(self):
        """Finish the stream (the last chunk on HTTP/1.1); then write until done."""
        raise_for(lib.rtw_sse_stream_end(self._h()))

    @property
    def next_deadline(self):
        """When tick() next needs to run (ms), or None when no timer is armed."""
        d = lib.rtw_sse_stream_next_deadline(self._h())
        return None if d == _lib.UINT64_MAX else d

    @property
    def outbound_size(self):
        return lib.rtw_sse_stream_outbound_size(self._h())

    @property
    def cursor(self):
        """The sequence number of the next history event to send. Settable (right after
        creation or from on_gap) to any retained position: history.first_seq for the
        retained events, history.next_seq for live ones; HistoryGap for an evicted one."""
        return lib.rtw_sse_stream_cursor(self._h())

    @cursor.setter
    def cursor(self, seq):
        raise_for(lib.rtw_sse_stream_set_cursor(self._h(), seq))

    @property
    def done(self):
        """True once the stream ended or failed and everything was written: close."""
        return lib.rtw_sse_stream_done(self._h()) == 1
