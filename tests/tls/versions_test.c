/* SPDX-License-Identifier: MIT */
/* rtweb-tls over whichever mbedTLS it was built with (2.28, or 3.x with TLS 1.3 on by
 * default): the behaviours where the releases differ, asserted the same for every one.
 * Regressions of mbedTLS 3.6: a session saved twice (size first, then the bytes), the TLS 1.3
 * ticket that arrives after the handshake (RFC 8446 4.6.1), a ticket lifetime over 7 days,
 * the client's unprotected alert that ends a TLS 1.3 handshake. Each test prints the
 * protocol it ran as a TAP comment. */
#include <stdio.h>
#include <string.h>

#include "tlst.h"

#include "mbedtls/x509.h"

static void note_protocol(const char *test, const rtw_tls *tls)
{
  printf("# %s: %s, %s\n", test, rtw_tls_protocol(tls), rtw_tls_backend_version());
}

static rtw_tls_config *server_config_lifetime(uint32_t lifetime_s)
{
  rtw_tls_config_settings s;
  rtw_tls_config *cfg = NULL;
  const tlst_pem *cert = &tlst_certs_get(0)->localhost;

  memset(&s, 0, sizeof s);
  s.version = RTW_TLS_CONFIG_SETTINGS_VERSION;
  s.ticket_lifetime_s = lifetime_s;
  assert_int_equal(rtw_tls_config_new(&cfg, RTW_TLS_ROLE_SERVER, &s, NULL), 0);
  assert_int_equal(rtw_tls_config_add_cert(cfg, cert->cert, cert->cert_len, cert->key,
                                           cert->key_len), 0);
  return cfg;
}

/* A second connection with the saved session resumes: both ends say so. */
static void expect_resumes(rtw_tls_config *ccfg, rtw_tls_config *scfg, const void *sess,
                           size_t sess_len)
{
  tlst_end c, s;

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
  c.hello = "again";
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(c.handshakes, 1);
  assert_int_equal(s.handshakes, 1);
  assert_int_equal(rtw_tls_resumed(c.tls), 1);
  assert_int_equal(rtw_tls_resumed(s.tls), 1);
  assert_int_equal(s.rx_len, 5);
  assert_memory_equal(s.rx, "again", 5);
  tlst_end_close(&c);
  tlst_end_close(&s);
}

/* The size, then the bytes, then the bytes again: the same session every time (mbedTLS 3.x
 * exports a session once; the backend keeps it), and it resumes. With TLS 1.3 the ticket
 * came after the handshake, taken by the pump's last recv. */
static void session_saved_twice(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char a[4096], b[4096];
  size_t size = 0, a_len = 0, b_len = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  note_protocol("session_saved_twice", c.tls);
  assert_int_equal(rtw_tls_session_save(c.tls, NULL, 0, &size), RTW_ERR_BUFFER_TOO_SMALL);
  assert_true(size > 0 && size <= sizeof a);
  assert_int_equal(rtw_tls_session_save(c.tls, a, sizeof a, &a_len), 0);
  assert_int_equal(a_len, size);
  assert_int_equal(rtw_tls_session_save(c.tls, b, sizeof b, &b_len), 0);
  assert_int_equal(b_len, a_len);
  assert_memory_equal(a, b, a_len);
  tlst_end_close(&c);
  tlst_end_close(&s);
  expect_resumes(ccfg, scfg, a, a_len);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The server's first data rides behind its ticket: the client delivers the data and has the
 * ticket from the same recv. */
static void ticket_then_data(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char sess[4096];
  size_t sess_len = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  s.hello = "HTTP/1.1 204 No Content\r\n\r\n";
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  note_protocol("ticket_then_data", c.tls);
  assert_int_equal(c.rx_len, strlen(s.hello));
  assert_memory_equal(c.rx, s.hello, c.rx_len);
  assert_int_equal(rtw_tls_error(c.tls), 0);
  assert_int_equal(rtw_tls_want_read(c.tls), 1);
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  expect_resumes(ccfg, scfg, sess, sess_len);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* A ticket lifetime of 30 days: TLS 1.3 allows 7 at most (RFC 8446 4.6.1), which mbedTLS 3.x
 * enforces by failing the server once its handshake is done. The backend caps it: no error,
 * data both ways, and the ticket resumes. */
static void ticket_lifetime_over_a_week(void **state)
{
  rtw_tls_config *scfg = server_config_lifetime(30u * 86400u);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char sess[4096];
  size_t sess_len = 0;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  c.hello = "ping";
  s.hello = "pong";
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  note_protocol("ticket_lifetime_over_a_week", c.tls);
  assert_int_equal(rtw_tls_error(s.tls), 0);
  assert_int_equal(rtw_tls_error(c.tls), 0);
  assert_int_equal(s.err, 0);
  assert_int_equal(s.rx_len, 4);
  assert_memory_equal(s.rx, "ping", 4);
  assert_int_equal(c.rx_len, 4);
  assert_memory_equal(c.rx, "pong", 4);
  assert_int_equal(rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  expect_resumes(ccfg, scfg, sess, sess_len);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* Without tickets a TLS 1.3 client has nothing to resume with: RTW_ERR_INVALID_STATE. A
 * TLS 1.2 client saves its session ID (the server keeps no cache). Either way the next
 * handshake is a full one. */
static void no_tickets_nothing_to_resume(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(RTW_TLS_NO_TICKETS, NULL, NULL);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  static unsigned char sess[4096];
  size_t sess_len = 0;
  int rv, tls13;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "localhost");
  note_protocol("no_tickets_nothing_to_resume", c.tls);
  tls13 = strcmp(rtw_tls_protocol(c.tls), "TLSv1.3") == 0;
  rv = rtw_tls_session_save(c.tls, sess, sizeof sess, &sess_len);
  assert_int_equal(rv, tls13 ? RTW_ERR_INVALID_STATE : 0);
  assert_true(tls13 ? sess_len == 0 : sess_len > 0);
  tlst_end_close(&c);
  tlst_end_close(&s);

  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  if (rv == 0)
    assert_int_equal(rtw_tls_set_session(c.tls, sess, sess_len), 0);
  assert_int_equal(tlst_pump(&c, &s), 0);
  assert_int_equal(c.handshakes, 1);
  assert_int_equal(rtw_tls_resumed(c.tls), 0);
  assert_int_equal(rtw_tls_resumed(s.tls), 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* The client refuses a certificate for another name and says why with a bad_certificate
 * alert (RFC 8446 6.2 / RFC 5246 7.2.2: 42); the server reports that alert, not a bad
 * record (an mbedTLS 3.x client sends it unprotected under TLS 1.3). */
static void refusal_reason_reaches_server(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, &tlst_certs_get(0)->other, NULL);
  rtw_tls_config *ccfg = tlst_client_config(0, NULL);
  tlst_end c, s;
  char text[256];

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "localhost", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, scfg, NULL, 0, NULL), 0);
  assert_int_equal(tlst_pump(&c, &s), RTW_ERR_TLS_VERIFY);
  assert_int_equal(c.err, RTW_ERR_TLS_VERIFY);
  assert_int_equal(s.err, RTW_ERR_TLS_ALERT);
  assert_int_equal(rtw_tls_error(s.tls), RTW_ERR_TLS_ALERT);
  assert_true(rtw_tls_error_text(s.tls, text, sizeof text) > 0);
  assert_non_null(strstr(text, "(alert 42)"));
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

/* An IP literal is verified against the certificate's iPAddress entries, with no host name
 * set (mbedTLS 3.6.3 and later refuse to verify without one unless told so). */
static void ip_literal_verified(void **state)
{
  rtw_tls_config *scfg = tlst_server_config(0, NULL, NULL), *ccfg = tlst_client_config(0, NULL);
  rtw_tls_config *other = tlst_server_config(0, &tlst_certs_get(0)->other, NULL);
  tlst_end c, s;

  (void)state;
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  tlst_connect(&c, &s, ccfg, scfg, "127.0.0.1");
  note_protocol("ip_literal_verified", c.tls);
  assert_int_equal(rtw_tls_verify_result(c.tls), 0);
  assert_null(rtw_tls_server_name(s.tls)); /* not sent as SNI (RFC 6066 3) */
  tlst_end_close(&c);
  tlst_end_close(&s);

  /* a certificate without that address is refused */
  tlst_end_init(&c, "client");
  tlst_end_init(&s, "server");
  assert_int_equal(tlst_end_open(&c, ccfg, "127.0.0.1", 0, NULL), 0);
  assert_int_equal(tlst_end_open(&s, other, NULL, 0, NULL), 0);
  assert_int_equal(tlst_pump(&c, &s), RTW_ERR_TLS_VERIFY);
  assert_true((rtw_tls_verify_result(c.tls) & MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0);
  tlst_end_close(&c);
  tlst_end_close(&s);
  rtw_tls_config_free(other);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(session_saved_twice),
    cmocka_unit_test(ticket_then_data),
    cmocka_unit_test(ticket_lifetime_over_a_week),
    cmocka_unit_test(no_tickets_nothing_to_resume),
    cmocka_unit_test(refusal_reason_reaches_server),
    cmocka_unit_test(ip_literal_verified),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
