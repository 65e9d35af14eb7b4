/* SPDX-License-Identifier: MIT */
/* WebSocket frame codec: RFC 6455 5.2 header parse and build, and 5.3 payload masking with a
 * portable word loop and AVX2/AVX-512 variants chosen at run time.
 *
 * Wire format (RFC 6455 5.2), network byte order:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * Payload len 0-125 is the length; 126: a 16-bit length follows; 127: a 64-bit length follows
 * whose most significant bit MUST be 0. "The minimal number of bytes MUST be used to encode the
 * length", so 126 announcing less than 126 and 127 announcing less than 65536 are errors.
 * Header sizes: 2, 4 or 10 bytes, plus 4 when masked (at most RTW_WS_MAX_HEADER = 14).
 *
 * The codec is stateless: parse reads one header from the start of its input (never more
 * than `len` bytes) and reports "need more" until the whole header is there; only then are
 * the length rules checked. Opcode, RSV and MASK rules depend on the connection (role,
 * extensions) and are the session's (session.c).
 *
 * Masking (mask.h): the key is one 32-bit word rotated to the piece's offset, so a payload
 * can be masked in pieces with a running offset. The SIMD variants align their stores to dst;
 * AVX2 covers the unaligned head and the tail with one overlapping vector each, AVX-512 with
 * masked loads and stores. */
#include <string.h>

#include "internal.h"
#include "codec.h"
#include "mask.h"
#include "rtweb/ws.h"

#if defined(RTW__WS_MASK_HAVE_X86)
#  include <immintrin.h>
#endif

/* Byte 0: FIN, RSV1-3, opcode. Byte 1: MASK, payload len (RFC 6455 5.2). */
#define B0_FIN 0x80u
#define B1_MASK 0x80u
#define LEN7_MASK 0x7Fu
#define LEN7_16BIT 126u
#define LEN7_64BIT 127u

/* ------------------------------------------------------------------ parse */

static inline uint64_t load_be(const uint8_t *p, unsigned n)
{
  uint64_t v = 0;
  unsigned i;

  for (i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

#if defined(__GNUC__) || defined(__clang__)
#  define NOINLINE __attribute__((noinline))
#else
#  define NOINLINE
#endif

/* Headers with a 16- or 64-bit length, and short headers cut by the end of the input. Kept
 * out of line so the fast path needs no stack frame. */
static NOINLINE int parse_slow(const uint8_t *p, size_t len, rtw_ws_frame *frame,
                               size_t *header_len)
{
  unsigned len7, ext, masked;
  uint64_t n;

  *header_len = 0;
  if (len < 2)
    return 0;
  len7 = p[1] & LEN7_MASK;
  masked = p[1] >> 7;
  ext = len7 == LEN7_64BIT ? 8u : len7 == LEN7_16BIT ? 2u : 0u;
  if (len < 2u + ext + 4u * masked)
    return 0;
  n = ext ? load_be(p + 2, ext) : len7;
  /* RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length", and "the
   * most significant bit MUST be 0" for the 64-bit form. */
  if ((ext == 2 && n < LEN7_16BIT) || (ext == 8 && (n <= 0xFFFFu || n >> 63)))
    return RTW_ERR_WS_BAD_LENGTH;
  rtw__ws_first_two(frame, p[0], p[1]);
  frame->payload_len = n;
  if (masked)
    memcpy(frame->mask, p + 2 + ext, 4);
  else
    memset(frame->mask, 0, 4);
  *header_len = 2u + ext + 4u * masked;
  return 0;
}

static NOINLINE int parse_invalid(size_t *header_len)
{
  if (header_len != NULL)
    *header_len = 0;
  return RTW_ERR_INVALID_ARGUMENT;
}

int rtw_ws_frame_parse(const void *in, size_t len, rtw_ws_frame *frame, size_t *header_len)
{
  const uint8_t *p = in;

  if (RTW_UNLIKELY((frame == NULL) | (header_len == NULL) | ((p == NULL) & (len != 0))))
    return parse_invalid(header_len);
  *header_len = rtw__ws_parse_short(p, len, frame); /* the common case, inline */
  if (RTW_LIKELY(*header_len != 0))
    return 0;
  return parse_slow(p, len, frame, header_len);
}

/* ------------------------------------------------------------------ build */

int rtw_ws_frame_build(void *out, const rtw_ws_frame *frame, size_t *header_len)
{
  uint8_t *p = out;

  if (header_len != NULL)
    *header_len = 0;
  if (p == NULL || frame == NULL || header_len == NULL || frame->opcode > 0x0Fu ||
      frame->rsv > 7u || frame->payload_len >> 63)
    return RTW_ERR_INVALID_ARGUMENT;
  *header_len = rtw__ws_put_header(p, frame);
  return 0;
}

/* ------------------------------------------------------------------ masking */

/* The key word `k` (key_le layout) twice, in memory order, so a word loaded from memory XORs
 * right whatever the byte order of the machine (compilers fold this to a shift and an or). */
static RTW_ALWAYS_INLINE uint64_t key_word64(uint32_t k)
{
  uint8_t kb[8];
  uint64_t kw;

  kb[0] = kb[4] = (uint8_t)k;
  kb[1] = kb[5] = (uint8_t)(k >> 8);
  kb[2] = kb[6] = (uint8_t)(k >> 16);
  kb[3] = kb[7] = (uint8_t)(k >> 24);
  memcpy(&kw, kb, 8);
  return kw;
}

/* Mask with 8-byte words, then 4 bytes, then single bytes; `k` is the key word already
 * rotated to src[0]. Inlined into every variant, for whole small payloads and for the heads
 * and tails of the SIMD loops. */
static RTW_ALWAYS_INLINE void mask_words(uint8_t *dst, const uint8_t *src, size_t len,
                                         uint32_t k)
{
  uint64_t kw = key_word64(k);
  uint8_t kb[8];
  uint32_t kh;
  size_t i = 0;

  memcpy(kb, &kw, 8);
  memcpy(&kh, kb, 4);
  for (; len - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    w ^= kw;
    memcpy(dst + i, &w, 8);
  }
  if (len - i >= 4) {
    uint32_t h;
    memcpy(&h, src + i, 4);
    h ^= kh;
    memcpy(dst + i, &h, 4);
    i += 4;
  }
  /* i is a multiple of 4 here: the key is in phase */
  for (; i < len; i++)
    dst[i] = (uint8_t)(src[i] ^ kb[i & 3]);
}

void rtw__ws_mask_portable(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                           uint64_t offset)
{
  uint32_t k = rtw__ws_mask_rotate(key_le, offset);
  uint64_t kw = key_word64(k);
  size_t i = 0;

  for (; len - i >= 32; i += 32) {
    uint64_t a, b, c, d;
    memcpy(&a, src + i, 8);
    memcpy(&b, src + i + 8, 8);
    memcpy(&c, src + i + 16, 8);
    memcpy(&d, src + i + 24, 8);
    a ^= kw;
    b ^= kw;
    c ^= kw;
    d ^= kw;
    memcpy(dst + i, &a, 8);
    memcpy(dst + i + 8, &b, 8);
    memcpy(dst + i + 16, &c, 8);
    memcpy(dst + i + 24, &d, 8);
  }
  /* i is a multiple of 32: the key is in phase */
  mask_words(dst + i, src + i, len - i, k);
}

#if defined(RTW__WS_MASK_HAVE_X86)
/* AVX2, for len >= 32: the first and the last 32 bytes are loaded and masked before anything
 * is stored, the middle loop runs with aligned stores, and then those two vectors are stored
 * unaligned over the ends. They overlap bytes the loop wrote, with the same values, so this
 * is right in place too: every byte is loaded before any store could have changed it (the
 * loop reads each block before it writes it). No word loop for heads and tails: measured
 * about 2x faster than one for 64-256 bytes. */

RTW__WS_TARGET_AVX2 void rtw__ws_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                                           uint32_t key_le, uint64_t offset)
{
  __m256i k, first, last;
  size_t i;

  if (len < 32) {
    mask_words(dst, src, len, rtw__ws_mask_rotate(key_le, offset));
    return;
  }
  k = _mm256_set1_epi32((int)rtw__ws_mask_rotate(key_le, offset));
  first = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)src), k);
  k = _mm256_set1_epi32((int)rtw__ws_mask_rotate(key_le, offset + len - 32));
  last = _mm256_xor_si256(
      _mm256_loadu_si256((const __m256i *)(const void *)(src + len - 32)), k);
  /* the middle: 32-byte aligned stores, so none splits a cache line */
  i = (size_t)((0u - (uintptr_t)dst) & 31u);
  k = _mm256_set1_epi32((int)rtw__ws_mask_rotate(key_le, offset + i));
  for (; len - i >= 128; i += 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 32));
    __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 64));
    __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 96));
    _mm256_store_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, k));
    _mm256_store_si256((__m256i *)(void *)(dst + i + 32), _mm256_xor_si256(b, k));
    _mm256_store_si256((__m256i *)(void *)(dst + i + 64), _mm256_xor_si256(c, k));
    _mm256_store_si256((__m256i *)(void *)(dst + i + 96), _mm256_xor_si256(d, k));
  }
  for (; len - i >= 32; i += 32) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
    _mm256_store_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, k));
  }
  _mm256_storeu_si256((__m256i *)(void *)(dst + len - 32), last);
  _mm256_storeu_si256((__m256i *)(void *)dst, first);
}

RTW__WS_TARGET_AVX512 void rtw__ws_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                                               uint32_t key_le, uint64_t offset)
{
  size_t head = (size_t)((0u - (uintptr_t)dst) & 63u);
  __m512i k = _mm512_set1_epi32((int)rtw__ws_mask_rotate(key_le, offset));

  /* AVX-512 needs no overlapping: masked loads and stores take the head (up to a 64-byte
   * boundary of dst) and the tail; masked-out bytes are neither read (no fault past the
   * buffer) nor written. Measured a little faster than the AVX2 scheme for 256-1500 bytes. */
  if (head > len)
    head = len;
  if (head != 0) {
    __mmask64 m = (__mmask64)((UINT64_C(1) << head) - 1u);
    __m512i v = _mm512_maskz_loadu_epi8(m, src);
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(v, k));
    dst += head;
    src += head;
    len -= head;
    k = _mm512_set1_epi32((int)rtw__ws_mask_rotate(key_le, offset + head));
  }
  for (; len >= 256; len -= 256, src += 256, dst += 256) {
    __m512i a = _mm512_loadu_si512((const void *)src);
    __m512i b = _mm512_loadu_si512((const void *)(src + 64));
    __m512i c = _mm512_loadu_si512((const void *)(src + 128));
    __m512i d = _mm512_loadu_si512((const void *)(src + 192));
    _mm512_store_si512((void *)dst, _mm512_xor_si512(a, k));
    _mm512_store_si512((void *)(dst + 64), _mm512_xor_si512(b, k));
    _mm512_store_si512((void *)(dst + 128), _mm512_xor_si512(c, k));
    _mm512_store_si512((void *)(dst + 192), _mm512_xor_si512(d, k));
  }
  for (; len >= 64; len -= 64, src += 64, dst += 64) {
    __m512i a = _mm512_loadu_si512((const void *)src);
    _mm512_store_si512((void *)dst, _mm512_xor_si512(a, k));
  }
  if (len != 0) {
    __mmask64 m = (__mmask64)((UINT64_C(1) << len) - 1u);
    __m512i v = _mm512_maskz_loadu_epi8(m, src);
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(v, k));
  }
}
#endif

/* The CPU model as libgcc / compiler-rt recorded it at start-up. Read before their
 * constructor ran (a host constructor calling us), it is all zero: the portable path runs,
 * which is still correct. So the per-call check needs no __builtin_cpu_init() call. */
static inline int cpu_level(void)
{
#if defined(RTW__WS_MASK_HAVE_X86)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
    return RTW__WS_MASK_AVX512;
  if (__builtin_cpu_supports("avx2"))
    return RTW__WS_MASK_AVX2;
#endif
  return RTW__WS_MASK_PORTABLE;
}

int rtw__ws_mask_level(void)
{
#if defined(RTW__WS_MASK_HAVE_X86)
  __builtin_cpu_init();
#endif
  return cpu_level();
}

void rtw__ws_mask_simd(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                       uint64_t offset)
{
#if defined(RTW__WS_MASK_HAVE_X86)
  /* No cached choice (no global mutable state): asking again costs a load and a test. */
  int level = cpu_level();

  if (level == RTW__WS_MASK_AVX512) {
    rtw__ws_mask_avx512(dst, src, len, key_le, offset);
    return;
  }
  if (level == RTW__WS_MASK_AVX2) {
    rtw__ws_mask_avx2(dst, src, len, key_le, offset);
    return;
  }
#endif
  rtw__ws_mask_portable(dst, src, len, key_le, offset);
}

void rtw_ws_mask(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset)
{
  if (dst == NULL || src == NULL || key == NULL)
    return;
  rtw__ws_mask(dst, src, len, rtw__ws_mask_key(key), offset);
}
