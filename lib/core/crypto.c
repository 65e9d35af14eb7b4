/* SPDX-License-Identifier: MIT */
/* Crypto seam backed by mbedTLS (2.28 and 3.x, told apart by MBEDTLS_VERSION_NUMBER). */
#include <mbedtls/version.h>
#include <mbedtls/sha1.h>

#include <errno.h>
#include <stdio.h>
#if defined(__linux__)
#  include <sys/random.h>
#endif

#include "internal.h"
#include "crypto.h"

int rtw__sha1(const void *p, size_t n, uint8_t out[RTW__SHA1_LEN])
{
  int rv;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  rv = mbedtls_sha1((const unsigned char *)p, n, out);
#else
  rv = mbedtls_sha1_ret((const unsigned char *)p, n, out);
#endif
  return rv == 0 ? 0 : RTW_ERR_UNSUPPORTED;
}

int rtw__random(void *buf, size_t n)
{
  unsigned char *p = buf;
  FILE *f;
  size_t got;

#if defined(__linux__)
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      break; /* e.g. ENOSYS on an old kernel: fall back to the device */
    }
    p += r;
    n -= (size_t)r;
  }
  if (n == 0)
    return 0;
#endif
  f = fopen("/dev/urandom", "rb");
  if (f == NULL)
    return RTW_ERR_UNSUPPORTED;
  got = fread(p, 1, n, f);
  fclose(f);
  return got == n ? 0 : RTW_ERR_UNSUPPORTED;
}
