/* SPDX-License-Identifier: MIT */
/* AES-GCM kernels for x86-64 (gcm_x86.h): AES-NI + PCLMULQDQ on 128-bit vectors, and VAES +
 * VPCLMULQDQ on 512-bit vectors. Each function carries its own target attribute and is
 * called only after rtw__gcm_x86_level() found the instructions, so the library still runs
 * on any x86-64.
 *
 * GCM (NIST SP 800-38D): counter mode with the 32-bit increment inc32 (6.2) from
 * J0 = IV || 0^31 || 1 (7.1 step 2, 96-bit IV), the first data block taking inc32(J0); the
 * tag is E(K, J0) xor GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64) (7.1
 * steps 5-6).
 *
 * GHASH representation. GCM's field elements are bit-reflected: bit 7 of byte 0 is the
 * coefficient of x^0 (SP 800-38D, 6.3). A block byte-swapped and loaded as a 128-bit integer
 * holds x^i at bit 127-i; call that rho(a). A carry-less multiply of rho(a) and rho(b) gives
 * the 255-bit product of the reflections, which is the 256-bit reflection of a*b*x. Storing
 * rho(H * x^-1) instead of rho(H) cancels that x, so clmul(rho(a), rho(H x^-1)) is the
 * 256-bit reflection D of d = a*H. Read with y = 1/x, D is a polynomial in y and reducing d
 * modulo P(x) = x^128 + x^7 + x^2 + x + 1 becomes a Montgomery reduction modulo the
 * reciprocal P*(y) = y^128 + y^127 + y^126 + y^121 + 1: adding multiples of P* clears D's low
 * 128 bits, 64 at a time, each with one carry-less multiply by y^63 + y^62 + y^57
 * (0xC200000000000000), and D's high half is then rho(a*H mod P). (Gueron and Kounavis,
 * "Intel Carry-Less Multiplication Instruction and its Usage for Computing the GCM Mode",
 * rev. 2.02, 2014, and Gueron's "AES-GCM for Efficient Authenticated Encryption", 2013.)
 * Products are linear, so n blocks are multiplied by H^n..H^1, XORed unreduced and reduced
 * once (aggregated reduction).
 *
 * Constant time: AES-NI and carry-less multiplies take the same time for every value, and
 * no table is indexed by key or data. Partial blocks, and records on the short path
 * (crypt_small()), go through stack buffers, so nothing is read or written past the caller's
 * buffers. */
#include <string.h>

#include "gcm_x86.h"

#if RTW__GCM_HAVE_X86
#  include <immintrin.h>

#  define T_AESNI __attribute__((target("aes,pclmul,sse4.1,ssse3")))
#  define T_VAES                                                                          \
    __attribute__((target("aes,pclmul,sse4.1,ssse3,avx,avx2,avx512f,avx512bw,avx512vl,"  \
                          "vaes,vpclmulqdq")))
#  define INLINE inline __attribute__((always_inline))

/* CPUID leaf 1 ECX, leaf 7 EBX and ECX (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, E.3). */
#  define C1_PCLMUL (1u << 1)
#  define C1_SSSE3 (1u << 9)
#  define C1_SSE41 (1u << 19)
#  define C1_AES (1u << 25)
#  define C1_OSXSAVE (1u << 27)
#  define B7_AVX512F (1u << 16)
#  define B7_AVX512BW (1u << 30)
#  define B7_AVX512VL (1u << 31)
#  define C7_VAES (1u << 9)
#  define C7_VPCLMULQDQ (1u << 10)
/* XCR0: SSE, AVX, opmask, ZMM0-15 upper halves, ZMM16-31 state enabled by the OS */
#  define XCR0_AVX512 0xe6u

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
  r[0] = a, r[1] = b, r[2] = c, r[3] = d;
}

int rtw__gcm_x86_level(void)
{
  uint32_t r[4], c1, xcr0_lo, xcr0_hi;
  cpuid(0, 0, r);
  if (r[0] < 1)
    return RTW__GCM_PORTABLE;
  cpuid(1, 0, r);
  c1 = r[2];
#  define C1_NEED (C1_PCLMUL | C1_SSSE3 | C1_SSE41 | C1_AES)
  if ((c1 & C1_NEED) != C1_NEED)
    return RTW__GCM_PORTABLE;
  cpuid(0, 0, r);
  if (r[0] < 7 || !(c1 & C1_OSXSAVE))
    return RTW__GCM_AESNI;
  /* XGETBV with ECX = 0 reads XCR0: has the OS enabled saving the AVX-512 state? */
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0u));
  (void)xcr0_hi;
  if ((xcr0_lo & XCR0_AVX512) != XCR0_AVX512)
    return RTW__GCM_AESNI;
  cpuid(7, 0, r);
#  define B7_NEED (B7_AVX512F | B7_AVX512BW | B7_AVX512VL)
#  define C7_NEED (C7_VAES | C7_VPCLMULQDQ)
  if ((r[1] & B7_NEED) == B7_NEED && (r[2] & C7_NEED) == C7_NEED)
    return RTW__GCM_VAES;
  return RTW__GCM_AESNI;
}

/* ------------------------------------------------------------------ 128-bit helpers */

T_AESNI static INLINE __m128i load(const unsigned char *p)
{
  return _mm_loadu_si128((const __m128i *)(const void *)p);
}

T_AESNI static INLINE void store(unsigned char *p, __m128i v)
{
  _mm_storeu_si128((__m128i *)(void *)p, v);
}

/* Reverse the 16 bytes: a block to and from rho() form, a counter block to and from the
 * form whose low 32-bit lane is the big-endian counter (so _mm_add_epi32 is inc32). */
T_AESNI static INLINE __m128i bswap(__m128i x)
{
  return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* lo/mid/hi += the 256-bit carry-less product of a and h (the middle term unshifted). */
T_AESNI static INLINE void mul_acc(__m128i a, __m128i h, __m128i *lo, __m128i *mid, __m128i *hi)
{
  *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, h, 0x00));
  *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, h, 0x11));
  *mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, h, 0x01),
                                           _mm_clmulepi64_si128(a, h, 0x10)));
}

/* The 256-bit product lo + mid*2^64 + hi*2^128 (reflected, see the top) reduced: two
 * Montgomery steps of 64 bits with y^63 + y^62 + y^57, the low half of P* without its 1. */
T_AESNI static INLINE __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
  const __m128i poly = _mm_set_epi64x(0, (long long)0xc200000000000000ull);
  __m128i x = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  __m128i y = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  /* clear bits 0..63: add L*P*, L = x's low half; bits 64..191 move down by 64 */
  x = _mm_xor_si128(_mm_shuffle_epi32(x, 0x4e), _mm_clmulepi64_si128(x, poly, 0x00));
  /* the same for the next 64 bits */
  x = _mm_xor_si128(_mm_shuffle_epi32(x, 0x4e), _mm_clmulepi64_si128(x, poly, 0x00));
  return _mm_xor_si128(y, x);
}

T_AESNI static INLINE __m128i gmul(__m128i a, __m128i h)
{
  __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
  mul_acc(a, h, &lo, &mid, &hi);
  return reduce(lo, mid, hi);
}

/* H^n (1..32); the powers are stored highest first, so four in a row are a 512-bit vector
 * with H^(n+3) in its low lane. */
T_AESNI static INLINE __m128i hpow(const rtw__gcm_key *k, unsigned n)
{
  return load(k->h[RTW__GCM_HPOW - n]);
}

/* acc = (acc + X_1) * H^n + X_2 * H^(n-1) + ... + X_n * H for n (1..32) whole blocks of p,
 * one reduction. */
T_AESNI static __m128i ghash_blocks(const rtw__gcm_key *k, __m128i acc, const unsigned char *p,
                                    unsigned n)
{
  __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
  unsigned i;
  mul_acc(_mm_xor_si128(acc, bswap(load(p))), hpow(k, n), &lo, &mid, &hi);
  for (i = 1; i < n; i++)
    mul_acc(bswap(load(p + 16 * i)), hpow(k, n - i), &lo, &mid, &hi);
  return reduce(lo, mid, hi);
}

/* GHASH over len bytes (the last block zero-padded, 6.4). */
T_AESNI static __m128i ghash_bytes(const rtw__gcm_key *k, __m128i acc, const unsigned char *p,
                                   size_t len)
{
  unsigned char buf[16];
  while (len >= 16) {
    unsigned n = len >= 16 * RTW__GCM_HPOW ? RTW__GCM_HPOW : (unsigned)(len / 16);
    acc = ghash_blocks(k, acc, p, n);
    p += 16 * n, len -= 16 * (size_t)n;
  }
  if (len) {
    memset(buf, 0, sizeof(buf));
    memcpy(buf, p, len);
    acc = ghash_blocks(k, acc, buf, 1);
  }
  return acc;
}

T_AESNI static INLINE __m128i aes_block(const rtw__gcm_key *k, __m128i x)
{
  uint32_t r;
  x = _mm_xor_si128(x, load(k->rk[0]));
  for (r = 1; r < k->rounds; r++)
    x = _mm_aesenc_si128(x, load(k->rk[r]));
  return _mm_aesenclast_si128(x, load(k->rk[k->rounds]));
}

/* ------------------------------------------------------------------ key setup */

/* One AES-128 schedule step (FIPS 197, 5.2): w[i] = w[i-4] ^ w[i-1] over the four words
 * with SubWord(RotWord(w[i-1])) ^ Rcon (AESKEYGENASSIST's word 3) added to the first. */
T_AESNI static INLINE __m128i expand_step(__m128i prev, __m128i assist)
{
  prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
  prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 8));
  return _mm_xor_si128(prev, assist);
}

#  define EXP128(i, rcon)                                                                  \
    rk[i] = expand_step(rk[(i) - 1],                                                     \
                        _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff))
/* AES-256: even round keys as above from rk[i-2] with w[i-1] in rk[i-1]; odd ones take
 * SubWord(w[i-1]) without rotation or Rcon (AESKEYGENASSIST's word 2). */
#  define EXP256(i, rcon)                                                                  \
    rk[i] = expand_step(rk[(i) - 2],                                                     \
                        _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff)); \
    rk[(i) + 1] = expand_step(rk[(i) - 1],                                               \
                        _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa))

T_AESNI void rtw__gcm_x86_init(rtw__gcm_key *k, const unsigned char *key, size_t key_len)
{
  __m128i rk[15], h, s, mask;
  unsigned i;

  memset(rk, 0, sizeof(rk));
  rk[0] = load(key);
  if (key_len == 16) {
    k->rounds = 10;
    EXP128(1, 0x01); EXP128(2, 0x02); EXP128(3, 0x04); EXP128(4, 0x08); EXP128(5, 0x10);
    EXP128(6, 0x20); EXP128(7, 0x40); EXP128(8, 0x80); EXP128(9, 0x1b); EXP128(10, 0x36);
  } else {
    k->rounds = 14;
    rk[1] = load(key + 16);
    EXP256(2, 0x01); EXP256(4, 0x02); EXP256(6, 0x04); EXP256(8, 0x08); EXP256(10, 0x10);
    EXP256(12, 0x20);
    rk[14] = expand_step(rk[12], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[13], 0x40), 0xff));
  }
  for (i = 0; i < 15; i++)
    store(k->rk[i], rk[i]);

  /* H = E(K, 0^128) (6.4); rho(H * x^-1) is rho(H) shifted left by one bit, the bit
   * shifted out (x^0) coming back as x^-1 = x^127 + x^6 + x + 1: 0xC2000...01 */
  h = bswap(aes_block(k, _mm_setzero_si128()));
  s = _mm_or_si128(_mm_slli_epi64(h, 1), _mm_slli_si128(_mm_srli_epi64(h, 63), 8));
  mask = _mm_shuffle_epi32(_mm_srai_epi32(h, 31), 0xff); /* all ones when bit 127 is set */
  s = _mm_xor_si128(s, _mm_and_si128(mask, _mm_set_epi64x((long long)0xc200000000000000ull, 1)));
  store(k->h[RTW__GCM_HPOW - 1], s);
  for (i = RTW__GCM_HPOW - 1; i-- > 0;)
    store(k->h[i], gmul(load(k->h[i + 1]), s));
  memset(rk, 0, sizeof(rk));
  h = s = mask = _mm_setzero_si128();
  (void)h, (void)s, (void)mask;
}

/* ------------------------------------------------------------------ AES-NI kernel */

/* 8 blocks of CTR + GHASH: the AES rounds of 8 counter blocks interleaved, then the 8
 * ciphertext blocks multiplied by H^8..H^1 and reduced once. Inlined with rounds and
 * decrypt constant, so the round loop unrolls. */
T_AESNI static INLINE void step8(const rtw__gcm_key *k, const uint32_t rounds,
                                 const int decrypt, __m128i *acc, __m128i *ctr,
                                 const unsigned char *in, unsigned char *out)
{
  const __m128i one = _mm_set_epi32(0, 0, 0, 1);
  __m128i b[8], c[8], rk, lo, mid, hi;
  uint32_t r;
  int i;
#  pragma GCC unroll 8
  for (i = 0; i < 8; i++) {
    b[i] = bswap(*ctr);
    *ctr = _mm_add_epi32(*ctr, one);
  }
  rk = load(k->rk[0]);
#  pragma GCC unroll 8
  for (i = 0; i < 8; i++)
    b[i] = _mm_xor_si128(b[i], rk);
#  pragma GCC unroll 14
  for (r = 1; r < rounds; r++) {
    rk = load(k->rk[r]);
#  pragma GCC unroll 8
    for (i = 0; i < 8; i++)
      b[i] = _mm_aesenc_si128(b[i], rk);
  }
  rk = load(k->rk[rounds]);
#  pragma GCC unroll 8
  for (i = 0; i < 8; i++) {
    __m128i x = load(in + 16 * i);
    b[i] = _mm_aesenclast_si128(b[i], rk);
    c[i] = decrypt ? x : _mm_xor_si128(x, b[i]);
    store(out + 16 * i, _mm_xor_si128(x, b[i]));
  }
  lo = _mm_setzero_si128(), mid = lo, hi = lo;
  mul_acc(_mm_xor_si128(*acc, bswap(c[0])), hpow(k, 8), &lo, &mid, &hi);
#  pragma GCC unroll 8
  for (i = 1; i < 8; i++)
    mul_acc(bswap(c[i]), hpow(k, 8u - (unsigned)i), &lo, &mid, &hi);
  *acc = reduce(lo, mid, hi);
}

/* The 8-block loop, one copy per (rounds, direction). Returns the bytes it did. */
#  define BULK8(name, rounds, decrypt)                                                    \
    T_AESNI static size_t name(const rtw__gcm_key *k, __m128i *acc, __m128i *ctr,          \
                               const unsigned char *in, size_t len, unsigned char *out)    \
    {                                                                                      \
      size_t done = 0;                                                                     \
      for (; len - done >= 16 * 8; done += 16 * 8)                                         \
        step8(k, rounds, decrypt, acc, ctr, in + done, out + done);                        \
      return done;                                                                         \
    }
BULK8(bulk8_128_seal, 10, 0)
BULK8(bulk8_128_open, 10, 1)
BULK8(bulk8_256_seal, 14, 0)
BULK8(bulk8_256_open, 14, 1)

/* CTR + GHASH over len bytes from the counter *ctr (counter form, see bswap()) and GHASH
 * state *acc (rho form), 8 blocks per step; then single blocks and a partial one. */
T_AESNI static void crypt_aesni(const rtw__gcm_key *k, int decrypt, __m128i *acc_io,
                                __m128i *ctr_io, const unsigned char *in, size_t len,
                                unsigned char *out)
{
  const __m128i one = _mm_set_epi32(0, 0, 0, 1);
  __m128i acc = *acc_io, ctr = *ctr_io;
  size_t done;

  if (k->rounds == 10)
    done = decrypt ? bulk8_128_open(k, &acc, &ctr, in, len, out)
                   : bulk8_128_seal(k, &acc, &ctr, in, len, out);
  else
    done = decrypt ? bulk8_256_open(k, &acc, &ctr, in, len, out)
                   : bulk8_256_seal(k, &acc, &ctr, in, len, out);
  in += done, out += done, len -= done;
  while (len >= 16) {
    __m128i x = load(in), ks = aes_block(k, bswap(ctr)), y = _mm_xor_si128(x, ks);
    ctr = _mm_add_epi32(ctr, one);
    store(out, y);
    acc = gmul(_mm_xor_si128(acc, bswap(decrypt ? x : y)), hpow(k, 1));
    in += 16, out += 16, len -= 16;
  }
  if (len) {
    unsigned char buf[16];
    __m128i ks = aes_block(k, bswap(ctr)), x, y;
    ctr = _mm_add_epi32(ctr, one);
    memset(buf, 0, sizeof(buf));
    memcpy(buf, in, len);
    x = load(buf);
    y = _mm_xor_si128(x, ks);
    store(buf, y);
    memcpy(out, buf, len);
    if (!decrypt) {
      memset(buf + len, 0, sizeof(buf) - len);
      x = load(buf);
    }
    acc = gmul(_mm_xor_si128(acc, bswap(x)), hpow(k, 1));
    memset(buf, 0, sizeof(buf));
  }
  *acc_io = acc, *ctr_io = ctr;
}

/* XOR the keystream of n blocks (counters from *ctr on) into p, eight blocks in flight. */
T_AESNI static void ctr_xor(const rtw__gcm_key *k, __m128i *ctr, unsigned char *p, unsigned n)
{
  const __m128i one = _mm_set_epi32(0, 0, 0, 1);
  while (n) {
    unsigned m = n < 8 ? n : 8, i;
    __m128i b[8], rk = load(k->rk[0]);
    uint32_t r;
    for (i = 0; i < m; i++) {
      b[i] = _mm_xor_si128(bswap(*ctr), rk);
      *ctr = _mm_add_epi32(*ctr, one);
    }
    for (r = 1; r < k->rounds; r++) {
      rk = load(k->rk[r]);
      for (i = 0; i < m; i++)
        b[i] = _mm_aesenc_si128(b[i], rk);
    }
    rk = load(k->rk[k->rounds]);
    for (i = 0; i < m; i++)
      store(p + 16 * i, _mm_xor_si128(load(p + 16 * i), _mm_aesenclast_si128(b[i], rk)));
    p += 16 * m, n -= m;
  }
}

/* Records of at most SMALL_LEN bytes with at most SMALL_AAD bytes of AAD (TLS 1.2's 13, and
 * small messages) take one GHASH reduction in all: the AAD, ciphertext and length blocks
 * (at most 4 + 16 + 1 = 21) are laid out in a stack buffer and multiplied by H^n..H^1 at
 * once, and the keystream blocks are computed side by side. */
#  define SMALL_LEN 256u
#  define SMALL_AAD 64u

T_AESNI static int crypt_small(const rtw__gcm_key *k, int decrypt, __m128i ctr,
                               const unsigned char *aad, size_t aad_len,
                               const unsigned char *in, size_t len, unsigned char *out,
                               __m128i *acc)
{
  unsigned char g[(SMALL_AAD / 16 + SMALL_LEN / 16 + 1) * 16], d[SMALL_LEN];
  unsigned na, nd, n;

  if (len > SMALL_LEN || aad_len > SMALL_AAD)
    return 0;
  na = (unsigned)((aad_len + 15) / 16), nd = (unsigned)((len + 15) / 16), n = na + nd + 1;
  memset(g, 0, 16 * (size_t)n);
  if (aad_len)
    memcpy(g, aad, aad_len);
  if (len) {
    memset(d, 0, 16 * (size_t)nd);
    memcpy(d, in, len);
    if (decrypt)
      memcpy(g + 16 * na, in, len);
    ctr_xor(k, &ctr, d, nd);
    memcpy(out, d, len);
    if (!decrypt)
      memcpy(g + 16 * na, d, len);
  }
  /* [len(A)]64 || [len(C)]64, a block like the others (ghash_blocks() swaps it back) */
  store(g + 16 * (n - 1), bswap(_mm_set_epi64x((long long)((uint64_t)aad_len * 8u),
                                               (long long)((uint64_t)len * 8u))));
  *acc = ghash_blocks(k, _mm_setzero_si128(), g, n);
  return 1;
}

T_VAES static void crypt_vaes(const rtw__gcm_key *k, int decrypt, __m128i *acc_io,
                              __m128i *ctr_io, const unsigned char **in_io, size_t *len_io,
                              unsigned char **out_io);

T_AESNI void rtw__gcm_x86_crypt(const rtw__gcm_key *k, int level, int decrypt,
                                const unsigned char iv[12], const unsigned char *aad,
                                size_t aad_len, const unsigned char *in, size_t len,
                                unsigned char *out, unsigned char tag[16])
{
  const uint64_t total = len;
  unsigned char j0[16];
  __m128i ctr, acc = _mm_setzero_si128(), t;

  memcpy(j0, iv, 12);
  j0[12] = 0, j0[13] = 0, j0[14] = 0, j0[15] = 1;
  ctr = _mm_add_epi32(bswap(load(j0)), _mm_set_epi32(0, 0, 0, 1)); /* inc32(J0) */
  if (crypt_small(k, decrypt, ctr, aad, aad_len, in, len, out, &acc)) {
    store(tag, _mm_xor_si128(bswap(acc), aes_block(k, load(j0))));
    return;
  }
  acc = ghash_bytes(k, acc, aad, aad_len);
  if (level >= RTW__GCM_VAES)
    crypt_vaes(k, decrypt, &acc, &ctr, &in, &len, &out);
  crypt_aesni(k, decrypt, &acc, &ctr, in, len, out);
  /* [len(A)]64 || [len(C)]64 in bits; in rho form the first is the high half */
  t = _mm_set_epi64x((long long)((uint64_t)aad_len * 8u), (long long)(total * 8u));
  acc = gmul(_mm_xor_si128(acc, t), hpow(k, 1));
  store(tag, _mm_xor_si128(bswap(acc), aes_block(k, load(j0))));
}

/* ------------------------------------------------------------------ VAES kernel */

T_VAES static INLINE __m128i fold4(__m512i x)
{
  __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

/* 4 * nv blocks (nv 4 or 8, constant when inlined) of CTR + GHASH: VAESENC on nv vectors of
 * four blocks, then VPCLMULQDQ against H^(4nv)..H^1 (hp[8 - nv..7]), the four lanes' 256-bit
 * products XORed and reduced once. */
T_VAES static INLINE void vaes_step(const __m512i *rk, uint32_t rounds, const __m512i *hp,
                                    const int nv, int decrypt, __m128i *acc, __m512i *ctr,
                                    __m512i bsw, const unsigned char *in, unsigned char *out)
{
  const __m512i four = _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4);
  __m512i b[8], c[8], lo, mid, hi;
  uint32_t r;
  int i;
#  pragma GCC unroll 8
  for (i = 0; i < nv; i++) {
    b[i] = _mm512_xor_si512(_mm512_shuffle_epi8(*ctr, bsw), rk[0]);
    *ctr = _mm512_add_epi32(*ctr, four);
  }
  for (r = 1; r < rounds; r++) {
#  pragma GCC unroll 8
    for (i = 0; i < nv; i++)
      b[i] = _mm512_aesenc_epi128(b[i], rk[r]);
  }
#  pragma GCC unroll 8
  for (i = 0; i < nv; i++) {
    __m512i x = _mm512_loadu_si512((const void *)(in + 64 * i));
    __m512i y = _mm512_xor_si512(x, _mm512_aesenclast_epi128(b[i], rk[rounds]));
    _mm512_storeu_si512((void *)(out + 64 * i), y);
    c[i] = _mm512_shuffle_epi8(decrypt ? x : y, bsw);
  }
  c[0] = _mm512_xor_si512(c[0], _mm512_inserti32x4(_mm512_setzero_si512(), *acc, 0));
  lo = _mm512_setzero_si512(), mid = lo, hi = lo;
#  pragma GCC unroll 8
  for (i = 0; i < nv; i++) {
    const __m512i h = hp[8 - nv + i];
    lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(c[i], h, 0x00));
    hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(c[i], h, 0x11));
    mid = _mm512_xor_si512(mid, _mm512_xor_si512(_mm512_clmulepi64_epi128(c[i], h, 0x01),
                                                 _mm512_clmulepi64_epi128(c[i], h, 0x10)));
  }
  *acc = reduce(fold4(lo), fold4(mid), fold4(hi));
}

/* CTR + GHASH over the whole 256-byte chunks of *len bytes: 32 blocks per step (eight
 * independent AES chains keep VAESENC's pipeline full), then 16. Advances *in, *out and
 * *len past what it did; crypt_aesni() does the rest. */
T_VAES static void crypt_vaes(const rtw__gcm_key *k, int decrypt, __m128i *acc_io,
                              __m128i *ctr_io, const unsigned char **in_io, size_t *len_io,
                              unsigned char **out_io)
{
  const unsigned char *in = *in_io;
  unsigned char *out = *out_io;
  size_t len = *len_io;
  const uint32_t rounds = k->rounds;
  __m512i rk[15], hp[8], ctr, bsw;
  __m128i acc = *acc_io;
  uint32_t r;
  int i;

  if (len < 256)
    return;
  for (r = 0; r <= rounds; r++)
    rk[r] = _mm512_broadcast_i32x4(load(k->rk[r]));
  for (i = 0; i < 8; i++)
    hp[i] = _mm512_loadu_si512((const void *)k->h[4 * i]); /* H^(32-4i)..H^(29-4i) */
  bsw = _mm512_broadcast_i32x4(
      _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  /* lane j counts block j of each four: inc32 is a 32-bit add in the low dword */
  ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(*ctr_io),
                         _mm512_set_epi32(0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0));
  for (; len >= 512; in += 512, out += 512, len -= 512) {
    if (decrypt)
      vaes_step(rk, rounds, hp, 8, 1, &acc, &ctr, bsw, in, out);
    else
      vaes_step(rk, rounds, hp, 8, 0, &acc, &ctr, bsw, in, out);
  }
  if (len >= 256) {
    vaes_step(rk, rounds, hp, 4, decrypt, &acc, &ctr, bsw, in, out);
    in += 256, out += 256, len -= 256;
  }
  *acc_io = acc;
  *ctr_io = _mm512_castsi512_si128(ctr);
  *in_io = in, *out_io = out, *len_io = len;
}

#endif
