/* SPDX-License-Identifier: MIT */
/* Internal frame header writer shared by rtw_ws_frame_build() and the session's send path,
 * inline so that sending a small frame costs no call. RFC 6455 5.2. */
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

#endif /* RTW_WS_CODEC_H */
