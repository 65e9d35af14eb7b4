/* SPDX-License-Identifier: MIT */
/* The TLS engine (rtweb/tls.h) in memory: a client rtw_tls against a server rtw_tls joined
 * by buffers (tlst.c). Handshake and data, every split of the record stream, pause and pull
 * delivery, the output budget, writev packing, close_notify, tickets and resumption,
 * certificate verification (RFC 5280 / RFC 6125 name checks through mbedTLS), ALPN
 * (RFC 7301), SNI (RFC 6066 3), bad input, the handshake timer, configuration and argument
 * errors, re-entrancy, reference counting and the allocator hooks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlst.h"
#include "gcm.h" /* rtw__gcm_test_mode() */
#include "tls_internal.h" /* rtw__tls_backend(), for the seam's test hook */

#include "mbedtls/x509.h"
#include "mbedtls/x509_crt.h"

/* ====================================================================== helpers */

static int has(const void *hay, size_t hay_len, const void *needle, size_t len)
{
  size_t i;

  for (i = 0; len > 0 && i + len <= hay_len; i++)
    if (memcmp((const char *)hay + i, needle, len) == 0)
      return 1;
  return 0;
}

/* mbedTLS 3.x built with TLS 1.3 negotiates it with itself: the protocol string says so, the
 * Certificate message is encrypted (RFC 8446 4.4.2) and a record carries at most 2^14 - 1
 * bytes of data (mbedTLS keeps one for the inner content type, 5.2). 2.28 speaks only 1.2. */
static int tls13(const rtw_tls *t)
{
  return strcmp(rtw_tls_protocol(t), "TLSv1.3") == 0;
}

static const char *expected_protocol(void)
{
  return strncmp(rtw_tls_backend_version(), "Mbed TLS 2.", 11) == 0 ||
                 strncmp(rtw_tls_backend_version(), "mbed TLS 2.", 11) == 0
             ? "TLSv1.2"
             : NULL;
}

/* The DER of a PEM certificate (to look for it on the wire: TLS 1.2 sends the Certificate
 * message in clear, RFC 5246 7.4.2). */
static void cert_der(const tlst_pem *p, unsigned char *der, size_t cap, size_t *len)
{
  mbedtls_x509_crt crt;

  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)p->cert,
                                          p->cert_len + 1), 0);
  assert_true(crt.raw.len <= cap);
  memcpy(der, crt.raw.p, crt.raw.len);
  *len = crt.raw.len;
  mbedtls_x509_crt_free(&crt);
}

static void expect_rx(const tlst_end *e, const char *text)
{
  assert_int_equal(e->rx_len, strlen(text));
  assert_memory_equal(e->rx, text, e->rx_len);
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
  size_t i;

  for (i = 0; i < n; i++)
    p[i] = (unsigned char)((i * 131u + seed) ^ (i >> 8));
}

/* ====================================================================== handshake, data */

/* Before its handshake completes a connection takes no plaintext; a client's first recv
 * builds its hello (as send_pending and tick do). */
static void before_the_handshake(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static const unsigned char none[1];
  size_t took = 1, used = 1;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_want_write(c.tls), 1);
  assert_int_equal(rtw_tls_outbound_size(c.tls), 0);
  assert_int_equal(rtw_tls_write(c.tls, "early", 5, &took), 0);
  assert_int_equal(took, 0);
  assert_int_equal(rtw_tls_recv(c.tls, none, 0, &used), 0);
  assert_int_equal(used, 0);
  assert_true(rtw_tls_outbound_size(c.tls) > 0); /* the ClientHello */
  assert_int_equal(rtw_tls_want_write(s.tls), 0); /* a server waits for the client */
  took = 1;
  assert_int_equal(rtw_tls_write(s.tls, "early", 5, &took), 0);
  assert_int_equal(took, 0);
  /* halfway: the server answered, the client has not finished */
  tlst_flush(&c, &s);
  assert_int_equal(tlst_feed(&s), 0);
  assert_int_equal(rtw_tls_want_write(s.tls), 1);
  took = 1;
  assert_int_equal(rtw_tls_write(s.tls, "early", 5, &took), 0);
  assert_int_equal(took, 0);
  assert_int_equal(rtw_tls_state(s.tls), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  tlst_write_all(&s, "late", 4);
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&c, "late");
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* on_handshake failing fails the connection; on_data failing does not (tls.h). */
static int fail_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  (void)e;
  (void)data;
  *used = len > 2 ? 2 : len;
  return RTW_ERR_HTTP_MALFORMED; /* what a layer above may return */
}

static void callback_failures(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  size_t used = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  s.hs_result = -1;
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  (void)tlst_pump(&c, &s);
  assert_int_equal(s.handshakes, 1);
  assert_int_equal(s.err, RTW_ERR_CALLBACK_FAILURE);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_CALLBACK_FAILURE);
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_FAILED) != 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  s.on_data = fail_data;
  tlst_write_all(&c, "abcdef", 6);
  tlst_flush(&c, &s);
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), RTW_ERR_HTTP_MALFORMED);
  /* not a TLS failure: the rest is kept, the connection can still answer and close */
  assert_int_equal(rtw_tls_error(s.tls), 0);
  assert_int_equal(rtw_tls_state(s.tls) & RTW_TLS_STATE_FAILED, 0);
  s.wire_len = 0;
  s.on_data = NULL;
  {
    static const unsigned char none[1];
    assert_int_equal(rtw_tls_recv(s.tls, none, 0, &used), 0);
  }
  expect_rx(&s, "cdef");
  tlst_write_all(&s, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
  assert_int_equal(rtw_tls_close(s.tls), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&c, "HTTP/1.1 400 Bad Request\r\n\r\n");
  assert_true((rtw_tls_state(c.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

static void handshake_and_data(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  const char *proto = NULL;
  size_t proto_len = 0, sent_before;
  static unsigned char big[100000];

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");

  assert_int_equal(rtw_tls_alpn(c.tls, &proto, &proto_len), 0);
  assert_int_equal(proto_len, 8);
  assert_memory_equal(proto, "http/1.1", 8);
  assert_int_equal(rtw_tls_alpn(s.tls, &proto, &proto_len), 0);
  assert_int_equal(proto_len, 8);
  assert_memory_equal(proto, "http/1.1", 8);
  if (expected_protocol() != NULL)
    assert_string_equal(rtw_tls_protocol(c.tls), expected_protocol());
  else
    assert_true(strcmp(rtw_tls_protocol(c.tls), "TLSv1.2") == 0 || tls13(c.tls));
  assert_string_equal(rtw_tls_protocol(s.tls), rtw_tls_protocol(c.tls));
  assert_true(strlen(rtw_tls_ciphersuite(c.tls)) > 0);
  assert_string_equal(rtw_tls_ciphersuite(c.tls), rtw_tls_ciphersuite(s.tls));
  assert_string_equal(rtw_tls_server_name(c.tls), "localhost");
  assert_string_equal(rtw_tls_server_name(s.tls), "localhost");
  assert_int_equal(rtw_tls_cert_index(s.tls), 0);
  assert_int_equal(rtw_tls_cert_index(c.tls), -1);
  assert_int_equal(rtw_tls_resumed(c.tls), 0);
  assert_int_equal(rtw_tls_resumed(s.tls), 0);
  assert_int_equal(rtw_tls_verify_result(c.tls), 0);
  assert_int_equal(rtw_tls_error(c.tls), 0);
  assert_int_equal(rtw_tls_next_deadline(c.tls), UINT64_MAX);
  assert_int_equal(rtw_tls_want_read(c.tls), 1);
  assert_int_equal(rtw_tls_want_write(c.tls), 0);
  assert_int_equal(rtw_tls_want_write(s.tls), 0);
  assert_int_equal(rtw_tls_state(c.tls), RTW_TLS_STATE_HANDSHAKE_DONE);
  assert_true(strlen(rtw_tls_backend_version()) > 0);

  tlst_write_all(&c, "ping", 4);
  assert_int_equal(rtw_tls_want_write(c.tls), 1);
  tlst_write_all(&s, "pong", 4);
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&s, "ping");
  expect_rx(&c, "pong");

  /* many records each way, content intact */
  pattern(big, sizeof big, 7);
  sent_before = c.sent;
  tlst_write_all(&c, big, sizeof big);
  tlst_write_all(&s, big, sizeof big);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(s.rx_len, 4 + sizeof big);
  assert_memory_equal(s.rx + 4, big, sizeof big);
  assert_int_equal(c.rx_len, 4 + sizeof big);
  assert_memory_equal(c.rx + 4, big, sizeof big);
  /* full records: 7 for 100000 bytes, each with its framing (about 29 bytes in AES-GCM) */
  assert_true(c.sent - sent_before > sizeof big);
  assert_true(c.sent - sent_before <= sizeof big + 7 * 64);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The RSA leaf serves too (an ECDHE-RSA suite). */
static void rsa_certificate(void **state)
{
  const tlst_certs *certs = tlst_certs_get(TLST_CERTS_RSA);
  rtw_tls_config *scfg = tlst_server_config(0, &certs->rsa, NULL);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  if (!tls13(c.tls)) /* TLS 1.3 suites do not name the signature algorithm */
    assert_non_null(strstr(rtw_tls_ciphersuite(c.tls), "RSA"));
  tlst_write_all(&s, "rsa", 3);
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&c, "rsa");
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== splits */

/* One resumed connection whose client-to-server (or server-to-client) stream is cut at
 * `cut` (0: not cut; SIZE_MAX: byte by byte). Both ends write a greeting from on_handshake
 * and the client closes right after its own, so the client's last flight is CCS, Finished,
 * application data and close_notify in one go. Logs what both ends saw. */
typedef struct sweep {
  rtw_tls_config *ccfg, *scfg;
  unsigned char session[4096];
  size_t session_len;
  int to_client; /* cut the server's stream instead */
} sweep;

static size_t split_run(sweep *w, size_t cut, rtwt_log *log)
{
  tlst_end c, s;
  tlst_end *cut_end;
  int rv;

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  cut_end = w->to_client ? &c : &s;
  if (cut == SIZE_MAX)
    cut_end->byte_by_byte = 1;
  else if (cut == SIZE_MAX - 1) { /* both sinks take one byte per call and pause */
    c.take_max = s.take_max = 1;
    c.pause = s.pause = 1;
  } else
    cut_end->cut_at = cut;
  c.hello = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  c.close_after_hello = 1;
  s.hello = "HTTP/1.1 204 No Content\r\n\r\n";
  assert_int_equal(tlst_end_open(&c, w->ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, w->scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_set_session(c.tls, w->session, w->session_len), 0);
  rv = tlst_pump(&c, &s);
  rtwt_log_printf(log, "rv=%d c:hs=%d resumed=%d state=%x err=%d rx=", rv, c.handshakes,
                  rtw_tls_resumed(c.tls), (unsigned)rtw_tls_state(c.tls), c.err);
  rtwt_log_bytes(log, c.rx, c.rx_len);
  rtwt_log_printf(log, " s:hs=%d resumed=%d state=%x err=%d rx=", s.handshakes,
                  rtw_tls_resumed(s.tls), (unsigned)rtw_tls_state(s.tls), s.err);
  rtwt_log_bytes(log, s.rx, s.rx_len);
  rtwt_log_printf(log, " eof=%d/%d hello=%d/%d", rtw_tls_eof(c.tls), rtw_tls_eof(s.tls),
                  c.hello_err, s.hello_err);
  tlst_end_close(&c);
  tlst_end_close(&s);
  return w->to_client ? c.received : s.received;
}

static void sweep_setup(sweep *w)
{
  tlst_end c, s;

  w->scfg = tlst_server_config(0, NULL, NULL);
  w->ccfg = tlst_client_config(0, NULL);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, w->ccfg, w->scfg, "localhost");
  assert_int_equal(rtw_tls_session_save(c.tls, w->session, sizeof w->session, &w->session_len),
                   0);
  tlst_end_close(&c);
  tlst_end_close(&s);
}

static void split_sweep(int to_client)
{
  sweep w;
  rtwt_log ref, got;
  size_t total, cut;

  memset(&w, 0, sizeof w);
  w.to_client = to_client;
  sweep_setup(&w);
  rtwt_log_init(&ref);
  rtwt_log_init(&got);
  total = split_run(&w, 0, &ref);
  /* the reference: resumed on both sides, both greetings through, closed cleanly */
  assert_non_null(strstr(ref.buf, "rv=0 c:hs=1 resumed=1 state=7 err=0 "
                                  "rx=HTTP/1.1 204 No Content\\r\\n\\r\\n s:hs=1 resumed=1"));
  assert_non_null(strstr(ref.buf, "rx=GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n eof=0/0 hello=0/0"));
  assert_true(total > 100);
  for (cut = 1; cut <= total; cut++) {
    rtwt_log_clear(&got);
    assert_int_equal(split_run(&w, cut, &got), total);
    if (strcmp(ref.buf, got.buf) != 0)
      fail_msg("cut at %zu of %zu:\n  whole: %s\n  split: %s", cut, total, ref.buf, got.buf);
  }
  rtwt_log_clear(&got);
  assert_int_equal(split_run(&w, SIZE_MAX, &got), total);
  assert_string_equal(ref.buf, got.buf);
  rtwt_log_clear(&got);
  assert_int_equal(split_run(&w, SIZE_MAX - 1, &got), total);
  assert_string_equal(ref.buf, got.buf);
  rtwt_log_free(&ref);
  rtwt_log_free(&got);
  rtw_tls_config_free(w.ccfg);
  rtw_tls_config_free(w.scfg);
}

static void split_client_stream(void **state)
{
  (void)state;
  split_sweep(0);
}

static void split_server_stream(void **state)
{
  (void)state;
  split_sweep(1);
}

/* A full handshake (certificate, key exchange) byte by byte in both directions. */
static void full_handshake_byte_by_byte(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  c.byte_by_byte = s.byte_by_byte = 1;
  c.hello = "client says hi";
  s.hello = "server says hi";
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  expect_rx(&c, "server says hi");
  expect_rx(&s, "client says hi");
  assert_int_equal(c.received, s.sent);
  assert_int_equal(s.received, c.sent);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== delivery */

/* on_data returning RTW_ERR_PAUSE keeps the rest; recv with len 0 delivers it. */
static void pause_in_on_data(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  size_t used = 0, wire;
  int rv, calls = 0;
  static const unsigned char none[1];

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  s.take_max = 3;
  s.pause = 1;
  tlst_write_all(&c, "abcdefghij", 10);
  tlst_write_all(&c, "KLMNO", 5); /* a second record */
  wire = tlst_flush(&c, &s);
  rv = rtw_tls_recv(s.tls, s.wire, s.wire_len, &used);
  assert_int_equal(rv, RTW_ERR_PAUSE);
  expect_rx(&s, "abc");
  assert_int_equal(rtw_tls_inbound_size(s.tls), 7); /* "defghij" kept */
  assert_true(used <= wire);
  memmove(s.wire, s.wire + used, s.wire_len - used);
  s.wire_len -= used;
  /* redelivery with no input, three bytes at a time */
  while ((rv = rtw_tls_recv(s.tls, none, 0, &used)) == RTW_ERR_PAUSE) {
    assert_int_equal(used, 0);
    assert_true(++calls < 10);
  }
  assert_int_equal(rv, 0);
  assert_int_equal(used, 0);
  assert_int_equal(rtw_tls_inbound_size(s.tls), 0);
  assert_true(s.rx_len >= 10);
  assert_memory_equal(s.rx, "abcdefghij", 10);
  /* then the rest of the input */
  s.pause = 0;
  s.take_max = 0;
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&s, "abcdefghijKLMNO");
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* Without on_data: rtw_tls_read_pending() / _consumed(); recv stops while plaintext waits. */
static void pull_mode(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char msg[20000], got[20000];
  size_t got_len = 0, used = 0, record;
  const void *p;
  size_t n;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 1, NULL), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(s.handshakes, 1);
  assert_int_equal(rtw_tls_read_pending(s.tls, &p, &n), 0);
  assert_int_equal(n, 0);

  pattern(msg, sizeof msg, 3);
  tlst_write_all(&c, msg, sizeof msg); /* two records: 16384 + 3616 */
  tlst_flush(&c, &s);
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), 0);
  assert_true(used < s.wire_len); /* stopped after the first record */
  memmove(s.wire, s.wire + used, s.wire_len - used);
  s.wire_len -= used;
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  assert_int_equal(rtw_tls_read_pending(s.tls, &p, &n), 0);
  record = tls13(s.tls) ? RTW_TLS_MAX_RECORD_PLAINTEXT - 1 : RTW_TLS_MAX_RECORD_PLAINTEXT;
  assert_int_equal(n, record);
  assert_int_equal(rtw_tls_inbound_size(s.tls), n);
  /* while plaintext waits, recv takes nothing */
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), 0);
  assert_int_equal(used, 0);
  assert_int_equal(rtw_tls_read_consumed(s.tls, n + 1), RTW_ERR_INVALID_ARGUMENT);
  memcpy(got, p, 100);
  assert_int_equal(rtw_tls_read_consumed(s.tls, 100), 0);
  got_len = 100;
  assert_int_equal(rtw_tls_read_pending(s.tls, &p, &n), 0);
  assert_int_equal(n, record - 100);
  memcpy(got + got_len, p, n);
  got_len += n;
  assert_int_equal(rtw_tls_read_consumed(s.tls, n), 0);
  assert_int_equal(rtw_tls_want_read(s.tls), 1);
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), 0);
  assert_int_equal(used, s.wire_len);
  s.wire_len = 0;
  assert_int_equal(rtw_tls_read_pending(s.tls, &p, &n), 0);
  assert_int_equal(n, sizeof msg - got_len);
  memcpy(got + got_len, p, n);
  assert_int_equal(rtw_tls_read_consumed(s.tls, n), 0);
  assert_memory_equal(got, msg, sizeof msg);

  /* data then close_notify in one input: the data waits, the alert after it is read next */
  tlst_write_all(&c, "tail", 4);
  assert_int_equal(rtw_tls_close(c.tls), 0);
  tlst_flush(&c, &s);
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), 0);
  assert_true(used < s.wire_len);
  memmove(s.wire, s.wire + used, s.wire_len - used);
  s.wire_len -= used;
  assert_int_equal(rtw_tls_state(s.tls) & RTW_TLS_STATE_PEER_CLOSED, 0);
  assert_int_equal(rtw_tls_read_pending(s.tls, &p, &n), 0);
  assert_int_equal(n, 4);
  assert_memory_equal(p, "tail", 4);
  assert_int_equal(rtw_tls_read_consumed(s.tls, 4), 0);
  assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), 0);
  assert_int_equal(used, s.wire_len);
  s.wire_len = 0;
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  assert_int_equal(rtw_tls_eof(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* rtw_tls_write() stops taking at max_outbound and takes more once the transport drains. */
static void write_budget(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char msg[1 << 20];
  size_t off = 0, took = 0, rounds = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  pattern(msg, sizeof msg, 11);
  assert_int_equal(rtw_tls_write(c.tls, msg, sizeof msg, &took), 0);
  assert_true(took > 0 && took < sizeof msg);
  assert_true(took <= RTW_TLS_DEFAULT_MAX_OUTBOUND);
  assert_true(rtw_tls_outbound_size(c.tls) >= took);
  /* within one record (plus its framing) of the budget */
  assert_true(rtw_tls_outbound_size(c.tls) <= RTW_TLS_DEFAULT_MAX_OUTBOUND + 16384 + 64);
  off = took;
  assert_int_equal(rtw_tls_write(c.tls, msg + off, sizeof msg - off, &took), 0);
  assert_int_equal(took, 0);
  /* the transport takes half: writing resumes */
  {
    size_t half = rtw_tls_outbound_size(c.tls) / 2, moved = 0;
    while (moved < half) {
      const void *p;
      size_t n;
      assert_int_equal(rtw_tls_send_pending(c.tls, &p, &n), 0);
      assert_true(n > 0);
      if (n > half - moved)
        n = half - moved;
      tlst_append(&s.wire, &s.wire_len, &s.wire_cap, p, n);
      assert_int_equal(rtw_tls_send_consumed(c.tls, n), 0);
      c.sent += n;
      moved += n;
    }
  }
  assert_int_equal(rtw_tls_write(c.tls, msg + off, sizeof msg - off, &took), 0);
  assert_true(took > 0);
  off += took;
  while (off < sizeof msg) {
    assert_int_equal(tlst_pump(&c, &s), 0);
    assert_int_equal(rtw_tls_outbound_size(c.tls), 0);
    assert_int_equal(rtw_tls_write(c.tls, msg + off, sizeof msg - off, &took), 0);
    assert_true(took > 0);
    off += took;
    assert_true(++rounds < 100);
  }
  assert_true(rounds >= 3);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(s.rx_len, sizeof msg);
  assert_memory_equal(s.rx, msg, sizeof msg);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* A server whose budget is smaller than its handshake flight still completes it, and
 * writes one record at a time. */
static void tiny_budget_server(void **state)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = NULL, *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char msg[50000];
  size_t took = 0, off = 0;

  (void)state;
  st.max_outbound = 1;
  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, &st, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  pattern(msg, sizeof msg, 17);
  assert_int_equal(rtw_tls_write(s.tls, "", 0, &took), 0);
  assert_int_equal(took, 0);
  while (off < sizeof msg) {
    assert_int_equal(rtw_tls_write(s.tls, msg + off, sizeof msg - off, &took), 0);
    assert_true(took > 0 && took <= RTW_TLS_MAX_RECORD_PLAINTEXT);
    off += took;
    assert_int_equal(rtw_tls_write(s.tls, msg + off, sizeof msg - off, &took), 0);
    assert_int_equal(took, 0); /* full until the transport takes it */
    assert_int_equal(tlst_pump(&c, &s), 0);
  }
  assert_int_equal(c.rx_len, sizeof msg);
  assert_memory_equal(c.rx, msg, sizeof msg);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* A smaller max_outbound: still at least one record fits. */
static void write_budget_small(void **state)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = NULL;
  tlst_end c, s;
  static unsigned char msg[100000];
  size_t took = 0;

  (void)state;
  st.max_outbound = 1000;
  assert_int_equal(rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, &st, NULL), 0);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, certs->ca.cert, certs->ca.cert_len), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_write(c.tls, msg, sizeof msg, &took), 0);
  assert_true(took >= 1000 && took <= RTW_TLS_MAX_RECORD_PLAINTEXT);
  assert_true(rtw_tls_outbound_size(c.tls) <= 1000 + RTW_TLS_MAX_RECORD_PLAINTEXT + 64);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* writev packs many small pieces into few records. */
static void writev_packs(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  enum { PIECES = 1000, PIECE = 10 };
  static rtw_iovec iov[PIECES];
  static char text[PIECES * PIECE + 1];
  size_t i, took = 0, before;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  for (i = 0; i < PIECES; i++) {
    snprintf(text + i * PIECE, PIECE + 1, "<%08zu>", i);
    iov[i].base = text + i * PIECE;
    iov[i].len = PIECE;
  }
  before = c.sent;
  assert_int_equal(rtw_tls_writev(c.tls, iov, PIECES, &took), 0);
  assert_int_equal(took, (size_t)PIECES * PIECE);
  assert_int_equal(tlst_pump(&c, &s), 0);
  /* 10000 bytes fit one record: its framing once (under 64 bytes), not 1000 times (one
   * record per piece would cost at least 29 bytes each in AES-GCM, 39000 in all) */
  assert_true(c.sent - before <= (size_t)PIECES * PIECE + 64);
  expect_rx(&s, text);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* Large pieces between small ones (frame headers around payloads; a piece that fills a
 * record alone is encrypted from where it is, not staged): the bytes arrive in order and the
 * records stay full, 60005 bytes in the fewest records (4). */
static void writev_large_pieces(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char data[60005];
  static const size_t sizes[4] = {3, 40000, 2, 20000};
  rtw_iovec iov[4];
  size_t i, off = 0, took = 0, before;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  pattern(data, sizeof data, 29);
  for (i = 0; i < 4; i++) {
    iov[i].base = data + off;
    iov[i].len = sizes[i];
    off += sizes[i];
  }
  before = c.sent;
  assert_int_equal(rtw_tls_writev(c.tls, iov, 4, &took), 0);
  assert_int_equal(took, sizeof data);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(s.rx_len, sizeof data);
  assert_memory_equal(s.rx, data, sizeof data);
  /* four records of at most 29 bytes of framing each (AES-GCM; ChaCha20-Poly1305: 21) */
  assert_true(c.sent - before <= sizeof data + 4 * 29);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* A server that keeps asking to renegotiate (HelloRequest, RFC 5246 7.4.1.1) while the
 * client's output is not drained: each request draws mbedTLS's no_renegotiation warning
 * (RFC 5746 4.4), an automatic reply that counts against max_outbound, so the queue stops at
 * the budget plus one reply and the client fails instead of growing without bound. */
static void renegotiation_requests_bounded(void **state)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = NULL;
  tlst_end c, s;
  size_t used, i, reply = 0, before;
  int rv = 0;

  (void)state;
  st.max_outbound = 1024;
  assert_int_equal(rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, &st, NULL), 0);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, certs->ca.cert, certs->ca.cert_len), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  if (rtw__tlsb_test_hello_request(rtw__tls_backend(s.tls)) == RTW_ERR_UNSUPPORTED) {
    tlst_end_close(&c);
    tlst_end_close(&s);
    rtw_tls_config_free(ccfg);
    rtw_tls_config_free(scfg);
    skip(); /* the hook needs mbedTLS 2.28's record layer */
  }
  for (i = 0; i < 1000 && rv == 0; i++) {
    if (i > 0)
      assert_int_equal(rtw__tlsb_test_hello_request(rtw__tls_backend(s.tls)), 0);
    tlst_flush(&s, &c);
    before = rtw_tls_outbound_size(c.tls);
    rv = rtw_tls_recv(c.tls, c.wire, c.wire_len, &used);
    c.wire_len = 0; /* the client never writes its replies out */
    if (rv == 0) {
      assert_true(rtw_tls_outbound_size(c.tls) > before); /* the warning was queued */
      if (reply == 0)
        reply = rtw_tls_outbound_size(c.tls) - before;
    }
  }
  assert_int_equal(rv, RTW_ERR_TLS_HANDSHAKE);
  assert_true(i > 1024 / 64); /* the warnings were answered until the budget was reached */
  assert_true(reply > 0 && rtw_tls_outbound_size(c.tls) <= 1024 + reply);
  assert_int_equal(rtw_tls_error(c.tls), RTW_ERR_TLS_HANDSHAKE);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ---------------------------------------------------------------- replies from one input */

/* Many renegotiation requests in ONE rtw_tls_recv() input (many in a record, many records)
 * to an end with a small max_outbound: its automatic replies stop at the one that takes the
 * queue past the budget, and the connection fails there, whatever the input's split. */
typedef struct replies {
  rtw_tls_config *scfg, *ccfg;
  unsigned char session[4096];
  size_t session_len;
  int to_client; /* requests to the client (HelloRequest) or to the server (ClientHello) */
} replies;

typedef struct replies_out {
  int err;    /* the receiver's error */
  size_t out; /* its rtw_tls_outbound_size() at the end */
  size_t rx;  /* plaintext it delivered */
  size_t in;  /* the input's length */
} replies_out;

static rtw_tls_config *budget_config(int role, size_t max_outbound)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *cfg = NULL;

  st.max_outbound = max_outbound;
  assert_int_equal(rtw_tls_config_new(&cfg, role, &st, NULL), 0);
  if (role == RTW_TLS_ROLE_SERVER)
    assert_int_equal(rtw_tls_config_add_cert(cfg, certs->localhost.cert,
                                             certs->localhost.cert_len, certs->localhost.key,
                                             certs->localhost.key_len), 0);
  else
    assert_int_equal(rtw_tls_config_set_ca(cfg, certs->ca.cert, certs->ca.cert_len), 0);
  return cfg;
}

/* Both configurations with this budget, and a session to resume (cheap connections). */
static void replies_setup(replies *x, size_t max_outbound, int to_client)
{
  tlst_end c, s;

  memset(x, 0, sizeof *x);
  x->to_client = to_client;
  x->scfg = budget_config(RTW_TLS_ROLE_SERVER, max_outbound);
  x->ccfg = budget_config(RTW_TLS_ROLE_CLIENT, max_outbound);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, x->ccfg, x->scfg, "localhost");
  assert_int_equal(rtw_tls_session_save(c.tls, x->session, sizeof x->session, &x->session_len),
                   0);
  tlst_end_close(&c);
  tlst_end_close(&s);
}

static void replies_teardown(replies *x)
{
  rtw_tls_config_free(x->ccfg);
  rtw_tls_config_free(x->scfg);
}

/* A resumed connection; the receiving end in pull mode when asked. 0, or 1 when the record
 * hook cannot craft records here (TLS 1.3 hides the content type, RFC 8446 5.2). */
static int replies_run(const replies *x, size_t records, size_t per_record, size_t cut,
                       int bytewise, int pull, replies_out *res)
{
  /* RFC 5246 7.4.1.1: HelloRequest (type 0, empty); 7.4.1.2: a ClientHello (type 1), here
   * with a one-byte body: refused before it is parsed */
  static const unsigned char hello_request[4] = {0, 0, 0, 0};
  static const unsigned char client_hello[5] = {1, 0, 0, 1, 3};
  const unsigned char *m = x->to_client ? hello_request : client_hello;
  size_t mlen = x->to_client ? sizeof hello_request : sizeof client_hello, i;
  static unsigned char rec[RTW_TLS_MAX_RECORD_PLAINTEXT];
  tlst_end c, s, *snd, *rcv;
  int rv;

  assert_true(per_record * mlen <= sizeof rec);
  for (i = 0; i < per_record; i++)
    memcpy(rec + i * mlen, m, mlen);
  memset(res, 0, sizeof *res);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, x->ccfg, "localhost", pull && x->to_client, NULL), 0);
  assert_int_equal(tlst_end_open(&s, x->scfg, NULL, pull && !x->to_client, NULL), 0);
  assert_int_equal(rtw_tls_set_session(c.tls, x->session, x->session_len), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(rtw_tls_resumed(c.tls), 1);
  snd = x->to_client ? &s : &c;
  rcv = x->to_client ? &c : &s;
  assert_int_equal(rtw_tls_outbound_size(rcv->tls), 0);
  for (i = 0; i < records; i++) {
    rv = rtw__tlsb_test_record(rtw__tls_backend(snd->tls), 22, rec, per_record * mlen);
    if (rv == RTW_ERR_UNSUPPORTED) {
      tlst_end_close(&c);
      tlst_end_close(&s);
      return 1;
    }
    assert_int_equal(rv, 0);
  }
  res->in = tlst_flush(snd, rcv);
  rcv->cut_at = cut == 0 ? 0 : rcv->received + cut;
  rcv->byte_by_byte = bytewise;
  (void)tlst_feed(rcv);
  res->err = rtw_tls_error(rcv->tls);
  res->out = rtw_tls_outbound_size(rcv->tls);
  res->rx = rcv->rx_len;
  if (res->err != 0) {
    /* nothing more is queued once it failed */
    size_t used = 0;
    assert_int_equal(rtw_tls_recv(rcv->tls, hello_request, 4, &used), res->err);
    assert_int_equal(rtw_tls_outbound_size(rcv->tls), res->out);
  } else {
    assert_int_equal(rcv->wire_len, 0); /* all read (pull mode included) */
  }
  tlst_end_close(&c);
  tlst_end_close(&s);
  return 0;
}

/* The expected outcome of n requests against budget b with replies of r bytes: replies
 * until the one that takes the queue past b, then RTW_ERR_TLS_HANDSHAKE. */
static void expect_replies(const replies_out *res, size_t n, size_t b, size_t r)
{
  size_t k = b / r + 1;

  if (n < k) {
    assert_int_equal(res->err, 0);
    assert_int_equal(res->out, n * r);
  } else {
    assert_int_equal(res->err, RTW_ERR_TLS_HANDSHAKE);
    assert_int_equal(res->out, k * r);
  }
  assert_true(res->out <= b + r); /* the invariant (tls.h, max_outbound) */
  assert_int_equal(res->rx, 0);
}

static void replies_one_input(int to_client)
{
  /* records x requests per record; small inputs are also cut at every offset */
  static const size_t shapes[][2] = {{1, 8}, {8, 1}, {2, 4}, {3, 3}, {1, 2}, {2, 1}};
  replies x;
  replies_out one, res;
  size_t k, cut, r, len;
  const size_t b = 100;

  replies_setup(&x, b, to_client);
  if (replies_run(&x, 1, 1, 0, 0, 0, &one) != 0) {
    replies_teardown(&x);
    skip(); /* the record hook needs TLS 1.2 */
  }
  /* one request, one reply: its size (a warning alert record: 31 bytes with AES-GCM) */
  assert_int_equal(one.err, 0);
  r = one.out;
  assert_true(r > 0 && r < b);
  for (k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
    size_t n = shapes[k][0] * shapes[k][1];
    replies_run(&x, shapes[k][0], shapes[k][1], 0, 0, 0, &res); /* whole */
    expect_replies(&res, n, b, r);
    replies_run(&x, shapes[k][0], shapes[k][1], 0, 1, 0, &res); /* byte by byte */
    expect_replies(&res, n, b, r);
    replies_run(&x, shapes[k][0], shapes[k][1], 0, 0, 1, &res); /* pull mode */
    expect_replies(&res, n, b, r);
    /* every two-way split */
    len = res.in;
    for (cut = 1; cut < len; cut++) {
      replies_run(&x, shapes[k][0], shapes[k][1], cut, 0, 0, &res);
      expect_replies(&res, n, b, r);
    }
  }
  replies_teardown(&x);

  /* A full record of requests, and many records of one, against the default-sized test
   * budget of 1 KiB: about 7.7 times its input would be queued without the bound. */
  replies_setup(&x, 1024, to_client);
  {
    size_t per = to_client ? RTW_TLS_MAX_RECORD_PLAINTEXT / 4 : RTW_TLS_MAX_RECORD_PLAINTEXT / 5;
    static const int modes[][2] = {{0, 0}, {1, 0}, {0, 1}};
    int m;
    for (m = 0; m < 3; m++) {
      replies_run(&x, 1, per, 0, modes[m][0], modes[m][1], &res);
      if (m == 0)
        printf("# %s: one record of %zu requests, budget 1024: %zu bytes queued (%zu a reply), "
               "%s\n", to_client ? "client" : "server", per, res.out, r, rtw_err_name(res.err));
      expect_replies(&res, per, 1024, r);
      replies_run(&x, 200, 1, 0, modes[m][0], modes[m][1], &res);
      if (m == 0)
        printf("# %s: 200 records of one request, budget 1024: %zu bytes queued, %s\n",
               to_client ? "client" : "server", res.out, rtw_err_name(res.err));
      expect_replies(&res, 200, 1024, r);
      replies_run(&x, 4, per, 0, modes[m][0], modes[m][1], &res);
      expect_replies(&res, 4 * per, 1024, r);
    }
  }
  replies_teardown(&x);
}

static void replies_one_input_client(void **state)
{
  (void)state;
  replies_one_input(1);
}

static void replies_one_input_server(void **state)
{
  (void)state;
  replies_one_input(0);
}

/* writev over the budget: it stops inside a piece, and the caller goes on from there. */
static void writev_partial(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  enum { PIECES = 120, PIECE = 5000 };
  static unsigned char data[PIECES * PIECE];
  rtw_iovec iov[2 * PIECES];
  size_t i, off = 0, took = 0, rounds = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  pattern(data, sizeof data, 21);
  while (off < sizeof data) {
    /* the pieces from `off` on, with an empty piece after each */
    size_t k = 0, first = off / PIECE, skip = off % PIECE;
    for (i = first; i < PIECES; i++) {
      iov[k].base = data + i * PIECE + (i == first ? skip : 0);
      iov[k].len = PIECE - (i == first ? skip : 0);
      k++;
      iov[k].base = data;
      iov[k].len = 0;
      k++;
    }
    assert_int_equal(rtw_tls_writev(c.tls, iov, k, &took), 0);
    assert_true(took > 0);
    off += took;
    assert_int_equal(tlst_pump(&c, &s), 0);
    assert_true(++rounds < 20);
  }
  assert_true(rounds >= 3); /* 600 KB do not fit a 256 KiB budget at once */
  assert_int_equal(rtw_tls_writev(c.tls, iov, 0, &took), 0);
  assert_int_equal(took, 0);
  assert_int_equal(s.rx_len, sizeof data);
  assert_memory_equal(s.rx, data, sizeof data);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== closing */

static void close_notify_both_ways(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  size_t took = 1;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  tlst_write_all(&c, "last words", 10);
  assert_int_equal(rtw_tls_close(c.tls), 0);
  assert_int_equal(rtw_tls_state(c.tls),
                   RTW_TLS_STATE_HANDSHAKE_DONE | RTW_TLS_STATE_CLOSE_SENT);
  assert_int_equal(rtw_tls_want_write(c.tls), 1);
  assert_int_equal(rtw_tls_write(c.tls, "x", 1, &took), RTW_ERR_INVALID_STATE);
  assert_int_equal(took, 0);
  assert_int_equal(rtw_tls_close(c.tls), 0); /* twice: nothing more */
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&s, "last words");
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  took = 1;
  /* the server may still close (its close_notify, answered or explicit, reaches the client) */
  assert_int_equal(rtw_tls_close(s.tls), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(rtw_tls_write(s.tls, "x", 1, &took), RTW_ERR_INVALID_STATE);
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_CLOSE_SENT) != 0);
  assert_true((rtw_tls_state(c.tls) & RTW_TLS_STATE_PEER_CLOSED) != 0);
  assert_int_equal(rtw_tls_want_read(c.tls), 0);
  assert_int_equal(rtw_tls_eof(c.tls), 0);
  assert_int_equal(rtw_tls_eof(s.tls), 0);
  assert_true((rtw_tls_state(c.tls) & RTW_TLS_STATE_EOF) != 0);
  assert_int_equal(rtw_tls_error(c.tls), 0);
  assert_int_equal(rtw_tls_error(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* the transport ends without close_notify: a truncation, sticky */
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_eof(s.tls), RTW_ERR_TLS_TRUNCATED);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_TRUNCATED);
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_EOF) != 0);
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  assert_int_equal(rtw_tls_eof(s.tls), RTW_ERR_TLS_TRUNCATED);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* before the handshake completes, close does nothing */
  tlst_end_init(&c, "client");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(rtw_tls_close(c.tls), 0);
  assert_int_equal(rtw_tls_state(c.tls) & RTW_TLS_STATE_CLOSE_SENT, 0);
  tlst_end_close(&c);

  /* the transport ends during the handshake: a truncation too */
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  tlst_flush(&c, &s);
  assert_int_equal(tlst_feed(&s), 0);
  assert_int_equal(rtw_tls_eof(s.tls), RTW_ERR_TLS_TRUNCATED);
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== resumption */

/* A first connection saves its session; the second resumes it: both ends say so, the
 * server sends no certificate and far fewer bytes. */
static void tickets_and_resumption(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  unsigned char der[2048], sess[4096];
  size_t der_len, sess_len = 0, size_only = 0, first_bytes;
  int rv;

  (void)state;
  cert_der(&certs->localhost, der, sizeof der, &der_len);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  c.keep_stream = 1;
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  if (!tls13(c.tls))
    assert_true(has(c.stream, c.stream_len, der, der_len)); /* the certificate went by */
  first_bytes = s.sent;
  assert_int_equal(rtw_tls_session_save(s.tls, sess, sizeof sess, &sess_len),
                   RTW_ERR_INVALID_STATE);
  rv = rtw_tls_session_save(c.tls, NULL, 0, &size_only);
  assert_true(rv == 0 || rv == RTW_ERR_BUFFER_TOO_SMALL);
  assert_true(size_only > 0);
  assert_int_equal(rtw_tls_session_save(c.tls, sess, 1, &sess_len), RTW_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(sess_len, size_only);
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  assert_int_equal(sess_len, size_only);
  tlst_end_close(&c);
  tlst_end_close(&s);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  c.keep_stream = 1;
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_set_session(s.tls, sess, sess_len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_set_session(c.tls, NULL, sess_len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_set_session(c.tls, "garbage", 7), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
  c.hello = "again";
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(c.handshakes, 1);
  assert_int_equal(s.handshakes, 1);
  assert_int_equal(rtw_tls_resumed(c.tls), 1);
  assert_int_equal(rtw_tls_resumed(s.tls), 1);
  assert_false(has(c.stream, c.stream_len, der, der_len));
  assert_true(s.sent * 2 < first_bytes);
  expect_rx(&s, "again");
  /* the hello is built: too late to set a session */
  assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), RTW_ERR_INVALID_STATE);
  /* a resumed session saves again and resumes a third time */
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(rtw_tls_resumed(c.tls), 1);
  assert_int_equal(rtw_tls_resumed(s.tls), 1);
  tlst_end_close(&c);
  tlst_end_close(&s);
  /* another server configuration (other ticket keys): a full handshake, no error */
  {
    rtw_tls_config *scfg2 = tlst_server_config(0, NULL, NULL);
    tlst_end_init(&c, "client");
    tlst_end_init(&s, "server");
    assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
    assert_int_equal(tlst_end_open(&s, scfg2, NULL, 0, NULL), 0);
    assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
    assert_int_equal(tlst_pump(&c, &s), 0);
    assert_int_equal(c.handshakes, 1);
    assert_int_equal(rtw_tls_resumed(c.tls), 0);
    assert_int_equal(rtw_tls_resumed(s.tls), 0);
    tlst_end_close(&c);
    tlst_end_close(&s);
    rtw_tls_config_free(scfg2);
  }
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* RTW_TLS_NO_TICKETS: a saved session is not resumed; the second handshake is full. */
static void no_tickets(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(RTW_TLS_NO_TICKETS, NULL, NULL);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  unsigned char der[2048], sess[4096];
  size_t der_len, sess_len = 0;
  int saved;

  (void)state;
  cert_der(&certs->localhost, der, sizeof der, &der_len);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  saved = rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len) == 0;
  tlst_end_close(&c);
  tlst_end_close(&s);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  c.keep_stream = 1;
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  if (saved)
    assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(c.handshakes, 1);
  assert_int_equal(rtw_tls_resumed(c.tls), 0);
  assert_int_equal(rtw_tls_resumed(s.tls), 0);
  if (!tls13(c.tls))
    assert_true(has(c.stream, c.stream_len, der, der_len));
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== verification */

/* The client refuses the server's certificate: RTW_ERR_TLS_VERIFY with `bits`, a reason in
 * words, and the server fails on the client's alert. */
static void expect_refused(const tlst_pem *cert, const char *name, uint32_t bits)
{
  rtw_tls_config *scfg = tlst_server_config(0, cert, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  char text[256];
  size_t text_len;

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, name, 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(tlst_pump(&c, &s), RTW_ERR_TLS_VERIFY);
  assert_int_equal(c.err, RTW_ERR_TLS_VERIFY);
  assert_int_equal(rtw_tls_error(c.tls), RTW_ERR_TLS_VERIFY);
  assert_int_equal(rtw_tls_verify_result(c.tls), bits);
  text_len = rtw_tls_error_text(c.tls, text, sizeof text);
  assert_int_equal(text_len, strlen(text)); /* fits: not cut */
  assert_true(text_len > 0);
  assert_non_null(strstr(text, "verification")); /* mbedTLS's reason, for log lines */
  assert_int_equal(rtw_tls_backend_error(c.tls) < 0, 1);
  assert_true((rtw_tls_state(c.tls) & RTW_TLS_STATE_FAILED) != 0);
  assert_int_equal(rtw_tls_state(c.tls) & RTW_TLS_STATE_HANDSHAKE_DONE, 0);
  assert_int_equal(c.handshakes, 0);
  assert_int_equal(s.handshakes, 0);
  /* the client's fatal alert reached the server */
  assert_int_equal(s.err, RTW_ERR_TLS_ALERT);
  assert_true(rtw_is_fatal(s.err));
  assert_int_equal(rtw_tls_want_read(c.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* RTW_TLS_INSECURE accepts it */
  rtw_tls_config_free(ccfg);
  ccfg = tlst_client_config(RTW_TLS_INSECURE, NULL);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, name);
  assert_int_equal(rtw_tls_verify_result(c.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

static void verify_wrong_name(void **state)
{
  (void)state;
  expect_refused(&tlst_certs_get(0)->other, "localhost", MBEDTLS_X509_BADCERT_CN_MISMATCH);
  expect_refused(&tlst_certs_get(0)->localhost, "example.com",
                 MBEDTLS_X509_BADCERT_CN_MISMATCH);
}

static void verify_expired(void **state)
{
  (void)state;
  expect_refused(&tlst_certs_get(0)->expired, "localhost", MBEDTLS_X509_BADCERT_EXPIRED);
}

static void verify_not_yet_valid(void **state)
{
  (void)state;
  expect_refused(&tlst_certs_get(0)->future, "localhost", MBEDTLS_X509_BADCERT_FUTURE);
}

static void verify_untrusted(void **state)
{
  (void)state;
  expect_refused(&tlst_certs_get(0)->self_signed, "localhost",
                 MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

/* A client configuration without a CA list refuses every server. */
static void verify_without_ca(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = NULL;
  tlst_end c, s;

  (void)state;
  assert_int_equal(rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, NULL, NULL), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(tlst_pump(&c, &s), RTW_ERR_TLS_VERIFY);
  assert_true(rtw_tls_verify_result(c.tls) != 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* An IP literal is checked against the iPAddress SAN and not sent as SNI (RFC 6066 3). */
static void verify_ip_literal(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "127.0.0.1");
  assert_int_equal(rtw_tls_verify_result(c.tls), 0);
  assert_string_equal(rtw_tls_server_name(c.tls), "127.0.0.1");
  assert_null(rtw_tls_server_name(s.tls));
  assert_int_equal(rtw_tls_cert_index(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
  /* a leaf without that IP: refused; another address: refused */
  expect_refused(&tlst_certs_get(0)->other, "127.0.0.1", MBEDTLS_X509_BADCERT_CN_MISMATCH);
  expect_refused(&tlst_certs_get(0)->localhost, "127.0.0.2", MBEDTLS_X509_BADCERT_CN_MISMATCH);
  expect_refused(&tlst_certs_get(0)->localhost, "::1", MBEDTLS_X509_BADCERT_CN_MISMATCH);
}

/* ====================================================================== ALPN */

static void alpn_mismatch(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  assert_int_equal(rtw_tls_config_set_alpn(ccfg, "h2", 2), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  (void)tlst_pump(&c, &s);
  assert_int_equal(s.err, RTW_ERR_TLS_ALPN);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_ALPN);
  assert_true(c.err < 0 && rtw_is_fatal(c.err));
  assert_int_equal(c.handshakes, 0);
  assert_int_equal(s.handshakes, 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* Connect with the given ALPN lists (NULL: the default) and return what the client sees. */
static void alpn_pair(const char *client_list, const char *server_list, const char *expect)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  const char *proto = "x";
  size_t len = 1;

  if (client_list != NULL)
    assert_int_equal(rtw_tls_config_set_alpn(ccfg, client_list, strlen(client_list)), 0);
  if (server_list != NULL)
    assert_int_equal(rtw_tls_config_set_alpn(scfg, server_list, strlen(server_list)), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_alpn(c.tls, &proto, &len), 0);
  if (expect == NULL) {
    assert_null(proto);
    assert_int_equal(len, 0);
  } else {
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(proto, expect, len);
  }
  assert_int_equal(rtw_tls_alpn(s.tls, &proto, &len), 0);
  assert_int_equal(len, expect != NULL ? strlen(expect) : 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The server picks among the client's protocols one it knows (RFC 7301 3.2). */
static void alpn_choice(void **state)
{
  (void)state;
  alpn_pair("h2,http/1.1", NULL, "http/1.1");
  alpn_pair("x-a,x-b", "x-c,x-b", "x-b");
}

/* tls.h: "the first of the client's protocols it knows", in the client's order. */
/* The server's preference decides (RFC 7301 3.2 leaves the choice to the server). */
static void alpn_server_order(void **state)
{
  (void)state;
  alpn_pair("http/1.1,h2", "h2,http/1.1", "h2");
}

/* An empty list turns ALPN off: on a client, the server answers no protocol. */
static void alpn_off(void **state)
{
  (void)state;
  alpn_pair("", NULL, NULL);
}

/* ====================================================================== SNI */

static void sni_default_choice(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->other.cert, certs->other.cert_len,
                                           certs->other.key, certs->other.key_len), 1);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "other.example");
  assert_int_equal(rtw_tls_cert_index(s.tls), 1);
  assert_string_equal(rtw_tls_server_name(s.tls), "other.example");
  tlst_end_close(&c);
  tlst_end_close(&s);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "LOCALHOST"); /* names match case-insensitively */
  assert_int_equal(rtw_tls_cert_index(s.tls), 0);
  assert_string_equal(rtw_tls_server_name(s.tls), "LOCALHOST");
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The default choice: subjectAltName DNS names, a `*.` wildcard for one label, the CN of a
 * certificate without any, case-insensitively; else the first certificate. */
static void sni_default_matching(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  rtw_tls_config *insecure = tlst_client_config(RTW_TLS_INSECURE, NULL);
  static const struct {
    const char *name;
    int index;
    int verifies;
  } cases[] = {
      {"a.wild.example", 1, 1},   {"B.Wild.Example", 1, 1},  {"cn-only.example", 2, 1},
      {"a.b.wild.example", 0, 0}, {"wild.example", 0, 0},    {"unknown.example", 0, 0},
  };
  size_t i;

  (void)state;
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->wildcard.cert, certs->wildcard.cert_len,
                                           certs->wildcard.key, certs->wildcard.key_len), 1);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->cn_only.cert, certs->cn_only.cert_len,
                                           certs->cn_only.key, certs->cn_only.key_len), 2);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tlst_end c, s;
    tlst_end_init(&c, "client");
    tlst_end_init(&s, "server");
    /* a name no certificate has gets the first one, which the client then refuses */
    tlst_connect(&c, &s, cases[i].verifies ? ccfg : insecure, scfg, cases[i].name);
    if (rtw_tls_cert_index(s.tls) != cases[i].index)
      fail_msg("%s: certificate %d, expected %d", cases[i].name, rtw_tls_cert_index(s.tls),
               cases[i].index);
    assert_string_equal(rtw_tls_server_name(s.tls), cases[i].name);
    tlst_end_close(&c);
    tlst_end_close(&s);
  }
  rtw_tls_config_free(insecure);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

typedef struct sni_seen {
  char name[64];
  int calls;
} sni_seen;

static int pick(rtw_tls_config *cfg, const char *name, size_t len, void *ud)
{
  sni_seen *seen = ud;

  assert_non_null(cfg);
  assert_true(len > 0 && len < sizeof seen->name);
  memcpy(seen->name, name, len);
  seen->name[len] = '\0';
  seen->calls++;
  if (len == 15 && memcmp(name, "refused.example", len) == 0)
    return -1;
  if (len == 15 && memcmp(name, "invalid.example", len) == 0)
    return 7; /* a host bug: no such certificate */
  return len == 13 && memcmp(name, "other.example", len) == 0 ? 1 : 0;
}

static void sni_callback(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *scfg = NULL, *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  sni_seen seen;

  (void)state;
  memset(&seen, 0, sizeof seen);
  st.sni = pick;
  st.sni_user_data = &seen;
  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, &st, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->other.cert, certs->other.cert_len,
                                           certs->other.key, certs->other.key_len), 1);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "other.example");
  assert_int_equal(seen.calls, 1);
  assert_string_equal(seen.name, "other.example");
  assert_int_equal(rtw_tls_cert_index(s.tls), 1);
  tlst_end_close(&c);
  tlst_end_close(&s);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(seen.calls, 2);
  assert_int_equal(rtw_tls_cert_index(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* refused: the handshake fails (unrecognized_name) */
  rtw_tls_config_free(ccfg);
  ccfg = tlst_client_config(RTW_TLS_INSECURE, NULL);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "refused.example", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  (void)tlst_pump(&c, &s);
  assert_int_equal(seen.calls, 3);
  assert_true(s.err < 0 && rtw_is_fatal(s.err));
  assert_int_equal(c.err, RTW_ERR_TLS_ALERT);
  assert_int_equal(s.handshakes + c.handshakes, 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* an index that does not exist: no crash, and no certificate beyond the list */
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "invalid.example", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  (void)tlst_pump(&c, &s);
  assert_int_equal(seen.calls, 4);
  assert_true(s.err != 0 || (rtw_tls_cert_index(s.tls) >= 0 && rtw_tls_cert_index(s.tls) < 2));
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== bad input */

static void plain_http_to_server(void **state)
{
  static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL);
  rtw_tls *t = NULL;
  size_t used = 0, i;
  int rv = 0;

  (void)state;
  assert_int_equal(rtw_tls_new(&t, scfg, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_tls_recv(t, req, sizeof req - 1, &used), RTW_ERR_TLS_NOT_TLS);
  assert_int_equal(rtw_tls_want_write(t), 0);
  assert_int_equal(rtw_tls_outbound_size(t), 0);
  assert_int_equal(rtw_tls_want_read(t), 0);
  assert_int_equal(rtw_tls_recv(t, req, sizeof req - 1, &used), RTW_ERR_TLS_NOT_TLS);
  assert_true((rtw_tls_state(t) & RTW_TLS_STATE_FAILED) != 0);
  rtw_tls_free(t);

  /* byte by byte: the same outcome, still nothing to send */
  assert_int_equal(rtw_tls_new(&t, scfg, NULL, NULL, NULL, NULL), 0);
  for (i = 0; i < sizeof req - 1; i++) {
    rv = rtw_tls_recv(t, req + i, 1, &used);
    if (rv != 0)
      break;
    assert_int_equal(used, 1);
  }
  assert_int_equal(rv, RTW_ERR_TLS_NOT_TLS);
  assert_int_equal(rtw_tls_outbound_size(t), 0);
  rtw_tls_free(t);
  rtw_tls_config_free(scfg);
}

/* A ClientHello offering TLS 1.0 at most (RFC 2246 7.4.1.2): refused, TLS 1.2 is the
 * minimum; the server answers with an alert (a TLS record), not silence, and not NOT_TLS. */
static void old_protocol_refused(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL);
  rtw_tls *t = NULL;
  unsigned char hello[5 + 4 + 2 + 32 + 1 + 4 + 2];
  const void *p;
  size_t i = 0, n = 0, used = 0;
  int rv;

  (void)state;
  hello[i++] = 22; /* handshake */
  hello[i++] = 3;
  hello[i++] = 1;
  hello[i++] = 0;
  hello[i++] = (unsigned char)(sizeof hello - 5);
  hello[i++] = 1; /* client_hello */
  hello[i++] = 0;
  hello[i++] = 0;
  hello[i++] = (unsigned char)(sizeof hello - 9);
  hello[i++] = 3; /* client_version 3.1: TLS 1.0 */
  hello[i++] = 1;
  pattern(hello + i, 32, 5); /* random */
  i += 32;
  hello[i++] = 0; /* no session id */
  hello[i++] = 0; /* cipher_suites: TLS_RSA_WITH_AES_128_CBC_SHA */
  hello[i++] = 2;
  hello[i++] = 0x00;
  hello[i++] = 0x2f;
  hello[i++] = 1; /* compression_methods: null */
  hello[i++] = 0;
  assert_int_equal(i, sizeof hello);
  assert_int_equal(rtw_tls_new(&t, scfg, NULL, NULL, NULL, NULL), 0);
  rv = rtw_tls_recv(t, hello, sizeof hello, &used);
  assert_true(rv < 0 && rtw_is_fatal(rv));
  assert_int_not_equal(rv, RTW_ERR_TLS_NOT_TLS);
  assert_int_equal(rtw_tls_error(t), rv);
  assert_int_equal(rtw_tls_state(t) & RTW_TLS_STATE_HANDSHAKE_DONE, 0);
  assert_int_equal(rtw_tls_send_pending(t, &p, &n), 0);
  assert_true(n >= 7);
  assert_int_equal(((const unsigned char *)p)[0], 21); /* an alert record */
  rtw_tls_free(t);
  rtw_tls_config_free(scfg);
}

static void garbage_record_after_handshake(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  unsigned char rec[5 + 32];
  size_t used = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  /* application_data, TLS 1.2, 32 bytes that are no AEAD record (RFC 5246 6.2) */
  rec[0] = 23;
  rec[1] = 3;
  rec[2] = 3;
  rec[3] = 0;
  rec[4] = 32;
  pattern(rec + 5, 32, 99);
  assert_int_equal(rtw_tls_recv(s.tls, rec, sizeof rec, &used), RTW_ERR_TLS_BAD_RECORD);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_BAD_RECORD);
  assert_true((rtw_tls_state(s.tls) & RTW_TLS_STATE_FAILED) != 0);
  assert_int_equal(rtw_tls_want_read(s.tls), 0);
  /* sticky */
  assert_int_equal(rtw_tls_recv(s.tls, rec, sizeof rec, &used), RTW_ERR_TLS_BAD_RECORD);
  assert_int_equal(rtw_tls_write(s.tls, "x", 1, &used), RTW_ERR_TLS_BAD_RECORD);
  /* a fatal alert is queued: the client fails on it */
  assert_int_equal(rtw_tls_want_write(s.tls), 1);
  (void)tlst_pump(&c, &s);
  assert_int_equal(c.err, RTW_ERR_TLS_ALERT);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* an unknown content type; a wrong version */
  {
    static const unsigned char headers[2][5] = {{0x42, 3, 3, 0, 32}, {23, 3, 0, 0, 32}};
    size_t k;
    for (k = 0; k < 2; k++) {
      tlst_end_init(&c, "client");
      tlst_end_init(&s, "server");
      tlst_connect(&c, &s, ccfg, scfg, "localhost");
      memcpy(rec, headers[k], 5);
      if (rtw_tls_recv(s.tls, rec, sizeof rec, &used) != RTW_ERR_TLS_BAD_RECORD)
        fail_msg("record header %zu: %s", k, rtw_err_name(rtw_tls_error(s.tls)));
      assert_int_equal(s.data_calls, 0);
      tlst_end_close(&c);
      tlst_end_close(&s);
    }
  }
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* A record header announcing more than 2^14 + 2048 bytes (RFC 5246 6.2.3: record_overflow)
 * is refused at the header, before the body is waited for, as a bad record. */
static void record_too_long(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  static const unsigned char header[5] = {23, 3, 3, 0x48, 0x01};
  tlst_end c, s;
  size_t used = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_recv(s.tls, header, sizeof header, &used), RTW_ERR_TLS_BAD_RECORD);
  assert_int_equal(rtw_tls_want_write(s.tls), 1); /* its alert */
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

static void flipped_byte(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  size_t at;

  (void)state;
  for (at = 0; at < 3; at++) {
    tlst_end c, s;
    size_t used = 0, pos;
    tlst_end_init(&c, "client");
    tlst_end_init(&s, "server");
    tlst_connect(&c, &s, ccfg, scfg, "localhost");
    tlst_write_all(&c, "authentic data", 14);
    tlst_flush(&c, &s);
    /* in the explicit nonce, the ciphertext, the tag */
    pos = at == 0 ? 6 : at == 1 ? 5 + 8 + 3 : s.wire_len - 1;
    s.wire[pos] ^= 0x01;
    assert_int_equal(rtw_tls_recv(s.tls, s.wire, s.wire_len, &used), RTW_ERR_TLS_BAD_RECORD);
    assert_int_equal(s.rx_len, 0);
    assert_int_equal(s.data_calls, 0);
    tlst_end_close(&c);
    tlst_end_close(&s);
  }
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== timer */

static void handshake_timeout(void **state)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *scfg = NULL, *ccfg = tlst_client_config(0, NULL);
  const tlst_certs *certs = tlst_certs_get(0);
  tlst_end c, s;
  size_t used;

  (void)state;
  st.handshake_timeout_ms = 500;
  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, &st, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), 0);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  /* before the first tick */
  assert_int_equal(rtw_tls_next_deadline(c.tls), 0);
  assert_int_equal(rtw_tls_next_deadline(s.tls), 0);
  assert_int_equal(rtw_tls_want_write(c.tls), 1); /* the hello is still to be built */
  assert_int_equal(rtw_tls_tick(c.tls, 1000), 0);   /* builds it, starts the timer */
  assert_true(rtw_tls_outbound_size(c.tls) > 0);
  assert_int_equal(rtw_tls_next_deadline(c.tls), 1000 + RTW_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  assert_int_equal(rtw_tls_tick(s.tls, 2000), 0);
  assert_int_equal(rtw_tls_next_deadline(s.tls), 2500);
  /* the server gets the hello and answers; the client never replies */
  tlst_flush(&c, &s);
  assert_int_equal(tlst_feed(&s), 0);
  assert_int_equal(rtw_tls_tick(s.tls, 2499), 0);
  assert_int_equal(rtw_tls_tick(s.tls, 2500), RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  assert_int_equal(rtw_tls_next_deadline(s.tls), UINT64_MAX);
  assert_int_equal(rtw_tls_recv(s.tls, "x", 1, &used), RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  /* later ticks report nothing new (as rtw_ws_tick() after a failure); the error stays */
  assert_int_equal(rtw_tls_tick(s.tls, 9000), 0);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  assert_int_equal(rtw_tls_outbound_size(s.tls), 0); /* nothing is sent */
  assert_int_equal(rtw_tls_tick(c.tls, 10999), 0);
  assert_int_equal(rtw_tls_tick(c.tls, 11000), RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* a completed handshake has no deadline and ticks are harmless */
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_tick(s.tls, 0), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(rtw_tls_next_deadline(s.tls), UINT64_MAX);
  assert_int_equal(rtw_tls_tick(s.tls, 100000), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== configuration */

static void config_errors(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *scfg = NULL, *ccfg = NULL, *bad = (rtw_tls_config *)1;
  rtw_tls *t = NULL;
  char text[256];
  static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                             "-----END CERTIFICATE-----\n";

  (void)state;
  assert_int_equal(rtw_tls_config_new(NULL, RTW_TLS_ROLE_SERVER, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_new(&bad, 7, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_null(bad);
  st.version = 0;
  assert_int_equal(rtw_tls_config_new(&bad, RTW_TLS_ROLE_SERVER, &st, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  st.version = RTW_TLS_CONFIG_SETTINGS_VERSION + 1;
  assert_int_equal(rtw_tls_config_new(&bad, RTW_TLS_ROLE_SERVER, &st, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  st.version = RTW_TLS_CONFIG_SETTINGS_VERSION;
  st.flags = 0x80u;
  assert_int_equal(rtw_tls_config_new(&bad, RTW_TLS_ROLE_SERVER, &st, NULL),
                   RTW_ERR_INVALID_ARGUMENT);

  st.flags = 0;
  {
    rtwt_failmem incomplete;
    rtwt_failmem_init(&incomplete, 0);
    incomplete.mem.malloc_fn = NULL;
    assert_int_equal(rtw_tls_config_new(&bad, RTW_TLS_ROLE_SERVER, &st, &incomplete.mem),
                     RTW_ERR_INVALID_ARGUMENT);
    assert_int_equal(incomplete.count, 0);
  }

  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, NULL, NULL), 0);
  assert_int_equal(rtw_tls_config_error_text(scfg, text, sizeof text), 0);
  /* a server without a certificate cannot make connections */
  assert_int_equal(rtw_tls_new(&t, scfg, NULL, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_null(t);
  assert_int_equal(rtw_tls_config_add_cert(scfg, junk, sizeof junk - 1, certs->localhost.key,
                                           certs->localhost.key_len), RTW_ERR_TLS_CONFIG);
  assert_true(rtw_tls_config_error_text(scfg, text, sizeof text) > 0);
  assert_true(strlen(text) > 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, "hello", 5, "world", 5), RTW_ERR_TLS_CONFIG);
  {
    /* snprintf-like: the whole length, the text cut to fit, nothing written with cap 0 */
    char small[8], untouched = 'u';
    size_t whole = rtw_tls_config_error_text(scfg, text, sizeof text);
    assert_int_equal(whole, strlen(text));
    assert_int_equal(rtw_tls_config_error_text(scfg, small, sizeof small), whole);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, text, sizeof small - 1);
    assert_int_equal(rtw_tls_config_error_text(scfg, &untouched, 0), whole);
    assert_int_equal(untouched, 'u');
  }
  /* the key of another certificate */
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->other.key,
                                           certs->other.key_len), RTW_ERR_TLS_CONFIG);
  assert_true(rtw_tls_config_error_text(scfg, text, sizeof text) > 0);
  /* a key that is not PEM */
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, junk, sizeof junk - 1),
                   RTW_ERR_TLS_CONFIG);
  assert_int_equal(rtw_tls_config_add_cert_file(scfg, "/nonexistent/cert.pem",
                                                "/nonexistent/key.pem"), RTW_ERR_TLS_CONFIG);
  assert_true(rtw_tls_config_error_text(scfg, text, sizeof text) > 0);
  assert_int_equal(rtw_tls_config_set_ca(scfg, certs->ca.cert, certs->ca.cert_len),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_add_cert(NULL, "a", 1, "b", 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_alpn(scfg, "a,,b", 4), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_alpn(scfg, ",a", 2), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_alpn(NULL, "a", 1), RTW_ERR_INVALID_ARGUMENT);
  {
    char longlist[RTW_TLS_MAX_ALPN + 1];
    memset(longlist, 'a', sizeof longlist);
    assert_int_equal(rtw_tls_config_set_alpn(scfg, longlist, sizeof longlist),
                     RTW_ERR_INVALID_ARGUMENT);
  }
  /* a good certificate after the failures: index 0 */
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), 0);
  /* once a connection exists, setters refuse */
  assert_int_equal(rtw_tls_new(&t, scfg, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->other.cert, certs->other.cert_len,
                                           certs->other.key, certs->other.key_len),
                   RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_tls_config_set_alpn(scfg, "h2", 2), RTW_ERR_INVALID_STATE);
  rtw_tls_free(t);
  rtw_tls_config_free(scfg);

  assert_int_equal(rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, NULL, NULL), 0);
  assert_int_equal(rtw_tls_config_set_ca(NULL, certs->ca.cert, certs->ca.cert_len),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, NULL, 5), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, "nothing", 7), RTW_ERR_TLS_CONFIG);
  assert_true(rtw_tls_config_error_text(ccfg, text, sizeof text) > 0);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, junk, sizeof junk - 1), RTW_ERR_TLS_CONFIG);
  assert_int_equal(rtw_tls_config_set_ca_file(ccfg, "/nonexistent/ca.pem"), RTW_ERR_TLS_CONFIG);
  assert_int_equal(rtw_tls_config_add_cert(ccfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, certs->ca.cert, certs->ca.cert_len), 0);
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", NULL, NULL, NULL), 0);
  assert_int_equal(rtw_tls_config_set_ca(ccfg, certs->ca.cert, certs->ca.cert_len),
                   RTW_ERR_INVALID_STATE);
  rtw_tls_free(t);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(NULL);
}

/* Write `n` bytes to a fresh temporary file; returns its path (static buffer per slot). */
static const char *temp_file(int slot, const void *data, size_t n)
{
  static char paths[3][64];
  const char *dir = getenv("TMPDIR");
  FILE *f;
  int fd;

  snprintf(paths[slot], sizeof paths[slot], "%s/rtweb-tls-test-XXXXXX",
           dir != NULL && strlen(dir) < 32 ? dir : "/tmp");
  fd = mkstemp(paths[slot]);
  assert_true(fd >= 0);
  f = fdopen(fd, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  return paths[slot];
}

/* The *_file() loaders: a chain and key in one file or two, a CA file, a file too large. */
static void config_files(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = NULL, *ccfg = NULL;
  static char both[2 * TLST_PEM_MAX];
  static char big[RTW_TLS_MAX_PEM_FILE + 1];
  const char *cert_path, *key_path, *both_path, *big_path;
  tlst_end c, s;

  (void)state;
  snprintf(both, sizeof both, "%s%s", certs->localhost.cert, certs->localhost.key);
  cert_path = temp_file(0, certs->localhost.cert, certs->localhost.cert_len);
  key_path = temp_file(1, certs->localhost.key, certs->localhost.key_len);
  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, NULL, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert_file(scfg, cert_path, key_path), 0);
  assert_int_equal(remove(cert_path), 0);
  assert_int_equal(remove(key_path), 0);
  both_path = temp_file(0, both, strlen(both));
  assert_int_equal(rtw_tls_config_add_cert_file(scfg, both_path, both_path), 1);
  assert_int_equal(remove(both_path), 0);

  assert_int_equal(rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, NULL, NULL), 0);
  /* larger than RTW_TLS_MAX_PEM_FILE: refused before reading it all */
  memset(big, '\n', sizeof big);
  memcpy(big, certs->ca.cert, certs->ca.cert_len);
  big_path = temp_file(2, big, sizeof big);
  assert_int_equal(rtw_tls_config_set_ca_file(ccfg, big_path), RTW_ERR_TLS_CONFIG);
  assert_int_equal(remove(big_path), 0);
  cert_path = temp_file(0, certs->ca.cert, certs->ca.cert_len);
  assert_int_equal(rtw_tls_config_set_ca_file(ccfg, cert_path), 0);
  assert_int_equal(remove(cert_path), 0);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  assert_int_equal(rtw_tls_verify_result(c.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* More certificates than RTW_TLS_MAX_CERTS are refused. */
static void config_cert_limit(void **state)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = NULL;
  unsigned i;

  (void)state;
  assert_int_equal(rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, NULL, NULL), 0);
  for (i = 0; i < RTW_TLS_MAX_CERTS; i++)
    assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                             certs->localhost.cert_len, certs->localhost.key,
                                             certs->localhost.key_len), (int)i);
  assert_int_equal(rtw_tls_config_add_cert(scfg, certs->localhost.cert,
                                           certs->localhost.cert_len, certs->localhost.key,
                                           certs->localhost.key_len), RTW_ERR_INVALID_ARGUMENT);
  rtw_tls_config_free(scfg);
}

static int failing_random(void *buf, size_t len, void *ud)
{
  (void)buf;
  (void)len;
  (*(int *)ud)++;
  return -1;
}

static int counting_random(void *buf, size_t len, void *ud)
{
  memset(buf, 0x5a, len); /* a test only: a constant seed */
  (*(int *)ud)++;
  return 0;
}

/* The host's random source seeds the DRBG; its failure fails the configuration. */
static void config_random(void **state)
{
  rtw_tls_config_settings st = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *cfg = (rtw_tls_config *)1;
  int calls = 0;

  (void)state;
  st.random = failing_random;
  st.random_user_data = &calls;
  assert_int_equal(rtw_tls_config_new(&cfg, RTW_TLS_ROLE_CLIENT, &st, NULL),
                   RTW_ERR_TLS_BACKEND);
  assert_null(cfg);
  assert_true(calls > 0);
  calls = 0;
  st.random = counting_random;
  assert_int_equal(rtw_tls_config_new(&cfg, RTW_TLS_ROLE_CLIENT, &st, NULL), 0);
  assert_true(calls > 0);
  rtw_tls_config_free(cfg);
}

/* ====================================================================== arguments */

static void argument_checks(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  rtw_tls_config *insecure = tlst_client_config(RTW_TLS_INSECURE, NULL);
  rtw_tls_callbacks cb = {.version = 0};
  rtw_tls *t = (rtw_tls *)1;
  char name[RTW_TLS_MAX_SERVER_NAME + 2];
  const void *p;
  const char *proto;
  size_t n, used;
  rtwt_failmem bad_mem;

  (void)state;
  memset(name, 'a', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  assert_int_equal(rtw_tls_new(NULL, ccfg, "localhost", NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_new(&t, NULL, "localhost", NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_null(t);
  assert_int_equal(rtw_tls_new(&t, ccfg, NULL, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_new(&t, ccfg, "", NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_new(&t, ccfg, name, NULL, NULL, NULL), RTW_ERR_INVALID_ARGUMENT);
  name[RTW_TLS_MAX_SERVER_NAME] = '\0'; /* 255 bytes: allowed */
  assert_int_equal(rtw_tls_new(&t, ccfg, name, NULL, NULL, NULL), 0);
  rtw_tls_free(t);
  assert_int_equal(rtw_tls_new(&t, scfg, "localhost", NULL, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", &cb, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  cb.version = RTW_TLS_CALLBACKS_VERSION + 1;
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", &cb, NULL, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  rtwt_failmem_init(&bad_mem, 0);
  bad_mem.mem.free_fn = NULL;
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", NULL, &bad_mem.mem, NULL),
                   RTW_ERR_INVALID_ARGUMENT);
  /* an insecure client needs no name */
  assert_int_equal(rtw_tls_new(&t, insecure, NULL, NULL, NULL, NULL), 0);
  assert_null(rtw_tls_server_name(t));
  rtw_tls_free(t);

  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", NULL, NULL, &bad_mem), 0);
  assert_ptr_equal(rtw_tls_user_data(t), &bad_mem);
  assert_int_equal(rtw_tls_recv(NULL, "x", 1, &used), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_recv(t, "x", 1, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_recv(t, NULL, 1, &used), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_write(NULL, "x", 1, &used), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_write(t, "x", 1, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_writev(t, NULL, 1, &used), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_send_pending(NULL, &p, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_send_pending(t, NULL, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_send_pending(t, &p, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_send_pending(t, &p, &n), 0); /* builds the ClientHello */
  assert_true(n > 0);
  assert_int_equal(rtw_tls_send_consumed(t, n + 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_send_consumed(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_read_pending(t, NULL, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_read_consumed(t, 1), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_read_consumed(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_alpn(t, &proto, &n), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_tls_alpn(t, NULL, &n), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_session_save(t, NULL, 0, &n), RTW_ERR_INVALID_STATE);
  assert_int_equal(rtw_tls_session_save(t, NULL, 0, NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_tick(NULL, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_tls_close(NULL), RTW_ERR_INVALID_ARGUMENT);
  assert_string_equal(rtw_tls_protocol(t), "");
  assert_string_equal(rtw_tls_ciphersuite(t), "");
  assert_int_equal(rtw_tls_resumed(t), 0);
  rtw_tls_free(t);

  /* accessors of NULL */
  assert_int_equal(rtw_tls_want_read(NULL), 0);
  assert_int_equal(rtw_tls_want_write(NULL), 0);
  assert_int_equal(rtw_tls_outbound_size(NULL), 0);
  assert_int_equal(rtw_tls_state(NULL), 0);
  assert_int_equal(rtw_tls_next_deadline(NULL), UINT64_MAX);
  assert_int_equal(rtw_tls_error(NULL), 0);
  assert_int_equal(rtw_tls_backend_error(NULL), 0);
  assert_int_equal(rtw_tls_verify_result(NULL), 0);
  assert_null(rtw_tls_server_name(NULL));
  assert_int_equal(rtw_tls_cert_index(NULL), -1);
  assert_int_equal(rtw_tls_resumed(NULL), 0);
  assert_string_equal(rtw_tls_protocol(NULL), "");
  assert_string_equal(rtw_tls_ciphersuite(NULL), "");
  assert_null(rtw_tls_user_data(NULL));
  rtw_tls_free(NULL);
  rtw_tls_config_free(insecure);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== re-entrancy */

typedef struct reent {
  int checked;
  unsigned char echo[64];
} reent;

static int reentrant_data(tlst_end *e, const void *data, size_t len, size_t *used)
{
  static const unsigned char none[1];
  const void *p;
  size_t n, took = 0;

  assert_int_equal(rtw_tls_recv(e->tls, none, 0, &n), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_tls_tick(e->tls, 0), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_tls_send_pending(e->tls, &p, &n), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_tls_send_consumed(e->tls, 0), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_tls_read_pending(e->tls, &p, &n), RTW_ERR_REENTRANT);
  assert_int_equal(rtw_tls_read_consumed(e->tls, 0), RTW_ERR_REENTRANT);
  rtw_tls_free(e->tls); /* does nothing from a callback */
  /* writes are allowed: echo */
  assert_int_equal(rtw_tls_write(e->tls, data, len, &took), 0);
  assert_int_equal(took, len);
  tlst_append(&e->rx, &e->rx_len, &e->rx_cap, data, len);
  ((reent *)e->arg)->checked++;
  *used = len;
  return 0;
}

static void reentrancy(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  reent r;

  (void)state;
  memset(&r, 0, sizeof r);
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  s.on_data = reentrant_data;
  s.arg = &r;
  tlst_write_all(&c, "echo me", 7);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(r.checked, 1);
  expect_rx(&s, "echo me");
  expect_rx(&c, "echo me");
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* ====================================================================== memory */

/* The configurations may be released right after rtw_tls_new(). */
static void config_reference_counting(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
  assert_int_equal(tlst_pump(&c, &s), 0);
  tlst_write_all(&c, "still here", 10);
  assert_int_equal(tlst_pump(&c, &s), 0);
  expect_rx(&s, "still here");
  tlst_end_close(&c);
  tlst_end_close(&s);
}

/* A whole connection through the allocator hooks; returns the first error met. */
static int scenario(const rtw_mem *mem, void *arg)
{
  const tlst_certs *certs = tlst_certs_get(0);
  rtw_tls_config *scfg = NULL, *ccfg = NULL;
  tlst_end c, s;
  int rv;

  (void)arg;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  if ((rv = rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, NULL, mem)) != 0 ||
      (rv = rtw_tls_config_add_cert(scfg, certs->localhost.cert, certs->localhost.cert_len,
                                    certs->localhost.key, certs->localhost.key_len)) < 0 ||
      (rv = rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, NULL, mem)) != 0 ||
      (rv = rtw_tls_config_set_ca(ccfg, certs->ca.cert, certs->ca.cert_len)) != 0 ||
      (rv = tlst_end_open(&c, ccfg, "localhost", 0, NULL)) != 0 ||
      (rv = tlst_end_open(&s, scfg, NULL, 0, NULL)) != 0)
    goto done;
  c.hello = "hello";
  s.hello = "world";
  rv = tlst_pump(&c, &s);
  if (rv == 0 && (rv = c.hello_err) == 0 && (rv = s.hello_err) == 0 &&
      (rv = rtw_tls_close(c.tls)) == 0 && (rv = tlst_pump(&c, &s)) == 0) {
    assert_int_equal(c.rx_len, 5);
    assert_int_equal(s.rx_len, 5);
  }
  /* an allocation failing in one end may show as another error in the other */
  if (c.err == RTW_ERR_NOMEM || s.err == RTW_ERR_NOMEM || c.hello_err == RTW_ERR_NOMEM ||
      s.hello_err == RTW_ERR_NOMEM)
    rv = RTW_ERR_NOMEM;
done:
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
  return rv;
}

static void allocator_hooks(void **state)
{
  rtwt_countmem cm;
  long sites;

  (void)state;
  rtwt_countmem_init(&cm);
  assert_int_equal(scenario(&cm.mem, NULL), 0);
  assert_true(cm.allocs >= 4); /* two configurations, two connections at least */
  assert_int_equal(cm.live, 0);
  assert_int_equal(cm.cur, 0);
  sites = rtwt_check_alloc_failures(scenario, NULL);
  assert_true(sites >= 4);
}

/* A connection's own hooks take precedence over its configuration's. */
static void connection_hooks(void **state)
{
  rtwt_countmem cfg_mem, conn_mem;
  rtw_tls_config *ccfg;
  rtw_tls *t = NULL;
  long cfg_allocs;

  (void)state;
  rtwt_countmem_init(&cfg_mem);
  rtwt_countmem_init(&conn_mem);
  ccfg = tlst_client_config(0, &cfg_mem.mem);
  cfg_allocs = cfg_mem.allocs;
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", NULL, &conn_mem.mem, NULL), 0);
  assert_true(conn_mem.allocs > 0);
  assert_int_equal(cfg_mem.allocs, cfg_allocs);
  rtw_tls_free(t);
  assert_int_equal(conn_mem.live, 0);
  /* without hooks of its own, a connection uses the configuration's */
  assert_int_equal(rtw_tls_new(&t, ccfg, "localhost", NULL, NULL, NULL), 0);
  assert_true(cfg_mem.allocs > cfg_allocs);
  rtw_tls_free(t);
  rtw_tls_config_free(ccfg);
  assert_int_equal(cfg_mem.live, 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(before_the_handshake),
      cmocka_unit_test(handshake_and_data),
      cmocka_unit_test(callback_failures),
      cmocka_unit_test(rsa_certificate),
      cmocka_unit_test(split_client_stream),
      cmocka_unit_test(split_server_stream),
      cmocka_unit_test(full_handshake_byte_by_byte),
      cmocka_unit_test(pause_in_on_data),
      cmocka_unit_test(pull_mode),
      cmocka_unit_test(write_budget),
      cmocka_unit_test(write_budget_small),
      cmocka_unit_test(tiny_budget_server),
      cmocka_unit_test(writev_packs),
      cmocka_unit_test(writev_large_pieces),
      cmocka_unit_test(renegotiation_requests_bounded),
      cmocka_unit_test(replies_one_input_client),
      cmocka_unit_test(replies_one_input_server),
      cmocka_unit_test(writev_partial),
      cmocka_unit_test(close_notify_both_ways),
      cmocka_unit_test(tickets_and_resumption),
      cmocka_unit_test(no_tickets),
      cmocka_unit_test(verify_wrong_name),
      cmocka_unit_test(verify_expired),
      cmocka_unit_test(verify_not_yet_valid),
      cmocka_unit_test(verify_untrusted),
      cmocka_unit_test(verify_ip_literal),
      cmocka_unit_test(alpn_choice),
      cmocka_unit_test(sni_default_choice),
      cmocka_unit_test(sni_default_matching),
      cmocka_unit_test(sni_callback),
      cmocka_unit_test(plain_http_to_server),
      cmocka_unit_test(old_protocol_refused),
      cmocka_unit_test(garbage_record_after_handshake),
      cmocka_unit_test(flipped_byte),
      cmocka_unit_test(handshake_timeout),
      cmocka_unit_test(config_errors),
      cmocka_unit_test(config_files),
      cmocka_unit_test(config_cert_limit),
      cmocka_unit_test(config_random),
      cmocka_unit_test(argument_checks),
      cmocka_unit_test(reentrancy),
      cmocka_unit_test(config_reference_counting),
      cmocka_unit_test(allocator_hooks),
      cmocka_unit_test(connection_hooks),
      cmocka_unit_test(verify_without_ca),
      cmocka_unit_test(alpn_mismatch),
      cmocka_unit_test(alpn_server_order),
      cmocka_unit_test(alpn_off),
      cmocka_unit_test(record_too_long),
  };
  /* --record-path: every case again with rtweb's own TLS 1.2 record layer taking over
   * after the handshake (the portable AES-GCM stands in for the fast kernels); without it,
   * mbedTLS protects the records whatever the CPU. */
  rtw__gcm_test_mode(argc > 1 && strcmp(argv[1], "--record-path") == 0 ? 1 : 0);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
