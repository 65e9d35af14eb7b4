/* SPDX-License-Identifier: MIT */
/* Incremental UTF-8 validator and replacing decoder (WHATWG Encoding 8.1.1). See utf8.h. */
#include <string.h>

#include "internal.h"
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

/* ------------------------------------------------------------------ short-text DFA
 *
 * rtw__utf8_dfa (see utf8.h), from one statement of RFC 3629 section 4 (the table at the top
 * of utf8.h): DFA_LEADS maps each range of first bytes to the state after it, DFA_CONTS gives
 * each pending state the range of bytes that may come next and the state after one. A byte
 * in no DFA_LEADS range (80..C1, F5..FF: continuations, overlong C0/C1, above U+10FFFF) and a
 * byte outside a pending state's range lead to BAD, which stays BAD. The macros expand to a
 * constant expression per row: the table is built by the compiler, nothing at run time. */
#define DFA_LEADS(X, b)                                                                        \
  X(b, 0x00, 0x7F, RTW__UTF8_DFA_OK) /* ASCII */                                              \
  X(b, 0xC2, 0xDF, RTW__UTF8_DFA_C1)                                                          \
  X(b, 0xE0, 0xE0, RTW__UTF8_DFA_E0)                                                          \
  X(b, 0xE1, 0xEC, RTW__UTF8_DFA_C2)                                                          \
  X(b, 0xED, 0xED, RTW__UTF8_DFA_ED)                                                          \
  X(b, 0xEE, 0xEF, RTW__UTF8_DFA_C2)                                                          \
  X(b, 0xF0, 0xF0, RTW__UTF8_DFA_F0)                                                          \
  X(b, 0xF1, 0xF3, RTW__UTF8_DFA_C3)                                                          \
  X(b, 0xF4, 0xF4, RTW__UTF8_DFA_F4)
#define DFA_CONTS(X, b)                                                                        \
  X(b, RTW__UTF8_DFA_C1, 0x80, 0xBF, RTW__UTF8_DFA_OK)                                        \
  X(b, RTW__UTF8_DFA_C2, 0x80, 0xBF, RTW__UTF8_DFA_C1)                                        \
  X(b, RTW__UTF8_DFA_C3, 0x80, 0xBF, RTW__UTF8_DFA_C2)                                        \
  X(b, RTW__UTF8_DFA_E0, 0xA0, 0xBF, RTW__UTF8_DFA_C1)                                        \
  X(b, RTW__UTF8_DFA_ED, 0x80, 0x9F, RTW__UTF8_DFA_C1)                                        \
  X(b, RTW__UTF8_DFA_F0, 0x90, 0xBF, RTW__UTF8_DFA_C2)                                        \
  X(b, RTW__UTF8_DFA_F4, 0x80, 0x8F, RTW__UTF8_DFA_C2)
#define DFA_IN(b, lo, hi) ((b) >= (lo) && (b) <= (hi))
/* one link of the chain `in range 1 ? state 1 : in range 2 ? state 2 : ... : BAD` */
#define DFA_LEAD(b, lo, hi, to) DFA_IN(b, lo, hi) ? (uint64_t)(to):
/* one term of `| (state from takes b ? next : BAD) << from` */
#define DFA_CONT(b, from, lo, hi, to)                                                          \
  | (uint64_t)(DFA_IN(b, lo, hi) ? (to) : RTW__UTF8_DFA_BAD) << (from)
#define DFA_ROW(b)                                                                             \
  ((DFA_LEADS(DFA_LEAD, b)(uint64_t)RTW__UTF8_DFA_BAD) << RTW__UTF8_DFA_OK |                  \
   (uint64_t)RTW__UTF8_DFA_BAD << RTW__UTF8_DFA_BAD DFA_CONTS(DFA_CONT, b))
#define DFA_R4(b) DFA_ROW(b), DFA_ROW((b) + 1), DFA_ROW((b) + 2), DFA_ROW((b) + 3)
#define DFA_R16(b) DFA_R4(b), DFA_R4((b) + 4), DFA_R4((b) + 8), DFA_R4((b) + 12)
#define DFA_R64(b) DFA_R16(b), DFA_R16((b) + 16), DFA_R16((b) + 32), DFA_R16((b) + 48)

const uint64_t rtw__utf8_dfa[256] = {DFA_R64(0x00), DFA_R64(0x40), DFA_R64(0x80),
                                     DFA_R64(0xC0)};

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

/* Key byte for payload position q (RFC 6455 5.3: octet q MOD 4 of the key; key_le holds
 * key[0] in bits 0-7, as in lib/ws/mask.h). */
static uint8_t key_byte(uint32_t key_le, uint64_t q)
{
  return (uint8_t)(key_le >> (8u * (unsigned)(q & 3u)));
}

/* key_le rotated so that its low byte masks payload position `offset` (lib/ws/mask.h's
 * rtw__ws_mask_rotate(), repeated here so lib/core does not depend on lib/ws). */
static uint32_t key_rotate(uint32_t key_le, uint64_t offset)
{
  unsigned r = (unsigned)(offset & 3u) * 8u;

  return (key_le >> r) | (key_le << ((32u - r) & 31u));
}

/* XOR n bytes of src with the key word k (already rotated to src[0]) into dst. */
static void xor_key(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k)
{
  uint64_t k64 = (uint64_t)k << 32 | k, w;
  size_t i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i + 8 <= n; i += 8) {
    memcpy(&w, src + i, 8);
    w ^= k64;
    memcpy(dst + i, &w, 8);
  }
#else
  (void)k64, (void)w;
#endif
  for (; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ (uint8_t)(k >> (8u * (i & 3u))));
}

/* The scalar validator (the reference every SIMD variant defers to for the exact offset). */
static size_t validate_scalar(rtw__utf8 *st, const uint8_t *p, size_t n)
{
  size_t i = 0;

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

/* Modes of the bulk loops: validate only, unmask into dst and validate the unmasked bytes,
 * validate src and write it masked into dst. */
#define MODE_VALIDATE 0
#define MODE_UNMASK 1
#define MODE_MASK 2

/* End a proven prefix p[0..m) (no error flagged before m) at a sequence boundary: a
 * sequence may straddle m, so back off to its lead byte. */
static size_t backoff(const uint8_t *p, size_t m)
{
  size_t i;

  for (i = 1; i <= 3 && i <= m; i++) {
    uint8_t c = p[m - i];
    if (c < 0x80)
      break;
    if (c >= 0xC0) {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return i < len ? m - i : m;
    }
  }
  return m;
}

/* ------------------------------------------------------------------ SIMD bulk checks
 *
 * Whole blocks are checked at once with the nibble-lookup method of Keiser and Lemire
 * ("Validating UTF-8 in less than one instruction per byte", 2021): each byte is classified,
 * together with the byte before it, by three 16-entry tables whose entries are bit sets of
 * the errors a pair can show; AND-ing the three lookups leaves a bit only where the pair is
 * ill-formed. A continuation byte that must follow a 3- or 4-byte lead (two or three bytes
 * back) is checked separately. An error is always flagged at a byte no earlier than the lead
 * of the sequence it breaks and no later than the byte that breaks it, so a block without
 * flags proves everything before its end valid up to a sequence still open there. Any flag
 * sends the caller back to the scalar validator from the last proven boundary, which finds
 * the exact first bad byte: the fast path only has to be right about "no error here".
 *
 * Runs of blocks with no byte >= 0x80 (after ASCII) skip the classification: four blocks per
 * step are loaded (unmasked and stored for the fused modes), OR-ed and tested. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <immintrin.h>
#  define HAVE_X86_BULK 1
#  define TARGET_AVX2 __attribute__((target("avx2")))
#  define TARGET_AVX512 __attribute__((target("avx512f,avx512bw")))
#  define TARGET_VBMI2 __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))
/* the kernels are instantiated once per mode with `mode` a constant */
#  define INLINE inline __attribute__((always_inline))

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
#define E_LARGE (E_CARRY | E_TOO_LARGE | E_LARGE1000)
#define E_CONT_ALL (E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS)

/* Indexed by the high nibble of the previous byte. */
static const uint8_t tab_prev_hi[16] = {
    E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG,
    E_TOO_LONG, E_TWO_CONTS, E_TWO_CONTS, E_TWO_CONTS, E_TWO_CONTS,
    E_TOO_SHORT | E_OVERLONG2, E_TOO_SHORT, E_TOO_SHORT | E_OVERLONG3 | E_SURROGATE,
    E_TOO_SHORT | E_TOO_LARGE | E_LARGE1000 | E_OVERLONG4};
/* Indexed by the low nibble of the previous byte. */
static const uint8_t tab_prev_lo[16] = {
    E_CARRY | E_OVERLONG3 | E_OVERLONG2 | E_OVERLONG4, E_CARRY | E_OVERLONG2, E_CARRY, E_CARRY,
    E_CARRY | E_TOO_LARGE, E_LARGE, E_LARGE, E_LARGE, E_LARGE, E_LARGE, E_LARGE, E_LARGE,
    E_LARGE, E_LARGE | E_SURROGATE, E_LARGE, E_LARGE};
/* Indexed by the high nibble of the byte itself. */
static const uint8_t tab_cur_hi[16] = {
    E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
    E_TOO_SHORT, E_TOO_SHORT, E_CONT_ALL | E_OVERLONG3 | E_LARGE1000 | E_OVERLONG4,
    E_CONT_ALL | E_OVERLONG3 | E_TOO_LARGE, E_CONT_ALL | E_SURROGATE | E_TOO_LARGE,
    E_CONT_ALL | E_SURROGATE | E_TOO_LARGE, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
    E_TOO_SHORT};

/* ---- AVX2: 32-byte blocks */

typedef struct tabs256 {
  __m256i t1, t2, t3;
} tabs256;

TARGET_AVX2 static inline __m256i tab256(const uint8_t t[16])
{
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)t));
}

/* The error bits of each byte of `in`, given the block before it. */
TARGET_AVX2 static INLINE __m256i errors256(const tabs256 *t, __m256i in, __m256i prev_block)
{
  const __m256i lo4 = _mm256_set1_epi8(0x0F);
  /* prev_block's upper half next to in's lower half, to shift bytes in across lanes */
  __m256i across = _mm256_permute2x128_si256(prev_block, in, 0x21);
  __m256i prev1 = _mm256_alignr_epi8(in, across, 15);
  __m256i prev2 = _mm256_alignr_epi8(in, across, 14);
  __m256i prev3 = _mm256_alignr_epi8(in, across, 13);
  __m256i b1h = _mm256_shuffle_epi8(t->t1, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), lo4));
  __m256i b1l = _mm256_shuffle_epi8(t->t2, _mm256_and_si256(prev1, lo4));
  __m256i b2h = _mm256_shuffle_epi8(t->t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), lo4));
  __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
  /* a byte two after a 3/4-byte lead or three after a 4-byte lead must be a continuation:
   * there TWO_CONTS is expected, anywhere else it is an error */
  __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
  __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
  __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                  _mm256_set1_epi8((char)0x80));
  return _mm256_xor_si256(must, special);
}

/* Load block i (32 bytes) in the given mode: the bytes to validate; dst written when the
 * mode writes. */
TARGET_AVX2 static INLINE __m256i load256(int mode, uint8_t *dst, const uint8_t *src, size_t i,
                                          __m256i key)
{
  __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
  if (mode == MODE_VALIDATE)
    return x;
  _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(x, key));
  return mode == MODE_UNMASK ? _mm256_xor_si256(x, key) : x;
}

/* The AVX2 bulk pass over whole 32-byte blocks of src[0..n), starting at a sequence
 * boundary. Returns the length of a prefix proven valid that ends at a boundary; *written is
 * how many bytes of dst hold their (un)masked value (>= the return value). */
TARGET_AVX2 static INLINE size_t bulk256(int mode, uint8_t *dst, const uint8_t *src, size_t n,
                                         uint32_t key_le, size_t *written)
{
  const uint8_t *v = mode == MODE_UNMASK ? dst : src; /* where the validated bytes are */
  size_t m = n & ~(size_t)31, i = 0;
  __m256i prev = _mm256_setzero_si256(), key = _mm256_set1_epi32((int)key_le);
  tabs256 t;
  int open = 0; /* prev may end inside a sequence */

  t.t1 = tab256(tab_prev_hi);
  t.t2 = tab256(tab_prev_lo);
  t.t3 = tab256(tab_cur_hi);
  for (; i + 128 <= m; i += 128) {
    __m256i a = load256(mode, dst, src, i, key), b = load256(mode, dst, src, i + 32, key);
    __m256i c = load256(mode, dst, src, i + 64, key), d = load256(mode, dst, src, i + 96, key);
    __m256i any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)), e;
    if (!open && _mm256_movemask_epi8(any) == 0) {
      prev = d;
      continue;
    }
    e = _mm256_or_si256(_mm256_or_si256(errors256(&t, a, prev), errors256(&t, b, a)),
                        _mm256_or_si256(errors256(&t, c, b), errors256(&t, d, c)));
    if (!_mm256_testz_si256(e, e)) {
      *written = mode == MODE_VALIDATE ? 0 : i + 128;
      return backoff(v, i);
    }
    open = (uint32_t)_mm256_movemask_epi8(d) >> 29 != 0;
    prev = d;
  }
  for (; i < m; i += 32) {
    __m256i a = load256(mode, dst, src, i, key), e = errors256(&t, a, prev);
    if (!_mm256_testz_si256(e, e)) {
      *written = mode == MODE_VALIDATE ? 0 : i + 32;
      return backoff(v, i);
    }
    prev = a;
  }
  *written = mode == MODE_VALIDATE ? 0 : m;
  return backoff(v, m);
}

TARGET_AVX2 static size_t bulk_avx2(int mode, uint8_t *dst, const uint8_t *src, size_t n,
                                    uint32_t key_le, size_t *written)
{
  /* one copy of the loop per mode, the mode tests folded away */
  if (mode == MODE_UNMASK)
    return bulk256(MODE_UNMASK, dst, src, n, key_le, written);
  if (mode == MODE_MASK)
    return bulk256(MODE_MASK, dst, src, n, key_le, written);
  return bulk256(MODE_VALIDATE, dst, src, n, key_le, written);
}

/* ---- AVX-512 (F + BW): 64-byte blocks, the last partial block through masked loads */

typedef struct tabs512 {
  __m512i t1, t2, t3, idx;
} tabs512;

TARGET_AVX512 static inline __m512i tab512(const uint8_t t[16])
{
  return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

TARGET_AVX512 static INLINE __m512i errors512(const tabs512 *t, __m512i in, __m512i prev_block)
{
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  /* 128-bit lanes [prev.3, in.0, in.1, in.2]: alignr within each lane then shifts bytes in
   * from the lane before, across the whole 64 bytes */
  __m512i across = _mm512_permutex2var_epi64(prev_block, t->idx, in);
  __m512i prev1 = _mm512_alignr_epi8(in, across, 15);
  __m512i prev2 = _mm512_alignr_epi8(in, across, 14);
  __m512i prev3 = _mm512_alignr_epi8(in, across, 13);
  __m512i b1h = _mm512_shuffle_epi8(t->t1, _mm512_and_si512(_mm512_srli_epi16(prev1, 4), lo4));
  __m512i b1l = _mm512_shuffle_epi8(t->t2, _mm512_and_si512(prev1, lo4));
  __m512i b2h = _mm512_shuffle_epi8(t->t3, _mm512_and_si512(_mm512_srli_epi16(in, 4), lo4));
  __m512i special = _mm512_and_si512(_mm512_and_si512(b1h, b1l), b2h);
  __m512i third = _mm512_subs_epu8(prev2, _mm512_set1_epi8((char)(0xE0 - 0x80)));
  __m512i fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8((char)(0xF0 - 0x80)));
  __m512i must = _mm512_and_si512(_mm512_or_si512(third, fourth),
                                  _mm512_set1_epi8((char)0x80));
  return _mm512_xor_si512(must, special);
}

/* The same from the three earlier views of the block loaded from memory (p1 = the block one
 * byte back, and so on), not shifted out of registers: three loads instead of a cross-lane
 * permute and three alignr, so the shuffle ports only do the three table lookups (issue 15,
 * r6: validation 1.07-1.11x as fast on bench_ws's mixed text, measured interleaved with the
 * register version). MODE_VALIDATE only: in the fused modes the extra loads beside the
 * stores made the loop slower (0.6-0.8x), and MODE_UNMASK checks bytes it has just stored. */
TARGET_AVX512 static INLINE __m512i errors512_ld(const tabs512 *t, __m512i in, __m512i p1,
                                                 __m512i p2, __m512i p3)
{
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  __m512i b1h = _mm512_shuffle_epi8(t->t1, _mm512_and_si512(_mm512_srli_epi16(p1, 4), lo4));
  __m512i b1l = _mm512_shuffle_epi8(t->t2, _mm512_and_si512(p1, lo4));
  __m512i b2h = _mm512_shuffle_epi8(t->t3, _mm512_and_si512(_mm512_srli_epi16(in, 4), lo4));
  __m512i third = _mm512_subs_epu8(p2, _mm512_set1_epi8((char)(0xE0 - 0x80)));
  __m512i fourth = _mm512_subs_epu8(p3, _mm512_set1_epi8((char)(0xF0 - 0x80)));
  /* must = (third | fourth) & 0x80; special = b1h & b1l & b2h; result must ^ special */
  __m512i must = _mm512_ternarylogic_epi32(third, fourth, _mm512_set1_epi8((char)0x80), 0xA8);
  return _mm512_xor_si512(must, _mm512_ternarylogic_epi32(b1h, b1l, b2h, 0x80));
}

/* errors512_ld() of block i of v (i >= 3: the bytes before it are readable). */
TARGET_AVX512 static INLINE __m512i errors512_at(const tabs512 *t, const uint8_t *v, size_t i,
                                                 __m512i in)
{
  return errors512_ld(t, in, _mm512_loadu_si512((const void *)(v + i - 1)),
                      _mm512_loadu_si512((const void *)(v + i - 2)),
                      _mm512_loadu_si512((const void *)(v + i - 3)));
}

TARGET_AVX512 static INLINE __m512i load512(int mode, uint8_t *dst, const uint8_t *src,
                                            size_t i, __m512i key)
{
  __m512i x = _mm512_loadu_si512((const void *)(src + i));
  if (mode == MODE_VALIDATE)
    return x;
  _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(x, key));
  return mode == MODE_UNMASK ? _mm512_xor_si512(x, key) : x;
}

TARGET_AVX512 static INLINE size_t bulk512(int mode, uint8_t *dst, const uint8_t *src, size_t n,
                                           uint32_t key_le, size_t *written)
{
  const uint8_t *v = mode == MODE_UNMASK ? dst : src;
  size_t m = n & ~(size_t)63, i = 0, r = n - m;
  __m512i prev = _mm512_setzero_si512(), key = _mm512_set1_epi32((int)key_le);
  tabs512 t;
  int open = 0;

  t.t1 = tab512(tab_prev_hi);
  t.t2 = tab512(tab_prev_lo);
  t.t3 = tab512(tab_cur_hi);
  t.idx = _mm512_set_epi64(13, 12, 11, 10, 9, 8, 7, 6);
  if (mode == MODE_VALIDATE && m >= 64) {
    /* the first block from registers (nothing before src is readable), then the rest with
     * the earlier views loaded (errors512_at) */
    __m512i a = load512(mode, dst, src, 0, key), e = errors512(&t, a, prev);
    if (_mm512_test_epi8_mask(e, e) != 0) {
      *written = mode == MODE_VALIDATE ? 0 : 64;
      return backoff(v, 0);
    }
    open = (_mm512_movepi8_mask(a) >> 61) != 0;
    prev = a;
    i = 64;
  }
  for (; i + 256 <= m; i += 256) {
    __m512i a = load512(mode, dst, src, i, key), b = load512(mode, dst, src, i + 64, key);
    __m512i c = load512(mode, dst, src, i + 128, key), d = load512(mode, dst, src, i + 192, key);
    __m512i e;
    /* bit 7 of any byte of a | b | c | d */
    if (!open && _mm512_movepi8_mask(_mm512_ternarylogic_epi32(
                     a, b, _mm512_or_si512(c, d), 0xFE)) == 0) {
      prev = d;
      continue;
    }
    if (mode == MODE_VALIDATE)
      e = _mm512_ternarylogic_epi32(
          errors512_at(&t, src, i, a), errors512_at(&t, src, i + 64, b),
          _mm512_or_si512(errors512_at(&t, src, i + 128, c), errors512_at(&t, src, i + 192, d)),
          0xFE);
    else
      e = _mm512_ternarylogic_epi32(errors512(&t, a, prev), errors512(&t, b, a),
                                    _mm512_or_si512(errors512(&t, c, b), errors512(&t, d, c)),
                                    0xFE);
    if (_mm512_test_epi8_mask(e, e) != 0) {
      *written = mode == MODE_VALIDATE ? 0 : i + 256;
      return backoff(v, i);
    }
    open = (_mm512_movepi8_mask(d) >> 61) != 0;
    prev = d;
  }
  for (; i < m; i += 64) {
    __m512i a = load512(mode, dst, src, i, key), e = errors512(&t, a, prev);
    if (_mm512_test_epi8_mask(e, e) != 0) {
      *written = mode == MODE_VALIDATE ? 0 : i + 64;
      return backoff(v, i);
    }
    prev = a;
  }
  if (r != 0) {
    /* The last r bytes, zero-filled (fault suppression: nothing past n is touched). Flags
     * past n only say that a sequence is still open at n, which backoff() handles. */
    __mmask64 live = (__mmask64)(~0ull >> (64u - r));
    __m512i x = _mm512_maskz_loadu_epi8(live, (const void *)(src + m)), e;
    if (mode != MODE_VALIDATE) {
      _mm512_mask_storeu_epi8((void *)(dst + m), live, _mm512_xor_si512(x, key));
      if (mode == MODE_UNMASK)
        x = _mm512_maskz_mov_epi8(live, _mm512_xor_si512(x, key));
    }
    e = errors512(&t, x, prev);
    if ((_mm512_test_epi8_mask(e, e) & live) != 0) {
      *written = mode == MODE_VALIDATE ? 0 : n;
      return backoff(v, m);
    }
    m = n;
  }
  *written = mode == MODE_VALIDATE ? 0 : n;
  return backoff(v, m);
}

TARGET_AVX512 static size_t bulk_avx512(int mode, uint8_t *dst, const uint8_t *src, size_t n,
                                        uint32_t key_le, size_t *written)
{
  if (mode == MODE_UNMASK)
    return bulk512(MODE_UNMASK, dst, src, n, key_le, written);
  if (mode == MODE_MASK)
    return bulk512(MODE_MASK, dst, src, n, key_le, written);
  return bulk512(MODE_VALIDATE, dst, src, n, key_le, written);
}

/* The widest variant this CPU runs. __builtin_cpu_supports() reads what libgcc/compiler-rt
 * filled in at start-up; rtw__utf8_level() calls __builtin_cpu_init() first for callers that
 * may run before constructors. */
static int cpu_level(void)
{
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
    return RTW__UTF8_AVX512;
  if (__builtin_cpu_supports("avx2"))
    return RTW__UTF8_AVX2;
  return RTW__UTF8_PORTABLE;
}

int rtw__utf8_level(void)
{
  __builtin_cpu_init();
  return cpu_level();
}

/* Bulk pass at `level` (bytes of src from a sequence boundary); see bulk256(). */
static size_t bulk(int level, int mode, uint8_t *dst, const uint8_t *src, size_t n,
                   uint32_t key_le, size_t *written)
{
  *written = 0;
  if (level >= RTW__UTF8_AVX512)
    return bulk_avx512(mode, dst, src, n, key_le, written);
  if (level == RTW__UTF8_AVX2)
    return bulk_avx2(mode, dst, src, n, key_le, written);
  return 0;
}
#else
static int cpu_level(void)
{
  return RTW__UTF8_PORTABLE;
}

int rtw__utf8_level(void)
{
  return RTW__UTF8_PORTABLE;
}

static size_t bulk(int level, int mode, uint8_t *dst, const uint8_t *src, size_t n,
                   uint32_t key_le, size_t *written)
{
  (void)level, (void)mode, (void)dst, (void)src, (void)n, (void)key_le;
  *written = 0;
  return 0;
}
#endif

/* Inputs shorter than this never ask the CPU (a small message pays nothing for the choice). */
#define SIMD_MIN 64u

/* Non-ASCII inputs of this size or more take the AVX-512 kernel (one masked block) when the
 * CPU has it. */
#define SMALL_SIMD_MIN 16u

/* Bytes the portable fused loop unmasks before validating them (stays in L1). */
#define CHUNK 1024u

/* Validate a small non-ASCII p[0..n) from a boundary (level < 0: ask the CPU). One masked
 * AVX-512 block beats the byte loop from 16 bytes on. Kept out of line so the ASCII path of
 * small() stays a leaf. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static size_t small_text(int level, rtw__utf8 *st, const uint8_t *p, size_t n)
{
  size_t b = 0, w;

  if (n >= SMALL_SIMD_MIN) {
    if (level < 0)
      level = cpu_level();
    if (level >= RTW__UTF8_AVX512)
      b = bulk(level, MODE_VALIDATE, NULL, p, n, 0, &w);
  }
  return b + validate_scalar(st, p + b, n - b);
}

/* A small message (the common chat line), starting at a boundary: one word loop that
 * (un)masks and collects the high bits; only text with a byte >= 0x80 goes through the
 * scalar validator. Inlined into the entry points with `mode` a constant. */
static inline size_t small(int mode, int level, rtw__utf8 *st, uint8_t *dst,
                           const uint8_t *src, size_t n, uint32_t key_le, uint64_t offset)
{
  uint32_t kw = key_rotate(key_le, offset);
  uint64_t acc = 0;
  size_t i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t k64 = (uint64_t)kw << 32 | kw, x;
  for (; i + 8 <= n; i += 8) {
    memcpy(&x, src + i, 8);
    acc |= mode == MODE_UNMASK ? x ^ k64 : x;
    x ^= k64;
    memcpy(dst + i, &x, 8);
  }
#endif
  for (; i < n; i++) {
    uint8_t y = (uint8_t)(src[i] ^ (uint8_t)(kw >> (8u * (i & 3u))));
    acc |= mode == MODE_UNMASK ? y : src[i];
    dst[i] = y;
  }
  if ((acc & ASCII_MASK) == 0)
    return n;
  return small_text(level, st, mode == MODE_UNMASK ? dst : src, n);
}

/* The fused operations (MODE_UNMASK, MODE_MASK) at a given level. */
static size_t fused(int level, int mode, rtw__utf8 *st, uint8_t *dst, const uint8_t *src,
                    size_t n, uint32_t key_le, uint64_t offset)
{
  size_t i = 0, b = 0, w = 0, k;

  if (n == 0)
    return 0; /* dst and src may be NULL */
  if (n < SIMD_MIN && st->need == 0)
    return small(mode, level, st, dst, src, n, key_le, offset);
  /* finish a sequence left open by the previous call, byte by byte */
  for (; i < n && st->need != 0; i++) {
    uint8_t x = src[i], y = (uint8_t)(x ^ key_byte(key_le, offset + i));
    dst[i] = y;
    if (!cont(st, mode == MODE_UNMASK ? y : x))
      return i;
  }
  if (n - i >= SIMD_MIN && level > RTW__UTF8_PORTABLE)
    b = bulk(level, mode, dst + i, src + i, n - i, key_rotate(key_le, offset + i), &w);
  i += b;
  w -= b; /* dst[i..i+w) already written */
  if (w > 0) {
    k = validate_scalar(st, (mode == MODE_UNMASK ? dst : src) + i, w);
    if (k < w)
      return i + k;
    i += w;
  }
  while (i < n) {
    size_t c = n - i < CHUNK ? n - i : CHUNK;
    if (mode == MODE_UNMASK) {
      xor_key(dst + i, src + i, c, key_rotate(key_le, offset + i));
      k = validate_scalar(st, dst + i, c);
    } else {
      k = validate_scalar(st, src + i, c);
      xor_key(dst + i, src + i, c, key_rotate(key_le, offset + i));
    }
    if (k < c)
      return i + k;
    i += c;
  }
  return n;
}

size_t rtw__utf8_validate_at(int level, rtw__utf8 *st, const uint8_t *p, size_t n)
{
  size_t i = 0, w;

  if (n == 0)
    return 0; /* p may be NULL */
  for (; i < n && st->need != 0; i++) /* finish a sequence left from the previous call */
    if (!cont(st, p[i]))
      return i;
  if (n - i >= (level >= RTW__UTF8_AVX512 ? SMALL_SIMD_MIN : SIMD_MIN) &&
      level > RTW__UTF8_PORTABLE)
    i += bulk(level, MODE_VALIDATE, NULL, p + i, n - i, 0, &w);
  return i + validate_scalar(st, p + i, n - i);
}

size_t rtw__utf8_validate(rtw__utf8 *st, const uint8_t *p, size_t n)
{
  if (n < SIMD_MIN && st->need == 0) { /* small: ASCII words, else the scalar validator */
    uint64_t acc = 0, x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      memcpy(&x, p + i, 8);
      acc |= x;
    }
    for (; i < n; i++)
      acc |= p[i];
    if ((acc & ASCII_MASK) == 0)
      return n;
    return rtw__utf8_validate_at(n >= SMALL_SIMD_MIN ? cpu_level() : RTW__UTF8_PORTABLE, st, p,
                                 n);
  }
  return rtw__utf8_validate_at(n >= SIMD_MIN ? cpu_level() : RTW__UTF8_PORTABLE, st, p, n);
}

size_t rtw__utf8_unmask_copy_at(int level, rtw__utf8 *st, uint8_t *dst, const uint8_t *src,
                                size_t n, uint32_t key_le, uint64_t offset)
{
  return fused(level, MODE_UNMASK, st, dst, src, n, key_le, offset);
}

size_t rtw__utf8_unmask_copy(rtw__utf8 *st, uint8_t *dst, const uint8_t *src, size_t n,
                             uint32_t key_le, uint64_t offset)
{
  if (n < SIMD_MIN && n > 0 && st->need == 0)
    return small(MODE_UNMASK, -1, st, dst, src, n, key_le, offset);
  return fused(n >= SIMD_MIN ? cpu_level() : RTW__UTF8_PORTABLE, MODE_UNMASK, st, dst, src, n,
               key_le, offset);
}

size_t rtw__utf8_copy_mask_at(int level, rtw__utf8 *st, uint8_t *dst, const uint8_t *src,
                              size_t n, uint32_t key_le, uint64_t offset)
{
  return fused(level, MODE_MASK, st, dst, src, n, key_le, offset);
}

size_t rtw__utf8_copy_mask(rtw__utf8 *st, uint8_t *dst, const uint8_t *src, size_t n,
                           uint32_t key_le, uint64_t offset)
{
  if (n < SIMD_MIN && n > 0 && st->need == 0)
    return small(MODE_MASK, -1, st, dst, src, n, key_le, offset);
  return fused(n >= SIMD_MIN ? cpu_level() : RTW__UTF8_PORTABLE, MODE_MASK, st, dst, src, n,
               key_le, offset);
}

size_t rtw__utf8_valid_prefix_at(int level, const uint8_t *p, size_t n)
{
  rtw__utf8 st;
  size_t i = 0, last, w;

  if (n == 0)
    return 0; /* p may be NULL */
  if (n >= SIMD_MIN && level > RTW__UTF8_PORTABLE)
    i = bulk(level, MODE_VALIDATE, NULL, p, n, 0, &w);
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

size_t rtw__utf8_valid_prefix(const uint8_t *p, size_t n)
{
  return rtw__utf8_valid_prefix_at(n >= SIMD_MIN ? cpu_level() : RTW__UTF8_PORTABLE, p, n);
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

/* ---- Fixed-width code units (rtw_utf8_to_units, rtw_utf8_from_units; rtweb/common.h) ---- */

#define BYTE_ONES 0x0101010101010101ull

/* Index of the first byte with its high bit set in a little-endian word w & ASCII_MASK != 0. */
static unsigned first_high(uint64_t h)
{
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(h) >> 3;
#else
  unsigned k = 0;
  while (!(h & 0x80u)) {
    h >>= 8;
    k++;
  }
  return k;
#endif
}

/* Count the continuation bytes of p[0..n) and find the widest unit its code points need.
 * Valid UTF-8 only: a lead byte from 0xC4 on starts a code point >= U+0100 (C2/C3 encode
 * U+0080..U+00FF), one from 0xF0 on a code point >= U+10000 (RFC 3629 section 3).
 * Eight bytes per step: a continuation byte is 10xxxxxx, so bit 7 set and bit 6 clear. */
static int measure(const uint8_t *p, size_t n, size_t *conts, int *ascii)
{
  size_t i = 0, c = 0;
  uint64_t w, high = 0, ge_c4 = 0, ge_f0 = 0;

#if defined(HAVE_X86_BULK)
  /* SSE2 is part of x86-64 itself, so this needs no CPU dispatch: 64 bytes per step, the
   * largest byte (continuation bytes are below 0xC0, so it is >= 0xC4 / >= 0xF0 exactly
   * when the widths above are needed) and the continuation bytes (signed < -64) counted. */
  {
    __m128i mx = _mm_setzero_si128(), lim = _mm_set1_epi8((char)0xC0);
    __m128i zero = _mm_setzero_si128(), acc = _mm_setzero_si128();
    for (; i + 64 <= n; i += 64) {
      __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
      __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
      __m128i c2 = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 32));
      __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 48));
      __m128i any = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c2, d));
      if (!_mm_movemask_epi8(any))
        continue;
      mx = _mm_max_epu8(mx, _mm_max_epu8(_mm_max_epu8(a, b), _mm_max_epu8(c2, d)));
      /* each compare gives -1 per continuation byte: negate the sum of four (0..4 per
       * lane) and add the lanes up with SAD */
      acc = _mm_add_epi64(
          acc, _mm_sad_epu8(_mm_sub_epi8(zero, _mm_add_epi8(
                                                  _mm_add_epi8(_mm_cmplt_epi8(a, lim),
                                                               _mm_cmplt_epi8(b, lim)),
                                                  _mm_add_epi8(_mm_cmplt_epi8(c2, lim),
                                                               _mm_cmplt_epi8(d, lim)))),
                            zero));
    }
    {
      uint8_t top[16], m = 0;
      uint64_t sums[2];
      int k;
      _mm_storeu_si128((__m128i *)(void *)top, mx);
      _mm_storeu_si128((__m128i *)(void *)sums, acc);
      c = (size_t)(sums[0] + sums[1]);
      for (k = 0; k < 16; k++)
        m = top[k] > m ? top[k] : m;
      high = m >> 7;
      ge_c4 = m >= 0xC4u ? 0x80u : 0u;
      ge_f0 = m >= 0xF0u ? 0x80u : 0u;
    }
  }
#endif
  for (; i + 8 <= n; i += 8) {
    memcpy(&w, p + i, 8);
    if (!(w & ASCII_MASK))
      continue;
    high = 1;
    /* bit 7 of each byte, and its bits 6..2 moved to bit 7 (a shift within the word moves
     * bits to higher positions of the same byte; what crosses into the next byte lands
     * below bit 7 and is masked off) */
    c += (size_t)((((w & ~(w << 1) & ASCII_MASK) >> 7) * BYTE_ONES) >> 56);
    ge_c4 |= w & (w << 1) & ((w << 2) | (w << 3) | (w << 4) | (w << 5));
    ge_f0 |= w & (w << 1) & (w << 2) & (w << 3);
  }
  for (; i < n; i++) {
    uint8_t b = p[i];
    high |= b >> 7;
    c += (b & 0xC0u) == 0x80u;
    ge_c4 |= b >= 0xC4u ? 0x80u : 0u;
    ge_f0 |= b >= 0xF0u ? 0x80u : 0u;
  }
  *conts = c;
  *ascii = high == 0;
  return (ge_f0 & ASCII_MASK) ? 4 : (ge_c4 & ASCII_MASK) ? 2 : 1;
}

static void put_unit(uint8_t *d, size_t j, uint32_t u, int width)
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

/* Widen the 8 bytes of w (all below 0x80 where the caller keeps them) to units at d[j..). */
static void widen8(uint8_t *d, size_t j, int width, const uint8_t *p)
{
  int k;

  if (width == 1) {
    memcpy(d + j, p, 8);
  } else if (width == 2) {
    uint16_t v[8];
    for (k = 0; k < 8; k++)
      v[k] = p[k];
    memcpy(d + 2 * j, v, sizeof v);
  } else {
    uint32_t v[8];
    for (k = 0; k < 8; k++)
      v[k] = p[k];
    memcpy(d + 4 * j, v, sizeof v);
  }
}

/* The code point of the valid 2-, 3- or 4-byte sequence at q (4 bytes readable), without
 * branches: the lead byte gives the length L (RFC 3629 section 3: 110xxxxx, 1110xxxx,
 * 11110xxx) and its payload mask 0x7F >> L; the four bytes are assembled as if L were 4 and
 * shifted down by the 6 bits of each byte that is not part of the sequence. */
static uint32_t multibyte(const uint8_t *q, size_t *len)
{
  uint32_t b0 = q[0];
  unsigned l = 2u + (b0 >= 0xE0u) + (b0 >= 0xF0u);
  uint32_t v = (b0 & (0x7Fu >> l)) << 18 | (q[1] & 0x3Fu) << 12 | (q[2] & 0x3Fu) << 6 |
               (q[3] & 0x3Fu);

  *len = l;
  return v >> (6u * (4u - l));
}

/* Decode valid UTF-8 p[0..n) into `units` units of `width` bytes at d. Table-free: the lead
 * byte's range gives the sequence length (RFC 3629 section 3). ASCII runs are widened 16
 * (SSE2) or 8 bytes per step: all the bytes of a block are widened and the position moves
 * past its leading ASCII bytes only (the units past them are rewritten next). */
static inline void decode_units(const uint8_t *p, size_t n, uint8_t *d, size_t units,
                                int width)
{
  size_t i = 0, j = 0, l;
  uint64_t w;

#if defined(HAVE_X86_BULK)
  /* SSE2 is part of x86-64: no CPU dispatch. i + 20 <= n leaves the 4 bytes multibyte()
   * reads after a run of up to 15. */
  {
    const __m128i z = _mm_setzero_si128();
    while (i + 20 <= n && j + 16 <= units) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
      unsigned hm = (unsigned)_mm_movemask_epi8(v);
      unsigned run = hm ? (unsigned)__builtin_ctz(hm) : 16u;
      if (width == 1) {
        _mm_storeu_si128((__m128i *)(void *)(d + j), v);
      } else if (width == 2) {
        _mm_storeu_si128((__m128i *)(void *)(d + 2 * j), _mm_unpacklo_epi8(v, z));
        _mm_storeu_si128((__m128i *)(void *)(d + 2 * j + 16), _mm_unpackhi_epi8(v, z));
      } else {
        __m128i lo = _mm_unpacklo_epi8(v, z), hi = _mm_unpackhi_epi8(v, z);
        _mm_storeu_si128((__m128i *)(void *)(d + 4 * j), _mm_unpacklo_epi16(lo, z));
        _mm_storeu_si128((__m128i *)(void *)(d + 4 * j + 16), _mm_unpackhi_epi16(lo, z));
        _mm_storeu_si128((__m128i *)(void *)(d + 4 * j + 32), _mm_unpacklo_epi16(hi, z));
        _mm_storeu_si128((__m128i *)(void *)(d + 4 * j + 48), _mm_unpackhi_epi16(hi, z));
      }
      i += run;
      j += run;
      if (run == 16u)
        continue;
      do { /* a branch per length: predicted, it keeps i off the critical path */
        uint32_t b = p[i];
        if (b < 0xE0u) {
          put_unit(d, j++, (b & 0x1Fu) << 6 | (p[i + 1] & 0x3Fu), width);
          i += 2;
        } else if (b < 0xF0u) {
          put_unit(d, j++, (b & 0x0Fu) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu),
                   width);
          i += 3;
        } else {
          put_unit(d, j++, multibyte(p + i, &l), width);
          i += 4;
        }
      } while (i + 4 <= n && p[i] >= 0x80u);
    }
  }
#endif
  while (i < n) {
    uint32_t b = p[i];
    if (b < 0x80u) {
      if (i + 8 <= n && j + 8 <= units) {
        memcpy(&w, p + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        {
          uint64_t h = w & ASCII_MASK;
          unsigned run = h ? first_high(h) : 8u;
          widen8(d, j, width, p + i);
          i += run;
          j += run;
          continue;
        }
#else
        if (!(w & ASCII_MASK)) {
          widen8(d, j, width, p + i);
          i += 8;
          j += 8;
          continue;
        }
#endif
      }
      put_unit(d, j++, b, width);
      i++;
    } else if (i + 4 <= n) {
      put_unit(d, j++, multibyte(p + i, &l), width);
      i += l;
    } else if (b < 0xE0u) {
      put_unit(d, j++, (b & 0x1Fu) << 6 | (p[i + 1] & 0x3Fu), width);
      i += 2;
    } else { /* the last sequence: 3 bytes (a 4-byte one at the end has i + 4 == n) */
      put_unit(d, j++, (b & 0x0Fu) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu),
               width);
      i += 3;
    }
  }
}

#if defined(HAVE_X86_BULK)
/* AVX-512 (BW + VBMI2, chosen at run time) decoders of valid UTF-8, one per width. Each
 * computes, for every byte position of a block, the unit a sequence starting there would
 * have (by its lead byte, RFC 3629 section 3: the bytes after it come from loads at +1, +2,
 * +3) and keeps, in order, the positions that are not continuation bytes (VPCOMPRESS). A
 * sequence that starts in a block may end after it: its continuation bytes open the next
 * block and are dropped there. Each returns the input consumed (at a sequence boundary) and
 * sets *jout to the units written; the caller decodes the rest.
 *
 * Width 1 (every code point below U+0100, so every sequence is ASCII or a lead C2/C3 and
 * one continuation byte): 64 bytes per step in byte lanes. A lead's unit is
 * (lead & 0x03) << 6 | (next & 0x3F). (Replaces a 32-byte step in 16-bit lanes: the
 * transcoder of 64 KiB of Latin-1 text, sizing and validation included, 6.3 -> 3.5 us.) */
TARGET_VBMI2 static size_t decode_latin1(const uint8_t *p, size_t n, uint8_t *d, size_t units,
                                         size_t *jout)
{
  size_t i = 0, j = 0;
  const __m512i c0 = _mm512_set1_epi8((char)0xC0);

  while (i + 65 <= n && j + 64 <= units) {
    __m512i r = _mm512_loadu_si512((const void *)(p + i)), v;
    __mmask64 high = _mm512_movepi8_mask(r), cont;
    if (!high) { /* ASCII */
      _mm512_storeu_si512((void *)(d + j), r);
      i += 64;
      j += 64;
      continue;
    }
    /* continuation bytes 80..BF are the bytes below (signed) C0 = -64 */
    cont = _mm512_cmplt_epi8_mask(r, c0);
    /* bits 7..6 of a 16-bit shift by 6 hold bits 1..0 of the same byte (0xE4: c ? a : b) */
    v = _mm512_ternarylogic_epi32(
        _mm512_slli_epi16(r, 6), _mm512_loadu_si512((const void *)(p + i + 1)), c0, 0xE4);
    v = _mm512_mask_mov_epi8(r, high & ~cont, v);
    _mm512_storeu_si512((void *)(d + j), _mm512_maskz_compress_epi8(~cont, v));
    i += 64;
    j += (size_t)_mm_popcnt_u64(~cont);
  }
  while (i < n && (p[i] & 0xC0u) == 0x80u)
    i++;
  *jout = j;
  return i;
}

/* The same for width 2 (every code point below U+10000: sequences of 1 to 3 bytes), 64
 * bytes per step in byte lanes: the low and the high byte of each position's unit are
 * computed apart (RFC 3629 section 3: a 2-byte lead gives bits 10..6, a 3-byte lead bits
 * 15..12, the bytes after it from loads at +1 and +2), both compressed with VPCOMPRESSB and
 * then interleaved into 16-bit units (an unpack within 128-bit lanes and a 64-bit permute
 * across them). 64 KiB of mixed text: 3.6 -> 2.7-3.0 us, CJK 4.3 -> 3.1 us, against 32 bytes
 * per step in 16-bit lanes. */
TARGET_VBMI2 static size_t decode_ucs2(const uint8_t *p, size_t n, uint8_t *d, size_t units,
                                       size_t *jout)
{
  size_t i = 0, j = 0;
  const __m512i c0 = _mm512_set1_epi8((char)0xC0), e0 = _mm512_set1_epi8((char)0xE0);
  const __m512i f0 = _mm512_set1_epi8((char)0xF0), m07 = _mm512_set1_epi8(0x07);
  const __m512i i0 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i i1 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);

  while (i + 66 <= n && j + 64 <= units) {
    __m512i r = _mm512_loadu_si512((const void *)(p + i)), r1, r2, lo, hi;
    __mmask64 high = _mm512_movepi8_mask(r), cont, lead3, keep;
    if (!high) { /* ASCII */
      _mm512_storeu_si512((void *)(d + 2 * j),
                          _mm512_cvtepu8_epi16(_mm512_castsi512_si256(r)));
      _mm512_storeu_si512((void *)(d + 2 * j + 64),
                          _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(r, 1)));
      i += 64;
      j += 64;
      continue;
    }
    r1 = _mm512_loadu_si512((const void *)(p + i + 1));
    r2 = _mm512_loadu_si512((const void *)(p + i + 2));
    cont = _mm512_cmplt_epi8_mask(r, c0); /* 80..BF: signed below C0 */
    lead3 = _mm512_cmpge_epu8_mask(r, e0);
    keep = ~cont;
    /* low byte: 2-byte lead: lead bits 1..0, next bits 5..0; 3-byte: bits 1..0 of the
     * second byte, bits 5..0 of the third (0xE4: c ? a : b, a 16-bit shift by 6 moving
     * bits 1..0 of each byte to its bits 7..6) */
    lo = _mm512_mask_mov_epi8(
        r, high & keep, _mm512_ternarylogic_epi32(_mm512_slli_epi16(r, 6), r1, c0, 0xE4));
    lo = _mm512_mask_mov_epi8(
        lo, lead3, _mm512_ternarylogic_epi32(_mm512_slli_epi16(r1, 6), r2, c0, 0xE4));
    /* high byte: 2-byte lead: its bits 4..2; 3-byte lead: its bits 3..0 above bits 5..2 of
     * the second byte; ASCII 0 */
    hi = _mm512_maskz_mov_epi8(high & keep, _mm512_and_si512(_mm512_srli_epi16(r, 2), m07));
    hi = _mm512_mask_mov_epi8(
        hi, lead3,
        _mm512_ternarylogic_epi32(_mm512_slli_epi16(r, 4), _mm512_srli_epi16(r1, 2), f0, 0xE4));
    lo = _mm512_maskz_compress_epi8(keep, lo);
    hi = _mm512_maskz_compress_epi8(keep, hi);
    {
      __m512i a = _mm512_unpacklo_epi8(lo, hi), b = _mm512_unpackhi_epi8(lo, hi);
      _mm512_storeu_si512((void *)(d + 2 * j), _mm512_permutex2var_epi64(a, i0, b));
      _mm512_storeu_si512((void *)(d + 2 * j + 64), _mm512_permutex2var_epi64(a, i1, b));
    }
    i += 64;
    j += (size_t)_mm_popcnt_u64(keep);
  }
  while (i < n && (p[i] & 0xC0u) == 0x80u)
    i++;
  *jout = j;
  return i;
}

/* The same for width 4 (some code point from U+10000 on): 16 bytes per step in 32-bit lanes,
 * sequences of 1 to 4 bytes (the bytes after a lead come from loads at +1, +2 and +3), and
 * VPCOMPRESSD (AVX-512F) keeps the lanes that are not continuation bytes. */
TARGET_VBMI2 static size_t decode_wide4(const uint8_t *p, size_t n, uint8_t *d, size_t units,
                                        size_t *jout)
{
  size_t i = 0, j = 0;
  const __m512i c0 = _mm512_set1_epi32(0xC0), c80 = _mm512_set1_epi32(0x80);
  const __m512i e0 = _mm512_set1_epi32(0xE0), f0 = _mm512_set1_epi32(0xF0);
  const __m512i m3f = _mm512_set1_epi32(0x3F), m1f = _mm512_set1_epi32(0x1F);
  const __m512i m0f = _mm512_set1_epi32(0x0F), m07 = _mm512_set1_epi32(0x07);

  while (i + 19 <= n && j + 16 <= units) {
    __m128i r = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m512i b0, b1, b2, b3, v;
    __mmask16 keep;
    if (!_mm_movemask_epi8(r)) { /* ASCII */
      _mm512_storeu_si512((void *)(d + 4 * j), _mm512_cvtepu8_epi32(r));
      i += 16;
      j += 16;
      continue;
    }
    b0 = _mm512_cvtepu8_epi32(r);
    b1 = _mm512_and_si512(
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 1))), m3f);
    b2 = _mm512_and_si512(
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 2))), m3f);
    b3 = _mm512_and_si512(
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 3))), m3f);
    v = _mm512_mask_mov_epi32(
        b0, _mm512_cmpge_epu32_mask(b0, c0),
        _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, m1f), 6), b1));
    v = _mm512_mask_mov_epi32(
        v, _mm512_cmpge_epu32_mask(b0, e0),
        _mm512_or_si512(_mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, m0f), 12),
                                        _mm512_slli_epi32(b1, 6)),
                        b2));
    v = _mm512_mask_mov_epi32(
        v, _mm512_cmpge_epu32_mask(b0, f0),
        _mm512_or_si512(_mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, m07), 18),
                                        _mm512_slli_epi32(b1, 12)),
                        _mm512_or_si512(_mm512_slli_epi32(b2, 6), b3)));
    keep = (__mmask16)~_mm512_cmpeq_epi32_mask(_mm512_and_si512(b0, c0), c80);
    _mm512_storeu_si512((void *)(d + 4 * j), _mm512_maskz_compress_epi32(keep, v));
    i += 16;
    j += (size_t)_mm_popcnt_u32((unsigned)keep);
  }
  while (i < n && (p[i] & 0xC0u) == 0x80u)
    i++;
  *jout = j;
  return i;
}

/* measure() and the validation of rtw__utf8_valid_prefix() in one AVX-512BW pass (same
 * dispatch as the decoders), n >= 64: bulk512()'s MODE_VALIDATE check (Keiser-Lemire, the
 * earlier views of a block loaded from memory; runs of four ASCII blocks skipped) with the
 * largest byte and the continuation bytes (signed < -64) of every non-ASCII block collected
 * on the way, the last partial block through a masked load. Returns 1 when p[0..n) is valid
 * and ends at a sequence boundary (*conts, *ascii set; the width returned in *wd), and 0
 * when a block showed an error or the text ends inside a sequence: the caller then decides
 * with the exact scalar validator (so this pass only has to be right about "valid"). */
TARGET_VBMI2 static int measure_valid512(const uint8_t *p, size_t n, size_t *conts, int *ascii,
                                         int *wd)
{
  size_t m = n & ~(size_t)63, r = n - m, i = 64, c = 0;
  const __m512i lim = _mm512_set1_epi8((char)0xC0);
  __m512i a = _mm512_loadu_si512((const void *)p), mx = a, e;
  uint8_t top[64], big = 0;
  tabs512 t;
  int open, k;

  t.t1 = tab512(tab_prev_hi);
  t.t2 = tab512(tab_prev_lo);
  t.t3 = tab512(tab_cur_hi);
  t.idx = _mm512_set_epi64(13, 12, 11, 10, 9, 8, 7, 6);
  /* the first block from registers (nothing before p is readable) */
  e = errors512(&t, a, _mm512_setzero_si512());
  if (_mm512_test_epi8_mask(e, e) != 0)
    return 0;
  c += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(a, lim));
  open = (_mm512_movepi8_mask(a) >> 61) != 0;
  for (; i + 256 <= m; i += 256) {
    __m512i b0 = _mm512_loadu_si512((const void *)(p + i));
    __m512i b1 = _mm512_loadu_si512((const void *)(p + i + 64));
    __m512i b2 = _mm512_loadu_si512((const void *)(p + i + 128));
    __m512i b3 = _mm512_loadu_si512((const void *)(p + i + 192));
    if (!open && _mm512_movepi8_mask(_mm512_ternarylogic_epi32(
                     b0, b1, _mm512_or_si512(b2, b3), 0xFE)) == 0)
      continue;
    e = _mm512_ternarylogic_epi32(
        errors512_at(&t, p, i, b0), errors512_at(&t, p, i + 64, b1),
        _mm512_or_si512(errors512_at(&t, p, i + 128, b2), errors512_at(&t, p, i + 192, b3)),
        0xFE);
    if (_mm512_test_epi8_mask(e, e) != 0)
      return 0;
    mx = _mm512_max_epu8(mx, _mm512_max_epu8(_mm512_max_epu8(b0, b1), _mm512_max_epu8(b2, b3)));
    c += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(b0, lim)) +
         (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(b1, lim)) +
         (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(b2, lim)) +
         (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(b3, lim));
    open = (_mm512_movepi8_mask(b3) >> 61) != 0;
  }
  for (; i < m; i += 64) {
    a = _mm512_loadu_si512((const void *)(p + i));
    e = errors512_at(&t, p, i, a);
    if (_mm512_test_epi8_mask(e, e) != 0)
      return 0;
    mx = _mm512_max_epu8(mx, a);
    c += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(a, lim));
  }
  if (r != 0) { /* zero-filled past n: flags there only mean a sequence open at n */
    __mmask64 live = (__mmask64)(~0ull >> (64u - r));
    __m512i x = _mm512_maskz_loadu_epi8(live, (const void *)(p + m));
    e = errors512(&t, x, _mm512_loadu_si512((const void *)(p + m - 64)));
    if ((_mm512_test_epi8_mask(e, e) & live) != 0)
      return 0;
    mx = _mm512_max_epu8(mx, x);
    c += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(x, lim));
  }
  if (backoff(p, n) != n) /* the text ends inside a sequence */
    return 0;
  _mm512_storeu_si512((void *)top, mx);
  for (k = 0; k < 64; k++)
    big = top[k] > big ? top[k] : big;
  *conts = c;
  *ascii = big < 0x80u;
  *wd = big >= 0xF0u ? 4 : big >= 0xC4u ? 2 : 1;
  return 1;
}

static int have_vbmi2(void)
{
  __builtin_cpu_init(); /* idempotent; the library may run before constructors */
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2");
}
#endif

static int to_units(int wide, const void *src, size_t len, void *dst, size_t dst_size,
                    size_t *count, int *width)
{
  const uint8_t *p = (const uint8_t *)src;
  size_t conts = 0, units, i = 0, j = 0;
  int wd, ascii;

  if (!count || !width || (!src && len))
    return RTW_ERR_INVALID_ARGUMENT;
  *count = 0;
  *width = 1;
  if (!len)
    return 0;
#if defined(HAVE_X86_BULK)
  if (!wide || len < 64 || !measure_valid512(p, len, &conts, &ascii, &wd))
#endif
  {
    wd = measure(p, len, &conts, &ascii);
    if (!ascii && rtw__utf8_valid_prefix(p, len) != len) { /* ASCII is valid UTF-8 */
      *width = 0;
      return RTW_ERR_INVALID_UTF8;
    }
  }
  units = len - conts;
  *count = units;
  *width = wd;
  if (!dst && !dst_size)
    return 0;
  if (!dst || dst_size / (size_t)wd < units)
    return RTW_ERR_BUFFER_TOO_SMALL;
#if defined(HAVE_X86_BULK)
  if (wide && !ascii && wd == 1 && len >= 65)
    i = decode_latin1(p, len, (uint8_t *)dst, units, &j);
  else if (wide && !ascii && wd == 2 && len >= 66)
    i = decode_ucs2(p, len, (uint8_t *)dst, units, &j);
  else if (wide && wd == 4)
    i = decode_wide4(p, len, (uint8_t *)dst, units, &j);
#else
  (void)wide;
#endif
  if (ascii)
    memcpy(dst, p, len);
  else if (wd == 1) /* one constant width per call site, so each loop is specialised */
    decode_units(p + i, len - i, (uint8_t *)dst + j, units - j, 1);
  else if (wd == 2)
    decode_units(p + i, len - i, (uint8_t *)dst + 2 * j, units - j, 2);
  else
    decode_units(p + i, len - i, (uint8_t *)dst + 4 * j, units - j, 4);
  return 0;
}

int rtw_utf8_to_units(const void *src, size_t len, void *dst, size_t dst_size, size_t *count,
                      int *width)
{
#if defined(HAVE_X86_BULK)
  int wide = len >= 64 && have_vbmi2();
#else
  int wide = 0;
#endif
  return to_units(wide, src, len, dst, dst_size, count, width);
}

int rtw__utf8_to_units_at(int level, const void *src, size_t len, void *dst, size_t dst_size,
                          size_t *count, int *width)
{
#if defined(HAVE_X86_BULK)
  int wide = level >= RTW__UTF8_AVX512 && have_vbmi2();
#else
  int wide = 0;
  (void)level;
#endif
  return to_units(wide, src, len, dst, dst_size, count, width);
}

static uint32_t get_unit(const uint8_t *s, size_t i, int width)
{
  if (width == 1)
    return s[i];
  if (width == 2) {
    uint16_t v;
    memcpy(&v, s + 2 * i, 2);
    return v;
  } else {
    uint32_t v;
    memcpy(&v, s + 4 * i, 4);
    return v;
  }
}

/* Encode units s[0..count) as UTF-8 into d (NULL: count only; otherwise d has room for the
 * result, cap bytes). Returns the length, or (size_t)-1 for a lone surrogate or a value
 * above U+10FFFF, which have no UTF-8 form (RFC 3629 section 3; UTF-16 pairs: RFC 2781
 * 2.2). ASCII runs go 8 units per step (SSE2 for width 2, a word for width 1). */
static inline size_t encode_units(const uint8_t *s, size_t count, int width, uint8_t *d,
                                  size_t cap)
{
  size_t i = 0, o = 0;
  uint32_t u;

#if defined(HAVE_X86_BULK)
  if (width == 2 && d) { /* SSE2 is part of x86-64: no CPU dispatch */
    const __m128i hi = _mm_set1_epi16((short)0xFF80), z = _mm_setzero_si128();
    while (i + 8 <= count && o + 16 <= cap) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i));
      unsigned nm = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(v, hi), z)) &
                    0xFFFFu;
      unsigned run = nm ? (unsigned)__builtin_ctz(nm) >> 1 : 8u;
      _mm_storel_epi64((__m128i *)(void *)(d + o), _mm_packus_epi16(v, v));
      i += run;
      o += run;
      if (run == 8u)
        continue;
      u = get_unit(s, i, 2);
      if (u < 0x800u) {
        d[o] = (uint8_t)(0xC0u | (u >> 6));
        d[o + 1] = (uint8_t)(0x80u | (u & 0x3Fu));
        o += 2;
      } else if (u < 0xD800u || u > 0xDFFFu) {
        d[o] = (uint8_t)(0xE0u | (u >> 12));
        d[o + 1] = (uint8_t)(0x80u | ((u >> 6) & 0x3Fu));
        d[o + 2] = (uint8_t)(0x80u | (u & 0x3Fu));
        o += 3;
      } else {
        uint32_t lo = u < 0xDC00u && i + 1 < count ? get_unit(s, i + 1, 2) : 0;
        if (lo < 0xDC00u || lo > 0xDFFFu)
          break; /* a lone surrogate: the loop below reports it */
        o += put_cp(d + o, 0x10000u + ((u - 0xD800u) << 10) + (lo - 0xDC00u));
        i++;
      }
      i++;
    }
  }
#endif
  (void)cap;
  while (i < count) {
    u = get_unit(s, i, width);
    if (u < 0x80u) {
      /* ASCII run: 8 units per step where the width is 1 */
      if (width == 1 && i + 8 <= count) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (!(w & ASCII_MASK)) {
          if (d)
            memcpy(d + o, s + i, 8);
          i += 8;
          o += 8;
          continue;
        }
      }
      if (d)
        d[o] = (uint8_t)u;
      o++;
      i++;
      continue;
    }
    if (u >= 0xD800u && u <= 0xDFFFu) {
      uint32_t lo;
      if (width != 2 || u >= 0xDC00u || i + 1 >= count)
        return (size_t)-1;
      lo = get_unit(s, i + 1, width);
      if (lo < 0xDC00u || lo > 0xDFFFu)
        return (size_t)-1;
      u = 0x10000u + ((u - 0xD800u) << 10) + (lo - 0xDC00u);
      i++;
    } else if (u > 0x10FFFFu) {
      return (size_t)-1;
    }
    o += put_cp(d ? d + o : NULL, u);
    i++;
  }
  return o;
}

/* encode_units() with the width a constant at each call site (one loop per width). */
static size_t encode_any(const uint8_t *s, size_t count, int width, uint8_t *d, size_t cap)
{
  if (width == 1)
    return encode_units(s, count, 1, d, cap);
  if (width == 2)
    return encode_units(s, count, 2, d, cap);
  return encode_units(s, count, 4, d, cap);
}

int rtw_utf8_from_units(const void *src, size_t count, int width, void *dst, size_t dst_size,
                        size_t *len)
{
  const uint8_t *s = (const uint8_t *)src;
  size_t bound, n;

  if (!len || (width != 1 && width != 2 && width != 4) || (!src && count))
    return RTW_ERR_INVALID_ARGUMENT;
  *len = 0;
  bound = (size_t)(width == 1 ? 2 : width == 2 ? 3 : 4);
  if (dst && count <= dst_size / bound) {
    n = encode_any(s, count, width, (uint8_t *)dst, dst_size); /* fits whatever the text */
    if (n == (size_t)-1)
      return RTW_ERR_INVALID_UTF8;
    *len = n;
    return 0;
  }
  n = encode_any(s, count, width, NULL, 0);
  if (n == (size_t)-1)
    return RTW_ERR_INVALID_UTF8;
  *len = n;
  if (!dst && !dst_size)
    return 0;
  if (!dst || dst_size < n)
    return RTW_ERR_BUFFER_TOO_SMALL;
  encode_any(s, count, width, (uint8_t *)dst, dst_size);
  return 0;
}
