/* SPDX-License-Identifier: MIT */
/* WebSocket echo server on rtweb, over TLS (rtw_tls) or plain TCP: the rtweb side of the TLS
 * benchmark (bench/run_tls.sh; docs/performance.md, "TLS"). */

/*
 *   tls_echo [--host 127.0.0.1] [--port 0] [--tls-cert FILE --tls-key FILE]
 *
 * With --tls-cert/--tls-key every connection is a server rtw_tls (session tickets on, ALPN
 * http/1.1, the library's defaults) carrying the WebSocket opening handshake
 * (rtw_ws_handshake_server_*) and then an rtw_ws session; without them the same server runs
 * over plain TCP, so the cost of TLS is measured on one code path. Every message is sent
 * back whole with its type (RTW_WS_FLAG_WHOLE_MESSAGES, rtw_ws_queue_message, copied), like
 * `rtwcat serve` and the node `ws` servers of the benchmark.
 *
 * The glue is the one docs/tls.md describes: ciphertext read from the socket goes to
 * rtw_tls_recv(), whose on_data feeds the handshake parser, then rtw_ws_recv(); the
 * session's output moves into TLS with rtw_ws_send_pending_iov() + rtw_tls_writev() +
 * rtw_ws_send_consumed(), and TLS's ciphertext goes to the socket.
 *
 * Backpressure: the session's input gate (outbound_high_water, 1 MiB) pauses rtw_ws_recv(),
 * rtw_tls_recv() returns RTW_ERR_PAUSE keeping the decrypted rest, and this server keeps the
 * ciphertext not consumed (at most one read, 256 KiB, per connection) and stops reading the
 * socket until the output drained. Nothing grows without bound.
 *
 * One thread, level-triggered epoll, non-blocking sockets with TCP_NODELAY. No timers: the
 * TLS handshake timeout and WebSocket keepalive are not run (a benchmark peer never
 * stalls). Once it listens it prints `listening on http://HOST:PORT/` (https with TLS) and
 * flushes stdout. SIGINT/SIGTERM end it with status 0. Memory per connection: this struct,
 * the rtw_ws session (and, until the upgrade, the handshake parser), with TLS the rtw_tls
 * object and mbedTLS's state.
 */

#define _GNU_SOURCE /* accept4 */

#include <rtweb/rtweb.h>
#include <rtweb/tls.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_BUF (256u * 1024u)
#define MAX_EVENTS 256
#define MAX_IOV 16
#define MAX_MESSAGE (16u * 1024u * 1024u)

typedef struct conn {
  int fd;
  int events;                  /* registered epoll events */
  int failed;                  /* close once the output is flushed (or at once) */
  rtw_tls *tls;                /* NULL over plain TCP */
  rtw_ws_handshake_server *hs; /* until the upgrade */
  rtw_ws *ws;                  /* after it */
  int paused;                  /* input stopped at the session's gate */
  unsigned char *in;           /* input not consumed yet (a pause), in_len bytes */
  size_t in_len;
} conn;

static volatile sig_atomic_t stop;
static rtw_tls_config *tls_cfg;
static rtw_ws_settings ws_set;
static rtw_ws_callbacks ws_cb;
static unsigned char rbuf[READ_BUF];
static int ep;

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
}

static void usage(void)
{
  fprintf(stderr, "usage: tls_echo [--host 127.0.0.1] [--port PORT] "
                  "[--tls-cert FILE --tls-key FILE]\n");
  exit(2);
}

static void close_conn(conn *c)
{
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_tls_free(c->tls);
  free(c->in);
  free(c);
}

static int set_events(conn *c, int events)
{
  struct epoll_event ev;

  if (c->events == events)
    return 0;
  memset(&ev, 0, sizeof ev);
  ev.events = (uint32_t)events;
  ev.data.ptr = c;
  c->events = events;
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* ---------------------------------------------------------------- the session */

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  /* Fits by the backpressure recipe of ws.h (max_outbound, set in main()). */
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

/* Write bytes straight to the socket (plain TCP). Returns the bytes written, 0 when the
 * socket is full, -1 on error. */
static long sock_writev(conn *c, const rtw_iovec *v, size_t cnt)
{
  struct iovec iov[MAX_IOV];
  size_t i;

  for (i = 0; i < cnt; i++) {
    iov[i].iov_base = (void *)(uintptr_t)v[i].base;
    iov[i].iov_len = v[i].len;
  }
  for (;;) {
    ssize_t n = writev(c->fd, iov, (int)cnt);

    if (n >= 0)
      return (long)n;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

/* The upgrade completed (hs answered RTW_WS_HANDSHAKE_DONE) or failed (rc < 0): queue the
 * response for the client. Returns 0, or -1 when the connection must be closed. */
static int send_response(conn *c, int rc)
{
  const void *resp;
  size_t len, took = 0;
  rtw_iovec v;

  if (rtw_ws_handshake_server_response(c->hs, &resp, &len) != 0 || len == 0)
    return -1;
  v.base = resp;
  v.len = len;
  /* The first bytes on an idle connection: a write of a few hundred bytes never comes back
   * short in practice; if it did, this benchmark server gives the connection up. */
  if (c->tls != NULL) {
    if (rtw_tls_write(c->tls, resp, len, &took) != 0 || took != len)
      return -1;
  } else if (sock_writev(c, &v, 1) != (long)len) {
    return -1;
  }
  if (rc != RTW_WS_HANDSHAKE_DONE)
    return -1;
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &ws_cb, &ws_set, NULL, c) != 0)
    return -1;
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  return 0;
}

/* Application bytes (plaintext, or what a plain socket read): the upgrade request, then
 * WebSocket frames. The shape of rtw_tls_callbacks::on_data. */
static int feed(conn *c, const unsigned char *data, size_t len, size_t *used)
{
  *used = 0;
  if (c->hs != NULL) {
    size_t n = 0;
    int rc = rtw_ws_handshake_server_recv(c->hs, data, len, &n);

    *used = n;
    if (rc == RTW_WS_HANDSHAKE_INCOMPLETE)
      return 0;
    if (rc == RTW_WS_HANDSHAKE_PLAIN_REQUEST || send_response(c, rc) != 0) {
      c->failed = 1;
      return RTW_ERR_CALLBACK_FAILURE;
    }
    data += n;
    len -= n;
    if (len == 0)
      return 0;
  }
  {
    size_t n = 0;
    int rc = rtw_ws_recv(c->ws, data, len, &n);

    *used += n;
    return rc;
  }
}

static int tls_on_data(rtw_tls *tls, const void *data, size_t len, size_t *used,
                       void *user_data)
{
  (void)tls;
  return feed(user_data, data, len, used);
}

/* ---------------------------------------------------------------- output */

/* Move the session's output into TLS (RFC 8446 / 5246 records, packed by rtw_tls_writev)
 * and TLS's ciphertext, or the session's frames, to the socket. Returns 1 when everything
 * was written, 0 when the socket is full, -1 on error. */
static int flush(conn *c)
{
  for (;;) {
    rtw_iovec v[MAX_IOV];
    size_t cnt = 0, took = 0;
    int progress = 0;

    if (c->ws != NULL && rtw_ws_want_write(c->ws)) {
      if (rtw_ws_send_pending_iov(c->ws, v, MAX_IOV, &cnt) != 0)
        return -1;
    }
    if (c->tls == NULL) {
      long n;

      if (cnt == 0)
        return 1;
      n = sock_writev(c, v, cnt);
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      if (rtw_ws_send_consumed(c->ws, (size_t)n) != 0)
        return -1;
      continue;
    }
    if (cnt > 0) {
      if (rtw_tls_writev(c->tls, v, cnt, &took) != 0)
        return -1;
      if (took > 0) {
        if (rtw_ws_send_consumed(c->ws, took) != 0)
          return -1;
        progress = 1;
      }
    }
    while (rtw_tls_want_write(c->tls)) {
      const void *p;
      size_t len;
      ssize_t n;

      if (rtw_tls_send_pending(c->tls, &p, &len) != 0)
        return -1;
      if (len == 0)
        break;
      n = send(c->fd, p, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
      }
      if (rtw_tls_send_consumed(c->tls, (size_t)n) != 0)
        return -1;
      progress = 1;
    }
    if (!progress)
      return 1;
  }
}

/* ---------------------------------------------------------------- input */

/* Give bytes to TLS (or, plain, to feed()). Returns 0 when all were consumed, 1 when input
 * paused (the rest was kept in c->in), -1 when the connection must close. */
static int input(conn *c, const unsigned char *p, size_t n)
{
  size_t used = 0;
  int rc;

  if (c->tls != NULL)
    rc = rtw_tls_recv(c->tls, p, n, &used);
  else
    rc = feed(c, p, n, &used);
  if (rc == 0 && used == n)
    return 0;
  if (rc != 0 && rc != RTW_ERR_PAUSE)
    return -1;
  /* Paused: keep what was not consumed (at most one read); with TLS the decrypted rest
   * waits in the TLS object. */
  c->paused = 1;
  if (used < n) {
    unsigned char *keep = malloc(n - used);

    if (keep == NULL)
      return -1;
    memcpy(keep, p + used, n - used);
    c->in = keep;
    c->in_len = n - used;
  }
  return 1;
}

/* Resume after a pause once the session takes input again. Returns 0 when the input
 * was all consumed, 1 while still paused, -1 when the connection must close. */
static int resume(conn *c)
{
  unsigned char *keep = c->in;
  size_t len = c->in_len;
  int rc;

  if (c->ws == NULL || !rtw_ws_want_read(c->ws))
    return 1;
  c->in = NULL;
  c->in_len = 0;
  c->paused = 0;
  /* TLS: rtw_tls_recv() delivers the kept plaintext first, also with no input. */
  rc = input(c, keep != NULL ? keep : (const unsigned char *)"", len);
  free(keep);
  return rc;
}

/* The end of a connection that went well: TLS close_notify (RFC 5246 7.2.1), flushed if
 * the socket takes it. Returns -1 (close). */
static int finish(conn *c)
{
  if (c->tls != NULL && rtw_tls_close(c->tls) == 0)
    (void)flush(c);
  return -1;
}

/* The connection is readable or writable. Returns -1 when it must be closed. */
static int service(conn *c)
{
  for (;;) {
    int wrote;
    ssize_t n;

    if (c->paused && resume(c) < 0)
      return -1;
    wrote = flush(c);
    if (wrote < 0)
      return -1;
    if (c->failed)
      return wrote == 1 ? -1 : set_events(c, EPOLLOUT);
    if (c->ws != NULL && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws))
      return finish(c); /* the closing handshake is over */
    if (c->paused)
      return set_events(c, EPOLLOUT); /* read nothing until the output drains */
    n = recv(c->fd, rbuf, READ_BUF, 0);
    if (n == 0)
      return -1;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return set_events(c, EPOLLIN | (wrote == 0 ? EPOLLOUT : 0));
      return -1;
    }
    if (input(c, rbuf, (size_t)n) < 0) {
      /* A fatal TLS error queued an alert; a failed upgrade queued its response. */
      c->failed = 1;
      return flush(c) == 0 ? set_events(c, EPOLLOUT) : -1;
    }
    if ((size_t)n < READ_BUF && !c->paused) {
      /* Probably drained: answer and wait for the next event. */
      wrote = flush(c);
      if (wrote < 0)
        return -1;
      if (c->ws != NULL && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws))
        return finish(c);
      return set_events(c, EPOLLIN | (wrote == 0 ? EPOLLOUT : 0));
    }
  }
}

/* ---------------------------------------------------------------- main */

static conn *accept_conn(int fd)
{
  rtw_tls_callbacks tcb = {RTW_TLS_CALLBACKS_VERSION};
  conn *c = calloc(1, sizeof *c);
  int one = 1;

  if (c == NULL)
    return NULL;
  c->fd = fd;
  c->events = EPOLLIN;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  tcb.on_data = tls_on_data;
  if (rtw_ws_handshake_server_new(&c->hs, NULL, NULL, NULL, c) != 0 ||
      (tls_cfg != NULL && rtw_tls_new(&c->tls, tls_cfg, NULL, &tcb, NULL, c) != 0)) {
    rtw_ws_handshake_server_free(c->hs);
    free(c);
    return NULL;
  }
  return c;
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
  long port = 0;
  struct sockaddr_in sa;
  socklen_t salen = sizeof sa;
  struct epoll_event ev, events[MAX_EVENTS];
  struct sigaction act;
  int lfd, one = 1, i, rc;
  char addr[INET_ADDRSTRLEN];

  for (i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "--host") == 0) {
      host = argv[++i];
    } else if (strcmp(argv[i], "--port") == 0) {
      char *end;
      port = strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535)
        usage();
    } else if (strcmp(argv[i], "--tls-cert") == 0) {
      cert = argv[++i];
    } else if (strcmp(argv[i], "--tls-key") == 0) {
      key = argv[++i];
    } else {
      usage();
    }
  }
  if ((cert == NULL) != (key == NULL))
    usage();

  if (cert != NULL) {
    if ((rc = rtw_tls_config_new(&tls_cfg, RTW_TLS_ROLE_SERVER, NULL, NULL)) != 0) {
      fprintf(stderr, "tls_echo: rtw_tls_config_new: %s\n", rtw_err_name(rc));
      return 1;
    }
    if ((rc = rtw_tls_config_add_cert_file(tls_cfg, cert, key)) < 0) {
      char why[256];

      rtw_tls_config_error_text(tls_cfg, why, sizeof why);
      fprintf(stderr, "tls_echo: %s: %s (%s)\n", cert, rtw_err_name(rc), why);
      return 1;
    }
  }
  ws_cb.version = RTW_WS_CALLBACKS_VERSION;
  ws_cb.on_message = on_message;
  ws_set.version = RTW_WS_SETTINGS_VERSION;
  ws_set.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  ws_set.max_message_size = MAX_MESSAGE;
  ws_set.max_frame_size = MAX_MESSAGE;
  /* ws.h's backpressure recipe: an echo queued from on_message always fits. */
  ws_set.max_outbound = RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER + MAX_MESSAGE + RTW_WS_MAX_HEADER +
                        256u;

  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal;
  sigaction(SIGINT, &act, NULL);
  sigaction(SIGTERM, &act, NULL);
  signal(SIGPIPE, SIG_IGN);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "tls_echo: --host must be an IPv4 address\n");
    return 2;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4096) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
    perror("tls_echo: listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("tls_echo: epoll_create1");
    return 1;
  }
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.ptr = NULL; /* the listener */
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
    perror("tls_echo: epoll_ctl");
    return 1;
  }
  inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
  fprintf(stderr, "tls_echo: %s%s\n", cert != NULL ? "TLS, " : "plain TCP",
          cert != NULL ? rtw_tls_backend_version() : "");
  printf("listening on http%s://%s:%u/\n", cert != NULL ? "s" : "", addr,
         (unsigned)ntohs(sa.sin_port));
  fflush(stdout);

  while (!stop) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("tls_echo: epoll_wait");
      return 1;
    }
    for (i = 0; i < n; i++) {
      conn *c = events[i].data.ptr;

      if (c == NULL) {
        int fd;

        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = accept_conn(fd);
          memset(&ev, 0, sizeof ev);
          ev.events = EPOLLIN;
          ev.data.ptr = c;
          if (c == NULL)
            close(fd);
          else if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            close_conn(c);
        }
        continue;
      }
      if (service(c) != 0)
        close_conn(c);
    }
  }
  rtw_tls_config_free(tls_cfg);
  return 0;
}
