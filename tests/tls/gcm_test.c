/* SPDX-License-Identifier: MIT */
/* lib/tls/gcm.h: AES-GCM for the record path. Known answers from McGrew and Viega, "The
 * Galois/Counter Mode of Operation (GCM)", rev. 2005, appendix B (the test cases with a
 * 96-bit IV, AES-128 and AES-256); then each kernel this CPU has (portable, AES-NI, VAES)
 * against mbedTLS's GCM for every length 0..1100, random lengths up to 70000, AAD lengths
 * 0..64, in place and apart, at every buffer offset 0..15, each buffer its own heap block of
 * exactly the bytes used (so ASan and valgrind see any access past it); open's rejections
 * (a flipped bit in tag, ciphertext or AAD leaves zeros); key lengths; the test switches.
 * A kernel this CPU (or valgrind) lacks is a skip, never a pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/gcm.h>

#include "rtwt.h"
#include "gcm.h"
#include "gcm_x86.h"

/* ------------------------------------------------------------------ helpers */

static size_t unhex(const char *hex, unsigned char *out)
{
  size_t n = 0;
  while (hex[0] && hex[1]) {
    unsigned v;
    assert_int_equal(sscanf(hex, "%2x", &v), 1);
    out[n++] = (unsigned char)v;
    hex += 2;
  }
  return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

static void fill(unsigned char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    p[i] = (unsigned char)rnd();
}

/* A heap block of exactly off + n bytes (at least 1), returned at off. */
static unsigned char *block(size_t off, size_t n)
{
  unsigned char *p = malloc(off + n + (off + n == 0));
  assert_non_null(p);
  return p + off;
}

/* ------------------------------------------------------------------ known answers */

typedef struct kat {
  const char *key, *iv, *pt, *aad, *ct, *tag;
} kat;

#define P64 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define P60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define K1 "feffe9928665731c6d6a8f9467308308"
#define IV1 "cafebabefacedbaddecaf888"
#define A1 "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define Z12 "000000000000000000000000"
#define Z16 "00000000000000000000000000000000"

static const kat kats[] = {
    /* test case 1 */
    {Z16, Z12, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
    /* 2 */
    {Z16, Z12, Z16, "", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    /* 3 */
    {K1, IV1, P64, "",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    /* 4 */
    {K1, IV1, P60, A1,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    /* 13 */
    {Z16 Z16, Z12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    /* 14 */
    {Z16 Z16, Z12, Z16, "", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    /* 15 */
    {K1 K1, IV1, P64, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    /* 16 */
    {K1 K1, IV1, P60, A1,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

/* Switch to `kernel` for keys set up from now on; skip when this CPU lacks it. */
static void use_kernel(int kernel)
{
  rtw__gcm_test_mode(-1);
  if (rtw__gcm_test_kernel(kernel) != 0) {
    printf("# kernel %d not on this CPU (best: %d): skipped\n", kernel, rtw__gcm_cpu_kernel());
    skip();
  }
}

static void init_key(rtw__gcm *g, const unsigned char *key, size_t key_len, int kernel)
{
  assert_int_equal(rtw__gcm_init(g, key, key_len), 0);
  assert_int_equal(rtw__gcm_kernel(g), kernel);
}

static void check_kats(int kernel)
{
  size_t i;
  use_kernel(kernel);
  for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
    unsigned char key[32], iv[12], pt[64], aad[20], ct[64], tag[16], out[64], got[16];
    size_t key_len = unhex(kats[i].key, key), pt_len = unhex(kats[i].pt, pt);
    size_t aad_len = unhex(kats[i].aad, aad);
    rtw__gcm g;
    assert_int_equal(unhex(kats[i].iv, iv), 12);
    assert_int_equal(unhex(kats[i].ct, ct), pt_len);
    assert_int_equal(unhex(kats[i].tag, tag), 16);
    init_key(&g, key, key_len, kernel);
    memset(out, 0xaa, sizeof(out));
    rtw__gcm_seal(&g, iv, aad, aad_len, pt, pt_len, out, got);
    assert_memory_equal(out, ct, pt_len);
    assert_memory_equal(got, tag, 16);
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(rtw__gcm_open(&g, iv, aad, aad_len, ct, pt_len, out, tag), 0);
    assert_memory_equal(out, pt, pt_len);
    rtw__gcm_wipe(&g);
  }
  rtw__gcm_test_kernel(-1);
}

static void kat_portable(void **st) { (void)st; check_kats(RTW__GCM_PORTABLE); }
static void kat_aesni(void **st) { (void)st; check_kats(RTW__GCM_AESNI); }
static void kat_vaes(void **st) { (void)st; check_kats(RTW__GCM_VAES); }

/* ------------------------------------------------------------------ against mbedTLS */

typedef struct diff {
  rtw__gcm g;
  mbedtls_gcm_context ref;
  unsigned char iv[12];
  long cases;
} diff;

static void diff_setup(diff *d, size_t key_len, int kernel)
{
  unsigned char key[32];
  fill(key, sizeof(key));
  fill(d->iv, sizeof(d->iv));
  init_key(&d->g, key, key_len, kernel);
  mbedtls_gcm_init(&d->ref);
  assert_int_equal(mbedtls_gcm_setkey(&d->ref, MBEDTLS_CIPHER_ID_AES, key,
                                      (unsigned)(key_len * 8)), 0);
  d->cases = 0;
}

static void diff_free(diff *d)
{
  rtw__gcm_wipe(&d->g);
  mbedtls_gcm_free(&d->ref);
}

/* One case: seal and open len bytes with aad_len of AAD, the input at offset in_off and the
 * output at out_off of their own blocks (in_place: one block at in_off). */
static void diff_case(diff *d, size_t len, size_t aad_len, size_t in_off, size_t out_off,
                      int in_place)
{
  unsigned char *aad = block(in_off, aad_len), *pt = block(0, len), *ct = block(0, len);
  unsigned char *in = block(in_off, len), *out = in_place ? in : block(out_off, len);
  unsigned char tag[16], ref_tag[16];

  fill(aad, aad_len);
  fill(pt, len);
  d->iv[0]++;
  assert_int_equal(mbedtls_gcm_crypt_and_tag(&d->ref, MBEDTLS_GCM_ENCRYPT, len, d->iv, 12, aad,
                                             aad_len, pt, ct, 16, ref_tag), 0);
  if (len)
    memcpy(in, pt, len);
  rtw__gcm_seal(&d->g, d->iv, aad, aad_len, in, len, out, tag);
  assert_memory_equal(out, ct, len);
  assert_memory_equal(tag, ref_tag, 16);

  if (!in_place && len)
    memcpy(in, ct, len);
  else if (len)
    memcpy(out, ct, len);
  assert_int_equal(rtw__gcm_open(&d->g, d->iv, aad, aad_len, in, len, out, tag), 0);
  assert_memory_equal(out, pt, len);
  d->cases++;

  free(aad - in_off);
  free(pt);
  free(ct);
  free(in - in_off);
  if (!in_place)
    free(out - out_off);
}

static void check_diff(int kernel)
{
  static const size_t aad_grid_lens[] = {0,   1,   15,  16,  17,   127, 128,
                                         129, 255, 256, 257, 1024, 1040};
  size_t key_lens[2] = {16, 32}, k, len, i;
  use_kernel(kernel);
  for (k = 0; k < 2; k++) {
    diff d;
    diff_setup(&d, key_lens[k], kernel);
    /* every length; AAD, offsets and in-place vary with it */
    for (len = 0; len <= 1100; len++) {
      diff_case(&d, len, (len * 7) % 65, len % 16, (len / 16 + 5 * len) % 16, 0);
      diff_case(&d, len, (len * 11 + 3) % 65, (len + 7) % 16, 0, 1);
    }
    /* every AAD length 0..64 and every offset 0..15 at the block-boundary lengths */
    for (i = 0; i < sizeof(aad_grid_lens) / sizeof(aad_grid_lens[0]); i++) {
      size_t a, off;
      for (a = 0; a <= 64; a++)
        diff_case(&d, aad_grid_lens[i], a, a % 16, (a * 3) % 16, (int)(a & 1));
      for (off = 0; off < 16; off++) {
        diff_case(&d, aad_grid_lens[i], 13, off, 15 - off, 0);
        diff_case(&d, aad_grid_lens[i], 13, off, 0, 1);
      }
    }
    /* AAD longer than the small-record path takes, at short and long lengths */
    for (i = 0; i < 7; i++) {
      static const size_t long_aad[] = {65, 80, 100, 255, 300, 1000, 4096};
      static const size_t some_lens[] = {0, 1, 16, 100, 256, 257, 1000};
      size_t j;
      for (j = 0; j < 7; j++)
        diff_case(&d, some_lens[j], long_aad[i], (i + j) % 16, (3 * i + j) % 16, (int)(j & 1));
    }
    /* random lengths up to 70000 */
    for (i = 0; i < 24; i++) {
      size_t n = rnd() % 70001u;
      diff_case(&d, n, rnd() % 65u, rnd() % 16u, rnd() % 16u, (int)(rnd() & 1));
    }
    diff_case(&d, 70000, 13, 0, 0, 0);
    diff_case(&d, 16384, 13, 5, 0, 1);
    printf("# kernel %d, AES-%u: %ld cases equal to mbedTLS\n", kernel,
           (unsigned)key_lens[k] * 8, d.cases);
    assert_true(d.cases > 2 * 1101);
    diff_free(&d);
  }
  rtw__gcm_test_kernel(-1);
}

static void diff_portable(void **st) { (void)st; check_diff(RTW__GCM_PORTABLE); }
static void diff_aesni(void **st) { (void)st; check_diff(RTW__GCM_AESNI); }
static void diff_vaes(void **st) { (void)st; check_diff(RTW__GCM_VAES); }

/* ------------------------------------------------------------------ open's rejections */

static int all_zero(const unsigned char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static void check_reject(int kernel)
{
  static const size_t lens[] = {0, 1, 16, 100, 128, 300, 1024, 4099};
  size_t k, li, bit;
  use_kernel(kernel);
  for (k = 16; k <= 32; k += 16) {
    for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
      size_t len = lens[li];
      unsigned char key[32], iv[12], aad[13], tag[16];
      unsigned char *pt = block(0, len), *ct = block(0, len), *out = block(0, len);
      rtw__gcm g;
      fill(key, sizeof(key));
      fill(iv, sizeof(iv));
      fill(aad, sizeof(aad));
      fill(pt, len);
      init_key(&g, key, k, kernel);
      rtw__gcm_seal(&g, iv, aad, sizeof(aad), pt, len, ct, tag);
      /* every bit of the tag */
      for (bit = 0; bit < 128; bit++) {
        tag[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        memset(out, 0xa5, len);
        assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), ct, len, out, tag), -1);
        assert_true(all_zero(out, len));
        tag[bit / 8] ^= (unsigned char)(1u << (bit % 8));
      }
      /* every bit of the AAD */
      for (bit = 0; bit < 8 * sizeof(aad); bit++) {
        aad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        memset(out, 0xa5, len);
        assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), ct, len, out, tag), -1);
        assert_true(all_zero(out, len));
        aad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
      }
      /* ciphertext bits: every bit of the first 40 bytes and the last 40, apart and in place */
      for (bit = 0; bit < 8 * len; bit++) {
        size_t byte = bit / 8;
        if (byte >= 40 && byte + 40 < len)
          continue;
        ct[byte] ^= (unsigned char)(1u << (bit % 8));
        memset(out, 0xa5, len);
        assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), ct, len, out, tag), -1);
        assert_true(all_zero(out, len));
        memcpy(out, ct, len);
        assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), out, len, out, tag), -1);
        assert_true(all_zero(out, len));
        ct[byte] ^= (unsigned char)(1u << (bit % 8));
      }
      /* a changed IV */
      iv[11] ^= 1;
      memset(out, 0xa5, len);
      assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), ct, len, out, tag), -1);
      assert_true(all_zero(out, len));
      iv[11] ^= 1;
      /* and untouched, it opens */
      assert_int_equal(rtw__gcm_open(&g, iv, aad, sizeof(aad), ct, len, out, tag), 0);
      assert_memory_equal(out, pt, len);
      rtw__gcm_wipe(&g);
      free(pt);
      free(ct);
      free(out);
    }
  }
  rtw__gcm_test_kernel(-1);
}

static void reject_portable(void **st) { (void)st; check_reject(RTW__GCM_PORTABLE); }
static void reject_aesni(void **st) { (void)st; check_reject(RTW__GCM_AESNI); }
static void reject_vaes(void **st) { (void)st; check_reject(RTW__GCM_VAES); }

/* ------------------------------------------------------------------ keys and switches */

static void key_lengths(void **st)
{
  static const size_t bad[] = {0, 1, 8, 15, 17, 24, 31, 33, 64};
  unsigned char key[64];
  int kernel;
  size_t i;
  (void)st;
  memset(key, 7, sizeof(key));
  for (kernel = RTW__GCM_PORTABLE; kernel <= rtw__gcm_cpu_kernel(); kernel++) {
    assert_int_equal(rtw__gcm_test_kernel(kernel), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      rtw__gcm g;
      assert_int_equal(rtw__gcm_init(&g, key, bad[i]), RTW_ERR_INVALID_ARGUMENT);
    }
    {
      rtw__gcm g;
      size_t j;
      assert_int_equal(rtw__gcm_init(&g, key, 16), 0);
      rtw__gcm_wipe(&g);
      for (j = 0; j < sizeof(g); j++)
        assert_int_equal(((const unsigned char *)&g)[j], 0);
    }
  }
  rtw__gcm_test_kernel(-1);
}

static void switches(void **st)
{
  unsigned char key[16] = {1};
  rtw__gcm g;
  int best = rtw__gcm_cpu_kernel();
  (void)st;
  printf("# best kernel on this CPU: %d\n", best);
  assert_true(best >= RTW__GCM_PORTABLE && best <= RTW__GCM_VAES);
  /* the CPU decides: fast exactly when a kernel runs, and new keys get the best one */
  rtw__gcm_test_mode(-1);
  assert_int_equal(rtw__gcm_fast(), best >= RTW__GCM_AESNI);
  init_key(&g, key, 16, best);
  rtw__gcm_wipe(&g);
  /* mode 1: says fast, runs the portable code */
  rtw__gcm_test_mode(1);
  assert_int_equal(rtw__gcm_fast(), 1);
  init_key(&g, key, 16, RTW__GCM_PORTABLE);
  rtw__gcm_wipe(&g);
  /* mode 0: says not fast */
  rtw__gcm_test_mode(0);
  assert_int_equal(rtw__gcm_fast(), 0);
  rtw__gcm_test_mode(-1);
  /* a kernel beyond the CPU is refused and changes nothing */
  if (best < RTW__GCM_VAES) {
    assert_int_equal(rtw__gcm_test_kernel(best + 1), -1);
    init_key(&g, key, 16, best);
    rtw__gcm_wipe(&g);
  }
  assert_int_equal(rtw__gcm_test_kernel(RTW__GCM_PORTABLE), 0);
  init_key(&g, key, 16, RTW__GCM_PORTABLE);
  rtw__gcm_wipe(&g);
  assert_int_equal(rtw__gcm_test_kernel(-1), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(switches),
      cmocka_unit_test(key_lengths),
      cmocka_unit_test(kat_portable),
      cmocka_unit_test(kat_aesni),
      cmocka_unit_test(kat_vaes),
      cmocka_unit_test(diff_portable),
      cmocka_unit_test(diff_aesni),
      cmocka_unit_test(diff_vaes),
      cmocka_unit_test(reject_portable),
      cmocka_unit_test(reject_aesni),
      cmocka_unit_test(reject_vaes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
