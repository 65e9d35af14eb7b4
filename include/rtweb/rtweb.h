/* SPDX-License-Identifier: MIT */
/**
 * @file rtweb.h
 * @brief Umbrella header: includes every public rtweb header.
 */

/**
 * @mainpage rtweb API reference
 *
 * rtweb is an embeddable C library for Server-Sent Events (WHATWG HTML, "Server-sent
 * events") and WebSocket (RFC 6455) as sans-I/O engines: the host owns the sockets, the
 * event loop, the threads and the clock; rtweb takes bytes in, gives bytes out and reports
 * events through callbacks.
 *
 * The reference, one page per header:
 * - common.h: error codes (#RTW_ERRNO_MAP), rtw_strerror(), allocator hooks (#rtw_mem),
 *   version.
 * - sse.h: the event-stream parser (#rtw_sse_parser), writer (rtw_sse_write_event()) and
 *   replay history (#rtw_sse_history).
 * - ws.h: the frame codec (rtw_ws_frame_parse()) and the session engine (#rtw_ws).
 * - http.h: WebSocket opening handshakes (#rtw_ws_handshake_server,
 *   #rtw_ws_handshake_client), SSE over HTTP/1.1 (#rtw_sse_http_request,
 *   #rtw_sse_http_client) and the reconnection policy (#rtw_sse_reconnect).
 *
 * Conventions that hold for every function: `rtw_X_new()` copies its settings, callbacks
 * and allocator hooks; `rtw_X_free()` accepts NULL; errors are negative `RTW_ERR_*` codes;
 * pointers a function returns point into the object and stay valid for the time its
 * documentation says; pointers passed to callbacks are valid only during the call; one
 * object is used by one thread at a time. The guides in the source tree's `docs/`
 * directory (design.md, embedding.md, errors.md, abi.md and one per module) explain the
 * model and walk through an embedding.
 */
#ifndef RTWEB_RTWEB_H
#define RTWEB_RTWEB_H

#include "common.h"
#include "sse.h"
#include "ws.h"
#include "http.h"

#endif /* RTWEB_RTWEB_H */
