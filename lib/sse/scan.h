/* SPDX-License-Identifier: MIT */
/* Block scanner for the event-stream parser: classifies 64 input bytes at a time into a bit
 * mask of line terminators (CR or LF, WHATWG HTML 9.2.5) and a bit mask of the bytes that are
 * not plain ASCII text: non-ASCII bytes (which need UTF-8 decoding, 9.2.6) and NUL (which makes
 * an `id` field be ignored, 9.2.6). A line with no bit in the second mask needs neither check.
 * Bit i stands for byte i of the block. A second form (rtw__scan_run_*) serves runs of data
 * lines: LFs alone, and CR with the marked bytes, the bytes such a run cannot take.
 *
 * Header-only so the parser's loop inlines it. A portable SWAR version is always compiled (and
 * tested against the SIMD one); SSE2, part of the x86-64 base instruction set, is used there. */
#ifndef RTW_SSE_SCAN_H
#define RTW_SSE_SCAN_H

#include <stdint.h>

#if defined(__SSE2__)
#  include <emmintrin.h>
#  define RTW__SCAN_HAVE_SSE2 1
#endif

#define RTW__SCAN_BLOCK 64u
#define RTW__SCAN_BASE_LEVEL 0

static inline uint64_t rtw__scan_zero_bytes(uint64_t x)
{
  /* 0x80 in each byte of x that is zero, exactly (no borrow false positives) */
  const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
  uint64_t t = (x & low7) + low7;
  return ~(t | x | low7);
}

static inline uint64_t rtw__scan_gather(uint64_t m)
{
  /* the top bit of each byte, little-endian byte order, into 8 bits */
  return (((m & 0x8080808080808080ull) >> 7) * 0x0102040810204080ull) >> 56;
}

static inline void rtw__scan_block_portable(const uint8_t *p, uint64_t *eol, uint64_t *high)
{
  const uint64_t ones = 0x0101010101010101ull;
  uint64_t e = 0, h = 0;
  unsigned i, j;

  for (i = 0; i < 8; i++) {
    uint64_t w = 0, m;
    for (j = 8; j-- > 0;)
      w = (w << 8) | p[8 * i + j];
    m = rtw__scan_zero_bytes(w ^ (ones * '\n')) | rtw__scan_zero_bytes(w ^ (ones * '\r'));
    e |= rtw__scan_gather(m) << (8 * i);
    h |= rtw__scan_gather(w | rtw__scan_zero_bytes(w)) << (8 * i);
  }
  *eol = e;
  *high = h;
}

/* The scanners' second form, for runs of data lines (parser.c, "Runs of data lines"): *lf
 * marks the LFs alone, and *bad the bytes a run cannot take, CR or marked (non-ASCII, NUL), so
 * a line ended by LF is checked with one mask test. */
static inline void rtw__scan_run_portable(const uint8_t *p, uint64_t *lf, uint64_t *bad)
{
  const uint64_t ones = 0x0101010101010101ull;
  uint64_t l = 0, b = 0;
  unsigned i, j;

  for (i = 0; i < 8; i++) {
    uint64_t w = 0, m;
    for (j = 8; j-- > 0;)
      w = (w << 8) | p[8 * i + j];
    l |= rtw__scan_gather(rtw__scan_zero_bytes(w ^ (ones * '\n'))) << (8 * i);
    m = rtw__scan_zero_bytes(w ^ (ones * '\r')) | w | rtw__scan_zero_bytes(w);
    b |= rtw__scan_gather(m) << (8 * i);
  }
  *lf = l;
  *bad = b;
}

#if defined(RTW__SCAN_HAVE_SSE2)
static inline void rtw__scan_block_sse2(const uint8_t *p, uint64_t *eol, uint64_t *high)
{
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i zero = _mm_setzero_si128();
  __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
  __m128i ea = _mm_or_si128(_mm_cmpeq_epi8(a, lf), _mm_cmpeq_epi8(a, cr));
  __m128i eb = _mm_or_si128(_mm_cmpeq_epi8(b, lf), _mm_cmpeq_epi8(b, cr));
  __m128i ec = _mm_or_si128(_mm_cmpeq_epi8(c, lf), _mm_cmpeq_epi8(c, cr));
  __m128i ed = _mm_or_si128(_mm_cmpeq_epi8(d, lf), _mm_cmpeq_epi8(d, cr));

  *eol = (uint64_t)(unsigned)_mm_movemask_epi8(ea) |
         (uint64_t)(unsigned)_mm_movemask_epi8(eb) << 16 |
         (uint64_t)(unsigned)_mm_movemask_epi8(ec) << 32 |
         (uint64_t)(unsigned)_mm_movemask_epi8(ed) << 48;
  a = _mm_or_si128(a, _mm_cmpeq_epi8(a, zero)); /* NUL: top bit set like a non-ASCII byte */
  b = _mm_or_si128(b, _mm_cmpeq_epi8(b, zero));
  c = _mm_or_si128(c, _mm_cmpeq_epi8(c, zero));
  d = _mm_or_si128(d, _mm_cmpeq_epi8(d, zero));
  *high = (uint64_t)(unsigned)_mm_movemask_epi8(a) |
          (uint64_t)(unsigned)_mm_movemask_epi8(b) << 16 |
          (uint64_t)(unsigned)_mm_movemask_epi8(c) << 32 |
          (uint64_t)(unsigned)_mm_movemask_epi8(d) << 48;
}

static inline void rtw__scan_run_sse2(const uint8_t *p, uint64_t *lf, uint64_t *bad)
{
  const __m128i nl = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i zero = _mm_setzero_si128();
  uint64_t l = 0, b = 0;
  unsigned i;

  for (i = 0; i < 4; i++) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
    __m128i m = _mm_or_si128(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)), _mm_cmpeq_epi8(v, cr));
    l |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) << (16 * i);
    b |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * i);
  }
  *lf = l;
  *bad = b;
}
#  define rtw__scan_block rtw__scan_block_sse2
#  define rtw__scan_run rtw__scan_run_sse2
#else
#  define rtw__scan_block rtw__scan_block_portable
#  define rtw__scan_run rtw__scan_run_portable
#endif

/* AVX2 and AVX-512BW versions, compiled with target attributes and chosen at run time (see
 * rtw__scan_best()), so the library still runs on any x86-64. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <immintrin.h>
#  define RTW__SCAN_HAVE_X86_DISPATCH 1
/* with BMI1 (every AVX2 CPU has it; checked anyway): the line loops' lowest-bit steps
 * (blsr, blsmsk, tzcnt) are one instruction each */
#  define RTW__TARGET_AVX2 __attribute__((target("avx2,bmi")))
#  define RTW__TARGET_AVX512 __attribute__((target("avx512f,avx512bw,bmi")))

RTW__TARGET_AVX2 static inline void rtw__scan_block_avx2(const uint8_t *p, uint64_t *eol,
                                                         uint64_t *high)
{
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i cr = _mm256_set1_epi8('\r');
  __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
  __m256i ea = _mm256_or_si256(_mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr));
  __m256i eb = _mm256_or_si256(_mm256_cmpeq_epi8(b, lf), _mm256_cmpeq_epi8(b, cr));

  *eol = (uint64_t)(uint32_t)_mm256_movemask_epi8(ea) |
         (uint64_t)(uint32_t)_mm256_movemask_epi8(eb) << 32;
  a = _mm256_or_si256(a, _mm256_cmpeq_epi8(a, _mm256_setzero_si256())); /* NUL, as above */
  b = _mm256_or_si256(b, _mm256_cmpeq_epi8(b, _mm256_setzero_si256()));
  *high = (uint64_t)(uint32_t)_mm256_movemask_epi8(a) |
          (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
}

RTW__TARGET_AVX512 static inline void rtw__scan_block_avx512(const uint8_t *p, uint64_t *eol,
                                                             uint64_t *high)
{
  __m512i v = _mm512_loadu_si512((const void *)p);

  *eol = (uint64_t)(_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) |
                    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')));
  *high = (uint64_t)(_mm512_movepi8_mask(v) | _mm512_testn_epi8_mask(v, v));
}

RTW__TARGET_AVX2 static inline void rtw__scan_run_avx2(const uint8_t *p, uint64_t *lf,
                                                       uint64_t *bad)
{
  const __m256i nl = _mm256_set1_epi8('\n');
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i zero = _mm256_setzero_si256();
  __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
  __m256i ma = _mm256_or_si256(_mm256_or_si256(a, _mm256_cmpeq_epi8(a, zero)),
                               _mm256_cmpeq_epi8(a, cr));
  __m256i mb = _mm256_or_si256(_mm256_or_si256(b, _mm256_cmpeq_epi8(b, zero)),
                               _mm256_cmpeq_epi8(b, cr));

  *lf = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, nl)) |
        (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, nl)) << 32;
  *bad = (uint64_t)(uint32_t)_mm256_movemask_epi8(ma) |
         (uint64_t)(uint32_t)_mm256_movemask_epi8(mb) << 32;
}

RTW__TARGET_AVX512 static inline void rtw__scan_run_avx512(const uint8_t *p, uint64_t *lf,
                                                           uint64_t *bad)
{
  __m512i v = _mm512_loadu_si512((const void *)p);

  *lf = (uint64_t)_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
  *bad = (uint64_t)(_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')) |
                    _mm512_movepi8_mask(v) | _mm512_testn_epi8_mask(v, v));
}

/* 1 when the 256 bytes at p hold no CR, LF, NUL or byte >= 0x80: four blocks whose masks
 * would all be empty, skipped at once inside a long plain line. x ^ LF, x ^ CR and x itself
 * are zero exactly at an LF, a CR and a NUL, so their byte-wise minimum has a zero there. */
RTW__TARGET_AVX512 static inline int rtw__scan_quiet4_avx512(const uint8_t *p)
{
  const __m512i nl = _mm512_set1_epi8('\n'), cr = _mm512_set1_epi8('\r');
  __m512i a = _mm512_loadu_si512((const void *)p);
  __m512i b = _mm512_loadu_si512((const void *)(p + 64));
  __m512i c = _mm512_loadu_si512((const void *)(p + 128));
  __m512i d = _mm512_loadu_si512((const void *)(p + 192));
  __m512i ta = _mm512_min_epu8(_mm512_min_epu8(_mm512_xor_si512(a, nl), _mm512_xor_si512(a, cr)), a);
  __m512i tb = _mm512_min_epu8(_mm512_min_epu8(_mm512_xor_si512(b, nl), _mm512_xor_si512(b, cr)), b);
  __m512i tc = _mm512_min_epu8(_mm512_min_epu8(_mm512_xor_si512(c, nl), _mm512_xor_si512(c, cr)), c);
  __m512i td = _mm512_min_epu8(_mm512_min_epu8(_mm512_xor_si512(d, nl), _mm512_xor_si512(d, cr)), d);
  __m512i m = _mm512_min_epu8(_mm512_min_epu8(ta, tb), _mm512_min_epu8(tc, td));
  __m512i o = _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d));

  return (_mm512_testn_epi8_mask(m, m) | _mm512_movepi8_mask(o)) == 0;
}

/* Copy the 256 bytes at s to d; 1 when none of them is a CR, LF, NUL or byte >= 0x80 (the
 * test is coarser: as signed bytes those are all below 14, with the C0 controls 1 to 12, so a
 * tab also gives 0, and the caller then classifies the blocks exactly). For long data lines
 * (scan_lines.inc, PLAIN_NAME()): the scan and the copy in one pass. */
RTW__TARGET_AVX512 static inline int rtw__scan_copy4_avx512(char *d, const uint8_t *s)
{
  const __m512i lim = _mm512_set1_epi8(14);
  __m512i a = _mm512_loadu_si512((const void *)s);
  __m512i b = _mm512_loadu_si512((const void *)(s + 64));
  __m512i c = _mm512_loadu_si512((const void *)(s + 128));
  __m512i e = _mm512_loadu_si512((const void *)(s + 192));
  __m512i m = _mm512_min_epi8(_mm512_min_epi8(a, b), _mm512_min_epi8(c, e));

  _mm512_storeu_si512((void *)d, a);
  _mm512_storeu_si512((void *)(d + 64), b);
  _mm512_storeu_si512((void *)(d + 128), c);
  _mm512_storeu_si512((void *)(d + 192), e);
  return _mm512_cmplt_epi8_mask(m, lim) == 0;
}

/* rtw__scan_copy4_avx512() with 32-byte vectors. */
RTW__TARGET_AVX2 static inline int rtw__scan_copy4_avx2(char *d, const uint8_t *s)
{
  const __m256i lim = _mm256_set1_epi8(14);
  __m256i v[8], m;
  unsigned i;

  for (i = 0; i < 8; i++) {
    v[i] = _mm256_loadu_si256((const __m256i *)(const void *)(s + 32 * i));
    _mm256_storeu_si256((__m256i *)(void *)(d + 32 * i), v[i]);
  }
  m = _mm256_min_epi8(_mm256_min_epi8(_mm256_min_epi8(v[0], v[1]), _mm256_min_epi8(v[2], v[3])),
                      _mm256_min_epi8(_mm256_min_epi8(v[4], v[5]), _mm256_min_epi8(v[6], v[7])));
  return _mm256_movemask_epi8(_mm256_cmpgt_epi8(lim, m)) == 0;
}

enum { RTW__SCAN_BASE = RTW__SCAN_BASE_LEVEL, RTW__SCAN_AVX2, RTW__SCAN_AVX512 };

/* The widest scanner this CPU runs. */
static inline int rtw__scan_best(void)
{
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("bmi"))
    return RTW__SCAN_BASE;
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f"))
    return RTW__SCAN_AVX512;
  if (__builtin_cpu_supports("avx2"))
    return RTW__SCAN_AVX2;
  return RTW__SCAN_BASE;
}
#endif

#endif /* RTW_SSE_SCAN_H */
