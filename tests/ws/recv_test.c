/* SPDX-License-Identifier: MIT */
/* The WebSocket receive path of issue 15: rtw_ws_recv_inplace() (payload unmasked where it
 * lies, pointers into the input, bytes past *nread untouched, pauses), the whole-message
 * buffer (sized once from the header, kept up to keep_buffer, released by rtw_ws_trim() and
 * by rtw_ws_tick() after keep_idle_ms, announced by rtw_ws_next_deadline()), no allocation
 * per message after warm-up (counting allocator), and the small-frame fast path against the
 * general one (the same input fed whole and byte by byte). Every split of the in-place path
 * is covered by the wst-driven suites run again with WST_INPLACE=1 (tests/ws/meson.build). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY

/* ================================================================== a recording host */

typedef struct host {
  const uint8_t *in; /* the buffer being fed, to tell pointers into it */
  size_t in_len;
  wst_buf got;      /* payload bytes delivered, concatenated */
  size_t n_msg, n_data, n_inside; /* messages, data pieces, pieces pointing into `in` */
  int pause_data;   /* on_message_data returns RTW_ERR_PAUSE */
  int free_in;      /* 1: rtw_ws_free() from on_message_begin, 2: from on_message */
  int last_op;
} host;

static int inside(const host *h, const void *p, size_t n)
{
  const uint8_t *q = p;
  return h->in != NULL && q >= h->in && q + n <= h->in + h->in_len;
}

static int h_begin(rtw_ws *ws, int op, void *u)
{
  host *h = u;
  h->last_op = op;
  if (h->free_in == 1)
    rtw_ws_free(ws);
  return 0;
}

static int h_data(rtw_ws *ws, const void *d, size_t n, void *u)
{
  host *h = u;
  (void)ws;
  h->n_data++;
  h->n_inside += (size_t)inside(h, d, n);
  wst_buf_put(&h->got, d, n);
  return h->pause_data ? RTW_ERR_PAUSE : 0;
}

static int h_end(rtw_ws *ws, void *u)
{
  (void)ws;
  ((host *)u)->n_msg++;
  return 0;
}

static int h_msg(rtw_ws *ws, int op, const void *d, size_t n, void *u)
{
  host *h = u;
  h->n_msg++;
  h->last_op = op;
  h->n_inside += (size_t)inside(h, d, n);
  wst_buf_put(&h->got, d, n);
  if (h->free_in == 2)
    rtw_ws_free(ws);
  return 0;
}

static rtw_ws *new_session(host *h, uint32_t flags, size_t keep_buffer, uint32_t keep_idle_ms,
                           const rtw_mem *mem)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;

  cb.on_message_begin = h_begin;
  cb.on_message_data = h_data;
  cb.on_message_end = h_end;
  cb.on_message = h_msg;
  st.flags = flags;
  st.keep_buffer = keep_buffer;
  st.keep_idle_ms = keep_idle_ms;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, &st, mem, h), 0);
  return ws;
}

static void host_init(host *h)
{
  memset(h, 0, sizeof *h);
  wst_buf_init(&h->got);
}

/* Feed `in` through rtw_ws_recv_inplace() on a writable copy; returns the copy (caller
 * frees) and the status. */
static int feed_inplace(rtw_ws *ws, host *h, const wst_buf *in, uint8_t **copy, size_t *nread)
{
  uint8_t *w = malloc(in->len);
  int rv;

  assert_non_null(w);
  memcpy(w, in->p, in->len);
  h->in = w;
  h->in_len = in->len;
  rv = rtw_ws_recv_inplace(ws, w, in->len, nread);
  *copy = w;
  return rv;
}

/* ================================================================== in place */

/* Streamed: every piece points into the input, which now holds the unmasked payloads. */
static void inplace_streamed_points_into_input(void **state)
{
  uint8_t *pat = wst_pattern(20000, 1, 7), *w;
  host h;
  wst_buf in;
  rtw_ws *ws;
  size_t nread, off1, off2, off3;

  (void)state;
  host_init(&h);
  wst_buf_init(&in);
  off1 = wst_frame(&in, 1, 1, BIN, pat, 16);
  off2 = wst_frame(&in, 1, 1, TEXT, pat, 20000); /* more than one 8 KiB piece */
  off3 = wst_frame(&in, 1, 0, BIN, pat, 300);
  (void)wst_frame(&in, 1, 1, RTW_WS_OP_CONTINUATION, pat + 300, 5);
  ws = new_session(&h, 0, 0, 0, NULL);
  assert_int_equal(feed_inplace(ws, &h, &in, &w, &nread), 0);
  assert_int_equal(nread, in.len);
  assert_int_equal(h.n_msg, 3);
  assert_int_equal(h.n_inside, h.n_data); /* every piece, no copy */
  assert_true(h.n_data >= 5);
  assert_memory_equal(w + off1, pat, 16); /* unmasked where it lay */
  assert_memory_equal(w + off2, pat, 20000);
  assert_memory_equal(w + off3, pat, 300);
  assert_int_equal(h.got.len, 16 + 20000 + 305);
  rtw_ws_free(ws);
  free(w);
  free(pat);
  wst_buf_free(&in);
  wst_buf_free(&h.got);
}

/* Whole messages: a one-frame message lying whole in the input is delivered from there (also
 * above 8 KiB); a fragmented one is assembled in the session's buffer. */
static void inplace_whole_direct(void **state)
{
  uint8_t *pat = wst_pattern(70000, 1, 3), *w;
  host h;
  wst_buf in;
  rtw_ws *ws;
  size_t nread;

  (void)state;
  host_init(&h);
  wst_buf_init(&in);
  (void)wst_frame(&in, 1, 1, TEXT, pat, 16);
  (void)wst_frame(&in, 1, 1, TEXT, pat, 70000);
  (void)wst_frame(&in, 1, 0, BIN, pat, 100);
  (void)wst_frame(&in, 1, 1, RTW_WS_OP_CONTINUATION, pat + 100, 100);
  ws = new_session(&h, RTW_WS_FLAG_WHOLE_MESSAGES, 0, 0, NULL);
  assert_int_equal(feed_inplace(ws, &h, &in, &w, &nread), 0);
  assert_int_equal(nread, in.len);
  assert_int_equal(h.n_msg, 3);
  assert_int_equal(h.n_inside, 2); /* the fragmented one is copied */
  assert_int_equal(h.got.len, 16 + 70000 + 200);
  assert_memory_equal(h.got.p + 16, pat, 70000);
  assert_memory_equal(h.got.p + 16 + 70000, pat, 200);
  rtw_ws_free(ws);
  free(w);
  free(pat);
  wst_buf_free(&in);
  wst_buf_free(&h.got);
}

/* A pause in the middle: what was not consumed is untouched, and feeding it again finishes
 * the input with the same deliveries as rtw_ws_recv(). */
static void inplace_pause_leaves_rest(void **state)
{
  uint8_t *pat = wst_pattern(30000, 0, 5), *w, *orig;
  host h;
  wst_buf in;
  rtw_ws *ws;
  size_t nread, done = 0, rounds = 0;
  int rv;

  (void)state;
  host_init(&h);
  wst_buf_init(&in);
  (void)wst_frame(&in, 1, 1, BIN, pat, 30000);
  (void)wst_frame(&in, 1, 1, BIN, pat, 10);
  ws = new_session(&h, 0, 0, 0, NULL);
  h.pause_data = 1;
  w = malloc(in.len);
  orig = malloc(in.len);
  assert_non_null(w);
  assert_non_null(orig);
  memcpy(w, in.p, in.len);
  h.in = w;
  h.in_len = in.len;
  do {
    memcpy(orig, w, in.len);
    rv = rtw_ws_recv_inplace(ws, w + done, in.len - done, &nread);
    assert_true(rv == 0 || rv == RTW_ERR_PAUSE);
    done += nread;
    assert_memory_equal(w + done, orig + done, in.len - done); /* past nread: untouched */
    assert_true(++rounds < 100);
  } while (rv == RTW_ERR_PAUSE);
  assert_int_equal(done, in.len);
  assert_true(rounds >= 4); /* 30000 bytes go in 8 KiB pieces, one pause each */
  assert_int_equal(h.n_msg, 2);
  assert_int_equal(h.got.len, 30010);
  assert_memory_equal(h.got.p, pat, 30000);
  assert_memory_equal(h.got.p + 30000, pat, 10);
  rtw_ws_free(ws);
  free(w);
  free(orig);
  free(pat);
  wst_buf_free(&in);
  wst_buf_free(&h.got);
}

/* 1007 at the byte that breaks the text, in place and not; 1009 at the header. */
static void inplace_errors(void **state)
{
  static const uint8_t bad[] = {'o', 'k', 0xC3, 0x28, 'x'};
  host h;
  wst_buf in;
  uint8_t *w;
  size_t nread;
  rtw_ws *ws;
  int whole;

  (void)state;
  for (whole = 0; whole < 2; whole++) {
    host_init(&h);
    wst_buf_init(&in);
    (void)wst_frame(&in, 1, 1, TEXT, bad, sizeof bad);
    ws = new_session(&h, whole ? RTW_WS_FLAG_WHOLE_MESSAGES : 0, 0, 0, NULL);
    assert_int_equal(feed_inplace(ws, &h, &in, &w, &nread), RTW_ERR_INVALID_UTF8);
    assert_int_equal(rtw_ws_close_sent(ws), RTW_WS_CLOSE_INVALID_PAYLOAD);
    assert_int_equal(h.n_msg, 0);
    rtw_ws_free(ws);
    free(w);
    wst_buf_free(&in);
    wst_buf_free(&h.got);
  }
  {
    rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
    rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
    uint8_t payload[200];
    memset(payload, 'a', sizeof payload);
    host_init(&h);
    wst_buf_init(&in);
    (void)wst_frame(&in, 1, 1, TEXT, payload, sizeof payload);
    cb.on_message = h_msg;
    st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
    st.max_message_size = 100;
    assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, &h), 0);
    assert_int_equal(feed_inplace(ws, &h, &in, &w, &nread), RTW_ERR_WS_MESSAGE_TOO_LARGE);
    assert_int_equal(nread, 8); /* the header (2 + 2 + 4), not one payload byte */
    assert_memory_equal(w + 8, in.p + 8, sizeof payload); /* untouched */
    rtw_ws_free(ws);
    free(w);
    wst_buf_free(&in);
    wst_buf_free(&h.got);
  }
}

/* rtw_ws_free() from a callback of the fast path (a small frame whole in the input) and of
 * the general path: the call reports RTW_ERR_WS_CLOSED and nothing after it is delivered. */
static void free_from_callback_fast_path(void **state)
{
  int mode;

  (void)state;
  for (mode = 0; mode < 4; mode++) {
    host h;
    wst_buf in;
    size_t nread;
    rtw_ws *ws;
    uint8_t *w = NULL;
    int rv;
    host_init(&h);
    wst_buf_init(&in);
    wst_frame_str(&in, 1, 1, BIN, "first");
    wst_frame_str(&in, 1, 1, BIN, "second");
    h.free_in = mode & 1 ? 2 : 1;
    ws = new_session(&h, mode & 1 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0, 0, 0, NULL);
    if (mode & 2) {
      rv = feed_inplace(ws, &h, &in, &w, &nread);
    } else {
      rv = rtw_ws_recv(ws, in.p, in.len, &nread);
    }
    assert_int_equal(rv, RTW_ERR_WS_CLOSED);
    assert_true(h.n_msg <= 1);
    assert_true(h.got.len == 0 || (h.got.len == 5 && memcmp(h.got.p, "first", 5) == 0));
    free(w);
    wst_buf_free(&in);
    wst_buf_free(&h.got);
  }
}

/* ================================================================== the message buffer */

static size_t idle_bytes(void)
{
  rtwt_countmem cm;
  host h;
  rtw_ws *ws;
  size_t n;

  rtwt_countmem_init(&cm);
  host_init(&h);
  ws = new_session(&h, RTW_WS_FLAG_WHOLE_MESSAGES, 0, 0, &cm.mem);
  n = cm.cur;
  rtw_ws_free(ws);
  wst_buf_free(&h.got);
  return n;
}

static void idle_session_small(void **state)
{
  (void)state;
  assert_true(idle_bytes() <= 1024); /* issue 15: an idle session stays within 1 KiB */
}

/* No allocation per message after the first, for whole messages up to keep_buffer (single
 * frames and fragmented ones, binary and text) and streamed ones, through both calls. */
static void zero_alloc_per_message(void **state)
{
  uint8_t *pat = malloc(60000);
  static const size_t sizes[] = {16, 125, 126, 1000, 8192, 8193, 60000};
  int mode;
  size_t j;

  (void)state;
  assert_non_null(pat);
  for (j = 0; j < 60000; j++) /* ASCII: valid text cut anywhere */
    pat[j] = (uint8_t)('a' + j % 26);
  for (mode = 0; mode < 4; mode++) {
    uint32_t flags = mode & 1 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    rtwt_countmem cm;
    host h;
    wst_buf in;
    rtw_ws *ws;
    size_t i, round;
    long warm = 0;
    rtwt_countmem_init(&cm);
    host_init(&h);
    ws = new_session(&h, flags, 0, 0, &cm.mem);
    for (round = 0; round < 3; round++) {
      wst_buf_init(&in);
      for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        (void)wst_frame(&in, 1, 1, i & 1 ? TEXT : BIN, pat, sizes[i]);
        (void)wst_frame(&in, 1, 0, TEXT, pat, sizes[i] / 2);
        (void)wst_frame(&in, 1, 1, RTW_WS_OP_CONTINUATION, pat + sizes[i] / 2,
                        sizes[i] - sizes[i] / 2);
      }
      if (round == 1)
        warm = cm.allocs;
      {
        size_t nread;
        uint8_t *w = NULL;
        if (mode & 2) {
          assert_int_equal(feed_inplace(ws, &h, &in, &w, &nread), 0);
        } else {
          size_t off;
          for (off = 0; off < in.len; off += nread) { /* as a host reads: 4 KiB at a time */
            size_t k = in.len - off < 4096 ? in.len - off : 4096;
            assert_int_equal(rtw_ws_recv(ws, in.p + off, k, &nread), 0);
            assert_int_equal(nread, k);
          }
        }
        free(w);
      }
      wst_buf_free(&in);
    }
    assert_int_equal(h.n_msg, 3 * 2 * (sizeof sizes / sizeof sizes[0]));
    if (cm.allocs != warm)
      wst_fail("mode %d: %ld allocations after warm-up", mode, cm.allocs - warm);
    rtw_ws_free(ws);
    assert_int_equal(cm.live, 0);
    wst_buf_free(&h.got);
  }
  free(pat);
}

/* A whole message in one frame is allocated for once, at its full size, however the input
 * is cut; one larger than keep_buffer is released after delivery; a header announcing more
 * than 1 MiB takes at most 1 MiB before its payload arrives. */
static void message_sized_once(void **state)
{
  uint8_t *pat = wst_pattern(200000, 0, 2);
  rtwt_countmem cm;
  host h;
  wst_buf in;
  rtw_ws *ws;
  size_t off, nread, idle;
  long before;

  (void)state;
  rtwt_countmem_init(&cm);
  host_init(&h);
  wst_buf_init(&in);
  (void)wst_frame(&in, 1, 1, BIN, pat, 200000);
  ws = new_session(&h, RTW_WS_FLAG_WHOLE_MESSAGES, 0, 0, &cm.mem);
  idle = cm.cur;
  before = cm.allocs;
  for (off = 0; off < in.len; off += nread) {
    size_t k = in.len - off < 1000 ? in.len - off : 1000;
    assert_int_equal(rtw_ws_recv(ws, in.p + off, k, &nread), 0);
  }
  assert_int_equal(h.n_msg, 1);
  assert_memory_equal(h.got.p, pat, 200000);
  assert_int_equal(cm.allocs - before, 1);     /* once, at the first payload byte */
  assert_int_equal(cm.peak - idle, 200000);     /* exactly the announced size */
  assert_int_equal(cm.cur, idle);               /* above keep_buffer: released */
  wst_buf_free(&in);

  /* 16 MiB announced, 10 bytes sent: at most 1 MiB taken */
  {
    wst_hdr hd;
    memset(&hd, 0, sizeof hd);
    hd.fin = 1;
    hd.opcode = BIN;
    hd.masked = 1;
    wst_buf_init(&in);
    (void)wst_put_header(&in, &hd, 16u * 1024u * 1024u);
    wst_buf_put(&in, pat, 10);
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
    assert_int_equal(nread, in.len);
    assert_true(cm.cur - idle <= 1024u * 1024u);
    assert_int_equal(rtw_ws_trim(ws), 0); /* a message is being assembled: kept */
    assert_true(cm.cur > idle);
    wst_buf_free(&in);
  }
  rtw_ws_free(ws);
  assert_int_equal(cm.live, 0);
  wst_buf_free(&h.got);
  free(pat);
}

/* keep_buffer: a buffer up to it is kept across messages, a larger one is not. */
static void keep_buffer_setting(void **state)
{
  uint8_t *pat = wst_pattern(1000, 0, 9);
  int keep;

  (void)state;
  for (keep = 0; keep < 2; keep++) {
    rtwt_countmem cm;
    host h;
    wst_buf in;
    rtw_ws *ws;
    size_t nread, idle;
    long before;
    rtwt_countmem_init(&cm);
    host_init(&h);
    wst_buf_init(&in);
    (void)wst_frame(&in, 1, 0, BIN, pat, 500);
    (void)wst_frame(&in, 1, 1, RTW_WS_OP_CONTINUATION, pat + 500, 500);
    ws = new_session(&h, RTW_WS_FLAG_WHOLE_MESSAGES, keep ? 2000 : 512, 0, &cm.mem);
    idle = cm.cur;
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
    before = cm.allocs;
    assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
    assert_int_equal(h.n_msg, 2);
    if (keep) {
      assert_int_equal(cm.allocs, before);
      assert_true(cm.cur > idle);
    } else {
      assert_true(cm.allocs > before);
      assert_int_equal(cm.cur, idle);
    }
    rtw_ws_free(ws);
    wst_buf_free(&in);
    wst_buf_free(&h.got);
  }
  free(pat);
}

/* rtw_ws_trim() releases the kept buffer at once; rtw_ws_tick() after keep_idle_ms without
 * input, which rtw_ws_next_deadline() announces. */
static void trim_and_idle_release(void **state)
{
  uint8_t *pat = wst_pattern(3000, 1, 4);
  rtwt_countmem cm;
  host h;
  wst_buf in;
  rtw_ws *ws;
  size_t nread, idle;

  (void)state;
  rtwt_countmem_init(&cm);
  host_init(&h);
  wst_buf_init(&in);
  (void)wst_frame(&in, 1, 1, TEXT, pat, 3000);
  ws = new_session(&h, RTW_WS_FLAG_WHOLE_MESSAGES, 0, 500, &cm.mem);
  idle = cm.cur;
  assert_int_equal(rtw_ws_next_deadline(ws), UINT64_MAX);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_true(cm.cur > idle); /* kept */
  assert_int_equal(rtw_ws_trim(ws), 0);
  assert_int_equal(cm.cur, idle);
  assert_int_equal(rtw_ws_next_deadline(ws), UINT64_MAX);

  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_true(cm.cur > idle);
  assert_int_equal(rtw_ws_next_deadline(ws), 0); /* not ticked yet: due now */
  assert_int_equal(rtw_ws_tick(ws, 1000), 0);    /* counts the input */
  assert_true(cm.cur > idle);
  assert_int_equal(rtw_ws_next_deadline(ws), 1500);
  assert_int_equal(rtw_ws_tick(ws, 1499), 0);
  assert_true(cm.cur > idle);
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0); /* input again */
  assert_int_equal(rtw_ws_tick(ws, 1500), 0);
  assert_true(cm.cur > idle);
  assert_int_equal(rtw_ws_next_deadline(ws), 2000);
  assert_int_equal(rtw_ws_tick(ws, 2000), 0);
  assert_int_equal(cm.cur, idle); /* released */
  assert_int_equal(rtw_ws_next_deadline(ws), UINT64_MAX);
  assert_int_equal(h.n_msg, 3);
  rtw_ws_free(ws);
  assert_int_equal(cm.live, 0);
  wst_buf_free(&in);
  wst_buf_free(&h.got);
  free(pat);
}

static int trim_from_callback(rtw_ws *ws, int op, const void *d, size_t n, void *u)
{
  (void)op;
  (void)d;
  (void)n;
  *(int *)u = rtw_ws_trim(ws);
  return 0;
}

static void trim_arguments(void **state)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws;
  wst_buf in;
  size_t nread;
  int got = 1;

  (void)state;
  assert_int_equal(rtw_ws_trim(NULL), RTW_ERR_INVALID_ARGUMENT);
  cb.on_message = trim_from_callback;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, &got), 0);
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "hello");
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_int_equal(got, RTW_ERR_REENTRANT);
  rtw_ws_free(ws);
  wst_buf_free(&in);
}

/* The fast path and the general path agree: small frames fed whole (fast path) and byte by
 * byte (general path) give the same log, in both modes, with pauses and the gate. */
static void fast_path_matches_general(void **state)
{
  wst_buf in;
  wst_opts o;
  uint8_t p125[125];
  unsigned pause;

  (void)state;
  memset(p125, 'z', sizeof p125);
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "a");
  wst_frame_str(&in, 1, 1, TEXT, "caf\xC3\xA9 na\xC3\xAFve \xE2\x82\xAC \xF0\x9F\x98\x80");
  wst_frame_str(&in, 1, 1, BIN, "0123456789abcdef");
  (void)wst_frame(&in, 1, 1, BIN, p125, 125);
  (void)wst_frame(&in, 1, 1, TEXT, p125, 7);
  wst_frame_str(&in, 1, 1, RTW_WS_OP_PING, "p");
  wst_frame_str(&in, 1, 0, TEXT, "frag");
  wst_frame_str(&in, 1, 1, RTW_WS_OP_CONTINUATION, "ment");
  (void)wst_frame(&in, 1, 1, BIN, p125, 0);
  wst_frame_str(&in, 1, 1, TEXT, "last");
  for (pause = 0; pause < 8; pause++) { /* each delivery mode on its own: pauses differ */
    memset(&o, 0, sizeof o);
    o.role = RTW_WS_ROLE_SERVER;
    o.one_mode = 1;
    o.flags = pause & 4 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    /* (a pause per data piece depends on the split by design: not compared) */
    o.pause = (pause & 3) == 1 ? WST_EV_BEGIN : (pause & 3) == 2 ? WST_EV_MSG | WST_EV_PING
              : (pause & 3) == 3 ? WST_EV_BEGIN | WST_EV_MSG : 0;
    wst_check_buf(&o, &in, NULL);
  }
  /* a text frame ending inside a character: 1007 */
  wst_buf_clear(&in);
  wst_frame_str(&in, 1, 1, TEXT, "abc\xE2\x82");
  memset(&o, 0, sizeof o);
  o.role = RTW_WS_ROLE_SERVER;
  wst_check_buf(&o, &in, NULL);
  /* limits below the frame: the general path's 1009 */
  wst_buf_clear(&in);
  wst_frame_str(&in, 1, 1, BIN, "0123456789");
  o.max_frame_size = 5;
  wst_check_buf(&o, &in, NULL);
  wst_buf_free(&in);
}

/* ================================================================== fast path vs general path
 *
 * Streams of small frames (text and binary, the masking each role wants, mixed with frames the
 * fast path leaves to the general one: pings, fragments, empty and 126-byte frames), with a
 * callback action at one event (pause, failure, RTW_ERR_WS_CLOSED, rtw_ws_free(), a queued
 * message that closes the input gate) and invalid UTF-8 at each byte of a text frame. The
 * oracle feeds each frame's first byte apart from the rest, so every frame goes through the
 * general path with its payload in one step (the fast path needs a whole frame); fed whole
 * (fast path), the full log must match it exactly: every callback with its arguments, every
 * return code with the stream position after it (*nread), the output. Fed byte by byte (the
 * general path a byte at a time), at every two-way split and in random pieces, the coarse log
 * (data coalesced per message, no error positions, which depend on where the input is cut)
 * must match too, for every action but those taken at a data piece (split-dependent). */

#define FP_BEGIN 1u
#define FP_DATA 2u
#define FP_END 4u
#define FP_MSG 8u

enum { FP_NONE, FP_PAUSE, FP_FAIL, FP_CLOSED, FP_FREE, FP_QUEUE, FP_NACT };

typedef struct fp_cfg {
  int role;
  uint32_t flags;
  int inplace;
  int act;        /* FP_* action ... */
  unsigned act_ev; /* ... at this event ... */
  size_t act_msg; /* ... of this message (0-based) */
  uint64_t max_frame, max_msg; /* settings (0: defaults) */
} fp_cfg;

typedef struct fp_host {
  const fp_cfg *cfg;
  rtw_ws *ws;
  rtwt_log *full, *coarse;
  wst_buf msg; /* streamed message so far (coarse log) */
  size_t n_msg;
  int data_seen, acted, freed;
} fp_host;

static int fp_act(fp_host *h, unsigned ev)
{
  const fp_cfg *c = h->cfg;

  if (h->acted || c->act == FP_NONE || !(ev & c->act_ev) || h->n_msg != c->act_msg + 1)
    return 0;
  h->acted = 1;
  rtwt_log_printf(h->full, "act%d ", c->act);
  rtwt_log_printf(h->coarse, "act%d ", c->act);
  switch (c->act) {
  case FP_PAUSE:
    return RTW_ERR_PAUSE;
  case FP_FAIL:
    return -1;
  case FP_CLOSED:
    return RTW_ERR_WS_CLOSED;
  case FP_FREE:
    rtw_ws_free(h->ws);
    h->freed = 1;
    return 0;
  default: {
    static const uint8_t z[200];
    return rtw_ws_queue_binary(h->ws, z, sizeof z); /* over high water: the gate closes */
  }
  }
}

static int fp_begin(rtw_ws *ws, int op, void *u)
{
  fp_host *h = u;
  (void)ws;
  h->n_msg++;
  h->data_seen = 0;
  wst_buf_clear(&h->msg);
  rtwt_log_printf(h->full, "B%d ", op);
  rtwt_log_printf(h->coarse, "B%d ", op);
  return fp_act(h, FP_BEGIN);
}

static int fp_data(rtw_ws *ws, const void *d, size_t n, void *u)
{
  fp_host *h = u;
  (void)ws;
  rtwt_log_printf(h->full, "D\"");
  rtwt_log_bytes(h->full, d, n);
  rtwt_log_printf(h->full, "\" ");
  wst_buf_put(&h->msg, d, n);
  return h->data_seen++ ? 0 : fp_act(h, FP_DATA);
}

static int fp_end(rtw_ws *ws, void *u)
{
  fp_host *h = u;
  (void)ws;
  rtwt_log_printf(h->full, "E ");
  rtwt_log_printf(h->coarse, "M\"");
  rtwt_log_bytes(h->coarse, h->msg.p, h->msg.len);
  rtwt_log_printf(h->coarse, "\" E ");
  return fp_act(h, FP_END);
}

static int fp_msg(rtw_ws *ws, int op, const void *d, size_t n, void *u)
{
  fp_host *h = u;
  (void)ws;
  h->n_msg++;
  rtwt_log_printf(h->full, "W%d\"", op);
  rtwt_log_bytes(h->full, d, n);
  rtwt_log_printf(h->full, "\" ");
  rtwt_log_printf(h->coarse, "W%d\"", op);
  rtwt_log_bytes(h->coarse, d, n);
  rtwt_log_printf(h->coarse, "\" ");
  return fp_act(h, FP_MSG);
}

static int fp_ping(rtw_ws *ws, const void *d, size_t n, void *u)
{
  fp_host *h = u;
  (void)ws;
  rtwt_log_printf(h->full, "P%zu ", n);
  rtwt_log_printf(h->coarse, "P%zu ", n);
  (void)d;
  return 0;
}

/* Masking keys for the client role: any bytes do (its output is compared by length). */
static int fp_random(rtw_ws *ws, void *buf, size_t len, void *u)
{
  (void)ws;
  (void)u;
  memset(buf, 0x5A, len);
  return 0;
}

/* Drain the output: its length (the client's masking keys are its own) and, unmasked
 * (server role), its bytes. */
static void fp_drain(fp_host *h)
{
  wst_buf out;

  wst_buf_init(&out);
  assert_int_equal(wst_drain(h->ws, &out, WST_DRAIN_CONTIG), 0);
  if (out.len > 0) {
    rtwt_log_printf(h->full, "out%zu ", out.len);
    rtwt_log_printf(h->coarse, "out%zu ", out.len);
    if (h->cfg->role == RTW_WS_ROLE_SERVER) {
      rtwt_log_bytes(h->full, out.p, out.len);
      rtwt_log_bytes(h->coarse, out.p, out.len);
    }
  }
  wst_buf_free(&out);
}

/* One run: `in` fed in pieces ending at cuts[0..ncuts) (the last one is len). */
static void fp_run(const fp_cfg *cfg, const uint8_t *in, size_t len, const size_t *cuts,
                   size_t ncuts, rtwt_log *full, rtwt_log *coarse)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  fp_host h;
  uint8_t *w = malloc(len + 1);
  size_t pos = 0, k;

  assert_non_null(w);
  memcpy(w, in, len);
  memset(&h, 0, sizeof h);
  h.cfg = cfg;
  h.full = full;
  h.coarse = coarse;
  wst_buf_init(&h.msg);
  cb.on_message_begin = fp_begin;
  cb.on_message_data = fp_data;
  cb.on_message_end = fp_end;
  cb.on_message = fp_msg;
  cb.on_ping = fp_ping;
  cb.random = fp_random;
  st.flags = cfg->flags;
  st.outbound_high_water = 150;
  st.outbound_low_water = 100;
  st.max_frame_size = cfg->max_frame;
  st.max_message_size = cfg->max_msg;
  assert_int_equal(rtw_ws_new(&h.ws, cfg->role, &cb, &st, NULL, &h), 0);
  for (k = 0; k < ncuts && h.ws != NULL; k++) {
    while (pos < cuts[k]) {
      size_t nread = 0;
      int rv = cfg->inplace ? rtw_ws_recv_inplace(h.ws, w + pos, cuts[k] - pos, &nread)
                            : rtw_ws_recv(h.ws, w + pos, cuts[k] - pos, &nread);
      pos += nread;
      if (rv == RTW_ERR_WS_CLOSED && h.freed) {
        rtwt_log_printf(full, "freed@%zu", pos);
        rtwt_log_printf(coarse, "freed@%zu", pos);
        h.ws = NULL;
        break;
      }
      if (rv == RTW_ERR_PAUSE) {
        rtwt_log_printf(full, "pause@%zu ", pos);
        rtwt_log_printf(coarse, "pause@%zu ", pos);
        fp_drain(&h);
        continue;
      }
      if (rv != 0) {
        rtwt_log_printf(full, "%s@%zu ", rtw_err_name(rv), pos);
        rtwt_log_printf(coarse, "%s ", rtw_err_name(rv));
        k = ncuts;
        break;
      }
      assert_int_equal(nread, cuts[k] - (pos - nread)); /* no pause: all taken */
    }
  }
  if (h.ws != NULL) {
    fp_drain(&h);
    rtwt_log_printf(full, "read%d", rtw_ws_want_read(h.ws));
    rtwt_log_printf(coarse, "read%d", rtw_ws_want_read(h.ws));
    rtw_ws_free(h.ws);
  }
  wst_buf_free(&h.msg);
  free(w);
}

static void fp_same(const rtwt_log *ref, const rtwt_log *got, const char *how, size_t at)
{
  if (strcmp(ref->buf, got->buf) != 0)
    wst_fail("fast path: %s (%zu) differs\n  want %s\n  got  %s", how, at, ref->buf, got->buf);
}

static uint32_t fp_rand(uint32_t *s)
{
  *s = *s * 1103515245u + 12345u;
  return *s >> 16;
}

/* Every comparison for one stream and configuration; frame_at lists where frames start. */
static void fp_check(const fp_cfg *cfg, const wst_buf *in, const size_t *frame_at, size_t nf,
                     int splits)
{
  rtwt_log ref_full, ref_coarse, full, coarse;
  size_t *cuts = malloc((in->len + 2) * sizeof *cuts), i, n = 0;
  uint32_t seed = 7;
  int r;

  assert_non_null(cuts);
  rtwt_log_init(&ref_full);
  rtwt_log_init(&ref_coarse);
  rtwt_log_init(&full);
  rtwt_log_init(&coarse);
  for (i = 0; i < nf; i++) /* the oracle: each frame's first byte apart */
    cuts[n++] = frame_at[i] + 1;
  cuts[n++] = in->len;
  fp_run(cfg, in->p, in->len, cuts, n, &ref_full, &ref_coarse);
  fp_run(cfg, in->p, in->len, &in->len, 1, &full, &coarse); /* whole: the fast path */
  fp_same(&ref_full, &full, "whole", 0);
  fp_same(&ref_coarse, &coarse, "whole, coarse", 0);
  if (splits < 0 || (cfg->act != FP_NONE && cfg->act_ev == FP_DATA)) {
    free(cuts);
    rtwt_log_free(&ref_full), rtwt_log_free(&ref_coarse);
    rtwt_log_free(&full), rtwt_log_free(&coarse);
    return;
  }
  for (i = 0; i < in->len; i++) /* byte by byte */
    cuts[i] = i + 1;
  rtwt_log_clear(&full), rtwt_log_clear(&coarse);
  fp_run(cfg, in->p, in->len, cuts, in->len, &full, &coarse);
  fp_same(&ref_coarse, &coarse, "byte by byte", 0);
  for (r = 0; r < 3; r++) { /* random pieces of 1 to 40 bytes */
    size_t at = 0;
    n = 0;
    while (at < in->len) {
      at += 1 + fp_rand(&seed) % 40;
      cuts[n++] = at < in->len ? at : in->len;
    }
    rtwt_log_clear(&full), rtwt_log_clear(&coarse);
    fp_run(cfg, in->p, in->len, cuts, n, &full, &coarse);
    fp_same(&ref_coarse, &coarse, "random pieces", (size_t)r);
  }
  for (i = 1; splits && i < in->len; i++) { /* every two-way split */
    cuts[0] = i;
    cuts[1] = in->len;
    rtwt_log_clear(&full), rtwt_log_clear(&coarse);
    fp_run(cfg, in->p, in->len, cuts, 2, &full, &coarse);
    fp_same(&ref_coarse, &coarse, "split", i);
  }
  free(cuts);
  rtwt_log_free(&ref_full), rtwt_log_free(&ref_coarse);
  rtwt_log_free(&full), rtwt_log_free(&coarse);
}

/* A generated stream of nf frames for the role's masking; frame starts in at[]. */
static void fp_stream(wst_buf *b, int masked, uint32_t seed, size_t *at, size_t nf)
{
  size_t i;

  wst_buf_clear(b);
  for (i = 0; i < nf; i++) {
    uint32_t kind = fp_rand(&seed) % 16, len = 1 + fp_rand(&seed) % 20;
    uint8_t *pl;
    at[i] = b->len;
    if (kind == 0)
      len = 125;
    else if (kind == 1)
      len = 126; /* a 16-bit length: the general path */
    else if (kind < 5)
      len = 16;
    pl = wst_pattern(len, kind & 1, seed + (uint32_t)i);
    if (kind == 5) {
      wst_frame_str(b, masked, 1, RTW_WS_OP_PING, "pi");
    } else if (kind == 6) { /* a fragmented message, then an empty one */
      (void)wst_frame(b, masked, 0, TEXT, pl, len);
      at[++i < nf ? i : nf - 1] = b->len;
      (void)wst_frame(b, masked, 1, RTW_WS_OP_CONTINUATION, "x", 1);
      if (i + 1 < nf) {
        at[++i] = b->len;
        (void)wst_frame(b, masked, 1, BIN, pl, 0);
      }
    } else {
      (void)wst_frame(b, masked, 1, kind & 1 ? TEXT : BIN, pl, len);
    }
    free(pl);
  }
}

static void fast_path_differential(void **state)
{
  static const unsigned evs_streamed[] = {FP_BEGIN, FP_DATA, FP_END};
  static const size_t msgs[] = {0, 2, 5};
  wst_buf in;
  size_t at[12];
  uint32_t seed;
  int mode;

  (void)state;
  wst_buf_init(&in);
  for (mode = 0; mode < 8; mode++) { /* role x delivery x in place */
    fp_cfg c;
    memset(&c, 0, sizeof c);
    c.role = mode & 1 ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
    c.flags = mode & 2 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    c.inplace = (mode & 4) != 0;
    for (seed = 1; seed <= 4; seed++) {
      int act;
      fp_stream(&in, c.role == RTW_WS_ROLE_SERVER, seed, at, 12);
      c.act = FP_NONE;
      fp_check(&c, &in, at, 12, seed <= 2);
      c.max_frame = 16; /* 10.4: limits below 125 (1009 from both paths) */
      fp_check(&c, &in, at, 12, 0);
      c.max_frame = 0;
      c.max_msg = 17;
      fp_check(&c, &in, at, 12, 0);
      c.max_msg = 0;
      for (act = FP_PAUSE; act < FP_NACT; act++) {
        size_t e, m;
        for (e = 0; e < (c.flags ? 1u : 3u); e++) {
          for (m = 0; m < 3; m++) {
            c.act = act;
            c.act_ev = c.flags ? FP_MSG : evs_streamed[e];
            c.act_msg = msgs[m];
            fp_check(&c, &in, at, 12, 0);
          }
        }
      }
    }
  }
  wst_buf_free(&in);
}

/* Every lead byte with continuation bytes at and around the edges of their ranges (RFC 3629
 * section 4: overlong forms, surrogates, above U+10FFFF), complete, cut short at the end of
 * the frame, or followed by ASCII: the small-text check of the fast path against the
 * general path's validator, fed whole and one frame byte apart. */
static void fast_path_utf8_sequences(void **state)
{
  static const uint8_t second[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                   0xC0, 0xC2, 0xF4, 0xFF};
  static const uint8_t rest[] = {0x80, 0xBF, 0x41, 0xC0};
  wst_buf in;
  size_t at[2], si, ri;
  unsigned lead;
  int mode;

  (void)state;
  wst_buf_init(&in);
  for (mode = 0; mode < 4; mode++) {
    fp_cfg c;
    memset(&c, 0, sizeof c);
    c.role = mode & 1 ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
    c.flags = mode & 2 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    for (lead = 0x7E; lead <= 0xFF; lead++) {
      for (si = 0; si < sizeof second; si++) {
        for (ri = 0; ri < sizeof rest * 2; ri++) {
          uint8_t pl[8] = {'x', 0, 0, 0, 0, 'y', 'z', 'w'};
          size_t len = ri < sizeof rest ? 8 : 2 + ri - sizeof rest; /* 2..5: cut short */
          pl[1] = (uint8_t)lead;
          pl[2] = second[si];
          pl[3] = pl[4] = rest[ri % sizeof rest];
          wst_buf_clear(&in);
          at[0] = in.len;
          (void)wst_frame(&in, c.role == RTW_WS_ROLE_SERVER, 1, TEXT, pl, len);
          at[1] = in.len;
          wst_frame_str(&in, c.role == RTW_WS_ROLE_SERVER, 1, BIN, "next");
          fp_check(&c, &in, at, 2, -1);
        }
      }
    }
  }
  wst_buf_free(&in);
}

/* Invalid UTF-8 at each byte of a small text frame (and a valid one cut short at its end),
 * between two valid frames: the same 1007 as the general path, with the same deliveries. */
static void fast_path_invalid_utf8(void **state)
{
  static const size_t lens[] = {1, 2, 3, 5, 8, 15, 16, 17, 24, 40, 125};
  static const uint8_t bad[][2] = {{0xFF, 'a'}, {0x80, 'a'}, {0xE2, 'a'}, {0xED, 0xA0},
                                   {0xC0, 0x80}, {0xF4, 0x90}};
  wst_buf in;
  size_t li, j, at[3];
  unsigned bi;
  int mode;

  (void)state;
  wst_buf_init(&in);
  for (mode = 0; mode < 8; mode++) {
    fp_cfg c;
    int masked;
    memset(&c, 0, sizeof c);
    c.role = mode & 1 ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
    c.flags = mode & 2 ? RTW_WS_FLAG_WHOLE_MESSAGES : 0;
    c.inplace = (mode & 4) != 0;
    masked = c.role == RTW_WS_ROLE_SERVER;
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
      for (j = 0; j < lens[li]; j++) {
        for (bi = 0; bi < sizeof bad / sizeof bad[0]; bi++) {
          uint8_t pl[125];
          memset(pl, 'a' + (int)(j % 26), sizeof pl);
          pl[j] = bad[bi][0];
          if (j + 1 < lens[li])
            pl[j + 1] = bad[bi][1];
          wst_buf_clear(&in);
          at[0] = in.len;
          wst_frame_str(&in, masked, 1, TEXT, "ok");
          at[1] = in.len;
          (void)wst_frame(&in, masked, 1, TEXT, pl, lens[li]);
          at[2] = in.len;
          wst_frame_str(&in, masked, 1, BIN, "after");
          fp_check(&c, &in, at, 3, 0);
        }
      }
    }
  }
  wst_buf_free(&in);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(inplace_streamed_points_into_input),
    cmocka_unit_test(inplace_whole_direct),
    cmocka_unit_test(inplace_pause_leaves_rest),
    cmocka_unit_test(inplace_errors),
    cmocka_unit_test(free_from_callback_fast_path),
    cmocka_unit_test(idle_session_small),
    cmocka_unit_test(zero_alloc_per_message),
    cmocka_unit_test(message_sized_once),
    cmocka_unit_test(keep_buffer_setting),
    cmocka_unit_test(trim_and_idle_release),
    cmocka_unit_test(trim_arguments),
    cmocka_unit_test(fast_path_matches_general),
    cmocka_unit_test(fast_path_differential),
    cmocka_unit_test(fast_path_invalid_utf8),
    cmocka_unit_test(fast_path_utf8_sequences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
