/* SPDX-License-Identifier: MIT */
/* The ChaCha20 block function (RFC 8439 2.3) and a fast-key-erasure key stream built on it,
 * for WebSocket masking keys (RFC 6455 5.3, 10.3: "derived from a strong source of entropy",
 * unpredictable to the application that chooses the payload).
 *
 * Why not the operating system for every batch of keys: a getrandom() system call costs about
 * 1.3 us here and, more than that, flushes the TLB under page-table isolation, so a 1 MiB
 * client message masked right after it runs at 0.6 of memcpy instead of 0.85 (issue 15, r7;
 * docs/performance.md). The stream is seeded once from the OS and then runs in user space.
 *
 * Fast key erasure (the construction of D. J. Bernstein's "Fast-key-erasure random-number
 * generators", 2017): the state is one 32-byte key; each refill computes one ChaCha20 block
 * under it (counter and nonce zero), the first 32 bytes of the block replace the key and the
 * other 32 are handed out. A copy of the state taken later cannot recompute keys handed out
 * before. */
#ifndef RTW_CORE_CHACHA_H
#define RTW_CORE_CHACHA_H

#include <stddef.h>
#include <stdint.h>

/* One ChaCha20 block (RFC 8439 2.3): key (32 bytes), block counter, nonce (12 bytes) -> out
 * (64 bytes). out may overlap key (the key is read whole before anything is written). */
void rtw__chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                         uint8_t out[64]);

/* Fast-key-erasure refill of a 64-byte pool: pool[0..32) holds the key; afterwards it holds
 * the next key and pool[32..64) holds 32 fresh random bytes. */
void rtw__chacha20_refill(uint8_t pool[64]);

#endif /* RTW_CORE_CHACHA_H */
