/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets: checks, an input reader, a PRNG, a failing allocator
 * that counts live blocks, a text event log and a UTF-8 validator independent of lib/. */
#ifndef RTW_FUZZ_COMMON_H
#define RTW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "rtweb/common.h"

/* The libFuzzer entry point every target defines (replay_main.c calls it too). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------ checks */

#if defined(__GNUC__) || defined(__clang__)
#  define FUZZ_NORETURN __attribute__((noreturn))
#else
#  define FUZZ_NORETURN
#endif

/* Print where and what failed, then abort(): libFuzzer and the replay driver report it. */
FUZZ_NORETURN void fuzz_fail(const char *file, int line, const char *what);

/* An oracle check. Unlike assert() it stays on in every build type. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

/* ------------------------------------------------------------------ input reader */

/* Consumes the fuzz input from the front; reads past the end yield zeros. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

uint8_t fuzz_u8(fuzz_in *in);
uint16_t fuzz_u16(fuzz_in *in); /* little endian */
uint32_t fuzz_u32(fuzz_in *in); /* little endian */
/* Take up to `want` bytes; *got receives how many (fewer at the end of the input). */
const uint8_t *fuzz_take(fuzz_in *in, size_t want, size_t *got);

/* ------------------------------------------------------------------ PRNG */

/* xorshift32: deterministic piece sizes and pause decisions from a seed in the input. */
typedef struct fuzz_rng {
  uint32_t s;
} fuzz_rng;

void fuzz_rng_seed(fuzz_rng *r, uint32_t seed);
uint32_t fuzz_rng_next(fuzz_rng *r);
/* A value in [0, n); n must be > 0. */
size_t fuzz_rng_below(fuzz_rng *r, size_t n);

/* ------------------------------------------------------------------ failing allocator */

/* rtw_mem hooks that refuse the fail_at-th allocation (malloc, calloc or realloc, 1-based;
 * 0 = never) or, in mask mode, those the mask selects, count live blocks and check the rtw_mem contract (free and realloc never get
 * NULL, realloc never gets size 0). */
typedef struct fuzz_mem {
  rtw_mem mem; /* pass &fm.mem to the library */
  unsigned long fail_at;
  unsigned long count;  /* allocations attempted */
  unsigned long failed; /* allocations refused */
  unsigned long live;   /* blocks currently allocated */
  uint16_t mask;        /* with mask_mode: bit k = allocation k+1 fails */
  int mask_mode;
  int scheduled;        /* counted in fuzz_sweep */
} fuzz_mem;

void fuzz_mem_init(fuzz_mem *fm, unsigned long fail_at);

/* ------------------------------------------------------------------ allocation schedules
 *
 * A schedule says which allocations of a run fail. Targets take it from the input: the
 * HTTP targets (http_server_handshake, http_client_handshake, sse_http_client,
 * sse_http_request) read two bytes with fuzz_mem_init_schedule(); the older targets keep
 * their one byte "fail the Nth"
 * (sse_roundtrip: five bits) and pass it through fuzz_mem_scheduled(). Two-byte schedule,
 * little endian:
 *
 *   bit 15 clear: fail the Nth allocation, N = bits 0..14 (0 = none fails);
 *   bit 15 set:   bits 0..14 are a mask, bit k set = allocation k+1 fails (several may).
 *
 * The replay driver's --alloc-sweep mode overrides the input's choice (the bytes are still
 * consumed, so the rest of the input means the same): each input runs once with nothing
 * failing to count its failable allocations, then once with each of them failing in turn.
 * A target reports through fuzz_mem_saw() every result of a call that may allocate; the
 * sweep then checks that every refused allocation was followed by an error result:
 * RTW_ERR_NOMEM, or the sticky error of an object that had already failed (the targets'
 * own oracles check which one is right). */

/* Set by the sweep driver; 0 = off (use the input's schedule). */
extern int fuzz_sweep_active;
extern unsigned long fuzz_sweep_fail_at; /* 0 = nothing fails (the counting run) */
/* Totals over the scheduled allocators of the current input (reset by the driver). */
typedef struct fuzz_sweep_stats {
  unsigned long count;  /* scheduled allocations attempted */
  unsigned long failed; /* refused */
  unsigned long nomem;  /* RTW_ERR_NOMEM results reported through fuzz_mem_saw() */
  unsigned long errors; /* other errors reported (an object that had already failed keeps
                           its first error, sticky, when a later allocation is refused) */
} fuzz_sweep_stats;
extern fuzz_sweep_stats fuzz_sweep;

/* A fail_at taken from the input for a run that may fail allocations: the sweep's choice
 * when the sweep is on, else `from_input`. Marks nothing; use with fuzz_mem_init() and then
 * fuzz_mem_mark_scheduled(). */
unsigned long fuzz_mem_scheduled(unsigned long from_input);
/* Count this allocator's attempts and refusals in fuzz_sweep (call after fuzz_mem_init for
 * the allocator whose failures the input or the sweep chooses). */
void fuzz_mem_mark_scheduled(fuzz_mem *fm);
/* Read a two-byte schedule from the input and initialise a scheduled allocator with it. */
void fuzz_mem_init_schedule(fuzz_mem *fm, fuzz_in *in);
/* Report an API result; returns rv. Counts RTW_ERR_NOMEM for the sweep. */
int fuzz_mem_saw(int rv);
/* Abort unless every block was returned (call after freeing every object). */
void fuzz_mem_check_clean(const fuzz_mem *fm);

/* ------------------------------------------------------------------ bytes */

/* The first occurrence of the NUL-terminated needle in hay[0..hn), or NULL. */
const uint8_t *fuzz_find(const void *hay, size_t hn, const char *needle);

/* ------------------------------------------------------------------ UTF-8 */

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), or 0 if none starts there.
 * Written from RFC 3629 section 4 (code point ranges), not from lib/core/utf8.c's table. */
size_t fuzz_utf8_seq(const uint8_t *s, size_t n);
/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
int fuzz_utf8_valid(const void *s, size_t n);

/* ------------------------------------------------------------------ event log */

/* A growable text log of what callbacks saw; runs agree when their logs are byte-equal. */
typedef struct fuzz_log {
  char *p;
  size_t len;
  size_t cap;
} fuzz_log;

void fuzz_log_clear(fuzz_log *log);
void fuzz_log_free(fuzz_log *log);
void fuzz_log_str(fuzz_log *log, const char *s);
void fuzz_log_num(fuzz_log *log, unsigned long long v);
/* Append bytes between quotes, C-escaped (\n, \r, \\, \", \xHH for controls and bytes >= 0x7F). */
void fuzz_log_esc(fuzz_log *log, const void *p, size_t n);
/* Raw append (no escaping). */
void fuzz_log_raw(fuzz_log *log, const void *p, size_t n);
int fuzz_log_equal(const fuzz_log *a, const fuzz_log *b);
/* Abort, printing both logs, unless they are equal. */
void fuzz_log_expect_equal(const char *what, const fuzz_log *expected, const fuzz_log *actual);

#endif /* RTW_FUZZ_COMMON_H */
