/* SPDX-License-Identifier: MIT */
/* libFuzzer target for permessage-deflate negotiation (lib/ws/deflate_ext.c, RFC 7692 5 and
 * 7.1): the element parser in both roles against a reference written here, format/parse round
 * trips, the server's decision against the rules of 7.1, and our client's check of the
 * server's answer.
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
 *   config gives RTW_ERR_INVALID_ARGUMENT; declined exactly for server_max_window_bits=8,
 *   an inflate limit the offer cannot carry, or the budget (then a huge budget accepts); an
 *   answer holds every offered *_no_context_takeover, a server window <= the offer's (never
 *   8), a client window only when offered and <= its value, and the answer, formatted and
 *   parsed from a server, is accepted by check_response() under the client config the offer
 *   stands for (unless it limits the client to 8, which our client refuses);
 * - offer() of that client config parses back to the same parameters (a client value becomes
 *   the value-less form we send).
 * Nothing here allocates, so no allocation schedule.
 */
#include <string.h>

#include "fuzz_common.h"
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
  must_decline = o->server_max_window_bits == 8 || (o->client_max_window_bits == 0 && s->iw < 15);
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
  /* 7.1.2.1: the same or smaller, never 8 (zlib) */
  FUZZ_CHECK(r.server_max_window_bits != 8 && r.server_max_window_bits != NV);
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
  FUZZ_CHECK(rv == (back.client_max_window_bits == 8 ? RTW_ERR_WS_DEFLATE_PARAM : 0));
}

/* ------------------------------------------------------------------ one element */

static void element(const uint8_t *e, size_t n, const srv_cfg *s)
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
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  srv_cfg s;
  const uint8_t *v;
  size_t n, cut;

  read_config(&in, &s);
  v = in.p;
  n = in.n;
  for (;;) { /* elements: commas outside quoted-strings (RFC 9110 5.6.1) */
    const uint8_t *e = v;
    size_t elen;
    cut = find_sep(v, n, ',');
    elen = cut;
    trim(&e, &elen);
    element(e, elen, &s);
    if (cut == n)
      break;
    v += cut + 1;
    n -= cut + 1;
  }
  return 0;
}
