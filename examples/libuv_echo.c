/* SPDX-License-Identifier: MIT */
/* libuv_echo: the WebSocket echo server of ws_echo_server.c, embedded in a libuv loop.
 *
 *   libuv_echo [PORT]          (binds 127.0.0.1; port 0 or none picks a free port)
 *
 * The point is the wiring between a loop that owns the sockets and rtweb's sans-I/O engines:
 *
 *   uv_read_start -> on_read ----> rtw_ws_handshake_server_recv / rtw_ws_recv (callbacks fire)
 *   rtw_ws_send_pending_iov -> uv_write -> on_write -> rtw_ws_send_consumed
 *   rtw_ws_next_deadline -> uv_timer_start -> on_timer -> rtw_ws_tick
 *
 * One rule shapes the code: the iov from rtw_ws_send_pending_iov() points into the session
 * and stays valid only until the next call that changes its queue (rtw_ws_recv() may queue an
 * echo or a pong, rtw_ws_tick() a ping). libuv holds those pointers until on_write, so while
 * a write is in flight we read nothing (uv_read_stop) and skip ticks. That is also simple
 * flow control: a client that does not read its echoes stops being read.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* POSIX sockets and clocks under -std=c99 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rtweb/rtweb.h>
#include <uv.h>

#define MAX_IOV 16

struct conn {
  uv_tcp_t tcp;                /* the connection; tcp.data points back to us */
  uv_timer_t timer;            /* the session's timers */
  uv_write_t write_req;        /* at most one write in flight */
  rtw_ws_handshake_server *hs; /* until the handshake response is written */
  rtw_ws *ws;                  /* after a successful handshake */
  size_t in_flight;            /* bytes of the write in flight (0: none) */
  int closing;                 /* uv_close() called */
  int close_after_write;       /* the handshake failed: close once the response is out */
  int open_handles;            /* tcp and timer: free the conn when both are closed */
  char rbuf[16384];            /* libuv reads into this (one read at a time) */
};

static uv_loop_t *loop;

/* Echo it, same type. After our close the session ignores RTW_ERR_WS_CLOSED. This loop
 * stops reading while a write is in flight and reads again only when everything queued is
 * written, so the queue holds at most the echo of one 16 KiB read: far below the session's
 * outbound high-water mark, at which rtw_ws_recv() would pause and leave input unread. */
static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  return rtw_ws_queue_message(ws, opcode, data, len, 0);
}

static void on_handle_closed(uv_handle_t *h)
{
  struct conn *c = h->data;
  if (--c->open_handles > 0)
    return;
  rtw_ws_handshake_server_free(c->hs);
  rtw_ws_free(c->ws);
  free(c);
}

static void conn_close(struct conn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct conn *c = h->data;
  (void)suggested;
  buf->base = c->rbuf;
  buf->len = sizeof c->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_write(uv_write_t *req, int status);
static void on_timer(uv_timer_t *t);

/* After every event: start the next write, or read and arm the timer, or close. */
static void update(struct conn *c)
{
  uv_buf_t bufs[MAX_IOV];
  rtw_iovec iov[MAX_IOV];
  size_t count, i;
  uint64_t deadline;

  if (c->closing || c->in_flight > 0)
    return; /* on_write calls us again */
  if (c->hs != NULL && c->ws == NULL && !c->close_after_write) {
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read); /* the request is arriving */
    return;
  }
  if (c->ws == NULL || !rtw_ws_want_write(c->ws)) {
    if (c->close_after_write || !rtw_ws_want_read(c->ws)) {
      conn_close(c); /* done: RFC 6455 7.1.1, the server closes TCP first */
      return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read); /* no-op when reading */
  } else {
    if (rtw_ws_send_pending_iov(c->ws, iov, MAX_IOV, &count) != 0) {
      conn_close(c);
      return;
    }
    for (i = 0; i < count; i++) { /* rtw_iovec -> uv_buf_t: the same two fields */
      bufs[i].base = (char *)iov[i].base;
      bufs[i].len = iov[i].len;
      c->in_flight += iov[i].len;
    }
    uv_read_stop((uv_stream_t *)&c->tcp); /* the iov must stay valid: see the top */
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, bufs, (unsigned)count, on_write)) {
      conn_close(c);
      return;
    }
  }
  deadline = rtw_ws_next_deadline(c->ws); /* UINT64_MAX: no timer armed */
  if (deadline == UINT64_MAX)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, on_timer, deadline > uv_now(loop) ? deadline - uv_now(loop) : 0,
                   0);
}

static void on_write(uv_write_t *req, int status)
{
  struct conn *c = req->data;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->ws != NULL && c->hs == NULL)
    rtw_ws_send_consumed(c->ws, c->in_flight); /* uv_write writes everything or fails */
  rtw_ws_handshake_server_free(c->hs);         /* the response (if it was that) is out */
  c->hs = NULL;
  c->in_flight = 0;
  update(c);
}

static void on_timer(uv_timer_t *t)
{
  struct conn *c = t->data;
  if (c->in_flight > 0)
    return; /* ticking could queue a ping and move the bytes being written */
  rtw_ws_tick(c->ws, uv_now(loop)); /* uv_now: the loop's monotonic clock in ms */
  update(c);
}

/* Write a response that lives in `hs` (the 101, or an error status). */
static void write_response(struct conn *c, const void *data, size_t len)
{
  uv_buf_t buf;
  buf.base = (char *)data;
  buf.len = len;
  c->in_flight = len;
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0)
    conn_close(c);
}

static void handshake(struct conn *c, const char *in, size_t len)
{
  static const char not_ws[] = "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                               "Connection: close\r\nContent-Length: 0\r\n\r\n";
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  const void *resp;
  size_t resp_len, used;
  int rv = rtw_ws_handshake_server_recv(c->hs, in, len, &used);

  if (rv == RTW_WS_HANDSHAKE_INCOMPLETE)
    return;
  if (rv == RTW_WS_HANDSHAKE_PLAIN_REQUEST) {
    c->close_after_write = 1;
    write_response(c, not_ws, sizeof not_ws - 1);
    return;
  }
  if (rtw_ws_handshake_server_response(c->hs, &resp, &resp_len) != 0) {
    conn_close(c); /* out of memory: no response */
    return;
  }
  if (rv != RTW_WS_HANDSHAKE_DONE) {
    c->close_after_write = 1; /* 400, 426, 431, ...: write it, then close */
  } else {
    cb.on_message = on_message;
    st.flags = RTW_WS_FLAG_WHOLE_MESSAGES; /* one callback per message */
    st.keepalive_ms = 30000;               /* ping an idle client every 30 s */
    if (rtw_ws_new(&c->ws, RTW_WS_ROLE_SERVER, &cb, &st, NULL, c) != 0) {
      conn_close(c);
      return;
    }
    rtw_ws_tick(c->ws, uv_now(loop));                /* timers arm from the first tick */
    rtw_ws_recv(c->ws, in + used, len - used, &used); /* frames right behind the request */
  }
  write_response(c, resp, resp_len); /* the session's frames follow in on_write */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct conn *c = s->data;
  size_t used;

  if (nread < 0) { /* UV_EOF or an error: the peer is gone */
    conn_close(c);
    return;
  }
  if (nread == 0)
    return; /* nothing read this time (EAGAIN) */
  if (c->ws == NULL)
    handshake(c, buf->base, (size_t)nread);
  else /* a protocol error queues its close frame; update() writes it, then closes */
    rtw_ws_recv(c->ws, buf->base, (size_t)nread, &used);
  update(c);
}

static void on_connection(uv_stream_t *server, int status)
{
  struct conn *c;

  if (status < 0 || (c = calloc(1, sizeof *c)) == NULL)
    return;
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c->write_req.data = c;
  c->open_handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      rtw_ws_handshake_server_new(&c->hs, NULL, NULL, NULL, NULL) != 0) {
    conn_close(c);
    return;
  }
  update(c);
}

int main(int argc, char **argv)
{
  uv_tcp_t server;
  struct sockaddr_in sa;
  int sa_len = sizeof sa;
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;

  if (argc > 2 || port > 65535) {
    fprintf(stderr, "usage: libuv_echo [PORT]\n");
    return 2;
  }
  loop = uv_default_loop();
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", (int)port, &sa);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0) != 0 ||
      uv_listen((uv_stream_t *)&server, 64, on_connection) != 0 ||
      uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &sa_len) != 0) {
    fprintf(stderr, "libuv_echo: cannot listen on 127.0.0.1:%lu\n", port);
    return 1;
  }
  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
