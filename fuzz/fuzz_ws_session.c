/* SPDX-License-Identifier: MIT */
/* The WebSocket session fuzz target for one role, checked against include/rtweb/ws.h, an
 * independent receiver, an independent checker of the output and an unsplit run. */
/*
 * Not built on its own: fuzz_ws_server.c and fuzz_ws_client.c define FUZZ_WS_ROLE and
 * include this file, so each role is its own libFuzzer executable (and replay program).
 *
 * Input layout (a 13-byte header, ops, then the bytes the peer sends; short inputs read
 * as zeros):
 *
 *   byte 0   bit 0 RTW_WS_FLAG_WHOLE_MESSAGES   bit 4 small max_outbound (byte 4)
 *            bit 1 RTW_WS_FLAG_NO_AUTO_PONG     bit 5 timers (keepalive, timeouts: 10-11)
 *            bit 2 small receive limits (1-2)   bit 6 rsv_allowed = RSV1
 *            bit 3 small fragment_size (3)      bit 7 client: no random callback (the OS's)
 *   byte 1   max_frame_size   = 1 + b1
 *   byte 2   max_message_size = 1 + 4 * b2
 *   byte 3   fragment_size    = 1 + b3 % 64, or 97 * (b3 - 127) when b3 >= 128
 *   byte 4   max_outbound     = 1 + 8 * b4; with it the input gate: outbound_high_water =
 *            max_outbound / 2, outbound_low_water = a quarter (otherwise the gate is off)
 *   byte 5   piece sizes (bits 0-1: 1, 1..8, 1..64, 1..rest) and, with byte 6, the PRNG seed
 *   byte 6   chance (out of 256) that a callback returns RTW_ERR_PAUSE
 *   byte 7   the allocation that fails (1-based; 0 = none)
 *   byte 8   bits 0-4 the counted callback that fails (on_message/_end, on_ping, on_pong,
 *            on_close; 1-based; 0 = none; when it is 3 mod 4 it returns RTW_ERR_WS_CLOSED,
 *            which must count as 0); bits 5-7 the random callback call that fails
 *   byte 9   bits 0-1 == 3: on_message_data fails at the first piece of message 1 + bit 2;
 *            bits 3-7 op density (chance out of 32 that an op runs between steps, out of
 *            64 inside a callback)
 *   byte 10  keepalive_ms = 1 + 4 * b10
 *   byte 11  pong_timeout_ms = 1 + 50 * (b11 & 15), close_timeout_ms = 1 + 50 * (b11 >> 4)
 *   byte 12  L, the length of the op stream that follows
 *   L bytes  ops: one byte each (kind = bits 0-3, parameters = bits 4-7) plus operands:
 *            0-1 a text message (valid; bit 4: through rtw_ws_queue_text; bit 7: large),
 *            2 a text message of raw bytes, 3 a binary message (bit 4: rtw_ws_queue_binary),
 *            4 a binary NOCOPY message, 5-6 queue_fragment (bit 4 text, bit 5 fin, bit 6 raw
 *            bytes, bit 7 large), 7 queue_ping, 8 queue_pong, 9 rtw_ws_close, 10
 *            send_pending + partial send_consumed, 11 send_pending_iov + partial consume, 12
 *            tick (time goes forward), 13 drain everything, 14 send_consumed beyond what is
 *            pending, 15 state queries. Inside callbacks only the queue kinds run (kind % 10),
 *            and kinds 2 and 8 echo what the callback was given (a pong from on_ping's
 *            payload, a message from on_message's data or one on_message_data piece).
 *   rest     the peer's bytes (frames; masked for the server role, unmasked for the client)
 *
 * Runs: A feeds the peer's bytes in random pieces, resumes after pauses, runs the ops between
 * pieces and inside callbacks, with the failing allocator and the failing random callback; B
 * feeds them whole, no pauses, no ops, nothing failing but the counted callback; C is B with
 * WHOLE_MESSAGES flipped. Every run checks each callback against ws.h (text is UTF-8 by
 * fuzz_common's validator, streamed pieces non-empty, valid UTF-8 prefixes and adding up to
 * the message, messages within max_message_size, control payloads within 125 bytes, close
 * codes and reasons valid, nothing after the peer's close or an error), every return value
 * (queue calls recomputed from the documented reasons, nread <= len, pauses only from
 * callbacks, a refused allocation surfaces as RTW_ERR_NOMEM and a failing callback as
 * RTW_ERR_CALLBACK_FAILURE, errors sticky with want_read 0 and the matching close code), and
 * at the end the output: everything taken through send_pending(_iov) must parse (checked
 * here, from RFC 6455) as a valid frame sequence for the role, carrying exactly the messages
 * and control frames queued, the close frame last; NOCOPY payloads released exactly once; no
 * leak. Then: B == an independent receiver (same events, an error the first bad frame
 * allows), A == B unless A was disturbed (a refused allocation, a failing random callback, a
 * timeout: then A's events are a prefix of B's), B == C (events and output bytes), and D (A
 * again through rtw_ws_recv_inplace(), on a writable copy of each piece whose bytes past
 * *nread must stay untouched) == A (events, error, output) unless either was disturbed
 * (then D's events are a prefix of B's). When the
 * input gate pauses rtw_ws_recv() (no callback paused), every run drains its output and
 * feeds the rest. Over a small budget automatic pongs may be merged (RFC 6455 5.5.3: only
 * the most recent ping needs an answer): then the pongs sent are checked to be among those
 * queued, no more of them, and the other control frames exactly. With the
 * failing on_message_data (byte 9) only the events of A and B are compared: B's first piece
 * is bigger and may reach a bad UTF-8 byte first, and C has no on_message_data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/ws.h"

#ifndef FUZZ_WS_ROLE
#  error "build fuzz_ws_server.c or fuzz_ws_client.c, which include this file"
#endif

#define IS_CLIENT (FUZZ_WS_ROLE == RTW_WS_ROLE_CLIENT)
#define HEADER_LEN 13u
#define KEEPALIVE_PAYLOAD "rtweb-keepalive" /* what the session pings with (session.c) */

enum {
  H_WHOLE = 0x01,
  H_NOPONG = 0x02,
  H_LIMITS = 0x04,
  H_FRAG = 0x08,
  H_OUTB = 0x10,
  H_TIMERS = 0x20,
  H_RSV1 = 0x40,
  H_OSRNG = 0x80
};

typedef struct config {
  uint8_t h[HEADER_LEN];
  rtw_ws_settings st; /* flags without WHOLE_MESSAGES */
  uint64_t max_frame, max_msg;
  size_t frag, max_out;
  unsigned fail_cb_at, rand_fail_at, data_fail_msg, density, pause_chance;
  int gate;       /* the input gate is on (H_OUTB) */
  int pong_merge; /* automatic pongs may be merged over budget (H_OUTB, auto pong on) */
  const uint8_t *ops;
  size_t ops_len;
  const uint8_t *wire;
  size_t wire_len;
} config;

/* A NOCOPY payload we lent the session. */
typedef struct lent {
  uint8_t *p;
  size_t len;
  int live;
} lent;

/* A data message we queued (or are streaming), as it must come out. */
typedef struct omsg {
  uint8_t op;
  uint8_t complete;
  fuzz_log bytes;
} omsg;

typedef struct run {
  const config *cf;
  rtw_ws *ws;
  int whole;
  int is_a; /* pieces, pauses, ops, failing allocator and random callback */
  int inplace; /* run D: rtw_ws_recv_inplace() on a writable copy of each piece */
  fuzz_mem fm;
  fuzz_rng rng;
  fuzz_in ops;
  uint32_t rand_state;
  /* callbacks */
  unsigned ncb, nbegun, nrand, rand_failures;
  int cb_failed, cb_paused, in_cb_ops, first_piece;
  const uint8_t *cb_data; /* what the current callback was given (for the echo op) */
  size_t cb_len;
  int cb_op;
  unsigned long cb_op_allocfails;
  unsigned cb_op_randfails;
  /* receiving */
  int in_msg, msg_op;
  fuzz_log msg;
  size_t msg_done; /* bytes of msg known to be complete UTF-8 sequences */
  int peer_code;
  int err;      /* the sticky error, once reported by any call */
  int cs_known; /* rtw_ws_close_sent() as last observed */
  fuzz_log events;
  /* sending */
  fuzz_log out;        /* every byte taken, in order */
  fuzz_log rand_given; /* every random byte handed out, in order */
  omsg *m;
  size_t nm, cap_m;
  size_t payload_bytes; /* generated so far (PAYLOAD_BUDGET) */
  int stream_open;
  int stream_op;
  size_t stream_done; /* bytes of the streamed text known to be complete sequences */
  uint8_t carry[4];
  size_t ncarry;
  fuzz_log ctrl; /* control frames queued: opcode, length, payload */
  int user_code;
  uint8_t user_reason[128];
  size_t user_rlen;
  int close_maybe_missing;
  int dropped;   /* output was thrown away (timeout, failed refill) */
  int disturbed; /* A may stop early: refused allocation, random failure, timeout */
  uint64_t now;
  lent *ln;
  size_t nln, cap_ln;
} run;

/* ------------------------------------------------------------------ small helpers */

static void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);

  FUZZ_CHECK(p != NULL);
  return p;
}

/* RFC 6455 7.4.1/7.4.2: the codes an endpoint may put in a close frame. */
static int code_sendable(long c)
{
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* The close code ws.h promises for a receive error. */
static int code_for(int err)
{
  switch (err) {
  case RTW_ERR_INVALID_UTF8:
    return RTW_WS_CLOSE_INVALID_PAYLOAD;
  case RTW_ERR_WS_FRAME_TOO_LARGE:
  case RTW_ERR_WS_MESSAGE_TOO_LARGE:
    return RTW_WS_CLOSE_TOO_BIG;
  case RTW_ERR_NOMEM:
  case RTW_ERR_CALLBACK_FAILURE:
    return RTW_WS_CLOSE_INTERNAL_ERROR;
  default:
    return RTW_WS_CLOSE_PROTOCOL_ERROR;
  }
}

/* Error sets, for "one of these reasons applies". */
static const int err_list[] = {
    RTW_ERR_WS_BAD_LENGTH,          RTW_ERR_WS_RESERVED_BITS,
    RTW_ERR_WS_RESERVED_OPCODE,     RTW_ERR_WS_MASK_REQUIRED,
    RTW_ERR_WS_MASK_FORBIDDEN,      RTW_ERR_WS_CONTROL_TOO_LONG,
    RTW_ERR_WS_CONTROL_FRAGMENTED,  RTW_ERR_WS_UNEXPECTED_CONTINUATION,
    RTW_ERR_WS_EXPECTED_CONTINUATION, RTW_ERR_WS_BAD_CLOSE_PAYLOAD,
    RTW_ERR_WS_BAD_CLOSE_CODE,      RTW_ERR_WS_FRAME_TOO_LARGE,
    RTW_ERR_WS_MESSAGE_TOO_LARGE,   RTW_ERR_INVALID_UTF8,
    RTW_ERR_CALLBACK_FAILURE,       RTW_ERR_NOMEM,
    RTW_ERR_WS_CLOSED,              RTW_ERR_WS_OUTBOUND_FULL,
    RTW_ERR_INVALID_STATE,          RTW_ERR_INVALID_ARGUMENT,
    RTW_ERR_WS_PONG_TIMEOUT,        RTW_ERR_WS_CLOSE_TIMEOUT,
};

static uint32_t ebit(int err)
{
  size_t i;

  for (i = 0; i < sizeof err_list / sizeof err_list[0]; i++)
    if (err_list[i] == err)
      return 1u << i;
  return 0;
}

/* Receive errors the session may report (the protocol ones for this role). */
static uint32_t recv_errors(void)
{
  uint32_t s = ebit(RTW_ERR_WS_BAD_LENGTH) | ebit(RTW_ERR_WS_RESERVED_BITS) |
               ebit(RTW_ERR_WS_RESERVED_OPCODE) | ebit(RTW_ERR_WS_CONTROL_TOO_LONG) |
               ebit(RTW_ERR_WS_CONTROL_FRAGMENTED) |
               ebit(RTW_ERR_WS_UNEXPECTED_CONTINUATION) |
               ebit(RTW_ERR_WS_EXPECTED_CONTINUATION) | ebit(RTW_ERR_WS_BAD_CLOSE_PAYLOAD) |
               ebit(RTW_ERR_WS_BAD_CLOSE_CODE) | ebit(RTW_ERR_WS_FRAME_TOO_LARGE) |
               ebit(RTW_ERR_WS_MESSAGE_TOO_LARGE) | ebit(RTW_ERR_INVALID_UTF8) |
               ebit(RTW_ERR_CALLBACK_FAILURE) | ebit(RTW_ERR_NOMEM);

  return s | ebit(IS_CLIENT ? RTW_ERR_WS_MASK_FORBIDDEN : RTW_ERR_WS_MASK_REQUIRED);
}

/* s[0..n) is UTF-8 that may stop inside a sequence that can still be completed. Validates
 * from *done (a known sequence boundary) on and moves *done over the complete sequences. */
static int utf8_prefix_ok(const uint8_t *s, size_t n, size_t *done)
{
  static const uint8_t second[] = {0x80, 0x90, 0xA0, 0xBF};
  size_t i = *done, k, need, j, c;
  uint8_t buf[4];

  while (i < n) {
    k = fuzz_utf8_seq(s + i, n - i);
    if (k != 0) {
      i += k;
      continue;
    }
    *done = i;
    /* the tail: is there any completion of it? */
    k = n - i;
    need = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : s[i] >= 0xC0 ? 2 : 0;
    if (need == 0 || k >= need)
      return 0;
    for (c = 0; c < sizeof second; c++) {
      memcpy(buf, s + i, k);
      for (j = k; j < need; j++)
        buf[j] = j == 1 ? second[c] : 0x80;
      if (fuzz_utf8_seq(buf, need) == need)
        return 1;
    }
    return 0;
  }
  *done = i;
  return 1;
}

static int utf8_prefix_valid(const uint8_t *s, size_t n)
{
  size_t done = 0;

  return utf8_prefix_ok(s, n, &done);
}

/* ------------------------------------------------------------------ event log */

static void log_msg(fuzz_log *log, int op, const void *p, size_t n)
{
  fuzz_log_str(log, op == RTW_WS_OP_TEXT ? "msg text " : "msg binary ");
  fuzz_log_esc(log, p, n);
  fuzz_log_str(log, "\n");
}

static void log_ctrl(fuzz_log *log, const char *name, const void *p, size_t n)
{
  fuzz_log_str(log, name);
  fuzz_log_esc(log, p, n);
  fuzz_log_str(log, "\n");
}

static void log_close(fuzz_log *log, int code, const void *p, size_t n)
{
  fuzz_log_str(log, "close ");
  fuzz_log_num(log, (unsigned long long)code);
  fuzz_log_str(log, " ");
  fuzz_log_esc(log, p, n);
  fuzz_log_str(log, "\n");
}

/* ------------------------------------------------------------------ output model */

static omsg *model_push(run *r, int op)
{
  omsg *m;

  if (r->nm == r->cap_m) {
    r->cap_m = r->cap_m ? 2 * r->cap_m : 8;
    r->m = realloc(r->m, r->cap_m * sizeof *r->m);
    FUZZ_CHECK(r->m != NULL);
  }
  m = &r->m[r->nm++];
  memset(m, 0, sizeof *m);
  m->op = (uint8_t)op;
  return m;
}

static void model_ctrl(run *r, int op, const void *p, size_t n)
{
  uint8_t h[2];

  h[0] = (uint8_t)op;
  h[1] = (uint8_t)n;
  fuzz_log_raw(&r->ctrl, h, 2);
  fuzz_log_raw(&r->ctrl, p, n);
}

/* ------------------------------------------------------------------ callbacks */

static void run_cb_ops(run *r);

/* Common entry checks: the right session, nothing after an error, a failing callback or the
 * peer's close. */
static run *cb_run(rtw_ws *ws, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(r != NULL && ws == r->ws);
  FUZZ_CHECK(rtw_ws_user_data(ws) == r);
  FUZZ_CHECK(r->err == 0 && !r->cb_failed);
  FUZZ_CHECK(r->peer_code == 0);
  FUZZ_CHECK(!r->in_cb_ops); /* ops inside callbacks never call back into recv */
  return r;
}

/* What a callback returns: the fail_cb_at-th counted one fails (with varied codes, all of
 * which must become RTW_ERR_CALLBACK_FAILURE), otherwise in run A a pause by chance. Run A
 * first runs some ops from inside the callback. */
static int reply_data(run *r, int counted, int op, const void *data, size_t len)
{
  /* RTW_ERR_WS_CLOSED counts as 0 (ws.h: what queue calls return after our close), so it
   * does not fail the session; the others, RTW_ERR_WS_OUTBOUND_FULL included, do */
  static const int codes[] = {-1, RTW_ERR_NOMEM, RTW_ERR_WS_OUTBOUND_FULL, RTW_ERR_WS_CLOSED};

  if (r->is_a) {
    r->cb_data = data;
    r->cb_len = len;
    r->cb_op = op;
    run_cb_ops(r);
    r->cb_data = NULL;
    r->cb_len = 0;
  }
  if (counted && r->cf->fail_cb_at != 0 && ++r->ncb == r->cf->fail_cb_at) {
    r->cb_failed = codes[r->cf->fail_cb_at % 4] != RTW_ERR_WS_CLOSED;
    return codes[r->cf->fail_cb_at % 4];
  }
  if (r->is_a && r->cf->pause_chance != 0 &&
      (fuzz_rng_next(&r->rng) & 0xFFu) < r->cf->pause_chance) {
    r->cb_paused = 1;
    return RTW_ERR_PAUSE;
  }
  return 0;
}

static int reply(run *r, int counted)
{
  return reply_data(r, counted, 0, NULL, 0);
}

static int on_begin(rtw_ws *ws, int opcode, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(!r->whole && !r->in_msg);
  FUZZ_CHECK(opcode == RTW_WS_OP_TEXT || opcode == RTW_WS_OP_BINARY);
  r->in_msg = 1;
  r->msg_op = opcode;
  r->first_piece = 1;
  r->msg_done = 0;
  fuzz_log_clear(&r->msg);
  r->nbegun++;
  return reply(r, 0);
}

static int on_data(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(!r->whole && r->in_msg);
  FUZZ_CHECK(data != NULL && len > 0); /* pieces are never empty */
  fuzz_log_raw(&r->msg, data, len);
  FUZZ_CHECK(r->msg.len <= r->cf->max_msg);
  /* docs/websocket.md: every text piece is a valid UTF-8 prefix of the message */
  if (r->msg_op == RTW_WS_OP_TEXT)
    FUZZ_CHECK(utf8_prefix_ok((const uint8_t *)r->msg.p, r->msg.len, &r->msg_done));
  if (r->first_piece) {
    r->first_piece = 0;
    if (r->cf->data_fail_msg != 0 && r->cf->data_fail_msg == r->nbegun) {
      r->cb_failed = 1;
      return -1;
    }
  }
  return reply_data(r, 0, RTW_WS_OP_BINARY, data, len);
}

static int on_end(rtw_ws *ws, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(!r->whole && r->in_msg);
  FUZZ_CHECK(r->msg.len <= r->cf->max_msg);
  if (r->msg_op == RTW_WS_OP_TEXT)
    FUZZ_CHECK(fuzz_utf8_valid(r->msg.p, r->msg.len));
  log_msg(&r->events, r->msg_op, r->msg.p, r->msg.len);
  r->in_msg = 0;
  return reply(r, 1);
}

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(r->whole);
  FUZZ_CHECK(opcode == RTW_WS_OP_TEXT || opcode == RTW_WS_OP_BINARY);
  FUZZ_CHECK(len == 0 || data != NULL);
  FUZZ_CHECK(len <= r->cf->max_msg);
  if (opcode == RTW_WS_OP_TEXT)
    FUZZ_CHECK(fuzz_utf8_valid(data, len));
  log_msg(&r->events, opcode, data, len);
  return reply_data(r, 1, opcode, data, len);
}

static int on_ping(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(len <= RTW_WS_MAX_CONTROL_PAYLOAD && (len == 0 || data != NULL));
  log_ctrl(&r->events, "ping ", data, len);
  /* already answered unless NO_AUTO_PONG, also after our close went out (RFC 6455 5.5.2) */
  if (!(r->cf->st.flags & RTW_WS_FLAG_NO_AUTO_PONG))
    model_ctrl(r, RTW_WS_OP_PONG, data, len);
  return reply_data(r, 1, RTW_WS_OP_PING, data, len);
}

static int on_pong(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  run *r = cb_run(ws, ud);

  FUZZ_CHECK(len <= RTW_WS_MAX_CONTROL_PAYLOAD && (len == 0 || data != NULL));
  log_ctrl(&r->events, "pong ", data, len);
  return reply(r, 1);
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t rlen, void *ud)
{
  run *r = cb_run(ws, ud);

  if (code == RTW_WS_CLOSE_NO_STATUS)
    FUZZ_CHECK(rlen == 0);
  else
    FUZZ_CHECK(code_sendable(code));
  FUZZ_CHECK(rlen <= RTW_WS_MAX_CONTROL_PAYLOAD - 2);
  FUZZ_CHECK((rlen == 0 || reason != NULL) && fuzz_utf8_valid(reason, rlen));
  FUZZ_CHECK(rtw_ws_close_received(ws) == code);
  FUZZ_CHECK(IS_CLIENT || !rtw_ws_want_read(ws)); /* a client waits for the EOF (7.1.1) */
  r->peer_code = code;
  log_close(&r->events, code, reason, rlen);
  return reply(r, 1);
}

static void on_released(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  run *r = ud;
  size_t i;

  FUZZ_CHECK(r != NULL && ws == r->ws);
  for (i = 0; i < r->nln; i++) {
    lent *l = &r->ln[i];
    if (l->live && l->p == data) {
      FUZZ_CHECK(l->len == len);
      l->live = 0;
      free(l->p); /* the session must not touch it any more (ASan) */
      l->p = NULL;
      return;
    }
  }
  fuzz_fail(__FILE__, __LINE__, "on_payload_released for a payload not lent");
}

static int on_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  run *r = ud;
  uint8_t *p = buf;
  size_t i;

  FUZZ_CHECK(IS_CLIENT);
  FUZZ_CHECK(r != NULL && ws == r->ws && buf != NULL && len > 0);
  if (++r->nrand == r->cf->rand_fail_at && r->is_a) {
    r->rand_failures++;
    return -1;
  }
  for (i = 0; i < len; i++) {
    uint32_t x = r->rand_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->rand_state = x;
    p[i] = (uint8_t)(x >> 24);
  }
  fuzz_log_raw(&r->rand_given, buf, len);
  return 0;
}

/* ------------------------------------------------------------------ payloads */

/* Characters for generated text: 1 to 4 bytes, the edges of RFC 3629's ranges included. */
typedef struct tchar {
  const char *s;
  size_t len;
} tchar;

static const tchar text_chars[] = {
    {"a", 1},           {"b", 1},           {" ", 1},
    {"z", 1},           {"\x7F", 1},        {"0", 1},
    {"\xC3\xA9", 2},    {"\xE2\x82\xAC", 3}, {"\xED\x9F\xBF", 3},
    {"\xEF\xBF\xBF", 3}, {"\xF0\x9F\x98\x80", 4}, {"\xF4\x8F\xBF\xBF", 4}};

static const tchar *text_char(run *r)
{
  return &text_chars[fuzz_rng_below(&r->rng, sizeof text_chars / sizeof *text_chars)];
}

/* Valid text of exactly n bytes (a character that does not fit becomes 'x'). */
static void gen_text(run *r, uint8_t *p, size_t n)
{
  size_t i = 0;

  while (i < n) {
    const tchar *c = text_char(r);
    if (c->len > n - i)
      p[i++] = 'x';
    else
      memcpy(p + i, c->s, c->len), i += c->len;
  }
}

/* The next piece of a streamed text: carried bytes of a cut character first, then
 * characters, the last one possibly cut (its rest carried); a final piece takes the carry
 * so that it ends on a boundary. *n may grow by up to 3. */
static uint8_t *gen_stream_text(run *r, size_t *n, int fin)
{
  uint8_t *p = xmalloc(*n + 4);
  size_t i = 0, k;

  k = r->ncarry < *n ? r->ncarry : *n;
  memcpy(p, r->carry, k);
  memmove(r->carry, r->carry + k, r->ncarry - k);
  r->ncarry -= k;
  i = k;
  while (i < *n) {
    const tchar *c = text_char(r);
    size_t take = c->len < *n - i ? c->len : *n - i;
    memcpy(p + i, c->s, take);
    i += take;
    if (take < c->len) {
      memcpy(r->carry + r->ncarry, c->s + take, c->len - take);
      r->ncarry += c->len - take;
    }
  }
  if (fin) {
    memcpy(p + i, r->carry, r->ncarry);
    *n = i + r->ncarry;
    r->ncarry = 0;
  }
  return p;
}

static void gen_bytes(run *r, uint8_t *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    p[i] = (uint8_t)(fuzz_rng_next(&r->rng) >> 13);
}

#define PAYLOAD_BUDGET (80u * 1024u) /* bytes of payload queued per run, for speed */

static size_t op_len(run *r, uint8_t o)
{
  size_t n = fuzz_u8(&r->ops);

  if (o & 0x80) /* large: across the default 64 KiB fragment size (or many small ones) */
    n = r->cf->frag >= 4096 ? n * 300 + fuzz_u8(&r->ops) : n * 8;
  if (r->payload_bytes >= PAYLOAD_BUDGET || n > PAYLOAD_BUDGET - r->payload_bytes)
    n %= 64;
  r->payload_bytes += n;
  return n;
}

/* Raw bytes from the op stream (possibly invalid UTF-8), as an exactly sized heap copy. */
static uint8_t *take_raw(run *r, size_t want, size_t *n)
{
  const uint8_t *s = fuzz_take(&r->ops, want, n);
  uint8_t *p = xmalloc(*n);

  if (*n)
    memcpy(p, s, *n);
  return p;
}

/* ------------------------------------------------------------------ checked calls */

/* A queue call's result. `applies`: the documented errors whose reason holds (one of them
 * must be returned); otherwise 0, or RTW_ERR_WS_OUTBOUND_FULL when something was pending, or
 * the failure of a refused allocation / a failing random callback. */
static void expect_queue(run *r, int rv, uint32_t applies, int had_pending,
                         unsigned long failed0, unsigned rand0)
{
  int alloc_failed = r->fm.failed != failed0;
  int rand_failed = r->rand_failures != rand0;

  (void)fuzz_mem_saw(rv);
  if (applies != 0) {
    FUZZ_CHECK(rv != 0 && (ebit(rv) & applies) != 0);
    FUZZ_CHECK(!alloc_failed && !rand_failed); /* checks come before any allocation */
    return;
  }
  if (rand_failed) {
    FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE);
    return;
  }
  if (alloc_failed) {
    FUZZ_CHECK(rv == RTW_ERR_NOMEM);
    return;
  }
  FUZZ_CHECK(rv == 0 || (rv == RTW_ERR_WS_OUTBOUND_FULL && had_pending));
}

static uint32_t closed_bit(run *r)
{
  return (rtw_ws_close_sent(r->ws) != 0 || r->err != 0) ? ebit(RTW_ERR_WS_CLOSED) : 0;
}

static void lend_forget(run *r, size_t idx, int rv)
{
  lent *l = &r->ln[idx];

  if (rv != 0) { /* not taken: ours again, and never released */
    FUZZ_CHECK(l->live);
    free(l->p);
    l->p = NULL;
    l->live = 0;
  } else if (IS_CLIENT && l->live) {
    /* the client role copies (masks) and releases at once, except a message over
     * keep_buffer (the default here) that takes several fragments: that one is referenced
     * and masked a fragment at a time as the host drains (ws.h, RTW_WS_QUEUE_NOCOPY), and
     * released once after its last fragment (checked where releases are counted) */
    FUZZ_CHECK(l->len > r->cf->frag && l->len > RTW_WS_DEFAULT_KEEP_BUFFER);
  }
}

static size_t lend(run *r, uint8_t *p, size_t len)
{
  if (r->nln == r->cap_ln) {
    r->cap_ln = r->cap_ln ? 2 * r->cap_ln : 8;
    r->ln = realloc(r->ln, r->cap_ln * sizeof *r->ln);
    FUZZ_CHECK(r->ln != NULL);
  }
  r->ln[r->nln].p = p;
  r->ln[r->nln].len = len;
  r->ln[r->nln].live = 1;
  return r->nln++;
}

/* Queue a message and check the result. `how`: 0 rtw_ws_queue_message, 1 the text/binary
 * wrappers, 2 NOCOPY (p is then r->ln[idx]: ours again when released or refused). */
static void queue_msg(run *r, int op, const uint8_t *p, size_t len, int how, size_t idx)
{
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  int pending = rtw_ws_want_write(r->ws);
  uint32_t applies = closed_bit(r);
  fuzz_log copy = {NULL, 0, 0};
  int rv;

  if (r->stream_open)
    applies |= ebit(RTW_ERR_INVALID_STATE);
  if (op == RTW_WS_OP_TEXT && !fuzz_utf8_valid(p, len))
    applies |= ebit(RTW_ERR_INVALID_UTF8);
  if (len + RTW_WS_MAX_HEADER > r->cf->max_out)
    applies |= ebit(RTW_ERR_WS_OUTBOUND_FULL);
  fuzz_log_raw(&copy, p, len); /* a lent payload may be released (freed) before we look */
  if (how == 2) {
    rv = rtw_ws_queue_message(r->ws, op, p, len, RTW_WS_QUEUE_NOCOPY);
  } else if (how == 1) {
    rv = op == RTW_WS_OP_TEXT ? rtw_ws_queue_text(r->ws, (const char *)p, len)
                              : rtw_ws_queue_binary(r->ws, p, len);
  } else {
    rv = rtw_ws_queue_message(r->ws, op, len ? p : NULL, len, 0);
  }
  expect_queue(r, rv, applies, pending, failed0, rand0);
  if (rv == 0) {
    omsg *m = model_push(r, op);
    m->bytes = copy;
    m->complete = 1;
  } else {
    fuzz_log_free(&copy);
  }
  if (how == 2)
    lend_forget(r, idx, rv);
}

static void op_message(run *r, uint8_t o, int kind)
{
  int op = kind <= 2 ? RTW_WS_OP_TEXT : RTW_WS_OP_BINARY;
  size_t len = op_len(r, o);
  uint8_t *p;

  if (kind == 2) {
    p = take_raw(r, len % 24, &len);
  } else {
    p = xmalloc(len);
    if (op == RTW_WS_OP_TEXT)
      gen_text(r, p, len);
    else
      gen_bytes(r, p, len);
  }
  if (kind == 4)
    queue_msg(r, op, p, len, 2, lend(r, p, len));
  else
    queue_msg(r, op, p, len, (o & 0x10) ? 1 : 0, 0);
  if (kind != 4)
    free(p);
}

static void op_fragment(run *r, uint8_t o)
{
  int op = (o & 0x10) ? RTW_WS_OP_TEXT : RTW_WS_OP_BINARY;
  int fin = (o & 0x20) != 0;
  size_t len = op_len(r, o);
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  int pending = rtw_ws_want_write(r->ws);
  uint32_t applies = closed_bit(r);
  uint8_t *p;
  int rv;

  if (o & 0x40)
    p = take_raw(r, len % 16, &len);
  else if (op == RTW_WS_OP_TEXT)
    p = gen_stream_text(r, &len, fin);
  else {
    p = xmalloc(len);
    gen_bytes(r, p, len);
  }
  if (r->stream_open && r->stream_op != op)
    applies |= ebit(RTW_ERR_INVALID_STATE);
  if (op == RTW_WS_OP_TEXT && !(applies & ebit(RTW_ERR_INVALID_STATE))) {
    /* validated across pieces: the message so far (its unfinished character) + this piece */
    fuzz_log tail = {NULL, 0, 0};
    if (r->stream_open && r->m[r->nm - 1].bytes.len > r->stream_done)
      fuzz_log_raw(&tail, r->m[r->nm - 1].bytes.p + r->stream_done,
                   r->m[r->nm - 1].bytes.len - r->stream_done);
    fuzz_log_raw(&tail, p, len);
    if (!utf8_prefix_valid((const uint8_t *)tail.p, tail.len) ||
        (fin && !fuzz_utf8_valid(tail.p, tail.len)))
      applies |= ebit(RTW_ERR_INVALID_UTF8);
    fuzz_log_free(&tail);
  }
  if (len + RTW_WS_MAX_HEADER > r->cf->max_out)
    applies |= ebit(RTW_ERR_WS_OUTBOUND_FULL);
  rv = rtw_ws_queue_fragment(r->ws, op, len ? p : NULL, len, fin);
  expect_queue(r, rv, applies, pending, failed0, rand0);
  if (rv == 0) {
    omsg *m = r->stream_open ? &r->m[r->nm - 1] : model_push(r, op);
    if (!r->stream_open)
      r->stream_done = 0;
    fuzz_log_raw(&m->bytes, p, len);
    if (op == RTW_WS_OP_TEXT)
      (void)utf8_prefix_ok((const uint8_t *)m->bytes.p, m->bytes.len, &r->stream_done);
    r->stream_open = !fin;
    r->stream_op = op;
    m->complete = (uint8_t)fin;
  }
  free(p);
}

static void queue_ctrl(run *r, int op, const uint8_t *p, size_t len)
{
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  size_t used = rtw_ws_outbound_size(r->ws);
  uint32_t applies = closed_bit(r);
  int rv;

  if (len > RTW_WS_MAX_CONTROL_PAYLOAD)
    applies |= ebit(RTW_ERR_WS_CONTROL_TOO_LONG);
  /* ws.h max_outbound: pings and pongs fit while the total stays within max_outbound + 111
   * (counting a 14-byte header), leaving room for the close frame */
  if (used + RTW_WS_MAX_HEADER + len > r->cf->max_out + 111)
    applies |= ebit(RTW_ERR_WS_OUTBOUND_FULL);
  rv = op == RTW_WS_OP_PING ? rtw_ws_queue_ping(r->ws, len ? p : NULL, len)
                            : rtw_ws_queue_pong(r->ws, len ? p : NULL, len);
  expect_queue(r, rv, applies, 0, failed0, rand0);
  if (rv == 0)
    model_ctrl(r, op, p, len);
}

static void op_control(run *r, uint8_t o, int op)
{
  size_t len = fuzz_u8(&r->ops) % 131u; /* 126..130: too long */
  uint8_t *p = xmalloc(len);

  if (o & 0x10)
    gen_text(r, p, len);
  else
    gen_bytes(r, p, len);
  if (len == sizeof KEEPALIVE_PAYLOAD - 1 && memcmp(p, KEEPALIVE_PAYLOAD, len) == 0)
    p[0] = 'R'; /* keep the session's own keepalive pings recognisable */
  queue_ctrl(r, op, p, len);
  free(p);
}

/* Inside a callback: send back what it was given, straight from the session's (or the
 * input's) memory: a pong from on_ping's payload, a message from on_message's or one
 * piece of on_message_data's (as binary: a piece may cut a character). */
static int op_echo(run *r, uint8_t o)
{
  if (r->cb_data == NULL && r->cb_len == 0)
    return 0;
  if (r->cb_op == RTW_WS_OP_PING)
    queue_ctrl(r, RTW_WS_OP_PONG, r->cb_data, r->cb_len);
  else
    queue_msg(r, r->cb_op, r->cb_data, r->cb_len, (o & 0x10) ? 1 : 0, 0);
  return 1;
}

static void op_close(run *r, uint8_t o)
{
  static const int codes[] = {0,    1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008,
                              1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 2999, 3000,
                              3999, 4000, 4999, 5000, 999,  65535, -1,  1999};
  int code = codes[fuzz_u8(&r->ops) % (sizeof codes / sizeof *codes)];
  size_t rlen = fuzz_u8(&r->ops) % 128u;
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  uint32_t applies = 0;
  uint8_t *p;
  int rv, sent, expect_sent = code ? code : RTW_WS_CLOSE_NO_STATUS;

  if (o & 0x10) {
    p = take_raw(r, rlen % 8, &rlen);
  } else {
    p = xmalloc(rlen);
    gen_text(r, p, rlen);
  }
  if (code == 0 && rlen > 0)
    applies |= ebit(RTW_ERR_INVALID_ARGUMENT);
  applies |= closed_bit(r);
  if (code != 0 && !code_sendable(code))
    applies |= ebit(RTW_ERR_WS_BAD_CLOSE_CODE);
  if (rlen > RTW_WS_MAX_CONTROL_PAYLOAD - 2)
    applies |= ebit(RTW_ERR_WS_CONTROL_TOO_LONG);
  if (rlen > 0 && !fuzz_utf8_valid(p, rlen))
    applies |= ebit(RTW_ERR_INVALID_UTF8);
  sent = rtw_ws_close_sent(r->ws);
  rv = fuzz_mem_saw(rtw_ws_close(r->ws, code, rlen ? (const char *)p : NULL, rlen));
  if (rv == RTW_ERR_NOMEM || rv == RTW_ERR_CALLBACK_FAILURE) {
    /* not in ws.h's list: the close frame could not be queued */
    FUZZ_CHECK(applies == 0);
    FUZZ_CHECK(rv == (r->rand_failures != rand0 ? RTW_ERR_CALLBACK_FAILURE : RTW_ERR_NOMEM));
    FUZZ_CHECK(r->fm.failed != failed0 || r->rand_failures != rand0);
    r->close_maybe_missing = 1;
  } else {
    expect_queue(r, rv, applies, 0, failed0, rand0);
  }
  if (rv == 0 || rtw_ws_close_sent(r->ws) != sent) {
    FUZZ_CHECK(rtw_ws_close_sent(r->ws) == expect_sent);
    r->user_code = expect_sent;
    memcpy(r->user_reason, p, rlen);
    r->user_rlen = rlen;
  } else {
    FUZZ_CHECK(rtw_ws_close_sent(r->ws) == sent);
  }
  r->cs_known = rtw_ws_close_sent(r->ws);
  free(p);
}

/* send_pending(_iov) failed: the session is unusable and its output gone (ws.h). */
static void output_failed(run *r, int rv, unsigned long failed0, unsigned rand0)
{
  /* a failing random callback (client masking key) is a callback failure */
  if (r->rand_failures != rand0)
    FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE);
  else
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && r->fm.failed != failed0);
  FUZZ_CHECK(!rtw_ws_want_read(r->ws) && !rtw_ws_want_write(r->ws));
  if (r->err == 0)
    r->err = rv;
  r->dropped = r->disturbed = 1;
}

/* Take k of the pending bytes: append them to the output, then report them consumed. */
static void take(run *r, const rtw_iovec *iov, size_t count, size_t k)
{
  size_t i, left = k;

  for (i = 0; i < count && left > 0; i++) {
    size_t n = iov[i].len < left ? iov[i].len : left;
    fuzz_log_raw(&r->out, iov[i].base, n);
    left -= n;
  }
  FUZZ_CHECK(left == 0);
  FUZZ_CHECK(rtw_ws_send_consumed(r->ws, k) == 0);
}

/* One send_pending (mode 0) or send_pending_iov (mode 1) and a partial (or full) consume. */
static void op_send(run *r, int mode, uint8_t o, int all)
{
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  rtw_iovec iov[16];
  size_t count = 99, total = 0, i, max = 1u + (o >> 4);
  int rv;

  if (mode == 0) {
    const void *p = NULL;
    size_t n = 99;
    rv = rtw_ws_send_pending(r->ws, &p, &n);
    if (rv != 0) {
      FUZZ_CHECK(p == NULL && n == 0);
      output_failed(r, rv, failed0, rand0);
      return;
    }
    FUZZ_CHECK((n != 0) == (rtw_ws_want_write(r->ws) != 0));
    if (n == 0)
      return;
    FUZZ_CHECK(p != NULL);
    /* the first gather element is the same range */
    FUZZ_CHECK(rtw_ws_send_pending_iov(r->ws, iov, 1, &count) == 0 && count == 1);
    FUZZ_CHECK(iov[0].base == p && iov[0].len == n);
    count = 1;
    total = n;
  } else {
    rv = rtw_ws_send_pending_iov(r->ws, iov, max, &count);
    if (rv != 0) {
      FUZZ_CHECK(count == 0);
      output_failed(r, rv, failed0, rand0);
      return;
    }
    FUZZ_CHECK(count <= max);
    FUZZ_CHECK((count != 0) == (rtw_ws_want_write(r->ws) != 0));
    for (i = 0; i < count; i++) {
      FUZZ_CHECK(iov[i].base != NULL && iov[i].len > 0);
      total += iov[i].len;
    }
    if (count == 0)
      return;
    if (count < max && (o & 0x08)) { /* all of it is listed: one byte more is refused */
      FUZZ_CHECK(rtw_ws_send_consumed(r->ws, total + 1) == RTW_ERR_INVALID_ARGUMENT);
    }
  }
  take(r, iov, count, all ? total : fuzz_rng_below(&r->rng, total + 1));
}

static void drain(run *r)
{
  unsigned long guard = 0;

  while (r->ws != NULL) {
    const void *p = NULL;
    size_t n = 0;
    unsigned long failed0 = r->fm.failed;
    unsigned rand0 = r->rand_failures;
    rtw_iovec one;
    int rv = rtw_ws_send_pending(r->ws, &p, &n);
    if (rv != 0) {
      output_failed(r, rv, failed0, rand0);
      return;
    }
    if (n == 0) {
      size_t count = 99;
      FUZZ_CHECK(!rtw_ws_want_write(r->ws));
      FUZZ_CHECK(rtw_ws_send_pending_iov(r->ws, &one, 1, &count) == 0 && count == 0);
      return;
    }
    FUZZ_CHECK(++guard < 100000000ul);
    one.base = p;
    one.len = n;
    take(r, &one, 1, n);
  }
}

static void op_tick(run *r, uint8_t o)
{
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;
  uint64_t next;
  int rv;

  size_t out0 = rtw_ws_outbound_size(r->ws);

  r->now += (uint64_t)fuzz_u8(&r->ops) * (1u + (o >> 4));
  rv = rtw_ws_tick(r->ws, r->now);
  if (r->err != 0) {
    FUZZ_CHECK(rv == 0); /* reported already */
    /* ws.h: a failed session's output is dropped once it made no progress in time */
    if (out0 > 0 && rtw_ws_outbound_size(r->ws) == 0) {
      FUZZ_CHECK(!rtw_ws_want_write(r->ws));
      r->dropped = r->disturbed = 1;
    }
    if (rtw_ws_outbound_size(r->ws) == 0)
      FUZZ_CHECK(rtw_ws_next_deadline(r->ws) == UINT64_MAX);
    return;
  }
  if (rv == 0) {
    next = rtw_ws_next_deadline(r->ws);
    FUZZ_CHECK(next >= r->now);
    return;
  }
  switch (rv) {
  case RTW_ERR_WS_PONG_TIMEOUT:
    FUZZ_CHECK(r->cf->st.keepalive_ms != 0);
    break;
  case RTW_ERR_WS_CLOSE_TIMEOUT:
    FUZZ_CHECK(rtw_ws_close_sent(r->ws) != 0 && r->peer_code == 0);
    break;
  default: /* the keepalive ping could not be queued (not in ws.h's list) */
    FUZZ_CHECK(r->cf->st.keepalive_ms != 0);
    if (r->rand_failures != rand0)
      FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE);
    else
      FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && r->fm.failed != failed0);
    break;
  }
  FUZZ_CHECK(!rtw_ws_want_read(r->ws) && !rtw_ws_want_write(r->ws));
  FUZZ_CHECK(rtw_ws_next_deadline(r->ws) == UINT64_MAX);
  r->err = rv;
  r->dropped = r->disturbed = 1;
}

/* ws.h rtw_ws_want_read(): 0 after an error; after the peer's close 0 for a server, while a
 * client waits for the server's EOF (1 until close_timeout_ms has passed at a tick); before
 * it 1, unless the input gate holds it (the outbound size then is above the low water). */
static void check_want_read(run *r)
{
  int wr = rtw_ws_want_read(r->ws);

  if (r->err != 0)
    FUZZ_CHECK(!wr);
  else if (r->peer_code != 0)
    FUZZ_CHECK(IS_CLIENT || !wr);
  else
    FUZZ_CHECK(wr || (r->cf->gate &&
                      rtw_ws_outbound_size(r->ws) > r->cf->st.outbound_low_water));
}

/* The input gate holds input: the host must drain before it feeds more. */
static int gated(run *r)
{
  return r->cf->gate && r->err == 0 && r->peer_code == 0 && !rtw_ws_want_read(r->ws);
}

/* The first error stays the one recv() reports, whatever failed later (ws.h: sticky). */
static void check_sticky(run *r)
{
  size_t nread = 3;

  if (r->err != 0)
    FUZZ_CHECK(rtw_ws_recv(r->ws, "\x81\x80", 2, &nread) == r->err && nread == 0);
}

static void op_state(run *r)
{
  check_sticky(r);
  check_want_read(r);
  FUZZ_CHECK(rtw_ws_outbound_size(r->ws) <= r->cf->max_out + 256); /* ws.h max_outbound */
  FUZZ_CHECK(rtw_ws_close_received(r->ws) == r->peer_code);
  FUZZ_CHECK(rtw_ws_user_data(r->ws) == r);
  FUZZ_CHECK(rtw_ws_close_sent(r->ws) == r->cs_known || r->cs_known == 0);
}

/* Run the next op of the stream. Inside a callback only the queue kinds run (ws.h). */
static void do_op(run *r, int in_cb)
{
  uint8_t o = fuzz_u8(&r->ops);
  unsigned kind = o & 15u;

  if (in_cb)
    kind %= 10u;
  if (in_cb && (kind == 2 || kind == 8) && op_echo(r, o))
    return;
  switch (kind) {
  case 0:
  case 1:
  case 2:
  case 3:
  case 4:
    op_message(r, o, (int)kind);
    break;
  case 5:
  case 6:
    op_fragment(r, o);
    break;
  case 7:
    op_control(r, o, RTW_WS_OP_PING);
    break;
  case 8:
    op_control(r, o, RTW_WS_OP_PONG);
    break;
  case 9:
    op_close(r, o);
    break;
  case 10:
    op_send(r, 0, o, 0);
    break;
  case 11:
    op_send(r, 1, o, 0);
    break;
  case 12:
    op_tick(r, o);
    break;
  case 13:
    drain(r);
    break;
  case 14: {
    rtw_iovec iov[64];
    size_t count = 0, total = 0, i;
    unsigned long failed0 = r->fm.failed;
    unsigned rand0 = r->rand_failures;
    int rv = rtw_ws_send_pending_iov(r->ws, iov, 64, &count);
    if (rv != 0) {
      output_failed(r, rv, failed0, rand0);
    } else if (count < 64) { /* all of it is listed: more than that is refused */
      for (i = 0; i < count; i++)
        total += iov[i].len;
      FUZZ_CHECK(rtw_ws_send_consumed(r->ws, total + 1 + (o >> 4)) ==
                 RTW_ERR_INVALID_ARGUMENT);
    }
    break;
  }
  default:
    op_state(r);
    break;
  }
}

static void run_cb_ops(run *r)
{
  unsigned long failed0 = r->fm.failed;
  unsigned rand0 = r->rand_failures;

  while (r->ops.n > 0 && fuzz_rng_below(&r->rng, 64) < r->cf->density) {
    r->in_cb_ops = 1;
    do_op(r, 1);
    r->in_cb_ops = 0;
  }
  r->cb_op_allocfails += r->fm.failed - failed0;
  r->cb_op_randfails += r->rand_failures - rand0;
  r->cs_known = rtw_ws_close_sent(r->ws);
}

static void maybe_ops(run *r)
{
  while (r->ops.n > 0 && fuzz_rng_below(&r->rng, 32) < r->cf->density)
    do_op(r, 0);
}

/* ------------------------------------------------------------------ receiving */

/* A new receive error: the matching close code, want_read 0, sticky. When the library's own
 * allocation or random callback failed during this call, the close frame that fails the
 * connection may not have been queued (close_sent stays 0): the error is still reported. */
static void new_error(run *r, int rv, int lib_failed)
{
  size_t nread = 7;
  int expect = r->cs_known != 0 ? r->cs_known : code_for(rv);

  FUZZ_CHECK((ebit(rv) & recv_errors()) != 0);
  FUZZ_CHECK(!rtw_ws_want_read(r->ws));
  FUZZ_CHECK(rtw_ws_close_sent(r->ws) == expect ||
             (lib_failed && r->cs_known == 0 && rtw_ws_close_sent(r->ws) == 0));
  FUZZ_CHECK(rtw_ws_recv(r->ws, "\x81\x00", 2, &nread) == rv && nread == 0);
  r->err = rv;
  r->cs_known = rtw_ws_close_sent(r->ws);
}

static int recv_checked(run *r, const uint8_t *p, size_t n, size_t *nread)
{
  unsigned long failed0 = r->fm.failed, cbf0 = r->cb_op_allocfails;
  unsigned rand0 = r->rand_failures, cbr0 = r->cb_op_randfails;
  int peer0 = r->peer_code;
  unsigned long lib_alloc;
  unsigned lib_rand;
  int rv;

  r->cb_failed = r->cb_paused = 0;
  r->cs_known = rtw_ws_close_sent(r->ws);
  *nread = (size_t)-1;
  if (r->inplace && n > 0) {
    uint8_t *w = xmalloc(n);
    memcpy(w, p, n);
    rv = rtw_ws_recv_inplace(r->ws, w, n, nread);
    FUZZ_CHECK(*nread <= n);
    /* ws.h: the bytes it did not consume are left untouched */
    FUZZ_CHECK(memcmp(w + *nread, p + *nread, n - *nread) == 0);
    free(w);
  } else {
    rv = rtw_ws_recv(r->ws, p, n, nread);
  }
  FUZZ_CHECK(*nread <= n);
  if (r->err != 0) { /* sticky, whatever failed it (recv, tick, send_pending) */
    FUZZ_CHECK(rv == r->err && *nread == 0);
    FUZZ_CHECK(!r->cb_failed && !r->cb_paused);
    return rv;
  }
  lib_alloc = (r->fm.failed - failed0) - (r->cb_op_allocfails - cbf0);
  lib_rand = (r->rand_failures - rand0) - (r->cb_op_randfails - cbr0);
  if (r->cb_failed)
    FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE);
  else if (rv == RTW_ERR_CALLBACK_FAILURE)
    FUZZ_CHECK(lib_rand > 0); /* the random callback, for an automatic pong */
  if (fuzz_mem_saw(rv) == RTW_ERR_NOMEM)
    FUZZ_CHECK(lib_alloc > 0);
  if (rv == RTW_ERR_PAUSE) /* a callback paused, or the input gate (maybe before any byte) */
    FUZZ_CHECK((r->cb_paused && *nread > 0) || (!r->cb_paused && gated(r)));
  if (rv == 0)
    FUZZ_CHECK(*nread == n && !r->cb_paused);
  if ((lib_alloc > 0 || lib_rand > 0) && (rv == 0 || rv == RTW_ERR_PAUSE)) {
    /* only the answer to the peer's close is queued without a way to report failure */
    FUZZ_CHECK(r->peer_code != 0 && peer0 == 0);
    r->close_maybe_missing = 1;
  }
  if (lib_alloc > 0 || lib_rand > 0)
    r->close_maybe_missing = 1; /* the close a failure queues may have failed too */
  if (rv != 0 && rv != RTW_ERR_PAUSE)
    new_error(r, rv, lib_alloc > 0 || lib_rand > 0);
  return rv;
}

static size_t piece_len(run *r, size_t left)
{
  static const size_t range[4] = {1, 8, 64, 0};
  size_t max = range[r->cf->h[5] & 3u] ? range[r->cf->h[5] & 3u] : left;

  if (max > left)
    max = left;
  return 1 + fuzz_rng_below(&r->rng, max);
}

static void feed(run *r)
{
  const uint8_t *s = r->cf->wire;
  size_t n = r->cf->wire_len;

  if (!r->is_a) {
    size_t nread;
    int rv;
    FUZZ_CHECK(rtw_ws_recv(r->ws, NULL, 0, &nread) == 0 && nread == 0);
    rv = recv_checked(r, s, n, &nread);
    while (rv == RTW_ERR_PAUSE) { /* only the input gate pauses run B */
      FUZZ_CHECK(!r->cb_paused && gated(r));
      drain(r);
      s += nread;
      n -= nread;
      rv = recv_checked(r, s, n, &nread);
    }
    return;
  }
  while (n > 0 && r->err == 0) {
    size_t piece, left, nread;
    const uint8_t *q = s;
    int rv = 0;
    maybe_ops(r);
    if (r->err != 0)
      break;
    piece = piece_len(r, n);
    left = piece;
    while (left > 0) {
      rv = recv_checked(r, q, left, &nread);
      q += nread;
      left -= nread;
      if (rv != RTW_ERR_PAUSE)
        break;
      maybe_ops(r);
      if (r->err == 0 && gated(r))
        drain(r); /* the gate opens once output is written */
      if (r->err != 0)
        break;
    }
    s += piece;
    n -= piece;
  }
  if (n > 0) { /* stopped by an error: the rest is refused, sticky */
    size_t nread;
    FUZZ_CHECK(recv_checked(r, s, n, &nread) == r->err);
  }
  while (r->ops.n > 0)
    do_op(r, 0);
}

/* ------------------------------------------------------------------ output checker */

/* The control frames of a log (op, length, payload records) split into pongs and others. */
static void split_ctrl(const fuzz_log *in, fuzz_log *pongs, fuzz_log *other, size_t *npongs)
{
  const uint8_t *p = (const uint8_t *)in->p;
  size_t off = 0;

  *npongs = 0;
  while (off + 2 <= in->len) {
    size_t rec = 2u + p[off + 1];
    FUZZ_CHECK(off + rec <= in->len);
    if (p[off] == RTW_WS_OP_PONG) {
      fuzz_log_raw(pongs, p + off, rec);
      (*npongs)++;
    } else {
      fuzz_log_raw(other, p + off, rec);
    }
    off += rec;
  }
}

/* Whether the record at rec (one pong) occurs among the records of `in`. */
static int has_record(const fuzz_log *in, const uint8_t *rec)
{
  const uint8_t *p = (const uint8_t *)in->p;
  size_t off = 0, n = 2u + rec[1];

  for (; off + 2 <= in->len; off += 2u + p[off + 1])
    if (p[off + 1] == rec[1] && memcmp(p + off, rec, n) == 0)
      return 1;
  return 0;
}

/* Automatic pongs over budget (RFC 6455 5.5.3): the non-pong control frames exactly as
 * queued, and the pongs sent no more than queued, each one of those queued. */
static void check_merged_pongs(const fuzz_log *queued, const fuzz_log *sent, int dropped)
{
  fuzz_log qp = {NULL, 0, 0}, qo = {NULL, 0, 0}, sp = {NULL, 0, 0}, so = {NULL, 0, 0};
  size_t nq, ns, off;

  split_ctrl(queued, &qp, &qo, &nq);
  split_ctrl(sent, &sp, &so, &ns);
  FUZZ_CHECK(ns <= nq);
  for (off = 0; off + 2 <= sp.len; off += 2u + ((const uint8_t *)sp.p)[off + 1])
    FUZZ_CHECK(has_record(&qp, (const uint8_t *)sp.p + off));
  FUZZ_CHECK(so.len <= qo.len && (so.len == 0 || memcmp(so.p, qo.p, so.len) == 0));
  if (!dropped)
    fuzz_log_expect_equal("control frames but pongs, queued vs sent", &qo, &so);
  fuzz_log_free(&qp);
  fuzz_log_free(&qo);
  fuzz_log_free(&sp);
  fuzz_log_free(&so);
}

/* Parse everything the session wrote, from RFC 6455 alone, and compare it with what was
 * queued. `close_sent` is rtw_ws_close_sent() at the end. */
static void check_output(run *r, int close_sent)
{
  const uint8_t *p = (const uint8_t *)r->out.p;
  size_t n = r->out.len, off = 0, mi = 0, nframes = 0, i;
  int in_msg = 0, msg_op = 0, closes = 0, close_code = 0;
  fuzz_log cur = {NULL, 0, 0}, ctrl = {NULL, 0, 0}, reason = {NULL, 0, 0};
  int keys_ok = IS_CLIENT && !(r->cf->h[0] & H_OSRNG) && r->fm.failed == 0;

  while (off < n) {
    size_t avail = n - off, hl, ext, plen;
    unsigned b0, b1, op, len7;
    uint64_t len = 0;
    uint8_t key[4] = {0, 0, 0, 0};
    uint8_t *pl;
    if (avail < 2)
      break;
    b0 = p[off];
    b1 = p[off + 1];
    op = b0 & 15u;
    len7 = b1 & 127u;
    ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    hl = 2 + ext + ((b1 & 0x80) ? 4 : 0);
    if (avail < hl)
      break;
    for (i = 0; i < ext; i++)
      len = len << 8 | p[off + 2 + i];
    if (ext == 0)
      len = len7;
    FUZZ_CHECK(ext != 2 || len >= 126); /* 5.2: minimal length */
    FUZZ_CHECK(ext != 8 || (len > 0xFFFF && (len >> 63) == 0));
    FUZZ_CHECK(((b1 & 0x80) != 0) == IS_CLIENT); /* 5.1 / 5.3: clients mask, servers not */
    FUZZ_CHECK((b0 & 0x70) == 0);                /* 5.2: no extension was negotiated */
    FUZZ_CHECK(op <= 2 || (op >= 8 && op <= 10));
    if (len > avail - hl)
      break;
    plen = (size_t)len;
    if (b1 & 0x80) {
      memcpy(key, p + off + hl - 4, 4);
      if (keys_ok) {
        FUZZ_CHECK(4 * nframes + 4 <= r->rand_given.len);
        FUZZ_CHECK(memcmp(key, r->rand_given.p + 4 * nframes, 4) == 0);
      }
    }
    pl = xmalloc(plen);
    for (i = 0; i < plen; i++)
      pl[i] = (uint8_t)(p[off + hl + i] ^ key[i % 4]);
    FUZZ_CHECK(closes == 0 || op == RTW_WS_OP_PONG); /* 5.5.1: no data, no second close */
    if (op >= 8) {
      FUZZ_CHECK((b0 & 0x80) && plen <= RTW_WS_MAX_CONTROL_PAYLOAD); /* 5.5 */
      if (op == RTW_WS_OP_CLOSE) {
        FUZZ_CHECK(plen != 1);
        closes++;
        close_code = RTW_WS_CLOSE_NO_STATUS;
        if (plen >= 2) {
          close_code = pl[0] << 8 | pl[1];
          FUZZ_CHECK(code_sendable(close_code));
          FUZZ_CHECK(fuzz_utf8_valid(pl + 2, plen - 2));
          fuzz_log_raw(&reason, pl + 2, plen - 2);
        }
      } else if (!(r->cf->st.keepalive_ms != 0 && op == RTW_WS_OP_PING &&
                   plen == sizeof KEEPALIVE_PAYLOAD - 1 &&
                   memcmp(pl, KEEPALIVE_PAYLOAD, plen) == 0)) {
        uint8_t h[2];
        h[0] = (uint8_t)op;
        h[1] = (uint8_t)plen;
        fuzz_log_raw(&ctrl, h, 2);
        fuzz_log_raw(&ctrl, pl, plen);
      }
    } else {
      FUZZ_CHECK(plen <= r->cf->frag); /* messages are cut at fragment_size */
      if (op == RTW_WS_OP_CONTINUATION) {
        FUZZ_CHECK(in_msg); /* 5.4 */
      } else {
        FUZZ_CHECK(!in_msg);
        in_msg = 1;
        msg_op = (int)op;
        fuzz_log_clear(&cur);
      }
      fuzz_log_raw(&cur, pl, plen);
      if (b0 & 0x80) {
        FUZZ_CHECK(mi < r->nm);
        FUZZ_CHECK(r->m[mi].complete && r->m[mi].op == msg_op);
        fuzz_log_expect_equal("a message we sent", &r->m[mi].bytes, &cur);
        if (msg_op == RTW_WS_OP_TEXT)
          FUZZ_CHECK(fuzz_utf8_valid(cur.p, cur.len));
        mi++;
        in_msg = 0;
      }
    }
    free(pl);
    nframes++;
    off += hl + plen;
  }
  /* the stream ends on a frame boundary unless output was thrown away */
  FUZZ_CHECK(off == n || r->dropped);
  if (in_msg) {
    /* a message left open: a queue_fragment stream never finished, or dropped output */
    FUZZ_CHECK(mi < r->nm && r->m[mi].op == msg_op);
    FUZZ_CHECK(cur.len <= r->m[mi].bytes.len &&
               (cur.len == 0 || memcmp(cur.p, r->m[mi].bytes.p, cur.len) == 0));
    FUZZ_CHECK(r->dropped || (!r->m[mi].complete && mi + 1 == r->nm));
  }
  /* Every complete message went out, unless a failure dropped those not yet started. */
  if (!r->dropped && r->err == 0) {
    size_t complete = 0;
    for (i = 0; i < r->nm; i++)
      complete += r->m[i].complete;
    FUZZ_CHECK(mi == complete);
  }
  /* Control frames: exactly those queued (automatic pongs included), in order; over a
   * small budget automatic pongs may have been merged (5.5.3). */
  if (r->cf->pong_merge) {
    check_merged_pongs(&r->ctrl, &ctrl, r->dropped);
  } else {
    FUZZ_CHECK(ctrl.len <= r->ctrl.len &&
               (ctrl.len == 0 || memcmp(ctrl.p, r->ctrl.p, ctrl.len) == 0));
    if (!r->dropped)
      fuzz_log_expect_equal("control frames queued vs sent", &r->ctrl, &ctrl);
  }
  /* The close frame: the last one, with the code rtw_ws_close_sent() reports. */
  FUZZ_CHECK(closes <= 1);
  if (closes == 1) {
    FUZZ_CHECK(close_code == close_sent);
    if (r->user_code != 0) /* ours, from rtw_ws_close(): its reason */
      FUZZ_CHECK(reason.len == r->user_rlen &&
                 (reason.len == 0 || memcmp(reason.p, r->user_reason, reason.len) == 0));
    else
      FUZZ_CHECK(reason.len == 0); /* an answer or a failure carries no reason */
  }
  if (!r->dropped && !r->close_maybe_missing && r->fm.failed == 0 && r->rand_failures == 0)
    FUZZ_CHECK(closes == (close_sent != 0));
  fuzz_log_free(&cur);
  fuzz_log_free(&ctrl);
  fuzz_log_free(&reason);
}

/* ------------------------------------------------------------------ one run */

static void run_free(run *r)
{
  size_t i;

  for (i = 0; i < r->nm; i++)
    fuzz_log_free(&r->m[i].bytes);
  free(r->m);
  for (i = 0; i < r->nln; i++)
    free(r->ln[i].p);
  free(r->ln);
  fuzz_log_free(&r->msg);
  fuzz_log_free(&r->events);
  fuzz_log_free(&r->out);
  fuzz_log_free(&r->rand_given);
  fuzz_log_free(&r->ctrl);
}

static void session(run *r, const config *cf, int whole, int is_a, int inplace)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = cf->st;
  static char poison;
  int rv, close_sent;
  size_t i;

  memset(r, 0, sizeof *r);
  r->cf = cf;
  r->whole = whole;
  r->is_a = is_a;
  r->inplace = inplace;
  r->rand_state = 0x2545F491u;
  fuzz_rng_seed(&r->rng, (uint32_t)cf->h[5] << 8 | cf->h[6]);
  if (is_a) {
    r->ops.p = cf->ops;
    r->ops.n = cf->ops_len;
  }
  /* D (in place) refuses no allocation: the sweep's schedule is A's alone */
  fuzz_mem_init(&r->fm, is_a && !inplace ? fuzz_mem_scheduled(cf->h[7]) : 0);
  if (is_a && !inplace)
    fuzz_mem_mark_scheduled(&r->fm);
  cb.on_message_begin = on_begin;
  cb.on_message_data = on_data;
  cb.on_message_end = on_end;
  cb.on_message = on_message;
  cb.on_ping = on_ping;
  cb.on_pong = on_pong;
  cb.on_close = on_close;
  cb.on_payload_released = on_released;
  cb.random = IS_CLIENT && !(cf->h[0] & H_OSRNG) ? on_random : NULL;
  if (whole)
    st.flags |= RTW_WS_FLAG_WHOLE_MESSAGES;
  r->ws = (rtw_ws *)(void *)&poison; /* must become a session or NULL */
  rv = rtw_ws_new(&r->ws, FUZZ_WS_ROLE, &cb, &st, &r->fm.mem, r);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && r->fm.failed == 1 && r->ws == NULL);
    fuzz_mem_check_clean(&r->fm);
    r->disturbed = 1;
    return;
  }
  FUZZ_CHECK(r->ws != NULL && rtw_ws_user_data(r->ws) == r);
  FUZZ_CHECK(rtw_ws_want_read(r->ws) && !rtw_ws_want_write(r->ws));
  FUZZ_CHECK(rtw_ws_close_sent(r->ws) == 0 && rtw_ws_close_received(r->ws) == 0);
  FUZZ_CHECK(rtw_ws_next_deadline(r->ws) == UINT64_MAX); /* timers arm at the first tick */
  feed(r);
  drain(r);
  check_sticky(r);
  if (r->fm.failed != 0 || r->rand_failures != 0)
    r->disturbed = 1;
  check_want_read(r);
  FUZZ_CHECK(!rtw_ws_want_write(r->ws) && rtw_ws_outbound_size(r->ws) == 0);
  FUZZ_CHECK(rtw_ws_close_received(r->ws) == r->peer_code);
  close_sent = rtw_ws_close_sent(r->ws);
  check_output(r, close_sent);
  rtw_ws_free(r->ws);
  r->ws = NULL;
  for (i = 0; i < r->nln; i++) /* every payload lent was given back */
    FUZZ_CHECK(!r->ln[i].live);
  fuzz_mem_check_clean(&r->fm);
}

/* ------------------------------------------------------------------ reference receiver */

/* What the session must report for the peer's bytes, from RFC 6455 alone: the events of run
 * B (whole input, nothing failing but the counted callback), the errors the first bad frame
 * allows (0: no error), and the peer's close code. */
typedef struct ref_result {
  fuzz_log events;
  uint32_t errs;
  int peer_code;
} ref_result;

static void reference(const config *cf, ref_result *res)
{
  const uint8_t *p = cf->wire;
  size_t n = cf->wire_len, off = 0, i;
  int msg_op = 0;
  uint64_t msg_len = 0;
  unsigned ncb = 0;
  fuzz_log msg = {NULL, 0, 0};

  memset(res, 0, sizeof *res);
#define REF_CB()                                                                          \
  do {                                                                                    \
    if (cf->fail_cb_at != 0 && ++ncb == cf->fail_cb_at && cf->fail_cb_at % 4 != 3) {      \
      res->errs = ebit(RTW_ERR_CALLBACK_FAILURE); /* 3: RTW_ERR_WS_CLOSED counts as 0 */  \
      goto out;                                                                           \
    }                                                                                     \
  } while (0)
  for (;;) {
    size_t avail = n - off, hl, ext, take;
    unsigned b0, b1, fin, rsv, op, masked, len7;
    uint64_t len = 0;
    uint32_t errs = 0;
    uint8_t key[4] = {0, 0, 0, 0};
    uint8_t *pl;
    if (avail < 2)
      break;
    b0 = p[off];
    b1 = p[off + 1];
    fin = b0 >> 7;
    rsv = (b0 >> 4) & 7u;
    op = b0 & 15u;
    masked = b1 >> 7;
    len7 = b1 & 127u;
    ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    hl = 2 + ext + 4 * masked;
    if (avail < hl)
      break;
    for (i = 0; i < ext; i++)
      len = len << 8 | p[off + 2 + i];
    if (ext == 0)
      len = len7;
    if ((ext == 2 && len < 126) || (ext == 8 && (len <= 0xFFFF || (len >> 63) != 0)))
      errs |= ebit(RTW_ERR_WS_BAD_LENGTH);
    if (rsv & ~cf->st.rsv_allowed)
      errs |= ebit(RTW_ERR_WS_RESERVED_BITS);
    if ((op >= 3 && op <= 7) || op >= 11)
      errs |= ebit(RTW_ERR_WS_RESERVED_OPCODE);
    if (IS_CLIENT && masked)
      errs |= ebit(RTW_ERR_WS_MASK_FORBIDDEN);
    if (!IS_CLIENT && !masked)
      errs |= ebit(RTW_ERR_WS_MASK_REQUIRED);
    if (op >= 8 && op <= 10) {
      if (len > 125)
        errs |= ebit(RTW_ERR_WS_CONTROL_TOO_LONG);
      if (!fin)
        errs |= ebit(RTW_ERR_WS_CONTROL_FRAGMENTED);
      if (op == RTW_WS_OP_CLOSE && len == 1)
        errs |= ebit(RTW_ERR_WS_BAD_CLOSE_PAYLOAD);
    } else if (op <= 2) {
      if (op == 0 && msg_op == 0)
        errs |= ebit(RTW_ERR_WS_UNEXPECTED_CONTINUATION);
      if (op != 0 && msg_op != 0)
        errs |= ebit(RTW_ERR_WS_EXPECTED_CONTINUATION);
      if (len > cf->max_frame)
        errs |= ebit(RTW_ERR_WS_FRAME_TOO_LARGE);
      if (len > cf->max_msg - (op == 0 ? msg_len : 0))
        errs |= ebit(RTW_ERR_WS_MESSAGE_TOO_LARGE);
    }
    if (errs != 0) {
      res->errs = errs;
      break;
    }
    if (masked)
      memcpy(key, p + off + hl - 4, 4);
    off += hl;
    avail = n - off;
    take = len < avail ? (size_t)len : avail;
    pl = xmalloc(take);
    for (i = 0; i < take; i++)
      pl[i] = (uint8_t)(p[off + i] ^ key[i % 4]);
    off += take;
    if (op >= 8) {
      if (take < len) { /* the input ends inside a control frame */
        free(pl);
        break;
      }
      if (op == RTW_WS_OP_PING) {
        log_ctrl(&res->events, "ping ", pl, take);
      } else if (op == RTW_WS_OP_PONG) {
        log_ctrl(&res->events, "pong ", pl, take);
      } else {
        int code = RTW_WS_CLOSE_NO_STATUS;
        if (take >= 2) {
          code = pl[0] << 8 | pl[1];
          if (!code_sendable(code))
            res->errs = ebit(RTW_ERR_WS_BAD_CLOSE_CODE);
          else if (!fuzz_utf8_valid(pl + 2, take - 2))
            res->errs = ebit(RTW_ERR_INVALID_UTF8);
        }
        if (res->errs == 0) {
          res->peer_code = code;
          log_close(&res->events, code, take >= 2 ? pl + 2 : pl, take >= 2 ? take - 2 : 0);
        }
        free(pl);
        if (res->errs == 0)
          REF_CB();
        break; /* after the peer's close, nothing more is read */
      }
      free(pl);
      REF_CB();
      continue;
    }
    if (op != 0) {
      msg_op = (int)op;
      msg_len = 0;
      fuzz_log_clear(&msg);
    }
    fuzz_log_raw(&msg, pl, take);
    msg_len += take;
    free(pl);
    if (msg_op == RTW_WS_OP_TEXT && !utf8_prefix_valid((const uint8_t *)msg.p, msg.len)) {
      res->errs = ebit(RTW_ERR_INVALID_UTF8); /* at the first bad byte */
      break;
    }
    if (take < len)
      break; /* the input ends inside this frame */
    if (fin) {
      if (msg_op == RTW_WS_OP_TEXT && !fuzz_utf8_valid(msg.p, msg.len)) {
        res->errs = ebit(RTW_ERR_INVALID_UTF8); /* the message ends inside a sequence */
        break;
      }
      log_msg(&res->events, msg_op, msg.p, msg.len);
      msg_op = 0;
      REF_CB();
    }
  }
#undef REF_CB
out:
  fuzz_log_free(&msg);
}

/* ------------------------------------------------------------------ entry point */

static void read_config(config *cf, const uint8_t *data, size_t size)
{
  uint8_t *h = cf->h;
  size_t rest;

  memset(cf, 0, sizeof *cf);
  if (size > 0)
    memcpy(h, data, size < HEADER_LEN ? size : HEADER_LEN);
  cf->st.version = RTW_WS_SETTINGS_VERSION;
  cf->st.flags = (h[0] & H_NOPONG) ? RTW_WS_FLAG_NO_AUTO_PONG : 0;
  if (h[0] & H_LIMITS) {
    cf->st.max_frame_size = 1u + h[1];
    cf->st.max_message_size = 1u + 4u * h[2];
  }
  if (h[0] & H_FRAG)
    cf->st.fragment_size = h[3] < 128 ? 1u + h[3] % 64u : 97u * (h[3] - 127u);
  cf->st.outbound_high_water = SIZE_MAX; /* the input gate: off unless H_OUTB */
  if (h[0] & H_OUTB) {
    cf->st.max_outbound = 1u + 8u * h[4];
    cf->st.outbound_high_water = cf->st.max_outbound / 2u + 1u;
    cf->st.outbound_low_water = cf->st.max_outbound / 4u;
    cf->gate = 1;
    cf->pong_merge = !(h[0] & H_NOPONG);
  }
  if (h[0] & H_TIMERS) {
    cf->st.keepalive_ms = 1u + 4u * h[10];
    cf->st.pong_timeout_ms = 1u + 50u * (h[11] & 15u);
    cf->st.close_timeout_ms = 1u + 50u * (unsigned)(h[11] >> 4);
  }
  if (h[0] & H_RSV1)
    cf->st.rsv_allowed = RTW_WS_RSV1;
  cf->max_frame = cf->st.max_frame_size ? cf->st.max_frame_size : RTW_WS_DEFAULT_MAX_FRAME_SIZE;
  cf->max_msg =
      cf->st.max_message_size ? cf->st.max_message_size : RTW_WS_DEFAULT_MAX_MESSAGE_SIZE;
  cf->frag = cf->st.fragment_size ? cf->st.fragment_size : RTW_WS_DEFAULT_FRAGMENT_SIZE;
  cf->max_out = cf->st.max_outbound ? cf->st.max_outbound : RTW_WS_DEFAULT_MAX_OUTBOUND;
  cf->pause_chance = h[6];
  cf->fail_cb_at = h[8] & 31u;
  cf->rand_fail_at = IS_CLIENT ? (unsigned)(h[8] >> 5) : 0;
  cf->data_fail_msg = (h[9] & 3u) == 3 ? 1u + ((h[9] >> 2) & 1u) : 0;
  cf->density = h[9] >> 3;
  rest = size > HEADER_LEN ? size - HEADER_LEN : 0;
  cf->ops = size > HEADER_LEN ? data + HEADER_LEN : h + HEADER_LEN; /* an empty range */
  cf->ops_len = h[12] < rest ? h[12] : rest;
  cf->wire = cf->ops + cf->ops_len;
  cf->wire_len = rest - cf->ops_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  config cf;
  run a, b, c, d;
  ref_result ref;
  int whole;

  read_config(&cf, data, size);
  whole = (cf.h[0] & H_WHOLE) != 0;
  session(&a, &cf, whole, 1, 0);
  session(&b, &cf, whole, 0, 0);
  session(&c, &cf, !whole, 0, 0);
  session(&d, &cf, whole, 1, 1);
  if (cf.data_fail_msg == 0) {
    /* B against the reference receiver */
    reference(&cf, &ref);
    fuzz_log_expect_equal("reference receiver vs whole input (B)", &ref.events, &b.events);
    if (ref.errs == 0)
      FUZZ_CHECK(b.err == 0);
    else
      FUZZ_CHECK((ebit(b.err) & ref.errs) != 0);
    FUZZ_CHECK(b.peer_code == ref.peer_code);
    fuzz_log_free(&ref.events);
    /* buffered and streamed delivery agree, and so does the output */
    fuzz_log_expect_equal("whole messages vs streamed (B vs C)", &b.events, &c.events);
    FUZZ_CHECK(b.err == c.err && b.peer_code == c.peer_code);
    if (!(IS_CLIENT && (cf.h[0] & H_OSRNG))) /* the OS's masking keys differ */
      fuzz_log_expect_equal("output of B vs C", &b.out, &c.out);
  }
  /* pieces, pauses and ops (A) change nothing the peer's bytes decide */
  if (!a.disturbed) {
    fuzz_log_expect_equal("pieces, pauses and ops (A) vs whole input (B)", &b.events,
                          &a.events);
    /* (a failing on_message_data may meet a bad UTF-8 byte later in B's bigger piece) */
    FUZZ_CHECK(a.err == b.err || cf.data_fail_msg != 0);
    FUZZ_CHECK(a.peer_code == b.peer_code);
  } else {
    FUZZ_CHECK(a.events.len <= b.events.len &&
               (a.events.len == 0 || memcmp(a.events.p, b.events.p, a.events.len) == 0));
  }
  /* in place (D: A's pieces, pauses and ops through rtw_ws_recv_inplace()) changes nothing
   * either: the same events, error and output as A, at every split A makes (D refuses no
   * allocation: when A was disturbed, D must still be a prefix of B) */
  if (!a.disturbed && !d.disturbed) {
    fuzz_log_expect_equal("rtw_ws_recv (A) vs rtw_ws_recv_inplace (D)", &a.events,
                          &d.events);
    FUZZ_CHECK(a.err == d.err && a.peer_code == d.peer_code);
    if (!(IS_CLIENT && (cf.h[0] & H_OSRNG)))
      fuzz_log_expect_equal("output of A vs D", &a.out, &d.out);
  } else {
    FUZZ_CHECK(d.events.len <= b.events.len &&
               (d.events.len == 0 || memcmp(d.events.p, b.events.p, d.events.len) == 0));
  }
  run_free(&a);
  run_free(&b);
  run_free(&c);
  run_free(&d);
  return 0;
}
