/* SPDX-License-Identifier: MIT */
/* Event-stream parser fast path tests: line ends at every position around the 16/32/64-byte
 * scan block edges, the word-load field dispatch (names next to the end of the input), ids
 * tested for NUL a word at a time, streamed and buffered modes giving the same events on
 * generated streams, and no allocation per event once the buffers are warm. Every input runs
 * through each scanner variant this machine has; most are fed whole, byte by byte and split at
 * every offset (tests/helpers), so the fast path (whole lines) is checked against the slow path
 * (lines cut by the end of the input). WHATWG HTML 9.2.5 and 9.2.6 give the expected results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/sse.h"
#include "scan.h"
#include "sse_internal.h"

/* ------------------------------------------------------------------ harness */

typedef struct opts {
  uint32_t flags;
  int simd; /* RTW__SSE_SIMD_* */
  size_t max_comment;
} opts;

static size_t max_event; /* max_event_size for make_parser(); 0: the default */
static int small_limits; /* make_parser(): max_id_length and max_type_length 32 */
/* The long-line tests were written for runs that treat lines from 192 bytes on as long (their
 * 200- to 1300-byte lines go to the long-line loop); the parser's default is LONG_LINE, 512
 * (parser.c). make_parser() and the buffered long-line tests set this; 0 keeps the default
 * (test_long_line_default_threshold). */
static size_t long_min = 192;

static void set_long_min(rtw_sse_parser *p)
{
  if (long_min > 0)
    assert_int_equal(rtw__sse_parser_set_long_line(p, long_min), 0);
}
static int exact_pieces; /* feed(): pass each piece in a buffer of its own size, so the
                          * sanitizers see any read past the end of the input */

typedef struct run {
  rtwt_log *log;
  const opts *o;
  rtwt_log streamed; /* STREAM_DATA: the current event's data, as delivered */
} run;

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "event(");
  rtwt_log_bytes(r->log, ev->type, ev->type_len);
  rtwt_log_printf(r->log, ",");
  if (r->o->flags & RTW_SSE_FLAG_STREAM_DATA) {
    assert_null(ev->data);
    assert_int_equal(ev->data_len, r->streamed.len);
    rtwt_log_bytes(r->log, r->streamed.buf, r->streamed.len);
    rtwt_log_clear(&r->streamed);
  } else {
    rtwt_log_bytes(r->log, ev->data, ev->data_len);
  }
  rtwt_log_printf(r->log, ",");
  rtwt_log_bytes(r->log, ev->id, ev->id_len);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int on_id(rtw_sse_parser *p, const char *id, size_t len, void *ud)
{
  run *r = ud;
  (void)p;
  rtwt_log_printf(r->log, "id(");
  rtwt_log_bytes(r->log, id, len);
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
  rtwt_log_bytes(r->log, text, len);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int on_data(rtw_sse_parser *p, const char *piece, size_t len, void *ud)
{
  run *r = ud;
  (void)p;
  assert_true(len > 0);
  /* raw bytes; the event logs them escaped (rtwt_log_bytes on a scratch log would escape
   * twice, so keep them in a plain buffer) */
  while (r->streamed.len + len + 1 > r->streamed.cap) {
    r->streamed.cap *= 2;
    r->streamed.buf = realloc(r->streamed.buf, r->streamed.cap);
    assert_non_null(r->streamed.buf);
  }
  memcpy(r->streamed.buf + r->streamed.len, piece, len);
  r->streamed.len += len;
  r->streamed.buf[r->streamed.len] = 0;
  return 0;
}

static rtw_sse_parser *make_parser(const opts *o, run *r, const rtw_mem *mem)
{
  rtw_sse_callbacks cb;
  rtw_sse_settings st;
  rtw_sse_parser *p = NULL;

  memset(&cb, 0, sizeof cb);
  memset(&st, 0, sizeof st);
  cb.version = RTW_SSE_CALLBACKS_VERSION;
  st.version = RTW_SSE_SETTINGS_VERSION;
  cb.on_event = on_event;
  cb.on_id = on_id;
  cb.on_retry = on_retry;
  cb.on_comment = on_comment;
  if (o->flags & RTW_SSE_FLAG_STREAM_DATA)
    cb.on_data = on_data;
  st.flags = o->flags;
  st.max_comment_length = o->max_comment;
  st.max_event_size = max_event;
  if (small_limits)
    st.max_id_length = st.max_type_length = 32;
  assert_int_equal(rtw_sse_parser_new(&p, &cb, &st, mem, r), 0);
  assert_int_equal(rtw__sse_parser_set_simd(p, o->simd), 0);
  set_long_min(p);
  return p;
}

static void feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces, size_t npieces,
                 rtwt_log *log)
{
  const opts *o = arg;
  run r;
  rtw_sse_parser *p;
  size_t i, off = 0;
  int rv = 0;

  (void)len;
  memset(&r, 0, sizeof r);
  r.log = log;
  r.o = o;
  rtwt_log_init(&r.streamed);
  p = make_parser(o, &r, NULL);
  for (i = 0; i < npieces && rv == 0; i++) {
    size_t nread = 0;
    if (exact_pieces) {
      uint8_t *copy = malloc(pieces[i] ? pieces[i] : 1);
      assert_non_null(copy);
      memcpy(copy, in + off, pieces[i]);
      rv = rtw_sse_parser_recv(p, copy, pieces[i], &nread);
      free(copy);
    } else {
      rv = rtw_sse_parser_recv(p, in + off, pieces[i], &nread);
    }
    if (rv == 0)
      assert_int_equal(nread, pieces[i]);
    off += pieces[i];
  }
  if (rv == 0)
    rv = rtw_sse_parser_end(p);
  rtwt_log_printf(log, "end(%s)\n", rtw_err_name(rv));
  rtw_sse_parser_free(p);
  rtwt_log_free(&r.streamed);
}

static int level_supported(int level)
{
  rtw_sse_parser *p;
  int ok;

  assert_int_equal(rtw_sse_parser_new(&p, NULL, NULL, NULL, NULL), 0);
  ok = rtw__sse_parser_set_simd(p, level) == 0;
  rtw_sse_parser_free(p);
  return ok;
}

/* Whole, byte by byte and at every split, under every scanner variant this machine has. */
static void check_all(const opts *o, const char *in, size_t n, const char *expected)
{
  opts v = *o;
  int level;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    v.simd = level;
    rtwt_check_splits(feed, &v, in, n, expected);
  }
}

static void check(const char *in, const char *expected)
{
  static const opts o = {0, 0, 0};
  check_all(&o, in, strlen(in), expected);
}

#define END "end(RTW_OK)\n"

/* A growable text for building inputs and expected logs. */
typedef struct text {
  char buf[1024];
  size_t len;
} text;

static void put(text *t, const char *s, size_t n)
{
  assert_true(t->len + n < sizeof t->buf);
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = 0;
}

static void puts_(text *t, const char *s)
{
  put(t, s, strlen(s));
}

static void fill(text *t, size_t n, char c)
{
  assert_true(t->len + n < sizeof t->buf);
  memset(t->buf + t->len, c, n);
  t->len += n;
  t->buf[t->len] = 0;
}

/* ------------------------------------------------------------------ block edges */

static const char *const terms[3] = {"\n", "\r", "\r\n"};

/* 9.2.5: a line end (LF, CR, CRLF) at every offset from 0 to 140, so on both sides of each
 * 16-, 32- and 64-byte block edge of the scanners, with a second line straddling the next
 * block and the blank line after it. The first line ends at offset 5 + k. */
static void test_line_end_at_every_block_offset(void **state)
{
  size_t k, t;
  (void)state;

  for (k = 0; k <= 135; k++) {
    for (t = 0; t < 3; t++) {
      text in = {{0}, 0}, ex = {{0}, 0};
      puts_(&in, "data:");
      fill(&in, k, 'a');
      puts_(&in, terms[t]);
      puts_(&in, "data:");
      fill(&in, 70, 'b');
      puts_(&in, terms[t]);
      puts_(&in, terms[t]);
      puts_(&ex, "event(message,");
      fill(&ex, k, 'a');
      puts_(&ex, "\\n");
      fill(&ex, 70, 'b');
      puts_(&ex, ",)\n" END);
      check(in.buf, ex.buf);
    }
  }
}

/* The same around block edges with a BOM first (shifting every offset by 3) and non-ASCII
 * bytes before the line end, in the same block or the one before: a valid character passes
 * as is, an invalid byte becomes U+FFFD (9.2.6 UTF-8 decode), and the ASCII line after them
 * is not decoded. */
static void test_non_ascii_at_every_block_offset(void **state)
{
  size_t k, t;
  (void)state;

  for (k = 0; k <= 70; k++) {
    for (t = 0; t < 3; t++) {
      text in = {{0}, 0}, ex = {{0}, 0};
      puts_(&in, "\xEF\xBB\xBF" "data:");
      fill(&in, k, 'a');
      puts_(&in, "\xC3\xA9\xFF");
      puts_(&in, terms[t]);
      puts_(&in, "data:\xFF");
      puts_(&in, terms[t]);
      puts_(&in, "data:c");
      puts_(&in, terms[t]);
      puts_(&in, terms[t]);
      puts_(&ex, "event(message,");
      fill(&ex, k, 'a');
      puts_(&ex, "\\xC3\\xA9\\xEF\\xBF\\xBD\\n\\xEF\\xBF\\xBD\\nc,)\n" END);
      check(in.buf, ex.buf);
    }
  }
}

/* Events lying across block edges whole, each a few lines: ids and types referenced in the
 * input while the data is in another block, then copied when the call ends. */
static void test_events_straddle_blocks(void **state)
{
  size_t k;
  (void)state;

  for (k = 0; k <= 64; k++) {
    text in = {{0}, 0}, ex = {{0}, 0};
    fill(&in, k, ':');
    puts_(&in, "\nid: 7\nevent: tick\ndata: 1\ndata: 2\n\nid: 8\ndata: 3\r\n\r\n");
    if (k > 0) { /* k colons: a comment of k - 1 colons; none: a blank line */
      puts_(&ex, "comment(");
      fill(&ex, k - 1, ':');
      puts_(&ex, ")\n");
    }
    puts_(&ex, "id(7)\nevent(tick,1\\n2,7)\nid(8)\nevent(message,3,8)\n" END);
    check(in.buf, ex.buf);
  }
}

/* ------------------------------------------------------------------ data runs */

/* A large growable text for data runs (text holds 1 KiB). */
typedef struct big_text {
  char buf[8192];
  size_t len;
} big_text;

static void bput(big_text *t, const char *s, size_t n)
{
  assert_true(t->len + n < sizeof t->buf);
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = 0;
}

static void bputs(big_text *t, const char *s)
{
  bput(t, s, strlen(s));
}

static void bfill(big_text *t, size_t n, char c)
{
  size_t i;
  for (i = 0; i < n; i++)
    bput(t, &c, 1);
}

/* 9.2.6 "append the field value to the data buffer, then append a single U+000A": many data
 * lines in one block, which the scanner appends as a run (scan_lines.inc), of every value
 * length from 0 to 140 (so line ends at every offset of the 64-byte copy steps), with lines
 * that must leave the run in between: CR and CRLF ends, "data:" without its space, two
 * spaces, a non-ASCII value, an invalid byte, a comment, an id, an unknown field and "data"
 * alone; the event ends less than 64 bytes before the end of the input (its last lines take
 * the general path) or well before it. The data buffer starts small, so it grows during the
 * run. Whole, byte by byte and at every split, under every scanner variant. */
static void test_data_run_lines(void **state)
{
  static const char *const breaks[] = {"\r", "\r\n", "data:x\n", "data:  y\n",
                                       "data: \xC3\xA9\n", "data: \xFF\n", ": c\n",
                                       "id: 9\n", "dat: z\n", "data\n"};
  static const char *const break_data[] = {NULL, NULL, "x", " y", "\\xC3\\xA9",
                                           "\\xEF\\xBF\\xBD", NULL, NULL, NULL, ""};
  static const char *const break_log[] = {"", "", "", "", "", "", "comment(c)\n", "id(9)\n",
                                          "", ""};
  size_t b, tail;
  (void)state;

  exact_pieces = 1;
  for (b = 0; b < sizeof breaks / sizeof breaks[0]; b++) {
    for (tail = 0; tail < 2; tail++) {
      static big_text in, ex;
      size_t k;
      int broke = 0;
      in.len = ex.len = 0;
      bputs(&in, "data: a\ndata: b\n");
      bputs(&ex, "event(message,a\\nb");
      for (k = 0; k <= 140; k += 1 + k / 16) {
        bputs(&in, "data: ");
        bfill(&in, k, (char)('c' + k % 20));
        bputs(&ex, "\\n");
        bfill(&ex, k, (char)('c' + k % 20));
        if (!broke && k >= 40) { /* a line that leaves the run, then more run lines */
          broke = 1;
          if (b < 2) { /* CR or CRLF ends this data line */
            bputs(&in, breaks[b]);
            continue;
          }
          bputs(&in, "\n");
          bputs(&in, breaks[b]);
          if (break_data[b] != NULL) {
            bputs(&ex, "\\n");
            bputs(&ex, break_data[b]);
          }
          continue;
        }
        bputs(&in, "\n");
      }
      bputs(&in, "\n");
      bputs(&ex, ",");
      if (b == 7)
        bputs(&ex, "9");
      bputs(&ex, ")\n" END);
      if (tail) /* a comment after the event: the whole event lies 64 bytes before the end */
        bputs(&in, ": 0123456789012345678901234567890123456789012345678901234567890123456789\n");
      {
        /* the comment/id of the break line is logged before the event */
        static big_text full;
        full.len = 0;
        bputs(&full, break_log[b]);
        bput(&full, ex.buf, ex.len - strlen(END));
        if (tail)
          bputs(&full, "comment(0123456789012345678901234567890123456789012345678901234567890123456789)\n");
        bputs(&full, END);
        {
          static const opts o = {0, 0, 0};
          check_all(&o, in.buf, in.len, full.buf);
        }
      }
    }
  }
  exact_pieces = 0;
}

/* max_event_size bounds the data of an event appended as a run exactly as line by line: 30
 * lines of 20 bytes make 629 bytes of data, accepted with max_event_size 629 and refused
 * (RTW_ERR_SSE_EVENT_TOO_LARGE, no event) with 628, whatever the split. */
static void test_data_run_max_event_size(void **state)
{
  static big_text in, ex;
  static const opts o = {0, 0, 0};
  size_t i;
  (void)state;

  exact_pieces = 1;
  in.len = ex.len = 0;
  bputs(&ex, "event(message,");
  for (i = 0; i < 30; i++) {
    bputs(&in, "data: ");
    bfill(&in, 20, (char)('a' + i % 26));
    bputs(&in, "\n");
    if (i > 0)
      bputs(&ex, "\\n");
    bfill(&ex, 20, (char)('a' + i % 26));
  }
  bputs(&in, "\n: 0123456789012345678901234567890123456789012345678901234567890123456789\n");
  bputs(&ex, ",)\ncomment(0123456789012345678901234567890123456789012345678901234567890123456789)\n" END);
  max_event = 629;
  check_all(&o, in.buf, in.len, ex.buf);
  max_event = 628;
  check_all(&o, in.buf, in.len, "end(RTW_ERR_SSE_EVENT_TOO_LARGE)\n");
  max_event = 0;
  exact_pieces = 0;
}

/* ------------------------------------------------------------------ field dispatch */

/* 9.2.6: names compare exactly; the word compare must not accept a prefix, a longer name or
 * a line end inside the name, and must skip exactly one space. Each line is also checked
 * with the end of the input right after it (every split), where the bytewise classifier
 * runs instead. */
static void test_field_names_by_word(void **state)
{
  (void)state;
  check("data\n\n", "event(message,,)\n" END);
  check("data:\n\n", "event(message,,)\n" END);
  check("data: \n\n", "event(message,,)\n" END);
  check("data:  x\n\n", "event(message, x,)\n" END);
  check("data:x\r\n\r\n", "event(message,x,)\n" END);
  check("dat:x\ndata:y\n\n", "event(message,y,)\n" END);
  check("datax:x\ndata:y\n\n", "event(message,y,)\n" END);
  check("dat\ndata:y\n\n", "event(message,y,)\n" END);
  check("Data:x\ndata :x\ndata:y\n\n", "event(message,y,)\n" END);
  check("id\ndata:y\n\n", "id()\nevent(message,y,)\n" END);
  check("id:\ndata:y\n\n", "id()\nevent(message,y,)\n" END);
  check("id: 5\ndata:y\n\n", "id(5)\nevent(message,y,5)\n" END);
  check("idx:5\nids:5\ni:5\nid :5\ndata:y\n\n", "event(message,y,)\n" END);
  check("id:5\r\rdata:y\r\r", "id(5)\nevent(message,y,5)\n" END);
  check("event\ndata:y\n\n", "event(message,y,)\n" END);
  check("event:\ndata:y\n\n", "event(message,y,)\n" END);
  check("event: t\ndata:y\n\n", "event(t,y,)\n" END);
  check("event:t \ndata:y\n\n", "event(t ,y,)\n" END);
  check("events:t\nevent :t\neven:t\ndata:y\n\n", "event(message,y,)\n" END);
  check("retry:5\n", "retry(5)\n" END);
  check("retry: 7\n", "retry(7)\n" END);
  check("retry\nretry:\nretry:5x\nretryx:5\nretr:5\n", END);
  check(":\n: x\n:  y\n::z\n", "comment()\ncomment(x)\ncomment( y)\ncomment(:z)\n" END);
  check("x:data\ndata\r\n\r\n", "event(message,,)\n" END);
}

/* A comment at, under and over max_comment_length, ASCII and not, with and without
 * RTW_SSE_FLAG_RAW_BYTES: only the whole ASCII (or raw) comment skips decoding. */
static void test_comment_lengths(void **state)
{
  opts o = {0, 0, 4};
  opts raw = {RTW_SSE_FLAG_RAW_BYTES, 0, 4};
  (void)state;

  check_all(&o, ":abcd\n", 6, "comment(abcd)\n" END);
  check_all(&o, ":abcde\n", 7, "comment(abcd)\n" END);
  check_all(&o, ":ab\xFF\n", 5, "comment(ab\\xEF\\xBF\\xBD)\n" END);
  check_all(&o, ":abc\xC3\xA9\n", 7, "comment(abc)\n" END);
  check_all(&raw, ":ab\xFF\n", 5, "comment(ab\\xFF)\n" END);
  check_all(&raw, ":abc\xFF\xFF\n", 7, "comment(abc\\xFF)\n" END);
}

/* 9.2.6: an id holding U+0000 is ignored. Values of 0 to 40 bytes with a NUL at every
 * position, and without one, so the word-at-a-time test sees the NUL in every lane of its
 * first, middle and last word, and values longer than its 32-byte reach. */
static void test_id_nul_at_every_position(void **state)
{
  static const opts o = {0, 0, 0};
  size_t n, z;
  (void)state;

  for (n = 0; n <= 40; n++) {
    for (z = 0; z <= n; z++) { /* z == n: no NUL */
      text in = {{0}, 0}, ex = {{0}, 0};
      puts_(&in, "id:old\n\nid:");
      fill(&in, n, 'i');
      if (z < n)
        in.buf[in.len - n + z] = 0;
      puts_(&in, "\ndata:x\n\n");
      puts_(&ex, "id(old)\n");
      if (z == n) {
        puts_(&ex, "id(");
        fill(&ex, n, 'i');
        puts_(&ex, ")\nevent(message,x,");
        fill(&ex, n, 'i');
      } else {
        puts_(&ex, "event(message,x,old");
      }
      puts_(&ex, ")\n" END);
      check_all(&o, in.buf, in.len, ex.buf);
    }
  }
}

/* ------------------------------------------------------------------ generated streams */

static uint32_t lcg_next(uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

/* A pseudo-random stream of `n` bytes at most, from pieces that matter to the parser: field
 * names, colons, spaces, all three line ends, blank lines, non-ASCII and invalid bytes, NUL,
 * and lines longer than a scan block. */
static size_t gen_stream(uint8_t *out, size_t cap, uint32_t seed)
{
  static const char *const pieces[] = {
    "data:", "data: ", "data", "id:", "id: ", "event:", "event: ", "retry:", ":", " ",
    "\n",    "\r",     "\r\n", "\n\n", "\r\n\r\n", "x", "hello world", "12", "\xC3\xA9",
    "\xE2\x82", "\xFF", "\0", "\xEF\xBB\xBF", "dat",
    ("data:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")};
  size_t len = 0;

  while (len + 80 < cap) {
    const char *piece = pieces[lcg_next(&seed) % (sizeof pieces / sizeof pieces[0])];
    size_t n = piece[0] == 0 ? 1 : strlen(piece); /* "\0" stands for one NUL byte */
    memcpy(out + len, piece, n);
    len += n;
  }
  return len;
}

/* Feed `in` in pieces of pseudo-random sizes (1 to 200 bytes); log as feed() does. */
static void feed_random(const opts *o, const uint8_t *in, size_t len, uint32_t seed,
                        rtwt_log *log)
{
  size_t pieces[4096], n = 0, off = 0;

  while (off < len) {
    size_t k = 1 + lcg_next(&seed) % 200;
    if (k > len - off)
      k = len - off;
    assert_true(n < sizeof pieces / sizeof pieces[0]);
    pieces[n++] = k;
    off += k;
  }
  feed((void *)o, in, len, pieces, n, log);
}

/* Streamed (on_data) and buffered (on_event data) modes report the same events, ids,
 * retries and comments on generated streams, whatever the scanner and the chunking; so does
 * the whole-input feed. */
static void test_streamed_equals_buffered(void **state)
{
  static uint8_t in[8192];
  uint32_t seed;
  (void)state;

  for (seed = 1; seed <= 40; seed++) {
    size_t len = gen_stream(in, sizeof in, seed);
    rtwt_log ref;
    int level, mode;
    size_t whole = len;

    rtwt_log_init(&ref);
    {
      opts o = {0, RTW__SSE_SIMD_BASE, 0};
      feed(&o, in, len, &whole, 1, &ref);
    }
    assert_true(ref.len > 0);
    for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
      if (!level_supported(level))
        continue;
      for (mode = 0; mode < 2; mode++) {
        opts o = {0, 0, 0};
        rtwt_log a, b;
        o.flags = mode ? RTW_SSE_FLAG_STREAM_DATA : 0;
        o.simd = level;
        rtwt_log_init(&a);
        rtwt_log_init(&b);
        feed(&o, in, len, &whole, 1, &a);
        feed_random(&o, in, len, seed * 7919u, &b);
        assert_string_equal(a.buf, ref.buf);
        assert_string_equal(b.buf, ref.buf);
        rtwt_log_free(&a);
        rtwt_log_free(&b);
      }
    }
    rtwt_log_free(&ref);
  }
}

/* A pseudo-random stream of well-formed events, mostly: whole lines of the kinds the
 * whole-event loop and the data runs take (id, event, one or many data lines, comments, blank
 * lines, values of 0 to 150 bytes), mixed with the lines that must leave them for the general
 * path (CR and CRLF ends, non-ASCII and invalid bytes, NUL, retry, unknown fields, "data"
 * without a colon, a second data line, values over the limits the test sets). */
static size_t gen_events(uint8_t *out, size_t cap, uint32_t seed)
{
  static const char *const odd[] = {
    "retry: 250\n", "dat: x\n", "data\n", "id: a\xC3\xA9\n", "data: caf\xC3\xA9\n",
    "data: \xFF\n", "event: \xE2\x82\n", "id: z\0z\n", ": \xC3\n", "data: cr\r", "id: 3\r\n",
    "data:x\r\n\r\n", "\r", "event\n", "id\n", "data:  two spaces\n",
    "id: 0123456789abcdefghijklmnopqrstuvwxyz\n", /* over the test's max_id_length (32) */
    "event: 0123456789abcdefghijklmnopqrstuvwxyz\n"}; /* over max_type_length (32) */
  static const size_t odd_len[] = {11, 7, 5, 8, 12, 8, 10, 8, 4, 9, 7, 10, 1, 6, 3, 18, 41, 44};
  size_t len = 0;

  while (len + 300 < cap) {
    uint32_t r = lcg_next(&seed) % 100;
    size_t n = lcg_next(&seed) % 151, i;
    const char *head = NULL;
    if (r < 8) {
      size_t k = lcg_next(&seed) % (sizeof odd / sizeof odd[0]);
      memcpy(out + len, odd[k], odd_len[k]);
      len += odd_len[k];
      continue;
    }
    if (r < 30)
      head = "data: ";
    else if (r < 45)
      head = "data:";
    else if (r < 55)
      head = "id: ";
    else if (r < 62)
      head = "event: ";
    else if (r < 70)
      head = ": ";
    if (head == NULL) { /* a blank line */
      out[len++] = '\n';
      continue;
    }
    if (head[0] != 'd' && n > 30)
      n %= 31; /* ids, types and comments stay within the test's limits */
    memcpy(out + len, head, strlen(head));
    len += strlen(head);
    for (i = 0; i < n; i++)
      out[len++] = (uint8_t)('!' + (lcg_next(&seed) % 94));
    out[len++] = '\n';
  }
  return len;
}

/* The fast paths (whole events, data runs, word dispatch) against the general path: a stream
 * from gen_events() fed whole (fast paths wherever they apply) gives the same callbacks as fed
 * byte by byte (every line cut, so the general path only) and in pieces of 1 to 200 bytes, in
 * both modes, with small limits (a comment over 16 bytes cut, an id or type over 32 bytes an
 * error) and without, under every scanner variant. */
static void test_fast_paths_equal_general_path(void **state)
{
  static uint8_t in[6144];
  static size_t ones[sizeof in];
  uint32_t seed;
  size_t i;
  (void)state;

  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  for (seed = 1; seed <= 12; seed++) {
    size_t len = gen_events(in, sizeof in, seed), whole = len;
    int level, mode;
    for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
      if (!level_supported(level))
        continue;
      for (mode = 0; mode < 4; mode++) {
        opts o = {0, 0, 0};
        rtwt_log a, b, c;
        o.flags = (mode & 1) ? RTW_SSE_FLAG_STREAM_DATA : 0;
        o.simd = level;
        o.max_comment = (mode & 2) ? 16 : 0;
        small_limits = (mode & 2) != 0;
        rtwt_log_init(&a);
        rtwt_log_init(&b);
        rtwt_log_init(&c);
        feed(&o, in, len, ones, len, &a);
        feed(&o, in, len, &whole, 1, &b);
        feed_random(&o, in, len, seed * 31u, &c);
        assert_true(a.len > 0);
        assert_string_equal(b.buf, a.buf);
        assert_string_equal(c.buf, a.buf);
        rtwt_log_free(&a);
        rtwt_log_free(&b);
        rtwt_log_free(&c);
        small_limits = 0;
      }
    }
  }
}

/* Events of many data lines, the runs of scan_lines.inc (buffered: copied line by line;
 * streamed: one on_data call per line): values of 0 to 200 bytes, so line ends fall at every
 * offset of the 64-byte blocks and lines cross one or more of them, mostly "data: " lines
 * with now and then a line a run must not take (CR or CRLF end, "data:" without its space or
 * with two, non-ASCII, an invalid byte, NUL, a comment, "data" alone). Each ends with a blank
 * line; an empty line now and then makes two blocks of one event impossible to merge. */
static size_t gen_runs(uint8_t *out, size_t cap, uint32_t seed)
{
  static const char *const odd[] = {"data: cr\r", "data: crlf\r\n", "data:x\n", "data:  y\n",
                                    "data: caf\xC3\xA9\n", "data: \xFF\n", ": c\n", "data\n",
                                    "data: n\0l\n", "id: 5\n"};
  static const size_t odd_len[] = {9, 12, 7, 9, 12, 8, 4, 5, 10, 6};
  size_t len = 0;

  while (len + 260 < cap) {
    uint32_t r = lcg_next(&seed) % 100;
    size_t n, i;
    if (r < 3) {
      out[len++] = '\n';
      continue;
    }
    if (r < 7) {
      size_t k = lcg_next(&seed) % (sizeof odd / sizeof odd[0]);
      memcpy(out + len, odd[k], odd_len[k]);
      len += odd_len[k];
      continue;
    }
    n = r < 60 ? 50 + lcg_next(&seed) % 40 : lcg_next(&seed) % 201;
    memcpy(out + len, "data: ", 6);
    len += 6;
    for (i = 0; i < n; i++)
      out[len++] = (uint8_t)('!' + (lcg_next(&seed) % 94));
    out[len++] = '\n';
  }
  out[len++] = '\n';
  return len;
}

/* Feed `in` in pieces of `lo` to `hi` bytes (pseudo-random sizes); log as feed() does. */
static void feed_sized(const opts *o, const uint8_t *in, size_t len, uint32_t seed, size_t lo,
                       size_t hi, rtwt_log *log)
{
  static size_t pieces[16384];
  size_t n = 0, off = 0;

  while (off < len) {
    size_t k = lo + lcg_next(&seed) % (hi - lo + 1);
    if (k > len - off)
      k = len - off;
    assert_true(n < sizeof pieces / sizeof pieces[0]);
    pieces[n++] = k;
    off += k;
  }
  feed((void *)o, in, len, pieces, n, log);
}

/* The data runs against the general path on gen_runs() streams: fed byte by byte (every line
 * cut: the general path only) gives the same callbacks as fed whole and in pieces of 1 to 200,
 * 100 to 700 and 1000 to 5000 bytes (runs cut by the end of the input at every kind of
 * place), in both modes, with max_event_size at its default and at 2000 bytes (the limit hit
 * inside runs: the same error at the same place), under every scanner variant. Pieces are
 * passed in buffers of their own size, so the sanitizers see any read past the input. */
static void test_data_runs_equal_general_path(void **state)
{
  static uint8_t in[12288];
  static size_t ones[sizeof in];
  uint32_t seed;
  size_t i;
  (void)state;

  exact_pieces = 1;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  for (seed = 1; seed <= 6; seed++) {
    size_t len = gen_runs(in, sizeof in, seed), whole = len;
    int level, mode;
    for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
      if (!level_supported(level))
        continue;
      for (mode = 0; mode < 4; mode++) {
        opts o = {0, 0, 0};
        rtwt_log ref, a;
        int f;
        o.flags = (mode & 1) ? RTW_SSE_FLAG_STREAM_DATA : 0;
        o.simd = level;
        max_event = (mode & 2) ? 2000 : 0;
        rtwt_log_init(&ref);
        feed(&o, in, len, ones, len, &ref);
        assert_true(ref.len > 0);
        if (mode == 2) /* the limit is hit somewhere in these streams */
          assert_non_null(strstr(ref.buf, "RTW_ERR_SSE_EVENT_TOO_LARGE"));
        for (f = 0; f < 4; f++) {
          rtwt_log_init(&a);
          if (f == 0)
            feed(&o, in, len, &whole, 1, &a);
          else if (f == 1)
            feed_sized(&o, in, len, seed * 131u, 1, 200, &a);
          else if (f == 2)
            feed_sized(&o, in, len, seed * 137u, 100, 700, &a);
          else
            feed_sized(&o, in, len, seed * 139u, 1000, 5000, &a);
          assert_string_equal(a.buf, ref.buf);
          rtwt_log_free(&a);
        }
        rtwt_log_free(&ref);
      }
    }
  }
  max_event = 0;
  exact_pieces = 0;
}

/* Long lines (a large JSON value, longer than the host's reads): the scanners skip 256 plain
 * bytes at a time (AVX-512) both in complete lines and in the rest of a line cut by the
 * previous input, and a cut line's pieces skip the UTF-8 check when the scan saw them plain.
 * One byte that matters (LF, CR, CRLF, NUL, an invalid byte, a valid 2-byte character) at
 * every offset 0..299 of a 700-byte value, so on every place of a 256-byte window and its
 * edges: fed whole and in pieces of 1 to 200, 100 to 700 and 1000 to 5000 bytes under every
 * scanner, both modes, the callbacks equal those of the base scanner fed byte by byte. */
static void test_long_lines_equal_general_path(void **state)
{
  static const char *const special[6] = {"\n", "\r", "\r\n", "\0", "\xFF", "\xC3\xA9"};
  static const size_t special_len[6] = {1, 1, 2, 1, 1, 2};
  static uint8_t in[4096];
  static size_t ones[sizeof in];
  size_t k, x, i;
  (void)state;

  exact_pieces = 1;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  for (k = 0; k < 300; k++) {
    for (x = 0; x < 6; x++) {
      size_t len = 0, whole;
      int mode, level;
      memcpy(in + len, "data: ", 6), len += 6;
      for (i = 0; i < 700; i++)
        in[len++] = (uint8_t)('a' + i % 26);
      memcpy(in + 6 + k, special[x], special_len[x]); /* over the letters at k */
      memcpy(in + len, "\ndata: ", 7), len += 7;
      memset(in + len, 'b', 400), len += 400;
      memcpy(in + len, "\n\n:", 3), len += 3;
      memset(in + len, 'c', 500), len += 500;
      memcpy(in + len, "\ndata: x\n\n", 10), len += 10;
      whole = len;
      for (mode = 0; mode < 2; mode++) {
        opts o = {0, 0, 0};
        rtwt_log ref, a;
        o.flags = mode ? RTW_SSE_FLAG_STREAM_DATA : 0;
        o.max_comment = 600;
        o.simd = RTW__SSE_SIMD_BASE;
        rtwt_log_init(&ref);
        feed(&o, in, len, ones, len, &ref);
        assert_non_null(strstr(ref.buf, "event("));
        for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
          int f;
          if (!level_supported(level))
            continue;
          o.simd = level;
          for (f = 0; f < 4; f++) {
            rtwt_log_init(&a);
            if (f == 0)
              feed(&o, in, len, &whole, 1, &a);
            else if (f == 1)
              feed_sized(&o, in, len, (uint32_t)(k * 7u + x + 1u), 1, 200, &a);
            else if (f == 2)
              feed_sized(&o, in, len, (uint32_t)(k * 11u + x + 1u), 100, 700, &a);
            else
              feed_sized(&o, in, len, (uint32_t)(k * 13u + x + 1u), 1000, 5000, &a);
            assert_string_equal(a.buf, ref.buf);
            rtwt_log_free(&a);
          }
        }
        rtwt_log_free(&ref);
      }
    }
  }
  exact_pieces = 0;
}

/* A callback that pauses, fails or frees the parser from on_data inside a streamed run stops
 * it right after its own line: for every call of an event of 60 data lines (of 20 to 139
 * bytes), a pause returns RTW_ERR_PAUSE after a LF and resuming gives the data of an
 * uninterrupted parse; a failure is sticky with no callback after it; a free leaves nothing
 * allocated and no callback after it. */
typedef struct dstop {
  size_t at;  /* the on_data call that acts (1-based; 0: none) */
  int action; /* 0: pause, 1: fail, 2: free */
  size_t calls;
  size_t after; /* callbacks after the acting one (must stay 0 for fail and free) */
  rtw_sse_parser *p;
  char data[16384];
  size_t len;
} dstop;

static int ds_data(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  dstop *d = ud;
  (void)p;
  if (d->at != 0 && d->calls >= d->at)
    d->after++;
  assert_true(d->len + n <= sizeof d->data);
  memcpy(d->data + d->len, s, n);
  d->len += n;
  if (++d->calls != d->at)
    return 0;
  if (d->action == 2) {
    rtw_sse_parser_free(d->p);
    return 0;
  }
  return d->action == 0 ? RTW_ERR_PAUSE : -1;
}

static int ds_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  dstop *d = ud;
  (void)p;
  (void)ev;
  if (d->at != 0 && d->calls >= d->at)
    d->after++;
  return 0;
}

static void test_streamed_run_callbacks_stop(void **state)
{
  static char in[12288];
  static dstop ref, d;
  size_t len = 0, i, at;
  int level, action;
  (void)state;

  for (i = 0; i < 60; i++) {
    size_t k = 20 + (i * 37) % 120, j;
    memcpy(in + len, "data: ", 6);
    len += 6;
    for (j = 0; j < k; j++)
      in[len++] = (char)('a' + (i + j) % 26);
    in[len++] = '\n';
  }
  in[len++] = '\n';
  memset(in + len, ':', 200); /* a comment: the event lies well before the end */
  len += 200;
  in[len++] = '\n';
  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (at = 0; at <= 62; at += at < 3 ? 1 : 7) {
      for (action = 0; action < 3; action++) {
        rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
        rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
        rtwt_countmem cm;
        dstop *x = at == 0 ? &ref : &d;
        size_t off = 0, n = 0;
        int rv;
        if (at == 0 && action > 0)
          continue;
        memset(x, 0, sizeof *x);
        x->at = at;
        x->action = action;
        rtwt_countmem_init(&cm);
        cb.on_data = ds_data;
        cb.on_event = ds_event;
        st.flags = RTW_SSE_FLAG_STREAM_DATA;
        assert_int_equal(rtw_sse_parser_new(&x->p, &cb, &st, &cm.mem, x), 0);
        assert_int_equal(rtw__sse_parser_set_simd(x->p, level), 0);
        rv = rtw_sse_parser_recv(x->p, in, len, &n);
        if (at == 0 || x->calls < at) { /* nothing acted: the whole input went through */
          assert_int_equal(rv, 0);
          assert_int_equal(n, len);
          if (at != 0) {
            assert_int_equal(x->len, ref.len);
            assert_memory_equal(x->data, ref.data, ref.len);
          }
        } else if (action == 0) {
          while (rv == RTW_ERR_PAUSE) {
            assert_int_equal(in[off + n - 1], '\n'); /* stopped right after a line */
            off += n;
            rv = rtw_sse_parser_recv(x->p, in + off, len - off, &n);
          }
          assert_int_equal(rv, 0);
          assert_int_equal(off + n, len);
          assert_int_equal(x->len, ref.len);
          assert_memory_equal(x->data, ref.data, ref.len);
        } else if (action == 1) {
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(in[n - 1], '\n');
          assert_int_equal(x->after, 0);
          assert_true(x->len <= ref.len);
          assert_memory_equal(x->data, ref.data, x->len);
          assert_int_equal(rtw_sse_parser_recv(x->p, in, len, &n), RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(x->after, 0);
        } else {
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(x->after, 0);
          assert_int_equal(cm.live, 0); /* freed by the recv() that ran the callback */
          x->p = NULL;
        }
        rtw_sse_parser_free(x->p);
        assert_int_equal(cm.live, 0);
      }
    }
  }
}

/* The scanners' run form (scan.h: LF mask, and CR / non-ASCII / NUL mask) matches a byte
 * loop, for every variant this machine has, at 16 alignments, on random bytes and on bytes
 * drawn from the ones that matter (LF, CR, NUL, 0x80, 0xFF, 0x8A and 0x8D, whose low seven
 * bits are LF and CR, 'a', 0x7F). */
static void test_scan_run_matches_bytes(void **state)
{
  static const uint8_t alphabet[] = {'\n', '\r', 'a', 0x80, 0xFF, 0x00, 0x8A, 0x8D, 0x7F};
  uint32_t seed = 12345;
  uint8_t buf[64 + 16];
  int round;
  (void)state;

  for (round = 0; round < 20000; round++) {
    unsigned off = (unsigned)(round % 16), i;
    uint64_t lf = 0, bad = 0, l1, b1;
    for (i = 0; i < 64; i++) {
      uint8_t c = (round & 1) ? alphabet[lcg_next(&seed) % sizeof alphabet]
                              : (uint8_t)lcg_next(&seed);
      buf[off + i] = c;
      if (c == '\n')
        lf |= UINT64_C(1) << i;
      if (c == '\r' || (c & 0x80) || c == 0)
        bad |= UINT64_C(1) << i;
    }
    rtw__scan_run_portable(buf + off, &l1, &b1);
    assert_true(l1 == lf && b1 == bad);
#if defined(RTW__SCAN_HAVE_SSE2)
    rtw__scan_run_sse2(buf + off, &l1, &b1);
    assert_true(l1 == lf && b1 == bad);
#endif
#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
    if (rtw__scan_best() >= RTW__SCAN_AVX2) {
      rtw__scan_run_avx2(buf + off, &l1, &b1);
      assert_true(l1 == lf && b1 == bad);
    }
    if (rtw__scan_best() >= RTW__SCAN_AVX512) {
      rtw__scan_run_avx512(buf + off, &l1, &b1);
      assert_true(l1 == lf && b1 == bad);
    }
#endif
  }
}

/* A callback that pauses, fails or frees the parser inside the whole-event loop stops it
 * right after its own line, as on the general path: recv() returns RTW_ERR_PAUSE (the rest is
 * fed again and the callbacks are those of an uninterrupted parse), or a sticky
 * RTW_ERR_CALLBACK_FAILURE with no other callback, or RTW_ERR_CALLBACK_FAILURE with the parser
 * freed (no leak, no use after free under the sanitizers). */
typedef struct stopper {
  const char *who; /* the callback that acts */
  int action;      /* 0: pause, 1: fail, 2: free */
  rtw_sse_parser *p;
  rtwt_log log;
} stopper;

static int stop_cb(stopper *s, const char *name)
{
  rtwt_log_printf(&s->log, "%s;", name);
  if (strcmp(name, s->who) != 0)
    return 0;
  if (s->action == 2) {
    rtw_sse_parser_free(s->p);
    return 0;
  }
  return s->action == 0 ? RTW_ERR_PAUSE : -1;
}

static int st_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  (void)p;
  rtwt_log_bytes(&((stopper *)ud)->log, ev->type, ev->type_len);
  return stop_cb(ud, "event");
}

static int st_id(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  rtwt_log_bytes(&((stopper *)ud)->log, s, n);
  return stop_cb(ud, "id");
}

static int st_comment(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  rtwt_log_bytes(&((stopper *)ud)->log, s, n);
  return stop_cb(ud, "comment");
}

static int st_data(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  rtwt_log_bytes(&((stopper *)ud)->log, s, n);
  return stop_cb(ud, "data");
}

static void test_event_loop_callbacks_stop(void **state)
{
  static const char in[] =
    ": c\nid: 1\nevent: t\ndata: a\n\ndata: b\n\n"
    ": 01234567890123456789012345678901234567890123456789012345678901234567890123456789\n";
  static const struct {
    const char *who;
    size_t nread; /* after the line of the first call */
  } cases[] = {{"comment", 4}, {"id", 28}, {"event", 28}, {"data", 27}};
  size_t c, len = sizeof in - 1;
  int action, level;
  (void)state;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      char plain[512];
      plain[0] = 0;
      for (action = -1; action < 3; action++) { /* -1: nothing stops (the reference) */
        rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
        rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
        rtwt_countmem cm;
        stopper s;
        size_t off = 0, n = 0;
        int rv;
        memset(&s, 0, sizeof s);
        s.who = action < 0 ? "" : cases[c].who;
        s.action = action;
        rtwt_log_init(&s.log);
        rtwt_countmem_init(&cm);
        cb.on_event = st_event;
        cb.on_id = st_id;
        cb.on_comment = st_comment;
        cb.on_data = st_data;
        st.flags = strcmp(cases[c].who, "data") == 0 ? RTW_SSE_FLAG_STREAM_DATA : 0;
        assert_int_equal(rtw_sse_parser_new(&s.p, &cb, &st, &cm.mem, &s), 0);
        assert_int_equal(rtw__sse_parser_set_simd(s.p, level), 0);
        rv = rtw_sse_parser_recv(s.p, in, len, &n);
        if (action < 0) {
          assert_int_equal(rv, 0);
          assert_int_equal(n, len);
          assert_true(strlen(s.log.buf) < sizeof plain);
          strcpy(plain, s.log.buf);
        } else if (action == 0) {
          assert_int_equal(rv, RTW_ERR_PAUSE);
          assert_int_equal(n, cases[c].nread);
          while (rv == RTW_ERR_PAUSE) { /* resume until the input is consumed */
            off += n;
            rv = rtw_sse_parser_recv(s.p, in + off, len - off, &n);
          }
          assert_int_equal(rv, 0);
          assert_int_equal(off + n, len);
          assert_string_equal(s.log.buf, plain);
        } else if (action == 1) {
          char before[512];
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(n, cases[c].nread);
          strcpy(before, s.log.buf);
          assert_int_equal(rtw_sse_parser_recv(s.p, in, len, &n), RTW_ERR_CALLBACK_FAILURE);
          assert_string_equal(s.log.buf, before); /* sticky: nothing more was parsed */
        } else {
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(n, cases[c].nread);
          assert_int_equal(cm.live, 0); /* freed by the recv() that ran the callback */
          /* the log ends with the freeing callback: no other fired after it */
          assert_true(strlen(s.log.buf) > strlen(cases[c].who));
          assert_int_equal(s.log.buf[strlen(s.log.buf) - 1], ';');
          assert_memory_equal(s.log.buf + strlen(s.log.buf) - strlen(cases[c].who) - 1,
                              cases[c].who, strlen(cases[c].who));
          s.p = NULL;
        }
        rtw_sse_parser_free(s.p);
        assert_int_equal(cm.live, 0);
        rtwt_log_free(&s.log);
      }
    }
  }
}

/* Streaming mode, a run of data lines (scan_lines.inc, SRUN_NAME()): a data line followed by
 * another goes out with its own LF (9.2.6 joins the lines with that LF), several such lines
 * gathered into one on_data call (SFILL_NAME(); test_streamed_batches_few_calls counts the
 * calls), so 40 lines take at most 44 calls, and the data is the same as line by line. A
 * pause from on_data stops recv() right after the piece's last line, and resuming gives the
 * same data. */
typedef struct srun {
  char data[4096];
  size_t len;
  size_t calls;
  size_t events;
  int pause;
} srun;

static int sr_data(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  srun *r = ud;
  (void)p;
  assert_true(r->len + n < sizeof r->data);
  memcpy(r->data + r->len, s, n);
  r->len += n;
  r->calls++;
  return r->pause ? RTW_ERR_PAUSE : 0;
}

static int sr_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  srun *r = ud;
  (void)p;
  assert_null(ev->data);
  assert_int_equal(ev->data_len, r->len);
  r->events++;
  return 0;
}

static void test_streamed_run_calls_bounded(void **state)
{
  static char in[4096], want[4096];
  size_t len = 0, wlen = 0, i;
  int level, pause;
  (void)state;

  for (i = 0; i < 40; i++) {
    size_t k = 5 + (i * 7) % 60, j;
    memcpy(in + len, i % 3 ? "data: " : "data:", i % 3 ? 6u : 5u);
    len += i % 3 ? 6u : 5u;
    if (i > 0)
      want[wlen++] = '\n';
    for (j = 0; j < k; j++)
      in[len++] = want[wlen++] = (char)('a' + (i + j) % 26);
    in[len++] = '\n';
  }
  in[len++] = '\n';
  memset(in + len, ':', 80); /* comment padding: the event lies 80 bytes before the end */
  len += 80;
  in[len++] = '\n';
  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (pause = 0; pause < 2; pause++) {
      rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
      rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
      rtw_sse_parser *p;
      srun r;
      size_t off = 0, n;
      int rv;
      memset(&r, 0, sizeof r);
      r.pause = pause;
      cb.on_data = sr_data;
      cb.on_event = sr_event;
      st.flags = RTW_SSE_FLAG_STREAM_DATA;
      assert_int_equal(rtw_sse_parser_new(&p, &cb, &st, NULL, &r), 0);
      assert_int_equal(rtw__sse_parser_set_simd(p, level), 0);
      do {
        rv = rtw_sse_parser_recv(p, in + off, len - off, &n);
        off += n;
        if (rv == RTW_ERR_PAUSE)
          assert_int_equal(in[off - 1], '\n'); /* stopped right after a line */
        else
          assert_int_equal(rv, 0);
      } while (rv == RTW_ERR_PAUSE);
      assert_int_equal(off, len);
      assert_int_equal(r.events, 1);
      assert_int_equal(r.len, wlen);
      assert_memory_equal(r.data, want, wlen);
      assert_true(r.calls <= 44);
      rtw_sse_parser_free(p);
    }
  }
}

static int count_piece_early(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  (void)s;
  (void)n;
  (void)ud;
  return 0;
}

/* Streaming mode batches (parser.c STAGE_SIZE, STAGE_LINE; scan_lines.inc SRUN_NAME()): a
 * run of short data lines goes to on_data in pieces that gather several lines, up to 16 KiB.
 * gen_batches() makes one event of many plain "data: " lines (values of 0 to 150 bytes, more
 * than 16 KiB of them in the larger form, so batches fill the stage) with, now and then, a
 * line a batch must not take or must deliver alone: a long value (300 bytes, over STAGE_LINE;
 * at most max_big of 20000 bytes, over STAGE_SIZE), CR and CRLF ends, NUL, non-ASCII and
 * invalid bytes, "data:" without its space, an empty value, a comment; then a short event and
 * a comment as padding. */
static size_t gen_batches(uint8_t *out, size_t cap, size_t lines, size_t max_big, uint32_t seed)
{
  static const char *const odd[] = {"data: cr\r", "data: crlf\r\n", "data: n\0ul\n",
                                    "data: caf\xC3\xA9\n", "data: \xFF\xFE\n", "data:nospace\n",
                                    "data:\n", "data: \n", ": between\n", "data:  two\n"};
  static const size_t odd_len[] = {9, 12, 11, 12, 9, 13, 6, 7, 10, 11};
  size_t len = 0, i, bigs = 0;

  for (i = 0; i < lines; i++) {
    uint32_t r = lcg_next(&seed) % 100;
    size_t n = lcg_next(&seed) % 151, j;
    if (r < 6) {
      size_t k = lcg_next(&seed) % (sizeof odd / sizeof odd[0]);
      assert_true(len + odd_len[k] < cap);
      memcpy(out + len, odd[k], odd_len[k]);
      len += odd_len[k];
      continue;
    }
    if (r < 8)
      n = r == 7 && bigs++ < max_big ? 20000 : 300;
    assert_true(len + n + 8 < cap);
    memcpy(out + len, "data: ", 6);
    len += 6;
    for (j = 0; j < n; j++)
      out[len++] = (uint8_t)('!' + (lcg_next(&seed) % 94));
    out[len++] = '\n';
  }
  assert_true(len + 300 < cap);
  memcpy(out + len, "\nid: 7\ndata: after\n\n", 20);
  len += 20;
  out[len++] = ':';
  memset(out + len, '-', 200);
  len += 200;
  out[len++] = '\n';
  return len;
}

/* Batched pieces concatenate to what the general path (the input fed byte by byte) and
 * buffered mode deliver: fed whole, in random pieces of 1 to 200 bytes, in 16 KiB reads, and
 * cut in two at every offset of a smaller event (every 389th offset of the large one), under
 * every scanner variant. */
static void test_streamed_batches_equal_general_path(void **state)
{
  static uint8_t in[200000];
  static size_t ones[sizeof in];
  static const size_t line_counts[] = {40, 500};
  uint32_t seed;
  size_t i, c;
  (void)state;

  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  for (c = 0; c < 2; c++) {
    for (seed = 1; seed <= 3; seed++) {
      size_t len = gen_batches(in, sizeof in, line_counts[c], 2 * c, seed), whole = len, cut;
      size_t step = c == 0 ? 1 : 389;
      opts ob = {0, RTW__SSE_SIMD_BASE, 0};
      rtwt_log ref, buf;
      int level;
      rtwt_log_init(&ref);
      rtwt_log_init(&buf);
      {
        opts o = {RTW_SSE_FLAG_STREAM_DATA, RTW__SSE_SIMD_BASE, 0};
        feed(&o, in, len, ones, len, &ref);
      }
      feed(&ob, in, len, &whole, 1, &buf);
      assert_true(ref.len > (c == 0 ? 1000u : 16384u));
      assert_string_equal(buf.buf, ref.buf);
      for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
        opts o = {RTW_SSE_FLAG_STREAM_DATA, 0, 0};
        rtwt_log a;
        size_t pieces[2 + sizeof in / 16384];
        size_t np = 0, off;
        if (!level_supported(level))
          continue;
        o.simd = level;
        rtwt_log_init(&a);
        feed(&o, in, len, &whole, 1, &a);
        assert_string_equal(a.buf, ref.buf);
        rtwt_log_clear(&a);
        feed_random(&o, in, len, seed * 131u, &a);
        assert_string_equal(a.buf, ref.buf);
        rtwt_log_clear(&a);
        for (off = 0; off < len; off += 16384)
          pieces[np++] = len - off < 16384 ? len - off : 16384;
        exact_pieces = 1; /* reads past a piece end show under the sanitizers */
        feed(&o, in, len, pieces, np, &a);
        exact_pieces = 0;
        assert_string_equal(a.buf, ref.buf);
        for (cut = 1; cut < len; cut += step) {
          size_t two[2];
          two[0] = cut;
          two[1] = len - cut;
          rtwt_log_clear(&a);
          feed(&o, in, len, two, 2, &a);
          assert_string_equal(a.buf, ref.buf);
        }
        rtwt_log_free(&a);
      }
      rtwt_log_free(&ref);
      rtwt_log_free(&buf);
    }
  }
}

/* For batch tests: the data as delivered, piece by piece, and what a callback did. */
typedef struct bstop {
  size_t at;  /* the on_data call that acts (1-based; 0: none) */
  int action; /* 0: pause, 1: fail, 2: free */
  size_t calls;
  size_t after; /* callbacks after the acting one (must stay 0 for fail and free) */
  size_t max_piece;
  size_t events;
  rtw_sse_parser *p;
  char *data;
  size_t len, cap;
} bstop;

static int bs_data(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  bstop *d = ud;
  (void)p;
  assert_true(n > 0);
  if (d->at != 0 && d->calls >= d->at)
    d->after++;
  assert_true(d->len + n <= d->cap);
  memcpy(d->data + d->len, s, n);
  d->len += n;
  if (n > d->max_piece)
    d->max_piece = n;
  if (++d->calls != d->at)
    return 0;
  if (d->action == 2) {
    rtw_sse_parser_free(d->p);
    return 0;
  }
  return d->action == 0 ? RTW_ERR_PAUSE : -1;
}

static int bs_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  bstop *d = ud;
  (void)p;
  if (d->at != 0 && d->calls >= d->at)
    d->after++;
  assert_int_equal(ev->data_len, d->len);
  d->events++;
  return 0;
}

/* One event of `lines` plain data lines of 80 bytes ("data: " and a 73-byte value), and a
 * comment as padding; want gets the event's data (values joined by LF). */
static size_t gen_plain_event(char *in, char *want, size_t *wlen, size_t lines)
{
  size_t len = 0, i, j;

  *wlen = 0;
  for (i = 0; i < lines; i++) {
    memcpy(in + len, "data: ", 6);
    len += 6;
    if (i > 0)
      want[(*wlen)++] = '\n';
    for (j = 0; j < 73; j++)
      in[len++] = want[(*wlen)++] = (char)('a' + (i + j) % 26);
    in[len++] = '\n';
  }
  in[len++] = '\n';
  memset(in + len, ':', 200);
  len += 200;
  in[len++] = '\n';
  return len;
}

/* The r9 shape (64 KiB of 80-byte lines, one event): pieces gather lines, none over 16 KiB,
 * so the event takes a handful of on_data calls (one per line before batching: 820), in one
 * read (7) and in 16 KiB reads (23: each read ends with a few lines on the general path), and
 * the data is exact. */
static void test_streamed_batches_few_calls(void **state)
{
  static char in[70000], want[70000], got[70000];
  size_t wlen, len = gen_plain_event(in, want, &wlen, 820), c;
  static const size_t chunks[] = {70000, 16384};
  int level;
  (void)state;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (c = 0; c < 2; c++) {
      rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
      rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
      bstop d;
      size_t off = 0, n;
      memset(&d, 0, sizeof d);
      d.data = got;
      d.cap = sizeof got;
      cb.on_data = bs_data;
      cb.on_event = bs_event;
      st.flags = RTW_SSE_FLAG_STREAM_DATA;
      assert_int_equal(rtw_sse_parser_new(&d.p, &cb, &st, NULL, &d), 0);
      assert_int_equal(rtw__sse_parser_set_simd(d.p, level), 0);
      while (off < len) {
        size_t k = len - off < chunks[c] ? len - off : chunks[c];
        assert_int_equal(rtw_sse_parser_recv(d.p, in + off, k, &n), 0);
        assert_int_equal(n, k);
        off += k;
      }
      assert_int_equal(d.events, 1);
      assert_int_equal(d.len, wlen);
      assert_memory_equal(got, want, wlen);
      assert_true(d.max_piece <= 16384);
      assert_true(d.max_piece > 8192); /* lines were gathered */
      /* a read ends with a few lines on the general path: at most 8 calls a read */
      assert_true(d.calls <= 8 * ((len + chunks[c] - 1) / chunks[c]));
      rtw_sse_parser_free(d.p);
    }
  }
}

/* A pause, failure or free returned by on_data for a batch takes effect after the batch's last
 * line: for every call of an event of 600 80-byte lines, recv() stops right after a line, with
 * exactly that line's data delivered (the values of the lines consumed joined by LF, and at
 * most the LF joining the next one); resuming gives the data of an uninterrupted parse; a
 * failure is sticky with no callback after it; a free leaves nothing allocated. */
static void test_streamed_batch_callbacks_stop(void **state)
{
  static char in[52000], want[52000], got[52000];
  size_t wlen, len = gen_plain_event(in, want, &wlen, 600), at, calls = 0;
  int level, action;
  (void)state;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (at = 0; at == 0 || at <= calls + 1; at++) {
      for (action = 0; action < 3; action++) {
        rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
        rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
        rtwt_countmem cm;
        bstop d;
        size_t off = 0, n = 0, lines;
        int rv;
        if (at == 0 && action > 0)
          continue;
        memset(&d, 0, sizeof d);
        d.data = got;
        d.cap = sizeof got;
        d.at = at;
        d.action = action;
        rtwt_countmem_init(&cm);
        cb.on_data = bs_data;
        cb.on_event = bs_event;
        st.flags = RTW_SSE_FLAG_STREAM_DATA;
        assert_int_equal(rtw_sse_parser_new(&d.p, &cb, &st, &cm.mem, &d), 0);
        assert_int_equal(rtw__sse_parser_set_simd(d.p, level), 0);
        rv = rtw_sse_parser_recv(d.p, in, len, &n);
        if (at == 0)
          calls = d.calls;
        if (at == 0 || d.calls < at) {
          assert_int_equal(rv, 0);
          assert_int_equal(n, len);
          assert_int_equal(d.len, wlen);
          assert_memory_equal(got, want, wlen);
          rtw_sse_parser_free(d.p);
        } else if (action == 2) {
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(d.after, 0);
        } else {
          /* stopped right after line `lines` of the event (80 input bytes each), with its
           * data delivered: 74 bytes a line less the last LF, or with the next joining LF */
          assert_true(n > 0 && n <= 600 * 80);
          assert_int_equal(n % 80, 0);
          lines = n / 80;
          if (action == 0)
            assert_true(d.len == 74 * lines - 1 || d.len == 74 * lines);
          else /* a failure may also come from the LF joining the last line */
            assert_true(d.len >= 74 * lines - 74 && d.len <= 74 * lines);
          assert_memory_equal(got, want, d.len);
          if (action == 1) {
            assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
            assert_int_equal(rtw_sse_parser_recv(d.p, in + n, len - n, &off),
                             RTW_ERR_CALLBACK_FAILURE);
            assert_int_equal(d.after, 0);
          } else {
            while (rv == RTW_ERR_PAUSE) {
              assert_int_equal(in[off + n - 1], '\n');
              off += n;
              rv = rtw_sse_parser_recv(d.p, in + off, len - off, &n);
            }
            assert_int_equal(rv, 0);
            assert_int_equal(off + n, len);
            assert_int_equal(d.events, 1);
            assert_int_equal(d.len, wlen);
            assert_memory_equal(got, want, wlen);
          }
          rtw_sse_parser_free(d.p);
        }
        assert_int_equal(cm.live, 0);
      }
    }
    assert_true(calls > 2);
  }
}

/* The stage is taken at a streamed run's first batch: when that allocation fails, recv()
 * fails with RTW_ERR_NOMEM (sticky), and nothing stays allocated. */
static void test_streamed_batch_nomem(void **state)
{
  static char in[8000], want[8000];
  size_t wlen, len = gen_plain_event(in, want, &wlen, 60);
  long k, fails = 0;
  (void)state;

  for (k = 1; k <= 4; k++) {
    rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
    rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
    rtwt_failmem fm;
    size_t n;
    int rv;
    rtw_sse_parser *p = NULL;
    rtwt_failmem_init(&fm, k);
    cb.on_data = count_piece_early;
    st.flags = RTW_SSE_FLAG_STREAM_DATA;
    rv = rtw_sse_parser_new(&p, &cb, &st, &fm.mem, &n);
    if (rv == 0) {
      n = 0;
      rv = rtw_sse_parser_recv(p, in, len, &n);
      if (fm.failed > 0) {
        assert_int_equal(rv, RTW_ERR_NOMEM);
        assert_int_equal(rtw_sse_parser_recv(p, in, len, &n), RTW_ERR_NOMEM);
        fails++;
      } else {
        assert_int_equal(rv, 0);
      }
      rtw_sse_parser_free(p);
    } else {
      assert_int_equal(rv, RTW_ERR_NOMEM);
    }
    assert_int_equal(fm.live, 0);
  }
  assert_true(fails > 0); /* the stage's allocation was refused once */
}

/* ------------------------------------------------------------------ allocation */

static int count_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  (void)p;
  *(size_t *)ud += 1 + ev->data_len;
  return 0;
}

static int count_piece(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  (void)s;
  *(size_t *)ud += n;
  return 0;
}

static int count_comment(rtw_sse_parser *p, const char *s, size_t n, void *ud)
{
  (void)p;
  (void)s;
  *(size_t *)ud += n;
  return 0;
}

/* No allocation per event in steady state: after one warm-up pass over a stream of every
 * kind of event (one and several data lines, types, ids, retry, comments, non-ASCII and
 * invalid bytes, CRLF), ten more passes in pieces of odd sizes (so lines are cut between
 * calls and kept) allocate nothing, in both modes and every scanner variant. */
static void test_no_allocation_in_steady_state(void **state)
{
  static const char event[] =
    "id: 41\nevent: tick\ndata: {\"seq\":41,\"text\":\"hello\"}\n\n"
    "data: line one\ndata: line two, a little longer than one scan block of 64 bytes....\n"
    "data: three\r\n\r\n"
    ": keep-alive\n"
    "retry: 1500\n"
    "event: caf\xC3\xA9\ndata: na\xC3\xAFve \xFF\n\n"
    "id: 42\ndata: x\n\n";
  static const size_t chunks[] = {16384, 37, 5, 64, 1};
  uint8_t in[4096];
  size_t len = 0, c;
  int level, mode;
  (void)state;

  while (len + sizeof event - 1 <= sizeof in) {
    memcpy(in + len, event, sizeof event - 1);
    len += sizeof event - 1;
  }
  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (mode = 0; mode < 2; mode++) {
      for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        rtwt_countmem cm;
        rtw_sse_callbacks cb;
        rtw_sse_settings st;
        rtw_sse_parser *p;
        size_t seen = 0, first = 0;
        long warm = 0;
        int pass;

        rtwt_countmem_init(&cm);
        memset(&cb, 0, sizeof cb);
        memset(&st, 0, sizeof st);
        cb.version = RTW_SSE_CALLBACKS_VERSION;
        st.version = RTW_SSE_SETTINGS_VERSION;
        cb.on_event = count_event;
        cb.on_comment = count_comment;
        if (mode) {
          st.flags = RTW_SSE_FLAG_STREAM_DATA;
          cb.on_data = count_piece;
        }
        assert_int_equal(rtw_sse_parser_new(&p, &cb, &st, &cm.mem, &seen), 0);
        assert_int_equal(rtw__sse_parser_set_simd(p, level), 0);
        set_long_min(p);
        for (pass = 0; pass < 11; pass++) {
          size_t off;
          for (off = 0; off < len; off += chunks[c]) {
            size_t n = len - off < chunks[c] ? len - off : chunks[c], nread;
            assert_int_equal(rtw_sse_parser_recv(p, in + off, n, &nread), 0);
            assert_int_equal(nread, n);
          }
          if (pass == 0) {
            warm = cm.allocs;
            first = seen;
          }
        }
        assert_true(first > 0);
        assert_int_equal(seen, 11 * first); /* every pass saw the same events */
        assert_int_equal(cm.allocs, warm);
        rtw_sse_parser_free(p);
        assert_int_equal(cm.live, 0);
      }
    }
  }
}

/* ------------------------------------------------------------------ long lines in runs */

/* Events of long data lines (a large JSON value per line), for a run's long-line loop
 * (scan_lines.inc, LONG_NAME(): the value copied in the pass that finds its end, a line cut
 * by the input kept as a cut data line) and the rest of a cut data line (parser.c,
 * data_rest()). The first event: two short lines (the whole-event loop, the general path),
 * then lines of 200 (taken by the block loop, which hands on to the long-line loop), 1300,
 * 90 (a short line: back to the block loop), 700 and 400 bytes of value; `sp` (splen bytes,
 * none when 0) over the 1300-byte value at offset k. The second event starts its run on the
 * long-line loop (the hint the first left). Returns the length. */
static size_t gen_long_events(uint8_t *out, size_t k, const char *sp, size_t splen)
{
  static const size_t vals[2][6] = {{20, 30, 200, 1300, 90, 700}, {500, 600, 250, 0, 0, 0}};
  size_t len = 0, e, i, j;

  for (e = 0; e < 2; e++) {
    for (i = 0; i < 6 && vals[e][i] > 0; i++) {
      memcpy(out + len, "data: ", 6), len += 6;
      for (j = 0; j < vals[e][i]; j++)
        out[len + j] = (uint8_t)('a' + (e * 6 + i + j) % 26);
      if (vals[e][i] == 1300 && splen > 0)
        memcpy(out + len + k, sp, splen);
      len += vals[e][i];
      out[len++] = '\n';
    }
    if (e == 0) {
      memcpy(out + len, "data: ", 6), len += 6;
      memset(out + len, '{', 400), len += 400;
      out[len++] = '\n';
    }
    out[len++] = '\n';
  }
  return len;
}

/* Feed `in` whole and in pieces of 1 to 200, 100 to 700 and 1000 to 5000 bytes under every
 * scanner; each must log `ref`. */
static void check_pieces(opts *o, const uint8_t *in, size_t len, uint32_t seed,
                         const char *ref)
{
  size_t whole = len;
  int level, f;

  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    o->simd = level;
    for (f = 0; f < 4; f++) {
      rtwt_log a;
      rtwt_log_init(&a);
      if (f == 0)
        feed(o, in, len, &whole, 1, &a);
      else if (f == 1)
        feed_sized(o, in, len, seed * 7u, 1, 200, &a);
      else if (f == 2)
        feed_sized(o, in, len, seed * 11u, 100, 700, &a);
      else
        feed_sized(o, in, len, seed * 13u, 1000, 5000, &a);
      assert_string_equal(a.buf, ref);
      rtwt_log_free(&a);
    }
  }
}

/* Long lines in runs against the general path: one byte or two that matter (LF, CR, CRLF,
 * NUL, an invalid byte, a valid 2-byte character, a tab and 0x0E, which the 256-byte test of
 * the long-line loop treats as maybe and as plain) at every offset 0..263 of the 1300-byte
 * value (every place of a 256-byte window and its edges, the kinds taking turns) and each kind
 * at offsets 0, 1, 63, 64, 191, 255, 256 and 1299; both modes. The callbacks equal those of
 * the base scanner fed byte by byte (every line cut: the general path only). */
static void test_long_run_lines_equal_general_path(void **state)
{
  static const char *const special[8] = {"\n", "\r", "\r\n", "\0", "\xFF", "\xC3\xA9", "\t",
                                         "\x0E"};
  static const size_t special_len[8] = {1, 1, 2, 1, 1, 2, 1, 1};
  static const size_t at[8] = {0, 1, 63, 64, 191, 255, 256, 1299};
  static uint8_t in[8192];
  static size_t ones[sizeof in];
  size_t c, i;
  (void)state;

  exact_pieces = 1;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  for (c = 0; c < 264 + 8 * 8 + 1; c++) {
    size_t k, x, len, splen;
    int mode;
    if (c < 264) {
      k = c;
      x = c % 8;
    } else if (c < 264 + 64) {
      k = at[(c - 264) % 8];
      x = (c - 264) / 8;
    } else {
      k = 0;
      x = 8; /* no special byte */
    }
    splen = x < 8 ? special_len[x] : 0;
    if (k + splen > 1300)
      k = 1300 - splen;
    len = gen_long_events(in, k, x < 8 ? special[x] : "", splen);
    for (mode = 0; mode < 2; mode++) {
      opts o = {0, RTW__SSE_SIMD_BASE, 0};
      rtwt_log ref;
      o.flags = mode ? RTW_SSE_FLAG_STREAM_DATA : 0;
      rtwt_log_init(&ref);
      feed(&o, in, len, ones, len, &ref);
      assert_non_null(strstr(ref.buf, "event("));
      check_pieces(&o, in, len, (uint32_t)(c + 1), ref.buf);
      rtwt_log_free(&ref);
    }
  }
  exact_pieces = 0;
}

/* A long line cut at every place: after an event that makes the data buffer big enough for
 * runs of long lines (2 KiB), an event of data lines of 20, 30, 200, 400, 300 and 250 bytes
 * of value (the whole-event loop, the general path, the block loop of a run, then its
 * long-line loop) and one of 230 (a run that starts on the long-line loop), whole, byte by
 * byte and split in two at every offset, so the input ends at every byte of every long line
 * (a cut line kept by the long-line loop, its rest copied by data_rest()), in both modes,
 * with max_event_size at its default and at 1000 bytes (the limit hit inside the 250-byte
 * line, on the whole line and on the rest of a cut one: the same error at the same place).
 * The expected callbacks are those of the base scanner fed byte by byte. */
static void test_long_lines_cut_everywhere(void **state)
{
  static const size_t vals[8] = {20, 30, 200, 400, 300, 250, 0, 230};
  static const size_t limits[2] = {0, 1000};
  static uint8_t in[4096];
  static size_t ones[sizeof in];
  size_t len = 0, i, j, m;
  int mode;
  (void)state;

  exact_pieces = 1;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  /* a first event grows the data buffer to 2 KiB, so runs have room for the long lines */
  memcpy(in, "data: a\ndata: ", 14), len += 14;
  memset(in + len, 'w', 960), len += 960;
  memcpy(in + len, "\n\n", 2), len += 2;
  for (i = 0; i < 8; i++) {
    if (vals[i] > 0) {
      memcpy(in + len, "data: ", 6), len += 6;
      for (j = 0; j < vals[i]; j++)
        in[len + j] = (uint8_t)('a' + (i + j) % 26);
      len += vals[i];
    }
    in[len++] = '\n'; /* 0: the blank line between the events */
  }
  in[len++] = '\n';
  for (m = 0; m < 2; m++) {
    max_event = limits[m];
    for (mode = 0; mode < 2; mode++) {
      opts o = {0, RTW__SSE_SIMD_BASE, 0};
      rtwt_log ref;
      o.flags = mode ? RTW_SSE_FLAG_STREAM_DATA : 0;
      rtwt_log_init(&ref);
      feed(&o, in, len, ones, len, &ref);
      if (m == 0)
        assert_null(strstr(ref.buf, "RTW_ERR"));
      else if (mode == 0) /* buffered: the limit is hit */
        assert_non_null(strstr(ref.buf, "RTW_ERR_SSE_EVENT_TOO_LARGE"));
      check_all(&o, (const char *)in, len, ref.buf);
      rtwt_log_free(&ref);
    }
  }
  max_event = 0;
  exact_pieces = 0;
}

/* The limit inside long lines, fed in pieces: the events of gen_long_events() with
 * max_event_size at 1000, 1600 and 2500 bytes (inside the 1300-byte line, inside the run after
 * it, and in the second event) give the callbacks and the error of the base scanner fed byte
 * by byte, in both modes. */
static void test_long_lines_max_event_size(void **state)
{
  static const size_t limits[3] = {1000, 1600, 2500};
  static uint8_t in[8192];
  static size_t ones[sizeof in];
  size_t len, i, m;
  int mode;
  (void)state;

  exact_pieces = 1;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  len = gen_long_events(in, 0, "", 0);
  for (m = 0; m < 3; m++) {
    max_event = limits[m];
    for (mode = 0; mode < 2; mode++) {
      opts o = {0, RTW__SSE_SIMD_BASE, 0};
      rtwt_log ref;
      o.flags = mode ? RTW_SSE_FLAG_STREAM_DATA : 0;
      rtwt_log_init(&ref);
      feed(&o, in, len, ones, len, &ref);
      if (mode == 0)
        assert_non_null(strstr(ref.buf, "RTW_ERR_SSE_EVENT_TOO_LARGE"));
      check_pieces(&o, in, len, (uint32_t)(m + 1), ref.buf);
      rtwt_log_free(&ref);
    }
  }
  max_event = 0;
  exact_pieces = 0;
}

/* A callback after long lines pauses or fails: on_event returns RTW_ERR_PAUSE for every event
 * (recv() stops right after its blank line; feeding the rest again gives the callbacks of an
 * uninterrupted parse), or fails at the first or second event (sticky
 * RTW_ERR_CALLBACK_FAILURE, no callback after it), fed in reads of 16384, 1000, 333 and 77
 * bytes, so runs of long lines are cut before and after the callback. */
typedef struct lstop {
  size_t events;
  size_t fail_at; /* 0: pause at every event */
  rtwt_log log;
} lstop;

static int ls_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  lstop *l = ud;
  (void)p;
  l->events++;
  rtwt_log_printf(&l->log, "event(");
  rtwt_log_bytes(&l->log, ev->data, ev->data_len);
  rtwt_log_printf(&l->log, ")\n");
  if (l->fail_at == 0)
    return RTW_ERR_PAUSE;
  return l->events == l->fail_at ? -1 : 0;
}

static void test_long_lines_callbacks_stop(void **state)
{
  static const size_t chunks[4] = {16384, 1000, 333, 77};
  static uint8_t in[16384];
  size_t one, len = 0, c, i;
  int level;
  (void)state;

  one = gen_long_events(in, 0, "", 0);
  for (i = 0; i < 3; i++) /* three copies: six events */
    len += gen_long_events(in + len, 0, "", 0);
  assert_true(len == 3 * one);
  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    char plain[65536];
    if (!level_supported(level))
      continue;
    plain[0] = 0;
    for (c = 0; c < 4; c++) {
      static const size_t order[4] = {3, 0, 1, 2}; /* 3 first: nothing stops (the reference) */
      size_t f;
      for (f = 0; f < 4; f++) {
        size_t fail = order[f];
        rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
        rtw_sse_parser *p;
        lstop l;
        size_t off = 0;
        int rv = 0;
        memset(&l, 0, sizeof l);
        l.fail_at = fail == 3 ? SIZE_MAX : fail;
        rtwt_log_init(&l.log);
        cb.on_event = ls_event;
        assert_int_equal(rtw_sse_parser_new(&p, &cb, NULL, NULL, &l), 0);
        assert_int_equal(rtw__sse_parser_set_simd(p, level), 0);
        set_long_min(p);
        while (off < len && (rv == 0 || rv == RTW_ERR_PAUSE)) {
          size_t n = len - off < chunks[c] ? len - off : chunks[c], nread = 0;
          rv = rtw_sse_parser_recv(p, in + off, n, &nread);
          if (rv == RTW_ERR_PAUSE) /* right after an event's blank line */
            assert_true(in[off + nread - 1] == '\n' && in[off + nread - 2] == '\n');
          else if (rv == 0)
            assert_int_equal(nread, n);
          off += nread;
        }
        if (fail == 3) {
          assert_int_equal(rv, 0);
          assert_int_equal(l.events, 6);
          if (c == 0) {
            assert_true(l.log.len < sizeof plain);
            strcpy(plain, l.log.buf);
          }
          assert_string_equal(l.log.buf, plain);
        } else if (fail == 0) { /* the last event paused the last recv() */
          assert_true(rv == 0 || rv == RTW_ERR_PAUSE);
          assert_int_equal(off, len);
          assert_int_equal(l.events, 6);
          assert_string_equal(l.log.buf, plain);
        } else {
          size_t n = 0;
          assert_int_equal(rv, RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(l.events, fail);
          assert_int_equal(rtw_sse_parser_recv(p, in, len, &n), RTW_ERR_CALLBACK_FAILURE);
          assert_int_equal(l.events, fail); /* sticky: nothing more was parsed */
          assert_memory_equal(l.log.buf, plain, l.log.len); /* what came before was right */
        }
        rtw_sse_parser_free(p);
        rtwt_log_free(&l.log);
      }
    }
  }
}

/* Long lines allocate nothing per event either: after a warm-up pass, ten more passes over
 * events of long lines, read in pieces of 16384, 1000 and 333 bytes (long lines cut by every
 * read, kept by the long-line loop and finished by data_rest() in the data buffer's room),
 * allocate nothing, in both modes and every scanner variant. */
static void test_long_lines_no_allocation(void **state)
{
  static const size_t chunks[3] = {16384, 1000, 333};
  static uint8_t in[16384];
  size_t len = 0, c;
  int level, mode;
  (void)state;

  while (len + 5000 <= sizeof in)
    len += gen_long_events(in + len, 0, "", 0);
  for (level = RTW__SSE_SIMD_BASE; level <= RTW__SSE_SIMD_AVX512; level++) {
    if (!level_supported(level))
      continue;
    for (mode = 0; mode < 2; mode++) {
      for (c = 0; c < 3; c++) {
        rtwt_countmem cm;
        rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
        rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
        rtw_sse_parser *p;
        size_t seen = 0, first = 0;
        long warm = 0;
        int pass;
        rtwt_countmem_init(&cm);
        cb.on_event = count_event;
        if (mode) {
          st.flags = RTW_SSE_FLAG_STREAM_DATA;
          cb.on_data = count_piece;
        }
        assert_int_equal(rtw_sse_parser_new(&p, &cb, &st, &cm.mem, &seen), 0);
        assert_int_equal(rtw__sse_parser_set_simd(p, level), 0);
        for (pass = 0; pass < 11; pass++) {
          size_t off;
          for (off = 0; off < len; off += chunks[c]) {
            size_t n = len - off < chunks[c] ? len - off : chunks[c], nread;
            assert_int_equal(rtw_sse_parser_recv(p, in + off, n, &nread), 0);
            assert_int_equal(nread, n);
          }
          if (pass == 0) {
            warm = cm.allocs;
            first = seen;
          }
        }
        assert_true(first > 0);
        assert_int_equal(seen, 11 * first);
        assert_int_equal(cm.allocs, warm);
        rtw_sse_parser_free(p);
        assert_int_equal(cm.live, 0);
      }
    }
  }
}

/* Runs at the default long-line threshold (parser.c LONG_LINE, 512 bytes) and around it:
 * an event that grows the data buffer, then one of data lines of 200, 300, 450, 504 to 508
 * bytes of value (taken by the block loop: below the threshold), 600 (long: the long-line
 * loop takes the next ones), 1300, 700, 90 (back to the block loop) and 510, fed whole, byte
 * by byte and in random pieces under every scanner, in buffered mode: the callbacks equal
 * those of the base scanner fed byte by byte. The setter refuses a threshold the block loop
 * cannot hand over at. */
static void test_long_line_default_threshold(void **state)
{
  static const size_t vals[] = {200, 300, 450, 504, 505, 506, 507, 508, 600, 1300, 700, 90, 510};
  static uint8_t in[16384]; /* 9788 bytes */
  static size_t ones[sizeof in];
  size_t len = 0, i, j, saved = long_min;
  opts o = {0, RTW__SSE_SIMD_BASE, 0};
  rtw_sse_parser *p;
  rtwt_log ref;
  (void)state;

  assert_int_equal(rtw_sse_parser_new(&p, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw__sse_parser_set_long_line(p, 128), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__sse_parser_set_long_line(p, 129), 0);
  rtw_sse_parser_free(p);
  long_min = 0;
  for (i = 0; i < sizeof in; i++)
    ones[i] = 1;
  memcpy(in, "data: a\ndata: ", 14), len += 14;
  memset(in + len, 'w', 3000), len += 3000;
  memcpy(in + len, "\n\n", 2), len += 2;
  for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    memcpy(in + len, "data: ", 6), len += 6;
    for (j = 0; j < vals[i]; j++)
      in[len + j] = (uint8_t)('a' + (i + j) % 26);
    len += vals[i];
    in[len++] = '\n';
  }
  in[len++] = '\n';
  assert_int_equal(len, 9788);
  rtwt_log_init(&ref);
  feed(&o, in, len, ones, len, &ref);
  assert_non_null(strstr(ref.buf, "event("));
  assert_null(strstr(ref.buf, "RTW_ERR"));
  check_pieces(&o, in, len, 77u, ref.buf);
  rtwt_log_free(&ref);
  long_min = saved;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_line_end_at_every_block_offset),
      cmocka_unit_test(test_non_ascii_at_every_block_offset),
      cmocka_unit_test(test_events_straddle_blocks),
      cmocka_unit_test(test_data_run_lines),
      cmocka_unit_test(test_data_run_max_event_size),
      cmocka_unit_test(test_long_lines_equal_general_path),
      cmocka_unit_test(test_field_names_by_word),
      cmocka_unit_test(test_comment_lengths),
      cmocka_unit_test(test_id_nul_at_every_position),
      cmocka_unit_test(test_streamed_equals_buffered),
      cmocka_unit_test(test_fast_paths_equal_general_path),
      cmocka_unit_test(test_scan_run_matches_bytes),
      cmocka_unit_test(test_data_runs_equal_general_path),
      cmocka_unit_test(test_streamed_run_callbacks_stop),
      cmocka_unit_test(test_event_loop_callbacks_stop),
      cmocka_unit_test(test_streamed_run_calls_bounded),
      cmocka_unit_test(test_streamed_batches_equal_general_path),
      cmocka_unit_test(test_streamed_batches_few_calls),
      cmocka_unit_test(test_streamed_batch_callbacks_stop),
      cmocka_unit_test(test_streamed_batch_nomem),
      cmocka_unit_test(test_no_allocation_in_steady_state),
      cmocka_unit_test(test_long_run_lines_equal_general_path),
      cmocka_unit_test(test_long_lines_cut_everywhere),
      cmocka_unit_test(test_long_lines_max_event_size),
      cmocka_unit_test(test_long_lines_callbacks_stop),
      cmocka_unit_test(test_long_lines_no_allocation),
      cmocka_unit_test(test_long_line_default_threshold),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
