/* SPDX-License-Identifier: MIT */
/* Socket, transport (plain TCP or rtw_tls), clock, signal, URL and buffer helpers shared
 * by rtwcat's networked commands. */

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
  unsigned long def = u->tls ? 443 : 80, port = def;

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
  u->host_header = store(u, pos, a, (colon != NULL && port == def) ? (size_t)(colon - a) : n);
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
  if (lower_eq(s, scheme_len, "ws") || lower_eq(s, scheme_len, "wss"))
    u->websocket = 1;
  else if (lower_eq(s, scheme_len, "http") || lower_eq(s, scheme_len, "https"))
    u->websocket = 0;
  else
    return url_error(err, cap, "unsupported scheme (only ws://, wss://, http:// and https://)",
                     s);
  /* RFC 6455 3, RFC 9110 4.2.2: the secure schemes, default port 443 */
  u->tls = lower_eq(s, scheme_len, "wss") || lower_eq(s, scheme_len, "https");
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

int rtwcat_ws_flush(rtwcat_conn *c, rtw_ws *ws)
{
  for (;;) {
    rtw_iovec iov[FLUSH_IOV];
    size_t count, taken = 0;
    int rc = rtw_ws_send_pending_iov(ws, iov, FLUSH_IOV, &count);

    if (rc != 0)
      return rc;
    if (count == 0)
      return rtwcat_conn_flush(c); /* with TLS, records the socket did not take yet */
    rc = rtwcat_conn_writev(c, iov, count, &taken);
    if (taken > 0)
      (void)rtw_ws_send_consumed(ws, taken);
    if (rc != 0)
      return rc; /* the socket buffer is full (wait for POLLOUT), or an error */
    if (taken == 0)
      return 0; /* TLS takes nothing (closed): nothing more can go */
  }
}

int rtwcat_buf_flush(rtwcat_conn *c, rtwcat_buf *b)
{
  while (b->len > 0) {
    rtw_iovec v;
    size_t taken = 0;
    int rc;

    v.base = b->data + b->off;
    v.len = b->len;
    rc = rtwcat_conn_writev(c, &v, 1, &taken);
    rtwcat_buf_consume(b, taken);
    if (rc != 0)
      return rc;
    if (taken == 0)
      return 0;
  }
  return rtwcat_conn_flush(c);
}

/* ------------------------------------------------------------------ transport */

void rtwcat_conn_init(rtwcat_conn *c, int fd)
{
  memset(c, 0, sizeof *c);
  c->fd = fd;
}

/* The TLS engine's plaintext goes into the buffer of the rtwcat_conn_read() running.
 * RTWCAT_CONN_READ_MAX() makes it fit; should it not, the rest waits inside the engine
 * (RTW_ERR_PAUSE) and comes first on the next read. */
static int tls_on_data(rtw_tls *tls, const void *data, size_t len, size_t *used,
                       void *user_data)
{
  rtwcat_conn *c = user_data;
  size_t room = c->rd_cap - c->rd_len, n = len < room ? len : room;

  (void)tls;
  memcpy(c->rd + c->rd_len, data, n);
  c->rd_len += n;
  *used = n;
  return n < len ? RTW_ERR_PAUSE : 0;
}

int rtwcat_conn_tls(rtwcat_conn *c, rtw_tls_config *cfg, const char *server_name)
{
  rtw_tls_callbacks cb = {RTW_TLS_CALLBACKS_VERSION, NULL, NULL};

  cb.on_data = tls_on_data;
  return rtw_tls_new(&c->tls, cfg, server_name, &cb, NULL, c);
}

int rtwcat_conn_want_write(const rtwcat_conn *c)
{
  return c->tls != NULL && rtw_tls_want_write(c->tls);
}

int rtwcat_conn_flush(rtwcat_conn *c)
{
  while (rtwcat_conn_want_write(c)) {
    const void *p;
    size_t len;
    ssize_t n;
    int rc;

    if (rtw_tls_send_pending(c->tls, &p, &len) != 0) {
      errno = EPROTO;
      return -1;
    }
    if (len == 0)
      return 0;
    n = write(c->fd, p, len);
    if (n < 0) {
      if ((rc = write_failed()) != 0)
        return rc;
      continue;
    }
    (void)rtw_tls_send_consumed(c->tls, (size_t)n);
  }
  return 0;
}

/* Plain TCP: one writev(2). 1 when it did not take everything (wait for POLLOUT). */
static int plain_writev(rtwcat_conn *c, const rtw_iovec *iov, size_t count, size_t *taken)
{
  struct iovec v[FLUSH_IOV];
  size_t i, total = 0;
  ssize_t n;
  int rc;

  if (count > FLUSH_IOV)
    count = FLUSH_IOV;
  for (i = 0; i < count; i++) {
    v[i].iov_base = (void *)(uintptr_t)iov[i].base;
    v[i].iov_len = iov[i].len;
    total += iov[i].len;
  }
  for (;;) {
    n = writev(c->fd, v, (int)count);
    if (n >= 0)
      break;
    if ((rc = write_failed()) != 0)
      return rc;
  }
  *taken = (size_t)n;
  return (size_t)n < total ? 1 : 0;
}

int rtwcat_conn_writev(rtwcat_conn *c, const rtw_iovec *iov, size_t count, size_t *taken)
{
  int rc;

  *taken = 0;
  if (c->tls == NULL)
    return plain_writev(c, iov, count, taken);
  /* the records are built only as far as the engine's output budget (max_outbound) goes;
   * the caller calls again with the rest once the flush drained it */
  if ((rc = rtwcat_conn_flush(c)) != 0)
    return rc;
  if (rtw_tls_writev(c->tls, iov, count, taken) != 0) {
    errno = EPROTO;
    return -1;
  }
  return rtwcat_conn_flush(c);
}

ssize_t rtwcat_conn_read(rtwcat_conn *c, void *buf, size_t cap)
{
  unsigned char cipher[64u * 1024u];
  size_t want, used = 0;
  ssize_t n;
  int rc;

  if (c->tls == NULL)
    return read(c->fd, buf, cap);
  c->rd = buf;
  c->rd_len = 0;
  c->rd_cap = cap;
  /* plaintext kept from an earlier read that did not fit (see tls_on_data) comes first */
  rc = rtw_tls_recv(c->tls, NULL, 0, &used);
  if (c->rd_len > 0 || rc == RTW_ERR_PAUSE)
    return (ssize_t)c->rd_len;
  if (rc != 0) {
    errno = EPROTO; /* failed earlier (sticky) */
    return -1;
  }
  if (rtw_tls_state(c->tls) & (RTW_TLS_STATE_PEER_CLOSED | RTW_TLS_STATE_EOF))
    return 0; /* close_notify (RFC 5246 7.2.1): the end of the plaintext */
  want = cap > RTW_TLS_MAX_RECORD_PLAINTEXT ? RTWCAT_CONN_READ_MAX(cap) : 1;
  n = read(c->fd, cipher, want < sizeof cipher ? want : sizeof cipher);
  if (n < 0)
    return -1;
  if (n == 0) {
    (void)rtw_tls_eof(c->tls); /* a truncation (no close_notify) also ends the plaintext */
    return 0;
  }
  rc = rtw_tls_recv(c->tls, cipher, (size_t)n, &used);
  /* handshake messages to answer, or the alert of a failure: out now (best effort) */
  (void)rtwcat_conn_flush(c);
  if (rc == RTW_ERR_PAUSE && used < (size_t)n) {
    /* the plaintext did not fit and ciphertext is left over: only with cap <=
     * RTW_TLS_MAX_RECORD_PLAINTEXT (see RTWCAT_CONN_READ_MAX), never silently dropped */
    errno = ENOBUFS;
    return -1;
  }
  if (rc != 0 && rc != RTW_ERR_PAUSE && c->rd_len == 0) {
    errno = EPROTO;
    return -1;
  }
  if (c->rd_len == 0) {
    errno = EAGAIN; /* a handshake step or an incomplete record: nothing for the caller */
    return -1;
  }
  return (ssize_t)c->rd_len;
}

void rtwcat_conn_shutdown(rtwcat_conn *c)
{
  if (c->tls != NULL && rtw_tls_close(c->tls) == 0)
    (void)rtwcat_conn_flush(c);
  (void)shutdown(c->fd, SHUT_WR);
}

void rtwcat_conn_close(rtwcat_conn *c)
{
  if (c->tls != NULL) {
    uint32_t st = rtw_tls_state(c->tls);
    /* RFC 5246 7.2.1: close_notify before closing the transport, one non-blocking attempt */
    if ((st & RTW_TLS_STATE_HANDSHAKE_DONE) && !(st & RTW_TLS_STATE_FAILED) &&
        rtw_tls_close(c->tls) == 0)
      (void)rtwcat_conn_flush(c);
    rtw_tls_free(c->tls);
    c->tls = NULL;
  }
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

const char *rtwcat_conn_strerror(rtwcat_conn *c, int err)
{
  static char text[512];

  if (c->tls != NULL && rtw_tls_error(c->tls) != 0) {
    int code = rtw_tls_error(c->tls);
    size_t n = (size_t)snprintf(text, sizeof text, "TLS: %s: ", rtw_err_name(code));
    if (n < sizeof text && rtw_tls_error_text(c->tls, text + n, sizeof text - n) == 0)
      snprintf(text + n, sizeof text - n, "%s", rtw_strerror(code));
    return text;
  }
  return strerror(err);
}

/* Wait for the socket during a blocking step; prints why it failed. 1 ready, -1, -2. */
static int wait_step(rtwcat_conn *c, short events, int sigfd, uint64_t deadline,
                     const char *host)
{
  int r = rtwcat_wait_fd(c->fd, events, sigfd, deadline);

  if (r == 0)
    fprintf(stderr, "rtwcat: TLS handshake with %s failed: timed out\n", host);
  else if (r == -1)
    fprintf(stderr, "rtwcat: poll: %s\n", strerror(errno));
  return r == 0 ? -1 : r;
}

int rtwcat_conn_handshake(rtwcat_conn *c, const char *host, int sigfd, uint64_t deadline)
{
  unsigned char scratch[RTW_TLS_MAX_RECORD_PLAINTEXT + 1024u];

  if (c->tls == NULL)
    return 0;
  /* a client's first send_pending builds its ClientHello (rtw_tls_new()) */
  while (!(rtw_tls_state(c->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)) {
    int r = rtwcat_conn_flush(c);
    ssize_t n;

    if (r == 1 && (r = wait_step(c, POLLOUT, sigfd, deadline, host)) != 1)
      return r;
    if (r < 0)
      break;
    if (rtwcat_conn_want_write(c))
      continue;
    if (rtw_tls_state(c->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)
      break;
    if ((r = wait_step(c, POLLIN, sigfd, deadline, host)) != 1)
      return r;
    n = rtwcat_conn_read(c, scratch, sizeof scratch);
    if (n > 0) /* application data before our Finished was sent cannot happen */
      break;
    if (n == 0) {
      fprintf(stderr, "rtwcat: TLS handshake with %s failed: the server closed the "
                      "connection\n", host);
      return -1;
    }
    if (errno != EAGAIN && errno != EINTR)
      break;
  }
  if (rtw_tls_state(c->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)
    return 0;
  fprintf(stderr, "rtwcat: TLS handshake with %s failed: %s\n", host,
          rtwcat_conn_strerror(c, errno));
  if (rtw_tls_error(c->tls) == RTW_ERR_TLS_VERIFY)
    fprintf(stderr, "rtwcat: the server's certificate could not be verified (give its CA "
                    "with --cacert FILE, or --insecure to skip verification)\n");
  return -1;
}

int rtwcat_conn_write_all(rtwcat_conn *c, const void *p, size_t n, int sigfd, uint64_t deadline)
{
  const unsigned char *b = p;

  for (;;) {
    rtw_iovec v;
    size_t taken = 0;
    int rc, w;

    v.base = b;
    v.len = n;
    rc = n > 0 ? rtwcat_conn_writev(c, &v, 1, &taken) : rtwcat_conn_flush(c);
    b += taken;
    n -= taken;
    if (rc < 0)
      return -1;
    if (rc == 0 && n == 0 && !rtwcat_conn_want_write(c))
      return 0;
    if (rc == 0 && taken > 0)
      continue;
    if (rc == 0 && n > 0) {
      errno = EPROTO; /* TLS takes nothing: closed */
      return -1;
    }
    w = rtwcat_wait_fd(c->fd, POLLOUT, sigfd, deadline);
    if (w <= 0)
      return w == -2 ? -2 : -3;
  }
}

rtw_tls_config *rtwcat_tls_client_config(const char *cafile, int insecure)
{
  rtw_tls_config_settings s = {RTW_TLS_CONFIG_SETTINGS_VERSION, 0, 0, 0, 0, NULL, NULL,
                               NULL, NULL};
  rtw_tls_config *cfg = NULL;
  char why[256];
  int rc;

  s.flags = insecure ? RTW_TLS_INSECURE : 0u;
  if ((rc = rtw_tls_config_new(&cfg, RTW_TLS_ROLE_CLIENT, &s, NULL)) != 0) {
    fprintf(stderr, "rtwcat: cannot set up TLS: %s\n", rtw_strerror(rc));
    return NULL;
  }
  if (insecure)
    return cfg;
  if (cafile == NULL && access(RTWCAT_SYSTEM_CA_FILE, R_OK) == 0)
    cafile = RTWCAT_SYSTEM_CA_FILE;
  if (cafile == NULL) {
    fprintf(stderr, "rtwcat: no CA certificates to verify the server: %s is missing; give "
                    "--cacert FILE (or --insecure)\n", RTWCAT_SYSTEM_CA_FILE);
    rtw_tls_config_free(cfg);
    return NULL;
  }
  if ((rc = rtw_tls_config_set_ca_file(cfg, cafile)) != 0) {
    if (rtw_tls_config_error_text(cfg, why, sizeof why) == 0)
      snprintf(why, sizeof why, "%s", rtw_strerror(rc));
    fprintf(stderr, "rtwcat: --cacert %s: %s\n", cafile, why);
    rtw_tls_config_free(cfg);
    return NULL;
  }
  return cfg;
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
    return rtwcat_usage_error(cmd, "the URL must start with %s",
                              websocket ? "ws:// or wss://" : "http:// or https://");
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
