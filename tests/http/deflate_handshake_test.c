/* SPDX-License-Identifier: MIT */
/* permessage-deflate through the opening handshake (RFC 7692 5, 7.1 with RFC 6455 4 and
 * 9.1): rtw_ws_handshake_server_accept_deflate() on real request heads (offers in one field
 * line and across several, the first acceptable one wins, bad ones skipped, Autobahn
 * section 13's offers) and rtw_ws_handshake_client_deflate() on real responses, every input
 * whole, byte by byte and at every split. */
#include <stdio.h>
#include <string.h>

#include "rtwt.h"
#include "rtweb/http.h"
#include "rtweb/ws.h"

#define PMD "permessage-deflate"
#define SNCT "; server_no_context_takeover"
#define CNCT "; client_no_context_takeover"

#define REQ_HEAD                                                                            \
  "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"                       \
  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                  \
  "Sec-WebSocket-Version: 13\r\n"
#define EXT(v) "Sec-WebSocket-Extensions: " v "\r\n"

/* ====================================================================== server */

#define SRV_DEFLATE 0  /* accept_deflate only */
#define SRV_OTHER 1    /* set_extensions("x-foo") first: accept_deflate replaces it */
#define SRV_TWICE 2    /* accept_deflate twice: the second answer replaces the first */

typedef struct srv_arg {
  int mode;
  const rtw_ws_deflate_config *config;
} srv_arg;

typedef struct srv_ctx {
  const srv_arg *arg;
  rtwt_log *log;
} srv_ctx;

static void log_params(rtwt_log *log, const rtw_ws_deflate_params *p)
{
  rtwt_log_printf(log, "params=%u,%u,%u,%u\n", p->server_no_context_takeover,
                  p->client_no_context_takeover, p->server_max_window_bits,
                  p->client_max_window_bits);
}

static int on_upgrade(rtw_ws_handshake_server *hs, void *ud)
{
  srv_ctx *ctx = ud;
  rtw_ws_deflate_params neg;
  int rv;

  if (ctx->arg->mode == SRV_OTHER)
    assert_int_equal(rtw_ws_handshake_server_set_extensions(hs, "x-foo", 5), 0);
  if (ctx->arg->mode == SRV_TWICE) {
    rtw_ws_deflate_config c;
    memset(&c, 0, sizeof c);
    c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
    c.deflate_window_bits = 9;
    rv = rtw_ws_handshake_server_accept_deflate(hs, &c, &neg);
    rtwt_log_printf(ctx->log, "first=%d\n", rv);
  }
  memset(&neg, 0xAA, sizeof neg);
  rv = rtw_ws_handshake_server_accept_deflate(hs, ctx->arg->config, &neg);
  rtwt_log_printf(ctx->log, "deflate=%d\n", rv);
  log_params(ctx->log, &neg);
  return 0;
}

static void server_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  srv_ctx ctx;
  size_t i, off = 0, nread;
  const void *resp;
  size_t rlen;
  int rv = 0;

  (void)len;
  ctx.arg = arg;
  ctx.log = log;
  cb.on_upgrade = on_upgrade;
  assert_int_equal(rtw_ws_handshake_server_new(&hs, &cb, NULL, NULL, &ctx), 0);
  for (i = 0; i < npieces; i++) {
    rv = rtw_ws_handshake_server_recv(hs, in + off, pieces[i], &nread);
    off += pieces[i];
    if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
      break;
  }
  rtwt_log_printf(log, "rv=%d status=%d\n", rv, rtw_ws_handshake_server_status(hs));
  if (rtw_ws_handshake_server_response(hs, &resp, &rlen) == 0)
    rtwt_log_bytes(log, resp, rlen);
  rtw_ws_handshake_server_free(hs);
}

/* Run the request head + `ext_lines` through every split; the 101 response must carry
 * `Sec-WebSocket-Extensions: want` (want NULL: no such field) and accept_deflate must
 * have returned `deflate`. */
static void expect_server(const srv_arg *a, const char *ext_lines, int deflate,
                          const char *want)
{
  char req[2048], line[256], rv_line[32];
  size_t piece;
  rtwt_log log;

  snprintf(req, sizeof req, "%s%s\r\n", REQ_HEAD, ext_lines);
  rtwt_check_splits(server_feed, (void *)a, req, strlen(req), NULL);
  rtwt_log_init(&log);
  piece = strlen(req);
  server_feed((void *)a, (const uint8_t *)req, piece, &piece, 1, &log);
  snprintf(rv_line, sizeof rv_line, "deflate=%d\n", deflate);
  if (strstr(log.buf, rv_line) == NULL || strstr(log.buf, "rv=1 status=101\n") == NULL)
    fail_msg("request:\n%s\nwanted %s got:\n%s", req, rv_line, log.buf);
  if (want != NULL) {
    snprintf(line, sizeof line, "\\r\\nSec-WebSocket-Extensions: %s\\r\\n", want);
    if (strstr(log.buf, line) == NULL)
      fail_msg("request:\n%s\nwanted %s\ngot:\n%s", req, line, log.buf);
  } else if (strstr(log.buf, "Sec-WebSocket-Extensions") != NULL) {
    fail_msg("request:\n%s\nwanted no extension, got:\n%s", req, log.buf);
  }
  rtwt_log_free(&log);
}

/* The RFC 6455 1.2 request with a browser's offer, whole log checked byte for byte. */
static void test_server_browser(void **state)
{
  static const srv_arg a = {SRV_DEFLATE, NULL};
  static const char req[] =
      REQ_HEAD "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
  static const char expected[] =
      "deflate=1\nparams=1,1,0,0\nrv=1 status=101\n"
      "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\\r\\n"
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover\\r\\n\\r\\n";
  (void)state;
  rtwt_check_splits(server_feed, (void *)&a, req, strlen(req), expected);
}

static void test_server_autobahn(void **state)
{
  static const srv_arg a = {SRV_DEFLATE, NULL};
  static rtw_ws_deflate_config keep = {RTW_WS_DEFLATE_CONFIG_VERSION,
                                       RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER |
                                           RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
                                       0, 0, 0, 0, 0, 0};
  static const srv_arg k = {SRV_DEFLATE, &keep};
  (void)state;

  expect_server(&a, EXT(PMD), 1, PMD SNCT CNCT);                                  /* 13.1 */
  expect_server(&a, EXT(PMD CNCT), 1, PMD SNCT CNCT);                             /* 13.2 */
  /* 13.3 and 13.5: 8 is answered (our zlib deflates at 9, whose distances an 8-bit
   * inflater covers: tests/ws/deflate_zlib_test.c) */
  expect_server(&a, EXT(PMD "; server_max_window_bits=8"), 1,
                PMD SNCT CNCT "; server_max_window_bits=8");                      /* 13.3 */
  expect_server(&a, EXT(PMD "; server_max_window_bits=15"), 1,
                PMD SNCT CNCT "; server_max_window_bits=15");                     /* 13.4 */
  expect_server(&a, EXT(PMD CNCT "; server_max_window_bits=8"), 1,
                PMD SNCT CNCT "; server_max_window_bits=8");                      /* 13.5 */
  expect_server(&a, EXT(PMD CNCT "; server_max_window_bits=15"), 1,
                PMD SNCT CNCT "; server_max_window_bits=15");                     /* 13.6 */
  /* 13.7: [(True, 8), (True, 0), (False, 0)]: the first is taken */
  expect_server(&a,
                EXT(PMD CNCT "; server_max_window_bits=8, " PMD CNCT ", " PMD), 1,
                PMD SNCT CNCT "; server_max_window_bits=8");
  expect_server(&k, EXT(PMD), 1, PMD);
  expect_server(&k, EXT(PMD CNCT), 1, PMD CNCT);
  expect_server(&k, EXT(PMD "; server_max_window_bits=15"), 1,
                PMD "; server_max_window_bits=15");
  expect_server(&k, EXT(PMD "; server_max_window_bits=8"), 1,
                PMD "; server_max_window_bits=8");
  expect_server(&k,
                EXT(PMD CNCT "; server_max_window_bits=8, " PMD CNCT ", " PMD), 1,
                PMD CNCT "; server_max_window_bits=8");
}

static void test_server_offer_lists(void **state)
{
  static rtw_ws_deflate_config small = {RTW_WS_DEFLATE_CONFIG_VERSION, 0, 0, 0, 0, 10,
                                        0, 0};
  static const srv_arg a = {SRV_DEFLATE, NULL};
  static const srv_arg s = {SRV_DEFLATE, &small};
  (void)state;

  /* several offers in one line: the first acceptable one wins */
  expect_server(&a, EXT(PMD "; server_max_window_bits=10, " PMD), 1,
                PMD SNCT CNCT "; server_max_window_bits=10");
  /* and across several field lines (RFC 9110 5.3), in order */
  expect_server(&a, EXT("x-webkit-deflate-frame") EXT(PMD "; server_max_window_bits=12")
                        EXT(PMD), 1, PMD SNCT CNCT "; server_max_window_bits=12");
  /* a malformed offer is declined and the next one taken (RFC 7692 7) */
  expect_server(&a, EXT(PMD "; server_max_window_bits=16, " PMD "; client_max_window_bits=9"),
                1, PMD SNCT CNCT "; client_max_window_bits=9");
  expect_server(&a, EXT(PMD "; bogus") EXT(PMD SNCT SNCT) EXT(PMD "; server_max_window_bits=11"),
                1, PMD SNCT CNCT "; server_max_window_bits=11");
  expect_server(&a, EXT(PMD "; server_no_context_takeover=1, " PMD "; server_max_window_bits"),
                0, NULL);
  /* quoted values and commas inside them */
  expect_server(&a, EXT(PMD "; server_max_window_bits=\"1,2\", " PMD "; server_max_window_bits=\"13\""),
                1, PMD SNCT CNCT "; server_max_window_bits=13");
  /* 8 is taken like any other window, before the next offer */
  expect_server(&a, EXT(PMD "; server_max_window_bits=8") EXT(PMD "; server_max_window_bits=9"),
                1, PMD SNCT CNCT "; server_max_window_bits=8");
  /* a limit on the client's window needs an offer naming client_max_window_bits */
  expect_server(&s, EXT(PMD ", " PMD "; client_max_window_bits"), 1,
                PMD SNCT CNCT "; client_max_window_bits=10");
  expect_server(&s, EXT(PMD), 0, NULL);
  /* nothing offered, or other extensions only */
  expect_server(&a, "", 0, NULL);
  expect_server(&a, EXT("x-foo, x-bar; a=1"), 0, NULL);
  expect_server(&a, EXT(""), 0, NULL);
}

static void test_server_replaces(void **state)
{
  static const srv_arg other = {SRV_OTHER, NULL};
  static const srv_arg twice = {SRV_TWICE, NULL};
  (void)state;
  /* the answer replaces what set_extensions() set; no answer clears it */
  expect_server(&other, EXT("x-foo, " PMD), 1, PMD SNCT CNCT);
  expect_server(&other, EXT("x-foo, " PMD "; server_max_window_bits=8"), 1,
                PMD SNCT CNCT "; server_max_window_bits=8");
  expect_server(&other, EXT("x-foo, " PMD "; bogus"), 0, NULL);
  expect_server(&twice, EXT(PMD), 1, PMD SNCT CNCT);
}

static int outside_hs_cb(rtw_ws_handshake_server *hs, void *ud)
{
  rtw_ws_deflate_params p;
  rtw_ws_deflate_config bad;
  (void)ud;
  memset(&bad, 0, sizeof bad);
  assert_int_equal(rtw_ws_handshake_server_accept_deflate(hs, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_accept_deflate(hs, &bad, &p),
                   RTW_ERR_INVALID_ARGUMENT); /* version 0 */
  return 0;
}

static void test_server_arguments(void **state)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  static const char req[] = REQ_HEAD EXT(PMD) "\r\n";
  rtw_ws_handshake_server *hs;
  rtw_ws_deflate_params p;
  size_t nread;
  (void)state;

  cb.on_upgrade = outside_hs_cb;
  assert_int_equal(rtw_ws_handshake_server_accept_deflate(NULL, NULL, &p),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_server_new(&hs, &cb, NULL, NULL, NULL), 0);
  /* outside on_upgrade: before and after the head */
  assert_int_equal(rtw_ws_handshake_server_accept_deflate(hs, NULL, &p), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_ws_handshake_server_recv(hs, req, strlen(req), &nread),
                   RTW_WS_HANDSHAKE_DONE);
  memset(&p, 0xAA, sizeof p);
  assert_int_equal(rtw_ws_handshake_server_accept_deflate(hs, NULL, &p), RTW_ERR_INVALID_STATE);
  assert_int_equal(p.server_no_context_takeover | p.client_no_context_takeover |
                       p.server_max_window_bits | p.client_max_window_bits,
                   0);
  rtw_ws_handshake_server_free(hs);
}

/* Allocation failures: accept_deflate's copy of the answer. */
static int nomem_cb(rtw_ws_handshake_server *hs, void *ud)
{
  rtw_ws_deflate_params p;
  int rv = rtw_ws_handshake_server_accept_deflate(hs, NULL, &p);
  (void)ud;
  if (rv == RTW_ERR_NOMEM)
    return rv;
  assert_int_equal(rv, 1);
  return 0;
}

static int server_scenario(const rtw_mem *mem, void *arg)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  size_t nread;
  int rv;

  cb.on_upgrade = nomem_cb;
  rv = rtw_ws_handshake_server_new(&hs, &cb, NULL, mem, NULL);
  if (rv != 0)
    return rv;
  rv = rtw_ws_handshake_server_recv(hs, arg, strlen(arg), &nread);
  rtw_ws_handshake_server_free(hs);
  return rv == RTW_WS_HANDSHAKE_DONE ? 0 : rv;
}

static void test_server_alloc_failures(void **state)
{
  (void)state;
  assert_true(rtwt_check_alloc_failures(server_scenario,
                                        (void *)(REQ_HEAD EXT(PMD) "\r\n")) >= 3);
}

/* ====================================================================== client */

#define RESP_HEAD                                                                           \
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"       \
  "Sec-WebSocket-Accept: C/0nmHhBztSRGR1CwL6Tf4ZjwpY=\r\n"

typedef struct cli_arg {
  const rtw_ws_deflate_config *config;
  const char *extra_offer; /* appended to the offer, e.g. ", x-foo" */
} cli_arg;

static int fixed_random(rtw_ws_handshake_client *hs, void *buf, size_t len, void *ud)
{
  uint8_t *p = buf;
  size_t i;
  (void)hs;
  (void)ud;
  for (i = 0; i < len; i++)
    p[i] = (uint8_t)(i + 1); /* key AQIDBAUGBwgJCgsMDQ4PEA== */
  return 0;
}

static rtw_ws_handshake_client *new_client(const cli_arg *a, const rtw_mem *mem, int *rv)
{
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings s;
  rtw_ws_handshake_client *hs = NULL;
  char offer[RTW_WS_DEFLATE_ELEMENT_MAX + 64];
  size_t n;

  assert_int_equal(rtw_ws_deflate_offer(a->config, offer, RTW_WS_DEFLATE_ELEMENT_MAX, &n), 0);
  if (a->extra_offer != NULL) {
    memcpy(offer + n, a->extra_offer, strlen(a->extra_offer));
    n += strlen(a->extra_offer);
  }
  memset(&s, 0, sizeof s);
  s.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION;
  s.host = "example.com";
  s.host_len = 11;
  s.extensions = offer;
  s.extensions_len = n;
  cb.random = fixed_random;
  *rv = rtw_ws_handshake_client_new(&hs, &cb, &s, mem, NULL);
  return hs;
}

static void client_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces,
                        size_t npieces, rtwt_log *log)
{
  const cli_arg *a = arg;
  rtw_ws_deflate_params p;
  rtw_ws_handshake_client *hs;
  size_t i, off = 0, nread;
  int rv = 0;

  (void)len;
  hs = new_client(a, NULL, &rv);
  assert_int_equal(rv, 0);
  memset(&p, 0xAA, sizeof p);
  assert_int_equal(rtw_ws_handshake_client_deflate(hs, a->config, &p), RTW_ERR_INVALID_STATE);
  for (i = 0; i < npieces; i++) {
    rv = rtw_ws_handshake_client_recv(hs, in + off, pieces[i], &nread);
    off += pieces[i];
    if (rv != RTW_WS_HANDSHAKE_INCOMPLETE)
      break;
    memset(&p, 0xAA, sizeof p);
    assert_int_equal(rtw_ws_handshake_client_deflate(hs, a->config, &p),
                     RTW_ERR_INVALID_STATE);
  }
  rtwt_log_printf(log, "rv=%d\n", rv);
  memset(&p, 0xAA, sizeof p);
  rv = rtw_ws_handshake_client_deflate(hs, a->config, &p);
  rtwt_log_printf(log, "deflate=%d\n", rv);
  log_params(log, &p);
  rtw_ws_handshake_client_free(hs);
}

/* Feed RESP_HEAD + ext_lines + CRLF through every split; expect the handshake outcome `hrv`
 * and client_deflate's `rv` with `params` ("a,b,c,d"). */
static void expect_client(const cli_arg *a, const char *ext_lines, int hrv, int rv,
                          const char *params)
{
  char resp[2048], want[128];
  rtwt_log log;
  size_t piece;

  snprintf(resp, sizeof resp, "%s%s\r\n", RESP_HEAD, ext_lines);
  snprintf(want, sizeof want, "rv=%d\ndeflate=%d\nparams=%s\n", hrv, rv, params);
  rtwt_check_splits(client_feed, (void *)a, resp, strlen(resp), want);
  rtwt_log_init(&log);
  piece = strlen(resp);
  client_feed((void *)a, (const uint8_t *)resp, piece, &piece, 1, &log);
  assert_string_equal(log.buf, want);
  rtwt_log_free(&log);
}

#define DONE RTW_WS_HANDSHAKE_DONE
#define BAD RTW_ERR_WS_DEFLATE_PARAM
#define STATE RTW_ERR_INVALID_STATE

static void test_client_responses(void **state)
{
  static rtw_ws_deflate_config keep = {RTW_WS_DEFLATE_CONFIG_VERSION,
                                       RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER, 0, 0, 0, 10,
                                       0, 0};
  static const cli_arg a = {NULL, NULL};
  static const cli_arg x = {NULL, ", x-foo"};
  static const cli_arg k = {&keep, NULL};
  (void)state;

  /* accepted: what we offered, and what the server may add */
  expect_client(&a, EXT(PMD SNCT), DONE, 1, "1,0,0,0");
  expect_client(&a, EXT(PMD SNCT CNCT), DONE, 1, "1,1,0,0");
  expect_client(&a, EXT(PMD SNCT "; client_max_window_bits=10; server_max_window_bits=12"), DONE,
                1, "1,0,12,10");
  expect_client(&a, EXT(PMD "; server_no_context_takeover; client_max_window_bits=\"9\""), DONE,
                1, "1,0,0,9");
  /* no compression */
  expect_client(&a, "", DONE, 0, "0,0,0,0");
  expect_client(&x, EXT("x-foo"), DONE, 0, "0,0,0,0");
  expect_client(&x, EXT("x-foo") EXT(PMD SNCT), DONE, 1, "1,0,0,0");
  /* RFC 7692 7: at most one element, in one field line or across several */
  expect_client(&a, EXT(PMD SNCT ", " PMD SNCT), DONE, BAD, "0,0,0,0");
  expect_client(&a, EXT(PMD SNCT) EXT(PMD SNCT), DONE, BAD, "0,0,0,0");
  expect_client(&x, EXT(PMD SNCT) EXT("x-foo") EXT(PMD SNCT CNCT), DONE, BAD, "0,0,0,0");
  /* malformed, or answering what we did not offer */
  expect_client(&a, EXT(PMD SNCT "; foo"), DONE, BAD, "0,0,0,0");
  expect_client(&a, EXT(PMD SNCT "; client_max_window_bits"), DONE, BAD, "0,0,0,0");
  expect_client(&a, EXT(PMD), DONE, BAD, "0,0,0,0");
  /* a client window of 8: our zlib deflates at 9, within what an 8-bit inflater holds */
  expect_client(&a, EXT(PMD SNCT "; client_max_window_bits=8"), DONE, 1, "1,0,0,8");
  expect_client(&a, EXT(PMD SNCT "; server_max_window_bits=7"), DONE, BAD, "0,0,0,0");
  /* a server window above the one we offered (7.1.2.1) */
  expect_client(&k, EXT(PMD "; server_max_window_bits=10"), DONE, 1, "0,0,10,0");
  expect_client(&k, EXT(PMD "; server_max_window_bits=9"), DONE, 1, "0,0,9,0");
  expect_client(&k, EXT(PMD "; server_max_window_bits=11"), DONE, BAD, "0,0,0,0");
  expect_client(&k, EXT(PMD), DONE, BAD, "0,0,0,0");
  /* a failed handshake: no answer to read */
  expect_client(&a, "Sec-WebSocket-Extensions: x-bar\r\n", RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED,
                STATE, "0,0,0,0");
}

static void test_client_arguments(void **state)
{
  static const cli_arg a = {NULL, NULL};
  static const char resp[] = RESP_HEAD EXT(PMD SNCT) "\r\n";
  rtw_ws_deflate_config bad;
  rtw_ws_deflate_params p;
  rtw_ws_handshake_client *hs;
  size_t nread;
  int rv;
  (void)state;

  memset(&bad, 0, sizeof bad);
  hs = new_client(&a, NULL, &rv);
  assert_int_equal(rv, 0);
  assert_int_equal(rtw_ws_handshake_client_recv(hs, resp, strlen(resp), &nread), DONE);
  assert_int_equal(rtw_ws_handshake_client_deflate(NULL, NULL, &p), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_client_deflate(hs, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_client_deflate(hs, &bad, &p), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_handshake_client_deflate(hs, NULL, &p), 1);
  /* the same answer checked under another policy the offer could have come from */
  bad.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  bad.flags = RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER;
  assert_int_equal(rtw_ws_handshake_client_deflate(hs, &bad, &p), 1);
  rtw_ws_handshake_client_free(hs);
}

/* Our client's offer answered by our server, through both handshake objects. */
static void test_client_server(void **state)
{
  static const uint32_t flags[] = {0, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER,
                                   RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
                                   RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER};
  size_t fc, fs;
  (void)state;

  for (fc = 0; fc < sizeof flags / sizeof flags[0]; fc++)
    for (fs = 0; fs < sizeof flags / sizeof flags[0]; fs++) {
      rtw_ws_deflate_config cc, sc;
      rtw_ws_deflate_params sp, cp;
      cli_arg a;
      srv_arg sa;
      rtw_ws_handshake_client *c;
      rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
      rtw_ws_handshake_server *s;
      srv_ctx ctx;
      rtwt_log log;
      const void *req, *resp;
      size_t rlen, qlen, nread;
      int rv;

      memset(&cc, 0, sizeof cc);
      memset(&sc, 0, sizeof sc);
      cc.version = sc.version = RTW_WS_DEFLATE_CONFIG_VERSION;
      cc.flags = flags[fc];
      sc.flags = flags[fs];
      sc.deflate_window_bits = 12;
      a.config = &cc;
      a.extra_offer = NULL;
      sa.mode = SRV_DEFLATE;
      sa.config = &sc;
      c = new_client(&a, NULL, &rv);
      assert_int_equal(rv, 0);
      assert_int_equal(rtw_ws_handshake_client_request(c, &req, &qlen), 0);
      rtwt_log_init(&log);
      ctx.arg = &sa;
      ctx.log = &log;
      cb.on_upgrade = on_upgrade;
      assert_int_equal(rtw_ws_handshake_server_new(&s, &cb, NULL, NULL, &ctx), 0);
      assert_int_equal(rtw_ws_handshake_server_recv(s, req, qlen, &nread), DONE);
      assert_non_null(strstr(log.buf, "deflate=1\n"));
      assert_int_equal(rtw_ws_handshake_server_response(s, &resp, &rlen), 0);
      assert_int_equal(rtw_ws_handshake_client_recv(c, resp, rlen, &nread), DONE);
      assert_int_equal(rtw_ws_handshake_client_deflate(c, &cc, &cp), 1);
      /* the client reads what the server decided: each side resets unless both allow
       * context takeover */
      memset(&sp, 0, sizeof sp);
      sp.server_no_context_takeover =
          (uint8_t)(!(flags[fs] & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER) ||
                    !(flags[fc] & RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER));
      sp.client_no_context_takeover =
          (uint8_t)(!(flags[fs] & RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER) ||
                    !(flags[fc] & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER));
      sp.server_max_window_bits = 12;
      assert_int_equal(cp.server_no_context_takeover, sp.server_no_context_takeover);
      assert_int_equal(cp.client_no_context_takeover, sp.client_no_context_takeover);
      assert_int_equal(cp.server_max_window_bits, 12);
      assert_int_equal(cp.client_max_window_bits, 0);
      rtw_ws_handshake_server_free(s);
      rtw_ws_handshake_client_free(c);
      rtwt_log_free(&log);
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_browser),
      cmocka_unit_test(test_server_autobahn),
      cmocka_unit_test(test_server_offer_lists),
      cmocka_unit_test(test_server_replaces),
      cmocka_unit_test(test_server_arguments),
      cmocka_unit_test(test_server_alloc_failures),
      cmocka_unit_test(test_client_responses),
      cmocka_unit_test(test_client_arguments),
      cmocka_unit_test(test_client_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
