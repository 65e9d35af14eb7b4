/* SPDX-License-Identifier: MIT */
/* Crypto seam backed by mbedTLS (2.28 and 3.x, told apart by MBEDTLS_VERSION_NUMBER). */
#include <mbedtls/version.h>
#include <mbedtls/sha1.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/* x86 RDRAND: the CPU's DRBG (NIST SP 800-90A CTR_DRBG, reseeded from its entropy source),
 * one instruction, no trap to the kernel or a hypervisor. GCC's __builtin_cpu_supports knows
 * the feature bit (libgcc read CPUID once at start-up: zero before its constructor ran, which
 * then takes the OS path); clang 14's does not, so clang builds take the OS path. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#  define RTW__HAVE_RDRAND 1
#  include <immintrin.h>

#  if defined(__x86_64__)
typedef unsigned long long rdrand_t;
#    define RDRAND_STEP _rdrand64_step
#  else
typedef unsigned int rdrand_t;
#    define RDRAND_STEP _rdrand32_step
#  endif

__attribute__((target("rdrnd"))) static int rdrand_word(rdrand_t *w)
{
  int tries;
  /* Intel's guidance: retry a few times; a DRBG that is reseeding can fail briefly */
  for (tries = 0; tries < 10; tries++) {
    if (RDRAND_STEP(w))
      return 1;
  }
  return 0;
}

/* n bytes from RDRAND, or 0 when the CPU has none, it fails, or its output looks broken: a
 * word of all zeros or all ones (some AMD parts return -1 with success after a resume) or a
 * word equal to the one before it. */
static int rdrand_fill(unsigned char *p, size_t n)
{
  rdrand_t w = 0, prev = 0;
  size_t i;

  if (!__builtin_cpu_supports("rdrnd"))
    return 0;
  for (i = 0; i < n; i += sizeof w) {
    size_t k = n - i < sizeof w ? n - i : sizeof w;
    if (!rdrand_word(&w) || w == 0 || w == (rdrand_t)-1 || (i > 0 && w == prev))
      return 0;
    memcpy(p + i, &w, k);
    prev = w;
  }
  return 1;
}
#endif

int rtw__random_seed(void *buf, size_t n)
{
#if defined(RTW__HAVE_RDRAND)
  if (n >= 8 && rdrand_fill(buf, n))
    return 0;
#endif
  return rtw__random(buf, n);
}
