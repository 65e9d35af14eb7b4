/* SPDX-License-Identifier: MIT */
/* The TLS seam over mbedTLS (backend.h): 2.28 (Debian 12) and 3.x, told apart by
 * MBEDTLS_VERSION_NUMBER. The only file of rtweb-tls that includes mbedTLS's ssl and x509
 * headers. Records go through memory: the bio callbacks read the input the engine is feeding
 * and append ciphertext to the engine's output; no socket, no clock of ours (certificate
 * validity and ticket lifetimes use mbedTLS's own wall-clock reads, MBEDTLS_HAVE_TIME_DATE). */
#include <mbedtls/version.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#  include <psa/crypto.h>
#endif

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "crypto.h"
#include "backend.h"
#include "gcm.h"
#include "record.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#  define RTW__MBED3 1
#  define RTW__PRIV(m) MBEDTLS_PRIVATE(m)
#else
#  define RTW__MBED3 0
#  define RTW__PRIV(m) m
/* 2.28: the record buffers' sizes and the handshake's randoms (the record path). */
#  include <mbedtls/ssl_internal.h>
#endif

/* The record path (record.c) needs the TLS 1.2 key block. mbedTLS 3.x exports the master
 * secret per connection; 2.28 exports the key block per configuration, so the connection it
 * belongs to is the one whose handshake step runs on this thread (a thread-local). */
#if RTW__MBED3
#  define RTW__RECORDS 1
#elif defined(MBEDTLS_SSL_EXPORT_KEYS)
#  if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#    define RTW__THREAD_LOCAL _Thread_local
#  elif defined(__GNUC__) || defined(__clang__)
#    define RTW__THREAD_LOCAL __thread
#  elif defined(_MSC_VER)
#    define RTW__THREAD_LOCAL __declspec(thread)
#  endif
#  if defined(RTW__THREAD_LOCAL)
#    define RTW__RECORDS 1
#  else
#    define RTW__RECORDS 0
#  endif
#else
#  define RTW__RECORDS 0
#endif
/* 3.2 brought what the 3.x branches use (mbedtls_ssl_is_handshake_over,
 * mbedtls_ssl_conf_min_tls_version, mbedtls_ssl_get_version_number) and 3.1 made
 * mbedtls_x509_crt's v3_ext and subject_alt_names public again. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && MBEDTLS_VERSION_NUMBER < 0x03020000
#  error "rtweb-tls needs mbedTLS 2.28, or 3.2 or later"
#endif

#define RTW__TLSB_ERRTEXT 200
#define RTW__KEY_BLOCK (2 * 32 + 2 * 4)

/* Forward-secret AEAD suites only (RFC 7525 4.2; RFC 9325), in the order of the backend's
 * speed; the server's order decides (mbedTLS's default). mbedTLS 2.28's AES-GCM is slow even
 * with AES-NI and PCLMULQDQ detected (GHASH one block at a time): timed on the bench machine
 * at about 180 MB/s against 300 MB/s for its portable ChaCha20-Poly1305 (docs/performance.md,
 * TLS), so 2.28 prefers ChaCha20-Poly1305 (RFC 7905) and 3.x AES-GCM. */
#if RTW__MBED3
#  define RTW__SUITES_FAST_FIRST                                                          \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                     \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                       \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                               \
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
#else
#  define RTW__SUITES_FAST_FIRST                                                          \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                               \
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,                                 \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                     \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
#endif
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
#  define RTW__SUITES_TLS13                                                               \
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,           \
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
#else
#  define RTW__SUITES_TLS13
#endif
static const int rtw__suites[] = {
  RTW__SUITES_TLS13
  RTW__SUITES_FAST_FIRST,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  0
};
/* With the record path (rtw__gcm_fast(): gcm.h's AES-NI kernels run on this CPU), TLS 1.2's
 * AES-GCM records are sealed by rtweb itself (record.c), faster than either of mbedTLS's
 * ciphers: AES-128-GCM comes first, then ChaCha20-Poly1305, then AES-256-GCM. */
static const int rtw__suites_records[] = {
  RTW__SUITES_TLS13
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  0
};

/* Key exchange groups, fastest first: X25519 (RFC 7748, 8422), then the NIST curves. mbedTLS
 * 2.28's own default puts secp521r1 first, which made a full handshake cost the server 1.7x
 * the CPU (docs/performance.md, TLS). On a client the list also bounds the curves accepted in
 * the server's certificate, so P-521 stays. */
#if RTW__MBED3
static const uint16_t rtw__groups[] = {
  MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
  MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
  MBEDTLS_SSL_IANA_TLS_GROUP_NONE
};
#else
static const mbedtls_ecp_group_id rtw__groups[] = {
#  if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
  MBEDTLS_ECP_DP_CURVE25519,
#  endif
  MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
  MBEDTLS_ECP_DP_NONE
};
#endif

struct rtw__tlsb_cert {
  mbedtls_x509_crt chain;
  mbedtls_pk_context key;
};

struct rtw__tlsb_conf {
  rtw_mem mem;
  rtw__tlsb_conf_params p;
  mbedtls_ssl_config ssl;
  mbedtls_ctr_drbg_context drbg;
#if defined(MBEDTLS_SSL_TICKET_C)
  mbedtls_ssl_ticket_context ticket;
  int ticket_on;
#endif
  mbedtls_x509_crt ca;
  int ca_set;
  struct rtw__tlsb_cert certs[RTW_TLS_MAX_CERTS];
  size_t ncerts;
  /* ALPN: the names copied into one buffer, and the NULL-terminated pointer list mbedTLS
   * keeps (RFC 7301 3.1) */
  char alpn_buf[RTW_TLS_MAX_ALPN + 1];
  const char *alpn[RTW_TLS_MAX_ALPN / 2 + 2];
  int err;
  char errtext[RTW__TLSB_ERRTEXT];
  int test_suites[2]; /* rtw__tlsb_conf_test_suite() */
};

struct rtw__tlsb {
  /* First member: mbedTLS hands callbacks the ssl context, which is the connection. */
  mbedtls_ssl_context ssl;
  rtw_mem mem;
  rtw__tlsb_conf *conf;
  void *io;
  rtw__tlsb_recv_fn recv;
  rtw__tlsb_send_fn send;
  int send_err;   /* an error from send(): reported instead of mbedTLS's WANT_WRITE */
  int starved;    /* recv() ran out of input since the last mbedtls_ssl_read() */
  size_t fetched; /* bytes recv() gave mbedTLS, all told */
  /* During rtw__tlsb_read() on mbedTLS's path: what its sends may still take (room), and
   * whether one went past it (over): then nothing more is sent or read in that call. */
  int reading;
  int over;
  size_t room;
  int raw;        /* mbedTLS code of the sticky error */
  int alert_in;   /* description of a fatal alert received, -1 when none */
  int alert_out;  /* description of a fatal alert we sent during the handshake, -1 when none */
  int ip_check;   /* client: server_name is an IP literal, checked in verify_cb */
  unsigned char ip[16];
  size_t ip_len;
  int full_hs;    /* the server's certificate was part of the handshake */
  int done;
  int cert_index; /* server: the certificate chosen (SNI), -1 before */
  char sni[RTW_TLS_MAX_SERVER_NAME + 1];
  int has_sni;
  /* The record path (record.c): the key block captured during the handshake (RFC 5246
   * 6.3: two keys of up to 32 bytes and two 4-byte IVs), wiped at the handover; then the
   * record layer that protects the records instead of mbedTLS. */
  unsigned char kb[RTW__KEY_BLOCK];
  int kb_set;
  rtw__rec *rec;
  rtw__tlsb_direct direct;
#if RTW__MBED3
  /* Client: the session last exported, serialised. From 3.0 on mbedtls_ssl_get_session()
   * exports a session once (until a TLS 1.3 NewSessionTicket replaces it), so the bytes are
   * kept for rtw_tls_session_save() to be asked again (its size first, then the bytes). */
  unsigned char *saved;
  size_t saved_len;
#endif
};

/* ====================================================================== helpers */

static int entropy_cb(void *ctx, unsigned char *out, size_t len)
{
  rtw__tlsb_conf *c = ctx;
  int rv;
  if (c->p.random != NULL)
    rv = c->p.random(out, len, c->p.random_user_data);
  else
    rv = rtw__random(out, len);
  return rv == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static void set_text(char *dst, int raw, const char *what)
{
  char m[128];
  m[0] = '\0';
  if (raw != 0)
    mbedtls_strerror(raw, m, sizeof m);
  if (what != NULL && m[0] != '\0')
    snprintf(dst, RTW__TLSB_ERRTEXT, "%s: %s", what, m);
  else if (what != NULL)
    snprintf(dst, RTW__TLSB_ERRTEXT, "%s", what);
  else
    snprintf(dst, RTW__TLSB_ERRTEXT, "%s", m);
}

void rtw__tlsb_conf_set_error(rtw__tlsb_conf *c, int raw, const char *what)
{
  c->err = raw != 0 ? raw : -1;
  set_text(c->errtext, raw, what);
}

size_t rtw__tlsb_conf_error_text(const rtw__tlsb_conf *c, char *buf, size_t cap)
{
  size_t n = c->err == 0 ? 0 : strlen(c->errtext);
  if (cap > 0 && buf != NULL) {
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(buf, c->errtext, k);
    buf[k] = '\0';
  }
  return n;
}

size_t rtw__tlsb_conf_cert_count(const rtw__tlsb_conf *c) { return c->ncerts; }

void rtw__tlsb_conf_test_suite(rtw__tlsb_conf *c, int suite)
{
  c->test_suites[0] = suite;
  c->test_suites[1] = 0;
  mbedtls_ssl_conf_ciphersuites(&c->ssl, c->test_suites);
#if RTW__MBED3
  mbedtls_ssl_conf_max_tls_version(&c->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
}

/* mbedTLS's PEM parser wants a NUL-terminated buffer whose length counts the NUL. */
static unsigned char *nul_copy(const rtw_mem *mem, const char *p, size_t n)
{
  unsigned char *q;
  if (n == SIZE_MAX)
    return NULL;
  q = rtw__mem_malloc(mem, n + 1);
  if (q == NULL)
    return NULL;
  if (n > 0)
    memcpy(q, p, n);
  q[n] = '\0';
  return q;
}

/* ====================================================================== names (SNI, RFC 6125) */

static int ascii_lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

static int name_eq(const unsigned char *a, size_t an, const char *b, size_t bn)
{
  size_t i;
  if (an != bn)
    return 0;
  for (i = 0; i < an; i++)
    if (ascii_lower(a[i]) != ascii_lower((unsigned char)b[i]))
      return 0;
  return 1;
}

/* A certificate name (possibly "*.example.com": one whole left-most label, RFC 6125 6.4.3)
 * against a host name. */
static int name_match(const unsigned char *pat, size_t pn, const char *host, size_t hn)
{
  if (pn >= 2 && pat[0] == '*' && pat[1] == '.') {
    const char *dot = memchr(host, '.', hn);
    if (dot == NULL || dot == host)
      return 0;
    return name_eq(pat + 1, pn - 1, dot, hn - (size_t)(dot - host));
  }
  return name_eq(pat, pn, host, hn);
}

static int cert_matches(const mbedtls_x509_crt *crt, const char *host, size_t hn)
{
  const mbedtls_x509_sequence *s;
  const mbedtls_x509_name *n;
  int had_dns = 0;
  for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL; s = s->next) {
    if ((s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME)
      continue;
    had_dns = 1;
    if (name_match(s->buf.p, s->buf.len, host, hn))
      return 1;
  }
  if (had_dns)
    return 0; /* RFC 6125 6.4.4: the CN counts only without DNS-ID entries */
  for (n = &crt->subject; n != NULL; n = n->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
        name_match(n->val.p, n->val.len, host, hn))
      return 1;
  return 0;
}

/* Server: choose the certificate for the name the client sent (RFC 6066 3). */
static int sni_cb(void *ctx, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
  rtw__tlsb_conf *c = ctx;
  rtw__tlsb *b = (rtw__tlsb *)(void *)ssl;
  int idx = -1;
  size_t i;
  if (len == 0 || len > RTW_TLS_MAX_SERVER_NAME)
    return -1;
  memcpy(b->sni, name, len);
  b->sni[len] = '\0';
  b->has_sni = 1;
  if (c->p.sni != NULL) {
    idx = c->p.sni(c->p.owner, (const char *)name, len, c->p.sni_user_data);
    if (idx < 0 || (size_t)idx >= c->ncerts)
      return -1; /* mbedTLS answers unrecognized_name */
  } else {
    for (i = 0; i < c->ncerts && idx < 0; i++)
      if (cert_matches(&c->certs[i].chain, (const char *)name, len))
        idx = (int)i;
    if (idx < 0)
      idx = 0;
  }
  b->cert_index = idx;
  return mbedtls_ssl_set_hs_own_cert(ssl, &c->certs[idx].chain, &c->certs[idx].key);
}

/* ---------------------------------------------------------------- IP literals */

static int hexval(int ch)
{
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = ascii_lower(ch);
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

static int parse_ipv4(const char *s, unsigned char out[4])
{
  int part = 0;
  unsigned v = 0;
  int digits = 0;
  for (;; s++) {
    if (*s >= '0' && *s <= '9') {
      if (digits > 0 && v == 0)
        return 0; /* no leading zeros */
      v = v * 10 + (unsigned)(*s - '0');
      if (v > 255 || ++digits > 3)
        return 0;
    } else if (*s == '.' || *s == '\0') {
      if (digits == 0 || part > 3)
        return 0;
      out[part++] = (unsigned char)v;
      v = 0;
      digits = 0;
      if (*s == '\0')
        return part == 4;
    } else {
      return 0;
    }
  }
}

/* RFC 4291 2.2 text forms, without an embedded IPv4 tail or zone. Brackets already removed. */
static int parse_ipv6(const char *s, unsigned char out[16])
{
  unsigned short g[8];
  int n = 0, gap = -1, i;
  if (s[0] == ':' && s[1] == ':') {
    gap = 0;
    s += 2;
  }
  while (*s != '\0') {
    unsigned v = 0;
    int d = 0, h;
    while ((h = hexval(*s)) >= 0) {
      v = v * 16 + (unsigned)h;
      if (++d > 4)
        return 0;
      s++;
    }
    if (d == 0 || n >= 8)
      return 0;
    g[n++] = (unsigned short)v;
    if (*s == ':') {
      s++;
      if (*s == ':') {
        if (gap >= 0)
          return 0;
        gap = n;
        s++;
      } else if (*s == '\0') {
        return 0;
      }
    } else if (*s != '\0') {
      return 0;
    }
  }
  if (gap < 0 ? n != 8 : n > 7)
    return 0;
  memset(out, 0, 16);
  for (i = 0; i < n; i++) {
    int pos = (gap >= 0 && i >= gap) ? 8 - (n - i) : i;
    out[2 * pos] = (unsigned char)(g[i] >> 8);
    out[2 * pos + 1] = (unsigned char)(g[i] & 0xff);
  }
  return 1;
}

/* Whether the leaf's subjectAltName holds iPAddress == b->ip (RFC 5280 4.2.1.6). mbedTLS 2.28
 * lists only dNSName entries in subject_alt_names, so the extension is read from v3_ext. */
static int cert_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t ip_len)
{
  unsigned char *p = crt->v3_ext.p;
  const unsigned char *end;
  size_t len;
  if (p == NULL || crt->v3_ext.len == 0)
    return 0;
  end = p + crt->v3_ext.len;
  if (*p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3)) {
    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3) != 0)
      return 0;
    end = p + len;
  }
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
    return 0;
  end = p + len;
  while (p < end) {
    unsigned char *ext_end, *oid;
    size_t oid_len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
      return 0;
    ext_end = p + len;
    if (mbedtls_asn1_get_tag(&p, ext_end, &oid_len, MBEDTLS_ASN1_OID) != 0)
      return 0;
    oid = p;
    p += oid_len;
    if (oid_len == MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME) &&
        memcmp(oid, MBEDTLS_OID_SUBJECT_ALT_NAME, oid_len) == 0) {
      unsigned char *names_end;
      if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN) {
        int critical;
        if (mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0)
          return 0;
      }
      if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
          mbedtls_asn1_get_tag(&p, p + len, &len,
                               MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return 0;
      names_end = p + len;
      while (p < names_end) {
        unsigned char tag = *p++;
        if (mbedtls_asn1_get_len(&p, names_end, &len) != 0)
          return 0;
        if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) &&
            len == ip_len && memcmp(p, ip, ip_len) == 0)
          return 1;
        p += len;
      }
      return 0;
    }
    p = ext_end;
  }
  return 0;
}

/* Client verification hook (per connection): an IP literal is checked against the leaf's
 * iPAddress entries, as mbedTLS 2.28 only compares DNS names. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
  rtw__tlsb *b = ctx;
  if (depth == 0 && b->ip_check && !cert_has_ip(crt, b->ip, b->ip_len))
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
}

/* ====================================================================== the record path: keys */

#if RTW__RECORDS && !RTW__MBED3
static RTW__THREAD_LOCAL rtw__tlsb *stepping; /* whose handshake step runs on this thread */

/* mbedTLS 2.28, once per handshake (full or resumed), from the step that derives the keys:
 * the RFC 5246 6.3 key block. The AES-GCM suites have no MAC keys and 4-byte write IVs;
 * anything else is not for the record path. */
static int export_keys(void *ctx, const unsigned char *ms, const unsigned char *kb,
                       size_t maclen, size_t keylen, size_t ivlen,
                       const unsigned char client_random[32],
                       const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
  rtw__tlsb *b = stepping;
  (void)ctx;
  (void)ms;
  (void)client_random;
  (void)prf;
  /* mbedTLS passes the randoms of the handshake it is deriving for: it must be this one */
  if (b == NULL || b->ssl.handshake == NULL ||
      (server_random != b->ssl.handshake->randbytes &&
       server_random != b->ssl.handshake->randbytes + 32))
    return 0;
  if (maclen != 0 || ivlen != 4 || (keylen != 16 && keylen != 32))
    return 0;
  memcpy(b->kb, kb, 2 * keylen + 2 * ivlen);
  b->kb_set = (int)keylen;
  return 0;
}
#elif RTW__RECORDS
/* mbedTLS 3.x, per connection: for TLS 1.2 the master secret, from which the key block is
 * derived as the record layer does (RFC 5246 6.3: PRF(master_secret, "key expansion",
 * server_random + client_random)); the first 2 * 32 + 2 * 4 bytes serve either key size.
 * TLS 1.3's secrets are not for the record path. */
static void export_keys(void *ctx, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                        size_t secret_len, const unsigned char client_random[32],
                        const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
  rtw__tlsb *b = ctx;
  unsigned char seed[64];
  if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET || secret_len != 48)
    return;
  memcpy(seed, server_random, 32);
  memcpy(seed + 32, client_random, 32);
  if (mbedtls_ssl_tls_prf(prf, secret, secret_len, "key expansion", seed, sizeof seed, b->kb,
                          sizeof b->kb) == 0)
    b->kb_set = -1; /* the key size follows from the suite */
}
#endif

/* ====================================================================== configuration */

int rtw__tlsb_conf_new(rtw__tlsb_conf **out, const rtw__tlsb_conf_params *p, const rtw_mem *mem)
{
  static const char pers[] = "rtweb-tls";
  rtw__tlsb_conf *c;
  int rv;
  *out = NULL;
#if RTW__MBED3 && defined(MBEDTLS_PSA_CRYPTO_C)
  /* mbedTLS 3.x: TLS 1.3 and MBEDTLS_USE_PSA_CRYPTO run on PSA, which must be initialised
   * first (idempotent). */
  if (psa_crypto_init() != PSA_SUCCESS)
    return RTW_ERR_TLS_BACKEND;
#endif
  c = rtw__mem_calloc(mem, 1, sizeof *c);
  if (c == NULL)
    return RTW_ERR_NOMEM;
  c->mem = *mem;
  c->p = *p;
  mbedtls_ssl_config_init(&c->ssl);
  mbedtls_ctr_drbg_init(&c->drbg);
  mbedtls_x509_crt_init(&c->ca);
#if defined(MBEDTLS_SSL_TICKET_C)
  mbedtls_ssl_ticket_init(&c->ticket);
#endif
  /* The DRBG is seeded from the crypto seam (or the host's RNG) and reseeds itself from it. */
  rv = mbedtls_ctr_drbg_seed(&c->drbg, entropy_cb, c, (const unsigned char *)pers,
                             sizeof pers - 1);
  if (rv != 0)
    goto fail;
  rv = mbedtls_ssl_config_defaults(&c->ssl,
                                   p->role == RTW_TLS_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER
                                                                  : MBEDTLS_SSL_IS_CLIENT,
                                   MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (rv != 0)
    goto fail;
  mbedtls_ssl_conf_rng(&c->ssl, mbedtls_ctr_drbg_random, &c->drbg);
  mbedtls_ssl_conf_ciphersuites(&c->ssl, rtw__gcm_fast() && !(p->flags & RTW_TLS_BACKEND_RECORDS)
                                             ? rtw__suites_records
                                             : rtw__suites);
#if RTW__RECORDS && !RTW__MBED3
  if (!(p->flags & RTW_TLS_BACKEND_RECORDS))
    mbedtls_ssl_conf_export_keys_ext_cb(&c->ssl, export_keys, c);
#endif
#if RTW__MBED3
  mbedtls_ssl_conf_groups(&c->ssl, rtw__groups);
#else
  mbedtls_ssl_conf_curves(&c->ssl, rtw__groups);
#endif
  /* TLS 1.2 at least (RFC 8996 deprecates 1.0 and 1.1). */
#if RTW__MBED3
  mbedtls_ssl_conf_min_tls_version(&c->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
#else
  mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
  if (p->role == RTW_TLS_ROLE_SERVER) {
    mbedtls_ssl_conf_authmode(&c->ssl, MBEDTLS_SSL_VERIFY_NONE); /* no client certificates */
    mbedtls_ssl_conf_sni(&c->ssl, sni_cb, c);
#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
    if (!(p->flags & RTW_TLS_NO_TICKETS)) {
      /* RFC 5077 tickets sealed with AES-256-GCM under keys that rotate every lifetime. */
      uint32_t lifetime = p->ticket_lifetime_s;
#  if RTW__MBED3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
      /* RFC 8446 4.6.1: a TLS 1.3 ticket lives 7 days at most; mbedTLS 3.x fails the
       * connection (after its handshake) rather than send a longer one. */
      if (lifetime > 604800u)
        lifetime = 604800u;
#  endif
      rv = mbedtls_ssl_ticket_setup(&c->ticket, mbedtls_ctr_drbg_random, &c->drbg,
                                    MBEDTLS_CIPHER_AES_256_GCM, lifetime);
      if (rv != 0)
        goto fail;
      c->ticket_on = 1;
      mbedtls_ssl_conf_session_tickets_cb(&c->ssl, mbedtls_ssl_ticket_write,
                                          mbedtls_ssl_ticket_parse, &c->ticket);
    }
#endif
  } else {
    mbedtls_ssl_conf_authmode(&c->ssl, (p->flags & RTW_TLS_INSECURE) ? MBEDTLS_SSL_VERIFY_NONE
                                                                     : MBEDTLS_SSL_VERIFY_REQUIRED);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(&c->ssl, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#  if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED)
    /* mbedTLS 3.6.1 and later: a TLS 1.3 client ignores NewSessionTicket (RFC 8446 4.6.1)
     * unless asked; taken, each one surfaces as MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
     * from mbedtls_ssl_read(), which rtw__tlsb_read() steps over, and is exported by
     * rtw__tlsb_session_save(). */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &c->ssl, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#  endif
#endif
  }
  rv = rtw__tlsb_conf_set_alpn(c, "http/1.1", 8);
  if (rv != 0) {
    rtw__tlsb_conf_free(c);
    return rv;
  }
  *out = c;
  return 0;
fail:
  rtw__tlsb_conf_free(c);
  return rv == MBEDTLS_ERR_SSL_ALLOC_FAILED ? RTW_ERR_NOMEM : RTW_ERR_TLS_BACKEND;
}

void rtw__tlsb_conf_free(rtw__tlsb_conf *c)
{
  size_t i;
  if (c == NULL)
    return;
  for (i = 0; i < c->ncerts; i++) {
    mbedtls_x509_crt_free(&c->certs[i].chain);
    mbedtls_pk_free(&c->certs[i].key); /* zeroizes the key */
  }
  mbedtls_x509_crt_free(&c->ca);
#if defined(MBEDTLS_SSL_TICKET_C)
  mbedtls_ssl_ticket_free(&c->ticket);
#endif
  mbedtls_ssl_config_free(&c->ssl);
  mbedtls_ctr_drbg_free(&c->drbg);
  {
    rtw_mem mem = c->mem;
    mbedtls_platform_zeroize(c, sizeof *c);
    rtw__mem_free(&mem, c);
  }
}

int rtw__tlsb_conf_add_cert(rtw__tlsb_conf *c, const char *chain, size_t chain_len,
                            const char *key, size_t key_len)
{
  struct rtw__tlsb_cert *ct = &c->certs[c->ncerts];
  unsigned char *pem_c = NULL, *pem_k = NULL;
  int rv;
  c->err = 0;
  pem_c = nul_copy(&c->mem, chain, chain_len);
  pem_k = nul_copy(&c->mem, key, key_len);
  if (pem_c == NULL || pem_k == NULL) {
    if (pem_c != NULL)
      rtw__mem_free(&c->mem, pem_c);
    if (pem_k != NULL) {
      mbedtls_platform_zeroize(pem_k, key_len + 1);
      rtw__mem_free(&c->mem, pem_k);
    }
    return RTW_ERR_NOMEM;
  }
  mbedtls_x509_crt_init(&ct->chain);
  mbedtls_pk_init(&ct->key);
  rv = mbedtls_x509_crt_parse(&ct->chain, pem_c, chain_len + 1);
  if (rv != 0) {
    rtw__tlsb_conf_set_error(c, rv, "certificate chain");
    goto fail;
  }
#if RTW__MBED3
  rv = mbedtls_pk_parse_key(&ct->key, pem_k, key_len + 1, NULL, 0, mbedtls_ctr_drbg_random,
                            &c->drbg);
#else
  rv = mbedtls_pk_parse_key(&ct->key, pem_k, key_len + 1, NULL, 0);
#endif
  if (rv != 0) {
    rtw__tlsb_conf_set_error(c, rv, "private key");
    goto fail;
  }
#if RTW__MBED3
  rv = mbedtls_pk_check_pair(&ct->chain.pk, &ct->key, mbedtls_ctr_drbg_random, &c->drbg);
#else
  rv = mbedtls_pk_check_pair(&ct->chain.pk, &ct->key);
#endif
  if (rv != 0) {
    rtw__tlsb_conf_set_error(c, rv, "the private key does not match the certificate");
    goto fail;
  }
  if (c->ncerts == 0) {
    /* The default certificate, used without SNI or when the callback is not consulted. */
    rv = mbedtls_ssl_conf_own_cert(&c->ssl, &ct->chain, &ct->key);
    if (rv != 0) {
      rtw__tlsb_conf_set_error(c, rv, "certificate");
      goto fail;
    }
  }
  rtw__mem_free(&c->mem, pem_c);
  mbedtls_platform_zeroize(pem_k, key_len + 1);
  rtw__mem_free(&c->mem, pem_k);
  return (int)c->ncerts++;
fail:
  mbedtls_x509_crt_free(&ct->chain);
  mbedtls_pk_free(&ct->key);
  rtw__mem_free(&c->mem, pem_c);
  mbedtls_platform_zeroize(pem_k, key_len + 1);
  rtw__mem_free(&c->mem, pem_k);
  return RTW_ERR_TLS_CONFIG;
}

int rtw__tlsb_conf_set_ca(rtw__tlsb_conf *c, const char *pem, size_t len)
{
  unsigned char *z;
  mbedtls_x509_crt ca;
  int rv;
  c->err = 0;
  z = nul_copy(&c->mem, pem, len);
  if (z == NULL)
    return RTW_ERR_NOMEM;
  mbedtls_x509_crt_init(&ca);
  /* A bundle may hold certificates mbedTLS cannot parse (rv > 0: how many were skipped);
   * that is fine as long as at least one was taken. */
  rv = mbedtls_x509_crt_parse(&ca, z, len + 1);
  rtw__mem_free(&c->mem, z);
  if (rv < 0 || ca.raw.p == NULL) {
    rtw__tlsb_conf_set_error(c, rv < 0 ? rv : 0, "CA certificates");
    mbedtls_x509_crt_free(&ca);
    return RTW_ERR_TLS_CONFIG;
  }
  mbedtls_x509_crt_free(&c->ca);
  c->ca = ca; /* the list's first node is a value; its next pointers stay valid */
  c->ca_set = 1;
  mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
  return 0;
}

int rtw__tlsb_conf_set_alpn(rtw__tlsb_conf *c, const char *list, size_t len)
{
  size_t i, n = 0;
  if (len == 0) {
    /* No ALPN: no extension offered, the client's ignored (RFC 7301 3.1). mbedTLS's setter
     * rejects an empty list and reads a NULL one, so the list is cleared directly. */
    c->alpn[0] = NULL;
#if defined(MBEDTLS_SSL_ALPN)
    c->ssl.RTW__PRIV(alpn_list) = NULL;
#endif
    return 0;
  }
  memcpy(c->alpn_buf, list, len);
  c->alpn_buf[len] = '\0';
  c->alpn[n++] = c->alpn_buf;
  for (i = 0; i < len; i++)
    if (c->alpn_buf[i] == ',') {
      c->alpn_buf[i] = '\0';
      c->alpn[n++] = c->alpn_buf + i + 1;
    }
  c->alpn[n] = NULL;
#if defined(MBEDTLS_SSL_ALPN)
  if (mbedtls_ssl_conf_alpn_protocols(&c->ssl, c->alpn) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  return 0;
#else
  return RTW_ERR_UNSUPPORTED;
#endif
}

/* ====================================================================== connections */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
  rtw__tlsb *b = ctx;
  int rv;
  if (len > (size_t)INT32_MAX)
    len = (size_t)INT32_MAX;
  /* During the handshake records are plaintext: a fatal alert of ours is visible here as
   * [21, 3, x, 0, 2, level 2, description] (RFC 5246 6.2.1, 7.2). */
  if (!b->done && len >= 7 && buf[0] == MBEDTLS_SSL_MSG_ALERT && buf[3] == 0 && buf[4] == 2 &&
      buf[5] == MBEDTLS_SSL_ALERT_LEVEL_FATAL)
    b->alert_out = buf[6];
  if (b->reading && b->over)
    return MBEDTLS_ERR_SSL_WANT_WRITE; /* past the read's room: rtw__tlsb_read() stops */
  rv = b->send(b->io, buf, len);
  if (rv != 0) {
    b->send_err = rv;
    return MBEDTLS_ERR_SSL_WANT_WRITE; /* surfaces as send_err */
  }
  if (b->reading) {
    if (len > b->room)
      b->over = 1;
    else
      b->room -= len;
  }
  return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
  rtw__tlsb *b = ctx;
  size_t n;
  if (len > (size_t)INT32_MAX)
    len = (size_t)INT32_MAX;
  if (b->reading && b->over)
    return MBEDTLS_ERR_SSL_WANT_READ; /* no further record once past the read's room */
  n = b->recv(b->io, buf, len);
  if (n == 0) {
    b->starved = 1;
    return MBEDTLS_ERR_SSL_WANT_READ;
  }
  b->fetched += n;
  return (int)n;
}

const char *rtw__tlsb_version(void)
{
  return MBEDTLS_VERSION_STRING_FULL;
}

int rtw__tlsb_new(rtw__tlsb **out, rtw__tlsb_conf *c, const char *server_name, void *io,
                  rtw__tlsb_recv_fn recv, rtw__tlsb_send_fn send, const rtw_mem *mem)
{
  rtw__tlsb *b;
  int rv;
  *out = NULL;
  b = rtw__mem_calloc(mem, 1, sizeof *b);
  if (b == NULL)
    return RTW_ERR_NOMEM;
  b->mem = *mem;
  b->conf = c;
  b->io = io;
  b->recv = recv;
  b->send = send;
  b->alert_in = -1;
  b->alert_out = -1;
  b->cert_index = -1;
  mbedtls_ssl_init(&b->ssl);
  rv = mbedtls_ssl_setup(&b->ssl, &c->ssl);
  if (rv != 0) {
    mbedtls_ssl_free(&b->ssl);
    rtw__mem_free(mem, b);
    return rv == MBEDTLS_ERR_SSL_ALLOC_FAILED ? RTW_ERR_NOMEM : RTW_ERR_TLS_BACKEND;
  }
  mbedtls_ssl_set_bio(&b->ssl, b, bio_send, bio_recv, NULL);
#if RTW__RECORDS && RTW__MBED3
  if (!(c->p.flags & RTW_TLS_BACKEND_RECORDS))
    mbedtls_ssl_set_export_keys_cb(&b->ssl, export_keys, b);
#endif
  if (server_name != NULL) {
    unsigned char ip[16];
    if (parse_ipv4(server_name, ip)) {
      memcpy(b->ip, ip, 4);
      b->ip_len = 4;
    } else if (parse_ipv6(server_name, ip)) {
      memcpy(b->ip, ip, 16);
      b->ip_len = 16;
    }
    if (b->ip_len > 0) {
      /* RFC 6066 3: literal IPv4 and IPv6 addresses are not sent as SNI. mbedTLS then skips
       * its name check and verify_cb compares the address. */
      b->ip_check = !(c->p.flags & RTW_TLS_INSECURE);
      mbedtls_ssl_set_verify(&b->ssl, verify_cb, b);
      /* No name to compare, said explicitly: mbedTLS 3.6.3 and later refuse to verify a
       * certificate when mbedtls_ssl_set_hostname() was never called
       * (MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME); NULL is the documented
       * opt-out, and a no-op in older releases. The address is compared by verify_cb. */
      rv = mbedtls_ssl_set_hostname(&b->ssl, NULL);
      if (rv != 0) {
        mbedtls_ssl_free(&b->ssl);
        rtw__mem_free(mem, b);
        return RTW_ERR_TLS_BACKEND;
      }
    } else {
      rv = mbedtls_ssl_set_hostname(&b->ssl, server_name);
      if (rv != 0) {
        mbedtls_ssl_free(&b->ssl);
        rtw__mem_free(mem, b);
        return rv == MBEDTLS_ERR_SSL_ALLOC_FAILED ? RTW_ERR_NOMEM : RTW_ERR_INVALID_ARGUMENT;
      }
    }
    snprintf(b->sni, sizeof b->sni, "%s", server_name);
    b->has_sni = 1;
  }
  *out = b;
  return 0;
}

void rtw__tlsb_set_direct(rtw__tlsb *b, const rtw__tlsb_direct *d) { b->direct = *d; }

void rtw__tlsb_free(rtw__tlsb *b)
{
  rtw_mem mem;
  if (b == NULL)
    return;
  mem = b->mem;
  if (b->rec != NULL) {
    rtw__rec_wipe(b->rec); /* before mbedTLS frees the buffers it lent */
    mbedtls_platform_zeroize(b->rec, sizeof *b->rec);
    rtw__mem_free(&mem, b->rec);
  }
  mbedtls_platform_zeroize(b->kb, sizeof b->kb);
  mbedtls_ssl_free(&b->ssl); /* zeroizes keys and buffers */
#if RTW__MBED3
  if (b->saved != NULL) {
    mbedtls_platform_zeroize(b->saved, b->saved_len);
    rtw__mem_free(&mem, b->saved);
  }
#endif
  rtw__mem_free(&mem, b);
}

int rtw__tlsb_set_session(rtw__tlsb *b, const void *data, size_t len)
{
  mbedtls_ssl_session s;
  int rv;
  mbedtls_ssl_session_init(&s);
  rv = mbedtls_ssl_session_load(&s, data, len);
  if (rv == 0)
    rv = mbedtls_ssl_set_session(&b->ssl, &s);
  mbedtls_ssl_session_free(&s);
  if (rv == MBEDTLS_ERR_SSL_ALLOC_FAILED)
    return RTW_ERR_NOMEM;
  return rv == 0 ? 0 : RTW_ERR_INVALID_ARGUMENT;
}

#if RTW__MBED3
/* Whether a TLS 1.3 session holds no ticket to resume with: TLS 1.3 resumes only with a
 * ticket (RFC 8446 2.2), which the server sends after the handshake (4.6.1). */
static int tls13_without_ticket(const rtw__tlsb *b, const mbedtls_ssl_session *s)
{
#  if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  if (mbedtls_ssl_get_version_number(&b->ssl) != MBEDTLS_SSL_VERSION_TLS1_3)
    return 0;
#    if defined(MBEDTLS_SSL_SESSION_TICKETS)
  return s->MBEDTLS_PRIVATE(ticket) == NULL || s->MBEDTLS_PRIVATE(ticket_len) == 0;
#    else
  (void)s;
  return 1;
#    endif
#  else
  (void)b;
  (void)s;
  return 0;
#  endif
}

/* Export the connection's session into b->saved if mbedTLS has one not exported yet (the
 * first call, or a new TLS 1.3 ticket since the last); keep the earlier bytes otherwise. */
static int export_session(rtw__tlsb *b)
{
  mbedtls_ssl_session s;
  unsigned char *p;
  size_t n = 0;
  int rv;
  mbedtls_ssl_session_init(&s);
  rv = mbedtls_ssl_get_session(&b->ssl, &s);
  if (rv == MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE) {
    rv = 0; /* exported before and nothing new */
    goto out;
  }
  if (rv != 0) {
    rv = rv == MBEDTLS_ERR_SSL_ALLOC_FAILED ? RTW_ERR_NOMEM : RTW_ERR_INVALID_STATE;
    goto out;
  }
  if (tls13_without_ticket(b, &s))
    goto out; /* nothing to resume with yet; a ticket exports again */
  rv = mbedtls_ssl_session_save(&s, NULL, 0, &n);
  if (rv != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL || n == 0) {
    rv = RTW_ERR_TLS_BACKEND;
    goto out;
  }
  p = rtw__mem_malloc(&b->mem, n);
  if (p == NULL) {
    rv = RTW_ERR_NOMEM;
    goto out;
  }
  rv = mbedtls_ssl_session_save(&s, p, n, &n);
  if (rv != 0) {
    mbedtls_platform_zeroize(p, n);
    rtw__mem_free(&b->mem, p);
    rv = RTW_ERR_TLS_BACKEND;
    goto out;
  }
  if (b->saved != NULL) {
    mbedtls_platform_zeroize(b->saved, b->saved_len);
    rtw__mem_free(&b->mem, b->saved);
  }
  b->saved = p;
  b->saved_len = n;
out:
  mbedtls_ssl_session_free(&s);
  return rv;
}

int rtw__tlsb_session_save(rtw__tlsb *b, void *buf, size_t cap, size_t *len)
{
  int rv = export_session(b);
  *len = 0;
  if (rv != 0)
    return rv;
  if (b->saved == NULL)
    return RTW_ERR_INVALID_STATE; /* TLS 1.3 before the server's first ticket */
  *len = b->saved_len;
  if (cap < b->saved_len)
    return RTW_ERR_BUFFER_TOO_SMALL;
  memcpy(buf, b->saved, b->saved_len);
  return 0;
}
#else
int rtw__tlsb_session_save(rtw__tlsb *b, void *buf, size_t cap, size_t *len)
{
  mbedtls_ssl_session s;
  int rv;
  *len = 0;
  mbedtls_ssl_session_init(&s);
  rv = mbedtls_ssl_get_session(&b->ssl, &s);
  if (rv == 0) {
    rv = mbedtls_ssl_session_save(&s, buf, cap, len);
    if (rv == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL)
      rv = RTW_ERR_BUFFER_TOO_SMALL;
    else if (rv != 0)
      rv = RTW_ERR_TLS_BACKEND;
  } else {
    rv = rv == MBEDTLS_ERR_SSL_ALLOC_FAILED ? RTW_ERR_NOMEM : RTW_ERR_INVALID_STATE;
  }
  mbedtls_ssl_session_free(&s);
  return rv;
}

#endif

/* A TLS 1.3 record that failed authentication but is an unprotected fatal alert: outer type
 * alert, 2 bytes [level 2, description]. Protected TLS 1.3 records have the outer type
 * application_data (RFC 8446 5.2), but mbedTLS 3.x clients send the alerts that end their
 * handshake (a refused certificate, say) in clear until they switch to the handshake keys
 * for their second flight, while the server already expects those keys. Read so, the server
 * reports the client's reason instead of a bad record MAC. The record is intact: an AEAD
 * record shorter than its tag is refused before anything is decrypted. */
static int plaintext_alert(rtw__tlsb *b)
{
#if RTW__MBED3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
  const unsigned char *h = b->ssl.MBEDTLS_PRIVATE(in_hdr);
  if (h == NULL || mbedtls_ssl_get_version_number(&b->ssl) != MBEDTLS_SSL_VERSION_TLS1_3)
    return 0;
  if (h[0] != MBEDTLS_SSL_MSG_ALERT || h[3] != 0 || h[4] != 2 ||
      h[5] != MBEDTLS_SSL_ALERT_LEVEL_FATAL)
    return 0;
  b->alert_in = h[6];
  return 1;
#else
  (void)b;
  return 0;
#endif
}

/* mbedTLS's code to rtweb's, remembering the raw one and a received alert. */
static int map_error(rtw__tlsb *b, int rv)
{
  if (b->send_err != 0) {
    b->raw = MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return b->send_err;
  }
  b->raw = rv;
  switch (rv) {
  case MBEDTLS_ERR_SSL_ALLOC_FAILED:
    return RTW_ERR_NOMEM;
  case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
  case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED: /* verifying client without a CA list */
    return RTW_ERR_TLS_VERIFY;
  case MBEDTLS_ERR_SSL_INVALID_MAC:
    if (plaintext_alert(b)) {
      b->raw = MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
      return b->alert_in == MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL ? RTW_ERR_TLS_ALPN
                                                                         : RTW_ERR_TLS_ALERT;
    }
    return RTW_ERR_TLS_BAD_RECORD;
  case MBEDTLS_ERR_SSL_INVALID_RECORD:
#ifdef MBEDTLS_ERR_SSL_DECODE_ERROR
  case MBEDTLS_ERR_SSL_DECODE_ERROR:
#endif
    return RTW_ERR_TLS_BAD_RECORD;
  case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
    /* The record holding the alert is still in in_msg: [level, description]. */
    if (b->ssl.RTW__PRIV(in_msgtype) == MBEDTLS_SSL_MSG_ALERT && b->ssl.RTW__PRIV(in_msg) != NULL)
      b->alert_in = b->ssl.RTW__PRIV(in_msg)[1];
    if (b->alert_in == MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL)
      return RTW_ERR_TLS_ALPN;
    return RTW_ERR_TLS_ALERT;
#ifdef MBEDTLS_ERR_SSL_NO_APPLICATION_PROTOCOL
  case MBEDTLS_ERR_SSL_NO_APPLICATION_PROTOCOL:
    return RTW_ERR_TLS_ALPN;
#endif
  case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:
    /* Our arguments are valid, so this is the peer's: mbedTLS 2.28 reports a record header
     * announcing more than 2^14 + 2048 bytes so. RFC 5246 6.2.3, 7.2.2: record_overflow. */
    mbedtls_ssl_send_alert_message(&b->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_RECORD_OVERFLOW);
    return RTW_ERR_TLS_BAD_RECORD;
  case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
  case MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG:
  case MBEDTLS_ERR_SSL_INTERNAL_ERROR:
    return RTW_ERR_TLS_BACKEND;
  default:
    /* mbedTLS 2.28's server reports a failed ALPN match as a bad ClientHello, after sending
     * no_application_protocol (RFC 7301 3.2): the alert tells. */
    if (b->alert_out == MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL)
      return RTW_ERR_TLS_ALPN;
    return b->done ? RTW_ERR_TLS_BAD_RECORD : RTW_ERR_TLS_HANDSHAKE;
  }
}

/* ---------------------------------------------------------------- the record path */

/* Key size of the TLS 1.2 AES-GCM suites (RFC 5288 3, RFC 5289 3.2); 0 for the others. */
static size_t gcm_key_len(int suite)
{
  switch (suite) {
  case MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
  case MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
    return 16;
  case MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
  case MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
    return 32;
  default:
    return 0;
  }
}

static uint64_t get64(const unsigned char *p)
{
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void set64(unsigned char *p, uint64_t v)
{
  int i;
  for (i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (56 - 8 * i));
}

/* Bytes of mbedTLS's record buffers, which the record path reuses. */
static size_t in_buf_size(const rtw__tlsb *b)
{
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
  return b->ssl.RTW__PRIV(in_buf_len);
#elif !RTW__MBED3
  (void)b;
  return MBEDTLS_SSL_IN_BUFFER_LEN;
#else
  /* 3.x's MBEDTLS_SSL_IN_BUFFER_LEN is private: at least the counter and header (13), an IV
   * (16), a tag (16) and the content */
  (void)b;
  return MBEDTLS_SSL_IN_CONTENT_LEN + 13 + 16 + 16;
#endif
}

static size_t out_buf_size(const rtw__tlsb *b)
{
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
  return b->ssl.RTW__PRIV(out_buf_len);
#elif !RTW__MBED3
  (void)b;
  return MBEDTLS_SSL_OUT_BUFFER_LEN;
#else
  (void)b;
  return MBEDTLS_SSL_OUT_CONTENT_LEN + 13 + 16 + 16;
#endif
}

static int is_tls12(const rtw__tlsb *b)
{
#if RTW__MBED3
  return mbedtls_ssl_get_version_number(&b->ssl) == MBEDTLS_SSL_VERSION_TLS1_2;
#else
  return b->ssl.major_ver == MBEDTLS_SSL_MAJOR_VERSION_3 &&
         b->ssl.minor_ver == MBEDTLS_SSL_MINOR_VERSION_3;
#endif
}

/* At the end of the handshake: hand the records to record.c when the connection is TLS 1.2
 * with an AES-GCM suite, the fast kernels run (rtw__gcm_fast()), the configuration does not
 * say RTW_TLS_BACKEND_RECORDS, the keys were captured, and mbedTLS holds nothing of the
 * record stream: no record read in part, no message left in one, nothing unsent. Otherwise
 * mbedTLS keeps protecting the records. The key block is wiped either way. The sequence
 * numbers go on from mbedTLS's (RFC 5246 6.1), and its record buffers, unused from now on,
 * become record.c's. 0, or RTW_ERR_NOMEM when the record layer's state cannot be had. */
static int take_records(rtw__tlsb *b)
{
  size_t key_len;
  rtw__rec *r;
  unsigned char *ibuf = b->ssl.RTW__PRIV(in_buf), *obuf = b->ssl.RTW__PRIV(out_buf);
  int rv = 0;
  if (b->kb_set == 0)
    return 0;
  if ((b->conf->p.flags & RTW_TLS_BACKEND_RECORDS) || !rtw__gcm_fast() || !is_tls12(b))
    goto out;
  key_len = gcm_key_len(mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&b->ssl)));
  if (key_len == 0 || (b->kb_set > 0 && (size_t)b->kb_set != key_len))
    goto out;
  if (mbedtls_ssl_check_pending(&b->ssl) || b->ssl.RTW__PRIV(in_left) != 0 ||
      b->ssl.RTW__PRIV(out_left) != 0 || b->ssl.RTW__PRIV(in_ctr) == NULL)
    goto out;
  if (ibuf == NULL || obuf == NULL || in_buf_size(b) < RTW__REC_MAX_RECORD ||
      out_buf_size(b) < RTW__REC_MAX_RECORD)
    goto out;
  r = rtw__mem_malloc(&b->mem, sizeof *r);
  if (r == NULL) {
    b->raw = MBEDTLS_ERR_SSL_ALLOC_FAILED;
    rv = RTW_ERR_NOMEM;
    goto out;
  }
  if (rtw__rec_init(r, b->conf->p.role == RTW_TLS_ROLE_CLIENT, b->kb, key_len,
                    get64(b->ssl.RTW__PRIV(in_ctr)), get64(b->ssl.RTW__PRIV(cur_out_ctr)),
                    ibuf, obuf, b->io, b->recv, b->send) != 0) {
    rtw__mem_free(&b->mem, r);
    goto out;
  }
  r->direct = b->direct;
  b->rec = r;
out:
  mbedtls_platform_zeroize(b->kb, sizeof b->kb);
  b->kb_set = 0;
  return rv;
}

/* A failure of the record path as mbedTLS's record layer reports the same one: its raw code
 * (for rtw_tls_backend_error() and the error text) and rtweb's error. */
static int rec_error(rtw__tlsb *b, int rv)
{
  if (b->rec->send_err != 0) {
    b->raw = MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return b->rec->send_err;
  }
  switch (rv) {
  case RTW__REC_E_MAC:
    b->raw = MBEDTLS_ERR_SSL_INVALID_MAC;
    break;
  case RTW__REC_E_OVERFLOW:
    b->raw = MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    break;
  case RTW__REC_E_UNEXPECTED:
    b->raw = MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE;
    break;
  case RTW__REC_E_FRAGMENT:
    b->raw = MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
    break;
#ifdef MBEDTLS_ERR_SSL_COUNTER_WRAPPING
  case RTW__REC_E_WRAP:
    b->raw = MBEDTLS_ERR_SSL_COUNTER_WRAPPING;
    break;
#endif
  case RTW__REC_E_ALERT:
    b->raw = MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
    b->alert_in = b->rec->alert_in;
    return b->alert_in == MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL ? RTW_ERR_TLS_ALPN
                                                                       : RTW_ERR_TLS_ALERT;
  default: /* RTW__REC_E_RECORD, RTW__REC_E_LONG */
    b->raw = MBEDTLS_ERR_SSL_INVALID_RECORD;
    break;
  }
  return RTW_ERR_TLS_BAD_RECORD;
}

static int hs_over(const rtw__tlsb *b)
{
#if RTW__MBED3
  return mbedtls_ssl_is_handshake_over((mbedtls_ssl_context *)&b->ssl);
#else
  return b->ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER;
#endif
}

static int at_cert_state(const rtw__tlsb *b)
{
  int st = b->ssl.RTW__PRIV(state);
  return st == MBEDTLS_SSL_SERVER_CERTIFICATE;
}

int rtw__tlsb_handshake(rtw__tlsb *b)
{
  int rv;
  if (b->done)
    return 0;
  /* Step by step so that a full handshake (the server's Certificate message) can be told
   * from an abbreviated one (RFC 5246 7.3, resumption): mbedTLS 2.28 has no accessor. A
   * resumed handshake jumps from ServerHello to ChangeCipherSpec on both sides. In TLS 1.3
   * (mbedTLS 3.x) a ticket's PSK handshake likewise goes from EncryptedExtensions to
   * Finished without the Certificate state on either side (RFC 8446 2.2). */
  while (!hs_over(b)) {
    if (at_cert_state(b))
      b->full_hs = 1;
#if RTW__RECORDS && !RTW__MBED3
    stepping = b;
#endif
    rv = mbedtls_ssl_handshake_step(&b->ssl);
#if RTW__RECORDS && !RTW__MBED3
    stepping = NULL;
#endif
    if (at_cert_state(b))
      b->full_hs = 1;
    if (rv == MBEDTLS_ERR_SSL_WANT_READ && b->send_err == 0)
      return RTW__TLSB_AGAIN;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (rv == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
      continue; /* mbedTLS 3.x, TLS 1.3: a ticket is not an error */
#endif
    if (rv != 0)
      return map_error(b, rv);
  }
  rv = take_records(b);
  if (rv != 0)
    return rv;
  b->done = 1;
  return 0;
}

/* mbedtls_ssl_read() answers every renegotiation request it reads by itself, as many as
 * the input holds, records after records and messages after messages in one record, within
 * one call (2.28 loops until application data arrives or the input runs out). bio_send()
 * counts what it sends against b->room; once past it, bio_recv() offers no further record
 * and bio_send() refuses the next reply, which mbedTLS returns at once (WANT_WRITE): the
 * read stops at the same request as the record path's (record.c, on_handshake()). */
static int read_mbedtls(rtw__tlsb *b, unsigned char *buf, size_t cap, size_t *n)
{
  int rv, spins = 0;
  for (;;) {
    size_t fetched = b->fetched;
    b->starved = 0;
    rv = mbedtls_ssl_read(&b->ssl, buf, cap);
    /* past the room: the end of this read, unless mbedTLS failed on its own (a fatal
     * error keeps its result, as on the record path) */
    if (b->over && b->send_err == 0 &&
        (rv >= 0 || rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)) {
      if (rv > 0)
        mbedtls_platform_zeroize(buf, (size_t)rv);
      return RTW__TLSB_BUDGET;
    }
    if (rv > 0) {
      *n = (size_t)rv;
      return 0;
    }
    if (rv == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
      return RTW__TLSB_CLOSED;
    /* 0 is not the end here (bio_recv never reports one): mbedTLS 2.28 returns it for a
     * second empty application data record in a row (RFC 5246 6.2.1 allows them; it
     * refuses a fourth itself). Read on. */
    if (rv == 0 || (rv == MBEDTLS_ERR_SSL_WANT_READ && b->send_err == 0)) {
      /* mbedTLS also says WANT_READ with input left: 2.28 after each no_renegotiation
       * warning it reads (the warnings it does not drop itself go to the caller), 3.x when
       * a TLS 1.3 NewSessionTicket is parked for the next call to process (RFC 8446
       * 4.6.1). Only running out of input means waiting for more; calls that read nothing
       * are bounded. */
      if (!b->starved) {
        if (b->fetched != fetched)
          spins = 0;
        if (++spins < 8)
          continue;
      }
      return RTW__TLSB_AGAIN;
    }
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (rv == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
      continue;
#endif
#ifdef MBEDTLS_ERR_SSL_RECEIVED_EARLY_DATA
    if (rv == MBEDTLS_ERR_SSL_RECEIVED_EARLY_DATA)
      continue;
#endif
    return map_error(b, rv);
  }
}

int rtw__tlsb_read(rtw__tlsb *b, unsigned char *buf, size_t cap, size_t *n, size_t room)
{
  int rv;
  *n = 0;
  if (b->rec != NULL) {
    b->rec->room = room;
    b->rec->over = 0;
    rv = rtw__rec_read(b->rec, buf, cap, n);
    if (rv == RTW__REC_E_BUDGET)
      return RTW__TLSB_BUDGET;
    return rv < 0 ? rec_error(b, rv) : rv;
  }
  b->reading = 1;
  b->room = room;
  b->over = 0;
  rv = read_mbedtls(b, buf, cap, n);
  b->reading = 0;
  return rv;
}

int rtw__tlsb_write(rtw__tlsb *b, const unsigned char *data, size_t len)
{
  size_t off = 0;
  if (b->rec != NULL) {
    int rv = len == 0 ? 0 : rtw__rec_write(b->rec, RTW__REC_APPDATA, data, len);
    return rv < 0 ? rec_error(b, rv) : 0;
  }
  while (off < len) {
    int rv = mbedtls_ssl_write(&b->ssl, data + off, len - off);
    if (rv < 0)
      return map_error(b, rv);
    off += (size_t)rv;
  }
  return 0;
}

size_t rtw__tlsb_max_record(const rtw__tlsb *b)
{
  int n = mbedtls_ssl_get_max_out_record_payload(&b->ssl);
  if (n <= 0 || n > (int)RTW_TLS_MAX_RECORD_PLAINTEXT)
    return RTW_TLS_MAX_RECORD_PLAINTEXT;
  return (size_t)n;
}

int rtw__tlsb_close_notify(rtw__tlsb *b)
{
  int rv;
  if (b->rec != NULL) {
    static const unsigned char close_notify[2] = {MBEDTLS_SSL_ALERT_LEVEL_WARNING,
                                                  MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY};
    rv = rtw__rec_write(b->rec, RTW__REC_ALERT, close_notify, 2); /* RFC 5246 7.2.1 */
    return rv < 0 ? rec_error(b, rv) : 0;
  }
  rv = mbedtls_ssl_close_notify(&b->ssl);
  return rv == 0 ? 0 : map_error(b, rv);
}

#if RTW__MBED3
/* mbedTLS 3.x's record writer (library/ssl_misc.h, not installed), for the test hooks. */
int mbedtls_ssl_write_record(mbedtls_ssl_context *ssl, int force_flush);
#endif

int rtw__tlsb_test_record(rtw__tlsb *b, int type, const unsigned char *data, size_t len)
{
  int rv;
  if (len > RTW_TLS_MAX_RECORD_PLAINTEXT)
    return RTW_ERR_INVALID_ARGUMENT;
  if (b->rec != NULL) {
    rv = rtw__rec_write(b->rec, type, data, len);
    return rv < 0 ? rec_error(b, rv) : 0;
  }
#if RTW__MBED3
  if (!is_tls12(b))
    return RTW_ERR_UNSUPPORTED; /* TLS 1.3 hides the content type (RFC 8446 5.2) */
#endif
  b->ssl.RTW__PRIV(out_msgtype) = type;
  b->ssl.RTW__PRIV(out_msglen) = len;
  if (len > 0)
    memcpy(b->ssl.RTW__PRIV(out_msg), data, len);
  rv = mbedtls_ssl_write_record(&b->ssl, 1);
  return rv == 0 ? 0 : map_error(b, rv);
}

int rtw__tlsb_test_hello_request(rtw__tlsb *b)
{
  static const unsigned char hello_request[4] = {0, 0, 0, 0}; /* type 0, empty body */
  return rtw__tlsb_test_record(b, MBEDTLS_SSL_MSG_HANDSHAKE, hello_request, 4);
}

int rtw__tlsb_records(const rtw__tlsb *b) { return b->rec != NULL; }

void rtw__tlsb_test_seq(const rtw__tlsb *b, uint64_t *in, uint64_t *out)
{
  if (b->rec != NULL) {
    *in = b->rec->in_seq;
    *out = b->rec->out_seq;
    return;
  }
  *in = b->ssl.RTW__PRIV(in_ctr) != NULL ? get64(b->ssl.RTW__PRIV(in_ctr)) : 0;
  *out = get64(b->ssl.RTW__PRIV(cur_out_ctr));
}

void rtw__tlsb_test_set_seq(rtw__tlsb *b, uint64_t in, uint64_t out)
{
  if (b->rec != NULL) {
    b->rec->in_seq = in;
    b->rec->out_seq = out;
    return;
  }
  if (b->ssl.RTW__PRIV(in_ctr) != NULL)
    set64(b->ssl.RTW__PRIV(in_ctr), in);
  set64(b->ssl.RTW__PRIV(cur_out_ctr), out);
}

int rtw__tlsb_raw_error(const rtw__tlsb *b) { return b->raw; }

size_t rtw__tlsb_error_text(const rtw__tlsb *b, char *buf, size_t cap)
{
  char text[512];
  int n;
  uint32_t flags = rtw__tlsb_verify_result(b);
  text[0] = '\0';
  if (b->raw != 0)
    mbedtls_strerror(b->raw, text, 200);
  n = (int)strlen(text);
  if (b->alert_in >= 0)
    n += snprintf(text + n, sizeof text - (size_t)n, " (alert %d)", b->alert_in);
  if (flags != 0 && b->raw == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    char info[256];
    int k = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
    if (k > 0) {
      size_t i;
      for (i = 0; info[i] != '\0'; i++)
        if (info[i] == '\n')
          info[i] = info[i + 1] == '\0' ? '\0' : ';';
      n += snprintf(text + n, sizeof text - (size_t)n, ": %s", info);
    }
  }
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof text)
    n = (int)sizeof text - 1;
  if (buf != NULL && cap > 0) {
    size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
    memcpy(buf, text, k);
    buf[k] = '\0';
  }
  return (size_t)n;
}

uint32_t rtw__tlsb_verify_result(const rtw__tlsb *b)
{
  uint32_t f;
  if (b->conf->p.role != RTW_TLS_ROLE_CLIENT || (b->conf->p.flags & RTW_TLS_INSECURE))
    return 0;
  f = mbedtls_ssl_get_verify_result(&b->ssl);
  return f == (uint32_t)-1 ? 0 : f;
}

const char *rtw__tlsb_alpn(const rtw__tlsb *b)
{
#if defined(MBEDTLS_SSL_ALPN)
  return mbedtls_ssl_get_alpn_protocol(&b->ssl);
#else
  (void)b;
  return NULL;
#endif
}

const char *rtw__tlsb_protocol(const rtw__tlsb *b)
{
  const char *v = mbedtls_ssl_get_version(&b->ssl);
  return v != NULL ? v : "";
}

const char *rtw__tlsb_ciphersuite(const rtw__tlsb *b)
{
  const char *v = mbedtls_ssl_get_ciphersuite(&b->ssl);
  return v != NULL ? v : "";
}

const char *rtw__tlsb_server_name(const rtw__tlsb *b) { return b->has_sni ? b->sni : NULL; }

int rtw__tlsb_resumed(const rtw__tlsb *b) { return b->done && !b->full_hs; }

int rtw__tlsb_cert_index(const rtw__tlsb *b)
{
  if (b->conf->p.role != RTW_TLS_ROLE_SERVER)
    return -1;
  if (b->cert_index < 0 && b->done)
    return 0; /* no SNI: the default (first) certificate */
  return b->cert_index;
}
