/* SPDX-License-Identifier: MIT */
/* libFuzzer target for SSE over HTTP/1.1, server side (rtw_sse_http_request_*, rtweb/http.h):
 * request bytes in random pieces with an allocation schedule, then everything a server does
 * with a parsed request: the accessors, resuming from a replay history, and building the
 * response head and chunks. */
/*
 * Input layout:
 *
 *   bytes 0-1  allocation schedule (fuzz_common.h), for the request parser
 *   byte 2     bit 0 small limits (bytes 3, 4); bit 1 a small history (evicts early);
 *              bit 2 echo the request's Origin in the response (Access-Control-Allow-Origin)
 *   byte 3     max_head_size = 16 + byte * 8 (with bit 0); events pushed = byte % 32
 *   byte 4     max_headers = byte % 16 + 1 (with bit 0)
 *   byte 5     piece-size seed (0: the whole input at once)
 *   rest       the bytes the connection receives
 *
 * Oracles (http.h, sse.h):
 * - the outcome is one rtw_sse_http_request_recv() documents; INCOMPLETE consumes every byte;
 *   outcomes are sticky (a second recv returns the same with nread 0); a refused allocation
 *   gives RTW_ERR_NOMEM, and RTW_ERR_NOMEM comes only from one; nothing leaks;
 * - the accessors refuse (RTW_ERR_INVALID_ARGUMENT) unless the outcome is DONE;
 * - after DONE: the bytes consumed over all calls end with LF and fit max_head_size, and a
 *   fresh parser fed exactly those bytes answers DONE on the last one (INCOMPLETE before);
 *   path and query are contiguous around one '?', the path holds none; the Last-Event-ID
 *   accessor agrees with the header lookup (any case) and never yields CR, LF or NUL; no
 *   Accept field means accepts() = 1;
 * - resume() against a history of events with ids "0", "1", ... agrees with a reference
 *   search of the retained ids (newest match; otherwise a gap at next_seq; no id: 1);
 * - the response head: the size query equals what is written, one byte less is
 *   RTW_ERR_BUFFER_TOO_SMALL, it has the documented start line, fields and framing (chunked
 *   exactly when the request allows it), and an echoed Origin is refused exactly when it
 *   holds a control character other than HTAB (RFC 9110 5.5);
 * - a chunk of the request bytes parses back to its length and data (RFC 9112 7.1);
 * - the split run without failures logs exactly what the whole run logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

typedef struct cfg {
  uint8_t flags, b3, b4, seed;
} cfg;

static int documented(int rv)
{
  switch (rv) {
  case RTW_SSE_HTTP_DONE: case RTW_ERR_HTTP_MALFORMED: case RTW_ERR_HTTP_HEAD_TOO_LARGE:
  case RTW_ERR_HTTP_TOO_MANY_HEADERS: case RTW_ERR_HTTP_BAD_METHOD: case RTW_ERR_HTTP_NO_HOST:
  case RTW_ERR_HTTP_UNEXPECTED_BODY: case RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID:
  case RTW_ERR_NOMEM:
    return 1;
  default:
    return 0;
  }
}

/* RFC 9110 5.5: a field value may not hold a CTL other than HTAB, nor DEL. */
static int value_sendable(const char *v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 1;
}

static void check_refused(const rtw_sse_http_request *req)
{
  const char *p;
  size_t n;
  uint64_t seq;

  FUZZ_CHECK(rtw_sse_http_request_path(req, &p, &n) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_query(req, &p, &n) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_last_event_id(req, &p, &n) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_header(req, "Host", 4, 0, &p, &n) ==
             RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_accepts(req) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_chunked(req) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_http_request_resume(req, NULL, &seq) == RTW_ERR_INVALID_ARGUMENT);
}

/* resume() against a reference search of a history holding ids "0".."count-1". */
static void check_resume(const rtw_sse_http_request *req, const cfg *cf, fuzz_log *log)
{
  rtw_sse_history *h;
  size_t count = cf->b3 % 32u, i, idl;
  size_t max_events = cf->flags & 2u ? 1u + cf->b4 % 8u : 64u;
  uint64_t seq = 77, first, next, want = 0;
  const char *id;
  char buf[16];
  int rv, has_id, found = 0;

  FUZZ_CHECK(rtw_sse_history_new(&h, max_events, 0, NULL) == 0);
  for (i = 0; i < count; i++) {
    int len = snprintf(buf, sizeof buf, "%zu", i);
    FUZZ_CHECK(rtw_sse_history_push(h, buf, (size_t)len, "data: x\n\n", 9, NULL) == 0);
  }
  first = rtw_sse_history_first_seq(h);
  next = rtw_sse_history_next_seq(h);
  FUZZ_CHECK(next == count && first <= next && next - first <= max_events);
  has_id = rtw_sse_http_request_last_event_id(req, &id, &idl) == 1;
  /* reference: the newest retained event whose id equals the client's, byte for byte */
  for (i = (size_t)first; has_id && i < (size_t)next; i++) {
    int len = snprintf(buf, sizeof buf, "%zu", i);
    if ((size_t)len == idl && memcmp(buf, id, idl) == 0) {
      found = 1;
      want = i + 1;
    }
  }
  rv = rtw_sse_http_request_resume(req, h, &seq);
  if (!has_id)
    FUZZ_CHECK(rv == 1);
  else if (found)
    FUZZ_CHECK(rv == 0 && seq == want);
  else
    FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_GAP && seq == next);
  fuzz_log_str(log, "resume ");
  fuzz_log_str(log, rv == 1 ? "new" : rv == 0 ? "ok" : "gap");
  fuzz_log_str(log, " ");
  fuzz_log_num(log, seq);
  fuzz_log_str(log, "\n");
  rtw_sse_history_free(h);
}

static void check_response(const rtw_sse_http_request *req, const cfg *cf, fuzz_log *log)
{
  rtw_http_header extra;
  const char *origin;
  size_t olen = 0, need = 0, got = 0, nh = 0;
  int chunked = rtw_sse_http_request_chunked(req), rv;
  uint32_t flags = chunked == 1 ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0;
  char *buf;
  const uint8_t *b, *end;

  FUZZ_CHECK(chunked == 0 || chunked == 1);
  if ((cf->flags & 4u) &&
      rtw_sse_http_request_header(req, "origin", 6, 0, &origin, &olen) == 1) {
    extra.name = "Access-Control-Allow-Origin";
    extra.name_len = 27;
    extra.value = origin;
    extra.value_len = olen;
    nh = 1;
  }
  rv = rtw_sse_http_response(NULL, 0, &need, flags, nh ? &extra : NULL, nh);
  if (nh && !value_sendable(origin, olen)) {
    FUZZ_CHECK(rv == RTW_ERR_HTTP_INVALID_HEADER && need == 0);
    fuzz_log_str(log, "response refused\n");
    return;
  }
  FUZZ_CHECK(rv == 0 && need > 0);
  buf = malloc(need);
  FUZZ_CHECK(buf != NULL);
  FUZZ_CHECK(rtw_sse_http_response(buf, need - 1, &got, flags, nh ? &extra : NULL, nh) ==
             RTW_ERR_BUFFER_TOO_SMALL);
  FUZZ_CHECK(rtw_sse_http_response(buf, need, &got, flags, nh ? &extra : NULL, nh) == 0);
  FUZZ_CHECK(got == need);
  b = (const uint8_t *)buf;
  end = fuzz_find(b, got, "\r\n\r\n");
  FUZZ_CHECK(end != NULL && end + 4 == b + got); /* one head, no body */
  FUZZ_CHECK(got > 17 && memcmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  FUZZ_CHECK(fuzz_find(b, got, "\r\nContent-Type: text/event-stream\r\n") != NULL);
  FUZZ_CHECK(fuzz_find(b, got, "\r\nCache-Control: no-store\r\n") != NULL);
  FUZZ_CHECK((fuzz_find(b, got, "\r\nTransfer-Encoding: chunked\r\n") != NULL) == (chunked == 1));
  FUZZ_CHECK((fuzz_find(b, got, "\r\nConnection: close\r\n") != NULL) == (chunked == 0));
  if (nh) {
    const uint8_t *f = fuzz_find(b, got, "\r\nAccess-Control-Allow-Origin: ");
    FUZZ_CHECK(f != NULL && (size_t)(b + got - (f + 31)) >= olen + 2);
    FUZZ_CHECK(memcmp(f + 31, origin, olen) == 0 && memcmp(f + 31 + olen, "\r\n", 2) == 0);
  }
  fuzz_log_str(log, "response ");
  fuzz_log_esc(log, buf, got);
  fuzz_log_str(log, "\n");
  free(buf);
}

/* RFC 9112 7.1: chunk = chunk-size CRLF chunk-data CRLF, chunk-size = 1*HEXDIG. */
static void check_chunk(const uint8_t *data, size_t len)
{
  size_t need = 99, got = 0, i, size = 0;
  char *buf;

  FUZZ_CHECK(rtw_sse_http_chunk(NULL, 0, &need, data, len) == 0);
  if (len == 0) {
    FUZZ_CHECK(need == 0); /* a zero-size chunk would end the stream */
    return;
  }
  FUZZ_CHECK(need <= len + RTW_SSE_HTTP_CHUNK_OVERHEAD);
  buf = malloc(need);
  FUZZ_CHECK(buf != NULL);
  FUZZ_CHECK(rtw_sse_http_chunk(buf, need - 1, &got, data, len) == RTW_ERR_BUFFER_TOO_SMALL);
  FUZZ_CHECK(got == need);
  FUZZ_CHECK(rtw_sse_http_chunk(buf, need, &got, data, len) == 0 && got == need);
  for (i = 0; i < got && buf[i] != '\r'; i++) {
    char c = buf[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    FUZZ_CHECK(d >= 0 && i < 16);
    size = size * 16u + (size_t)d;
  }
  FUZZ_CHECK(i > 0 && size == len && got == i + 2 + len + 2);
  FUZZ_CHECK(memcmp(buf + i, "\r\n", 2) == 0 && memcmp(buf + i + 2, data, len) == 0);
  FUZZ_CHECK(memcmp(buf + got - 2, "\r\n", 2) == 0);
  free(buf);
}

static void check_done(const rtw_sse_http_request *req, const cfg *cf, fuzz_log *log)
{
  const char *p, *q, *id, *h;
  size_t pl, ql, idl, hl;
  int rv, accepts;

  FUZZ_CHECK(rtw_sse_http_request_path(req, &p, &pl) == 1);
  FUZZ_CHECK(pl == 0 || memchr(p, '?', pl) == NULL);
  rv = rtw_sse_http_request_query(req, &q, &ql);
  FUZZ_CHECK(rv == 0 || rv == 1);
  if (rv == 1)
    FUZZ_CHECK(q == p + pl + 1 && q[-1] == '?');
  else
    FUZZ_CHECK(ql == 0);
  fuzz_log_str(log, "path ");
  fuzz_log_esc(log, p, pl);
  if (rv == 1) {
    fuzz_log_str(log, " query ");
    fuzz_log_esc(log, q, ql);
  }
  rv = rtw_sse_http_request_last_event_id(req, &id, &idl);
  FUZZ_CHECK(rv == 0 || rv == 1);
  if (rv == 1) {
    FUZZ_CHECK(idl > 0 && memchr(id, '\r', idl) == NULL && memchr(id, '\n', idl) == NULL &&
               memchr(id, '\0', idl) == NULL);
    FUZZ_CHECK(rtw_sse_http_request_header(req, "lAST-eVENT-id", 13, 0, &h, &hl) == 1);
    FUZZ_CHECK(h == id && hl == idl);
    FUZZ_CHECK(rtw_sse_http_request_header(req, "Last-Event-ID", 13, 1, &h, &hl) == 0);
    fuzz_log_str(log, " last ");
    fuzz_log_esc(log, id, idl);
  } else {
    FUZZ_CHECK(idl == 0);
    FUZZ_CHECK(rtw_sse_http_request_header(req, "Last-Event-ID", 13, 0, &h, &hl) == 0 ||
               hl == 0);
  }
  accepts = rtw_sse_http_request_accepts(req);
  FUZZ_CHECK(accepts == 0 || accepts == 1);
  if (rtw_sse_http_request_header(req, "Accept", 6, 0, &h, &hl) == 0)
    FUZZ_CHECK(accepts == 1); /* RFC 9110 12.5.1: no Accept field accepts anything */
  fuzz_log_str(log, accepts ? " accepts" : " refuses");
  fuzz_log_str(log, "\n");
  check_resume(req, cf, log);
  check_response(req, cf, log);
}

/* A fresh parser fed exactly the n head bytes answers DONE on the last byte. */
static void check_head_exact(const rtw_sse_http_request_settings *st, const uint8_t *head,
                             size_t n)
{
  rtw_sse_http_request *req;
  size_t nread;
  uint8_t *copy = malloc(n);

  FUZZ_CHECK(copy != NULL && n > 0);
  memcpy(copy, head, n);
  FUZZ_CHECK(rtw_sse_http_request_new(&req, st, NULL) == 0);
  FUZZ_CHECK(rtw_sse_http_request_recv(req, copy, n - 1, &nread) == RTW_SSE_HTTP_INCOMPLETE);
  FUZZ_CHECK(nread == n - 1);
  FUZZ_CHECK(rtw_sse_http_request_recv(req, copy + n - 1, 1, &nread) == RTW_SSE_HTTP_DONE);
  FUZZ_CHECK(nread == 1);
  rtw_sse_http_request_free(req);
  free(copy);
}

/* Returns whether an allocation was refused. */
static int run_one(fuzz_log *log, const cfg *cf, fuzz_mem *fm, int split, const uint8_t *in,
                   size_t len)
{
  rtw_sse_http_request_settings st = {RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION};
  rtw_sse_http_request *req = (rtw_sse_http_request *)(void *)&st;
  size_t max_head = RTW_HTTP_DEFAULT_MAX_HEAD_SIZE, consumed = 0, nread;
  fuzz_rng rng;
  int rv;

  if (cf->flags & 1u) {
    st.max_head_size = max_head = 16u + (size_t)cf->b3 * 8u;
    st.max_headers = cf->b4 % 16u + 1u;
  }
  rv = rtw_sse_http_request_new(&req, &st, &fm->mem);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm->failed > 0 && req == NULL);
    fuzz_log_str(log, "new failed\n");
    return 1;
  }
  check_refused(req);
  fuzz_rng_seed(&rng, cf->seed);
  rv = RTW_SSE_HTTP_INCOMPLETE;
  while (consumed < len) {
    size_t left = len - consumed;
    size_t k = split && cf->seed ? 1 + fuzz_rng_below(&rng, left < 200 ? left : 200) : left;
    rv = fuzz_mem_saw(rtw_sse_http_request_recv(req, in + consumed, k, &nread));
    FUZZ_CHECK(nread <= k);
    consumed += nread;
    if (rv != RTW_SSE_HTTP_INCOMPLETE)
      break;
    FUZZ_CHECK(nread == k);
  }
  fuzz_log_str(log, rtw_err_name(rv));
  fuzz_log_str(log, " ");
  fuzz_log_num(log, consumed);
  fuzz_log_str(log, "\n");
  if (rv != RTW_SSE_HTTP_INCOMPLETE) {
    size_t n2 = 99;
    FUZZ_CHECK(documented(rv));
    FUZZ_CHECK(rtw_sse_http_request_recv(req, "x", 1, &n2) == rv && n2 == 0);
  }
  FUZZ_CHECK((rv == RTW_ERR_NOMEM) == (fm->failed > 0));
  if (rv == RTW_SSE_HTTP_DONE) {
    FUZZ_CHECK(consumed > 0 && consumed <= max_head && in[consumed - 1] == '\n');
    if (!split)
      check_head_exact(&st, in, consumed);
    check_done(req, cf, log);
    check_chunk(in, consumed);
  } else {
    check_refused(req);
  }
  rtw_sse_http_request_free(req);
  return fm->failed != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  fuzz_mem fa, fb;
  fuzz_log la, lb;
  cfg cf;
  int failed;

  in.p = data;
  in.n = size;
  fuzz_mem_init_schedule(&fa, &in);
  cf.flags = fuzz_u8(&in);
  cf.b3 = fuzz_u8(&in);
  cf.b4 = fuzz_u8(&in);
  cf.seed = fuzz_u8(&in);
  memset(&la, 0, sizeof la);
  memset(&lb, 0, sizeof lb);
  failed = run_one(&la, &cf, &fa, 1, in.p, in.n);
  fuzz_mem_check_clean(&fa);
  fuzz_mem_init(&fb, 0);
  run_one(&lb, &cf, &fb, 0, in.p, in.n);
  fuzz_mem_check_clean(&fb);
  if (!failed)
    fuzz_log_expect_equal("split vs whole", &lb, &la);
  fuzz_log_free(&la);
  fuzz_log_free(&lb);
  return 0;
}
