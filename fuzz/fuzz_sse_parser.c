/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the SSE parser: random settings, splits, pauses, callback and
 * allocation failures, checked against the documented invariants and an unsplit parse. */
/*
 * Input layout (an 8-byte header, then the event stream; a short input reads as zeros):
 *
 *   byte 0  bit 0 RTW_SSE_FLAG_STREAM_DATA    bit 4 seed the last event ID with reset()
 *           bit 1 RTW_SSE_FLAG_RAW_BYTES      bit 5 two streams: end() after the first half
 *           bit 2 small limits (bytes 1-3)    bit 6 every callback calls recv, end, reset
 *                                             (each must be refused: RTW_ERR_REENTRANT)
 *           bit 3 set on_comment              bit 7 on_discard fails
 *   byte 1  max_type_length = 1 + b1          (1..256; only with bit 2, else the default)
 *   byte 2  max_event_size  = 1 + b2          (1..256; only with bit 2)
 *   byte 3  max_id_length   = 1 + b3 % 64     (only with bit 2)
 *           max_comment_length = 1 + (b1 ^ b3) % 48 (only with bit 2)
 *   byte 4  piece-size seed; bits 0-1 choose the range: 1, 1..8, 1..64, 1..len; bits 2-3
 *           the scanner of run A: 0 base (SSE2 or SWAR), 1 AVX2, 2 AVX-512, 3 the CPU's best
 *   byte 5  chance (out of 256) that a callback returns RTW_ERR_PAUSE
 *   byte 6  the allocation that fails (1-based; 0 = none)
 *   byte 7  the on_event/on_id/on_retry/on_comment call that fails (1-based; 0 = none)
 *
 * Runs and oracles:
 *   A  the stream fed in random pieces, with pauses and the failing allocator, scanned by
 *      the variant byte 4 asks for (when the CPU has it);
 *   B  the same settings, each stream fed whole, no pauses, no allocation failure, scanned
 *      by the base variant;
 *   C  as B with STREAM_DATA flipped (and the default max_event_size), scanned by the
 *      CPU's best variant (what a parser uses by default).
 * Every run checks each callback against include/rtweb/sse.h (text is UTF-8 unless
 * RAW_BYTES, the type is non-empty and fits max_type_length, the id has no NUL, CR or LF and
 * fits max_id_length, a comment is at most max_comment_length bytes as received (so 3 times
 * that once decoded),
 * buffered data fits max_event_size, streamed pieces are non-empty and add up to on_event's
 * data_len, nread <= len, errors are sticky, a refused allocation yields RTW_ERR_NOMEM, no
 * leak). Then the logs must agree: A == B when A had no allocation failure (splits and
 * pauses and scanners change nothing), and B == C unless max_event_size or on_discard made them differ
 * (buffered and streamed delivery carry the same events).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/sse.h"
#include "sse/sse_internal.h" /* rtw__sse_parser_set_simd(), a test hook */

#define HEADER_LEN 8u

enum {
  H_STREAM = 0x01,
  H_RAW = 0x02,
  H_SMALL = 0x04,
  H_COMMENT = 0x08,
  H_SEED = 0x10,
  H_TWO = 0x20,
  H_NEST = 0x40,
  H_DISCARD_FAILS = 0x80
};

static const char seed_id[] = "seed-id";

typedef struct config {
  uint8_t h[HEADER_LEN];
  uint32_t flags; /* RTW_SSE_FLAG_* */
  size_t max_type, max_event, max_id, max_comment; /* 0 = default */
} config;

/* One parse of the input, and everything its callbacks saw. */
typedef struct run {
  rtw_sse_parser *p;
  uint32_t flags;
  size_t max_event; /* effective limits, for the checks */
  size_t max_id;
  size_t max_type;
  size_t max_comment;
  int chunked; /* run A: pieces, pauses */
  fuzz_rng rng;
  unsigned pause_chance;
  unsigned fail_cb_at;
  unsigned ncb;
  int discard_fails;
  int nest;         /* callbacks try nested recv/end/reset (include/rtweb/sse.h: refused) */
  int cb_failed;    /* a callback returned a failure during the current API call */
  int cb_paused;    /* a callback returned RTW_ERR_PAUSE during the current API call */
  int too_large;    /* RTW_ERR_SSE_EVENT_TOO_LARGE was reported */
  int alloc_failed; /* the failing allocator refused one: the log is not comparable */
  unsigned long discards;
  fuzz_log log;     /* what the callbacks saw, compared across runs */
  fuzz_log pending; /* STREAM_DATA: pieces since the last on_event/on_discard */
  fuzz_log id;      /* the last event ID, as reported by on_id */
} run;

/* ------------------------------------------------------------------ callback checks */

/* A text argument: UTF-8 unless RAW_BYTES, and never a line break (lines end there). */
static void check_text(const run *r, const char *s, size_t n, int lf_ok)
{
  FUZZ_CHECK(s != NULL || n == 0);
  if (n == 0)
    return;
  FUZZ_CHECK(memchr(s, '\r', n) == NULL);
  FUZZ_CHECK(lf_ok || memchr(s, '\n', n) == NULL);
  if (!(r->flags & RTW_SSE_FLAG_RAW_BYTES))
    FUZZ_CHECK(fuzz_utf8_valid(s, n));
}

/* An id: text without NUL (9.2.6 ignores such ids), within max_id_length. */
static void check_id(const run *r, const char *id, size_t n)
{
  FUZZ_CHECK(id != NULL);
  check_text(r, id, n, 0);
  FUZZ_CHECK(n == 0 || memchr(id, 0, n) == NULL);
  FUZZ_CHECK(n <= r->max_id);
}

/* What a non-data callback returns: the fail_cb_at-th fails (with varied codes, all of which
 * must become RTW_ERR_CALLBACK_FAILURE), otherwise a pause by chance in run A. */
static int reply(run *r, int counted)
{
  if (r->nest) {
    size_t n = 7;
    FUZZ_CHECK(rtw_sse_parser_recv(r->p, "data:x\n\n", 8, &n) == RTW_ERR_REENTRANT && n == 0);
    FUZZ_CHECK(rtw_sse_parser_end(r->p) == RTW_ERR_REENTRANT);
    FUZZ_CHECK(rtw_sse_parser_reset(r->p, NULL, 0) == RTW_ERR_REENTRANT);
  }
  if (counted && r->fail_cb_at != 0 && ++r->ncb == r->fail_cb_at) {
    static const int codes[] = {-1, RTW_ERR_NOMEM, -100000};
    r->cb_failed = 1;
    return codes[r->fail_cb_at % 3];
  }
  if (r->pause_chance != 0 && (fuzz_rng_next(&r->rng) & 0xFFu) < r->pause_chance) {
    r->cb_paused = 1;
    return RTW_ERR_PAUSE;
  }
  return 0;
}

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  FUZZ_CHECK(type != NULL && type_len > 0);
  /* within max_type_length, unless it is the default "message" */
  FUZZ_CHECK(type_len <= r->max_type || (type_len == 7 && memcmp(type, "message", 7) == 0));
  check_text(r, type, type_len, 0);
  check_id(r, id, id_len);
  /* The id reported is the last one on_id announced (or the seed, or ""). */
  FUZZ_CHECK(id_len == r->id.len && (id_len == 0 || memcmp(id, r->id.p, id_len) == 0));
  if (r->flags & RTW_SSE_FLAG_STREAM_DATA) {
    FUZZ_CHECK(data == NULL);
    FUZZ_CHECK(data_len == r->pending.len);
    data = r->pending.p;
  } else {
    FUZZ_CHECK(data != NULL);
    FUZZ_CHECK(data_len <= r->max_event);
    check_text(r, data, data_len, 1);
  }
  fuzz_log_str(&r->log, "event type=");
  fuzz_log_esc(&r->log, type, type_len);
  fuzz_log_str(&r->log, " data=");
  fuzz_log_esc(&r->log, data, data_len);
  fuzz_log_str(&r->log, " id=");
  fuzz_log_esc(&r->log, id, id_len);
  fuzz_log_str(&r->log, "\n");
  fuzz_log_clear(&r->pending);
  return reply(r, 1);
}

static int on_id(rtw_sse_parser *p, const char *id, size_t id_len, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  check_id(r, id, id_len);
  fuzz_log_clear(&r->id);
  fuzz_log_raw(&r->id, id, id_len);
  fuzz_log_str(&r->log, "id=");
  fuzz_log_esc(&r->log, id, id_len);
  fuzz_log_str(&r->log, "\n");
  return reply(r, 1);
}

static int on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  fuzz_log_str(&r->log, "retry=");
  fuzz_log_num(&r->log, ms);
  fuzz_log_str(&r->log, "\n");
  return reply(r, 1);
}

static int on_comment(rtw_sse_parser *p, const char *text, size_t len, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  check_text(r, text, len, 0);
  /* include/rtweb/sse.h: at most max_comment_length bytes as received; decoding turns each
   * replaced byte into 3 */
  FUZZ_CHECK(len <= ((r->flags & RTW_SSE_FLAG_RAW_BYTES) ? 1u : 3u) * r->max_comment);
  fuzz_log_str(&r->log, "comment=");
  fuzz_log_esc(&r->log, text, len);
  fuzz_log_str(&r->log, "\n");
  return reply(r, 1);
}

static int on_data(rtw_sse_parser *p, const char *piece, size_t len, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  FUZZ_CHECK(r->flags & RTW_SSE_FLAG_STREAM_DATA);
  FUZZ_CHECK(piece != NULL && len > 0);
  /* Pieces never split a character: each one is valid UTF-8 on its own. */
  check_text(r, piece, len, 1);
  fuzz_log_raw(&r->pending, piece, len);
  return reply(r, 0);
}

static int on_discard(rtw_sse_parser *p, void *ud)
{
  run *r = ud;

  FUZZ_CHECK(p == r->p);
  FUZZ_CHECK(r->flags & RTW_SSE_FLAG_STREAM_DATA);
  r->discards++;
  fuzz_log_clear(&r->pending);
  if (r->discard_fails) {
    r->cb_failed = 1;
    return -1;
  }
  return reply(r, 0);
}

/* ------------------------------------------------------------------ driving */

/* After an API call: a refused allocation must surface as RTW_ERR_NOMEM, a failing callback
 * as RTW_ERR_CALLBACK_FAILURE, and recv() pauses exactly when a callback asked for it (end()
 * ignores a pause from on_discard). */
static void check_result(run *r, const fuzz_mem *fm, unsigned long failed_before, int rv,
                         int in_recv)
{
  if (fm->failed != failed_before)
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM);
  else if (r->cb_failed)
    FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE);
  else
    FUZZ_CHECK(rv != RTW_ERR_NOMEM && rv != RTW_ERR_CALLBACK_FAILURE);
  if (rv == RTW_ERR_PAUSE)
    FUZZ_CHECK(r->cb_paused);
  if (in_recv && r->cb_paused && rv == 0)
    fuzz_fail(__FILE__, __LINE__, "a callback paused but recv() returned 0");
  if (rv == RTW_ERR_SSE_EVENT_TOO_LARGE)
    r->too_large = 1;
  r->cb_failed = 0;
  r->cb_paused = 0;
}

/* A fatal error: it must be sticky. Logged so that the runs compare it too. */
static void fatal(run *r, int rv)
{
  size_t nread = 1;

  FUZZ_CHECK(rv < 0 && rv != RTW_ERR_PAUSE && rv != RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_parser_recv(r->p, "\n", 1, &nread) == rv);
  FUZZ_CHECK(nread == 0);
  fuzz_log_str(&r->log, "error=");
  fuzz_log_str(&r->log, rtw_err_name(rv));
  fuzz_log_str(&r->log, "\n");
}

static size_t piece_len(run *r, uint8_t seed, size_t left)
{
  static const size_t range[4] = {1, 8, 64, 0};
  size_t max = range[seed & 3u] ? range[seed & 3u] : left;

  if (max > left)
    max = left;
  return 1 + fuzz_rng_below(&r->rng, max);
}

/* Feed one stream; returns 0 or the fatal error met (then the rest is not fed). */
static int feed(run *r, fuzz_mem *fm, uint8_t seed, const uint8_t *s, size_t n)
{
  while (n > 0) {
    size_t piece = r->chunked ? piece_len(r, seed, n) : n;
    const uint8_t *q = s;
    size_t left = piece;
    while (left > 0) {
      unsigned long failed_before = fm->failed;
      size_t nread = (size_t)-1;
      int rv = rtw_sse_parser_recv(r->p, q, left, &nread);
      FUZZ_CHECK(nread <= left);
      check_result(r, fm, failed_before, rv, 1);
      if (rv == RTW_ERR_PAUSE) {
        FUZZ_CHECK(nread > 0); /* a pause follows a processed line: no endless loop */
        q += nread;
        left -= nread;
        continue;
      }
      if (rv != 0) {
        fatal(r, rv);
        return rv;
      }
      FUZZ_CHECK(nread == left);
      left = 0;
    }
    s += piece;
    n -= piece;
  }
  return 0;
}

/* End of one stream, then the checks that hold between streams. */
static void end_stream(run *r, fuzz_mem *fm, int err)
{
  unsigned long failed_before = fm->failed;
  const char *id = NULL;
  size_t id_len = 1;
  int rv = rtw_sse_parser_end(r->p);

  if (err != 0) {
    FUZZ_CHECK(rv == err); /* sticky */
  } else {
    check_result(r, fm, failed_before, rv, 0);
    FUZZ_CHECK(rv != RTW_ERR_PAUSE);
    if (rv != 0) {
      FUZZ_CHECK(rv == RTW_ERR_CALLBACK_FAILURE && r->discard_fails);
      fatal(r, rv);
      err = rv;
    }
    /* 9.2.6: pending data is discarded, and on_discard said so for streamed pieces. */
    FUZZ_CHECK(r->pending.len == 0);
  }
  FUZZ_CHECK(rtw_sse_parser_last_event_id(r->p, &id, &id_len) == 0);
  FUZZ_CHECK(id != NULL);
  FUZZ_CHECK(id_len == r->id.len && (id_len == 0 || memcmp(id, r->id.p, id_len) == 0));
  fuzz_log_str(&r->log, "end\n");
  if (err != 0) {
    /* Recover: reset() clears the sticky error and keeps the last event ID. */
    FUZZ_CHECK(rtw_sse_parser_reset(r->p, NULL, 0) == 0);
    fuzz_log_clear(&r->pending);
  }
}

/* Create the parser of a run (NULL settings when everything is default). `simd` is an
 * RTW__SSE_SIMD_* level, or -1 to keep the parser's own choice. */
static int create(run *r, const config *cf, uint32_t flags, size_t max_event, int simd,
                  fuzz_mem *fm)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};
  int plain = flags == 0 && cf->max_type == 0 && max_event == 0 && cf->max_id == 0 &&
              cf->max_comment == 0;
  static char poison;
  int rv;

  cb.on_event = on_event;
  cb.on_id = on_id;
  cb.on_retry = on_retry;
  cb.on_comment = (cf->h[0] & H_COMMENT) ? on_comment : NULL;
  cb.on_data = on_data;
  cb.on_discard = on_discard;
  st.flags = flags;
  st.max_type_length = cf->max_type;
  st.max_event_size = max_event;
  st.max_id_length = cf->max_id;
  st.max_comment_length = cf->max_comment;
  r->flags = flags;
  r->max_event = max_event ? max_event : RTW_SSE_DEFAULT_MAX_EVENT_SIZE;
  r->max_id = cf->max_id ? cf->max_id : RTW_SSE_DEFAULT_MAX_ID_LENGTH;
  r->max_type = cf->max_type ? cf->max_type : RTW_SSE_DEFAULT_MAX_TYPE_LENGTH;
  r->max_comment = cf->max_comment ? cf->max_comment : RTW_SSE_DEFAULT_MAX_COMMENT_LENGTH;
  r->p = (rtw_sse_parser *)(void *)&poison; /* must become a parser or NULL */
  rv = rtw_sse_parser_new(&r->p, &cb, plain ? NULL : &st, &fm->mem, r);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm->failed == 1);
    FUZZ_CHECK(r->p == NULL);
    return rv;
  }
  FUZZ_CHECK(r->p != NULL);
  FUZZ_CHECK(rtw_sse_parser_user_data(r->p) == r);
  if (simd >= 0) { /* a variant this CPU lacks leaves the parser as it was */
    rv = rtw__sse_parser_set_simd(r->p, simd);
    FUZZ_CHECK(rv == 0 || (rv == RTW_ERR_UNSUPPORTED && simd != RTW__SSE_SIMD_BASE));
  }
  return 0;
}

/* One complete run: create, optionally seed, feed one or two streams, free. */
static void parse(run *r, const config *cf, uint32_t flags, size_t max_event, int chunked,
                  int simd, const uint8_t *body, size_t len)
{
  fuzz_mem fm;
  size_t cut = (cf->h[0] & H_TWO) ? len / 2 : len;
  int err;

  memset(r, 0, sizeof *r);
  r->chunked = chunked;
  fuzz_rng_seed(&r->rng, (uint32_t)cf->h[4] << 8 | cf->h[5]);
  r->pause_chance = chunked ? cf->h[5] : 0;
  r->fail_cb_at = cf->h[7];
  r->discard_fails = (cf->h[0] & H_DISCARD_FAILS) != 0;
  r->nest = (cf->h[0] & H_NEST) != 0;
  fuzz_mem_init(&fm, chunked ? fuzz_mem_scheduled(cf->h[6]) : 0);
  if (chunked)
    fuzz_mem_mark_scheduled(&fm);
  if (create(r, cf, flags, max_event, simd, &fm) != 0) {
    fuzz_log_str(&r->log, "new failed\n");
    fuzz_mem_check_clean(&fm);
    r->alloc_failed = 1;
    return;
  }
  if (cf->h[0] & H_SEED) {
    unsigned long failed_before = fm.failed;
    int rv = rtw_sse_parser_reset(r->p, seed_id, sizeof seed_id - 1);
    if (rv == 0) {
      fuzz_log_raw(&r->id, seed_id, sizeof seed_id - 1);
    } else {
      /* Only a small max_id_length or a refused allocation can fail a valid seed. */
      FUZZ_CHECK(fuzz_mem_saw(rv) ==
                 (fm.failed != failed_before ? RTW_ERR_NOMEM : RTW_ERR_SSE_ID_TOO_LONG));
      FUZZ_CHECK(rv == RTW_ERR_NOMEM || sizeof seed_id - 1 > r->max_id);
      FUZZ_CHECK(rtw_sse_parser_reset(r->p, NULL, 0) == 0);
      {
        const char *id;
        size_t id_len;
        FUZZ_CHECK(rtw_sse_parser_last_event_id(r->p, &id, &id_len) == 0);
        fuzz_log_raw(&r->id, id, id_len);
      }
    }
    fuzz_log_str(&r->log, "seed=");
    fuzz_log_str(&r->log, rtw_err_name(rv));
    fuzz_log_str(&r->log, "\n");
  }
  err = feed(r, &fm, cf->h[4], body, cut);
  end_stream(r, &fm, err);
  if (cut < len) {
    err = feed(r, &fm, cf->h[4], body + cut, len - cut);
    end_stream(r, &fm, err);
  }
  rtw_sse_parser_free(r->p);
  fuzz_mem_check_clean(&fm);
  r->alloc_failed = fm.failed != 0;
}

static void read_config(config *cf, const uint8_t *data, size_t size)
{
  memset(cf, 0, sizeof *cf);
  if (size > 0)
    memcpy(cf->h, data, size < HEADER_LEN ? size : HEADER_LEN);
  if (cf->h[0] & H_STREAM)
    cf->flags |= RTW_SSE_FLAG_STREAM_DATA;
  if (cf->h[0] & H_RAW)
    cf->flags |= RTW_SSE_FLAG_RAW_BYTES;
  if (cf->h[0] & H_SMALL) {
    cf->max_type = 1u + cf->h[1];
    cf->max_event = 1u + cf->h[2];
    cf->max_id = 1u + cf->h[3] % 64u;
    cf->max_comment = 1u + (unsigned)(cf->h[1] ^ cf->h[3]) % 48u;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int a_simd[4] = {RTW__SSE_SIMD_BASE, RTW__SSE_SIMD_AVX2, RTW__SSE_SIMD_AVX512,
                                -1};
  run a, b, c;
  config cf;
  const uint8_t *body = size > HEADER_LEN ? data + HEADER_LEN : NULL;
  size_t len = size > HEADER_LEN ? size - HEADER_LEN : 0;

  memset(&c, 0, sizeof c);
  read_config(&cf, data, size);
  parse(&a, &cf, cf.flags, cf.max_event, 1, a_simd[cf.h[4] >> 2 & 3u], body, len);
  parse(&b, &cf, cf.flags, cf.max_event, 0, RTW__SSE_SIMD_BASE, body, len);
  if (!a.alloc_failed) {
    fuzz_log_expect_equal("pieces and pauses (A) vs whole input (B)", &b.log, &a.log);
    FUZZ_CHECK(a.discards == b.discards);
  }
  /* Buffered and streamed delivery agree unless a limit or on_discard separates them. */
  if (!b.too_large && !(cf.h[0] & H_DISCARD_FAILS)) {
    parse(&c, &cf, cf.flags ^ RTW_SSE_FLAG_STREAM_DATA, 0, 0, -1, body, len);
    fuzz_log_expect_equal("buffered vs streamed data (B vs C)", &b.log, &c.log);
  }
  fuzz_log_free(&a.log), fuzz_log_free(&a.pending), fuzz_log_free(&a.id);
  fuzz_log_free(&b.log), fuzz_log_free(&b.pending), fuzz_log_free(&b.id);
  fuzz_log_free(&c.log), fuzz_log_free(&c.pending), fuzz_log_free(&c.id);
  return 0;
}
