/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ checks */

void fuzz_fail(const char *file, int line, const char *what)
{
  fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  fflush(stderr);
  abort();
}

/* ------------------------------------------------------------------ input reader */

uint8_t fuzz_u8(fuzz_in *in)
{
  uint8_t v;

  if (in->n == 0)
    return 0;
  v = in->p[0];
  in->p++;
  in->n--;
  return v;
}

uint16_t fuzz_u16(fuzz_in *in)
{
  uint16_t lo = fuzz_u8(in);

  return (uint16_t)(lo | (uint16_t)(fuzz_u8(in) << 8));
}

uint32_t fuzz_u32(fuzz_in *in)
{
  uint32_t lo = fuzz_u16(in);

  return lo | ((uint32_t)fuzz_u16(in) << 16);
}

const uint8_t *fuzz_take(fuzz_in *in, size_t want, size_t *got)
{
  const uint8_t *p = in->p;

  *got = want < in->n ? want : in->n;
  in->p += *got;
  in->n -= *got;
  return p;
}

/* ------------------------------------------------------------------ PRNG */

void fuzz_rng_seed(fuzz_rng *r, uint32_t seed)
{
  /* xorshift32 must not start at 0; mixing also spreads small seeds. */
  r->s = seed * 2654435761u + 0x9E3779B9u;
  if (r->s == 0)
    r->s = 1;
}

uint32_t fuzz_rng_next(fuzz_rng *r)
{
  uint32_t x = r->s;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  r->s = x;
  return x;
}

size_t fuzz_rng_below(fuzz_rng *r, size_t n)
{
  return (size_t)fuzz_rng_next(r) % n;
}

/* ------------------------------------------------------------------ failing allocator */

static int refuse(fuzz_mem *fm)
{
  int no;

  fm->count++;
  if (fm->mask_mode)
    no = fm->count <= 15 && (((unsigned)fm->mask >> (fm->count - 1)) & 1u) != 0;
  else
    no = fm->fail_at != 0 && fm->count == fm->fail_at;
  if (fm->scheduled) {
    fuzz_sweep.count++;
    fuzz_sweep.failed += (unsigned long)no;
  }
  if (no)
    fm->failed++;
  return no;
}

static void *fm_malloc(size_t size, void *ud)
{
  fuzz_mem *fm = ud;
  void *p;

  if (refuse(fm))
    return NULL;
  p = malloc(size ? size : 1);
  if (p != NULL)
    fm->live++;
  return p;
}

static void *fm_calloc(size_t nmemb, size_t size, void *ud)
{
  fuzz_mem *fm = ud;
  void *p;

  if (refuse(fm))
    return NULL;
  p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if (p != NULL)
    fm->live++;
  return p;
}

static void *fm_realloc(void *ptr, size_t size, void *ud)
{
  fuzz_mem *fm = ud;

  FUZZ_CHECK(ptr != NULL); /* rtw_mem contract: realloc_fn never gets NULL ... */
  FUZZ_CHECK(size > 0);    /* ... nor a zero size */
  if (refuse(fm))
    return NULL;
  return realloc(ptr, size);
}

static void fm_free(void *ptr, void *ud)
{
  fuzz_mem *fm = ud;

  FUZZ_CHECK(ptr != NULL); /* rtw_mem contract: free_fn never gets NULL */
  FUZZ_CHECK(fm->live > 0);
  fm->live--;
  free(ptr);
}

void fuzz_mem_init(fuzz_mem *fm, unsigned long fail_at)
{
  memset(fm, 0, sizeof *fm);
  fm->fail_at = fail_at;
  fm->mem.malloc_fn = fm_malloc;
  fm->mem.calloc_fn = fm_calloc;
  fm->mem.realloc_fn = fm_realloc;
  fm->mem.free_fn = fm_free;
  fm->mem.user_data = fm;
}

int fuzz_sweep_active;
unsigned long fuzz_sweep_fail_at;
fuzz_sweep_stats fuzz_sweep;

unsigned long fuzz_mem_scheduled(unsigned long from_input)
{
  return fuzz_sweep_active ? fuzz_sweep_fail_at : from_input;
}

void fuzz_mem_mark_scheduled(fuzz_mem *fm)
{
  fm->scheduled = 1;
}

void fuzz_mem_init_schedule(fuzz_mem *fm, fuzz_in *in)
{
  uint16_t s = fuzz_u16(in);

  if (fuzz_sweep_active) {
    fuzz_mem_init(fm, fuzz_sweep_fail_at);
  } else if (s & 0x8000u) {
    fuzz_mem_init(fm, 0);
    fm->mask_mode = 1;
    fm->mask = (uint16_t)(s & 0x7FFFu);
  } else {
    fuzz_mem_init(fm, s);
  }
  fm->scheduled = 1;
}

int fuzz_mem_saw(int rv)
{
  if (rv == RTW_ERR_NOMEM)
    fuzz_sweep.nomem++;
  else if (rv < 0 && rv != RTW_ERR_PAUSE)
    fuzz_sweep.errors++;
  return rv;
}

void fuzz_mem_check_clean(const fuzz_mem *fm)
{
  if (fm->live != 0) {
    fprintf(stderr, "fuzz: %lu block(s) leaked (allocation %lu of %lu refused)\n", fm->live,
            fm->fail_at, fm->count);
    fuzz_fail(__FILE__, __LINE__, "fm->live == 0");
  }
}

/* ------------------------------------------------------------------ UTF-8 */

/* RFC 3629 section 4: decode the code point, then reject what the ranges exclude. */
size_t fuzz_utf8_seq(const uint8_t *s, size_t n)
{
  uint32_t cp, min;
  size_t len, i;

  if (n == 0)
    return 0;
  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xE0) == 0xC0) {
    len = 2, cp = s[0] & 0x1Fu, min = 0x80;
  } else if ((s[0] & 0xF0) == 0xE0) {
    len = 3, cp = s[0] & 0x0Fu, min = 0x800;
  } else if ((s[0] & 0xF8) == 0xF0) {
    len = 4, cp = s[0] & 0x07u, min = 0x10000;
  } else {
    return 0; /* a continuation byte or F8..FF */
  }
  if (n < len)
    return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0; /* overlong, beyond Unicode, or a surrogate */
  return len;
}

const uint8_t *fuzz_find(const void *hay, size_t hn, const char *needle)
{
  const uint8_t *h = hay;
  size_t n = strlen(needle), i;

  for (i = 0; n <= hn && i <= hn - n; i++)
    if (memcmp(h + i, needle, n) == 0)
      return h + i;
  return NULL;
}

int fuzz_utf8_valid(const void *p, size_t n)
{
  const uint8_t *s = p;
  size_t i = 0, k;

  while (i < n) {
    k = fuzz_utf8_seq(s + i, n - i);
    if (k == 0)
      return 0;
    i += k;
  }
  return 1;
}

/* ------------------------------------------------------------------ event log */

void fuzz_log_raw(fuzz_log *log, const void *p, size_t n)
{
  if (n == 0)
    return;
  if (n > log->cap - log->len) {
    size_t cap = log->cap ? log->cap : 256;
    while (cap - log->len < n)
      cap *= 2;
    log->p = realloc(log->p, cap);
    FUZZ_CHECK(log->p != NULL);
    log->cap = cap;
  }
  memcpy(log->p + log->len, p, n);
  log->len += n;
}

void fuzz_log_clear(fuzz_log *log)
{
  log->len = 0;
}

void fuzz_log_free(fuzz_log *log)
{
  free(log->p);
  log->p = NULL;
  log->len = log->cap = 0;
}

void fuzz_log_str(fuzz_log *log, const char *s)
{
  fuzz_log_raw(log, s, strlen(s));
}

void fuzz_log_num(fuzz_log *log, unsigned long long v)
{
  char tmp[24];
  int k = snprintf(tmp, sizeof tmp, "%llu", v);

  fuzz_log_raw(log, tmp, (size_t)k);
}

void fuzz_log_esc(fuzz_log *log, const void *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const uint8_t *s = p;
  char e[4];
  size_t i;

  fuzz_log_raw(log, "\"", 1);
  for (i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '\n') {
      fuzz_log_raw(log, "\\n", 2);
    } else if (c == '\r') {
      fuzz_log_raw(log, "\\r", 2);
    } else if (c == '\\' || c == '"') {
      e[0] = '\\', e[1] = (char)c;
      fuzz_log_raw(log, e, 2);
    } else if (c < 0x20 || c >= 0x7F) {
      e[0] = '\\', e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15];
      fuzz_log_raw(log, e, 4);
    } else {
      fuzz_log_raw(log, &c, 1);
    }
  }
  fuzz_log_raw(log, "\"", 1);
}

int fuzz_log_equal(const fuzz_log *a, const fuzz_log *b)
{
  return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

void fuzz_log_expect_equal(const char *what, const fuzz_log *expected, const fuzz_log *actual)
{
  if (fuzz_log_equal(expected, actual))
    return;
  fprintf(stderr, "fuzz: %s: logs differ\n--- expected\n%.*s--- actual\n%.*s---\n", what,
          (int)expected->len, expected->p ? expected->p : "", (int)actual->len,
          actual->p ? actual->p : "");
  fuzz_fail(__FILE__, __LINE__, what);
}
