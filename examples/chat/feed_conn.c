/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: a feed connection, GET /events: Server-Sent Events (WHATWG HTML 9.2) over
 * HTTP/1.1 chunked (or close-delimited for HTTP/1.0), from the shared replay history of
 * feed.c, resuming after Last-Event-ID (or the `lastEventId` query parameter), with
 * heartbeats. Its output is bounded: it pulls events only while under SSE_LOW_WATER.
 *
 * Why not rtw_sse_stream (http.h), which does the same for most hosts: the chat starts a
 * stream where rtw_sse_stream cannot. A page without Last-Event-ID gets the retained
 * history (recent activity), not live events only; an evicted id continues from the oldest
 * retained event after a `: gap` comment; an id this feed never gave out gets a `reset`
 * event and the retained history; and the `lastEventId` query parameter stands in for the
 * header. rtw_sse_stream places its cursor only from the header, at the history's next
 * event otherwise.
 */
#include "server.h"
#include "redis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Queue event-stream bytes, as one chunk on an HTTP/1.1 stream (RFC 9112 7.1). */
static int sse_write(conn *c, const void *bytes, size_t len)
{
  size_t n = len;
  char *dst;

  conn_touch(c); /* the loop writes it this round */
  if (c->chunked)
    rtw_sse_http_chunk(NULL, 0, &n, bytes, len);
  dst = chat_buf_reserve(&c->out, n, SSE_OUT_LIMIT);
  if (dst == NULL) {
    conn_kill(c, "feed output limit");
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

/* ====================================================================== --redis */
/*
 * docs/scale-out.md, "Replay and reset". Ids are `<epoch>-<seq>`, the same on every node.
 * A Last-Event-ID the history holds resumes from it (RDS_LIVE). One it does not hold:
 *   - of the current epoch, at or after the history's window: the client is ahead of this
 *     node's tail (it came from a node that read further); it waits for the tail;
 *   - of the current epoch, older than the window: the missed entries come from the log,
 *     XRANGE in pages of REPLAY_PAGE while the output is small (RDS_REPLAY, _ASKED), until
 *     the history's window is reached; what arrived meanwhile is in the history, numbered:
 *     it follows from there, nothing lost, nothing twice;
 *   - of another epoch, not ours at all, or trimmed from the log (the page's first entry is
 *     not the one asked for): a `reset` event, then the retained history as for a new page;
 *   - before the epoch is known (the log was never up): RDS_RESOLVE, decided when it is.
 * A live feed that falls behind the window (a burst evicted what it had not sent yet)
 * replays from the log the same way, instead of being dropped as without --redis.
 * While the log is down a replay waits (a client never gets a silent gap).
 */
#define REPLAY_PAGE 8u /* entries per XRANGE: at most 8 x 25 KiB over SSE_LOW_WATER */

/* An event-stream block without id: `event: TYPE`, one `data:` line. */
static void sse_notice(conn *c, const char *type, const char *data, size_t len,
                       const char *id, size_t id_len)
{
  chat_buf b = {0};

  if (chat_feed_serialize(&b, id, id_len, type, strlen(type), data, len) == 0)
    sse_write(c, b.data, chat_buf_size(&b));
  chat_buf_free(&b);
}

static void send_status(conn *c)
{
  const char *st = c->srv->log_up ? "{\"log\":\"up\"}" : "{\"log\":\"down\"}";
  sse_notice(c, "status", st, strlen(st), NULL, 0);
}

/* The client's events are gone (trimmed, or another epoch): say so, then what the history
 * keeps. The reset carries the id just before that, so a reconnect resumes there. */
static void log_reset(conn *c)
{
  server *s = c->srv;
  uint64_t first = rtw_sse_history_first_seq(s->feed.history);
  char data[160], id[CHAT_LOG_ID_MAX];
  int dn = snprintf(data, sizeof data, "{\"epoch\":\"%s\",\"first\":%" PRIu64 "}", s->epoch,
                    first);
  int idn = chat_feed_log_id(id, sizeof id, s->epoch, first > 0 ? first - 1 : 0);

  if (dn > 0 && (size_t)dn < sizeof data && idn > 0)
    sse_notice(c, "reset", data, (size_t)dn, id, (size_t)idn);
  c->rds_state = RDS_LIVE;
  c->sse_seq = first;
}

/* `<epoch>-<seq>` of the current epoch: 1 and *seq; else 0. */
static int our_id(const server *s, const char *id, size_t len, uint64_t *seq)
{
  size_t el = strlen(s->epoch), i;

  if (!s->have_epoch || len <= el + 1 || len > el + 20 || memcmp(id, s->epoch, el) != 0 ||
      id[el] != '-')
    return 0;
  *seq = 0;
  for (i = el + 1; i < len; i++) {
    if (id[i] < '0' || id[i] > '9')
      return 0;
    *seq = *seq * 10 + (uint64_t)(id[i] - '0');
  }
  return 1;
}

/* Where a client that resumes after `id` (not in the history) continues. */
static void resolve(conn *c)
{
  server *s = c->srv;
  const rtw_sse_history *h = s->feed.history;
  uint64_t seq, found;

  if (!s->have_epoch)
    return; /* RDS_RESOLVE until the log tells the epoch */
  if (rtw_sse_history_find(h, c->rds_id, c->rds_id_len, &found) == 0) {
    c->rds_state = RDS_LIVE;
    c->sse_seq = found;
  } else if (!our_id(s, c->rds_id, c->rds_id_len, &seq)) {
    log_reset(c);
  } else if (seq + 1 >= rtw_sse_history_first_seq(h)) {
    c->rds_state = RDS_LIVE; /* up to date, or ahead of our tail: wait for it */
    c->sse_seq = seq + 1;
  } else {
    c->rds_state = RDS_REPLAY;
    c->rds_next = seq + 1;
  }
}

/* Advance a feed that is not live. @return 1 when it is live now. */
static int replay_step(conn *c)
{
  server *s = c->srv;

  if (c->rds_state == RDS_RESOLVE)
    resolve(c);
  if (c->rds_state == RDS_REPLAY && c->rds_next >= rtw_sse_history_first_seq(s->feed.history)) {
    c->rds_state = RDS_LIVE; /* the history has the rest */
    c->sse_seq = c->rds_next;
  }
  if (c->rds_state == RDS_REPLAY && s->log_up && !c->dead && !c->ended &&
      chat_buf_size(&c->out) < SSE_LOW_WATER &&
      chat_redis_range(s->rds, c->rds_next, REPLAY_PAGE, c->serial) == 0)
    c->rds_state = RDS_REPLAY_ASKED;
  return c->rds_state == RDS_LIVE;
}

static conn *feed_by_serial(server *s, uint64_t serial)
{
  size_t i;
  for (i = 0; i < s->nconns; i++)
    if (s->conns[i]->serial == serial && s->conns[i]->kind == CONN_SSE && !s->conns[i]->dead)
      return s->conns[i];
  return NULL;
}

static void on_log_range(void *user, uint64_t tag, const chat_redis_entry *e, size_t n,
                         int failed)
{
  server *s = user;
  conn *c = feed_by_serial(s, tag);
  chat_buf b = {0};
  char id[CHAT_LOG_ID_MAX];
  size_t i;

  if (c == NULL || c->rds_state != RDS_REPLAY_ASKED)
    return;
  conn_touch(c); /* the loop goes on with it this round (server.c) */
  c->rds_state = RDS_REPLAY;
  if (failed)
    return; /* asked again once the log is back */
  if (c->rds_next >= rtw_sse_history_first_seq(s->feed.history))
    return; /* the history caught up meanwhile: replay_step() goes live */
  if (n == 0 || e[0].seq != c->rds_next) { /* trimmed: the log no longer has it */
    log_reset(c);
    return;
  }
  for (i = 0; i < n && e[i].seq == c->rds_next && !c->dead; i++) {
    int idn = chat_feed_log_id(id, sizeof id, s->epoch, e[i].seq);
    /* what chat_feed_push_log() keeps, byte for byte; what it skips, skipped here too */
    if (idn > 0 && chat_feed_valid_type(e[i].type, e[i].type_len) &&
        chat_feed_serialize(&b, id, (size_t)idn, e[i].type, e[i].type_len, e[i].data,
                            e[i].data_len) == 0 &&
        sse_write(c, b.data, chat_buf_size(&b)) != 0)
      break;
    c->rds_next++;
  }
  chat_buf_free(&b);
}

static void on_log_up(void *user, const char *epoch, int changed, const chat_redis_entry *seed,
                      size_t n)
{
  server *s = user;
  int had = s->have_epoch;
  size_t i;

  s->log_up = 1;
  if (changed) {
    if (had)
      fprintf(stderr, "rtweb-chat: the log's epoch changed (%s to %s): feeds get a reset\n",
              s->epoch, epoch);
    snprintf(s->epoch, sizeof s->epoch, "%s", epoch);
    s->have_epoch = 1;
    rtw_sse_history_reset(s->feed.history, n > 0 ? seed[0].seq : 1);
    for (i = 0; i < n; i++)
      if (chat_feed_push_log(&s->feed, s->epoch, seed[i].seq, seed[i].type, seed[i].type_len,
                             seed[i].data, seed[i].data_len) != 0)
        fprintf(stderr, "rtweb-chat: log entry %" PRIu64 " not kept\n", seed[i].seq);
  }
  for (i = 0; i < s->nconns; i++) {
    conn *c = s->conns[i];
    if (c->kind != CONN_SSE || c->dead)
      continue;
    send_status(c);
    if (!changed || c->rds_state == RDS_RESOLVE)
      continue;
    if (had)
      log_reset(c); /* its ids are of the old epoch */
    else
      c->sse_seq = rtw_sse_history_first_seq(s->feed.history), c->rds_state = RDS_LIVE;
  }
}

static void on_log_down(void *user)
{
  server *s = user;
  size_t i;

  s->log_up = 0;
  for (i = 0; i < s->nconns; i++)
    if (s->conns[i]->kind == CONN_SSE && !s->conns[i]->dead)
      send_status(s->conns[i]);
}

static void on_log_entry(void *user, const chat_redis_entry *e)
{
  server *s = user;

  if (chat_feed_push_log(&s->feed, s->epoch, e->seq, e->type, e->type_len, e->data,
                         e->data_len) != 0) {
    fprintf(stderr, "rtweb-chat: log entry %" PRIu64 " not kept\n", e->seq);
    return;
  }
  if (chat_span_is(e->type, e->type_len, "message")) {
    char id[CHAT_LOG_ID_MAX];
    int idn = chat_feed_log_id(id, sizeof id, s->epoch, e->seq);
    if (idn > 0)
      chat_conn_from_log(s, e->data, e->data_len, id, (size_t)idn, e->from, e->from_len,
                         e->ts);
  }
}

void feed_conn_redis_hooks(struct chat_redis_hooks *h, server *s)
{
  memset(h, 0, sizeof *h);
  h->user = s;
  h->on_up = on_log_up;
  h->on_down = on_log_down;
  h->on_entry = on_log_entry;
  h->on_range = on_log_range;
}

/* ====================================================================== the feed */

/* Move events from the history to the connection while its output is small. */
void feed_conn_fill(conn *c)
{
  rtw_sse_history *h = c->srv->feed.history;
  const void *ev;
  size_t len;

  if (c->srv->rds != NULL && c->rds_state != RDS_LIVE && !replay_step(c))
    return; /* replaying from the log, or waiting for it */
  while (!c->dead && !c->ended && chat_buf_size(&c->out) < SSE_LOW_WATER &&
         c->sse_seq < rtw_sse_history_next_seq(h)) {
    if (rtw_sse_history_get(h, c->sse_seq, &ev, &len) != 0) {
      if (c->srv->rds != NULL) { /* --redis: the log still has them */
        c->rds_state = RDS_REPLAY;
        c->rds_next = c->sse_seq;
        replay_step(c);
        return;
      }
      conn_kill(c, "feed reader fell behind the history"); /* it reconnects and resumes */
      return;
    }
    if (len > 0 && sse_write(c, ev, len) != 0) /* empty: a log entry not shown */
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
  if (rv == 0) {
    c->sse_seq = seq;
  } else if (rv == 1) {
    c->sse_seq = rtw_sse_history_first_seq(h);
  } else if (c->srv->rds != NULL) {
    if (id_len > sizeof c->rds_id) { /* not an id of ours */
      c->rds_id_len = 0;
    } else {
      memcpy(c->rds_id, id, id_len);
      c->rds_id_len = id_len;
    }
    c->rds_state = RDS_RESOLVE;
    c->sse_seq = rtw_sse_history_first_seq(h);
  } else {
    resume_after_gap(c, id, id_len);
  }
}

/* The handshake server already parsed the head: its SSE view of the request (no copy of
 * the head, no second parse) says whether it is a valid feed request and where to resume. */
void feed_conn_start(conn *c)
{
  const rtw_sse_http_request *req = rtw_ws_handshake_server_plain_request(c->hs);
  char head[256], retry[32];
  size_t n;
  uint32_t flags;
  int rv = rtw_sse_http_request_outcome(req);

  if (rv != RTW_SSE_HTTP_DONE) {
    if (rv == RTW_ERR_HTTP_BAD_METHOD)
      conn_respond_text(c, "405 Method Not Allowed", "Allow: GET\r\n", "GET only\n");
    else
      conn_respond_text(c, "400 Bad Request", NULL, "bad feed request\n");
    return;
  }
  c->chunked = rtw_sse_http_request_chunked(req) == 1;
  flags = c->chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0;
  if (rtw_sse_http_response(head, sizeof head, &n, flags, NULL, 0) != 0) {
    conn_kill(c, "response head");
    return;
  }
  conn_append(c, head, n, SSE_OUT_LIMIT);
  c->kind = CONN_SSE;
  /* WHATWG 9.2.6: `retry` sets the reconnection time; the blank line ends the block */
  rtw_sse_write_retry(retry, sizeof retry - 1, &n, RETRY_MS, 0);
  retry[n++] = '\n';
  sse_write(c, retry, n);
  if (c->srv->rds != NULL)
    send_status(c);
  sse_resume(c, req);
  feed_conn_fill(c);
}

void feed_conn_heartbeat(conn *c)
{
  if (!c->ended && chat_buf_size(&c->out) < SSE_LOW_WATER)
    sse_comment(c, "heartbeat"); /* docs/sse-http.md "Heartbeats" */
}

void feed_conn_end(conn *c)
{
  static const char last[] = RTW_SSE_HTTP_LAST_CHUNK;

  /* end the body: the browser reconnects (WHATWG 9.2.3) and resumes by id */
  c->ended = 1;
  if (c->chunked)
    chat_buf_append(&c->out, last, sizeof last - 1, (size_t)-1);
  c->close_after_flush = 1;
}
