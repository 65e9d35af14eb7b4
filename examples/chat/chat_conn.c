/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: a chat socket, WebSocket (RFC 6455) at /chat. Every text message
 * {"name","text"} whose name passes policy.c goes to every chat socket as
 * {"name","text","ts"}, the author's copy tagged "mine":true, and to the feed as a
 * `message` event; a socket's messages and bytes are rate-limited (close 1008). Input is
 * read only while the session takes it: what it leaves unread while its send queue is over
 * the high water mark waits in c->in.
 */
#include "server.h"
#include "redis.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void publish(server *s, const char *type, const char *data, size_t len)
{
  int rv;
  char from[64];

  if (s->rds != NULL) { /* --redis: to the log; every node's clients get it from there */
    snprintf(from, sizeof from, "%s:0", s->node);
    rv = chat_redis_publish(s->rds, type, data, len, from, chat_clock_ms(CLOCK_REALTIME));
  } else {
    rv = chat_feed_publish(&s->feed, type, data, len);
  }
  if (rv != 0)
    fprintf(stderr, "rtweb-chat: could not publish a %s event%s\n", type,
            s->rds != NULL && !s->log_up ? " (the log is down)" : "");
}

void chat_conn_publish_count(server *s, const char *type)
{
  char data[48];
  int n = snprintf(data, sizeof data, "{\"count\":%zu}", s->online);
  publish(s, type, data, (size_t)n);
  fprintf(stderr, "rtweb-chat: chat socket %s (%zu online)\n",
          type[0] == 'j' ? "joined" : "left", s->online);
}

/* Queue a text message on a chat socket; a reader that lets its queue fill is dropped. A
 * socket already closing (RTW_ERR_WS_CLOSED, not fatal) just does not get it. */
static void ws_sent(conn *c, int rv)
{
  conn_touch(c); /* the loop writes it this round */
  if (rv == RTW_ERR_WS_OUTBOUND_FULL)
    conn_kill(c, "slow chat reader (send queue full)");
  else if (rtw_is_fatal(rv))
    conn_kill(c, rtw_strerror(rv));
}

static void ws_send(conn *c, const char *msg, size_t len)
{
  ws_sent(c, rtw_ws_queue_text(c->ws, msg, len));
}

/* Every chat socket gets {"name","text","ts"}; the author's copy also says "mine":true, so
 * a page marks its own messages by what the server says, not by a name anyone can take.
 * The others' copy is one prepared message: framed, and compressed for permessage-deflate,
 * once (RFC 7692 7.2.1 with a fresh context); each session queues the same bytes, or
 * compresses its own copy when its negotiated parameters do not allow sharing (ws.h,
 * rtw_ws_queue_prepared()). Should it not be built (out of memory), each socket is sent
 * its own copy. `feed` is the feed's JSON object {"name","text"}; author may be NULL. */
static void deliver(server *s, const char *feed, size_t feed_len, const char *id,
                    size_t id_len, uint64_t ts_ms, conn *author)
{
  static const char mine[] = ",\"mine\":true}";
  chat_buf msg = {0};
  char ts[32];
  size_t i, len;
  rtw_ws_prepared *pm;
  int rv = 0;

  if (feed_len < 2 || feed[feed_len - 1] != '}')
    return;
  rv |= chat_buf_append(&msg, feed, feed_len - 1, (size_t)-1);
  if (id != NULL) { /* --redis: the feed id, which a reconnecting page sends back */
    rv |= chat_buf_puts(&msg, ",\"id\":");
    rv |= chat_json_string(&msg, id, id_len);
  }
  snprintf(ts, sizeof ts, ",\"ts\":%" PRIu64 "}", ts_ms);
  rv |= chat_buf_puts(&msg, ts);
  len = chat_buf_size(&msg);
  rv |= chat_buf_puts(&msg, mine); /* msg[0, len - 1) + mine: the author's copy */
  if (rv != 0) {
    chat_buf_free(&msg);
    return;
  }
  if (rtw_ws_prepared_new(&pm, RTW_WS_OP_TEXT, msg.data, len,
                          s->o.no_deflate ? NULL : &s->deflate, NULL) != 0)
    pm = NULL;
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind != CONN_WS || c->dead || !c->joined || c == author)
      continue;
    if (pm != NULL)
      ws_sent(c, rtw_ws_queue_prepared(c->ws, pm));
    else
      ws_send(c, msg.data, len);
  }
  rtw_ws_prepared_free(pm); /* the sessions hold their own references until written */
  if (author != NULL) {
    memmove(msg.data + len - 1, mine, sizeof mine - 1);
    ws_send(author, msg.data, len - 1 + sizeof mine - 1);
  }
  chat_buf_free(&msg);
}

static void reply_error(conn *c, const char *why);

/* A chat line: to every chat socket and to the feed as a `message` event {"name","text"}.
 * With --redis it only goes to the log, tagged with its author (node:serial); every node,
 * this one too, delivers it when it reads it back (chat_conn_from_log), so all see one
 * order. While the log is down lines are refused, the author is told (docs/scale-out.md). */
static void broadcast(conn *from, const char *name, size_t name_len, const char *text,
                      size_t text_len)
{
  server *s = from->srv;
  chat_buf msg = {0};
  char who[64];
  int rv = 0;

  rv |= chat_buf_puts(&msg, "{\"name\":");
  rv |= chat_json_string(&msg, name, name_len);
  rv |= chat_buf_puts(&msg, ",\"text\":");
  rv |= chat_json_string(&msg, text, text_len);
  rv |= chat_buf_puts(&msg, "}");
  if (rv != 0) {
    chat_buf_free(&msg);
    return;
  }
  if (s->rds != NULL) {
    snprintf(who, sizeof who, "%s:%" PRIu64, s->node, from->serial);
    if (!s->log_up || chat_redis_publish(s->rds, "message", msg.data, chat_buf_size(&msg), who,
                                         chat_clock_ms(CLOCK_REALTIME)) != 0)
      reply_error(from, "the chat log is unavailable: message not sent, try again");
  } else {
    deliver(s, msg.data, chat_buf_size(&msg), NULL, 0, chat_clock_ms(CLOCK_REALTIME), from);
    publish(s, "message", msg.data, chat_buf_size(&msg));
  }
  chat_buf_free(&msg);
}

void chat_conn_from_log(server *s, const char *data, size_t len, const char *id,
                        size_t id_len, const char *from, size_t from_len, uint64_t ts)
{
  char name[CHAT_MAX_MESSAGE], text[CHAT_MAX_MESSAGE];
  size_t name_len, text_len, node_len = strlen(s->node), i;
  uint64_t serial = 0;
  conn *author = NULL;

  /* the log is not trusted more than a client: only a well-formed chat message goes out */
  if (chat_json_parse_message(data, len, name, sizeof name, &name_len, text, sizeof text,
                              &text_len) != 0)
    return;
  if (from_len > node_len + 1 && memcmp(from, s->node, node_len) == 0 &&
      from[node_len] == ':') {
    for (i = node_len + 1; i < from_len && from[i] >= '0' && from[i] <= '9' && i < node_len + 20;
         i++)
      serial = serial * 10 + (uint64_t)(from[i] - '0');
    for (i = 0; serial != 0 && i < s->nconns; i++)
      if (s->conns[i]->serial == serial && s->conns[i]->kind == CONN_WS)
        author = s->conns[i];
  }
  deliver(s, data, len, id, id_len, ts, author);
}

/* --redis: a page that reconnects its chat socket names the last line it showed
 * (`/chat?after=<id>`, an id from the feed, `<epoch>-<seq>`: hex digits and a dash, so
 * nothing to percent-decode); anything else is ignored. */
static void remember_after(conn *c, rtw_ws_handshake_server *hs)
{
  const char *q, *amp;
  size_t n, i;

  if (c->srv->rds == NULL || rtw_ws_handshake_server_query(hs, &q, &n) != 1 || n <= 6 ||
      memcmp(q, "after=", 6) != 0)
    return;
  q += 6, n -= 6;
  if ((amp = memchr(q, '&', n)) != NULL)
    n = (size_t)(amp - q);
  if (n == 0 || n > sizeof c->rds_id)
    return;
  for (i = 0; i < n; i++)
    if (!((q[i] >= '0' && q[i] <= '9') || (q[i] >= 'a' && q[i] <= 'f') || q[i] == '-'))
      return;
  memcpy(c->rds_id, q, n);
  c->rds_id_len = n;
}

/* One line `NAME: VALUE` of a serialised event (feed.c writes one data line for the
 * chat's single-line JSON). */
static int field(const char *ev, size_t len, const char *name, const char **v, size_t *vn)
{
  const char *p = ev, *end = ev + len;
  size_t nl = strlen(name);

  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
    if (n > nl + 1 && memcmp(p, name, nl) == 0 && p[nl] == ':' && p[nl + 1] == ' ') {
      *v = p + nl + 2;
      *vn = n - nl - 2;
      return 1;
    }
    p += n + 1;
  }
  return 0;
}

/* The chat lines after `after` that the window holds, to this socket only, in order, with
 * their ids and without "ts" (the window keeps the feed's event, which has none). Not in
 * the window (too old, another epoch): nothing; the page's feed still has them. */
static void replay_chat(conn *c)
{
  rtw_sse_history *h = c->srv->feed.history;
  char name[CHAT_MAX_MESSAGE], text[CHAT_MAX_MESSAGE];
  uint64_t seq;
  chat_buf msg = {0};

  if (rtw_sse_history_find(h, c->rds_id, c->rds_id_len, &seq) != 0)
    return;
  for (; seq < rtw_sse_history_next_seq(h) && !c->dead; seq++) {
    const void *ev;
    const char *type, *id, *data;
    size_t len, tn, in, dn, nn, xn;
    if (rtw_sse_history_get(h, seq, &ev, &len) != 0 || len == 0 ||
        !field(ev, len, "event", &type, &tn) || !chat_span_is(type, tn, "message") ||
        !field(ev, len, "id", &id, &in) || !field(ev, len, "data", &data, &dn) ||
        dn < 2 || data[dn - 1] != '}' ||
        chat_json_parse_message(data, dn, name, sizeof name, &nn, text, sizeof text, &xn) != 0)
      continue;
    msg.off = msg.len = 0;
    if (chat_buf_append(&msg, data, dn - 1, (size_t)-1) == 0 &&
        chat_buf_puts(&msg, ",\"id\":") == 0 && chat_json_string(&msg, id, in) == 0 &&
        chat_buf_puts(&msg, "}") == 0)
      ws_send(c, msg.data, chat_buf_size(&msg));
  }
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

/* Every chat socket that opens and closes is a join and a leave event in the feed, so an
 * address may open --join-rate chat sockets per minute on average (bursts of
 * CHAT_RATE_BURST_MS worth): reconnecting in a loop cannot flood the history. The table has
 * JOIN_SLOTS addresses; a slot whose budget is full again is free, and when every slot is
 * busy the newest address is let in unmetered rather than refused. */
static int join_allowed(server *s, const addr_key *k)
{
  join_slot *free_slot = NULL;
  size_t i;

  for (i = 0; i < JOIN_SLOTS; i++) {
    join_slot *j = &s->joins[i];
    if (memcmp(&j->addr, k, sizeof *k) == 0)
      return chat_rate_take(&j->rate, 60, s->now) == 0;
    if (free_slot == NULL && chat_rate_full(&j->rate, s->now))
      free_slot = j;
  }
  if (free_slot == NULL)
    return 1;
  free_slot->addr = *k;
  chat_rate_init(&free_slot->rate, (uint32_t)s->o.join_rate);
  return chat_rate_take(&free_slot->rate, 60, s->now) == 0;
}

int chat_conn_on_upgrade(rtw_ws_handshake_server *hs, void *user)
{
  conn *c = user;
  const char *path;
  size_t len;

  rtw_ws_handshake_server_path(hs, &path, &len);
  if (!chat_span_is(path, len, "/chat"))
    return 404;
  if (!same_origin(hs))
    return 403;
  remember_after(c, hs);
  if (!join_allowed(c->srv, &c->addr)) { /* RFC 6585 4: 429 Too Many Requests */
    fprintf(stderr, "rtweb-chat: refusing a chat socket from %d: too many joins\n", c->fd);
    return 429;
  }
  /* RFC 7692 5, 7.1: accept the browser's permessage-deflate offer (Chromium and Firefox
   * send "permessage-deflate; client_max_window_bits") unless --no-deflate; without an
   * acceptable offer the socket runs uncompressed */
  if (!c->srv->o.no_deflate) {
    int rv = rtw_ws_handshake_server_accept_deflate(hs, &c->srv->deflate, &c->negotiated);
    if (rv == RTW_ERR_NOMEM)
      return 500;
    c->deflate = rv == 1;
  }
  return 0;
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
    conn_kill(c, "out of memory");
}

/* Bytes from a chat socket: they count against its byte rate (RFC 6455 10.4: a server may
 * limit what a client makes it spend), then go to the session. */
void chat_conn_input(conn *c, const char *p, size_t n)
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
void chat_conn_resume(conn *c)
{
  chat_buf held = c->in;

  if (c->dead || chat_buf_size(&held) == 0 || !rtw_ws_want_read(c->ws))
    return;
  memset(&c->in, 0, sizeof c->in);
  ws_feed(c, held.data + held.off, chat_buf_size(&held));
  chat_buf_free(&held);
}

/* Poll a chat socket for input only while the session takes it and nothing waits. */
int chat_conn_reading(const conn *c)
{
  return !c->policy_closed && chat_buf_size(&c->in) == 0 && rtw_ws_want_read(c->ws);
}

void chat_conn_start(conn *c, const char *frames, size_t frames_len)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  const void *resp;
  size_t resp_len;

  rtw_ws_handshake_server_response(c->hs, &resp, &resp_len);
  conn_append(c, resp, resp_len, HTTP_OUT_LIMIT);
  cb.on_message = on_ws_message;
  cb.on_ping = on_ws_control;
  cb.on_pong = on_ws_control;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  /* RFC 6455 10.4: limit what a peer can make us buffer; a bigger message is closed 1009 */
  st.max_frame_size = CHAT_MAX_MESSAGE;
  st.max_message_size = CHAT_MAX_MESSAGE;
  st.max_outbound = WS_MAX_OUTBOUND;
  st.keepalive_ms = KEEPALIVE_MS;
  /* the input gate: a socket whose own queue holds WS_HIGH_WATER bytes (it is not reading
   * what it is sent) is not read until the queue is back to WS_LOW_WATER (ws.h,
   * "Backpressure recipe": max_outbound >= high water + max_message_size + header + 256) */
  st.outbound_high_water = WS_HIGH_WATER;
  st.outbound_low_water = WS_LOW_WATER;
  if (c->dead || rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0 ||
      (c->deflate && rtw_ws_set_deflate(c->ws, &c->negotiated, &c->srv->deflate) != 0)) {
    conn_kill(c, "cannot start a WebSocket session");
    return;
  }
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  c->kind = CONN_WS;
  c->joined = 1;
  chat_rate_init(&c->msg_rate, (uint32_t)c->srv->o.msg_rate);
  chat_rate_init(&c->byte_rate, (uint32_t)c->srv->o.byte_rate);
  c->srv->online++;
  chat_conn_publish_count(c->srv, "join");
  rtw_ws_tick(c->ws, c->srv->now); /* arms the keepalive timer */
  if (c->rds_id_len > 0)
    replay_chat(c);
  if (frames_len > 0) /* frames that came with the request (docs/handshake.md) */
    chat_conn_input(c, frames, frames_len);
}
