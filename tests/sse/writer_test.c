/* SPDX-License-Identifier: MIT */
/* Tests for the SSE writer (lib/sse/writer.c): exact output, size queries, rejected input,
 * and the writer -> parser round trip (WHATWG HTML 9.2.5 and 9.2.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtweb/sse.h"
#include "rtwt.h"

/* A string literal and its length (literals may contain NUL). */
#define S(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------------ calling the writer */

enum { EVENT, RETRY, COMMENT };

/* One writer call, so a helper can repeat it with different buffers. */
typedef struct call {
  int kind;
  const char *type;
  size_t type_len;
  const char *id;
  size_t id_len;
  const char *data; /* the comment text for COMMENT */
  size_t data_len;
  uint32_t ms;
  uint32_t flags;
} call;

/* A string as an event with only data. */
static rtw_sse_event data_event(const char *data, size_t data_len)
{
  rtw_sse_event ev = {0};

  ev.data = data;
  ev.data_len = data_len;
  return ev;
}

static int run(const call *c, char *buf, size_t cap, size_t *out_len)
{
  rtw_sse_event ev = {0};

  switch (c->kind) {
  case EVENT:
    ev.type = c->type;
    ev.type_len = c->type_len;
    ev.id = c->id;
    ev.id_len = c->id_len;
    ev.data = c->data;
    ev.data_len = c->data_len;
    return rtw_sse_write_event(buf, cap, out_len, &ev, c->flags);
  case RETRY:
    return rtw_sse_write_retry(buf, cap, out_len, c->ms, c->flags);
  default:
    return rtw_sse_write_comment(buf, cap, out_len, c->data, c->data_len, c->flags);
  }
}

static call event_call(const char *type, size_t type_len, const char *id, size_t id_len,
                       const char *data, size_t data_len, uint32_t flags)
{
  call c;

  memset(&c, 0, sizeof c);
  c.kind = EVENT;
  c.type = type;
  c.type_len = type_len;
  c.id = id;
  c.id_len = id_len;
  c.data = data;
  c.data_len = data_len;
  c.flags = flags;
  return c;
}

static call comment_call(const char *text, size_t len, uint32_t flags)
{
  call c;

  memset(&c, 0, sizeof c);
  c.kind = COMMENT;
  c.data = text;
  c.data_len = len;
  c.flags = flags;
  return c;
}

static call retry_call(uint32_t ms, uint32_t flags)
{
  call c;

  memset(&c, 0, sizeof c);
  c.kind = RETRY;
  c.ms = ms;
  c.flags = flags;
  return c;
}

#define SENTINEL 0xA5
#define SLACK 16

static int untouched(const char *buf, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if ((unsigned char)buf[i] != SENTINEL)
      return 0;
  return 1;
}

static void expect_output(const char *buf, size_t len, const char *expected, size_t exp_len)
{
  if (len != exp_len || memcmp(buf, expected, len) != 0) {
    rtwt_log got, want;
    rtwt_log_init(&got);
    rtwt_log_init(&want);
    rtwt_log_bytes(&got, buf, len);
    rtwt_log_bytes(&want, expected, exp_len);
    print_error("--- expected:\n\"%s\"\n--- got:\n\"%s\"\n", want.buf, got.buf);
    rtwt_log_free(&got);
    rtwt_log_free(&want);
    fail();
  }
}

/* The buffer rules every writer call obeys: the size query (buf NULL, whatever cap) reports
 * exactly the length written; an exact or larger buffer gets the bytes and nothing beyond;
 * at cap = needed - 1 (and 0) the call fails with RTW_ERR_BUFFER_TOO_SMALL, writes nothing
 * and reports the size needed. */
static void check_output(const call *c, const char *expected, size_t exp_len)
{
  char *buf = malloc(exp_len + SLACK);
  size_t n;

  assert_non_null(buf);
  n = 12345;
  assert_int_equal(run(c, NULL, 0, &n), 0);
  assert_int_equal(n, exp_len);
  n = 12345;
  assert_int_equal(run(c, NULL, 99999, &n), 0);
  assert_int_equal(n, exp_len);

  memset(buf, SENTINEL, exp_len + SLACK);
  assert_int_equal(run(c, buf, exp_len, &n), 0);
  expect_output(buf, n, expected, exp_len);
  assert_true(untouched(buf + exp_len, SLACK));

  memset(buf, SENTINEL, exp_len + SLACK);
  assert_int_equal(run(c, buf, exp_len + SLACK, &n), 0);
  expect_output(buf, n, expected, exp_len);
  assert_true(untouched(buf + exp_len, SLACK));

  memset(buf, SENTINEL, exp_len + SLACK);
  n = 0;
  assert_int_equal(run(c, buf, exp_len - 1, &n), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, exp_len);
  assert_true(untouched(buf, exp_len + SLACK));
  n = 0;
  assert_int_equal(run(c, buf, 0, &n), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, exp_len);
  assert_true(untouched(buf, exp_len + SLACK));
  free(buf);
}

/* A rejected call returns `err`, sets *out_len to 0 and writes nothing, with or without a
 * buffer. */
static void check_error(const call *c, int err)
{
  char buf[256];
  size_t n = 777;

  assert_int_equal(run(c, NULL, 0, &n), err);
  assert_int_equal(n, 0);
  memset(buf, SENTINEL, sizeof buf);
  n = 777;
  assert_int_equal(run(c, buf, sizeof buf, &n), err);
  assert_int_equal(n, 0);
  assert_true(untouched(buf, sizeof buf));
}

static void check_event(const char *expected, size_t exp_len, const char *type,
                        size_t type_len, const char *id, size_t id_len, const char *data,
                        size_t data_len, uint32_t flags)
{
  call c = event_call(type, type_len, id, id_len, data, data_len, flags);
  check_output(&c, expected, exp_len);
}

static void check_comment(const char *expected, size_t exp_len, const char *text, size_t len,
                          uint32_t flags)
{
  call c = comment_call(text, len, flags);
  check_output(&c, expected, exp_len);
}

static void check_retry(const char *expected, size_t exp_len, uint32_t ms, uint32_t flags)
{
  call c = retry_call(ms, flags);
  check_output(&c, expected, exp_len);
}

static void check_event_error(int err, const char *type, size_t type_len, const char *id,
                              size_t id_len, const char *data, size_t data_len, uint32_t flags)
{
  call c = event_call(type, type_len, id, id_len, data, data_len, flags);
  check_error(&c, err);
}

/* ------------------------------------------------------------------ data lines */

/* 9.2.6: a `data` field appends its value and an LF; a blank line dispatches. */
static void test_data_single_line(void **state)
{
  (void)state;
  check_event(S("data: hello\n\n"), NULL, 0, NULL, 0, S("hello"), 0);
  check_event(S("data: x\n\n"), NULL, 0, NULL, 0, S("x"), 0);
}

/* 9.2.5: lines end at CRLF, LF or CR, so data is split at each into its own `data` line. */
static void test_data_split_lf_cr_crlf(void **state)
{
  (void)state;
  check_event(S("data: a\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\nb"), 0);
  check_event(S("data: a\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\rb"), 0);
  check_event(S("data: a\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\r\nb"), 0);
  check_event(S("data: a\ndata: b\ndata: c\ndata: d\n\n"), NULL, 0, NULL, 0,
              S("a\r\nb\rc\nd"), 0);
  /* LF CR is two breaks (an LF, then a lone CR); CR CR LF is a CR and a CRLF. */
  check_event(S("data: a\ndata:\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\n\rb"), 0);
  check_event(S("data: a\ndata:\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\r\r\nb"), 0);
}

/* 9.2.6: an empty line of data is an empty `data` value (`data:`); the trailing LF the
 * parser removes comes from the last line, so a final break becomes a final empty line. */
static void test_data_empty_lines(void **state)
{
  (void)state;
  check_event(S("data: a\ndata:\n\n"), NULL, 0, NULL, 0, S("a\n"), 0);
  check_event(S("data:\ndata: a\n\n"), NULL, 0, NULL, 0, S("\na"), 0);
  check_event(S("data:\ndata:\n\n"), NULL, 0, NULL, 0, S("\n"), 0);
  check_event(S("data:\ndata:\n\n"), NULL, 0, NULL, 0, S("\r\n"), 0);
  check_event(S("data:\ndata:\ndata:\n\n"), NULL, 0, NULL, 0, S("\r\n\r"), 0);
  check_event(S("data: a\ndata:\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\n\nb"), 0);
  check_event(S("data: a\ndata:\ndata:\ndata: b\n\n"), NULL, 0, NULL, 0, S("a\r\n\r\n\rb"), 0);
}

/* 9.2.6: `data:` with an empty value still makes the data buffer non-empty ("\n"), so the
 * event is dispatched with empty data. */
static void test_data_empty(void **state)
{
  (void)state;
  check_event(S("data:\n\n"), NULL, 0, NULL, 0, S(""), 0);
  check_event(S("data:\n\n"), NULL, 0, NULL, 0, NULL, 0, 0);
}

/* 9.2.6: one space after the colon is removed, so the writer always writes one before a
 * non-empty value and a value's own leading spaces survive. */
static void test_data_leading_space(void **state)
{
  (void)state;
  check_event(S("data:  x\n\n"), NULL, 0, NULL, 0, S(" x"), 0);
  check_event(S("data:   \n\n"), NULL, 0, NULL, 0, S("  "), 0);
  check_event(S("data:  a\ndata:  b\n\n"), NULL, 0, NULL, 0, S(" a\n b"), 0);
}

/* 9.2.5: the field name ends at the first colon; later colons belong to the value. NUL
 * and other bytes are data like any other. */
static void test_data_colons_and_nul(void **state)
{
  (void)state;
  check_event(S("data: a: b\n\n"), NULL, 0, NULL, 0, S("a: b"), 0);
  check_event(S("data: :\n\n"), NULL, 0, NULL, 0, S(":"), 0);
  check_event(S("data: data: x\n\n"), NULL, 0, NULL, 0, S("data: x"), 0);
  check_event(S("data: a\0b\n\n"), NULL, 0, NULL, 0, S("a\0b"), 0);
  check_event(S("data: \0\n\n"), NULL, 0, NULL, 0, S("\0"), 0);
}

/* 9.2.5: the stream is UTF-8; any valid text goes through unchanged, U+FEFF included (only
 * a BOM at the very start of the stream is stripped, and an event never starts with it). */
static void test_data_utf8(void **state)
{
  (void)state;
  check_event(S("data: \xEF\xBB\xBF" "a\n\n"), NULL, 0, NULL, 0, S("\xEF\xBB\xBF" "a"), 0);
  check_event(S("data: \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\n"), NULL, 0, NULL, 0,
              S("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), 0);
  check_event(S("data: \xF4\x8F\xBF\xBF\n\n"), NULL, 0, NULL, 0, S("\xF4\x8F\xBF\xBF"), 0);
}

/* ------------------------------------------------------------------ event and id */

/* 9.2.6: `event` sets the type; the line is written only when type_len > 0 (an empty type
 * means "message" anyway). */
static void test_event_type(void **state)
{
  (void)state;
  check_event(S("event: update\ndata: x\n\n"), S("update"), NULL, 0, S("x"), 0);
  check_event(S("data: x\n\n"), NULL, 0, NULL, 0, S("x"), 0);
  check_event(S("data: x\n\n"), S(""), NULL, 0, S("x"), 0);
  check_event(S("event:  t\ndata: x\n\n"), S(" t"), NULL, 0, S("x"), 0);
  check_event(S("event: a:b\ndata: x\n\n"), S("a:b"), NULL, 0, S("x"), 0);
}

/* 9.2.6: an event type may contain NUL (only `id` values with NUL are ignored). */
static void test_event_type_nul(void **state)
{
  (void)state;
  check_event(S("event: a\0b\ndata: x\n\n"), S("a\0b"), NULL, 0, S("x"), 0);
}

/* 9.2.6: `id` sets the last event ID; written when id != NULL, `id:` when empty (which
 * resets the client's last event ID). */
static void test_id(void **state)
{
  (void)state;
  check_event(S("id: 42\ndata: x\n\n"), NULL, 0, S("42"), S("x"), 0);
  check_event(S("id:\ndata: x\n\n"), NULL, 0, S(""), S("x"), 0);
  check_event(S("data: x\n\n"), NULL, 0, NULL, 0, S("x"), 0);
  check_event(S("id:  7\ndata: x\n\n"), NULL, 0, S(" 7"), S("x"), 0);
  check_event(S("id: \xE2\x82\xAC:1\ndata: x\n\n"), NULL, 0, S("\xE2\x82\xAC:1"), S("x"), 0);
}

/* Field order: event, id, data lines, blank line. */
static void test_all_fields(void **state)
{
  (void)state;
  check_event(S("event: t\nid: 1\ndata: a\ndata: b\n\n"), S("t"), S("1"), S("a\nb"), 0);
}

/* 9.2.5: a CR or LF in `event` or `id` would end the line early and the rest would become
 * another field, so the writer refuses it. */
static void test_reject_type_line_break(void **state)
{
  (void)state;
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, S("a\nb"), NULL, 0, S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, S("a\rb"), NULL, 0, S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, S("\r\n"), NULL, 0, S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, S("t\n"), S("1"), S("x"), 0);
}

/* 9.2.5 (CR, LF) and 9.2.6 (an `id` value containing NUL is ignored by the client). */
static void test_reject_id_line_break_or_nul(void **state)
{
  (void)state;
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, NULL, 0, S("1\n"), S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, NULL, 0, S("\r1"), S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, NULL, 0, S("a\r\nb"), S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, NULL, 0, S("a\0b"), S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, NULL, 0, S("\0"), S("x"), 0);
  check_event_error(RTW_ERR_SSE_INVALID_FIELD, S("t"), S("1\0"), S("x"),
                    RTW_SSE_WRITE_CRLF);
}

/* Ill-formed UTF-8 (overlong, surrogate, above U+10FFFF, stray continuation, truncated,
 * invalid bytes) in any field: the parser would turn it into U+FFFD, so it is refused. */
static const struct {
  const char *p;
  size_t n;
} bad_utf8[] = {
  {S("\xC0\x80")},         {S("\xC1\xBF")},     {S("\xE0\x80\xAF")},
  {S("\xED\xA0\x80")},     {S("\xF4\x90\x80\x80")}, {S("\xF5\x80\x80\x80")},
  {S("\x80")},             {S("\xBF")},         {S("\xFE")},
  {S("\xFF")},             {S("\xC3")},         {S("\xE2\x82")},
  {S("\xF0\x9F\x98")},     {S("a\xC3(b")},      {S("ok\xE2\x82\xAC\xE2")},
};

static void test_reject_invalid_utf8(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    const char *p = bad_utf8[i].p;
    size_t n = bad_utf8[i].n;
    call c = comment_call(p, n, 0);
    check_event_error(RTW_ERR_INVALID_UTF8, NULL, 0, NULL, 0, p, n, 0);
    check_event_error(RTW_ERR_INVALID_UTF8, p, n, NULL, 0, S("x"), 0);
    check_event_error(RTW_ERR_INVALID_UTF8, NULL, 0, p, n, S("x"), 0);
    check_error(&c, RTW_ERR_INVALID_UTF8);
  }
}

/* Public entry points check their arguments: NULL out_len, NULL pointer with a length,
 * unknown flags. */
static void test_invalid_arguments(void **state)
{
  char buf[64];
  rtw_sse_event ev = data_event(S("x"));
  size_t n = 5;
  call c;

  (void)state;
  assert_int_equal(rtw_sse_write_event(buf, sizeof buf, NULL, &ev, 0),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_write_event(buf, sizeof buf, &n, NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_write_retry(buf, sizeof buf, NULL, 1, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_write_comment(buf, sizeof buf, NULL, S("x"), 0),
                   RTW_ERR_INVALID_ARGUMENT);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 1, NULL, 0, S("x"), 0);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 0, NULL, 1, S("x"), 0);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 0, NULL, 0, NULL, 1, 0);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 0, NULL, 0, S("x"), 0x2u);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 0, NULL, 0, S("x"), 0x80000000u);
  check_event_error(RTW_ERR_INVALID_ARGUMENT, NULL, 0, NULL, 0, S("x"),
                    RTW_SSE_WRITE_CRLF | 0x4u);
  c = comment_call(NULL, 3, 0);
  check_error(&c, RTW_ERR_INVALID_ARGUMENT);
  c = comment_call(S("x"), 0x10u);
  check_error(&c, RTW_ERR_INVALID_ARGUMENT);
  c = retry_call(5, 0x2u);
  check_error(&c, RTW_ERR_INVALID_ARGUMENT);
}

/* Buffer rule, spelled out once (check_output applies it to every case): cap = needed - 1
 * fails with RTW_ERR_BUFFER_TOO_SMALL, writes nothing and reports the size needed. */
static void test_buffer_too_small(void **state)
{
  char buf[32];
  rtw_sse_event ev = data_event(S("hello"));
  size_t n = 0;

  (void)state;
  memset(buf, SENTINEL, sizeof buf);
  assert_int_equal(rtw_sse_write_event(buf, 9, &n, &ev, 0), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, 13); /* "data: hello\n\n" */
  assert_true(untouched(buf, sizeof buf));
  assert_int_equal(rtw_sse_write_event(buf, 12, &n, &ev, 0), RTW_ERR_BUFFER_TOO_SMALL);
  assert_true(untouched(buf, sizeof buf));
  assert_int_equal(rtw_sse_write_event(buf, 13, &n, &ev, 0), 0);
  assert_int_equal(n, 13);
  assert_memory_equal(buf, "data: hello\n\n", 13);
}

/* ------------------------------------------------------------------ CRLF flag */

/* 9.2.5: CRLF is a line end as good as LF; RTW_SSE_WRITE_CRLF ends every line with it,
 * including the blank line. */
static void test_crlf_flag(void **state)
{
  (void)state;
  check_event(S("event: t\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\n"), S("t"), S("1"),
              S("a\nb"), RTW_SSE_WRITE_CRLF);
  check_event(S("id:\r\ndata:\r\n\r\n"), NULL, 0, S(""), S(""), RTW_SSE_WRITE_CRLF);
  check_event(S("data: a\r\ndata:\r\n\r\n"), NULL, 0, NULL, 0, S("a\r\n"), RTW_SSE_WRITE_CRLF);
  check_comment(S(": a\r\n: b\r\n"), S("a\rb"), RTW_SSE_WRITE_CRLF);
  check_retry(S("retry: 1000\r\n"), 1000, RTW_SSE_WRITE_CRLF);
}

/* ------------------------------------------------------------------ comments and retry */

/* 9.2.5: a line starting with a colon is a comment; `: text` per line, `:` when empty. */
static void test_comment(void **state)
{
  (void)state;
  check_comment(S(": keepalive\n"), S("keepalive"), 0);
  check_comment(S(":\n"), S(""), 0);
  check_comment(S(":\n"), NULL, 0, 0);
  check_comment(S(": a\n: b\n: c\n"), S("a\nb\r\nc"), 0);
  check_comment(S(": a\n:\n"), S("a\n"), 0);
  check_comment(S(":\n:\n"), S("\r"), 0);
  check_comment(S(":  x\n"), S(" x"), 0);
  check_comment(S(": a\0b:c\n"), S("a\0b:c"), 0);
  check_comment(S(": \xEF\xBB\xBF\n"), S("\xEF\xBB\xBF"), 0);
}

/* 9.2.6: `retry` takes ASCII digits; the writer prints the decimal value. */
static void test_retry(void **state)
{
  (void)state;
  check_retry(S("retry: 0\n"), 0, 0);
  check_retry(S("retry: 7\n"), 7, 0);
  check_retry(S("retry: 3000\n"), 3000, 0);
  check_retry(S("retry: 1000000\n"), 1000000, 0);
  check_retry(S("retry: 4294967295\n"), UINT32_MAX, 0);
}

/* ------------------------------------------------------------------ round trip */

/* What the parser reports, in the rtwt log format. */
typedef struct parsed {
  rtwt_log *log;
  int log_ids; /* also log on_id */
} parsed;

static void log_event(rtwt_log *log, const char *type, size_t type_len, const char *data,
                      size_t data_len, const char *id, size_t id_len)
{
  rtwt_log_printf(log, "event type=\"");
  rtwt_log_bytes(log, type, type_len);
  rtwt_log_printf(log, "\" id=\"");
  rtwt_log_bytes(log, id, id_len);
  rtwt_log_printf(log, "\" data=\"");
  rtwt_log_bytes(log, data, data_len);
  rtwt_log_printf(log, "\"\n");
}

static void log_text(rtwt_log *log, const char *what, const char *p, size_t n)
{
  rtwt_log_printf(log, "%s \"", what);
  rtwt_log_bytes(log, p, n);
  rtwt_log_printf(log, "\"\n");
}

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  parsed *ps = ud;

  (void)p;
  log_event(ps->log, type, type_len, data, data_len, id, id_len);
  return 0;
}

static int on_id(rtw_sse_parser *p, const char *id, size_t id_len, void *ud)
{
  parsed *ps = ud;

  (void)p;
  if (ps->log_ids)
    log_text(ps->log, "id", id, id_len);
  return 0;
}

static int on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  parsed *ps = ud;

  (void)p;
  rtwt_log_printf(ps->log, "retry %lu\n", (unsigned long)ms);
  return 0;
}

static int on_comment(rtw_sse_parser *p, const char *text, size_t len, void *ud)
{
  parsed *ps = ud;

  (void)p;
  log_text(ps->log, "comment", text, len);
  return 0;
}

static rtw_sse_parser *open_parser(parsed *ps)
{
  rtw_sse_callbacks cb;
  rtw_sse_parser *p = NULL;

  memset(&cb, 0, sizeof cb);
  cb.version = RTW_SSE_CALLBACKS_VERSION;
  cb.on_event = on_event;
  cb.on_id = on_id;
  cb.on_retry = on_retry;
  cb.on_comment = on_comment;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, ps), 0);
  assert_non_null(p);
  return p;
}

/* Feed `n` bytes and require them all consumed; log any error. */
static void feed(rtw_sse_parser *p, rtwt_log *log, const uint8_t *in, size_t n)
{
  size_t nread = 0;
  int rv = rtw_sse_parser_recv(p, in, n, &nread);

  if (rv != 0)
    rtwt_log_printf(log, "recv %s\n", rtw_err_name(rv));
  else
    assert_int_equal(nread, n);
}

/* A growable byte buffer for the written stream. */
typedef struct stream {
  char *p;
  size_t len;
  size_t cap;
} stream;

static char *stream_room(stream *s, size_t n)
{
  while (s->cap - s->len < n) {
    s->cap = s->cap ? s->cap * 2 : 4096;
    s->p = realloc(s->p, s->cap);
    assert_non_null(s->p);
  }
  return s->p + s->len;
}

/* Append the output of one call, checking that the size query matches what is written. */
static void stream_write(stream *s, const call *c)
{
  size_t need = 0, n = 0;

  assert_int_equal(run(c, NULL, 0, &need), 0);
  assert_int_equal(run(c, stream_room(s, need), need, &n), 0);
  assert_int_equal(n, need);
  s->len += n;
}

/* Fixed-seed xorshift64* PRNG, so every run tests the same inputs. */
static uint64_t rng_next(uint64_t *st)
{
  *st ^= *st >> 12;
  *st ^= *st << 25;
  *st ^= *st >> 27;
  return *st * 2685821657736338717ull;
}

static size_t rng_below(uint64_t *st, size_t n)
{
  return (size_t)((rng_next(st) >> 33) % n);
}

#define BREAKS 1u /* the piece holds CR or LF */
#define HAS_NUL 2u

/* Awkward building blocks: line breaks in every combination, NUL, spaces, colons, field
 * names, U+FEFF and 2-, 3- and 4-byte UTF-8. */
static const struct {
  const char *p;
  size_t n;
  unsigned what;
} pieces[] = {
  {S("\r"), BREAKS},         {S("\n"), BREAKS},       {S("\r\n"), BREAKS},
  {S("\n\r"), BREAKS},       {S("\r\r"), BREAKS},     {S("\n\n"), BREAKS},
  {S("\r\n\r\n"), BREAKS},   {S("\0"), HAS_NUL},      {S(" "), 0},
  {S("  "), 0},              {S(":"), 0},             {S(": "), 0},
  {S("\xEF\xBB\xBF"), 0},    {S("\xC3\xA9"), 0},      {S("\xE2\x82\xAC"), 0},
  {S("\xF0\x9F\x98\x80"), 0}, {S("a"), 0},            {S("data"), 0},
  {S("id: 1"), 0},           {S("event"), 0},         {S("retry: 5"), 0},
  {S("\t"), 0},              {S("\x7F"), 0},          {S("xyz"), 0},
};

#define NPIECES (sizeof pieces / sizeof pieces[0])

/* Up to `max` pieces into buf (no piece with a property in `exclude`); returns the length. */
static size_t gen_text(uint64_t *rng, char *buf, size_t max, unsigned exclude)
{
  size_t n = rng_below(rng, max + 1), len = 0, i, k;

  for (i = 0; i < n; i++) {
    do
      k = rng_below(rng, NPIECES);
    while (pieces[k].what & exclude);
    memcpy(buf + len, pieces[k].p, pieces[k].n);
    len += pieces[k].n;
  }
  return len;
}

/* 9.2.6 seen from the client: data lines are joined with LF, so every CR, LF or CRLF in the
 * data comes back as one LF. */
static size_t normalize(const char *in, size_t n, char *out)
{
  size_t i, o = 0;

  for (i = 0; i < n; i++) {
    if (in[i] == '\r') {
      out[o++] = '\n';
      if (i + 1 < n && in[i + 1] == '\n')
        i++;
    } else {
      out[o++] = in[i];
    }
  }
  return o;
}

/* Expected comment callbacks: one per line of text. */
static void expect_comment(rtwt_log *log, const char *text, size_t len)
{
  char norm[512];
  size_t n = normalize(text, len, norm), start = 0, i;

  for (i = 0; i <= n; i++) {
    if (i == n || norm[i] == '\n') {
      log_text(log, "comment", norm + start, i - start);
      start = i + 1;
    }
  }
}

#define MAX_PIECES 8
#define BUF_SIZE (MAX_PIECES * 8)

typedef struct model {
  uint64_t rng;
  char last_id[BUF_SIZE];
  size_t last_id_len;
} model;

/* One random event: written to `s`, its expected callbacks to `log`. */
static void gen_event(model *m, stream *s, rtwt_log *log, uint32_t flags)
{
  char type[BUF_SIZE], id[BUF_SIZE], data[BUF_SIZE], norm[BUF_SIZE];
  size_t type_len = gen_text(&m->rng, type, 3, BREAKS);
  size_t id_len = gen_text(&m->rng, id, 3, BREAKS | HAS_NUL);
  size_t data_len = gen_text(&m->rng, data, MAX_PIECES, 0);
  int no_type = rng_below(&m->rng, 3) == 0, no_id = rng_below(&m->rng, 3) == 0;
  call c = event_call(no_type ? NULL : type, no_type ? 0 : type_len, no_id ? NULL : id,
                      no_id ? 0 : id_len, data_len ? data : NULL, data_len, flags);

  stream_write(s, &c);
  if (!no_id) {
    memcpy(m->last_id, id, id_len);
    m->last_id_len = id_len;
  }
  /* 9.2.6: an empty or absent type dispatches as "message". */
  if (c.type_len == 0)
    log_event(log, "message", 7, norm, normalize(data, data_len, norm), m->last_id,
              m->last_id_len);
  else
    log_event(log, type, type_len, norm, normalize(data, data_len, norm), m->last_id,
              m->last_id_len);
}

static void gen_item(model *m, stream *s, rtwt_log *log)
{
  uint32_t flags = rng_below(&m->rng, 4) == 0 ? RTW_SSE_WRITE_CRLF : 0;
  size_t pick = rng_below(&m->rng, 20);
  char text[BUF_SIZE];
  size_t len;
  call c;

  if (pick == 0) {
    len = gen_text(&m->rng, text, 4, 0);
    c = comment_call(len ? text : NULL, len, flags);
    stream_write(s, &c);
    expect_comment(log, text, len);
  } else if (pick == 1) {
    c = retry_call((uint32_t)rng_next(&m->rng), flags);
    stream_write(s, &c);
    rtwt_log_printf(log, "retry %lu\n", (unsigned long)c.ms);
  } else {
    gen_event(m, s, log, flags);
  }
}

static void report_mismatch(const rtwt_log *want, const rtwt_log *got)
{
  size_t i = 0, from;

  while (i < want->len && i < got->len && want->buf[i] == got->buf[i])
    i++;
  from = i > 300 ? i - 300 : 0;
  print_error("round trip differs at log offset %zu\n--- expected:\n%.600s\n--- got:\n%.600s\n",
              i, want->buf + from, got->buf + from);
  fail();
}

/* The round-trip property: parse(write(ev)) == ev for many random events with awkward
 * bytes, written back to back into one stream and parsed in random-sized pieces. Data comes
 * back with CR and CRLF as LF, an empty type as "message", and the id as given or, when
 * absent, the previous one (9.2.6). */
#define ROUND_TRIP_ITEMS 20000

static void test_round_trip_random(void **state)
{
  model m;
  stream s = {NULL, 0, 0};
  rtwt_log want, got;
  parsed ps;
  rtw_sse_parser *p;
  size_t i, off, n;

  (void)state;
  memset(&m, 0, sizeof m);
  m.rng = 0x9E3779B97F4A7C15ull;
  rtwt_log_init(&want);
  rtwt_log_init(&got);
  for (i = 0; i < ROUND_TRIP_ITEMS; i++)
    gen_item(&m, &s, &want);
  rtwt_log_printf(&want, "end RTW_OK\n");

  ps.log = &got;
  ps.log_ids = 0;
  p = open_parser(&ps);
  for (off = 0; off < s.len; off += n) {
    n = 1 + rng_below(&m.rng, 300);
    n = n < s.len - off ? n : s.len - off;
    feed(p, &got, (const uint8_t *)s.p + off, n);
  }
  rtwt_log_printf(&got, "end %s\n", rtw_err_name(rtw_sse_parser_end(p)));
  rtw_sse_parser_free(p);
  if (want.len != got.len || memcmp(want.buf, got.buf, want.len) != 0)
    report_mismatch(&want, &got);
  rtwt_log_free(&want);
  rtwt_log_free(&got);
  free(s.p);
}

/* rtwt_check_splits feed: a fresh parser, the pieces, then end of stream. */
static void feed_split(void *arg, const uint8_t *in, size_t len, const size_t *pieces_,
                       size_t npieces, rtwt_log *log)
{
  parsed ps;
  rtw_sse_parser *p;
  size_t i, off = 0;

  (void)arg;
  (void)len;
  ps.log = log;
  ps.log_ids = 1;
  p = open_parser(&ps);
  for (i = 0; i < npieces; off += pieces_[i], i++)
    feed(p, log, in + off, pieces_[i]);
  rtwt_log_printf(log, "end %s\n", rtw_err_name(rtw_sse_parser_end(p)));
  rtw_sse_parser_free(p);
}

/* A few written streams, fed whole, byte by byte and at every two-way split: the parser's
 * callbacks must be the expected ones every time (9.2.5: a CRLF split across chunks is one
 * line end). */
static void test_round_trip_splits(void **state)
{
  stream s = {NULL, 0, 0};
  rtwt_log want;
  call c;

  (void)state;
  rtwt_log_init(&want);
  c = event_call(S("t"), S("1"), S("a\r\nb\rc\n"), RTW_SSE_WRITE_CRLF);
  stream_write(&s, &c);
  log_text(&want, "id", S("1"));
  log_event(&want, S("t"), S("a\nb\nc\n"), S("1"));
  c = comment_call(S(" ping\r\n"), RTW_SSE_WRITE_CRLF);
  stream_write(&s, &c);
  log_text(&want, "comment", S(" ping"));
  log_text(&want, "comment", S(""));
  c = retry_call(2500, RTW_SSE_WRITE_CRLF);
  stream_write(&s, &c);
  rtwt_log_printf(&want, "retry 2500\n");
  c = event_call(NULL, 0, NULL, 0, S(""), 0);
  stream_write(&s, &c);
  log_event(&want, S("message"), S(""), S("1"));
  c = event_call(S(" a\0b"), S(""), S("\r\r\n \xEF\xBB\xBF:x\n"), 0);
  stream_write(&s, &c);
  log_text(&want, "id", S(""));
  log_event(&want, S(" a\0b"), S("\n\n \xEF\xBB\xBF:x\n"), S(""));
  c = event_call(S("\xE2\x82\xAC"), S("\xF0\x9F\x98\x80"), S("\xC3\xA9"), RTW_SSE_WRITE_CRLF);
  stream_write(&s, &c);
  log_text(&want, "id", S("\xF0\x9F\x98\x80"));
  log_event(&want, S("\xE2\x82\xAC"), S("\xC3\xA9"), S("\xF0\x9F\x98\x80"));
  rtwt_log_printf(&want, "end RTW_OK\n");

  rtwt_check_splits(feed_split, NULL, s.p, s.len, want.buf);
  rtwt_log_free(&want);
  free(s.p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_data_single_line),
    cmocka_unit_test(test_data_split_lf_cr_crlf),
    cmocka_unit_test(test_data_empty_lines),
    cmocka_unit_test(test_data_empty),
    cmocka_unit_test(test_data_leading_space),
    cmocka_unit_test(test_data_colons_and_nul),
    cmocka_unit_test(test_data_utf8),
    cmocka_unit_test(test_event_type),
    cmocka_unit_test(test_event_type_nul),
    cmocka_unit_test(test_id),
    cmocka_unit_test(test_all_fields),
    cmocka_unit_test(test_reject_type_line_break),
    cmocka_unit_test(test_reject_id_line_break_or_nul),
    cmocka_unit_test(test_reject_invalid_utf8),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_buffer_too_small),
    cmocka_unit_test(test_crlf_flag),
    cmocka_unit_test(test_comment),
    cmocka_unit_test(test_retry),
    cmocka_unit_test(test_round_trip_random),
    cmocka_unit_test(test_round_trip_splits),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
