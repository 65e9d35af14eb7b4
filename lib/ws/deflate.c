/* SPDX-License-Identifier: MIT */
/* zlib seam for permessage-deflate (RFC 7692 7.2): raw DEFLATE streams (RFC 1951) whose
 * memory comes from an rtw_mem and is counted against a budget.
 *
 * Wire format of one compressed message (RFC 7692 7.2.1): the DEFLATE blocks of the message,
 * ended by a sync flush (an empty stored block 00 00 FF FF after the block header bits and
 * padding) whose 4-byte tail the sender removes; the receiver appends it again (7.2.2).
 *
 * Memory: every block zlib takes (and the z_stream itself) comes from acct->mem with a
 * 16-byte header recording its size, so zfree can give it back to acct->used; a block that
 * would take acct->used over acct->budget is refused (zlib reports Z_MEM_ERROR).
 *
 * States of each stream: released (z == NULL, no memory) -> open (z != NULL; between
 * messages when context takeover keeps it) -> midstream (bytes of a message went in) ->
 * open again after *_end(reset = 0), or released after *_end(reset = 1) / *_free.
 *
 * Inflater invariants: `ended` is set once a block with BFINAL = 1 ended the peer's DEFLATE
 * stream in the current message; from then on the stream has been reset, the rest of the
 * message may hold only blocks that produce no output (the 0x00 of RFC 7692 7.2.3.3 plus the
 * appended tail form an empty stored block), and `boundary` tells whether the last byte fed
 * ended a block (RFC 7692 7.2.2: after the tail, a complete message always does). */
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "deflate.h"

const uint8_t rtw__deflate_tail[4] = {0x00, 0x00, 0xFF, 0xFF};

/* Header before every block zlib takes: its total size, for zfree. 16 bytes keep the block
 * aligned for any type zlib stores. */
#define ZHDR 16u

/* zlib's own state structs (deflate_state, inflate_state) are not public; these are upper
 * bounds of their sizes on 64-bit targets (zlib 1.2.x: about 5.9 KiB and 7.1 KiB), checked
 * against the measured memory in tests/ws/deflate_zlib_test.c. */
#define DEFLATE_STATE_MAX 6144u
#define INFLATE_STATE_MAX 7424u

/* ------------------------------------------------------------------ accounting */

static voidpf zalloc_cb(voidpf opaque, uInt items, uInt size)
{
  rtw__zacct *acct = opaque;
  size_t n, total;
  unsigned char *p;

  if (size != 0 && items > (SIZE_MAX - ZHDR) / size)
    return Z_NULL;
  n = (size_t)items * size;
  total = n + ZHDR;
  if (total > acct->budget || acct->used > acct->budget - total)
    return Z_NULL;
  p = rtw__mem_malloc(&acct->mem, total);
  if (p == NULL)
    return Z_NULL;
  memcpy(p, &total, sizeof total);
  acct->used += total;
  return p + ZHDR;
}

static void zfree_cb(voidpf opaque, voidpf address)
{
  rtw__zacct *acct = opaque;
  unsigned char *p;
  size_t total;

  if (address == Z_NULL)
    return;
  p = (unsigned char *)address - ZHDR;
  memcpy(&total, p, sizeof total);
  acct->used -= total;
  rtw__mem_free(&acct->mem, p);
}

/* A zeroed z_stream taken through the accounting (so it counts against the budget too). */
static z_stream *stream_new(rtw__zacct *acct)
{
  z_stream *z = zalloc_cb(acct, 1, (uInt)sizeof(z_stream));

  if (z == NULL)
    return NULL;
  memset(z, 0, sizeof *z);
  z->zalloc = zalloc_cb;
  z->zfree = zfree_cb;
  z->opaque = acct;
  return z;
}

/* zconf.h: deflate takes (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes in four
 * blocks (window, prev, head, pending_buf) besides its state struct; plus the z_stream. */
size_t rtw__deflate_mem_estimate(unsigned window_bits, unsigned mem_level)
{
  return ((size_t)1 << (window_bits + 2)) + ((size_t)1 << (mem_level + 9)) +
         DEFLATE_STATE_MAX + sizeof(z_stream) + 6 * ZHDR;
}

/* zconf.h: inflate takes 1 << windowBits for its window (allocated when the first output
 * comes) besides its state struct (about 7 KiB); plus the z_stream. */
size_t rtw__inflate_mem_estimate(unsigned window_bits)
{
  return ((size_t)1 << window_bits) + INFLATE_STATE_MAX + sizeof(z_stream) + 3 * ZHDR;
}

/* ------------------------------------------------------------------ compressor */

int rtw__deflater_init(rtw__deflater *d, rtw__zacct *acct, unsigned level, unsigned window_bits,
                       unsigned mem_level)
{
  /* zlib refuses windowBits 8 for raw deflate (since 1.2.9); RFC 7692 7.1.2.1 lets the
   * server answer another value, negotiation keeps 8 away from compressors. */
  if (d == NULL || acct == NULL || level < 1 || level > 9 || window_bits < 9 ||
      window_bits > 15 || mem_level < 1 || mem_level > 9)
    return RTW_ERR_INVALID_ARGUMENT;
  memset(d, 0, sizeof *d);
  d->acct = acct;
  d->level = (uint8_t)level;
  d->window_bits = (uint8_t)window_bits;
  d->mem_level = (uint8_t)mem_level;
  return 0;
}

static int deflate_open(rtw__deflater *d)
{
  z_stream *z = stream_new(d->acct);
  int zr;

  if (z == NULL)
    return RTW_ERR_NOMEM;
  /* Negative windowBits: raw DEFLATE, no zlib header or trailer (RFC 7692 7.2.1). */
  zr = deflateInit2(z, d->level, Z_DEFLATED, -(int)d->window_bits, d->mem_level,
                    Z_DEFAULT_STRATEGY);
  if (zr != Z_OK) {
    zfree_cb(d->acct, z);
    return zr == Z_MEM_ERROR ? RTW_ERR_NOMEM : RTW_ERR_INVALID_ARGUMENT;
  }
  d->z = z;
  return 0;
}

/* Run deflate with a sync flush over all of in, growing out as long as zlib fills it. */
static int deflate_run(rtw__deflater *d, const uint8_t *in, size_t len, rtw__buf *out)
{
  z_stream *z = d->z;
  size_t step = len / 4 + 64;
  int zr;

  do {
    uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;
    int flush = len > chunk ? Z_NO_FLUSH : Z_SYNC_FLUSH;

    z->next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through next_in */
    z->avail_in = chunk;
    do {
      if (rtw__buf_reserve(out, &d->acct->mem, step) != 0)
        return RTW_ERR_NOMEM;
      z->next_out = (Bytef *)out->data + out->len;
      z->avail_out = out->cap - out->len > UINT_MAX ? UINT_MAX : (uInt)(out->cap - out->len);
      zr = deflate(z, flush);
      out->len = (size_t)((char *)z->next_out - out->data);
      if (zr == Z_MEM_ERROR)
        return RTW_ERR_NOMEM;
      if (zr != Z_OK && zr != Z_BUF_ERROR) /* Z_STREAM_ERROR: cannot happen with our state */
        return RTW_ERR_INVALID_STATE;
      step = step < SIZE_MAX / 2 ? step * 2 : step;
      /* zlib: with avail_out == 0 call again with the same flush and more room. */
    } while (z->avail_out == 0);
    if (len == 0) /* in may be NULL: no pointer arithmetic on it */
      break;
    in += chunk - z->avail_in;
    len -= chunk - z->avail_in;
  } while (len > 0);
  return 0;
}

int rtw__deflate(rtw__deflater *d, const void *in, size_t len, int fin, rtw__buf *out)
{
  size_t start = out->len;
  int rv;

  if (d->z == NULL && (rv = deflate_open(d)) != 0)
    return rv;
  d->midstream = 1;
  rv = deflate_run(d, in, len, out);
  if (rv != 0) {
    out->len = start;
    return rv;
  }
  if (!fin)
    return 0;
  /* RFC 7692 7.2.1: remove the 4 octets 00 00 FF FF at the tail end. A sync flush after
   * input always ends with them (and is at least 5 bytes: the block header bits take one). */
  if (out->len - start >= 4 && memcmp(out->data + out->len - 4, rtw__deflate_tail, 4) == 0)
    out->len -= 4;
  else if (out->len == start) {
    /* Nothing new since the last flush (an empty message, or a fin after pieces already
     * flushed): zlib emits no second empty block, so write its header byte ourselves; with
     * the receiver's tail it forms an empty stored block (RFC 7692 7.2.3.6: 0x00). */
    rv = rtw__buf_append(out, &d->acct->mem, "", 1);
    if (rv != 0)
      return rv;
  }
  return 0;
}

void rtw__deflate_end(rtw__deflater *d, int reset)
{
  d->midstream = 0;
  if (reset)
    rtw__deflater_free(d);
}

int rtw__deflate_reset(rtw__deflater *d)
{
  d->midstream = 0;
  if (d->z != NULL && deflateReset(d->z) != Z_OK) {
    rtw__deflater_free(d);
    return RTW_ERR_NOMEM;
  }
  return 0;
}

void rtw__deflater_free(rtw__deflater *d)
{
  if (d->z != NULL) {
    deflateEnd(d->z);
    zfree_cb(d->acct, d->z);
    d->z = NULL;
  }
  d->midstream = 0;
}

/* ------------------------------------------------------------------ decompressor */

int rtw__inflater_init(rtw__inflater *i, rtw__zacct *acct, unsigned window_bits)
{
  /* Raw inflate accepts windowBits 8..15 (a peer may compress with a 256-byte window). */
  if (i == NULL || acct == NULL || window_bits < 8 || window_bits > 15)
    return RTW_ERR_INVALID_ARGUMENT;
  memset(i, 0, sizeof *i);
  i->acct = acct;
  i->window_bits = (uint8_t)window_bits;
  i->boundary = 1;
  return 0;
}

static int inflate_open(rtw__inflater *i)
{
  z_stream *z = stream_new(i->acct);
  int zr;

  if (z == NULL)
    return RTW_ERR_NOMEM;
  zr = inflateInit2(z, -(int)i->window_bits);
  if (zr != Z_OK) {
    zfree_cb(i->acct, z);
    return zr == Z_MEM_ERROR ? RTW_ERR_NOMEM : RTW_ERR_INVALID_ARGUMENT;
  }
  i->z = z;
  i->boundary = 1;
  return 0;
}

static int inflate_error(int zr)
{
  /* Z_NEED_DICT cannot come from a raw stream; treat it as bad data like Z_DATA_ERROR. */
  return zr == Z_MEM_ERROR ? RTW_ERR_NOMEM : RTW_ERR_WS_BAD_COMPRESSED;
}

int rtw__inflate(rtw__inflater *i, const void *in, size_t len, size_t *nin, void *out, size_t cap,
                 size_t *nout)
{
  static unsigned char none;
  const uint8_t *src = in;
  uint8_t *dst = cap > 0 ? out : &none;
  z_stream *z;
  int rv, zr;

  *nin = *nout = 0;
  if (i->z == NULL && (rv = inflate_open(i)) != 0)
    return rv;
  z = i->z;
  i->midstream = 1;
  for (;;) {
    uInt ain = len - *nin > UINT_MAX ? UINT_MAX : (uInt)(len - *nin);
    uInt aout = cap - *nout > UINT_MAX ? UINT_MAX : (uInt)(cap - *nout);
    size_t took, made;

    z->next_in = (Bytef *)(uintptr_t)(src ? src + *nin : NULL);
    z->avail_in = ain;
    z->next_out = dst + *nout;
    z->avail_out = aout;
    zr = inflate(z, Z_SYNC_FLUSH);
    took = ain - z->avail_in;
    made = aout - z->avail_out;
    *nin += took;
    *nout += made;
    if (zr == Z_STREAM_END) {
      /* A block with BFINAL = 1 (RFC 7692 7.2.3.3) ended the peer's DEFLATE stream: the
       * rest of the message, the 0x00 the RFC asks for plus our tail, is a new stream. */
      if (i->ended && made > 0) {
        *nout -= made; /* the output after the end is the error; what came before stands */
        return RTW_ERR_WS_BAD_COMPRESSED;
      }
      i->ended = 1;
      if (inflateReset(z) != Z_OK)
        return RTW_ERR_INVALID_STATE;
      i->boundary = 1;
      continue;
    }
    if (zr != Z_OK && zr != Z_BUF_ERROR)
      return inflate_error(zr);
    /* After the final block only empty blocks may follow within the message. */
    if (i->ended && made > 0) {
      *nout -= made; /* as above: only the output before the final block's end counts */
      return RTW_ERR_WS_BAD_COMPRESSED;
    }
    i->boundary = (z->data_type & 128) != 0;
    /* Z_BUF_ERROR: no progress possible (input used up or output full), not an error. */
    if (zr == Z_BUF_ERROR || (took == 0 && made == 0) || *nin == len || *nout == cap)
      return 0;
  }
}

int rtw__inflate_end(rtw__inflater *i, int reset)
{
  int rv = 0;

  /* RFC 7692 7.2.2: with the tail appended, a whole message ends at a block boundary; a
   * message cut inside a block would make the next one decode from the middle of it. */
  if (i->z != NULL && i->midstream && !i->boundary)
    rv = RTW_ERR_WS_BAD_COMPRESSED;
  i->midstream = 0;
  /* After a final block the window is gone (inflateReset): the peer ended its DEFLATE
   * stream, so it cannot refer back past it; the next message starts a fresh stream even
   * with context takeover. */
  i->ended = 0;
  if (reset || rv != 0)
    rtw__inflater_free(i);
  return rv;
}

int rtw__inflate_reset(rtw__inflater *i)
{
  i->midstream = 0;
  i->ended = 0;
  i->boundary = 1;
  if (i->z != NULL && inflateReset(i->z) != Z_OK) {
    rtw__inflater_free(i);
    return RTW_ERR_NOMEM;
  }
  return 0;
}

void rtw__inflater_free(rtw__inflater *i)
{
  if (i->z != NULL) {
    inflateEnd(i->z);
    zfree_cb(i->acct, i->z);
    i->z = NULL;
  }
  i->midstream = 0;
  i->ended = 0;
  i->boundary = 1;
}
