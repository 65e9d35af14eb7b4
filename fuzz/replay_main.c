/* SPDX-License-Identifier: MIT */
/* Standalone driver that runs LLVMFuzzerTestOneInput over corpus files and prints TAP, so
 * builds without libFuzzer (gcc, -Dfuzzing=none) replay the corpora as ordinary tests. */
/*
 * Usage: fuzz_<target>_replay PATH...
 *
 * Each PATH is a file or a directory; a directory contributes its regular files (not its
 * subdirectories, nor names starting with '.'), in byte order of their names so that runs
 * are reproducible. Arguments starting with '-' are ignored, so a libFuzzer command line
 * (`-dict=... corpus/`) works unchanged. Output is TAP: the plan `1..N` first, then
 * `ok K - PATH` after each input. A failing oracle aborts the process; the signal handler
 * then prints `not ok K - PATH` and re-raises, so the harness sees both the crash and the
 * input to reproduce it with. An unreadable PATH is an error (exit 2).
 *
 * --alloc-sweep=N (the fuzz_allocfail_* tests): each input is run once with nothing failing,
 * counting the allocations its schedule could refuse (fuzz_common.h), then once with each of
 * them refused in turn (at most N runs, spread evenly over them, the first and the last
 * included). The target's own oracles check every result and fuzz_mem_check_clean() the
 * leaks; the driver also asserts that each run refused exactly that allocation and that a
 * call then answered with an error (RTW_ERR_NOMEM, or an object's earlier sticky error). `ok K - PATH (M allocation failures)`; an input that
 * allocates nothing it may refuse is `ok K - PATH # SKIP ...`.
 *
 * POSIX (dirent.h, sys/stat.h, unistd.h), like the rest of the tools.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

typedef struct list {
  char **v;
  size_t n;
  size_t cap;
} list;

/* The TAP line printed if an input crashes; formatted before each run because a signal
 * handler may only call async-signal-safe functions (write, signal, raise). */
static char crash_line[4096];
static size_t crash_len;

static void on_signal(int sig)
{
  static const char bail[] = "Bail out! the input above crashed\n";
  ssize_t w = 0;

  if (crash_len > 0)
    w = write(STDOUT_FILENO, crash_line, crash_len);
  if (w >= 0)
    w = write(STDOUT_FILENO, bail, sizeof bail - 1);
  (void)w; /* nothing better to do on a failed write while crashing */
  signal(sig, SIG_DFL);
  raise(sig);
}

static void *xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (p == NULL) {
    fputs("replay: out of memory\n", stderr);
    exit(2);
  }
  return p;
}

static void push(list *l, const char *dir, const char *name)
{
  size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
  char *s = xrealloc(NULL, dl + nl + 2);

  if (dir != NULL) {
    memcpy(s, dir, dl);
    s[dl++] = '/';
  }
  memcpy(s + dl, name, nl + 1);
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = s;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the regular files of a directory, sorted. */
static int add_dir(list *l, const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  struct stat st;
  size_t first = l->n;

  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    push(l, dir, e->d_name);
    if (stat(l->v[l->n - 1], &st) != 0 || !S_ISREG(st.st_mode))
      free(l->v[--l->n]);
  }
  closedir(d);
  qsort(l->v + first, l->n - first, sizeof *l->v, by_name);
  return 0;
}

/* Read a whole file into an exactly sized buffer (so a sanitizer sees any over-read). */
static uint8_t *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0, k;

  if (f == NULL)
    return NULL;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      buf = xrealloc(buf, cap);
    }
    k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0)
      break;
  }
  if (ferror(f)) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  *len = n;
  return xrealloc(buf, n);
}

/* One input under the allocation-failure sweep. Returns 0 when every run was clean. */
static int sweep_one(size_t k, const char *path, const uint8_t *buf, size_t len,
                     unsigned long max_runs)
{
  unsigned long total, runs, j, at, nomem_runs = 0;

  fuzz_sweep_active = 1;
  fuzz_sweep_fail_at = 0;
  memset(&fuzz_sweep, 0, sizeof fuzz_sweep);
  LLVMFuzzerTestOneInput(buf, len);
  total = fuzz_sweep.count;
  if (fuzz_sweep.failed != 0) {
    printf("not ok %zu - %s (an allocation was refused with none scheduled)\n", k, path);
    return 1;
  }
  if (total == 0) {
    printf("ok %zu - %s # SKIP no allocation this input lets fail\n", k, path);
    return 0;
  }
  runs = total < max_runs ? total : max_runs;
  for (j = 0; j < runs; j++) {
    at = runs == 1 ? 1 : 1 + j * (total - 1) / (runs - 1);
    fuzz_sweep_fail_at = at;
    memset(&fuzz_sweep, 0, sizeof fuzz_sweep);
    LLVMFuzzerTestOneInput(buf, len);
    if (fuzz_sweep.failed != 1 || (fuzz_sweep.nomem == 0 && fuzz_sweep.errors == 0)) {
      printf("not ok %zu - %s (allocation %lu of %lu: %lu refused, %lu RTW_ERR_NOMEM and %lu "
             "other errors seen)\n", k, path, at, total, fuzz_sweep.failed, fuzz_sweep.nomem,
             fuzz_sweep.errors);
      return 1;
    }
    nomem_runs += fuzz_sweep.nomem != 0;
  }
  printf("ok %zu - %s (%lu of %lu allocations refused in turn: %lu gave RTW_ERR_NOMEM, the "
         "others an earlier sticky error; no leak)\n", k, path, runs, total, nomem_runs);
  return 0;
}

int main(int argc, char **argv)
{
  list files = {NULL, 0, 0};
  struct stat st;
  size_t i, len;
  unsigned long sweep = 0;
  int a, failures = 0;

  for (a = 1; a < argc; a++) {
    if (strncmp(argv[a], "--alloc-sweep=", 14) == 0) {
      sweep = strtoul(argv[a] + 14, NULL, 10);
      if (sweep == 0) {
        fprintf(stderr, "replay: --alloc-sweep needs a positive number of runs\n");
        return 2;
      }
      continue;
    }
    if (argv[a][0] == '-')
      continue;
    if (stat(argv[a], &st) != 0) {
      fprintf(stderr, "replay: cannot open %s\n", argv[a]);
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      push(&files, NULL, argv[a]);
    } else if (add_dir(&files, argv[a]) != 0) {
      fprintf(stderr, "replay: cannot read directory %s\n", argv[a]);
      return 2;
    }
  }
  signal(SIGABRT, on_signal);
  signal(SIGSEGV, on_signal);
  signal(SIGFPE, on_signal);
  signal(SIGILL, on_signal);
  printf("1..%zu\n", files.n);
  for (i = 0; i < files.n; i++) {
    uint8_t *buf = slurp(files.v[i], &len);
    int k;
    if (buf == NULL) {
      printf("not ok %zu - %s (unreadable)\n", i + 1, files.v[i]);
      return 1;
    }
    k = snprintf(crash_line, sizeof crash_line, "not ok %zu - %s\n", i + 1, files.v[i]);
    crash_len = k > 0 && (size_t)k < sizeof crash_line ? (size_t)k : 0;
    fflush(stdout);
    if (sweep != 0) {
      failures += sweep_one(i + 1, files.v[i], buf, len, sweep);
    } else {
      LLVMFuzzerTestOneInput(buf, len);
      printf("ok %zu - %s\n", i + 1, files.v[i]);
    }
    crash_len = 0;
    free(buf);
    free(files.v[i]);
  }
  free(files.v);
  return failures != 0;
}
