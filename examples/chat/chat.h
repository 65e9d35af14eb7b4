/* SPDX-License-Identifier: MIT */
/* rtweb-chat: what the demo's files share (byte buffers, the chat JSON, the feed, the page). */
#ifndef RTWEB_CHAT_H
#define RTWEB_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include <rtweb/rtweb.h>

/** Largest chat message a client may send (the whole WebSocket message): bigger ones are
 * refused by the session with close code 1009 (RFC 6455 7.4.1). */
#define CHAT_MAX_MESSAGE 4096u
/** Longest name, in bytes. */
#define CHAT_MAX_NAME 40u

/* ---------------------------------------------------------------------- byte buffer */

/** A growable byte queue: bytes live in data[off, len). */
typedef struct chat_buf {
  char *data;
  size_t off, len, cap;
} chat_buf;

/** Room for n more bytes, never holding more than limit in all; NULL when over the limit or
 * out of memory. Commit what was written with chat_buf_commit(). */
char *chat_buf_reserve(chat_buf *b, size_t n, size_t limit);
void chat_buf_commit(chat_buf *b, size_t n);
/** Append n bytes; 0, or -1 when over the limit or out of memory (nothing appended). */
int chat_buf_append(chat_buf *b, const void *p, size_t n, size_t limit);
/** Append a NUL-terminated string (no limit: for small, bounded text). */
int chat_buf_puts(chat_buf *b, const char *s);
/** Bytes waiting. */
size_t chat_buf_size(const chat_buf *b);
/** Drop the first n waiting bytes. */
void chat_buf_consume(chat_buf *b, size_t n);
void chat_buf_free(chat_buf *b);

/* ---------------------------------------------------------------------- JSON */

/**
 * Parse a chat message `{"name":"...","text":"..."}` (RFC 8259; other members are skipped).
 * Both members must be strings; their unescaped UTF-8 goes to name/text (caps in bytes).
 * @return 0, or -1 when the input is not such an object or a string does not fit.
 */
int chat_json_parse_message(const char *in, size_t len, char *name, size_t name_cap,
                            size_t *name_len, char *text, size_t text_cap, size_t *text_len);
/** Append s as a JSON string literal (RFC 8259 section 7), quotes included. */
int chat_json_string(chat_buf *b, const char *s, size_t len);

/* ---------------------------------------------------------------------- policy */

/**
 * Check and trim a chat name in place (policy.c): ASCII spaces trimmed, then 1 to
 * CHAT_MAX_NAME bytes of printable characters: no controls (C0, DEL, C1), no bidi or
 * invisible format characters, no spaces but U+0020, no noncharacters or private use.
 * @param name valid UTF-8 of *len bytes; on success the trimmed name starts at name[0].
 * @param why  on failure, a NUL-terminated reason for the client (why_cap bytes).
 * @return 0, or -1 (name and *len unchanged).
 */
int chat_name_check(char *name, size_t *len, char *why, size_t why_cap);

/** A client may use this many milliseconds' worth of its rate at once (its burst). */
#define CHAT_RATE_BURST_MS 10000u

/** A rate budget (GCRA): per_second units per second on average, 0 for no limit. */
typedef struct chat_rate {
  uint64_t tat; /**< microseconds: when the budget is full again */
  uint32_t per_second;
} chat_rate;

void chat_rate_init(chat_rate *r, uint32_t per_second);
/** Spend `cost` units at `now` (ms). @return 0, or -1 when over the budget (not spent). */
int chat_rate_take(chat_rate *r, uint64_t cost, uint64_t now);
/** 1 when nothing has been spent within the last burst window (the budget is full). */
int chat_rate_full(const chat_rate *r, uint64_t now);

/* ---------------------------------------------------------------------- feed */

/** The activity feed: ids, the bounded replay history and the feed file. */
typedef struct chat_feed {
  rtw_sse_history *history;
  uint64_t next_id; /**< the id the next event gets (1 for the first ever) */
  int fd;           /**< the feed file open for appending, -1 without one */
  int write_failed; /**< a write to the feed file failed (logged once) */
  const char *path; /**< the feed file (the caller's string, for the process lifetime) */
  uint64_t file_bytes, file_lines;         /**< what the feed file holds */
  uint64_t max_file_bytes, max_file_lines; /**< beyond either, it is rewritten */
  chat_buf scratch;
} chat_feed;

/** The history's byte budget for max_events events (max_events KiB, at least 1 MiB). */
size_t chat_feed_history_bytes(size_t max_events);
/** Create the history (max_events events) and, with a path, reload the feed file: the
 * newest events go back into the history and ids continue after the last one.
 * @return 0, or -1 with a message on stderr. */
int chat_feed_open(chat_feed *f, size_t max_events, const char *path);
/** Publish an event: serialise it with the next id, keep it in the history, append it to the
 * feed file. @return 0, or -1 (not published). */
int chat_feed_publish(chat_feed *f, const char *type, const char *data, size_t len);
void chat_feed_close(chat_feed *f);
/** Serialise an event-stream block (event, id, data) into out (emptied first).
 * @return 0, -1 (too large, a field with CR or LF). */
int chat_feed_serialize(chat_buf *out, const char *id, size_t id_len, const char *type,
                        size_t type_len, const char *data, size_t len);

/** Longest SSE id from the shared log: `<epoch>-<seq>`. */
#define CHAT_LOG_ID_MAX 64u
/** Write the id of log entry seq of epoch into buf. @return its length, -1 if over cap. */
int chat_feed_log_id(char *buf, size_t cap, const char *epoch, uint64_t seq);
/** 1 for the feed's event types (join, leave, message), else 0. */
int chat_feed_valid_type(const char *type, size_t len);
/** --redis: keep the log's entry seq (read back from the stream) in the history, under the
 * id `<epoch>-<seq>`, with rtw_sse_history_push_at(): sequence numbers are the log's.
 * An entry that is not a feed event (another type, too large) is kept as an empty one
 * (nothing is sent for it), so that the window has no hole. @return 0, -1 (not kept as an
 * event, or seq not after the newest). */
int chat_feed_push_log(chat_feed *f, const char *epoch, uint64_t seq, const char *type,
                       size_t type_len, const char *data, size_t len);

/* ---------------------------------------------------------------------- page */

/** page.html, embedded at build time by embed.py. */
extern const unsigned char chat_page[];
extern const size_t chat_page_len;

#endif /* RTWEB_CHAT_H */
