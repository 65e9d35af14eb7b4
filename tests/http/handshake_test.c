/* SPDX-License-Identifier: MIT */
/* WebSocket opening handshake (RFC 6455 section 4): server validation and responses, client
 * request and response checks, real client requests from vectors/, every input split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/http.h"
#include "rtweb/ws.h"

/* ====================================================================== server harness */

#define MODE_ACCEPT 0     /* accept, choosing the first subprotocol offered */
#define MODE_REJECT 1     /* return 403 */
#define MODE_BAD_PROTO 2  /* try a subprotocol that was not offered, then accept */
#define MODE_FAIL 3       /* return -1 */
#define MODE_EXT 4        /* accept permessage-deflate, try an extension not offered */
#define MODE_HEADERS 5    /* add headers, some refused */
#define MODE_NOTFOUND 6   /* return 404 */

typedef struct srv_ctx {
  int mode;
  rtwt_log *log;
} srv_ctx;

static void log_span(rtwt_log *log, const char *what, const char *p, size_t n)
{
  rtwt_log_printf(log, "%s=", what);
  rtwt_log_bytes(log, p, n);
  rtwt_log_printf(log, "\n");
}

static void log_request(rtw_ws_handshake_server *hs, rtwt_log *log)
{
  const char *p;
  size_t n, i;

  rtw_ws_handshake_server_method(hs, &p, &n);
  log_span(log, "method", p, n);
  rtw_ws_handshake_server_path(hs, &p, &n);
  log_span(log, "path", p, n);
  if (rtw_ws_handshake_server_query(hs, &p, &n) == 1)
    log_span(log, "query", p, n);
  if (rtw_ws_handshake_server_origin(hs, &p, &n) == 1)
    log_span(log, "origin", p, n);
  for (i = 0; i < rtw_ws_handshake_server_subprotocol_count(hs); i++) {
    assert_int_equal(rtw_ws_handshake_server_subprotocol(hs, i, &p, &n), 1);
    log_span(log, "subprotocol", p, n);
  }
  for (i = 0; i < rtw_ws_handshake_server_extension_count(hs); i++) {
    assert_int_equal(rtw_ws_handshake_server_extension(hs, i, &p, &n), 1);
    log_span(log, "extension", p, n);
  }
  rtwt_log_printf(log, "headers=%zu\n", rtw_ws_handshake_server_header_count(hs));
}

/* What the SSE view of a plain request shows (rtw_ws_handshake_server_plain_request()). */
static void log_sse_view(const rtw_sse_http_request *req, rtwt_log *log)
{
  const char *p;
  size_t n;
  int major = -1, minor = -1, rv;

  assert_non_null(req);
  rv = rtw_sse_http_request_outcome(req);
  rtwt_log_printf(log, "sse=%s\n", rv == RTW_SSE_HTTP_DONE ? "DONE" : rtw_err_name(rv));
  if (rv != RTW_SSE_HTTP_DONE) {
    assert_int_equal(rtw_sse_http_request_path(req, &p, &n), RTW_ERR_INVALID_ARGUMENT);
    assert_int_equal(rtw_sse_http_request_version(req, &major, &minor),
                     RTW_ERR_INVALID_ARGUMENT);
    return;
  }
  assert_int_equal(rtw_sse_http_request_path(req, &p, &n), 1);
  log_span(log, "sse.path", p, n);
  if (rtw_sse_http_request_query(req, &p, &n) == 1)
    log_span(log, "sse.query", p, n);
  if (rtw_sse_http_request_last_event_id(req, &p, &n) == 1)
    log_span(log, "sse.last_event_id", p, n);
  assert_int_equal(rtw_sse_http_request_version(req, &major, &minor), 0);
  rtwt_log_printf(log, "sse.version=%d.%d accepts=%d chunked=%d\n", major, minor,
                  rtw_sse_http_request_accepts(req), rtw_sse_http_request_chunked(req));
}

static int on_upgrade(rtw_ws_handshake_server *hs, void *ud)
{
  srv_ctx *ctx = ud;
  const char *p;
  size_t n;

  assert_ptr_equal(rtw_ws_handshake_server_user_data(hs), ud);
  rtwt_log_printf(ctx->log, "on_upgrade\n");
  log_request(hs, ctx->log);
  switch (ctx->mode) {
  case MODE_REJECT:
    return 403;
  case MODE_NOTFOUND:
    return 404;
  case MODE_FAIL:
    return -1;
  case MODE_BAD_PROTO:
    rtwt_log_printf(ctx->log, "select=%s\n",
                    rtw_err_name(rtw_ws_handshake_server_select_subprotocol(hs, "nope", 4)));
    return 0;
  case MODE_EXT:
    rtwt_log_printf(ctx->log, "ext=%s\n", rtw_err_name(rtw_ws_handshake_server_set_extensions(
                                              hs, "x-foo", 5)));
    rtwt_log_printf(ctx->log, "ext=%s\n",
                    rtw_err_name(rtw_ws_handshake_server_set_extensions(
                        hs, "permessage-deflate; server_no_context_takeover", 46)));
    return 0;
  case MODE_HEADERS:
    rtwt_log_printf(ctx->log, "hdr=%s\n", rtw_err_name(rtw_ws_handshake_server_add_header(
                                              hs, "Set-Cookie", 10, "a=b", 3)));
    rtwt_log_printf(ctx->log, "hdr=%s\n", rtw_err_name(rtw_ws_handshake_server_add_header(
                                              hs, "X-Evil", 6, "a\r\nb: c", 7)));
    rtwt_log_printf(ctx->log, "hdr=%s\n", rtw_err_name(rtw_ws_handshake_server_add_header(
                                              hs, "Bad Name", 8, "v", 1)));
    rtwt_log_printf(ctx->log, "hdr=%s\n", rtw_err_name(rtw_ws_handshake_server_add_header(
                                              hs, "sec-websocket-accept", 20, "v", 1)));
    rtwt_log_printf(ctx->log, "hdr=%s\n", rtw_err_name(rtw_ws_handshake_server_add_header(
                                              hs, "X-Nul", 5, "a\0b", 3)));
    return 0;
  default:
    if (rtw_ws_handshake_server_subprotocol(hs, 0, &p, &n) == 1)
      assert_int_equal(rtw_ws_handshake_server_select_subprotocol(hs, p, n), 0);
    return 0;
  }
}

typedef struct srv_opts {
  int mode;
  uint32_t max_headers;
  size_t max_head_size;
} srv_opts;

static void server_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  const srv_opts *o = arg;
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  srv_ctx ctx;
  size_t i, off = 0, total = 0, nread, rlen;
  const void *resp;
  int rv = 0;

  (void)len;
  ctx.mode = o->mode;
  ctx.log = log;
  cb.on_upgrade = on_upgrade;
  st.max_headers = o->max_headers;
  st.max_head_size = o->max_head_size;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, &cb, &st, NULL, &ctx), 0);
  for (i = 0; i < npieces; i++) {
    rv = rtw_ws_handshake_server_recv(hs, in + off, pieces[i], &nread);
    total += nread;
    off += pieces[i];
    if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
      break;
  }
  /* after an error, nread counts the bytes examined, which depends on the split */
  rtwt_log_printf(log, "rv=%d status=%d nread=%zu\n", rv, rtw_ws_handshake_server_status(hs),
                  rv < 0 ? (size_t)0 : total);
  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    log_request(hs, log);
    log_sse_view(rtw_ws_handshake_server_plain_request(hs), log);
  } else {
    assert_null(rtw_ws_handshake_server_plain_request(hs));
  }
  if (rtw_ws_handshake_server_response(hs, &resp, &rlen) == 0)
    rtwt_log_bytes(log, resp, rlen);
  rtw_ws_handshake_server_free(hs);
}

/* Run `req` through every split, then return the whole-input log (caller frees). */
static void run_server(const srv_opts *o, const char *req, size_t len, rtwt_log *out)
{
  size_t piece = len;
  rtwt_check_splits(server_feed, (void *)o, req, len, NULL);
  rtwt_log_init(out);
  server_feed((void *)o, (const uint8_t *)req, len, &piece, 1, out);
}

static void expect_server(const srv_opts *o, const char *req, int rv, int status)
{
  rtwt_log log;
  char want[64];
  run_server(o, req, strlen(req), &log);
  snprintf(want, sizeof want, "rv=%d status=%d ", rv, status);
  if (strstr(log.buf, want) == NULL)
    fail_msg("request:\n%s\nwanted %s (%s), got:\n%s", req, want, rtw_err_name(rv), log.buf);
  rtwt_log_free(&log);
}

/* ====================================================================== accept value */

static void test_accept_rfc_example(void **state)
{
  char out[RTW_WS_ACCEPT_LEN];
  (void)state;
  /* RFC 6455 1.3 and 4.2.2 */
  assert_int_equal(rtw_ws_handshake_accept_value("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
  assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", RTW_WS_ACCEPT_LEN);
  assert_int_equal(rtw_ws_handshake_accept_value(NULL, 0, out), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_accept_value("x", 1, NULL), RTW_ERR_INVALID_ARGUMENT);
}

/* ====================================================================== server: valid */

#define RFC_REQ                                                                             \
  "GET /chat HTTP/1.1\r\n"                                                                  \
  "Host: server.example.com\r\n"                                                            \
  "Upgrade: websocket\r\n"                                                                  \
  "Connection: Upgrade\r\n"                                                                 \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                         \
  "Origin: http://example.com\r\n"                                                          \
  "Sec-WebSocket-Protocol: chat, superchat\r\n"                                             \
  "Sec-WebSocket-Version: 13\r\n"                                                           \
  "\r\n"

/* The RFC 6455 1.2 example, whole response checked byte for byte. */
static void test_server_rfc_example(void **state)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  static const char expected[] =
      "on_upgrade\nmethod=GET\npath=/chat\norigin=http://example.com\nsubprotocol=chat\n"
      "subprotocol=superchat\nheaders=7\n"
      "rv=1 status=101 nread=230\n"
      "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\\r\\n"
      "Sec-WebSocket-Protocol: chat\\r\\n\\r\\n";
  (void)state;
  assert_int_equal(strlen(RFC_REQ), 230);
  rtwt_check_splits(server_feed, (void *)&o, RFC_REQ, strlen(RFC_REQ), expected);
}

/* Frames sent right behind the request are not consumed and go into the session. */
static int got_text;

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  (void)ws;
  (void)ud;
  assert_int_equal(opcode, RTW_WS_OP_TEXT);
  assert_int_equal(len, 5);
  assert_memory_equal(data, "Hello", 5);
  got_text++;
  return 0;
}

static void test_server_frames_follow(void **state)
{
  /* RFC 6455 5.7: a masked "Hello" */
  static const uint8_t frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                  0x9f, 0x4d, 0x51, 0x58};
  rtw_ws_callbacks wcb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings ws_set = {RTW_WS_SETTINGS_VERSION};
  rtw_ws_handshake_server *hs;
  rtw_ws *ws;
  char buf[512];
  size_t req = strlen(RFC_REQ), nread, wread;
  (void)state;
  memcpy(buf, RFC_REQ, req);
  memcpy(buf + req, frame, sizeof frame);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, buf, req + sizeof frame, &nread),
                   RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, req);
  /* sticky */
  assert_int_equal(rtw_ws_handshake_server_recv(hs, buf, 1, &wread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(wread, 0);
  wcb.on_message = on_message;
  ws_set.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &wcb, &ws_set, NULL, NULL), 0);
  got_text = 0;
  assert_int_equal(rtw_ws_recv(ws, buf + nread, req + sizeof frame - nread, &wread), 0);
  assert_int_equal(got_text, 1);
  rtw_ws_free(ws);
  rtw_ws_handshake_server_free(hs);
}

static char *read_vector(const char *name, size_t *len)
{
  const char *root = getenv("RTW_SOURCE_ROOT");
  char path[1024];
  FILE *f;
  char *buf = malloc(65536);
  snprintf(path, sizeof path, "%s/tests/http/vectors/%s", root ? root : ".", name);
  f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open %s", path);
  *len = fread(buf, 1, 65536, f);
  fclose(f);
  return buf;
}

/* Requests real clients sent on loopback (tests/http/vectors/capture.py). */
static void check_vector(const char *name, const char *accept, const char *subprotocol)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  size_t len;
  char *req = read_vector(name, &len);
  char want[128];
  rtwt_log log;

  run_server(&o, req, len, &log);
  snprintf(want, sizeof want, "rv=1 status=101 nread=%zu\n", len);
  if (strstr(log.buf, want) == NULL)
    fail_msg("%s: %s", name, log.buf);
  snprintf(want, sizeof want, "Sec-WebSocket-Accept: %s\\r\\n", accept);
  assert_non_null(strstr(log.buf, want));
  snprintf(want, sizeof want, "Sec-WebSocket-Protocol: %s\\r\\n", subprotocol);
  assert_non_null(strstr(log.buf, want));
  assert_non_null(strstr(log.buf, "path=/chat\nquery=room=1\n"));
  assert_non_null(strstr(log.buf, "extension=permessage-deflate; client_max_window_bits\n"));
  rtwt_log_free(&log);
  free(req);
}

static void test_server_real_clients(void **state)
{
  (void)state;
  check_vector("node-ws.http", "wfG1kgp3OlqiUeP9CfJY2RfmB14=", "chat");
  check_vector("python3-websockets.http", "sCQFBmLoSsLChFCCoOMJOR8MPCI=", "chat");
  check_vector("chromium.http", "EWKbvysjNr/ERWqIkpTmcqjj07k=", "chat");
}

/* Token lists: case-insensitive, several elements, repeated lines, odd spacing. */
static void test_server_token_lists(void **state)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  (void)state;
  expect_server(&o,
                "GET / HTTP/1.1\r\nHost: h\r\nUPGRADE: WebSocket\r\n"
                "connection: keep-alive, upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
                "Sec-WebSocket-Version:13  \r\n\r\n",
                1, 101);
  expect_server(&o,
                "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nUpgrade: websocket\r\n"
                "Connection: keep-alive\r\nConnection: ,Upgrade,\r\n"
                "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                1, 101);
  /* HTTP/1.1 and "later" */
  expect_server(&o,
                "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n"
                "Content-Length: 0\r\n\r\n",
                1, 101);
}

/* ====================================================================== server: invalid */

#define KEY "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CON "Connection: Upgrade\r\n"
#define HOST "Host: h\r\n"

static void test_server_invalid(void **state)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  static const struct {
    const char *req;
    int rv, status;
  } cases[] = {
      {"POST / HTTP/1.1\r\n" HOST UPG CON KEY VER "\r\n", RTW_ERR_HTTP_BAD_METHOD, 400},
      {"GET / HTTP/1.0\r\n" HOST UPG CON KEY VER "\r\n", RTW_ERR_HTTP_BAD_VERSION, 400},
      {"GET / HTTP/1.1\r\n" UPG CON KEY VER "\r\n", RTW_ERR_HTTP_NO_HOST, 400},
      {"GET / HTTP/1.1\r\n" HOST HOST UPG CON KEY VER "\r\n", RTW_ERR_HTTP_NO_HOST, 400},
      {"GET / HTTP/1.1\r\nHost:\r\n" UPG CON KEY VER "\r\n", RTW_ERR_HTTP_NO_HOST, 400},
      {"GET / HTTP/1.1\r\n" HOST CON KEY VER "\r\n", RTW_ERR_HTTP_WS_NO_UPGRADE, 400},
      {"GET / HTTP/1.1\r\n" HOST "Upgrade: websockets\r\n" CON KEY VER "\r\n",
       RTW_ERR_HTTP_WS_NO_UPGRADE, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG KEY VER "\r\n", RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG "Connection: keep-alive\r\n" KEY VER "\r\n",
       RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG "Connection: Upgraded\r\n" KEY VER "\r\n",
       RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY "\r\n", RTW_ERR_HTTP_WS_BAD_VERSION, 426},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY "Sec-WebSocket-Version: 8\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_VERSION, 426},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_VERSION, 426},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY VER VER "\r\n", RTW_ERR_HTTP_WS_BAD_VERSION, 426},
      {"GET / HTTP/1.1\r\n" HOST UPG CON VER "\r\n", RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY KEY VER "\r\n", RTW_ERR_HTTP_WS_BAD_KEY, 400},
      /* 15 bytes, 17 bytes */
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P\r\n" VER "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE=\r\n" VER
       "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      /* not base64: bad character, URL-safe alphabet, non-canonical padding bits, no padding */
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P*A==\r\n" VER
       "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4-_A==\r\n" VER
       "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEB==\r\n" VER
       "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA\r\n" VER
       "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON "Sec-WebSocket-Key: \r\n" VER "\r\n",
       RTW_ERR_HTTP_WS_BAD_KEY, 400},
      /* a body where the frames go */
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "Content-Length: 5\r\n\r\nhello",
       RTW_ERR_HTTP_UNEXPECTED_BODY, 400},
      {"GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       RTW_ERR_HTTP_UNEXPECTED_BODY, 400},
      /* not HTTP */
      {"GET / HTTP/1.1\r\nHost h\r\n\r\n", RTW_ERR_HTTP_MALFORMED, 400},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", RTW_ERR_HTTP_MALFORMED, 400},
      {"GET / HTTP/1.1\r\n" HOST "X-Bad\x01: v\r\n\r\n", RTW_ERR_HTTP_MALFORMED, 400},
      {"GET / HTTP/1.1\r\n" HOST "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
       RTW_ERR_HTTP_MALFORMED, 400},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_server(&o, cases[i].req, cases[i].rv, cases[i].status);
}

/* The error responses themselves: complete, Connection: close, 426 with the version. */
static void test_server_error_responses(void **state)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  static const char req426[] = "GET / HTTP/1.1\r\n" HOST UPG CON KEY
                               "Sec-WebSocket-Version: 8\r\n\r\n";
  rtwt_log log;
  (void)state;
  run_server(&o, req426, strlen(req426), &log);
  assert_string_equal(
      log.buf, "rv=-308 status=426 nread=0\n"
               "HTTP/1.1 426 Upgrade Required\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n"
               "Content-Length: 62\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade, close\\r\\n"
               "Sec-WebSocket-Version: 13\\r\\n\\r\\n"
               "426 Upgrade Required: Sec-WebSocket-Version missing or not 13\\n");
  rtwt_log_free(&log);
  run_server(&o, "GET / HTTP/1.1\r\n" UPG CON KEY VER "\r\n",
             strlen("GET / HTTP/1.1\r\n" UPG CON KEY VER "\r\n"), &log);
  assert_non_null(strstr(log.buf, "HTTP/1.1 400 Bad Request\\r\\n"));
  assert_non_null(strstr(log.buf, "Connection: close\\r\\n"));
  assert_non_null(strstr(log.buf, "Content-Length: 59\\r\\nConnection: close\\r\\n\\r\\n400 Bad Request: HTTP/1.1 request "
                                  "without exactly one Host\\n"));
  rtwt_log_free(&log);
}

/* Header flood: too many field lines, and a head too large; both 431 at every split. */
static void test_server_limits(void **state)
{
  static const srv_opts small = {MODE_ACCEPT, 8, 256};
  static const srv_opts dflt = {MODE_ACCEPT, 0, 0};
  char req[16384];
  size_t n, i;
  (void)state;
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER);
  for (i = 0; i < 4; i++)
    n += (size_t)sprintf(req + n, "X-%zu: v\r\n", i);
  sprintf(req + n, "\r\n");
  expect_server(&small, req, RTW_ERR_HTTP_TOO_MANY_HEADERS, 431); /* 9 lines */
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER);
  for (i = 0; i < 3; i++)
    n += (size_t)sprintf(req + n, "X-%zu: v\r\n", i);
  sprintf(req + n, "\r\n");
  expect_server(&small, req, 1, 101); /* exactly 8 */
  /* the default: 64 lines */
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER);
  for (i = 0; i < 60; i++)
    n += (size_t)sprintf(req + n, "X-%zu: v\r\n", i);
  sprintf(req + n, "\r\n");
  expect_server(&dflt, req, RTW_ERR_HTTP_TOO_MANY_HEADERS, 431);
  /* head over 256 bytes */
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "X: ");
  memset(req + n, 'a', 200);
  sprintf(req + n + 200, "\r\n\r\n");
  expect_server(&small, req, RTW_ERR_HTTP_HEAD_TOO_LARGE, 431);
  /* a head of exactly the limit passes, one byte more fails */
  n = strlen("GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "X: \r\n\r\n");
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "X: ");
  memset(req + n, 'a', 256 - n - 4);
  sprintf(req + 256 - 4, "\r\n\r\n");
  assert_int_equal(strlen(req), 256);
  expect_server(&small, req, 1, 101);
  n = (size_t)sprintf(req, "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER "X: ");
  memset(req + n, 'a', 256 - n - 3);
  sprintf(req + 256 - 3, "\r\n\r\n");
  expect_server(&small, req, RTW_ERR_HTTP_HEAD_TOO_LARGE, 431);
  /* a 10 KB request line against the 8 KiB default */
  n = (size_t)sprintf(req, "GET /");
  memset(req + n, 'p', 10000);
  sprintf(req + n + 10000, " HTTP/1.1\r\n" HOST "\r\n");
  expect_server(&dflt, req, RTW_ERR_HTTP_HEAD_TOO_LARGE, 431);
}

/* ====================================================================== server: callback */

static void test_server_callback(void **state)
{
  srv_opts o = {MODE_REJECT, 0, 0};
  rtwt_log log;
  (void)state;
  expect_server(&o, RFC_REQ, RTW_ERR_HTTP_REJECTED, 403);
  o.mode = MODE_NOTFOUND;
  run_server(&o, RFC_REQ, strlen(RFC_REQ), &log);
  assert_non_null(strstr(log.buf, "rv=-310 status=404 nread=0\nHTTP/1.1 404 Not Found\\r\\n"));
  assert_non_null(strstr(log.buf, "Connection: close\\r\\n\\r\\n404 Not Found\\n"));
  rtwt_log_free(&log);
  o.mode = MODE_FAIL;
  expect_server(&o, RFC_REQ, RTW_ERR_CALLBACK_FAILURE, 500);
  o.mode = MODE_BAD_PROTO;
  run_server(&o, RFC_REQ, strlen(RFC_REQ), &log);
  assert_non_null(strstr(log.buf, "select=RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED\n"));
  assert_non_null(strstr(log.buf, "status=101"));
  assert_null(strstr(log.buf, "Sec-WebSocket-Protocol:"));
  rtwt_log_free(&log);
  o.mode = MODE_HEADERS;
  run_server(&o, RFC_REQ, strlen(RFC_REQ), &log);
  assert_non_null(strstr(log.buf, "hdr=RTW_OK\nhdr=RTW_ERR_HTTP_INVALID_HEADER\n"
                                  "hdr=RTW_ERR_HTTP_INVALID_HEADER\n"
                                  "hdr=RTW_ERR_HTTP_INVALID_HEADER\n"
                                  "hdr=RTW_ERR_HTTP_INVALID_HEADER\n"));
  assert_non_null(strstr(log.buf, "Set-Cookie: a=b\\r\\n\\r\\n"));
  assert_null(strstr(log.buf, "X-Evil"));
  rtwt_log_free(&log);
}

static void test_server_extensions(void **state)
{
  static const srv_opts o = {MODE_EXT, 0, 0};
  static const char req[] = "GET / HTTP/1.1\r\n" HOST UPG CON KEY VER
                            "Sec-WebSocket-Extensions: permessage-deflate; "
                            "client_max_window_bits, x-webkit-deflate-frame\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate; a=\"1,2\"\r\n\r\n";
  rtwt_log log;
  (void)state;
  run_server(&o, req, strlen(req), &log);
  assert_non_null(strstr(log.buf, "extension=permessage-deflate; client_max_window_bits\n"
                                  "extension=x-webkit-deflate-frame\n"
                                  "extension=permessage-deflate; a=\\\"1,2\\\"\n"));
  assert_non_null(strstr(log.buf, "ext=RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED\next=RTW_OK\n"));
  assert_non_null(
      strstr(log.buf, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"));
  rtwt_log_free(&log);
}

/* Decisions outside on_upgrade are refused. */
static void test_server_decisions_outside(void **state)
{
  rtw_ws_handshake_server *hs;
  (void)state;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_select_subprotocol(hs, "chat", 4),
                   RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_handshake_server_set_extensions(hs, "x", 1), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_handshake_server_add_header(hs, "X", 1, "v", 1),
                   RTW_ERR_INVALID_STATE);
  rtw_ws_handshake_server_free(hs);
}

/* ====================================================================== server: plain */

static void test_server_plain_requests(void **state)
{
  static const srv_opts o = {MODE_ACCEPT, 0, 0};
  static const char page[] = "GET /index.html?x=1&y HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n";
  static const char sse[] = "GET /events HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
                            "Last-Event-ID: 42\r\n\r\n";
  static const char post[] = "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na=b";
  static const char old[] = "GET /e?q HTTP/1.0\r\n\r\n";
  rtwt_log log;
  (void)state;
  run_server(&o, page, strlen(page), &log);
  assert_string_equal(log.buf, "rv=2 status=0 nread=62\nmethod=GET\npath=/index.html\n"
                               "query=x=1&y\nheaders=2\nsse=DONE\nsse.path=/index.html\n"
                               "sse.query=x=1&y\nsse.version=1.1 accepts=0 chunked=1\n");
  rtwt_log_free(&log);
  run_server(&o, sse, strlen(sse), &log);
  assert_string_equal(log.buf, "rv=2 status=0 nread=79\nmethod=GET\npath=/events\n"
                               "headers=3\nsse=DONE\nsse.path=/events\n"
                               "sse.last_event_id=42\nsse.version=1.1 accepts=1 chunked=1\n");
  rtwt_log_free(&log);
  /* HTTP/1.0: no Host needed, close-delimited */
  run_server(&o, old, strlen(old), &log);
  assert_string_equal(log.buf, "rv=2 status=0 nread=21\nmethod=GET\npath=/e\nquery=q\n"
                               "headers=0\nsse=DONE\nsse.path=/e\nsse.query=q\n"
                               "sse.version=1.0 accepts=1 chunked=0\n");
  rtwt_log_free(&log);
  /* the body is not consumed: it is the host's; as an SSE request a POST is refused */
  run_server(&o, post, strlen(post), &log);
  assert_non_null(strstr(log.buf, "rv=2 status=0 nread=51\nmethod=POST\npath=/form\n"));
  assert_non_null(strstr(log.buf, "sse=RTW_ERR_HTTP_BAD_METHOD\n"));
  rtwt_log_free(&log);
}

/* The view gives what a standalone rtw_sse_http_request fed the same bytes gives. */
static void compare_view(const char *req, int outcome)
{
  rtw_ws_handshake_server *hs;
  rtw_sse_http_request *alone;
  const rtw_sse_http_request *view;
  const char *p1, *p2;
  size_t n1, n2, nread;
  int a1, b1, a2, b2;

  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_sse_http_request_new(&alone, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, strlen(req), &nread),
                   RTW_WS_HANDSHAKE_PLAIN_REQUEST);
  assert_int_equal(rtw_sse_http_request_recv(alone, req, strlen(req), &nread), outcome);
  view = rtw_ws_handshake_server_plain_request(hs);
  assert_non_null(view);
  assert_int_equal(rtw_sse_http_request_outcome(view), outcome);
  assert_int_equal(rtw_sse_http_request_outcome(alone), outcome);
  assert_int_equal(rtw_sse_http_request_path(view, &p1, &n1),
                   rtw_sse_http_request_path(alone, &p2, &n2));
  if (outcome == RTW_SSE_HTTP_DONE) {
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1);
    assert_int_equal(rtw_sse_http_request_header(view, "x-a", 3, 1, &p1, &n1),
                     rtw_sse_http_request_header(alone, "x-a", 3, 1, &p2, &n2));
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1);
    assert_int_equal(rtw_sse_http_request_version(view, &a1, &b1), 0);
    assert_int_equal(rtw_sse_http_request_version(alone, &a2, &b2), 0);
    assert_int_equal(a1, a2);
    assert_int_equal(b1, b2);
    assert_int_equal(rtw_sse_http_request_accepts(view), rtw_sse_http_request_accepts(alone));
  }
  rtw_sse_http_request_free(alone);
  rtw_ws_handshake_server_free(hs);
}

static void test_server_plain_request_view(void **state)
{
  static const char two[] = "GET /events HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 7\r\n\r\n"
                            "GET /chat HTTP/1.1\r\n" HOST UPG CON KEY VER "\r\n";
  rtw_ws_handshake_server *hs;
  const rtw_sse_http_request *view;
  rtw_sse_history *hist;
  const char *p;
  size_t n, nread, first;
  uint64_t seq;
  int major, minor;
  (void)state;

  compare_view("GET /a?b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n", RTW_SSE_HTTP_DONE);
  compare_view("GET /a HTTP/1.0\r\nAccept: text/html\r\n\r\n", RTW_SSE_HTTP_DONE);
  compare_view("GET /a HTTP/1.1\r\n\r\n", RTW_ERR_HTTP_NO_HOST);
  compare_view("GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n",
               RTW_ERR_HTTP_UNEXPECTED_BODY);
  compare_view("GET /a HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n",
               RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID);
  compare_view("DELETE /a HTTP/1.1\r\nHost: h\r\n\r\n", RTW_ERR_HTTP_BAD_METHOD);

  assert_null(rtw_ws_handshake_server_plain_request(NULL));
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_version(hs, &major, &minor), 0); /* not yet */
  assert_int_equal(major, 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, two, 10, &nread), 0);
  assert_null(rtw_ws_handshake_server_plain_request(hs)); /* incomplete */
  assert_int_equal(rtw_ws_handshake_server_recv(hs, two + 10, strlen(two) - 10, &nread),
                   RTW_WS_HANDSHAKE_PLAIN_REQUEST);
  first = 10 + nread;
  view = rtw_ws_handshake_server_plain_request(hs);
  assert_non_null(view);
  assert_ptr_equal(view, rtw_ws_handshake_server_plain_request(hs)); /* the same view */
  assert_int_equal(rtw_ws_handshake_server_version(hs, &major, &minor), 1);
  assert_int_equal(major * 10 + minor, 11);
  assert_int_equal(rtw_sse_http_request_last_event_id(view, &p, &n), 1);
  assert_memory_equal(p, "7", n);
  assert_int_equal(rtw_sse_history_new(&hist, 0, 0, NULL), 0);
  assert_int_equal(rtw_sse_http_request_resume(view, hist, &seq), RTW_ERR_SSE_HISTORY_GAP);
  rtw_sse_history_free(hist);
  /* not fed, not freed through the SSE API: it belongs to hs */
  assert_int_equal(rtw_sse_http_request_recv((rtw_sse_http_request *)(uintptr_t)view, "x", 1,
                                             &nread),
                   RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_http_request_free((rtw_sse_http_request *)(uintptr_t)view); /* does nothing */
  assert_int_equal(rtw_sse_http_request_chunked(view), 1);
  /* reset: no plain request any more, and an upgrade has none */
  assert_int_equal(rtw_ws_handshake_server_reset(hs), 0);
  assert_null(rtw_ws_handshake_server_plain_request(hs));
  assert_int_equal(rtw_sse_http_request_outcome(view), RTW_SSE_HTTP_INCOMPLETE);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, two + first, strlen(two) - first, &nread),
                   RTW_WS_HANDSHAKE_DONE);
  assert_null(rtw_ws_handshake_server_plain_request(hs));
  assert_int_equal(rtw_ws_handshake_server_version(NULL, &major, &minor),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_version(NULL, &major, &minor), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_http_request_outcome(NULL), RTW_ERR_INVALID_ARGUMENT);
  rtw_ws_handshake_server_free(hs);
}

/* One connection: a page, then (after reset) an upgrade; absolute-form target. */
static void test_server_keepalive_reset(void **state)
{
  static const char two[] = "GET /app.js HTTP/1.1\r\nHost: h\r\n\r\n"
                            "GET ws://h/chat?a HTTP/1.1\r\n" HOST UPG CON KEY VER "\r\n";
  rtw_ws_handshake_server *hs;
  const char *p, *name;
  size_t n, nread, nl;
  (void)state;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_server_path(hs, &p, &n), 0); /* not yet */
  assert_int_equal(n, 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, two, strlen(two), &nread),
                   RTW_WS_HANDSHAKE_PLAIN_REQUEST);
  assert_int_equal(nread, 33);
  assert_int_equal(rtw_ws_handshake_server_path(hs, &p, &n), 1);
  assert_int_equal(n, 7);
  assert_memory_equal(p, "/app.js", 7);
  assert_int_equal(rtw_ws_handshake_server_header_at(hs, 0, &name, &nl, &p, &n), 1);
  assert_memory_equal(name, "Host", 4);
  assert_int_equal(rtw_ws_handshake_server_header_at(hs, 1, &name, &nl, &p, &n), 0);
  assert_int_equal(rtw_ws_handshake_server_header(hs, "HOST", 4, 0, &p, &n), 1);
  assert_int_equal(rtw_ws_handshake_server_header(hs, "host", 4, 1, &p, &n), 0);
  assert_int_equal(rtw_ws_handshake_server_response(hs, (const void **)&p, &n),
                   RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_handshake_server_reset(hs), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, two + 33, strlen(two) - 33, &nread),
                   RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, strlen(two) - 33);
  assert_int_equal(rtw_ws_handshake_server_path(hs, &p, &n), 1);
  assert_int_equal(n, 5);
  assert_memory_equal(p, "/chat", 5);
  assert_int_equal(rtw_ws_handshake_server_query(hs, &p, &n), 1);
  assert_memory_equal(p, "a", 1);
  assert_int_equal(rtw_ws_handshake_server_status(hs), 101);
  rtw_ws_handshake_server_free(hs);
}

static void test_server_arguments(void **state)
{
  rtw_ws_handshake_server_settings bad = {99};
  rtw_ws_handshake_server_callbacks badcb = {0};
  rtw_ws_handshake_server *hs;
  size_t nread;
  (void)state;
  assert_int_equal(rtw_ws_handshake_server_new(NULL, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, NULL, &bad, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, &badcb, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_recv(NULL, "x", 1, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_reset(NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_status(NULL), 0);
  assert_null(rtw_ws_handshake_server_user_data(NULL));
  rtw_ws_handshake_server_free(NULL);
}

/* ====================================================================== client */

static int fixed_random(rtw_ws_handshake_client *hs, void *buf, size_t len, void *ud)
{
  uint8_t *p = buf;
  size_t i;
  (void)hs;
  (void)ud;
  for (i = 0; i < len; i++)
    p[i] = (uint8_t)(i + 1); /* key AQIDBAUGBwgJCgsMDQ4PEA== */
  return 0;
}

static int failing_random(rtw_ws_handshake_client *hs, void *buf, size_t len, void *ud)
{
  (void)hs;
  (void)buf;
  (void)len;
  (void)ud;
  return -1;
}

static const rtw_http_header extra_headers[] = {{"User-Agent", 10, "rtweb-test", 10}};

static void client_settings(rtw_ws_handshake_client_settings *s)
{
  memset(s, 0, sizeof *s);
  s->version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION;
  s->host = "example.com:8080";
  s->host_len = 16;
  s->path = "/chat?room=1";
  s->path_len = 12;
  s->origin = "http://example.com";
  s->origin_len = 18;
  s->subprotocols = "chat, superchat";
  s->subprotocols_len = 15;
  s->extensions = "permessage-deflate; client_max_window_bits";
  s->extensions_len = 42;
  s->headers = extra_headers;
  s->num_headers = 1;
}

static rtw_ws_handshake_client *new_client(const rtw_mem *mem)
{
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_client *hs;
  client_settings(&s);
  cb.random = fixed_random;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, &cb, &s, mem, NULL), 0);
  return hs;
}

static void test_client_request(void **state)
{
  static const char expected[] =
      "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
      "Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
      "Sec-WebSocket-Protocol: chat, superchat\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
      "User-Agent: rtweb-test\r\n\r\n";
  rtw_ws_handshake_client *hs = new_client(NULL);
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_client *c2;
  const void *req;
  size_t len;
  (void)state;
  assert_int_equal(rtw_ws_handshake_client_request(hs, &req, &len), 0);
  assert_int_equal(len, strlen(expected));
  assert_memory_equal(req, expected, len);
  rtw_ws_handshake_client_free(hs);
  /* the default RNG: a fresh 24-character key, defaults for the path */
  memset(&s, 0, sizeof s);
  s.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION;
  s.host = "h";
  s.host_len = 1;
  assert_int_equal(rtw_ws_handshake_client_new(&c2, NULL, &s, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_request(c2, &req, &len), 0);
  assert_int_equal(len, strlen("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: "
                               "AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  assert_memory_equal(req, "GET / HTTP/1.1\r\n", 16);
  rtw_ws_handshake_client_free(c2);
}

static void test_client_bad_settings(void **state)
{
  static const rtw_http_header crlf[] = {{"X-A", 3, "a\r\nB: c", 7}};
  static const rtw_http_header nul[] = {{"X-A", 3, "a\0b", 3}};
  static const rtw_http_header lf[] = {{"X-A", 3, "a\nb", 3}};
  static const rtw_http_header badname[] = {{"X A", 3, "v", 1}};
  static const rtw_http_header emptyname[] = {{"", 0, "v", 1}};
  static const rtw_http_header reserved[] = {{"sec-websocket-key", 17, "v", 1}};
  static const rtw_http_header host[] = {{"Host", 4, "v", 1}};
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_client *hs;
  (void)state;
#define EXPECT_NEW(field_set, want)                                                         \
  do {                                                                                      \
    client_settings(&s);                                                                    \
    field_set;                                                                              \
    assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, &s, NULL, NULL), want);         \
    assert_null(hs);                                                                        \
  } while (0)
  EXPECT_NEW(s.headers = crlf, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = nul, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = lf, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = badname, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = emptyname, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = reserved, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW(s.headers = host, RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW((s.extensions = "a\r\nb", s.extensions_len = 4), RTW_ERR_HTTP_INVALID_HEADER);
  EXPECT_NEW((s.host = NULL, s.host_len = 0), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.host = "a b", s.host_len = 3), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.host = "a\r\n", s.host_len = 3), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.path = "chat", s.path_len = 4), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.path = "/a b", s.path_len = 4), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.origin = "x\ny", s.origin_len = 3), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.subprotocols = "chat, chat", s.subprotocols_len = 10), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.subprotocols = "a b", s.subprotocols_len = 3), RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW(s.version = 0, RTW_ERR_INVALID_ARGUMENT);
  EXPECT_NEW((s.headers = NULL, s.num_headers = 1), RTW_ERR_INVALID_ARGUMENT);
  client_settings(&s);
  cb.random = failing_random;
  assert_int_equal(rtw_ws_handshake_client_new(&hs, &cb, &s, NULL, NULL),
                   RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(rtw_ws_handshake_client_new(&hs, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
#undef EXPECT_NEW
}

static void client_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  rtw_ws_handshake_client *hs = new_client(NULL);
  size_t i, off = 0, total = 0, nread, n;
  const char *p;
  int rv = 0;

  (void)arg;
  (void)len;
  for (i = 0; i < npieces; i++) {
    rv = rtw_ws_handshake_client_recv(hs, in + off, pieces[i], &nread);
    total += nread;
    off += pieces[i];
    if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
      break;
  }
  rtwt_log_printf(log, "rv=%d status=%d nread=%zu\n", rv, rtw_ws_handshake_client_status(hs),
                  rv < 0 ? (size_t)0 : total);
  if (rtw_ws_handshake_client_subprotocol(hs, &p, &n) == 1)
    log_span(log, "subprotocol", p, n);
  for (i = 0; i < rtw_ws_handshake_client_extension_count(hs); i++) {
    assert_int_equal(rtw_ws_handshake_client_extension(hs, i, &p, &n), 1);
    log_span(log, "extension", p, n);
  }
  rtw_ws_handshake_client_free(hs);
}

static void expect_client(const char *resp, size_t len, int rv, int status)
{
  rtwt_log log;
  char want[64];
  size_t piece = len;
  rtwt_check_splits(client_feed, NULL, resp, len, NULL);
  rtwt_log_init(&log);
  client_feed(NULL, (const uint8_t *)resp, len, &piece, 1, &log);
  snprintf(want, sizeof want, "rv=%d status=%d ", rv, status);
  if (strncmp(log.buf, want, strlen(want)) != 0)
    fail_msg("response:\n%s\nwanted %s (%s), got:\n%s", resp, want, rtw_err_name(rv), log.buf);
  rtwt_log_free(&log);
}

#define ACC "Sec-WebSocket-Accept: C/0nmHhBztSRGR1CwL6Tf4ZjwpY=\r\n"
#define S101 "HTTP/1.1 101 Switching Protocols\r\n"

static void test_client_response(void **state)
{
  static const struct {
    const char *resp;
    int rv, status;
  } cases[] = {
      {S101 UPG CON ACC "\r\n", RTW_WS_HANDSHAKE_DONE, 101},
      {S101 "upgrade: WEBSOCKET\r\nconnection: keep-alive, UPGRADE\r\n"
            "sec-websocket-accept:  C/0nmHhBztSRGR1CwL6Tf4ZjwpY= \r\n"
            "Sec-WebSocket-Protocol: superchat\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
       RTW_WS_HANDSHAKE_DONE, 101},
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", RTW_ERR_HTTP_WS_BAD_STATUS, 200},
      {"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", RTW_ERR_HTTP_WS_BAD_STATUS, 302},
      {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_STATUS, 426},
      {"HTTP/1.0 101 Switching Protocols\r\n" UPG CON ACC "\r\n", RTW_ERR_HTTP_BAD_VERSION, 101},
      {S101 CON ACC "\r\n", RTW_ERR_HTTP_WS_NO_UPGRADE, 101},
      {S101 "Upgrade: h2c\r\n" CON ACC "\r\n", RTW_ERR_HTTP_WS_NO_UPGRADE, 101},
      {S101 UPG ACC "\r\n", RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE, 101},
      {S101 UPG CON "\r\n", RTW_ERR_HTTP_WS_BAD_ACCEPT, 101},
      {S101 UPG CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_ACCEPT, 101},
      {S101 UPG CON "Sec-WebSocket-Accept: c/0nmHhBztSRGR1CwL6Tf4ZjwpY=\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_ACCEPT, 101},
      {S101 UPG CON ACC ACC "\r\n", RTW_ERR_HTTP_WS_BAD_ACCEPT, 101},
      {S101 UPG CON ACC "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n",
       RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED, 101},
      {S101 UPG CON ACC "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
       RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED, 101},
      {S101 UPG CON ACC "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
       RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED, 101},
      {S101 UPG CON ACC "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
       RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED, 101},
      {S101 UPG CON ACC "Sec-WebSocket-Protocol: CHAT\r\n\r\n",
       RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED, 101},
      /* RFC 9110 15.2: interim (1xx) responses before the final one are parsed and skipped */
      {"HTTP/1.1 100 Continue\r\n\r\n" S101 UPG CON ACC "\r\n", RTW_WS_HANDSHAKE_DONE, 101},
      {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
       "HTTP/1.1 102 Processing\r\n\r\n" S101 UPG CON ACC "\r\n",
       RTW_WS_HANDSHAKE_DONE, 101},
      {"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n",
       RTW_ERR_HTTP_WS_BAD_STATUS, 403},
      {"HTTP/1.1 100 Continue\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n", RTW_ERR_HTTP_MALFORMED, 0},
      {"HTTP/1.1 1O1 Switching\r\n\r\n", RTW_ERR_HTTP_MALFORMED, 0},
      {"SSH-2.0-OpenSSH_9.2\r\n", RTW_ERR_HTTP_MALFORMED, 0},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_client(cases[i].resp, strlen(cases[i].resp), cases[i].rv, cases[i].status);
}

static void test_client_limits_and_frames(void **state)
{
  char resp[16384];
  size_t n, i, nread;
  rtw_ws_handshake_client *hs;
  static const char framed[] = S101 UPG CON ACC "\r\n\x81\x02hi";
  (void)state;
  n = (size_t)sprintf(resp, S101 UPG CON ACC);
  for (i = 0; i < 70; i++)
    n += (size_t)sprintf(resp + n, "X-%zu: v\r\n", i);
  sprintf(resp + n, "\r\n");
  expect_client(resp, strlen(resp), RTW_ERR_HTTP_TOO_MANY_HEADERS, 0);
  n = (size_t)sprintf(resp, S101 UPG CON ACC "X: ");
  memset(resp + n, 'a', 9000);
  sprintf(resp + n + 9000, "\r\n\r\n");
  expect_client(resp, strlen(resp), RTW_ERR_HTTP_HEAD_TOO_LARGE, 0);
  /* each interim response is held to the head limits on its own: many small ones pass,
   * one too large does not */
  for (n = 0, i = 0; i < 200; i++)
    n += (size_t)sprintf(resp + n, "HTTP/1.1 103 Early Hints\r\nLink: </%zu>\r\n\r\n", i);
  sprintf(resp + n, S101 UPG CON ACC "\r\n");
  assert_true(strlen(resp) > RTW_HTTP_DEFAULT_MAX_HEAD_SIZE);
  expect_client(resp, strlen(resp), RTW_WS_HANDSHAKE_DONE, 101);
  n = (size_t)sprintf(resp, "HTTP/1.1 103 Early Hints\r\nLink: ");
  memset(resp + n, 'a', 9000);
  sprintf(resp + n + 9000, "\r\n\r\n" S101 UPG CON ACC "\r\n");
  expect_client(resp, strlen(resp), RTW_ERR_HTTP_HEAD_TOO_LARGE, 0);
  /* the server's first frame right behind the 101 is left for the session */
  hs = new_client(NULL);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, framed, sizeof framed - 1, &nread),
                   RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, sizeof framed - 1 - 4);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, "x", 1, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, 0);
  rtw_ws_handshake_client_free(hs);
}

/* ====================================================================== round trip */

static int pick_superchat(rtw_ws_handshake_server *hs, void *ud)
{
  int rv;
  (void)ud;
  /* under the failing allocator these may fail with RTW_ERR_NOMEM: pass that on */
  rv = rtw_ws_handshake_server_select_subprotocol(hs, "superchat", 9);
  if (rv == 0)
    rv = rtw_ws_handshake_server_set_extensions(hs, "permessage-deflate", 18);
  return rv;
}

/* Our client against our server: request -> server -> response -> client. */
static void test_round_trip(void **state)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_server *srv;
  rtw_ws_handshake_client *cli;
  const void *req, *resp;
  const char *p;
  size_t len, rlen, nread;
  (void)state;
  client_settings(&s);
  assert_int_equal(rtw_ws_handshake_client_new(&cli, NULL, &s, NULL, NULL), 0);
  cb.on_upgrade = pick_superchat;
  assert_int_equal(rtw_ws_handshake_server_new(&srv, &cb, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_handshake_client_request(cli, &req, &len), 0);
  assert_int_equal(rtw_ws_handshake_server_recv(srv, req, len, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, len);
  assert_int_equal(rtw_ws_handshake_server_response(srv, &resp, &rlen), 0);
  assert_int_equal(rtw_ws_handshake_client_recv(cli, resp, rlen, &nread), RTW_WS_HANDSHAKE_DONE);
  assert_int_equal(nread, rlen);
  assert_int_equal(rtw_ws_handshake_client_subprotocol(cli, &p, &len), 1);
  assert_int_equal(len, 9);
  assert_memory_equal(p, "superchat", 9);
  assert_int_equal(rtw_ws_handshake_client_extension_count(cli), 1);
  rtw_ws_handshake_server_free(srv);
  rtw_ws_handshake_client_free(cli);
}

/* ====================================================================== allocation failures */

static int server_scenario(const rtw_mem *mem, void *arg)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  const char *req = arg;
  size_t nread, i;
  int rv;

  cb.on_upgrade = pick_superchat;
  rv = rtw_ws_handshake_server_new(&hs, &cb, NULL, mem, NULL);
  if (rv != 0)
    return rv;
  /* byte by byte, so buffers grow in many steps */
  for (i = 0, rv = 0; rv == 0 && req[i]; i++)
    rv = rtw_ws_handshake_server_recv(hs, req + i, 1, &nread);
  rtw_ws_handshake_server_free(hs);
  if (rv == RTW_ERR_NOMEM)
    return rv;
  assert_true(rv == RTW_WS_HANDSHAKE_DONE || rv == RTW_ERR_HTTP_WS_BAD_VERSION);
  return 0;
}

static int client_scenario(const rtw_mem *mem, void *arg)
{
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_client *hs;
  const char *resp = arg;
  size_t nread;
  int rv;

  client_settings(&s);
  cb.random = fixed_random;
  rv = rtw_ws_handshake_client_new(&hs, &cb, &s, mem, NULL);
  if (rv != 0)
    return rv;
  rv = rtw_ws_handshake_client_recv(hs, resp, strlen(resp), &nread);
  rtw_ws_handshake_client_free(hs);
  if (rv == RTW_ERR_NOMEM)
    return rv;
  assert_int_equal(rv, RTW_WS_HANDSHAKE_DONE);
  return 0;
}

static void test_alloc_failures(void **state)
{
  static const char req[] = "GET /chat HTTP/1.1\r\nHost: h\r\n" UPG CON KEY VER
                            "Sec-WebSocket-Protocol: chat, superchat\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                            "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  static const char req426[] = "GET / HTTP/1.1\r\nHost: h\r\n" UPG CON KEY
                               "Sec-WebSocket-Version: 7\r\n\r\n";
  (void)state;
  assert_true(rtwt_check_alloc_failures(server_scenario, (void *)req) >= 3);
  assert_true(rtwt_check_alloc_failures(server_scenario, (void *)req426) >= 2);
  assert_true(rtwt_check_alloc_failures(client_scenario, (void *)(S101 UPG CON ACC "\r\n")) >= 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept_rfc_example),
      cmocka_unit_test(test_server_rfc_example),
      cmocka_unit_test(test_server_frames_follow),
      cmocka_unit_test(test_server_real_clients),
      cmocka_unit_test(test_server_token_lists),
      cmocka_unit_test(test_server_invalid),
      cmocka_unit_test(test_server_error_responses),
      cmocka_unit_test(test_server_limits),
      cmocka_unit_test(test_server_callback),
      cmocka_unit_test(test_server_extensions),
      cmocka_unit_test(test_server_decisions_outside),
      cmocka_unit_test(test_server_plain_requests),
      cmocka_unit_test(test_server_plain_request_view),
      cmocka_unit_test(test_server_keepalive_reset),
      cmocka_unit_test(test_server_arguments),
      cmocka_unit_test(test_client_request),
      cmocka_unit_test(test_client_bad_settings),
      cmocka_unit_test(test_client_response),
      cmocka_unit_test(test_client_limits_and_frames),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
