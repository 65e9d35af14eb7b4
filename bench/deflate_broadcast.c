/* SPDX-License-Identifier: MIT */
/* Broadcast with permessage-deflate: one 1 KiB JSON message to N server sessions, compressed
 * once (a prepared message) against compressed per session. See docs/performance.md,
 * "permessage-deflate".
 *
 *   deflate_broadcast [--sessions 10000] [--reps 7] [--size 1024] [--no-heap-trim] [--json]
 *
 * N server sessions live in memory, each negotiated as a handshake would (the default client
 * offer, accepted under the default server config: server_no_context_takeover and
 * client_no_context_takeover, windows 15) and switched on with rtw_ws_set_deflate(). Each
 * repetition times, in CPU time of the process (CLOCK_PROCESS_CPUTIME_ID):
 *
 *   prepared     rtw_ws_prepared_new() once (level 6, window 15, memLevel 8), then
 *                rtw_ws_queue_prepared() on every session, then every session drained
 *                (rtw_ws_send_pending_iov + rtw_ws_send_consumed, as a writev loop would),
 *                then rtw_ws_prepared_free();
 *   per-session  rtw_ws_queue_message() on every session (each compresses: with no context
 *                takeover its zlib state is taken and released per message), then drained;
 *   plain        the same as per-session with RTW_WS_QUEUE_NO_COMPRESS: the cost of queueing
 *                and draining alone, for scale.
 *
 * The three alternate within each repetition; the medians are printed with the ratio
 * per-session / prepared (the goal: at least 20x). Before timing, the bytes drained
 * from one session in each compressed mode are fed to a client session and must inflate to
 * the message; the wire size of the compressed frame is printed. Exit 1 on any error.
 *
 * --no-heap-trim (glibc): raise M_TRIM_THRESHOLD and M_MMAP_THRESHOLD first. Per-session
 * compression without context takeover takes and frees a zlib stream (about 300 KiB) per
 * message; by default glibc then gives the heap top back to the kernel and takes it again
 * each time, which costs more than the compression itself on this VM. Both are reported.
 */

#include <rtweb/rtweb.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "deflate_data.h"
#include "deflate_pair.h"

enum { MODE_PREPARED, MODE_PER_SESSION, MODE_PLAIN, NMODES };
static const char *const mode_names[NMODES] = {"prepared", "per-session", "plain"};

static struct {
  unsigned sessions, reps;
  size_t size;
  int json, no_trim;
  rtw_ws **ws;
  char *msg;
  rtw_ws_deflate_config cfg;
  rtw_ws_deflate_params server_side, client_side;
} g;

static double cpu_now(void)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
    fprintf(stderr, "deflate_broadcast: clock_gettime failed\n");
    exit(1);
  }
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Take everything a session has pending, as a writev loop would; the bytes are copied into
 * `keep` when it is non-NULL (for the check). Returns the bytes drained. */
static size_t drain(rtw_ws *ws, char *keep, size_t cap)
{
  size_t total = 0;

  while (rtw_ws_want_write(ws)) {
    rtw_iovec iov[16];
    size_t n, i, bytes = 0;

    bench_check(rtw_ws_send_pending_iov(ws, iov, 16, &n), "rtw_ws_send_pending_iov");
    if (n == 0)
      break;
    for (i = 0; i < n; i++) {
      if (keep != NULL && total + bytes + iov[i].len <= cap)
        memcpy(keep + total + bytes, iov[i].base, iov[i].len);
      bytes += iov[i].len;
    }
    bench_check(rtw_ws_send_consumed(ws, bytes), "rtw_ws_send_consumed");
    total += bytes;
  }
  return total;
}

/* Queue the message on sessions [0, n) in `mode`. */
static void queue_all(int mode, unsigned n)
{
  rtw_ws_prepared *pm = NULL;
  unsigned i;

  if (mode == MODE_PREPARED)
    bench_check(rtw_ws_prepared_new(&pm, RTW_WS_OP_TEXT, g.msg, g.size, &g.cfg, NULL),
                "rtw_ws_prepared_new");
  for (i = 0; i < n; i++) {
    if (mode == MODE_PREPARED)
      bench_check(rtw_ws_queue_prepared(g.ws[i], pm), "rtw_ws_queue_prepared");
    else
      bench_check(rtw_ws_queue_message(g.ws[i], RTW_WS_OP_TEXT, g.msg, g.size,
                                       mode == MODE_PLAIN ? RTW_WS_QUEUE_NO_COMPRESS : 0),
                  "rtw_ws_queue_message");
  }
  rtw_ws_prepared_free(pm); /* the sessions hold their own references until drained */
}

/* One timed broadcast: queue on every session, drain every session. CPU seconds. */
static double broadcast(int mode)
{
  double t0 = cpu_now();
  unsigned i;

  queue_all(mode, g.sessions);
  for (i = 0; i < g.sessions; i++)
    drain(g.ws[i], NULL, 0);
  return cpu_now() - t0;
}

static int got_ok;

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)ws;
  (void)user_data;
  got_ok = opcode == RTW_WS_OP_TEXT && len == g.size && memcmp(data, g.msg, len) == 0;
  return 0;
}

/* What one session receives in `mode` must arrive at a client as the message; returns the
 * wire size of the frame. Uses session 0 (untimed). */
static size_t check_mode(int mode)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *client;
  char *wire = malloc(g.size + 64);
  size_t n, used;

  if (wire == NULL)
    exit(1);
  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  bench_check(rtw_ws_new(&client, RTW_WS_ROLE_CLIENT, &cb, &st, NULL, NULL), "rtw_ws_new");
  bench_check(rtw_ws_set_deflate(client, &g.client_side, &g.cfg), "rtw_ws_set_deflate");
  queue_all(mode, 1);
  n = drain(g.ws[0], wire, g.size + 64);
  got_ok = 0;
  if (n > g.size + 64)
    exit(1);
  bench_check(rtw_ws_recv(client, wire, n, &used), "rtw_ws_recv");
  if (!got_ok) {
    fprintf(stderr, "deflate_broadcast: %s: the client did not get the message back\n",
            mode_names[mode]);
    exit(1);
  }
  if (mode != MODE_PLAIN && (n < 2 || (((unsigned char)wire[0] >> 4) & RTW_WS_RSV1) == 0)) {
    fprintf(stderr, "deflate_broadcast: %s: the frame is not compressed\n", mode_names[mode]);
    exit(1);
  }
  rtw_ws_free(client);
  free(wire);
  return n;
}

static unsigned long num(const char *s, unsigned long lo, unsigned long hi)
{
  char *end;
  unsigned long v = strtoul(s, &end, 10);

  if (end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "usage: deflate_broadcast [--sessions N] [--reps N] [--size BYTES] "
                    "[--no-heap-trim] [--json]\n");
    exit(2);
  }
  return v;
}

static void setup(void)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  unsigned i;

  g.cfg.version = RTW_WS_DEFLATE_CONFIG_VERSION; /* all defaults: level 6, 15 / 8 */
  bench_negotiate(&g.cfg, &g.cfg, &g.server_side, &g.client_side, NULL, 0);
  g.msg = malloc(g.size);
  g.ws = calloc(g.sessions, sizeof *g.ws);
  if (g.msg == NULL || g.ws == NULL)
    exit(1);
  bench_chat_text(g.msg, g.size);
  for (i = 0; i < g.sessions; i++) {
    bench_check(rtw_ws_new(&g.ws[i], RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL),
                "rtw_ws_new");
    bench_check(rtw_ws_set_deflate(g.ws[i], &g.server_side, &g.cfg), "rtw_ws_set_deflate");
  }
}

int main(int argc, char **argv)
{
  double t[NMODES][MAX_REPS], med[NMODES];
  size_t wire[NMODES];
  unsigned r, i;
  int m;

  g.sessions = 10000;
  g.reps = 7;
  g.size = 1024;
  for (i = 1; i < (unsigned)argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      g.json = 1;
    else if (strcmp(argv[i], "--no-heap-trim") == 0)
      g.no_trim = 1;
    else if (i + 1 < (unsigned)argc && strcmp(argv[i], "--sessions") == 0)
      g.sessions = (unsigned)num(argv[++i], 1, 1000000);
    else if (i + 1 < (unsigned)argc && strcmp(argv[i], "--reps") == 0)
      g.reps = (unsigned)num(argv[++i], 1, MAX_REPS);
    else if (i + 1 < (unsigned)argc && strcmp(argv[i], "--size") == 0)
      g.size = (size_t)num(argv[++i], 1, 1u << 20);
    else
      num("", 1, 0); /* usage */
  }
  if (g.no_trim) {
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
#else
    fprintf(stderr, "deflate_broadcast: --no-heap-trim needs glibc\n");
    return 2;
#endif
  }
  setup();
  for (m = 0; m < NMODES; m++)
    wire[m] = check_mode(m);
  for (r = 0; r < g.reps; r++) {
    for (i = 0; i < NMODES; i++) {
      m = (int)((i + r) % NMODES); /* rotate the order every repetition */
      t[m][r] = broadcast(m);
    }
  }
  for (m = 0; m < NMODES; m++)
    med[m] = bench_median(t[m], g.reps);
  if (g.json) {
    printf("{\"sessions\":%u,\"size\":%zu,\"reps\":%u,\"heap_trim\":%d,"
           "\"wire_compressed\":%zu,"
           "\"wire_plain\":%zu,\"prepared_cpu_s\":%.6f,\"per_session_cpu_s\":%.6f,"
           "\"plain_cpu_s\":%.6f,\"ratio\":%.2f,\"buildtype\":\"%s\"}\n",
           g.sessions, g.size, g.reps, !g.no_trim, wire[MODE_PREPARED], wire[MODE_PLAIN],
           med[MODE_PREPARED], med[MODE_PER_SESSION], med[MODE_PLAIN],
           med[MODE_PER_SESSION] / med[MODE_PREPARED], BENCH_BUILDTYPE);
  } else {
    printf("Broadcast of one %zu B JSON-like text message to %u sessions "
           "(permessage-deflate, server_no_context_takeover);\n"
           "CPU time of the process, median of %u repetitions; build %s, %s; glibc heap "
           "trimming %s\n\n",
           g.size, g.sessions, g.reps, BENCH_BUILDTYPE, BENCH_COMPILER,
           g.no_trim ? "off (--no-heap-trim)" : "on (the default)");
    printf("| mode | frame on the wire | CPU ms | us per session |\n|---|---|---|---|\n");
    for (m = 0; m < NMODES; m++)
      printf("| %s | %zu B | %.2f | %.3f |\n", mode_names[m], wire[m], med[m] * 1e3,
             med[m] * 1e6 / g.sessions);
    printf("\nper-session / prepared: %.1fx (goal >= 20x: %s)\n",
           med[MODE_PER_SESSION] / med[MODE_PREPARED],
           med[MODE_PER_SESSION] >= 20.0 * med[MODE_PREPARED] ? "met" : "MISSED");
  }
  for (i = 0; i < g.sessions; i++)
    rtw_ws_free(g.ws[i]);
  free(g.ws);
  free(g.msg);
  return 0;
}
