/* SPDX-License-Identifier: MIT */
/* The test certificate helper checked with mbedTLS alone (no rtweb): every certificate
 * parses, its key matches it, and verification against the test CA gives exactly the flags
 * the TLS tests rely on (none, CN mismatch, expired, future, not trusted). */
#include <string.h>

#include "rtwt.h"
#include "certs.h"

#include "mbedtls/version.h"
#include "mbedtls/asn1.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509.h"
#include "mbedtls/x509_crt.h"

/* Verify `leaf` against the test CA for `name`; returns the MBEDTLS_X509_BADCERT_* flags. */
static uint32_t verify(const tlst_pem *leaf, const char *name)
{
  const tlst_certs *c = tlst_certs_get(0);
  mbedtls_x509_crt ca, crt;
  uint32_t flags = 0xffffffffu;

  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&crt);
  /* the PEM parser wants the terminating NUL counted */
  assert_int_equal(mbedtls_x509_crt_parse(&ca, (const unsigned char *)c->ca.cert,
                                          c->ca.cert_len + 1), 0);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)leaf->cert,
                                          leaf->cert_len + 1), 0);
  (void)mbedtls_x509_crt_verify(&crt, &ca, NULL, name, &flags, NULL, NULL);
  mbedtls_x509_crt_free(&crt);
  mbedtls_x509_crt_free(&ca);
  return flags;
}

/* The private key parses and matches the certificate's public key. */
static void check_pair(const tlst_pem *p, mbedtls_pk_type_t type)
{
  mbedtls_x509_crt crt;
  mbedtls_pk_context key;

  mbedtls_x509_crt_init(&crt);
  mbedtls_pk_init(&key);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)p->cert,
                                          p->cert_len + 1), 0);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  {
    mbedtls_entropy_context e;
    mbedtls_ctr_drbg_context d;
    mbedtls_entropy_init(&e);
    mbedtls_ctr_drbg_init(&d);
    assert_int_equal(mbedtls_ctr_drbg_seed(&d, mbedtls_entropy_func, &e, NULL, 0), 0);
    assert_int_equal(mbedtls_pk_parse_key(&key, (const unsigned char *)p->key, p->key_len + 1,
                                          NULL, 0, mbedtls_ctr_drbg_random, &d), 0);
    assert_int_equal(mbedtls_pk_check_pair(&crt.pk, &key, mbedtls_ctr_drbg_random, &d), 0);
    mbedtls_ctr_drbg_free(&d);
    mbedtls_entropy_free(&e);
  }
#else
  assert_int_equal(mbedtls_pk_parse_key(&key, (const unsigned char *)p->key, p->key_len + 1,
                                        NULL, 0), 0);
  assert_int_equal(mbedtls_pk_check_pair(&crt.pk, &key), 0);
#endif
  assert_int_equal(mbedtls_pk_get_type(&key), type);
  mbedtls_pk_free(&key);
  mbedtls_x509_crt_free(&crt);
}

static void pem_shape(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);
  const tlst_pem *all[] = {&c->ca,     &c->localhost,   &c->other,    &c->expired,
                           &c->future, &c->self_signed, &c->wildcard, &c->cn_only};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    assert_true(all[i]->cert_len > 100 && all[i]->cert_len == strlen(all[i]->cert));
    assert_true(all[i]->key_len > 100 && all[i]->key_len == strlen(all[i]->key));
    assert_non_null(strstr(all[i]->cert, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(all[i]->key, "-----BEGIN EC PRIVATE KEY-----"));
    check_pair(all[i], MBEDTLS_PK_ECKEY);
  }
}

static void valid_leaf(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);

  (void)state;
  assert_int_equal(verify(&c->localhost, "localhost"), 0);
  assert_int_equal(verify(&c->other, "other.example"), 0);
  assert_int_equal(verify(&c->wildcard, "a.wild.example"), 0);
  assert_int_equal(verify(&c->cn_only, "cn-only.example"), 0); /* by its CN */
  /* the CA verifies as itself (a trusted self-signed root) */
  assert_int_equal(verify(&c->ca, NULL), 0);
}

static void wrong_name(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);

  (void)state;
  assert_int_equal(verify(&c->other, "localhost"), MBEDTLS_X509_BADCERT_CN_MISMATCH);
  assert_int_equal(verify(&c->localhost, "example.com"), MBEDTLS_X509_BADCERT_CN_MISMATCH);
  /* a wildcard covers one label only */
  assert_int_equal(verify(&c->wildcard, "a.b.wild.example"), MBEDTLS_X509_BADCERT_CN_MISMATCH);
}

static void bad_dates(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);

  (void)state;
  assert_int_equal(verify(&c->expired, "localhost"), MBEDTLS_X509_BADCERT_EXPIRED);
  assert_int_equal(verify(&c->future, "localhost"), MBEDTLS_X509_BADCERT_FUTURE);
}

static void untrusted(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);

  (void)state;
  assert_int_equal(verify(&c->self_signed, "localhost"), MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

/* The localhost leaf carries SAN DNS:localhost and IP:127.0.0.1 (RFC 5280 4.2.1.6 tags [2]
 * and [7]); other.example has its DNS name only. */
static void subject_alt_names(void **state)
{
  const tlst_certs *c = tlst_certs_get(0);
  static const unsigned char loopback[4] = {127, 0, 0, 1};
  mbedtls_x509_crt crt;
  const mbedtls_x509_sequence *san;
  int dns = 0, ip = 0;

  (void)state;
  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)c->localhost.cert,
                                          c->localhost.cert_len + 1), 0);
  for (san = &crt.subject_alt_names; san != NULL; san = san->next) {
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) && san->buf.len == 9 &&
        memcmp(san->buf.p, "localhost", 9) == 0)
      dns++;
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == 4 &&
        memcmp(san->buf.p, loopback, 4) == 0)
      ip++;
  }
  mbedtls_x509_crt_free(&crt);
  assert_int_equal(dns, 1);
  assert_int_equal(ip, 1);
}

static void rsa_leaf(void **state)
{
  const tlst_certs *c = tlst_certs_get(TLST_CERTS_RSA);
  mbedtls_x509_crt crt;

  (void)state;
  assert_int_equal(c->has_rsa, 1);
  assert_non_null(strstr(c->rsa.key, "-----BEGIN RSA PRIVATE KEY-----"));
  check_pair(&c->rsa, MBEDTLS_PK_RSA);
  assert_int_equal(verify(&c->rsa, "localhost"), 0);
  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)c->rsa.cert,
                                          c->rsa.cert_len + 1), 0);
  assert_int_equal(mbedtls_pk_get_bitlen(&crt.pk), 2048);
  mbedtls_x509_crt_free(&crt);
}

/* Two runs make different keys: nothing fixed is baked into the helper. */
static void fresh_keys(void **state)
{
  static tlst_certs a, b;

  (void)state;
  assert_int_equal(tlst_certs_make(&a, 0), 0);
  assert_int_equal(tlst_certs_make(&b, 0), 0);
  assert_int_not_equal(strcmp(a.ca.key, b.ca.key), 0);
  assert_int_not_equal(strcmp(a.localhost.cert, b.localhost.cert), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pem_shape),  cmocka_unit_test(valid_leaf),
      cmocka_unit_test(wrong_name), cmocka_unit_test(bad_dates),
      cmocka_unit_test(untrusted),  cmocka_unit_test(subject_alt_names),
      cmocka_unit_test(rsa_leaf),   cmocka_unit_test(fresh_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
