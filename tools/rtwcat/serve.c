/* SPDX-License-Identifier: MIT */
/* rtwcat serve: one listener, an epoll loop; WebSocket echo on every upgrade, an SSE stream
 * fed from stdin at /events, 404 for anything else.
 *
 * Every connection starts in HTTP state with an rtw_ws_handshake_server. The handshake
 * decides (docs/handshake.md, "One port"):
 *
 *   HTTP --upgrade, 101--> WS     rtw_ws session; each whole message is queued back with its
 *                                 opcode (RFC 6455 5.6); pings and the close are answered
 *                                 by the engine, which echoes the peer's close code (5.5.1).
 *                                 With --deflate, on_upgrade accepts permessage-deflate
 *                                 (RFC 7692) and the session inflates what arrives and
 *                                 compresses the echo under the negotiated parameters
 *   HTTP --GET /events--> SSE     an rtw_sse_stream made from the handshake server's view of
 *                                 the request (no copy of the head, no second parse): the
 *                                 replay after Last-Event-ID, then live events from the
 *                                 shared history (WHATWG HTML 9.2.4), ": heartbeat"
 *   HTTP --other/error--> DRAIN   a 404 (or the handshake's 4xx) is written, then LINGER
 *   WS --failed--> LINGER         our close frame (1002, 1007, ...) is written and our side
 *                                 shut down; what the peer still sends is read and dropped
 *                                 until its EOF or the close timeout, so close() does not
 *                                 turn into a reset that could destroy the close frame
 *
 * Backpressure. A WebSocket connection reads 64 KiB at a time straight into rtw_ws_recv()
 * and writes what the session has pending at once with writev(). The session's input gate
 * (outbound_high_water) stops the parse while more than 1 MiB waits to be written; the rest
 * of the read is kept in the connection's `in` and fed once the gate opens, and the socket
 * is not polled for input meanwhile. max_outbound leaves room for one whole echo above the
 * gate (ws.h, "Backpressure recipe"), so an echo is never refused and never lost. An SSE
 * stream pulls events from the history only while its output is under 256 KiB; a subscriber
 * that falls further behind than the history reaches is dropped.
 *
 * Timers (all swept every `sweep_ms`, a fraction of the smallest timeout, for every
 * connection; docs/rtwcat.md lists the defaults and flags):
 *   head timeout     HTTP: the request head must be complete in time
 *   keepalive        WS: a ping after silence, and the session fails without its pong
 *   idle timeout     WS: no whole message or control frame for that long: close 1001
 *   write timeout    WS and SSE (the engines' send_timeout_ms), DRAIN: output pending and
 *                    none of it taken for that long: the peer stopped reading, close
 *   close timeout    WS: after our close frame, the peer's close must follow
 * so a peer that trickles bytes, never reads or never answers cannot hold a descriptor.
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
#include "rtweb/tls.h"
#include "rtweb/ws.h"

#include "net.h"
#include "rtwcat.h"

#define MAX_SUBPROTOCOLS 32
#define READ_BUF (64u * 1024u)
/* Bytes the replay history keeps; every event goes through it, so it bounds a stdin line. */
#define HISTORY_BYTES (8u * 1024u * 1024u)
#define MAX_LINE HISTORY_BYTES
/* Timer defaults, in milliseconds (docs/rtwcat.md, SERVE). */
#define DEFAULT_HEAD_TIMEOUT_MS 30000u
#define DEFAULT_KEEPALIVE_MS 30000u
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_WRITE_TIMEOUT_MS 30000u
#define DEFAULT_CLOSE_TIMEOUT_MS RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS
/* Largest timer value: the engines take 32-bit milliseconds. */
#define MAX_TIMEOUT_MS 4294967295u

enum { K_HTTP, K_WS, K_SSE, K_DRAIN, K_LINGER };

typedef struct serve_options {
  const char *host;
  const char *port;
  uint64_t max_message;
  uint64_t history;
  uint64_t heartbeat_ms; /* 0: off */
  uint64_t head_timeout_ms;
  uint64_t keepalive_ms;  /* 0: off */
  uint64_t idle_ms;       /* 0: off */
  uint64_t write_ms;      /* 0: off */
  uint64_t close_ms;
  const char *subprotocols[MAX_SUBPROTOCOLS];
  size_t nsubprotocols;
  rtwcat_deflate deflate; /* --deflate: accept permessage-deflate (RFC 7692) */
  const char *tls_cert;   /* --tls-cert: serve TLS with this chain ... */
  const char *tls_key;    /* ... and --tls-key */
  uint64_t tls_handshake_ms; /* --tls-handshake-timeout */
} serve_options;

typedef struct server server;
typedef struct conn conn;

struct conn {
  rtwcat_conn io;  /* the socket (fd -1 once closed: the struct is freed at the end of the
                      loop turn), with its TLS engine under --tls-cert */
  int kind;        /* K_* */
  int idle_closed; /* WS: we sent close 1001 for the idle timeout */
  uint32_t events; /* the epoll interest set now registered */
  uint64_t born;   /* when it was accepted (head timeout) */
  uint64_t last_frame; /* WS: when the last whole message or control frame arrived */
  uint64_t out_since;  /* `out` pending since, or last written to (write timeout) */
  uint64_t next_heartbeat; /* SSE: when the next ': heartbeat' comment is due */
  server *srv;
  rtw_ws_handshake_server *hs;
  rtw_ws *ws;
  rtw_sse_stream *sse;
  int deflate;     /* the handshake accepted permessage-deflate with `negotiated` */
  rtw_ws_deflate_params negotiated;
  rtwcat_buf in;  /* WS: input the session has not taken yet (its input gate closed) */
  rtwcat_buf out; /* bytes to write before the session's (101, error response) */
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
  rtw_tls_config *tls; /* --tls-cert/--tls-key: every connection speaks TLS */
  uint64_t next_id; /* the id of the next stdin event */
  rtwcat_buf line;  /* the stdin line being read */
  int line_skip;    /* the current line is too long and is being dropped */
  char *ev;         /* scratch for one serialised event */
  size_t ev_cap;
  uint64_t now;       /* the loop's clock, read once per turn */
  uint64_t sweep_ms;  /* how often the timers are checked */
  uint64_t next_sweep;
  rtw_ws_callbacks wscb;
  rtw_ws_settings wsset;
  rtw_ws_handshake_server_callbacks hscb;
  rtw_sse_stream_settings sseset;
  rtw_sse_stream_callbacks ssecb;
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
  if (epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->io.fd, &ev) == 0)
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

  if (c->io.fd < 0)
    return;
  (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, c->io.fd, NULL);
  rtwcat_conn_close(&c->io); /* TLS: close_notify first, once the handshake is done */
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
  rtw_tls_free(c->io.tls); /* NULL once conn_close() ran */
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_sse_stream_free(c->sse);
  rtwcat_buf_free(&c->in);
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

/* RFC 6455 5.6: echo the whole message with its own opcode (text stays text). The input
 * gate guarantees room (max_outbound, see setup()); after our close RTW_ERR_WS_CLOSED is
 * ignored by the session. */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  conn *c = user_data;

  c->last_frame = c->srv->now;
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

/* Control frames count as activity for the idle timeout (pongs to our keepalive included). */
static int on_control(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  conn *c = user_data;

  (void)ws;
  (void)data;
  (void)len;
  c->last_frame = c->srv->now;
  return 0;
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                    void *user_data)
{
  (void)code;
  (void)reason;
  (void)reason_len;
  return on_control(ws, NULL, 0, user_data);
}

/* With --deflate, accept the first permessage-deflate offer our policy allows (RFC 7692
 * 5, 7.1); the answer goes into the 101 and the parameters to the session (start_ws()).
 * Without an acceptable offer the connection goes on uncompressed. Then pick the first
 * subprotocol the client offers that is in our list (RFC 6455 4.2.2 /subprotocol/). */
static int on_upgrade(rtw_ws_handshake_server *hs, void *user_data)
{
  conn *c = user_data;
  const serve_options *o = &c->srv->o;
  const char *name;
  size_t len, i, j;

  if (o->deflate.on) {
    int rc = rtw_ws_handshake_server_accept_deflate(hs, &o->deflate.cfg, &c->negotiated);
    if (rc == RTW_ERR_NOMEM)
      return rc;
    c->deflate = rc == 1; /* 0: none acceptable; an error: go on without it */
  }
  for (i = 0; rtw_ws_handshake_server_subprotocol(hs, i, &name, &len) == 1; i++)
    for (j = 0; j < o->nsubprotocols; j++)
      if (strlen(o->subprotocols[j]) == len && memcmp(o->subprotocols[j], name, len) == 0)
        return rtw_ws_handshake_server_select_subprotocol(hs, name, len);
  return 0;
}

/* Feed input to the session. What it does not take (its input gate closed: RTW_ERR_PAUSE)
 * is kept in c->in. A protocol error is sticky and the session has queued its close frame
 * (1002, 1007, 1009, ...): conn_flush writes it and closes once the session is over. */
static void ws_feed(conn *c, const unsigned char *p, size_t n)
{
  size_t nread = 0;
  int rc = rtw_ws_recv(c->ws, p, n, &nread);

  if (rc == RTW_ERR_PAUSE && nread < n && rtwcat_buf_append(&c->in, p + nread, n - nread) != 0)
    conn_close(c);
}

/* Feed what c->in holds, once the gate is open again. Returns 1 when input was taken. */
static int ws_feed_kept(conn *c)
{
  size_t nread = 0, len = c->in.len;

  if (len == 0 || !rtw_ws_want_read(c->ws))
    return 0;
  (void)rtw_ws_recv(c->ws, c->in.data + c->in.off, len, &nread);
  rtwcat_buf_consume(&c->in, nread);
  if (c->in.len == 0)
    rtwcat_buf_free(&c->in); /* up to 64 KiB: do not hold it on an idle connection */
  return nread > 0;
}

/* ------------------------------------------------------------------ SSE */

/* WHATWG HTML 9.2.4: the Last-Event-ID is no longer (or never was) in the history: say so
 * with a comment before the live events, so a client can tell it missed some. */
static int on_gap(rtw_sse_stream *stream, uint32_t reason, void *user_data)
{
  static const char gap[] = "gap";

  (void)user_data;
  if (reason == RTW_SSE_STREAM_GAP_RESUME)
    return rtw_sse_stream_comment(stream, gap, sizeof gap - 1) == 0 ? 0 : -1;
  return 0;
}

/* Give every stream the chance to pull what the history now holds. */
static void wake_streams(server *s)
{
  conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    /* a stream waiting for EPOLLOUT pulls the new events when the socket takes more */
    if (c->kind == K_SSE && !(c->events & EPOLLOUT) && rtw_sse_stream_want_write(c->sse))
      conn_flush(c);
  }
}

/* One stdin line becomes an event with the next id (WHATWG HTML 9.2.4, 9.2.6), kept in the
 * history that every stream reads. */
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
  rc = rtw_sse_history_push(s->history, id, (size_t)idn, s->ev, need, NULL);
  if (rc != 0) {
    fprintf(stderr, "rtwcat: serve: stdin line skipped: %s\n", rtw_strerror(rc));
    return;
  }
  s->next_id++;
  /* each event is offered at once, so a burst of lines longer than the history does not
   * push a subscriber that reads out of it */
  wake_streams(s);
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
  if (eof || (s->line.len == 0 && s->line.cap > READ_BUF))
    rtwcat_buf_free(&s->line); /* a long line's buffer is not kept */
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

/* Write what the stream has pending. Same results as rtwcat_ws_flush(); a stream that
 * failed (slow consumer, send timeout) is reported as -1 once its last bytes are out. */
static int sse_flush(conn *c)
{
  for (;;) {
    rtw_iovec v;
    size_t taken = 0;
    int rc = rtw_sse_stream_send_pending(c->sse, &v.base, &v.len);

    if (rc != 0 && rc != RTW_ERR_SSE_SLOW_CONSUMER && rc != RTW_ERR_CALLBACK_FAILURE)
      return -1; /* out of memory or a send timeout: the output is gone */
    if (v.len == 0) {
      if ((rc = rtwcat_conn_flush(&c->io)) != 0)
        return rc; /* TLS records still on their way */
      return rtw_sse_stream_done(c->sse) ? -1 : 0;
    }
    rc = rtwcat_conn_writev(&c->io, &v, 1, &taken);
    (void)rtw_sse_stream_send_consumed(c->sse, taken);
    if (rc != 0)
      return rc;
    if (taken == 0)
      return -1; /* TLS takes nothing more (closed) */
  }
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
  c->out_since = c->srv->now;
  if (rtwcat_buf_append(&c->out, buf, (size_t)n) != 0) {
    conn_close(c);
    return;
  }
  conn_flush(c);
}

/* GET /events: the stream answers the request the handshake server parsed (its view). */
static void start_events(conn *c)
{
  server *s = c->srv;
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(c->hs);
  int rc = rtw_sse_http_request_outcome(req);

  if (rc != RTW_SSE_HTTP_DONE) {
    if (rc == RTW_ERR_HTTP_BAD_METHOD)
      respond(c, 405, "Method Not Allowed", "only GET is allowed here\n");
    else
      respond(c, 400, "Bad Request", "bad request\n");
    return;
  }
  if (rtw_sse_stream_new(&c->sse, req, s->history, &s->ssecb, &s->sseset, NULL, c) != 0) {
    conn_close(c);
    return;
  }
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  c->kind = K_SSE;
  c->next_heartbeat = s->now + s->o.heartbeat_ms;
  (void)rtw_sse_stream_tick(c->sse, s->now); /* arm its send timeout */
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

static void start_ws(conn *c, const unsigned char *rest, size_t n)
{
  server *s = c->srv;

  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &s->wscb, &s->wsset, NULL, c) != 0) {
    conn_close(c);
    return;
  }
  if (c->deflate && rtw_ws_set_deflate(c->ws, &c->negotiated, &s->o.deflate.cfg) != 0) {
    conn_close(c); /* cannot happen for parameters our own policy accepted */
    return;
  }
  c->kind = K_WS;
  c->last_frame = s->now;
  (void)rtw_ws_tick(c->ws, s->now); /* arm keepalive and the send timeout now */
  /* frames that arrived with the request belong to the session (docs/handshake.md) */
  if (n > 0)
    ws_feed(c, rest, n);
  if (c->io.fd >= 0)
    conn_flush(c);
}

static void handshake_input(conn *c, const unsigned char *p, size_t n)
{
  size_t used;
  int rc = rtw_ws_handshake_server_recv(c->hs, p, n, &used);
  const void *resp;
  size_t resp_len;

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
  c->out_since = c->srv->now;
  if (rc != RTW_WS_HANDSHAKE_DONE) {
    c->kind = K_DRAIN; /* 400, 426, 431, 500: write and close */
    conn_flush(c);
    return;
  }
  start_ws(c, p + used, n - used);
}

/* ------------------------------------------------------------------ I/O */

/* Write c->out, then the engine's output. Same results as rtwcat_ws_flush(). */
static int write_out(conn *c)
{
  size_t before = c->out.len;
  int r = 0;

  if (c->out.len > 0) {
    r = rtwcat_buf_flush(&c->io, &c->out);
    if (c->out.len < before)
      c->out_since = c->srv->now; /* progress (write timeout) */
  }
  if (r != 0)
    return r;
  if (c->ws != NULL)
    return rtwcat_ws_flush(&c->io, c->ws);
  if (c->sse != NULL)
    return sse_flush(c);
  return rtwcat_conn_flush(&c->io); /* TLS handshake messages */
}

/* After our close frame on a failure, or an error response: shut our side down (the peer
 * sees EOF after the last byte), drop its input until its EOF, at most the close timeout
 * (sweep_one()). Closing with unread input would send a reset instead, and a reset can
 * destroy what the peer has not read yet. */
static void linger(conn *c)
{
  c->kind = K_LINGER;
  c->out_since = c->srv->now;
  rtwcat_conn_shutdown(&c->io); /* TLS: close_notify, then the TCP FIN */
  set_events(c, EPOLLIN);
}

/* The epoll interest once the output is written as far as it goes (r: write_out()). */
static uint32_t interest(const conn *c, int r)
{
  uint32_t ev = r == 1 ? EPOLLOUT : 0;

  if (c->kind == K_WS && c->in.len == 0 && rtw_ws_want_read(c->ws))
    ev |= EPOLLIN;
  if (c->kind == K_SSE || c->kind == K_HTTP || c->kind == K_LINGER)
    ev |= EPOLLIN; /* an SSE client's EOF shows as input */
  return ev;
}

/* Write what is pending, feed input the WebSocket session kept back once it wants it,
 * close when done; choose the epoll interest. */
static void conn_flush(conn *c)
{
  int r;

  for (;;) {
    if (c->io.fd < 0)
      return;
    r = write_out(c);
    if (r < 0) {
      conn_close(c); /* a write error, or an SSE stream that ended */
      return;
    }
    if (r == 0 && c->kind == K_WS && ws_feed_kept(c))
      continue; /* the kept input may queue more echoes */
    break;
  }
  if (c->kind == K_DRAIN && r == 0) {
    linger(c); /* the response is out; the client closes after reading it */
    return;
  }
  /* r == 0: with TLS the session's last frames may still wait as records */
  if (c->kind == K_WS && r == 0 && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws)) {
    if (rtw_ws_close_received(c->ws) != 0) {
      conn_close(c); /* closing handshake complete: RFC 6455 7.1.1, the server closes the
                        TCP connection first */
      return;
    }
    linger(c); /* the session failed (7.1.7): the peer may still be sending */
    return;
  }
  set_events(c, interest(c, r));
}

static void conn_read(conn *c)
{
  server *s = c->srv;
  ssize_t n;

  if (c->kind == K_WS && c->in.len > 0)
    return; /* not polled for input then: kept input goes first, never out of order */
  n = rtwcat_conn_read(&c->io, s->rbuf, sizeof s->rbuf);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR)
      conn_close(c); /* TLS: a failed handshake or record, plain HTTP on the TLS port */
    else if (rtwcat_conn_want_write(&c->io))
      conn_flush(c); /* a TLS handshake step the socket did not take at once */
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
    ws_feed(c, s->rbuf, (size_t)n);
    conn_flush(c);
    break;
  default:
    break; /* SSE clients, drained and lingering connections: input is dropped */
  }
}

static void accept_all(server *s)
{
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
        rtw_ws_handshake_server_new(&c->hs, &s->hscb, NULL, NULL, c) != 0 ||
        (s->tls != NULL && rtwcat_conn_tls(&c->io, s->tls, NULL) != 0)) {
      if (c != NULL)
        conn_free(c);
      close(fd);
      continue;
    }
    rtwcat_set_nodelay(fd);
    c->io.fd = fd;
    if (c->io.tls != NULL)
      (void)rtw_tls_tick(c->io.tls, s->now); /* starts the TLS handshake timer */
    c->born = s->now;
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

/* ------------------------------------------------------------------ timers */

/* WebSocket timers: the session's (keepalive, pong, close and send timeouts: on those the
 * peer is gone, nothing more is written) and the idle timeout (RFC 6455 7.4.1: 1001, the
 * endpoint is going away from this connection). */
static void sweep_ws(conn *c, uint64_t now)
{
  const serve_options *o = &c->srv->o;
  static const char idle[] = "idle timeout";

  if (rtw_ws_tick(c->ws, now) != 0) {
    conn_close(c);
    return;
  }
  if (o->idle_ms > 0 && !c->idle_closed && rtw_ws_close_sent(c->ws) == 0 &&
      now - c->last_frame >= o->idle_ms) {
    c->idle_closed = 1;
    (void)rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, idle, sizeof idle - 1);
  }
  conn_flush(c); /* a keepalive ping or our close may be queued */
}

/* Every --heartbeat seconds a ': heartbeat' comment (WHATWG HTML 9.2.6: clients ignore
 * comments; proxies see traffic), skipped while output is still waiting to be written. */
static void sse_heartbeat(conn *c, uint64_t now)
{
  static const char hb[] = "heartbeat";
  uint64_t every = c->srv->o.heartbeat_ms;

  if (every == 0 || now < c->next_heartbeat)
    return;
  if (rtw_sse_stream_outbound_size(c->sse) == 0)
    (void)rtw_sse_stream_comment(c->sse, hb, sizeof hb - 1);
  c->next_heartbeat = now + every;
}

static void sweep_one(conn *c, uint64_t now)
{
  const serve_options *o = &c->srv->o;

  switch (c->kind) {
  case K_HTTP:
    /* a TLS handshake not complete after --tls-handshake-timeout fails in the tick */
    if (now - c->born >= o->head_timeout_ms ||
        (c->io.tls != NULL && rtw_tls_tick(c->io.tls, now) != 0))
      conn_close(c);
    break;
  case K_WS:
    if (c->out.len > 0 && o->write_ms > 0 && now - c->out_since >= o->write_ms)
      conn_close(c); /* not even the 101 was taken */
    else
      sweep_ws(c, now);
    break;
  case K_SSE:
    if (rtw_sse_stream_tick(c->sse, now) == RTW_ERR_SEND_TIMEOUT) {
      conn_close(c);
      break;
    }
    sse_heartbeat(c, now);
    conn_flush(c); /* the heartbeat, or a slow consumer's last bytes */
    break;
  case K_LINGER:
    if (now - c->out_since >= o->close_ms)
      conn_close(c);
    break;
  default:
    if (o->write_ms > 0 && now - c->out_since >= o->write_ms)
      conn_close(c);
    break;
  }
}

static void sweep(server *s, uint64_t now)
{
  conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    sweep_one(c, now);
  }
  s->next_sweep = now + s->sweep_ms;
}

/* ------------------------------------------------------------------ command line */

enum { OPT_HOST, OPT_PORT, OPT_MAX_MESSAGE, OPT_SUBPROTOCOL, OPT_HISTORY, OPT_HEARTBEAT,
       OPT_HEAD_TIMEOUT, OPT_KEEPALIVE, OPT_IDLE_TIMEOUT, OPT_WRITE_TIMEOUT, OPT_CLOSE_TIMEOUT,
       OPT_DEFLATE, OPT_DEFLATE_LEVEL, OPT_DEFLATE_WINDOW, OPT_DEFLATE_PEER_WINDOW,
       OPT_DEFLATE_MEM_LEVEL, OPT_DEFLATE_THRESHOLD, OPT_DEFLATE_MEMORY,
       OPT_DEFLATE_CONTEXT_TAKEOVER, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_HANDSHAKE_TIMEOUT };

static const rtwcat_option options[] = {
  [OPT_HOST] = {"--host", 1},
  [OPT_PORT] = {"--port", 1},
  [OPT_MAX_MESSAGE] = {"--max-message", 1},
  [OPT_SUBPROTOCOL] = {"--subprotocol", 1},
  [OPT_HISTORY] = {"--history", 1},
  [OPT_HEARTBEAT] = {"--heartbeat", 1},
  [OPT_HEAD_TIMEOUT] = {"--head-timeout", 1},
  [OPT_KEEPALIVE] = {"--keepalive", 1},
  [OPT_IDLE_TIMEOUT] = {"--idle-timeout", 1},
  [OPT_WRITE_TIMEOUT] = {"--write-timeout", 1},
  [OPT_CLOSE_TIMEOUT] = {"--close-timeout", 1},
  [OPT_DEFLATE] = {"--deflate", 0},
  [OPT_DEFLATE_LEVEL] = {"--deflate-level", 1},
  [OPT_DEFLATE_WINDOW] = {"--deflate-window", 1},
  [OPT_DEFLATE_PEER_WINDOW] = {"--deflate-peer-window", 1},
  [OPT_DEFLATE_MEM_LEVEL] = {"--deflate-mem-level", 1},
  [OPT_DEFLATE_THRESHOLD] = {"--deflate-threshold", 1},
  [OPT_DEFLATE_MEMORY] = {"--deflate-memory", 1},
  [OPT_DEFLATE_CONTEXT_TAKEOVER] = {"--deflate-context-takeover", 0},
  [OPT_TLS_CERT] = {"--tls-cert", 1},
  [OPT_TLS_KEY] = {"--tls-key", 1},
  [OPT_TLS_HANDSHAKE_TIMEOUT] = {"--tls-handshake-timeout", 1},
  {NULL, 0},
};

/* A timer option: seconds (decimals allowed) up to MAX_TIMEOUT_MS; 0 only where it means
 * "off". Returns -1 to go on, or an exit status. */
static int parse_timer(const rtwcat_command *cmd, const char *name, const char *v,
                       int zero_ok, uint64_t *ms)
{
  if (rtwcat_parse_seconds(v, ms) != 0 || *ms > MAX_TIMEOUT_MS || (*ms == 0 && !zero_ok))
    return rtwcat_usage_error(cmd, "%s: '%s' is not a number of seconds (%s4294967)", name,
                              v, zero_ok ? "0 for off, up to " : "0.001 to ");
  return -1;
}

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
  case OPT_HEARTBEAT:
    return parse_timer(cmd, "--heartbeat", v, 1, &o->heartbeat_ms);
  case OPT_HEAD_TIMEOUT:
    return parse_timer(cmd, "--head-timeout", v, 0, &o->head_timeout_ms);
  case OPT_KEEPALIVE:
    return parse_timer(cmd, "--keepalive", v, 1, &o->keepalive_ms);
  case OPT_IDLE_TIMEOUT:
    return parse_timer(cmd, "--idle-timeout", v, 1, &o->idle_ms);
  case OPT_WRITE_TIMEOUT:
    return parse_timer(cmd, "--write-timeout", v, 1, &o->write_ms);
  case OPT_CLOSE_TIMEOUT:
    return parse_timer(cmd, "--close-timeout", v, 0, &o->close_ms);
  case OPT_TLS_CERT:
    o->tls_cert = v;
    break;
  case OPT_TLS_KEY:
    o->tls_key = v;
    break;
  case OPT_TLS_HANDSHAKE_TIMEOUT:
    return parse_timer(cmd, "--tls-handshake-timeout", v, 0, &o->tls_handshake_ms);
  default:
    return rtwcat_deflate_option(cmd, &o->deflate, options[which].name, v);
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

/* The timers are checked every quarter of the smallest timeout in use, between 10 ms and
 * 1 s: each fires at most that late, and a sweep visits every connection only that often. */
static uint64_t sweep_period(const serve_options *o)
{
  uint64_t t[7] = {o->head_timeout_ms, o->keepalive_ms, o->idle_ms, o->write_ms,
                   o->close_ms, o->heartbeat_ms, o->tls_cert != NULL ? o->tls_handshake_ms : 0};
  uint64_t m = 4000;
  size_t i;

  for (i = 0; i < 7; i++)
    if (t[i] > 0 && t[i] < m)
      m = t[i];
  m /= 4;
  return m < 10 ? 10 : m;
}

/* The WebSocket echo session: limits, the backpressure recipe of ws.h (the input gate at
 * 1 MiB and room for one whole echo above it, so an echo is never refused), timers. */
static void ws_settings(server *s)
{
  const serve_options *o = &s->o;
  /* with --deflate an incompressible echo grows by zlib's stored-block overhead (5 bytes
   * per 16 KiB block, RFC 1951 3.2.4) and a sync flush (5 bytes): 1/1024 covers it */
  uint64_t slack = o->deflate.on ? o->max_message / 1024u + 64u : 0u;
  uint64_t max_out = RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER + o->max_message +
                     RTW_WS_MAX_HEADER + 256u + slack;

  s->wscb.version = RTW_WS_CALLBACKS_VERSION;
  s->wscb.on_message = on_message;
  s->wscb.on_ping = on_control;
  s->wscb.on_pong = on_control;
  s->wscb.on_close = on_close;
  s->wsset.version = RTW_WS_SETTINGS_VERSION;
  s->wsset.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  s->wsset.max_message_size = o->max_message;
  s->wsset.max_frame_size = o->max_message; /* one unfragmented message may be that big */
  s->wsset.max_outbound = max_out > SIZE_MAX ? SIZE_MAX : (size_t)max_out;
  s->wsset.outbound_high_water = RTW_WS_DEFAULT_OUTBOUND_HIGH_WATER;
  s->wsset.keepalive_ms = (uint32_t)o->keepalive_ms;
  s->wsset.pong_timeout_ms = (uint32_t)o->keepalive_ms;
  s->wsset.close_timeout_ms = (uint32_t)o->close_ms;
  s->wsset.send_timeout_ms = (uint32_t)o->write_ms;
}

static void sse_settings(server *s)
{
  s->sseset.version = RTW_SSE_STREAM_SETTINGS_VERSION;
  s->sseset.flags = RTW_SSE_STREAM_FLAG_NO_HEARTBEAT; /* ours says "heartbeat": sse_heartbeat() */
  s->sseset.send_timeout_ms = (uint32_t)s->o.write_ms;
  s->ssecb.version = RTW_SSE_STREAM_CALLBACKS_VERSION;
  s->ssecb.on_gap = on_gap;
}

/* --tls-cert/--tls-key: one server configuration for every connection (ALPN http/1.1, the
 * engine's default; session tickets on). Returns -1 after a message with mbedTLS's reason. */
static int tls_setup(server *s)
{
  rtw_tls_config_settings set = {RTW_TLS_CONFIG_SETTINGS_VERSION, 0, 0, 0, 0, NULL, NULL,
                                 NULL, NULL};
  char why[256];
  int rc;

  if (s->o.tls_cert == NULL)
    return 0;
  set.handshake_timeout_ms = (uint32_t)s->o.tls_handshake_ms;
  if ((rc = rtw_tls_config_new(&s->tls, RTW_TLS_ROLE_SERVER, &set, NULL)) != 0) {
    fprintf(stderr, "rtwcat: serve: cannot set up TLS: %s\n", rtw_strerror(rc));
    return -1;
  }
  rc = rtw_tls_config_add_cert_file(s->tls, s->o.tls_cert, s->o.tls_key);
  if (rc < 0) {
    if (rtw_tls_config_error_text(s->tls, why, sizeof why) == 0)
      snprintf(why, sizeof why, "%s", rtw_strerror(rc));
    fprintf(stderr, "rtwcat: serve: --tls-cert %s --tls-key %s: %s\n", s->o.tls_cert,
            s->o.tls_key, why);
    return -1;
  }
  return 0;
}

static int setup(server *s)
{
  unsigned port;

  ws_settings(s);
  sse_settings(s);
  s->hscb.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION;
  s->hscb.on_upgrade = on_upgrade;
  s->next_id = 1;
  s->now = rtwcat_now_ms();
  s->sweep_ms = sweep_period(&s->o);
  s->next_sweep = s->now + s->sweep_ms;
  if (tls_setup(s) != 0)
    return -1;
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
    printf("listening on %s://[%s]:%u/\n", s->tls ? "https" : "http", s->o.host, port);
  else
    printf("listening on %s://%s:%u/\n", s->tls ? "https" : "http", s->o.host, port);
  fflush(stdout);
  /* stdin: a pipe or terminal is watched; a regular file or /dev/null (which epoll refuses)
   * is read to its end now. */
  if (watch(s, STDIN_FILENO, &tag_stdin) == 0)
    s->stdin_polled = 1;
  else
    while (read_stdin(s) == 0)
      ;
  return 0;
}

static int timeout_for(const server *s)
{
  uint64_t now = rtwcat_now_ms();

  if (s->next_sweep <= now)
    return 0;
  return (int)(s->next_sweep - now);
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
    uint32_t e = ev->events;
    if (c->io.fd >= 0 && (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->events & EPOLLIN))
      conn_read(c);
    if (c->io.fd >= 0 && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (c->events & EPOLLOUT))
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
    else if (c->kind == K_SSE)
      (void)rtw_sse_stream_end(c->sse);
    (void)write_out(c);
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
  rtw_tls_config_free(s->tls);
  rtwcat_buf_free(&s->line);
  free(s->ev);
  free(s);
}

int rtwcat_serve(const rtwcat_command *cmd, int argc, char **argv)
{
  serve_options o = {"127.0.0.1", "8080", RTW_WS_DEFAULT_MAX_MESSAGE_SIZE,
                     RTW_SSE_HISTORY_DEFAULT_MAX_EVENTS, 15000, DEFAULT_HEAD_TIMEOUT_MS,
                     DEFAULT_KEEPALIVE_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_WRITE_TIMEOUT_MS,
                     DEFAULT_CLOSE_TIMEOUT_MS, {NULL}, 0, {0}, NULL, NULL,
                     RTW_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS};
  struct epoll_event evs[256];
  server *s;
  int rc, stop = 0;

  rtwcat_deflate_init(&o.deflate);
  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &o, NULL)) >= 0)
    return rc;
  if ((o.tls_cert == NULL) != (o.tls_key == NULL))
    return rtwcat_usage_error(cmd, "--tls-cert and --tls-key go together (or neither)");
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

    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "rtwcat: serve: epoll_wait: %s\n", strerror(errno));
      teardown(s);
      return RTWCAT_EXIT_FAILURE;
    }
    s->now = rtwcat_now_ms();
    for (i = 0; i < n; i++)
      stop |= handle(s, &evs[i]);
    free_dead(s);
    if (s->now >= s->next_sweep) {
      sweep(s, s->now);
      free_dead(s);
    }
  }
  fprintf(stderr, "rtwcat: serve: shutting down\n");
  teardown(s);
  return RTWCAT_EXIT_OK;
}
