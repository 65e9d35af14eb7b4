/* SPDX-License-Identifier: MIT */
/**
 * @file sse.h
 * @brief Server-Sent Events: event-stream parser, writer and replay history.
 *
 * Implements WHATWG HTML, section 9.2 "Server-sent events": 9.2.5 (parsing an event stream)
 * and 9.2.6 (interpreting an event stream) on the client side, and the matching serializer
 * and a bounded replay history for `Last-Event-ID` on the server side. No I/O, no clock, no
 * threads: bytes in, callbacks out. See docs/sse.md for a guide.
 *
 * Compiles as C89, C99 and C++.
 */
#ifndef RTWEB_SSE_H
#define RTWEB_SSE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== events */

/**
 * @brief One event, as the parser reports it (on_event) and as the writer and the SSE stream
 * take it (rtw_sse_write_event(), rtw_sse_stream_send()). A plain value type: its layout will
 * not grow (new event attributes come through new functions).
 *
 * Strings carry explicit lengths, may contain NUL bytes and are not NUL-terminated.
 * Initialise with `rtw_sse_event ev = {0};` and set what you need.
 */
typedef struct rtw_sse_event {
  /** Event type. Parser: never NULL ("message" when the block set none or an empty one).
   * Writer: NULL (with type_len 0) for no `event` line, i.e. the default "message". */
  const char *type;
  size_t type_len; /**< bytes at type */
  /** Event id. Parser: the last event ID, never NULL ("" when none was ever set). Writer: NULL
   * for no `id` line; an empty non-NULL id writes `id:`, which resets the client's last
   * event ID. */
  const char *id;
  size_t id_len; /**< bytes at id */
  /** The data, lines joined with LF. Parser: NULL (with the total length) under
   * #RTW_SSE_FLAG_STREAM_DATA. Writer: NULL allowed with data_len 0. */
  const char *data;
  size_t data_len; /**< bytes at data */
} rtw_sse_event;

/* ====================================================================== parser */

/** @brief An event-stream parser (client side). Opaque; one per stream. */
typedef struct rtw_sse_parser rtw_sse_parser;

/** @brief Default for rtw_sse_settings::max_event_size: 16 MiB. */
#define RTW_SSE_DEFAULT_MAX_EVENT_SIZE (16u * 1024u * 1024u)
/** @brief Default for rtw_sse_settings::max_id_length: 1 MiB. */
#define RTW_SSE_DEFAULT_MAX_ID_LENGTH (1024u * 1024u)
/** @brief Default for rtw_sse_settings::max_type_length: 1 MiB. */
#define RTW_SSE_DEFAULT_MAX_TYPE_LENGTH (1024u * 1024u)
/** @brief Default for rtw_sse_settings::max_comment_length: 64 KiB. */
#define RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH (64u * 1024u)

/**
 * @brief Flag for rtw_sse_settings::flags: deliver event data in pieces (on_data) instead of
 * buffering the whole event. on_event then reports the total length and a NULL data pointer.
 * max_event_size does not apply in this mode: no event is buffered whole (data lines may be
 * gathered into pieces of up to 16 KiB, see rtw_sse_callbacks::on_data).
 */
#define RTW_SSE_FLAG_STREAM_DATA 0x1u
/**
 * @brief Flag for rtw_sse_settings::flags: pass bytes through without UTF-8 decoding.
 * Not spec behaviour (the spec replaces invalid UTF-8 with U+FFFD); for hosts that decode
 * themselves. The leading BOM is still stripped.
 */
#define RTW_SSE_FLAG_RAW_BYTES 0x2u

/** @brief The rtw_sse_settings layout this header declares. */
#define RTW_SSE_SETTINGS_VERSION 2u

/**
 * @brief Parser limits and options. Zero in any limit means its default.
 *
 * No line is buffered as a whole, so no limit applies to a line as such: comments, `retry`
 * values and unknown fields of any length are accepted, as browsers accept them, and take no
 * memory (they are skipped as they stream). Memory goes only to what a callback reports: the
 * event's data (max_event_size), its type (max_type_length), the id (max_id_length) and, when
 * on_comment is set, the start of a comment (max_comment_length). Each limit is checked
 * before memory is taken; buffers grow only as far as the stream needs and are kept for
 * reuse until the parser is freed (docs/limits.md lists them).
 *
 * Initialise with `rtw_sse_settings s = {.version = RTW_SSE_SETTINGS_VERSION};` (all other members zero)
 * and set what you need. The library reads only the members that existed in `version`, so
 * a program built against an older header keeps working with a newer library.
 */
typedef struct rtw_sse_settings {
  /** must be #RTW_SSE_SETTINGS_VERSION (2; version 1, never released, had a
   * max_line_length member and is refused) */
  uint32_t version;
  uint32_t flags;   /**< RTW_SSE_FLAG_* */
  /**
   * Largest data of one event (after UTF-8 decoding, trailing LF removed, joined lines),
   * checked before memory is taken. Exceeding it fails with #RTW_ERR_SSE_EVENT_TOO_LARGE.
   * Ignored with #RTW_SSE_FLAG_STREAM_DATA. Default #RTW_SSE_DEFAULT_MAX_EVENT_SIZE.
   */
  size_t max_event_size;
  /**
   * Longest `id` value (after decoding). Exceeding it fails with #RTW_ERR_SSE_ID_TOO_LONG,
   * at the end of its line; an id containing NUL is ignored (WHATWG 9.2.6) whatever its
   * length. Default #RTW_SSE_DEFAULT_MAX_ID_LENGTH.
   */
  size_t max_id_length;
  /**
   * Longest `event` value (after decoding). Exceeding it fails with
   * #RTW_ERR_SSE_TYPE_TOO_LONG. Default #RTW_SSE_DEFAULT_MAX_TYPE_LENGTH.
   */
  size_t max_type_length;
  /**
   * How much of a comment on_comment sees: the first max_comment_length bytes of its text as
   * received (after the colon and the optional space). A longer comment is not an error: it
   * is delivered cut to that length (a character cut by the bound is dropped whole) and the
   * rest is skipped as it streams. Only kept when on_comment is set. Default
   * #RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH.
   */
  size_t max_comment_length;
} rtw_sse_settings;

/** @brief The rtw_sse_callbacks layout this header declares. */
#define RTW_SSE_CALLBACKS_VERSION 2u

/**
 * @brief Parser callbacks. Any member may be NULL.
 *
 * Every pointer passed to a callback is valid only during that call. Strings carry explicit
 * lengths and may contain NUL bytes; they are not NUL-terminated. Text is valid UTF-8 (the
 * parser replaces invalid sequences with U+FFFD) unless #RTW_SSE_FLAG_RAW_BYTES is set.
 *
 * Return 0 to continue, #RTW_ERR_PAUSE to make rtw_sse_parser_recv() return after the line
 * being processed (the host feeds the rest later), or any other negative value to fail the
 * parser with #RTW_ERR_CALLBACK_FAILURE (sticky).
 *
 * Re-entrancy: a callback may read the parser (rtw_sse_parser_last_event_id(),
 * rtw_sse_parser_user_data()). rtw_sse_parser_recv(), rtw_sse_parser_end() and
 * rtw_sse_parser_reset() called from a callback of the same parser return
 * #RTW_ERR_REENTRANT and do nothing (not sticky; recv sets *nread to 0).
 * rtw_sse_parser_free() from a callback is deferred: the call that ran the callback
 * (rtw_sse_parser_recv() or rtw_sse_parser_end()) fires no other callback and processes
 * nothing more once it returns, frees the parser and returns #RTW_ERR_CALLBACK_FAILURE.
 * The handle is invalid from the moment rtw_sse_parser_free() is called.
 *
 * Initialise with `rtw_sse_callbacks cb = {.version = RTW_SSE_CALLBACKS_VERSION};`.
 */
typedef struct rtw_sse_callbacks {
  /** must be #RTW_SSE_CALLBACKS_VERSION (2; version 1, never released, passed on_event its
   * strings as separate arguments and is refused) */
  uint32_t version;
  /**
   * An event is dispatched (a blank line ended a block that had at least one `data` field).
   * @param ev the event, valid only during the call: ev->type is never NULL ("message" when
   *           the block set none or an empty one); ev->id is the last event ID, never NULL
   *           (it persists across events; "" when none was ever set); ev->data is the data
   *           with the trailing LF removed, or NULL (with the total length in ev->data_len)
   *           under #RTW_SSE_FLAG_STREAM_DATA, where the bytes came through on_data.
   */
  int (*on_event)(rtw_sse_parser *parser, const rtw_sse_event *ev, void *user_data);
  /**
   * The last event ID changed: called at the blank line ending a block that contained an
   * accepted `id` field (also when the block has no data and so dispatches nothing), before
   * on_event. Store it to send as `Last-Event-ID` when reconnecting.
   */
  int (*on_id)(rtw_sse_parser *parser, const char *id, size_t id_len, void *user_data);
  /**
   * A valid `retry` field (ASCII digits only) set the reconnection time, in milliseconds;
   * values above UINT32_MAX saturate to UINT32_MAX.
   */
  int (*on_retry)(rtw_sse_parser *parser, uint32_t ms, void *user_data);
  /**
   * A comment line (starting with ':'). text is what follows the colon, with one leading
   * space removed if present (the same rule as field values). Heartbeats arrive here. A
   * comment longer than rtw_sse_settings::max_comment_length arrives once, cut to that
   * many bytes (as received, before UTF-8 decoding; a character cut by the bound is dropped).
   */
  int (*on_comment)(rtw_sse_parser *parser, const char *text, size_t len, void *user_data);
  /**
   * Only with #RTW_SSE_FLAG_STREAM_DATA: the next piece of the current event's data, in
   * order. Line breaks between `data` lines arrive as LF; the final LF is never delivered.
   * Pieces are never empty and may be of any size: a piece may gather several data lines
   * (with the LFs between them), up to 16 KiB, copied into a buffer the parser allocates once
   * and frees with the parser; a returned #RTW_ERR_PAUSE then takes effect after the piece's
   * last line.
   */
  int (*on_data)(rtw_sse_parser *parser, const char *piece, size_t len, void *user_data);
  /**
   * Only with #RTW_SSE_FLAG_STREAM_DATA: the data delivered through on_data since the last
   * on_event belongs to an event that will never be dispatched (end of stream or reset
   * before its blank line). Discard it.
   */
  int (*on_discard)(rtw_sse_parser *parser, void *user_data);
} rtw_sse_callbacks;

/**
 * @brief Create a parser.
 * @param[out] parser receives the new parser; set to NULL on failure.
 * @param callbacks copied; NULL for none.
 * @param settings copied; NULL for defaults.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @param user_data passed to every callback.
 * @return 0, #RTW_ERR_INVALID_ARGUMENT (NULL parser, unknown struct version, bad flags),
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_parser_new(rtw_sse_parser **parser, const rtw_sse_callbacks *callbacks,
                                  const rtw_sse_settings *settings, const rtw_mem *mem,
                                  void *user_data);

/**
 * @brief Free a parser and everything it holds. No callback fires (pending data is dropped
 * without on_discard).
 *
 * Called from one of the parser's own callbacks, the free is deferred: the
 * rtw_sse_parser_recv() or rtw_sse_parser_end() running that callback stops as soon as it
 * returns, frees the parser and returns #RTW_ERR_CALLBACK_FAILURE. Either way the handle
 * must not be used once this function has been called.
 * @param parser the parser, or NULL (then nothing happens). Pointers obtained from it
 *        (rtw_sse_parser_last_event_id()) become invalid.
 */
RTW_EXPORT void rtw_sse_parser_free(rtw_sse_parser *parser);

/**
 * @brief Feed bytes of the event stream.
 *
 * Input may be split anywhere, down to single bytes; the events are the same for every
 * split. Lines are processed as soon as their terminator arrives (a CR is acted on at once;
 * an LF right after it, even in the next call, is not a second line end).
 *
 * Callbacks that may fire, in stream order: on_comment, on_retry, on_data (streaming mode),
 * on_id then on_event at a blank line. None fires after a fatal error.
 *
 * @param parser the parser.
 * @param in the bytes; only read during the call (the parser copies what it must keep).
 * @param len bytes at in (0 is allowed and does nothing).
 * @param[out] nread always set: bytes consumed. Equals len unless paused or failed.
 * @return 0 when all input was consumed; #RTW_ERR_PAUSE when a callback paused (call again
 *         with the remaining bytes); #RTW_ERR_SSE_EVENT_TOO_LARGE, #RTW_ERR_SSE_TYPE_TOO_LONG,
 *         #RTW_ERR_SSE_ID_TOO_LONG, #RTW_ERR_NOMEM, #RTW_ERR_CALLBACK_FAILURE: fatal and
 *         sticky (every later call returns the same code until rtw_sse_parser_reset());
 *         #RTW_ERR_CALLBACK_FAILURE also when a callback called rtw_sse_parser_free(): the
 *         parser is then gone (*nread counts the input up to that callback's line);
 *         #RTW_ERR_REENTRANT (called from one of the parser's callbacks: nothing done,
 *         *nread 0, not sticky); #RTW_ERR_INVALID_ARGUMENT for NULL parser/nread or NULL in
 *         with len > 0.
 */
RTW_EXPORT int rtw_sse_parser_recv(rtw_sse_parser *parser, const void *in, size_t len,
                                   size_t *nread);

/**
 * @brief End of stream (the connection closed or the body ended).
 *
 * Per WHATWG 9.2.6 pending data is discarded: an event without its blank line is never
 * dispatched, an incomplete last line is dropped, and an `id` in that unfinished block does
 * not change the last event ID. Under #RTW_SSE_FLAG_STREAM_DATA, on_discard fires if the
 * unfinished event had a `data` field (whatever on_data delivered of it, possibly
 * nothing). The parser is then ready for the next stream (a new BOM is accepted) and keeps
 * the last event ID.
 * @param parser the parser.
 * @return 0 (also when on_discard returned #RTW_ERR_PAUSE); a sticky error from earlier
 *         (returned again, nothing else done); #RTW_ERR_CALLBACK_FAILURE when on_discard
 *         returned another negative value (the parser is then failed with it, sticky), or
 *         called rtw_sse_parser_free() (the parser is then gone); #RTW_ERR_REENTRANT (called
 *         from one of the parser's callbacks: nothing done, not sticky);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL parser).
 */
RTW_EXPORT int rtw_sse_parser_end(rtw_sse_parser *parser);

/**
 * @brief Reset for a new stream, clearing any sticky error, and set the last event ID.
 *
 * Use when reconnecting: pass the ID sent as `Last-Event-ID` (or NULL/0 to keep the current
 * one), so events of the new stream without an `id` field report it, as browsers do. Pending
 * data is dropped without calling on_discard.
 * No callback fires.
 * @param parser the parser.
 * @param id the seed, copied; NULL with id_len 0 keeps the current last event ID.
 * @param id_len bytes at id.
 * @return 0, #RTW_ERR_INVALID_ARGUMENT (id contains NUL, CR or LF, or NULL with id_len > 0),
 *         #RTW_ERR_SSE_ID_TOO_LONG, #RTW_ERR_REENTRANT (called from one of the parser's
 *         callbacks; these three leave the parser unchanged), #RTW_ERR_NOMEM (the parser is
 *         then failed with that sticky error; reset again to retry).
 */
RTW_EXPORT int rtw_sse_parser_reset(rtw_sse_parser *parser, const char *id, size_t id_len);

/**
 * @brief The last event ID (what a reconnect sends as `Last-Event-ID`).
 * @param parser the parser.
 * @param[out] id points into the parser, valid until the next call on it; never NULL.
 * @param[out] id_len its length (0 when none).
 * @return 0 or #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_sse_parser_last_event_id(const rtw_sse_parser *parser, const char **id,
                                            size_t *id_len);

/**
 * @brief The user_data given at creation.
 * @param parser the parser, or NULL.
 * @return the pointer passed to rtw_sse_parser_new() (not owned by the parser); NULL for a
 *         NULL parser.
 */
RTW_EXPORT void *rtw_sse_parser_user_data(const rtw_sse_parser *parser);

/* ====================================================================== writer */

/** @brief Writer flag: end lines with CRLF instead of LF. */
#define RTW_SSE_WRITE_CRLF 0x1u

/**
 * @brief Serialise one event.
 *
 * Writes `event: <type>` (when type_len > 0), `id: <id>` (when id is not NULL; an empty id
 * writes `id:` and resets the client's last event ID), one `data: ` line per line of data
 * (data is split at CR, LF and CRLF; empty data writes `data:`, which still dispatches), and
 * the blank line. The parser turns the result back into the same type, id and data, with
 * every line break in data as LF.
 *
 * Size query: with buf NULL, sets *out_len to the exact size and returns 0. The input is
 * checked first, so a size query fails exactly when the write would.
 *
 * @param buf destination, or NULL for a size query. Never NUL-terminated.
 * @param cap bytes available at buf.
 * @param[out] out_len bytes written, or needed; 0 after any other error.
 * @param ev the event, only read during the call (as are the strings it points to).
 *        ev->type: NULL (with type_len 0) or type_len 0 writes no `event` line (the default
 *        "message"); may contain NUL. ev->id: NULL for no `id` line; an empty non-NULL id
 *        writes `id:`. ev->data: NULL allowed with data_len 0; may contain NUL.
 * @param flags 0 or #RTW_SSE_WRITE_CRLF.
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written, *out_len = size needed);
 *         #RTW_ERR_SSE_INVALID_FIELD (type or id contains CR or LF, id contains NUL);
 *         #RTW_ERR_INVALID_UTF8 (type, id or data is not valid UTF-8);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL out_len or ev, NULL pointer with non-zero length,
 *         unknown flags, or an output larger than SIZE_MAX bytes).
 */
RTW_EXPORT int rtw_sse_write_event(char *buf, size_t cap, size_t *out_len,
                                   const rtw_sse_event *ev, uint32_t flags);

/**
 * @brief Serialise a `retry: <ms>` line (sets the client's reconnection time). Only the line:
 * the client applies it when it reads the line, no blank line is needed. Same buffer rules
 * as rtw_sse_write_event().
 * @param buf destination, or NULL for a size query. Never NUL-terminated.
 * @param cap bytes available at buf.
 * @param[out] out_len bytes written, or needed; 0 after any other error.
 * @param ms the reconnection time in milliseconds, written in decimal.
 * @param flags 0 or #RTW_SSE_WRITE_CRLF.
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written, *out_len = size needed);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL out_len, unknown flags).
 */
RTW_EXPORT int rtw_sse_write_retry(char *buf, size_t cap, size_t *out_len, uint32_t ms,
                                   uint32_t flags);

/**
 * @brief Serialise a comment: `: <text>` per line of text (split like data; an empty line
 * writes `:`). No blank line follows, so a comment may sit between events or inside one.
 * Comments keep idle connections alive (heartbeats). Same buffer rules as
 * rtw_sse_write_event().
 * @param buf destination, or NULL for a size query. Never NUL-terminated.
 * @param cap bytes available at buf.
 * @param[out] out_len bytes written, or needed; 0 after any other error.
 * @param text the comment, only read during the call (NULL allowed with len 0).
 * @param len bytes at text.
 * @param flags 0 or #RTW_SSE_WRITE_CRLF.
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL (nothing written, *out_len = size needed);
 *         #RTW_ERR_INVALID_UTF8 (text is not valid UTF-8); #RTW_ERR_INVALID_ARGUMENT (NULL
 *         out_len, NULL text with len > 0, unknown flags, an output larger than SIZE_MAX).
 */
RTW_EXPORT int rtw_sse_write_comment(char *buf, size_t cap, size_t *out_len, const char *text,
                                     size_t len, uint32_t flags);

/* ====================================================================== history */

/** @brief A bounded replay history of serialised events (server side). Opaque. */
typedef struct rtw_sse_history rtw_sse_history;

/** @brief Default for rtw_sse_history_new()'s max_events: 1024. */
#define RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS 1024u
/** @brief Default for rtw_sse_history_new()'s max_bytes: 1 MiB. */
#define RTW_SSE_HISTORY_DEFAULT_MAX_BYTES (1024u * 1024u)

/**
 * @brief Create a history keeping at most max_events events and max_bytes bytes (ids plus
 * serialised bytes). Both bounds are allocated up front; appending never allocates.
 *
 * Each event is stored in one piece: one that does not fit in the space left at the end of
 * the byte buffer goes to its start, and the space it skipped stays unused until the
 * buffer wraps again, so eviction may start a little before max_bytes bytes are retained
 * (the space skipped is smaller than the event that skipped it). Memory: max_bytes, plus
 * 24 bytes per event slot on 64-bit platforms (16 on 32-bit), plus a small header.
 *
 * @param[out] history receives the history; set to NULL on failure.
 * @param max_events 0 for #RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS.
 * @param max_bytes 0 for #RTW_SSE_HISTORY_DEFAULT_MAX_BYTES.
 * @param mem allocator hooks, copied; NULL for the C library.
 * @return 0, #RTW_ERR_INVALID_ARGUMENT (NULL history, incomplete mem, max_events too large
 *         to allocate its index), #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_sse_history_new(rtw_sse_history **history, size_t max_events,
                                   size_t max_bytes, const rtw_mem *mem);

/**
 * @brief Free a history and the bytes it retains.
 * @param history the history, or NULL (then nothing happens). Pointers from
 *        rtw_sse_history_get() become invalid.
 */
RTW_EXPORT void rtw_sse_history_free(rtw_sse_history *history);

/**
 * @brief Append a serialised event (as made by rtw_sse_write_event()) under its id, in O(1),
 * evicting the oldest events as needed to stay within both bounds. Bytes are copied.
 * Pointers from earlier rtw_sse_history_get() calls become invalid.
 * @param history the history.
 * @param id the event's id (the key a reconnecting client sends), copied; may be empty (or
 *           NULL with id_len 0), but an empty id can never be looked up.
 * @param id_len bytes at id.
 * @param bytes the serialised event, copied.
 * @param len bytes at bytes (NULL allowed with len 0).
 * @param[out] seq if not NULL, the event's sequence number (first event is 0, then +1).
 * @return 0, #RTW_ERR_SSE_EVENT_TOO_LARGE (id_len + len exceeds max_bytes; nothing changed),
 *         #RTW_ERR_INVALID_ARGUMENT (NULL history, NULL pointer with non-zero length).
 */
RTW_EXPORT int rtw_sse_history_push(rtw_sse_history *history, const char *id, size_t id_len,
                                    const void *bytes, size_t len, uint64_t *seq);

/**
 * @brief Append an event under a sequence number the host chose, e.g. one read from a
 * shared log, so that every process numbers the same event the same way; otherwise as
 * rtw_sse_history_push().
 *
 * Sequence numbers only grow, and the retained events stay consecutive (get() has no
 * holes): when seq equals rtw_sse_history_next_seq() the event is appended (evicting as
 * push() does); when seq is greater, the events seq skips were never seen by this history,
 * so everything retained is dropped first and the event becomes the only one, with
 * rtw_sse_history_first_seq() == seq. Readers behind seq then get #RTW_ERR_SSE_HISTORY_GAP,
 * as for evicted events. To go back (the log was reset), call rtw_sse_history_reset() first.
 * Pointers from earlier rtw_sse_history_get() calls become invalid.
 * @param history the history.
 * @param seq the event's sequence number: at least rtw_sse_history_next_seq(), below
 *            UINT64_MAX.
 * @param id the event's id, copied (as for rtw_sse_history_push()).
 * @param id_len bytes at id.
 * @param bytes the serialised event, copied.
 * @param len bytes at bytes (NULL allowed with len 0).
 * @return 0; #RTW_ERR_SSE_HISTORY_ORDER (seq below rtw_sse_history_next_seq(); nothing
 *         changed); #RTW_ERR_SSE_EVENT_TOO_LARGE (id_len + len exceeds max_bytes; nothing
 *         changed, nothing dropped); #RTW_ERR_INVALID_ARGUMENT (NULL history, NULL pointer
 *         with non-zero length, seq UINT64_MAX).
 */
RTW_EXPORT int rtw_sse_history_push_at(rtw_sse_history *history, uint64_t seq, const char *id,
                                       size_t id_len, const void *bytes, size_t len);

/**
 * @brief Drop every retained event and make next_seq the next sequence number (lower or
 * higher than before): for a host whose numbering source restarted, e.g. a shared log that
 * was reset. Afterwards rtw_sse_history_first_seq() == rtw_sse_history_next_seq() ==
 * next_seq. Nothing is freed or allocated. Pointers from rtw_sse_history_get() become
 * invalid, and a reader holding an older sequence number (an rtw_sse_stream cursor, a
 * host's own) must be repositioned: get() answers for the new numbering only.
 * @param history the history.
 * @param next_seq the sequence number of the next event, below UINT64_MAX.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL history, next_seq UINT64_MAX).
 */
RTW_EXPORT int rtw_sse_history_reset(rtw_sse_history *history, uint64_t next_seq);

/**
 * @brief Find where to resume for a client that sent `Last-Event-ID: id`.
 *
 * Ids are compared byte for byte; when several retained events share the id, the newest
 * wins. O(number of retained events).
 * @param history the history.
 * @param id the id the client sent, only read during the call (NULL allowed with id_len 0).
 * @param id_len bytes at id.
 * @param[out] seq the sequence number of the first event after the one with that id (equal
 *                 to rtw_sse_history_next_seq() when the client is up to date).
 * @return 0 when found; #RTW_ERR_SSE_HISTORY_GAP when no retained event has that id (it was
 *         evicted, never existed, or is empty): the client missed events the history cannot
 *         give, so the host should send a reset (e.g. a full snapshot);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL history or seq, NULL id with id_len > 0).
 */
RTW_EXPORT int rtw_sse_history_find(const rtw_sse_history *history, const char *id,
                                    size_t id_len, uint64_t *seq);

/**
 * @brief Read the retained event with sequence number seq.
 * @param history the history.
 * @param seq the sequence number.
 * @param[out] bytes points into the history; valid until the next push or free.
 * @param[out] len bytes at *bytes.
 * @return 0; #RTW_ERR_SSE_HISTORY_GAP when seq was evicted; #RTW_ERR_SSE_HISTORY_END when
 *         seq >= rtw_sse_history_next_seq(); #RTW_ERR_INVALID_ARGUMENT (a NULL argument).
 */
RTW_EXPORT int rtw_sse_history_get(const rtw_sse_history *history, uint64_t seq,
                                   const void **bytes, size_t *len);

/**
 * @brief The sequence number the next pushed event will get.
 * @param history the history, or NULL.
 * @return the next sequence number; 0 for NULL.
 */
RTW_EXPORT uint64_t rtw_sse_history_next_seq(const rtw_sse_history *history);

/**
 * @brief The oldest retained sequence number.
 * @param history the history, or NULL.
 * @return the oldest retained sequence number (equal to rtw_sse_history_next_seq() when the
 *         history is empty); 0 for NULL.
 */
RTW_EXPORT uint64_t rtw_sse_history_first_seq(const rtw_sse_history *history);

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_SSE_H */
