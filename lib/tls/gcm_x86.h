/* SPDX-License-Identifier: MIT */
/* The x86-64 AES-GCM kernels behind gcm.h (gcm_x86.c), for gcm.c only. Chosen at run time
 * by CPUID: nothing here needs the build to target more than baseline x86-64. */
#ifndef RTW_TLS_GCM_X86_H
#define RTW_TLS_GCM_X86_H

#include <stddef.h>
#include <stdint.h>

/* Kernels, slowest first. */
#define RTW__GCM_PORTABLE 0 /* mbedTLS's GCM (gcm.c) */
#define RTW__GCM_AESNI 1    /* AES-NI + PCLMULQDQ, 8 blocks per step, 128-bit vectors */
#define RTW__GCM_VAES 2     /* VAES + VPCLMULQDQ on AVX-512, 32 blocks per step */

/* GHASH key powers kept: the VAES kernel multiplies 32 blocks per reduction. */
#define RTW__GCM_HPOW 32u

/* One key for the kernels. h[RTW__GCM_HPOW-k] holds H^k * x^-1 in GF(2^128) (NIST SP 800-38D, 6.3),
 * bit-reflected (byte 15 of the block first): the form in which one carry-less multiply and
 * one reduction give a product with no shift (see gcm_x86.c). Nothing in it is indexed by
 * secret data. */
typedef struct rtw__gcm_key {
  unsigned char rk[15][16];            /* AES round keys (FIPS 197, 5.2) */
  unsigned char h[RTW__GCM_HPOW][16]; /* H^32..H^1, as above */
  uint32_t rounds;                     /* 10 (AES-128) or 14 (AES-256) */
} rtw__gcm_key;

/* The best kernel this CPU runs in this build (asked once per process; gcm.c). */
int rtw__gcm_cpu_kernel(void);

/* Tests only (not thread-safe): keys set up after this use `kernel` (RTW__GCM_*), or the
 * CPU's best again for -1; rtw__gcm_test_mode() 0 or 1 wins (the portable code). 0, or -1
 * when the CPU lacks that kernel (nothing changed). */
int rtw__gcm_test_kernel(int kernel);

/* The kernel (RTW__GCM_*) rtw__gcm_init() chose for g. */
struct rtw__gcm;
int rtw__gcm_kernel(const struct rtw__gcm *g);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define RTW__GCM_HAVE_X86 1

/* The best kernel this CPU and OS run (CPUID and XGETBV, asked on every call). */
int rtw__gcm_x86_level(void);

/* Expand key (16 or 32 bytes; the caller checked) and H's powers. Needs level >= AESNI. */
void rtw__gcm_x86_init(rtw__gcm_key *k, const unsigned char *key, size_t key_len);

/* GCM with a 96-bit IV (J0 = IV || 0^31 || 1; the first data block uses counter 2): encrypt
 * (decrypt == 0) or decrypt len bytes of in to out (in == out allowed, else no overlap; any
 * alignment; nothing read or written outside the buffers) and write the tag over AAD and
 * ciphertext to tag. level is RTW__GCM_AESNI or RTW__GCM_VAES, and the CPU must have it. */
void rtw__gcm_x86_crypt(const rtw__gcm_key *k, int level, int decrypt,
                        const unsigned char iv[12], const unsigned char *aad, size_t aad_len,
                        const unsigned char *in, size_t len, unsigned char *out,
                        unsigned char tag[16]);
#else
#  define RTW__GCM_HAVE_X86 0
#endif

#endif /* RTW_TLS_GCM_X86_H */
