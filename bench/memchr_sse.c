/* SPDX-License-Identifier: MIT */
/* The memchr-per-line baseline SSE parser that bench_sse measures rtweb's parser against. */

/*
 * This is the parser a competent programmer writes in an afternoon, and the bar rtweb's
 * parser has to clear by a wide margin to justify its complexity.
 *
 * Each chunk is scanned with memchr() for '\n'. A complete line is handled in place; a line
 * split across chunks is copied into a carry buffer until its '\n' arrives. Lines follow
 * WHATWG HTML 9.2.6 "Interpreting an event stream":
 *
 *   ""                 blank line: dispatch if the block had a `data` field, then clear
 *   ":" text           comment (one leading space of text removed)
 *   name ":" value     field; one space after the colon is removed
 *   name               field with an empty value
 *
 * with `data` appended to a buffer plus '\n' (the final '\n' is dropped at dispatch),
 * `event` setting the type, `id` (without NUL) setting the last event ID, `retry` (digits
 * only) the reconnection time, and other names ignored.
 *
 * LIMITATION, on purpose: LF is the only line terminator (a conforming parser also accepts
 * CR and CRLF), there is no UTF-8 validation or U+FFFD replacement, no BOM stripping and no
 * limits. The benchmark streams are LF-only ASCII, so it produces the same events as a
 * conforming parser on them, and every shortcut only makes this baseline faster.
 */

#include "memchr_sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
  char *p;
  size_t len;
  size_t cap;
} buf;

struct mcs_parser {
  mcs_callbacks cb;
  void *user_data;
  buf line; /* the start of a line whose '\n' has not arrived yet */
  buf data; /* `data` values, each followed by '\n' */
  buf type; /* `event` value of the current block */
  buf id;   /* last event ID; persists across events */
  int has_data;
  uint32_t retry_ms;
};

static int buf_reserve(buf *b, size_t extra)
{
  size_t cap = b->cap ? b->cap : 256;
  char *p;

  if (b->len + extra <= b->cap) {
    return 0;
  }
  while (cap < b->len + extra) {
    cap *= 2;
  }
  p = realloc(b->p, cap);
  if (p == NULL) {
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

static int buf_append(buf *b, const char *s, size_t n)
{
  if (buf_reserve(b, n) != 0) {
    return -1;
  }
  if (n > 0) {
    memcpy(b->p + b->len, s, n);
  }
  b->len += n;
  return 0;
}

static int buf_set(buf *b, const char *s, size_t n)
{
  b->len = 0;
  return buf_append(b, s, n);
}

mcs_parser *mcs_new(const mcs_callbacks *callbacks, void *user_data)
{
  mcs_parser *p = calloc(1, sizeof *p);

  if (p == NULL) {
    return NULL;
  }
  if (callbacks != NULL) {
    p->cb = *callbacks;
  }
  p->user_data = user_data;
  return p;
}

void mcs_free(mcs_parser *p)
{
  if (p == NULL) {
    return;
  }
  free(p->line.p);
  free(p->data.p);
  free(p->type.p);
  free(p->id.p);
  free(p);
}

static int dispatch(mcs_parser *p)
{
  int rc = 0;

  if (p->has_data && p->cb.on_event != NULL) {
    const char *type = p->type.len ? p->type.p : "message";
    size_t type_len = p->type.len ? p->type.len : 7;
    rc = p->cb.on_event(type, type_len, p->data.p, p->data.len - 1, p->id.len ? p->id.p : "",
                        p->id.len, p->user_data);
  }
  p->data.len = 0;
  p->type.len = 0;
  p->has_data = 0;
  return rc;
}

static void set_retry(mcs_parser *p, const char *v, size_t n)
{
  uint64_t ms = 0;
  size_t i;

  if (n == 0) {
    return;
  }
  for (i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') {
      return; /* WHATWG 9.2.6: only ASCII digits, else ignore the field */
    }
    ms = ms * 10u + (uint64_t)(v[i] - '0');
    if (ms > UINT32_MAX) {
      ms = UINT32_MAX;
    }
  }
  p->retry_ms = (uint32_t)ms;
}

static int field(mcs_parser *p, const char *name, size_t name_len, const char *v, size_t n)
{
  if (name_len == 4 && memcmp(name, "data", 4) == 0) {
    p->has_data = 1;
    if (buf_reserve(&p->data, n + 1) != 0) {
      return -1;
    }
    memcpy(p->data.p + p->data.len, v, n);
    p->data.p[p->data.len + n] = '\n';
    p->data.len += n + 1;
    return 0;
  }
  if (name_len == 5 && memcmp(name, "event", 5) == 0) {
    return buf_set(&p->type, v, n);
  }
  if (name_len == 2 && memcmp(name, "id", 2) == 0) {
    return memchr(v, '\0', n) != NULL ? 0 : buf_set(&p->id, v, n);
  }
  if (name_len == 5 && memcmp(name, "retry", 5) == 0) {
    set_retry(p, v, n);
  }
  return 0; /* unknown field: ignored */
}

static int line(mcs_parser *p, const char *s, size_t n)
{
  const char *colon;
  const char *v;
  size_t name_len;
  size_t vn;

  if (n == 0) {
    return dispatch(p);
  }
  if (s[0] == ':') {
    v = s + 1;
    vn = n - 1;
    if (vn > 0 && v[0] == ' ') {
      v++;
      vn--;
    }
    return p->cb.on_comment != NULL ? p->cb.on_comment(v, vn, p->user_data) : 0;
  }
  colon = memchr(s, ':', n);
  name_len = colon != NULL ? (size_t)(colon - s) : n;
  v = colon != NULL ? colon + 1 : s + n;
  vn = n - (size_t)(v - s);
  if (vn > 0 && v[0] == ' ') {
    v++;
    vn--;
  }
  return field(p, s, name_len, v, vn);
}

int mcs_recv(mcs_parser *p, const char *in, size_t len)
{
  const char *s = in;
  const char *end = in + len;
  const char *nl;
  int rc;

  if (len == 0) {
    return 0;
  }
  if (p->line.len > 0) {
    /* finish the line carried over from the previous chunk */
    nl = memchr(s, '\n', len);
    if (nl == NULL) {
      return buf_append(&p->line, s, len);
    }
    if (buf_append(&p->line, s, (size_t)(nl - s)) != 0) {
      return -1;
    }
    rc = line(p, p->line.p, p->line.len);
    p->line.len = 0;
    if (rc != 0) {
      return rc;
    }
    s = nl + 1;
  }
  while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
    rc = line(p, s, (size_t)(nl - s));
    if (rc != 0) {
      return rc;
    }
    s = nl + 1;
  }
  return s < end ? buf_append(&p->line, s, (size_t)(end - s)) : 0;
}

void mcs_end(mcs_parser *p)
{
  /* WHATWG 9.2.6: at end of stream an unfinished line and event are discarded */
  p->line.len = 0;
  p->data.len = 0;
  p->type.len = 0;
  p->has_data = 0;
}
