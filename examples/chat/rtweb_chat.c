/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the chat demo. One single-threaded epoll loop on one port serves
 *
 *   GET /        the page (page.html, embedded at build time)
 *   GET /events  the activity feed, Server-Sent Events (WHATWG HTML 9.2) with ids, a bounded
 *                replay history and Last-Event-ID resume (feed.c, feed_conn.c)
 *   /chat        the chat, WebSocket (RFC 6455): every text message {"name","text"} from any
 *                socket goes to every socket as {"name","text","ts"} (chat_conn.c, policy.c)
 *
 * With --tls-cert and --tls-key, all three go over TLS (https, wss) on the same port
 * (tls_conn.c).
 *
 * This file: options, the descriptor limit, the listening socket, signals. The loop, the
 * connection states and the limits: server.h and server.c.
 */
#include "server.h"
#include "redis.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_signal(int sig)
{
  (void)sig;
  chat_stop_requested = 1;
}

static int listen_on(const char *host, const char *port, int *bound_port)
{
  struct addrinfo hints, *res, *ai;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int fd = -1, one = 1, rv;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  rv = getaddrinfo(host, port, &hints, &res);
  if (rv != 0) {
    fprintf(stderr, "rtweb-chat: %s: %s\n", host, gai_strerror(rv));
    return -1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0 &&
        chat_set_nonblocking(fd) == 0)
      break;
    fprintf(stderr, "rtweb-chat: %s port %s: %s\n", host, port, strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return -1;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: rtweb-chat [--host 127.0.0.1] [--port 8080] [--feed-file PATH]\n"
             "                  [--history 1000] [--max-conns 512] [--max-conns-per-addr 64]\n"
             "                  [--max-http-per-addr 16] [--msg-rate 5] [--byte-rate 16384]\n"
             "                  [--join-rate 300] [--send-timeout 30] [--no-deflate]\n"
             "                  [--tls-cert FILE --tls-key FILE]\n"
             "                  [--redis HOST:PORT [--redis-stream rtweb-chat]\n"
             "                   [--redis-maxlen 10000]]\n"
             "The rtweb demo: a page with a live feed (SSE, /events) and a chat (WebSocket,\n"
             "/chat) on one port. --port 0 picks a free port. --feed-file keeps the feed\n"
             "across restarts; --history is how many events a reconnecting page can get.\n"
             "Limits: --max-conns connections (within the descriptor limit), of which\n"
             "--max-conns-per-addr per client address, and --max-http-per-addr of those\n"
             "before they become a chat socket or a feed stream; per chat socket --msg-rate\n"
             "messages and --byte-rate bytes a second on average (bursts of 10 s worth;\n"
             "beyond: close 1008; 0: no limit); per address --join-rate chat sockets opened\n"
             "a minute (beyond: 429); a connection whose output stays undrained for\n"
             "--send-timeout seconds is dropped. Chat sockets compress their messages\n"
             "with permessage-deflate (RFC 7692) when the browser offers it, as browsers\n"
             "do; --no-deflate declines it. With --tls-cert (PEM chain, leaf first) and\n"
             "--tls-key (its PEM key), the port serves https and wss instead (TLS 1.2+,\n"
             "a 10 s handshake timeout).\n"
             "With --redis (a numeric address), the feed and the chat go through a Redis\n"
             "stream (--redis-stream NAME, trimmed to about --redis-maxlen entries) that\n"
             "every node shares: the same events and ids on every node, Last-Event-ID\n"
             "resume on any node (docs/scale-out.md); not with --feed-file.\n");
}

static int parse_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
  char *end;
  errno = 0;
  *out = strtoul(v, &end, 10);
  return errno == 0 && end != v && *end == '\0' && v[0] != '-' && *out >= lo && *out <= hi
           ? 0
           : -1;
}

/* The numeric options: name, accepted range, where the value goes. */
static const struct number_option {
  const char *name;
  unsigned long lo, hi;
  size_t offset;
} numbers[] = {
  {"--history", 1, 1000000, offsetof(options, history)},
  {"--max-conns", 1, 100000, offsetof(options, max_conns)},
  {"--max-conns-per-addr", 1, 100000, offsetof(options, max_conns_per_addr)},
  {"--max-http-per-addr", 1, 100000, offsetof(options, max_http_per_addr)},
  {"--msg-rate", 0, 1000000, offsetof(options, msg_rate)},
  {"--byte-rate", 0, 1000000000, offsetof(options, byte_rate)},
  {"--join-rate", 0, 1000000, offsetof(options, join_rate)},
  {"--send-timeout", 1, 3600, offsetof(options, send_timeout)},
  {"--redis-maxlen", 1, 100000000, offsetof(options, redis_maxlen)},
};

/* 0 when `a` is a numeric option and v a value in its range (stored), else -1. */
static int set_number(options *o, const char *a, size_t name_len, const char *v)
{
  size_t i;
  for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
    if (chat_span_is(a, name_len, numbers[i].name))
      return parse_number(v, numbers[i].lo, numbers[i].hi,
                          (unsigned long *)(void *)((char *)o + numbers[i].offset));
  return -1;
}

static int parse_args(int argc, char **argv, options *o)
{
  int i;
  unsigned long port;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - a) : strlen(a);
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (strcmp(a, "--no-deflate") == 0) { /* the one flag without a value */
      o->no_deflate = 1;
      continue;
    }
    if (eq != NULL)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    if (v == NULL) {
      fprintf(stderr, "rtweb-chat: %s needs a value\n", a);
      return -1;
    }
    if (chat_span_is(a, name_len, "--host"))
      o->host = v;
    else if (chat_span_is(a, name_len, "--port") && parse_number(v, 0, 65535, &port) == 0)
      o->port = v;
    else if (chat_span_is(a, name_len, "--feed-file"))
      o->feed_file = v;
    else if (chat_span_is(a, name_len, "--tls-cert"))
      o->tls_cert = v;
    else if (chat_span_is(a, name_len, "--tls-key"))
      o->tls_key = v;
    else if (chat_span_is(a, name_len, "--redis"))
      o->redis = v;
    else if (chat_span_is(a, name_len, "--redis-stream") && v[0] != '\0' && strlen(v) < 200)
      o->redis_stream = v;
    else if (set_number(o, a, name_len, v) != 0) {
      fprintf(stderr, "rtweb-chat: bad option or value: %.*s %s\n", (int)name_len, a, v);
      return -1;
    }
  }
  if (o->redis != NULL && o->feed_file != NULL) {
    fprintf(stderr, "rtweb-chat: --redis keeps the feed in Redis: no --feed-file with it\n");
    return -1;
  }
  if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
    fprintf(stderr, "rtweb-chat: --tls-cert and --tls-key go together\n");
    return -1;
  }
  return 0;
}

/* --tls-cert, --tls-key: the server configuration every connection shares (rtweb-tls,
 * docs/tls.md): the certificate, ALPN http/1.1 (the default), a seeded DRBG. */
static rtw_tls_config *load_tls(const options *o)
{
  rtw_tls_config *cfg;
  char why[200];
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  int rv;

  /* ciphertext held per connection: as much as a chat socket queues before its input gate
   * closes (WS_HIGH_WATER), rather than rtw_tls's 256 KiB default on top of that queue */
  st.max_outbound = WS_HIGH_WATER;
  rv = rtw_tls_config_new(&cfg, RTW_TLS_ROLE_SERVER, &st, NULL);

  if (rv != 0) {
    fprintf(stderr, "rtweb-chat: TLS: %s\n", rtw_strerror(rv));
    return NULL;
  }
  rv = rtw_tls_config_add_cert_file(cfg, o->tls_cert, o->tls_key);
  if (rv < 0) {
    if (rtw_tls_config_error_text(cfg, why, sizeof why) == 0)
      snprintf(why, sizeof why, "%s", rtw_strerror(rv));
    fprintf(stderr, "rtweb-chat: %s, %s: %s\n", o->tls_cert, o->tls_key, why);
    rtw_tls_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* Every connection is a descriptor: raise the soft limit toward the hard one if needed,
 * and take no more connections than the limit leaves room for (else accept() fails with
 * EMFILE while the table still has room, and clients wait instead of getting a 503). */
static size_t fit_fd_limit(size_t want)
{
  struct rlimit rl;
  rlim_t need = (rlim_t)want + FD_RESERVE, room;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return want;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
    return want;
  room = rl.rlim_cur > FD_RESERVE + 1 ? rl.rlim_cur - FD_RESERVE : 1;
  fprintf(stderr, "rtweb-chat: the descriptor limit is %lu: --max-conns %zu lowered to %lu\n",
          (unsigned long)rl.rlim_cur, want, (unsigned long)room);
  return (size_t)room;
}

/* --redis: the shared log (redis.c). This process's name in a chat line's `from` is random,
 * so that the node that holds the author's socket finds it (chat_conn.c, "mine"). */
static int start_redis(server *s)
{
  chat_redis_hooks hooks;
  unsigned char raw[6] = {0};
  FILE *f = fopen("/dev/urandom", "rb");
  size_t i;

  if (f == NULL || fread(raw, 1, sizeof raw, f) != sizeof raw) {
    uint64_t t = chat_clock_ms(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 20);
    memcpy(raw, &t, sizeof raw);
  }
  if (f != NULL)
    fclose(f);
  for (i = 0; i < sizeof raw; i++)
    snprintf(s->node + 2 * i, 3, "%02x", raw[i]);
  feed_conn_redis_hooks(&hooks, s);
  return chat_redis_new(&s->rds, s->o.redis, s->o.redis_stream, s->o.redis_maxlen,
                        s->o.history, &hooks);
}

int main(int argc, char **argv)
{
  options o = {.host = "127.0.0.1", .port = "8080", .history = 1000, .max_conns = 512,
               .max_conns_per_addr = 64, .max_http_per_addr = 16, .msg_rate = 5,
               .byte_rate = 16384, .join_rate = 300, .send_timeout = 30,
               .redis_stream = CHAT_REDIS_DEFAULT_STREAM,
               .redis_maxlen = CHAT_REDIS_DEFAULT_MAXLEN};
  struct sigaction sa;
  server s;
  int port, rv;

  if (parse_args(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  memset(&s, 0, sizeof s);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait() returns at once */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);

  if (o.tls_cert != NULL && (s.tls = load_tls(&o)) == NULL)
    return 1;
  if (chat_feed_open(&s.feed, o.history, o.feed_file) != 0) {
    rtw_tls_config_free(s.tls);
    return 1;
  }
  s.o = o;
  if (o.redis != NULL && start_redis(&s) != 0) {
    chat_feed_close(&s.feed);
    rtw_tls_config_free(s.tls);
    return 1;
  }
  s.deflate.version = RTW_WS_DEFLATE_CONFIG_VERSION; /* zero members: the defaults */
  s.max_conns = fit_fd_limit(o.max_conns);
  s.conns = calloc(s.max_conns, sizeof *s.conns);
  s.lfd = s.conns != NULL ? listen_on(o.host, o.port, &port) : -1;
  if (s.lfd < 0) {
    chat_redis_free(s.rds);
    chat_feed_close(&s.feed);
    free(s.conns);
    rtw_tls_config_free(s.tls);
    return 1;
  }
  printf("rtweb-chat: open %s://%s%s%s:%d/ in a browser\n", s.tls != NULL ? "https" : "http",
         strchr(o.host, ':') ? "[" : "", o.host, strchr(o.host, ':') ? "]" : "", port);
  fflush(stdout);
  s.next_heartbeat = chat_clock_ms(CLOCK_MONOTONIC) + HEARTBEAT_MS;
  rv = chat_run(&s);
  if (s.lfd >= 0)
    close(s.lfd);
  chat_redis_free(s.rds);
  chat_feed_close(&s.feed);
  free(s.conns);
  rtw_tls_config_free(s.tls); /* the connections, which held it too, are gone */
  fprintf(stderr, "rtweb-chat: bye\n");
  return rv == 0 ? 0 : 1;
}
