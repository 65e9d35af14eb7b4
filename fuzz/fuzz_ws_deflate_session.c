/* SPDX-License-Identifier: MIT */
/* Fuzz target: compressed WebSocket sessions (RFC 7692 in the session engine), both roles,
 * differential: the peer's bytes fed in random pieces with pauses and a failing allocator
 * must give the same events as the whole input fed at once.
 *
 * Input layout (an 8-byte header, then the body; short inputs read as zeros):
 *
 *   byte 0  bit 0 role (0 server, 1 client)      bit 4 RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER
 *           bit 1 RTW_WS_FLAG_WHOLE_MESSAGES     bit 5 RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER
 *           bit 2 server_no_context_takeover     bit 6 small limits (byte 3)
 *           bit 3 client_no_context_takeover     bit 7 body = messages for a peer engine
 *   byte 1  server_max_window_bits (b % 9: 0 absent, else 7 + that: 8..15)
 *   byte 2  client_max_window_bits (likewise)
 *   byte 3  max_message_size = 1 + 64 * b, max_frame_size = 1 + 32 * b (with bit 6)
 *   byte 4  memory_budget: 0 default, else 1 KiB * b
 *   byte 5  piece sizes and PRNG seed of run A
 *   byte 6  chance (out of 256) that a callback of run A returns RTW_ERR_PAUSE
 *   byte 7  the allocation of run A that fails (1-based; 0 none)
 *   body    with bit 7: messages (a byte: bits 0-6 length / 256-byte step, bit 7 binary; then
 *           a length byte; the payload is a pattern) queued on a peer session of the other
 *           role with the same parameters, whose output (its bytes XORed with the rest of
 *           the body, so the fuzzer can damage it) is the wire; without bit 7: the wire
 *           itself (frames, RSV1 and DEFLATE data as the fuzzer likes).
 *
 * Runs: A (pieces, pauses, failing allocation) and B (whole). Each checks every callback
 * against ws.h (text messages are UTF-8, messages within max_message_size, streamed pieces
 * non-empty), nread <= len, errors sticky, rtw_ws_deflate_memory() within the budget, and
 * no leak. Then A's events equal B's unless an allocation was refused in A (then A failed
 * with RTW_ERR_NOMEM, or had already failed), or the memory budget stopped either run (then
 * they agree up to the earlier stop, and the one that stopped first did so for the budget:
 * zlib takes its window lazily, at a point that depends on the split). With the peer engine and no damage, B
 * receives exactly the messages sent unless a limit or the budget stopped it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/ws.h"

#define HEADER_LEN 8u
#define PATTERN (128u * 256u + 256u) /* the longest message the body can ask for */

typedef struct cfg {
  uint8_t h[HEADER_LEN];
  int role;
  rtw_ws_settings st;
  rtw_ws_deflate_params neg;
  rtw_ws_deflate_config dc;
  const uint8_t *body;
  size_t body_len;
} cfg;

typedef struct run {
  const cfg *cf;
  rtw_ws *ws;
  fuzz_mem fm;
  fuzz_rng rng;
  unsigned pause_chance;
  int in_msg, op;
  uint64_t msg_len;
  fuzz_log msg;
  fuzz_log events;
  int err;
} run;

static int pause_maybe(run *r)
{
  return r->pause_chance && fuzz_rng_below(&r->rng, 256) < r->pause_chance ? RTW_ERR_PAUSE : 0;
}

static void end_message(run *r, int op, const void *p, size_t n)
{
  FUZZ_CHECK(n <= r->cf->st.max_message_size || r->cf->st.max_message_size == 0);
  if (op == RTW_WS_OP_TEXT)
    FUZZ_CHECK(fuzz_utf8_valid(p, n));
  fuzz_log_str(&r->events, op == RTW_WS_OP_TEXT ? "text(" : "binary(");
  fuzz_log_esc(&r->events, p, n);
  fuzz_log_str(&r->events, ")\n");
}

static int on_begin(rtw_ws *ws, int op, void *ud)
{
  run *r = ud;

  (void)ws;
  FUZZ_CHECK(!r->in_msg && (op == RTW_WS_OP_TEXT || op == RTW_WS_OP_BINARY));
  r->in_msg = 1;
  r->op = op;
  fuzz_log_clear(&r->msg);
  return 0;
}

static int on_data(rtw_ws *ws, const void *p, size_t n, void *ud)
{
  run *r = ud;

  (void)ws;
  FUZZ_CHECK(r->in_msg && n > 0 && p != NULL);
  fuzz_log_raw(&r->msg, p, n);
  return pause_maybe(r);
}

static int on_end(rtw_ws *ws, void *ud)
{
  run *r = ud;

  (void)ws;
  FUZZ_CHECK(r->in_msg);
  r->in_msg = 0;
  end_message(r, r->op, r->msg.p, r->msg.len);
  return pause_maybe(r);
}

static int on_message(rtw_ws *ws, int op, const void *p, size_t n, void *ud)
{
  run *r = ud;

  (void)ws;
  FUZZ_CHECK(n == 0 || p != NULL);
  end_message(r, op, p, n);
  return pause_maybe(r);
}

static int on_control(run *r, const char *name, const void *p, size_t n)
{
  FUZZ_CHECK(n <= RTW_WS_MAX_CONTROL_PAYLOAD);
  fuzz_log_str(&r->events, name);
  fuzz_log_esc(&r->events, p, n);
  fuzz_log_str(&r->events, ")\n");
  return pause_maybe(r);
}

static int on_ping(rtw_ws *ws, const void *p, size_t n, void *ud)
{
  (void)ws;
  return on_control(ud, "ping(", p, n);
}

static int on_pong(rtw_ws *ws, const void *p, size_t n, void *ud)
{
  (void)ws;
  return on_control(ud, "pong(", p, n);
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t n, void *ud)
{
  run *r = ud;

  (void)ws, (void)code;
  return on_control(r, "close(", reason, n);
}

static int on_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  (void)ws, (void)ud;
  memset(buf, 0x3C, len);
  return 0;
}

static unsigned window(uint8_t b)
{
  unsigned v = b % 9u;
  return v == 0 ? 0u : 7u + v;
}

static void parse(cfg *c, const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  size_t i;

  memset(c, 0, sizeof *c);
  for (i = 0; i < HEADER_LEN; i++)
    c->h[i] = fuzz_u8(&in);
  c->role = c->h[0] & 1 ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
  c->st.version = RTW_WS_SETTINGS_VERSION;
  c->st.flags = c->h[0] & 2 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
  c->st.max_message_size = RTW_WS_DEFAULT_MAX_MESSAGE_SIZE;
  if (c->h[0] & 0x40) {
    c->st.max_message_size = 1u + 64u * c->h[3];
    c->st.max_frame_size = 1u + 32u * c->h[3];
  }
  c->neg.server_no_context_takeover = (uint8_t)((c->h[0] >> 2) & 1);
  c->neg.client_no_context_takeover = (uint8_t)((c->h[0] >> 3) & 1);
  c->neg.server_max_window_bits = (uint8_t)window(c->h[1]);
  c->neg.client_max_window_bits = (uint8_t)window(c->h[2]);
  c->dc.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  c->dc.flags = (c->h[0] & 0x10 ? RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER : 0u) |
                (c->h[0] & 0x20 ? RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER : 0u);
  c->dc.memory_budget = (size_t)c->h[4] * 1024u;
  c->body = in.p;
  c->body_len = in.n;
}

static int start(run *r, const cfg *c, int role, const rtw_ws_settings *st, const rtw_mem *mem)
{
  rtw_ws_callbacks cb;
  int rv;

  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  cb.on_message_begin = on_begin;
  cb.on_message_data = on_data;
  cb.on_message_end = on_end;
  cb.on_message = on_message;
  cb.on_ping = on_ping;
  cb.on_pong = on_pong;
  cb.on_close = on_close;
  cb.random = on_random;
  rv = rtw_ws_new(&r->ws, role, &cb, st, mem, r);
  if (rv != 0)
    return rv;
  rv = rtw_ws_set_deflate(r->ws, &c->neg, &c->dc);
  /* every window the input can name (0, 8..15) runs, 8 for our own compressor included
   * (zlib deflates at 9 then) */
  FUZZ_CHECK(rv == 0);
  return rv;
}

/* Take everything the session queued. */
static void drain(rtw_ws *ws, fuzz_log *out)
{
  const void *p;
  size_t n;

  while (rtw_ws_want_write(ws)) {
    int rv = fuzz_mem_saw(rtw_ws_send_pending(ws, &p, &n));
    if (rv != 0 || n == 0)
      break;
    if (out != NULL)
      fuzz_log_raw(out, p, n);
    FUZZ_CHECK(rtw_ws_send_consumed(ws, n) == 0);
  }
}

/* With bit 7: the wire a peer engine of the other role produces for the messages the body
 * describes, XORed with the rest of the body. 0, or an error from the peer (then no run). */
static int peer_wire(const cfg *c, fuzz_log *wire, fuzz_log *expect, int *damaged)
{
  run peer;
  cfg pc;
  rtw_ws_settings st;
  fuzz_in in = {c->body, c->body_len};
  uint8_t *pat;
  size_t i;
  int rv;

  memset(&peer, 0, sizeof peer);
  memset(&st, 0, sizeof st);
  st.version = RTW_WS_SETTINGS_VERSION;
  st.fragment_size = 1u + (size_t)c->h[5] * 64u;
  pat = malloc(PATTERN);
  FUZZ_CHECK(pat != NULL);
  for (i = 0; i < PATTERN; i++)
    pat[i] = (uint8_t)((unsigned char)"the quick brown fox jumps over the lazy dog 0123456789"[i % 54] ^
                       (i % 7 == 0 ? (unsigned)(i >> 8) & 0x1Fu : 0u));
  pc = *c;
  pc.dc.memory_budget = 0; /* the budget and limits under test are the receiver's */
  pc.st.max_message_size = 0;
  peer.cf = &pc;
  rv = start(&peer, &pc, c->role == RTW_WS_ROLE_SERVER ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER,
             &st, NULL);
  for (i = 0; rv == 0 && i < 16 && in.n >= 2; i++) {
    uint8_t a = fuzz_u8(&in), b = fuzz_u8(&in);
    size_t len = (size_t)(a & 0x7F) * 256u + b;
    int op = a & 0x80 ? RTW_WS_OP_BINARY : RTW_WS_OP_TEXT;
    rv = rtw_ws_queue_message(peer.ws, op, pat, len, 0);
    FUZZ_CHECK(rv == 0);
    drain(peer.ws, wire);
    peer.events = *expect;
    end_message(&peer, op, pat, len);
    *expect = peer.events;
  }
  *damaged = 0;
  for (i = 0; i < in.n && i < wire->len; i++) {
    wire->p[i] = (char)(wire->p[i] ^ (char)in.p[i]);
    *damaged |= in.p[i] != 0;
  }
  free(pat);
  rtw_ws_free(peer.ws);
  return rv;
}

static void feed(run *r, const uint8_t *w, size_t n, int pieces)
{
  size_t guard = 0;

  while (n > 0 && r->err == 0) {
    size_t len = n, nread = 0;
    int rv;
    if (pieces) {
      unsigned sel = r->cf->h[5] & 3u;
      size_t cap = sel == 0 ? 1 : sel == 1 ? 8 : sel == 2 ? 64 : n;
      len = 1 + fuzz_rng_below(&r->rng, cap);
      if (len > n)
        len = n;
    }
    rv = fuzz_mem_saw(rtw_ws_recv(r->ws, w, len, &nread));
    FUZZ_CHECK(nread <= len);
    w += nread;
    n -= nread;
    FUZZ_CHECK(rtw_ws_deflate_memory(r->ws) <=
               (r->cf->dc.memory_budget ? r->cf->dc.memory_budget
                                        : RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET));
    drain(r->ws, NULL); /* the input gate never holds us */
    if (rv == RTW_ERR_PAUSE) {
      FUZZ_CHECK(++guard < 50000000u);
      continue;
    }
    if (rv != 0) {
      r->err = rv;
      FUZZ_CHECK(rtw_ws_want_read(r->ws) == 0);
      FUZZ_CHECK(rtw_ws_recv(r->ws, w, n, &nread) == rv); /* sticky */
      fuzz_log_str(&r->events, "error(");
      fuzz_log_str(&r->events, rtw_err_name(rv));
      fuzz_log_str(&r->events, ")\n");
      break;
    }
    if (!pieces)
      FUZZ_CHECK(nread == len || rtw_ws_close_received(r->ws));
    if (nread < len && rtw_ws_close_received(r->ws))
      break;
  }
}

static void one_run(run *r, const cfg *c, const uint8_t *w, size_t n, int is_a)
{
  memset(r, 0, sizeof *r);
  r->cf = c;
  fuzz_mem_init(&r->fm, is_a ? fuzz_mem_scheduled(c->h[7]) : 0);
  if (is_a)
    fuzz_mem_mark_scheduled(&r->fm);
  fuzz_rng_seed(&r->rng, (uint32_t)c->h[5] << 8 | c->h[6]);
  r->pause_chance = is_a ? c->h[6] : 0;
  if (fuzz_mem_saw(start(r, c, c->role, &c->st, &r->fm.mem)) == 0)
    feed(r, w, n, is_a);
  else
    r->err = -1;
  rtw_ws_free(r->ws);
  fuzz_mem_check_clean(&r->fm);
  fuzz_log_free(&r->msg);
}

/* The events before the last line (an error line, when there is one). */
static size_t events_before_error(const run *r)
{
  size_t n = r->events.len;

  if (r->err == 0 || n == 0)
    return n;
  n--; /* the error line's newline */
  while (n > 0 && r->events.p[n - 1] != '\n')
    n--;
  return n;
}

/* The memory budget (RTW_ERR_NOMEM) may stop the two runs at different messages: zlib
 * allocates its window at the end of an inflate call that made output, unless the same call
 * met bad data, so when the budget cannot hold the window, where it fails depends on how
 * the input was cut. Up to the earlier stop the events must still agree. */
static void check_prefix(const run *a, const run *b)
{
  size_t na = events_before_error(a), nb = events_before_error(b);
  size_t k = na < nb ? na : nb;

  FUZZ_CHECK(k == 0 || memcmp(a->events.p, b->events.p, k) == 0);
  if (na < nb)
    FUZZ_CHECK(a->err == RTW_ERR_NOMEM);
  if (nb < na)
    FUZZ_CHECK(b->err == RTW_ERR_NOMEM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cfg c;
  run a, b;
  fuzz_log wire, expect;
  const uint8_t *w;
  size_t n;
  int damaged = 1;

  parse(&c, data, size);
  memset(&wire, 0, sizeof wire);
  memset(&expect, 0, sizeof expect);
  w = c.body;
  n = c.body_len;
  if (c.h[0] & 0x80) {
    if (peer_wire(&c, &wire, &expect, &damaged) != 0) {
      fuzz_log_free(&wire);
      fuzz_log_free(&expect);
      return 0;
    }
    w = (const uint8_t *)wire.p;
    n = wire.len;
  }
  one_run(&b, &c, w, n, 0);
  one_run(&a, &c, w, n, 1);
  if (b.err != -1 && a.fm.failed == 0 && (a.err == RTW_ERR_NOMEM || b.err == RTW_ERR_NOMEM))
    check_prefix(&a, &b);
  else if (b.err != -1 && a.fm.failed == 0)
    fuzz_log_expect_equal("pieces against whole", &b.events, &a.events);
  else if (a.fm.failed > 0)
    FUZZ_CHECK(a.err != 0);
  if (!damaged && b.err == 0) /* what the peer engine sent arrives exactly */
    fuzz_log_expect_equal("peer messages", &expect, &b.events);
  else if (!damaged && b.err != -1) /* only the limits and the budget may stop it */
    FUZZ_CHECK(b.err == RTW_ERR_WS_MESSAGE_TOO_LARGE || b.err == RTW_ERR_WS_FRAME_TOO_LARGE ||
               b.err == RTW_ERR_NOMEM);
  fuzz_log_free(&expect);
  fuzz_log_free(&a.events);
  fuzz_log_free(&b.events);
  fuzz_log_free(&wire);
  return 0;
}
