/* SPDX-License-Identifier: MIT */
/* libFuzzer target for lib/core/utf8 (internal): the incremental validator and the replacing
 * decoder against a byte-by-byte reference written here. */
/*
 * Input layout:
 *
 *   byte 0  piece-size seed (0: split at every byte)
 *   byte 1  bit 0: also feed empty pieces (with a NULL pointer) between the pieces
 *   rest    the bytes to validate and decode
 *
 * Reference: at each position, a complete well-formed sequence (fuzz_utf8_seq(), written from
 * RFC 3629's code point ranges, not from lib/'s table) is copied; otherwise the *maximal
 * subpart* there (the longest prefix of a well-formed sequence, at least one byte) becomes one
 * U+FFFD, which is what the WHATWG Encoding Standard's UTF-8 decoder (8.1.1) produces (Unicode
 * 3.9 "U+FFFD substitution of maximal subparts"). A maximal subpart cut by the end of input is
 * one U+FFFD too.
 *
 * Oracles, for the split the input selects:
 * - rtw__utf8_validate over the pieces stops exactly at the first byte that makes the input
 *   invalid (the reference's), or accepts everything; at the end rtw__utf8_at_boundary()
 *   says whether a sequence is pending; validating the whole input at once gives the same;
 * - rtw__utf8_valid_prefix() is the longest prefix of complete well-formed sequences;
 * - rtw__utf8_decode over the pieces (each into a buffer of exactly n * 3 + 3 bytes) plus
 *   rtw__utf8_flush() equals the reference output; counting with out = NULL gives the same
 *   sizes; the output is well-formed.
 * No allocation inside the code under test, so no allocation schedule.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "utf8.h"

/* Is s[0..len) a prefix of some well-formed sequence? Beyond the second byte a continuation
 * byte is unconstrained (80..BF), so filling the rest with 0x80 decides it; the second byte
 * is constrained by the lead (E0, ED, F0, F4), so every value is tried when it is missing. */
static int is_valid_prefix(const uint8_t *s, size_t len)
{
  uint8_t t[4];
  size_t want, i;
  unsigned b;

  if (len == 0)
    return 1;
  want = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
  if (len > want)
    return 0;
  memcpy(t, s, len);
  for (i = len; i < want; i++)
    t[i] = 0x80;
  if (len >= 2 || want == 1)
    return fuzz_utf8_seq(t, want) == want;
  for (b = 0x80; b <= 0xBF; b++) {
    t[1] = (uint8_t)b;
    if (fuzz_utf8_seq(t, want) == want)
      return 1;
  }
  return 0;
}

typedef struct ref {
  uint8_t *out;
  size_t out_len;
  size_t first_error; /* offset of the byte that makes the input invalid; SIZE_MAX if none */
  size_t valid_prefix;
  int ends_pending;   /* the input ends inside a sequence that could still complete */
} ref;

static void reference(const uint8_t *s, size_t n, ref *r)
{
  size_t i = 0, m;

  r->out = malloc(n * 3 + 4);
  FUZZ_CHECK(r->out != NULL);
  r->out_len = 0;
  r->first_error = SIZE_MAX;
  r->valid_prefix = SIZE_MAX;
  r->ends_pending = 0;
  while (i < n) {
    size_t k = fuzz_utf8_seq(s + i, n - i);
    if (k > 0) {
      memcpy(r->out + r->out_len, s + i, k);
      r->out_len += k;
      i += k;
      continue;
    }
    if (r->valid_prefix == SIZE_MAX)
      r->valid_prefix = i;
    for (m = 1; m < 4 && i + m < n && is_valid_prefix(s + i, m + 1); m++)
      ;
    if (!is_valid_prefix(s + i, 1)) {
      if (r->first_error == SIZE_MAX)
        r->first_error = i;
      m = 1;
    } else if (i + m < n) {
      if (r->first_error == SIZE_MAX)
        r->first_error = i + m; /* the byte that cannot continue the sequence */
    } else if (r->first_error == SIZE_MAX) {
      r->ends_pending = 1; /* cut by the end of input, no error yet */
    }
    memcpy(r->out + r->out_len, "\xEF\xBF\xBD", 3);
    r->out_len += 3;
    i += m;
  }
  if (r->valid_prefix == SIZE_MAX)
    r->valid_prefix = n;
}

/* The next piece length: 1 when seed is 0, else random in 1..64. */
static size_t piece(fuzz_rng *rng, int every_byte, size_t left)
{
  size_t k = every_byte ? 1 : 1 + fuzz_rng_below(rng, 64);
  return k < left ? k : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  uint8_t seed, opts;
  const uint8_t *s;
  size_t n, off, k, got, o, total;
  rtw__utf8 st, st2;
  fuzz_rng rng;
  ref r;
  uint8_t *out, *buf, tail[4];
  int every;

  in.p = data;
  in.n = size;
  seed = fuzz_u8(&in);
  opts = fuzz_u8(&in);
  s = in.p;
  n = in.n;
  every = seed == 0;
  reference(s, n, &r);

  /* the validator, whole */
  rtw__utf8_init(&st);
  got = rtw__utf8_validate(&st, s, n);
  FUZZ_CHECK(got == (r.first_error == SIZE_MAX ? n : r.first_error));
  if (r.first_error == SIZE_MAX)
    FUZZ_CHECK(rtw__utf8_at_boundary(&st) == !r.ends_pending);
  FUZZ_CHECK(rtw__utf8_valid_prefix(n ? s : NULL, n) == r.valid_prefix);

  /* the validator, in pieces */
  fuzz_rng_seed(&rng, seed);
  rtw__utf8_init(&st);
  off = 0;
  got = SIZE_MAX;
  while (off < n) {
    k = piece(&rng, every, n - off);
    buf = malloc(k); /* exact copy: ASan sees an over-read */
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, s + off, k);
    o = rtw__utf8_validate(&st, buf, k);
    free(buf);
    FUZZ_CHECK(o <= k);
    if (o < k) {
      got = off + o;
      break;
    }
    off += k;
    if (opts & 1u)
      FUZZ_CHECK(rtw__utf8_validate(&st, NULL, 0) == 0);
  }
  FUZZ_CHECK(got == r.first_error);
  if (got == SIZE_MAX)
    FUZZ_CHECK(rtw__utf8_at_boundary(&st) == !r.ends_pending);

  /* the decoder, in pieces, with and without output */
  out = malloc(r.out_len + 1);
  FUZZ_CHECK(out != NULL);
  fuzz_rng_seed(&rng, seed);
  rtw__utf8_init(&st);
  rtw__utf8_init(&st2);
  off = 0;
  total = 0;
  while (off < n) {
    size_t cap;
    k = piece(&rng, every, n - off);
    cap = k * 3 + 3;
    buf = malloc(cap); /* exactly the documented bound */
    FUZZ_CHECK(buf != NULL);
    o = rtw__utf8_decode(&st, s + off, k, buf);
    FUZZ_CHECK(o <= cap);
    FUZZ_CHECK(rtw__utf8_decode(&st2, s + off, k, NULL) == o);
    FUZZ_CHECK(total + o <= r.out_len);
    memcpy(out + total, buf, o);
    total += o;
    free(buf);
    off += k;
    if (opts & 1u)
      FUZZ_CHECK(rtw__utf8_decode(&st, NULL, 0, out) == 0);
  }
  o = rtw__utf8_flush(&st, tail);
  FUZZ_CHECK(o == 0 || o == 3);
  FUZZ_CHECK(rtw__utf8_flush(&st2, NULL) == o);
  FUZZ_CHECK(rtw__utf8_at_boundary(&st));
  FUZZ_CHECK(total + o == r.out_len);
  memcpy(out + total, tail, o);
  total += o;
  FUZZ_CHECK(total == 0 || memcmp(out, r.out, total) == 0);
  FUZZ_CHECK(fuzz_utf8_valid(out, total));
  free(out);
  free(r.out);
  return 0;
}
