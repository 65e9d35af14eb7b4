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
#include <poll.h> /* POLLIN, POLLOUT: what redis.h speaks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
  conn_touch(c);
}

void conn_touch(conn *c)
{
  server *s = c->srv;
  if (c->touched)
    return;
  c->touched = 1;
  s->touched[s->ntouched++] = c; /* room for every connection: each is in it once */
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
  if (chat_buf_size(&c->out) == 0 && c->out.cap > 0)
    chat_buf_free(&c->out); /* an idle connection keeps no output buffer */
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

static uint32_t addr_hash(const addr_key *k)
{
  uint32_t h = 2166136261u ^ (uint32_t)k->family; /* FNV-1a */
  size_t i;
  for (i = 0; i < sizeof k->bytes; i++)
    h = (h ^ k->bytes[i]) * 16777619u;
  return h;
}

/* The entry of address k: its own, or the free one where it would go. */
static addr_count *addr_entry(server *s, const addr_key *k)
{
  size_t i = addr_hash(k) & s->addrs_mask;
  while (s->addrs[i].all != 0 && memcmp(&s->addrs[i].key, k, sizeof *k) != 0)
    i = (i + 1) & s->addrs_mask;
  return &s->addrs[i];
}

/* Free an entry whose count fell to 0, moving later entries of its probe run back so that
 * lookups never stop early (linear probing without tombstones). */
static void addr_release(server *s, addr_count *e)
{
  size_t hole = (size_t)(e - s->addrs), i = hole;
  e->all = e->http = 0;
  for (;;) {
    size_t home;
    i = (i + 1) & s->addrs_mask;
    if (s->addrs[i].all == 0)
      return;
    home = addr_hash(&s->addrs[i].key) & s->addrs_mask;
    /* movable when its home is not in (hole, i], cyclically */
    if ((i > hole && (home <= hole || home > i)) || (i < hole && home <= hole && home > i)) {
      s->addrs[hole] = s->addrs[i];
      s->addrs[i].all = s->addrs[i].http = 0;
      hole = i;
    }
  }
}

/* Keep the address's HTTP-state count in step with the connection's kind. */
static void sync_http_count(conn *c)
{
  int http = c->kind != CONN_WS && c->kind != CONN_SSE;
  if (http != c->counted_http) {
    addr_count *e = addr_entry(c->srv, &c->addr);
    if (http)
      e->http++;
    else
      e->http--;
    c->counted_http = http;
  }
}

static void sse_link(conn *c)
{
  server *s = c->srv;
  int want = c->kind == CONN_SSE && !c->dead;
  if (want == c->in_sse)
    return;
  if (want) {
    c->sse_prev = NULL;
    c->sse_next = s->sse_head;
    if (s->sse_head != NULL)
      s->sse_head->sse_prev = c;
    s->sse_head = c;
  } else {
    if (c->sse_prev != NULL)
      c->sse_prev->sse_next = c->sse_next;
    else
      s->sse_head = c->sse_next;
    if (c->sse_next != NULL)
      c->sse_next->sse_prev = c->sse_prev;
  }
  c->in_sse = want;
}

/* ---------------------------------------------------------------------- the timer wheel */

static void wheel_remove(conn *c)
{
  server *s = c->srv;
  if (!c->in_wheel)
    return;
  if (c->t_prev != NULL)
    c->t_prev->t_next = c->t_next;
  else
    s->wheel[(c->wake / WHEEL_TICK_MS) % WHEEL_SLOTS] = c->t_next;
  if (c->t_next != NULL)
    c->t_next->t_prev = c->t_prev;
  c->in_wheel = 0;
}

/* The slot of tick t: never one already run, at most a turn ahead (a later deadline goes
 * round and is put back when its slot comes up). The slot is found again from c->wake. */
static void wheel_insert(conn *c, uint64_t wake)
{
  server *s = c->srv;
  uint64_t t = wake / WHEEL_TICK_MS;
  size_t slot;

  if (wake == UINT64_MAX)
    return;
  if (t < s->wheel_tick)
    t = s->wheel_tick;
  if (t >= s->wheel_tick + WHEEL_SLOTS)
    t = s->wheel_tick + WHEEL_SLOTS - 1;
  c->wake = t * WHEEL_TICK_MS; /* where it is filed (wheel_remove() finds the slot) */
  slot = (size_t)(t % WHEEL_SLOTS);
  c->t_prev = NULL;
  c->t_next = s->wheel[slot];
  if (s->wheel[slot] != NULL)
    s->wheel[slot]->t_prev = c;
  s->wheel[slot] = c;
  c->in_wheel = 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

/* When the connection's timers next need a look: its request or linger deadline, the send
 * timeout while output waits, and what its TLS and WebSocket sessions announce. */
static uint64_t next_wake(const conn *c)
{
  const server *s = c->srv;
  uint64_t w = UINT64_MAX;
  if (c->kind == CONN_HTTP || c->kind == CONN_LINGER)
    w = c->deadline;
  if (has_output(c))
    w = min_u64(w, c->last_empty + s->o.send_timeout * 1000u + 1u);
  if (c->tls != NULL)
    w = min_u64(w, rtw_tls_next_deadline(c->tls));
  if (c->ws != NULL)
    w = min_u64(w, rtw_ws_next_deadline(c->ws));
  return w;
}

static void reschedule(conn *c)
{
  wheel_remove(c);
  wheel_insert(c, next_wake(c));
}

/* What the old full scan did for each connection, now for one that is due or touched. */
static void conn_timers(conn *c)
{
  server *s = c->srv;
  int rv;

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
}

/* Run the slots whose whole tick has passed: every connection filed there is due (or went
 * round the wheel and is filed again). */
static void run_wheel(server *s)
{
  while ((s->wheel_tick + 1) * WHEEL_TICK_MS <= s->now) {
    size_t slot = (size_t)(s->wheel_tick % WHEEL_SLOTS);
    conn *c = s->wheel[slot];
    s->wheel[slot] = NULL;
    s->wheel_tick++;
    while (c != NULL) {
      conn *next = c->t_next;
      c->in_wheel = 0;
      conn_touch(c); /* settle() runs its timers and files it again */
      c = next;
    }
  }
}

/* ---------------------------------------------------------------------- settling */

static void free_conn(conn *c)
{
  server *s = c->srv;
  addr_count *e = addr_entry(s, &c->addr);

  wheel_remove(c);
  c->dead = 1;
  sse_link(c);
  if (c->counted_http)
    e->http--;
  if (--e->all == 0)
    addr_release(s, e);
  s->conns[c->index] = s->conns[--s->nconns];
  s->conns[c->index]->index = c->index;
  close(c->fd); /* which takes it out of the epoll set */
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_tls_free(c->tls);
  chat_buf_free(&c->tls_in);
  chat_buf_free(&c->in);
  chat_buf_free(&c->out);
  free(c);
}

/* 1 when a feed stream could take more right away: events of the history it has not had,
 * or (--redis) a replay that may ask the log for its next page. Its output drained within
 * the round, so nothing else would wake it: it keeps EPOLLOUT, which the next round reports
 * at once (what the poll loop's look at every connection in every round did). */
static int feed_wants_more(const conn *c)
{
  const server *s = c->srv;
  if (c->kind != CONN_SSE || c->dead || c->ended)
    return 0;
  if (c->rds_state == RDS_LIVE)
    return c->sse_seq < rtw_sse_history_next_seq(s->feed.history);
  return c->rds_state == RDS_REPLAY && s->log_up;
}

/* The interest epoll needs for the connection now. */
static uint32_t wanted_events(const conn *c)
{
  uint32_t ev = 0;
  if (!c->tls_paused && (c->kind == CONN_WS ? chat_conn_reading(c) : !c->read_eof))
    ev |= EPOLLIN;
  if (has_output(c) || feed_wants_more(c))
    ev |= EPOLLOUT;
  return ev;
}

/* New events in the history (published here or elsewhere): every feed stream takes them. */
static void touch_feeds_if_new(server *s)
{
  uint64_t next = rtw_sse_history_next_seq(s->feed.history);
  conn *c;
  if (next == s->feed_seen)
    return;
  s->feed_seen = next;
  for (c = s->sse_head; c != NULL; c = c->sse_next)
    conn_touch(c);
}

/* Look at every touched connection: its timers, feed events, pending bytes; close and free
 * the dead (a chat socket that leaves is a feed event, which touches the feeds: once more),
 * then set each survivor's epoll interest and timer. */
static void settle(server *s)
{
  size_t i, kept;
  int again;

  do {
    touch_feeds_if_new(s);
    for (i = 0; i < s->ntouched; i++) { /* conn_touch() may append while this runs */
      conn *c = s->touched[i];
      if (!c->had_output)
        c->last_empty = s->now; /* empty until this round */
      if (!c->dead)
        conn_timers(c);
      if (c->kind == CONN_SSE)
        feed_conn_fill(c);
      flush_conn(c);
      if (c->kind == CONN_SSE && !has_output(c) && feed_wants_more(c)) {
        feed_conn_fill(c); /* it all went at once: the next events (or replay page) */
        flush_conn(c);
      }
      if (c->kind == CONN_WS)
        chat_conn_resume(c);
      if (c->tls_paused)
        tls_conn_resume(c);
      c->had_output = has_output(c);
    }
    again = 0;
    for (i = kept = 0; i < s->ntouched; i++) {
      conn *c = s->touched[i];
      if (!c->dead) {
        s->touched[kept++] = c;
        continue;
      }
      if (c->joined) {
        s->online--;
        chat_conn_publish_count(s, "leave");
      }
      free_conn(c);
      s->listen_paused = s->listen_said = 0; /* a descriptor is free again: accept more */
      again = 1;
    }
    s->ntouched = kept;
  } while (again);
  for (i = 0; i < s->ntouched; i++) {
    conn *c = s->touched[i];
    uint32_t ev = wanted_events(c);
    c->touched = 0;
    sync_http_count(c);
    sse_link(c);
    if (ev != c->events) {
      struct epoll_event ee;
      memset(&ee, 0, sizeof ee);
      ee.events = ev;
      ee.data.ptr = c;
      if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ee) == 0)
        c->events = ev;
    }
    reschedule(c);
  }
  s->ntouched = 0;
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
 * slowly, asks and does not read, or opens streams it never uses, holds only its share.
 * The counts are the table's (addr_count): a connection's kind is counted again when the
 * round that changed it ends. */
static int over_share(server *s, const addr_key *k)
{
  const addr_count *e = addr_entry(s, k);
  return e->all >= s->o.max_conns_per_addr || e->http >= s->o.max_http_per_addr;
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
  int one = 1, rounds;

  cb.on_upgrade = chat_conn_on_upgrade;
  for (rounds = 0; rounds < 64; rounds++) { /* then serve the others; level-triggered */
    struct sockaddr_storage ss;
    struct epoll_event ee;
    socklen_t sl = sizeof ss;
    addr_key key;
    addr_count *e;
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
    if (c == NULL || chat_set_nonblocking(fd) != 0 || rtw_ws_handshake_server_new(&c->hs, &cb, NULL, NULL, c) != 0 ||
        (s->tls != NULL && tls_conn_start(c, s->tls) != 0)) {
      if (c != NULL)
        rtw_ws_handshake_server_free(c->hs);
      free(c);
      close(fd);
      continue;
    }
    memset(&ee, 0, sizeof ee);
    ee.events = EPOLLIN;
    ee.data.ptr = c;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
      rtw_ws_handshake_server_free(c->hs);
      rtw_tls_free(c->tls);
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
    c->events = EPOLLIN;
    c->deadline = s->now + REQUEST_TIMEOUT_MS;
    c->last_empty = s->now;
    c->index = s->nconns;
    s->conns[s->nconns++] = c;
    e = addr_entry(s, &key);
    e->key = key;
    e->all++;
    e->http++;
    c->counted_http = 1;
    conn_touch(c); /* files its request timeout */
  }
}

/* Every HEARTBEAT_MS, a comment on every feed stream (no other timer looks at them all). */
static void heartbeats(server *s)
{
  conn *c;
  if (s->now < s->next_heartbeat)
    return;
  s->next_heartbeat = s->now + HEARTBEAT_MS;
  for (c = s->sse_head; c != NULL; c = c->sse_next) {
    feed_conn_heartbeat(c);
    conn_touch(c);
  }
}

/* ====================================================================== the loop */

static void begin_shutdown(server *s)
{
  size_t i;

  close(s->lfd); /* which also takes it out of the epoll set */
  s->lfd = -1;
  s->listen_watched = 0;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind == CONN_WS) {
      rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, "server shutting down", 20);
    } else if (c->kind == CONN_SSE) {
      feed_conn_end(c);
    } else {
      c->dead = 1;
    }
    conn_touch(c);
  }
}

/* The listener is in the epoll set while it may accept (not paused at EMFILE). */
static void watch_listener(server *s)
{
  int want = s->lfd >= 0 && !s->listen_paused; /* at max-conns it answers 503 */
  struct epoll_event ee;

  if (want == s->listen_watched)
    return;
  memset(&ee, 0, sizeof ee);
  ee.events = EPOLLIN;
  ee.data.ptr = NULL; /* the listener: no connection */
  if (epoll_ctl(s->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->lfd, &ee) == 0)
    s->listen_watched = want;
}

/* One event of connection c: read, note an error or a hangup, write. */
static void conn_event(conn *c, uint32_t ev)
{
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_conn(c);
  /* epoll reports these even when input is not wanted: without this check a paused socket
   * whose peer reset would wake every epoll_wait until its timeout */
  if ((ev & EPOLLERR) || ((ev & EPOLLHUP) && !(c->events & EPOLLIN)))
    c->dead = 1;
  if (ev & EPOLLOUT)
    flush_conn(c);
  conn_touch(c);
}

/* The Redis log's descriptors (at most 2, redis.h) live in an epoll set of their own,
 * itself watched by the main one: the log closes and reopens its sockets as it reconnects,
 * and a descriptor number it gave up may already be a connection's in the main set, which
 * an EPOLL_CTL_DEL for the old socket must not touch. Each round the set is brought in
 * line with what chat_redis_fds() asks for. */
static void watch_redis(server *s)
{
  int fds[2], k, m, n = chat_redis_fds(s->rds, fds, s->redis_ev);

  for (k = 0; k < s->redis_nfds; k++) { /* no longer wanted: out (ENOENT once closed) */
    for (m = 0; m < n && fds[m] != s->redis_fds[k]; m++)
      ;
    if (m == n)
      (void)epoll_ctl(s->redis_epfd, EPOLL_CTL_DEL, s->redis_fds[k], NULL);
  }
  for (k = 0; k < n; k++) {
    struct epoll_event ee;
    memset(&ee, 0, sizeof ee);
    ee.events = ((s->redis_ev[k] & POLLIN) ? (uint32_t)EPOLLIN : 0u) |
                ((s->redis_ev[k] & POLLOUT) ? (uint32_t)EPOLLOUT : 0u);
    ee.data.fd = fds[k];
    /* the same number may be a new socket whose registration went with the old one */
    if (epoll_ctl(s->redis_epfd, EPOLL_CTL_MOD, fds[k], &ee) != 0)
      (void)epoll_ctl(s->redis_epfd, EPOLL_CTL_ADD, fds[k], &ee);
    s->redis_fds[k] = fds[k];
  }
  s->redis_nfds = n;
}

static void redis_events(server *s)
{
  struct epoll_event evs[2];
  int k, n = epoll_wait(s->redis_epfd, evs, 2, 0);

  for (k = 0; k < n; k++) {
    short rev = (short)(((evs[k].events & EPOLLIN) ? POLLIN : 0) |
                        ((evs[k].events & EPOLLOUT) ? POLLOUT : 0) |
                        ((evs[k].events & EPOLLERR) ? POLLERR : 0) |
                        ((evs[k].events & EPOLLHUP) ? POLLHUP : 0));
    chat_redis_io(s->rds, evs[k].data.fd, rev, s->now);
    watch_redis(s); /* it may have closed the other descriptor */
  }
}

int chat_run(server *s)
{
  struct epoll_event evs[EPOLL_BATCH];
  uint64_t grace_end = 0, tick_end, due;
  size_t size = 1, j;
  int i, n, timeout;

  while (size < 2 * s->max_conns) /* the address table: at least half free */
    size *= 2;
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  s->touched = calloc(s->max_conns, sizeof *s->touched);
  s->addrs = calloc(size, sizeof *s->addrs);
  s->addrs_mask = size - 1;
  if (s->epfd < 0 || s->touched == NULL || s->addrs == NULL) {
    if (s->epfd >= 0)
      close(s->epfd);
    free(s->touched);
    free(s->addrs);
    return -1;
  }
  s->redis_epfd = -1;
  if (s->rds != NULL) {
    struct epoll_event ee;
    memset(&ee, 0, sizeof ee);
    ee.events = EPOLLIN;
    ee.data.ptr = &s->redis_epfd; /* the log's own set */
    s->redis_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->redis_epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->redis_epfd, &ee) != 0) {
      if (s->redis_epfd >= 0)
        close(s->redis_epfd);
      close(s->epfd);
      free(s->touched);
      free(s->addrs);
      return -1;
    }
  }
  s->now = chat_clock_ms(CLOCK_MONOTONIC);
  s->wheel_tick = s->now / WHEEL_TICK_MS;
  s->feed_seen = rtw_sse_history_next_seq(s->feed.history);
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
    watch_listener(s);
    if (s->rds != NULL) {
      chat_redis_tick(s->rds, s->now);
      watch_redis(s);
    }
    /* wake for the end of the wheel's current tick (its slot is due then), the listener's
     * retry, the log's next deadline, and at least once a second; 50 ms while shutting
     * down */
    tick_end = (s->wheel_tick + 1) * WHEEL_TICK_MS;
    due = s->rds != NULL ? chat_redis_next_deadline(s->rds) : UINT64_MAX;
    if (due < tick_end)
      tick_end = due;
    timeout = s->lfd >= 0 ? 1000 : 50;
    if (tick_end <= s->now)
      timeout = 0;
    else if (tick_end - s->now < (uint64_t)timeout)
      timeout = (int)(tick_end - s->now);
    n = epoll_wait(s->epfd, evs, EPOLL_BATCH, timeout);
    if (n < 0 && errno != EINTR)
      break;
    s->now = chat_clock_ms(CLOCK_MONOTONIC);
    for (i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        if (s->lfd >= 0)
          accept_conns(s);
      } else if (evs[i].data.ptr == &s->redis_epfd) {
        redis_events(s); /* its hooks touch what they change */
      } else {
        conn_event(evs[i].data.ptr, evs[i].events);
      }
    }
    run_wheel(s);
    heartbeats(s);
    settle(s);
  }
  /* out of time: whoever is left goes now (their leave events still reach the feed file) */
  for (j = 0; j < s->nconns; j++) {
    s->conns[j]->dead = 1;
    conn_touch(s->conns[j]);
  }
  settle(s);
  if (s->redis_epfd >= 0)
    close(s->redis_epfd);
  close(s->epfd);
  free(s->touched);
  free(s->addrs);
  return 0;
}
