/* SPDX-License-Identifier: MIT */
/* HTTP field helpers: tokens, lists and value checks (RFC 9110 section 5). See fields.h. */
#include <string.h>

#include "fields.h"

static int lower(int c)
{
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int rtw__http_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i;
  if (alen != blen)
    return 0;
  for (i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

static int is_tchar(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int rtw__http_is_token(const char *p, size_t n)
{
  size_t i;
  if (n == 0)
    return 0;
  for (i = 0; i < n; i++)
    if (!is_tchar((unsigned char)p[i]))
      return 0;
  return 1;
}

int rtw__http_value_ok(const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7F)
      return 0;
  }
  return 1;
}

int rtw__http_plain_ok(const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] == 0x7F)
      return 0;
  return 1;
}

static int is_ows(char c)
{
  return c == ' ' || c == '\t';
}

/* Advance past one element: stop at a comma outside a quoted-string (RFC 9110 5.6.4). */
static const char *element_end(const char *p, const char *end)
{
  int quoted = 0;
  for (; p < end; p++) {
    if (quoted && *p == '\\' && p + 1 < end)
      p++;
    else if (*p == '"')
      quoted = !quoted;
    else if (!quoted && *p == ',')
      break;
  }
  return p;
}

int rtw__http_list_next(const char **pos, const char *end, const char **elem, size_t *len)
{
  const char *p = *pos, *e;

  while (p < end) {
    e = element_end(p, end);
    *pos = e < end ? e + 1 : e;
    while (p < e && is_ows(*p))
      p++;
    while (e > p && is_ows(e[-1]))
      e--;
    if (e > p) {
      *elem = p;
      *len = (size_t)(e - p);
      return 1;
    }
    p = *pos;
  }
  *pos = end;
  return 0;
}

void rtw__http_list_begin(rtw__http_list_iter *it, const rtw__http1 *h, const char *name,
                          size_t name_len)
{
  memset(it, 0, sizeof *it);
  it->h = h;
  it->name = name;
  it->name_len = name_len;
}

/* Move to the next field line named it->name; 0 when there is none. */
static int next_line(rtw__http_list_iter *it)
{
  const char *n, *v;
  size_t nlen, vlen;

  while (it->field < rtw__http1_header_count(it->h)) {
    rtw__http1_header_at(it->h, it->field++, &n, &nlen, &v, &vlen);
    it->work++;
    if (rtw__http_ieq(n, nlen, it->name, it->name_len)) {
      it->pos = v;
      it->end = v + vlen;
      return 1;
    }
  }
  return 0;
}

int rtw__http_list_iter_next(rtw__http_list_iter *it, const char **elem, size_t *len)
{
  for (;;) {
    const char *start = it->pos;
    int found = it->pos != NULL && rtw__http_list_next(&it->pos, it->end, elem, len);

    it->work += (size_t)(it->pos - start);
    if (found)
      return 1;
    if (!next_line(it)) {
      *elem = "";
      *len = 0;
      return 0;
    }
  }
}

typedef struct span32 {
  uint32_t off, len;
} span32;

/* Room for exactly `size` bytes (not the geometric growth of rtw__buf_reserve): the index's
 * memory is then exactly 8 bytes per element. */
static int reserve_exact(rtw__buf *b, const rtw_mem *mem, size_t size)
{
  char *p;

  if (size <= b->cap)
    return 0;
  p = rtw__mem_realloc(mem, b->data, size);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  b->data = p;
  b->cap = size;
  return 0;
}

int rtw__http_list_index_build(rtw__http_list_index *idx, const rtw__http1 *h,
                               const char *name, size_t name_len, const rtw_mem *mem)
{
  rtw__http_list_iter it;
  const char *e;
  size_t n, count = 0;
  span32 sp;
  int rv;

  rtw__http_list_index_clear(idx);
  /* first pass: count, so the size is known (and bounded by the head) before allocating */
  rtw__http_list_begin(&it, h, name, name_len);
  while (rtw__http_list_iter_next(&it, &e, &n)) {
    if (count == 0)
      idx->base = e;
    if ((size_t)(e - idx->base) + n > UINT32_MAX)
      return RTW_ERR_HTTP_HEAD_TOO_LARGE;
    count++;
  }
  idx->work = it.work;
  if (count == 0)
    return 0;
  /* each element took at least one byte of the head, which max_head_size bounds */
  if (count > rtw__http1_head_len(h))
    return RTW_ERR_HTTP_HEAD_TOO_LARGE;
  if ((rv = reserve_exact(&idx->spans, mem, count * sizeof sp)) != 0)
    return rv;
  rtw__http_list_begin(&it, h, name, name_len);
  while (rtw__http_list_iter_next(&it, &e, &n)) {
    sp.off = (uint32_t)(e - idx->base);
    sp.len = (uint32_t)n;
    memcpy(idx->spans.data + idx->spans.len, &sp, sizeof sp); /* room reserved above */
    idx->spans.len += sizeof sp;
  }
  idx->work += it.work;
  idx->count = count;
  return 0;
}

static span32 span_at(const rtw__http_list_index *idx, size_t i)
{
  span32 sp;
  memcpy(&sp, idx->spans.data + i * sizeof sp, sizeof sp);
  return sp;
}

int rtw__http_list_index_at(const rtw__http_list_index *idx, size_t i, const char **elem,
                            size_t *len)
{
  span32 sp;

  if (i >= idx->count) {
    *elem = "";
    *len = 0;
    return 0;
  }
  sp = span_at(idx, i);
  *elem = idx->base + sp.off;
  *len = sp.len;
  return 1;
}

size_t rtw__http_list_index_find_span(const rtw__http_list_index *idx, const char *p, size_t n)
{
  size_t lo = 0, hi = idx->count, mid;
  uintptr_t want, at;
  span32 sp;

  if (idx->count == 0)
    return SIZE_MAX;
  /* compare addresses as integers: p may point anywhere (the host's own buffer) */
  want = (uintptr_t)p;
  while (lo < hi) { /* entries are in increasing offset order */
    mid = lo + (hi - lo) / 2;
    sp = span_at(idx, mid);
    at = (uintptr_t)idx->base + sp.off;
    if (at == want)
      return sp.len == n ? mid : SIZE_MAX;
    if (at < want)
      lo = mid + 1;
    else
      hi = mid;
  }
  return SIZE_MAX;
}

void rtw__http_list_index_clear(rtw__http_list_index *idx)
{
  idx->spans.len = 0;
  idx->base = NULL;
  idx->count = 0;
  idx->work = 0;
}

void rtw__http_list_index_free(rtw__http_list_index *idx, const rtw_mem *mem)
{
  rtw__buf_free(&idx->spans, mem);
  rtw__http_list_index_clear(idx);
}

int rtw__http_has_token(const rtw__http1 *h, const char *name, const char *token)
{
  rtw__http_list_iter it;
  const char *elem;
  size_t elen;

  rtw__http_list_begin(&it, h, name, strlen(name));
  while (rtw__http_list_iter_next(&it, &elem, &elen))
    if (rtw__http_ieq(elem, elen, token, strlen(token)))
      return 1;
  return 0;
}

void rtw__http_ext_name(const char *elem, size_t len, const char **name, size_t *name_len)
{
  size_t n = 0;
  while (n < len && elem[n] != ';')
    n++;
  while (n > 0 && is_ows(elem[n - 1]))
    n--;
  *name = elem;
  *name_len = n;
}
