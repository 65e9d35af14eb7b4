/* SPDX-License-Identifier: MIT */
/* The send path without allocation per message (issue 15): with the counting allocator
 * (tests/helpers), queueing and draining a message after warm-up allocates nothing and holds
 * no more memory, in both roles, copied and NOCOPY, text and binary, plain and compressed
 * (permessage-deflate with context takeover), for messages up to keep_buffer; the kept
 * buffers are released by rtw_ws_trim(), by rtw_ws_tick() after keep_idle_ms without
 * queueing (announced by rtw_ws_next_deadline()) and at once when larger than keep_buffer.
 * Every message sent is parsed back by a peer session, so the bytes are checked too. No wall
 * clock: time is what the tests pass to rtw_ws_tick(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY

/* The peer that receives what the session under test sends (whole messages). */
typedef struct peer {
  rtw_ws *ws;
  long messages;
  int opcode;
  wst_buf last;
} peer;

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  peer *p = user_data;

  (void)ws;
  p->messages++;
  p->opcode = opcode;
  p->last.len = 0;
  wst_buf_put(&p->last, data, len);
  return 0;
}

static const rtw_ws_deflate_params takeover = {0, 0, 0, 0};

static rtw_ws_deflate_config deflate_cfg(void)
{
  rtw_ws_deflate_config c;

  memset(&c, 0, sizeof c);
  c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  c.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  return c;
}

static void peer_start(peer *p, int role, int compress)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};

  memset(p, 0, sizeof *p);
  wst_buf_init(&p->last);
  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_message_size = 4u * 1024u * 1024u;
  st.rsv_allowed = compress ? RTW_WS_RSV1 : 0;
  assert_int_equal(rtw_ws_new(&p->ws, role, &cb, &st, NULL, p), 0);
  if (compress) {
    rtw_ws_deflate_config c = deflate_cfg();
    assert_int_equal(rtw_ws_set_deflate(p->ws, &takeover, &c), 0);
  }
}

static void peer_stop(peer *p)
{
  rtw_ws_free(p->ws);
  wst_buf_free(&p->last);
}

/* The session under test with the counting allocator. */
static rtw_ws *sender(rtwt_countmem *cm, int role, int compress, size_t keep_buffer,
                      uint32_t keep_idle_ms)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;

  st.keep_buffer = keep_buffer;
  st.keep_idle_ms = keep_idle_ms;
  st.max_outbound = 8u * 1024u * 1024u;
  rtwt_countmem_init(cm);
  assert_int_equal(rtw_ws_new(&ws, role, NULL, &st, &cm->mem, NULL), 0);
  if (compress) {
    rtw_ws_deflate_config c = deflate_cfg();
    assert_int_equal(rtw_ws_set_deflate(ws, &takeover, &c), 0);
  }
  return ws;
}

/* Drain everything the session has (gathered or contiguous) into the peer, and check that
 * the peer received exactly this message. */
static void drain_to_peer(rtw_ws *ws, peer *p, int gather, int opcode, const uint8_t *msg,
                          size_t len)
{
  long before = p->messages;

  for (;;) {
    rtw_iovec iov[8];
    size_t count = 0, i, total = 0;
    if (gather) {
      assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 8, &count), 0);
    } else {
      const void *d;
      size_t n;
      assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
      iov[0].base = d;
      iov[0].len = n;
      count = n > 0;
    }
    if (count == 0)
      break;
    for (i = 0; i < count; i++) {
      size_t nread;
      assert_int_equal(rtw_ws_recv(p->ws, iov[i].base, iov[i].len, &nread), 0);
      assert_int_equal(nread, iov[i].len);
      total += iov[i].len;
    }
    assert_int_equal(rtw_ws_send_consumed(ws, total), 0);
  }
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(p->messages, before + 1);
  assert_int_equal(p->opcode, opcode);
  assert_int_equal(p->last.len, len);
  if (len > 0)
    assert_memory_equal(p->last.p, msg, len);
}

/* Text that compresses (ASCII words), varied per message so context takeover matters. */
static void fill(uint8_t *b, size_t len, unsigned seed)
{
  static const char words[] = "the quick brown fox jumps over the lazy dog 0123456789 ";
  size_t i;

  for (i = 0; i < len; i++)
    b[i] = (uint8_t)words[(i * 7u + seed + i / 61u) % (sizeof words - 1)];
}

#define WARM 4
#define STEADY 24

static void one_case(int role, int nocopy, int opcode, int compress, size_t len)
{
  rtwt_countmem cm;
  peer p;
  rtw_ws *ws = sender(&cm, role, compress, 0, 0);
  uint8_t *msg = malloc(len + 1);
  long allocs = 0;
  size_t cur = 0;
  int i;

  assert_non_null(msg);
  peer_start(&p, role == RTW_WS_ROLE_SERVER ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER,
             compress);
  for (i = 0; i < WARM + STEADY; i++) {
    uint32_t flags = nocopy ? RTW_WS_QUEUE_NOCOPY : 0;
    if (i == WARM) {
      allocs = cm.allocs;
      cur = cm.cur;
    }
    fill(msg, len, (unsigned)i);
    assert_int_equal(rtw_ws_queue_message(ws, opcode, msg, len, flags), 0);
    drain_to_peer(ws, &p, i & 1, opcode, msg, len);
  }
  if (cm.allocs != allocs || cm.cur != cur)
    wst_fail("role %d nocopy %d op %d deflate %d len %zu: %ld allocations, %zu -> %zu bytes "
             "in %d messages after warm-up\n",
             role, nocopy, opcode, compress, len, cm.allocs - allocs, cur, cm.cur, STEADY);
  rtw_ws_free(ws);
  assert_int_equal(cm.live, 0);
  peer_stop(&p);
  free(msg);
}

/* issue 15: zero allocations per sent message after warm-up, for messages up to keep_buffer
 * (default 64 KiB, also the default fragment_size: one frame each). */
static void steady_state_allocates_nothing(void **state)
{
  static const size_t sizes[] = {0, 1, 16, 125, 126, 1000, 4096, 65535, 65536};
  int role, nocopy, op, z;
  size_t k;

  (void)state;
  for (role = 0; role < 2; role++)
    for (nocopy = 0; nocopy < 2; nocopy++)
      for (op = 0; op < 2; op++)
        for (z = 0; z < 2; z++)
          for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            one_case(role ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER, nocopy, op ? BIN : TEXT,
                     z, sizes[k]);
}

/* Many small messages queued per drain (a ticker): still nothing per message, and the
 * output is one gather element. */
static void batches_allocate_nothing(void **state)
{
  rtwt_countmem cm;
  peer p;
  rtw_ws *ws = sender(&cm, RTW_WS_ROLE_SERVER, 0, 0, 0);
  static const uint8_t msg[16] = "0123456789abcdef";
  long allocs = 0;
  int round, i;

  (void)state;
  peer_start(&p, RTW_WS_ROLE_CLIENT, 0);
  for (round = 0; round < 6; round++) {
    rtw_iovec iov[4];
    size_t count, n;
    if (round == 2)
      allocs = cm.allocs;
    for (i = 0; i < 100; i++)
      assert_int_equal(rtw_ws_queue_message(ws, BIN, msg, sizeof msg, (i & 1) ? RTW_WS_QUEUE_NOCOPY : 0),
                       0);
    assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 4, &count), 0);
    assert_int_equal(count, 1); /* small NOCOPY payloads are copied: one contiguous run */
    assert_int_equal(iov[0].len, 100 * (2 + sizeof msg));
    assert_int_equal(rtw_ws_recv(p.ws, iov[0].base, iov[0].len, &n), 0);
    assert_int_equal(rtw_ws_send_consumed(ws, iov[0].len), 0);
  }
  assert_int_equal(cm.allocs, allocs);
  assert_int_equal(p.messages, 600);
  rtw_ws_free(ws);
  peer_stop(&p);
}

/* Client role, a message over fragment_size: masked straight into the output buffer (no
 * copy into a node), so with keep_buffer above its size it allocates nothing either. */
static void client_fragments_allocate_nothing(void **state)
{
  rtwt_countmem cm;
  peer p;
  size_t len = 300u * 1024u;
  rtw_ws *ws = sender(&cm, RTW_WS_ROLE_CLIENT, 0, 512u * 1024u, 0);
  uint8_t *msg = malloc(len);
  long allocs = 0;
  int i;

  (void)state;
  assert_non_null(msg);
  peer_start(&p, RTW_WS_ROLE_SERVER, 0);
  for (i = 0; i < 8; i++) {
    if (i == 2)
      allocs = cm.allocs;
    fill(msg, len, (unsigned)i);
    assert_int_equal(rtw_ws_queue_binary(ws, msg, len), 0);
    /* all five frames (64 KiB fragments) are written at once */
    assert_int_equal(rtw_ws_outbound_size(ws), len + 4u * 14u + 8u); /* masked headers: 2+8+4 four times, 2+2+4 */
    drain_to_peer(ws, &p, i & 1, BIN, msg, len);
  }
  assert_int_equal(cm.allocs, allocs);
  rtw_ws_free(ws);
  peer_stop(&p);
  free(msg);
}

/* Server role, NOCOPY messages over fragment_size (several frames referencing the caller's
 * payload through one queue node): the node is kept as the session's spare, so steady
 * traffic allocates nothing (issue 15, r6), and rtw_ws_trim() gives it back. */
static void server_large_nocopy_allocates_nothing(void **state)
{
  static const size_t sizes[] = {65537, 300u * 1024u, 1024u * 1024u};
  size_t k;

  (void)state;
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    int op;
    for (op = 0; op < 2; op++) {
      rtwt_countmem cm;
      peer p;
      size_t len = sizes[k], fresh;
      rtw_ws *ws = sender(&cm, RTW_WS_ROLE_SERVER, 0, 0, 0);
      uint8_t *msg = malloc(len);
      long allocs = 0;
      size_t cur = 0;
      int i;

      assert_non_null(msg);
      fresh = cm.cur;
      peer_start(&p, RTW_WS_ROLE_CLIENT, 0);
      for (i = 0; i < 8; i++) {
        if (i == 2) {
          allocs = cm.allocs;
          cur = cm.cur;
        }
        fill(msg, len, (unsigned)i);
        assert_int_equal(rtw_ws_queue_message(ws, op ? BIN : TEXT, msg, len,
                                              RTW_WS_QUEUE_NOCOPY), 0);
        drain_to_peer(ws, &p, i & 1, op ? BIN : TEXT, msg, len);
      }
      if (cm.allocs != allocs || cm.cur != cur)
        wst_fail("len %zu op %d: %ld allocations, %zu -> %zu bytes after warm-up\n", len, op,
                 cm.allocs - allocs, cur, cm.cur);
      assert_true(cm.cur > fresh); /* something is kept ... */
      assert_int_equal(rtw_ws_trim(ws), 0);
      assert_int_equal(cm.cur, fresh); /* ... and trimmed: the spare node too */
      rtw_ws_free(ws);
      assert_int_equal(cm.live, 0);
      peer_stop(&p);
      free(msg);
    }
  }
}

/* on_payload_released for the lazy client test: counts and remembers the payload. */
typedef struct relcount {
  int n;
  const void *ptr;
  size_t len;
} relcount;

static void on_released(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  relcount *r = user_data;

  (void)ws;
  r->n++;
  r->ptr = data;
  r->len = len;
}

/* Client role, a NOCOPY message over keep_buffer (default 64 KiB, also fragment_size): each
 * fragment is masked from the caller's bytes into the kept output buffer as the host drains
 * (RFC 6455 5.3, 5.4), so the session never holds a whole-message buffer (before: one of
 * 512 KiB allocated and freed per message), the caller's bytes stay unchanged, the payload
 * is released after its last fragment, and max_outbound counts it while it waits. */
static void client_large_nocopy_masked_lazily(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtwt_countmem cm;
  relcount rel = {0, NULL, 0};
  peer p;
  size_t len = 300u * 1024u, fresh, peak_base = 0;
  uint8_t *msg = malloc(len), *copy = malloc(len);
  rtw_ws *ws = NULL;
  long allocs = 0;
  int i;

  (void)state;
  assert_non_null(msg);
  assert_non_null(copy);
  cb.on_payload_released = on_released;
  st.max_outbound = 8u * 1024u * 1024u;
  rtwt_countmem_init(&cm);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, &cb, &st, &cm.mem, &rel), 0);
  fresh = cm.cur;
  peer_start(&p, RTW_WS_ROLE_SERVER, 0);
  for (i = 0; i < 8; i++) {
    if (i == 2) {
      allocs = cm.allocs;
      peak_base = cm.peak;
    }
    fill(msg, len, (unsigned)i);
    memcpy(copy, msg, len);
    assert_int_equal(rtw_ws_queue_message(ws, BIN, msg, len, RTW_WS_QUEUE_NOCOPY), 0);
    assert_int_equal(rel.n, i); /* held, not copied */
    assert_int_equal(rtw_ws_outbound_size(ws), len); /* waiting, counted in the budget */
    drain_to_peer(ws, &p, i & 1, BIN, msg, len);
    assert_int_equal(rel.n, i + 1);
    assert_ptr_equal(rel.ptr, msg);
    assert_int_equal(rel.len, len);
    assert_memory_equal(msg, copy, len); /* masking never wrote into the caller's bytes */
  }
  /* one fragment's buffer (64 KiB + slack), the segments and the node, never the message */
  assert_true(cm.peak - fresh < 80u * 1024u);
  assert_int_equal(cm.peak, peak_base);
  assert_int_equal(cm.allocs - allocs, 0); /* the message's node is the session's spare */
  /* freed with the message still waiting: released once, nothing leaks */
  assert_int_equal(rtw_ws_queue_message(ws, BIN, msg, len, RTW_WS_QUEUE_NOCOPY), 0);
  assert_int_equal(rel.n, 8);
  rtw_ws_free(ws);
  assert_int_equal(rel.n, 9);
  assert_int_equal(cm.live, 0);
  peer_stop(&p);
  free(msg);
  free(copy);
}

/* An idle fresh session is small; kept buffers come back to that size with rtw_ws_trim(),
 * which leaves output still pending alone. */
static void trim_releases_kept_buffers(void **state)
{
  rtwt_countmem cm;
  peer p;
  rtw_ws *ws = sender(&cm, RTW_WS_ROLE_SERVER, 1, 0, 0);
  size_t fresh = cm.cur, zlib;
  uint8_t msg[3000];
  const void *d;
  size_t n;

  (void)state;
  assert_true(fresh <= 1024); /* issue 15: idle session at most 1 KiB */
  assert_int_equal(rtw_ws_trim(NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_trim(ws), 0); /* nothing kept yet: a no-op */
  assert_int_equal(cm.cur, fresh);
  peer_start(&p, RTW_WS_ROLE_CLIENT, 1);
  fill(msg, sizeof msg, 1);
  assert_int_equal(rtw_ws_queue_text(ws, (const char *)msg, sizeof msg), 0);
  drain_to_peer(ws, &p, 0, TEXT, msg, sizeof msg);
  zlib = rtw_ws_deflate_memory(ws); /* the compressor's context stays (takeover) */
  assert_true(cm.cur > fresh + zlib); /* output, segment and compression buffers kept */
  assert_int_equal(rtw_ws_trim(ws), 0);
  assert_int_equal(cm.cur, fresh + zlib);

  /* pending output stays, whole and correct */
  fill(msg, sizeof msg, 2);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, msg, sizeof msg, RTW_WS_QUEUE_NO_COMPRESS), 0);
  assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
  assert_int_equal(rtw_ws_recv(p.ws, d, 10, &n), 0);
  assert_int_equal(rtw_ws_send_consumed(ws, 10), 0);
  assert_int_equal(rtw_ws_trim(ws), 0);
  assert_true(cm.cur > fresh + zlib);
  drain_to_peer(ws, &p, 1, BIN, msg, sizeof msg);
  assert_int_equal(rtw_ws_trim(ws), 0);
  assert_int_equal(cm.cur, fresh + zlib);
  rtw_ws_free(ws);
  assert_int_equal(cm.live, 0);
  peer_stop(&p);
}

/* rtw_ws_tick() releases kept buffers once keep_idle_ms passed without queueing, announced by
 * rtw_ws_next_deadline(); traffic in the interval postpones it by a whole interval. */
static void tick_releases_when_idle(void **state)
{
  rtwt_countmem cm;
  peer p;
  rtw_ws *ws = sender(&cm, RTW_WS_ROLE_CLIENT, 0, 0, 500);
  size_t fresh = cm.cur, kept;
  static const uint8_t msg[40] = "a message of forty bytes, more or less..";

  (void)state;
  peer_start(&p, RTW_WS_ROLE_SERVER, 0);
  assert_int_equal(rtw_ws_tick(ws, 1000), 0);
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX); /* nothing kept, no timer */
  assert_int_equal(rtw_ws_queue_binary(ws, msg, sizeof msg), 0);
  drain_to_peer(ws, &p, 0, BIN, msg, sizeof msg);
  kept = cm.cur;
  assert_true(kept > fresh);
  assert_true(rtw_ws_next_deadline(ws) == 1500);
  assert_int_equal(rtw_ws_tick(ws, 1499), 0);
  assert_int_equal(cm.cur, kept);
  /* busy: queued within the interval, so the release waits a whole interval more */
  assert_int_equal(rtw_ws_queue_binary(ws, msg, sizeof msg), 0);
  drain_to_peer(ws, &p, 1, BIN, msg, sizeof msg);
  assert_int_equal(rtw_ws_tick(ws, 1500), 0);
  assert_int_equal(cm.cur, kept);
  assert_true(rtw_ws_next_deadline(ws) == 2000);
  assert_int_equal(rtw_ws_tick(ws, 1999), 0);
  assert_int_equal(cm.cur, kept);
  assert_int_equal(rtw_ws_tick(ws, 2000), 0);
  assert_int_equal(cm.cur, fresh); /* back to the idle size */
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
  /* and it still works afterwards */
  assert_int_equal(rtw_ws_queue_binary(ws, msg, sizeof msg), 0);
  drain_to_peer(ws, &p, 0, BIN, msg, sizeof msg);
  rtw_ws_free(ws);
  assert_int_equal(cm.live, 0);
  peer_stop(&p);

  /* keep_idle_ms UINT32_MAX: never released by time, no deadline */
  ws = sender(&cm, RTW_WS_ROLE_SERVER, 0, 0, UINT32_MAX);
  peer_start(&p, RTW_WS_ROLE_CLIENT, 0);
  assert_int_equal(rtw_ws_tick(ws, 0), 0);
  assert_int_equal(rtw_ws_queue_binary(ws, msg, sizeof msg), 0);
  drain_to_peer(ws, &p, 0, BIN, msg, sizeof msg);
  kept = cm.cur;
  assert_true(rtw_ws_next_deadline(ws) == UINT64_MAX);
  assert_int_equal(rtw_ws_tick(ws, 100000000), 0);
  assert_int_equal(cm.cur, kept);
  rtw_ws_free(ws);
  peer_stop(&p);
}

/* A buffer larger than keep_buffer is released as soon as the output drains; one within it
 * is kept. */
static void large_buffers_released_at_once(void **state)
{
  rtwt_countmem cm;
  peer p;
  int role;
  uint8_t *msg = malloc(20000);

  (void)state;
  assert_non_null(msg);
  fill(msg, 20000, 3);
  for (role = 0; role < 2; role++) {
    rtw_ws *ws = sender(&cm, role ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER, 0, 4096, 0);
    size_t fresh = cm.cur;
    peer_start(&p, role ? RTW_WS_ROLE_SERVER : RTW_WS_ROLE_CLIENT, 0);
    assert_int_equal(rtw_ws_queue_binary(ws, msg, 4000), 0);
    drain_to_peer(ws, &p, 0, BIN, msg, 4000);
    assert_true(cm.cur > fresh);
    assert_true(cm.cur <= fresh + 4096 + 256 + 8 * 64); /* buffer + slack + segments */
    assert_int_equal(rtw_ws_queue_binary(ws, msg, 20000), 0);
    drain_to_peer(ws, &p, 1, BIN, msg, 20000);
    assert_true(cm.cur <= fresh + 8 * 64); /* the 20 KB buffer is gone; segments may stay */
    rtw_ws_free(ws);
    assert_int_equal(cm.live, 0);
    peer_stop(&p);
  }
  free(msg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(steady_state_allocates_nothing),
    cmocka_unit_test(batches_allocate_nothing),
    cmocka_unit_test(client_fragments_allocate_nothing),
    cmocka_unit_test(server_large_nocopy_allocates_nothing),
    cmocka_unit_test(client_large_nocopy_masked_lazily),
    cmocka_unit_test(trim_releases_kept_buffers),
    cmocka_unit_test(tick_releases_when_idle),
    cmocka_unit_test(large_buffers_released_at_once),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
