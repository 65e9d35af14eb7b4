/* SPDX-License-Identifier: MIT */
/* AES-GCM for the TLS 1.2 record path (gcm.h). This first version is the portable one:
 * mbedTLS's GCM context kept inside rtw__gcm's storage. */
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>

#include <string.h>

#include "rtweb/common.h"
#include "gcm.h"

typedef struct gcm_state {
  mbedtls_gcm_context ctx;
} gcm_state;

typedef char gcm_state_fits[sizeof(gcm_state) <= sizeof(((rtw__gcm *)0)->b) ? 1 : -1];

static gcm_state *state(const rtw__gcm *g) { return (gcm_state *)(void *)g->b; }

static int test_mode = -1;

void rtw__gcm_test_mode(int mode) { test_mode = mode; }

int rtw__gcm_fast(void) { return test_mode >= 0 ? test_mode : 0; }

int rtw__gcm_init(rtw__gcm *g, const unsigned char *key, size_t key_len)
{
  gcm_state *s = state(g);
  if (key_len != 16 && key_len != 32)
    return RTW_ERR_INVALID_ARGUMENT;
  memset(g, 0, sizeof(*g));
  mbedtls_gcm_init(&s->ctx);
  if (mbedtls_gcm_setkey(&s->ctx, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(key_len * 8)) != 0) {
    rtw__gcm_wipe(g);
    return RTW_ERR_INVALID_ARGUMENT;
  }
  return 0;
}

void rtw__gcm_wipe(rtw__gcm *g)
{
  mbedtls_gcm_free(&state(g)->ctx);
  mbedtls_platform_zeroize(g, sizeof(*g));
}

void rtw__gcm_seal(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                   const unsigned char *aad, size_t aad_len, const unsigned char *in,
                   size_t len, unsigned char *out, unsigned char tag[RTW__GCM_TAG])
{
  (void)mbedtls_gcm_crypt_and_tag(&state(g)->ctx, MBEDTLS_GCM_ENCRYPT, len, iv, RTW__GCM_IV,
                                  aad, aad_len, in, out, RTW__GCM_TAG, tag);
}

int rtw__gcm_open(const rtw__gcm *g, const unsigned char iv[RTW__GCM_IV],
                  const unsigned char *aad, size_t aad_len, const unsigned char *in,
                  size_t len, unsigned char *out, const unsigned char tag[RTW__GCM_TAG])
{
  if (mbedtls_gcm_auth_decrypt(&state(g)->ctx, len, iv, RTW__GCM_IV, aad, aad_len, tag,
                               RTW__GCM_TAG, in, out) != 0) {
    if (len)
      memset(out, 0, len);
    return -1;
  }
  return 0;
}
