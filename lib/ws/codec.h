/* SPDX-License-Identifier: MIT */
/* Internal frame header reader and writer shared by the public codec (frame.c) and the
 * session, inline so that a small frame costs no call. RFC 6455 5.2. */
#ifndef RTW_WS_CODEC_H
#define RTW_WS_CODEC_H

#include <stdint.h>
#include <string.h>

#include "rtweb/ws.h"

/* Write the header of a valid frame (opcode <= 15, rsv <= 7, payload_len < 2^63) into p,
 * which has room for RTW_WS_MAX_HEADER bytes. Returns its length (2..14). */
static inline size_t rtw__ws_put_header(uint8_t *p, const rtw_ws_frame *f)
{
  uint64_t n = f->payload_len;
  size_t pos = 2;

  p[0] = (uint8_t)((f->fin ? 0x80u : 0u) | (unsigned)f->rsv << 4 | f->opcode);
  p[1] = (uint8_t)(f->masked ? 0x80u : 0u);
  /* RFC 6455 5.2: the minimal number of bytes for the length, network byte order. */
  if (n < 126u) {
    p[1] = (uint8_t)(p[1] | n);
  } else if (n <= 0xFFFFu) {
    p[1] = (uint8_t)(p[1] | 126u);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    pos = 4;
  } else {
    unsigned i;
    p[1] = (uint8_t)(p[1] | 127u);
    for (i = 0; i < 8; i++)
      p[2 + i] = (uint8_t)(n >> (56 - 8 * i));
    pos = 10;
  }
  if (f->masked) {
    memcpy(p + pos, f->mask, 4);
    pos += 4;
  }
  return pos;
}

/* The first two header bytes into f (all but the length and the key). */
static inline void rtw__ws_first_two(rtw_ws_frame *f, unsigned b0, unsigned b1)
{
  f->fin = (uint8_t)(b0 >> 7);
  f->rsv = (uint8_t)((b0 >> 4) & 7u); /* RSV1 is 0x40 of byte 0, RTW_WS_RSV1 is 0x4 */
  f->opcode = (uint8_t)(b0 & 0x0Fu);
  f->masked = (uint8_t)(b1 >> 7);
}

/* The common header: a 7-bit length with at least 6 bytes of input. Returns its length
 * (2 or 6) after filling f, or 0 when the header needs the general parser. A 7-bit length
 * is always minimal, so nothing can be wrong with it. */
static inline size_t rtw__ws_parse_short(const uint8_t *p, size_t len, rtw_ws_frame *f)
{
  unsigned b1;
  uint32_t key;

  if (len < 6 || (p[1] & 0x7Fu) >= 126u)
    return 0;
  b1 = p[1];
  rtw__ws_first_two(f, p[0], b1);
  f->payload_len = b1 & 0x7Fu;
  /* RFC 6455 5.2: the masking key follows the 7-bit length when MASK is 1; read it, or
   * zero, without a branch */
  memcpy(&key, p + 2, 4);
  key &= 0u - (uint32_t)(b1 >> 7);
  memcpy(f->mask, &key, 4);
  return 2u + 4u * (b1 >> 7);
}

#endif /* RTW_WS_CODEC_H */
