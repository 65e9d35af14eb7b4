/* SPDX-License-Identifier: MIT */
/* The SSE request object's layout, shared with the WebSocket handshake server, which embeds
 * one as a read-only view of its own parsed head (rtw_ws_handshake_server_plain_request()).
 *
 * A standalone request (rtw_sse_http_request_new()) owns its parser; a view borrows the
 * handshake server's and is neither fed nor freed: rtw_sse_http_request_recv() refuses it and
 * rtw_sse_http_request_free() ignores it. */
#ifndef RTW_HTTP_SSE_HTTP_H
#define RTW_HTTP_SSE_HTTP_H

#include "http1.h"
#include "rtweb/http.h"

struct rtw_sse_http_request {
  rtw_mem mem;
  rtw__http1 *head; /* owned, or borrowed when view */
  int outcome;      /* sticky result once the head is complete or failed */
  int view;         /* 1: a view into a handshake server; never freed through this struct */
};

/* Make `req` a view of the complete request head `head`: the outcome is what
 * rtw_sse_http_request_recv() would have returned for it (RTW_SSE_HTTP_DONE or a validation
 * error). */
void rtw__sse_http_request_view(rtw_sse_http_request *req, rtw__http1 *head);

/* Detach a view (its head is being reset): accessors then fail as before a complete head. */
void rtw__sse_http_request_unview(rtw_sse_http_request *req);

#endif /* RTW_HTTP_SSE_HTTP_H */
