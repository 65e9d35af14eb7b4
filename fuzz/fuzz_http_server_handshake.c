/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the server side of the WebSocket opening handshake
 * (rtw_ws_handshake_server_*, rtweb/http.h): request bytes in random pieces, an on_upgrade
 * decision from the input, an allocation schedule, pipelined requests. */
/*
 * Input layout:
 *
 *   bytes 0-1  allocation schedule (fuzz_common.h: "fail the Nth" or a bitmask)
 *   byte 2     bit 0 small limits (bytes 3, 4), bit 1 an on_upgrade callback,
 *              bits 2-3 its answer (0 accept, 1 reject with status 300 + byte 4 % 300,
 *              2 fail (-1), 3 RTW_ERR_NOMEM), bit 4 select the first subprotocol offered,
 *              bit 5 accept the first extension offered, bit 6 add a response field,
 *              bit 7 after DONE or PLAIN_REQUEST reset and parse what follows (up to 4)
 *   byte 3     max_head_size = 16 + byte * 8 (with bit 0)
 *   byte 4     max_headers = byte % 16 + 1 (with bit 0); reject status
 *   byte 5     piece-size seed (0: the whole input at once)
 *   rest       the bytes the connection receives
 *
 * Oracles (http.h):
 * - the outcome is one http.h documents; INCOMPLETE consumes everything; outcomes are sticky
 *   (a second recv returns the same with nread 0);
 * - a response exists exactly for DONE and the errors other than RTW_ERR_NOMEM; its status
 *   is the documented one (101; 400; 426 for a bad version; 431 for the head limits; the
 *   rejecting status; 500 for a failing callback), its status line says so, an error response
 *   carries `Connection: close` and a Content-Length equal to its body, a 101 response the
 *   Sec-WebSocket-Accept for the request's key and only a subprotocol that was offered;
 * - bytes-after-head accounting: after DONE or PLAIN_REQUEST the bytes consumed over all
 *   calls end with LF, fit max_head_size, and a fresh handshake fed exactly those bytes
 *   answers the same with nread equal to them, while one byte less is INCOMPLETE;
 * - the accessors agree with each other (header_at / header, subprotocol_count /
 *   subprotocol, path + query = target) and header_count <= max_headers;
 * - a refused allocation gives RTW_ERR_NOMEM (from new() or recv(), possibly passed on by
 *   on_upgrade), and nothing leaks; the split run without failures gives the same outcome,
 *   status, response and consumed bytes as the same input fed whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/http.h"

#define MAX_REQUESTS 4

typedef struct cfg {
  uint8_t flags, b3, b4, seed;
} cfg;

typedef struct run {
  const cfg *cf;
  int cb_nomem;   /* a decision call answered RTW_ERR_NOMEM */
  int cb_calls;
  int chose_subprotocol; /* on_upgrade selected the first subprotocol offered */
  fuzz_log log;   /* outcomes, statuses, responses, consumed counts */
} run;

static int is_error_with_response(int rv)
{
  switch (rv) {
  case RTW_ERR_HTTP_MALFORMED: case RTW_ERR_HTTP_HEAD_TOO_LARGE:
  case RTW_ERR_HTTP_TOO_MANY_HEADERS: case RTW_ERR_HTTP_BAD_METHOD:
  case RTW_ERR_HTTP_BAD_VERSION: case RTW_ERR_HTTP_NO_HOST: case RTW_ERR_HTTP_WS_NO_UPGRADE:
  case RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE: case RTW_ERR_HTTP_WS_BAD_VERSION:
  case RTW_ERR_HTTP_WS_BAD_KEY: case RTW_ERR_HTTP_UNEXPECTED_BODY: case RTW_ERR_HTTP_REJECTED:
  case RTW_ERR_CALLBACK_FAILURE:
    return 1;
  default:
    return 0;
  }
}

static int expected_status(const cfg *cf, int rv)
{
  switch (rv) {
  case RTW_WS_HANDSHAKE_DONE: return 101;
  case RTW_ERR_HTTP_HEAD_TOO_LARGE: case RTW_ERR_HTTP_TOO_MANY_HEADERS: return 431;
  case RTW_ERR_HTTP_WS_BAD_VERSION: return 426;
  case RTW_ERR_CALLBACK_FAILURE: return 500;
  case RTW_ERR_HTTP_REJECTED: return 300 + cf->b4 % 300;
  default: return 400;
  }
}

static int on_upgrade(rtw_ws_handshake_server *hs, void *ud)
{
  run *r = ud;
  const cfg *cf = r->cf;
  const char *v;
  size_t n;
  int rv;

  r->cb_calls++;
  /* decisions: each 0, RTW_ERR_NOMEM, or a documented refusal */
  if (cf->flags & 0x10) {
    /* (a refused choice clears the previous one, so it goes first) */
    rv = rtw_ws_handshake_server_select_subprotocol(hs, "\x01not-offered", 12);
    FUZZ_CHECK(rv == RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED);
    if (rtw_ws_handshake_server_subprotocol(hs, 0, &v, &n) == 1) {
      rv = rtw_ws_handshake_server_select_subprotocol(hs, v, n);
      FUZZ_CHECK(rv == 0 || rv == RTW_ERR_NOMEM);
      r->cb_nomem |= rv == RTW_ERR_NOMEM;
      if (rv == 0)
        r->chose_subprotocol = 1;
    }
  }
  if ((cf->flags & 0x20) && rtw_ws_handshake_server_extension(hs, 0, &v, &n) == 1) {
    size_t k = 0;
    while (k < n && v[k] != ';' && v[k] != ' ' && v[k] != '\t')
      k++;
    rv = rtw_ws_handshake_server_set_extensions(hs, v, k);
    FUZZ_CHECK(rv == 0 || rv == RTW_ERR_NOMEM || rv == RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED ||
               rv == RTW_ERR_HTTP_INVALID_HEADER);
    r->cb_nomem |= rv == RTW_ERR_NOMEM;
  }
  if (cf->flags & 0x40) {
    rv = rtw_ws_handshake_server_add_header(hs, "X-Fuzz", 6, "yes", 3);
    FUZZ_CHECK(rv == 0 || rv == RTW_ERR_NOMEM);
    r->cb_nomem |= rv == RTW_ERR_NOMEM;
    FUZZ_CHECK(rtw_ws_handshake_server_add_header(hs, "Upgrade", 7, "x", 1) ==
               RTW_ERR_HTTP_INVALID_HEADER);
    FUZZ_CHECK(rtw_ws_handshake_server_add_header(hs, "X-Bad", 5, "a\r\nb", 4) ==
               RTW_ERR_HTTP_INVALID_HEADER);
  }
  if (r->cb_nomem)
    return RTW_ERR_NOMEM; /* as http.h suggests: pass it on */
  switch (cf->flags >> 2 & 3u) {
  case 0: return 0;
  case 1: return 300 + cf->b4 % 300;
  case 2: return -1;
  default: return RTW_ERR_NOMEM;
  }
}

/* RFC 9110 5.6.2: token = 1*tchar */
static int is_token(const char *p, size_t n)
{
  size_t i;
  if (n == 0)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
      return 0;
  }
  return 1;
}

static void check_accessors(const rtw_ws_handshake_server *hs, size_t max_headers)
{
  size_t i, n = rtw_ws_handshake_server_header_count(hs), nl, vl, pl, ql;
  const char *name, *val, *v2, *p, *q;

  FUZZ_CHECK(n <= max_headers);
  for (i = 0; i < n; i++) {
    size_t j, idx = 0;
    FUZZ_CHECK(rtw_ws_handshake_server_header_at(hs, i, &name, &nl, &val, &vl) == 1);
    FUZZ_CHECK(is_token(name, nl)); /* RFC 9110 5.1; RFC 9112 5.1: no space before ':' */
    /* the same line is found by name, at its index among lines of that name */
    for (j = 0; j < i; j++) {
      const char *n2, *x;
      size_t n2l, xl, c;
      int same = 1;
      rtw_ws_handshake_server_header_at(hs, j, &n2, &n2l, &x, &xl);
      if (n2l != nl)
        continue;
      for (c = 0; c < nl; c++)
        if ((n2[c] | 0x20) != (name[c] | 0x20))
          same = 0;
      idx += (size_t)same;
    }
    FUZZ_CHECK(rtw_ws_handshake_server_header(hs, name, nl, idx, &v2, &vl) == 1);
    FUZZ_CHECK(v2 == val);
    FUZZ_CHECK(vl == 0 || (val[0] != ' ' && val[0] != '\t' && val[vl - 1] != ' ' &&
                           val[vl - 1] != '\t'));
  }
  FUZZ_CHECK(rtw_ws_handshake_server_header_at(hs, n, &name, &nl, &val, &vl) == 0);
  n = rtw_ws_handshake_server_subprotocol_count(hs);
  for (i = 0; i < n; i++)
    FUZZ_CHECK(rtw_ws_handshake_server_subprotocol(hs, i, &name, &nl) == 1 && nl > 0);
  FUZZ_CHECK(rtw_ws_handshake_server_subprotocol(hs, n, &name, &nl) == 0);
  n = rtw_ws_handshake_server_extension_count(hs);
  for (i = 0; i < n; i++)
    FUZZ_CHECK(rtw_ws_handshake_server_extension(hs, i, &name, &nl) == 1);
  FUZZ_CHECK(rtw_ws_handshake_server_extension(hs, n, &name, &nl) == 0);
  FUZZ_CHECK(rtw_ws_handshake_server_method(hs, &name, &nl) == 1 && nl > 0);
  FUZZ_CHECK(rtw_ws_handshake_server_path(hs, &p, &pl) == 1);
  if (rtw_ws_handshake_server_query(hs, &q, &ql) == 1)
    FUZZ_CHECK(q == p + pl + 1); /* path ? query, contiguous */
  else
    FUZZ_CHECK(ql == 0);
}

/* rtw_ws_handshake_server_plain_request(): a view exactly after PLAIN_REQUEST, sharing the
 * server's parse (the same spans), with an outcome rtw_sse_http_request_recv() documents. */
static void check_plain_view(const rtw_ws_handshake_server *hs, int rv)
{
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(hs);
  const char *p1, *p2;
  size_t l1, l2;
  int out, a1, b1, a2, b2;

  FUZZ_CHECK((req != NULL) == (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST));
  if (req == NULL)
    return;
  out = rtw_sse_http_request_outcome(req);
  FUZZ_CHECK(out == RTW_SSE_HTTP_DONE || out == RTW_ERR_HTTP_BAD_METHOD ||
             out == RTW_ERR_HTTP_NO_HOST || out == RTW_ERR_HTTP_UNEXPECTED_BODY ||
             out == RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID);
  if (out != RTW_SSE_HTTP_DONE) {
    FUZZ_CHECK(rtw_sse_http_request_path(req, &p1, &l1) == RTW_ERR_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(rtw_sse_http_request_path(req, &p1, &l1) == 1);
  FUZZ_CHECK(rtw_ws_handshake_server_path(hs, &p2, &l2) == 1);
  FUZZ_CHECK(p1 == p2 && l1 == l2);
  FUZZ_CHECK(rtw_sse_http_request_version(req, &a1, &b1) == 0);
  FUZZ_CHECK(rtw_ws_handshake_server_version(hs, &a2, &b2) == 1);
  FUZZ_CHECK(a1 == a2 && b1 == b2);
  FUZZ_CHECK(rtw_sse_http_request_chunked(req) == (a1 * 10 + b1 >= 11));
}

/* The response for outcome rv against http.h. */
static void check_response(const rtw_ws_handshake_server *hs, const cfg *cf, int rv)
{
  const void *d;
  const uint8_t *resp, *end, *cl;
  size_t len;
  int status = rtw_ws_handshake_server_status(hs);
  char line[64];

  if (rv == RTW_WS_HANDSHAKE_DONE || is_error_with_response(rv)) {
    FUZZ_CHECK(rtw_ws_handshake_server_response(hs, &d, &len) == 0);
    resp = d;
    FUZZ_CHECK(status == expected_status(cf, rv));
    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    FUZZ_CHECK(len > strlen(line) && memcmp(resp, line, strlen(line)) == 0);
    end = fuzz_find(resp, len, "\r\n\r\n");
    FUZZ_CHECK(end != NULL);
    if (rv == RTW_WS_HANDSHAKE_DONE) {
      const char *key, *sp;
      size_t kl, spl;
      char acc[RTW_WS_ACCEPT_LEN], want[64];
      FUZZ_CHECK(end + 4 == resp + len); /* no body */
      FUZZ_CHECK(rtw_ws_handshake_server_header(hs, "Sec-WebSocket-Key", 17, 0, &key, &kl) == 1);
      FUZZ_CHECK(kl == RTW_WS_KEY_LEN);
      FUZZ_CHECK(rtw_ws_handshake_accept_value(key, kl, acc) == 0);
      memcpy(want, "\r\nSec-WebSocket-Accept: ", 24);
      memcpy(want + 24, acc, sizeof acc);
      memcpy(want + 24 + sizeof acc, "\r\n", 3);
      FUZZ_CHECK(fuzz_find(resp, len, want) != NULL);
      sp = (const char *)fuzz_find(resp, len, "\r\nSec-WebSocket-Protocol: ");
      if (sp != NULL) {
        size_t i, n = rtw_ws_handshake_server_subprotocol_count(hs);
        int offered = 0;
        sp += 26;
        spl = (size_t)((const char *)fuzz_find((const uint8_t *)sp, len - (size_t)((const uint8_t *)sp - resp), "\r\n") - sp);
        for (i = 0; i < n; i++) {
          const char *o;
          size_t ol;
          rtw_ws_handshake_server_subprotocol(hs, i, &o, &ol);
          offered |= ol == spl && memcmp(o, sp, ol) == 0;
        }
        FUZZ_CHECK(offered);
      }
    } else {
      unsigned long body;
      FUZZ_CHECK(fuzz_find(resp, (size_t)(end - resp) + 2, "\r\nConnection: close\r\n") != NULL ||
                 (status == 426 &&
                  fuzz_find(resp, (size_t)(end - resp) + 2, "\r\nConnection: Upgrade, close\r\n")));
      if (status == 426)
        FUZZ_CHECK(fuzz_find(resp, len, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
      cl = fuzz_find(resp, len, "\r\nContent-Length: ");
      FUZZ_CHECK(cl != NULL && cl < end);
      body = strtoul((const char *)cl + 18, NULL, 10);
      FUZZ_CHECK(body == len - (size_t)(end + 4 - resp));
    }
  } else {
    FUZZ_CHECK(rtw_ws_handshake_server_response(hs, &d, &len) == RTW_ERR_INVALID_STATE);
    FUZZ_CHECK(len == 0 && status == 0);
  }
}

static void log_outcome(run *r, const rtw_ws_handshake_server *hs, int rv, size_t consumed)
{
  const void *d;
  size_t len;

  fuzz_log_str(&r->log, rtw_err_name(rv));
  fuzz_log_str(&r->log, " status=");
  fuzz_log_num(&r->log, (unsigned long long)rtw_ws_handshake_server_status(hs));
  if (rv == RTW_WS_HANDSHAKE_DONE || rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    fuzz_log_str(&r->log, " head=");
    fuzz_log_num(&r->log, consumed);
  }
  if (rtw_ws_handshake_server_response(hs, &d, &len) == 0) {
    fuzz_log_str(&r->log, " ");
    fuzz_log_esc(&r->log, d, len);
  }
  fuzz_log_str(&r->log, "\n");
}

/* A fresh handshake fed exactly `n` bytes answers `want`; n - 1 bytes is INCOMPLETE. */
static void check_head_exact(const cfg *cf, const rtw_ws_handshake_server_settings *st,
                             const uint8_t *head, size_t n, int want)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  run r;
  size_t nread;
  uint8_t *copy = malloc(n);

  FUZZ_CHECK(copy != NULL && n > 0);
  memcpy(copy, head, n);
  memset(&r, 0, sizeof r);
  r.cf = cf;
  if (cf->flags & 2u)
    cb.on_upgrade = on_upgrade;
  FUZZ_CHECK(rtw_ws_handshake_server_new(&hs, &cb, st, NULL, &r) == 0);
  FUZZ_CHECK(rtw_ws_handshake_server_recv(hs, copy, n - 1, &nread) == RTW_WS_HANDSHAKE_INCOMPLETE);
  FUZZ_CHECK(nread == n - 1);
  FUZZ_CHECK(rtw_ws_handshake_server_recv(hs, copy + n - 1, 1, &nread) == want);
  FUZZ_CHECK(nread == 1);
  rtw_ws_handshake_server_free(hs);
  fuzz_log_free(&r.log);
  free(copy);
}

/* Parse up to MAX_REQUESTS requests; returns whether an allocation was refused. */
static int run_one(run *r, const cfg *cf, fuzz_mem *fm, int split, const uint8_t *in,
                   size_t len)
{
  rtw_ws_handshake_server_settings st = {RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION};
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs = (rtw_ws_handshake_server *)(void *)&st;
  size_t max_head = RTW_HTTP_DEFAULT_MAX_HEAD_SIZE, max_headers = RTW_HTTP_DEFAULT_MAX_HEADERS;
  size_t off = 0;
  fuzz_rng rng;
  int rv, req;

  r->cf = cf;
  if (cf->flags & 1u) {
    st.max_head_size = max_head = 16u + (size_t)cf->b3 * 8u;
    st.max_headers = (uint32_t)(max_headers = cf->b4 % 16u + 1u);
  }
  if (cf->flags & 2u)
    cb.on_upgrade = on_upgrade;
  rv = rtw_ws_handshake_server_new(&hs, &cb, &st, &fm->mem, r);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm->failed > 0 && hs == NULL);
    fuzz_log_str(&r->log, "new failed\n");
    return 1;
  }
  FUZZ_CHECK(rtw_ws_handshake_server_user_data(hs) == r);
  fuzz_rng_seed(&rng, cf->seed);
  for (req = 0; req < MAX_REQUESTS; req++) {
    size_t consumed = 0, nread;
    unsigned long failed0 = fm->failed;
    const void *d;
    size_t dl;
    r->cb_nomem = 0;
    r->cb_calls = 0;
    r->chose_subprotocol = 0;
    /* nothing before the head is complete */
    FUZZ_CHECK(rtw_ws_handshake_server_response(hs, &d, &dl) == RTW_ERR_INVALID_STATE);
    FUZZ_CHECK(rtw_ws_handshake_server_header_count(hs) == 0);
    rv = RTW_WS_HANDSHAKE_INCOMPLETE;
    while (off + consumed < len) {
      size_t left = len - off - consumed;
      size_t k = split && cf->seed ? 1 + fuzz_rng_below(&rng, left < 200 ? left : 200) : left;
      rv = rtw_ws_handshake_server_recv(hs, in + off + consumed, k, &nread);
      FUZZ_CHECK(nread <= k);
      consumed += nread;
      if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
        break;
      FUZZ_CHECK(nread == k);
    }
    (void)fuzz_mem_saw(rv);
    /* sticky */
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
      break; /* the input ended inside a head */
    {
      size_t n2 = 99;
      FUZZ_CHECK(rtw_ws_handshake_server_recv(hs, "x", 1, &n2) == rv && n2 == 0);
    }
    FUZZ_CHECK(rv == RTW_WS_HANDSHAKE_DONE || rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST ||
               rv == RTW_ERR_NOMEM || is_error_with_response(rv));
    if (fm->failed != failed0)
      FUZZ_CHECK(rv == RTW_ERR_NOMEM);
    if (rv == RTW_ERR_NOMEM)
      FUZZ_CHECK(fm->failed != failed0 || (cf->flags >> 2 & 3u) == 3u);
    if (rv == RTW_ERR_CALLBACK_FAILURE || rv == RTW_ERR_HTTP_REJECTED)
      FUZZ_CHECK(r->cb_calls == 1);
    if (rv != RTW_ERR_NOMEM)
      check_response(hs, cf, rv);
    if (rv == RTW_WS_HANDSHAKE_DONE && r->chose_subprotocol) {
      const void *d2;
      size_t l2;
      rtw_ws_handshake_server_response(hs, &d2, &l2);
      FUZZ_CHECK(fuzz_find(d2, l2, "\r\nSec-WebSocket-Protocol: ") != NULL);
    }
    if (rv == RTW_WS_HANDSHAKE_DONE || rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST ||
        (is_error_with_response(rv) && rv != RTW_ERR_HTTP_MALFORMED &&
         rv != RTW_ERR_HTTP_HEAD_TOO_LARGE && rv != RTW_ERR_HTTP_TOO_MANY_HEADERS))
      check_accessors(hs, max_headers);
    check_plain_view(hs, rv);
    log_outcome(r, hs, rv, consumed);
    if (rv != RTW_WS_HANDSHAKE_DONE && rv != RTW_WS_HANDSHAKE_PLAIN_REQUEST)
      break;
    /* bytes-after-head accounting */
    FUZZ_CHECK(consumed > 0 && consumed <= max_head && in[off + consumed - 1] == '\n');
    if (!split)
      check_head_exact(cf, &st, in + off, consumed, rv);
    off += consumed;
    if (!(cf->flags & 0x80u))
      break;
    FUZZ_CHECK(rtw_ws_handshake_server_reset(hs) == 0);
  }
  rtw_ws_handshake_server_free(hs);
  return fm->failed != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  fuzz_mem fa, fb;
  cfg cf;
  run a, b;
  int failed;

  in.p = data;
  in.n = size;
  fuzz_mem_init_schedule(&fa, &in);
  cf.flags = fuzz_u8(&in);
  cf.b3 = fuzz_u8(&in);
  cf.b4 = fuzz_u8(&in);
  cf.seed = fuzz_u8(&in);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  failed = run_one(&a, &cf, &fa, 1, in.p, in.n);
  fuzz_mem_check_clean(&fa);
  fuzz_mem_init(&fb, 0);
  run_one(&b, &cf, &fb, 0, in.p, in.n);
  fuzz_mem_check_clean(&fb);
  if (!failed && (cf.flags >> 2 & 3u) != 3u)
    fuzz_log_expect_equal("split vs whole", &b.log, &a.log);
  fuzz_log_free(&a.log);
  fuzz_log_free(&b.log);
  return 0;
}
