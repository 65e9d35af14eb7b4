# SPDX-License-Identifier: MIT
"""Loading librtweb and declaring its C ABI for ctypes.

Everything that depends on the C declarations in include/rtweb/*.h lives here, written once:

- constants copied from the headers (struct versions, flags, outcomes); the test suite
  compares every one of them with the #defines of the headers in the source tree;
- the versioned settings and callbacks structs, member for member in header order (the
  library reads only the members that existed in the `version` we pass, so a newer library
  keeps working with this declaration); the same test compares the member lists;
- the plain value structs the ABI fixes for good: rtw_ws_frame (the wire format),
  rtw_http_header (two spans) and rtw_ws_deflate_params (four bytes). rtw_mem is not declared: NULL selects the C library's
  allocator, which is what a Python program wants;
- argtypes/restype of every function used.

No compiler is involved: opaque objects are c_void_p handles, strings are (pointer, length)
spans, and output pointers are read with ctypes.string_at() (a copy) before the next call on
the object can invalidate them.
"""

import ctypes
import ctypes.util
import glob
import os
import weakref
import itertools

__all__ = ["lib", "library_path"]

# --------------------------------------------------------------------------- loading

_HERE = os.path.dirname(os.path.abspath(__file__))
# bindings/python/rtweb -> repository root
_SOURCE_ROOT = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))


def _candidates():
    env = os.environ.get("RTWEB_LIBRARY")
    if env:
        # Explicit choice: use it or fail; never fall back silently to another copy.
        yield env
        return
    # The library installed with this package: `meson install` records its libdir in
    # _config.py (absent from the source tree), so a package under any prefix loads its own
    # library, without LD_LIBRARY_PATH.
    try:
        from . import _config
        yield os.path.join(_config.LIBDIR, "librtweb.so.0")
    except ImportError:
        pass
    # The installed library: the soname the dynamic linker finds (ldconfig cache, or
    # LD_LIBRARY_PATH), then whatever ctypes.util knows.
    yield "librtweb.so.0"
    found = ctypes.util.find_library("rtweb")
    if found:
        yield found
    # The build tree: build/ first, then any build*/ directory, newest first.
    default = os.path.join(_SOURCE_ROOT, "build", "lib", "librtweb.so")
    if os.path.exists(default):
        yield default
    others = glob.glob(os.path.join(_SOURCE_ROOT, "build*", "lib", "librtweb.so"))
    others.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    for p in others:
        if p != default:
            yield p


def _load():
    errors = []
    for cand in _candidates():
        try:
            return ctypes.CDLL(cand), cand
        except OSError as exc:
            errors.append("%s: %s" % (cand, exc))
    raise ImportError("rtweb: cannot load librtweb (set RTWEB_LIBRARY to its path); tried:\n  "
                      + "\n  ".join(errors or ["nothing"]))


lib, library_path = _load()

# --------------------------------------------------------------------------- types

c_int, c_uint32, c_uint64 = ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64
c_size_t = ctypes.c_size_t
c_void_p, c_char_p, c_uint8 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint8
P = ctypes.POINTER
CF = ctypes.CFUNCTYPE

# --------------------------------------------------------------------------- constants
# Values from include/rtweb/*.h (tests/test_abi.py checks them against the headers).

# common.h
RTW_OK = 0
RTW_ERR_PAUSE = -3
RTW_ERR_CALLBACK_FAILURE = -4
RTW_ERR_BUFFER_TOO_SMALL = -5
RTW_ERR_INVALID_STATE = -6
RTW_VERSION_MAJOR = 0

# sse.h
RTW_SSE_FLAG_STREAM_DATA = 0x1
RTW_SSE_FLAG_RAW_BYTES = 0x2
RTW_SSE_SETTINGS_VERSION = 2
RTW_SSE_CALLBACKS_VERSION = 2
RTW_SSE_WRITE_CRLF = 0x1

# ws.h
RTW_WS_OP_CONTINUATION = 0x0
RTW_WS_OP_TEXT = 0x1
RTW_WS_OP_BINARY = 0x2
RTW_WS_OP_CLOSE = 0x8
RTW_WS_OP_PING = 0x9
RTW_WS_OP_PONG = 0xA
RTW_WS_CLOSE_NORMAL = 1000
RTW_WS_CLOSE_NO_STATUS = 1005
RTW_WS_MAX_HEADER = 14
RTW_WS_ROLE_SERVER = 0
RTW_WS_ROLE_CLIENT = 1
RTW_WS_FLAG_WHOLE_MESSAGES = 0x1
RTW_WS_FLAG_NO_AUTO_PONG = 0x2
RTW_WS_SETTINGS_VERSION = 3
RTW_WS_CALLBACKS_VERSION = 1
RTW_WS_RSV1 = 0x4
RTW_WS_QUEUE_NO_COMPRESS = 0x2
RTW_WS_QUEUE_VALID_UTF8 = 0x4
RTW_WS_QUEUE_NOCOPY = 0x1
RTW_WS_DEFAULT_MAX_OUTBOUND = 16 * 1024 * 1024
# ws.h: event batches
RTW_WS_BATCH_MESSAGE = 1
RTW_WS_BATCH_BEGIN = 2
RTW_WS_BATCH_DATA = 3
RTW_WS_BATCH_END = 4
RTW_WS_BATCH_PING = 5
RTW_WS_BATCH_PONG = 6
RTW_WS_BATCH_CLOSE = 7
RTW_WS_BATCH_DEFAULT_MAX_EVENTS = 4096
RTW_WS_BATCH_DEFAULT_MAX_ARENA = 256 * 1024
# ws.h: permessage-deflate
RTW_WS_DEFLATE_BITS_NO_VALUE = 1
RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER = 0x1
RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER = 0x2
RTW_WS_DEFLATE_REQUIRED = 0x4
RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER = 0x8
RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE = 0x10
RTW_WS_DEFLATE_IDLE_RELEASE_MS = 1000
RTW_WS_DEFLATE_DEFAULT_LEVEL = 6
RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS = 15
RTW_WS_DEFLATE_DEFAULT_MEM_LEVEL = 8
RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET = 384 * 1024
RTW_WS_DEFLATE_CONFIG_VERSION = 1
RTW_WS_DEFLATE_ELEMENT_MAX = 128

# http.h
RTW_WS_ACCEPT_LEN = 28
RTW_WS_HANDSHAKE_INCOMPLETE = 0
RTW_WS_HANDSHAKE_DONE = 1
RTW_WS_HANDSHAKE_PLAIN_REQUEST = 2
RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION = 1
RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION = 1
RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION = 1
RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION = 1
RTW_SSE_HTTP_INCOMPLETE = 0
RTW_SSE_HTTP_DONE = 1
RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION = 1
RTW_SSE_HTTP_RESPONSE_CHUNKED = 0x1
RTW_SSE_STREAM_SETTINGS_VERSION = 1
RTW_SSE_STREAM_CALLBACKS_VERSION = 1
RTW_SSE_STREAM_FLAG_NO_HEARTBEAT = 0x1
RTW_SSE_STREAM_SLOW_DROP = 0
RTW_SSE_STREAM_SLOW_HOLD = 1
RTW_SSE_STREAM_GAP_RESUME = 1
RTW_SSE_STREAM_GAP_SLOW = 2

UINT64_MAX = (1 << 64) - 1

# --------------------------------------------------------------------------- callbacks
# Pointer parameters are c_void_p so Python receives an int (None for NULL) and copies the
# bytes with string_at(); the last parameter is always the user_data.

class rtw_sse_event(ctypes.Structure):
    """sse.h's plain value type (not versioned: its layout never grows)."""
    _fields_ = [("type", c_void_p), ("type_len", c_size_t), ("id", c_void_p),
                ("id_len", c_size_t), ("data", c_void_p), ("data_len", c_size_t)]


SSE_ON_EVENT = CF(c_int, c_void_p, ctypes.POINTER(rtw_sse_event), c_void_p)
SSE_ON_ID = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
SSE_ON_RETRY = CF(c_int, c_void_p, c_uint32, c_void_p)
SSE_ON_COMMENT = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
SSE_ON_DATA = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
SSE_ON_DISCARD = CF(c_int, c_void_p, c_void_p)

WS_ON_MESSAGE_BEGIN = CF(c_int, c_void_p, c_int, c_void_p)
WS_ON_MESSAGE_DATA = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
WS_ON_MESSAGE_END = CF(c_int, c_void_p, c_void_p)
WS_ON_MESSAGE = CF(c_int, c_void_p, c_int, c_void_p, c_size_t, c_void_p)
WS_ON_CONTROL = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)   # on_ping, on_pong
WS_ON_CLOSE = CF(c_int, c_void_p, c_int, c_void_p, c_size_t, c_void_p)
WS_ON_PAYLOAD_RELEASED = CF(None, c_void_p, c_void_p, c_size_t, c_void_p)
WS_RANDOM = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)

HS_SERVER_ON_UPGRADE = CF(c_int, c_void_p, c_void_p)
HS_CLIENT_RANDOM = CF(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
SSE_STREAM_ON_GAP = CF(c_int, c_void_p, c_uint32, c_void_p)

# --------------------------------------------------------------------------- structs
# Versioned structs: members exactly as in the header, in order. `version` first.


class rtw_sse_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("max_event_size", c_size_t),
                ("max_id_length", c_size_t), ("max_type_length", c_size_t),
                ("max_comment_length", c_size_t)]


class rtw_sse_callbacks(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("on_event", SSE_ON_EVENT), ("on_id", SSE_ON_ID),
                ("on_retry", SSE_ON_RETRY), ("on_comment", SSE_ON_COMMENT),
                ("on_data", SSE_ON_DATA), ("on_discard", SSE_ON_DISCARD)]


class rtw_ws_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("max_frame_size", c_uint64),
                ("max_message_size", c_uint64), ("fragment_size", c_size_t),
                ("max_outbound", c_size_t), ("keepalive_ms", c_uint32),
                ("pong_timeout_ms", c_uint32), ("close_timeout_ms", c_uint32),
                ("rsv_allowed", c_uint32),
                # version 2
                ("outbound_high_water", c_size_t), ("outbound_low_water", c_size_t),
                ("send_timeout_ms", c_uint32),
                # version 3
                ("keep_buffer", c_size_t), ("keep_idle_ms", c_uint32)]


class rtw_ws_callbacks(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("on_message_begin", WS_ON_MESSAGE_BEGIN),
                ("on_message_data", WS_ON_MESSAGE_DATA), ("on_message_end", WS_ON_MESSAGE_END),
                ("on_message", WS_ON_MESSAGE), ("on_ping", WS_ON_CONTROL),
                ("on_pong", WS_ON_CONTROL), ("on_close", WS_ON_CLOSE),
                ("on_payload_released", WS_ON_PAYLOAD_RELEASED), ("random", WS_RANDOM)]


class rtw_ws_deflate_params(ctypes.Structure):
    """Plain value struct (ws.h: "will not grow"): one permessage-deflate offer or answer."""
    _fields_ = [("server_no_context_takeover", c_uint8), ("client_no_context_takeover", c_uint8),
                ("server_max_window_bits", c_uint8), ("client_max_window_bits", c_uint8)]


class rtw_ws_deflate_config(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("level", c_uint8),
                ("deflate_window_bits", c_uint8), ("deflate_mem_level", c_uint8),
                ("inflate_window_bits", c_uint8), ("threshold", c_size_t),
                ("memory_budget", c_size_t)]


class rtw_ws_handshake_server_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("max_headers", c_uint32), ("max_head_size", c_size_t)]


class rtw_ws_handshake_server_callbacks(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("on_upgrade", HS_SERVER_ON_UPGRADE)]


class rtw_http_header(ctypes.Structure):
    """Plain value struct (a name span and a value span); not versioned in the ABI."""
    _fields_ = [("name", c_char_p), ("name_len", c_size_t), ("value", c_char_p),
                ("value_len", c_size_t)]


class rtw_ws_handshake_client_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("max_headers", c_uint32), ("max_head_size", c_size_t),
                ("host", c_char_p), ("host_len", c_size_t),
                ("path", c_char_p), ("path_len", c_size_t),
                ("origin", c_char_p), ("origin_len", c_size_t),
                ("subprotocols", c_char_p), ("subprotocols_len", c_size_t),
                ("extensions", c_char_p), ("extensions_len", c_size_t),
                ("headers", P(rtw_http_header)), ("num_headers", c_size_t)]


class rtw_ws_handshake_client_callbacks(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("random", HS_CLIENT_RANDOM)]


class rtw_sse_http_request_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("max_headers", c_uint32), ("max_head_size", c_size_t)]


class rtw_sse_stream_settings(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("max_outbound", c_size_t),
                ("heartbeat_ms", c_uint32), ("retry_ms", c_uint32),
                ("send_timeout_ms", c_uint32), ("slow_policy", c_uint32),
                ("headers", P(rtw_http_header)), ("num_headers", c_size_t)]


class rtw_sse_stream_callbacks(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("on_gap", SSE_STREAM_ON_GAP)]


class rtw_ws_frame(ctypes.Structure):
    """Plain value struct fixed by the wire format ("will not grow", ws.h)."""
    _fields_ = [("fin", c_uint8), ("rsv", c_uint8), ("opcode", c_uint8), ("masked", c_uint8),
                ("mask", c_uint8 * 4), ("payload_len", c_uint64)]


# The versioned structs, for the header comparison test: (C name, ctypes class).
VERSIONED_STRUCTS = [
    ("rtw_sse_settings", rtw_sse_settings),
    ("rtw_sse_callbacks", rtw_sse_callbacks),
    ("rtw_ws_settings", rtw_ws_settings),
    ("rtw_ws_callbacks", rtw_ws_callbacks),
    ("rtw_ws_deflate_config", rtw_ws_deflate_config),
    ("rtw_ws_handshake_server_settings", rtw_ws_handshake_server_settings),
    ("rtw_ws_handshake_server_callbacks", rtw_ws_handshake_server_callbacks),
    ("rtw_ws_handshake_client_settings", rtw_ws_handshake_client_settings),
    ("rtw_ws_handshake_client_callbacks", rtw_ws_handshake_client_callbacks),
    ("rtw_sse_http_request_settings", rtw_sse_http_request_settings),
    ("rtw_sse_stream_settings", rtw_sse_stream_settings),
    ("rtw_sse_stream_callbacks", rtw_sse_stream_callbacks),
]


class rtw_ws_batch_event(ctypes.Structure):
    _fields_ = [("kind", c_uint32), ("value", c_uint32), ("offset", c_size_t),
                ("length", c_size_t)]


class rtw_iovec(ctypes.Structure):
    _fields_ = [("base", c_void_p), ("len", c_size_t)]


PLAIN_STRUCTS = [("rtw_http_header", rtw_http_header), ("rtw_ws_frame", rtw_ws_frame),
                 ("rtw_ws_deflate_params", rtw_ws_deflate_params),
                 ("rtw_ws_batch_event", rtw_ws_batch_event), ("rtw_iovec", rtw_iovec)]

# --------------------------------------------------------------------------- functions

vp, sz = c_void_p, c_size_t
PVP, PSZ, PU64 = P(c_void_p), P(c_size_t), P(c_uint64)
PDP, PDC = P(rtw_ws_deflate_params), P(rtw_ws_deflate_config)

_PROTOS = {
    # common.h
    "rtw_strerror": (c_char_p, [c_int]),
    "rtw_err_name": (c_char_p, [c_int]),
    "rtw_version_string": (c_char_p, []),
    "rtw_version_number": (c_uint32, []),
    "rtw_utf8_to_units": (c_int, [vp, sz, vp, sz, PSZ, P(c_int)]),
    "rtw_utf8_from_units": (c_int, [vp, sz, c_int, vp, sz, PSZ]),
    # sse.h: parser
    "rtw_sse_parser_new": (c_int, [PVP, P(rtw_sse_callbacks), P(rtw_sse_settings), vp, vp]),
    "rtw_sse_parser_free": (None, [vp]),
    "rtw_sse_parser_recv": (c_int, [vp, c_char_p, sz, PSZ]),
    "rtw_sse_parser_end": (c_int, [vp]),
    "rtw_sse_parser_reset": (c_int, [vp, c_char_p, sz]),
    "rtw_sse_parser_last_event_id": (c_int, [vp, PVP, PSZ]),
    # sse.h: writer
    "rtw_sse_write_event": (c_int, [vp, sz, PSZ, P(rtw_sse_event), c_uint32]),
    "rtw_sse_write_retry": (c_int, [vp, sz, PSZ, c_uint32, c_uint32]),
    "rtw_sse_write_comment": (c_int, [vp, sz, PSZ, c_char_p, sz, c_uint32]),
    # sse.h: history
    "rtw_sse_history_new": (c_int, [PVP, sz, sz, vp]),
    "rtw_sse_history_free": (None, [vp]),
    "rtw_sse_history_push": (c_int, [vp, c_char_p, sz, c_char_p, sz, PU64]),
    "rtw_sse_history_push_at": (c_int, [vp, c_uint64, c_char_p, sz, c_char_p, sz]),
    "rtw_sse_history_reset": (c_int, [vp, c_uint64]),
    "rtw_sse_history_find": (c_int, [vp, c_char_p, sz, PU64]),
    "rtw_sse_history_get": (c_int, [vp, c_uint64, PVP, PSZ]),
    "rtw_sse_history_next_seq": (c_uint64, [vp]),
    "rtw_sse_history_first_seq": (c_uint64, [vp]),
    # ws.h: frame codec
    "rtw_ws_frame_parse": (c_int, [c_char_p, sz, P(rtw_ws_frame), PSZ]),
    "rtw_ws_frame_build": (c_int, [vp, P(rtw_ws_frame), PSZ]),
    "rtw_ws_mask": (None, [vp, c_char_p, sz, P(c_uint8), c_uint64]),
    # ws.h: session
    "rtw_ws_new": (c_int, [PVP, c_int, P(rtw_ws_callbacks), P(rtw_ws_settings), vp, vp]),
    "rtw_ws_free": (None, [vp]),
    "rtw_ws_recv": (c_int, [vp, c_char_p, sz, PSZ]),
    "rtw_ws_recv_inplace": (c_int, [vp, vp, sz, PSZ]),
    "rtw_ws_trim": (c_int, [vp]),
    "rtw_ws_want_read": (c_int, [vp]),
    "rtw_ws_want_write": (c_int, [vp]),
    "rtw_ws_outbound_size": (sz, [vp]),
    "rtw_ws_pause_input": (c_int, [vp, c_int]),
    "rtw_ws_send_pending": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_send_pending_iov": (c_int, [vp, P(rtw_iovec), sz, PSZ]),
    "rtw_ws_send_consumed": (c_int, [vp, sz]),
    "rtw_ws_queue_message": (c_int, [vp, c_int, vp, sz, c_uint32]),
    "rtw_ws_queue_fragment": (c_int, [vp, c_int, c_char_p, sz, c_int]),
    "rtw_ws_queue_ping": (c_int, [vp, c_char_p, sz]),
    "rtw_ws_queue_pong": (c_int, [vp, c_char_p, sz]),
    "rtw_ws_close": (c_int, [vp, c_int, c_char_p, sz]),
    "rtw_ws_close_sent": (c_int, [vp]),
    "rtw_ws_close_received": (c_int, [vp]),
    "rtw_ws_tick": (c_int, [vp, c_uint64]),
    "rtw_ws_next_deadline": (c_uint64, [vp]),
    # ws.h: permessage-deflate
    "rtw_ws_deflate_parse": (c_int, [c_char_p, sz, c_int, PDP]),
    "rtw_ws_deflate_accept": (c_int, [PDP, PDC, PDP]),
    "rtw_ws_deflate_format": (c_int, [PDP, vp, sz, PSZ]),
    "rtw_ws_deflate_offer": (c_int, [PDC, vp, sz, PSZ]),
    "rtw_ws_deflate_check_response": (c_int, [PDC, PDP]),
    "rtw_ws_set_deflate": (c_int, [vp, PDP, PDC]),
    "rtw_ws_deflate_active": (c_int, [vp, PDP]),
    "rtw_ws_deflate_memory": (sz, [vp]),
    "rtw_ws_prepared_new": (c_int, [PVP, c_int, c_char_p, sz, PDC, vp]),
    "rtw_ws_prepared_free": (None, [vp]),
    "rtw_ws_prepared_sizes": (c_int, [vp, PSZ, PSZ]),
    "rtw_ws_queue_prepared": (c_int, [vp, vp]),
    # ws.h: event batches
    "rtw_ws_batch_new": (c_int, [PVP, sz, sz, vp]),
    "rtw_ws_batch_free": (None, [vp]),
    "rtw_ws_batch_callbacks": (None, [P(rtw_ws_callbacks), c_int]),
    "rtw_ws_batch_recv": (c_int, [vp, vp, vp, sz, PSZ]),
    "rtw_ws_batch_events": (sz, [vp, PVP, PVP]),
    "rtw_ws_batch_full": (c_int, [vp]),
    "rtw_ws_queue_batch": (c_int, [vp, vp, sz, vp, sz, c_uint32, PSZ]),
    # http.h: handshakes
    "rtw_ws_handshake_accept_value": (c_int, [c_char_p, sz, vp]),
    "rtw_ws_handshake_server_new": (c_int, [PVP, P(rtw_ws_handshake_server_callbacks),
                                            P(rtw_ws_handshake_server_settings), vp, vp]),
    "rtw_ws_handshake_server_free": (None, [vp]),
    "rtw_ws_handshake_server_recv": (c_int, [vp, c_char_p, sz, PSZ]),
    "rtw_ws_handshake_server_reset": (c_int, [vp]),
    "rtw_ws_handshake_server_response": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_server_status": (c_int, [vp]),
    "rtw_ws_handshake_server_plain_request": (vp, [vp]),
    "rtw_ws_handshake_server_version": (c_int, [vp, P(c_int), P(c_int)]),
    "rtw_ws_handshake_server_method": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_server_path": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_server_query": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_server_origin": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_server_header": (c_int, [vp, c_char_p, sz, sz, PVP, PSZ]),
    "rtw_ws_handshake_server_header_count": (sz, [vp]),
    "rtw_ws_handshake_server_header_at": (c_int, [vp, sz, PVP, PSZ, PVP, PSZ]),
    "rtw_ws_handshake_server_subprotocol_count": (sz, [vp]),
    "rtw_ws_handshake_server_subprotocol": (c_int, [vp, sz, PVP, PSZ]),
    "rtw_ws_handshake_server_extension_count": (sz, [vp]),
    "rtw_ws_handshake_server_extension": (c_int, [vp, sz, PVP, PSZ]),
    "rtw_ws_handshake_server_select_subprotocol": (c_int, [vp, c_char_p, sz]),
    "rtw_ws_handshake_server_set_extensions": (c_int, [vp, c_char_p, sz]),
    "rtw_ws_handshake_server_add_header": (c_int, [vp, c_char_p, sz, c_char_p, sz]),
    "rtw_ws_handshake_server_accept_deflate": (c_int, [vp, PDC, PDP]),
    "rtw_ws_handshake_client_new": (c_int, [PVP, P(rtw_ws_handshake_client_callbacks),
                                            P(rtw_ws_handshake_client_settings), vp, vp]),
    "rtw_ws_handshake_client_free": (None, [vp]),
    "rtw_ws_handshake_client_request": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_client_recv": (c_int, [vp, c_char_p, sz, PSZ]),
    "rtw_ws_handshake_client_status": (c_int, [vp]),
    "rtw_ws_handshake_client_subprotocol": (c_int, [vp, PVP, PSZ]),
    "rtw_ws_handshake_client_extension_count": (sz, [vp]),
    "rtw_ws_handshake_client_extension": (c_int, [vp, sz, PVP, PSZ]),
    "rtw_ws_handshake_client_header": (c_int, [vp, c_char_p, sz, sz, PVP, PSZ]),
    "rtw_ws_handshake_client_deflate": (c_int, [vp, PDC, PDP]),
    # http.h: SSE over HTTP/1.1, server side
    "rtw_sse_http_request_new": (c_int, [PVP, P(rtw_sse_http_request_settings), vp]),
    "rtw_sse_http_request_free": (None, [vp]),
    "rtw_sse_http_request_recv": (c_int, [vp, c_char_p, sz, PSZ]),
    "rtw_sse_http_request_path": (c_int, [vp, PVP, PSZ]),
    "rtw_sse_http_request_query": (c_int, [vp, PVP, PSZ]),
    "rtw_sse_http_request_last_event_id": (c_int, [vp, PVP, PSZ]),
    "rtw_sse_http_request_header": (c_int, [vp, c_char_p, sz, sz, PVP, PSZ]),
    "rtw_sse_http_request_accepts": (c_int, [vp]),
    "rtw_sse_http_request_chunked": (c_int, [vp]),
    "rtw_sse_http_request_resume": (c_int, [vp, vp, PU64]),
    "rtw_sse_http_request_outcome": (c_int, [vp]),
    "rtw_sse_http_request_version": (c_int, [vp, P(c_int), P(c_int)]),
    "rtw_sse_http_response": (c_int, [vp, sz, PSZ, c_uint32, P(rtw_http_header), sz]),
    "rtw_sse_http_chunk": (c_int, [vp, sz, PSZ, c_char_p, sz]),
    # http.h: SSE stream
    "rtw_sse_stream_new": (c_int, [PVP, vp, vp, P(rtw_sse_stream_callbacks),
                                   P(rtw_sse_stream_settings), vp, vp]),
    "rtw_sse_stream_free": (None, [vp]),
    "rtw_sse_stream_send": (c_int, [vp, P(rtw_sse_event)]),
    "rtw_sse_stream_comment": (c_int, [vp, c_char_p, sz]),
    "rtw_sse_stream_want_write": (c_int, [vp]),
    "rtw_sse_stream_send_pending": (c_int, [vp, PVP, PSZ]),
    "rtw_sse_stream_send_consumed": (c_int, [vp, sz]),
    "rtw_sse_stream_outbound_size": (sz, [vp]),
    "rtw_sse_stream_tick": (c_int, [vp, c_uint64]),
    "rtw_sse_stream_next_deadline": (c_uint64, [vp]),
    "rtw_sse_stream_end": (c_int, [vp]),
    "rtw_sse_stream_done": (c_int, [vp]),
    "rtw_sse_stream_cursor": (c_uint64, [vp]),
    "rtw_sse_stream_set_cursor": (c_int, [vp, c_uint64]),
    "rtw_sse_stream_user_data": (vp, [vp]),
}

for _name, (_res, _args) in _PROTOS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
del _name, _res, _args, _fn

# The soname pins the ABI (major version 0 here); refuse a library from another line.
if lib.rtw_version_number() >> 16 != RTW_VERSION_MAJOR:
    raise ImportError("rtweb: %s is version %s; this binding speaks %d.x"
                      % (library_path, lib.rtw_version_string().decode(), RTW_VERSION_MAJOR))

# --------------------------------------------------------------------------- helpers


def span(ptr, length):
    """Copy a (pointer, length) span the library handed out into bytes."""
    if not length:
        return b""
    return ctypes.string_at(ptr, length)


def as_bytes(data, what="data"):
    """bytes for a C call: str is UTF-8 encoded, bytes-like objects are copied once."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError("%s must be str or bytes-like, not %s" % (what, type(data).__name__))


def get_span(fn, handle, *args):
    """Call an accessor `fn(handle, *args, &ptr, &len)` returning 1/0/negative; bytes or None."""
    ptr, length = c_void_p(), c_size_t()
    rv = fn(handle, *args, ctypes.byref(ptr), ctypes.byref(length))
    if rv < 0:
        from .errors import raise_for
        raise_for(rv)
    if rv == 0:
        return None
    return span(ptr.value, length.value)


# Callback dispatch. user_data is a small integer key into this table of weak references,
# so the C side never holds a Python object pointer and a freed object is never reached.
_registry = {}
_keys = itertools.count(1)


def register(obj):
    key = next(_keys)
    _registry[key] = weakref.ref(obj)
    return key


def unregister(key):
    _registry.pop(key, None)


def lookup(user_data):
    ref = _registry.get(user_data)
    return ref() if ref is not None else None


def trampoline(proto, method, abort=RTW_ERR_CALLBACK_FAILURE):
    """A C callback of type `proto` that calls `obj.<method>(*args)` on the object whose key
    is the user_data (the last C argument), with the first argument (the C object) dropped.

    A Python exception must not unwind through C frames: it is caught here, kept on the
    object (obj._defer), and the callback returns `abort` (the documented "fail" value);
    the binding re-raises it when the C call returns."""
    def call(*args):
        obj = lookup(args[-1])
        if obj is None:
            return abort
        try:
            rv = getattr(obj, method)(*args[1:-1])
        except BaseException as exc:  # noqa: B902 - includes KeyboardInterrupt on purpose
            obj._defer(exc)
            return abort
        return 0 if rv is None else rv
    return proto(call)


def void_trampoline(proto, method):
    """As trampoline(), for callbacks returning void: the exception is kept and re-raised."""
    def call(*args):
        obj = lookup(args[-1])
        if obj is None:
            return None
        try:
            getattr(obj, method)(*args[1:-1])
        except BaseException as exc:  # noqa: B902
            obj._defer(exc)
        return None
    return proto(call)


class Handle(object):
    """Base for objects owning one C handle: close(), context manager, __del__ backup, and
    the deferred-exception machinery for callbacks."""

    _free = None          # the rtw_*_free function, set by subclasses
    _handle = None

    def __init__(self):
        self._key = register(self)
        self._deferred = None
        self._busy = False

    def _defer(self, exc):
        if self._deferred is None:
            self._deferred = exc

    def _raise_deferred(self):
        exc, self._deferred = self._deferred, None
        if exc is not None:
            raise exc

    def _h(self):
        if self._handle is None:
            from .errors import Error
            raise Error.from_code(RTW_ERR_INVALID_STATE, "object is closed")
        return self._handle

    def _enter_call(self):
        """Guard for calls a callback must not make on its own object (recv, free, ...)."""
        if self._busy:
            from .errors import Error
            raise Error.from_code(RTW_ERR_INVALID_STATE,
                                  "not allowed from inside this object's callback")
        self._busy = True

    def close(self):
        """Free the C object now. Idempotent; later calls on the object raise."""
        if self._busy:
            from .errors import Error
            raise Error.from_code(RTW_ERR_INVALID_STATE,
                                  "close() from inside this object's callback")
        handle, self._handle = self._handle, None
        if handle is not None:
            type(self)._free(handle)
        unregister(self._key)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            if self._handle is not None and not self._busy:
                handle, self._handle = self._handle, None
                type(self)._free(handle)
            unregister(self._key)
        except Exception:
            pass
