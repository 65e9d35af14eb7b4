/* SPDX-License-Identifier: MIT */
/* Every documented limit crossed at its boundary (docs/limits.md): the limit itself passes,
 * one more fails with the documented error, and the memory taken stays bounded. Each test
 * name is the one docs/limits.md gives for the limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"
#include "rtweb/ws.h"

/* ------------------------------------------------------------------ a measuring allocator */

/* rtw_mem hooks that record the peak of live bytes (a size header before each block). */
typedef struct meter {
  rtw_mem mem;
  size_t live, peak;
  unsigned long calls;
} meter;

typedef union hdr { /* C99 has no max_align_t */
  size_t n;
  long double ld;
  void *p;
  long long ll;
} hdr;

static void *m_grab(meter *m, size_t n, int zero)
{
  hdr *h = zero ? calloc(1, sizeof *h + n) : malloc(sizeof *h + n);
  if (h == NULL)
    return NULL;
  h->n = n;
  m->calls++;
  m->live += n;
  if (m->live > m->peak)
    m->peak = m->live;
  return h + 1;
}

static void *m_malloc(size_t n, void *ud)
{
  return m_grab(ud, n, 0);
}

static void *m_calloc(size_t a, size_t b, void *ud)
{
  return b != 0 && a > SIZE_MAX / b ? NULL : m_grab(ud, a * b, 1);
}

static void *m_realloc(void *p, size_t n, void *ud)
{
  meter *m = ud;
  hdr *h = (hdr *)p - 1, *g;
  size_t old = h->n;

  g = realloc(h, sizeof *h + n);
  if (g == NULL)
    return NULL;
  g->n = n;
  m->calls++;
  m->live = m->live - old + n;
  if (m->live > m->peak)
    m->peak = m->live;
  return g + 1;
}

static void m_free(void *p, void *ud)
{
  meter *m = ud;
  hdr *h = (hdr *)p - 1;
  m->live -= h->n;
  free(h);
}

static void meter_init(meter *m)
{
  memset(m, 0, sizeof *m);
  m->mem.malloc_fn = m_malloc;
  m->mem.calloc_fn = m_calloc;
  m->mem.realloc_fn = m_realloc;
  m->mem.free_fn = m_free;
  m->mem.user_data = m;
}

/* ------------------------------------------------------------------ helpers */

static char *upgrade_request(const char *key, size_t extra_headers, size_t pad)
{
  size_t cap = 512 + strlen(key) + extra_headers * 16 + pad, i;
  char *r = malloc(cap);
  int n;

  assert_non_null(r);
  n = snprintf(r, cap,
               "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key);
  for (i = 0; i < extra_headers; i++)
    n += snprintf(r + n, cap - (size_t)n, "X-%zu: v\r\n", i);
  if (pad > 0) {
    memcpy(r + n, "X-Pad: ", 7);
    memset(r + n + 7, 'p', pad);
    n += 7 + (int)pad;
    memcpy(r + n, "\r\n", 2);
    n += 2;
  }
  memcpy(r + n, "\r\n", 3);
  return r;
}

static int server_feed(const char *req, size_t len, size_t max_head, uint32_t max_headers,
                       int *status)
{
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  size_t nread;
  int rv;

  st.max_head_size = max_head;
  st.max_headers = max_headers;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, &st, NULL, NULL), 0);
  rv = rtw_ws_handshake_server_recv(hs, req, len, &nread);
  *status = rtw_ws_handshake_server_status(hs);
  rtw_ws_handshake_server_free(hs);
  return rv;
}

static const char key_ok[] = "dGhlIHNhbXBsZSBub25jZQ==";

/* ------------------------------------------------------------------ HTTP heads */

static void http_max_head_size_boundary(void **state)
{
  char *r = upgrade_request(key_ok, 0, 100);
  size_t len = strlen(r);
  int status;

  (void)state;
  assert_int_equal(server_feed(r, len, len, 0, &status), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(status, 101);
  assert_int_equal(server_feed(r, len, len - 1, 0, &status), RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(status, 431);
  free(r);
}

static void http_max_headers_boundary(void **state)
{
  char *r = upgrade_request(key_ok, 10, 0);
  size_t len = strlen(r);
  int status;

  (void)state;
  /* 5 handshake fields + 10 extra */
  assert_int_equal(server_feed(r, len, 0, 15, &status), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(server_feed(r, len, 0, 14, &status), RTW_ERR_HTTP_TOO_MANY_HEADERS);
  assert_int_equal(status, 431);
  free(r);
  /* the default, 64: 5 + 59 pass, 5 + 60 fail */
  r = upgrade_request(key_ok, RTW_HTTP_DEFAULT_MAX_HEADERS - 5, 0);
  assert_int_equal(server_feed(r, strlen(r), 0, 0, &status), RTW_WS_HANDSHAKE_DONE);
  free(r);
  r = upgrade_request(key_ok, RTW_HTTP_DEFAULT_MAX_HEADERS - 4, 0);
  assert_int_equal(server_feed(r, strlen(r), 0, 0, &status), RTW_ERR_HTTP_TOO_MANY_HEADERS);
  free(r);
}

/* Regression (fuzz_http_*_handshake, crash-max-headers-split-dependent): a malformed field
 * name past max_headers gave RTW_ERR_HTTP_TOO_MANY_HEADERS when the input was cut inside the
 * name and RTW_ERR_HTTP_MALFORMED when whole. Now the same for every split. */
static void http_max_headers_same_for_every_split(void **state)
{
  static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB\x86: 2\r\n\r\n";
  static const char ok[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nBB: 2\r\n\r\n";
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  size_t cut, nread, len = sizeof req - 1;
  int rv;

  (void)state;
  st.max_headers = 2;
  for (cut = 0; cut <= len; cut++) {
    assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, &st, NULL, NULL), 0);
    rv = rtw_ws_handshake_server_recv(hs, req, cut, &nread);
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
      rv = rtw_ws_handshake_server_recv(hs, req + cut, len - cut, &nread);
    assert_int_equal(rv, RTW_ERR_HTTP_MALFORMED);
    rtw_ws_handshake_server_free(hs);
    /* a valid third name is over the limit for every split */
    if (cut <= sizeof ok - 1) {
      assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, &st, NULL, NULL), 0);
      rv = rtw_ws_handshake_server_recv(hs, ok, cut, &nread);
      if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
        rv = rtw_ws_handshake_server_recv(hs, ok + cut, sizeof ok - 1 - cut, &nread);
      assert_int_equal(rv, RTW_ERR_HTTP_TOO_MANY_HEADERS);
      rtw_ws_handshake_server_free(hs);
    }
  }
}

/* One huge field value, fed in pieces: refused at max_head_size, memory bounded by it. */
static void http_header_value_bounded_by_head(void **state)
{
  rtw_ws_handshake_server *hs;
  meter m;
  char *big = malloc(1u << 20);
  const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ";
  size_t nread, off = 0;
  int rv = 0;

  (void)state;
  assert_non_null(big);
  memset(big, 'v', 1u << 20);
  memcpy(big, start, strlen(start));
  meter_init(&m);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, &m.mem, NULL), 0);
  while (off < (1u << 20)) {
    rv = rtw_ws_handshake_server_recv(hs, big + off, 4096, &nread);
    if (rv != 0)
      break;
    off += nread;
  }
  assert_int_equal(rv, RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(rtw_ws_handshake_server_status(hs), 431);
  assert_true(off < RTW_HTTP_DEFAULT_MAX_HEAD_SIZE);
  /* text buffer <= 2 x max_head_size (geometric growth), plus the parser and response */
  assert_true(m.peak < 2 * RTW_HTTP_DEFAULT_MAX_HEAD_SIZE + 4096);
  rtw_ws_handshake_server_free(hs);
  assert_int_equal(m.live, 0);
  free(big);
}

/* Sec-WebSocket-Key: exactly 24 characters of base64 for 16 bytes (RFC 6455 4.2.1 item 5). */
static void http_handshake_key_lengths(void **state)
{
  static const char *const bad[] = {"dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
                                    "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==AAAA",
                                    "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25jZ!=="};
  char longkey[2001];
  char out[RTW_WS_ACCEPT_LEN];
  size_t i;
  int status;
  char *r;

  (void)state;
  r = upgrade_request(key_ok, 0, 0);
  assert_int_equal(server_feed(r, strlen(r), 0, 0, &status), RTW_WS_HANDSHAKE_DONE);
  free(r);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = upgrade_request(bad[i], 0, 0);
    assert_int_equal(server_feed(r, strlen(r), 0, 0, &status), RTW_ERR_HTTP_WS_BAD_KEY);
    assert_int_equal(status, 400);
    free(r);
  }
  memset(longkey, 'A', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  r = upgrade_request(longkey, 0, 0);
  assert_int_equal(server_feed(r, strlen(r), 0, 0, &status), RTW_ERR_HTTP_WS_BAD_KEY);
  free(r);
  /* rtw_ws_handshake_accept_value(): keys up to 92 bytes (a 128-byte scratch with the GUID) */
  assert_int_equal(rtw_ws_handshake_accept_value(longkey, 92, out), 0);
  assert_int_equal(rtw_ws_handshake_accept_value(longkey, 93, out), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_accept_value(longkey, 2000, out), RTW_ERR_INVALID_ARGUMENT);
}

/* Subprotocols have no count of their own: max_head_size and max_headers bound them. */
static void http_subprotocol_count_bounded_by_head(void **state)
{
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  size_t n = 4500, i, len, nread; /* about 9 KiB */
  char *r = malloc(16 * 1024), *p;
  const char *name;
  size_t nl;

  (void)state;
  assert_non_null(r);
  p = upgrade_request(key_ok, 0, 0);
  len = strlen(p) - 2; /* without the blank line */
  memcpy(r, p, len);
  free(p);
  memcpy(r + len, "Sec-WebSocket-Protocol: ", 24);
  len += 24;
  for (i = 0; i < n; i++) {
    memcpy(r + len, i ? ",a" : "a", i ? 2 : 1);
    len += i ? 2 : 1;
  }
  memcpy(r + len, "\r\n\r\n", 4);
  len += 4;
  st.max_head_size = 16 * 1024;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, r, len, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(rtw_ws_handshake_server_subprotocol_count(hs), n);
  assert_int_equal(rtw_ws_handshake_server_subprotocol(hs, n - 1, &name, &nl), 1);
  assert_int_equal(rtw_ws_handshake_server_subprotocol(hs, n, &name, &nl), 0);
  rtw_ws_handshake_server_free(hs);
  /* the same with the default 8 KiB head: refused before it is stored */
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, r, len, &nread),
                   RTW_ERR_HTTP_HEAD_TOO_LARGE);
  rtw_ws_handshake_server_free(hs);
  free(r);
}

/* Regression (fuzz_http_server_handshake, crash-bare-cr-ends-head): llhttp took "CR LF CR"
 * plus any byte as the end of a head and ate that byte. RFC 9112 2.2: a bare CR is invalid. */
static void http_bare_cr_does_not_end_head(void **state)
{
  char *r = upgrade_request(key_ok, 0, 0);
  size_t len = strlen(r);
  int status;

  (void)state;
  r[len - 1] = 'X'; /* "...\r\n\rX" */
  assert_int_equal(server_feed(r, len, 0, 0, &status), RTW_ERR_HTTP_MALFORMED);
  assert_int_equal(status, 400);
  free(r);
}

/* Regression (fuzz_http_server_handshake, crash-absolute-target-query-without-path): for the
 * absolute-form target "ws://host?x=1" the path ran to the end and the query was lost, while
 * rtw_ws_handshake_server_query() still answered 1. RFC 3986 3.2: the authority ends at '/'
 * or '?'. */
static void http_absolute_target_query_without_path(void **state)
{
  static const char req[] = "GET ws://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
  rtw_ws_handshake_server *hs;
  const char *p, *q;
  size_t pl, ql, nread;

  (void)state;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, sizeof req - 1, &nread),
                   RTW_WS_HANDSHAKE_PLAIN_REQUEST);
  assert_int_equal(rtw_ws_handshake_server_path(hs, &p, &pl), 1);
  assert_int_equal(pl, 0);
  assert_int_equal(rtw_ws_handshake_server_query(hs, &q, &ql), 1);
  assert_int_equal(ql, 3);
  assert_memory_equal(q, "x=1", 3);
  rtw_ws_handshake_server_free(hs);
}

/* ------------------------------------------------------------------ WebSocket client handshake */

static void ws_client_response_limits(void **state)
{
  rtw_ws_handshake_client_settings st = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  rtw_ws_handshake_client *hs;
  const char *resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nX-A: 1\r\n\r\n";
  size_t len = strlen(resp), nread;

  (void)state;
  st.host = "h";
  st.host_len = 1;
  st.max_head_size = len - 1;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, resp, len, &nread),
                   RTW_ERR_HTTP_HEAD_TOO_LARGE);
  rtw_ws_handshake_client_free(hs);
  st.max_head_size = len; /* fits: fails later, for the missing Accept */
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, resp, len, &nread),
                   RTW_ERR_HTTP_WS_BAD_ACCEPT);
  rtw_ws_handshake_client_free(hs);
  st.max_head_size = 0;
  st.max_headers = 2;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, resp, len, &nread),
                   RTW_ERR_HTTP_TOO_MANY_HEADERS);
  rtw_ws_handshake_client_free(hs);
  st.max_headers = 3;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, resp, len, &nread),
                   RTW_ERR_HTTP_WS_BAD_ACCEPT);
  rtw_ws_handshake_client_free(hs);
}

/* ------------------------------------------------------------------ SSE over HTTP, client */

static int sse_client_run(const char *resp, size_t len, size_t max_head, uint32_t max_headers,
                          size_t max_type)
{
  rtw_sse_http_client_settings st = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_settings ps = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_http_client *c;
  rtw_sse_parser *p;
  size_t nread;
  int rv;

  ps.max_type_length = max_type;
  st.host = "h";
  st.host_len = 1;
  st.max_head_size = max_head;
  st.max_headers = max_headers;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &ps, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_client_new(&c, &st, p, NULL), 0);
  rv = rtw_sse_http_client_recv(c, resp, len, &nread);
  if (rv == RTW_SSE_HTTP_DONE)
    rv = rtw_sse_http_client_recv(c, resp + nread, len - nread, &nread);
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(p);
  return rv;
}

static void sse_http_client_limits(void **state)
{
  const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-A: 1\r\n\r\n";
  size_t hl = strlen(head);
  char resp[512];

  (void)state;
  assert_int_equal(sse_client_run(head, hl, hl, 0, 0), RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(sse_client_run(head, hl, hl - 1, 0, 0), RTW_ERR_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(sse_client_run(head, hl, 0, 2, 0), RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(sse_client_run(head, hl, 0, 1, 0), RTW_ERR_HTTP_TOO_MANY_HEADERS);
  /* the body goes through the parser's limits: an `event` value of 9 bytes vs 8 */
  snprintf(resp, sizeof resp, "%sevent: 123456789\n\n", head);
  assert_int_equal(sse_client_run(resp, strlen(resp), 0, 0, 9), RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(sse_client_run(resp, strlen(resp), 0, 0, 8), RTW_ERR_SSE_TYPE_TOO_LONG);
  /* regression: a bare CR after the last field line does not end the head */
  snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\rd");
  assert_int_equal(sse_client_run(resp, strlen(resp), 0, 0, 0), RTW_ERR_HTTP_MALFORMED);
}

/* ------------------------------------------------------------------ SSE parser */

static int sse_parse(const char *s, size_t max_type, size_t max_event, size_t max_id)
{
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p;
  size_t nread;
  int rv;

  st.max_type_length = max_type;
  st.max_event_size = max_event;
  st.max_id_length = max_id;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), 0);
  rv = rtw_sse_parser_recv(p, s, strlen(s), &nread);
  rtw_sse_parser_free(p);
  return rv;
}

static void sse_max_type_length_boundary(void **state)
{
  (void)state;
  /* the value of "event: abcdefgh" is 8 bytes */
  assert_int_equal(sse_parse("event: abcdefgh\n\n", 8, 0, 0), 0);
  assert_int_equal(sse_parse("event: abcdefgh\n\n", 7, 0, 0), RTW_ERR_SSE_TYPE_TOO_LONG);
  /* counted after decoding: one invalid byte becomes U+FFFD, 3 bytes */
  assert_int_equal(sse_parse("event: ab\xFF\n\n", 5, 0, 0), 0);
  assert_int_equal(sse_parse("event: ab\xFF\n\n", 4, 0, 0), RTW_ERR_SSE_TYPE_TOO_LONG);
  /* no other line is bounded: comments and unknown fields are skipped as they stream */
  assert_int_equal(sse_parse(": comment-123\r\nunknown-field: x\n", 1, 0, 0), 0);
}

/* Lines that need no memory take none, whatever their length (issue #12, defect 5): a
 * 10 MiB comment, a 10 MiB unknown field and a 10 MiB retry value, fed whole and in 4 KiB
 * pieces with default settings, leave the allocator's peak at the parser struct (plus the
 * first max_comment_length bytes of the comment when on_comment is set). */
static int sse_count_comment(rtw_sse_parser *p, const char *text, size_t len, void *ud)
{
  (void)p, (void)text;
  *(size_t *)ud = len;
  return 0;
}

static size_t sse_peak_for(const char *head, size_t body_len, const char *tail, size_t chunk,
                           int with_comment)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  size_t hl = strlen(head), tl = strlen(tail), len = hl + body_len + tl, off, nread;
  size_t comment_len = 0;
  char *in = malloc(len);
  rtw_sse_parser *p;
  meter m;

  assert_non_null(in);
  memcpy(in, head, hl);
  memset(in + hl, '7', body_len);
  memcpy(in + hl + body_len, tail, tl);
  cb.on_comment = with_comment ? sse_count_comment : NULL;
  meter_init(&m);
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, &m.mem, &comment_len), 0);
  for (off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    assert_int_equal(rtw_sse_parser_recv(p, in + off, n, &nread), 0);
    assert_int_equal(nread, n);
  }
  if (with_comment)
    assert_int_equal(comment_len, RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH);
  rtw_sse_parser_free(p);
  assert_int_equal(m.live, 0);
  free(in);
  return m.peak;
}

/* "<field>:" + n copies of c + "\n\n", NUL-terminated. */
static char *sse_line(const char *field, size_t n, char c)
{
  size_t fl = strlen(field);
  char *s = malloc(fl + n + 3);

  assert_non_null(s);
  memcpy(s, field, fl);
  memset(s + fl, c, n);
  memcpy(s + fl + n, "\n\n", 3);
  return s;
}

/* The defaults: an event type and an id of 1 MiB each pass, one byte more fails. */
static void sse_default_type_and_id_boundaries(void **state)
{
  char *s;

  (void)state;
  s = sse_line("event:", RTW_SSE_DEFAULT_MAX_TYPE_LENGTH, 't');
  assert_int_equal(sse_parse(s, 0, 0, 0), 0);
  free(s);
  s = sse_line("event:", RTW_SSE_DEFAULT_MAX_TYPE_LENGTH + 1, 't');
  assert_int_equal(sse_parse(s, 0, 0, 0), RTW_ERR_SSE_TYPE_TOO_LONG);
  free(s);
  s = sse_line("id:", RTW_SSE_DEFAULT_MAX_ID_LENGTH, 'i');
  assert_int_equal(sse_parse(s, 0, 0, 0), 0);
  free(s);
  s = sse_line("id:", RTW_SSE_DEFAULT_MAX_ID_LENGTH + 1, 'i');
  assert_int_equal(sse_parse(s, 0, 0, 0), RTW_ERR_SSE_ID_TOO_LONG);
  free(s);
}

static void sse_long_lines_take_no_memory(void **state)
{
  const size_t big = 10u << 20, base = sse_peak_for("", 0, "", 1, 0);
  const size_t chunks[2] = {(size_t)-1, 4096};
  int i;

  (void)state;
  for (i = 0; i < 2; i++) {
    assert_int_equal(sse_peak_for(":", big, "\n", chunks[i], 0), base);
    assert_int_equal(sse_peak_for("x-unknown:", big, "\n", chunks[i], 0), base);
    assert_int_equal(sse_peak_for("retry:", big, "\n", chunks[i], 0), base);
    /* on_comment: only the first 64 KiB are kept (the buffer may round up to 128 KiB) */
    assert_true(sse_peak_for(":", big, "\n", chunks[i], 1) <=
                base + 2 * RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH);
  }
}

static void sse_max_event_size_boundary(void **state)
{
  (void)state;
  /* data "abcd\nef" is 7 bytes after joining */
  assert_int_equal(sse_parse("data: abcd\ndata: ef\n\n", 0, 7, 0), 0);
  assert_int_equal(sse_parse("data: abcd\ndata: ef\n\n", 0, 6, 0), RTW_ERR_SSE_EVENT_TOO_LARGE);
}

static void sse_max_id_length_boundary(void **state)
{
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p;

  (void)state;
  assert_int_equal(sse_parse("id: 12345\n\n", 0, 0, 5), 0);
  assert_int_equal(sse_parse("id: 12345\n\n", 0, 0, 4), RTW_ERR_SSE_ID_TOO_LONG);
  /* also the seed of rtw_sse_parser_reset() */
  st.max_id_length = 4;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_sse_parser_reset(p, "1234", 4), 0);
  assert_int_equal(rtw_sse_parser_reset(p, "12345", 5), RTW_ERR_SSE_ID_TOO_LONG);
  rtw_sse_parser_free(p);
}

/* ------------------------------------------------------------------ SSE history */

static void sse_history_max_events_boundary(void **state)
{
  rtw_sse_history *h;
  uint64_t seq;
  char id[8];
  int i;

  (void)state;
  assert_int_equal(rtw_sse_history_new(&h, 4, 0, NULL), 0);
  for (i = 0; i < 4; i++) {
    snprintf(id, sizeof id, "%d", i);
    assert_int_equal(rtw_sse_history_push(h, id, strlen(id), "data: x\n\n", 9, NULL), 0);
  }
  assert_int_equal(rtw_sse_history_first_seq(h), 0);
  assert_int_equal(rtw_sse_history_find(h, "0", 1, &seq), 0);
  assert_int_equal(rtw_sse_history_push(h, "4", 1, "data: x\n\n", 9, NULL), 0);
  assert_int_equal(rtw_sse_history_first_seq(h), 1); /* the oldest was evicted */
  assert_int_equal(rtw_sse_history_find(h, "0", 1, &seq), RTW_ERR_SSE_HISTORY_GAP);
  rtw_sse_history_free(h);
}

static void sse_history_max_bytes_boundary(void **state)
{
  rtw_sse_history *h;
  meter m;
  char buf[100];
  unsigned long calls;

  (void)state;
  memset(buf, 'b', sizeof buf);
  meter_init(&m);
  assert_int_equal(rtw_sse_history_new(&h, 0, 100, &m.mem), 0);
  calls = m.calls;
  /* id + bytes: 100 fits, 101 is refused and changes nothing */
  assert_int_equal(rtw_sse_history_push(h, "ab", 2, buf, 98, NULL), 0);
  assert_int_equal(rtw_sse_history_push(h, "abc", 3, buf, 98, NULL),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_next_seq(h), 1);
  assert_int_equal(m.calls, calls); /* push never allocates: max_bytes is taken up front */
  assert_true(m.peak >= 100);
  rtw_sse_history_free(h);
  assert_int_equal(m.live, 0);
}

/* ------------------------------------------------------------------ WebSocket session */

static rtw_ws *ws_server(uint64_t max_frame, uint64_t max_msg, size_t max_out)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;

  st.max_frame_size = max_frame;
  st.max_message_size = max_msg;
  st.max_outbound = max_out;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL), 0);
  return ws;
}

/* A masked (client-to-server) frame header with a zero key and a 16-bit length. */
static size_t header16(uint8_t *h, uint8_t b0, size_t len)
{
  h[0] = b0;
  h[1] = 0x80 | 126;
  h[2] = (uint8_t)(len >> 8);
  h[3] = (uint8_t)len;
  memset(h + 4, 0, 4);
  return 8;
}

static void ws_max_frame_size_boundary(void **state)
{
  uint8_t h[8];
  size_t nread, n = header16(h, 0x82, 1000);
  rtw_ws *ws = ws_server(1000, 0, 0);

  (void)state;
  /* refused at the header, before any payload byte arrives */
  assert_int_equal(rtw_ws_recv(ws, h, n, &nread), 0);
  rtw_ws_free(ws);
  ws = ws_server(999, 0, 0);
  assert_int_equal(rtw_ws_recv(ws, h, n, &nread), RTW_ERR_WS_FRAME_TOO_LARGE);
  assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_TOO_BIG);
  rtw_ws_free(ws);
}

static void ws_max_message_size_boundary(void **state)
{
  uint8_t buf[8 + 600 + 8 + 400];
  size_t nread, n;
  rtw_ws *ws;

  (void)state;
  memset(buf, 'x', sizeof buf);
  n = header16(buf, 0x02, 600); /* binary, not final */
  n += 600;
  n += header16(buf + n, 0x80, 400); /* continuation, final: 1000 in all */
  ws = ws_server(0, 1000, 0);
  assert_int_equal(rtw_ws_recv(ws, buf, n, &nread), 0);
  assert_int_equal(nread, n);
  rtw_ws_free(ws);
  ws = ws_server(0, 999, 0);
  assert_int_equal(rtw_ws_recv(ws, buf, 8 + 600 + 8, &nread), RTW_ERR_WS_MESSAGE_TOO_LARGE);
  assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_TOO_BIG);
  rtw_ws_free(ws);
  /* whole-message delivery buffers the message: bounded by max_message_size, refused at
   * the second header before its payload is taken */
  {
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    meter m;
    meter_init(&m);
    st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
    st.max_message_size = 999;
    assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, &m.mem, NULL), 0);
    assert_int_equal(rtw_ws_recv(ws, buf, 8 + 600 + 8, &nread), RTW_ERR_WS_MESSAGE_TOO_LARGE);
    assert_true(m.peak < 2 * 999 + 4096);
    rtw_ws_free(ws);
    assert_int_equal(m.live, 0);
  }
}

static void ws_control_payload_boundary(void **state)
{
  uint8_t ping[2 + 4 + 126], pl[126];
  size_t nread;
  rtw_ws *ws = ws_server(0, 0, 0);

  (void)state;
  memset(pl, 'p', sizeof pl);
  assert_int_equal(rtw_ws_queue_ping(ws, pl, 125), 0);
  assert_int_equal(rtw_ws_queue_ping(ws, pl, 126), RTW_ERR_WS_CONTROL_TOO_LONG);
  assert_int_equal(rtw_ws_close(ws, 1000, (const char *)pl, 124), RTW_ERR_WS_CONTROL_TOO_LONG);
  rtw_ws_free(ws);
  /* received: a ping of 125 is answered, 126 (16-bit length form) fails with 1002 */
  ws = ws_server(0, 0, 0);
  memset(ping, 'p', sizeof ping);
  ping[0] = 0x89;
  ping[1] = 0x80 | 125;
  memset(ping + 2, 0, 4);
  assert_int_equal(rtw_ws_recv(ws, ping, 2 + 4 + 125, &nread), 0);
  rtw_ws_free(ws);
  ws = ws_server(0, 0, 0);
  header16(ping, 0x89, 126);
  assert_int_equal(rtw_ws_recv(ws, ping, 8, &nread), RTW_ERR_WS_CONTROL_TOO_LONG);
  assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_PROTOCOL_ERROR);
  rtw_ws_free(ws);
}

static void ws_max_outbound_boundary(void **state)
{
  static uint8_t data[1000];
  rtw_ws *ws = ws_server(0, 0, 1000);

  (void)state;
  /* a message needs its payload plus room for the largest header (14 bytes) */
  assert_int_equal(rtw_ws_queue_binary(ws, data, 1000 - RTW_WS_MAX_HEADER + 1),
                   RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(rtw_ws_queue_binary(ws, data, 1000 - RTW_WS_MAX_HEADER), 0);
  assert_int_equal(rtw_ws_queue_binary(ws, data, 1), RTW_ERR_WS_OUTBOUND_FULL);
  rtw_ws_free(ws);
}

/* Regression: budget_ok() computed len + 14, which wraps for a length near SIZE_MAX, so a
 * NOCOPY message claiming such a length was queued (and later read far past its buffer). */
static void ws_max_outbound_no_wrap(void **state)
{
  static uint8_t data[16];
  rtw_ws *ws = ws_server(0, 0, 0);
  size_t i;

  (void)state;
  for (i = 1; i <= RTW_WS_MAX_HEADER + 1; i++) {
    assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, data, SIZE_MAX - i + 1,
                                          RTW_WS_QUEUE_NOCOPY),
                     RTW_ERR_WS_OUTBOUND_FULL);
    assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_BINARY, data, SIZE_MAX - i + 1, 0),
                     RTW_ERR_WS_OUTBOUND_FULL);
  }
  assert_int_equal(rtw_ws_queue_ping(ws, data, 16), 0);
  rtw_ws_free(ws);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(http_max_head_size_boundary),
      cmocka_unit_test(http_max_headers_boundary),
      cmocka_unit_test(http_max_headers_same_for_every_split),
      cmocka_unit_test(http_header_value_bounded_by_head),
      cmocka_unit_test(http_handshake_key_lengths),
      cmocka_unit_test(http_subprotocol_count_bounded_by_head),
      cmocka_unit_test(http_bare_cr_does_not_end_head),
      cmocka_unit_test(http_absolute_target_query_without_path),
      cmocka_unit_test(ws_client_response_limits),
      cmocka_unit_test(sse_http_client_limits),
      cmocka_unit_test(sse_max_type_length_boundary),
      cmocka_unit_test(sse_long_lines_take_no_memory),
      cmocka_unit_test(sse_default_type_and_id_boundaries),
      cmocka_unit_test(sse_max_event_size_boundary),
      cmocka_unit_test(sse_max_id_length_boundary),
      cmocka_unit_test(sse_history_max_events_boundary),
      cmocka_unit_test(sse_history_max_bytes_boundary),
      cmocka_unit_test(ws_max_frame_size_boundary),
      cmocka_unit_test(ws_max_message_size_boundary),
      cmocka_unit_test(ws_control_payload_boundary),
      cmocka_unit_test(ws_max_outbound_boundary),
      cmocka_unit_test(ws_max_outbound_no_wrap),
  };
  return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
