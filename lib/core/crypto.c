/* SPDX-License-Identifier: MIT */
/* Crypto seam backed by mbedTLS (2.28 and 3.x, told apart by MBEDTLS_VERSION_NUMBER). */
#include <mbedtls/version.h>
#include <mbedtls/sha1.h>

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
