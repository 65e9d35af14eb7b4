/* SPDX-License-Identifier: MIT */
/* Tests for the SSE replay history (lib/sse/history.c): bounds, eviction, lookup by
 * Last-Event-ID, wraparound against a reference model, allocation failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtweb/sse.h"
#include "rtwt.h"

/* A string literal and its length. */
#define S(lit) (lit), (sizeof(lit) - 1)

static rtw_sse_history *open_history(size_t max_events, size_t max_bytes)
{
  rtw_sse_history *h = NULL;

  assert_int_equal(rtw_sse_history_new(&h, max_events, max_bytes, NULL), 0);
  assert_non_null(h);
  return h;
}

static uint64_t push(rtw_sse_history *h, const char *id, const char *bytes)
{
  uint64_t seq = 999;

  assert_int_equal(rtw_sse_history_push(h, id, strlen(id), bytes, strlen(bytes), &seq), 0);
  return seq;
}

/* Push an event of `size` bytes (id included) whose bytes are all `fill`. */
static uint64_t push_sized(rtw_sse_history *h, const char *id, size_t size, char fill)
{
  char buf[4096];
  uint64_t seq = 999;
  size_t id_len = strlen(id);

  assert_true(size >= id_len && size - id_len <= sizeof buf);
  memset(buf, fill, size - id_len);
  assert_int_equal(rtw_sse_history_push(h, id, id_len, buf, size - id_len, &seq), 0);
  return seq;
}

static void expect_get(const rtw_sse_history *h, uint64_t seq, const char *bytes)
{
  const void *p = NULL;
  size_t len = 0;

  assert_int_equal(rtw_sse_history_get(h, seq, &p, &len), 0);
  assert_int_equal(len, strlen(bytes));
  assert_memory_equal(p, bytes, len);
}

static void expect_get_error(const rtw_sse_history *h, uint64_t seq, int err)
{
  const void *p = NULL;
  size_t len = 0;

  assert_int_equal(rtw_sse_history_get(h, seq, &p, &len), err);
}

static void expect_find(const rtw_sse_history *h, const char *id, uint64_t want)
{
  uint64_t seq = 999;

  assert_int_equal(rtw_sse_history_find(h, id, strlen(id), &seq), 0);
  assert_int_equal(seq, want);
}

static void expect_gap(const rtw_sse_history *h, const char *id)
{
  uint64_t seq = 999;

  assert_int_equal(rtw_sse_history_find(h, id, strlen(id), &seq), RTW_ERR_SSE_HISTORY_GAP);
}

static void expect_range(const rtw_sse_history *h, uint64_t first, uint64_t next)
{
  assert_int_equal(rtw_sse_history_first_seq(h), first);
  assert_int_equal(rtw_sse_history_next_seq(h), next);
}

/* ------------------------------------------------------------------ creation and arguments */

/* Public entry points check their arguments; an incomplete allocator and a max_events
 * whose ring size would overflow size_t are refused before anything is allocated. */
static void test_new_arguments(void **state)
{
  static char dummy;
  rtw_sse_history *h = (void *)&dummy;
  rtw_mem half;

  (void)state;
  assert_int_equal(rtw_sse_history_new(NULL, 0, 0, NULL), RTW_ERR_INVALID_ARGUMENT);
  memset(&half, 0, sizeof half);
  assert_int_equal(rtw_sse_history_new(&h, 0, 0, &half), RTW_ERR_INVALID_ARGUMENT);
  assert_null(h);
  h = (void *)&dummy;
  assert_int_equal(rtw_sse_history_new(&h, SIZE_MAX, 16, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_null(h);
  assert_int_equal(rtw_sse_history_new(&h, SIZE_MAX / 2, 16, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_null(h);
  rtw_sse_history_free(NULL);
  assert_int_equal(rtw_sse_history_next_seq(NULL), 0);
  assert_int_equal(rtw_sse_history_first_seq(NULL), 0);
}

static void test_call_arguments(void **state)
{
  rtw_sse_history *h = open_history(4, 64);
  const void *p;
  size_t len;
  uint64_t seq;

  (void)state;
  assert_int_equal(rtw_sse_history_push(NULL, S("1"), S("x"), &seq), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_push(h, NULL, 1, S("x"), &seq), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_push(h, S("1"), NULL, 1, &seq), RTW_ERR_INVALID_ARGUMENT);
  expect_range(h, 0, 0);
  assert_int_equal(rtw_sse_history_push(h, S("1"), S("x"), NULL), 0); /* seq optional */
  assert_int_equal(rtw_sse_history_find(NULL, S("1"), &seq), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_find(h, S("1"), NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_find(h, NULL, 1, &seq), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_get(NULL, 0, &p, &len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_get(h, 0, NULL, &len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_get(h, 0, &p, NULL), RTW_ERR_INVALID_ARGUMENT);
  rtw_sse_history_free(h);
}

/* An empty history: next_seq == first_seq == 0, nothing to get, nothing to find. */
static void test_empty(void **state)
{
  rtw_sse_history *h = open_history(4, 64);

  (void)state;
  expect_range(h, 0, 0);
  expect_get_error(h, 0, RTW_ERR_SSE_HISTORY_END);
  expect_get_error(h, 1, RTW_ERR_SSE_HISTORY_END);
  expect_gap(h, "1");
  rtw_sse_history_free(h);
}

/* Sequence numbers start at 0 and grow by one; get returns the bytes without the id. */
static void test_push_get(void **state)
{
  rtw_sse_history *h = open_history(8, 256);

  (void)state;
  assert_int_equal(push(h, "a", "data: 1\n\n"), 0);
  assert_int_equal(push(h, "b", "data: 2\n\n"), 1);
  assert_int_equal(push(h, "", "data: 3\n\n"), 2);
  expect_range(h, 0, 3);
  expect_get(h, 0, "data: 1\n\n");
  expect_get(h, 1, "data: 2\n\n");
  expect_get(h, 2, "data: 3\n\n");
  expect_get_error(h, 3, RTW_ERR_SSE_HISTORY_END);
  rtw_sse_history_free(h);
}

/* An event with no id and no bytes is still an event with a sequence number. */
static void test_empty_event(void **state)
{
  rtw_sse_history *h = open_history(2, 1);
  const void *p = NULL;
  size_t len = 5;
  uint64_t seq = 9;

  (void)state;
  assert_int_equal(rtw_sse_history_push(h, NULL, 0, NULL, 0, &seq), 0);
  assert_int_equal(seq, 0);
  assert_int_equal(rtw_sse_history_get(h, 0, &p, &len), 0);
  assert_non_null(p);
  assert_int_equal(len, 0);
  push_sized(h, "", 1, 'x');
  expect_range(h, 0, 2);
  /* The byte bound evicts "x" and, being older, the empty event before it. */
  push_sized(h, "", 1, 'y');
  expect_range(h, 2, 3);
  expect_get_error(h, 1, RTW_ERR_SSE_HISTORY_GAP);
  expect_get(h, 2, "y");
  rtw_sse_history_free(h);
}

/* ------------------------------------------------------------------ eviction */

/* Bounded by max_events: the oldest events go first. */
static void test_evict_by_count(void **state)
{
  rtw_sse_history *h = open_history(3, 1024);
  char bytes[16];
  uint64_t i;

  (void)state;
  for (i = 0; i < 5; i++) {
    snprintf(bytes, sizeof bytes, "data: %u\n\n", (unsigned)i);
    assert_int_equal(push(h, "x", bytes), i);
  }
  expect_range(h, 2, 5);
  expect_get_error(h, 0, RTW_ERR_SSE_HISTORY_GAP);
  expect_get_error(h, 1, RTW_ERR_SSE_HISTORY_GAP);
  expect_get(h, 2, "data: 2\n\n");
  expect_get(h, 4, "data: 4\n\n");
  expect_get_error(h, 5, RTW_ERR_SSE_HISTORY_END);
  rtw_sse_history_free(h);
}

/* Bounded by max_bytes, counting the id bytes with the event bytes. */
static void test_evict_by_bytes(void **state)
{
  rtw_sse_history *h = open_history(100, 100);

  (void)state;
  push_sized(h, "a", 30, '0');
  push_sized(h, "b", 30, '1');
  push_sized(h, "c", 30, '2');
  expect_range(h, 0, 3);
  /* 90 bytes used, 30 more do not fit: the oldest goes. */
  push_sized(h, "d", 30, '3');
  expect_range(h, 1, 4);
  expect_get_error(h, 0, RTW_ERR_SSE_HISTORY_GAP);
  expect_gap(h, "a");
  expect_find(h, "b", 2);
  rtw_sse_history_free(h);

  /* The id counts: 5 id bytes + 5 event bytes fill a 10-byte history. */
  h = open_history(100, 10);
  assert_int_equal(push(h, "12345", "abcde"), 0);
  assert_int_equal(push(h, "6", "f"), 1);
  expect_range(h, 1, 2);
  expect_get(h, 1, "f");
  rtw_sse_history_free(h);
}

/* An event exactly max_bytes long fits (evicting everything else); one byte more, or a
 * length sum that overflows size_t, fails with RTW_ERR_SSE_EVENT_TOO_LARGE and changes
 * nothing. */
static void test_oversized(void **state)
{
  rtw_sse_history *h = open_history(8, 64);
  char big[80];
  uint64_t seq = 77;

  (void)state;
  memset(big, 'z', sizeof big);
  push(h, "1", "data: one\n\n");
  push(h, "2", "data: two\n\n");
  assert_int_equal(rtw_sse_history_push(h, S("3"), big, 64, &seq),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_push(h, big, 65, NULL, 0, &seq),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_push(h, big, 2, big, SIZE_MAX, &seq),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(seq, 77);
  expect_range(h, 0, 2);
  expect_get(h, 0, "data: one\n\n");
  expect_get(h, 1, "data: two\n\n");
  expect_find(h, "2", 2);

  assert_int_equal(rtw_sse_history_push(h, S("3"), big, 63, &seq), 0);
  assert_int_equal(seq, 2);
  expect_range(h, 2, 3);
  expect_find(h, "3", 3);
  rtw_sse_history_free(h);
}

/* 0 means the documented defaults: 1024 events, 1 MiB. */
static void test_defaults(void **state)
{
  rtw_sse_history *h = open_history(0, 0);
  char *big = calloc(1, RTW_SSE_HISTORY_DEFAULT_MAX_BYTES + 1);
  size_t i;

  (void)state;
  assert_non_null(big);
  for (i = 0; i < RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS + 1; i++)
    push(h, "", "x");
  expect_range(h, 1, RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS + 1);
  assert_int_equal(rtw_sse_history_push(h, NULL, 0, big, RTW_SSE_HISTORY_DEFAULT_MAX_BYTES + 1,
                                        NULL),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_push(h, NULL, 0, big, RTW_SSE_HISTORY_DEFAULT_MAX_BYTES,
                                        NULL),
                   0);
  expect_range(h, RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS + 1, RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS + 2);
  free(big);
  rtw_sse_history_free(h);
}

/* ------------------------------------------------------------------ lookup */

/* find gives the sequence number of the event after the one with that id: next_seq when
 * the client is up to date. */
static void test_find(void **state)
{
  rtw_sse_history *h = open_history(8, 256);

  (void)state;
  push(h, "10", "a");
  push(h, "11", "b");
  push(h, "12", "c");
  expect_find(h, "10", 1);
  expect_find(h, "11", 2);
  expect_find(h, "12", 3);
  assert_int_equal(rtw_sse_history_next_seq(h), 3);
  expect_gap(h, "13");
  expect_gap(h, "1");
  expect_gap(h, "120");
  rtw_sse_history_free(h);
}

/* An empty id names no event (a client sends it after `id:` cleared its last event ID), even
 * when events were pushed without an id. */
static void test_find_empty_id(void **state)
{
  rtw_sse_history *h = open_history(8, 256);
  uint64_t seq = 5;

  (void)state;
  push(h, "", "a");
  expect_gap(h, "");
  assert_int_equal(rtw_sse_history_find(h, NULL, 0, &seq), RTW_ERR_SSE_HISTORY_GAP);
  rtw_sse_history_free(h);
}

/* Duplicate ids: the search runs from newest to oldest, so the newest wins. */
static void test_find_duplicates(void **state)
{
  rtw_sse_history *h = open_history(3, 256);

  (void)state;
  push(h, "x", "0");
  push(h, "y", "1");
  push(h, "x", "2");
  expect_find(h, "x", 3);
  expect_find(h, "y", 2);
  push(h, "z", "3"); /* evicts the older "x" */
  expect_find(h, "x", 3);
  push(h, "w", "4"); /* evicts "y" */
  expect_gap(h, "y");
  push(h, "v", "5"); /* evicts the newer "x" */
  expect_gap(h, "x");
  rtw_sse_history_free(h);
}

/* An evicted id is a gap: the host must resynchronise the client. get of an evicted
 * sequence number is a gap too; at or past next_seq it is the end. */
static void test_gap_and_end(void **state)
{
  rtw_sse_history *h = open_history(2, 256);

  (void)state;
  push(h, "1", "a");
  push(h, "2", "b");
  push(h, "3", "c");
  expect_gap(h, "1");
  expect_find(h, "2", 2);
  expect_get_error(h, 0, RTW_ERR_SSE_HISTORY_GAP);
  expect_get(h, 1, "b");
  expect_get(h, 2, "c");
  expect_get_error(h, 3, RTW_ERR_SSE_HISTORY_END);
  expect_get_error(h, UINT64_MAX, RTW_ERR_SSE_HISTORY_END);
  rtw_sse_history_free(h);
}

/* The reconnect flow from docs: find the Last-Event-ID, then get until END. */
static void test_replay_flow(void **state)
{
  rtw_sse_history *h = open_history(16, 4096);
  char buf[128], out[1024];
  const void *p;
  size_t n, len, used = 0;
  uint64_t seq;
  unsigned i;
  int rv;

  (void)state;
  for (i = 0; i < 5; i++) {
    char id[8], data[8];
    rtw_sse_event ev = {0};
    snprintf(id, sizeof id, "%u", i);
    snprintf(data, sizeof data, "m%u", i);
    ev.id = id;
    ev.id_len = strlen(id);
    ev.data = data;
    ev.data_len = strlen(data);
    assert_int_equal(rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0), 0);
    assert_int_equal(rtw_sse_history_push(h, id, strlen(id), buf, n, NULL), 0);
  }
  assert_int_equal(rtw_sse_history_find(h, S("2"), &seq), 0);
  while ((rv = rtw_sse_history_get(h, seq++, &p, &len)) == 0) {
    memcpy(out + used, p, len);
    used += len;
  }
  assert_int_equal(rv, RTW_ERR_SSE_HISTORY_END);
  assert_int_equal(used, strlen("id: 3\ndata: m3\n\nid: 4\ndata: m4\n\n"));
  assert_memory_equal(out, "id: 3\ndata: m3\n\nid: 4\ndata: m4\n\n", used);
  rtw_sse_history_free(h);
}

/* ------------------------------------------------------------------ reference model */

/* The obvious implementation of the documented layout: a byte array where each event goes
 * right after the previous one, or at offset 0 when it would run past the end, and every
 * retained event it overlaps is evicted with all older ones; then the count bound. */
typedef struct ref_event {
  char id[8];
  size_t id_len;
  char *bytes;
  size_t len;
  size_t off;
} ref_event;

typedef struct ref {
  size_t max_events;
  size_t max_bytes;
  size_t tail;
  size_t first, next;
  ref_event *ev; /* every event ever pushed, by sequence number */
} ref;

static int overlaps(const ref_event *e, size_t off, size_t n)
{
  return e->off < off + n && off < e->off + e->id_len + e->len;
}

static int ref_push(ref *r, const ref_event *e)
{
  size_t n = e->id_len + e->len, off, s;

  if (n > r->max_bytes)
    return RTW_ERR_SSE_EVENT_TOO_LARGE;
  off = r->tail + n <= r->max_bytes ? r->tail : 0;
  for (s = r->next; s-- > r->first;) {
    if (overlaps(&r->ev[s], off, n)) {
      r->first = s + 1;
      break;
    }
  }
  if (r->next - r->first >= r->max_events)
    r->first = r->next - r->max_events + 1;
  r->ev[r->next] = *e;
  r->ev[r->next].off = off;
  r->next++;
  r->tail = off + n;
  return 0;
}

static int ref_find(const ref *r, const char *id, size_t id_len, uint64_t *seq)
{
  size_t s;

  if (id_len == 0)
    return RTW_ERR_SSE_HISTORY_GAP;
  for (s = r->next; s-- > r->first;) {
    if (r->ev[s].id_len == id_len && memcmp(r->ev[s].id, id, id_len) == 0) {
      *seq = s + 1;
      return 0;
    }
  }
  return RTW_ERR_SSE_HISTORY_GAP;
}

/* Fixed-seed xorshift64* PRNG. */
static uint64_t rng_next(uint64_t *st)
{
  *st ^= *st >> 12;
  *st ^= *st << 25;
  *st ^= *st >> 27;
  return *st * 2685821657736338717ull;
}

static size_t rng_below(uint64_t *st, size_t n)
{
  return (size_t)((rng_next(st) >> 33) % n);
}

/* A random id: often repeated, sometimes empty. */
static size_t gen_id(uint64_t *rng, char id[8])
{
  if (rng_below(rng, 8) == 0)
    return 0;
  return (size_t)snprintf(id, 8, "k%u", (unsigned)rng_below(rng, 40));
}

/* A random event size (id excluded): mostly small, sometimes half the buffer, exactly the
 * buffer, or too large. At least 1, so every event occupies bytes. */
static size_t gen_len(uint64_t *rng, size_t max_bytes, size_t id_len)
{
  size_t room = max_bytes > id_len ? max_bytes - id_len : 0;

  switch (rng_below(rng, 16)) {
  case 0:
    return room + 1 + rng_below(rng, 3);
  case 1:
    return room ? room : 1;
  case 2:
    return 1 + rng_below(rng, room / 2 + 1) + room / 2;
  default:
    return 1 + rng_below(rng, max_bytes / 8 + 1);
  }
}

static void compare(const rtw_sse_history *h, const ref *r, uint64_t *rng)
{
  size_t s;
  uint64_t seq_h = 0, seq_r = 0;
  char id[8];
  size_t id_len;

  expect_range(h, r->first, r->next);
  for (s = r->first; s < r->next; s++) {
    const void *p = NULL;
    size_t len = 0;
    assert_int_equal(rtw_sse_history_get(h, s, &p, &len), 0);
    assert_int_equal(len, r->ev[s].len);
    assert_memory_equal(p, r->ev[s].bytes, len);
  }
  if (r->first > 0)
    expect_get_error(h, r->first - 1, RTW_ERR_SSE_HISTORY_GAP);
  expect_get_error(h, r->next, RTW_ERR_SSE_HISTORY_END);
  id_len = gen_id(rng, id);
  assert_int_equal(rtw_sse_history_find(h, id, id_len, &seq_h),
                   ref_find(r, id, id_len, &seq_r));
  assert_int_equal(seq_h, seq_r);
}

static void run_model(size_t max_events, size_t max_bytes, size_t pushes, uint64_t seed)
{
  rtw_sse_history *h = open_history(max_events, max_bytes);
  ref r;
  ref_event e;
  uint64_t rng = seed, seq;
  size_t i, k, accepted = 0;

  memset(&r, 0, sizeof r);
  r.max_events = max_events;
  r.max_bytes = max_bytes;
  r.ev = calloc(pushes, sizeof *r.ev);
  assert_non_null(r.ev);
  for (i = 0; i < pushes; i++) {
    memset(&e, 0, sizeof e);
    e.id_len = gen_id(&rng, e.id);
    e.len = gen_len(&rng, max_bytes, e.id_len);
    e.bytes = malloc(e.len);
    assert_non_null(e.bytes);
    for (k = 0; k < e.len; k++)
      e.bytes[k] = (char)rng_next(&rng);
    seq = 999;
    assert_int_equal(rtw_sse_history_push(h, e.id, e.id_len, e.bytes, e.len, &seq),
                     ref_push(&r, &e));
    if (r.next > accepted) {
      accepted = r.next;
      assert_int_equal(seq, r.next - 1);
    } else {
      free(e.bytes);
    }
    compare(h, &r, &rng);
  }
  for (i = 0; i < r.next; i++)
    free(r.ev[i].bytes);
  free(r.ev);
  rtw_sse_history_free(h);
}

/* Wraparound many times with varied sizes: after every push the history agrees with the
 * reference model on first/next seq, every retained event, GAP/END and find. */
static void test_wraparound_model(void **state)
{
  static const struct {
    size_t max_events, max_bytes;
  } configs[] = {
    {1, 64}, {2, 2}, {3, 1}, {4, 100}, {7, 7}, {16, 1000}, {64, 257}, {1000, 4096},
    {5, 4096}, {1024, 97},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof configs / sizeof configs[0]; i++)
    run_model(configs[i].max_events, configs[i].max_bytes, 3000, 0x9E3779B97F4A7C15ull + i);
}

/* ------------------------------------------------------------------ allocation failures */

static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  rtw_sse_history *h = NULL;
  int rv;

  (void)arg;
  rv = rtw_sse_history_new(&h, 8, 64, mem);
  if (rv != 0) {
    assert_null(h);
    return rv;
  }
  /* Pushing never allocates: with every later allocation failing it still works. */
  push(h, "1", "data: a\n\n");
  push_sized(h, "2", 32, 'x');
  push(h, "3", "data: c\n\n");
  expect_find(h, "2", 2);
  /* neither do push_at and reset */
  assert_int_equal(rtw_sse_history_push_at(h, 9, S("9"), S("data: 9\n\n")), 0);
  assert_int_equal(rtw_sse_history_reset(h, 2), 0);
  assert_int_equal(rtw_sse_history_push_at(h, 2, S("2"), S("data: 2\n\n")), 0);
  expect_find(h, "2", 3);
  rtw_sse_history_free(h);
  return 0;
}

/* ------------------------------------------------------------------ host sequence numbers */

static void push_at(rtw_sse_history *h, uint64_t seq, const char *id, const char *bytes)
{
  assert_int_equal(rtw_sse_history_push_at(h, seq, id, strlen(id), bytes, strlen(bytes)), 0);
}

/* push_at on an empty history starts the numbering where the host says; the next number
 * appends, as push() would, and push() continues the host's numbering. */
static void test_push_at_seed(void **state)
{
  rtw_sse_history *h = open_history(4, 1024);

  (void)state;
  push_at(h, 1000, "e1-1000", "data: a\n\n");
  expect_range(h, 1000, 1001);
  push_at(h, 1001, "e1-1001", "data: b\n\n");
  assert_int_equal(push(h, "e1-1002", "data: c\n\n"), 1002);
  expect_range(h, 1000, 1003);
  expect_get(h, 1000, "data: a\n\n");
  expect_get(h, 1002, "data: c\n\n");
  expect_get_error(h, 999, RTW_ERR_SSE_HISTORY_GAP);
  expect_get_error(h, 1003, RTW_ERR_SSE_HISTORY_END);
  expect_find(h, "e1-1000", 1001);
  expect_find(h, "e1-1002", 1003);
  /* eviction by count goes on from there */
  push_at(h, 1003, "e1-1003", "data: d\n\n");
  push_at(h, 1004, "e1-1004", "data: e\n\n");
  expect_range(h, 1001, 1005);
  expect_gap(h, "e1-1000");
  expect_find(h, "e1-1001", 1002);
  rtw_sse_history_free(h);
}

/* A number below next_seq is refused with RTW_ERR_SSE_HISTORY_ORDER and changes nothing;
 * so is a repeat of the newest. */
static void test_push_at_order(void **state)
{
  rtw_sse_history *h = open_history(4, 1024);

  (void)state;
  push_at(h, 5, "5", "data: 5\n\n");
  push_at(h, 6, "6", "data: 6\n\n");
  assert_int_equal(rtw_sse_history_push_at(h, 6, S("6"), S("again")),
                   RTW_ERR_SSE_HISTORY_ORDER);
  assert_int_equal(rtw_sse_history_push_at(h, 0, S("0"), S("old")), RTW_ERR_SSE_HISTORY_ORDER);
  assert_int_equal(rtw_is_fatal(RTW_ERR_SSE_HISTORY_ORDER), 0);
  expect_range(h, 5, 7);
  expect_get(h, 5, "data: 5\n\n");
  expect_get(h, 6, "data: 6\n\n");
  expect_find(h, "6", 7);
  rtw_sse_history_free(h);
}

/* A number above next_seq leaves a hole: everything retained is dropped (ids included, so
 * find() no longer matches them) and the event is the only one. */
static void test_push_at_gap(void **state)
{
  rtw_sse_history *h = open_history(8, 1024);

  (void)state;
  push(h, "a", "data: a\n\n");
  push(h, "b", "data: b\n\n");
  push(h, "c", "data: c\n\n");
  push_at(h, 10, "j", "data: j\n\n");
  expect_range(h, 10, 11);
  expect_get_error(h, 2, RTW_ERR_SSE_HISTORY_GAP);
  expect_get_error(h, 9, RTW_ERR_SSE_HISTORY_GAP);
  expect_get(h, 10, "data: j\n\n");
  expect_gap(h, "a");
  expect_gap(h, "c");
  expect_find(h, "j", 11);
  push_at(h, 11, "k", "data: k\n\n");
  expect_range(h, 10, 12);
  rtw_sse_history_free(h);
}

/* Errors change nothing: too large (also with a hole: nothing is dropped first), NULL
 * pointers, UINT64_MAX. */
static void test_push_at_errors(void **state)
{
  rtw_sse_history *h = open_history(8, 32);
  char big[40];

  (void)state;
  memset(big, 'x', sizeof big);
  push_at(h, 3, "3", "data: 3\n\n");
  assert_int_equal(rtw_sse_history_push_at(h, 9, "9", 1, big, sizeof big),
                   RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_push_at(h, 4, "4", 1, big, 32), RTW_ERR_SSE_EVENT_TOO_LARGE);
  assert_int_equal(rtw_sse_history_push_at(NULL, 4, S("4"), S("x")), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_push_at(h, 4, NULL, 1, S("x")), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_push_at(h, 4, S("4"), NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_push_at(h, UINT64_MAX, S("m"), S("x")),
                   RTW_ERR_INVALID_ARGUMENT);
  /* the argument is checked before the size (found by fuzz_sse_history) */
  assert_int_equal(rtw_sse_history_push_at(h, UINT64_MAX, "9", 1, big, sizeof big),
                   RTW_ERR_INVALID_ARGUMENT);
  expect_range(h, 3, 4);
  expect_get(h, 3, "data: 3\n\n");
  /* an event of exactly max_bytes at a hole: fits, alone */
  assert_int_equal(rtw_sse_history_push_at(h, 20, "k", 1, big, 31), 0);
  expect_range(h, 20, 21);
  assert_int_equal(rtw_sse_history_push_at(h, 21, NULL, 0, NULL, 0), 0);
  expect_range(h, 20, 22);
  rtw_sse_history_free(h);
}

/* reset() empties the history and sets the next number, lower or higher; the byte ring
 * goes on from where it was (wrapping events after a reset stay intact). */
static void test_reset(void **state)
{
  rtw_sse_history *h = open_history(4, 40);
  uint64_t i;

  (void)state;
  assert_int_equal(rtw_sse_history_reset(NULL, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_sse_history_reset(h, UINT64_MAX), RTW_ERR_INVALID_ARGUMENT);
  expect_range(h, 0, 0);
  push_at(h, 100, "x100", "data: 100\n");
  push_at(h, 101, "x101", "data: 101\n");
  assert_int_equal(rtw_sse_history_reset(h, 1), 0);
  expect_range(h, 1, 1);
  expect_get_error(h, 0, RTW_ERR_SSE_HISTORY_GAP);
  expect_get_error(h, 1, RTW_ERR_SSE_HISTORY_END);
  expect_get_error(h, 100, RTW_ERR_SSE_HISTORY_END);
  expect_gap(h, "x100");
  assert_int_equal(rtw_sse_history_push_at(h, 0, S("y0"), S("z")), RTW_ERR_SSE_HISTORY_ORDER);
  /* 14-byte events in a 40-byte ring: every third wraps to offset 0 */
  for (i = 1; i <= 9; i++) {
    char id[8], ev[16];
    snprintf(id, sizeof id, "y%03u", (unsigned)i);
    snprintf(ev, sizeof ev, "data: %03u\n", (unsigned)i);
    push_at(h, i, id, ev);
    if (i == 5) {
      assert_int_equal(rtw_sse_history_reset(h, 6), 0);
      expect_range(h, 6, 6);
    }
  }
  /* two or three 14-byte events fit in 40 bytes, depending on where the lap ends */
  assert_int_equal(rtw_sse_history_next_seq(h), 10);
  assert_true(rtw_sse_history_first_seq(h) >= 7 && rtw_sse_history_first_seq(h) <= 8);
  for (i = rtw_sse_history_first_seq(h); i < 10; i++) {
    char id[8], ev[16];
    snprintf(id, sizeof id, "y%03u", (unsigned)i);
    snprintf(ev, sizeof ev, "data: %03u\n", (unsigned)i);
    expect_get(h, i, ev);
    expect_find(h, id, i + 1);
  }
  expect_gap(h, "y005");
  assert_int_equal(rtw_sse_history_reset(h, 1000), 0);
  expect_range(h, 1000, 1000);
  assert_int_equal(push(h, "z", "data: z\n"), 1000);
  rtw_sse_history_free(h);
}

/* new() fails cleanly with RTW_ERR_NOMEM at each of its allocations and leaks nothing. */
static void test_alloc_failures(void **state)
{
  (void)state;
  assert_int_equal(rtwt_check_alloc_failures(alloc_scenario, NULL), 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_new_arguments),
    cmocka_unit_test(test_call_arguments),
    cmocka_unit_test(test_empty),
    cmocka_unit_test(test_push_get),
    cmocka_unit_test(test_empty_event),
    cmocka_unit_test(test_evict_by_count),
    cmocka_unit_test(test_evict_by_bytes),
    cmocka_unit_test(test_oversized),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_find),
    cmocka_unit_test(test_find_empty_id),
    cmocka_unit_test(test_find_duplicates),
    cmocka_unit_test(test_gap_and_end),
    cmocka_unit_test(test_replay_flow),
    cmocka_unit_test(test_wraparound_model),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_push_at_seed),
    cmocka_unit_test(test_push_at_order),
    cmocka_unit_test(test_push_at_gap),
    cmocka_unit_test(test_push_at_errors),
    cmocka_unit_test(test_reset),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
