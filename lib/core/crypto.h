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

/* Fill n bytes from the operating system's CSPRNG (getrandom, else /dev/urandom). Returns 0 or
 * RTW_ERR_UNSUPPORTED. Used for WebSocket masking keys (RFC 6455 10.3: "unpredictable") and
 * Sec-WebSocket-Key when the host gives no RNG callback. */
int rtw__random(void *buf, size_t n);

/* Fill n bytes to seed a key stream whose output goes out in the clear and must only be
 * unpredictable (RFC 6455 10.3: WebSocket masking keys): from the CPU's random number
 * generator where it answers and passes a health check (x86 RDRAND, an SP 800-90A DRBG
 * reseeded from on-chip entropy), else rtw__random(). No system call in the first case: in
 * a virtual machine one getrandom() costs microseconds and the TLB, per session (issue 15,
 * r7). Returns 0 or RTW_ERR_UNSUPPORTED. Not for secrets. */
int rtw__random_seed(void *buf, size_t n);

#endif /* RTW_CORE_CRYPTO_H */
