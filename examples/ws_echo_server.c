/* SPDX-License-Identifier: MIT */
/* ws_echo_server: a WebSocket echo server on poll(2), the smallest complete rtweb host.
 *
 *   ws_echo_server [PORT]      (binds 127.0.0.1; port 0 or none picks a free port)
 *
 * rtweb does no I/O, so this file is the whole "host": it owns the sockets, the loop and the
 * clock. Per connection: the bytes read go first to the opening handshake
 * (rtw_ws_handshake_server, RFC 6455 4.2), then to the session (rtw_ws). Every message is
 * queued back with its type. What the engines want written is sent without blocking, and
 * partial writes are expected. The session's timers (keepalive ping, close timeout) are driven
 * with rtw_ws_next_deadline() -> poll timeout -> rtw_ws_tick().
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* poll, clock_gettime, MSG_NOSIGNAL under -std=c99 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rtweb/rtweb.h>

#define MAX_CONNS 64

struct conn {
  int fd;                       /* -1: free slot */
  rtw_ws_handshake_server *hs;  /* until the handshake response is written */
  rtw_ws *ws;                   /* after a successful handshake */
  const char *head;             /* handshake response still to write (points into hs) */
  size_t head_len;
  int close_after_head;         /* the handshake failed: close once the response is out */
  char held[16384];             /* input the session has not taken yet (see ws_feed) */
  size_t held_len;
};

static struct conn conns[MAX_CONNS];

/* Milliseconds of a monotonic clock: rtw_ws_tick() accepts any monotonic clock. */
static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The echo: called once per whole message (RTW_WS_FLAG_WHOLE_MESSAGES), text already
 * validated as UTF-8. Queuing copies the payload; the bytes go out when we flush. */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  /* After our close the session ignores RTW_ERR_WS_CLOSED; the echo always fits, because
   * the session stops reading while its outbound queue is over its high-water mark. */
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len, void *ud)
{
  (void)ws, (void)ud;
  if (reason_len == 0)
    reason = "";
  fprintf(stderr, "peer closed: %d %.*s\n", code, (int)reason_len, reason);
  return 0; /* the session answers the close frame itself (RFC 6455 5.5.1) */
}

static void conn_close(struct conn *c)
{
  close(c->fd);
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

/* Feed bytes to the session. When its outbound queue is over the high-water mark (a client
 * that sends but does not read), rtw_ws_recv() returns RTW_ERR_PAUSE without taking the
 * rest: keep it, stop polling for input (want_read is 0), and feed it again once the queue
 * has drained. A protocol error returns < 0 and queues the matching close frame (1002,
 * 1007, ...): keep flushing; want_read and want_write then drop to 0 and we close. */
static void ws_feed(struct conn *c, const char *p, size_t n)
{
  size_t used = 0;
  if (rtw_ws_recv(c->ws, p, n, &used) == RTW_ERR_PAUSE) {
    memmove(c->held, p + used, n - used); /* p may point into held */
    c->held_len = n - used;
  } else {
    c->held_len = 0;
  }
}

/* The handshake is complete (or failed): prepare what to write, create the session. */
static int handshake_done(struct conn *c, int rv, const char *rest, size_t rest_len)
{
  static const char not_ws[] = "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                               "Connection: close\r\nContent-Length: 0\r\n\r\n";
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  const void *resp;
  size_t resp_len;

  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) { /* not an upgrade: this server only echoes */
    c->head = not_ws;
    c->head_len = sizeof not_ws - 1;
    c->close_after_head = 1;
    return 0;
  }
  /* DONE: the 101; an error: 400, 426, 431, ... (none only when out of memory) */
  if (rtw_ws_handshake_server_response(c->hs, &resp, &resp_len) != 0)
    return -1;
  c->head = resp;
  c->head_len = resp_len;
  if (rv != RTW_WS_HANDSHAKE_DONE) {
    fprintf(stderr, "handshake failed: %s\n", rtw_strerror(rv));
    c->close_after_head = 1;
    return 0;
  }
  cb.on_message = on_message;
  cb.on_close = on_close;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES; /* one callback per message, not per piece */
  st.keepalive_ms = 30000;               /* ping an idle client every 30 s */
  st.send_timeout_ms = 30000;            /* drop a client that stops reading for 30 s */
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0)
    return -1;
  rtw_ws_tick(c->ws, now_ms()); /* timers arm from the first tick */
  /* Frames the client sent right behind its request belong to the session (handshake.md). */
  ws_feed(c, rest, rest_len);
  return 0;
}

/* POLLIN: read once and feed the bytes to whichever engine owns the connection. */
static int conn_read(struct conn *c)
{
  char buf[16384];
  size_t used;
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  int rv;

  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (n == 0)
    return -1; /* the peer closed TCP (without a close frame, or after it) */
  if (c->ws != NULL) {
    ws_feed(c, buf, (size_t)n);
    return 0;
  }
  rv = rtw_ws_handshake_server_recv(c->hs, buf, (size_t)n, &used);
  if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
    return 0;
  return handshake_done(c, rv, buf + used, (size_t)n - used);
}

/* Write what is pending until the socket would block. Returns -1 when the connection is over. */
static int conn_flush(struct conn *c)
{
  const void *p;
  size_t len;
  ssize_t n;

  while (c->head_len > 0) { /* first the handshake response */
    n = send(c->fd, c->head, c->head_len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->head += n;
    c->head_len -= (size_t)n;
  }
  if (c->close_after_head)
    return -1;
  if (c->ws == NULL)
    return 0; /* the request is still arriving */
  rtw_ws_handshake_server_free(c->hs); /* the response is out: the handshake is over */
  c->hs = NULL;
  while (rtw_ws_want_write(c->ws)) { /* then the session's frames */
    if (rtw_ws_send_pending(c->ws, &p, &len) != 0)
      return -1;
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    rtw_ws_send_consumed(c->ws, (size_t)n); /* partial writes are normal */
  }
  /* Closing handshake complete, or the session failed: RFC 6455 7.1.1, the server closes
   * the TCP connection first. */
  return rtw_ws_want_read(c->ws) ? 0 : -1;
}

static int listen_on(unsigned port)
{
  struct sockaddr_in sa;
  socklen_t sa_len = sizeof sa;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
    perror("listen");
    exit(1);
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  return fd;
}

static void accept_all(int lfd)
{
  int fd, i;

  while ((fd = accept(lfd, NULL, NULL)) >= 0) {
    for (i = 0; i < MAX_CONNS && conns[i].fd >= 0; i++)
      ;
    if (i == MAX_CONNS || rtw_ws_handshake_server_new(&conns[i].hs, NULL, NULL, NULL, NULL)) {
      close(fd); /* full (or out of memory): refuse */
      continue;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    conns[i].fd = fd;
  }
}

int main(int argc, char **argv)
{
  struct pollfd pfd[MAX_CONNS + 1];
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  int lfd, i, timeout;
  uint64_t now, next;

  if (argc > 2 || port > 65535) {
    fprintf(stderr, "usage: ws_echo_server [PORT]\n");
    return 2;
  }
  for (i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  lfd = listen_on((unsigned)port);
  for (;;) {
    /* What each connection waits for, and when the earliest session timer is due. */
    next = UINT64_MAX;
    pfd[MAX_CONNS].fd = lfd;
    pfd[MAX_CONNS].events = POLLIN;
    for (i = 0; i < MAX_CONNS; i++) {
      struct conn *c = &conns[i];
      pfd[i].fd = c->fd; /* poll ignores negative fds */
      pfd[i].events = 0;
      if (c->fd < 0)
        continue;
      if (c->ws != NULL && c->held_len > 0 && rtw_ws_want_read(c->ws))
        ws_feed(c, c->held, c->held_len); /* the queue drained: what we kept comes first */
      if (c->ws == NULL ? !c->close_after_head : rtw_ws_want_read(c->ws) && c->held_len == 0)
        pfd[i].events |= POLLIN;
      if (c->head_len > 0 || (c->ws != NULL && rtw_ws_want_write(c->ws)))
        pfd[i].events |= POLLOUT;
      if (c->ws != NULL && rtw_ws_next_deadline(c->ws) < next)
        next = rtw_ws_next_deadline(c->ws);
    }
    now = now_ms();
    timeout = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now);
    if (poll(pfd, MAX_CONNS + 1, timeout) < 0 && errno != EINTR) {
      perror("poll");
      return 1;
    }
    if (pfd[MAX_CONNS].revents & POLLIN)
      accept_all(lfd);
    now = now_ms();
    for (i = 0; i < MAX_CONNS; i++) {
      struct conn *c = &conns[i];
      if (c->fd < 0 || c->fd != pfd[i].fd)
        continue; /* free, or accepted during this round */
      if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && conn_read(c) != 0) {
        conn_close(c);
        continue;
      }
      /* Timers: a keepalive ping may be queued; a pong or close timeout fails the session. */
      if (c->ws != NULL)
        rtw_ws_tick(c->ws, now);
      /* Try to write after every event: reads and ticks queue output. */
      if (conn_flush(c) != 0)
        conn_close(c);
    }
  }
}
