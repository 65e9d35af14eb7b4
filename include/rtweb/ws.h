/* SPDX-License-Identifier: MIT */
/**
 * @file ws.h
 * @brief WebSocket (RFC 6455): a stateless frame codec and a session engine, client and
 * server roles.
 *
 * The frame codec (section 5.2) parses and builds frame headers and masks payloads; it keeps
 * no state and allocates nothing. The session engine (`rtw_ws`) runs one connection after the
 * opening handshake: it takes bytes in (rtw_ws_recv()), reports messages and control frames
 * through callbacks, queues what the application sends, and hands the bytes to write to the
 * host (rtw_ws_send_pending()). No I/O, no clock, no threads. See docs/websocket.md.
 *
 * Compiles as C89, C99 and C++.
 */
#ifndef RTWEB_WS_H
#define RTWEB_WS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== constants */

/** @name Opcodes (RFC 6455 5.2) */
/**@{*/
#define RTW_WS_OP_CONTINUATION 0x0 /**< a later fragment of a text or binary message */
#define RTW_WS_OP_TEXT 0x1         /**< a text message (UTF-8), or its first fragment */
#define RTW_WS_OP_BINARY 0x2       /**< a binary message, or its first fragment */
#define RTW_WS_OP_CLOSE 0x8        /**< close frame (RFC 6455 5.5.1) */
#define RTW_WS_OP_PING 0x9         /**< ping frame (RFC 6455 5.5.2) */
#define RTW_WS_OP_PONG 0xA         /**< pong frame (RFC 6455 5.5.3) */
/**@}*/

/** @name Close codes (RFC 6455 7.4.1) */
/**@{*/
/** normal closure */
#define RTW_WS_CLOSE_NORMAL 1000
/** an endpoint is going away (server shutdown, page left) */
#define RTW_WS_CLOSE_GOING_AWAY 1001
/** protocol error; the session sends it on most RTW_ERR_WS_* errors */
#define RTW_WS_CLOSE_PROTOCOL_ERROR 1002
/** a data type the endpoint cannot accept */
#define RTW_WS_CLOSE_UNSUPPORTED_DATA 1003
#define RTW_WS_CLOSE_NO_STATUS 1005 /**< reported when a close frame had no code; never sent */
#define RTW_WS_CLOSE_ABNORMAL 1006  /**< reserved for "closed without a close frame"; never sent */
/** data inconsistent with the message type, e.g. invalid UTF-8 in text (sent on
 * #RTW_ERR_INVALID_UTF8) */
#define RTW_WS_CLOSE_INVALID_PAYLOAD 1007
/** a message violates the endpoint's policy */
#define RTW_WS_CLOSE_POLICY 1008
/** a frame or message over the limits (sent on #RTW_ERR_WS_FRAME_TOO_LARGE and
 * #RTW_ERR_WS_MESSAGE_TOO_LARGE) */
#define RTW_WS_CLOSE_TOO_BIG 1009
/** client: the server did not negotiate an extension the client requires */
#define RTW_WS_CLOSE_MANDATORY_EXTENSION 1010
/** an unexpected condition (sent on #RTW_ERR_CALLBACK_FAILURE and #RTW_ERR_NOMEM) */
#define RTW_WS_CLOSE_INTERNAL_ERROR 1011
/**@}*/

/** @brief Longest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define RTW_WS_MAX_HEADER 14u
/** @brief Longest control frame payload (RFC 6455 5.5). */
#define RTW_WS_MAX_CONTROL_PAYLOAD 125u

/* ====================================================================== frame codec */

/** @name RSV bits as they appear in rtw_ws_frame::rsv */
/**@{*/
#define RTW_WS_RSV1 0x4u /**< RSV1 (permessage-deflate's "compressed" bit, RFC 7692) */
#define RTW_WS_RSV2 0x2u /**< RSV2 */
#define RTW_WS_RSV3 0x1u /**< RSV3 */
/**@}*/

/**
 * @brief One frame header (RFC 6455 5.2). A plain value type: its layout is fixed by the wire
 * format and will not grow.
 */
typedef struct rtw_ws_frame {
  uint8_t fin;          /**< 1 when this is the final fragment */
  uint8_t rsv;          /**< RSV1..RSV3 as RTW_WS_RSV1 | RTW_WS_RSV2 | RTW_WS_RSV3 */
  uint8_t opcode;       /**< 0..15 */
  uint8_t masked;       /**< 1 when a masking key follows */
  uint8_t mask[4];      /**< the masking key when masked */
  uint64_t payload_len; /**< at most 2^63 - 1 */
} rtw_ws_frame;

/**
 * @brief Parse a frame header from the start of `in`.
 *
 * Checks only what the header itself can break: the 16- and 64-bit length forms must be
 * minimal (RFC 6455 5.2: "the minimal number of bytes MUST be used") and the 64-bit length
 * must have its most significant bit clear. Opcode, RSV and mask rules depend on the
 * connection and are the session's business.
 *
 * @param in the received bytes, only read during the call (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] frame the parsed header, filled when the header is complete.
 * @param[out] header_len bytes the header takes (2..14), or 0 when `len` bytes do not yet
 *             hold the whole header (feed more and call again).
 * @return 0 (also when the header is incomplete: check header_len); #RTW_ERR_WS_BAD_LENGTH
 *         (a non-minimal length, or the 64-bit length's most significant bit set);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL frame or header_len, NULL in with len > 0).
 */
RTW_EXPORT int rtw_ws_frame_parse(const void *in, size_t len, rtw_ws_frame *frame,
                                  size_t *header_len);

/**
 * @brief Write the header for `frame` (minimal length encoding) into `out`, which must have
 * room for #RTW_WS_MAX_HEADER bytes.
 * @param[out] out the destination, at least #RTW_WS_MAX_HEADER bytes.
 * @param frame the header to write, only read; the masking key is written when masked is 1.
 * @param[out] header_len bytes written (2..14); 0 on error.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (opcode > 15, rsv > 7, payload_len >= 2^63, NULL).
 */
RTW_EXPORT int rtw_ws_frame_build(void *out, const rtw_ws_frame *frame, size_t *header_len);

/**
 * @brief Mask or unmask (the same operation, RFC 6455 5.3) `len` bytes from `src` into `dst`.
 *
 * `offset` is the position of `src[0]` within the frame payload, so a payload can be
 * processed in any number of pieces: pass the running total. `dst` may equal `src` (in
 * place); otherwise the two must not overlap. Uses AVX-512 or AVX2 when the CPU has them.
 * Does nothing when dst, src or key is NULL.
 * @param[out] dst where the result goes, len bytes.
 * @param src the bytes to mask or unmask, len bytes; only read.
 * @param len bytes to process.
 * @param key the frame's 4-byte masking key.
 * @param offset position of src[0] within the payload (0 for the start).
 */
RTW_EXPORT void rtw_ws_mask(void *dst, const void *src, size_t len, const uint8_t key[4],
                            uint64_t offset);

/* ====================================================================== session */

/** @brief A WebSocket connection after its opening handshake. Opaque. */
typedef struct rtw_ws rtw_ws;

/** @name Roles for rtw_ws_new() */
/**@{*/
#define RTW_WS_ROLE_SERVER 0 /**< server: expects masked frames, sends unmasked ones */
#define RTW_WS_ROLE_CLIENT 1 /**< client: sends masked frames, expects unmasked ones */
/**@}*/

/** @brief Default max_frame_size: 16 MiB. */
#define RTW_WS_DEFAULT_MAX_FRAME_SIZE (16u * 1024u * 1024u)
/** @brief Default max_message_size: 64 MiB. */
#define RTW_WS_DEFAULT_MAX_MESSAGE_SIZE (64u * 1024u * 1024u)
/** @brief Default fragment_size for outgoing messages: 64 KiB. */
#define RTW_WS_DEFAULT_FRAGMENT_SIZE (64u * 1024u)
/** @brief Default max_outbound: 16 MiB. */
#define RTW_WS_DEFAULT_MAX_OUTBOUND (16u * 1024u * 1024u)
/** @brief Default close_timeout_ms: 5000. */
#define RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS 5000u
/** @brief Default pong_timeout_ms when keepalive is on: 30000. */
#define RTW_WS_DEFAULT_PONG_TIMEOUT_MS 30000u
/** @brief Default outbound_high_water: 1 MiB (outbound_low_water defaults to half of the
 * high water mark). */
#define RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER (1024u * 1024u)

/** @brief Flag: deliver each message whole through on_message (buffered, under the limits)
 * instead of on_message_begin/data/end. */
#define RTW_WS_FLAG_WHOLE_MESSAGES 0x1u
/** @brief Flag: do not answer pings automatically (call rtw_ws_queue_pong() yourself). */
#define RTW_WS_FLAG_NO_AUTO_PONG 0x2u

/** @brief Default keep_buffer: 64 KiB. */
#define RTW_WS_DEFAULT_KEEP_BUFFER (64u * 1024u)
/** @brief Default keep_idle_ms: 1000. */
#define RTW_WS_DEFAULT_KEEP_IDLE_MS 1000u

/** @brief The rtw_ws_settings layout this header declares. Version 2 appended
 * outbound_high_water, outbound_low_water and send_timeout_ms; version 3 appended
 * keep_buffer and keep_idle_ms. A caller stating an older version gets the defaults of the
 * members it does not know. */
#define RTW_WS_SETTINGS_VERSION 3u

/**
 * @brief Session limits and options. Zero in any member means its default.
 * Initialise with `rtw_ws_settings s = {.version = RTW_WS_SETTINGS_VERSION};`.
 *
 * **Backpressure recipe** (an echo or relay that loses nothing and copies nothing it need
 * not): the input gate (outbound_high_water) stops rtw_ws_recv() before it reads another
 * frame while the outbound size is at or above the high water mark, so when a callback runs
 * the outbound size is below it. With
 * `max_outbound >= outbound_high_water + max_message_size + RTW_WS_MAX_HEADER + 256`,
 * a queue call made from on_message (or a piece queued from on_message_data) to echo or relay
 * the received message always fits: no #RTW_ERR_WS_OUTBOUND_FULL, and no queue grows
 * without bound. The host writes while rtw_ws_want_write() is 1, reads while
 * rtw_ws_want_read() is 1, keeps the input rtw_ws_recv() did not consume (it returned
 * #RTW_ERR_PAUSE) and feeds it again once want_read is 1. The defaults (16 MiB, 1 MiB,
 * 64 MiB) do not satisfy it: lower max_message_size or raise max_outbound.
 */
typedef struct rtw_ws_settings {
  uint32_t version; /**< #RTW_WS_SETTINGS_VERSION (or older) */
  uint32_t flags;   /**< RTW_WS_FLAG_* */
  /** Largest payload of one received frame, checked at its header; exceeding it fails with
   * #RTW_ERR_WS_FRAME_TOO_LARGE and close code 1009. Default 16 MiB. */
  uint64_t max_frame_size;
  /** Largest received message across its fragments, checked at each header; exceeding it
   * fails with #RTW_ERR_WS_MESSAGE_TOO_LARGE and close code 1009. Default 64 MiB. For a
   * compressed message (permessage-deflate, rtw_ws_set_deflate()) it counts the inflated
   * bytes, checked at every 4 KiB inflated, so a decompression bomb fails the moment it
   * crosses the limit; max_frame_size still bounds each frame's compressed payload. */
  uint64_t max_message_size;
  /** Outgoing messages larger than this go out as several frames, so control frames can be
   * sent between them. Default 64 KiB. */
  size_t fragment_size;
  /** Most bytes the outbound queue may hold (rtw_ws_outbound_size()); a message that would
   * exceed it fails with #RTW_ERR_WS_OUTBOUND_FULL and queues nothing. Control frames get
   * headroom above it: the outbound size never exceeds max_outbound + 256, whatever the peer
   * sends. Pings and pongs (ours, automatic and keepalive) are queued while the total stays
   * within max_outbound + 111 (a ping or pong of up to 97 bytes fits over a full queue); the
   * close frame always fits. An automatic pong that does not fit waits outside the queue (no
   * memory taken) and a newer ping replaces it, so only the most recent ping is answered
   * (RFC 6455 5.5.3): a peer that pings without reading cannot grow the queue. A keepalive
   * ping that does not fit is postponed by keepalive_ms. Default 16 MiB. */
  size_t max_outbound;
  /** Send a ping after this long without receiving anything (as seen by rtw_ws_tick(): input
   * counts as activity at the next tick); 0 = off (the default). See rtw_ws_tick(). */
  uint32_t keepalive_ms;
  /** With keepalive: fail with #RTW_ERR_WS_PONG_TIMEOUT when no pong arrives within this
   * time after the tick that queued our ping. Default 30000. See rtw_ws_tick(). */
  uint32_t pong_timeout_ms;
  /** After our close frame is written, fail with #RTW_ERR_WS_CLOSE_TIMEOUT when the peer's
   * close does not arrive within this time. Client role: also how long to wait for the
   * server's EOF after the closing handshake (rtw_ws_want_read()). Default 5000. */
  uint32_t close_timeout_ms;
  /** RSV bits an extension negotiated (RTW_WS_RSV*): only these may be set in received
   * frames. Default 0: any RSV bit fails with close code 1002. */
  uint32_t rsv_allowed;
  /* ---- version 2 ---- */
  /** Input gate: while rtw_ws_outbound_size() >= this, rtw_ws_want_read() is 0 and
   * rtw_ws_recv() stops before the next frame header or payload piece with #RTW_ERR_PAUSE.
   * Default #RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER (1 MiB); SIZE_MAX turns the gate off. */
  size_t outbound_high_water;
  /** The gate opens again when the outbound size falls to this or below (hysteresis).
   * Default outbound_high_water / 2; larger than outbound_high_water is an invalid
   * argument. */
  size_t outbound_low_water;
  /** Fail with #RTW_ERR_SEND_TIMEOUT when bytes are pending and rtw_ws_send_consumed() takes
   * none for this long (see rtw_ws_tick()). Default 0: off. */
  uint32_t send_timeout_ms;
  /* ---- version 3 ---- */
  /** Buffer capacity the session keeps for reuse instead of freeing it: the output buffer
   * once the queue drains, and the whole-message buffer once a message was delivered, each
   * up to this many bytes, and (when this is not 0) one queue node a NOCOPY message used.
   * Steady traffic of messages up to this size, and of NOCOPY messages of any size, then
   * allocates nothing per message; a larger buffer is released as soon as it is no longer
   * needed.
   * Default #RTW_WS_DEFAULT_KEEP_BUFFER (64 KiB); SIZE_MAX keeps everything (until
   * keep_idle_ms or rtw_ws_trim()). */
  size_t keep_buffer;
  /** Kept buffers are released by rtw_ws_tick() once the session has neither received nor
   * queued anything for this long (announced by rtw_ws_next_deadline()), so an idle
   * session returns to its idle size. Default #RTW_WS_DEFAULT_KEEP_IDLE_MS (1000);
   * UINT32_MAX never releases them by time. See also rtw_ws_trim(). */
  uint32_t keep_idle_ms;
} rtw_ws_settings;

/** @brief The rtw_ws_callbacks layout this header declares. */
#define RTW_WS_CALLBACKS_VERSION 1u

/**
 * @brief Session callbacks. Any member may be NULL.
 *
 * Pointers passed to callbacks are valid only during the call. Return 0 to continue,
 * #RTW_ERR_PAUSE to make rtw_ws_recv() return after the current frame piece (input then
 * counts as paused until the next rtw_ws_recv(): see rtw_ws_pause_input()),
 * #RTW_ERR_WS_CLOSED (what queue calls return after our close or a failure) which counts as
 * 0, so `return rtw_ws_queue_message(ws, op, data, len, 0);` is a correct echo; or another
 * negative value to fail the session with #RTW_ERR_CALLBACK_FAILURE (it then queues a close
 * with code 1011), #RTW_ERR_WS_OUTBOUND_FULL included (a message was lost; see the
 * backpressure recipe at rtw_ws_settings).
 *
 * Re-entrancy: callbacks may queue sends (rtw_ws_queue_*, rtw_ws_close()) and read state
 * (want_read/want_write, rtw_ws_outbound_size(), close codes). rtw_ws_recv(), rtw_ws_tick(),
 * rtw_ws_send_pending(), rtw_ws_send_pending_iov() and rtw_ws_send_consumed() called from a
 * callback of the same session return #RTW_ERR_REENTRANT and do nothing (not sticky; recv
 * sets *nread to 0). rtw_ws_free() from a callback (any of them, on_payload_released and
 * random included) is deferred: the session stops at once (queue calls return
 * #RTW_ERR_WS_CLOSED, want_read and want_write return 0, later callback return values are
 * ignored), and when the callback returns, the outermost API call that ran it processes
 * nothing more, frees the session (firing on_payload_released for NOCOPY payloads still
 * queued) and returns #RTW_ERR_WS_CLOSED (rtw_ws_recv() with *nread = the bytes consumed up
 * to and including the piece whose callback freed it). The handle is invalid from then on:
 * do not call rtw_ws_free() again.
 *
 * Initialise with `rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};`.
 */
typedef struct rtw_ws_callbacks {
  uint32_t version; /**< #RTW_WS_CALLBACKS_VERSION (or older) */
  /** A text or binary message starts (streamed mode). opcode is #RTW_WS_OP_TEXT or
   * #RTW_WS_OP_BINARY. */
  int (*on_message_begin)(rtw_ws *ws, int opcode, void *user_data);
  /** The next piece of the current message, unmasked (streamed mode). Pieces follow frame and
   * input boundaries, are never empty, and for text may end inside a UTF-8 sequence; the
   * message as a whole is validated (a text message that turns out invalid fails with 1007
   * at the first bad byte, before on_message_end). */
  int (*on_message_data)(rtw_ws *ws, const void *data, size_t len, void *user_data);
  /** The current message is complete (streamed mode). */
  int (*on_message_end)(rtw_ws *ws, void *user_data);
  /** A whole message (with #RTW_WS_FLAG_WHOLE_MESSAGES). Text is valid UTF-8. */
  int (*on_message)(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data);
  /** A ping arrived (already answered unless #RTW_WS_FLAG_NO_AUTO_PONG). */
  int (*on_ping)(rtw_ws *ws, const void *data, size_t len, void *user_data);
  /** A pong arrived. */
  int (*on_pong)(rtw_ws *ws, const void *data, size_t len, void *user_data);
  /** The peer's close frame arrived. code is #RTW_WS_CLOSE_NO_STATUS when it had no payload;
   * reason is valid UTF-8. The session answers it (if we had not sent a close yet). */
  int (*on_close)(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                  void *user_data);
  /** A payload queued with #RTW_WS_QUEUE_NOCOPY has been fully taken by
   * rtw_ws_send_consumed() (or dropped by rtw_ws_free()); its memory is the caller's again. */
  void (*on_payload_released)(rtw_ws *ws, const void *data, size_t len, void *user_data);
  /** Fill `len` random bytes (client role: masking keys). Return 0, or a negative value on
   * failure. When NULL, the session draws them from a ChaCha20 key stream it seeds once
   * from the operating system's CSPRNG (one system call per session, not per key). */
  int (*random)(rtw_ws *ws, void *buf, size_t len, void *user_data);
} rtw_ws_callbacks;

/**
 * @brief Create a session. No callback fires.
 * @param[out] ws receives the new session; set to NULL on failure.
 * @param role #RTW_WS_ROLE_SERVER (expects masked frames, sends unmasked) or
 *             #RTW_WS_ROLE_CLIENT (the reverse).
 * @param callbacks, settings copied; NULL for none / defaults.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @param user_data passed to every callback; see rtw_ws_user_data().
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL ws, an unknown role, an unknown or zero struct
 *         version, unknown flags or rsv_allowed bits, incomplete mem); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_ws_new(rtw_ws **ws, int role, const rtw_ws_callbacks *callbacks,
                          const rtw_ws_settings *settings, const rtw_mem *mem, void *user_data);

/**
 * @brief Free a session and everything it holds. on_payload_released fires for every
 * #RTW_WS_QUEUE_NOCOPY payload still queued; no other callback fires. No close frame is
 * sent: call rtw_ws_close() and flush first for a clean close.
 *
 * Called from one of the session's own callbacks, the free is deferred: the session is
 * marked, and the outermost API call running that callback frees it right after the
 * callback returns and returns #RTW_ERR_WS_CLOSED (see rtw_ws_callbacks). Either way the
 * handle must not be used once rtw_ws_free() has been called.
 * @param ws the session, or NULL (then nothing happens). Pointers from
 *        rtw_ws_send_pending() become invalid.
 */
RTW_EXPORT void rtw_ws_free(rtw_ws *ws);

/**
 * @brief The user_data given at creation.
 * @param ws the session, or NULL.
 * @return the pointer passed to rtw_ws_new() (not owned by the session); NULL for NULL.
 */
RTW_EXPORT void *rtw_ws_user_data(const rtw_ws *ws);

/**
 * @brief Feed received bytes. Input may be split anywhere; results are the same for every
 * split. `in` is only read, never modified.
 *
 * Callbacks that may fire: on_message_begin, on_message_data, on_message_end (streamed) or
 * on_message (#RTW_WS_FLAG_WHOLE_MESSAGES), on_ping, on_pong, on_close, and random (client
 * role, to mask the automatic pong or close answer). The automatic pong is queued before
 * on_ping runs (also after our own close: RFC 6455 5.5.2; when the queue is over budget the
 * pong waits, and a newer ping replaces it, 5.5.3: see max_outbound); the answer to the peer's close is queued
 * after on_close returns (unless on_close called rtw_ws_close() itself).
 *
 * Backpressure: before each frame header or payload piece, when rtw_ws_outbound_size() is
 * at or above outbound_high_water, recv stops and returns #RTW_ERR_PAUSE with *nread = the
 * bytes consumed so far (possibly 0). Keep the rest; feed it once rtw_ws_want_read() is 1
 * again (after draining output to outbound_low_water).
 * @param ws the session.
 * @param in the bytes (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread always set: bytes consumed (len unless paused or failed).
 * @return 0; #RTW_ERR_PAUSE (a callback paused, or the input gate closed: call again with
 *         the rest); #RTW_ERR_REENTRANT (called from a callback: nothing done, *nread 0);
 *         #RTW_ERR_WS_CLOSED (a callback called rtw_ws_free(): the session is gone); a
 *         protocol error (RTW_ERR_WS_*,
 *         #RTW_ERR_INVALID_UTF8) after which the session has queued the matching close frame
 *         (see rtw_ws_close_sent()) and accepts no more input; #RTW_ERR_CALLBACK_FAILURE;
 *         #RTW_ERR_NOMEM; #RTW_ERR_UNSUPPORTED (client role: the default RNG failed while
 *         masking an answer); #RTW_ERR_INVALID_ARGUMENT (NULL ws or nread, NULL in with
 *         len > 0; not sticky). Errors are sticky. After the peer's close frame, further
 *         input is ignored (consumed).
 */
RTW_EXPORT int rtw_ws_recv(rtw_ws *ws, const void *in, size_t len, size_t *nread);

/**
 * @brief rtw_ws_recv() for a host that owns a writable read buffer: the session unmasks
 * payload bytes in place (the buffer's contents change) and delivers pointers into `in`
 * wherever it can instead of copying (every on_message_data piece in streamed mode, and a
 * whole message that lies in one frame inside `in`; a fragmented message, or one that spans
 * two calls, is assembled in the session's buffer as with rtw_ws_recv()). Same contract,
 * callbacks, return values and backpressure as rtw_ws_recv(); pointers into `in` are valid
 * only during the callback, like any callback pointer. The bytes it did not consume
 * (*nread onwards) are left untouched, so feeding them again later is correct. Control
 * frames and compressed (permessage-deflate) payload are read as rtw_ws_recv() reads them
 * (copied, not unmasked in place). Do not mix the two calls within one frame's payload with
 * bytes already unmasked in place.
 * @param ws the session.
 * @param in received bytes, modified in place (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread bytes consumed (may be less than len; keep the rest).
 * @return as rtw_ws_recv().
 */
RTW_EXPORT int rtw_ws_recv_inplace(rtw_ws *ws, void *in, size_t len, size_t *nread);

/**
 * @brief Release the buffers the session keeps for reuse (see rtw_ws_settings::keep_buffer)
 * now, except what still holds queued output or a message being assembled. No callback
 * fires. rtw_ws_tick() does the same after keep_idle_ms without traffic.
 * @param ws the session.
 * @return 0; #RTW_ERR_REENTRANT (called from a callback of this session); #RTW_ERR_INVALID_ARGUMENT (NULL ws).
 */
RTW_EXPORT int rtw_ws_trim(rtw_ws *ws);

/**
 * @brief Whether the session wants input now: poll the transport for reading while it is 1.
 *
 * When want_read and want_write are both 0, the session is over: close the transport.
 * A client also closes it on EOF from the server (and the server role closes first: RFC
 * 6455 7.1.1 says the server should close the TCP connection).
 * @param ws the session, or NULL.
 * @return 1 while the peer's close has not been received, no fatal error occurred and the
 *         input gate is open (rtw_ws_outbound_size() below outbound_high_water, or back at
 *         outbound_low_water since it closed). Client role: also 1 after the closing
 *         handshake (input is consumed and ignored) so the host waits for the server's EOF,
 *         until close_timeout_ms after the first rtw_ws_tick() that follows the handshake's
 *         completion (the peer's close received and ours written). 0 otherwise (and for
 *         NULL, and after a deferred rtw_ws_free()).
 */
RTW_EXPORT int rtw_ws_want_read(const rtw_ws *ws);

/**
 * @brief Whether there are bytes to write. When want_read and want_write are both 0, the
 * session is over: close the transport (a client also closes it on EOF).
 * @param ws the session, or NULL.
 * @return 1 while bytes are queued; 0 otherwise (and for NULL).
 */
RTW_EXPORT int rtw_ws_want_write(const rtw_ws *ws);

/**
 * @brief Bytes queued for output and not yet taken by rtw_ws_send_consumed(): pending
 * frames plus message bytes not yet serialised. This is the quantity max_outbound bounds
 * and the input gate (outbound_high_water / outbound_low_water) watches. No callback fires.
 * @param ws the session, or NULL.
 * @return the byte count; 0 for NULL.
 */
RTW_EXPORT size_t rtw_ws_outbound_size(const rtw_ws *ws);

/**
 * @brief Tell the session that the host has stopped (paused = 1) or resumed (paused = 0)
 * reading the transport, so keepalive judges the peer fairly.
 *
 * Input counts as paused while this is set, while the input gate holds want_read at 0, and
 * after a callback returned #RTW_ERR_PAUSE until the next rtw_ws_recv(). While input is
 * paused, no keepalive ping is sent and the pong timeout does not run (silence says nothing
 * about a peer we are not reading); once input resumes, both timers restart from the next
 * rtw_ws_tick(): a ping is due keepalive_ms after it, or the outstanding ping fails
 * pong_timeout_ms after it. The close and send timeouts are not affected. rtw_ws_recv()
 * still processes input fed while paused. No callback fires.
 * @param ws the session.
 * @param paused 1 when the host stopped reading, 0 when it reads again.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL ws, paused other than 0 or 1).
 */
RTW_EXPORT int rtw_ws_pause_input(rtw_ws *ws, int paused);

/**
 * @brief The next contiguous bytes to write. The random callback may fire (client role,
 * masking the next fragment of a large message).
 * @param ws the session.
 * @param[out] data points into the session or at a queued payload; valid until the next
 *             call that changes the queue.
 * @param[out] len 0 when nothing is pending.
 * @return 0; #RTW_ERR_NOMEM, or #RTW_ERR_CALLBACK_FAILURE when the random callback failed
 *         (client role), or #RTW_ERR_UNSUPPORTED when the default RNG failed, if the next
 *         fragment of a large message (or an automatic pong that waited for room) could not
 *         be prepared: the session has then failed (want_read and want_write are 0: close
 *         the transport; later calls report the session's first error);
 *         #RTW_ERR_REENTRANT (called from a callback of this session; nothing done);
 *         #RTW_ERR_WS_CLOSED (the random callback called rtw_ws_free(): the session is
 *         gone); #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_ws_send_pending(rtw_ws *ws, const void **data, size_t *len);

/** @brief A gather element, laid out like POSIX `struct iovec`. */
typedef struct rtw_iovec {
  const void *base; /**< start of the bytes (points into the session or a NOCOPY payload) */
  size_t len;       /**< number of bytes at base */
} rtw_iovec;

/**
 * @brief The pending bytes as up to `max` gather elements, in order: frame headers from the
 * session's buffer and payloads in place (NOCOPY payloads are the caller's own memory).
 * Suits writev()/sendmsg(). The pointers are valid until the next call that changes the
 * queue (rtw_ws_send_consumed(), a queue call, rtw_ws_recv(), rtw_ws_tick(), rtw_ws_free()).
 * @param ws the session.
 * @param[out] iov the array to fill.
 * @param max elements available at iov.
 * @param[out] count elements filled (0 when nothing is pending).
 * @return as rtw_ws_send_pending().
 */
RTW_EXPORT int rtw_ws_send_pending_iov(rtw_ws *ws, rtw_iovec *iov, size_t max, size_t *count);

/**
 * @brief Report that the first `n` pending bytes were written (partial writes are normal).
 * on_payload_released fires for each #RTW_WS_QUEUE_NOCOPY payload now fully written.
 * Any n > 0 counts as write progress for send_timeout_ms.
 * @param ws the session.
 * @param n bytes written by the host.
 * @return 0; #RTW_ERR_REENTRANT (called from a callback of this session; nothing done);
 *         #RTW_ERR_WS_CLOSED (on_payload_released called rtw_ws_free(): the session is
 *         gone); #RTW_ERR_INVALID_ARGUMENT (NULL ws, or n exceeds what is pending).
 */
RTW_EXPORT int rtw_ws_send_consumed(rtw_ws *ws, size_t n);

/** @brief Flag for rtw_ws_queue_message(): reference the payload instead of copying it. It
 * must stay unchanged until on_payload_released. In the client role masking never modifies
 * the caller's bytes: a payload of at most keep_buffer bytes, or of one fragment, is copied
 * (masked) and released at once; a larger one is masked one fragment at a time into the
 * session's buffer as the host drains (the random callback then fires from
 * rtw_ws_send_pending() / rtw_ws_send_pending_iov()) and released after its last fragment.
 * A payload under 126 bytes in the server role is copied and released at once too (copying
 * it costs less than a reference). */
#define RTW_WS_QUEUE_NOCOPY 0x1u

/** @brief Flag for rtw_ws_queue_message(): the application
 * vouches that this text payload is valid UTF-8 (e.g. a relay forwarding a text message the
 * session already validated), so the session does not check it again. A payload that is
 * not valid UTF-8 then reaches the peer, which fails the connection with 1007 (RFC 6455
 * 8.1): use it only for text that was validated. Ignored for binary messages. */
#define RTW_WS_QUEUE_VALID_UTF8 0x4u

/**
 * @brief Queue a text (#RTW_WS_OP_TEXT) or binary (#RTW_WS_OP_BINARY) message, fragmented at
 * fragment_size. The random callback may fire (client role: masking keys).
 * @param ws the session.
 * @param opcode #RTW_WS_OP_TEXT or #RTW_WS_OP_BINARY.
 * @param data the payload (NULL allowed with len 0): copied, or referenced with
 *        #RTW_WS_QUEUE_NOCOPY until on_payload_released.
 * @param len bytes at data.
 * @param flags 0 or a combination of #RTW_WS_QUEUE_NOCOPY, #RTW_WS_QUEUE_NO_COMPRESS (see
 *        rtw_ws_set_deflate()) and #RTW_WS_QUEUE_VALID_UTF8.
 * @return 0; #RTW_ERR_INVALID_UTF8 (text that is not UTF-8; nothing queued);
 *         #RTW_ERR_WS_OUTBOUND_FULL (nothing queued); #RTW_ERR_WS_CLOSED (a close was sent
 *         or the session failed); #RTW_ERR_INVALID_STATE (a streamed message is in
 *         progress); #RTW_ERR_NOMEM; #RTW_ERR_CALLBACK_FAILURE (client role: the random
 *         callback failed, nothing queued); #RTW_ERR_UNSUPPORTED (client role: the default
 *         RNG failed); #RTW_ERR_INVALID_ARGUMENT (NULL ws, NULL data with len > 0, another
 *         opcode, unknown flags).
 */
RTW_EXPORT int rtw_ws_queue_message(rtw_ws *ws, int opcode, const void *data, size_t len,
                                    uint32_t flags);

/**
 * @brief Queue a text message: rtw_ws_queue_message(ws, RTW_WS_OP_TEXT, data, len, 0).
 * @param ws the session.
 * @param data UTF-8 text, copied (NULL allowed with len 0).
 * @param len bytes at data.
 * @return as rtw_ws_queue_message().
 */
RTW_EXPORT int rtw_ws_queue_text(rtw_ws *ws, const char *data, size_t len);

/**
 * @brief Queue a binary message: rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, data, len, 0).
 * @param ws the session.
 * @param data the payload, copied (NULL allowed with len 0).
 * @param len bytes at data.
 * @return as rtw_ws_queue_message().
 */
RTW_EXPORT int rtw_ws_queue_binary(rtw_ws *ws, const void *data, size_t len);

/**
 * @brief Queue a message in pieces (streamed send). The first call gives the opcode
 * (#RTW_WS_OP_TEXT or #RTW_WS_OP_BINARY) and starts the message; later calls pass the same
 * opcode; `fin` = 1 ends it. Each call sends at least one frame (an empty one when len is 0
 * and fin is 1). Text is validated across pieces; a piece may end inside a UTF-8 sequence,
 * the final one may not. The random callback may fire (client role).
 *
 * With permessage-deflate on (rtw_ws_set_deflate()) a streamed message is always compressed
 * (the threshold applies to whole messages): each piece is deflated with a sync flush so it
 * can go out at once (RFC 7692 7.2.1), RSV1 on the first frame. A piece is checked against
 * max_outbound by an upper bound of its compressed size (len + len / 16 + 64). Once the
 * compressor has taken a piece the message cannot be taken back: #RTW_ERR_NOMEM then fails
 * the session (close 1011, sticky).
 * @param ws the session.
 * @param opcode #RTW_WS_OP_TEXT or #RTW_WS_OP_BINARY, the same for every piece.
 * @param data this piece, copied (NULL allowed with len 0).
 * @param len bytes at data.
 * @param fin 1 for the last piece, 0 otherwise.
 * @return as rtw_ws_queue_message(); #RTW_ERR_INVALID_STATE for an opcode that does not
 *         match the message in progress.
 */
RTW_EXPORT int rtw_ws_queue_fragment(rtw_ws *ws, int opcode, const void *data, size_t len,
                                     int fin);

/**
 * @brief Queue a ping (payload at most 125 bytes). Control frames go out before queued
 * message fragments that are not yet serialised. The random callback may fire (client role).
 * @param ws the session.
 * @param data the payload, copied (NULL allowed with len 0).
 * @param len bytes at data, at most #RTW_WS_MAX_CONTROL_PAYLOAD.
 * @return 0; #RTW_ERR_WS_CONTROL_TOO_LONG (len > 125); #RTW_ERR_WS_CLOSED (a close was sent
 *         or the session failed); #RTW_ERR_WS_OUTBOUND_FULL; #RTW_ERR_NOMEM;
 *         #RTW_ERR_CALLBACK_FAILURE or #RTW_ERR_UNSUPPORTED (client role: the random
 *         callback or the default RNG failed); #RTW_ERR_INVALID_ARGUMENT (NULL ws, NULL data
 *         with len > 0). Nothing is queued on error.
 */
RTW_EXPORT int rtw_ws_queue_ping(rtw_ws *ws, const void *data, size_t len);

/**
 * @brief Queue an unsolicited pong (payload at most 125 bytes), or answer a ping yourself
 * under #RTW_WS_FLAG_NO_AUTO_PONG.
 * @param ws the session.
 * @param data the payload, copied (NULL allowed with len 0).
 * @param len bytes at data, at most #RTW_WS_MAX_CONTROL_PAYLOAD.
 * @return as rtw_ws_queue_ping().
 */
RTW_EXPORT int rtw_ws_queue_pong(rtw_ws *ws, const void *data, size_t len);

/**
 * @brief Start the closing handshake (RFC 6455 7.1.2): queue a close frame. It goes out after
 * the messages already queued (control frames queued earlier may go first); afterwards
 * nothing else can be queued. Input is still read until the peer's close arrives (or
 * close_timeout_ms passes after the close frame was written, measured by rtw_ws_tick()).
 * The random callback may fire (client role).
 * @param ws the session.
 * @param code 1000-1003, 1007-1014 or 3000-4999; 0 for a close frame without payload.
 * @param reason UTF-8, at most 123 bytes (may be NULL with reason_len 0); copied.
 * @param reason_len bytes at reason.
 * @return 0; #RTW_ERR_WS_BAD_CLOSE_CODE; #RTW_ERR_INVALID_UTF8; #RTW_ERR_WS_CONTROL_TOO_LONG;
 *         #RTW_ERR_WS_CLOSED (already sent); #RTW_ERR_NOMEM or #RTW_ERR_CALLBACK_FAILURE
 *         (client role: the random callback failed) or #RTW_ERR_UNSUPPORTED (client role: the
 *         default RNG failed): nothing was queued and the call may be repeated;
 *         #RTW_ERR_INVALID_ARGUMENT (NULL ws, NULL reason with reason_len > 0).
 */
RTW_EXPORT int rtw_ws_close(rtw_ws *ws, int code, const char *reason, size_t reason_len);

/**
 * @brief The close code we sent (queued). Also set when a protocol error made the session
 * queue one. An answer to the peer's close echoes its code without the reason (RFC 6455
 * 5.5.1).
 * @param ws the session, or NULL.
 * @return the code; 0 when none (and for NULL); #RTW_WS_CLOSE_NO_STATUS when our close frame
 *         had no payload (the answer to an empty close, or rtw_ws_close() with code 0).
 */
RTW_EXPORT int rtw_ws_close_sent(const rtw_ws *ws);

/**
 * @brief The close code the peer sent.
 * @param ws the session, or NULL.
 * @return the code; 0 when none yet (and for NULL); #RTW_WS_CLOSE_NO_STATUS for an empty
 *         close frame.
 */
RTW_EXPORT int rtw_ws_close_received(const rtw_ws *ws);

/**
 * @brief Advance the session's timers to `now_ms` (any monotonic clock, in milliseconds):
 * sends a keepalive ping when due, and fails the session on a pong, close or send timeout.
 * The random callback may fire (client role: masking the ping).
 *
 * Timers never start before the first tick; each is measured in the clock given to tick:
 * - keepalive (keepalive_ms): a ping is queued at the first tick at least keepalive_ms after
 *   the last input (input is counted at the tick following the rtw_ws_recv() that consumed
 *   it; the first tick counts as input). Not while input is paused (rtw_ws_pause_input()),
 *   nor after a close was sent or received.
 * - pong timeout (pong_timeout_ms): runs from the tick that queued the keepalive ping (not
 *   from when it is written); any pong received stops it. Stands still while input is
 *   paused and restarts from the first tick after input resumes.
 * - close timeout (close_timeout_ms): runs from the first tick after our close frame was
 *   completely taken by rtw_ws_send_consumed(), until the peer's close arrives.
 * - client EOF wait (close_timeout_ms): from the first tick after the closing handshake
 *   completed (peer's close received, ours written); when it ends, want_read turns 0 and
 *   tick returns 0: close the transport. Not an error.
 * - send timeout (send_timeout_ms): runs from the first tick that sees output pending, and
 *   restarts at each tick after rtw_ws_send_consumed() took bytes; output drained stops it.
 *   Until our close frame is written, only this timer bounds a peer that stopped reading:
 *   a server facing untrusted peers should set it.
 * - zlib idle release (permessage-deflate without context takeover on a side, while its
 *   stream is allocated and between messages): armed at a tick; at the first tick at or
 *   after #RTW_WS_DEFLATE_IDLE_RELEASE_MS later the stream is released if no compressed
 *   message passed since the arming tick, else the timer is armed again. Not an error.
 * - kept-buffer release (keep_idle_ms, while the session keeps buffers for reuse, see
 *   rtw_ws_settings::keep_buffer): the kept output buffers are released at the first tick
 *   at or after keep_idle_ms from the tick that armed it if nothing was queued since (else
 *   it is armed again); the kept whole-message buffer at the first tick keep_idle_ms after
 *   the last input, unless a message is being assembled in it. Not an error.
 * - after a fatal error (a protocol error queued its close frame): the output still pending
 *   gets send_timeout_ms, or close_timeout_ms when no send timeout is set, measured like the
 *   send timeout; then it is dropped (on_payload_released fires for NOCOPY payloads) and
 *   want_write turns 0, so a peer that never reads cannot hold the connection. Tick returns
 *   0 then (the error was reported when it happened).
 *
 * On #RTW_ERR_WS_PONG_TIMEOUT, #RTW_ERR_WS_CLOSE_TIMEOUT and #RTW_ERR_SEND_TIMEOUT the peer
 * is taken as gone: no close frame is queued, all queued output is dropped
 * (on_payload_released fires for NOCOPY payloads), the error is sticky, and want_read and
 * want_write return 0 from then on: close the transport.
 * @param ws the session.
 * @param now_ms the current time; never smaller than in an earlier call.
 * @return 0 (also when the client's EOF wait ends, and after the session already failed:
 *         the error was reported then); #RTW_ERR_WS_PONG_TIMEOUT; #RTW_ERR_WS_CLOSE_TIMEOUT;
 *         #RTW_ERR_SEND_TIMEOUT; #RTW_ERR_NOMEM, #RTW_ERR_CALLBACK_FAILURE or
 *         #RTW_ERR_UNSUPPORTED when the keepalive ping could not be queued (handled as a
 *         timeout: want_read and want_write turn 0, close the transport);
 *         #RTW_ERR_REENTRANT (called from a callback of this session; nothing done);
 *         #RTW_ERR_WS_CLOSED (the random callback called rtw_ws_free(): the session is
 *         gone); #RTW_ERR_INVALID_ARGUMENT (NULL ws).
 */
RTW_EXPORT int rtw_ws_tick(rtw_ws *ws, uint64_t now_ms);

/**
 * @brief When rtw_ws_tick() next needs to run, in the clock passed to it: the earliest of
 * the timers described at rtw_ws_tick() (keepalive or pong, close, client EOF wait, send,
 * zlib idle release, kept-buffer release).
 * Timers arm from the first tick; a timer that is due to start returns the last tick's time
 * (tick now to arm it).
 * @param ws the session, or NULL.
 * @return the deadline in milliseconds; UINT64_MAX when no timer is armed (also after a
 *         fatal error once nothing is pending, and for NULL).
 */
RTW_EXPORT uint64_t rtw_ws_next_deadline(const rtw_ws *ws);

/* ====================================================================== permessage-deflate */

/**
 * @name permessage-deflate (RFC 7692)
 *
 * Compression is negotiated in the opening handshake (rtw_ws_handshake_server_accept_deflate()
 * and rtw_ws_handshake_client_deflate() in http.h do it for rtweb's own handshake; the
 * functions below serve any other HTTP stack), then switched on in the session with
 * rtw_ws_set_deflate() before any input or output. See docs/permessage-deflate.md.
 */
/**@{*/

/** @brief rtw_ws_deflate_params::client_max_window_bits of an offer that names the parameter
 * without a value (RFC 7692 7.1.2.2: the client can honour a limit the server chooses). */
#define RTW_WS_DEFLATE_BITS_NO_VALUE 1u

/**
 * @brief The parameters of one permessage-deflate offer or response (RFC 7692 7.1). A plain
 * value type: it will not grow.
 *
 * In a parsed offer or response, a window-bits member is 0 when the parameter is absent,
 * 8..15 when present with a value, and (client_max_window_bits of an offer only)
 * #RTW_WS_DEFLATE_BITS_NO_VALUE when present without one. The negotiated parameters a
 * session reports (rtw_ws_deflate_active()) are the response's, with absent windows as 15.
 */
typedef struct rtw_ws_deflate_params {
  uint8_t server_no_context_takeover; /**< 1: the server resets its compressor per message */
  uint8_t client_no_context_takeover; /**< 1: the client resets its compressor per message */
  uint8_t server_max_window_bits;     /**< limit on the server's LZ77 window (see above) */
  uint8_t client_max_window_bits;     /**< limit on the client's LZ77 window (see above) */
} rtw_ws_deflate_params;

/** @name rtw_ws_deflate_config::flags */
/**@{*/
/** Keep our compressor's context between messages: better ratios for streams of similar
 * messages, at the price of holding the compressor's memory while idle and of sending
 * prepared messages (rtw_ws_queue_prepared()) through per-session compression. Off by default:
 * we declare our own `*_no_context_takeover`. */
#define RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER 0x1u
/** Let the peer keep its compressor's context: we then hold a decompressor between messages.
 * Off by default: a server answers `client_no_context_takeover`, a client offers
 * `server_no_context_takeover`. */
#define RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER 0x2u
/** Client role: the connection is useless without compression. rtw_ws_set_deflate() with
 * no negotiated parameters then closes the session with 1010 (RFC 6455 7.4.1). */
#define RTW_WS_DEFLATE_REQUIRED 0x4u
/** Client role: do not offer `client_max_window_bits` (by default it is offered without a
 * value, as browsers do, so a server may limit our window). */
#define RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER 0x8u
/** Free a zlib stream without context takeover after every message instead of resetting it
 * and keeping its memory until the session is idle (#RTW_WS_DEFLATE_IDLE_RELEASE_MS). The
 * least memory at any instant, at the price of allocating the stream (about 262 KiB at
 * 15/8) for every message: on glibc that costs about 1 ms a message (the heap shrinks and
 * grows each time; see docs/permessage-deflate.md, "Memory"). */
#define RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE 0x10u
/**@}*/

/** @brief How long a zlib stream without context takeover stays allocated (reset, so the
 * next message allocates nothing) after the last compressed message: rtw_ws_tick() releases
 * it at the first tick at or after this long from the tick that armed the timer with no
 * compressed message since, so between 1 and 2 times this after the last one (see
 * rtw_ws_tick()). Streams with context takeover are never released (they are the
 * context). */
#define RTW_WS_DEFLATE_IDLE_RELEASE_MS 1000u

/** @brief Default compression level (zlib's 1 = fastest .. 9 = smallest). */
#define RTW_WS_DEFLATE_DEFAULT_LEVEL 6u
/** @brief Default window bits for our compressor and for the peer's (the RFC's default). */
#define RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS 15u
/** @brief Default zlib memLevel of our compressor. */
#define RTW_WS_DEFLATE_DEFAULT_MEM_LEVEL 8u
/** @brief Default memory_budget: 384 KiB, room for a compressor at 15/8 (about 262 KiB) and
 * a decompressor at 15 (about 39 KiB). */
#define RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET (384u * 1024u)

/** @brief The rtw_ws_deflate_config layout this header declares. */
#define RTW_WS_DEFLATE_CONFIG_VERSION 1u

/**
 * @brief The host's compression policy, used to negotiate (both roles) and to run the
 * compressor and decompressor. Zero in any member means its default. Initialise with
 * `rtw_ws_deflate_config c = {.version = RTW_WS_DEFLATE_CONFIG_VERSION};`.
 * The memory each setting costs is measured in docs/permessage-deflate.md.
 */
typedef struct rtw_ws_deflate_config {
  uint32_t version; /**< #RTW_WS_DEFLATE_CONFIG_VERSION */
  uint32_t flags;   /**< RTW_WS_DEFLATE_* flags */
  /** zlib compression level 1..9. Default #RTW_WS_DEFLATE_DEFAULT_LEVEL. */
  uint8_t level;
  /** Largest LZ77 window of our compressor, 9..15 (8 is invalid here: zlib cannot deflate
   * raw with an 8-bit window). The window used is the smaller of this and the limit the
   * peer negotiated; a negotiated limit of 8 is accepted and zlib then runs at 9, whose
   * match distances (at most 250 bytes) an 8-bit decompressor covers. Default 15. */
  uint8_t deflate_window_bits;
  /** zlib memLevel of our compressor, 1..9. Default 8. */
  uint8_t deflate_mem_level;
  /** Largest LZ77 window we accept from the peer, 8..15: a server answers
   * `client_max_window_bits=N` when N < 15 (declining offers that do not allow it), a
   * client offers `server_max_window_bits=N` when N < 15. Default 15. */
  uint8_t inflate_window_bits;
  /** Messages shorter than this many bytes are sent uncompressed. Default 0: compress every
   * message. */
  size_t threshold;
  /** Most zlib memory one session may hold (compressor and decompressor together, as
   * allocated through its rtw_mem). Negotiation declines offers whose windows would not
   * fit; an allocation beyond it fails with #RTW_ERR_NOMEM (close code 1011). Default
   * #RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET. */
  size_t memory_budget;
} rtw_ws_deflate_config;

/** @brief Bytes rtw_ws_deflate_format() and rtw_ws_deflate_offer() may write at most (all
 * four parameters with two-digit values). */
#define RTW_WS_DEFLATE_ELEMENT_MAX 128u

/**
 * @brief Parse one element of a `Sec-WebSocket-Extensions` value, e.g.
 * "permessage-deflate; client_max_window_bits" (RFC 7692 5, 7.1; RFC 6455 9.1 syntax,
 * quoted-string values included). No callback fires; nothing is allocated.
 *
 * Strict: a parameter that is unknown, repeated, has a value where none is allowed, lacks
 * one where one is required, or a window-bits value outside 8..15 (digits only, no leading
 * zero, also once a quoted-string is unescaped) makes the element invalid, as does anything
 * after the parameters. A value-less `client_max_window_bits` is valid only in an offer.
 * Optional whitespace may surround `;` and `=`. Parameter names are compared exactly (they
 * are lowercase in RFC 7692, as node `ws` and python websockets expect them); the extension
 * name case-insensitively, as the handshakes compare extension names.
 * @param ext the element (one offer or the response, without the separating commas), only
 *        read.
 * @param len bytes at ext.
 * @param from who sent it: #RTW_WS_ROLE_CLIENT (an offer) or #RTW_WS_ROLE_SERVER (a
 *        response).
 * @param[out] params the parameters (zeroed when the return is not 1).
 * @return 1 (a valid permessage-deflate element); 0 (another extension, or no token at
 *         all); #RTW_ERR_WS_DEFLATE_PARAM (permessage-deflate with a bad parameter: a server
 *         declines that offer, a client fails the connection, RFC 7692 7);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL params, NULL ext with len > 0, another `from`).
 */
RTW_EXPORT int rtw_ws_deflate_parse(const char *ext, size_t len, int from,
                                    rtw_ws_deflate_params *params);

/**
 * @brief Server role: decide on one parsed offer under `config` (RFC 7692 7.1). No callback
 * fires; nothing is allocated.
 *
 * The response contains only what the client must accept:
 * - `server_no_context_takeover` when offered (7.1.1.1) or unless
 *   #RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER;
 * - `client_no_context_takeover` when offered or unless
 *   #RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER (7.1.1.2);
 * - `server_max_window_bits` when the offer limited it (the smaller of the offer and
 *   config->deflate_window_bits) or when deflate_window_bits is below 15 (7.1.2.1);
 * - `client_max_window_bits` when the offer gave a value (the smaller of it and
 *   config->inflate_window_bits) or named it without one while inflate_window_bits is below
 *   15 (7.1.2.2).
 *
 * An offer of `server_max_window_bits=8` is accepted and answered with 8 (7.1.2.1): zlib
 * deflates at 9 bits then, and a 9-bit zlib compressor never emits a distance above 250
 * bytes, so the client's 8-bit decompressor inflates everything; its memory is estimated at
 * 9 bits.
 *
 * Declined: inflate_window_bits below 15 with no
 * `client_max_window_bits` in the offer (the client could not be limited); windows whose
 * memory (compressor plus decompressor, as estimated for zlib) exceeds
 * config->memory_budget. The caller then tries the next offer.
 * @param offer an offer from rtw_ws_deflate_parse() (from the client), only read.
 * @param config the policy, or NULL for the defaults; only read.
 * @param[out] response the answer when accepted (format it with rtw_ws_deflate_format());
 *             zeroed otherwise.
 * @return 1 accepted; 0 declined; #RTW_ERR_INVALID_ARGUMENT (NULL offer or response, a bad
 *         config, an offer with a window-bits value parse() never gives).
 */
RTW_EXPORT int rtw_ws_deflate_accept(const rtw_ws_deflate_params *offer,
                                     const rtw_ws_deflate_config *config,
                                     rtw_ws_deflate_params *response);

/**
 * @brief Write parameters as a `Sec-WebSocket-Extensions` element, e.g.
 * "permessage-deflate; server_no_context_takeover; client_max_window_bits=10". Members that
 * are 0 are left out, the others written in the struct's order;
 * #RTW_WS_DEFLATE_BITS_NO_VALUE is written without a value. rtw_ws_deflate_parse() of the
 * result gives `params` back. No callback fires.
 * @param params the parameters, only read.
 * @param[out] buf where the text goes (not NUL-terminated).
 * @param cap bytes available at buf (#RTW_WS_DEFLATE_ELEMENT_MAX always suffice).
 * @param[out] len bytes written (0 on error).
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written); #RTW_ERR_INVALID_ARGUMENT
 *         (NULL pointer, a window-bits value other than 0, 1 (client only) or 8..15).
 */
RTW_EXPORT int rtw_ws_deflate_format(const rtw_ws_deflate_params *params, char *buf,
                                     size_t cap, size_t *len);

/**
 * @brief Client role: the offer `config` stands for, as a `Sec-WebSocket-Extensions` value
 * for rtw_ws_handshake_client_settings::extensions. The defaults give
 * "permessage-deflate; server_no_context_takeover; client_no_context_takeover;
 * client_max_window_bits": `server_no_context_takeover` unless
 * #RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER, `client_no_context_takeover` unless
 * #RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER, `server_max_window_bits=N` when
 * config->inflate_window_bits N is below 15, a value-less `client_max_window_bits` unless
 * #RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER. No callback fires.
 * @param config the policy, or NULL for the defaults; only read.
 * @param[out] buf where the text goes (not NUL-terminated).
 * @param cap bytes available at buf (#RTW_WS_DEFLATE_ELEMENT_MAX always suffice).
 * @param[out] len bytes written (0 on error).
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written); #RTW_ERR_INVALID_ARGUMENT (NULL
 *         buf or len, a bad config).
 */
RTW_EXPORT int rtw_ws_deflate_offer(const rtw_ws_deflate_config *config, char *buf, size_t cap,
                                    size_t *len);

/**
 * @brief Client role: check the server's parsed response against the offer `config` makes
 * (rtw_ws_deflate_offer()) and against what zlib can do (RFC 7692 7.1: the server may only
 * answer with what was offered or allowed). No callback fires.
 *
 * Refused: no `server_no_context_takeover` when we offered it (7.1.1.1); no
 * `server_max_window_bits` when we offered one, or a larger value (7.1.2.1);
 * `client_max_window_bits` when we did not offer it or without a value (7.1.2.2); windows
 * whose memory exceeds config->memory_budget. A `client_max_window_bits=8` answer is
 * accepted: our compressor then runs at 9 bits (zlib cannot deflate raw with 8), whose
 * distances (at most 250 bytes) the server's 8-bit decompressor covers; its memory is
 * estimated at 9 bits. The server may add `client_no_context_takeover` and a
 * `server_max_window_bits` we did not ask for.
 * @param config the policy the offer was made from, or NULL for the defaults; only read.
 * @param response from rtw_ws_deflate_parse() (from the server), only read.
 * @return 0 acceptable (pass it to rtw_ws_set_deflate()); #RTW_ERR_WS_DEFLATE_PARAM (see
 *         above): fail the WebSocket connection (RFC 7692 7: "_Fail the WebSocket
 *         Connection_"); #RTW_ERR_INVALID_ARGUMENT (NULL response, a bad config, a
 *         window-bits value parse() never gives).
 */
RTW_EXPORT int rtw_ws_deflate_check_response(const rtw_ws_deflate_config *config,
                                             const rtw_ws_deflate_params *response);

/**
 * @brief Switch permessage-deflate on for a session, with the parameters the handshake
 * negotiated (the response: as answered by a server, as received by a client). Call after
 * rtw_ws_new() and before any rtw_ws_recv() or queue call. zlib state is allocated lazily
 * through the session's rtw_mem when the first compressed message is received or sent. For a
 * side without context takeover it is reset after each message (context dropped, memory
 * kept: no allocation per message) and released by rtw_ws_tick() once no compressed message
 * passed for #RTW_WS_DEFLATE_IDLE_RELEASE_MS, or freed after every message with
 * #RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE; see rtw_ws_deflate_memory().
 *
 * With `negotiated` NULL (the server did not accept compression) nothing changes, unless the
 * session is a client and config has #RTW_WS_DEFLATE_REQUIRED: then a close frame with
 * code 1010 is queued and #RTW_ERR_WS_EXTENSION_MISSING returned (flush and close the
 * transport).
 *
 * Receiving: RSV1 is then allowed on the first frame of a data message only (RFC 7692 6;
 * elsewhere, including RSV1 on a continuation or a control frame, 1002); compressed
 * messages are inflated as their frames arrive, in bounded pieces (4 KiB, on the stack),
 * and max_message_size counts inflated bytes (1009 the moment it is crossed);
 * invalid DEFLATE data fails with #RTW_ERR_WS_BAD_COMPRESSED (1007); text is validated on
 * the inflated bytes, incrementally (1007 at the first bad byte); a zlib allocation beyond
 * config->memory_budget fails with #RTW_ERR_NOMEM (1011). Streamed delivery hands out
 * inflated pieces through on_message_data. A callback's #RTW_ERR_PAUSE (or the input gate)
 * in the middle of a compressed frame loses nothing: `*nread` counts the bytes zlib took,
 * output zlib still holds is delivered first by the next rtw_ws_recv(), and a frame's last
 * byte is never taken while output waits, so the host always has input to resume with.
 *
 * Sending: messages of at least config->threshold bytes are compressed (RFC 7692 7.2.1)
 * unless queued with #RTW_WS_QUEUE_NO_COMPRESS; text is validated before. The compressed
 * payload is the session's (a #RTW_WS_QUEUE_NOCOPY payload is released before the queue
 * call returns) and max_outbound counts compressed bytes; the compressor's own memory
 * counts against the budget. Without our context takeover, a message that does not shrink
 * goes out uncompressed (RSV1 clear). Our window is the smaller of
 * config->deflate_window_bits and the one negotiated for our side; a negotiated 8 runs zlib
 * at 9 (RFC 7692 7.1.2: zlib refuses raw windowBits 8, and at 9 it emits no distance above
 * 512 - 262 = 250 bytes, which the peer's 256-byte window holds). Control frames are never
 * compressed.
 * @param ws the session.
 * @param negotiated the negotiated parameters (only read; copied), or NULL.
 * @param config the policy (level, memLevel, threshold, budget), or NULL for the defaults;
 *        copied.
 * @return 0; #RTW_ERR_WS_EXTENSION_MISSING (see above); #RTW_ERR_WS_DEFLATE_PARAM
 *         (negotiated window-bits values outside 8..15 other than 0); #RTW_ERR_INVALID_STATE (input or output has
 *         already passed, or called twice); #RTW_ERR_INVALID_ARGUMENT (NULL ws, a bad
 *         config).
 */
RTW_EXPORT int rtw_ws_set_deflate(rtw_ws *ws, const rtw_ws_deflate_params *negotiated,
                                  const rtw_ws_deflate_config *config);

/**
 * @brief Whether permessage-deflate is on for this session, and with which parameters.
 * @param ws the session, or NULL.
 * @param[out] negotiated filled with the negotiated parameters (absent windows as 15) when
 *             on; may be NULL.
 * @return 1 on; 0 off (and for NULL).
 */
RTW_EXPORT int rtw_ws_deflate_active(const rtw_ws *ws, rtw_ws_deflate_params *negotiated);

/**
 * @brief zlib memory the session holds now (compressor plus decompressor, as allocated
 * through its rtw_mem). 0 before the first compressed message, and for a session without
 * context takeover once rtw_ws_tick() released its streams after
 * #RTW_WS_DEFLATE_IDLE_RELEASE_MS without compressed messages (at once after each message
 * with #RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE). No callback fires.
 * @param ws the session, or NULL.
 * @return bytes; 0 for NULL.
 */
RTW_EXPORT size_t rtw_ws_deflate_memory(const rtw_ws *ws);

/** @brief Flag for rtw_ws_queue_message(): send this message uncompressed even when
 * permessage-deflate is on (e.g. data already compressed). */
#define RTW_WS_QUEUE_NO_COMPRESS 0x2u

/* ---------------------------------------------------------------- prepared messages */

/**
 * @brief A message framed (and compressed) once, to be queued on many sessions. Opaque,
 * reference-counted: each session holding it keeps it alive until its bytes are written.
 * Not thread-safe: use it, its sessions and rtw_ws_prepared_free() on one thread.
 */
typedef struct rtw_ws_prepared rtw_ws_prepared;

/**
 * @brief Build a prepared message: the payload is copied once, framed as one unmasked frame,
 * and (with `deflate` non-NULL) also compressed once with a fresh context at
 * deflate->level, deflate_window_bits and deflate_mem_level (RFC 7692 7.2.1). No callback
 * fires.
 *
 * Each form is a single frame with FIN set, whatever its size (it is not fragmented at a
 * session's fragment_size, so no control frame goes out in its middle); the compressed one
 * has RSV1 set and the sync flush's tail removed. Both frames and the struct take one
 * allocation of about the payload plus its compressed size; the compressor is a temporary
 * one, bounded by what its window and memLevel need, released before the call returns.
 * There is no compressed form when len is below deflate->threshold or when deflating does
 * not make the payload smaller (rtw_ws_prepared_sizes() then reports 0): every session then
 * gets the plain frame. Text is validated here once.
 * @param[out] pm the new prepared message (NULL on failure); its reference is the caller's.
 * @param opcode #RTW_WS_OP_TEXT or #RTW_WS_OP_BINARY.
 * @param data the payload (NULL allowed with len 0), copied.
 * @param len bytes at data.
 * @param deflate the compression settings, or NULL for no compressed form.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_UTF8 (text that is not UTF-8); #RTW_ERR_NOMEM;
 *         #RTW_ERR_INVALID_ARGUMENT (NULL pm, NULL data with len > 0, another opcode, a
 *         bad config, incomplete mem).
 */
RTW_EXPORT int rtw_ws_prepared_new(rtw_ws_prepared **pm, int opcode, const void *data,
                                   size_t len, const rtw_ws_deflate_config *deflate,
                                   const rtw_mem *mem);

/**
 * @brief Drop the caller's reference. The memory is freed when no session holds the
 * message any more.
 * @param pm the prepared message, or NULL (nothing happens).
 */
RTW_EXPORT void rtw_ws_prepared_free(rtw_ws_prepared *pm);

/**
 * @brief The sizes of a prepared message's frames (header included).
 * @param pm the prepared message, or NULL.
 * @param[out] plain_len bytes of the uncompressed frame; may be NULL.
 * @param[out] compressed_len bytes of the compressed frame, 0 when it has none; may be NULL.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL pm).
 */
RTW_EXPORT int rtw_ws_prepared_sizes(const rtw_ws_prepared *pm, size_t *plain_len,
                                     size_t *compressed_len);

/**
 * @brief Queue a prepared message on a session, zero-copy where possible: a server session
 * whose negotiated parameters have `server_no_context_takeover` and a server window at
 * least the prepared one's (a negotiated 8 counts as 9, see rtw_ws_set_deflate()) gets the
 * shared compressed frame; a server session without
 * permessage-deflate, or any server session when the message has no compressed form, gets
 * the shared plain frame; any other session (context takeover, smaller window, client role)
 * compresses or masks its own copy, as rtw_ws_queue_message() with flags 0 would (under its
 * own threshold). A shared frame reaches rtw_ws_send_pending_iov() as one element pointing
 * into the prepared message. The session holds a reference until the frame is written (or
 * dropped by rtw_ws_free()), so rtw_ws_prepared_free() may come at any time after this call.
 * Counts against max_outbound like any message. No callback fires except random (client
 * role).
 * @param ws the session.
 * @param pm the prepared message (its reference count changes, nothing else).
 * @return as rtw_ws_queue_message() (text is already valid): 0;
 *         #RTW_ERR_WS_OUTBOUND_FULL (nothing queued, no reference taken);
 *         #RTW_ERR_WS_CLOSED; #RTW_ERR_INVALID_STATE (a streamed message is in progress);
 *         #RTW_ERR_NOMEM; #RTW_ERR_CALLBACK_FAILURE or #RTW_ERR_UNSUPPORTED (client role: the
 *         random callback or the default RNG failed); #RTW_ERR_INVALID_ARGUMENT (NULL ws or
 *         pm).
 */
RTW_EXPORT int rtw_ws_queue_prepared(rtw_ws *ws, rtw_ws_prepared *pm);
/**@}*/

/**
 * @name Event batches (one call per read, for language bindings)
 *
 * A binding that pays for every crossing into its host language (Python's ctypes, for
 * one) records the events of one rtw_ws_recv() in a batch instead of taking a callback
 * per event: a compact array of #rtw_ws_batch_event (kind, opcode or close code, offset,
 * length) and one arena holding their payloads back to back, walked after the call
 * returns. rtw_ws_queue_batch() is the other direction: many messages, described by the
 * same event array, queued in one call.
 *
 * Use: create the batch, fill the session's callbacks with rtw_ws_batch_callbacks() and
 * pass the batch as the session's user_data to rtw_ws_new(); then call
 * rtw_ws_batch_recv() instead of rtw_ws_recv() and read rtw_ws_batch_events().
 *
 * Bounds: once a batch holds max_events events, or its arena holds at least max_arena
 * bytes, the recording callback returns #RTW_ERR_PAUSE, so the session stops after the frame
 * piece under way and rtw_ws_batch_recv() returns #RTW_ERR_PAUSE with rtw_ws_batch_full() = 1
 * and *nread short of len (or equal to it when the input ended there): take the events and
 * call again with the rest. That piece may still complete up to 2 more events (streamed
 * mode: a message begin is followed by its data and end), so a batch holds at most
 * max_events + 2 events, and its arena at most max_arena plus what one piece delivers (a
 * whole message: at most the session's max_message_size; a control frame: 125 bytes; a
 * streamed piece: at most the input given).
 */
/**@{*/

/** @brief Opaque event recorder (see "Event batches"). */
typedef struct rtw_ws_batch rtw_ws_batch;

/** @brief Event kind: a whole message (whole-message mode); value = opcode, the payload is
 * the message (text is valid UTF-8). */
#define RTW_WS_BATCH_MESSAGE 1u
/** @brief Event kind: a message starts (streamed mode); value = opcode, no payload. */
#define RTW_WS_BATCH_BEGIN 2u
/** @brief Event kind: the next piece of the current message (streamed mode); value 0. */
#define RTW_WS_BATCH_DATA 3u
/** @brief Event kind: the current message is complete (streamed mode); no payload. */
#define RTW_WS_BATCH_END 4u
/** @brief Event kind: a ping arrived; the payload is its application data. */
#define RTW_WS_BATCH_PING 5u
/** @brief Event kind: a pong arrived; the payload is its application data. */
#define RTW_WS_BATCH_PONG 6u
/** @brief Event kind: the peer's close frame; value = close code (#RTW_WS_CLOSE_NO_STATUS
 * when it had none), the payload is the reason (valid UTF-8). */
#define RTW_WS_BATCH_CLOSE 7u

/** @brief Default max_events of rtw_ws_batch_new(): 4096. */
#define RTW_WS_BATCH_DEFAULT_MAX_EVENTS 4096u
/** @brief Default max_arena of rtw_ws_batch_new(): 256 KiB. */
#define RTW_WS_BATCH_DEFAULT_MAX_ARENA (256u * 1024u)

/** @brief One recorded event. This layout is fixed (no version): 24 bytes where size_t is
 * 8 bytes, 16 where it is 4. */
typedef struct rtw_ws_batch_event {
  uint32_t kind;  /**< #RTW_WS_BATCH_MESSAGE ... #RTW_WS_BATCH_CLOSE */
  uint32_t value; /**< opcode (MESSAGE, BEGIN), close code (CLOSE), else 0 */
  size_t offset;  /**< where the payload starts in the arena */
  size_t length;  /**< payload bytes (0 for BEGIN and END) */
} rtw_ws_batch_event;

/**
 * @brief Create an empty batch. No callback fires.
 * @param[out] batch receives the batch; set to NULL on failure.
 * @param max_events events per batch before recording pauses (at least 1); 0 for
 *        #RTW_WS_BATCH_DEFAULT_MAX_EVENTS.
 * @param max_arena arena bytes after which recording pauses; 0 for
 *        #RTW_WS_BATCH_DEFAULT_MAX_ARENA.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL batch, incomplete mem); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_ws_batch_new(rtw_ws_batch **batch, size_t max_events, size_t max_arena,
                                const rtw_mem *mem);

/**
 * @brief Free a batch and its arena. Free the session that records into it first (or
 * never call that session's recv again).
 * @param batch the batch, or NULL (then nothing happens).
 */
RTW_EXPORT void rtw_ws_batch_free(rtw_ws_batch *batch);

/**
 * @brief Point the event members of `callbacks` at the batch's recorders: on_message
 * (whole_messages = 1) or on_message_begin, on_message_data and on_message_end
 * (whole_messages = 0, which clears on_message), plus on_ping, on_pong and on_close. The
 * other members (random, on_payload_released, version) are left as they are. The session
 * created with these callbacks must have the batch as its user_data (so a host's own
 * random or on_payload_released callback receives the batch: keep a map from it to the
 * host's state).
 * @param callbacks the struct to fill (NULL: nothing happens).
 * @param whole_messages 1 when the session has #RTW_WS_FLAG_WHOLE_MESSAGES, else 0.
 */
RTW_EXPORT void rtw_ws_batch_callbacks(rtw_ws_callbacks *callbacks, int whole_messages);

/**
 * @brief Empty the batch, then rtw_ws_recv() into it: every event the input completes is
 * recorded instead of reaching a host callback. The events stay readable until the next
 * rtw_ws_batch_recv() or rtw_ws_batch_free().
 * @param batch the batch the session records into (its user_data).
 * @param ws the session.
 * @param in received bytes (NULL allowed with len 0).
 * @param len bytes at in.
 * @param[out] nread bytes consumed (may be less than len; keep the rest).
 * @return what rtw_ws_recv() returned: 0; #RTW_ERR_PAUSE (the batch filled up,
 *         rtw_ws_batch_full() = 1, or the session's input gate closed: call again with the
 *         rest); a protocol error (the events before it are recorded);
 *         #RTW_ERR_CALLBACK_FAILURE (the arena could not grow: out of memory; the session
 *         has failed with 1011); #RTW_ERR_REENTRANT (called while the batch is recording,
 *         from a callback of the session; nothing done); #RTW_ERR_INVALID_ARGUMENT (NULL
 *         batch, ws or nread, or ws records into another batch, as rtw_ws_recv()).
 */
RTW_EXPORT int rtw_ws_batch_recv(rtw_ws_batch *batch, rtw_ws *ws, const void *in, size_t len,
                                 size_t *nread);

/**
 * @brief The events of the last rtw_ws_batch_recv(). No callback fires.
 * @param batch the batch.
 * @param[out] events receives the event array (NULL when there are none); may be NULL.
 * @param[out] arena receives the arena the events' offsets point into; may be NULL. Both
 *             pointers are valid until the next rtw_ws_batch_recv() or rtw_ws_batch_free().
 * @return the number of events (0 for NULL batch).
 */
RTW_EXPORT size_t rtw_ws_batch_events(const rtw_ws_batch *batch,
                                      const rtw_ws_batch_event **events,
                                      const uint8_t **arena);

/**
 * @brief Whether the last rtw_ws_batch_recv() stopped because the batch filled up (as
 * opposed to the session's input gate): then feed the rest of the input at once.
 * @param batch the batch, or NULL (then 0).
 * @return 1 or 0.
 */
RTW_EXPORT int rtw_ws_batch_full(const rtw_ws_batch *batch);

/**
 * @brief Queue the messages an event array describes in one call, in order, as
 * rtw_ws_queue_message() with `flags` would one by one (the form rtw_ws_batch_events()
 * hands out, so a relay can queue what it received). Item i has kind
 * #RTW_WS_BATCH_MESSAGE, value #RTW_WS_OP_TEXT or #RTW_WS_OP_BINARY, and its payload is
 * data[offset, offset + length). Stops at the first message that cannot be queued. The
 * random callback may fire (client role).
 * @param ws the session.
 * @param data the payloads (NULL allowed when data_len is 0).
 * @param data_len bytes at data.
 * @param items the messages (NULL allowed when count is 0).
 * @param count number of items.
 * @param flags as rtw_ws_queue_message(), except #RTW_WS_QUEUE_NOCOPY (not allowed):
 *        #RTW_WS_QUEUE_VALID_UTF8 applies to every text item.
 * @param[out] queued receives how many were queued (count on success); may be NULL.
 * @return 0; the first error rtw_ws_queue_message() returned (items before it are queued,
 *         none after): #RTW_ERR_INVALID_UTF8, #RTW_ERR_WS_OUTBOUND_FULL,
 *         #RTW_ERR_WS_CLOSED, #RTW_ERR_INVALID_STATE, #RTW_ERR_NOMEM,
 *         #RTW_ERR_CALLBACK_FAILURE or #RTW_ERR_UNSUPPORTED (client role: the random
 *         callback or the default RNG failed); #RTW_ERR_INVALID_ARGUMENT (NULL ws, NULL
 *         data or items where needed, an item of another kind or opcode or outside data,
 *         #RTW_WS_QUEUE_NOCOPY or an unknown flag; all items are checked first, so nothing
 *         is queued).
 */
RTW_EXPORT int rtw_ws_queue_batch(rtw_ws *ws, const void *data, size_t data_len,
                                  const rtw_ws_batch_event *items, size_t count,
                                  uint32_t flags, size_t *queued);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_WS_H */
