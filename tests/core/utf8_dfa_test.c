/* SPDX-License-Identifier: MIT */
/* The short-text UTF-8 DFA (rtw__utf8_short() and its table rtw__utf8_dfa, lib/core/utf8.h)
 * against the scalar validator (rtw__utf8_validate_at() at RTW__UTF8_PORTABLE, from a fresh
 * state): the end state must be the one that matches the validator's verdict and its state
 * (RFC 3629 section 4: which bytes may come next), for every string of 1, 2 and 3 bytes, for
 * 4-byte strings with every lead byte and continuations from a set holding every range edge
 * (plus every 4-byte string F0..F4 80..BF 80..BF 80..BF), and for pseudo-random strings of up
 * to 32 bytes built from valid and invalid pieces. The numbers of valid, pending and invalid
 * strings of each length are also checked against counts worked out from RFC 3629. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* A state no DFA state equals: the validator's state matched none (a test failure). */
#define NO_STATE 99u

/* The DFA state that the scalar validator's verdict over p[0..n) (from a fresh state)
 * corresponds to. */
static unsigned scalar_state(const uint8_t *p, size_t n)
{
  rtw__utf8 st;

  rtw__utf8_init(&st);
  if (rtw__utf8_validate_at(RTW__UTF8_PORTABLE, &st, p, n) != n)
    return RTW__UTF8_DFA_BAD;
  switch (st.need) {
  case 0:
    return RTW__UTF8_DFA_OK;
  case 1:
    return st.lo == 0x80 && st.hi == 0xBF ? RTW__UTF8_DFA_C1 : NO_STATE;
  case 2:
    if (st.lo == 0xA0 && st.hi == 0xBF)
      return RTW__UTF8_DFA_E0;
    if (st.lo == 0x80 && st.hi == 0x9F)
      return RTW__UTF8_DFA_ED;
    return st.lo == 0x80 && st.hi == 0xBF ? RTW__UTF8_DFA_C2 : NO_STATE;
  case 3:
    if (st.lo == 0x90 && st.hi == 0xBF)
      return RTW__UTF8_DFA_F0;
    if (st.lo == 0x80 && st.hi == 0x8F)
      return RTW__UTF8_DFA_F4;
    return st.lo == 0x80 && st.hi == 0xBF ? RTW__UTF8_DFA_C3 : NO_STATE;
  default:
    return NO_STATE;
  }
}

/* What a run of comparisons found: strings, outcomes by the DFA, and the first mismatch. */
typedef struct tally {
  unsigned long strings, ok, bad, pending, mismatches;
  uint8_t first[32]; /* the first mismatching string */
  size_t first_len;
  unsigned first_dfa, first_scalar;
} tally;

static void compare(tally *t, const uint8_t *p, size_t n)
{
  unsigned d = rtw__utf8_short(p, n), s = scalar_state(p, n);

  t->strings++;
  if (d == RTW__UTF8_DFA_OK)
    t->ok++;
  else if (d == RTW__UTF8_DFA_BAD)
    t->bad++;
  else
    t->pending++;
  if (d != s && t->mismatches++ == 0) {
    memcpy(t->first, p, n);
    t->first_len = n;
    t->first_dfa = d;
    t->first_scalar = s;
  }
}

/* Fails, naming the first mismatching string, when the DFA and the validator disagreed. */
static void assert_agreed(const tally *t)
{
  if (t->mismatches != 0) {
    size_t i;
    print_error("%lu mismatches; first:", t->mismatches);
    for (i = 0; i < t->first_len; i++)
      print_error(" %02X", t->first[i]);
    print_error(": DFA state %u, scalar validator %u\n", t->first_dfa, t->first_scalar);
  }
  assert_int_equal(t->mismatches, 0);
}

/* ------------------------------------------------------------------ named states */

/* Each state reached by a string that shows it, and each range edge on both sides. */
static void test_states(void **state)
{
  static const struct {
    const char *s;
    unsigned want;
  } v[] = {
      {"", RTW__UTF8_DFA_OK},
      {"a", RTW__UTF8_DFA_OK},
      {"\x7F", RTW__UTF8_DFA_OK},
      {"\x80", RTW__UTF8_DFA_BAD},          /* a continuation with no lead */
      {"\xC1\xBF", RTW__UTF8_DFA_BAD},      /* overlong 2-byte form */
      {"\xC2", RTW__UTF8_DFA_C1},
      {"\xC2\x80", RTW__UTF8_DFA_OK},       /* U+0080 */
      {"\xDF\xBF", RTW__UTF8_DFA_OK},       /* U+07FF */
      {"\xDF\xC0", RTW__UTF8_DFA_BAD},
      {"\xE0", RTW__UTF8_DFA_E0},
      {"\xE0\x9F\x80", RTW__UTF8_DFA_BAD},  /* overlong 3-byte form */
      {"\xE0\xA0", RTW__UTF8_DFA_C1},
      {"\xE0\xA0\x80", RTW__UTF8_DFA_OK},   /* U+0800 */
      {"\xE1", RTW__UTF8_DFA_C2},
      {"\xEC\xBF\xBF", RTW__UTF8_DFA_OK},
      {"\xED", RTW__UTF8_DFA_ED},
      {"\xED\x9F\xBF", RTW__UTF8_DFA_OK},   /* U+D7FF */
      {"\xED\xA0\x80", RTW__UTF8_DFA_BAD},  /* U+D800, a surrogate */
      {"\xEE\x80\x80", RTW__UTF8_DFA_OK},   /* U+E000 */
      {"\xEF\xBF\xBF", RTW__UTF8_DFA_OK},   /* U+FFFF */
      {"\xF0", RTW__UTF8_DFA_F0},
      {"\xF0\x8F\xBF\xBF", RTW__UTF8_DFA_BAD}, /* overlong 4-byte form */
      {"\xF0\x90", RTW__UTF8_DFA_C2},
      {"\xF0\x90\x80", RTW__UTF8_DFA_C1},
      {"\xF0\x90\x80\x80", RTW__UTF8_DFA_OK}, /* U+10000 */
      {"\xF1", RTW__UTF8_DFA_C3},
      {"\xF3\xBF\xBF\xBF", RTW__UTF8_DFA_OK},
      {"\xF4", RTW__UTF8_DFA_F4},
      {"\xF4\x8F\xBF\xBF", RTW__UTF8_DFA_OK}, /* U+10FFFF */
      {"\xF4\x90\x80\x80", RTW__UTF8_DFA_BAD}, /* U+110000 */
      {"\xF5\x80\x80\x80", RTW__UTF8_DFA_BAD},
      {"\xFF", RTW__UTF8_DFA_BAD},
      {"\x80" "abc", RTW__UTF8_DFA_BAD},    /* BAD is sticky */
      {"a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", RTW__UTF8_DFA_OK},
      {"a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98", RTW__UTF8_DFA_C1},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    size_t n = strlen(v[i].s);
    unsigned got = rtw__utf8_short((const uint8_t *)v[i].s, n);
    if (got != v[i].want)
      print_error("vector %zu: state %u, want %u\n", i, got, v[i].want);
    assert_int_equal(got, v[i].want);
    assert_int_equal(scalar_state((const uint8_t *)v[i].s, n), v[i].want);
  }
  assert_int_equal(rtw__utf8_short(NULL, 0), RTW__UTF8_DFA_OK);
}

/* ------------------------------------------------------------------ exhaustive */

/* Counts from RFC 3629 section 4. A complete sequence: 128 of 1 byte; 30 * 64 = 1920 of 2
 * (C2..DF); 32*64 + 12*64*64 + 32*64 + 2*64*64 = 61440 of 3 (U+0800..U+FFFF less 2048
 * surrogates); 48*64*64 + 3*64*64*64 + 16*64*64 = 1048576 of 4 (U+10000..U+10FFFF). A valid
 * prefix of a sequence (pending): 1 byte: 30 + 16 + 5 = 51 leads; 2 bytes: the 3-byte
 * sequences' first two (61440 / 64 = 960) and the 4-byte ones' (1048576 / 4096 = 256);
 * 3 bytes: the 4-byte ones' first three (16384). */
#define SEQ1 128ul
#define SEQ2 1920ul
#define SEQ3 61440ul
#define SEQ4 1048576ul
#define PRE1 51ul  /* a lead of 2, 3 or 4 bytes */
#define PRE2 1216ul /* 960 + 256: two bytes of 3 or 4 */
#define PRE3 16384ul

static void test_all_1_2_bytes(void **state)
{
  tally t1, t2;
  uint8_t s[2];
  unsigned a, b;

  (void)state;
  memset(&t1, 0, sizeof t1);
  memset(&t2, 0, sizeof t2);
  for (a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    compare(&t1, s, 1);
    for (b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      compare(&t2, s, 2);
    }
  }
  assert_agreed(&t1);
  assert_agreed(&t2);
  assert_int_equal(t1.strings, 256);
  assert_int_equal(t1.ok, SEQ1);
  assert_int_equal(t1.pending, PRE1);
  assert_int_equal(t2.strings, 65536);
  /* valid: two 1-byte sequences, or one of 2; pending: a lead after ASCII, or 2 of 3/4 */
  assert_int_equal(t2.ok, SEQ1 * SEQ1 + SEQ2);
  assert_int_equal(t2.pending, SEQ1 * PRE1 + PRE2);
  assert_int_equal(t2.bad, 65536 - t2.ok - t2.pending);
}

/* Every 3-byte string: 16.8 M, each through the DFA and the validator. */
static void test_all_3_bytes(void **state)
{
  tally t;
  uint8_t s[3];
  unsigned a, b, c;

  (void)state;
  memset(&t, 0, sizeof t);
  for (a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    for (b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      for (c = 0; c < 256; c++) {
        s[2] = (uint8_t)c;
        compare(&t, s, 3);
      }
    }
  }
  assert_agreed(&t);
  assert_int_equal(t.strings, 1ul << 24);
  /* valid: 1+1+1, 1+2, 2+1 or 3 bytes */
  assert_int_equal(t.ok, SEQ1 * SEQ1 * SEQ1 + 2 * SEQ1 * SEQ2 + SEQ3);
  /* pending: ASCII ASCII lead, ASCII + 2 of 3/4, a 2-byte sequence then a lead, 3 of 4 */
  assert_int_equal(t.pending, SEQ1 * SEQ1 * PRE1 + SEQ1 * PRE2 + SEQ2 * PRE1 + PRE3);
}

/* Bytes at each side of every range edge of RFC 3629 section 4 (and ASCII). */
static const uint8_t edges[] = {0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0,
                                0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
                                0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
#define NEDGES (sizeof edges / sizeof edges[0])

/* Every lead byte followed by three bytes from `edges`; then every 4-byte string of a 4-byte
 * lead and three continuation bytes. */
static void test_4_bytes(void **state)
{
  tally t, tc;
  uint8_t s[4];
  unsigned a, b, c, d;

  (void)state;
  memset(&t, 0, sizeof t);
  for (a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    for (b = 0; b < NEDGES; b++) {
      s[1] = edges[b];
      for (c = 0; c < NEDGES; c++) {
        s[2] = edges[c];
        for (d = 0; d < NEDGES; d++) {
          s[3] = edges[d];
          compare(&t, s, 4);
        }
      }
    }
  }
  assert_agreed(&t);
  assert_int_equal(t.strings, 256ul * NEDGES * NEDGES * NEDGES);

  memset(&tc, 0, sizeof tc);
  for (a = 0xF0; a <= 0xF4; a++) {
    s[0] = (uint8_t)a;
    for (b = 0x80; b <= 0xBF; b++) {
      s[1] = (uint8_t)b;
      for (c = 0x80; c <= 0xBF; c++) {
        s[2] = (uint8_t)c;
        for (d = 0x80; d <= 0xBF; d++) {
          s[3] = (uint8_t)d;
          compare(&tc, s, 4);
        }
      }
    }
  }
  assert_agreed(&tc);
  assert_int_equal(tc.strings, 5ul * 64 * 64 * 64);
  assert_int_equal(tc.ok, SEQ4); /* every 4-byte sequence is among them */
  assert_int_equal(tc.pending, 0);
}

/* ------------------------------------------------------------------ random pieces */

static uint64_t rng = 0x9E3779B97F4A7C15ull; /* fixed seed: the same strings every run */

static uint32_t next_rand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 32);
}

/* A valid sequence of `len` bytes (1..4) at out, its code point at or near a range edge half
 * of the time. */
static size_t valid_piece(uint8_t *out, unsigned len)
{
  static const uint32_t lo[5] = {0, 0x00, 0x80, 0x800, 0x10000};
  static const uint32_t hi[5] = {0, 0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  uint32_t cp;

  if (next_rand() & 1)
    cp = lo[len] + next_rand() % (hi[len] - lo[len] + 1);
  else
    cp = (next_rand() & 1) ? lo[len] + next_rand() % 3 : hi[len] - next_rand() % 3;
  if (cp >= 0xD800 && cp <= 0xDFFF)
    cp = (next_rand() & 1) ? 0xD7FF : 0xE000; /* the scalars at the surrogates' edges */
  if (len == 1) {
    out[0] = (uint8_t)cp;
  } else if (len == 2) {
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (len == 3) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return len;
}

/* An ill-formed piece: each class of RFC 3629 error, or a truncated sequence. */
static size_t invalid_piece(uint8_t *out)
{
  static const char *const pieces[] = {
      "\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80",
      "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80", "\xFF", "\xFE", "\xC2\x41", "\xE1\x80\x41", "\xF1\x80\x80\x41",
      "\xC2\xC2", "\xE0\xA0\xC0"};
  const char *p = pieces[next_rand() % (sizeof pieces / sizeof pieces[0])];
  size_t n = strlen(p);

  memcpy(out, p, n);
  return n;
}

/* Strings of 1..32 bytes from valid sequences of every length, truncated sequences and
 * ill-formed pieces, mostly valid; each compared whole and at every prefix length. */
static void test_random_pieces(void **state)
{
  tally t;
  uint8_t s[32 + 4];
  unsigned iter;

  (void)state;
  memset(&t, 0, sizeof t);
  for (iter = 0; iter < 20000; iter++) {
    size_t n = 0, want = 1 + next_rand() % 32, k;
    while (n < want) {
      unsigned r = next_rand() % 16;
      if (r < 13)
        n += valid_piece(s + n, 1 + r % 4);
      else if (r < 15)
        n += valid_piece(s + n, 2 + next_rand() % 3) - 1; /* one byte short */
      else
        n += invalid_piece(s + n);
    }
    n = want; /* a piece may pass the end: cut there */
    for (k = 1; k <= n; k++)
      compare(&t, s, k);
    {
      /* the entry point session.c leaves for longer text agrees on the whole string */
      rtw__utf8 st;
      unsigned d = rtw__utf8_short(s, n);
      rtw__utf8_init(&st);
      assert_int_equal(rtw__utf8_validate(&st, s, n) == n, d != RTW__UTF8_DFA_BAD);
      if (d != RTW__UTF8_DFA_BAD)
        assert_int_equal(rtw__utf8_at_boundary(&st), d == RTW__UTF8_DFA_OK);
      assert_int_equal(rtw__utf8_valid_prefix(s, n) == n, d == RTW__UTF8_DFA_OK);
    }
  }
  assert_agreed(&t);
  /* all three outcomes were seen many times */
  assert_true(t.ok > 10000);
  assert_true(t.bad > 10000);
  assert_true(t.pending > 10000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_states),
      cmocka_unit_test(test_all_1_2_bytes),
      cmocka_unit_test(test_all_3_bytes),
      cmocka_unit_test(test_4_bytes),
      cmocka_unit_test(test_random_pieces),
  };
  return cmocka_run_group_tests_name("utf8_dfa", tests, NULL, NULL);
}
