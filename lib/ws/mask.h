/* SPDX-License-Identifier: MIT */
/* WebSocket payload masking (RFC 6455 5.3) for the library's own use: the key kept as one
 * 32-bit word, a portable word loop, AVX2 and AVX-512 variants, and the dispatcher.
 *
 * RFC 6455 5.3: octet i of the transformed data is octet i of the original data XOR octet
 * (i MOD 4) of the masking key, i counted from the start of the frame payload. Masking and
 * unmasking are the same operation.
 *
 * The key word. `key_le` holds the four key octets as a little-endian number: key[0] in bits
 * 0-7, ..., key[3] in bits 24-31 (rtw__ws_mask_key()). Rotating it right by 8 * (offset % 4)
 * gives the key for a piece that starts `offset` bytes into the payload
 * (rtw__ws_mask_rotate()). Every function below takes the *unrotated* key and the offset, so
 * a caller keeps one word per frame and passes its running payload position.
 *
 * No state: the SIMD variant is chosen per call from __builtin_cpu_supports() (a load and a
 * test of the CPU model libgcc/compiler-rt fill in at start-up; called from a constructor that
 * runs before theirs, it reads "no AVX" and the portable path runs, still correct), and only
 * for len >= RTW__WS_MASK_SIMD_MIN, so a small payload pays nothing for the choice. Every
 * variant accepts dst == src (in place) or non-overlapping buffers, any alignment and any
 * length. x86-64 with GCC or clang gets the AVX variants; elsewhere only the portable one. */
#ifndef RTW_WS_MASK_H
#define RTW_WS_MASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Payloads shorter than this take the word loop without asking the CPU. */
#define RTW__WS_MASK_SIMD_MIN 64u

/* Variants, for tests and benchmarks (rtw__ws_mask_level()). */
#define RTW__WS_MASK_PORTABLE 0
#define RTW__WS_MASK_AVX2 1
#define RTW__WS_MASK_AVX512 2

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define RTW__WS_MASK_HAVE_X86 1
#  define RTW__WS_TARGET_AVX2 __attribute__((target("avx2")))
#  define RTW__WS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw")))
#endif

/* The key word for a 4-byte masking key (as in rtw_ws_frame::mask). */
static inline uint32_t rtw__ws_mask_key(const uint8_t key[4])
{
  return (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
         (uint32_t)key[3] << 24;
}

/* The key word for a piece starting `offset` bytes into the payload: its low byte masks the
 * piece's first byte. */
static inline uint32_t rtw__ws_mask_rotate(uint32_t key_le, uint64_t offset)
{
  unsigned r = (unsigned)(offset & 3u) * 8u;

  return (key_le >> r) | (key_le << ((32u - r) & 31u));
}

/* Portable: 64-bit words (four per round), then 4 bytes, then bytes. Always compiled, always
 * tested. (Compilers may vectorize it with the baseline instruction set, e.g. SSE2.) */
void rtw__ws_mask_portable(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                           uint64_t offset);

#if defined(RTW__WS_MASK_HAVE_X86)
/* Call only when rtw__ws_mask_level() says the CPU has them. */
RTW__WS_TARGET_AVX2 void rtw__ws_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                                           uint32_t key_le, uint64_t offset);
RTW__WS_TARGET_AVX512 void rtw__ws_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                                               uint32_t key_le, uint64_t offset);
#endif

/* The widest variant this CPU runs: RTW__WS_MASK_PORTABLE, _AVX2 or _AVX512 (calls
 * __builtin_cpu_init() first, so it is right even before constructors). */
int rtw__ws_mask_level(void);

/* The widest variant this CPU runs, whatever len is. */
void rtw__ws_mask_simd(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                       uint64_t offset);

/* The entry point for the session: mask `len` bytes of src into dst (dst == src allowed),
 * src[0] being byte `offset` of the payload. */
static inline void rtw__ws_mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                                uint64_t offset)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (len <= 16) { /* small payloads (the common chat message) inline, no call */
    uint32_t k = rtw__ws_mask_rotate(key_le, offset);
    uint64_t k64 = (uint64_t)k << 32 | k, w;
    size_t i = 0;
    if (len >= 8) {
      memcpy(&w, src, 8);
      w ^= k64;
      memcpy(dst, &w, 8);
      i = 8;
    }
    for (; i < len; i++)
      dst[i] = (uint8_t)(src[i] ^ (uint8_t)(k >> (8u * (i & 3u))));
    return;
  }
#endif
  if (len < RTW__WS_MASK_SIMD_MIN)
    rtw__ws_mask_portable(dst, src, len, key_le, offset);
  else
    rtw__ws_mask_simd(dst, src, len, key_le, offset);
}

#endif /* RTW_WS_MASK_H */
