/* SPDX-License-Identifier: MIT */
/* WebSocket test helpers: an RFC 6455 frame builder and frame parser written independently of
 * lib/ws/frame.c (so they are oracles for it), a UTF-8 oracle, and a driver that runs an
 * rtw_ws over some input, logs every callback and every frame the session queued, and plugs
 * into rtwt_check_splits.
 *
 * Log format (one line per event; payloads escaped by rtwt_log_bytes, or summarised as
 * `<N bytes fnv=XXXXXXXX>` above WST_LOG_INLINE bytes):
 *
 *   msg(text,"...")          a whole message (on_message, or begin/data.../end concatenated)
 *   ping("...") pong("...")  control frames received
 *   close(1000,"reason")     the peer's close (1005 for an empty close frame)
 *   pause                    rtw_ws_recv() returned RTW_ERR_PAUSE
 *   error(RTW_ERR_...)       rtw_ws_recv() failed; input stops there
 *   out:text("...")          a frame the session queued ("[more]" after the name when FIN is
 *   out:cont[more]("...")    clear); close frames as out:close(), out:close(1000),
 *   out:close(1000,"bye")    out:close(1000,"bye")
 *   end(read=R,sent=S,recvd=C)  rtw_ws_want_read(), rtw_ws_close_sent(),
 *                               rtw_ws_close_received() after the last input
 */
#ifndef WST_H
#define WST_H

#include "rtwt.h"
#include "rtweb/ws.h"

/* Print a message and fail the current test (cmocka's fail_msg needs arguments under
 * -pedantic). */
void wst_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ------------------------------------------------------------------ byte buffer */

typedef struct wst_buf {
  uint8_t *p;
  size_t len;
  size_t cap;
  uint32_t keyseq; /* masking keys handed out by wst_frame() */
} wst_buf;

void wst_buf_init(wst_buf *b);
void wst_buf_free(wst_buf *b);
void wst_buf_clear(wst_buf *b);
void wst_buf_put(wst_buf *b, const void *p, size_t n);
void wst_buf_str(wst_buf *b, const char *s);

/* ------------------------------------------------------------------ frame builder (oracle) */

/* Length encodings for wst_hdr::len_form (RFC 6455 5.2 "Payload length"). */
#define WST_LEN_MIN 0 /* the minimal encoding, as the RFC requires */
#define WST_LEN_7 1   /* 7-bit form (only for lengths <= 125) */
#define WST_LEN_16 2  /* 126 + 16-bit length, whatever the length */
#define WST_LEN_64 3  /* 127 + 64-bit length, whatever the length */

typedef struct wst_hdr {
  int fin;         /* 0 or 1 */
  unsigned rsv;    /* RTW_WS_RSV1 | RTW_WS_RSV2 | RTW_WS_RSV3 */
  unsigned opcode; /* 0..15, anything goes */
  int masked;      /* 1: MASK bit set and `key` follows */
  uint8_t key[4];
  int len_form; /* WST_LEN_* */
} wst_hdr;

/* Append a header announcing `payload_len` bytes; returns the header length. */
size_t wst_put_header(wst_buf *b, const wst_hdr *h, uint64_t payload_len);
/* Append a header and the payload (masked with h->key when h->masked); returns the offset of
 * the payload's first byte in b. */
size_t wst_put_frame(wst_buf *b, const wst_hdr *h, const void *payload, size_t len);
/* A frame with no RSV bits and the minimal length; masked frames get a fresh key from
 * b->keyseq. Returns the payload offset in b. */
size_t wst_frame(wst_buf *b, int masked, int fin, unsigned opcode, const void *payload,
                 size_t len);
size_t wst_frame_str(wst_buf *b, int masked, int fin, unsigned opcode, const char *s);
/* A close frame: `code` < 0 gives an empty payload; otherwise the code and the reason. */
size_t wst_close_frame(wst_buf *b, int masked, int code, const char *reason, size_t rlen);
/* The masking key wst_frame() uses for its n-th masked frame. */
void wst_key(uint32_t n, uint8_t key[4]);

/* ------------------------------------------------------------------ UTF-8 oracle */

/* RFC 3629 section 4 (no overlongs, no surrogates, nothing above U+10FFFF), incremental. */
typedef struct wst_utf8 {
  unsigned need;  /* continuation bytes still expected */
  uint8_t lo, hi; /* range of the next continuation byte */
} wst_utf8;

#define WST_UTF8_OK 0       /* valid and at a character boundary */
#define WST_UTF8_PARTIAL 1  /* valid so far, inside a sequence */
#define WST_UTF8_BAD (-1)   /* *bad is the index of the first byte that cannot continue */

void wst_utf8_init(wst_utf8 *u);
int wst_utf8_feed(wst_utf8 *u, const void *p, size_t n, size_t *bad);
/* Whole-buffer form. */
int wst_utf8_check(const void *p, size_t n, size_t *bad);

/* ------------------------------------------------------------------ frame parser (oracle) */

/* One frame the session produced, unmasked. */
typedef struct wst_oframe {
  uint8_t fin, rsv, opcode, masked;
  uint8_t key[4];
  uint8_t *data; /* owned copy, unmasked */
  size_t len;
  size_t wire_off; /* where the frame starts in the byte stream */
  size_t wire_len; /* header + payload */
} wst_oframe;

typedef struct wst_oframes {
  wst_oframe *f;
  size_t n;
} wst_oframes;

/* Parse every frame in p[0..n) and assert that each follows RFC 6455 for a sender of the
 * given masking: minimal lengths (5.2), MASK bit per role (5.1), RSV clear (5.2), no reserved
 * opcode (5.2), control frames final and at most 125 bytes (5.5), fragments in order (5.4),
 * text messages valid UTF-8 (8.1), close payloads well formed (5.5.1, 7.4), and that the
 * stream ends on a frame boundary. */
void wst_parse_out(const uint8_t *p, size_t n, int masked, wst_oframes *out);
void wst_oframes_free(wst_oframes *o);
void wst_log_oframe(rtwt_log *log, const wst_oframe *f);

/* ------------------------------------------------------------------ logging */

#define WST_LOG_INLINE 128u

/* "..." escaped, or <N bytes fnv=XXXXXXXX> when longer than WST_LOG_INLINE. */
void wst_log_data(rtwt_log *log, const void *p, size_t n);
/* msg(text,...)\n or msg(binary,...)\n as the driver logs it. */
void wst_log_msg(rtwt_log *log, int opcode, const void *p, size_t n);
const char *wst_opname(unsigned opcode);

/* ------------------------------------------------------------------ driver */

/* Callback events, for wst_opts::pause and wst_opts::fail. WST_EV_MSG is on_message_end in
 * streamed mode and on_message in whole-message mode. */
#define WST_EV_BEGIN 0x01u
#define WST_EV_DATA 0x02u
#define WST_EV_MSG 0x04u
#define WST_EV_PING 0x08u
#define WST_EV_PONG 0x10u
#define WST_EV_CLOSE 0x20u

/* How the driver takes queued bytes. */
#define WST_DRAIN_CONTIG 0 /* rtw_ws_send_pending + rtw_ws_send_consumed(all) */
#define WST_DRAIN_IOV 1    /* rtw_ws_send_pending_iov (3 elements at a time) */
#define WST_DRAIN_BYTE 2   /* rtw_ws_send_pending, consuming one byte per call */

struct wst_run;

typedef struct wst_opts {
  int role;                 /* RTW_WS_ROLE_*; the peer is the other one */
  uint32_t flags;           /* rtw_ws_settings::flags */
  uint64_t max_frame_size;  /* settings; 0 = default */
  uint64_t max_message_size;
  size_t fragment_size;
  size_t max_outbound;
  uint32_t rsv_allowed;
  uint32_t keepalive_ms;
  uint32_t pong_timeout_ms;
  uint32_t close_timeout_ms;
  uint32_t keep_idle_ms; /* settings; 0 = default (UINT32_MAX: timer tests pin deadlines) */
  unsigned pause; /* WST_EV_* whose callback returns RTW_ERR_PAUSE */
  unsigned fail;  /* WST_EV_* whose callback returns -1 */
  int drain;      /* WST_DRAIN_* */
  int one_mode;   /* wst_check: do not also run the other delivery mode */
  /* Called after creation, before any input (e.g. to queue a close). */
  void (*before)(struct wst_run *r);
} wst_opts;

/* The state of one driven session. Tests may use it directly. */
typedef struct wst_run {
  const wst_opts *o;
  rtw_ws *ws;
  rtwt_log *log;
  wst_buf msg; /* streamed message being assembled */
  int in_msg;
  int msg_op;
  uint64_t rng;        /* state of the deterministic random callback */
  wst_buf rand_given;  /* every random byte handed out, in order */
  wst_buf out;         /* every byte drained so far */
  size_t released;     /* on_payload_released calls */
  const void *released_ptr;
  size_t released_len;
  size_t n_begin, n_data, n_end, n_msg, n_ping, n_pong, n_close;
  int last_rv; /* the last value rtw_ws_recv returned */
  int send_rv; /* the first error rtw_ws_send_pending(_iov) returned (RTW_ERR_NOMEM) */
} wst_run;

/* Create the session with every callback set (user_data = r). Returns rtw_ws_new()'s value;
 * on failure r->ws is NULL and wst_stop() still must be called. */
int wst_start(wst_run *r, const wst_opts *o, rtwt_log *log, const rtw_mem *mem);
/* Feed `len` bytes: resume after RTW_ERR_PAUSE (logging "pause"), drain after every call, log
 * an error. Returns 0 or the error. */
int wst_recv(wst_run *r, const void *in, size_t len);
/* Drain what is pending into r->out. Returns 0, or RTW_ERR_NOMEM when preparing output
 * failed (also kept in r->send_rv; the session has then failed). */
int wst_pump(wst_run *r);
/* Drain, then log every frame in r->out and the end(...) line. */
void wst_finish(wst_run *r);
/* Free the session and the buffers. */
void wst_stop(wst_run *r);

/* The deterministic random callback (user_data must be a wst_run). */
int wst_random(rtw_ws *ws, void *buf, size_t len, void *user_data);

/* Drain every pending byte of ws into out, checking want_write along the way. Returns 0, or
 * RTW_ERR_NOMEM from rtw_ws_send_pending(_iov), after which want_read and want_write must be
 * 0 (ws.h). */
int wst_drain(rtw_ws *ws, wst_buf *out, int mode);

/* rtwt_feed_fn: arg is a const wst_opts *. */
void wst_feed(void *arg, const uint8_t *in, size_t len, const size_t *pieces, size_t npieces,
              rtwt_log *log);

/* Inputs up to this size go through rtwt_check_splits; longer ones through wst_check_chunks. */
#define WST_SPLIT_MAX 2048u

/* Check `in` fed whole, byte by byte and split everywhere (or in chunks when large), in the
 * delivery mode of o and, unless o->one_mode, also in the other one (with a different drain
 * style): all logs must equal `expected` (or the first log when expected is NULL). */
void wst_check(const wst_opts *o, const void *in, size_t len, const char *expected);
void wst_check_buf(const wst_opts *o, const wst_buf *in, const char *expected);
/* Feed whole, in a few fixed chunk sizes (byte by byte too when len <= 16 KiB) and split in
 * two near both ends. */
void wst_check_chunks(const wst_opts *o, const void *in, size_t len, const char *expected);
/* One whole-input run into log. */
void wst_run_once(const wst_opts *o, const void *in, size_t len, rtwt_log *log);

/* Feed byte by byte and require that bytes [0, at) are accepted and byte `at` fails with
 * `err`, having already queued close(`code`) (the last frame in the output) and with no
 * further message delivered. `log` (may be NULL) receives the run's log. */
void wst_expect_error_at(const wst_opts *o, const void *in, size_t len, size_t at, int err,
                         int code, rtwt_log *log);

/* A deterministic pattern: text (ASCII mixed with 2-, 3- and 4-byte characters, cut at a
 * character boundary so it is exactly n bytes of valid UTF-8) or binary. Caller frees. */
uint8_t *wst_pattern(size_t n, int text, uint32_t seed);

#endif /* WST_H */
