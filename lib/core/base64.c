/* SPDX-License-Identifier: MIT */
/* Base64 encoder and strict decoder (RFC 4648 section 4). See base64.h. */
#include "base64.h"

static const char alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rtw__base64_encode(const uint8_t *src, size_t n, char *out)
{
  size_t i = 0, o = 0;
  uint32_t v;

  for (; n - i >= 3; i += 3) {
    v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
  }
  if (n - i == 0)
    return o;
  /* RFC 4648 4: a final quantum of 8 or 16 bits gives 2 or 3 characters and padding */
  v = (uint32_t)src[i] << 16;
  if (n - i == 2)
    v |= (uint32_t)src[i + 1] << 8;
  out[o++] = alphabet[v >> 18];
  out[o++] = alphabet[(v >> 12) & 63];
  out[o++] = n - i == 2 ? alphabet[(v >> 6) & 63] : '=';
  out[o++] = '=';
  return o;
}

/* The 6-bit value of one alphabet character, or -1. */
static int sextet(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decode one group of 4 characters; `last` tells whether padding is allowed in it. Returns
 * the bytes produced (1..3) or -1. */
static int decode_group(const char *s, int last, uint8_t out[3])
{
  int a = sextet(s[0]), b = sextet(s[1]), c = sextet(s[2]), d = sextet(s[3]);
  uint32_t v;

  if (a < 0 || b < 0)
    return -1;
  if (last && s[2] == '=' && s[3] == '=') {
    /* RFC 4648 3.5: reject encodings whose unused bits are not zero */
    if (b & 0x0F)
      return -1;
    out[0] = (uint8_t)(a << 2 | b >> 4);
    return 1;
  }
  if (c < 0)
    return -1;
  if (last && s[3] == '=') {
    if (c & 0x03)
      return -1;
    v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
    out[0] = (uint8_t)(v >> 16);
    out[1] = (uint8_t)(v >> 8);
    return 2;
  }
  if (d < 0)
    return -1;
  v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
  out[0] = (uint8_t)(v >> 16);
  out[1] = (uint8_t)(v >> 8);
  out[2] = (uint8_t)v;
  return 3;
}

int rtw__base64_decode(const char *src, size_t len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
  size_t i, o = 0;
  uint8_t tmp[3];
  int n, j;

  if (len % 4 != 0)
    return -1;
  for (i = 0; i < len; i += 4) {
    n = decode_group(src + i, i + 4 == len, tmp);
    if (n < 0 || (size_t)n > out_cap - o)
      return -1;
    for (j = 0; j < n; j++)
      out[o++] = tmp[j];
  }
  *out_len = o;
  return 0;
}
