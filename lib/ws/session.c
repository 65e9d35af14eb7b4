/* SPDX-License-Identifier: MIT */
/* WebSocket session engine (RFC 6455 sections 5-7): receive rules, message delivery, the
 * closing handshake, the outbound queue and timers, for the client and the server role.
 *
 * Receiving. A frame header is parsed straight from the input when it lies whole there, else
 * collected in `hdr`. The header is checked against every rule that it alone can break (RSV,
 * opcode, mask, control frame size and FIN, continuation order, size limits, 1-byte close)
 * before any payload is read, so a frame announcing 2 GiB fails at its header. Payload
 * bytes are unmasked on the fly and delivered: data in pieces (streamed mode: unmasked into
 * a stack buffer, the caller's input is never written) or straight into `msg` (whole-message
 * mode: sized once from a final frame's header, kept up to keep_buffer between messages),
 * control payloads into `ctrl` (at most 125 bytes). rtw_ws_recv_inplace() unmasks in the
 * caller's buffer instead and delivers pointers into it (rx_inplace); a one-frame whole
 * message readable where it lies is delivered from there (rx_direct), never copied. Text is
 * validated as it arrives and fails at the first invalid byte (1007), not at the end of the
 * message. Small final data frames lying whole in the input, one after another, take
 * fast_run(): the same checks and callbacks in the same order, without the per-step state
 * machine (see "small-frame fast path" below).
 *
 *   R_HEADER --header ok--> R_PAYLOAD --payload done--> R_HEADER
 *   any --peer close--> R_CLOSED (input ignored)     any --error--> R_FAILED (sticky)
 *
 * Sending. Output is a FIFO of segments: ranges of `obuf` (frames the session wrote: headers,
 * copied or masked payloads, control frames) and references to payloads it does not copy
 * (RTW_WS_QUEUE_NOCOPY, and large messages held in a node). A message that fits in one
 * fragment is serialised at once; larger ones (and any message queued behind one) wait in
 * `mq` and are serialised one fragment at a time as the host drains the output, so control
 * frames queued meanwhile go out between fragments (RFC 6455 5.4, 5.5). In the client role a
 * larger message with nothing waiting is masked into obuf whole, fragment by fragment, at once
 * (put_fragments(): one pass, no node), unless it is a NOCOPY one over keep_buffer: that one
 * waits in `mq` as a reference and is masked a fragment at a time as the host drains. obuf, the segment array and the compression buffer
 * are kept across drains up to keep_buffer (issue 15: no allocation per message), released
 * by rtw_ws_trim(), by rtw_ws_tick() after keep_idle_ms without queueing, and at once when
 * larger. Text is validated (RFC 6455 5.6) before anything of it is queued: in the pass that
 * copies or masks it where the session copies it, else in a pass of its own (queue_data()).
 * Client masking keys come from the host's RNG or a ChaCha20 stream the session seeds once
 * (masking_key()).
 *
 * Invariants:
 * - seg_bytes is the sum of the pending segments' lengths; mq_bytes the payload bytes of
 *   `mq` not yet serialised. Their sum is what max_outbound bounds.
 * - Owned segments are consumed in obuf order, so obuf is a FIFO: [ohead, obuf.len).
 * - Once close_sent, no data frame goes out after the close frame (control frames may:
 *   RFC 6455 5.5.1 forbids only data after a Close, and 5.5.2 still wants pongs).
 * - Automatic pongs are queued like other control frames while the budget (max_outbound +
 *   control headroom) has room for them; past that, one pong waits outside the
 *   queue in pong_payload and a newer ping replaces it (RFC 6455 5.5.3 lets us answer only
 *   the most recent ping). So a peer that pings without reading never grows our memory.
 * - cb_depth counts callbacks running. Calls that would nest a parse or a drain fail with
 *   RTW_ERR_REENTRANT there; rtw_ws_free() there only sets free_pending, and the outermost
 *   API call frees the session once the callback has returned (see leave()).
 *
 * permessage-deflate (RFC 7692, issue #13; zlib behind lib/ws/deflate.h). With it on, RSV1
 * marks the first frame of a compressed message (section 6). Receiving, its payload goes
 * through the decompressor instead of straight to delivery:
 *
 *   unmask (8 KiB) --> rtw__inflate --4 KiB pieces--> max_message_size --> UTF-8 --> deliver
 *   at FIN: the tail 00 00 FF FF (7.2.2), then rtw__inflate_end (context kept or dropped)
 *
 * A pause or the gate may stop delivery with output still inside zlib (rx_zpend): the next
 * step drains it before taking input. A frame's last byte is fed alone, once nothing waits:
 * its output (and the tail's) is a few hundred bytes at most, delivered in full, so output
 * never waits once the host has fed every byte it has. Sending, a whole message is deflated
 * into a temporary buffer and queued as a copied payload with RSV1 on its first frame; a
 * streamed one piece by piece with sync flushes. rtw__ws_queue_frames() (prepared messages)
 * adds reference segments whose bytes are shared and released through a callback; behind a
 * message still in `mq` they wait as a `raw` node, so they never split a fragmented message.
 * The zlib streams are allocated on first use. On a side without context takeover they are
 * reset after each message (no allocation per message) and released by rtw_ws_tick() once
 * idle (tick_deflate_idle), or freed after each message with
 * RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE: an idle session without takeover holds no zlib memory.
 *
 * Input gate (issue #12): when the outbound size reaches outbound_high_water, rtw_ws_recv()
 * stops before its next step (RTW_ERR_PAUSE) and want_read is 0 until the size falls to
 * outbound_low_water. A callback that queues an echo therefore always finds room when
 * max_outbound >= high water + max_message_size + RTW_WS_MAX_HEADER + 256.
 */
#include <stddef.h>
#include <string.h>

#include "chacha.h"
#include "codec.h"
#include "crypto.h"
#include "deflate.h"
#include "internal.h"
#include "mask.h"
#include "rtweb/ws.h"
#include "utf8.h"

enum { R_HEADER, R_PAYLOAD, R_CLOSED, R_FAILED };

#define UNMASK_CHUNK 8192u
/* The outbound size stays within max_outbound + CONTROL_HEADROOM (ws.h): data within
 * max_outbound (plus the header of the fragment being serialised, at most 14 bytes), pings
 * and pongs within max_outbound + CONTROL_HEADROOM - CLOSE_RESERVE, and the one close frame
 * (6 + 125 bytes at most) always fits on top. */
#define CONTROL_HEADROOM 256u
#define CLOSE_RESERVE (6u + RTW_WS_MAX_CONTROL_PAYLOAD + RTW_WS_MAX_HEADER)
/* A frame header alone never makes the whole-message buffer grow by more than this: the
 * buffer is sized once from the header up to it, and grows with the data beyond. */
#define MSG_AHEAD (1024u * 1024u)
#define INFLATE_CHUNK 4096u /* inflated bytes per step: bounded, on the stack */

typedef struct seg {
  const uint8_t *ptr; /* NULL: owned bytes at obuf + off */
  size_t off;
  size_t len;
  struct out_msg *node;    /* freed when this segment is consumed (last payload segment) */
  const void *release;     /* NOCOPY payload to release when this segment is consumed */
  size_t release_len;
  void (*rel_fn)(void *ctx); /* rtw__ws_queue_frames(): called once consumed or dropped */
  void *rel_ctx;
} seg;

typedef struct out_msg {
  struct out_msg *next;
  const uint8_t *data; /* the caller's payload (NOCOPY) or the copy after this struct */
  size_t len;
  size_t off;      /* bytes serialised so far */
  uint8_t opcode;  /* first frame's opcode */
  uint8_t started; /* a frame of this message went out: the rest are continuations */
  uint8_t fin;     /* the last frame of this node ends the message */
  uint8_t nocopy;
  uint8_t rsv;     /* RSV bits of the message's first frame (RSV1: compressed, RFC 7692 6) */
  uint8_t raw;     /* ready frames from rtw__ws_queue_frames(), sent as they are */
  uint8_t bare;    /* no payload copy after the struct: reusable as the spare node */
  void (*rel_fn)(void *ctx);
  void *rel_ctx;
} out_msg;

struct rtw_ws {
  rtw_mem mem;
  rtw_ws_callbacks cb;
  void *user_data;
  int role;
  uint32_t flags;
  uint64_t max_frame;
  uint64_t max_msg;
  size_t frag_size;
  size_t max_out;
  uint32_t keepalive_ms;
  uint32_t pong_timeout_ms;
  uint32_t close_timeout_ms;
  uint32_t rsv_allowed;
  size_t high_water;
  size_t low_water;
  uint32_t send_timeout_ms;
  int error;
  int paused; /* a callback returned RTW_ERR_PAUSE; cleared by the next rtw_ws_recv() */
  unsigned cb_depth;    /* callbacks running (re-entrancy guard) */
  uint8_t free_pending; /* rtw_ws_free() was called from a callback */
  uint8_t host_paused;  /* rtw_ws_pause_input(ws, 1) */
  uint8_t gated;        /* the outbound high-water gate holds input */

  /* receive */
  uint8_t rstate;
  uint8_t hdr_len;
  uint8_t msg_op;   /* opcode of the message being received, 0 when none */
  uint8_t ctrl_len;
  uint8_t rx_inplace; /* receive (issue 15): rtw_ws_recv_inplace(), unmask in the input */
  uint8_t hdr[RTW_WS_MAX_HEADER];
  rtw_ws_frame f;
  uint32_t key;       /* f.mask as a word (mask.h) */
  rtw_ws_deflate_params dfl; /* negotiated, absent windows as 15 (here: fills key's word) */
  uint64_t remaining; /* payload bytes left in the current frame */
  uint64_t frame_off; /* payload bytes of the current frame seen */
  uint64_t msg_len;   /* payload bytes of the current message seen */
  rtw__utf8 utf8;     /* validation of the text message being received */
  uint8_t ctrl[RTW_WS_MAX_CONTROL_PAYLOAD];
  rtw__buf msg; /* whole-message mode */
  /* receive (issue 15) */
  const uint8_t *rx_direct;  /* whole mode: the message lies here (input or stack), not in msg */

  /* send */
  rtw__buf obuf;
  size_t ohead;
  seg *segs;
  size_t seg_head;
  size_t seg_count;
  size_t seg_cap;
  size_t seg_bytes;
  out_msg *mq;
  out_msg *mq_tail;
  out_msg *spare; /* one bare queue node kept for the next NOCOPY message (node_free()) */
  size_t mq_bytes;
  uint8_t out_op; /* opcode of the message being sent with queue_fragment, 0 when none */
  uint8_t out_started;
  rtw__utf8 out_utf8;
  size_t keep_buffer;    /* settings: buffer capacity kept for reuse */
  uint32_t keep_idle_ms; /* settings: kept buffers released after this long idle */
  /* send: buffers kept across drains (issue 15), see output_idle() and tick_keep_idle() */
  uint8_t keep_used;      /* something was queued since the idle release was armed */
  uint8_t keep_armed;     /* the idle release is armed (at a tick) */
  uint64_t keep_deadline; /* ... for this tick */
  rtw__buf zbuf;          /* compressed payload of the message being queued (kept) */
  int close_sent;
  int close_recv;
  uint8_t close_written; /* our close frame has been fully taken by the host */
  uint8_t rnd_pos;
  uint8_t rnd[64]; /* client role: the masking key stream (masking_key()) */
  /* an automatic pong waiting for room in the budget (RFC 6455 5.5.3: only the most recent
   * ping needs one); refill() queues it */
  uint8_t pong_deferred;
  uint8_t pong_plen;
  uint8_t pong_payload[RTW_WS_MAX_CONTROL_PAYLOAD];
  /* timer flags (RFC 6455 does not fix the timers; see rtw_ws_settings), placed here to
   * fill the padding after pong_payload: the idle session stays within 1 KiB */
  uint8_t ticked;
  uint8_t rx_activity;
  uint8_t ping_out;
  uint8_t close_armed;
  uint8_t timers_stale; /* input was paused: keepalive and pong timers restart at a tick */
  uint8_t send_armed;
  uint8_t write_progress; /* rtw_ws_send_consumed() took bytes since the last tick */
  uint8_t eof_armed;      /* client: waiting for the server's EOF (RFC 6455 7.1.1) */
  uint8_t eof_done;
  /* permessage-deflate flags, same reason */
  uint8_t rx_z;       /* the message being received is compressed (RSV1 on its first frame) */
  uint8_t rx_zpend;   /* the decompressor may hold output of input already consumed */
  uint8_t out_z;      /* the streamed message being sent (queue_fragment) is compressed */

  /* timers (RFC 6455 does not fix them; see rtw_ws_settings); flags above */
  uint64_t now; /* the last tick */
  uint64_t last_rx;
  uint64_t pong_deadline;
  uint64_t close_deadline;
  uint64_t send_deadline;
  uint64_t eof_deadline;

  /* permessage-deflate (RFC 7692), see rtw_ws_set_deflate() */
  uint8_t io_seen;    /* input or output has passed: too late to switch compression on */
  uint8_t dfl_set;    /* rtw_ws_set_deflate() was called */
  uint8_t dfl_on;     /* negotiated */
  uint8_t own_reset;  /* we do not take over context: reset the compressor per message */
  uint8_t peer_reset; /* the peer does not: reset the decompressor per message */
  uint8_t dfl_release_each; /* RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE: free instead of reset */
  uint8_t dfl_used;         /* a compressed message passed since the idle timer was armed */
  uint8_t dfl_idle_armed;
  uint64_t dfl_idle_deadline; /* release reset streams when idle (RTW_WS_DEFLATE_IDLE_RELEASE_MS) */
  uint64_t rx_zwire;  /* compressed bytes of the message being received */
  size_t dfl_threshold;
  rtw__zacct zacct;
  rtw__deflater defl;
  rtw__inflater infl;
};

/* ------------------------------------------------------------------ small helpers */

static int is_control(unsigned op)
{
  return op >= 8;
}

/* RFC 6455 7.4.1 / 7.4.2: codes that may appear in a close frame. */
static int close_code_valid(unsigned code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

static int close_code_for(int err)
{
  switch (err) {
  case RTW_ERR_INVALID_UTF8:
  case RTW_ERR_WS_BAD_COMPRESSED: /* RFC 7692 8: 1007 for data that does not inflate */
    return RTW_WS_CLOSE_INVALID_PAYLOAD; /* 7.4.1: 1007, data not consistent with type */
  case RTW_ERR_WS_EXTENSION_MISSING:
    return RTW_WS_CLOSE_MANDATORY_EXTENSION; /* 7.4.1: 1010, the client needs it */
  case RTW_ERR_WS_FRAME_TOO_LARGE:
  case RTW_ERR_WS_MESSAGE_TOO_LARGE:
    return RTW_WS_CLOSE_TOO_BIG; /* 7.4.1: 1009, message too big to process */
  case RTW_ERR_CALLBACK_FAILURE:
  case RTW_ERR_NOMEM:
    return RTW_WS_CLOSE_INTERNAL_ERROR;
  default:
    return RTW_WS_CLOSE_PROTOCOL_ERROR;
  }
}

/* What a callback returned. RTW_ERR_WS_CLOSED is what queue calls return after our close:
 * an echo that returns its queue call's value is correct then too (issue #12). After a
 * deferred rtw_ws_free() nothing counts: processing stops anyway. */
static int check_cb(rtw_ws *ws, int rv)
{
  if (rv == 0 || rv == RTW_ERR_WS_CLOSED || ws->free_pending)
    return 0;
  if (rv == RTW_ERR_PAUSE) {
    ws->paused = 1;
    ws->timers_stale = 1;
    return 0;
  }
  return RTW_ERR_CALLBACK_FAILURE;
}

/* on_payload_released, under the re-entrancy guard. */
static void released(rtw_ws *ws, const void *data, size_t len)
{
  if (ws->cb.on_payload_released == NULL)
    return;
  ws->cb_depth++;
  ws->cb.on_payload_released(ws, data, len, ws->user_data);
  ws->cb_depth--;
}

static size_t out_size(const rtw_ws *ws)
{
  return ws->seg_bytes + ws->mq_bytes;
}

/* The input gate, with hysteresis: closes at high water, opens at low water. */
static void gate_update(rtw_ws *ws)
{
  size_t n = out_size(ws);

  if (n >= ws->high_water) {
    if (!ws->gated)
      ws->timers_stale = 1;
    ws->gated = 1;
  } else if (n <= ws->low_water) {
    ws->gated = 0;
  }
}

static int input_paused(const rtw_ws *ws)
{
  return ws->host_paused || ws->gated || ws->paused;
}

/* ------------------------------------------------------------------ output queue */

/* Room for k more segments, so that a frame's header and payload segments are added
 * together or not at all. */
static int seg_reserve(rtw_ws *ws, size_t k)
{
  size_t cap;
  seg *n;

  if (ws->seg_head + ws->seg_count + k <= ws->seg_cap)
    return 0;
  if (ws->seg_head > 0) { /* slide down before growing */
    memmove(ws->segs, ws->segs + ws->seg_head, ws->seg_count * sizeof *ws->segs);
    ws->seg_head = 0;
    if (ws->seg_count + k <= ws->seg_cap)
      return 0;
  }
  cap = ws->seg_cap ? ws->seg_cap * 2 : 8;
  while (cap < ws->seg_count + k)
    cap *= 2;
  n = rtw__mem_realloc(&ws->mem, ws->segs, cap * sizeof *n);
  if (n == NULL)
    return RTW_ERR_NOMEM;
  ws->segs = n;
  ws->seg_cap = cap;
  return 0;
}

static int seg_push(rtw_ws *ws, const uint8_t *ptr, size_t off, size_t len)
{
  seg *s;

  if (seg_reserve(ws, 1))
    return RTW_ERR_NOMEM;
  s = &ws->segs[ws->seg_head + ws->seg_count++];
  s->ptr = ptr;
  s->off = off;
  s->len = len;
  s->node = NULL;
  s->release = NULL;
  s->release_len = 0;
  s->rel_fn = NULL;
  s->rel_ctx = NULL;
  ws->seg_bytes += len;
  return 0;
}

static seg *seg_last(rtw_ws *ws)
{
  return ws->seg_count ? &ws->segs[ws->seg_head + ws->seg_count - 1] : NULL;
}

/* Room on top of keep_buffer in a kept output buffer: a keep_buffer-byte payload with its
 * header (RTW_WS_MAX_HEADER) and a few control frames still fit in it. */
#define KEEP_SLACK 256u

/* The largest output buffer (bytes of capacity) kept across drains. */
static size_t keep_limit(const rtw_ws *ws)
{
  return ws->keep_buffer > SIZE_MAX - KEEP_SLACK ? SIZE_MAX : ws->keep_buffer + KEEP_SLACK;
}

/* The largest compression buffer kept: what a keep_buffer-byte message deflates to at most
 * (zbound(), saturating). */
static size_t zkeep_limit(const rtw_ws *ws)
{
  size_t k = ws->keep_buffer;

  return k > (SIZE_MAX - 64u) / 2u ? SIZE_MAX : k + (k >> 4) + 64u;
}

/* Grow obuf for n more bytes: geometrically (amortised O(1) appends), but never past
 * keep_limit() when the need fits under it, so the buffer for messages up to keep_buffer is
 * one that output_idle() keeps. The caller checked the outbound budget. */
static int obuf_grow(rtw_ws *ws, size_t n)
{
  size_t need, cap, lim = keep_limit(ws);
  char *p;

  if (n > SIZE_MAX - ws->obuf.len)
    return RTW_ERR_NOMEM;
  need = ws->obuf.len + n;
  cap = ws->obuf.cap ? ws->obuf.cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (need <= lim && cap > lim)
    cap = lim;
  p = rtw__mem_realloc(&ws->mem, ws->obuf.data, cap);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  ws->obuf.data = p;
  ws->obuf.cap = cap;
  return 0;
}

/* Room for n more owned bytes at the end of obuf, returned as a pointer; the bytes become
 * part of the output with owned_commit(). */
static inline uint8_t *owned_reserve(rtw_ws *ws, size_t n)
{
  if (n <= ws->obuf.cap - ws->obuf.len) /* the common case: room at the end */
    return (uint8_t *)ws->obuf.data + ws->obuf.len;
  if (ws->ohead > 0) {
    /* drop the written prefix before growing, so obuf stays within the budget */
    size_t k = ws->ohead, i;
    memmove(ws->obuf.data, ws->obuf.data + k, ws->obuf.len - k);
    ws->obuf.len -= k;
    ws->ohead = 0;
    for (i = 0; i < ws->seg_count; i++) {
      seg *s = &ws->segs[ws->seg_head + i];
      if (s->ptr == NULL)
        s->off -= k;
    }
  }
  if (n > ws->obuf.cap - ws->obuf.len && obuf_grow(ws, n))
    return NULL;
  return (uint8_t *)ws->obuf.data + ws->obuf.len;
}

static int owned_commit(rtw_ws *ws, size_t n)
{
  seg *last = seg_last(ws);
  size_t off = ws->obuf.len;

  ws->obuf.len += n;
  if (last != NULL && last->ptr == NULL && last->off + last->len == off && !last->node &&
      !last->release) {
    last->len += n; /* contiguous with the previous owned segment: extend it */
    ws->seg_bytes += n;
    return 0;
  }
  if (seg_push(ws, NULL, off, n)) {
    ws->obuf.len -= n;
    return RTW_ERR_NOMEM;
  }
  return 0;
}

/* Four masking key bytes (RFC 6455 5.3, 10.3: unpredictable): from the host's RNG, else from
 * a ChaCha20 fast-key-erasure stream (lib/core/chacha.h) seeded once per session by
 * rtw__random_seed() (the CPU's RDRAND where it answers, else the OS: no system call per
 * session on x86).
 * rnd[0..32) is the stream's key, rnd[32..64) eight keys; rnd_pos is 0 until seeded, then the
 * next unused byte of rnd[32..64). Not one system call per 16 keys (issue 15, r7: a
 * getrandom() before each 1 MiB message cost a quarter of the masked send, mostly in TLB
 * refills after it). */
#define RND_KEYS 32u /* where the keys start in rnd[64] */
static int masking_key(rtw_ws *ws, uint8_t key[4])
{
  if (ws->cb.random != NULL) {
    int rv;
    ws->cb_depth++;
    rv = ws->cb.random(ws, key, 4, ws->user_data);
    ws->cb_depth--;
    return rv == 0 ? 0 : RTW_ERR_CALLBACK_FAILURE;
  }
  if (ws->rnd_pos == 0 && rtw__random_seed(ws->rnd, RND_KEYS))
    return RTW_ERR_UNSUPPORTED; /* not seeded yet: the stream's key (CPU or OS) */
  if (ws->rnd_pos == 0 || ws->rnd_pos >= sizeof ws->rnd) {
    rtw__chacha20_refill(ws->rnd);
    ws->rnd_pos = (uint8_t)RND_KEYS;
  }
  memcpy(key, ws->rnd + ws->rnd_pos, 4);
  ws->rnd_pos = (uint8_t)(ws->rnd_pos + 4);
  return 0;
}

/* Text the payload path checks (RFC 6455 5.6, 8.1): len bytes continuing from *st, at a
 * sequence boundary at the end when `fin` ends the message. A separate pass, for payloads the
 * session references rather than copies. */
static int send_text_ok(rtw__utf8 *st, const uint8_t *data, size_t len, int fin)
{
  return rtw__utf8_validate(st, data, len) == len && (!fin || rtw__utf8_at_boundary(st));
}

/* Whether n more owned bytes and k more segments fit the buffers as they are (owned_reserve()
 * and seg_reserve() would not allocate). A text check is fused into the copy only then: a
 * refused message must not have cost an allocation, or fail one (the error would be
 * RTW_ERR_NOMEM, not RTW_ERR_INVALID_UTF8). */
static int fits_now(const rtw_ws *ws, size_t n, size_t k)
{
  return n <= ws->obuf.cap - (ws->obuf.len - ws->ohead) && ws->seg_count + k <= ws->seg_cap;
}

/* Copy len payload bytes into dst, masked with key_le when `masked` (RFC 6455 5.3); with a
 * non-NULL check, validate them as UTF-8 continuing from *check in the same pass (issue 15:
 * one pass over the caller's bytes instead of a validating pass and a copy). Returns 0 or
 * RTW_ERR_INVALID_UTF8 (dst then holds some of the bytes; the caller commits nothing). */
static int copy_payload(uint8_t *dst, const uint8_t *data, size_t len, int masked,
                        uint32_t key_le, rtw__utf8 *check)
{
  if (check != NULL)
    return rtw__utf8_copy_mask(check, dst, data, len, masked ? key_le : 0u, 0) == len
               ? 0
               : RTW_ERR_INVALID_UTF8;
  if (masked)
    rtw__ws_mask(dst, data, len, key_le, 0);
  else if (len > 0)
    memcpy(dst, data, len);
  return 0;
}

/* Write one frame into obuf: header, then the payload (masked in the client role, RFC 6455
 * 5.3) unless `payload_ref` says the payload goes out as a reference (server role only).
 * With `check` (copied payloads only), the payload is text validated while it is copied
 * (copy_payload()), and must end at a sequence boundary when fin is set; on
 * RTW_ERR_INVALID_UTF8 nothing is committed. */
static int put_frame(rtw_ws *ws, unsigned op, unsigned rsv, int fin, const uint8_t *data,
                     size_t len, int payload_ref, rtw__utf8 *check)
{
  rtw_ws_frame f;
  size_t hlen, total;
  uint8_t *d;
  int rv;

  memset(&f, 0, sizeof f);
  f.fin = (uint8_t)(fin != 0);
  f.opcode = (uint8_t)op;
  f.rsv = (uint8_t)rsv;
  f.payload_len = len;
  total = RTW_WS_MAX_HEADER + (payload_ref ? 0 : len);
  if (check != NULL && !fits_now(ws, total, 2)) { /* checked first, then copied */
    if (!send_text_ok(check, data, len, fin))
      return RTW_ERR_INVALID_UTF8;
    check = NULL;
  }
  if (ws->role == RTW_WS_ROLE_CLIENT) {
    f.masked = 1;
    rv = masking_key(ws, f.mask);
    if (rv != 0)
      return rv;
  }
  d = owned_reserve(ws, total);
  if (d == NULL || seg_reserve(ws, 2)) /* header and payload segments cannot fail below */
    return RTW_ERR_NOMEM;
  hlen = rtw__ws_put_header(d, &f);
  if (!payload_ref && len > 0) {
    rv = copy_payload(d + hlen, data, len, f.masked, rtw__ws_mask_key(f.mask), check);
    if (rv != 0)
      return rv;
  }
  if (check != NULL && fin && !rtw__utf8_at_boundary(check))
    return RTW_ERR_INVALID_UTF8; /* RFC 6455 8.1: a sequence cut by the end of the message */
  return owned_commit(ws, hlen + (payload_ref ? 0 : len));
}

/* Server role, payload under 126 bytes, copied: a 2-byte header and the payload in one step
 * (RFC 6455 5.2: 7-bit length, no mask). The hot path of a chat or ticker server. */
static inline int put_small(rtw_ws *ws, unsigned op, unsigned rsv, int fin, const uint8_t *data,
                            size_t len)
{
  uint8_t *d = owned_reserve(ws, 2 + len);
  rtw_ws_frame f = {0, 0, 0, 0, {0, 0, 0, 0}, 0};

  if (d == NULL || seg_reserve(ws, 1))
    return RTW_ERR_NOMEM;
  f.fin = (uint8_t)(fin != 0);
  f.opcode = (uint8_t)op;
  f.rsv = (uint8_t)rsv;
  f.payload_len = len;
  (void)rtw__ws_put_header(d, &f); /* inlined: folds to the two header bytes */
  if (len > 0)
    memcpy(d + 2, data, len);
  return owned_commit(ws, 2 + len);
}

static int budget_ok(const rtw_ws *ws, size_t len, int control);

/* Fragments put_fragments() masks at once: their keys come from one random call. */
#define EAGER_FRAGMENTS 16u

/* Client role, a message of 2 to EAGER_FRAGMENTS fragments with nothing waiting before it:
 * every fragment is masked straight from the caller's bytes into obuf now (RFC 6455 5.3,
 * 5.4), one pass over the payload instead of a copy into a node and a masking pass later.
 * Control frames queued meanwhile then follow the message instead of going between its
 * fragments (5.4 allows but does not require that). The keys are drawn first, in one call of
 * the random callback, so a failure there leaves nothing queued and no key spent.
 * RTW_ERR_WS_OUTBOUND_FULL (nothing queued) when the message has more fragments or the extra
 * headers do not fit the budget: the caller then fragments as the host drains. With `check`,
 * the payload is text validated in the masking pass (copy_payload()): RTW_ERR_INVALID_UTF8
 * and nothing queued when it is not. */
static int put_fragments(rtw_ws *ws, unsigned op, unsigned rsv, int fin, const uint8_t *data,
                         size_t len, rtw__utf8 *check)
{
  size_t frag = ws->frag_size, nfrag = len / frag + (len % frag != 0), off = 0, i, total = 0;
  uint8_t keys[4 * EAGER_FRAGMENTS];
  uint8_t *d;
  int rv = 0;

  if (nfrag > EAGER_FRAGMENTS || !budget_ok(ws, len + (nfrag - 1) * RTW_WS_MAX_HEADER, 0))
    return RTW_ERR_WS_OUTBOUND_FULL;
  if (check != NULL && !fits_now(ws, len + nfrag * RTW_WS_MAX_HEADER, 1)) {
    if (!send_text_ok(check, data, len, fin)) /* checked first, then masked */
      return RTW_ERR_INVALID_UTF8;
    check = NULL;
  }
  d = owned_reserve(ws, len + nfrag * RTW_WS_MAX_HEADER);
  if (d == NULL || seg_reserve(ws, 1))
    return RTW_ERR_NOMEM;
  if (ws->cb.random != NULL) {
    ws->cb_depth++;
    rv = ws->cb.random(ws, keys, 4 * nfrag, ws->user_data);
    ws->cb_depth--;
    if (rv != 0)
      return RTW_ERR_CALLBACK_FAILURE;
  } else {
    for (i = 0; i < nfrag && rv == 0; i++)
      rv = masking_key(ws, keys + 4 * i);
    if (rv != 0)
      return rv;
  }
  for (i = 0; i < nfrag; i++) {
    size_t n = len - off < frag ? len - off : frag, hlen;
    rtw_ws_frame f;
    memset(&f, 0, sizeof f);
    f.fin = (uint8_t)(off + n == len && fin);
    f.opcode = (uint8_t)(i ? RTW_WS_OP_CONTINUATION : op);
    f.rsv = (uint8_t)(i ? 0u : rsv); /* RFC 7692 6: RSV1 on the first frame only */
    f.payload_len = n;
    f.masked = 1;
    memcpy(f.mask, keys + 4 * i, 4);
    hlen = rtw__ws_put_header(d + total, &f);
    rv = copy_payload(d + total + hlen, data + off, n, 1, rtw__ws_mask_key(f.mask), check);
    if (rv != 0)
      return rv;
    total += hlen + n;
    off += n;
  }
  if (check != NULL && fin && !rtw__utf8_at_boundary(check))
    return RTW_ERR_INVALID_UTF8; /* RFC 6455 8.1 */
  return owned_commit(ws, total); /* cannot fail: a segment is reserved */
}

/* Ready frames (rtw__ws_queue_frames()) that waited behind a message: one reference
 * segment, whole, which frees the node and releases the frames once written. */
static int next_raw(rtw_ws *ws)
{
  out_msg *m = ws->mq;
  seg *s;

  if (seg_push(ws, m->data, 0, m->len))
    return RTW_ERR_NOMEM;
  s = seg_last(ws);
  s->node = m;
  s->rel_fn = m->rel_fn;
  s->rel_ctx = m->rel_ctx;
  ws->mq_bytes -= m->len;
  ws->mq = m->next;
  if (ws->mq == NULL)
    ws->mq_tail = NULL;
  return 0;
}

/* Free a queue node, or keep it as the spare a later NOCOPY message reuses (issue 15: no
 * allocation per message in steady traffic) while buffers are kept at all (keep_buffer > 0);
 * release_output(all) and destroy() free the spare. */
static void node_free(rtw_ws *ws, out_msg *m)
{
  if (m->bare && ws->spare == NULL && ws->keep_buffer > 0 && !ws->free_pending) {
    ws->spare = m;
    return;
  }
  rtw__mem_free(&ws->mem, m);
}

/* Serialise the next fragment of the first waiting message. */
static int next_fragment(rtw_ws *ws)
{
  out_msg *m = ws->mq;
  size_t n = m->len - m->off;
  int last, ref, rv;
  unsigned op;

  if (m->raw)
    return next_raw(ws);
  if (n > ws->frag_size && !is_control(m->opcode))
    n = ws->frag_size;
  last = m->off + n == m->len;
  op = m->started ? RTW_WS_OP_CONTINUATION : m->opcode;
  ref = ws->role == RTW_WS_ROLE_SERVER && n > 0;
  /* RFC 7692 6: RSV1 on the first frame of a compressed message only */
  rv = put_frame(ws, op, m->started ? 0u : m->rsv, last && m->fin, m->data + m->off, n, ref,
                 NULL);
  if (rv != 0)
    return rv;
  if (ref && seg_push(ws, m->data + m->off, 0, n))
    return RTW_ERR_NOMEM;
  m->started = 1;
  m->off += n;
  ws->mq_bytes -= n;
  if (last) {
    seg *s = seg_last(ws);
    ws->mq = m->next;
    if (ws->mq == NULL)
      ws->mq_tail = NULL;
    if (ref) { /* the node lives until its last payload segment is written */
      s->node = m;
      if (m->nocopy) {
        s->release = m->data;
        s->release_len = m->len;
      }
    } else {
      if (m->nocopy)
        released(ws, m->data, m->len);
      node_free(ws, m);
    }
  }
  return 0;
}

static void drop_output(rtw_ws *ws);
static int fail(rtw_ws *ws, int err);
static int budget_ok(const rtw_ws *ws, size_t len, int control);
static int queue_control(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len);

/* Make sure something is pending when anything is queued; place an automatic pong that
 * waited for room in the budget once there is room. */
static int refill(rtw_ws *ws)
{
  int rv = 0;

  if (ws->pong_deferred && budget_ok(ws, ws->pong_plen, 1)) {
    rv = queue_control(ws, RTW_WS_OP_PONG, ws->pong_payload, ws->pong_plen);
    if (rv == 0)
      ws->pong_deferred = 0;
  }
  if (rv == 0 && (ws->seg_count > 0 || ws->mq == NULL))
    return 0;
  if (rv == 0)
    rv = next_fragment(ws);
  if (rv != 0) { /* cannot even serialise: the session is unusable */
    if (ws->error == 0)
      ws->error = rv; /* errors are sticky: keep the first */
    ws->rstate = R_FAILED;
    drop_output(ws);
  }
  return rv;
}

static void release_seg(rtw_ws *ws, seg *s)
{
  const void *rel = s->release;

  if (s->node != NULL)
    node_free(ws, s->node);
  s->release = NULL;
  s->node = NULL;
  if (s->rel_fn != NULL)
    s->rel_fn(s->rel_ctx); /* internal (prepared.c): fires no host callback */
  s->rel_fn = NULL;
  if (rel != NULL)
    released(ws, rel, s->release_len);
}

/* Drop the messages waiting in mq. With keep_started, a message whose first fragments are
 * already out (pending segments may point into it) stays, with the pieces queued after it
 * up to its final one, so it is finished rather than cut. */
static void drop_queued(rtw_ws *ws, int keep_started)
{
  out_msg *keep = NULL, *m = ws->mq;

  if (keep_started && m != NULL && m->started) {
    keep = m;
    while (!keep->fin && keep->next != NULL)
      keep = keep->next; /* later pieces of the same message (rtw_ws_queue_fragment) */
    m = keep->next;
  }

  while (m != NULL) {
    out_msg *next = m->next;
    ws->mq_bytes -= m->len - m->off;
    if (m->raw)
      m->rel_fn(m->rel_ctx);
    else if (m->nocopy)
      released(ws, m->data, m->len);
    node_free(ws, m);
    m = next;
  }
  if (keep) {
    keep->next = NULL;
    ws->mq_tail = keep;
  } else {
    ws->mq = ws->mq_tail = NULL;
  }
}

/* Drop all output (a fatal timeout or failure: nothing more can be written). */
static void drop_output(rtw_ws *ws)
{
  while (ws->seg_count > 0) {
    seg s = ws->segs[ws->seg_head];
    ws->seg_head++;
    ws->seg_count--;
    release_seg(ws, &s);
  }
  drop_queued(ws, 0);
  ws->seg_head = 0;
  ws->seg_bytes = 0;
  ws->ohead = ws->obuf.len = 0;
  ws->pong_deferred = 0;
}

/* ------------------------------------------------------------------ queueing */

static int budget_ok(const rtw_ws *ws, size_t len, int control)
{
  size_t limit = ws->max_out + (control ? CONTROL_HEADROOM - CLOSE_RESERVE : 0);
  size_t used = ws->seg_bytes + ws->mq_bytes;
  /* written so that no sum can wrap: len may be anything up to SIZE_MAX */
  return used <= limit && limit - used >= RTW_WS_MAX_HEADER &&
         len <= limit - used - RTW_WS_MAX_HEADER;
}

/* Queue a node for later serialisation: the payload referenced (nocopy) or copied into it.
 * With `check`, the payload is text checked first (send_text_ok(), before the allocation:
 * see fits_now()): RTW_ERR_INVALID_UTF8 and nothing queued when it is not valid. */
static int queue_node(rtw_ws *ws, unsigned op, unsigned rsv, const uint8_t *data, size_t len,
                      int fin, int nocopy, rtw__utf8 *check)
{
  out_msg *m;
  size_t size = sizeof *m + (nocopy ? 0 : len);

  if (check != NULL && !send_text_ok(check, data, len, fin))
    return RTW_ERR_INVALID_UTF8;
  if (size == sizeof *m && ws->spare != NULL) { /* issue 15: no allocation per message */
    m = ws->spare;
    ws->spare = NULL;
  } else {
    m = rtw__mem_malloc(&ws->mem, size);
    if (m == NULL)
      return RTW_ERR_NOMEM;
  }
  memset(m, 0, sizeof *m);
  m->bare = (uint8_t)(size == sizeof *m);
  if (nocopy) {
    m->data = data;
  } else {
    m->data = (const uint8_t *)(m + 1);
    if (len > 0)
      memcpy(m + 1, data, len);
  }
  m->len = len;
  m->opcode = (uint8_t)op;
  m->rsv = (uint8_t)rsv;
  m->started = op == RTW_WS_OP_CONTINUATION;
  m->fin = (uint8_t)(fin != 0);
  m->nocopy = (uint8_t)(nocopy != 0);
  if (ws->mq_tail)
    ws->mq_tail->next = m;
  else
    ws->mq = m;
  ws->mq_tail = m;
  ws->mq_bytes += len;
  return 0;
}

/* Queue the frames of one data message (or one piece of a streamed one). `op` is the opcode
 * of its first frame (CONTINUATION for later pieces). With `check`, the payload is text to
 * validate continuing from *check (RFC 6455 5.6, 8.1; at a boundary at the end when fin is
 * set) before anything is queued: in the pass that copies or masks it where the session
 * copies it, else in a pass of its own (send_text_ok()). RTW_ERR_INVALID_UTF8 when it is not. */
static int queue_data(rtw_ws *ws, unsigned op, unsigned rsv, const uint8_t *data, size_t len,
                      int fin, int nocopy, rtw__utf8 *check)
{
  if (ws->role == RTW_WS_ROLE_CLIENT) {
    if (nocopy && ws->mq == NULL && len > ws->frag_size && len > ws->keep_buffer) {
      /* lazy masking (issue 15): a NOCOPY message over keep_buffer waits in mq and each
       * fragment is masked from the caller's bytes into obuf as the host drains
       * (next_fragment), so obuf stays at one fragment and is kept, not a whole-message
       * buffer allocated, written and freed per message; released after its last fragment */
      if (check != NULL && !send_text_ok(check, data, len, fin))
        return RTW_ERR_INVALID_UTF8;
      return queue_node(ws, op, rsv, data, len, fin, 1, NULL);
    }
    nocopy = 0; /* masking needs our own copy; released below */
    if (check != NULL && ws->cb.random != NULL) {
      /* the host's RNG is asked for keys only for frames that go out: text it would mask is
       * checked first, in a pass of its own (with the session's own key stream, a key drawn
       * for a message then refused is simply never used) */
      if (!send_text_ok(check, data, len, fin))
        return RTW_ERR_INVALID_UTF8;
      check = NULL;
    }
    if (ws->mq == NULL && len > ws->frag_size) {
      rtw__utf8 st0 = {0};
      int rv;
      if (check != NULL)
        st0 = *check; /* put_fragments() may stop short: the node below starts again */
      rv = put_fragments(ws, op, rsv, fin, data, len, check);
      if (rv != RTW_ERR_WS_OUTBOUND_FULL)
        return rv;
      if (check != NULL)
        *check = st0;
      /* the frames' headers do not fit the budget at once: fragment as the host drains */
    }
  } else if (ws->mq == NULL && len < 126 && len <= ws->frag_size) {
    /* the common small server frame, in one step; a small NOCOPY payload is copied too (a
     * reference would cost a segment and a gather element more than its bytes) and is the
     * caller's again at once */
    int rv;
    if (check != NULL && !send_text_ok(check, data, len, fin))
      return RTW_ERR_INVALID_UTF8;
    rv = put_small(ws, op, rsv, fin, data, len);
    if (rv == 0 && nocopy)
      released(ws, data, len);
    return rv;
  }
  if (nocopy && len > 0 && check != NULL && !send_text_ok(check, data, len, fin))
    return RTW_ERR_INVALID_UTF8; /* referenced, not copied: checked on its own */
  if (nocopy && len > 0)
    check = NULL;
  if (ws->mq == NULL && len <= ws->frag_size) {
    int ref = nocopy && len > 0;
    int rv = put_frame(ws, op, rsv, fin, data, len, ref, check);
    if (rv == 0 && ref) {
      rv = seg_push(ws, data, 0, len);
      if (rv == 0) {
        seg_last(ws)->release = data;
        seg_last(ws)->release_len = len;
      }
    } else if (rv == 0 && nocopy) {
      released(ws, data, len); /* nothing to reference */
    }
    return rv;
  }
  return queue_node(ws, op, rsv, data, len, fin, nocopy, check);
}

static int queue_control(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len)
{
  /* RFC 6455 5.4: control frames may be injected in the middle of a fragmented message;
   * fragments still waiting in mq are serialised after it. */
  return put_frame(ws, op, 0, 1, data, len, 0, NULL);
}

/* RFC 6455 5.5.2: answer a ping with a pong carrying its payload. Each ping is answered
 * while its pong fits the budget; past that, 5.5.3 lets an endpoint answer only the most
 * recently processed ping: one pong waits outside the queue, a newer ping replaces it, and
 * refill() queues it once the host has drained enough. */
static int auto_pong(rtw_ws *ws, const uint8_t *d, size_t n)
{
  if (!ws->pong_deferred && budget_ok(ws, n, 1))
    return queue_control(ws, RTW_WS_OP_PONG, d, n);
  if (n > 0)
    memcpy(ws->pong_payload, d, n);
  ws->pong_plen = (uint8_t)n;
  ws->pong_deferred = 1;
  return 0;
}

static int can_queue(rtw_ws *ws)
{
  if (ws->close_sent || ws->error || ws->free_pending)
    return RTW_ERR_WS_CLOSED;
  ws->io_seen = 1;   /* rtw_ws_set_deflate() is too late from now on */
  ws->keep_used = 1; /* kept output buffers are in use: no idle release yet */
  return 0;
}

/* ------------------------------------------------------------------ compressed sending */

/* Plaintext handed to rtw__deflate() per call, so the compressed form is checked against the
 * outbound budget as it grows (a huge message fails without taking its size first). */
#define ZPIECE (256u * 1024u)

/* An upper bound of what a piece of len bytes compresses to with a sync flush: stored blocks
 * cost 5 bytes each (at memLevel 1 zlib ends a block every 128 symbols), plus the flush. */
static size_t zbound(size_t len)
{
  return len + (len >> 4) + 64u;
}

/* Compress one whole message into z (RFC 7692 7.2.1: deflate, sync flush, tail removed),
 * within the outbound budget. Returns 0, RTW_ERR_WS_OUTBOUND_FULL, RTW_ERR_NOMEM. */
static int compress_message(rtw_ws *ws, const uint8_t *data, size_t len, rtw__buf *z)
{
  size_t off = 0;

  do {
    size_t n = len - off > ZPIECE ? ZPIECE : len - off;
    int rv = rtw__deflate(&ws->defl, data + off, n, off + n == len, z);
    if (rv != 0)
      return rv;
    off += n;
    if (!budget_ok(ws, z->len, 0))
      return RTW_ERR_WS_OUTBOUND_FULL;
  } while (off < len);
  return 0;
}

/* A compressed message we sent is complete. Without context takeover (RFC 7692 7.1.1) the
 * compressor drops its context but keeps its memory, so steady traffic allocates nothing per
 * message; rtw_ws_tick() gives the memory back once the session is idle (tick_deflate_idle)
 * unless RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE asks to free it at once. */
static void end_compressed(rtw_ws *ws)
{
  ws->dfl_used = 1;
  if (!ws->own_reset)
    rtw__deflate_end(&ws->defl, 0);
  else if (ws->dfl_release_each)
    rtw__deflate_end(&ws->defl, 1);
  else
    (void)rtw__deflate_reset(&ws->defl); /* a failed reset releases the stream: also fine */
}

/* Queue one whole message compressed, RSV1 on its first frame (RFC 7692 6). The session owns
 * the compressed payload, so a NOCOPY payload is released before returning. */
/* The compression buffer (zbuf) ready for a message of len bytes: empty, with room for what
 * its first piece deflates to at most, sized exactly so that the buffer for messages up to
 * keep_buffer is one release_output() keeps (no allocation per compressed message). */
static int zbuf_prepare(rtw_ws *ws, size_t len)
{
  size_t need = zbound(len < ZPIECE ? len : ZPIECE);
  char *p;

  ws->zbuf.len = 0;
  if (ws->zbuf.cap >= need)
    return 0;
  p = rtw__mem_realloc(&ws->mem, ws->zbuf.data, need);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  ws->zbuf.data = p;
  ws->zbuf.cap = need;
  return 0;
}

/* The compressed bytes were queued (copied): empty zbuf, and free it if it grew past what is
 * kept. */
static void zbuf_done(rtw_ws *ws)
{
  ws->zbuf.len = 0;
  if (ws->zbuf.cap > zkeep_limit(ws))
    rtw__buf_free(&ws->zbuf, &ws->mem);
}

static int queue_compressed(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len,
                            int nocopy)
{
  rtw__buf *z = &ws->zbuf;
  int rv = zbuf_prepare(ws, len);

  if (rv == 0)
    rv = compress_message(ws, data, len, z);
  if (rv == 0) {
    end_compressed(ws);
    if (ws->own_reset && z->len >= len && budget_ok(ws, len, 0)) {
      /* no context to keep in step: a message that does not shrink goes out as it is */
      zbuf_done(ws);
      rv = queue_data(ws, op, 0, data, len, 1, nocopy && ws->role == RTW_WS_ROLE_SERVER, NULL);
      if (rv == 0 && nocopy && ws->role == RTW_WS_ROLE_CLIENT)
        released(ws, data, len);
      return rv;
    }
    rv = queue_data(ws, op, RTW_WS_RSV1, (const uint8_t *)z->data, z->len, 1, 0, NULL);
  }
  zbuf_done(ws);
  if (rv != 0) {
    /* the peer never sees this message, so our context must not hold it: start afresh
     * (RFC 7692 7.2.1 lets a sender drop its context at any message) */
    rtw__deflate_end(&ws->defl, 1);
    return rv;
  }
  if (nocopy)
    released(ws, data, len);
  return 0;
}

static int wants_compression(const rtw_ws *ws, size_t len, uint32_t flags)
{
  return ws->dfl_on && !(flags & RTW_WS_QUEUE_NO_COMPRESS) && len >= ws->dfl_threshold;
}

static int queue_message(rtw_ws *ws, int opcode, const void *data, size_t len, uint32_t flags)
{
  int nocopy = (flags & RTW_WS_QUEUE_NOCOPY) != 0, check;
  const out_msg *held;
  rtw__utf8 st;
  int rv;

  if (ws == NULL || (data == NULL && len > 0) ||
      (flags & ~(RTW_WS_QUEUE_NOCOPY | RTW_WS_QUEUE_NO_COMPRESS | RTW_WS_QUEUE_VALID_UTF8)) ||
      (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (ws->out_op != 0)
    return RTW_ERR_INVALID_STATE;
  /* RFC 6455 5.6: text is UTF-8. Checked before deflate; otherwise by queue_data(), in the
   * pass that copies or masks the payload where the session copies it (issue 15, r6). */
  check = opcode == RTW_WS_OP_TEXT && len > 0 && !(flags & RTW_WS_QUEUE_VALID_UTF8);
  if (check && (wants_compression(ws, len, flags) || !budget_ok(ws, len, 0)) &&
      rtw__utf8_valid_prefix(data, len) != len)
    return RTW_ERR_INVALID_UTF8; /* before any other error, as it always was */
  if (wants_compression(ws, len, flags)) /* max_outbound counts the compressed bytes */
    return queue_compressed(ws, (unsigned)opcode, data, len, nocopy);
  if (!budget_ok(ws, len, 0))
    return RTW_ERR_WS_OUTBOUND_FULL;
  rtw__utf8_init(&st);
  held = ws->mq_tail; /* queue_data() may reference a client NOCOPY payload (lazy masking) */
  rv = queue_data(ws, (unsigned)opcode, 0, data, len, 1, nocopy, check ? &st : NULL);
  if (rv == 0 && ws->role == RTW_WS_ROLE_CLIENT && nocopy &&
      (ws->mq_tail == held || !ws->mq_tail->nocopy))
    released(ws, data, len);
  return rv;
}

/* One piece of a compressed streamed message: deflated with a sync flush so it can go out
 * now, the last one ending the message (RFC 7692 7.2.1). The compressor has then taken the
 * piece, so a failure here breaks the message: the session fails (1011). */
static int queue_zpiece(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len, int fin)
{
  rtw__buf *z = &ws->zbuf;
  int rv = zbuf_prepare(ws, len);

  if (rv == 0)
    rv = rtw__deflate(&ws->defl, data, len, fin, z);
  if (rv == 0)
    rv = queue_data(ws, op, op == RTW_WS_OP_CONTINUATION ? 0u : RTW_WS_RSV1,
                    (const uint8_t *)z->data, z->len, fin, 0, NULL);
  zbuf_done(ws);
  if (rv != 0) {
    rtw__deflate_end(&ws->defl, 1);
    return fail(ws, rv);
  }
  if (fin)
    end_compressed(ws);
  return 0;
}

static int queue_fragment(rtw_ws *ws, int opcode, const void *data, size_t len, int fin)
{
  rtw__utf8 st;
  unsigned op;
  int rv, zstream, budget;

  if (ws == NULL || (data == NULL && len > 0) ||
      (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (ws->out_op != 0 && ws->out_op != opcode)
    return RTW_ERR_INVALID_STATE;
  if (ws->out_op != 0)
    st = ws->out_utf8;
  else
    rtw__utf8_init(&st);
  zstream = ws->out_op ? ws->out_z : wants_compression(ws, SIZE_MAX, 0);
  budget = budget_ok(ws, zstream ? zbound(len) : len, 0);
  /* RFC 6455 5.6: validated across pieces; before deflate or a budget error, else in the
   * copying pass (queue_data()) */
  if (opcode == RTW_WS_OP_TEXT && (zstream || !budget) && !send_text_ok(&st, data, len, fin))
    return RTW_ERR_INVALID_UTF8;
  /* compressed: the bound on the deflated size, so the compressor never takes a piece
   * that could not be queued */
  if (!budget)
    return RTW_ERR_WS_OUTBOUND_FULL;
  op = ws->out_op ? RTW_WS_OP_CONTINUATION : (unsigned)opcode;
  if (zstream)
    rv = queue_zpiece(ws, op, data, len, fin);
  else
    rv = queue_data(ws, op, 0, data, len, fin, 0, opcode == RTW_WS_OP_TEXT ? &st : NULL);
  if (rv != 0)
    return rv;
  ws->out_z = (uint8_t)zstream;
  ws->out_utf8 = st;
  ws->out_op = fin ? 0 : (uint8_t)opcode;
  return 0;
}

static int queue_ctrl_checked(rtw_ws *ws, unsigned op, const void *data, size_t len)
{
  int rv;

  if (ws == NULL || (data == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (len > RTW_WS_MAX_CONTROL_PAYLOAD) /* RFC 6455 5.5 */
    return RTW_ERR_WS_CONTROL_TOO_LONG;
  if (!budget_ok(ws, len, 1))
    return RTW_ERR_WS_OUTBOUND_FULL;
  return queue_control(ws, op, data, len);
}

/* Queue a close frame with `code` (0: no payload) and mark the session closing. It goes out
 * after the messages already queued (RFC 6455 5.5.1 lets an endpoint finish sending a
 * message first), unless `urgent` (a failure): then queued messages not yet started are
 * dropped. Either way nothing is queued after it. */
static int send_close(rtw_ws *ws, int code, const char *reason, size_t reason_len, int urgent)
{
  uint8_t payload[RTW_WS_MAX_CONTROL_PAYLOAD] = {0}; /* gcc -O3 cannot see n == 0 */
  size_t n = 0;
  int rv;

  if (code != 0) {
    payload[0] = (uint8_t)((unsigned)code >> 8);
    payload[1] = (uint8_t)((unsigned)code & 0xFF);
    if (reason_len > 0)
      memcpy(payload + 2, reason, reason_len);
    n = 2 + reason_len;
  }
  if (urgent)
    drop_queued(ws, 1);
  if (ws->mq != NULL)
    rv = queue_node(ws, RTW_WS_OP_CLOSE, 0, payload, n, 1, 0, NULL);
  else
    rv = queue_control(ws, RTW_WS_OP_CLOSE, payload, n);
  if (rv == 0) { /* only a close frame that is really queued counts as sent */
    ws->close_sent = code != 0 ? code : RTW_WS_CLOSE_NO_STATUS;
    ws->close_written = 0;
  }
  return rv;
}

static int close_checked(rtw_ws *ws, int code, const char *reason, size_t reason_len)
{
  int rv;

  if ((reason == NULL && reason_len > 0) || (code == 0 && reason_len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (code != 0 && !close_code_valid((unsigned)code))
    return RTW_ERR_WS_BAD_CLOSE_CODE;
  if (reason_len > RTW_WS_MAX_CONTROL_PAYLOAD - 2)
    return RTW_ERR_WS_CONTROL_TOO_LONG;
  if (reason_len > 0 && rtw__utf8_valid_prefix((const uint8_t *)reason, reason_len) != reason_len)
    return RTW_ERR_INVALID_UTF8; /* RFC 6455 5.5.1: the reason is UTF-8 */
  return send_close(ws, code, reason, reason_len, 0);
}

/* ------------------------------------------------------------------ re-entrancy */

static void destroy(rtw_ws *ws);

/* Whether an API call is the outermost one (no callback of this session is running). */
static int outermost(const rtw_ws *ws)
{
  return ws->cb_depth == 0;
}

/* Every API call that may fire callbacks ends here: the outermost one carries out a
 * rtw_ws_free() a callback asked for (and then returns RTW_ERR_WS_CLOSED; the handle is
 * gone), and the input gate follows the outbound size. */
static int leave(rtw_ws *ws, int outer, int rv)
{
  if (outer && ws->free_pending) {
    destroy(ws);
    return RTW_ERR_WS_CLOSED;
  }
  gate_update(ws);
  return rv;
}

/* The hot path (issue 15): a small server-role data message (RFC 6455 5.2: 2-byte header,
 * 7-bit length, no mask) with nothing waiting in mq, into a kept output buffer that has room,
 * after pending owned bytes it extends (or as the first segment): header and payload written
 * in one step, no allocation. 1 when queued; 0 to take the general path, which checks
 * everything again and reports any error. */
static inline int queue_small(rtw_ws *ws, int opcode, const void *data, size_t len,
                              uint32_t flags)
{
  size_t off = ws->obuf.len;
  uint8_t *d;
  seg *last;

  if (ws->role != RTW_WS_ROLE_SERVER || len >= 126 || len > ws->frag_size || ws->mq != NULL ||
      ws->out_op != 0 || ws->close_sent || ws->error || ws->free_pending ||
      (flags & ~(RTW_WS_QUEUE_NOCOPY | RTW_WS_QUEUE_NO_COMPRESS | RTW_WS_QUEUE_VALID_UTF8)) ||
      (data == NULL && len > 0) || (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY) ||
      wants_compression(ws, len, flags) || 2 + len > ws->obuf.cap - off ||
      !budget_ok(ws, len, 0))
    return 0;
  if (ws->seg_count > 0) {
    last = &ws->segs[ws->seg_head + ws->seg_count - 1];
    if (last->ptr != NULL || last->off + last->len != off || last->node || last->release)
      return 0;
  } else {
    if (ws->seg_cap == 0)
      return 0;
    ws->seg_head = 0;
    last = &ws->segs[0];
    memset(last, 0, sizeof *last);
    last->off = off;
    ws->seg_count = 1;
  }
  if (opcode == RTW_WS_OP_TEXT && len > 0 && !(flags & RTW_WS_QUEUE_VALID_UTF8) &&
      rtw__utf8_valid_prefix(data, len) != len) {
    if (last->len == 0) /* the segment made above: take it back */
      ws->seg_count = 0;
    return 0; /* RFC 6455 5.6: the general path reports RTW_ERR_INVALID_UTF8 */
  }
  ws->io_seen = 1;
  ws->keep_used = 1;
  d = (uint8_t *)ws->obuf.data + off;
  d[0] = (uint8_t)(0x80u | (unsigned)opcode); /* FIN, RSV 0 */
  d[1] = (uint8_t)len;                         /* MASK 0 */
  if (len > 0)
    memcpy(d + 2, data, len);
  ws->obuf.len = off + 2 + len;
  last->len += 2 + len;
  ws->seg_bytes += 2 + len;
  if (flags & RTW_WS_QUEUE_NOCOPY)
    released(ws, data, len); /* copied: the caller's again at once (ws.h) */
  return 1;
}

int rtw_ws_queue_message(rtw_ws *ws, int opcode, const void *data, size_t len, uint32_t flags)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  if (queue_small(ws, opcode, data, len, flags))
    return leave(ws, outer, 0);
  return leave(ws, outer, queue_message(ws, opcode, data, len, flags));
}

int rtw_ws_queue_text(rtw_ws *ws, const char *data, size_t len)
{
  return rtw_ws_queue_message(ws, RTW_WS_OP_TEXT, data, len, 0);
}

int rtw_ws_queue_binary(rtw_ws *ws, const void *data, size_t len)
{
  return rtw_ws_queue_message(ws, RTW_WS_OP_BINARY, data, len, 0);
}

int rtw_ws_queue_fragment(rtw_ws *ws, int opcode, const void *data, size_t len, int fin)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  return leave(ws, outer, queue_fragment(ws, opcode, data, len, fin));
}

int rtw_ws_queue_ping(rtw_ws *ws, const void *data, size_t len)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  return leave(ws, outer, queue_ctrl_checked(ws, RTW_WS_OP_PING, data, len));
}

int rtw_ws_queue_pong(rtw_ws *ws, const void *data, size_t len)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  return leave(ws, outer, queue_ctrl_checked(ws, RTW_WS_OP_PONG, data, len));
}

int rtw_ws_close(rtw_ws *ws, int code, const char *reason, size_t reason_len)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  return leave(ws, outer, close_checked(ws, code, reason, reason_len));
}

/* ------------------------------------------------------------------ output API */

/* Client role, after the closing handshake: RFC 6455 7.1.1 wants the server to close the
 * TCP connection first, so the client keeps reading (and ignoring) input until the server's
 * EOF, for at most close_timeout_ms. */
static int eof_waiting(const rtw_ws *ws)
{
  return ws->role == RTW_WS_ROLE_CLIENT && ws->rstate == R_CLOSED && !ws->eof_done;
}

int rtw_ws_want_read(const rtw_ws *ws)
{
  if (ws == NULL || ws->error || ws->free_pending)
    return 0;
  if (ws->rstate <= R_PAYLOAD)
    return !ws->gated;
  return eof_waiting(ws);
}

static int has_output(const rtw_ws *ws)
{
  return ws->seg_count > 0 || ws->mq != NULL || ws->pong_deferred;
}

int rtw_ws_want_write(const rtw_ws *ws)
{
  return ws != NULL && !ws->free_pending && has_output(ws);
}

size_t rtw_ws_outbound_size(const rtw_ws *ws)
{
  return ws != NULL ? out_size(ws) : 0;
}

int rtw_ws_pause_input(rtw_ws *ws, int paused)
{
  if (ws == NULL || (paused != 0 && paused != 1))
    return RTW_ERR_INVALID_ARGUMENT;
  ws->host_paused = (uint8_t)paused;
  ws->timers_stale = 1; /* the keepalive and pong timers restart at the next tick */
  return 0;
}

static int send_pending(rtw_ws *ws, const void **data, size_t *len)
{
  seg *s;
  int rv = refill(ws);

  if (rv != 0 || ws->free_pending || ws->seg_count == 0)
    return rv;
  s = &ws->segs[ws->seg_head];
  *data = s->ptr ? s->ptr : (const uint8_t *)ws->obuf.data + s->off;
  *len = s->len;
  return 0;
}

int rtw_ws_send_pending(rtw_ws *ws, const void **data, size_t *len)
{
  int outer;

  if (data != NULL)
    *data = NULL;
  if (len != NULL)
    *len = 0;
  if (ws == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->cb_depth > 0)
    return RTW_ERR_REENTRANT;
  outer = outermost(ws);
  return leave(ws, outer, send_pending(ws, data, len));
}

static int send_pending_iov(rtw_ws *ws, rtw_iovec *iov, size_t max, size_t *count)
{
  size_t i;
  int rv = refill(ws);

  if (rv != 0 || ws->free_pending)
    return rv;
  for (i = 0; i < ws->seg_count && i < max; i++) {
    const seg *s = &ws->segs[ws->seg_head + i];
    iov[i].base = s->ptr ? s->ptr : (const uint8_t *)ws->obuf.data + s->off;
    iov[i].len = s->len;
  }
  *count = i;
  return 0;
}

int rtw_ws_send_pending_iov(rtw_ws *ws, rtw_iovec *iov, size_t max, size_t *count)
{
  int outer;

  if (count != NULL)
    *count = 0;
  if (ws == NULL || count == NULL || (iov == NULL && max > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->cb_depth > 0)
    return RTW_ERR_REENTRANT;
  outer = outermost(ws);
  return leave(ws, outer, send_pending_iov(ws, iov, max, count));
}

/* Free the output buffer, the segment array and the compression buffer when nothing is
 * pending in them: all of them (`all`), or only what is larger than the session keeps
 * (keep_buffer). */
static void release_output(rtw_ws *ws, int all)
{
  if (ws->seg_count > 0 || ws->mq != NULL)
    return; /* they hold output still to be written */
  ws->seg_head = 0;
  ws->ohead = ws->obuf.len = 0;
  if (all || ws->obuf.cap > keep_limit(ws))
    rtw__buf_free(&ws->obuf, &ws->mem);
  if (all || ws->seg_cap > keep_limit(ws) / sizeof *ws->segs) {
    rtw__mem_free(&ws->mem, ws->segs);
    ws->segs = NULL;
    ws->seg_cap = 0;
  }
  if (all || ws->zbuf.cap > zkeep_limit(ws))
    rtw__buf_free(&ws->zbuf, &ws->mem);
  if (all && ws->spare != NULL) {
    rtw__mem_free(&ws->mem, ws->spare);
    ws->spare = NULL;
  }
}

/* All written. The output buffer and segment array stay for the next message (issue 15: no
 * allocation per message in steady traffic) up to keep_buffer; rtw_ws_trim() and the idle
 * release in rtw_ws_tick() give them back. */
static void output_idle(rtw_ws *ws)
{
  ws->seg_head = 0;
  if (ws->mq != NULL)
    return;
  /* after our close nothing but a rare pong can follow: keep nothing */
  release_output(ws, ws->close_sent != 0);
  if (ws->close_sent)
    ws->close_written = 1;
  if (!ws->keep_armed && ws->ticked) { /* the idle release counts from the last tick */
    ws->keep_armed = 1;
    ws->keep_used = 0;
    ws->keep_deadline = ws->now + ws->keep_idle_ms;
  }
}

static void send_consumed(rtw_ws *ws, size_t n)
{
  if (n > 0)
    ws->write_progress = 1; /* the send timer restarts at the next tick */
  while (n > 0 && !ws->free_pending) {
    seg *s = &ws->segs[ws->seg_head];
    size_t k = n < s->len ? n : s->len;
    if (s->ptr)
      s->ptr += k;
    else {
      s->off += k;
      ws->ohead = s->off;
    }
    s->len -= k;
    ws->seg_bytes -= k;
    n -= k;
    if (s->len == 0) {
      seg done = *s; /* popped before its callback runs: that may queue more */
      ws->seg_head++;
      ws->seg_count--;
      release_seg(ws, &done);
    }
  }
  if (ws->seg_count == 0 && !ws->free_pending)
    output_idle(ws);
}

int rtw_ws_send_consumed(rtw_ws *ws, size_t n)
{
  int outer;

  if (ws == NULL || n > ws->seg_bytes)
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->cb_depth > 0)
    return RTW_ERR_REENTRANT;
  outer = outermost(ws);
  send_consumed(ws, n);
  return leave(ws, outer, 0);
}

/* ------------------------------------------------------------------ receiving */

/* _Fail the WebSocket Connection_ (RFC 6455 7.1.7): queue a close frame with the code that
 * matches the error (if none was sent yet), stop reading, report the error (sticky). */
static int fail(rtw_ws *ws, int err)
{
  if (!ws->close_sent && err != RTW_ERR_WS_PONG_TIMEOUT && err != RTW_ERR_WS_CLOSE_TIMEOUT)
    (void)send_close(ws, close_code_for(err), NULL, 0, 1);
  ws->error = err;
  ws->rstate = R_FAILED;
  return err;
}

/* Every rule a frame header can break, checked before its payload is read. */
static int check_header(rtw_ws *ws, const rtw_ws_frame *f)
{
  unsigned op = f->opcode;
  uint32_t allowed = ws->rsv_allowed;
  int z = 0;

  if (ws->dfl_on && (f->rsv & RTW_WS_RSV1)) {
    /* RFC 7692 6: RSV1 ("Per-Message Compressed") only on the first frame of a data
     * message; 6.1: never on control frames or continuations */
    if (is_control(op) || op == RTW_WS_OP_CONTINUATION)
      return RTW_ERR_WS_RESERVED_BITS;
    allowed |= RTW_WS_RSV1;
    z = 1;
  }
  if (f->rsv & ~allowed) /* 5.2: non-zero RSV without a negotiated extension */
    return RTW_ERR_WS_RESERVED_BITS;
  if ((op > RTW_WS_OP_BINARY && op < RTW_WS_OP_CLOSE) || op > RTW_WS_OP_PONG)
    return RTW_ERR_WS_RESERVED_OPCODE; /* 5.2: reserved opcodes */
  if (ws->role == RTW_WS_ROLE_SERVER && !f->masked)
    return RTW_ERR_WS_MASK_REQUIRED; /* 5.1: a server MUST close on an unmasked frame */
  if (ws->role == RTW_WS_ROLE_CLIENT && f->masked)
    return RTW_ERR_WS_MASK_FORBIDDEN; /* 5.1: a client MUST close on a masked frame */
  if (is_control(op)) {
    if (f->payload_len > RTW_WS_MAX_CONTROL_PAYLOAD) /* 5.5: 125 bytes or less */
      return RTW_ERR_WS_CONTROL_TOO_LONG;
    if (!f->fin) /* 5.5: control frames MUST NOT be fragmented */
      return RTW_ERR_WS_CONTROL_FRAGMENTED;
    if (op == RTW_WS_OP_CLOSE && f->payload_len == 1) /* 5.5.1: a code is two bytes */
      return RTW_ERR_WS_BAD_CLOSE_PAYLOAD;
    return 0;
  }
  if (op == RTW_WS_OP_CONTINUATION && ws->msg_op == 0) /* 5.4: nothing to continue */
    return RTW_ERR_WS_UNEXPECTED_CONTINUATION;
  if (op != RTW_WS_OP_CONTINUATION && ws->msg_op != 0) /* 5.4: fragments not interleaved */
    return RTW_ERR_WS_EXPECTED_CONTINUATION;
  if (f->payload_len > ws->max_frame) /* 10.4: limits, before any payload is taken */
    return RTW_ERR_WS_FRAME_TOO_LARGE;
  if (z || (op == RTW_WS_OP_CONTINUATION && ws->rx_z))
    return 0; /* compressed: inflated bytes count against max_message_size, per chunk */
  if (f->payload_len > ws->max_msg - (op == RTW_WS_OP_CONTINUATION ? ws->msg_len : 0))
    return RTW_ERR_WS_MESSAGE_TOO_LARGE;
  return 0;
}

/* True when the n <= 16 bytes at d are ASCII: small text messages skip the validator call. */
static inline int short_ascii(const uint8_t *d, size_t n)
{
  uint64_t a = 0, b = 0;

  if (n >= 8) {
    memcpy(&a, d, 8);
    memcpy(&b, d + n - 8, 8);
  } else {
    size_t i;
    for (i = 0; i < n; i++)
      a |= d[i];
  }
  return ((a | b) & 0x8080808080808080ull) == 0;
}

/* Text checks of a piece (RFC 6455 8.1: fail fast at the first invalid byte). */
static inline int text_ok(rtw_ws *ws, const uint8_t *d, size_t n)
{
  return ws->msg_op != RTW_WS_OP_TEXT ||
         (n <= 16 && rtw__utf8_at_boundary(&ws->utf8) && short_ascii(d, n)) ||
         rtw__utf8_validate(&ws->utf8, d, n) == n;
}

/* Room for n more bytes in the whole-message buffer. The header gave the frame's length
 * (RFC 6455 5.2), so for a final frame the buffer is sized once for all of it (up to
 * MSG_AHEAD past what arrived: a header alone does not make us allocate more, whatever it
 * announces); a fragmented message grows by doubling. A buffer kept from an earlier message
 * that is too small is replaced, not copied. */
static int msg_room(rtw_ws *ws, size_t n)
{
  rtw__buf *m = &ws->msg;
  size_t lo, cap, hi;
  char *d;

  if (n <= m->cap - m->len)
    return 0;
  if (n > SIZE_MAX - m->len)
    return RTW_ERR_NOMEM;
  lo = m->len + n;
  cap = m->cap > SIZE_MAX / 2 ? SIZE_MAX : m->cap * 2;
  if (ws->f.fin) { /* the message ends with this frame: remaining bytes are all there is */
    hi = ws->remaining > (uint64_t)(SIZE_MAX - m->len) ? SIZE_MAX
                                                        : m->len + (size_t)ws->remaining;
    if (cap < MSG_AHEAD)
      cap = MSG_AHEAD;
    if (cap > hi)
      cap = hi;
  } else if (cap < 256) {
    cap = 256;
  }
  if (cap < lo)
    cap = lo;
  if (m->len == 0) { /* nothing to keep: a fresh block, no copy */
    rtw__buf_free(m, &ws->mem);
    d = rtw__mem_malloc(&ws->mem, cap);
  } else {
    d = rtw__mem_realloc(&ws->mem, m->data, cap);
  }
  if (d == NULL)
    return RTW_ERR_NOMEM;
  m->data = d;
  m->cap = cap;
  return 0;
}

/* Unmask n payload bytes from src into dst (RFC 6455 5.3; dst may equal src) and, when the
 * message is text, validate them in the same pass (8.1: fail fast at the first invalid
 * byte): rtw__utf8_unmask_copy() loads, unmasks, stores and checks each block once. */
static int unmask_check(rtw_ws *ws, uint8_t *dst, const uint8_t *src, size_t n)
{
  uint64_t off = ws->frame_off;

  ws->frame_off += n;
  if (ws->msg_op == RTW_WS_OP_TEXT)
    return rtw__utf8_unmask_copy(&ws->utf8, dst, src, n, ws->key, off) == n
               ? 0
               : RTW_ERR_INVALID_UTF8;
  rtw__ws_mask(dst, src, n, ws->key, off);
  return 0;
}

/* A checked piece to the application: appended to the message (whole-message mode) or
 * handed to on_message_data. */
static int deliver_checked(rtw_ws *ws, const uint8_t *d, size_t n)
{
  int rv;

  ws->msg_len += n;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) {
    if ((rv = msg_room(ws, n)) != 0)
      return rv;
    memcpy(ws->msg.data + ws->msg.len, d, n);
    ws->msg.len += n;
    return 0;
  }
  if (ws->cb.on_message_data == NULL)
    return 0;
  ws->cb_depth++;
  rv = ws->cb.on_message_data(ws, d, n, ws->user_data);
  ws->cb_depth--;
  return check_cb(ws, rv);
}

static int deliver_piece(rtw_ws *ws, const uint8_t *d, size_t n)
{
  if (n == 0)
    return 0;
  if (!text_ok(ws, d, n))
    return RTW_ERR_INVALID_UTF8; /* 8.1: fail fast at the first invalid byte */
  return deliver_checked(ws, d, n);
}

/* Payload bytes of a data frame. Unmasked (client role): passed through as they are.
 * Masked: with rtw_ws_recv_inplace() unmasked where they lie; else, in whole-message mode,
 * straight into the message buffer (no second copy), and streamed through a stack buffer
 * (the caller's input is never written). In whole-message mode a message that is one frame
 * whose payload lies whole in this piece, readable where it is (unmasked, or in place), is
 * delivered from there at on_message: never copied. */
static int data_payload(rtw_ws *ws, const uint8_t *in, size_t n)
{
  uint8_t buf[UNMASK_CHUNK];
  int rv;

  if (ws->f.masked && !ws->rx_inplace) {
    if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) {
      if ((rv = msg_room(ws, n)) != 0)
        return rv;
      rv = unmask_check(ws, (uint8_t *)ws->msg.data + ws->msg.len, in, n);
      if (rv == 0) {
        ws->msg.len += n;
        ws->msg_len += n;
      }
      return rv;
    }
    /* n <= UNMASK_CHUNK (recv_step cuts masked payload so a pause lands between pieces) */
    if ((rv = unmask_check(ws, buf, in, n)) != 0)
      return rv;
    return deliver_checked(ws, buf, n);
  }
  if (ws->f.masked)
    rv = unmask_check(ws, (uint8_t *)(uintptr_t)in, in, n);
  else
    rv = n == 0 || text_ok(ws, in, n) ? 0 : RTW_ERR_INVALID_UTF8;
  if (rv != 0)
    return rv;
  if ((ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) && ws->f.fin && ws->msg_len == 0 &&
      ws->f.opcode != RTW_WS_OP_CONTINUATION && (uint64_t)n == ws->remaining) {
    ws->msg_len = n;
    ws->rx_direct = in;
    return 0;
  }
  return deliver_checked(ws, in, n);
}

/* ------------------------------------------------------------------ compressed receiving */

static int frame_done(rtw_ws *ws);

/* Inflated bytes of a compressed message: counted against max_message_size before they are
 * delivered (RFC 7692 8.1 leaves the limit to us: 1009 the moment it is crossed, so a bomb
 * costs at most max_message_size of output and never more memory than the limits allow). */
static int deliver_inflated(rtw_ws *ws, const uint8_t *d, size_t n)
{
  if ((uint64_t)n > ws->max_msg - ws->msg_len)
    return RTW_ERR_WS_MESSAGE_TOO_LARGE;
  return deliver_piece(ws, d, n);
}

/* rtw__inflate() failed. Bad DEFLATE data is an error at its place in the stream: the
 * output zlib made before it comes first (checked and delivered), so that a message whose
 * output turns invalid (UTF-8, size) before its data does fails the same way whatever the
 * input's split. Output after a final block is itself the error: rtw__inflate() leaves it
 * out of nout, so only what the final block and the blocks before it made goes out, in
 * whatever call zlib made it (a fuzz finding: it used to depend on the split). */
static int inflate_failed(rtw_ws *ws, int err, const uint8_t *out, size_t nout)
{
  int rv;

  if (err != RTW_ERR_WS_BAD_COMPRESSED || nout == 0)
    return err;
  rv = deliver_inflated(ws, out, nout);
  return rv != 0 ? rv : err;
}

/* Inflate n bytes of payload (already unmasked) in INFLATE_CHUNK pieces and deliver them.
 * Stops at a pause or the input gate with output possibly left in zlib (rx_zpend: the next
 * step drains it before taking input), except when `final`: then it runs to the end (the
 * output of a frame's last byte and of the tail is a few hundred bytes, see zpayload_step).
 * *used = bytes zlib consumed. */
static int inflate_run(rtw_ws *ws, const uint8_t *in, size_t n, int final, size_t *used)
{
  static const uint8_t none[1] = {0};
  uint8_t out[INFLATE_CHUNK];
  size_t off = 0;
  int rv;

  if (in == NULL)
    in = none; /* a drain: no input */
  for (;;) {
    size_t nin = 0, nout = 0;
    rv = rtw__inflate(&ws->infl, in + off, n - off, &nin, out, sizeof out, &nout);
    if (rv != 0) {
      rv = inflate_failed(ws, rv, out, nout);
      break;
    }
    off += nin;
    ws->rx_zpend = nout == sizeof out;
    if (nout > 0 && (rv = deliver_inflated(ws, out, nout)) != 0)
      break;
    if (ws->free_pending || (!ws->rx_zpend && off == n))
      break;
    gate_update(ws);
    if ((ws->paused || ws->gated) && !final)
      break;
    if (nin == 0 && nout == 0) { /* zlib cannot go on: bytes after a final block */
      rv = RTW_ERR_WS_BAD_COMPRESSED;
      break;
    }
  }
  *used = off;
  return rv;
}

/* One step of a compressed data frame's payload. The frame's last byte goes to zlib alone,
 * and only once earlier output is drained, so a pause can never leave output in zlib with
 * every byte of the message consumed (the host would have nothing to feed to get it out):
 * while output waits, at least that byte is still unread. */
static int zpayload_step(rtw_ws *ws, const uint8_t *p, size_t n, size_t *used)
{
  uint8_t buf[UNMASK_CHUNK];
  size_t k = 0;
  int rv, final = ws->remaining == 1;

  *used = 0;
  if (ws->rx_zpend) /* output of bytes taken earlier comes first */
    return inflate_run(ws, NULL, 0, 0, &k);
  if (final)
    n = 1;
  else if ((uint64_t)n > ws->remaining - 1)
    n = (size_t)(ws->remaining - 1);
  if (n > UNMASK_CHUNK)
    n = UNMASK_CHUNK;
  if (ws->f.masked) {
    rtw__ws_mask(buf, p, n, ws->key, ws->frame_off);
    p = buf;
  }
  rv = inflate_run(ws, p, n, final, &k);
  *used = k;
  ws->frame_off += k;
  ws->remaining -= k;
  ws->rx_zwire += k;
  if (rv == 0 && ws->remaining == 0)
    rv = frame_done(ws);
  return rv;
}

/* The end of a compressed message: RFC 7692 7.2.2, append 00 00 FF FF and inflate the rest;
 * then keep the context or drop it as negotiated (7.1.1.1, 7.1.1.2). A message with no
 * payload at all carries no DEFLATE data; zlib is not touched. */
static int inflate_finish(rtw_ws *ws)
{
  size_t k = 0;
  int rv = 0;

  if (ws->rx_zwire > 0)
    rv = inflate_run(ws, rtw__deflate_tail, sizeof rtw__deflate_tail, 1, &k);
  if (rv == 0) /* also RTW_ERR_WS_BAD_COMPRESSED: the data stopped inside a block */
    rv = rtw__inflate_end(&ws->infl, ws->peer_reset && ws->dfl_release_each);
  /* as end_compressed(): the peer's context is gone, our memory stays until idle */
  if (rv == 0 && ws->peer_reset && !ws->dfl_release_each)
    (void)rtw__inflate_reset(&ws->infl); /* a failed reset releases the stream: also fine */
  ws->dfl_used = 1;
  return rv;
}

static int message_begin(rtw_ws *ws, unsigned op)
{
  int rv;

  ws->msg_op = (uint8_t)op;
  ws->msg_len = 0;
  ws->rx_z = (uint8_t)(ws->dfl_on && (ws->f.rsv & RTW_WS_RSV1));
  ws->rx_zwire = 0;
  rtw__utf8_init(&ws->utf8);
  ws->msg.len = 0;
  ws->rx_direct = NULL;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES || ws->cb.on_message_begin == NULL)
    return 0;
  ws->cb_depth++;
  rv = ws->cb.on_message_begin(ws, (int)op, ws->user_data);
  ws->cb_depth--;
  return check_cb(ws, rv);
}

static int message_end(rtw_ws *ws)
{
  unsigned op = ws->msg_op;
  int rv = 0;

  if (op == RTW_WS_OP_TEXT && !rtw__utf8_at_boundary(&ws->utf8))
    return RTW_ERR_INVALID_UTF8; /* the message ends inside a sequence */
  ws->msg_op = 0;
  ws->cb_depth++;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) {
    const void *d = ws->rx_direct ? (const void *)ws->rx_direct : ws->msg.data;
    size_t n = ws->rx_direct ? (size_t)ws->msg_len : ws->msg.len;
    ws->rx_direct = NULL;
    if (ws->cb.on_message != NULL)
      rv = ws->cb.on_message(ws, (int)op, d ? d : "", n, ws->user_data);
    ws->msg.len = 0;
    if (ws->msg.cap > ws->keep_buffer)
      rtw__buf_free(&ws->msg, &ws->mem); /* kept up to keep_buffer for the next message */
  } else if (ws->cb.on_message_end != NULL) {
    rv = ws->cb.on_message_end(ws, ws->user_data);
  }
  ws->cb_depth--;
  return check_cb(ws, rv);
}

/* 5.5.1: the peer's close. Validate, report, answer (echoing its code) unless we sent ours. */
static int peer_close(rtw_ws *ws)
{
  unsigned code = RTW_WS_CLOSE_NO_STATUS;
  const char *reason = "";
  size_t rlen = 0;
  int rv = 0;

  if (ws->ctrl_len >= 2) {
    code = (unsigned)ws->ctrl[0] << 8 | ws->ctrl[1];
    if (!close_code_valid(code)) /* 7.4: codes an endpoint must not send */
      return RTW_ERR_WS_BAD_CLOSE_CODE;
    reason = (const char *)ws->ctrl + 2;
    rlen = (size_t)ws->ctrl_len - 2;
    if (rtw__utf8_valid_prefix((const uint8_t *)reason, rlen) != rlen)
      return RTW_ERR_INVALID_UTF8; /* 7.1.6: the reason is UTF-8 */
  }
  ws->close_recv = (int)code;
  ws->rstate = R_CLOSED;
  if (ws->cb.on_close != NULL) {
    ws->cb_depth++;
    rv = ws->cb.on_close(ws, (int)code, reason, rlen, ws->user_data);
    ws->cb_depth--;
    rv = check_cb(ws, rv);
  }
  if (rv == 0 && !ws->close_sent && !ws->error && !ws->free_pending) /* 5.5.1: answer */
    rv = send_close(ws, code == RTW_WS_CLOSE_NO_STATUS ? 0 : (int)code, NULL, 0, 0);
  return rv;
}

static int control_done(rtw_ws *ws)
{
  const uint8_t *d = ws->ctrl;
  size_t n = ws->ctrl_len;
  int (*fn)(rtw_ws *, const void *, size_t, void *);
  int rv;

  switch (ws->f.opcode) {
  case RTW_WS_OP_PING:
    /* 5.5.2: a pong "unless it already received a Close frame": also after sending ours
     * (5.5.1 forbids only data frames after a Close) */
    if (!(ws->flags & RTW_WS_FLAG_NO_AUTO_PONG)) {
      rv = auto_pong(ws, d, n);
      if (rv != 0 || ws->free_pending)
        return rv; /* RTW_ERR_NOMEM, or the RNG callback failed (client role) */
    }
    fn = ws->cb.on_ping;
    break;
  case RTW_WS_OP_PONG: /* 5.5.3: a pong may be unsolicited; it ends our wait either way */
    ws->ping_out = 0;
    fn = ws->cb.on_pong;
    break;
  default:
    return peer_close(ws);
  }
  if (fn == NULL)
    return 0;
  ws->cb_depth++;
  rv = fn(ws, d, n, ws->user_data);
  ws->cb_depth--;
  return check_cb(ws, rv);
}

static int frame_done(rtw_ws *ws)
{
  int rv;

  ws->rstate = R_HEADER;
  ws->hdr_len = 0;
  if (is_control(ws->f.opcode))
    return control_done(ws);
  if (!ws->f.fin)
    return 0;
  if (ws->rx_z && (rv = inflate_finish(ws)) != 0)
    return rv;
  return message_end(ws);
}

static int header_done(rtw_ws *ws)
{
  int rv = check_header(ws, &ws->f);

  if (rv != 0)
    return rv;
  ws->remaining = ws->f.payload_len;
  ws->frame_off = 0;
  ws->key = rtw__ws_mask_key(ws->f.mask);
  ws->rstate = R_PAYLOAD;
  if (is_control(ws->f.opcode))
    ws->ctrl_len = 0;
  else if (ws->f.opcode != RTW_WS_OP_CONTINUATION && (rv = message_begin(ws, ws->f.opcode)))
    return rv;
  return ws->remaining == 0 ? frame_done(ws) : 0;
}

/* Header bytes: parsed in place when whole in the input, else gathered in hdr. Sets *used to
 * the bytes taken and *done once the header is complete; returns 0 or a negative error. */
static int take_header(rtw_ws *ws, const uint8_t *p, size_t n, size_t *used, int *done)
{
  size_t hlen = 0, add;
  int rv;

  *done = 0;
  *used = 0;
  if (ws->hdr_len == 0 && (hlen = rtw__ws_parse_short(p, n, &ws->f)) != 0) {
    *done = 1; /* the common short header, parsed inline */
    *used = hlen;
    return 0;
  }
  if (ws->hdr_len == 0) {
    rv = rtw_ws_frame_parse(p, n, &ws->f, &hlen);
    if (rv != 0 || hlen != 0) {
      *done = rv == 0;
      *used = hlen;
      return rv;
    }
  }
  add = RTW_WS_MAX_HEADER - ws->hdr_len;
  if (add > n)
    add = n;
  memcpy(ws->hdr + ws->hdr_len, p, add);
  rv = rtw_ws_frame_parse(ws->hdr, ws->hdr_len + add, &ws->f, &hlen);
  if (rv != 0)
    return rv;
  if (hlen == 0) {
    ws->hdr_len = (uint8_t)(ws->hdr_len + add);
    *used = add;
    return 0;
  }
  *used = hlen - ws->hdr_len; /* the bytes of this input that completed the header */
  ws->hdr_len = 0;
  *done = 1;
  return 0;
}

static int take_payload(rtw_ws *ws, const uint8_t *p, size_t n)
{
  if (is_control(ws->f.opcode)) {
    if (ws->f.masked)
      rtw__ws_mask(ws->ctrl + ws->ctrl_len, p, n, ws->key, ws->frame_off);
    else
      memcpy(ws->ctrl + ws->ctrl_len, p, n);
    ws->ctrl_len = (uint8_t)(ws->ctrl_len + n);
    ws->frame_off += n;
    return 0;
  }
  return data_payload(ws, p, n);
}

/* One step of input: a header piece, or a payload piece (masked payload at most
 * UNMASK_CHUNK, so a pause lands between pieces). Returns 0 or an error; *used bytes taken. */
static int recv_step(rtw_ws *ws, const uint8_t *p, size_t n, size_t *used)
{
  int rv;

  if (ws->rstate == R_HEADER) {
    int done;
    rv = take_header(ws, p, n, used, &done);
    return rv == 0 && done ? header_done(ws) : rv;
  }
  if (ws->rx_z && !is_control(ws->f.opcode))
    return zpayload_step(ws, p, n, used);
  if ((uint64_t)n > ws->remaining)
    n = (size_t)ws->remaining;
  /* streamed, masked payload goes in pieces of UNMASK_CHUNK so a pause lands between
   * pieces; in place, a whole message needs no pieces (no callback runs between them) */
  if (n > UNMASK_CHUNK && ws->f.masked &&
      !(ws->rx_inplace && (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES)))
    n = UNMASK_CHUNK;
  rv = take_payload(ws, p, n);
  *used = n;
  ws->remaining -= n;
  if (rv == 0 && ws->remaining == 0)
    rv = frame_done(ws);
  return rv;
}

/* RFC 6455 5.3 for a payload of at most 125 bytes starting at payload offset 0, dst may
 * equal src: 64-bit words, the last one overlapping the one before it (read before anything
 * is written, so in place is right too), or two overlapping 32-bit words below 8 bytes. */
static inline void unmask_small(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (n >= 8) {
    uint64_t k64 = (uint64_t)key << 32 | key, w, t;
    uint32_t kt = rtw__ws_mask_rotate(key, n - 8); /* the key for bytes from n - 8 */
    size_t i;
    memcpy(&w, src, 8);
    memcpy(&t, src + n - 8, 8);
    w ^= k64;
    memcpy(dst, &w, 8);
    for (i = 8; i + 8 < n; i += 8) { /* none up to 16 bytes */
      memcpy(&w, src + i, 8);
      w ^= k64;
      memcpy(dst + i, &w, 8);
    }
    t ^= (uint64_t)kt << 32 | kt;
    memcpy(dst + n - 8, &t, 8);
  } else if (n >= 4) {
    uint32_t v, t;
    memcpy(&v, src, 4);
    memcpy(&t, src + n - 4, 4);
    v ^= key;
    t ^= rtw__ws_mask_rotate(key, n - 4);
    memcpy(dst, &v, 4);
    memcpy(dst + n - 4, &t, 4);
  } else {
    size_t i;
    for (i = 0; i < n; i++)
      dst[i] = (uint8_t)(src[i] ^ (uint8_t)(key >> (8u * i)));
  }
#else
  rtw__ws_mask(dst, src, n, key, 0);
#endif
}

/* ------------------------------------------------------------------ small-frame fast path
 *
 * The common small message (issue 15): a final text or binary frame with no RSV bit, a 7-bit
 * length of 1 to 125 and the masking the role requires (RFC 6455 5.1, 5.2), lying whole in
 * the input with no message in progress (5.4) and within the limits (10.4). fast_run() takes
 * such frames one after another and makes the same checks and callbacks, in the same order
 * and with the same arguments, as header_done(), recv_step() and frame_done() would, without
 * the per-step state machine; any other frame goes back to recv_input()'s general path.
 *
 * Checked once per run, as no callback can change it: the role, the settings and the
 * callbacks (copied at creation), in-place input (fixed per rtw_ws_recv*() call), no message
 * in progress (each fast message ends before the next starts), and in whole-message mode an
 * empty message buffer within keep_buffer (only msg_room() grows it, never during a run).
 * Checked after each callback, as a callback can change it: its return value (pause, error:
 * check_cb()), rtw_ws_free() (free_pending), the input gate (queue calls grow the output:
 * gate_update(), as recv_input() runs it before each step) and the receive state (a queue
 * call that fails the session sets R_FAILED). cb_depth, the re-entrancy guard, is raised once
 * for the whole run: nothing between two callbacks reads it.
 *
 * Between fast messages msg_op is 0 and msg_len the last length, as message_end() leaves
 * them; rx_z, rx_zwire, rx_direct and msg.len are cleared once per run, once its first frame
 * is known to be a fast one (fast messages never set them: fast_loops()); the UTF-8 state is
 * initialised and used only for text over 32 bytes that is not ASCII (shorter text takes
 * short_ascii() or the DFA, rtw__utf8_short() of lib/core/utf8.h).
 * Where the general path stops between a header and its payload (on_message_begin paused,
 * failed, freed the session or closed the gate), fast_hold() leaves exactly the state
 * header_done() leaves. */

typedef struct fast_ctx {
  size_t hl;     /* header length: 6 with the masking key (server role), else 2 */
  size_t lim;    /* the largest payload taken: 125, or less under the size limits (10.4) */
  unsigned mbit; /* the MASK bit the role requires (5.1): 0x80 server, 0 client */
  int inplace;   /* rtw_ws_recv_inplace(): unmask where the payload lies */
} fast_ctx;

typedef struct fast_out {
  const uint8_t *p; /* where the loop stopped */
  int rv;           /* 0, or the error that ends the input */
} fast_out;

/* The payload length of the frame at p when it is a fast one, else 0. */
static inline size_t fast_len(const fast_ctx *c, const uint8_t *p, size_t avail)
{
  size_t n;

  if (avail < 2)
    return 0;
  n = (size_t)(p[1] ^ c->mbit); /* 128 or more when MASK is not what 5.1 wants */
  /* byte 0: FIN, RSV clear (5.2: no extension negotiated for this frame), text or binary */
  if ((unsigned)p[0] - 0x81u >= 2u || n - 1u >= c->lim || avail < c->hl + n)
    return 0;
  return n;
}

/* The unmask buffer: 125 bytes rounded up to a word would do, but the compiler only sees that
 * a length is a byte, so room for 255 rounded up keeps its overflow warnings quiet. */
#define FAST_BUF 256u

/* RFC 6455 5.3 for a fast frame's payload (offset 0) into dst (FAST_BUF bytes).
 * When the input holds the payload rounded up to 8 bytes, whole 64-bit words are unmasked:
 * bytes past the payload (the next frame's) are read, never written. The key word is the
 * four key bytes as they lie in memory, twice, which is right for either byte order. */
static inline void fast_unmask(uint8_t *dst, const uint8_t *src, size_t n, size_t room,
                               const uint8_t *key)
{
  uint32_t k;
  uint64_t k64, w;
  size_t i;

  if (n <= 16 ? room < 16 : ((n + 7u) & ~(size_t)7u) > room) {
    unmask_small(dst, src, n, rtw__ws_mask_key(key));
    return;
  }
  memcpy(&k, key, 4);
  k64 = (uint64_t)k << 32 | k;
  memcpy(&w, src, 8);
  w ^= k64;
  memcpy(dst, &w, 8);
  memcpy(&w, src + 8, 8); /* up to 16 bytes: two words, no loop */
  w ^= k64;
  memcpy(dst + 8, &w, 8);
  if (n <= 16)
    return;
  for (i = 16; i < n; i += 8) {
    memcpy(&w, src + i, 8);
    w ^= k64;
    memcpy(dst + i, &w, 8);
  }
}

/* RFC 6455 8.1 for a whole text payload: 0 when valid, RTW_ERR_INVALID_UTF8 at an invalid
 * byte. *tail is set when it is valid but ends inside a sequence: the message is invalid at
 * its end, after its data was delivered (message_end()). */
static inline int fast_text(rtw_ws *ws, const uint8_t *d, size_t n, int *tail)
{
  if (n <= 16 && short_ascii(d, n))
    return 0;
  if (n <= 32) { /* a few characters: the DFA (RFC 3629 section 4) beats a validator call */
    unsigned st = rtw__utf8_short(d, n);
    *tail = st != RTW__UTF8_DFA_OK;
    return st == RTW__UTF8_DFA_BAD ? RTW_ERR_INVALID_UTF8 : 0;
  }
  rtw__utf8_init(&ws->utf8);
  if (rtw__utf8_validate(&ws->utf8, d, n) != n)
    return RTW_ERR_INVALID_UTF8;
  *tail = !rtw__utf8_at_boundary(&ws->utf8);
  return 0;
}

/* Stop where the general path stops after on_message_begin: the header taken, the payload
 * unread, the state as header_done() and message_begin() leave it. */
static void fast_hold(rtw_ws *ws, const uint8_t *p, size_t n)
{
  rtw__ws_first_two(&ws->f, p[0], p[1]);
  ws->f.payload_len = n;
  memset(ws->f.mask, 0, 4);
  if (ws->f.masked)
    memcpy(ws->f.mask, p + 2, 4);
  ws->remaining = n;
  ws->frame_off = 0;
  ws->key = rtw__ws_mask_key(ws->f.mask);
  ws->msg_len = 0;
  rtw__utf8_init(&ws->utf8);
  ws->rstate = R_PAYLOAD;
}

/* The input gate as recv_input() checks it before each step: 1 when closed. Below high
 * water an open gate stays open, so gate_update() runs only when it could change something. */
static inline int fast_gated(rtw_ws *ws)
{
  if (out_size(ws) < ws->high_water && !ws->gated)
    return 0;
  gate_update(ws);
  return ws->gated;
}

/* Whether the run ends after a message: what recv_input() checks after a step and before
 * the next one (its loop condition, the gate, and a fast frame needs R_HEADER). */
static inline int fast_end(rtw_ws *ws)
{
  return ws->paused || ws->free_pending || ws->rstate != R_HEADER || fast_gated(ws);
}

/* The payload of the small frame at p (n bytes): unmasked (RFC 6455 5.3) in place, or into
 * buf, or where it lies when the role receives it unmasked. */
static RTW_ALWAYS_INLINE const uint8_t *fast_payload(const fast_ctx *c, const uint8_t *p,
                                                     size_t n, const uint8_t *end, uint8_t *buf)
{
  const uint8_t *d = p + c->hl;

  if (c->mbit == 0)
    return d;
  if (c->inplace) {
    unmask_small((uint8_t *)(uintptr_t)d, d, n, rtw__ws_mask_key(p + 2));
    return d;
  }
  fast_unmask(buf, d, n, (size_t)(end - d), p + 2);
  return buf;
}

/* Streamed: on_message_begin, on_message_data and on_message_end for each frame, from the
 * one at p (a fast frame of n bytes). */
static RTW_ALWAYS_INLINE fast_out fast_streamed(rtw_ws *ws, fast_ctx c, const uint8_t *p,
                                                const uint8_t *end, size_t n)
{
  uint8_t buf[FAST_BUF];
  fast_out o;
  int rv = 0;

  do {
    const uint8_t *d;
    int cb = 0, tail = 0;

    ws->msg_op = (uint8_t)(p[0] & 0x0Fu); /* message_begin() */
    if (ws->cb.on_message_begin != NULL &&
        ((cb = ws->cb.on_message_begin(ws, p[0] & 0x0F, ws->user_data)) != 0 ||
         ws->free_pending || fast_gated(ws))) {
      rv = check_cb(ws, cb);
      if (rv != 0 || ws->paused || ws->free_pending || fast_gated(ws)) {
        fast_hold(ws, p, n);
        p += c.hl;
        break;
      }
    }
    d = fast_payload(&c, p, n, end, buf);
    if (p[0] == 0x81u && (rv = fast_text(ws, d, n, &tail)) != 0) {
      p += c.hl + n;
      break; /* 8.1: fail fast, before any of it is delivered */
    }
    p += c.hl + n;
    ws->msg_len = n;
    if (ws->cb.on_message_data != NULL &&
        (cb = ws->cb.on_message_data(ws, d, n, ws->user_data)) != 0 &&
        (rv = check_cb(ws, cb)) != 0)
      break;
    ws->rstate = R_HEADER; /* frame_done(), whatever a callback did to it until here */
    if (tail) {
      rv = RTW_ERR_INVALID_UTF8; /* message_end(): the message ends inside a sequence */
      break;
    }
    ws->msg_op = 0;
    if (ws->cb.on_message_end != NULL && (cb = ws->cb.on_message_end(ws, ws->user_data)) != 0 &&
        (rv = check_cb(ws, cb)) != 0)
      break;
    if (fast_end(ws))
      break;
  } while ((n = fast_len(&c, p, (size_t)(end - p))) != 0);
  o.p = p;
  o.rv = rv;
  return o;
}

/* Whole messages: on_message for each frame, from the one at p (a fast frame of n bytes),
 * with the payload where it lies (client role, in place) or in a stack buffer. */
static RTW_ALWAYS_INLINE fast_out fast_whole(rtw_ws *ws, fast_ctx c, const uint8_t *p,
                                             const uint8_t *end, size_t n)
{
  int (*on_msg)(rtw_ws *, int, const void *, size_t, void *) = ws->cb.on_message;
  void *ud = ws->user_data;
  uint8_t buf[FAST_BUF];
  fast_out o;
  int rv = 0;

  do {
    unsigned op = p[0] & 0x0Fu;
    const uint8_t *d = fast_payload(&c, p, n, end, buf);
    int cb, tail = 0;

    p += c.hl + n;
    if (op == RTW_WS_OP_TEXT && (fast_text(ws, d, n, &tail) != 0 || tail)) {
      ws->msg_op = (uint8_t)op; /* 8.1: invalid (at a byte, or at its end) */
      rv = RTW_ERR_INVALID_UTF8;
      break;
    }
    ws->msg_len = n; /* message_end(): msg_op is 0 while on_message runs */
    if (on_msg != NULL && (cb = on_msg(ws, (int)op, d, n, ud)) != 0 &&
        (rv = check_cb(ws, cb)) != 0)
      break;
    if (fast_end(ws))
      break;
  } while ((n = fast_len(&c, p, (size_t)(end - p))) != 0);
  o.p = p;
  o.rv = rv;
  return o;
}

/* The loops from p when the frame there is a fast one. The state that message_begin() would
 * reset and no fast message changes is reset, and the re-entrancy guard raised, only then:
 * a frame for the general path (when fast_run() is called before each header) pays for
 * neither, and leaves them as they were, as nothing reads them between messages. */
static RTW_ALWAYS_INLINE fast_out fast_loops(rtw_ws *ws, fast_ctx c, const uint8_t *p,
                                             const uint8_t *end)
{
  size_t n = fast_len(&c, p, (size_t)(end - p));
  fast_out o;

  if (n == 0) {
    o.p = p;
    o.rv = 0;
    return o;
  }
  ws->rx_z = 0;
  ws->rx_zwire = 0;
  ws->rx_direct = NULL;
  ws->msg.len = 0;
  ws->cb_depth++;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES)
    o = fast_whole(ws, c, p, end, n);
  else
    o = fast_streamed(ws, c, p, end, n);
  ws->cb_depth--;
  return o;
}

/* One copy of the loops per role: the header length and the MASK bit are constants there. */
static fast_out fast_server(rtw_ws *ws, fast_ctx c, const uint8_t *p, const uint8_t *end)
{
  c.hl = 6;
  c.mbit = 0x80u;
  return fast_loops(ws, c, p, end);
}

static fast_out fast_client(rtw_ws *ws, fast_ctx c, const uint8_t *p, const uint8_t *end)
{
  c.hl = 2;
  c.mbit = 0;
  return fast_loops(ws, c, p, end);
}

/* Take the fast frames at p, one after another (see above). Returns where it stopped (p when
 * it took none); *rvp is 0 or the error that ends the input. */
static const uint8_t *fast_run(rtw_ws *ws, const uint8_t *p, const uint8_t *end, int *rvp)
{
  int whole = (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) != 0;
  fast_ctx c;
  fast_out o;

  *rvp = 0;
  if (ws->msg_op != 0 || (whole && (ws->msg.len != 0 || ws->msg.cap > ws->keep_buffer)))
    return p;
  c.mbit = 0; /* set by fast_server() and fast_client() */
  c.hl = 0;
  c.lim = RTW_WS_MAX_CONTROL_PAYLOAD; /* 125: the 7-bit lengths */
  if (ws->max_frame < c.lim)
    c.lim = (size_t)ws->max_frame;
  if (ws->max_msg < c.lim)
    c.lim = (size_t)ws->max_msg;
  c.inplace = ws->rx_inplace;
  o = ws->role == RTW_WS_ROLE_SERVER ? fast_server(ws, c, p, end) : fast_client(ws, c, p, end);
  *rvp = o.rv;
  return o.p;
}

static int recv_input(rtw_ws *ws, const uint8_t *in, size_t len, size_t *nread)
{
  const uint8_t *p = in, *end = in + len;
  int rv = 0;

  if (ws->rstate == R_CLOSED) { /* 5.5.1: nothing after the close frame is data */
    *nread = len;
    return 0;
  }
  ws->paused = 0;
  while (p < end && ws->rstate != R_CLOSED) {
    size_t used = 0;
    gate_update(ws);
    if (ws->gated) { /* backpressure: the host drains output before we read on */
      ws->paused = 1;
      break;
    }
    if (ws->rstate == R_HEADER && ws->hdr_len == 0 && end - p >= 2) {
      const uint8_t *q = fast_run(ws, p, end, &rv);
      if (q != p) { /* took frames (or a header): the loop checks again before the next */
        p = q;
        if (rv != 0 || ws->paused || ws->free_pending)
          break;
        continue;
      }
    }
    rv = recv_step(ws, p, (size_t)(end - p), &used);
    p += used;
    if (rv != 0 || ws->paused || ws->free_pending)
      break;
  }
  if (ws->rstate == R_CLOSED && !ws->paused && !ws->free_pending && rv == 0)
    p = end; /* 5.5.1: bytes after the close frame are not looked at */
  *nread = (size_t)(p - in);
  if (p > in)
    ws->rx_activity = 1; /* the keepalive timer counts it at the next tick */
  rv = rv != 0 && !ws->free_pending ? fail(ws, rv) : 0;
  if (ws->rstate >= R_CLOSED && !ws->free_pending)
    rtw__buf_free(&ws->msg, &ws->mem); /* no message will come: keep nothing */
  if (rv != 0)
    return rv;
  return ws->paused ? RTW_ERR_PAUSE : 0;
}

/* The receive half of rtw_ws_trim() and of the idle release: the whole-message buffer,
 * unless a message is being assembled in it. */
static void recv_trim(rtw_ws *ws)
{
  if (ws->msg_op == 0 || ws->rstate >= R_CLOSED)
    rtw__buf_free(&ws->msg, &ws->mem);
}

/* rtw_ws_tick(): release the kept message buffer after keep_idle_ms without input (input
 * counts at the tick that follows it, as for keepalive: tick() set last_rx). */
static void tick_recv_keep(rtw_ws *ws, uint64_t now)
{
  if (ws->msg.cap > 0 && ws->keep_idle_ms != UINT32_MAX && now >= ws->last_rx &&
      now - ws->last_rx >= ws->keep_idle_ms)
    recv_trim(ws);
}

static int recv_entry(rtw_ws *ws, const void *in, size_t len, size_t *nread, int inplace)
{
  if (nread != NULL)
    *nread = 0;
  if (ws == NULL || nread == NULL || (in == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->cb_depth > 0)
    return RTW_ERR_REENTRANT; /* a nested parse would corrupt the one running */
  if (ws->error)
    return ws->error;
  ws->paused = 0; /* a callback's pause ends with this call, whatever it feeds */
  if (len == 0)
    return 0;
  ws->io_seen = 1; /* rtw_ws_set_deflate() is too late from now on */
  ws->rx_inplace = (uint8_t)inplace;
  return leave(ws, 1, recv_input(ws, in, len, nread));
}

int rtw_ws_recv_inplace(rtw_ws *ws, void *in, size_t len, size_t *nread)
{
  return recv_entry(ws, in, len, nread, 1);
}

int rtw_ws_trim(rtw_ws *ws)
{
  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!outermost(ws))
    return RTW_ERR_REENTRANT;
  recv_trim(ws);
  release_output(ws, 1); /* send side: not while output is pending */
  return 0;
}

int rtw_ws_recv(rtw_ws *ws, const void *in, size_t len, size_t *nread)
{
  return recv_entry(ws, in, len, nread, 0);
}

/* ------------------------------------------------------------------ timers */

/* A timeout: the peer is gone, so nothing more is read or written. */
static int time_out(rtw_ws *ws, int err)
{
  ws->error = err;
  ws->rstate = R_FAILED;
  drop_output(ws);
  return err;
}

/* The send timer: output pending and none taken for timeout_ms (0: off), as seen by
 * ticks; it restarts at the tick after rtw_ws_send_consumed() took bytes. 1 when it ran
 * out. */
static int send_stalled(rtw_ws *ws, uint64_t now, uint32_t timeout_ms)
{
  if (timeout_ms == 0 || !has_output(ws)) {
    ws->send_armed = 0;
    return 0;
  }
  if (!ws->send_armed || ws->write_progress) {
    ws->send_armed = 1;
    ws->write_progress = 0;
    ws->send_deadline = now + timeout_ms;
    return 0;
  }
  return now >= ws->send_deadline;
}

/* After a fatal error the session keeps its close frame (and what was queued before it) for
 * the host to flush. A peer that never reads must not hold the connection forever: that
 * output gets send_timeout_ms (close_timeout_ms when no send timeout is set) from the last
 * progress, then it is dropped and want_write turns 0. */
static void tick_failed(rtw_ws *ws, uint64_t now)
{
  ws->now = now;
  if (send_stalled(ws, now, ws->send_timeout_ms != 0 ? ws->send_timeout_ms
                                                     : ws->close_timeout_ms))
    drop_output(ws);
}

/* Client role after the closing handshake: stop waiting for the server's EOF after
 * close_timeout_ms (RFC 6455 7.1.1), counted from the first tick once our close is out. */
static void tick_eof(rtw_ws *ws, uint64_t now)
{
  if (!eof_waiting(ws) || !ws->close_written)
    return;
  if (!ws->eof_armed) {
    ws->eof_armed = 1;
    ws->eof_deadline = now + ws->close_timeout_ms;
  }
  if (now >= ws->eof_deadline)
    ws->eof_done = 1;
}

/* Keepalive ping and pong timeout; both stand still while input is paused (we are not
 * reading, so silence says nothing about the peer) and restart once it resumes. */
static int tick_keepalive(rtw_ws *ws, uint64_t now)
{
  static const uint8_t ping_payload[] = "rtweb-keepalive";

  if (ws->keepalive_ms == 0 || ws->close_sent || ws->rstate > R_PAYLOAD || input_paused(ws))
    return 0;
  if (ws->timers_stale) {
    ws->timers_stale = 0;
    ws->last_rx = now;
    if (ws->ping_out)
      ws->pong_deadline = now + ws->pong_timeout_ms;
    return 0;
  }
  if (ws->ping_out)
    return now >= ws->pong_deadline ? RTW_ERR_WS_PONG_TIMEOUT : 0;
  if (now - ws->last_rx >= ws->keepalive_ms) {
    int rv;
    if (!budget_ok(ws, sizeof ping_payload - 1, 1)) {
      ws->last_rx = now; /* output is stuck anyway (send_timeout_ms judges that): later */
      return 0;
    }
    rv = queue_control(ws, RTW_WS_OP_PING, ping_payload, sizeof ping_payload - 1);
    if (rv != 0) /* RTW_ERR_NOMEM, or the RNG callback failed (client role) */
      return rv;
    ws->ping_out = 1;
    ws->pong_deadline = now + ws->pong_timeout_ms;
  }
  return 0;
}

/* zlib streams without context takeover that are held between messages, and could be
 * released now (none in the middle of a message). */
static int deflate_releasable(const rtw_ws *ws)
{
  return ws->dfl_on && ((ws->own_reset && ws->defl.z != NULL && !ws->defl.midstream) ||
                        (ws->peer_reset && ws->infl.z != NULL && !ws->infl.midstream));
}

/* The idle release of reset zlib streams (see RTW_WS_DEFLATE_IDLE_RELEASE_MS): armed at a
 * tick; at the first tick at or after its deadline the streams are released if no
 * compressed message passed since it was armed, else it is armed again. So an idle session
 * holds no zlib memory (issue #13) and a busy one allocates none per message. */
static void tick_deflate_idle(rtw_ws *ws, uint64_t now)
{
  if (!deflate_releasable(ws)) {
    ws->dfl_idle_armed = 0;
    return;
  }
  if (ws->dfl_idle_armed && now >= ws->dfl_idle_deadline && !ws->dfl_used) {
    if (ws->own_reset && !ws->defl.midstream)
      rtw__deflater_free(&ws->defl);
    if (ws->peer_reset && !ws->infl.midstream)
      rtw__inflater_free(&ws->infl);
    ws->dfl_idle_armed = 0;
    return;
  }
  if (!ws->dfl_idle_armed || now >= ws->dfl_idle_deadline) {
    ws->dfl_idle_armed = 1;
    ws->dfl_used = 0;
    ws->dfl_idle_deadline = now + RTW_WS_DEFLATE_IDLE_RELEASE_MS;
  }
}

/* Whether the send side holds kept buffers that an idle release could free. */
static int keep_releasable(const rtw_ws *ws)
{
  return ws->keep_idle_ms != UINT32_MAX && ws->seg_count == 0 && ws->mq == NULL &&
         (ws->obuf.data != NULL || ws->segs != NULL || ws->zbuf.data != NULL);
}

/* The idle release of kept output buffers (rtw_ws_settings::keep_idle_ms): armed at a tick;
 * the first tick at or after its deadline frees them if nothing was queued since it was
 * armed, else arms it again. So a busy session allocates nothing per message and an idle
 * one returns to its idle size. */
static void tick_keep_idle(rtw_ws *ws, uint64_t now)
{
  if (!keep_releasable(ws)) {
    ws->keep_armed = 0;
    return;
  }
  if (ws->keep_armed && now >= ws->keep_deadline && !ws->keep_used) {
    release_output(ws, 1);
    ws->keep_armed = 0;
    return;
  }
  if (!ws->keep_armed || now >= ws->keep_deadline) {
    ws->keep_armed = 1;
    ws->keep_used = 0;
    ws->keep_deadline = now + ws->keep_idle_ms;
  }
}

static int tick(rtw_ws *ws, uint64_t now)
{
  if (!ws->ticked || ws->rx_activity)
    ws->last_rx = now;
  ws->ticked = 1;
  ws->rx_activity = 0;
  ws->now = now;
  tick_deflate_idle(ws, now);
  tick_keep_idle(ws, now); /* send side */
  tick_recv_keep(ws, now); /* receive side */
  if (send_stalled(ws, now, ws->send_timeout_ms))
    return RTW_ERR_SEND_TIMEOUT;
  tick_eof(ws, now);
  if (ws->close_sent && ws->rstate <= R_PAYLOAD) { /* 7.1.1: wait for the peer's close */
    if (ws->close_written && !ws->close_armed) {
      ws->close_armed = 1;
      ws->close_deadline = now + ws->close_timeout_ms;
    }
    return ws->close_armed && now >= ws->close_deadline ? RTW_ERR_WS_CLOSE_TIMEOUT : 0;
  }
  return tick_keepalive(ws, now);
}

int rtw_ws_tick(rtw_ws *ws, uint64_t now)
{
  int rv;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->cb_depth > 0)
    return RTW_ERR_REENTRANT;
  if (ws->error) { /* reported already; only the failed session's output may time out */
    tick_failed(ws, now);
    return leave(ws, 1, 0);
  }
  rv = tick(ws, now);
  if (rv != 0 && !ws->free_pending)
    rv = time_out(ws, rv);
  return leave(ws, 1, rv);
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

uint64_t rtw_ws_next_deadline(const rtw_ws *ws)
{
  uint64_t d = UINT64_MAX;

  if (ws == NULL || ws->free_pending)
    return UINT64_MAX;
  if (ws->error) /* see tick_failed() */
    return has_output(ws) ? (ws->send_armed ? ws->send_deadline : ws->now) : UINT64_MAX;
  if (ws->send_timeout_ms != 0 && has_output(ws))
    d = ws->send_armed ? ws->send_deadline : ws->now; /* due now: the next tick arms it */
  if (ws->msg.cap > 0 && ws->msg_op == 0 && ws->keep_idle_ms != UINT32_MAX) /* tick_recv_keep */
    d = earlier(d, ws->ticked ? ws->last_rx + ws->keep_idle_ms : ws->now);
  if (ws->ticked && deflate_releasable(ws))
    d = earlier(d, ws->dfl_idle_armed ? ws->dfl_idle_deadline : ws->now);
  if (ws->ticked && keep_releasable(ws))
    d = earlier(d, ws->keep_armed ? ws->keep_deadline : ws->now);
  if (eof_waiting(ws) && ws->close_written)
    d = earlier(d, ws->eof_armed ? ws->eof_deadline : ws->now);
  if (ws->close_sent && ws->rstate <= R_PAYLOAD) {
    if (ws->close_armed)
      d = earlier(d, ws->close_deadline);
    else if (ws->close_written)
      d = earlier(d, ws->now);
    return d;
  }
  if (ws->keepalive_ms == 0 || ws->rstate > R_PAYLOAD || !ws->ticked || input_paused(ws))
    return d; /* keepalive timers arm at the first tick and stand still while paused */
  return earlier(d, ws->ping_out ? ws->pong_deadline : ws->last_rx + ws->keepalive_ms);
}

/* ------------------------------------------------------------------ lifetime */

int rtw_ws_close_sent(const rtw_ws *ws)
{
  return ws ? ws->close_sent : 0;
}

int rtw_ws_close_received(const rtw_ws *ws)
{
  return ws ? ws->close_recv : 0;
}

void *rtw_ws_user_data(const rtw_ws *ws)
{
  return ws ? ws->user_data : NULL;
}

/* The prefix of rtw_ws_settings that version 1 declared. */
#define SETTINGS_V1_SIZE offsetof(rtw_ws_settings, outbound_high_water)
/* The prefix of rtw_ws_settings that version 2 declared. */
#define SETTINGS_V2_SIZE offsetof(rtw_ws_settings, keep_buffer)

static int apply_settings(rtw_ws *ws, const rtw_ws_settings *in)
{
  rtw_ws_settings s;

  memset(&s, 0, sizeof s);
  if (in != NULL) {
    if (in->version == 0 || in->version > RTW_WS_SETTINGS_VERSION)
      return RTW_ERR_INVALID_ARGUMENT;
    /* copy only the layout the caller knows; newer members stay 0 (their defaults) */
    memcpy(&s, in,
           in->version == 1 ? SETTINGS_V1_SIZE : in->version == 2 ? SETTINGS_V2_SIZE : sizeof s);
    if (s.flags & ~(RTW_WS_FLAG_WHOLE_MESSAGES | RTW_WS_FLAG_NO_AUTO_PONG) ||
        s.rsv_allowed & ~(RTW_WS_RSV1 | RTW_WS_RSV2 | RTW_WS_RSV3))
      return RTW_ERR_INVALID_ARGUMENT;
  }
  ws->flags = s.flags;
  ws->max_frame = s.max_frame_size ? s.max_frame_size : RTW_WS_DEFAULT_MAX_FRAME_SIZE;
  ws->max_msg = s.max_message_size ? s.max_message_size : RTW_WS_DEFAULT_MAX_MESSAGE_SIZE;
  ws->frag_size = s.fragment_size ? s.fragment_size : RTW_WS_DEFAULT_FRAGMENT_SIZE;
  ws->max_out = s.max_outbound ? s.max_outbound : RTW_WS_DEFAULT_MAX_OUTBOUND;
  ws->keepalive_ms = s.keepalive_ms;
  ws->pong_timeout_ms = s.pong_timeout_ms ? s.pong_timeout_ms : RTW_WS_DEFAULT_PONG_TIMEOUT_MS;
  ws->close_timeout_ms =
      s.close_timeout_ms ? s.close_timeout_ms : RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS;
  ws->rsv_allowed = s.rsv_allowed;
  ws->high_water = s.outbound_high_water ? s.outbound_high_water
                                         : RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER;
  ws->low_water = s.outbound_low_water ? s.outbound_low_water : ws->high_water / 2;
  if (ws->low_water > ws->high_water)
    return RTW_ERR_INVALID_ARGUMENT;
  ws->send_timeout_ms = s.send_timeout_ms;
  ws->keep_buffer = s.keep_buffer ? s.keep_buffer : RTW_WS_DEFAULT_KEEP_BUFFER;
  ws->keep_idle_ms = s.keep_idle_ms ? s.keep_idle_ms : RTW_WS_DEFAULT_KEEP_IDLE_MS;
  return 0;
}

int rtw_ws_new(rtw_ws **out, int role, const rtw_ws_callbacks *cb,
               const rtw_ws_settings *settings, const rtw_mem *mem, void *user_data)
{
  rtw_ws *ws;
  rtw_mem m;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if ((role != RTW_WS_ROLE_SERVER && role != RTW_WS_ROLE_CLIENT) ||
      (cb != NULL && (cb->version == 0 || cb->version > RTW_WS_CALLBACKS_VERSION)))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = rtw__mem_init(&m, mem);
  if (rv != 0)
    return rv;
  ws = rtw__mem_calloc(&m, 1, sizeof *ws);
  if (ws == NULL)
    return RTW_ERR_NOMEM;
  ws->mem = m;
  rv = apply_settings(ws, settings);
  if (rv != 0) {
    rtw__mem_free(&m, ws);
    return rv;
  }
  if (cb != NULL)
    ws->cb = *cb; /* version 1 is the only layout so far */
  ws->role = role;
  ws->user_data = user_data;
  rtw__utf8_init(&ws->utf8);
  rtw__utf8_init(&ws->out_utf8);
  *out = ws;
  return 0;
}

static void destroy(rtw_ws *ws)
{
  ws->free_pending = 1; /* queue calls from on_payload_released now fail */
  ws->cb_depth++;       /* and rtw_ws_free() from there does nothing more */
  drop_output(ws);
  rtw__deflater_free(&ws->defl);
  rtw__inflater_free(&ws->infl);
  rtw__buf_free(&ws->msg, &ws->mem);
  rtw__buf_free(&ws->obuf, &ws->mem);
  rtw__buf_free(&ws->zbuf, &ws->mem);
  rtw__mem_free(&ws->mem, ws->segs);
  rtw__mem_free(&ws->mem, ws->spare); /* drop_output() added none (free_pending) */
  rtw__mem_free(&ws->mem, ws);
}

void rtw_ws_free(rtw_ws *ws)
{
  if (ws == NULL)
    return;
  if (ws->cb_depth > 0) {
    ws->free_pending = 1; /* deferred: the API call running the callback frees it */
    return;
  }
  destroy(ws);
}

/* ------------------------------------------------------------------ permessage-deflate */

/* A negotiated window-bits value: absent (0) means 15 (RFC 7692 7.1.2); 8..15 as given.
 * 0 for anything else. */
static unsigned window_of(uint8_t bits)
{
  if (bits == 0)
    return 15u;
  return bits >= 8 && bits <= 15 ? bits : 0u;
}

/* The config with defaults filled in; RTW_ERR_INVALID_ARGUMENT when a member is out of
 * range (see rtw_ws_deflate_config). */
static int deflate_config(const rtw_ws_deflate_config *in, rtw_ws_deflate_config *c)
{
  uint32_t known = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER |
                   RTW_WS_DEFLATE_REQUIRED | RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER |
                   RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE;

  memset(c, 0, sizeof *c);
  if (in != NULL) {
    if (in->version == 0 || in->version > RTW_WS_DEFLATE_CONFIG_VERSION)
      return RTW_ERR_INVALID_ARGUMENT;
    *c = *in; /* version 1 is the only layout so far */
  }
  if (c->level == 0)
    c->level = RTW_WS_DEFLATE_DEFAULT_LEVEL;
  if (c->deflate_window_bits == 0)
    c->deflate_window_bits = RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS;
  if (c->deflate_mem_level == 0)
    c->deflate_mem_level = RTW_WS_DEFLATE_DEFAULT_MEM_LEVEL;
  if (c->inflate_window_bits == 0)
    c->inflate_window_bits = RTW_WS_DEFLATE_DEFAULT_WINDOW_BITS;
  if (c->memory_budget == 0)
    c->memory_budget = RTW_WS_DEFLATE_DEFAULT_MEMORY_BUDGET;
  if ((c->flags & ~known) || c->level > 9 || c->deflate_window_bits < 9 ||
      c->deflate_window_bits > 15 || c->deflate_mem_level > 9 || c->inflate_window_bits < 8 ||
      c->inflate_window_bits > 15)
    return RTW_ERR_INVALID_ARGUMENT;
  return 0;
}

/* Switch compression on with checked parameters: our window is the smaller of the config's
 * and the one the peer allowed us (RFC 7692 7.1.2.1, 7.1.2.2); context is dropped after
 * each message on the sides that negotiated *_no_context_takeover (7.1.1). */
static int deflate_on(rtw_ws *ws, const rtw_ws_deflate_params *n, const rtw_ws_deflate_config *c)
{
  int server = ws->role == RTW_WS_ROLE_SERVER;
  unsigned own = window_of(server ? n->server_max_window_bits : n->client_max_window_bits);
  unsigned peer = window_of(server ? n->client_max_window_bits : n->server_max_window_bits);
  int rv;

  if (own == 0 || peer == 0)
    return RTW_ERR_WS_DEFLATE_PARAM;
  if (own > c->deflate_window_bits)
    own = c->deflate_window_bits;
  /* A limit of 8 on our side (RFC 7692 7.1.2.1, 7.1.2.2) runs zlib at 9: it refuses raw
   * windowBits 8, and with 9 it never emits a distance above MAX_DIST = 512 - MIN_LOOKAHEAD
   * (262) = 250 bytes, within the 256 bytes the peer's 8-bit decompressor holds. */
  if (own < 9)
    own = 9;
  /* A peer limited to 8 bits may still deflate with 9 (zlib turns 8 into 9): inflating with
   * 9 costs 256 bytes more and takes both. */
  if (peer < 9)
    peer = 9;
  ws->zacct.mem = ws->mem;
  ws->zacct.used = 0;
  ws->zacct.budget = c->memory_budget;
  rv = rtw__deflater_init(&ws->defl, &ws->zacct, c->level, own, c->deflate_mem_level);
  if (rv == 0)
    rv = rtw__inflater_init(&ws->infl, &ws->zacct, peer);
  if (rv != 0)
    return RTW_ERR_WS_DEFLATE_PARAM;
  ws->own_reset = server ? n->server_no_context_takeover : n->client_no_context_takeover;
  ws->peer_reset = server ? n->client_no_context_takeover : n->server_no_context_takeover;
  ws->own_reset = ws->own_reset != 0 || !(c->flags & RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER);
  ws->peer_reset = ws->peer_reset != 0;
  ws->dfl_release_each = (c->flags & RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE) != 0;
  ws->dfl = *n;
  ws->dfl.server_max_window_bits = (uint8_t)window_of(n->server_max_window_bits);
  ws->dfl.client_max_window_bits = (uint8_t)window_of(n->client_max_window_bits);
  ws->dfl_threshold = c->threshold;
  ws->dfl_on = 1;
  return 0;
}

int rtw_ws_set_deflate(rtw_ws *ws, const rtw_ws_deflate_params *negotiated,
                       const rtw_ws_deflate_config *config)
{
  rtw_ws_deflate_config c;
  int rv;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rv = deflate_config(config, &c);
  if (rv != 0)
    return rv;
  if (ws->cb_depth > 0 || ws->dfl_set || ws->io_seen || ws->error || has_output(ws))
    return RTW_ERR_INVALID_STATE;
  ws->dfl_set = 1;
  if (negotiated != NULL)
    return deflate_on(ws, negotiated, &c);
  if (ws->role == RTW_WS_ROLE_CLIENT && (c.flags & RTW_WS_DEFLATE_REQUIRED))
    return fail(ws, RTW_ERR_WS_EXTENSION_MISSING); /* RFC 6455 7.4.1: 1010 */
  return 0;
}

int rtw_ws_deflate_active(const rtw_ws *ws, rtw_ws_deflate_params *negotiated)
{
  if (ws == NULL || !ws->dfl_on)
    return 0;
  if (negotiated != NULL)
    *negotiated = ws->dfl;
  return 1;
}

size_t rtw_ws_deflate_memory(const rtw_ws *ws)
{
  return ws != NULL ? ws->zacct.used : 0;
}

/* Ready frames behind everything queued before them: directly as a reference segment when
 * nothing waits in mq, else as a raw node, so they never land inside a message that is
 * still being fragmented (RFC 6455 5.4). */
static int queue_frames(rtw_ws *ws, const uint8_t *frames, size_t len,
                        void (*release)(void *ctx), void *ctx)
{
  out_msg *m;
  seg *s;
  int rv;

  if (frames == NULL || len == 0 || release == NULL || ws->role != RTW_WS_ROLE_SERVER)
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (ws->out_op != 0) /* a streamed message is open: whole frames cannot go inside it */
    return RTW_ERR_INVALID_STATE;
  if (!budget_ok(ws, len, 0))
    return RTW_ERR_WS_OUTBOUND_FULL;
  if (ws->mq == NULL) {
    if (seg_push(ws, frames, 0, len))
      return RTW_ERR_NOMEM;
    s = seg_last(ws);
    s->rel_fn = release;
    s->rel_ctx = ctx;
    return 0;
  }
  rv = queue_node(ws, 0, 0, frames, len, 1, 1, NULL);
  if (rv != 0)
    return rv;
  m = ws->mq_tail;
  m->raw = 1;
  m->started = 0; /* opcode 0 read as a continuation: these frames are not a message's rest */
  m->nocopy = 0;
  m->rel_fn = release;
  m->rel_ctx = ctx;
  return 0;
}

int rtw__ws_queue_frames(rtw_ws *ws, const uint8_t *frames, size_t len,
                         void (*release)(void *ctx), void *ctx)
{
  int outer;

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  outer = outermost(ws);
  return leave(ws, outer, queue_frames(ws, frames, len, release, ctx));
}
