/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the server loop. Connections (accepting, with the per-address and EMFILE
 * rules), reading, writing, HTTP routing and responses, timers, shutdown; what a feed or a
 * chat connection does is in feed_conn.c and chat_conn.c. The states and limits are
 * described in server.h.
 */
#include "server.h"
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

volatile sig_atomic_t chat_stop_requested;

uint64_t chat_clock_ms(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int chat_set_nonblocking(int fd)
{
  int fl = fcntl(fd, F_GETFL, 0);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int chat_span_is(const char *s, size_t n, const char *lit)
{
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ====================================================================== output */

void conn_kill(conn *c, const char *why)
{
  if (!c->dead && why != NULL)
    fprintf(stderr, "rtweb-chat: dropping connection %d: %s\n", c->fd, why);
  c->dead = 1;
}

static int has_output(const conn *c)
{
  return chat_buf_size(&c->out) > 0 || (c->ws != NULL && rtw_ws_want_write(c->ws)) ||
         tls_conn_has_output(c);
}

/* Write what fits; 1 when something is left, 0 when all went, -1 on a dead socket. */
int conn_send(conn *c, const void *p, size_t n, size_t *sent)
{
  ssize_t w;
  *sent = 0;
  while (*sent < n) {
    w = send(c->fd, (const char *)p + *sent, n - *sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 1;
    if (w <= 0)
      return -1;
    *sent += (size_t)w;
  }
  return 0;
}

static void flush_session(conn *c)
{
  while (rtw_ws_want_write(c->ws)) {
    const void *p;
    size_t n, sent;
    int rv;
    if (rtw_ws_send_pending(c->ws, &p, &n) != 0) {
      conn_kill(c, "WebSocket send failed");
      return;
    }
    if (n == 0)
      return;
    rv = conn_send(c, p, n, &sent);
    rtw_ws_send_consumed(c->ws, sent);
    if (rv < 0)
      conn_kill(c, NULL);
    if (rv != 0)
      return;
  }
}

/* All is said: close now, or shut down our side and linger. Over TLS, close_notify goes
 * first (RFC 5246 7.2.1); while it waits for the socket, this runs again at the next flush. */
static void finish(conn *c, int linger)
{
  int rv = c->tls != NULL ? tls_conn_close(c) : 0;
  if (rv < 0)
    conn_kill(c, NULL);
  if (rv != 0)
    return;
  if (!linger) {
    c->dead = 1;
    return;
  }
  shutdown(c->fd, SHUT_WR);
  c->kind = CONN_LINGER;
  c->deadline = c->srv->now + LINGER_MS;
}

static void flush_conn(conn *c)
{
  size_t sent;
  int rv = 0;

  if (c->dead)
    return;
  if (c->tls != NULL) {
    rv = tls_conn_flush(c);
  } else if (chat_buf_size(&c->out) > 0) {
    rv = conn_send(c, c->out.data + c->out.off, chat_buf_size(&c->out), &sent);
    chat_buf_consume(&c->out, sent);
  }
  if (rv < 0)
    conn_kill(c, NULL);
  if (rv != 0)
    return;
  if (c->ws != NULL && c->tls == NULL)
    flush_session(c);
  if (!c->dead && !has_output(c))
    c->last_empty = c->srv->now;
  if (c->ws != NULL) {
    /* RFC 6455 7.1.1: the server closes the TCP connection once the closing handshake is
     * done; after a policy close (7.1.7) it does not wait for the peer's close frame */
    if (!c->dead && !rtw_ws_want_write(c->ws) && c->policy_closed && c->kind != CONN_LINGER)
      finish(c, 1);
    else if (!c->dead && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws))
      finish(c, 0);
  } else if (c->close_after_flush && c->read_eof) {
    finish(c, 0); /* all written and the client has nothing more to say */
  } else if (c->close_after_flush && c->kind != CONN_LINGER) {
    finish(c, 1);
  }
}

void conn_append(conn *c, const void *p, size_t n, size_t limit)
{
  if (chat_buf_append(&c->out, p, n, limit) != 0)
    conn_kill(c, "output limit");
}

/* ====================================================================== HTTP responses */

static void respond(conn *c, const char *status, const char *type, const char *extra,
                    const void *body, size_t body_len, int head_only)
{
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
                   "%sConnection: close\r\n\r\n",
                   status, type, body_len, extra != NULL ? extra : "");
  conn_append(c, head, (size_t)n, HTTP_OUT_LIMIT);
  if (!head_only)
    conn_append(c, body, body_len, HTTP_OUT_LIMIT);
  c->close_after_flush = 1;
}

void conn_respond_text(conn *c, const char *status, const char *extra, const char *text)
{
  respond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text), 0);
}

/* ====================================================================== HTTP requests */

static void route_plain(conn *c)
{
  const char *method, *path;
  size_t mlen, plen;
  int head_only;

  rtw_ws_handshake_server_method(c->hs, &method, &mlen);
  rtw_ws_handshake_server_path(c->hs, &path, &plen);
  head_only = chat_span_is(method, mlen, "HEAD");
  if (chat_span_is(path, plen, "/events")) {
    feed_conn_start(c);
  } else if (chat_span_is(path, plen, "/chat")) {
    conn_respond_text(c, "426 Upgrade Required", "Upgrade: websocket\r\n",
                 "/chat is a WebSocket endpoint\n");
  } else if (!chat_span_is(path, plen, "/") && !chat_span_is(path, plen, "/index.html")) {
    conn_respond_text(c, "404 Not Found", NULL, "not found\n");
  } else if (!head_only && !chat_span_is(method, mlen, "GET")) {
    conn_respond_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "GET only\n");
  } else {
    respond(c, "200 OK", "text/html; charset=utf-8", "Referrer-Policy: no-referrer\r\n",
            chat_page, chat_page_len, head_only);
  }
}

/* Request bytes go to the handshake server, which keeps the head (up to its 8 KiB limit):
 * nothing is copied here. Bytes after the head of an upgrade are the first frames. */
static void http_input(conn *c, const char *buf, size_t n)
{
  const void *resp;
  size_t resp_len, nread;
  int rv;

  rv = rtw_ws_handshake_server_recv(c->hs, buf, n, &nread);
  if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
    return;
  if (rv == RTW_WS_HANDSHAKE_DONE) {
    chat_conn_start(c, buf + nread, n - nread);
  } else if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    route_plain(c);
  } else if (rtw_ws_handshake_server_response(c->hs, &resp, &resp_len) == 0) {
    conn_append(c, resp, resp_len, HTTP_OUT_LIMIT); /* 400, 403, 404, 426, 431, ... */
    c->close_after_flush = 1;
  } else {
    conn_kill(c, rtw_strerror(rv));
  }
  rtw_ws_handshake_server_free(c->hs); /* the head is no longer needed */
  c->hs = NULL;
  if (c->kind == CONN_HTTP) /* answered: what else the client sends is ignored */
    c->kind = CONN_REPLY;
}

/* ====================================================================== reading */

void conn_input(conn *c, const char *buf, size_t n)
{
  switch (c->kind) {
  case CONN_HTTP:
    http_input(c, buf, n);
    break;
  case CONN_WS:
    chat_conn_input(c, buf, n);
    break;
  default: /* answered, feed and lingering connections: what the client sends is ignored */
    break;
  }
}

static void read_conn(conn *c)
{
  char buf[16384];
  int rounds;

  for (rounds = 0; rounds < 4 && !c->dead; rounds++) {
    ssize_t n;
    if ((c->kind == CONN_WS && !chat_conn_reading(c)) || c->tls_paused)
      return; /* paused, or closed for its policy: its bytes stay in the socket */
    n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n == 0 && c->tls != NULL) /* without close_notify first: harmless, HTTP and */
      (void)rtw_tls_eof(c->tls);   /* WebSocket mark their own ends (RFC 9112 9.8) */
    if (n == 0 && c->kind == CONN_REPLY) { /* half-closed: it still reads the answer */
      c->read_eof = 1;
      return;
    }
    if (n <= 0) { /* EOF or reset: the peer is gone */
      c->dead = 1;
      return;
    }
    if (c->tls != NULL)
      tls_conn_input(c, buf, (size_t)n);
    else
      conn_input(c, buf, (size_t)n);
  }
}

/* ====================================================================== connections */

static void free_conn(conn *c)
{
  close(c->fd);
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_tls_free(c->tls);
  chat_buf_free(&c->tls_in);
  chat_buf_free(&c->in);
  chat_buf_free(&c->out);
  free(c);
}

/* Close and free dead connections; a chat socket that leaves is a feed event. */
static int reap(server *s)
{
  size_t i = 0;
  int any = 0;
  while (i < s->nconns) {
    conn *c = s->conns[i];
    if (!c->dead) {
      i++;
      continue;
    }
    if (c->joined) {
      s->online--;
      chat_conn_publish_count(s, "leave");
    }
    free_conn(c);
    s->conns[i] = s->conns[--s->nconns];
    s->listen_paused = s->listen_said = 0; /* a descriptor is free again: accept more */
    any = 1;
  }
  return any;
}

/* Push feed events and pending bytes out, until no connection dies doing so. */
static void settle(server *s)
{
  size_t i;
  do {
    for (i = 0; i < s->nconns; i++) {
      conn *c = s->conns[i];
      if (c->kind == CONN_SSE)
        feed_conn_fill(c);
      flush_conn(c);
      if (c->kind == CONN_WS)
        chat_conn_resume(c);
      if (c->tls_paused)
        tls_conn_resume(c);
    }
  } while (reap(s));
}

static void pause_listening(server *s, int err)
{
  if (!s->listen_said) /* once until a connection closes, not at every retry */
    fprintf(stderr, "rtweb-chat: %s; not accepting until a connection closes\n",
            strerror(err));
  s->listen_said = 1;
  s->listen_paused = 1;
  s->listen_retry = s->now + LISTEN_RETRY_MS;
}

static addr_key key_of(const struct sockaddr_storage *ss)
{
  static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  addr_key k;

  memset(&k, 0, sizeof k);
  k.family = ss->ss_family;
  if (ss->ss_family == AF_INET) {
    memcpy(k.bytes, &((const struct sockaddr_in *)ss)->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const unsigned char *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    if (memcmp(a, v4mapped, 12) == 0) { /* ::ffff:a.b.c.d is that IPv4 address */
      k.family = AF_INET;
      memcpy(k.bytes, a + 12, 4);
    } else {
      memcpy(k.bytes, a, 8);
    }
  }
  return k;
}

/* 1 when this address already holds its share: --max-conns-per-addr connections in all,
 * or --max-http-per-addr in the HTTP states (sending a request head, being answered, or
 * lingering after the answer; not chat sockets or feed streams). A client that sends heads
 * slowly, asks and does not read, or opens streams it never uses, holds only its share. */
static int over_share(const server *s, const addr_key *k)
{
  size_t i, all = 0, http = 0;
  for (i = 0; i < s->nconns; i++) {
    const conn *c = s->conns[i];
    if (memcmp(&c->addr, k, sizeof *k) != 0)
      continue;
    all++;
    http += c->kind != CONN_WS && c->kind != CONN_SSE;
  }
  return all >= s->o.max_conns_per_addr || http >= s->o.max_http_per_addr;
}

static void refuse(int fd)
{
  static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             "Retry-After: 5\r\nConnection: close\r\n\r\n";
  ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)w;
  close(fd);
}

static void accept_conns(server *s)
{
  rtw_ws_handshake_server_callbacks cb = {
      .version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  int one = 1;

  cb.on_upgrade = chat_conn_on_upgrade;
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    addr_key key;
    conn *c;
    int fd = accept(s->lfd, (struct sockaddr *)&ss, &sl);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) /* the listener would stay readable: pause */
        pause_listening(s, errno);
      return; /* EAGAIN, or a connection that went away before we took it */
    }
    key = key_of(&ss);
    if (s->nconns >= s->max_conns || over_share(s, &key)) {
      refuse(fd); /* 503: full, or this address already has its share */
      continue;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || chat_set_nonblocking(fd) != 0 ||
        rtw_ws_handshake_server_new(&c->hs, &cb, NULL, NULL, c) != 0 ||
        (s->tls != NULL && tls_conn_start(c, s->tls) != 0)) {
      if (c != NULL)
        rtw_ws_handshake_server_free(c->hs);
      free(c);
      close(fd);
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* chat latency */
    c->srv = s;
    c->serial = ++s->next_serial;
    c->fd = fd;
    c->addr = key;
    c->kind = CONN_HTTP;
    c->deadline = s->now + REQUEST_TIMEOUT_MS;
    c->last_empty = s->now;
    s->conns[s->nconns++] = c;
  }
}

static void run_timers(server *s)
{
  int beat = s->now >= s->next_heartbeat, rv;
  size_t i;

  if (beat)
    s->next_heartbeat = s->now + HEARTBEAT_MS;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (!has_output(c))
      c->last_empty = s->now;
    if ((c->kind == CONN_HTTP || c->kind == CONN_LINGER) && s->now >= c->deadline)
      c->dead = 1;
    else if (c->tls != NULL && (rv = rtw_tls_tick(c->tls, s->now)) != 0)
      conn_kill(c, rtw_strerror(rv)); /* the TLS handshake timeout */
    else if (s->now - c->last_empty > s->o.send_timeout * 1000u)
      conn_kill(c, "output not drained in time"); /* however little it reads meanwhile */
    else if (c->kind == CONN_WS && (rv = rtw_ws_tick(c->ws, s->now)) != 0)
      conn_kill(c, rtw_strerror(rv)); /* no pong, or no close: the peer is gone */
    else if (c->kind == CONN_SSE && beat)
      feed_conn_heartbeat(c);
  }
}

/* ====================================================================== the loop */

static int wants_input(const conn *c)
{
  if (c->tls_paused)
    return 0;
  if (c->kind == CONN_WS)
    return chat_conn_reading(c);
  return !c->read_eof;
}

static void begin_shutdown(server *s)
{
  size_t i;

  close(s->lfd);
  s->lfd = -1;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind == CONN_WS) {
      rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, "server shutting down", 20);
    } else if (c->kind == CONN_SSE) {
      feed_conn_end(c);
    } else {
      c->dead = 1;
    }
  }
}

int chat_run(server *s)
{
  struct pollfd *pfd = calloc(s->max_conns + 3, sizeof *pfd); /* + listener, Redis log */
  uint64_t grace_end = 0, due;
  size_t i, n, nr; /* nr: the Redis log's descriptors (redis.h), after the listener */
  int listening, timeout, rfd[2], j;
  short rev[2];

  if (pfd == NULL)
    return -1;
  for (;;) {
    s->now = chat_clock_ms(CLOCK_MONOTONIC);
    if (chat_stop_requested && s->lfd >= 0) {
      fprintf(stderr, "rtweb-chat: shutting down\n");
      begin_shutdown(s);
      grace_end = s->now + SHUTDOWN_GRACE_MS;
      settle(s);
    }
    if (s->lfd < 0 && (s->nconns == 0 || s->now >= grace_end))
      break;
    if (s->listen_paused && s->now >= s->listen_retry)
      s->listen_paused = 0;
    listening = s->lfd >= 0 && !s->listen_paused; /* at max-conns it answers 503 */
    n = 0;
    if (listening) {
      pfd[n].fd = s->lfd;
      pfd[n++].events = POLLIN;
    }
    timeout = s->lfd >= 0 ? 1000 : 50;
    nr = 0;
    if (s->rds != NULL) {
      chat_redis_tick(s->rds, s->now);
      nr = (size_t)chat_redis_fds(s->rds, rfd, rev);
      for (j = 0; j < (int)nr; j++) {
        pfd[n].fd = rfd[j];
        pfd[n].revents = 0;
        pfd[n++].events = rev[j];
      }
      due = chat_redis_next_deadline(s->rds);
      if (due <= s->now)
        timeout = 0;
      else if (due - s->now < (uint64_t)timeout)
        timeout = (int)(due - s->now);
    }
    for (i = 0; i < s->nconns; i++) {
      pfd[n].fd = s->conns[i]->fd;
      pfd[n].revents = 0;
      pfd[n++].events = (short)((wants_input(s->conns[i]) ? POLLIN : 0) |
                                (has_output(s->conns[i]) ? POLLOUT : 0));
    }
    if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
      break;
    s->now = chat_clock_ms(CLOCK_MONOTONIC);
    i = 0;
    if (listening && (pfd[i++].revents & POLLIN))
      accept_conns(s);
    for (j = 0; j < (int)nr; j++, i++) /* the log: its hooks may queue output anywhere */
      if (pfd[i].revents != 0)
        chat_redis_io(s->rds, pfd[i].fd, pfd[i].revents, s->now);
    /* conns[] only grew at its end since pfd was built: the first entries still match */
    for (; i < n; i++) {
      conn *c = s->conns[i - (listening ? 1 : 0) - nr];
      if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
        read_conn(c);
      /* poll reports these even when input is not wanted: without this check a paused
       * socket whose peer reset would wake every poll until its timeout */
      if ((pfd[i].revents & POLLERR) || ((pfd[i].revents & POLLHUP) && !(pfd[i].events & POLLIN)))
        c->dead = 1;
      if (pfd[i].revents & POLLOUT)
        flush_conn(c);
    }
    run_timers(s);
    settle(s);
  }
  /* out of time: whoever is left goes now (their leave events still reach the feed file) */
  for (i = 0; i < s->nconns; i++)
    s->conns[i]->dead = 1;
  reap(s);
  free(pfd);
  return 0;
}
