/* SPDX-License-Identifier: MIT */
/* SSE writer: serialises events, retry lines and comments into a caller's buffer. */
/*
 * Output (WHATWG HTML 9.2.5 "Parsing an event stream"; EOL is LF, or CRLF with
 * RTW_SSE_WRITE_CRLF):
 *
 *   event = [ "event: " type EOL ]              when type_len > 0
 *           [ "id: " id EOL | "id:" EOL ]       when id != NULL (the short form when empty)
 *           1*( "data: " line EOL | "data:" EOL ) one per line of data, split at CR/LF/CRLF
 *           EOL                                 the blank line that dispatches the event
 *   retry = "retry: " 1*DIGIT EOL
 *   comment = 1*( ": " line EOL | ":" EOL )     one per line of text
 *
 * Every public function runs the same emitter twice: first into a sink that only counts
 * (the size query and the capacity check), then, when there is room, into the caller's
 * buffer. The size reported and the bytes written therefore cannot disagree, and nothing is
 * written when the buffer is too small.
 */
#include <string.h>

#include "internal.h"
#include "rtweb/sse.h"
#include "utf8.h"

/* Where bytes go: counted only while buf is NULL. */
typedef struct sink {
  char *buf;
  size_t len;       /* bytes written or counted so far */
  int overflow;     /* the count would exceed SIZE_MAX */
  const char *eol;  /* "\n" or "\r\n" */
  size_t eol_len;
} sink;

typedef void (*emit_fn)(sink *s, const void *arg);

/* The arguments of rtw_sse_write_comment(). */
typedef struct text {
  const char *p;
  size_t len;
} text;

static void put(sink *s, const void *p, size_t n)
{
  if (n > SIZE_MAX - s->len) {
    s->overflow = 1;
    return;
  }
  if (s->buf != NULL && n > 0)
    memcpy(s->buf + s->len, p, n);
  s->len += n;
}

/* One field line: `name: value`, or `name:` for an empty value. 9.2.6 removes exactly one
 * space after the colon, so writing one whenever the value is non-empty keeps a value that
 * itself starts with a space intact. An empty name makes a comment line. */
static void put_field(sink *s, const char *name, const char *value, size_t len)
{
  put(s, name, strlen(name));
  put(s, len > 0 ? ": " : ":", len > 0 ? 2u : 1u);
  put(s, value, len);
  put(s, s->eol, s->eol_len);
}

/* Length of the first line of p[0..n), and in *brk the length of the line break after it:
 * 0 (none), 1 (CR or LF) or 2 (CRLF). 9.2.5: lines end at CRLF, a lone LF or a lone CR. */
static size_t find_break(const char *p, size_t n, size_t *brk)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (p[i] == '\n' || p[i] == '\r') {
      *brk = (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') ? 2u : 1u;
      return i;
    }
  }
  *brk = 0;
  return n;
}

/* One `name` field per line of text. A value cannot hold a line break (the parser would end
 * the line there), so each line gets its own field; 9.2.6 joins `data` lines with LF. */
static void put_lines(sink *s, const char *name, const char *p, size_t n)
{
  size_t line, brk;

  for (;;) {
    line = find_break(p, n, &brk);
    put_field(s, name, p, line);
    if (brk == 0)
      return;
    p += line + brk;
    n -= line + brk;
  }
}

static void emit_event(sink *s, const void *arg)
{
  const rtw_sse_event *ev = arg;

  /* 9.2.6: an empty `event` value means "message" anyway, so the line is left out. */
  if (ev->type_len > 0)
    put_field(s, "event", ev->type, ev->type_len);
  if (ev->id != NULL)
    put_field(s, "id", ev->id, ev->id_len);
  put_lines(s, "data", ev->data, ev->data_len);
  /* 9.2.6: a blank line dispatches the event. */
  put(s, s->eol, s->eol_len);
}

/* Decimal digits of v, written at the end of out[10]; returns the first digit. */
static const char *format_u32(char out[10], uint32_t v)
{
  char *p = out + 10;

  do {
    *--p = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  return p;
}

static void emit_retry(sink *s, const void *arg)
{
  char digits[10];
  const char *p = format_u32(digits, *(const uint32_t *)arg);

  /* 9.2.6: `retry` takes ASCII digits only. */
  put_field(s, "retry", p, (size_t)(digits + 10 - p));
}

static void emit_comment(sink *s, const void *arg)
{
  const text *t = arg;

  /* 9.2.5: a line starting with a colon is a comment. */
  put_lines(s, "", t->p, t->len);
}

static void open_sink(sink *s, char *buf, uint32_t flags)
{
  s->buf = buf;
  s->len = 0;
  s->overflow = 0;
  s->eol = (flags & RTW_SSE_WRITE_CRLF) ? "\r\n" : "\n";
  s->eol_len = (flags & RTW_SSE_WRITE_CRLF) ? 2u : 1u;
}

/* Count, then write if buf has room. Arguments were checked by the caller. */
static int serialise(char *buf, size_t cap, size_t *out_len, uint32_t flags, emit_fn emit,
                     const void *arg)
{
  sink s;

  open_sink(&s, NULL, flags);
  emit(&s, arg);
  if (s.overflow)
    return RTW_ERR_INVALID_ARGUMENT;
  *out_len = s.len;
  if (buf == NULL)
    return 0;
  if (cap < s.len)
    return RTW_ERR_BUFFER_TOO_SMALL;
  open_sink(&s, buf, flags);
  emit(&s, arg);
  return 0;
}

static int has_byte(const char *p, size_t n, int c)
{
  return n > 0 && memchr(p, c, n) != NULL;
}

static int is_utf8(const char *p, size_t n)
{
  return n == 0 || rtw__utf8_valid_prefix((const uint8_t *)p, n) == n;
}

/* The checks every writer entry point shares. Clears *out_len for the error paths. */
static int check_common(size_t *out_len, uint32_t flags)
{
  if (out_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out_len = 0;
  if ((flags & ~RTW_SSE_WRITE_CRLF) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  return 0;
}

static int check_event(const rtw_sse_event *ev)
{
  if ((ev->type == NULL && ev->type_len > 0) || (ev->id == NULL && ev->id_len > 0) ||
      (ev->data == NULL && ev->data_len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  /* 9.2.5: CR or LF would end the field's line early, turning the rest into another field. */
  if (has_byte(ev->type, ev->type_len, '\r') || has_byte(ev->type, ev->type_len, '\n') ||
      has_byte(ev->id, ev->id_len, '\r') || has_byte(ev->id, ev->id_len, '\n'))
    return RTW_ERR_SSE_INVALID_FIELD;
  /* 9.2.6: an `id` value containing NULL is ignored, so the client would never see it. */
  if (has_byte(ev->id, ev->id_len, '\0'))
    return RTW_ERR_SSE_INVALID_FIELD;
  /* 9.2.5: the stream is UTF-8; the parser would replace invalid bytes with U+FFFD. */
  if (!is_utf8(ev->type, ev->type_len) || !is_utf8(ev->id, ev->id_len) ||
      !is_utf8(ev->data, ev->data_len))
    return RTW_ERR_INVALID_UTF8;
  return 0;
}

int rtw_sse_write_event(char *buf, size_t cap, size_t *out_len, const rtw_sse_event *ev,
                        uint32_t flags)
{
  int rv;

  rv = check_common(out_len, flags);
  if (rv != 0)
    return rv;
  if (ev == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rv = check_event(ev);
  if (rv != 0)
    return rv;
  return serialise(buf, cap, out_len, flags, emit_event, ev);
}

int rtw_sse_write_retry(char *buf, size_t cap, size_t *out_len, uint32_t ms, uint32_t flags)
{
  int rv = check_common(out_len, flags);

  if (rv != 0)
    return rv;
  return serialise(buf, cap, out_len, flags, emit_retry, &ms);
}

int rtw_sse_write_comment(char *buf, size_t cap, size_t *out_len, const char *p, size_t len,
                          uint32_t flags)
{
  text t;
  int rv = check_common(out_len, flags);

  if (rv != 0)
    return rv;
  if (p == NULL && len > 0)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!is_utf8(p, len))
    return RTW_ERR_INVALID_UTF8;
  t.p = p;
  t.len = len;
  return serialise(buf, cap, out_len, flags, emit_comment, &t);
}
