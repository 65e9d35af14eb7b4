/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the chat demo. One single-threaded poll(2) loop on one port serves
 *
 *   GET /        the page (page.html, embedded at build time)
 *   GET /events  the activity feed, Server-Sent Events (WHATWG HTML 9.2) with ids, a bounded
 *                replay history and Last-Event-ID resume (feed.c)
 *   /chat        the chat, WebSocket (RFC 6455): every text message {"name","text"} from any
 *                socket goes to every socket as {"name","text","ts"}
 *
 * A connection starts as HTTP: its bytes go to an rtw_ws_handshake_server, which either
 * completes a WebSocket upgrade (the connection becomes a chat socket) or reports a plain
 * request, which is routed by path (the page, or the same head fed to an
 * rtw_sse_http_request for the feed). See docs/handshake.md, "One port".
 *
 *   HTTP --upgrade /chat--> WS ------------------------------------------------+
 *   HTTP --GET /events----> SSE --shutdown: last chunk--> LINGER --EOF---------+--> closed
 *   HTTP --GET /, errors--> REPLY (Connection: close) --written--> LINGER --EOF-+
 *
 * LINGER: after the last response byte we shut down our side and read until the peer's EOF,
 * so that unread request bytes cannot turn our close into a reset that loses the response.
 *
 * Limits: CHAT_MAX_MESSAGE per chat message (bigger: close 1009); per chat socket a rate
 * of messages (control frames included) and of bytes (--msg-rate, --byte-rate: beyond,
 * close 1008 with the reason, policy.c); --max-conns connections (kept within
 * RLIMIT_NOFILE; more: 503), of which at most --max-http-per-addr per client address may
 * still be sending their request head (more: 503); and bounded output per connection: a
 * chat socket whose queue passes WS_MAX_OUTBOUND is dropped, and any connection whose
 * output has not been empty for --send-timeout seconds is dropped, however little it reads
 * meanwhile; a feed connection pulls events from the history only while its output is
 * small, so a slow reader costs no memory, and one that falls behind the whole history is
 * dropped (its browser reconnects with Last-Event-ID). At EMFILE the listener leaves the
 * poll set until a connection closes (or a second passes), so a full table costs no CPU.
 */
#include "chat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_LIMIT (16u * 1024u)         /* WS input held while the session pauses (one read) */
#define HTTP_OUT_LIMIT (256u * 1024u)  /* a response: the page and its head */
#define SSE_LOW_WATER (32u * 1024u)    /* a feed connection takes more events below this */
#define SSE_OUT_LIMIT (256u * 1024u)   /* ... and never holds more than this */
#define WS_MAX_OUTBOUND (512u * 1024u) /* a chat socket's send queue */
#define HEARTBEAT_MS 15000u            /* feed comments that keep proxies from timing out */
#define KEEPALIVE_MS 30000u            /* WebSocket ping after this much silence */
#define REQUEST_TIMEOUT_MS 10000u      /* to send a complete request head */
#define LINGER_MS 3000u
#define LISTEN_RETRY_MS 1000u          /* accept again after EMFILE, at the latest */
#define FD_RESERVE 16u                 /* descriptors not for connections (stdio, feed, ...) */
#define SHUTDOWN_GRACE_MS 1500u
#define RETRY_MS 1000u                 /* the feed's `retry:` (WHATWG 9.2.6) */

enum { CONN_HTTP, CONN_REPLY, CONN_SSE, CONN_WS, CONN_LINGER };

typedef struct server server;

/* Who a connection comes from, for the per-address limit: an IPv4 address, or the /64
 * prefix of an IPv6 one (what one host usually has). */
typedef struct addr_key {
  int family;
  unsigned char bytes[8];
} addr_key;

typedef struct conn {
  server *srv;
  int fd;
  int kind;
  int dead;              /* to be closed and freed by reap() */
  int joined;            /* a chat socket counted in `online` */
  int chunked;           /* feed: Transfer-Encoding: chunked (HTTP/1.1) */
  int ended;             /* feed: no more events (shutting down) */
  int close_after_flush; /* then LINGER */
  int read_eof;          /* REPLY: the client shut down its side; finish writing, then close */
  int policy_closed;     /* WS: closed 1008 for a broken rule; nothing more is read */
  addr_key addr;
  chat_rate msg_rate, byte_rate; /* WS: what it may still send */
  chat_buf in;           /* WS: input the session left unread while it paused */
  chat_buf out;          /* written before anything the WebSocket session has */
  rtw_ws_handshake_server *hs;
  rtw_ws *ws;
  uint64_t sse_seq;       /* feed: the next history sequence number to send */
  uint64_t deadline;      /* HTTP: request timeout; LINGER: give up waiting for EOF */
  uint64_t last_empty;    /* the last time its output was seen empty */
} conn;

typedef struct options {
  const char *host, *port, *feed_file;
  unsigned long history, max_conns, max_http_per_addr, msg_rate, byte_rate, send_timeout;
} options;

struct server {
  int lfd;
  int listen_paused;  /* EMFILE: the listener is out of the poll set */
  uint64_t listen_retry;
  conn **conns;
  size_t nconns, max_conns;
  size_t online; /* chat sockets */
  chat_feed feed;
  uint64_t now, next_heartbeat;
  options o;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
}

static uint64_t clock_ms(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblocking(int fd)
{
  int fl = fcntl(fd, F_GETFL, 0);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int span_is(const char *s, size_t n, const char *lit)
{
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ====================================================================== output */

static void kill_conn(conn *c, const char *why)
{
  if (!c->dead && why != NULL)
    fprintf(stderr, "rtweb-chat: dropping connection %d: %s\n", c->fd, why);
  c->dead = 1;
}

static int has_output(const conn *c)
{
  return chat_buf_size(&c->out) > 0 || (c->ws != NULL && rtw_ws_want_write(c->ws));
}

/* Write what fits; 1 when something is left, 0 when all went, -1 on a dead socket. */
static int send_bytes(conn *c, const char *p, size_t n, size_t *sent)
{
  ssize_t w;
  *sent = 0;
  while (*sent < n) {
    w = send(c->fd, p + *sent, n - *sent, MSG_NOSIGNAL);
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
      kill_conn(c, "WebSocket send failed");
      return;
    }
    if (n == 0)
      return;
    rv = send_bytes(c, p, n, &sent);
    rtw_ws_send_consumed(c->ws, sent);
    if (rv < 0)
      kill_conn(c, NULL);
    if (rv != 0)
      return;
  }
}

static void start_linger(conn *c)
{
  shutdown(c->fd, SHUT_WR);
  c->kind = CONN_LINGER;
  c->deadline = c->srv->now + LINGER_MS;
}

static void flush_conn(conn *c)
{
  size_t sent;
  int rv;

  if (c->dead)
    return;
  if (chat_buf_size(&c->out) > 0) {
    rv = send_bytes(c, c->out.data + c->out.off, chat_buf_size(&c->out), &sent);
    chat_buf_consume(&c->out, sent);
    if (rv < 0) {
      kill_conn(c, NULL);
      return;
    }
    if (rv > 0)
      return;
  }
  if (c->ws != NULL)
    flush_session(c);
  if (!c->dead && !has_output(c))
    c->last_empty = c->srv->now;
  if (c->ws != NULL) {
    /* RFC 6455 7.1.1: the server closes the TCP connection once the closing handshake is
     * done; after a policy close (7.1.7) it does not wait for the peer's close frame */
    if (!c->dead && !rtw_ws_want_write(c->ws) && c->policy_closed && c->kind != CONN_LINGER)
      start_linger(c);
    else if (!c->dead && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws))
      c->dead = 1;
  } else if (c->close_after_flush && c->read_eof) {
    c->dead = 1; /* all written and the client has nothing more to say */
  } else if (c->close_after_flush && c->kind != CONN_LINGER) {
    start_linger(c);
  }
}

static void out_append(conn *c, const void *p, size_t n, size_t limit)
{
  if (chat_buf_append(&c->out, p, n, limit) != 0)
    kill_conn(c, "output limit");
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
  out_append(c, head, (size_t)n, HTTP_OUT_LIMIT);
  if (!head_only)
    out_append(c, body, body_len, HTTP_OUT_LIMIT);
  c->close_after_flush = 1;
}

static void respond_text(conn *c, const char *status, const char *extra, const char *text)
{
  respond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text), 0);
}

/* ====================================================================== the feed (SSE) */

/* Queue event-stream bytes, as one chunk on an HTTP/1.1 stream (RFC 9112 7.1). */
static int sse_write(conn *c, const void *bytes, size_t len)
{
  size_t n = len;
  char *dst;

  if (c->chunked)
    rtw_sse_http_chunk(NULL, 0, &n, bytes, len);
  dst = chat_buf_reserve(&c->out, n, SSE_OUT_LIMIT);
  if (dst == NULL) {
    kill_conn(c, "feed output limit");
    return -1;
  }
  if (c->chunked)
    rtw_sse_http_chunk(dst, n, &n, bytes, len);
  else
    memcpy(dst, bytes, len);
  chat_buf_commit(&c->out, n);
  return 0;
}

static void sse_comment(conn *c, const char *text)
{
  char buf[64];
  size_t n;
  if (rtw_sse_write_comment(buf, sizeof buf, &n, text, strlen(text), 0) == 0)
    sse_write(c, buf, n);
}

/* Move events from the history to the connection while its output is small. */
static void sse_fill(conn *c)
{
  rtw_sse_history *h = c->srv->feed.history;
  const void *ev;
  size_t len;

  while (!c->dead && !c->ended && chat_buf_size(&c->out) < SSE_LOW_WATER &&
         c->sse_seq < rtw_sse_history_next_seq(h)) {
    if (rtw_sse_history_get(h, c->sse_seq, &ev, &len) != 0) {
      kill_conn(c, "feed reader fell behind the history"); /* it reconnects and resumes */
      return;
    }
    if (sse_write(c, ev, len) != 0)
      return;
    c->sse_seq++;
  }
}

/* 1 when `id` is one this feed gave out (an integer below the next id), else 0. */
static int issued_id(const server *s, const char *id, size_t len)
{
  uint64_t v = 0;
  size_t i;
  if (len == 0 || len > 19)
    return 0;
  for (i = 0; i < len; i++) {
    if (id[i] < '0' || id[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(id[i] - '0');
  }
  return v > 0 && v < s->feed.next_id;
}

/* The client's last event is no longer (or never was) in the history: say so with a comment
 * and continue so that the client stays consistent. Ids are increasing integers, so when the
 * id was ours it was evicted, every retained event is newer, and the client gets them all:
 * what was evicted is lost, nothing is repeated. An id that is not ours comes from a feed
 * this server does not have (it was restarted without its feed file): a `reset` event
 * (without an id, so the client's last event ID stays) tells the page to forget what it
 * shows, and the retained feed follows as for a new page. */
static void resume_after_gap(conn *c, const char *id, size_t len)
{
  char buf[96], data[48];
  rtw_sse_event ev = {.type = "reset", .type_len = 5, .data = data};
  size_t n;
  int dn;

  sse_comment(c, "gap");
  if (!issued_id(c->srv, id, len)) {
    dn = snprintf(data, sizeof data, "{\"next\":%" PRIu64 "}", c->srv->feed.next_id);
    ev.data_len = (size_t)dn;
    if (rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0) == 0)
      sse_write(c, buf, n);
  }
  c->sse_seq = rtw_sse_history_first_seq(c->srv->feed.history);
}

/* WHATWG 9.2.4: resume after `Last-Event-ID`. Without one, the `lastEventId` query parameter
 * (what the page sends when it has to make a new EventSource) stands in for it; without
 * either, a new page gets the retained feed. */
static void sse_resume(conn *c, const rtw_sse_http_request *req)
{
  const rtw_sse_history *h = c->srv->feed.history;
  const char *id = NULL, *q;
  size_t id_len = 0, qlen;
  uint64_t seq;
  int rv = rtw_sse_http_request_resume(req, h, &seq);

  if (rv == 1 && rtw_sse_http_request_query(req, &q, &qlen) == 1 && qlen > 12 &&
      memcmp(q, "lastEventId=", 12) == 0) {
    const char *amp = memchr(q + 12, '&', qlen - 12); /* spans are not NUL-terminated */
    id = q + 12;
    id_len = amp != NULL ? (size_t)(amp - id) : qlen - 12;
    rv = rtw_sse_history_find(h, id, id_len, &seq);
  } else if (rv == RTW_ERR_SSE_HISTORY_GAP) {
    rtw_sse_http_request_last_event_id(req, &id, &id_len);
  }
  if (rv == 0)
    c->sse_seq = seq;
  else if (rv == 1)
    c->sse_seq = rtw_sse_history_first_seq(h);
  else
    resume_after_gap(c, id, id_len);
}

/* The handshake server already parsed the head: its SSE view of the request (no copy of
 * the head, no second parse) says whether it is a valid feed request and where to resume. */
static void start_sse(conn *c)
{
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(c->hs);
  char head[256], retry[32];
  size_t n;
  uint32_t flags;
  int rv = rtw_sse_http_request_outcome(req);

  if (rv != RTW_SSE_HTTP_DONE) {
    if (rv == RTW_ERR_HTTP_BAD_METHOD)
      respond_text(c, "405 Method Not Allowed", "Allow: GET\r\n", "GET only\n");
    else
      respond_text(c, "400 Bad Request", NULL, "bad feed request\n");
    return;
  }
  c->chunked = rtw_sse_http_request_chunked(req) == 1;
  flags = c->chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0;
  if (rtw_sse_http_response(head, sizeof head, &n, flags, NULL, 0) != 0) {
    kill_conn(c, "response head");
    return;
  }
  out_append(c, head, n, SSE_OUT_LIMIT);
  c->kind = CONN_SSE;
  /* WHATWG 9.2.6: `retry` sets the reconnection time; the blank line ends the block */
  rtw_sse_write_retry(retry, sizeof retry - 1, &n, RETRY_MS, 0);
  retry[n++] = '\n';
  sse_write(c, retry, n);
  sse_resume(c, req);
  sse_fill(c);
}

/* ====================================================================== the chat (WebSocket) */

static void publish(server *s, const char *type, const char *data, size_t len)
{
  if (chat_feed_publish(&s->feed, type, data, len) != 0)
    fprintf(stderr, "rtweb-chat: could not publish a %s event\n", type);
}

static void publish_count(server *s, const char *type)
{
  char data[48];
  int n = snprintf(data, sizeof data, "{\"count\":%zu}", s->online);
  publish(s, type, data, (size_t)n);
  fprintf(stderr, "rtweb-chat: chat socket %s (%zu online)\n",
          type[0] == 'j' ? "joined" : "left", s->online);
}

/* Queue a text message on a chat socket; a reader that lets its queue fill is dropped. */
static void ws_send(conn *c, const char *msg, size_t len)
{
  int rv = rtw_ws_queue_text(c->ws, msg, len);
  if (rv == RTW_ERR_WS_OUTBOUND_FULL)
    kill_conn(c, "slow chat reader (send queue full)");
  else if (rv != 0 && rv != RTW_ERR_WS_CLOSED)
    kill_conn(c, rtw_strerror(rv));
}

/* Every chat socket gets {"name","text","ts"}; the author's copy also says "mine":true, so
 * a page marks its own messages by what the server says, not by a name anyone can take. */
static void broadcast(conn *from, const char *name, size_t name_len, const char *text,
                      size_t text_len)
{
  static const char mine[] = ",\"mine\":true}";
  server *s = from->srv;
  chat_buf msg = {0};
  char ts[32];
  size_t i, feed_len, len;
  int rv = 0;

  rv |= chat_buf_puts(&msg, "{\"name\":");
  rv |= chat_json_string(&msg, name, name_len);
  rv |= chat_buf_puts(&msg, ",\"text\":");
  rv |= chat_json_string(&msg, text, text_len);
  feed_len = chat_buf_size(&msg);
  snprintf(ts, sizeof ts, ",\"ts\":%" PRIu64 "}", clock_ms(CLOCK_REALTIME));
  rv |= chat_buf_puts(&msg, ts);
  len = chat_buf_size(&msg);
  rv |= chat_buf_puts(&msg, mine); /* msg[0, len - 1) + mine: the author's copy */
  if (rv != 0) {
    chat_buf_free(&msg);
    return;
  }
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind == CONN_WS && !c->dead && c->joined && c != from)
      ws_send(c, msg.data, len);
  }
  memmove(msg.data + len - 1, mine, sizeof mine - 1);
  ws_send(from, msg.data, len - 1 + sizeof mine - 1);
  /* the feed's message event: the same JSON without the timestamp */
  msg.data[feed_len] = '}';
  publish(s, "message", msg.data, feed_len + 1);
  chat_buf_free(&msg);
}

/* Tell the author why its message went nowhere: {"error":"..."} to that socket only. */
static void reply_error(conn *c, const char *why)
{
  chat_buf msg = {0};
  if (chat_buf_puts(&msg, "{\"error\":") == 0 &&
      chat_json_string(&msg, why, strlen(why)) == 0 && chat_buf_puts(&msg, "}") == 0)
    ws_send(c, msg.data, chat_buf_size(&msg));
  chat_buf_free(&msg);
}

/* RFC 6455 7.4.1: 1008, a message that violates the server's policy; the reason says which.
 * Nothing more is read from this socket: once the close frame is out, the server closes. */
static int policy_close(conn *c, const char *reason)
{
  if (!c->policy_closed) {
    fprintf(stderr, "rtweb-chat: closing chat socket %d: %s\n", c->fd, reason);
    c->policy_closed = 1;
    rtw_ws_close(c->ws, RTW_WS_CLOSE_POLICY, reason, strlen(reason));
  }
  return RTW_ERR_PAUSE; /* stop parsing what it sent */
}

/* One message or control frame against the socket's message rate. */
static int count_message(conn *c)
{
  if (c->policy_closed)
    return RTW_ERR_PAUSE;
  if (chat_rate_take(&c->msg_rate, 1, c->srv->now) != 0)
    return policy_close(c, "rate limit: too many messages");
  return 0;
}

static int on_ws_control(rtw_ws *ws, const void *data, size_t len, void *user)
{
  (void)ws, (void)data, (void)len;
  return count_message(user); /* pings and pongs count as messages */
}

static int on_ws_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user)
{
  conn *c = user;
  char name[CHAT_MAX_MESSAGE], text[CHAT_MAX_MESSAGE], why[96];
  size_t name_len, text_len, i;
  int rv = count_message(c);

  if (rv != 0)
    return rv;
  if (opcode != RTW_WS_OP_TEXT) { /* RFC 6455 7.4.1: 1003, a type of data it cannot accept */
    rtw_ws_close(ws, RTW_WS_CLOSE_UNSUPPORTED_DATA, "text only", 9); /* unless closing already */
    return 0;
  }
  if (chat_json_parse_message(data, len, name, sizeof name, &name_len, text, sizeof text,
                              &text_len) != 0) {
    reply_error(c, "not a chat message: {\"name\":\"...\",\"text\":\"...\"}");
    return 0;
  }
  if (chat_name_check(name, &name_len, why, sizeof why) != 0) {
    reply_error(c, why);
    return 0;
  }
  for (i = 0; i < text_len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t'); i++)
    ;
  if (i < text_len)
    broadcast(c, name, name_len, text, text_len);
  return 0;
}

/* RFC 6455 10.2: a browser names the page's origin; only our own page may open the chat.
 * Clients that are not browsers send no Origin and are let in. */
static int same_origin(rtw_ws_handshake_server *hs)
{
  const char *o, *host;
  size_t olen, hlen;

  if (rtw_ws_handshake_server_origin(hs, &o, &olen) != 1)
    return 1;
  if (rtw_ws_handshake_server_header(hs, "Host", 4, 0, &host, &hlen) != 1)
    return 0;
  if (olen > 7 && strncasecmp(o, "http://", 7) == 0)
    o += 7, olen -= 7;
  else if (olen > 8 && strncasecmp(o, "https://", 8) == 0)
    o += 8, olen -= 8;
  else
    return 0;
  return olen == hlen && strncasecmp(o, host, hlen) == 0;
}

static int on_upgrade(rtw_ws_handshake_server *hs, void *user)
{
  const char *path;
  size_t len;

  (void)user;
  rtw_ws_handshake_server_path(hs, &path, &len);
  if (!span_is(path, len, "/chat"))
    return 404;
  return same_origin(hs) ? 0 : 403;
}

/* Give the session bytes from the socket. Bytes it leaves unread while it pauses input
 * (its send queue is over the high water mark) wait in c->in, and the socket is not read
 * until they are consumed; after a policy close or a protocol error the rest is dropped. */
static void ws_feed(conn *c, const char *p, size_t n)
{
  size_t nread = 0;
  int rv = 0;

  if (!c->policy_closed && rtw_ws_want_read(c->ws))
    rv = rtw_ws_recv(c->ws, p, n, &nread); /* errors queue their close frame */
  if (rv == RTW_ERR_PAUSE && !c->policy_closed && nread < n &&
      chat_buf_append(&c->in, p + nread, n - nread, IN_LIMIT) != 0)
    kill_conn(c, "out of memory");
}

/* Bytes from a chat socket: they count against its byte rate (RFC 6455 10.4: a server may
 * limit what a client makes it spend), then go to the session. */
static void ws_input(conn *c, const char *p, size_t n)
{
  if (c->policy_closed)
    return;
  if (chat_rate_take(&c->byte_rate, n, c->srv->now) != 0) {
    policy_close(c, "rate limit: too many bytes");
    return;
  }
  ws_feed(c, p, n);
}

/* Feed what waited in c->in once the session reads again. */
static void ws_resume(conn *c)
{
  chat_buf held = c->in;

  if (c->dead || chat_buf_size(&held) == 0 || !rtw_ws_want_read(c->ws))
    return;
  memset(&c->in, 0, sizeof c->in);
  ws_feed(c, held.data + held.off, chat_buf_size(&held));
  chat_buf_free(&held);
}

/* Poll a chat socket for input only while the session takes it and nothing waits. */
static int ws_reading(const conn *c)
{
  return !c->policy_closed && chat_buf_size(&c->in) == 0 && rtw_ws_want_read(c->ws);
}

static void start_ws(conn *c, const char *frames, size_t frames_len)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  const void *resp;
  size_t resp_len;

  rtw_ws_handshake_server_response(c->hs, &resp, &resp_len);
  out_append(c, resp, resp_len, HTTP_OUT_LIMIT);
  cb.on_message = on_ws_message;
  cb.on_ping = on_ws_control;
  cb.on_pong = on_ws_control;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  /* RFC 6455 10.4: limit what a peer can make us buffer; a bigger message is closed 1009 */
  st.max_frame_size = CHAT_MAX_MESSAGE;
  st.max_message_size = CHAT_MAX_MESSAGE;
  st.max_outbound = WS_MAX_OUTBOUND;
  st.keepalive_ms = KEEPALIVE_MS;
  if (c->dead || rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0) {
    kill_conn(c, "cannot start a WebSocket session");
    return;
  }
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  c->kind = CONN_WS;
  c->joined = 1;
  chat_rate_init(&c->msg_rate, (uint32_t)c->srv->o.msg_rate);
  chat_rate_init(&c->byte_rate, (uint32_t)c->srv->o.byte_rate);
  c->srv->online++;
  publish_count(c->srv, "join");
  rtw_ws_tick(c->ws, c->srv->now); /* arms the keepalive timer */
  if (frames_len > 0) /* frames that came with the request (docs/handshake.md) */
    ws_input(c, frames, frames_len);
}

/* ====================================================================== HTTP requests */

static void route_plain(conn *c)
{
  const char *method, *path;
  size_t mlen, plen;
  int head_only;

  rtw_ws_handshake_server_method(c->hs, &method, &mlen);
  rtw_ws_handshake_server_path(c->hs, &path, &plen);
  head_only = span_is(method, mlen, "HEAD");
  if (span_is(path, plen, "/events")) {
    start_sse(c);
  } else if (span_is(path, plen, "/chat")) {
    respond_text(c, "426 Upgrade Required", "Upgrade: websocket\r\n",
                 "/chat is a WebSocket endpoint\n");
  } else if (!span_is(path, plen, "/") && !span_is(path, plen, "/index.html")) {
    respond_text(c, "404 Not Found", NULL, "not found\n");
  } else if (!head_only && !span_is(method, mlen, "GET")) {
    respond_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "GET only\n");
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
    start_ws(c, buf + nread, n - nread);
  } else if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    route_plain(c);
  } else if (rtw_ws_handshake_server_response(c->hs, &resp, &resp_len) == 0) {
    out_append(c, resp, resp_len, HTTP_OUT_LIMIT); /* 400, 403, 404, 426, 431, ... */
    c->close_after_flush = 1;
  } else {
    kill_conn(c, rtw_strerror(rv));
  }
  rtw_ws_handshake_server_free(c->hs); /* the head is no longer needed */
  c->hs = NULL;
  if (c->kind == CONN_HTTP) /* answered: what else the client sends is ignored */
    c->kind = CONN_REPLY;
}

/* ====================================================================== reading */

static void on_bytes(conn *c, const char *buf, size_t n)
{
  switch (c->kind) {
  case CONN_HTTP:
    http_input(c, buf, n);
    break;
  case CONN_WS:
    ws_input(c, buf, n);
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
    if (c->kind == CONN_WS && !ws_reading(c))
      return; /* paused, or closed for its policy: its bytes stay in the socket */
    n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n == 0 && c->kind == CONN_REPLY) { /* half-closed: it still reads the answer */
      c->read_eof = 1;
      return;
    }
    if (n <= 0) { /* EOF or reset: the peer is gone */
      c->dead = 1;
      return;
    }
    on_bytes(c, buf, (size_t)n);
  }
}

/* ====================================================================== connections */

static void free_conn(conn *c)
{
  close(c->fd);
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
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
      publish_count(s, "leave");
    }
    free_conn(c);
    s->conns[i] = s->conns[--s->nconns];
    s->listen_paused = 0; /* a descriptor is free again: accept more */
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
        sse_fill(c);
      flush_conn(c);
      if (c->kind == CONN_WS)
        ws_resume(c);
    }
  } while (reap(s));
}

static void pause_listening(server *s, int err)
{
  fprintf(stderr, "rtweb-chat: %s; not accepting until a connection closes\n", strerror(err));
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

/* Connections from this address still in the HTTP state (sending their request head). */
static size_t heads_from(const server *s, const addr_key *k)
{
  size_t i, n = 0;
  for (i = 0; i < s->nconns; i++)
    n += s->conns[i]->kind == CONN_HTTP && memcmp(&s->conns[i]->addr, k, sizeof *k) == 0;
  return n;
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

  cb.on_upgrade = on_upgrade;
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
    if (s->nconns >= s->max_conns || heads_from(s, &key) >= s->o.max_http_per_addr) {
      refuse(fd); /* 503: full, or this address already has its share of pending heads */
      continue;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || set_nonblocking(fd) != 0 ||
        rtw_ws_handshake_server_new(&c->hs, &cb, NULL, NULL, c) != 0) {
      free(c);
      close(fd);
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* chat latency */
    c->srv = s;
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
  int beat = s->now >= s->next_heartbeat;
  size_t i;

  if (beat)
    s->next_heartbeat = s->now + HEARTBEAT_MS;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (!has_output(c))
      c->last_empty = s->now;
    if ((c->kind == CONN_HTTP || c->kind == CONN_LINGER) && s->now >= c->deadline)
      c->dead = 1;
    else if (s->now - c->last_empty > s->o.send_timeout * 1000u)
      kill_conn(c, "output not drained in time"); /* however little it reads meanwhile */
    else if (c->kind == CONN_WS && rtw_ws_tick(c->ws, s->now) != 0)
      kill_conn(c, "WebSocket timeout"); /* pong or closing handshake */
    else if (c->kind == CONN_SSE && beat && !c->ended &&
             chat_buf_size(&c->out) < SSE_LOW_WATER)
      sse_comment(c, "heartbeat"); /* docs/sse-http.md "Heartbeats" */
  }
}

/* ====================================================================== the loop */

static int wants_input(const conn *c)
{
  if (c->kind == CONN_WS)
    return ws_reading(c);
  return !c->read_eof;
}

static void begin_shutdown(server *s)
{
  static const char last[] = RTW_SSE_HTTP_LAST_CHUNK;
  size_t i;

  close(s->lfd);
  s->lfd = -1;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind == CONN_WS) {
      rtw_ws_close(c->ws, RTW_WS_CLOSE_GOING_AWAY, "server shutting down", 20);
    } else if (c->kind == CONN_SSE) {
      /* end the body: the browser reconnects (WHATWG 9.2.3) and resumes by id */
      c->ended = 1;
      if (c->chunked)
        chat_buf_append(&c->out, last, sizeof last - 1, (size_t)-1);
      c->close_after_flush = 1;
    } else {
      c->dead = 1;
    }
  }
}

static int run(server *s)
{
  struct pollfd *pfd = calloc(s->max_conns + 1, sizeof *pfd);
  uint64_t grace_end = 0;
  size_t i, n;
  int listening;

  if (pfd == NULL)
    return -1;
  for (;;) {
    s->now = clock_ms(CLOCK_MONOTONIC);
    if (stop_requested && s->lfd >= 0) {
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
    for (i = 0; i < s->nconns; i++) {
      pfd[n].fd = s->conns[i]->fd;
      pfd[n].revents = 0;
      pfd[n++].events = (short)((wants_input(s->conns[i]) ? POLLIN : 0) |
                                (has_output(s->conns[i]) ? POLLOUT : 0));
    }
    if (poll(pfd, (nfds_t)n, s->lfd >= 0 ? 1000 : 50) < 0 && errno != EINTR)
      break;
    s->now = clock_ms(CLOCK_MONOTONIC);
    i = 0;
    if (listening && (pfd[i++].revents & POLLIN))
      accept_conns(s);
    /* conns[] only grew at its end since pfd was built: the first entries still match */
    for (; i < n; i++) {
      conn *c = s->conns[i - (listening ? 1 : 0)];
      if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
        read_conn(c);
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

/* ====================================================================== start */

static int listen_on(const char *host, const char *port, int *bound_port)
{
  struct addrinfo hints, *res, *ai;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int fd = -1, one = 1, rv;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  rv = getaddrinfo(host, port, &hints, &res);
  if (rv != 0) {
    fprintf(stderr, "rtweb-chat: %s: %s\n", host, gai_strerror(rv));
    return -1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0 &&
        set_nonblocking(fd) == 0)
      break;
    fprintf(stderr, "rtweb-chat: %s port %s: %s\n", host, port, strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return -1;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: rtweb-chat [--host 127.0.0.1] [--port 8080] [--feed-file PATH]\n"
             "                  [--history 1000] [--max-conns 512] [--max-http-per-addr 16]\n"
             "                  [--msg-rate 5] [--byte-rate 16384] [--send-timeout 30]\n"
             "The rtweb demo: a page with a live feed (SSE, /events) and a chat (WebSocket,\n"
             "/chat) on one port. --port 0 picks a free port. --feed-file keeps the feed\n"
             "across restarts; --history is how many events a reconnecting page can get.\n"
             "Limits: --max-conns connections (within the descriptor limit), of which\n"
             "--max-http-per-addr per client address still sending a request head; per chat\n"
             "socket --msg-rate messages and --byte-rate bytes a second on average (bursts of\n"
             "10 s worth; beyond: close 1008; 0: no limit); a connection whose output stays\n"
             "undrained for --send-timeout seconds is dropped.\n");
}

static int parse_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
  char *end;
  errno = 0;
  *out = strtoul(v, &end, 10);
  return errno == 0 && end != v && *end == '\0' && v[0] != '-' && *out >= lo && *out <= hi
           ? 0
           : -1;
}

static int parse_args(int argc, char **argv, options *o)
{
  int i;
  unsigned long port;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - a) : strlen(a);
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (eq != NULL)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    if (v == NULL) {
      fprintf(stderr, "rtweb-chat: %s needs a value\n", a);
      return -1;
    }
    if (span_is(a, name_len, "--host"))
      o->host = v;
    else if (span_is(a, name_len, "--port") && parse_number(v, 0, 65535, &port) == 0)
      o->port = v;
    else if (span_is(a, name_len, "--feed-file"))
      o->feed_file = v;
    else if (span_is(a, name_len, "--history") && parse_number(v, 1, 1000000, &o->history) == 0)
      ;
    else if (span_is(a, name_len, "--max-conns") &&
             parse_number(v, 1, 100000, &o->max_conns) == 0)
      ;
    else if (span_is(a, name_len, "--max-http-per-addr") &&
             parse_number(v, 1, 100000, &o->max_http_per_addr) == 0)
      ;
    else if (span_is(a, name_len, "--msg-rate") && parse_number(v, 0, 1000000, &o->msg_rate) == 0)
      ;
    else if (span_is(a, name_len, "--byte-rate") &&
             parse_number(v, 0, 1000000000, &o->byte_rate) == 0)
      ;
    else if (span_is(a, name_len, "--send-timeout") &&
             parse_number(v, 1, 3600, &o->send_timeout) == 0)
      ;
    else {
      fprintf(stderr, "rtweb-chat: bad option or value: %.*s %s\n", (int)name_len, a, v);
      return -1;
    }
  }
  return 0;
}

/* Every connection is a descriptor: raise the soft limit toward the hard one if needed,
 * and take no more connections than the limit leaves room for (else accept() fails with
 * EMFILE while the table still has room, and clients wait instead of getting a 503). */
static size_t fit_fd_limit(size_t want)
{
  struct rlimit rl;
  rlim_t need = (rlim_t)want + FD_RESERVE, room;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return want;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
    return want;
  room = rl.rlim_cur > FD_RESERVE + 1 ? rl.rlim_cur - FD_RESERVE : 1;
  fprintf(stderr, "rtweb-chat: the descriptor limit is %lu: --max-conns %zu lowered to %lu\n",
          (unsigned long)rl.rlim_cur, want, (unsigned long)room);
  return (size_t)room;
}

int main(int argc, char **argv)
{
  options o = {"127.0.0.1", "8080", NULL, 1000, 512, 16, 5, 16384, 30};
  struct sigaction sa;
  server s;
  int port, rv;

  if (parse_args(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  memset(&s, 0, sizeof s);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);

  if (chat_feed_open(&s.feed, o.history, o.feed_file) != 0)
    return 1;
  s.o = o;
  s.max_conns = fit_fd_limit(o.max_conns);
  s.conns = calloc(s.max_conns, sizeof *s.conns);
  s.lfd = s.conns != NULL ? listen_on(o.host, o.port, &port) : -1;
  if (s.lfd < 0) {
    chat_feed_close(&s.feed);
    free(s.conns);
    return 1;
  }
  printf("rtweb-chat: open http://%s%s%s:%d/ in a browser\n", strchr(o.host, ':') ? "[" : "",
         o.host, strchr(o.host, ':') ? "]" : "", port);
  fflush(stdout);
  s.next_heartbeat = clock_ms(CLOCK_MONOTONIC) + HEARTBEAT_MS;
  rv = run(&s);
  if (s.lfd >= 0)
    close(s.lfd);
  chat_feed_close(&s.feed);
  free(s.conns);
  fprintf(stderr, "rtweb-chat: bye\n");
  return rv == 0 ? 0 : 1;
}
