/* SPDX-License-Identifier: MIT */
/* WebSocket benchmark driver: times rtweb's session against wslay (frame and event APIs) and
 * memcpy on masked client frames, and the send path, and prints one table. */

/*
 * Run it through bench/run_ws.sh; docs/performance.md ("WebSocket") describes the method.
 * Alone:
 *
 *   bench_ws [-r REPS] [-t SECONDS] [-m MIB] [-c CHUNK]
 *
 *   -r REPS     timed repetitions per implementation and stream; the median is reported
 *               (default 9, at least 7)
 *   -t SECONDS  minimum duration of one repetition; a repetition repeats whole passes over
 *               the stream until it lasts that long (default 0.3)
 *   -m MIB      size of each stream in MiB (default 4: cache-resident, replayed every pass)
 *   -c CHUNK    bytes handed to rtw_ws_recv() per call, and to memcpy (default 16384)
 *
 * Receive: for each message size (16 B, 125 B, 1 KiB, 64 KiB, 1 MiB) and type (binary, UTF-8
 * text) one in-memory stream of masked client frames, one frame per message, each with its
 * own masking key. The same bytes go to
 *   rtweb streamed      rtw_ws server role, on_message_begin/data/end counting
 *   rtweb whole         the same with RTW_WS_FLAG_WHOLE_MESSAGES (on_message)
 *   rtweb after copy    rtweb streamed, each chunk first copied into a host buffer as
 *                       read(2) would (wslay's recv callback does that copy)
 *   wslay frame         wslay_frame_recv(); its recv callback copies from the stream
 *   wslay event         wslay_event_recv(); on_msg_recv_callback counting
 *   memcpy              each chunk copied into a host buffer: the ceiling
 * Send: 16 B binary messages, unmasked (server role), queued in batches and drained into a
 * memory buffer: rtw_ws_queue_binary + rtw_ws_send_pending/consumed vs wslay_event_queue_msg
 * + wslay_event_send.
 *
 * Every pass counts messages and payload bytes; the warm-up pass also hashes every payload
 * byte (received) or output byte (sent) and compares with what the generator made. Exit
 * status 1 when an implementation failed or disagreed.
 */

#include <rtweb/rtweb.h>
#include <wslay/wslay.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#define MAX_CHUNK (1u << 20)
#define SEND_SIZE 16u     /* payload of each sent message */
#define SEND_BATCH 256u   /* messages queued before each drain */
#define OUT_BUF 65536u    /* where drained bytes are written, reused */

static const size_t sizes[] = {16, 125, 1024, 65536, 1048576};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NSTREAMS (2 * NSIZES)

/* ---------------------------------------------------------------- basics */

static void die(const char *what)
{
  fprintf(stderr, "bench_ws: %s\n", what);
  exit(1);
}

static void *xmalloc(size_t n)
{
  void *p = malloc(n);

  if (p == NULL)
    die("out of memory");
  return p;
}

static uint32_t lcg_next(uint32_t *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state;
}

/* FNV-1a, 64-bit: a running hash of every payload byte, split-independent. */
static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
  const unsigned char *p = data;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

#define FNV_INIT 14695981039346656037ull

/* ---------------------------------------------------------------- streams */

typedef struct counts {
  unsigned long long messages;
  unsigned long long bytes; /* payload bytes (receive) or output bytes (send) */
  uint64_t hash;            /* FNV-1a of those bytes; only in a verifying pass */
} counts;

typedef struct stream {
  const char *type; /* "binary", "text" or "send" */
  int opcode;
  size_t msg_size;
  unsigned char *buf; /* the wire bytes (receive); one message's payload (-P send rows) */
  size_t len;         /* wire bytes per pass */
  counts expect;      /* what the generator put in */
  size_t non_ascii;   /* text: payload bytes >= 0x80 */
  int role;           /* -P send rows: the sending session's RTW_WS_ROLE_* */
} stream;

/*
 * Text for the text streams: mostly ASCII with 2-byte (é ü ñ ç ï ß) and 3-byte (€ — “ ” ✓)
 * sequences. Messages are cut from it at character boundaries and padded with ASCII to
 * their exact size, so every message is valid UTF-8 on its own.
 */
static const char text_source[] =
    "The caf\xc3\xa9 on the corner sells cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e for 4 \xe2\x82\xac; "
    "a na\xc3\xafve visitor asked for the men\xc3\xbc \xe2\x80\x94 \xe2\x80\x9c" "do you have "
    "jalape\xc3\xb1os?\xe2\x80\x9d The fa\xc3\xa7" "ade was painted in 2019 and the Stra\xc3\x9f" "e "
    "outside is quiet at night. Order #4471 shipped \xe2\x9c\x93 status=ok, retries=0, "
    "latency 12 ms, region eu-west, user alice. ";

/* Length of the UTF-8 sequence that starts with byte c (the source is valid UTF-8). */
static size_t seq_len(unsigned char c)
{
  return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Fill out[0..n) with valid UTF-8 cut from text_source starting at *pos (a character
 * boundary), padding with spaces when the next character does not fit. */
static size_t fill_text(unsigned char *out, size_t n, size_t *pos)
{
  size_t i = 0, non_ascii = 0;

  while (i < n) {
    unsigned char c = (unsigned char)text_source[*pos];
    size_t k = seq_len(c);

    if (i + k > n) {
      out[i++] = ' ';
      continue;
    }
    memcpy(out + i, text_source + *pos, k);
    if (k > 1)
      non_ascii += k;
    i += k;
    *pos += k;
    if (*pos >= sizeof text_source - 1)
      *pos = 0;
  }
  return non_ascii;
}

static size_t header_len(size_t payload)
{
  return payload <= 125 ? 2 : payload <= 0xffff ? 4 : 10;
}

/* Append one masked frame (FIN set) carrying payload[0..n) to s->buf. */
static void put_frame(stream *s, const unsigned char *payload, size_t n, uint32_t key32)
{
  unsigned char *p = s->buf + s->len;
  unsigned char key[4];
  size_t i, h = 0;

  key[0] = (unsigned char)(key32 >> 24);
  key[1] = (unsigned char)(key32 >> 16);
  key[2] = (unsigned char)(key32 >> 8);
  key[3] = (unsigned char)key32;
  p[h++] = (unsigned char)(0x80 | s->opcode);
  if (n <= 125) {
    p[h++] = (unsigned char)(0x80 | n);
  } else if (n <= 0xffff) {
    p[h++] = 0x80 | 126;
    p[h++] = (unsigned char)(n >> 8);
    p[h++] = (unsigned char)n;
  } else {
    p[h++] = 0x80 | 127;
    for (i = 0; i < 8; i++)
      p[h++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
  }
  memcpy(p + h, key, 4);
  h += 4;
  /* RFC 6455 5.3: byte i XOR key[i mod 4] */
  for (i = 0; i < n; i++)
    p[h + i] = (unsigned char)(payload[i] ^ key[i & 3]);
  s->len += h + n;
}

/* A stream of about target bytes (at least 2 messages) of masked frames of msg_size bytes. */
static void make_stream(stream *s, int opcode, size_t msg_size, size_t target)
{
  size_t frame = header_len(msg_size) + 4 + msg_size;
  size_t count = target / frame < 2 ? 2 : target / frame;
  unsigned char *payload = xmalloc(msg_size);
  uint32_t lcg = (uint32_t)(msg_size * 2654435761u) ^ (uint32_t)opcode;
  size_t m, i, pos = 0;

  memset(s, 0, sizeof *s);
  s->type = opcode == RTW_WS_OP_TEXT ? "text" : "binary";
  s->opcode = opcode;
  s->msg_size = msg_size;
  s->buf = xmalloc(count * frame);
  s->expect.hash = FNV_INIT;
  for (m = 0; m < count; m++) {
    if (opcode == RTW_WS_OP_TEXT) {
      s->non_ascii += fill_text(payload, msg_size, &pos);
    } else {
      for (i = 0; i < msg_size; i++)
        payload[i] = (unsigned char)(lcg_next(&lcg) >> 24);
    }
    put_frame(s, payload, msg_size, lcg_next(&lcg));
    s->expect.messages++;
    s->expect.bytes += msg_size;
    s->expect.hash = fnv(s->expect.hash, payload, msg_size);
  }
  free(payload);
}

/* The send workload: messages of SEND_SIZE bytes, about target bytes on the wire. */
static const unsigned char send_payload[SEND_SIZE] = "0123456789abcdef";

static void make_send(stream *s, size_t target)
{
  static const unsigned char head[2] = {0x82, SEND_SIZE}; /* FIN, binary, unmasked */
  size_t frame = sizeof head + SEND_SIZE;
  unsigned long long m;

  memset(s, 0, sizeof *s);
  s->type = "send";
  s->opcode = RTW_WS_OP_BINARY;
  s->msg_size = SEND_SIZE;
  s->expect.messages = (target / frame / SEND_BATCH) * SEND_BATCH;
  s->expect.bytes = s->expect.messages * frame;
  s->len = (size_t)s->expect.bytes;
  s->expect.hash = FNV_INIT;
  for (m = 0; m < s->expect.messages; m++) {
    s->expect.hash = fnv(s->expect.hash, head, sizeof head);
    s->expect.hash = fnv(s->expect.hash, send_payload, SEND_SIZE);
  }
}

/* ---------------------------------------------------------------- implementations */

typedef struct options {
  unsigned reps;
  double min_time;
  size_t mib;
  size_t chunk;
  int perf;             /* -P: the issue-15 rows as records (see perf_main) */
  int smoke;            /* -S: -P with tiny sizes, one repetition */
  const char *dir;      /* -d: write the 1 MiB binary stream for bench/node/ws_recv.mjs */
  const char *cg;       /* -C ROW:IMPL: one untimed pass, for callgrind */
  unsigned long cg_msgs; /* -n: messages in that pass */
} options;

/* One pass over a stream; fills c; returns 0, or nonzero with *err set. */
typedef int (*pass_fn)(const stream *s, const options *o, counts *c, int verify,
                       const char **err);

typedef struct tally {
  counts c;
  int verify;
} tally;

/* Host buffer: where read(2) would put the bytes (rtweb after copy, memcpy). */
static unsigned char host_buf[MAX_CHUNK];
static volatile unsigned char sink;

/* ---- rtweb */

static int rtw_begin(rtw_ws *ws, int opcode, void *user_data)
{
  (void)ws;
  (void)opcode;
  (void)user_data;
  return 0;
}

static int rtw_data(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  tally *t = user_data;

  (void)ws;
  t->c.bytes += len;
  if (t->verify)
    t->c.hash = fnv(t->c.hash, data, len);
  return 0;
}

static int rtw_end(rtw_ws *ws, void *user_data)
{
  (void)ws;
  ((tally *)user_data)->c.messages++;
  return 0;
}

static int rtw_whole(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  tally *t = user_data;

  (void)ws;
  (void)opcode;
  t->c.messages++;
  t->c.bytes += len;
  if (t->verify)
    t->c.hash = fnv(t->c.hash, data, len);
  return 0;
}

/* A server session counting into t: whole messages (on_message) when flags say so, else
 * streamed. keep_buffer 0 is the default. */
static int rtw_recv_new(rtw_ws **ws, uint32_t flags, size_t keep_buffer, const rtw_mem *mem,
                        tally *t)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings set = {RTW_WS_SETTINGS_VERSION};

  set.flags = flags;
  set.keep_buffer = keep_buffer;
  if (flags & RTW_WS_FLAG_WHOLE_MESSAGES) {
    cb.on_message = rtw_whole;
  } else {
    cb.on_message_begin = rtw_begin;
    cb.on_message_data = rtw_data;
    cb.on_message_end = rtw_end;
  }
  return rtw_ws_new(ws, RTW_WS_ROLE_SERVER, &cb, &set, mem, t);
}

#define FEED_DIRECT 0  /* rtw_ws_recv() on the stream itself */
#define FEED_COPY 1    /* each chunk copied into host_buf (as read() would), then rtw_ws_recv() */
#define FEED_INPLACE 2 /* copied into host_buf, then rtw_ws_recv_inplace() there */

/* Feed all of s to ws in chunks, as `copy` (FEED_*) says. */
static int rtw_recv_feed(rtw_ws *ws, const stream *s, size_t chunk, int copy)
{
  size_t off;
  int rc = 0;

  for (off = 0; off < s->len && rc == 0; off += chunk) {
    size_t n = s->len - off < chunk ? s->len - off : chunk;
    const unsigned char *in = s->buf + off;
    size_t nread = 0;

    if (copy != FEED_DIRECT) {
      memcpy(host_buf, in, n);
      in = host_buf;
    }
    if (copy == FEED_INPLACE)
      rc = rtw_ws_recv_inplace(ws, host_buf, n, &nread);
    else
      rc = rtw_ws_recv(ws, in, n, &nread);
    if (rc == 0 && nread != n)
      rc = RTW_ERR_INVALID_STATE; /* nothing pauses, so all input must be consumed */
  }
  return rc;
}

/* Feed s to a server session in chunks, as copy (FEED_*) says. */
static int rtw_pass(const stream *s, const options *o, counts *c, int verify, uint32_t flags,
                    int copy, const char **err)
{
  tally t = {{0, 0, FNV_INIT}, 0};
  rtw_ws *ws = NULL;
  int rc;

  t.verify = verify;
  if ((rc = rtw_recv_new(&ws, flags, 0, NULL, &t)) != 0) {
    *err = rtw_err_name(rc);
    return rc;
  }
  rc = rtw_recv_feed(ws, s, o->chunk, copy);
  rtw_ws_free(ws);
  *c = t.c;
  if (rc != 0)
    *err = rtw_err_name(rc);
  return rc;
}

static int pass_rtw_streamed(const stream *s, const options *o, counts *c, int verify,
                             const char **err)
{
  return rtw_pass(s, o, c, verify, 0, 0, err);
}

static int pass_rtw_whole(const stream *s, const options *o, counts *c, int verify,
                          const char **err)
{
  return rtw_pass(s, o, c, verify, RTW_WS_FLAG_WHOLE_MESSAGES, 0, err);
}

static int pass_rtw_copy(const stream *s, const options *o, counts *c, int verify,
                         const char **err)
{
  return rtw_pass(s, o, c, verify, 0, FEED_COPY, err);
}

static int pass_rtw_inplace(const stream *s, const options *o, counts *c, int verify,
                            const char **err)
{
  return rtw_pass(s, o, c, verify, 0, FEED_INPLACE, err);
}

/* ---- wslay: the in-memory "socket" its recv callbacks read */

typedef struct reader {
  const unsigned char *p;
  size_t left;
} reader;

static size_t read_stream(reader *r, uint8_t *buf, size_t len)
{
  size_t n = len < r->left ? len : r->left;

  memcpy(buf, r->p, n);
  r->p += n;
  r->left -= n;
  return n;
}

/* ---- wslay frame API */

static ssize_t wf_recv(uint8_t *buf, size_t len, int flags, void *user_data)
{
  (void)flags;
  return (ssize_t)read_stream(user_data, buf, len); /* 0 at the end: WSLAY_ERR_WANT_READ */
}

static ssize_t wf_send(const uint8_t *data, size_t len, int flags, void *user_data)
{
  (void)data;
  (void)flags;
  (void)user_data;
  return (ssize_t)len;
}

static int wf_genmask(uint8_t *buf, size_t len, void *user_data)
{
  (void)user_data;
  memset(buf, 0, len);
  return 0;
}

static int pass_wslay_frame(const stream *s, const options *o, counts *c, int verify,
                            const char **err)
{
  struct wslay_frame_callbacks cb = {wf_send, wf_recv, wf_genmask};
  wslay_frame_context_ptr ctx;
  reader r = {s->buf, s->len};
  uint64_t frame_off = 0;

  (void)o;
  c->hash = FNV_INIT;
  if (wslay_frame_context_init(&ctx, &cb, &r) != 0) {
    *err = "wslay_frame_context_init failed";
    return -1;
  }
  for (;;) {
    struct wslay_frame_iocb iocb;
    ssize_t n;

    memset(&iocb, 0, sizeof iocb);
    n = wslay_frame_recv(ctx, &iocb);
    if (n == WSLAY_ERR_WANT_READ)
      break; /* the stream is exhausted */
    if (n < 0) {
      wslay_frame_context_free(ctx);
      *err = "wslay_frame_recv failed";
      return -1;
    }
    c->bytes += iocb.data_length;
    if (verify)
      c->hash = fnv(c->hash, iocb.data, iocb.data_length);
    frame_off += iocb.data_length;
    if (frame_off == iocb.payload_length) { /* the frame is complete */
      frame_off = 0;
      if (iocb.fin && !wslay_is_ctrl_frame(iocb.opcode))
        c->messages++;
    }
  }
  wslay_frame_context_free(ctx);
  return 0;
}

/* ---- wslay event API */

typedef struct we_state {
  reader r;
  tally t;
} we_state;

static ssize_t we_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
  we_state *st = user_data;
  size_t n = read_stream(&st->r, buf, len);

  (void)flags;
  if (n == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  return (ssize_t)n;
}

static ssize_t we_discard(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                          int flags, void *user_data)
{
  (void)ctx;
  (void)data;
  (void)flags;
  (void)user_data;
  return (ssize_t)len;
}

static void we_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user_data)
{
  we_state *st = user_data;

  (void)ctx;
  if (wslay_is_ctrl_frame(arg->opcode))
    return;
  st->t.c.messages++;
  st->t.c.bytes += arg->msg_length;
  if (st->t.verify)
    st->t.c.hash = fnv(st->t.c.hash, arg->msg, arg->msg_length);
}

static int pass_wslay_event(const stream *s, const options *o, counts *c, int verify,
                            const char **err)
{
  struct wslay_event_callbacks cb;
  wslay_event_context_ptr ctx;
  we_state st;
  int rc;

  (void)o;
  memset(&cb, 0, sizeof cb);
  cb.recv_callback = we_recv;
  cb.send_callback = we_discard;
  cb.on_msg_recv_callback = we_msg;
  memset(&st, 0, sizeof st);
  st.r.p = s->buf;
  st.r.left = s->len;
  st.t.c.hash = FNV_INIT;
  st.t.verify = verify;
  if (wslay_event_context_server_init(&ctx, &cb, &st) != 0) {
    *err = "wslay_event_context_server_init failed";
    return -1;
  }
  rc = wslay_event_recv(ctx);
  if (rc == 0 && wslay_event_get_close_sent(ctx) + wslay_event_want_write(ctx) != 0)
    rc = -1; /* it queued a close: it found a protocol error */
  wslay_event_context_free(ctx);
  *c = st.t.c;
  if (rc != 0)
    *err = "wslay_event_recv failed or closed the connection";
  return rc;
}

/* ---- memcpy: the ceiling */

static int pass_memcpy(const stream *s, const options *o, counts *c, int verify,
                       const char **err)
{
  size_t off;

  (void)verify;
  (void)err;
  for (off = 0; off < s->len; off += o->chunk) {
    size_t n = s->len - off < o->chunk ? s->len - off : o->chunk;

    memcpy(host_buf, s->buf + off, n);
    sink = host_buf[n - 1];
  }
  /* No parsing: report what the stream holds so the counts check passes. */
  *c = s->expect;
  return 0;
}

/* ---- send */

typedef struct out_buf {
  unsigned char *p;
  size_t used;
  unsigned long long total;
  uint64_t hash;
  int verify;
} out_buf;

/* "Write" data: copy it into the output buffer, wrapping around at its end. */
static void out_write(out_buf *ob, const void *data, size_t len)
{
  const unsigned char *p = data;

  ob->total += len;
  if (ob->verify)
    ob->hash = fnv(ob->hash, data, len);
  while (len > 0) {
    size_t n = OUT_BUF - ob->used < len ? OUT_BUF - ob->used : len;

    memcpy(ob->p + ob->used, p, n);
    ob->used = (ob->used + n) % OUT_BUF;
    p += n;
    len -= n;
  }
}

static unsigned char out_mem[OUT_BUF];

static int pass_send_rtw(const stream *s, const options *o, counts *c, int verify,
                         const char **err)
{
  out_buf ob = {out_mem, 0, 0, FNV_INIT, 0};
  rtw_ws *ws = NULL;
  unsigned long long m = 0;
  int rc;

  (void)o;
  ob.verify = verify;
  if ((rc = rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, NULL, NULL, NULL)) != 0) {
    *err = rtw_err_name(rc);
    return rc;
  }
  while (m < s->expect.messages && rc == 0) {
    const void *data;
    size_t len, i;

    for (i = 0; i < SEND_BATCH && rc == 0; i++, m++)
      rc = rtw_ws_queue_binary(ws, send_payload, SEND_SIZE);
    while (rc == 0 && (rc = rtw_ws_send_pending(ws, &data, &len)) == 0 && len > 0) {
      out_write(&ob, data, len);
      rc = rtw_ws_send_consumed(ws, len);
    }
  }
  rtw_ws_free(ws);
  c->messages = m;
  c->bytes = ob.total;
  c->hash = ob.hash;
  if (rc != 0)
    *err = rtw_err_name(rc);
  return rc;
}

static ssize_t ws_norecv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                         void *user_data)
{
  (void)buf;
  (void)len;
  (void)flags;
  (void)user_data;
  wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  return -1;
}

static ssize_t ws_out(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                      void *user_data)
{
  (void)ctx;
  (void)flags;
  out_write(user_data, data, len);
  return (ssize_t)len;
}

static int pass_send_wslay(const stream *s, const options *o, counts *c, int verify,
                           const char **err)
{
  struct wslay_event_callbacks cb;
  struct wslay_event_msg msg = {WSLAY_BINARY_FRAME, send_payload, SEND_SIZE};
  out_buf ob = {out_mem, 0, 0, FNV_INIT, 0};
  wslay_event_context_ptr ctx;
  unsigned long long m = 0;
  int rc = 0;

  (void)o;
  ob.verify = verify;
  memset(&cb, 0, sizeof cb);
  cb.recv_callback = ws_norecv;
  cb.send_callback = ws_out;
  if (wslay_event_context_server_init(&ctx, &cb, &ob) != 0) {
    *err = "wslay_event_context_server_init failed";
    return -1;
  }
  while (m < s->expect.messages && rc == 0) {
    size_t i;

    for (i = 0; i < SEND_BATCH && rc == 0; i++, m++)
      rc = wslay_event_queue_msg(ctx, &msg);
    if (rc == 0)
      rc = wslay_event_send(ctx);
  }
  wslay_event_context_free(ctx);
  c->messages = m;
  c->bytes = ob.total;
  c->hash = ob.hash;
  if (rc != 0)
    *err = "wslay_event_queue_msg or wslay_event_send failed";
  return rc;
}

/* ---------------------------------------------------------------- timing */

typedef struct impl {
  const char *name;
  pass_fn pass;
} impl;

enum { I_RTW, I_RTW_WHOLE, I_RTW_COPY, I_WF, I_WE, I_MEMCPY, NIMPLS };

static const impl recv_impls[NIMPLS] = {
  {"rtweb streamed", pass_rtw_streamed},
  {"rtweb whole messages", pass_rtw_whole},
  {"rtweb streamed, after copy", pass_rtw_copy},
  {"wslay frame API", pass_wslay_frame},
  {"wslay event API", pass_wslay_event},
  {"memcpy (ceiling)", pass_memcpy},
};

static const impl send_impls[2] = {
  {"rtweb queue_binary+send_pending", pass_send_rtw},
  {"wslay event queue_msg+send", pass_send_wslay},
};

typedef struct result {
  int ok;        /* 1 when measured and the counts matched */
  double median; /* seconds per pass */
  double min;
  double max;
  unsigned long passes; /* timed passes in all repetitions */
  const char *err;
} result;

static int same_counts(const counts *a, const counts *b, int with_hash)
{
  return a->messages == b->messages && a->bytes == b->bytes &&
         (!with_hash || a->hash == b->hash);
}

/* One timed repetition: whole passes of `pass` over s until min_time has gone by (the clock
 * is read after every pass); *secs = seconds per pass. Every pass must report the stream's
 * messages and bytes. Returns 0, or -1 with *err set. */
static int one_rep(const options *o, const stream *s, pass_fn pass, double *secs,
                   unsigned long *npasses, const char **err)
{
  unsigned long i = 0;
  double t0 = bench_now(), elapsed;

  do {
    counts c;

    memset(&c, 0, sizeof c);
    if (pass(s, o, &c, 0, err) != 0 || !same_counts(&c, &s->expect, 0)) {
      *err = "result changed between passes";
      return -1;
    }
    i++;
    elapsed = bench_now() - t0;
  } while (elapsed < o->min_time);
  *secs = elapsed / (double)i;
  *npasses += i;
  return 0;
}

/* One verifying warm-up pass, then reps repetitions, each of as many whole passes as fit in
 * min_time (the clock is read after every pass: the warm-up is slower, as it hashes, so it
 * cannot calibrate). Every pass must report the stream's messages and bytes. */
static result measure(const options *o, const stream *s, const impl *im)
{
  double t[MAX_REPS];
  result res = {0, 0, 0, 0, 0, ""};
  counts c;
  unsigned r;

  fprintf(stderr, "bench_ws: %-6s %7zu B  %-32s ...", s->type, s->msg_size, im->name);
  memset(&c, 0, sizeof c);
  if (im->pass(s, o, &c, 1, &res.err) != 0 || !same_counts(&c, &s->expect, 1)) {
    if (res.err[0] == '\0')
      res.err = "counts or content differ from the generator's";
    fprintf(stderr, " FAILED: %s\n", res.err);
    return res;
  }
  for (r = 0; r < o->reps; r++) {
    if (one_rep(o, s, im->pass, &t[r], &res.passes, &res.err) != 0) {
      fprintf(stderr, " FAILED on repetition %u\n", r);
      return res;
    }
  }
  res.median = bench_median(t, o->reps);
  res.min = t[0];
  res.max = t[o->reps - 1];
  res.ok = 1;
  fprintf(stderr, " %.3f GB/s (%lu passes)\n", (double)s->len / res.median / 1e9, res.passes);
  return res;
}

/* ---------------------------------------------------------------- report */

static void print_size(char *buf, size_t cap, size_t n)
{
  if (n >= 1048576 && n % 1048576 == 0)
    snprintf(buf, cap, "%zu MiB", n / 1048576);
  else if (n >= 1024 && n % 1024 == 0)
    snprintf(buf, cap, "%zu KiB", n / 1024);
  else
    snprintf(buf, cap, "%zu B", n);
}

/* "12.34 M", "567.8 k" */
static void print_rate(char *buf, size_t cap, double v)
{
  if (v >= 1e6)
    snprintf(buf, cap, "%.2f M", v / 1e6);
  else if (v >= 1e3)
    snprintf(buf, cap, "%.2f k", v / 1e3);
  else
    snprintf(buf, cap, "%.2f  ", v);
}

static void print_row(const stream *s, const char *name, const result *r)
{
  char rate[32];

  if (!r->ok) {
    printf("  %-34s FAILED: %s\n", name, r->err);
    return;
  }
  print_rate(rate, sizeof rate, (double)s->expect.messages / r->median);
  printf("  %-34s %10s %9.3f   %6.2f..%-6.2f%s\n", name, rate,
         (double)s->len / r->median / 1e9, (double)s->len / r->max / 1e9,
         (double)s->len / r->min / 1e9, r->max > 1.25 * r->min ? "  (noisy)" : "");
}

/* The speed target for rtweb streamed on a stream, as text; *met set when reached. */
static const char *target_of(const stream *s, const result *r, int *met)
{
  double msgs = r->ok ? (double)s->expect.messages / r->median : 0.0;
  double gbs = r->ok ? (double)s->len / r->median / 1e9 : 0.0;
  int text = s->opcode == RTW_WS_OP_TEXT;

  *met = -1;
  if (s->msg_size == 16) {
    *met = msgs >= (text ? 40e6 : 60e6);
    return text ? ">=40 M msg/s" : ">=60 M msg/s";
  }
  if (s->msg_size >= 65536) {
    *met = gbs >= (text ? 12.0 : 20.0);
    return text ? ">=12 GB/s" : ">=20 GB/s";
  }
  return "";
}

static double ratio(const result *a, const result *b)
{
  return a->ok && b->ok ? b->median / a->median : 0.0;
}

static void print_header(const options *o, const stream *st)
{
  struct utsname u;
  char cpu[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  size_t i, non_ascii = 0, text_bytes = 0;

  if (f != NULL) {
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
      char *colon = strchr(line, ':');
      if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
        snprintf(cpu, sizeof cpu, "%s", colon + 2);
        cpu[strcspn(cpu, "\n")] = '\0';
        break;
      }
    }
    fclose(f);
  }
  for (i = 0; i < NSTREAMS; i++) {
    if (st[i].opcode == RTW_WS_OP_TEXT) {
      non_ascii += st[i].non_ascii;
      text_bytes += (size_t)st[i].expect.bytes;
    }
  }
  printf("rtweb %s WebSocket benchmark\n", rtw_version_string());
  if (uname(&u) == 0)
    printf("  machine: %s, %s %s\n", cpu, u.sysname, u.release);
  printf("  C: %s, buildtype %s, optimization -O%s\n", BENCH_COMPILER, BENCH_BUILDTYPE,
         BENCH_OPTIMIZATION);
  printf("  wslay: headers say %s\n", WSLAY_VERSION);
  printf("  receive: masked client frames, one frame per message, a fresh masking key per "
         "frame;\n  streams of about %zu MiB replayed from memory; rtweb and memcpy get "
         "%zu-byte chunks,\n  wslay reads through its recv callback (it asks for up to 4096 "
         "bytes at a time)\n",
         o->mib, o->chunk);
  printf("  text: valid UTF-8, %.1f%% of payload bytes in 2- and 3-byte sequences\n",
         text_bytes ? 100.0 * (double)non_ascii / (double)text_bytes : 0.0);
  printf("  median of %u repetitions, each >= %g s; GB/s = 1e9 wire bytes/s (headers "
         "included)\n\n",
         o->reps, o->min_time);
}

static void print_stream_block(const stream *s, const result *res)
{
  char size[32];
  int met;
  const char *target = target_of(s, &res[I_RTW], &met);
  size_t i;

  print_size(size, sizeof size, s->msg_size);
  printf("%s %s: %.1f MiB, %llu messages\n", s->type, size, (double)s->len / 1048576.0,
         s->expect.messages);
  printf("  %-34s %10s %9s   %-14s\n", "implementation", "msg/s", "GB/s", "min..max GB/s");
  for (i = 0; i < NIMPLS; i++)
    print_row(s, recv_impls[i].name, &res[i]);
  printf("  rtweb/wslay-frame %.2fx   rtweb/wslay-event %.2fx   rtweb/memcpy %.2fx",
         ratio(&res[I_RTW], &res[I_WF]), ratio(&res[I_RTW], &res[I_WE]),
         ratio(&res[I_RTW], &res[I_MEMCPY]));
  if (target[0] != '\0')
    printf("   target %s: %s", target, met ? "met" : "MISSED");
  printf("\n\n");
}

static void print_summary(const stream *st, result (*res)[NIMPLS])
{
  size_t i;

  printf("Summary, receive (rtweb streamed; ratios of median throughput)\n");
  printf("%-7s %-8s %10s %8s %12s %12s %9s  %s\n", "type", "size", "msg/s", "GB/s",
         "/wslay-frame", "/wslay-event", "/memcpy", "target");
  for (i = 0; i < NSTREAMS; i++) {
    const stream *s = &st[i];
    const result *r = res[i];
    char size[32], rate[32], tgt[64] = "";
    int met;
    const char *target = target_of(s, &r[I_RTW], &met);

    print_size(size, sizeof size, s->msg_size);
    print_rate(rate, sizeof rate, r[I_RTW].ok ? (double)s->expect.messages / r[I_RTW].median : 0.0);
    if (target[0] != '\0')
      snprintf(tgt, sizeof tgt, "%s %s", target, met ? "met" : "MISSED");
    printf("%-7s %-8s %10s %8.3f %11.2fx %11.2fx %8.2fx  %s\n", s->type, size, rate,
           r[I_RTW].ok ? (double)s->len / r[I_RTW].median / 1e9 : 0.0,
           ratio(&r[I_RTW], &r[I_WF]), ratio(&r[I_RTW], &r[I_WE]),
           ratio(&r[I_RTW], &r[I_MEMCPY]), tgt);
  }
  printf("\n");
}

static void print_send(const stream *s, const result *res)
{
  double msgs = res[0].ok ? (double)s->expect.messages / res[0].median : 0.0;

  printf("send: %u B binary messages, unmasked (server role), %u queued per drain, "
         "%llu messages per pass\n",
         SEND_SIZE, SEND_BATCH, s->expect.messages);
  printf("  %-34s %10s %9s   %-14s\n", "implementation", "msg/s", "GB/s", "min..max GB/s");
  print_row(s, send_impls[0].name, &res[0]);
  print_row(s, send_impls[1].name, &res[1]);
  printf("  rtweb/wslay %.2fx   target >=80 M msg/s: %s\n\n", ratio(&res[0], &res[1]),
         msgs >= 80e6 ? "met" : "MISSED");
}

/* ================================================================ -P: the issue-15 table */

/*
 * bench/run_perf.sh runs `bench_ws -P` (and bench_sse, node, callgrind) and prints the
 * table of issue 15. Here: the WebSocket rows, as tab-separated records on stdout:
 *
 *   info    key value
 *   result  row impl messages wire_bytes reps median_s min_s max_s    (seconds per pass)
 *   error   row impl message
 *   alloc   row impl keep_buffer messages allocations               (after a warm-up pass)
 *   idle    role bytes allocations                                  (rtw_ws_new, no traffic)
 *
 * Rows (rtweb always through the public API, as an outside user would):
 *   r1 receive binary 1 MiB whole   rtweb on_message; wslay event API; memcpy
 *   r2 receive binary 16 B streamed rtweb on_message_begin/data/end; wslay frame API;
 *                                   extra: rtweb_inplace, each chunk copied into a host
 *                                   buffer (as read() leaves it), rtw_ws_recv_inplace() there
 *   r3 receive text 1 MiB whole     rtweb on_message (UTF-8 validated); memcpy; wslay event
 *   r4 receive text 16 B whole      rtweb on_message; wslay frame API on the same bytes
 *                                   (it checks no UTF-8)
 *   r5 send server binary 16 B      rtweb rtw_ws_queue_message(NOCOPY) + send_pending_iov;
 *                                   rtweb copy (queue_binary + send_pending); wslay_frame_send
 *   r6 send server text 1 MiB       rtweb NOCOPY + iov (validated); the same with
 *                                   RTW_WS_QUEUE_VALID_UTF8 (extra row); wslay_frame_send;
 *                                   extra: read_pass, the ceiling of any validating send
 *                                   (a read pass over the text, then the copy; not rtweb)
 *   r7 send client binary 1 MiB     rtweb client NOCOPY, drained by send_pending_iov +
 *                                   send_consumed without copying the output (as issue 15
 *                                   measures it: masking is its one copy); memcpy of the
 *                                   payload into the ring; wslay_frame_send with mask;
 *                                   extra: rtweb_ring, the output copied into the ring
 * Sent output goes to a sink that copies it into a 64 KiB ring, as write()/writev() copy it
 * into a socket buffer (every implementation pays that copy; the r7 memcpy ceiling is that
 * copy alone), except r7's rtweb (see above). The verifying warm-up pass also keeps every byte and decodes the frames
 * (unmasking them) to check opcode, message count, payload bytes and payload hash against
 * the generator.
 */

/* ---- counting allocator (rtw_mem): calls and live bytes */

typedef struct cmem {
  unsigned long long calls; /* malloc, calloc and realloc calls */
  size_t live;              /* bytes allocated and not freed */
} cmem;

#define CM_HEAD 16u /* size header in front of each block; keeps 16-byte alignment */

static void *cm_malloc(size_t n, void *user_data)
{
  cmem *c = user_data;
  unsigned char *p = n > SIZE_MAX - CM_HEAD ? NULL : malloc(n + CM_HEAD);

  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof n);
  c->calls++;
  c->live += n;
  return p + CM_HEAD;
}

static void *cm_calloc(size_t k, size_t n, void *user_data)
{
  void *p;

  if (n != 0 && k > SIZE_MAX / n)
    return NULL;
  p = cm_malloc(k * n, user_data);
  if (p != NULL)
    memset(p, 0, k * n);
  return p;
}

static void *cm_realloc(void *ptr, size_t n, void *user_data)
{
  cmem *c = user_data;
  unsigned char *base = (unsigned char *)ptr - CM_HEAD;
  size_t old;
  unsigned char *p;

  memcpy(&old, base, sizeof old);
  p = n > SIZE_MAX - CM_HEAD ? NULL : realloc(base, n + CM_HEAD);
  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof n);
  c->calls++;
  c->live = c->live - old + n;
  return p + CM_HEAD;
}

static void cm_free(void *ptr, void *user_data)
{
  cmem *c = user_data;
  unsigned char *base = (unsigned char *)ptr - CM_HEAD;
  size_t old;

  memcpy(&old, base, sizeof old);
  c->live -= old;
  free(base);
}

static rtw_mem cm_hooks(cmem *c)
{
  rtw_mem m;

  m.malloc_fn = cm_malloc;
  m.calloc_fn = cm_calloc;
  m.realloc_fn = cm_realloc;
  m.free_fn = cm_free;
  m.user_data = c;
  return m;
}

/* ---- send rows: workloads, output sink, decoding */

/* A send workload: count messages of msg_size bytes (one payload, sent again and again),
 * about target wire bytes (counting one frame header per message). */
static void make_send_stream(stream *s, int role, int opcode, size_t msg_size, size_t target)
{
  size_t frame = header_len(msg_size) + (role == RTW_WS_ROLE_CLIENT ? 4 : 0) + msg_size;
  size_t count = target / frame < 2 ? 2 : target / frame;
  uint32_t lcg = (uint32_t)msg_size * 2246822519u;
  size_t i, pos = 0;

  memset(s, 0, sizeof *s);
  s->type = "send";
  s->opcode = opcode;
  s->role = role;
  s->msg_size = msg_size;
  s->buf = xmalloc(msg_size);
  if (opcode == RTW_WS_OP_TEXT) {
    s->non_ascii = fill_text(s->buf, msg_size, &pos);
  } else {
    for (i = 0; i < msg_size; i++)
      s->buf[i] = (unsigned char)(lcg_next(&lcg) >> 24);
  }
  s->len = count * frame;
  s->expect.messages = count;
  s->expect.bytes = (unsigned long long)count * msg_size;
  s->expect.hash = FNV_INIT;
  for (i = 0; i < count; i++)
    s->expect.hash = fnv(s->expect.hash, s->buf, msg_size);
}

/* Where sent bytes go: copied into a 64 KiB ring (out_write), as write() copies them into
 * a socket buffer; in a verifying pass also kept whole, to be decoded after. */
typedef struct outsink {
  out_buf ring;
  int no_ring; /* the bytes are only taken (send_consumed), as the harness does */
  int keep_all;
  unsigned char *keep;
  size_t keep_len;
  size_t keep_cap;
} outsink;

static void sink_init(outsink *k, int keep_all)
{
  memset(k, 0, sizeof *k);
  k->ring.p = out_mem;
  k->ring.hash = FNV_INIT;
  k->keep_all = keep_all;
}

static void sink_put(outsink *k, const void *data, size_t len)
{
  if (len == 0)
    return; /* send_pending gives no pointer when nothing is pending */
  if (k->no_ring) {
    sink = *(const unsigned char *)data; /* a real pointer; the bytes are not copied */
    k->ring.total += len;
  } else
    out_write(&k->ring, data, len);
  if (!k->keep_all)
    return;
  if (k->keep_len + len > k->keep_cap) {
    size_t cap = k->keep_cap ? k->keep_cap : 65536;
    unsigned char *p;

    while (cap < k->keep_len + len)
      cap *= 2;
    p = realloc(k->keep, cap);
    if (p == NULL)
      die("out of memory");
    k->keep = p;
    k->keep_cap = cap;
  }
  memcpy(k->keep + k->keep_len, data, len);
  k->keep_len += len;
}

/*
 * Decode frames p[0..n) as a receiver would (RFC 6455 5.2): every message of `opcode`,
 * fragments continued with opcode 0, masked exactly when `masked`; counts messages at FIN
 * and hashes the unmasked payload (5.3). When out is given, the payload is written there.
 * Returns 0, or -1 when the bytes are not such frames.
 */
static int decode_frames(const unsigned char *p, size_t n, int opcode, int masked, counts *c,
                         FILE *out)
{
  unsigned char tmp[4096];
  size_t off = 0;
  int in_msg = 0;

  c->messages = 0;
  c->bytes = 0;
  c->hash = FNV_INIT;
  while (off < n) {
    unsigned b0, b1;
    uint64_t len;
    size_t h = 2, i, done;
    const unsigned char *key = NULL;

    if (n - off < 2)
      return -1;
    b0 = p[off];
    b1 = p[off + 1];
    if ((b0 & 0x70) != 0 || (int)(b0 & 0x0f) != (in_msg ? 0 : opcode) ||
        (int)(b1 >> 7) != masked)
      return -1;
    len = b1 & 0x7f;
    if (len == 126) {
      if (n - off < 4)
        return -1;
      len = (uint64_t)p[off + 2] << 8 | p[off + 3];
      h = 4;
    } else if (len == 127) {
      if (n - off < 10)
        return -1;
      for (len = 0, i = 0; i < 8; i++)
        len = len << 8 | p[off + 2 + i];
      h = 10;
    }
    if (masked) {
      if (n - off < h + 4)
        return -1;
      key = p + off + h;
      h += 4;
    }
    if (n - off - h < len)
      return -1;
    for (done = 0; done < len; done += i) {
      size_t m = len - done < sizeof tmp ? (size_t)(len - done) : sizeof tmp;
      const unsigned char *src = p + off + h + done;

      for (i = 0; i < m; i++)
        tmp[i] = (unsigned char)(src[i] ^ (key != NULL ? key[(done + i) & 3] : 0));
      c->hash = fnv(c->hash, tmp, m);
      if (out != NULL && fwrite(tmp, 1, m, out) != m)
        return -1;
    }
    c->bytes += len;
    off += h + (size_t)len;
    in_msg = !(b0 & 0x80);
    if (!in_msg)
      c->messages++;
  }
  return in_msg ? -1 : 0;
}

/* The counts of a send pass: decoded from the kept output when verifying, else the
 * messages queued, provided at least the payload bytes came out. */
static int send_finish(const stream *s, outsink *k, int rc, counts *c, int verify,
                       const char *what, const char **err)
{
  if (rc == 0 && verify &&
      decode_frames(k->keep, k->keep_len, s->opcode, s->role == RTW_WS_ROLE_CLIENT, c,
                    NULL) != 0) {
    *err = "the output does not decode as the frames queued";
    rc = -1;
  } else if (rc == 0 && !verify) {
    c->messages = s->expect.messages;
    c->bytes = k->ring.total >= s->expect.bytes ? s->expect.bytes : 0;
  } else if (rc != 0) {
    *err = what;
  }
  free(k->keep);
  k->keep = NULL;
  return rc;
}

static int rtw_send_new(rtw_ws **ws, int role, size_t keep_buffer, const rtw_mem *mem)
{
  rtw_ws_settings set = {RTW_WS_SETTINGS_VERSION};

  set.keep_buffer = keep_buffer;
  return rtw_ws_new(ws, role, NULL, &set, mem, NULL);
}

#define NO_RING 0x80000000u /* bench-only flag to rtw_send_pass(): see pass_send_nocopy_taken */
#define SEND_IOV 1024u /* gather elements per rtw_ws_send_pending_iov() (Linux IOV_MAX) */

/* Queue every message of s (16 B ones SEND_BATCH at a time) and drain after each batch:
 * gather (rtw_ws_send_pending_iov) when iov is set, else contiguous (send_pending). */
static int rtw_send_run(rtw_ws *ws, const stream *s, uint32_t qflags, int iov, outsink *k)
{
  static rtw_iovec v[SEND_IOV];
  size_t batch = s->msg_size <= 1024 ? SEND_BATCH : 1;
  unsigned long long m = 0;
  int rc = 0;

  while (m < s->expect.messages && rc == 0) {
    size_t i;

    for (i = 0; i < batch && m < s->expect.messages && rc == 0; i++, m++)
      rc = rtw_ws_queue_message(ws, s->opcode, s->buf, s->msg_size, qflags);
    while (rc == 0) {
      size_t cnt = 0, j, n = 0;
      const void *data;

      if (iov) {
        rc = rtw_ws_send_pending_iov(ws, v, SEND_IOV, &cnt);
        for (j = 0; rc == 0 && j < cnt; j++) {
          sink_put(k, v[j].base, v[j].len);
          n += v[j].len;
        }
      } else if ((rc = rtw_ws_send_pending(ws, &data, &n)) == 0) {
        sink_put(k, data, n);
      }
      if (rc != 0 || n == 0)
        break;
      rc = rtw_ws_send_consumed(ws, n);
    }
  }
  return rc;
}

static int rtw_send_pass(const stream *s, counts *c, int verify, uint32_t qflags, int iov,
                         const char **err)
{
  outsink k;
  rtw_ws *ws = NULL;
  int rc;

  sink_init(&k, verify);
  k.no_ring = (qflags & NO_RING) != 0;
  qflags &= ~NO_RING;
  if ((rc = rtw_send_new(&ws, s->role, 0, NULL)) == 0)
    rc = rtw_send_run(ws, s, qflags, iov, &k);
  rtw_ws_free(ws);
  return send_finish(s, &k, rc, c, verify, rc != 0 ? rtw_err_name(rc) : "", err);
}

static int pass_send_nocopy_iov(const stream *s, const options *o, counts *c, int verify,
                                const char **err)
{
  (void)o;
  return rtw_send_pass(s, c, verify, RTW_WS_QUEUE_NOCOPY, 1, err);
}

/* r7 as issue 15 measures it: queued NOCOPY, drained with the gather call and
 * send_consumed, the output not copied anywhere (the masking pass is the one copy, as the
 * memcpy ceiling's is); a verifying pass still keeps and decodes every byte. */
static int pass_send_nocopy_taken(const stream *s, const options *o, counts *c, int verify,
                                  const char **err)
{
  (void)o;
  return rtw_send_pass(s, c, verify, RTW_WS_QUEUE_NOCOPY | NO_RING, 1, err);
}

static int pass_send_valid_iov(const stream *s, const options *o, counts *c, int verify,
                               const char **err)
{
  (void)o;
  return rtw_send_pass(s, c, verify, RTW_WS_QUEUE_NOCOPY | RTW_WS_QUEUE_VALID_UTF8, 1, err);
}

static int pass_send_copy(const stream *s, const options *o, counts *c, int verify,
                          const char **err)
{
  (void)o;
  return rtw_send_pass(s, c, verify, 0, 0, err);
}

static ssize_t wfs_send(const uint8_t *data, size_t len, int flags, void *user_data)
{
  (void)flags;
  sink_put(user_data, data, len);
  return (ssize_t)len;
}

static int wfs_genmask(uint8_t *buf, size_t len, void *user_data)
{
  static uint32_t state = 1;
  size_t i;

  (void)user_data;
  for (i = 0; i < len; i++)
    buf[i] = (uint8_t)(lcg_next(&state) >> 24);
  return 0;
}

/* wslay_frame_send() of every message as one frame, masked in the client role. */
static int pass_wslay_frame_send(const stream *s, const options *o, counts *c, int verify,
                                 const char **err)
{
  struct wslay_frame_callbacks cb = {wfs_send, NULL, wfs_genmask};
  wslay_frame_context_ptr ctx;
  unsigned long long m;
  outsink k;
  int rc = 0;

  (void)o;
  sink_init(&k, verify);
  if (wslay_frame_context_init(&ctx, &cb, &k) != 0) {
    *err = "wslay_frame_context_init failed";
    return -1;
  }
  for (m = 0; m < s->expect.messages && rc == 0; m++) {
    size_t off = 0;
    unsigned stalls = 0;

    do {
      struct wslay_frame_iocb iocb;
      ssize_t r;

      memset(&iocb, 0, sizeof iocb);
      iocb.fin = 1;
      iocb.opcode = (uint8_t)s->opcode;
      iocb.payload_length = s->msg_size;
      iocb.mask = s->role == RTW_WS_ROLE_CLIENT;
      iocb.data = s->buf + off;
      iocb.data_length = s->msg_size - off;
      r = wslay_frame_send(ctx, &iocb);
      if (r < 0 || (r == 0 && ++stalls > 2)) {
        rc = -1;
        break;
      }
      off += (size_t)r;
    } while (off < s->msg_size);
  }
  wslay_frame_context_free(ctx);
  return send_finish(s, &k, rc, c, verify, "wslay_frame_send failed", err);
}

/* The ceiling of r7: each payload copied once into the sink's ring, which is all a send
 * that fused masking into the copy to the socket buffer would cost. */
static int pass_send_memcpy(const stream *s, const options *o, counts *c, int verify,
                            const char **err)
{
  out_buf ring = {out_mem, 0, 0, FNV_INIT, 0};
  unsigned long long m;

  (void)o;
  (void)verify;
  (void)err;
  for (m = 0; m < s->expect.messages; m++)
    out_write(&ring, s->buf, s->msg_size);
  sink = out_mem[0];
  *c = s->expect;
  return 0;
}

/* r6's ceiling for any send that checks its text: one read pass over the payload, the OR of
 * all its bytes (the least a UTF-8 validator must do: ASCII text needs no more), then the
 * frame copied into the sink's ring as wslay_frame's is. wslay_frame sends with that copy
 * alone, so no validating send can run faster than this pass: its ratio to wslay_frame bounds
 * r6 (docs/performance.md, "r6: the ceiling of a validating send"). The widest vector loads
 * this CPU has, four independent accumulators. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_READ_SIMD 1
__attribute__((target("avx512f,avx512bw"))) static unsigned read_or512(const unsigned char *p,
                                                                       size_t n)
{
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  size_t i = 0;
  unsigned char t = 0;

  for (; i + 256 <= n; i += 256) {
    a = _mm512_or_si512(a, _mm512_loadu_si512((const void *)(p + i)));
    b = _mm512_or_si512(b, _mm512_loadu_si512((const void *)(p + i + 64)));
    c = _mm512_or_si512(c, _mm512_loadu_si512((const void *)(p + i + 128)));
    d = _mm512_or_si512(d, _mm512_loadu_si512((const void *)(p + i + 192)));
  }
  for (; i < n; i++)
    t |= p[i];
  a = _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d));
  return (_mm512_movepi8_mask(a) != 0) | (t >> 7);
}

__attribute__((target("avx2"))) static unsigned read_or256(const unsigned char *p, size_t n)
{
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  size_t i = 0;
  unsigned char t = 0;

  for (; i + 128 <= n; i += 128) {
    a = _mm256_or_si256(a, _mm256_loadu_si256((const __m256i *)(const void *)(p + i)));
    b = _mm256_or_si256(b, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32)));
    c = _mm256_or_si256(c, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 64)));
    d = _mm256_or_si256(d, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 96)));
  }
  for (; i < n; i++)
    t |= p[i];
  a = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
  return (_mm256_movemask_epi8(a) != 0) | (t >> 7);
}
#endif

static unsigned read_or64(const unsigned char *p, size_t n)
{
  uint64_t a = 0, b = 0, c = 0, d = 0, w;
  size_t i = 0;
  unsigned char t = 0;

  for (; i + 32 <= n; i += 32) {
    memcpy(&w, p + i, 8);
    a |= w;
    memcpy(&w, p + i + 8, 8);
    b |= w;
    memcpy(&w, p + i + 16, 8);
    c |= w;
    memcpy(&w, p + i + 24, 8);
    d |= w;
  }
  for (; i < n; i++)
    t |= p[i];
  return ((a | b | c | d) & UINT64_C(0x8080808080808080)) != 0 || (t >> 7) != 0;
}

static unsigned read_or(const unsigned char *p, size_t n)
{
#if defined(HAVE_READ_SIMD)
  static int level = -1;
  if (level < 0)
    level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 2
            : __builtin_cpu_supports("avx2")                                        ? 1
                                                                                    : 0;
  if (level == 2)
    return read_or512(p, n);
  if (level == 1)
    return read_or256(p, n);
#endif
  return read_or64(p, n);
}

static int pass_send_readpass(const stream *s, const options *o, counts *c, int verify,
                              const char **err)
{
  outsink k;
  unsigned long long m;
  unsigned char hdr[10];
  size_t h = 0, j;
  unsigned high = 0;

  (void)o;
  hdr[h++] = (unsigned char)(0x80 | s->opcode); /* FIN, unmasked (server role) */
  if (s->msg_size <= 125) {
    hdr[h++] = (unsigned char)s->msg_size;
  } else if (s->msg_size <= 0xffff) {
    hdr[h++] = 126;
    hdr[h++] = (unsigned char)(s->msg_size >> 8);
    hdr[h++] = (unsigned char)s->msg_size;
  } else {
    hdr[h++] = 127;
    for (j = 0; j < 8; j++)
      hdr[h++] = (unsigned char)((uint64_t)s->msg_size >> (56 - 8 * j));
  }
  sink_init(&k, verify);
  for (m = 0; m < s->expect.messages; m++) {
    high |= read_or(s->buf, s->msg_size);
    sink_put(&k, hdr, h);
    sink_put(&k, s->buf, s->msg_size);
  }
  if (high != (s->non_ascii != 0)) {
    *err = "read pass: the non-ASCII bytes were not seen";
    return -1;
  }
  return send_finish(s, &k, 0, c, verify, "", err);
}

/* ---- the rows */

enum { PS_BIN16, PS_BINBIG, PS_TEXT16, PS_TEXTBIG, PS_SEND16, PS_SENDTEXT, PS_SENDCLIENT, NPS };

typedef struct perf_item {
  const char *row;
  const char *impl;
  int ps;         /* PS_* */
  pass_fn pass;
  int rtweb_kind; /* for the allocation rows: 0 none, 1 receive, 2 send */
  uint32_t flags; /* receive: RTW_WS_FLAG_*; send: RTW_WS_QUEUE_* */
  int mode;       /* send: 1 gathers output; receive: FEED_* */
} perf_item;

static const perf_item perf_items[] = {
  {"r1", "rtweb", PS_BINBIG, pass_rtw_whole, 1, RTW_WS_FLAG_WHOLE_MESSAGES, 0},
  {"r1", "wslay_event", PS_BINBIG, pass_wslay_event, 0, 0, 0},
  {"r1", "memcpy", PS_BINBIG, pass_memcpy, 0, 0, 0},
  {"r2", "rtweb", PS_BIN16, pass_rtw_streamed, 1, 0, 0},
  {"r2", "wslay_frame", PS_BIN16, pass_wslay_frame, 0, 0, 0},
  {"r2", "rtweb_inplace", PS_BIN16, pass_rtw_inplace, 1, 0, FEED_INPLACE},
  {"r3", "rtweb", PS_TEXTBIG, pass_rtw_whole, 1, RTW_WS_FLAG_WHOLE_MESSAGES, 0},
  {"r3", "memcpy", PS_TEXTBIG, pass_memcpy, 0, 0, 0},
  {"r3", "wslay_event", PS_TEXTBIG, pass_wslay_event, 0, 0, 0},
  {"r4", "rtweb", PS_TEXT16, pass_rtw_whole, 1, RTW_WS_FLAG_WHOLE_MESSAGES, 0},
  {"r4", "wslay_frame", PS_TEXT16, pass_wslay_frame, 0, 0, 0},
  {"r5", "rtweb", PS_SEND16, pass_send_nocopy_iov, 2, RTW_WS_QUEUE_NOCOPY, 1},
  {"r5", "rtweb_copy", PS_SEND16, pass_send_copy, 2, 0, 0},
  {"r5", "wslay_frame", PS_SEND16, pass_wslay_frame_send, 0, 0, 0},
  {"r6", "rtweb", PS_SENDTEXT, pass_send_nocopy_iov, 2, RTW_WS_QUEUE_NOCOPY, 1},
  {"r6", "rtweb_valid_utf8", PS_SENDTEXT, pass_send_valid_iov, 2,
   RTW_WS_QUEUE_NOCOPY | RTW_WS_QUEUE_VALID_UTF8, 1},
  {"r6", "wslay_frame", PS_SENDTEXT, pass_wslay_frame_send, 0, 0, 0},
  {"r6", "read_pass", PS_SENDTEXT, pass_send_readpass, 0, 0, 0},
  {"r7", "rtweb", PS_SENDCLIENT, pass_send_nocopy_taken, 2, RTW_WS_QUEUE_NOCOPY, 1},
  {"r7", "memcpy", PS_SENDCLIENT, pass_send_memcpy, 0, 0, 0},
  {"r7", "wslay_frame", PS_SENDCLIENT, pass_wslay_frame_send, 0, 0, 0},
  {"r7", "rtweb_ring", PS_SENDCLIENT, pass_send_nocopy_iov, 2, RTW_WS_QUEUE_NOCOPY, 1},
};
#define NPERF (sizeof perf_items / sizeof perf_items[0])

/* Build workload ps: about target wire bytes, "big" messages of big bytes. */
static void make_perf_stream(stream *s, int ps, size_t target, size_t big)
{
  switch (ps) {
  case PS_BIN16: make_stream(s, RTW_WS_OP_BINARY, 16, target); break;
  case PS_BINBIG: make_stream(s, RTW_WS_OP_BINARY, big, target); break;
  case PS_TEXT16: make_stream(s, RTW_WS_OP_TEXT, 16, target); break;
  case PS_TEXTBIG: make_stream(s, RTW_WS_OP_TEXT, big, target); break;
  case PS_SEND16:
    make_send_stream(s, RTW_WS_ROLE_SERVER, RTW_WS_OP_BINARY, 16, target);
    break;
  case PS_SENDTEXT:
    make_send_stream(s, RTW_WS_ROLE_SERVER, RTW_WS_OP_TEXT, big, target);
    break;
  default: make_send_stream(s, RTW_WS_ROLE_CLIENT, RTW_WS_OP_BINARY, big, target); break;
  }
}

/* Allocation calls per message in steady state: one session (counting allocator) runs the
 * workload twice; the second run's calls are divided by its messages. */
static void perf_alloc(const perf_item *it, const stream *s, size_t chunk, size_t keep)
{
  cmem cm = {0, 0};
  rtw_mem mem = cm_hooks(&cm);
  tally t = {{0, 0, FNV_INIT}, 0};
  rtw_ws *ws = NULL;
  unsigned long long warm = 0;
  int rc, pass;

  if (it->rtweb_kind == 1)
    rc = rtw_recv_new(&ws, it->flags, keep, &mem, &t);
  else
    rc = rtw_send_new(&ws, s->role, keep, &mem);
  for (pass = 0; pass < 2 && rc == 0; pass++) {
    outsink k;

    sink_init(&k, 0);
    warm = cm.calls;
    if (it->rtweb_kind == 1)
      rc = rtw_recv_feed(ws, s, chunk, it->mode);
    else
      rc = rtw_send_run(ws, s, it->flags, it->mode, &k);
  }
  rtw_ws_free(ws);
  if (rc != 0)
    printf("error\t%s\talloc:%s\t%s\n", it->row, it->impl, rtw_err_name(rc));
  else
    printf("alloc\t%s\t%s\t%s\t%llu\t%llu\n", it->row, it->impl,
           keep == 0 ? "default" : "SIZE_MAX", s->expect.messages, cm.calls - warm);
}

static void perf_idle(int role, const char *name)
{
  cmem cm = {0, 0};
  rtw_mem mem = cm_hooks(&cm);
  rtw_ws *ws = NULL;
  int rc = rtw_ws_new(&ws, role, NULL, NULL, &mem, NULL);

  if (rc != 0)
    printf("error\tidle\t%s\t%s\n", name, rtw_err_name(rc));
  else
    printf("idle\t%s\t%zu\t%llu\n", name, cm.live, cm.calls);
  rtw_ws_free(ws);
}

/* -d DIR: the r1 stream for bench/node/ws_recv.mjs (wire bytes, the payloads it must
 * deliver, and a manifest). */
static void perf_write_stream(const options *o, const stream *s)
{
  char path[4096];
  FILE *f;
  counts c;
  int ok;

  snprintf(path, sizeof path, "%s/ws_r1.wire", o->dir);
  f = fopen(path, "wb");
  ok = f != NULL && fwrite(s->buf, 1, s->len, f) == s->len;
  ok = f != NULL && fclose(f) == 0 && ok;
  snprintf(path, sizeof path, "%s/ws_r1.payload", o->dir);
  f = ok ? fopen(path, "wb") : NULL;
  ok = f != NULL && decode_frames(s->buf, s->len, s->opcode, 1, &c, f) == 0;
  ok = f != NULL && fclose(f) == 0 && ok;
  snprintf(path, sizeof path, "%s/ws_r1.tsv", o->dir);
  f = ok ? fopen(path, "w") : NULL;
  ok = ok && f != NULL && fprintf(f, "chunk\t%zu\nmessages\t%llu\nwire_bytes\t%zu\n", o->chunk,
                                  s->expect.messages, s->len) > 0;
  ok = f != NULL && fclose(f) == 0 && ok;
  if (!ok)
    die("cannot write the r1 stream to the -d directory");
}

/* -C: the only function callgrind collects in (--toggle-collect=cg_pass). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
int cg_pass(const perf_item *it, const stream *s, const options *o, counts *c,
            const char **err);
int cg_pass(const perf_item *it, const stream *s, const options *o, counts *c,
            const char **err)
{
  return it->pass(s, o, c, 0, err);
}

/* -C ROW:IMPL -n COUNT: one untimed pass over COUNT messages (callgrind counts it). */
static int perf_callgrind(const options *o)
{
  size_t i;

  for (i = 0; i < NPERF; i++) {
    const perf_item *it = &perf_items[i];
    char name[64];
    stream s, probe;
    counts c;
    const char *err = "";
    size_t per;

    snprintf(name, sizeof name, "%s:%s", it->row, it->impl);
    if (strcmp(name, o->cg) != 0)
      continue;
    /* wire bytes per message, from a two-message probe of the same workload */
    make_perf_stream(&probe, it->ps, 1, 1048576);
    per = probe.len / (size_t)probe.expect.messages;
    free(probe.buf);
    make_perf_stream(&s, it->ps, per * o->cg_msgs, 1048576);
    memset(&c, 0, sizeof c);
    if (it->pass(&s, o, &c, 1, &err) != 0 || !same_counts(&c, &s.expect, 1)) {
      fprintf(stderr, "bench_ws: %s failed its check: %s\n", name, err);
      return 1;
    }
    memset(&c, 0, sizeof c); /* passes add to the counts */
    if (cg_pass(it, &s, o, &c, &err) != 0 || !same_counts(&c, &s.expect, 0)) {
      fprintf(stderr, "bench_ws: %s failed: %s\n", name, err);
      return 1;
    }
    printf("cg\t%s\t%s\t%llu\n", it->row, it->impl, s.expect.messages);
    free(s.buf);
    return 0;
  }
  fprintf(stderr, "bench_ws: -C %s: no such row:impl\n", o->cg);
  return 2;
}

#define ROW_MAX 4 /* implementations in one row */

/*
 * Time the n implementations of one row (perf_items[first..first+n)) interleaved: after a
 * verifying warm-up pass each, repetition r runs one repetition of every implementation in
 * turn (starting at a different one each time), so a machine that gets busier or quieter
 * during the row slows all of them alike and the same-run ratios hold. A repetition repeats
 * whole passes until min_time has gone by. Prints one result or error record each; returns
 * nonzero when one failed.
 */
static int perf_row(const options *o, const stream *st, size_t first, size_t n)
{
  double t[ROW_MAX][MAX_REPS];
  const char *err[ROW_MAX];
  int ok[ROW_MAX];
  size_t k;
  unsigned r;
  int failed = 0;

  for (k = 0; k < n; k++) {
    const perf_item *it = &perf_items[first + k];
    const stream *s = &st[it->ps];
    counts c;

    memset(&c, 0, sizeof c);
    err[k] = "";
    ok[k] = it->pass(s, o, &c, 1, &err[k]) == 0 && same_counts(&c, &s->expect, 1);
    if (!ok[k] && err[k][0] == '\0')
      err[k] = "counts or content differ from the generator's";
  }
  for (r = 0; r < o->reps; r++) {
    size_t j;

    for (j = 0; j < n; j++) {
      unsigned long passes = 0;

      k = (j + r) % n;
      if (ok[k] && one_rep(o, &st[perf_items[first + k].ps], perf_items[first + k].pass,
                           &t[k][r], &passes, &err[k]) != 0)
        ok[k] = 0;
    }
  }
  for (k = 0; k < n; k++) {
    const perf_item *it = &perf_items[first + k];
    const stream *s = &st[it->ps];

    fprintf(stderr, "bench_ws: %s %-6s %7zu B  %-18s", it->row, s->type, s->msg_size,
            it->impl);
    if (!ok[k]) {
      fprintf(stderr, " FAILED: %s\n", err[k]);
      printf("error\t%s\t%s\t%s\n", it->row, it->impl, err[k]);
      failed = 1;
      continue;
    }
    {
      double median = bench_median(t[k], o->reps);

      fprintf(stderr, " %.3f GB/s\n", (double)s->len / median / 1e9);
      printf("result\t%s\t%s\t%llu\t%zu\t%u\t%.9f\t%.9f\t%.9f\n", it->row, it->impl,
             s->expect.messages, s->len, o->reps, median, t[k][0], t[k][o->reps - 1]);
    }
  }
  fflush(stdout);
  return failed;
}

static int perf_main(const options *o)
{
  size_t target = o->smoke ? 256u * 1024u : o->mib * 1024u * 1024u;
  size_t big = o->smoke ? 70000u : 1048576u; /* 70000: takes the 64-bit length path */
  stream st[NPS];
  size_t i, n;
  int failed = 0, ps;

  if (o->cg != NULL)
    return perf_callgrind(o);
  for (ps = 0; ps < NPS; ps++)
    make_perf_stream(&st[ps], ps, target, big);
  if (o->dir != NULL)
    perf_write_stream(o, &st[PS_BINBIG]);
  printf("info\trtweb\t%s\n", rtw_version_string());
  printf("info\tcompiler\t%s\n", BENCH_COMPILER);
  printf("info\tbuildtype\t%s\n", BENCH_BUILDTYPE);
  printf("info\toptimization\t%s\n", BENCH_OPTIMIZATION);
  printf("info\twslay\t%s\n", WSLAY_VERSION);
  printf("info\tchunk\t%zu\n", o->chunk);
  printf("info\treps\t%u\n", o->reps);
  printf("info\tmin_time\t%g\n", o->min_time);
  printf("info\tbig\t%zu\n", big);
  printf("info\ttext_non_ascii\t%.1f%%\n",
         100.0 * (double)st[PS_TEXTBIG].non_ascii / (double)st[PS_TEXTBIG].expect.bytes);
  fflush(stdout);
  for (i = 0; i < NPERF; i += n) {
    const char *only = getenv("BENCH_ROWS"); /* e.g. "r6,r7": time only these rows */
    for (n = 1; i + n < NPERF && strcmp(perf_items[i + n].row, perf_items[i].row) == 0; n++)
      ;
    if (only == NULL || strstr(only, perf_items[i].row) != NULL)
      failed |= perf_row(o, st, i, n);
  }
  for (i = 0; i < NPERF; i++) {
    if (perf_items[i].rtweb_kind != 0) {
      perf_alloc(&perf_items[i], &st[perf_items[i].ps], o->chunk, 0);
      perf_alloc(&perf_items[i], &st[perf_items[i].ps], o->chunk, SIZE_MAX);
    }
  }
  perf_idle(RTW_WS_ROLE_SERVER, "server");
  perf_idle(RTW_WS_ROLE_CLIENT, "client");
  for (ps = 0; ps < NPS; ps++)
    free(st[ps].buf);
  return failed;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
  fprintf(stderr, "usage: bench_ws [-r REPS] [-t SECONDS] [-m MIB] [-c CHUNK]\n"
                  "       bench_ws -P [-S] [-d DIR] [-r REPS] [-t SECONDS] [-m MIB] [-c CHUNK]\n"
                  "       bench_ws -P -C ROW:IMPL -n MESSAGES\n");
  exit(2);
}

static unsigned long num(const char *arg, unsigned long lo, unsigned long hi)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi)
    usage();
  return v;
}

static void parse_args(int argc, char **argv, options *o)
{
  int ch;
  char *end;

  o->reps = 9;
  o->min_time = 0.3;
  o->mib = 4;
  o->chunk = 16384;
  o->perf = 0;
  o->smoke = 0;
  o->dir = NULL;
  o->cg = NULL;
  o->cg_msgs = 100000;
  while ((ch = getopt(argc, argv, "r:t:m:c:PSd:C:n:")) != -1) {
    switch (ch) {
    case 'P': o->perf = 1; break;
    case 'S': o->smoke = 1; break;
    case 'd': o->dir = optarg; break;
    case 'C': o->cg = optarg; break;
    case 'n': o->cg_msgs = num(optarg, 2, 100000000); break;
    case 'r': o->reps = (unsigned)num(optarg, 7, MAX_REPS); break;
    case 'm': o->mib = (size_t)num(optarg, 1, 1024); break;
    case 'c': o->chunk = (size_t)num(optarg, 1, MAX_CHUNK); break;
    case 't':
      o->min_time = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || !(o->min_time >= 0.0 && o->min_time <= 60.0))
        usage();
      break;
    default: usage();
    }
  }
  if (optind != argc || ((o->smoke || o->dir != NULL || o->cg != NULL) && !o->perf))
    usage();
  if (o->smoke) {
    o->reps = 1; /* -S: a correctness check, not a measurement */
    o->min_time = 0.0;
  }
}

int main(int argc, char **argv)
{
  options o;
  stream st[NSTREAMS], snd;
  static result res[NSTREAMS][NIMPLS];
  result sres[2];
  size_t i, j, target;
  int failed = 0;

  parse_args(argc, argv, &o);
  if (o.perf)
    return perf_main(&o);
  target = o.mib * 1024u * 1024u;
  for (i = 0; i < NSIZES; i++) {
    make_stream(&st[i], RTW_WS_OP_BINARY, sizes[i], target);
    make_stream(&st[NSIZES + i], RTW_WS_OP_TEXT, sizes[i], target);
  }
  make_send(&snd, target);

  for (i = 0; i < NSTREAMS; i++)
    for (j = 0; j < NIMPLS; j++)
      res[i][j] = measure(&o, &st[i], &recv_impls[j]);
  for (j = 0; j < 2; j++)
    sres[j] = measure(&o, &snd, &send_impls[j]);

  print_header(&o, st);
  for (i = 0; i < NSTREAMS; i++)
    print_stream_block(&st[i], res[i]);
  print_send(&snd, sres);
  print_summary(st, res);

  for (i = 0; i < NSTREAMS; i++)
    for (j = 0; j < NIMPLS; j++)
      failed |= !res[i][j].ok;
  failed |= !sres[0].ok || !sres[1].ok;
  if (failed)
    printf("Counts: MISMATCH or FAILURE (see the FAILED rows): every implementation must "
           "report the generator's messages, bytes and payload hash.\n");
  else
    printf("Counts: OK. Every implementation reported the messages and payload bytes the "
           "generator put in, and the same payload hash (checked on the warm-up pass).\n");
  for (i = 0; i < NSTREAMS; i++)
    free(st[i].buf);
  return failed ? 1 : 0;
}
