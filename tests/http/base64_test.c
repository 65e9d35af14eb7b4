/* SPDX-License-Identifier: MIT */
/* Base64 (lib/core/base64.c): RFC 4648 section 10 vectors, round trips, invalid input. */
#include <string.h>

#include "rtwt.h"
#include "base64.h"

static const char *const vectors[][2] = {
    /* RFC 4648 section 10 */
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    /* RFC 6455 4.1: the sample nonce */
    {"the sample nonce", "dGhlIHNhbXBsZSBub25jZQ=="},
};

static void test_rfc4648_vectors(void **state)
{
  size_t i, n, out_len;
  char enc[64];
  uint8_t dec[64];
  (void)state;
  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const char *raw = vectors[i][0], *b64 = vectors[i][1];
    n = rtw__base64_encode((const uint8_t *)raw, strlen(raw), enc);
    assert_int_equal(n, strlen(b64));
    assert_int_equal(n, RTW__BASE64_ENCODED_LEN(strlen(raw)));
    assert_memory_equal(enc, b64, n);
    assert_int_equal(rtw__base64_decode(b64, n, dec, sizeof dec, &out_len), 0);
    assert_int_equal(out_len, strlen(raw));
    assert_memory_equal(dec, raw, out_len);
  }
}

/* Every byte value and every length up to 64 round-trips. */
static void test_round_trip(void **state)
{
  uint8_t raw[64], dec[64];
  char enc[RTW__BASE64_ENCODED_LEN(64)];
  size_t len, n, out_len, i;
  (void)state;
  for (len = 0; len <= sizeof raw; len++) {
    for (i = 0; i < len; i++)
      raw[i] = (uint8_t)(i * 37u + len * 11u + 0xF0u);
    n = rtw__base64_encode(raw, len, enc);
    assert_int_equal(rtw__base64_decode(enc, n, dec, sizeof dec, &out_len), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(dec, raw, len);
  }
  for (i = 0; i < 256; i++) {
    raw[0] = (uint8_t)i;
    n = rtw__base64_encode(raw, 1, enc);
    assert_int_equal(rtw__base64_decode(enc, n, dec, sizeof dec, &out_len), 0);
    assert_int_equal(dec[0], i);
  }
}

static void test_invalid(void **state)
{
  static const char *const bad[] = {
      "Zg",           /* not a multiple of 4 */
      "Zg=",          /* idem */
      "Zm9vY",        /* idem */
      "Zg==Zg==",     /* padding in the middle */
      "Z===",         /* too much padding */
      "====",         /* only padding */
      "Zm=v",         /* '=' before a data character */
      "Zh==",         /* non-zero unused bits (RFC 4648 3.5) */
      "Zm9=",         /* idem, one pad */
      "Zm9v\nYmFy",   /* line break */
      "Zm9 ",         /* space */
      "Zm-_",         /* URL-safe alphabet */
      "Zm9v\0mFy",    /* NUL inside */
      "Zm9vYmF\x80",  /* non-ASCII */
  };
  uint8_t out[16];
  size_t i, n = 99;
  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t len = strlen(bad[i]);
    if (i == 12)
      len = 8;
    assert_int_equal(rtw__base64_decode(bad[i], len, out, sizeof out, &n), -1);
  }
  /* does not fit */
  assert_int_equal(rtw__base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
  assert_int_equal(rtw__base64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
  assert_int_equal(n, 6);
  /* 24 characters decoding to 16 bytes: what Sec-WebSocket-Key must be */
  assert_int_equal(rtw__base64_decode("AQIDBAUGBwgJCgsMDQ4PEA==", 24, out, sizeof out, &n), 0);
  assert_int_equal(n, 16);
  assert_int_equal(out[15], 16);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4648_vectors),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
