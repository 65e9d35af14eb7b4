/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by every module: allocator wrappers, compiler macros. */
#ifndef RTW_CORE_INTERNAL_H
#define RTW_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rtweb/common.h"

#if defined(__GNUC__) || defined(__clang__)
#  define RTW_LIKELY(x) __builtin_expect(!!(x), 1)
#  define RTW_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For the few helpers of a hot loop that must fold into each SIMD variant of it. */
#  define RTW_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define RTW_ALWAYS_INLINE inline
#  define RTW_LIKELY(x) (x)
#  define RTW_UNLIKELY(x) (x)
#endif

/* Resolve a caller's allocator hooks (NULL = libc) into *out. Returns RTW_ERR_INVALID_ARGUMENT
 * when the hooks are incomplete. */
int rtw__mem_init(rtw_mem *out, const rtw_mem *in);

/* The only way the library takes or returns memory (tests grep that nothing else calls
 * malloc/free). rtw__mem_realloc treats ptr == NULL as malloc; size must be > 0. */
void *rtw__mem_malloc(const rtw_mem *mem, size_t size);
void *rtw__mem_calloc(const rtw_mem *mem, size_t nmemb, size_t size);
void *rtw__mem_realloc(const rtw_mem *mem, void *ptr, size_t size);
void rtw__mem_free(const rtw_mem *mem, void *ptr);

/* A growable byte buffer owned by an object; growth is bounded by the caller's limit. */
typedef struct rtw__buf {
  char *data;
  size_t len;
  size_t cap;
} rtw__buf;

/* Ensure room for `extra` more bytes. Returns 0 or RTW_ERR_NOMEM. The caller checks its
 * limit before calling. */
int rtw__buf_reserve(rtw__buf *b, const rtw_mem *mem, size_t extra);
int rtw__buf_append(rtw__buf *b, const rtw_mem *mem, const void *p, size_t n);
void rtw__buf_free(rtw__buf *b, const rtw_mem *mem);

/* Count trailing zero bits of a non-zero 64-bit value. */
static inline unsigned rtw__ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1u)) {
    x >>= 1;
    n++;
  }
  return n;
#endif
}

/* Count leading zero bits of a non-zero 64-bit value. */
static inline unsigned rtw__clz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_clzll(x);
#else
  unsigned n = 0;
  while (!(x & (UINT64_C(1) << 63))) {
    x <<= 1;
    n++;
  }
  return n;
#endif
}

#endif /* RTW_CORE_INTERNAL_H */
