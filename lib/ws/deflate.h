/* SPDX-License-Identifier: MIT */
/* zlib seam for permessage-deflate (RFC 7692 7.2): raw DEFLATE streams whose memory comes
 * from an rtw_mem and is counted against a budget. Used by the session (session.c) and by
 * prepared messages (prepared.c). No other file includes zlib.h.
 *
 * Lazy by construction: a stream takes no memory until its first use and can be released
 * after a message (no context takeover) and taken again later. */
#ifndef RTW_WS_DEFLATE_H
#define RTW_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "rtweb/ws.h"

/* Memory accounting shared by the streams of one owner (a session: its compressor and its
 * decompressor). `used` counts the bytes zlib holds (allocation overhead included); an
 * allocation that would take `used` over `budget` fails (zlib then reports Z_MEM_ERROR,
 * mapped to RTW_ERR_NOMEM). */
typedef struct rtw__zacct {
  rtw_mem mem;
  size_t used;
  size_t budget;
} rtw__zacct;

/* The estimate of what zlib takes for a compressor / a decompressor with these parameters
 * (used by negotiation to decline offers that cannot fit the budget). */
size_t rtw__deflate_mem_estimate(unsigned window_bits, unsigned mem_level);
size_t rtw__inflate_mem_estimate(unsigned window_bits);

/* A compressor. Fields are private to deflate.c; zero-initialise before first use. */
typedef struct rtw__deflater {
  void *z;              /* z_stream when allocated, NULL when released */
  rtw__zacct *acct;
  uint8_t level;        /* 1..9 */
  uint8_t window_bits;  /* 9..15 */
  uint8_t mem_level;    /* 1..9 */
  uint8_t midstream;    /* bytes of the current message went in */
} rtw__deflater;

/* A decompressor. Fields are private to deflate.c; zero-initialise before first use. */
typedef struct rtw__inflater {
  void *z;              /* z_stream when allocated, NULL when released */
  rtw__zacct *acct;
  uint8_t window_bits;  /* 8..15 */
  uint8_t midstream;
  uint8_t ended;        /* a final block (BFINAL = 1) ended the stream in this message */
  uint8_t boundary;     /* the bytes fed so far end at a block boundary */
} rtw__inflater;

/* Set the parameters (no memory is taken). The owner sets acct->mem (resolved hooks),
 * acct->budget (SIZE_MAX for no limit) and acct->used = 0 before; one acct may serve
 * several streams. Window bits: 9..15 for a compressor (zlib refuses 8 for raw deflate),
 * 8..15 for a decompressor; level and mem_level 1..9.
 * 0 or RTW_ERR_INVALID_ARGUMENT. */
int rtw__deflater_init(rtw__deflater *d, rtw__zacct *acct, unsigned level, unsigned window_bits,
                       unsigned mem_level);
int rtw__inflater_init(rtw__inflater *i, rtw__zacct *acct, unsigned window_bits);

/* Compress `len` bytes of the current message (allocating the zlib state on first use) and
 * append the output to `out` (grown through acct->mem, not counted in acct->used; the
 * caller checks its own limits on out->len). With fin = 0 the output ends at a byte
 * boundary (Z_SYNC_FLUSH) so it can go out at once (a call with len 0 after a flush adds
 * nothing); with fin = 1 the message ends: the sync flush's 4-byte tail 00 00 FF FF is
 * removed (RFC 7692 7.2.1), and when nothing was added since the last flush (an empty
 * message: 7.2.3.6) the single byte 0x00 is written. `in` may be NULL with len 0.
 * Returns 0, RTW_ERR_NOMEM (out->len is then as before the call; the stream's state is
 * undefined: call rtw__deflater_free()). */
int rtw__deflate(rtw__deflater *d, const void *in, size_t len, int fin, rtw__buf *out);

/* After a message: with reset = 1 (no context takeover) the state is released (memory back
 * to the allocator; the next message allocates again), else it is kept for the next message.
 * Does nothing when nothing is allocated. */
void rtw__deflate_end(rtw__deflater *d, int reset);

/* Decompress from `in` into `out` (at most cap bytes), allocating the state on first use.
 * *nin = input bytes consumed, *nout = bytes produced. It returns when all input is
 * consumed or out is full: call again while *nout == cap (zlib may hold more output: call
 * with len 0 to drain) or input remains. At the end of a message feed the tail
 * 00 00 FF FF the sender removed (RFC 7692 7.2.2) through this same call (the session
 * passes rtw__deflate_tail), drain, then call rtw__inflate_end().
 * A block with BFINAL = 1 (RFC 7692 7.2.3.3) ends the peer's DEFLATE stream: the stream is
 * reset at once and the rest of the message (the 0x00 the RFC requires, then the tail) must
 * produce no output.
 * Returns 0; RTW_ERR_WS_BAD_COMPRESSED (not valid DEFLATE, or output after a final block: *nout then
 * counts only the output made before it, which is valid);
 * RTW_ERR_NOMEM (the budget or the allocator refused). After an error the stream is
 * unusable: call rtw__inflater_free(). */
int rtw__inflate(rtw__inflater *i, const void *in, size_t len, size_t *nin, void *out, size_t cap,
                 size_t *nout);

/* After a message (its tail fed and drained): reset = 1 releases the state (no context
 * takeover), else it is kept; after a final block (BFINAL) the window was already dropped,
 * so the next message starts from an empty window either way.
 * Returns 0, or RTW_ERR_WS_BAD_COMPRESSED when the message's data did not end at a block
 * boundary (it was cut inside a block: with the tail appended a valid message always ends
 * at one); the state is then released. Callers that ignore the result lose only this
 * check. */
int rtw__inflate_end(rtw__inflater *i, int reset);

/* Drop the context but keep the memory (deflateReset / inflateReset): the next message
 * starts from an empty window without allocating (no context takeover, RFC 7692 7.1.1).
 * Call between messages only. Does nothing when nothing is allocated. Returns 0, or
 * RTW_ERR_NOMEM when zlib refused (the state is then released). */
int rtw__deflate_reset(rtw__deflater *d);
int rtw__inflate_reset(rtw__inflater *i);

/* Release everything (the owner is being freed, or an idle stream gives its memory back). */
void rtw__deflater_free(rtw__deflater *d);
void rtw__inflater_free(rtw__inflater *i);

/* The 4 bytes a receiver appends to each compressed message (RFC 7692 7.2.2). */
extern const uint8_t rtw__deflate_tail[4];

/* Internal hook for prepared messages (prepared.c), implemented in session.c: queue `len`
 * bytes of ready frames (header and payload, unmasked, the first frame with RSV1 when
 * compressed) that stay valid until release(ctx) is called once they are written or dropped.
 * Counts against max_outbound. Returns as rtw_ws_queue_message(); RTW_ERR_INVALID_ARGUMENT
 * for a client session (its frames must be masked: prepared.c then falls back to
 * rtw_ws_queue_message()) and RTW_ERR_INVALID_STATE while a streamed message is open. On
 * any error nothing is queued and release is never called (the caller keeps its reference). */
int rtw__ws_queue_frames(rtw_ws *ws, const uint8_t *frames, size_t len,
                         void (*release)(void *ctx), void *ctx);

#endif /* RTW_WS_DEFLATE_H */
