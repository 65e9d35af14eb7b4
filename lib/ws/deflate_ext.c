/* SPDX-License-Identifier: MIT */
/* permessage-deflate negotiation (RFC 7692 5 and 7.1): parse and write one element of a
 * `Sec-WebSocket-Extensions` value, decide on a client's offer (server role), make the offer
 * and check the server's answer (client role).
 *
 * One element, RFC 6455 9.1 with RFC 9110 5.6's optional whitespace where RFC 6455 implies
 * linear whitespace (RFC 7230 / 9110 BWS around "=" included):
 *
 *   extension       = extension-token *( OWS ";" OWS extension-param ) OWS
 *   extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 *   quoted-string   = DQUOTE *( qdtext / "\" octet ) DQUOTE
 *
 * permessage-deflate's parameters (RFC 7692 7.1), each at most once (RFC 7692 7: an element
 * with "multiple extension parameters with the same name" is declined or fails):
 *
 *   server_no_context_takeover   no value                                7.1.1.1
 *   client_no_context_takeover   no value                                7.1.1.2
 *   server_max_window_bits       8..15, required                         7.1.2.1
 *   client_max_window_bits       8..15; without a value in an offer only 7.1.2.2
 *
 * A value is 1*DIGIT without a leading zero (7.1.2.1); written as a quoted-string it must be
 * that once unescaped (7.1.2.1: "the value ... MUST conform to the ABNF below"). Parameter
 * names are compared exactly (lowercase, as node `ws` and python websockets do): RFC 7692
 * defines them in lowercase and no peer sends them otherwise; an element with any other
 * spelling is invalid, never silently read. The extension name itself is compared
 * case-insensitively, as rtweb's handshakes compare extension names offered and answered.
 *
 * Windows: an absent window is 15 (RFC 7692 7.1.2). zlib cannot deflate raw with an 8-bit
 * window (deflateInit2() refuses -8), but a limit of 8 on our own compressor is still
 * accepted (server: answered `server_max_window_bits=8`; client: a `client_max_window_bits=8`
 * answer) and the compressor then runs at 9 bits: zlib never emits a match distance above
 * its window minus MIN_LOOKAHEAD (deflate.c's MAX_DIST: 512 - 262 = 250 at 9 bits), so
 * every distance fits the 256-byte window an 8-bit decompressor holds (7.1.2.1, 7.1.2.2:
 * the limit is there so the peer's decompressor may hold only 2^N bytes of LZ77 window, and
 * that is all it needs here). zlib itself raises a zlib-wrapped 8 to 9 for the same reason.
 * Memory estimates therefore count such a compressor at 9 bits; decompressing with 8 is
 * fine as it is (the session inflates at 9, which takes both).
 */
#include <string.h>

#include "deflate.h"
#include "deflate_ext.h"
#include "internal.h"

#define MAX_BITS 15u
#define MIN_BITS 8u
/* The smallest window zlib deflates raw with; see the file comment for why it serves a
 * limit of 8. */
#define MIN_DEFLATE_BITS 9u

/* ====================================================================== config */

int rtw__deflate_config_get(const rtw_ws_deflate_config *in, rtw_ws_deflate_config *out)
{
  memset(out, 0, sizeof *out);
  if (in != NULL) {
    if (in->version == 0 || in->version > RTW_WS_DEFLATE_CONFIG_VERSION)
      goto bad;
    *out = *in; /* version 1 is the only layout so far */
  }
  out->version = RTW_WS_DEFLATE_CONFIG_VERSION;
  if (out->level == 0)
    out->level = RTW_WS_DEFLATE_DEFAULT_LEVEL;
  if (out->deflate_window_bits == 0)
    out->deflate_window_bits = RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS;
  if (out->deflate_mem_level == 0)
    out->deflate_mem_level = RTW_WS_DEFLATE_DEFAULT_MEM_LEVEL;
  if (out->inflate_window_bits == 0)
    out->inflate_window_bits = RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS;
  if (out->memory_budget == 0)
    out->memory_budget = RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET;
  if ((out->flags & ~(uint32_t)RTW__DEFLATE_KNOWN_FLAGS) != 0 || out->level > 9 ||
      out->deflate_window_bits < 9 || out->deflate_window_bits > MAX_BITS ||
      out->deflate_mem_level > 9 || out->inflate_window_bits < MIN_BITS ||
      out->inflate_window_bits > MAX_BITS)
    goto bad;
  return 0;
bad:
  rtw__deflate_config_get(NULL, out);
  return RTW_ERR_INVALID_ARGUMENT;
}

/* What zlib would hold for a compressor and a decompressor with these windows (the estimate
 * of deflate.c), against the budget. Windows of 8 count as 9: the session runs both zlib
 * streams at 9 then (see the file comment and rtw_ws_set_deflate()). */
static int fits_budget(const rtw_ws_deflate_config *c, unsigned deflate_bits,
                       unsigned inflate_bits)
{
  size_t need, inf;

  if (deflate_bits < MIN_DEFLATE_BITS)
    deflate_bits = MIN_DEFLATE_BITS;
  if (inflate_bits < MIN_DEFLATE_BITS)
    inflate_bits = MIN_DEFLATE_BITS;
  need = rtw__deflate_mem_estimate(deflate_bits, c->deflate_mem_level);
  inf = rtw__inflate_mem_estimate(inflate_bits);

  return need <= c->memory_budget && inf <= c->memory_budget - need;
}

/* ====================================================================== parse */

typedef struct scan {
  const char *p;
  size_t n, i;
} scan;

static int is_ows(char c)
{
  return c == ' ' || c == '\t';
}

static void skip_ows(scan *s)
{
  while (s->i < s->n && is_ows(s->p[s->i]))
    s->i++;
}

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Advance over a token; its length (0: none there). */
static size_t token(scan *s)
{
  size_t start = s->i;
  while (s->i < s->n && is_tchar((unsigned char)s->p[s->i]))
    s->i++;
  return s->i - start;
}

static int ieq(const char *a, const char *b, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
    if (x != b[i])
      return 0;
  }
  return 1;
}

/* A window-bits value, unescaped, at v[0..n): 8..15, digits, no leading zero (RFC 7692
 * 7.1.2.1). 0 when invalid. */
static uint8_t bits_value(const char *v, size_t n)
{
  unsigned b;
  if (n == 1 && (v[0] == '8' || v[0] == '9'))
    return (uint8_t)(v[0] - '0');
  if (n != 2 || v[0] != '1' || v[1] < '0' || v[1] > '5')
    return 0;
  b = 10u + (unsigned)(v[1] - '0');
  return (uint8_t)b;
}

/* A parameter value (token or quoted-string): its window bits, or 0 when it is not one.
 * Stops at the first character that cannot belong to a valid value. */
static uint8_t value(scan *s)
{
  char v[3];
  size_t n = 0;

  if (s->i < s->n && s->p[s->i] == '"') { /* RFC 9110 5.6.4 */
    for (s->i++; s->i < s->n && s->p[s->i] != '"'; s->i++) {
      if (s->p[s->i] == '\\' && ++s->i == s->n) /* quoted-pair */
        return 0;
      if (n == sizeof v)
        return 0;
      v[n++] = s->p[s->i];
    }
    if (s->i == s->n) /* unterminated */
      return 0;
    s->i++;
    return bits_value(v, n);
  }
  n = token(s);
  return bits_value(s->p + s->i - n, n);
}

enum { P_SERVER_NCT, P_CLIENT_NCT, P_SERVER_BITS, P_CLIENT_BITS, P_COUNT };

static const char *const param_names[P_COUNT] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

static int param_index(const char *name, size_t len)
{
  int k;
  for (k = 0; k < P_COUNT; k++)
    if (strlen(param_names[k]) == len && memcmp(param_names[k], name, len) == 0)
      return k;
  return -1;
}

/* One parameter (name at s, after "; "). 0 or RTW_ERR_WS_DEFLATE_PARAM. */
static int param(scan *s, int from, unsigned *seen, rtw_ws_deflate_params *pr)
{
  const char *name = s->p + s->i;
  size_t nlen = token(s);
  int k = param_index(name, nlen), has_value = 0;
  uint8_t bits = 0;

  if (k < 0 || (*seen & (1u << k)) != 0) /* unknown or repeated (RFC 7692 7) */
    return RTW_ERR_WS_DEFLATE_PARAM;
  *seen |= 1u << k;
  skip_ows(s);
  if (s->i < s->n && s->p[s->i] == '=') {
    s->i++;
    skip_ows(s);
    has_value = 1;
    if ((bits = value(s)) == 0)
      return RTW_ERR_WS_DEFLATE_PARAM;
  }
  switch (k) {
  case P_SERVER_NCT: /* 7.1.1.1 and 7.1.1.2: "This extension parameter has no value" */
  case P_CLIENT_NCT:
    if (has_value)
      return RTW_ERR_WS_DEFLATE_PARAM;
    if (k == P_SERVER_NCT)
      pr->server_no_context_takeover = 1;
    else
      pr->client_no_context_takeover = 1;
    return 0;
  case P_SERVER_BITS: /* 7.1.2.1: always with a value */
    if (!has_value)
      return RTW_ERR_WS_DEFLATE_PARAM;
    pr->server_max_window_bits = bits;
    return 0;
  default: /* 7.1.2.2: value-less only in an offer */
    if (!has_value && from != RTW_WS_ROLE_CLIENT)
      return RTW_ERR_WS_DEFLATE_PARAM;
    pr->client_max_window_bits = has_value ? bits : RTW_WS_DEFLATE_BITS_NO_VALUE;
    return 0;
  }
}

static int params(scan *s, int from, rtw_ws_deflate_params *pr)
{
  unsigned seen = 0;
  int rv;

  for (;;) {
    skip_ows(s);
    if (s->i == s->n)
      return 0;
    if (s->p[s->i] != ';')
      return RTW_ERR_WS_DEFLATE_PARAM;
    s->i++;
    skip_ows(s);
    if ((rv = param(s, from, &seen, pr)) != 0)
      return rv;
  }
}

int rtw_ws_deflate_parse(const char *ext, size_t len, int from, rtw_ws_deflate_params *pr)
{
  static const char name[] = "permessage-deflate";
  scan s;
  size_t nlen;
  int rv;

  if (pr != NULL)
    memset(pr, 0, sizeof *pr);
  if (pr == NULL || (ext == NULL && len != 0) ||
      (from != RTW_WS_ROLE_CLIENT && from != RTW_WS_ROLE_SERVER))
    return RTW_ERR_INVALID_ARGUMENT;
  s.p = ext != NULL ? ext : "";
  s.n = len;
  s.i = 0;
  skip_ows(&s);
  nlen = token(&s);
  if (nlen != sizeof name - 1 || !ieq(s.p + s.i - nlen, name, nlen))
    return 0; /* another extension (or not one at all): not ours to judge */
  rv = params(&s, from, pr);
  if (rv != 0) {
    memset(pr, 0, sizeof *pr);
    return rv;
  }
  return 1;
}

/* ====================================================================== format */

/* Values parse() can give: 0, 8..15, and (client_max_window_bits when `no_value_ok`) the
 * value-less marker. */
static int bits_ok(uint8_t b, int no_value_ok)
{
  return b == 0 || (b >= MIN_BITS && b <= MAX_BITS) ||
         (no_value_ok && b == RTW_WS_DEFLATE_BITS_NO_VALUE);
}

static size_t put(char *dst, size_t at, const char *s)
{
  size_t n = strlen(s);
  memcpy(dst + at, s, n);
  return at + n;
}

static size_t put_bits(char *dst, size_t at, const char *name, uint8_t b)
{
  at = put(dst, at, "; ");
  at = put(dst, at, name);
  if (b == RTW_WS_DEFLATE_BITS_NO_VALUE)
    return at;
  dst[at++] = '=';
  if (b >= 10)
    dst[at++] = '1';
  dst[at++] = (char)('0' + b % 10);
  return at;
}

int rtw_ws_deflate_format(const rtw_ws_deflate_params *pr, char *buf, size_t cap, size_t *len)
{
  char tmp[RTW_WS_DEFLATE_ELEMENT_MAX];
  size_t n;

  if (len != NULL)
    *len = 0;
  if (pr == NULL || buf == NULL || len == NULL || !bits_ok(pr->server_max_window_bits, 0) ||
      !bits_ok(pr->client_max_window_bits, 1))
    return RTW_ERR_INVALID_ARGUMENT;
  n = put(tmp, 0, "permessage-deflate");
  if (pr->server_no_context_takeover)
    n = put(tmp, n, "; server_no_context_takeover");
  if (pr->client_no_context_takeover)
    n = put(tmp, n, "; client_no_context_takeover");
  if (pr->server_max_window_bits)
    n = put_bits(tmp, n, "server_max_window_bits", pr->server_max_window_bits);
  if (pr->client_max_window_bits)
    n = put_bits(tmp, n, "client_max_window_bits", pr->client_max_window_bits);
  if (n > cap)
    return RTW_ERR_BUFFER_TOO_SMALL;
  memcpy(buf, tmp, n);
  *len = n;
  return 0;
}

/* ====================================================================== server role */

/* The window our compressor may use under an offer's limit (RFC 7692 7.1.2.1: the same or
 * a smaller value is answered). 8 stays 8 in the answer; zlib then deflates at 9, whose
 * distances an 8-bit decompressor still covers (file comment). */
static unsigned server_window(const rtw_ws_deflate_config *c, uint8_t offered)
{
  return offered != 0 && offered < c->deflate_window_bits ? offered : c->deflate_window_bits;
}

int rtw_ws_deflate_accept(const rtw_ws_deflate_params *offer, const rtw_ws_deflate_config *config,
                          rtw_ws_deflate_params *response)
{
  rtw_ws_deflate_config c;
  rtw_ws_deflate_params r;
  unsigned dw, iw;
  uint8_t cb;

  if (response != NULL)
    memset(response, 0, sizeof *response);
  if (offer == NULL || response == NULL || rtw__deflate_config_get(config, &c) != 0 ||
      !bits_ok(offer->server_max_window_bits, 0) || !bits_ok(offer->client_max_window_bits, 1))
    return RTW_ERR_INVALID_ARGUMENT;
  memset(&r, 0, sizeof r);
  /* our compressor (7.1.2.1): the same or a smaller value than offered; we may state our own
   * limit when none was offered */
  dw = server_window(&c, offer->server_max_window_bits);
  if (offer->server_max_window_bits != 0 || dw < MAX_BITS)
    r.server_max_window_bits = (uint8_t)dw;
  /* the client's compressor (7.1.2.2): we may limit it only when the offer has the
   * parameter, to its value or less */
  iw = c.inflate_window_bits;
  cb = offer->client_max_window_bits;
  if (cb == 0 && iw < MAX_BITS)
    return 0; /* the client would use up to 15 */
  if (cb != 0 && cb != RTW_WS_DEFLATE_BITS_NO_VALUE && cb < iw)
    iw = cb;
  if (cb != 0 && (cb != RTW_WS_DEFLATE_BITS_NO_VALUE || iw < MAX_BITS))
    r.client_max_window_bits = (uint8_t)iw;
  /* 7.1.1.1: an offered server_no_context_takeover must be answered; 7.1.1.1 and 7.1.1.2:
   * the server may add either on its own */
  r.server_no_context_takeover =
      (uint8_t)(offer->server_no_context_takeover ||
                (c.flags & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER) == 0);
  r.client_no_context_takeover =
      (uint8_t)(offer->client_no_context_takeover ||
                (c.flags & RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER) == 0);
  if (!fits_budget(&c, dw, iw))
    return 0;
  *response = r;
  return 1;
}

/* ====================================================================== client role */

/* The offer `c` stands for, as parameters. */
static void offer_params(const rtw_ws_deflate_config *c, rtw_ws_deflate_params *p)
{
  memset(p, 0, sizeof *p);
  p->server_no_context_takeover = (c->flags & RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER) == 0;
  p->client_no_context_takeover = (c->flags & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER) == 0;
  if (c->inflate_window_bits < MAX_BITS)
    p->server_max_window_bits = c->inflate_window_bits;
  if ((c->flags & RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER) == 0)
    p->client_max_window_bits = RTW_WS_DEFLATE_BITS_NO_VALUE;
}

int rtw_ws_deflate_offer(const rtw_ws_deflate_config *config, char *buf, size_t cap, size_t *len)
{
  rtw_ws_deflate_config c;
  rtw_ws_deflate_params p;

  if (len != NULL)
    *len = 0;
  if (buf == NULL || len == NULL || rtw__deflate_config_get(config, &c) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  offer_params(&c, &p);
  return rtw_ws_deflate_format(&p, buf, cap, len);
}

int rtw_ws_deflate_check_response(const rtw_ws_deflate_config *config,
                                  const rtw_ws_deflate_params *r)
{
  rtw_ws_deflate_config c;
  rtw_ws_deflate_params o;
  unsigned dw, iw;

  if (r == NULL || rtw__deflate_config_get(config, &c) != 0 ||
      !bits_ok(r->server_max_window_bits, 0) || !bits_ok(r->client_max_window_bits, 1))
    return RTW_ERR_INVALID_ARGUMENT;
  offer_params(&c, &o);
  /* 7.1.1.1: the server accepts our server_no_context_takeover by answering it */
  if (o.server_no_context_takeover && !r->server_no_context_takeover)
    return RTW_ERR_WS_DEFLATE_PARAM;
  /* 7.1.2.1: an offered limit is answered with the same or a smaller value; the server may
   * also state one we did not ask for */
  if (o.server_max_window_bits != 0 &&
      (r->server_max_window_bits == 0 || r->server_max_window_bits > o.server_max_window_bits))
    return RTW_ERR_WS_DEFLATE_PARAM;
  /* 7.1.2.2: client_max_window_bits only when offered, always with a value; 8 is kept by
   * deflating at 9 (file comment) */
  if (r->client_max_window_bits != 0 &&
      (o.client_max_window_bits == 0 || r->client_max_window_bits == RTW_WS_DEFLATE_BITS_NO_VALUE))
    return RTW_ERR_WS_DEFLATE_PARAM;
  dw = r->client_max_window_bits != 0 && r->client_max_window_bits < c.deflate_window_bits
           ? r->client_max_window_bits
           : c.deflate_window_bits;
  iw = r->server_max_window_bits != 0 ? r->server_max_window_bits : MAX_BITS;
  return fits_budget(&c, dw, iw) ? 0 : RTW_ERR_WS_DEFLATE_PARAM;
}
