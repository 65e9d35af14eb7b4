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

/* The index-th (0-based) element of the lists on every field line `name` (RFC 9110 5.3:
 * repeated lines form one list). Returns 1 when it exists, else 0 with an empty span. */
int rtw__hs_list_at(const rtw__http1 *h, const char *name, size_t index, const char **elem,
                    size_t *len);
/* Number of elements of those lists. */
size_t rtw__hs_list_count(const rtw__http1 *h, const char *name);

#endif /* RTW_HTTP_HANDSHAKE_H */
