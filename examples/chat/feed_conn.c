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

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Queue event-stream bytes, as one chunk on an HTTP/1.1 stream (RFC 9112 7.1). */
static int sse_write(conn *c, const void *bytes, size_t len)
{
  size_t n = len;
  char *dst;

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

/* Move events from the history to the connection while its output is small. */
void feed_conn_fill(conn *c)
{
  rtw_sse_history *h = c->srv->feed.history;
  const void *ev;
  size_t len;

  while (!c->dead && !c->ended && chat_buf_size(&c->out) < SSE_LOW_WATER &&
         c->sse_seq < rtw_sse_history_next_seq(h)) {
    if (rtw_sse_history_get(h, c->sse_seq, &ev, &len) != 0) {
      conn_kill(c, "feed reader fell behind the history"); /* it reconnects and resumes */
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
