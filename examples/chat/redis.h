/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the shared log on a Redis stream (--redis HOST:PORT), loop-agnostic.
 *
 * Two non-blocking TCP connections to one Redis (7.x): a command link (EVAL, XREVRANGE,
 * XRANGE, pipelined, replies in order) and a tail link (XREAD BLOCK, one at a time). hiredis
 * only formats commands and parses replies (redisFormatCommandArgv, redisReader*): the
 * sockets, the timers and the loop are the host's. Nothing here blocks, nothing here
 * allocates without a bound, and no reply can fail the process: a reply that is corrupt,
 * too large (CHAT_REDIS_MAX_REPLY bytes, CHAT_REDIS_MAX_ELEMENTS per array), of the wrong
 * shape or late (CHAT_REDIS_REPLY_TIMEOUT_MS) fails both links, which reconnect after an
 * exponential backoff (CHAT_REDIS_BACKOFF_MIN_MS doubling to CHAT_REDIS_BACKOFF_MAX_MS).
 *
 * The log (docs/scale-out.md, "Event ids"):
 *   KEY:epoch  a random epoch, SET NX by the first node that finds none (a flushed or
 *              restarted Redis without persistence gets a new one: detectable)
 *   KEY:seq    the last sequence number given out (INCR): dense, 1, 2, 3, ...
 *   KEY        the stream; entry <seq>-0 holds type, data, from, ts, epoch. Appended by
 *              one Lua script (INCR + XADD MAXLEN ~ N), so numbers and order agree.
 *
 * Using it from any loop:
 *   n = chat_redis_fds(r, fds, events): poll these (n <= 2) for `events`;
 *   chat_redis_io(r, fd, revents, now) when one is ready;
 *   chat_redis_tick(r, now) at chat_redis_next_deadline(r) at the latest (and whenever
 *   convenient: it is cheap). Hooks fire from chat_redis_io() and chat_redis_tick() only.
 */
#ifndef RTWEB_CHAT_REDIS_H
#define RTWEB_CHAT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#define CHAT_REDIS_MAX_REPLY (8u * 1024u * 1024u) /* bytes of one reply */
#define CHAT_REDIS_MAX_ELEMENTS 4096              /* elements of one array */
#define CHAT_REDIS_MAX_PENDING 256u               /* commands awaiting a reply */
#define CHAT_REDIS_MAX_OUT (4u * 1024u * 1024u)   /* command bytes not yet written */
#define CHAT_REDIS_TAIL_COUNT 100u                /* entries per XREAD */
#define CHAT_REDIS_BLOCK_MS 1000u                 /* XREAD BLOCK */
#define CHAT_REDIS_REPLY_TIMEOUT_MS 5000u         /* beyond BLOCK for the tail */
#define CHAT_REDIS_BACKOFF_MIN_MS 100u
#define CHAT_REDIS_BACKOFF_MAX_MS 2000u
#define CHAT_REDIS_EPOCH_MAX 32u                  /* bytes of an epoch */
#define CHAT_REDIS_DEFAULT_STREAM "rtweb-chat"
#define CHAT_REDIS_DEFAULT_MAXLEN 10000ul

typedef struct chat_redis chat_redis;

/** One stream entry, pointers valid during the hook only. */
typedef struct chat_redis_entry {
  uint64_t seq; /**< the dense sequence number (the entry id is <seq>-0) */
  uint64_t ts;  /**< milliseconds since the epoch, when the author's node appended it */
  const char *type, *data, *from;
  size_t type_len, data_len, from_len;
} chat_redis_entry;

typedef struct chat_redis_hooks {
  void *user;
  /** The log is reachable. changed: the epoch differs from the one before (or is the first
   * one seen): seed[0, n) are the newest entries, oldest first, and the tail continues
   * after them; otherwise seed is NULL and the tail continues where it stopped. */
  void (*on_up)(void *user, const char *epoch, int changed, const chat_redis_entry *seed,
                size_t n);
  /** The log became unreachable (after on_up). */
  void (*on_down)(void *user);
  /** The next entry of the stream, in order, never twice in one epoch. */
  void (*on_entry)(void *user, const chat_redis_entry *e);
  /** What chat_redis_range() asked for: entries from `from` on (n may be 0), or failed
   * (the link went down; nothing else is known). */
  void (*on_range)(void *user, uint64_t tag, const chat_redis_entry *e, size_t n, int failed);
} chat_redis_hooks;

#ifdef CHAT_HAVE_REDIS
/** Parse "HOST:PORT" (numeric IPv4 or [IPv6]). @return 0, -1 with a message on stderr. */
int chat_redis_new(chat_redis **r, const char *hostport, const char *stream,
                   unsigned long maxlen, size_t seed_count, const chat_redis_hooks *hooks);
void chat_redis_free(chat_redis *r);
/** The descriptors to poll and their events (POLLIN, POLLOUT). @return how many, 0..2. */
int chat_redis_fds(const chat_redis *r, int fds[2], short events[2]);
/** One descriptor from chat_redis_fds() is ready (revents: POLLIN, POLLOUT, POLLERR...). */
void chat_redis_io(chat_redis *r, int fd, short revents, uint64_t now);
/** When chat_redis_tick() must run next (monotonic ms); UINT64_MAX for never. */
uint64_t chat_redis_next_deadline(const chat_redis *r);
/** Timers: reconnect, reply timeouts. */
void chat_redis_tick(chat_redis *r, uint64_t now);
/** 1 while the log is up (on_up seen, no failure since). */
int chat_redis_up(const chat_redis *r);
/** Append an event (it comes back through on_entry). @return 0 queued, -1 when the log is
 * down or too much waits (nothing queued). */
int chat_redis_publish(chat_redis *r, const char *type, const char *data, size_t len,
                       const char *from, uint64_t ts);
/** Ask for at most count entries from sequence number `from` on: on_range(tag) answers.
 * @return 0 asked, -1 when down or too much waits (no answer will come). */
int chat_redis_range(chat_redis *r, uint64_t from, size_t count, uint64_t tag);

#else /* built without hiredis: --redis is refused (rtweb_chat.c), nothing else runs */

#include <stdio.h>

static inline int chat_redis_new(chat_redis **r, const char *hostport, const char *stream,
                                 unsigned long maxlen, size_t seed_count,
                                 const chat_redis_hooks *hooks)
{
  (void)hostport, (void)stream, (void)maxlen, (void)seed_count, (void)hooks;
  *r = NULL;
  fprintf(stderr, "rtweb-chat: built without hiredis: --redis is not available\n");
  return -1;
}
static inline void chat_redis_free(chat_redis *r) { (void)r; }
static inline int chat_redis_fds(const chat_redis *r, int fds[2], short events[2])
{
  (void)r, (void)fds, (void)events;
  return 0;
}
static inline void chat_redis_io(chat_redis *r, int fd, short revents, uint64_t now)
{
  (void)r, (void)fd, (void)revents, (void)now;
}
static inline uint64_t chat_redis_next_deadline(const chat_redis *r)
{
  (void)r;
  return UINT64_MAX;
}
static inline void chat_redis_tick(chat_redis *r, uint64_t now) { (void)r, (void)now; }
static inline int chat_redis_up(const chat_redis *r)
{
  (void)r;
  return 0;
}
static inline int chat_redis_publish(chat_redis *r, const char *type, const char *data,
                                     size_t len, const char *from, uint64_t ts)
{
  (void)r, (void)type, (void)data, (void)len, (void)from, (void)ts;
  return -1;
}
static inline int chat_redis_range(chat_redis *r, uint64_t from, size_t count, uint64_t tag)
{
  (void)r, (void)from, (void)count, (void)tag;
  return -1;
}
#endif /* CHAT_HAVE_REDIS */

#endif /* RTWEB_CHAT_REDIS_H */
