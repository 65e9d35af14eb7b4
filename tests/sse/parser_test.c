/* SPDX-License-Identifier: MIT */
/* Event-stream parser tests: every rule of WHATWG HTML 9.2.5/9.2.6, each input fed whole,
 * byte by byte and split in two at every offset (rtwt_check_splits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/sse.h"
#include "sse_internal.h"

/* ------------------------------------------------------------------ harness */

typedef struct opts {
  uint32_t flags;
  size_t max_type, max_event, max_id;
  int comments;      /* set on_comment */
  int pause_events;  /* on_event returns RTW_ERR_PAUSE */
  int fail_on_event; /* on_event returns -1 */
  const char *seed;  /* rtw_sse_parser_reset() seed */
  int no_end;        /* do not call rtw_sse_parser_end() */
  int simd;          /* scanner variant, RTW__SSE_SIMD_* (set by check_n) */
  size_t max_comment;
  int digest;        /* log texts over 64 bytes as their length and hash (big inputs) */
} opts;

typedef struct run {
  rtwt_log *log;
  const opts *o;
  rtwt_log streamed; /* STREAM_DATA: pieces of the current event */
  size_t pieces;
} run;

/* "<N bytes HHHHHHHH>": a text's length and FNV-1a hash, so that inputs of megabytes can be
 * checked at every split without logging every byte thousands of times. */
static void digest(char out[48], const void *s, size_t n)
{
  const unsigned char *b = s;
  uint32_t h = 2166136261u;
  size_t i;

  for (i = 0; i < n; i++)
    h = (h ^ b[i]) * 16777619u;
  sprintf(out, "<%lu bytes %08lx>", (unsigned long)n, (unsigned long)h);
}

static void log_text(run *r, const void *s, size_t n)
{
  char d[48];

  if (!r->o->digest || n <= 64) {
    rtwt_log_bytes(r->log, s, n);
    return;
  }
  digest(d, s, n);
  rtwt_log_printf(r->log, "%s", d);
}

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "event(");
  log_text(r, ev->type, ev->type_len);
  rtwt_log_printf(r->log, ",");
  if (r->o->flags & RTW_SSE_FLAG_STREAM_DATA) {
    assert_null(ev->data);
    assert_int_equal(ev->data_len, r->streamed.len);
    log_text(r, r->streamed.buf, r->streamed.len);
    rtwt_log_clear(&r->streamed);
  } else {
    log_text(r, ev->data, ev->data_len);
  }
  rtwt_log_printf(r->log, ",");
  log_text(r, ev->id, ev->id_len);
  rtwt_log_printf(r->log, ")\n");
  if (r->o->fail_on_event)
    return -1;
  return r->o->pause_events ? RTW_ERR_PAUSE : 0;
}

static int on_id(rtw_sse_parser *p, const char *id, size_t len, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "id(");
  log_text(r, id, len);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "retry(%lu)\n", (unsigned long)ms);
  return 0;
}

static int on_comment(rtw_sse_parser *p, const char *text, size_t len, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "comment(");
  log_text(r, text, len);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int on_data(rtw_sse_parser *p, const char *piece, size_t len, void *ud)
{
  run *r = ud;
  (void)p;
  assert_true(len > 0); /* pieces are never empty */
  r->pieces++;
  /* streamed holds raw bytes; escaping happens when the event is logged */
  while (r->streamed.len + len + 1 > r->streamed.cap) {
    r->streamed.cap *= 2;
    r->streamed.buf = realloc(r->streamed.buf, r->streamed.cap);
    assert_non_null(r->streamed.buf);
  }
  memcpy(r->streamed.buf + r->streamed.len, piece, len);
  r->streamed.len += len;
  r->streamed.buf[r->streamed.len] = '\0';
  return 0;
}

static int on_discard(rtw_sse_parser *p, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "discard(");
  rtwt_log_bytes(r->log, r->streamed.buf, r->streamed.len);
  rtwt_log_printf(r->log, ")\n");
  rtwt_log_clear(&r->streamed);
  return 0;
}

static rtw_sse_parser *make_parser(const opts *o, run *r, const rtw_mem *mem, int *rv)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p = NULL;

  cb.on_event = on_event;
  cb.on_id = on_id;
  cb.on_retry = on_retry;
  cb.on_comment = o->comments ? on_comment : NULL;
  cb.on_data = on_data;
  cb.on_discard = on_discard;
  st.flags = o->flags;
  st.max_type_length = o->max_type;
  st.max_comment_length = o->max_comment;
  st.max_event_size = o->max_event;
  st.max_id_length = o->max_id;
  *rv = rtw_sse_parser_new(&p, &cb, &st, mem, r);
  return p;
}

/* Feed pieces; on RTW_ERR_PAUSE resume with the rest. Logs errors and the end status. */
static int feed_all(rtw_sse_parser *p, run *r, const uint8_t *in, const size_t *pieces,
                    size_t npieces)
{
  size_t i, off = 0;
  int rv = 0;

  for (i = 0; i < npieces; i++) {
    size_t left = pieces[i], nread = 0;
    const uint8_t *s = in + off;
    off += pieces[i];
    for (;;) {
      rv = rtw_sse_parser_recv(p, s, left, &nread);
      assert_true(nread <= left);
      s += nread;
      left -= nread;
      if (rv == RTW_ERR_PAUSE) {
        rtwt_log_printf(r->log, "pause\n");
        continue;
      }
      break;
    }
    if (rv != 0) {
      rtwt_log_printf(r->log, "error(%s)\n", rtw_err_name(rv));
      return rv;
    }
    assert_int_equal(left, 0);
  }
  if (!r->o->no_end) {
    rv = rtw_sse_parser_end(p);
    rtwt_log_printf(r->log, "end(%s)\n", rtw_err_name(rv));
  }
  return rv;
}

static void feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces, size_t npieces,
                 rtwt_log *log)
{
  const opts *o = arg;
  run r;
  rtw_sse_parser *p;
  int rv;

  (void)len;
  memset(&r, 0, sizeof r);
  r.log = log;
  r.o = o;
  rtwt_log_init(&r.streamed);
  p = make_parser(o, &r, NULL, &rv);
  assert_int_equal(rv, 0);
  assert_int_equal(rtw__sse_parser_set_simd(p, o->simd), 0);
  if (o->seed)
    assert_int_equal(rtw_sse_parser_reset(p, o->seed, strlen(o->seed)), 0);
  feed_all(p, &r, in, pieces, npieces);
  rtw_sse_parser_free(p);
  rtwt_log_free(&r.streamed);
}

static const opts defaults = {0};
static const opts with_comments = {0, 0, 0, 0, 1, 0, 0, NULL, 0, 0};
static const opts streaming = {RTW_SSE_FLAG_STREAM_DATA, 0, 0, 0, 0, 0, 0, NULL, 0, 0};

static void check(const opts *o, const char *in, const char *expected)
{
  rtwt_check_splits_str(feed, (void *)o, in, expected);
}

/* Every input runs through each scanner variant this machine has (SSE2/portable, AVX2,
 * AVX-512), each whole, byte by byte and split at every offset. */
static void check_n(const opts *o, const char *in, size_t n, const char *expected)
{
  opts v = *o;
  int level;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    rtw_sse_parser *p;
    int supported;
    assert_int_equal(rtw_sse_parser_new(&p, NULL, NULL, NULL, NULL), 0);
    supported = rtw__sse_parser_set_simd(p, level) == 0;
    rtw_sse_parser_free(p);
    if (!supported)
      continue;
    v.simd = level;
    rtwt_check_splits(feed, &v, in, n, expected);
  }
}

#define END "end(RTW_OK)\n"
/* For inputs holding NUL bytes: the length comes from the literal. */
#define CHECK_BYTES(o, lit, expected) check_n((o), (lit), sizeof(lit) - 1, (expected))

/* ------------------------------------------------------------------ 9.2.5 line ends */

/* 9.2.5: lines end with CRLF, a lone LF or a lone CR. */
static void test_line_endings(void **state)
{
  (void)state;
  check(&defaults, "data:a\n\n", "event(message,a,)\n" END);
  check(&defaults, "data:a\r\n\r\n", "event(message,a,)\n" END);
  check(&defaults, "data:a\r\r", "event(message,a,)\n" END);
  check(&defaults, "data:a\r\ndata:b\rdata:c\n\r\n", "event(message,a\\nb\\nc,)\n" END);
}

/* 9.2.5: LF followed by CR is two line ends (the CR ends an empty line and dispatches). */
static void test_lf_cr_is_two_line_ends(void **state)
{
  (void)state;
  check(&defaults, "data:a\n\rdata:b\n\n", "event(message,a,)\nevent(message,b,)\n" END);
}

/* 9.2.5: a CR is acted on at once; the LF of a CRLF split across chunks is not another line
 * end (the every-split check feeds "\r" and "\n" in separate calls). */
static void test_crlf_split_is_one_line_end(void **state)
{
  (void)state;
  check(&defaults, "data:x\r\n\r\ndata:y\r\n\r\n", "event(message,x,)\nevent(message,y,)\n" END);
}

/* 9.2.5: a trailing CR dispatches without waiting for more input. */
static void test_trailing_cr_dispatches_immediately(void **state)
{
  opts o = defaults;
  (void)state;
  o.no_end = 1;
  check(&o, "data:x\r\r", "event(message,x,)\n");
}

/* 9.2.5: U+2028, U+0085, VT and FF are not line ends. */
static void test_other_breaks_are_content(void **state)
{
  (void)state;
  check(&defaults, "data:a\xE2\x80\xA8" "b\xC2\x85" "c\x0B\x0C\n\n",
        "event(message,a\\xE2\\x80\\xA8b\\xC2\\x85c\\x0B\\x0C,)\n" END);
}

/* ------------------------------------------------------------------ BOM */

/* 9.2.5 (UTF-8 decode): one leading BOM is stripped. */
static void test_bom_stripped_once(void **state)
{
  (void)state;
  check(&defaults, "\xEF\xBB\xBF" "data:1\n\n", "event(message,1,)\n" END);
  /* WPT format-bom-2: a second BOM is content, so the field name is "\uFEFFdata". */
  check(&defaults, "\xEF\xBB\xBF\xEF\xBB\xBF" "data:1\n\ndata:2\n\n", "event(message,2,)\n" END);
}

/* WPT format-bom: a BOM after the start of the stream is content. */
static void test_bom_only_at_stream_start(void **state)
{
  (void)state;
  check(&defaults, "\xEF\xBB\xBF" "data:1\n\n\xEF\xBB\xBF" "data:2\n\ndata:3\n\n",
        "event(message,1,)\nevent(message,3,)\n" END);
  check(&defaults, "data:\xEF\xBB\xBFx\n\n", "event(message,\\xEF\\xBB\\xBFx,)\n" END);
}

/* A BOM prefix that is not a BOM is decoded as content (EF BB then 'd' -> U+FFFD 'd'...). */
static void test_bom_prefix_mismatch(void **state)
{
  (void)state;
  /* the line is "\uFFFDdata:1": an unknown field */
  check(&defaults, "\xEF\xBB" "data:1\n\ndata:2\n\n", "event(message,2,)\n" END);
  check(&defaults, "\xEF" "\n" "data:2\n\n", "event(message,2,)\n" END);
  /* mojibake characters "ï»¿" (C3 AF C2 BB C2 BF) are not a BOM */
  check(&defaults, "\xC3\xAF\xC2\xBB\xC2\xBF" "data:1\n\ndata:2\n\n", "event(message,2,)\n" END);
}

/* A new stream after end() may start with a BOM again. */
static void test_bom_after_end(void **state)
{
  run r;
  rtw_sse_parser *p;
  rtwt_log log;
  size_t n;
  int rv;

  (void)state;
  rtwt_log_init(&log);
  memset(&r, 0, sizeof r);
  r.log = &log;
  r.o = &defaults;
  p = make_parser(&defaults, &r, NULL, &rv);
  assert_int_equal(rv, 0);
  assert_int_equal(rtw_sse_parser_recv(p, "\xEF\xBB\xBF" "data:a\n\n", 11, &n), 0);
  assert_int_equal(rtw_sse_parser_end(p), 0);
  assert_int_equal(rtw_sse_parser_recv(p, "\xEF\xBB\xBF" "data:b\n\n", 11, &n), 0);
  assert_string_equal(log.buf, "event(message,a,)\nevent(message,b,)\n");
  rtw_sse_parser_free(p);
  rtwt_log_free(&log);
}

/* ------------------------------------------------------------------ fields */

/* 9.2.6: a line starting with a colon is a comment and is ignored. */
static void test_comments_ignored(void **state)
{
  (void)state;
  check(&defaults, ":\n::\n:data: x\n\ndata:1\n\n", "event(message,1,)\n" END);
  /* WPT format-comments */
  CHECK_BYTES(&defaults, "data:1\r:\0\n:\r\ndata:2\n:xxx\rdata:3\n:data:fail\r:yyy\ndata:4\n\n",
        "event(message,1\\n2\\n3\\n4,)\n" END);
}

/* on_comment reports the text after the colon with one leading space removed. */
static void test_comment_callback(void **state)
{
  (void)state;
  check(&with_comments, ": heartbeat\n:\n::x\n:  two\n\n",
        "comment(heartbeat)\ncomment()\ncomment(:x)\ncomment( two)\n" END);
}

/* 9.2.6: split at the first colon; one leading space is removed from the value. */
static void test_first_colon_and_one_space(void **state)
{
  (void)state;
  check(&defaults, "data:a:b: c\n\n", "event(message,a:b: c,)\n" END);
  check(&defaults, "data: x\n\n", "event(message,x,)\n" END);
  check(&defaults, "data:  x\n\n", "event(message, x,)\n" END);
  check(&defaults, "data:\tx\n\n", "event(message,\\tx,)\n" END);
  check(&defaults, "data: \n\n", "event(message,,)\n" END);
}

/* WPT format-leading-space: tab kept, one space stripped. */
static void test_wpt_leading_space(void **state)
{
  (void)state;
  check(&defaults, "data:\ttest\rdata: \ndata:test\n\n", "event(message,\\ttest\\n\\ntest,)\n" END);
}

/* 9.2.6: a line without a colon is a field whose value is empty. */
static void test_field_without_colon(void **state)
{
  (void)state;
  /* spec example: "data\n\ndata\ndata\n\ndata:" fires "" and "\n"; the last block is lost */
  check(&defaults, "data\n\ndata\ndata\n\ndata:", "event(message,,)\nevent(message,\\n,)\n" END);
  check(&defaults, "event:x\nevent\ndata:1\n\n", "event(message,1,)\n" END);
}

/* 9.2.6: field names compare exactly (case, surrounding spaces, NUL are not folded). */
static void test_field_names_exact(void **state)
{
  (void)state;
  CHECK_BYTES(&defaults,
              "Data:1\nDATA:2\ndata :3\n data:4\ndata\0:5\ndatax:6\nretr:1\nid2:x\nevent2:y\n"
              "data:ok\n\n",
              "event(message,ok,)\n" END);
  /* the name ends at the first colon, wherever later colons are (the matcher's shortcut for
   * a 4-byte name must not see "id:x" or ":abc" as one) */
  check(&with_comments, "id:x:\n:abc:d\nevent:a:b\ndat::1\nretry:7:\ndata:x:y\n\n",
        "comment(abc:d)\nid(x:)\nevent(a:b,x:y,x:)\n" END);
}

/* 9.2.6 "data": the value and a LF are appended; dispatch removes one trailing LF. */
static void test_data_lines_join(void **state)
{
  (void)state;
  check(&defaults, "data:YHOO\ndata:+2\ndata:10\n\n", "event(message,YHOO\\n+2\\n10,)\n" END);
  check(&defaults, "data:a\ndata\n\n", "event(message,a\\n,)\n" END);
  check(&defaults, "data\ndata:a\n\n", "event(message,\\na,)\n" END);
}

/* WPT format-field-data: "" then "\n"; the last, unterminated block is discarded. */
static void test_wpt_field_data(void **state)
{
  (void)state;
  check(&defaults, "data:\n\ndata\ndata\n\ndata:test", "event(message,,)\nevent(message,\\n,)\n" END);
}

/* 9.2.6 "event": sets the type; it is reset after each block; empty means "message". */
static void test_event_type(void **state)
{
  (void)state;
  check(&defaults, "event:test\ndata:x\n\ndata:x\n\n", "event(test,x,)\nevent(message,x,)\n" END);
  check(&defaults, "event: \ndata:data\n\n", "event(message,data,)\n" END);
  check(&defaults, "event:a\nevent:b\ndata:x\n\n", "event(b,x,)\n" END);
  /* the type is reset even when the block dispatches nothing */
  check(&defaults, "event:lost\n\ndata:x\n\n", "event(message,x,)\n" END);
  /* type set after data still applies */
  check(&defaults, "data:x\nevent:late\n\n", "event(late,x,)\n" END);
}

/* NUL passes through type and data (only id rejects it). WPT format-null-character. */
static void test_nul_in_data_and_type(void **state)
{
  (void)state;
  CHECK_BYTES(&defaults, "data:\0\n\n", "event(message,\\x00,)\n" END);
  CHECK_BYTES(&defaults, "event:a\0b\ndata:x\0y\n\n", "event(a\\x00b,x\\x00y,)\n" END);
}

/* 9.2.6 "id": sets the last event ID buffer; it persists across events. */
static void test_id_persists(void **state)
{
  (void)state;
  check(&defaults, "id:1\ndata:a\n\ndata:b\n\n", "id(1)\nevent(message,a,1)\nevent(message,b,1)\n" END);
  check(&defaults, "data:a\nid: 7\n\n", "id(7)\nevent(message,a,7)\n" END);
}

/* 9.2.6 "id": an empty value (with or without colon) resets the ID to "". */
static void test_id_reset(void **state)
{
  (void)state;
  check(&defaults, "id:1\ndata:a\n\nid\ndata:b\n\nid:2\n\nid:\ndata:c\n\n",
        "id(1)\nevent(message,a,1)\nid()\nevent(message,b,)\nid(2)\nid()\nevent(message,c,)\n" END);
}

/* 9.2.6 "id": a value containing U+0000 is ignored; the previous ID stays. */
static void test_id_with_nul_ignored(void **state)
{
  (void)state;
  CHECK_BYTES(&defaults, "id:x\n\nid:a\0b\ndata:1\n\nid:\0\ndata:2\n\n",
              "id(x)\nevent(message,1,x)\nevent(message,2,x)\n" END);
}

/* 9.2.6 dispatch step 1: an id-only block updates the last event ID without an event. */
static void test_id_only_block(void **state)
{
  (void)state;
  check(&defaults, "id:5\n\ndata:x\n\n", "id(5)\nevent(message,x,5)\n" END);
}

/* The last event ID is committed at the blank line, not at the id field. */
static void test_id_committed_at_block_end(void **state)
{
  run r;
  rtw_sse_parser *p;
  rtwt_log log;
  const char *id;
  size_t n, idlen;
  int rv;

  (void)state;
  rtwt_log_init(&log);
  memset(&r, 0, sizeof r);
  r.log = &log;
  r.o = &defaults;
  p = make_parser(&defaults, &r, NULL, &rv);
  assert_int_equal(rv, 0);
  assert_int_equal(rtw_sse_parser_recv(p, "id:1\n\nid:2\ndata:x\n", 18, &n), 0);
  assert_int_equal(rtw_sse_parser_last_event_id(p, &id, &idlen), 0);
  assert_int_equal(idlen, 1);
  assert_memory_equal(id, "1", 1);
  /* 9.2.6 end of stream: pending data discarded, the pending id is not committed
   * (WPT format-data-before-final-empty-line) */
  assert_int_equal(rtw_sse_parser_end(p), 0);
  assert_int_equal(rtw_sse_parser_last_event_id(p, &id, &idlen), 0);
  assert_int_equal(idlen, 1);
  assert_memory_equal(id, "1", 1);
  assert_string_equal(log.buf, "id(1)\n");
  rtw_sse_parser_free(p);
  rtwt_log_free(&log);
}

/* 9.2.6 "retry": only ASCII digits; decimal (leading zeros), saturating; else ignored. */
static void test_retry(void **state)
{
  (void)state;
  check(&defaults, "retry:03000\n", "retry(3000)\n" END);
  check(&defaults, "retry:3000\nretry:1000x\n", "retry(3000)\n" END);
  check(&defaults, "retry\nretry:\nretry:+10\nretry:-1\nretry:1.5\nretry:1e3\nretry:  10\n"
                   "retry:10 \nretry:\xEF\xBC\x91\n", END);
  check(&defaults, "retry: 0\n", "retry(0)\n" END);
  check(&defaults, "retry:4294967295\nretry:4294967296\nretry:99999999999999999999999\n",
        "retry(4294967295)\nretry(4294967295)\nretry(4294967295)\n" END);
  check(&defaults, "retry:0000000000000000000000000000000000000000007\n", "retry(7)\n" END);
  /* retry needs no dispatch and survives an unterminated block */
  check(&defaults, "retry:5\ndata:x", "retry(5)\n" END);
}

/* 9.2.6: unknown fields are ignored. WPT format-field-unknown. */
static void test_unknown_fields(void **state)
{
  (void)state;
  check(&defaults, "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
        "event(message,test\\n\\ntest,)\n" END);
}

/* WPT event-data (message2.py): blocks with only unknown fields fire nothing. */
static void test_wpt_event_data(void **state)
{
  (void)state;
  check(&defaults,
        "data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n",
        "event(message,msg\\nmsg,)\nevent(message,,)\nevent(message,end,)\n" END);
}

/* WPT format-field-parsing. */
static void test_wpt_field_parsing(void **state)
{
  static const char in[] = "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\n"
                           "data:3\rdata:\r\n data:32\ndata:4\n\n";
  (void)state;
  check_n(&defaults, in, sizeof in - 1, "event(message,\\x00\\n 2\\n1\\n3\\n\\n4,)\n" END);
}

/* WPT format-newlines. */
static void test_wpt_newlines(void **state)
{
  (void)state;
  check(&defaults, "data:test\r\ndata\ndata:test\r\n\r\n", "event(message,test\\n\\ntest,)\n" END);
}

/* 9.2.6 dispatch step 2: a blank line with no data dispatches nothing. */
static void test_blank_lines_without_data(void **state)
{
  (void)state;
  check(&defaults, "\n\n\r\n\r\revent:x\n\n", END);
}

/* 9.2.6: "Once the end of the file is reached, any pending data must be discarded." */
static void test_unterminated_event_discarded(void **state)
{
  (void)state;
  check(&defaults, "data:1\n\ndata:2\n", "event(message,1,)\n" END);
  check(&defaults, "data:1\n\ndata:2", "event(message,1,)\n" END);
  check(&defaults, "retry:1000\ndata:test1\n\nid:test\ndata:test2",
        "retry(1000)\nevent(message,test1,)\n" END);
}

/* 9.2.6 spec example with four blocks. */
static void test_spec_example_four_blocks(void **state)
{
  (void)state;
  check(&defaults,
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        "id(1)\nevent(message,first event,1)\nid()\nevent(message,second event,)\n" END);
}

/* ------------------------------------------------------------------ UTF-8 */

/* 9.2.5/9.2.6: UTF-8 decode with replacement, one U+FFFD per maximal subpart. */
static void test_utf8_replacement(void **state)
{
  (void)state;
  check(&defaults, "data:\xC0\xAF\n\n", "event(message,\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD,)\n" END);
  check(&defaults, "data:\xED\xA0\x80\n\n",
        "event(message,\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD,)\n" END);
  /* a truncated sequence before LF is one U+FFFD and the LF still ends the line */
  check(&defaults, "data:\xE2\x82\n\n", "event(message,\\xEF\\xBF\\xBD,)\n" END);
  check(&defaults, "data:a\xE2\x82" "b\n\n", "event(message,a\\xEF\\xBF\\xBDb,)\n" END);
  check(&defaults, "data:\xF4\x90\x80\x80\n\n",
        "event(message,\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD,)\n" END);
  check(&defaults, "data:\xFF\xFE\n\n", "event(message,\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD,)\n" END);
  /* valid multibyte sequences pass unchanged, also when split across calls */
  check(&defaults, "data:\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9\n\n",
        "event(message,\\xE2\\x82\\xAC \\xF0\\x9F\\x98\\x80 \\xC3\\xA9,)\n" END);
}

/* Replacement applies to every kept field: type, id and comments. */
static void test_utf8_replacement_in_fields(void **state)
{
  (void)state;
  check(&with_comments, "event:\xFFx\nid:\xC3\ndata:1\n:\xE0\x80\n\n",
        "comment(\\xEF\\xBF\\xBD\\xEF\\xBF\\xBD)\nid(\\xEF\\xBF\\xBD)\n"
        "event(\\xEF\\xBF\\xBDx,1,\\xEF\\xBF\\xBD)\n" END);
}

/* RTW_SSE_FLAG_RAW_BYTES passes bytes through (documented option, not spec behaviour). */
static void test_raw_bytes_option(void **state)
{
  opts o = defaults;
  (void)state;
  o.flags = RTW_SSE_FLAG_RAW_BYTES;
  check(&o, "\xEF\xBB\xBF" "data:\xC0\xAF\n\n", "event(message,\\xC0\\xAF,)\n" END);
}

/* ------------------------------------------------------------------ long lines, limits */

static char *repeat(const char *prefix, char c, size_t n, const char *suffix, size_t *len)
{
  size_t a = strlen(prefix), b = strlen(suffix);
  char *s = malloc(a + n + b + 1);
  assert_non_null(s);
  memcpy(s, prefix, a);
  memset(s + a, c, n);
  memcpy(s + a + n, suffix, b + 1);
  *len = a + n + b;
  return s;
}

/* Lines longer than the 64-byte scan block and comments of 2 KiB (WPT format-comments). */
static void test_long_lines(void **state)
{
  size_t len;
  char *in, *in2, *expect;
  (void)state;
  in = repeat("data:", 'x', 3000, "\n\n", &len);
  expect = repeat("event(message,", 'x', 3000, ",)\n" END, &len);
  check(&defaults, in, expect);
  free(in);
  free(expect);
  in2 = repeat(":", 'c', 2048, "\rdata:3\n\n", &len);
  check(&defaults, in2, "event(message,3,)\n" END);
  free(in2);
}

/* max_type_length bounds the decoded `event` value, and nothing else. */
static void test_type_too_long(void **state)
{
  opts o = defaults;
  (void)state;
  o.max_type = 3;
  check(&o, "event:abc\ndata:1\n\n", "event(abc,1,)\n" END);
  check(&o, "event:abcd\ndata:1\n\n", "error(RTW_ERR_SSE_TYPE_TOO_LONG)\n");
  check(&o, "event:\xFF\ndata:1\n\n", "event(\\xEF\\xBF\\xBD,1,)\n" END);
  check(&o, "event:a\xFF\ndata:1\n\n", "error(RTW_ERR_SSE_TYPE_TOO_LONG)\n");
  /* other lines are not bounded by it (the old max_line_length covered them all) */
  check(&o, ":12345678\nfoo:12345678\nretry:12345678\nid:12345\ndata:0123456789\n\n",
        "retry(12345678)\nid(12345)\nevent(message,0123456789,12345)\n" END);
  check(&o, "dat\nid\n\n", "id()\n" END);
}

/* Issue #12, defect 5: lines every browser accepts pass with default settings. Comments,
 * unknown fields and retry values take no memory whatever their length; event types and ids
 * of 10,000 bytes are within the defaults. Fed whole, byte by byte and at every split. */
static void test_browser_sized_lines(void **state)
{
  size_t len, tl, il;
  char *in, *expect, *type, *id, td[48], idd[48];
  opts o = defaults;
  (void)state;
  o.digest = 1;
  /* a comment of 64 KiB + 1 byte (the old default limit failed it) */
  in = repeat(":", 'c', 65537, "\ndata:x\n\n", &len);
  check(&defaults, in, "event(message,x,)\n" END);
  free(in);
  /* an unknown field of 1 MiB */
  in = repeat("foo:", 'u', 1u << 20, "\ndata:x\n\n", &len);
  check(&defaults, in, "event(message,x,)\n" END);
  free(in);
  /* a `retry` value of 100,000 digits, parsed as it streams */
  in = repeat("retry:", '0', 100000, "42\ndata:x\n\n", &len);
  check(&defaults, in, "retry(42)\nevent(message,x,)\n" END);
  free(in);
  in = repeat("retry:", '9', 100000, "\nretry:", &len);
  check(&defaults, in, "retry(4294967295)\n" END);
  free(in);
  in = repeat("retry:", '9', 100000, "x\ndata:x\n\n", &len);
  check(&defaults, in, "event(message,x,)\n" END);
  free(in);
  /* an event type and an id of 10,000 bytes each */
  type = repeat("", 't', 10000, "", &tl);
  id = repeat("", 'i', 10000, "", &il);
  in = malloc(tl + il + 64);
  assert_non_null(in);
  sprintf(in, "event:%s\nid:%s\ndata:x\n\n", type, id);
  digest(td, type, tl);
  digest(idd, id, il);
  expect = malloc(256);
  assert_non_null(expect);
  sprintf(expect, "id(%s)\nevent(%s,x,%s)\n" END, idd, td, idd);
  check(&o, in, expect);
  free(in);
  free(expect);
  free(type);
  free(id);
}

/* on_comment sees at most max_comment_length bytes of a comment, as received: a longer one
 * arrives once, cut there, a character cut by the bound dropped; the rest is skipped. */
static void test_comment_cut(void **state)
{
  size_t len;
  char *in, *expect, d[48];
  opts o = with_comments;
  (void)state;
  o.max_comment = 4;
  check(&o, ": abcd\n:abcde\n: ab\n", "comment(abcd)\ncomment(abcd)\ncomment(ab)\n" END);
  /* cut inside the euro sign (3 bytes): the partial character is dropped */
  check(&o, ": ab\xE2\x82\xAC!\n", "comment(ab)\n" END);
  check(&o, ": a\xE2\x82\xAC!\n", "comment(a\\xE2\\x82\\xAC)\n" END);
  /* a complete invalid byte before the cut is replaced as usual */
  check(&o, ": abc\xFF!\n", "comment(abc\\xEF\\xBF\\xBD)\n" END);
  o.flags = RTW_SSE_FLAG_RAW_BYTES;
  check(&o, ": ab\xE2\x82\xAC!\n", "comment(ab\\xE2\\x82)\n" END);
  /* the default bound: 64 KiB of a 100,000-byte heartbeat, then the stream goes on */
  o = with_comments;
  o.digest = 1;
  in = repeat(":", 'h', 100000, "\ndata:x\n\n", &len);
  expect = repeat("", 'h', RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH, "", &len);
  digest(d, expect, len);
  sprintf(expect, "comment(%s)\nevent(message,x,)\n" END, d);
  check(&o, in, expect);
  free(in);
  free(expect);
}

/* max_event_size bounds the decoded, joined data of one event. */
static void test_event_too_large(void **state)
{
  opts o = defaults;
  (void)state;
  o.max_event = 5;
  check(&o, "data:12345\n\n", "event(message,12345,)\n" END);
  check(&o, "data:12\ndata:12\n\n", "event(message,12\\n12,)\n" END);
  check(&o, "data:123456\n\n", "error(RTW_ERR_SSE_EVENT_TOO_LARGE)\n");
  check(&o, "data:12\ndata:123\n\n", "error(RTW_ERR_SSE_EVENT_TOO_LARGE)\n");
  check(&o, "data:1234\ndata\n\n", "event(message,1234\\n,)\n" END);
  check(&o, "data:12345\ndata\n\n", "error(RTW_ERR_SSE_EVENT_TOO_LARGE)\n");
  /* the limit counts decoded bytes: one invalid byte becomes three */
  check(&o, "data:\xFF\xFF\n\n", "error(RTW_ERR_SSE_EVENT_TOO_LARGE)\n");
}

static void test_id_too_long(void **state)
{
  opts o = defaults;
  (void)state;
  o.max_id = 3;
  check(&o, "id:abc\n\n", "id(abc)\n" END);
  check(&o, "id:abcd\n\n", "error(RTW_ERR_SSE_ID_TOO_LONG)\n");
  check(&o, "id:a\xFF\n\n", "error(RTW_ERR_SSE_ID_TOO_LONG)\n");
  /* 9.2.6: an id containing NUL is ignored whatever its length, before any limit */
  CHECK_BYTES(&o, "id:abcdef\0\ndata:x\n\n", "event(message,x,)\n" END);
  CHECK_BYTES(&o, "id:\0abcdef\ndata:x\n\n", "event(message,x,)\n" END);
}

/* Fatal errors are sticky until reset. */
static void test_errors_are_sticky(void **state)
{
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p;
  size_t n;

  (void)state;
  st.max_type_length = 4;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_sse_parser_recv(p, "event:12345\n", 12, &n), RTW_ERR_SSE_TYPE_TOO_LONG);
  assert_int_equal(rtw_sse_parser_recv(p, "data:x\n\n", 8, &n), RTW_ERR_SSE_TYPE_TOO_LONG);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_sse_parser_end(p), RTW_ERR_SSE_TYPE_TOO_LONG);
  assert_int_equal(rtw_sse_parser_reset(p, NULL, 0), 0);
  assert_int_equal(rtw_sse_parser_recv(p, "data:x\n\n", 8, &n), 0);
  assert_int_equal(n, 8);
  rtw_sse_parser_free(p);
}

/* ------------------------------------------------------------------ streaming, pause */

/* RTW_SSE_FLAG_STREAM_DATA: the data arrives through on_data; the event reports its length. */
static void test_streaming_mode(void **state)
{
  size_t len;
  char *big, *expect;
  opts o = streaming;
  (void)state;
  check(&o, "data:a\ndata:b\xFF\ndata\nevent:t\nid:1\n\n",
        "id(1)\nevent(t,a\\nb\\xEF\\xBF\\xBD\\n,1)\n" END);
  check(&o, "data:\xE2\x82\xAC\n\n", "event(message,\\xE2\\x82\\xAC,)\n" END);
  /* an unfinished event is reported as discarded at the end of the stream */
  check(&o, "data:1\n\ndata:abc\ndata:de", "event(message,1,)\ndiscard(abc\\nde)\n" END);
  /* no size limit applies: nothing is buffered */
  o.max_event = 4;
  big = repeat("data:", 'z', 5000, "\n\n", &len);
  expect = repeat("event(message,", 'z', 5000, ",)\n" END, &len);
  check(&o, big, expect);
  free(big);
  free(expect);
}

/* A callback returning RTW_ERR_PAUSE stops recv() after that line; the rest is fed later. */
static void test_pause(void **state)
{
  opts o = defaults;
  (void)state;
  o.pause_events = 1;
  o.no_end = 1;
  check(&o, "data:1\n\ndata:2\r\rdata:3\r\n\r\n",
        "event(message,1,)\npause\nevent(message,2,)\npause\nevent(message,3,)\npause\n");
}

static void test_pause_nread(void **state)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  opts o = defaults;
  run r;
  rtwt_log log;
  rtw_sse_parser *p;
  size_t n;

  (void)state;
  o.pause_events = 1;
  rtwt_log_init(&log);
  memset(&r, 0, sizeof r);
  r.log = &log;
  r.o = &o;
  cb.on_event = on_event;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, &r), 0);
  assert_int_equal(rtw_sse_parser_recv(p, "data:1\n\ndata:2\n\n", 16, &n), RTW_ERR_PAUSE);
  assert_int_equal(n, 8);
  assert_int_equal(rtw_sse_parser_recv(p, "data:2\n\n", 8, &n), RTW_ERR_PAUSE);
  assert_int_equal(n, 8);
  rtw_sse_parser_free(p);
  rtwt_log_free(&log);
}

/* Any other callback error fails the parser (sticky RTW_ERR_CALLBACK_FAILURE). */
static void test_callback_failure(void **state)
{
  opts o = defaults;
  (void)state;
  o.fail_on_event = 1;
  check(&o, "data:1\n\ndata:2\n\n", "event(message,1,)\nerror(RTW_ERR_CALLBACK_FAILURE)\n");
}

/* ------------------------------------------------------------------ re-entrancy */

/* A parser whose callbacks call back into it: `nest` makes every callback try recv(), end()
 * and reset() (each must be refused with RTW_ERR_REENTRANT and change nothing); `free_in`
 * names the callback that frees the parser. */
typedef struct reent {
  rtw_sse_parser *p;
  const char *free_in;
  int nest;
  int refused;   /* nested calls refused as they should be */
  rtwt_log log;  /* what the callbacks saw */
} reent;

static int reent_cb(reent *r, const char *name)
{
  size_t n = 99;
  const char *id;
  size_t idl;

  rtwt_log_printf(&r->log, "%s\n", name);
  if (r->nest) {
    assert_int_equal(rtw_sse_parser_recv(r->p, "data:x\n\n", 8, &n), RTW_ERR_REENTRANT);
    assert_int_equal(n, 0);
    assert_int_equal(rtw_sse_parser_end(r->p), RTW_ERR_REENTRANT);
    assert_int_equal(rtw_sse_parser_reset(r->p, "z", 1), RTW_ERR_REENTRANT);
    /* reading is allowed */
    assert_int_equal(rtw_sse_parser_last_event_id(r->p, &id, &idl), 0);
    r->refused += 3;
  }
  if (r->free_in != NULL && strcmp(r->free_in, name) == 0) {
    rtw_sse_parser_free(r->p);
    rtw_sse_parser_free(r->p); /* still deferred: the handle is only marked */
    return RTW_ERR_PAUSE;      /* ignored: the parser stops anyway */
  }
  return 0;
}

static int re_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  reent *r = ud;
  (void)p;
  reent_cb(r, "event");
  rtwt_log_bytes(&r->log, ev->data, ev->data ? ev->data_len : 0);
  rtwt_log_printf(&r->log, "\n");
  return 0;
}

static int re_text(rtw_sse_parser *p, const char *s, size_t n, void *ud, const char *name)
{
  reent *r = ud;
  (void)p;
  rtwt_log_bytes(&r->log, s, n);
  return reent_cb(r, name);
}

static int re_id(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  return re_text(p, s, n, ud, "id");
}

static int re_comment(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  return re_text(p, s, n, ud, "comment");
}

static int re_data(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  return re_text(p, s, n, ud, "data");
}

static int re_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  (void)p, (void)ms;
  return reent_cb(ud, "retry");
}

static int re_discard(rtw_sse_parser *p, void *ud)
{
  (void)p;
  return reent_cb(ud, "discard");
}

static const char reent_in[] = ": c\nretry: 5\nid: 1\ndata: a\n\ndata: b\n\ndata: tail";

/* Run reent_in through a parser counting its allocations; returns the last status. */
static int reent_run(reent *r, uint32_t flags, size_t *nread, rtwt_failmem *fm)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  int rv;

  cb.on_event = re_event;
  cb.on_id = re_id;
  cb.on_comment = re_comment;
  cb.on_retry = re_retry;
  cb.on_data = re_data;
  cb.on_discard = re_discard;
  st.flags = flags;
  rtwt_failmem_init(fm, 0);
  rtwt_log_init(&r->log);
  assert_int_equal(rtw_sse_parser_new(&r->p, &cb, &st, &fm->mem, r), 0);
  rv = rtw_sse_parser_recv(r->p, reent_in, sizeof reent_in - 1, nread);
  if (rv == 0)
    rv = rtw_sse_parser_end(r->p);
  return rv;
}

/* Issue #12, defect 4: recv(), end() and reset() from a callback are refused, not nested,
 * and the parse goes on exactly as without them. */
static void test_reentrant_calls_refused(void **state)
{
  reent plain, nested;
  rtwt_failmem fm;
  size_t n;
  uint32_t flags[2] = {0, RTW_SSE_FLAG_STREAM_DATA};
  int i;

  (void)state;
  for (i = 0; i < 2; i++) {
    memset(&plain, 0, sizeof plain);
    memset(&nested, 0, sizeof nested);
    nested.nest = 1;
    assert_int_equal(reent_run(&plain, flags[i], &n, &fm), 0);
    rtw_sse_parser_free(plain.p);
    assert_int_equal(reent_run(&nested, flags[i], &n, &fm), 0);
    assert_int_equal(n, sizeof reent_in - 1);
    assert_string_equal(nested.log.buf, plain.log.buf);
    /* comment, retry, id, event, event (+ data pieces and discard when streaming) */
    assert_true(nested.refused >= 15);
    /* not sticky: the parser still works */
    assert_int_equal(rtw_sse_parser_recv(nested.p, "data: z\n\n", 9, &n), 0);
    rtw_sse_parser_free(nested.p);
    assert_int_equal(fm.live, 0);
    rtwt_log_free(&plain.log);
    rtwt_log_free(&nested.log);
  }
}

/* rtw_sse_parser_free() from a callback is deferred: the running call stops right after that
 * callback (no other fires), frees the parser (no leak, no use after free under ASan) and
 * returns RTW_ERR_CALLBACK_FAILURE. */
static void test_free_from_callback(void **state)
{
  static const struct {
    const char *in;
    uint32_t flags;
    const char *log;
    size_t nread; /* SIZE_MAX: freed by end() */
  } cases[] = {
      {"comment", 0, "ccomment\n", 4},
      {"retry", 0, "ccomment\nretry\n", 13},
      {"id", 0, "ccomment\nretry\n1id\n", 28},
      {"event", 0, "ccomment\nretry\n1id\nevent\na\n", 28},
      {"data", RTW_SSE_FLAG_STREAM_DATA, "ccomment\nretry\nadata\n", 27},
      {"discard", RTW_SSE_FLAG_STREAM_DATA,
       "ccomment\nretry\nadata\n1id\nevent\n\nbdata\nevent\n\ntaildata\ndiscard\n",
       (size_t)-1},
  };
  size_t i, n;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reent r;
    rtwt_failmem fm;
    memset(&r, 0, sizeof r);
    r.free_in = cases[i].in;
    assert_int_equal(reent_run(&r, cases[i].flags, &n, &fm), RTW_ERR_CALLBACK_FAILURE);
    assert_string_equal(r.log.buf, cases[i].log);
    if (cases[i].nread != (size_t)-1)
      assert_int_equal(n, cases[i].nread);
    assert_int_equal(fm.live, 0); /* freed by the call that ran the callback */
    rtwt_log_free(&r.log);
  }
}

/* ------------------------------------------------------------------ zero copy, reset */

typedef struct zc {
  const char *lo, *hi;
  int inside;
} zc;

static int zc_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  zc *z = ud;
  (void)p, (void)type, (void)type_len, (void)id, (void)id_len;
  z->inside += data >= z->lo && data + data_len <= z->hi;
  return 0;
}

/* A one-line event that lies whole in the input is delivered by pointer into the input. */
static void test_zero_copy(void **state)
{
  static const char in[] = "id:1\nevent:e\ndata:{\"a\":1}\n\ndata:x\n\n";
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_parser *p;
  zc z;
  size_t n;

  (void)state;
  z.lo = in;
  z.hi = in + sizeof in;
  z.inside = 0;
  cb.on_event = zc_event;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, &z), 0);
  assert_int_equal(rtw_sse_parser_recv(p, in, sizeof in - 1, &n), 0);
  assert_int_equal(z.inside, 2);
  rtw_sse_parser_free(p);
}

/* reset() seeds the last event ID for a reconnect (WPT format-field-id-2). */
static void test_reset_seeds_last_event_id(void **state)
{
  opts o = defaults;
  (void)state;
  o.seed = "41";
  check(&o, "data:a\n\nid:42\ndata:b\n\n", "event(message,a,41)\nid(42)\nevent(message,b,42)\n" END);
}

static void test_reset_validates(void **state)
{
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p;

  (void)state;
  st.max_id_length = 4;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), 0);
  assert_int_equal(rtw_sse_parser_reset(p, "a\nb", 3), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_reset(p, "a\0b", 3), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_reset(p, NULL, 3), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_reset(p, "abcde", 5), RTW_ERR_SSE_ID_TOO_LONG);
  assert_int_equal(rtw_sse_parser_reset(p, "abcd", 4), 0);
  rtw_sse_parser_free(p);
}

static void test_invalid_arguments(void **state)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_mem half = {0};
  rtw_sse_parser *p = NULL;
  const char *id;
  size_t n, idlen;

  (void)state;
  assert_int_equal(rtw_sse_parser_new(NULL, NULL, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  cb.version = 99;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_null(p);
  /* version 1 of both structs (never released) had another layout */
  cb.version = 1;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  st.version = 1;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  st.version = 0;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  st.version = RTW_SSE_SETTINGS_VERSION;
  st.flags = 0x80;
  assert_int_equal(rtw_sse_parser_new(&p, NULL, &st, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_new(&p, NULL, NULL, &half, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_new(&p, NULL, NULL, NULL, &n), 0);
  assert_ptr_equal(rtw_sse_parser_user_data(p), &n);
  assert_int_equal(rtw_sse_parser_recv(p, NULL, 1, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_recv(p, "x", 1, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_recv(NULL, "x", 1, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_recv(p, NULL, 0, &n), 0);
  assert_int_equal(rtw_sse_parser_last_event_id(p, NULL, &idlen), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_parser_last_event_id(p, &id, &idlen), 0);
  assert_int_equal(idlen, 0);
  assert_int_equal(rtw_sse_parser_end(NULL), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_parser_free(p);
  rtw_sse_parser_free(NULL);
}

/* ------------------------------------------------------------------ allocation failures */

typedef struct alloc_case {
  const char *in;
  uint32_t flags;
} alloc_case;

static int noop_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  (void)p, (void)ev, (void)ud;
  return 0;
}

static int noop_text(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p, (void)s, (void)n, (void)ud;
  return 0;
}

static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  const alloc_case *c = arg;
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  rtw_sse_parser *p;
  size_t len = strlen(c->in), i, n;
  int rv;

  cb.on_event = noop_event;
  cb.on_comment = noop_text;
  cb.on_id = noop_text;
  cb.on_data = noop_text;
  st.flags = c->flags;
  rv = rtw_sse_parser_new(&p, &cb, &st, mem, NULL);
  if (rv != 0)
    return rv;
  /* whole, then in 3-byte pieces, so both the fast and the partial paths allocate */
  rv = rtw_sse_parser_recv(p, c->in, len, &n);
  if (rv == 0)
    rv = rtw_sse_parser_end(p);
  for (i = 0; rv == 0 && i < len; i += 3)
    rv = rtw_sse_parser_recv(p, c->in + i, len - i < 3 ? len - i : 3, &n);
  if (rv == 0)
    rv = rtw_sse_parser_reset(p, "seed", 4);
  rtw_sse_parser_free(p);
  return rv;
}

/* Every allocation site fails in turn: a clean RTW_ERR_NOMEM and no leak. */
static void test_allocation_failures(void **state)
{
  alloc_case c = {"id:1\nevent:type\ndata:first line\ndata:\xFF second\n: comment\xC3\n\n"
                  "event:t2\ndata:x\n\nid:\xE0\n\n", 0};
  (void)state;
  assert_true(rtwt_check_alloc_failures(alloc_scenario, &c) >= 5);
  c.flags = RTW_SSE_FLAG_STREAM_DATA;
  assert_true(rtwt_check_alloc_failures(alloc_scenario, &c) >= 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_line_endings),
      cmocka_unit_test(test_lf_cr_is_two_line_ends),
      cmocka_unit_test(test_crlf_split_is_one_line_end),
      cmocka_unit_test(test_trailing_cr_dispatches_immediately),
      cmocka_unit_test(test_other_breaks_are_content),
      cmocka_unit_test(test_bom_stripped_once),
      cmocka_unit_test(test_bom_only_at_stream_start),
      cmocka_unit_test(test_bom_prefix_mismatch),
      cmocka_unit_test(test_bom_after_end),
      cmocka_unit_test(test_comments_ignored),
      cmocka_unit_test(test_comment_callback),
      cmocka_unit_test(test_first_colon_and_one_space),
      cmocka_unit_test(test_wpt_leading_space),
      cmocka_unit_test(test_field_without_colon),
      cmocka_unit_test(test_field_names_exact),
      cmocka_unit_test(test_data_lines_join),
      cmocka_unit_test(test_wpt_field_data),
      cmocka_unit_test(test_event_type),
      cmocka_unit_test(test_nul_in_data_and_type),
      cmocka_unit_test(test_id_persists),
      cmocka_unit_test(test_id_reset),
      cmocka_unit_test(test_id_with_nul_ignored),
      cmocka_unit_test(test_id_only_block),
      cmocka_unit_test(test_id_committed_at_block_end),
      cmocka_unit_test(test_retry),
      cmocka_unit_test(test_unknown_fields),
      cmocka_unit_test(test_wpt_event_data),
      cmocka_unit_test(test_wpt_field_parsing),
      cmocka_unit_test(test_wpt_newlines),
      cmocka_unit_test(test_blank_lines_without_data),
      cmocka_unit_test(test_unterminated_event_discarded),
      cmocka_unit_test(test_spec_example_four_blocks),
      cmocka_unit_test(test_utf8_replacement),
      cmocka_unit_test(test_utf8_replacement_in_fields),
      cmocka_unit_test(test_raw_bytes_option),
      cmocka_unit_test(test_long_lines),
      cmocka_unit_test(test_type_too_long),
      cmocka_unit_test(test_browser_sized_lines),
      cmocka_unit_test(test_comment_cut),
      cmocka_unit_test(test_event_too_large),
      cmocka_unit_test(test_id_too_long),
      cmocka_unit_test(test_errors_are_sticky),
      cmocka_unit_test(test_streaming_mode),
      cmocka_unit_test(test_pause),
      cmocka_unit_test(test_pause_nread),
      cmocka_unit_test(test_callback_failure),
      cmocka_unit_test(test_reentrant_calls_refused),
      cmocka_unit_test(test_free_from_callback),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_reset_seeds_last_event_id),
      cmocka_unit_test(test_reset_validates),
      cmocka_unit_test(test_invalid_arguments),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
