/* SPDX-License-Identifier: MIT */
/* ChaCha20 block function (RFC 8439 2.3) and the fast-key-erasure refill. See chacha.h. */
#include <string.h>

#include "chacha.h"

static uint32_t load32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

#define ROTL(v, n) ((uint32_t)((v) << (n)) | ((v) >> (32 - (n))))

/* RFC 8439 2.1: the quarter round on four words of the state. */
#define QR(a, b, c, d)                                                                  \
  do {                                                                                \
    a += b, d ^= a, d = ROTL(d, 16);                                                  \
    c += d, b ^= c, b = ROTL(b, 12);                                                  \
    a += b, d ^= a, d = ROTL(d, 8);                                                   \
    c += d, b ^= c, b = ROTL(b, 7);                                                   \
  } while (0)

void rtw__chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                         uint8_t out[64])
{
  uint32_t in[16], x[16];
  int i;

  /* RFC 8439 2.3: constants, key, counter, nonce (all little-endian words) */
  in[0] = 0x61707865u; /* "expa" */
  in[1] = 0x3320646eu; /* "nd 3" */
  in[2] = 0x79622d32u; /* "2-by" */
  in[3] = 0x6b206574u; /* "te k" */
  for (i = 0; i < 8; i++)
    in[4 + i] = load32(key + 4 * i);
  in[12] = counter;
  for (i = 0; i < 3; i++)
    in[13 + i] = load32(nonce + 4 * i);
  memcpy(x, in, sizeof x);
  for (i = 0; i < 10; i++) { /* 20 rounds: column rounds, then diagonal rounds */
    QR(x[0], x[4], x[8], x[12]);
    QR(x[1], x[5], x[9], x[13]);
    QR(x[2], x[6], x[10], x[14]);
    QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]);
    QR(x[1], x[6], x[11], x[12]);
    QR(x[2], x[7], x[8], x[13]);
    QR(x[3], x[4], x[9], x[14]);
  }
  for (i = 0; i < 16; i++) /* the working state added to the input state */
    store32(out + 4 * i, x[i] + in[i]);
}

void rtw__chacha20_refill(uint8_t pool[64])
{
  static const uint8_t zero[12] = {0};

  rtw__chacha20_block(pool, 0, zero, pool); /* the key is read before the pool is written */
}
