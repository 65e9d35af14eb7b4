/* SPDX-License-Identifier: MIT */
/* libFuzzer target for permessage-deflate negotiation (lib/ws/deflate_ext.c and the handshake
 * glue, RFC 7692 5 and 7.1): the element parser in both roles against a reference written
 * here, format/parse round trips, the server's decision against the rules of 7.1, our
 * client's check of the server's answer, and both through the handshake objects.
 *
 * Input layout:
 *
 *   byte 0  server config: bits 0-3 flags (RTW_WS_DEFLATE_*), bit 4 an unknown flag (the
 *           config is then invalid), bits 5-7 memory_budget (0 default, else k * 48 KiB)
 *   byte 1  server config: bits 0-3 inflate_window_bits, bits 4-7 deflate_window_bits (0 is
 *           the default; values outside 8..15 / 9..15 make the config invalid)
 *   byte 2  server config: bits 0-3 deflate_mem_level (0 default, above 9 invalid)
 *   rest    a Sec-WebSocket-Extensions value: split into elements at commas outside
 *           quoted-strings, as the handshakes' list walker does
 *
 * Oracles, for every element:
 * - parse() from a client and from a server: 0 exactly when the element does not start with
 *   the token permessage-deflate (case-insensitive); otherwise 1 or RTW_ERR_WS_DEFLATE_PARAM
 *   exactly as the reference parser below decides (a different algorithm: split at ';'
 *   outside quotes, then at the first '='), with the same parameters; zeroed parameters
 *   unless 1; the roles differ only by a value-less client_max_window_bits;
 * - format(parse(x)) parses back to the same parameters, format() is canonical
 *   (format(parse(format(p))) == format(p)), within RTW_WS_DEFLATE_ELEMENT_MAX, and one byte
 *   of room less is refused with nothing written;
 * - an offer (parsed from a client) given to accept() under the fuzzed config: an invalid
 *   config gives RTW_ERR_INVALID_ARGUMENT; declined exactly for an inflate limit the offer
 *   cannot carry, or the budget (then a huge budget accepts); an answer holds every offered
 *   *_no_context_takeover, a server window <= the offer's (8 answered as 8: our zlib
 *   deflates at 9 for it), a client window only when offered and <= its value, and the
 *   answer, formatted and parsed from a server, is accepted by check_response() under the
 *   client config the offer stands for (a client window of 8 included);
 * - offer() of that client config parses back to the same parameters (a client value becomes
 *   the value-less form we send).
 * Then, when the value is a plain field value: a server handshake fed a real request with it
 * as `Sec-WebSocket-Extensions` completes, and rtw_ws_handshake_server_accept_deflate()
 * answers exactly the first offer accept() takes (RTW_ERR_INVALID_ARGUMENT for an invalid
 * config, 0 when none), its 101 carrying that answer formatted, or no extension field; a
 * client handshake that offered what that offer stands for reads the answer back with
 * rtw_ws_handshake_client_deflate() (RTW_ERR_WS_DEFLATE_PARAM when the element is repeated
 * in the response).
 * The handshakes allocate through the C library: no allocation schedule here (the handshake
 * targets have theirs).
 */
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/http.h"
#include "rtweb/ws.h"

#define NV RTW_WS_DEFLATE_BITS_NO_VALUE

/* ------------------------------------------------------------------ reference parser */

static int ows(uint8_t c)
{
  return c == ' ' || c == '\t';
}

static int tchar(uint8_t c)
{
  static const char extra[] = "!#$%&'*+-.^_`|~";
  size_t i;
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  for (i = 0; i < sizeof extra - 1; i++)
    if (c == (uint8_t)extra[i])
      return 1;
  return 0;
}

static void trim(const uint8_t **p, size_t *n)
{
  while (*n > 0 && ows((*p)[0])) {
    (*p)++;
    (*n)--;
  }
  while (*n > 0 && ows((*p)[*n - 1]))
    (*n)--;
}

static int all_tchar(const uint8_t *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (!tchar(p[i]))
      return 0;
  return n > 0;
}

/* Where the next `sep` outside a quoted-string is, or n. */
static size_t find_sep(const uint8_t *p, size_t n, uint8_t sep)
{
  size_t i;
  int q = 0;
  for (i = 0; i < n; i++) {
    if (q && p[i] == '\\' && i + 1 < n)
      i++;
    else if (p[i] == '"')
      q = !q;
    else if (!q && p[i] == sep)
      return i;
  }
  return n;
}

/* A value (token or whole quoted-string, already trimmed) as window bits, 0 when invalid. */
static int ref_bits(const uint8_t *p, size_t n)
{
  uint8_t d[4];
  size_t i, k = 0;

  if (n >= 1 && p[0] == '"') { /* RFC 9110 5.6.4: the closing quote must end the value */
    for (i = 1;; i++) {
      if (i >= n)
        return 0; /* unterminated */
      if (p[i] == '"') {
        if (i != n - 1)
          return 0;
        break;
      }
      if (p[i] == '\\' && ++i >= n)
        return 0;
      if (k == sizeof d)
        return 0;
      d[k++] = p[i];
    }
  } else {
    if (!all_tchar(p, n) || n > sizeof d)
      return 0;
    memcpy(d, p, n);
    k = n;
  }
  if (k == 1 && (d[0] == '8' || d[0] == '9'))
    return d[0] - '0';
  if (k == 2 && d[0] == '1' && d[1] >= '0' && d[1] <= '5')
    return 10 + d[1] - '0';
  return 0;
}

static const char *const names[4] = {"server_no_context_takeover", "client_no_context_takeover",
                                      "server_max_window_bits", "client_max_window_bits"};

/* 0 another extension, 1 valid, -1 invalid (parameters partly filled). */
static int ref_parse_raw(const uint8_t *e, size_t n, int from, rtw_ws_deflate_params *pr)
{
  static const char pmd[] = "permessage-deflate";
  const uint8_t *p;
  size_t i, len, cut, k, nlen;
  unsigned seen = 0;

  memset(pr, 0, sizeof *pr);
  for (i = 0; i < n && ows(e[i]); i++)
    ;
  for (len = 0; i + len < n && tchar(e[i + len]); len++)
    ;
  if (len != sizeof pmd - 1)
    return 0;
  for (k = 0; k < len; k++) {
    uint8_t c = e[i + k] >= 'A' && e[i + k] <= 'Z' ? (uint8_t)(e[i + k] + 32) : e[i + k];
    if (c != (uint8_t)pmd[k])
      return 0;
  }
  p = e + i + len;
  n -= i + len;
  trim(&p, &n);
  if (n == 0)
    return 1;
  if (p[0] != ';')
    return -1;
  p++;
  n--;
  for (;;) { /* one parameter per ';'-separated piece */
    const uint8_t *piece = p, *name, *val = NULL;
    size_t plen = find_sep(p, n, ';'), vlen = 0;
    int which = -1, bits = 0;

    name = piece;
    cut = find_sep(piece, plen, '=');
    nlen = cut;
    if (cut < plen) {
      val = piece + cut + 1;
      vlen = plen - cut - 1;
      trim(&val, &vlen);
    }
    trim(&name, &nlen);
    for (k = 0; k < 4; k++)
      if (strlen(names[k]) == nlen && memcmp(names[k], name, nlen) == 0)
        which = (int)k;
    if (which < 0 || (seen & (1u << which)))
      return -1;
    seen |= 1u << which;
    if (val != NULL && (bits = ref_bits(val, vlen)) == 0)
      return -1;
    if (which < 2) {
      if (val != NULL)
        return -1;
      if (which == 0)
        pr->server_no_context_takeover = 1;
      else
        pr->client_no_context_takeover = 1;
    } else if (which == 2) {
      if (val == NULL)
        return -1;
      pr->server_max_window_bits = (uint8_t)bits;
    } else {
      if (val == NULL && from != RTW_WS_ROLE_CLIENT)
        return -1;
      pr->client_max_window_bits = (uint8_t)(val == NULL ? (int)NV : bits);
    }
    if (plen == n)
      return 1;
    p += plen + 1;
    n -= plen + 1;
  }
}

static int ref_parse(const uint8_t *e, size_t n, int from, rtw_ws_deflate_params *pr)
{
  int rv = ref_parse_raw(e, n, from, pr);
  if (rv != 1)
    memset(pr, 0, sizeof *pr);
  return rv;
}

/* ------------------------------------------------------------------ format checks */

static void check_format(const rtw_ws_deflate_params *p, int from)
{
  char buf[RTW_WS_DEFLATE_ELEMENT_MAX], again[RTW_WS_DEFLATE_ELEMENT_MAX];
  char small[RTW_WS_DEFLATE_ELEMENT_MAX];
  rtw_ws_deflate_params q;
  size_t n, n2, ns = 99;

  FUZZ_CHECK(rtw_ws_deflate_format(p, buf, sizeof buf, &n) == 0);
  FUZZ_CHECK(n >= 18 && n <= RTW_WS_DEFLATE_ELEMENT_MAX);
  FUZZ_CHECK(rtw_ws_deflate_parse(buf, n, from, &q) == 1);
  FUZZ_CHECK(memcmp(&q, p, sizeof q) == 0);
  FUZZ_CHECK(rtw_ws_deflate_format(&q, again, sizeof again, &n2) == 0);
  FUZZ_CHECK(n2 == n && memcmp(buf, again, n) == 0);
  memset(small, 'Z', sizeof small);
  FUZZ_CHECK(rtw_ws_deflate_format(p, small, n - 1, &ns) == RTW_ERR_BUFFER_TOO_SMALL);
  FUZZ_CHECK(ns == 0 && small[0] == 'Z');
}

/* ------------------------------------------------------------------ server and client */

typedef struct srv_cfg {
  rtw_ws_deflate_config c;
  int valid;
  unsigned dw, iw; /* effective windows */
} srv_cfg;

static void read_config(fuzz_in *in, srv_cfg *s)
{
  uint8_t b0 = fuzz_u8(in), b1 = fuzz_u8(in), b2 = fuzz_u8(in);
  unsigned iw = b1 & 15u, dw = b1 >> 4, ml = b2 & 15u;

  memset(s, 0, sizeof *s);
  s->c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  s->c.flags = (b0 & 15u) | ((b0 & 16u) ? 0x100u : 0u);
  s->c.memory_budget = (size_t)(b0 >> 5) * 48u * 1024u;
  s->c.inflate_window_bits = (uint8_t)iw;
  s->c.deflate_window_bits = (uint8_t)dw;
  s->c.deflate_mem_level = (uint8_t)ml;
  s->valid = !(b0 & 16u) && (iw == 0 || iw >= 8) && (dw == 0 || dw >= 9) && ml <= 9;
  s->iw = iw ? iw : 15;
  s->dw = dw ? dw : 15;
}

/* The client config whose offer is closest to `o` (a client value becomes value-less). */
static rtw_ws_deflate_config client_for(const rtw_ws_deflate_params *o)
{
  rtw_ws_deflate_config c;
  memset(&c, 0, sizeof c);
  c.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  if (!o->server_no_context_takeover)
    c.flags |= RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  if (!o->client_no_context_takeover)
    c.flags |= RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER;
  if (o->client_max_window_bits == 0)
    c.flags |= RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER;
  c.inflate_window_bits = o->server_max_window_bits ? o->server_max_window_bits : 15;
  c.memory_budget = (size_t)-1;
  return c;
}

static void check_client_offer(const rtw_ws_deflate_config *cc, const rtw_ws_deflate_params *o)
{
  char buf[RTW_WS_DEFLATE_ELEMENT_MAX];
  rtw_ws_deflate_params q, want = *o;
  size_t n;

  if (want.client_max_window_bits != 0)
    want.client_max_window_bits = NV;
  if (want.server_max_window_bits == 15) /* the default: not offered */
    want.server_max_window_bits = 0;
  FUZZ_CHECK(rtw_ws_deflate_offer(cc, buf, sizeof buf, &n) == 0);
  FUZZ_CHECK(rtw_ws_deflate_parse(buf, n, RTW_WS_ROLE_CLIENT, &q) == 1);
  FUZZ_CHECK(memcmp(&q, &want, sizeof q) == 0);
}

static void check_accept(const rtw_ws_deflate_params *o, const srv_cfg *s)
{
  rtw_ws_deflate_params r, back;
  rtw_ws_deflate_config cc, big;
  char buf[RTW_WS_DEFLATE_ELEMENT_MAX];
  size_t n;
  int rv = rtw_ws_deflate_accept(o, &s->c, &r), must_decline;

  if (!s->valid) {
    FUZZ_CHECK(rv == RTW_ERR_INVALID_ARGUMENT);
    return;
  }
  must_decline = o->client_max_window_bits == 0 && s->iw < 15;
  if (rv == 0) {
    FUZZ_CHECK(r.server_no_context_takeover == 0 && r.client_no_context_takeover == 0 &&
               r.server_max_window_bits == 0 && r.client_max_window_bits == 0);
    if (!must_decline) { /* then only the budget can have declined it */
      big = s->c;
      big.memory_budget = (size_t)-1;
      FUZZ_CHECK(rtw_ws_deflate_accept(o, &big, &r) == 1);
    }
    return;
  }
  FUZZ_CHECK(rv == 1 && !must_decline);
  /* RFC 7692 7.1.1.1, 7.1.1.2 */
  FUZZ_CHECK(r.server_no_context_takeover >= o->server_no_context_takeover);
  FUZZ_CHECK(r.client_no_context_takeover >= o->client_no_context_takeover);
  FUZZ_CHECK(r.server_no_context_takeover ==
             (o->server_no_context_takeover ||
              !(s->c.flags & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER)));
  FUZZ_CHECK(r.client_no_context_takeover ==
             (o->client_no_context_takeover ||
              !(s->c.flags & RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER)));
  /* 7.1.2.1: the same or smaller; an offered 8 is answered 8 (zlib deflates at 9, whose
   * distances stay within 256 bytes) */
  FUZZ_CHECK(r.server_max_window_bits != NV);
  if (o->server_max_window_bits == 8)
    FUZZ_CHECK(r.server_max_window_bits == 8);
  if (o->server_max_window_bits != 0)
    FUZZ_CHECK(r.server_max_window_bits != 0 &&
               r.server_max_window_bits <= o->server_max_window_bits);
  FUZZ_CHECK(r.server_max_window_bits == 0 || r.server_max_window_bits <= s->dw);
  /* 7.1.2.2: only when offered, with a value, <= the offered value and our limit */
  FUZZ_CHECK(r.client_max_window_bits != NV);
  if (o->client_max_window_bits == 0)
    FUZZ_CHECK(r.client_max_window_bits == 0);
  if (o->client_max_window_bits != 0 && o->client_max_window_bits != NV)
    FUZZ_CHECK(r.client_max_window_bits != 0 &&
               r.client_max_window_bits <= o->client_max_window_bits);
  FUZZ_CHECK(r.client_max_window_bits <= s->iw);
  /* the answer on the wire, read by our client */
  FUZZ_CHECK(rtw_ws_deflate_format(&r, buf, sizeof buf, &n) == 0);
  FUZZ_CHECK(rtw_ws_deflate_parse(buf, n, RTW_WS_ROLE_SERVER, &back) == 1);
  FUZZ_CHECK(memcmp(&back, &r, sizeof r) == 0);
  cc = client_for(o);
  check_client_offer(&cc, o);
  rv = rtw_ws_deflate_check_response(&cc, &back);
  FUZZ_CHECK(rv == 0);
}

/* ------------------------------------------------------------------ one element */

/* Checks one element; returns 1 when it is an offer the server accepts (answer in *ans). */
static int element(const uint8_t *e, size_t n, const srv_cfg *s, rtw_ws_deflate_params *offer,
                   rtw_ws_deflate_params *ans)
{
  rtw_ws_deflate_params pc, ps, rc, rs;
  int vc = rtw_ws_deflate_parse((const char *)e, n, RTW_WS_ROLE_CLIENT, &pc);
  int vs = rtw_ws_deflate_parse((const char *)e, n, RTW_WS_ROLE_SERVER, &ps);
  int wc = ref_parse(e, n, RTW_WS_ROLE_CLIENT, &rc);
  int ws = ref_parse(e, n, RTW_WS_ROLE_SERVER, &rs);

  FUZZ_CHECK(vc == (wc < 0 ? RTW_ERR_WS_DEFLATE_PARAM : wc));
  FUZZ_CHECK(vs == (ws < 0 ? RTW_ERR_WS_DEFLATE_PARAM : ws));
  FUZZ_CHECK(memcmp(&pc, &rc, sizeof pc) == 0);
  FUZZ_CHECK(memcmp(&ps, &rs, sizeof ps) == 0);
  /* the roles differ only by a value-less client_max_window_bits */
  if (vs == 1)
    FUZZ_CHECK(vc == 1 && memcmp(&pc, &ps, sizeof pc) == 0);
  if (vc == 1 && vs != 1)
    FUZZ_CHECK(pc.client_max_window_bits == NV && vs == RTW_ERR_WS_DEFLATE_PARAM);
  if (vc == 0)
    FUZZ_CHECK(vs == 0);
  if (vs == 1)
    check_format(&ps, RTW_WS_ROLE_SERVER);
  if (vc == 1) {
    check_format(&pc, RTW_WS_ROLE_CLIENT);
    check_accept(&pc, s);
    if (s->valid && rtw_ws_deflate_accept(&pc, &s->c, ans) == 1) {
      *offer = pc;
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ through the handshakes */

#define REQ_HEAD                                                                            \
  "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"              \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"             \
  "Sec-WebSocket-Extensions: "

typedef struct hs_ctx {
  const rtw_ws_deflate_config *config;
  rtw_ws_deflate_params neg;
  int rv;
} hs_ctx;

static int on_upgrade(rtw_ws_handshake_server *hs, void *ud)
{
  hs_ctx *ctx = ud;
  ctx->rv = rtw_ws_handshake_server_accept_deflate(hs, ctx->config, &ctx->neg);
  return 0;
}

/* A field value llhttp takes as it is: visible ASCII, SP and HTAB, not starting or ending
 * with whitespace (that would be trimmed), at least one byte. */
static int plain_value(const uint8_t *v, size_t n)
{
  size_t i;
  if (n == 0 || ows(v[0]) || ows(v[n - 1]))
    return 0;
  for (i = 0; i < n; i++)
    if ((v[i] < 0x20 && v[i] != '\t') || v[i] >= 0x7F)
      return 0;
  return 1;
}

static void put(uint8_t *buf, size_t *at, const void *p, size_t n)
{
  memcpy(buf + *at, p, n);
  *at += n;
}

#define PUT_LIT(buf, at, s) put(buf, at, s, sizeof(s) - 1)

static int fixed_random(rtw_ws_handshake_client *hs, void *buf, size_t len, void *ud)
{
  (void)hs;
  (void)ud;
  memset(buf, 7, len);
  return 0;
}

/* Our client offers what `offer` stands for and receives `text` (twice when `twice`). */
static void client_reads(const rtw_ws_deflate_params *offer, const rtw_ws_deflate_params *ans,
                         const char *text, size_t tlen, int twice)
{
  static uint8_t resp[1024];
  rtw_ws_handshake_client_callbacks cb = {RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION};
  rtw_ws_handshake_client_settings st;
  rtw_ws_handshake_client *hc;
  rtw_ws_deflate_config cc = client_for(offer);
  rtw_ws_deflate_params got;
  char off[RTW_WS_DEFLATE_ELEMENT_MAX], key[RTW_WS_KEY_LEN], acc[RTW_WS_ACCEPT_LEN];
  const char *req;
  const void *reqv;
  size_t on, qlen, at = 0, nread;
  int want;

  FUZZ_CHECK(rtw_ws_deflate_offer(&cc, off, sizeof off, &on) == 0);
  memset(&st, 0, sizeof st);
  st.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION;
  st.host = "h";
  st.host_len = 1;
  st.extensions = off;
  st.extensions_len = on;
  cb.random = fixed_random;
  FUZZ_CHECK(rtw_ws_handshake_client_new(&hc, &cb, &st, NULL, NULL) == 0);
  FUZZ_CHECK(rtw_ws_handshake_client_request(hc, &reqv, &qlen) == 0);
  req = (const char *)fuzz_find(reqv, qlen, "Sec-WebSocket-Key: ");
  FUZZ_CHECK(req != NULL);
  memcpy(key, req + 19, sizeof key);
  FUZZ_CHECK(rtw_ws_handshake_accept_value(key, sizeof key, acc) == 0);
  PUT_LIT(resp, &at, "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  PUT_LIT(resp, &at, "Sec-WebSocket-Accept: ");
  put(resp, &at, acc, sizeof acc);
  PUT_LIT(resp, &at, "\r\nSec-WebSocket-Extensions: ");
  put(resp, &at, text, tlen);
  if (twice) {
    PUT_LIT(resp, &at, ", ");
    put(resp, &at, text, tlen);
  }
  PUT_LIT(resp, &at, "\r\n\r\n");
  FUZZ_CHECK(rtw_ws_handshake_client_recv(hc, resp, at, &nread) == RTW_WS_HANDSHAKE_DONE);
  want = twice ? RTW_ERR_WS_DEFLATE_PARAM : 1;
  FUZZ_CHECK(rtw_ws_handshake_client_deflate(hc, &cc, &got) == want);
  if (want == 1)
    FUZZ_CHECK(memcmp(&got, ans, sizeof got) == 0);
  rtw_ws_handshake_client_free(hc);
}

/* rtw_ws_handshake_server_accept_deflate() on a real head answers the first acceptable
 * offer (`found`, `ans`) exactly; our client, having offered what `offer` stands for,
 * reads that answer back (and refuses it repeated). */
static void handshakes(const uint8_t *v, size_t n, const srv_cfg *s, int found,
                       const rtw_ws_deflate_params *offer, const rtw_ws_deflate_params *ans)
{
  static uint8_t buf[4096 + 512];
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  hs_ctx ctx;
  char text[RTW_WS_DEFLATE_ELEMENT_MAX];
  const void *resp;
  size_t at = 0, nread, rlen, tlen = 0;
  int rv;

  if (!plain_value(v, n) || n > 4096)
    return;
  put(buf, &at, REQ_HEAD, sizeof REQ_HEAD - 1);
  put(buf, &at, v, n);
  PUT_LIT(buf, &at, "\r\n\r\n");
  memset(&ctx, 0, sizeof ctx);
  ctx.config = &s->c;
  ctx.rv = 99;
  cb.on_upgrade = on_upgrade;
  FUZZ_CHECK(rtw_ws_handshake_server_new(&hs, &cb, NULL, NULL, &ctx) == 0);
  rv = rtw_ws_handshake_server_recv(hs, buf, at, &nread);
  FUZZ_CHECK(rv == RTW_WS_HANDSHAKE_DONE);
  FUZZ_CHECK(ctx.rv == (!s->valid ? RTW_ERR_INVALID_ARGUMENT : found));
  if (ctx.rv == 1)
    FUZZ_CHECK(memcmp(&ctx.neg, ans, sizeof *ans) == 0);
  FUZZ_CHECK(rtw_ws_handshake_server_response(hs, &resp, &rlen) == 0);
  if (ctx.rv == 1) {
    char line[RTW_WS_DEFLATE_ELEMENT_MAX + 40];
    FUZZ_CHECK(rtw_ws_deflate_format(ans, text, sizeof text, &tlen) == 0);
    static const char name[] = "\r\nSec-WebSocket-Extensions: ";
    memcpy(line, name, sizeof name - 1);
    memcpy(line + sizeof name - 1, text, tlen);
    memcpy(line + sizeof name - 1 + tlen, "\r\n", 3); /* NUL-terminated for fuzz_find */
    FUZZ_CHECK(fuzz_find(resp, rlen, line) != NULL);
  } else {
    FUZZ_CHECK(fuzz_find(resp, rlen, "Sec-WebSocket-Extensions") == NULL);
  }
  rtw_ws_handshake_server_free(hs);
  if (ctx.rv == 1) {
    client_reads(offer, ans, text, tlen, 0);
    client_reads(offer, ans, text, tlen, 1);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  srv_cfg s;
  rtw_ws_deflate_params offer, ans;
  const uint8_t *v;
  size_t n, cut;
  int found = 0;

  read_config(&in, &s);
  v = in.p;
  n = in.n;
  for (;;) { /* elements: commas outside quoted-strings (RFC 9110 5.6.1) */
    const uint8_t *e = v;
    size_t elen;
    rtw_ws_deflate_params o, a;
    cut = find_sep(v, n, ',');
    elen = cut;
    trim(&e, &elen);
    if (element(e, elen, &s, &o, &a) && !found) {
      found = 1;
      offer = o;
      ans = a;
    }
    if (cut == n)
      break;
    v += cut + 1;
    n -= cut + 1;
  }
  handshakes(in.p, in.n, &s, found, &offer, &ans);
  return 0;
}
