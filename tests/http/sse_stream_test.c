/* SPDX-License-Identifier: MIT */
/* The server-side SSE stream: response head and framing (chunked and HTTP/1.0), resume from
 * Last-Event-ID, gaps, live events pushed after creation, the output budget, both slow-consumer
 * policies, heartbeats and the send timeout on a fake clock, buffer shrinking (counted by an
 * allocator), partial writes, re-entrancy and allocation failures. The output is parsed back
 * with the library's own SSE client and parser and compared event for event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

static const char req11[] = "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
static const char req10[] = "GET /events HTTP/1.0\r\n\r\n";

static const char head11[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/event-stream\r\n"
                             "Cache-Control: no-store\r\n"
                             "X-Accel-Buffering: no\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "\r\n";
static const char head10[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/event-stream\r\n"
                             "Cache-Control: no-store\r\n"
                             "X-Accel-Buffering: no\r\n"
                             "Connection: close\r\n"
                             "\r\n";

/* ====================================================================== helpers */

/* Parse a complete request (HTTP/1.1 unless `v10`), with an optional Last-Event-ID. */
static rtw_sse_http_request *request(int v10, const char *last_id)
{
  char buf[512];
  rtw_sse_http_request *req;
  size_t nread;
  int n;

  if (last_id == NULL)
    n = snprintf(buf, sizeof buf, "%s", v10 ? req10 : req11);
  else if (v10)
    n = snprintf(buf, sizeof buf, "GET /events HTTP/1.0\r\nLast-Event-ID: %s\r\n\r\n", last_id);
  else
    n = snprintf(buf, sizeof buf, "GET /e HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\n\r\n",
                 last_id);
  assert_true(n > 0 && (size_t)n < sizeof buf);
  assert_int_equal(rtw_sse_http_request_new(&req, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_request_recv(req, buf, (size_t)n, &nread), RTW_SSE_HTTP_DONE);
  return req;
}

/* Serialise an event with an id and push it. */
static int publish(rtw_sse_history *h, const char *id, const char *data)
{
  rtw_sse_event ev = {0};
  char buf[4096];
  size_t n;
  int rv;

  ev.id = id;
  ev.id_len = strlen(id);
  ev.data = data;
  ev.data_len = strlen(data);
  if ((rv = rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0)) != 0)
    return rv;
  return rtw_sse_history_push(h, id, strlen(id), buf, n, NULL);
}

static void publish_n(rtw_sse_history *h, int from, int to)
{
  char id[16], data[32];
  int i;

  for (i = from; i < to; i++) {
    snprintf(id, sizeof id, "%d", i);
    snprintf(data, sizeof data, "event %d", i);
    assert_int_equal(publish(h, id, data), 0);
  }
}

/* What a host writes: a growable capture of the bytes it took. */
typedef struct capture {
  char *p;
  size_t len, cap;
} capture;

static void cap_add(capture *c, const void *p, size_t n)
{
  if (c->len + n + 1 > c->cap) {
    c->cap = (c->len + n + 1) * 2;
    c->p = realloc(c->p, c->cap);
    assert_non_null(c->p);
  }
  memcpy(c->p + c->len, p, n);
  c->len += n;
  c->p[c->len] = '\0';
}

/* Drain like a host whose socket takes at most `step` bytes per write (0: everything).
 * Returns the last send_pending result. */
static int drain(rtw_sse_stream *s, capture *c, size_t step)
{
  const void *p;
  size_t n, w;
  int rv;

  for (;;) {
    rv = rtw_sse_stream_send_pending(s, &p, &n);
    if (n == 0)
      return rv;
    w = step == 0 || step > n ? n : step;
    cap_add(c, p, w);
    assert_int_equal(rtw_sse_stream_send_consumed(s, w), 0);
  }
}

/* ---------------------------------------------------------------------- reading it back */

static int log_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  (void)p;
  rtwt_log_printf(ud, "event type=");
  rtwt_log_bytes(ud, ev->type, ev->type_len);
  rtwt_log_printf(ud, " id=");
  rtwt_log_bytes(ud, ev->id, ev->id_len);
  rtwt_log_printf(ud, " data=");
  rtwt_log_bytes(ud, ev->data, ev->data_len);
  rtwt_log_printf(ud, "\n");
  return 0;
}

static int log_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  (void)p;
  rtwt_log_printf(ud, "retry %u\n", (unsigned)ms);
  return 0;
}

static int log_comment(rtw_sse_parser *p, const char *t, size_t n, void *ud)
{
  (void)p;
  rtwt_log_printf(ud, "comment ");
  rtwt_log_bytes(ud, t, n);
  rtwt_log_printf(ud, "\n");
  return 0;
}

/* Feed the stream's output to the library's SSE client (response head, chunked or
 * close-delimited body) and parser; log events, comments, retry and how the body ended.
 * `closed`: the connection closes after these bytes (rtw_sse_http_client_end()). */
static void read_back(const capture *c, int closed, rtwt_log *log)
{
  rtw_sse_callbacks cbs = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_http_client_settings cs = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_parser *parser;
  rtw_sse_http_client *client;
  size_t off = 0, nread;
  int rv;

  cbs.on_event = log_event;
  cbs.on_retry = log_retry;
  cbs.on_comment = log_comment;
  cs.host = "x";
  cs.host_len = 1;
  assert_int_equal(rtw_sse_parser_new(&parser, &cbs, NULL, NULL, log), 0);
  assert_int_equal(rtw_sse_http_client_new(&client, &cs, parser, NULL), 0);
  for (;;) {
    rv = rtw_sse_http_client_recv(client, c->p + off, c->len - off, &nread);
    off += nread;
    if (rv == RTW_SSE_HTTP_DONE) {
      rtwt_log_printf(log, "open\n");
      continue;
    }
    break;
  }
  if (rv == RTW_SSE_HTTP_INCOMPLETE && closed)
    rv = rtw_sse_http_client_end(client);
  if (rv == RTW_SSE_HTTP_END)
    rtwt_log_printf(log, "end\n");
  else if (rv != RTW_SSE_HTTP_INCOMPLETE)
    rtwt_log_printf(log, "%s\n", rtw_err_name(rv));
  assert_int_equal(off, c->len);
  rtw_sse_http_client_free(client);
  rtw_sse_parser_free(parser);
}

static void expect_read_back(const capture *c, int closed, const char *expected)
{
  rtwt_log log;
  rtwt_log_init(&log);
  read_back(c, closed, &log);
  assert_string_equal(log.buf, expected);
  rtwt_log_free(&log);
}

/* ---------------------------------------------------------------------- callbacks */

typedef struct gap_ctx {
  int calls;
  uint32_t reason;
  int send_reset; /* send a reset event from on_gap */
  int ret;        /* what on_gap returns */
  int end;        /* end the stream from on_gap */
  rtw_sse_history *rewind; /* with a comment, move the cursor to its oldest retained event */
  int probe;      /* call the pump from on_gap and record the results */
  int probe_rv[4];
} gap_ctx;

static int on_gap(rtw_sse_stream *s, uint32_t reason, void *ud)
{
  gap_ctx *g = ud;
  rtw_sse_event ev = {0};
  const void *p;
  size_t n;

  g->calls++;
  g->reason = reason;
  if (g->probe) {
    g->probe_rv[0] = rtw_sse_stream_send_pending(s, &p, &n);
    g->probe_rv[1] = rtw_sse_stream_send_consumed(s, 0);
    g->probe_rv[2] = rtw_sse_stream_tick(s, 0);
    rtw_sse_stream_free(s); /* ignored from a callback */
    g->probe_rv[3] = (int)rtw_sse_stream_outbound_size(s) > 0;
  }
  if (g->send_reset) {
    ev.type = "reset";
    ev.type_len = 5;
    ev.data = "";
    assert_int_equal(rtw_sse_stream_send(s, &ev), 0);
  }
  if (g->rewind != NULL) {
    assert_int_equal(rtw_sse_stream_comment(s, "gap", 3), 0);
    assert_int_equal(rtw_sse_stream_set_cursor(s, rtw_sse_history_first_seq(g->rewind)), 0);
  }
  if (g->end)
    assert_int_equal(rtw_sse_stream_end(s), 0);
  return g->ret;
}

static const rtw_sse_stream_callbacks gap_cbs = {RTW_SSE_STREAM_CALLBACKS_VERSION, on_gap};

/* ====================================================================== tests */

/* A new client (no Last-Event-ID) gets live events only: what the history held at creation
 * is not replayed, and events pushed later are noticed by want_write. Exact chunk framing. */
static void test_live_events(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream *s;
  capture c = {0};
  gap_ctx g = {0};
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 16, 4096, NULL), 0);
  publish_n(h, 0, 3);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g), 0);
  rtw_sse_http_request_free(req); /* the stream copied what it needs */
  assert_int_equal(g.calls, 0);
  assert_int_equal(rtw_sse_stream_cursor(s), 3);
  assert_int_equal(rtw_sse_stream_outbound_size(s), sizeof head11 - 1);
  assert_int_equal(rtw_sse_stream_want_write(s), 1);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_string_equal(c.p, head11);
  assert_int_equal(rtw_sse_stream_want_write(s), 0);

  publish_n(h, 3, 5); /* the host publishes, then asks every stream */
  assert_int_equal(rtw_sse_stream_want_write(s), 1);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 0); /* pulled only by send_pending */
  c.len = 0;
  assert_int_equal(drain(s, &c, 0), 0);
  assert_string_equal(c.p, "15\r\nid: 3\ndata: event 3\n\n\r\n"
                           "15\r\nid: 4\ndata: event 4\n\n\r\n");
  assert_int_equal(rtw_sse_stream_cursor(s), 5);
  assert_int_equal(rtw_sse_stream_want_write(s), 0);
  assert_int_equal(rtw_sse_stream_done(s), 0);
  assert_int_equal(rtw_sse_stream_user_data(s), &g);

  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* Last-Event-ID found: exactly the events after it, then live ones; read back with the
 * library's client, with a direct event and a comment between, and the end. */
static void test_resume(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, "2");
  rtw_sse_stream *s;
  rtw_sse_event ev = {0};
  capture c = {0};
  gap_ctx g = {0};
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 16, 4096, NULL), 0);
  publish_n(h, 0, 5);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  assert_int_equal(g.calls, 0);
  assert_int_equal(rtw_sse_stream_cursor(s), 3);
  assert_int_equal(drain(s, &c, 0), 0);
  publish_n(h, 5, 6);
  ev.type = "note";
  ev.type_len = 4;
  ev.data = "two\r\nlines";
  ev.data_len = 10;
  assert_int_equal(rtw_sse_stream_send(s, &ev), 0);
  assert_int_equal(rtw_sse_stream_comment(s, "hi", 2), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0); /* idempotent */
  assert_int_equal(rtw_sse_stream_done(s), 0);
  assert_int_equal(rtw_sse_stream_want_write(s), 1);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_done(s), 1);
  assert_int_equal(rtw_sse_stream_send(s, &ev), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_sse_stream_comment(s, "x", 1), RTW_ERR_INVALID_STATE);
  publish_n(h, 6, 7); /* nothing is pulled after the end */
  assert_int_equal(rtw_sse_stream_want_write(s), 0);
  expect_read_back(&c, 0,
                   "open\n"
                   "event type=message id=3 data=event 3\n"
                   "event type=message id=4 data=event 4\n"
                   "event type=note id=4 data=two\\nlines\n" /* direct, before the pull */
                   "comment hi\n"
                   "event type=message id=5 data=event 5\n"
                   "end\n");
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* The last event already sent: nothing to replay, the cursor is the next sequence number. */
static void test_resume_up_to_date(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, "4");
  rtw_sse_stream *s;
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 16, 4096, NULL), 0);
  publish_n(h, 0, 5);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_sse_stream_cursor(s), 5);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
  rtw_sse_history_free(h);
}

/* An evicted or unknown id: on_gap (RESUME) fires during new(); its reset event goes right
 * after the head; then live events only. */
static void test_gap(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req;
  rtw_sse_stream *s;
  capture c = {0};
  gap_ctx g = {0};
  const char *ids[] = {"0", "nope"};
  size_t i;
  (void)state;

  for (i = 0; i < 2; i++) {
    memset(&g, 0, sizeof g);
    g.send_reset = 1;
    c.len = 0;
    req = request(0, ids[i]);
    assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
    publish_n(h, 0, 10); /* 0..5 evicted */
    assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g), 0);
    rtw_sse_http_request_free(req);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.reason, RTW_SSE_STREAM_GAP_RESUME);
    assert_int_equal(rtw_sse_stream_cursor(s), 10);
    publish_n(h, 10, 11);
    assert_int_equal(rtw_sse_stream_end(s), 0);
    assert_int_equal(drain(s, &c, 0), 0);
    expect_read_back(&c, 0,
                     "open\n"
                     "event type=reset id= data=\n"
                     "end\n");
    /* end() stops pulling: the live event 10 was not pulled before it */
    rtw_sse_stream_free(s);
    rtw_sse_history_free(h);
  }
  free(c.p);
}

/* A server that also does WebSocket on the port: the handshake server's view of a plain
 * request is a request like any other (parsed once); it may be freed (reset) after new(). */
static void test_handshake_view(void **state)
{
  static const char in[] = "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n";
  rtw_ws_handshake_server *hs;
  rtw_sse_history *h;
  rtw_sse_stream *s;
  capture c = {0};
  size_t nread;
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 16, 4096, NULL), 0);
  publish_n(h, 0, 3);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, in, sizeof in - 1, &nread),
                   RTW_WS_HANDSHAKE_PLAIN_REQUEST);
  assert_int_equal(rtw_sse_stream_new(&s, rtw_ws_handshake_server_plain_request(hs), h, NULL,
                                      NULL, NULL, NULL),
                   0);
  rtw_ws_handshake_server_free(hs); /* the view goes with it; the stream copied what it needs */
  assert_int_equal(rtw_sse_stream_cursor(s), 2);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  expect_read_back(&c, 0, "open\nevent type=message id=2 data=event 2\nend\n");
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* A host that starts streams elsewhere: the retained history for a new client, the oldest
 * retained event after a gap (from on_gap); the cursor's limits. */
static void test_set_cursor(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream *s;
  capture c = {0};
  gap_ctx g = {0};
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
  publish_n(h, 0, 10); /* 6..9 retained */
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, NULL, NULL, NULL), 0);
  rtw_sse_http_request_free(req);
  assert_int_equal(rtw_sse_stream_cursor(s), 10);
  assert_int_equal(rtw_sse_stream_set_cursor(s, 5), RTW_ERR_SSE_HISTORY_GAP);
  assert_int_equal(rtw_sse_stream_set_cursor(s, 11), RTW_ERR_SSE_HISTORY_END);
  assert_int_equal(rtw_sse_stream_cursor(s), 10); /* unchanged */
  assert_int_equal(rtw_sse_stream_set_cursor(s, 10), 0);
  assert_int_equal(rtw_sse_stream_set_cursor(s, 6), 0); /* the retained history */
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(rtw_sse_stream_set_cursor(s, 6), RTW_ERR_INVALID_STATE);
  assert_int_equal(drain(s, &c, 0), 0);
  expect_read_back(&c, 0,
                   "open\n"
                   "event type=message id=6 data=event 6\n"
                   "event type=message id=7 data=event 7\n"
                   "event type=message id=8 data=event 8\n"
                   "event type=message id=9 data=event 9\n"
                   "end\n");
  rtw_sse_stream_free(s);

  /* an evicted Last-Event-ID: a comment, then the oldest retained event on */
  g.rewind = h;
  c.len = 0;
  req = request(0, "2");
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  assert_int_equal(g.calls, 1);
  assert_int_equal(rtw_sse_stream_cursor(s), 6);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  expect_read_back(&c, 0,
                   "open\n"
                   "comment gap\n"
                   "event type=message id=6 data=event 6\n"
                   "event type=message id=7 data=event 7\n"
                   "event type=message id=8 data=event 8\n"
                   "event type=message id=9 data=event 9\n"
                   "end\n");
  rtw_sse_stream_free(s);

  req = request(0, NULL);
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_sse_stream_set_cursor(s, 0), RTW_ERR_INVALID_ARGUMENT); /* no history */
  assert_int_equal(rtw_sse_stream_set_cursor(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
  rtw_sse_history_free(h);
  free(c.p);
}

/* Without a history, a Last-Event-ID is a gap (nothing can be replayed); without one, not. */
static void test_no_history(void **state)
{
  rtw_sse_http_request *req = request(0, "7");
  rtw_sse_stream *s;
  gap_ctx g = {0};
  (void)state;

  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, &gap_cbs, NULL, NULL, &g), 0);
  assert_int_equal(g.calls, 1);
  assert_int_equal(g.reason, RTW_SSE_STREAM_GAP_RESUME);
  assert_int_equal(rtw_sse_stream_cursor(s), 0);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);

  memset(&g, 0, sizeof g);
  req = request(0, NULL);
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, &gap_cbs, NULL, NULL, &g), 0);
  assert_int_equal(g.calls, 0);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
}

/* HTTP/1.0: close-delimited, no chunk framing, end() adds nothing; the body ends when the
 * host closes. Read back with the client, which then reports the end. */
static void test_http10(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(1, "1");
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  capture c = {0};
  char expect[512];
  (void)state;

  set.retry_ms = 2500;
  assert_int_equal(rtw_sse_history_new(&h, 16, 4096, NULL), 0);
  publish_n(h, 0, 3);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, &set, NULL, NULL), 0);
  rtw_sse_http_request_free(req);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  snprintf(expect, sizeof expect, "%sretry: 2500\n", head10);
  assert_string_equal(c.p, expect); /* ended before the pull: no events */
  assert_int_equal(rtw_sse_stream_done(s), 1);
  rtw_sse_stream_free(s);

  req = request(1, "1");
  c.len = 0;
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, &set, NULL, NULL), 0);
  rtw_sse_http_request_free(req);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 0); /* no last chunk in HTTP/1.0 */
  assert_int_equal(rtw_sse_stream_done(s), 1);
  snprintf(expect, sizeof expect, "%sretry: 2500\nid: 2\ndata: event 2\n\n", head10);
  assert_string_equal(c.p, expect);
  expect_read_back(&c, 1,
                   "open\n"
                   "retry 2500\n"
                   "event type=message id=2 data=event 2\n"
                   "end\n");
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* Extra header lines and retry, chunked; a header the library writes itself is refused. */
static void test_settings(void **state)
{
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_http_header hs[1] = {{"Access-Control-Allow-Origin", 27, "*", 1}};
  rtw_http_header bad[1] = {{"Content-Type", 12, "text/plain", 10}};
  rtw_sse_stream *s;
  capture c = {0};
  (void)state;

  set.headers = hs;
  set.num_headers = 1;
  set.retry_ms = 100;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_string_equal(c.p, "HTTP/1.1 200 OK\r\n"
                           "Content-Type: text/event-stream\r\n"
                           "Cache-Control: no-store\r\n"
                           "X-Accel-Buffering: no\r\n"
                           "Transfer-Encoding: chunked\r\n"
                           "Access-Control-Allow-Origin: *\r\n"
                           "\r\n"
                           "b\r\nretry: 100\n\r\n");
  rtw_sse_stream_free(s);

  set.headers = bad;
  s = (rtw_sse_stream *)&c;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_HTTP_INVALID_HEADER);
  assert_null(s);
  rtw_sse_http_request_free(req);
  free(c.p);
}

static void test_arguments(void **state)
{
  rtw_sse_http_request *req = request(0, NULL), *incomplete;
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream_callbacks cb = {RTW_SSE_STREAM_CALLBACKS_VERSION};
  rtw_mem half = {0};
  rtw_sse_stream *s;
  const void *p;
  size_t n, nread;
  rtw_sse_event ev = {0};
  (void)state;

  assert_int_equal(rtw_sse_stream_new(NULL, req, NULL, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_new(&s, NULL, NULL, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_new(&incomplete, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_request_recv(incomplete, "GET / HTTP/1.1\r\n", 16, &nread), 0);
  assert_int_equal(rtw_sse_stream_new(&s, incomplete, NULL, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_http_request_free(incomplete);
  set.version = 0;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  set.version = RTW_SSE_STREAM_SETTINGS_VERSION + 1;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  set.version = RTW_SSE_STREAM_SETTINGS_VERSION;
  set.flags = 0x80;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  set.flags = 0;
  set.slow_policy = 2;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  set.slow_policy = 0;
  set.num_headers = 1;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  cb.version = 2;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, &cb, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, NULL, &half, NULL),
                   RTW_ERR_INVALID_ARGUMENT);

  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_sse_stream_send(NULL, &ev), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_send(s, NULL), RTW_ERR_INVALID_ARGUMENT);
  ev.id = "a\nb";
  ev.id_len = 3;
  assert_int_equal(rtw_sse_stream_send(s, &ev), RTW_ERR_SSE_INVALID_FIELD);
  assert_int_equal(rtw_sse_stream_comment(s, NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_comment(s, "\xff", 1), RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_sse_stream_send_pending(s, NULL, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_send_pending(NULL, &p, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_null(p);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_stream_send_consumed(s, sizeof head11), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_outbound_size(s), sizeof head11 - 1); /* unchanged */
  assert_int_equal(rtw_sse_stream_send_consumed(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_tick(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_end(NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_stream_want_write(NULL), 0);
  assert_int_equal(rtw_sse_stream_done(NULL), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(NULL), 0);
  assert_int_equal(rtw_sse_stream_cursor(NULL), 0);
  assert_null(rtw_sse_stream_user_data(NULL));
  assert_true(rtw_sse_stream_next_deadline(NULL) == UINT64_MAX);
  assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX); /* before the first tick */
  rtw_sse_stream_free(s);
  rtw_sse_stream_free(NULL);
  rtw_sse_http_request_free(req);
}

/* Partial writes, down to one byte: the bytes written are the same as in one go. */
static void test_partial_consumed(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, "0");
  rtw_sse_stream *s;
  capture whole = {0}, part = {0};
  size_t steps[] = {1, 2, 3, 7, 64};
  size_t i;
  (void)state;

  assert_int_equal(rtw_sse_history_new(&h, 64, 8192, NULL), 0);
  publish_n(h, 0, 40);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(drain(s, &whole, 0), 0);
  rtw_sse_stream_free(s);
  for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    part.len = 0;
    assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(drain(s, &part, steps[i]), 0);
    assert_int_equal(part.len, whole.len);
    assert_memory_equal(part.p, whole.p, whole.len);
    assert_int_equal(rtw_sse_stream_cursor(s), 40);
    rtw_sse_stream_free(s);
  }
  rtw_sse_http_request_free(req);
  rtw_sse_history_free(h);
  free(whole.p);
  free(part.p);
}

/* The budget: history events are pulled one at a time only while under max_outbound, so the
 * output never exceeds max_outbound - 1 + one framed event; direct sends over it are refused
 * and queue nothing; every event still arrives once, in order. */
static void test_budget(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, "0");
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  rtw_sse_event ev = {0};
  capture c = {0};
  const void *p;
  size_t n, framed = 4 + 21 + 2; /* "15\r\n" + "id: 1\ndata: event 1\n\n" + "\r\n" */
  size_t before, i;
  rtwt_log expect;
  (void)state;

  set.max_outbound = 100;
  assert_int_equal(rtw_sse_history_new(&h, 64, 8192, NULL), 0);
  publish_n(h, 0, 10);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, &set, NULL, NULL), 0);
  rtw_sse_http_request_free(req);
  /* The head alone is over this tiny budget: nothing is pulled until it is written. */
  assert_true(sizeof head11 - 1 >= 100);
  assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), 0);
  assert_int_equal(n, sizeof head11 - 1);
  assert_int_equal(rtw_sse_stream_cursor(s), 1);
  ev.data = "direct";
  ev.data_len = 6;
  before = rtw_sse_stream_outbound_size(s);
  assert_int_equal(rtw_sse_stream_send(s, &ev), RTW_ERR_SSE_OUTBOUND_FULL);
  assert_int_equal(rtw_sse_stream_comment(s, "c", 1), RTW_ERR_SSE_OUTBOUND_FULL);
  assert_int_equal(rtw_sse_stream_outbound_size(s), before);
  assert_int_equal(rtw_is_fatal(RTW_ERR_SSE_OUTBOUND_FULL), 0);
  assert_int_equal(rtw_sse_stream_send_consumed(s, n), 0);
  /* Now pulls stop at the first event that reaches the budget: 4 events of 29 bytes. */
  assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), 0);
  assert_int_equal(n, 4 * framed);
  assert_true(n < 100 + framed);
  assert_int_equal(rtw_sse_stream_cursor(s), 5);
  cap_add(&c, p, 30); /* the socket takes 30 bytes */
  assert_int_equal(rtw_sse_stream_send(s, &ev), RTW_ERR_SSE_OUTBOUND_FULL);
  assert_int_equal(rtw_sse_stream_send_consumed(s, 30), 0); /* partial: 78 pending */
  assert_int_equal(rtw_sse_stream_send(s, &ev), 0);         /* under budget again */
  assert_int_equal(rtw_sse_stream_outbound_size(s), 78 + 3 + 14 + 2); /* "e\r\n" */
  assert_int_equal(drain(s, &c, 0), 0); /* the rest of the history follows */
  assert_int_equal(rtw_sse_stream_cursor(s), 10);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);

  rtwt_log_init(&expect);
  for (i = 1; i < 10; i++) {
    if (i == 5)
      rtwt_log_printf(&expect, "event type=message id=4 data=direct\n");
    rtwt_log_printf(&expect, "event type=message id=%u data=event %u\n", (unsigned)i,
                    (unsigned)i);
  }
  rtwt_log_printf(&expect, "end\n");
  {
    capture full = {0};
    rtwt_log got;
    cap_add(&full, head11, sizeof head11 - 1);
    cap_add(&full, c.p, c.len);
    rtwt_log_init(&got);
    read_back(&full, 0, &got);
    assert_string_equal(got.buf + 5, expect.buf); /* after "open\n" */
    rtwt_log_free(&got);
    free(full.p);
  }
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
  rtwt_log_free(&expect);
}

/* The budget as a property: random publishing, direct sends, comments, partial writes and
 * ticks (a fixed pseudo-random sequence). After every step the output is below max_outbound
 * plus one framed item plus the tail; a refused send changes nothing; the bytes written parse
 * back to history events in increasing order, each at most once, with every direct event. */
typedef struct seen_ctx {
  long last_history; /* the last history event's number, -1 before any */
  long directs;      /* direct events seen */
  int bad;
} seen_ctx;

static int check_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  seen_ctx *c = ud;
  char id[24] = {0};
  long n;
  (void)p;
  if (ev->type_len == 6 && memcmp(ev->type, "direct", 6) == 0) {
    c->directs++;
    return 0;
  }
  assert_true(ev->id_len < sizeof id); /* spans are not NUL-terminated */
  memcpy(id, ev->id, ev->id_len);
  n = strtol(id, NULL, 10);
  if (n <= c->last_history)
    c->bad = 1;
  c->last_history = n;
  return 0;
}

static uint32_t lcg(uint32_t *x)
{
  *x = *x * 1103515245u + 12345u;
  return (*x >> 8) & 0xFFFFu;
}

static void test_budget_property(void **state)
{
  enum { BUDGET = 300, MAXDATA = 200 };
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_callbacks pcb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_stream *s;
  rtw_sse_parser *parser;
  rtw_sse_event ev = {0};
  seen_ctx seen = {-1, 0, 0};
  gap_ctx g = {0};
  capture c = {0};
  char data[MAXDATA + 1], id[24];
  const void *p;
  size_t n, before, body, nread, bound;
  uint32_t x = 12345u;
  long published = 0, directs = 0, step;
  uint64_t now = 0;
  int rv;
  (void)state;

  /* the largest item: an event with an id of up to 6 digits and MAXDATA bytes of data */
  bound = BUDGET + (4 + 11 + 6 + MAXDATA + 2) + RTW_SSE_HTTP_CHUNK_OVERHEAD +
          RTW_SSE_STREAM_TAIL_MAX;
  memset(data, 'd', sizeof data);
  set.max_outbound = BUDGET;
  set.slow_policy = RTW_SSE_STREAM_SLOW_HOLD;
  set.heartbeat_ms = 50;
  assert_int_equal(rtw_sse_history_new(&h, 32, 8192, NULL), 0);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, &set, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  for (step = 0; step < 20000; step++) {
    switch (lcg(&x) % 5) {
    case 0: /* publish */
      snprintf(id, sizeof id, "%ld", published++);
      data[lcg(&x) % MAXDATA + 1] = '\0';
      assert_int_equal(publish(h, id, data), 0);
      memset(data, 'd', sizeof data);
      break;
    case 1: /* a direct event */
      ev.type = "direct";
      ev.type_len = 6;
      ev.data = data;
      ev.data_len = lcg(&x) % MAXDATA;
      before = rtw_sse_stream_outbound_size(s);
      rv = rtw_sse_stream_send(s, &ev);
      if (rv == RTW_ERR_SSE_OUTBOUND_FULL) {
        assert_true(before >= BUDGET);
        assert_int_equal(rtw_sse_stream_outbound_size(s), before);
      } else {
        assert_int_equal(rv, 0);
        directs++;
      }
      break;
    case 2: /* the socket takes some bytes */
      assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), 0);
      assert_true(n < bound);
      n = n == 0 ? 0 : lcg(&x) % (n + 1);
      cap_add(&c, p, n);
      assert_int_equal(rtw_sse_stream_send_consumed(s, n), 0);
      break;
    case 3: /* time passes: heartbeats, slow-consumer holds */
      now += lcg(&x) % 40;
      assert_int_equal(rtw_sse_stream_tick(s, now), 0);
      break;
    default:
      rv = rtw_sse_stream_comment(s, "c", 1);
      assert_true(rv == 0 || rv == RTW_ERR_SSE_OUTBOUND_FULL);
    }
    assert_true(rtw_sse_stream_outbound_size(s) < bound);
  }
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_cursor(s), (uint64_t)published);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_done(s), 1);

  /* read back: skip the head, decode the chunks, parse */
  body = sizeof head11 - 1;
  assert_memory_equal(c.p, head11, body);
  pcb.on_event = check_event;
  assert_int_equal(rtw_sse_parser_new(&parser, &pcb, NULL, NULL, &seen), 0);
  while (body < c.len) {
    char *end;
    unsigned long len = strtoul(c.p + body, &end, 16);
    assert_memory_equal(end, "\r\n", 2);
    body = (size_t)(end - c.p) + 2;
    if (len == 0)
      break;
    assert_int_equal(rtw_sse_parser_recv(parser, c.p + body, len, &nread), 0);
    assert_memory_equal(c.p + body + len, "\r\n", 2);
    body += len + 2;
  }
  assert_int_equal(body + 2, c.len); /* the last chunk's CRLF ends the output */
  assert_int_equal(seen.bad, 0);
  assert_int_equal(seen.directs, directs);
  assert_int_equal(seen.last_history, published - 1);
  assert_true(directs > 100 && published > 1000);
  assert_true(g.calls > 0); /* the history also outran the stream: held, not dropped */
  assert_int_equal(g.reason, RTW_SSE_STREAM_GAP_SLOW);
  rtw_sse_parser_free(parser);
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* Slow consumer, DROP: the history evicted events the stream never sent. send_pending (or
 * tick) fails the stream: a comment saying why and the last chunk are queued after what was
 * pending, so the client reconnects with its Last-Event-ID. */
static void test_slow_drop(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream *s;
  capture c = {0};
  gap_ctx g = {0};
  const void *p;
  size_t n;
  int via_tick;
  (void)state;

  for (via_tick = 0; via_tick < 2; via_tick++) {
    c.len = 0;
    assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
    assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g), 0);
    publish_n(h, 0, 2);
    assert_int_equal(drain(s, &c, 0), 0); /* head, events 0 and 1 */
    publish_n(h, 2, 8);                    /* 2 and 3 evicted before they were pulled */
    assert_int_equal(rtw_sse_stream_want_write(s), 1);
    if (via_tick)
      assert_int_equal(rtw_sse_stream_tick(s, 5), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_int_equal(rtw_is_fatal(RTW_ERR_SSE_SLOW_CONSUMER), 1);
    assert_int_equal(rtw_sse_stream_done(s), 0);
    assert_int_equal(rtw_sse_stream_send(s, &(rtw_sse_event){0}), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_int_equal(rtw_sse_stream_end(s), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_int_equal(rtw_sse_stream_tick(s, 6), 0); /* reported already */
    /* the closing bytes linger for a peer that does not read them, but not forever */
    assert_true(rtw_sse_stream_next_deadline(s) ==
                (via_tick ? 5u : 6u) + RTW_SSE_STREAM_FAIL_LINGER_MS);
    assert_int_equal(drain(s, &c, 3), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX); /* all written */
    assert_int_equal(rtw_sse_stream_done(s), 1);
    assert_int_equal(rtw_sse_stream_want_write(s), 0);
    assert_int_equal(g.calls, 0);
    expect_read_back(&c, 0,
                     "open\n"
                     "event type=message id=0 data=event 0\n"
                     "event type=message id=1 data=event 1\n"
                     "comment rtweb: dropped, slow consumer\n"
                     "end\n");
    rtw_sse_stream_free(s);
    rtw_sse_history_free(h);
  }
  rtw_sse_http_request_free(req);
  free(c.p);
}

/* A dropped slow consumer that never reads again: its closing bytes are dropped after the
 * send timeout (or RTW_SSE_STREAM_FAIL_LINGER_MS without one), so the stream is done and the
 * host closes the connection instead of holding it forever. */
static void test_slow_drop_never_read(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {.version = RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  capture c = {0};
  const void *p;
  size_t n;
  int with_timeout;
  (void)state;

  for (with_timeout = 0; with_timeout < 2; with_timeout++) {
    uint32_t linger = with_timeout ? 700u : RTW_SSE_STREAM_FAIL_LINGER_MS;
    set.send_timeout_ms = with_timeout ? 700u : 0u;
    c.len = 0;
    assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
    assert_int_equal(rtw_sse_stream_new(&s, req, h, NULL, &set, NULL, NULL), 0);
    assert_int_equal(rtw_sse_stream_tick(s, 100), 0);
    publish_n(h, 0, 8); /* 0..3 evicted before they were pulled */
    assert_int_equal(rtw_sse_stream_tick(s, 200), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_true(rtw_sse_stream_outbound_size(s) > 0);
    assert_true(rtw_sse_stream_next_deadline(s) == 100u + linger);
    assert_int_equal(rtw_sse_stream_tick(s, 100u + linger - 1u), 0);
    assert_int_equal(rtw_sse_stream_done(s), 0);
    assert_int_equal(rtw_sse_stream_tick(s, 100u + linger), 0);
    assert_int_equal(rtw_sse_stream_outbound_size(s), 0);
    assert_int_equal(rtw_sse_stream_done(s), 1);
    assert_int_equal(rtw_sse_stream_want_write(s), 0);
    assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX);
    assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), RTW_ERR_SSE_SLOW_CONSUMER);
    assert_int_equal(n, 0);
    rtw_sse_stream_free(s);
    rtw_sse_history_free(h);
  }
  rtw_sse_http_request_free(req);
  free(c.p);
}

/* Slow consumer, HOLD: on_gap (SLOW) fires, its reset goes first, the cursor jumps to the
 * oldest retained event. Also from tick. */
static void test_slow_hold(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  capture c = {0};
  gap_ctx g = {0};
  (void)state;

  set.slow_policy = RTW_SSE_STREAM_SLOW_HOLD;
  g.send_reset = 1;
  assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, &set, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  publish_n(h, 0, 10); /* 0..5 evicted, never sent */
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(g.calls, 1);
  assert_int_equal(g.reason, RTW_SSE_STREAM_GAP_SLOW);
  assert_int_equal(rtw_sse_stream_cursor(s), 10);
  publish_n(h, 10, 20); /* 10..15 evicted: detected by the tick */
  assert_int_equal(rtw_sse_stream_tick(s, 0), 0);
  assert_int_equal(g.calls, 2);
  assert_int_equal(rtw_sse_stream_cursor(s), 16);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_end(s), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  expect_read_back(&c, 0,
                   "open\n"
                   "event type=reset id= data=\n"
                   "event type=message id=6 data=event 6\n"
                   "event type=message id=7 data=event 7\n"
                   "event type=message id=8 data=event 8\n"
                   "event type=message id=9 data=event 9\n"
                   "event type=reset id=9 data=\n"
                   "event type=message id=16 data=event 16\n"
                   "event type=message id=17 data=event 17\n"
                   "event type=message id=18 data=event 18\n"
                   "event type=message id=19 data=event 19\n"
                   "end\n");
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* on_gap failing: at creation new() fails and frees; later the stream fails with the last
 * chunk after what was pending. */
static void test_gap_callback_failure(void **state)
{
  rtw_sse_history *h;
  rtw_sse_http_request *req = request(0, "gone");
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s = NULL;
  capture c = {0};
  gap_ctx g = {0};
  const void *p;
  size_t n;
  (void)state;

  g.ret = -1;
  assert_int_equal(rtw_sse_history_new(&h, 4, 4096, NULL), 0);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, NULL, NULL, &g),
                   RTW_ERR_CALLBACK_FAILURE);
  assert_null(s);
  rtw_sse_http_request_free(req);

  req = request(0, NULL);
  set.slow_policy = RTW_SSE_STREAM_SLOW_HOLD;
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, &set, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  publish_n(h, 0, 6);
  assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(drain(s, &c, 0), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(rtw_sse_stream_done(s), 1);
  expect_read_back(&c, 0, "open\nend\n");
  rtw_sse_stream_free(s);

  /* on_gap that ends the stream, then fails: one last chunk, not two */
  g.end = 1;
  c.len = 0;
  req = request(0, NULL);
  assert_int_equal(rtw_sse_stream_new(&s, req, h, &gap_cbs, &set, NULL, &g), 0);
  rtw_sse_http_request_free(req);
  publish_n(h, 6, 12);
  assert_int_equal(drain(s, &c, 0), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(c.len, sizeof head11 - 1 + 5);
  assert_memory_equal(c.p + c.len - 5, RTW_SSE_HTTP_LAST_CHUNK, 5);
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  free(c.p);
}

/* Callbacks cannot run the pump (RTW_ERR_REENTRANT) and cannot free the stream. */
static void test_reentrancy(void **state)
{
  rtw_sse_http_request *req = request(0, "x");
  rtw_sse_stream *s;
  gap_ctx g = {0};
  (void)state;

  g.probe = 1;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, &gap_cbs, NULL, NULL, &g), 0);
  assert_int_equal(g.calls, 1);
  assert_int_equal(g.probe_rv[0], RTW_ERR_REENTRANT);
  assert_int_equal(g.probe_rv[1], RTW_ERR_REENTRANT);
  assert_int_equal(g.probe_rv[2], RTW_ERR_REENTRANT);
  assert_int_equal(g.probe_rv[3], 1); /* still alive after the ignored free */
  assert_int_equal(rtw_sse_stream_outbound_size(s), sizeof head11 - 1);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
}

/* Heartbeats on a fake clock: timers arm at the first tick; a comment after heartbeat_ms
 * without output; none while output is pending; any output restarts the wait. */
static void test_heartbeat(void **state)
{
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  capture c = {0};
  (void)state;

  set.heartbeat_ms = 1000;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX);
  assert_int_equal(rtw_sse_stream_tick(s, 5000), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == 6000);
  assert_int_equal(rtw_sse_stream_tick(s, 5999), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 6000), 0);
  c.len = 0;
  assert_int_equal(drain(s, &c, 0), 0);
  assert_string_equal(c.p, "2\r\n:\n\r\n");
  assert_true(rtw_sse_stream_next_deadline(s) == 7000);
  /* a comment queued at 6500 (as seen by the tick at 6500) restarts the wait */
  assert_int_equal(rtw_sse_stream_tick(s, 6500), 0);
  assert_int_equal(rtw_sse_stream_comment(s, "x", 1), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == 7500);
  /* pending and unwritten at the deadline: no heartbeat piles up, the wait restarts */
  assert_int_equal(rtw_sse_stream_tick(s, 7500), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 3 + 4 + 2);
  assert_true(rtw_sse_stream_next_deadline(s) == 8500);
  c.len = 0;
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 8500), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 7);
  assert_int_equal(rtw_sse_stream_end(s), 0); /* no heartbeat after the end */
  assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX);
  assert_int_equal(rtw_sse_stream_tick(s, 100000), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 7 + 5);
  rtw_sse_stream_free(s);

  set.flags = RTW_SSE_STREAM_FLAG_NO_HEARTBEAT;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 0), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX);
  assert_int_equal(rtw_sse_stream_tick(s, 1000000), 0);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 0);
  rtw_sse_stream_free(s);

  set.flags = 0;
  set.heartbeat_ms = 0; /* the default */
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 0), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == RTW_SSE_STREAM_DEFAULT_HEARTBEAT_MS);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
  free(c.p);
}

/* The send timeout: pending output and no progress for send_timeout_ms fails the stream and
 * drops its output; a partial write is progress. */
static void test_send_timeout(void **state)
{
  rtw_sse_http_request *req = request(0, NULL);
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_stream *s;
  capture c = {0};
  const void *p;
  size_t n;
  (void)state;

  set.send_timeout_ms = 5000;
  set.flags = RTW_SSE_STREAM_FLAG_NO_HEARTBEAT;
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 100), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == 5100);
  assert_int_equal(rtw_sse_stream_tick(s, 5099), 0);
  assert_int_equal(rtw_sse_stream_send_consumed(s, 1), 0); /* progress at 5099 */
  assert_true(rtw_sse_stream_next_deadline(s) == 10099);
  assert_int_equal(rtw_sse_stream_tick(s, 10098), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 10099), RTW_ERR_SEND_TIMEOUT);
  assert_int_equal(rtw_sse_stream_outbound_size(s), 0);
  assert_int_equal(rtw_sse_stream_done(s), 1);
  assert_int_equal(rtw_sse_stream_want_write(s), 0);
  assert_int_equal(rtw_sse_stream_send_pending(s, &p, &n), RTW_ERR_SEND_TIMEOUT);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_stream_tick(s, 20000), 0);
  rtw_sse_stream_free(s);

  /* Idle (nothing pending) is no timeout; output queued after a long idle time waits from
   * then, not from the last progress. */
  assert_int_equal(rtw_sse_stream_new(&s, req, NULL, NULL, &set, NULL, NULL), 0);
  assert_int_equal(rtw_sse_stream_tick(s, 0), 0);
  assert_int_equal(drain(s, &c, 0), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == UINT64_MAX);
  assert_int_equal(rtw_sse_stream_tick(s, 60000), 0);
  assert_int_equal(rtw_sse_stream_comment(s, "", 0), 0);
  assert_true(rtw_sse_stream_next_deadline(s) == 65000);
  assert_int_equal(rtw_sse_stream_tick(s, 60001), 0);
  rtw_sse_stream_free(s);
  rtw_sse_http_request_free(req);
  free(c.p);
}

/* ---------------------------------------------------------------------- memory accounting */

typedef struct counting {
  size_t live, peak;
  long blocks;
} counting;

typedef union header { /* keeps the user block aligned for any type (C99: no max_align_t) */
  size_t size;
  long double ld;
  void *p;
  long long ll;
} header;

static void *cnt_malloc(size_t n, void *ud)
{
  counting *c = ud;
  header *h = malloc(sizeof *h + n);
  if (h == NULL)
    return NULL;
  h->size = n;
  c->live += n;
  c->blocks++;
  if (c->live > c->peak)
    c->peak = c->live;
  return h + 1;
}

static void *cnt_calloc(size_t m, size_t n, void *ud)
{
  void *p = cnt_malloc(m * n, ud);
  if (p != NULL)
    memset(p, 0, m * n);
  return p;
}

static void *cnt_realloc(void *p, size_t n, void *ud)
{
  counting *c = ud;
  header *h = (header *)p - 1, *q;
  size_t old = h->size;
  q = realloc(h, sizeof *h + n);
  if (q == NULL)
    return NULL;
  q->size = n;
  c->live = c->live - old + n;
  if (c->live > c->peak)
    c->peak = c->live;
  return q + 1;
}

static void cnt_free(void *p, void *ud)
{
  counting *c = ud;
  header *h = (header *)p - 1;
  c->live -= h->size;
  c->blocks--;
  free(h);
}

/* Ten subscribers replay ~1 MiB each through the default 256 KiB budget; while catching up
 * each holds at most the budget plus one event, and once caught up only a small buffer
 * (today's hand-written hosts kept 79.5 MiB for ten). */
static void test_buffer_shrink(void **state)
{
  enum { SUBS = 10 };
  rtw_sse_history *h;
  rtw_sse_http_request *req;
  rtw_sse_stream *s[SUBS];
  counting cnt[SUBS];
  rtw_mem mem[SUBS];
  char id[16], data[1001];
  const void *p;
  size_t n, held_after_new, total = 0;
  int i, k;
  (void)state;

  memset(data, 'x', 1000);
  data[1000] = '\0';
  assert_int_equal(rtw_sse_history_new(&h, 2048, 2u * 1024u * 1024u, NULL), 0);
  for (i = 0; i < 1100; i++) {
    snprintf(id, sizeof id, "%d", i);
    assert_int_equal(publish(h, id, data), 0);
  }
  req = request(0, "0");
  for (k = 0; k < SUBS; k++) {
    memset(&cnt[k], 0, sizeof cnt[k]);
    mem[k].malloc_fn = cnt_malloc;
    mem[k].calloc_fn = cnt_calloc;
    mem[k].realloc_fn = cnt_realloc;
    mem[k].free_fn = cnt_free;
    mem[k].user_data = &cnt[k];
    assert_int_equal(rtw_sse_stream_new(&s[k], req, h, NULL, NULL, &mem[k], NULL), 0);
  }
  held_after_new = cnt[0].live;
  assert_true(held_after_new < 2048); /* the struct and the head */
  for (k = 0; k < SUBS; k++) {
    /* a host writing 1 KiB per call */
    do {
      assert_int_equal(rtw_sse_stream_send_pending(s[k], &p, &n), 0);
      assert_true(n <= RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND - 1 + 1024 +
                           RTW_SSE_HTTP_CHUNK_OVERHEAD);
      total += n < 1024 ? n : 1024;
      assert_int_equal(rtw_sse_stream_send_consumed(s[k], n < 1024 ? n : 1024), 0);
    } while (n > 0);
    assert_int_equal(rtw_sse_stream_cursor(s[k]), 1100);
    /* peak: struct + buffer of at most twice the budget + one framed event + the tail */
    assert_true(cnt[k].peak <= held_after_new + 2 * RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND + 1024 +
                                   RTW_SSE_HTTP_CHUNK_OVERHEAD + RTW_SSE_STREAM_TAIL_MAX);
    assert_true(cnt[k].peak > RTW_SSE_STREAM_DEFAULT_MAX_OUTBOUND); /* it did fill up */
    /* caught up: only the struct (the big buffer was freed) */
    assert_true(cnt[k].live <= 1024);
    assert_int_equal(cnt[k].blocks, 1);
  }
  assert_true(total > 10u * 1000u * 1000u);
  /* After catching up, small live events use a small buffer that is kept. */
  publish_n(h, 2000, 2003);
  for (k = 0; k < SUBS; k++) {
    capture c = {0};
    assert_int_equal(drain(s[k], &c, 0), 0);
    assert_true(cnt[k].live <= 1024 + RTW_SSE_STREAM_IDLE_BUFFER);
    free(c.p);
  }
  for (k = 0; k < SUBS; k++) {
    rtw_sse_stream_free(s[k]);
    assert_int_equal(cnt[k].live, 0);
    assert_int_equal(cnt[k].blocks, 0);
  }
  rtw_sse_http_request_free(req);
  rtw_sse_history_free(h);
}

/* ---------------------------------------------------------------------- allocation failures */

static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  static const char in[] = "GET /e HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n";
  rtw_sse_http_request *req = NULL;
  rtw_sse_history *h = NULL;
  rtw_sse_stream *s = NULL;
  rtw_sse_stream_settings set = {RTW_SSE_STREAM_SETTINGS_VERSION};
  rtw_sse_event ev = {0};
  const void *p;
  size_t n, nread;
  char big[6000];
  int rv, i;
  (void)arg;

  set.retry_ms = 10;
  set.max_outbound = 8192;
  memset(big, 'y', sizeof big);
  if ((rv = rtw_sse_http_request_new(&req, NULL, mem)) != 0)
    goto out;
  rv = rtw_sse_http_request_recv(req, in, sizeof in - 1, &nread);
  if (rv < 0)
    goto out;
  if ((rv = rtw_sse_history_new(&h, 8, 4096, mem)) != 0)
    goto out;
  publish_n(h, 0, 4);
  if ((rv = rtw_sse_stream_new(&s, req, h, NULL, &set, mem, NULL)) != 0)
    goto out;
  for (i = 0; i < 3; i++) {
    if ((rv = rtw_sse_stream_send_pending(s, &p, &n)) != 0)
      goto out;
    if ((rv = rtw_sse_stream_send_consumed(s, n)) != 0)
      goto out;
    publish_n(h, 4 + i, 5 + i);
  }
  ev.data = big;
  ev.data_len = sizeof big;
  if ((rv = rtw_sse_stream_send(s, &ev)) != 0 || (rv = rtw_sse_stream_comment(s, "c", 1)) != 0)
    goto out;
  if ((rv = rtw_sse_stream_send_pending(s, &p, &n)) != 0 ||
      (rv = rtw_sse_stream_send_consumed(s, n)) != 0)
    goto out;
  if ((rv = rtw_sse_stream_tick(s, 0)) != 0 || (rv = rtw_sse_stream_tick(s, 20000)) != 0)
    goto out; /* a heartbeat */
  if ((rv = rtw_sse_stream_end(s)) != 0)
    goto out;
  rv = 0;
out:
  if (rv == RTW_ERR_NOMEM)
    assert_true(s == NULL || rtw_sse_stream_done(s));
  rtw_sse_stream_free(s);
  rtw_sse_history_free(h);
  rtw_sse_http_request_free(req);
  return rv;
}

static void test_alloc_failures(void **state)
{
  (void)state;
  assert_true(rtwt_check_alloc_failures(alloc_scenario, NULL) >= 5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_live_events),
      cmocka_unit_test(test_resume),
      cmocka_unit_test(test_resume_up_to_date),
      cmocka_unit_test(test_gap),
      cmocka_unit_test(test_handshake_view),
      cmocka_unit_test(test_set_cursor),
      cmocka_unit_test(test_no_history),
      cmocka_unit_test(test_http10),
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_arguments),
      cmocka_unit_test(test_partial_consumed),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_budget_property),
      cmocka_unit_test(test_slow_drop),
      cmocka_unit_test(test_slow_drop_never_read),
      cmocka_unit_test(test_slow_hold),
      cmocka_unit_test(test_gap_callback_failure),
      cmocka_unit_test(test_reentrancy),
      cmocka_unit_test(test_heartbeat),
      cmocka_unit_test(test_send_timeout),
      cmocka_unit_test(test_buffer_shrink),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
