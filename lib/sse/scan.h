/* SPDX-License-Identifier: MIT */
/* Block scanner for the event-stream parser: classifies 64 input bytes at a time into a bit
 * mask of line terminators (CR or LF, WHATWG HTML 9.2.5) and a bit mask of non-ASCII bytes
 * (which need UTF-8 decoding, 9.2.6). Bit i stands for byte i of the block.
 *
 * A portable SWAR version is always built (and tested against the SIMD one); SSE2 is used on
 * x86-64, where it is part of the base instruction set. */
#ifndef RTW_SSE_SCAN_H
#define RTW_SSE_SCAN_H

#include <stdint.h>

#define RTW__SCAN_BLOCK 64u

/* Classify the 64 bytes at p (all readable). */
void rtw__scan_block_portable(const uint8_t *p, uint64_t *eol, uint64_t *high);
#if defined(__SSE2__)
#  define RTW__SCAN_HAVE_SSE2 1
void rtw__scan_block_sse2(const uint8_t *p, uint64_t *eol, uint64_t *high);
#  define rtw__scan_block rtw__scan_block_sse2
#else
#  define rtw__scan_block rtw__scan_block_portable
#endif

#endif /* RTW_SSE_SCAN_H */
