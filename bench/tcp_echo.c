/* SPDX-License-Identifier: MIT */
/* Plain TCP echo server on epoll: the ceiling of the echo benchmark (bench/run_echo.sh). */

/*
 *   tcp_echo [--host 127.0.0.1] [--port 0]
 *
 * Every byte a connection receives is written back to it, nothing else: no framing, no
 * parsing. One thread, level-triggered epoll, non-blocking sockets with TCP_NODELAY. Once
 * it listens it prints `listening on http://HOST:PORT/` (the real port; --port 0 picks a
 * free one) and flushes stdout, like `rtwcat serve`. SIGINT/SIGTERM end it with status 0.
 *
 * Each connection reads into its own buffer and writes it back before reading more: when
 * the peer does not read, the server stops reading from it (no unbounded buffering).
 */

#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (256u * 1024u)
#define MAX_EVENTS 256

typedef struct conn {
  int fd;
  size_t off; /* first byte of buf not yet written back */
  size_t len; /* bytes in buf */
  int want_out; /* EPOLLOUT registered (and EPOLLIN not) */
  unsigned char buf[BUF_SIZE];
} conn;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
}

static void usage(void)
{
  fprintf(stderr, "usage: tcp_echo [--host 127.0.0.1] [--port PORT]\n");
  exit(2);
}

static void close_conn(int ep, conn *c)
{
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

static int set_events(int ep, conn *c, int out)
{
  struct epoll_event ev;

  if (c->want_out == out)
    return 0;
  memset(&ev, 0, sizeof ev);
  ev.events = out ? EPOLLOUT : EPOLLIN;
  ev.data.ptr = c;
  c->want_out = out;
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write back what is buffered. Returns 1 when all is written, 0 when the socket is full,
 * -1 on error. */
static int flush(conn *c)
{
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
    c->off += (size_t)n;
  }
  c->off = c->len = 0;
  return 1;
}

/* The connection is readable or writable: echo. Returns -1 when it must be closed. */
static int service(int ep, conn *c)
{
  for (;;) {
    int rc = flush(c);
    ssize_t n;

    if (rc < 0)
      return -1;
    if (rc == 0)
      return set_events(ep, c, 1);
    n = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (n == 0)
      return -1;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return set_events(ep, c, 0);
      return -1;
    }
    c->len = (size_t)n;
    if ((size_t)n < BUF_SIZE) {
      /* Probably drained: write back and wait for the next event instead of a read that
       * would only say EAGAIN. */
      rc = flush(c);
      if (rc < 0)
        return -1;
      return set_events(ep, c, rc == 0);
    }
  }
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1";
  long port = 0;
  struct sockaddr_in sa;
  socklen_t salen = sizeof sa;
  struct epoll_event ev, events[MAX_EVENTS];
  struct sigaction act;
  int lfd, ep, one = 1, i;
  char addr[INET_ADDRSTRLEN];

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
      host = argv[++i];
    } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      char *end;
      port = strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535)
        usage();
    } else {
      usage();
    }
  }

  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal;
  sigaction(SIGINT, &act, NULL);
  sigaction(SIGTERM, &act, NULL);
  signal(SIGPIPE, SIG_IGN);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "tcp_echo: --host must be an IPv4 address\n");
    return 2;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
    perror("tcp_echo: listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("tcp_echo: epoll_create1");
    return 1;
  }
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.ptr = NULL; /* the listener */
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
    perror("tcp_echo: epoll_ctl");
    return 1;
  }
  inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
  printf("listening on http://%s:%u/\n", addr, (unsigned)ntohs(sa.sin_port));
  fflush(stdout);

  while (!stop) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("tcp_echo: epoll_wait");
      return 1;
    }
    for (i = 0; i < n; i++) {
      conn *c = events[i].data.ptr;

      if (c == NULL) {
        int fd;

        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = malloc(sizeof *c);
          if (c == NULL) {
            close(fd);
            continue;
          }
          c->fd = fd;
          c->off = c->len = 0;
          c->want_out = 0;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          memset(&ev, 0, sizeof ev);
          ev.events = EPOLLIN;
          ev.data.ptr = c;
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
          }
        }
        continue;
      }
      if (service(ep, c) != 0)
        close_conn(ep, c);
    }
  }
  return 0;
}
