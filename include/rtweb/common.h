/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * @brief Shared definitions: export macro, error codes, allocator hooks, version.
 *
 * Every rtweb header includes this one. It compiles as C89, C99 and C++.
 */
#ifndef RTWEB_COMMON_H
#define RTWEB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a public function; everything else in the library is hidden. */
#if defined(_WIN32)
#  if defined(RTWEB_BUILDING) && !defined(RTWEB_STATIC)
#    define RTW_EXPORT __declspec(dllexport)
#  elif !defined(RTWEB_STATIC)
#    define RTW_EXPORT __declspec(dllimport)
#  else
#    define RTW_EXPORT
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define RTW_EXPORT __attribute__((visibility("default")))
#else
#  define RTW_EXPORT
#endif

/**
 * @brief The error list, written once.
 *
 * `RTW_ERRNO_MAP(XX)` expands `XX(name, value, message)` for every error. It generates the
 * `RTW_ERR_*` constants, rtw_strerror() and rtw_err_name(). Codes are negative, stable across
 * releases (new codes are only appended) and never reused.
 */
#define RTW_ERRNO_MAP(XX)                                                                  \
  XX(INVALID_ARGUMENT, -1, "invalid argument")                                             \
  XX(NOMEM, -2, "out of memory")                                                           \
  XX(PAUSE, -3, "paused by a callback")                                                    \
  XX(CALLBACK_FAILURE, -4, "a callback returned an error")                                 \
  XX(BUFFER_TOO_SMALL, -5, "output buffer too small")                                      \
  XX(INVALID_STATE, -6, "operation not allowed in the current state")                      \
  XX(INVALID_UTF8, -7, "invalid UTF-8")                                                    \
  XX(UNSUPPORTED, -8, "feature not compiled in or not supported")                          \
  XX(SEND_TIMEOUT, -9, "queued output made no progress in time")                           \
  XX(REENTRANT, -10, "called from inside one of the object's own callbacks")                \
  XX(SSE_EVENT_TOO_LARGE, -101, "SSE event data larger than max_event_size")               \
  XX(SSE_ID_TOO_LONG, -102, "SSE id longer than max_id_length")                            \
  XX(SSE_INVALID_FIELD, -103, "SSE field value not allowed (CR, LF or NUL)")               \
  XX(SSE_HISTORY_GAP, -104, "SSE history does not reach back to that event")               \
  XX(SSE_HISTORY_END, -105, "SSE history has no event at that position yet")              \
  XX(SSE_TYPE_TOO_LONG, -106, "SSE event type longer than max_type_length")                 \
  XX(SSE_SLOW_CONSUMER, -107, "SSE subscriber fell behind the replay history")              \
  XX(SSE_OUTBOUND_FULL, -108, "SSE stream output over max_outbound")                      \
  XX(SSE_HISTORY_ORDER, -109, "SSE history sequence number below the next one")          \
  XX(WS_BAD_LENGTH, -200, "WebSocket frame length not minimally encoded or too large")      \
  XX(WS_RESERVED_BITS, -201, "WebSocket RSV bit set without a negotiated extension")        \
  XX(WS_RESERVED_OPCODE, -202, "WebSocket reserved opcode")                                 \
  XX(WS_MASK_REQUIRED, -203, "WebSocket frame from a client is not masked")                 \
  XX(WS_MASK_FORBIDDEN, -204, "WebSocket frame from a server is masked")                    \
  XX(WS_CONTROL_TOO_LONG, -205, "WebSocket control frame payload over 125 bytes")           \
  XX(WS_CONTROL_FRAGMENTED, -206, "WebSocket control frame without FIN")                    \
  XX(WS_UNEXPECTED_CONTINUATION, -207, "WebSocket continuation frame without a message")    \
  XX(WS_EXPECTED_CONTINUATION, -208, "WebSocket new message inside a fragmented one")       \
  XX(WS_BAD_CLOSE_PAYLOAD, -209, "WebSocket close frame with a 1-byte payload")             \
  XX(WS_BAD_CLOSE_CODE, -210, "WebSocket close code not allowed")                           \
  XX(WS_FRAME_TOO_LARGE, -211, "WebSocket frame larger than max_frame_size")                \
  XX(WS_MESSAGE_TOO_LARGE, -212, "WebSocket message larger than max_message_size")          \
  XX(WS_CLOSED, -213, "WebSocket session is closing or closed")                             \
  XX(WS_OUTBOUND_FULL, -214, "WebSocket outbound queue over max_outbound")                  \
  XX(WS_PONG_TIMEOUT, -215, "WebSocket pong not received in time")                          \
  XX(WS_CLOSE_TIMEOUT, -216, "WebSocket closing handshake not completed in time")           \
  XX(WS_DEFLATE_PARAM, -217, "permessage-deflate parameter unknown, repeated, malformed or not offered") \
  XX(WS_BAD_COMPRESSED, -218, "WebSocket compressed message is not valid DEFLATE data")    \
  XX(WS_EXTENSION_MISSING, -219, "required WebSocket extension not negotiated")            \
  XX(HTTP_MALFORMED, -300, "malformed HTTP/1 message")                                      \
  XX(HTTP_HEAD_TOO_LARGE, -301, "HTTP head larger than max_head_size")                      \
  XX(HTTP_TOO_MANY_HEADERS, -302, "HTTP head with more than max_headers field lines")       \
  XX(HTTP_BAD_METHOD, -303, "WebSocket upgrade request method is not GET")                  \
  XX(HTTP_BAD_VERSION, -304, "HTTP version older than 1.1")                                 \
  XX(HTTP_NO_HOST, -305, "HTTP/1.1 request without exactly one Host")                       \
  XX(HTTP_WS_NO_UPGRADE, -306, "Upgrade header lacks the websocket token")                  \
  XX(HTTP_WS_NO_CONNECTION_UPGRADE, -307, "Connection header lacks the Upgrade token")      \
  XX(HTTP_WS_BAD_VERSION, -308, "Sec-WebSocket-Version missing or not 13")                  \
  XX(HTTP_WS_BAD_KEY, -309, "Sec-WebSocket-Key missing or not base64 of 16 bytes")          \
  XX(HTTP_REJECTED, -310, "WebSocket upgrade rejected by the application")                  \
  XX(HTTP_WS_SUBPROTOCOL_NOT_OFFERED, -311, "WebSocket subprotocol not among those offered") \
  XX(HTTP_UNEXPECTED_BODY, -312, "WebSocket handshake message with a body")                 \
  XX(HTTP_INVALID_HEADER, -313, "HTTP header name or value not allowed")                    \
  XX(HTTP_WS_BAD_STATUS, -314, "WebSocket handshake response status is not 101")            \
  XX(HTTP_WS_BAD_ACCEPT, -315, "Sec-WebSocket-Accept missing or wrong")                     \
  XX(HTTP_WS_EXTENSION_NOT_OFFERED, -316, "WebSocket extension not among those offered") \
  XX(HTTP_SSE_BAD_STATUS, -317, "SSE response status is not 200")                          \
  XX(HTTP_SSE_BAD_CONTENT_TYPE, -318, "SSE response Content-Type is not text/event-stream") \
  XX(HTTP_TRUNCATED_BODY, -319, "HTTP body cut short (length or last chunk missing)")       \
  XX(HTTP_SSE_BAD_LAST_EVENT_ID, -320, "Last-Event-ID repeated or with CR, LF or NUL")     \
  XX(TLS_CONFIG, -400, "TLS certificate, key or CA list could not be loaded")             \
  XX(TLS_HANDSHAKE, -401, "TLS handshake failed")                                         \
  XX(TLS_VERIFY, -402, "TLS peer certificate untrusted, expired or for another name")     \
  XX(TLS_ALPN, -403, "TLS peers share no application protocol (ALPN)")                    \
  XX(TLS_BAD_RECORD, -404, "TLS record malformed or failed authentication")               \
  XX(TLS_NOT_TLS, -405, "plaintext (not TLS) received on a TLS connection")               \
  XX(TLS_HANDSHAKE_TIMEOUT, -406, "TLS handshake not completed in time")                  \
  XX(TLS_TRUNCATED, -407, "TLS connection ended without close_notify")                    \
  XX(TLS_ALERT, -408, "TLS peer sent a fatal alert")                                      \
  XX(TLS_BACKEND, -409, "TLS backend failure")

/** @brief Error codes returned by rtweb functions (0 is success). */
enum rtw_error {
  RTW_OK = 0, /**< success */
#define RTW__ERR_ENUM(name, value, msg) RTW_ERR_##name = (value),
  RTW_ERRNO_MAP(RTW__ERR_ENUM)
#undef RTW__ERR_ENUM
  RTW__ERR_LAST_ = -10000 /**< internal sentinel, not an error code; never returned */
};

/**
 * @brief A human-readable description of an error code.
 * @param err a value returned by an rtweb function.
 * @return a static string; never NULL ("unknown error" for unknown codes, "success" for 0).
 */
RTW_EXPORT const char *rtw_strerror(int err);

/**
 * @brief The symbolic name of an error code, e.g. "RTW_ERR_NOMEM".
 * @param err a value returned by an rtweb function.
 * @return a static string; never NULL ("RTW_OK" for 0, "RTW_ERR_UNKNOWN" for unknown codes).
 */
RTW_EXPORT const char *rtw_err_name(int err);

/**
 * @brief Whether an error ends the object that returned it (as nghttp2_is_fatal()).
 *
 * Fatal errors are sticky: the object accepts no more input and, for a WebSocket session,
 * has queued its close frame; flush what is pending and close the transport. Errors that
 * only refuse one call (a bad argument, a full queue, a session already closing, a buffer
 * too small, #RTW_ERR_PAUSE, #RTW_ERR_REENTRANT) are not fatal: the object goes on.
 *
 * A session callback may return what a queue call returned: a non-fatal code that means
 * "nothing to do" (#RTW_ERR_WS_CLOSED: the session is already closing) is ignored, so the
 * obvious `return rtw_ws_queue_message(...)` in an echo callback is correct.
 * @param err a value returned by an rtweb function.
 * @return 1 for a fatal error; 0 for 0, #RTW_ERR_PAUSE and the non-fatal codes
 *         (#RTW_ERR_INVALID_ARGUMENT, #RTW_ERR_BUFFER_TOO_SMALL, #RTW_ERR_INVALID_STATE,
 *         #RTW_ERR_REENTRANT, #RTW_ERR_WS_CLOSED, #RTW_ERR_WS_OUTBOUND_FULL,
 *         #RTW_ERR_SSE_OUTBOUND_FULL,
 *         #RTW_ERR_SSE_HISTORY_GAP, #RTW_ERR_SSE_HISTORY_END, #RTW_ERR_SSE_HISTORY_ORDER); 1
 *         for unknown negative codes.
 */
RTW_EXPORT int rtw_is_fatal(int err);

/**
 * @brief Allocator hooks, given per object.
 *
 * Pass NULL wherever an `rtw_mem` is accepted to use the C library. When given, all four
 * functions must be set; the struct is copied, so it need not outlive the call. `free_fn`
 * receives NULL never; `realloc_fn` is never called with a NULL pointer or a zero size.
 * The member names avoid `malloc`/`free` so that allocator macros in a host cannot expand
 * them.
 */
typedef struct rtw_mem {
  /** Like malloc(): `size` bytes, suitably aligned for any type, or NULL on failure. */
  void *(*malloc_fn)(size_t size, void *user_data);
  /** Like calloc(): `nmemb * size` zeroed bytes (the hook checks the multiplication), or
   * NULL on failure. */
  void *(*calloc_fn)(size_t nmemb, size_t size, void *user_data);
  /** Like realloc() on a block from these hooks; NULL on failure (the block is then left
   * intact, as rtweb still frees it). */
  void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
  /** Like free() on a block from these hooks. */
  void (*free_fn)(void *ptr, void *user_data);
  void *user_data; /**< passed to every hook */
} rtw_mem;

/**
 * @brief Transcode UTF-8 into fixed-width code units, the narrowest that hold the text.
 *
 * For hosts that store strings as arrays of code units (CPython's str, JavaScript engines,
 * Java): validates `src` as UTF-8 (RFC 3629 section 3 / Unicode table 3-7: no overlongs,
 * no surrogates, nothing above U+10FFFF; the input is never trusted) and writes its code
 * points, in order, as units of `*width` bytes in native byte order: width 1 (Latin-1) when
 * every code point is below U+0100, width 2 (UCS-2, no surrogate pairs) when every one is
 * below U+10000, else width 4 (UTF-32). No terminator is written.
 *
 * Sizing: `*count <= len` always, so `dst_size >= 4 * len` always suffices (`len` bytes when
 * the text has no code point from U+0100 on, `2 * len` without any from U+10000 on).
 * Call with `dst == NULL` and `dst_size == 0` to get `*count` and `*width` only.
 *
 * @param src      `len` bytes of UTF-8 (not NUL-terminated; may be NULL when `len` is 0);
 *                 only read during the call.
 * @param len      bytes at `src`.
 * @param dst      where the units go (no alignment needed; must not overlap `src`), or NULL
 *                 to size only; only written during the call.
 * @param dst_size bytes at `dst`.
 * @param count    out: the number of code points (units written); never NULL.
 * @param width    out: 1, 2 or 4, the bytes per unit; never NULL.
 * @return 0 when the units were written (or, with `dst == NULL` and `dst_size == 0`, only
 *         counted); #RTW_ERR_BUFFER_TOO_SMALL when `dst_size < *count * *width` (`*count`
 *         and `*width` are set, nothing is written); #RTW_ERR_INVALID_UTF8 when `src` is not
 *         valid UTF-8 or ends inside a sequence (`*count` and `*width` are set to 0; `dst`
 *         is not written); #RTW_ERR_INVALID_ARGUMENT when `count` or `width` is NULL, or
 *         `src` is NULL with `len > 0`.
 */
RTW_EXPORT int rtw_utf8_to_units(const void *src, size_t len, void *dst, size_t dst_size,
                                 size_t *count, int *width);

/**
 * @brief Encode fixed-width code units as UTF-8 (the reverse of rtw_utf8_to_units()).
 *
 * `src` holds `count` units of `width` bytes in native byte order: width 1 is Latin-1
 * (every value is a code point), width 2 is UTF-16 (a high surrogate followed by a low one
 * is one code point from U+10000 on), width 4 is UTF-32. A lone surrogate (width 2 or 4) or
 * a value above U+10FFFF (width 4) has no UTF-8 form (RFC 3629 section 3): the call fails,
 * so the output is always valid UTF-8.
 *
 * Sizing: the output is at most `2 * count` bytes for width 1, `3 * count` for width 2 and
 * `4 * count` for width 4; `dst_size` at that bound lets the call encode in one pass. Call
 * with `dst == NULL` and `dst_size == 0` to get `*len` only.
 *
 * @param src      the units (no alignment needed; may be NULL when `count` is 0); only read
 *                 during the call.
 * @param count    units at `src`.
 * @param width    1, 2 or 4.
 * @param dst      where the UTF-8 goes (must not overlap `src`), or NULL to size only.
 * @param dst_size bytes at `dst`.
 * @param len      out: the UTF-8 length in bytes (0 on #RTW_ERR_INVALID_UTF8); never NULL.
 * @return 0 when `*len` bytes were written (or, with `dst == NULL` and `dst_size == 0`,
 *         only counted); #RTW_ERR_BUFFER_TOO_SMALL when `dst_size < *len` (`*len` is set;
 *         `dst` may have been written); #RTW_ERR_INVALID_UTF8 when the units hold a lone
 *         surrogate or a value above U+10FFFF (`dst` may have been written);
 *         #RTW_ERR_INVALID_ARGUMENT when `width` is not 1, 2 or 4, `len` is NULL, or `src`
 *         is NULL with `count > 0`.
 */
RTW_EXPORT int rtw_utf8_from_units(const void *src, size_t count, int width, void *dst,
                                   size_t dst_size, size_t *len);

/** @name Compile-time version of the headers */
/**@{*/
#define RTW_VERSION_MAJOR 0        /**< major version: 0 while the API may still change */
#define RTW_VERSION_MINOR 1        /**< minor version: new functions, compatible */
#define RTW_VERSION_PATCH 0        /**< patch version: fixes only */
#define RTW_VERSION_STRING "0.1.0" /**< "major.minor.patch" */
/**@}*/
/** @brief (major << 16) | (minor << 8) | patch, comparable with rtw_version_number(). */
#define RTW_VERSION_NUMBER ((RTW_VERSION_MAJOR << 16) | (RTW_VERSION_MINOR << 8) | RTW_VERSION_PATCH)

/**
 * @brief Version of the library linked at run time (may differ from #RTW_VERSION_STRING
 * when a program runs against a newer shared library).
 * @return a static string such as "0.1.0"; never NULL.
 */
RTW_EXPORT const char *rtw_version_string(void);
/**
 * @brief Version number of the library linked at run time.
 * @return (major << 16) | (minor << 8) | patch, comparable with #RTW_VERSION_NUMBER.
 */
RTW_EXPORT uint32_t rtw_version_number(void);

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_COMMON_H */
