/* SPDX-License-Identifier: MIT */
/* Unit tests for the chat's Redis log client (redis.c) against a scripted fake Redis on a
 * loopback socket in this process: the protocol (init, seed, tail, range, publish), replies
 * whole, byte by byte and split at every byte, and hostile replies, each of which must
 * fail the links (and reconnect with the backoff), never the process. No timed assertions:
 * the module's clock is the `now` this test passes. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "redis.h"

/* ------------------------------------------------------------------ what the hooks saw */

typedef struct seen {
  int ups, downs, changed;
  char epoch[40];
  size_t seeded;
  uint64_t seed_seqs[16];
  size_t entries;
  uint64_t entry_seqs[64];
  char last_data[64], last_from[64], last_type[16];
  uint64_t last_ts;
  int ranges, range_failed;
  size_t range_n;
  uint64_t range_tag, range_first;
} seen;

static void copy_span(char *dst, size_t cap, const char *p, size_t n)
{
  n = n < cap - 1 ? n : cap - 1;
  memcpy(dst, p, n);
  dst[n] = '\0';
}

static void on_up(void *user, const char *epoch, int changed, const chat_redis_entry *seed,
                  size_t n)
{
  seen *s = user;
  size_t i;
  s->ups++;
  s->changed = changed;
  snprintf(s->epoch, sizeof s->epoch, "%s", epoch);
  s->seeded = n;
  for (i = 0; i < n && i < 16; i++)
    s->seed_seqs[i] = seed[i].seq;
}

static void on_down(void *user)
{
  ((seen *)user)->downs++;
}

static void on_entry(void *user, const chat_redis_entry *e)
{
  seen *s = user;
  if (s->entries < 64)
    s->entry_seqs[s->entries] = e->seq;
  s->entries++;
  copy_span(s->last_data, sizeof s->last_data, e->data, e->data_len);
  copy_span(s->last_from, sizeof s->last_from, e->from, e->from_len);
  copy_span(s->last_type, sizeof s->last_type, e->type, e->type_len);
  s->last_ts = e->ts;
}

static void on_range(void *user, uint64_t tag, const chat_redis_entry *e, size_t n, int failed)
{
  seen *s = user;
  s->ranges++;
  s->range_failed = failed;
  s->range_n = n;
  s->range_tag = tag;
  s->range_first = n > 0 ? e[0].seq : 0;
}

/* ------------------------------------------------------------------ the fake server */

typedef struct fake {
  int lfd, port;
  int cmd, tail; /* accepted sockets, -1 before */
  chat_redis *r;
  seen s;
  uint64_t now;
} fake;

static void drive(fake *f)
{
  int rounds;
  for (rounds = 0; rounds < 8; rounds++) {
    int fds[2];
    short ev[2];
    struct pollfd p[2];
    int n, i;
    chat_redis_tick(f->r, f->now);
    n = chat_redis_fds(f->r, fds, ev);
    if (n <= 0 || n > 2)
      break;
    for (i = 0; i < n; i++) {
      p[i].fd = fds[i];
      p[i].events = ev[i];
      p[i].revents = 0;
    }
    if (poll(p, (nfds_t)n, rounds == 0 ? 2 : 0) <= 0)
      break; /* loopback bytes are there as soon as send() returns (TCP_NODELAY) */ /* loopback bytes are there as soon as send() returns */
    for (i = 0; i < n; i++)
      if (p[i].revents != 0)
        chat_redis_io(f->r, p[i].fd, p[i].revents, f->now);
  }
}

/* Read what the client sent on fd (waits a little). */
static size_t take(int fd, char *buf, size_t cap)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  ssize_t n;
  if (poll(&p, 1, 200) <= 0)
    return 0;
  n = recv(fd, buf, cap - 1, 0);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return (size_t)n;
}

static void put(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    assert_true(w > 0);
    p += w;
    n -= (size_t)w;
  }
}

/* Send reply bytes: whole (split 0), one byte at a time (split 1), or in two pieces at
 * byte k (split k + 2); the client reads between the pieces. */
static void reply(fake *f, int fd, const char *p, size_t n, size_t split)
{
  size_t i;
  if (split == 0 || (split >= 2 && split - 2 >= n)) {
    put(fd, p, n);
  } else if (split == 1) {
    for (i = 0; i < n; i++) {
      put(fd, p + i, 1);
      drive(f);
    }
  } else {
    put(fd, p, split - 2);
    drive(f);
    put(fd, p + split - 2, n - (split - 2));
  }
  drive(f);
}

static void fake_start(fake *f, const char *stream)
{
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  char hp[64];
  chat_redis_hooks h = {0};
  int one = 1;

  memset(f, 0, sizeof *f);
  f->cmd = f->tail = -1;
  f->lfd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(f->lfd >= 0);
  setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->lfd, 8), 0);
  getsockname(f->lfd, (struct sockaddr *)&a, &al);
  f->port = ntohs(a.sin_port);
  snprintf(hp, sizeof hp, "127.0.0.1:%d", f->port);
  h.user = &f->s;
  h.on_up = on_up;
  h.on_down = on_down;
  h.on_entry = on_entry;
  h.on_range = on_range;
  assert_int_equal(chat_redis_new(&f->r, hp, stream, 100, 10, &h), 0);
}

static void close_peers(fake *f)
{
  if (f->cmd >= 0)
    close(f->cmd);
  if (f->tail >= 0)
    close(f->tail);
  f->cmd = f->tail = -1;
}

static void fake_stop(fake *f)
{
  close_peers(f);
  chat_redis_free(f->r);
  close(f->lfd);
}

/* The client connects both links and sends EVAL init on one: that one is the command
 * link. */
static void accept_links(fake *f)
{
  char buf[4096];
  int a, b, one = 1;
  struct pollfd p[2];

  drive(f);
  a = accept(f->lfd, NULL, NULL);
  b = accept(f->lfd, NULL, NULL);
  assert_true(a >= 0 && b >= 0);
  /* each piece of a split reply goes out at once (no Nagle wait for the ACK) */
  setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  drive(f);
  p[0].fd = a, p[0].events = POLLIN, p[1].fd = b, p[1].events = POLLIN;
  assert_true(poll(p, 2, 500) > 0);
  f->cmd = (p[0].revents & POLLIN) ? a : b;
  f->tail = f->cmd == a ? b : a;
  assert_true(take(f->cmd, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "EVAL"));
  assert_non_null(strstr(buf, "SET"));
}

/* An entry of our layout: [id, [type, T, data, D, from, F, ts, TS, epoch, E]]. */
static size_t entry(char *out, size_t cap, uint64_t seq, const char *epoch, const char *data)
{
  char id[32];
  int n;
  snprintf(id, sizeof id, "%llu-0", (unsigned long long)seq);
  n = snprintf(out, cap,
               "*2\r\n$%zu\r\n%s\r\n*10\r\n$4\r\ntype\r\n$7\r\nmessage\r\n$4\r\ndata\r\n"
               "$%zu\r\n%s\r\n$4\r\nfrom\r\n$5\r\nn1:42\r\n$2\r\nts\r\n$3\r\n123\r\n"
               "$5\r\nepoch\r\n$%zu\r\n%s\r\n",
               strlen(id), id, strlen(data), data, strlen(epoch), epoch);
  assert_true(n > 0 && (size_t)n < cap);
  return (size_t)n;
}

/* Init (epoch "ep1"), seed with entries 1 and 2 (newest first), and the tail's first
 * XREAD, each reply sent in pieces per `split`. */
static void bring_up(fake *f, size_t split)
{
  char buf[4096], rep[2048];
  size_t n;

  accept_links(f);
  reply(f, f->cmd, "$3\r\nep1\r\n", 9, split);
  assert_true(take(f->cmd, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "XREVRANGE"));
  n = (size_t)snprintf(rep, sizeof rep, "*2\r\n");
  n += entry(rep + n, sizeof rep - n, 2, "ep1", "{\"b\":2}");
  n += entry(rep + n, sizeof rep - n, 1, "ep1", "{\"a\":1}");
  reply(f, f->cmd, rep, n, split);
  assert_int_equal(f->s.ups, 1);
  assert_int_equal(f->s.changed, 1);
  assert_string_equal(f->s.epoch, "ep1");
  assert_int_equal(f->s.seeded, 2);
  assert_int_equal(f->s.seed_seqs[0], 1); /* oldest first */
  assert_int_equal(f->s.seed_seqs[1], 2);
  assert_int_equal(chat_redis_up(f->r), 1);
  assert_true(take(f->tail, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "XREAD"));
  assert_non_null(strstr(buf, "\r\n2-0\r\n")); /* after the newest seeded */
}

/* ------------------------------------------------------------------ tests */

static void tail_reply(fake *f, size_t split, uint64_t first, size_t count, const char *ep,
                       const char *stream)
{
  char rep[8192];
  size_t n, i;
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$%zu\r\n%s\r\n*%zu\r\n", strlen(stream),
                       stream, count);
  for (i = 0; i < count; i++)
    n += entry(rep + n, sizeof rep - n, first + i, ep, "{\"name\":\"x\",\"text\":\"y\"}");
  reply(f, f->tail, rep, n, split);
}

/* The whole protocol, replies sent whole, byte by byte, and split at every byte of the
 * init, seed and tail replies. */
static void test_protocol_splits(void **state)
{
  size_t split;
  (void)state;
  for (split = 0; split < 2 + 420; split++) {
    fake f;
    fake_start(&f, "st");
    bring_up(&f, split);
    tail_reply(&f, split, 2, 3, "ep1", "st"); /* 2 again (seeded), then 3 and 4 */
    assert_int_equal(f.s.entries, 2);
    assert_int_equal(f.s.entry_seqs[0], 3);
    assert_int_equal(f.s.entry_seqs[1], 4);
    assert_string_equal(f.s.last_type, "message");
    assert_string_equal(f.s.last_data, "{\"name\":\"x\",\"text\":\"y\"}");
    assert_string_equal(f.s.last_from, "n1:42");
    assert_int_equal(f.s.last_ts, 123);
    assert_int_equal(f.s.downs, 0);
    fake_stop(&f);
  }
}

/* XREAD timing out (nil) asks again, and checks the epoch on the command link; a changed
 * epoch fails the links. */
static void test_idle_epoch_check(void **state)
{
  fake f;
  char buf[4096];
  (void)state;
  fake_start(&f, "st");
  bring_up(&f, 0);
  reply(&f, f.tail, "*-1\r\n", 5, 0);
  assert_true(take(f.tail, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "XREAD"));
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "GET"));
  reply(&f, f.cmd, "$3\r\nep1\r\n", 9, 0); /* same: nothing happens */
  assert_int_equal(chat_redis_up(f.r), 1);
  reply(&f, f.tail, "*-1\r\n", 5, 0);
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  reply(&f, f.cmd, "$-1\r\n", 5, 0); /* no epoch any more: FLUSHALL */
  assert_int_equal(chat_redis_up(f.r), 0);
  assert_int_equal(f.s.downs, 1);
  fake_stop(&f);
}

/* Reconnecting: 100 ms, then doubling to 2 s; the same epoch resumes the tail after the
 * last entry (no seed); a new epoch seeds again. */
static void test_reconnect(void **state)
{
  fake f;
  char buf[4096], rep[1024];
  size_t n;
  uint64_t want = 100;
  int i;
  (void)state;
  fake_start(&f, "st");
  bring_up(&f, 0);
  tail_reply(&f, 0, 3, 2, "ep1", "st");
  close_peers(&f);
  drive(&f);
  assert_int_equal(f.s.downs, 1);
  assert_int_equal(chat_redis_next_deadline(f.r), f.now + 100);
  for (i = 0; i < 6; i++) { /* connections refused by closing them at once */
    f.now = chat_redis_next_deadline(f.r);
    accept_links(&f);
    close_peers(&f);
    drive(&f);
    want = want * 2 > 2000 ? 2000 : want * 2;
    assert_int_equal(chat_redis_next_deadline(f.r), f.now + want);
  }
  assert_int_equal(f.s.downs, 1); /* down once: it never came up in between */
  f.now = chat_redis_next_deadline(f.r);
  accept_links(&f);
  reply(&f, f.cmd, "$3\r\nep1\r\n", 9, 0);
  assert_int_equal(f.s.ups, 2);
  assert_int_equal(f.s.changed, 0);
  assert_true(take(f.tail, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "\r\n4-0\r\n")); /* resumes after the last entry */
  close_peers(&f);
  drive(&f);
  assert_int_equal(chat_redis_next_deadline(f.r), f.now + 100); /* reset by the init */
  f.now = chat_redis_next_deadline(f.r);
  accept_links(&f);
  reply(&f, f.cmd, "$3\r\nep2\r\n", 9, 0);
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "XREVRANGE"));
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n");
  n += entry(rep + n, sizeof rep - n, 1, "ep2", "{}");
  reply(&f, f.cmd, rep, n, 0);
  assert_int_equal(f.s.ups, 3);
  assert_int_equal(f.s.changed, 1);
  assert_string_equal(f.s.epoch, "ep2");
  fake_stop(&f);
}

/* Publish and range while up; refused while down; a pending range is answered `failed`
 * when the links fail. */
static void test_publish_range(void **state)
{
  fake f;
  char buf[8192], rep[4096];
  static const char data[] = "{\"text\":\"a\r\nb\"}"; /* binary-safe */
  size_t n;
  (void)state;
  fake_start(&f, "st");
  assert_int_equal(chat_redis_publish(f.r, "message", data, sizeof data - 1, "n:1", 5), -1);
  assert_int_equal(chat_redis_range(f.r, 1, 8, 7), -1);
  bring_up(&f, 0);
  assert_int_equal(chat_redis_publish(f.r, "message", data, sizeof data - 1, "n:1", 5), 0);
  n = take(f.cmd, buf, sizeof buf);
  assert_true(n > 0);
  assert_non_null(strstr(buf, "$15\r\n{\"text\":\"a\r\nb\"}\r\n"));
  assert_non_null(strstr(buf, "XADD"));
  reply(&f, f.cmd, ":3\r\n", 4, 0);
  assert_int_equal(chat_redis_up(f.r), 1);
  assert_int_equal(chat_redis_range(f.r, 1, 8, 77), 0);
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "XRANGE"));
  assert_non_null(strstr(buf, "\r\n1-0\r\n"));
  n = (size_t)snprintf(rep, sizeof rep, "*2\r\n");
  n += entry(rep + n, sizeof rep - n, 1, "ep1", "{}");
  n += entry(rep + n, sizeof rep - n, 2, "ep1", "{}");
  reply(&f, f.cmd, rep, n, 0);
  assert_int_equal(f.s.ranges, 1);
  assert_int_equal(f.s.range_tag, 77);
  assert_int_equal(f.s.range_n, 2);
  assert_int_equal(f.s.range_first, 1);
  assert_int_equal(f.s.range_failed, 0);
  /* an error reply to an append (not EPOCH) loses that event only */
  assert_int_equal(chat_redis_publish(f.r, "join", "{}", 2, "n:0", 5), 0);
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  reply(&f, f.cmd, "-ERR something\r\n", 16, 0);
  assert_int_equal(chat_redis_up(f.r), 1);
  /* EPOCH fails the links */
  assert_int_equal(chat_redis_publish(f.r, "join", "{}", 2, "n:0", 5), 0);
  assert_true(take(f.cmd, buf, sizeof buf) > 0);
  reply(&f, f.cmd, "-EPOCH the log was reset\r\n", 26, 0);
  assert_int_equal(chat_redis_up(f.r), 0);
  /* a range pending when the links fail */
  f.now = chat_redis_next_deadline(f.r);
  accept_links(&f);
  reply(&f, f.cmd, "$3\r\nep1\r\n", 9, 0);
  assert_int_equal(chat_redis_range(f.r, 1, 8, 78), 0);
  close_peers(&f);
  drive(&f);
  assert_int_equal(f.s.ranges, 2);
  assert_int_equal(f.s.range_tag, 78);
  assert_int_equal(f.s.range_failed, 1);
  fake_stop(&f);
}

/* No reply in time fails the links (the tail's BLOCK time is allowed for). */
static void test_timeouts(void **state)
{
  fake f;
  (void)state;
  fake_start(&f, "st");
  accept_links(&f);
  f.now += CHAT_REDIS_REPLY_TIMEOUT_MS - 1;
  drive(&f);
  assert_true(chat_redis_next_deadline(f.r) != f.now + 100);
  f.now += 1;
  drive(&f);
  assert_int_equal(chat_redis_next_deadline(f.r), f.now + 100);
  close_peers(&f);
  f.now = chat_redis_next_deadline(f.r);
  accept_links(&f);
  reply(&f, f.cmd, "$3\r\nep1\r\n", 9, 0);
  reply(&f, f.cmd, "*0\r\n", 4, 0);
  assert_int_equal(chat_redis_up(f.r), 1);
  f.now += CHAT_REDIS_BLOCK_MS + CHAT_REDIS_REPLY_TIMEOUT_MS - 1;
  drive(&f);
  assert_int_equal(chat_redis_up(f.r), 1);
  f.now += 1;
  drive(&f);
  assert_int_equal(chat_redis_up(f.r), 0);
  fake_stop(&f);
}

/* Hostile or corrupt replies: each fails the links (no crash, no hook but on_down). */
static void hostile_case(const char *on, const char *bytes, size_t n, size_t repeat_x)
{
  fake f;
  char chunk[65536];
  size_t i;

  fake_start(&f, "st");
  bring_up(&f, 0);
  reply(&f, strcmp(on, "tail") == 0 ? f.tail : f.cmd, bytes, n, 0);
  memset(chunk, 'x', sizeof chunk);
  for (i = 0; i < repeat_x && chat_redis_up(f.r); i++) {
    put(f.tail, chunk, sizeof chunk);
    drive(&f);
  }
  assert_int_equal(chat_redis_up(f.r), 0);
  assert_int_equal(f.s.downs, 1);
  assert_int_equal(f.s.entries, 0);
  fake_stop(&f);
}

static void test_hostile(void **state)
{
  char rep[4096];
  size_t n;
  (void)state;
  hostile_case("tail", "*2147483647\r\n", 13, 0);        /* elements cap */
  hostile_case("tail", "*5000\r\n", 7, 0);               /* just over the cap */
  hostile_case("tail", "$999999999999\r\n", 16, 140);    /* 8 MiB cap on a reply */
  hostile_case("tail", "garbage\r\n", 9, 0);
  hostile_case("tail", "-ERR no\r\n", 9, 0);
  hostile_case("tail", ":1\r\n", 4, 0);                  /* wrong type */
  hostile_case("cmd", ":1\r\n", 4, 0);                   /* a reply nobody asked for */
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$5\r\nother\r\n*1\r\n");
  n += entry(rep + n, sizeof rep - n, 5, "ep1", "{}");
  hostile_case("tail", rep, n, 0);                       /* another stream */
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$2\r\nst\r\n*1\r\n");
  n += entry(rep + n, sizeof rep - n, 5, "ep9", "{}");
  hostile_case("tail", rep, n, 0);                       /* another epoch */
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$2\r\nst\r\n*1\r\n"
                                        "*2\r\n$3\r\n5-1\r\n*0\r\n");
  hostile_case("tail", rep, n, 0);                       /* an id that is not <seq>-0 */
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$2\r\nst\r\n*1\r\n"
                                        "*2\r\n$3\r\nx-0\r\n*1\r\n$4\r\ntype\r\n");
  hostile_case("tail", rep, n, 0);                       /* odd fields, bad id */
  n = (size_t)snprintf(rep, sizeof rep, "*1\r\n*2\r\n$2\r\nst\r\n*1\r\n"
                                        "*2\r\n$3\r\n0-0\r\n*0\r\n");
  hostile_case("tail", rep, n, 0);                       /* seq 0, no fields */
  n = (size_t)snprintf(rep, sizeof rep, "%s", "*1\r\n" "*1\r\n" "*1\r\n" "*1\r\n" "*1\r\n"
                                              "*1\r\n" "*1\r\n" "*1\r\n" "*1\r\n" ":1\r\n");
  hostile_case("tail", rep, n, 0);                       /* nesting */
}

/* Bad --redis values are refused at start. */
static void test_bad_address(void **state)
{
  chat_redis *r = (chat_redis *)1;
  chat_redis_hooks h = {0};
  (void)state;
  assert_int_equal(chat_redis_new(&r, "localhost:6379", "s", 1, 1, &h), -1);
  assert_null(r);
  assert_int_equal(chat_redis_new(&r, "127.0.0.1", "s", 1, 1, &h), -1);
  assert_int_equal(chat_redis_new(&r, "127.0.0.1:", "s", 1, 1, &h), -1);
  assert_int_equal(chat_redis_new(&r, ":6379", "s", 1, 1, &h), -1);
  assert_int_equal(chat_redis_new(&r, "[::1]:6379", "s", 1, 1, &h), 0);
  chat_redis_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_protocol_splits),
    cmocka_unit_test(test_idle_epoch_check),
    cmocka_unit_test(test_reconnect),
    cmocka_unit_test(test_publish_range),
    cmocka_unit_test(test_timeouts),
    cmocka_unit_test(test_hostile),
    cmocka_unit_test(test_bad_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
