/* SPDX-License-Identifier: MIT */
/* rtwcat ws://HOST[:PORT]/PATH: a WebSocket client. stdin lines become messages, received
 * messages go to stdout (raw, or JSON lines as `rtwcat decode ws` prints them).
 *
 * Connection life: getaddrinfo + connect (net.c); the opening handshake
 * (rtw_ws_handshake_client, RFC 6455 4.1) written and read with poll(); then a client-role
 * rtw_ws session driven by one poll() loop over the socket, stdin and a signalfd. Output is
 * written with writev() of rtw_ws_send_pending_iov(); stdin is read only while nothing is
 * pending, so a fast producer cannot outrun the socket. At stdin EOF (or SIGINT/SIGTERM) the
 * close handshake starts (RFC 6455 7.1.2); the session's close timer (rtw_ws_tick, 5 s) bounds
 * the wait for the peer's close.
 *
 * Input is kept in `in` until the session has taken it: the session may stop early
 * (RTW_ERR_PAUSE) and the rest is fed later. on_ping pauses the parse after every ping
 * whose pong is queued, so each pong is written before the next ping is read (RFC 6455
 * 5.5.2: every ping gets its pong while the socket takes our writes); when the socket does
 * not take them, the session keeps only the pong for the most recent ping (5.5.3), so a
 * server that floods us with pings and never reads cannot grow our memory.
 *
 *   OPEN --stdin EOF, signal--> CLOSING (our close sent; pings still answered, 5.5.2)
 *   OPEN/CLOSING --server's close, our reply written--> LINGER
 *   any --protocol error: the session queued 1002/1007/1009 (7.1.7), written--> LINGER
 *   LINGER --server's EOF, or LINGER_MS--> exit
 *
 * LINGER is RFC 6455 7.1.1: "the server SHOULD close the underlying TCP connection first";
 * the client waits for that (reading and dropping what still arrives, so our close() never
 * turns into a reset that could destroy the close frame in flight) for at most LINGER_MS.
 *
 * Exit: 0 after a close with 1000, 1001 or no code (1005); 3 after another code ("rtwcat:
 * peer closed: CODE REASON" on stderr); 1 on a failed handshake, a protocol or I/O error, a
 * timeout, or a connection lost without a close frame; 2 for usage errors.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtweb/http.h"
#include "rtweb/ws.h"

#include "json.h"
#include "net.h"
#include "rtwcat.h"

#define MAX_LIST 32
#define IO_BUF (64u * 1024u)
#define CONNECT_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 10000
/* How long the client waits for the server's EOF after the closing handshake, or after the
 * close frame it sent on a protocol error (RFC 6455 7.1.1): the session's close timeout. */
#define LINGER_MS RTW_WS_DEFAULT_CLOSE_TIMEOUT_MS
/* Longest stdin line sent as one message. */
#define MAX_LINE (64u * 1024u * 1024u)
/* Pings answered since our output last drained completely, beyond which the socket is not
 * read until it drains: at most this many pongs (131 bytes each at most) are queued. */
#define MAX_PONG_DEBT 8192u

typedef struct wsc_options {
  const char *url;
  int binary;
  int json;
  int close_code;
  const char *close_reason;
  const char *subprotocols[MAX_LIST];
  size_t nsubprotocols;
  rtw_http_header headers[MAX_LIST];
  size_t nheaders;
  uint64_t ping_ms; /* 0: no pings */
  uint64_t max_message;
  uint64_t fragment_size; /* 0: the engine's default */
  const char *origin;
  rtwcat_deflate deflate; /* --deflate: offer permessage-deflate (RFC 7692) */
  const char *cacert;     /* wss://: --cacert FILE */
  int insecure;           /* wss://: --insecure */
} wsc_options;

typedef struct wsc {
  wsc_options o;
  const rtwcat_command *cmd;
  rtwcat_conn io; /* the socket, with TLS for wss:// */
  int sigfd;
  rtw_tls_config *tls; /* wss://: the client configuration (CAs or --insecure) */
  rtw_ws_handshake_client *hs; /* until the handshake is over */
  rtw_ws *ws;
  int deflate;     /* the server accepted our permessage-deflate offer with `negotiated` */
  rtw_ws_deflate_params negotiated;
  int stdin_eof;
  int closing;    /* our close frame is queued */
  int bad_input;  /* a stdin line could not be sent */
  int peer_code;  /* the peer's close code, 0 before it arrives */
  char peer_reason[128];
  int out_blocked;   /* the last write would have blocked: wait for POLLOUT */
  size_t pong_debt;  /* pings answered since the output last drained */
  int ending;        /* LINGER: the session is over; waiting for the server's EOF */
  int end_status;    /* the exit status once LINGER ends */
  uint64_t end_by;   /* when LINGER gives up waiting */
  uint64_t closed_at; /* when the closing handshake completed (both closes), 0 before */
  rtwcat_buf line;
  uint64_t next_ping;
  size_t in_off, in_len;      /* socket bytes in[in_off, in_off + in_len) not yet taken */
  unsigned char in[IO_BUF];   /* socket input */
  unsigned char buf[IO_BUF];  /* stdin input */
} wsc;

/* ------------------------------------------------------------------ callbacks */

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  wsc *c = user_data;

  (void)ws;
  if (!c->o.json) {
    fwrite(data, 1, len, stdout);
    putchar('\n');
  } else {
    rtwcat_json_ws_message(stdout, opcode, data, len);
  }
  return 0;
}

static void print_control(const wsc *c, const char *type, const void *data, size_t len)
{
  if (c->o.json)
    rtwcat_json_ws_control(stdout, type, data, len);
}

static int on_ping(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  wsc *c = user_data;

  print_control(c, "ping", data, len);
  /* The engine has queued the pong (5.5.2). Stop here so the loop writes it before the
   * next frame is parsed: a burst of pings then gets one pong each, not only the last.
   * While the socket takes no writes, go on reading (a server may wait for us to read
   * before it reads), up to MAX_PONG_DEBT pongs: then stop (pong_blocked()). */
  c->pong_debt++;
  return (!c->out_blocked || c->pong_debt >= MAX_PONG_DEBT) && rtw_ws_want_write(ws)
             ? RTW_ERR_PAUSE
             : 0;
}

/* A server pings faster than it reads our pongs: read no more until they are written. */
static int pong_blocked(const wsc *c)
{
  return c->out_blocked && c->pong_debt >= MAX_PONG_DEBT;
}

static int on_pong(rtw_ws *ws, const void *data, size_t len, void *user_data)
{
  (void)ws;
  print_control(user_data, "pong", data, len);
  return 0;
}

static int on_close(rtw_ws *ws, int code, const char *reason, size_t reason_len,
                    void *user_data)
{
  wsc *c = user_data;
  size_t n = reason_len < sizeof c->peer_reason - 1 ? reason_len : sizeof c->peer_reason - 1;

  (void)ws;
  c->peer_code = code;
  memcpy(c->peer_reason, reason, n);
  c->peer_reason[n] = '\0';
  if (c->o.json)
    rtwcat_json_ws_close(stdout, code, reason, reason_len);
  return 0;
}

/* ------------------------------------------------------------------ command line */

static int parse_close(const rtwcat_command *cmd, const char *v, wsc_options *o)
{
  const char *colon = strchr(v, ':');
  char digits[8];
  size_t n = colon != NULL ? (size_t)(colon - v) : strlen(v);
  uint64_t code;

  if (n == 0 || n >= sizeof digits)
    return rtwcat_usage_error(cmd, "--close: '%s' is not CODE[:REASON]", v);
  memcpy(digits, v, n);
  digits[n] = '\0';
  /* RFC 6455 7.4: codes an endpoint may send */
  if (rtwcat_parse_u64(digits, 4999, &code) != 0 || code < 1000 ||
      (code > 1003 && code < 1007) || (code > 1014 && code < 3000))
    return rtwcat_usage_error(cmd, "--close: %s is not a close code that may be sent "
                                   "(1000-1003, 1007-1014, 3000-4999)", digits);
  o->close_code = (int)code;
  o->close_reason = colon != NULL ? colon + 1 : "";
  if (strlen(o->close_reason) > 123)
    return rtwcat_usage_error(cmd, "--close: the reason may be at most 123 bytes");
  return -1;
}

enum { OPT_BINARY, OPT_JSON, OPT_CLOSE, OPT_SUBPROTOCOL, OPT_HEADER, OPT_PING_INTERVAL,
       OPT_MAX_MESSAGE, OPT_FRAGMENT_SIZE, OPT_ORIGIN, OPT_DEFLATE, OPT_DEFLATE_LEVEL,
       OPT_DEFLATE_WINDOW, OPT_DEFLATE_PEER_WINDOW, OPT_DEFLATE_MEM_LEVEL,
       OPT_DEFLATE_THRESHOLD, OPT_DEFLATE_MEMORY, OPT_DEFLATE_CONTEXT_TAKEOVER,
       OPT_DEFLATE_REQUIRED, OPT_CACERT, OPT_INSECURE };

static const rtwcat_option options[] = {
  [OPT_BINARY] = {"--binary", 0},
  [OPT_JSON] = {"--json", 0},
  [OPT_CLOSE] = {"--close", 1},
  [OPT_SUBPROTOCOL] = {"--subprotocol", 1},
  [OPT_HEADER] = {"--header", 1},
  [OPT_PING_INTERVAL] = {"--ping-interval", 1},
  [OPT_MAX_MESSAGE] = {"--max-message", 1},
  [OPT_FRAGMENT_SIZE] = {"--fragment-size", 1},
  [OPT_ORIGIN] = {"--origin", 1},
  [OPT_DEFLATE] = {"--deflate", 0},
  [OPT_DEFLATE_LEVEL] = {"--deflate-level", 1},
  [OPT_DEFLATE_WINDOW] = {"--deflate-window", 1},
  [OPT_DEFLATE_PEER_WINDOW] = {"--deflate-peer-window", 1},
  [OPT_DEFLATE_MEM_LEVEL] = {"--deflate-mem-level", 1},
  [OPT_DEFLATE_THRESHOLD] = {"--deflate-threshold", 1},
  [OPT_DEFLATE_MEMORY] = {"--deflate-memory", 1},
  [OPT_DEFLATE_CONTEXT_TAKEOVER] = {"--deflate-context-takeover", 0},
  [OPT_DEFLATE_REQUIRED] = {"--deflate-required", 0},
  [OPT_CACERT] = {"--cacert", 1},
  [OPT_INSECURE] = {"--insecure", 0},
  {NULL, 0},
};

static int set_option(const rtwcat_command *cmd, void *opts, int which, const char *v)
{
  wsc_options *o = opts;

  switch (which) {
  case OPT_BINARY:
    o->binary = 1;
    break;
  case OPT_JSON:
    o->json = 1;
    break;
  case OPT_CLOSE:
    return parse_close(cmd, v, o);
  case OPT_SUBPROTOCOL:
    if (o->nsubprotocols == MAX_LIST)
      return rtwcat_usage_error(cmd, "at most %d --subprotocol options", MAX_LIST);
    o->subprotocols[o->nsubprotocols++] = v;
    break;
  case OPT_HEADER:
    if (o->nheaders == MAX_LIST)
      return rtwcat_usage_error(cmd, "at most %d --header options", MAX_LIST);
    return rtwcat_parse_header(cmd, v, &o->headers[o->nheaders++]);
  case OPT_PING_INTERVAL:
    if (rtwcat_parse_seconds(v, &o->ping_ms) != 0)
      return rtwcat_usage_error(cmd, "--ping-interval: '%s' is not a number of seconds", v);
    break;
  case OPT_MAX_MESSAGE:
    if (rtwcat_parse_u64(v, (uint64_t)1 << 40, &o->max_message) != 0 || o->max_message == 0)
      return rtwcat_usage_error(cmd, "--max-message: '%s' is not a size in bytes", v);
    break;
  case OPT_FRAGMENT_SIZE:
    if (rtwcat_parse_u64(v, (uint64_t)1 << 40, &o->fragment_size) != 0 || o->fragment_size == 0)
      return rtwcat_usage_error(cmd, "--fragment-size: '%s' is not a size in bytes", v);
    break;
  case OPT_ORIGIN:
    o->origin = v;
    break;
  case OPT_CACERT:
    o->cacert = v;
    break;
  case OPT_INSECURE:
    o->insecure = 1;
    break;
  default:
    return rtwcat_deflate_option(cmd, &o->deflate, options[which].name, v);
  }
  return -1;
}

static const rtwcat_option_spec option_spec = {options, set_option, NULL};

/* ------------------------------------------------------------------ handshake */

static int handshake_failed(rtw_ws_handshake_client *hs, int rc)
{
  int status = rtw_ws_handshake_client_status(hs);
  const char *loc;
  size_t loc_len;

  if (rc == RTW_ERR_HTTP_WS_BAD_STATUS) {
    fprintf(stderr, "rtwcat: handshake failed: the server answered HTTP %d, not 101 "
                    "Switching Protocols",
            status);
    if (rtw_ws_handshake_client_header(hs, "Location", 8, 0, &loc, &loc_len) == 1)
      fprintf(stderr, " (Location: %.*s)", (int)loc_len, loc);
    fputs("\n", stderr);
  } else {
    fprintf(stderr, "rtwcat: handshake failed: %s (%s)\n", rtw_strerror(rc), rtw_err_name(rc));
  }
  return RTWCAT_EXIT_FAILURE;
}

/* Build the subprotocol offer "a, b, c" (RFC 6455 4.1 item 10). */
static int join_subprotocols(const wsc_options *o, char *out, size_t cap)
{
  size_t i, len = 0;

  out[0] = '\0';
  for (i = 0; i < o->nsubprotocols; i++) {
    int n = snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "", o->subprotocols[i]);
    if (n < 0 || (size_t)n >= cap - len)
      return -1;
    len += (size_t)n;
  }
  return 0;
}

/* Create the handshake object: the request of RFC 6455 4.1 for the URL and options.
 * Returns -1 to go on, or an exit status. */
static int build_request(wsc *c, const rtwcat_url *url, rtw_ws_handshake_client **hs)
{
  rtw_ws_handshake_client_settings set = {RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION};
  char protos[2048];
  char offer[RTW_WS_DEFLATE_ELEMENT_MAX];
  size_t offer_len = 0;
  int rc;

  if (join_subprotocols(&c->o, protos, sizeof protos) != 0)
    return rtwcat_usage_error(c->cmd, "too many subprotocols");
  /* RFC 7692 5: one permessage-deflate offer made from our policy */
  if (c->o.deflate.on &&
      (rc = rtw_ws_deflate_offer(&c->o.deflate.cfg, offer, sizeof offer, &offer_len)) != 0)
    return rtwcat_usage_error(c->cmd, "cannot offer permessage-deflate: %s (check the "
                              "--deflate-* options)", rtw_strerror(rc));
  set.extensions = offer_len > 0 ? offer : NULL;
  set.extensions_len = offer_len;
  set.host = url->host_header;
  set.host_len = strlen(url->host_header);
  set.path = url->target;
  set.path_len = strlen(url->target);
  set.origin = c->o.origin;
  set.origin_len = c->o.origin != NULL ? strlen(c->o.origin) : 0;
  set.subprotocols = protos;
  set.subprotocols_len = strlen(protos);
  set.headers = c->o.headers;
  set.num_headers = c->o.nheaders;
  if ((rc = rtw_ws_handshake_client_new(hs, NULL, &set, NULL, NULL)) != 0) {
    return rtwcat_usage_error(c->cmd, "cannot build the request: %s (%s)", rtw_strerror(rc),
                              rc == RTW_ERR_HTTP_INVALID_HEADER
                                  ? "check --header"
                                  : "check the URL, --origin and --subprotocol");
  }
  return -1;
}

/* Read until the response head is complete. On success c->in[*used, *n) holds the first
 * frames. Returns -1 to go on, or an exit status (reported). */
static int read_response(wsc *c, rtw_ws_handshake_client *hs, uint64_t deadline, size_t *used,
                         size_t *n)
{
  int rc = RTW_WS_HANDSHAKE_INCOMPLETE;

  while (rc == RTW_WS_HANDSHAKE_INCOMPLETE) {
    ssize_t r = rtwcat_conn_read(&c->io, c->in, sizeof c->in);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      int w = rtwcat_wait_fd(c->io.fd, POLLIN, c->sigfd, deadline);
      if (w == 0)
        fprintf(stderr, "rtwcat: handshake failed: no response within %d s\n",
                HANDSHAKE_TIMEOUT_MS / 1000);
      else if (w == -1)
        fprintf(stderr, "rtwcat: poll: %s\n", strerror(errno));
      else if (w == -2)
        fprintf(stderr, "rtwcat: interrupted during the handshake\n");
      if (w <= 0)
        return RTWCAT_EXIT_FAILURE;
      continue;
    }
    if (r <= 0) {
      fprintf(stderr, "rtwcat: handshake failed: %s\n",
              r == 0 ? "the server closed the connection before answering"
                     : rtwcat_conn_strerror(&c->io, errno));
      return RTWCAT_EXIT_FAILURE;
    }
    *n = (size_t)r;
    rc = rtw_ws_handshake_client_recv(hs, c->in, *n, used);
  }
  if (rc != RTW_WS_HANDSHAKE_DONE)
    return handshake_failed(hs, rc);
  return -1;
}

static void print_open(const wsc *c, const rtw_ws_handshake_client *hs)
{
  const char *proto;
  size_t len;

  if (!c->o.json)
    return;
  fputs("{\"type\":\"open\",\"subprotocol\":", stdout);
  if (rtw_ws_handshake_client_subprotocol(hs, &proto, &len) == 1)
    rtwcat_json_string(stdout, proto, len);
  else
    fputs("null", stdout);
  if (c->io.tls != NULL) {
    /* wss://: the TLS version, cipher suite and ALPN protocol negotiated */
    const char *v = rtw_tls_protocol(c->io.tls), *suite = rtw_tls_ciphersuite(c->io.tls);
    fputs(",\"tls\":", stdout);
    rtwcat_json_string(stdout, v, strlen(v));
    fputs(",\"cipher\":", stdout);
    rtwcat_json_string(stdout, suite, strlen(suite));
    fputs(",\"alpn\":", stdout);
    if (rtw_tls_alpn(c->io.tls, &proto, &len) == 0 && proto != NULL)
      rtwcat_json_string(stdout, proto, len);
    else
      fputs("null", stdout);
  }
  if (c->o.deflate.on) {
    /* what was negotiated, as the response's element (absent windows left out) */
    char ext[RTW_WS_DEFLATE_ELEMENT_MAX + 1];
    rtwcat_deflate_describe(&c->negotiated, ext, sizeof ext);
    fputs(",\"deflate\":", stdout);
    if (c->deflate)
      rtwcat_json_string(stdout, ext, strlen(ext));
    else
      fputs("null", stdout);
  }
  fputs("}\n", stdout);
}

/* The client session (RFC 6455 5): whole messages, our limits. */
static int new_session(wsc *c)
{
  rtw_ws_callbacks cb = {RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings set = {RTW_WS_SETTINGS_VERSION};
  int rc;

  cb.on_message = on_message;
  cb.on_ping = on_ping;
  cb.on_pong = on_pong;
  cb.on_close = on_close;
  set.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  set.max_message_size = c->o.max_message;
  set.max_frame_size = c->o.max_message;
  set.fragment_size = (size_t)c->o.fragment_size;
  set.max_outbound = (size_t)MAX_LINE + 1024u * 1024u;
  /* No input gate: the client reads while a long line is being written, so a server that
   * echoes while it reads never waits on us. Pongs are bounded by MAX_PONG_DEBT instead. */
  set.outbound_high_water = SIZE_MAX;
  if ((rc = rtw_ws_new(&c->ws, RTW_WS_ROLE_CLIENT, &cb, &set, NULL, c)) != 0) {
    fprintf(stderr, "rtwcat: %s\n", rtw_strerror(rc));
    return RTWCAT_EXIT_FAILURE;
  }
  if (!c->deflate && !(c->o.deflate.cfg.flags & RTW_WS_DEFLATE_REQUIRED))
    return -1;
  /* RFC 7692 7.1: run what the server accepted; with --deflate-required and no
   * acceptance the session queues a close with 1010 (RFC 6455 7.4.1) */
  rc = rtw_ws_set_deflate(c->ws, c->deflate ? &c->negotiated : NULL, &c->o.deflate.cfg);
  if (rc == RTW_ERR_WS_EXTENSION_MISSING) {
    fprintf(stderr, "rtwcat: the server declined permessage-deflate (--deflate-required): "
                    "closing with 1010\n");
    (void)rtwcat_ws_flush(&c->io, c->ws);
    return RTWCAT_EXIT_FAILURE;
  }
  if (rc != 0) {
    fprintf(stderr, "rtwcat: cannot run permessage-deflate: %s (%s)\n", rtw_strerror(rc),
            rtw_err_name(rc));
    return RTWCAT_EXIT_FAILURE;
  }
  return -1;
}

/* The server accepted our offer? (RFC 7692 7.1.1, 7.1.2: only what we offered or allowed.)
 * An answer we cannot accept fails the WebSocket connection (RFC 6455 7.1.7): a close with
 * 1010 is sent and the exit status is 1. Returns -1 to go on, or an exit status. */
static int check_deflate(wsc *c, const rtw_ws_handshake_client *hs)
{
  static const char why[] = "bad permessage-deflate response";
  const char *ext;
  size_t len, i;
  int rc;

  if (!c->o.deflate.on)
    return -1;
  rc = rtw_ws_handshake_client_deflate(hs, &c->o.deflate.cfg, &c->negotiated);
  if (rc == 1) {
    c->deflate = 1;
    return -1;
  }
  if (rc == 0 || rc == RTW_ERR_UNSUPPORTED)
    return -1; /* declined, or a library built without it: go on uncompressed */
  fprintf(stderr, "rtwcat: handshake failed: the server's permessage-deflate answer is not "
                  "acceptable (%s, RFC 7692 7.1):",
          rtw_err_name(rc));
  for (i = 0; rtw_ws_handshake_client_extension(hs, i, &ext, &len) == 1; i++)
    fprintf(stderr, "%s '%.*s'", i > 0 ? "," : "", (int)len, ext);
  fputs("\n", stderr);
  c->o.deflate.on = 0; /* a plain session, only to send the close */
  if (new_session(c) < 0 &&
      rtw_ws_close(c->ws, RTW_WS_CLOSE_MANDATORY_EXTENSION, why, sizeof why - 1) == 0)
    (void)rtwcat_ws_flush(&c->io, c->ws);
  return RTWCAT_EXIT_FAILURE;
}

/* Run the opening handshake; on success create the session and keep what followed the 101
 * for it. Returns -1 to go on, or an exit status. */
static int handshake(wsc *c)
{
  rtw_ws_handshake_client *hs = c->hs;
  uint64_t deadline = rtwcat_now_ms() + HANDSHAKE_TIMEOUT_MS;
  const void *req;
  size_t req_len, used = 0, n = 0;
  int rc;

  (void)rtw_ws_handshake_client_request(hs, &req, &req_len);
  if ((rc = rtwcat_conn_write_all(&c->io, req, req_len, c->sigfd, deadline)) != 0) {
    if (rc != -2)
      fprintf(stderr, "rtwcat: sending the handshake: %s\n",
              rtwcat_conn_strerror(&c->io, errno));
    rc = RTWCAT_EXIT_FAILURE;
  } else if ((rc = read_response(c, hs, deadline, &used, &n)) < 0 &&
             (rc = check_deflate(c, hs)) < 0) {
    print_open(c, hs);
  }
  rtw_ws_handshake_client_free(hs);
  c->hs = NULL;
  if (rc >= 0 || (rc = new_session(c)) >= 0)
    return rc;
  /* RFC 6455 4.1: frames may follow the 101 in the same read; the loop feeds them first */
  c->in_off = used;
  c->in_len = n - used;
  return -1;
}

/* ------------------------------------------------------------------ session loop */

static void send_line(wsc *c, const void *p, size_t n)
{
  int rc;

  if (c->closing)
    return;
  rc = rtw_ws_queue_message(c->ws, c->o.binary ? RTW_WS_OP_BINARY : RTW_WS_OP_TEXT, p, n, 0);
  if (rc == RTW_ERR_INVALID_UTF8) {
    fprintf(stderr, "rtwcat: a line is not valid UTF-8 and was not sent (use --binary)\n");
    c->bad_input = 1;
  } else if (rc != 0 && rc != RTW_ERR_WS_CLOSED) {
    fprintf(stderr, "rtwcat: cannot send a line: %s\n", rtw_strerror(rc));
    c->bad_input = 1;
  }
}

static void start_close(wsc *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  (void)rtw_ws_close(c->ws, c->o.close_code, c->o.close_reason, strlen(c->o.close_reason));
}

/* Split what stdin gave into lines; each whole line is one message. */
static void stdin_input(wsc *c, const unsigned char *p, size_t n, int eof)
{
  while (n > 0) {
    const unsigned char *nl = memchr(p, '\n', n);
    size_t take = nl != NULL ? (size_t)(nl - p) : n;

    if (nl != NULL && c->line.len == 0) {
      send_line(c, p, take); /* the whole line is in this read: no copy */
    } else {
      if (c->line.len + take > MAX_LINE || rtwcat_buf_append(&c->line, p, take) != 0) {
        fprintf(stderr, "rtwcat: a line longer than %u bytes was not sent\n", MAX_LINE);
        c->bad_input = 1;
        rtwcat_buf_free(&c->line);
      }
      if (nl != NULL) {
        send_line(c, c->line.data + c->line.off, c->line.len);
        rtwcat_buf_consume(&c->line, c->line.len);
      }
    }
    if (nl == NULL)
      break;
    p += take + 1;
    n -= take + 1;
  }
  if (eof) {
    if (c->line.len > 0)
      send_line(c, c->line.data + c->line.off, c->line.len); /* a last line without LF */
    rtwcat_buf_free(&c->line);
    c->stdin_eof = 1;
    start_close(c);
  }
}

/* The exit status once the session is over. */
static int final_status(wsc *c, int failed)
{
  int code = c->peer_code;

  if (failed)
    return RTWCAT_EXIT_FAILURE;
  if (code == 0) {
    fprintf(stderr, "rtwcat: the connection closed without a close frame\n");
    return RTWCAT_EXIT_FAILURE;
  }
  /* RFC 6455 7.4.1: 1000 normal closure, 1001 going away; 1005: a close without a code */
  if (code != RTW_WS_CLOSE_NORMAL && code != RTW_WS_CLOSE_GOING_AWAY &&
      code != RTW_WS_CLOSE_NO_STATUS) {
    fprintf(stderr, "rtwcat: peer closed: %d %s\n", code, c->peer_reason);
    return RTWCAT_EXIT_PEER_CLOSE;
  }
  return c->bad_input ? RTWCAT_EXIT_FAILURE : RTWCAT_EXIT_OK;
}

/* Enter LINGER with the exit status to use when it ends; it ends at the server's EOF or
 * at `by`. */
static void end_session(wsc *c, int status, uint64_t by)
{
  if (c->ending)
    return;
  c->ending = 1;
  c->end_status = status;
  c->end_by = by;
  c->in_len = 0; /* nothing more is fed to the session */
}

/* The session failed (a protocol error, a timeout): report it; when it queued a close frame
 * (RFC 6455 7.1.7 "Fail the WebSocket Connection"), LINGER writes it and then waits for the
 * server's EOF. After a close timeout the server has had its time: stop at once. */
static void session_error(wsc *c, int rc, uint64_t now)
{
  int sent = rtw_ws_close_sent(c->ws);

  fprintf(stderr, "rtwcat: %s (%s)", rtw_strerror(rc), rtw_err_name(rc));
  if (sent != 0 && rc != RTW_ERR_WS_CLOSE_TIMEOUT)
    fprintf(stderr, "; sent close %d", sent);
  fputs("\n", stderr);
  end_session(c, RTWCAT_EXIT_FAILURE, rc == RTW_ERR_WS_CLOSE_TIMEOUT ? now : now + LINGER_MS);
}

/* Feed the socket input the session has not taken yet. A pause (a ping's pong to write)
 * leaves the rest in `in` for the next turn, after a write. Returns 1 when bytes were
 * taken. */
static int feed(wsc *c, uint64_t now)
{
  size_t nread = 0;
  int rc;

  if (c->in_len == 0 || c->ending || !rtw_ws_want_read(c->ws) || pong_blocked(c))
    return 0;
  rc = rtw_ws_recv(c->ws, c->in + c->in_off, c->in_len, &nread);
  c->in_off += nread;
  c->in_len -= nread;
  if (c->in_len == 0)
    c->in_off = 0;
  if (rc != 0 && rc != RTW_ERR_PAUSE)
    session_error(c, rc, now);
  return nread > 0;
}

/* Read the socket once into `in` (which is empty). At EOF or on a reset, the session is
 * over. Returns -1 to go on, or an exit status. */
static int socket_input(wsc *c, uint64_t now)
{
  ssize_t n = rtwcat_conn_read(&c->io, c->in, sizeof c->in);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return -1;
  if (c->ending)
    return n > 0 ? -1 : c->end_status; /* LINGER: drop what arrives; EOF ends it */
  if (n == 0 || (n < 0 && c->peer_code != 0))
    return final_status(c, 0); /* after the peer's close, a reset is just the end */
  if (n < 0) {
    fprintf(stderr, "rtwcat: reading from the server: %s\n",
            rtwcat_conn_strerror(&c->io, errno));
    return RTWCAT_EXIT_FAILURE;
  }
  c->in_off = 0;
  c->in_len = (size_t)n;
  (void)feed(c, now);
  return -1;
}

/* Milliseconds until the next timer (ping, the session's, LINGER's end), -1 for none. */
static int next_timeout(const wsc *c, uint64_t now)
{
  uint64_t d = c->ending ? c->end_by : rtw_ws_next_deadline(c->ws);

  if (!c->ending && c->o.ping_ms > 0 && !c->closing && c->next_ping < d)
    d = c->next_ping;
  if (d == UINT64_MAX)
    return -1;
  return d <= now ? 0 : (d - now > 60000 ? 60000 : (int)(d - now));
}

/* Run the timers (the session's close timeout, our pings) and note when the closing
 * handshake completes. */
static void timers(wsc *c, uint64_t now)
{
  int rc;

  if (c->ending)
    return;
  if (c->closed_at == 0 && rtw_ws_close_sent(c->ws) != 0 && rtw_ws_close_received(c->ws) != 0)
    c->closed_at = now;
  if ((rc = rtw_ws_tick(c->ws, now)) != 0) {
    if (c->closed_at != 0) /* both closes are through: only the EOF wait timed out */
      end_session(c, final_status(c, 0), now);
    else
      session_error(c, rc, now);
    return;
  }
  if (c->o.ping_ms > 0 && !c->closing && now >= c->next_ping) {
    (void)rtw_ws_queue_ping(c->ws, NULL, 0);
    c->next_ping = now + c->o.ping_ms;
  }
}

/* Write what is pending and flush stdout; enter LINGER once the session is over. *w gets
 * rtwcat_ws_flush()'s result. Returns -1 to go on, or an exit status. */
static int service(wsc *c, uint64_t now, int *w)
{
  timers(c, now);
  *w = rtwcat_ws_flush(&c->io, c->ws);
  c->out_blocked = *w == 1;
  if (*w == 0)
    c->pong_debt = 0;
  if (*w == -1 && (c->peer_code != 0 || c->ending))
    return c->ending ? c->end_status : final_status(c, 0); /* the server is gone */
  if (*w == -1) {
    fprintf(stderr, "rtwcat: writing to the server: %s\n",
            rtwcat_conn_strerror(&c->io, errno));
    return RTWCAT_EXIT_FAILURE;
  }
  if (*w < -1) {
    session_error(c, *w, now);
    *w = 0;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "rtwcat: writing to standard output: %s\n", strerror(errno));
    return RTWCAT_EXIT_FAILURE;
  }
  if (!c->ending && !rtw_ws_want_read(c->ws) && !rtw_ws_want_write(c->ws)) {
    /* the closing handshake is complete (or the failed session's close frame is written):
     * wait for the server's EOF, counted from when both closes were through */
    uint64_t since = c->closed_at != 0 ? c->closed_at : now;
    end_session(c, rtw_ws_close_received(c->ws) != 0 ? final_status(c, 0) : c->end_status,
                since + LINGER_MS);
  }
  if (c->ending && now >= c->end_by)
    return c->end_status;
  return -1;
}

/* Read stdin once; a read error counts as its end. */
static void read_stdin(wsc *c)
{
  ssize_t n = read(STDIN_FILENO, c->buf, sizeof c->buf);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n < 0)
    fprintf(stderr, "rtwcat: reading standard input: %s\n", strerror(errno));
  stdin_input(c, c->buf, n > 0 ? (size_t)n : 0, n <= 0);
}

/* The socket's poll events: input while the session wants it and `in` is empty (or in
 * LINGER, to see the EOF), output while a write would block. */
static short socket_events(const wsc *c, int w)
{
  short ev = w == 1 ? POLLOUT : 0;

  if (c->ending || (c->in_len == 0 && rtw_ws_want_read(c->ws) && !pong_blocked(c)))
    ev = (short)(ev | POLLIN);
  return ev;
}

static int run_session(wsc *c)
{
  c->next_ping = rtwcat_now_ms() + c->o.ping_ms;
  for (;;) {
    struct pollfd p[3];
    uint64_t now = rtwcat_now_ms();
    int rc, nfds, w = 0;

    if ((rc = service(c, now, &w)) >= 0)
      return rc;
    /* the rest of a read, after a pause: its pong was written first (above) */
    if (feed(c, now))
      continue;
    p[0].fd = c->io.fd;
    p[0].events = socket_events(c, w);
    p[1].fd = c->sigfd;
    p[1].events = POLLIN;
    p[2].fd = STDIN_FILENO;
    p[2].events = POLLIN;
    /* stdin is read only when everything queued has been written (backpressure) */
    nfds = (!c->stdin_eof && !c->closing && !c->ending && w == 0) ? 3 : 2;
    rc = poll(p, (nfds_t)nfds, next_timeout(c, now));
    if (rc < 0 && errno != EINTR) {
      fprintf(stderr, "rtwcat: poll: %s\n", strerror(errno));
      return RTWCAT_EXIT_FAILURE;
    }
    if (rc <= 0)
      continue;
    if (p[1].revents & POLLIN) {
      (void)rtwcat_signals_read(c->sigfd);
      if (c->closing || c->ending)
        return RTWCAT_EXIT_FAILURE; /* a second signal: stop waiting */
      start_close(c);
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && c->in_len == 0 &&
        (rc = socket_input(c, rtwcat_now_ms())) >= 0)
      return rc;
    if (nfds == 3 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
      read_stdin(c);
  }
}

int rtwcat_client_ws(const rtwcat_command *cmd, int argc, char **argv)
{
  wsc *c;
  rtwcat_url url;
  int rc;

  c = calloc(1, sizeof *c);
  if (c == NULL) {
    fprintf(stderr, "rtwcat: out of memory\n");
    return RTWCAT_EXIT_FAILURE;
  }
  rtwcat_conn_init(&c->io, -1);
  c->sigfd = -1;
  c->cmd = cmd;
  c->o.close_code = RTW_WS_CLOSE_NORMAL;
  c->o.close_reason = "";
  c->o.max_message = RTW_WS_DEFAULT_MAX_MESSAGE_SIZE;
  rtwcat_deflate_init(&c->o.deflate);
  /* the request is built before connecting, so a bad --header is a usage error */
  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &c->o, &c->o.url)) >= 0 ||
      (rc = rtwcat_url_arg(cmd, c->o.url, 1, &url)) >= 0 ||
      (rc = build_request(c, &url, &c->hs)) >= 0)
    goto done;
  rc = RTWCAT_EXIT_FAILURE;
  if ((c->sigfd = rtwcat_signals_open()) < 0)
    goto done;
  if (url.tls && (c->tls = rtwcat_tls_client_config(c->o.cacert, c->o.insecure)) == NULL)
    goto done;
  if ((c->io.fd = rtwcat_connect(url.host, url.port, CONNECT_TIMEOUT_MS, c->sigfd)) < 0)
    goto done;
  /* wss:// (RFC 6455 3, 4.1 item 3): the TLS handshake first, verifying the URL's host
   * (sent as SNI unless it is an IP literal) */
  if (url.tls && (rtwcat_conn_tls(&c->io, c->tls, url.host) != 0 ||
                  rtwcat_conn_handshake(&c->io, url.host, c->sigfd,
                                        rtwcat_now_ms() + HANDSHAKE_TIMEOUT_MS) != 0))
    goto done;
  if ((rc = handshake(c)) >= 0)
    goto done;
  rc = run_session(c);
done:
  fflush(stdout);
  rtwcat_conn_close(&c->io); /* wss://: close_notify first */
  rtw_tls_config_free(c->tls);
  if (c->sigfd >= 0)
    close(c->sigfd);
  rtw_ws_handshake_client_free(c->hs);
  rtw_ws_free(c->ws);
  rtwcat_buf_free(&c->line);
  free(c);
  return rc;
}
