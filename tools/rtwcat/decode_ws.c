/* SPDX-License-Identifier: MIT */
/* rtwcat decode ws: run raw WebSocket frames from stdin through an rtw_ws session and print
 * each message and control frame it reports as a JSON line.
 *
 * Input is what one endpoint receives after the opening handshake: with --role server (the
 * default) masked client frames, with --role client unmasked server frames. The session runs
 * with RTW_WS_FLAG_WHOLE_MESSAGES and default limits (include/rtweb/ws.h). Output, one
 * object per line, in the order the session reports things:
 *   {"type":"text","data":"<text>"}                      a whole text message
 *   {"type":"binary","base64":"<payload>"}               a whole binary message
 *   {"type":"ping","base64":"<payload>"}                 a ping (its pong is discarded)
 *   {"type":"pong","base64":"<payload>"}                 a pong
 *   {"type":"close","code":<code>,"reason":"<text>"}     the peer's close ("code" left out
 *                                                        when the frame had no payload)
 *   {"type":"error","error":"<RTW_ERR_NAME>","close_code":<code>}   the session failed
 *                                                        (exit 1); close_code is the code
 *                                                        of the close frame it queued
 * Strings are escaped by json.c, payloads encoded by base64.c. Whatever the session queues
 * to send (pongs, its answer to a close) is taken from it and dropped: there is no peer.
 */

#include <stdio.h>
#include <string.h>

#include "rtweb/ws.h"

#include "json.h"
#include "rtwcat.h"

typedef struct ws_options {
  int role;     /* RTW_WS_ROLE_SERVER or RTW_WS_ROLE_CLIENT */
  size_t chunk; /* 0: feed each read(2) result as it comes */
} ws_options;

/* ------------------------------------------------------------------ callbacks */

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)ws;
  rtwcat_json_ws_message(user_data, opcode, data, len);
  return 0;
}

static int on_ping(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  rtwcat_json_ws_control(user_data, "ping", data, len);
  return 0;
}

static int on_pong(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  rtwcat_json_ws_control(user_data, "pong", data, len);
  return 0;
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                    void *user_data)
{
  (void)ws;
  rtwcat_json_ws_close(user_data, code, reason, reason_len);
  return 0;
}

/* ------------------------------------------------------------------ command line */

enum { OPT_CHUNK, OPT_ROLE };

static const rtwcat_option options[] = {
  [OPT_CHUNK] = {"--chunk", 1},
  [OPT_ROLE] = {"--role", 1},
  {NULL, 0},
};

static int set_option(const rtwcat_command *cmd, void *opts, int which, const char *value)
{
  ws_options *o = opts;

  if (which == OPT_CHUNK)
    return rtwcat_parse_chunk(cmd, value, &o->chunk);
  if (strcmp(value, "server") == 0)
    o->role = RTW_WS_ROLE_SERVER;
  else if (strcmp(value, "client") == 0)
    o->role = RTW_WS_ROLE_CLIENT;
  else
    return rtwcat_usage_error(cmd, "--role: '%s' is neither server nor client", value);
  return -1;
}

static const rtwcat_option_spec option_spec = {options, set_option,
                                               " (input is read from stdin)"};

/* ------------------------------------------------------------------ feeding */

/* Take everything the session wants to write and drop it: there is no peer to send it to.
 * Draining keeps the outbound queue from filling up on a stream of many pings. */
static void discard_output(rtw_ws *ws)
{
  const void *data;
  size_t len;

  while (rtw_ws_send_pending(ws, &data, &len) == 0 && len > 0)
    if (rtw_ws_send_consumed(ws, len) != 0)
      break;
}

/* Feed one piece. Our callbacks never pause; the session's input gate may (RTW_ERR_PAUSE
 * once its output reaches outbound_high_water): the output is dropped and the rest fed.
 * Anything else but 0 is a fatal error. After the peer's close the session consumes and
 * ignores the rest. */
static int feed(void *arg, const unsigned char *p, size_t n)
{
  size_t nread = 0;
  int rc;

  do {
    p += nread;
    n -= nread;
    rc = rtw_ws_recv(arg, p, n, &nread);
    discard_output(arg);
  } while (rc == RTW_ERR_PAUSE && nread > 0 && nread < n);
  return rc == RTW_ERR_PAUSE && nread == n ? 0 : rc;
}

/* ------------------------------------------------------------------ command */

static int print_error(int rc, int close_code)
{
  fputs("{\"type\":\"error\",\"error\":", stdout);
  rtwcat_json_string(stdout, rtw_err_name(rc), strlen(rtw_err_name(rc)));
  fprintf(stdout, ",\"close_code\":%d}\n", close_code);
  return RTWCAT_EXIT_FAILURE;
}

int rtwcat_decode_ws(const rtwcat_command *cmd, int argc, char **argv)
{
  ws_options o = {RTW_WS_ROLE_SERVER, 0};
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings settings = {.version = RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;
  int rc, close_code;

  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &o, NULL)) >= 0)
    return rc;
  cb.on_message = on_message;
  cb.on_ping = on_ping;
  cb.on_pong = on_pong;
  cb.on_close = on_close;
  settings.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  if ((rc = rtw_ws_new(&ws, o.role, &cb, &settings, NULL, stdout)) != 0)
    return print_error(rc, 0);
  rc = rtwcat_read_stdin("decode ws", o.chunk, feed, ws);
  close_code = rtw_ws_close_sent(ws);
  rtw_ws_free(ws);
  if (rc == 1)
    return RTWCAT_EXIT_FAILURE;
  return rc != 0 ? print_error(rc, close_code) : RTWCAT_EXIT_OK;
}
