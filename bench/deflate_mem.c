/* SPDX-License-Identifier: MIT */
/* Memory per connection with permessage-deflate, at each preset: measured on real sessions,
 * not estimated. See docs/performance.md, "permessage-deflate".
 *
 *   deflate_mem [--json]
 *
 * For each preset (compression level, window bits and zlib memLevel, context takeover off or
 * on in both directions) a server session and a client session are created, each with its own
 * counting rtw_mem, and negotiated exactly as a handshake would (rtw_ws_deflate_offer ->
 * parse -> accept -> format -> parse -> check_response -> rtw_ws_set_deflate). Then:
 *
 *   idle      after rtw_ws_set_deflate(), before any message;
 *   peak      the most heap the session held while it received one JSON chat message
 *             (about 150 B, compressed by the peer) and sent one (compressed by itself):
 *             both zlib streams have existed by then (the JSON output also gives the zlib
 *             memory seen when the message was delivered, peak_zlib);
 *   after     once both messages are through and the session is idle again.
 *
 * Each is given as the zlib memory rtw_ws_deflate_memory() reports and the session's whole
 * heap (every byte the session took through its rtw_mem: the session, its buffers and zlib).
 * A preset the server declines stops the program (exit 1). Prints a markdown table, or one
 * JSON line per preset with --json.
 */

#include <rtweb/rtweb.h>

#include <stdio.h>
#include <string.h>

#include "deflate_data.h"
#include "deflate_pair.h"

typedef struct preset {
  const char *name;
  unsigned level, window_bits, mem_level;
  int takeover; /* context takeover in both directions */
} preset;

static const preset presets[] = {
  {"default: level 6, window 15, memLevel 8", 6, 15, 8, 0},
  {"default with context takeover", 6, 15, 8, 1},
  {"window 12, memLevel 5", 6, 12, 5, 0},
  {"window 12, memLevel 5, context takeover", 6, 12, 5, 1},
  {"window 10, memLevel 4", 6, 10, 4, 0},
  {"window 10, memLevel 4, context takeover", 6, 10, 4, 1},
  {"window 9, memLevel 1", 6, 9, 1, 0},
  {"window 9, memLevel 1, context takeover", 6, 9, 1, 1},
};

typedef struct side_result {
  size_t idle_zlib, idle_heap, peak_heap, peak_zlib, after_zlib, after_heap;
} side_result;

typedef struct endpoint {
  rtw_ws *ws;
  bench_counter mem;
  size_t base;      /* heap of the session before rtw_ws_set_deflate() */
  size_t peak_zlib; /* highest rtw_ws_deflate_memory() seen in the message callbacks */
  unsigned got;     /* messages received */
} endpoint;

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  endpoint *e = user_data;
  size_t z = rtw_ws_deflate_memory(ws);

  (void)opcode;
  (void)data;
  (void)len;
  if (z > e->peak_zlib)
    e->peak_zlib = z;
  e->got++;
  return 0;
}

static void open_side(endpoint *e, int role, const rtw_ws_deflate_params *neg,
                      const rtw_ws_deflate_config *cfg)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_mem m;

  memset(e, 0, sizeof *e);
  m = bench_counting_mem(&e->mem);
  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  bench_check(rtw_ws_new(&e->ws, role, &cb, &st, &m, e), "rtw_ws_new");
  e->base = e->mem.live;
  bench_check(rtw_ws_set_deflate(e->ws, neg, cfg), "rtw_ws_set_deflate");
}

static void note_idle(const endpoint *e, side_result *r)
{
  r->idle_zlib = rtw_ws_deflate_memory(e->ws);
  r->idle_heap = e->mem.live;
}

static void note_after(endpoint *e, side_result *r)
{
  size_t z = rtw_ws_deflate_memory(e->ws);

  r->peak_heap = e->mem.peak;
  r->peak_zlib = e->peak_zlib > z ? e->peak_zlib : z;
  r->after_zlib = z;
  r->after_heap = e->mem.live;
}

/* One preset: negotiate, create both sessions, exchange one message each way. */
static void run(const preset *p, side_result *srv, side_result *cli, char *answer, size_t cap)
{
  rtw_ws_deflate_config cfg = {RTW_WS_DEFLATE_CONFIG_VERSION};
  rtw_ws_deflate_params sp, cp;
  endpoint s, c;
  char msg[512];
  size_t len;

  cfg.level = (uint8_t)p->level;
  cfg.deflate_window_bits = (uint8_t)p->window_bits;
  cfg.deflate_mem_level = (uint8_t)p->mem_level;
  cfg.inflate_window_bits = (uint8_t)p->window_bits;
  if (p->takeover)
    cfg.flags = RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  bench_negotiate(&cfg, &cfg, &sp, &cp, answer, cap);
  open_side(&s, RTW_WS_ROLE_SERVER, &sp, &cfg);
  open_side(&c, RTW_WS_ROLE_CLIENT, &cp, &cfg);
  note_idle(&s, srv);
  note_idle(&c, cli);
  bench_counter_mark(&s.mem);
  bench_counter_mark(&c.mem);

  /* The client's message first (the server inflates), then the server's (it deflates):
   * both of the server's streams are needed, and likewise the client's. */
  len = bench_chat_message(1, msg, sizeof msg);
  bench_check(rtw_ws_queue_text(c.ws, msg, len), "rtw_ws_queue_text");
  bench_pump(c.ws, s.ws);
  len = bench_chat_message(2, msg, sizeof msg);
  bench_check(rtw_ws_queue_text(s.ws, msg, len), "rtw_ws_queue_text");
  bench_pump(s.ws, c.ws);
  if (s.got != 1 || c.got != 1) {
    fprintf(stderr, "deflate_mem: a message did not arrive\n");
    exit(1);
  }
  note_after(&s, srv);
  note_after(&c, cli);
  rtw_ws_free(s.ws);
  rtw_ws_free(c.ws);
  if (s.mem.live != 0 || c.mem.live != 0) {
    fprintf(stderr, "deflate_mem: %zu + %zu bytes still allocated after rtw_ws_free()\n",
            s.mem.live, c.mem.live);
    exit(1);
  }
}

static double kib(size_t n)
{
  return (double)n / 1024.0;
}

int main(int argc, char **argv)
{
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  size_t i;

  if (argc > 2 || (argc == 2 && !json)) {
    fprintf(stderr, "usage: deflate_mem [--json]\n");
    return 2;
  }
  if (!json) {
    printf("Memory per session with permessage-deflate (KiB; heap = every byte the session "
           "took through its rtw_mem,\nzlib = rtw_ws_deflate_memory()). Server side; the "
           "client side in parentheses.\n\n");
    printf("| preset | negotiated (server's answer) | idle: zlib / heap | peak heap, one "
           "message each way | idle after: zlib / heap |\n");
    printf("|---|---|---|---|---|\n");
  }
  for (i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    side_result s, c;
    char answer[256];

    run(&presets[i], &s, &c, answer, sizeof answer);
    if (json) {
      printf("{\"preset\":\"%s\",\"level\":%u,\"window_bits\":%u,\"mem_level\":%u,"
             "\"takeover\":%d,\"answer\":\"%s\","
             "\"server\":{\"idle_zlib\":%zu,\"idle_heap\":%zu,\"peak_zlib\":%zu,"
             "\"peak_heap\":%zu,\"after_zlib\":%zu,\"after_heap\":%zu},"
             "\"client\":{\"idle_zlib\":%zu,\"idle_heap\":%zu,\"peak_zlib\":%zu,"
             "\"peak_heap\":%zu,\"after_zlib\":%zu,\"after_heap\":%zu}}\n",
             presets[i].name, presets[i].level, presets[i].window_bits, presets[i].mem_level,
             presets[i].takeover, answer, s.idle_zlib, s.idle_heap, s.peak_zlib, s.peak_heap,
             s.after_zlib, s.after_heap, c.idle_zlib, c.idle_heap, c.peak_zlib, c.peak_heap,
             c.after_zlib, c.after_heap);
    } else {
      printf("| %s | `%s` | %.1f / %.1f (%.1f / %.1f) | %.1f (%.1f) | "
             "%.1f / %.1f (%.1f / %.1f) |\n",
             presets[i].name, answer, kib(s.idle_zlib), kib(s.idle_heap), kib(c.idle_zlib),
             kib(c.idle_heap), kib(s.peak_heap), kib(c.peak_heap), kib(s.after_zlib), kib(s.after_heap), kib(c.after_zlib),
             kib(c.after_heap));
    }
  }
  return 0;
}
