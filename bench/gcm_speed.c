/* SPDX-License-Identifier: MIT */
/* gcm_speed: AES-GCM record protection speed (lib/tls/gcm.h, docs/tls.md "Record protection
 * speed"). Seal and open of 64-byte, 1 KiB and 16 KiB records with a 13-byte AAD (TLS 1.2's
 * seq_num || type || version || length, RFC 5246 6.2.3.3), AES-128 and AES-256, for every
 * kernel this CPU has and for mbedtls_gcm_crypt_and_tag / mbedtls_gcm_auth_decrypt in the
 * same run. Each cell runs `runs` times (interleaved with the others, so a noisy moment
 * hits all of them alike) for about `ms` milliseconds of the thread's CPU time each (time
 * the thread waits for a core does not count: this machine is shared); the median GB/s
 * (10^9 bytes of record per CPU second) is printed, with its ratio to mbedTLS.
 *
 *   gcm_speed [runs [ms]]      (defaults 7 and 40: about 25 s in all) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/gcm.h>

#include "gcm.h"
#include "gcm_x86.h"

#define IMPLS 4 /* mbedTLS directly, then RTW__GCM_PORTABLE, _AESNI, _VAES through gcm.h */
#define MAX_RUNS 31

static const char *const impl_names[IMPLS] = {"mbedtls", "portable", "aesni", "vaes"};

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct cell {
  double gbps[MAX_RUNS];
} cell;

static unsigned char buf[16384 + 64], ct[16384 + 64];
static volatile unsigned sink;

/* One timed run: GB/s of `op` (0 seal, 1 open) on len-byte records for about ms ms. */
static double run(int impl, rtw__gcm *g, mbedtls_gcm_context *ref, int op, size_t len,
                  double ms)
{
  unsigned char iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  unsigned char aad[13] = {0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 0, 0};
  unsigned char tag[16];
  size_t n = 0, i, batch = len >= 16384 ? 16 : 1024;
  double t0 = now(), t;

  aad[11] = (unsigned char)(len >> 8), aad[12] = (unsigned char)len;
  /* a valid record to open */
  if (impl == 0)
    (void)mbedtls_gcm_crypt_and_tag(ref, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad, 13, buf, ct, 16,
                                    tag);
  else
    rtw__gcm_seal(g, iv, aad, 13, buf, len, ct, tag);
  do {
    for (i = 0; i < batch; i++) {
      if (op == 0) {
        if (impl == 0)
          (void)mbedtls_gcm_crypt_and_tag(ref, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad, 13, buf,
                                          buf, 16, tag);
        else
          rtw__gcm_seal(g, iv, aad, 13, buf, len, buf, tag);
      } else {
        int rc = impl == 0 ? mbedtls_gcm_auth_decrypt(ref, len, iv, 12, aad, 13, tag, 16, ct, buf)
                           : rtw__gcm_open(g, iv, aad, 13, ct, len, buf, tag);
        if (rc != 0) {
          fprintf(stderr, "gcm_speed: %s open failed\n", impl_names[impl]);
          exit(1);
        }
      }
    }
    n += batch;
    t = now() - t0;
  } while (t < ms * 1e-3);
  sink += buf[0];
  return (double)n * (double)len / t / 1e9;
}

int main(int argc, char **argv)
{
#define LENS 3
  static const size_t lens[LENS] = {64, 1024, 16384};
  static const size_t key_lens[2] = {16, 32};
  static cell cells[2][LENS][2][IMPLS]; /* key, len, op, impl */
  int runs = argc > 1 ? atoi(argv[1]) : 7;
  double ms = argc > 2 ? atof(argv[2]) : 40.0;
  int best = rtw__gcm_cpu_kernel(), r, k, l, op, impl;
  unsigned char key[32];

  if (runs < 1 || runs > MAX_RUNS || ms <= 0) {
    fprintf(stderr, "usage: gcm_speed [runs (1..%d) [ms]]\n", MAX_RUNS);
    return 2;
  }
  for (k = 0; k < 32; k++)
    key[k] = (unsigned char)(k * 37 + 1);
  memset(buf, 0x5a, sizeof(buf));
  printf("# gcm_speed: best kernel %s; %d runs of ~%.0f ms per cell; median GB/s "
         "(ratio to mbedTLS)\n", impl_names[best + 1], runs, ms);
  for (r = 0; r < runs; r++)
    for (k = 0; k < 2; k++) {
      mbedtls_gcm_context ref;
      rtw__gcm g[IMPLS];
      mbedtls_gcm_init(&ref);
      if (mbedtls_gcm_setkey(&ref, MBEDTLS_CIPHER_ID_AES, key, (unsigned)key_lens[k] * 8) != 0)
        return 1;
      for (impl = 1; impl < IMPLS && impl - 1 <= best; impl++) {
        if (rtw__gcm_test_kernel(impl - 1) != 0 || rtw__gcm_init(&g[impl], key, key_lens[k]) != 0)
          return 1;
      }
      for (l = 0; l < LENS; l++)
        for (op = 0; op < 2; op++)
          for (impl = 0; impl < IMPLS && impl - 1 <= best; impl++)
            cells[k][l][op][impl].gbps[r] =
                run(impl, &g[impl], &ref, op, lens[l], impl <= 1 ? ms / 2 : ms);
      for (impl = 1; impl < IMPLS && impl - 1 <= best; impl++)
        rtw__gcm_wipe(&g[impl]);
      mbedtls_gcm_free(&ref);
    }
  printf("%-8s %-6s %-5s", "key", "record", "op");
  for (impl = 0; impl < IMPLS && impl - 1 <= best; impl++)
    printf(" %18s", impl_names[impl]);
  printf("\n");
  for (k = 0; k < 2; k++)
    for (l = 0; l < LENS; l++)
      for (op = 0; op < 2; op++) {
        double base = 0;
        printf("AES-%-4u %-6zu %-5s", (unsigned)key_lens[k] * 8, lens[l], op ? "open" : "seal");
        for (impl = 0; impl < IMPLS && impl - 1 <= best; impl++) {
          double *v = cells[k][l][op][impl].gbps, med;
          qsort(v, (size_t)runs, sizeof(double), cmp_double);
          med = v[runs / 2];
          if (impl == 0)
            base = med;
          printf(" %8.2f (%6.1fx)", med, med / base);
        }
        printf("\n");
      }
  (void)sink;
  return 0;
}
