/* SPDX-License-Identifier: MIT */
/* Line-terminator and non-ASCII bit masks over 64-byte blocks. See scan.h. */
#include <string.h>

#include "scan.h"

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#define ONES 0x0101010101010101ull
#define LOW7 0x7F7F7F7F7F7F7F7Full
#define HIGH 0x8080808080808080ull

/* 0x80 in each byte of x that is zero, exactly (no borrow false positives). */
static uint64_t zero_bytes(uint64_t x)
{
  uint64_t t = (x & LOW7) + LOW7;
  return ~(t | x | LOW7);
}

/* Gather the top bit of each byte (little-endian byte order) into 8 bits. */
static uint64_t gather(uint64_t m)
{
  return (((m & HIGH) >> 7) * 0x0102040810204080ull) >> 56;
}

static uint64_t load_le(const uint8_t *p)
{
  uint64_t w = 0;
  int i;

  for (i = 7; i >= 0; i--)
    w = (w << 8) | p[i];
  return w;
}

void rtw__scan_block_portable(const uint8_t *p, uint64_t *eol, uint64_t *high)
{
  uint64_t e = 0, h = 0;
  unsigned i;

  for (i = 0; i < 8; i++) {
    uint64_t w = load_le(p + 8 * i);
    uint64_t m = zero_bytes(w ^ (ONES * '\n')) | zero_bytes(w ^ (ONES * '\r'));
    e |= gather(m) << (8 * i);
    h |= gather(w) << (8 * i);
  }
  *eol = e;
  *high = h;
}

#if defined(__SSE2__)
static uint64_t mask16(__m128i v, __m128i lf, __m128i cr)
{
  __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr));
  return (uint64_t)(unsigned)_mm_movemask_epi8(m);
}

void rtw__scan_block_sse2(const uint8_t *p, uint64_t *eol, uint64_t *high)
{
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));

  *eol = mask16(a, lf, cr) | mask16(b, lf, cr) << 16 | mask16(c, lf, cr) << 32 |
         mask16(d, lf, cr) << 48;
  *high = (uint64_t)(unsigned)_mm_movemask_epi8(a) |
          (uint64_t)(unsigned)_mm_movemask_epi8(b) << 16 |
          (uint64_t)(unsigned)_mm_movemask_epi8(c) << 32 |
          (uint64_t)(unsigned)_mm_movemask_epi8(d) << 48;
}
#endif
