/* SPDX-License-Identifier: MIT */
/* Echo load generator on rtweb: N WebSocket (or raw TCP) connections to an echo server,
 * closed loop, per-message round-trip latency. Run through bench/run_echo.sh. */

/*
 *   echo_load [--host 127.0.0.1] [--port 8080] [--path /] [--connections N] [--size BYTES]
 *             [--pipeline DEPTH] [--duration SEC] [--warmup SEC] [--binary | --text] [--tcp]
 *             [--data fill|chat|text] [--deflate] [--deflate-takeover]
 *             [--tls (--ca FILE | --insecure)] [--idle SEC] [--server-pid PID]
 *
 * Each connection opens with rtweb's client handshake (rtw_ws_handshake_client_*; RFC 6455
 * 4.1), then runs an rtw_ws session in the client role: every message it sends is masked
 * (RFC 6455 5.3, a fresh key per frame from the OS CSPRNG) and is one frame. Each connection
 * keeps DEPTH messages in flight: it sends DEPTH at the start, and one more each time an
 * echo completes (closed loop). The server echoes in order, so the echo that completes is
 * the oldest message in flight; its round trip is the time from queueing it (just before the
 * write) to the end of its echo, on CLOCK_MONOTONIC.
 *
 * --tcp: the same over raw TCP (no handshake, no framing), against a plain TCP echo: a
 * message is SIZE bytes of the stream. That is the ceiling the WebSocket numbers compare to.
 *
 * --data: what the messages hold. fill (the default): SIZE bytes "abc...z" repeated, the
 * same every time. chat: JSON chat messages of 100..200 bytes with varied content
 * (bench/deflate_data.c; a pool of 4096, each connection walks it from its own start; SIZE
 * is ignored). text: SIZE bytes of JSON-like chat history, the same every time.
 *
 * --deflate: offer permessage-deflate (RFC 7692) as rtw_ws_deflate_offer() writes it for the
 * default config (level 6, windows 15, memLevel 8, threshold 0: every message compressed;
 * no context takeover either way), check the answer (rtw_ws_handshake_client_deflate) and
 * switch the session to it (rtw_ws_set_deflate); a server that declines is an error.
 * --deflate-takeover: the same with context takeover allowed both ways
 * (RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER).
 *
 * --tls: the same WebSocket traffic over TLS (rtw_tls, the client role of librtweb-tls): each
 * connection does a full TLS handshake (ALPN http/1.1, server name --host, verified against
 * the CA certificates in --ca FILE, or not at all with --insecure) before its opening
 * handshake, all before the clock starts. The session's frames go into TLS with
 * rtw_ws_send_pending_iov() + rtw_tls_writev() (many small frames share a record) and the
 * ciphertext to the socket; wire_tx/wire_rx then count ciphertext, and "tls" names the
 * cipher suite. The glue is the one docs/tls.md describes.
 *
 * --server-pid PID: read that process's CPU time (/proc/PID/stat) at both ends of the measured
 * window: "server_cpu_s" is the server's CPU seconds inside the window (-1 without it), so
 * its CPU per message excludes the connection setup (TLS handshakes) and the warm-up.
 *
 * --idle SEC: open the connections (TCP, TLS with --tls, the opening handshake), print
 * {"idle":N,"tls":"..."} and keep them open and silent for SEC seconds, then exit (status 0)
 * without closing them: the server's memory per idle connection is measured meanwhile
 * (bench/run_tls.sh). No messages are sent.
 *
 * The first --warmup seconds are not counted (during them every echoed payload is compared
 * with what was sent). Then, for --duration seconds, every completed round trip is recorded.
 * At the end each WebSocket connection sends a close (1000) and waits up to 2 s for the
 * server's. Output, on stdout, one JSON line:
 *
 *   {"mode":"ws","connections":1,"size":32,"pipeline":1,"duration_s":5.000,
 *    "messages":NNN,"msgs_per_s":NNN,"p50_us":N,"p99_us":N,"p999_us":N,"max_us":N,
 *    "mean_us":N,"load_cpu":0.70,"unclosed":0,"data":"fill","deflate":0,"mean_size":32,
 *    "bytes_per_s":N,"payload_tx":N,"wire_tx":N,"payload_rx":N,"wire_rx":N,
 *    "tx_ratio":1.00,"rx_ratio":1.00,"extension":"","tls":"","server_cpu_s":-1}
 *
 * messages: round trips completed in the measured window; msgs_per_s = messages / duration;
 * bytes_per_s: payload bytes of those echoes per second (one direction); payload_tx/rx and
 * wire_tx/rx: message bytes sent/echoed and the bytes that crossed the socket for them, over
 * the whole run after the handshake (tx_ratio = payload_tx / wire_tx is our compression,
 * rx_ratio the server's; frame headers count as wire bytes); extension: the server's
 * Sec-WebSocket-Extensions answer;
 * p50/p99/p999 by nearest rank over every recorded round trip; load_cpu: this process's CPU
 * time (user + system) over the window divided by its length (near 1.0: the load generator
 * itself may be the limit); unclosed: connections whose closing handshake did not finish.
 *
 * One thread, level-triggered epoll, non-blocking sockets, TCP_NODELAY. Exit status: 0; 1 on
 * an I/O or protocol error (a short echo, a wrong payload, the server closing); 2 on a usage
 * error.
 */

#define _GNU_SOURCE /* getrandom, writev with struct iovec, getaddrinfo */

#include <rtweb/rtweb.h>
#include <rtweb/tls.h>

#include "deflate_data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (256u * 1024u)
#define MAX_IOV 64
#define MAX_EVENTS 512
#define MAX_SIZE (16u * 1024u * 1024u)
#define CLOSE_WAIT_NS 2000000000ull
#define CHAT_POOL 4096u

enum { PH_WARMUP, PH_MEASURE, PH_CLOSE };

typedef struct conn {
  int fd;
  int want_out;   /* EPOLLOUT registered */
  int open;       /* still counted in open_conns */
  int closing;    /* start_close() done */
  rtw_ws *ws;     /* NULL in --tcp mode */
  rtw_tls *tls;   /* --tls only */
  rtw_ws_handshake_client *hs; /* --tls: during the opening handshake */
  int hs_rc;      /* --tls: its outcome so far */
  uint64_t *ts;   /* send times of the messages in flight, a ring of `pipeline` */
  unsigned *idx;  /* their messages (indices into g.pool), the same ring */
  unsigned next;  /* the pool index of the next message to send */
  unsigned head;  /* oldest in flight */
  unsigned count; /* in flight */
  size_t rx;      /* bytes of the current echo received so far */
  /* --tcp: bytes queued to write: tx_msgs whole messages, the first from tx_off on */
  size_t tx_off;
  size_t tx_msgs;
} conn;

static struct {
  /* options */
  const char *host, *port, *path;
  unsigned connections, pipeline;
  size_t size;
  double duration, warmup;
  int text, tcp, deflate, takeover;
  const char *data; /* fill, chat or text */
  int tls, insecure;
  const char *ca;
  double idle; /* --idle SEC; 0: off */
  rtw_tls_config *tls_cfg;
  char cipher[64]; /* the suite of the first TLS connection */
  rtw_ws_deflate_config dcfg;
  char extension[256]; /* the server's answer */
  /* state */
  int ep;
  int phase;
  unsigned open_conns;
  uint64_t t_measure, t_end;
  double cpu_measure, cpu_end; /* our CPU seconds (user + system) at the window's ends */
  long server_pid;              /* --server-pid; 0: none */
  double srv_measure, srv_end;  /* its CPU seconds at the window's ends */
  unsigned char *payload;
  struct { const unsigned char *p; size_t len; } *pool; /* the messages sent, in turn */
  unsigned npool;
  size_t max_len;
  uint64_t payload_tx, wire_tx, payload_rx, wire_rx, bytes_measured;
  unsigned char rbuf[READ_BUF];
  uint32_t *lat; /* round trips recorded in the measured window, ns */
  size_t nlat, caplat;
  unsigned char rnd[4096]; /* masking keys, refilled from getrandom */
  size_t rnd_pos;
} g;

/* Print "echo_load: WHAT[: DETAIL]" and exit 1. */
static void die(const char *what, const char *detail)
{
  fprintf(stderr, "echo_load: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static uint64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU seconds this process has used, user + system. */
static double cpu_seconds(void)
{
  struct rusage ru;

  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* --server-pid: that process's CPU seconds (user + system, /proc/PID/stat fields 14 and 15),
 * so the server's CPU is read exactly at the measured window's ends; -1 without it. */
static double server_cpu(void)
{
  char path[64], buf[1024];
  const char *p;
  unsigned long long ut = 0, st = 0;
  size_t n;
  FILE *f;

  if (g.server_pid <= 0)
    return -1.0;
  snprintf(path, sizeof path, "/proc/%ld/stat", g.server_pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1.0;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                          &ut, &st) != 2)
    return -1.0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---------------------------------------------------------------- latency record */

static void record(uint64_t ns)
{
  if (g.nlat == g.caplat) {
    size_t cap = g.caplat ? g.caplat * 2 : 1u << 20;
    uint32_t *p = realloc(g.lat, cap * sizeof *p);

    if (p == NULL)
      die("out of memory", NULL);
    g.lat = p;
    g.caplat = cap;
  }
  g.lat[g.nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

  return (x > y) - (x < y);
}

/* The q-quantile (0..1) of the sorted record, nearest rank, in microseconds. */
static double quantile_us(double q)
{
  size_t i;

  if (g.nlat == 0)
    return 0.0;
  i = (size_t)(q * (double)g.nlat);
  if (i >= g.nlat)
    i = g.nlat - 1;
  return (double)g.lat[i] / 1000.0;
}

/* ---------------------------------------------------------------- sending */

/* Masking keys (RFC 6455 5.3: unpredictable, from a strong source of entropy): the OS
 * CSPRNG, 1024 keys per getrandom call. */
static int rnd_cb(rtw_ws *ws, void *buf, size_t len, void *user_data)
{
  (void)ws;
  (void)user_data;
  if (len > sizeof g.rnd)
    return -1;
  if (g.rnd_pos + len > sizeof g.rnd) {
    size_t got = 0;

    while (got < sizeof g.rnd) {
      ssize_t n = getrandom(g.rnd + got, sizeof g.rnd - got, 0);

      if (n < 0) {
        if (errno == EINTR)
          continue;
        return -1;
      }
      got += (size_t)n;
    }
    g.rnd_pos = 0;
  }
  memcpy(buf, g.rnd + g.rnd_pos, len);
  g.rnd_pos += len;
  return 0;
}

/* Queue one message and note its send time. */
static void send_one(conn *c, uint64_t t)
{
  unsigned k = c->next;

  c->next = (c->next + 1) % g.npool;
  if (c->ws != NULL) {
    int rc = rtw_ws_queue_message(c->ws, g.text ? RTW_WS_OP_TEXT : RTW_WS_OP_BINARY,
                                  g.pool[k].p, g.pool[k].len, 0);
    if (rc != 0)
      die("queue", rtw_err_name(rc));
  } else {
    c->tx_msgs++;
  }
  g.payload_tx += g.pool[k].len;
  c->ts[(c->head + c->count) % g.pipeline] = t;
  c->idx[(c->head + c->count) % g.pipeline] = k;
  c->count++;
}

static void set_out(conn *c, int out)
{
  struct epoll_event ev;

  if (c->want_out == out)
    return;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    die("epoll_ctl", strerror(errno));
  c->want_out = out;
}

/* writev; returns bytes written, or 0 when the socket is full. */
static size_t write_iov(conn *c, struct iovec *iov, int n)
{
  for (;;) {
    ssize_t w = writev(c->fd, iov, n);

    if (w >= 0)
      return (size_t)w;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    die("write", strerror(errno));
  }
}

/* --tls: move the session's frames into TLS, then TLS's ciphertext to the socket;
 * registers EPOLLOUT while the socket is full. */
static void flush_tls(conn *c)
{
  for (;;) {
    int progress = 0, rc;

    if (rtw_ws_want_write(c->ws)) {
      rtw_iovec v[MAX_IOV];
      size_t cnt, took = 0;

      if ((rc = rtw_ws_send_pending_iov(c->ws, v, MAX_IOV, &cnt)) != 0)
        die("send_pending", rtw_err_name(rc));
      if (cnt > 0 && (rc = rtw_tls_writev(c->tls, v, cnt, &took)) != 0)
        die("rtw_tls_writev", rtw_err_name(rc));
      if (took > 0) {
        if ((rc = rtw_ws_send_consumed(c->ws, took)) != 0)
          die("send_consumed", rtw_err_name(rc));
        progress = 1;
      }
    }
    while (rtw_tls_want_write(c->tls)) {
      const void *p;
      size_t len, done;
      struct iovec one;

      if ((rc = rtw_tls_send_pending(c->tls, &p, &len)) != 0)
        die("rtw_tls_send_pending", rtw_err_name(rc));
      if (len == 0)
        break;
      one.iov_base = (void *)(uintptr_t)p;
      one.iov_len = len;
      done = write_iov(c, &one, 1);
      if (done == 0) {
        set_out(c, 1);
        return;
      }
      g.wire_tx += done;
      if ((rc = rtw_tls_send_consumed(c->tls, done)) != 0)
        die("rtw_tls_send_consumed", rtw_err_name(rc));
      progress = 1;
    }
    if (!progress) {
      set_out(c, 0);
      return;
    }
  }
}

/* Write what is pending; registers EPOLLOUT while the socket is full. */
static void flush(conn *c)
{
  struct iovec iov[MAX_IOV];

  if (c->tls != NULL) {
    flush_tls(c);
    return;
  }
  for (;;) {
    size_t want = 0, done;
    int n = 0;

    if (c->ws != NULL) {
      rtw_iovec v[MAX_IOV];
      size_t cnt, i;
      int rc = rtw_ws_send_pending_iov(c->ws, v, MAX_IOV, &cnt);

      if (rc != 0)
        die("send_pending", rtw_err_name(rc));
      for (i = 0; i < cnt; i++) {
        iov[i].iov_base = (void *)(uintptr_t)v[i].base;
        iov[i].iov_len = v[i].len;
        want += v[i].len;
      }
      n = (int)cnt;
    } else {
      size_t m;

      for (m = 0; m < c->tx_msgs && n < MAX_IOV; m++, n++) {
        size_t off = m == 0 ? c->tx_off : 0;

        iov[n].iov_base = g.payload + off;
        iov[n].iov_len = g.size - off;
        want += g.size - off;
      }
    }
    if (n == 0) {
      set_out(c, 0);
      return;
    }
    done = write_iov(c, iov, n);
    g.wire_tx += done;
    if (c->ws != NULL) {
      int rc = rtw_ws_send_consumed(c->ws, done);

      if (rc != 0)
        die("send_consumed", rtw_err_name(rc));
    } else {
      size_t left = done;

      while (left > 0) {
        size_t rest = g.size - c->tx_off;

        if (left < rest) {
          c->tx_off += left;
          left = 0;
        } else {
          left -= rest;
          c->tx_off = 0;
          c->tx_msgs--;
        }
      }
    }
    if (done < want) {
      set_out(c, 1);
      return;
    }
  }
}

/* ---------------------------------------------------------------- receiving */

static void conn_done(conn *c);

/* After the measured window: once nothing is in flight, close (WebSocket: send a close, 1000,
 * and read until the server's close; TCP: just stop). */
static void start_close(conn *c)
{
  if (c->closing || !c->open)
    return;
  c->closing = 1;
  if (c->ws == NULL) {
    conn_done(c);
    return;
  }
  if (rtw_ws_close(c->ws, RTW_WS_CLOSE_NORMAL, NULL, 0) != 0)
    conn_done(c);
}

/* An echo is complete: record its round trip and keep the pipeline full. */
static void complete(conn *c)
{
  uint64_t t = now_ns();

  if (c->count == 0)
    die("an echo arrived that was never sent", NULL);
  if (c->rx != g.pool[c->idx[c->head]].len) {
    char n[32];
    snprintf(n, sizeof n, "%zu", c->rx);
    die("an echo of the wrong size (bytes)", n);
  }
  if (g.phase == PH_WARMUP && t >= g.t_measure) {
    g.phase = PH_MEASURE;
    g.cpu_measure = cpu_seconds();
    g.srv_measure = server_cpu();
  }
  if (g.phase == PH_MEASURE && t >= g.t_end) {
    g.phase = PH_CLOSE;
    g.cpu_end = cpu_seconds();
    g.srv_end = server_cpu();
  }
  g.payload_rx += c->rx;
  if (g.phase == PH_MEASURE) {
    record(t - c->ts[c->head]);
    g.bytes_measured += c->rx;
  }
  c->head = (c->head + 1) % g.pipeline;
  c->count--;
  c->rx = 0;
  if (g.phase != PH_CLOSE)
    send_one(c, t);
  else if (c->count == 0)
    start_close(c);
}

/* During the warm-up every payload byte is compared with what was sent. */
static void check(const conn *c, const void *data, size_t len)
{
  const unsigned char *want;
  size_t want_len;

  if (g.phase != PH_WARMUP || c->count == 0)
    return;
  want = g.pool[c->idx[c->head]].p;
  want_len = g.pool[c->idx[c->head]].len;
  if (c->rx + len > want_len || memcmp(want + c->rx, data, len) != 0)
    die("the echo differs from the message sent", NULL);
}

static int on_begin(rtw_ws *ws, int opcode, void *user_data)
{
  (void)ws;
  if (opcode != (g.text ? RTW_WS_OP_TEXT : RTW_WS_OP_BINARY))
    die("the echo has the wrong message type", NULL);
  ((conn *)user_data)->rx = 0;
  return 0;
}

static int on_data(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  conn *c = user_data;

  (void)ws;
  check(c, data, len);
  c->rx += len;
  return 0;
}

static int on_end(rtw_ws *ws, void *user_data)
{
  (void)ws;
  complete(user_data);
  return 0;
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                    void *user_data)
{
  (void)ws;
  (void)reason;
  (void)reason_len;
  (void)user_data;
  if (g.phase != PH_CLOSE) {
    char n[16];
    snprintf(n, sizeof n, "%d", code);
    die("the server closed the connection before the end; close code", n);
  }
  return 0;
}

static void tcp_input(conn *c, const unsigned char *p, size_t n)
{
  while (n > 0) {
    size_t k = g.size - c->rx < n ? g.size - c->rx : n;

    check(c, p, k);
    c->rx += k;
    p += k;
    n -= k;
    if (c->rx == g.size) {
      complete(c);
      if (!c->open)
        return;
    }
  }
}

static void conn_done(conn *c)
{
  if (c->open) {
    c->open = 0;
    g.open_conns--;
    epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
  }
}

/* Read what is there (one read, more only if it filled the buffer), feed it, write. */
static void on_readable(conn *c)
{
  for (;;) {
    ssize_t n = read(c->fd, g.rbuf, sizeof g.rbuf);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      if (g.phase == PH_CLOSE) {
        conn_done(c);
        return;
      }
      die("read", strerror(errno));
    }
    if (n == 0) {
      if (g.phase == PH_CLOSE) {
        conn_done(c);
        return;
      }
      die("the server closed the connection before the end", NULL);
    }
    g.wire_rx += (size_t)n;
    if (c->tls != NULL) {
      size_t used;
      int rc = rtw_tls_recv(c->tls, g.rbuf, (size_t)n, &used);

      if (rc != 0)
        die("rtw_tls_recv", rtw_err_name(rc));
    } else if (c->ws != NULL) {
      size_t used;
      int rc = rtw_ws_recv(c->ws, g.rbuf, (size_t)n, &used);

      if (rc != 0)
        die("recv", rtw_err_name(rc));
    } else {
      tcp_input(c, g.rbuf, (size_t)n);
      if (!c->open)
        return;
    }
    if ((size_t)n < sizeof g.rbuf)
      break;
  }
  if (!c->open)
    return;
  flush(c);
  if (c->ws != NULL && c->closing && !rtw_ws_want_read(c->ws) &&
      !rtw_ws_want_write(c->ws)) {
    if (c->tls != NULL && rtw_tls_close(c->tls) == 0)
      flush(c); /* close_notify, if the socket takes it */
    conn_done(c);
  }
}

/* ---------------------------------------------------------------- connecting */

static int connect_to(const struct addrinfo *ai)
{
  int one = 1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
    die("connect", strerror(errno));
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    die("TCP_NODELAY", strerror(errno));
  return fd;
}

static void write_all(int fd, const void *data, size_t len)
{
  const unsigned char *p = data;

  while (len > 0) {
    ssize_t n = write(fd, p, len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("write", strerror(errno));
    }
    p += n;
    len -= (size_t)n;
  }
}

/* --tls: what TLS decrypted goes to the opening handshake, then to the session. The shape
 * of rtw_tls_callbacks::on_data (docs/tls.md). */
static int tls_on_data(rtw_tls *tls, const void *data, size_t len, size_t *used,
                       void *user_data)
{
  conn *c = user_data;

  (void)tls;
  if (c->hs != NULL) {
    c->hs_rc = rtw_ws_handshake_client_recv(c->hs, data, len, used);
    if (c->hs_rc == RTW_WS_HANDSHAKE_INCOMPLETE)
      return 0;
    return RTW_ERR_PAUSE; /* the rest waits in TLS until the session exists */
  }
  if (c->ws == NULL) {
    *used = 0;
    return RTW_ERR_PAUSE;
  }
  return rtw_ws_recv(c->ws, data, len, used);
}

static __attribute__((noreturn)) void tls_die(const conn *c, const char *what, int rc)
{
  char why[256];

  rtw_tls_error_text(c->tls, why, sizeof why);
  fprintf(stderr, "echo_load: %s: %s%s%s\n", what, rtw_err_name(rc), why[0] ? ": " : "", why);
  exit(1);
}

/* --tls, before the clock starts: write all the ciphertext waiting (blocking socket). */
static void tls_flush_blocking(conn *c)
{
  while (rtw_tls_want_write(c->tls)) {
    const void *p;
    size_t len;
    int rc = rtw_tls_send_pending(c->tls, &p, &len);

    if (rc != 0)
      tls_die(c, "rtw_tls_send_pending", rc);
    if (len == 0)
      break;
    write_all(c->fd, p, len);
    if ((rc = rtw_tls_send_consumed(c->tls, len)) != 0)
      tls_die(c, "rtw_tls_send_consumed", rc);
  }
}

/* --tls, before the clock starts: one read (blocking socket) into TLS. */
static void tls_read_blocking(conn *c)
{
  size_t used = 0;
  ssize_t n;
  int rc;

  do
    n = read(c->fd, g.rbuf, sizeof g.rbuf);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    die("the connection closed during the TLS or opening handshake", NULL);
  rc = rtw_tls_recv(c->tls, g.rbuf, (size_t)n, &used);
  if (rc != 0 && rc != RTW_ERR_PAUSE)
    tls_die(c, "rtw_tls_recv", rc);
  if (used < (size_t)n)
    die("records after the 101 response in the same read", "not expected from an echo");
}

/* --tls: the TLS handshake, blocking (before the clock starts). */
static void tls_open(conn *c)
{
  rtw_tls_callbacks cb = {RTW_TLS_CALLBACKS_VERSION};
  int rc;

  cb.on_data = tls_on_data;
  if ((rc = rtw_tls_new(&c->tls, g.tls_cfg, g.host, &cb, NULL, c)) != 0)
    die("rtw_tls_new", rtw_err_name(rc));
  tls_flush_blocking(c); /* the ClientHello */
  while (!(rtw_tls_state(c->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)) {
    tls_read_blocking(c);
    tls_flush_blocking(c);
  }
  if (g.cipher[0] == 0)
    snprintf(g.cipher, sizeof g.cipher, "%s %s", rtw_tls_protocol(c->tls),
             rtw_tls_ciphersuite(c->tls));
}

/* The opening handshake, blocking (before the clock starts); then the session. */
static void ws_open(conn *c)
{
  rtw_ws_handshake_client_settings hset = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings set = {RTW_WS_SETTINGS_VERSION};
  rtw_ws_handshake_client *hs;
  rtw_ws_deflate_params neg;
  char host[300];
  const void *req;
  size_t req_len, used = 0;
  ssize_t n = 0;
  int rc;

  snprintf(host, sizeof host, "%s:%s", g.host, g.port);
  hset.host = host;
  hset.host_len = strlen(host);
  hset.path = g.path;
  hset.path_len = strlen(g.path);
  if (g.deflate) {
    static char offer[RTW_WS_DEFLATE_ELEMENT_MAX];
    size_t olen;

    if ((rc = rtw_ws_deflate_offer(&g.dcfg, offer, sizeof offer, &olen)) != 0)
      die("rtw_ws_deflate_offer", rtw_err_name(rc));
    hset.extensions = offer;
    hset.extensions_len = olen;
  }
  if ((rc = rtw_ws_handshake_client_new(&hs, NULL, &hset, NULL, NULL)) != 0)
    die("handshake", rtw_err_name(rc));
  rtw_ws_handshake_client_request(hs, &req, &req_len);
  if (c->tls != NULL) {
    size_t took = 0;

    if ((rc = rtw_tls_write(c->tls, req, req_len, &took)) != 0 || took != req_len)
      tls_die(c, "rtw_tls_write (the upgrade request)", rc);
    tls_flush_blocking(c);
    c->hs = hs;
    c->hs_rc = RTW_WS_HANDSHAKE_INCOMPLETE;
    while (c->hs_rc == RTW_WS_HANDSHAKE_INCOMPLETE)
      tls_read_blocking(c);
    c->hs = NULL;
  } else {
    write_all(c->fd, req, req_len);
  }
  for (rc = c->tls != NULL ? c->hs_rc : RTW_WS_HANDSHAKE_INCOMPLETE;
       rc == RTW_WS_HANDSHAKE_INCOMPLETE;) {
    n = read(c->fd, g.rbuf, sizeof g.rbuf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      die("the connection closed during the handshake", NULL);
    }
    rc = rtw_ws_handshake_client_recv(hs, g.rbuf, (size_t)n, &used);
  }
  if (rc != RTW_WS_HANDSHAKE_DONE) {
    char status[16];
    snprintf(status, sizeof status, "%d", rtw_ws_handshake_client_status(hs));
    fprintf(stderr, "echo_load: handshake failed: %s (status %s)\n", rtw_err_name(rc), status);
    exit(1);
  }
  if (g.deflate) {
    const char *ext;
    size_t elen;

    rc = rtw_ws_handshake_client_deflate(hs, &g.dcfg, &neg);
    if (rc != 1)
      die("the server did not negotiate permessage-deflate",
          rc < 0 ? rtw_err_name(rc) : "no extension in its answer");
    if (rtw_ws_handshake_client_extension(hs, 0, &ext, &elen) == 1 && g.extension[0] == 0) {
      size_t k;

      for (k = 0; k < elen && k + 1 < sizeof g.extension; k++)
        g.extension[k] = ext[k] == '"' || ext[k] == '\\' ? '\'' : ext[k]; /* for the JSON */
      g.extension[k] = 0;
    }
  }
  rtw_ws_handshake_client_free(hs);

  cb.on_message_begin = on_begin;
  cb.on_message_data = on_data;
  cb.on_message_end = on_end;
  cb.on_close = on_close;
  cb.random = rnd_cb;
  set.max_frame_size = MAX_SIZE + 1u;
  set.max_message_size = MAX_SIZE + 1u;
  set.fragment_size = MAX_SIZE; /* one frame per message */
  set.max_outbound = (size_t)g.pipeline * (g.max_len + RTW_WS_MAX_HEADER + 64u) + 4096u;
  if ((rc = rtw_ws_new(&c->ws, RTW_WS_ROLE_CLIENT, &cb, &set, NULL, c)) != 0)
    die("rtw_ws_new", rtw_err_name(rc));
  if (g.deflate && (rc = rtw_ws_set_deflate(c->ws, &neg, &g.dcfg)) != 0)
    die("rtw_ws_set_deflate", rtw_err_name(rc));
  if ((size_t)n > used) { /* frames right after the 101: none expected from an echo */
    size_t k;
    if ((rc = rtw_ws_recv(c->ws, g.rbuf + used, (size_t)n - used, &k)) != 0)
      die("recv", rtw_err_name(rc));
  }
  if (c->tls != NULL) { /* the same over TLS: what the pause kept */
    size_t k;
    if ((rc = rtw_tls_recv(c->tls, "", 0, &k)) != 0)
      tls_die(c, "rtw_tls_recv", rc);
  }
}

/* ---------------------------------------------------------------- options */

static void usage(void)
{
  fprintf(stderr,
          "usage: echo_load [--host H] [--port P] [--path /] [--connections N] "
          "[--size BYTES]\n"
          "                 [--pipeline DEPTH] [--duration SEC] [--warmup SEC] "
          "[--binary|--text] [--tcp]\n"
          "                 [--data fill|chat|text] [--deflate] [--deflate-takeover]\n"
          "                 [--tls (--ca FILE | --insecure)] [--idle SEC] [--server-pid PID]\n");
  exit(2);
}

static unsigned long num(const char *s, unsigned long lo, unsigned long hi)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    usage();
  return v;
}

static double seconds(const char *s, double lo)
{
  char *end;
  double v = strtod(s, &end);

  if (end == s || *end != '\0' || !(v >= lo && v <= 3600.0))
    usage();
  return v;
}

static void parse_args(int argc, char **argv)
{
  int i;

  g.host = "127.0.0.1";
  g.port = "8080";
  g.path = "/";
  g.connections = 1;
  g.pipeline = 1;
  g.size = 32;
  g.duration = 5.0;
  g.warmup = 1.0;
  g.data = "fill";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(a, "--binary") == 0) {
      g.text = 0;
    } else if (strcmp(a, "--text") == 0) {
      g.text = 1;
    } else if (strcmp(a, "--tcp") == 0) {
      g.tcp = 1;
    } else if (strcmp(a, "--deflate") == 0) {
      g.deflate = 1;
    } else if (strcmp(a, "--tls") == 0) {
      g.tls = 1;
    } else if (strcmp(a, "--insecure") == 0) {
      g.insecure = 1;
    } else if (strcmp(a, "--deflate-takeover") == 0) {
      g.deflate = 1;
      g.takeover = 1;
    } else if (v == NULL) {
      usage();
    } else {
      i++;
      if (strcmp(a, "--host") == 0)
        g.host = v;
      else if (strcmp(a, "--port") == 0)
        g.port = v;
      else if (strcmp(a, "--path") == 0)
        g.path = v;
      else if (strcmp(a, "--connections") == 0)
        g.connections = (unsigned)num(v, 1, 10000);
      else if (strcmp(a, "--size") == 0)
        g.size = (size_t)num(v, 1, MAX_SIZE);
      else if (strcmp(a, "--pipeline") == 0)
        g.pipeline = (unsigned)num(v, 1, 4096);
      else if (strcmp(a, "--duration") == 0)
        g.duration = seconds(v, 0.01);
      else if (strcmp(a, "--warmup") == 0)
        g.warmup = seconds(v, 0.0);
      else if (strcmp(a, "--data") == 0)
        g.data = v;
      else if (strcmp(a, "--server-pid") == 0)
        g.server_pid = (long)num(v, 1, 0x7fffffffUL);
      else if (strcmp(a, "--ca") == 0)
        g.ca = v;
      else if (strcmp(a, "--idle") == 0)
        g.idle = seconds(v, 0.01);
      else
        usage();
    }
  }
  if (strcmp(g.data, "fill") != 0 && strcmp(g.data, "chat") != 0 && strcmp(g.data, "text") != 0)
    usage();
  if (g.tcp && (g.deflate || strcmp(g.data, "chat") == 0))
    usage(); /* --tcp sends one fixed message */
  if (g.tls && (g.tcp || (g.ca == NULL) == !g.insecure))
    usage(); /* --tls needs exactly one of --ca and --insecure */
  g.dcfg.version = RTW_WS_DEFLATE_CONFIG_VERSION;
  if (g.takeover)
    g.dcfg.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
}

/* The messages to send: one fixed message, or the chat pool. */
static void make_pool(void)
{
  size_t k;

  if (strcmp(g.data, "chat") == 0) {
    char msg[512];
    unsigned char *all = malloc((size_t)CHAT_POOL * 200u);
    size_t at = 0;

    g.pool = malloc(CHAT_POOL * sizeof *g.pool);
    if (all == NULL || g.pool == NULL)
      die("out of memory", NULL);
    for (g.npool = 0; g.npool < CHAT_POOL; g.npool++) {
      size_t n = bench_chat_message(g.npool, msg, sizeof msg);

      if (n > 200u)
        die("a chat message is longer than 200 bytes", NULL);
      memcpy(all + at, msg, n);
      g.pool[g.npool].p = all + at;
      g.pool[g.npool].len = n;
      at += n;
      if (n > g.max_len)
        g.max_len = n;
    }
    g.payload = all;
    return;
  }
  g.payload = malloc(g.size);
  g.pool = malloc(sizeof *g.pool);
  if (g.payload == NULL || g.pool == NULL)
    die("out of memory", NULL);
  if (strcmp(g.data, "text") == 0) {
    bench_chat_text((char *)g.payload, g.size);
  } else {
    /* Printable ASCII: valid as text and as binary. */
    for (k = 0; k < g.size; k++)
      g.payload[k] = (unsigned char)('a' + k % 26);
  }
  g.pool[0].p = g.payload;
  g.pool[0].len = g.size;
  g.npool = 1;
  g.max_len = g.size;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
  struct addrinfo hints, *ai;
  struct epoll_event events[MAX_EVENTS];
  conn *conns;
  uint64_t t0, close_deadline = 0;
  double sum = 0.0, window;
  unsigned i;
  size_t k;
  int rc;

  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  /* Keep freed memory in the heap. Without context takeover each message takes a zlib
   * stream (about 300 KiB) and gives it back; glibc would then trim the heap and grow it
   * again every message (brk, page faults, TLB shootdowns: about 1 ms here), and the load
   * generator, not the server, would set the pace. */
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  make_pool();
  if (g.tls) {
    rtw_tls_config_settings ts = {RTW_TLS_CONFIG_SETTINGS_VERSION};

    ts.flags = g.insecure ? RTW_TLS_INSECURE : 0u;
    if ((rc = rtw_tls_config_new(&g.tls_cfg, RTW_TLS_ROLE_CLIENT, &ts, NULL)) != 0)
      die("rtw_tls_config_new", rtw_err_name(rc));
    if (g.ca != NULL && (rc = rtw_tls_config_set_ca_file(g.tls_cfg, g.ca)) != 0)
      die("rtw_tls_config_set_ca_file", rtw_err_name(rc));
  }
  conns = calloc(g.connections, sizeof *conns);
  if (conns == NULL)
    die("out of memory", NULL);
  g.rnd_pos = sizeof g.rnd;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo(g.host, g.port, &hints, &ai)) != 0)
    die("getaddrinfo", gai_strerror(rc));
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  if (g.ep < 0)
    die("epoll_create1", strerror(errno));

  for (i = 0; i < g.connections; i++) {
    conn *c = &conns[i];
    struct epoll_event ev;

    c->fd = connect_to(ai);
    c->ts = malloc(g.pipeline * sizeof *c->ts);
    c->idx = malloc(g.pipeline * sizeof *c->idx);
    c->next = (i * 997u) % g.npool; /* each connection walks the pool from its own start */
    if (c->ts == NULL || c->idx == NULL)
      die("out of memory", NULL);
    if (g.tls)
      tls_open(c);
    if (!g.tcp)
      ws_open(c);
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
      die("fcntl", strerror(errno));
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
      die("epoll_ctl", strerror(errno));
    c->open = 1;
    g.open_conns++;
  }
  freeaddrinfo(ai);
  if (g.idle > 0.0) {
    struct timespec hold;

    printf("{\"idle\":%u,\"mode\":\"%s\",\"tls\":\"%s\"}\n", g.connections,
           g.tcp ? "tcp" : "ws", g.cipher);
    fflush(stdout);
    hold.tv_sec = (time_t)g.idle;
    hold.tv_nsec = (long)((g.idle - (double)hold.tv_sec) * 1e9);
    while (nanosleep(&hold, &hold) != 0 && errno == EINTR)
      ;
    return 0; /* the connections close with the process */
  }

  t0 = now_ns();
  g.t_measure = t0 + (uint64_t)(g.warmup * 1e9);
  g.t_end = g.t_measure + (uint64_t)(g.duration * 1e9);
  g.phase = g.warmup > 0.0 ? PH_WARMUP : PH_MEASURE;
  g.cpu_measure = cpu_seconds();
  g.srv_measure = server_cpu();
  for (i = 0; i < g.connections; i++) {
    unsigned d;
    uint64_t t = now_ns();

    for (d = 0; d < g.pipeline; d++)
      send_one(&conns[i], t);
    flush(&conns[i]);
  }

  for (;;) {
    uint64_t t = now_ns();
    uint64_t until;
    int n, j, timeout;

    if (g.phase != PH_CLOSE && t >= g.t_end) {
      g.phase = PH_CLOSE;
      g.cpu_end = cpu_seconds();
      g.srv_end = server_cpu();
    }
    if (g.phase == PH_CLOSE && close_deadline == 0) {
      close_deadline = t + CLOSE_WAIT_NS;
      for (i = 0; i < g.connections; i++) {
        conn *c = &conns[i];

        if (c->open && c->count == 0) {
          start_close(c);
          if (c->open)
            flush(c);
        }
      }
    }
    if (g.phase == PH_CLOSE && (g.open_conns == 0 || t >= close_deadline))
      break;
    until = g.phase == PH_CLOSE ? close_deadline : g.t_end;
    timeout = (int)((until - t) / 1000000u + 1u);
    n = epoll_wait(g.ep, events, MAX_EVENTS, timeout);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait", strerror(errno));
    }
    for (j = 0; j < n; j++) {
      conn *c = events[j].data.ptr;

      if (!c->open)
        continue;
      if (events[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
      else if (events[j].events & EPOLLOUT)
        flush(c);
    }
  }

  window = g.duration;
  for (k = 0; k < g.nlat; k++)
    sum += (double)g.lat[k];
  qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u32);
  printf("{\"mode\":\"%s\",\"connections\":%u,\"size\":%zu,\"pipeline\":%u,"
         "\"duration_s\":%.3f,\"messages\":%zu,\"msgs_per_s\":%.0f,\"p50_us\":%.2f,"
         "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,\"mean_us\":%.2f,"
         "\"load_cpu\":%.2f,\"unclosed\":%u,\"data\":\"%s\",\"deflate\":%d,"
         "\"mean_size\":%.1f,\"bytes_per_s\":%.0f,\"payload_tx\":%llu,\"wire_tx\":%llu,"
         "\"payload_rx\":%llu,\"wire_rx\":%llu,\"tx_ratio\":%.3f,\"rx_ratio\":%.3f,"
         "\"extension\":\"%s\",\"tls\":\"%s\",\"server_cpu_s\":%.3f}\n",
         g.tcp ? "tcp" : "ws", g.connections, g.size, g.pipeline, window, g.nlat,
         (double)g.nlat / window, quantile_us(0.50), quantile_us(0.99), quantile_us(0.999),
         g.nlat ? (double)g.lat[g.nlat - 1] / 1000.0 : 0.0,
         g.nlat ? sum / (double)g.nlat / 1000.0 : 0.0, (g.cpu_end - g.cpu_measure) / window,
         g.open_conns, g.data, g.deflate + g.takeover,
         g.nlat ? (double)g.bytes_measured / (double)g.nlat : 0.0,
         (double)g.bytes_measured / window, (unsigned long long)g.payload_tx,
         (unsigned long long)g.wire_tx, (unsigned long long)g.payload_rx,
         (unsigned long long)g.wire_rx,
         g.wire_tx ? (double)g.payload_tx / (double)g.wire_tx : 0.0,
         g.wire_rx ? (double)g.payload_rx / (double)g.wire_rx : 0.0, g.extension, g.cipher,
         g.server_pid > 0 && g.srv_measure >= 0.0 && g.srv_end >= 0.0
             ? g.srv_end - g.srv_measure
             : -1.0);
  fflush(stdout);
  for (i = 0; i < g.connections; i++) {
    close(conns[i].fd);
    rtw_ws_free(conns[i].ws);
    rtw_tls_free(conns[i].tls);
    free(conns[i].ts);
    free(conns[i].idx);
  }
  free(conns);
  free(g.payload);
  free(g.pool);
  free(g.lat);
  rtw_tls_config_free(g.tls_cfg);
  return g.nlat > 0 ? 0 : 1;
}
