/* SPDX-License-Identifier: MIT */
/* Throwaway test certificates made with mbedTLS's X.509 writer (see certs.h). Builds with
 * mbedTLS 2.28 and 3.x (told apart by MBEDTLS_VERSION_NUMBER). */
#include <string.h>

#include "rtwt.h"
#include "certs.h"

#include "mbedtls/version.h"
#include "mbedtls/bignum.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/oid.h"
#include "mbedtls/pk.h"
#include "mbedtls/rsa.h"
#include "mbedtls/x509_crt.h"
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif

/* Validity periods, YYYYMMDDhhmmss (RFC 5280 4.1.2.5). */
#define VALID_FROM "20200101000000"
#define VALID_TO "20491231235959"

typedef struct gen {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  int serial;
} gen;

/* What one certificate says about its subject. */
typedef struct spec {
  const char *cn;         /* subject CN, also the SAN DNS name */
  const char *not_before; /* YYYYMMDDhhmmss */
  const char *not_after;
  int ip;                 /* add SAN IP 127.0.0.1 */
  int is_ca;
  int no_san;             /* no subjectAltName at all */
} spec;

/* subjectAltName value, RFC 5280 4.2.1.6: GeneralNames ::= SEQUENCE OF GeneralName, with
 * dNSName [2] IA5String and iPAddress [7] OCTET STRING as implicit context tags. Names here
 * are short, so every length fits one DER length byte. */
static size_t san_der(unsigned char *out, const char *dns, int ip)
{
  size_t n = strlen(dns), i = 0;

  out[i++] = 0x30;
  out[i++] = (unsigned char)(2 + n + (ip ? 6 : 0));
  out[i++] = 0x82;
  out[i++] = (unsigned char)n;
  memcpy(out + i, dns, n);
  i += n;
  if (ip) {
    static const unsigned char loopback[6] = {0x87, 4, 127, 0, 0, 1};
    memcpy(out + i, loopback, sizeof loopback);
    i += sizeof loopback;
  }
  return i;
}

static int make_key(gen *g, mbedtls_pk_context *pk, int rsa)
{
  int rv = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(rsa ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY));

  if (rv != 0)
    return rv;
  if (rsa)
    return mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mbedtls_ctr_drbg_random, &g->drbg, 2048,
                               65537);
  return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
                             mbedtls_ctr_drbg_random, &g->drbg);
}

static int set_names(mbedtls_x509write_cert *crt, const spec *s, const char *issuer_cn)
{
  char name[128];
  int rv;

  snprintf(name, sizeof name, "CN=%s,O=rtweb tests", s->cn);
  if ((rv = mbedtls_x509write_crt_set_subject_name(crt, name)) != 0)
    return rv;
  snprintf(name, sizeof name, "CN=%s,O=rtweb tests", issuer_cn);
  return mbedtls_x509write_crt_set_issuer_name(crt, name);
}

static int set_extensions(mbedtls_x509write_cert *crt, const spec *s)
{
  unsigned char san[128];
  size_t san_len;
  int rv;

  if ((rv = mbedtls_x509write_crt_set_basic_constraints(crt, s->is_ca, s->is_ca ? 0 : -1)) != 0)
    return rv;
  if (s->is_ca)
    return mbedtls_x509write_crt_set_key_usage(crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                        MBEDTLS_X509_KU_CRL_SIGN);
  if (s->no_san)
    return 0;
  san_len = san_der(san, s->cn, s->ip);
  return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                             san, san_len);
}

/* Write the certificate of `subject` (described by s) signed by `issuer`, named issuer_cn. */
static int write_cert(gen *g, mbedtls_pk_context *subject, mbedtls_pk_context *issuer,
                      const char *issuer_cn, const spec *s, tlst_pem *out)
{
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  int rv;

  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&serial);
  mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt, subject);
  mbedtls_x509write_crt_set_issuer_key(&crt, issuer);
  if ((rv = mbedtls_mpi_lset(&serial, ++g->serial)) != 0 ||
      (rv = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
      (rv = mbedtls_x509write_crt_set_validity(&crt, s->not_before, s->not_after)) != 0 ||
      (rv = set_names(&crt, s, issuer_cn)) != 0 || (rv = set_extensions(&crt, s)) != 0)
    goto done;
  memset(out->cert, 0, sizeof out->cert);
  rv = mbedtls_x509write_crt_pem(&crt, (unsigned char *)out->cert, sizeof out->cert,
                                 mbedtls_ctr_drbg_random, &g->drbg);
  out->cert_len = strlen(out->cert);
done:
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&crt);
  return rv;
}

static int write_key(mbedtls_pk_context *pk, tlst_pem *out)
{
  int rv;

  memset(out->key, 0, sizeof out->key);
  rv = mbedtls_pk_write_key_pem(pk, (unsigned char *)out->key, sizeof out->key);
  out->key_len = strlen(out->key);
  return rv;
}

/* A fresh key and its certificate, signed by `issuer` (or by itself when issuer is NULL). */
static int make_one(gen *g, mbedtls_pk_context *issuer, const char *issuer_cn, const spec *s,
                    int rsa, tlst_pem *out)
{
  mbedtls_pk_context pk;
  int rv;

  mbedtls_pk_init(&pk);
  if ((rv = make_key(g, &pk, rsa)) == 0 && (rv = write_key(&pk, out)) == 0)
    rv = write_cert(g, &pk, issuer != NULL ? issuer : &pk, issuer != NULL ? issuer_cn : s->cn,
                    s, out);
  mbedtls_pk_free(&pk);
  return rv;
}

static int make_leaves(gen *g, mbedtls_pk_context *ca, tlst_certs *c, unsigned flags)
{
  static const char ca_cn[] = "rtweb test CA";
  const spec localhost = {"localhost", VALID_FROM, VALID_TO, 1, 0, 0};
  const spec other = {"other.example", VALID_FROM, VALID_TO, 0, 0, 0};
  const spec expired = {"localhost", "20000101000000", "20010101000000", 1, 0, 0};
  const spec future = {"localhost", "20900101000000", "20990101000000", 1, 0, 0};
  const spec wildcard = {"*.wild.example", VALID_FROM, VALID_TO, 0, 0, 0};
  const spec cn_only = {"cn-only.example", VALID_FROM, VALID_TO, 0, 0, 1};
  int rv;

  if ((rv = make_one(g, ca, ca_cn, &localhost, 0, &c->localhost)) != 0 ||
      (rv = make_one(g, ca, ca_cn, &other, 0, &c->other)) != 0 ||
      (rv = make_one(g, ca, ca_cn, &expired, 0, &c->expired)) != 0 ||
      (rv = make_one(g, ca, ca_cn, &future, 0, &c->future)) != 0 ||
      (rv = make_one(g, NULL, NULL, &localhost, 0, &c->self_signed)) != 0 ||
      (rv = make_one(g, ca, ca_cn, &wildcard, 0, &c->wildcard)) != 0 ||
      (rv = make_one(g, ca, ca_cn, &cn_only, 0, &c->cn_only)) != 0)
    return rv;
  if ((flags & TLST_CERTS_RSA) != 0) {
    if ((rv = make_one(g, ca, ca_cn, &localhost, 1, &c->rsa)) != 0)
      return rv;
    c->has_rsa = 1;
  }
  return 0;
}

static int make_all(gen *g, tlst_certs *c, unsigned flags)
{
  const spec ca_spec = {"rtweb test CA", VALID_FROM, VALID_TO, 0, 1, 0};
  mbedtls_pk_context ca;
  int rv;

  mbedtls_pk_init(&ca);
  if ((rv = make_key(g, &ca, 0)) == 0 && (rv = write_key(&ca, &c->ca)) == 0 &&
      (rv = write_cert(g, &ca, &ca, ca_spec.cn, &ca_spec, &c->ca)) == 0)
    rv = make_leaves(g, &ca, c, flags);
  mbedtls_pk_free(&ca);
  return rv;
}

int tlst_certs_make(tlst_certs *c, unsigned flags)
{
  static const char pers[] = "rtweb tls test certificates";
  gen g;
  int rv;

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
  if (psa_crypto_init() != PSA_SUCCESS)
    return -1;
#endif
  memset(c, 0, sizeof *c);
  memset(&g, 0, sizeof g);
  mbedtls_entropy_init(&g.entropy);
  mbedtls_ctr_drbg_init(&g.drbg);
  rv = mbedtls_ctr_drbg_seed(&g.drbg, mbedtls_entropy_func, &g.entropy,
                             (const unsigned char *)pers, sizeof pers - 1);
  if (rv == 0)
    rv = make_all(&g, c, flags);
  mbedtls_ctr_drbg_free(&g.drbg);
  mbedtls_entropy_free(&g.entropy);
  return rv;
}

const tlst_certs *tlst_certs_get(unsigned flags)
{
  static tlst_certs certs;
  static int made;

  if (!made || ((flags & TLST_CERTS_RSA) != 0 && !certs.has_rsa)) {
    int rv = tlst_certs_make(&certs, flags);
    if (rv != 0)
      fail_msg("making the test certificates: mbedTLS error -0x%04x", (unsigned)-rv);
    made = 1;
  }
  return &certs;
}
