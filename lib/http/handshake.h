/* SPDX-License-Identifier: MIT */
/* Helpers shared by the server (handshake.c) and client (handshake_client.c) sides of the
 * WebSocket opening handshake (RFC 6455 section 4). */
#ifndef RTW_HTTP_HANDSHAKE_H
#define RTW_HTTP_HANDSHAKE_H

#include <stddef.h>

#include "fields.h"
#include "internal.h"
#include "http1.h"
#include "rtweb/http.h"

/* An output buffer that remembers its first error: appends after a failure do nothing, so
 * a message is built with unconditional appends and checked once, by rtw__out_end(). */
typedef struct rtw__out {
  rtw__buf *b;
  const rtw_mem *mem;
  int err; /* 0, or the first append's RTW_ERR_NOMEM */
} rtw__out;

void rtw__out_init(rtw__out *o, rtw__buf *b, const rtw_mem *mem);
void rtw__out_mem(rtw__out *o, const void *p, size_t n);
void rtw__out_str(rtw__out *o, const char *s); /* a NUL-terminated string */
void rtw__out_uint(rtw__out *o, unsigned long v);
/* "name: value\r\n" */
/* "GET <path> HTTP/1.1" CRLF (RFC 9112 3); an empty path is written as "/". */
void rtw__out_get_line(rtw__out *o, const char *path, size_t path_len);
void rtw__out_field(rtw__out *o, const char *name, size_t name_len, const char *value,
                    size_t value_len);
/* 0 when every append succeeded, else the first error. */
int rtw__out_end(const rtw__out *o);
/* Append a string literal, its length counted by the compiler. */
#define RTW__OUT_LIT(o, lit) rtw__out_mem((o), RTW__LIT(lit))

/* 1 when an application may not set this field itself because the handshake writes it:
 * Connection, Upgrade, Sec-WebSocket-*, plus Host for a request and the body framing fields
 * (Content-Length, Content-Type, Transfer-Encoding) for a response. */
int rtw__hs_reserved(const char *name, size_t len, int request);

/* Validate and append an application's field line (RFC 9110 5.1, 5.5). 0 (memory errors
 * are left in o) or RTW_ERR_HTTP_INVALID_HEADER (nothing appended). */
int rtw__hs_user_field(rtw__out *o, const char *name, size_t name_len, const char *value,
                       size_t value_len, int request);

/* 1 when the extension list `offers` (RFC 6455 9.1 syntax) has an element named `name`. */
int rtw__hs_ext_offered(const char *name, size_t name_len, const char *offers,
                        size_t offers_len);

/* List-walking steps spent on the current head (indexing the offers, accessor calls,
 * comparisons in select_subprotocol / set_extensions): tests use it to show that walking
 * every offer is linear without measuring time. */
size_t rtw__ws_handshake_server_work(const rtw_ws_handshake_server *hs);

#endif /* RTW_HTTP_HANDSHAKE_H */
