/* SPDX-License-Identifier: MIT */
/* The crypto seam: SHA-1 (for Sec-WebSocket-Accept, RFC 6455 4.2.2) and randomness. The only
 * place in rtweb that includes mbedTLS headers; swap this one file to use another backend. */
#ifndef RTW_CORE_CRYPTO_H
#define RTW_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define RTW__SHA1_LEN 20

/* SHA-1 of n bytes into out. Returns 0 or RTW_ERR_UNSUPPORTED when the backend fails. */
int rtw__sha1(const void *p, size_t n, uint8_t out[RTW__SHA1_LEN]);

#endif /* RTW_CORE_CRYPTO_H */
