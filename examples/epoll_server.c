/* SPDX-License-Identifier: MIT */
/* epoll_server: the server a new rtweb user writes, on one Linux epoll loop.
 *
 *   ws://127.0.0.1:PORT/ws          a WebSocket echo (RFC 6455), with backpressure and keepalive
 *   http://127.0.0.1:PORT/events    Server-Sent Events (WHATWG HTML 9.2), resumable with
 *                                   Last-Event-ID; each line read on stdin is one event
 *
 *   epoll_server [PORT] [--keepalive-ms N] [--pong-timeout-ms N] [--send-timeout-ms N]
 *                [--heartbeat-ms N] [--history N] [--max-conns N]
 *
 * PORT 0 (or none) picks a free port; the first line printed is "listening on 127.0.0.1:PORT".
 * SIGINT or SIGTERM: WebSocket clients get a close 1001, event streams end, the process exits.
 * docs/embedding.md walks through this file step by step; this file is its source of truth.
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rtweb/rtweb.h>

/* Memory per WebSocket is bounded by these: a message is assembled up to MAX_MESSAGE, and the
 * outbound queue holds at most HIGH_WATER plus one echo of the largest message. */
#define MAX_MESSAGE (1u << 20)
#define HIGH_WATER (256u * 1024u)
#define LOW_WATER (64u * 1024u)
#define HEAD_TIMEOUT_MS 10000u /* a request head must arrive within this */
#define SHUTDOWN_GRACE_MS 2000u
#define SPARE_FDS 8u /* stdio, epoll, listener, signalfd, and a margin */

static struct {
  unsigned long keepalive_ms, pong_timeout_ms, send_timeout_ms, heartbeat_ms;
  unsigned long history, max_conns;
} opt = {30000, 10000, 30000, 15000, 1024, 1024};

struct conn {
  int fd;                      /* -1: a free slot */
  uint32_t events;             /* what epoll watches for now */
  rtw_ws_handshake_server *hs; /* the request head, until the response is written */
  const char *resp;            /* response bytes still to write (into hs, or a constant) */
  size_t resp_len;
  int close_after_resp;        /* an error response: close once it is out */
  uint64_t head_deadline;
  rtw_ws *ws;                  /* after the 101: a WebSocket echo */
  rtw_sse_stream *sse;         /* or an event stream */
  size_t in_len;               /* bytes in `in` the session has not taken (input paused) */
  char in[16384];
};

static struct conn *conns; /* opt.max_conns slots */
static unsigned long nconns;
static int ep, lfd, listener_paused, stopping;
static rtw_sse_history *history;
static unsigned long next_id = 1;
static char tag_listener, tag_signal, tag_stdin; /* epoll data of the fds that are not conns */

static void service(struct conn *c);

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Fails only for stdin when it is a file or /dev/null: nothing is published then. */
static void watch(int fd, uint32_t events, void *ptr, int op)
{
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = ptr;
  (void)epoll_ctl(ep, op, fd, &ev);
}

static void report(const struct conn *c, const char *what, int rv)
{
  if (rtw_is_fatal(rv))
    fprintf(stderr, "fd %d: %s: %s\n", c->fd, what, rtw_err_name(rv));
}

/* ------------------------------------------------------------------------ accept */

/* Accepting stops at the connection limit and at EMFILE, and epoll stops watching the
 * listener: watched, it would wake the loop forever for a connection it cannot take. The
 * kernel's backlog holds the waiting clients; conn_close() resumes. */
static void pause_listener(int paused)
{
  if (paused != listener_paused && !stopping)
    watch(lfd, paused ? 0 : EPOLLIN, &tag_listener, EPOLL_CTL_MOD);
  listener_paused = paused;
}

static int on_upgrade(rtw_ws_handshake_server *hs, void *user_data)
{
  const char *path;
  size_t len;
  (void)user_data;
  rtw_ws_handshake_server_path(hs, &path, &len);
  return len == 3 && memcmp(path, "/ws", 3) == 0 ? 0 : 404;
}

static void conn_open(int fd)
{
  rtw_ws_handshake_server_callbacks cb = {.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  struct conn *c = conns;

  while (c->fd >= 0)
    c++; /* there is a free slot: nconns < opt.max_conns */
  cb.on_upgrade = on_upgrade;
  if (rtw_ws_handshake_server_new(&c->hs, &cb, NULL, NULL, c) != 0) {
    close(fd);
    return;
  }
  c->fd = fd;
  c->events = EPOLLIN;
  c->head_deadline = now_ms() + HEAD_TIMEOUT_MS;
  watch(fd, EPOLLIN, c, EPOLL_CTL_ADD);
  nconns++;
}

static void accept_all(void)
{
  int fd;

  while (nconns < opt.max_conns) {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
      conn_open(fd);
    else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
      break; /* out of descriptors or memory: wait until a connection closes */
    else if (errno != EINTR && errno != ECONNABORTED)
      return; /* EAGAIN: the backlog is empty */
  }
  pause_listener(1);
}

static void conn_close(struct conn *c)
{
  close(c->fd); /* also removes it from the epoll set */
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_sse_stream_free(c->sse);
  memset(c, 0, offsetof(struct conn, in));
  c->fd = -1;
  nconns--;
  pause_listener(0);
}

/* ------------------------------------------------------------------ the WebSocket echo */

/* Whole messages, text already UTF-8. Above high water the session stops taking input by
 * itself, and max_outbound keeps room for this one echo: there is no error to handle here.
 * After our close (shutdown) queueing returns RTW_ERR_WS_CLOSED, which the session ignores
 * when a callback returns it. */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

static int start_ws(struct conn *c)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};

  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_message_size = MAX_MESSAGE;   /* larger ones are refused with close 1009 */
  st.outbound_high_water = HIGH_WATER; /* stop reading this client above it... */
  st.outbound_low_water = LOW_WATER;   /* ...and read again once its writes drain below */
  st.max_outbound = HIGH_WATER + MAX_MESSAGE + RTW_WS_MAX_HEADER + 256; /* ws.h's recipe */
  st.keepalive_ms = (uint32_t)opt.keepalive_ms; /* ping a silent client */
  st.pong_timeout_ms = (uint32_t)opt.pong_timeout_ms;
  st.send_timeout_ms = (uint32_t)opt.send_timeout_ms; /* drop one that reads nothing */
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0)
    return -1;
  rtw_ws_tick(c->ws, now_ms()); /* timers arm from the first tick */
  return 0;
}

/* ------------------------------------------------------------------ the event stream */

/* The client's Last-Event-ID is no longer (or never was) in the history: tell the page to
 * reload its state rather than skip what it missed without a word. */
static int on_gap(rtw_sse_stream *s, uint32_t reason, void *user_data)
{
  rtw_sse_event reset = {0};
  (void)reason, (void)user_data;
  reset.type = "reset";
  reset.type_len = 5;
  return rtw_sse_stream_send(s, &reset);
}

static int start_sse(struct conn *c)
{
  rtw_sse_stream_callbacks cb = {.version = RTW_SSE_STREAM_CALLBACKS_VERSION};
  rtw_sse_stream_settings st = {.version = RTW_SSE_STREAM_SETTINGS_VERSION};
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(c->hs);
  int rv;

  cb.on_gap = on_gap;
  st.heartbeat_ms = (uint32_t)opt.heartbeat_ms;       /* proxies drop streams that look idle */
  st.send_timeout_ms = (uint32_t)opt.send_timeout_ms; /* writes stalled that long: drop */
  rv = rtw_sse_stream_new(&c->sse, req, history, &cb, &st, NULL, c);
  if (rv == 0)
    rtw_sse_stream_tick(c->sse, now_ms()); /* timers arm from the first tick */
  return rv;
}

/* A line from stdin becomes an event with the next id: serialised once, kept in the history,
 * and every stream pulls it from there while its output is under budget. */
static void publish(const char *line, size_t len)
{
  char buf[8192], id[24];
  size_t n;
  unsigned long i;
  int rv;
  rtw_sse_event ev = {0};

  ev.id = id;
  ev.id_len = (size_t)sprintf(id, "%lu", next_id);
  ev.data = line;
  ev.data_len = len;
  rv = rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0);
  if (rv == 0)
    rv = rtw_sse_history_push(history, ev.id, ev.id_len, buf, n, NULL);
  if (rv != 0) {
    fprintf(stderr, "not published: %s\n", rtw_strerror(rv));
    return;
  }
  next_id++;
  for (i = 0; i < opt.max_conns; i++)
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
      watch(0, 0, &tag_stdin, EPOLL_CTL_DEL); /* end of input: stop publishing */
    return;
  }
  len += (size_t)n;
  while ((nl = memchr(line, '\n', len)) != NULL || len == sizeof line) {
    size_t end = nl != NULL ? (size_t)(nl - line) : len; /* a longer line: in pieces */
    publish(line, end);
    len -= end + (nl != NULL);
    memmove(line, line + end + (nl != NULL), len);
  }
}

/* ------------------------------------------------------------------ route the request */

/* A canned answer for what this server does not serve; the connection closes after it. */
static int respond(struct conn *c, const char *resp, size_t len)
{
  c->resp = resp;
  c->resp_len = len;
  c->close_after_resp = 1;
  return 0;
}

static int route(struct conn *c, int rv)
{
  static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
  static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n";
  const void *resp;
  const char *path;
  size_t len;

  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) { /* not an upgrade: our own routes */
    rtw_ws_handshake_server_path(c->hs, &path, &len);
    if (len != 7 || memcmp(path, "/events", 7) != 0)
      return respond(c, not_found, sizeof not_found - 1);
    rv = start_sse(c);
    report(c, "event stream", rv);
    if (rv != 0)
      return rv == RTW_ERR_NOMEM ? -1 : respond(c, bad, sizeof bad - 1);
    rtw_ws_handshake_server_free(c->hs); /* the stream took what it needs from the request */
    c->hs = NULL;
    return 0;
  }
  /* The 101, or the error response the handshake built (400, 404, 426, 431). */
  if (rtw_ws_handshake_server_response(c->hs, &resp, &len) != 0)
    return -1;
  if (rv != RTW_WS_HANDSHAKE_DONE)
    return respond(c, resp, len);
  c->resp = resp;
  c->resp_len = len;
  return start_ws(c);
}

/* --------------------------------------------------------------------- read and write */

static void consume_input(struct conn *c, size_t n)
{
  memmove(c->in, c->in + n, c->in_len - n);
  c->in_len -= n;
}

/* EPOLLIN: one read per wakeup (level-triggered: the rest waits its turn with the others). */
static int conn_read(struct conn *c)
{
  size_t used;
  ssize_t n;
  int rv;

  if (c->in_len == sizeof c->in)
    return 0; /* the session paused with a full buffer: read later */
  n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    return -1; /* the peer closed, or the connection broke */
  if (n < 0)
    return 0;
  c->in_len += (size_t)n;
  if (c->sse != NULL || c->close_after_resp)
    c->in_len = 0; /* an event-stream client sends nothing more that matters */
  if (c->hs == NULL || c->ws != NULL || c->sse != NULL || c->resp != NULL)
    return 0; /* service() feeds the session */
  rv = rtw_ws_handshake_server_recv(c->hs, c->in, c->in_len, &used);
  consume_input(c, used); /* what follows the head is already WebSocket frames */
  return rv == RTW_WS_HANDSHAKE_INCOMPLETE ? 0 : route(c, rv);
}

/* The next bytes to write. A failed stream still hands out its last bytes (a closing
 * comment, the last chunk); a failed session has none. */
static void pending(struct conn *c, const void **p, size_t *len)
{
  *len = 0;
  if (c->resp_len > 0) {
    *p = c->resp;
    *len = c->resp_len;
  } else if (c->ws != NULL && rtw_ws_send_pending(c->ws, p, len) != 0)
    *len = 0;
  else if (c->sse != NULL)
    rtw_sse_stream_send_pending(c->sse, p, len);
}

static void consumed(struct conn *c, size_t n)
{
  if (c->resp_len > 0) {
    c->resp += n;
    c->resp_len -= n;
    if (c->resp_len == 0 && !c->close_after_resp) {
      rtw_ws_handshake_server_free(c->hs); /* the 101 is out: the session takes over */
      c->hs = NULL;
    }
  } else if (c->ws != NULL)
    rtw_ws_send_consumed(c->ws, n);
  else
    rtw_sse_stream_send_consumed(c->sse, n);
}

/* Write until the socket would block. Returns 1 if anything was written, 0 if not, -1 when
 * the connection broke. */
static int flush(struct conn *c)
{
  const void *p;
  size_t len;
  ssize_t n;
  int wrote = 0;

  for (pending(c, &p, &len); len > 0; pending(c, &p, &len)) {
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? wrote : -1;
    consumed(c, (size_t)n); /* partial writes are normal */
    wrote = 1;
  }
  return wrote;
}

static int conn_over(const struct conn *c)
{
  if (c->resp_len > 0)
    return 0;
  if (c->close_after_resp)
    return 1;
  if (c->ws != NULL) /* closing handshake done, or the session failed */
    return !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws);
  if (c->sse != NULL) /* ended and flushed, or failed (slow consumer, send timeout) */
    return rtw_sse_stream_done(c->sse);
  return 0;
}

/* After any event on a connection: feed the input the session has not taken, write what it
 * queued, and repeat while writing lets it take more (it paused above high water and
 * resumes below low water). Then watch for what it waits for. */
static void service(struct conn *c)
{
  uint32_t events = 0;
  size_t used;
  int rv, wrote;

  do {
    if (c->ws != NULL && c->in_len > 0 && rtw_ws_want_read(c->ws)) {
      rv = rtw_ws_recv(c->ws, c->in, c->in_len, &used); /* errors queue their close frame */
      consume_input(c, used);
      report(c, "recv", rv);
    }
    wrote = flush(c);
  } while (wrote > 0 && c->ws != NULL && c->in_len > 0 && rtw_ws_want_read(c->ws));
  if (wrote < 0 || conn_over(c)) {
    conn_close(c);
    return;
  }
  /* Level-triggered, so EPOLLIN must be off while the session does not want input: epoll
   * would otherwise wake us for bytes we refuse to read. */
  if (c->ws != NULL ? rtw_ws_want_read(c->ws) && c->in_len < sizeof c->in
                    : !c->close_after_resp)
    events |= EPOLLIN;
  if (c->resp_len > 0 || rtw_ws_want_write(c->ws) || rtw_sse_stream_want_write(c->sse))
    events |= EPOLLOUT;
  if (events != c->events)
    watch(c->fd, events, c, EPOLL_CTL_MOD);
  c->events = events;
}

/* ------------------------------------------------------------------------ timers */

static uint64_t deadline(const struct conn *c)
{
  if (c->ws != NULL)
    return rtw_ws_next_deadline(c->ws);
  if (c->sse != NULL)
    return rtw_sse_stream_next_deadline(c->sse);
  return c->head_deadline;
}

/* Tick what is due and return the next deadline. A scan is fine for a thousand connections;
 * a larger server keeps the deadlines in a heap or a timer wheel. */
static uint64_t run_timers(uint64_t now)
{
  uint64_t next = UINT64_MAX;
  unsigned long i;

  for (i = 0; i < opt.max_conns; i++) {
    struct conn *c = &conns[i];
    if (c->fd < 0)
      continue;
    if (deadline(c) <= now) {
      if (c->ws != NULL)
        report(c, "tick", rtw_ws_tick(c->ws, now)); /* ping, or a pong/send timeout */
      else if (c->sse != NULL)
        report(c, "tick", rtw_sse_stream_tick(c->sse, now)); /* heartbeat, send timeout */
      else {
        conn_close(c); /* the request head is too slow */
        continue;
      }
      service(c);
      if (c->fd < 0)
        continue;
    }
    if (deadline(c) < next)
      next = deadline(c);
  }
  return next;
}

/* epoll_wait()'s timeout until `next`; UINT64_MAX means no timer is armed. */
static int wait_ms(uint64_t next, uint64_t now)
{
  if (next == UINT64_MAX)
    return -1;
  return next <= now ? 0 : next - now < INT_MAX ? (int)(next - now) : INT_MAX;
}

/* ------------------------------------------------------------------------ shutdown */

/* Stop accepting, say goodbye on every connection, and let the loop flush for a while. */
static void shutdown_begin(void)
{
  unsigned long i;

  if (stopping)
    return;
  close(lfd);
  stopping = 1;
  for (i = 0; i < opt.max_conns; i++) {
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

static int signals_fd(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL); /* delivered through the fd, in the loop */
  return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int parse_args(int argc, char **argv, unsigned long *port)
{
  static const char *const names[] = {"--keepalive-ms", "--pong-timeout-ms",
                                      "--send-timeout-ms", "--heartbeat-ms", "--history",
                                      "--max-conns"};
  unsigned long *values[] = {&opt.keepalive_ms, &opt.pong_timeout_ms, &opt.send_timeout_ms,
                             &opt.heartbeat_ms, &opt.history, &opt.max_conns};
  int i, k;

  for (i = 1; i < argc; i++) {
    for (k = 0; k < 6 && strcmp(argv[i], names[k]) != 0; k++)
      ;
    if (k < 6 && i + 1 < argc)
      *values[k] = strtoul(argv[++i], NULL, 10);
    else if (argv[i][0] != '-')
      *port = strtoul(argv[i], NULL, 10);
    else
      return -1;
  }
  return *port > 65535 || opt.max_conns == 0 || opt.keepalive_ms > UINT32_MAX ||
                 opt.pong_timeout_ms > UINT32_MAX || opt.send_timeout_ms > UINT32_MAX ||
                 opt.heartbeat_ms > UINT32_MAX
             ? -1
             : 0;
}

int main(int argc, char **argv)
{
  struct epoll_event evs[64];
  struct rlimit rl;
  unsigned long port = 0, i;
  uint64_t now, next = UINT64_MAX, stop_at = 0;
  int n, k, sfd;

  if (parse_args(argc, argv, &port) != 0) {
    fprintf(stderr, "usage: epoll_server [PORT] [--keepalive-ms N] [--pong-timeout-ms N]\n"
                    "  [--send-timeout-ms N] [--heartbeat-ms N] [--history N] [--max-conns N]\n");
    return 2;
  }
  /* One descriptor per connection: stay within RLIMIT_NOFILE, so EMFILE is the exception. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      opt.max_conns + SPARE_FDS > rl.rlim_cur)
    opt.max_conns = rl.rlim_cur > SPARE_FDS ? (unsigned long)(rl.rlim_cur - SPARE_FDS) : 1;
  conns = calloc(opt.max_conns, sizeof *conns);
  if (conns == NULL || rtw_sse_history_new(&history, opt.history, 0, NULL) != 0)
    return 1;
  for (i = 0; i < opt.max_conns; i++)
    conns[i].fd = -1;
  ep = epoll_create1(EPOLL_CLOEXEC);
  lfd = listen_on(port);
  sfd = signals_fd();
  watch(lfd, EPOLLIN, &tag_listener, EPOLL_CTL_ADD);
  watch(sfd, EPOLLIN, &tag_signal, EPOLL_CTL_ADD);
  watch(0, EPOLLIN, &tag_stdin, EPOLL_CTL_ADD); /* lines on stdin are published */
  signal(SIGTTIN, SIG_IGN); /* run in the background, reading the terminal fails: no stop */

  while (!stopping || (nconns > 0 && now_ms() < stop_at)) {
    now = now_ms();
    n = epoll_wait(ep, evs, 64, wait_ms(next, now));
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
        stop_at = now_ms() + (stopping ? 0 : SHUTDOWN_GRACE_MS); /* a second one: now */
        shutdown_begin();
      } else {
        struct conn *c = tag;
        if (c->fd < 0)
          continue; /* closed by an earlier event of this round */
        if ((evs[k].events & (EPOLLERR | EPOLLHUP)) ||
            ((evs[k].events & EPOLLIN) && conn_read(c) != 0))
          conn_close(c); /* the peer is gone: nothing written now can arrive */
        else
          service(c);
      }
    }
    next = run_timers(now_ms());
    if (stopping && stop_at < next)
      next = stop_at;
  }
  for (i = 0; i < opt.max_conns; i++)
    if (conns[i].fd >= 0)
      conn_close(&conns[i]);
  rtw_sse_history_free(history);
  free(conns);
  return 0;
}
