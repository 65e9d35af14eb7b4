/* SPDX-License-Identifier: MIT */
/* Throwaway certificates for the TLS tests, made at run time with mbedTLS's X.509 writer: a CA
 * and leaves signed by it (valid, expired, not yet valid, for another name, RSA) plus a
 * self-signed leaf. Keys live only in this process's memory; nothing is written to disk and
 * nothing outside the test trusts the CA. */
#ifndef TLST_CERTS_H
#define TLST_CERTS_H

#include <stddef.h>

/* Room for one PEM certificate or key (an RSA-2048 key is about 1.7 KB). */
#define TLST_PEM_MAX 4096

/* A certificate and its private key, as NUL-terminated PEM (lengths exclude the NUL). */
typedef struct tlst_pem {
  char cert[TLST_PEM_MAX];
  size_t cert_len;
  char key[TLST_PEM_MAX];
  size_t key_len;
} tlst_pem;

/* Every leaf has an EC P-256 key and a SHA-256 signature unless said otherwise; "valid" means
 * 2020-01-01 to 2049-12-31. */
typedef struct tlst_certs {
  tlst_pem ca;          /* CN=rtweb test CA, basicConstraints CA:true, self-signed */
  tlst_pem localhost;   /* CN=localhost, SAN DNS:localhost + IP:127.0.0.1, by ca */
  tlst_pem other;       /* CN=other.example, SAN DNS:other.example, by ca */
  tlst_pem expired;     /* as localhost, valid 2000-01-01 .. 2001-01-01 */
  tlst_pem future;      /* as localhost, valid 2090-01-01 .. 2099-01-01 */
  tlst_pem self_signed; /* as localhost, but signed by its own key: no trusted issuer */
  tlst_pem wildcard;    /* CN=*.wild.example, SAN DNS:*.wild.example, by ca */
  tlst_pem cn_only;     /* CN=cn-only.example and no subjectAltName, by ca */
  tlst_pem rsa;         /* as localhost with an RSA-2048 key (only with TLST_CERTS_RSA) */
  int has_rsa;          /* 1 when rsa was made */
} tlst_certs;

/* tlst_certs_get() flag: also make the RSA leaf (2048-bit key generation is slow: seconds
 * under valgrind). */
#define TLST_CERTS_RSA 0x1u

/* Make every certificate. Returns 0 or a negative mbedTLS error code. */
int tlst_certs_make(tlst_certs *c, unsigned flags);

/* The process's certificates, made on the first call (and the RSA leaf on the first call
 * that asks for it); fails the running test when they cannot be made. */
const tlst_certs *tlst_certs_get(unsigned flags);

#endif /* TLST_CERTS_H */
