/* SPDX-License-Identifier: MIT */
/* AES-GCM (NIST SP 800-38D) for rtweb-tls's own TLS 1.2 record path (RFC 5288: the
 * TLS_ECDHE_*_WITH_AES_{128,256}_GCM_* suites). One-shot seal and open of a whole record
 * with a 96-bit nonce and a 128-bit tag; nothing else of GCM is needed there.
 *
 * rtw__gcm_fast() says whether this build and CPU have the fast kernels (AES-NI and
 * PCLMULQDQ, VAES/VPCLMULQDQ where present). The record path is taken only when it is
 * true; otherwise mbedTLS keeps protecting the records. The portable code behind the same
 * functions (mbedTLS's GCM) is what tests compare the kernels with. */
#ifndef RTW_TLS_GCM_H
#define RTW_TLS_GCM_H

#include <stddef.h>
#include <stdint.h>

#define RTW__GCM_IV 12u
#define RTW__GCM_TAG 16u

/* One key's state: expanded AES round keys and GHASH key powers. Opaque storage, embedded
 * in the connection (no allocation); 16-byte aligned by its first member. */
typedef struct rtw__gcm {
  uint64_t align[2];
  unsigned char b[1024];
} rtw__gcm;

/* 1 when the fast kernels run on this CPU (checked once, thread-safe), else 0; what tests
 * set with rtw__gcm_test_mode() wins. */
int rtw__gcm_fast(void);

/* Tests only (not thread-safe): mode 1 makes rtw__gcm_fast() say 1 and use the portable code,
 * so the record path runs on any CPU; 0 makes it say 0 (mbedTLS keeps the records); -1 (the
 * default) asks the CPU again. */
void rtw__gcm_test_mode(int mode);

/* key_len 16 (AES-128) or 32 (AES-256): 0, or RTW_ERR_INVALID_ARGUMENT. */
int rtw__gcm_init(rtw__gcm *g, const unsigned char *key, size_t key_len);

/* Overwrite the key state with zeros. */
void rtw__gcm_wipe(rtw__gcm *g);

/* Encrypt len bytes of in to out (in == out allowed, else no overlap) and write the tag. */
void rtw__gcm_seal(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                   const unsigned char *aad, size_t aad_len, const unsigned char *in,
                   size_t len, unsigned char *out, unsigned char tag[RTW__GCM_TAG]);

/* Check the tag and decrypt (in == out allowed): 0, or -1 when the tag does not match (out
 * then holds zeros, never unauthenticated plaintext). The tag compare is constant-time. */
int rtw__gcm_open(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                  const unsigned char *aad, size_t aad_len, const unsigned char *in,
                  size_t len, unsigned char *out, const unsigned char tag[RTW__GCM_TAG]);

#endif /* RTW_TLS_GCM_H */
