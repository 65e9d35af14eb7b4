/* SPDX-License-Identifier: MIT */
/* Every UTF-8 validator variant (portable, AVX2, AVX-512 where the CPU runs them) and the fused
 * unmask + copy + validate (and validate + mask + copy) primitives against a reference written
 * here from Unicode table 3-7, at every length 0..300 and alignment, with every error class at
 * every position around 64-byte block edges, split at every byte, with every key rotation and
 * in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* ------------------------------------------------------------------ reference */

/* Offset of the first byte that makes s[0..n) ill-formed (the byte that is not a valid lead,
 * or the byte that cannot continue the open sequence), or n; *pending says whether a sequence
 * is still open at n when there is no error. */
static size_t ref_check(const uint8_t *s, size_t n, int *pending)
{
  size_t i = 0, k, len;
  uint8_t b, lo, hi;

  *pending = 0;
  while (i < n) {
    b = s[i];
    lo = 0x80;
    hi = 0xBF;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF)
      len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
      len = 3;
    else if (b >= 0xF0 && b <= 0xF4)
      len = 4;
    else
      return i;
    if (b == 0xE0)
      lo = 0xA0;
    else if (b == 0xED)
      hi = 0x9F;
    else if (b == 0xF0)
      lo = 0x90;
    else if (b == 0xF4)
      hi = 0x8F;
    for (k = 1; k < len; k++) {
      if (i + k == n) {
        *pending = 1;
        return n;
      }
      if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xBF))
        return i + k;
    }
    i += len;
  }
  return n;
}

/* The longest prefix of complete well-formed sequences. */
static size_t ref_prefix(const uint8_t *s, size_t n)
{
  int pending;
  size_t e = ref_check(s, n, &pending), i = 0, last = 0;

  /* back from e to the start of the sequence it is in */
  while (i < e) {
    size_t len = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
    if (i + len > e)
      break;
    i += len;
    last = i;
  }
  return last;
}

static uint8_t key_at(uint32_t key_le, uint64_t q)
{
  return (uint8_t)(key_le >> (8u * (unsigned)(q % 4u)));
}

/* ------------------------------------------------------------------ inputs */

static uint64_t rng(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Valid text of exactly n bytes: kind 0 ASCII, 1 mostly ASCII, 2 mixed, 3 4-byte heavy. */
static void fill_valid(uint8_t *s, size_t n, int kind, uint64_t *seed)
{
  static const char *const seqs[] = {"\xC2\x80", "\xDF\xBF", "\xC3\xA9", "\xE0\xA0\x80",
                                     "\xE2\x82\xAC", "\xED\x9F\xBF", "\xEE\x80\x80",
                                     "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80",
                                     "\xF3\xBF\xBF\xBF", "\xF4\x8F\xBF\xBF"};
  size_t i = 0;

  while (i < n) {
    uint64_t r = rng(seed);
    int multi = kind == 1 ? r % 16 == 0 : kind == 2 ? r % 3 == 0 : kind == 3 ? r % 4 != 0 : 0;
    const char *q;
    size_t len;
    if (!multi) {
      s[i++] = (uint8_t)(0x20 + (r >> 8) % 0x5F);
      continue;
    }
    q = kind == 3 ? seqs[8 + (r >> 8) % 4] : seqs[(r >> 8) % 12];
    len = strlen(q);
    if (i + len > n) {
      s[i++] = 'x';
      continue;
    }
    memcpy(s + i, q, len);
    i += len;
  }
}

/* ------------------------------------------------------------------ checks */

#define CANARY 0xA5
#define MAXN 640
#define SLACK 64

static const uint32_t keys[] = {0x00000000u, 0x37FA213Du, 0x80808080u, 0xFFFFFFFFu};

/* All four operations at `level` on s[0..n) (whole, from a boundary) agree with the
 * reference. */
static void check_all(int level, const uint8_t *s, size_t n, uint32_t key, uint64_t off)
{
  static uint8_t src[MAXN + SLACK], dst[MAXN + SLACK];
  int pending;
  size_t want = ref_check(s, n, &pending), got, i;
  rtw__utf8 st;

  assert_true(n <= MAXN);
  rtw__utf8_init(&st);
  got = rtw__utf8_validate_at(level, &st, n ? s : NULL, n);
  if (got != want)
    fail_msg("validate level %d n %zu: got %zu want %zu", level, n, got, want);
  if (want == n)
    assert_int_equal(rtw__utf8_at_boundary(&st), !pending);
  got = rtw__utf8_valid_prefix_at(level, n ? s : NULL, n);
  if (got != ref_prefix(s, n))
    fail_msg("valid_prefix level %d n %zu: got %zu want %zu", level, n, got, ref_prefix(s, n));

  /* unmask: src is s masked at payload offset off */
  for (i = 0; i < n; i++)
    src[i] = (uint8_t)(s[i] ^ key_at(key, off + i));
  memset(dst, CANARY, sizeof dst);
  rtw__utf8_init(&st);
  got = rtw__utf8_unmask_copy_at(level, &st, dst, src, n, key, off);
  if (got != want)
    fail_msg("unmask_copy level %d n %zu off %u: got %zu want %zu", level, n,
             (unsigned)off, got, want);
  if (want == n)
    assert_int_equal(rtw__utf8_at_boundary(&st), !pending);
  for (i = 0; i < got; i++)
    assert_int_equal(dst[i], s[i]); /* the unmasked prefix */
  for (i = n; i < n + SLACK; i++)
    assert_int_equal(dst[i], CANARY); /* nothing written past n */
  /* in place */
  memcpy(dst, src, n);
  rtw__utf8_init(&st);
  got = rtw__utf8_unmask_copy_at(level, &st, dst, dst, n, key, off);
  assert_int_equal(got, want);
  for (i = 0; i < got; i++)
    assert_int_equal(dst[i], s[i]);

  /* mask: validate s, write it masked */
  memset(dst, CANARY, sizeof dst);
  rtw__utf8_init(&st);
  got = rtw__utf8_copy_mask_at(level, &st, dst, s, n, key, off);
  assert_int_equal(got, want);
  if (want == n)
    assert_int_equal(rtw__utf8_at_boundary(&st), !pending);
  for (i = 0; i < got; i++)
    assert_int_equal(dst[i], src[i]);
  for (i = n; i < n + SLACK; i++)
    assert_int_equal(dst[i], CANARY);
}

/* The same input in two calls, cut at `cut`: the state carries the open sequence. */
static void check_split(int level, const uint8_t *s, size_t n, size_t cut, uint32_t key,
                        uint64_t off)
{
  static uint8_t src[MAXN], dst[MAXN];
  int pending;
  size_t want = ref_check(s, n, &pending), got, i;
  rtw__utf8 st;

  rtw__utf8_init(&st);
  got = rtw__utf8_validate_at(level, &st, s, cut);
  if (got == cut)
    got = cut + rtw__utf8_validate_at(level, &st, s + cut, n - cut);
  if (got != want)
    fail_msg("split validate level %d n %zu cut %zu: got %zu want %zu", level, n, cut, got,
             want);
  if (want == n)
    assert_int_equal(rtw__utf8_at_boundary(&st), !pending);

  for (i = 0; i < n; i++)
    src[i] = (uint8_t)(s[i] ^ key_at(key, off + i));
  rtw__utf8_init(&st);
  got = rtw__utf8_unmask_copy_at(level, &st, dst, src, cut, key, off);
  if (got == cut)
    got = cut + rtw__utf8_unmask_copy_at(level, &st, dst + cut, src + cut, n - cut, key,
                                         off + cut);
  assert_int_equal(got, want);
  for (i = 0; i < got; i++)
    assert_int_equal(dst[i], s[i]);

  rtw__utf8_init(&st);
  got = rtw__utf8_copy_mask_at(level, &st, dst, s, cut, key, off);
  if (got == cut)
    got = cut + rtw__utf8_copy_mask_at(level, &st, dst + cut, s + cut, n - cut, key, off + cut);
  assert_int_equal(got, want);
  for (i = 0; i < got; i++)
    assert_int_equal(dst[i], src[i]);
}

/* ------------------------------------------------------------------ tests */

/* Every length 0..300 at every alignment 0..63, each kind of text, every key offset. */
static void test_lengths_alignments(void **state)
{
  int level = *(const int *)*state;
  static uint8_t buf[300 + 64];
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  size_t n, a;
  int kind;

  for (n = 0; n <= 300; n++)
    for (a = 0; a < 64; a++) {
      kind = (int)((n + a) % 4);
      fill_valid(buf + a, n, kind, &seed);
      check_all(level, buf + a, n, keys[(n + a) % 4], (uint64_t)a % 8u);
    }
}

/* Each error class at every position of a 520-byte input (two 256-byte steps, block edges at
 * every multiple of 64, a partial last block), on ASCII and on mixed text. */
static void test_error_classes(void **state)
{
  static const struct {
    const char *bytes;
    size_t len;
  } errs[] = {
      {"\xC0\x80", 2},         /* overlong 2-byte */
      {"\xC1\xBF", 2},         /* overlong 2-byte */
      {"\xE0\x80\x80", 3},     /* overlong 3-byte */
      {"\xE0\x9F\xBF", 3},     /* overlong 3-byte */
      {"\xF0\x80\x80\x80", 4}, /* overlong 4-byte */
      {"\xF0\x8F\xBF\xBF", 4}, /* overlong 4-byte */
      {"\xED\xA0\x80", 3},     /* surrogate D800 */
      {"\xED\xBF\xBF", 3},     /* surrogate DFFF */
      {"\xF4\x90\x80\x80", 4}, /* U+110000 */
      {"\xF5\x80\x80\x80", 4}, /* lead above F4 */
      {"\xFF", 1},             /* never a lead */
      {"\x80", 1},             /* stray continuation */
      {"\xBF\xBF", 2},         /* stray continuations */
      {"\xC2", 1},             /* truncated 2-byte (then text) */
      {"\xE2\x82", 2},         /* truncated 3-byte */
      {"\xF0\x9F\x98", 3},     /* truncated 4-byte */
      {"\xE2\x82\xAC\xAC", 4}, /* one continuation too many */
  };
  int level = *(const int *)*state;
  static uint8_t bg[2][520], s[520];
  uint64_t seed = 0x243F6A8885A308D3ull;
  size_t e, pos, n = sizeof s;
  int b;

  fill_valid(bg[0], n, 0, &seed);
  fill_valid(bg[1], n, 2, &seed);
  for (b = 0; b < 2; b++)
    for (e = 0; e < sizeof errs / sizeof errs[0]; e++)
      for (pos = 0; pos + errs[e].len <= n; pos++) {
        memcpy(s, bg[b], n);
        memcpy(s + pos, errs[e].bytes, errs[e].len);
        check_all(level, s, n, keys[pos % 4], pos % 5);
        /* the error at the very end: truncation there is a pending state, not an error */
        if (pos + errs[e].len == n || pos % 61 == 0)
          check_all(level, s, pos + errs[e].len, keys[1], 3);
      }
}

/* A state split at every byte, for errors and open sequences near block edges. */
static void test_splits(void **state)
{
  static const size_t where[] = {0, 1, 62, 63, 64, 65, 126, 127, 128, 190, 191, 192, 253,
                                 254, 255, 256, 257, 300};
  int level = *(const int *)*state;
  static uint8_t s[320];
  uint64_t seed = 0x0123456789ABCDEFull;
  size_t w, cut, n = sizeof s;

  for (w = 0; w < sizeof where / sizeof where[0]; w++) {
    size_t pos = where[w];
    int kind;
    for (kind = 0; kind < 4; kind++) {
      fill_valid(s, n, kind, &seed);
      if (kind == 1)
        memcpy(s + pos, "\xED\xA0\x80", 3); /* surrogate: an error */
      else if (kind == 2)
        memcpy(s + pos, "\xF0\x9F\x98\x80", 4); /* a 4-byte character across the cut */
      else if (kind == 3)
        s[pos] = 0x80; /* stray continuation */
      for (cut = 0; cut <= n; cut++)
        check_split(level, s, n, cut, keys[(pos + cut) % 4], cut % 4);
      /* ends with an open sequence, every cut */
      memcpy(s + n - 3, "\xF0\x9F\x98", 3);
      for (cut = 0; cut <= n; cut++)
        check_split(level, s, n, cut, keys[1], 1);
    }
  }
}

/* Large inputs through the 256-byte ASCII steps: an error or an open sequence right after
 * a long valid run, and every key offset. */
static void test_long_runs(void **state)
{
  int level = *(const int *)*state;
  static uint8_t s[MAXN];
  uint64_t seed = 0xDEADBEEFCAFEF00Dull, off;
  size_t pos;
  int kind;

  for (kind = 0; kind < 4; kind++)
    for (pos = 0; pos < MAXN; pos += 7) {
      fill_valid(s, MAXN, kind, &seed);
      memcpy(s + pos, "\xE2\x82", MAXN - pos >= 2 ? 2 : 1); /* truncated, then text */
      for (off = 0; off < 4; off++)
        check_all(level, s, MAXN, keys[1], off);
    }
}

/* The dispatching entry points (which take the small-message path under 64 bytes and the
 * widest variant above) agree with the reference, from a boundary and continuing an open
 * sequence. */
static void test_entry_points(void **state)
{
  static uint8_t s[304], src[304], dst[304];
  uint64_t seed = 0x5DEECE66Dull;
  size_t n, i, want, got;
  int pending, kind;
  rtw__utf8 st;
  (void)state;

  for (n = 0; n <= 300; n++)
    for (kind = 0; kind < 8; kind++) {
      fill_valid(s, n, kind % 4, &seed);
      if (kind >= 4 && n > 0)
        s[rng(&seed) % n] = (uint8_t)(0x80 + rng(&seed) % 0x80); /* likely an error */
      want = ref_check(s, n, &pending);
      rtw__utf8_init(&st);
      assert_int_equal(rtw__utf8_validate(&st, n ? s : NULL, n), want);
      if (want == n)
        assert_int_equal(rtw__utf8_at_boundary(&st), !pending);
      assert_int_equal(rtw__utf8_valid_prefix(n ? s : NULL, n), ref_prefix(s, n));
      for (i = 0; i < n; i++)
        src[i] = (uint8_t)(s[i] ^ key_at(keys[1], n + i));
      rtw__utf8_init(&st);
      got = rtw__utf8_unmask_copy(&st, dst, src, n, keys[1], n);
      assert_int_equal(got, want);
      if (want == n)
        assert_int_equal(rtw__utf8_at_boundary(&st), !pending);
      for (i = 0; i < got; i++)
        assert_int_equal(dst[i], s[i]);
      rtw__utf8_init(&st);
      got = rtw__utf8_copy_mask(&st, dst, s, n, keys[1], n);
      assert_int_equal(got, want);
      for (i = 0; i < got; i++)
        assert_int_equal(dst[i], src[i]);
      /* continuing an open sequence: "\xE2" then "\x82\xAC" + s */
      if (n >= 2 && want == n) {
        uint8_t e2 = 0xE2;
        rtw__utf8_init(&st);
        assert_int_equal(rtw__utf8_validate(&st, &e2, 1), 1);
        memmove(s + 2, s, n - 2);
        s[0] = 0x82;
        s[1] = 0xAC;
        want = ref_check(s + 2, n - 2, &pending) + 2;
        assert_int_equal(rtw__utf8_validate(&st, s, n), want);
        for (i = 0; i < n; i++)
          src[i] = (uint8_t)(s[i] ^ key_at(keys[1], 1 + i));
        rtw__utf8_init(&st);
        dst[0] = (uint8_t)(0xE2 ^ key_at(keys[1], 0));
        assert_int_equal(rtw__utf8_unmask_copy(&st, dst, dst, 1, keys[1], 0), 1);
        assert_int_equal(rtw__utf8_unmask_copy(&st, dst, src, n, keys[1], 1), want);
        for (i = 0; i < want; i++)
          assert_int_equal(dst[i], s[i]);
      }
    }
}

static const int lv_portable = RTW__UTF8_PORTABLE, lv_avx2 = RTW__UTF8_AVX2,
                 lv_avx512 = RTW__UTF8_AVX512;

#define LEVEL_TESTS(lv, tag)                                                                  \
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(test_lengths_alignments, (void *)&lv); \
  tests[n - 1].name = "lengths_alignments_" tag;                                              \
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(test_error_classes, (void *)&lv);  \
  tests[n - 1].name = "error_classes_" tag;                                                   \
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(test_splits, (void *)&lv);         \
  tests[n - 1].name = "splits_" tag;                                                          \
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(test_long_runs, (void *)&lv);      \
  tests[n - 1].name = "long_runs_" tag

int main(void)
{
  struct CMUnitTest tests[13];
  size_t n = 0;
  int level = rtw__utf8_level();

  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_entry_points);

  LEVEL_TESTS(lv_portable, "portable");
  /* A variant the CPU (or valgrind, which hides AVX-512) cannot run is not registered: it is
   * neither passed nor skipped-as-passed, and the lines below say so. */
  if (level >= RTW__UTF8_AVX2) {
    LEVEL_TESTS(lv_avx2, "avx2");
  } else {
    print_message("# AVX2 UTF-8 variants not tested: this CPU does not run them\n");
  }
  if (level >= RTW__UTF8_AVX512) {
    LEVEL_TESTS(lv_avx512, "avx512");
  } else {
    print_message("# AVX-512 UTF-8 variants not tested: this CPU does not run them\n");
  }
  return _cmocka_run_group_tests("utf8_simd", tests, n, NULL, NULL);
}
