/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark drivers: build description, monotonic clock, medians. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif
#ifndef BENCH_OPTIMIZATION
#define BENCH_OPTIMIZATION "unknown"
#endif

#if defined(__clang__)
#define BENCH_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define BENCH_COMPILER "gcc " __VERSION__
#else
#define BENCH_COMPILER "unknown"
#endif

#define MAX_REPS 101

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    fprintf(stderr, "bench: clock_gettime(CLOCK_MONOTONIC) failed\n");
    exit(1);
  }
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;

  return (x > y) - (x < y);
}

/* Sort t[0..n) (n >= 1) and return its median. */
static inline double bench_median(double *t, unsigned n)
{
  qsort(t, n, sizeof t[0], bench_cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2.0;
}

#endif /* BENCH_COMMON_H */
