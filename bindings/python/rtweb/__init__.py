# SPDX-License-Identifier: MIT
"""rtweb for Python: Server-Sent Events and WebSocket engines (sans-I/O) over ctypes.

The C library librtweb does the protocol work; this package only binds it (standard library
only, no compiler). It loads the library named by the RTWEB_LIBRARY environment variable,
else the installed librtweb.so.0, else librtweb.so from a build directory of the source tree.

    from rtweb import sse, ws, handshake
    sse.Parser().feed(b"data: hi\\n\\n")      # [Event(type='message', data='hi', id='')]
    ws.Session("server").feed(frames)          # [Message(opcode=1, data='...'), ...]

Errors are rtweb.Error exceptions carrying the library's error name and code.
"""

from ._lib import library_path, lib as _clib
from .errors import (Error, SSEError, HistoryGap, HistoryEnd, WebSocketError, ProtocolError,
                     HTTPError, HandshakeError)
from . import errors, sse, sse_stream, ws, handshake

__all__ = ["Error", "SSEError", "HistoryGap", "HistoryEnd", "WebSocketError", "ProtocolError",
           "HTTPError", "HandshakeError", "errors", "sse", "sse_stream", "ws", "handshake",
           "library_path",
           "library_version", "__version__"]

__version__ = "0.1.0"


def library_version():
    """The version string of the loaded librtweb, e.g. "0.1.0"."""
    return _clib.rtw_version_string().decode("ascii")
