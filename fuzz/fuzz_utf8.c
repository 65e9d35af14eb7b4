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
 * - differential, for every variant this CPU runs (portable, AVX2, AVX-512 through the
 *   rtw__utf8_*_at() hooks): rtw__utf8_validate_at, _valid_prefix_at, the fused
 *   rtw__utf8_unmask_copy_at (into a copy and in place) and rtw__utf8_copy_mask_at on the input
 *   placed at an offset of 0..63 bytes from a 64-byte boundary, for the whole input, the same
 *   pieces as above, and every prefix length from n - 64 to n, agree with the reference and
 *   with the portable variant; the fused calls' output up to the returned offset is the
 *   (un)masked input, and nothing past n is written.
 * - rtw_utf8_to_units() (public, and the variant without the AVX-512 VBMI2 kernel) accepts
 *   exactly the inputs the reference finds valid and complete, with the code points of a
 *   decoder written here at the narrowest width; anything else is RTW_ERR_INVALID_UTF8 with
 *   nothing written. rtw_utf8_from_units() gives the input back from those units and from
 *   its UTF-32 form; the input read as UTF-16 units is encoded exactly when it has no lone
 *   surrogate, as a UTF-16 decoder written here says.
 * No allocation inside the code under test, so no allocation schedule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/common.h"
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

static size_t piece(fuzz_rng *rng, int every_byte, size_t left);

static uint8_t key_at(uint32_t key_le, uint64_t q)
{
  return (uint8_t)(key_le >> (8u * (unsigned)(q & 3u)));
}

/* The fused calls at `level` on s[0..n) (n > 0), src at the given alignment; the expected
 * result is `want` (the first error or n) and the state at the end `pend` when valid. */
static void check_fused(int level, const uint8_t *s, size_t n, size_t align, uint32_t key,
                        uint64_t off, size_t want, int pend)
{
  uint8_t *mem = malloc(2 * (n + 128)), *src, *dst;
  size_t i, got;
  rtw__utf8 st;

  FUZZ_CHECK(mem != NULL);
  src = (uint8_t *)(((uintptr_t)mem + 63u) & ~(uintptr_t)63u) + align;
  dst = src + n + 64;
  for (i = 0; i < n; i++)
    src[i] = (uint8_t)(s[i] ^ key_at(key, off + i));
  memset(dst, 0xA5, n + 8);
  rtw__utf8_init(&st);
  got = rtw__utf8_unmask_copy_at(level, &st, dst, src, n, key, off);
  FUZZ_CHECK(got == want);
  if (want == n)
    FUZZ_CHECK(rtw__utf8_at_boundary(&st) == !pend);
  FUZZ_CHECK(got == 0 || memcmp(dst, s, got) == 0);
  for (i = n; i < n + 8; i++)
    FUZZ_CHECK(dst[i] == 0xA5);
  rtw__utf8_init(&st); /* in place */
  got = rtw__utf8_unmask_copy_at(level, &st, src, src, n, key, off);
  FUZZ_CHECK(got == want);
  FUZZ_CHECK(got == 0 || memcmp(src, s, got) == 0);
  memcpy(src, s, n); /* mask */
  memset(dst, 0xA5, n + 8);
  rtw__utf8_init(&st);
  got = rtw__utf8_copy_mask_at(level, &st, dst, src, n, key, off);
  FUZZ_CHECK(got == want);
  if (want == n)
    FUZZ_CHECK(rtw__utf8_at_boundary(&st) == !pend);
  for (i = 0; i < got; i++)
    FUZZ_CHECK(dst[i] == (uint8_t)(s[i] ^ key_at(key, off + i)));
  for (i = n; i < n + 8; i++)
    FUZZ_CHECK(dst[i] == 0xA5);
  free(mem);
}

/* Every variant against the reference (see the header comment). */
static void check_variants(const uint8_t *s, size_t n, const ref *r, uint8_t seed, int every)
{
  int level, top = rtw__utf8_level();
  size_t want = r->first_error == SIZE_MAX ? n : r->first_error, align = seed % 64u;
  uint32_t key = 0x9E3779B9u * (uint32_t)(seed + 1u);
  uint64_t off = seed % 7u;

  for (level = RTW__UTF8_PORTABLE; level <= top; level++) {
    rtw__utf8 st, sp;
    fuzz_rng rng;
    size_t m, o, k, pos, got;
    uint8_t *mem, *p;

    mem = malloc(n + 128);
    FUZZ_CHECK(mem != NULL);
    p = (uint8_t *)(((uintptr_t)mem + 63u) & ~(uintptr_t)63u) + align;
    if (n)
      memcpy(p, s, n);
    rtw__utf8_init(&st);
    FUZZ_CHECK(rtw__utf8_validate_at(level, &st, n ? p : NULL, n) == want);
    if (want == n)
      FUZZ_CHECK(rtw__utf8_at_boundary(&st) == !r->ends_pending);
    FUZZ_CHECK(rtw__utf8_valid_prefix_at(level, n ? p : NULL, n) == r->valid_prefix);
    /* every prefix length from n - 64: the same as the portable variant */
    for (m = n > 64 ? n - 64 : 0; m <= n; m++) {
      rtw__utf8_init(&st);
      rtw__utf8_init(&sp);
      got = rtw__utf8_validate_at(level, &st, m ? p : NULL, m);
      FUZZ_CHECK(got == rtw__utf8_validate_at(RTW__UTF8_PORTABLE, &sp, m ? p : NULL, m));
      FUZZ_CHECK(got < m || st.need == sp.need);
      FUZZ_CHECK(rtw__utf8_valid_prefix_at(level, m ? p : NULL, m) ==
                 rtw__utf8_valid_prefix_at(RTW__UTF8_PORTABLE, m ? p : NULL, m));
    }
    /* in pieces: validate and the fused unmask, the state carried */
    fuzz_rng_seed(&rng, seed);
    rtw__utf8_init(&st);
    rtw__utf8_init(&sp);
    pos = 0;
    got = SIZE_MAX;
    while (pos < n) {
      uint8_t *q;
      k = piece(&rng, every, n - pos);
      q = malloc(k); /* exact: ASan sees an over-read */
      FUZZ_CHECK(q != NULL);
      for (o = 0; o < k; o++)
        q[o] = (uint8_t)(s[pos + o] ^ key_at(key, off + pos + o));
      o = rtw__utf8_validate_at(level, &st, s + pos, k);
      FUZZ_CHECK(rtw__utf8_unmask_copy_at(level, &sp, q, q, k, key, off + pos) == o);
      FUZZ_CHECK(o == 0 || memcmp(q, s + pos, o) == 0);
      free(q);
      if (o < k) {
        got = pos + o;
        break;
      }
      pos += k;
    }
    FUZZ_CHECK(got == r->first_error);
    if (n > 0)
      check_fused(level, s, n, align, key, off, want, r->ends_pending);
    free(mem);
  }
}

/* The next piece length: 1 when seed is 0, else random in 1..64. */
static size_t piece(fuzz_rng *rng, int every_byte, size_t left)
{
  size_t k = every_byte ? 1 : 1 + fuzz_rng_below(rng, 64);
  return k < left ? k : left;
}

/* Code points of valid UTF-8 s[0..n) into cp; their number. */
static size_t cps_of(const uint8_t *s, size_t n, uint32_t *cp)
{
  size_t i = 0, k = 0, l, j;

  while (i < n) {
    l = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
    cp[k] = l == 1 ? s[i] : (uint32_t)(s[i] & (0x7F >> l));
    for (j = 1; j < l; j++)
      cp[k] = cp[k] << 6 | (uint32_t)(s[i + j] & 0x3F);
    k++;
    i += l;
  }
  return k;
}

static uint32_t unit(const uint8_t *u, size_t j, int w)
{
  uint16_t v2;
  uint32_t v4;

  if (w == 1)
    return u[j];
  if (w == 2) {
    memcpy(&v2, u + 2 * j, 2);
    return v2;
  }
  memcpy(&v4, u + 4 * j, 4);
  return v4;
}

static void check_units(const uint8_t *s, size_t n, const ref *r)
{
  int valid = r->first_error == SIZE_MAX && !r->ends_pending, width, level, rv;
  uint8_t *src = malloc(n + 1), *u = malloc(4 * n + 4), *back = malloc(n + 1);
  uint32_t *cp = malloc(4 * n + 4), mx = 0;
  size_t count, k = 0, j, len, nu, o;

  FUZZ_CHECK(src && u && back && cp);
  memcpy(src, s, n);
  if (valid) {
    k = cps_of(s, n, cp);
    for (j = 0; j < k; j++)
      mx = cp[j] > mx ? cp[j] : mx;
  }
  for (level = 0; level < 2; level++) {
    u[0] = 0x5A;
    rv = level ? rtw_utf8_to_units(src, n, u, 4 * n + 4, &count, &width)
                   : rtw__utf8_to_units_at(RTW__UTF8_PORTABLE, src, n, u, 4 * n + 4, &count,
                                           &width);
    if (!valid) {
      FUZZ_CHECK(rv == RTW_ERR_INVALID_UTF8 && count == 0 && width == 0 && u[0] == 0x5A);
      continue;
    }
    FUZZ_CHECK(rv == 0 && count == k);
    FUZZ_CHECK(width == (mx < 0x100 ? 1 : mx < 0x10000 ? 2 : 4));
    for (j = 0; j < k; j++)
      FUZZ_CHECK(unit(u, j, width) == cp[j]);
    FUZZ_CHECK(rtw_utf8_from_units(u, count, width, back, n, &len) == 0 && len == n);
    FUZZ_CHECK(n == 0 || memcmp(back, s, n) == 0);
  }
  if (valid) { /* UTF-32 back to UTF-8 */
    FUZZ_CHECK(rtw_utf8_from_units(cp, k, 4, back, n, &len) == 0 && len == n);
    FUZZ_CHECK(n == 0 || memcmp(back, s, n) == 0);
  }
  /* the input as UTF-16: valid iff every surrogate is a high one followed by a low one */
  nu = n / 2;
  valid = 1;
  o = 0;
  for (j = 0; j < nu; j++) {
    uint32_t v = unit(src, j, 2);
    if (v >= 0xDC00 && v <= 0xDFFF) {
      valid = 0;
      break;
    }
    if (v >= 0xD800 && v <= 0xDBFF) {
      uint32_t lo = j + 1 < nu ? unit(src, j + 1, 2) : 0;
      if (lo < 0xDC00 || lo > 0xDFFF) {
        valid = 0;
        break;
      }
      j++;
      o += 4;
    } else {
      o += v < 0x80 ? 1 : v < 0x800 ? 2 : 3;
    }
  }
  free(back);
  back = malloc(3 * nu + 1);
  FUZZ_CHECK(back != NULL);
  rv = rtw_utf8_from_units(src, nu, 2, back, 3 * nu, &len);
  FUZZ_CHECK(valid ? rv == 0 && len == o : rv == RTW_ERR_INVALID_UTF8);
  if (valid) {
    FUZZ_CHECK(fuzz_utf8_valid(back, len));
    FUZZ_CHECK(rtw_utf8_to_units(back, len, u, 4 * n + 4, &count, &width) == 0);
    FUZZ_CHECK(rtw_utf8_from_units(u, count, width, back, 3 * nu, &len) == 0 && len == o);
  }
  free(src);
  free(u);
  free(back);
  free(cp);
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

  check_variants(s, n, &r, seed, every);
  check_units(s, n, &r);
  free(r.out);
  return 0;
}
