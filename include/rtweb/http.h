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

/** @brief One field line to send: a name (a token, RFC 9110 5.6.2) and a value (no control
 * characters other than HTAB: no CR, LF or NUL). */
typedef struct rtw_http_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} rtw_http_header;

/**
 * @brief Compute `Sec-WebSocket-Accept` for a key (RFC 6455 4.2.2 step 5.4): base64 of the
 * SHA-1 of the key followed by "258EAFA5-E914-47DA-95CA-C5AB0DC85B11".
 * @param key the key exactly as sent (after trimming surrounding whitespace).
 * @param[out] out #RTW_WS_ACCEPT_LEN characters, not NUL-terminated.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL); #RTW_ERR_UNSUPPORTED (SHA-1 backend failed).
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
 * `rtw_ws_handshake_server_settings s = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};`.
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
 * `rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};`.
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

/** @brief Free the object. Accepts NULL. */
RTW_EXPORT void rtw_ws_handshake_server_free(rtw_ws_handshake_server *hs);

/** @brief The user_data given at creation. */
RTW_EXPORT void *rtw_ws_handshake_server_user_data(const rtw_ws_handshake_server *hs);

/**
 * @brief Feed request bytes, in any pieces (the outcome is the same for every split). `in`
 * is only read.
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
 * (HTTP/1.1 persistent connections: after answering a plain request yourself).
 * @return 0; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_reset(rtw_ws_handshake_server *hs);

/**
 * @brief The response to write, once rtw_ws_handshake_server_recv() returned
 * #RTW_WS_HANDSHAKE_DONE or an error with a response.
 * @param[out] data points into the object, valid until reset or free.
 * @return 0; #RTW_ERR_INVALID_STATE (no response: incomplete, plain request, or out of
 *         memory while building it); #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_server_response(const rtw_ws_handshake_server *hs,
                                                const void **data, size_t *len);

/** @brief The status code of the response built (101, 400, 426, ...), 0 when none. */
RTW_EXPORT int rtw_ws_handshake_server_status(const rtw_ws_handshake_server *hs);

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
/** @brief The method, e.g. "GET". */
RTW_EXPORT int rtw_ws_handshake_server_method(const rtw_ws_handshake_server *hs,
                                              const char **method, size_t *len);
/** @brief The path: the request-target up to '?' (as sent, not percent-decoded). */
RTW_EXPORT int rtw_ws_handshake_server_path(const rtw_ws_handshake_server *hs,
                                            const char **path, size_t *len);
/** @brief The query: what follows the first '?' of the request-target (0 when no '?'). */
RTW_EXPORT int rtw_ws_handshake_server_query(const rtw_ws_handshake_server *hs,
                                             const char **query, size_t *len);
/** @brief The `Origin` value (RFC 6455 10.2: check it to refuse foreign pages). */
RTW_EXPORT int rtw_ws_handshake_server_origin(const rtw_ws_handshake_server *hs,
                                              const char **origin, size_t *len);
/**
 * @brief The `index`-th (0-based) field line whose name equals `name` case-insensitively,
 * its value trimmed of surrounding whitespace. Repeated fields are separate lines.
 */
RTW_EXPORT int rtw_ws_handshake_server_header(const rtw_ws_handshake_server *hs,
                                              const char *name, size_t name_len, size_t index,
                                              const char **value, size_t *value_len);
/** @brief Number of field lines in the request (0 before the head is complete). */
RTW_EXPORT size_t rtw_ws_handshake_server_header_count(const rtw_ws_handshake_server *hs);
/** @brief The `index`-th field line in order of arrival, name as sent. */
RTW_EXPORT int rtw_ws_handshake_server_header_at(const rtw_ws_handshake_server *hs,
                                                 size_t index, const char **name,
                                                 size_t *name_len, const char **value,
                                                 size_t *value_len);
/** @brief Number of subprotocols offered: elements of every `Sec-WebSocket-Protocol` line. */
RTW_EXPORT size_t rtw_ws_handshake_server_subprotocol_count(const rtw_ws_handshake_server *hs);
/** @brief The `index`-th subprotocol offered, in the client's order of preference. */
RTW_EXPORT int rtw_ws_handshake_server_subprotocol(const rtw_ws_handshake_server *hs,
                                                   size_t index, const char **name,
                                                   size_t *len);
/** @brief Number of extension offers: elements of every `Sec-WebSocket-Extensions` line. */
RTW_EXPORT size_t rtw_ws_handshake_server_extension_count(const rtw_ws_handshake_server *hs);
/** @brief The `index`-th extension offer with its parameters, e.g.
 * "permessage-deflate; client_max_window_bits". */
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
 * @return also #RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED (nothing chosen).
 */
RTW_EXPORT int rtw_ws_handshake_server_select_subprotocol(rtw_ws_handshake_server *hs,
                                                          const char *name, size_t len);
/**
 * @brief Set the `Sec-WebSocket-Extensions` value of the 101 response (the extensions the
 * server accepts, with their parameters). Every extension named must have been offered.
 * A later call replaces it; len 0 clears it.
 * @return also #RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED; #RTW_ERR_HTTP_INVALID_HEADER.
 */
RTW_EXPORT int rtw_ws_handshake_server_set_extensions(rtw_ws_handshake_server *hs,
                                                      const char *value, size_t len);
/**
 * @brief Add a field line to the response, accepted or rejected (e.g. `Set-Cookie`,
 * `WWW-Authenticate`, `Location`). Fields the handshake writes itself (Connection, Upgrade,
 * Content-Length, Content-Type, Transfer-Encoding, Sec-WebSocket-*) are refused.
 * @return also #RTW_ERR_HTTP_INVALID_HEADER (name not a token, value with CR, LF, NUL or
 *         another control character, or a reserved name).
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
 * `rtw_ws_handshake_client_settings s = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};`.
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
  size_t host_len;
  /** Request-target in origin form, starting with '/', query included. Default "/". */
  const char *path;
  size_t path_len;
  /** `Origin` value (browsers send one; RFC 6455 4.1 item 8). Default: none. */
  const char *origin;
  size_t origin_len;
  /** Subprotocols offered, a comma-separated list of tokens in order of preference
   * ("chat, superchat"), sent as `Sec-WebSocket-Protocol`. Default: none. */
  const char *subprotocols;
  size_t subprotocols_len;
  /** Extension offers, the `Sec-WebSocket-Extensions` value ("permessage-deflate;
   * client_max_window_bits"). Default: none. */
  const char *extensions;
  size_t extensions_len;
  /** Extra field lines (e.g. `Authorization`, `Cookie`, `User-Agent`). Names the handshake
   * writes itself (Host, Connection, Upgrade, Sec-WebSocket-*) are refused. */
  const rtw_http_header *headers;
  size_t num_headers;
} rtw_ws_handshake_client_settings;

/** @brief The rtw_ws_handshake_client_callbacks layout this header declares. */
#define RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION 1u

/** @brief Client callbacks. Any member may be NULL. */
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
 * @param callbacks, settings copied; settings is required (it carries the host).
 * @param mem allocator hooks, copied; NULL for the C library.
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

/** @brief Free the object. Accepts NULL. */
RTW_EXPORT void rtw_ws_handshake_client_free(rtw_ws_handshake_client *hs);

/** @brief The user_data given at creation. */
RTW_EXPORT void *rtw_ws_handshake_client_user_data(const rtw_ws_handshake_client *hs);

/**
 * @brief The request to write: the whole HTTP head, ready for the transport.
 * @param[out] data points into the object, valid until free.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_ws_handshake_client_request(const rtw_ws_handshake_client *hs,
                                               const void **data, size_t *len);

/**
 * @brief Feed response bytes, in any pieces (the outcome is the same for every split).
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

/** @brief The response status code (0 until the head is complete). */
RTW_EXPORT int rtw_ws_handshake_client_status(const rtw_ws_handshake_client *hs);

/**
 * @name Response accessors
 * Valid once the response head is complete (after rtw_ws_handshake_client_recv() returned
 * #RTW_WS_HANDSHAKE_DONE or an error other than the parse, limit and memory errors); the
 * pointers stay valid until free. Return 1 when the item exists, 0 when not (outputs then an
 * empty span), #RTW_ERR_INVALID_ARGUMENT.
 */
/**@{*/
/** @brief The subprotocol the server chose (`Sec-WebSocket-Protocol`), if any. */
RTW_EXPORT int rtw_ws_handshake_client_subprotocol(const rtw_ws_handshake_client *hs,
                                                   const char **name, size_t *len);
/** @brief Number of extensions the server accepted (`Sec-WebSocket-Extensions` elements). */
RTW_EXPORT size_t rtw_ws_handshake_client_extension_count(const rtw_ws_handshake_client *hs);
/** @brief The `index`-th extension the server accepted, with its parameters. */
RTW_EXPORT int rtw_ws_handshake_client_extension(const rtw_ws_handshake_client *hs,
                                                 size_t index, const char **ext,
                                                 size_t *len);
/** @brief The `index`-th response field line named `name` (case-insensitive). */
RTW_EXPORT int rtw_ws_handshake_client_header(const rtw_ws_handshake_client *hs,
                                              const char *name, size_t name_len, size_t index,
                                              const char **value, size_t *value_len);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_HTTP_H */
