/* SPDX-License-Identifier: MIT */
/* Event batches (ws.h, "Event batches"; lib/ws/batch.c): the events of rtw_ws_batch_recv()
 * read back from the batch must be exactly what a callback host sees (whole input, byte by
 * byte, every split; both delivery modes), a full batch must pause and resume without losing
 * or repeating anything, the arena must stay within its bound, a steady stream must not
 * allocate once warm, and rtw_ws_queue_batch() must queue what it is given, in order, or
 * nothing on a bad argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY

static rtw_ws *new_session(int role, uint32_t flags, rtw_ws_batch *b, size_t high_water,
                           const rtw_mem *mem)
{
  rtw_ws_callbacks cb;
  rtw_ws_settings st;
  rtw_ws *ws = NULL;

  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  rtw_ws_batch_callbacks(&cb, (flags & RTW_WS_FLAG_WHOLE_MESSAGES) != 0);
  memset(&st, 0, sizeof st);
  st.version = RTW_WS_SETTINGS_VERSION;
  st.flags = flags;
  st.outbound_high_water = high_water;
  assert_int_equal(rtw_ws_new(&ws, role, &cb, &st, mem, b), 0);
  return ws;
}

/* Log the batch's events; streamed pieces are joined into one msg() line at END so the log
 * does not depend on where the input was split. */
typedef struct logger {
  rtwt_log *log;
  wst_buf piece;
  int op;
  size_t events;
} logger;

static void log_batch(logger *lg, const rtw_ws_batch *b)
{
  const rtw_ws_batch_event *ev;
  const uint8_t *arena;
  size_t n = rtw_ws_batch_events(b, &ev, &arena), i, end = 0;

  for (i = 0; i < n; i++) {
    const uint8_t *p = arena + ev[i].offset;
    /* payloads lie back to back in the arena, in event order */
    assert_int_equal(ev[i].offset, end);
    end += ev[i].length;
    lg->events++;
    switch (ev[i].kind) {
    case RTW_WS_BATCH_MESSAGE:
      wst_log_msg(lg->log, (int)ev[i].value, p, ev[i].length);
      break;
    case RTW_WS_BATCH_BEGIN:
      assert_int_equal(ev[i].length, 0);
      lg->op = (int)ev[i].value;
      wst_buf_clear(&lg->piece);
      break;
    case RTW_WS_BATCH_DATA:
      assert_true(ev[i].length > 0);
      wst_buf_put(&lg->piece, p, ev[i].length);
      break;
    case RTW_WS_BATCH_END:
      wst_log_msg(lg->log, lg->op, lg->piece.p, lg->piece.len);
      break;
    case RTW_WS_BATCH_PING:
      rtwt_log_printf(lg->log, "ping(");
      wst_log_data(lg->log, p, ev[i].length);
      rtwt_log_printf(lg->log, ")\n");
      break;
    case RTW_WS_BATCH_PONG:
      rtwt_log_printf(lg->log, "pong(");
      wst_log_data(lg->log, p, ev[i].length);
      rtwt_log_printf(lg->log, ")\n");
      break;
    case RTW_WS_BATCH_CLOSE:
      rtwt_log_printf(lg->log, "close(%u,", (unsigned)ev[i].value);
      wst_log_data(lg->log, p, ev[i].length);
      rtwt_log_printf(lg->log, ")\n");
      break;
    default:
      wst_fail("unknown event kind %u", (unsigned)ev[i].kind);
    }
  }
}

typedef struct feed_arg {
  uint32_t flags;
  size_t max_events, max_arena;
} feed_arg;

/* rtwt_feed_fn: a server session recording into a batch; every piece fed until consumed. */
static void feed_batch(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                       size_t npieces, rtwt_log *log)
{
  const feed_arg *fa = arg;
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  logger lg;
  size_t i, off = 0;
  int rv = 0;

  (void)len;
  memset(&lg, 0, sizeof lg);
  lg.log = log;
  wst_buf_init(&lg.piece);
  assert_int_equal(rtw_ws_batch_new(&b, fa->max_events, fa->max_arena, NULL), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, fa->flags, b, 0, NULL);
  for (i = 0; i < npieces && (rv >= 0 || rv == RTW_ERR_PAUSE); i++) {
    size_t pos = 0;
    do {
      size_t nread = 0;
      rv = rtw_ws_batch_recv(b, ws, in + off + pos, pieces[i] - pos, &nread);
      assert_true(nread <= pieces[i] - pos);
      pos += nread;
      log_batch(&lg, b);
      if (rv == RTW_ERR_PAUSE)
        assert_int_equal(rtw_ws_batch_full(b), 1); /* no gate here: only a full batch */
      else
        assert_int_equal(rtw_ws_batch_full(b), 0);
    } while (rv == RTW_ERR_PAUSE && pos < pieces[i]);
    off += pieces[i];
  }
  if (rv < 0 && rv != RTW_ERR_PAUSE)
    rtwt_log_printf(log, "error(%s)\n", rtw_err_name(rv));
  rtwt_log_printf(log, "end(sent=%d)\n", rtw_ws_close_sent(ws));
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  wst_buf_free(&lg.piece);
}

/* Messages (one fragmented, with a ping inside), a pong, then a close. */
static void build_stream(wst_buf *in)
{
  wst_buf_init(in);
  wst_frame_str(in, 1, 1, TEXT, "hello");
  wst_frame(in, 1, 1, BIN, "\x00\x01\x02", 3);
  wst_frame_str(in, 1, 0, TEXT, "frag");
  wst_frame_str(in, 1, 1, RTW_WS_OP_PING, "p1");
  wst_frame_str(in, 1, 1, RTW_WS_OP_CONTINUATION, "mented \xc3\xa9");
  wst_frame_str(in, 1, 1, TEXT, "");
  wst_frame_str(in, 1, 1, RTW_WS_OP_PONG, "");
  wst_close_frame(in, 1, 1000, "bye", 3);
}

static const char expected_stream[] =
    "msg(text,\"hello\")\n"
    "msg(binary,\"\\x00\\x01\\x02\")\n"
    "ping(\"p1\")\n"
    "msg(text,\"fragmented \\xC3\\xA9\")\n"
    "msg(text,\"\")\n"
    "pong(\"\")\n"
    "close(1000,\"bye\")\n"
    "end(sent=1000)\n";

static void test_splits_whole(void **state)
{
  feed_arg fa = {RTW_WS_FLAG_WHOLE_MESSAGES, 0, 0};
  wst_buf in;

  (void)state;
  build_stream(&in);
  rtwt_check_splits(feed_batch, &fa, in.p, in.len, expected_stream);
  wst_buf_free(&in);
}

static void test_splits_streamed(void **state)
{
  feed_arg fa = {0, 0, 0};
  wst_buf in;

  (void)state;
  build_stream(&in);
  rtwt_check_splits(feed_batch, &fa, in.p, in.len, expected_stream);
  wst_buf_free(&in);
}

/* A batch of one event, or an arena of one byte: every event pauses, nothing is lost (in
 * streamed mode the piece that began a message still delivers its data and end). */
static void test_splits_tiny_batch(void **state)
{
  feed_arg one_event = {RTW_WS_FLAG_WHOLE_MESSAGES, 1, 0};
  feed_arg one_event_streamed = {0, 1, 0};
  feed_arg one_byte = {0, 0, 1};
  wst_buf in;

  (void)state;
  build_stream(&in);
  rtwt_check_splits(feed_batch, &one_event, in.p, in.len, expected_stream);
  rtwt_check_splits(feed_batch, &one_event_streamed, in.p, in.len, expected_stream);
  rtwt_check_splits(feed_batch, &one_byte, in.p, in.len, expected_stream);
  wst_buf_free(&in);
}

/* Many messages in one read: the batch fills at max_events, rtw_ws_batch_recv() pauses with
 * *nread short of the input, and the rest goes through on the next calls. */
static void test_full_batch(void **state)
{
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  wst_buf in;
  size_t i, pos = 0, calls = 0, got = 0;
  char text[32];
  int rv;

  (void)state;
  wst_buf_init(&in);
  for (i = 0; i < 1000; i++) {
    snprintf(text, sizeof text, "m%zu", i);
    wst_frame_str(&in, 1, 1, TEXT, text);
  }
  assert_int_equal(rtw_ws_batch_new(&b, 64, 0, NULL), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, b, 0, NULL);
  do {
    const rtw_ws_batch_event *ev;
    const uint8_t *arena;
    size_t nread = 0, n, j;

    rv = rtw_ws_batch_recv(b, ws, in.p + pos, in.len - pos, &nread);
    pos += nread;
    calls++;
    n = rtw_ws_batch_events(b, &ev, &arena);
    assert_true(n <= 64);
    for (j = 0; j < n; j++, got++) {
      snprintf(text, sizeof text, "m%zu", got);
      assert_int_equal(ev[j].kind, RTW_WS_BATCH_MESSAGE);
      assert_int_equal(ev[j].value, TEXT);
      assert_int_equal(ev[j].length, strlen(text));
      assert_memory_equal(arena + ev[j].offset, text, ev[j].length);
    }
    if (rv == RTW_ERR_PAUSE) {
      assert_int_equal(rtw_ws_batch_full(b), 1);
      assert_int_equal(n, 64);
    } else {
      assert_int_equal(rv, 0);
    }
  } while (pos < in.len);
  assert_int_equal(got, 1000);
  /* 1000 / 64 = 15 full batches and a last one of 40 */
  assert_int_equal(calls, 16);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  wst_buf_free(&in);
}

/* The arena never holds more than max_arena plus one payload: with max_arena 1000 and
 * messages of 700 bytes, every batch holds at most 2 messages. The allocator's peak shows
 * the arena and the event array stayed within that. */
static void test_arena_bound(void **state)
{
  rtwt_countmem cm;
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  wst_buf in;
  uint8_t *pat = wst_pattern(700, 0, 7);
  size_t i, pos = 0, got = 0;
  int rv;

  (void)state;
  rtwt_countmem_init(&cm);
  wst_buf_init(&in);
  for (i = 0; i < 50; i++)
    wst_frame(&in, 1, 1, BIN, pat, 700);
  assert_int_equal(rtw_ws_batch_new(&b, 0, 1000, &cm.mem), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, b, 0, NULL);
  do {
    const rtw_ws_batch_event *ev;
    const uint8_t *arena;
    size_t nread = 0, n, j;

    rv = rtw_ws_batch_recv(b, ws, in.p + pos, in.len - pos, &nread);
    pos += nread;
    n = rtw_ws_batch_events(b, &ev, &arena);
    assert_true(n >= 1 && n <= 2);
    for (j = 0; j < n; j++, got++)
      assert_memory_equal(arena + ev[j].offset, pat, 700);
  } while (rv == RTW_ERR_PAUSE && pos < in.len);
  assert_int_equal(rv == RTW_ERR_PAUSE ? 0 : rv, 0);
  assert_int_equal(got, 50);
  /* struct + 64 events + an arena of at most 1000 + 700 bytes rounded up to a power of two
   * times 4096 (here 4096) */
  assert_true(cm.peak <= 256u + 64u * sizeof(rtw_ws_batch_event) + 4096u);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  assert_int_equal(cm.live, 0);
  wst_buf_free(&in);
  free(pat);
}

/* Once warm, recording allocates nothing: the event array and the arena are kept. */
static void test_no_allocation_when_warm(void **state)
{
  rtwt_countmem cm;
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  wst_buf in;
  uint8_t *pat = wst_pattern(100, 1, 3);
  size_t i, nread;
  long warm;

  (void)state;
  rtwt_countmem_init(&cm);
  wst_buf_init(&in);
  for (i = 0; i < 100; i++)
    wst_frame(&in, 1, 1, TEXT, pat, 100);
  assert_int_equal(rtw_ws_batch_new(&b, 0, 0, &cm.mem), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, b, 0, NULL);
  assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, &nread), 0);
  assert_int_equal(rtw_ws_batch_events(b, NULL, NULL), 100);
  warm = cm.allocs;
  for (i = 0; i < 20; i++) {
    assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, &nread), 0);
    assert_int_equal(nread, in.len);
    assert_int_equal(rtw_ws_batch_events(b, NULL, NULL), 100);
  }
  assert_int_equal(cm.allocs, warm);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  assert_int_equal(cm.live, 0);
  wst_buf_free(&in);
  free(pat);
}

/* A protocol error: the events before it are in the batch, the error is returned. */
static void test_protocol_error(void **state)
{
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  wst_buf in;
  const rtw_ws_batch_event *ev;
  const uint8_t *arena;
  size_t nread = 0;

  (void)state;
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "ok");
  wst_frame(&in, 1, 1, TEXT, "\xff", 1);
  assert_int_equal(rtw_ws_batch_new(&b, 0, 0, NULL), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, b, 0, NULL);
  assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, &nread), RTW_ERR_INVALID_UTF8);
  assert_int_equal(rtw_ws_batch_events(b, &ev, &arena), 1);
  assert_memory_equal(arena + ev[0].offset, "ok", 2);
  assert_int_equal(rtw_ws_batch_full(b), 0);
  assert_int_equal(rtw_ws_close_sent(ws), 1007);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  wst_buf_free(&in);
}

/* The input gate (outbound_high_water) pauses too; then the batch is not full. */
static void test_gate_is_not_full(void **state)
{
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  wst_buf in;
  uint8_t *pat = wst_pattern(4096, 0, 1);
  size_t nread = 0;

  (void)state;
  wst_buf_init(&in);
  wst_frame_str(&in, 1, 1, TEXT, "a");
  wst_frame_str(&in, 1, 1, TEXT, "b");
  assert_int_equal(rtw_ws_batch_new(&b, 0, 0, NULL), 0);
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, b, 1024, NULL);
  assert_int_equal(rtw_ws_queue_message(ws, BIN, pat, 4096, 0), 0);
  assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_ws_batch_events(b, NULL, NULL), 0);
  assert_int_equal(rtw_ws_batch_full(b), 0);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  wst_buf_free(&in);
  free(pat);
}

/* A client session's automatic pong is masked: its random callback runs inside
 * rtw_ws_batch_recv() and may not start another one. */
static rtw_ws_batch *reentry_batch;
static rtw_ws *reentry_ws;
static int reentry_rv;

static int reentry_random(rtw_ws *ws, void *buf, size_t len, void *user_data)
{
  size_t nread = 99;

  (void)ws;
  assert_ptr_equal(user_data, reentry_batch);
  memset(buf, 0x5a, len);
  reentry_rv = rtw_ws_batch_recv(reentry_batch, reentry_ws, "", 0, &nread);
  assert_int_equal(nread, 0);
  return 0;
}

static void test_reentry_and_arguments(void **state)
{
  rtw_ws_callbacks cb;
  rtw_ws_batch *b = NULL, *other = NULL;
  rtw_ws *ws = NULL;
  wst_buf in;
  size_t nread = 7;

  (void)state;
  memset(&cb, 0, sizeof cb);
  cb.version = RTW_WS_CALLBACKS_VERSION;
  rtw_ws_batch_callbacks(&cb, 1);
  cb.random = reentry_random;
  assert_int_equal(rtw_ws_batch_new(&b, 0, 0, NULL), 0);
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, &cb, NULL, NULL, b), 0);
  reentry_batch = b;
  reentry_ws = ws;
  wst_buf_init(&in);
  wst_frame_str(&in, 0, 1, RTW_WS_OP_PING, "hi");
  assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, &nread), 0);
  assert_int_equal(reentry_rv, RTW_ERR_REENTRANT);
  assert_int_equal(rtw_ws_batch_events(b, NULL, NULL), 1);
  assert_int_equal(rtw_ws_want_write(ws), 1);

  /* arguments */
  assert_int_equal(rtw_ws_batch_new(NULL, 0, 0, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_batch_new(&other, 0, 0, NULL), 0);
  assert_int_equal(rtw_ws_batch_recv(other, ws, in.p, in.len, &nread),
                   RTW_ERR_INVALID_ARGUMENT); /* ws records into b */
  assert_int_equal(nread, 0);
  assert_int_equal(rtw_ws_batch_recv(NULL, ws, in.p, in.len, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_batch_recv(b, NULL, in.p, in.len, &nread), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_batch_recv(b, ws, in.p, in.len, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_batch_events(NULL, NULL, NULL), 0);
  assert_int_equal(rtw_ws_batch_full(NULL), 0);
  rtw_ws_batch_callbacks(NULL, 1);
  rtw_ws_batch_free(NULL);
  rtw_ws_batch_free(other);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  wst_buf_free(&in);
}

/* ------------------------------------------------------------------ rtw_ws_queue_batch */

/* Receive everything ws queued with a client peer recording into a batch; log it. */
static void peer_log(rtw_ws *ws, rtwt_log *log)
{
  rtw_ws_batch *b = NULL;
  rtw_ws *peer;
  wst_buf out;
  logger lg;
  size_t nread = 0;

  memset(&lg, 0, sizeof lg);
  lg.log = log;
  wst_buf_init(&lg.piece);
  wst_buf_init(&out);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  assert_int_equal(rtw_ws_batch_new(&b, 0, 0, NULL), 0);
  peer = new_session(RTW_WS_ROLE_CLIENT, RTW_WS_FLAG_WHOLE_MESSAGES, b, 0, NULL);
  assert_int_equal(rtw_ws_batch_recv(b, peer, out.p, out.len, &nread), 0);
  assert_int_equal(nread, out.len);
  log_batch(&lg, b);
  rtw_ws_free(peer);
  rtw_ws_batch_free(b);
  wst_buf_free(&out);
  wst_buf_free(&lg.piece);
}

static void test_queue_batch(void **state)
{
  static const char data[] = "onetwo\x01\x02three\xc3\xa9";
  rtw_ws_batch_event items[4];
  rtw_ws *ws;
  rtwt_log log;
  size_t queued = 99;

  (void)state;
  memset(items, 0, sizeof items);
  items[0].kind = items[1].kind = items[2].kind = items[3].kind = RTW_WS_BATCH_MESSAGE;
  items[0].value = TEXT, items[0].offset = 0, items[0].length = 3;
  items[1].value = TEXT, items[1].offset = 3, items[1].length = 3;
  items[2].value = BIN, items[2].offset = 6, items[2].length = 2;
  items[3].value = TEXT, items[3].offset = 8, items[3].length = 7;
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, NULL, 0, NULL);
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0, &queued), 0);
  assert_int_equal(queued, 4);
  /* nothing at all, with NULLs */
  assert_int_equal(rtw_ws_queue_batch(ws, NULL, 0, NULL, 0, 0, &queued), 0);
  assert_int_equal(queued, 0);
  rtwt_log_init(&log);
  peer_log(ws, &log);
  assert_string_equal(log.buf, "msg(text,\"one\")\nmsg(text,\"two\")\n"
                               "msg(binary,\"\\x01\\x02\")\nmsg(text,\"three\\xC3\\xA9\")\n");
  rtw_ws_free(ws);

  /* invalid UTF-8 in the third text item: the first two go, then the error */
  ws = new_session(RTW_WS_ROLE_SERVER, RTW_WS_FLAG_WHOLE_MESSAGES, NULL, 0, NULL);
  items[2].value = TEXT;
  assert_int_equal(rtw_ws_queue_batch(ws, "onetwo\x01\xff", 8, items, 3, 0, &queued),
                   RTW_ERR_INVALID_UTF8);
  assert_int_equal(queued, 2);
  rtwt_log_clear(&log);
  peer_log(ws, &log);
  assert_string_equal(log.buf, "msg(text,\"one\")\nmsg(text,\"two\")\n");

  /* bad arguments queue nothing, whichever item is bad */
  items[2].value = BIN;
  items[3].offset = 9; /* past the end of 15 bytes */
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(queued, 0);
  items[3].offset = 8;
  items[3].kind = RTW_WS_BATCH_PING;
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  items[3].kind = RTW_WS_BATCH_MESSAGE;
  items[3].value = RTW_WS_OP_PING;
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  items[3].value = TEXT;
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, RTW_WS_QUEUE_NOCOPY, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0x80u, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_batch(ws, NULL, 15, items, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, NULL, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_queue_batch(NULL, data, 15, items, 4, 0, &queued),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_outbound_size(ws), 0);

  /* RTW_WS_QUEUE_VALID_UTF8: the application vouches, the session does not look */
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, RTW_WS_QUEUE_VALID_UTF8,
                                      &queued), 0);
  assert_int_equal(queued, 4);
  /* after our close: the first item fails, nothing queued */
  assert_int_equal(rtw_ws_close(ws, 1000, NULL, 0), 0);
  assert_int_equal(rtw_ws_queue_batch(ws, data, 15, items, 4, 0, &queued), RTW_ERR_WS_CLOSED);
  assert_int_equal(queued, 0);
  rtw_ws_free(ws);
  rtwt_log_free(&log);
}

/* ------------------------------------------------------------------ allocation failures */

static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  rtw_ws_batch *b = NULL;
  rtw_ws *ws;
  const wst_buf *in = arg;
  size_t nread = 0;
  int rv;

  (void)arg;
  rv = rtw_ws_batch_new(&b, 2, 0, mem);
  if (rv != 0)
    return rv;
  /* the session takes the C library's allocator: the failures are the batch's */
  ws = new_session(RTW_WS_ROLE_SERVER, 0, b, 0, NULL);
  do {
    size_t pos = nread;
    rv = rtw_ws_batch_recv(b, ws, in->p + pos, in->len - pos, &nread);
    nread += pos;
  } while (rv == RTW_ERR_PAUSE && nread < in->len);
  rtw_ws_free(ws);
  rtw_ws_batch_free(b);
  if (rv == RTW_ERR_CALLBACK_FAILURE) /* the recorder's RTW_ERR_NOMEM, as the session says it */
    return RTW_ERR_NOMEM;
  return rv == RTW_ERR_PAUSE ? 0 : rv;
}

static void test_alloc_failures(void **state)
{
  wst_buf in;
  uint8_t *pat = wst_pattern(9000, 1, 5);

  (void)state;
  wst_buf_init(&in);
  wst_frame(&in, 1, 1, BIN, pat, 100);
  wst_frame(&in, 1, 1, BIN, pat, 9000);
  wst_frame_str(&in, 1, 1, TEXT, "text");
  wst_frame_str(&in, 1, 1, RTW_WS_OP_PING, "x");
  /* new (1), events (2), arena (3, 4: it doubles past 4096 for 9000) */
  assert_true(rtwt_check_alloc_failures(alloc_scenario, &in) >= 3);
  wst_buf_free(&in);
  free(pat);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_splits_whole),
    cmocka_unit_test(test_splits_streamed),
    cmocka_unit_test(test_splits_tiny_batch),
    cmocka_unit_test(test_full_batch),
    cmocka_unit_test(test_arena_bound),
    cmocka_unit_test(test_no_allocation_when_warm),
    cmocka_unit_test(test_protocol_error),
    cmocka_unit_test(test_gate_is_not_full),
    cmocka_unit_test(test_reentry_and_arguments),
    cmocka_unit_test(test_queue_batch),
    cmocka_unit_test(test_alloc_failures),
  };

  return cmocka_run_group_tests_name("ws_batch", tests, NULL, NULL);
}
