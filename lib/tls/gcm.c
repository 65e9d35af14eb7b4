/* SPDX-License-Identifier: MIT */
/* AES-GCM for the TLS 1.2 record path (gcm.h). Two implementations behind one state:
 * - the x86-64 kernels (gcm_x86.c: AES-NI + PCLMULQDQ, or VAES + VPCLMULQDQ on AVX-512),
 *   chosen once per process by CPUID;
 * - the portable one, mbedTLS's GCM context kept inside rtw__gcm's storage: the fallback on
 *   other CPUs and builds, and the oracle the kernels are tested against.
 * rtw__gcm_init() records in the state which one it set up, so a key keeps its kernel. */
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>

#include <string.h>

#include "rtweb/common.h"
#include "gcm.h"
#include "gcm_x86.h"

typedef struct gcm_state {
  uint32_t kernel; /* RTW__GCM_PORTABLE, _AESNI or _VAES */
  uint32_t pad[3];
  union {
    mbedtls_gcm_context ctx; /* RTW__GCM_PORTABLE */
    rtw__gcm_key key;        /* the kernels */
  } u;
} gcm_state;

typedef char gcm_state_fits[sizeof(gcm_state) <= sizeof(((rtw__gcm *)0)->b) ? 1 : -1];

static gcm_state *state(const rtw__gcm *g) { return (gcm_state *)(void *)g->b; }

static int test_mode = -1;
static int test_kernel = -1;

#if RTW__GCM_HAVE_X86
/* The CPU's best kernel, asked once; racing first callers compute the same value. */
static int cpu_kernel_cache = -1;

int rtw__gcm_cpu_kernel(void)
{
  int k = __atomic_load_n(&cpu_kernel_cache, __ATOMIC_RELAXED);
  if (k < 0) {
    k = rtw__gcm_x86_level();
    __atomic_store_n(&cpu_kernel_cache, k, __ATOMIC_RELAXED);
  }
  return k;
}
#else
int rtw__gcm_cpu_kernel(void) { return RTW__GCM_PORTABLE; }
#endif

void rtw__gcm_test_mode(int mode) { test_mode = mode; }

int rtw__gcm_test_kernel(int kernel)
{
  if (kernel < 0) {
    test_kernel = -1;
    return 0;
  }
  if (kernel > rtw__gcm_cpu_kernel())
    return -1;
  test_kernel = kernel;
  return 0;
}

int rtw__gcm_kernel(const rtw__gcm *g) { return (int)state(g)->kernel; }

int rtw__gcm_fast(void)
{
  return test_mode >= 0 ? test_mode : rtw__gcm_cpu_kernel() >= RTW__GCM_AESNI;
}

/* The kernel a new key gets. */
static int choose(void)
{
  if (test_mode >= 0)
    return RTW__GCM_PORTABLE; /* 1: the record path over the portable code; 0: unused */
  if (test_kernel >= 0)
    return test_kernel;
  return rtw__gcm_cpu_kernel();
}

int rtw__gcm_init(rtw__gcm *g, const unsigned char *key, size_t key_len)
{
  gcm_state *s = state(g);
  if (key_len != 16 && key_len != 32)
    return RTW_ERR_INVALID_ARGUMENT;
  memset(g, 0, sizeof(*g));
  s->kernel = (uint32_t)choose();
#if RTW__GCM_HAVE_X86
  if (s->kernel != RTW__GCM_PORTABLE) {
    rtw__gcm_x86_init(&s->u.key, key, key_len);
    return 0;
  }
#endif
  mbedtls_gcm_init(&s->u.ctx);
  if (mbedtls_gcm_setkey(&s->u.ctx, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(key_len * 8)) != 0) {
    rtw__gcm_wipe(g);
    return RTW_ERR_INVALID_ARGUMENT;
  }
  return 0;
}

void rtw__gcm_wipe(rtw__gcm *g)
{
  if (state(g)->kernel == RTW__GCM_PORTABLE)
    mbedtls_gcm_free(&state(g)->u.ctx);
  mbedtls_platform_zeroize(g, sizeof(*g));
}

void rtw__gcm_seal(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                   const unsigned char *aad, size_t aad_len, const unsigned char *in,
                   size_t len, unsigned char *out, unsigned char tag[RTW__GCM_TAG])
{
  gcm_state *s = state(g);
#if RTW__GCM_HAVE_X86
  if (s->kernel != RTW__GCM_PORTABLE) {
    rtw__gcm_x86_crypt(&s->u.key, (int)s->kernel, 0, iv, aad, aad_len, in, len, out, tag);
    return;
  }
#endif
  (void)mbedtls_gcm_crypt_and_tag(&s->u.ctx, MBEDTLS_GCM_ENCRYPT, len, iv, RTW__GCM_IV, aad,
                                  aad_len, in, out, RTW__GCM_TAG, tag);
}

int rtw__gcm_open(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                  const unsigned char *aad, size_t aad_len, const unsigned char *in,
                  size_t len, unsigned char *out, const unsigned char tag[RTW__GCM_TAG])
{
  gcm_state *s = state(g);
#if RTW__GCM_HAVE_X86
  if (s->kernel != RTW__GCM_PORTABLE) {
    unsigned char want[RTW__GCM_TAG];
    unsigned diff = 0, i;
    rtw__gcm_x86_crypt(&s->u.key, (int)s->kernel, 1, iv, aad, aad_len, in, len, out, want);
    /* SP 800-38D 7.2 step 8; every byte compared whatever the first difference */
    for (i = 0; i < RTW__GCM_TAG; i++)
      diff |= (unsigned)(want[i] ^ tag[i]);
    mbedtls_platform_zeroize(want, sizeof(want));
    if (diff) {
      if (len)
        memset(out, 0, len);
      return -1;
    }
    return 0;
  }
#endif
  if (mbedtls_gcm_auth_decrypt(&s->u.ctx, len, iv, RTW__GCM_IV, aad, aad_len, tag,
                               RTW__GCM_TAG, in, out) != 0) {
    if (len)
      memset(out, 0, len);
    return -1;
  }
  return 0;
}
