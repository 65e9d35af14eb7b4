/* SPDX-License-Identifier: MIT */
/* SSE over HTTP/1.1: server request parsing, response and chunk framing, client response
 * processing (WHATWG 9.2.2 status/Content-Type table, redirects, body framings), the
 * reconnection policy on a fake clock, and replay after a reconnect with no loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

/* ====================================================================== client harness */

static int log_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  rtwt_log *log = ud;
  (void)p;
  rtwt_log_printf(log, "event type=");
  rtwt_log_bytes(log, type, type_len);
  rtwt_log_printf(log, " id=");
  rtwt_log_bytes(log, id, id_len);
  rtwt_log_printf(log, " data=");
  rtwt_log_bytes(log, data, data_len);
  rtwt_log_printf(log, "\n");
  return 0;
}

static int log_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  (void)p;
  rtwt_log_printf(ud, "retry %u\n", (unsigned)ms);
  return 0;
}

static const rtw_sse_callbacks log_cbs = {RTW_SSE_CALLBACKS_VERSION, log_event, NULL, log_retry,
                                          NULL, NULL, NULL};

static rtw_sse_http_client *new_client(rtw_sse_parser *parser, const char *last_id)
{
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_http_client *c;
  s.host = "example.com";
  s.host_len = 11;
  s.path = "/feed";
  s.path_len = 5;
  s.last_event_id = last_id;
  s.last_event_id_len = last_id ? strlen(last_id) : 0;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), 0);
  return c;
}

/* Log one outcome; return 1 when it is terminal. */
static int log_outcome(rtw_sse_http_client *c, int rv, rtwt_log *log)
{
  const char *p;
  size_t n;

  if (rv == RTW_SSE_HTTP_INCOMPLETE)
    return 0;
  if (rv == RTW_SSE_HTTP_DONE) {
    rtwt_log_printf(log, "open %d\n", rtw_sse_http_client_status(c));
    return 0;
  }
  if (rv == RTW_SSE_HTTP_END)
    rtwt_log_printf(log, "end\n");
  else if (rv == RTW_SSE_HTTP_NO_CONTENT)
    rtwt_log_printf(log, "no-content\n");
  else if (rv == RTW_SSE_HTTP_REDIRECT) {
    assert_int_equal(rtw_sse_http_client_location(c, &p, &n), 1);
    rtwt_log_printf(log, "redirect %d ", rtw_sse_http_client_status(c));
    rtwt_log_bytes(log, p, n);
    rtwt_log_printf(log, "\n");
  } else
    rtwt_log_printf(log, "%s status=%d\n", rtw_err_name(rv), rtw_sse_http_client_status(c));
  return 1;
}

typedef struct client_arg {
  int call_end; /* call rtw_sse_http_client_end() after the input (connection closed) */
} client_arg;

/* Feed a response in pieces; log the outcomes, the events and the bytes left over. */
static void feed_client(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  const client_arg *ca = arg;
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  size_t i, off = 0, nread, left = 0;
  int rv = 0, done = 0;

  assert_int_equal(rtw_sse_parser_new(&parser, &log_cbs, NULL, NULL, log), 0);
  c = new_client(parser, NULL);
  for (i = 0; i < npieces && !done; i++) {
    const uint8_t *p = in + off;
    size_t n = pieces[i];
    off += n;
    for (;;) {
      rv = rtw_sse_http_client_recv(c, p, n, &nread);
      assert_true(nread <= n);
      p += nread;
      n -= nread;
      done = log_outcome(c, rv, log);
      if (rv != RTW_SSE_HTTP_DONE || done)
        break;
    }
    if (done && rv >= 0) /* after an error, how far it got depends on the split */
      left = n + (len - off);
  }
  if (!done && ca != NULL && ca->call_end)
    log_outcome(c, rtw_sse_http_client_end(c), log);
  if (left)
    rtwt_log_printf(log, "left %zu\n", left);
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(parser);
}

static void check_client(const char *response, int call_end, const char *expected)
{
  client_arg ca = {call_end};
  rtwt_check_splits(feed_client, &ca, response, strlen(response), expected);
}

/* ====================================================================== client tests */

#define CT_OK "Content-Type: text/event-stream\r\n"
#define BODY1 "data: one\n\n"

static void test_client_request(void **state)
{
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_http_header h[1] = {{"Authorization", 13, "Bearer x", 8}};
  const void *req;
  size_t len;
  static const char want[] = "GET /feed HTTP/1.1\r\nHost: example.com\r\n"
                             "Accept: text/event-stream\r\nCache-Control: no-store\r\n\r\n";
  static const char want2[] = "GET / HTTP/1.1\r\nHost: h\r\n"
                              "Accept: text/event-stream\r\nCache-Control: no-store\r\n"
                              "Last-Event-ID: 42\r\nAuthorization: Bearer x\r\n\r\n";
  (void)state;
  assert_int_equal(rtw_sse_parser_new(&parser, NULL, NULL, NULL, NULL), 0);
  c = new_client(parser, "");
  assert_int_equal(rtw_sse_http_client_request(c, &req, &len), 0);
  assert_int_equal(len, sizeof want - 1);
  assert_memory_equal(req, want, len);
  rtw_sse_http_client_free(c);

  s.host = "h";
  s.host_len = 1;
  s.last_event_id = "42";
  s.last_event_id_len = 2;
  s.headers = h;
  s.num_headers = 1;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), 0);
  assert_int_equal(rtw_sse_http_client_request(c, &req, &len), 0);
  assert_int_equal(len, sizeof want2 - 1);
  assert_memory_equal(req, want2, len);
  rtw_sse_http_client_free(c);

  /* invalid settings */
  s.last_event_id = "a\nb";
  s.last_event_id_len = 3;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL),
                   RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID);
  assert_null(c);
  s.last_event_id = "a\0b";
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL),
                   RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID);
  s.last_event_id_len = 0;
  h[0].name = "Accept";
  h[0].name_len = 6;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_HTTP_INVALID_HEADER);
  h[0].name = "Last-Event-ID";
  h[0].name_len = 13;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_HTTP_INVALID_HEADER);
  h[0].name = "X-Bad";
  h[0].name_len = 5;
  h[0].value = "a\r\nb";
  h[0].value_len = 4;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_HTTP_INVALID_HEADER);
  s.num_headers = 0;
  s.path = "feed";
  s.path_len = 4;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_INVALID_ARGUMENT);
  s.path_len = 0;
  s.host_len = 0;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_INVALID_ARGUMENT);
  s.host_len = 1;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_client_new(NULL, &s, parser, NULL), RTW_ERR_INVALID_ARGUMENT);
  s.version = 99;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_parser_free(parser);
}

/* WHATWG 9.2.2 processResponse; WPT request-status-error, eventsource-request-redirect. */
static void test_client_status_table(void **state)
{
  static const struct {
    const char *head;
    const char *expected;
  } rows[] = {
      {"HTTP/1.1 200 OK\r\n" CT_OK "Content-Length: 11\r\n\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 204 No Content\r\n\r\n", "no-content\n"},
      {"HTTP/1.1 204 No Content\r\n" CT_OK "\r\n", "no-content\n"},
      {"HTTP/1.1 205 Reset Content\r\n" CT_OK "\r\n", "RTW_ERR_HTTP_SSE_BAD_STATUS status=205\n"},
      {"HTTP/1.1 404 Not Found\r\n" CT_OK "\r\n", "RTW_ERR_HTTP_SSE_BAD_STATUS status=404\n"},
      {"HTTP/1.1 500 Oops\r\n\r\n", "RTW_ERR_HTTP_SSE_BAD_STATUS status=500\n"},
      {"HTTP/1.1 503 Busy\r\nRetry-After: 5\r\n\r\n", "RTW_ERR_HTTP_SSE_BAD_STATUS status=503\n"},
      {"HTTP/1.1 301 Moved\r\nLocation: /a\r\n\r\n", "redirect 301 /a\n"},
      {"HTTP/1.1 302 Found\r\nLocation: http://x/b\r\n\r\n", "redirect 302 http://x/b\n"},
      {"HTTP/1.1 303 See Other\r\nLocation: /c\r\n\r\n", "redirect 303 /c\n"},
      {"HTTP/1.1 307 Temporary\r\nLocation: /d\r\n\r\n", "redirect 307 /d\n"},
      {"HTTP/1.1 308 Permanent\r\nLocation: /e\r\nContent-Length: 3\r\n\r\nabc",
       "redirect 308 /e\nleft 3\n"},
      {"HTTP/1.1 302 Found\r\n\r\n", "RTW_ERR_HTTP_SSE_BAD_STATUS status=302\n"},
      {"HTTP/1.1 304 Not Modified\r\nLocation: /f\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_STATUS status=304\n"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/x-bogus\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: x bogus\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream-x\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ndata: x\n\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=x\r\nContent-Length: 11\r\n"
       "\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;\r\nContent-Length: 11\r\n\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: TEXT/Event-Stream\r\nContent-Length: 11\r\n\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream ; charset=utf-8\r\n"
       "Content-Length: 0\r\n\r\n",
       "open 200\nend\n"},
      /* Fetch "extract a MIME type": the last valid value wins; * / * is skipped */
      {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/event-stream\r\n"
       "Content-Length: 0\r\n\r\n",
       "open 200\nend\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream, */*\r\nContent-Length: 0\r\n\r\n",
       "open 200\nend\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream, text/html\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/ event-stream\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE status=200\n"},
      {"HTTP/1.0 200 OK\r\n" CT_OK "\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 200 OK\r\n" CT_OK "X: \x01\r\n\r\n", "RTW_ERR_HTTP_MALFORMED status=0\n"},
      /* RFC 9110 15.2: interim (1xx) responses are parsed and skipped; 101 is not interim
       * here (the request asked for no upgrade) */
      {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" CT_OK "Content-Length: 11\r\n\r\n" BODY1,
       "open 200\nevent type=message id= data=one\nend\n"},
      {"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", "no-content\n"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
       "RTW_ERR_HTTP_SSE_BAD_STATUS status=101\n"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    check_client(rows[i].head, 1, rows[i].expected);
  }
}

static void test_is_event_stream(void **state)
{
  (void)state;
  assert_int_equal(rtw_sse_http_is_event_stream("text/event-stream", 17), 1);
  assert_int_equal(rtw_sse_http_is_event_stream(" \ttext/event-stream\r\n", 21), 1);
  assert_int_equal(rtw_sse_http_is_event_stream("Text/EVENT-stream;;;", 20), 1);
  assert_int_equal(rtw_sse_http_is_event_stream("text/event-stream ;a=\"b", 23), 1);
  assert_int_equal(rtw_sse_http_is_event_stream("text/event-stream", 16), 0);
  assert_int_equal(rtw_sse_http_is_event_stream("/event-stream", 13), 0);
  assert_int_equal(rtw_sse_http_is_event_stream("text/", 5), 0);
  assert_int_equal(rtw_sse_http_is_event_stream("text", 4), 0);
  assert_int_equal(rtw_sse_http_is_event_stream("te(t/event-stream", 17), 0);
  assert_int_equal(rtw_sse_http_is_event_stream(NULL, 0), 0);
}

static void test_client_bodies(void **state)
{
  (void)state;
  /* chunked, a chunk boundary inside a line and inside CRLF; bytes after the last chunk */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n"
               "7\r\nretry: \r\nA\r\n1000\nid: 1\r\n"
               "b\r\n\ndata: a\r\r\n\r\n"
               "3;ext=1\r\n\r\n\n\r\n"
               "0\r\nTrailer: x\r\n\r\nNEXT",
               1,
               "open 200\nretry 1000\nevent type=message id=1 data=a\nend\nleft 4\n");
  /* trailer fields are discarded, however long (they are not part of the head) */
  {
    static char resp[9000];
    const char *v;
    size_t n;
    rtw_sse_parser *parser;
    rtw_sse_http_client *c;
    size_t nread;
    int rv;
    strcpy(resp, "HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: ");
    memset(resp + strlen(resp), 'a', 8000);
    strcpy(resp + strlen(resp), "\r\n\r\n");
    assert_int_equal(rtw_sse_parser_new(&parser, NULL, NULL, NULL, NULL), 0);
    c = new_client(parser, NULL);
    rv = rtw_sse_http_client_recv(c, resp, strlen(resp), &nread);
    assert_int_equal(rv, RTW_SSE_HTTP_DONE);
    rv = rtw_sse_http_client_recv(c, resp + nread, strlen(resp) - nread, &nread);
    assert_int_equal(rv, RTW_SSE_HTTP_END);
    assert_int_equal(rtw_sse_http_client_header(c, "X-T", 3, 0, &v, &n), 0);
    assert_int_equal(rtw_sse_http_client_header(c, "Content-Type", 12, 0, &v, &n), 1);
    rtw_sse_http_client_free(c);
    rtw_sse_parser_free(parser);
  }
  /* chunked and cut short: the unfinished event is dropped, a reconnect follows */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n"
               "b\r\ndata: one\n\n\r\n5\r\ndata:",
               1, "open 200\nevent type=message id= data=one\nRTW_ERR_HTTP_TRUNCATED_BODY status=200\n");
  /* bad chunk size */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 1,
               "open 200\nRTW_ERR_HTTP_MALFORMED status=200\n");
  /* close-delimited (HTTP/1.1 without length): ends with the connection; last event
   * without its blank line is dropped */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "\r\ndata: one\n\nid: 7\ndata: two\n\ndata: lost\n", 1,
               "open 200\nevent type=message id= data=one\nevent type=message id=7 data=two\n"
               "end\n");
  /* Content-Length: the body ends at its length; what follows is left */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "Content-Length: 11\r\n\r\n" BODY1 "extra", 1,
               "open 200\nevent type=message id= data=one\nend\nleft 5\n");
  check_client("HTTP/1.1 200 OK\r\n" CT_OK "Content-Length: 20\r\n\r\n" BODY1, 1,
               "open 200\nevent type=message id= data=one\nRTW_ERR_HTTP_TRUNCATED_BODY status=200\n");
  /* head cut short */
  check_client("HTTP/1.1 200 OK\r\n" CT_OK, 1, "RTW_ERR_HTTP_MALFORMED status=0\n");
}

static void test_client_misc(void **state)
{
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  static const char big[] = "HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  size_t nread;
  const char *v;
  size_t n;
  (void)state;
  assert_int_equal(rtw_sse_parser_new(&parser, NULL, NULL, NULL, NULL), 0);
  s.host = "h";
  s.host_len = 1;
  s.max_head_size = 32;
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), 0);
  assert_int_equal(rtw_sse_http_client_recv(c, big, sizeof big - 1, &nread),
                   RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(rtw_sse_http_client_recv(c, big, sizeof big - 1, &nread),
                   RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_sse_http_client_end(c), RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(rtw_sse_http_client_status(c), 0);
  assert_int_equal(rtw_sse_http_client_header(c, "X-Long", 6, 0, &v, &n), 0);
  rtw_sse_http_client_free(c);
  assert_int_equal(rtw_sse_http_client_recv(NULL, big, 1, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_client_end(NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_client_request(NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_client_location(NULL, &v, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_client_status(NULL), 0);
  rtw_sse_http_client_free(NULL);
  rtw_sse_parser_free(parser);
}

static int pause_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  log_event(p, ev, ud);
  return RTW_ERR_PAUSE;
}

/* A pause from the parser's callbacks is not passed on: every event still arrives. */
static void test_client_parser_pause(void **state)
{
  static const char resp[] = "HTTP/1.1 200 OK\r\n" CT_OK "Content-Length: 22\r\n\r\n"
                             "data: a\n\ndata: b\n\nxyz";
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  rtwt_log log;
  size_t nread;
  (void)state;
  rtwt_log_init(&log);
  cb.on_event = pause_event;
  assert_int_equal(rtw_sse_parser_new(&parser, &cb, NULL, NULL, &log), 0);
  c = new_client(parser, NULL);
  assert_int_equal(rtw_sse_http_client_recv(c, resp, sizeof resp - 1, &nread), RTW_SSE_HTTP_DONE);
  assert_int_equal(rtw_sse_http_client_recv(c, resp + nread, sizeof resp - 1 - nread, &nread),
                   RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(rtw_sse_http_client_end(c), RTW_ERR_HTTP_TRUNCATED_BODY);
  assert_string_equal(log.buf, "event type=message id= data=a\nevent type=message id= data=b\n");
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(parser);
  rtwt_log_free(&log);
}

/* ====================================================================== re-entrancy */

#define REENTER_CALLS 0 /* recv() and end() from the callback: refused, not sticky */
#define REENTER_FREE 1  /* free() from the callback: deferred to the outer call */
#define REENTER_FREE_PAUSE 2 /* the same, and the callback returns RTW_ERR_PAUSE */

typedef struct reenter {
  int mode;
  rtw_sse_http_client *client;
  int events, discards;
} reenter;

static void reenter_calls(reenter *r)
{
  size_t nread = 99;
  assert_int_equal(rtw_sse_http_client_recv(r->client, "data: x\n\n", 9, &nread),
                   RTW_ERR_REENTRANT);
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_sse_http_client_end(r->client), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_sse_http_client_status(r->client), 200); /* reading is fine */
}

static int reenter_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  reenter *r = ud;
  (void)p;
  (void)ev;
  r->events++;
  if (r->mode == REENTER_CALLS) {
    reenter_calls(r);
    return 0;
  }
  if (r->events == 1)
    rtw_sse_http_client_free(r->client);
  /* RTW_ERR_PAUSE stops the parser at this event; else it finishes the piece it has */
  return r->mode == REENTER_FREE_PAUSE ? RTW_ERR_PAUSE : 0;
}

static int reenter_discard(rtw_sse_parser *p, void *ud)
{
  reenter *r = ud;
  (void)p;
  r->discards++;
  if (r->mode == REENTER_CALLS || r->discards > 1)
    reenter_calls(r);
  else
    rtw_sse_http_client_free(r->client);
  return 0;
}

#define REENTER_HEAD "HTTP/1.1 200 OK\r\n" CT_OK "\r\n"
#define REENTER_HEAD_LEN (sizeof REENTER_HEAD - 1)
static const char reenter_resp[] = REENTER_HEAD "data: one\n\ndata: two\n\ndata: unfinished\n";

/* Issue #12 defect 4: a recv() from a parser callback ran a nested llhttp_execute() on the
 * same parser; a free() from one was a use-after-free (ASan reports it without the guard). */
static rtw_sse_http_client *reenter_client(reenter *r, rtw_sse_parser **parser, int mode)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  size_t nread;

  memset(r, 0, sizeof *r);
  r->mode = mode;
  cb.on_event = reenter_event;
  cb.on_discard = reenter_discard;
  st.flags = RTW_SSE_FLAG_STREAM_DATA; /* so that end() fires on_discard */
  assert_int_equal(rtw_sse_parser_new(parser, &cb, &st, NULL, r), 0);
  r->client = new_client(*parser, NULL);
  /* the head alone: no callback yet */
  assert_int_equal(rtw_sse_http_client_recv(r->client, reenter_resp, REENTER_HEAD_LEN, &nread),
                   RTW_SSE_HTTP_DONE);
  assert_int_equal(nread, REENTER_HEAD_LEN);
  return r->client;
}

static void test_client_reentrancy(void **state)
{
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  reenter r;
  size_t nread, body = strlen(reenter_resp) - REENTER_HEAD_LEN;
  (void)state;

  /* calls from on_event and on_discard are refused; the outer calls go on unharmed */
  c = reenter_client(&r, &parser, REENTER_CALLS);
  assert_int_equal(rtw_sse_http_client_recv(c, reenter_resp + REENTER_HEAD_LEN, body, &nread),
                   RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(nread, body);
  assert_int_equal(r.events, 2);
  assert_int_equal(rtw_sse_http_client_end(c), RTW_SSE_HTTP_END);
  assert_int_equal(r.discards, 1);
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(parser);

  /* free from on_event, then pause: the second event never comes; recv frees the client */
  c = reenter_client(&r, &parser, REENTER_FREE_PAUSE);
  assert_int_equal(rtw_sse_http_client_recv(c, reenter_resp + REENTER_HEAD_LEN, body, &nread),
                   RTW_ERR_CALLBACK_FAILURE);
  assert_true(nread >= 11 && nread <= body);
  assert_int_equal(r.events, 1);
  rtw_sse_parser_free(parser);

  /* without the pause the parser finishes the piece it was given (its callbacks are the
   * host's; the client is not touched), and nothing is fed after it */
  c = reenter_client(&r, &parser, REENTER_FREE);
  assert_int_equal(rtw_sse_http_client_recv(c, reenter_resp + REENTER_HEAD_LEN, 11, &nread),
                   RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(r.events, 1);
  rtw_sse_parser_free(parser);
  c = reenter_client(&r, &parser, REENTER_FREE);
  assert_int_equal(rtw_sse_http_client_recv(c, reenter_resp + REENTER_HEAD_LEN, body, &nread),
                   RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(r.events, 2);
  rtw_sse_parser_free(parser);

  /* free from on_discard, which end() fires */
  c = reenter_client(&r, &parser, REENTER_FREE);
  r.mode = REENTER_CALLS;
  assert_int_equal(rtw_sse_http_client_recv(c, reenter_resp + REENTER_HEAD_LEN, body, &nread),
                   RTW_SSE_HTTP_INCOMPLETE);
  r.mode = REENTER_FREE;
  assert_int_equal(rtw_sse_http_client_end(c), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(r.discards, 1);
  rtw_sse_parser_free(parser);
}

/* ====================================================================== server */

static void feed_request(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                         size_t npieces, rtwt_log *log)
{
  rtw_sse_http_request *req;
  size_t i, off = 0, nread;
  const char *p;
  size_t n;
  int rv = 0;
  (void)arg;
  (void)len;

  assert_int_equal(rtw_sse_http_request_new(&req, NULL, NULL), 0);
  for (i = 0; i < npieces; i++) {
    rv = rtw_sse_http_request_recv(req, in + off, pieces[i], &nread);
    off += nread;
    if (rv != RTW_SSE_HTTP_INCOMPLETE)
      break;
  }
  rtwt_log_printf(log, "%s used=%zu\n", rv == 1 ? "done" : rtw_err_name(rv), off);
  if (rv == RTW_SSE_HTTP_DONE) {
    rtw_sse_http_request_path(req, &p, &n);
    rtwt_log_printf(log, "path=");
    rtwt_log_bytes(log, p, n);
    if (rtw_sse_http_request_query(req, &p, &n) == 1) {
      rtwt_log_printf(log, " query=");
      rtwt_log_bytes(log, p, n);
    }
    if (rtw_sse_http_request_last_event_id(req, &p, &n) == 1) {
      rtwt_log_printf(log, " last=");
      rtwt_log_bytes(log, p, n);
    }
    rtwt_log_printf(log, " accepts=%d chunked=%d\n", rtw_sse_http_request_accepts(req),
                    rtw_sse_http_request_chunked(req));
  }
  rtw_sse_http_request_free(req);
}

static void check_request(const char *in, const char *expected)
{
  rtwt_check_splits(feed_request, NULL, in, strlen(in), expected);
}

static void test_server_request(void **state)
{
  (void)state;
  check_request("GET /feed?x=1 HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
                "Last-Event-ID:  42 \r\n\r\nNEXT",
                "done used=83\npath=/feed query=x=1 last=42 accepts=1 chunked=1\n");
  check_request("GET / HTTP/1.0\r\n\r\n", "done used=18\npath=/ accepts=1 chunked=0\n");
  /* RFC 9112 3.2.2: a server accepts the absolute-form; the path starts after the authority */
  check_request("GET http://example.com:8080/feed?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
                "done used=73\npath=/feed query=x=1 accepts=1 chunked=1\n");
  check_request("GET http://example.com?x HTTP/1.1\r\nHost: example.com\r\n\r\n",
                "done used=56\npath= query=x accepts=1 chunked=1\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html, */*;q=0.1\r\n"
                "Last-Event-ID:\r\n\r\n",
                "done used=73\npath=/ accepts=1 chunked=1\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nAccept: text/*\r\n\r\n",
                "done used=43\npath=/ accepts=1 chunked=1\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nAccept: application/json\r\n\r\n",
                "done used=72\npath=/ accepts=0 chunked=1\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream;q=0, */*; q=0.0\r\n\r\n",
                "done used=70\npath=/ accepts=0 chunked=1\n");
  check_request("POST / HTTP/1.1\r\nHost: h\r\n\r\n", "RTW_ERR_HTTP_BAD_METHOD used=28\n");
  check_request("GET / HTTP/1.1\r\n\r\n", "RTW_ERR_HTTP_NO_HOST used=18\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab",
                "RTW_ERR_HTTP_UNEXPECTED_BODY used=46\n");
  check_request("GET / HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n",
                "RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID used=63\n");
}

static void test_server_request_limits(void **state)
{
  rtw_sse_http_request *req;
  rtw_sse_http_request_settings s = {RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION};
  static const char in[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nLast-Event-ID: a\0b\r\n\r\n";
  const char *p;
  size_t nread, n;
  uint64_t seq;
  (void)state;
  s.max_headers = 2;
  assert_int_equal(rtw_sse_http_request_new(&req, &s, NULL), 0);
  assert_int_equal(rtw_sse_http_request_path(req, &p, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_recv(req, in, sizeof in - 1, &nread),
                   RTW_ERR_HTTP_TOO_MANY_HEADERS);
  assert_int_equal(rtw_sse_http_request_accepts(req), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_resume(req, NULL, &seq), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_http_request_free(req);
  s.max_headers = 0;
  s.max_head_size = 20;
  assert_int_equal(rtw_sse_http_request_new(&req, &s, NULL), 0);
  assert_int_equal(rtw_sse_http_request_recv(req, in, sizeof in - 1, &nread),
                   RTW_ERR_HTTP_HEAD_TOO_LARGE);
  rtw_sse_http_request_free(req);
  assert_int_equal(rtw_sse_http_request_new(&req, NULL, NULL), 0);
  n = (size_t)rtw_sse_http_request_recv(req, nul, sizeof nul - 1, &nread);
  assert_true((int)n == RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID || (int)n == RTW_ERR_HTTP_MALFORMED);
  rtw_sse_http_request_free(req);
  s.version = 7;
  assert_int_equal(rtw_sse_http_request_new(&req, &s, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_new(NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_recv(NULL, in, 1, &nread), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_http_request_free(NULL);
}

static void test_server_response(void **state)
{
  static const char want_chunked[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                     "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                                     "Transfer-Encoding: chunked\r\n"
                                     "Access-Control-Allow-Origin: *\r\n\r\n";
  static const char want_close[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                                   "Connection: close\r\n\r\n";
  rtw_http_header h[1] = {{"Access-Control-Allow-Origin", 27, "*", 1}};
  char buf[512];
  size_t n;
  (void)state;
  assert_int_equal(rtw_sse_http_response(NULL, 0, &n, RTW_SSE_HTTP_RESPONSE_CHUNKED, h, 1), 0);
  assert_int_equal(n, sizeof want_chunked - 1);
  assert_int_equal(rtw_sse_http_response(buf, n - 1, &n, RTW_SSE_HTTP_RESPONSE_CHUNKED, h, 1),
                   RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, sizeof want_chunked - 1);
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, RTW_SSE_HTTP_RESPONSE_CHUNKED, h, 1),
                   0);
  assert_int_equal(n, sizeof want_chunked - 1);
  assert_memory_equal(buf, want_chunked, n);
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 0, NULL, 0), 0);
  assert_int_equal(n, sizeof want_close - 1);
  assert_memory_equal(buf, want_close, n);
  h[0].name = "Cache-Control";
  h[0].name_len = 13;
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 0, h, 1), RTW_ERR_HTTP_INVALID_HEADER);
  h[0].name = "Content-Type";
  h[0].name_len = 12;
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 0, h, 1), RTW_ERR_HTTP_INVALID_HEADER);
  h[0].name = "X";
  h[0].name_len = 1;
  h[0].value = "a\nb";
  h[0].value_len = 3;
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 0, h, 1), RTW_ERR_HTTP_INVALID_HEADER);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 2, NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, NULL, 0, NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_response(buf, sizeof buf, &n, 0, NULL, 1), RTW_ERR_INVALID_ARGUMENT);
}

static void test_chunk(void **state)
{
  char big[300], buf[400];
  size_t n;
  (void)state;
  assert_int_equal(rtw_sse_http_chunk(buf, sizeof buf, &n, "data: x\n\n", 9), 0);
  assert_int_equal(n, 14);
  assert_memory_equal(buf, "9\r\ndata: x\n\n\r\n", 14);
  memset(big, 'a', sizeof big);
  assert_int_equal(rtw_sse_http_chunk(NULL, 0, &n, big, sizeof big), 0);
  assert_int_equal(n, 3 + 4 + 300);
  assert_int_equal(rtw_sse_http_chunk(buf, n - 1, &n, big, sizeof big), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, 307);
  assert_int_equal(rtw_sse_http_chunk(buf, sizeof buf, &n, big, sizeof big), 0);
  assert_memory_equal(buf, "12c\r\naaa", 8);
  assert_memory_equal(buf + 305, "\r\n", 2);
  assert_int_equal(rtw_sse_http_chunk(buf, sizeof buf, &n, NULL, 0), 0);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_http_chunk(buf, sizeof buf, &n, NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_chunk(buf, sizeof buf, NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(strlen(RTW_SSE_HTTP_LAST_CHUNK), 5);
}

/* ====================================================================== reconnect */

typedef struct fake_rng {
  uint8_t byte; /* every random byte */
  int fail;
} fake_rng;

static int rng(void *buf, size_t len, void *ud)
{
  fake_rng *r = ud;
  if (r->fail)
    return -1;
  memset(buf, r->byte, len);
  return 0;
}

static uint64_t wait_of(rtw_sse_reconnect *rc, uint64_t now)
{
  uint64_t w;
  assert_int_equal(rtw_sse_reconnect_next_attempt_ms(rc, now, &w), 0);
  return w;
}

static void test_reconnect_timing(void **state)
{
  fake_rng r = {0xFF, 0};
  rtw_sse_reconnect_settings s = {RTW_SSE_RECONNECT_SETTINGS_VERSION};
  rtw_sse_reconnect *rc;
  uint64_t now = 1000000, w, prev = 0;
  int i;
  (void)state;
  s.retry_ms = 100;
  s.backoff_ms = 1000;
  s.max_backoff_ms = 30000;
  s.stable_ms = 5000;
  s.random = rng;
  s.user_data = &r;
  assert_int_equal(rtw_sse_reconnect_new(&rc, &s, NULL), 0);
  assert_int_equal(rtw_sse_reconnect_next_attempt_ms(rc, now, &w), RTW_ERR_INVALID_STATE);
  /* a stable connection then a drop: exactly the reconnection time */
  assert_int_equal(rtw_sse_reconnect_opened(rc, now), 0);
  assert_int_equal(rtw_sse_reconnect_next_attempt_ms(rc, now, &w), RTW_ERR_INVALID_STATE);
  now += 5000;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
  assert_int_equal(rtw_sse_reconnect_failures(rc), 0);
  assert_int_equal(wait_of(rc, now), 100);
  assert_int_equal(wait_of(rc, now + 40), 60);
  assert_int_equal(wait_of(rc, now + 500), 0);
  /* failed attempts: the window doubles (RNG at its maximum) up to the cap */
  for (i = 1; i <= 8; i++) {
    now += 100;
    assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
    assert_int_equal(rtw_sse_reconnect_failures(rc), i);
    w = wait_of(rc, now);
    if (i <= 5)
      assert_int_equal(w, 100 + (1000u << (i - 1))); /* the top of the window */
    else
      assert_int_equal(w, 100 + 30000);
    assert_true(w >= prev);
    prev = w;
  }
  /* full jitter: RNG at zero gives just the reconnection time */
  r.byte = 0;
  now += 100;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
  assert_int_equal(wait_of(rc, now), 100);
  /* a short-lived connection is still a failure */
  assert_int_equal(rtw_sse_reconnect_opened(rc, now), 0);
  now += 4999;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
  assert_int_equal(rtw_sse_reconnect_failures(rc), 10);
  /* a stable one resets; the server's retry is respected */
  assert_int_equal(rtw_sse_reconnect_opened(rc, now), 0);
  assert_int_equal(rtw_sse_reconnect_set_retry(rc, 7000), 0);
  now += 5000;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
  assert_int_equal(rtw_sse_reconnect_failures(rc), 0);
  assert_int_equal(wait_of(rc, now), 7000);
  r.byte = 0xFF;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
  assert_int_equal(wait_of(rc, now), 7000 + 1000);
  /* RNG failure, then stop */
  r.fail = 1;
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(rtw_sse_reconnect_stop(rc), 0);
  assert_int_equal(rtw_sse_reconnect_closed(rc, now), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_sse_reconnect_opened(rc, now), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_sse_reconnect_next_attempt_ms(rc, now, &w), RTW_ERR_INVALID_STATE);
  rtw_sse_reconnect_free(rc);
}

static void test_reconnect_jitter_range(void **state)
{
  rtw_sse_reconnect *rc;
  uint64_t now = 0, w;
  uint64_t seen_max = 0, seen_min = UINT64_MAX;
  int i;
  (void)state;
  /* the default RNG: every delay within [retry, retry + cap] */
  assert_int_equal(rtw_sse_reconnect_new(&rc, NULL, NULL), 0);
  for (i = 0; i < 200; i++) {
    assert_int_equal(rtw_sse_reconnect_closed(rc, now), 0);
    w = wait_of(rc, now);
    assert_true(w >= RTW_SSE_RECONNECT_DEFAULT_RETRY_MS);
    assert_true(w <= RTW_SSE_RECONNECT_DEFAULT_RETRY_MS + RTW_SSE_RECONNECT_DEFAULT_MAX_BACKOFF_MS);
    if (i > 20) {
      seen_max = w > seen_max ? w : seen_max;
      seen_min = w < seen_min ? w : seen_min;
    }
    now += w;
  }
  assert_true(seen_max - seen_min > 1000); /* it is jittered, not fixed */
  assert_int_equal(rtw_sse_reconnect_failures(rc), 200);
  rtw_sse_reconnect_free(rc);
  assert_int_equal(rtw_sse_reconnect_new(NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_reconnect_set_retry(NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_reconnect_next_attempt_ms(NULL, 0, &w), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_reconnect_failures(NULL), 0);
  rtw_sse_reconnect_free(NULL);
}

/* ====================================================================== replay */

typedef struct server {
  rtw_sse_history *history;
  int next_id;
} server;

static void server_publish(server *srv, char *out, size_t *outlen, size_t cap)
{
  char id[16], data[32], ev[128];
  rtw_sse_event e = {0};
  size_t n, c;
  int k = srv->next_id++;
  snprintf(id, sizeof id, "%d", k);
  snprintf(data, sizeof data, "event %d", k);
  e.id = id;
  e.id_len = strlen(id);
  e.data = data;
  e.data_len = strlen(data);
  assert_int_equal(rtw_sse_write_event(ev, sizeof ev, &n, &e, 0), 0);
  assert_int_equal(rtw_sse_history_push(srv->history, id, strlen(id), ev, n, NULL), 0);
  if (out != NULL) {
    assert_int_equal(rtw_sse_http_chunk(out + *outlen, cap - *outlen, &c, ev, n), 0);
    *outlen += c;
  }
}

/* Serve one connection: parse the client's request, answer, replay, then publish `live`
 * more events. Returns the bytes the client receives. */
static size_t serve(server *srv, const void *request, size_t reqlen, int live, char *out,
                    size_t cap, int *resume_rv)
{
  rtw_sse_http_request *req;
  size_t nread, len, c;
  uint64_t seq;
  const void *bytes;
  size_t blen;
  int flags;

  assert_int_equal(rtw_sse_http_request_new(&req, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_request_recv(req, request, reqlen, &nread), RTW_SSE_HTTP_DONE);
  assert_int_equal(nread, reqlen);
  assert_int_equal(rtw_sse_http_request_accepts(req), 1);
  flags = rtw_sse_http_request_chunked(req) == 1 ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0;
  assert_int_equal(rtw_sse_http_response(out, cap, &len, (uint32_t)flags, NULL, 0), 0);
  *resume_rv = rtw_sse_http_request_resume(req, srv->history, &seq);
  if (*resume_rv == 0) {
    for (; seq < rtw_sse_history_next_seq(srv->history); seq++) {
      assert_int_equal(rtw_sse_history_get(srv->history, seq, &bytes, &blen), 0);
      assert_int_equal(rtw_sse_http_chunk(out + len, cap - len, &c, bytes, blen), 0);
      len += c;
    }
  }
  while (live-- > 0)
    server_publish(srv, out, &len, cap);
  rtw_sse_http_request_free(req);
  return len;
}

/* The client side of one connection: receive `in` (cut after `cut` bytes: the connection
 * drops), and return the outcome of the end. */
static int client_connect(rtw_sse_parser *parser, server *srv, int live, size_t cut,
                          int *resume_rv)
{
  static char out[16384];
  const char *id;
  size_t idlen, nread, len, off = 0;
  const void *request;
  size_t reqlen;
  char last[64];
  rtw_sse_http_client *c;
  int rv;

  assert_int_equal(rtw_sse_parser_last_event_id(parser, &id, &idlen), 0);
  memcpy(last, id, idlen);
  last[idlen] = '\0';
  assert_int_equal(rtw_sse_parser_reset(parser, NULL, 0), 0);
  c = new_client(parser, last);
  assert_int_equal(rtw_sse_http_client_request(c, &request, &reqlen), 0);
  len = serve(srv, request, reqlen, live, out, sizeof out, resume_rv);
  if (cut < len)
    len = cut;
  while (off < len) {
    rv = rtw_sse_http_client_recv(c, out + off, len - off, &nread);
    off += nread;
    assert_true(rv == RTW_SSE_HTTP_DONE || rv == RTW_SSE_HTTP_INCOMPLETE);
  }
  rv = rtw_sse_http_client_end(c);
  rtw_sse_http_client_free(c);
  return rv;
}

static void test_replay_after_reconnect(void **state)
{
  rtwt_log log;
  rtw_sse_parser *parser;
  server srv = {NULL, 1};
  int resume_rv, i;
  char want[512];
  size_t wl = 0;
  (void)state;
  rtwt_log_init(&log);
  assert_int_equal(rtw_sse_history_new(&srv.history, 16, 0, NULL), 0);
  assert_int_equal(rtw_sse_parser_new(&parser, &log_cbs, NULL, NULL, &log), 0);
  /* first connection: 3 live events, the connection drops in the middle of the 3rd */
  assert_int_equal(client_connect(parser, &srv, 3, 224, &resume_rv), RTW_ERR_HTTP_TRUNCATED_BODY);
  assert_int_equal(resume_rv, 1); /* no Last-Event-ID: a new client */
  /* events published while the client is away */
  server_publish(&srv, NULL, NULL, 0);
  server_publish(&srv, NULL, NULL, 0);
  /* reconnect with Last-Event-ID 2: gets 3, 4, 5 from history, then 6, 7 live */
  assert_int_equal(client_connect(parser, &srv, 2, SIZE_MAX, &resume_rv),
                   RTW_ERR_HTTP_TRUNCATED_BODY);
  assert_int_equal(resume_rv, 0);
  for (i = 1; i <= 7; i++)
    wl += (size_t)snprintf(want + wl, sizeof want - wl,
                           "event type=message id=%d data=event %d\n", i, i);
  assert_string_equal(log.buf, want);
  /* the history forgot id "1": a gap the host answers with a reset */
  for (i = 0; i < 16; i++)
    server_publish(&srv, NULL, NULL, 0);
  assert_int_equal(rtw_sse_parser_reset(parser, "1", 1), 0);
  rtwt_log_clear(&log);
  assert_int_equal(client_connect(parser, &srv, 1, SIZE_MAX, &resume_rv),
                   RTW_ERR_HTTP_TRUNCATED_BODY);
  assert_int_equal(resume_rv, RTW_ERR_SSE_HISTORY_GAP);
  assert_string_equal(log.buf, "event type=message id=24 data=event 24\n");
  rtw_sse_parser_free(parser);
  rtw_sse_history_free(srv.history);
  rtwt_log_free(&log);
}

/* ====================================================================== allocation */

static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  static const char req_in[] = "GET /f HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 3\r\n\r\n";
  static const char resp[] = "HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n"
                             "b\r\ndata: one\n\n\r\n0\r\n\r\n";
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_http_header h = {"Cookie", 6, "a=b", 3};
  rtw_sse_http_request *req = NULL;
  rtw_sse_http_client *c = NULL;
  rtw_sse_parser *parser = NULL;
  rtw_sse_reconnect *rc = NULL;
  size_t nread;
  int rv;
  (void)arg;

  s.host = "h";
  s.host_len = 1;
  s.last_event_id = "3";
  s.last_event_id_len = 1;
  s.headers = &h;
  s.num_headers = 1;
  if ((rv = rtw_sse_http_request_new(&req, NULL, mem)) != 0)
    goto out;
  rv = rtw_sse_http_request_recv(req, req_in, sizeof req_in - 1, &nread);
  if (rv < 0)
    goto out;
  assert_int_equal(rv, RTW_SSE_HTTP_DONE);
  if ((rv = rtw_sse_parser_new(&parser, NULL, NULL, mem, NULL)) != 0 ||
      (rv = rtw_sse_http_client_new(&c, &s, parser, mem)) != 0)
    goto out;
  rv = rtw_sse_http_client_recv(c, resp, sizeof resp - 1, &nread);
  if (rv == RTW_SSE_HTTP_DONE)
    rv = rtw_sse_http_client_recv(c, resp + nread, sizeof resp - 1 - nread, &nread);
  if (rv < 0)
    goto out;
  assert_int_equal(rv, RTW_SSE_HTTP_END);
  if ((rv = rtw_sse_reconnect_new(&rc, NULL, mem)) != 0)
    goto out;
  rv = 0;
out:
  rtw_sse_reconnect_free(rc);
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(parser);
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
      cmocka_unit_test(test_client_request),
      cmocka_unit_test(test_client_status_table),
      cmocka_unit_test(test_is_event_stream),
      cmocka_unit_test(test_client_bodies),
      cmocka_unit_test(test_client_misc),
      cmocka_unit_test(test_client_parser_pause),
      cmocka_unit_test(test_client_reentrancy),
      cmocka_unit_test(test_server_request),
      cmocka_unit_test(test_server_request_limits),
      cmocka_unit_test(test_server_response),
      cmocka_unit_test(test_chunk),
      cmocka_unit_test(test_reconnect_timing),
      cmocka_unit_test(test_reconnect_jitter_range),
      cmocka_unit_test(test_replay_after_reconnect),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
