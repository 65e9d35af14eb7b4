/* SPDX-License-Identifier: MIT */
/* WebSocket session tests for embedding under load (issue #12): automatic pongs within the
 * outbound budget, re-entrant calls and rtw_ws_free() from callbacks, pongs after our close,
 * the client waiting for the server's EOF, rtw_ws_outbound_size(), the input gate
 * (outbound_high_water / outbound_low_water) with an echo that loses nothing,
 * rtw_ws_pause_input() and keepalive, send_timeout_ms, RTW_ERR_WS_CLOSED from a callback,
 * and versioned settings. No wall clock: time is what the tests pass to rtw_ws_tick(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY
#define PING RTW_WS_OP_PING
#define PONG RTW_WS_OP_PONG
#define CLOSE RTW_WS_OP_CLOSE

/* ================================================================== small helpers */

static const wst_opts server = {RTW_WS_ROLE_SERVER};

static int peer_masks(int role)
{
  return role == RTW_WS_ROLE_SERVER;
}

/* Frames in `out` as a log ("out:text(...)" lines). */
static void frames_log(const wst_buf *out, int role, rtwt_log *log)
{
  wst_oframes of;
  size_t i;

  rtwt_log_clear(log);
  wst_parse_out(out->p, out->len, role == RTW_WS_ROLE_CLIENT, &of);
  for (i = 0; i < of.n; i++)
    wst_log_oframe(log, &of.f[i]);
  wst_oframes_free(&of);
}

static void expect_frames(const wst_buf *out, int role, const char *expected)
{
  rtwt_log log;

  rtwt_log_init(&log);
  frames_log(out, role, &log);
  if (strcmp(log.buf, expected) != 0)
    wst_fail("--- expected frames:\n%s--- got:\n%s", expected, log.buf);
  rtwt_log_free(&log);
}

static uint64_t rng_state = 1;

static int det_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  unsigned char *p = buf;
  size_t i;

  (void)ws;
  (void)ud;
  for (i = 0; i < len; i++) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (unsigned char)(rng_state >> 56);
  }
  return 0;
}

static rtw_ws *new_ws(int role, const rtw_ws_callbacks *cb, const rtw_ws_settings *st,
                      const rtw_mem *mem, void *ud)
{
  rtw_ws *ws = NULL;

  assert_int_equal(rtw_ws_new(&ws, role, cb, st, mem, ud), 0);
  assert_non_null(ws);
  return ws;
}

/* ================================================================== defect 1: ping flood */

/* Issue #12 defect 1, RFC 6455 5.5.3 ("MAY elect to send a Pong frame for only the most
 * recently processed Ping frame"): a peer that pings without reading our output never grows
 * the queue past max_outbound + 256 (ws.h max_outbound), whatever the number of pings; the
 * allocator's peak stays within a few budgets; once drained, the last pong answers the last
 * ping. Before the fix every ping queued a pong: 100,000 of them. Both roles. */
static void ping_flood_bounded(void **state)
{
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    wst_buf ping, out;
    wst_oframes of;
    rtwt_countmem cm;
    rtw_ws *ws;
    size_t base, i, maxq = 0, nread;
    char payload[16];

    cb.random = det_random;
    st.max_outbound = 1024;
    rtwt_countmem_init(&cm);
    wst_buf_init(&ping);
    wst_buf_init(&out);
    ws = new_ws(role, &cb, &st, &cm.mem, NULL);
    base = cm.cur;
    for (i = 0; i < 100000; i++) {
      wst_buf_clear(&ping);
      snprintf(payload, sizeof payload, "p%zu", i);
      wst_frame_str(&ping, peer_masks(role), 1, PING, payload);
      assert_int_equal(rtw_ws_recv(ws, ping.p, ping.len, &nread), 0);
      assert_int_equal(nread, ping.len);
      if (rtw_ws_outbound_size(ws) > maxq)
        maxq = rtw_ws_outbound_size(ws);
    }
    assert_true(maxq <= 1024 + 256);
    assert_true(maxq >= 1024 - 256); /* it did answer pings until the budget was full */
    assert_true(cm.peak - base <= 4 * (1024 + 256));
    assert_int_equal(rtw_ws_want_read(ws), 1);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    assert_int_equal(rtw_ws_outbound_size(ws), 0);
    wst_parse_out(out.p, out.len, role == RTW_WS_ROLE_CLIENT, &of);
    assert_true(of.n > 10 && of.n < 1000);
    assert_int_equal(of.f[0].opcode, PONG);
    assert_memory_equal(of.f[0].data, "p0", 2);
    assert_int_equal(of.f[of.n - 1].opcode, PONG);
    assert_int_equal(of.f[of.n - 1].len, 6);
    assert_memory_equal(of.f[of.n - 1].data, "p99999", 6);
    wst_oframes_free(&of);
    rtw_ws_free(ws);
    assert_int_equal(cm.cur, 0);
    wst_buf_free(&ping);
    wst_buf_free(&out);
  }
}

/* Autobahn 2.10 ("Send 10 Pings with payload ... Pongs for our Pings with all the
 * payloads"): within the budget every ping gets its own pong, in order. */
static void every_ping_answered_within_budget(void **state)
{
  wst_buf in;
  rtwt_log exp;
  char p[16];
  int i;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < 10; i++) {
    snprintf(p, sizeof p, "payload-%d", i);
    wst_frame_str(&in, 1, 1, PING, p);
    rtwt_log_printf(&exp, "ping(\"%s\")\n", p);
  }
  for (i = 0; i < 10; i++)
    rtwt_log_printf(&exp, "out:pong(\"payload-%d\")\n", i);
  rtwt_log_printf(&exp, "end(read=1,sent=0,recvd=0)\n");
  wst_check(&server, in.p, in.len, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* ws.h max_outbound: "the outbound size never exceeds max_outbound + 256": a full data
 * queue, pings and pongs (ours and automatic) up to their limit, then our close with the
 * longest reason: the close still fits, the total stays within the bound. A keepalive ping
 * that does not fit is postponed, not an error. (Found by fuzzing: the close frame was not
 * counted in the headroom.) */
static void control_headroom_bound(void **state)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  wst_buf in, out;
  rtw_ws *ws;
  uint8_t p[986], c[125];
  char reason[123];
  size_t k = 0, nread;

  (void)state;
  memset(p, 'p', sizeof p);
  memset(c, 'c', sizeof c);
  memset(reason, 'r', sizeof reason);
  st.max_outbound = 1000;
  st.keepalive_ms = 100;
  wst_buf_init(&in);
  wst_buf_init(&out);
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_queue_binary(ws, p, sizeof p), 0); /* 986 + 14: the budget */
  assert_int_equal(rtw_ws_queue_binary(ws, p, 1), RTW_ERR_WS_OUTBOUND_FULL);
  assert_int_equal(rtw_ws_queue_ping(ws, c, 97), 0);  /* 97 bytes fit over a full queue */
  assert_int_equal(rtw_ws_queue_ping(ws, c, 98), RTW_ERR_WS_OUTBOUND_FULL);
  while (rtw_ws_queue_pong(ws, c, 1) == 0)
    k++;
  assert_true(k < 10);
  wst_frame(&in, 1, 1, PING, c, sizeof c); /* its pong waits outside the queue */
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_true(rtw_ws_outbound_size(ws) <= 1000 + 111);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 100), 0); /* no room for the keepalive ping: later */
  assert_true(rtw_ws_next_deadline(ws) == 200);
  assert_int_equal(rtw_ws_close(ws, 4000, reason, sizeof reason), 0);
  assert_true(rtw_ws_outbound_size(ws) <= 1000 + 256);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  {
    /* binary, ping, k pongs, the close, then the pong that waited (5.5.2, 5.5.1) */
    wst_oframes of;
    wst_parse_out(out.p, out.len, 0, &of);
    assert_int_equal(of.n, 2 + k + 2);
    assert_int_equal(of.f[0].opcode, BIN);
    assert_int_equal(of.f[1].opcode, PING);
    assert_int_equal(of.f[2 + k].opcode, CLOSE);
    assert_int_equal(of.f[2 + k].len, 2 + sizeof reason);
    assert_int_equal(of.f[3 + k].opcode, PONG);
    assert_int_equal(of.f[3 + k].len, sizeof c);
    wst_oframes_free(&of);
  }
  rtw_ws_free(ws);
  wst_buf_free(&in);
  wst_buf_free(&out);
}

/* ================================================================== defect 6: closing */

/* RFC 6455 5.5.2 (a Pong "unless it already received a Close frame") and 5.5.1 (after a
 * Close only data frames are forbidden): a ping that arrives after we sent our close, before
 * the peer's, is answered. Both roles. */
static void pong_after_our_close(void **state)
{
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    wst_buf in, out;
    rtw_ws *ws;

    cb.random = det_random;
    wst_buf_init(&in);
    wst_buf_init(&out);
    wst_frame_str(&in, peer_masks(role), 1, PING, "still there?");
    wst_close_frame(&in, peer_masks(role), 1000, NULL, 0);
    ws = new_ws(role, &cb, NULL, NULL, NULL);
    assert_int_equal(rtw_ws_close(ws, 1000, "bye", 3), 0);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    assert_int_equal(rtw_ws_want_read(ws), 1);
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &(size_t){0}), 0);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    expect_frames(&out, role, "out:close(1000,\"bye\")\nout:pong(\"still there?\")\n");
    assert_int_equal(rtw_ws_close_received(ws), 1000);
    rtw_ws_free(ws);
    wst_buf_free(&in);
    wst_buf_free(&out);
  }
}

/* RFC 6455 7.1.1 ("the server SHOULD close the underlying TCP connection first"): after the
 * closing handshake a client keeps want_read at 1 (input consumed and ignored) for
 * close_timeout_ms from the first tick after the handshake completed, then want_read turns 0
 * and tick returns 0. Whichever side closed first. The server role closes at once. */
static void client_waits_for_eof(void **state)
{
  int first;

  (void)state;
  for (first = 0; first < 2; first++) { /* 0: the server closes first; 1: we do */
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    wst_buf in, out;
    rtw_ws *ws;
    size_t nread;

    cb.random = det_random;
    st.close_timeout_ms = 300;
    wst_buf_init(&in);
    wst_buf_init(&out);
    wst_close_frame(&in, 0, 1000, NULL, 0);
    ws = new_ws(RTW_WS_ROLE_CLIENT, &cb, &st, NULL, NULL);
    assert_int_equal(rtw_ws_tick(ws, 1000), 0);
    if (first) {
      assert_int_equal(rtw_ws_close(ws, 1000, NULL, 0), 0);
      assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    }
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
    assert_int_equal(rtw_ws_want_read(ws), 1);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    expect_frames(&out, RTW_WS_ROLE_CLIENT, "out:close(1000)\n");
    assert_int_equal(rtw_ws_want_write(ws), 0);
    assert_int_equal(rtw_ws_want_read(ws), 1);
    assert_true(rtw_ws_next_deadline(ws) == 1000); /* due: the next tick starts the wait */
    assert_int_equal(rtw_ws_tick(ws, 2000), 0);
    assert_true(rtw_ws_next_deadline(ws) == 2300);
    /* whatever still arrives is consumed and ignored */
    assert_int_equal(rtw_ws_recv(ws, "\x81\x01x", 3, &nread), 0);
    assert_int_equal(nread, 3);
    assert_int_equal(rtw_ws_tick(ws, 2299), 0);
    assert_int_equal(rtw_ws_want_read(ws), 1);
    assert_int_equal(rtw_ws_tick(ws, 2300), 0);
    assert_int_equal(rtw_ws_want_read(ws), 0);
    assert_int_equal(rtw_ws_want_write(ws), 0);
    assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
    assert_int_equal(rtw_ws_tick(ws, 5000), 0);
    rtw_ws_free(ws);

    /* the server role: both closes done, want_read 0 at once */
    ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
    wst_buf_clear(&in);
    wst_close_frame(&in, 1, 1000, NULL, 0);
    if (first)
      assert_int_equal(rtw_ws_close(ws, 1000, NULL, 0), 0);
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
    assert_int_equal(rtw_ws_want_read(ws), 0);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    assert_int_equal(rtw_ws_want_read(ws), 0);
    assert_int_equal(rtw_ws_want_write(ws), 0);
    rtw_ws_free(ws);
    wst_buf_free(&in);
    wst_buf_free(&out);
  }
}

/* ================================================================== defect 4: re-entrancy */

#define EV_BEGIN 1
#define EV_DATA 2
#define EV_END 3
#define EV_MSG 4
#define EV_PING 5
#define EV_PONG 6
#define EV_CLOSE 7
#define EV_RELEASED 8
#define EV_RANDOM 9

typedef struct reent {
  int ev;       /* the callback that acts */
  int action;   /* 0: call recv/tick/send and record; 1: rtw_ws_free() */
  int freed;    /* set when the callback freed the session */
  int after;    /* callbacks fired after the free (must be 0 but on_payload_released) */
  int nested[5]; /* recv, tick, send_pending, send_pending_iov, send_consumed */
  size_t nested_nread;
  int queue_after_free; /* a queue call's result after freeing */
  int hits;
} reent;

static void act(rtw_ws *ws, reent *r, int ev)
{
  if (r->freed && ev != EV_RELEASED)
    r->after++;
  if (ev != r->ev || r->hits++ > 0)
    return;
  if (r->action == 0) {
    const void *d;
    size_t n, c;
    rtw_iovec iov[2];
    r->nested_nread = 99;
    r->nested[0] = rtw_ws_recv(ws, "\x81\x80", 2, &r->nested_nread);
    r->nested[1] = rtw_ws_tick(ws, 5);
    r->nested[2] = rtw_ws_send_pending(ws, &d, &n);
    r->nested[3] = rtw_ws_send_pending_iov(ws, iov, 2, &c);
    r->nested[4] = rtw_ws_send_consumed(ws, 0);
  } else {
    rtw_ws_free(ws);
    r->freed = 1;
    r->queue_after_free = rtw_ws_queue_text(ws, "x", 1);
    assert_int_equal(rtw_ws_want_read(ws), 0);
    assert_int_equal(rtw_ws_want_write(ws), 0);
  }
}

static int r_begin(rtw_ws *ws, int op, void *ud)
{
  (void)op;
  act(ws, ud, EV_BEGIN);
  return 0;
}

static int r_data(rtw_ws *ws, const void *d, size_t n, void *ud)
{
  (void)d;
  (void)n;
  act(ws, ud, EV_DATA);
  return 0;
}

static int r_end(rtw_ws *ws, void *ud)
{
  act(ws, ud, EV_END);
  return 0;
}

static int r_msg(rtw_ws *ws, int op, const void *d, size_t n, void *ud)
{
  (void)op;
  (void)d;
  (void)n;
  act(ws, ud, EV_MSG);
  return -1; /* ignored once the session is being freed */
}

static int r_ping(rtw_ws *ws, const void *d, size_t n, void *ud)
{
  (void)d;
  (void)n;
  act(ws, ud, EV_PING);
  return 0;
}

static int r_pong(rtw_ws *ws, const void *d, size_t n, void *ud)
{
  (void)d;
  (void)n;
  act(ws, ud, EV_PONG);
  return 0;
}

static int r_close(rtw_ws *ws, int code, const char *reason, size_t len, void *ud)
{
  (void)code;
  (void)reason;
  (void)len;
  act(ws, ud, EV_CLOSE);
  return 0;
}

static void r_released(rtw_ws *ws, const void *d, size_t n, void *ud)
{
  (void)d;
  (void)n;
  act(ws, ud, EV_RELEASED);
}

static int r_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  act(ws, ud, EV_RANDOM);
  return det_random(ws, buf, len, NULL);
}

static rtw_ws *reent_ws(reent *r, int role, int whole, const rtw_mem *mem)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};

  cb.on_message_begin = r_begin;
  cb.on_message_data = r_data;
  cb.on_message_end = r_end;
  cb.on_message = r_msg;
  cb.on_ping = r_ping;
  cb.on_pong = r_pong;
  cb.on_close = r_close;
  cb.on_payload_released = r_released;
  cb.random = r_random;
  st.flags = whole ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
  return new_ws(role, &cb, &st, mem, r);
}

/* The input for every receive-side event: a message in two frames, a ping, a pong, and a
 * close, followed by a message that must never be delivered when a callback freed. */
static void reent_input(wst_buf *in, int role)
{
  int m = peer_masks(role);

  wst_frame_str(in, m, 0, TEXT, "hel");
  wst_frame_str(in, m, 1, RTW_WS_OP_CONTINUATION, "lo");
  wst_frame_str(in, m, 1, PING, "pi");
  wst_frame_str(in, m, 1, PONG, "po");
  wst_close_frame(in, m, 1000, NULL, 0);
}

/* Issue #12 defect 4, ws.h rtw_ws_callbacks "Re-entrancy": rtw_ws_recv(), rtw_ws_tick(),
 * rtw_ws_send_pending(_iov)() and rtw_ws_send_consumed() called from any callback return
 * RTW_ERR_REENTRANT (recv: *nread 0) and leave the session intact (not sticky). */
static void nested_calls_refused(void **state)
{
  static const int evs[] = {EV_BEGIN, EV_DATA, EV_END, EV_MSG, EV_PING, EV_PONG, EV_CLOSE};
  size_t i;
  int role, k;

  (void)state;
  for (role = 0; role < 2; role++) {
    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
      reent r;
      wst_buf in, out;
      rtw_ws *ws;
      size_t nread;

      memset(&r, 0, sizeof r);
      r.ev = evs[i];
      wst_buf_init(&in);
      wst_buf_init(&out);
      reent_input(&in, role);
      ws = reent_ws(&r, role, r.ev == EV_MSG, NULL);
      assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread),
                       r.ev == EV_MSG ? RTW_ERR_CALLBACK_FAILURE : 0);
      assert_true(r.hits >= 1); /* on_message_data may run for each piece */
      for (k = 0; k < 5; k++)
        assert_int_equal(r.nested[k], RTW_ERR_REENTRANT);
      assert_int_equal(r.nested_nread, 0);
      if (r.ev != EV_MSG) { /* on_message returned -1 on purpose: the rest is healthy */
        assert_int_equal(nread, in.len);
        assert_int_equal(rtw_ws_close_received(ws), 1000);
        assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
        expect_frames(&out, role, "out:pong(\"pi\")\nout:close(1000)\n");
      }
      rtw_ws_free(ws);
      wst_buf_free(&in);
      wst_buf_free(&out);
    }
  }
}

/* Issue #12 defect 4, ws.h rtw_ws_free(): freeing from any callback is deferred; the
 * outermost call stops right after the callback, frees everything and returns
 * RTW_ERR_WS_CLOSED; no callback but on_payload_released fires afterwards; queue calls in
 * the callback after the free return RTW_ERR_WS_CLOSED. Nothing leaks (counting allocator;
 * under ASan also no use after free). */
static void free_from_receive_callbacks(void **state)
{
  static const int evs[] = {EV_BEGIN, EV_DATA, EV_END, EV_MSG, EV_PING, EV_PONG, EV_CLOSE,
                            EV_RANDOM};
  size_t i;
  int role;

  (void)state;
  for (role = 0; role < 2; role++) {
    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
      reent r;
      wst_buf in;
      rtwt_countmem cm;
      rtw_ws *ws;
      size_t nread = 12345;
      static const char nocopy[] = "held by the session";

      if (evs[i] == EV_RANDOM && role == RTW_WS_ROLE_SERVER)
        continue; /* a server draws no masking keys */
      memset(&r, 0, sizeof r);
      r.ev = evs[i];
      r.action = 1;
      rtwt_countmem_init(&cm);
      wst_buf_init(&in);
      reent_input(&in, role);
      wst_frame_str(&in, peer_masks(role), 1, TEXT, "never"); /* after the close: ignored */
      ws = reent_ws(&r, role, r.ev == EV_MSG, &cm.mem);
      if (role == RTW_WS_ROLE_SERVER) /* a NOCOPY payload still queued when freed */
        assert_int_equal(
            rtw_ws_queue_message(ws, BIN, nocopy, sizeof nocopy, RTW_WS_QUEUE_NOCOPY), 0);
      assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), RTW_ERR_WS_CLOSED);
      assert_int_equal(r.freed, 1);
      if (r.after != 0)
        wst_fail("role %d event %d: %d callbacks after the free\n", role, r.ev, r.after);
      assert_int_equal(r.queue_after_free, RTW_ERR_WS_CLOSED);
      assert_true(nread > 0 && nread < in.len);
      assert_int_equal(cm.cur, 0);
      assert_int_equal(cm.live, 0);
      wst_buf_free(&in);
    }
  }
}

/* The same from on_payload_released (rtw_ws_send_consumed() runs it), from random during a
 * queue call (client role), from random during rtw_ws_tick() (the keepalive ping), and
 * from on_payload_released during rtw_ws_free() itself (nothing more happens). */
static void free_from_output_callbacks(void **state)
{
  /* 126 bytes or more: a smaller NOCOPY payload is copied and released at once */
  static const char a[200] = "first payload", b[200] = "second payload";
  reent r;
  rtwt_countmem cm;
  rtw_ws *ws;
  const void *d;
  size_t n;

  (void)state;
  /* on_payload_released from send_consumed: the second payload is released by the free */
  memset(&r, 0, sizeof r);
  r.ev = EV_RELEASED;
  r.action = 1;
  rtwt_countmem_init(&cm);
  ws = reent_ws(&r, RTW_WS_ROLE_SERVER, 0, &cm.mem);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, a, sizeof a, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, b, sizeof b, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
  assert_int_equal(n, 4); /* the first header */
  assert_int_equal(rtw_ws_send_consumed(ws, 4 + sizeof a + 4), RTW_ERR_WS_CLOSED);
  assert_int_equal(r.freed, 1);
  assert_int_equal(r.hits, 2); /* both payloads released, the second by the free */
  assert_int_equal(cm.cur, 0);

  /* random from a queue call made at the top level (client role) */
  memset(&r, 0, sizeof r);
  r.ev = EV_RANDOM;
  r.action = 1;
  rtwt_countmem_init(&cm);
  ws = reent_ws(&r, RTW_WS_ROLE_CLIENT, 0, &cm.mem);
  assert_int_equal(rtw_ws_queue_text(ws, "hi", 2), RTW_ERR_WS_CLOSED);
  assert_int_equal(r.freed, 1);
  assert_int_equal(cm.cur, 0);

  /* random from tick's keepalive ping */
  {
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    memset(&r, 0, sizeof r);
    r.ev = EV_RANDOM;
    r.action = 1;
    rtwt_countmem_init(&cm);
    cb.random = r_random;
    st.keepalive_ms = 10;
    ws = new_ws(RTW_WS_ROLE_CLIENT, &cb, &st, &cm.mem, &r);
    assert_int_equal(rtw_ws_tick(ws, 0), 0);
    assert_int_equal(rtw_ws_tick(ws, 10), RTW_ERR_WS_CLOSED);
    assert_int_equal(r.freed, 1);
    assert_int_equal(cm.cur, 0);
  }

  /* on_payload_released during rtw_ws_free(): a second free there is ignored */
  memset(&r, 0, sizeof r);
  r.ev = EV_RELEASED;
  r.action = 1;
  rtwt_countmem_init(&cm);
  ws = reent_ws(&r, RTW_WS_ROLE_SERVER, 0, &cm.mem);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, a, sizeof a, RTW_WS_QUEUE_NOCOPY), 0);
  rtw_ws_free(ws);
  assert_int_equal(r.freed, 1);
  assert_int_equal(cm.cur, 0);
}

/* ================================================================== host need 4 */

static int echo_msg(rtw_ws *ws, int op, const void *d, size_t n, void *ud)
{
  (void)ud;
  return rtw_ws_queue_message(ws, op, d, n, 0);
}

/* Issue #12 host need 4, ws.h rtw_ws_callbacks: `return rtw_ws_queue_message(...)` from
 * on_message after our rtw_ws_close() returns RTW_ERR_WS_CLOSED, which counts as 0: the
 * session stays healthy and the closing handshake completes. */
static void echo_after_close_is_healthy(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  wst_buf in, out;
  rtw_ws *ws;
  size_t nread;

  (void)state;
  cb.on_message = echo_msg;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  wst_buf_init(&in);
  wst_buf_init(&out);
  wst_frame_str(&in, 1, 1, TEXT, "before");
  wst_close_frame(&in, 1, 1000, NULL, 0);
  ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  assert_int_equal(rtw_ws_close(ws, 1001, NULL, 0), 0);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_int_equal(nread, in.len);
  assert_int_equal(rtw_ws_close_sent(ws), 1001);
  assert_int_equal(rtw_ws_close_received(ws), 1000);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  expect_frames(&out, RTW_WS_ROLE_SERVER, "out:close(1001)\n");
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  rtw_ws_free(ws);
  wst_buf_free(&in);
  wst_buf_free(&out);
}

/* Other negative returns still fail with 1011, RTW_ERR_WS_OUTBOUND_FULL included (a message
 * was lost). */
static void outbound_full_from_callback_fails(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  wst_buf in, out;
  rtw_ws *ws;
  uint8_t big[600];

  (void)state;
  memset(big, 'a', sizeof big);
  cb.on_message = echo_msg;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_outbound = 1000;
  st.outbound_high_water = SIZE_MAX; /* gate off: the echo overflows */
  wst_buf_init(&in);
  wst_buf_init(&out);
  wst_frame(&in, 1, 1, BIN, big, sizeof big);
  wst_frame(&in, 1, 1, BIN, big, sizeof big);
  ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &(size_t){0}), RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_INTERNAL_ERROR);
  rtw_ws_free(ws);
  wst_buf_free(&in);
  wst_buf_free(&out);
}

/* ================================================================== host needs 1-3 */

/* ws.h rtw_ws_outbound_size(): pending frame bytes plus message bytes not yet serialised;
 * 0 for NULL and once drained. */
static void outbound_size_counts_queue(void **state)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  uint8_t big[3000];
  const void *d;
  size_t n;

  (void)state;
  memset(big, 'b', sizeof big);
  st.fragment_size = 1000;
  assert_int_equal(rtw_ws_outbound_size(NULL), 0);
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_outbound_size(ws), 0);
  assert_int_equal(rtw_ws_queue_text(ws, "hi", 2), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 4);
  assert_int_equal(rtw_ws_send_consumed(ws, 1), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 3);
  /* a fragmented message: 3000 payload bytes wait in the queue, headers come as serialised */
  assert_int_equal(rtw_ws_queue_binary(ws, big, sizeof big), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 3 + 3000);
  assert_int_equal(rtw_ws_send_consumed(ws, 3), 0);
  assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0); /* serialises the first fragment */
  assert_int_equal(rtw_ws_outbound_size(ws), 3000 + 4);  /* its 4-byte header now counts */
  assert_int_equal(rtw_ws_queue_ping(ws, "p", 1), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 3000 + 4 + 3);
  rtw_ws_free(ws);
}

/* Feed `in` to an echo session until all consumed, draining `drain_per_round` bytes (or all)
 * between rounds, checking the bounds; returns the number of PAUSE returns. */
typedef struct flood {
  rtw_ws *ws;
  wst_buf out;
  size_t max_seen;
  size_t pauses;
  size_t gated_rounds;
} flood;

static void drain_some(flood *f, size_t limit)
{
  while (limit > 0 && rtw_ws_want_write(f->ws)) {
    const void *d;
    size_t n;
    assert_int_equal(rtw_ws_send_pending(f->ws, &d, &n), 0);
    if (n > limit)
      n = limit;
    wst_buf_put(&f->out, d, n);
    assert_int_equal(rtw_ws_send_consumed(f->ws, n), 0);
    limit -= n;
  }
}

/* Issue #12 host need 3, ws.h "Backpressure recipe": an echo that queues from on_message,
 * with max_outbound = high + max_message_size + 14 + 256, fed a flood of messages while its
 * output is drained slowly (and not at all for a while): no RTW_ERR_WS_OUTBOUND_FULL, no
 * message lost, the outbound size bounded, recv pauses and want_read is 0 while the gate
 * holds; afterwards every echo arrives in order. Both delivery modes of queueing: whole
 * messages, and the streamed relay with rtw_ws_queue_fragment() from on_message_data. */
static int relay_begin(rtw_ws *ws, int op, void *ud)
{
  *(int *)ud = op;
  (void)ws;
  return 0;
}

static int relay_data(rtw_ws *ws, const void *d, size_t n, void *ud)
{
  return rtw_ws_queue_fragment(ws, *(int *)ud, d, n, 0);
}

static int relay_end(rtw_ws *ws, void *ud)
{
  return rtw_ws_queue_fragment(ws, *(int *)ud, NULL, 0, 1);
}

static void echo_flood_with_backpressure(void **state)
{
  int streamed;

  (void)state;
  for (streamed = 0; streamed < 2; streamed++) {
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    wst_buf in;
    wst_oframes of;
    flood f;
    size_t off = 0, i, k, limit;
    uint8_t *pat = wst_pattern(1000, 0, 7);
    int op = 0;
    const size_t nmsg = 300;

    memset(&f, 0, sizeof f);
    if (streamed) {
      cb.on_message_begin = relay_begin;
      cb.on_message_data = relay_data;
      cb.on_message_end = relay_end;
    } else {
      cb.on_message = echo_msg;
      st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
    }
    st.max_message_size = 1000;
    st.outbound_high_water = 2000;
    st.outbound_low_water = 500;
    /* the streamed relay sends a frame per piece: one header per piece of a message */
    st.max_outbound = 2000 + 1000 + RTW_WS_MAX_HEADER * (streamed ? 3 : 1) + 256;
    wst_buf_init(&in);
    wst_buf_init(&f.out);
    for (i = 0; i < nmsg; i++) { /* sizes 1..1000, some in two fragments, pings between */
      size_t len = 1 + (i * 337) % 1000;
      if (i % 3 == 0) {
        wst_frame(&in, 1, 0, BIN, pat, len / 2);
        wst_frame(&in, 1, 1, RTW_WS_OP_CONTINUATION, pat + len / 2, len - len / 2);
      } else {
        wst_frame(&in, 1, 1, BIN, pat, len);
      }
      if (i % 10 == 0)
        wst_frame_str(&in, 1, 1, PING, "k");
    }
    f.ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, &op);
    for (k = 0; off < in.len; k++) {
      size_t nread = 0;
      int rv;
      /* feed at most 4 KiB per read, as a socket would */
      size_t chunk = in.len - off < 4096 ? in.len - off : 4096;
      if (rtw_ws_want_read(f.ws)) {
        rv = rtw_ws_recv(f.ws, in.p + off, chunk, &nread);
        assert_true(rv == 0 || rv == RTW_ERR_PAUSE);
        if (rv == RTW_ERR_PAUSE) {
          f.pauses++;
          assert_int_equal(rtw_ws_want_read(f.ws), 0); /* the gate, not a callback */
        }
        off += nread;
      } else {
        f.gated_rounds++;
      }
      if (rtw_ws_outbound_size(f.ws) > f.max_seen)
        f.max_seen = rtw_ws_outbound_size(f.ws);
      /* a slow reader: nothing for the first 20 rounds, then 700 bytes per round */
      limit = k < 20 ? 0 : 700;
      drain_some(&f, limit);
      assert_true(k < 100000);
    }
    drain_some(&f, SIZE_MAX);
    assert_true(f.pauses > 10);
    assert_true(f.gated_rounds > 0);
    assert_true(f.max_seen <= st.max_outbound + 256);
    assert_int_equal(rtw_ws_close_sent(f.ws), 0); /* never failed */
    wst_parse_out(f.out.p, f.out.len, 0, &of);
    {
      size_t m = 0, got = 0, pongs = 0;
      wst_buf msg;
      wst_buf_init(&msg);
      for (i = 0; i < of.n; i++) {
        if (of.f[i].opcode == PONG) {
          pongs++;
          continue;
        }
        wst_buf_put(&msg, of.f[i].data, of.f[i].len);
        if (of.f[i].fin) {
          size_t len = 1 + (m * 337) % 1000;
          assert_int_equal(msg.len, len);
          assert_memory_equal(msg.p, pat, len);
          m++;
          got++;
          wst_buf_clear(&msg);
        }
      }
      assert_int_equal(got, nmsg);
      assert_int_equal(pongs, nmsg / 10);
      wst_buf_free(&msg);
    }
    wst_oframes_free(&of);
    rtw_ws_free(f.ws);
    wst_buf_free(&in);
    wst_buf_free(&f.out);
    free(pat);
  }
}

/* The gate's hysteresis: closed at high water, still closed just above low water, open at
 * low water; recv stops before the next frame with *nread = bytes consumed so far. */
static void gate_hysteresis(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  wst_buf in;
  rtw_ws *ws;
  size_t nread, first;
  uint8_t m[100];

  (void)state;
  memset(m, 'm', sizeof m);
  cb.on_message = echo_msg;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.outbound_high_water = 300;
  st.outbound_low_water = 100;
  wst_buf_init(&in);
  wst_frame(&in, 1, 1, BIN, m, sizeof m); /* each echo queues 102 bytes */
  first = in.len;
  wst_frame(&in, 1, 1, BIN, m, sizeof m);
  wst_frame(&in, 1, 1, BIN, m, sizeof m);
  wst_frame(&in, 1, 1, BIN, m, sizeof m);
  wst_frame(&in, 1, 1, BIN, m, sizeof m);
  ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, 3 * first); /* 306 bytes queued after the third echo */
  assert_int_equal(rtw_ws_outbound_size(ws), 306);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_recv(ws, in.p + nread, in.len - nread, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_ws_send_consumed(ws, 205), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 101);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_send_consumed(ws, 1), 0);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_recv(ws, in.p + 3 * first, in.len - 3 * first, &nread), 0);
  assert_int_equal(nread, 2 * first);
  rtw_ws_free(ws);

  /* SIZE_MAX turns the gate off */
  st.outbound_high_water = SIZE_MAX;
  st.outbound_low_water = 0;
  ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_int_equal(nread, in.len);
  assert_int_equal(rtw_ws_outbound_size(ws), 5 * 102);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  rtw_ws_free(ws);
  wst_buf_free(&in);
}

/* Issue #12 host need 2, ws.h rtw_ws_pause_input(): a paused session with a ping
 * outstanding is not failed after pong_timeout_ms; after resuming it fails only
 * pong_timeout_ms after the first tick; no keepalive ping while paused. */
static void paused_input_is_not_a_dead_peer(void **state)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  wst_buf out;

  (void)state;
  st.keepalive_ms = 1000;
  st.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
  st.pong_timeout_ms = 500;
  wst_buf_init(&out);
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_pause_input(NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_pause_input(ws, 2), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_pause_input(ws, -1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 1000), 0);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  expect_frames(&out, RTW_WS_ROLE_SERVER, "out:ping(\"rtweb-keepalive\")\n");
  assert_true(rtw_ws_next_deadline(ws) == 1500);
  assert_int_equal(rtw_ws_pause_input(ws, 1), 0);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_tick(ws, 1500), 0);
  assert_int_equal(rtw_ws_tick(ws, 100000), 0);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_pause_input(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 200000), 0); /* the pong timer restarts here */
  assert_true(rtw_ws_next_deadline(ws) == 200500);
  assert_int_equal(rtw_ws_tick(ws, 200499), 0);
  assert_int_equal(rtw_ws_tick(ws, 200500), RTW_ERR_WS_PONG_TIMEOUT);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  rtw_ws_free(ws);

  /* no keepalive ping while paused; keepalive_ms counted from the tick after resuming */
  wst_buf_clear(&out);
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_pause_input(ws, 1), 0);
  assert_int_equal(rtw_ws_tick(ws, 5000), 0);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_pause_input(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 6000), 0);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_true(rtw_ws_next_deadline(ws) == 7000);
  assert_int_equal(rtw_ws_tick(ws, 7000), 0);
  assert_int_equal(rtw_ws_want_write(ws), 1);
  rtw_ws_free(ws);
  wst_buf_free(&out);
}

static int pause_msg(rtw_ws *ws, int op, const void *d, size_t n, void *ud)
{
  (void)ws;
  (void)op;
  (void)d;
  (void)n;
  (void)ud;
  return RTW_ERR_PAUSE;
}

/* A callback's RTW_ERR_PAUSE counts as paused input until the next rtw_ws_recv(); the input
 * gate too. */
static void callback_pause_and_gate_pause_keepalive(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  wst_buf in;
  size_t nread;

  (void)state;
  cb.on_message = pause_msg;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.keepalive_ms = 1000;
  st.keep_idle_ms = UINT32_MAX; /* no kept-buffer release among the pinned deadlines */
  st.pong_timeout_ms = 500;
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "a");
  wst_frame_str(&in, 1, 1, TEXT, "b");
  ws = new_ws(RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 1000), 0); /* ping out */
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), RTW_ERR_PAUSE);
  assert_int_equal(rtw_ws_tick(ws, 9000), 0); /* paused by the callback: no timeout */
  assert_int_equal(rtw_ws_recv(ws, in.p + nread, in.len - nread, &nread), RTW_ERR_PAUSE);
  assert_int_equal(rtw_ws_tick(ws, 10000), 0);
  assert_int_equal(rtw_ws_recv(ws, "", 0, &nread), 0); /* the pause ends here */
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_tick(ws, 11000), 0); /* the pong timer restarts */
  assert_true(rtw_ws_next_deadline(ws) == 11500);
  assert_int_equal(rtw_ws_tick(ws, 11500), RTW_ERR_WS_PONG_TIMEOUT);
  rtw_ws_free(ws);

  /* the gate: a queue at high water holds want_read at 0 and the pong timer */
  st.flags = 0;
  st.outbound_high_water = 100;
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 1000), 0); /* ping out (17 bytes queued) */
  {
    uint8_t big[200];
    memset(big, 'x', sizeof big);
    assert_int_equal(rtw_ws_queue_binary(ws, big, sizeof big), 0);
  }
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_tick(ws, 5000), 0);
  assert_int_equal(rtw_ws_send_consumed(ws, rtw_ws_outbound_size(ws)), 0);
  assert_int_equal(rtw_ws_want_read(ws), 1);
  assert_int_equal(rtw_ws_tick(ws, 6000), 0);
  assert_int_equal(rtw_ws_tick(ws, 6499), 0);
  assert_int_equal(rtw_ws_tick(ws, 6500), RTW_ERR_WS_PONG_TIMEOUT);
  rtw_ws_free(ws);
  wst_buf_free(&in);
}

/* ws.h send_timeout_ms: output pending and none taken for that long fails the session with
 * RTW_ERR_SEND_TIMEOUT (no close frame, output dropped, want_read/want_write 0); progress
 * restarts the timer at the next tick; rtw_ws_next_deadline() includes it. */
static void send_timeout(void **state)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;

  (void)state;
  st.send_timeout_ms = 300;
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_tick(ws, 100), 0);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX); /* nothing pending */
  assert_int_equal(rtw_ws_queue_text(ws, "hello", 5), 0);
  assert_true(rtw_ws_next_deadline(ws) == 100); /* due: the next tick arms it */
  assert_int_equal(rtw_ws_tick(ws, 200), 0);
  assert_true(rtw_ws_next_deadline(ws) == 500);
  assert_int_equal(rtw_ws_send_consumed(ws, 1), 0);
  assert_int_equal(rtw_ws_tick(ws, 450), 0); /* progress: restarts */
  assert_true(rtw_ws_next_deadline(ws) == 750);
  assert_int_equal(rtw_ws_tick(ws, 749), 0);
  assert_int_equal(rtw_ws_tick(ws, 750), RTW_ERR_SEND_TIMEOUT);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 0);
  assert_int_equal(rtw_ws_tick(ws, 800), 0); /* reported once */
  assert_int_equal(rtw_ws_recv(ws, "x", 1, &(size_t){0}), RTW_ERR_SEND_TIMEOUT);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
  rtw_ws_free(ws);

  /* drained in time: no timeout; off by default */
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
  assert_int_equal(rtw_ws_queue_text(ws, "hello", 5), 0);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_send_consumed(ws, 7), 0);
  assert_int_equal(rtw_ws_tick(ws, 10000), 0);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
  rtw_ws_free(ws);
  ws = new_ws(RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL);
  assert_int_equal(rtw_ws_queue_text(ws, "hello", 5), 0);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_tick(ws, 100000000), 0);
  assert_int_equal(rtw_ws_want_write(ws), 1);
  rtw_ws_free(ws);
}

/* A protocol error queues a close frame; a peer that never reads it must not hold the
 * connection: the failed session's output gets send_timeout_ms (close_timeout_ms without
 * one) from the last progress, then it is dropped and want_write turns 0 (found by the
 * epoll_server smoke test: next_deadline was UINT64_MAX with output pending forever). */
static void failed_session_output_times_out(void **state)
{
  static const uint8_t bad[] = {0x83, 0x80, 1, 2, 3, 4}; /* reserved opcode 3, masked */
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  size_t n;
  int with_send_timeout;

  (void)state;
  for (with_send_timeout = 0; with_send_timeout < 2; with_send_timeout++) {
    uint64_t limit = with_send_timeout ? 300u : RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS;
    st.send_timeout_ms = with_send_timeout ? 300u : 0u;
    ws = new_ws(RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL);
    assert_int_equal(rtw_ws_tick(ws, 1000), 0);
    assert_int_equal(rtw_ws_recv(ws, bad, sizeof bad, &n), RTW_ERR_WS_RESERVED_OPCODE);
    assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_PROTOCOL_ERROR);
    assert_int_equal(rtw_ws_want_write(ws), 1);
    assert_true(rtw_ws_next_deadline(ws) == 1000); /* due: the next tick arms it */
    assert_int_equal(rtw_ws_tick(ws, 1100), 0);
    assert_true(rtw_ws_next_deadline(ws) == 1100 + limit);
    assert_int_equal(rtw_ws_send_consumed(ws, 1), 0); /* progress restarts it */
    assert_int_equal(rtw_ws_tick(ws, 1200), 0);
    assert_true(rtw_ws_next_deadline(ws) == 1200 + limit);
    assert_int_equal(rtw_ws_tick(ws, 1200 + limit - 1), 0);
    assert_int_equal(rtw_ws_want_write(ws), 1);
    assert_int_equal(rtw_ws_tick(ws, 1200 + limit), 0); /* the error was reported already */
    assert_int_equal(rtw_ws_want_write(ws), 0);
    assert_int_equal(rtw_ws_want_read(ws), 0);
    assert_int_equal(rtw_ws_outbound_size(ws), 0);
    assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
    rtw_ws_free(ws);
  }
}

/* ================================================================== settings versions */

/* The version 1 layout of rtw_ws_settings, as a caller compiled against it has it. */
typedef struct settings_v1 {
  uint32_t version, flags;
  uint64_t max_frame_size, max_message_size;
  size_t fragment_size, max_outbound;
  uint32_t keepalive_ms, pong_timeout_ms, close_timeout_ms, rsv_allowed;
} settings_v1;

/* STYLE "versioned settings": a version-1 struct is read only up to its own end (the new
 * members get their defaults: gate at 1 MiB, low water half of it, no send timeout); a
 * newer version than the header's and low water above high water are refused. */
static void settings_versions(void **state)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  settings_v1 *v1 = malloc(sizeof *v1); /* exactly its size: ASan flags a read past it */
  rtw_ws *ws = NULL;
  uint8_t *big = calloc(1, RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER);
  size_t nread;

  (void)state;
  assert_int_equal(RTW_WS_SETTINGS_VERSION, 3);
  memset(v1, 0, sizeof *v1);
  v1->version = 1;
  v1->max_outbound = 4u * 1024u * 1024u;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, (const rtw_ws_settings *)v1,
                              NULL, NULL),
                   0);
  assert_int_equal(rtw_ws_queue_binary(ws, big, RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER - 1), 0);
  assert_int_equal(rtw_ws_want_read(ws), 1); /* the default gate: 1 MiB */
  assert_int_equal(rtw_ws_queue_binary(ws, big, 1), 0);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  assert_int_equal(rtw_ws_recv(ws, "\x81", 1, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, 0);
  rtw_ws_free(ws);

  /* a version-2 struct (before keep_buffer): the keep members get their defaults */
  {
    size_t v2size = offsetof(rtw_ws_settings, keep_buffer);
    void *v2 = malloc(v2size); /* exactly its size: ASan flags a read past it */
    rtw_ws_settings full = {2};
    rtwt_countmem cm;
    size_t fresh;
    const void *d;
    size_t n;
    assert_non_null(v2);
    full.send_timeout_ms = 5000;
    memcpy(v2, &full, v2size);
    rtwt_countmem_init(&cm);
    assert_int_equal(
        rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, (const rtw_ws_settings *)v2, &cm.mem, NULL), 0);
    fresh = cm.cur;
    assert_int_equal(rtw_ws_tick(ws, 0), 0);
    assert_int_equal(rtw_ws_queue_binary(ws, big, 1000), 0);
    assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
    assert_int_equal(rtw_ws_send_consumed(ws, n), 0);
    assert_true(cm.cur > fresh); /* kept: the default keep_buffer (64 KiB) */
    assert_true(rtw_ws_next_deadline(ws) == RTW_WS_DEFAULT_KEEP_IDLE_MS);
    assert_int_equal(rtw_ws_tick(ws, RTW_WS_DEFAULT_KEEP_IDLE_MS), 0);
    assert_int_equal(cm.cur, fresh);
    rtw_ws_free(ws);
    free(v2);
  }

  st.version = RTW_WS_SETTINGS_VERSION + 1;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_null(ws);
  st.version = RTW_WS_SETTINGS_VERSION;
  st.outbound_high_water = 100;
  st.outbound_low_water = 101;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  st.outbound_low_water = 100;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL), 0);
  rtw_ws_free(ws);
  free(v1);
  free(big);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ping_flood_bounded),
    cmocka_unit_test(every_ping_answered_within_budget),
    cmocka_unit_test(control_headroom_bound),
    cmocka_unit_test(pong_after_our_close),
    cmocka_unit_test(client_waits_for_eof),
    cmocka_unit_test(nested_calls_refused),
    cmocka_unit_test(free_from_receive_callbacks),
    cmocka_unit_test(free_from_output_callbacks),
    cmocka_unit_test(echo_after_close_is_healthy),
    cmocka_unit_test(outbound_full_from_callback_fails),
    cmocka_unit_test(outbound_size_counts_queue),
    cmocka_unit_test(echo_flood_with_backpressure),
    cmocka_unit_test(gate_hysteresis),
    cmocka_unit_test(paused_input_is_not_a_dead_peer),
    cmocka_unit_test(callback_pause_and_gate_pause_keepalive),
    cmocka_unit_test(send_timeout),
    cmocka_unit_test(failed_session_output_times_out),
    cmocka_unit_test(settings_versions),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
