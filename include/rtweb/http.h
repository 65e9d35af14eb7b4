/* SPDX-License-Identifier: MIT */
/**
 * @file http.h
 * @brief HTTP/1.1 for the real-time web: the WebSocket opening handshake (RFC 6455 section
 * 4), server and client, sans-I/O.
 *
 * **Server** (rtw_ws_handshake_server): feed the bytes a connection receives; it parses the
 * request head (RFC 9112), validates a WebSocket upgrade (RFC 6455 4.2.1), lets the
 * application accept or reject it (on_upgrade), and builds the complete response to write:
 * `101 Switching Protocols` with `Sec-WebSocket-Accept`, or an error response (400, 403,
 * 404, 426, 431, ... with `Connection: close`). A request that is not a WebSocket upgrade
 * (a page, an SSE stream) is reported as #RTW_WS_HANDSHAKE_PLAIN_REQUEST with its path and
 * headers, so one listener serves all three; the host routes by path.
 *
 * **Client** (rtw_ws_handshake_client): builds the upgrade request with a fresh
 * `Sec-WebSocket-Key` (RFC 6455 4.1) and validates the server's response, every failure a
 * distinct error code.
 *
 * Both report how many bytes the HTTP head used: the bytes after it are WebSocket frames and
 * go to rtw_ws_recv() of a new #rtw_ws session untouched. See docs/handshake.md.
 *
 * Strings are spans (pointer + length) and need no NUL terminator. Pointers returned by
 * accessors point into the handshake object and stay valid until it is reset or freed.
 *
 * Compiles as C89, C99 and C++.
 */
#ifndef RTWEB_HTTP_H
#define RTWEB_HTTP_H

#include "common.h"
#include "sse.h"
#include "ws.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== common */

/** @brief Default limit on the bytes of a request or response head (start line, field lines
 * and the blank line): 8 KiB. */
#define RTW_HTTP_DEFAULT_MAX_HEAD_SIZE 8192u
/** @brief Default limit on the number of field lines in a head: 64. */
#define RTW_HTTP_DEFAULT_MAX_HEADERS 64u

/** @brief Length of a `Sec-WebSocket-Key` value: base64 of 16 bytes. */
#define RTW_WS_KEY_LEN 24u
/** @brief Length of a `Sec-WebSocket-Accept` value: base64 of a 20-byte SHA-1. */
#define RTW_WS_ACCEPT_LEN 28u

/** @name Outcomes of rtw_ws_handshake_server_recv() and rtw_ws_handshake_client_recv() */
/**@{*/
/** All input was consumed and the head is not complete yet: feed more. */
#define RTW_WS_HANDSHAKE_INCOMPLETE 0
/** The handshake succeeded. Server: the 101 response is ready; client: the 101 response was
 * valid. The bytes after `nread` belong to the WebSocket session. */
#define RTW_WS_HANDSHAKE_DONE 1
/** Server only: a complete request that is not a WebSocket upgrade (no `Upgrade: websocket`
 * and no `Sec-WebSocket-*` field). No response was built: the host answers it itself. */
#define RTW_WS_HANDSHAKE_PLAIN_REQUEST 2
/**@}*/

/** @brief A parsed SSE request on the server side (one per connection), standalone
 * (rtw_sse_http_request_new()) or a view of a handshake server's plain request
 * (rtw_ws_handshake_server_plain_request()). Opaque. */
typedef struct rtw_sse_http_request rtw_sse_http_request;

/** @brief One field line to send: a name (a token, RFC 9110 5.6.2) and a value (no control
 * characters other than HTAB: no CR, LF or NUL). */
typedef struct rtw_http_header {
  const char *name;  /**< the field name, not NUL-terminated; only read during the call */
  size_t name_len;   /**< bytes at name */
  const char *value; /**< the field value, not NUL-terminated; only read during the call */
  size_t value_len;  /**< bytes at value */
} rtw_http_header;

/**
 * @brief Compute `Sec-WebSocket-Accept` for a key (RFC 6455 4.2.2 step 5.4): base64 of the
 * SHA-1 of the key followed by "258EAFA5-E914-47DA-95CA-C5AB0DC85B11".
 * @param key the key exactly as sent (after trimming surrounding whitespace); only read.
 * @param key_len bytes at key (at most 92).
 * @param[out] out #RTW_WS_ACCEPT_LEN characters, not NUL-terminated.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL key or out, key_len over 92);
 *         #RTW_ERR_UNSUPPORTED (SHA-1 backend failed).
 */
RTW_EXPORT int rtw_ws_handshake_accept_value(const char *key, size_t key_len,
                                             char out[RTW_WS_ACCEPT_LEN]);

/* ====================================================================== server */

/** @brief The server side of the opening handshake for one connection. Opaque. */
typedef struct rtw_ws_handshake_server rtw_ws_handshake_server;

/** @brief The rtw_ws_handshake_server_settings layout this header declares. */
#define RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION 1u

/**
 * @brief Server limits. Zero in any member means its default. Initialise with
 * `rtw_ws_handshake_server_settings s = {.version = RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};`.
 */
typedef struct rtw_ws_handshake_server_settings {
  uint32_t version; /**< #RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION (or older) */
  /** Most field lines in the request; one more fails with #RTW_ERR_HTTP_TOO_MANY_HEADERS and
   * a 431 response. Default #RTW_HTTP_DEFAULT_MAX_HEADERS. */
  uint32_t max_headers;
  /** Most bytes of the request head; a head that does not end within them fails with
   * #RTW_ERR_HTTP_HEAD_TOO_LARGE and a 431 response. Also bounds the memory the parser keeps.
   * Default #RTW_HTTP_DEFAULT_MAX_HEAD_SIZE. */
  size_t max_head_size;
} rtw_ws_handshake_server_settings;

/** @brief The rtw_ws_handshake_server_callbacks layout this header declares. */
#define RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION 1u

/**
 * @brief Server callbacks. Any member may be NULL. Initialise with
 * `rtw_ws_handshake_server_callbacks cb = {.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};`.
 */
typedef struct rtw_ws_handshake_server_callbacks {
  uint32_t version; /**< #RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION (or older) */
  /**
   * A valid WebSocket upgrade request arrived (every RFC 6455 4.2.1 check passed). Inspect
   * it with the accessors (path, query, origin, subprotocols, extensions, any header); call
   * rtw_ws_handshake_server_select_subprotocol(), rtw_ws_handshake_server_set_extensions()
   * and rtw_ws_handshake_server_add_header() as needed. Return:
   * - 0 to accept (the 101 response is built);
   * - an HTTP status from 300 to 599 to reject with that status (e.g. 403 for a foreign
   *   Origin, 404 for an unknown path, 401 with a `WWW-Authenticate` added);
   * - #RTW_ERR_NOMEM (e.g. passed on from a decision call) to fail with #RTW_ERR_NOMEM;
   * - anything else to fail with #RTW_ERR_CALLBACK_FAILURE (a 500 response is built).
   * When NULL, every valid upgrade is accepted without a subprotocol or extension.
   * The callback must not call rtw_ws_handshake_server_recv(), _reset() or _free().
   */
  int (*on_upgrade)(rtw_ws_handshake_server *hs, void *user_data);
} rtw_ws_handshake_server_callbacks;

/**
 * @brief Create a server handshake for one connection.
 * @param[out] hs the new object (NULL on failure).
 * @param callbacks, settings copied; NULL for none / defaults.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @param user_data passed to callbacks, see rtw_ws_handshake_server_user_data().
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (hs NULL, unknown struct version, incomplete mem);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_ws_handshake_server_new(rtw_ws_handshake_server **hs,
                                           const rtw_ws_handshake_server_callbacks *callbacks,
                                           const rtw_ws_handshake_server_settings *settings,
                                           const rtw_mem *mem, void *user_data);

/**
 * @brief Free the object, its request, response and every span the accessors returned. No
 * callback fires.
 * @param hs the object, or NULL (then nothing happens).
 */
RTW_EXPORT void rtw_ws_handshake_server_free(rtw_ws_handshake_server *hs);

/**
 * @brief The user_data given at creation.
 * @param hs the object, or NULL.
 * @return the pointer passed to rtw_ws_handshake_server_new() (not owned); NULL for NULL.
 */
RTW_EXPORT void *rtw_ws_handshake_server_user_data(const rtw_ws_handshake_server *hs);

/**
 * @brief Feed request bytes, in any pieces (the outcome is the same for every split). `in`
 * is only read. on_upgrade fires once, when a complete request passed every check.
 * @param hs the object.
 * @param in the bytes received (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread always set: bytes of this call that belong to the request head (after an
 *             error: the bytes examined, which depends on how the input was split). After
 *             #RTW_WS_HANDSHAKE_DONE, `in + nread` starts the client's first WebSocket frames
 *             (give them to rtw_ws_recv()); after #RTW_WS_HANDSHAKE_PLAIN_REQUEST it starts the
 *             request body, if any, or the next request.
 * @return #RTW_WS_HANDSHAKE_INCOMPLETE (nread == len);
 *         #RTW_WS_HANDSHAKE_DONE (write the response, then run the session);
 *         #RTW_WS_HANDSHAKE_PLAIN_REQUEST (not an upgrade: answer it yourself);
 *         or a negative code, after which an error response is ready (write it, then close
 *         the connection):
 *         #RTW_ERR_HTTP_MALFORMED (400), #RTW_ERR_HTTP_HEAD_TOO_LARGE (431),
 *         #RTW_ERR_HTTP_TOO_MANY_HEADERS (431), #RTW_ERR_HTTP_BAD_METHOD (400, an upgrade
 *         that is not GET), #RTW_ERR_HTTP_BAD_VERSION (400, older than HTTP/1.1),
 *         #RTW_ERR_HTTP_NO_HOST (400), #RTW_ERR_HTTP_WS_NO_UPGRADE (400),
 *         #RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE (400), #RTW_ERR_HTTP_WS_BAD_VERSION (426 with
 *         `Sec-WebSocket-Version: 13`), #RTW_ERR_HTTP_WS_BAD_KEY (400),
 *         #RTW_ERR_HTTP_UNEXPECTED_BODY (400), #RTW_ERR_HTTP_REJECTED (the status on_upgrade
 *         returned), #RTW_ERR_CALLBACK_FAILURE (500);
 *         #RTW_ERR_NOMEM (no response may be available); #RTW_ERR_INVALID_ARGUMENT.
 *         Outcomes are sticky: later calls return the same with nread 0, until
 *         rtw_ws_handshake_server_reset().
 */
RTW_EXPORT int rtw_ws_handshake_server_recv(rtw_ws_handshake_server *hs, const void *in,
                                            size_t len, size_t *nread);

/**
 * @brief Forget the request and response and expect a new request on the same connection
 * (HTTP/1.1 persistent connections: after answering a plain request yourself). Spans from
 * the accessors and the response become invalid.
 * @param hs the object.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL hs, or called from on_upgrade).
 */
RTW_EXPORT int rtw_ws_handshake_server_reset(rtw_ws_handshake_server *hs);

/**
 * @brief The response to write, once rtw_ws_handshake_server_recv() returned
 * #RTW_WS_HANDSHAKE_DONE or an error with a response.
 * @param hs the object.
 * @param[out] data points into the object, valid until reset or free.
 * @param[out] len bytes at *data (0 when there is no response).
 * @return 0; #RTW_ERR_INVALID_STATE (no response: incomplete, plain request, or out of
 *         memory while building it); #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_ws_handshake_server_response(const rtw_ws_handshake_server *hs,
                                                const void **data, size_t *len);

/**
 * @brief The status code of the response built.
 * @param hs the object, or NULL.
 * @return 101, 400, 426, ...; 0 when no response was built (and for NULL).
 */
RTW_EXPORT int rtw_ws_handshake_server_status(const rtw_ws_handshake_server *hs);

/**
 * @brief The plain request as an SSE request: a read-only view of the head the handshake
 * server parsed, so that every rtw_sse_http_request_* accessor (rtw_sse_http_request_path(),
 * _query(), _last_event_id(), _header(), _accepts(), _chunked(), _resume(), _version(),
 * _outcome()) works on it without parsing the head again and without keeping a copy of it.
 *
 * The view behaves as a standalone rtw_sse_http_request that was fed the same bytes:
 * rtw_sse_http_request_outcome() gives what rtw_sse_http_request_recv() would have returned
 * (#RTW_SSE_HTTP_DONE for a valid SSE request; #RTW_ERR_HTTP_BAD_METHOD,
 * #RTW_ERR_HTTP_NO_HOST, #RTW_ERR_HTTP_UNEXPECTED_BODY or
 * #RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID otherwise, and the accessors then return
 * #RTW_ERR_INVALID_ARGUMENT as they would). The method, path and fields of any plain request
 * stay available through the rtw_ws_handshake_server_* accessors.
 *
 * Lifetime: the view belongs to `hs`. It is valid until rtw_ws_handshake_server_reset() or
 * rtw_ws_handshake_server_free(); do not free it (rtw_sse_http_request_free() on it does
 * nothing) and do not feed it (rtw_sse_http_request_recv() on it returns
 * #RTW_ERR_INVALID_ARGUMENT).
 * @param hs the object, or NULL.
 * @return the view after rtw_ws_handshake_server_recv() returned
 *         #RTW_WS_HANDSHAKE_PLAIN_REQUEST; NULL otherwise (no complete plain request: still
 *         incomplete, an upgrade, an error, after a reset, or NULL hs).
 */
RTW_EXPORT const rtw_sse_http_request *rtw_ws_handshake_server_plain_request(
    const rtw_ws_handshake_server *hs);

/**
 * @name Request accessors
 * Valid inside on_upgrade and after rtw_ws_handshake_server_recv() returned
 * #RTW_WS_HANDSHAKE_DONE, #RTW_WS_HANDSHAKE_PLAIN_REQUEST or an error other than
 * #RTW_ERR_HTTP_MALFORMED, #RTW_ERR_HTTP_HEAD_TOO_LARGE, #RTW_ERR_HTTP_TOO_MANY_HEADERS and
 * #RTW_ERR_NOMEM (the head was complete). Returned pointers are valid until reset or free.
 * Each returns 1 when the item exists, 0 when not (or before the head is complete; the
 * outputs are then an empty span), #RTW_ERR_INVALID_ARGUMENT for NULL arguments.
 */
/**@{*/
/**
 * @brief The method, e.g. "GET".
 * @param hs the object.
 * @param[out] method the method token.
 * @param[out] len bytes at *method.
 * @return 1; 0 before the head is complete; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_method(const rtw_ws_handshake_server *hs,
                                              const char **method, size_t *len);
/**
 * @brief The path: the request-target up to '?' (as sent, not percent-decoded). For an
 * absolute-form target (`ws://host/p`), the part from the first '/' after the authority.
 * @param hs the object.
 * @param[out] path the path.
 * @param[out] len bytes at *path.
 * @return 1; 0 before the head is complete; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_path(const rtw_ws_handshake_server *hs,
                                            const char **path, size_t *len);
/**
 * @brief The query: what follows the first '?' of the request-target.
 * @param hs the object.
 * @param[out] query the query, without the '?'.
 * @param[out] len bytes at *query.
 * @return 1 when the target has a '?' (the query may be empty); 0 when not;
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_query(const rtw_ws_handshake_server *hs,
                                             const char **query, size_t *len);
/**
 * @brief The `Origin` value (RFC 6455 10.2: check it to refuse foreign pages).
 * @param hs the object.
 * @param[out] origin the first `Origin` field's value, trimmed.
 * @param[out] len bytes at *origin.
 * @return 1 when present; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_origin(const rtw_ws_handshake_server *hs,
                                              const char **origin, size_t *len);
/**
 * @brief The request's HTTP version (RFC 9112 2.3), e.g. 1 and 1 for HTTP/1.1.
 * @param hs the object.
 * @param[out] major the major version (0 before the head is complete).
 * @param[out] minor the minor version (0 before the head is complete).
 * @return 1; 0 before the head is complete; #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_ws_handshake_server_version(const rtw_ws_handshake_server *hs, int *major,
                                               int *minor);
/**
 * @brief The `index`-th (0-based) field line whose name equals `name` case-insensitively,
 * its value trimmed of surrounding whitespace. Repeated fields are separate lines.
 * @param hs the object.
 * @param name the field name to look for; only read.
 * @param name_len bytes at name.
 * @param index which of the lines with that name (0 for the first).
 * @param[out] value the value.
 * @param[out] value_len bytes at *value.
 * @return 1 when found; 0 when not; #RTW_ERR_INVALID_ARGUMENT (NULL hs, name, value or
 *         value_len).
 */
RTW_EXPORT int rtw_ws_handshake_server_header(const rtw_ws_handshake_server *hs,
                                              const char *name, size_t name_len, size_t index,
                                              const char **value, size_t *value_len);
/**
 * @brief Number of field lines in the request.
 * @param hs the object, or NULL.
 * @return the count; 0 before the head is complete (and for NULL).
 */
RTW_EXPORT size_t rtw_ws_handshake_server_header_count(const rtw_ws_handshake_server *hs);
/**
 * @brief The `index`-th field line in order of arrival, name as sent.
 * @param hs the object.
 * @param index 0 to rtw_ws_handshake_server_header_count() - 1.
 * @param[out] name the field name.
 * @param[out] name_len bytes at *name.
 * @param[out] value the value, trimmed.
 * @param[out] value_len bytes at *value.
 * @return 1; 0 when index is out of range or the head is not complete (empty spans);
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_header_at(const rtw_ws_handshake_server *hs,
                                                 size_t index, const char **name,
                                                 size_t *name_len, const char **value,
                                                 size_t *value_len);
/**
 * @brief Number of subprotocols offered: elements of every `Sec-WebSocket-Protocol` line.
 * @param hs the object, or NULL.
 * @return the count; 0 before the head is complete (and for NULL).
 */
RTW_EXPORT size_t rtw_ws_handshake_server_subprotocol_count(const rtw_ws_handshake_server *hs);
/**
 * @brief The `index`-th subprotocol offered, in the client's order of preference.
 * @param hs the object.
 * @param index 0 to rtw_ws_handshake_server_subprotocol_count() - 1.
 * @param[out] name the subprotocol token.
 * @param[out] len bytes at *name.
 * @return 1; 0 when index is out of range; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_subprotocol(const rtw_ws_handshake_server *hs,
                                                   size_t index, const char **name,
                                                   size_t *len);
/**
 * @brief Number of extension offers: elements of every `Sec-WebSocket-Extensions` line.
 * @param hs the object, or NULL.
 * @return the count; 0 before the head is complete (and for NULL).
 */
RTW_EXPORT size_t rtw_ws_handshake_server_extension_count(const rtw_ws_handshake_server *hs);
/**
 * @brief The `index`-th extension offer with its parameters, e.g.
 * "permessage-deflate; client_max_window_bits".
 * @param hs the object.
 * @param index 0 to rtw_ws_handshake_server_extension_count() - 1.
 * @param[out] offer the offer.
 * @param[out] len bytes at *offer.
 * @return 1; 0 when index is out of range; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_extension(const rtw_ws_handshake_server *hs,
                                                 size_t index, const char **offer,
                                                 size_t *len);
/**@}*/

/**
 * @name Decisions, only inside on_upgrade
 * Each returns 0; #RTW_ERR_INVALID_STATE outside on_upgrade; #RTW_ERR_INVALID_ARGUMENT; or
 * #RTW_ERR_NOMEM. Strings are copied.
 */
/**@{*/
/**
 * @brief Choose the subprotocol for `Sec-WebSocket-Protocol` in the 101 response (RFC 6455
 * 4.2.2: at most one, from those offered). A later call replaces the choice; len 0 clears it.
 * @param hs the object (the one on_upgrade received).
 * @param name the subprotocol, compared exactly with the offered ones; copied.
 * @param len bytes at name; 0 clears the choice.
 * @return 0; #RTW_ERR_INVALID_STATE; #RTW_ERR_INVALID_ARGUMENT; #RTW_ERR_NOMEM; also
 *         #RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED (nothing chosen).
 */
RTW_EXPORT int rtw_ws_handshake_server_select_subprotocol(rtw_ws_handshake_server *hs,
                                                          const char *name, size_t len);
/**
 * @brief Set the `Sec-WebSocket-Extensions` value of the 101 response (the extensions the
 * server accepts, with their parameters). Every extension named must have been offered.
 * A later call replaces it; len 0 clears it.
 * @param hs the object (the one on_upgrade received).
 * @param value the header value; copied.
 * @param len bytes at value; 0 clears it.
 * @return 0; #RTW_ERR_INVALID_STATE; #RTW_ERR_INVALID_ARGUMENT; #RTW_ERR_NOMEM; also
 *         #RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED; #RTW_ERR_HTTP_INVALID_HEADER (a control
 *         character in value). On error the previous value is cleared.
 */
RTW_EXPORT int rtw_ws_handshake_server_set_extensions(rtw_ws_handshake_server *hs,
                                                      const char *value, size_t len);
/**
 * @brief Negotiate permessage-deflate (RFC 7692 5, 7.1): go through the client's
 * `permessage-deflate` offers in order, parse each strictly (rtw_ws_deflate_parse(): an offer
 * with an unknown, repeated or malformed parameter is declined), accept the first one
 * rtw_ws_deflate_accept() accepts under `config`, and set the 101 response's
 * `Sec-WebSocket-Extensions` to the answer (replacing what
 * rtw_ws_handshake_server_set_extensions() set). Pass `negotiated` to rtw_ws_set_deflate()
 * on the session.
 * @param hs the object (the one on_upgrade received).
 * @param config the policy, or NULL for the defaults.
 * @param[out] negotiated the answer's parameters when accepted (zeroed otherwise).
 * @return 1 accepted; 0 no acceptable offer (no extension in the response);
 *         #RTW_ERR_INVALID_STATE (outside on_upgrade); #RTW_ERR_INVALID_ARGUMENT (NULL hs or
 *         negotiated, a bad config); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_ws_handshake_server_accept_deflate(rtw_ws_handshake_server *hs,
                                                      const rtw_ws_deflate_config *config,
                                                      rtw_ws_deflate_params *negotiated);
/**
 * @brief Add a field line to the response, accepted or rejected (e.g. `Set-Cookie`,
 * `WWW-Authenticate`, `Location`). Fields the handshake writes itself (Connection, Upgrade,
 * Content-Length, Content-Type, Transfer-Encoding, Sec-WebSocket-*) are refused.
 * @param hs the object (the one on_upgrade received).
 * @param name the field name; copied.
 * @param name_len bytes at name.
 * @param value the field value; copied.
 * @param value_len bytes at value.
 * @return 0; #RTW_ERR_INVALID_STATE; #RTW_ERR_INVALID_ARGUMENT; #RTW_ERR_NOMEM; also
 *         #RTW_ERR_HTTP_INVALID_HEADER (name not a token, value with CR, LF, NUL or another
 *         control character, or a reserved name).
 */
RTW_EXPORT int rtw_ws_handshake_server_add_header(rtw_ws_handshake_server *hs,
                                                  const char *name, size_t name_len,
                                                  const char *value, size_t value_len);
/**@}*/

/* ====================================================================== client */

/** @brief The client side of the opening handshake for one connection. Opaque. */
typedef struct rtw_ws_handshake_client rtw_ws_handshake_client;

/** @brief The rtw_ws_handshake_client_settings layout this header declares. */
#define RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION 1u

/**
 * @brief What the client asks for, and its limits. Zero (NULL, 0) in any member means its
 * default. Initialise with
 * `rtw_ws_handshake_client_settings s = {.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};`.
 * Every string is copied into the request by rtw_ws_handshake_client_new(); none needs to
 * outlive that call.
 */
typedef struct rtw_ws_handshake_client_settings {
  uint32_t version; /**< #RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION (or older) */
  /** Most field lines in the response. Default #RTW_HTTP_DEFAULT_MAX_HEADERS. */
  uint32_t max_headers;
  /** Most bytes of the response head. Default #RTW_HTTP_DEFAULT_MAX_HEAD_SIZE. */
  size_t max_head_size;
  /** `Host` value, e.g. "example.com:8080" (RFC 9112 3.2). Required. */
  const char *host;
  size_t host_len; /**< bytes at host */
  /** Request-target in origin form, starting with '/', query included. Default "/". */
  const char *path;
  size_t path_len; /**< bytes at path */
  /** `Origin` value (browsers send one; RFC 6455 4.1 item 8). Default: none. */
  const char *origin;
  size_t origin_len; /**< bytes at origin */
  /** Subprotocols offered, a comma-separated list of tokens in order of preference
   * ("chat, superchat"), sent as `Sec-WebSocket-Protocol`. Default: none. */
  const char *subprotocols;
  size_t subprotocols_len; /**< bytes at subprotocols */
  /** Extension offers, the `Sec-WebSocket-Extensions` value ("permessage-deflate;
   * client_max_window_bits"). Default: none. */
  const char *extensions;
  size_t extensions_len; /**< bytes at extensions */
  /** Extra field lines (e.g. `Authorization`, `Cookie`, `User-Agent`). Names the handshake
   * writes itself (Host, Connection, Upgrade, Sec-WebSocket-*) are refused. */
  const rtw_http_header *headers;
  size_t num_headers; /**< elements at headers */
} rtw_ws_handshake_client_settings;

/** @brief The rtw_ws_handshake_client_callbacks layout this header declares. */
#define RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION 1u

/**
 * @brief Client callbacks. Any member may be NULL. Initialise with
 * `rtw_ws_handshake_client_callbacks cb = {.version = RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};`.
 */
typedef struct rtw_ws_handshake_client_callbacks {
  uint32_t version; /**< #RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION (or older) */
  /** Fill `len` random bytes (the 16-byte nonce of `Sec-WebSocket-Key`, RFC 6455 4.1 item
   * 7: "randomly selected"). Return 0, or a negative value on failure. When NULL, the
   * library's crypto seam (the operating system's CSPRNG) provides them. Called during
   * rtw_ws_handshake_client_new(), where `hs` is not yet returned to the caller: use
   * user_data only. */
  int (*random)(rtw_ws_handshake_client *hs, void *buf, size_t len, void *user_data);
} rtw_ws_handshake_client_callbacks;

/**
 * @brief Create a client handshake and build its request (see
 * rtw_ws_handshake_client_request()).
 * @param[out] hs the new object (NULL on failure).
 * The random callback fires once, during this call.
 * @param callbacks, settings copied; settings is required (it carries the host).
 * @param mem allocator hooks, copied; NULL for the C library.
 * @param user_data passed to callbacks, see rtw_ws_handshake_client_user_data().
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL, unknown struct version, no host, a host or
 *         origin with control characters or spaces, a path not starting with '/' or with
 *         spaces or control characters, a subprotocol that is not a token or is listed
 *         twice); #RTW_ERR_HTTP_INVALID_HEADER (an extra header or the extensions value
 *         not allowed); #RTW_ERR_CALLBACK_FAILURE (random failed); #RTW_ERR_UNSUPPORTED
 *         (the default RNG failed); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_ws_handshake_client_new(rtw_ws_handshake_client **hs,
                                           const rtw_ws_handshake_client_callbacks *callbacks,
                                           const rtw_ws_handshake_client_settings *settings,
                                           const rtw_mem *mem, void *user_data);

/**
 * @brief Free the object, its request and every span the accessors returned.
 * @param hs the object, or NULL (then nothing happens).
 */
RTW_EXPORT void rtw_ws_handshake_client_free(rtw_ws_handshake_client *hs);

/**
 * @brief The user_data given at creation.
 * @param hs the object, or NULL.
 * @return the pointer passed to rtw_ws_handshake_client_new() (not owned); NULL for NULL.
 */
RTW_EXPORT void *rtw_ws_handshake_client_user_data(const rtw_ws_handshake_client *hs);

/**
 * @brief The request to write: the whole HTTP head, ready for the transport.
 * @param hs the object.
 * @param[out] data points into the object, valid until free.
 * @param[out] len bytes at *data.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_ws_handshake_client_request(const rtw_ws_handshake_client *hs,
                                               const void **data, size_t *len);

/**
 * @brief Feed response bytes, in any pieces (the outcome is the same for every split). No
 * callback fires. Interim responses (1xx other than 101, such as 100 or 103 Early Hints)
 * before the final one are parsed and skipped (RFC 9110 15.2), each within the head limits.
 * @param hs the object.
 * @param in the bytes received, only read (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread always set: bytes of this call that belong to the response head (after
 *             an error: the bytes examined, which depends on how the input was split). After
 *             #RTW_WS_HANDSHAKE_DONE, `in + nread` starts the server's first WebSocket frames.
 * @return #RTW_WS_HANDSHAKE_INCOMPLETE; #RTW_WS_HANDSHAKE_DONE; or, the connection having
 *         failed (RFC 6455 4.1: "_Fail the WebSocket Connection_"):
 *         #RTW_ERR_HTTP_MALFORMED, #RTW_ERR_HTTP_HEAD_TOO_LARGE,
 *         #RTW_ERR_HTTP_TOO_MANY_HEADERS, #RTW_ERR_HTTP_BAD_VERSION (older than HTTP/1.1),
 *         #RTW_ERR_HTTP_WS_BAD_STATUS (not 101: see rtw_ws_handshake_client_status() and
 *         the headers, e.g. `Location`), #RTW_ERR_HTTP_WS_NO_UPGRADE,
 *         #RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE, #RTW_ERR_HTTP_WS_BAD_ACCEPT (missing,
 *         repeated or not the value for our key), #RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED
 *         (a subprotocol we did not offer, or more than one),
 *         #RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED, #RTW_ERR_NOMEM,
 *         #RTW_ERR_INVALID_ARGUMENT. Sticky: later calls return the same with nread 0.
 */
RTW_EXPORT int rtw_ws_handshake_client_recv(rtw_ws_handshake_client *hs, const void *in,
                                            size_t len, size_t *nread);

/**
 * @brief The response status code.
 * @param hs the object, or NULL.
 * @return the status; 0 until the head is complete (and for NULL).
 */
RTW_EXPORT int rtw_ws_handshake_client_status(const rtw_ws_handshake_client *hs);

/**
 * @name Response accessors
 * Valid once the response head is complete (after rtw_ws_handshake_client_recv() returned
 * #RTW_WS_HANDSHAKE_DONE or an error other than the parse, limit and memory errors); the
 * pointers stay valid until free. Return 1 when the item exists, 0 when not (outputs then an
 * empty span), #RTW_ERR_INVALID_ARGUMENT.
 */
/**@{*/
/**
 * @brief The subprotocol the server chose (`Sec-WebSocket-Protocol`), if any.
 * @param hs the object.
 * @param[out] name the subprotocol.
 * @param[out] len bytes at *name.
 * @return 1 when the server chose one; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_client_subprotocol(const rtw_ws_handshake_client *hs,
                                                   const char **name, size_t *len);
/**
 * @brief Number of extensions the server accepted (`Sec-WebSocket-Extensions` elements).
 * @param hs the object, or NULL.
 * @return the count; 0 before the head is complete (and for NULL).
 */
RTW_EXPORT size_t rtw_ws_handshake_client_extension_count(const rtw_ws_handshake_client *hs);
/**
 * @brief The `index`-th extension the server accepted, with its parameters.
 * @param hs the object.
 * @param index 0 to rtw_ws_handshake_client_extension_count() - 1.
 * @param[out] ext the extension.
 * @param[out] len bytes at *ext.
 * @return 1; 0 when index is out of range or the head is not complete;
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_client_extension(const rtw_ws_handshake_client *hs,
                                                 size_t index, const char **ext,
                                                 size_t *len);
/**
 * @brief After a successful handshake: whether the server accepted the permessage-deflate
 * offer made from `config` (rtw_ws_deflate_offer() gives the settings' `extensions` value),
 * checked strictly (rtw_ws_deflate_parse() from the server, then
 * rtw_ws_deflate_check_response()). Pass `negotiated` to rtw_ws_set_deflate() on the
 * session; on 0 pass NULL (it closes with 1010 under #RTW_WS_DEFLATE_REQUIRED).
 * @param hs the object, its handshake complete.
 * @param config the policy the offer was made from, or NULL for the defaults.
 * @param[out] negotiated the response's parameters when negotiated (zeroed otherwise).
 * @return 1 negotiated; 0 the response has no permessage-deflate; #RTW_ERR_WS_DEFLATE_PARAM
 *         (the response is malformed, repeats the extension, or answers what we did not
 *         offer: RFC 7692 says the client must _Fail the WebSocket Connection_; a host may
 *         create the session and close it with 1010, or drop the transport);
 *         #RTW_ERR_INVALID_STATE (the handshake is not complete); #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_client_deflate(const rtw_ws_handshake_client *hs,
                                               const rtw_ws_deflate_config *config,
                                               rtw_ws_deflate_params *negotiated);
/**
 * @brief The `index`-th response field line named `name` (case-insensitive).
 * @param hs the object.
 * @param name the field name; only read.
 * @param name_len bytes at name.
 * @param index which of the lines with that name (0 for the first).
 * @param[out] value the value, trimmed.
 * @param[out] value_len bytes at *value.
 * @return 1 when found; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_client_header(const rtw_ws_handshake_client *hs,
                                              const char *name, size_t name_len, size_t index,
                                              const char **value, size_t *value_len);
/**@}*/

/* ====================================================================== SSE over HTTP/1.1 */
/*
 * Server-Sent Events over HTTP/1.1 (WHATWG HTML 9.2; RFC 9110, RFC 9112), sans-I/O. See
 * docs/sse-http.md for the server flow (replay, heartbeats) and the client reconnection loop.
 *
 * - Server: rtw_sse_http_request parses the GET request (path, `Accept`, `Last-Event-ID`),
 *   rtw_sse_http_request_resume() finds where an #rtw_sse_history resumes, and
 *   rtw_sse_http_response() / rtw_sse_http_chunk() build the bytes to write.
 * - Client: rtw_sse_http_client builds the request and processes the response as WHATWG
 *   9.2.2 "processResponse" says, feeding the decoded body to the host's #rtw_sse_parser.
 * - rtw_sse_reconnect: when to reconnect (server `retry`, exponential backoff with full
 *   jitter, a cap, reset after a stable connection). No clock inside: the host passes `now`.
 */

/** @name Outcomes of rtw_sse_http_request_recv() and rtw_sse_http_client_recv() */
/**@{*/
/** All input was consumed; feed more (or, for a client with an open stream, keep reading). */
#define RTW_SSE_HTTP_INCOMPLETE 0
/** Server: the request head is complete and valid. Client: the response opened the stream
 * (200 and `text/event-stream`); call rtw_sse_http_client_recv() again with the bytes after
 * `nread`, which are body. */
#define RTW_SSE_HTTP_DONE 1
/** Client: the body ended (last chunk, Content-Length reached, or rtw_sse_http_client_end()
 * on a close-delimited body). WHATWG 9.2.2: reestablish the connection. */
#define RTW_SSE_HTTP_END 2
/** Client: status 204. WHATWG 9.2.2: fail the connection; the server asks the client to stop
 * reconnecting. */
#define RTW_SSE_HTTP_NO_CONTENT 3
/** Client: a redirect (301, 302, 303, 307, 308) with a `Location`
 * (rtw_sse_http_client_location()). Fetch follows it: the host makes a new request there. */
#define RTW_SSE_HTTP_REDIRECT 4
/**@}*/

/* ---------------------------------------------------------------------- server */

/** @brief The rtw_sse_http_request_settings layout this header declares. */
#define RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION 1u

/** @brief Request limits; zero means the default. Initialise with
 * `rtw_sse_http_request_settings s = {.version = RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION};`. */
typedef struct rtw_sse_http_request_settings {
  uint32_t version; /**< #RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION (or older) */
  /** Most field lines in the request. Default #RTW_HTTP_DEFAULT_MAX_HEADERS. */
  uint32_t max_headers;
  /** Most bytes of the request head. Default #RTW_HTTP_DEFAULT_MAX_HEAD_SIZE. */
  size_t max_head_size;
} rtw_sse_http_request_settings;

/**
 * @brief Create a request parser.
 * @param[out] req the new object (NULL on failure).
 * @param settings copied; NULL for defaults.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL req, unknown version, incomplete mem);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_http_request_new(rtw_sse_http_request **req,
                                        const rtw_sse_http_request_settings *settings,
                                        const rtw_mem *mem);

/**
 * @brief Free the object and every span the accessors returned.
 * @param req the object, or NULL (then nothing happens). A view from
 *        rtw_ws_handshake_server_plain_request() is not freed here (nothing happens): it
 *        belongs to its handshake server.
 */
RTW_EXPORT void rtw_sse_http_request_free(rtw_sse_http_request *req);

/**
 * @brief Feed request bytes, in any pieces (the outcome is the same for every split).
 * @param req the object.
 * @param in the bytes received, only read (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread always set: bytes of this call that belong to the request head.
 * @return #RTW_SSE_HTTP_INCOMPLETE; #RTW_SSE_HTTP_DONE (accessors valid); or a sticky error:
 *         #RTW_ERR_HTTP_MALFORMED, #RTW_ERR_HTTP_HEAD_TOO_LARGE (answer 431),
 *         #RTW_ERR_HTTP_TOO_MANY_HEADERS (431), #RTW_ERR_HTTP_BAD_METHOD (not GET: answer
 *         405), #RTW_ERR_HTTP_NO_HOST (HTTP/1.1 without exactly one Host, RFC 9112 3.2: 400),
 *         #RTW_ERR_HTTP_UNEXPECTED_BODY (a GET with a body: 400),
 *         #RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID (repeated, or with CR, LF or NUL, WHATWG
 *         9.2.4: 400), #RTW_ERR_NOMEM, #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_recv(rtw_sse_http_request *req, const void *in,
                                         size_t len, size_t *nread);

/**
 * @brief The outcome of the request so far: what rtw_sse_http_request_recv() last returned
 * (sticky), or for a view (rtw_ws_handshake_server_plain_request()) what it would have
 * returned for that head.
 * @param req the object.
 * @return #RTW_SSE_HTTP_INCOMPLETE; #RTW_SSE_HTTP_DONE (accessors valid); one of the errors
 *         of rtw_sse_http_request_recv(); #RTW_ERR_INVALID_ARGUMENT (NULL req).
 */
RTW_EXPORT int rtw_sse_http_request_outcome(const rtw_sse_http_request *req);

/**
 * @name Request accessors
 * Valid after #RTW_SSE_HTTP_DONE; spans point into the object (for a view: into its handshake
 * server), valid until free (for a view: until the server's reset or free). Return 1
 * when the item exists, 0 when not (an empty span), #RTW_ERR_INVALID_ARGUMENT (NULL, or
 * the head is not complete).
 */
/**@{*/
/**
 * @brief The request-target's path (before any '?'). For an absolute-form target
 * (`http://host/p`, which a server must accept, RFC 9112 3.2.2), the part from the first '/'
 * after the authority (empty for `http://host?q`).
 * @param req the object.
 * @param[out] path the path, as sent.
 * @param[out] len bytes at *path.
 * @return 1; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_path(const rtw_sse_http_request *req, const char **path,
                                         size_t *len);
/**
 * @brief The query (after '?', without it), if any.
 * @param req the object.
 * @param[out] query the query.
 * @param[out] len bytes at *query.
 * @return 1 when the target has a '?'; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_query(const rtw_sse_http_request *req, const char **query,
                                          size_t *len);
/**
 * @brief The `Last-Event-ID` value (OWS trimmed), if present and non-empty.
 * @param req the object.
 * @param[out] id the value.
 * @param[out] len bytes at *id.
 * @return 1 when present and non-empty; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_last_event_id(const rtw_sse_http_request *req,
                                                  const char **id, size_t *len);
/**
 * @brief The `index`-th field line named `name` (case-insensitive).
 * @param req the object.
 * @param name the field name; only read.
 * @param name_len bytes at name.
 * @param index which of the lines with that name (0 for the first).
 * @param[out] value the value, trimmed.
 * @param[out] value_len bytes at *value.
 * @return 1 when found; 0 when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_header(const rtw_sse_http_request *req, const char *name,
                                           size_t name_len, size_t index, const char **value,
                                           size_t *value_len);
/**@}*/

/**
 * @brief Whether the request accepts `text/event-stream` (RFC 9110 12.5.1): 1 when `Accept`
 * is absent or lists `text/event-stream`, any `text` subtype or any type (the wildcards),
 * with a non-zero q; 0 otherwise (the host may answer 406 or serve anyway: browsers always
 * send it).
 * @param req the object, after #RTW_SSE_HTTP_DONE.
 * @return 1, 0 as above; #RTW_ERR_INVALID_ARGUMENT (NULL or not complete).
 */
RTW_EXPORT int rtw_sse_http_request_accepts(const rtw_sse_http_request *req);

/**
 * @brief Whether the response should be chunked (#RTW_SSE_HTTP_RESPONSE_CHUNKED).
 * @param req the object, after #RTW_SSE_HTTP_DONE.
 * @return 1 for HTTP/1.1 or later (RFC 9112 7.1); 0 for HTTP/1.0 (close-delimited, RFC 9112
 *         6.3 item 8); #RTW_ERR_INVALID_ARGUMENT (NULL or not complete).
 */
RTW_EXPORT int rtw_sse_http_request_chunked(const rtw_sse_http_request *req);

/**
 * @brief The request's HTTP version (RFC 9112 2.3), e.g. 1 and 0 for HTTP/1.0 (whose response
 * is close-delimited, see rtw_sse_http_request_chunked()).
 * @param req the object, after #RTW_SSE_HTTP_DONE.
 * @param[out] major the major version.
 * @param[out] minor the minor version.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (a NULL argument or not complete; outputs untouched).
 */
RTW_EXPORT int rtw_sse_http_request_version(const rtw_sse_http_request *req, int *major,
                                            int *minor);

/**
 * @brief Where to resume a stream from the replay history, given the request's
 * `Last-Event-ID` (WHATWG 9.2.4).
 * @param req the object, after #RTW_SSE_HTTP_DONE.
 * @param history the server's history; only read during the call.
 * @param[out] seq the first sequence number to send (rtw_sse_history_get() from it up to
 *             rtw_sse_history_next_seq(), then live events). After a gap: the next sequence
 *             number (send a reset, e.g. a snapshot, then live events).
 * @return 0 resumed after the client's last event (no loss, no duplicate); 1 no
 *         `Last-Event-ID` (a new client: live events only); #RTW_ERR_SSE_HISTORY_GAP (the
 *         id is no longer, or never was, in the history); #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_request_resume(const rtw_sse_http_request *req,
                                           const rtw_sse_history *history, uint64_t *seq);

/** @brief rtw_sse_http_response() flag: `Transfer-Encoding: chunked` (HTTP/1.1); without it
 * the body is close-delimited and `Connection: close` is sent. */
#define RTW_SSE_HTTP_RESPONSE_CHUNKED 0x1u

/**
 * @brief Build the response head of an event stream:
 * `HTTP/1.1 200 OK`, `Content-Type: text/event-stream`, `Cache-Control: no-store`,
 * `X-Accel-Buffering: no` (stops nginx buffering the stream), then `Transfer-Encoding:
 * chunked` or `Connection: close`, the extra fields and the blank line.
 *
 * Size query: with buf NULL, sets *out_len to the exact size and returns 0.
 * @param buf destination or NULL; not NUL-terminated.
 * @param cap bytes at buf.
 * @param[out] out_len bytes written or needed (0 after an error other than too small).
 * @param flags 0 or #RTW_SSE_HTTP_RESPONSE_CHUNKED.
 * @param headers extra field lines (e.g. `Access-Control-Allow-Origin`); read during the
 *        call. Body framing fields, Content-Type and Cache-Control are refused.
 * @param num_headers elements at headers (headers may be NULL when 0).
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written); #RTW_ERR_HTTP_INVALID_HEADER;
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_response(char *buf, size_t cap, size_t *out_len, uint32_t flags,
                                     const rtw_http_header *headers, size_t num_headers);

/** @brief Most bytes rtw_sse_http_chunk() adds around the data: 16 hex digits and 2 CRLFs. */
#define RTW_SSE_HTTP_CHUNK_OVERHEAD 20u
/** @brief The last chunk that ends a chunked stream (RFC 9112 7.1), 5 bytes. */
#define RTW_SSE_HTTP_LAST_CHUNK "0\r\n\r\n"

/**
 * @brief Frame one write as a chunk (RFC 9112 7.1): `<hex length>\r\n<data>\r\n`. Call it for
 * each write of a chunked stream (e.g. around rtw_sse_write_event() output); end the stream
 * with #RTW_SSE_HTTP_LAST_CHUNK. Empty data writes nothing (*out_len 0): a zero-length
 * chunk would end the stream.
 * @param buf destination or NULL (size query); `buf` and `data` must not overlap.
 * @param cap bytes at buf.
 * @param[out] out_len bytes written or needed (0 for empty data and after an error other
 *             than too small).
 * @param data the bytes to frame; only read.
 * @param len bytes at data.
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written, *out_len = size needed);
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_chunk(char *buf, size_t cap, size_t *out_len, const void *data,
                                  size_t len);

/* ---------------------------------------------------------------------- client */

/** @brief The client side of one SSE connection attempt. Opaque. */
typedef struct rtw_sse_http_client rtw_sse_http_client;

/** @brief The rtw_sse_http_client_settings layout this header declares. */
#define RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION 1u

/**
 * @brief The request and limits. Zero (NULL, 0) means the default. Strings are copied by
 * rtw_sse_http_client_new(). Initialise with
 * `rtw_sse_http_client_settings s = {.version = RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};`.
 */
typedef struct rtw_sse_http_client_settings {
  uint32_t version; /**< #RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION (or older) */
  /** Most field lines in the response. Default #RTW_HTTP_DEFAULT_MAX_HEADERS. */
  uint32_t max_headers;
  /** Most bytes of the response head. Default #RTW_HTTP_DEFAULT_MAX_HEAD_SIZE. */
  size_t max_head_size;
  /** `Host` value (RFC 9112 3.2). Required. */
  const char *host;
  size_t host_len; /**< bytes at host */
  /** Request-target in origin form, starting with '/'. Default "/". */
  const char *path;
  size_t path_len; /**< bytes at path */
  /** The last event ID (rtw_sse_parser_last_event_id()), sent as `Last-Event-ID` when not
   * empty (WHATWG 9.2.3). No CR, LF or NUL. */
  const char *last_event_id;
  size_t last_event_id_len; /**< bytes at last_event_id */
  /** Extra field lines (`Authorization`, `Cookie`, ...). Host, Accept, Cache-Control,
   * Last-Event-ID, Connection, Upgrade and Sec-WebSocket-* are refused. */
  const rtw_http_header *headers;
  size_t num_headers; /**< elements at headers */
} rtw_sse_http_client_settings;

/**
 * @brief Create a client for one connection attempt and build its request:
 * `GET <path> HTTP/1.1`, `Host`, `Accept: text/event-stream`, `Cache-Control: no-store`
 * (WHATWG 9.2.2: cache mode "no-store"), `Last-Event-ID` when non-empty, the extra fields.
 * No callback fires.
 * @param[out] client the new object (NULL on failure).
 * @param settings the request and limits, required; copied (strings included).
 * @param parser the host's event-stream parser, which receives the decoded body. Not owned:
 *        it must outlive the client. Its callbacks' #RTW_ERR_PAUSE is not passed on (the
 *        client feeds the rest at once).
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL, unknown version, no host, host or path with
 *         spaces or controls, path not starting with '/'); #RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID
 *         (CR, LF or NUL in it); #RTW_ERR_HTTP_INVALID_HEADER (an extra header refused);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_http_client_new(rtw_sse_http_client **client,
                                       const rtw_sse_http_client_settings *settings,
                                       rtw_sse_parser *parser, const rtw_mem *mem);

/**
 * @brief Free the object (not the parser, which the host owns) and every span it returned.
 *
 * Called from one of the parser's callbacks while rtw_sse_http_client_recv() or
 * rtw_sse_http_client_end() is feeding it, the free is deferred: no more body goes to the
 * parser, and when the callback returns, that recv()/end() frees the client and returns
 * #RTW_ERR_CALLBACK_FAILURE. The handle is invalid from the free on either way: do not
 * use it or free it again.
 * @param client the object, or NULL (then nothing happens).
 */
RTW_EXPORT void rtw_sse_http_client_free(rtw_sse_http_client *client);

/**
 * @brief The request to write.
 * @param client the object.
 * @param[out] data points into the object, valid until free.
 * @param[out] len bytes at *data.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_sse_http_client_request(const rtw_sse_http_client *client,
                                           const void **data, size_t *len);

/**
 * @brief Feed bytes received on the connection, in any pieces.
 *
 * Interim responses (1xx other than 101, such as 103 Early Hints) are parsed and skipped
 * (RFC 9110 15.2), each within the head limits. Then the final response head, processed as
 * WHATWG 9.2.2 processResponse: status 200 with a `Content-Type` whose MIME type essence is
 * `text/event-stream` (parameters ignored, Fetch "extract a MIME type") opens the stream;
 * 204 returns #RTW_SSE_HTTP_NO_CONTENT; a redirect with `Location` returns
 * #RTW_SSE_HTTP_REDIRECT; any other status or type fails. Then the body (chunked,
 * Content-Length or close-delimited; RFC 9112 6.3) goes to the parser.
 * The parser's callbacks fire (rtw_sse_callbacks) as the body is decoded.
 *
 * Re-entrancy: from those callbacks the client's accessors may be read, but
 * rtw_sse_http_client_recv() and rtw_sse_http_client_end() return #RTW_ERR_REENTRANT and do
 * nothing (not sticky; *nread 0); rtw_sse_http_client_free() is deferred (see there).
 *
 * @param client the object.
 * @param in the bytes received, only read (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread always set: bytes used by this call. After #RTW_SSE_HTTP_DONE the rest
 *             (`in + nread`) is body: feed it again.
 * @return #RTW_SSE_HTTP_INCOMPLETE (all consumed); #RTW_SSE_HTTP_DONE (opened, once);
 *         #RTW_SSE_HTTP_END (body over: reconnect); #RTW_SSE_HTTP_NO_CONTENT (stop);
 *         #RTW_SSE_HTTP_REDIRECT; errors (fail the connection, do not reconnect):
 *         #RTW_ERR_HTTP_SSE_BAD_STATUS (see rtw_sse_http_client_status()),
 *         #RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE; errors of the connection (reconnect):
 *         #RTW_ERR_HTTP_MALFORMED, #RTW_ERR_HTTP_HEAD_TOO_LARGE,
 *         #RTW_ERR_HTTP_TOO_MANY_HEADERS; the parser's errors (#RTW_ERR_SSE_TYPE_TOO_LONG,
 *         ...); #RTW_ERR_NOMEM; #RTW_ERR_INVALID_ARGUMENT. Outcomes other than INCOMPLETE
 *         and DONE are sticky (later calls return them with nread 0).
 *         #RTW_ERR_REENTRANT (called from a parser callback: nothing done, not sticky);
 *         #RTW_ERR_CALLBACK_FAILURE (a callback freed the client: it is gone; *nread counts
 *         the bytes used up to the piece whose callback freed it).
 */
RTW_EXPORT int rtw_sse_http_client_recv(rtw_sse_http_client *client, const void *in,
                                        size_t len, size_t *nread);

/**
 * @brief The connection closed. Ends the parser's stream (rtw_sse_parser_end(): an
 * unfinished event is dropped; on_discard may fire).
 * @param client the object.
 * @return #RTW_SSE_HTTP_END (a close-delimited body ended, or the body had ended);
 *         #RTW_ERR_HTTP_TRUNCATED_BODY (the stream was open but its chunked or
 *         Content-Length body was cut short: still a reconnect, WHATWG 9.2.2);
 *         the sticky outcome if recv already returned one other than DONE;
 *         #RTW_ERR_HTTP_MALFORMED (the head never completed); the parser's error;
 *         #RTW_ERR_REENTRANT (called from a parser callback during recv() or end(): nothing
 *         done, not sticky); #RTW_ERR_CALLBACK_FAILURE (a callback freed the client during
 *         this call: it is gone); #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_client_end(rtw_sse_http_client *client);

/**
 * @brief The response status code.
 * @param client the object, or NULL.
 * @return the status; 0 until the head is complete (and for NULL).
 */
RTW_EXPORT int rtw_sse_http_client_status(const rtw_sse_http_client *client);

/**
 * @brief The `Location` of a redirect.
 * @param client the object.
 * @param[out] value a span into the object, valid until free.
 * @param[out] len bytes at *value.
 * @return 1 when present; 0 with an empty span when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_client_location(const rtw_sse_http_client *client,
                                            const char **value, size_t *len);

/**
 * @brief The `index`-th response field line named `name` (case-insensitive). Valid once the
 * head is complete; the span stays valid until free.
 * @param client the object.
 * @param name the field name; only read.
 * @param name_len bytes at name.
 * @param index which of the lines with that name (0 for the first).
 * @param[out] value the value, trimmed.
 * @param[out] value_len bytes at *value.
 * @return 1 when found; 0 (empty span) when not; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_http_client_header(const rtw_sse_http_client *client, const char *name,
                                          size_t name_len, size_t index, const char **value,
                                          size_t *value_len);

/**
 * @brief Whether `value` is a Content-Type whose MIME type essence is `text/event-stream`
 * (MIME Sniffing "parse a MIME type": HTTP whitespace trimmed, type and subtype tokens
 * compared case-insensitively, parameters ignored). For a single field value.
 * @param value the field value; only read (NULL gives 0).
 * @param len bytes at value.
 * @return 1 when it is; 0 otherwise.
 */
RTW_EXPORT int rtw_sse_http_is_event_stream(const char *value, size_t len);

/* ---------------------------------------------------------------------- reconnection */

/** @brief A reconnection policy (WHATWG 9.2.3 "reestablish the connection"). Opaque. */
typedef struct rtw_sse_reconnect rtw_sse_reconnect;

/** @brief Default reconnection time before any `retry` field: 3000 ms (WHATWG 9.2.2 leaves
 * it to the user agent, "probably in the region of a few seconds"). */
#define RTW_SSE_RECONNECT_DEFAULT_RETRY_MS 3000u
/** @brief Default first backoff window after a failed attempt: 1000 ms. */
#define RTW_SSE_RECONNECT_DEFAULT_BACKOFF_MS 1000u
/** @brief Default cap of the backoff window: 60000 ms. */
#define RTW_SSE_RECONNECT_DEFAULT_MAX_BACKOFF_MS 60000u
/** @brief Default uptime after which a connection counts as stable: 10000 ms. */
#define RTW_SSE_RECONNECT_DEFAULT_STABLE_MS 10000u

/** @brief The rtw_sse_reconnect_settings layout this header declares. */
#define RTW_SSE_RECONNECT_SETTINGS_VERSION 1u

/**
 * @brief Policy settings; zero means the default. Initialise with
 * `rtw_sse_reconnect_settings s = {.version = RTW_SSE_RECONNECT_SETTINGS_VERSION};`.
 *
 * The delay before attempt n+1 after n consecutive failed attempts (an attempt fails when it
 * does not open, or its connection stays up less than stable_ms) is
 * `retry + random[0, min(max_backoff_ms, backoff_ms * 2^(n-1))]` for n >= 1 ("full
 * jitter"), and exactly `retry` for n = 0 (WHATWG: wait the reconnection time, then
 * "optionally, wait some more", e.g. exponential backoff).
 */
typedef struct rtw_sse_reconnect_settings {
  uint32_t version; /**< #RTW_SSE_RECONNECT_SETTINGS_VERSION (or older) */
  /** Reconnection time until the server sends `retry`. Default
   * #RTW_SSE_RECONNECT_DEFAULT_RETRY_MS. */
  uint32_t retry_ms;
  /** Backoff window after the first failure. Default #RTW_SSE_RECONNECT_DEFAULT_BACKOFF_MS. */
  uint32_t backoff_ms;
  /** Cap of the backoff window. Default #RTW_SSE_RECONNECT_DEFAULT_MAX_BACKOFF_MS. */
  uint32_t max_backoff_ms;
  /** Uptime that resets the failure count. Default #RTW_SSE_RECONNECT_DEFAULT_STABLE_MS. */
  uint32_t stable_ms;
  /** Fill `len` random bytes; return 0 or negative. NULL: the library's CSPRNG. */
  int (*random)(void *buf, size_t len, void *user_data);
  /** Passed to random. */
  void *user_data;
} rtw_sse_reconnect_settings;

/**
 * @brief Create a policy. Initially idle: no attempt is due until rtw_sse_reconnect_closed().
 * @param[out] rc the new policy (NULL on failure).
 * @param settings copied; NULL for defaults. The random callback may fire in
 *        rtw_sse_reconnect_closed().
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL rc, unknown or zero version, incomplete mem);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_reconnect_new(rtw_sse_reconnect **rc,
                                     const rtw_sse_reconnect_settings *settings,
                                     const rtw_mem *mem);

/**
 * @brief Free the policy.
 * @param rc the policy, or NULL (then nothing happens).
 */
RTW_EXPORT void rtw_sse_reconnect_free(rtw_sse_reconnect *rc);

/**
 * @brief The server's `retry` (call from rtw_sse_callbacks::on_retry): the new
 * reconnection time.
 * @param rc the policy.
 * @param ms the reconnection time in milliseconds (0 is allowed).
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL rc).
 */
RTW_EXPORT int rtw_sse_reconnect_set_retry(rtw_sse_reconnect *rc, uint32_t ms);

/**
 * @brief The stream opened (#RTW_SSE_HTTP_DONE) at `now_ms`.
 * @param rc the policy.
 * @param now_ms any monotonic clock in milliseconds (the same in every call).
 * @return 0; #RTW_ERR_INVALID_STATE (stopped); #RTW_ERR_INVALID_ARGUMENT (NULL rc).
 */
RTW_EXPORT int rtw_sse_reconnect_opened(rtw_sse_reconnect *rc, uint64_t now_ms);

/**
 * @brief The attempt or connection ended at `now_ms` and the client should reconnect (a
 * network error, #RTW_SSE_HTTP_END, #RTW_ERR_HTTP_TRUNCATED_BODY): schedules the next
 * attempt. A connection opened at least stable_ms before resets the failure count;
 * anything else adds one failure. The random callback fires when the count is not zero.
 * @param rc the policy.
 * @param now_ms the same clock as rtw_sse_reconnect_opened().
 * @return 0; #RTW_ERR_INVALID_STATE (stopped); #RTW_ERR_CALLBACK_FAILURE (random failed);
 *         #RTW_ERR_UNSUPPORTED (the default RNG failed); #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_sse_reconnect_closed(rtw_sse_reconnect *rc, uint64_t now_ms);

/**
 * @brief Fail the connection for good (WHATWG 9.2.2: 204, another status, a wrong type):
 * no attempt is scheduled any more.
 * @param rc the policy.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL rc).
 */
RTW_EXPORT int rtw_sse_reconnect_stop(rtw_sse_reconnect *rc);

/**
 * @brief Milliseconds from `now_ms` until the next attempt is due (0: now).
 * @param rc the policy.
 * @param now_ms the same clock as rtw_sse_reconnect_closed().
 * @param[out] wait_ms the wait; 0 on error.
 * @return 0 with *wait_ms set; #RTW_ERR_INVALID_STATE when no attempt is scheduled (idle,
 *         open, or stopped); #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_sse_reconnect_next_attempt_ms(const rtw_sse_reconnect *rc, uint64_t now_ms,
                                                 uint64_t *wait_ms);

/**
 * @brief Consecutive failed attempts so far.
 * @param rc the policy, or NULL.
 * @return the count; 0 for NULL.
 */
RTW_EXPORT uint32_t rtw_sse_reconnect_failures(const rtw_sse_reconnect *rc);

/* ================================================================== SSE stream (server side) */
/*
 * One server-side event stream per subscriber: the response head, chunk framing, a cursor into
 * the shared replay history that pulls events only while under an output budget, a
 * slow-consumer policy, heartbeats and a send timeout. Sans-I/O like the other engines: bytes
 * out through want_write / send_pending / send_consumed, time through tick / next_deadline.
 * See docs/sse-http.md, "SSE stream (server side)", for a complete host loop.
 */

/** @brief A server-side SSE stream (one per subscriber). Opaque. */
typedef struct rtw_sse_stream rtw_sse_stream;

/** @brief Default rtw_sse_stream_settings::max_outbound: 256 KiB. */
#define RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND (256u * 1024u)
/** @brief Default rtw_sse_stream_settings::heartbeat_ms: 15000. */
#define RTW_SSE_STREAM_DEFAULT_HEARTBEAT_MS 15000u
/** @brief Most bytes of output buffer a stream keeps once everything queued was written
 * (rtw_sse_stream_send_consumed() frees a larger buffer): 4 KiB. */
#define RTW_SSE_STREAM_IDLE_BUFFER 4096u
/** @brief Most bytes a stream queues beyond its budget when it ends or fails: the closing
 * comment of a dropped slow consumer and the last chunk (64). */
#define RTW_SSE_STREAM_TAIL_MAX 64u
/** @brief How long a failed stream keeps its closing bytes for a peer that does not read
 * them when send_timeout_ms is 0 (with a send timeout, that is used): 5000 ms from the last
 * progress. Then rtw_sse_stream_tick() drops them and rtw_sse_stream_done() turns 1. */
#define RTW_SSE_STREAM_FAIL_LINGER_MS 5000u

/** @brief rtw_sse_stream_settings::flags: send no heartbeats. */
#define RTW_SSE_STREAM_FLAG_NO_HEARTBEAT 0x1u

/** @name Slow-consumer policies (rtw_sse_stream_settings::slow_policy)
 * What happens when the history evicted events at the stream's cursor before they were sent
 * (the subscriber fell behind by more than the history holds). */
/**@{*/
/** Fail the stream with #RTW_ERR_SSE_SLOW_CONSUMER after queuing the comment
 * `: rtweb: dropped, slow consumer` and the last chunk: the client reconnects with its
 * `Last-Event-ID` and the host decides again (the default). */
#define RTW_SSE_STREAM_SLOW_DROP 0u
/** Keep the subscriber: on_gap fires (#RTW_SSE_STREAM_GAP_SLOW) and the cursor jumps to the
 * oldest retained event. */
#define RTW_SSE_STREAM_SLOW_HOLD 1u
/**@}*/

/** @name Reasons passed to rtw_sse_stream_callbacks::on_gap */
/**@{*/
/** At creation: the request's `Last-Event-ID` is not in the history (evicted or unknown), or
 * there is no history. The cursor is at the history's next sequence number: live events. */
#define RTW_SSE_STREAM_GAP_RESUME 1u
/** Later, under #RTW_SSE_STREAM_SLOW_HOLD: events at the cursor were evicted before they were
 * sent. The cursor is at the oldest retained event. */
#define RTW_SSE_STREAM_GAP_SLOW 2u
/**@}*/

/** @brief The rtw_sse_stream_settings layout this header declares. */
#define RTW_SSE_STREAM_SETTINGS_VERSION 1u

/**
 * @brief Stream settings; zero means the default. Initialise with
 * `rtw_sse_stream_settings s = {.version = RTW_SSE_STREAM_SETTINGS_VERSION};` and set what
 * you need.
 */
typedef struct rtw_sse_stream_settings {
  uint32_t version; /**< #RTW_SSE_STREAM_SETTINGS_VERSION (or older) */
  uint32_t flags;   /**< 0 or #RTW_SSE_STREAM_FLAG_NO_HEARTBEAT */
  /**
   * Output budget in bytes. Events (from the history or rtw_sse_stream_send()) and comments
   * are queued only while rtw_sse_stream_outbound_size() is below it, so the output never
   * exceeds max_outbound - 1 + one framed event (its serialised size plus at most
   * #RTW_SSE_HTTP_CHUNK_OVERHEAD), plus #RTW_SSE_STREAM_TAIL_MAX when the stream ends.
   * The output buffer's capacity stays below 2 * max_outbound + one framed event (the slack
   * makes appending O(1) per byte however little the host writes at a time), and is freed
   * above #RTW_SSE_STREAM_IDLE_BUFFER once everything was written.
   * Default #RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND.
   */
  size_t max_outbound;
  /** Queue a comment (`:`) when nothing was queued for this long (as seen by
   * rtw_sse_stream_tick()) and nothing is pending, so proxies keep the connection open.
   * Default #RTW_SSE_STREAM_DEFAULT_HEARTBEAT_MS; off with #RTW_SSE_STREAM_FLAG_NO_HEARTBEAT. */
  uint32_t heartbeat_ms;
  /** When non-zero, a `retry: <ms>` line follows the response head (the client's
   * reconnection time, WHATWG HTML 9.2.6). Default 0: none. */
  uint32_t retry_ms;
  /** Fail with #RTW_ERR_SEND_TIMEOUT when output is pending and none of it is consumed for
   * this long (the peer stopped reading). Default 0: off. */
  uint32_t send_timeout_ms;
  /** #RTW_SSE_STREAM_SLOW_DROP (the default) or #RTW_SSE_STREAM_SLOW_HOLD. */
  uint32_t slow_policy;
  /** Extra response field lines (e.g. `Access-Control-Allow-Origin`), as
   * rtw_sse_http_response() takes them; read only during rtw_sse_stream_new(). */
  const rtw_http_header *headers;
  size_t num_headers; /**< elements at headers (headers may be NULL when 0) */
} rtw_sse_stream_settings;

/** @brief The rtw_sse_stream_callbacks layout this header declares. */
#define RTW_SSE_STREAM_CALLBACKS_VERSION 1u

/**
 * @brief Stream callbacks; any member may be NULL. Initialise with
 * `rtw_sse_stream_callbacks cb = {.version = RTW_SSE_STREAM_CALLBACKS_VERSION};`.
 *
 * A callback may call rtw_sse_stream_send(), rtw_sse_stream_comment(), rtw_sse_stream_end()
 * and the accessors. rtw_sse_stream_send_pending(), rtw_sse_stream_send_consumed() and
 * rtw_sse_stream_tick() return #RTW_ERR_REENTRANT there, and rtw_sse_stream_free() does
 * nothing.
 */
typedef struct rtw_sse_stream_callbacks {
  uint32_t version; /**< #RTW_SSE_STREAM_CALLBACKS_VERSION (or older) */
  /**
   * The subscriber missed events the history cannot give (`reason`
   * #RTW_SSE_STREAM_GAP_RESUME or #RTW_SSE_STREAM_GAP_SLOW). Send what the application
   * uses to recover (a reset or snapshot event, with rtw_sse_stream_send(): it is queued
   * before any further history event). Return 0 to go on, or a negative value to fail the
   * stream with #RTW_ERR_CALLBACK_FAILURE (the last chunk is queued after what is pending).
   */
  int (*on_gap)(rtw_sse_stream *stream, uint32_t reason, void *user_data);
} rtw_sse_stream_callbacks;

/**
 * @brief Create the stream answering a parsed SSE request.
 *
 * Queues the response head at once (rtw_sse_http_response(): 200, `text/event-stream`,
 * `Cache-Control: no-store`, `X-Accel-Buffering: no`, chunked for HTTP/1.1 or
 * close-delimited for HTTP/1.0, rtw_sse_http_request_chunked()), then `retry` when set.
 * Sets the cursor from the request's `Last-Event-ID` (rtw_sse_http_request_resume()):
 * found: the events after it are replayed from the history; absent: live events only (the
 * history's next sequence number); not in the history (or no history): on_gap fires with
 * #RTW_SSE_STREAM_GAP_RESUME and the cursor is the history's next sequence number.
 *
 * @param[out] stream the new stream (NULL on failure).
 * @param req a complete request (#RTW_SSE_HTTP_DONE from rtw_sse_http_request_recv(), or a
 *        handshake server's view of a plain request); only read during the call: it may be
 *        freed afterwards.
 * @param history the shared replay history the stream reads from, or NULL (no replay: only
 *        rtw_sse_stream_send()). Not owned: it must outlive the stream. Push to it from the
 *        host; every stream sees new events at its next rtw_sse_stream_want_write().
 * @param callbacks copied; NULL for none. on_gap may fire during this call (with the new
 *        stream, before it is returned).
 * @param settings copied; NULL for defaults.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @param user_data passed to every callback.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL stream or req, req not complete, unknown
 *         settings or callbacks version, unknown flags or slow_policy, incomplete mem);
 *         #RTW_ERR_HTTP_INVALID_HEADER (an extra header refused, see
 *         rtw_sse_http_response()); #RTW_ERR_CALLBACK_FAILURE (on_gap failed);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_stream_new(rtw_sse_stream **stream, const rtw_sse_http_request *req,
                                  rtw_sse_history *history,
                                  const rtw_sse_stream_callbacks *callbacks,
                                  const rtw_sse_stream_settings *settings, const rtw_mem *mem,
                                  void *user_data);

/**
 * @brief Free the stream and its pending output (the history is not touched).
 * @param stream the stream, or NULL (then nothing happens). Ignored when called from the
 *        stream's own callback. Pointers from rtw_sse_stream_send_pending() become invalid.
 */
RTW_EXPORT void rtw_sse_stream_free(rtw_sse_stream *stream);

/**
 * @brief Queue one event directly (not through the history), framed as a chunk when chunked.
 * It goes out before history events not yet pulled; it is not stored for replay.
 * @param stream the stream.
 * @param ev the event (rtw_sse_write_event() rules); only read during the call.
 * @return 0; #RTW_ERR_SSE_OUTBOUND_FULL (outbound_size() already at max_outbound: nothing
 *         queued; write what is pending and try again); #RTW_ERR_SSE_INVALID_FIELD,
 *         #RTW_ERR_INVALID_UTF8 (the event cannot be serialised: nothing queued);
 *         #RTW_ERR_INVALID_STATE (after rtw_sse_stream_end()); the stream's sticky error
 *         when it failed; #RTW_ERR_NOMEM (the stream has then failed: pending output is
 *         dropped and rtw_sse_stream_done() is 1); #RTW_ERR_INVALID_ARGUMENT (NULL stream
 *         or ev, NULL pointer with a non-zero length).
 */
RTW_EXPORT int rtw_sse_stream_send(rtw_sse_stream *stream, const rtw_sse_event *ev);

/**
 * @brief Queue a comment (`: text`, rtw_sse_write_comment()), which clients ignore. Same
 * budget and framing as rtw_sse_stream_send().
 * @param stream the stream.
 * @param text the comment, only read during the call (NULL allowed with len 0).
 * @param len bytes at text.
 * @return as rtw_sse_stream_send(), with #RTW_ERR_INVALID_UTF8 for text that is not UTF-8.
 */
RTW_EXPORT int rtw_sse_stream_comment(rtw_sse_stream *stream, const char *text, size_t len);

/**
 * @brief Whether the host should write (arm the socket for writing): output is pending, or
 * the history has events past the cursor and the budget allows pulling them. Call it for
 * every stream after pushing to the shared history.
 * @param stream the stream, or NULL.
 * @return 1 or 0 (also for NULL).
 */
RTW_EXPORT int rtw_sse_stream_want_write(const rtw_sse_stream *stream);

/**
 * @brief The next bytes to write. First pulls events from the history into the output, one at
 * a time while outbound_size() is below max_outbound, handling a slow consumer by its policy
 * (on_gap may fire under #RTW_SSE_STREAM_SLOW_HOLD).
 * @param stream the stream.
 * @param[out] data the pending bytes, in the stream's buffer; valid until the next call on
 *             the stream other than an accessor. NULL when nothing is pending.
 * @param[out] len bytes at *data (0 when nothing is pending).
 * @return 0; after the stream failed, its sticky error, every time
 *         (#RTW_ERR_SSE_SLOW_CONSUMER, #RTW_ERR_CALLBACK_FAILURE, #RTW_ERR_SEND_TIMEOUT,
 *         #RTW_ERR_NOMEM): *data and *len still give the stream's last bytes (the closing
 *         comment and last chunk), write them if the peer takes them, then close when
 *         rtw_sse_stream_done() is 1; #RTW_ERR_REENTRANT (from a callback);
 *         #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_sse_stream_send_pending(rtw_sse_stream *stream, const void **data,
                                           size_t *len);

/**
 * @brief Report that the first `n` pending bytes were written (partial writes are normal).
 * Once everything is written, a buffer larger than #RTW_SSE_STREAM_IDLE_BUFFER is freed.
 * @param stream the stream.
 * @param n bytes written (0 is allowed).
 * @return 0; #RTW_ERR_REENTRANT (from a callback); #RTW_ERR_INVALID_ARGUMENT (NULL stream,
 *         or n exceeds outbound_size()).
 */
RTW_EXPORT int rtw_sse_stream_send_consumed(rtw_sse_stream *stream, size_t n);

/**
 * @brief Bytes queued and not yet consumed (history events count once pulled).
 * @param stream the stream, or NULL.
 * @return the byte count; 0 for NULL.
 */
RTW_EXPORT size_t rtw_sse_stream_outbound_size(const rtw_sse_stream *stream);

/**
 * @brief Advance the stream's timers to `now_ms` (any monotonic clock in milliseconds; the
 * first call arms the timers). Queues a heartbeat comment when heartbeat_ms passed without
 * output and nothing is pending; fails the stream when output made no progress for
 * send_timeout_ms; applies the slow-consumer policy when the history evicted events at the
 * cursor (on_gap may fire). Call it when rtw_sse_stream_next_deadline() is reached.
 * @param stream the stream.
 * @param now_ms the current time; never smaller than in an earlier call.
 * After the stream failed with its closing bytes kept (slow consumer, callback failure),
 * the tick drops them once the peer has taken none for send_timeout_ms (or
 * #RTW_SSE_STREAM_FAIL_LINGER_MS), so rtw_sse_stream_done() turns 1 even for a peer that
 * never reads again.
 * @return 0 (also once the stream has failed: the error was reported then);
 *         #RTW_ERR_SEND_TIMEOUT (pending output is dropped: close the connection);
 *         #RTW_ERR_SSE_SLOW_CONSUMER (#RTW_SSE_STREAM_SLOW_DROP: the closing bytes are
 *         queued); #RTW_ERR_CALLBACK_FAILURE (on_gap failed); #RTW_ERR_NOMEM (the heartbeat
 *         could not be queued; the stream has failed and dropped its output);
 *         #RTW_ERR_REENTRANT (from a callback); #RTW_ERR_INVALID_ARGUMENT (NULL stream).
 */
RTW_EXPORT int rtw_sse_stream_tick(rtw_sse_stream *stream, uint64_t now_ms);

/**
 * @brief When rtw_sse_stream_tick() next needs to run, in its clock: the heartbeat or, while
 * output is pending, the send timeout; after a failure that kept closing bytes, when they
 * are dropped (see rtw_sse_stream_tick()).
 * @param stream the stream, or NULL.
 * @return the deadline in milliseconds; UINT64_MAX when no timer is armed (before the first
 *         tick, after the stream failed with nothing pending, and for NULL).
 */
RTW_EXPORT uint64_t rtw_sse_stream_next_deadline(const rtw_sse_stream *stream);

/**
 * @brief End the stream: queue the last chunk (RFC 9112 7.1) when chunked; nothing more is
 * queued or pulled. When rtw_sse_stream_done() turns 1, close the connection (HTTP/1.0 must
 * close; after the last chunk an HTTP/1.1 connection may be kept for another request).
 * @param stream the stream.
 * @return 0 (also when already ended); the sticky error when the stream failed;
 *         #RTW_ERR_NOMEM (the stream has then failed and dropped its output);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL stream).
 */
RTW_EXPORT int rtw_sse_stream_end(rtw_sse_stream *stream);

/**
 * @brief Whether the stream is over: it ended or failed and all its output was consumed (or
 * dropped). Close the connection then.
 * @param stream the stream, or NULL.
 * @return 1 or 0 (0 for NULL).
 */
RTW_EXPORT int rtw_sse_stream_done(const rtw_sse_stream *stream);

/**
 * @brief The cursor: the sequence number of the next history event to send.
 * @param stream the stream, or NULL.
 * @return the sequence number; 0 for NULL (and without a history).
 */
RTW_EXPORT uint64_t rtw_sse_stream_cursor(const rtw_sse_stream *stream);

/**
 * @brief Move the cursor: the next history event pulled is `seq`. For a host that starts a
 * stream somewhere other than where `Last-Event-ID` says: the retained history for a new
 * client (rtw_sse_history_first_seq()), the position of an id given another way (a query
 * parameter, rtw_sse_history_find()), or the oldest retained event after a gap. Call it
 * right after rtw_sse_stream_new() or from on_gap. Events already queued stay queued;
 * moving the cursor back sends events again.
 * @param stream the stream.
 * @param seq a sequence number of the stream's history, from rtw_sse_history_first_seq() to
 *        rtw_sse_history_next_seq() (live events only).
 * @return 0; #RTW_ERR_SSE_HISTORY_GAP (seq was evicted) and #RTW_ERR_SSE_HISTORY_END (seq is
 *         past the next sequence number): nothing changed; #RTW_ERR_INVALID_STATE (the stream
 *         ended or failed); #RTW_ERR_INVALID_ARGUMENT (NULL stream, or no history).
 */
RTW_EXPORT int rtw_sse_stream_set_cursor(rtw_sse_stream *stream, uint64_t seq);

/**
 * @brief The user_data given at creation.
 * @param stream the stream, or NULL.
 * @return the pointer passed to rtw_sse_stream_new() (not owned by the stream); NULL for a
 *         NULL stream.
 */
RTW_EXPORT void *rtw_sse_stream_user_data(const rtw_sse_stream *stream);

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_HTTP_H */
