/* SPDX-License-Identifier: MIT */
/* Prepared messages (ws.h, lib/ws/prepared.c): one message framed and compressed once, queued
 * on server sessions with every kind of negotiation. Each session's output is fed into a peer
 * session of the other role with the matching negotiation, which must receive exactly the
 * message; the shared frames must reach the gather output by reference (pointer identity into
 * the prepared block); the reference count must keep the block alive past
 * rtw_ws_prepared_free() and give all memory back once the last session lets go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "deflate.h"
#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY

/* ------------------------------------------------------------------ sessions */

/* The negotiations a server session may have (as the response it sent). */
typedef struct nego {
  const char *name;
  int role;     /* of the sending session */
  int deflate;  /* 0: no permessage-deflate */
  rtw_ws_deflate_params p;
  int shared;   /* expected: the prepared frame goes out by reference */
} nego;

static const nego negos[] = {
  {"plain", RTW_WS_ROLE_SERVER, 0, {0, 0, 0, 0}, 1},
  {"no-takeover", RTW_WS_ROLE_SERVER, 1, {1, 1, 15, 15}, 1},
  {"no-takeover-client-takeover", RTW_WS_ROLE_SERVER, 1, {1, 0, 15, 12}, 1},
  {"takeover", RTW_WS_ROLE_SERVER, 1, {0, 1, 15, 15}, 0},
  {"small-window", RTW_WS_ROLE_SERVER, 1, {1, 1, 10, 15}, 0},
  {"client-plain", RTW_WS_ROLE_CLIENT, 0, {0, 0, 0, 0}, 0},
  {"client-deflate", RTW_WS_ROLE_CLIENT, 1, {1, 1, 15, 15}, 0},
};
#define NNEGO (sizeof negos / sizeof negos[0])

static rtw_ws *session(int role, const nego *n, size_t max_outbound, const rtw_mem *mem,
                       const rtw_ws_callbacks *cb, void *ud)
{
  rtw_ws_deflate_config c = {RTW_WS_DEFLATE_CONFIG_VERSION, 0, 0, 0, 0, 0, 0, 0};
  rtw_ws_settings st;
  rtw_ws *ws = NULL;

  /* Where the negotiation lets us keep our compressor's context, do keep it (the case that
   * must not share a frame compressed without that context). */
  c.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER;
  memset(&st, 0, sizeof st);
  st.version = RTW_WS_SETTINGS_VERSION;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_outbound = max_outbound;
  assert_int_equal(rtw_ws_new(&ws, role, cb, &st, mem, ud), 0);
  if (n->deflate)
    assert_int_equal(rtw_ws_set_deflate(ws, &n->p, &c), 0);
  return ws;
}

/* What a receiving peer saw. */
typedef struct peer {
  wst_buf got[4];
  int op[4];
  size_t n;
} peer;

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  peer *p = ud;

  (void)ws;
  assert_true(p->n < 4);
  wst_buf_init(&p->got[p->n]);
  wst_buf_put(&p->got[p->n], data, len);
  p->op[p->n++] = opcode;
  return 0;
}

static int random_cb(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  (void)ws, (void)ud;
  memset(buf, 0x5a, len);
  return 0;
}

/* Feed `wire` to a fresh session of the other role with the same negotiation; the messages
 * it received are in *p (free with peer_free). */
static void peer_receive(const nego *n, const wst_buf *wire, peer *p)
{
  rtw_ws_callbacks cb;
  rtw_ws *ws;
  size_t nread = 0;

  memset(p, 0, sizeof *p);
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  cb.on_message = on_message;
  ws = session(n->role == RTW_WS_ROLE_SERVER ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER, n, 0,
               NULL, &cb, p);
  assert_int_equal(rtw_ws_recv(ws, wire->p, wire->len, &nread), 0);
  assert_int_equal(nread, wire->len);
  rtw_ws_free(ws);
}

static void peer_free(peer *p)
{
  size_t k;

  for (k = 0; k < p->n; k++)
    wst_buf_free(&p->got[k]);
}

/* Take everything pending through the gather interface; *first gets the first element. */
static void drain(rtw_ws *ws, wst_buf *out, rtw_iovec *first)
{
  rtw_iovec iov[8];
  size_t count = 0, k, total;
  int once = 0;

  for (;;) {
    assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 8, &count), 0);
    if (count == 0)
      break;
    if (!once && first != NULL)
      *first = iov[0];
    once = 1;
    for (k = 0, total = 0; k < count; k++) {
      wst_buf_put(out, iov[k].base, iov[k].len);
      total += iov[k].len;
    }
    assert_int_equal(rtw_ws_send_consumed(ws, total), 0);
  }
}

/* Whether p points into [block, block + len). */
static int inside(const void *p, const uint8_t *block, size_t len)
{
  return (const uint8_t *)p >= block && (const uint8_t *)p < block + len;
}

/* ------------------------------------------------------------------ tests */

static const rtw_ws_deflate_config dcfg = {RTW_WS_DEFLATE_CONFIG_VERSION, 0, 0, 0, 0, 0, 0, 0};

/* The object alone: sizes, frame headers, the compressed frame inflates to the payload. */
static void test_object(void **state)
{
  uint8_t *text = wst_pattern(5000, 1, 1);
  size_t plain = 0, comp = 0, hl = 0, nin, nout, more;
  rtw_ws_prepared *pm = NULL;
  rtw_ws_frame f;
  rtwt_countmem cm;
  const uint8_t *block;
  rtw__zacct acct = {{0}, 0, SIZE_MAX};
  rtw__inflater in;
  uint8_t back[5001];

  (void)state;
  rtwt_countmem_init(&cm);
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, text, 5000, &dcfg, &cm.mem), 0);
  assert_non_null(pm);
  assert_int_equal(cm.live, 1); /* one block: struct, both frames; zlib's memory gone */
  block = cm.last;
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_int_equal(plain, 4 + 5000); /* 126 + 16-bit length */
  assert_true(comp > 4 && comp < plain);
  assert_true(cm.last_len > plain + comp);
  assert_true(cm.last_len < plain + comp + 128); /* the struct and the frames, no more */
  assert_int_equal(rtw_ws_prepared_sizes(pm, NULL, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(NULL, &plain, &comp), RTW_ERR_INVALID_ARGUMENT);
  /* The frames, as a plain and a no-takeover session hand them out by reference. */
  {
    rtw_ws *s1 = session(RTW_WS_ROLE_SERVER, &negos[0], 0, NULL, NULL, NULL);
    rtw_ws *s2 = session(RTW_WS_ROLE_SERVER, &negos[1], 0, NULL, NULL, NULL);
    rtw_iovec iov[4];
    size_t count = 0;
    const uint8_t *p;

    assert_int_equal(rtw_ws_queue_prepared(s1, pm), 0);
    assert_int_equal(rtw_ws_queue_prepared(s2, pm), 0);
    assert_int_equal(rtw_ws_send_pending_iov(s1, iov, 4, &count), 0);
    assert_int_equal(count, 1);
    p = iov[0].base;
    assert_true(p >= block && p + plain <= block + cm.last_len);
    assert_int_equal(iov[0].len, plain);
    assert_int_equal(rtw_ws_frame_parse(p, plain, &f, &hl), 0);
    assert_int_equal(hl, 4);
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.rsv, 0);
    assert_int_equal(f.opcode, TEXT);
    assert_int_equal(f.masked, 0);
    assert_int_equal(f.payload_len, 5000);
    assert_memory_equal(p + hl, text, 5000);
    assert_int_equal(rtw_ws_send_pending_iov(s2, iov, 4, &count), 0);
    assert_int_equal(count, 1);
    p = iov[0].base;
    assert_true(p >= block && p + comp <= block + cm.last_len);
    assert_int_equal(iov[0].len, comp);
    assert_int_equal(rtw_ws_frame_parse(p, comp, &f, &hl), 0);
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.rsv, RTW_WS_RSV1); /* RFC 7692 6 */
    assert_int_equal(f.opcode, TEXT);
    assert_int_equal(f.masked, 0);
    assert_int_equal(f.payload_len, comp - hl);
    assert_int_equal(rtw__mem_init(&acct.mem, NULL), 0);
    assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
    assert_int_equal(rtw__inflate(&in, p + hl, comp - hl, &nin, back, sizeof back, &nout), 0);
    assert_int_equal(nin, comp - hl);
    assert_int_equal(rtw__inflate(&in, rtw__deflate_tail, 4, &nin, back + nout,
                                  sizeof back - nout, &more), 0);
    assert_int_equal(nout + more, 5000);
    assert_memory_equal(back, text, 5000);
    assert_int_equal(rtw__inflate_end(&in, 1), 0);
    rtw_ws_free(s1);
    rtw_ws_free(s2);
  }
  rtw_ws_prepared_free(pm);
  assert_int_equal(cm.live, 0);
  assert_int_equal(cm.cur, 0);
  rtw_ws_prepared_free(NULL);
  free(text);
}

static void test_no_compressed_form(void **state)
{
  uint8_t *bin = wst_pattern(3000, 1, 2), noise[3000];
  rtw_ws_deflate_config c = dcfg;
  rtw_ws_prepared *pm;
  size_t plain, comp;
  uint32_t x = 99;
  size_t k;

  (void)state;
  /* Without a config: plain only. */
  assert_int_equal(rtw_ws_prepared_new(&pm, BIN, bin, 3000, NULL, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_int_equal(plain, 3004);
  assert_int_equal(comp, 0);
  rtw_ws_prepared_free(pm);
  /* Below the threshold. */
  c.threshold = 3001;
  assert_int_equal(rtw_ws_prepared_new(&pm, BIN, bin, 3000, &c, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_int_equal(comp, 0);
  rtw_ws_prepared_free(pm);
  c.threshold = 3000;
  assert_int_equal(rtw_ws_prepared_new(&pm, BIN, bin, 3000, &c, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_true(comp > 0);
  rtw_ws_prepared_free(pm);
  /* Incompressible: deflating would not save a byte, so there is no compressed form. */
  for (k = 0; k < sizeof noise; k++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    noise[k] = (uint8_t)x;
  }
  assert_int_equal(rtw_ws_prepared_new(&pm, BIN, noise, sizeof noise, &dcfg, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_int_equal(comp, 0);
  rtw_ws_prepared_free(pm);
  /* The empty message: 2-byte plain frame; its deflated form (0x00) is not smaller. */
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, NULL, 0, &dcfg, NULL), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  assert_int_equal(plain, 2);
  assert_int_equal(comp, 0);
  rtw_ws_prepared_free(pm);
  free(bin);
}

static void test_arguments(void **state)
{
  rtw_ws_deflate_config c;
  rtw_ws_prepared *pm = (rtw_ws_prepared *)&c;
  rtw_mem half;
  rtwt_countmem cm;

  (void)state;
  rtwt_countmem_init(&cm);
  assert_int_equal(rtw_ws_prepared_new(NULL, TEXT, "a", 1, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, NULL, 1, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_null(pm);
  assert_int_equal(rtw_ws_prepared_new(&pm, RTW_WS_OP_PING, "a", 1, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_prepared_new(&pm, RTW_WS_OP_CONTINUATION, "a", 1, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  half = cm.mem;
  half.calloc_fn = NULL;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, NULL, &half),
                   RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.version = 0;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.version = RTW_WS_DEFLATE_CONFIG_VERSION + 1;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.level = 10;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.deflate_window_bits = 8; /* zlib cannot deflate with an 8-bit window */
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.deflate_window_bits = 16;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.deflate_mem_level = 10;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.inflate_window_bits = 7;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  c = dcfg, c.flags = 0x100;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "a", 1, &c, &cm.mem), RTW_ERR_INVALID_ARGUMENT);
  assert_null(pm);
  assert_int_equal(cm.live, 0);
  assert_int_equal(rtw_ws_queue_prepared(NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
}

/* RFC 6455 5.6 / 8.1: text must be UTF-8; checked once, nothing allocated on refusal. */
static void test_utf8(void **state)
{
  static const char *const bad[] = {"\xff", "abc\xc3", "\xed\xa0\x80", "\xc0\xaf", "ok\xf4\x90\x80\x80"};
  rtw_ws_prepared *pm;
  rtwt_countmem cm;
  size_t k;

  (void)state;
  rtwt_countmem_init(&cm);
  for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    pm = (rtw_ws_prepared *)&cm;
    assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, bad[k], strlen(bad[k]), &dcfg, &cm.mem),
                     RTW_ERR_INVALID_UTF8);
    assert_null(pm);
    assert_int_equal(cm.live, 0);
    /* The same bytes as binary are fine. */
    assert_int_equal(rtw_ws_prepared_new(&pm, BIN, bad[k], strlen(bad[k]), &dcfg, &cm.mem), 0);
    rtw_ws_prepared_free(pm);
    assert_int_equal(cm.live, 0);
  }
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "h\xc3\xa9llo \xf0\x9f\x98\x80", 11, &dcfg,
                                       &cm.mem),
                   0);
  rtw_ws_prepared_free(pm);
  assert_int_equal(cm.live, 0);
}

/* One prepared message on a session of every negotiation: each peer receives exactly the
 * message; the shared frames are the same bytes in memory for every session taking them. */
static void test_broadcast(void **state)
{
  uint8_t *text = wst_pattern(2000, 1, 3);
  rtw_ws_callbacks cb;
  rtw_ws_prepared *pm;
  rtw_ws *ws[NNEGO];
  rtw_iovec first[NNEGO];
  wst_buf wire[NNEGO];
  const uint8_t *block;
  size_t block_len, plain, comp, k;
  rtwt_countmem cm;

  (void)state;
  rtwt_countmem_init(&cm);
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  cb.random = random_cb;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, text, 2000, &dcfg, &cm.mem), 0);
  block = cm.last;
  block_len = cm.last_len;
  assert_int_equal(rtw_ws_prepared_sizes(pm, &plain, &comp), 0);
  for (k = 0; k < NNEGO; k++) {
    ws[k] = session(negos[k].role, &negos[k], 0, NULL, &cb, NULL);
    assert_int_equal(rtw_ws_queue_prepared(ws[k], pm), 0);
  }
  /* The caller's reference goes first: the sessions keep the block alive. */
  rtw_ws_prepared_free(pm);
  assert_int_equal(cm.live, 1);
  for (k = 0; k < NNEGO; k++) {
    peer p;

    wst_buf_init(&wire[k]);
    memset(&first[k], 0, sizeof first[k]);
    drain(ws[k], &wire[k], &first[k]);
    if (negos[k].shared) {
      /* Zero-copy: one gather element pointing into the prepared block. */
      assert_true(inside(first[k].base, block, block_len));
      assert_int_equal(first[k].len, negos[k].deflate ? comp : plain);
      assert_int_equal(wire[k].len, first[k].len);
    } else {
      assert_false(inside(first[k].base, block, block_len));
    }
    /* Compressed exactly where negotiated (RSV1 on the frame). */
    assert_int_equal((wire[k].p[0] & 0x40u) != 0, negos[k].deflate);
    peer_receive(&negos[k], &wire[k], &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.op[0], TEXT);
    assert_int_equal(p.got[0].len, 2000);
    assert_memory_equal(p.got[0].p, text, 2000);
    peer_free(&p);
  }
  /* Sessions taking the same form share the very same bytes. */
  assert_ptr_equal(first[1].base, first[2].base);
  assert_ptr_not_equal(first[0].base, first[1].base);
  /* Every shared frame has been written: the block is gone. */
  assert_int_equal(cm.live, 0);
  assert_int_equal(cm.cur, 0);
  for (k = 0; k < NNEGO; k++) {
    rtw_ws_free(ws[k]);
    wst_buf_free(&wire[k]);
  }
  free(text);
}

/* Inflate a single compressed server frame's payload with a raw zlib window of `bits`, the
 * 00 00 FF FF tail put back (RFC 7692 7.2.2); the inflated length, or (size_t)-1 when zlib
 * fails (a distance beyond the window among others). */
static size_t zinflate_frame(const wst_buf *wire, int bits, uint8_t *out, size_t cap)
{
  size_t h = 2, len = wire->p[1] & 0x7Fu, n;
  uint8_t *in;
  z_stream zs;
  int rv;

  if (len == 126) {
    len = (size_t)wire->p[2] << 8 | wire->p[3];
    h = 4;
  }
  assert_int_equal(h + len, wire->len); /* one unmasked frame, shorter than 64 KiB here */
  in = malloc(len + 4);
  assert_non_null(in);
  memcpy(in, wire->p + h, len);
  memcpy(in + len, "\x00\x00\xff\xff", 4);
  memset(&zs, 0, sizeof zs);
  assert_int_equal(inflateInit2(&zs, -bits), Z_OK);
  zs.next_in = in;
  zs.avail_in = (uInt)(len + 4);
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  rv = inflate(&zs, Z_SYNC_FLUSH);
  n = rv == Z_OK && zs.avail_in == 0 ? cap - zs.avail_out : (size_t)-1;
  inflateEnd(&zs);
  free(in);
  return n;
}

/* A session that negotiated server_max_window_bits=8 (Autobahn 13.3/13.5) takes the shared
 * frame compressed at 9 bits: zlib at 9 emits no distance above 512 - 262 = 250 bytes, so a
 * client inflating with a 256-byte window reads it (checked here with zlib at -8, on text,
 * zeros and random blocks repeated at periods above 256). A 10-bit frame is not shared. */
static void test_window8(void **state)
{
  static const nego n8 = {"server-8", RTW_WS_ROLE_SERVER, 1, {1, 1, 8, 15}, 1};
  static const size_t periods[] = {0, 1, 255, 256, 300};
  rtw_ws_deflate_config c = dcfg;
  rtw_ws_callbacks cb;
  size_t k, n = 20000;
  uint8_t *data = malloc(n), *back = malloc(n + 1);
  uint32_t seed = 7;

  (void)state;
  assert_true(data != NULL && back != NULL);
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  for (k = 0; k < sizeof periods / sizeof periods[0]; k++) {
    rtw_ws_prepared *pm;
    rtw_ws *ws;
    rtw_iovec first;
    wst_buf wire;
    size_t i, comp, block_len;
    const uint8_t *block;
    rtwt_countmem cm;

    for (i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      if (periods[k] == 1)
        data[i] = 0;
      else if (periods[k] != 0 && i >= periods[k])
        data[i] = data[i - periods[k]];
      else
        data[i] = (uint8_t)('a' + (seed >> 16) % 8u); /* text, compressible */
    }
    rtwt_countmem_init(&cm);
    c.deflate_window_bits = 9;
    assert_int_equal(rtw_ws_prepared_new(&pm, BIN, data, n, &c, &cm.mem), 0);
    block = cm.last;
    block_len = cm.last_len;
    assert_int_equal(rtw_ws_prepared_sizes(pm, NULL, &comp), 0);
    assert_true(comp > 0 && comp < n);
    ws = session(RTW_WS_ROLE_SERVER, &n8, 0, NULL, &cb, NULL);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), 0);
    wst_buf_init(&wire);
    drain(ws, &wire, &first);
    assert_true(inside(first.base, block, block_len)); /* shared, zero-copy */
    assert_int_equal(wire.len, comp);
    assert_int_equal(wire.p[0], 0xc2); /* FIN, RSV1, binary */
    assert_int_equal(zinflate_frame(&wire, 8, back, n + 1), n);
    assert_memory_equal(back, data, n);
    rtw_ws_free(ws);
    rtw_ws_prepared_free(pm);
    wst_buf_free(&wire);
    /* compressed at 10 bits: not for a peer limited to 8 (its own compressor runs at 9) */
    c.deflate_window_bits = 10;
    assert_int_equal(rtw_ws_prepared_new(&pm, BIN, data, n, &c, &cm.mem), 0);
    block = cm.last;
    block_len = cm.last_len;
    ws = session(RTW_WS_ROLE_SERVER, &n8, 0, NULL, &cb, NULL);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), 0);
    wst_buf_init(&wire);
    drain(ws, &wire, &first);
    assert_false(inside(first.base, block, block_len));
    assert_int_equal(wire.p[0] & 0x40u, 0x40u);
    assert_int_equal(zinflate_frame(&wire, 8, back, n + 1), n);
    assert_memory_equal(back, data, n);
    rtw_ws_free(ws);
    rtw_ws_prepared_free(pm);
    wst_buf_free(&wire);
    assert_int_equal(cm.live, 0);
  }
  free(data);
  free(back);
}

/* Prepared and per-session messages interleave: the session's own compressor state stays in
 * step with its peer (a context takeover session falls back; a no-takeover one resets). */
static void test_interleaved(void **state)
{
  uint8_t *a = wst_pattern(3000, 1, 4), *b = wst_pattern(900, 1, 5); /* compressible: b refers back */
  rtw_ws_callbacks cb;
  rtw_ws_prepared *pm;
  size_t k;

  (void)state;
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  cb.random = random_cb;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, a, 3000, &dcfg, NULL), 0);
  for (k = 0; k < NNEGO; k++) {
    rtw_ws *ws = session(negos[k].role, &negos[k], 0, NULL, &cb, NULL);
    wst_buf wire;
    peer p;

    wst_buf_init(&wire);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), 0);
    assert_int_equal(rtw_ws_queue_message(ws, BIN, b, 900, 0), 0);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), 0);
    assert_int_equal(rtw_ws_queue_message(ws, BIN, b, 900, 0), 0);
    drain(ws, &wire, NULL);
    peer_receive(&negos[k], &wire, &p);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.op[0], TEXT);
    assert_int_equal(p.op[1], BIN);
    assert_int_equal(p.got[0].len, 3000);
    assert_int_equal(p.got[2].len, 3000);
    assert_memory_equal(p.got[0].p, a, 3000);
    assert_memory_equal(p.got[2].p, a, 3000);
    assert_int_equal(p.got[3].len, 900);
    assert_memory_equal(p.got[1].p, b, 900);
    assert_memory_equal(p.got[3].p, b, 900);
    peer_free(&p);
    wst_buf_free(&wire);
    rtw_ws_free(ws);
  }
  rtw_ws_prepared_free(pm);
  free(a);
  free(b);
}

/* A session freed with the frame still queued gives its reference back (the frame is
 * dropped); in any order of frees, memory returns to zero. */
static void test_refcount(void **state)
{
  uint8_t *bin = wst_pattern(20000, 0, 6);
  rtw_ws_prepared *pm;
  rtw_ws *s1, *s2, *s3;
  wst_buf wire;
  rtwt_countmem cm, sm;
  size_t before;

  (void)state;
  rtwt_countmem_init(&cm);
  rtwt_countmem_init(&sm);
  assert_int_equal(rtw_ws_prepared_new(&pm, BIN, bin, 20000, &dcfg, &cm.mem), 0);
  s1 = session(RTW_WS_ROLE_SERVER, &negos[0], 0, &sm.mem, NULL, NULL);
  s2 = session(RTW_WS_ROLE_SERVER, &negos[1], 0, &sm.mem, NULL, NULL);
  s3 = session(RTW_WS_ROLE_SERVER, &negos[1], 0, &sm.mem, NULL, NULL);
  before = sm.cur;
  assert_int_equal(rtw_ws_queue_prepared(s1, pm), 0);
  assert_int_equal(rtw_ws_queue_prepared(s2, pm), 0);
  assert_int_equal(rtw_ws_queue_prepared(s2, pm), 0); /* twice on one session */
  assert_int_equal(rtw_ws_queue_prepared(s3, pm), 0);
  /* The frames go out by reference: the payload is not copied into any session. */
  assert_true(sm.cur - before < 4096); /* queue bookkeeping only, 4 x 20000 bytes queued */
  assert_int_equal(cm.live, 1);
  rtw_ws_free(s1);
  rtw_ws_prepared_free(pm);
  assert_int_equal(cm.live, 1);
  wst_buf_init(&wire);
  drain(s2, &wire, NULL);
  assert_int_equal(cm.live, 1);
  /* Partly written, then dropped by the free. */
  {
    const void *d;
    size_t len;

    assert_int_equal(rtw_ws_send_pending(s3, &d, &len), 0);
    assert_true(len > 1);
    assert_int_equal(rtw_ws_send_consumed(s3, 1), 0);
  }
  rtw_ws_free(s3);
  assert_int_equal(cm.live, 0);
  assert_int_equal(cm.cur, 0);
  {
    peer p;

    peer_receive(&negos[1], &wire, &p);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.got[1].len, 20000);
    assert_memory_equal(p.got[1].p, bin, 20000);
    peer_free(&p);
  }
  rtw_ws_free(s2);
  assert_int_equal(sm.live, 0);
  wst_buf_free(&wire);
  free(bin);
}

/* max_outbound: a prepared frame that does not fit queues nothing and keeps no reference;
 * a closed session refuses too. */
static void test_refusals(void **state)
{
  uint8_t *text = wst_pattern(1000, 1, 7);
  rtw_ws_prepared *pm;
  size_t k, comp;
  rtwt_countmem cm;

  (void)state;
  rtwt_countmem_init(&cm);
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, text, 1000, &dcfg, &cm.mem), 0);
  assert_int_equal(rtw_ws_prepared_sizes(pm, NULL, &comp), 0);
  assert_true(comp > 16); /* even compressed (shared, or by the session) it cannot fit */
  for (k = 0; k < NNEGO; k++) {
    rtw_ws_callbacks cb;
    rtw_ws *ws;

    memset(&cb, 0, sizeof cb);
    cb.version = RTW_WS_CALLBACKS_VERSION;
    cb.random = random_cb;
    ws = session(negos[k].role, &negos[k], 16, NULL, &cb, NULL);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), RTW_ERR_WS_OUTBOUND_FULL);
    assert_int_equal(rtw_ws_outbound_size(ws), 0);
    assert_int_equal(rtw_ws_want_write(ws), 0);
    assert_int_equal(rtw_ws_close(ws, 1000, NULL, 0), 0);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), RTW_ERR_WS_CLOSED);
    rtw_ws_free(ws);
  }
  /* No session kept a reference: the caller's free releases the block. */
  assert_int_equal(cm.live, 1);
  rtw_ws_prepared_free(pm);
  assert_int_equal(cm.live, 0);
  free(text);
}

/* A streamed message in progress cannot take a whole frame in its middle. */
static void test_streamed_in_progress(void **state)
{
  rtw_ws_prepared *pm;
  rtw_ws *ws;
  size_t k;

  (void)state;
  assert_int_equal(rtw_ws_prepared_new(&pm, TEXT, "hello", 5, &dcfg, NULL), 0);
  for (k = 0; k < NNEGO; k++) {
    rtw_ws_callbacks cb;

    memset(&cb, 0, sizeof cb);
    cb.version = RTW_WS_CALLBACKS_VERSION;
    cb.random = random_cb;
    ws = session(negos[k].role, &negos[k], 0, NULL, &cb, NULL);
    assert_int_equal(rtw_ws_queue_fragment(ws, BIN, "ab", 2, 0), 0);
    assert_int_equal(rtw_ws_queue_prepared(ws, pm), RTW_ERR_INVALID_STATE);
    rtw_ws_free(ws);
  }
  rtw_ws_prepared_free(pm);
}

/* Allocation failures while preparing: clean errors, nothing left. */
static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  rtw_ws_prepared *pm = NULL;
  int rv = rtw_ws_prepared_new(&pm, TEXT, arg, 3000, &dcfg, mem);

  if (rv == 0) {
    assert_non_null(pm);
    rtw_ws_prepared_free(pm);
  } else {
    assert_null(pm);
  }
  return rv;
}

static void test_alloc_failures(void **state)
{
  uint8_t *text = wst_pattern(3000, 1, 8);

  (void)state;
  assert_true(rtwt_check_alloc_failures(alloc_scenario, text) >= 4);
  free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_object),
    cmocka_unit_test(test_no_compressed_form),
    cmocka_unit_test(test_arguments),
    cmocka_unit_test(test_utf8),
    cmocka_unit_test(test_broadcast),
    cmocka_unit_test(test_interleaved),
    cmocka_unit_test(test_window8),
    cmocka_unit_test(test_refcount),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_streamed_in_progress),
    cmocka_unit_test(test_alloc_failures),
  };

  return cmocka_run_group_tests_name("ws_prepared", tests, NULL, NULL);
}
