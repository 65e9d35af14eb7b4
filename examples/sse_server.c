/* SPDX-License-Identifier: MIT */
/* sse_server: a Server-Sent Events stream on poll(2), resumable with Last-Event-ID.
 *
 *   sse_server [PORT]          (binds 127.0.0.1; port 0 or none picks a free port)
 *   curl -N http://127.0.0.1:PORT/events
 *
 * Every second the server publishes one event whose id counts up (1, 2, 3, ...) and whose
 * data is "tick N". Each event is serialised once (rtw_sse_write_event), kept in a bounded
 * replay history (rtw_sse_history) and copied to every open stream. A client that reconnects
 * with `Last-Event-ID: N` first gets the events after N from the history, then the live ones
 * (WHATWG HTML 9.2.4), so it misses nothing. The HTTP side uses the rtw_sse_http_* server
 * helpers: request parsing, the response head, chunked framing (docs/sse-http.md).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* poll, clock_gettime, MSG_NOSIGNAL under -std=c99 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#define MAX_OUT (1024u * 1024u) /* a client this far behind is dropped */

struct conn {
  int fd;                    /* -1: free slot */
  rtw_sse_http_request *req; /* parses the request head */
  int streaming;             /* the 200 went out: this connection gets every new event */
  int chunked;               /* HTTP/1.1: every write is one chunk (RFC 9112 7.1) */
  int close_after;           /* an error response: close once it is written */
  char *out;                 /* bytes not yet written */
  size_t out_len, out_cap;
};

static struct conn conns[MAX_CONNS];
static rtw_sse_history *history; /* the last 1024 events, for reconnecting clients */
static uint64_t last_id;         /* the clock counter: id of the newest event */

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_close(struct conn *c)
{
  close(c->fd);
  rtw_sse_http_request_free(c->req);
  free(c->out);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

/* Make room for n more bytes of output (the buffer doubles, up to MAX_OUT). */
static int reserve(struct conn *c, size_t n)
{
  size_t cap = c->out_cap ? c->out_cap : 4096;
  char *p;
  if (c->out_len + n <= c->out_cap)
    return 0;
  while (cap < c->out_len + n)
    cap *= 2;
  if (c->out_len + n > MAX_OUT || (p = realloc(c->out, cap)) == NULL)
    return -1;
  c->out = p;
  c->out_cap = cap;
  return 0;
}

static int send_raw(struct conn *c, const void *data, size_t len)
{
  if (reserve(c, len) != 0)
    return -1;
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return 0;
}

/* Body bytes: framed as a chunk on HTTP/1.1, as they are on HTTP/1.0 (close-delimited). */
static int send_body(struct conn *c, const void *data, size_t len)
{
  size_t n;
  if (!c->chunked)
    return send_raw(c, data, len);
  if (reserve(c, len + RTW_SSE_HTTP_CHUNK_OVERHEAD) != 0 ||
      rtw_sse_http_chunk(c->out + c->out_len, c->out_cap - c->out_len, &n, data, len) != 0)
    return -1;
  c->out_len += n;
  return 0;
}

static int send_status(struct conn *c, const char *status)
{
  char buf[128];
  int n = snprintf(buf, sizeof buf, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                   status);
  c->close_after = 1;
  return send_raw(c, buf, (size_t)n);
}

/* The request head is complete: answer it, replay what the client missed, subscribe it. */
static int start_stream(struct conn *c)
{
  char head[256], buf[64];
  const char *path;
  const void *ev;
  size_t path_len, n, ev_len;
  uint64_t seq;
  int rv;

  rtw_sse_http_request_path(c->req, &path, &path_len);
  if (path_len != 7 || memcmp(path, "/events", 7) != 0)
    return send_status(c, "404 Not Found");
  if (rtw_sse_http_request_accepts(c->req) != 1) /* Accept rules out text/event-stream */
    return send_status(c, "406 Not Acceptable");
  c->chunked = rtw_sse_http_request_chunked(c->req) == 1;
  rtw_sse_http_response(head, sizeof head, &n, c->chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0,
                        NULL, 0);
  if (send_raw(c, head, n) != 0)
    return -1;
  rtw_sse_write_retry(buf, sizeof buf, &n, 1000, 0); /* reconnect after 1 s, not 3 */
  if (send_body(c, buf, n) != 0)
    return -1;
  rv = rtw_sse_http_request_resume(c->req, history, &seq);
  if (rv == 0) { /* Last-Event-ID found: replay every event after it */
    for (; seq < rtw_sse_history_next_seq(history); seq++) {
      rtw_sse_history_get(history, seq, &ev, &ev_len);
      if (send_body(c, ev, ev_len) != 0)
        return -1;
    }
  } else if (rv == RTW_ERR_SSE_HISTORY_GAP) { /* too old or unknown: say so, go on live */
    rtw_sse_write_comment(buf, sizeof buf, &n, "gap", 3, 0);
    if (send_body(c, buf, n) != 0)
      return -1;
  } /* rv == 1: no Last-Event-ID, a new client: live events only */
  c->streaming = 1;
  return 0;
}

/* POLLIN: the request head, or (once streaming) nothing but the end of the connection. */
static int conn_read(struct conn *c)
{
  char buf[4096];
  size_t used;
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  int rv;

  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (n == 0)
    return -1; /* the client went away */
  if (c->streaming || c->close_after)
    return 0; /* a client has nothing more to say on an event stream */
  rv = rtw_sse_http_request_recv(c->req, buf, (size_t)n, &used);
  if (rv == RTW_SSE_HTTP_INCOMPLETE)
    return 0;
  if (rv == RTW_SSE_HTTP_DONE)
    return start_stream(c);
  if (rv == RTW_ERR_HTTP_HEAD_TOO_LARGE || rv == RTW_ERR_HTTP_TOO_MANY_HEADERS)
    return send_status(c, "431 Request Header Fields Too Large");
  return send_status(c, rv == RTW_ERR_HTTP_BAD_METHOD ? "405 Method Not Allowed"
                                                      : "400 Bad Request");
}

/* Write until the socket would block. Returns -1 when the connection is over. */
static int conn_flush(struct conn *c)
{
  ssize_t n;
  while (c->out_len > 0) {
    n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->out_len -= (size_t)n; /* partial write: keep the rest for the next POLLOUT */
    memmove(c->out, c->out + n, c->out_len);
  }
  return c->close_after ? -1 : 0;
}

/* One clock tick: serialise the event once, keep it for replay, send it to every stream. */
static void publish(void)
{
  char id[24], data[32], ev[128];
  rtw_sse_event e = {0};
  size_t n;
  int i, id_len, data_len;

  last_id++;
  id_len = snprintf(id, sizeof id, "%" PRIu64, last_id);
  data_len = snprintf(data, sizeof data, "tick %" PRIu64, last_id);
  e.id = id;
  e.id_len = (size_t)id_len;
  e.data = data;
  e.data_len = (size_t)data_len;
  rtw_sse_write_event(ev, sizeof ev, &n, &e, 0);
  rtw_sse_history_push(history, id, (size_t)id_len, ev, n, NULL); /* evicts the oldest */
  for (i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0 && conns[i].streaming && send_body(&conns[i], ev, n) != 0)
      conn_close(&conns[i]); /* too slow: it can reconnect with Last-Event-ID */
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
    if (i == MAX_CONNS || rtw_sse_http_request_new(&conns[i].req, NULL, NULL) != 0) {
      close(fd);
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
  uint64_t now, next_tick;
  int lfd, i;

  if (argc > 2 || port > 65535) {
    fprintf(stderr, "usage: sse_server [PORT]\n");
    return 2;
  }
  if (rtw_sse_history_new(&history, 1024, 0, NULL) != 0)
    return 1;
  for (i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  lfd = listen_on((unsigned)port);
  next_tick = now_ms() + 1000;
  for (;;) {
    pfd[MAX_CONNS].fd = lfd;
    pfd[MAX_CONNS].events = POLLIN;
    for (i = 0; i < MAX_CONNS; i++) {
      pfd[i].fd = conns[i].fd;
      pfd[i].events = (short)(POLLIN | (conns[i].out_len > 0 ? POLLOUT : 0));
    }
    now = now_ms(); /* sleep until input, room to write, or the next tick */
    if (poll(pfd, MAX_CONNS + 1, next_tick > now ? (int)(next_tick - now) : 0) < 0 &&
        errno != EINTR) {
      perror("poll");
      return 1;
    }
    if (pfd[MAX_CONNS].revents & POLLIN)
      accept_all(lfd);
    for (i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0 && conns[i].fd == pfd[i].fd &&
          (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && conn_read(&conns[i]) != 0)
        conn_close(&conns[i]);
    for (now = now_ms(); now >= next_tick; next_tick += 1000)
      publish();
    for (i = 0; i < MAX_CONNS; i++) /* reads and ticks queue output: try to write it */
      if (conns[i].fd >= 0 && conn_flush(&conns[i]) != 0)
        conn_close(&conns[i]);
  }
}
