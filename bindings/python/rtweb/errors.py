# SPDX-License-Identifier: MIT
"""rtweb errors as Python exceptions.

Every negative code an rtweb function returns becomes an `Error` carrying the code, its
symbolic name (rtw_err_name, e.g. "RTW_ERR_WS_BAD_CLOSE_CODE") and message (rtw_strerror).
The family decides the subclass: SSEError (-100..-199), WebSocketError (-200..-299),
HTTPError (-300..-399), with a few specific ones below. The names are read from the library
itself, so codes appended by a newer library get their names without a binding change.
"""

from . import _lib

lib = _lib.lib

__all__ = ["Error", "SSEError", "HistoryGap", "HistoryEnd", "WebSocketError", "ProtocolError",
           "HTTPError", "HandshakeError", "CODES", "NAMES", "raise_for", "name_of"]


def name_of(code):
    """The symbolic name of an error code ("RTW_ERR_UNKNOWN" for unknown codes)."""
    return lib.rtw_err_name(int(code)).decode("ascii")


def message_of(code):
    return lib.rtw_strerror(int(code)).decode("utf-8", "replace")


def _scan():
    # Codes are negative, grouped by module in blocks of 100 (common.h); ask the library.
    codes = {}
    for code in range(-1, -1000, -1):
        name = name_of(code)
        if name != "RTW_ERR_UNKNOWN":
            codes[name] = code
    return codes


#: {"RTW_ERR_NOMEM": -2, ...} as the loaded library knows them.
CODES = _scan()
#: {-2: "RTW_ERR_NOMEM", ...}
NAMES = dict((v, k) for k, v in CODES.items())


class Error(Exception):
    """An rtweb error: `.code` (negative int), `.name` ("RTW_ERR_..."), `.message`."""

    def __init__(self, name, code, message):
        Exception.__init__(self, name, code, message)
        self.name = name
        self.code = code
        self.message = message

    def __str__(self):
        return "%s (%d): %s" % (self.name, self.code, self.message)

    @classmethod
    def from_code(cls, code, detail=None):
        """The right subclass for `code`, with the library's name and message."""
        sub = _class_for(code)
        if not issubclass(sub, cls):
            sub = cls
        msg = message_of(code)
        if detail:
            msg = "%s: %s" % (msg, detail)
        return sub(name_of(code), code, msg)


class SSEError(Error):
    """Errors of the SSE parser, writer and history (RTW_ERR_SSE_*)."""


class HistoryGap(SSEError):
    """RTW_ERR_SSE_HISTORY_GAP: the history does not reach back to that event."""


class HistoryEnd(SSEError):
    """RTW_ERR_SSE_HISTORY_END: no event at that position yet."""


class WebSocketError(Error):
    """Errors of the WebSocket codec and session (RTW_ERR_WS_*)."""


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455 (or a limit): the session has queued a close frame with
    `.close_code` (send it: Session.data_to_send()) and reads no more. `.events` holds what
    was delivered before the error."""

    close_code = 0
    events = ()


class HTTPError(Error):
    """Errors of the HTTP module (RTW_ERR_HTTP_*)."""


class HandshakeError(HTTPError):
    """A failed opening handshake. Server side: `.response` holds the error response to
    write (may be None) and `.status` its status code."""

    response = None
    status = 0


def _class_for(code):
    if code == CODES.get("RTW_ERR_SSE_HISTORY_GAP"):
        return HistoryGap
    if code == CODES.get("RTW_ERR_SSE_HISTORY_END"):
        return HistoryEnd
    if -199 <= code <= -100:
        return SSEError
    if -299 <= code <= -200:
        return WebSocketError
    if -399 <= code <= -300:
        return HTTPError
    return Error


def raise_for(code, cls=Error, detail=None):
    """Raise the exception for a negative code (no-op for code >= 0)."""
    if code >= 0:
        return code
    raise cls.from_code(code, detail)


# Module-level constants for every code: errors.RTW_ERR_NOMEM == -2, and so on.
globals().update(CODES)
