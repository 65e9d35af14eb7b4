/* SPDX-License-Identifier: MIT */
/* Event-stream parser: WHATWG HTML 9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting
 * an event stream", incremental, zero-copy where the input allows.
 *
 * Wire format (9.2.5, ABNF):
 *
 *   stream      = [ bom ] *event
 *   event       = *( comment / field ) end-of-line
 *   comment     = colon *any-char end-of-line
 *   field       = 1*name-char [ colon [ space ] *any-char ] end-of-line
 *   end-of-line = ( cr lf / cr / lf )
 *
 * How a call is processed. A block scanner (scan.h) marks CR and LF 64 bytes at a time. A line
 * that lies whole in the input is handled in one step by process_line() straight from the
 * caller's bytes (the fast path, scan_lines.inc); within it, common events (plain id, event,
 * one data line, comments) go through a loop that keeps the block's fields in locals ("Whole
 * events" below), and runs of data lines through loops of their own ("Runs of data lines").
 * A line that is cut by the end of the input goes through a small state machine that keeps
 * just enough of it:
 *
 *   L_START --':'--> L_SPACE (comment)           L_NAME: field name bytes, up to the colon
 *   L_START --else-> L_NAME --':'--> L_SPACE     L_SPACE: one optional U+0020 may follow
 *   L_SPACE --byte--> L_VALUE                    L_VALUE: value bytes until the line end
 *   any --line end--> end_partial() --> L_START
 *
 * No line is buffered as a whole. Data values stream into the data buffer (or to on_data),
 * bounded by max_event_size. Of the other values only those that need memory are kept in
 * `line`, each under its own bound: an `event` value (max_type_length), an `id` value
 * (max_id_length) and, when on_comment is set, the first max_comment_length bytes of a
 * comment. A `retry` value is parsed digit by digit as it arrives, and unknown fields and
 * the rest of a long comment are skipped as they stream: a line of any length that needs no
 * memory is accepted, as browsers accept it.
 *
 * Invariants:
 * - A CR ends a line at once (9.2.5: no waiting for a possible LF); `cr` then swallows one LF
 *   at the start of the next input, so CR|LF split across calls is one line end.
 * - UTF-8 is decoded per line with U+FFFD replacement (9.2.6 "decoded using the UTF-8 decode
 *   algorithm"). Since CR and LF are ASCII, no sequence can span a line end, so a line is an
 *   independent decoding unit; `utf8` carries a sequence cut inside a partial data value.
 * - data_ref/type_ref point into the caller's input only during recv(); materialize() copies
 *   them before recv() returns.
 * - A block has data iff data_lines > 0: each `data` field appends value + LF, so the buffer
 *   is non-empty exactly when a data field was seen (9.2.6 dispatch, step 2).
 * - Callbacks run only inside recv() and end(), which set `busy`. A nested recv(), end() or
 *   reset() is refused (RTW_ERR_REENTRANT); rtw_sse_parser_free() there only sets
 *   `free_pending`, after which check_cb() stops processing at once and the running
 *   recv()/end() destroys the parser.
 */
#include <string.h>

#include "internal.h"
#include "rtweb/sse.h"
#include "scan.h"
#include "sse_internal.h"
#include "utf8.h"

enum { L_START, L_NAME, L_SPACE, L_VALUE };
enum { F_UNKNOWN, F_DATA, F_EVENT, F_ID, F_RETRY, F_COMMENT };
enum { R_EMPTY, R_DIGITS, R_INVALID }; /* a `retry` value so far: nothing, digits, other */

#define BOM_DONE 3u
#define NAME_MAX_KEEP 6u /* longest known name is 5 bytes; 6 tells "longer" */
#define DECODE_BLOCK 1024u
#define COPY_SLACK 65u /* a line, its LF and copy_line()'s overrun */
/* Streaming mode: a run of short data lines goes to on_data in batches of up to STAGE_SIZE
 * bytes (include/rtweb/sse.h, on_data; docs/sse.md), gathered in `stage` (scan_lines.inc,
 * SRUN_NAME()). A line whose value + LF is over STAGE_LINE bytes goes out alone, uncopied, as
 * a copy would cost more than the call it saves. */
#define STAGE_SIZE (16u * 1024u)
#define STAGE_LINE 256u

struct rtw_sse_parser {
  rtw_mem mem;
  rtw_sse_callbacks cb;
  void *user_data;
  uint32_t flags;
  size_t max_event;
  size_t max_id;
  size_t max_type;
  size_t max_comment;
  int error;  /* sticky fatal error, 0 when healthy */
  int simd;   /* which scan_lines_* runs: RTW__SCAN_* (0 = SSE2 or portable) */
  size_t long_min; /* buffered runs: a data line of this many bytes or more is long
                    * (LONG_LINE; tests lower it, rtw__sse_parser_set_long_line()) */
  const uint8_t *in_end; /* end of the input during recv() */
  int paused; /* a callback returned RTW_ERR_PAUSE during this recv() */
  uint8_t busy;         /* inside recv() or end(): callbacks may be running */
  uint8_t free_pending; /* rtw_sse_parser_free() was called from a callback */

  /* Line state. */
  uint8_t bom;   /* BOM bytes matched at stream start; BOM_DONE once decided */
  uint8_t cr;    /* the previous line ended with CR at the end of the input */
  uint8_t mode;  /* L_*, for a line cut by the end of the input */
  uint8_t field; /* F_*, once known */
  uint8_t name_len;
  char name[NAME_MAX_KEEP];
  uint8_t over;     /* the partial id or comment value is longer than what `line` keeps */
  uint8_t nul;      /* the partial id value holds a NUL (the field will be ignored) */
  uint8_t retry;    /* R_*: the partial retry value so far */
  uint32_t retry_ms; /* its digits, saturated at UINT32_MAX */
  rtw__utf8 utf8;  /* decoder state inside a partial data value */
  rtw__buf line;   /* kept value of a partial event, id or comment line */

  /* Block state (9.2.6: data buffer, event type buffer, last event ID buffer). */
  size_t data_lines;
  size_t data_len;      /* streaming mode: data bytes delivered so far */
  uint8_t lf_sent;      /* streaming mode: the LF joining the next data line went out early */
  uint8_t long_lines;   /* buffered mode: the last run ended among long lines (a hint) */
  const char *data_ref; /* zero-copy data (one line, in the caller's input) */
  size_t data_ref_len;
  rtw__buf data;        /* buffered mode: value + LF per data line (9.2.6) */
  const char *type_ref; /* zero-copy event type */
  size_t type_ref_len;
  rtw__buf type;
  int id_set;      /* an id field was accepted in this block */
  rtw__buf id_new; /* the last event ID buffer while id_set */
  rtw__buf id;     /* the last event ID string (committed at each block end) */
  const char *id_new_ref; /* zero-copy forms of the two, while they lie in the input */
  size_t id_new_ref_len;
  const char *id_ref;
  size_t id_ref_len;
  rtw__buf scratch;
  char *stage; /* streaming mode: STAGE_SIZE + COPY_SLACK bytes once a run needed them */
};

static const uint8_t bom_bytes[3] = {0xEF, 0xBB, 0xBF};

/* Word loads for the fast path: eight input bytes in one load, compared as a little-endian
 * integer. Only used where at least eight bytes of the input remain, so never past its end. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define WORD_LOADS 1
#endif

static inline uint64_t load_word(const uint8_t *s)
{
  uint64_t w;
  memcpy(&w, s, 8);
  return w;
}

static void destroy(rtw_sse_parser *p);

/* ------------------------------------------------------------------ helpers */

static int fail(rtw_sse_parser *p, int err)
{
  p->error = err;
  return err;
}

/* Map a callback's return value: 0 continues, RTW_ERR_PAUSE pauses after this line, anything
 * else is a sticky RTW_ERR_CALLBACK_FAILURE. A callback that freed the parser stops everything
 * at once, whatever it returned: the running recv()/end() then frees it. */
static int check_cb(rtw_sse_parser *p, int rv)
{
  if (p->free_pending)
    return fail(p, RTW_ERR_CALLBACK_FAILURE);
  if (rv == 0)
    return 0;
  if (rv == RTW_ERR_PAUSE) {
    p->paused = 1;
    return 0;
  }
  return fail(p, RTW_ERR_CALLBACK_FAILURE);
}

static int is_raw(const rtw_sse_parser *p)
{
  return (p->flags & RTW_SSE_FLAG_RAW_BYTES) != 0;
}

static int is_valid(const rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii)
{
  return ascii || is_raw(p) || rtw__utf8_valid_prefix(s, n) == n;
}

/* Set b to the decoded form of a complete value (9.2.6: UTF-8 decode with replacement),
 * failing with `err` before taking memory when the result would exceed `limit`. */
static int decode_value(rtw_sse_parser *p, rtw__buf *b, const uint8_t *s, size_t n, int ascii,
                        size_t limit, int err)
{
  rtw__utf8 st;
  size_t need;
  int rv;

  b->len = 0;
  if (is_valid(p, s, n, ascii)) {
    if (n > limit)
      return fail(p, err);
    return rtw__buf_append(b, &p->mem, s, n) ? fail(p, RTW_ERR_NOMEM) : 0;
  }
  rtw__utf8_init(&st);
  need = rtw__utf8_decode(&st, s, n, NULL);
  need += rtw__utf8_flush(&st, NULL);
  if (need > limit)
    return fail(p, err);
  rv = rtw__buf_reserve(b, &p->mem, need);
  if (rv != 0)
    return fail(p, rv);
  rtw__utf8_init(&st);
  b->len = rtw__utf8_decode(&st, s, n, (uint8_t *)b->data);
  b->len += rtw__utf8_flush(&st, (uint8_t *)b->data + b->len);
  return 0;
}

/* Copy a zero-copy data line into the data buffer, with its LF. */
static int materialize_data(rtw_sse_parser *p)
{
  if (p->data_ref == NULL)
    return 0;
  p->data.len = 0;
  if (rtw__buf_reserve(&p->data, &p->mem, p->data_ref_len + 1))
    return fail(p, RTW_ERR_NOMEM);
  memcpy(p->data.data, p->data_ref, p->data_ref_len);
  p->data.data[p->data_ref_len] = '\n';
  p->data.len = p->data_ref_len + 1;
  p->data_ref = NULL;
  return 0;
}

/* Copy zero-copy references into the parser's buffers: the input is about to go away. */
static int materialize(rtw_sse_parser *p)
{
  if (materialize_data(p))
    return p->error;
  if (p->type_ref != NULL) {
    p->type.len = 0;
    if (rtw__buf_append(&p->type, &p->mem, p->type_ref, p->type_ref_len))
      return fail(p, RTW_ERR_NOMEM);
    p->type_ref = NULL;
  }
  if (p->id_new_ref != NULL) {
    p->id_new.len = 0;
    if (rtw__buf_append(&p->id_new, &p->mem, p->id_new_ref, p->id_new_ref_len))
      return fail(p, RTW_ERR_NOMEM);
    p->id_new_ref = NULL;
  }
  if (p->id_ref != NULL) {
    p->id.len = 0;
    if (rtw__buf_append(&p->id, &p->mem, p->id_ref, p->id_ref_len))
      return fail(p, RTW_ERR_NOMEM);
    p->id_ref = NULL;
  }
  return 0;
}

static void clear_block(rtw_sse_parser *p)
{
  p->data_lines = 0;
  p->data_len = 0;
  p->lf_sent = 0;
  p->data_ref = NULL;
  p->data.len = 0;
  p->type_ref = NULL;
  p->type.len = 0;
}

/* ------------------------------------------------------------------ data */

/* Data handling follows 9.2.6 literally in buffered mode: each data line appends its value and
 * a LF to `data`, and dispatch drops the final LF. A block's first line lying whole and valid
 * in the input is only referenced (data_ref), standing for data_ref + LF. In streaming mode
 * the LF between lines is delivered before the next line instead, so the final LF is never
 * sent, and data_len counts what was delivered. */

static int emit_data(rtw_sse_parser *p, const char *s, size_t n)
{
  p->data_len += n;
  if (n == 0 || p->cb.on_data == NULL)
    return 0;
  return check_cb(p, p->cb.on_data(p, s, n, p->user_data));
}

/* Streaming mode: deliver a piece of a data value, decoding as needed. `last` ends the value
 * (a pending incomplete sequence becomes U+FFFD). */
static int stream_piece(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int last)
{
  size_t k = 0, out;
  int rv;

  if (is_raw(p) || (ascii && rtw__utf8_at_boundary(&p->utf8)))
    return emit_data(p, (const char *)s, n);
  if (rtw__utf8_at_boundary(&p->utf8))
    k = rtw__utf8_valid_prefix(s, n);
  rv = emit_data(p, (const char *)s, k);
  if (k == n && (!last || rtw__utf8_at_boundary(&p->utf8)))
    return rv;
  while (rv == 0) {
    size_t m = n - k < DECODE_BLOCK ? n - k : DECODE_BLOCK;
    int end = last && k + m == n;
    if (m == 0 && !end)
      break;
    if (rtw__buf_reserve(&p->scratch, &p->mem, 3 * DECODE_BLOCK + 3))
      return fail(p, RTW_ERR_NOMEM);
    out = rtw__utf8_decode(&p->utf8, s + k, m, (uint8_t *)p->scratch.data);
    if (end)
      out += rtw__utf8_flush(&p->utf8, (uint8_t *)p->scratch.data + out);
    rv = emit_data(p, p->scratch.data, out);
    k += m;
    if (end)
      break;
  }
  return rv;
}

/* Streaming mode: the staging buffer of SRUN_NAME() (scan_lines.inc), taken at its first use
 * and kept until the parser is freed: fixed size, so the check is the allocation itself. */
static int stage_get(rtw_sse_parser *p)
{
  if (p->stage == NULL) {
    p->stage = rtw__mem_malloc(&p->mem, STAGE_SIZE + COPY_SLACK);
    if (p->stage == NULL)
      return fail(p, RTW_ERR_NOMEM);
  }
  return 0;
}

/* Buffered mode: check that `add` more bytes of the current line fit. What dispatch would
 * deliver is everything buffered (earlier lines with their LFs) plus this line's value. */
static inline int data_fits(rtw_sse_parser *p, size_t add)
{
  if (p->data.len > p->max_event || add > p->max_event - p->data.len)
    return fail(p, RTW_ERR_SSE_EVENT_TOO_LARGE);
  return 0;
}

/* Buffered mode: append a piece of a data value, decoded; `last` ends the line (LF). */
static int buffer_piece(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int last)
{
  rtw__utf8 st = p->utf8;
  size_t k = 0, need;
  char *d;

  if (is_raw(p) || (ascii && rtw__utf8_at_boundary(&st)))
    k = n;
  else if (rtw__utf8_at_boundary(&st))
    k = rtw__utf8_valid_prefix(s, n);
  need = k;
  if (k < n)
    need += rtw__utf8_decode(&st, s + k, n - k, NULL);
  if (last)
    need += rtw__utf8_flush(&st, NULL);
  if (data_fits(p, need))
    return p->error;
  if (rtw__buf_reserve(&p->data, &p->mem, need + 1))
    return fail(p, RTW_ERR_NOMEM);
  d = p->data.data + p->data.len;
  if (k > 0)
    memcpy(d, s, k);
  d += k;
  if (k < n)
    d += rtw__utf8_decode(&p->utf8, s + k, n - k, (uint8_t *)d);
  if (last) {
    d += rtw__utf8_flush(&p->utf8, (uint8_t *)d);
    *d++ = '\n';
  }
  p->data.len = (size_t)(d - p->data.data);
  return 0;
}

static int data_piece(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int last)
{
  if (p->flags & RTW_SSE_FLAG_STREAM_DATA)
    return stream_piece(p, s, n, ascii, last);
  return buffer_piece(p, s, n, ascii, last);
}

/* Streaming mode: the LF joining a data line to the previous one (9.2.6 appends it to the
 * data buffer), unless the previous line went out with it already (scan_lines.inc,
 * SRUN_NAME(): a data line followed by another is delivered with its own LF, in one piece). */
static int join_lf(rtw_sse_parser *p)
{
  if (p->lf_sent) {
    p->lf_sent = 0;
    return 0;
  }
  return emit_data(p, "\n", 1);
}

/* 9.2.6 "If the field name is 'data'": a data line starts. */
static int begin_data_line(rtw_sse_parser *p)
{
  rtw__utf8_init(&p->utf8);
  if (p->data_lines++ == 0)
    return 0;
  if (p->flags & RTW_SSE_FLAG_STREAM_DATA)
    return join_lf(p);
  return materialize_data(p);
}

/* Copy a short line in 64-byte steps (one block of the scanner), which may copy up to 63
 * bytes past its end (the destination has COPY_SLACK spare bytes; the source must stay inside
 * the input): cheaper than a memcpy call for the typical 20-200 byte line. */
static inline void copy_line(char *d, const uint8_t *s, size_t n, const uint8_t *in_end)
{
  size_t i;

  if (n > 256 || (size_t)(in_end - s) < ((n + 63) & ~(size_t)63)) {
    memcpy(d, s, n);
    return;
  }
  for (i = 0; i < n; i += 64)
    memcpy(d + i, s + i, 64);
}

/* A data line lying whole in the input. The first line of a block whose bytes are valid is
 * referenced in place: no copy, no allocation (the common one-line event). Later valid lines
 * are appended with their LF in one step. */
RTW_ALWAYS_INLINE static int data_line(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii)
{
  if (!(p->flags & RTW_SSE_FLAG_STREAM_DATA) && is_valid(p, s, n, ascii)) {
    if (p->data_lines++ == 0) {
      if (n > p->max_event)
        return fail(p, RTW_ERR_SSE_EVENT_TOO_LARGE);
      p->data_ref = (const char *)s;
      p->data_ref_len = n;
      return 0;
    }
    if ((p->data_ref != NULL && materialize_data(p)) || data_fits(p, n))
      return p->error;
    if (n + COPY_SLACK > p->data.cap - p->data.len &&
        rtw__buf_reserve(&p->data, &p->mem, n + COPY_SLACK))
      return fail(p, RTW_ERR_NOMEM);
    copy_line(p->data.data + p->data.len, s, n, p->in_end);
    p->data.data[p->data.len + n] = '\n';
    p->data.len += n + 1;
    return 0;
  }
  if ((p->flags & RTW_SSE_FLAG_STREAM_DATA) && (ascii || is_raw(p))) {
    /* Streaming a line that needs no decoding: the LF joining it to the previous line,
     * then the line, as begin_data_line() and stream_piece() would deliver them. */
    if (p->data_lines++ != 0 && join_lf(p))
      return p->error;
    return emit_data(p, (const char *)s, n);
  }
  if (begin_data_line(p))
    return p->error;
  return data_piece(p, s, n, ascii, 1);
}

/* ------------------------------------------------------------------ other fields */

/* 9.2.6 "If the field name is 'retry'": only ASCII digits (at least one) set the
 * reconnection time; anything else is ignored. The value is taken piece by piece as it
 * arrives, so it needs no memory whatever its length; values above UINT32_MAX saturate. */
static void retry_begin(rtw_sse_parser *p)
{
  p->retry = R_EMPTY;
  p->retry_ms = 0;
}

static void retry_piece(rtw_sse_parser *p, const uint8_t *s, size_t n)
{
  size_t i;

  for (i = 0; i < n && p->retry != R_INVALID; i++) {
    uint32_t d = (uint32_t)s[i] - '0';
    if (d > 9) {
      p->retry = R_INVALID;
    } else {
      p->retry = R_DIGITS;
      p->retry_ms = p->retry_ms > (UINT32_MAX - d) / 10u ? UINT32_MAX : p->retry_ms * 10u + d;
    }
  }
}

static int retry_end(rtw_sse_parser *p)
{
  if (p->retry != R_DIGITS || p->cb.on_retry == NULL)
    return 0;
  return check_cb(p, p->cb.on_retry(p, p->retry_ms, p->user_data));
}

static int retry_field(rtw_sse_parser *p, const uint8_t *s, size_t n)
{
  retry_begin(p);
  retry_piece(p, s, n);
  return retry_end(p);
}

static int has_nul(const uint8_t *s, size_t n)
{
  size_t i;

  if (n > 32)
    return memchr(s, 0, n) != NULL;
  for (i = 0; i < n; i++)
    if (s[i] == 0)
      return 1;
  return 0;
}

/* has_nul() for a value lying in the input ([s, s + n) inside [s, in_end)): up to 32 bytes
 * are tested a word at a time, loading whole words as long as they stay inside the input. */
static inline int has_nul_in_input(const uint8_t *s, size_t n, const uint8_t *in_end)
{
#if defined(WORD_LOADS)
  if (n <= 32 && (size_t)(in_end - s) >= ((n + 7) & ~(size_t)7)) {
    for (; n >= 8; s += 8, n -= 8)
      if (rtw__scan_zero_bytes(load_word(s)) != 0)
        return 1;
    return n > 0 && (rtw__scan_zero_bytes(load_word(s)) & ((UINT64_C(1) << (8 * n)) - 1)) != 0;
  }
#else
  (void)in_end;
#endif
  return has_nul(s, n);
}

/* 9.2.6 "If the field name is 'id'": a value containing U+0000 is ignored entirely;
 * otherwise it becomes the last event ID buffer (committed at the block's end). `stable`
 * says the value lies in the caller's input (and may be referenced there). An `ascii` value
 * from the fast path holds no NUL (the block scanner marks NUL with the non-ASCII bytes). */
RTW_ALWAYS_INLINE static int id_field(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int stable)
{
  if (!ascii && (stable ? has_nul_in_input(s, n, p->in_end) : has_nul(s, n)))
    return 0;
  p->id_set = 1;
  if (stable && is_valid(p, s, n, ascii)) {
    if (n > p->max_id)
      return fail(p, RTW_ERR_SSE_ID_TOO_LONG);
    p->id_new_ref = (const char *)s;
    p->id_new_ref_len = n;
    return 0;
  }
  p->id_new_ref = NULL;
  if (decode_value(p, &p->id_new, s, n, ascii, p->max_id, RTW_ERR_SSE_ID_TOO_LONG))
    return p->error;
  return 0;
}

/* 9.2.6 "If the field name is 'event'": set the event type buffer. */
static int event_field(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int stable)
{
  if (stable && is_valid(p, s, n, ascii)) {
    if (n > p->max_type)
      return fail(p, RTW_ERR_SSE_TYPE_TOO_LONG);
    p->type_ref = (const char *)s;
    p->type_ref_len = n;
    return 0;
  }
  p->type_ref = NULL;
  return decode_value(p, &p->type, s, n, ascii, p->max_type, RTW_ERR_SSE_TYPE_TOO_LONG);
}

/* 9.2.6: a comment is ignored by the spec; on_comment sees its text, at most the first
 * max_comment_length bytes as received. `cut` says the comment was longer: then a
 * character cut by the bound is dropped (decoding stops before it), not replaced. */
static int comment_text(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii, int cut)
{
  rtw__utf8 st;
  size_t need, k;

  if (!is_raw(p) && !ascii && cut) {
    /* Valid text whose last character the cut split: deliver the whole characters. */
    k = rtw__utf8_valid_prefix(s, n);
    rtw__utf8_init(&st);
    if (k == n || rtw__utf8_validate(&st, s + k, n - k) == n - k) {
      n = k;
      cut = 0;
      ascii = 1; /* known valid */
    }
  }
  if (!is_raw(p) && !ascii && (cut || !is_valid(p, s, n, 0))) {
    rtw__utf8_init(&st);
    need = rtw__utf8_decode(&st, s, n, NULL) + (cut ? 0 : rtw__utf8_flush(&st, NULL));
    p->scratch.len = 0;
    if (rtw__buf_reserve(&p->scratch, &p->mem, need + 3))
      return fail(p, RTW_ERR_NOMEM);
    rtw__utf8_init(&st);
    need = rtw__utf8_decode(&st, s, n, (uint8_t *)p->scratch.data);
    if (!cut)
      need += rtw__utf8_flush(&st, (uint8_t *)p->scratch.data + need);
    s = (const uint8_t *)p->scratch.data;
    n = need;
  }
  return check_cb(p, p->cb.on_comment(p, (const char *)s, n, p->user_data));
}

RTW_ALWAYS_INLINE static int comment_line(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii)
{
  if (p->cb.on_comment == NULL)
    return 0;
  if (n <= p->max_comment && (ascii || is_raw(p))) /* delivered as is: the common case */
    return check_cb(p, p->cb.on_comment(p, (const char *)s, n, p->user_data));
  if (n > p->max_comment)
    return comment_text(p, s, p->max_comment, ascii, 1);
  return comment_text(p, s, n, ascii, 0);
}

/* Process a complete value of a field other than data. */
RTW_ALWAYS_INLINE static int apply_field(rtw_sse_parser *p, unsigned field, const uint8_t *s, size_t n, int ascii,
                       int stable)
{
  switch (field) {
  case F_EVENT:
    return event_field(p, s, n, ascii, stable);
  case F_ID:
    return id_field(p, s, n, ascii, stable);
  case F_RETRY:
    return retry_field(p, s, n);
  case F_COMMENT:
    return comment_line(p, s, n, ascii);
  default:
    return 0; /* 9.2.6: "Otherwise: The field is ignored." */
  }
}

/* ------------------------------------------------------------------ dispatch */

/* The last event ID string, wherever it lies. */
static const char *last_id(const rtw_sse_parser *p, size_t *len)
{
  if (p->id_ref != NULL) {
    *len = p->id_ref_len;
    return p->id_ref;
  }
  *len = p->id.len;
  return p->id.data ? p->id.data : "";
}

/* 9.2.6 "dispatch the event", on a blank line. */
RTW_ALWAYS_INLINE static int dispatch(rtw_sse_parser *p)
{
  rtw_sse_event ev;
  const char *id;
  size_t id_len;
  int rv;

  /* Step 1: the last event ID string takes the buffer's value, even with no data. */
  if (p->id_set) {
    p->id_set = 0;
    if (p->id_new_ref != NULL) {
      p->id_ref = p->id_new_ref;
      p->id_ref_len = p->id_new_ref_len;
      p->id_new_ref = NULL;
    } else {
      rtw__buf t = p->id;
      p->id = p->id_new;
      p->id_new = t;
      p->id_ref = NULL;
    }
    if (p->cb.on_id != NULL) {
      id = last_id(p, &id_len);
      if (check_cb(p, p->cb.on_id(p, id, id_len, p->user_data)))
        return p->error;
    }
  }
  /* Step 2: an empty data buffer resets the buffers and dispatches nothing. */
  if (p->data_lines == 0) {
    clear_block(p);
    return 0;
  }
  /* Step 3: remove the trailing LF. Steps 4-6: the type defaults to "message". */
  if (p->flags & RTW_SSE_FLAG_STREAM_DATA) {
    ev.data = NULL;
    ev.data_len = p->data_len;
  } else if (p->data_ref != NULL) {
    ev.data = p->data_ref;
    ev.data_len = p->data_ref_len;
  } else {
    ev.data = p->data.data;
    ev.data_len = p->data.len - 1;
  }
  ev.type = p->type_ref ? p->type_ref : p->type.data;
  ev.type_len = p->type_ref ? p->type_ref_len : p->type.len;
  if (ev.type_len == 0) {
    ev.type = "message";
    ev.type_len = 7;
  }
  rv = 0;
  if (p->cb.on_event != NULL) {
    ev.id = last_id(p, &ev.id_len);
    rv = p->cb.on_event(p, &ev, p->user_data);
  }
  clear_block(p); /* step 7 */
  return check_cb(p, rv);
}

/* ------------------------------------------------------------------ lines */

/* The one place a field name is matched, for whole lines and cut ones alike. 9.2.6: names
 * compare exactly, so "Data" or "data " are unknown fields. */
static inline unsigned field_of(const uint8_t *name, size_t len)
{
  switch (len) {
  case 2:
    return memcmp(name, "id", 2) == 0 ? F_ID : F_UNKNOWN;
  case 4:
    return memcmp(name, "data", 4) == 0 ? F_DATA : F_UNKNOWN;
  case 5:
    if (memcmp(name, "event", 5) == 0)
      return F_EVENT;
    return memcmp(name, "retry", 5) == 0 ? F_RETRY : F_UNKNOWN;
  default:
    return F_UNKNOWN;
  }
}

/* Classify a whole line: the field, and in *v the offset of its value (after the first colon
 * and one optional U+0020; n when the line has no colon). 9.2.6: a line starting with a colon
 * is a comment; the name is everything before the first colon (the whole line without one).
 * Only the first NAME_MAX_KEEP bytes are looked at: a longer name is unknown anyway. */
static unsigned classify(const uint8_t *s, size_t n, size_t *v)
{
  unsigned f;
  size_t k = 0;

  if (n > 4 && s[4] == ':' && field_of(s, 4) == F_DATA) { /* the most common line first */
    k = 4;
    f = F_DATA;
  } else if (s[0] == ':') {
    f = F_COMMENT;
  } else {
    while (k < n && k < NAME_MAX_KEEP && s[k] != ':')
      k++;
    if (k < n && s[k] != ':')
      return F_UNKNOWN;
    f = field_of(s, k);
  }
  if (k == n) { /* no colon: the whole line is the name, the value is empty */
    *v = n;
    return f;
  }
  k++;
  if (k < n && s[k] == ' ')
    k++;
  *v = k;
  return f;
}

/* classify() for a line lying whole in the input, whose terminator s[n] is in it too. The
 * name and its colon are compared in one 8-byte word load (masked to the name's length)
 * instead of a byte loop: "data:", "id:", "event:", "retry:" and a leading ':' (9.2.6). A
 * terminator inside the compared bytes makes the compare fail, so no length check is needed;
 * one U+0020 after the colon is skipped (s[n], the terminator, is never a space). Other
 * lines, and lines within 8 bytes of the input's end, go through classify(). */
RTW_ALWAYS_INLINE static unsigned classify_line(const uint8_t *s, size_t n, const uint8_t *end,
                                                size_t *v)
{
#if defined(WORD_LOADS)
  if ((size_t)(end - s) >= 8) {
    uint64_t w = load_word(s);
    unsigned f;
    size_t k;
    if ((w & UINT64_C(0xFFFFFFFFFF)) == UINT64_C(0x3A61746164)) { /* "data:" */
      f = F_DATA;
      k = 5;
    } else if ((w & UINT64_C(0xFFFFFF)) == UINT64_C(0x3A6469)) { /* "id:" */
      f = F_ID;
      k = 3;
    } else if ((w & 0xFFu) == ':') {
      f = F_COMMENT;
      k = 1;
    } else if ((w & UINT64_C(0xFFFFFFFFFFFF)) == UINT64_C(0x3A746E657665)) { /* "event:" */
      f = F_EVENT;
      k = 6;
    } else if ((w & UINT64_C(0xFFFFFFFFFFFF)) == UINT64_C(0x3A7972746572)) { /* "retry:" */
      f = F_RETRY;
      k = 6;
    } else {
      return classify(s, n, v);
    }
    *v = k + (s[k] == ' ');
    return f;
  }
#endif
  (void)end;
  return classify(s, n, v);
}

/* Fast path: a blank line lying in the caller's input (9.2.6: dispatch the event). */
RTW_ALWAYS_INLINE static int blank_line(rtw_sse_parser *p)
{
  if (p->data_lines == 0 && !p->id_set) { /* 9.2.6 dispatch step 2, the common case */
    p->type_ref = NULL;
    p->type.len = 0;
    return 0;
  }
  return dispatch(p);
}

/* Fast path: a non-empty line lying whole in the caller's input [.., end) (terminator
 * excluded). */
RTW_ALWAYS_INLINE static int process_line(rtw_sse_parser *p, const uint8_t *s, size_t n,
                                          int ascii, const uint8_t *end)
{
  unsigned field;
  size_t v = 0;

  field = classify_line(s, n, end, &v);
  if (field == F_DATA)
    return data_line(p, s + v, n - v, ascii);
  return apply_field(p, field, s + v, n - v, ascii, 1);
}

/* The field of a cut line, from the first NAME_MAX_KEEP bytes of its name. */
static unsigned name_field(const rtw_sse_parser *p)
{
  return field_of((const uint8_t *)p->name, p->name_len);
}

/* The field name is complete (a colon follows): classify it. */
static int name_done(rtw_sse_parser *p)
{
  p->field = (uint8_t)name_field(p);
  p->mode = L_SPACE;
  p->line.len = 0;
  if (p->field == F_RETRY)
    retry_begin(p);
  return p->field == F_DATA ? begin_data_line(p) : 0;
}

/* Keep up to `limit` bytes of a partial value in `line`; the rest sets `over`. */
static int keep_value(rtw_sse_parser *p, const uint8_t *s, size_t n, size_t limit)
{
  size_t room = limit - p->line.len;

  if (n > room) {
    p->over = 1;
    n = room;
  }
  return rtw__buf_append(&p->line, &p->mem, s, n) ? fail(p, RTW_ERR_NOMEM) : 0;
}

/* A piece of a partial value other than data, as it streams. Only what needs memory is kept,
 * each under its own bound; everything else is looked at once and dropped. */
static int value_piece(rtw_sse_parser *p, const uint8_t *s, size_t n)
{
  switch (p->field) {
  case F_EVENT:
    /* Decoding never shortens a value (an invalid byte becomes 3), so more raw bytes than
     * max_type_length already exceed it. */
    if (n > p->max_type - p->line.len)
      return fail(p, RTW_ERR_SSE_TYPE_TOO_LONG);
    return keep_value(p, s, n, p->max_type);
  case F_ID:
    /* 9.2.6: an id containing NUL is ignored whatever its length, so a value over
     * max_id_length only fails at its line end, when no NUL came. */
    if (p->nul || has_nul(s, n)) {
      p->nul = 1;
      return 0;
    }
    return p->over ? 0 : keep_value(p, s, n, p->max_id);
  case F_RETRY:
    retry_piece(p, s, n);
    return 0;
  case F_COMMENT:
    if (p->cb.on_comment == NULL || p->over)
      return 0;
    return keep_value(p, s, n, p->max_comment);
  default:
    return 0; /* 9.2.6: an unknown field is ignored */
  }
}

static size_t take_name(rtw_sse_parser *p, const uint8_t *s, size_t n)
{
  const uint8_t *colon = memchr(s, ':', n);
  size_t k = colon ? (size_t)(colon - s) : n;
  size_t room = NAME_MAX_KEEP - p->name_len;
  size_t keep = k < room ? k : room;

  memcpy(p->name + p->name_len, s, keep);
  p->name_len = (uint8_t)(p->name_len + keep);
  return k;
}

/* Slow path: a piece of a line that continues beyond it (no terminator inside). `ascii`: the
 * scanner saw no non-ASCII byte and no NUL in s[0..n), so a data value's bytes need no UTF-8
 * check (a long line cut by every input otherwise paid a validating pass on top of the scan
 * and the copy). */
static int feed_partial(rtw_sse_parser *p, const uint8_t *s, size_t n, int ascii)
{
  while (n > 0) {
    switch (p->mode) {
    case L_START:
      p->name_len = 0;
      p->line.len = 0;
      p->over = 0;
      p->nul = 0;
      p->field = F_UNKNOWN;
      if (s[0] == ':') { /* 9.2.6: a comment; its text is handled like a value */
        p->field = F_COMMENT;
        p->mode = L_SPACE;
        s++, n--;
      } else {
        p->mode = L_NAME;
      }
      break;
    case L_NAME: {
      size_t k = take_name(p, s, n);
      if (k == n)
        return 0;
      s += k + 1, n -= k + 1;
      if (name_done(p))
        return p->error;
      break;
    }
    case L_SPACE: /* 9.2.6: remove one leading U+0020 from the value, if present */
      p->mode = L_VALUE;
      if (s[0] == ' ')
        s++, n--;
      break;
    default: /* L_VALUE */
      if (p->field == F_DATA)
        return data_piece(p, s, n, ascii, 0);
      return value_piece(p, s, n);
    }
  }
  return 0;
}

/* The terminator of a partial line arrived. */
static int end_partial(rtw_sse_parser *p)
{
  static const uint8_t empty[1] = {0};
  unsigned field = p->field;
  uint8_t mode = p->mode;
  const uint8_t *s;

  p->mode = L_START;
  if (mode == L_NAME) { /* no colon: the whole line is the name, the value is empty */
    field = name_field(p);
    if (field == F_DATA) {
      p->field = F_DATA;
      if (begin_data_line(p))
        return p->error;
      return data_piece(p, empty, 0, 1, 1);
    }
    return apply_field(p, field, empty, 0, 1, 0);
  }
  s = (const uint8_t *)(p->line.data ? p->line.data : "");
  switch (field) {
  case F_DATA:
    return data_piece(p, empty, 0, 1, 1);
  case F_ID:
    if (p->nul)
      return 0;
    return p->over ? fail(p, RTW_ERR_SSE_ID_TOO_LONG) : id_field(p, s, p->line.len, 0, 0);
  case F_RETRY:
    return retry_end(p);
  case F_COMMENT:
    return p->cb.on_comment ? comment_text(p, s, p->line.len, 0, p->over) : 0;
  default:
    return apply_field(p, field, s, p->line.len, 0, 0);
  }
}

/* ------------------------------------------------------------------ scanning */

/* After a line ending at e: the start of the next line. A CR followed by LF is one line end;
 * a CR at the end of the input may be followed by an LF in the next call (9.2.5). */
static inline const uint8_t *after_eol(rtw_sse_parser *p, const uint8_t *e, const uint8_t *end)
{
  const uint8_t *s = e + 1;

  if (*e == '\r') {
    if (s == end)
      p->cr = 1;
    else if (*s == '\n')
      s++;
  }
  return s;
}

/* Runs of data lines (buffered mode). In a block of many data lines (a large event), every
 * data line after the second is appended by scan_lines.inc without the general per-line work:
 * a line "data: <value>" ended by LF, pure ASCII, lying whole in the input at least 64 bytes
 * before its end, is copied as value + LF in one go (the LF is the line's own terminator,
 * 9.2.6 "append the field value to the data buffer, then append a single U+000A LINE FEED"),
 * in 64-byte steps. `room` bounds value + LF by both max_event_size (the same test as
 * data_fits()) and the data buffer's capacity less COPY_SLACK, so one compare per line
 * checks both. Any other line ends the run (run_end()) and takes the general path. */
typedef struct data_run {
  char *d;     /* where the next value goes in p->data; NULL: no run */
  size_t room; /* value + LF bytes the run may still append */
  size_t lines;
  size_t cut; /* value bytes at d of a data line cut by the end of the input (0: none) */
  int long_line; /* the next line is likely long: LONG_NAME() takes it (scan_lines.inc) */
  size_t long_min; /* p->long_min: value + LF this long makes a line long (RUN_NAME()) */
} data_run;

/* Streaming mode: a batch being gathered in p->stage (scan_lines.inc, SFILL_NAME()). */
typedef struct stage_run {
  char *d;     /* where the next value goes in p->stage (NULL: no stage yet) */
  size_t room; /* value + LF bytes the batch may still take */
  size_t lines;
  const uint8_t *e; /* the LF of the data line the batch stopped at, when it did not fit or
                     * is long (over STAGE_LINE); NULL when the run stopped */
  const uint8_t *blk; /* then the block of e and its masks (its LFs from e on), where the */
  uint64_t lf, bad;   /* next fill goes on; NULL: the next fill classifies from its start */
} stage_run;

/* A line of at least this many bytes is long: a run copies it while it looks for its end
 * (LONG_NAME(), one pass per byte), where shorter lines are found by the block loop and then
 * copied (RUN_NAME(), two). The long-line pass starts each line with an unaligned block and
 * copies 256 bytes a step past the line's end, so it only pays from here on: 200- to 450-byte
 * lines ran at 0.83-1.01x of the memchr C parser with 192 here, 1.02-1.36x with 512; 512- to
 * 1000-byte lines the same (docs/performance.md, "Long lines, buffered"). */
#define LONG_LINE 512u

/* Start a run when the block buffers its data already (its second data line was appended). */
static inline void run_begin(rtw_sse_parser *p, data_run *r)
{
  size_t len = p->data.len, lim, cap;

  r->d = NULL;
  r->room = 0;
  r->lines = 0;
  r->cut = 0;
  r->long_line = p->long_lines;
  r->long_min = p->long_min;
  if ((p->flags & RTW_SSE_FLAG_STREAM_DATA) || p->data_ref != NULL || p->data_lines == 0 ||
      p->error || p->paused || len > p->max_event || p->data.cap - len <= COPY_SLACK)
    return;
  lim = p->max_event - len + 1; /* data_fits(): value <= max_event - len, plus its LF */
  cap = p->data.cap - len - COPY_SLACK;
  r->room = lim < cap ? lim : cap;
  r->d = p->data.data + len;
}

/* Commit a run's lines to the block state. */
static inline void run_end(rtw_sse_parser *p, data_run *r)
{
  if (r->d == NULL)
    return;
  p->data.len = (size_t)(r->d - p->data.data);
  p->data_lines += r->lines;
  p->long_lines = (uint8_t)r->long_line;
  r->d = NULL;
  if (r->cut > 0) {
    /* A data line cut by the end of the input, its value so far appended: the state
     * feed_partial() leaves for it (L_START, L_NAME, name_done(), begin_data_line(), L_SPACE,
     * then data_piece() with plain bytes: the room kept the value within max_event_size). */
    memcpy(p->name, "data", 4);
    p->name_len = 4;
    p->line.len = 0;
    p->over = 0;
    p->nul = 0;
    p->field = F_DATA;
    p->mode = L_VALUE;
    rtw__utf8_init(&p->utf8);
    p->data_lines++;
    p->data.len += r->cut;
    r->cut = 0;
  }
}

/* Non-zero unless "data:" is at s (a data line, 9.2.6); eight bytes at s are readable. */
static inline uint64_t not_data_colon(const uint8_t *s)
{
#if defined(WORD_LOADS)
  return (load_word(s) & UINT64_C(0xFFFFFFFFFF)) ^ UINT64_C(0x3A61746164);
#else
  return memcmp(s, "data:", 5) != 0;
#endif
}

/* Non-zero unless "data: " (with its space) is at s; eight bytes at s are readable. */
static inline uint64_t not_data_sp(const uint8_t *s)
{
#if defined(WORD_LOADS)
  return (load_word(s) & UINT64_C(0xFFFFFFFFFFFF)) ^ UINT64_C(0x203A61746164);
#else
  return memcmp(s, "data: ", 6) != 0;
#endif
}

/* "data:" at s (a data line, 9.2.6); eight bytes at s are readable. */
static inline int is_data_colon(const uint8_t *s)
{
#if defined(WORD_LOADS)
  return (load_word(s) & UINT64_C(0xFFFFFFFFFF)) == UINT64_C(0x3A61746164);
#else
  return memcmp(s, "data:", 5) == 0;
#endif
}

/* Whole events (scan_lines.inc, EVENT_NAME()). The common event is a few plain ASCII lines
 * (`id`, `event`, one `data`, comments) and a blank line, all in the caller's input. For those
 * the block's fields are kept in an ev_block (locals of the loop) instead of the parser, and a
 * line costs one word compare: the field name with its colon as a little-endian word, as in
 * classify_line(). The rules are those of the general path, which handles every other line:
 * 9.2.6 "data" (one line: its value, referenced in the input, or streamed through on_data),
 * "id" (a plain value has no NUL), "event", comments (on_comment), and dispatch at the blank
 * line (steps 1 to 7, as dispatch()). Values over their limit are left to the general path,
 * which fails with the error. ev_commit() stores a block cut short into the parser exactly as
 * the general path would have stored it. */
typedef struct ev_block {
  const uint8_t *id; /* the block's `id` value (NULL: none) */
  size_t id_len;
  const uint8_t *type; /* the block's `event` value (NULL: none) */
  size_t type_len;
  const uint8_t *data; /* the block's `data` value (buffered mode) */
  size_t data_len;
  int has_data; /* a `data` line was seen */
  int stream;   /* RTW_SSE_FLAG_STREAM_DATA */
  int stop;     /* a callback paused or failed */
} ev_block;

/* The eight bytes at s as a little-endian word (all eight are in the input). */
static inline uint64_t load_le64(const uint8_t *s)
{
#if defined(WORD_LOADS)
  return load_word(s);
#else
  uint64_t w = 0;
  unsigned i;
  for (i = 8; i-- > 0;)
    w = (w << 8) | s[i];
  return w;
#endif
}

/* The whole-event loop starts only where the block is empty (after a blank line). */
static inline int ev_ready(const rtw_sse_parser *p)
{
  return p->data_lines == 0 && !p->id_set && p->type_ref == NULL && p->type.len == 0;
}

static inline void ev_begin(const rtw_sse_parser *p, ev_block *b)
{
  b->id = NULL;
  b->id_len = 0;
  b->type = NULL;
  b->type_len = 0;
  b->data = NULL;
  b->data_len = 0;
  b->has_data = 0;
  b->stream = (p->flags & RTW_SSE_FLAG_STREAM_DATA) != 0;
  b->stop = 0;
}

/* Store a block cut short, as id_field(), event_field() and data_line() would have. */
static inline void ev_commit(rtw_sse_parser *p, const ev_block *b)
{
  if (b->id != NULL) {
    p->id_set = 1;
    p->id_new_ref = (const char *)b->id;
    p->id_new_ref_len = b->id_len;
  }
  if (b->type != NULL) {
    p->type_ref = (const char *)b->type;
    p->type_ref_len = b->type_len;
  }
  if (b->has_data) {
    p->data_lines = 1;
    if (b->stream) {
      p->data_len = b->data_len;
    } else {
      p->data_ref = (const char *)b->data;
      p->data_ref_len = b->data_len;
    }
  }
}

/* A callback's result in the whole-event loop: nonzero stops the loop (paused or failed). */
static inline int ev_cb(rtw_sse_parser *p, int rv)
{
  if (rv == 0 && !p->free_pending)
    return 0;
  check_cb(p, rv);
  return 1;
}

/* A non-empty plain line [s, s + n) ended by LF, with eight bytes readable at s. Returns 0
 * when taken; nonzero to leave it to the general path, or (b->stop) when taken but its
 * callback paused or failed. */
RTW_ALWAYS_INLINE static int ev_line(rtw_sse_parser *p, ev_block *b, const uint8_t *s, size_t n)
{
  uint64_t w = load_le64(s);
  size_t v;

  /* The compared bytes hold no line end, so a match means the line is longer than them and
   * s[v] (the optional space) is at most its terminator. */
  if ((w & UINT64_C(0xFFFFFFFFFF)) == UINT64_C(0x3A61746164)) { /* "data:" */
    if (b->has_data)
      return 1; /* a second data line: the general path buffers it (and starts a run) */
    v = 5u + (s[5] == ' ');
    b->has_data = 1;
    b->data_len = n - v;
    if (b->stream) {
      if (n > v && p->cb.on_data != NULL &&
          ev_cb(p, p->cb.on_data(p, (const char *)s + v, n - v, p->user_data)))
        return b->stop = 1;
      return 0;
    }
    if (n - v > p->max_event) {
      b->has_data = 0;
      return 1;
    }
    b->data = s + v;
    return 0;
  }
  if ((w & UINT64_C(0xFFFFFF)) == UINT64_C(0x3A6469)) { /* "id:" */
    v = 3u + (s[3] == ' ');
    if (n - v > p->max_id)
      return 1;
    b->id = s + v;
    b->id_len = n - v;
    return 0;
  }
  if ((w & 0xFFu) == ':') { /* a comment */
    if (p->cb.on_comment == NULL)
      return 0;
    v = 1u + (s[1] == ' ');
    if (n - v > p->max_comment)
      return 1;
    if (ev_cb(p, p->cb.on_comment(p, (const char *)s + v, n - v, p->user_data)))
      return b->stop = 1;
    return 0;
  }
  if ((w & UINT64_C(0xFFFFFFFFFFFF)) == UINT64_C(0x3A746E657665)) { /* "event:" */
    v = 6u + (s[6] == ' ');
    if (n - v > p->max_type)
      return 1;
    b->type = s + v;
    b->type_len = n - v;
    return 0;
  }
  return 1;
}

/* The blank line: dispatch() for an ev_block. Returns nonzero when a callback paused or
 * failed (the loop then stops after this line). */
RTW_ALWAYS_INLINE static int ev_dispatch(rtw_sse_parser *p, ev_block *b)
{
  rtw_sse_event ev;
  int stop = 0;

  /* Step 1: the last event ID string takes the buffer's value, even with no data. */
  if (b->id != NULL) {
    p->id_ref = (const char *)b->id;
    p->id_ref_len = b->id_len;
    b->id = NULL;
    if (p->cb.on_id != NULL &&
        ev_cb(p, p->cb.on_id(p, p->id_ref, p->id_ref_len, p->user_data))) {
      if (p->error) {
        b->has_data = 0;
        b->type = NULL;
        return 1;
      }
      stop = 1; /* paused: the event is still dispatched */
    }
  }
  /* Step 2: no data: the buffers are reset and nothing is dispatched. */
  if (!b->has_data) {
    b->type = NULL;
    b->type_len = 0;
    return stop;
  }
  /* Steps 3 to 6. */
  ev.type = (const char *)b->type;
  ev.type_len = b->type_len;
  if (ev.type_len == 0) {
    ev.type = "message";
    ev.type_len = 7;
  }
  ev.id = last_id(p, &ev.id_len);
  ev.data = b->stream ? NULL : (const char *)b->data;
  ev.data_len = b->data_len;
  b->has_data = 0; /* step 7 */
  b->type = NULL;
  b->type_len = 0;
  if (p->cb.on_event != NULL && ev_cb(p, p->cb.on_event(p, &ev, p->user_data)))
    return 1;
  return stop;
}

/* The whole-event loop and the streaming run are kept out of line: folded into the fast
 * path's loop they share its registers and spill (A/B runs: the whole-event loop 5 to 9%
 * faster on its own; the streaming run inlined cost the buffered paths 3 to 7%). */
#if defined(__GNUC__) || defined(__clang__)
#  define LOOP_NOINLINE __attribute__((noinline))
#else
#  define LOOP_NOINLINE
#endif

/* The fast path, one copy per instruction set (scan_lines.inc): every complete line of
 * [s, end) is processed straight from the input with line ends found 64 bytes at a time. */
#define SCAN_NAME scan_lines_base
#define EOL_NAME first_eol_base
#define PLAIN_NAME plain_copy_base
#define RUN_NAME run_lines_base
#define LONG_NAME long_line_base
#define SRUN_NAME stream_run_base
#define SFILL_NAME stage_fill_base
#define EVENT_NAME event_lines_base
#define SCAN_ATTR
#define SCAN_BLOCK rtw__scan_block
#define RUN_SCAN rtw__scan_run
#include "scan_lines.inc"

#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
#  define SCAN_NAME scan_lines_avx2
#  define EOL_NAME first_eol_avx2
#  define PLAIN_NAME plain_copy_avx2
#  define RUN_NAME run_lines_avx2
#  define LONG_NAME long_line_avx2
#  define SRUN_NAME stream_run_avx2
#  define SFILL_NAME stage_fill_avx2
#  define EVENT_NAME event_lines_avx2
#  define SCAN_ATTR RTW__TARGET_AVX2
#  define SCAN_BLOCK rtw__scan_block_avx2
#  define RUN_SCAN rtw__scan_run_avx2
#  define SCAN_COPY4 rtw__scan_copy4_avx2
#  include "scan_lines.inc"
#  define SCAN_NAME scan_lines_avx512
#  define EOL_NAME first_eol_avx512
#  define PLAIN_NAME plain_copy_avx512
#  define RUN_NAME run_lines_avx512
#  define LONG_NAME long_line_avx512
#  define SRUN_NAME stream_run_avx512
#  define SFILL_NAME stage_fill_avx512
#  define EVENT_NAME event_lines_avx512
#  define SCAN_ATTR RTW__TARGET_AVX512
#  define SCAN_BLOCK rtw__scan_block_avx512
#  define SCAN_QUIET4 rtw__scan_quiet4_avx512
#  define SCAN_COPY4 rtw__scan_copy4_avx512
#  define RUN_SCAN rtw__scan_run_avx512
#  include "scan_lines.inc"
#endif

/* The scanner variants of one instruction set (scan_lines.inc), chosen by p->simd. */
typedef struct scan_ops {
  const uint8_t *(*lines)(rtw_sse_parser *p, const uint8_t *s, const uint8_t *end);
  /* the first CR or LF in [s, end), or end (the rest of a line cut by the previous input);
   * *ascii: no byte before it is marked */
  const uint8_t *(*eol)(const uint8_t *s, const uint8_t *end, int *ascii);
  /* the plain bytes of s[0..n) up to the first CR, LF, NUL or non-ASCII byte copied to
   * d[0..n); returns that byte's offset (copied too) or n */
  size_t (*plain)(char *d, const uint8_t *s, size_t n);
} scan_ops;

static const scan_ops scan_by_level[] = {
    {scan_lines_base, first_eol_base, plain_copy_base}, /* RTW__SCAN_BASE_LEVEL */
#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
    {scan_lines_avx2, first_eol_avx2, plain_copy_avx2},       /* RTW__SCAN_AVX2 */
    {scan_lines_avx512, first_eol_avx512, plain_copy_avx512}, /* RTW__SCAN_AVX512 */
#endif
};

static const uint8_t *scan_lines(rtw_sse_parser *p, const uint8_t *s, const uint8_t *end)
{
  return scan_by_level[p->simd].lines(p, s, end);
}

static const uint8_t *first_eol(const rtw_sse_parser *p, const uint8_t *s, const uint8_t *end,
                                int *ascii)
{
  return scan_by_level[p->simd].eol(s, end, ascii);
}

static size_t plain_copy(const rtw_sse_parser *p, char *d, const uint8_t *s, size_t n)
{
  return scan_by_level[p->simd].plain(d, s, n);
}

/* Buffered mode, the rest of a data value cut by the previous input (a long line): its plain
 * bytes go into the data buffer in the pass that looks for the line end (plain_copy()), as far
 * as the buffer's capacity and max_event_size allow (data_fits(): value bytes up to
 * max_event_size - data.len; one byte stays free for the LF). What buffer_piece() does with
 * plain bytes while no UTF-8 sequence is open, without a separate scan. Returns where it
 * stopped: the line end, a byte that is not plain, or the end of the room or the input. */
static const uint8_t *data_rest(rtw_sse_parser *p, const uint8_t *s, const uint8_t *end)
{
  size_t n = (size_t)(end - s), room;

  if (p->data.len >= p->max_event || p->data.cap - p->data.len <= 1)
    return s;
  room = p->max_event - p->data.len;
  if (room > p->data.cap - p->data.len - 1)
    room = p->data.cap - p->data.len - 1;
  if (n > room)
    n = room;
  n = plain_copy(p, p->data.data + p->data.len, s, n);
  p->data.len += n;
  return s + n;
}

/* Finish a line cut by the end of the previous input. Returns where the next line starts. */
static const uint8_t *finish_partial(rtw_sse_parser *p, const uint8_t *s, const uint8_t *end)
{
  int ascii;
  const uint8_t *e;

  if (p->mode == L_VALUE && p->field == F_DATA && !(p->flags & RTW_SSE_FLAG_STREAM_DATA) &&
      rtw__utf8_at_boundary(&p->utf8)) {
    s = data_rest(p, s, end);
    if (s == end)
      return end;
  }
  e = first_eol(p, s, end, &ascii);

  if (feed_partial(p, s, (size_t)(e - s), ascii) || e == end)
    return end;
  end_partial(p);
  return after_eol(p, e, end);
}

/* 9.2.5 / Encoding: one leading BOM (EF BB BF) is stripped at the start of a stream only.
 * Bytes of a BOM prefix that turns out not to be one are content. */
static const uint8_t *skip_bom(rtw_sse_parser *p, const uint8_t *s, const uint8_t *end)
{
  while (p->bom < BOM_DONE && s < end) {
    if (*s != bom_bytes[p->bom]) {
      size_t k = p->bom;
      p->bom = BOM_DONE;
      if (k > 0)
        feed_partial(p, bom_bytes, k, 0);
      return s;
    }
    p->bom++;
    s++;
  }
  return s;
}

/* ------------------------------------------------------------------ public API */

int rtw_sse_parser_recv(rtw_sse_parser *p, const void *in, size_t len, size_t *nread)
{
  const uint8_t *s = in, *end;

  if (nread != NULL)
    *nread = 0;
  if (p == NULL || nread == NULL || (in == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (p->busy)
    return RTW_ERR_REENTRANT; /* a nested parse would corrupt the one running */
  if (p->error)
    return p->error;
  if (len == 0)
    return 0;
  end = s + len;
  p->in_end = end;
  p->paused = 0;
  p->busy = 1;
  if (p->bom < BOM_DONE)
    s = skip_bom(p, s, end);
  if (p->cr && s < end) { /* CR|LF split across calls: the LF belongs to the CR's line end */
    p->cr = 0;
    if (*s == '\n')
      s++;
  }
  if (p->mode != L_START && s < end && !p->error)
    s = finish_partial(p, s, end);
  if (s < end && !p->error && !p->paused)
    s = scan_lines(p, s, end);
  if (!p->error)
    materialize(p);
  *nread = (size_t)(s - (const uint8_t *)in);
  p->busy = 0;
  if (p->free_pending) {
    destroy(p);
    return RTW_ERR_CALLBACK_FAILURE;
  }
  if (p->error)
    return p->error;
  return p->paused ? RTW_ERR_PAUSE : 0;
}

static void reset_stream(rtw_sse_parser *p)
{
  p->bom = 0;
  p->cr = 0;
  p->mode = L_START;
  p->field = F_UNKNOWN;
  p->line.len = 0;
  p->name_len = 0;
  p->over = 0;
  p->nul = 0;
  retry_begin(p);
  rtw__utf8_init(&p->utf8);
  p->id_set = 0;
  p->id_new_ref = NULL;
  p->long_lines = 0;
  clear_block(p);
}

int rtw_sse_parser_end(rtw_sse_parser *p)
{
  int rv = 0;

  if (p == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (p->busy)
    return RTW_ERR_REENTRANT;
  if (p->error)
    return p->error;
  /* 9.2.6: "Once the end of the file is reached, any pending data must be discarded." */
  if ((p->flags & RTW_SSE_FLAG_STREAM_DATA) && p->data_lines > 0 && p->cb.on_discard != NULL) {
    p->busy = 1;
    rv = p->cb.on_discard(p, p->user_data);
    p->busy = 0;
    if (p->free_pending) {
      destroy(p);
      return RTW_ERR_CALLBACK_FAILURE;
    }
  }
  reset_stream(p);
  if (rv != 0 && rv != RTW_ERR_PAUSE)
    return fail(p, RTW_ERR_CALLBACK_FAILURE);
  return 0;
}

int rtw_sse_parser_reset(rtw_sse_parser *p, const char *id, size_t id_len)
{
  if (p == NULL || (id == NULL && id_len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (p->busy)
    return RTW_ERR_REENTRANT;
  if (id != NULL && (memchr(id, 0, id_len) || memchr(id, '\r', id_len) || memchr(id, '\n', id_len)))
    return RTW_ERR_INVALID_ARGUMENT;
  if (id_len > p->max_id)
    return RTW_ERR_SSE_ID_TOO_LONG;
  reset_stream(p);
  p->error = 0;
  if (id != NULL) {
    p->id.len = 0;
    p->id_ref = NULL;
    if (rtw__buf_append(&p->id, &p->mem, id, id_len))
      return fail(p, RTW_ERR_NOMEM);
  }
  return 0;
}

int rtw_sse_parser_last_event_id(const rtw_sse_parser *p, const char **id, size_t *id_len)
{
  if (p == NULL || id == NULL || id_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *id = last_id(p, id_len);
  return 0;
}

int rtw__sse_parser_set_simd(rtw_sse_parser *p, int level)
{
  if (level == RTW__SSE_SIMD_BASE) {
    p->simd = RTW__SCAN_BASE_LEVEL;
    return 0;
  }
#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
  if (level == RTW__SSE_SIMD_AVX2 && rtw__scan_best() >= RTW__SCAN_AVX2) {
    p->simd = RTW__SCAN_AVX2;
    return 0;
  }
  if (level == RTW__SSE_SIMD_AVX512 && rtw__scan_best() >= RTW__SCAN_AVX512) {
    p->simd = RTW__SCAN_AVX512;
    return 0;
  }
#endif
  return RTW_ERR_UNSUPPORTED;
}

int rtw__sse_parser_set_long_line(rtw_sse_parser *p, size_t bytes)
{
  if (p == NULL || bytes < 2 * RTW__SCAN_BLOCK + 1)
    return RTW_ERR_INVALID_ARGUMENT; /* RUN_NAME() hands over after its 64-byte steps */
  p->long_min = bytes;
  return 0;
}

void *rtw_sse_parser_user_data(const rtw_sse_parser *p)
{
  return p ? p->user_data : NULL;
}

/* Copy the known prefix of a versioned struct; members it lacks stay zero. */
static int copy_settings(rtw_sse_parser *p, const rtw_sse_settings *s)
{
  if (s != NULL) {
    /* Version 1 (never released) had max_line_length: its layout is refused. */
    if (s->version < 2 || s->version > RTW_SSE_SETTINGS_VERSION)
      return RTW_ERR_INVALID_ARGUMENT;
    if (s->flags & ~(RTW_SSE_FLAG_STREAM_DATA | RTW_SSE_FLAG_RAW_BYTES))
      return RTW_ERR_INVALID_ARGUMENT;
    p->flags = s->flags;
    p->max_event = s->max_event_size;
    p->max_id = s->max_id_length;
    p->max_type = s->max_type_length;
    p->max_comment = s->max_comment_length;
  }
  if (p->max_type == 0)
    p->max_type = RTW_SSE_DEFAULT_MAX_TYPE_LENGTH;
  if (p->max_comment == 0)
    p->max_comment = RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH;
  if (p->max_event == 0)
    p->max_event = RTW_SSE_DEFAULT_MAX_EVENT_SIZE;
  if (p->max_id == 0)
    p->max_id = RTW_SSE_DEFAULT_MAX_ID_LENGTH;
  return 0;
}

int rtw_sse_parser_new(rtw_sse_parser **out, const rtw_sse_callbacks *cb,
                       const rtw_sse_settings *settings, const rtw_mem *mem, void *user_data)
{
  rtw_sse_parser *p;
  rtw_mem m;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  /* Version 1 (never released) declared on_event with separate arguments: refused. */
  if (cb != NULL && (cb->version < 2 || cb->version > RTW_SSE_CALLBACKS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = rtw__mem_init(&m, mem);
  if (rv != 0)
    return rv;
  p = rtw__mem_calloc(&m, 1, sizeof *p);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  p->mem = m;
  rv = copy_settings(p, settings);
  if (rv != 0) {
    rtw__mem_free(&m, p);
    return rv;
  }
  if (cb != NULL)
    p->cb = *cb; /* version 2 is the only accepted layout so far */
  p->user_data = user_data;
#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
  p->simd = rtw__scan_best();
#endif
  p->long_min = LONG_LINE;
  reset_stream(p);
  *out = p;
  return 0;
}

void rtw_sse_parser_free(rtw_sse_parser *p)
{
  if (p == NULL)
    return;
  if (p->busy) { /* from a callback: the running recv()/end() frees it when it returns */
    p->free_pending = 1;
    return;
  }
  destroy(p);
}

static void destroy(rtw_sse_parser *p)
{
  rtw__buf_free(&p->line, &p->mem);
  rtw__buf_free(&p->data, &p->mem);
  rtw__buf_free(&p->type, &p->mem);
  rtw__buf_free(&p->id_new, &p->mem);
  rtw__buf_free(&p->id, &p->mem);
  rtw__buf_free(&p->scratch, &p->mem);
  rtw__mem_free(&p->mem, p->stage);
  rtw__mem_free(&p->mem, p);
}
