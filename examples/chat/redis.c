/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the shared log on a Redis stream. The interface and the log's layout are in
 * redis.h; how the chat uses it in docs/scale-out.md.
 *
 * States: DOWN (no sockets; reconnect at retry_at) -> CONNECTING (both links opened, the
 * command link queued EVAL init, which returns the epoch) -> SEEDING (a new epoch: XREVRANGE
 * for the newest entries) -> UP (the tail link loops on XREAD BLOCK from last_seq). Any
 * failure on either link: both closed, pending ranges answered `failed`, DOWN with the
 * backoff doubled; a successful init resets the backoff.
 *
 * Never a duplicate, never out of order: the tail only passes on entries whose sequence
 * number is above last_seq, and only of the current epoch (an entry of another epoch fails
 * the links: the reconnect's init reports the epoch change).
 */
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

enum { ST_DOWN, ST_CONNECTING, ST_SEEDING, ST_UP };
enum { CMD_INIT, CMD_SEED, CMD_PUBLISH, CMD_RANGE, CMD_XREAD, CMD_EPOCH };

typedef struct pending {
  int kind;
  uint64_t tag;
} pending;

typedef struct rlink {
  int fd;         /* -1 when closed */
  int connected;  /* the TCP connect completed */
  redisReader *rd;
  size_t fed;     /* bytes given to the reader since its last complete reply */
  char *out;      /* formatted commands not yet written */
  size_t out_off, out_len, out_cap;
  pending q[CHAT_REDIS_MAX_PENDING];
  size_t q_head, q_count;
  uint64_t deadline; /* a reply is due by then (0: none awaited) */
} rlink;

struct chat_redis {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char *stream, *epoch_key, *seq_key;
  char maxlen[24];
  size_t seed_count;
  chat_redis_hooks hooks;
  rlink cmd, tail;
  int state;
  int said_down; /* the failure was logged (once per outage) */
  char last_why[64]; /* ... and why */
  uint64_t now, retry_at, backoff;
  char epoch[CHAT_REDIS_EPOCH_MAX + 1];
  int have_epoch;
  uint64_t last_seq; /* the newest entry passed on (or seeded) */
};

/* The script that makes the epoch: SET NX, then whatever is there. */
static const char init_lua[] =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";
/* One append: the epoch must still be ours (else the log was reset under us), then the
 * next number and the entry under it, trimmed to about MAXLEN (XADD, Redis 6.2+). */
static const char publish_lua[] =
    "local e = redis.call('GET', KEYS[2]) "
    "if e ~= ARGV[6] then return redis.error_reply('EPOCH the log was reset') end "
    "local s = redis.call('INCR', KEYS[3]) "
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], s .. '-0', 'type', ARGV[2], "
    "'data', ARGV[3], 'from', ARGV[4], 'ts', ARGV[5], 'epoch', e) "
    "return s";

/* ====================================================================== reply limits */

/* hiredis 0.14 has no maxelements: an array header `*2000000000` would make its reader
 * calloc that many pointers. Our copy of its reply functions refuses big arrays and
 * strings first (returning NULL is the reader's out-of-memory error: the rlink fails). */
static redisReplyObjectFunctions limited_fn;
static void *(*default_string)(const redisReadTask *, char *, size_t);

#if HIREDIS_MAJOR >= 1
static void *(*default_array)(const redisReadTask *, size_t);
static void *limited_array(const redisReadTask *t, size_t n)
{
  return n > CHAT_REDIS_MAX_ELEMENTS ? NULL : default_array(t, n);
}
#else
static void *(*default_array)(const redisReadTask *, int);
static void *limited_array(const redisReadTask *t, int n)
{
  return n < 0 || n > CHAT_REDIS_MAX_ELEMENTS ? NULL : default_array(t, n);
}
#endif

static void *limited_string(const redisReadTask *t, char *s, size_t n)
{
  return n > CHAT_REDIS_MAX_REPLY ? NULL : default_string(t, s, n);
}

static redisReader *new_reader(void)
{
  redisReader *rd = redisReaderCreate();

  if (rd == NULL)
    return NULL;
  if (limited_fn.createArray == NULL) { /* the first reader shows the default functions */
    limited_fn = *rd->fn;
    default_array = rd->fn->createArray;
    default_string = rd->fn->createString;
    limited_fn.createArray = limited_array;
    limited_fn.createString = limited_string;
  }
  rd->fn = &limited_fn;
#if HIREDIS_MAJOR >= 1
  rd->maxelements = CHAT_REDIS_MAX_ELEMENTS;
#endif
  return rd;
}

/* ====================================================================== links */

static void link_close(rlink *l)
{
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
  l->connected = 0;
  if (l->rd != NULL)
    redisReaderFree(l->rd);
  l->rd = NULL;
  l->fed = 0;
  free(l->out);
  l->out = NULL;
  l->out_off = l->out_len = l->out_cap = 0;
  l->q_head = l->q_count = 0;
  l->deadline = 0;
}

static int link_open(chat_redis *r, rlink *l)
{
  int fd = socket(r->addr.ss_family, SOCK_STREAM, 0), fl, one = 1;

  l->fd = -1;
  if (fd < 0)
    return -1;
  fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      (connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) != 0 &&
       errno != EINPROGRESS) ||
      (l->rd = new_reader()) == NULL) {
    close(fd);
    return -1;
  }
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* a chat line is small */
  l->fd = fd;
  l->connected = 0;
  l->deadline = r->now + CHAT_REDIS_REPLY_TIMEOUT_MS; /* the connect, too */
  return 0;
}

/* Queue a command (binary-safe) and what its reply is for. */
static int link_send(chat_redis *r, rlink *l, int kind, uint64_t tag, int argc,
                     const char **argv, const size_t *lens)
{
  char *cmd = NULL;
  int n;

  if (l->fd < 0 || l->q_count == CHAT_REDIS_MAX_PENDING)
    return -1;
  n = redisFormatCommandArgv(&cmd, argc, argv, lens);
  if (n < 0 || cmd == NULL)
    return -1;
  if ((size_t)n > CHAT_REDIS_MAX_OUT - (l->out_len - l->out_off)) {
    redisFreeCommand(cmd);
    return -1;
  }
  if (l->out_off > 0 && l->out_off == l->out_len)
    l->out_off = l->out_len = 0;
  if (l->out_len + (size_t)n > l->out_cap) {
    size_t cap = l->out_cap ? l->out_cap : 4096;
    char *p;
    while (cap < l->out_len + (size_t)n)
      cap *= 2;
    p = realloc(l->out, cap);
    if (p == NULL) {
      redisFreeCommand(cmd);
      return -1;
    }
    l->out = p;
    l->out_cap = cap;
  }
  memcpy(l->out + l->out_len, cmd, (size_t)n);
  l->out_len += (size_t)n;
  redisFreeCommand(cmd);
  l->q[(l->q_head + l->q_count) % CHAT_REDIS_MAX_PENDING].kind = kind;
  l->q[(l->q_head + l->q_count) % CHAT_REDIS_MAX_PENDING].tag = tag;
  if (l->q_count++ == 0) {
    uint64_t wait = kind == CMD_XREAD ? CHAT_REDIS_BLOCK_MS : 0;
    l->deadline = r->now + wait + CHAT_REDIS_REPLY_TIMEOUT_MS;
  }
  return 0;
}

/* Write what fits. @return 0, -1 on a dead socket. */
static int link_flush(rlink *l)
{
  while (l->connected && l->out_off < l->out_len) {
    ssize_t w = send(l->fd, l->out + l->out_off, l->out_len - l->out_off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (w <= 0)
      return -1;
    l->out_off += (size_t)w;
  }
  return 0;
}

/* ====================================================================== failures */

static void fail(chat_redis *r, const char *why)
{
  size_t i;
  int was_up = r->state == ST_UP;
  rlink *l = &r->cmd;

  if (r->state == ST_DOWN)
    return;
  /* once per outage, and again when the reason changes (not at every retry) */
  if (!r->said_down || strncmp(r->last_why, why, sizeof r->last_why - 1) != 0)
    fprintf(stderr, "rtweb-chat: redis: %s; reconnecting (backoff from %" PRIu64 " ms)\n",
            why, r->backoff);
  r->said_down = 1;
  snprintf(r->last_why, sizeof r->last_why, "%s", why);
  r->state = ST_DOWN; /* first: a hook that asks again now is refused, not lost */
  /* the ranges asked for get their answer: failed */
  for (i = 0; i < l->q_count; i++) {
    const pending *p = &l->q[(l->q_head + i) % CHAT_REDIS_MAX_PENDING];
    if (p->kind == CMD_RANGE && r->hooks.on_range != NULL)
      r->hooks.on_range(r->hooks.user, p->tag, NULL, 0, 1);
  }
  link_close(&r->cmd);
  link_close(&r->tail);
  r->retry_at = r->now + r->backoff;
  r->backoff = r->backoff * 2 > CHAT_REDIS_BACKOFF_MAX_MS ? CHAT_REDIS_BACKOFF_MAX_MS
                                                         : r->backoff * 2;
  if (was_up && r->hooks.on_down != NULL)
    r->hooks.on_down(r->hooks.user);
}

/* ====================================================================== entries */

static int span_is(const redisReply *x, const char *lit)
{
  size_t n = strlen(lit);
  return x->type == REDIS_REPLY_STRING && (size_t)x->len == n && memcmp(x->str, lit, n) == 0;
}

/* A decimal number of at most 19 digits ending at `end` (or at the end of the span). */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
  size_t i;

  if (n == 0 || n > 19)
    return -1;
  *v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    *v = *v * 10 + (uint64_t)(s[i] - '0');
  }
  return 0;
}

/* One stream entry [id, [field, value, ...]] of our layout and of the current epoch.
 * @return 0, -1 when it is not one (a hostile or foreign stream: the rlink fails). */
static int parse_entry(const chat_redis *r, const redisReply *x, chat_redis_entry *e)
{
  const redisReply *id, *f;
  const char *dash;
  size_t i;
  int have_epoch = 0;

  memset(e, 0, sizeof *e);
  if (x->type != REDIS_REPLY_ARRAY || x->elements != 2)
    return -1;
  id = x->element[0];
  f = x->element[1];
  if (id->type != REDIS_REPLY_STRING || f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
    return -1;
  dash = memchr(id->str, '-', (size_t)id->len);
  if (dash == NULL || parse_u64(id->str, (size_t)(dash - id->str), &e->seq) != 0 ||
      e->seq == 0 || !((size_t)(id->str + id->len - dash) == 2 && dash[1] == '0'))
    return -1;
  for (i = 0; i < f->elements; i += 2) {
    const redisReply *k = f->element[i], *v = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      return -1;
    if (span_is(k, "type"))
      e->type = v->str, e->type_len = (size_t)v->len;
    else if (span_is(k, "data"))
      e->data = v->str, e->data_len = (size_t)v->len;
    else if (span_is(k, "from"))
      e->from = v->str, e->from_len = (size_t)v->len;
    else if (span_is(k, "ts") && parse_u64(v->str, (size_t)v->len, &e->ts) != 0)
      return -1;
    else if (span_is(k, "epoch"))
      have_epoch = (size_t)v->len == strlen(r->epoch) && memcmp(v->str, r->epoch, (size_t)v->len) == 0;
  }
  if (e->type == NULL || e->data == NULL || !have_epoch)
    return -1;
  if (e->from == NULL)
    e->from = "", e->from_len = 0;
  return 0;
}

/* An array of entries (XRANGE, XREVRANGE, or one stream of XREAD) into out[], at most cap.
 * @return how many, or -1. */
static long parse_entries(const chat_redis *r, const redisReply *x, chat_redis_entry *out,
                          size_t cap)
{
  size_t i;

  if (x->type != REDIS_REPLY_ARRAY || x->elements > cap)
    return -1;
  for (i = 0; i < x->elements; i++)
    if (parse_entry(r, x->element[i], &out[i]) != 0)
      return -1;
  return (long)x->elements;
}

/* ====================================================================== the protocol */

static void send_xread(chat_redis *r)
{
  char count[24], block[24], last[32];
  const char *argv[8];
  size_t lens[8];
  int i;

  snprintf(count, sizeof count, "%u", CHAT_REDIS_TAIL_COUNT);
  snprintf(block, sizeof block, "%u", CHAT_REDIS_BLOCK_MS);
  snprintf(last, sizeof last, "%" PRIu64 "-0", r->last_seq);
  argv[0] = "XREAD", argv[1] = "COUNT", argv[2] = count, argv[3] = "BLOCK";
  argv[4] = block, argv[5] = "STREAMS", argv[6] = r->stream, argv[7] = last;
  for (i = 0; i < 8; i++)
    lens[i] = strlen(argv[i]);
  if (link_send(r, &r->tail, CMD_XREAD, 0, 8, argv, lens) != 0)
    fail(r, "cannot queue XREAD");
}

static void send_init(chat_redis *r)
{
  char cand[CHAT_REDIS_EPOCH_MAX + 1];
  unsigned char raw[8];
  const char *argv[5];
  size_t lens[5];
  int fd = open("/dev/urandom", O_RDONLY), i;

  memset(raw, 0, sizeof raw);
  if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) { /* unlikely: time */
    uint64_t t = r->now ^ (uint64_t)getpid() << 32;
    memcpy(raw, &t, sizeof raw);
  }
  if (fd >= 0)
    close(fd);
  for (i = 0; i < 8; i++)
    snprintf(cand + 2 * i, 3, "%02x", raw[i]);
  argv[0] = "EVAL", argv[1] = init_lua, argv[2] = "1", argv[3] = r->epoch_key;
  argv[4] = cand;
  for (i = 0; i < 5; i++)
    lens[i] = strlen(argv[i]);
  if (link_send(r, &r->cmd, CMD_INIT, 0, 5, argv, lens) != 0)
    fail(r, "cannot queue the init script");
}

static void go_up(chat_redis *r, int changed, const chat_redis_entry *seed, size_t n)
{
  r->state = ST_UP;
  r->said_down = 0;
  send_xread(r);
  if (r->state == ST_UP && r->hooks.on_up != NULL)
    r->hooks.on_up(r->hooks.user, r->epoch, changed, seed, n);
}

static void on_init(chat_redis *r, const redisReply *x)
{
  char count[24];
  const char *argv[6];
  size_t lens[6];
  int i;

  if (x->type != REDIS_REPLY_STRING || x->len == 0 || (size_t)x->len > CHAT_REDIS_EPOCH_MAX ||
      memchr(x->str, '-', (size_t)x->len) != NULL) {
    fail(r, "unexpected reply to the init script");
    return;
  }
  for (i = 0; i < (int)x->len; i++)
    if (x->str[i] < '!' || x->str[i] > '~') {
      fail(r, "unexpected epoch");
      return;
    }
  r->backoff = CHAT_REDIS_BACKOFF_MIN_MS;
  if (r->have_epoch && strlen(r->epoch) == (size_t)x->len &&
      memcmp(r->epoch, x->str, (size_t)x->len) == 0) {
    fprintf(stderr, "rtweb-chat: redis: up, epoch %s, tail from %" PRIu64 "\n", r->epoch,
            r->last_seq);
    go_up(r, 0, NULL, 0);
    return;
  }
  memcpy(r->epoch, x->str, (size_t)x->len);
  r->epoch[x->len] = '\0';
  r->have_epoch = 1;
  r->state = ST_SEEDING;
  snprintf(count, sizeof count, "%zu", r->seed_count);
  argv[0] = "XREVRANGE", argv[1] = r->stream, argv[2] = "+", argv[3] = "-";
  argv[4] = "COUNT", argv[5] = count;
  for (i = 0; i < 6; i++)
    lens[i] = strlen(argv[i]);
  if (link_send(r, &r->cmd, CMD_SEED, 0, 6, argv, lens) != 0)
    fail(r, "cannot queue XREVRANGE");
}

static void on_seed(chat_redis *r, const redisReply *x)
{
  chat_redis_entry *v = NULL, t;
  long n = -1;
  size_t i;

  if (x->type == REDIS_REPLY_ARRAY && x->elements <= r->seed_count &&
      (v = calloc(x->elements + 1, sizeof *v)) != NULL)
    n = parse_entries(r, x, v, r->seed_count);
  if (n < 0) {
    free(v);
    fail(r, "unexpected reply to XREVRANGE");
    return;
  }
  for (i = 0; i < (size_t)n / 2; i++) { /* newest first: turn it around */
    t = v[i];
    v[i] = v[(size_t)n - 1 - i];
    v[(size_t)n - 1 - i] = t;
  }
  for (i = 1; i < (size_t)n; i++)
    if (v[i].seq <= v[i - 1].seq) {
      free(v);
      fail(r, "XREVRANGE out of order");
      return;
    }
  r->last_seq = n > 0 ? v[n - 1].seq : 0;
  fprintf(stderr, "rtweb-chat: redis: up, epoch %s, %ld entries, last %" PRIu64 "\n",
          r->epoch, n, r->last_seq);
  go_up(r, 1, v, (size_t)n);
  free(v);
}

static void on_xread(chat_redis *r, const redisReply *x)
{
  chat_redis_entry *v;
  const redisReply *s;
  long n;
  size_t i;

  if (x->type == REDIS_REPLY_NIL) { /* BLOCK ran out: nothing new */
    /* ... or the log was reset under us (FLUSHALL), and its new entries are numbered
     * below last_seq: an idle tail checks the epoch (the reply fails the links if it
     * changed; the reconnect then reports the new one) */
    const char *argv[2] = {"GET", r->epoch_key};
    size_t lens[2];
    lens[0] = 3;
    lens[1] = strlen(r->epoch_key);
    if (r->cmd.q_count == 0 && link_send(r, &r->cmd, CMD_EPOCH, 0, 2, argv, lens) == 0 &&
        link_flush(&r->cmd) != 0) {
      fail(r, "write failed");
      return;
    }
    send_xread(r);
    return;
  }
  /* [[stream, [entries]]] */
  if (x->type != REDIS_REPLY_ARRAY || x->elements != 1 ||
      (s = x->element[0])->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
      !span_is(s->element[0], r->stream) ||
      s->element[1]->type != REDIS_REPLY_ARRAY ||
      s->element[1]->elements > CHAT_REDIS_TAIL_COUNT) {
    fail(r, "unexpected reply to XREAD");
    return;
  }
  v = calloc(CHAT_REDIS_TAIL_COUNT, sizeof *v);
  if (v == NULL) {
    fail(r, "out of memory");
    return;
  }
  n = parse_entries(r, s->element[1], v, CHAT_REDIS_TAIL_COUNT);
  if (n < 0) {
    free(v);
    fail(r, "an entry of another epoch or layout in the tail"); /* init tells which */
    return;
  }
  for (i = 0; i < (size_t)n && r->state == ST_UP; i++) {
    if (v[i].seq <= r->last_seq)
      continue; /* never twice */
    r->last_seq = v[i].seq;
    if (r->hooks.on_entry != NULL)
      r->hooks.on_entry(r->hooks.user, &v[i]);
  }
  free(v);
  if (r->state == ST_UP)
    send_xread(r);
}

static void on_range_reply(chat_redis *r, uint64_t tag, const redisReply *x)
{
  chat_redis_entry *v;
  long n;

  if (x->type != REDIS_REPLY_ARRAY || x->elements > CHAT_REDIS_TAIL_COUNT ||
      (v = calloc(x->elements + 1, sizeof *v)) == NULL) {
    fail(r, "unexpected reply to XRANGE");
    return;
  }
  n = parse_entries(r, x, v, CHAT_REDIS_TAIL_COUNT);
  if (n < 0) {
    free(v);
    fail(r, "an entry of another epoch or layout in XRANGE");
    return;
  }
  if (r->hooks.on_range != NULL)
    r->hooks.on_range(r->hooks.user, tag, v, (size_t)n, 0);
  free(v);
}

/* One complete reply on rlink l. */
static void dispatch(chat_redis *r, rlink *l, redisReply *x)
{
  pending p;

  if (l->q_count == 0) {
    fail(r, "a reply nobody asked for");
    return;
  }
  p = l->q[l->q_head];
  l->q_head = (l->q_head + 1) % CHAT_REDIS_MAX_PENDING;
  l->q_count--;
  l->deadline = l->q_count > 0 ? r->now + CHAT_REDIS_REPLY_TIMEOUT_MS : 0;
  if (x->type == REDIS_REPLY_ERROR) {
    int epoch = x->len >= 5 && memcmp(x->str, "EPOCH", 5) == 0;
    if (p.kind == CMD_PUBLISH && !epoch) {
      fprintf(stderr, "rtweb-chat: redis: append refused: %.*s\n", (int)x->len, x->str);
      return; /* that event is lost; the log is fine */
    }
    fprintf(stderr, "rtweb-chat: redis: error reply: %.*s\n", x->len > 200 ? 200 : (int)x->len,
            x->str);
    fail(r, "error reply");
    return;
  }
  switch (p.kind) {
  case CMD_INIT:
    on_init(r, x);
    break;
  case CMD_SEED:
    on_seed(r, x);
    break;
  case CMD_PUBLISH:
    if (x->type != REDIS_REPLY_INTEGER)
      fail(r, "unexpected reply to the append script");
    break;
  case CMD_RANGE:
    on_range_reply(r, p.tag, x);
    break;
  case CMD_EPOCH:
    if (x->type != REDIS_REPLY_STRING || (size_t)x->len != strlen(r->epoch) ||
        memcmp(x->str, r->epoch, (size_t)x->len) != 0)
      fail(r, "the log's epoch changed");
    break;
  default:
    on_xread(r, x);
    break;
  }
}

static void link_read(chat_redis *r, rlink *l)
{
  char buf[16384];
  int rounds;

  for (rounds = 0; rounds < 8 && l->fd >= 0; rounds++) {
    ssize_t n = recv(l->fd, buf, sizeof buf, 0);
    void *reply;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      fail(r, n == 0 ? "connection closed" : strerror(errno));
      return;
    }
    if ((size_t)n > CHAT_REDIS_MAX_REPLY - l->fed) {
      fail(r, "reply too large");
      return;
    }
    l->fed += (size_t)n;
    if (redisReaderFeed(l->rd, buf, (size_t)n) != REDIS_OK) {
      fail(r, "bad reply");
      return;
    }
    for (;;) {
      reply = NULL;
      if (redisReaderGetReply(l->rd, &reply) != REDIS_OK) {
        fail(r, "bad reply");
        return;
      }
      if (reply == NULL)
        break;
      l->fed = l->rd->len - l->rd->pos; /* what is left belongs to the next reply */
      dispatch(r, l, reply);
      freeReplyObject(reply);
      if (l->fd < 0) /* failed meanwhile */
        return;
    }
  }
}

/* ====================================================================== the interface */

int chat_redis_new(chat_redis **out, const char *hostport, const char *stream,
                   unsigned long maxlen, size_t seed_count, const chat_redis_hooks *hooks)
{
  struct addrinfo hints, *res = NULL;
  char host[256];
  const char *colon = strrchr(hostport, ':'), *h = hostport;
  size_t hlen;
  chat_redis *r;
  int rv;

  *out = NULL;
  if (colon == NULL || colon[1] == '\0') {
    fprintf(stderr, "rtweb-chat: --redis %s: HOST:PORT expected\n", hostport);
    return -1;
  }
  hlen = (size_t)(colon - hostport);
  if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
    h++, hlen -= 2;
  if (hlen == 0 || hlen >= sizeof host) {
    fprintf(stderr, "rtweb-chat: --redis %s: bad host\n", hostport);
    return -1;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV; /* no DNS: nothing may block later */
  rv = getaddrinfo(host, colon + 1, &hints, &res);
  if (rv != 0 || res == NULL) {
    fprintf(stderr, "rtweb-chat: --redis %s: %s (a numeric address is expected)\n", hostport,
            gai_strerror(rv));
    return -1;
  }
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    freeaddrinfo(res);
    return -1;
  }
  memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
  r->addr_len = (socklen_t)res->ai_addrlen;
  freeaddrinfo(res);
  r->stream = strdup(stream);
  r->epoch_key = malloc(strlen(stream) + 8);
  r->seq_key = malloc(strlen(stream) + 8);
  if (r->stream == NULL || r->epoch_key == NULL || r->seq_key == NULL) {
    chat_redis_free(r);
    return -1;
  }
  sprintf(r->epoch_key, "%s:epoch", stream);
  sprintf(r->seq_key, "%s:seq", stream);
  snprintf(r->maxlen, sizeof r->maxlen, "%lu", maxlen);
  r->seed_count = seed_count > CHAT_REDIS_MAX_ELEMENTS ? CHAT_REDIS_MAX_ELEMENTS : seed_count;
  r->hooks = *hooks;
  r->cmd.fd = r->tail.fd = -1;
  r->state = ST_DOWN;
  r->backoff = CHAT_REDIS_BACKOFF_MIN_MS;
  r->retry_at = 0; /* connect at the first tick */
  *out = r;
  return 0;
}

void chat_redis_free(chat_redis *r)
{
  if (r == NULL)
    return;
  link_close(&r->cmd);
  link_close(&r->tail);
  free(r->stream);
  free(r->epoch_key);
  free(r->seq_key);
  free(r);
}

int chat_redis_fds(const chat_redis *r, int fds[2], short events[2])
{
  const rlink *ls[2];
  int i, n = 0;

  ls[0] = &r->cmd;
  ls[1] = &r->tail;
  for (i = 0; i < 2; i++) {
    if (ls[i]->fd < 0)
      continue;
    fds[n] = ls[i]->fd;
    events[n] = (short)(ls[i]->connected ? POLLIN : 0);
    if (!ls[i]->connected || ls[i]->out_off < ls[i]->out_len)
      events[n] = (short)(events[n] | POLLOUT);
    n++;
  }
  return n;
}

void chat_redis_io(chat_redis *r, int fd, short revents, uint64_t now)
{
  rlink *l = fd == r->cmd.fd ? &r->cmd : fd == r->tail.fd ? &r->tail : NULL;

  r->now = now;
  if (l == NULL || fd < 0)
    return;
  if (!l->connected && (revents & (POLLOUT | POLLERR | POLLHUP))) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
      fail(r, err != 0 ? strerror(err) : "connect failed");
      return;
    }
    l->connected = 1;
  }
  if (l->connected && (revents & (POLLIN | POLLHUP | POLLERR)))
    link_read(r, l);
  if (l->fd >= 0 && l->connected && link_flush(l) != 0)
    fail(r, "write failed");
}

uint64_t chat_redis_next_deadline(const chat_redis *r)
{
  uint64_t d = UINT64_MAX;

  if (r->state == ST_DOWN)
    return r->retry_at;
  if (r->cmd.deadline != 0 && r->cmd.deadline < d)
    d = r->cmd.deadline;
  if (r->tail.deadline != 0 && r->tail.deadline < d)
    d = r->tail.deadline;
  return d;
}

void chat_redis_tick(chat_redis *r, uint64_t now)
{
  r->now = now;
  if (r->state == ST_DOWN && now >= r->retry_at) {
    if (link_open(r, &r->cmd) != 0 || link_open(r, &r->tail) != 0) {
      link_close(&r->cmd);
      link_close(&r->tail);
      r->state = ST_CONNECTING; /* so that fail() counts it */
      fail(r, strerror(errno));
      return;
    }
    r->state = ST_CONNECTING;
    send_init(r);
    return;
  }
  if ((r->cmd.deadline != 0 && now >= r->cmd.deadline) ||
      (r->tail.deadline != 0 && now >= r->tail.deadline))
    fail(r, "no reply in time");
}

int chat_redis_up(const chat_redis *r)
{
  return r->state == ST_UP;
}

int chat_redis_publish(chat_redis *r, const char *type, const char *data, size_t len,
                       const char *from, uint64_t ts)
{
  char tss[24];
  const char *argv[12];
  size_t lens[12];
  int i;

  if (r->state != ST_UP)
    return -1;
  snprintf(tss, sizeof tss, "%" PRIu64, ts);
  argv[0] = "EVAL", argv[1] = publish_lua, argv[2] = "3", argv[3] = r->stream;
  argv[4] = r->epoch_key, argv[5] = r->seq_key, argv[6] = r->maxlen, argv[7] = type;
  argv[8] = data, argv[9] = from, argv[10] = tss, argv[11] = r->epoch;
  for (i = 0; i < 12; i++)
    lens[i] = i == 8 ? len : strlen(argv[i]);
  if (link_send(r, &r->cmd, CMD_PUBLISH, 0, 12, argv, lens) != 0)
    return -1;
  if (link_flush(&r->cmd) != 0) {
    fail(r, "write failed");
    return -1;
  }
  return 0;
}

int chat_redis_range(chat_redis *r, uint64_t from, size_t count, uint64_t tag)
{
  char start[32], cnt[24];
  const char *argv[6];
  size_t lens[6];
  int i;

  if (r->state != ST_UP)
    return -1;
  if (count > CHAT_REDIS_TAIL_COUNT)
    count = CHAT_REDIS_TAIL_COUNT;
  snprintf(start, sizeof start, "%" PRIu64 "-0", from);
  snprintf(cnt, sizeof cnt, "%zu", count);
  argv[0] = "XRANGE", argv[1] = r->stream, argv[2] = start, argv[3] = "+";
  argv[4] = "COUNT", argv[5] = cnt;
  for (i = 0; i < 6; i++)
    lens[i] = strlen(argv[i]);
  if (link_send(r, &r->cmd, CMD_RANGE, tag, 6, argv, lens) != 0)
    return -1;
  if (link_flush(&r->cmd) != 0) {
    fail(r, "write failed");
    return -1;
  }
  return 0;
}
