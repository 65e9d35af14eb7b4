/* SPDX-License-Identifier: MIT */
/* ws_client: a WebSocket client on poll(2): connect, handshake, send, print replies, close.
 *
 *   ws_client ws://127.0.0.1:PORT/PATH [MESSAGE...]
 *
 * Sends each MESSAGE as a text message, prints every message received on its own line on
 * stdout, and once as many replies as messages have arrived, closes with 1000 (RFC 6455
 * 7.1.2) and waits for the server's close. Exit 0 when the closing handshake completed, 1
 * otherwise. Only numeric IPv4 hosts, to stay short (no DNS, no TLS).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* poll, clock_gettime, MSG_NOSIGNAL under -std=c99 */
#endif
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

static int expected; /* replies still to come before we close */

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)user_data;
  if (opcode == RTW_WS_OP_TEXT)
    printf("%.*s\n", (int)len, len ? (const char *)data : "");
  else
    printf("[binary, %zu bytes]\n", len);
  fflush(stdout);
  if (--expected == 0) /* all answered: start the closing handshake */
    return rtw_ws_close(ws, RTW_WS_CLOSE_NORMAL, "bye", 3);
  return 0;
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len, void *ud)
{
  (void)ws, (void)ud;
  if (reason_len == 0)
    reason = "";
  fprintf(stderr, "server closed: %d %.*s\n", code, (int)reason_len, reason);
  return 0;
}

static int fail(const char *what, int rv)
{
  fprintf(stderr, "ws_client: %s: %s\n", what, rv ? rtw_strerror(rv) : strerror(errno));
  return 1;
}

/* Parse "ws://A.B.C.D:PORT/PATH" into an address, a Host value and a path. */
static int parse_url(const char *url, struct sockaddr_in *sa, char *host, size_t host_cap,
                     const char **path)
{
  const char *h = url + 5, *colon, *slash;
  char ip[16];
  size_t host_len, ip_len;
  unsigned long port;

  if (strncmp(url, "ws://", 5) != 0)
    return -1;
  slash = strchr(h, '/');
  host_len = slash != NULL ? (size_t)(slash - h) : strlen(h);
  colon = memchr(h, ':', host_len);
  if (colon == NULL || host_len >= host_cap || (ip_len = (size_t)(colon - h)) >= sizeof ip)
    return -1;
  memcpy(host, h, host_len); /* the Host field keeps the port (RFC 9112 3.2) */
  host[host_len] = '\0';
  memcpy(ip, h, ip_len);
  ip[ip_len] = '\0';
  *path = slash != NULL ? slash : "/";
  port = strtoul(colon + 1, NULL, 10);
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return port > 0 && port <= 65535 && inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Write everything pending without blocking. */
static int flush(int fd, rtw_ws *ws)
{
  const void *p;
  size_t len;
  ssize_t n;

  while (rtw_ws_want_write(ws)) {
    if (rtw_ws_send_pending(ws, &p, &len) != 0)
      return -1;
    n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    rtw_ws_send_consumed(ws, (size_t)n);
  }
  return 0;
}

/* The opening handshake (RFC 6455 4.1), blocking: one request, one response. On success
 * buf[*used .. *n) holds the bytes that followed the response head: WebSocket frames. */
static int handshake(int fd, const char *host, const char *path, char *buf, size_t cap,
                     size_t *n, size_t *used)
{
  rtw_ws_handshake_client_settings set = {.version = RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  rtw_ws_handshake_client *hs;
  const void *req;
  size_t req_len, sent = 0;
  ssize_t k;
  int rv;

  set.host = host;
  set.host_len = strlen(host);
  set.path = path;
  set.path_len = strlen(path);
  if ((rv = rtw_ws_handshake_client_new(&hs, NULL, &set, NULL, NULL)) != 0)
    return fail("handshake", rv); /* the Sec-WebSocket-Key comes from the OS CSPRNG */
  rtw_ws_handshake_client_request(hs, &req, &req_len);
  while (sent < req_len) { /* small: a blocking write loop will do */
    if ((k = send(fd, (const char *)req + sent, req_len - sent, MSG_NOSIGNAL)) <= 0)
      break;
    sent += (size_t)k;
  }
  rv = RTW_WS_HANDSHAKE_INCOMPLETE;
  while (sent == req_len && rv == RTW_WS_HANDSHAKE_INCOMPLETE &&
         (k = recv(fd, buf, cap, 0)) > 0) {
    *n = (size_t)k;
    rv = rtw_ws_handshake_client_recv(hs, buf, *n, used);
  }
  rtw_ws_handshake_client_free(hs);
  if (rv == RTW_WS_HANDSHAKE_DONE)
    return 0;
  if (rv < 0)
    return fail("handshake", rv); /* e.g. RTW_ERR_HTTP_WS_BAD_STATUS for a 404 */
  fprintf(stderr, "ws_client: connection lost during the handshake\n");
  return 1;
}

/* The session loop: write what is pending, wait for input or the next timer, feed, tick.
 * Returns 0 when the closing handshake completed with 1000. */
static int run(int fd, rtw_ws *ws)
{
  struct pollfd pfd;
  char buf[16384];
  size_t used;
  ssize_t n;
  int rv;

  while (rtw_ws_want_read(ws) || rtw_ws_want_write(ws)) {
    uint64_t next = rtw_ws_next_deadline(ws), now = now_ms();
    if (flush(fd, ws) != 0)
      return fail("send", 0);
    pfd.fd = fd;
    pfd.events = (short)((rtw_ws_want_read(ws) ? POLLIN : 0) |
                         (rtw_ws_want_write(ws) ? POLLOUT : 0));
    if (pfd.events == 0)
      break; /* everything written and nothing more to read: done */
    if (poll(&pfd, 1, next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now)) < 0)
      return fail("poll", 0);
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      n = recv(fd, buf, sizeof buf, 0);
      if (n == 0 && rtw_ws_close_received(ws) != 0)
        break; /* RFC 6455 7.1.1: after the closing handshake the server closes TCP first */
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        fprintf(stderr, "ws_client: connection lost without a close frame\n");
        return 1;
      }
      if (n > 0 && (rv = rtw_ws_recv(ws, buf, (size_t)n, &used)) < 0)
        fprintf(stderr, "ws_client: %s\n", rtw_strerror(rv)); /* its close is queued */
    }
    if ((rv = rtw_ws_tick(ws, now_ms())) != 0) /* e.g. RTW_ERR_WS_CLOSE_TIMEOUT */
      return fail("timer", rv);
  }
  return rtw_ws_close_received(ws) == RTW_WS_CLOSE_NORMAL && rtw_ws_close_sent(ws) ? 0 : 1;
}

int main(int argc, char **argv)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;
  struct sockaddr_in sa;
  char host[64], buf[16384];
  const char *path;
  size_t n = 0, used = 0, nread;
  int fd, i, rv = 1;

  if (argc < 2 || parse_url(argv[1], &sa, host, sizeof host, &path) != 0) {
    fprintf(stderr, "usage: ws_client ws://127.0.0.1:PORT/PATH [MESSAGE...]\n");
    return 2;
  }
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    fail("connect", 0);
    goto out;
  }
  if (handshake(fd, host, path, buf, sizeof buf, &n, &used) != 0)
    goto out;

  /* The session. Each message is masked with a fresh key (RFC 6455 5.3). */
  cb.on_message = on_message;
  cb.on_close = on_close;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES; /* one callback per message */
  if (rtw_ws_new(&ws, RTW_WS_ROLE_CLIENT, &cb, &st, NULL, NULL) != 0)
    goto out;
  rtw_ws_tick(ws, now_ms()); /* arms the close timeout from here on */
  for (i = 2; i < argc; i++)
    if (rtw_ws_queue_text(ws, argv[i], strlen(argv[i])) != 0) {
      fprintf(stderr, "ws_client: not valid UTF-8: %s\n", argv[i]);
      goto out;
    }
  expected = argc - 2;
  if (expected == 0)
    rtw_ws_close(ws, RTW_WS_CLOSE_NORMAL, NULL, 0);
  rtw_ws_recv(ws, buf + used, n - used, &nread); /* frames that came right behind the 101 */
  fcntl(fd, F_SETFL, O_NONBLOCK);
  rv = run(fd, ws);
out:
  rtw_ws_free(ws);
  if (fd >= 0)
    close(fd);
  return rv;
}
