/* SPDX-License-Identifier: MIT */
/* rtwcat serve: one listener, an epoll loop; WebSocket echo on every upgrade, an SSE stream
 * fed from stdin at /events, 404 for anything else.
 *
 * Every connection starts in HTTP state with an rtw_ws_handshake_server. The handshake
 * decides (docs/handshake.md, "One port"):
 *
 *   HTTP --upgrade, 101--> WS     rtw_ws session; each whole message is queued back with its
 *                                 opcode (RFC 6455 5.6); pings and the close are answered
 *                                 by the engine, which echoes the peer's close code (5.5.1)
 *   HTTP --GET /events--> SSE     rtw_sse_http_request re-parses the kept head (Last-Event-ID,
 *                                 HTTP version), the replay history is sent, then live events
 *                                 (WHATWG HTML 9.2.4) and ": heartbeat" comments
 *   HTTP --other/error--> DRAIN   a 404 (or the handshake's 4xx) is written, then closed
 *
 * The loop is level-triggered epoll. A WebSocket connection reads 64 KiB at a time straight
 * into rtw_ws_recv() and writes what the session has pending at once with writev(); while
 * output is pending it waits for EPOLLOUT instead of reading (backpressure: the peer cannot
 * make us queue more than one read's worth of echoes). Sessions that sent a close are ticked
 * (rtw_ws_tick) until the peer's close arrives or the close timeout fails them.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtweb/http.h"
#include "rtweb/sse.h"
#include "rtweb/ws.h"

#include "net.h"
#include "rtwcat.h"

#define MAX_SUBPROTOCOLS 32
#define READ_BUF (64u * 1024u)
/* An SSE subscriber that falls this far behind is dropped. */
#define SSE_MAX_BACKLOG (16u * 1024u * 1024u)
/* Longest stdin line turned into an event: the SSE parser's default event limit. */
#define MAX_LINE RTW_SSE_DEFAULT_MAX_EVENT_SIZE
#define HISTORY_BYTES (8u * 1024u * 1024u)
/* A connection that has not finished its request head by then is closed, checked every
 * SWEEP_MS: idle sockets must not pin descriptors forever. */
#define HEAD_TIMEOUT_MS 30000u
#define SWEEP_MS 5000u

enum { K_HTTP, K_WS, K_SSE, K_DRAIN };

typedef struct serve_options {
  const char *host;
  const char *port;
  uint64_t max_message;
  uint64_t history;
  uint64_t heartbeat_ms; /* 0: off */
  const char *subprotocols[MAX_SUBPROTOCOLS];
  size_t nsubprotocols;
} serve_options;

typedef struct server server;
typedef struct conn conn;

struct conn {
  int fd;          /* -1 once closed (the struct is freed at the end of the loop turn) */
  int kind;        /* K_* */
  uint32_t events; /* the epoll interest set now registered */
  int chunked;     /* SSE: Transfer-Encoding: chunked */
  int ticking;     /* WS: a close was sent, the session's close timer runs */
  uint64_t born;   /* when it was accepted (HEAD_TIMEOUT_MS) */
  server *srv;
  rtw_ws_handshake_server *hs;
  rtw_ws *ws;
  rtwcat_buf head; /* HTTP: the request bytes, for re-parsing a plain request */
  rtwcat_buf out;  /* bytes to write before the session's (101, SSE stream, error) */
  conn *prev, *next;
};

struct server {
  serve_options o;
  int ep, lfd, sigfd;
  int stdin_polled;
  int listen_paused;
  conn *conns;      /* every live connection */
  conn *dead;       /* closed this turn, freed after the events are handled */
  size_t nconns;
  rtw_sse_history *history;
  uint64_t next_id; /* the id of the next stdin event */
  rtwcat_buf line;  /* the stdin line being read */
  int line_skip;    /* the current line is too long and is being dropped */
  char *ev;         /* scratch for one serialised event */
  size_t ev_cap;
  uint64_t next_heartbeat;
  uint64_t next_tick; /* the earliest deadline of a ticking session, UINT64_MAX when none */
  uint64_t next_sweep;
  rtw_ws_callbacks wscb;
  rtw_ws_settings wsset;
  rtw_ws_handshake_server_callbacks hscb;
  unsigned char rbuf[READ_BUF];
};

/* epoll tags for the descriptors that are not connections */
static char tag_listen, tag_stdin, tag_signal;

static void conn_flush(conn *c);

/* ------------------------------------------------------------------ connections */

static void set_events(conn *c, uint32_t events)
{
  struct epoll_event ev;

  if (c->events == events)
    return;
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
    c->events = events;
}

static void resume_listening(server *s)
{
  struct epoll_event ev;

  if (!s->listen_paused)
    return;
  ev.events = EPOLLIN;
  ev.data.ptr = &tag_listen;
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) == 0)
    s->listen_paused = 0;
}

/* Close now; the struct lives until the end of the loop turn (events may still name it). */
static void conn_close(conn *c)
{
  server *s = c->srv;

  if (c->fd < 0)
    return;
  (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->next = s->dead;
  s->dead = c;
  s->nconns--;
  resume_listening(s);
}

static void conn_free(conn *c)
{
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtwcat_buf_free(&c->head);
  rtwcat_buf_free(&c->out);
  free(c);
}

static void free_dead(server *s)
{
  while (s->dead != NULL) {
    conn *c = s->dead;
    s->dead = c->next;
    conn_free(c);
  }
}

/* ------------------------------------------------------------------ WebSocket echo */

/* RFC 6455 5.6: echo the whole message with its own opcode (text stays text). */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  return rtw_ws_queue_message(ws, opcode, data, len, 0) == 0 ? 0 : -1;
}

/* Pick the first subprotocol the client offers that is in our list (RFC 6455 4.2.2 /subprotocol/). */
static int on_upgrade(rtw_ws_handshake_server *hs, void *user_data)
{
  conn *c = user_data;
  const serve_options *o = &c->srv->o;
  const char *name;
  size_t len, i, j;

  for (i = 0; rtw_ws_handshake_server_subprotocol(hs, i, &name, &len) == 1; i++)
    for (j = 0; j < o->nsubprotocols; j++)
      if (strlen(o->subprotocols[j]) == len && memcmp(o->subprotocols[j], name, len) == 0)
        return rtw_ws_handshake_server_select_subprotocol(hs, name, len);
  return 0;
}

static void ws_input(conn *c, const unsigned char *p, size_t n)
{
  size_t nread;

  /* Errors are sticky and the session has queued its close frame (1002, 1007, 1009, ...):
   * conn_flush writes it and closes once the session is over. */
  (void)rtw_ws_recv(c->ws, p, n, &nread);
  conn_flush(c);
}

/* ------------------------------------------------------------------ SSE */

/* Queue bytes of the event stream, framed as a chunk on HTTP/1.1 (RFC 9112 7.1). */
static int sse_append(conn *c, const void *p, size_t n)
{
  char hdr[RTW_SSE_HTTP_CHUNK_OVERHEAD];
  int hl;

  if (c->out.len > SSE_MAX_BACKLOG) {
    fprintf(stderr, "rtwcat: serve: dropping an SSE client that does not read\n");
    conn_close(c);
    return -1;
  }
  if (!c->chunked)
    return rtwcat_buf_append(&c->out, p, n);
  hl = snprintf(hdr, sizeof hdr, "%zx\r\n", n);
  if (rtwcat_buf_append(&c->out, hdr, (size_t)hl) != 0 || rtwcat_buf_append(&c->out, p, n) != 0 ||
      rtwcat_buf_append(&c->out, "\r\n", 2) != 0) {
    conn_close(c);
    return -1;
  }
  return 0;
}

static void sse_send(conn *c, const void *p, size_t n)
{
  if (sse_append(c, p, n) == 0)
    conn_flush(c);
}

static void broadcast(server *s, const void *p, size_t n)
{
  conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (c->kind == K_SSE)
      sse_send(c, p, n);
  }
}

/* One stdin line becomes an event with the next id (WHATWG HTML 9.2.4, 9.2.6). */
static void publish(server *s, const char *line, size_t len)
{
  char id[24];
  int idn = snprintf(id, sizeof id, "%" PRIu64, s->next_id);
  size_t need;
  rtw_sse_event ev = {.id = id, .id_len = (size_t)idn, .data = line, .data_len = len};
  int rc = rtw_sse_write_event(NULL, 0, &need, &ev, 0);

  if (rc != 0) {
    fprintf(stderr, "rtwcat: serve: stdin line skipped: %s\n", rtw_strerror(rc));
    return;
  }
  if (need > s->ev_cap) {
    char *p = realloc(s->ev, need);
    if (p == NULL) {
      fprintf(stderr, "rtwcat: serve: out of memory; stdin line skipped\n");
      return;
    }
    s->ev = p;
    s->ev_cap = need;
  }
  (void)rtw_sse_write_event(s->ev, s->ev_cap, &need, &ev, 0);
  s->next_id++;
  rc = rtw_sse_history_push(s->history, id, (size_t)idn, s->ev, need, NULL);
  if (rc != 0)
    fprintf(stderr, "rtwcat: serve: event %s not kept for replay: %s\n", id, rtw_strerror(rc));
  broadcast(s, s->ev, need);
}

/* Split stdin into lines; a final line without LF counts at EOF. A CR before the LF is
 * dropped so CRLF input gives the same events. */
static void stdin_bytes(server *s, const unsigned char *p, size_t n, int eof)
{
  while (n > 0) {
    const unsigned char *nl = memchr(p, '\n', n);
    size_t take = nl != NULL ? (size_t)(nl - p) : n;

    if (!s->line_skip && s->line.len + take > MAX_LINE) {
      fprintf(stderr, "rtwcat: serve: stdin line longer than %u bytes skipped\n", MAX_LINE);
      s->line_skip = 1;
      rtwcat_buf_free(&s->line);
    }
    if (!s->line_skip && rtwcat_buf_append(&s->line, p, take) != 0) {
      s->line_skip = 1;
      rtwcat_buf_free(&s->line);
    }
    if (nl == NULL)
      break;
    if (!s->line_skip) {
      size_t len = s->line.len;
      const char *l = (const char *)s->line.data + s->line.off;
      if (len > 0 && l[len - 1] == '\r')
        len--;
      publish(s, l, len);
    }
    s->line_skip = 0;
    rtwcat_buf_consume(&s->line, s->line.len);
    p += take + 1;
    n -= take + 1;
  }
  if (eof && s->line.len > 0 && !s->line_skip)
    publish(s, (const char *)s->line.data + s->line.off, s->line.len);
  if (eof)
    rtwcat_buf_free(&s->line);
}

/* Returns 1 at EOF or on a read error (stop watching stdin), else 0. */
static int read_stdin(server *s)
{
  ssize_t r = read(STDIN_FILENO, s->rbuf, sizeof s->rbuf);

  if (r < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (r < 0)
    fprintf(stderr, "rtwcat: serve: reading standard input: %s\n", strerror(errno));
  stdin_bytes(s, s->rbuf, r > 0 ? (size_t)r : 0, r <= 0);
  return r <= 0;
}

static void heartbeat(server *s)
{
  static const char hb[] = ": heartbeat\n";

  broadcast(s, hb, sizeof hb - 1);
}

/* ------------------------------------------------------------------ plain HTTP */

static void respond(conn *c, int status, const char *reason, const char *body)
{
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   status, reason, strlen(body), body);

  c->kind = K_DRAIN;
  if (rtwcat_buf_append(&c->out, buf, (size_t)n) != 0) {
    conn_close(c);
    return;
  }
  conn_flush(c);
}

/* GET /events: the stream head, the replay (WHATWG 9.2.4 Last-Event-ID), then live. */
static void start_events(conn *c)
{
  server *s = c->srv;
  rtw_sse_http_request *req = NULL;
  char head[256];
  size_t used, hn;
  uint64_t seq;
  int rc;

  if (rtw_sse_http_request_new(&req, NULL, NULL) != 0) {
    conn_close(c);
    return;
  }
  rc = rtw_sse_http_request_recv(req, c->head.data + c->head.off, c->head.len, &used);
  if (rc != RTW_SSE_HTTP_DONE) {
    rtw_sse_http_request_free(req);
    if (rc == RTW_ERR_HTTP_BAD_METHOD)
      respond(c, 405, "Method Not Allowed", "only GET is allowed here\n");
    else
      respond(c, 400, "Bad Request", "bad request\n");
    return;
  }
  c->chunked = rtw_sse_http_request_chunked(req) == 1;
  (void)rtw_sse_http_response(head, sizeof head, &hn,
                              c->chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0, NULL, 0);
  rc = rtw_sse_http_request_resume(req, s->history, &seq);
  rtw_sse_http_request_free(req);
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  rtwcat_buf_free(&c->head);
  c->kind = K_SSE;
  if (rtwcat_buf_append(&c->out, head, hn) != 0) {
    conn_close(c);
    return;
  }
  if (rc == RTW_ERR_SSE_HISTORY_GAP) {
    static const char gap[] = ": gap\n";
    if (sse_append(c, gap, sizeof gap - 1) != 0)
      return;
  } else if (rc == 0) {
    for (; seq < rtw_sse_history_next_seq(s->history); seq++) {
      const void *ev;
      size_t evlen;
      if (rtw_sse_history_get(s->history, seq, &ev, &evlen) == 0 &&
          sse_append(c, ev, evlen) != 0)
        return;
    }
  }
  conn_flush(c);
}

static void route_plain(conn *c)
{
  const char *path;
  size_t len;

  if (rtw_ws_handshake_server_path(c->hs, &path, &len) == 1 && len == 7 &&
      memcmp(path, "/events", 7) == 0)
    start_events(c);
  else
    respond(c, 404, "Not Found", "not found\n");
}

static void handshake_input(conn *c, const unsigned char *p, size_t n)
{
  server *s = c->srv;
  size_t used;
  int rc = rtw_ws_handshake_server_recv(c->hs, p, n, &used);
  const void *resp;
  size_t resp_len;

  if (rtwcat_buf_append(&c->head, p, used) != 0) {
    conn_close(c);
    return;
  }
  if (rc == RTW_WS_HANDSHAKE_INCOMPLETE)
    return;
  if (rc == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    route_plain(c);
    return;
  }
  if (rtw_ws_handshake_server_response(c->hs, &resp, &resp_len) != 0 ||
      rtwcat_buf_append(&c->out, resp, resp_len) != 0) {
    conn_close(c);
    return;
  }
  if (rc != RTW_WS_HANDSHAKE_DONE) {
    c->kind = K_DRAIN; /* 400, 426, 431, 500: write and close */
    conn_flush(c);
    return;
  }
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  rtwcat_buf_free(&c->head);
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &s->wscb, &s->wsset, NULL, c) != 0) {
    conn_close(c);
    return;
  }
  c->kind = K_WS;
  /* frames that arrived with the request belong to the session (docs/handshake.md) */
  ws_input(c, p + used, n - used);
}

/* ------------------------------------------------------------------ I/O */

/* Arm the session's close timer and note its deadline for the loop. */
static void tick_one(conn *c, uint64_t now)
{
  server *s = c->srv;
  uint64_t d;

  c->ticking = 1;
  if (rtw_ws_tick(c->ws, now) != 0) {
    conn_close(c); /* the peer never answered our close (RFC 6455 7.1.1 leaves it to us) */
    return;
  }
  d = rtw_ws_next_deadline(c->ws);
  if (d < s->next_tick)
    s->next_tick = d;
}

/* Write what is pending; close when done; choose the epoll interest. */
static void conn_flush(conn *c)
{
  int r = 0;

  if (c->fd < 0)
    return;
  if (c->out.len > 0)
    r = rtwcat_buf_flush(c->fd, &c->out);
  if (r == 0 && c->ws != NULL)
    r = rtwcat_ws_flush(c->fd, c->ws);
  if (r < 0) {
    conn_close(c);
    return;
  }
  if (r == 1) {
    set_events(c, c->kind == K_SSE ? EPOLLIN | EPOLLOUT : EPOLLOUT);
    return;
  }
  if (c->kind == K_DRAIN) {
    (void)shutdown(c->fd, SHUT_WR);
    conn_close(c);
    return;
  }
  if (c->ws != NULL) {
    if (!rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws)) {
      conn_close(c); /* closing handshake complete, or the session failed */
      return;
    }
    if (rtw_ws_close_sent(c->ws) != 0)
      tick_one(c, rtwcat_now_ms());
    if (c->fd < 0)
      return;
  }
  set_events(c, EPOLLIN);
}

static void conn_read(conn *c)
{
  server *s = c->srv;
  ssize_t n = read(c->fd, s->rbuf, sizeof s->rbuf);

  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR)
      conn_close(c);
    return;
  }
  if (n == 0) {
    conn_close(c); /* the peer went away (a WebSocket peer without a close frame) */
    return;
  }
  switch (c->kind) {
  case K_HTTP:
    handshake_input(c, s->rbuf, (size_t)n);
    break;
  case K_WS:
    ws_input(c, s->rbuf, (size_t)n);
    break;
  default:
    break; /* SSE clients and drained connections have nothing more to say */
  }
}

static void accept_all(server *s)
{
  uint64_t now = rtwcat_now_ms();

  for (;;) {
    struct epoll_event ev;
    conn *c;
    int fd = accept(s->lfd, NULL, NULL);

    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        fprintf(stderr, "rtwcat: serve: %s; not accepting until a connection closes\n",
                strerror(errno));
        (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
        s->listen_paused = 1;
      }
      return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || rtwcat_set_nonblock(fd) != 0 ||
        rtw_ws_handshake_server_new(&c->hs, &s->hscb, NULL, NULL, c) != 0) {
      if (c != NULL)
        conn_free(c);
      close(fd);
      continue;
    }
    rtwcat_set_nodelay(fd);
    c->fd = fd;
    c->born = now;
    c->srv = s;
    c->kind = K_HTTP;
    c->events = EPOLLIN;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      conn_free(c);
      close(fd);
      continue;
    }
    c->next = s->conns;
    if (s->conns != NULL)
      s->conns->prev = c;
    s->conns = c;
    s->nconns++;
  }
}

/* Close connections still without a complete request head after HEAD_TIMEOUT_MS. */
static void sweep(server *s, uint64_t now)
{
  conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (c->kind == K_HTTP && now - c->born >= HEAD_TIMEOUT_MS)
      conn_close(c);
  }
  s->next_sweep = now + SWEEP_MS;
}

static void tick_all(server *s, uint64_t now)
{
  conn *c, *next;

  s->next_tick = UINT64_MAX;
  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (c->ticking)
      tick_one(c, now);
  }
}

/* ------------------------------------------------------------------ command line */

enum { OPT_HOST, OPT_PORT, OPT_MAX_MESSAGE, OPT_SUBPROTOCOL, OPT_HISTORY, OPT_HEARTBEAT };

static const rtwcat_option options[] = {
  [OPT_HOST] = {"--host", 1},
  [OPT_PORT] = {"--port", 1},
  [OPT_MAX_MESSAGE] = {"--max-message", 1},
  [OPT_SUBPROTOCOL] = {"--subprotocol", 1},
  [OPT_HISTORY] = {"--history", 1},
  [OPT_HEARTBEAT] = {"--heartbeat", 1},
  {NULL, 0},
};

static int set_option(const rtwcat_command *cmd, void *opts, int which, const char *v)
{
  serve_options *o = opts;
  uint64_t port;

  switch (which) {
  case OPT_HOST:
    o->host = v;
    break;
  case OPT_PORT:
    if (rtwcat_parse_u64(v, 65535, &port) != 0)
      return rtwcat_usage_error(cmd, "--port: '%s' is not a port number (0-65535)", v);
    o->port = v;
    break;
  case OPT_MAX_MESSAGE:
    if (rtwcat_parse_u64(v, (uint64_t)1 << 40, &o->max_message) != 0 || o->max_message == 0)
      return rtwcat_usage_error(cmd, "--max-message: '%s' is not a size in bytes", v);
    break;
  case OPT_SUBPROTOCOL:
    if (o->nsubprotocols == MAX_SUBPROTOCOLS)
      return rtwcat_usage_error(cmd, "at most %d --subprotocol options", MAX_SUBPROTOCOLS);
    o->subprotocols[o->nsubprotocols++] = v;
    break;
  case OPT_HISTORY:
    if (rtwcat_parse_u64(v, 1u << 24, &o->history) != 0 || o->history == 0)
      return rtwcat_usage_error(cmd, "--history: '%s' is not a number from 1 to %u", v,
                                1u << 24);
    break;
  default:
    if (rtwcat_parse_seconds(v, &o->heartbeat_ms) != 0)
      return rtwcat_usage_error(cmd, "--heartbeat: '%s' is not a number of seconds", v);
    break;
  }
  return -1;
}

static const rtwcat_option_spec option_spec = {options, set_option, ""};

/* ------------------------------------------------------------------ setup and loop */

/* Many connections need many descriptors: raise the soft limit to the hard one. */
static void raise_fd_limit(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int watch(server *s, int fd, void *tag)
{
  struct epoll_event ev;

  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int setup(server *s)
{
  unsigned port;
  uint64_t max_out;

  s->wscb.version = RTW_WS_CALLBACKS_VERSION;
  s->wscb.on_message = on_message;
  s->wsset.version = RTW_WS_SETTINGS_VERSION;
  s->wsset.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  s->wsset.max_message_size = s->o.max_message;
  s->wsset.max_frame_size = s->o.max_message; /* one unfragmented message may be that big */
  /* an echo queues at most one read's worth of messages beyond the largest one */
  max_out = s->o.max_message + 2u * 1024u * 1024u;
  s->wsset.max_outbound = max_out > SIZE_MAX ? SIZE_MAX : (size_t)max_out;
  s->hscb.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION;
  s->hscb.on_upgrade = on_upgrade;
  s->next_id = 1;
  s->next_tick = UINT64_MAX;
  s->next_heartbeat = UINT64_MAX;
  s->next_sweep = rtwcat_now_ms() + SWEEP_MS;
  if (rtw_sse_history_new(&s->history, (size_t)s->o.history, HISTORY_BYTES, NULL) != 0) {
    fprintf(stderr, "rtwcat: serve: cannot create the replay history\n");
    return -1;
  }
  if ((s->sigfd = rtwcat_signals_open()) < 0)
    return -1;
  if ((s->ep = epoll_create1(0)) < 0) {
    fprintf(stderr, "rtwcat: serve: epoll_create1: %s\n", strerror(errno));
    return -1;
  }
  raise_fd_limit();
  if ((s->lfd = rtwcat_listen(s->o.host, s->o.port, &port)) < 0)
    return -1;
  if (watch(s, s->lfd, &tag_listen) != 0 || watch(s, s->sigfd, &tag_signal) != 0) {
    fprintf(stderr, "rtwcat: serve: epoll_ctl: %s\n", strerror(errno));
    return -1;
  }
  if (strchr(s->o.host, ':') != NULL)
    printf("listening on http://[%s]:%u/\n", s->o.host, port);
  else
    printf("listening on http://%s:%u/\n", s->o.host, port);
  fflush(stdout);
  /* stdin: a pipe or terminal is watched; a regular file or /dev/null (which epoll refuses)
   * is read to its end now. */
  if (watch(s, STDIN_FILENO, &tag_stdin) == 0)
    s->stdin_polled = 1;
  else
    while (read_stdin(s) == 0)
      ;
  if (s->o.heartbeat_ms > 0)
    s->next_heartbeat = rtwcat_now_ms() + s->o.heartbeat_ms;
  return 0;
}

static int timeout_for(const server *s)
{
  uint64_t next = s->next_tick < s->next_heartbeat ? s->next_tick : s->next_heartbeat;
  uint64_t now = rtwcat_now_ms();

  if (s->next_sweep < next)
    next = s->next_sweep;
  if (next <= now)
    return 0;
  return next - now > 60000 ? 60000 : (int)(next - now);
}

/* Returns 1 when a signal asked us to stop. */
static int handle(server *s, struct epoll_event *ev)
{
  void *tag = ev->data.ptr;

  if (tag == &tag_listen) {
    accept_all(s);
  } else if (tag == &tag_signal) {
    return rtwcat_signals_read(s->sigfd) != 0;
  } else if (tag == &tag_stdin) {
    if (read_stdin(s)) {
      (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
      s->stdin_polled = 0;
    }
  } else {
    conn *c = tag;
    if (c->fd >= 0 && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->events & EPOLLIN))
      conn_read(c);
    if (c->fd >= 0 && (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (c->events & EPOLLOUT))
      conn_flush(c);
  }
  return 0;
}

/* SIGINT/SIGTERM: say goodbye where the protocol has a way (RFC 6455 7.4.1 1001 "going
 * away"; the last chunk of an SSE stream), make one attempt to write it, close. */
static void shutdown_all(server *s)
{
  conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (c->kind == K_WS)
      (void)rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, "server shutting down", 20);
    else if (c->kind == K_SSE && c->chunked)
      (void)rtwcat_buf_append(&c->out, RTW_SSE_HTTP_LAST_CHUNK, 5);
    if (c->out.len > 0)
      (void)rtwcat_buf_flush(c->fd, &c->out);
    if (c->ws != NULL && c->out.len == 0)
      (void)rtwcat_ws_flush(c->fd, c->ws);
    conn_close(c);
  }
  free_dead(s);
}

static void teardown(server *s)
{
  shutdown_all(s);
  if (s->lfd >= 0)
    close(s->lfd);
  if (s->ep >= 0)
    close(s->ep);
  if (s->sigfd >= 0)
    close(s->sigfd);
  rtw_sse_history_free(s->history);
  rtwcat_buf_free(&s->line);
  free(s->ev);
  free(s);
}

int rtwcat_serve(const rtwcat_command *cmd, int argc, char **argv)
{
  serve_options o = {"127.0.0.1", "8080", RTW_WS_DEFAULT_MAX_MESSAGE_SIZE,
                     RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS, 15000, {NULL}, 0};
  struct epoll_event evs[256];
  server *s;
  int rc, stop = 0;

  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &o, NULL)) >= 0)
    return rc;
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    fprintf(stderr, "rtwcat: serve: out of memory\n");
    return RTWCAT_EXIT_FAILURE;
  }
  s->o = o;
  s->ep = s->lfd = s->sigfd = -1;
  if (setup(s) != 0) {
    teardown(s);
    return RTWCAT_EXIT_FAILURE;
  }
  while (!stop) {
    int i, n = epoll_wait(s->ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout_for(s));
    uint64_t now;

    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "rtwcat: serve: epoll_wait: %s\n", strerror(errno));
      teardown(s);
      return RTWCAT_EXIT_FAILURE;
    }
    for (i = 0; i < n; i++)
      stop |= handle(s, &evs[i]);
    free_dead(s);
    now = rtwcat_now_ms();
    if (now >= s->next_tick || now >= s->next_heartbeat || now >= s->next_sweep) {
      if (now >= s->next_sweep)
        sweep(s, now);
      if (now >= s->next_tick)
        tick_all(s, now);
      if (now >= s->next_heartbeat) {
        heartbeat(s);
        s->next_heartbeat = now + s->o.heartbeat_ms;
      }
      free_dead(s);
    }
  }
  fprintf(stderr, "rtwcat: serve: shutting down\n");
  teardown(s);
  return RTWCAT_EXIT_OK;
}
