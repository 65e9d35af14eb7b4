/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the server-side SSE stream (rtw_sse_stream_*, rtweb/http.h): random
 * publishing, direct sends, comments, partial writes, ticks and ends against a shared
 * history, with an allocation schedule; the bytes written are decoded and parsed back. */
/*
 * Input layout:
 *
 *   bytes 0-1  allocation schedule (fuzz_common.h), for the stream
 *   byte 2     bit 0 HTTP/1.0; bit 1 SLOW_HOLD; bit 2 no heartbeat; bit 3 retry_ms = 1234;
 *              bit 4 a Last-Event-ID (byte 5); bit 5 no history; bit 6 send_timeout_ms = 500;
 *              bit 7 on_gap sends a reset event
 *   byte 3     max_outbound = 1 + byte * 4
 *   byte 4     the history's max_events = 1 + byte % 32 (max_bytes 4096)
 *   byte 5     the Last-Event-ID's number (events are published with ids "0", "1", ...)
 *   byte 6     events published before the stream is created (byte % 16)
 *   then operations until the input ends (at most MAX_OPS), an opcode byte and operands:
 *     op % 8 = 0  publish an event with u8 bytes of data
 *     op % 8 = 1  direct send: u8 bytes of data, type "direct"
 *     op % 8 = 2  comment of u8 % 64 bytes
 *     op % 8 = 3  the socket takes u16 bytes (at most what is pending)
 *     op % 8 = 4  time passes: u8 milliseconds, then tick
 *     op % 8 = 5  the socket takes everything pending (repeatedly, as a host's flush)
 *     op % 8 = 6  end
 *     op % 8 = 7  the accessors, and set_cursor to first_seq - 1 + u8 % (retained + 3)
 *                 (forward moves only, so that events still arrive in order)
 *
 * Oracles (http.h):
 * - after every step the output is below max_outbound + one framed item + the tail
 *   (RTW_SSE_STREAM_TAIL_MAX); want_write is 1 whenever output is pending; done implies
 *   nothing pending; next_deadline is UINT64_MAX before the first tick and after a failure
 *   once nothing is pending (the closing bytes of a failed stream linger, then are dropped);
 * - a refused send or comment (RTW_ERR_SSE_OUTBOUND_FULL) changes nothing and happens only
 *   at or over the budget; after end() sends are RTW_ERR_INVALID_STATE; a failed stream
 *   answers with its sticky error, which is one of the documented ones;
 * - a refused allocation gives RTW_ERR_NOMEM, after which the stream is done (its output
 *   dropped); nothing leaks;
 * - unless the output was dropped (out of memory, send timeout), everything written decodes:
 *   the documented head, then RFC 9112 7.1 chunks (HTTP/1.1) ending with one last chunk when
 *   the stream ended or failed; parsed as an event stream it gives every direct event
 *   accepted, and history events in increasing order, none twice; a dropped slow consumer's
 *   last comment says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

#define MAX_OPS 3000u
#define MAX_DATA 255u
/* the largest item: an event "event: direct\n" or "id: N\n" + data + blank line, framed */
#define MAX_ITEM (32u + MAX_DATA + RTW_SSE_HTTP_CHUNK_OVERHEAD)
/* the head and the retry line, queued at creation whatever the budget */
#define HEAD_MAX 256u

typedef struct out_buf {
  char *p;
  size_t len, cap;
} out_buf;

static void out_add(out_buf *o, const void *p, size_t n)
{
  if (n == 0)
    return;
  if (o->len + n > o->cap) {
    o->cap = (o->len + n) * 2;
    o->p = realloc(o->p, o->cap);
    FUZZ_CHECK(o->p != NULL);
  }
  memcpy(o->p + o->len, p, n);
  o->len += n;
}

typedef struct run {
  rtw_sse_stream *st;
  rtw_sse_history *h;
  uint8_t flags;
  size_t max_outbound;
  out_buf out;
  unsigned long published, directs, gaps;
  int ended, failed, dropped; /* dropped: the output was discarded (NOMEM, send timeout,
                               * the linger of a failed stream's closing bytes) */
  uint64_t now;
  int ticked;
} run;

static int on_gap(rtw_sse_stream *st, uint32_t reason, void *ud)
{
  run *r = ud;
  rtw_sse_event ev = {0};
  int rv;

  FUZZ_CHECK(reason == RTW_SSE_STREAM_GAP_RESUME || reason == RTW_SSE_STREAM_GAP_SLOW);
  r->gaps++;
  if (r->flags & 0x80) {
    ev.type = "direct";
    ev.type_len = 6;
    rv = fuzz_mem_saw(rtw_sse_stream_send(st, &ev));
    FUZZ_CHECK(rv == 0 || rv == RTW_ERR_SSE_OUTBOUND_FULL || rv == RTW_ERR_NOMEM);
    if (rv == 0)
      r->directs++;
  }
  return 0;
}

static void publish(run *r, size_t len)
{
  char id[24], data[MAX_DATA], buf[64 + MAX_DATA];
  rtw_sse_event ev = {0};
  size_t n;

  memset(data, 'a' + (int)(r->published % 26), sizeof data);
  snprintf(id, sizeof id, "%lu", r->published);
  ev.id = id;
  ev.id_len = strlen(id);
  ev.data = data;
  ev.data_len = len;
  FUZZ_CHECK(rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0) == 0);
  FUZZ_CHECK(rtw_sse_history_push(r->h, id, ev.id_len, buf, n, NULL) == 0);
  r->published++;
}

static int sticky_ok(int rv)
{
  return rv == RTW_ERR_SSE_SLOW_CONSUMER || rv == RTW_ERR_SEND_TIMEOUT ||
         rv == RTW_ERR_CALLBACK_FAILURE || rv == RTW_ERR_NOMEM;
}

/* Note a call's result: a fatal one fails the stream for good. */
static void result(run *r, int rv)
{
  fuzz_mem_saw(rv);
  if (rv == 0 || rv == RTW_ERR_SSE_OUTBOUND_FULL || rv == RTW_ERR_INVALID_STATE)
    return;
  FUZZ_CHECK(sticky_ok(rv));
  r->failed = 1;
  if (rv == RTW_ERR_NOMEM || rv == RTW_ERR_SEND_TIMEOUT)
    r->dropped = 1;
}

static void check_state(run *r)
{
  size_t pending = rtw_sse_stream_outbound_size(r->st);

  FUZZ_CHECK(pending < r->max_outbound + MAX_ITEM + RTW_SSE_STREAM_TAIL_MAX + HEAD_MAX);
  if (pending > 0)
    FUZZ_CHECK(rtw_sse_stream_want_write(r->st) == 1);
  if (rtw_sse_stream_done(r->st))
    FUZZ_CHECK(pending == 0 && (r->ended || r->failed));
  /* no timer before the first tick; after a failure, only the linger of its closing bytes */
  if (!r->ticked || (r->failed && pending == 0))
    FUZZ_CHECK(rtw_sse_stream_next_deadline(r->st) == UINT64_MAX);
  if (r->dropped)
    FUZZ_CHECK(pending == 0 && rtw_sse_stream_done(r->st));
}

/* The socket takes up to `max` bytes. */
static void take(run *r, size_t max)
{
  const void *p;
  size_t n;
  int rv = rtw_sse_stream_send_pending(r->st, &p, &n);

  result(r, rv);
  FUZZ_CHECK(n == rtw_sse_stream_outbound_size(r->st));
  FUZZ_CHECK((n == 0) == (p == NULL));
  n = n < max ? n : max;
  out_add(&r->out, p, n);
  FUZZ_CHECK(rtw_sse_stream_send_consumed(r->st, n) == 0);
}

static void send_direct(run *r, size_t len, int comment)
{
  static const char data[MAX_DATA] = {0};
  rtw_sse_event ev = {0};
  size_t before = rtw_sse_stream_outbound_size(r->st);
  int rv;

  if (comment) {
    char text[64];
    memset(text, 'c', sizeof text);
    rv = rtw_sse_stream_comment(r->st, text, len % 64);
  } else {
    ev.type = "direct";
    ev.type_len = 6;
    ev.data = data; /* NUL bytes: valid UTF-8, kept by the parser */
    ev.data_len = len;
    rv = rtw_sse_stream_send(r->st, &ev);
  }
  if (rv == RTW_ERR_SSE_OUTBOUND_FULL)
    FUZZ_CHECK(before >= r->max_outbound && !r->failed && !r->ended);
  if (rv == RTW_ERR_SSE_OUTBOUND_FULL || rv == RTW_ERR_INVALID_STATE || (rv < 0 && r->failed))
    FUZZ_CHECK(rtw_sse_stream_outbound_size(r->st) == before);
  if (rv == RTW_ERR_INVALID_STATE)
    FUZZ_CHECK(r->ended && !r->failed);
  if (rv == 0 && !comment)
    r->directs++;
  result(r, rv);
}

/* The documented answers of rtw_sse_stream_set_cursor(); only forward moves are made. */
static void set_cursor(run *r, uint8_t v)
{
  uint64_t first, next, seq, cur = rtw_sse_stream_cursor(r->st);
  int rv;

  if (r->h == NULL) {
    FUZZ_CHECK(rtw_sse_stream_set_cursor(r->st, v) == RTW_ERR_INVALID_ARGUMENT);
    return;
  }
  first = rtw_sse_history_first_seq(r->h);
  next = rtw_sse_history_next_seq(r->h);
  seq = first + v % (next - first + 3);
  seq = seq == 0 ? 0 : seq - 1; /* first - 1 .. next + 1 */
  if (seq >= first && seq <= next && seq < cur)
    return;
  rv = rtw_sse_stream_set_cursor(r->st, seq);
  if (r->ended || r->failed)
    FUZZ_CHECK(rv == RTW_ERR_INVALID_STATE);
  else if (seq < first)
    FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_GAP);
  else if (seq > next)
    FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_END);
  else
    FUZZ_CHECK(rv == 0);
  FUZZ_CHECK(rtw_sse_stream_cursor(r->st) == (rv == 0 ? seq : cur));
}

static void step(run *r, fuzz_in *in)
{
  uint8_t op = fuzz_u8(in);
  int rv;

  switch (op % 8) {
  case 0:
    if (r->h != NULL)
      publish(r, fuzz_u8(in));
    break;
  case 1:
    send_direct(r, fuzz_u8(in), 0);
    break;
  case 2:
    send_direct(r, fuzz_u8(in), 1);
    break;
  case 3:
    take(r, fuzz_u16(in));
    break;
  case 4: {
    size_t before = rtw_sse_stream_outbound_size(r->st);
    r->now += fuzz_u8(in);
    r->ticked = 1;
    rv = rtw_sse_stream_tick(r->st, r->now);
    result(r, rv);
    /* http.h: a failed stream's closing bytes are dropped once they made no progress in
     * time (send_timeout_ms or RTW_SSE_STREAM_FAIL_LINGER_MS) */
    if (r->failed && before > 0 && rtw_sse_stream_outbound_size(r->st) == 0) {
      FUZZ_CHECK(rtw_sse_stream_done(r->st));
      r->dropped = 1;
    }
    break;
  }
  case 5:
    while (rtw_sse_stream_want_write(r->st) && !r->failed)
      take(r, (size_t)-1);
    take(r, (size_t)-1);
    break;
  case 6:
    rv = rtw_sse_stream_end(r->st);
    result(r, rv);
    if (rv == 0)
      r->ended = 1;
    break;
  default:
    set_cursor(r, fuzz_u8(in));
    (void)rtw_sse_stream_user_data(r->st);
  }
  check_state(r);
}

/* ------------------------------------------------------------------ reading it back */

typedef struct seen {
  unsigned long directs;
  long last_history;
  int bad, goodbye;
} seen;

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  seen *s = ud;
  char id[24] = {0};
  long n;
  (void)p;
  if (ev->type_len == 6 && memcmp(ev->type, "direct", 6) == 0) {
    s->directs++;
    return 0;
  }
  FUZZ_CHECK(ev->id_len < sizeof id);
  memcpy(id, ev->id, ev->id_len);
  n = strtol(id, NULL, 10);
  if (n <= s->last_history)
    s->bad = 1;
  s->last_history = n;
  return 0;
}

static int on_comment(rtw_sse_parser *p, const char *t, size_t n, void *ud)
{
  seen *s = ud;
  (void)p;
  s->goodbye = n == 29 && memcmp(t, "rtweb: dropped, slow consumer", 29) == 0;
  return 0;
}

static size_t head_len(const char *p, size_t n)
{
  const uint8_t *e = fuzz_find(p, n, "\r\n\r\n");
  FUZZ_CHECK(e != NULL);
  return (size_t)((const char *)e - p) + 4;
}

static void read_back(run *r, int chunked)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_parser *parser;
  seen s = {0, -1, 0, 0};
  size_t off, nread;
  int last = 0;

  cb.on_event = on_event;
  cb.on_comment = on_comment;
  FUZZ_CHECK(rtw_sse_parser_new(&parser, &cb, NULL, NULL, &s) == 0);
  off = head_len(r->out.p, r->out.len);
  FUZZ_CHECK(memcmp(r->out.p, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", 49) == 0);
  FUZZ_CHECK((fuzz_find(r->out.p, off, "Transfer-Encoding: chunked\r\n") != NULL) == chunked);
  while (off < r->out.len) {
    size_t len = r->out.len - off;
    if (chunked) { /* RFC 9112 7.1: chunk-size CRLF chunk-data CRLF, last-chunk */
      char *end;
      unsigned long v;
      FUZZ_CHECK(!last);
      v = strtoul(r->out.p + off, &end, 16);
      FUZZ_CHECK(end > r->out.p + off && (size_t)(end - r->out.p) + 2 <= r->out.len);
      FUZZ_CHECK(end[0] == '\r' && end[1] == '\n');
      off = (size_t)(end - r->out.p) + 2;
      if (v == 0) {
        FUZZ_CHECK(r->out.len - off == 2 && memcmp(r->out.p + off, "\r\n", 2) == 0);
        last = 1;
        break;
      }
      FUZZ_CHECK(off + v + 2 <= r->out.len);
      FUZZ_CHECK(memcmp(r->out.p + off + v, "\r\n", 2) == 0);
      len = v;
    }
    FUZZ_CHECK(rtw_sse_parser_recv(parser, r->out.p + off, len, &nread) == 0);
    off += len + (chunked ? 2 : 0);
  }
  if (chunked && (r->ended || r->failed))
    FUZZ_CHECK(last);
  FUZZ_CHECK(!s.bad);
  FUZZ_CHECK(s.directs == r->directs);
  if (r->failed && !r->dropped && !(r->flags & 0x02) && r->h != NULL)
    FUZZ_CHECK(s.goodbye);
  rtw_sse_parser_free(parser);
}

/* ------------------------------------------------------------------ one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  fuzz_mem fm;
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream_callbacks cb = {RTW_SSE_STREAM_CALLBACKS_VERSION};
  rtw_sse_http_request *req;
  run r;
  char head[128];
  uint8_t b3, b4, b5, b6;
  size_t nread, ops;
  int n, rv;

  memset(&r, 0, sizeof r);
  fuzz_mem_init_schedule(&fm, &in);
  r.flags = fuzz_u8(&in);
  b3 = fuzz_u8(&in);
  b4 = fuzz_u8(&in);
  b5 = fuzz_u8(&in);
  b6 = fuzz_u8(&in);
  r.max_outbound = 1u + (size_t)b3 * 4u;
  set.max_outbound = r.max_outbound;
  set.slow_policy = (r.flags & 0x02) ? RTW_SSE_STREAM_SLOW_HOLD : RTW_SSE_STREAM_SLOW_DROP;
  set.flags = (r.flags & 0x04) ? RTW_SSE_STREAM_FLAG_NO_HEARTBEAT : 0;
  set.heartbeat_ms = 100;
  set.retry_ms = (r.flags & 0x08) ? 1234u : 0;
  set.send_timeout_ms = (r.flags & 0x40) ? 500u : 0;
  cb.on_gap = on_gap;

  if (!(r.flags & 0x20))
    FUZZ_CHECK(rtw_sse_history_new(&r.h, 1u + b4 % 32u, 4096, NULL) == 0);
  while (r.h != NULL && r.published < (unsigned long)(b6 % 16u))
    publish(&r, r.published * 7u % 40u);
  if (r.flags & 0x01)
    n = snprintf(head, sizeof head, "GET / HTTP/1.0\r\n");
  else
    n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: h\r\n");
  if (r.flags & 0x10)
    n += snprintf(head + n, sizeof head - (size_t)n, "Last-Event-ID: %u\r\n", (unsigned)b5);
  n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
  FUZZ_CHECK(rtw_sse_http_request_new(&req, NULL, NULL) == 0);
  FUZZ_CHECK(rtw_sse_http_request_recv(req, head, (size_t)n, &nread) == RTW_SSE_HTTP_DONE);

  rv = fuzz_mem_saw(rtw_sse_stream_new(&r.st, req, r.h, &cb, &set, &fm.mem, &r));
  rtw_sse_http_request_free(req);
  if (rv != 0) {
    FUZZ_CHECK(rv == RTW_ERR_NOMEM && fm.failed > 0 && r.st == NULL);
  } else {
    for (ops = 0; ops < MAX_OPS && in.n > 0; ops++)
      step(&r, &in);
    /* the host's last flush, then the end (nothing was lost on the way unless dropped) */
    while (rtw_sse_stream_want_write(r.st) && !r.failed)
      take(&r, (size_t)-1);
    if (!r.failed) {
      if (r.h != NULL && !r.ended)
        FUZZ_CHECK(rtw_sse_stream_cursor(r.st) == r.published);
      rv = rtw_sse_stream_end(r.st);
      result(&r, rv);
      r.ended = rv == 0;
    }
    take(&r, (size_t)-1);
    take(&r, (size_t)-1);
    check_state(&r);
    FUZZ_CHECK(rtw_sse_stream_done(r.st));
    if (!r.dropped)
      read_back(&r, !(r.flags & 0x01));
    rtw_sse_stream_free(r.st);
  }
  rtw_sse_history_free(r.h);
  free(r.out.p);
  fuzz_mem_check_clean(&fm);
  return 0;
}
