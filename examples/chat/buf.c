/* SPDX-License-Identifier: MIT */
/* rtweb-chat: a growable byte queue with a limit, for what a connection still has to write. */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

char *chat_buf_reserve(chat_buf *b, size_t n, size_t limit)
{
  size_t used = b->len - b->off, cap;
  char *p;

  if (n > limit || used > limit - n)
    return NULL;
  if (b->len + n <= b->cap)
    return b->data + b->len;
  if (b->off > 0) { /* slide the waiting bytes to the front before growing */
    memmove(b->data, b->data + b->off, used);
    b->off = 0;
    b->len = used;
    if (used + n <= b->cap)
      return b->data + used;
  }
  cap = b->cap ? b->cap : 1024;
  while (cap < used + n)
    cap *= 2;
  p = realloc(b->data, cap);
  if (p == NULL)
    return NULL;
  b->data = p;
  b->cap = cap;
  return b->data + b->len;
}

void chat_buf_commit(chat_buf *b, size_t n)
{
  b->len += n;
}

int chat_buf_append(chat_buf *b, const void *p, size_t n, size_t limit)
{
  char *dst;
  if (n == 0)
    return 0;
  dst = chat_buf_reserve(b, n, limit);
  if (dst == NULL)
    return -1;
  memcpy(dst, p, n);
  b->len += n;
  return 0;
}

int chat_buf_puts(chat_buf *b, const char *s)
{
  return chat_buf_append(b, s, strlen(s), (size_t)-1);
}

size_t chat_buf_size(const chat_buf *b)
{
  return b->len - b->off;
}

void chat_buf_consume(chat_buf *b, size_t n)
{
  b->off += n;
  if (b->off >= b->len) {
    b->off = b->len = 0;
    if (b->cap > 64 * 1024) { /* an idle connection does not keep a big buffer */
      free(b->data);
      b->data = NULL;
      b->cap = 0;
    }
  }
}

void chat_buf_free(chat_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
}
