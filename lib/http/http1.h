/* SPDX-License-Identifier: MIT */
/* Incremental HTTP/1 message-head parser (RFC 9112 sections 2-5) on top of llhttp.
 *
 * It takes bytes in any pieces and stops at the blank line that ends the head:
 *
 *   request-line   = method SP request-target SP HTTP-version CRLF     (RFC 9112 3)
 *   status-line    = HTTP-version SP status-code SP [ reason-phrase ] CRLF  (RFC 9112 4)
 *   *( field-line CRLF )                                                (RFC 9112 5)
 *   CRLF
 *
 * Whatever follows the head (a body, WebSocket frames, the next request) is not consumed:
 * rtw__http1_feed() reports how many bytes the head took. The body framing llhttp derived
 * (Content-Length, chunked) is exposed so body decoders (SSE over HTTP) can take over.
 *
 * Limits: the whole head (start line included) is at most max_head_size bytes and holds at
 * most max_headers field lines; both are checked as bytes arrive, so no input can make the
 * parser store more than max_head_size bytes of text. The result is the same however the
 * input is split.
 *
 * Storage: the target, reason phrase and every field name and value are copied into one
 * buffer and addressed by offsets (the buffer may move while it grows); field values have
 * leading and trailing whitespace (OWS, RFC 9110 5.5) removed.
 *
 * States: HEAD (collecting) -> DONE (head complete; accessors valid) or FAILED (sticky error).
 * rtw__http1_reset() goes back to HEAD for the next message on the connection.
 *
 * This header is llhttp-free: http1.c is the only file in rtweb that includes llhttp.h.
 */
#ifndef RTW_HTTP_HTTP1_H
#define RTW_HTTP_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define RTW__HTTP1_REQUEST 0
#define RTW__HTTP1_RESPONSE 1

/* Body framing announced by the head (RFC 9112 6.3). */
#define RTW__HTTP1_BODY_NONE 0    /* no Content-Length and no Transfer-Encoding */
#define RTW__HTTP1_BODY_LENGTH 1  /* Content-Length (possibly 0) */
#define RTW__HTTP1_BODY_CHUNKED 2 /* Transfer-Encoding ending in chunked */

typedef struct rtw__http1 rtw__http1;

/* Create a parser for requests or responses. mem must outlive the parser. */
int rtw__http1_new(rtw__http1 **h, int type, size_t max_head_size, uint32_t max_headers,
                   const rtw_mem *mem);
void rtw__http1_free(rtw__http1 *h);

/* Forget the previous message and parse a new head. Keeps the buffers. */
void rtw__http1_reset(rtw__http1 *h);

/* Feed bytes. Always sets *nread. Returns 0 when every byte was taken and the head is not
 * complete yet, 1 when the head is complete (*nread = bytes of this call that belong to it),
 * or RTW_ERR_HTTP_MALFORMED, RTW_ERR_HTTP_HEAD_TOO_LARGE, RTW_ERR_HTTP_TOO_MANY_HEADERS,
 * RTW_ERR_NOMEM (sticky: later calls return the same). After 1, returns 1 with *nread 0.
 * A response parser skips interim responses (1xx other than 101, RFC 9110 15.2): their
 * bytes count in *nread, each head is held to the limits on its own, and the accessors
 * describe the final response. */
int rtw__http1_feed(rtw__http1 *h, const uint8_t *in, size_t len, size_t *nread);

/* The step every public head-reading entry point shares (the WebSocket handshakes, the SSE
 * request): once *outcome is set it is returned again (sticky); otherwise the bytes are fed and,
 * when the head completes (1) or fails (an error), on_head(obj, that result) gives the entry
 * point's result, which is stored in *outcome. Returns 0 while the head is incomplete (the
 * INCOMPLETE value of every such API), else that stored outcome. The caller checks its own
 * arguments first. */
typedef int (*rtw__http1_head_fn)(void *obj, int rv);
int rtw__http1_recv(rtw__http1 *h, int *outcome, const void *in, size_t len, size_t *nread,
                    rtw__http1_head_fn on_head, void *obj);

/* --- body decoding (RFC 9112 6-7) ------------------------------------------------------
 * Called with each piece of decoded body (chunk framing removed). Returns 0 or a negative
 * error, which fails the parser with that error. */
typedef int (*rtw__http1_body_fn)(void *user_data, const char *p, size_t n);

/* Ask for body decoding; call before feeding the head (and again after a reset if needed:
 * reset keeps it). The head then completes as usual (feed returns 1), after which the body
 * goes to rtw__http1_body_feed(). Without it, the parser stops at the head (handshakes). */
void rtw__http1_decode_body(rtw__http1 *h, rtw__http1_body_fn fn, void *user_data);

/* Feed body bytes (after feed returned 1). Always sets *nread. Returns 0 when every byte was
 * taken and the body goes on, 1 when the message ended (*nread = bytes of this call that
 * belong to it; later calls return 1 with *nread 0), RTW_ERR_HTTP_MALFORMED (bad chunk
 * framing), the body callback's error, or RTW_ERR_INVALID_STATE (head not complete or no
 * decoder). Errors are sticky. */
int rtw__http1_body_feed(rtw__http1 *h, const uint8_t *in, size_t len, size_t *nread);

/* The connection closed. Returns 1 when the message is complete (a close-delimited body ends
 * here, RFC 9112 6.3 item 8), else RTW_ERR_HTTP_TRUNCATED_BODY (Content-Length not reached,
 * last chunk missing), sticky. */
int rtw__http1_body_finish(rtw__http1 *h);

/* Bytes of head consumed so far over all feed calls. */
size_t rtw__http1_head_len(const rtw__http1 *h);

/* --- valid once feed returned 1 ------------------------------------------------------- */

const char *rtw__http1_method(const rtw__http1 *h); /* "GET", ...; requests only */
int rtw__http1_is_get(const rtw__http1 *h);
void rtw__http1_target(const rtw__http1 *h, const char **p, size_t *len);
/* The request-target's path and query (RFC 9112 3.2): origin-form "/path?query", or
 * absolute-form "scheme://authority/path?query" whose path starts where the authority ends,
 * at the first '/' or '?' after "//" (RFC 3986 3.2; "ws://host?x=1" has an empty path and
 * the query "x=1"). Returns 1 when the target has a query ('?'), else 0 with an empty query
 * span at the end of the path. */
int rtw__http1_target_split(const rtw__http1 *h, const char **path, size_t *path_len,
                            const char **query, size_t *query_len);
void rtw__http1_reason(const rtw__http1 *h, const char **p, size_t *len);
unsigned rtw__http1_status(const rtw__http1 *h);
/* HTTP version as major * 10 + minor (11 for HTTP/1.1). */
unsigned rtw__http1_version(const rtw__http1 *h);
/* The same as two numbers (RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT). */
void rtw__http1_version_parts(const rtw__http1 *h, int *major, int *minor);
int rtw__http1_body(const rtw__http1 *h, uint64_t *content_length);

size_t rtw__http1_header_count(const rtw__http1 *h);
void rtw__http1_header_at(const rtw__http1 *h, size_t i, const char **name, size_t *name_len,
                          const char **value, size_t *value_len);
/* The index-th field line (0-based, in order) whose name matches case-insensitively.
 * Returns 1 when found, 0 otherwise. */
int rtw__http1_header(const rtw__http1 *h, const char *name, size_t name_len, size_t index,
                      const char **value, size_t *value_len);
/* Number of field lines with that name. */
size_t rtw__http1_header_lines(const rtw__http1 *h, const char *name, size_t name_len);

#endif /* RTW_HTTP_HTTP1_H */
