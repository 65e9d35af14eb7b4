/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the SSE replay history: random pushes, finds and gets checked
 * against a reference model that keeps every event ever pushed. */
/*
 * Input layout:
 *
 *   byte 0     max_events (0 = the default; 255 also tries SIZE_MAX, which must be refused)
 *   bytes 1-2  max_bytes, little endian (0 = the default)
 *   byte 3     the allocation that fails (1-based; 0 = none)
 *   then operations until the input ends (at most MAX_OPS), an opcode byte and operands:
 *     op % 8 = 0..3  push. bit 3: reuse the id of an earlier event (u8 picks which), else
 *                    id_len = u8 % 9 and the id bytes; bit 4: u16 % 8192 event bytes, else
 *                    u8; bit 5: NULL pointers for an empty id or empty bytes. The event
 *                    bytes are a pattern of the sequence number, so any mix-up shows.
 *                    bit 6: push_at instead, at next_seq + u8 % 4 (a hole for 1..3: the
 *                    window must hold the new event only); with bit 7 too, below next_seq
 *                    (RTW_ERR_SSE_HISTORY_ORDER, nothing changed)
 *     op % 8 = 4     find. bit 3: the id of an earlier event (u8), else u8 % 9 raw bytes
 *     op % 8 = 5     get at first_seq - 2 + u8 % (retained + 5), or UINT64_MAX for u8 255
 *     op % 8 = 6     check every retained event; bit 6: reset to next_seq +- u8 % 4 first
 *     op % 8 = 7     invalid arguments (must change nothing)
 *
 * The model is the list of all events pushed, in order. The history decides which suffix
 * it retains; the documented bounds judge it (include/rtweb/sse.h):
 *   - the newest event is always retained, and first_seq never goes back;
 *   - at most max_events events and max_bytes bytes (ids plus event bytes) are retained;
 *   - an event is only evicted when keeping it would break a bound, allowing for the space
 *     a wrapping event skips: "the space skipped is smaller than the event that skipped
 *     it". A window of max_bytes bytes spans at most one wrap of the buffer plus the one the
 *     new event may make, so keeping event e with the newer ones would need at most
 *     size(e..newest) + 2 * (largest newer size) bytes: eviction is legitimate only when
 *     that exceeds max_bytes or the count would exceed max_events.
 * Then every answer is exact: get returns the bytes pushed under that sequence number,
 * RTW_ERR_SSE_HISTORY_GAP below first_seq and RTW_ERR_SSE_HISTORY_END from next_seq on;
 * find returns the newest retained event with that id (byte-equal, never for an empty id).
 * Push and the lookups never allocate; a refused allocation in new() gives RTW_ERR_NOMEM
 * and no leak.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/sse.h"

#define MAX_OPS 2000u
#define MAX_FULL_CHECKS 8u

typedef struct model_ev {
  uint8_t id[8];
  size_t id_len;
  size_t len;
  int absent; /* a sequence number push_at or reset skipped: never retained */
} model_ev;

typedef struct model {
  model_ev *v;
  size_t n;
  size_t cap;
  size_t max_events;
  size_t max_bytes;
  uint8_t *scratch; /* event bytes being pushed */
} model;

static uint8_t pattern(uint64_t seq, size_t i)
{
  return (uint8_t)((seq * 0x9E3779B1u) >> 11 ^ (uint64_t)i * 13u);
}

static size_t size_of(const model *m, uint64_t seq)
{
  return m->v[seq].id_len + m->v[seq].len;
}

/* The event with sequence number seq must be retained and intact. */
static void check_event(const rtw_sse_history *h, const model *m, uint64_t seq)
{
  const void *bytes = NULL;
  size_t len = (size_t)-1, i;

  FUZZ_CHECK(rtw_sse_history_get(h, seq, &bytes, &len) == 0);
  FUZZ_CHECK(len == m->v[seq].len);
  FUZZ_CHECK(bytes != NULL || len == 0);
  for (i = 0; i < len; i++)
    FUZZ_CHECK(((const uint8_t *)bytes)[i] == pattern(seq, i));
}

/* The bounds after pushing event `newest`, which evicted [first_before, first). */
static void check_bounds(const rtw_sse_history *h, const model *m, uint64_t first_before)
{
  uint64_t newest = m->n - 1, first = rtw_sse_history_first_seq(h), e;
  size_t total = 0, largest = 0;

  FUZZ_CHECK(rtw_sse_history_next_seq(h) == m->n);
  FUZZ_CHECK(first >= first_before && first <= newest);
  FUZZ_CHECK(m->n - first <= m->max_events);
  for (e = first; e <= newest; e++) {
    total += size_of(m, e);
    if (size_of(m, e) > largest)
      largest = size_of(m, e);
  }
  FUZZ_CHECK(total <= m->max_bytes);
  /* Walk the evicted events from the newest down: each must have had to go. `total` and
   * `largest` cover e..newest and e+1..newest. */
  for (e = first; e-- > first_before;) {
    if (size_of(m, e + 1) > largest)
      largest = size_of(m, e + 1);
    total += size_of(m, e);
    FUZZ_CHECK(newest - e + 1 > m->max_events || total + 2 * largest > m->max_bytes);
  }
  check_event(h, m, newest);
  check_event(h, m, first);
}

static void check_all(const rtw_sse_history *h, const model *m)
{
  uint64_t seq;

  FUZZ_CHECK(rtw_sse_history_next_seq(h) == m->n);
  FUZZ_CHECK(rtw_sse_history_first_seq(h) <= m->n);
  for (seq = rtw_sse_history_first_seq(h); seq < m->n; seq++)
    check_event(h, m, seq);
}

static const uint8_t *pick_id(const model *m, fuzz_in *in, uint8_t op, size_t *id_len)
{
  if ((op & 0x08) && m->n > 0) {
    const model_ev *ev = &m->v[fuzz_u8(in) % m->n];
    *id_len = ev->id_len;
    return ev->id;
  }
  return fuzz_take(in, fuzz_u8(in) % 9u, id_len);
}

static void model_grow(model *m, uint64_t n)
{
  while (m->cap < n) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->v = realloc(m->v, m->cap * sizeof *m->v);
    FUZZ_CHECK(m->v != NULL);
  }
}

/* Sequence numbers below `next` that were never pushed are absent from the model. */
static void model_skip_to(model *m, uint64_t next)
{
  model_grow(m, next);
  for (; m->n < next; m->n++) {
    memset(&m->v[m->n], 0, sizeof m->v[m->n]);
    m->v[m->n].absent = 1;
  }
}

static void op_push_at(rtw_sse_history *h, model *m, fuzz_in *in, uint8_t op)
{
  uint64_t first = rtw_sse_history_first_seq(h), seq;
  size_t id_len, len, i;
  const uint8_t *id = pick_id(m, in, op, &id_len);
  uint8_t idcopy[8], d = fuzz_u8(in);
  int rv;

  if (id_len > 0)
    memcpy(idcopy, id, id_len);
  len = (op & 0x10) ? fuzz_u16(in) % 8192u : fuzz_u8(in);
  if ((op & 0x80) && m->n > 0) { /* going back: refused, nothing changed */
    seq = m->n - 1 - (d % 3u < m->n ? d % 3u : 0);
    rv = rtw_sse_history_push_at(h, seq, (const char *)idcopy, id_len, m->scratch, len);
    FUZZ_CHECK(rv == (id_len + len > m->max_bytes ? RTW_ERR_SSE_EVENT_TOO_LARGE
                                                  : RTW_ERR_SSE_HISTORY_ORDER));
    FUZZ_CHECK(rtw_sse_history_first_seq(h) == first && rtw_sse_history_next_seq(h) == m->n);
    return;
  }
  seq = m->n + d % 4u;
  for (i = 0; i < len; i++)
    m->scratch[i] = pattern(seq, i);
  rv = rtw_sse_history_push_at(h, seq, ((op & 0x20) && id_len == 0) ? NULL : (const char *)idcopy,
                               id_len, ((op & 0x20) && len == 0) ? NULL : m->scratch, len);
  if (id_len + len > m->max_bytes) {
    FUZZ_CHECK(rv == RTW_ERR_SSE_EVENT_TOO_LARGE); /* and nothing changed, nothing dropped */
    FUZZ_CHECK(rtw_sse_history_first_seq(h) == first && rtw_sse_history_next_seq(h) == m->n);
    return;
  }
  FUZZ_CHECK(rv == 0);
  model_skip_to(m, seq);
  model_grow(m, seq + 1);
  memset(&m->v[seq], 0, sizeof m->v[seq]);
  if (id_len > 0)
    memcpy(m->v[seq].id, idcopy, id_len);
  m->v[seq].id_len = id_len;
  m->v[seq].len = len;
  m->n = seq + 1;
  /* a hole empties the window: the new event is the only one */
  check_bounds(h, m, d % 4u ? seq : first);
  if (d % 4u)
    FUZZ_CHECK(rtw_sse_history_first_seq(h) == seq);
}

/* reset to a nearby sequence number, lower or higher. */
static void op_reset(rtw_sse_history *h, model *m, fuzz_in *in)
{
  uint8_t d = fuzz_u8(in);
  uint64_t next = (d & 4) ? m->n + d % 4u : m->n - (d % 4u < m->n ? d % 4u : m->n);

  FUZZ_CHECK(rtw_sse_history_reset(h, next) == 0);
  FUZZ_CHECK(rtw_sse_history_first_seq(h) == next && rtw_sse_history_next_seq(h) == next);
  if (next > m->n)
    model_skip_to(m, next);
  m->n = next; /* going back: those numbers will be pushed again */
}

static void op_push(rtw_sse_history *h, model *m, fuzz_in *in, uint8_t op)
{
  uint64_t first = rtw_sse_history_first_seq(h), seq = 12345;
  size_t id_len, len, i;
  const uint8_t *id = pick_id(m, in, op, &id_len);
  uint8_t idcopy[8];
  int rv;

  if (id_len > 0)
    memcpy(idcopy, id, id_len); /* id may point into the model, which may move */
  len = (op & 0x10) ? fuzz_u16(in) % 8192u : fuzz_u8(in);
  for (i = 0; i < len; i++)
    m->scratch[i] = pattern(m->n, i);
  rv = rtw_sse_history_push(h, ((op & 0x20) && id_len == 0) ? NULL : (const char *)idcopy, id_len,
                            ((op & 0x20) && len == 0) ? NULL : m->scratch, len, &seq);
  if (id_len + len > m->max_bytes) {
    FUZZ_CHECK(rv == RTW_ERR_SSE_EVENT_TOO_LARGE); /* and nothing changed: */
    FUZZ_CHECK(rtw_sse_history_first_seq(h) == first && rtw_sse_history_next_seq(h) == m->n);
    return;
  }
  FUZZ_CHECK(rv == 0);
  FUZZ_CHECK(seq == m->n);
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->v = realloc(m->v, m->cap * sizeof *m->v);
    FUZZ_CHECK(m->v != NULL);
  }
  if (id_len > 0)
    memcpy(m->v[m->n].id, idcopy, id_len);
  m->v[m->n].id_len = id_len;
  m->v[m->n].len = len;
  m->n++;
  check_bounds(h, m, first);
}

static void op_find(const rtw_sse_history *h, const model *m, fuzz_in *in, uint8_t op)
{
  uint64_t first = rtw_sse_history_first_seq(h), seq = 12345, e;
  size_t id_len;
  const uint8_t *id = pick_id(m, in, op, &id_len);
  int rv = rtw_sse_history_find(h, (const char *)id, id_len, &seq);

  /* The newest retained event with that id; an empty id names no event. */
  for (e = m->n; id_len > 0 && e-- > first;) {
    if (m->v[e].id_len == id_len && memcmp(m->v[e].id, id, id_len) == 0) {
      FUZZ_CHECK(rv == 0 && seq == e + 1);
      return;
    }
  }
  FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_GAP);
}

static void op_get(const rtw_sse_history *h, const model *m, fuzz_in *in)
{
  uint64_t first = rtw_sse_history_first_seq(h), seq;
  uint8_t v = fuzz_u8(in);
  const void *bytes;
  size_t len;
  int rv;

  /* Near first_seq and next_seq; below 0 it wraps to a huge seq, which is past the end. */
  seq = v == 255 ? UINT64_MAX : first + v % (m->n - first + 5) - 2;
  rv = rtw_sse_history_get(h, seq, &bytes, &len);
  if (seq < first)
    FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_GAP);
  else if (seq >= m->n)
    FUZZ_CHECK(rv == RTW_ERR_SSE_HISTORY_END);
  else
    check_event(h, m, seq);
}

/* Documented RTW_ERR_INVALID_ARGUMENT cases: refused, nothing changed. */
static void op_invalid(rtw_sse_history *h, const model *m)
{
  uint64_t seq, first = rtw_sse_history_first_seq(h);
  const void *bytes;
  size_t len;

  FUZZ_CHECK(rtw_sse_history_push(h, NULL, 1, "x", 1, &seq) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_push(h, "x", 1, NULL, 1, &seq) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_push(NULL, "x", 1, "x", 1, &seq) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_find(h, NULL, 1, &seq) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_find(h, "x", 1, NULL) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_get(h, first, NULL, &len) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_get(h, first, &bytes, NULL) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_get(NULL, first, &bytes, &len) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_next_seq(NULL) == 0 && rtw_sse_history_first_seq(NULL) == 0);
  FUZZ_CHECK(rtw_sse_history_push_at(NULL, m->n, "x", 1, "x", 1) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_push_at(h, m->n, NULL, 1, "x", 1) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_push_at(h, UINT64_MAX, "x", 1, "x", 1) ==
             RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_reset(NULL, 0) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_reset(h, UINT64_MAX) == RTW_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(rtw_sse_history_first_seq(h) == first && rtw_sse_history_next_seq(h) == m->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  rtw_sse_history *h = NULL;
  fuzz_mem fm;
  fuzz_in in;
  model m;
  unsigned long allocs;
  size_t max_bytes; /* as given: 0 asks for the default */
  unsigned ops, full_checks = 0;
  uint8_t b0;
  int rv;

  memset(&m, 0, sizeof m);
  in.p = data;
  in.n = size;
  b0 = fuzz_u8(&in);
  m.max_events = b0 ? b0 : RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS;
  max_bytes = fuzz_u16(&in);
  m.max_bytes = max_bytes ? max_bytes : RTW_SSE_HISTORY_DEFAULT_MAX_BYTES;
  fuzz_mem_init(&fm, fuzz_mem_scheduled(fuzz_u8(&in)));
  fuzz_mem_mark_scheduled(&fm);
  if (b0 == 255) { /* an index too large to allocate: refused before any allocation */
    FUZZ_CHECK(rtw_sse_history_new(&h, SIZE_MAX, m.max_bytes, &fm.mem) ==
               RTW_ERR_INVALID_ARGUMENT);
    FUZZ_CHECK(h == NULL && fm.count == 0);
  }
  rv = rtw_sse_history_new(&h, b0, max_bytes, &fm.mem);
  if (rv != 0) {
    FUZZ_CHECK(fuzz_mem_saw(rv) == RTW_ERR_NOMEM && fm.failed == 1 && h == NULL);
    fuzz_mem_check_clean(&fm);
    return 0;
  }
  FUZZ_CHECK(fm.failed == 0 && h != NULL);
  FUZZ_CHECK(rtw_sse_history_first_seq(h) == 0 && rtw_sse_history_next_seq(h) == 0);
  allocs = fm.count;
  m.scratch = malloc(8192);
  FUZZ_CHECK(m.scratch != NULL);
  for (ops = 0; ops < MAX_OPS && in.n > 0; ops++) {
    uint8_t op = fuzz_u8(&in);
    switch (op % 8u) {
    case 4:
      op_find(h, &m, &in, op);
      break;
    case 5:
      op_get(h, &m, &in);
      break;
    case 6:
      if (op & 0x40)
        op_reset(h, &m, &in);
      if (full_checks++ < MAX_FULL_CHECKS)
        check_all(h, &m);
      break;
    case 7:
      op_invalid(h, &m);
      break;
    default:
      if (op & 0x40)
        op_push_at(h, &m, &in, op);
      else
        op_push(h, &m, &in, op);
      break;
    }
  }
  check_all(h, &m);
  FUZZ_CHECK(fm.count == allocs); /* "appending never allocates" */
  rtw_sse_history_free(h);
  fuzz_mem_check_clean(&fm);
  free(m.v);
  free(m.scratch);
  return 0;
}
