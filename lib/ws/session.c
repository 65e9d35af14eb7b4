/* SPDX-License-Identifier: MIT */
/* WebSocket session engine (RFC 6455 sections 5-7): receive rules, message delivery, the
 * closing handshake, the outbound queue and timers, for the client and the server role.
 *
 * Receiving. A frame header is parsed straight from the input when it lies whole there, else
 * collected in `hdr`. The header is checked against every rule that it alone can break (RSV,
 * opcode, mask, control frame size and FIN, continuation order, size limits, 1-byte close)
 * before any payload is read, so a frame announcing 2 GiB fails at its header. Payload
 * bytes are unmasked on the fly (into a stack buffer; the caller's input is never written)
 * and delivered: data in pieces (streamed mode) or into `msg` (whole-message mode), control
 * payloads into `ctrl` (at most 125 bytes). Text is validated as it arrives and fails at the
 * first invalid byte (1007), not at the end of the message.
 *
 *   R_HEADER --header ok--> R_PAYLOAD --payload done--> R_HEADER
 *   any --peer close--> R_CLOSED (input ignored)     any --error--> R_FAILED (sticky)
 *
 * Sending. Output is a FIFO of segments: ranges of `obuf` (frames the session wrote: headers,
 * copied or masked payloads, control frames) and references to payloads it does not copy
 * (RTW_WS_QUEUE_NOCOPY, and large messages held in a node). A message that fits in one
 * fragment is serialised at once; larger ones (and any message queued behind one) wait in
 * `mq` and are serialised one fragment at a time as the host drains the output, so control
 * frames queued meanwhile go out between fragments (RFC 6455 5.4, 5.5).
 *
 * Invariants:
 * - seg_bytes is the sum of the pending segments' lengths; mq_bytes the payload bytes of
 *   `mq` not yet serialised. Their sum is what max_outbound bounds.
 * - Owned segments are consumed in obuf order, so obuf is a FIFO: [ohead, obuf.len).
 * - Once close_sent, nothing but the close frame already queued goes out.
 */
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "internal.h"
#include "mask.h"
#include "rtweb/ws.h"
#include "utf8.h"

enum { R_HEADER, R_PAYLOAD, R_CLOSED, R_FAILED };

#define UNMASK_CHUNK 8192u
#define CONTROL_HEADROOM 256u
#define MSG_KEEP 4096u /* whole-message buffer kept between messages up to this size */

typedef struct seg {
  const uint8_t *ptr; /* NULL: owned bytes at obuf + off */
  size_t off;
  size_t len;
  struct out_msg *node;    /* freed when this segment is consumed (last payload segment) */
  const void *release;     /* NOCOPY payload to release when this segment is consumed */
  size_t release_len;
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
  int error;
  int paused;

  /* receive */
  uint8_t rstate;
  uint8_t hdr_len;
  uint8_t msg_op;   /* opcode of the message being received, 0 when none */
  uint8_t ctrl_len;
  uint8_t hdr[RTW_WS_MAX_HEADER];
  rtw_ws_frame f;
  uint32_t key;       /* f.mask as a word (mask.h) */
  uint64_t remaining; /* payload bytes left in the current frame */
  uint64_t frame_off; /* payload bytes of the current frame seen */
  uint64_t msg_len;   /* payload bytes of the current message seen */
  rtw__utf8 utf8;     /* validation of the text message being received */
  uint8_t ctrl[RTW_WS_MAX_CONTROL_PAYLOAD];
  rtw__buf msg; /* whole-message mode */

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
  size_t mq_bytes;
  uint8_t out_op; /* opcode of the message being sent with queue_fragment, 0 when none */
  uint8_t out_started;
  rtw__utf8 out_utf8;
  int close_sent;
  int close_recv;
  uint8_t close_written; /* our close frame has been fully taken by the host */
  uint8_t rnd_pos;
  uint8_t rnd[64]; /* client role: masking keys drawn 16 at a time */

  /* timers (RFC 6455 does not fix them; see rtw_ws_settings) */
  uint8_t ticked;
  uint8_t rx_activity;
  uint8_t ping_out;
  uint8_t close_armed;
  uint64_t now; /* the last tick */
  uint64_t last_rx;
  uint64_t pong_deadline;
  uint64_t close_deadline;
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
    return RTW_WS_CLOSE_INVALID_PAYLOAD; /* 7.4.1: 1007, data not consistent with type */
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

static int check_cb(rtw_ws *ws, int rv)
{
  if (rv == 0)
    return 0;
  if (rv == RTW_ERR_PAUSE) {
    ws->paused = 1;
    return 0;
  }
  return RTW_ERR_CALLBACK_FAILURE;
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
  ws->seg_bytes += len;
  return 0;
}

static seg *seg_last(rtw_ws *ws)
{
  return ws->seg_count ? &ws->segs[ws->seg_head + ws->seg_count - 1] : NULL;
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
  if (rtw__buf_reserve(&ws->obuf, &ws->mem, n))
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

/* Four masking key bytes: from the host's RNG, or the OS in batches of 16 keys. */
static int masking_key(rtw_ws *ws, uint8_t key[4])
{
  if (ws->cb.random != NULL)
    return ws->cb.random(ws, key, 4, ws->user_data) == 0 ? 0 : RTW_ERR_CALLBACK_FAILURE;
  if (ws->rnd_pos == 0 || ws->rnd_pos >= sizeof ws->rnd) {
    if (rtw__random(ws->rnd, sizeof ws->rnd))
      return RTW_ERR_UNSUPPORTED;
    ws->rnd_pos = 0;
  }
  memcpy(key, ws->rnd + ws->rnd_pos, 4);
  ws->rnd_pos = (uint8_t)(ws->rnd_pos + 4);
  return 0;
}

/* Write one frame into obuf: header, then the payload (masked in the client role, RFC 6455
 * 5.3) unless `payload_ref` says the payload goes out as a reference (server role only). */
static int put_frame(rtw_ws *ws, unsigned op, int fin, const uint8_t *data, size_t len,
                     int payload_ref)
{
  rtw_ws_frame f;
  size_t hlen, total;
  uint8_t *d;
  int rv;

  memset(&f, 0, sizeof f);
  f.fin = (uint8_t)(fin != 0);
  f.opcode = (uint8_t)op;
  f.payload_len = len;
  if (ws->role == RTW_WS_ROLE_CLIENT) {
    f.masked = 1;
    rv = masking_key(ws, f.mask);
    if (rv != 0)
      return rv;
  }
  total = RTW_WS_MAX_HEADER + (payload_ref ? 0 : len);
  d = owned_reserve(ws, total);
  if (d == NULL || seg_reserve(ws, 2)) /* header and payload segments cannot fail below */
    return RTW_ERR_NOMEM;
  hlen = rtw__ws_put_header(d, &f);
  if (!payload_ref && len > 0) {
    if (f.masked)
      rtw__ws_mask(d + hlen, data, len, rtw__ws_mask_key(f.mask), 0);
    else
      memcpy(d + hlen, data, len);
  }
  return owned_commit(ws, hlen + (payload_ref ? 0 : len));
}

/* Server role, payload under 126 bytes, copied: a 2-byte header and the payload in one step
 * (RFC 6455 5.2: 7-bit length, no mask). The hot path of a chat or ticker server. */
static inline int put_small(rtw_ws *ws, unsigned op, int fin, const uint8_t *data, size_t len)
{
  uint8_t *d = owned_reserve(ws, 2 + len);
  rtw_ws_frame f = {0, 0, 0, 0, {0, 0, 0, 0}, 0};

  if (d == NULL || seg_reserve(ws, 1))
    return RTW_ERR_NOMEM;
  f.fin = (uint8_t)(fin != 0);
  f.opcode = (uint8_t)op;
  f.payload_len = len;
  (void)rtw__ws_put_header(d, &f); /* inlined: folds to the two header bytes */
  if (len > 0)
    memcpy(d + 2, data, len);
  return owned_commit(ws, 2 + len);
}

/* Serialise the next fragment of the first waiting message. */
static int next_fragment(rtw_ws *ws)
{
  out_msg *m = ws->mq;
  size_t n = m->len - m->off;
  int last, ref, rv;
  unsigned op;

  if (n > ws->frag_size && !is_control(m->opcode))
    n = ws->frag_size;
  last = m->off + n == m->len;
  op = m->started ? RTW_WS_OP_CONTINUATION : m->opcode;
  ref = ws->role == RTW_WS_ROLE_SERVER && n > 0;
  rv = put_frame(ws, op, last && m->fin, m->data + m->off, n, ref);
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
      if (m->nocopy && ws->cb.on_payload_released)
        ws->cb.on_payload_released(ws, m->data, m->len, ws->user_data);
      rtw__mem_free(&ws->mem, m);
    }
  }
  return 0;
}

static void drop_output(rtw_ws *ws);

/* Make sure something is pending when anything is queued. */
static int refill(rtw_ws *ws)
{
  int rv;

  if (ws->seg_count > 0 || ws->mq == NULL)
    return 0;
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
  if (s->release != NULL && ws->cb.on_payload_released)
    ws->cb.on_payload_released(ws, s->release, s->release_len, ws->user_data);
  if (s->node != NULL)
    rtw__mem_free(&ws->mem, s->node);
  s->release = NULL;
  s->node = NULL;
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
    if (m->nocopy && ws->cb.on_payload_released)
      ws->cb.on_payload_released(ws, m->data, m->len, ws->user_data);
    rtw__mem_free(&ws->mem, m);
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
    release_seg(ws, &ws->segs[ws->seg_head]);
    ws->seg_head++;
    ws->seg_count--;
  }
  drop_queued(ws, 0);
  ws->seg_head = 0;
  ws->seg_bytes = 0;
  ws->ohead = ws->obuf.len = 0;
}

/* ------------------------------------------------------------------ queueing */

static int budget_ok(const rtw_ws *ws, size_t len, int control)
{
  size_t limit = ws->max_out + (control ? CONTROL_HEADROOM : 0);
  size_t used = ws->seg_bytes + ws->mq_bytes;
  /* written so that no sum can wrap: len may be anything up to SIZE_MAX */
  return used <= limit && limit - used >= RTW_WS_MAX_HEADER &&
         len <= limit - used - RTW_WS_MAX_HEADER;
}

static int queue_node(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len, int fin,
                      int nocopy)
{
  out_msg *m;
  size_t size = sizeof *m + (nocopy ? 0 : len);

  m = rtw__mem_malloc(&ws->mem, size);
  if (m == NULL)
    return RTW_ERR_NOMEM;
  memset(m, 0, sizeof *m);
  if (nocopy) {
    m->data = data;
  } else {
    m->data = (const uint8_t *)(m + 1);
    if (len > 0)
      memcpy(m + 1, data, len);
  }
  m->len = len;
  m->opcode = (uint8_t)op;
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
 * of its first frame (CONTINUATION for later pieces). */
static int queue_data(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len, int fin,
                      int nocopy)
{
  if (ws->role == RTW_WS_ROLE_CLIENT)
    nocopy = 0; /* masking needs our own copy; released below */
  else if (!nocopy && ws->mq == NULL && len < 126 && len <= ws->frag_size)
    return put_small(ws, op, fin, data, len); /* the common small server frame */
  if (ws->mq == NULL && len <= ws->frag_size) {
    int ref = nocopy && len > 0;
    int rv = put_frame(ws, op, fin, data, len, ref);
    if (rv == 0 && ref) {
      rv = seg_push(ws, data, 0, len);
      if (rv == 0) {
        seg_last(ws)->release = data;
        seg_last(ws)->release_len = len;
      }
    } else if (rv == 0 && nocopy && ws->cb.on_payload_released) {
      ws->cb.on_payload_released(ws, data, len, ws->user_data); /* nothing to reference */
    }
    return rv;
  }
  return queue_node(ws, op, data, len, fin, nocopy);
}

static int queue_control(rtw_ws *ws, unsigned op, const uint8_t *data, size_t len)
{
  /* RFC 6455 5.4: control frames may be injected in the middle of a fragmented message;
   * fragments still waiting in mq are serialised after it. */
  return put_frame(ws, op, 1, data, len, 0);
}

static int can_queue(const rtw_ws *ws)
{
  if (ws->close_sent || ws->error)
    return RTW_ERR_WS_CLOSED;
  return 0;
}

int rtw_ws_queue_message(rtw_ws *ws, int opcode, const void *data, size_t len, uint32_t flags)
{
  int rv;

  if (ws == NULL || (data == NULL && len > 0) || (flags & ~RTW_WS_QUEUE_NOCOPY) ||
      (opcode != RTW_WS_OP_TEXT && opcode != RTW_WS_OP_BINARY))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = can_queue(ws);
  if (rv != 0)
    return rv;
  if (ws->out_op != 0)
    return RTW_ERR_INVALID_STATE;
  if (opcode == RTW_WS_OP_TEXT && len > 0 && rtw__utf8_valid_prefix(data, len) != len)
    return RTW_ERR_INVALID_UTF8; /* RFC 6455 5.6: text is UTF-8 */
  if (!budget_ok(ws, len, 0))
    return RTW_ERR_WS_OUTBOUND_FULL;
  rv = queue_data(ws, (unsigned)opcode, data, len, 1, (flags & RTW_WS_QUEUE_NOCOPY) != 0);
  if (rv == 0 && ws->role == RTW_WS_ROLE_CLIENT && (flags & RTW_WS_QUEUE_NOCOPY) &&
      ws->cb.on_payload_released)
    ws->cb.on_payload_released(ws, data, len, ws->user_data);
  return rv;
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
  rtw__utf8 st;
  unsigned op;
  int rv;

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
  if (opcode == RTW_WS_OP_TEXT) { /* RFC 6455 5.6: validated across pieces */
    if (rtw__utf8_validate(&st, data, len) != len || (fin && !rtw__utf8_at_boundary(&st)))
      return RTW_ERR_INVALID_UTF8;
  }
  if (!budget_ok(ws, len, 0))
    return RTW_ERR_WS_OUTBOUND_FULL;
  op = ws->out_op ? RTW_WS_OP_CONTINUATION : (unsigned)opcode;
  rv = queue_data(ws, op, data, len, fin, 0);
  if (rv != 0)
    return rv;
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

int rtw_ws_queue_ping(rtw_ws *ws, const void *data, size_t len)
{
  return queue_ctrl_checked(ws, RTW_WS_OP_PING, data, len);
}

int rtw_ws_queue_pong(rtw_ws *ws, const void *data, size_t len)
{
  return queue_ctrl_checked(ws, RTW_WS_OP_PONG, data, len);
}

/* Queue a close frame with `code` (0: no payload) and mark the session closing. It goes out
 * after the messages already queued (RFC 6455 5.5.1 lets an endpoint finish sending a
 * message first), unless `urgent` (a failure): then queued messages not yet started are
 * dropped. Either way nothing is queued after it. */
static int send_close(rtw_ws *ws, int code, const char *reason, size_t reason_len, int urgent)
{
  uint8_t payload[RTW_WS_MAX_CONTROL_PAYLOAD];
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
    rv = queue_node(ws, RTW_WS_OP_CLOSE, payload, n, 1, 0);
  else
    rv = queue_control(ws, RTW_WS_OP_CLOSE, payload, n);
  if (rv == 0) { /* only a close frame that is really queued counts as sent */
    ws->close_sent = code != 0 ? code : RTW_WS_CLOSE_NO_STATUS;
    ws->close_written = 0;
  }
  return rv;
}

int rtw_ws_close(rtw_ws *ws, int code, const char *reason, size_t reason_len)
{
  int rv;

  if (ws == NULL || (reason == NULL && reason_len > 0) || (code == 0 && reason_len > 0))
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

/* ------------------------------------------------------------------ output API */

int rtw_ws_want_read(const rtw_ws *ws)
{
  return ws != NULL && ws->rstate <= R_PAYLOAD && !ws->error;
}

int rtw_ws_want_write(const rtw_ws *ws)
{
  return ws != NULL && (ws->seg_count > 0 || ws->mq != NULL);
}

int rtw_ws_send_pending(rtw_ws *ws, const void **data, size_t *len)
{
  seg *s;
  int rv;

  if (ws == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *data = NULL;
  *len = 0;
  rv = refill(ws);
  if (rv != 0)
    return rv;
  if (ws->seg_count == 0)
    return 0;
  s = &ws->segs[ws->seg_head];
  *data = s->ptr ? s->ptr : (const uint8_t *)ws->obuf.data + s->off;
  *len = s->len;
  return 0;
}

int rtw_ws_send_pending_iov(rtw_ws *ws, rtw_iovec *iov, size_t max, size_t *count)
{
  size_t i;
  int rv;

  if (ws == NULL || count == NULL || (iov == NULL && max > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  *count = 0;
  rv = refill(ws);
  if (rv != 0)
    return rv;
  for (i = 0; i < ws->seg_count && i < max; i++) {
    const seg *s = &ws->segs[ws->seg_head + i];
    iov[i].base = s->ptr ? s->ptr : (const uint8_t *)ws->obuf.data + s->off;
    iov[i].len = s->len;
  }
  *count = i;
  return 0;
}

int rtw_ws_send_consumed(rtw_ws *ws, size_t n)
{
  if (ws == NULL || n > ws->seg_bytes)
    return RTW_ERR_INVALID_ARGUMENT;
  while (n > 0) {
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
      release_seg(ws, s);
      ws->seg_head++;
      ws->seg_count--;
    }
  }
  if (ws->seg_count == 0) {
    ws->seg_head = 0;
    if (ws->mq == NULL) {
      /* all written: an idle session keeps no output memory */
      rtw__buf_free(&ws->obuf, &ws->mem);
      rtw__mem_free(&ws->mem, ws->segs);
      ws->segs = NULL;
      ws->seg_cap = 0;
      ws->ohead = 0;
      if (ws->close_sent)
        ws->close_written = 1;
    }
  }
  return 0;
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

  if (f->rsv & ~ws->rsv_allowed) /* 5.2: non-zero RSV without a negotiated extension */
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

static int deliver_piece(rtw_ws *ws, const uint8_t *d, size_t n)
{
  if (n == 0)
    return 0;
  if (ws->msg_op == RTW_WS_OP_TEXT && !(n <= 16 && rtw__utf8_at_boundary(&ws->utf8) &&
                                       short_ascii(d, n)) &&
      rtw__utf8_validate(&ws->utf8, d, n) != n)
    return RTW_ERR_INVALID_UTF8; /* 8.1: fail fast at the first invalid byte */
  ws->msg_len += n;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES)
    return rtw__buf_append(&ws->msg, &ws->mem, d, n);
  if (ws->cb.on_message_data == NULL)
    return 0;
  return check_cb(ws, ws->cb.on_message_data(ws, d, n, ws->user_data));
}

/* Payload bytes of a data frame: unmasked into a stack buffer (never into the input), or
 * passed through as they are when the frame is not masked (client role: zero copy). */
static int data_payload(rtw_ws *ws, const uint8_t *in, size_t n)
{
  uint8_t buf[UNMASK_CHUNK];

  if (!ws->f.masked)
    return deliver_piece(ws, in, n);
  /* n <= UNMASK_CHUNK (rtw_ws_recv() cuts masked payload so a pause lands between pieces) */
  rtw__ws_mask(buf, in, n, ws->key, ws->frame_off);
  ws->frame_off += n;
  return deliver_piece(ws, buf, n);
}

static int message_begin(rtw_ws *ws, unsigned op)
{
  ws->msg_op = (uint8_t)op;
  ws->msg_len = 0;
  rtw__utf8_init(&ws->utf8);
  ws->msg.len = 0;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES || ws->cb.on_message_begin == NULL)
    return 0;
  return check_cb(ws, ws->cb.on_message_begin(ws, (int)op, ws->user_data));
}

static int message_end(rtw_ws *ws)
{
  unsigned op = ws->msg_op;

  if (op == RTW_WS_OP_TEXT && !rtw__utf8_at_boundary(&ws->utf8))
    return RTW_ERR_INVALID_UTF8; /* the message ends inside a sequence */
  ws->msg_op = 0;
  if (ws->flags & RTW_WS_FLAG_WHOLE_MESSAGES) {
    int rv = 0;
    if (ws->cb.on_message != NULL)
      rv = ws->cb.on_message(ws, (int)op, ws->msg.data ? ws->msg.data : "", ws->msg.len,
                             ws->user_data);
    if (ws->msg.cap > MSG_KEEP)
      rtw__buf_free(&ws->msg, &ws->mem); /* do not hold a large message's memory idle */
    return check_cb(ws, rv);
  }
  if (ws->cb.on_message_end == NULL)
    return 0;
  return check_cb(ws, ws->cb.on_message_end(ws, ws->user_data));
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
  if (ws->cb.on_close != NULL)
    rv = check_cb(ws, ws->cb.on_close(ws, (int)code, reason, rlen, ws->user_data));
  if (rv == 0 && !ws->close_sent && !ws->error) /* 5.5.1: respond with a close frame */
    rv = send_close(ws, code == RTW_WS_CLOSE_NO_STATUS ? 0 : (int)code, NULL, 0, 0);
  return rv;
}

static int control_done(rtw_ws *ws)
{
  const uint8_t *d = ws->ctrl;
  size_t n = ws->ctrl_len;

  switch (ws->f.opcode) {
  case RTW_WS_OP_PING: /* 5.5.2: answer with a pong carrying the same payload */
    if (!(ws->flags & RTW_WS_FLAG_NO_AUTO_PONG) && !ws->close_sent) {
      int rv = queue_control(ws, RTW_WS_OP_PONG, d, n);
      if (rv != 0)
        return rv; /* RTW_ERR_NOMEM, or the RNG callback failed (client role) */
    }
    return ws->cb.on_ping ? check_cb(ws, ws->cb.on_ping(ws, d, n, ws->user_data)) : 0;
  case RTW_WS_OP_PONG: /* 5.5.3: a pong may be unsolicited; it ends our wait either way */
    ws->ping_out = 0;
    return ws->cb.on_pong ? check_cb(ws, ws->cb.on_pong(ws, d, n, ws->user_data)) : 0;
  default:
    return peer_close(ws);
  }
}

static int frame_done(rtw_ws *ws)
{
  ws->rstate = R_HEADER;
  ws->hdr_len = 0;
  if (is_control(ws->f.opcode))
    return control_done(ws);
  return ws->f.fin ? message_end(ws) : 0;
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

/* Header bytes: parsed in place when whole in the input, else gathered in hdr. Returns the
 * bytes used and sets *done once the header is complete, or returns a negative error. */
static long take_header(rtw_ws *ws, const uint8_t *p, size_t n, int *done)
{
  size_t hlen = 0, add;
  int rv;

  *done = 0;
  if (ws->hdr_len == 0 && (hlen = rtw__ws_parse_short(p, n, &ws->f)) != 0) {
    *done = 1; /* the common short header, parsed inline */
    return (long)hlen;
  }
  if (ws->hdr_len == 0) {
    rv = rtw_ws_frame_parse(p, n, &ws->f, &hlen);
    if (rv != 0)
      return rv;
    if (hlen != 0) {
      *done = 1;
      return (long)hlen;
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
    return (long)add;
  }
  add = hlen - ws->hdr_len; /* the bytes of this input that completed the header */
  ws->hdr_len = 0;
  *done = 1;
  return (long)add;
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

int rtw_ws_recv(rtw_ws *ws, const void *in, size_t len, size_t *nread)
{
  const uint8_t *p = in, *end;
  int rv = 0;

  if (nread != NULL)
    *nread = 0;
  if (ws == NULL || nread == NULL || (in == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->error)
    return ws->error;
  if (len == 0)
    return 0;
  if (ws->rstate == R_CLOSED) { /* 5.5.1: nothing after the close frame is data */
    *nread = len;
    return 0;
  }
  end = p + len;
  ws->paused = 0;
  if (len > 0)
    ws->rx_activity = 1;
  while (p < end && rv == 0 && !ws->paused && ws->rstate != R_CLOSED) {
    if (ws->rstate == R_HEADER) {
      int done;
      long used = take_header(ws, p, (size_t)(end - p), &done);
      if (used < 0) {
        rv = (int)used;
        break;
      }
      p += used;
      if (done)
        rv = header_done(ws);
    } else {
      size_t n = (size_t)(end - p);
      if ((uint64_t)n > ws->remaining)
        n = (size_t)ws->remaining;
      if (n > UNMASK_CHUNK && ws->f.masked)
        n = UNMASK_CHUNK;
      rv = take_payload(ws, p, n);
      p += n;
      ws->remaining -= n;
      if (rv == 0 && ws->remaining == 0)
        rv = frame_done(ws);
    }
  }
  if (ws->rstate == R_CLOSED && !ws->paused)
    p = end; /* 5.5.1: bytes after the close frame are not looked at */
  *nread = (size_t)(p - (const uint8_t *)in);
  if (rv != 0)
    return fail(ws, rv);
  return ws->paused ? RTW_ERR_PAUSE : 0;
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

int rtw_ws_tick(rtw_ws *ws, uint64_t now)
{
  static const uint8_t ping_payload[] = "rtweb-keepalive";

  if (ws == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (ws->error)
    return 0; /* reported already; nothing runs after a fatal error */
  if (!ws->ticked || ws->rx_activity)
    ws->last_rx = now;
  ws->ticked = 1;
  ws->rx_activity = 0;
  ws->now = now;
  if (ws->close_sent && ws->rstate != R_CLOSED) { /* 7.1.1: wait for the peer's close */
    if (ws->close_written && !ws->close_armed) {
      ws->close_armed = 1;
      ws->close_deadline = now + ws->close_timeout_ms;
    }
    if (ws->close_armed && now >= ws->close_deadline)
      return time_out(ws, RTW_ERR_WS_CLOSE_TIMEOUT);
    return 0;
  }
  if (ws->keepalive_ms == 0 || ws->close_sent || ws->rstate > R_PAYLOAD)
    return 0;
  if (ws->ping_out) {
    if (now >= ws->pong_deadline)
      return time_out(ws, RTW_ERR_WS_PONG_TIMEOUT);
  } else if (now - ws->last_rx >= ws->keepalive_ms) {
    int rv = queue_control(ws, RTW_WS_OP_PING, ping_payload, sizeof ping_payload - 1);
    if (rv != 0) /* RTW_ERR_NOMEM, or the RNG callback failed (client role) */
      return time_out(ws, rv);
    ws->ping_out = 1;
    ws->pong_deadline = now + ws->pong_timeout_ms;
  }
  return 0;
}

uint64_t rtw_ws_next_deadline(const rtw_ws *ws)
{
  if (ws == NULL || ws->error)
    return UINT64_MAX;
  if (ws->close_sent && ws->rstate != R_CLOSED) {
    if (ws->close_armed)
      return ws->close_deadline;
    return ws->close_written ? ws->now : UINT64_MAX; /* due now: the next tick arms it */
  }
  if (ws->keepalive_ms == 0 || ws->close_sent || ws->rstate > R_PAYLOAD)
    return UINT64_MAX;
  if (!ws->ticked)
    return UINT64_MAX; /* timers arm at the first tick */
  return ws->ping_out ? ws->pong_deadline : ws->last_rx + ws->keepalive_ms;
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

static int apply_settings(rtw_ws *ws, const rtw_ws_settings *s)
{
  if (s != NULL) {
    if (s->version == 0 || s->version > RTW_WS_SETTINGS_VERSION)
      return RTW_ERR_INVALID_ARGUMENT;
    if (s->flags & ~(RTW_WS_FLAG_WHOLE_MESSAGES | RTW_WS_FLAG_NO_AUTO_PONG) ||
        s->rsv_allowed & ~(RTW_WS_RSV1 | RTW_WS_RSV2 | RTW_WS_RSV3))
      return RTW_ERR_INVALID_ARGUMENT;
    ws->flags = s->flags;
    ws->max_frame = s->max_frame_size;
    ws->max_msg = s->max_message_size;
    ws->frag_size = s->fragment_size;
    ws->max_out = s->max_outbound;
    ws->keepalive_ms = s->keepalive_ms;
    ws->pong_timeout_ms = s->pong_timeout_ms;
    ws->close_timeout_ms = s->close_timeout_ms;
    ws->rsv_allowed = s->rsv_allowed;
  }
  if (ws->max_frame == 0)
    ws->max_frame = RTW_WS_DEFAULT_MAX_FRAME_SIZE;
  if (ws->max_msg == 0)
    ws->max_msg = RTW_WS_DEFAULT_MAX_MESSAGE_SIZE;
  if (ws->frag_size == 0)
    ws->frag_size = RTW_WS_DEFAULT_FRAGMENT_SIZE;
  if (ws->max_out == 0)
    ws->max_out = RTW_WS_DEFAULT_MAX_OUTBOUND;
  if (ws->pong_timeout_ms == 0)
    ws->pong_timeout_ms = RTW_WS_DEFAULT_PONG_TIMEOUT_MS;
  if (ws->close_timeout_ms == 0)
    ws->close_timeout_ms = RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS;
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

void rtw_ws_free(rtw_ws *ws)
{
  if (ws == NULL)
    return;
  drop_output(ws);
  rtw__buf_free(&ws->msg, &ws->mem);
  rtw__buf_free(&ws->obuf, &ws->mem);
  rtw__mem_free(&ws->mem, ws->segs);
  rtw__mem_free(&ws->mem, ws);
}
