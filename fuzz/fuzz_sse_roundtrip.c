/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the SSE writer: whatever rtw_sse_write_event/_comment/_retry accept
 * must parse back to the same events; whatever they reject, for a documented reason. */
/*
 * Input layout:
 *
 *   byte 0  parser flags: bit 0 STREAM_DATA, bit 1 RAW_BYTES, bit 2 feed in random pieces;
 *           bits 3-7: the parser's allocation N (1-31) that fails, 0 = none (then the
 *           parser must answer RTW_ERR_NOMEM, what it delivered before must be a prefix of
 *           the expected callbacks, and nothing may leak)
 *   byte 1  piece-size seed
 *   then records, until the input ends (at most MAX_RECORDS):
 *     byte  c: bits 0-1 kind (0, 1 event; 2 comment; 3 retry), bit 4 CRLF,
 *              bit 5 repair invalid UTF-8 (replace bytes with '?'),
 *              bit 6 repair fields (CR, LF in type and id, NUL in id become '_')
 *     event:   bit 2 has a type, bit 3 has an id (else id NULL), bit 7 long data;
 *              [type_len % 32, type], [id_len % 32, id], data_len (u8, or u16 % 4096), data
 *     comment: len (u8), text
 *     retry:   ms (u32)
 *
 * Oracles: the writer's verdict is recomputed independently (RTW_ERR_SSE_INVALID_FIELD iff
 * type or id holds CR or LF or id holds NUL; otherwise RTW_ERR_INVALID_UTF8 iff type, id or
 * data is not UTF-8; checked with fuzz_common's validator, not lib/'s); the size query
 * equals the bytes written into a buffer of exactly that size; one byte less gives
 * RTW_ERR_BUFFER_TOO_SMALL and writes nothing; then the concatenated output, parsed, gives
 * exactly the expected callbacks: the type ("message" when empty), the data with CR, LF and
 * CRLF normalised to LF, the id as written (or the previous one when absent), each comment
 * line, each retry value.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/sse.h"

#define MAX_RECORDS 64u

enum { R_STREAM = 0x01, R_RAW = 0x02, R_PIECES = 0x04 };
enum { C_TYPE = 0x04, C_ID = 0x08, C_CRLF = 0x10, C_FIX_UTF8 = 0x20, C_FIX_FIELDS = 0x40,
       C_LONG = 0x80 };

typedef struct state {
  fuzz_log stream;   /* everything the writer produced, in order */
  fuzz_log expected; /* the callbacks the parser must make */
  fuzz_log actual;
  fuzz_log pending;  /* STREAM_DATA pieces */
  fuzz_log last_id;  /* the id a parsed event must carry */
  rtw_sse_parser *p;
  uint32_t flags;
} state;

/* ------------------------------------------------------------------ inputs */

/* A heap copy of exactly n bytes (so the sanitizers see any over-read), with the repairs. */
static char *take_copy(fuzz_in *in, size_t want, size_t *n, uint8_t c, int is_id, int is_field)
{
  const uint8_t *s = fuzz_take(in, want, n);
  char *d = malloc(*n ? *n : 1);
  size_t i, k;

  FUZZ_CHECK(d != NULL);
  if (*n > 0)
    memcpy(d, s, *n);
  for (i = 0; (c & C_FIX_UTF8) && i < *n; i += k) {
    k = fuzz_utf8_seq((const uint8_t *)d + i, *n - i);
    if (k == 0) {
      d[i] = '?';
      k = 1;
    }
  }
  for (i = 0; (c & C_FIX_FIELDS) && is_field && i < *n; i++)
    if (d[i] == '\r' || d[i] == '\n' || (is_id && d[i] == '\0'))
      d[i] = '_';
  return d;
}

static int has(const char *s, size_t n, int ch)
{
  return n > 0 && memchr(s, ch, n) != NULL;
}

/* Append s to the log with every CRLF, CR and LF as LF (9.2.6 joins data lines with LF). */
static void normalise(fuzz_log *log, const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (s[i] == '\r') {
      fuzz_log_raw(log, "\n", 1);
      if (i + 1 < n && s[i + 1] == '\n')
        i++;
    } else {
      fuzz_log_raw(log, s + i, 1);
    }
  }
}

/* ------------------------------------------------------------------ writing */

/* Write with the exact size, check the size contract, append the output to the stream. */
typedef int (*write_fn)(char *buf, size_t cap, size_t *out_len, const void *arg);

static void emit(state *st, write_fn fn, const void *arg, size_t need, uint32_t wflags)
{
  char *buf = malloc(need);
  size_t len = 0;
  size_t i;

  FUZZ_CHECK(buf != NULL && need > 0);
  /* One byte short: RTW_ERR_BUFFER_TOO_SMALL, the size reported, nothing written. */
  memset(buf, 0xA5, need);
  FUZZ_CHECK(fn(buf, need - 1, &len, arg) == RTW_ERR_BUFFER_TOO_SMALL);
  FUZZ_CHECK(len == need);
  for (i = 0; i < need; i++)
    FUZZ_CHECK((uint8_t)buf[i] == 0xA5);
  FUZZ_CHECK(fn(buf, need, &len, arg) == 0);
  FUZZ_CHECK(len == need);
  /* Output is UTF-8 made of whole lines with the requested line ending. */
  FUZZ_CHECK(fuzz_utf8_valid(buf, len));
  if (wflags & RTW_SSE_WRITE_CRLF)
    FUZZ_CHECK(len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n');
  else
    FUZZ_CHECK(buf[len - 1] == '\n' && (len < 2 || buf[len - 2] != '\r'));
  fuzz_log_raw(&st->stream, buf, len);
  free(buf);
}

typedef struct event_args {
  const char *type;
  size_t type_len;
  const char *id;
  size_t id_len;
  const char *data;
  size_t data_len;
  uint32_t flags;
} event_args;

static int write_event(char *buf, size_t cap, size_t *out_len, const void *arg)
{
  const event_args *e = arg;
  rtw_sse_event ev;

  ev.type = e->type;
  ev.type_len = e->type_len;
  ev.id = e->id;
  ev.id_len = e->id_len;
  ev.data = e->data;
  ev.data_len = e->data_len;
  return rtw_sse_write_event(buf, cap, out_len, &ev, e->flags);
}

static void do_event(state *st, fuzz_in *in, uint8_t c)
{
  event_args e;
  char *type = NULL, *id = NULL, *data;
  size_t need = 12345;
  int rv, bad_field, bad_utf8;

  memset(&e, 0, sizeof e);
  e.flags = (c & C_CRLF) ? RTW_SSE_WRITE_CRLF : 0;
  if (c & C_TYPE) {
    type = take_copy(in, fuzz_u8(in) % 32u, &e.type_len, c, 0, 1);
    e.type = type;
  }
  if (c & C_ID) {
    id = take_copy(in, fuzz_u8(in) % 32u, &e.id_len, c, 1, 1);
    e.id = id;
  }
  data = take_copy(in, (c & C_LONG) ? fuzz_u16(in) % 4096u : fuzz_u8(in), &e.data_len, c, 0, 0);
  e.data = (e.data_len > 0 || (c & C_TYPE)) ? data : NULL; /* NULL is allowed when empty */

  /* include/rtweb/sse.h: the documented reasons, recomputed independently. When both
   * apply, either code is a documented reason. */
  bad_field = has(e.type, e.type_len, '\r') || has(e.type, e.type_len, '\n') ||
              has(e.id, e.id_len, '\r') || has(e.id, e.id_len, '\n') || has(e.id, e.id_len, 0);
  bad_utf8 = !fuzz_utf8_valid(e.type, e.type_len) || !fuzz_utf8_valid(e.id, e.id_len) ||
             !fuzz_utf8_valid(e.data, e.data_len);
  rv = write_event(NULL, 0, &need, &e);
  if (rv == RTW_ERR_SSE_INVALID_FIELD) {
    FUZZ_CHECK(bad_field);
  } else if (rv == RTW_ERR_INVALID_UTF8) {
    FUZZ_CHECK(bad_utf8);
  } else {
    FUZZ_CHECK(rv == 0 && !bad_field && !bad_utf8);
  }
  if (rv != 0) {
    char small[4];
    size_t len = 1;
    FUZZ_CHECK(need == 0);
    /* "a size query fails exactly when the write would" */
    FUZZ_CHECK(write_event(small, sizeof small, &len, &e) == rv && len == 0);
  } else {
    fuzz_log norm = {NULL, 0, 0};
    emit(st, write_event, &e, need, e.flags);
    normalise(&norm, e.data, e.data_len);
    if (e.id != NULL) { /* 9.2.6: the id field applies at the blank line, even when empty */
      fuzz_log_clear(&st->last_id);
      fuzz_log_raw(&st->last_id, e.id, e.id_len);
      fuzz_log_str(&st->expected, "id=");
      fuzz_log_esc(&st->expected, e.id, e.id_len);
      fuzz_log_str(&st->expected, "\n");
    }
    fuzz_log_str(&st->expected, "event type=");
    if (e.type_len > 0)
      fuzz_log_esc(&st->expected, e.type, e.type_len);
    else
      fuzz_log_esc(&st->expected, "message", 7);
    fuzz_log_str(&st->expected, " data=");
    fuzz_log_esc(&st->expected, norm.p, norm.len);
    fuzz_log_str(&st->expected, " id=");
    fuzz_log_esc(&st->expected, st->last_id.p, st->last_id.len);
    fuzz_log_str(&st->expected, "\n");
    fuzz_log_free(&norm);
  }
  free(type);
  free(id);
  free(data);
}

typedef struct comment_args {
  const char *text;
  size_t len;
  uint32_t flags;
} comment_args;

static int write_comment(char *buf, size_t cap, size_t *out_len, const void *arg)
{
  const comment_args *t = arg;

  return rtw_sse_write_comment(buf, cap, out_len, t->text, t->len, t->flags);
}

static void do_comment(state *st, fuzz_in *in, uint8_t c)
{
  comment_args t;
  char *text = take_copy(in, fuzz_u8(in), &t.len, c, 0, 0);
  size_t need = 12345, i, start;
  int rv;

  t.text = t.len > 0 ? text : NULL;
  t.flags = (c & C_CRLF) ? RTW_SSE_WRITE_CRLF : 0;
  rv = write_comment(NULL, 0, &need, &t);
  /* The only documented reason to refuse a comment is invalid UTF-8 (NUL is fine). */
  if (!fuzz_utf8_valid(t.text, t.len)) {
    FUZZ_CHECK(rv == RTW_ERR_INVALID_UTF8 && need == 0);
    free(text);
    return;
  }
  FUZZ_CHECK(rv == 0);
  emit(st, write_comment, &t, need, t.flags);
  /* One comment per line of text, split at CR, LF and CRLF. */
  for (i = start = 0;; i++) {
    if (i == t.len || text[i] == '\r' || text[i] == '\n') {
      fuzz_log_str(&st->expected, "comment=");
      fuzz_log_esc(&st->expected, text + start, i - start);
      fuzz_log_str(&st->expected, "\n");
      if (i == t.len)
        break;
      if (text[i] == '\r' && i + 1 < t.len && text[i + 1] == '\n')
        i++;
      start = i + 1;
    }
  }
  free(text);
}

typedef struct retry_args {
  uint32_t ms;
  uint32_t flags;
} retry_args;

static int write_retry(char *buf, size_t cap, size_t *out_len, const void *arg)
{
  const retry_args *r = arg;

  return rtw_sse_write_retry(buf, cap, out_len, r->ms, r->flags);
}

static void do_retry(state *st, fuzz_in *in, uint8_t c)
{
  retry_args r;
  size_t need = 12345;

  r.ms = fuzz_u32(in);
  r.flags = (c & C_CRLF) ? RTW_SSE_WRITE_CRLF : 0;
  FUZZ_CHECK(write_retry(NULL, 0, &need, &r) == 0);
  emit(st, write_retry, &r, need, r.flags);
  fuzz_log_str(&st->expected, "retry=");
  fuzz_log_num(&st->expected, r.ms);
  fuzz_log_str(&st->expected, "\n");
}

/* ------------------------------------------------------------------ parsing back */

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  state *st = ud;

  FUZZ_CHECK(p == st->p);
  if (st->flags & RTW_SSE_FLAG_STREAM_DATA) {
    FUZZ_CHECK(data == NULL && data_len == st->pending.len);
    data = st->pending.p;
  }
  fuzz_log_str(&st->actual, "event type=");
  fuzz_log_esc(&st->actual, type, type_len);
  fuzz_log_str(&st->actual, " data=");
  fuzz_log_esc(&st->actual, data, data_len);
  fuzz_log_str(&st->actual, " id=");
  fuzz_log_esc(&st->actual, id, id_len);
  fuzz_log_str(&st->actual, "\n");
  fuzz_log_clear(&st->pending);
  return 0;
}

static int on_id(rtw_sse_parser *p, const char *id, size_t id_len, void *ud)
{
  state *st = ud;

  (void)p;
  fuzz_log_str(&st->actual, "id=");
  fuzz_log_esc(&st->actual, id, id_len);
  fuzz_log_str(&st->actual, "\n");
  return 0;
}

static int on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  state *st = ud;

  (void)p;
  fuzz_log_str(&st->actual, "retry=");
  fuzz_log_num(&st->actual, ms);
  fuzz_log_str(&st->actual, "\n");
  return 0;
}

static int on_comment(rtw_sse_parser *p, const char *text, size_t len, void *ud)
{
  state *st = ud;

  (void)p;
  fuzz_log_str(&st->actual, "comment=");
  fuzz_log_esc(&st->actual, text, len);
  fuzz_log_str(&st->actual, "\n");
  return 0;
}

static int on_data(rtw_sse_parser *p, const char *piece, size_t len, void *ud)
{
  state *st = ud;

  (void)p;
  fuzz_log_raw(&st->pending, piece, len);
  return 0;
}

static void parse_back(state *st, uint8_t pflags, uint8_t seed)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings set = {RTW_SSE_SETTINGS_VERSION};
  const char *id;
  size_t off = 0, id_len, nread;
  fuzz_rng rng;
  fuzz_mem fm;
  int rv = 0;

  cb.on_event = on_event;
  cb.on_id = on_id;
  cb.on_retry = on_retry;
  cb.on_comment = on_comment;
  cb.on_data = on_data;
  set.flags = ((pflags & R_STREAM) ? RTW_SSE_FLAG_STREAM_DATA : 0) |
              ((pflags & R_RAW) ? RTW_SSE_FLAG_RAW_BYTES : 0);
  st->flags = set.flags;
  fuzz_mem_init(&fm, fuzz_mem_scheduled(pflags >> 3));
  fuzz_mem_mark_scheduled(&fm);
  rv = rtw_sse_parser_new(&st->p, &cb, &set, &fm.mem, st);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm.failed == 1 && st->p == NULL);
    fuzz_mem_check_clean(&fm);
    return;
  }
  fuzz_rng_seed(&rng, seed);
  while (off < st->stream.len) {
    size_t n = st->stream.len - off;
    if (pflags & R_PIECES)
      n = 1 + fuzz_rng_below(&rng, n < 64 ? n : 64);
    rv = rtw_sse_parser_recv(st->p, st->stream.p + off, n, &nread);
    if (rv != 0)
      break;
    FUZZ_CHECK(nread == n);
    off += n;
  }
  if (rv == 0)
    rv = rtw_sse_parser_end(st->p);
  if (fm.failed != 0) {
    /* a refused allocation: RTW_ERR_NOMEM, and what came before it was right */
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM);
    FUZZ_CHECK(st->actual.len <= st->expected.len);
    FUZZ_CHECK(st->actual.len == 0 || memcmp(st->actual.p, st->expected.p, st->actual.len) == 0);
    rtw_sse_parser_free(st->p);
    fuzz_mem_check_clean(&fm);
    return;
  }
  FUZZ_CHECK(rv == 0);
  fuzz_log_expect_equal("parse(write(events))", &st->expected, &st->actual);
  FUZZ_CHECK(rtw_sse_parser_last_event_id(st->p, &id, &id_len) == 0);
  FUZZ_CHECK(id_len == st->last_id.len && (id_len == 0 || memcmp(id, st->last_id.p, id_len) == 0));
  rtw_sse_parser_free(st->p);
  fuzz_mem_check_clean(&fm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  state st;
  uint8_t pflags, seed;
  unsigned i;

  memset(&st, 0, sizeof st);
  in.p = data;
  in.n = size;
  pflags = fuzz_u8(&in);
  seed = fuzz_u8(&in);
  for (i = 0; i < MAX_RECORDS && in.n > 0; i++) {
    uint8_t c = fuzz_u8(&in);
    switch (c & 3u) {
    case 2:
      do_comment(&st, &in, c);
      break;
    case 3:
      do_retry(&st, &in, c);
      break;
    default:
      do_event(&st, &in, c);
      break;
    }
  }
  parse_back(&st, pflags, seed);
  fuzz_log_free(&st.stream);
  fuzz_log_free(&st.expected);
  fuzz_log_free(&st.actual);
  fuzz_log_free(&st.pending);
  fuzz_log_free(&st.last_id);
  return 0;
}
