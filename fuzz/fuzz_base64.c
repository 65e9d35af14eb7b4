/* SPDX-License-Identifier: MIT */
/* libFuzzer target for lib/core/base64 (internal): the encoder and the strict decoder against
 * a reference written here from RFC 4648 section 4, both directions. */
/*
 * Input layout:
 *
 *   byte 0  bits 0-1: output room for the decoder (0 exact, 1 one byte short, 2 the
 *           RTW__BASE64_DECODED_MAX bound, 3 exact plus 5)
 *   rest    used twice: as bytes to encode, and as text to decode
 *
 * Oracles:
 * - encode(x) equals the reference encoding, has RTW__BASE64_ENCODED_LEN(n) characters (the
 *   buffer is exactly that size, so ASan sees an overrun), and decode(encode(x)) == x;
 * - decode(t) succeeds exactly when the reference decoder accepts t: length a multiple of 4,
 *   only A-Z a-z 0-9 + /, '=' only as the last one or two characters of the last group, and
 *   the bits a padded group leaves unused all zero (RFC 4648 3.5, "canonical encoding");
 *   when it succeeds, the bytes equal the reference's and fit the room given (one byte less
 *   than needed is refused), and encode(decode(t)) == t.
 * No allocation inside the code under test, so no allocation schedule.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz_common.h"

/* RFC 4648 table 1, as ranges. */
static int ref_value(uint8_t c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static char ref_char(unsigned v)
{
  if (v < 26)
    return (char)('A' + v);
  if (v < 52)
    return (char)('a' + v - 26);
  if (v < 62)
    return (char)('0' + v - 52);
  return v == 62 ? '+' : '/';
}

/* Bit by bit: 24-bit groups become four 6-bit values, '=' pads a short final group. */
static size_t ref_encode(const uint8_t *s, size_t n, char *out)
{
  size_t i, o = 0;

  for (i = 0; i < n; i += 3) {
    size_t k = n - i < 3 ? n - i : 3;
    uint32_t g = (uint32_t)s[i] << 16;
    if (k > 1)
      g |= (uint32_t)s[i + 1] << 8;
    if (k > 2)
      g |= s[i + 2];
    out[o++] = ref_char(g >> 18 & 63u);
    out[o++] = ref_char(g >> 12 & 63u);
    out[o++] = k > 1 ? ref_char(g >> 6 & 63u) : '=';
    out[o++] = k > 2 ? ref_char(g & 63u) : '=';
  }
  return o;
}

/* Returns the decoded length, or -1 when the text is not canonical base64. */
static long ref_decode(const uint8_t *t, size_t len, uint8_t *out)
{
  size_t i, o = 0;

  if (len % 4 != 0)
    return -1;
  for (i = 0; i < len; i += 4) {
    int v[4], pad = 0, j;
    uint32_t g = 0;
    for (j = 0; j < 4; j++) {
      v[j] = ref_value(t[i + (size_t)j]);
      if (t[i + (size_t)j] == '=') {
        if (i + 4 != len || j < 2) /* padding only in the last group, after 2 characters */
          return -1;
        pad++;
        v[j] = 0;
      } else if (v[j] < 0 || pad > 0) { /* not in the alphabet, or data after '=' */
        return -1;
      }
      g = g << 6 | (uint32_t)v[j];
    }
    if ((pad == 2 && (g & 0xFFFFu) != 0) || (pad == 1 && (g & 0xFFu) != 0))
      return -1; /* RFC 4648 3.5: non-zero pad bits */
    out[o++] = (uint8_t)(g >> 16);
    if (pad < 2)
      out[o++] = (uint8_t)(g >> 8);
    if (pad < 1)
      out[o++] = (uint8_t)g;
  }
  return (long)o;
}

static void check_encode(const uint8_t *s, size_t n)
{
  size_t want = RTW__BASE64_ENCODED_LEN(n), got, dlen = 0;
  char *enc = malloc(want ? want : 1), *ref = malloc(want ? want : 1);
  uint8_t *back = malloc(n ? n : 1);

  FUZZ_CHECK(enc != NULL && ref != NULL && back != NULL);
  got = rtw__base64_encode(s, n, enc);
  FUZZ_CHECK(got == want);
  FUZZ_CHECK(ref_encode(s, n, ref) == want);
  FUZZ_CHECK(want == 0 || memcmp(enc, ref, want) == 0);
  FUZZ_CHECK(rtw__base64_decode(enc, got, back, n, &dlen) == 0);
  FUZZ_CHECK(dlen == n && (n == 0 || memcmp(back, s, n) == 0));
  if (n > 0) /* one byte too little room: refused */
    FUZZ_CHECK(rtw__base64_decode(enc, got, back, n - 1, &dlen) == -1);
  free(enc);
  free(ref);
  free(back);
}

static void check_decode(const uint8_t *t, size_t len, unsigned room)
{
  uint8_t *ref = malloc(len ? len : 1), *out;
  long rlen = ref_decode(t, len, ref);
  size_t cap, olen = 12345;
  int rv;

  FUZZ_CHECK(ref != NULL);
  switch (room) {
  case 0: cap = rlen > 0 ? (size_t)rlen : 0; break;
  case 1: cap = rlen > 0 ? (size_t)rlen - 1 : 0; break;
  case 2: cap = RTW__BASE64_DECODED_MAX(len); break;
  default: cap = (rlen > 0 ? (size_t)rlen : 0) + 5; break;
  }
  out = malloc(cap ? cap : 1); /* exactly sized: ASan sees any write past cap */
  FUZZ_CHECK(out != NULL);
  rv = rtw__base64_decode((const char *)t, len, out, cap, &olen);
  if (rlen < 0) {
    FUZZ_CHECK(rv == -1);
  } else if ((size_t)rlen > cap) {
    FUZZ_CHECK(rv == -1);
  } else {
    char *again = malloc(len ? len : 1);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(rv == 0);
    FUZZ_CHECK(olen == (size_t)rlen);
    FUZZ_CHECK(olen == 0 || memcmp(out, ref, olen) == 0);
    FUZZ_CHECK((size_t)rlen <= RTW__BASE64_DECODED_MAX(len));
    /* canonical: exactly one accepted encoding per byte string */
    FUZZ_CHECK(rtw__base64_encode(out, olen, again) == len);
    FUZZ_CHECK(len == 0 || memcmp(again, t, len) == 0);
    free(again);
  }
  free(out);
  free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  unsigned room;

  in.p = data;
  in.n = size;
  room = fuzz_u8(&in) & 3u;
  check_encode(in.p, in.n);
  check_decode(in.p, in.n, room);
  return 0;
}
