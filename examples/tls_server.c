/* SPDX-License-Identifier: MIT */
/* tls_server: WebSocket and SSE over TLS on one Linux epoll loop, the engines stacked on
 * rtw_tls (rtweb-tls, docs/tls.md).
 *
 *   wss://localhost:PORT/ws          a WebSocket echo (RFC 6455) over TLS 1.2 (RFC 5246)
 *   https://localhost:PORT/events    Server-Sent Events (WHATWG HTML 9.2), resumable with
 *                                    Last-Event-ID; each line read on stdin is one event
 *
 *   tls_server --cert FILE --key FILE [--port N] [--handshake-timeout-ms N]
 *
 * Port 0 (the default) picks a free port; the first line printed is
 * "listening on 127.0.0.1:PORT". SIGINT or SIGTERM: WebSocket clients get a close 1001,
 * event streams end, every connection sends close_notify, the process exits.
 *
 * The layering, per connection (examples/epoll_server.c is the same server in clear text):
 *
 *   socket --read--> rtw_tls_recv --on_data--> handshake head, then rtw_ws_recv
 *   socket <-write-- rtw_tls_send_pending <--rtw_tls_writev-- 101 / ws frames / SSE bytes
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4() and SOCK_NONBLOCK: Linux, like epoll and signalfd */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rtweb/rtweb.h>
#include <rtweb/tls.h>

#define MAX_CONNS 256
#define MAX_MESSAGE (1u << 20)
#define HIGH_WATER (256u * 1024u)
#define LOW_WATER (64u * 1024u)
#define HEAD_TIMEOUT_MS 10000u /* after the TLS handshake, the request head within this */
#define SHUTDOWN_GRACE_MS 2000u

struct conn {
  int fd;                      /* -1: a free slot */
  uint32_t events;             /* what epoll watches for now */
  rtw_tls *tls;                /* the TLS connection: every byte goes through it */
  int held;                    /* rtw_tls_recv paused: TLS keeps plaintext for the upper layer */
  rtw_ws_handshake_server *hs; /* the request head, until the response is written */
  const char *resp;            /* plaintext response still to move into TLS */
  size_t resp_len;
  int close_after_resp;        /* an error response: close once it is out */
  uint64_t head_deadline;      /* UINT64_MAX until the TLS handshake completes */
  rtw_ws *ws;                  /* after the 101: a WebSocket echo */
  rtw_sse_stream *sse;         /* or an event stream */
  size_t in_len;               /* ciphertext in `in` that TLS has not taken (paused) */
  char in[16384];
};

static struct conn conns[MAX_CONNS];
static unsigned nconns;
static int ep, lfd, listener_paused, stopping;
static rtw_tls_config *tls_cfg;
static rtw_sse_history *history;
static unsigned long next_id = 1;
static char tag_listener, tag_signal, tag_stdin;

static void service(struct conn *c);

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void watch(int fd, uint32_t events, void *ptr, int op)
{
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = ptr;
  (void)epoll_ctl(ep, op, fd, &ev);
}

/* A failed TLS connection says why in mbedTLS's words (a bad record, a timeout, an alert). */
static void report(const struct conn *c, const char *what, int rv)
{
  char text[256];

  if (!rtw_is_fatal(rv))
    return;
  if (rtw_tls_error(c->tls) != 0 && rtw_tls_error_text(c->tls, text, sizeof text) > 0)
    fprintf(stderr, "fd %d: %s: %s: %s\n", c->fd, what, rtw_err_name(rv), text);
  else
    fprintf(stderr, "fd %d: %s: %s\n", c->fd, what, rtw_err_name(rv));
}

/* ------------------------------------------------------------------ the upper layers */

static int on_upgrade(rtw_ws_handshake_server *hs, void *user_data)
{
  const char *path;
  size_t len;
  (void)user_data;
  rtw_ws_handshake_server_path(hs, &path, &len);
  return len == 3 && memcmp(path, "/ws", 3) == 0 ? 0 : 404;
}

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  return rtw_ws_queue_message(ws, opcode, data, len, 0); /* the echo */
}

static int start_ws(struct conn *c)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};

  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_message_size = MAX_MESSAGE;
  st.outbound_high_water = HIGH_WATER; /* the session stops taking input above it */
  st.outbound_low_water = LOW_WATER;
  st.max_outbound = HIGH_WATER + MAX_MESSAGE + RTW_WS_MAX_HEADER + 256; /* ws.h's recipe */
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0)
    return -1;
  rtw_ws_tick(c->ws, now_ms()); /* timers arm from the first tick */
  return 0;
}

static int start_sse(struct conn *c)
{
  rtw_sse_stream_settings st = {.version = RTW_SSE_STREAM_SETTINGS_VERSION};
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(c->hs);
  int rv;

  st.heartbeat_ms = 15000; /* proxies drop streams that look idle */
  rv = rtw_sse_stream_new(&c->sse, req, history, NULL, &st, NULL, c);
  if (rv == 0)
    rtw_sse_stream_tick(c->sse, now_ms());
  return rv;
}

/* A line from stdin becomes an event with the next id, kept in the history; each stream
 * pulls it from there. */
static void publish(const char *line, size_t len)
{
  char buf[8192], id[24];
  rtw_sse_event ev = {0};
  size_t n, i;

  ev.id = id;
  ev.id_len = (size_t)sprintf(id, "%lu", next_id);
  ev.data = line;
  ev.data_len = len;
  if (rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0) != 0 ||
      rtw_sse_history_push(history, ev.id, ev.id_len, buf, n, NULL) != 0)
    return;
  next_id++;
  for (i = 0; i < MAX_CONNS; i++)
    if (conns[i].sse != NULL)
      service(&conns[i]);
}

static void read_stdin(void)
{
  static char line[4096];
  static size_t len;
  char *nl;
  ssize_t n = read(0, line + len, sizeof line - len);

  if (n <= 0) {
    if (n == 0 || errno != EAGAIN)
      watch(0, 0, &tag_stdin, EPOLL_CTL_DEL);
    return;
  }
  len += (size_t)n;
  while ((nl = memchr(line, '\n', len)) != NULL || len == sizeof line) {
    size_t end = nl != NULL ? (size_t)(nl - line) : len;
    publish(line, end);
    len -= end + (nl != NULL);
    memmove(line, line + end + (nl != NULL), len);
  }
}

/* The head is complete: the 101 (or the error response the handshake built), the event
 * stream, or a 404. Whatever cannot be served closes after its response. */
static void route(struct conn *c, int rv)
{
  static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
  const void *resp;
  const char *path;
  size_t len;

  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    rtw_ws_handshake_server_path(c->hs, &path, &len);
    if (len == 7 && memcmp(path, "/events", 7) == 0 && start_sse(c) == 0) {
      rtw_ws_handshake_server_free(c->hs); /* the stream took what it needs */
      c->hs = NULL;
      return;
    }
    c->resp = not_found;
    c->resp_len = sizeof not_found - 1;
    c->close_after_resp = 1;
    return;
  }
  c->close_after_resp = 1; /* unless the 101 and its session are ready */
  if (rtw_ws_handshake_server_response(c->hs, &resp, &len) != 0)
    return;
  c->resp = resp;
  c->resp_len = len;
  if (rv == RTW_WS_HANDSHAKE_DONE && start_ws(c) == 0)
    c->close_after_resp = 0;
}

/* ------------------------------------------------------------------ TLS callbacks */

/* Decrypted bytes: the request head first, then (same call) the WebSocket frames after it.
 * Returning the session's RTW_ERR_PAUSE keeps the rest inside rtw_tls for later. */
static int on_data(rtw_tls *tls, const void *data, size_t len, size_t *used, void *user_data)
{
  struct conn *c = user_data;
  size_t n = 0, m = 0;
  int rv;

  (void)tls;
  if (c->hs != NULL && c->ws == NULL && c->sse == NULL && !c->close_after_resp) {
    rv = rtw_ws_handshake_server_recv(c->hs, data, len, &n);
    if (rv == RTW_WS_HANDSHAKE_INCOMPLETE) {
      *used = n;
      return 0;
    }
    route(c, rv);
  }
  if (c->ws == NULL) {
    *used = len; /* an event-stream client sends nothing more that matters */
    return 0;
  }
  rv = rtw_ws_recv(c->ws, (const char *)data + n, len - n, &m);
  *used = n + m;
  return rv;
}

static int on_handshake(rtw_tls *tls, void *user_data)
{
  struct conn *c = user_data;
  (void)tls;
  c->head_deadline = now_ms() + HEAD_TIMEOUT_MS;
  return 0;
}

/* ------------------------------------------------------------------ connections */

static void pause_listener(int paused)
{
  if (paused != listener_paused && !stopping)
    watch(lfd, paused ? 0 : EPOLLIN, &tag_listener, EPOLL_CTL_MOD);
  listener_paused = paused;
}

static void conn_open(int fd, uint64_t now)
{
  rtw_ws_handshake_server_callbacks hcb = {.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_tls_callbacks tcb = {.version = RTW_TLS_CALLBACKS_VERSION};
  struct conn *c = conns;

  while (c->fd >= 0)
    c++;
  hcb.on_upgrade = on_upgrade;
  tcb.on_data = on_data;
  tcb.on_handshake = on_handshake;
  if (rtw_ws_handshake_server_new(&c->hs, &hcb, NULL, NULL, c) != 0 ||
      rtw_tls_new(&c->tls, tls_cfg, NULL, &tcb, NULL, c) != 0) {
    rtw_ws_handshake_server_free(c->hs);
    c->hs = NULL;
    close(fd);
    return;
  }
  rtw_tls_tick(c->tls, now); /* starts the handshake timer */
  c->fd = fd;
  c->events = EPOLLIN;
  c->head_deadline = UINT64_MAX;
  watch(fd, EPOLLIN, c, EPOLL_CTL_ADD);
  nconns++;
}

static void accept_all(void)
{
  int fd;

  while (nconns < MAX_CONNS) {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
      conn_open(fd, now_ms());
    else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
      break; /* out of descriptors or memory: wait until a connection closes */
    else if (errno != EINTR && errno != ECONNABORTED)
      return; /* EAGAIN: the backlog is empty */
  }
  pause_listener(1);
}

static void conn_close(struct conn *c)
{
  close(c->fd);
  rtw_tls_free(c->tls); /* wipes the keys */
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_sse_stream_free(c->sse);
  memset(c, 0, offsetof(struct conn, in));
  c->fd = -1;
  nconns--;
  pause_listener(0);
}

/* ------------------------------------------------------------------ the three pumps */

/* Ciphertext in: whatever the socket gave, as far as the upper layer takes it. */
static int feed(struct conn *c)
{
  size_t used;
  int rv;

  if ((c->in_len == 0 && !c->held) || (c->ws != NULL && !rtw_ws_want_read(c->ws)))
    return 0; /* nothing to give, or the session paused (its output is above high water) */
  rv = rtw_tls_recv(c->tls, c->in, c->in_len, &used);
  memmove(c->in, c->in + used, c->in_len - used);
  c->in_len -= used;
  c->held = rv == RTW_ERR_PAUSE;
  report(c, "recv", rv); /* a WebSocket protocol error has queued its close frame */
  return used > 0;
}

/* Plaintext out: the response head, then the session's frames or the stream's bytes, into
 * TLS records. rtw_tls_writev takes nothing before the handshake and stops at max_outbound. */
static int pump(struct conn *c)
{
  rtw_iovec iov[16];
  size_t cnt = 0, took = 0;
  int moved = 0;

  do {
    if (c->resp_len > 0) {
      iov[0].base = c->resp;
      iov[0].len = c->resp_len;
      cnt = 1;
    } else if (c->ws != NULL) {
      if (rtw_ws_send_pending_iov(c->ws, iov, 16, &cnt) != 0)
        cnt = 0;
    } else if (c->sse != NULL) {
      rtw_sse_stream_send_pending(c->sse, &iov[0].base, &iov[0].len);
      cnt = iov[0].len > 0;
    }
    if (cnt == 0 || rtw_tls_writev(c->tls, iov, cnt, &took) != 0 || took == 0)
      return moved;
    moved = 1;
    if (c->resp_len > 0) {
      c->resp += took;
      c->resp_len -= took;
      if (c->resp_len == 0 && !c->close_after_resp) {
        rtw_ws_handshake_server_free(c->hs); /* the 101 is in: the session takes over */
        c->hs = NULL;
      }
    } else if (c->ws != NULL)
      rtw_ws_send_consumed(c->ws, took);
    else
      rtw_sse_stream_send_consumed(c->sse, took);
  } while (1);
}

/* Ciphertext out: write until the socket would block. 1 if anything was written, -1 when
 * the connection broke. */
static int flush(struct conn *c)
{
  const void *p;
  size_t len;
  ssize_t n;
  int wrote = 0;

  while (rtw_tls_want_write(c->tls)) {
    if (rtw_tls_send_pending(c->tls, &p, &len) != 0 || len == 0)
      break;
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? wrote : -1;
    rtw_tls_send_consumed(c->tls, (size_t)n);
    wrote = 1;
  }
  return wrote;
}

/* The layer above has said everything (or the peer said close_notify): no more plaintext. */
static int upper_done(const struct conn *c)
{
  if (rtw_tls_state(c->tls) & RTW_TLS_STATE_PEER_CLOSED)
    return 1;
  if (c->resp_len > 0)
    return 0;
  if (c->close_after_resp)
    return 1;
  if (c->ws != NULL)
    return !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws);
  return c->sse != NULL && rtw_sse_stream_done(c->sse);
}

static void service(struct conn *c)
{
  uint32_t events = 0;
  int progress, wrote;

  do {
    progress = feed(c);
    progress |= pump(c);
    wrote = flush(c);
  } while (wrote >= 0 && (progress || wrote) && !(rtw_tls_state(c->tls) & RTW_TLS_STATE_FAILED));
  /* The layer above is done: close_notify (RFC 5246 7.2.1), flushed before the close. */
  if (wrote >= 0 && upper_done(c) && !(rtw_tls_state(c->tls) & RTW_TLS_STATE_CLOSE_SENT)) {
    rtw_tls_close(c->tls); /* does nothing before the handshake completed */
    wrote = flush(c);
  }
  /* Over: broken, failed (its alert, if any, was flushed above), or done and flushed. */
  if (wrote < 0 || (rtw_tls_state(c->tls) & RTW_TLS_STATE_FAILED) ||
      (upper_done(c) && !rtw_tls_want_write(c->tls))) {
    conn_close(c);
    return;
  }
  if (c->in_len < sizeof c->in && (c->ws == NULL || rtw_ws_want_read(c->ws)))
    events |= EPOLLIN;
  if (rtw_tls_want_write(c->tls))
    events |= EPOLLOUT;
  if (events != c->events)
    watch(c->fd, events, c, EPOLL_CTL_MOD);
  c->events = events;
}

/* EPOLLIN: one read per wakeup. */
static int conn_read(struct conn *c)
{
  ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);

  if (n == 0) { /* the peer closed: without close_notify, data may be cut short */
    int rv = rtw_tls_eof(c->tls);
    if (!upper_done(c)) /* a truncation after the last message is harmless: no log */
      report(c, "eof", rv);
    return -1;
  }
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
  c->in_len += (size_t)n;
  return 0;
}

/* ------------------------------------------------------------------------ timers */

static uint64_t deadline(const struct conn *c)
{
  uint64_t d = rtw_tls_next_deadline(c->tls), u = c->head_deadline;

  if (c->ws != NULL)
    u = rtw_ws_next_deadline(c->ws);
  else if (c->sse != NULL)
    u = rtw_sse_stream_next_deadline(c->sse);
  return u < d ? u : d;
}

static uint64_t run_timers(uint64_t now)
{
  uint64_t next = UINT64_MAX;
  size_t i;

  for (i = 0; i < MAX_CONNS; i++) {
    struct conn *c = &conns[i];
    int rv = 0;
    if (c->fd < 0)
      continue;
    if (deadline(c) <= now) {
      if (rtw_tls_next_deadline(c->tls) <= now)
        rv = rtw_tls_tick(c->tls, now); /* a stalled handshake fails here */
      if (c->ws != NULL && rv == 0)
        rv = rtw_ws_tick(c->ws, now);
      else if (c->sse != NULL && rv == 0)
        rv = rtw_sse_stream_tick(c->sse, now);
      else if (c->head_deadline <= now && rv == 0)
        c->close_after_resp = 1; /* the request head is too slow: close_notify, close */
      report(c, "tick", rv);
      service(c);
      if (c->fd < 0)
        continue;
    }
    if (deadline(c) < next)
      next = deadline(c);
  }
  return next;
}

static int wait_ms(uint64_t next, uint64_t now)
{
  if (next == UINT64_MAX)
    return -1;
  return next <= now ? 0 : next - now < INT_MAX ? (int)(next - now) : INT_MAX;
}

static void shutdown_begin(void)
{
  size_t i;

  if (stopping)
    return;
  close(lfd);
  stopping = 1;
  for (i = 0; i < MAX_CONNS; i++) {
    struct conn *c = &conns[i];
    if (c->ws != NULL)
      rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, "server shutdown", 15);
    else if (c->sse != NULL)
      rtw_sse_stream_end(c->sse); /* the last chunk: the client sees a clean end */
    else if (c->fd >= 0)
      c->close_after_resp = 1;
    if (c->fd >= 0)
      service(c);
  }
}

/* ------------------------------------------------------------------------ main */

static int listen_on(unsigned long port)
{
  struct sockaddr_in sa;
  socklen_t sa_len = sizeof sa;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
    perror("listen");
    exit(1);
  }
  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  return fd;
}

/* The configuration every connection shares: the certificate chain and key, ALPN http/1.1
 * (the default), session tickets (on by default), the handshake timeout. */
static int tls_setup(const char *cert, const char *key, unsigned long timeout_ms)
{
  rtw_tls_config_settings s = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  char text[256];
  int rv;

  s.handshake_timeout_ms = (uint32_t)timeout_ms; /* 0: 10 s */
  rv = rtw_tls_config_new(&tls_cfg, RTW_TLS_ROLE_SERVER, &s, NULL);
  if (rv == 0 && (rv = rtw_tls_config_add_cert_file(tls_cfg, cert, key)) < 0) {
    rtw_tls_config_error_text(tls_cfg, text, sizeof text);
    fprintf(stderr, "%s, %s: %s\n", cert, key, text);
    return -1;
  }
  if (rv < 0)
    fprintf(stderr, "TLS: %s\n", rtw_strerror(rv));
  return rv < 0 ? -1 : 0;
}

static int parse_args(int argc, char **argv, unsigned long *port, const char **cert,
                      const char **key, unsigned long *timeout_ms)
{
  int i;

  for (i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      *port = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--cert") == 0)
      *cert = argv[i + 1];
    else if (strcmp(argv[i], "--key") == 0)
      *key = argv[i + 1];
    else if (strcmp(argv[i], "--handshake-timeout-ms") == 0)
      *timeout_ms = strtoul(argv[i + 1], NULL, 10);
    else
      return -1;
  }
  return i == argc && *cert != NULL && *key != NULL && *port <= 65535 &&
                 *timeout_ms <= UINT32_MAX
             ? 0
             : -1;
}

int main(int argc, char **argv)
{
  struct epoll_event evs[64];
  const char *cert = NULL, *key = NULL;
  unsigned long port = 0, timeout_ms = 0;
  uint64_t next = UINT64_MAX, stop_at = 0;
  sigset_t set;
  int n, k, sfd;
  size_t i;

  if (parse_args(argc, argv, &port, &cert, &key, &timeout_ms) != 0) {
    fprintf(stderr, "usage: tls_server --cert FILE --key FILE [--port N] "
                    "[--handshake-timeout-ms N]\n");
    return 2;
  }
  if (tls_setup(cert, key, timeout_ms) != 0 || rtw_sse_history_new(&history, 1024, 0, NULL) != 0)
    return 1;
  for (i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  ep = epoll_create1(EPOLL_CLOEXEC);
  lfd = listen_on(port);
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  watch(lfd, EPOLLIN, &tag_listener, EPOLL_CTL_ADD);
  watch(sfd, EPOLLIN, &tag_signal, EPOLL_CTL_ADD);
  watch(0, EPOLLIN, &tag_stdin, EPOLL_CTL_ADD);
  signal(SIGTTIN, SIG_IGN);

  while (!stopping || (nconns > 0 && now_ms() < stop_at)) {
    n = epoll_wait(ep, evs, 64, wait_ms(next, now_ms()));
    for (k = 0; k < n; k++) {
      void *tag = evs[k].data.ptr;
      if (tag == &tag_listener)
        accept_all();
      else if (tag == &tag_stdin)
        read_stdin();
      else if (tag == &tag_signal) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
          continue;
        stop_at = now_ms() + (stopping ? 0 : SHUTDOWN_GRACE_MS);
        shutdown_begin();
      } else {
        struct conn *c = tag;
        if (c->fd < 0)
          continue;
        if ((evs[k].events & (EPOLLERR | EPOLLHUP)) ||
            ((evs[k].events & EPOLLIN) && conn_read(c) != 0))
          conn_close(c);
        else
          service(c);
      }
    }
    next = run_timers(now_ms());
    if (stopping && stop_at < next)
      next = stop_at;
  }
  for (i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0)
      conn_close(&conns[i]);
  rtw_sse_history_free(history);
  rtw_tls_config_free(tls_cfg);
  return 0;
}
