/* SPDX-License-Identifier: MIT */
/* Event batches (ws.h, "Event batches"): the events of one rtw_ws_recv() recorded in an
 * array plus one payload arena, so a language binding crosses into its host language once
 * per read instead of once per event; and rtw_ws_queue_batch(), many messages queued in one
 * call. Built only on the public session API: the recorders are ordinary callbacks whose
 * user_data is the batch.
 *
 * Bounds (checked before memory is taken): the event array grows by doubling up to
 * max_events + PIECE_SLACK; the arena grows to fit the payload being recorded. A recorder
 * that leaves the batch holding max_events events, or max_arena arena bytes or more, returns
 * RTW_ERR_PAUSE (ws.h, rtw_ws_callbacks), so the session stops after that frame piece: the
 * arena stays below max_arena plus what one piece delivers, itself bounded by the session's
 * limits (a whole message: max_message_size; a control frame: 125 bytes, RFC 6455 5.5) or,
 * for a streamed piece, by the input given. */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "rtweb/ws.h"

struct rtw_ws_batch {
  rtw_mem mem;
  rtw_ws_batch_event *events;
  size_t count;     /* events recorded */
  size_t ev_cap;    /* events allocated */
  size_t max_events;
  uint8_t *arena;
  size_t used;      /* arena bytes recorded */
  size_t arena_cap; /* arena bytes allocated */
  size_t max_arena;
  int full;      /* the last recv paused because the batch filled */
  int recording; /* inside rtw_ws_batch_recv() */
};

/* Smallest arena allocation, so a run of small messages does not regrow it often. */
#define ARENA_MIN 4096u
/* Smallest event array allocation. */
#define EVENTS_MIN 64u
/* Events one frame piece may still deliver after the recorder paused (data, end). */
#define PIECE_SLACK 2u

int rtw_ws_batch_new(rtw_ws_batch **batch, size_t max_events, size_t max_arena,
                     const rtw_mem *mem)
{
  rtw_mem m;
  rtw_ws_batch *b;
  int rv;

  if (batch == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *batch = NULL;
  rv = rtw__mem_init(&m, mem);
  if (rv != 0)
    return rv;
  b = rtw__mem_malloc(&m, sizeof *b);
  if (b == NULL)
    return RTW_ERR_NOMEM;
  memset(b, 0, sizeof *b);
  b->mem = m;
  b->max_events = max_events ? max_events : RTW_WS_BATCH_DEFAULT_MAX_EVENTS;
  b->max_arena = max_arena ? max_arena : RTW_WS_BATCH_DEFAULT_MAX_ARENA;
  *batch = b;
  return 0;
}

void rtw_ws_batch_free(rtw_ws_batch *batch)
{
  if (batch == NULL)
    return;
  if (batch->events != NULL)
    rtw__mem_free(&batch->mem, batch->events);
  if (batch->arena != NULL)
    rtw__mem_free(&batch->mem, batch->arena);
  rtw__mem_free(&batch->mem, batch);
}

/* Room for one more event: the array doubles up to max_events + PIECE_SLACK. The recorder
 * pauses once max_events are recorded, but the session stops only after the frame piece
 * under way (ws.h, rtw_ws_callbacks), which may still deliver the rest of what that piece
 * completes: in streamed mode a begin that paused is followed by its data and end. */
static int events_room(rtw_ws_batch *b)
{
  size_t cap;
  void *p;

  if (b->count < b->ev_cap)
    return 0;
  cap = b->ev_cap ? b->ev_cap * 2u : EVENTS_MIN;
  if (cap > b->max_events + PIECE_SLACK)
    cap = b->max_events + PIECE_SLACK;
  if (b->max_events > SIZE_MAX - PIECE_SLACK || cap <= b->count ||
      cap > SIZE_MAX / sizeof *b->events)
    return RTW_ERR_NOMEM;
  p = rtw__mem_realloc(&b->mem, b->events, cap * sizeof *b->events);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  b->events = p;
  b->ev_cap = cap;
  return 0;
}

/* Room for len more arena bytes: double, or grow to fit exactly when doubling is short. */
static int arena_room(rtw_ws_batch *b, size_t len)
{
  size_t cap;
  void *p;

  if (len <= b->arena_cap - b->used)
    return 0;
  if (len > SIZE_MAX - b->used)
    return RTW_ERR_NOMEM;
  cap = b->arena_cap ? b->arena_cap : ARENA_MIN;
  while (cap < b->used + len)
    cap = cap <= SIZE_MAX / 2u ? cap * 2u : b->used + len;
  p = rtw__mem_realloc(&b->mem, b->arena, cap);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  b->arena = p;
  b->arena_cap = cap;
  return 0;
}

/* Record one event; RTW_ERR_PAUSE once the batch is full, a negative error (the session then
 * fails with RTW_ERR_CALLBACK_FAILURE) when memory ran out. */
static int record(void *user_data, uint32_t kind, uint32_t value, const void *data, size_t len)
{
  rtw_ws_batch *b = user_data;
  rtw_ws_batch_event *ev;

  if (b == NULL || events_room(b) != 0 || arena_room(b, len) != 0)
    return RTW_ERR_NOMEM;
  ev = &b->events[b->count++];
  ev->kind = kind;
  ev->value = value;
  ev->offset = b->used;
  ev->length = len;
  if (len > 0) {
    memcpy(b->arena + b->used, data, len);
    b->used += len;
  }
  if (b->count >= b->max_events || b->used >= b->max_arena) {
    b->full = 1;
    return RTW_ERR_PAUSE;
  }
  return 0;
}

static int rec_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_MESSAGE, (uint32_t)opcode, data, len);
}

static int rec_begin(rtw_ws *ws, int opcode, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_BEGIN, (uint32_t)opcode, NULL, 0);
}

static int rec_data(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_DATA, 0, data, len);
}

static int rec_end(rtw_ws *ws, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_END, 0, NULL, 0);
}

static int rec_ping(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_PING, 0, data, len);
}

static int rec_pong(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_PONG, 0, data, len);
}

static int rec_close(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                     void *user_data)
{
  (void)ws;
  return record(user_data, RTW_WS_BATCH_CLOSE, (uint32_t)code, reason, reason_len);
}

void rtw_ws_batch_callbacks(rtw_ws_callbacks *callbacks, int whole_messages)
{
  if (callbacks == NULL)
    return;
  if (whole_messages) {
    callbacks->on_message = rec_message;
  } else {
    callbacks->on_message = NULL;
    callbacks->on_message_begin = rec_begin;
    callbacks->on_message_data = rec_data;
    callbacks->on_message_end = rec_end;
  }
  callbacks->on_ping = rec_ping;
  callbacks->on_pong = rec_pong;
  callbacks->on_close = rec_close;
}

int rtw_ws_batch_recv(rtw_ws_batch *batch, rtw_ws *ws, const void *in, size_t len,
                      size_t *nread)
{
  int rv;

  if (nread != NULL)
    *nread = 0;
  if (batch == NULL || ws == NULL || nread == NULL || rtw_ws_user_data(ws) != batch)
    return RTW_ERR_INVALID_ARGUMENT;
  if (batch->recording)
    return RTW_ERR_REENTRANT;
  batch->count = 0;
  batch->used = 0;
  batch->full = 0;
  batch->recording = 1;
  rv = rtw_ws_recv(ws, in, len, nread);
  batch->recording = 0;
  return rv;
}

size_t rtw_ws_batch_events(const rtw_ws_batch *batch, const rtw_ws_batch_event **events,
                           const uint8_t **arena)
{
  if (events != NULL)
    *events = (batch != NULL && batch->count > 0) ? batch->events : NULL;
  if (arena != NULL)
    *arena = batch != NULL ? batch->arena : NULL;
  return batch != NULL ? batch->count : 0;
}

int rtw_ws_batch_full(const rtw_ws_batch *batch)
{
  return batch != NULL && batch->full;
}

int rtw_ws_queue_batch(rtw_ws *ws, const void *data, size_t data_len,
                       const rtw_ws_batch_event *items, size_t count, uint32_t flags,
                       size_t *queued)
{
  const uint8_t *p = data;
  size_t i;
  int rv;

  if (queued != NULL)
    *queued = 0;
  if (ws == NULL || (count > 0 && items == NULL) || (data_len > 0 && p == NULL) ||
      (flags & ~(uint32_t)(RTW_WS_QUEUE_NO_COMPRESS | RTW_WS_QUEUE_VALID_UTF8)) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  for (i = 0; i < count; i++) { /* checked first, so a bad item queues nothing */
    const rtw_ws_batch_event *it = &items[i];
    if (it->kind != RTW_WS_BATCH_MESSAGE ||
        (it->value != RTW_WS_OP_TEXT && it->value != RTW_WS_OP_BINARY) ||
        it->offset > data_len || it->length > data_len - it->offset)
      return RTW_ERR_INVALID_ARGUMENT;
  }
  for (i = 0; i < count; i++) {
    rv = rtw_ws_queue_message(ws, (int)items[i].value,
                              items[i].length > 0 ? p + items[i].offset : NULL,
                              items[i].length, flags);
    if (rv != 0)
      return rv;
    if (queued != NULL)
      *queued = i + 1;
  }
  return 0;
}
