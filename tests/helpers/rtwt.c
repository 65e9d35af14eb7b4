/* SPDX-License-Identifier: MIT */
/* Test helpers: event log, input splitter, failing and counting allocators. See rtwt.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"

void rtwt_log_init(rtwt_log *log)
{
  log->cap = 256;
  log->len = 0;
  log->buf = malloc(log->cap);
  assert_non_null(log->buf);
  log->buf[0] = '\0';
}

void rtwt_log_free(rtwt_log *log)
{
  free(log->buf);
  log->buf = NULL;
  log->len = log->cap = 0;
}

void rtwt_log_clear(rtwt_log *log)
{
  log->len = 0;
  log->buf[0] = '\0';
}

static void reserve(rtwt_log *log, size_t extra)
{
  while (log->len + extra + 1 > log->cap) {
    log->cap *= 2;
    log->buf = realloc(log->buf, log->cap);
    assert_non_null(log->buf);
  }
}

void rtwt_log_printf(rtwt_log *log, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  reserve(log, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(log->buf + log->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  log->len += (size_t)n;
}

void rtwt_log_bytes(rtwt_log *log, const void *p, size_t n)
{
  const unsigned char *s = p;
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = s[i];
    switch (c) {
    case '\n': rtwt_log_printf(log, "\\n"); break;
    case '\r': rtwt_log_printf(log, "\\r"); break;
    case '\t': rtwt_log_printf(log, "\\t"); break;
    case '\\': rtwt_log_printf(log, "\\\\"); break;
    case '"': rtwt_log_printf(log, "\\\""); break;
    default:
      if (c < 0x20 || c >= 0x7F)
        rtwt_log_printf(log, "\\x%02X", c);
      else
        rtwt_log_printf(log, "%c", c);
    }
  }
}

static void run_pieces(rtwt_feed_fn feed, void *arg, const uint8_t *in, size_t len,
                       const size_t *pieces, size_t npieces, rtwt_log *log)
{
  rtwt_log_clear(log);
  feed(arg, in, len, pieces, npieces, log);
}

static void expect_same(const rtwt_log *ref, const rtwt_log *got, const char *how, size_t at)
{
  if (ref->len != got->len || memcmp(ref->buf, got->buf, ref->len) != 0) {
    print_error("split mismatch (%s %zu)\n--- whole input:\n%s\n--- split:\n%s\n", how, at,
                ref->buf, got->buf);
    fail();
  }
}

void rtwt_check_splits(rtwt_feed_fn feed, void *arg, const void *in_, size_t len,
                       const char *expected)
{
  const uint8_t *in = in_;
  rtwt_log ref, got;
  size_t *ones, two[2], i, step;

  rtwt_log_init(&ref);
  rtwt_log_init(&got);

  two[0] = len;
  run_pieces(feed, arg, in, len, two, len ? 1 : 0, &ref);
  if (expected != NULL && strcmp(ref.buf, expected) != 0) {
    print_error("--- expected:\n%s\n--- got:\n%s\n", expected, ref.buf);
    fail();
  }

  ones = malloc((len ? len : 1) * sizeof *ones);
  assert_non_null(ones);
  for (i = 0; i < len; i++)
    ones[i] = 1;
  run_pieces(feed, arg, in, len, ones, len, &got);
  expect_same(&ref, &got, "byte by byte", 0);
  free(ones);

  step = len > 4096 ? len / 4096 : 1;
  for (i = 1; i < len; i++) {
    if (step > 1 && i > 64 && i + 64 < len && i % step != 0)
      continue;
    two[0] = i;
    two[1] = len - i;
    run_pieces(feed, arg, in, len, two, 2, &got);
    expect_same(&ref, &got, "split at", i);
  }
  rtwt_log_free(&ref);
  rtwt_log_free(&got);
}

void rtwt_check_splits_str(rtwt_feed_fn feed, void *arg, const char *in, const char *expected)
{
  rtwt_check_splits(feed, arg, in, strlen(in), expected);
}

/* ------------------------------------------------------------------ failing allocator */

static int refuse(rtwt_failmem *fm)
{
  fm->count++;
  if (fm->fail_at > 0 && fm->count == fm->fail_at) {
    fm->failed++;
    return 1;
  }
  return 0;
}

static void *fm_malloc(size_t size, void *ud)
{
  rtwt_failmem *fm = ud;
  void *p;

  if (refuse(fm))
    return NULL;
  p = malloc(size ? size : 1);
  if (p)
    fm->live++;
  return p;
}

static void *fm_calloc(size_t n, size_t size, void *ud)
{
  rtwt_failmem *fm = ud;
  void *p;

  if (refuse(fm))
    return NULL;
  p = calloc(n ? n : 1, size ? size : 1);
  if (p)
    fm->live++;
  return p;
}

static void *fm_realloc(void *ptr, size_t size, void *ud)
{
  rtwt_failmem *fm = ud;

  assert_non_null(ptr); /* rtw_mem contract: never called with NULL */
  assert_true(size > 0);
  if (refuse(fm))
    return NULL;
  return realloc(ptr, size);
}

static void fm_free(void *ptr, void *ud)
{
  rtwt_failmem *fm = ud;

  assert_non_null(ptr); /* rtw_mem contract: never called with NULL */
  fm->live--;
  free(ptr);
}

void rtwt_failmem_init(rtwt_failmem *fm, long fail_at)
{
  memset(fm, 0, sizeof *fm);
  fm->fail_at = fail_at;
  fm->mem.malloc_fn = fm_malloc;
  fm->mem.calloc_fn = fm_calloc;
  fm->mem.realloc_fn = fm_realloc;
  fm->mem.free_fn = fm_free;
  fm->mem.user_data = fm;
}

long rtwt_check_alloc_failures(rtwt_alloc_scenario fn, void *arg)
{
  rtwt_failmem fm;
  long n;
  int rv;

  for (n = 1;; n++) {
    rtwt_failmem_init(&fm, n);
    rv = fn(&fm.mem, arg);
    if (fm.live != 0) {
      print_error("allocation %ld failing: %ld block(s) leaked\n", n, fm.live);
      fail();
    }
    if (fm.failed == 0) {
      if (rv != 0) {
        print_error("no allocation failed but the scenario returned %d (%s)\n", rv,
                    rtw_err_name(rv));
        fail();
      }
      return n - 1;
    }
    if (rv != RTW_ERR_NOMEM) {
      print_error("allocation %ld failing: scenario returned %d (%s), expected RTW_ERR_NOMEM\n",
                  n, rv, rtw_err_name(rv));
      fail();
    }
    assert_true(n < 100000);
  }
}

/* ------------------------------------------------------------------ counting allocator */

/* Each block is [size_t size | padding to 16 bytes | user bytes], keeping the user pointer
 * aligned like malloc's on the usual targets. */
#define CM_HDR 16u

typedef char rtwt_cm_hdr_fits[sizeof(size_t) <= CM_HDR ? 1 : -1];

static void cm_grow(rtwt_countmem *cm, size_t n)
{
  cm->cur += n;
  if (cm->cur > cm->peak)
    cm->peak = cm->cur;
}

static void *cm_malloc(size_t n, void *ud)
{
  rtwt_countmem *cm = ud;
  unsigned char *p;

  if (n > SIZE_MAX - CM_HDR)
    return NULL;
  p = malloc(n + CM_HDR);
  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof n);
  cm_grow(cm, n);
  cm->live++;
  cm->allocs++;
  cm->last = p + CM_HDR;
  cm->last_len = n;
  return p + CM_HDR;
}

static void *cm_calloc(size_t k, size_t n, void *ud)
{
  void *p;

  if (n != 0 && k > SIZE_MAX / n)
    return NULL;
  p = cm_malloc(k * n, ud);
  if (p != NULL)
    memset(p, 0, k * n);
  return p;
}

static void *cm_realloc(void *ptr, size_t n, void *ud)
{
  rtwt_countmem *cm = ud;
  unsigned char *p, *q;
  size_t old;

  if (ptr == NULL)
    return cm_malloc(n, ud);
  if (n > SIZE_MAX - CM_HDR)
    return NULL;
  p = (unsigned char *)ptr - CM_HDR;
  memcpy(&old, p, sizeof old);
  q = realloc(p, n + CM_HDR);
  if (q == NULL)
    return NULL;
  memcpy(q, &n, sizeof n);
  cm->cur -= old;
  cm_grow(cm, n);
  cm->allocs++;
  return q + CM_HDR;
}

static void cm_free(void *ptr, void *ud)
{
  rtwt_countmem *cm = ud;
  unsigned char *p;
  size_t n;

  if (ptr == NULL)
    return;
  p = (unsigned char *)ptr - CM_HDR;
  memcpy(&n, p, sizeof n);
  cm->cur -= n;
  cm->live--;
  free(p);
}

void rtwt_countmem_init(rtwt_countmem *cm)
{
  memset(cm, 0, sizeof *cm);
  cm->mem.malloc_fn = cm_malloc;
  cm->mem.calloc_fn = cm_calloc;
  cm->mem.realloc_fn = cm_realloc;
  cm->mem.free_fn = cm_free;
  cm->mem.user_data = cm;
}
