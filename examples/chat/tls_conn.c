/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: https and wss (--tls-cert, --tls-key). The one place where a connection's
 * bytes go through rtw_tls (rtweb-tls, docs/tls.md); everything above it (the HTTP
 * routing, the feed, the chat sockets) is the same as over plain TCP:
 *
 *   socket --recv--> tls_conn_input: rtw_tls_recv --on_data--> conn_input (HTTP, SSE, WS)
 *   c->out, session frames --tls_conn_flush: rtw_tls_write(v)--> ciphertext --> socket
 *
 * Input is read only while the layer above takes it: a chat session that pauses leaves
 * its unread plaintext in c->in (at most one TLS record, 16 KiB: IN_LIMIT); the records
 * after it stay inside rtw_tls (on_data answers RTW_ERR_PAUSE) and the ciphertext not yet
 * consumed in c->tls_in (at most one read), and the socket is not read until settle()
 * redelivers them (tls_conn_resume). The ciphertext waiting for the socket is bounded by
 * the TLS max_outbound (256 KiB); the handshake by its timeout (10 s, rtw_tls_tick in
 * run_timers) besides REQUEST_TIMEOUT_MS.
 */
#include "server.h"

#include <stdio.h>
#include <string.h>

/* 1 when the layer above takes input now: over plain TCP the socket is read only then. A
 * chat socket closed for its policy takes (and drops) everything. */
static int upper_takes(const conn *c)
{
  return c->kind != CONN_WS || c->policy_closed || chat_conn_reading(c);
}

/* Decrypted bytes: to the connection's current state, as they would come from a socket. */
static int on_plaintext(rtw_tls *tls, const void *data, size_t len, size_t *used, void *user)
{
  conn *c = user;
  (void)tls;
  if (!upper_takes(c)) {
    *used = 0; /* the session paused (on an earlier record): rtw_tls keeps this one */
    return RTW_ERR_PAUSE;
  }
  conn_input(c, data, len);
  *used = len;
  return 0;
}

int tls_conn_start(conn *c, rtw_tls_config *cfg)
{
  rtw_tls_callbacks cb = {.version = RTW_TLS_CALLBACKS_VERSION};
  cb.on_data = on_plaintext;
  return rtw_tls_new(&c->tls, cfg, NULL, &cb, NULL, c) == 0 ? 0 : -1;
}

/* Write the ciphertext that waits: 0 when all went, 1 when the socket is full, -1. */
static int send_ciphertext(conn *c)
{
  while (rtw_tls_want_write(c->tls)) {
    const void *p;
    size_t n, sent;
    int rv;
    if (rtw_tls_send_pending(c->tls, &p, &n) != 0)
      return -1;
    if (n == 0)
      return 0;
    rv = conn_send(c, p, n, &sent);
    rtw_tls_send_consumed(c->tls, sent);
    if (rv != 0)
      return rv;
  }
  return 0;
}

/* A fatal TLS error: log mbedTLS's reason, send what waits (an alert) and drop. */
static void tls_failed(conn *c, int rv)
{
  char why[160];
  if (rtw_tls_error_text(c->tls, why, sizeof why) == 0)
    snprintf(why, sizeof why, "%s", rtw_strerror(rv));
  (void)send_ciphertext(c);
  conn_kill(c, why);
}

void tls_conn_input(conn *c, const char *p, size_t n)
{
  size_t nread = 0;
  int rv = rtw_tls_recv(c->tls, p, n, &nread);

  if (rv == RTW_ERR_PAUSE) { /* keep the ciphertext it did not get to */
    c->tls_paused = 1;
    if (nread < n && chat_buf_append(&c->tls_in, p + nread, n - nread, IN_LIMIT) != 0)
      conn_kill(c, "out of memory");
  } else if (rv != 0) {
    tls_failed(c, rv);
  }
}

void tls_conn_resume(conn *c)
{
  chat_buf held = c->tls_in;

  if (c->dead || !upper_takes(c))
    return; /* the session does not read yet */
  memset(&c->tls_in, 0, sizeof c->tls_in);
  c->tls_paused = 0;
  /* first what rtw_tls kept (also with no ciphertext held), then the ciphertext */
  tls_conn_input(c, held.data != NULL ? held.data + held.off : "", chat_buf_size(&held));
  chat_buf_free(&held);
}

/* Plaintext into TLS: c->out first, then the session's frames. 1 when some was taken. */
static int encrypt_some(conn *c)
{
  size_t took = 0, all = 0, cnt;
  rtw_iovec iov[16];
  int rv = 0;

  if (chat_buf_size(&c->out) > 0) {
    rv = rtw_tls_write(c->tls, c->out.data + c->out.off, chat_buf_size(&c->out), &took);
    chat_buf_consume(&c->out, took);
    all += took;
  }
  while (rv == 0 && chat_buf_size(&c->out) == 0 && c->ws != NULL &&
         rtw_ws_send_pending_iov(c->ws, iov, 16, &cnt) == 0 && cnt > 0) {
    rv = rtw_tls_writev(c->tls, iov, cnt, &took);
    rtw_ws_send_consumed(c->ws, took);
    all += took;
    if (took == 0)
      break; /* max_outbound: the socket must drain first */
  }
  if (rv != 0) /* a TLS error, or the peer's close_notify came: nothing more can go */
    conn_kill(c, rv == RTW_ERR_INVALID_STATE ? NULL : rtw_strerror(rv));
  return all > 0;
}

int tls_conn_flush(conn *c)
{
  int rv;
  do {
    rv = send_ciphertext(c);
  } while (rv == 0 && !c->dead && encrypt_some(c));
  if (rv < 0 || c->dead)
    return -1;
  return rv != 0 || chat_buf_size(&c->out) > 0 || (c->ws != NULL && rtw_ws_want_write(c->ws));
}

int tls_conn_close(conn *c)
{
  if (rtw_tls_close(c->tls) != 0)
    return -1;
  return send_ciphertext(c);
}

int tls_conn_has_output(const conn *c)
{
  return c->tls != NULL && rtw_tls_want_write(c->tls);
}
