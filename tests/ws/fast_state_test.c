/* SPDX-License-Identifier: MIT */
/* The small-frame fast path (lib/ws/session.c, fast_run()) resets what message_begin() would
 * reset before it takes a frame, also when the frame before went through the general path:
 * a compressed message (RFC 7692 7.2.2: RSV1 on its first frame) leaves the session's
 * "message is compressed" flag set, and a fast frame paused at on_message_begin then goes on
 * in the general path, which must read its payload as uncompressed (RSV1 clear, RFC 7692 6.1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

/* RFC 7692 7.2.3.1: "Hello" compressed, the 00 00 ff ff tail removed */
static const uint8_t hello_z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

typedef struct host {
  rtwt_log log;
  int pause_at; /* on_message_begin of this message (0-based) returns RTW_ERR_PAUSE */
  int n_begin;
} host;

static int h_begin(rtw_ws *ws, int op, void *u)
{
  host *h = u;

  (void)ws;
  rtwt_log_printf(&h->log, "begin %s\n", wst_opname((unsigned)op));
  return h->n_begin++ == h->pause_at ? RTW_ERR_PAUSE : 0;
}

static int h_data(rtw_ws *ws, const void *d, size_t n, void *u)
{
  host *h = u;

  (void)ws;
  rtwt_log_printf(&h->log, "data ");
  rtwt_log_bytes(&h->log, d, n);
  rtwt_log_printf(&h->log, "\n");
  return 0;
}

static int h_end(rtw_ws *ws, void *u)
{
  (void)ws;
  rtwt_log_printf(&((host *)u)->log, "end\n");
  return 0;
}

static int h_ping(rtw_ws *ws, const void *d, size_t n, void *u)
{
  (void)ws;
  (void)d;
  rtwt_log_printf(&((host *)u)->log, "ping %zu\n", n);
  return 0;
}

/* A compressed text message, optionally a ping (general path), then small uncompressed
 * frames (fast path) with a pause at the first one's on_message_begin; fed again from
 * where the pause stopped. Both feeds must deliver the uncompressed payloads as they are. */
static void run(int with_ping)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_deflate_params neg;
  wst_hdr zh;
  wst_buf in;
  host h;
  rtw_ws *ws;
  size_t nread = 0, nread2 = 0, fast_at;
  int rv;

  memset(&h, 0, sizeof h);
  rtwt_log_init(&h.log);
  h.pause_at = 1;
  cb.on_message_begin = h_begin;
  cb.on_message_data = h_data;
  cb.on_message_end = h_end;
  cb.on_ping = h_ping;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, &cb, NULL, NULL, &h), 0);
  memset(&neg, 0, sizeof neg); /* permessage-deflate with no parameters */
  rv = rtw_ws_set_deflate(ws, &neg, NULL);
  if (rv == RTW_ERR_UNSUPPORTED) { /* built without zlib: nothing to check */
    rtw_ws_free(ws);
    rtwt_log_free(&h.log);
    skip();
  }
  assert_int_equal(rv, 0);

  wst_buf_init(&in);
  memset(&zh, 0, sizeof zh);
  zh.fin = 1;
  zh.rsv = RTW_WS_RSV1;
  zh.opcode = RTW_WS_OP_TEXT;
  zh.masked = 1;
  wst_key(7, zh.key);
  wst_put_frame(&in, &zh, hello_z, sizeof hello_z);
  if (with_ping)
    wst_frame_str(&in, 1, 1, RTW_WS_OP_PING, "p");
  fast_at = in.len;
  wst_frame_str(&in, 1, 1, RTW_WS_OP_TEXT, "hi there");
  wst_frame_str(&in, 1, 1, RTW_WS_OP_BINARY, "xyz");

  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), RTW_ERR_PAUSE);
  assert_int_equal(nread, fast_at + 6); /* after the paused frame's header */
  assert_int_equal(rtw_ws_recv(ws, in.p + nread, in.len - nread, &nread2), 0);
  assert_int_equal(nread + nread2, in.len);
  assert_string_equal(h.log.buf, with_ping ? "begin text\ndata Hello\nend\nping 1\n"
                                             "begin text\ndata hi there\nend\n"
                                             "begin binary\ndata xyz\nend\n"
                                           : "begin text\ndata Hello\nend\n"
                                             "begin text\ndata hi there\nend\n"
                                             "begin binary\ndata xyz\nend\n");
  rtw_ws_free(ws);
  wst_buf_free(&in);
  rtwt_log_free(&h.log);
}

static void fast_hold_after_compressed(void **state)
{
  (void)state;
  run(0);
}

static void fast_hold_after_compressed_and_ping(void **state)
{
  (void)state;
  run(1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fast_hold_after_compressed),
      cmocka_unit_test(fast_hold_after_compressed_and_ping),
  };
  return cmocka_run_group_tests_name("ws_fast_state", tests, NULL, NULL);
}
