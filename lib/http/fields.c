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

int rtw__http_has_token(const rtw__http1 *h, const char *name, const char *token)
{
  const char *v, *elem;
  size_t vlen, elen, i;

  for (i = 0; rtw__http1_header(h, name, strlen(name), i, &v, &vlen); i++) {
    const char *pos = v;
    while (rtw__http_list_next(&pos, v + vlen, &elem, &elen))
      if (rtw__http_ieq(elem, elen, token, strlen(token)))
        return 1;
  }
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
