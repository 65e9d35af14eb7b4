/* SPDX-License-Identifier: MIT */
/* libFuzzer target for SSE over HTTP/1.1, client side (rtw_sse_http_client_*, rtweb/http.h):
 * raw responses, or a valid response head around a fuzzed event stream framed by
 * Content-Length, chunked coding or the connection's close; fed in random pieces, with an
 * allocation schedule shared by the client and its parser. */
/*
 * Input layout:
 *
 *   bytes 0-1  allocation schedule (fuzz_common.h), for the client and the parser
 *   byte 2     bits 0-1 mode: 0 raw response bytes, 1 close-delimited body, 2 Content-Length,
 *              3 chunked (chunk sizes from the piece seed); bit 2 small limits (head 256,
 *              8 headers, parser lines 64, events 256), bit 3 call end() when the input is
 *              over, bit 4 send a Last-Event-ID, bit 5 framed modes: 2 bytes of garbage after
 *              the body
 *   byte 3     piece-size seed (0: whole)
 *   rest       raw mode: the response; other modes: the event stream (the body)
 *
 * Oracles (http.h): outcomes are the documented ones; INCOMPLETE consumes everything; DONE
 * comes once, with status 200, and the rest is body; END, NO_CONTENT, REDIRECT and errors
 * are sticky (nread 0 after); REDIRECT has a Location; NO_CONTENT is status 204. Framed
 * modes: the events the parser receives equal those of a second parser fed the body directly
 * (same settings), the outcome is END exactly when the body is complete (Content-Length
 * reached, last chunk) with the bytes after the body left unconsumed, and end() on a
 * close-delimited body gives END, on an unfinished framed body RTW_ERR_HTTP_TRUNCATED_BODY;
 * a parser error comes out of recv unchanged. A refused allocation gives RTW_ERR_NOMEM and
 * nothing leaks; the split run without failures logs exactly what the whole run logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/http.h"
#include "rtweb/sse.h"

enum { M_RAW = 0, M_CLOSE = 1, M_LENGTH = 2, M_CHUNKED = 3 };

typedef struct cfg {
  uint8_t flags, seed;
} cfg;

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *ud)
{
  const char *type = ev->type, *data = ev->data, *id = ev->id;
  size_t type_len = ev->type_len, data_len = ev->data_len, id_len = ev->id_len;
  fuzz_log *l = ud;
  (void)p;
  fuzz_log_str(l, "event ");
  fuzz_log_esc(l, type, type_len);
  fuzz_log_str(l, " ");
  fuzz_log_esc(l, data, data_len);
  fuzz_log_str(l, " ");
  fuzz_log_esc(l, id, id_len);
  fuzz_log_str(l, "\n");
  return 0;
}

static int on_retry(rtw_sse_parser *p, uint32_t ms, void *ud)
{
  (void)p;
  fuzz_log_str(ud, "retry ");
  fuzz_log_num(ud, ms);
  fuzz_log_str(ud, "\n");
  return 0;
}

static int new_parser(const cfg *cf, const rtw_mem *mem, fuzz_log *log, rtw_sse_parser **p)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_settings st = {RTW_SSE_SETTINGS_VERSION};

  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (cf->flags & 4u) {
    st.max_type_length = 64;
    st.max_event_size = 256;
  }
  return rtw_sse_parser_new(p, &cb, &st, mem, log);
}

/* The response for the framed modes: a valid head, then the body framed as asked. */
static void frame(const cfg *cf, const uint8_t *body, size_t n, fuzz_log *out, size_t *head_len,
                  size_t *framed_len)
{
  int mode = cf->flags & 3;
  char tmp[64];

  fuzz_log_str(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n");
  if (mode == M_LENGTH) {
    snprintf(tmp, sizeof tmp, "Content-Length: %zu\r\n", n);
    fuzz_log_str(out, tmp);
  } else if (mode == M_CHUNKED) {
    fuzz_log_str(out, "Transfer-Encoding: chunked\r\n");
  }
  fuzz_log_str(out, "\r\n");
  *head_len = out->len;
  if (mode == M_CHUNKED) {
    fuzz_rng rng;
    size_t off = 0;
    fuzz_rng_seed(&rng, cf->seed ^ 0x55u);
    while (off < n) {
      size_t k = 1 + fuzz_rng_below(&rng, 40);
      if (k > n - off)
        k = n - off;
      snprintf(tmp, sizeof tmp, "%zx%s\r\n", k, (k & 1) ? ";ext=1" : "");
      fuzz_log_str(out, tmp);
      fuzz_log_raw(out, body + off, k);
      fuzz_log_str(out, "\r\n");
      off += k;
    }
    fuzz_log_str(out, "0\r\nTrailer-Field: x\r\n\r\n");
  } else {
    fuzz_log_raw(out, body, n);
  }
  *framed_len = out->len;
  if (mode != M_CLOSE && (cf->flags & 0x20u))
    fuzz_log_str(out, "GG");
}

static int contains(const void *h, size_t hn, const char *needle)
{
  size_t n = strlen(needle), i;
  for (i = 0; n <= hn && i <= hn - n; i++)
    if (memcmp((const char *)h + i, needle, n) == 0)
      return 1;
  return 0;
}

/* rtw_err_name() for errors, the outcome's name otherwise. */
static const char *name(int rv)
{
  switch (rv) {
  case RTW_SSE_HTTP_INCOMPLETE: return "INCOMPLETE";
  case RTW_SSE_HTTP_DONE: return "DONE";
  case RTW_SSE_HTTP_END: return "END";
  case RTW_SSE_HTTP_NO_CONTENT: return "NO_CONTENT";
  case RTW_SSE_HTTP_REDIRECT: return "REDIRECT";
  default: return rtw_err_name(rv);
  }
}

static int is_documented(int rv)
{
  switch (rv) {
  case RTW_SSE_HTTP_INCOMPLETE: case RTW_SSE_HTTP_DONE: case RTW_SSE_HTTP_END:
  case RTW_SSE_HTTP_NO_CONTENT: case RTW_SSE_HTTP_REDIRECT:
  case RTW_ERR_HTTP_SSE_BAD_STATUS: case RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE:
  case RTW_ERR_HTTP_MALFORMED: case RTW_ERR_HTTP_HEAD_TOO_LARGE:
  case RTW_ERR_HTTP_TOO_MANY_HEADERS: case RTW_ERR_NOMEM:
  case RTW_ERR_SSE_TYPE_TOO_LONG: case RTW_ERR_SSE_EVENT_TOO_LARGE: case RTW_ERR_SSE_ID_TOO_LONG:
  case RTW_ERR_INVALID_UTF8:
    return 1;
  default:
    return 0;
  }
}

typedef struct result {
  int rv;          /* last recv outcome */
  int end_rv;      /* end()'s, or 1 when not called */
  size_t consumed; /* bytes taken over all calls */
  int opened;
} result;

static void run_one(const cfg *cf, fuzz_mem *fm, int split, const uint8_t *in, size_t len,
                    fuzz_log *log, result *res)
{
  rtw_sse_http_client_settings st = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  rtw_sse_http_client *c = NULL;
  rtw_sse_parser *p = NULL;
  fuzz_rng rng;
  size_t off = 0;
  int rv;

  memset(res, 0, sizeof *res);
  res->end_rv = 1;
  st.host = "example.com";
  st.host_len = 11;
  st.path = "/events";
  st.path_len = 7;
  if (cf->flags & 0x10u) {
    st.last_event_id = "41";
    st.last_event_id_len = 2;
  }
  if (cf->flags & 4u) {
    st.max_head_size = 256;
    st.max_headers = 8;
  }
  rv = new_parser(cf, &fm->mem, log, &p);
  if (rv == 0)
    rv = rtw_sse_http_client_new(&c, &st, p, &fm->mem);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm->failed > 0 && c == NULL);
    rtw_sse_parser_free(p);
    fuzz_log_str(log, "new failed\n");
    res->rv = rv;
    return;
  }
  {
    const void *req;
    size_t rl;
    FUZZ_CHECK(rtw_sse_http_client_request(c, &req, &rl) == 0);
    FUZZ_CHECK(rl > 4 && memcmp(req, "GET /events HTTP/1.1\r\n", 22) == 0);
    FUZZ_CHECK(((cf->flags & 0x10u) != 0) == contains(req, rl, "\r\nLast-Event-ID: 41\r\n"));
  }
  fuzz_rng_seed(&rng, cf->seed);
  rv = RTW_SSE_HTTP_INCOMPLETE;
  while (off < len || rv == RTW_SSE_HTTP_DONE) {
    /* after DONE, recv is called again even with nothing left (an empty body ends there) */
    size_t k = split && cf->seed && off < len
                   ? 1 + fuzz_rng_below(&rng, len - off < 100 ? len - off : 100)
                   : len - off, nread;
    unsigned long failed0 = fm->failed;
    rv = rtw_sse_http_client_recv(c, in + off, k, &nread);
    FUZZ_CHECK(is_documented(rv));
    FUZZ_CHECK(nread <= k);
    if (fm->failed != failed0)
      FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM);
    else
      FUZZ_CHECK(rv != RTW_ERR_NOMEM);
    off += nread;
    if (rv == RTW_SSE_HTTP_DONE) {
      FUZZ_CHECK(!res->opened);
      res->opened = 1;
      FUZZ_CHECK(rtw_sse_http_client_status(c) == 200);
      fuzz_log_str(log, "open head=");
      fuzz_log_num(log, off);
      fuzz_log_str(log, "\n");
      continue;
    }
    if (rv != RTW_SSE_HTTP_INCOMPLETE)
      break;
    FUZZ_CHECK(nread == k);
  }
  res->rv = rv;
  res->consumed = off;
  if (rv != RTW_SSE_HTTP_INCOMPLETE && rv != RTW_SSE_HTTP_DONE) {
    size_t n2 = 9;
    FUZZ_CHECK(rtw_sse_http_client_recv(c, "x", 1, &n2) == rv && n2 == 0);
    FUZZ_CHECK(rtw_sse_http_client_end(c) == rv);
  }
  if (rv == RTW_SSE_HTTP_NO_CONTENT)
    FUZZ_CHECK(rtw_sse_http_client_status(c) == 204);
  if (rv == RTW_SSE_HTTP_REDIRECT) {
    const char *loc;
    size_t ll;
    FUZZ_CHECK(rtw_sse_http_client_location(c, &loc, &ll) == 1);
  }
  if (rv == RTW_ERR_HTTP_SSE_BAD_STATUS)
    FUZZ_CHECK(rtw_sse_http_client_status(c) != 200);
  if ((cf->flags & 8u) && (rv == RTW_SSE_HTTP_INCOMPLETE || rv == RTW_SSE_HTTP_DONE)) {
    unsigned long failed0 = fm->failed;
    res->end_rv = rtw_sse_http_client_end(c);
    FUZZ_CHECK(res->end_rv == RTW_SSE_HTTP_END || res->end_rv == RTW_ERR_HTTP_TRUNCATED_BODY ||
               res->end_rv == RTW_ERR_HTTP_MALFORMED || res->end_rv < 0);
    if (fm->failed != failed0)
      FUZZ_CHECK(fuzz_mem_saw(res->end_rv) == RTW_ERR_NOMEM);
    if (!res->opened)
      FUZZ_CHECK(res->end_rv == RTW_ERR_HTTP_MALFORMED);
    FUZZ_CHECK(rtw_sse_http_client_end(c) == res->end_rv); /* sticky */
  }
  fuzz_log_str(log, name(rv));
  fuzz_log_str(log, " end=");
  fuzz_log_str(log, res->end_rv == 1 ? "-" : name(res->end_rv));
  fuzz_log_str(log, " status=");
  fuzz_log_num(log, (unsigned long long)rtw_sse_http_client_status(c));
  fuzz_log_str(log, "\n");
  rtw_sse_http_client_free(c);
  rtw_sse_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  fuzz_mem fa, fb;
  cfg cf;
  fuzz_log la = {NULL, 0, 0}, lb = {NULL, 0, 0}, resp = {NULL, 0, 0};
  const uint8_t *r;
  size_t rlen, head_len = 0, framed_len = 0;
  result ra, rb;
  int mode;

  in.p = data;
  in.n = size;
  fuzz_mem_init_schedule(&fa, &in);
  cf.flags = fuzz_u8(&in);
  cf.seed = fuzz_u8(&in);
  mode = cf.flags & 3;
  if (mode == M_RAW) {
    r = in.p;
    rlen = in.n;
  } else {
    frame(&cf, in.p, in.n, &resp, &head_len, &framed_len);
    r = (const uint8_t *)resp.p;
    rlen = resp.len;
  }
  run_one(&cf, &fa, 1, r, rlen, &la, &ra);
  fuzz_mem_check_clean(&fa);
  fuzz_mem_init(&fb, 0);
  run_one(&cf, &fb, 0, r, rlen, &lb, &rb);
  fuzz_mem_check_clean(&fb);
  if (fa.failed == 0)
    fuzz_log_expect_equal("split vs whole", &lb, &la);

  if (mode != M_RAW) {
    /* the reference: the body straight into a parser */
    fuzz_log ref = {NULL, 0, 0};
    rtw_sse_parser *p;
    size_t off = 0, nread;
    int prv = 0, want;
    char tmp[32];

    snprintf(tmp, sizeof tmp, "open head=%zu\n", head_len);
    fuzz_log_str(&ref, tmp);
    FUZZ_CHECK(new_parser(&cf, NULL, &ref, &p) == 0);
    while (off < in.n) {
      prv = rtw_sse_parser_recv(p, in.p + off, in.n - off, &nread);
      off += nread;
      if (prv != 0 && prv != RTW_ERR_PAUSE)
        break;
      prv = 0;
    }
    if (prv != 0) {
      want = prv;
    } else if (mode == M_CLOSE) {
      want = RTW_SSE_HTTP_INCOMPLETE;
    } else {
      want = RTW_SSE_HTTP_END;
    }
    if (want == RTW_SSE_HTTP_END || ((cf.flags & 8u) && want == RTW_SSE_HTTP_INCOMPLETE)) {
      int e = rtw_sse_parser_end(p);
      if (e < 0 && want == RTW_SSE_HTTP_END)
        want = e;
    }
    rtw_sse_parser_free(p);
    fuzz_log_str(&ref, name(want));
    fuzz_log_str(&ref, " end=");
    if ((cf.flags & 8u) && want == RTW_SSE_HTTP_INCOMPLETE)
      fuzz_log_str(&ref, "END"); /* a close-delimited body ends at the close */
    else
      fuzz_log_str(&ref, "-");
    fuzz_log_str(&ref, " status=200\n");
    fuzz_log_expect_equal("client vs parser alone", &ref, &lb);
    if (rb.rv == RTW_SSE_HTTP_END)
      FUZZ_CHECK(rb.consumed == framed_len);
    fuzz_log_free(&ref);
  }
  fuzz_log_free(&resp);
  fuzz_log_free(&la);
  fuzz_log_free(&lb);
  return 0;
}
