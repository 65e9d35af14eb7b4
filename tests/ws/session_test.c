/* SPDX-License-Identifier: MIT */
/* WebSocket session tests for everything in ws.h outside the Autobahn sections: roles and
 * masking, limits checked at the header, delivery modes, pause, sticky errors, the closing
 * handshake states, the outbound queue (gather output, partial writes, NOCOPY, budget,
 * streamed sends), timers, and allocation failures. Each test cites the RFC 6455 section
 * (or the ws.h contract) it checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY
#define CONT RTW_WS_OP_CONTINUATION
#define PING RTW_WS_OP_PING
#define PONG RTW_WS_OP_PONG
#define CLOSE RTW_WS_OP_CLOSE

#define OPEN "end(read=1,sent=0,recvd=0)\n"
#define FAILED(err, code) "error(" #err ")\nout:close(" #code ")\nend(read=0,sent=" #code ",recvd=0)\n"
#define PROTO(err) FAILED(err, 1002)

static const wst_opts server = {RTW_WS_ROLE_SERVER};
static const wst_opts client = {RTW_WS_ROLE_CLIENT};

/* Frames from the peer of a session in the role of o: masked when we are the server. */
static int peer_masks(const wst_opts *o)
{
  return o->role == RTW_WS_ROLE_SERVER;
}

static void frs(wst_buf *b, const wst_opts *o, int fin, unsigned op, const char *s)
{
  wst_frame_str(b, peer_masks(o), fin, op, s);
}

/* Sum of the pending bytes, without consuming them. */
static size_t pending_total(rtw_ws *ws)
{
  rtw_iovec iov[1024];
  size_t count = 0, i, total = 0;

  assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 1024, &count), 0);
  assert_true(count < 1024);
  for (i = 0; i < count; i++)
    total += iov[i].len;
  return total;
}

/* Feed all of `in` in one call; returns the value, requires everything consumed on 0. */
static int recv_all(rtw_ws *ws, const wst_buf *in)
{
  size_t nread = 0;
  int rv = rtw_ws_recv(ws, in->p, in->len, &nread);

  if (rv == 0)
    assert_int_equal(nread, in->len);
  else
    assert_true(nread <= in->len);
  return rv;
}

/* Parse what r->out holds (after draining) and log the frames into a fresh log. */
static void out_log(wst_run *r, rtwt_log *log)
{
  wst_oframes of;
  size_t i;

  assert_int_equal(wst_pump(r), 0);
  rtwt_log_clear(log);
  wst_parse_out(r->out.p, r->out.len, r->o->role == RTW_WS_ROLE_CLIENT, &of);
  for (i = 0; i < of.n; i++)
    wst_log_oframe(log, &of.f[i]);
  wst_oframes_free(&of);
}

static void expect_out(wst_run *r, const char *expected)
{
  rtwt_log log;

  rtwt_log_init(&log);
  out_log(r, &log);
  if (strcmp(log.buf, expected) != 0)
    wst_fail("--- expected output:\n%s--- got:\n%s", expected, log.buf);
  rtwt_log_free(&log);
}

/* ================================================================== API arguments */

static void *fm_malloc(size_t n, void *ud)
{
  (void)ud;
  return malloc(n);
}

/* ws.h rtw_ws_new and STYLE "Public entry points check their arguments and return
 * RTW_ERR_INVALID_ARGUMENT rather than crash"; a fresh session's state. */
static void api_arguments(void **state)
{
  rtw_ws *ws = NULL;
  rtw_mem partial;
  int marker;
  size_t nread = 7, n = 7, count = 7;
  const void *d = NULL;
  rtw_iovec iov[2];

  (void)state;
  assert_int_equal(rtw_ws_new(NULL, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_new(&ws, 2, NULL, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_new(&ws, -1, NULL, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  memset(&partial, 0, sizeof partial);
  partial.malloc_fn = fm_malloc; /* common.h: "When given, all four functions must be set" */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, &partial, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  rtw_ws_free(NULL);

  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, &marker), 0);
  assert_ptr_equal(rtw_ws_user_data(ws), &marker);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 0);
  assert_int_equal(rtw_ws_close_received(ws), 0);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);

  assert_int_equal(rtw_ws_recv(NULL, "x", 1, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_recv(ws, NULL, 1, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_recv(ws, "x", 1, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_recv(ws, "", 0, &nread), 0);
  assert_int_equal(nread, 0);

  assert_int_equal(rtw_ws_send_pending(NULL, &d, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending(ws, NULL, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending(ws, &d, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_ws_send_pending_iov(NULL, iov, 2, &count), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending_iov(ws, NULL, 2, &count), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 2, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 2, &count), 0);
  assert_int_equal(count, 0);
  assert_int_equal(rtw_ws_send_consumed(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_send_consumed(ws, 0), 0);
  assert_int_equal(rtw_ws_send_consumed(ws, 1), RTW_ERR_INVALID_ARGUMENT);

  assert_int_equal(rtw_ws_queue_message(NULL, TEXT, "a", 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_message(ws, PING, "a", 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_message(ws, CONT, "a", 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_message(ws, 3, "a", 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_message(ws, TEXT, NULL, 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_text(NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_binary(NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_fragment(NULL, TEXT, "a", 1, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_fragment(ws, PING, "a", 1, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_fragment(ws, CONT, "a", 1, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_ping(NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_ping(ws, NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_pong(NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_close(NULL, 1000, NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_tick(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  /* nothing of that queued anything */
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 0);
  rtw_ws_free(ws);
}

/* ================================================================== roles and masking */

/* RFC 6455 5.1: "A server MUST NOT mask any frames that it sends to the client"; the client
 * accepts them, answers a ping and a close with masked frames (5.3), keys from the host's
 * random callback (10.3). */
static void client_accepts_unmasked(void **state)
{
  static const uint8_t bin[] = {0, 1, 2, 0xff};
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  frs(&in, &client, 1, TEXT, "hello");
  wst_frame(&in, 0, 1, BIN, bin, sizeof bin);
  frs(&in, &client, 0, TEXT, "frag");
  frs(&in, &client, 1, PING, "ping");
  frs(&in, &client, 1, CONT, "ment");
  wst_close_frame(&in, 0, 1000, "bye", 3);
  wst_check(&client, in.p, in.len,
            "msg(text,\"hello\")\nmsg(binary,\"\\x00\\x01\\x02\\xFF\")\nping(\"ping\")\n"
            "msg(text,\"fragment\")\nclose(1000,\"bye\")\nout:pong(\"ping\")\nout:close(1000)\n"
            "end(read=1,sent=1000,recvd=1000)\n"); /* 7.1.1: a client waits for the EOF */
  wst_buf_free(&in);
}

/* RFC 6455 5.1: "A client MUST close a connection if it detects a masked frame" -> 1002 with
 * RTW_ERR_WS_MASK_FORBIDDEN; the close it sends is itself masked (checked by the parser). */
static void client_rejects_masked(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "masked");
  wst_check(&client, in.p, in.len, PROTO(RTW_ERR_WS_MASK_FORBIDDEN));
  wst_buf_clear(&in);
  frs(&in, &client, 1, TEXT, "fine");
  wst_frame_str(&in, 1, 1, PING, "masked ping");
  wst_check(&client, in.p, in.len, "msg(text,\"fine\")\n" PROTO(RTW_ERR_WS_MASK_FORBIDDEN));
  wst_buf_free(&in);
}

/* RFC 6455 5.1: "The server MUST close the connection upon receiving a frame that is not
 * masked" -> 1002 with RTW_ERR_WS_MASK_REQUIRED, for data and control frames. */
static void server_rejects_unmasked(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  wst_frame_str(&in, 0, 1, TEXT, "unmasked");
  wst_check(&server, in.p, in.len, PROTO(RTW_ERR_WS_MASK_REQUIRED));
  wst_buf_clear(&in);
  wst_frame_str(&in, 0, 1, PING, "");
  wst_check(&server, in.p, in.len, PROTO(RTW_ERR_WS_MASK_REQUIRED));
  wst_buf_clear(&in);
  wst_close_frame(&in, 0, 1000, NULL, 0);
  wst_check(&server, in.p, in.len, PROTO(RTW_ERR_WS_MASK_REQUIRED));
  wst_buf_clear(&in);
  frs(&in, &server, 0, TEXT, "masked first");
  wst_frame_str(&in, 0, 1, CONT, "unmasked continuation");
  wst_check(&server, in.p, in.len, PROTO(RTW_ERR_WS_MASK_REQUIRED));
  wst_buf_free(&in);
}

/* RFC 6455 5.3: every client frame is masked with a fresh key from the host's random source
 * (checked frame by frame by wst_finish), and ARCHITECTURE "nothing the caller passed in is
 * modified": the caller's buffers are unchanged and never handed out as output, NOCOPY
 * included (ws.h: "In the client role the payload is still copied ... and released at
 * once"). */
static void client_masks_without_touching_caller_buffers(void **state)
{
  static const char text[] = "hello, masked world";
  uint8_t *big = wst_pattern(10000, 0, 1), *copy = malloc(10000);
  wst_opts o = client;
  wst_run r;
  rtwt_log log;
  rtw_iovec iov[4];
  size_t count, i;

  (void)state;
  assert_non_null(copy);
  memcpy(copy, big, 10000);
  o.fragment_size = 4000;
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, text, sizeof text - 1), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, big, 10000), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, big, 100, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(r.released, 1);
  assert_ptr_equal(r.released_ptr, big);
  assert_int_equal(r.released_len, 100);
  assert_int_equal(rtw_ws_queue_ping(r.ws, "p", 1), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, text, 5, 0), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, text + 5, 3, 1), 0);
  assert_int_equal(rtw_ws_close(r.ws, 1000, "done", 4), 0);
  /* no output element points into the caller's memory */
  while (rtw_ws_want_write(r.ws)) {
    size_t total = 0;
    assert_int_equal(rtw_ws_send_pending_iov(r.ws, iov, 4, &count), 0);
    for (i = 0; i < count; i++) {
      const uint8_t *b = iov[i].base;
      assert_false(b >= big && b < big + 10000);
      assert_false(b >= (const uint8_t *)text && b < (const uint8_t *)text + sizeof text);
      wst_buf_put(&r.out, b, iov[i].len);
      total += iov[i].len;
    }
    assert_int_equal(rtw_ws_send_consumed(r.ws, total), 0);
  }
  assert_memory_equal(big, copy, 10000);
  wst_finish(&r);
  rtwt_log_clear(&log); /* wst_finish checked masks and keys; now the content */
  {
    wst_oframes of;
    wst_parse_out(r.out.p, r.out.len, 1, &of);
    wst_oframe *d[16];
    size_t nd = 0, pings = 0;
    assert_int_equal(of.n, 1 + 3 + 1 + 1 + 2 + 1);
    for (i = 0; i < of.n; i++) {
      if (of.f[i].opcode == PING)
        pings++;
      else if (of.f[i].opcode != CLOSE)
        d[nd++] = &of.f[i];
    }
    assert_int_equal(pings, 1);
    assert_int_equal(nd, 7);
    assert_memory_equal(d[0]->data, text, sizeof text - 1);
    assert_memory_equal(d[1]->data, big, 4000);
    assert_memory_equal(d[2]->data, big + 4000, 4000);
    assert_memory_equal(d[3]->data, big + 8000, 2000);
    assert_int_equal(d[4]->opcode, BIN);
    assert_memory_equal(d[4]->data, big, 100);
    assert_memory_equal(d[5]->data, text, 5);
    assert_memory_equal(d[6]->data, text + 5, 3);
    assert_int_equal(of.f[of.n - 1].opcode, CLOSE);
    /* RFC 6455 5.3: keys differ from frame to frame */
    for (i = 1; i < of.n; i++)
      assert_memory_not_equal(of.f[i].key, of.f[i - 1].key, 4);
    wst_oframes_free(&of);
  }
  wst_stop(&r);
  assert_int_equal(r.released, 1);
  rtwt_log_free(&log);
  free(big);
  free(copy);
}

/* ws.h rsv_allowed: only the negotiated RSV bits may be set; the others still fail with 1002
 * (RFC 6455 5.2). */
static void rsv_allowed_only_those_bits(void **state)
{
  wst_opts o = server;
  wst_buf in;
  wst_hdr h;

  (void)state;
  o.rsv_allowed = RTW_WS_RSV1;
  wst_buf_init(&in);
  memset(&h, 0, sizeof h);
  h.fin = 1;
  h.opcode = TEXT;
  h.masked = 1;
  h.rsv = RTW_WS_RSV2;
  wst_put_frame(&in, &h, "abc", 3);
  wst_check(&o, in.p, in.len, PROTO(RTW_ERR_WS_RESERVED_BITS));
  wst_buf_clear(&in);
  h.rsv = RTW_WS_RSV3;
  wst_put_frame(&in, &h, "abc", 3);
  wst_check(&o, in.p, in.len, PROTO(RTW_ERR_WS_RESERVED_BITS));
  wst_buf_free(&in);
}

/* ================================================================== limits */

static void header_only(wst_buf *b, int masked, int fin, unsigned op, uint64_t len, int form)
{
  wst_hdr h;

  memset(&h, 0, sizeof h);
  h.fin = fin;
  h.opcode = op;
  h.masked = masked;
  h.len_form = form;
  wst_key(99, h.key);
  wst_put_header(b, &h, len);
}

/* ws.h max_frame_size and ARCHITECTURE "checked before allocating (a frame header announcing
 * 2 GiB fails at the header, not at malloc)": only the header is fed, and the session has
 * already failed with 1009 (RFC 6455 7.4.1: "a message that is too big for it to process"). */
static void limit_frame_size_at_header(void **state)
{
  wst_opts o = server;
  uint8_t *p = wst_pattern(1000, 0, 2);
  wst_buf in;
  rtwt_log exp;

  (void)state;
  o.max_frame_size = 1000;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  header_only(&in, 1, 1, BIN, 1001, WST_LEN_MIN);
  wst_check(&o, in.p, in.len, FAILED(RTW_ERR_WS_FRAME_TOO_LARGE, 1009));
  /* a fragment over the frame limit, the message so far under it */
  wst_buf_clear(&in);
  wst_frame(&in, 1, 0, BIN, p, 10);
  header_only(&in, 1, 1, CONT, 1001, WST_LEN_MIN);
  wst_check(&o, in.p, in.len, FAILED(RTW_ERR_WS_FRAME_TOO_LARGE, 1009));
  /* exactly the limit is fine, in one frame and in two full-size fragments */
  wst_buf_clear(&in);
  wst_frame(&in, 1, 1, BIN, p, 1000);
  wst_log_msg(&exp, BIN, p, 1000);
  rtwt_log_printf(&exp, OPEN);
  wst_check(&o, in.p, in.len, exp.buf);
  /* the defaults: a 64-bit length of 2^40 fails at its 14-byte header */
  wst_buf_clear(&in);
  header_only(&in, 1, 1, TEXT, (uint64_t)1 << 40, WST_LEN_MIN);
  assert_int_equal(in.len, 14);
  wst_check(&server, in.p, in.len, FAILED(RTW_ERR_WS_FRAME_TOO_LARGE, 1009));
  /* client role: same rule, 10-byte unmasked header */
  wst_buf_clear(&in);
  header_only(&in, 0, 1, BIN, (uint64_t)1 << 33, WST_LEN_MIN);
  wst_check(&client, in.p, in.len, FAILED(RTW_ERR_WS_FRAME_TOO_LARGE, 1009));
  rtwt_log_free(&exp);
  wst_buf_free(&in);
  free(p);
}

/* ws.h max_message_size: checked at each fragment's header against the message so far; the
 * failing fragment's payload never needs to arrive. 1009 (RFC 6455 7.4.1). */
static void limit_message_size_at_header(void **state)
{
  wst_opts o = server;
  uint8_t *p = wst_pattern(1000, 1, 3);
  wst_buf in;
  rtwt_log exp;

  (void)state;
  o.max_message_size = 1000;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  wst_frame(&in, 1, 0, TEXT, p, 600);
  header_only(&in, 1, 1, CONT, 401, WST_LEN_MIN);
  wst_check(&o, in.p, in.len, FAILED(RTW_ERR_WS_MESSAGE_TOO_LARGE, 1009));
  /* one frame over the message limit (under the frame limit) */
  wst_buf_clear(&in);
  header_only(&in, 1, 1, BIN, 1001, WST_LEN_MIN);
  wst_check(&o, in.p, in.len, FAILED(RTW_ERR_WS_MESSAGE_TOO_LARGE, 1009));
  /* exactly 1000 across fragments, twice: the count restarts with each message */
  wst_buf_clear(&in);
  wst_frame(&in, 1, 0, TEXT, p, 600);
  wst_frame_str(&in, 1, 1, PING, "between");
  wst_frame(&in, 1, 1, CONT, p + 600, 400);
  wst_frame(&in, 1, 0, TEXT, p, 999);
  wst_frame(&in, 1, 1, CONT, p + 999, 1);
  rtwt_log_printf(&exp, "ping(\"between\")\n");
  wst_log_msg(&exp, TEXT, p, 1000);
  wst_log_msg(&exp, TEXT, p, 1000);
  rtwt_log_printf(&exp, "out:pong(\"between\")\n" OPEN);
  wst_check(&o, in.p, in.len, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
  free(p);
}

/* RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length" and "the most
 * significant bit MUST be 0" -> 1002 with RTW_ERR_WS_BAD_LENGTH. */
static void bad_length_encodings(void **state)
{
  static const struct {
    uint64_t len;
    int form;
  } bad[] = {{0, WST_LEN_16}, {5, WST_LEN_16}, {125, WST_LEN_16}, {126, WST_LEN_64},
             {65535, WST_LEN_64}, {(uint64_t)1 << 63, WST_LEN_64},
             {UINT64_MAX, WST_LEN_64}};
  uint8_t p[200];
  wst_buf in;
  rtwt_log exp;
  size_t i;

  (void)state;
  memset(p, 'x', sizeof p);
  wst_buf_init(&in);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wst_buf_clear(&in);
    header_only(&in, 1, 1, BIN, bad[i].len, bad[i].form);
    if (bad[i].len <= sizeof p)
      wst_buf_put(&in, p, (size_t)bad[i].len);
    wst_check(&server, in.p, in.len, PROTO(RTW_ERR_WS_BAD_LENGTH));
  }
  /* the minimal forms at the boundaries are accepted: 126 in 16 bits, 125 in 7 bits, 65536
   * (the smallest length the 64-bit form may carry) in 64 bits */
  wst_buf_clear(&in);
  rtwt_log_init(&exp);
  {
    uint8_t *big = calloc(65536, 1);
    wst_hdr h;
    assert_non_null(big);
    memset(&h, 0, sizeof h);
    h.fin = 1, h.opcode = BIN, h.masked = 1, h.len_form = WST_LEN_16;
    wst_key(1, h.key);
    wst_put_frame(&in, &h, p, 126);
    h.len_form = WST_LEN_7;
    wst_put_frame(&in, &h, p, 125);
    h.len_form = WST_LEN_64;
    wst_put_frame(&in, &h, big, 65536);
    wst_log_msg(&exp, BIN, p, 126);
    wst_log_msg(&exp, BIN, p, 125);
    wst_log_msg(&exp, BIN, big, 65536);
    rtwt_log_printf(&exp, OPEN);
    free(big);
  }
  wst_check(&server, in.p, in.len, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* ================================================================== delivery */

/* ws.h RTW_WS_FLAG_WHOLE_MESSAGES: whole messages and streamed pieces carry the same content
 * (RFC 6455 5.4: "the message" is the concatenation of its fragments' payloads). */
static void whole_and_streamed_agree(void **state)
{
  uint8_t *big = wst_pattern(3000, 1, 4);
  wst_opts whole = server, streamed = server;
  wst_buf in;
  rtwt_log a, b;
  size_t i;

  (void)state;
  whole.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  whole.one_mode = streamed.one_mode = 1;
  wst_buf_init(&in);
  rtwt_log_init(&a);
  rtwt_log_init(&b);
  for (i = 0; i < 3000; i += 700)
    wst_frame(&in, 1, i + 700 >= 3000, i ? CONT : TEXT, big + i, i + 700 >= 3000 ? 3000 - i : 700);
  wst_frame_str(&in, 1, 1, BIN, "");
  wst_frame_str(&in, 1, 0, BIN, "a");
  wst_frame_str(&in, 1, 1, PING, "x");
  wst_frame_str(&in, 1, 1, CONT, "b");
  wst_run_once(&whole, in.p, in.len, &a);
  wst_run_once(&streamed, in.p, in.len, &b);
  assert_string_equal(a.buf, b.buf);
  wst_check(&whole, in.p, in.len, a.buf);
  wst_check(&streamed, in.p, in.len, a.buf);
  rtwt_log_free(&a);
  rtwt_log_free(&b);
  wst_buf_free(&in);
  free(big);
}

/* RFC 6455 8.1 fail fast, as seen by a streaming application: the text pieces delivered
 * before the failure are always a prefix of valid UTF-8 (the bad byte itself is never
 * delivered). */
static void streamed_text_never_delivers_bad_bytes(void **state)
{
  static const char *const bad[] = {("abc\xC0\xAF" "def"), "\xE2\x82\xAC\xED\xA0\x80",
                                    "0123456789\xFF", "\xF0\x9D\x84\x9E\xF4\x90\x80\x80"};
  wst_opts o = server;
  size_t i, j;

  (void)state;
  o.one_mode = 1;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (j = 0; j < 2; j++) {
      wst_buf in;
      wst_run r;
      rtwt_log log;
      size_t n = strlen(bad[i]), k;
      wst_buf_init(&in);
      rtwt_log_init(&log);
      if (j == 0) {
        wst_frame(&in, 1, 1, TEXT, bad[i], n);
      } else {
        for (k = 0; k < n; k++)
          wst_frame(&in, 1, 0, k ? CONT : TEXT, bad[i] + k, 1);
      }
      assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
      assert_int_equal(wst_recv(&r, in.p, in.len), RTW_ERR_INVALID_UTF8);
      assert_int_not_equal(wst_utf8_check(r.msg.p, r.msg.len, NULL), WST_UTF8_BAD);
      wst_stop(&r);
      rtwt_log_free(&log);
      wst_buf_free(&in);
    }
  }
}

/* ws.h RTW_WS_FLAG_NO_AUTO_PONG: the ping is reported and not answered; the host answers with
 * rtw_ws_queue_pong() (RFC 6455 5.5.2 then holds through the host). */
static void no_auto_pong(void **state)
{
  wst_opts o = server;
  wst_buf in;
  wst_run r;
  rtwt_log log;

  (void)state;
  o.flags = RTW_WS_FLAG_NO_AUTO_PONG;
  wst_buf_init(&in);
  frs(&in, &o, 1, PING, "are you there");
  wst_check(&o, in.p, in.len, "ping(\"are you there\")\n" OPEN);
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(wst_recv(&r, in.p, in.len), 0);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  assert_int_equal(rtw_ws_queue_pong(r.ws, "are you there", 13), 0);
  expect_out(&r, "out:pong(\"are you there\")\n");
  wst_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&in);
}

/* ================================================================== pause */

/* ws.h callbacks: RTW_ERR_PAUSE makes rtw_ws_recv() return at that event with *nread the bytes
 * up to it; the host feeds the rest later. Pausing on each message end, in both modes. */
static void pause_on_message(void **state)
{
  wst_buf in;
  size_t ends[3], nread, off = 0, i;
  int mode;

  (void)state;
  wst_buf_init(&in);
  frs(&in, &server, 1, TEXT, "one");
  ends[0] = in.len;
  frs(&in, &server, 0, TEXT, "tw");
  frs(&in, &server, 1, CONT, "o");
  ends[1] = in.len;
  frs(&in, &server, 1, BIN, "three");
  ends[2] = in.len;
  for (mode = 0; mode < 2; mode++) {
    wst_opts o = server;
    wst_run r;
    rtwt_log log;
    o.flags = mode ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    o.pause = WST_EV_MSG;
    rtwt_log_init(&log);
    assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
    off = 0;
    for (i = 0; i < 3; i++) {
      assert_int_equal(rtw_ws_recv(r.ws, in.p + off, in.len - off, &nread), RTW_ERR_PAUSE);
      off += nread;
      assert_int_equal(off, ends[i]);
      assert_int_equal(r.n_end + r.n_msg, i + 1);
    }
    assert_int_equal(rtw_ws_recv(r.ws, in.p + off, 0, &nread), 0);
    assert_int_equal(nread, 0);
    assert_string_equal(log.buf, "msg(text,\"one\")\nmsg(text,\"two\")\nmsg(binary,\"three\")\n");
    wst_stop(&r);
    rtwt_log_free(&log);
  }
  wst_buf_free(&in);
}

/* Pausing in on_message_data: recv returns after the piece, having consumed exactly the
 * header and the bytes delivered so far (ws.h: "return after the current frame piece"). */
static void pause_on_data(void **state)
{
  uint8_t *p = wst_pattern(300, 0, 5);
  wst_opts o = server;
  wst_buf in;
  wst_run r;
  rtwt_log log;
  size_t off = 0, nread, hdr, pauses = 0;
  int rv;

  (void)state;
  o.pause = WST_EV_DATA;
  wst_buf_init(&in);
  rtwt_log_init(&log);
  hdr = wst_frame(&in, 1, 1, BIN, p, 300);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  do {
    rv = rtw_ws_recv(r.ws, in.p + off, in.len - off, &nread);
    off += nread;
    if (rv == RTW_ERR_PAUSE) {
      pauses++;
      assert_int_equal(off, hdr + r.msg.len);
      assert_true(pauses <= 300);
    } else {
      assert_int_equal(rv, 0);
    }
  } while (rv == RTW_ERR_PAUSE);
  assert_int_equal(off, in.len);
  assert_int_equal(pauses, r.n_data);
  assert_true(pauses >= 1);
  assert_int_equal(r.n_end, 1);
  assert_memory_equal(r.msg.p, p, 300);
  wst_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&in);
  free(p);
}

/* A pause during a large masked frame takes effect after the piece just delivered: nothing
 * is lost or delivered twice (ws.h: "RTW_ERR_PAUSE to make rtw_ws_recv() return after the
 * current frame piece"). Regression: the session once kept unmasking the rest of the input. */
typedef struct pause_big {
  size_t got, calls;
  uint8_t sum;
} pause_big;

static int pause_big_data(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  pause_big *pb = ud;
  const uint8_t *d = data;
  size_t i;
  (void)ws;
  for (i = 0; i < len; i++)
    assert_int_equal(d[i], (uint8_t)((pb->got + i) * 7));
  pb->got += len;
  pb->calls++;
  return RTW_ERR_PAUSE;
}

static void pause_inside_large_masked_frame(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  pause_big pb = {0, 0, 0};
  uint8_t *payload = malloc(50000);
  wst_buf in;
  rtw_ws *ws;
  size_t off = 0, nread, i, rounds = 0;
  int rv;

  (void)state;
  assert_non_null(payload);
  for (i = 0; i < 50000; i++)
    payload[i] = (uint8_t)(i * 7);
  wst_buf_init(&in);
  wst_frame(&in, 1, 1, RTW_WS_OP_BINARY, payload, 50000);
  cb.on_message_data = pause_big_data;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, NULL, NULL, &pb), 0);
  do {
    rv = rtw_ws_recv(ws, in.p + off, in.len - off, &nread);
    assert_true(rv == 0 || rv == RTW_ERR_PAUSE);
    off += nread;
    rounds++;
  } while (off < in.len && rounds < 1000);
  assert_int_equal(off, in.len);
  assert_int_equal(pb.got, 50000);
  assert_true(pb.calls >= 2); /* paused at least once inside the frame */
  assert_int_equal(pb.calls, rounds);
  rtw_ws_free(ws);
  wst_buf_free(&in);
  free(payload);
}

/* Pausing on a ping (already answered: ws.h on_ping) and on the peer's close (already
 * answered, RFC 6455 5.5.1); input after the close is then consumed and ignored. */
static void pause_on_ping_and_close(void **state)
{
  wst_opts o = server;
  wst_buf in;
  wst_run r;
  rtwt_log log;
  size_t ping_end, close_end, nread;

  (void)state;
  o.pause = WST_EV_PING | WST_EV_CLOSE;
  wst_buf_init(&in);
  rtwt_log_init(&log);
  frs(&in, &o, 1, PING, "p");
  ping_end = in.len;
  wst_close_frame(&in, 1, 1000, NULL, 0);
  close_end = in.len;
  frs(&in, &o, 1, TEXT, "ignored");
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_recv(r.ws, in.p, in.len, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, ping_end);
  assert_int_equal(rtw_ws_want_write(r.ws), 1);
  assert_int_equal(rtw_ws_recv(r.ws, in.p + ping_end, in.len - ping_end, &nread),
                   RTW_ERR_PAUSE);
  assert_int_equal(nread, close_end - ping_end);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  assert_int_equal(rtw_ws_close_sent(r.ws), 1000);
  assert_int_equal(rtw_ws_recv(r.ws, in.p + close_end, in.len - close_end, &nread), 0);
  assert_int_equal(nread, in.len - close_end);
  expect_out(&r, "out:pong(\"p\")\nout:close(1000)\n");
  assert_string_equal(log.buf, "ping(\"p\")\nclose(1000,\"\")\n");
  wst_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&in);
}

/* Pauses are at event boundaries, so every split of the input gives the same events and the
 * same pauses (ARCHITECTURE I/O contract). */
static void pause_split_invariant(void **state)
{
  wst_opts o = server;
  wst_buf in;

  (void)state;
  o.pause = WST_EV_MSG | WST_EV_PING | WST_EV_PONG | WST_EV_CLOSE;
  wst_buf_init(&in);
  frs(&in, &o, 0, TEXT, "a");
  frs(&in, &o, 1, PING, "1");
  frs(&in, &o, 1, CONT, "b");
  frs(&in, &o, 1, PONG, "2");
  frs(&in, &o, 1, BIN, "");
  wst_close_frame(&in, 1, 1001, "x", 1);
  wst_check(&o, in.p, in.len,
            "ping(\"1\")\npause\nmsg(text,\"ab\")\npause\npong(\"2\")\npause\n"
            "msg(binary,\"\")\npause\nclose(1001,\"x\")\npause\nout:pong(\"1\")\n"
            "out:close(1001)\nend(read=0,sent=1001,recvd=1001)\n");
  o.pause = WST_EV_BEGIN;
  o.one_mode = 1;
  wst_check(&o, in.p, in.len, NULL);
  wst_buf_free(&in);
}

/* ================================================================== errors */

/* ws.h rtw_ws_recv: "Errors are sticky": after a protocol error the session takes no more
 * input, queues nothing more, and has sent its close (RFC 6455 7.1.7 _Fail the WebSocket
 * Connection_: send a close frame, then stop processing data). */
static void sticky_errors(void **state)
{
  wst_buf in, good;
  wst_run r;
  rtwt_log log;
  size_t nread = 99;
  wst_hdr h;

  (void)state;
  wst_buf_init(&in);
  wst_buf_init(&good);
  rtwt_log_init(&log);
  memset(&h, 0, sizeof h);
  h.fin = 1;
  h.opcode = TEXT;
  h.masked = 1;
  h.rsv = RTW_WS_RSV1;
  wst_put_frame(&in, &h, "bad", 3);
  frs(&good, &server, 1, TEXT, "good");
  assert_int_equal(wst_start(&r, &server, &log, NULL), 0);
  assert_int_equal(rtw_ws_recv(r.ws, in.p, in.len, &nread), RTW_ERR_WS_RESERVED_BITS);
  assert_true(nread <= in.len);
  assert_int_equal(rtw_ws_recv(r.ws, good.p, good.len, &nread), RTW_ERR_WS_RESERVED_BITS);
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_ws_recv(r.ws, good.p, good.len, &nread), RTW_ERR_WS_RESERVED_BITS);
  assert_int_equal(r.n_end, 0);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  assert_int_equal(rtw_ws_close_sent(r.ws), 1002);
  assert_int_equal(rtw_ws_queue_text(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
  assert_int_equal(rtw_ws_queue_binary(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
  assert_int_equal(rtw_ws_queue_ping(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "x", 1, 1), RTW_ERR_WS_CLOSED);
  assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), RTW_ERR_WS_CLOSED);
  expect_out(&r, "out:close(1002)\n");
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  wst_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&good);
  wst_buf_free(&in);
}

/* ws.h callbacks: another negative value fails the session with RTW_ERR_CALLBACK_FAILURE and a
 * close with 1011 (RFC 6455 7.4.1: "encountered an unexpected condition"). A failing on_ping
 * still had its ping answered ("already answered"). */
static void callback_failure(void **state)
{
  wst_opts o = server;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  o.fail = WST_EV_MSG;
  frs(&in, &o, 1, TEXT, "first");
  frs(&in, &o, 1, TEXT, "second");
  wst_check(&o, in.p, in.len, "msg(text,\"first\")\n" FAILED(RTW_ERR_CALLBACK_FAILURE, 1011));
  o.fail = WST_EV_PING;
  wst_buf_clear(&in);
  frs(&in, &o, 1, PING, "p");
  frs(&in, &o, 1, TEXT, "never");
  wst_check(&o, in.p, in.len,
            "ping(\"p\")\nerror(RTW_ERR_CALLBACK_FAILURE)\nout:pong(\"p\")\nout:close(1011)\n"
            "end(read=0,sent=1011,recvd=0)\n");
  o.fail = WST_EV_BEGIN;
  o.one_mode = 1;
  wst_buf_clear(&in);
  frs(&in, &o, 1, TEXT, "x");
  wst_check(&o, in.p, in.len, FAILED(RTW_ERR_CALLBACK_FAILURE, 1011));
  wst_buf_free(&in);
}

/* ================================================================== closing handshake */

/* RFC 6455 7.1.2-7.1.5 through ws.h want_read/want_write, in both roles: (a) we close first,
 * (b) the peer closes first, (c) both at once (our close still unwritten when theirs
 * arrives: no second close). The session is over when both are 0; a client keeps want_read
 * at 1 after the handshake to wait for the server's EOF (7.1.1, client_waits_for_eof). */
static void close_handshake_states(void **state)
{
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    const wst_opts *o = role ? &client : &server;
    int eof_wait = role; /* want_read after the handshake */
    wst_buf in;
    wst_run r;
    rtwt_log log;

    wst_buf_init(&in);
    rtwt_log_init(&log);
    wst_close_frame(&in, peer_masks(o), 1001, NULL, 0);

    /* (a) */
    assert_int_equal(wst_start(&r, o, &log, NULL), 0);
    assert_int_equal(rtw_ws_close(r.ws, 1000, "bye", 3), 0);
    assert_int_equal(rtw_ws_want_write(r.ws), 1);
    assert_int_equal(rtw_ws_want_read(r.ws), 1);
    assert_int_equal(rtw_ws_close_sent(r.ws), 1000);
    assert_int_equal(wst_pump(&r), 0);
    assert_int_equal(rtw_ws_want_write(r.ws), 0);
    assert_int_equal(rtw_ws_want_read(r.ws), 1);
    assert_int_equal(recv_all(r.ws, &in), 0);
    assert_int_equal(rtw_ws_want_read(r.ws), eof_wait);
    assert_int_equal(rtw_ws_want_write(r.ws), 0);
    assert_int_equal(rtw_ws_close_received(r.ws), 1001);
    expect_out(&r, "out:close(1000,\"bye\")\n");
    wst_stop(&r);

    /* (b) */
    assert_int_equal(wst_start(&r, o, &log, NULL), 0);
    assert_int_equal(recv_all(r.ws, &in), 0);
    assert_int_equal(rtw_ws_want_read(r.ws), eof_wait);
    assert_int_equal(rtw_ws_want_write(r.ws), 1);
    assert_int_equal(rtw_ws_close_received(r.ws), 1001);
    assert_int_equal(rtw_ws_close_sent(r.ws), 1001);
    assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), RTW_ERR_WS_CLOSED);
    expect_out(&r, "out:close(1001)\n");
    assert_int_equal(rtw_ws_want_write(r.ws), 0);
    wst_stop(&r);

    /* (c) */
    assert_int_equal(wst_start(&r, o, &log, NULL), 0);
    assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), 0);
    assert_int_equal(recv_all(r.ws, &in), 0);
    assert_int_equal(rtw_ws_want_read(r.ws), eof_wait);
    assert_int_equal(rtw_ws_want_write(r.ws), 1);
    assert_int_equal(rtw_ws_close_sent(r.ws), 1000);
    expect_out(&r, "out:close(1000)\n");
    assert_int_equal(rtw_ws_want_write(r.ws), 0);
    wst_stop(&r);

    rtwt_log_free(&log);
    wst_buf_free(&in);
  }
}

/* ================================================================== outbound queue */

#define BIG 10000u

/* The same queue calls, drained in different ways, must give the same bytes. */
static void queue_scenario(rtw_ws *ws, const uint8_t *big)
{
  static const char text[] = "hello";
  uint8_t *t = wst_pattern(5000, 1, 6);

  assert_int_equal(rtw_ws_queue_text(ws, text, 5), 0);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, big, BIG, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_queue_ping(ws, "p", 1), 0);
  assert_int_equal(rtw_ws_queue_fragment(ws, TEXT, "frag", 4, 0), 0);
  assert_int_equal(rtw_ws_queue_fragment(ws, TEXT, "ment", 4, 1), 0);
  assert_int_equal(rtw_ws_queue_message(ws, TEXT, t, 5000, 0), 0);
  assert_int_equal(rtw_ws_queue_binary(ws, "", 0), 0);
  assert_int_equal(rtw_ws_close(ws, 1000, "done", 4), 0);
  free(t);
}

static void drain_iov_max(rtw_ws *ws, wst_buf *out, size_t max, const uint8_t *big, int *in_big)
{
  rtw_iovec iov[64];

  assert_true(max <= 64);
  while (rtw_ws_want_write(ws)) {
    size_t count = 0, i, total = 0;
    assert_int_equal(rtw_ws_send_pending_iov(ws, iov, max, &count), 0);
    assert_true(count >= 1 && count <= max);
    for (i = 0; i < count; i++) {
      const uint8_t *b = iov[i].base;
      if (b >= big && b < big + BIG)
        *in_big = 1;
      wst_buf_put(out, b, iov[i].len);
      total += iov[i].len;
    }
    assert_int_equal(rtw_ws_send_consumed(ws, total), 0);
  }
}

/* ws.h rtw_ws_send_pending vs rtw_ws_send_pending_iov (with 1..64 elements) vs one byte at a
 * time (partial writes): the byte stream is the same, in both roles (client keys are
 * deterministic). Server NOCOPY payloads are handed out in place (ws.h: "NOCOPY payloads are
 * the caller's own memory"). */
static void pending_iov_and_partial_writes_agree(void **state)
{
  static const size_t maxes[] = {1, 2, 3, 16, 64};
  uint8_t *big = wst_pattern(BIG, 0, 7);
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    wst_opts o = role ? client : server;
    wst_run r;
    rtwt_log log;
    wst_buf ref;
    size_t i;
    int mode;

    o.fragment_size = 1000;
    rtwt_log_init(&log);
    wst_buf_init(&ref);
    for (mode = WST_DRAIN_CONTIG; mode <= WST_DRAIN_BYTE; mode++) {
      o.drain = mode;
      assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
      queue_scenario(r.ws, big);
      assert_int_equal(wst_pump(&r), 0);
      if (mode == WST_DRAIN_CONTIG) {
        wst_buf_put(&ref, r.out.p, r.out.len);
        wst_finish(&r); /* validates the stream */
      } else {
        assert_int_equal(r.out.len, ref.len);
        assert_memory_equal(r.out.p, ref.p, ref.len);
      }
      wst_stop(&r);
    }
    for (i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
      int in_big = 0;
      assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
      queue_scenario(r.ws, big);
      drain_iov_max(r.ws, &r.out, maxes[i], big, &in_big);
      assert_int_equal(r.out.len, ref.len);
      assert_memory_equal(r.out.p, ref.p, ref.len);
      assert_int_equal(in_big, role == 0);
      wst_stop(&r);
    }
    wst_buf_free(&ref);
    rtwt_log_free(&log);
  }
  free(big);
}

/* ws.h rtw_ws_send_consumed: more than is pending is refused and changes nothing; data
 * messages queued while another is half written follow it whole (RFC 6455 5.4: "the
 * fragments of one message MUST NOT be interleaved between the fragments of another
 * message"). */
static void partial_writes_and_queue_order(void **state)
{
  uint8_t *a = wst_pattern(3000, 1, 8);
  wst_opts o = server;
  wst_run r;
  rtwt_log log;
  const void *d;
  size_t n, pend;
  wst_oframes of;

  (void)state;
  o.fragment_size = 1000;
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, (const char *)a, 3000), 0);
  pend = pending_total(r.ws);
  assert_int_equal(rtw_ws_send_consumed(r.ws, pend + 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(pending_total(r.ws), pend);
  /* write 1500 bytes, a few at a time */
  while (r.out.len < 1500) {
    assert_int_equal(rtw_ws_send_pending(r.ws, &d, &n), 0);
    n = n < 7 ? n : 7;
    wst_buf_put(&r.out, d, n);
    assert_int_equal(rtw_ws_send_consumed(r.ws, n), 0);
  }
  assert_int_equal(rtw_ws_queue_binary(r.ws, "B", 1), 0);
  assert_int_equal(rtw_ws_send_pending(r.ws, &d, &n), 0);
  wst_buf_put(&r.out, d, 1);
  assert_int_equal(rtw_ws_send_consumed(r.ws, 1), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, "C", 1), 0);
  assert_int_equal(wst_pump(&r), 0);
  wst_parse_out(r.out.p, r.out.len, 0, &of);
  assert_int_equal(of.n, 5);
  assert_int_equal(of.f[0].opcode, TEXT);
  assert_int_equal(of.f[2].opcode, CONT);
  assert_int_equal(of.f[2].fin, 1);
  assert_memory_equal(of.f[2].data, a + 2000, 1000);
  assert_int_equal(of.f[3].opcode, BIN);
  assert_int_equal(of.f[4].opcode, TEXT);
  wst_oframes_free(&of);
  wst_stop(&r);
  rtwt_log_free(&log);
  free(a);
}

/* ws.h RTW_WS_QUEUE_NOCOPY / on_payload_released: the payload is released exactly once, when
 * its last byte has been consumed, or by rtw_ws_free() if it never was. */
static void nocopy_released_once(void **state)
{
  uint8_t *buf = wst_pattern(5000, 0, 9), *buf2 = wst_pattern(200, 0, 10);
  wst_opts o = server, frag = server;
  wst_run r;
  rtwt_log log;
  const void *d;
  size_t n;

  (void)state;
  frag.fragment_size = 1000;
  rtwt_log_init(&log);
  /* released when the last byte goes, once; one fragment or five */
  for (n = 0; n < 2; n++) {
    assert_int_equal(wst_start(&r, n ? &frag : &o, &log, NULL), 0);
    assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf, 5000, RTW_WS_QUEUE_NOCOPY), 0);
    assert_int_equal(r.released, 0);
    while (pending_total(r.ws) > 1) {
      size_t len;
      assert_int_equal(rtw_ws_send_pending(r.ws, &d, &len), 0);
      if (len > pending_total(r.ws) - 1)
        len = pending_total(r.ws) - 1;
      wst_buf_put(&r.out, d, len);
      assert_int_equal(rtw_ws_send_consumed(r.ws, len), 0);
      assert_int_equal(r.released, 0);
    }
    assert_int_equal(wst_pump(&r), 0);
    assert_int_equal(r.released, 1);
    assert_ptr_equal(r.released_ptr, buf);
    assert_int_equal(r.released_len, 5000);
    assert_int_equal(wst_pump(&r), 0);
    wst_stop(&r);
    assert_int_equal(r.released, 1);
  }
  /* never written: released by rtw_ws_free */
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf, 5000, RTW_WS_QUEUE_NOCOPY), 0);
  wst_stop(&r);
  assert_int_equal(r.released, 1);
  assert_ptr_equal(r.released_ptr, buf);
  /* half written, then freed */
  assert_int_equal(wst_start(&r, &frag, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf, 5000, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_send_pending(r.ws, &d, &n), 0);
  assert_int_equal(rtw_ws_send_consumed(r.ws, n), 0);
  wst_stop(&r);
  assert_int_equal(r.released, 1);
  /* two payloads, released in order */
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf, 5000, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, TEXT, "hi", 2, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf2, 200, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(wst_pump(&r), 0);
  assert_int_equal(r.released, 3);
  assert_ptr_equal(r.released_ptr, buf2);
  wst_stop(&r);
  assert_int_equal(r.released, 3);
  /* a refused NOCOPY payload stays the caller's: never released */
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, TEXT, "\xC0\xAF", 2, RTW_WS_QUEUE_NOCOPY),
                   RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, BIN, buf, 10, RTW_WS_QUEUE_NOCOPY),
                   RTW_ERR_WS_CLOSED);
  wst_stop(&r);
  assert_int_equal(r.released, 0);
  rtwt_log_free(&log);
  free(buf);
  free(buf2);
}

/* ws.h max_outbound: a queue call that would exceed it fails with RTW_ERR_WS_OUTBOUND_FULL and
 * queues nothing; control frames (a ping, the automatic pong, a close) have 256 bytes of
 * headroom. */
static void max_outbound_budget(void **state)
{
  uint8_t *p = wst_pattern(2000, 0, 11);
  wst_opts o = server;
  wst_run r;
  rtwt_log log;
  wst_buf in;
  size_t pend;
  uint8_t ctl[125];

  (void)state;
  memset(ctl, 'c', sizeof ctl); /* also valid UTF-8 */
  o.max_outbound = 1000;
  rtwt_log_init(&log);
  wst_buf_init(&in);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, p, 2000), RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, p, 900), 0);
  pend = pending_total(r.ws);
  assert_int_equal(rtw_ws_queue_binary(r.ws, p, 200), RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(rtw_ws_queue_text(r.ws, (const char *)ctl, 100), RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, p, 200, 1), RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(pending_total(r.ws), pend);
  /* 904 + 127 is over 1000 but within the headroom */
  assert_int_equal(rtw_ws_queue_ping(r.ws, ctl, sizeof ctl), 0);
  /* a ping from the peer still gets its pong */
  wst_frame(&in, 1, 1, PING, "x", 1);
  assert_int_equal(recv_all(r.ws, &in), 0);
  assert_int_equal(rtw_ws_close(r.ws, 1000, "full", 4), 0);
  {
    wst_oframes of;
    assert_int_equal(wst_pump(&r), 0);
    wst_parse_out(r.out.p, r.out.len, 0, &of);
    assert_int_equal(of.n, 4); /* binary, ping, pong, close in some order of control frames */
    assert_int_equal(of.f[of.n - 1].opcode, CLOSE);
    wst_oframes_free(&of);
  }
  wst_stop(&r);
  /* once the queue drained, there is room again */
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, p, 900), 0);
  assert_int_equal(wst_pump(&r), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, p, 900), 0);
  assert_int_equal(pending_total(r.ws), 904);
  wst_stop(&r);
  wst_buf_free(&in);
  rtwt_log_free(&log);
  free(p);
}

/* ws.h rtw_ws_close: "Afterwards nothing else can be queued" (RFC 6455 5.5.1: "After sending a
 * Close frame, the endpoint MUST NOT send any more data frames"), also after answering the
 * peer's close. */
static void queue_after_close(void **state)
{
  wst_run r;
  rtwt_log log;
  wst_buf in;
  int round;

  (void)state;
  rtwt_log_init(&log);
  wst_buf_init(&in);
  wst_close_frame(&in, 1, 1000, NULL, 0);
  for (round = 0; round < 2; round++) {
    assert_int_equal(wst_start(&r, &server, &log, NULL), 0);
    if (round == 0)
      assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), 0);
    else
      assert_int_equal(recv_all(r.ws, &in), 0);
    assert_int_equal(rtw_ws_queue_text(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_queue_binary(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_queue_message(r.ws, BIN, "x", 1, RTW_WS_QUEUE_NOCOPY),
                     RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "x", 1, 0), RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_queue_ping(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_queue_pong(r.ws, "x", 1), RTW_ERR_WS_CLOSED);
    assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), RTW_ERR_WS_CLOSED);
    expect_out(&r, "out:close(1000)\n");
    wst_stop(&r);
  }
  wst_buf_free(&in);
  rtwt_log_free(&log);
}

/* ws.h rtw_ws_queue_text: text that is not UTF-8 fails with RTW_ERR_INVALID_UTF8 and queues
 * nothing (RFC 6455 5.6: text "is encoded as UTF-8"); binary is not checked; control payload
 * limit for ping/pong (5.5). */
static void queue_checks_payloads(void **state)
{
  static const char *const bad[] = {"\xC0\xAF", "abc\xE2\x82", "\xED\xA0\x80", "\xFF"};
  uint8_t p[126];
  wst_run r;
  rtwt_log log;
  size_t i;

  (void)state;
  memset(p, 'p', sizeof p);
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &server, &log, NULL), 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(rtw_ws_queue_text(r.ws, bad[i], strlen(bad[i])), RTW_ERR_INVALID_UTF8);
    assert_int_equal(rtw_ws_queue_message(r.ws, TEXT, bad[i], strlen(bad[i]), 0),
                     RTW_ERR_INVALID_UTF8);
    assert_int_equal(rtw_ws_want_write(r.ws), 0);
  }
  assert_int_equal(rtw_ws_queue_ping(r.ws, p, 126), RTW_ERR_WS_CONTROL_TOO_LONG);
  assert_int_equal(rtw_ws_queue_pong(r.ws, p, 126), RTW_ERR_WS_CONTROL_TOO_LONG);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, "\xC0\xAF", 2), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, "ok \xE2\x82\xAC", 6), 0);
  assert_int_equal(rtw_ws_queue_ping(r.ws, p, 125), 0);
  assert_int_equal(rtw_ws_queue_pong(r.ws, "", 0), 0);
  expect_out(&r, "out:binary(\"\\xC0\\xAF\")\nout:text(\"ok \\xE2\\x82\\xAC\")\n"
                 "out:ping(\"ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppp\")\nout:pong(\"\")\n");
  wst_stop(&r);
  rtwt_log_free(&log);
}

/* ws.h rtw_ws_queue_fragment: a streamed send (RFC 6455 5.4 fragmentation driven by the
 * application): UTF-8 validated across pieces (a piece may end inside a character, the last
 * may not), opcode consistency, other messages refused meanwhile, control frames allowed
 * between the pieces. */
static void queue_fragment_streaming(void **state)
{
  uint8_t *big = wst_pattern(2500, 0, 12);
  wst_opts o = server;
  wst_run r;
  rtwt_log log;
  wst_oframes of;
  size_t i, off;

  (void)state;
  o.fragment_size = 1000;
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  /* "κ" split across two pieces */
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "\xCE", 1, 0), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, "no", 2), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_queue_binary(r.ws, "no", 2), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, "no", 2, 1), RTW_ERR_INVALID_STATE);
  assert_int_equal(wst_pump(&r), 0); /* so the ping cannot go ahead of the first piece */
  assert_int_equal(rtw_ws_queue_ping(r.ws, "between", 7), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "\xBA", 1, 1), 0);
  /* an empty final piece */
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, "abc", 3, 0), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, NULL, 0, 1), 0);
  /* a whole message in one call */
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "one", 3, 1), 0);
  expect_out(&r, "out:text[more](\"\\xCE\")\nout:ping(\"between\")\nout:cont(\"\\xBA\")\n"
                 "out:binary[more](\"abc\")\nout:cont(\"\")\nout:text(\"one\")\n");
  wst_buf_clear(&r.out);
  /* the last piece may not end inside a character, a middle piece may not be invalid */
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "a\xE2\x82", 3, 0), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "", 0, 1), RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "\xFF", 1, 0), RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "\xAC", 1, 1), 0);
  expect_out(&r, "out:text[more](\"a\\xE2\\x82\")\nout:cont(\"\\xAC\")\n");
  wst_buf_clear(&r.out);
  /* pieces larger than fragment_size still make one message with FIN only at the end */
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, big, 2500, 0), 0);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, big, 10, 1), 0);
  assert_int_equal(wst_pump(&r), 0);
  wst_parse_out(r.out.p, r.out.len, 0, &of);
  assert_true(of.n >= 2);
  for (i = 0, off = 0; i < of.n; i++) {
    assert_int_equal(of.f[i].opcode, i ? CONT : BIN);
    assert_int_equal(of.f[i].fin, i + 1 == of.n);
    assert_true(of.f[i].len <= 1000);
    if (off < 2500)
      assert_memory_equal(of.f[i].data, big + off, of.f[i].len);
    off += of.f[i].len;
  }
  assert_int_equal(off, 2510);
  wst_oframes_free(&of);
  wst_stop(&r);
  rtwt_log_free(&log);
  free(big);
}

/* ws.h rtw_ws_close arguments. RFC 6455 7.4: codes an endpoint may send are 1000-1003,
 * 1007-1014 and 3000-4999 (1005/1006/1015 "MUST NOT be set"); 5.5: the payload (2 + reason)
 * is at most 125 bytes; 5.5.1: the reason is UTF-8 and needs a code before it. A refused
 * close queues nothing and leaves the session open. */
static void close_arguments(void **state)
{
  static const int bad[] = {-1, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
                            70000};
  static const int good[] = {1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999};
  char reason[125];
  rtw_ws *ws;
  size_t i;
  int rv;

  (void)state;
  memset(reason, 'r', sizeof reason);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(rtw_ws_close(ws, bad[i], NULL, 0), RTW_ERR_WS_BAD_CLOSE_CODE);
  assert_int_equal(rtw_ws_close(ws, 1000, reason, 124), RTW_ERR_WS_CONTROL_TOO_LONG);
  assert_int_equal(rtw_ws_close(ws, 1000, "\xC0\xAF", 2), RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_ws_close(ws, 1000, NULL, 5), RTW_ERR_INVALID_ARGUMENT);
  rv = rtw_ws_close(ws, 0, "why", 3);
  assert_true(rv == RTW_ERR_INVALID_ARGUMENT || rv == RTW_ERR_WS_BAD_CLOSE_CODE);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 0);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_close(ws, 1000, reason, 123), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 1000);
  assert_int_equal(rtw_ws_close(ws, 1000, NULL, 0), RTW_ERR_WS_CLOSED);
  assert_int_equal(pending_total(ws), 2 + 125);
  rtw_ws_free(ws);
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(rtw_ws_close(ws, good[i], "ok", 2), 0);
    assert_int_equal(rtw_ws_close_sent(ws), good[i]);
    assert_int_equal(pending_total(ws), 2 + 4 + 4);
    rtw_ws_free(ws);
  }
}

/* ================================================================== timers */

static void feed_now(wst_run *r, const void *p, size_t n)
{
  assert_int_equal(wst_recv(r, p, n), 0);
}

/* The keepalive ping that was written, as a pong the peer would send back. */
static void pong_for_last_ping(wst_run *r, wst_buf *in)
{
  wst_oframes of;
  size_t i, found = 0;

  wst_parse_out(r->out.p, r->out.len, r->o->role == RTW_WS_ROLE_CLIENT, &of);
  for (i = 0; i < of.n; i++)
    if (of.f[i].opcode == PING)
      found = i + 1;
  assert_true(found > 0);
  wst_frame(in, peer_masks(r->o), 1, PONG, of.f[found - 1].data, of.f[found - 1].len);
  wst_oframes_free(&of);
}

static size_t count_pings(wst_run *r)
{
  wst_oframes of;
  size_t i, n = 0;

  assert_int_equal(wst_pump(r), 0);
  wst_parse_out(r->out.p, r->out.len, r->o->role == RTW_WS_ROLE_CLIENT, &of);
  for (i = 0; i < of.n; i++)
    n += of.f[i].opcode == PING;
  wst_oframes_free(&of);
  return n;
}

/* ws.h keepalive_ms/pong_timeout_ms and rtw_ws_next_deadline (RFC 6455 5.5.2: "A Ping frame
 * may serve either as a keepalive or as a means to verify that the remote endpoint is still
 * responsive"): timers arm at the first tick, a ping after keepalive_ms of silence, a pong
 * timeout after pong_timeout_ms. */
static void keepalive_ping_and_pong_timeout(void **state)
{
  wst_opts o = server;
  wst_run r;
  rtwt_log log;

  (void)state;
  o.keepalive_ms = 1000;
  o.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
  o.pong_timeout_ms = 500;
  rtwt_log_init(&log);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_tick(r.ws, 10000), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == 11000);
  assert_int_equal(rtw_ws_tick(r.ws, 10999), 0);
  assert_int_equal(count_pings(&r), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 11000), 0);
  assert_int_equal(count_pings(&r), 1);
  assert_true(rtw_ws_next_deadline(r.ws) == 11500);
  assert_int_equal(rtw_ws_tick(r.ws, 11499), 0);
  assert_int_equal(rtw_ws_want_read(r.ws), 1);
  assert_int_equal(rtw_ws_tick(r.ws, 11500), RTW_ERR_WS_PONG_TIMEOUT);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  wst_stop(&r);
  rtwt_log_free(&log);
}

/* A pong in time cancels the timeout; the next ping comes keepalive_ms after the last input
 * (ws.h: "input counts as activity at the next tick"). Both roles. */
static void keepalive_pong_in_time(void **state)
{
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    wst_opts o = role ? client : server;
    wst_run r;
    rtwt_log log;
    wst_buf in;

    o.keepalive_ms = 1000;
    o.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
  o.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
    o.pong_timeout_ms = 500;
    rtwt_log_init(&log);
    wst_buf_init(&in);
    assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
    assert_int_equal(rtw_ws_tick(r.ws, 0), 0);
    assert_int_equal(rtw_ws_tick(r.ws, 1000), 0);
    assert_int_equal(count_pings(&r), 1);
    pong_for_last_ping(&r, &in);
    feed_now(&r, in.p, in.len);
    assert_int_equal(rtw_ws_tick(r.ws, 1200), 0);
    assert_true(rtw_ws_next_deadline(r.ws) == 2200);
    assert_int_equal(rtw_ws_tick(r.ws, 1500), 0);
    assert_int_equal(rtw_ws_tick(r.ws, 2199), 0);
    assert_int_equal(count_pings(&r), 1);
    assert_int_equal(rtw_ws_tick(r.ws, 2200), 0);
    assert_int_equal(count_pings(&r), 2);
    assert_int_equal(rtw_ws_want_read(r.ws), 1);
    wst_stop(&r);
    wst_buf_free(&in);
    rtwt_log_free(&log);
  }
}

/* Input postpones the keepalive ping (ws.h keepalive_ms: "after this long without receiving
 * anything"). */
static void keepalive_deferred_by_input(void **state)
{
  wst_opts o = server;
  wst_run r;
  rtwt_log log;
  wst_buf in;

  (void)state;
  o.keepalive_ms = 1000;
  o.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
  rtwt_log_init(&log);
  wst_buf_init(&in);
  frs(&in, &o, 1, TEXT, "activity");
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 0), 0);
  feed_now(&r, in.p, in.len);
  assert_int_equal(rtw_ws_tick(r.ws, 800), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == 1800);
  assert_int_equal(rtw_ws_tick(r.ws, 1000), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 1799), 0);
  assert_int_equal(count_pings(&r), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 1800), 0);
  assert_int_equal(count_pings(&r), 1);
  wst_stop(&r);
  wst_buf_free(&in);
  rtwt_log_free(&log);
}

/* ws.h close_timeout_ms (RFC 6455 7.1.1: after the closing handshake the transport is closed;
 * a peer that never answers must not hold it open): the timer starts once our close frame is
 * written; on expiry both want_read and want_write are 0. No keepalive: no deadline at all. */
static void close_timeout(void **state)
{
  wst_opts o = server;
  wst_run r;
  rtwt_log log;
  wst_buf in;
  uint64_t dl;

  (void)state;
  o.close_timeout_ms = 300;
  rtwt_log_init(&log);
  wst_buf_init(&in);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 0), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 50), 0);
  assert_int_equal(wst_pump(&r), 0); /* written now */
  assert_int_equal(rtw_ws_tick(r.ws, 100), 0);
  dl = rtw_ws_next_deadline(r.ws);
  assert_true(dl >= 350 && dl <= 400);
  assert_int_equal(rtw_ws_tick(r.ws, dl - 1), 0);
  assert_int_equal(rtw_ws_want_read(r.ws), 1);
  assert_int_equal(rtw_ws_tick(r.ws, dl), RTW_ERR_WS_CLOSE_TIMEOUT);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  wst_stop(&r);

  /* answered in time: no timeout, no deadline */
  wst_close_frame(&in, 1, 1000, NULL, 0);
  assert_int_equal(wst_start(&r, &o, &log, NULL), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 0), 0);
  assert_int_equal(rtw_ws_close(r.ws, 1000, NULL, 0), 0);
  assert_int_equal(wst_pump(&r), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 100), 0);
  feed_now(&r, in.p, in.len);
  assert_int_equal(rtw_ws_tick(r.ws, 200), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 100000), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  wst_stop(&r);

  /* without keepalive, ticks do nothing */
  assert_int_equal(wst_start(&r, &server, &log, NULL), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 0), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 1000000000), 0);
  assert_true(rtw_ws_next_deadline(r.ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_want_write(r.ws), 0);
  wst_stop(&r);
  wst_buf_free(&in);
  rtwt_log_free(&log);
}

/* ================================================================== callbacks may queue */

static int echo_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  (void)ud;
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

/* ws.h callbacks: "Callbacks may queue sends": an echo server queues from on_message. */
static void callbacks_may_queue(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  wst_buf in, out;
  wst_oframes of;

  (void)state;
  cb.on_message = echo_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  wst_buf_init(&in);
  wst_buf_init(&out);
  wst_frame_str(&in, 1, 1, TEXT, "echo me");
  wst_frame_str(&in, 1, 0, BIN, "bi");
  wst_frame_str(&in, 1, 1, CONT, "n");
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL), 0);
  assert_int_equal(recv_all(ws, &in), 0);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  wst_parse_out(out.p, out.len, 0, &of);
  assert_int_equal(of.n, 2);
  assert_int_equal(of.f[0].opcode, TEXT);
  assert_int_equal(of.f[0].len, 7);
  assert_memory_equal(of.f[0].data, "echo me", 7);
  assert_int_equal(of.f[1].opcode, BIN);
  assert_memory_equal(of.f[1].data, "bin", 3);
  wst_oframes_free(&of);
  rtw_ws_free(ws);
  wst_buf_free(&in);
  wst_buf_free(&out);
}

/* ================================================================== allocation failures */

typedef struct alloc_case {
  const wst_opts *o;
  wst_buf in;
  wst_buf close;
  const char *expected;
  uint8_t *nocopy;
} alloc_case;

/* Create a session, receive fragmented messages whole (buffered), queue sends of every kind,
 * close, free: every allocation failing in turn must give RTW_ERR_NOMEM and leak nothing
 * (ARCHITECTURE "Memory"; STYLE "failing-allocator helper"). */
static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  alloc_case *c = arg;
  uint8_t *t = wst_pattern(3000, 1, 13);
  wst_run r;
  rtwt_log log;
  int rv;

  rtwt_log_init(&log);
  rv = wst_start(&r, c->o, &log, mem);
  if (rv == 0)
    rv = wst_recv(&r, c->in.p, c->in.len);
  if (rv == 0)
    rv = rtw_ws_queue_text(r.ws, (const char *)t, 3000);
  if (rv == 0)
    rv = rtw_ws_queue_message(r.ws, BIN, c->nocopy, 2000, RTW_WS_QUEUE_NOCOPY);
  if (rv == 0)
    rv = rtw_ws_queue_fragment(r.ws, TEXT, "stre", 4, 0);
  if (rv == 0)
    rv = wst_pump(&r); /* fixes where the ping goes: after what is already written */
  if (rv == 0)
    rv = rtw_ws_queue_ping(r.ws, "p", 1);
  if (rv == 0)
    rv = rtw_ws_queue_fragment(r.ws, TEXT, "amed", 4, 1);
  if (rv == 0)
    rv = wst_pump(&r);
  if (rv == 0)
    rv = rtw_ws_close(r.ws, 1000, "bye", 3);
  if (rv == 0)
    rv = wst_recv(&r, c->close.p, c->close.len);
  if (rv != 0 && r.send_rv != 0)
    rv = r.send_rv; /* preparing output failed (ws.h rtw_ws_send_pending) */
  if (rv == 0) {
    wst_finish(&r);
    assert_string_equal(log.buf, c->expected);
  }
  wst_stop(&r);
  rtwt_log_free(&log);
  free(t);
  return rv;
}

static void alloc_failures(void **state)
{
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    wst_opts o = role ? client : server;
    alloc_case c;
    rtwt_log exp;
    uint8_t *m = wst_pattern(900, 1, 14), *b = wst_pattern(4000, 0, 15);
    long sites;

    o.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
    o.fragment_size = 1024;
    c.o = &o;
    c.nocopy = wst_pattern(2000, 0, 16);
    wst_buf_init(&c.in);
    wst_buf_init(&c.close);
    rtwt_log_init(&exp);
    wst_frame(&c.in, peer_masks(&o), 0, TEXT, m, 300);
    wst_frame(&c.in, peer_masks(&o), 0, CONT, m + 300, 300);
    wst_frame_str(&c.in, peer_masks(&o), 1, PING, "hi");
    wst_frame(&c.in, peer_masks(&o), 1, CONT, m + 600, 300);
    wst_frame(&c.in, peer_masks(&o), 0, BIN, b, 2000);
    wst_frame(&c.in, peer_masks(&o), 1, CONT, b + 2000, 2000);
    wst_frame_str(&c.in, peer_masks(&o), 1, TEXT, "small");
    wst_close_frame(&c.close, peer_masks(&o), 1000, NULL, 0);
    rtwt_log_printf(&exp, "ping(\"hi\")\n");
    wst_log_msg(&exp, TEXT, m, 900);
    wst_log_msg(&exp, BIN, b, 4000);
    rtwt_log_printf(&exp, "msg(text,\"small\")\nclose(1000,\"\")\nout:pong(\"hi\")\n");
    {
      /* our output frames: text 3000 in 3 fragments, binary 2000 in 2, the streamed
       * message with the ping between, our close */
      uint8_t *t = wst_pattern(3000, 1, 13);
      wst_oframe f;
      memset(&f, 0, sizeof f);
      f.fin = 0, f.opcode = TEXT, f.data = t, f.len = 1024;
      wst_log_oframe(&exp, &f);
      f.opcode = CONT, f.data = t + 1024;
      wst_log_oframe(&exp, &f);
      f.fin = 1, f.data = t + 2048, f.len = 952;
      wst_log_oframe(&exp, &f);
      f.fin = 0, f.opcode = BIN, f.data = c.nocopy, f.len = 1024;
      wst_log_oframe(&exp, &f);
      f.fin = 1, f.opcode = CONT, f.data = c.nocopy + 1024, f.len = 976;
      wst_log_oframe(&exp, &f);
      free(t);
    }
    rtwt_log_printf(&exp, "out:text[more](\"stre\")\nout:ping(\"p\")\nout:cont(\"amed\")\n"
                          "out:close(1000,\"bye\")\nend(read=%d,sent=1000,recvd=1000)\n",
                    role); /* a client waits for the server's EOF (7.1.1) */
    c.expected = exp.buf;
    sites = rtwt_check_alloc_failures(alloc_scenario, &c);
    assert_true(sites >= 1);
    rtwt_log_free(&exp);
    wst_buf_free(&c.in);
    wst_buf_free(&c.close);
    free(c.nocopy);
    free(m);
    free(b);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(api_arguments),
    cmocka_unit_test(client_accepts_unmasked),
    cmocka_unit_test(client_rejects_masked),
    cmocka_unit_test(server_rejects_unmasked),
    cmocka_unit_test(client_masks_without_touching_caller_buffers),
    cmocka_unit_test(rsv_allowed_only_those_bits),
    cmocka_unit_test(limit_frame_size_at_header),
    cmocka_unit_test(limit_message_size_at_header),
    cmocka_unit_test(bad_length_encodings),
    cmocka_unit_test(whole_and_streamed_agree),
    cmocka_unit_test(streamed_text_never_delivers_bad_bytes),
    cmocka_unit_test(no_auto_pong),
    cmocka_unit_test(pause_on_message),
    cmocka_unit_test(pause_on_data),
    cmocka_unit_test(pause_on_ping_and_close),
    cmocka_unit_test(pause_inside_large_masked_frame),
    cmocka_unit_test(pause_split_invariant),
    cmocka_unit_test(sticky_errors),
    cmocka_unit_test(callback_failure),
    cmocka_unit_test(close_handshake_states),
    cmocka_unit_test(pending_iov_and_partial_writes_agree),
    cmocka_unit_test(partial_writes_and_queue_order),
    cmocka_unit_test(nocopy_released_once),
    cmocka_unit_test(max_outbound_budget),
    cmocka_unit_test(queue_after_close),
    cmocka_unit_test(queue_checks_payloads),
    cmocka_unit_test(queue_fragment_streaming),
    cmocka_unit_test(close_arguments),
    cmocka_unit_test(keepalive_ping_and_pong_timeout),
    cmocka_unit_test(keepalive_pong_in_time),
    cmocka_unit_test(keepalive_deferred_by_input),
    cmocka_unit_test(close_timeout),
    cmocka_unit_test(callbacks_may_queue),
    cmocka_unit_test(alloc_failures),
  };
  if (getenv("RTWT_FILTER") != NULL) /* e.g. RTWT_FILTER='s6_*' to run some cases */
    cmocka_set_test_filter(getenv("RTWT_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
