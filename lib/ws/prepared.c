/* SPDX-License-Identifier: MIT */
/* Prepared messages: a message framed (and compressed, RFC 7692 7.2.1) once and queued on
 * many server sessions by reference.
 *
 * Layout: one allocation holds the struct and, after it, both ready frames, each a header
 * immediately followed by its payload, so a session can hand each frame out as one gather
 * element pointing into this block:
 *
 *   [struct rtw_ws_prepared][plain header | payload][compressed header | deflated bytes]
 *
 * Both frames are single unmasked frames with FIN set (RFC 6455 5.2; a server's frames are
 * never masked, 5.1); the compressed one has RSV1 set (RFC 7692 6: the "Per-Message
 * Compressed" bit on the first, here only, frame). The deflated bytes come from a fresh raw
 * DEFLATE stream with a sync flush whose 00 00 FF FF tail is removed (7.2.1): any peer whose
 * decompressor has at least the compressor's window and expects no shared context can
 * inflate them.
 *
 * Lifetime: a reference count, 1 for the creator plus 1 per session holding a frame (given
 * back through the release hook of rtw__ws_queue_frames() once the bytes are written or
 * dropped). The block is freed when it reaches 0, whatever the order. */
#include <stddef.h>
#include <string.h>

#include "deflate.h"
#include "internal.h"
#include "rtweb/ws.h"
#include "utf8.h"

struct rtw_ws_prepared {
  rtw_mem mem;
  size_t refs;
  const uint8_t *payload; /* the copied payload, inside plain */
  size_t len;
  const uint8_t *plain; /* header + payload */
  size_t plain_len;
  const uint8_t *comp; /* header + deflated bytes; NULL when there is no compressed form */
  size_t comp_len;
  uint8_t opcode;
  uint8_t window_bits; /* of the compressor that made comp */
  uint8_t data[];      /* the frames */
};

/* Resolve the prefix of the config its version states, defaults for zeros, and check the
 * ranges rtw_ws_deflate_config documents for the members used here. */
static int prepared_config(const rtw_ws_deflate_config *in, rtw_ws_deflate_config *c)
{
  memset(c, 0, sizeof *c);
  if (in->version < 1 || in->version > RTW_WS_DEFLATE_CONFIG_VERSION)
    return RTW_ERR_INVALID_ARGUMENT;
  *c = *in; /* version 1 is the whole struct */
  c->level = c->level ? c->level : (uint8_t)RTW_WS_DEFLATE_DEFAULT_LEVEL;
  c->deflate_window_bits =
      c->deflate_window_bits ? c->deflate_window_bits : (uint8_t)RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS;
  c->deflate_mem_level =
      c->deflate_mem_level ? c->deflate_mem_level : (uint8_t)RTW_WS_DEFLATE_DEFAULT_MEM_LEVEL;
  if ((c->flags & ~(uint32_t)(RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER |
                              RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_REQUIRED |
                              RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER |
                              RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE)) != 0 ||
      c->level > 9 || c->deflate_window_bits < 9 || c->deflate_window_bits > 15 ||
      c->deflate_mem_level > 9 || (c->inflate_window_bits != 0 &&
                                   (c->inflate_window_bits < 8 || c->inflate_window_bits > 15)))
    return RTW_ERR_INVALID_ARGUMENT;
  return 0;
}

/* Deflate the whole payload with a fresh compressor whose memory is bounded by its own
 * estimate and released before returning. */
static int compress_once(const rtw_mem *mem, const rtw_ws_deflate_config *c, const void *data,
                         size_t len, rtw__buf *out)
{
  rtw__zacct acct;
  rtw__deflater d;
  int rv;

  acct.mem = *mem;
  acct.used = 0;
  acct.budget = rtw__deflate_mem_estimate(c->deflate_window_bits, c->deflate_mem_level);
  rv = rtw__deflater_init(&d, &acct, c->level, c->deflate_window_bits, c->deflate_mem_level);
  if (rv == 0)
    rv = rtw__deflate(&d, data, len, 1, out);
  rtw__deflater_free(&d);
  return rv;
}

/* Write a FIN frame header for `len` payload bytes at dst; returns its length. */
static size_t put_header(uint8_t *dst, unsigned opcode, unsigned rsv, size_t len)
{
  rtw_ws_frame f;
  size_t hlen = 0;

  memset(&f, 0, sizeof f);
  f.fin = 1;
  f.rsv = (uint8_t)rsv;
  f.opcode = (uint8_t)opcode;
  f.payload_len = len;
  (void)rtw_ws_frame_build(dst, &f, &hlen); /* cannot fail: opcode, rsv and len are valid */
  return hlen;
}

/* Allocate the block and lay out the frames (comp_len 0: no compressed form). */
static int assemble(rtw_ws_prepared **pm, const rtw_mem *mem, int opcode, const void *data,
                    size_t len, const uint8_t *comp, size_t comp_len, unsigned window_bits)
{
  uint8_t hdr[RTW_WS_MAX_HEADER], chdr[RTW_WS_MAX_HEADER];
  size_t hlen = put_header(hdr, (unsigned)opcode, 0, len);
  size_t clen = comp_len ? put_header(chdr, (unsigned)opcode, RTW_WS_RSV1, comp_len) : 0;
  size_t fixed = offsetof(rtw_ws_prepared, data) + hlen + clen;
  rtw_ws_prepared *p;
  uint8_t *w;

  if (len > SIZE_MAX - fixed || comp_len > SIZE_MAX - fixed - len)
    return RTW_ERR_NOMEM;
  p = rtw__mem_malloc(mem, fixed + len + comp_len);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  /* The block may be shorter than sizeof *p (trailing padding after data[]). */
  memset(p, 0, offsetof(rtw_ws_prepared, data));
  p->mem = *mem;
  p->refs = 1;
  p->opcode = (uint8_t)opcode;
  w = p->data;
  p->plain = w;
  memcpy(w, hdr, hlen);
  if (len > 0)
    memcpy(w + hlen, data, len);
  p->payload = w + hlen;
  p->len = len;
  p->plain_len = hlen + len;
  if (comp_len > 0) {
    w += p->plain_len;
    memcpy(w, chdr, clen);
    memcpy(w + clen, comp, comp_len);
    p->comp = w;
    p->comp_len = clen + comp_len;
    p->window_bits = (uint8_t)window_bits;
  }
  *pm = p;
  return 0;
}

int rtw_ws_prepared_new(rtw_ws_prepared **pm, int opcode, const void *data, size_t len,
                        const rtw_ws_deflate_config *deflate, const rtw_mem *mem)
{
  rtw_ws_deflate_config c;
  rtw__buf comp = {0};
  rtw_mem m;
  int rv;

  if (pm != NULL)
    *pm = NULL;
  if (pm == NULL || (data == NULL && len > 0) ||
      (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY) || rtw__mem_init(&m, mem) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  if (deflate != NULL && prepared_config(deflate, &c) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  /* RFC 6455 5.6: a text message is UTF-8; checked once here, not per session. */
  if (opcode == RTW_WS_OP_TEXT && rtw__utf8_valid_prefix(data, len) != len)
    return RTW_ERR_INVALID_UTF8;
  if (deflate != NULL && len >= c.threshold) {
    rv = compress_once(&m, &c, data, len, &comp);
    if (rv != 0) {
      rtw__buf_free(&comp, &m);
      return rv;
    }
    /* Keep the compressed form only when it saves bytes: sessions then get the smaller. */
    if (comp.len >= len)
      comp.len = 0;
  }
  rv = assemble(pm, &m, opcode, data, len, (const uint8_t *)comp.data, comp.len,
                deflate != NULL ? c.deflate_window_bits : 0);
  rtw__buf_free(&comp, &m);
  return rv;
}

static void unref(rtw_ws_prepared *pm)
{
  if (--pm->refs == 0) {
    rtw_mem m = pm->mem;

    rtw__mem_free(&m, pm);
  }
}

/* The release hook given to rtw__ws_queue_frames(): a session is done with its frame. */
static void release(void *ctx)
{
  unref(ctx);
}

void rtw_ws_prepared_free(rtw_ws_prepared *pm)
{
  if (pm != NULL)
    unref(pm);
}

int rtw_ws_prepared_sizes(const rtw_ws_prepared *pm, size_t *plain_len, size_t *compressed_len)
{
  if (pm == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (plain_len != NULL)
    *plain_len = pm->plain_len;
  if (compressed_len != NULL)
    *compressed_len = pm->comp_len;
  return 0;
}

/* Whether a session with these negotiated parameters can take the shared compressed frame:
 * its peer expects no context from us (server_no_context_takeover, RFC 7692 7.1.1.1: else
 * our compressor's window and the peer's decompressor's would disagree after this message)
 * and decompresses with a window at least ours (7.1.2.1). A negotiated 8 counts as 9: a
 * 9-bit zlib compressor emits no distance above 512 - MIN_LOOKAHEAD (262) = 250 bytes, so
 * an 8-bit decompressor inflates its output (the session's own compressor runs at 9 then
 * too, see rtw_ws_set_deflate()). */
static int shared_ok(const rtw_ws_prepared *pm, const rtw_ws_deflate_params *p)
{
  unsigned peer = p->server_max_window_bits < 9 ? 9u : p->server_max_window_bits;

  return p->server_no_context_takeover && peer >= pm->window_bits;
}

int rtw_ws_queue_prepared(rtw_ws *ws, rtw_ws_prepared *pm)
{
  rtw_ws_deflate_params p;
  const uint8_t *frame;
  size_t frame_len;
  int rv;

  if (ws == NULL || pm == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  frame = pm->plain;
  frame_len = pm->plain_len;
  if (pm->comp != NULL && rtw_ws_deflate_active(ws, &p)) {
    if (!shared_ok(pm, &p))
      return rtw_ws_queue_message(ws, pm->opcode, pm->payload, pm->len, 0);
    frame = pm->comp;
    frame_len = pm->comp_len;
  }
  pm->refs++;
  rv = rtw__ws_queue_frames(ws, frame, frame_len, release, pm);
  if (rv == 0)
    return 0;
  unref(pm); /* nothing was queued: the hook will not run */
  /* A client session must mask its frames (RFC 6455 5.3), and a streamed message in
   * progress cannot take a whole frame: rtw_ws_queue_message() masks its own copy, or
   * reports the state. */
  if (rv == RTW_ERR_INVALID_ARGUMENT || rv == RTW_ERR_INVALID_STATE)
    return rtw_ws_queue_message(ws, pm->opcode, pm->payload, pm->len, 0);
  return rv;
}
