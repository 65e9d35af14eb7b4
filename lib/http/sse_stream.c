/* SPDX-License-Identifier: MIT */
/* The server-side SSE stream: one subscriber's response, framing, budget, history cursor and
 * timers (WHATWG HTML 9.2; RFC 9112 6.3, 7.1). */
/*
 * Wire format (what send_pending hands out, in order):
 *
 *   response head                      rtw_sse_http_response(), queued by new()
 *   [retry: <ms>]                      when settings.retry_ms != 0
 *   item ...                           events (history or direct), comments, heartbeats
 *   [closing comment] [last chunk]     when the stream ends or is dropped
 *
 * Chunked (HTTP/1.1) streams frame every item as one chunk, `<hex len> CRLF <bytes> CRLF`,
 * and end with `0 CRLF CRLF` (RFC 9112 7.1); HTTP/1.0 streams send the bytes as they are and
 * end when the host closes (RFC 9112 6.3 item 8).
 *
 * Output buffer: one allocation, `buf[off, len)` pending. Consumption moves `off`; appending
 * first slides the pending bytes to the front when the room at the end is short, so the
 * buffer grows only with what is pending: to at most 2 * max_outbound + one framed item (the
 * slack keeps slides amortised O(1) per byte). Once everything is consumed, a buffer larger
 * than RTW_SSE_STREAM_IDLE_BUFFER is freed: a subscriber that caught up holds almost nothing.
 *
 * States: OPEN -> ENDED (rtw_sse_stream_end(): nothing more is queued; the pending bytes
 * drain) or OPEN -> FAILED (sticky `err`; the closing bytes drain, or for a send timeout and
 * out of memory the output is dropped). done = not OPEN and nothing pending.
 *
 * Invariants:
 *   1. An item other than the head, retry and the closing bytes is queued only while
 *      pending < max_outbound, so pending < max_outbound + one framed item (+ the tail).
 *   2. History events are pulled in sequence order, one at a time, each exactly once:
 *      the cursor is the sequence number of the next one and only moves forward (unless
 *      the host moves it, rtw_sse_stream_set_cursor()).
 *   3. A heartbeat is queued only when nothing is pending (so it never accumulates).
 *   4. Timers use the clock of the last tick; appending notes that time as the last output,
 *      and the time pending output started waiting or last made progress.
 */
#include <string.h>

#include "internal.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

enum { ST_OPEN, ST_ENDED, ST_FAILED };

/* The comment a dropped slow consumer receives before its stream ends. */
static const char slow_goodbye[] = "rtweb: dropped, slow consumer";

struct rtw_sse_stream {
  rtw_mem mem;
  rtw_sse_history *history; /* borrowed; NULL: no replay */
  rtw_sse_stream_callbacks cb;
  void *user_data;
  size_t max_outbound;
  uint32_t flags;
  uint32_t heartbeat_ms;
  uint32_t send_timeout_ms;
  uint32_t slow_policy;
  int chunked;
  int state;
  int err;  /* sticky error in ST_FAILED */
  int busy; /* inside a callback */
  uint64_t cursor;
  char *buf;
  size_t off, len, cap; /* pending bytes are buf[off, len) */
  int armed;            /* the first tick happened */
  uint64_t now;         /* the last tick's clock */
  uint64_t last_output; /* when something was last queued */
  uint64_t progress_at; /* when pending output last started waiting or made progress */
};

static size_t pending(const rtw_sse_stream *s)
{
  return s->len - s->off;
}

/* ------------------------------------------------------------------ output buffer */

static void drop_output(rtw_sse_stream *s)
{
  rtw__mem_free(&s->mem, s->buf);
  s->buf = NULL;
  s->off = s->len = s->cap = 0;
}

/* Make room for `extra` bytes after the pending ones: slide them to the front when the room
 * at the end is short, grow otherwise. Capacity grows geometrically up to twice the budget
 * (then only to what is needed), so that after a slide at least about one budget of room is
 * free: each slide (at most a budget of bytes) is paid for by as many bytes appended, however
 * little the host writes per call. */
static int reserve(rtw_sse_stream *s, size_t extra)
{
  size_t need, cap, soft;
  char *p;

  if (extra <= s->cap - s->len)
    return 0;
  if (s->off > 0) {
    memmove(s->buf, s->buf + s->off, pending(s));
    s->len -= s->off;
    s->off = 0;
    if (extra <= s->cap - s->len)
      return 0;
  }
  if (extra > SIZE_MAX - s->len)
    return RTW_ERR_NOMEM;
  need = s->len + extra;
  soft = s->max_outbound > (SIZE_MAX - RTW_SSE_STREAM_TAIL_MAX) / 2
             ? SIZE_MAX
             : 2 * s->max_outbound + RTW_SSE_STREAM_TAIL_MAX;
  cap = s->cap == 0 ? 256 : (s->cap > SIZE_MAX / 2 ? SIZE_MAX : s->cap * 2);
  if (cap > soft)
    cap = soft;
  if (cap < need)
    cap = need;
  p = rtw__mem_realloc(&s->mem, s->buf, cap);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  s->buf = p;
  s->cap = cap;
  return 0;
}

/* RFC 9112 7.1: chunk = chunk-size CRLF chunk-data CRLF; chunk-size = 1*HEXDIG. Writes the
 * size line at p when p is not NULL; returns its length. */
static size_t chunk_line(char *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t digits = 0, v = n, i;

  do {
    digits++;
    v >>= 4;
  } while (v != 0);
  if (p != NULL) {
    for (i = digits; i > 0; i--) {
      p[i - 1] = hex[n & 0xFu];
      n >>= 4;
    }
    p[digits] = '\r';
    p[digits + 1] = '\n';
  }
  return digits + 2;
}

/* Note that bytes were queued: the heartbeat restarts, and a send timeout starts counting
 * when the output was empty before. */
static void note_output(rtw_sse_stream *s, size_t before)
{
  s->last_output = s->now;
  if (before == 0)
    s->progress_at = s->now;
}

/* Reserve a framed item of n (> 0) bytes: returns where its n bytes go, with the chunk
 * framing around them already written; commit() makes it pending. */
static char *frame_begin(rtw_sse_stream *s, size_t n, size_t *total)
{
  size_t head = s->chunked ? chunk_line(NULL, n) : 0;
  size_t trail = s->chunked ? 2 : 0;
  char *p;

  if (n > SIZE_MAX - head - trail || reserve(s, head + n + trail) != 0)
    return NULL;
  p = s->buf + s->len;
  if (s->chunked) {
    chunk_line(p, n);
    memcpy(p + head + n, "\r\n", 2);
  }
  *total = head + n + trail;
  return p + head;
}

static void commit(rtw_sse_stream *s, size_t total)
{
  size_t before = pending(s);
  s->len += total;
  note_output(s, before);
}

/* Queue raw bytes (unframed) at the end. */
static int append_raw(rtw_sse_stream *s, const void *p, size_t n)
{
  size_t before = pending(s);

  if (n == 0)
    return 0;
  if (reserve(s, n) != 0)
    return RTW_ERR_NOMEM;
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  note_output(s, before);
  return 0;
}

/* Queue bytes as one framed item (nothing for n == 0: an empty chunk would end the body). */
static int append_item(rtw_sse_stream *s, const void *p, size_t n)
{
  size_t total;
  char *dst;

  if (n == 0)
    return 0;
  dst = frame_begin(s, n, &total);
  if (dst == NULL)
    return RTW_ERR_NOMEM;
  memcpy(dst, p, n);
  commit(s, total);
  return 0;
}

/* ------------------------------------------------------------------ states */

/* Fail for good. With keep, the pending bytes stay and the last chunk follows them (so the
 * client sees a clean end and reconnects); without, the output is dropped (the peer is not
 * reading, or memory ran out). */
static int fail(rtw_sse_stream *s, int err, int keep)
{
  int open = s->state == ST_OPEN; /* after rtw_sse_stream_end() the last chunk is queued */

  s->state = ST_FAILED;
  s->err = err;
  if (keep && open && s->chunked && append_raw(s, RTW_SSE_HTTP_LAST_CHUNK, 5) != 0) {
    s->err = RTW_ERR_NOMEM;
    keep = 0;
  }
  if (!keep)
    drop_output(s);
  return s->err;
}

static int run_gap(rtw_sse_stream *s, uint32_t reason)
{
  int rv;

  if (s->cb.on_gap == NULL)
    return 0;
  s->busy = 1;
  rv = s->cb.on_gap(s, reason, s->user_data);
  s->busy = 0;
  if (s->state == ST_FAILED) /* the callback's own send ran out of memory */
    return s->err;
  if (rv < 0)
    return fail(s, RTW_ERR_CALLBACK_FAILURE, 1);
  return 0;
}

/* The history evicted events at the cursor that were never sent. */
static int fell_behind(rtw_sse_stream *s, uint64_t first)
{
  size_t total;
  char *dst;
  size_t n = 0;

  if (s->slow_policy == RTW_SSE_STREAM_SLOW_HOLD) {
    s->cursor = first; /* before the callback: its reset goes ahead of these events */
    return run_gap(s, RTW_SSE_STREAM_GAP_SLOW);
  }
  /* Drop, saying why in a comment the client ignores (WHATWG 9.2.6: lines starting with a
   * colon), then end the body so the client reconnects with its Last-Event-ID. */
  (void)rtw_sse_write_comment(NULL, 0, &n, slow_goodbye, sizeof slow_goodbye - 1, 0);
  dst = frame_begin(s, n, &total);
  if (dst == NULL)
    return fail(s, RTW_ERR_NOMEM, 0);
  (void)rtw_sse_write_comment(dst, n, &n, slow_goodbye, sizeof slow_goodbye - 1, 0);
  commit(s, total);
  return fail(s, RTW_ERR_SSE_SLOW_CONSUMER, 1);
}

static int check_behind(rtw_sse_stream *s)
{
  uint64_t first;

  if (s->history == NULL || s->state != ST_OPEN)
    return 0;
  first = rtw_sse_history_first_seq(s->history);
  return s->cursor < first ? fell_behind(s, first) : 0;
}

/* Pull history events into the output, one at a time, while under budget (invariant 1). */
static int pull(rtw_sse_stream *s)
{
  const void *p;
  size_t n;
  int rv;

  while (s->history != NULL && s->state == ST_OPEN) {
    if ((rv = check_behind(s)) != 0)
      return rv;
    if (s->state != ST_OPEN || s->cursor >= rtw_sse_history_next_seq(s->history) ||
        pending(s) >= s->max_outbound)
      return 0;
    if (rtw_sse_history_get(s->history, s->cursor, &p, &n) != 0)
      return 0; /* not reached: first <= cursor < next was just checked */
    if (append_item(s, p, n) != 0)
      return fail(s, RTW_ERR_NOMEM, 0);
    s->cursor++;
  }
  return 0;
}

/* ------------------------------------------------------------------ creation */

static int copy_settings(rtw_sse_stream *s, const rtw_sse_stream_settings *set)
{
  s->max_outbound = RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND;
  s->heartbeat_ms = RTW_SSE_STREAM_DEFAULT_HEARTBEAT_MS;
  if (set == NULL)
    return 0;
  /* Version 1 is the only layout so far: every member is known. */
  if (set->version == 0 || set->version > RTW_SSE_STREAM_SETTINGS_VERSION ||
      (set->flags & ~RTW_SSE_STREAM_FLAG_NO_HEARTBEAT) != 0 ||
      set->slow_policy > RTW_SSE_STREAM_SLOW_HOLD ||
      (set->headers == NULL && set->num_headers != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  s->flags = set->flags;
  if (set->max_outbound != 0)
    s->max_outbound = set->max_outbound;
  if (set->heartbeat_ms != 0)
    s->heartbeat_ms = set->heartbeat_ms;
  s->send_timeout_ms = set->send_timeout_ms;
  s->slow_policy = set->slow_policy;
  return 0;
}

/* The response head (unframed: it precedes the body) and the optional retry line. */
static int queue_head(rtw_sse_stream *s, const rtw_sse_stream_settings *set)
{
  const rtw_http_header *hs = set != NULL ? set->headers : NULL;
  size_t nh = set != NULL ? set->num_headers : 0, n, total;
  uint32_t flags = s->chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0;
  char *dst;
  int rv;

  if ((rv = rtw_sse_http_response(NULL, 0, &n, flags, hs, nh)) != 0)
    return rv;
  if (reserve(s, n) != 0)
    return RTW_ERR_NOMEM;
  (void)rtw_sse_http_response(s->buf + s->len, n, &n, flags, hs, nh);
  s->len += n;
  if (set == NULL || set->retry_ms == 0)
    return 0;
  (void)rtw_sse_write_retry(NULL, 0, &n, set->retry_ms, 0);
  if ((dst = frame_begin(s, n, &total)) == NULL)
    return RTW_ERR_NOMEM;
  (void)rtw_sse_write_retry(dst, n, &n, set->retry_ms, 0);
  commit(s, total);
  return 0;
}

/* WHATWG 9.2.4: resume after the client's Last-Event-ID when the history still has it. */
static int resume(rtw_sse_stream *s, const rtw_sse_http_request *req, int *gap)
{
  const char *id;
  size_t n;
  int rv;

  *gap = 0;
  if (s->history == NULL) {
    rv = rtw_sse_http_request_last_event_id(req, &id, &n);
    *gap = rv == 1;
    return rv < 0 ? rv : 0;
  }
  rv = rtw_sse_http_request_resume(req, s->history, &s->cursor);
  *gap = rv == RTW_ERR_SSE_HISTORY_GAP; /* the cursor is then the next sequence number */
  return rv == 0 || rv == 1 || *gap ? 0 : rv;
}

int rtw_sse_stream_new(rtw_sse_stream **out, const rtw_sse_http_request *req,
                       rtw_sse_history *history, const rtw_sse_stream_callbacks *cb,
                       const rtw_sse_stream_settings *settings, const rtw_mem *mem,
                       void *user_data)
{
  rtw_sse_stream *s;
  rtw_mem m;
  int rv, gap, chunked;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (req == NULL || (chunked = rtw_sse_http_request_chunked(req)) < 0 ||
      (cb != NULL && (cb->version == 0 || cb->version > RTW_SSE_STREAM_CALLBACKS_VERSION)) ||
      rtw__mem_init(&m, mem) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  s = rtw__mem_calloc(&m, 1, sizeof *s);
  if (s == NULL)
    return RTW_ERR_NOMEM;
  s->mem = m;
  s->history = history;
  s->user_data = user_data;
  s->chunked = chunked;
  if (cb != NULL)
    s->cb = *cb; /* version 1 is the only layout so far */
  if ((rv = copy_settings(s, settings)) == 0 && (rv = queue_head(s, settings)) == 0 &&
      (rv = resume(s, req, &gap)) == 0 && gap)
    rv = run_gap(s, RTW_SSE_STREAM_GAP_RESUME);
  if (rv != 0) {
    rtw_sse_stream_free(s);
    return rv;
  }
  *out = s;
  return 0;
}

void rtw_sse_stream_free(rtw_sse_stream *s)
{
  if (s == NULL || s->busy)
    return;
  drop_output(s);
  rtw__mem_free(&s->mem, s);
}

/* ------------------------------------------------------------------ queuing */

/* Whether an item may be queued now; 0 or the refusal. */
static int may_queue(const rtw_sse_stream *s)
{
  if (s->state == ST_FAILED)
    return s->err;
  if (s->state == ST_ENDED)
    return RTW_ERR_INVALID_STATE;
  return pending(s) >= s->max_outbound ? RTW_ERR_SSE_OUTBOUND_FULL : 0;
}

int rtw_sse_stream_send(rtw_sse_stream *s, const rtw_sse_event *ev)
{
  size_t n, total;
  char *dst;
  int rv;

  if (s == NULL || ev == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = may_queue(s)) != 0)
    return rv;
  if ((rv = rtw_sse_write_event(NULL, 0, &n, ev, 0)) != 0)
    return rv;
  if ((dst = frame_begin(s, n, &total)) == NULL)
    return fail(s, RTW_ERR_NOMEM, 0);
  (void)rtw_sse_write_event(dst, n, &n, ev, 0);
  commit(s, total);
  return 0;
}

int rtw_sse_stream_comment(rtw_sse_stream *s, const char *text, size_t len)
{
  size_t n, total;
  char *dst;
  int rv;

  if (s == NULL || (text == NULL && len != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = may_queue(s)) != 0)
    return rv;
  if ((rv = rtw_sse_write_comment(NULL, 0, &n, text, len, 0)) != 0)
    return rv;
  if ((dst = frame_begin(s, n, &total)) == NULL)
    return fail(s, RTW_ERR_NOMEM, 0);
  (void)rtw_sse_write_comment(dst, n, &n, text, len, 0);
  commit(s, total);
  return 0;
}

int rtw_sse_stream_end(rtw_sse_stream *s)
{
  if (s == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->state == ST_FAILED)
    return s->err;
  if (s->state == ST_ENDED)
    return 0;
  /* RFC 9112 7.1: last-chunk = 1*("0") [ chunk-ext ] CRLF, then the (empty) trailer and CRLF */
  if (s->chunked && append_raw(s, RTW_SSE_HTTP_LAST_CHUNK, 5) != 0)
    return fail(s, RTW_ERR_NOMEM, 0);
  s->state = ST_ENDED;
  return 0;
}

/* ------------------------------------------------------------------ output */

int rtw_sse_stream_want_write(const rtw_sse_stream *s)
{
  if (s == NULL)
    return 0;
  if (pending(s) > 0)
    return 1;
  return s->state == ST_OPEN && s->history != NULL &&
         s->cursor < rtw_sse_history_next_seq(s->history) && pending(s) < s->max_outbound;
}

int rtw_sse_stream_send_pending(rtw_sse_stream *s, const void **data, size_t *len)
{
  if (data != NULL)
    *data = NULL;
  if (len != NULL)
    *len = 0;
  if (s == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->busy)
    return RTW_ERR_REENTRANT;
  (void)pull(s); /* a failure is the sticky error below */
  if (pending(s) > 0) {
    *data = s->buf + s->off;
    *len = pending(s);
  }
  return s->state == ST_FAILED ? s->err : 0;
}

int rtw_sse_stream_send_consumed(rtw_sse_stream *s, size_t n)
{
  if (s == NULL || n > pending(s))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->busy)
    return RTW_ERR_REENTRANT;
  if (n == 0)
    return 0;
  s->off += n;
  s->progress_at = s->now;
  if (s->off == s->len) {
    s->off = s->len = 0;
    if (s->cap > RTW_SSE_STREAM_IDLE_BUFFER) /* caught up: give the memory back */
      drop_output(s);
  }
  return 0;
}

size_t rtw_sse_stream_outbound_size(const rtw_sse_stream *s)
{
  return s != NULL ? pending(s) : 0;
}

/* ------------------------------------------------------------------ time */

static uint64_t after(uint64_t t, uint32_t ms)
{
  return t > UINT64_MAX - ms ? UINT64_MAX : t + ms;
}

/* A failed stream may keep its last bytes (the slow-consumer comment, the last chunk) for a
 * peer that may never read them: they get send_timeout_ms, or RTW_SSE_STREAM_FAIL_LINGER_MS
 * when no send timeout is set, from the last progress; then they are dropped and the
 * stream is done, so a dropped subscriber cannot hold its connection forever. */
static uint64_t linger_deadline(const rtw_sse_stream *s)
{
  return after(s->progress_at,
               s->send_timeout_ms != 0 ? s->send_timeout_ms : RTW_SSE_STREAM_FAIL_LINGER_MS);
}

static int heartbeat_on(const rtw_sse_stream *s)
{
  return s->state == ST_OPEN && !(s->flags & RTW_SSE_STREAM_FLAG_NO_HEARTBEAT);
}

int rtw_sse_stream_tick(rtw_sse_stream *s, uint64_t now_ms)
{
  int rv;

  if (s == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->busy)
    return RTW_ERR_REENTRANT;
  if (!s->armed) {
    s->armed = 1;
    s->last_output = s->progress_at = now_ms;
  }
  if (now_ms > s->now)
    s->now = now_ms;
  if (s->state == ST_FAILED) { /* the error was reported when it happened */
    if (pending(s) > 0 && s->now >= linger_deadline(s))
      drop_output(s);
    return 0;
  }
  if ((rv = check_behind(s)) != 0)
    return rv;
  if (s->send_timeout_ms != 0 && pending(s) > 0 &&
      s->now >= after(s->progress_at, s->send_timeout_ms))
    return fail(s, RTW_ERR_SEND_TIMEOUT, 0);
  if (heartbeat_on(s) && s->now >= after(s->last_output, s->heartbeat_ms)) {
    if (pending(s) > 0) /* not idle: bytes are waiting for the peer (invariant 3) */
      s->last_output = s->now;
    else if (append_item(s, ":\n", 2) != 0) /* WHATWG 9.2.6: a comment, ignored */
      return fail(s, RTW_ERR_NOMEM, 0);
  }
  return 0;
}

uint64_t rtw_sse_stream_next_deadline(const rtw_sse_stream *s)
{
  uint64_t d = UINT64_MAX, t;

  if (s == NULL || !s->armed)
    return UINT64_MAX;
  if (s->state == ST_FAILED)
    return pending(s) > 0 ? linger_deadline(s) : UINT64_MAX;
  if (heartbeat_on(s))
    d = after(s->last_output, s->heartbeat_ms);
  if (s->send_timeout_ms != 0 && pending(s) > 0) {
    t = after(s->progress_at, s->send_timeout_ms);
    d = t < d ? t : d;
  }
  return d;
}

/* ------------------------------------------------------------------ accessors */

int rtw_sse_stream_done(const rtw_sse_stream *s)
{
  return s != NULL && s->state != ST_OPEN && pending(s) == 0;
}

uint64_t rtw_sse_stream_cursor(const rtw_sse_stream *s)
{
  return s != NULL ? s->cursor : 0;
}

int rtw_sse_stream_set_cursor(rtw_sse_stream *s, uint64_t seq)
{
  if (s == NULL || s->history == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->state != ST_OPEN)
    return RTW_ERR_INVALID_STATE;
  if (seq < rtw_sse_history_first_seq(s->history))
    return RTW_ERR_SSE_HISTORY_GAP; /* would be a slow consumer at the next pull */
  if (seq > rtw_sse_history_next_seq(s->history))
    return RTW_ERR_SSE_HISTORY_END;
  s->cursor = seq;
  return 0;
}

void *rtw_sse_stream_user_data(const rtw_sse_stream *s)
{
  return s != NULL ? s->user_data : NULL;
}
