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
#include "rtwcat.h"

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

int rtwcat_wait_fd(int fd, short events, int sigfd, uint64_t deadline)
{
  for (;;) {
    struct pollfd p[2] = {{fd, events, 0}, {sigfd, POLLIN, 0}}; /* poll skips a sigfd of -1 */
    uint64_t now = rtwcat_now_ms();
    int r;

    if (now >= deadline)
      return 0;
    r = poll(p, 2, deadline == UINT64_MAX ? -1 : (int)(deadline - now));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (p[1].revents & POLLIN)
      return -2;
    if (p[0].revents != 0)
      return 1;
  }
}

int rtwcat_write_all(int fd, const void *p, size_t n, int sigfd, uint64_t deadline)
{
  const unsigned char *b = p;

  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      int r = rtwcat_wait_fd(fd, POLLOUT, sigfd, deadline);
      if (r <= 0)
        return r == -2 ? -2 : -3;
      continue;
    }
    if (w < 0)
      return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* getaddrinfo() for a TCP socket on host:port (flags: AI_PASSIVE to listen). NULL after
 * printing "rtwcat: <who>cannot resolve ...". */
static struct addrinfo *resolve(const char *host, const char *port, int flags, const char *who)
{
  struct addrinfo hints, *res = NULL;
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "rtwcat: %scannot resolve '%s': %s\n", who, host, gai_strerror(rc));
    return NULL;
  }
  return res;
}

/* Give each address in turn a new socket and hand it to setup(), which returns 0 to keep
 * it, -1 to try the next address (errno set) or -2 to give up. Frees res. Returns the socket
 * kept, -2, or -1 with errno from the last failure. */
static int first_socket(struct addrinfo *res,
                        int (*setup)(int fd, const struct addrinfo *ai, void *arg), void *arg)
{
  struct addrinfo *ai;
  int fd = -1, saved = 0;

  for (ai = res; ai != NULL; ai = ai->ai_next) {
    int rc;

    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    if ((rc = setup(fd, ai, arg)) == 0)
      break;
    saved = errno;
    close(fd);
    fd = rc == -2 ? -2 : -1;
    if (fd == -2)
      break;
  }
  freeaddrinfo(res);
  if (fd == -1)
    errno = saved;
  return fd;
}

typedef struct connect_wait {
  int timeout_ms;
  int sigfd;
} connect_wait;

/* Connect fd without blocking, waiting at most timeout_ms. 0, -1 (errno) or -2 (signal). */
static int connect_fd(int fd, const struct addrinfo *ai, void *arg)
{
  const connect_wait *cw = arg;
  int err = 0, r;
  socklen_t len = sizeof err;

  if (rtwcat_set_nonblock(fd) != 0)
    return -1;
  if ((r = connect(fd, ai->ai_addr, ai->ai_addrlen)) == 0 || errno != EINPROGRESS)
    return r;
  r = rtwcat_wait_fd(fd, POLLOUT, cw->sigfd, rtwcat_now_ms() + (uint64_t)cw->timeout_ms);
  if (r == 0)
    errno = ETIMEDOUT;
  if (r <= 0)
    return r == -2 ? -2 : -1;
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
  connect_wait cw = {timeout_ms, sigfd};
  struct addrinfo *res = resolve(host, port, 0, "");
  int fd;

  if (res == NULL)
    return -1;
  fd = first_socket(res, connect_fd, &cw);
  if (fd == -1)
    fprintf(stderr, "rtwcat: cannot connect to %s port %s: %s\n", host, port, strerror(errno));
  if (fd >= 0)
    rtwcat_set_nodelay(fd);
  return fd;
}

static int listen_fd(int fd, const struct addrinfo *ai, void *arg)
{
  int one = 1;

  (void)arg;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0 &&
      rtwcat_set_nonblock(fd) == 0)
    return 0;
  return -1;
}

int rtwcat_listen(const char *host, const char *port, unsigned *bound_port)
{
  struct addrinfo *res = resolve(host, port, AI_PASSIVE, "serve: ");
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int fd;

  if (res == NULL)
    return -1;
  if ((fd = first_socket(res, listen_fd, NULL)) < 0) {
    fprintf(stderr, "rtwcat: serve: cannot listen on %s port %s: %s\n", host, port,
            strerror(errno));
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

/* What a failed write(2) means to a flush: 0 try again (EINTR), 1 wait for POLLOUT, -1 an
 * error (errno). */
static int write_failed(void)
{
  if (errno == EINTR)
    return 0;
  return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
}

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
      if ((rc = write_failed()) != 0)
        return rc;
      continue;
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
    int rc;

    if (n < 0) {
      if ((rc = write_failed()) != 0)
        return rc;
      continue;
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

/* ------------------------------------------------------------------ command-line values */

int rtwcat_url_arg(const rtwcat_command *cmd, const char *s, int websocket, rtwcat_url *u)
{
  char err[512];

  if (rtwcat_url_parse(s, u, err, sizeof err) != 0)
    return rtwcat_usage_error(cmd, "%s", err);
  if (u->websocket != websocket)
    return rtwcat_usage_error(cmd, "the URL must start with %s", websocket ? "ws://" : "http://");
  return -1;
}

int rtwcat_parse_header(const rtwcat_command *cmd, const char *v, rtw_http_header *h)
{
  const char *colon = strchr(v, ':'), *val;

  if (colon == NULL || colon == v)
    return rtwcat_usage_error(cmd, "--header: '%s' is not 'Name: value'", v);
  val = colon + 1;
  while (*val == ' ' || *val == '\t')
    val++;
  h->name = v;
  h->name_len = (size_t)(colon - v);
  h->value = val;
  h->value_len = strlen(val);
  return -1;
}
