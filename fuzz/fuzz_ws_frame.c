/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the WebSocket frame codec: header parse against an independent
 * decoder, parse/build and build/parse round trips, and masking against a byte loop. */
/*
 * Every input runs three independent parts over the same bytes:
 *
 * (a) parse. rtw_ws_frame_parse() on the whole input (libFuzzer's buffer is exactly sized,
 *     so ASan sees any read past `len`) and on heap copies of exactly k bytes for every
 *     prefix k = 0..min(size, 15). The result is compared with a decoder written here from
 *     RFC 6455 5.2: `header_len` is 0 ("need more") or 2..14, as the decoder computes; the
 *     fields match; RTW_ERR_WS_BAD_LENGTH exactly for a complete header with a non-minimal
 *     16/64-bit length or a 64-bit length with its top bit set; an unmasked frame has an
 *     all-zero mask (docs/websocket.md). Once a prefix is accepted, every longer one gives the
 *     same header. And rtw_ws_frame_build() of an accepted header gives back its bytes.
 *
 * (b) build. A header decoded from the input:
 *       byte 0  FIN (bit 7), RSV (bits 4-6), opcode (bits 0-3), as on the wire
 *       byte 1  bit 7 masked; bits 0-6 the 7-bit length (class 0)
 *       byte 2  bits 0-1 length class: 0 the 7-bit length (126/127 included), 1 a u16,
 *               2 a u64 shifted right by byte 2 bits 2-7 (any size, below 2^63),
 *               3 a raw u64 (often >= 2^63: invalid); bit 6 fin/masked as other non-zero
 *               values; bit 7 an invalid rsv (> 7) or opcode (> 15) (bits 2-3 choose)
 *       bytes 3-6   the masking key;  then the u16 / u64 of the length class
 *     Invalid frames give RTW_ERR_INVALID_ARGUMENT and header_len 0; valid ones the minimal
 *     encoding (checked against an independent encoder), and parse() of the result gives
 *     back the frame (non-zero fin/masked as 1), while every shorter prefix "needs more".
 *
 * (c) mask. key = bytes 0-3, offset = bytes 4-11 (u64; bit 7 of byte 4 keeps it below 8),
 *     a piece seed = bytes 12-15, src/dst alignment = byte 16, and the payload is the whole
 *     input. rtw_ws_mask() whole, out of place and in place, and in random pieces with a
 *     running offset (in place and out of place), plus every kernel this CPU has (portable,
 *     AVX2, AVX-512, the inline small-payload path) must equal a byte loop; buffers are
 *     exactly sized heap blocks at the chosen alignment; masking twice gives back the input.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mask.h" /* the kernels, to test each one the CPU has */
#include "rtweb/ws.h"

/* ------------------------------------------------------------------ (a) parse */

/* RFC 6455 5.2, decoded byte by byte. Returns 1 when a complete header is there (then
 * *bad says whether its length encoding is invalid), 0 when more bytes are needed. */
typedef struct ref_hdr {
  size_t hlen;
  int bad;
  unsigned fin, rsv, opcode, masked;
  uint8_t key[4];
  uint64_t len;
} ref_hdr;

static int ref_decode(const uint8_t *p, size_t n, ref_hdr *h)
{
  unsigned len7, ext, i;

  memset(h, 0, sizeof *h);
  if (n < 2)
    return 0;
  h->fin = p[0] >> 7;
  h->rsv = (p[0] >> 4) & 7u;
  h->opcode = p[0] & 15u;
  h->masked = p[1] >> 7;
  len7 = p[1] & 127u;
  ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  h->hlen = 2 + ext + (h->masked ? 4 : 0);
  if (n < h->hlen)
    return 0;
  if (ext == 0) {
    h->len = len7;
  } else {
    for (i = 0; i < ext; i++)
      h->len = h->len << 8 | p[2 + i];
  }
  if (ext == 2 && h->len < 126)
    h->bad = 1; /* "the minimal number of bytes MUST be used" */
  if (ext == 8 && (h->len < 65536 || (h->len >> 63) != 0))
    h->bad = 1; /* ... and "the most significant bit MUST be 0" */
  if (h->masked)
    memcpy(h->key, p + 2 + ext, 4);
  return 1;
}

/* One parse of exactly n bytes at p, checked against the reference decoder. Returns the
 * header length accepted (0 for none). */
static size_t parse_checked(const uint8_t *p, size_t n)
{
  rtw_ws_frame f;
  ref_hdr h;
  size_t hl = 99;
  int complete = ref_decode(p, n, &h);
  int rv;

  memset(&f, 0xA5, sizeof f);
  rv = rtw_ws_frame_parse(p, n, &f, &hl);
  if (!complete) {
    FUZZ_CHECK(rv == 0 && hl == 0);
    return 0;
  }
  if (h.bad) {
    FUZZ_CHECK(rv == RTW_ERR_WS_BAD_LENGTH);
    return 0;
  }
  FUZZ_CHECK(rv == 0);
  FUZZ_CHECK(hl == h.hlen && hl >= 2 && hl <= RTW_WS_MAX_HEADER);
  FUZZ_CHECK(f.fin == h.fin && f.rsv == h.rsv && f.opcode == h.opcode);
  FUZZ_CHECK(f.masked == h.masked && f.payload_len == h.len);
  FUZZ_CHECK(memcmp(f.mask, h.key, 4) == 0); /* all zero when not masked */
  {
    /* parse -> build gives back the same bytes (every accepted header is minimal) */
    uint8_t out[RTW_WS_MAX_HEADER];
    size_t bl = 99;
    FUZZ_CHECK(rtw_ws_frame_build(out, &f, &bl) == 0);
    FUZZ_CHECK(bl == hl && memcmp(out, p, hl) == 0);
  }
  return hl;
}

static void part_parse(const uint8_t *data, size_t size)
{
  size_t k, lim = size < 15 ? size : 15, first = 0, whole;

  whole = parse_checked(data, size);
  for (k = 0; k <= lim; k++) {
    uint8_t *copy = malloc(k ? k : 1);
    size_t hl;
    FUZZ_CHECK(copy != NULL);
    if (k > 0)
      memcpy(copy, data, k);
    hl = parse_checked(k ? copy : NULL, k);
    free(copy);
    /* once the header is whole, more bytes change nothing */
    if (first == 0)
      first = hl;
    else
      FUZZ_CHECK(hl == first);
  }
  if (first != 0)
    FUZZ_CHECK(whole == first);
  {
    /* invalid arguments */
    rtw_ws_frame f;
    size_t hl = 99;
    FUZZ_CHECK(rtw_ws_frame_parse(data, size, NULL, &hl) == RTW_ERR_INVALID_ARGUMENT);
    FUZZ_CHECK(hl == 0);
    FUZZ_CHECK(rtw_ws_frame_parse(data, size, &f, NULL) == RTW_ERR_INVALID_ARGUMENT);
    if (size > 0) {
      hl = 99;
      FUZZ_CHECK(rtw_ws_frame_parse(NULL, size, &f, &hl) == RTW_ERR_INVALID_ARGUMENT);
      FUZZ_CHECK(hl == 0);
    }
  }
}

/* ------------------------------------------------------------------ (b) build */

/* The minimal encoding, written from RFC 6455 5.2. */
static size_t ref_encode(uint8_t *p, int fin, unsigned rsv, unsigned op, int masked,
                         const uint8_t key[4], uint64_t len)
{
  size_t n = 0;
  int i;

  p[n++] = (uint8_t)((fin ? 0x80 : 0) | rsv << 4 | op);
  if (len <= 125) {
    p[n++] = (uint8_t)((masked ? 0x80 : 0) | len);
  } else if (len <= 65535) {
    p[n++] = (uint8_t)((masked ? 0x80 : 0) | 126);
    p[n++] = (uint8_t)(len >> 8);
    p[n++] = (uint8_t)len;
  } else {
    p[n++] = (uint8_t)((masked ? 0x80 : 0) | 127);
    for (i = 7; i >= 0; i--)
      p[n++] = (uint8_t)(len >> (8 * i));
  }
  if (masked) {
    memcpy(p + n, key, 4);
    n += 4;
  }
  return n;
}

static void part_build(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  uint8_t b0 = fuzz_u8(&in), b1 = fuzz_u8(&in), b2 = fuzz_u8(&in);
  uint8_t expect[RTW_WS_MAX_HEADER];
  uint8_t *out;
  rtw_ws_frame f, g;
  size_t hl = 99, el, k;
  int invalid, rv;

  memset(&f, 0, sizeof f);
  f.fin = (uint8_t)(b0 >> 7);
  f.rsv = (uint8_t)((b0 >> 4) & 7u);
  f.opcode = (uint8_t)(b0 & 15u);
  f.masked = (uint8_t)(b1 >> 7);
  f.mask[0] = fuzz_u8(&in);
  f.mask[1] = fuzz_u8(&in);
  f.mask[2] = fuzz_u8(&in);
  f.mask[3] = fuzz_u8(&in);
  switch (b2 & 3u) {
  case 0:
    f.payload_len = b1 & 127u;
    break;
  case 1:
    f.payload_len = fuzz_u16(&in);
    break;
  case 2: {
    uint64_t v = fuzz_u32(&in);
    v |= (uint64_t)fuzz_u32(&in) << 32;
    f.payload_len = (v >> 1) >> ((b2 >> 2) & 63u);
    break;
  }
  default: {
    uint64_t v = fuzz_u32(&in);
    f.payload_len = v | (uint64_t)fuzz_u32(&in) << 32;
    break;
  }
  }
  if (b2 & 0x40) { /* any non-zero fin/masked counts as 1 */
    f.fin = (uint8_t)(f.fin ? 2 + (b1 & 0x7F) : 0);
    f.masked = (uint8_t)(f.masked ? 0xFF : 0);
  }
  if (b2 & 0x80) {
    if (b2 & 0x04)
      f.rsv = (uint8_t)(8u + (b0 & 0xF7u));
    else
      f.opcode = (uint8_t)(16u + (b0 & 0xEFu));
  }
  invalid = f.opcode > 15 || f.rsv > 7 || (f.payload_len >> 63) != 0;
  out = malloc(RTW_WS_MAX_HEADER); /* exactly the documented room */
  FUZZ_CHECK(out != NULL);
  rv = rtw_ws_frame_build(out, &f, &hl);
  if (invalid) {
    FUZZ_CHECK(rv == RTW_ERR_INVALID_ARGUMENT && hl == 0);
    free(out);
    return;
  }
  FUZZ_CHECK(rv == 0);
  el = ref_encode(expect, f.fin != 0, f.rsv, f.opcode, f.masked != 0, f.mask, f.payload_len);
  FUZZ_CHECK(hl == el && memcmp(out, expect, el) == 0);
  /* build -> parse gives back the frame; every shorter prefix needs more */
  for (k = 0; k < hl; k++) {
    size_t h2 = 99;
    FUZZ_CHECK(rtw_ws_frame_parse(out, k, &g, &h2) == 0 && h2 == 0);
  }
  memset(&g, 0x5A, sizeof g);
  FUZZ_CHECK(rtw_ws_frame_parse(out, hl, &g, &k) == 0 && k == hl);
  FUZZ_CHECK(g.fin == (f.fin != 0) && g.rsv == f.rsv && g.opcode == f.opcode);
  FUZZ_CHECK(g.masked == (f.masked != 0) && g.payload_len == f.payload_len);
  if (f.masked)
    FUZZ_CHECK(memcmp(g.mask, f.mask, 4) == 0);
  free(out);
  /* NULL arguments */
  hl = 99;
  FUZZ_CHECK(rtw_ws_frame_build(NULL, &f, &hl) == RTW_ERR_INVALID_ARGUMENT && hl == 0);
  FUZZ_CHECK(rtw_ws_frame_build(expect, NULL, &hl) == RTW_ERR_INVALID_ARGUMENT && hl == 0);
  FUZZ_CHECK(rtw_ws_frame_build(expect, &f, NULL) == RTW_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ (c) mask */

/* A heap block of exactly align + n bytes; the payload starts at align. */
typedef struct block {
  uint8_t *base;
  uint8_t *p;
} block;

static void block_new(block *b, size_t align, size_t n)
{
  b->base = malloc(align + n ? align + n : 1);
  FUZZ_CHECK(b->base != NULL);
  b->p = b->base + align;
}

typedef void (*kernel_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                          uint64_t offset);

/* The library's own small-payload inline path (mask.h), as a function. */
static void kernel_inline(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                          uint64_t offset)
{
  rtw__ws_mask(dst, src, len, key_le, offset);
}

/* Mask src into dst in random pieces with a running offset; `in_place` copies first. */
static void pieces(fuzz_rng *rng, kernel_fn kern, const uint8_t key[4], uint8_t *dst,
                   const uint8_t *src, size_t n, uint64_t offset, int in_place)
{
  size_t pos = 0;

  if (in_place && n > 0)
    memcpy(dst, src, n);
  while (pos < n) {
    size_t k = 1 + fuzz_rng_below(rng, fuzz_rng_below(rng, 4) == 0 ? n - pos : 80);
    if (k > n - pos)
      k = n - pos;
    if (fuzz_rng_below(rng, 8) == 0)
      k = 0; /* empty pieces are fine too */
    if (kern == NULL)
      rtw_ws_mask(dst + pos, in_place ? dst + pos : src + pos, k, key, offset + pos);
    else
      kern(dst + pos, in_place ? dst + pos : src + pos, k, rtw__ws_mask_key(key),
           offset + pos);
    pos += k;
  }
}

static void part_mask(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  uint8_t key[4];
  uint64_t offset;
  uint32_t seed;
  size_t a_src, a_dst, i, v, nk = 0;
  uint8_t b16;
  block src, dst, oracle;
  fuzz_rng rng;
  kernel_fn kernels[4];
  int level;

  key[0] = fuzz_u8(&in);
  key[1] = fuzz_u8(&in);
  key[2] = fuzz_u8(&in);
  key[3] = fuzz_u8(&in);
  offset = fuzz_u32(&in);
  offset |= (uint64_t)fuzz_u32(&in) << 32;
  if (size > 4 && (data[4] & 0x80))
    offset &= 7;
  seed = fuzz_u32(&in);
  b16 = fuzz_u8(&in);
  a_src = b16 & 63u;
  a_dst = (b16 >> 2) & 63u; /* correlated with a_src, often equal mod 4 */
  fuzz_rng_seed(&rng, seed);

  block_new(&src, a_src, size);
  block_new(&dst, a_dst, size);
  block_new(&oracle, 0, size);
  if (size > 0)
    memcpy(src.p, data, size);
  /* RFC 6455 5.3: octet i XOR key octet (i MOD 4), i counted from the start of the payload */
  for (i = 0; i < size; i++)
    oracle.p[i] = (uint8_t)(data[i] ^ key[(offset + i) % 4]);

  kernels[nk++] = NULL; /* rtw_ws_mask itself */
  kernels[nk++] = kernel_inline;
  kernels[nk++] = rtw__ws_mask_portable;
  level = rtw__ws_mask_level();
#if defined(RTW__WS_MASK_HAVE_X86)
  if (level >= RTW__WS_MASK_AVX512 && (seed & 1))
    kernels[nk++] = rtw__ws_mask_avx512;
  else if (level >= RTW__WS_MASK_AVX2)
    kernels[nk++] = rtw__ws_mask_avx2;
#else
  (void)level;
#endif
  for (v = 0; v < nk; v++) {
    kernel_fn k = kernels[v];
    /* whole, out of place */
    if (size > 0)
      memset(dst.p, 0xEE, size);
    if (k == NULL)
      rtw_ws_mask(dst.p, src.p, size, key, offset);
    else
      k(dst.p, src.p, size, rtw__ws_mask_key(key), offset);
    FUZZ_CHECK(size == 0 || memcmp(dst.p, oracle.p, size) == 0);
    FUZZ_CHECK(size == 0 || memcmp(src.p, data, size) == 0); /* src untouched */
    /* whole, in place, and back */
    if (k == NULL) {
      rtw_ws_mask(dst.p, dst.p, size, key, offset);
    } else {
      k(dst.p, dst.p, size, rtw__ws_mask_key(key), offset);
    }
    FUZZ_CHECK(size == 0 || memcmp(dst.p, data, size) == 0);
    /* pieces with a running offset, out of place and in place */
    if (size > 0)
      memset(dst.p, 0xEE, size);
    pieces(&rng, k, key, dst.p, src.p, size, offset, 0);
    FUZZ_CHECK(size == 0 || memcmp(dst.p, oracle.p, size) == 0);
    pieces(&rng, k, key, dst.p, src.p, size, offset, 1);
    FUZZ_CHECK(size == 0 || memcmp(dst.p, oracle.p, size) == 0);
    FUZZ_CHECK(size == 0 || memcmp(src.p, data, size) == 0);
  }
  /* NULL pointers: nothing happens (and nothing crashes) */
  rtw_ws_mask(NULL, src.p, size, key, offset);
  rtw_ws_mask(dst.p, NULL, size, key, offset);
  rtw_ws_mask(dst.p, src.p, size, NULL, offset);
  free(src.base);
  free(dst.base);
  free(oracle.base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  part_parse(data, size);
  part_build(data, size);
  part_mask(data, size);
  return 0;
}
