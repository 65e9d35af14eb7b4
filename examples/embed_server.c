/* SPDX-License-Identifier: MIT */
/* embed_server: the complete program behind docs/embedding.md ("embed rtweb in your server in
 * 15 minutes"). One port, one poll(2) loop: a WebSocket echo on /ws and an SSE clock on
 * /events (one event a second, resumable with Last-Event-ID). The "step N" markers match
 * the walkthrough's steps; examples/ws_echo_server.c and examples/sse_server.c are the fuller
 * single-protocol versions.
 *
 *   embed_server        listens on 127.0.0.1, a free port, printed as the first line */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

/* --- step 1 */
struct conn {
  int fd;                       /* -1: free slot */
  rtw_ws_handshake_server *hs;  /* reads the request head; NULL once it is answered */
  rtw_ws *ws;                   /* a WebSocket connection after the 101 */
  rtw_sse_http_request *req;    /* an SSE connection: its request */
  int sse_chunked;              /* SSE over HTTP/1.1: every write is a chunk */
  int close_after;              /* close once out is written (error responses) */
  char head[8192];              /* the request head, kept until it is routed */
  size_t head_len;
  char *out;                    /* bytes to write that are not the session's */
  size_t out_len;
};

static struct conn conns[MAX_CONNS];
static rtw_sse_history *history;
static unsigned long next_id = 1;

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int out_append(struct conn *c, const void *p, size_t n)
{
  char *o = realloc(c->out, c->out_len + n);
  if (o == NULL)
    return -1;
  memcpy(o + c->out_len, p, n);
  c->out = o;
  c->out_len += n;
  return 0;
}

/* --- step 3: the session's callbacks */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  int rv = rtw_ws_queue_message(ws, opcode, data, len, 0); /* echo it back */
  (void)user_data;
  return rv == RTW_ERR_WS_CLOSED ? 0 : rv;
}

static int start_ws(struct conn *c, const char *rest, size_t rest_len)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  size_t used;

  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  st.max_message_size = 1u << 20;
  st.keepalive_ms = 30000;
  if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0)
    return -1;
  rtw_ws_tick(c->ws, now_ms());                   /* timers arm from the first tick */
  rtw_ws_recv(c->ws, rest, rest_len, &used);      /* frames sent right after the request */
  return 0;
}

/* --- step 5: SSE */
static int sse_send(struct conn *c, const void *bytes, size_t len)
{
  char frame[RTW_SSE_HTTP_CHUNK_OVERHEAD + 1024];
  size_t n;

  if (!c->sse_chunked)
    return out_append(c, bytes, len);
  if (rtw_sse_http_chunk(frame, sizeof frame, &n, bytes, len) != 0)
    return -1;
  return out_append(c, frame, n);
}

static int start_sse(struct conn *c)
{
  char head[256];
  const void *ev;
  size_t n, ev_len;
  uint64_t seq;
  int rv;

  if (rtw_sse_http_request_new(&c->req, NULL, NULL) != 0 ||
      rtw_sse_http_request_recv(c->req, c->head, c->head_len, &n) != RTW_SSE_HTTP_DONE)
    return -1;
  c->sse_chunked = rtw_sse_http_request_chunked(c->req) == 1;
  rtw_sse_http_response(head, sizeof head, &n,
                        c->sse_chunked ? RTW_SSE_HTTP_RESPONSE_CHUNKED : 0, NULL, 0);
  out_append(c, head, n);
  rv = rtw_sse_http_request_resume(c->req, history, &seq);
  if (rv == 0) /* the client missed events: replay them from the history */
    for (; seq < rtw_sse_history_next_seq(history); seq++)
      if (rtw_sse_history_get(history, seq, &ev, &ev_len) == 0)
        sse_send(c, ev, ev_len);
  if (rv == RTW_ERR_SSE_HISTORY_GAP) { /* too old: tell the page to start over */
    char buf[64];
    rtw_sse_event reset = {.type = "reset", .type_len = 5};
    rtw_sse_write_event(buf, sizeof buf, &n, &reset, 0);
    sse_send(c, buf, n);
  }
  return 0;
}

static void publish(const char *data)
{
  char buf[1024], id[24];
  size_t n;
  int i, id_len = sprintf(id, "%lu", next_id++);
  rtw_sse_event ev = {.id = id, .id_len = (size_t)id_len, .data = data,
                      .data_len = strlen(data)};

  if (rtw_sse_write_event(buf, sizeof buf, &n, &ev, 0) != 0)
    return;
  rtw_sse_history_push(history, id, (size_t)id_len, buf, n, NULL);
  for (i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0 && conns[i].req != NULL)
      sse_send(&conns[i], buf, n);
}

/* --- step 2: routing the request */
static int on_upgrade(rtw_ws_handshake_server *hs, void *user_data)
{
  const char *path;
  size_t len;
  (void)user_data;
  rtw_ws_handshake_server_path(hs, &path, &len);
  return len == 3 && memcmp(path, "/ws", 3) == 0 ? 0 : 404;
}

static int route(struct conn *c, int rv, const char *rest, size_t rest_len)
{
  static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
  const void *resp;
  const char *path;
  size_t len;
  int ok = 0;

  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    rtw_ws_handshake_server_path(c->hs, &path, &len);
    if (len == 7 && memcmp(path, "/events", 7) == 0)
      ok = start_sse(c);
    else {
      ok = out_append(c, not_found, sizeof not_found - 1);
      c->close_after = 1;
    }
  } else {
    if (rtw_ws_handshake_server_response(c->hs, &resp, &len) != 0)
      return -1; /* out of memory: no response to send */
    ok = out_append(c, resp, len);
    if (rv == RTW_WS_HANDSHAKE_DONE && ok == 0)
      ok = start_ws(c, rest, rest_len);
    else
      c->close_after = 1;
  }
  rtw_ws_handshake_server_free(c->hs);
  c->hs = NULL;
  return ok;
}

static int on_readable(struct conn *c)
{
  char buf[16384];
  size_t used;
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  int rv;

  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (n == 0)
    return -1;
  if (c->ws != NULL) {
    rtw_ws_recv(c->ws, buf, (size_t)n, &used); /* errors queue their close frame */
    return 0;
  }
  if (c->hs == NULL)
    return 0; /* SSE: the client sends nothing more */
  rv = rtw_ws_handshake_server_recv(c->hs, buf, (size_t)n, &used);
  if (used > sizeof c->head - c->head_len)
    return -1; /* cannot happen with the default 8 KiB head limit */
  memcpy(c->head + c->head_len, buf, used);
  c->head_len += used;
  if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
    return 0;
  return route(c, rv, buf + used, (size_t)n - used);
}

/* --- step 4: writing */
static int on_writable(struct conn *c)
{
  const void *p;
  size_t len;
  ssize_t n;

  while (c->out_len > 0) {
    n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -1;
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
  }
  if (c->close_after)
    return -1;
  while (c->ws != NULL && rtw_ws_want_write(c->ws)) {
    if (rtw_ws_send_pending(c->ws, &p, &len) != 0)
      return -1;
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -1;
    rtw_ws_send_consumed(c->ws, (size_t)n);
  }
  if (c->ws != NULL && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws))
    return -1; /* the closing handshake is over (or the session failed) */
  return 0;
}

static void conn_close(struct conn *c)
{
  close(c->fd);
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  rtw_sse_http_request_free(c->req);
  free(c->out);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

int main(void)
{
  struct pollfd pfd[MAX_CONNS + 1];
  struct sockaddr_in sa;
  socklen_t sa_len = sizeof sa;
  rtw_ws_handshake_server_callbacks hcb = {.version = RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  int lfd, fd, i, one = 1, timeout;
  uint64_t now, next, next_tick = 0;

  hcb.on_upgrade = on_upgrade;
  rtw_sse_history_new(&history, 0, 0, NULL);
  for (i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0)
    return 1;
  getsockname(lfd, (struct sockaddr *)&sa, &sa_len);
  fcntl(lfd, F_SETFL, O_NONBLOCK);
  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  for (;;) {
    now = now_ms();
    if (now >= next_tick) { /* the application's own timer: one event per second */
      char text[32];
      sprintf(text, "tick %lu", next_id);
      publish(text);
      next_tick = now + 1000;
    }
    next = next_tick;
    pfd[MAX_CONNS].fd = lfd;
    pfd[MAX_CONNS].events = POLLIN;
    for (i = 0; i < MAX_CONNS; i++) {
      struct conn *c = &conns[i];
      pfd[i].fd = c->fd;
      pfd[i].events = POLLIN;
      if (c->out_len > 0 || (c->ws != NULL && rtw_ws_want_write(c->ws)))
        pfd[i].events |= POLLOUT;
      if (c->ws != NULL && rtw_ws_next_deadline(c->ws) < next)
        next = rtw_ws_next_deadline(c->ws);
    }
    timeout = next <= now ? 0 : (int)(next - now);
    if (poll(pfd, MAX_CONNS + 1, timeout) < 0 && errno != EINTR)
      return 1;
    if (pfd[MAX_CONNS].revents & POLLIN)
      while ((fd = accept(lfd, NULL, NULL)) >= 0) {
        for (i = 0; i < MAX_CONNS && conns[i].fd >= 0; i++)
          ;
        if (i == MAX_CONNS ||
            rtw_ws_handshake_server_new(&conns[i].hs, &hcb, NULL, NULL, NULL) != 0) {
          close(fd);
          continue;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        conns[i].fd = fd;
      }
    now = now_ms();
    for (i = 0; i < MAX_CONNS; i++) {
      struct conn *c = &conns[i];
      if (c->fd < 0 || c->fd != pfd[i].fd)
        continue;
      if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && on_readable(c) != 0) {
        conn_close(c);
        continue;
      }
      if (c->ws != NULL)
        rtw_ws_tick(c->ws, now);
      if (on_writable(c) != 0)
        conn_close(c);
    }
  }
}
