/* SPDX-License-Identifier: MIT */
/* TLS handshakes per second against a TLS server, full or resumed, on rtw_tls in the client
 * role: the handshake part of the TLS benchmark (bench/run_tls.sh; docs/performance.md,
 * "TLS"). */

/*
 *   tls_handshake [--host 127.0.0.1] --port P (--ca FILE | --insecure) [--resume]
 *                 [--concurrency K] [--duration SEC] [--warmup SEC] [--server-pid PID]
 *
 * K connections at a time (default 8), closed loop: each connects, runs the TLS handshake
 * (RFC 5246 7.3; ALPN http/1.1, server name --host), sends close_notify and closes; then a
 * new one starts in its place. No application data. With --resume every connection after
 * the first offers the session saved from the first full handshake (rtw_tls_session_save /
 * rtw_tls_set_session: a session ticket, RFC 5077, when the server issues them) and the run
 * counts how many the server resumed (rtw_tls_resumed); without it every handshake is full.
 *
 * Handshakes completed during the first --warmup seconds (default 1) are not counted; then
 * for --duration seconds (default 3) each completed handshake is. Output, on stdout, one JSON
 * line:
 *
 *   {"mode":"full","concurrency":8,"duration_s":3.000,"handshakes":N,"per_s":N,
 *    "resumed":N,"load_cpu":0.95,"tls":"TLSv1.2 TLS-ECDHE-...","server_cpu_s":0.51}
 *
 * resumed: how many of the counted handshakes were abbreviated; load_cpu: this process's CPU
 * time over the window divided by its length (near 1.0: the client may be the limit; the
 * harness also reports the server's CPU per handshake, the figure that compares servers);
 * server_cpu_s: with --server-pid, that process's CPU seconds (/proc/PID/stat) inside the
 * measured window; -1 without it.
 *
 * One thread, level-triggered epoll, non-blocking sockets after a blocking connect (to
 * 127.0.0.1 it completes at once), TCP_NODELAY. Exit status 0; 1 on an error (a handshake
 * that fails, the server closing early); 2 on a usage error.
 */

#define _GNU_SOURCE /* getaddrinfo */

#include <rtweb/rtweb.h>
#include <rtweb/tls.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 256
#define SESSION_MAX 4096

typedef struct slot {
  int fd;
  int out; /* EPOLLOUT registered */
  rtw_tls *tls;
} slot;

static struct {
  const char *host, *port, *ca;
  int insecure, resume;
  unsigned conc;
  double duration, warmup;
  rtw_tls_config *cfg;
  struct addrinfo *ai;
  int ep;
  unsigned char session[SESSION_MAX];
  size_t session_len;
  uint64_t t_measure, t_end;
  unsigned long counted, resumed;
  double cpu_measure, cpu_end;
  long server_pid;
  double srv_measure, srv_end;
  int measuring;
  char cipher[96];
  unsigned char rbuf[65536];
} g;

static void die(const char *what, const char *detail)
{
  fprintf(stderr, "tls_handshake: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static void tls_die(const slot *s, const char *what, int rc)
{
  char why[256];

  rtw_tls_error_text(s->tls, why, sizeof why);
  fprintf(stderr, "tls_handshake: %s: %s%s%s\n", what, rtw_err_name(rc), why[0] ? ": " : "",
          why);
  exit(1);
}

static uint64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

static void set_out(slot *s, int out)
{
  struct epoll_event ev;

  if (s->out == out)
    return;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.ptr = s;
  if (epoll_ctl(g.ep, EPOLL_CTL_MOD, s->fd, &ev) != 0)
    die("epoll_ctl", strerror(errno));
  s->out = out;
}

/* Write the ciphertext waiting. Returns 1 when all is written, 0 when the socket is full,
 * -1 when the peer is gone. */
static int flush(slot *s)
{
  while (rtw_tls_want_write(s->tls)) {
    const void *p;
    size_t len;
    ssize_t n;
    int rc = rtw_tls_send_pending(s->tls, &p, &len);

    if (rc != 0)
      tls_die(s, "rtw_tls_send_pending", rc);
    if (len == 0)
      break;
    n = send(s->fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_out(s, 1);
        return 0;
      }
      return -1;
    }
    if ((rc = rtw_tls_send_consumed(s->tls, (size_t)n)) != 0)
      tls_die(s, "rtw_tls_send_consumed", rc);
  }
  set_out(s, 0);
  return 1;
}

static void start(slot *s)
{
  struct epoll_event ev;
  int one = 1, rc;

  s->fd = socket(g.ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->fd < 0 || connect(s->fd, g.ai->ai_addr, g.ai->ai_addrlen) != 0)
    die("connect", strerror(errno));
  if (setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0)
    die("socket options", strerror(errno));
  if ((rc = rtw_tls_new(&s->tls, g.cfg, g.host, NULL, NULL, s)) != 0)
    die("rtw_tls_new", rtw_err_name(rc));
  if (g.resume && g.session_len > 0 &&
      (rc = rtw_tls_set_session(s->tls, g.session, g.session_len)) != 0)
    tls_die(s, "rtw_tls_set_session", rc);
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.ptr = s;
  s->out = 0;
  if (epoll_ctl(g.ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
    die("epoll_ctl", strerror(errno));
  if (flush(s) < 0) /* the ClientHello */
    die("the server closed the connection", NULL);
}

/* The handshake completed: count it, keep the session, close (close_notify, best effort),
 * start the next one. */
static void done(slot *s)
{
  uint64_t t = now_ns();

  if (!g.measuring && t >= g.t_measure && t < g.t_end) {
    g.measuring = 1;
    g.cpu_measure = cpu_seconds();
    g.srv_measure = server_cpu();
  }
  if (g.measuring && t < g.t_end) {
    g.counted++;
    g.resumed += (unsigned long)rtw_tls_resumed(s->tls);
  }
  if (g.cipher[0] == 0)
    snprintf(g.cipher, sizeof g.cipher, "%s %s", rtw_tls_protocol(s->tls),
             rtw_tls_ciphersuite(s->tls));
  if (g.resume && g.session_len == 0) {
    size_t len = 0;
    int rc = rtw_tls_session_save(s->tls, g.session, sizeof g.session, &len);

    if (rc != 0)
      tls_die(s, "rtw_tls_session_save", rc);
    g.session_len = len;
  }
  if (rtw_tls_close(s->tls) == 0)
    (void)flush(s); /* our Finished (resumed) and close_notify */
  epoll_ctl(g.ep, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  rtw_tls_free(s->tls);
  s->tls = NULL;
  if (t < g.t_end)
    start(s);
}

static void on_event(slot *s, uint32_t events)
{
  if (events & EPOLLOUT) {
    if (flush(s) < 0)
      die("the server closed the connection", NULL);
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    size_t used;
    ssize_t n;
    int rc;

    do
      n = read(s->fd, g.rbuf, sizeof g.rbuf);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0)
      die("the server closed the connection during the handshake", NULL);
    rc = rtw_tls_recv(s->tls, g.rbuf, (size_t)n, &used);
    if (rc != 0)
      tls_die(s, "rtw_tls_recv", rc);
    if (flush(s) < 0)
      die("the server closed the connection", NULL);
    if (rtw_tls_state(s->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)
      done(s);
  }
}

static void usage(void)
{
  fprintf(stderr, "usage: tls_handshake [--host H] --port P (--ca FILE | --insecure) "
                  "[--resume] [--concurrency K] [--duration SEC] [--warmup SEC] "
                  "[--server-pid PID]\n");
  exit(2);
}

static double seconds(const char *s, double lo)
{
  char *end;
  double v = strtod(s, &end);

  if (end == s || *end != '\0' || !(v >= lo && v <= 3600.0))
    usage();
  return v;
}

int main(int argc, char **argv)
{
  rtw_tls_config_settings ts = {RTW_TLS_CONFIG_SETTINGS_VERSION};
  struct addrinfo hints;
  struct epoll_event events[MAX_CONC];
  slot *slots;
  double window;
  unsigned i;
  int rc;

  g.host = "127.0.0.1";
  g.conc = 8;
  g.duration = 3.0;
  g.warmup = 1.0;
  for (i = 1; i < (unsigned)argc; i++) {
    const char *a = argv[i], *v = i + 1 < (unsigned)argc ? argv[i + 1] : NULL;

    if (strcmp(a, "--insecure") == 0) {
      g.insecure = 1;
      continue;
    }
    if (strcmp(a, "--resume") == 0) {
      g.resume = 1;
      continue;
    }
    if (v == NULL)
      usage();
    i++;
    if (strcmp(a, "--host") == 0) {
      g.host = v;
    } else if (strcmp(a, "--port") == 0) {
      g.port = v;
    } else if (strcmp(a, "--server-pid") == 0) {
      g.server_pid = strtol(v, NULL, 10);
    } else if (strcmp(a, "--ca") == 0) {
      g.ca = v;
    } else if (strcmp(a, "--concurrency") == 0) {
      char *end;
      unsigned long k = strtoul(v, &end, 10);

      if (*end != '\0' || k < 1 || k > MAX_CONC)
        usage();
      g.conc = (unsigned)k;
    } else if (strcmp(a, "--duration") == 0) {
      g.duration = seconds(v, 0.01);
    } else if (strcmp(a, "--warmup") == 0) {
      g.warmup = seconds(v, 0.0);
    } else {
      usage();
    }
  }
  if (g.port == NULL || (g.ca == NULL) == !g.insecure)
    usage();
  signal(SIGPIPE, SIG_IGN);

  ts.flags = g.insecure ? RTW_TLS_INSECURE : 0u;
  if ((rc = rtw_tls_config_new(&g.cfg, RTW_TLS_ROLE_CLIENT, &ts, NULL)) != 0)
    die("rtw_tls_config_new", rtw_err_name(rc));
  if (g.ca != NULL && (rc = rtw_tls_config_set_ca_file(g.cfg, g.ca)) != 0)
    die("rtw_tls_config_set_ca_file", rtw_err_name(rc));
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo(g.host, g.port, &hints, &g.ai)) != 0)
    die("getaddrinfo", gai_strerror(rc));
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  slots = calloc(g.conc, sizeof *slots);
  if (g.ep < 0 || slots == NULL)
    die("setup", strerror(errno));

  g.t_measure = now_ns() + (uint64_t)(g.warmup * 1e9);
  g.t_end = g.t_measure + (uint64_t)(g.duration * 1e9);
  g.measuring = g.warmup <= 0.0;
  g.cpu_measure = cpu_seconds();
  g.srv_measure = server_cpu();
  /* --resume: one full handshake first, whose session every later connection offers. */
  start(&slots[0]);
  for (i = g.resume ? 1u : g.conc; i < g.conc;) {
    int n = epoll_wait(g.ep, events, 1, 1000);

    if (n < 0 && errno != EINTR)
      die("epoll_wait", strerror(errno));
    if (n > 0)
      on_event(events[0].data.ptr, events[0].events);
    if (g.session_len > 0) {
      for (; i < g.conc; i++)
        start(&slots[i]);
    }
  }
  for (i = g.resume ? g.conc : 1u; i < g.conc; i++)
    start(&slots[i]);

  for (;;) {
    uint64_t t = now_ns();
    int n, j, open = 0;

    for (i = 0; i < g.conc; i++)
      open += slots[i].tls != NULL;
    if (t >= g.t_end && g.cpu_end == 0.0) {
      g.cpu_end = cpu_seconds();
      g.srv_end = server_cpu();
    }
    if (t >= g.t_end && open == 0)
      break;
    if (t >= g.t_end + 2000000000ull)
      die("handshakes still running 2 s after the end", NULL);
    n = epoll_wait(g.ep, events, MAX_CONC, 100);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait", strerror(errno));
    }
    for (j = 0; j < n; j++)
      on_event(events[j].data.ptr, events[j].events);
  }
  window = g.duration;
  printf("{\"mode\":\"%s\",\"concurrency\":%u,\"duration_s\":%.3f,\"handshakes\":%lu,"
         "\"per_s\":%.0f,\"resumed\":%lu,\"load_cpu\":%.2f,\"tls\":\"%s\","
         "\"server_cpu_s\":%.3f}\n",
         g.resume ? "resumed" : "full", g.conc, window, g.counted, (double)g.counted / window,
         g.resumed, (g.cpu_end - g.cpu_measure) / window,
         g.cipher,
         g.server_pid > 0 && g.srv_measure >= 0.0 && g.srv_end >= 0.0
             ? g.srv_end - g.srv_measure
             : -1.0);
  freeaddrinfo(g.ai);
  free(slots);
  rtw_tls_config_free(g.cfg);
  return g.counted > 0 ? 0 : 1;
}
