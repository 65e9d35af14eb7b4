/* SPDX-License-Identifier: MIT */
/* In-memory TLS harness (see tlst.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlst.h"

/* Most rounds of tlst_pump() / recv calls of tlst_feed(): far above any test's need, so a
 * stuck engine fails the test instead of hanging it. */
#define MAX_ROUNDS 100000

void tlst_append(unsigned char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
  if (n == 0)
    return;
  if (*cap - *len < n) {
    size_t c = *cap ? *cap : 4096;
    while (c - *len < n)
      c *= 2;
    *buf = realloc(*buf, c);
    assert_non_null(*buf);
    *cap = c;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
}

rtw_tls_config *tlst_server_config(uint32_t flags, const tlst_pem *cert, const rtw_mem *mem)
{
  rtw_tls_config_settings s = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *cfg = NULL;

  if (cert == NULL)
    cert = &tlst_certs_get(0)->localhost;
  s.flags = flags;
  assert_int_equal(rtw_tls_config_new(&cfg, RTW_TLS_ROLE_SERVER, &s, mem), 0);
  assert_int_equal(rtw_tls_config_add_cert(cfg, cert->cert, cert->cert_len, cert->key,
                                           cert->key_len), 0);
  return cfg;
}

rtw_tls_config *tlst_client_config(uint32_t flags, const rtw_mem *mem)
{
  rtw_tls_config_settings s = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *cfg = NULL;
  const tlst_certs *c = tlst_certs_get(0);

  s.flags = flags;
  assert_int_equal(rtw_tls_config_new(&cfg, RTW_TLS_ROLE_CLIENT, &s, mem), 0);
  assert_int_equal(rtw_tls_config_set_ca(cfg, c->ca.cert, c->ca.cert_len), 0);
  return cfg;
}

void tlst_end_init(tlst_end *e, const char *name)
{
  memset(e, 0, sizeof *e);
  e->name = name;
}

static int on_data(rtw_tls *tls, const void *data, size_t len, size_t *used, void *ud)
{
  tlst_end *e = ud;
  size_t take = len;

  assert_ptr_equal(tls, e->tls);
  e->data_calls++;
  if (e->on_data != NULL)
    return e->on_data(e, data, len, used);
  if (e->take_max != 0 && take > e->take_max)
    take = e->take_max;
  tlst_append(&e->rx, &e->rx_len, &e->rx_cap, data, take);
  *used = take;
  return e->pause ? RTW_ERR_PAUSE : 0;
}

static int on_handshake(rtw_tls *tls, void *ud)
{
  tlst_end *e = ud;

  assert_ptr_equal(tls, e->tls);
  e->handshakes++;
  if (e->hello != NULL) {
    size_t took = 0;
    e->hello_err = rtw_tls_write(tls, e->hello, strlen(e->hello), &took);
    if (e->hello_err == 0)
      assert_int_equal(took, strlen(e->hello));
  }
  if (e->close_after_hello && e->hello_err == 0)
    e->hello_err = rtw_tls_close(tls);
  return e->hs_result;
}

int tlst_end_open(tlst_end *e, rtw_tls_config *cfg, const char *server_name, int pull,
                  const rtw_mem *mem)
{
  rtw_tls_callbacks cb = {.version = RTW_TLS_CALLBACKS_VERSION};

  e->pull = pull;
  cb.on_data = pull ? NULL : on_data;
  cb.on_handshake = on_handshake;
  return rtw_tls_new(&e->tls, cfg, server_name, &cb, mem, e);
}

void tlst_end_close(tlst_end *e)
{
  rtw_tls_free(e->tls);
  e->tls = NULL;
  free(e->wire);
  free(e->rx);
  free(e->stream);
  e->wire = e->rx = e->stream = NULL;
  e->wire_len = e->wire_cap = e->rx_len = e->rx_cap = e->stream_len = e->stream_cap = 0;
}

size_t tlst_flush(tlst_end *from, tlst_end *to)
{
  size_t moved = 0;

  for (;;) {
    const void *p = NULL;
    size_t n = 0;
    if (rtw_tls_send_pending(from->tls, &p, &n) != 0 || n == 0)
      break;
    tlst_append(&to->wire, &to->wire_len, &to->wire_cap, p, n);
    if (to->keep_stream)
      tlst_append(&to->stream, &to->stream_len, &to->stream_cap, p, n);
    assert_int_equal(rtw_tls_send_consumed(from->tls, n), 0);
    from->sent += n;
    moved += n;
  }
  return moved;
}

static void consume(tlst_end *e, size_t n)
{
  memmove(e->wire, e->wire + n, e->wire_len - n);
  e->wire_len -= n;
  e->received += n;
}

/* The next piece to deliver: all of the wire, one byte, or up to the cut. */
static size_t piece(const tlst_end *e)
{
  size_t n = e->wire_len;

  if (e->byte_by_byte && n > 1)
    n = 1;
  if (e->cut_at > e->received && e->cut_at - e->received < n)
    n = e->cut_at - e->received;
  return n;
}

int tlst_feed(tlst_end *e)
{
  static const unsigned char none[1] = {0};
  int rv = 0, rounds = 0;

  while (e->err == 0 && (e->wire_len > 0 || rv == RTW_ERR_PAUSE)) {
    size_t n = piece(e), used = (size_t)-1;
    rv = rtw_tls_recv(e->tls, n > 0 ? (const void *)e->wire : none, n, &used);
    assert_true(used <= n);
    consume(e, used);
    if (rv < 0 && rv != RTW_ERR_PAUSE) {
      e->err = rv;
      break;
    }
    if (rv == 0 && used < n) {
      /* only in pull mode, where plaintext waits for rtw_tls_read_pending() (tls.h) */
      assert_true(e->pull);
      break;
    }
    assert_true(++rounds < MAX_ROUNDS);
  }
  return e->err != 0 ? e->err : rv;
}

int tlst_pump(tlst_end *c, tlst_end *s)
{
  int rounds;

  for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
    size_t before = c->received + s->received;
    size_t moved = tlst_flush(c, s) + tlst_flush(s, c);
    (void)tlst_feed(s);
    (void)tlst_feed(c);
    if (moved == 0 && c->received + s->received == before)
      return c->err != 0 ? c->err : s->err;
  }
  fail_msg("tlst_pump: no end to the exchange");
  return -1;
}

void tlst_connect(tlst_end *c, tlst_end *s, rtw_tls_config *ccfg, rtw_tls_config *scfg,
                  const char *name)
{
  assert_int_equal(tlst_end_open(c, ccfg, name, 0, NULL), 0);
  assert_int_equal(tlst_end_open(s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(tlst_pump(c, s), 0);
  assert_true((rtw_tls_state(c->tls) & RTW_TLS_STATE_HANDSHAKE_DONE) != 0);
  assert_true((rtw_tls_state(s->tls) & RTW_TLS_STATE_HANDSHAKE_DONE) != 0);
  assert_int_equal(c->handshakes, 1);
  assert_int_equal(s->handshakes, 1);
  assert_int_equal(c->hello_err, 0);
  assert_int_equal(s->hello_err, 0);
}

void tlst_write_all(tlst_end *e, const void *data, size_t len)
{
  size_t took = 0;

  assert_int_equal(rtw_tls_write(e->tls, data, len, &took), 0);
  assert_int_equal(took, len);
}
