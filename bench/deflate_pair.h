/* SPDX-License-Identifier: MIT */
/* Helpers shared by deflate_mem.c and deflate_broadcast.c: a counting rtw_mem, the
 * permessage-deflate negotiation between two in-memory configs (the same calls a real
 * handshake makes, RFC 7692 7.1), and moving bytes between two sessions. */
#ifndef BENCH_DEFLATE_PAIR_H
#define BENCH_DEFLATE_PAIR_H

#include <rtweb/rtweb.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- counting allocator */

/* Bytes handed out through one rtw_mem (the block sizes asked for, no malloc overhead). */
typedef struct bench_counter {
  size_t live;   /* bytes allocated and not yet freed */
  size_t peak;   /* highest `live` since the last bench_counter_mark() */
  size_t allocs; /* allocation calls */
} bench_counter;

/* Each block carries its size in a header as large as max_align_t, so alignment holds. */
typedef union bench_hdr {
  size_t size;
  long double ld;
  void *p;
  long long ll;
} bench_hdr;

static inline void bench_count(bench_counter *c, size_t add, size_t sub)
{
  c->live = c->live + add - sub;
  if (c->live > c->peak)
    c->peak = c->live;
}

static inline void *bench_malloc(size_t size, void *ud)
{
  bench_hdr *h = malloc(sizeof *h + size);

  if (h == NULL)
    return NULL;
  h->size = size;
  ((bench_counter *)ud)->allocs++;
  bench_count(ud, size, 0);
  return h + 1;
}

static inline void *bench_calloc(size_t nmemb, size_t size, void *ud)
{
  void *p;

  if (size != 0 && nmemb > ((size_t)-1 - sizeof(bench_hdr)) / size)
    return NULL;
  p = bench_malloc(nmemb * size, ud);
  if (p != NULL)
    memset(p, 0, nmemb * size);
  return p;
}

static inline void *bench_realloc(void *ptr, size_t size, void *ud)
{
  bench_hdr *h = (bench_hdr *)ptr - 1;
  size_t old = h->size;
  bench_hdr *n = realloc(h, sizeof *n + size);

  if (n == NULL)
    return NULL;
  n->size = size;
  bench_count(ud, size, old);
  return n + 1;
}

static inline void bench_free(void *ptr, void *ud)
{
  bench_hdr *h = (bench_hdr *)ptr - 1;

  bench_count(ud, 0, h->size);
  free(h);
}

static inline rtw_mem bench_counting_mem(bench_counter *c)
{
  rtw_mem m;

  m.malloc_fn = bench_malloc;
  m.calloc_fn = bench_calloc;
  m.realloc_fn = bench_realloc;
  m.free_fn = bench_free;
  m.user_data = c;
  return m;
}

/* Start a new peak measurement from the current live size. */
static inline void bench_counter_mark(bench_counter *c)
{
  c->peak = c->live;
}

/* ------------------------------------------------------------- negotiation */

static inline void bench_check(int rc, const char *what)
{
  if (rc < 0) {
    fprintf(stderr, "bench: %s: %s\n", what, rtw_err_name(rc));
    exit(1);
  }
}

/* Negotiate as a real handshake would: the client's offer from `ccfg` (rtw_ws_deflate_offer),
 * parsed by the server and accepted under `scfg`; the answer formatted, parsed by the client
 * and checked against its offer. Fills the parameters each side passes to
 * rtw_ws_set_deflate() and, when `text` is non-NULL, the answer's header text. Exits when the
 * server declines (a benchmark with no compression would measure nothing). */
static inline void bench_negotiate(const rtw_ws_deflate_config *ccfg,
                                   const rtw_ws_deflate_config *scfg,
                                   rtw_ws_deflate_params *server_side,
                                   rtw_ws_deflate_params *client_side, char *text,
                                   size_t text_cap)
{
  char offer[RTW_WS_DEFLATE_ELEMENT_MAX], answer[RTW_WS_DEFLATE_ELEMENT_MAX];
  size_t olen, alen;
  rtw_ws_deflate_params p;

  bench_check(rtw_ws_deflate_offer(ccfg, offer, sizeof offer, &olen), "rtw_ws_deflate_offer");
  if (rtw_ws_deflate_parse(offer, olen, RTW_WS_ROLE_CLIENT, &p) != 1) {
    fprintf(stderr, "bench: our own offer does not parse: %.*s\n", (int)olen, offer);
    exit(1);
  }
  if (rtw_ws_deflate_accept(&p, scfg, server_side) != 1) {
    fprintf(stderr, "bench: the server declined: %.*s\n", (int)olen, offer);
    exit(1);
  }
  bench_check(rtw_ws_deflate_format(server_side, answer, sizeof answer, &alen),
              "rtw_ws_deflate_format");
  if (rtw_ws_deflate_parse(answer, alen, RTW_WS_ROLE_SERVER, client_side) != 1) {
    fprintf(stderr, "bench: the answer does not parse: %.*s\n", (int)alen, answer);
    exit(1);
  }
  bench_check(rtw_ws_deflate_check_response(ccfg, client_side),
              "rtw_ws_deflate_check_response");
  if (text != NULL && text_cap > 0)
    snprintf(text, text_cap, "%.*s", (int)alen, answer);
}

/* ------------------------------------------------------------- moving bytes */

/* Write everything `from` has pending into `to` (NULL: drop it). Returns the bytes moved. */
static inline size_t bench_pump(rtw_ws *from, rtw_ws *to)
{
  size_t moved = 0;

  while (rtw_ws_want_write(from)) {
    const void *p;
    size_t n, used;

    bench_check(rtw_ws_send_pending(from, &p, &n), "rtw_ws_send_pending");
    if (n == 0)
      break;
    if (to != NULL)
      bench_check(rtw_ws_recv(to, p, n, &used), "rtw_ws_recv");
    bench_check(rtw_ws_send_consumed(from, n), "rtw_ws_send_consumed");
    moved += n;
  }
  return moved;
}

#endif /* BENCH_DEFLATE_PAIR_H */
