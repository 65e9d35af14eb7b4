# SPDX-License-Identifier: MIT
"""The WebSocket opening handshake (RFC 6455 section 4), server and client, over
rtweb/http.h. Both sides take bytes in and hand the bytes to write out; after the handshake,
`trailing` holds the bytes that already belong to the WebSocket session (feed them to it)."""

import ctypes

from . import _lib
from ._lib import lib, as_bytes, span, get_span, trampoline, Handle
from .errors import Error, HandshakeError, raise_for
from .sse import HttpRequest
from . import ws as _ws

__all__ = ["ServerHandshake", "ClientHandshake", "PlainRequest", "accept_value", "INCOMPLETE",
           "DONE", "PLAIN_REQUEST"]

byref, c_size_t, c_void_p = ctypes.byref, ctypes.c_size_t, ctypes.c_void_p

INCOMPLETE = _lib.RTW_WS_HANDSHAKE_INCOMPLETE
DONE = _lib.RTW_WS_HANDSHAKE_DONE
PLAIN_REQUEST = _lib.RTW_WS_HANDSHAKE_PLAIN_REQUEST


def accept_value(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    k = as_bytes(key, "key")
    out = ctypes.create_string_buffer(_lib.RTW_WS_ACCEPT_LEN)
    raise_for(lib.rtw_ws_handshake_accept_value(k, len(k), out))
    return out.raw.decode("ascii")


def _header_array(headers):
    items = list(headers.items()) if hasattr(headers, "items") else list(headers or ())
    arr = (_lib.rtw_http_header * max(1, len(items)))()
    for k, (name, value) in enumerate(items):
        n, v = as_bytes(name, "header name"), as_bytes(value, "header value")
        arr[k] = _lib.rtw_http_header(n, len(n), v, len(v))
    return arr, len(items)


def _text(b):
    # HTTP field values are octets; latin-1 maps each to one code point, losslessly.
    return None if b is None else b.decode("latin-1")


class ServerHandshake(Handle):
    """The server side of one connection's handshake.

    feed(bytes) returns INCOMPLETE, DONE (write `response`, the 101, then run a Session with
    `trailing`) or PLAIN_REQUEST (not an upgrade: answer it yourself, routing by `path`).
    A bad request raises HandshakeError carrying the error response to write and its status.

    `on_upgrade(hs)` (optional) sees the valid request through the accessors, may call
    select_subprotocol(), set_extensions() and add_header(), and returns None to accept or an
    HTTP status (300-599) to reject. If it raises, a 500 response is built and the exception
    propagates out of feed().
    """

    _free = lib.rtw_ws_handshake_server_free

    def __init__(self, on_upgrade=None, max_headers=0, max_head_size=0):
        Handle.__init__(self)
        self._on_upgrade = on_upgrade
        self.trailing = b""
        st = _lib.rtw_ws_handshake_server_settings(
            version=_lib.RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION, max_headers=max_headers,
            max_head_size=max_head_size)
        cb = _lib.rtw_ws_handshake_server_callbacks(
            version=_lib.RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION)
        if on_upgrade is not None:
            cb.on_upgrade = _ON_UPGRADE
        handle = c_void_p()
        raise_for(lib.rtw_ws_handshake_server_new(byref(handle), byref(cb), byref(st), None,
                                                  c_void_p(self._key)))
        self._handle = handle.value

    def _cb_upgrade(self):
        rv = self._on_upgrade(self)
        return 0 if rv is None else int(rv)

    def feed(self, data):
        buf = as_bytes(data)
        h = self._h()
        nread = c_size_t()
        self._enter_call()
        try:
            rv = lib.rtw_ws_handshake_server_recv(h, buf, len(buf), byref(nread))
        finally:
            self._busy = False
        self._raise_deferred()
        if rv < 0:
            err = HandshakeError.from_code(rv)
            err.response = self.response
            err.status = self.status
            raise err
        if rv in (DONE, PLAIN_REQUEST):
            self.trailing = buf[nread.value:]
        return rv

    def reset(self):
        """Expect a new request on the same connection (after answering a plain one)."""
        if self._busy:
            raise Error.from_code(_lib.RTW_ERR_INVALID_STATE, "reset() from inside on_upgrade")
        raise_for(lib.rtw_ws_handshake_server_reset(self._h()))
        self.trailing = b""
        self._generation = getattr(self, "_generation", 0) + 1

    def plain_request(self):
        """After PLAIN_REQUEST: the same parsed request as an sse.HttpRequest (path,
        last_event_id, accepts, chunked, version, resume(), outcome), without parsing it
        again; None otherwise. It is a view: it works until this object is reset or closed
        (then it raises), and closing it frees nothing."""
        handle = lib.rtw_ws_handshake_server_plain_request(self._h())
        return None if handle is None else PlainRequest(self, handle)

    @property
    def version(self):
        """The request's HTTP version as (major, minor); None before the head is complete."""
        major, minor = ctypes.c_int(), ctypes.c_int()
        if raise_for(lib.rtw_ws_handshake_server_version(self._h(), byref(major),
                                                         byref(minor))) != 1:
            return None
        return major.value, minor.value

    @property
    def response(self):
        """The response to write (101 or an error response), or None."""
        ptr, n = c_void_p(), c_size_t()
        if lib.rtw_ws_handshake_server_response(self._h(), byref(ptr), byref(n)) != 0:
            return None
        return span(ptr.value, n.value)

    @property
    def status(self):
        return lib.rtw_ws_handshake_server_status(self._h())

    # -- request accessors
    @property
    def method(self):
        return _text(get_span(lib.rtw_ws_handshake_server_method, self._h()))

    @property
    def path(self):
        return _text(get_span(lib.rtw_ws_handshake_server_path, self._h()))

    @property
    def query(self):
        return _text(get_span(lib.rtw_ws_handshake_server_query, self._h()))

    @property
    def origin(self):
        return _text(get_span(lib.rtw_ws_handshake_server_origin, self._h()))

    def header(self, name, index=0):
        """The index-th field named `name` (case-insensitive), or None."""
        n = as_bytes(name, "name")
        return _text(get_span(lib.rtw_ws_handshake_server_header, self._h(), n, len(n), index))

    @property
    def headers(self):
        """[(name, value), ...] in order of arrival."""
        h = self._h()
        out = []
        for i in range(lib.rtw_ws_handshake_server_header_count(h)):
            np_, nl, vp_, vl = c_void_p(), c_size_t(), c_void_p(), c_size_t()
            if lib.rtw_ws_handshake_server_header_at(h, i, byref(np_), byref(nl), byref(vp_),
                                                     byref(vl)) == 1:
                out.append((_text(span(np_.value, nl.value)), _text(span(vp_.value, vl.value))))
        return out

    def _list(self, count_fn, item_fn):
        h = self._h()
        return [_text(get_span(item_fn, h, i)) for i in range(count_fn(h))]

    @property
    def subprotocols(self):
        """The subprotocols offered, in the client's order of preference."""
        return self._list(lib.rtw_ws_handshake_server_subprotocol_count,
                          lib.rtw_ws_handshake_server_subprotocol)

    @property
    def extensions(self):
        """The extension offers with their parameters."""
        return self._list(lib.rtw_ws_handshake_server_extension_count,
                          lib.rtw_ws_handshake_server_extension)

    # -- decisions (inside on_upgrade only)
    def select_subprotocol(self, name):
        b = as_bytes(name, "name")
        raise_for(lib.rtw_ws_handshake_server_select_subprotocol(self._h(), b, len(b)))

    def set_extensions(self, value):
        b = as_bytes(value, "value")
        raise_for(lib.rtw_ws_handshake_server_set_extensions(self._h(), b, len(b)))

    def add_header(self, name, value):
        n, v = as_bytes(name, "name"), as_bytes(value, "value")
        raise_for(lib.rtw_ws_handshake_server_add_header(self._h(), n, len(n), v, len(v)))

    def accept_deflate(self, config=None):
        """Negotiate permessage-deflate (RFC 7692): accept the first offer `config` (a
        ws.DeflateConfig, None for the defaults) allows and put the answer in the 101's
        Sec-WebSocket-Extensions. Returns the ws.DeflateParams to give the Session
        (Session(deflate=..., deflate_config=config)), or None when no offer was
        acceptable."""
        p = _lib.rtw_ws_deflate_params()
        if raise_for(lib.rtw_ws_handshake_server_accept_deflate(
                self._h(), _ws._config_c(config), byref(p))) != 1:
            return None
        return _ws._params_py(p)


_ON_UPGRADE = trampoline(_lib.HS_SERVER_ON_UPGRADE, "_cb_upgrade")


class PlainRequest(HttpRequest):
    """A read-only view of a ServerHandshake's plain request (ServerHandshake.plain_request()).
    The C object belongs to the handshake: this view keeps the handshake alive, refuses to
    be fed, frees nothing, and raises once the handshake was reset or closed."""

    _free = staticmethod(lambda handle: None)  # the handshake server owns it

    def __init__(self, server, handle):  # pylint: disable=super-init-not-called
        Handle.__init__(self)
        self._server = server
        self._generation = getattr(server, "_generation", 0)
        self._handle = handle
        self.trailing = server.trailing

    def _h(self):
        if self._server._handle is None or \
                getattr(self._server, "_generation", 0) != self._generation:
            raise Error.from_code(_lib.RTW_ERR_INVALID_STATE,
                                  "the handshake was reset or closed")
        return HttpRequest._h(self)

    def feed(self, data):
        raise Error.from_code(_lib.RTW_ERR_INVALID_STATE, "a plain request view is not fed")


class ClientHandshake(Handle):
    """The client side: builds `request` (with a fresh Sec-WebSocket-Key) at creation;
    feed(response bytes) returns False until the 101 is complete and valid, then True
    (`trailing` holds the server's first frames). Failures raise HandshakeError, e.g.
    RTW_ERR_HTTP_WS_BAD_ACCEPT; `status` tells the response status."""

    _free = lib.rtw_ws_handshake_client_free

    def __init__(self, host, path="/", origin=None, subprotocols=None, extensions=None,
                 headers=None, max_headers=0, max_head_size=0, random=None):
        Handle.__init__(self)
        self._random = random
        self.trailing = b""
        st = _lib.rtw_ws_handshake_client_settings(
            version=_lib.RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION, max_headers=max_headers,
            max_head_size=max_head_size)
        if subprotocols is not None and not isinstance(subprotocols, (str, bytes)):
            subprotocols = ", ".join(subprotocols)
        # The strings only need to live through rtw_ws_handshake_client_new (it copies them);
        # the Structure keeps references to the bytes assigned to its c_char_p members.
        for field, value in (("host", host), ("path", path), ("origin", origin),
                             ("subprotocols", subprotocols), ("extensions", extensions)):
            if value is not None:
                b = as_bytes(value, field)
                setattr(st, field, b)
                setattr(st, field + "_len", len(b))
        arr, count = _header_array(headers)
        st.headers, st.num_headers = arr, count
        cb = _lib.rtw_ws_handshake_client_callbacks(
            version=_lib.RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION)
        if random is not None:
            cb.random = _HS_RANDOM
        handle = c_void_p()
        rv = lib.rtw_ws_handshake_client_new(byref(handle), byref(cb), byref(st), None,
                                             c_void_p(self._key))
        self._raise_deferred()
        raise_for(rv)
        self._handle = handle.value

    def _cb_random(self, buf, n):
        b = bytes(self._random(n))
        if len(b) != n:
            raise ValueError("random(%d) returned %d bytes" % (n, len(b)))
        ctypes.memmove(buf, b, n)

    @property
    def request(self):
        """The HTTP request head to write."""
        ptr, n = c_void_p(), c_size_t()
        raise_for(lib.rtw_ws_handshake_client_request(self._h(), byref(ptr), byref(n)))
        return span(ptr.value, n.value)

    def feed(self, data):
        buf = as_bytes(data)
        nread = c_size_t()
        rv = lib.rtw_ws_handshake_client_recv(self._h(), buf, len(buf), byref(nread))
        if rv < 0:
            err = HandshakeError.from_code(rv)
            err.status = self.status
            raise err
        if rv == DONE:
            self.trailing = buf[nread.value:]
            return True
        return False

    @property
    def status(self):
        return lib.rtw_ws_handshake_client_status(self._h())

    @property
    def subprotocol(self):
        """The subprotocol the server chose, or None."""
        return _text(get_span(lib.rtw_ws_handshake_client_subprotocol, self._h()))

    @property
    def extensions(self):
        h = self._h()
        return [_text(get_span(lib.rtw_ws_handshake_client_extension, h, i))
                for i in range(lib.rtw_ws_handshake_client_extension_count(h))]

    def header(self, name, index=0):
        n = as_bytes(name, "name")
        return _text(get_span(lib.rtw_ws_handshake_client_header, self._h(), n, len(n), index))

    def deflate(self, config=None):
        """After the handshake: the ws.DeflateParams the server answered to the offer made
        from `config` (pass ws.deflate_offer(config) as `extensions`), or None when it did
        not accept permessage-deflate. Raises WebSocketError RTW_ERR_WS_DEFLATE_PARAM when
        the answer breaks the offer (RFC 7692: fail the connection)."""
        p = _lib.rtw_ws_deflate_params()
        if raise_for(lib.rtw_ws_handshake_client_deflate(
                self._h(), _ws._config_c(config), byref(p))) != 1:
            return None
        return _ws._params_py(p)


_HS_RANDOM = trampoline(_lib.HS_CLIENT_RANDOM, "_cb_random", abort=-1)
