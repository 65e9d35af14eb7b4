/* SPDX-License-Identifier: MIT */
/* Helpers shared by the server (handshake.c) and client (handshake_client.c) sides of the
 * WebSocket opening handshake (RFC 6455 section 4). */
#ifndef RTW_HTTP_HANDSHAKE_H
#define RTW_HTTP_HANDSHAKE_H

#include <stddef.h>

#include "internal.h"
#include "http1.h"
#include "rtweb/http.h"

/* Append a NUL-terminated string / a span / "name: value\r\n". 0 or RTW_ERR_NOMEM. */
int rtw__hs_puts(rtw__buf *b, const rtw_mem *mem, const char *s);
int rtw__hs_field(rtw__buf *b, const rtw_mem *mem, const char *name, const char *value,
                  size_t value_len);
int rtw__hs_uint(rtw__buf *b, const rtw_mem *mem, unsigned long v);

/* 1 when an application may not set this field itself because the handshake writes it:
 * Connection, Upgrade, Sec-WebSocket-*, plus Host for a request and the body framing fields
 * (Content-Length, Content-Type, Transfer-Encoding) for a response. */
int rtw__hs_reserved(const char *name, size_t len, int request);

/* Validate and append an application's field line (RFC 9110 5.1, 5.5). 0,
 * RTW_ERR_HTTP_INVALID_HEADER or RTW_ERR_NOMEM. */
int rtw__hs_user_field(rtw__buf *b, const rtw_mem *mem, const char *name, size_t name_len,
                       const char *value, size_t value_len, int request);

/* 1 when the extension list `offers` (RFC 6455 9.1 syntax) has an element named `name`. */
int rtw__hs_ext_offered(const char *name, size_t name_len, const char *offers,
                        size_t offers_len);

/* List-walking steps spent on the current head (indexing the offers, accessor calls,
 * comparisons in select_subprotocol / set_extensions): tests use it to show that walking
 * every offer is linear without measuring time. */
size_t rtw__ws_handshake_server_work(const rtw_ws_handshake_server *hs);

#endif /* RTW_HTTP_HANDSHAKE_H */
