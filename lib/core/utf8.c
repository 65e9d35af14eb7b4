/* SPDX-License-Identifier: MIT */
/* Incremental UTF-8 validator and replacing decoder (WHATWG Encoding 8.1.1). See utf8.h. */
#include <string.h>

#include "utf8.h"

#define ASCII_MASK 0x8080808080808080ull

/* Start a sequence with lead byte b. Returns 0 when b is not a valid lead byte. */
static int lead(rtw__utf8 *st, uint8_t b)
{
  st->lo = 0x80;
  st->hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    st->need = 1;
    st->cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0)
      st->lo = 0xA0; /* no overlong 3-byte forms */
    if (b == 0xED)
      st->hi = 0x9F; /* no surrogates D800..DFFF */
    st->need = 2;
    st->cp = b & 0x0Fu;
  } else if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0)
      st->lo = 0x90; /* no overlong 4-byte forms */
    if (b == 0xF4)
      st->hi = 0x8F; /* nothing above U+10FFFF */
    st->need = 3;
    st->cp = b & 0x07u;
  } else {
    return 0;
  }
  return 1;
}

/* Take continuation byte b of the pending sequence. Returns 0 when b cannot continue it. */
static int cont(rtw__utf8 *st, uint8_t b)
{
  if (b < st->lo || b > st->hi)
    return 0;
  st->lo = 0x80;
  st->hi = 0xBF;
  st->cp = (st->cp << 6) | (b & 0x3Fu);
  st->need--;
  return 1;
}

static size_t ascii_run(const uint8_t *p, size_t n)
{
  size_t i = 0;
  uint64_t w;

  while (i + 8 <= n) {
    memcpy(&w, p + i, 8);
    if (w & ASCII_MASK)
      break;
    i += 8;
  }
  while (i < n && p[i] < 0x80)
    i++;
  return i;
}

/* ------------------------------------------------------------------ AVX2 bulk check
 *
 * Whole 32-byte blocks are checked at once with the nibble-lookup method of Keiser and Lemire
 * ("Validating UTF-8 in less than one instruction per byte", 2021): each byte is classified,
 * together with the byte before it, by three 16-entry tables whose entries are bit sets of
 * the errors a pair can show; AND-ing the three lookups leaves a bit only where the pair is
 * ill-formed. A continuation byte that must follow a 3- or 4-byte lead (two or three bytes
 * back) is checked separately. Any error sends the caller back to the scalar validator, which
 * finds the exact first bad byte, so the fast path only has to be right about "all valid". */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <immintrin.h>
#  define HAVE_AVX2_BULK 1

/* Error kinds of a (previous byte, byte) pair. */
#define E_TOO_SHORT 0x01u  /* a lead not followed by a continuation */
#define E_TOO_LONG 0x02u   /* a continuation after ASCII */
#define E_OVERLONG3 0x04u  /* E0 80..9F */
#define E_TOO_LARGE 0x08u  /* F4 90..BF, F5..FF */
#define E_SURROGATE 0x10u  /* ED A0..BF */
#define E_OVERLONG2 0x20u  /* C0, C1 */
#define E_LARGE1000 0x40u  /* F5..FF 80..8F */
#define E_OVERLONG4 0x40u  /* F0 80..8F */
#define E_TWO_CONTS 0x80u  /* a continuation after a continuation */
#define E_CARRY (E_TOO_SHORT | E_TOO_LONG | E_TWO_CONTS)

__attribute__((target("avx2"))) static __m256i table16(uint8_t t0, uint8_t t1, uint8_t t2,
    uint8_t t3, uint8_t t4, uint8_t t5, uint8_t t6, uint8_t t7, uint8_t t8, uint8_t t9,
    uint8_t t10, uint8_t t11, uint8_t t12, uint8_t t13, uint8_t t14, uint8_t t15)
{
  return _mm256_setr_epi8((char)t0, (char)t1, (char)t2, (char)t3, (char)t4, (char)t5,
                          (char)t6, (char)t7, (char)t8, (char)t9, (char)t10, (char)t11,
                          (char)t12, (char)t13, (char)t14, (char)t15, (char)t0, (char)t1,
                          (char)t2, (char)t3, (char)t4, (char)t5, (char)t6, (char)t7,
                          (char)t8, (char)t9, (char)t10, (char)t11, (char)t12, (char)t13,
                          (char)t14, (char)t15);
}

/* The error bits of each byte of `in`, given the block before it. */
__attribute__((target("avx2"))) static __m256i block_errors(__m256i in, __m256i prev_block)
{
  const __m256i lo4 = _mm256_set1_epi8(0x0F);
  /* prev_block's upper half next to in's lower half, to shift bytes in across lanes */
  __m256i across = _mm256_permute2x128_si256(prev_block, in, 0x21);
  __m256i prev1 = _mm256_alignr_epi8(in, across, 15);
  __m256i prev2 = _mm256_alignr_epi8(in, across, 14);
  __m256i prev3 = _mm256_alignr_epi8(in, across, 13);
  /* high nibble of the previous byte */
  __m256i t1 = table16(E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG,
                       E_TOO_LONG, E_TOO_LONG, E_TWO_CONTS, E_TWO_CONTS, E_TWO_CONTS,
                       E_TWO_CONTS, E_TOO_SHORT | E_OVERLONG2, E_TOO_SHORT,
                       E_TOO_SHORT | E_OVERLONG3 | E_SURROGATE,
                       E_TOO_SHORT | E_TOO_LARGE | E_LARGE1000 | E_OVERLONG4);
  /* low nibble of the previous byte */
  __m256i t2 = table16(E_CARRY | E_OVERLONG3 | E_OVERLONG2 | E_OVERLONG4, E_CARRY | E_OVERLONG2,
                       E_CARRY, E_CARRY, E_CARRY | E_TOO_LARGE,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000, E_CARRY | E_TOO_LARGE | E_LARGE1000,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000, E_CARRY | E_TOO_LARGE | E_LARGE1000,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000, E_CARRY | E_TOO_LARGE | E_LARGE1000,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000, E_CARRY | E_TOO_LARGE | E_LARGE1000,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000 | E_SURROGATE,
                       E_CARRY | E_TOO_LARGE | E_LARGE1000, E_CARRY | E_TOO_LARGE | E_LARGE1000);
  /* high nibble of the byte itself */
  __m256i t3 = table16(E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
                       E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
                       E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_OVERLONG3 | E_LARGE1000 |
                           E_OVERLONG4,
                       E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_OVERLONG3 | E_TOO_LARGE,
                       E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE,
                       E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE,
                       E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT);
  __m256i b1h = _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), lo4));
  __m256i b1l = _mm256_shuffle_epi8(t2, _mm256_and_si256(prev1, lo4));
  __m256i b2h = _mm256_shuffle_epi8(t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), lo4));
  __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
  /* a byte two after a 3/4-byte lead or three after a 4-byte lead must be a continuation:
   * there TWO_CONTS is expected, anywhere else it is an error */
  __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
  __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
  __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                  _mm256_set1_epi8((char)0x80));
  return _mm256_xor_si256(must, special);
}

/* Validate the whole 32-byte blocks of p[0..n), starting at a sequence boundary. Returns the
 * length of a prefix proven valid that ends at a sequence boundary, or 0 when a block holds
 * an error (the scalar validator then locates it). */
__attribute__((target("avx2"))) static size_t bulk_avx2(const uint8_t *p, size_t n)
{
  size_t m = n & ~(size_t)31, i, b;
  __m256i prev = _mm256_setzero_si256(), err = _mm256_setzero_si256();

  for (i = 0; i < m; i += 32) {
    __m256i in = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    err = _mm256_or_si256(err, block_errors(in, prev));
    prev = in;
  }
  if (!_mm256_testz_si256(err, err))
    return 0;
  /* A sequence may straddle m: end the proven prefix at its lead byte. */
  b = m;
  for (i = 1; i <= 3 && i <= m; i++) {
    uint8_t c = p[m - i];
    if (c < 0x80)
      break;
    if (c >= 0xC0) {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i < len)
        b = m - i;
      break;
    }
  }
  return b;
}

static size_t bulk_prefix(const uint8_t *p, size_t n)
{
  if (n < 64 || !__builtin_cpu_supports("avx2"))
    return 0;
  return bulk_avx2(p, n);
}
#else
static size_t bulk_prefix(const uint8_t *p, size_t n)
{
  (void)p, (void)n;
  return 0;
}
#endif

size_t rtw__utf8_validate(rtw__utf8 *st, const uint8_t *p, size_t n)
{
  size_t i = 0;

  if (n == 0)
    return 0; /* p may be NULL */

  for (; i < n && st->need != 0; i++) /* finish a sequence left from the previous call */
    if (!cont(st, p[i]))
      return i;
  i += bulk_prefix(p + i, n - i);

  while (i < n) {
    uint8_t b = p[i];
    if (st->need == 0) {
      if (b < 0x80) {
        i += ascii_run(p + i, n - i);
        continue;
      }
      if (!lead(st, b))
        return i;
    } else if (!cont(st, b)) {
      return i;
    }
    i++;
  }
  return n;
}

size_t rtw__utf8_valid_prefix(const uint8_t *p, size_t n)
{
  rtw__utf8 st;
  size_t i, last;

  if (n == 0)
    return 0; /* p may be NULL */
  i = bulk_prefix(p, n);
  last = i;

  rtw__utf8_init(&st);
  while (i < n) {
    uint8_t b = p[i];
    if (st.need == 0) {
      last = i;
      if (b < 0x80) {
        i += ascii_run(p + i, n - i);
        last = i;
        continue;
      }
      if (!lead(&st, b))
        return last;
    } else if (!cont(&st, b)) {
      return last;
    }
    i++;
  }
  return st.need == 0 ? n : last;
}

static size_t put_cp(uint8_t *out, uint32_t cp)
{
  if (cp < 0x80) {
    if (out)
      out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    if (out) {
      out[0] = (uint8_t)(0xC0 | (cp >> 6));
      out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return 2;
  }
  if (cp < 0x10000) {
    if (out) {
      out[0] = (uint8_t)(0xE0 | (cp >> 12));
      out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return 3;
  }
  if (out) {
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return 4;
}

#define FFFD 0xFFFDu

size_t rtw__utf8_decode(rtw__utf8 *st, const uint8_t *p, size_t n, uint8_t *out)
{
  size_t i = 0, o = 0;

  while (i < n) {
    uint8_t b = p[i];
    if (st->need == 0) {
      if (b < 0x80) {
        size_t run = ascii_run(p + i, n - i);
        if (out)
          memcpy(out + o, p + i, run);
        o += run;
        i += run;
        continue;
      }
      if (!lead(st, b))
        o += put_cp(out ? out + o : NULL, FFFD);
      i++;
      continue;
    }
    if (!cont(st, b)) {
      /* WHATWG: the pending sequence becomes U+FFFD and the byte is processed again
       * ("restore byte to ioQueue"), so it is not consumed here. */
      rtw__utf8_init(st);
      o += put_cp(out ? out + o : NULL, FFFD);
      continue;
    }
    if (st->need == 0) {
      o += put_cp(out ? out + o : NULL, st->cp);
      st->cp = 0;
    }
    i++;
  }
  return o;
}

size_t rtw__utf8_flush(rtw__utf8 *st, uint8_t *out)
{
  if (st->need == 0)
    return 0;
  rtw__utf8_init(st);
  return put_cp(out, FFFD);
}
