/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the client side of the WebSocket opening handshake
 * (rtw_ws_handshake_client_*, rtweb/http.h): the key comes from the input (through the random
 * callback), the response is either raw input bytes or a valid 101 response built around
 * fuzzed field lines; fed in random pieces, with an allocation schedule. */
/*
 * Input layout:
 *
 *   bytes 0-1   allocation schedule (fuzz_common.h)
 *   byte 2      bit 0 build mode (else raw), bit 1 offer subprotocols "chat, superchat",
 *               bit 2 offer "permessage-deflate; client_max_window_bits", bit 3 small limits
 *               (max_head_size 512, max_headers 8), bit 4 the random callback fails,
 *               bit 5 build mode: leave out the Sec-WebSocket-Accept line
 *   byte 3      piece-size seed (0: whole)
 *   bytes 4-19  the 16-byte nonce the random callback returns
 *   rest        raw mode: the response bytes. Build mode: field lines, one per LF-separated
 *               piece (CR and LF removed), each sent as "X-F<i>: <piece>", inside
 *               "HTTP/1.1 101 Switching Protocols" + Upgrade + Connection + the right
 *               Sec-WebSocket-Accept, then the blank line and 3 bytes of "frames".
 *
 * Oracles (http.h): the request carries `Sec-WebSocket-Key: base64(nonce)`; outcomes are the
 * documented ones and sticky; DONE only with status 101, an `Upgrade: websocket`, a
 * `Connection: upgrade` and exactly one Sec-WebSocket-Accept equal to
 * rtw_ws_handshake_accept_value(key), a subprotocol only if offered (one), every extension
 * only if offered; after DONE the head ends with LF, and a fresh client fed exactly those
 * bytes answers DONE while one byte less is INCOMPLETE. In build mode with every piece made of
 * field-value characters (VCHAR, SP, HTAB, obs-text) and within the limits, the outcome is
 * DONE (without the Accept line: RTW_ERR_HTTP_WS_BAD_ACCEPT), and each X-F<i> reads back
 * trimmed. A refused allocation gives RTW_ERR_NOMEM and no leak; the split run without
 * failures answers exactly as the whole run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz_common.h"
#include "rtweb/http.h"

typedef struct cfg {
  uint8_t flags, seed;
  uint8_t nonce[16];
} cfg;

static int on_random(rtw_ws_handshake_client *hs, void *buf, size_t len, void *ud)
{
  const cfg *cf = ud;

  (void)hs;
  FUZZ_CHECK(len == 16);
  if (cf->flags & 0x10u)
    return -1;
  memcpy(buf, cf->nonce, 16);
  return 0;
}

static int value_char(uint8_t c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

typedef struct built {
  uint8_t *p;
  size_t len, head_len;
  int all_valid;   /* every piece is made of field-value characters */
  size_t npieces;
} built;

static void build(const cfg *cf, const char accept[RTW_WS_ACCEPT_LEN], const uint8_t *s,
                  size_t n, built *b)
{
  fuzz_log l = {NULL, 0, 0};
  size_t i = 0;

  b->all_valid = 1;
  b->npieces = 0;
  fuzz_log_str(&l, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n");
  if (!(cf->flags & 0x20u)) {
    fuzz_log_str(&l, "Sec-WebSocket-Accept: ");
    fuzz_log_raw(&l, accept, RTW_WS_ACCEPT_LEN);
    fuzz_log_str(&l, "\r\n");
  }
  while (i < n && b->npieces < 100) {
    size_t j = i;
    char name[16];
    while (j < n && s[j] != '\n')
      j++;
    snprintf(name, sizeof name, "X-F%zu: ", b->npieces++);
    fuzz_log_str(&l, name);
    for (; i < j; i++) {
      if (s[i] == '\r')
        continue;
      if (!value_char(s[i]))
        b->all_valid = 0;
      fuzz_log_raw(&l, &s[i], 1);
    }
    fuzz_log_str(&l, "\r\n");
    i = j + 1;
  }
  fuzz_log_str(&l, "\r\n");
  b->head_len = l.len;
  fuzz_log_raw(&l, "\x81\x01x", 3);
  b->p = (uint8_t *)l.p;
  b->len = l.len;
}

static int is_documented(int rv)
{
  switch (rv) {
  case RTW_WS_HANDSHAKE_INCOMPLETE: case RTW_WS_HANDSHAKE_DONE:
  case RTW_ERR_HTTP_MALFORMED: case RTW_ERR_HTTP_HEAD_TOO_LARGE:
  case RTW_ERR_HTTP_TOO_MANY_HEADERS: case RTW_ERR_HTTP_BAD_VERSION:
  case RTW_ERR_HTTP_WS_BAD_STATUS: case RTW_ERR_HTTP_WS_NO_UPGRADE:
  case RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE: case RTW_ERR_HTTP_WS_BAD_ACCEPT:
  case RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED: case RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED:
  case RTW_ERR_NOMEM:
    return 1;
  default:
    return 0;
  }
}

static int new_client(const cfg *cf, const rtw_mem *mem, rtw_ws_handshake_client **hs)
{
  rtw_ws_handshake_client_settings st = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};

  st.host = "example.com:8080";
  st.host_len = 16;
  st.path = "/chat?x=1";
  st.path_len = 9;
  if (cf->flags & 2u) {
    st.subprotocols = "chat, superchat";
    st.subprotocols_len = 15;
  }
  if (cf->flags & 4u) {
    st.extensions = "permessage-deflate; client_max_window_bits";
    st.extensions_len = 42;
  }
  if (cf->flags & 8u) {
    st.max_head_size = 512;
    st.max_headers = 8;
  }
  cb.random = on_random;
  return rtw_ws_handshake_client_new(hs, &cb, &st, mem, (void *)(uintptr_t)cf);
}

/* After DONE: the response against RFC 6455 4.1 (what the client promised to check). */
static void check_done(const rtw_ws_handshake_client *hs, const cfg *cf, const char *accept)
{
  const char *v;
  size_t n, i, count;

  FUZZ_CHECK(rtw_ws_handshake_client_status(hs) == 101);
  FUZZ_CHECK(rtw_ws_handshake_client_header(hs, "Sec-WebSocket-Accept", 20, 0, &v, &n) == 1);
  FUZZ_CHECK(n == RTW_WS_ACCEPT_LEN && memcmp(v, accept, n) == 0);
  FUZZ_CHECK(rtw_ws_handshake_client_header(hs, "Sec-WebSocket-Accept", 20, 1, &v, &n) == 0);
  FUZZ_CHECK(rtw_ws_handshake_client_header(hs, "Upgrade", 7, 0, &v, &n) == 1);
  FUZZ_CHECK(rtw_ws_handshake_client_header(hs, "Connection", 10, 0, &v, &n) == 1);
  if (rtw_ws_handshake_client_subprotocol(hs, &v, &n) == 1) {
    FUZZ_CHECK(cf->flags & 2u);
    FUZZ_CHECK((n == 4 && memcmp(v, "chat", 4) == 0) || (n == 9 && memcmp(v, "superchat", 9) == 0));
  }
  count = rtw_ws_handshake_client_extension_count(hs);
  for (i = 0; i < count; i++) {
    FUZZ_CHECK(rtw_ws_handshake_client_extension(hs, i, &v, &n) == 1);
    FUZZ_CHECK(cf->flags & 4u);
    FUZZ_CHECK(n >= 18);
    {
      size_t k;
      for (k = 0; k < 18; k++)
        FUZZ_CHECK((v[k] | 0x20) == "permessage-deflate"[k]);
    }
  }
  FUZZ_CHECK(rtw_ws_handshake_client_extension(hs, count, &v, &n) == 0);
}

/* Returns the outcome; *consumed = head bytes over all calls. */
static int run_one(const cfg *cf, fuzz_mem *fm, int split, const uint8_t *in, size_t len,
                   const char *accept, size_t *consumed, fuzz_log *log)
{
  rtw_ws_handshake_client *hs;
  const void *req;
  size_t reqlen, nread, off = 0;
  fuzz_rng rng;
  int rv;
  char key_line[64];

  *consumed = 0;
  rv = new_client(cf, &fm->mem, &hs);
  if (rv != 0) {
    FUZZ_CHECK(hs == NULL);
    if (cf->flags & 0x10u)
      FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_CALLBACK_FAILURE ||
                 (rv == RTW_ERR_NOMEM && fm->failed > 0));
    else
      FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm->failed > 0);
    fuzz_log_str(log, rtw_err_name(rv));
    return rv;
  }
  FUZZ_CHECK(!(cf->flags & 0x10u));
  FUZZ_CHECK(rtw_ws_handshake_client_user_data(hs) == (void *)(uintptr_t)cf);
  FUZZ_CHECK(rtw_ws_handshake_client_request(hs, &req, &reqlen) == 0);
  memcpy(key_line, "\r\nSec-WebSocket-Key: ", 21);
  rtw__base64_encode(cf->nonce, 16, key_line + 21);
  memcpy(key_line + 21 + RTW_WS_KEY_LEN, "\r\n", 3); /* with the NUL */
  FUZZ_CHECK(fuzz_find(req, reqlen, key_line) != NULL);
  FUZZ_CHECK(reqlen >= 4 && memcmp((const char *)req + reqlen - 4, "\r\n\r\n", 4) == 0);
  FUZZ_CHECK(rtw_ws_handshake_client_status(hs) == 0);
  fuzz_rng_seed(&rng, cf->seed);
  rv = RTW_WS_HANDSHAKE_INCOMPLETE;
  while (off < len) {
    size_t k = split && cf->seed ? 1 + fuzz_rng_below(&rng, len - off < 100 ? len - off : 100)
                                 : len - off;
    unsigned long failed0 = fm->failed;
    rv = rtw_ws_handshake_client_recv(hs, in + off, k, &nread);
    FUZZ_CHECK(is_documented(rv));
    FUZZ_CHECK(nread <= k);
    if (fm->failed != failed0)
      FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM);
    else
      FUZZ_CHECK(rv != RTW_ERR_NOMEM);
    off += nread;
    if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
      break;
    FUZZ_CHECK(nread == k);
  }
  *consumed = off;
  if (rv != RTW_WS_HANDSHAKE_INCOMPLETE) {
    size_t n2 = 7;
    FUZZ_CHECK(rtw_ws_handshake_client_recv(hs, "x", 1, &n2) == rv && n2 == 0);
  }
  if (rv == RTW_WS_HANDSHAKE_DONE) {
    check_done(hs, cf, accept);
    FUZZ_CHECK(off > 0 && in[off - 1] == '\n');
  }
  fuzz_log_str(log, rtw_err_name(rv));
  fuzz_log_str(log, " status=");
  fuzz_log_num(log, (unsigned long long)rtw_ws_handshake_client_status(hs));
  if (rv == RTW_WS_HANDSHAKE_DONE) {
    fuzz_log_str(log, " head=");
    fuzz_log_num(log, off);
  }
  fuzz_log_str(log, "\n");
  rtw_ws_handshake_client_free(hs);
  return rv;
}

static void check_head_exact(const cfg *cf, const uint8_t *head, size_t n)
{
  rtw_ws_handshake_client *hs;
  uint8_t *copy = malloc(n);
  size_t nread;

  FUZZ_CHECK(copy != NULL && n > 0);
  memcpy(copy, head, n);
  FUZZ_CHECK(new_client(cf, NULL, &hs) == 0);
  FUZZ_CHECK(rtw_ws_handshake_client_recv(hs, copy, n - 1, &nread) == RTW_WS_HANDSHAKE_INCOMPLETE);
  FUZZ_CHECK(rtw_ws_handshake_client_recv(hs, copy + n - 1, 1, &nread) == RTW_WS_HANDSHAKE_DONE);
  FUZZ_CHECK(nread == 1);
  rtw_ws_handshake_client_free(hs);
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in;
  fuzz_mem fa, fb;
  cfg cf;
  size_t got, ca, cb;
  const uint8_t *p;
  char key[RTW_WS_KEY_LEN], accept[RTW_WS_ACCEPT_LEN];
  built b;
  const uint8_t *resp;
  size_t resp_len;
  fuzz_log la = {NULL, 0, 0}, lb = {NULL, 0, 0};
  int ra, rb;

  in.p = data;
  in.n = size;
  fuzz_mem_init_schedule(&fa, &in);
  cf.flags = fuzz_u8(&in);
  cf.seed = fuzz_u8(&in);
  memset(cf.nonce, 0, sizeof cf.nonce);
  p = fuzz_take(&in, 16, &got);
  memcpy(cf.nonce, p, got);
  rtw__base64_encode(cf.nonce, 16, key);
  FUZZ_CHECK(rtw_ws_handshake_accept_value(key, sizeof key, accept) == 0);
  memset(&b, 0, sizeof b);
  if (cf.flags & 1u) {
    build(&cf, accept, in.p, in.n, &b);
    resp = b.p;
    resp_len = b.len;
  } else {
    resp = in.p;
    resp_len = in.n;
  }
  ra = run_one(&cf, &fa, 1, resp, resp_len, accept, &ca, &la);
  fuzz_mem_check_clean(&fa);
  fuzz_mem_init(&fb, 0);
  rb = run_one(&cf, &fb, 0, resp, resp_len, accept, &cb, &lb);
  fuzz_mem_check_clean(&fb);
  if (fa.failed == 0)
    fuzz_log_expect_equal("split vs whole", &lb, &la);
  if (rb == RTW_WS_HANDSHAKE_DONE)
    check_head_exact(&cf, resp, cb);
  if ((cf.flags & 0x11u) == 1u && b.all_valid && !(cf.flags & 8u) && b.npieces < 60 &&
      b.head_len < RTW_HTTP_DEFAULT_MAX_HEAD_SIZE) {
    /* a valid 101 around valid field lines is accepted (or refused only for the Accept) */
    FUZZ_CHECK(rb == ((cf.flags & 0x20u) ? RTW_ERR_HTTP_WS_BAD_ACCEPT : RTW_WS_HANDSHAKE_DONE));
    FUZZ_CHECK(rb != RTW_WS_HANDSHAKE_DONE || cb == b.head_len);
  }
  (void)ra;
  free(b.p);
  fuzz_log_free(&la);
  fuzz_log_free(&lb);
  return 0;
}
