/* SPDX-License-Identifier: MIT */
/* WebSocket test helpers: RFC 6455 frame builder and parser, UTF-8 oracle, session driver.
 * See wst.h. Nothing here calls lib/ws/frame.c: these are the oracles the library is checked
 * against.
 *
 * RFC 6455 5.2, the frame layout both the builder and the parser implement:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * Masking (5.3): transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

void wst_fail(const char *fmt, ...)
{
  char msg[4096];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  print_error("%s\n", msg);
  fail();
}

/* ------------------------------------------------------------------ byte buffer */

void wst_buf_init(wst_buf *b)
{
  memset(b, 0, sizeof *b);
}

void wst_buf_free(wst_buf *b)
{
  free(b->p);
  memset(b, 0, sizeof *b);
}

void wst_buf_clear(wst_buf *b)
{
  b->len = 0;
}

void wst_buf_put(wst_buf *b, const void *p, size_t n)
{
  if (n == 0)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

void wst_buf_str(wst_buf *b, const char *s)
{
  wst_buf_put(b, s, strlen(s));
}

/* ------------------------------------------------------------------ frame builder */

void wst_key(uint32_t n, uint8_t key[4])
{
  uint32_t x = n * 2654435761u + 0x6b43a9b5u;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  key[0] = (uint8_t)(x >> 24);
  key[1] = (uint8_t)(x >> 16);
  key[2] = (uint8_t)(x >> 8);
  key[3] = (uint8_t)(x | 1u); /* never the all-zero key, which would hide masking bugs */
}

size_t wst_put_header(wst_buf *b, const wst_hdr *h, uint64_t len)
{
  uint8_t hd[14];
  size_t n = 0;
  int form = h->len_form;
  uint8_t mbit = h->masked ? 0x80u : 0u;
  int i;

  hd[n++] = (uint8_t)((h->fin ? 0x80u : 0u) | ((h->rsv & 7u) << 4) | (h->opcode & 0x0Fu));
  if (form == WST_LEN_MIN)
    form = len <= 125 ? WST_LEN_7 : len <= 0xFFFFu ? WST_LEN_16 : WST_LEN_64;
  switch (form) {
  case WST_LEN_7:
    assert_true(len <= 125);
    hd[n++] = (uint8_t)(mbit | (uint8_t)len);
    break;
  case WST_LEN_16:
    assert_true(len <= 0xFFFFu);
    hd[n++] = (uint8_t)(mbit | 126u);
    hd[n++] = (uint8_t)(len >> 8);
    hd[n++] = (uint8_t)len;
    break;
  default:
    hd[n++] = (uint8_t)(mbit | 127u);
    for (i = 7; i >= 0; i--)
      hd[n++] = (uint8_t)(len >> (8 * i));
    break;
  }
  if (h->masked) {
    memcpy(hd + n, h->key, 4);
    n += 4;
  }
  wst_buf_put(b, hd, n);
  return n;
}

size_t wst_put_frame(wst_buf *b, const wst_hdr *h, const void *payload, size_t len)
{
  const uint8_t *s = payload;
  size_t off, i;

  wst_put_header(b, h, len);
  off = b->len;
  if (len == 0)
    return off;
  wst_buf_put(b, s, len);
  if (h->masked)
    for (i = 0; i < len; i++)
      b->p[off + i] = (uint8_t)(b->p[off + i] ^ h->key[i % 4]);
  return off;
}

size_t wst_frame(wst_buf *b, int masked, int fin, unsigned opcode, const void *payload,
                 size_t len)
{
  wst_hdr h;

  memset(&h, 0, sizeof h);
  h.fin = fin;
  h.opcode = opcode;
  h.masked = masked;
  if (masked)
    wst_key(b->keyseq++, h.key);
  return wst_put_frame(b, &h, payload, len);
}

size_t wst_frame_str(wst_buf *b, int masked, int fin, unsigned opcode, const char *s)
{
  return wst_frame(b, masked, fin, opcode, s, strlen(s));
}

size_t wst_close_frame(wst_buf *b, int masked, int code, const char *reason, size_t rlen)
{
  uint8_t *pl;
  size_t off;

  if (code < 0)
    return wst_frame(b, masked, 1, RTW_WS_OP_CLOSE, NULL, 0);
  pl = malloc(rlen + 2);
  assert_non_null(pl);
  pl[0] = (uint8_t)((unsigned)code >> 8);
  pl[1] = (uint8_t)code;
  if (rlen)
    memcpy(pl + 2, reason, rlen);
  off = wst_frame(b, masked, 1, RTW_WS_OP_CLOSE, pl, rlen + 2);
  free(pl);
  return off;
}

/* ------------------------------------------------------------------ UTF-8 oracle */

void wst_utf8_init(wst_utf8 *u)
{
  u->need = 0;
  u->lo = 0x80;
  u->hi = 0xBF;
}

/* RFC 3629 section 4:
 *   UTF8-2 = %xC2-DF UTF8-tail
 *   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *            %xF4 %x80-8F 2( UTF8-tail )                                     */
static int utf8_lead(wst_utf8 *u, uint8_t c)
{
  u->lo = 0x80;
  u->hi = 0xBF;
  if (c < 0x80)
    u->need = 0;
  else if (c >= 0xC2 && c <= 0xDF)
    u->need = 1;
  else if (c == 0xE0)
    u->need = 2, u->lo = 0xA0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    u->need = 2;
  else if (c == 0xED)
    u->need = 2, u->hi = 0x9F;
  else if (c == 0xF0)
    u->need = 3, u->lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3)
    u->need = 3;
  else if (c == 0xF4)
    u->need = 3, u->hi = 0x8F;
  else
    return -1;
  return 0;
}

int wst_utf8_feed(wst_utf8 *u, const void *p_, size_t n, size_t *bad)
{
  const uint8_t *p = p_;
  size_t i;

  for (i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (u->need > 0) {
      if (c < u->lo || c > u->hi) {
        if (bad)
          *bad = i;
        return WST_UTF8_BAD;
      }
      u->need--;
      u->lo = 0x80;
      u->hi = 0xBF;
    } else if (utf8_lead(u, c) != 0) {
      if (bad)
        *bad = i;
      return WST_UTF8_BAD;
    }
  }
  return u->need ? WST_UTF8_PARTIAL : WST_UTF8_OK;
}

int wst_utf8_check(const void *p, size_t n, size_t *bad)
{
  wst_utf8 u;

  wst_utf8_init(&u);
  return wst_utf8_feed(&u, p, n, bad);
}

/* ------------------------------------------------------------------ logging */

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
  uint32_t h = 2166136261u;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

/* The escaping of rtwt_log_bytes, into a local buffer and appended at once (one printf per
 * byte is what made large logs slow under valgrind). */
static void log_escaped(rtwt_log *log, const uint8_t *p, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  char buf[4 * WST_LOG_INLINE + 3];
  size_t i, k = 0;

  assert_true(n <= WST_LOG_INLINE);
  buf[k++] = '"';
  for (i = 0; i < n; i++) {
    uint8_t c = p[i];
    switch (c) {
    case '\n': buf[k++] = '\\', buf[k++] = 'n'; break;
    case '\r': buf[k++] = '\\', buf[k++] = 'r'; break;
    case '\t': buf[k++] = '\\', buf[k++] = 't'; break;
    case '\\': buf[k++] = '\\', buf[k++] = '\\'; break;
    case '"': buf[k++] = '\\', buf[k++] = '"'; break;
    default:
      if (c < 0x20 || c >= 0x7F) {
        buf[k++] = '\\', buf[k++] = 'x';
        buf[k++] = hex[c >> 4], buf[k++] = hex[c & 15];
      } else {
        buf[k++] = (char)c;
      }
    }
  }
  buf[k++] = '"';
  buf[k] = '\0';
  rtwt_log_printf(log, "%s", buf);
}

void wst_log_data(rtwt_log *log, const void *p, size_t n)
{
  if (n <= WST_LOG_INLINE) {
    log_escaped(log, p, n);
  } else {
    rtwt_log_printf(log, "<%zu bytes fnv=%08lx>", n, (unsigned long)fnv1a(p, n));
  }
}

const char *wst_opname(unsigned opcode)
{
  static const char *const names[16] = {"cont", "text", "binary", "op3", "op4", "op5",
                                        "op6", "op7", "close", "ping", "pong", "op11",
                                        "op12", "op13", "op14", "op15"};
  return names[opcode & 15u];
}

void wst_log_msg(rtwt_log *log, int opcode, const void *p, size_t n)
{
  rtwt_log_printf(log, "msg(%s,", wst_opname((unsigned)opcode));
  wst_log_data(log, p, n);
  rtwt_log_printf(log, ")\n");
}

/* ------------------------------------------------------------------ frame parser */

/* RFC 6455 7.4.1/7.4.2 and the IANA registry: codes an endpoint may put in a close frame. */
static int close_code_sendable(unsigned code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

static void bad_out(const char *what, size_t off)
{
  print_error("session output: %s (frame at byte %zu)\n", what, off);
  fail();
}

typedef struct out_state {
  int in_msg, text, closed;
  wst_utf8 u;
} out_state;

static void check_out_frame(out_state *st, const wst_oframe *f)
{
  size_t bad;

  /* 5.5.1: "MUST NOT send any further data frames" after a Close; a pong may still answer
   * a ping that arrived before the peer's Close (5.5.2), but never a second Close */
  if (st->closed && (f->opcode < 8 || f->opcode == RTW_WS_OP_CLOSE))
    bad_out("a data or close frame after our close frame (RFC 6455 5.5.1)", f->wire_off);
  if (f->rsv != 0)
    bad_out("RSV bits set without an extension (5.2)", f->wire_off);
  if (f->opcode >= 8) {
    if (f->opcode > RTW_WS_OP_PONG)
      bad_out("reserved control opcode (5.2)", f->wire_off);
    if (!f->fin)
      bad_out("fragmented control frame (5.5)", f->wire_off);
    if (f->len > 125)
      bad_out("control payload over 125 bytes (5.5)", f->wire_off);
    if (f->opcode == RTW_WS_OP_CLOSE) {
      st->closed = 1;
      if (f->len == 1)
        bad_out("close payload of 1 byte (5.5.1)", f->wire_off);
      if (f->len >= 2 && !close_code_sendable((unsigned)(f->data[0] << 8 | f->data[1])))
        bad_out("close code not allowed on the wire (7.4)", f->wire_off);
      if (f->len > 2 && wst_utf8_check(f->data + 2, f->len - 2, &bad) != WST_UTF8_OK)
        bad_out("close reason not UTF-8 (5.5.1)", f->wire_off);
    }
    return;
  }
  if (f->opcode > RTW_WS_OP_BINARY)
    bad_out("reserved data opcode (5.2)", f->wire_off);
  if (f->opcode == RTW_WS_OP_CONTINUATION && !st->in_msg)
    bad_out("continuation without a message (5.4)", f->wire_off);
  if (f->opcode != RTW_WS_OP_CONTINUATION) {
    if (st->in_msg)
      bad_out("new message inside a fragmented one (5.4)", f->wire_off);
    st->in_msg = 1;
    st->text = f->opcode == RTW_WS_OP_TEXT;
    wst_utf8_init(&st->u);
  }
  if (st->text) {
    int v = wst_utf8_feed(&st->u, f->data, f->len, &bad);
    if (v == WST_UTF8_BAD || (f->fin && v != WST_UTF8_OK))
      bad_out("text message not UTF-8 (8.1)", f->wire_off);
  }
  if (f->fin)
    st->in_msg = 0;
}

static int parse_one(const uint8_t *p, size_t n, size_t off, wst_oframe *f)
{
  const uint8_t *s = p + off;
  size_t avail = n - off, hl = 2, i;
  uint64_t len;

  memset(f, 0, sizeof *f);
  if (avail < 2)
    return -1;
  f->fin = (uint8_t)(s[0] >> 7);
  f->rsv = (uint8_t)((s[0] >> 4) & 7u);
  f->opcode = (uint8_t)(s[0] & 0x0Fu);
  f->masked = (uint8_t)(s[1] >> 7);
  len = s[1] & 0x7Fu;
  if (len == 126)
    hl += 2;
  else if (len == 127)
    hl += 8;
  if (f->masked)
    hl += 4;
  if (avail < hl)
    return -1;
  if (len == 126) {
    len = (uint64_t)s[2] << 8 | s[3];
    if (len < 126)
      bad_out("16-bit length not minimal (5.2)", off);
  } else if (len == 127) {
    len = 0;
    for (i = 0; i < 8; i++)
      len = len << 8 | s[2 + i];
    if (len >> 63)
      bad_out("64-bit length with the most significant bit set (5.2)", off);
    if (len <= 0xFFFFu)
      bad_out("64-bit length not minimal (5.2)", off);
  }
  if (f->masked)
    memcpy(f->key, s + hl - 4, 4);
  if (len > avail - hl)
    return -1;
  f->len = (size_t)len;
  f->wire_off = off;
  f->wire_len = hl + f->len;
  f->data = malloc(f->len ? f->len : 1);
  assert_non_null(f->data);
  for (i = 0; i < f->len; i++)
    f->data[i] = f->masked ? (uint8_t)(s[hl + i] ^ f->key[i % 4]) : s[hl + i];
  return 0;
}

void wst_parse_out(const uint8_t *p, size_t n, int masked, wst_oframes *out)
{
  size_t off = 0, cap = 0;
  out_state st;

  memset(&st, 0, sizeof st);
  out->f = NULL;
  out->n = 0;
  while (off < n) {
    wst_oframe f;
    memset(&f, 0, sizeof f);
    if (parse_one(p, n, off, &f) != 0)
      bad_out("ends inside a frame", off);
    if (f.masked != (masked ? 1 : 0))
      bad_out(masked ? "client frame not masked (5.3)" : "server frame masked (5.1)", off);
    check_out_frame(&st, &f);
    if (out->n == cap) {
      cap = cap ? cap * 2 : 16;
      out->f = realloc(out->f, cap * sizeof *out->f);
      assert_non_null(out->f);
    }
    out->f[out->n++] = f;
    off += f.wire_len;
  }
}

void wst_oframes_free(wst_oframes *o)
{
  size_t i;

  for (i = 0; i < o->n; i++)
    free(o->f[i].data);
  free(o->f);
  o->f = NULL;
  o->n = 0;
}

void wst_log_oframe(rtwt_log *log, const wst_oframe *f)
{
  rtwt_log_printf(log, "out:%s%s(", wst_opname(f->opcode), f->fin ? "" : "[more]");
  if (f->opcode == RTW_WS_OP_CLOSE) {
    if (f->len >= 2)
      rtwt_log_printf(log, "%u", (unsigned)(f->data[0] << 8 | f->data[1]));
    if (f->len > 2) {
      rtwt_log_printf(log, ",");
      wst_log_data(log, f->data + 2, f->len - 2);
    }
  } else {
    wst_log_data(log, f->data, f->len);
  }
  rtwt_log_printf(log, ")\n");
}

/* ------------------------------------------------------------------ driver callbacks */

static int ev_ret(const wst_run *r, unsigned ev)
{
  if (r->o->fail & ev)
    return -1;
  if (r->o->pause & ev)
    return RTW_ERR_PAUSE;
  return 0;
}

static int whole_mode(const wst_run *r)
{
  return (r->o->flags & RTW_WS_FLAG_WHOLE_MESSAGES) != 0;
}

static void check_text(int opcode, const void *p, size_t n)
{
  size_t bad = 0;

  if (opcode == RTW_WS_OP_TEXT && wst_utf8_check(p, n, &bad) != WST_UTF8_OK) {
    print_error("a text message delivered with invalid UTF-8 (at byte %zu)\n", bad);
    fail();
  }
}

static int cb_begin(rtw_ws *ws, int opcode, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  if (whole_mode(r))
    wst_fail("on_message_begin in whole-message mode");
  if (r->in_msg)
    wst_fail("on_message_begin inside a message");
  if (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY)
    wst_fail("on_message_begin with opcode %d", opcode);
  r->in_msg = 1;
  r->msg_op = opcode;
  wst_buf_clear(&r->msg);
  r->n_begin++;
  return ev_ret(r, WST_EV_BEGIN);
}

static int cb_data(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  if (!r->in_msg)
    wst_fail("on_message_data outside a message");
  if (len == 0 || data == NULL)
    wst_fail("on_message_data with an empty piece");
  wst_buf_put(&r->msg, data, len);
  r->n_data++;
  return ev_ret(r, WST_EV_DATA);
}

static int cb_end(rtw_ws *ws, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  if (!r->in_msg)
    wst_fail("on_message_end outside a message");
  check_text(r->msg_op, r->msg.p, r->msg.len);
  wst_log_msg(r->log, r->msg_op, r->msg.p, r->msg.len);
  r->in_msg = 0;
  r->n_end++;
  return ev_ret(r, WST_EV_MSG);
}

static int cb_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  if (!whole_mode(r))
    wst_fail("on_message in streamed mode");
  if (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY)
    wst_fail("on_message with opcode %d", opcode);
  if (len > 0)
    assert_non_null(data);
  check_text(opcode, data, len);
  wst_log_msg(r->log, opcode, data, len);
  r->n_msg++;
  return ev_ret(r, WST_EV_MSG);
}

static int cb_control(wst_run *r, const char *name, const void *data, size_t len)
{
  if (len > RTW_WS_MAX_CONTROL_PAYLOAD)
    wst_fail("%s with %zu bytes", name, len);
  rtwt_log_printf(r->log, "%s(", name);
  wst_log_data(r->log, data, len);
  rtwt_log_printf(r->log, ")\n");
  return 0;
}

static int cb_ping(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  cb_control(r, "ping", data, len);
  r->n_ping++;
  return ev_ret(r, WST_EV_PING);
}

static int cb_pong(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  cb_control(r, "pong", data, len);
  r->n_pong++;
  return ev_ret(r, WST_EV_PONG);
}

static int cb_close(rtw_ws *ws, int code, const char *reason, size_t reason_len, void *ud)
{
  wst_run *r = ud;
  size_t bad;

  assert_ptr_equal(ws, r->ws);
  /* RFC 6455 7.1.5/7.4: a received code is one an endpoint may send, or 1005 for none */
  if (code == RTW_WS_CLOSE_NO_STATUS)
    assert_int_equal(reason_len, 0);
  else if (!close_code_sendable((unsigned)code))
    wst_fail("on_close with code %d", code);
  if (reason_len > 123)
    wst_fail("on_close with a %zu-byte reason", reason_len);
  if (reason_len && wst_utf8_check(reason, reason_len, &bad) != WST_UTF8_OK)
    wst_fail("on_close with a reason that is not UTF-8");
  rtwt_log_printf(r->log, "close(%d,", code);
  wst_log_data(r->log, reason, reason_len);
  rtwt_log_printf(r->log, ")\n");
  r->n_close++;
  return ev_ret(r, WST_EV_CLOSE);
}

static void cb_released(rtw_ws *ws, const void *data, size_t len, void *ud)
{
  wst_run *r = ud;

  assert_ptr_equal(ws, r->ws);
  r->released++;
  r->released_ptr = data;
  r->released_len = len;
}

int wst_random(rtw_ws *ws, void *buf, size_t len, void *ud)
{
  wst_run *r = ud;
  uint8_t *p = buf;
  size_t i;

  (void)ws;
  for (i = 0; i < len; i++) {
    /* xorshift64*: deterministic, so client output is the same in every run */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    p[i] = (uint8_t)((r->rng * 2685821657736338717ull) >> 56);
  }
  wst_buf_put(&r->rand_given, buf, len);
  return 0;
}

/* ------------------------------------------------------------------ driver */

int wst_start(wst_run *r, const wst_opts *o, rtwt_log *log, const rtw_mem *mem)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  int rv;

  memset(r, 0, sizeof *r);
  r->o = o;
  r->log = log;
  r->rng = 0x9E3779B97F4A7C15ull;
  /* r->msg, r->rand_given and r->out are empty buffers now (all zero, as wst_buf_init()
   * leaves one); calling it here made gcc 12's -Warray-bounds misfire under ASan. */
  cb.on_message_begin = cb_begin;
  cb.on_message_data = cb_data;
  cb.on_message_end = cb_end;
  cb.on_message = cb_message;
  cb.on_ping = cb_ping;
  cb.on_pong = cb_pong;
  cb.on_close = cb_close;
  cb.on_payload_released = cb_released;
  cb.random = wst_random;
  st.flags = o->flags;
  st.max_frame_size = o->max_frame_size;
  st.max_message_size = o->max_message_size;
  st.fragment_size = o->fragment_size;
  st.max_outbound = o->max_outbound;
  st.rsv_allowed = o->rsv_allowed;
  st.keepalive_ms = o->keepalive_ms;
  st.pong_timeout_ms = o->pong_timeout_ms;
  st.close_timeout_ms = o->close_timeout_ms;
  st.keep_idle_ms = o->keep_idle_ms;
  r->ws = NULL;
  rv = rtw_ws_new(&r->ws, o->role, &cb, &st, mem, r);
  if (rv != 0) {
    r->ws = NULL;
    return rv;
  }
  assert_non_null(r->ws);
  assert_ptr_equal(rtw_ws_user_data(r->ws), r);
  if (o->before)
    o->before(r);
  return 0;
}

/* ws.h rtw_ws_send_pending: RTW_ERR_NOMEM fails the session; nothing is left to do */
static int output_failed(rtw_ws *ws, int rv)
{
  if (rv != RTW_ERR_NOMEM)
    wst_fail("rtw_ws_send_pending(_iov) returned %s", rtw_err_name(rv));
  assert_int_equal(rtw_ws_want_write(ws), 0);
  assert_int_equal(rtw_ws_want_read(ws), 0);
  return rv;
}

int wst_drain(rtw_ws *ws, wst_buf *out, int mode)
{
  unsigned long guard = 0;
  int rv;

  for (;;) {
    const void *p = NULL;
    size_t n = 99;
    rtw_iovec iov[3];
    size_t count = 99, i, total = 0;

    rv = rtw_ws_send_pending(ws, &p, &n);
    if (rv != 0)
      return output_failed(ws, rv);
    if (n == 0) {
      if (rtw_ws_want_write(ws) != 0)
        wst_fail("rtw_ws_want_write() is 1 but rtw_ws_send_pending() gives no bytes "
                 "(an error swallowed while preparing output?)");
      assert_int_equal(rtw_ws_send_pending_iov(ws, iov, 3, &count), 0);
      assert_int_equal(count, 0);
      return 0;
    }
    assert_int_equal(rtw_ws_want_write(ws), 1);
    assert_non_null(p);
    assert_true(++guard < (1ul << 28));
    switch (mode) {
    case WST_DRAIN_IOV:
      rv = rtw_ws_send_pending_iov(ws, iov, 3, &count);
      if (rv != 0)
        return output_failed(ws, rv);
      assert_true(count >= 1 && count <= 3);
      for (i = 0; i < count; i++) {
        if (iov[i].len)
          assert_non_null(iov[i].base);
        wst_buf_put(out, iov[i].base, iov[i].len);
        total += iov[i].len;
      }
      assert_true(total > 0);
      assert_int_equal(rtw_ws_send_consumed(ws, total), 0);
      break;
    case WST_DRAIN_BYTE:
      wst_buf_put(out, p, 1);
      assert_int_equal(rtw_ws_send_consumed(ws, 1), 0);
      break;
    default:
      wst_buf_put(out, p, n);
      assert_int_equal(rtw_ws_send_consumed(ws, n), 0);
      break;
    }
  }
}

int wst_pump(wst_run *r)
{
  int rv = 0;

  if (r->ws && r->send_rv == 0) {
    rv = wst_drain(r->ws, &r->out, r->o->drain);
    r->send_rv = rv;
  }
  return rv;
}

/* WST_INPLACE=1 in the environment: every test feeds through rtw_ws_recv_inplace() instead,
 * on a writable copy of each piece, checking that the bytes it did not consume are left as
 * they were (issue 15). */
static int inplace_mode(void)
{
  static int mode = -1;

  if (mode < 0) {
    const char *e = getenv("WST_INPLACE");
    mode = e != NULL && strcmp(e, "1") == 0;
  }
  return mode;
}

static int recv_maybe_inplace(wst_run *r, const uint8_t *in, size_t left, size_t *nread)
{
  uint8_t *w;
  int rv;

  if (!inplace_mode())
    return rtw_ws_recv(r->ws, in, left, nread);
  w = malloc(left ? left : 1);
  assert_non_null(w);
  if (left)
    memcpy(w, in, left);
  rv = rtw_ws_recv_inplace(r->ws, left ? w : NULL, left, nread);
  if (*nread <= left && memcmp(w + *nread, in + *nread, left - *nread) != 0)
    wst_fail("rtw_ws_recv_inplace changed bytes past nread %zu", *nread);
  free(w);
  return rv;
}

int wst_recv(wst_run *r, const void *in_, size_t len)
{
  const uint8_t *in = in_;
  size_t left = len;
  int rv, stalls = 0;

  for (;;) {
    size_t nread = (size_t)-1;
    rv = recv_maybe_inplace(r, in, left, &nread);
    if (nread > left)
      wst_fail("rtw_ws_recv: nread %zu of %zu (rv %s)", nread, left, rtw_err_name(rv));
    in += nread;
    left -= nread;
    wst_pump(r);
    if (rv == RTW_ERR_PAUSE) {
      rtwt_log_printf(r->log, "pause\n");
      if (nread == 0 && ++stalls > 3)
        wst_fail("rtw_ws_recv keeps pausing without consuming");
      if (nread)
        stalls = 0;
      continue;
    }
    break;
  }
  r->last_rv = rv;
  if (rv != 0) {
    rtwt_log_printf(r->log, "error(%s)\n", rtw_err_name(rv));
    return rv;
  }
  if (left != 0)
    wst_fail("rtw_ws_recv returned 0 with %zu bytes unconsumed", left);
  return 0;
}

static void check_client_keys(const wst_run *r, const wst_oframes *of)
{
  size_t i;

  /* RFC 6455 5.3: the masking key is a fresh 32-bit value from a strong source for every
   * frame: here, the host's random callback, taken in order */
  assert_true(of->n * 4 <= r->rand_given.len);
  for (i = 0; i < of->n; i++) {
    if (memcmp(of->f[i].key, r->rand_given.p + 4 * i, 4) != 0)
      wst_fail("frame %zu: masking key is not the next 4 bytes of the random callback", i);
  }
}

void wst_finish(wst_run *r)
{
  wst_oframes of;
  size_t i;

  wst_pump(r);
  wst_parse_out(r->out.p, r->out.len, r->o->role == RTW_WS_ROLE_CLIENT, &of);
  for (i = 0; i < of.n; i++)
    wst_log_oframe(r->log, &of.f[i]);
  if (r->send_rv)
    rtwt_log_printf(r->log, "send_error(%s)\n", rtw_err_name(r->send_rv));
  if (r->o->role == RTW_WS_ROLE_CLIENT)
    check_client_keys(r, &of);
  wst_oframes_free(&of);
  if (r->ws)
    rtwt_log_printf(r->log, "end(read=%d,sent=%d,recvd=%d)\n", rtw_ws_want_read(r->ws),
                    rtw_ws_close_sent(r->ws), rtw_ws_close_received(r->ws));
}

void wst_stop(wst_run *r)
{
  rtw_ws_free(r->ws);
  r->ws = NULL;
  wst_buf_free(&r->msg);
  wst_buf_free(&r->rand_given);
  wst_buf_free(&r->out);
}

void wst_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces, size_t npieces,
              rtwt_log *log)
{
  const wst_opts *o = arg;
  wst_run r;
  size_t i, off = 0;

  assert_int_equal(wst_start(&r, o, log, NULL), 0);
  for (i = 0; i < npieces; i++) {
    int rv = wst_recv(&r, in + off, pieces[i]);
    off += pieces[i];
    if (rv != 0)
      break;
  }
  assert_true(off <= len);
  wst_finish(&r);
  wst_stop(&r);
}

void wst_run_once(const wst_opts *o, const void *in, size_t len, rtwt_log *log)
{
  size_t one = len;

  rtwt_log_clear(log);
  wst_feed((void *)o, in, len, &one, len ? 1 : 0, log);
}

static void feed_chunked(const wst_opts *o, const uint8_t *in, size_t len, size_t chunk,
                         rtwt_log *log)
{
  size_t n = (len + chunk - 1) / chunk, i;
  size_t *pieces = malloc(n * sizeof *pieces);

  assert_non_null(pieces);
  for (i = 0; i < n; i++)
    pieces[i] = i + 1 < n ? chunk : len - chunk * (n - 1);
  rtwt_log_clear(log);
  wst_feed((void *)o, in, len, pieces, n, log);
  free(pieces);
}

static void feed_split(const wst_opts *o, const uint8_t *in, size_t len, size_t at,
                       rtwt_log *log)
{
  size_t two[2];

  two[0] = at;
  two[1] = len - at;
  rtwt_log_clear(log);
  wst_feed((void *)o, in, len, two, 2, log);
}

static void same_log(const rtwt_log *ref, const rtwt_log *got, const char *how, size_t n)
{
  if (ref->len != got->len || memcmp(ref->buf, got->buf, ref->len) != 0) {
    print_error("log mismatch (%s %zu)\n--- whole input:\n%s\n--- this feed:\n%s\n", how, n,
                ref->buf, got->buf);
    fail();
  }
}

/* Large inputs: whole, in chunks of 1 (up to 16 KiB), 13 and 1021 (up to 1 MiB), 4093 and
 * 65537 bytes, and split in two near both ends (up to 256 KiB). `light` (the second delivery
 * mode of wst_check) keeps only whole and one chunk size, to bound the time under valgrind. */
static void check_chunks(const wst_opts *o, const uint8_t *in, size_t len, const char *expected,
                         int light)
{
  static const size_t chunks[] = {1, 13, 1021, 4093, 65537};
  rtwt_log ref, got;
  size_t i;

  rtwt_log_init(&ref);
  rtwt_log_init(&got);
  wst_run_once(o, in, len, &ref);
  if (expected != NULL && strcmp(ref.buf, expected) != 0) {
    print_error("--- expected:\n%s\n--- got:\n%s\n", expected, ref.buf);
    fail();
  }
  for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    size_t c = chunks[i];
    if (c >= len || (c == 1 && len > 16 * 1024u) ||
        (c < 4000 && len > 1024 * 1024u + 64))
      continue;
    if (light && c != (len > 1024 * 1024u + 64 ? 65537u : 1021u))
      continue;
    feed_chunked(o, in, len, c, &got);
    same_log(&ref, &got, "chunks of", c);
  }
  if (len <= 256 * 1024u && !light) {
    static const size_t at[] = {1, 2, 5, 9, 13, 15};
    for (i = 0; i < sizeof at / sizeof at[0] && at[i] < len; i++) {
      feed_split(o, in, len, at[i], &got);
      same_log(&ref, &got, "split at", at[i]);
      feed_split(o, in, len, len - at[i], &got);
      same_log(&ref, &got, "split at", len - at[i]);
    }
  }
  rtwt_log_free(&ref);
  rtwt_log_free(&got);
}

void wst_check_chunks(const wst_opts *o, const void *in, size_t len, const char *expected)
{
  check_chunks(o, in, len, expected, 0);
}

static void check_one(const wst_opts *o, const void *in, size_t len, const char *expected,
                      int light)
{
  if (len <= WST_SPLIT_MAX)
    rtwt_check_splits(wst_feed, (void *)o, in, len, expected);
  else
    check_chunks(o, in, len, expected, light);
}

void wst_check(const wst_opts *o, const void *in, size_t len, const char *expected)
{
  wst_opts alt;
  rtwt_log ref;

  check_one(o, in, len, expected, 0);
  if (o->one_mode)
    return;
  alt = *o;
  alt.flags ^= RTW_WS_FLAG_WHOLE_MESSAGES;
  alt.drain = o->drain == WST_DRAIN_IOV ? WST_DRAIN_CONTIG : WST_DRAIN_IOV;
  alt.one_mode = 1;
  if (expected != NULL) {
    check_one(&alt, in, len, expected, 1);
    return;
  }
  rtwt_log_init(&ref);
  wst_run_once(o, in, len, &ref);
  check_one(&alt, in, len, ref.buf, 1);
  rtwt_log_free(&ref);
}

void wst_check_buf(const wst_opts *o, const wst_buf *in, const char *expected)
{
  wst_check(o, in->p, in->len, expected);
}

void wst_expect_error_at(const wst_opts *o, const void *in_, size_t len, size_t at, int err,
                         int code, rtwt_log *log_out)
{
  const uint8_t *in = in_;
  rtwt_log own, *log = log_out ? log_out : &own;
  wst_run r;
  wst_oframes of;
  size_t i, delivered, nread = 0;
  int rv;

  assert_true(at < len);
  if (!log_out)
    rtwt_log_init(&own);
  assert_int_equal(wst_start(&r, o, log, NULL), 0);
  for (i = 0; i < at; i++) {
    rv = wst_recv(&r, in + i, 1);
    if (rv != 0)
      wst_fail("byte %zu failed with %s; expected %s at byte %zu\n%s", i, rtw_err_name(rv),
               rtw_err_name(err), at, log->buf);
  }
  delivered = r.n_end + r.n_msg;
  rv = wst_recv(&r, in + at, 1);
  if (rv != err)
    wst_fail("byte %zu: got %s, expected %s\n%s", at, rtw_err_name(rv), rtw_err_name(err),
             log->buf);
  /* the close frame is queued by the time the failing byte is consumed */
  assert_int_equal(rtw_ws_close_sent(r.ws), code);
  assert_int_equal(rtw_ws_want_read(r.ws), 0);
  wst_parse_out(r.out.p, r.out.len, o->role == RTW_WS_ROLE_CLIENT, &of);
  assert_true(of.n >= 1);
  assert_int_equal(of.f[of.n - 1].opcode, RTW_WS_OP_CLOSE);
  assert_true(of.f[of.n - 1].len >= 2);
  assert_int_equal(of.f[of.n - 1].data[0] << 8 | of.f[of.n - 1].data[1], code);
  wst_oframes_free(&of);
  /* sticky, and nothing more is delivered */
  if (at + 1 < len) {
    rv = rtw_ws_recv(r.ws, in + at + 1, len - at - 1, &nread);
    assert_int_equal(rv, err);
    assert_true(nread <= len - at - 1);
  }
  assert_int_equal(r.n_end + r.n_msg, delivered);
  wst_finish(&r);
  wst_stop(&r);
  if (!log_out)
    rtwt_log_free(&own);
}

uint8_t *wst_pattern(size_t n, int text, uint32_t seed)
{
  static const char *const pieces[] = {"a", "b", "c", " ", "\xC3\xA9", "\xE2\x82\xAC",
                                       "\xF0\x9D\x84\x9E", "z", "\xCE\xBA", "0"};
  uint8_t *p = malloc(n ? n : 1);
  uint32_t x = seed * 2654435761u + 12345u;
  size_t i = 0;

  assert_non_null(p);
  while (i < n) {
    x = x * 1103515245u + 12345u;
    if (!text) {
      p[i++] = (uint8_t)(x >> 16);
      continue;
    }
    {
      const char *s = pieces[(x >> 16) % 10u];
      size_t l = strlen(s);
      if (l > n - i)
        s = "x", l = 1;
      memcpy(p + i, s, l);
      i += l;
    }
  }
  return p;
}
