/* SPDX-License-Identifier: MIT */
/* rtw_utf8_to_units() and rtw_utf8_from_units() (rtweb/common.h) against a reference
 * decoder and encoder written here from RFC 3629 section 3: every code point class and the
 * boundaries U+007F/0080/00FF/0100/07FF/0800/D7FF/E000/FFFF/10000/10FFFF, the width chosen,
 * sizing calls and short buffers, every class of invalid input at every position around the
 * 16/32/64-byte steps of the fast paths, and pseudo-random texts of every length 0..300 and
 * of random lengths up to 70000, whole, with both kernels (AVX-512 VBMI2 where the CPU has
 * it, and without), into buffers of exactly the documented size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtweb/common.h"
#include "utf8.h"

/* ------------------------------------------------------------------ reference */

/* UTF-8 of code point cp (valid: not a surrogate, at most U+10FFFF) at out; its length. */
static size_t ref_put(uint8_t *out, uint32_t cp)
{
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* The code points of VALID UTF-8 s[0..n) into cps; their number. Byte by byte, no tricks. */
static size_t ref_decode(const uint8_t *s, size_t n, uint32_t *cps)
{
  size_t i = 0, k = 0;

  while (i < n) {
    uint8_t b = s[i];
    if (b < 0x80) {
      cps[k++] = b;
      i += 1;
    } else if (b < 0xE0) {
      cps[k++] = (uint32_t)(b & 0x1F) << 6 | (uint32_t)(s[i + 1] & 0x3F);
      i += 2;
    } else if (b < 0xF0) {
      cps[k++] = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 |
                 (uint32_t)(s[i + 2] & 0x3F);
      i += 3;
    } else {
      cps[k++] = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                 (uint32_t)(s[i + 2] & 0x3F) << 6 | (uint32_t)(s[i + 3] & 0x3F);
      i += 4;
    }
  }
  return k;
}

static int ref_width(const uint32_t *cps, size_t k)
{
  uint32_t mx = 0;
  size_t i;

  for (i = 0; i < k; i++)
    mx = cps[i] > mx ? cps[i] : mx;
  return mx < 0x100 ? 1 : mx < 0x10000 ? 2 : 4;
}

static uint32_t unit_at(const uint8_t *d, size_t j, int width)
{
  if (width == 1)
    return d[j];
  if (width == 2) {
    uint16_t v;
    memcpy(&v, d + 2 * j, 2);
    return v;
  } else {
    uint32_t v;
    memcpy(&v, d + 4 * j, 4);
    return v;
  }
}

static void put_unit_at(uint8_t *d, size_t j, uint32_t u, int width)
{
  if (width == 1) {
    d[j] = (uint8_t)u;
  } else if (width == 2) {
    uint16_t v = (uint16_t)u;
    memcpy(d + 2 * j, &v, 2);
  } else {
    memcpy(d + 4 * j, &u, 4);
  }
}

/* Units of code points cps[0..k) at width w (UTF-16 pairs for w == 2 above U+FFFF); count. */
static size_t ref_units(const uint32_t *cps, size_t k, int w, uint8_t *d)
{
  size_t i, j = 0;

  for (i = 0; i < k; i++) {
    uint32_t c = cps[i];
    if (w == 2 && c >= 0x10000) {
      put_unit_at(d, j++, 0xD800 + ((c - 0x10000) >> 10), 2);
      put_unit_at(d, j++, 0xDC00 + ((c - 0x10000) & 0x3FF), 2);
    } else {
      put_unit_at(d, j++, c, w);
    }
  }
  return j;
}

/* ------------------------------------------------------------------ buffers, generator */

#define MAXN 70000
static uint8_t text[MAXN + 8];
static uint32_t cps[MAXN + 8];
static uint8_t units[4 * MAXN + 64];
static uint8_t back[4 * MAXN + 64];
static uint8_t wide_units[4 * MAXN + 64];

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* A code point of class c: 0 ASCII, 1 U+0080..00FF, 2 U+0100..07FF, 3 U+0800..FFFF (no
 * surrogates), 4 U+10000..10FFFF. */
static uint32_t cp_of_class(int c)
{
  uint32_t v;

  switch (c) {
  case 0:
    return rnd() % 0x80;
  case 1:
    return 0x80 + rnd() % 0x80;
  case 2:
    return 0x100 + rnd() % 0x700;
  case 3:
    do
      v = 0x800 + rnd() % 0xF800;
    while (v >= 0xD800 && v <= 0xDFFF);
    return v;
  default:
    return 0x10000 + rnd() % 0x100000;
  }
}

/* Up to n bytes of valid UTF-8 into text: mostly ASCII runs with characters of the classes
 * allowed by mask (bit c) sprinkled at a density of 1 in `every`. Returns the length. */
static size_t gen(size_t n, unsigned mask, unsigned every)
{
  size_t o = 0;
  uint8_t tmp[4];

  for (;;) {
    int c = 0;
    uint32_t cp;
    size_t l;
    if (every && rnd() % every == 0) {
      do
        c = (int)(rnd() % 5);
      while (!(mask & (1u << c)));
    }
    cp = cp_of_class(c);
    l = ref_put(tmp, cp);
    if (o + l > n)
      break;
    memcpy(text + o, tmp, l);
    o += l;
  }
  return o;
}

/* Decode text[0..n) with rtw_utf8_to_units (or the level variant) and check it against the
 * reference, then encode back at the chosen width and at every wider one. */
static void check_text(size_t n, int level)
{
  size_t k = ref_decode(text, n, cps), count = 99, len = 99, ku;
  int w = ref_width(cps, k), width = 0, rv, w2;

  rv = level < 0 ? rtw_utf8_to_units(text, n, units, sizeof units, &count, &width)
                 : rtw__utf8_to_units_at(level, text, n, units, sizeof units, &count, &width);
  assert_int_equal(rv, 0);
  assert_int_equal(count, k);
  assert_int_equal(width, n ? w : 1);
  ku = ref_units(cps, k, width, wide_units);
  assert_int_equal(ku, k);
  if (k)
    assert_memory_equal(units, wide_units, k * (size_t)width);
  /* into exactly count * width bytes (ASan sees a write past them), the public call */
  if (k) {
    uint8_t *exact = malloc(k * (size_t)width);
    assert_non_null(exact);
    assert_int_equal(rtw_utf8_to_units(text, n, exact, k * (size_t)width, &count, &width), 0);
    assert_memory_equal(exact, wide_units, k * (size_t)width);
    free(exact);
  }
  /* sizing only */
  count = 99;
  assert_int_equal(rtw_utf8_to_units(text, n, NULL, 0, &count, &width), 0);
  assert_int_equal(count, k);
  /* back to UTF-8 from the chosen width and from UTF-16 / UTF-32 */
  for (w2 = width; w2 <= 4; w2 *= 2) {
    ku = ref_units(cps, k, w2, wide_units);
    assert_int_equal(rtw_utf8_from_units(wide_units, ku, w2, back, sizeof back, &len), 0);
    assert_int_equal(len, n);
    if (n)
      assert_memory_equal(back, text, n);
    len = 99;
    assert_int_equal(rtw_utf8_from_units(wide_units, ku, w2, NULL, 0, &len), 0);
    assert_int_equal(len, n);
    if (n) { /* exact room: the sizing pass then the writing pass */
      memset(back, 0, n + 1);
      assert_int_equal(rtw_utf8_from_units(wide_units, ku, w2, back, n, &len), 0);
      assert_memory_equal(back, text, n);
      assert_int_equal(back[n], 0);
      assert_int_equal(rtw_utf8_from_units(wide_units, ku, w2, back, n - 1, &len),
                       RTW_ERR_BUFFER_TOO_SMALL);
      assert_int_equal(len, n);
    }
  }
}

/* ------------------------------------------------------------------ tests */

static const uint32_t edges[] = {0x00,   0x41,   0x7F,    0x80,    0xFF,     0x100,
                                 0x7FF,  0x800,  0xD7FF,  0xE000,  0xFFFD,   0xFFFF,
                                 0x10000, 0x1F600, 0xFFFFF, 0x100000, 0x10FFFF};

static void test_boundaries(void **state)
{
  size_t e, pad, n, count;
  int width;
  (void)state;
  for (e = 0; e < sizeof edges / sizeof edges[0]; e++) {
    uint32_t cp = edges[e];
    int w = cp < 0x100 ? 1 : cp < 0x10000 ? 2 : 4;
    /* alone, then after ASCII padding that puts it at every offset of a 64-byte step and
     * past the 34 bytes the VBMI2 kernel needs */
    for (pad = 0; pad < 140; pad += (pad < 70 ? 1 : 13)) {
      memset(text, 'a', pad);
      n = pad + ref_put(text + pad, cp);
      memset(text + n, 'z', 40);
      n += pad % 41;
      assert_int_equal(rtw_utf8_to_units(text, n, units, sizeof units, &count, &width), 0);
      assert_int_equal(width, w);
      assert_int_equal(count, n - (pad + ref_put(back, cp)) + pad + 1);
      assert_int_equal(unit_at(units, pad, width), cp);
      if (pad)
        assert_int_equal(unit_at(units, pad - 1, width), 'a');
      check_text(n, -1);
      check_text(n, RTW__UTF8_PORTABLE);
    }
  }
}

static void test_width_choice(void **state)
{
  size_t count;
  int width;
  (void)state;
  assert_int_equal(rtw_utf8_to_units("", 0, NULL, 0, &count, &width), 0);
  assert_int_equal(count, 0);
  assert_int_equal(width, 1);
  assert_int_equal(rtw_utf8_to_units(NULL, 0, NULL, 0, &count, &width), 0);
  assert_int_equal(rtw_utf8_to_units("abc", 3, NULL, 0, &count, &width), 0);
  assert_int_equal(width, 1);
  assert_int_equal(count, 3);
  /* U+00FF is the widest 1-byte unit, U+0100 the first 2-byte one (lead C4) */
  assert_int_equal(rtw_utf8_to_units("a\xc3\xbf", 3, NULL, 0, &count, &width), 0);
  assert_int_equal(width, 1);
  assert_int_equal(count, 2);
  assert_int_equal(rtw_utf8_to_units("a\xc4\x80", 3, NULL, 0, &count, &width), 0);
  assert_int_equal(width, 2);
  assert_int_equal(rtw_utf8_to_units("\xef\xbf\xbf", 3, NULL, 0, &count, &width), 0);
  assert_int_equal(width, 2);
  assert_int_equal(count, 1);
  assert_int_equal(rtw_utf8_to_units("\xf0\x90\x80\x80", 4, NULL, 0, &count, &width), 0);
  assert_int_equal(width, 4);
  assert_int_equal(count, 1);
}

static void test_sizes_and_arguments(void **state)
{
  uint8_t small[16];
  size_t count, len;
  int width;
  const char *s = "caf\xc3\xa9 \xe2\x82\xac"; /* 6 code points, width 2 */
  (void)state;
  memset(small, 0xAA, sizeof small);
  assert_int_equal(rtw_utf8_to_units(s, 9, small, 11, &count, &width),
                   RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(count, 6);
  assert_int_equal(width, 2);
  assert_int_equal(small[0], 0xAA); /* nothing written */
  assert_int_equal(rtw_utf8_to_units(s, 9, NULL, 12, &count, &width),
                   RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(rtw_utf8_to_units(s, 9, small, 12, &count, &width), 0);
  assert_int_equal(unit_at(small, 3, 2), 0xE9);
  assert_int_equal(unit_at(small, 4, 2), ' ');
  assert_int_equal(unit_at(small, 5, 2), 0x20AC);
  assert_int_equal(small[12], 0xAA); /* nothing past count * width */
  assert_int_equal(rtw_utf8_to_units(s, 9, small, 12, NULL, &width),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_to_units(s, 9, small, 12, &count, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_to_units(NULL, 1, small, 12, &count, &width),
                   RTW_ERR_INVALID_ARGUMENT);
  /* from_units */
  assert_int_equal(rtw_utf8_from_units(small, 6, 3, NULL, 0, &len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_from_units(small, 6, 0, NULL, 0, &len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_from_units(small, 6, 2, NULL, 0, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_from_units(NULL, 1, 2, NULL, 0, &len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_utf8_from_units(NULL, 0, 2, NULL, 0, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(rtw_utf8_from_units(small, 6, 2, back, 8, &len), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(len, 9);
  assert_int_equal(rtw_utf8_from_units(small, 6, 2, NULL, 5, &len), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(rtw_utf8_from_units(small, 6, 2, back, 9, &len), 0);
  assert_memory_equal(back, s, 9);
}

/* Every Latin-1 value as width 1, every BMP value as width 2 (surrogates refused alone), a
 * sample of the rest as width 4. */
static void test_from_units_all(void **state)
{
  uint8_t u[8], exp[4];
  uint32_t v;
  size_t len, l;
  (void)state;
  for (v = 0; v < 0x100; v++) {
    u[0] = (uint8_t)v;
    assert_int_equal(rtw_utf8_from_units(u, 1, 1, back, 4, &len), 0);
    l = ref_put(exp, v);
    assert_int_equal(len, l);
    assert_memory_equal(back, exp, l);
  }
  for (v = 0; v < 0x10000; v++) {
    int rv;
    put_unit_at(u, 0, v, 2);
    rv = rtw_utf8_from_units(u, 1, 2, back, 4, &len);
    if (v >= 0xD800 && v <= 0xDFFF) {
      assert_int_equal(rv, RTW_ERR_INVALID_UTF8);
      assert_int_equal(len, 0);
      put_unit_at(u, 0, v, 4);
      assert_int_equal(rtw_utf8_from_units(u, 1, 4, back, 4, &len), RTW_ERR_INVALID_UTF8);
      continue;
    }
    assert_int_equal(rv, 0);
    l = ref_put(exp, v);
    assert_int_equal(len, l);
    assert_memory_equal(back, exp, l);
  }
  for (v = 0x10000; v <= 0x10FFFF; v += 0x3FF) {
    put_unit_at(u, 0, v, 4);
    assert_int_equal(rtw_utf8_from_units(u, 1, 4, back, 4, &len), 0);
    l = ref_put(exp, v);
    assert_int_equal(len, 4);
    assert_memory_equal(back, exp, l);
  }
  put_unit_at(u, 0, 0x110000, 4);
  assert_int_equal(rtw_utf8_from_units(u, 1, 4, back, 4, &len), RTW_ERR_INVALID_UTF8);
  put_unit_at(u, 0, 0xFFFFFFFFu, 4);
  assert_int_equal(rtw_utf8_from_units(u, 1, 4, back, 4, &len), RTW_ERR_INVALID_UTF8);
}

/* Lone surrogates in UTF-16 at every position of an otherwise ASCII text, in and out of the
 * 8-unit steps: never encoded, whether the buffer takes the one-pass or the sizing path. */
static void test_lone_surrogates(void **state)
{
  static const uint32_t bad[][2] = {{0xD800, 'a'}, {0xDBFF, 0xD800}, {0xDC00, 'a'},
                                    {0xDFFF, 0xDC00}, {0xD83D, 0}};
  size_t pos, b, n = 40, len;
  (void)state;
  for (b = 0; b < sizeof bad / sizeof bad[0]; b++) {
    for (pos = 0; pos < n; pos++) {
      size_t j;
      size_t cnt = bad[b][1] ? n : pos + 1; /* {0xD83D, 0}: a high surrogate that ends it */
      for (j = 0; j < n; j++)
        put_unit_at(wide_units, j, 'x', 2);
      put_unit_at(wide_units, pos, bad[b][0], 2);
      if (bad[b][1] && pos + 1 < n)
        put_unit_at(wide_units, pos + 1, bad[b][1], 2);
      assert_int_equal(rtw_utf8_from_units(wide_units, cnt, 2, back, sizeof back, &len),
                       RTW_ERR_INVALID_UTF8);
      assert_int_equal(rtw_utf8_from_units(wide_units, cnt, 2, NULL, 0, &len),
                       RTW_ERR_INVALID_UTF8);
      assert_int_equal(rtw_utf8_from_units(wide_units, cnt, 2, back, 4, &len),
                       RTW_ERR_INVALID_UTF8);
    }
  }
  /* a valid pair across every position works */
  for (pos = 0; pos + 1 < n; pos++) {
    size_t j;
    for (j = 0; j < n; j++)
      put_unit_at(wide_units, j, 'x', 2);
    put_unit_at(wide_units, pos, 0xD83D, 2);
    put_unit_at(wide_units, pos + 1, 0xDE00, 2);
    assert_int_equal(rtw_utf8_from_units(wide_units, n, 2, back, sizeof back, &len), 0);
    assert_int_equal(len, n - 2 + 4);
    assert_memory_equal(back + pos, "\xf0\x9f\x98\x80", 4);
  }
}

/* Every class of ill-formed input (RFC 3629 section 3, Unicode table 3-7) at every position
 * 0..140 of ASCII and of non-ASCII text: RTW_ERR_INVALID_UTF8, count and width 0, dst
 * untouched. */
static void test_invalid(void **state)
{
  static const struct {
    const char *b;
    size_t n;
  } bad[] = {
      {"\x80", 1},             /* lone continuation */
      {"\xbf", 1},             /* lone continuation */
      {"\xc0\x80", 2},         /* overlong 2-byte */
      {"\xc1\xbf", 2},         /* overlong 2-byte */
      {"\xe0\x80\x80", 3},     /* overlong 3-byte */
      {"\xe0\x9f\xbf", 3},     /* overlong 3-byte */
      {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
      {"\xed\xbf\xbf", 3},     /* surrogate U+DFFF */
      {"\xf0\x80\x80\x80", 4}, /* overlong 4-byte */
      {"\xf0\x8f\xbf\xbf", 4}, /* overlong 4-byte */
      {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
      {"\xf5\x80\x80\x80", 4}, /* F5 never appears */
      {"\xff", 1},             /* FF never appears */
      {"\xc3", 1},             /* lead without continuation (then ASCII) */
      {"\xe2\x82", 2},         /* 3-byte sequence cut short */
      {"\xf0\x9f\x98", 3},     /* 4-byte sequence cut short */
      {"\xc3\xa9\xa9", 3},     /* one continuation too many */
  };
  size_t b, pos, count, n;
  int width, bg, level;
  (void)state;
  for (bg = 0; bg < 2; bg++) {
    for (b = 0; b < sizeof bad / sizeof bad[0]; b++) {
      for (pos = 0; pos <= 140; pos++) {
        for (n = 0; n < pos;) { /* background: ASCII, or ASCII with euro signs */
          if (bg && n % 9 == 4 && n + 3 <= pos) {
            memcpy(text + n, "\xe2\x82\xac", 3);
            n += 3;
          } else {
            text[n++] = 'a';
          }
        }
        memcpy(text + n, bad[b].b, bad[b].n);
        n += bad[b].n;
        memset(text + n, 'z', 60);
        for (level = -1; level <= RTW__UTF8_PORTABLE; level++) {
          size_t total;
          for (total = n; total <= n + 60; total += 60) {
            int rv;
            units[0] = 0x5A;
            count = 99;
            width = 99;
            /* a sequence cut short at the very end is invalid too */
            rv = level < 0 ? rtw_utf8_to_units(text, total, units, sizeof units, &count,
                                                &width)
                           : rtw__utf8_to_units_at(level, text, total, units, sizeof units,
                                                   &count, &width);
            assert_int_equal(rv, RTW_ERR_INVALID_UTF8);
            assert_int_equal(count, 0);
            assert_int_equal(width, 0);
            assert_int_equal(units[0], 0x5A);
            assert_int_equal(rtw_utf8_to_units(text, total, NULL, 0, &count, &width),
                             RTW_ERR_INVALID_UTF8);
          }
        }
      }
    }
  }
}

/* The AVX-512 sizing + validation pass (measure_valid512 in utf8.c) checks four 64-byte
 * blocks per step from byte 64 on, skips runs of four ASCII blocks and takes the last
 * partial block through a masked load: every class of ill-formed input at every position
 * 0..600 (past the first 4-block step at 64..320 and into the next), in ASCII (runs of
 * ASCII blocks skipped, a lead left open before them), dense Latin-1 and dense 3-byte text,
 * ending right after the error or 1, 70 or 300 bytes later (four ASCII blocks after it);
 * both kernels. */
static void test_invalid_every_block_offset(void **state)
{
  static const struct {
    const char *b;
    size_t n;
  } bad[] = {
      {"\x80", 1},         {"\xc0\x80", 2},         {"\xe0\x9f\xbf", 3},
      {"\xed\xa0\x80", 3}, {"\xf0\x8f\xbf\xbf", 4}, {"\xf4\x90\x80\x80", 4},
      {"\xff", 1},         {"\xc3", 1},             {"\xe2\x82", 2},
      {"\xf0\x9f\x98", 3}, {"\xc3\xa9\xa9", 3},
  };
  static const size_t tails[] = {0, 1, 70, 300};
  size_t b, pos, count, n, t;
  int width, bg, level;
  (void)state;
  for (bg = 0; bg < 3; bg++) {
    for (b = 0; b < sizeof bad / sizeof bad[0]; b++) {
      for (pos = 0; pos <= 600; pos++) {
        for (n = 0; n < pos;) { /* ASCII, "\u00e9" (2 bytes), "\u20ac" (3 bytes) */
          if (bg == 1 && n + 2 <= pos) {
            memcpy(text + n, "\xc3\xa9", 2);
            n += 2;
          } else if (bg == 2 && n + 3 <= pos) {
            memcpy(text + n, "\xe2\x82\xac", 3);
            n += 3;
          } else {
            text[n++] = 'a';
          }
        }
        memcpy(text + n, bad[b].b, bad[b].n);
        n += bad[b].n;
        memset(text + n, 'z', 300);
        for (t = 0; t < sizeof tails / sizeof tails[0]; t++) {
          for (level = RTW__UTF8_PORTABLE; level <= RTW__UTF8_AVX512; level += 2) {
            int rv = rtw__utf8_to_units_at(level, text, n + tails[t], units, sizeof units,
                                           &count, &width);
            assert_int_equal(rv, RTW_ERR_INVALID_UTF8);
            assert_int_equal(count, 0);
            assert_int_equal(width, 0);
          }
        }
      }
    }
  }
}

/* One 2-, 3- or 4-byte sequence at every offset 0..330 of ASCII text (so across every
 * block edge of the 64-byte decoders and of the 4-block steps of the sizing pass), and
 * dense text of every length 250..700 of each width: the reference result from both
 * kernels. */
static void test_block_edges(void **state)
{
  static const char *seq[] = {"\xc3\xa9", "\xc2\x80", "\xe2\x82\xac", "\xef\xbf\xbf",
                              "\xdf\xbf", "\xf0\x9f\x98\x80"};
  static const unsigned masks[] = {0x03, 0x02, 0x0D, 0x08, 0x1F};
  size_t q, pos, n, l, m;
  (void)state;
  for (q = 0; q < sizeof seq / sizeof seq[0]; q++) {
    l = strlen(seq[q]);
    for (pos = 0; pos <= 330; pos++) {
      for (n = 400; n <= 401; n++) {
        memset(text, 'a', n);
        memcpy(text + pos, seq[q], l);
        check_text(n, RTW__UTF8_AVX512);
        check_text(n, RTW__UTF8_PORTABLE);
      }
    }
  }
  for (m = 0; m < sizeof masks / sizeof masks[0]; m++) {
    for (n = 250; n <= 700; n++) {
      size_t len = gen(n, masks[m], 1);
      check_text(len, RTW__UTF8_AVX512);
      check_text(len, RTW__UTF8_PORTABLE);
    }
  }
}

/* Every length 0..300 of texts of each class mix and density, then random lengths up to
 * 70000, with and without the VBMI2 kernel. */
static void test_random_texts(void **state)
{
  static const unsigned masks[] = {0x01, 0x03, 0x05, 0x09, 0x11, 0x1F, 0x1E, 0x0C, 0x1C};
  static const unsigned every[] = {0, 2, 9, 61};
  size_t m, e, n, r;
  (void)state;
  for (m = 0; m < sizeof masks / sizeof masks[0]; m++) {
    for (e = 0; e < sizeof every / sizeof every[0]; e++) {
      for (n = 0; n <= 300; n++) {
        size_t len = gen(n, masks[m], every[e]);
        check_text(len, -1);
        check_text(len, RTW__UTF8_PORTABLE);
      }
    }
  }
  for (r = 0; r < 40; r++) {
    size_t len = gen(rnd() % MAXN, masks[rnd() % 9], every[rnd() % 4]);
    check_text(len, -1);
    check_text(len, RTW__UTF8_PORTABLE);
  }
}

/* Input that does not start at an aligned address, and output at every offset (no
 * alignment needed). */
static void test_alignment(void **state)
{
  static uint8_t in[400], out[2000];
  size_t a, o, n, count, k;
  int width;
  (void)state;
  n = gen(300, 0x1F, 5);
  k = ref_decode(text, n, cps);
  for (a = 0; a < 8; a++) {
    memcpy(in + a, text, n);
    for (o = 0; o < 4; o++) {
      assert_int_equal(rtw_utf8_to_units(in + a, n, out + o, sizeof out - o, &count, &width),
                       0);
      assert_int_equal(count, k);
      assert_int_equal(ref_units(cps, k, width, wide_units), k);
      assert_memory_equal(out + o, wide_units, k * (size_t)width);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boundaries),      cmocka_unit_test(test_width_choice),
      cmocka_unit_test(test_sizes_and_arguments), cmocka_unit_test(test_from_units_all),
      cmocka_unit_test(test_lone_surrogates), cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_random_texts),    cmocka_unit_test(test_alignment),
      cmocka_unit_test(test_invalid_every_block_offset), cmocka_unit_test(test_block_edges),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
