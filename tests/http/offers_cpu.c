/* SPDX-License-Identifier: MIT */
/* CPU per request of the WebSocket handshake server on a hostile head: 3,900 subprotocol
 * offers in a 7.9 KB head (issue #12, defect 2). Not a unit test (no timed assertions): it
 * prints the user+system CPU time per request, measured with getrusage(), for an on_upgrade
 * that walks every offer (count and each one, as a host looking for its protocol does) and
 * selects the last one it meets ("configured"), or selects nothing ("none").
 *
 *   usage: offers_cpu [requests]      (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rtweb/http.h"

#define OFFERS 3900

typedef struct run {
  int select; /* select the last offer */
  size_t seen;
} run;

static int on_upgrade(rtw_ws_handshake_server *hs, void *ud)
{
  run *r = ud;
  const char *name, *last = NULL;
  size_t i, n, count = rtw_ws_handshake_server_subprotocol_count(hs), last_len = 0;

  for (i = 0; i < count; i++)
    if (rtw_ws_handshake_server_subprotocol(hs, i, &name, &n) == 1) {
      r->seen++;
      last = name;
      last_len = n;
    }
  if (r->select && last != NULL)
    return rtw_ws_handshake_server_select_subprotocol(hs, last, last_len);
  return 0;
}

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* "GET / HTTP/1.1 ... Sec-WebSocket-Protocol: a,b,...,a" with OFFERS one-letter offers. */
static size_t make_head(char *buf, size_t cap)
{
  size_t n = (size_t)snprintf(buf, cap,
                              "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ");
  size_t i;
  for (i = 0; i < OFFERS && n + 4 < cap; i++) {
    buf[n++] = (char)('a' + (int)(i % 26));
    if (i + 1 < OFFERS)
      buf[n++] = ',';
  }
  memcpy(buf + n, "\r\n\r\n", 4);
  return n + 4;
}

static int measure(const char *head, size_t len, int select, unsigned requests)
{
  rtw_ws_handshake_server_callbacks cb = {RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION};
  rtw_ws_handshake_server *hs;
  run r = {0, 0};
  size_t nread;
  unsigned i;
  double t0, t1;
  int rv;

  r.select = select;
  cb.on_upgrade = on_upgrade;
  if (rtw_ws_handshake_server_new(&hs, &cb, NULL, NULL, &r) != 0)
    return 1;
  t0 = cpu_seconds();
  for (i = 0; i < requests; i++) {
    rv = rtw_ws_handshake_server_recv(hs, head, len, &nread);
    if (rv != RTW_WS_HANDSHAKE_DONE) {
      fprintf(stderr, "request %u: %s\n", i, rtw_err_name(rv));
      rtw_ws_handshake_server_free(hs);
      return 1;
    }
    rtw_ws_handshake_server_reset(hs);
  }
  t1 = cpu_seconds();
  printf("%-10s head=%zu bytes offers=%zu requests=%u cpu_per_request=%.3f ms\n",
         select ? "configured" : "none", len, r.seen / requests, requests,
         (t1 - t0) * 1e3 / requests);
  rtw_ws_handshake_server_free(hs);
  return 0;
}

int main(int argc, char **argv)
{
  static char head[8192];
  unsigned requests = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200u;
  size_t len = make_head(head, sizeof head);

  if (requests == 0)
    requests = 1;
  return measure(head, len, 0, requests) || measure(head, len, 1, requests);
}
