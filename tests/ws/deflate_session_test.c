/* SPDX-License-Identifier: MIT */
/* permessage-deflate (RFC 7692) in the session engine: compressed receive and send, modelled on
 * the Autobahn|Testsuite sections 12 (payload sizes, text and binary, fragment sizes, many
 * messages in a row) and 13 (each negotiated parameter set, both views), plus hand-made
 * compressed frames (the RFC 7692 7.2.3 vectors, and streams built with zlib here, independent
 * of lib/ws/deflate.c), the RSV1 rules, bad DEFLATE data, a decompression bomb under a
 * counting allocator, UTF-8 across inflate chunks, the memory held between messages, the
 * memory budget and pauses in the middle of inflated frames.
 *
 * Every receive case is fed whole, byte by byte and split in two at every offset (large ones
 * in a few chunk sizes), and the event logs must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "deflate.h" /* rtw__ws_queue_frames() */
#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY
#define CONT RTW_WS_OP_CONTINUATION
#define RSV1 RTW_WS_RSV1

/* ------------------------------------------------------------------ driven receiver */

#define P_DATA 1u /* on_message_data returns RTW_ERR_PAUSE */
#define P_MSG 2u  /* on_message_end / on_message return RTW_ERR_PAUSE */

typedef struct dopts {
  int role;      /* of the session under test */
  int whole;     /* RTW_WS_FLAG_WHOLE_MESSAGES */
  int deflate;   /* rtw_ws_set_deflate() with neg and cfg */
  rtw_ws_deflate_params neg;
  rtw_ws_deflate_config cfg;
  uint64_t max_msg;
  uint64_t max_frame;
  size_t frag;
  size_t max_out;
  unsigned pause;
  const rtw_mem *mem;
} dopts;

typedef struct drun {
  const dopts *o;
  rtw_ws *ws;
  rtwt_log *log;
  wst_buf msg;
  int op;
  size_t pieces;
} drun;

static int d_begin(rtw_ws *ws, int op, void *ud)
{
  drun *r = ud;

  (void)ws;
  r->op = op;
  wst_buf_clear(&r->msg);
  return 0;
}

static int d_data(rtw_ws *ws, const void *p, size_t n, void *ud)
{
  drun *r = ud;

  (void)ws;
  assert_true(n > 0);
  wst_buf_put(&r->msg, p, n);
  r->pieces++;
  return r->o->pause & P_DATA ? RTW_ERR_PAUSE : 0;
}

static int d_end(rtw_ws *ws, void *ud)
{
  drun *r = ud;

  (void)ws;
  wst_log_msg(r->log, r->op, r->msg.p, r->msg.len);
  return r->o->pause & P_MSG ? RTW_ERR_PAUSE : 0;
}

static int d_message(rtw_ws *ws, int op, const void *p, size_t n, void *ud)
{
  drun *r = ud;

  (void)ws;
  wst_log_msg(r->log, op, p, n);
  return r->o->pause & P_MSG ? RTW_ERR_PAUSE : 0;
}

static int d_ping(rtw_ws *ws, const void *p, size_t n, void *ud)
{
  drun *r = ud;

  (void)ws;
  rtwt_log_printf(r->log, "ping(");
  rtwt_log_bytes(r->log, p, n);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int d_close(rtw_ws *ws, int code, const char *reason, size_t n, void *ud)
{
  drun *r = ud;

  (void)ws, (void)reason, (void)n;
  rtwt_log_printf(r->log, "close(%d)\n", code);
  return 0;
}

static int d_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  (void)ws, (void)ud;
  memset(buf, 0x5A, len);
  return 0;
}

static int d_start(drun *r, const dopts *o, rtwt_log *log)
{
  rtw_ws_callbacks cb;
  rtw_ws_settings st;
  int rv;

  memset(r, 0, sizeof *r);
  r->o = o;
  r->log = log;
  wst_buf_init(&r->msg);
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  cb.on_message_begin = d_begin;
  cb.on_message_data = d_data;
  cb.on_message_end = d_end;
  cb.on_message = d_message;
  cb.on_ping = d_ping;
  cb.on_close = d_close;
  cb.random = d_random;
  memset(&st, 0, sizeof st);
  st.version = RTW_WS_SETTINGS_VERSION;
  st.flags = o->whole ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
  st.max_message_size = o->max_msg;
  st.max_frame_size = o->max_frame;
  st.fragment_size = o->frag;
  st.max_outbound = o->max_out;
  st.keep_idle_ms = UINT32_MAX; /* the zlib timers alone set the deadlines here */
  rv = rtw_ws_new(&r->ws, o->role, &cb, &st, o->mem, r);
  if (rv != 0)
    return rv;
  if (o->deflate)
    rv = rtw_ws_set_deflate(r->ws, &o->neg, &o->cfg);
  return rv;
}

/* Minimal parse of what the session queued: opcode, RSV1, FIN, and close codes. */
static void log_output(rtwt_log *log, const uint8_t *p, size_t n)
{
  size_t i = 0;

  while (i + 2 <= n) {
    unsigned op = p[i] & 0x0Fu, masked = p[i + 1] & 0x80u;
    uint64_t len = p[i + 1] & 0x7Fu;
    size_t h = 2;
    uint8_t key[4] = {0, 0, 0, 0};
    if (len == 126) {
      len = (uint64_t)p[i + 2] << 8 | p[i + 3];
      h = 4;
    } else if (len == 127) {
      size_t k;
      len = 0;
      for (k = 0; k < 8; k++)
        len = len << 8 | p[i + 2 + k];
      h = 10;
    }
    if (masked) {
      memcpy(key, p + i + h, 4);
      h += 4;
    }
    assert_true(i + h + len <= n);
    if (op == RTW_WS_OP_CLOSE && len >= 2) {
      unsigned c = (unsigned)((p[i + h] ^ key[0]) << 8 | (p[i + h + 1] ^ key[1]));
      rtwt_log_printf(log, "out:close(%u)\n", c);
    } else if (p[i] & 0x40u) { /* compressed: the length depends on zlib's version */
      rtwt_log_printf(log, "out:%s[rsv1]%s\n", wst_opname(op), p[i] & 0x80u ? "" : "[more]");
    } else {
      rtwt_log_printf(log, "out:%s%s(%llu)\n", wst_opname(op), p[i] & 0x80u ? "" : "[more]",
                      (unsigned long long)len);
    }
    i += h + (size_t)len;
  }
  assert_int_equal(i, n);
}

static void d_finish(drun *r)
{
  wst_buf out;

  wst_buf_init(&out);
  assert_int_equal(wst_drain(r->ws, &out, WST_DRAIN_CONTIG), 0);
  log_output(r->log, out.p, out.len);
  wst_buf_free(&out);
}

static void d_stop(drun *r)
{
  rtw_ws_free(r->ws);
  wst_buf_free(&r->msg);
}

/* Feed one piece, resuming after pauses: a pause must consume input or deliver, never spin. */
static int d_recv(drun *r, const uint8_t *p, size_t n)
{
  size_t spins = 0;

  while (n > 0) {
    size_t nread = 0;
    int rv = rtw_ws_recv(r->ws, p, n, &nread);
    assert_true(nread <= n);
    p += nread;
    n -= nread;
    if (rv == RTW_ERR_PAUSE) {
      assert_true(++spins < 100000000u);
      continue;
    }
    if (rv != 0) {
      rtwt_log_printf(r->log, "error(%s)\n", rtw_err_name(rv));
      return rv;
    }
    assert_int_equal(n, 0);
  }
  return 0;
}

static void d_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces, size_t np,
                   rtwt_log *log)
{
  const dopts *o = arg;
  drun r;
  size_t i, off = 0;

  assert_int_equal(d_start(&r, o, log), 0);
  for (i = 0; i < np; i++) {
    if (d_recv(&r, in + off, pieces[i]) != 0)
      break;
    off += pieces[i];
  }
  (void)len;
  d_finish(&r);
  d_stop(&r);
}

/* Feed whole and in chunks (byte by byte up to 16 KiB); every log must equal the first. */
static void check_chunks(const dopts *o, const uint8_t *in, size_t len, const char *expected)
{
  static const size_t sizes[] = {1, 3, 1000, 4097, 8191, 65536};
  size_t *pieces = malloc((len + 1) * sizeof *pieces);
  rtwt_log first, log;
  size_t s, i;

  assert_non_null(pieces);
  rtwt_log_init(&first);
  rtwt_log_init(&log);
  pieces[0] = len;
  d_feed((void *)o, in, len, pieces, 1, &first);
  if (expected != NULL && strcmp(first.buf, expected) != 0)
    wst_fail("whole input:\n%s\nexpected:\n%s", first.buf, expected);
  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t k = sizes[s], np = 0;
    if (k == 1 && len > 16384)
      continue;
    for (i = 0; i < len; i += k)
      pieces[np++] = len - i < k ? len - i : k;
    rtwt_log_clear(&log);
    d_feed((void *)o, in, len, pieces, np, &log);
    if (strcmp(first.buf, log.buf) != 0)
      wst_fail("chunks of %zu:\n%s\nwhole:\n%s", k, log.buf, first.buf);
  }
  rtwt_log_free(&first);
  rtwt_log_free(&log);
  free(pieces);
}

/* Whole, byte by byte and every split for small inputs; chunks for large ones. */
static void check_all(const dopts *o, const uint8_t *in, size_t len, const char *expected)
{
  if (len <= WST_SPLIT_MAX)
    rtwt_check_splits(d_feed, (void *)o, in, len, expected);
  else
    check_chunks(o, in, len, expected);
}

/* The same input in streamed mode, whole-message mode, and streamed with a pause at every
 * data callback: the logs must agree. */
static void check_modes(const dopts *base, const uint8_t *in, size_t len, const char *expected)
{
  dopts o = *base;

  check_all(&o, in, len, expected);
  o.whole = !base->whole;
  check_all(&o, in, len, expected);
  o.whole = 0;
  o.pause = P_DATA | P_MSG;
  check_all(&o, in, len, expected);
}

/* ------------------------------------------------------------------ parameters */

static rtw_ws_deflate_params params(int snct, int cnct, unsigned sbits, unsigned cbits)
{
  rtw_ws_deflate_params p;

  p.server_no_context_takeover = (uint8_t)snct;
  p.client_no_context_takeover = (uint8_t)cnct;
  p.server_max_window_bits = (uint8_t)sbits;
  p.client_max_window_bits = (uint8_t)cbits;
  return p;
}

static rtw_ws_deflate_config config(uint32_t flags)
{
  rtw_ws_deflate_config c;

  memset(&c, 0, sizeof c);
  c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  c.flags = flags;
  return c;
}

static dopts server_opts(void)
{
  dopts o;

  memset(&o, 0, sizeof o);
  o.role = RTW_WS_ROLE_SERVER;
  o.deflate = 1;
  o.neg = params(0, 0, 0, 0); /* context takeover both ways, 15 bits */
  o.cfg = config(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER);
  return o;
}

/* A client frame (masked) with the given RSV bits. */
static void cframe(wst_buf *b, unsigned rsv, int fin, unsigned op, const void *p, size_t n)
{
  wst_hdr h;

  memset(&h, 0, sizeof h);
  h.fin = fin;
  h.rsv = rsv;
  h.opcode = op;
  h.masked = 1;
  wst_key(b->keyseq++, h.key);
  wst_put_frame(b, &h, p, n);
}

/* ------------------------------------------------------------------ zlib oracle */

/* Raw DEFLATE of p with a sync flush and the 4-byte tail removed (RFC 7692 7.2.1), made by
 * zlib here. `zs` may carry context between messages (NULL: a fresh stream). Caller frees. */
static uint8_t *zcompress(z_stream *zs, const void *p, size_t n, int bits, size_t *out_len)
{
  z_stream local;
  size_t cap = n + n / 8 + 64;
  uint8_t *out = malloc(cap);

  assert_non_null(out);
  if (zs == NULL) {
    memset(&local, 0, sizeof local);
    assert_int_equal(deflateInit2(&local, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs = &local;
  }
  zs->next_in = (Bytef *)(uintptr_t)p;
  zs->avail_in = (uInt)n;
  zs->next_out = out;
  zs->avail_out = (uInt)cap;
  assert_int_equal(deflate(zs, Z_SYNC_FLUSH), Z_OK);
  assert_int_equal(zs->avail_in, 0);
  *out_len = cap - zs->avail_out;
  assert_true(*out_len >= 4);
  assert_memory_equal(out + *out_len - 4, "\x00\x00\xff\xff", 4);
  *out_len -= 4;
  if (zs == &local)
    deflateEnd(&local);
  return out;
}

/* Inflate a whole message as RFC 7692 7.2.2 says, with zlib here. Caller frees. */
static uint8_t *zinflate(z_stream *zs, const uint8_t *p, size_t n, size_t max, size_t *out_len)
{
  uint8_t *in = malloc(n + 4), *out = malloc(max + 1);

  assert_non_null(in);
  assert_non_null(out);
  memcpy(in, p, n);
  memcpy(in + n, "\x00\x00\xff\xff", 4);
  zs->next_in = in;
  zs->avail_in = (uInt)(n + 4);
  zs->next_out = out;
  zs->avail_out = (uInt)(max + 1);
  assert_true(inflate(zs, Z_SYNC_FLUSH) == Z_OK);
  assert_int_equal(zs->avail_in, 0);
  *out_len = max + 1 - zs->avail_out;
  free(in);
  return out;
}

/* ------------------------------------------------------------------ RFC 7692 7.2.3 vectors */

static const uint8_t hello_z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

/* 7.2.3.1: "Hello" compressed, in one frame and in two fragments. */
static void test_rfc_hello(void **state)
{
  dopts o = server_opts();
  wst_buf b;

  (void)state;
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  check_modes(&o, b.p, b.len, "msg(text,\"Hello\")\n");
  wst_buf_clear(&b);
  cframe(&b, RSV1, 0, TEXT, hello_z, 3);
  cframe(&b, 0, 1, CONT, hello_z + 3, 4);
  check_modes(&o, b.p, b.len, "msg(text,\"Hello\")\n");
  /* a ping between the fragments is answered and reported in order (RFC 6455 5.4) */
  wst_buf_clear(&b);
  cframe(&b, RSV1, 0, TEXT, hello_z, 3);
  cframe(&b, 0, 1, RTW_WS_OP_PING, "p", 1);
  cframe(&b, 0, 1, CONT, hello_z + 3, 4);
  check_modes(&o, b.p, b.len, "ping(p)\nmsg(text,\"Hello\")\nout:pong(1)\n");
  wst_buf_free(&b);
}

/* 7.2.3.2: the second "Hello" with the shared LZ77 window; only with context takeover. */
static void test_rfc_shared_window(void **state)
{
  static const uint8_t second[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
  dopts o = server_opts();
  wst_buf b;

  (void)state;
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  cframe(&b, RSV1, 1, TEXT, second, sizeof second);
  check_modes(&o, b.p, b.len, "msg(text,\"Hello\")\nmsg(text,\"Hello\")\n");
  /* without the peer's context takeover the window is dropped: the back reference is then
   * invalid DEFLATE data (distance too far back) */
  o.neg = params(0, 1, 0, 0);
  check_modes(&o, b.p, b.len,
              "msg(text,\"Hello\")\nerror(RTW_ERR_WS_BAD_COMPRESSED)\nout:close(1007)\n");
  wst_buf_free(&b);
}

/* 7.2.3.3: a DEFLATE block with no compression; 7.2.3.6: an empty message is one 0x00 byte;
 * a message mixing a compressed and an uncompressed one. */
static void test_rfc_blocks(void **state)
{
  static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00};
  static const uint8_t empty[] = {0x00};
  dopts o = server_opts();
  wst_buf b;

  (void)state;
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, TEXT, stored, sizeof stored);
  cframe(&b, RSV1, 1, BIN, empty, sizeof empty);
  cframe(&b, 0, 1, TEXT, "plain", 5);
  cframe(&b, RSV1, 1, TEXT, NULL, 0); /* no DEFLATE data at all: empty too */
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  check_modes(&o, b.p, b.len,
              "msg(text,\"Hello\")\nmsg(binary,\"\")\nmsg(text,\"plain\")\nmsg(text,\"\")\n"
              "msg(text,\"Hello\")\n");
  wst_buf_free(&b);
}

/* ------------------------------------------------------------------ RSV1 rules, bad data */

#define PROTO_ERR "error(RTW_ERR_WS_RESERVED_BITS)\nout:close(1002)\n"

static void test_rsv1_misuse(void **state)
{
  dopts o = server_opts();
  wst_buf b;

  (void)state;
  wst_buf_init(&b);
  /* RFC 7692 6.1: RSV1 on a continuation frame */
  cframe(&b, RSV1, 0, TEXT, hello_z, 3);
  cframe(&b, RSV1, 1, CONT, hello_z + 3, 4);
  check_modes(&o, b.p, b.len, PROTO_ERR);
  /* also after an uncompressed first frame */
  wst_buf_clear(&b);
  cframe(&b, 0, 0, TEXT, "He", 2);
  cframe(&b, RSV1, 1, CONT, "llo", 3);
  check_modes(&o, b.p, b.len, PROTO_ERR);
  /* on control frames */
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, RTW_WS_OP_PING, "", 0);
  check_modes(&o, b.p, b.len, PROTO_ERR);
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, RTW_WS_OP_CLOSE, "\x03\xe8", 2);
  check_modes(&o, b.p, b.len, PROTO_ERR);
  /* without negotiation (RFC 6455 5.2) */
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  o.deflate = 0;
  check_modes(&o, b.p, b.len, PROTO_ERR);
  /* RSV2 and RSV3 stay reserved with deflate on */
  o.deflate = 1;
  wst_buf_clear(&b);
  cframe(&b, RSV1 | RTW_WS_RSV2, 1, TEXT, hello_z, sizeof hello_z);
  check_modes(&o, b.p, b.len, PROTO_ERR);
  wst_buf_free(&b);
}

static void test_bad_deflate(void **state)
{
  static const uint8_t reserved_type[] = {0xff, 0x00}; /* BTYPE 11: reserved (RFC 1951 3.2.3) */
  static const uint8_t bad_stored[] = {0x00, 0x05, 0x00, 0x00, 0x00, 'x'}; /* NLEN wrong */
  /* a stored block with "\xff" "a", then a block of the reserved type */
  static const uint8_t stored_then_bad[] = {0x00, 0x02, 0x00, 0xfd, 0xff, 0xff, 'a', 0xff, 0, 0};
  dopts o = server_opts();
  wst_buf b;

  (void)state;
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, BIN, reserved_type, sizeof reserved_type);
  check_modes(&o, b.p, b.len, "error(RTW_ERR_WS_BAD_COMPRESSED)\nout:close(1007)\n");
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  cframe(&b, RSV1, 1, BIN, bad_stored, sizeof bad_stored);
  check_modes(&o, b.p, b.len,
              "msg(text,\"Hello\")\nerror(RTW_ERR_WS_BAD_COMPRESSED)\nout:close(1007)\n");
  /* Regression (fuzz_ws_deflate_session): output that is not UTF-8 comes before the bad
   * block; fed whole, zlib returned both in one call and the output was dropped, so the
   * error depended on the split. The output before the bad data is checked first. */
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, TEXT, stored_then_bad, sizeof stored_then_bad);
  check_modes(&o, b.p, b.len, "error(RTW_ERR_INVALID_UTF8)\nout:close(1007)\n");
  wst_buf_free(&b);
}

/* Text validated on the inflated bytes, incrementally: a character split across inflate
 * chunks is fine; a bad byte fails with 1007 and nothing of the message is delivered in
 * whole-message mode. */
static void test_utf8(void **state)
{
  dopts o = server_opts();
  size_t n = 20000, zl, i;
  uint8_t *t = malloc(n), *z;
  wst_buf b;
  rtwt_log exp;

  (void)state;
  assert_non_null(t);
  for (i = 0; i + 3 <= n; i += 3) /* U+20AC, 3 bytes: crosses every 4096-byte chunk edge */
    memcpy(t + i, "\xe2\x82\xac", 3);
  for (; i < n; i++)
    t[i] = 'a';
  z = zcompress(NULL, t, n, 15, &zl);
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, TEXT, z, zl);
  rtwt_log_init(&exp);
  wst_log_msg(&exp, TEXT, t, n);
  check_modes(&o, b.p, b.len, exp.buf);
  free(z);
  t[12345] = 0xff; /* never valid in UTF-8 */
  z = zcompress(NULL, t, n, 15, &zl);
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, TEXT, z, zl);
  check_modes(&o, b.p, b.len, "error(RTW_ERR_INVALID_UTF8)\nout:close(1007)\n");
  /* the message ends inside a character */
  free(z);
  z = zcompress(NULL, "ab\xe2\x82", 4, 15, &zl);
  wst_buf_clear(&b);
  cframe(&b, RSV1, 1, TEXT, z, zl);
  check_modes(&o, b.p, b.len, "error(RTW_ERR_INVALID_UTF8)\nout:close(1007)\n");
  rtwt_log_free(&exp);
  wst_buf_free(&b);
  free(z);
  free(t);
}

/* ------------------------------------------------------------------ bomb */

/* 1 GiB of zeros deflates to about 1 MB; the session must refuse it at max_message_size with
 * memory bounded by the limits, never inflating the rest. Built from 1 MiB pieces with sync
 * flushes: after the first, every piece compresses to the same bytes. */
static uint8_t *bomb(size_t *len)
{
  static uint8_t zero[1 << 20];
  z_stream zs;
  uint8_t *out = NULL, first[4096], piece[4096], again[4096];
  size_t lf, lp, la, i, cap;

  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
#define ZPIECE_(buf, l)                                                                        \
  do {                                                                                         \
    zs.next_in = zero;                                                                         \
    zs.avail_in = sizeof zero;                                                                 \
    zs.next_out = buf;                                                                         \
    zs.avail_out = sizeof buf;                                                                 \
    assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);                                        \
    assert_int_equal(zs.avail_in, 0);                                                          \
    l = sizeof buf - zs.avail_out;                                                             \
  } while (0)
  ZPIECE_(first, lf);
  ZPIECE_(piece, lp);
  ZPIECE_(again, la);
#undef ZPIECE_
  deflateEnd(&zs);
  assert_int_equal(lp, la);
  assert_memory_equal(piece, again, lp); /* the construction below relies on it */
  cap = lf + lp * 1023;
  out = malloc(cap);
  assert_non_null(out);
  memcpy(out, first, lf);
  for (i = 0; i < 1023; i++)
    memcpy(out + lf + i * lp, piece, lp);
  *len = cap - 4; /* RFC 7692 7.2.1: without the last sync flush's tail */
  return out;
}

static void test_bomb(void **state)
{
  dopts o = server_opts();
  size_t zl, k;
  uint8_t *z = bomb(&zl);
  wst_buf b;
  rtwt_countmem cm;
  rtwt_log log;
  size_t piece[1];
  static const uint64_t limits[] = {1u << 20, 4u << 20};

  (void)state;
  assert_true(zl > 1000000 && zl < 1200000);
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, BIN, z, zl);
  free(z);
  for (k = 0; k < 2 * (sizeof limits / sizeof limits[0]); k++) {
    o.max_msg = limits[k / 2];
    o.whole = (int)(k & 1);
    rtwt_countmem_init(&cm);
    o.mem = &cm.mem;
    rtwt_log_init(&log);
    piece[0] = b.len;
    d_feed(&o, b.p, b.len, piece, 1, &log);
    assert_string_equal(log.buf, "error(RTW_ERR_WS_MESSAGE_TOO_LARGE)\nout:close(1009)\n");
    /* peak: zlib's inflate state (about 40 KiB at 15 bits) and the session's small buffers;
     * in whole-message mode also the message buffer, up to max_message_size */
    assert_true(cm.peak < (o.whole ? o.max_msg * 2 : 0) + 96u * 1024u);
    assert_int_equal(cm.live, 0);
    assert_int_equal(cm.cur, 0);
    rtwt_log_free(&log);
  }
  /* and in pieces (byte by byte: the session stops after about a kilobyte of input) */
  o.mem = NULL;
  o.max_msg = 1u << 20;
  o.whole = 0;
  check_chunks(&o, b.p, b.len, "error(RTW_ERR_WS_MESSAGE_TOO_LARGE)\nout:close(1009)\n");
  wst_buf_free(&b);
}

/* ------------------------------------------------------------------ memory */

/* A byte-for-byte copy of a whole session's output. */
static void drain(rtw_ws *ws, wst_buf *out)
{
  assert_int_equal(wst_drain(ws, out, WST_DRAIN_IOV), 0);
}

static void test_memory_between_messages(void **state)
{
  dopts o = server_opts();
  drun r;
  rtwt_log log;
  wst_buf b, out;
  static const char msg[] = "a message long enough to be worth compressing, twice: "
                            "a message long enough to be worth compressing";

  (void)state;
  rtwt_log_init(&log);
  wst_buf_init(&b);
  wst_buf_init(&out);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  /* no context takeover either way, RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE: nothing held
   * between messages */
  o.neg = params(1, 1, 0, 0);
  o.cfg = config(RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  assert_int_equal(d_recv(&r, b.p, b.len), 0);
  assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, msg, sizeof msg - 1), 0);
  assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  d_stop(&r);
  /* the default policy: the streams are reset and kept, then released by rtw_ws_tick()
   * once idle for RTW_WS_DEFLATE_IDLE_RELEASE_MS (measured from the arming tick) */
  o.cfg = config(0);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_tick(r.ws, 100), 0);
  assert_int_equal(rtw_ws_next_deadline(r.ws), UINT64_MAX); /* nothing held, no timer */
  assert_int_equal(d_recv(&r, b.p, b.len), 0);
  assert_true(rtw_ws_deflate_memory(r.ws) > 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, msg, sizeof msg - 1), 0);
  {
    size_t held = rtw_ws_deflate_memory(r.ws);
    assert_true(held > 0);
    drain(r.ws, &out);
    assert_int_equal(rtw_ws_next_deadline(r.ws), 100); /* due: the next tick arms it */
    assert_int_equal(rtw_ws_tick(r.ws, 200), 0);
    assert_int_equal(rtw_ws_next_deadline(r.ws), 200 + RTW_WS_DEFLATE_IDLE_RELEASE_MS);
    assert_int_equal(rtw_ws_tick(r.ws, 200 + RTW_WS_DEFLATE_IDLE_RELEASE_MS - 1), 0);
    assert_int_equal(rtw_ws_deflate_memory(r.ws), held); /* not before the deadline */
    /* a message in the interval re-arms the timer instead of releasing */
    assert_int_equal(d_recv(&r, b.p, b.len), 0);
    assert_int_equal(rtw_ws_tick(r.ws, 200 + RTW_WS_DEFLATE_IDLE_RELEASE_MS), 0);
    assert_int_equal(rtw_ws_deflate_memory(r.ws), held);
    assert_int_equal(rtw_ws_next_deadline(r.ws), 200 + 2 * RTW_WS_DEFLATE_IDLE_RELEASE_MS);
    assert_int_equal(rtw_ws_tick(r.ws, 200 + 2 * RTW_WS_DEFLATE_IDLE_RELEASE_MS), 0);
    assert_int_equal(rtw_ws_deflate_memory(r.ws), 0); /* idle: released */
    assert_int_equal(rtw_ws_next_deadline(r.ws), UINT64_MAX);
    /* and taken again by the next message */
    assert_int_equal(d_recv(&r, b.p, b.len), 0);
    assert_true(rtw_ws_deflate_memory(r.ws) > 0);
  }
  d_stop(&r);
  /* with context takeover both ways the streams stay allocated */
  o.neg = params(0, 0, 0, 0);
  o.cfg = config(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_deflate_memory(r.ws), 0); /* lazy: nothing before the first use */
  assert_int_equal(d_recv(&r, b.p, b.len), 0);
  assert_true(rtw_ws_deflate_memory(r.ws) > 0);
  {
    size_t rx = rtw_ws_deflate_memory(r.ws);
    assert_int_equal(rtw_ws_queue_text(r.ws, msg, sizeof msg - 1), 0);
    assert_true(rtw_ws_deflate_memory(r.ws) > rx);
  }
  drain(r.ws, &out);
  {
    /* their state is the context: rtw_ws_tick() never releases them, and no timer runs */
    size_t held = rtw_ws_deflate_memory(r.ws);
    assert_int_equal(rtw_ws_tick(r.ws, 100), 0);
    assert_int_equal(rtw_ws_next_deadline(r.ws), UINT64_MAX);
    assert_int_equal(rtw_ws_tick(r.ws, 100 + 3 * RTW_WS_DEFLATE_IDLE_RELEASE_MS), 0);
    assert_int_equal(rtw_ws_deflate_memory(r.ws), held);
  }
  d_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&b);
  wst_buf_free(&out);
}

/* Allocations for n compressed messages received (streamed) and n sent, after a warm-up. */
static void steady_allocs(uint32_t flags, int n, long *rx, long *tx)
{
  rtwt_failmem fm;
  dopts o = server_opts();
  drun r;
  rtwt_log log;
  wst_buf b, out;
  long before;
  int i;
  static const char msg[] = "{\"type\":\"chat\",\"from\":\"ada\",\"text\":\"hello, hello, "
                            "hello: a chat line long enough to compress\"}";

  rtwt_failmem_init(&fm, 0);
  rtwt_log_init(&log);
  wst_buf_init(&b);
  wst_buf_init(&out);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  o.neg = params(1, 1, 0, 0);
  o.cfg = config(flags);
  o.mem = &fm.mem;
  assert_int_equal(d_start(&r, &o, &log), 0);
  for (i = 0; i < 3; i++) { /* warm-up: streams, output buffers */
    assert_int_equal(d_recv(&r, b.p, b.len), 0);
    assert_int_equal(rtw_ws_queue_text(r.ws, msg, sizeof msg - 1), 0);
    drain(r.ws, &out);
  }
  before = fm.count;
  for (i = 0; i < n; i++)
    assert_int_equal(d_recv(&r, b.p, b.len), 0);
  *rx = fm.count - before;
  before = fm.count;
  for (i = 0; i < n; i++) {
    assert_int_equal(rtw_ws_queue_text(r.ws, msg, sizeof msg - 1), 0);
    drain(r.ws, &out);
  }
  *tx = fm.count - before;
  if (flags & RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE) {
    assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  } else {
    /* held while busy; released by the first tick a whole idle interval after arming */
    assert_true(rtw_ws_deflate_memory(r.ws) > 0);
    assert_int_equal(rtw_ws_tick(r.ws, 1), 0);
    assert_int_equal(rtw_ws_tick(r.ws, 1 + RTW_WS_DEFLATE_IDLE_RELEASE_MS), 0);
    assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  }
  d_stop(&r);
  assert_int_equal(fm.live, 0);
  rtwt_log_free(&log);
  wst_buf_free(&b);
  wst_buf_free(&out);
}

/* No context takeover, the default policy: a busy session reuses its zlib streams. Receiving
 * takes no allocation per message; sending takes only the session's own buffers (3 a
 * message today: the compressed copy and the output queue, issue #15's business), none of
 * the blocks a fresh zlib stream takes (3 to inflate, 6 to deflate at 15/8), which
 * RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE pays for every message. */
static void test_steady_state_allocations(void **state)
{
  long rx, tx, rx_each, tx_each;

  (void)state;
  steady_allocs(0, 100, &rx, &tx);
  steady_allocs(RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE, 100, &rx_each, &tx_each);
  print_message("# allocations for 100 messages: receive %ld, send %ld (reusing streams); "
                "receive %ld, send %ld (RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE)\n",
                rx, tx, rx_each, tx_each);
  assert_int_equal(rx, 0);       /* receiving: no allocation per message */
  assert_true(tx <= 3 * 100);    /* sending: the session's buffers, no zlib state */
  assert_true(rx_each >= 100);   /* a fresh stream per message */
  assert_true(tx_each >= tx + 4 * 100);
}

/* A budget too small for zlib's state: RTW_ERR_NOMEM, close 1011, on receive and on send. */
static void test_budget(void **state)
{
  dopts o = server_opts();
  drun r;
  rtwt_log log;
  wst_buf b;

  (void)state;
  o.cfg.memory_budget = 4096;
  wst_buf_init(&b);
  cframe(&b, RSV1, 1, TEXT, hello_z, sizeof hello_z);
  check_all(&o, b.p, b.len, "error(RTW_ERR_NOMEM)\nout:close(1011)\n");
  rtwt_log_init(&log);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, "Hello", 5), RTW_ERR_NOMEM);
  assert_int_equal(rtw_ws_deflate_memory(r.ws), 0);
  /* the message was not queued; uncompressed ones still go */
  assert_int_equal(rtw_ws_queue_message(r.ws, TEXT, "Hello", 5, RTW_WS_QUEUE_NO_COMPRESS), 0);
  d_finish(&r);
  assert_string_equal(log.buf, "out:text(5)\n");
  d_stop(&r);
  rtwt_log_free(&log);
  wst_buf_free(&b);
}

/* ------------------------------------------------------------------ pair: Autobahn 12 / 13 */

typedef struct pcase {
  rtw_ws_deflate_params neg;
  uint32_t server_flags, client_flags;
} pcase;

/* Section 13's parameter sets: context takeover or not on either side, windows 9 and 15. */
static const pcase pcases[] = {
    {{0, 0, 0, 0}, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
     RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER},
    {{1, 1, 0, 0}, 0, 0},
    {{1, 0, 0, 0}, RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER},
    {{0, 1, 9, 9}, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER, RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER},
    {{0, 0, 9, 15}, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
     RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER},
    {{1, 1, 15, 9}, 0, 0},
};

/* Split the sender's output into frames (wst_parse_out would read compressed text as UTF-8),
 * checking the mask bit and FIN of control frames. */
static void parse_frames(const uint8_t *p, size_t n, int masked, wst_oframes *of)
{
  size_t off = 0, cap = 0;

  memset(of, 0, sizeof *of);
  while (off < n) {
    wst_oframe *f;
    uint64_t len = p[off + 1] & 0x7Fu;
    size_t h = 2, k;
    assert_true(off + 2 <= n);
    if (len == 126) {
      len = (uint64_t)p[off + 2] << 8 | p[off + 3];
      h = 4;
    } else if (len == 127) {
      len = 0;
      for (k = 0; k < 8; k++)
        len = len << 8 | p[off + 2 + k];
      h = 10;
    }
    assert_int_equal((p[off + 1] & 0x80u) != 0, masked != 0);
    if (of->n == cap) {
      cap = cap ? cap * 2 : 16;
      of->f = realloc(of->f, cap * sizeof *of->f);
      assert_non_null(of->f);
    }
    f = &of->f[of->n++];
    memset(f, 0, sizeof *f);
    f->fin = (uint8_t)(p[off] >> 7);
    f->rsv = (uint8_t)((p[off] >> 4) & 7u);
    f->opcode = (uint8_t)(p[off] & 0x0Fu);
    f->masked = (uint8_t)(masked != 0);
    if (masked) {
      memcpy(f->key, p + off + h, 4);
      h += 4;
    }
    assert_true(off + h + len <= n);
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    assert_non_null(f->data);
    for (k = 0; k < f->len; k++)
      f->data[k] = (uint8_t)(p[off + h + k] ^ (masked ? f->key[k & 3] : 0));
    f->wire_off = off;
    f->wire_len = h + f->len;
    if (f->opcode >= 8)
      assert_true(f->fin && f->rsv == 0);
    off += h + (size_t)len;
  }
}

/* Check the sender's frames: RSV1 exactly on the first frame of each compressed message,
 * and (with zlib here, as RFC 7692 7.2.2 says) that they inflate to what was sent. Returns
 * the number of compressed messages. */
static size_t check_sent(const wst_buf *wire, int masked, const pcase *pc, int role,
                         uint8_t *const *msgs, const size_t *lens, const int *ops, size_t n)
{
  wst_oframes of;
  z_stream zs;
  size_t m = 0, compressed = 0;
  int bits = role == RTW_WS_ROLE_SERVER ? pc->neg.server_max_window_bits
                                         : pc->neg.client_max_window_bits;
  wst_buf z;

  memset(&zs, 0, sizeof zs);
  assert_int_equal(inflateInit2(&zs, -(bits ? bits : 15)), Z_OK);
  wst_buf_init(&z);
  parse_frames(wire->p, wire->len, masked, &of);
  {
    size_t off = 0, f;
    int rsv1 = 0;
    for (f = 0; f < of.n; f++) {
      uint8_t b0 = wire->p[of.f[f].wire_off];
      int first = of.f[f].opcode != CONT;
      assert_true(first || !(b0 & 0x40u)); /* RFC 7692 6: RSV1 on first frames only */
      if (first) {
        rsv1 = (b0 & 0x40u) != 0;
        wst_buf_clear(&z);
        assert_int_equal(of.f[f].opcode, ops[m]);
      }
      wst_buf_put(&z, of.f[f].data, of.f[f].len);
      if (of.f[f].fin) {
        if (rsv1) {
          size_t ol;
          uint8_t *o = zinflate(&zs, z.p, z.len, lens[m], &ol);
          assert_int_equal(ol, lens[m]);
          assert_memory_equal(o, msgs[m], ol);
          free(o);
          compressed++;
        } else {
          assert_int_equal(z.len, lens[m]);
          assert_memory_equal(z.p, msgs[m], z.len);
        }
        m++;
      }
      off++;
    }
    (void)off;
  }
  assert_int_equal(m, n);
  inflateEnd(&zs);
  wst_buf_free(&z);
  wst_oframes_free(&of);
  return compressed;
}

/* One sender role queues `count` messages of `size` bytes (alternating text and binary when
 * both), with fragment size frag; the wire is checked with zlib, then fed to the receiving
 * role whole and in pieces, in both delivery modes, with and without pauses. */
static void pair_run(const pcase *pc, int sender, size_t size, size_t count, size_t frag, int op)
{
  dopts so, ro;
  drun s;
  rtwt_log log, exp;
  wst_buf wire;
  uint8_t **msgs = calloc(count, sizeof *msgs);
  size_t *lens = calloc(count, sizeof *lens), i;
  int *ops = calloc(count, sizeof *ops);

  assert_true(msgs && lens && ops);
  memset(&so, 0, sizeof so);
  so.role = sender;
  so.deflate = 1;
  so.neg = pc->neg;
  so.cfg = config(sender == RTW_WS_ROLE_SERVER ? pc->server_flags : pc->client_flags);
  so.frag = frag;
  so.max_msg = 1u << 20;
  ro = so;
  ro.role = sender == RTW_WS_ROLE_SERVER ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
  ro.cfg = config(sender == RTW_WS_ROLE_SERVER ? pc->client_flags : pc->server_flags);
  rtwt_log_init(&log);
  rtwt_log_init(&exp);
  wst_buf_init(&wire);
  assert_int_equal(d_start(&s, &so, &log), 0);
  for (i = 0; i < count; i++) {
    ops[i] = op ? op : (i & 1 ? BIN : TEXT);
    lens[i] = size;
    msgs[i] = wst_pattern(size, ops[i] == TEXT, (uint32_t)(i * 7 + size));
    assert_int_equal(rtw_ws_queue_message(s.ws, ops[i], msgs[i], size, 0), 0);
    drain(s.ws, &wire); /* drained as it goes, so max_outbound never binds */
    wst_log_msg(&exp, ops[i], msgs[i], size);
  }
  {
    size_t z = check_sent(&wire, sender == RTW_WS_ROLE_CLIENT, pc, sender, msgs, lens, ops, count);
    size_t text = 0;
    uint32_t own = sender == RTW_WS_ROLE_SERVER ? pc->server_flags : pc->client_flags;
    for (i = 0; i < count; i++)
      text += ops[i] == TEXT;
    /* with our own context kept every message goes compressed; without it, one that does
     * not shrink (the binary pattern is random) goes as it is; text shrinks from 256 bytes */
    if (own & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER)
      assert_int_equal(z, count);
    else if (size >= 256)
      assert_true(z >= text);
  }
  check_modes(&ro, wire.p, wire.len, exp.buf);
  d_stop(&s);
  for (i = 0; i < count; i++)
    free(msgs[i]);
  free(msgs);
  free(lens);
  free(ops);
  rtwt_log_free(&log);
  rtwt_log_free(&exp);
  wst_buf_free(&wire);
}

/* Autobahn 12.x: payload sizes with text and binary; 13.x: each parameter set, seen from the
 * server and from the client. */
static void test_pair_sizes(void **state)
{
  static const size_t sizes[] = {16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072};
  size_t p, s;

  (void)state;
  for (p = 0; p < sizeof pcases / sizeof pcases[0]; p++)
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t count = sizes[s] <= 4096 ? 6 : 2;
      pair_run(&pcases[p], RTW_WS_ROLE_SERVER, sizes[s], count, 0, 0);
      pair_run(&pcases[p], RTW_WS_ROLE_CLIENT, sizes[s], count, 0, 0);
    }
}

/* 12.x with fragmentation and many messages in a row. */
static void test_pair_fragments(void **state)
{
  static const size_t frags[] = {1, 16, 100, 4096};
  size_t p, f;

  (void)state;
  for (p = 0; p < sizeof pcases / sizeof pcases[0]; p++)
    for (f = 0; f < sizeof frags / sizeof frags[0]; f++) {
      pair_run(&pcases[p], RTW_WS_ROLE_SERVER, frags[f] == 1 ? 300 : 5000, 3, frags[f], TEXT);
      pair_run(&pcases[p], RTW_WS_ROLE_CLIENT, frags[f] == 1 ? 300 : 5000, 3, frags[f], BIN);
    }
  pair_run(&pcases[0], RTW_WS_ROLE_SERVER, 200, 200, 0, 0); /* many in a row, shared window */
  pair_run(&pcases[1], RTW_WS_ROLE_CLIENT, 200, 200, 0, 0);
}

/* ------------------------------------------------------------------ 8-bit windows */

/* Payloads for the 8-bit window cases: all zeros, a 3-byte period, random blocks repeated at
 * periods around and above 256 (a 9-bit compressor would like to reach back that far; zlib's
 * MAX_DIST, 512 - 262 = 250, keeps it from it), plain random bytes, and the helper's text. */
enum { W8_ZEROS, W8_ABC, W8_P255, W8_P256, W8_P300, W8_P500, W8_RANDOM, W8_TEXT, W8_COUNT };

static uint8_t *w8_payload(int kind, size_t n, uint32_t seed)
{
  static const size_t period[W8_COUNT] = {0, 0, 255, 256, 300, 500, 0, 0};
  uint8_t *p;
  size_t i;

  if (kind == W8_TEXT)
    return wst_pattern(n, 1, seed);
  p = malloc(n + 1);
  assert_non_null(p);
  for (i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    if (kind == W8_ZEROS)
      p[i] = 0;
    else if (kind == W8_ABC)
      p[i] = (uint8_t)"abc"[i % 3];
    else if (period[kind] != 0 && i >= period[kind])
      p[i] = p[i - period[kind]];
    else
      p[i] = (uint8_t)(seed >> 16);
  }
  return p;
}

/* One sender role with a negotiated window of 8 for its own compressor (RFC 7692 7.1.2.1 /
 * 7.1.2.2) queues one message of each size in `kind`'s pattern; zlib here inflates the wire
 * with an 8-bit raw window (check_sent: inflateInit2(-8)), then our receiver reads it whole
 * and in pieces. Returns the wire length. */
static size_t w8_run(const pcase *pc, int sender, int kind)
{
  static const size_t sizes[] = {1, 16, 200, 250, 255, 256, 257, 300, 511, 512, 513,
                                 1000, 4096, 65536};
  enum { N = sizeof sizes / sizeof sizes[0] };
  dopts so, ro;
  drun s;
  rtwt_log log, exp;
  wst_buf wire;
  uint8_t *msgs[N];
  size_t lens[N], i, z, total = 0, wire_len;
  int ops[N];
  uint32_t own = sender == RTW_WS_ROLE_SERVER ? pc->server_flags : pc->client_flags;

  memset(&so, 0, sizeof so);
  so.role = sender;
  so.deflate = 1;
  so.neg = pc->neg;
  so.cfg = config(own);
  so.max_msg = 1u << 20;
  ro = so;
  ro.role = sender == RTW_WS_ROLE_SERVER ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
  ro.cfg = config(sender == RTW_WS_ROLE_SERVER ? pc->client_flags : pc->server_flags);
  rtwt_log_init(&log);
  rtwt_log_init(&exp);
  wst_buf_init(&wire);
  assert_int_equal(d_start(&s, &so, &log), 0);
  for (i = 0; i < N; i++) {
    ops[i] = kind == W8_ABC || kind == W8_TEXT ? TEXT : BIN;
    lens[i] = sizes[i];
    msgs[i] = w8_payload(kind, sizes[i], (uint32_t)(kind * 131 + (int)i));
    total += sizes[i];
    assert_int_equal(rtw_ws_queue_message(s.ws, ops[i], msgs[i], sizes[i], 0), 0);
    drain(s.ws, &wire);
    wst_log_msg(&exp, ops[i], msgs[i], sizes[i]);
  }
  z = check_sent(&wire, sender == RTW_WS_ROLE_CLIENT, pc, sender, msgs, lens, ops, N);
  if (own & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER)
    assert_int_equal(z, N); /* every message compressed, random ones too */
  else if (kind == W8_ZEROS || kind == W8_ABC || kind == W8_TEXT)
    assert_true(z >= N - 4); /* all but the shortest shrink */
  /* (random data, and periods above 250 that a 9-bit zlib does not reach, may not shrink:
   * without our context they go plain; with it, they were inflated above at 8 bits) */
  check_modes(&ro, wire.p, wire.len, exp.buf);
  wire_len = wire.len;
  assert_true(wire_len > 0 && total > 0);
  d_stop(&s);
  for (i = 0; i < N; i++)
    free(msgs[i]);
  rtwt_log_free(&log);
  rtwt_log_free(&exp);
  wst_buf_free(&wire);
  return wire_len;
}

/* Autobahn 13.3 / 13.5 (server_max_window_bits=8) and a server that limits the client to 8:
 * a session whose own window was negotiated as 8 runs zlib at 9 (zlib refuses raw 8), and
 * everything it sends inflates with a 256-byte window, with and without context takeover. */
static void test_window8(void **state)
{
  static const pcase server8[] = {
      {{1, 1, 8, 0}, 0, 0}, /* 13.3's answer under the defaults */
      {{0, 0, 8, 0}, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
       RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER},
      {{1, 1, 8, 8}, 0, 0},
  };
  static const pcase client8[] = {
      {{1, 1, 0, 8}, 0, 0},
      {{0, 0, 0, 8}, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
       RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER},
      {{1, 1, 8, 8}, 0, 0},
  };
  rtw_ws *ws;
  rtw_ws_deflate_params got;
  size_t p;
  int k;

  (void)state;
  for (p = 0; p < sizeof server8 / sizeof server8[0]; p++)
    for (k = 0; k < W8_COUNT; k++) {
      size_t ws_len = w8_run(&server8[p], RTW_WS_ROLE_SERVER, k);
      size_t wc_len = w8_run(&client8[p], RTW_WS_ROLE_CLIENT, k);
      if (k == W8_ZEROS || k == W8_ABC) { /* really compressed: 70 KiB in a few KiB */
        assert_true(ws_len < 8192);
        assert_true(wc_len < 16384);
      }
    }
  /* the session reports the 8 negotiated, and its compressor's memory is a 9-bit one */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  got = params(1, 1, 8, 0);
  assert_int_equal(rtw_ws_set_deflate(ws, &got, NULL), 0);
  assert_int_equal(rtw_ws_deflate_active(ws, &got), 1);
  assert_int_equal(got.server_max_window_bits, 8);
  assert_int_equal(got.client_max_window_bits, 15);
  assert_int_equal(rtw_ws_queue_text(ws, "hello hello hello", 17), 0);
  rtw_ws_free(ws);
}

/* ------------------------------------------------------------------ sending */

static void test_send_rules(void **state)
{
  dopts o = server_opts();
  drun r;
  rtwt_log log;
  static const char big[] = "compressible compressible compressible compressible";

  (void)state;
  rtwt_log_init(&log);
  o.neg = params(1, 1, 0, 0);
  o.cfg = config(0);
  o.cfg.threshold = 10;
  assert_int_equal(d_start(&r, &o, &log), 0);
  /* below the threshold, opted out, empty (under the threshold too) */
  assert_int_equal(rtw_ws_queue_text(r.ws, "short", 5), 0);
  assert_int_equal(rtw_ws_queue_message(r.ws, TEXT, big, sizeof big - 1,
                                        RTW_WS_QUEUE_NO_COMPRESS),
                   0);
  assert_int_equal(rtw_ws_queue_text(r.ws, big, sizeof big - 1), 0);
  /* incompressible without context takeover: sent as it is */
  assert_int_equal(rtw_ws_queue_binary(r.ws, "\x01\x92\xf3\x04\xa5\x66\x17\xc8\x09\x3a\xbb", 11),
                   0);
  /* text is validated before compression */
  assert_int_equal(rtw_ws_queue_text(r.ws, "bad \xff byte is bad", 17), RTW_ERR_INVALID_UTF8);
  d_finish(&r);
  assert_string_equal(log.buf, "out:text(5)\nout:text(51)\nout:text[rsv1]\nout:binary(11)\n");
  d_stop(&r);
  /* threshold 0: an empty message compresses to the single byte 0x00 (RFC 7692 7.2.3.6);
   * with context takeover it is sent so, not as it is */
  rtwt_log_clear(&log);
  o.neg = params(0, 0, 0, 0);
  o.cfg = config(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_queue_text(r.ws, "", 0), 0);
  {
    const void *p;
    size_t n;
    assert_int_equal(rtw_ws_send_pending(r.ws, &p, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "\xc1\x01\x00", 3);
  }
  d_stop(&r);
  rtwt_log_free(&log);
}

/* max_outbound counts compressed bytes: a large message that compresses well fits a small
 * budget; one that does not is refused, and (context takeover) the compressor starts afresh
 * so the peer still inflates what follows. */
static void test_send_outbound(void **state)
{
  dopts o = server_opts(), ro;
  drun r;
  rtwt_log log, exp;
  wst_buf wire;
  size_t n = 100000;
  uint8_t *a = malloc(n), *rnd = wst_pattern(n, 0, 9);
  static const char tail[] = "Hello, hello, hello after a refused message";

  (void)state;
  assert_non_null(a);
  memset(a, 'a', n);
  rtwt_log_init(&log);
  rtwt_log_init(&exp);
  wst_buf_init(&wire);
  o.max_out = 2000;
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, a, n), 0);
  assert_true(rtw_ws_outbound_size(r.ws) < 2000);
  assert_int_equal(rtw_ws_queue_binary(r.ws, rnd, n), RTW_ERR_WS_OUTBOUND_FULL);
  assert_true(rtw_ws_outbound_size(r.ws) < 2000);
  assert_int_equal(rtw_ws_queue_text(r.ws, tail, sizeof tail - 1), 0);
  /* bytes of the refused message: a compressor that kept it would refer back to it */
  assert_int_equal(rtw_ws_queue_binary(r.ws, rnd + n - 2000, 300), 0);
  drain(r.ws, &wire);
  wst_log_msg(&exp, BIN, a, n);
  wst_log_msg(&exp, TEXT, tail, sizeof tail - 1);
  wst_log_msg(&exp, BIN, rnd + n - 2000, 300);
  ro = o;
  ro.role = RTW_WS_ROLE_CLIENT;
  ro.max_out = 0;
  check_chunks(&ro, wire.p, wire.len, exp.buf);
  d_stop(&r);
  free(a);
  free(rnd);
  rtwt_log_free(&log);
  rtwt_log_free(&exp);
  wst_buf_free(&wire);
}

/* Streamed sending: each piece deflated with a sync flush, RSV1 on the first frame only, the
 * whole inflating to the message; in both roles. */
static void test_send_streamed(void **state)
{
  size_t role;

  (void)state;
  for (role = 0; role < 2; role++) {
    dopts o = server_opts();
    drun r;
    rtwt_log log;
    wst_buf wire;
    uint8_t *t = wst_pattern(30000, 1, 5);
    uint8_t *msgs[2];
    size_t lens[2] = {30000, 0};
    int ops[2] = {TEXT, BIN};
    pcase pc;

    o.role = role ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
    memset(&pc, 0, sizeof pc);
    pc.neg = o.neg;
    rtwt_log_init(&log);
    wst_buf_init(&wire);
    assert_int_equal(d_start(&r, &o, &log), 0);
    assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, t, 10000, 0), 0);
    assert_int_equal(rtw_ws_queue_ping(r.ws, "x", 1), 0);
    assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, t + 10000, 0, 0), 0);
    assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, t + 10000, 20000, 1), 0);
    assert_int_equal(rtw_ws_queue_fragment(r.ws, BIN, "", 0, 1), 0);
    drain(r.ws, &wire);
    {
      /* drop the ping frame before checking (control frames carry no RSV1 either) */
      size_t hl = role ? 6 : 2;
      uint8_t *p = wire.p;
      size_t k = 0, off = 0;
      int found = 0;
      while (off < wire.len) {
        size_t len = p[off + 1] & 0x7Fu, h = 2;
        if (len == 126) {
          len = (size_t)p[off + 2] << 8 | p[off + 3];
          h = 4;
        }
        h += role ? 4 : 0;
        if ((p[off] & 0x0Fu) == RTW_WS_OP_PING) {
          assert_int_equal(p[off], 0x89);
          memmove(p + off, p + off + h + len, wire.len - off - h - len);
          wire.len -= h + len;
          found = 1;
          continue;
        }
        off += h + len;
        k++;
      }
      assert_true(found);
      (void)hl;
      assert_int_equal(k, 4);
    }
    msgs[0] = t;
    msgs[1] = (uint8_t *)"";
    assert_int_equal(check_sent(&wire, role != 0, &pc, o.role, msgs, lens, ops, 2), 2);
    d_stop(&r);
    free(t);
    rtwt_log_free(&log);
    wst_buf_free(&wire);
  }
}

/* ------------------------------------------------------------------ ready frames */

static int n_released;

static void rel(void *ctx)
{
  (void)ctx;
  n_released++;
}

/* rtw__ws_queue_frames(): shared bytes referenced, counted in the outbound size, after the
 * messages queued before them (never inside a fragmented one), released once written or at
 * rtw_ws_free(). */
static void test_queue_frames(void **state)
{
  static const uint8_t frames[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  dopts o = server_opts();
  drun r;
  rtwt_log log;
  size_t before;
  uint8_t *big = wst_pattern(1000, 0, 3);

  (void)state;
  o.frag = 100;
  o.neg = params(1, 1, 0, 0);
  o.cfg = config(0);
  o.cfg.threshold = 5000; /* the binary message below goes uncompressed */
  rtwt_log_init(&log);
  n_released = 0;
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL), 0);
  assert_int_equal(rtw_ws_outbound_size(r.ws), sizeof frames);
  assert_int_equal(rtw_ws_queue_binary(r.ws, big, 1000), 0); /* 10 fragments, waits in mq */
  before = rtw_ws_outbound_size(r.ws);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL), 0);
  assert_int_equal(rtw_ws_outbound_size(r.ws), before + sizeof frames);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "ab", 2, 0), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL),
                   RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_queue_fragment(r.ws, TEXT, "c", 1, 1), 0);
  assert_int_equal(n_released, 0);
  d_finish(&r);
  assert_int_equal(n_released, 2);
  assert_string_equal(log.buf, "out:text[rsv1]\n"
                               "out:binary[more](100)\n"
                               "out:cont[more](100)\nout:cont[more](100)\nout:cont[more](100)\n"
                               "out:cont[more](100)\nout:cont[more](100)\nout:cont[more](100)\n"
                               "out:cont[more](100)\nout:cont[more](100)\nout:cont(100)\n"
                               "out:text[rsv1]\nout:text[rsv1][more]\nout:cont(3)\n");
  d_stop(&r);
  /* an urgent close (a failure) drops ready frames still waiting behind a message, as it
   * drops messages not yet started */
  n_released = 0;
  rtwt_log_clear(&log);
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, big, 1000), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL), 0);
  while (rtw_ws_outbound_size(r.ws) > sizeof frames) { /* the message's frames, not ours */
    const void *p;
    size_t n;
    assert_int_equal(rtw_ws_send_pending(r.ws, &p, &n), 0);
    assert_int_equal(rtw_ws_send_consumed(r.ws, n), 0);
  }
  assert_int_equal(n_released, 0);
  {
    wst_buf bad;
    wst_buf_init(&bad);
    cframe(&bad, 0, 1, 3, "", 0); /* a reserved opcode: 1002 */
    assert_int_equal(d_recv(&r, bad.p, bad.len), RTW_ERR_WS_RESERVED_OPCODE);
    wst_buf_free(&bad);
  }
  assert_int_equal(n_released, 1);
  d_stop(&r);
  /* dropped unwritten at rtw_ws_free() */
  n_released = 0;
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw_ws_queue_binary(r.ws, big, 1000), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL), 0);
  d_stop(&r);
  assert_int_equal(n_released, 2);
  /* client role: not for prepared frames */
  o.role = RTW_WS_ROLE_CLIENT;
  assert_int_equal(d_start(&r, &o, &log), 0);
  assert_int_equal(rtw__ws_queue_frames(r.ws, frames, sizeof frames, rel, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  d_stop(&r);
  free(big);
  rtwt_log_free(&log);
}

/* ------------------------------------------------------------------ setup */

static void test_set_deflate(void **state)
{
  rtw_ws *ws;
  rtw_ws_deflate_params p = params(1, 0, 0, 10), got;
  rtw_ws_deflate_config c = config(RTW_WS_DEFLATE_REQUIRED);
  const void *out;
  size_t n;

  (void)state;
  assert_int_equal(rtw_ws_set_deflate(NULL, &p, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_active(NULL, &got), 0);
  assert_int_equal(rtw_ws_deflate_memory(NULL), 0);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_deflate_active(ws, &got), 0);
  c.level = 10;
  assert_int_equal(rtw_ws_set_deflate(ws, &p, &c), RTW_ERR_INVALID_ARGUMENT);
  c.level = 0;
  p.server_max_window_bits = 7; /* outside 8..15 */
  assert_int_equal(rtw_ws_set_deflate(ws, &p, &c), RTW_ERR_WS_DEFLATE_PARAM);
  rtw_ws_free(ws);
  /* 8 for our own compressor runs zlib at 9 (test_window8) */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  p.server_max_window_bits = 8;
  assert_int_equal(rtw_ws_set_deflate(ws, &p, &c), 0);
  assert_int_equal(rtw_ws_deflate_active(ws, &got), 1);
  assert_int_equal(got.server_max_window_bits, 8);
  rtw_ws_free(ws);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  p.server_max_window_bits = 0;
  assert_int_equal(rtw_ws_set_deflate(ws, &p, NULL), 0);
  assert_int_equal(rtw_ws_deflate_active(ws, &got), 1);
  assert_int_equal(got.server_no_context_takeover, 1);
  assert_int_equal(got.client_no_context_takeover, 0);
  assert_int_equal(got.server_max_window_bits, 15);
  assert_int_equal(got.client_max_window_bits, 10);
  assert_int_equal(rtw_ws_set_deflate(ws, &p, NULL), RTW_ERR_INVALID_STATE);
  rtw_ws_free(ws);
  /* too late once output or input passed */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_queue_text(ws, "x", 1), 0);
  assert_int_equal(rtw_ws_set_deflate(ws, &p, NULL), RTW_ERR_INVALID_STATE);
  rtw_ws_free(ws);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_recv(ws, "\x81", 1, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(rtw_ws_set_deflate(ws, &p, NULL), RTW_ERR_INVALID_STATE);
  rtw_ws_free(ws);
  /* a client that requires compression and did not get it: 1010 (RFC 6455 7.4.1) */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_set_deflate(ws, NULL, &c), RTW_ERR_WS_EXTENSION_MISSING);
  assert_int_equal(rtw_ws_deflate_active(ws, NULL), 0);
  assert_int_equal(rtw_ws_send_pending(ws, &out, &n), 0);
  assert_int_equal(n, 8);
  assert_int_equal(((const uint8_t *)out)[0], 0x88);
  assert_int_equal(((const uint8_t *)out)[6] ^ ((const uint8_t *)out)[2], 0x03);
  assert_int_equal(((const uint8_t *)out)[7] ^ ((const uint8_t *)out)[3], 0xF2);
  assert_int_equal(rtw_ws_queue_text(ws, "x", 1), RTW_ERR_WS_CLOSED);
  rtw_ws_free(ws);
  /* a server with no negotiation: nothing changes */
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_set_deflate(ws, NULL, &c), 0);
  assert_int_equal(rtw_ws_deflate_active(ws, NULL), 0);
  rtw_ws_free(ws);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_deflate),
      cmocka_unit_test(test_rfc_hello),
      cmocka_unit_test(test_rfc_shared_window),
      cmocka_unit_test(test_rfc_blocks),
      cmocka_unit_test(test_rsv1_misuse),
      cmocka_unit_test(test_bad_deflate),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_bomb),
      cmocka_unit_test(test_memory_between_messages),
      cmocka_unit_test(test_steady_state_allocations),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_send_rules),
      cmocka_unit_test(test_send_streamed),
      cmocka_unit_test(test_send_outbound),
      cmocka_unit_test(test_queue_frames),
      cmocka_unit_test(test_pair_sizes),
      cmocka_unit_test(test_pair_fragments),
      cmocka_unit_test(test_window8),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
