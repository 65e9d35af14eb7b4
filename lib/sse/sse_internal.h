/* SPDX-License-Identifier: MIT */
/* Internal hooks of the SSE module, for tests (not exported from the shared library). */
#ifndef RTW_SSE_INTERNAL_H
#define RTW_SSE_INTERNAL_H

#include "rtweb/sse.h"

/* Scanner variants of the parser's fast path. */
#define RTW__SSE_SIMD_BASE 0   /* SSE2 on x86-64, portable SWAR elsewhere */
#define RTW__SSE_SIMD_AVX2 1
#define RTW__SSE_SIMD_AVX512 2

/* Make the parser use scanner variant `level`. Returns 0, or RTW_ERR_UNSUPPORTED when this
 * build or CPU lacks it. Lets the tests run every variant on any machine that has it. */
int rtw__sse_parser_set_simd(rtw_sse_parser *parser, int level);

/* Make buffered runs treat data lines of `bytes` or more ("data: ", value and LF) as long
 * (parser.c LONG_LINE, the default); at least 129. The long-line tests keep their line
 * lengths and lower it. Returns 0 or RTW_ERR_INVALID_ARGUMENT. */
int rtw__sse_parser_set_long_line(rtw_sse_parser *parser, size_t bytes);

#endif /* RTW_SSE_INTERNAL_H */
