/* SPDX-License-Identifier: MIT */
/* Socket, clock, signal, URL and buffer helpers shared by rtwcat's networked commands. */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

/* ------------------------------------------------------------------ clock */

uint64_t rtwcat_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ buffer */

int rtwcat_buf_append(rtwcat_buf *b, const void *p, size_t n)
{
  if (n == 0)
    return 0;
  if (b->off + b->len + n > b->cap && b->off > 0) {
    /* reclaim the consumed front before growing */
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
  }
  if (b->len + n > b->cap) {
    size_t cap = b->cap != 0 ? b->cap : 4096;
    unsigned char *d;

    while (cap < b->len + n) {
      if (cap > SIZE_MAX / 2)
        return -1;
      cap *= 2;
    }
    d = realloc(b->data, cap);
    if (d == NULL)
      return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->off + b->len, p, n);
  b->len += n;
  return 0;
}

void rtwcat_buf_consume(rtwcat_buf *b, size_t n)
{
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    b->off = 0;
}

void rtwcat_buf_free(rtwcat_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ URLs */

static int lower_eq(const char *a, size_t n, const char *b)
{
  size_t i;

  if (strlen(b) != n)
    return 0;
  for (i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != b[i])
      return 0;
  }
  return 1;
}

/* Copy n bytes of s into the storage at *pos, NUL-terminated. NULL when it does not fit. */
static char *store(rtwcat_url *u, size_t *pos, const char *s, size_t n)
{
  char *p;

  if (*pos + n + 1 > sizeof u->storage)
    return NULL;
  p = u->storage + *pos;
  memcpy(p, s, n);
  p[n] = '\0';
  *pos += n + 1;
  return p;
}

static int url_error(char *err, size_t cap, const char *msg, const char *s)
{
  snprintf(err, cap, "%s: '%s'", msg, s);
  return -1;
}

/* Split authority a[0..n) into host and port (RFC 3986 3.2.2, 3.2.3). */
static int parse_authority(rtwcat_url *u, size_t *pos, const char *a, size_t n, const char *s,
                           char *err, size_t cap)
{
  const char *host = a, *colon = NULL, *end = a + n;
  size_t host_len;
  unsigned long port = 80;

  if (memchr(a, '@', n) != NULL)
    return url_error(err, cap, "user information in URLs is not supported", s);
  if (n > 0 && a[0] == '[') {
    const char *rb = memchr(a, ']', n);
    if (rb == NULL)
      return url_error(err, cap, "unterminated IPv6 address", s);
    host = a + 1;
    host_len = (size_t)(rb - host);
    if (rb + 1 < end) {
      if (rb[1] != ':')
        return url_error(err, cap, "bad character after IPv6 address", s);
      colon = rb + 1;
    }
  } else {
    colon = memchr(a, ':', n);
    host_len = colon != NULL ? (size_t)(colon - a) : n;
  }
  if (host_len == 0)
    return url_error(err, cap, "no host in URL", s);
  if (colon != NULL) {
    const char *d;
    port = 0;
    if (colon + 1 == end)
      return url_error(err, cap, "empty port in URL", s);
    for (d = colon + 1; d < end; d++) {
      if (*d < '0' || *d > '9' || port > 65535)
        return url_error(err, cap, "bad port in URL", s);
      port = port * 10 + (unsigned long)(*d - '0');
    }
    if (port == 0 || port > 65535)
      return url_error(err, cap, "port out of range (1-65535) in URL", s);
  }
  u->host = store(u, pos, host, host_len);
  {
    char digits[8];
    int dn = snprintf(digits, sizeof digits, "%lu", port);
    u->port = store(u, pos, digits, (size_t)dn);
  }
  /* The Host field carries the authority as written, minus a default port. */
  u->host_header = store(u, pos, a, (colon != NULL && port == 80) ? (size_t)(colon - a) : n);
  if (u->host == NULL || u->port == NULL || u->host_header == NULL)
    return url_error(err, cap, "URL too long", s);
  return 0;
}

int rtwcat_url_parse(const char *s, rtwcat_url *u, char *err, size_t cap)
{
  const char *sep = strstr(s, "://"), *auth, *rest, *end;
  size_t pos = 0, scheme_len;

  memset(u, 0, sizeof *u);
  if (sep == NULL)
    return url_error(err, cap, "not a URL (expected ws://HOST[:PORT]/PATH or http://...)", s);
  scheme_len = (size_t)(sep - s);
  if (lower_eq(s, scheme_len, "ws"))
    u->websocket = 1;
  else if (lower_eq(s, scheme_len, "http"))
    u->websocket = 0;
  else if (lower_eq(s, scheme_len, "wss") || lower_eq(s, scheme_len, "https"))
    return url_error(err, cap,
                     "TLS is not supported: rtwcat speaks only ws:// and http:// (use a TLS "
                     "proxy such as stunnel or socat for wss:// and https://)",
                     s);
  else
    return url_error(err, cap, "unsupported scheme (only ws:// and http://)", s);
  auth = sep + 3;
  rest = auth + strcspn(auth, "/?#");
  if (parse_authority(u, &pos, auth, (size_t)(rest - auth), s, err, cap) != 0)
    return -1;
  end = rest + strcspn(rest, "#");
  if (rest == end || *rest == '?') {
    /* RFC 9112 3.2.1: an empty path is sent as "/" */
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "/%.*s", (int)(end - rest), rest);
    if (n < 0 || (size_t)n >= sizeof tmp || (u->target = store(u, &pos, tmp, (size_t)n)) == NULL)
      return url_error(err, cap, "URL too long", s);
  } else if ((u->target = store(u, &pos, rest, (size_t)(end - rest))) == NULL) {
    return url_error(err, cap, "URL too long", s);
  }
  if (strpbrk(u->target, " \t\r\n") != NULL)
    return url_error(err, cap, "spaces are not allowed in the path (percent-encode them)", s);
  return 0;
}

/* ------------------------------------------------------------------ sockets */

int rtwcat_set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);

  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  return 0;
}

void rtwcat_set_nodelay(int fd)
{
  int one = 1;

  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Wait for a non-blocking connect() to finish. Returns 0, -1 (errno set) or -2 (signal). */
static int wait_connected(int fd, int timeout_ms, int sigfd)
{
  struct pollfd p[2];
  uint64_t deadline = rtwcat_now_ms() + (uint64_t)timeout_ms;
  int err = 0;
  socklen_t len = sizeof err;

  for (;;) {
    uint64_t now = rtwcat_now_ms();
    int r;

    if (now >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    p[0].fd = fd;
    p[0].events = POLLOUT;
    p[1].fd = sigfd;
    p[1].events = POLLIN;
    r = poll(p, sigfd >= 0 ? 2 : 1, (int)(deadline - now));
    if (r < 0 && errno != EINTR)
      return -1;
    if (r > 0 && sigfd >= 0 && (p[1].revents & POLLIN))
      return -2;
    if (r > 0 && p[0].revents != 0)
      break;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return -1;
  if (err != 0) {
    errno = err;
    return -1;
  }
  return 0;
}

int rtwcat_connect(const char *host, const char *port, int timeout_ms, int sigfd)
{
  struct addrinfo hints, *res = NULL, *ai;
  int rc, fd = -1, saved = 0;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "rtwcat: cannot resolve '%s': %s\n", host, gai_strerror(rc));
    return -1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    if (rtwcat_set_nonblock(fd) == 0) {
      rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc == 0 || (errno == EINPROGRESS && (rc = wait_connected(fd, timeout_ms, sigfd)) == 0))
        break;
      if (rc == -2) {
        close(fd);
        freeaddrinfo(res);
        return -2;
      }
    }
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "rtwcat: cannot connect to %s port %s: %s\n", host, port, strerror(saved));
    return -1;
  }
  rtwcat_set_nodelay(fd);
  return fd;
}

int rtwcat_listen(const char *host, const char *port, unsigned *bound_port)
{
  struct addrinfo hints, *res = NULL, *ai;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int rc, fd = -1, saved = 0, one = 1;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "rtwcat: serve: cannot resolve '%s': %s\n", host, gai_strerror(rc));
    return -1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0 &&
        rtwcat_set_nonblock(fd) == 0)
      break;
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "rtwcat: serve: cannot listen on %s port %s: %s\n", host, port,
            strerror(saved));
    return -1;
  }
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
    fprintf(stderr, "rtwcat: serve: getsockname: %s\n", strerror(errno));
    close(fd);
    return -1;
  }
  if (ss.ss_family == AF_INET6)
    *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  else
    *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* ------------------------------------------------------------------ signals */

int rtwcat_signals_open(void)
{
  sigset_t set;
  int fd;

  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (fd = signalfd(-1, &set, 0)) < 0) {
    fprintf(stderr, "rtwcat: signalfd: %s\n", strerror(errno));
    return -1;
  }
  (void)rtwcat_set_nonblock(fd);
  return fd;
}

int rtwcat_signals_read(int sigfd)
{
  struct signalfd_siginfo si;

  if (read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
    return 0;
  return (int)si.ssi_signo;
}

/* ------------------------------------------------------------------ output */

#define FLUSH_IOV 64

int rtwcat_ws_flush(int fd, rtw_ws *ws)
{
  for (;;) {
    rtw_iovec iov[FLUSH_IOV];
    struct iovec v[FLUSH_IOV];
    size_t count, i, total = 0;
    ssize_t n;
    int rc = rtw_ws_send_pending_iov(ws, iov, FLUSH_IOV, &count);

    if (rc != 0)
      return rc;
    if (count == 0)
      return 0;
    for (i = 0; i < count; i++) {
      v[i].iov_base = (void *)(uintptr_t)iov[i].base;
      v[i].iov_len = iov[i].len;
      total += iov[i].len;
    }
    n = writev(fd, v, (int)count);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 1;
      return -1;
    }
    (void)rtw_ws_send_consumed(ws, (size_t)n);
    if ((size_t)n < total)
      return 1; /* the socket buffer is full: wait for POLLOUT */
  }
}

int rtwcat_buf_flush(int fd, rtwcat_buf *b)
{
  while (b->len > 0) {
    ssize_t n = write(fd, b->data + b->off, b->len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 1;
      return -1;
    }
    rtwcat_buf_consume(b, (size_t)n);
  }
  return 0;
}

/* ------------------------------------------------------------------ numbers */

int rtwcat_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;

  if (*s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    if (v > (max - (uint64_t)(*s - '0')) / 10)
      return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}

int rtwcat_parse_seconds(const char *s, uint64_t *ms)
{
  uint64_t whole = 0, frac = 0, scale = 1000;
  int digits = 0;

  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    whole = whole * 10 + (uint64_t)(*s - '0');
    if (whole > 100000000u)
      return -1;
  }
  if (*s == '.') {
    for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
      if (scale > 1) {
        scale /= 10;
        frac += (uint64_t)(*s - '0') * scale;
      }
    }
  }
  if (*s != '\0' || digits == 0)
    return -1;
  *ms = whole * 1000u + frac;
  return 0;
}
