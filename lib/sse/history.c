/* SPDX-License-Identifier: MIT */
/* SSE replay history: a bounded ring of serialised events, looked up by Last-Event-ID. */
/*
 * A client that reconnects sends the id of the last event it saw (WHATWG HTML 9.2.4 "The
 * `Last-Event-ID` header"). The server finds that event here and replays everything after
 * it, or learns that it cannot (a gap).
 *
 * Layout. Two buffers, both allocated by rtw_sse_history_new() and never resized:
 *
 *   ring[max_events]   one entry per retained event, oldest at ring[head], then
 *                      ring[(head + i) % max_events] for i < count.
 *   bytes[max_bytes]   each event's id followed by its serialised bytes, contiguous:
 *
 *       +---------+------------------+
 *       | id      | event bytes      |      size = id_len + len
 *       +---------+------------------+
 *       ^ bytes + (start % max_bytes)
 *
 * Byte positions are logical: `start` counts bytes from the creation of the history and only
 * grows; an event lives at physical offset start % max_bytes. `tail` is the logical end of
 * the newest event. An event that would run past the end of the buffer starts at the next
 * multiple of max_bytes instead (physical offset 0; the few bytes skipped are lost for that
 * lap), so no event ever wraps and every event is one contiguous span.
 *
 * Invariants:
 *   1. count <= max_events, and the entries are in sequence order:
 *      seq(ring[(head + i) % max_events]) == first_seq + i, and next_seq == first_seq + count.
 *   2. The starts of the retained events increase with their sequence numbers, and
 *      tail - start(oldest) <= max_bytes. Every retained event therefore lies inside one
 *      window of max_bytes logical bytes, which maps to physical offsets one to one: no two
 *      retained events overlap in bytes[].
 *   3. start % max_bytes + size <= max_bytes for every event (none crosses the end).
 *
 * Push places the event, then evicts the oldest events until 1 and 2 hold again: O(1)
 * amortised, as each event is evicted once. Eviction only moves head; bytes are never
 * copied again. Find scans from the newest entry back, so the newest of equal ids wins.
 *
 * Host-chosen sequence numbers (push_at, reset): first_seq is set, which keeps invariant 1
 * whenever the history is empty; push_at with a number above next_seq empties it first, so
 * the window never holds a hole.
 */
#include <string.h>

#include "internal.h"
#include "rtweb/sse.h"

typedef struct entry {
  uint64_t start; /* logical position of the id; the event bytes follow it */
  size_t id_len;
  size_t len;
} entry;

struct rtw_sse_history {
  rtw_mem mem;
  entry *ring;
  char *bytes;
  size_t max_events;
  size_t max_bytes;
  size_t head;        /* index in ring of the oldest retained event */
  size_t count;       /* retained events */
  uint64_t tail;      /* logical end of the newest event pushed */
  uint64_t first_seq; /* sequence number of ring[head] */
};

int rtw_sse_history_new(rtw_sse_history **history, size_t max_events, size_t max_bytes,
                        const rtw_mem *mem)
{
  rtw_mem m;
  rtw_sse_history *h;

  if (history == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *history = NULL;
  if (rtw__mem_init(&m, mem) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  max_events = max_events ? max_events : RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS;
  max_bytes = max_bytes ? max_bytes : RTW_SSE_HISTORY_DEFAULT_MAX_BYTES;
  if (max_events > SIZE_MAX / sizeof(entry))
    return RTW_ERR_INVALID_ARGUMENT;
  h = rtw__mem_calloc(&m, 1, sizeof *h);
  if (h == NULL)
    return RTW_ERR_NOMEM;
  h->mem = m;
  h->max_events = max_events;
  h->max_bytes = max_bytes;
  h->ring = rtw__mem_malloc(&m, max_events * sizeof(entry));
  h->bytes = rtw__mem_malloc(&m, max_bytes);
  if (h->ring == NULL || h->bytes == NULL) {
    rtw_sse_history_free(h);
    return RTW_ERR_NOMEM;
  }
  *history = h;
  return 0;
}

void rtw_sse_history_free(rtw_sse_history *history)
{
  rtw_mem m;

  if (history == NULL)
    return;
  m = history->mem;
  rtw__mem_free(&m, history->ring);
  rtw__mem_free(&m, history->bytes);
  rtw__mem_free(&m, history);
}

static entry *at(const rtw_sse_history *h, size_t i)
{
  return &h->ring[(h->head + i) % h->max_events];
}

static char *place(const rtw_sse_history *h, const entry *e)
{
  return h->bytes + (size_t)(e->start % h->max_bytes);
}

/* Where an event of `size` bytes starts: at the tail, or at the next lap when it would
 * cross the end of the buffer (invariant 3). */
static uint64_t start_for(const rtw_sse_history *h, size_t size)
{
  size_t off = (size_t)(h->tail % h->max_bytes);

  if (size <= h->max_bytes - off)
    return h->tail;
  return h->tail + (h->max_bytes - off);
}

/* Drop the oldest events until one more entry fits and every retained event lies within
 * max_bytes of `end` (invariants 1 and 2). */
static void evict(rtw_sse_history *h, uint64_t end)
{
  while (h->count > 0 &&
         (h->count == h->max_events || end - at(h, 0)->start > h->max_bytes)) {
    h->head = (h->head + 1) % h->max_events;
    h->count--;
    h->first_seq++;
  }
}

/* Store an event as the newest, after the checks of push() and push_at(). */
static void append(rtw_sse_history *h, const char *id, size_t id_len, const void *bytes,
                   size_t len)
{
  entry *e;
  uint64_t start = start_for(h, id_len + len);

  evict(h, start + id_len + len);
  e = at(h, h->count);
  e->start = start;
  e->id_len = id_len;
  e->len = len;
  if (id_len > 0)
    memcpy(place(h, e), id, id_len);
  if (len > 0)
    memcpy(place(h, e) + id_len, bytes, len);
  h->tail = start + id_len + len;
  h->count++;
}

static int check_push(const rtw_sse_history *h, const char *id, size_t id_len,
                      const void *bytes, size_t len)
{
  if (h == NULL || (id == NULL && id_len > 0) || (bytes == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (id_len > h->max_bytes || len > h->max_bytes - id_len)
    return RTW_ERR_SSE_EVENT_TOO_LARGE;
  return 0;
}

int rtw_sse_history_push(rtw_sse_history *history, const char *id, size_t id_len,
                         const void *bytes, size_t len, uint64_t *seq)
{
  int rv = check_push(history, id, id_len, bytes, len);

  if (rv != 0)
    return rv;
  append(history, id, id_len, bytes, len);
  if (seq != NULL)
    *seq = history->first_seq + history->count - 1;
  return 0;
}

int rtw_sse_history_reset(rtw_sse_history *history, uint64_t next_seq)
{
  if (history == NULL || next_seq == UINT64_MAX)
    return RTW_ERR_INVALID_ARGUMENT;
  /* tail stays: byte positions are logical and only grow, so the invariants hold for
   * whatever is pushed next */
  history->head = 0;
  history->count = 0;
  history->first_seq = next_seq;
  return 0;
}

int rtw_sse_history_push_at(rtw_sse_history *history, uint64_t seq, const char *id,
                            size_t id_len, const void *bytes, size_t len)
{
  int rv = seq == UINT64_MAX ? RTW_ERR_INVALID_ARGUMENT
                             : check_push(history, id, id_len, bytes, len);

  if (rv != 0)
    return rv;
  if (seq < rtw_sse_history_next_seq(history))
    return RTW_ERR_SSE_HISTORY_ORDER;
  /* invariant 1 (consecutive entries): a sequence number that skips some cannot join the
   * retained ones, which are then all older than a hole */
  if (seq > rtw_sse_history_next_seq(history))
    rtw_sse_history_reset(history, seq);
  append(history, id, id_len, bytes, len);
  return 0;
}

int rtw_sse_history_find(const rtw_sse_history *history, const char *id, size_t id_len,
                         uint64_t *seq)
{
  size_t i;
  const entry *e;

  if (history == NULL || seq == NULL || (id == NULL && id_len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  /* An empty id is what a client sends after `id:` reset its last event ID: it names no
   * event, so it can never match. */
  if (id_len == 0)
    return RTW_ERR_SSE_HISTORY_GAP;
  for (i = history->count; i-- > 0;) {
    e = at(history, i);
    if (e->id_len == id_len && memcmp(place(history, e), id, id_len) == 0) {
      *seq = history->first_seq + i + 1;
      return 0;
    }
  }
  return RTW_ERR_SSE_HISTORY_GAP;
}

int rtw_sse_history_get(const rtw_sse_history *history, uint64_t seq, const void **bytes,
                        size_t *len)
{
  const entry *e;

  if (history == NULL || bytes == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (seq < history->first_seq)
    return RTW_ERR_SSE_HISTORY_GAP;
  if (seq - history->first_seq >= history->count)
    return RTW_ERR_SSE_HISTORY_END;
  e = at(history, (size_t)(seq - history->first_seq));
  *bytes = place(history, e) + e->id_len;
  *len = e->len;
  return 0;
}

uint64_t rtw_sse_history_next_seq(const rtw_sse_history *history)
{
  return history == NULL ? 0 : history->first_seq + history->count;
}

uint64_t rtw_sse_history_first_seq(const rtw_sse_history *history)
{
  return history == NULL ? 0 : history->first_seq;
}
