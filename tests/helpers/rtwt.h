/* SPDX-License-Identifier: MIT */
/* Test helpers shared by every cmocka test: an event log, the input splitter, the failing
 * allocator and the counting allocator. Include after <cmocka.h>'s prerequisites (this header
 * includes them). */
#ifndef RTWT_H
#define RTWT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtweb/common.h"

/* ------------------------------------------------------------------ event log */

/* A growable text log of what callbacks saw; two runs agree when their logs are equal. */
typedef struct rtwt_log {
  char *buf; /* always NUL-terminated (after rtwt_log_init) */
  size_t len;
  size_t cap;
} rtwt_log;

void rtwt_log_init(rtwt_log *log);
void rtwt_log_free(rtwt_log *log);
void rtwt_log_clear(rtwt_log *log);
void rtwt_log_printf(rtwt_log *log, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append bytes escaped C-style (\n, \r, \t, \\, \", \xHH for other controls and bytes >= 0x7F),
 * so logs are readable and byte-exact. */
void rtwt_log_bytes(rtwt_log *log, const void *p, size_t n);

/* ------------------------------------------------------------------ splitter */

/* Feed `len` bytes of `in` to a fresh object in `npieces` consecutive pieces of the given
 * lengths (summing to len), and log everything observed, including the final status. */
typedef void (*rtwt_feed_fn)(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                             size_t npieces, rtwt_log *log);

/* Feed `in` whole, byte by byte, and split in two at every offset (for inputs longer than
 * 4096 bytes, at 4096 offsets spread over the input plus the first and last 64), and assert
 * that every log equals the whole-input log. When `expected` is not NULL, the whole-input log
 * must also equal it. */
void rtwt_check_splits(rtwt_feed_fn feed, void *arg, const void *in, size_t len,
                       const char *expected);

/* Same, with the splits described by a NUL-terminated string. */
void rtwt_check_splits_str(rtwt_feed_fn feed, void *arg, const char *in, const char *expected);

/* ------------------------------------------------------------------ failing allocator */

typedef struct rtwt_failmem {
  rtw_mem mem;       /* pass &fm.mem to the code under test */
  long fail_at;      /* 1-based index of the allocation that fails; 0 = never */
  long count;        /* allocations attempted (malloc, calloc, realloc) */
  long failed;       /* allocations refused */
  long live;         /* blocks currently allocated */
} rtwt_failmem;

void rtwt_failmem_init(rtwt_failmem *fm, long fail_at);

/* A scenario creates objects with `mem`, exercises them, frees them and returns 0 or the
 * first error it met. */
typedef int (*rtwt_alloc_scenario)(const rtw_mem *mem, void *arg);

/* Run the scenario with the 1st, 2nd, ... allocation failing until a run makes no failing
 * allocation. Each run must return RTW_ERR_NOMEM when an allocation failed (0 otherwise) and
 * must leave no block allocated. Returns the number of allocation sites exercised. */
long rtwt_check_alloc_failures(rtwt_alloc_scenario fn, void *arg);

/* ------------------------------------------------------------------ counting allocator */

/* An allocator whose blocks carry their size in a header, so the bytes in use and their peak
 * are exact. It never refuses an allocation (beyond the system's). */
typedef struct rtwt_countmem {
  rtw_mem mem;          /* pass &cm.mem to the code under test */
  size_t cur;           /* bytes currently allocated (requested sizes, headers excluded) */
  size_t peak;          /* highest value `cur` reached */
  long live;            /* blocks currently allocated */
  long allocs;          /* successful allocations (malloc, calloc, realloc) */
  const void *last;     /* the latest block malloc or calloc handed out (not realloc) */
  size_t last_len;      /* its size */
} rtwt_countmem;

void rtwt_countmem_init(rtwt_countmem *cm);

#endif /* RTWT_H */
