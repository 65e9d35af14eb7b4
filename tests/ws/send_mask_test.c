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


/* ------------------------------------------------------------------ text checked on send */

#define FRAG 1024u

enum { D_NONE, D_FF_FIRST, D_FF_MID, D_FF_LAST, D_TRUNCATED, D_SURROGATE, D_OVERLONG, NDEFECTS };

/* Make p[0..at) end on a character boundary: a character the position `at` cuts becomes
 * ASCII. */
static void complete_before(uint8_t *p, size_t at)
{
  size_t j = at, len;

  while (j > 0 && (p[j - 1] & 0xC0) == 0x80)
    j--;
  if (j == 0 || p[j - 1] < 0xC0)
    return; /* only continuation bytes of a character before, or none: nothing cut */
  j--;
  len = p[j] >= 0xF0 ? 4 : p[j] >= 0xE0 ? 3 : 2;
  if (j + len > at)
    memset(p + j, 'a', at - j);
}

/* A text payload of n bytes (n >= 16) with the given defect. */
static uint8_t *text_with(size_t n, int defect, uint32_t seed)
{
  uint8_t *p = wst_pattern(n, 1, seed);
  size_t mid = n / 2;

  switch (defect) {
  case D_FF_FIRST: p[0] = 0xFF; break;
  case D_FF_MID: p[mid] = 0xFF; break;
  case D_FF_LAST: p[n - 1] = 0xFF; break;
  case D_TRUNCATED: /* valid up to a 3-byte lead cut by the end of the message */
    complete_before(p, n - 1);
    p[n - 1] = 0xE2;
    break;
  case D_SURROGATE: /* U+D800 encoded: RFC 3629 forbids it */
    p[mid] = 0xED;
    p[mid + 1] = 0xA0;
    p[mid + 2] = 0x80;
    p[mid + 3] = 'a'; /* whatever the pattern had there, start afresh after it */
    p[mid + 4] = 'a';
    p[mid + 5] = 'a';
    if (mid > 0)
      p[mid - 1] = 'a';
    if (mid > 1)
      p[mid - 2] = 'a';
    if (mid > 2)
      p[mid - 3] = 'a';
    break;
  case D_OVERLONG: /* '/' as C0 AF */
    p[mid] = 0xC0;
    p[mid + 1] = 0xAF;
    break;
  default: break;
  }
  if (defect == D_NONE || defect == D_TRUNCATED) {
    size_t bad;
    /* the pattern was valid; D_TRUNCATED only opened a sequence at the very end */
    assert_int_equal(wst_utf8_check(p, defect == D_NONE ? n : n - 1, &bad), 0);
  }
  return p;
}

typedef struct rel_count {
  unsigned n;
} rel_count;

static void on_released(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws, (void)data, (void)len;
  ((rel_count *)user_data)->n++;
}

/* Every send path (server: small, one frame copied or referenced, a node; client: one frame,
 * eager fragments, a node behind a waiting message, the lazy NOCOPY path), with each defect:
 * the bad message is refused with RTW_ERR_INVALID_UTF8 before any allocation is tried (a
 * check fused into a copy runs only where the copy needs none), and leaves nothing queued
 * and nothing released; the same message without the defect then goes out intact, after
 * what waited. */
static void invalid_text_refused_on_every_path(void **state)
{
  static const size_t sizes[] = {16, 100, 125, 126, 500, FRAG - 1, FRAG, FRAG + 1, 3 * FRAG + 7,
                                 20 * FRAG};
  int role, nocopy, before, defect;
  size_t si;
  unsigned cases = 0;

  (void)state;
  for (role = 0; role < 2; role++)
    for (nocopy = 0; nocopy < 2; nocopy++)
      for (before = 0; before < 2; before++)
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
          for (defect = 1; defect < NDEFECTS; defect++) {
            int r = role ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
            uint32_t flags = nocopy ? RTW_WS_QUEUE_NOCOPY : 0u;
            size_t n = sizes[si], got = 0, f, first = 0;
            uint8_t *bad = text_with(n, defect, (uint32_t)(si + 7));
            uint8_t *good = text_with(n, D_NONE, (uint32_t)(si + 7));
            uint8_t *pre = wst_pattern(3 * FRAG, 0, 99);
            rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
            rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
            rel_count rel = {0};
            rtwt_failmem fm;
            rtw_ws *ws = NULL;
            wst_buf out;
            wst_oframes fr;
            size_t pending;

            st.fragment_size = FRAG;
            st.keep_buffer = 2 * FRAG;
            cb.on_payload_released = on_released;
            rtwt_failmem_init(&fm, 0);
            assert_int_equal(rtw_ws_new(&ws, r, &cb, &st, &fm.mem, &rel), 0);
            { /* warm up: the kept output buffer then holds the text without growing, so
               * the check runs fused into the copy or the masking where it can */
              wst_buf w;
              wst_buf_init(&w);
              assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, good, n, 0), 0);
              assert_int_equal(wst_drain(ws, &w, WST_DRAIN_CONTIG), 0);
              wst_buf_free(&w);
            }
            if (before) /* a message waits in mq: the text goes into a node */
              assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, pre, 3 * FRAG,
                                                    RTW_WS_QUEUE_NOCOPY),
                               0);
            pending = rtw_ws_outbound_size(ws);
            rel.n = 0;
            /* refused before any allocation: the next one would fail, and none is tried */
            fm.fail_at = fm.count + 1;
            assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_TEXT, bad, n, flags),
                             RTW_ERR_INVALID_UTF8);
            assert_int_equal(fm.failed, 0);
            fm.fail_at = 0;
            assert_int_equal(rtw_ws_outbound_size(ws), pending);
            assert_int_equal(rel.n, 0);
            assert_int_equal(rtw_ws_queue_message(ws, RTW_WS_OP_TEXT, good, n, flags), 0);
            wst_buf_init(&out);
            assert_int_equal(wst_drain(ws, &out, WST_DRAIN_IOV), 0);
            wst_parse_out(out.p, out.len, r == RTW_WS_ROLE_CLIENT, &fr);
            if (before) { /* the waiting binary message first, whole */
              for (; first < fr.n && fr.f[first].opcode != RTW_WS_OP_TEXT; first++) {
                assert_memory_equal(fr.f[first].data, pre + got, fr.f[first].len);
                got += fr.f[first].len;
              }
              assert_int_equal(got, 3 * FRAG);
              got = 0;
            }
            assert_true(first < fr.n);
            assert_int_equal(fr.f[first].opcode, RTW_WS_OP_TEXT);
            for (f = first; f < fr.n; f++) {
              assert_memory_equal(fr.f[f].data, good + got, fr.f[f].len);
              got += fr.f[f].len;
            }
            assert_int_equal(got, n);
            assert_true(fr.f[fr.n - 1].fin);
            wst_oframes_free(&fr);
            wst_buf_free(&out);
            rtw_ws_free(ws);
            assert_int_equal(fm.live, 0);
            free(bad);
            free(good);
            free(pre);
            cases++;
          }
  assert_int_equal(cases, 2u * 2u * 2u * 10u * (NDEFECTS - 1u));
}

/* Streamed text (rtw_ws_queue_fragment): a character split across pieces passes, a piece
 * with a bad byte or a final piece that leaves a sequence open is refused with nothing
 * queued, and the message can then be finished correctly; both roles, piece sizes around a
 * fragment. */
static void fragment_text_checked_across_pieces(void **state)
{
  static const size_t cuts[] = {1, 2, 3, 63, 64, 65, FRAG - 1, FRAG, FRAG + 1, 2 * FRAG + 3};
  int role;
  size_t ci;

  (void)state;
  for (role = 0; role < 2; role++)
    for (ci = 0; ci < sizeof cuts / sizeof cuts[0]; ci++) {
      int r = role ? RTW_WS_ROLE_CLIENT : RTW_WS_ROLE_SERVER;
      size_t n = cuts[ci] + 4 + 700, off, got = 0, f;
      uint8_t *p = wst_pattern(n, 1, 5), *msg;
      rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
      rtw_ws *ws = NULL;
      wst_buf out;
      wst_oframes fr;
      size_t pending;
      static const uint8_t euro[3] = {0xE2, 0x82, 0xAC};

      /* a euro sign starting at cuts[ci] - 1: the first piece ends inside it */
      memcpy(p + cuts[ci] - 1, euro, 3);
      {
        size_t bad;
        /* around the euro sign ASCII, so no character of the pattern is cut */
        size_t k;
        for (k = 0; k < n; k++)
          if (k + 1 < cuts[ci] || k > cuts[ci] + 1)
            p[k] = (uint8_t)('a' + k % 26);
        assert_int_equal(wst_utf8_check(p, n, &bad), 0);
      }
      msg = p;
      st.fragment_size = FRAG;
      assert_int_equal(rtw_ws_new(&ws, r, NULL, &st, NULL, NULL), 0);
      /* piece 1 ends inside the euro sign: accepted (pending) */
      assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_TEXT, msg, cuts[ci], 0), 0);
      pending = rtw_ws_outbound_size(ws);
      /* a piece that breaks the open sequence: refused, nothing queued */
      assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_TEXT, "a", 1, 0),
                       RTW_ERR_INVALID_UTF8);
      assert_int_equal(rtw_ws_outbound_size(ws), pending);
      /* a final piece that ends inside a new sequence: refused */
      {
        uint8_t tail[4];
        memcpy(tail, msg + cuts[ci], 2);
        tail[2] = 'b';
        tail[3] = 0xC3;
        assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_TEXT, tail, 4, 1),
                         RTW_ERR_INVALID_UTF8);
        assert_int_equal(rtw_ws_outbound_size(ws), pending);
      }
      /* the rest, in two pieces */
      off = cuts[ci];
      assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_TEXT, msg + off, 300, 0), 0);
      off += 300;
      assert_int_equal(rtw_ws_queue_fragment(ws, RTW_WS_OP_TEXT, msg + off, n - off, 1), 0);
      wst_buf_init(&out);
      assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
      wst_parse_out(out.p, out.len, r == RTW_WS_ROLE_CLIENT, &fr); /* checks text UTF-8 */
      for (f = 0; f < fr.n; f++) {
        assert_memory_equal(fr.f[f].data, msg + got, fr.f[f].len);
        got += fr.f[f].len;
      }
      assert_int_equal(got, n);
      wst_oframes_free(&fr);
      wst_buf_free(&out);
      rtw_ws_free(ws);
      free(p);
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(os_keys_mask_every_path),
      cmocka_unit_test(sessions_draw_different_keys),
      cmocka_unit_test(invalid_text_refused_on_every_path),
      cmocka_unit_test(fragment_text_checked_across_pieces),
  };
  return cmocka_run_group_tests_name("ws_send_mask", tests, NULL, NULL);
}
