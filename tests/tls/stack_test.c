/* SPDX-License-Identifier: MIT */
/* WebSocket and SSE stacked on rtw_tls, in memory: each layer's recv is the TLS on_data
 * (`return rtw_ws_recv(ws, data, len, used);`), each layer's output goes into
 * rtw_tls_writev() / rtw_tls_write(), as a host does (docs/tls.md). A WebSocket echo with
 * its closing handshake then close_notify, SSE over HTTP/1.1 chunked to the end of the
 * stream, and the client's whole ciphertext stream cut at every offset through the stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlst.h"
#include "gcm.h" /* rtw__gcm_test_mode() */
#include "rtweb/http.h"
#include "rtweb/sse.h"
#include "rtweb/ws.h"

/* ====================================================================== WebSocket */

typedef struct wsstack {
  tlst_end c, s;
  rtw_ws_handshake_server *hs_s;
  rtw_ws_handshake_client *hs_c;
  rtw_ws *ws_s, *ws_c;
  char request[1024];
  rtwt_log log; /* what the client's session saw, and the server's close */
  int server_messages;
} wsstack;

static int srv_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  wsstack *st = ud;

  st->server_messages++;
  return rtw_ws_queue_message(ws, opcode, data, len, 0); /* echo */
}

static int srv_close(rtw_ws *ws, int code, const char *reason, size_t len, void *ud)
{
  wsstack *st = ud;

  (void)ws;
  rtwt_log_printf(&st->log, "[server close %d ", code);
  rtwt_log_bytes(&st->log, reason, len);
  rtwt_log_printf(&st->log, "]");
  return 0;
}

static int cli_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  wsstack *st = ud;

  (void)ws;
  rtwt_log_printf(&st->log, "[%s %zu ", opcode == RTW_WS_OP_TEXT ? "text" : "binary", len);
  if (len <= 64)
    rtwt_log_bytes(&st->log, data, len);
  else
    rtwt_log_printf(&st->log, "...%02x", ((const unsigned char *)data)[len - 1]);
  rtwt_log_printf(&st->log, "]");
  return 0;
}

static int cli_close(rtw_ws *ws, int code, const char *reason, size_t len, void *ud)
{
  wsstack *st = ud;

  (void)ws;
  rtwt_log_printf(&st->log, "[client close %d ", code);
  rtwt_log_bytes(&st->log, reason, len);
  rtwt_log_printf(&st->log, "]");
  return 0;
}

static const rtw_ws_settings whole = {.version = RTW_WS_SETTINGS_VERSION,
                                      .flags = RTW_WS_FLAG_WHOLE_MESSAGES};

/* The server's TLS on_data: the handshake head, then the WebSocket session. */
static int ws_server_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  wsstack *st = e->arg;
  size_t n = 0, m = 0;

  if (st->ws_s == NULL) {
    rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
    const void *resp;
    size_t resp_len, took = 0;
    int rv = rtw_ws_handshake_server_recv(st->hs_s, data, len, &n);
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE) {
      *used = n;
      return 0;
    }
    assert_int_equal(rv, RTW_WS_HANDSHAKE_DONE);
    assert_int_equal(rtw_ws_handshake_server_response(st->hs_s, &resp, &resp_len), 0);
    assert_int_equal(rtw_tls_write(e->tls, resp, resp_len, &took), 0); /* from on_data */
    assert_int_equal(took, resp_len);
    cb.on_message = srv_message;
    cb.on_close = srv_close;
    assert_int_equal(rtw_ws_new(&st->ws_s, RTW_WS_ROLE_SERVER, &cb, &whole, NULL, st), 0);
  }
  {
    int rv = rtw_ws_recv(st->ws_s, (const char *)data + n, len - n, &m);
    *used = n + m;
    return rv;
  }
}

/* The client's TLS on_data: the 101 response, then the WebSocket session. */
static int ws_client_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  wsstack *st = e->arg;
  size_t n = 0, m = 0;
  int rv;

  if (st->ws_c == NULL) {
    rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
    rv = rtw_ws_handshake_client_recv(st->hs_c, data, len, &n);
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE) {
      *used = n;
      return 0;
    }
    assert_int_equal(rv, RTW_WS_HANDSHAKE_DONE);
    rtwt_log_printf(&st->log, "[101]");
    cb.on_message = cli_message;
    cb.on_close = cli_close;
    assert_int_equal(rtw_ws_new(&st->ws_c, RTW_WS_ROLE_CLIENT, &cb, &whole, NULL, st), 0);
  }
  rv = rtw_ws_recv(st->ws_c, (const char *)data + n, len - n, &m);
  *used = n + m;
  return rv;
}

/* The session's output into TLS: gather, encrypt, report what TLS took. */
static size_t ws_to_tls(rtw_ws *ws, tlst_end *e)
{
  rtw_iovec iov[16];
  size_t cnt = 0, took = 0, moved = 0;

  while (ws != NULL && rtw_ws_want_write(ws) &&
         (rtw_tls_state(e->tls) & RTW_TLS_STATE_HANDSHAKE_DONE) != 0) {
    assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 16, &cnt), 0);
    if (cnt == 0)
      break;
    assert_int_equal(rtw_tls_writev(e->tls, iov, cnt, &took), 0);
    if (took == 0)
      break;
    assert_int_equal(rtw_ws_send_consumed(ws, took), 0);
    moved += took;
  }
  return moved;
}

/* Move everything everywhere until nothing moves; returns the TLS pump's result. */
static int ws_pump(wsstack *st)
{
  int rv = 0, rounds;

  for (rounds = 0; rounds < 1000; rounds++) {
    size_t moved = ws_to_tls(st->ws_c, &st->c) + ws_to_tls(st->ws_s, &st->s);
    size_t before = st->c.received + st->s.received;
    rv = tlst_pump(&st->c, &st->s);
    if (rv != 0 || (moved == 0 && st->c.received + st->s.received == before))
      return rv;
  }
  fail_msg("ws_pump: no end");
  return -1;
}

static void ws_open(wsstack *st, rtw_tls_config *ccfg, rtw_tls_config *scfg,
                    const void *session, size_t session_len)
{
  rtw_ws_handshake_client_settings hcs = {.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  const void *req;
  size_t req_len;

  memset(st, 0, sizeof *st);
  rtwt_log_init(&st->log);
  tlst_end_init(&st->c, "client");
  tlst_end_init(&st->s, "server");
  hcs.host = "localhost";
  hcs.host_len = 9;
  hcs.path = "/echo";
  hcs.path_len = 5;
  assert_int_equal(rtw_ws_handshake_server_new(&st->hs_s, NULL, NULL, NULL, st), 0);
  assert_int_equal(rtw_ws_handshake_client_new(&st->hs_c, NULL, &hcs, NULL, st), 0);
  assert_int_equal(rtw_ws_handshake_client_request(st->hs_c, &req, &req_len), 0);
  assert_true(req_len < sizeof st->request);
  memcpy(st->request, req, req_len);
  st->c.hello = st->request; /* written into TLS as soon as its handshake completes */
  st->c.on_data = ws_client_data;
  st->c.arg = st;
  st->s.on_data = ws_server_data;
  st->s.arg = st;
  assert_int_equal(tlst_end_open(&st->c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&st->s, scfg, NULL, 0, NULL), 0);
  if (session != NULL)
    assert_int_equal(rtw_tls_set_session(st->c.tls, session, session_len), 0);
}

static void ws_close_all(wsstack *st)
{
  rtw_ws_free(st->ws_c);
  rtw_ws_free(st->ws_s);
  rtw_ws_handshake_client_free(st->hs_c);
  rtw_ws_handshake_server_free(st->hs_s);
  tlst_end_close(&st->c);
  tlst_end_close(&st->s);
  rtwt_log_free(&st->log);
}

static void websocket_over_tls(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  static unsigned char big[70000];
  static wsstack st;
  size_t i, sent_before;
  char expect[256];

  (void)state;
  for (i = 0; i < sizeof big; i++)
    big[i] = (unsigned char)(i * 7u);
  ws_open(&st, ccfg, scfg, NULL, 0);
  assert_int_equal(ws_pump(&st), 0);
  assert_non_null(st.ws_c);
  assert_non_null(st.ws_s);
  assert_string_equal(st.log.buf, "[101]");

  assert_int_equal(rtw_ws_queue_text(st.ws_c, "hello over TLS", 14), 0);
  assert_int_equal(rtw_ws_queue_binary(st.ws_c, big, sizeof big), 0);
  assert_int_equal(ws_pump(&st), 0);
  snprintf(expect, sizeof expect, "[101][text 14 hello over TLS][binary 70000 ...%02x]",
           big[sizeof big - 1]);
  assert_string_equal(st.log.buf, expect);

  /* a hundred small messages: writev packs their frames into a few records */
  rtwt_log_clear(&st.log);
  for (i = 0; i < 100; i++)
    assert_int_equal(rtw_ws_queue_text(st.ws_c, "tick", 4), 0);
  sent_before = st.c.sent;
  assert_int_equal(ws_pump(&st), 0);
  assert_int_equal(st.server_messages, 102);
  assert_int_equal(st.log.len, 100 * strlen("[text 4 tick]"));
  /* 100 masked frames of 10 bytes: 1000 bytes of plaintext, in one record, not 100 */
  assert_true(st.c.sent - sent_before < 1000 + 100);

  /* the closing handshake, then close_notify both ways */
  rtwt_log_clear(&st.log);
  assert_int_equal(rtw_ws_close(st.ws_c, RTW_WS_CLOSE_NORMAL, "bye", 3), 0);
  assert_int_equal(ws_pump(&st), 0);
  assert_string_equal(st.log.buf, "[server close 1000 bye][client close 1000 ]");
  assert_int_equal(rtw_ws_close_received(st.ws_s), RTW_WS_CLOSE_NORMAL);
  assert_int_equal(rtw_ws_close_received(st.ws_c), RTW_WS_CLOSE_NORMAL);
  assert_int_equal(rtw_ws_want_write(st.ws_s), 0);
  assert_int_equal(rtw_ws_want_read(st.ws_s), 0);
  assert_int_equal(rtw_tls_close(st.s.tls), 0);
  assert_int_equal(rtw_tls_close(st.c.tls), 0);
  assert_int_equal(ws_pump(&st), 0);
  assert_true((rtw_tls_state(st.c.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_true((rtw_tls_state(st.s.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_int_equal(rtw_tls_want_write(st.c.tls), 0);
  assert_int_equal(rtw_tls_want_write(st.s.tls), 0);
  assert_int_equal(rtw_tls_eof(st.c.tls), 0);
  assert_int_equal(rtw_tls_eof(st.s.tls), 0);
  ws_close_all(&st);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The server's session pauses its input (on_message returns RTW_ERR_PAUSE): TLS keeps the
 * rest and delivers it on the next rtw_tls_recv(), also one without input. */
static int srv_message_pause(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  int rv = srv_message(ws, opcode, data, len, ud);
  return rv != 0 ? rv : RTW_ERR_PAUSE;
}

static void websocket_pause_through_tls(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  static wsstack st;
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  static const unsigned char none[1];
  size_t used = 0;
  int i, rv;

  (void)state;
  ws_open(&st, ccfg, scfg, NULL, 0);
  assert_int_equal(ws_pump(&st), 0);
  /* swap the server session for one that pauses after each message */
  rtw_ws_free(st.ws_s);
  cb.on_message = srv_message_pause;
  assert_int_equal(rtw_ws_new(&st.ws_s, RTW_WS_ROLE_SERVER, &cb, &whole, NULL, &st), 0);
  for (i = 0; i < 3; i++)
    assert_int_equal(rtw_ws_queue_text(st.ws_c, "m", 1), 0);
  ws_to_tls(st.ws_c, &st.c);
  tlst_flush(&st.c, &st.s);
  rv = rtw_tls_recv(st.s.tls, st.s.wire, st.s.wire_len, &used);
  assert_int_equal(rv, RTW_ERR_PAUSE);
  assert_int_equal(st.server_messages, 1);
  assert_int_equal(used, st.s.wire_len); /* one record: TLS took it, keeps the plaintext */
  st.s.wire_len = 0;
  assert_int_equal(rtw_tls_recv(st.s.tls, none, 0, &used), RTW_ERR_PAUSE);
  assert_int_equal(st.server_messages, 2);
  assert_int_equal(rtw_tls_recv(st.s.tls, none, 0, &used), RTW_ERR_PAUSE);
  assert_int_equal(st.server_messages, 3);
  assert_int_equal(rtw_tls_recv(st.s.tls, none, 0, &used), 0);
  assert_int_equal(st.server_messages, 3);
  assert_int_equal(ws_pump(&st), 0);
  assert_string_equal(st.log.buf, "[101][text 1 m][text 1 m][text 1 m]");
  ws_close_all(&st);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The client's whole ciphertext stream (a resumed TLS handshake, the upgrade request, a
 * message, the close frame) reaches the server cut at every offset: the same exchange. */
static size_t ws_split_run(rtw_tls_config *ccfg, rtw_tls_config *scfg, const void *sess,
                           size_t sess_len, size_t cut, rtwt_log *out)
{
  static wsstack st;
  size_t total;
  int rv;

  ws_open(&st, ccfg, scfg, sess, sess_len);
  if (cut == SIZE_MAX)
    st.s.byte_by_byte = 1;
  else
    st.s.cut_at = cut;
  rv = ws_pump(&st);
  if (rv == 0 && st.ws_c != NULL) {
    assert_int_equal(rtw_ws_queue_text(st.ws_c, "split me", 8), 0);
    assert_int_equal(rtw_ws_close(st.ws_c, RTW_WS_CLOSE_NORMAL, "done", 4), 0);
    rv = ws_pump(&st);
  }
  rtwt_log_printf(out, "rv=%d resumed=%d msgs=%d %s", rv, rtw_tls_resumed(st.s.tls),
                  st.server_messages, st.log.buf);
  total = st.s.received;
  ws_close_all(&st);
  return total;
}

static void websocket_split_sweep(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  unsigned char sess[4096];
  size_t sess_len = 0, total, cut;
  rtwt_log ref, got;
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  rtwt_log_init(&ref);
  rtwt_log_init(&got);
  total = ws_split_run(ccfg, scfg, sess, sess_len, 0, &ref);
  /* the server's close answers with the code only; the echo was on its way before it */
  assert_string_equal(ref.buf, "rv=0 resumed=1 msgs=1 [101][server close 1000 done]"
                               "[text 8 split me][client close 1000 ]");
  assert_true(total > 500); /* hello, Finished, the upgrade request, two frames */
  for (cut = 1; cut <= total; cut++) {
    rtwt_log_clear(&got);
    assert_int_equal(ws_split_run(ccfg, scfg, sess, sess_len, cut, &got), total);
    if (strcmp(ref.buf, got.buf) != 0)
      fail_msg("cut at %zu of %zu:\n  whole: %s\n  split: %s", cut, total, ref.buf, got.buf);
  }
  rtwt_log_clear(&got);
  assert_int_equal(ws_split_run(ccfg, scfg, sess, sess_len, SIZE_MAX, &got), total);
  assert_string_equal(ref.buf, got.buf);
  rtwt_log_free(&ref);
  rtwt_log_free(&got);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== SSE */

typedef struct ssestack {
  tlst_end c, s;
  rtw_sse_http_request *req;
  rtw_ws_handshake_server *hs; /* when set, the server parses with it (as rtwcat serve) */
  rtw_sse_stream *stream;
  rtw_sse_http_client *client;
  rtw_sse_parser *parser;
  char request[1024];
  rtwt_log log;
  int outcome; /* the client's last rtw_sse_http_client_recv() outcome */
} ssestack;

static int sse_server_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  ssestack *st = e->arg;
  rtw_sse_stream_settings ss = {.version = RTW_SSE_STREAM_SETTINGS_VERSION};
  int rv;

  if (st->stream != NULL) { /* nothing more is expected from the client */
    *used = len;
    return 0;
  }
  ss.flags = RTW_SSE_STREAM_FLAG_NO_HEARTBEAT;
  ss.retry_ms = 1500;
  if (st->hs != NULL) {
    /* one port for wss:// and https://: not an upgrade, so a plain request, served as SSE */
    const rtw_sse_http_request *view;
    rv = rtw_ws_handshake_server_recv(st->hs, data, len, used);
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
      return 0;
    assert_int_equal(rv, RTW_WS_HANDSHAKE_PLAIN_REQUEST);
    view = rtw_ws_handshake_server_plain_request(st->hs);
    assert_non_null(view);
    assert_int_equal(rtw_sse_http_request_outcome(view), RTW_SSE_HTTP_DONE);
    assert_int_equal(rtw_sse_stream_new(&st->stream, view, NULL, NULL, &ss, NULL, st), 0);
    return 0;
  }
  rv = rtw_sse_http_request_recv(st->req, data, len, used);
  if (rv == RTW_SSE_HTTP_INCOMPLETE)
    return 0;
  assert_int_equal(rv, RTW_SSE_HTTP_DONE);
  assert_int_equal(rtw_sse_stream_new(&st->stream, st->req, NULL, NULL, &ss, NULL, st), 0);
  return 0;
}

static int sse_client_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  ssestack *st = e->arg;
  size_t off = 0, n = 0;

  while (off < len) {
    st->outcome = rtw_sse_http_client_recv(st->client, (const char *)data + off, len - off, &n);
    off += n;
    if (st->outcome != RTW_SSE_HTTP_DONE)
      break;
    rtwt_log_printf(&st->log, "[open %d]", rtw_sse_http_client_status(st->client));
  }
  *used = off;
  return st->outcome < 0 ? st->outcome : 0;
}

static int sse_on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  ssestack *st = ud;

  (void)p;
  rtwt_log_printf(&st->log, "[");
  rtwt_log_bytes(&st->log, ev->type, ev->type_len);
  rtwt_log_printf(&st->log, " id=");
  rtwt_log_bytes(&st->log, ev->id, ev->id_len);
  rtwt_log_printf(&st->log, " ");
  rtwt_log_bytes(&st->log, ev->data, ev->data_len);
  rtwt_log_printf(&st->log, "]");
  return 0;
}

static int sse_on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  ssestack *st = ud;

  (void)p;
  rtwt_log_printf(&st->log, "[retry %u]", (unsigned)ms);
  return 0;
}

static size_t stream_to_tls(ssestack *st)
{
  size_t moved = 0;

  while (st->stream != NULL && rtw_sse_stream_want_write(st->stream)) {
    const void *p;
    size_t n = 0, took = 0;
    assert_int_equal(rtw_sse_stream_send_pending(st->stream, &p, &n), 0);
    if (n == 0)
      break;
    assert_int_equal(rtw_tls_write(st->s.tls, p, n, &took), 0);
    if (took == 0)
      break;
    assert_int_equal(rtw_sse_stream_send_consumed(st->stream, took), 0);
    moved += took;
  }
  return moved;
}

static int sse_pump(ssestack *st)
{
  int rv = 0, rounds;

  for (rounds = 0; rounds < 1000; rounds++) {
    size_t moved = stream_to_tls(st);
    size_t before = st->c.received + st->s.received;
    rv = tlst_pump(&st->c, &st->s);
    if (rv != 0 || (moved == 0 && st->c.received + st->s.received == before))
      return rv;
  }
  fail_msg("sse_pump: no end");
  return -1;
}

static void sse_open(ssestack *st, rtw_tls_config *ccfg, rtw_tls_config *scfg,
                     const void *session, size_t session_len)
{
  rtw_sse_http_client_settings cs = {.version = RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_callbacks pcb = {.version = RTW_SSE_CALLBACKS_VERSION};
  const void *req;
  size_t req_len;

  memset(st, 0, sizeof *st);
  rtwt_log_init(&st->log);
  tlst_end_init(&st->c, "client");
  tlst_end_init(&st->s, "server");
  pcb.on_event = sse_on_event;
  pcb.on_retry = sse_on_retry;
  assert_int_equal(rtw_sse_parser_new(&st->parser, &pcb, NULL, NULL, st), 0);
  cs.host = "localhost";
  cs.host_len = 9;
  cs.path = "/events";
  cs.path_len = 7;
  assert_int_equal(rtw_sse_http_client_new(&st->client, &cs, st->parser, NULL), 0);
  assert_int_equal(rtw_sse_http_client_request(st->client, &req, &req_len), 0);
  assert_true(req_len < sizeof st->request);
  memcpy(st->request, req, req_len);
  assert_int_equal(rtw_sse_http_request_new(&st->req, NULL, NULL), 0);
  st->c.hello = st->request;
  st->c.on_data = sse_client_data;
  st->c.arg = st;
  st->s.on_data = sse_server_data;
  st->s.arg = st;
  assert_int_equal(tlst_end_open(&st->c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&st->s, scfg, NULL, 0, NULL), 0);
  if (session != NULL)
    assert_int_equal(rtw_tls_set_session(st->c.tls, session, session_len), 0);
}

static void sse_close_all(ssestack *st)
{
  rtw_sse_stream_free(st->stream);
  rtw_sse_http_request_free(st->req);
  rtw_ws_handshake_server_free(st->hs);
  rtw_sse_http_client_free(st->client);
  rtw_sse_parser_free(st->parser);
  tlst_end_close(&st->c);
  tlst_end_close(&st->s);
  rtwt_log_free(&st->log);
}

static void send_event(ssestack *st, const char *type, const char *id, const char *data)
{
  rtw_sse_event ev;

  memset(&ev, 0, sizeof ev);
  ev.type = type;
  ev.type_len = type != NULL ? strlen(type) : 0;
  ev.id = id;
  ev.id_len = id != NULL ? strlen(id) : 0;
  ev.data = data;
  ev.data_len = strlen(data);
  assert_int_equal(rtw_sse_stream_send(st->stream, &ev), 0);
}

static void sse_over_tls(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  static ssestack st;
  static char big[40000];

  (void)state;
  sse_open(&st, ccfg, scfg, NULL, 0);
  assert_int_equal(sse_pump(&st), 0);
  assert_non_null(st.stream);
  assert_string_equal(st.log.buf, "[open 200][retry 1500]");

  rtwt_log_clear(&st.log);
  send_event(&st, NULL, "1", "first");
  send_event(&st, "chat", "2", "two\nlines");
  memset(big, 'x', sizeof big - 1); /* over two records */
  send_event(&st, NULL, "3", big);
  assert_int_equal(sse_pump(&st), 0);
  assert_int_equal(st.outcome, RTW_SSE_HTTP_INCOMPLETE);
  assert_non_null(strstr(st.log.buf, "[message id=1 first][chat id=2 two\\nlines][message id=3 xxx"));
  assert_int_equal(st.log.len, strlen("[message id=1 first][chat id=2 two\\nlines][message id=3 ]") +
                                   sizeof big - 1);

  /* the stream ends (last chunk), then close_notify */
  rtwt_log_clear(&st.log);
  assert_int_equal(rtw_sse_stream_end(st.stream), 0);
  assert_int_equal(sse_pump(&st), 0);
  assert_int_equal(st.outcome, RTW_SSE_HTTP_END);
  assert_int_equal(rtw_sse_stream_done(st.stream), 1);
  assert_int_equal(rtw_tls_close(st.s.tls), 0);
  assert_int_equal(sse_pump(&st), 0);
  assert_true((rtw_tls_state(st.c.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_int_equal(rtw_tls_eof(st.c.tls), 0);
  sse_close_all(&st);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The server parses with the WebSocket handshake server, as a host serving wss:// and
 * https:// on one port does: the SSE request comes out as a plain request. */
static void sse_via_handshake_server(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  static ssestack st;

  (void)state;
  sse_open(&st, ccfg, scfg, NULL, 0);
  assert_int_equal(rtw_ws_handshake_server_new(&st.hs, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(sse_pump(&st), 0);
  assert_non_null(st.stream);
  send_event(&st, "hi", "7", "over one port");
  assert_int_equal(rtw_sse_stream_end(st.stream), 0);
  assert_int_equal(sse_pump(&st), 0);
  assert_string_equal(st.log.buf, "[open 200][retry 1500][hi id=7 over one port]");
  assert_int_equal(st.outcome, RTW_SSE_HTTP_END);
  sse_close_all(&st);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The server's whole ciphertext stream (a resumed handshake, the response head, two events,
 * the last chunk) reaches the client cut at every offset: the same events. */
static size_t sse_split_run(rtw_tls_config *ccfg, rtw_tls_config *scfg, const void *sess,
                            size_t sess_len, size_t cut, rtwt_log *out)
{
  static ssestack st;
  size_t total;
  int rv;

  sse_open(&st, ccfg, scfg, sess, sess_len);
  if (cut == SIZE_MAX)
    st.c.byte_by_byte = 1;
  else
    st.c.cut_at = cut;
  rv = sse_pump(&st);
  if (rv == 0 && st.stream != NULL) {
    send_event(&st, NULL, "a", "alpha");
    send_event(&st, "b", NULL, "beta");
    assert_int_equal(rtw_sse_stream_end(st.stream), 0);
    rv = sse_pump(&st);
  }
  rtwt_log_printf(out, "rv=%d outcome=%d %s", rv, st.outcome, st.log.buf);
  total = st.c.received;
  sse_close_all(&st);
  return total;
}

static void sse_split_sweep(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  unsigned char sess[4096];
  size_t sess_len = 0, total, cut;
  rtwt_log ref, got;
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  rtwt_log_init(&ref);
  rtwt_log_init(&got);
  total = sse_split_run(ccfg, scfg, sess, sess_len, 0, &ref);
  assert_string_equal(ref.buf, "rv=0 outcome=2 [open 200][retry 1500][message id=a alpha]"
                               "[b id=a beta]");
  assert_true(total > 300); /* server hello, ticket, Finished, head, events, last chunk */
  for (cut = 1; cut <= total; cut++) {
    rtwt_log_clear(&got);
    assert_int_equal(sse_split_run(ccfg, scfg, sess, sess_len, cut, &got), total);
    if (strcmp(ref.buf, got.buf) != 0)
      fail_msg("cut at %zu of %zu:\n  whole: %s\n  split: %s", cut, total, ref.buf, got.buf);
  }
  rtwt_log_clear(&got);
  assert_int_equal(sse_split_run(ccfg, scfg, sess, sess_len, SIZE_MAX, &got), total);
  assert_string_equal(ref.buf, got.buf);
  rtwt_log_free(&ref);
  rtwt_log_free(&got);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(websocket_over_tls),
      cmocka_unit_test(websocket_pause_through_tls),
      cmocka_unit_test(websocket_split_sweep),
      cmocka_unit_test(sse_over_tls),
      cmocka_unit_test(sse_via_handshake_server),
      cmocka_unit_test(sse_split_sweep),
  };
  /* --record-path: every case again with rtweb's own TLS 1.2 record layer taking over
   * after the handshake (the portable AES-GCM stands in for the fast kernels); without it,
   * mbedTLS protects the records whatever the CPU. */
  rtw__gcm_test_mode(argc > 1 && strcmp(argv[1], "--record-path") == 0 ? 1 : 0);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
