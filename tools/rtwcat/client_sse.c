/* SPDX-License-Identifier: MIT */
/* rtwcat http://HOST[:PORT]/PATH: a Server-Sent Events client that behaves like EventSource
 * (WHATWG HTML 9.2) and prints what its parser reports as `rtwcat decode sse` does.
 *
 * One attempt: connect (net.c), write the request of rtw_sse_http_client (Accept:
 * text/event-stream, Cache-Control: no-store, Last-Event-ID when known: 9.2.2, 9.2.3), feed
 * every read to rtw_sse_http_client_recv(), which judges the response (9.2.2
 * processResponse) and feeds the body to our rtw_sse_parser.
 *
 * Between attempts (9.2.3 "reestablish the connection"): the stream ended or the network
 * failed -> wait rtw_sse_reconnect_next_attempt_ms() (the server's retry, plus exponential
 * backoff with full jitter after failures) and try again with the parser's last event ID;
 * 204 -> stop, exit 0; another status or a wrong Content-Type -> fail, exit 1; a redirect
 * with an http:// or https:// Location (or a path) is followed, at most 10 times in a row.
 *
 * https:// is the same over TLS (net.c's transport): the handshake verifies the URL's host
 * against --cacert (or the system bundle) before the request; a certificate that does not
 * verify ends the command (exit 1) instead of a reconnect. A reconnect offers the TLS
 * session of the last connection, for an abbreviated handshake (RFC 5246 7.3).
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtweb/http.h"
#include "rtweb/sse.h"

#include "json.h"
#include "net.h"
#include "rtwcat.h"

#define MAX_HEADERS 32
#define IO_BUF (64u * 1024u)
#define CONNECT_TIMEOUT_MS 10000
#define MAX_REDIRECTS 10

typedef struct ssec_options {
  const char *url;
  uint64_t max_events;     /* 0: unlimited */
  uint64_t max_reconnects; /* UINT64_MAX: unlimited */
  const char *last_id;
  rtw_http_header headers[MAX_HEADERS];
  size_t nheaders;
  int comments;
  uint64_t retry_ms; /* 0: the library's default */
  const char *cacert; /* https://: --cacert FILE */
  int insecure;       /* https://: --insecure */
} ssec_options;

/* How one attempt ended. */
enum { OUT_RECONNECT, OUT_STOP, OUT_FAIL, OUT_REDIRECT, OUT_SIGNAL };

typedef struct ssec {
  ssec_options o;
  int sigfd;
  rtw_sse_parser *parser;
  rtw_sse_reconnect *reconnect;
  rtw_tls_config *tls; /* https://: made at the first attempt that needs it */
  size_t session_len;  /* https://: bytes of the last TLS session in `session`, 0: none */
  unsigned char session[8192];
  uint64_t events;
  int done; /* --max-events reached */
  rtwcat_url url;
  char location[2048];
  unsigned char buf[IO_BUF];
} ssec;

/* ------------------------------------------------------------------ parser callbacks */

static int on_event(rtw_sse_parser *parser, const rtw_sse_event *ev, void *user_data)
{
  ssec *c = user_data;

  (void)parser;
  if (c->done)
    return 0; /* already printed --max-events events */
  rtwcat_json_sse_event(stdout, ev->type, ev->type_len, ev->data, ev->data_len, ev->id,
                        ev->id_len);
  if (c->o.max_events != 0 && ++c->events >= c->o.max_events)
    c->done = 1;
  return 0;
}

/* WHATWG 9.2.6: a retry field sets the reconnection time. */
static int on_retry(rtw_sse_parser *parser, uint32_t ms, void *user_data)
{
  ssec *c = user_data;

  (void)parser;
  if (!c->done)
    rtwcat_json_sse_retry(stdout, ms);
  return rtw_sse_reconnect_set_retry(c->reconnect, ms);
}

static int on_comment(rtw_sse_parser *parser, const char *text, size_t len, void *user_data)
{
  ssec *c = user_data;

  (void)parser;
  if (!c->done)
    rtwcat_json_sse_comment(stdout, text, len);
  return 0;
}

/* ------------------------------------------------------------------ command line */

enum { OPT_COMMENTS, OPT_MAX_EVENTS, OPT_MAX_RECONNECTS, OPT_LAST_EVENT_ID, OPT_RETRY, OPT_HEADER,
       OPT_CACERT, OPT_INSECURE };

static const rtwcat_option options[] = {
  [OPT_COMMENTS] = {"--comments", 0},
  [OPT_MAX_EVENTS] = {"--max-events", 1},
  [OPT_MAX_RECONNECTS] = {"--max-reconnects", 1},
  [OPT_LAST_EVENT_ID] = {"--last-event-id", 1},
  [OPT_RETRY] = {"--retry", 1},
  [OPT_HEADER] = {"--header", 1},
  [OPT_CACERT] = {"--cacert", 1},
  [OPT_INSECURE] = {"--insecure", 0},
  {NULL, 0},
};

static int set_option(const rtwcat_command *cmd, void *opts, int which, const char *v)
{
  ssec_options *o = opts;
  rtw_http_header h;
  int rc;

  switch (which) {
  case OPT_COMMENTS:
    o->comments = 1;
    break;
  case OPT_MAX_EVENTS:
    if (rtwcat_parse_u64(v, UINT64_MAX - 1, &o->max_events) != 0 || o->max_events == 0)
      return rtwcat_usage_error(cmd, "--max-events: '%s' is not a positive number", v);
    break;
  case OPT_MAX_RECONNECTS:
    if (rtwcat_parse_u64(v, UINT64_MAX - 1, &o->max_reconnects) != 0)
      return rtwcat_usage_error(cmd, "--max-reconnects: '%s' is not a number", v);
    break;
  case OPT_LAST_EVENT_ID:
    o->last_id = v;
    break;
  case OPT_RETRY:
    if (rtwcat_parse_u64(v, UINT32_MAX, &o->retry_ms) != 0 || o->retry_ms == 0)
      return rtwcat_usage_error(cmd, "--retry: '%s' is not a number of milliseconds", v);
    break;
  case OPT_CACERT:
    o->cacert = v;
    break;
  case OPT_INSECURE:
    o->insecure = 1;
    break;
  default:
    if ((rc = rtwcat_parse_header(cmd, v, &h)) >= 0)
      return rc;
    if (o->nheaders == MAX_HEADERS)
      return rtwcat_usage_error(cmd, "at most %d --header options", MAX_HEADERS);
    o->headers[o->nheaders++] = h;
    break;
  }
  return -1;
}

static const rtwcat_option_spec option_spec = {options, set_option, NULL};

/* ------------------------------------------------------------------ one attempt */

static int send_request(ssec *c, rtwcat_conn *io, rtw_sse_http_client *client)
{
  const void *req;
  size_t len;
  int rc;

  (void)rtw_sse_http_client_request(client, &req, &len);
  rc = rtwcat_conn_write_all(io, req, len, c->sigfd, UINT64_MAX);
  if (rc == -2)
    return OUT_SIGNAL;
  if (rc == -1)
    fprintf(stderr, "rtwcat: sending the request: %s\n", rtwcat_conn_strerror(io, errno));
  return rc != 0 ? OUT_RECONNECT : -1;
}

/* Map a response outcome to what happens next (WHATWG 9.2.2; docs/sse-http.md table). */
static int outcome(ssec *c, rtw_sse_http_client *client, int rv)
{
  const char *v;
  size_t n;

  switch (rv) {
  case RTW_SSE_HTTP_END:
    fprintf(stderr, "rtwcat: the server ended the stream\n");
    return OUT_RECONNECT;
  case RTW_SSE_HTTP_NO_CONTENT:
    fprintf(stderr, "rtwcat: the server answered 204 No Content: not reconnecting\n");
    return OUT_STOP;
  case RTW_SSE_HTTP_REDIRECT:
    (void)rtw_sse_http_client_location(client, &v, &n);
    if (n >= sizeof c->location) {
      fprintf(stderr, "rtwcat: redirect Location too long\n");
      return OUT_FAIL;
    }
    memcpy(c->location, v, n);
    c->location[n] = '\0';
    return OUT_REDIRECT;
  case RTW_ERR_HTTP_SSE_BAD_STATUS:
    fprintf(stderr, "rtwcat: the server answered HTTP %d, not 200: not reconnecting\n",
            rtw_sse_http_client_status(client));
    return OUT_FAIL;
  case RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE:
    if (rtw_sse_http_client_header(client, "Content-Type", 12, 0, &v, &n) != 1)
      v = "", n = 0;
    fprintf(stderr, "rtwcat: the response's Content-Type is '%.*s', not text/event-stream: "
                    "not reconnecting\n",
            (int)n, v);
    return OUT_FAIL;
  case RTW_ERR_SSE_TYPE_TOO_LONG:
  case RTW_ERR_SSE_EVENT_TOO_LARGE:
  case RTW_ERR_SSE_ID_TOO_LONG:
  case RTW_ERR_NOMEM:
  case RTW_ERR_INVALID_ARGUMENT:
  case RTW_ERR_CALLBACK_FAILURE:
    fprintf(stderr, "rtwcat: %s (%s)\n", rtw_strerror(rv), rtw_err_name(rv));
    return OUT_FAIL;
  default:
    /* malformed head, truncated body: a network-level failure, reconnect */
    fprintf(stderr, "rtwcat: connection failed: %s (%s)\n", rtw_strerror(rv), rtw_err_name(rv));
    return OUT_RECONNECT;
  }
}

/* Feed one read; returns -1 to keep reading, or an OUT_*. */
static int feed(ssec *c, rtw_sse_http_client *client, const unsigned char *in, size_t len)
{
  for (;;) {
    size_t nread;
    int rv = rtw_sse_http_client_recv(client, in, len, &nread);

    in += nread;
    len -= nread;
    if (c->done)
      return OUT_STOP;
    if (rv == RTW_SSE_HTTP_INCOMPLETE)
      return -1;
    if (rv != RTW_SSE_HTTP_DONE)
      return outcome(c, client, rv);
    (void)rtw_sse_reconnect_opened(c->reconnect, rtwcat_now_ms());
    if (len == 0)
      return -1;
  }
}

static int read_response(ssec *c, rtwcat_conn *io, rtw_sse_http_client *client)
{
  for (;;) {
    ssize_t n = rtwcat_conn_read(io, c->buf, sizeof c->buf);
    int r;

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      r = rtwcat_wait_fd(io->fd, POLLIN, c->sigfd, UINT64_MAX);
      if (r == -2)
        return OUT_SIGNAL;
      if (r < 0)
        return OUT_RECONNECT;
      continue;
    }
    if (n < 0) {
      fprintf(stderr, "rtwcat: reading: %s\n", rtwcat_conn_strerror(io, errno));
      (void)rtw_sse_http_client_end(client);
      return OUT_RECONNECT;
    }
    if (n == 0)
      return outcome(c, client, rtw_sse_http_client_end(client)); /* 9.2.2: end of body */
    r = feed(c, client, c->buf, (size_t)n);
    fflush(stdout);
    if (r >= 0)
      return r;
  }
}

/* A client for the next attempt. WHATWG 9.2.3: the request carries the last event ID, which
 * the parser keeps across connections. */
static int new_client(ssec *c, rtw_sse_http_client **client)
{
  rtw_sse_http_client_settings s = {RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION};
  const char *last;
  size_t last_len;

  (void)rtw_sse_parser_last_event_id(c->parser, &last, &last_len);
  s.host = c->url.host_header;
  s.host_len = strlen(c->url.host_header);
  s.path = c->url.target;
  s.path_len = strlen(c->url.target);
  s.last_event_id = last;
  s.last_event_id_len = last_len;
  s.headers = c->o.headers;
  s.num_headers = c->o.nheaders;
  return rtw_sse_http_client_new(client, &s, c->parser, NULL);
}

/* https:// (RFC 9110 4.2.2): the TLS handshake, verifying the URL's host. A certificate
 * that does not verify, or a TLS setup that cannot work, is not retried (OUT_FAIL); a
 * network failure during the handshake is (OUT_RECONNECT). Returns -1 to go on. */
static int start_tls(ssec *c, rtwcat_conn *io)
{
  int rc;

  if (!c->url.tls)
    return -1;
  if (c->tls == NULL && (c->tls = rtwcat_tls_client_config(c->o.cacert, c->o.insecure)) == NULL)
    return OUT_FAIL;
  if ((rc = rtwcat_conn_tls(io, c->tls, c->url.host)) != 0) {
    fprintf(stderr, "rtwcat: cannot start TLS: %s\n", rtw_strerror(rc));
    return OUT_FAIL;
  }
  /* a reconnect offers the last session (RFC 5077 ticket or session ID); a server that
   * does not take it runs a full handshake */
  if (c->session_len > 0)
    (void)rtw_tls_set_session(io->tls, c->session, c->session_len);
  rc = rtwcat_conn_handshake(io, c->url.host, c->sigfd, rtwcat_now_ms() + CONNECT_TIMEOUT_MS);
  if (rc == -2)
    return OUT_SIGNAL;
  if (rc == 0) {
    if (rtw_tls_resumed(io->tls))
      fprintf(stderr, "rtwcat: TLS session resumed\n");
    if (rtw_tls_session_save(io->tls, c->session, sizeof c->session, &c->session_len) != 0)
      c->session_len = 0;
    return -1;
  }
  switch (rtw_tls_error(io->tls)) {
  case RTW_ERR_TLS_VERIFY:
  case RTW_ERR_TLS_ALPN:
  case RTW_ERR_TLS_HANDSHAKE:
    return OUT_FAIL;
  default:
    return OUT_RECONNECT;
  }
}

static int attempt(ssec *c)
{
  rtw_sse_http_client *client = NULL;
  rtwcat_conn io;
  int rc;

  rtwcat_conn_init(&io, rtwcat_connect(c->url.host, c->url.port, CONNECT_TIMEOUT_MS, c->sigfd));
  if (io.fd == -2)
    return OUT_SIGNAL;
  if (io.fd < 0)
    return OUT_RECONNECT;
  if ((rc = start_tls(c, &io)) >= 0) {
    rtwcat_conn_close(&io);
    return rc;
  }
  (void)rtw_sse_parser_reset(c->parser, NULL, 0);
  if ((rc = new_client(c, &client)) != 0) {
    fprintf(stderr, "rtwcat: cannot build the request: %s%s\n", rtw_strerror(rc),
            rc == RTW_ERR_HTTP_INVALID_HEADER ? " (check --header)" : "");
    rtwcat_conn_close(&io);
    return OUT_FAIL;
  }
  rc = send_request(c, &io, client);
  if (rc < 0)
    rc = read_response(c, &io, client);
  rtw_sse_http_client_free(client);
  rtwcat_conn_close(&io); /* https://: close_notify first */
  return rc;
}

/* ------------------------------------------------------------------ reconnection loop */

/* Follow a redirect: an absolute http:// or https:// URL, or an absolute path on the same
 * server (same scheme). */
static int follow(ssec *c)
{
  char err[512], tmp[4096];
  const char *target = c->location;

  if (c->location[0] == '/') {
    snprintf(tmp, sizeof tmp, "%s://%s%s", c->url.tls ? "https" : "http", c->url.host_header,
             c->location);
    target = tmp;
  }
  if (rtwcat_url_parse(target, &c->url, err, sizeof err) != 0 || c->url.websocket) {
    fprintf(stderr, "rtwcat: cannot follow the redirect to '%s'%s%s\n", c->location,
            c->url.websocket ? "" : ": ", c->url.websocket ? "" : err);
    return -1;
  }
  fprintf(stderr, "rtwcat: redirected to %s\n", target);
  c->session_len = 0; /* a TLS session belongs to the server it came from */
  return 0;
}

/* Sleep until the next attempt; returns 0, or -2 when a signal arrived. */
static int wait_retry(ssec *c, uint64_t ms)
{
  uint64_t end = rtwcat_now_ms() + ms;

  for (;;) {
    struct pollfd p = {c->sigfd, POLLIN, 0};
    uint64_t now = rtwcat_now_ms();
    int r;

    if (now >= end)
      return 0;
    r = poll(&p, 1, (int)(end - now > 60000 ? 60000 : end - now));
    if (r > 0)
      return -2;
  }
}

static int run(ssec *c)
{
  uint64_t reconnects = 0;
  int redirects = 0;

  for (;;) {
    uint64_t wait_ms = 0, now;
    int out = attempt(c);

    fflush(stdout);
    switch (out) {
    case OUT_STOP:
    case OUT_SIGNAL:
      return RTWCAT_EXIT_OK;
    case OUT_FAIL:
      return RTWCAT_EXIT_FAILURE;
    case OUT_REDIRECT:
      if (++redirects > MAX_REDIRECTS) {
        fprintf(stderr, "rtwcat: too many redirects\n");
        return RTWCAT_EXIT_FAILURE;
      }
      if (follow(c) != 0)
        return RTWCAT_EXIT_FAILURE;
      continue;
    default:
      break;
    }
    redirects = 0;
    if (reconnects >= c->o.max_reconnects) {
      fprintf(stderr, "rtwcat: giving up after %" PRIu64 " reconnect%s (--max-reconnects)\n",
              reconnects, reconnects == 1 ? "" : "s");
      return RTWCAT_EXIT_FAILURE;
    }
    now = rtwcat_now_ms();
    if (rtw_sse_reconnect_closed(c->reconnect, now) != 0 ||
        rtw_sse_reconnect_next_attempt_ms(c->reconnect, now, &wait_ms) != 0) {
      fprintf(stderr, "rtwcat: cannot schedule a reconnect\n");
      return RTWCAT_EXIT_FAILURE;
    }
    fprintf(stderr, "rtwcat: reconnecting in %" PRIu64 " ms\n", wait_ms);
    if (wait_retry(c, wait_ms) != 0)
      return RTWCAT_EXIT_OK;
    reconnects++;
  }
}

int rtwcat_client_sse(const rtwcat_command *cmd, int argc, char **argv)
{
  rtw_sse_callbacks cb = {RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_reconnect_settings rs = {RTW_SSE_RECONNECT_SETTINGS_VERSION};
  ssec *c = calloc(1, sizeof *c);
  int rc;

  if (c == NULL) {
    fprintf(stderr, "rtwcat: out of memory\n");
    return RTWCAT_EXIT_FAILURE;
  }
  c->sigfd = -1;
  c->o.max_reconnects = UINT64_MAX;
  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &c->o, &c->o.url)) >= 0 ||
      (rc = rtwcat_url_arg(cmd, c->o.url, 0, &c->url)) >= 0)
    goto done;
  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (c->o.comments)
    cb.on_comment = on_comment;
  rs.retry_ms = (uint32_t)c->o.retry_ms;
  rc = RTWCAT_EXIT_FAILURE;
  if (rtw_sse_parser_new(&c->parser, &cb, NULL, NULL, c) != 0 ||
      rtw_sse_reconnect_new(&c->reconnect, &rs, NULL) != 0) {
    fprintf(stderr, "rtwcat: out of memory\n");
    goto done;
  }
  if (c->o.last_id != NULL &&
      (rc = rtw_sse_parser_reset(c->parser, c->o.last_id, strlen(c->o.last_id))) != 0) {
    rc = rtwcat_usage_error(cmd, "--last-event-id: %s",
                            rc == RTW_ERR_SSE_ID_TOO_LONG ? "longer than 1024 bytes"
                                                          : "must not contain CR, LF or NUL");
    goto done;
  }
  {
    /* check the request (headers, URL) once before connecting: a usage error */
    rtw_sse_http_client *probe = NULL;
    if ((rc = new_client(c, &probe)) != 0) {
      rc = rtwcat_usage_error(cmd, "cannot build the request: %s%s", rtw_strerror(rc),
                              rc == RTW_ERR_HTTP_INVALID_HEADER ? " (check --header)" : "");
      goto done;
    }
    rtw_sse_http_client_free(probe);
  }
  rc = RTWCAT_EXIT_FAILURE;
  if ((c->sigfd = rtwcat_signals_open()) < 0)
    goto done;
  rc = run(c);
done:
  fflush(stdout);
  if (c->sigfd >= 0)
    close(c->sigfd);
  rtw_sse_parser_free(c->parser);
  rtw_sse_reconnect_free(c->reconnect);
  rtw_tls_config_free(c->tls);
  memset(c->session, 0, sizeof c->session); /* key material */
  free(c);
  return rc;
}
