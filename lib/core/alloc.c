/* SPDX-License-Identifier: MIT */
/* Allocator hooks: the one file in lib/ that calls the C library's allocator. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *libc_malloc(size_t size, void *ud)
{
  (void)ud;
  return malloc(size);
}

static void *libc_calloc(size_t nmemb, size_t size, void *ud)
{
  (void)ud;
  return calloc(nmemb, size);
}

static void *libc_realloc(void *ptr, size_t size, void *ud)
{
  (void)ud;
  return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ud)
{
  (void)ud;
  free(ptr);
}

int rtw__mem_init(rtw_mem *out, const rtw_mem *in)
{
  if (in == NULL) {
    out->malloc_fn = libc_malloc;
    out->calloc_fn = libc_calloc;
    out->realloc_fn = libc_realloc;
    out->free_fn = libc_free;
    out->user_data = NULL;
    return 0;
  }
  if (!in->malloc_fn || !in->calloc_fn || !in->realloc_fn || !in->free_fn)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = *in;
  return 0;
}

void *rtw__mem_malloc(const rtw_mem *mem, size_t size)
{
  return mem->malloc_fn(size, mem->user_data);
}

void *rtw__mem_calloc(const rtw_mem *mem, size_t nmemb, size_t size)
{
  return mem->calloc_fn(nmemb, size, mem->user_data);
}

void *rtw__mem_realloc(const rtw_mem *mem, void *ptr, size_t size)
{
  if (ptr == NULL)
    return mem->malloc_fn(size, mem->user_data);
  return mem->realloc_fn(ptr, size, mem->user_data);
}

void rtw__mem_free(const rtw_mem *mem, void *ptr)
{
  if (ptr != NULL)
    mem->free_fn(ptr, mem->user_data);
}

int rtw__buf_reserve(rtw__buf *b, const rtw_mem *mem, size_t extra)
{
  size_t need, cap;
  char *p;

  if (extra <= b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX - b->len)
    return RTW_ERR_NOMEM;
  need = b->len + extra;
  /* Grow geometrically so appends are amortised O(1); start at 256 bytes. */
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = rtw__mem_realloc(mem, b->data, cap);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int rtw__buf_append(rtw__buf *b, const rtw_mem *mem, const void *p, size_t n)
{
  int rv;

  if (n == 0)
    return 0;
  rv = rtw__buf_reserve(b, mem, n);
  if (rv != 0)
    return rv;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void rtw__buf_free(rtw__buf *b, const rtw_mem *mem)
{
  rtw__mem_free(mem, b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
