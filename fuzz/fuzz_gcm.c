/* SPDX-License-Identifier: MIT */
/* libFuzzer target for lib/tls/gcm.h (internal): every AES-GCM kernel this CPU has
 * (portable, AES-NI, VAES; gcm_x86.h) against mbedTLS's GCM called directly.
 *
 * Input layout:
 *
 *   byte 0  bit 0: AES-256 (else AES-128); bits 1-4: the input's offset in its heap block;
 *           bit 5: in place (else out of place); bits 6-7: what open's rejection check flips
 *           (0 the tag, 1 the AAD, 2 the ciphertext, 3 the IV)
 *   byte 1  AAD length (0..255)
 *   byte 2  bits 0-3: the output's offset in its block; bits 4-7 with byte 3: which bit is
 *           flipped (modulo the bits of the part chosen; no AAD or no ciphertext: the tag)
 *   byte 3  see byte 2
 *   then    the key (32 bytes, the first 16 for AES-128), the IV (12), the AAD, and the
 *           rest of the input as plaintext (reads past the end give zeros)
 *
 * Oracles, for each kernel: seal equals mbedtls_gcm_crypt_and_tag (ciphertext and tag),
 * in place or not, with every buffer its own heap block of exactly the bytes used (ASan sees
 * any access past it); open of that gives back the plaintext; open with the one flipped bit
 * returns -1 and leaves zeros in the output. No allocation inside the code under test.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/gcm.h>

#include "fuzz_common.h"
#include "gcm.h"
#include "gcm_x86.h"

static unsigned char *block(size_t off, size_t n)
{
  unsigned char *p = malloc(off + n + (off + n == 0));
  FUZZ_CHECK(p != NULL);
  return p + off;
}

static int all_zero(const unsigned char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = {data, size};
  uint8_t flags = fuzz_u8(&in), aad_len8 = fuzz_u8(&in), b2 = fuzz_u8(&in), b3 = fuzz_u8(&in);
  size_t key_len = (flags & 1) ? 32 : 16, in_off = (flags >> 1) & 15u, out_off = b2 & 15u;
  int in_place = (flags >> 5) & 1, flip_what = flags >> 6;
  size_t flip_bit = (size_t)(b2 >> 4) << 8 | b3;
  unsigned char key[32], iv[12], ref_tag[16];
  const uint8_t *p;
  size_t got, aad_len = aad_len8, len, i;
  unsigned char *aad, *pt, *ref_ct;
  mbedtls_gcm_context ref;
  int kernel, best = rtw__gcm_cpu_kernel();

  memset(key, 0, sizeof(key));
  memset(iv, 0, sizeof(iv));
  p = fuzz_take(&in, sizeof(key), &got);
  if (got)
    memcpy(key, p, got);
  p = fuzz_take(&in, sizeof(iv), &got);
  if (got)
    memcpy(iv, p, got);
  aad = block(0, aad_len);
  memset(aad, 0, aad_len);
  p = fuzz_take(&in, aad_len, &got);
  if (got)
    memcpy(aad, p, got);
  len = in.n;
  pt = block(0, len);
  ref_ct = block(0, len);
  if (len)
    memcpy(pt, in.p, len);

  mbedtls_gcm_init(&ref);
  FUZZ_CHECK(mbedtls_gcm_setkey(&ref, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(key_len * 8)) == 0);
  FUZZ_CHECK(mbedtls_gcm_crypt_and_tag(&ref, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad, aad_len, pt,
                                       ref_ct, 16, ref_tag) == 0);
  mbedtls_gcm_free(&ref);

  for (kernel = RTW__GCM_PORTABLE; kernel <= best; kernel++) {
    rtw__gcm g;
    unsigned char tag[16];
    unsigned char *src = block(in_off, len), *dst = in_place ? src : block(out_off, len);
    FUZZ_CHECK(rtw__gcm_test_kernel(kernel) == 0);
    FUZZ_CHECK(rtw__gcm_init(&g, key, key_len) == 0);
    FUZZ_CHECK(rtw__gcm_kernel(&g) == kernel);

    /* seal = mbedTLS */
    if (len)
      memcpy(src, pt, len);
    rtw__gcm_seal(&g, iv, aad, aad_len, src, len, dst, tag);
    FUZZ_CHECK(len == 0 || memcmp(dst, ref_ct, len) == 0);
    FUZZ_CHECK(memcmp(tag, ref_tag, 16) == 0);

    /* open gives the plaintext back */
    if (len)
      memcpy(src, ref_ct, len);
    FUZZ_CHECK(rtw__gcm_open(&g, iv, aad, aad_len, src, len, dst, ref_tag) == 0);
    FUZZ_CHECK(len == 0 || memcmp(dst, pt, len) == 0);

    /* one flipped bit: refused, zeros out */
    {
      unsigned char *part = tag;
      size_t bits = 128;
      memcpy(tag, ref_tag, 16);
      if (flip_what == 1 && aad_len)
        part = aad, bits = 8 * aad_len;
      else if (flip_what == 2 && len)
        part = src, bits = 8 * len;
      else if (flip_what == 3)
        part = iv, bits = 8 * sizeof(iv);
      if (len)
        memcpy(src, ref_ct, len);
      i = flip_bit % bits;
      part[i / 8] ^= (unsigned char)(1u << (i % 8));
      if (!in_place && len)
        memset(dst, 0xa5, len);
      FUZZ_CHECK(rtw__gcm_open(&g, iv, aad, aad_len, src, len, dst, tag) == -1);
      FUZZ_CHECK(all_zero(dst, len));
      if (part != src)
        part[i / 8] ^= (unsigned char)(1u << (i % 8));
    }

    rtw__gcm_wipe(&g);
    FUZZ_CHECK(all_zero((const unsigned char *)&g, sizeof(g)));
    free(src - in_off);
    if (!in_place)
      free(dst - out_off);
  }
  FUZZ_CHECK(rtw__gcm_test_kernel(-1) == 0);
  free(aad);
  free(pt);
  free(ref_ct);
  return 0;
}
