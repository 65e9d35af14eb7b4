/* SPDX-License-Identifier: MIT */
/* The HTTP/1 layer every rtweb HTTP parser shares: field names must be tokens in the server
 * and client WebSocket handshakes, the SSE request and the SSE client response (RFC 9110 5.1,
 * RFC 9112 5.1), at every split; and walking a head's subprotocol and extension offers is
 * linear in the head (issue #12), shown with the server's work counter, not a clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "handshake.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

#define HOST "Host: h\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CON "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define S101 "HTTP/1.1 101 Switching Protocols\r\n"
#define ACC "Sec-WebSocket-Accept: C/0nmHhBztSRGR1CwL6Tf4ZjwpY=\r\n"
#define CT_OK "Content-Type: text/event-stream\r\n"

/* Field lines whose name is not a token (RFC 9110 5.6.2). The first is the reported one:
 * whitespace before the colon, which llhttp 8.1 folds into the name ("Host "). */
static const char *const bad_lines[] = {
    "Host : evil\r\n", "Host\t: evil\r\n",  "Host  : evil\r\n", "X Y: z\r\n",
    "X-A : v\r\n",     "(x): v\r\n",        "X@Y: v\r\n",       "\"q\": v\r\n",
    "X\x7f: v\r\n",    "X\xc3\xa9: v\r\n", "X/Y: v\r\n",       "X{}: v\r\n",
    ": v\r\n", /* empty name; " : v" is obs-fold, a value continuation (RFC 9112 5.2) */
};

/* Every tchar: accepted by every parser. */
#define ALL_TCHARS "!#$%&'*+-.^_`|~09azAZ: v\r\n"

/* ====================================================================== feeders */

/* An error's name, or the non-negative outcome as a number. */
static const char *name_of(int rv)
{
  static const char *const outcomes[] = {"0", "1", "2", "3", "4"};
  return rv >= 0 && rv <= 4 ? outcomes[rv] : rtw_err_name(rv);
}

typedef int (*feed_one_fn)(void *obj, const uint8_t *in, size_t len, size_t *nread);

/* Feed pieces until an outcome other than "incomplete" (0); log it, then the status. */
static size_t last_consumed; /* bytes taken over all calls by the last feed_pieces() */

static int feed_pieces(feed_one_fn fn, void *obj, const uint8_t *in, const size_t *pieces,
                       size_t npieces)
{
  size_t i, off = 0, nread;
  int rv = 0;

  last_consumed = 0;
  for (i = 0; i < npieces; i++) {
    rv = fn(obj, in + off, pieces[i], &nread);
    off += pieces[i];
    last_consumed += nread;
    if (rv != 0)
      break;
  }
  return rv;
}

static int hs_server_recv(void *obj, const uint8_t *in, size_t len, size_t *nread)
{
  return rtw_ws_handshake_server_recv(obj, in, len, nread);
}

static int hs_client_recv(void *obj, const uint8_t *in, size_t len, size_t *nread)
{
  return rtw_ws_handshake_client_recv(obj, in, len, nread);
}

static int sse_request_recv(void *obj, const uint8_t *in, size_t len, size_t *nread)
{
  return rtw_sse_http_request_recv(obj, in, len, nread);
}

/* The SSE client goes on into the body after DONE (1), up to a final outcome. */
static int sse_client_recv(void *obj, const uint8_t *in, size_t len, size_t *nread)
{
  size_t used = 0, n;
  int rv;

  do {
    rv = rtw_sse_http_client_recv(obj, in + used, len - used, &n);
    used += n;
  } while (rv == RTW_SSE_HTTP_DONE);
  *nread = used;
  return rv;
}

static void server_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  rtw_ws_handshake_server *hs;
  int rv;

  (void)arg;
  (void)len;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  rv = feed_pieces(hs_server_recv, hs, in, pieces, npieces);
  rtwt_log_printf(log, "%s status=%d\n", name_of(rv), rtw_ws_handshake_server_status(hs));
  rtw_ws_handshake_server_free(hs);
}

static void client_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  rtw_ws_handshake_client_settings s = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  rtw_ws_handshake_client *hs;
  int rv;

  (void)arg;
  (void)len;
  s.host = "h";
  s.host_len = 1;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &s, NULL, NULL), 0);
  /* the accept value depends on the random key: only the head's syntax matters here */
  rv = feed_pieces(hs_client_recv, hs, in, pieces, npieces);
  rtwt_log_printf(log, "%s\n", rv == RTW_ERR_HTTP_WS_BAD_ACCEPT ? "head ok" : rtw_err_name(rv));
  rtw_ws_handshake_client_free(hs);
}

static void request_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                         size_t npieces, rtwt_log *log)
{
  rtw_sse_http_request *req;
  int rv;

  (void)arg;
  (void)len;
  assert_int_equal(rtw_sse_http_request_new(&req, NULL, NULL), 0);
  rv = feed_pieces(sse_request_recv, req, in, pieces, npieces);
  rtwt_log_printf(log, "%s\n", name_of(rv));
  if (arg != NULL) /* where the error was found must not depend on the split either */
    rtwt_log_printf(log, "consumed=%zu\n", last_consumed);
  rtw_sse_http_request_free(req);
}

static void sse_client_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                            size_t npieces, rtwt_log *log)
{
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_parser *parser;
  rtw_sse_http_client *c;
  int rv;

  (void)arg;
  (void)len;
  s.host = "h";
  s.host_len = 1;
  assert_int_equal(rtw_sse_parser_new(&parser, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_client_new(&c, &s, parser, NULL), 0);
  rv = feed_pieces(sse_client_recv, c, in, pieces, npieces);
  rtwt_log_printf(log, "%s\n", rv == RTW_SSE_HTTP_END ? "end" : rtw_err_name(rv));
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(parser);
}

/* The input through every split (whole, byte by byte, every two-way split) must give
 * `expected` each time. */
static void expect(rtwt_feed_fn fn, const char *in, const char *expected)
{
  rtwt_check_splits(fn, NULL, in, strlen(in), expected);
}

/* ====================================================================== field names */

static void test_server_handshake_field_names(void **state)
{
  char req[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
    /* an upgrade that is otherwise valid: "Host : evil" beside the real Host slipped past
     * the one-Host rule (RFC 9112 3.2) and was answered 101 */
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\n" HOST "%s" UPG CON KEY VER "\r\n",
             bad_lines[i]);
    expect(server_feed, req, "RTW_ERR_HTTP_MALFORMED status=400\n");
    /* RFC 9112 5.1: a server MUST reject any received request message ... with 400 */
    snprintf(req, sizeof req, "GET /page HTTP/1.1\r\n" HOST "%s\r\n", bad_lines[i]);
    expect(server_feed, req, "RTW_ERR_HTTP_MALFORMED status=400\n");
    snprintf(req, sizeof req, "GET /page HTTP/1.1\r\n%s" HOST "\r\n", bad_lines[i]);
    expect(server_feed, req, "RTW_ERR_HTTP_MALFORMED status=400\n");
  }
  /* found by the fuzzer: an empty name after a request line ended by a bare LF */
  expect(server_feed, "GET /hat\n: 4\r\n\r\n", "RTW_ERR_HTTP_MALFORMED status=400\n");
  expect(server_feed, "GET / HTTP/1.1\r\n" HOST ALL_TCHARS UPG CON KEY VER "\r\n",
         "1 status=101\n");
}

static void test_server_handshake_400_response(void **state)
{
  static const char req[] = "GET / HTTP/1.1\r\n" HOST "Host : evil\r\n" UPG CON KEY VER "\r\n";
  rtw_ws_handshake_server *hs;
  const void *resp;
  size_t n, nread;
  (void)state;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, strlen(req), &nread),
                   RTW_ERR_HTTP_MALFORMED);
  assert_int_equal(rtw_ws_handshake_server_response(hs, &resp, &n), 0);
  assert_true(n > 24);
  assert_memory_equal(resp, "HTTP/1.1 400 Bad Request\r\n", 26);
  assert_null(rtw_ws_handshake_server_plain_request(hs));
  rtw_ws_handshake_server_free(hs);
}

static void test_client_handshake_field_names(void **state)
{
  char resp[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
    snprintf(resp, sizeof resp, S101 UPG CON "%s" ACC "\r\n", bad_lines[i]);
    expect(client_feed, resp, "RTW_ERR_HTTP_MALFORMED\n");
  }
  expect(client_feed, S101 UPG CON ALL_TCHARS ACC "\r\n", "head ok\n");
}

static void test_sse_request_field_names(void **state)
{
  static int with_consumed = 1;
  char req[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
    snprintf(req, sizeof req, "GET /events HTTP/1.1\r\n" HOST "%s\r\n", bad_lines[i]);
    expect(request_feed, req, "RTW_ERR_HTTP_MALFORMED\n");
    rtwt_check_splits(request_feed, &with_consumed, req, strlen(req), NULL);
  }
  /* found by the fuzzer: the error was reported where the input was cut */
  rtwt_check_splits(request_feed, &with_consumed,
                    "GET / HTTP/1.1\r\nHost: h\r\nLast-Event-ID3  aContent-Length: bc \t\r\n\r\n",
                    66, NULL);
  expect(request_feed, "GET /events HTTP/1.1\r\n" HOST ALL_TCHARS "\r\n", "1\n");
}

static void test_sse_client_field_names(void **state)
{
  char resp[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n" CT_OK "%sContent-Length: 0\r\n\r\n",
             bad_lines[i]);
    expect(sse_client_feed, resp, "RTW_ERR_HTTP_MALFORMED\n");
    /* trailer fields of a chunked body (RFC 9112 7.1.2) follow the same grammar */
    snprintf(resp, sizeof resp,
             "HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n"
             "5\r\ndata:\r\n0\r\n%s\r\n",
             bad_lines[i]);
    expect(sse_client_feed, resp, "RTW_ERR_HTTP_MALFORMED\n");
  }
  expect(sse_client_feed, "HTTP/1.1 200 OK\r\n" CT_OK ALL_TCHARS "Content-Length: 0\r\n\r\n",
         "end\n");
  expect(sse_client_feed,
         "HTTP/1.1 200 OK\r\n" CT_OK "Transfer-Encoding: chunked\r\n\r\n5\r\ndata:\r\n0\r\n"
         ALL_TCHARS "\r\n",
         "end\n");
}

/* ====================================================================== offers */

#define MAX_OFFERS 8000u

typedef struct walk {
  int mode; /* 0: walk only; 1: select the last offer met; 2: select a name of our own */
  size_t seen;
} walk;

/* What a host does: count the offers, look at each, pick one. */
static int walk_offers(rtw_ws_handshake_server *hs, void *ud)
{
  walk *w = ud;
  const char *p, *last = NULL;
  size_t i, n, last_len = 0, count = rtw_ws_handshake_server_subprotocol_count(hs);

  for (i = 0; i < count; i++) {
    assert_int_equal(rtw_ws_handshake_server_subprotocol(hs, i, &p, &n), 1);
    last = p;
    last_len = n;
    w->seen++;
  }
  for (i = 0; i < rtw_ws_handshake_server_extension_count(hs); i++)
    assert_int_equal(rtw_ws_handshake_server_extension(hs, i, &p, &n), 1);
  assert_int_equal(rtw_ws_handshake_server_subprotocol(hs, count, &p, &n), 0);
  if (w->mode == 1)
    assert_int_equal(rtw_ws_handshake_server_select_subprotocol(hs, last, last_len), 0);
  if (w->mode == 2) /* the host's own string, equal to the last offer ("zz") */
    assert_int_equal(rtw_ws_handshake_server_select_subprotocol(hs, "zz", 2), 0);
  if (w->mode == 2)
    assert_int_equal(rtw_ws_handshake_server_set_extensions(hs, "x-zz", 4), 0);
  return 0;
}

static void put(char *buf, size_t *len, const char *s)
{
  memcpy(buf + *len, s, strlen(s));
  *len += strlen(s);
}

/* A request with n subprotocol offers "a,b,...,zz" and n extension offers; returns the
 * server's work counter after the handshake. */
static size_t offers_work(size_t n, int mode, size_t *head_len)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  walk w = {0, 0};
  static char req[64 * MAX_OFFERS + 512];
  size_t len, i, nread, work;

  assert_true(n <= MAX_OFFERS);
  len = 0;
  put(req, &len, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "Sec-WebSocket-Protocol: ");
  for (i = 0; i + 1 < n; i++) {
    req[len++] = (char)('a' + (int)(i % 26));
    req[len++] = ',';
  }
  put(req, &len, "zz\r\nSec-WebSocket-Extensions: ");
  for (i = 0; i + 1 < n; i++) {
    put(req, &len, "x-");
    req[len++] = (char)('a' + (int)(i % 26));
    put(req, &len, "; p=1, ");
  }
  put(req, &len, "x-zz\r\n\r\n");
  w.mode = mode;
  cb.on_upgrade = walk_offers;
  st.max_head_size = 64 * n + 512;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, &cb, &st, NULL, &w), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, len, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(w.seen, n);
  work = rtw__ws_handshake_server_work(hs);
  /* reset forgets the work with the head */
  assert_int_equal(rtw_ws_handshake_server_reset(hs), 0);
  assert_int_equal(rtw__ws_handshake_server_work(hs), 0);
  rtw_ws_handshake_server_free(hs);
  *head_len = len;
  return work;
}

/* Issue #12 defect 2: each offer was found by walking the list from its start, so walking n
 * offers cost n^2 / 2 steps (3,900 offers: 22 ms of CPU per request). Doubling the offers
 * must now at most double the work, and the work stays within a small multiple of the head
 * size, whatever the host does with the offers. */
static void test_offers_walk_is_linear(void **state)
{
  size_t n, len1, len2, w1, w2;
  int mode;
  (void)state;
  for (mode = 0; mode <= 2; mode++)
    for (n = 500; n <= 4000; n *= 2) {
      w1 = offers_work(n, mode, &len1);
      w2 = offers_work(2 * n, mode, &len2);
      if (w2 > 2 * w1 + 64 || w1 > 4 * len1 || w2 > 4 * len2)
        fail_msg("mode %d: %zu offers cost %zu steps (head %zu bytes), %zu offers %zu steps "
                 "(head %zu bytes)",
                 mode, n, w1, len1, 2 * n, w2, len2);
    }
}

/* The index is sized before it is allocated and fails cleanly without memory. */
static int offers_scenario(const rtw_mem *mem, void *arg)
{
  static const char req[] = "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER
                            "Sec-WebSocket-Protocol: a, b, c\r\n"
                            "Sec-WebSocket-Extensions: x; y=1, z\r\n\r\n";
  rtw_ws_handshake_server *hs;
  size_t nread;
  int rv;

  (void)arg;
  rv = rtw_ws_handshake_server_new(&hs, NULL, NULL, mem, NULL);
  if (rv != 0)
    return rv;
  rv = rtw_ws_handshake_server_recv(hs, req, strlen(req), &nread);
  if (rv == RTW_WS_HANDSHAKE_DONE) {
    assert_int_equal(rtw_ws_handshake_server_subprotocol_count(hs), 3);
    assert_int_equal(rtw_ws_handshake_server_extension_count(hs), 2);
    rv = 0;
  }
  rtw_ws_handshake_server_free(hs);
  return rv;
}

static void test_offers_alloc_failures(void **state)
{
  (void)state;
  assert_true(rtwt_check_alloc_failures(offers_scenario, NULL) >= 4);
}

/* The largest block the server asks for, to show the index is sized by the head. */
static size_t largest;

static void *big_malloc(size_t size, void *ud)
{
  (void)ud;
  largest = size > largest ? size : largest;
  return malloc(size);
}

static void *big_calloc(size_t nmemb, size_t size, void *ud)
{
  (void)ud;
  largest = nmemb * size > largest ? nmemb * size : largest;
  return calloc(nmemb, size);
}

static void *big_realloc(void *p, size_t size, void *ud)
{
  (void)ud;
  largest = size > largest ? size : largest;
  return realloc(p, size);
}

static void big_free(void *p, void *ud)
{
  (void)ud;
  free(p);
}

/* 3,900 one-letter offers in a default-size head: the index is 8 bytes per offer, under
 * 4 * max_head_size + 8 * max_headers. */
static void test_offers_index_memory(void **state)
{
  static const rtw_mem mem = {big_malloc, big_calloc, big_realloc, big_free, NULL};
  static char req[RTW_HTTP_DEFAULT_MAX_HEAD_SIZE];
  rtw_ws_handshake_server *hs;
  size_t len = 0, i, nread;
  (void)state;
  put(req, &len, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "Sec-WebSocket-Protocol: ");
  for (i = 0; i < 3899; i++) {
    req[len++] = (char)('a' + (int)(i % 26));
    req[len++] = ',';
  }
  put(req, &len, "z\r\n\r\n");
  assert_true(len <= sizeof req);
  largest = 0;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, &mem, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, len, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(rtw_ws_handshake_server_subprotocol_count(hs), 3900);
  assert_int_equal(largest, 3900 * 8); /* the index, exactly */
  assert_true(largest <= 4 * RTW_HTTP_DEFAULT_MAX_HEAD_SIZE + 8 * RTW_HTTP_DEFAULT_MAX_HEADERS);
  rtw_ws_handshake_server_free(hs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_handshake_field_names),
      cmocka_unit_test(test_server_handshake_400_response),
      cmocka_unit_test(test_client_handshake_field_names),
      cmocka_unit_test(test_sse_request_field_names),
      cmocka_unit_test(test_sse_client_field_names),
      cmocka_unit_test(test_offers_walk_is_linear),
      cmocka_unit_test(test_offers_alloc_failures),
      cmocka_unit_test(test_offers_index_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
