/* SPDX-License-Identifier: MIT */
/* Incremental UTF-8 validation and decoding with U+FFFD replacement.
 *
 * Implements the WHATWG Encoding Standard "UTF-8 decoder" (section 8.1.1): a byte sequence is
 * well formed per RFC 3629 / Unicode table 3-7 (no overlongs, no surrogates, nothing above
 * U+10FFFF); each maximal subpart of an ill-formed sequence becomes one U+FFFD. The state is
 * kept across calls, so input may be split anywhere.
 *
 *   byte 1   | byte 2  | byte 3 | byte 4
 *   00..7F   |         |        |
 *   C2..DF   | 80..BF  |        |
 *   E0       | A0..BF  | 80..BF |
 *   E1..EC   | 80..BF  | 80..BF |
 *   ED       | 80..9F  | 80..BF |
 *   EE..EF   | 80..BF  | 80..BF |
 *   F0       | 90..BF  | 80..BF | 80..BF
 *   F1..F3   | 80..BF  | 80..BF | 80..BF
 *   F4       | 80..8F  | 80..BF | 80..BF
 */
#ifndef RTW_CORE_UTF8_H
#define RTW_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtw__utf8 {
  uint32_t cp;  /* code point bits collected so far */
  uint8_t need; /* continuation bytes still needed (0: at a boundary) */
  uint8_t lo;   /* accepted range for the next continuation byte */
  uint8_t hi;
} rtw__utf8;

static inline void rtw__utf8_init(rtw__utf8 *st)
{
  st->cp = 0;
  st->need = 0;
  st->lo = 0x80;
  st->hi = 0xBF;
}

/* True when the state is at a sequence boundary. */
static inline int rtw__utf8_at_boundary(const rtw__utf8 *st)
{
  return st->need == 0;
}

/* Validate n bytes continuing from *st. Returns the number of bytes that are part of valid
 * (complete or still pending) sequences: n when nothing is wrong, otherwise the offset of the
 * first byte that makes the input invalid (fail fast). *st is updated for the bytes accepted. */
size_t rtw__utf8_validate(rtw__utf8 *st, const uint8_t *p, size_t n);

/* Length of the longest prefix of p made of complete, valid sequences, starting at a boundary.
 * Returns n for valid input that ends at a boundary. */
size_t rtw__utf8_valid_prefix(const uint8_t *p, size_t n);

/* Fused unmask + copy + validate, for a received text payload (RFC 6455 5.3 and 8.1).
 * Unmasks src[0..n) with the key word key_le (unrotated, as in lib/ws/mask.h; src[0] being
 * byte `offset` of the payload) into dst, validating the unmasked bytes as
 * rtw__utf8_validate() would, continuing from *st. dst == src is allowed; otherwise the
 * buffers must not overlap. Returns n when all bytes are valid (a sequence may stay pending in
 * *st), else the offset of the first invalid byte; dst holds at least the unmasked bytes up
 * to that offset (possibly more). One pass: SIMD loads, XOR, stores and checks each block. */
size_t rtw__utf8_unmask_copy(rtw__utf8 *st, uint8_t *dst, const uint8_t *src, size_t n,
                             uint32_t key_le, uint64_t offset);

/* The same for sending text as a client: validates src[0..n) (continuing from *st) and
 * writes it masked into dst. dst and src must not overlap. Returns as above; dst holds at
 * least the masked bytes up to the returned offset. */
size_t rtw__utf8_copy_mask(rtw__utf8 *st, uint8_t *dst, const uint8_t *src, size_t n,
                           uint32_t key_le, uint64_t offset);

/* Variants, for tests and benchmarks. rtw__utf8_level() is the widest this CPU runs (it calls
 * __builtin_cpu_init() first). The *_at functions run the given variant (call them only with
 * a level <= rtw__utf8_level()); the functions above choose per call: under 64 bytes a word
 * loop settles ASCII without asking the CPU, and only non-ASCII input of 16 bytes or more
 * goes to the AVX-512 kernel. No global state: any thread may call any of them. */
#define RTW__UTF8_PORTABLE 0
#define RTW__UTF8_AVX2 1
#define RTW__UTF8_AVX512 2
int rtw__utf8_level(void);
size_t rtw__utf8_validate_at(int level, rtw__utf8 *st, const uint8_t *p, size_t n);
size_t rtw__utf8_valid_prefix_at(int level, const uint8_t *p, size_t n);
size_t rtw__utf8_unmask_copy_at(int level, rtw__utf8 *st, uint8_t *dst, const uint8_t *src,
                                size_t n, uint32_t key_le, uint64_t offset);
size_t rtw__utf8_copy_mask_at(int level, rtw__utf8 *st, uint8_t *dst, const uint8_t *src,
                              size_t n, uint32_t key_le, uint64_t offset);

/* rtw_utf8_to_units() (rtweb/common.h) with its AVX-512 VBMI2 kernel allowed only when
 * level >= RTW__UTF8_AVX512 (and the CPU has it), for tests and benchmarks; SSE2, part of
 * x86-64, runs either way. */
int rtw__utf8_to_units_at(int level, const void *src, size_t len, void *dst, size_t dst_size,
                          size_t *count, int *width);

/* ------------------------------------------------------------------ short-text DFA
 *
 * RFC 3629 section 4 (the table above) as a DFA over a few bytes, for the WebSocket
 * small-frame fast path (lib/ws/session.c: text of up to 32 bytes that is not all ASCII,
 * where a call to the validator costs more than the bytes). A state is a bit offset, a
 * multiple of 6; the table's row for a byte holds, at each state's offset, the state that
 * byte leads to, so a byte costs one load and one shift: no branch, no call. BAD is sticky.
 * The table (lib/core/utf8.c) is a compile-time constant built from one statement of the
 * ranges; tests/core/utf8_dfa_test.c checks it against the scalar validator exhaustively.
 *
 * The states and the scalar validator's state (rtw__utf8) each one matches: */
#define RTW__UTF8_DFA_OK 0u  /* at a character boundary (need 0) */
#define RTW__UTF8_DFA_BAD 6u /* an invalid byte was seen (the validator stopped) */
#define RTW__UTF8_DFA_C1 12u /* 1, 2, 3 continuation bytes 80..BF to come (need 1, 2, 3) */
#define RTW__UTF8_DFA_C2 18u
#define RTW__UTF8_DFA_C3 24u
#define RTW__UTF8_DFA_E0 30u /* after E0: A0..BF, then one more (no overlong form) */
#define RTW__UTF8_DFA_ED 36u /* after ED: 80..9F, then one more (no surrogate) */
#define RTW__UTF8_DFA_F0 42u /* after F0: 90..BF, then two more (no overlong form) */
#define RTW__UTF8_DFA_F4 48u /* after F4: 80..8F, then two more (nothing above U+10FFFF) */

/* Row b: bits [s, s + 6) hold the state byte b leads to from state s. (Hidden, as every
 * rtw__ symbol, by the build; the linker turns the GOT load into a lea. Saying hidden here as
 * well cost gcc 8 instructions per message of bench_ws r4 in the fast loop.) */
extern const uint64_t rtw__utf8_dfa[256];

/* The DFA's end state over p[0..n), starting at a boundary: RTW__UTF8_DFA_OK when p[0..n) is
 * valid and ends at a boundary, RTW__UTF8_DFA_BAD when it holds an invalid byte (anywhere),
 * any other state when it is valid but ends inside a sequence. For short input: it takes
 * every byte (no early exit, no word loop); use rtw__utf8_validate() for more than a few
 * dozen bytes. p may be NULL when n is 0. */
static inline unsigned rtw__utf8_short(const uint8_t *p, size_t n)
{
  uint64_t st = RTW__UTF8_DFA_OK;
  size_t i;

  for (i = 0; i < n; i++)
    st = rtw__utf8_dfa[p[i]] >> (st & 63u);
  return (unsigned)(st & 63u);
}

/* Decode n bytes with replacement, continuing from *st, writing valid UTF-8 to out (when out
 * is NULL, only count). Returns the bytes written (or that would be). An incomplete sequence
 * at the end stays pending in *st. out needs room for n * 3 + 3 bytes at most. */
size_t rtw__utf8_decode(rtw__utf8 *st, const uint8_t *p, size_t n, uint8_t *out);

/* End of input: a pending incomplete sequence becomes one U+FFFD. Returns bytes written
 * (0 or 3); out may be NULL to count. Resets *st. */
size_t rtw__utf8_flush(rtw__utf8 *st, uint8_t *out);

#endif /* RTW_CORE_UTF8_H */
