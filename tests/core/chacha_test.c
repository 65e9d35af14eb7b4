/* SPDX-License-Identifier: MIT */
/* The ChaCha20 block function against RFC 8439's test vectors (2.3.2 and A.1 #1, #2), and the
 * fast-key-erasure refill: its output is the block under the old key, the key is replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chacha.h"
#include "crypto.h"

static const uint8_t zero12[12];

/* RFC 8439 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1. */
static void rfc8439_2_3_2(void **state)
{
  static const uint8_t nonce[12] = {0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  static const uint8_t want[64] = {
      0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
      0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
      0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
      0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
      0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  uint8_t key[32], out[64];
  int i;

  (void)state;
  for (i = 0; i < 32; i++)
    key[i] = (uint8_t)i;
  rtw__chacha20_block(key, 1, nonce, out);
  assert_memory_equal(out, want, 64);
}

/* RFC 8439 A.1 test vectors #1 (all zero, counter 0) and #2 (all zero, counter 1). */
static void rfc8439_a1(void **state)
{
  static const uint8_t want1[64] = {
      0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53,
      0x86, 0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36,
      0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48,
      0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4,
      0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86};
  static const uint8_t want2[64] = {
      0x9f, 0x07, 0xe7, 0xbe, 0x55, 0x51, 0x38, 0x7a, 0x98, 0xba, 0x97, 0x7c, 0x73,
      0x2d, 0x08, 0x0d, 0xcb, 0x0f, 0x29, 0xa0, 0x48, 0xe3, 0x65, 0x69, 0x12, 0xc6,
      0x53, 0x3e, 0x32, 0xee, 0x7a, 0xed, 0x29, 0xb7, 0x21, 0x76, 0x9c, 0xe6, 0x4e,
      0x43, 0xd5, 0x71, 0x33, 0xb0, 0x74, 0xd8, 0x39, 0xd5, 0x31, 0xed, 0x1f, 0x28,
      0x51, 0x0a, 0xfb, 0x45, 0xac, 0xe1, 0x0a, 0x1f, 0x4b, 0x79, 0x4d, 0x6f};
  uint8_t key[32], out[64];

  (void)state;
  memset(key, 0, sizeof key);
  rtw__chacha20_block(key, 0, zero12, out);
  assert_memory_equal(out, want1, 64);
  rtw__chacha20_block(key, 1, zero12, out);
  assert_memory_equal(out, want2, 64);
}

/* The refill is the block under pool[0..32) with counter and nonce zero, written over the
 * pool (so the old key is gone), and successive refills differ. */
static void refill_erases_key(void **state)
{
  uint8_t pool[64], want[64], prev[64];
  int i, k;

  (void)state;
  for (i = 0; i < 64; i++)
    pool[i] = (uint8_t)(0xA5 ^ i);
  for (k = 0; k < 4; k++) {
    memcpy(prev, pool, 64);
    rtw__chacha20_block(pool, 0, zero12, want);
    rtw__chacha20_refill(pool);
    assert_memory_equal(pool, want, 64);
    assert_memory_not_equal(pool, prev, 32);      /* the key was replaced */
    assert_memory_not_equal(pool + 32, prev + 32, 32); /* fresh output */
  }
}

/* The key stream's seed (rtw__random_seed: RDRAND where it answers, else the OS): fills
 * exactly n bytes, for word and odd lengths, and two seeds differ. */
static void seed_fills_exactly_and_differs(void **state)
{
  static const size_t lens[] = {8, 13, 31, 32, 64};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    uint8_t a[80], b[80], sentinel[80];
    size_t n = lens[i];
    memset(sentinel, 0x5A, sizeof sentinel);
    memcpy(a, sentinel, sizeof a);
    memcpy(b, sentinel, sizeof b);
    assert_int_equal(rtw__random_seed(a, n), 0);
    assert_int_equal(rtw__random_seed(b, n), 0);
    assert_memory_equal(a + n, sentinel + n, sizeof a - n); /* nothing past n written */
    assert_memory_equal(b + n, sentinel + n, sizeof b - n);
    assert_memory_not_equal(a, b, n);
    assert_memory_not_equal(a, sentinel, n);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc8439_2_3_2),
      cmocka_unit_test(rfc8439_a1),
      cmocka_unit_test(refill_erases_key),
      cmocka_unit_test(seed_fills_exactly_and_differs),
  };
  return cmocka_run_group_tests_name("chacha", tests, NULL, NULL);
}
