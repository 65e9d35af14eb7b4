/* SPDX-License-Identifier: MIT */
/* Base64 encoder (RFC 4648 section 4) writing a quoted JSON string to a stdio stream. */

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode one group of 1..3 bytes as 4 characters, '=' standing for the missing bytes. */
static void encode_group(const unsigned char *p, size_t n, char out[4])
{
  unsigned long v = (unsigned long)p[0] << 16;

  if (n > 1)
    v |= (unsigned long)p[1] << 8;
  if (n > 2)
    v |= (unsigned long)p[2];
  out[0] = alphabet[(v >> 18) & 0x3f];
  out[1] = alphabet[(v >> 12) & 0x3f];
  out[2] = n > 1 ? alphabet[(v >> 6) & 0x3f] : '=';
  out[3] = n > 2 ? alphabet[v & 0x3f] : '=';
}

void rtwcat_base64(FILE *out, const void *data, size_t n)
{
  const unsigned char *p = data;
  char buf[1024]; /* whole groups only: a multiple of 4 */
  size_t used = 0;

  putc('"', out);
  while (n > 0) {
    size_t take = n < 3 ? n : 3;

    encode_group(p, take, buf + used);
    used += 4;
    if (used == sizeof buf) {
      fwrite(buf, 1, used, out);
      used = 0;
    }
    p += take;
    n -= take;
  }
  fwrite(buf, 1, used, out);
  putc('"', out);
}
