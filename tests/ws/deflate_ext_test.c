/* SPDX-License-Identifier: MIT */
/* permessage-deflate negotiation (RFC 7692 5, 7.1): the element parser in both roles (every
 * parameter alone and together, duplicates, unknown names, bad values, quoted values,
 * whitespace), format/parse round trips, the server's answers (Autobahn section 13 offers and
 * every config knob), the client's offer and its check of the answer, and the two sides
 * against each other. */
#include <stdio.h>
#include <string.h>

#include "deflate.h"
#include "rtweb/ws.h"
#include "rtwt.h"

#define C RTW_WS_ROLE_CLIENT
#define S RTW_WS_ROLE_SERVER
#define NV RTW_WS_DEFLATE_BITS_NO_VALUE
#define PMD "permessage-deflate"
#define SNCT "; server_no_context_takeover"
#define CNCT "; client_no_context_takeover"

/* ------------------------------------------------------------------ helpers */

static int parse(const char *s, int from, rtw_ws_deflate_params *p)
{
  return rtw_ws_deflate_parse(s, strlen(s), from, p);
}

/* The formatted text of p (NUL-terminated) or "ERR <name>". */
static const char *text(const rtw_ws_deflate_params *p)
{
  static char buf[RTW_WS_DEFLATE_ELEMENT_MAX + 1];
  size_t n = 0;
  int rv = rtw_ws_deflate_format(p, buf, RTW_WS_DEFLATE_ELEMENT_MAX, &n);

  if (rv != 0)
    snprintf(buf, sizeof buf, "ERR %s", rtw_err_name(rv));
  else
    buf[n] = '\0';
  return buf;
}

static rtw_ws_deflate_params mk(int sct, int cct, int sb, int cb)
{
  rtw_ws_deflate_params p;
  p.server_no_context_takeover = (uint8_t)sct;
  p.client_no_context_takeover = (uint8_t)cct;
  p.server_max_window_bits = (uint8_t)sb;
  p.client_max_window_bits = (uint8_t)cb;
  return p;
}

static void assert_params(const rtw_ws_deflate_params *p, int sct, int cct, int sb, int cb,
                          const char *what)
{
  if (p->server_no_context_takeover != sct || p->client_no_context_takeover != cct ||
      p->server_max_window_bits != sb || p->client_max_window_bits != cb)
    fail_msg("%s: got %d %d %d %d, wanted %d %d %d %d", what, p->server_no_context_takeover,
             p->client_no_context_takeover, p->server_max_window_bits,
             p->client_max_window_bits, sct, cct, sb, cb);
}

static rtw_ws_deflate_config cfg(uint32_t flags)
{
  rtw_ws_deflate_config c;
  memset(&c, 0, sizeof c);
  c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  c.flags = flags;
  return c;
}

/* The server's answer to the offer text under c: the response text, "DECLINED", or
 * "ERR ..." (the offer does not parse). */
static const char *answer(const char *offer, const rtw_ws_deflate_config *c)
{
  static char out[RTW_WS_DEFLATE_ELEMENT_MAX + 32];
  rtw_ws_deflate_params o, r;
  int rv = parse(offer, C, &o);

  if (rv != 1) {
    snprintf(out, sizeof out, "ERR %s", rv == 0 ? "not deflate" : rtw_err_name(rv));
    return out;
  }
  rv = rtw_ws_deflate_accept(&o, c, &r);
  if (rv == 0) {
    assert_params(&r, 0, 0, 0, 0, "declined response");
    return "DECLINED";
  }
  assert_int_equal(rv, 1);
  snprintf(out, sizeof out, "%s", text(&r));
  return out;
}

static void expect_answer(const char *offer, const rtw_ws_deflate_config *c, const char *want)
{
  const char *got = answer(offer, c);
  if (strcmp(got, want) != 0)
    fail_msg("offer \"%s\": answered \"%s\", wanted \"%s\"", offer, got, want);
}

/* check_response(c, parse(response from the server)). */
static int check(const char *response, const rtw_ws_deflate_config *c)
{
  rtw_ws_deflate_params r;
  int rv = parse(response, S, &r);

  if (rv != 1)
    return rv == 0 ? 1000 : rv;
  return rtw_ws_deflate_check_response(c, &r);
}

/* ------------------------------------------------------------------ parse: valid */

static void test_parse_valid(void **state)
{
  static const struct {
    const char *in;
    int sct, cct, sb, cb;
  } cases[] = {
      {PMD, 0, 0, 0, 0},
      {PMD SNCT, 1, 0, 0, 0},
      {PMD CNCT, 0, 1, 0, 0},
      {PMD "; server_max_window_bits=8", 0, 0, 8, 0},
      {PMD "; server_max_window_bits=9", 0, 0, 9, 0},
      {PMD "; server_max_window_bits=10", 0, 0, 10, 0},
      {PMD "; server_max_window_bits=12", 0, 0, 12, 0},
      {PMD "; server_max_window_bits=15", 0, 0, 15, 0},
      {PMD "; client_max_window_bits=8", 0, 0, 0, 8},
      {PMD "; client_max_window_bits=11", 0, 0, 0, 11},
      {PMD "; client_max_window_bits=15", 0, 0, 0, 15},
      {PMD SNCT CNCT, 1, 1, 0, 0},
      {PMD CNCT SNCT, 1, 1, 0, 0},
      {PMD SNCT "; server_max_window_bits=10", 1, 0, 10, 0},
      {PMD CNCT "; client_max_window_bits=9", 0, 1, 0, 9},
      {PMD "; server_max_window_bits=13; client_max_window_bits=14", 0, 0, 13, 14},
      {PMD "; client_max_window_bits=10; server_max_window_bits=12" CNCT SNCT, 1, 1, 12, 10},
      {PMD SNCT CNCT "; server_max_window_bits=15; client_max_window_bits=15", 1, 1, 15, 15},
      /* optional whitespace around ';' and '=' and at both ends (RFC 6455 9.1's implied
       * LWS, RFC 9110 5.6.3 OWS / BWS) */
      {PMD ";server_no_context_takeover", 1, 0, 0, 0},
      {" " PMD " ;  server_no_context_takeover  ", 1, 0, 0, 0},
      {"\t" PMD "\t;\tclient_no_context_takeover\t", 0, 1, 0, 0},
      {PMD "; server_max_window_bits = 10", 0, 0, 10, 0},
      {PMD "; server_max_window_bits\t=\t11 ", 0, 0, 11, 0},
      {PMD ";client_max_window_bits=9;server_max_window_bits=9", 0, 0, 9, 9},
      /* quoted-string values (RFC 6455 9.1; RFC 7692 7.1.2.1: the unescaped value counts) */
      {PMD "; server_max_window_bits=\"10\"", 0, 0, 10, 0},
      {PMD "; client_max_window_bits=\"8\"", 0, 0, 0, 8},
      {PMD "; server_max_window_bits=\"1\\2\"", 0, 0, 12, 0},
      {PMD "; server_max_window_bits=\"\\9\"", 0, 0, 9, 0},
      {PMD "; server_max_window_bits = \"15\" ; client_no_context_takeover", 0, 1, 15, 0},
      /* the extension name in any case, as the handshakes compare it */
      {"PerMessage-Deflate" SNCT, 1, 0, 0, 0},
      {"PERMESSAGE-DEFLATE", 0, 0, 0, 0},
  };
  rtw_ws_deflate_params p;
  size_t i;
  (void)state;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int from;
    for (from = 0; from <= 1; from++) {
      int rv = parse(cases[i].in, from, &p);
      if (rv != 1)
        fail_msg("\"%s\" from %d: %s", cases[i].in, from, rtw_err_name(rv));
      assert_params(&p, cases[i].sct, cases[i].cct, cases[i].sb, cases[i].cb, cases[i].in);
    }
  }
  /* value-less client_max_window_bits: only in an offer (RFC 7692 7.1.2.2) */
  assert_int_equal(parse(PMD "; client_max_window_bits", C, &p), 1);
  assert_params(&p, 0, 0, 0, NV, "value-less offer");
  assert_int_equal(parse(PMD "; client_max_window_bits ; server_max_window_bits=10" SNCT, C, &p),
                   1);
  assert_params(&p, 1, 0, 10, NV, "value-less offer with others");
  assert_int_equal(parse(PMD "; client_max_window_bits", S, &p), RTW_ERR_WS_DEFLATE_PARAM);
  assert_params(&p, 0, 0, 0, 0, "zeroed on error");
  /* only len bytes are read: the element need not be NUL-terminated */
  assert_int_equal(rtw_ws_deflate_parse(PMD "; server_max_window_bits=105", 45, C, &p), 1);
  assert_params(&p, 0, 0, 10, 0, "len respected");
  assert_int_equal(rtw_ws_deflate_parse(PMD SNCT "xyz", 18 + 28, S, &p), 1);
  assert_params(&p, 1, 0, 0, 0, "len respected 2");
}

/* ------------------------------------------------------------------ parse: others, invalid */

static void test_parse_other_extensions(void **state)
{
  static const char *const others[] = {
      "",
      "   ",
      "x-webkit-deflate-frame",
      "permessage-deflatex",
      "permessage-deflate2; server_no_context_takeover",
      "permessage",
      "deflate-frame; no_context_takeover",
      "foo; server_max_window_bits=99",
      "; server_no_context_takeover",
      "\"permessage-deflate\"",
      "permessage_deflate",
  };
  rtw_ws_deflate_params p;
  size_t i;
  (void)state;

  for (i = 0; i < sizeof others / sizeof others[0]; i++) {
    memset(&p, 0xAA, sizeof p);
    if (parse(others[i], C, &p) != 0 || parse(others[i], S, &p) != 0)
      fail_msg("\"%s\" is not permessage-deflate", others[i]);
    assert_params(&p, 0, 0, 0, 0, others[i]);
  }
  assert_int_equal(rtw_ws_deflate_parse(NULL, 0, C, &p), 0);
}

static void test_parse_invalid(void **state)
{
  static const char *const bad[] = {
      /* empty and malformed parameter lists */
      PMD ";",
      PMD "; ",
      PMD ";;" " server_no_context_takeover",
      PMD SNCT ";",
      PMD " x",
      PMD ", foo",
      PMD SNCT " x",
      PMD "; =10",
      PMD "; server_no_context_takeover client_no_context_takeover",
      /* unknown parameters, names in another case (RFC 7692 names are lowercase) */
      PMD "; unknown",
      PMD "; x=1",
      PMD "; Server_No_Context_Takeover",
      PMD "; SERVER_MAX_WINDOW_BITS=10",
      PMD "; server_max_window_bit=10",
      PMD "; no_context_takeover",
      PMD "; server_no_context_takeover_",
      /* duplicates (RFC 7692 7) */
      PMD SNCT SNCT,
      PMD CNCT CNCT,
      PMD SNCT CNCT SNCT,
      PMD "; server_max_window_bits=10; server_max_window_bits=10",
      PMD "; server_max_window_bits=10; server_max_window_bits=11",
      PMD "; client_max_window_bits=9; client_max_window_bits=9",
      /* values on the value-less parameters (7.1.1.1, 7.1.1.2) */
      PMD "; server_no_context_takeover=1",
      PMD "; client_no_context_takeover=true",
      PMD "; client_no_context_takeover=\"\"",
      PMD "; server_no_context_takeover=",
      PMD "; server_no_context_takeover=10",
      /* server_max_window_bits needs a value (7.1.2.1) */
      PMD "; server_max_window_bits",
      PMD "; server_max_window_bits" SNCT,
      /* bad values: out of 8..15, leading zero, empty, not digits, bad quoting */
      PMD "; server_max_window_bits=7",
      PMD "; server_max_window_bits=16",
      PMD "; server_max_window_bits=0",
      PMD "; server_max_window_bits=1",
      PMD "; server_max_window_bits=08",
      PMD "; server_max_window_bits=010",
      PMD "; server_max_window_bits=100",
      PMD "; server_max_window_bits=",
      PMD "; server_max_window_bits= ",
      PMD "; server_max_window_bits=\"\"",
      PMD "; server_max_window_bits=\"10",
      PMD "; server_max_window_bits=\"10\\\"",
      PMD "; server_max_window_bits=\"1a\"",
      PMD "; server_max_window_bits=\"100\"",
      PMD "; server_max_window_bits=\" 10\"",
      PMD "; server_max_window_bits=\"10 \"",
      PMD "; server_max_window_bits=\"08\"",
      PMD "; server_max_window_bits=\"10\"x",
      PMD "; server_max_window_bits=\"10\"\"",
      PMD "; server_max_window_bits=10a",
      PMD "; server_max_window_bits=+10",
      PMD "; server_max_window_bits=-9",
      PMD "; server_max_window_bits=9.",
      PMD "; server_max_window_bits=1 0",
      PMD "; server_max_window_bits=0x9",
      PMD "; server_max_window_bits=10=10",
      PMD "; client_max_window_bits=7",
      PMD "; client_max_window_bits=16",
      PMD "; client_max_window_bits=08",
      PMD "; client_max_window_bits=",
      PMD "; client_max_window_bits=\"\"",
      PMD "; client_max_window_bits=\"x\"",
      PMD "; client_max_window_bits=15; client_max_window_bits",
  };
  rtw_ws_deflate_params p;
  size_t i;
  (void)state;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int from;
    for (from = 0; from <= 1; from++) {
      int rv;
      memset(&p, 0xAA, sizeof p);
      rv = parse(bad[i], from, &p);
      if (rv != RTW_ERR_WS_DEFLATE_PARAM)
        fail_msg("\"%s\" from %d: %d (%s), wanted RTW_ERR_WS_DEFLATE_PARAM", bad[i], from, rv,
                 rv < 0 ? rtw_err_name(rv) : "accepted");
      assert_params(&p, 0, 0, 0, 0, bad[i]);
    }
  }
  /* a NUL byte inside the element is just another character */
  assert_int_equal(rtw_ws_deflate_parse(PMD "; server_max_window_bits=1\0", 45, C, &p),
                   RTW_ERR_WS_DEFLATE_PARAM);
}

static void test_parse_arguments(void **state)
{
  rtw_ws_deflate_params p;
  (void)state;
  assert_int_equal(rtw_ws_deflate_parse(PMD, 18, C, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_parse(NULL, 1, C, &p), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_parse(PMD, 18, 2, &p), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_parse(PMD, 18, -1, &p), RTW_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ format, round trips */

static const uint8_t bits_values[] = {0, 8, 9, 10, 11, 12, 13, 14, 15};

/* Every combination of the four parameters: parse(format(p)) == p in both roles (the
 * value-less client_max_window_bits only from a client) and format(parse(x)) == x. */
static void test_format_round_trip(void **state)
{
  size_t a, b, longest = 0;
  int sct, cct;
  (void)state;

  for (sct = 0; sct <= 1; sct++)
    for (cct = 0; cct <= 1; cct++)
      for (a = 0; a < sizeof bits_values; a++)
        for (b = 0; b <= sizeof bits_values; b++) {
          int cb = b == sizeof bits_values ? NV : bits_values[b];
          rtw_ws_deflate_params p = mk(sct, cct, bits_values[a], cb), q;
          char buf[RTW_WS_DEFLATE_ELEMENT_MAX], again[RTW_WS_DEFLATE_ELEMENT_MAX];
          size_t n, n2;

          assert_int_equal(rtw_ws_deflate_format(&p, buf, sizeof buf, &n), 0);
          longest = n > longest ? n : longest;
          assert_int_equal(rtw_ws_deflate_parse(buf, n, C, &q), 1);
          assert_memory_equal(&p, &q, sizeof p);
          assert_int_equal(rtw_ws_deflate_format(&q, again, sizeof again, &n2), 0);
          assert_int_equal(n2, n);
          assert_memory_equal(buf, again, n);
          assert_int_equal(rtw_ws_deflate_parse(buf, n, S, &q),
                           cb == NV ? RTW_ERR_WS_DEFLATE_PARAM : 1);
          if (cb != NV)
            assert_memory_equal(&p, &q, sizeof p);
        }
  assert_int_equal(longest, RTW_WS_DEFLATE_ELEMENT_MAX);
}

static void test_format(void **state)
{
  static const char all[] = PMD SNCT CNCT "; server_max_window_bits=15; client_max_window_bits=15";
  rtw_ws_deflate_params p = mk(1, 1, 15, 15);
  char buf[RTW_WS_DEFLATE_ELEMENT_MAX + 1];
  size_t n = 99, cap;
  (void)state;

  assert_string_equal(text(&p), all);
  p = mk(0, 0, 0, 0);
  assert_string_equal(text(&p), PMD);
  p = mk(0, 1, 9, NV);
  assert_string_equal(text(&p), PMD CNCT "; server_max_window_bits=9; client_max_window_bits");
  p = mk(2, 7, 0, 0); /* any non-zero flag is written */
  assert_string_equal(text(&p), PMD SNCT CNCT);
  /* one byte short: nothing written */
  p = mk(1, 1, 15, 15);
  for (cap = 0; cap < sizeof all - 1; cap++) {
    memset(buf, 'Z', sizeof buf);
    n = 99;
    assert_int_equal(rtw_ws_deflate_format(&p, buf, cap, &n), RTW_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 0);
    assert_int_equal(buf[0], 'Z');
  }
  assert_int_equal(rtw_ws_deflate_format(&p, buf, sizeof all - 1, &n), 0);
  assert_int_equal(n, sizeof all - 1);
  assert_memory_equal(buf, all, n);
  /* values parse() never gives */
  p = mk(0, 0, 7, 0);
  assert_string_equal(text(&p), "ERR RTW_ERR_INVALID_ARGUMENT");
  p = mk(0, 0, 16, 0);
  assert_string_equal(text(&p), "ERR RTW_ERR_INVALID_ARGUMENT");
  p = mk(0, 0, NV, 0); /* value-less only for client_max_window_bits */
  assert_string_equal(text(&p), "ERR RTW_ERR_INVALID_ARGUMENT");
  p = mk(0, 0, 0, 2);
  assert_string_equal(text(&p), "ERR RTW_ERR_INVALID_ARGUMENT");
  p = mk(0, 0, 0, 255);
  assert_string_equal(text(&p), "ERR RTW_ERR_INVALID_ARGUMENT");
  p = mk(0, 0, 0, 0);
  assert_int_equal(rtw_ws_deflate_format(NULL, buf, sizeof buf, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_format(&p, NULL, sizeof buf, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_format(&p, buf, sizeof buf, NULL), RTW_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ server: accept */

/* Autobahn section 13's client offers (offer (no context takeover, server window)): 13.1 a
 * plain offer, 13.2 client_no_context_takeover, 13.3 server_max_window_bits=8, 13.4 =15,
 * 13.5 and 13.6 the same with client_no_context_takeover, 13.7 three offers. */
static void test_accept_autobahn(void **state)
{
  rtw_ws_deflate_config dflt = cfg(0);
  rtw_ws_deflate_config keep =
      cfg(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER);
  (void)state;

  /* the defaults: we reset both contexts */
  expect_answer(PMD, &dflt, PMD SNCT CNCT);                                       /* 13.1 */
  expect_answer(PMD CNCT, &dflt, PMD SNCT CNCT);                                  /* 13.2 */
  /* 13.3 and 13.5: accepted with 8 answered (7.1.2.1); our zlib then deflates at 9, whose
   * distances an 8-bit inflater covers (tests/ws/deflate_zlib_test.c shows it) */
  expect_answer(PMD "; server_max_window_bits=8", &dflt,
                PMD SNCT CNCT "; server_max_window_bits=8");                      /* 13.3 */
  expect_answer(PMD "; server_max_window_bits=15", &dflt,
                PMD SNCT CNCT "; server_max_window_bits=15");                     /* 13.4 */
  expect_answer(PMD CNCT "; server_max_window_bits=8", &dflt,
                PMD SNCT CNCT "; server_max_window_bits=8");                      /* 13.5 */
  expect_answer(PMD CNCT "; server_max_window_bits=15", &dflt,
                PMD SNCT CNCT "; server_max_window_bits=15");                     /* 13.6 */
  /* 13.7: [(True, 8), (True, 0), (False, 0)], the first acceptable offer wins, now the
   * first one (the handshake walks them: tests/http/deflate_handshake_test.c) */
  expect_answer(PMD CNCT "; server_max_window_bits=8", &dflt,
                PMD SNCT CNCT "; server_max_window_bits=8");
  expect_answer(PMD CNCT, &dflt, PMD SNCT CNCT);
  /* context takeover allowed both ways: the answer holds only what the offer asked */
  expect_answer(PMD, &keep, PMD);
  expect_answer(PMD CNCT, &keep, PMD CNCT);
  expect_answer(PMD "; server_max_window_bits=8", &keep, PMD "; server_max_window_bits=8");
  expect_answer(PMD "; server_max_window_bits=15", &keep, PMD "; server_max_window_bits=15");
  expect_answer(PMD CNCT "; server_max_window_bits=8", &keep,
                PMD CNCT "; server_max_window_bits=8");
  expect_answer(PMD CNCT "; server_max_window_bits=15", &keep,
                PMD CNCT "; server_max_window_bits=15");
  expect_answer(PMD SNCT, &keep, PMD SNCT); /* 7.1.1.1: an offered one is answered */
  /* NULL config = the defaults */
  expect_answer(PMD, NULL, PMD SNCT CNCT);
}

static void test_accept_browser_offers(void **state)
{
  rtw_ws_deflate_config c = cfg(0);
  (void)state;

  /* Chromium and Firefox: "permessage-deflate; client_max_window_bits" */
  expect_answer(PMD "; client_max_window_bits", &c, PMD SNCT CNCT);
  /* a limit of our own on the client's window, honoured when the client named the
   * parameter (7.1.2.2) */
  c.inflate_window_bits = 10;
  expect_answer(PMD "; client_max_window_bits", &c, PMD SNCT CNCT "; client_max_window_bits=10");
  expect_answer(PMD "; client_max_window_bits=12", &c,
                PMD SNCT CNCT "; client_max_window_bits=10");
  expect_answer(PMD "; client_max_window_bits=9", &c,
                PMD SNCT CNCT "; client_max_window_bits=9");
  expect_answer(PMD, &c, "DECLINED"); /* the client could not be limited */
  c.inflate_window_bits = 8;          /* decompressing with 8 is fine */
  expect_answer(PMD "; client_max_window_bits", &c, PMD SNCT CNCT "; client_max_window_bits=8");
  c.inflate_window_bits = 15;
  /* a value offered is answered (smaller or equal, 7.1.2.2) even at our default of 15 */
  expect_answer(PMD "; client_max_window_bits=12", &c,
                PMD SNCT CNCT "; client_max_window_bits=12");
  expect_answer(PMD "; client_max_window_bits=8", &c,
                PMD SNCT CNCT "; client_max_window_bits=8");
}

static void test_accept_server_window(void **state)
{
  rtw_ws_deflate_config c = cfg(0);
  unsigned b;
  (void)state;

  /* every offered server limit, 8 included (zlib deflates at 9 for it), answered with the
   * same value */
  for (b = 8; b <= 15; b++) {
    char offer[64], want[128];
    snprintf(offer, sizeof offer, PMD "; server_max_window_bits=%u", b);
    snprintf(want, sizeof want, PMD SNCT CNCT "; server_max_window_bits=%u", b);
    expect_answer(offer, &c, want);
  }
  /* our own smaller window: stated even when not offered (7.1.2.1), the smaller of the two
   * otherwise */
  c.deflate_window_bits = 10;
  expect_answer(PMD, &c, PMD SNCT CNCT "; server_max_window_bits=10");
  expect_answer(PMD "; server_max_window_bits=12", &c,
                PMD SNCT CNCT "; server_max_window_bits=10");
  expect_answer(PMD "; server_max_window_bits=9", &c,
                PMD SNCT CNCT "; server_max_window_bits=9");
  expect_answer(PMD "; server_max_window_bits=8", &c,
                PMD SNCT CNCT "; server_max_window_bits=8");
  c.deflate_window_bits = 9;
  expect_answer(PMD "; server_max_window_bits=8", &c,
                PMD SNCT CNCT "; server_max_window_bits=8");
  expect_answer(PMD "; client_max_window_bits", &c, PMD SNCT CNCT "; server_max_window_bits=9");
  /* all four together */
  c.deflate_window_bits = 11;
  c.inflate_window_bits = 12;
  expect_answer(PMD "; client_max_window_bits; server_max_window_bits=14" SNCT CNCT, &c,
                PMD SNCT CNCT "; server_max_window_bits=11; client_max_window_bits=12");
}

static void test_accept_context_flags(void **state)
{
  rtw_ws_deflate_config c;
  (void)state;

  c = cfg(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER);
  expect_answer(PMD, &c, PMD CNCT);
  expect_answer(PMD SNCT, &c, PMD SNCT CNCT);
  c = cfg(RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER);
  expect_answer(PMD, &c, PMD SNCT);
  expect_answer(PMD CNCT, &c, PMD SNCT CNCT);
  /* client-side flags change nothing on the server */
  c = cfg(RTW_WS_DEFLATE_REQUIRED | RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER);
  expect_answer(PMD, &c, PMD SNCT CNCT);
}

/* The least budget under which `offer` is accepted (by bisection; accept() is monotonic in
 * the budget). */
static size_t least_budget(const char *offer, rtw_ws_deflate_config c)
{
  rtw_ws_deflate_params o, r;
  size_t lo = 1, hi = (size_t)16 << 20;

  assert_int_equal(parse(offer, C, &o), 1);
  c.memory_budget = hi;
  assert_int_equal(rtw_ws_deflate_accept(&o, &c, &r), 1);
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    c.memory_budget = mid;
    if (rtw_ws_deflate_accept(&o, &c, &r) == 1)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static void test_accept_budget(void **state)
{
  rtw_ws_deflate_config c = cfg(0);
  size_t full, small_server, small_client, small_mem;
  char want[160];
  (void)state;

  full = least_budget(PMD "; client_max_window_bits", c);
  /* exactly zlib's estimate for a compressor at 15/8 and a decompressor at 15 */
  assert_int_equal(full, rtw__deflate_mem_estimate(15, 8) + rtw__inflate_mem_estimate(15));
  assert_int_equal(least_budget(PMD "; server_max_window_bits=10; client_max_window_bits=9", c),
                   rtw__deflate_mem_estimate(10, 8) + rtw__inflate_mem_estimate(9));
  /* windows of 8 count as 9: the session runs zlib at 9 for them (rtw_ws_set_deflate()) */
  assert_int_equal(least_budget(PMD "; server_max_window_bits=8; client_max_window_bits=8", c),
                   rtw__deflate_mem_estimate(9, 8) + rtw__inflate_mem_estimate(9));
  /* the default budget holds the default windows */
  assert_true(full <= RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET);
  expect_answer(PMD "; client_max_window_bits", NULL, PMD SNCT CNCT);
  /* smaller windows need less: an offer limiting a window fits where a plain one does not */
  small_server = least_budget(PMD "; server_max_window_bits=10", c);
  small_client = least_budget(PMD "; client_max_window_bits=10", c);
  assert_true(small_server < full);
  assert_true(small_client < full);
  c.deflate_mem_level = 1;
  small_mem = least_budget(PMD, c);
  assert_true(small_mem < full);
  c.deflate_mem_level = 0;
  c.memory_budget = full - 1;
  expect_answer(PMD "; client_max_window_bits", &c, "DECLINED");
  expect_answer(PMD "; server_max_window_bits=10", &c,
                PMD SNCT CNCT "; server_max_window_bits=10");
  expect_answer(PMD "; client_max_window_bits=10", &c,
                PMD SNCT CNCT "; client_max_window_bits=10");
  c.memory_budget = full;
  expect_answer(PMD "; client_max_window_bits", &c, PMD SNCT CNCT);
  c.memory_budget = 1;
  expect_answer(PMD, &c, "DECLINED");
  expect_answer(PMD "; server_max_window_bits=9; client_max_window_bits=8", &c, "DECLINED");
  snprintf(want, sizeof want, "%s", PMD SNCT CNCT);
  c.memory_budget = (size_t)-1;
  expect_answer(PMD, &c, want);
}

static void test_accept_arguments(void **state)
{
  rtw_ws_deflate_params o = mk(0, 0, 0, 0), r;
  rtw_ws_deflate_config c;
  (void)state;

  assert_int_equal(rtw_ws_deflate_accept(NULL, NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_accept(&o, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  o = mk(0, 0, 7, 0);
  memset(&r, 0xAA, sizeof r);
  assert_int_equal(rtw_ws_deflate_accept(&o, NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  assert_params(&r, 0, 0, 0, 0, "zeroed");
  o = mk(0, 0, 0, 16);
  assert_int_equal(rtw_ws_deflate_accept(&o, NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  o = mk(0, 0, NV, 0);
  assert_int_equal(rtw_ws_deflate_accept(&o, NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  o = mk(0, 0, 0, 0);
#define BAD_CONFIG(stmt)                                                                    \
  do {                                                                                      \
    char b[RTW_WS_DEFLATE_ELEMENT_MAX];                                                     \
    size_t n;                                                                               \
    c = cfg(0);                                                                             \
    stmt;                                                                                   \
    assert_int_equal(rtw_ws_deflate_accept(&o, &c, &r), RTW_ERR_INVALID_ARGUMENT);          \
    assert_int_equal(rtw_ws_deflate_offer(&c, b, sizeof b, &n), RTW_ERR_INVALID_ARGUMENT);  \
    assert_int_equal(rtw_ws_deflate_check_response(&c, &o), RTW_ERR_INVALID_ARGUMENT);      \
  } while (0)
  BAD_CONFIG(c.version = 0);
  BAD_CONFIG(c.version = RTW_WS_DEFLATE_CONFIG_VERSION + 1);
  BAD_CONFIG(c.flags = 0x20);
  BAD_CONFIG(c.level = 10);
  BAD_CONFIG(c.deflate_window_bits = 8);
  BAD_CONFIG(c.deflate_window_bits = 16);
  BAD_CONFIG(c.deflate_mem_level = 10);
  BAD_CONFIG(c.inflate_window_bits = 7);
  BAD_CONFIG(c.inflate_window_bits = 16);
#undef BAD_CONFIG
  /* the edges that are allowed */
  c = cfg(0);
  c.level = 9;
  c.deflate_window_bits = 9;
  c.deflate_mem_level = 9;
  c.inflate_window_bits = 8;
  o = mk(0, 0, 0, NV);
  assert_int_equal(rtw_ws_deflate_accept(&o, &c, &r), 1);
  c.level = 1;
  c.deflate_mem_level = 1;
  c.deflate_window_bits = 15;
  c.inflate_window_bits = 15;
  assert_int_equal(rtw_ws_deflate_accept(&o, &c, &r), 1);
}

/* ------------------------------------------------------------------ client: offer, check */

static const char *offer_text(const rtw_ws_deflate_config *c)
{
  static char buf[RTW_WS_DEFLATE_ELEMENT_MAX + 1];
  size_t n = 0;
  int rv = rtw_ws_deflate_offer(c, buf, RTW_WS_DEFLATE_ELEMENT_MAX, &n);
  if (rv != 0)
    snprintf(buf, sizeof buf, "ERR %s", rtw_err_name(rv));
  else
    buf[n] = '\0';
  return buf;
}

static void test_offer(void **state)
{
  rtw_ws_deflate_config c = cfg(0);
  char buf[8];
  size_t n = 5;
  (void)state;

  assert_string_equal(offer_text(NULL), PMD SNCT CNCT "; client_max_window_bits");
  assert_string_equal(offer_text(&c), PMD SNCT CNCT "; client_max_window_bits");
  c.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER;
  assert_string_equal(offer_text(&c), PMD SNCT "; client_max_window_bits");
  c.flags = RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  assert_string_equal(offer_text(&c), PMD CNCT "; client_max_window_bits");
  c.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  assert_string_equal(offer_text(&c), PMD "; client_max_window_bits");
  c.flags |= RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER;
  assert_string_equal(offer_text(&c), PMD);
  c.flags = RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER | RTW_WS_DEFLATE_REQUIRED;
  assert_string_equal(offer_text(&c), PMD SNCT CNCT);
  c.flags = 0;
  c.inflate_window_bits = 10;
  assert_string_equal(offer_text(&c),
                      PMD SNCT CNCT "; server_max_window_bits=10; client_max_window_bits");
  c.inflate_window_bits = 8;
  assert_string_equal(offer_text(&c),
                      PMD SNCT CNCT "; server_max_window_bits=8; client_max_window_bits");
  /* our compressor's settings are ours alone: not in the offer */
  c = cfg(0);
  c.deflate_window_bits = 9;
  c.level = 1;
  c.deflate_mem_level = 1;
  assert_string_equal(offer_text(&c), PMD SNCT CNCT "; client_max_window_bits");
  assert_int_equal(rtw_ws_deflate_offer(NULL, buf, sizeof buf, &n), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, 0);
  assert_int_equal(rtw_ws_deflate_offer(NULL, NULL, 100, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_deflate_offer(NULL, buf, sizeof buf, NULL), RTW_ERR_INVALID_ARGUMENT);
}

#define OK 0
#define BAD RTW_ERR_WS_DEFLATE_PARAM

static void test_check_response(void **state)
{
  rtw_ws_deflate_config c = cfg(0);
  rtw_ws_deflate_params r;
  (void)state;

  /* defaults: we offered server_no_context_takeover, client_no_context_takeover and a
   * value-less client_max_window_bits */
  assert_int_equal(check(PMD SNCT, &c), OK);
  assert_int_equal(check(PMD SNCT CNCT, &c), OK);
  assert_int_equal(check(PMD, &c), BAD); /* 7.1.1.1: server_no_context_takeover unanswered */
  assert_int_equal(check(PMD CNCT, &c), BAD);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=10", &c), OK); /* 7.1.2.1 may */
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=8", &c), OK); /* we inflate 8 */
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=15", &c), OK);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=9", &c), OK);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=15", &c), OK);
  /* 8: our zlib deflates at 9, whose distances (<= 250) the server's 8-bit window holds */
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=8", &c), OK);
  c.deflate_window_bits = 9;
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=8", &c), OK);
  c.deflate_window_bits = 0;
  assert_int_equal(check(PMD SNCT "; client_max_window_bits", &c), RTW_ERR_WS_DEFLATE_PARAM);
  assert_int_equal(check(PMD SNCT CNCT "; server_max_window_bits=12; client_max_window_bits=11",
                         &c),
                   OK);
  /* malformed responses fail in parse() already */
  assert_int_equal(check(PMD SNCT SNCT, &c), BAD);
  assert_int_equal(check(PMD SNCT "; x", &c), BAD);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=16", &c), BAD);
  /* we did not offer client_max_window_bits (7.1.2.2) */
  c.flags = RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER;
  assert_int_equal(check(PMD SNCT, &c), OK);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=10", &c), BAD);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=15", &c), BAD);
  /* we let the server keep its context: no server_no_context_takeover needed */
  c.flags = RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  assert_int_equal(check(PMD, &c), OK);
  assert_int_equal(check(PMD SNCT, &c), OK);
  assert_int_equal(check(PMD CNCT, &c), OK);
  /* we limited the server's window (7.1.2.1: answered with the same or a smaller value) */
  c = cfg(0);
  c.inflate_window_bits = 10;
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=10", &c), OK);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=9", &c), OK);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=8", &c), OK);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=11", &c), BAD);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=15", &c), BAD);
  assert_int_equal(check(PMD SNCT, &c), BAD);
  /* our memory budget: a response whose windows would not fit fails */
  c = cfg(0);
  c.memory_budget = 1;
  assert_int_equal(check(PMD SNCT, &c), BAD);
  c.memory_budget = least_budget(PMD "; client_max_window_bits", cfg(0));
  assert_int_equal(check(PMD SNCT, &c), OK);
  c.memory_budget--;
  assert_int_equal(check(PMD SNCT, &c), BAD);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=14", &c), OK);
  assert_int_equal(check(PMD SNCT "; server_max_window_bits=14", &c), OK);
  /* a client window of 8 is estimated at 9 */
  c.memory_budget = rtw__deflate_mem_estimate(9, 8) + rtw__inflate_mem_estimate(15);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=8", &c), OK);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=9", &c), OK);
  c.memory_budget--;
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=8", &c), BAD);
  assert_int_equal(check(PMD SNCT "; client_max_window_bits=9", &c), BAD);
  /* NULL config = the defaults; arguments */
  assert_int_equal(check(PMD SNCT, NULL), OK);
  assert_int_equal(check(PMD, NULL), BAD);
  assert_int_equal(rtw_ws_deflate_check_response(NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  r = mk(1, 0, 7, 0);
  assert_int_equal(rtw_ws_deflate_check_response(NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  r = mk(1, 0, 0, 16);
  assert_int_equal(rtw_ws_deflate_check_response(NULL, &r), RTW_ERR_INVALID_ARGUMENT);
  r = mk(1, 0, 0, NV); /* never from parse(from server): a value-less answer */
  assert_int_equal(rtw_ws_deflate_check_response(NULL, &r), BAD);
}

/* Our client against our server over a grid of both configs: whatever the server answers
 * to our offer, the client accepts it, a client window of 8 included (a server configured
 * to inflate with 8; our zlib deflates at 9 for it). */
static void test_client_server_grid(void **state)
{
  static const uint32_t flags[] = {0, RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER,
                                   RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER,
                                   RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER,
                                   RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER |
                                       RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER |
                                       RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER};
  static const uint8_t wins[] = {8, 9, 12, 15};
  size_t fc, fs, ic, is, ds, accepted = 0, declined = 0, server8 = 0, client8 = 0;
  (void)state;

  for (fc = 0; fc < sizeof flags / sizeof flags[0]; fc++)
    for (ic = 0; ic < sizeof wins; ic++)
      for (fs = 0; fs < sizeof flags / sizeof flags[0]; fs++)
        for (is = 0; is < sizeof wins; is++)
          for (ds = 1; ds < sizeof wins; ds++) {
            rtw_ws_deflate_config cc = cfg(flags[fc]), sc = cfg(flags[fs]);
            rtw_ws_deflate_params o, r, back;
            char off[RTW_WS_DEFLATE_ELEMENT_MAX], resp[RTW_WS_DEFLATE_ELEMENT_MAX];
            size_t on, rn;
            int rv;

            cc.inflate_window_bits = wins[ic];
            sc.inflate_window_bits = wins[is];
            sc.deflate_window_bits = wins[ds];
            assert_int_equal(rtw_ws_deflate_offer(&cc, off, sizeof off, &on), 0);
            assert_int_equal(rtw_ws_deflate_parse(off, on, C, &o), 1);
            rv = rtw_ws_deflate_accept(&o, &sc, &r);
            if (rv == 0) {
              /* declined only when the server must limit a client that did not offer it */
              assert_true(o.client_max_window_bits == 0 && wins[is] < 15);
              declined++;
              continue;
            }
            assert_int_equal(rv, 1);
            assert_int_equal(rtw_ws_deflate_format(&r, resp, sizeof resp, &rn), 0);
            assert_int_equal(rtw_ws_deflate_parse(resp, rn, S, &back), 1);
            assert_memory_equal(&back, &r, sizeof r);
            assert_int_equal(rtw_ws_deflate_check_response(&cc, &back), 0);
            accepted++;
            server8 += back.server_max_window_bits == 8;
            client8 += back.client_max_window_bits == 8;
          }
  assert_true(accepted > 0 && declined > 0 && server8 > 0 && client8 > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_valid),
      cmocka_unit_test(test_parse_other_extensions),
      cmocka_unit_test(test_parse_invalid),
      cmocka_unit_test(test_parse_arguments),
      cmocka_unit_test(test_format_round_trip),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_accept_autobahn),
      cmocka_unit_test(test_accept_browser_offers),
      cmocka_unit_test(test_accept_server_window),
      cmocka_unit_test(test_accept_context_flags),
      cmocka_unit_test(test_accept_budget),
      cmocka_unit_test(test_accept_arguments),
      cmocka_unit_test(test_offer),
      cmocka_unit_test(test_check_response),
      cmocka_unit_test(test_client_server_grid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
