/* SPDX-License-Identifier: MIT */
/* The TLS seam: everything rtweb-tls needs from a TLS implementation, as plain C. backend.c
 * implements it over mbedTLS (2.28 and 3.x) and is the only file of the library that includes
 * mbedTLS's ssl/x509 headers; tls.c (the engine: buffers, pausing, budget, timers) and
 * config.c (the shared configuration) talk to it only through these functions. */
#ifndef RTW_TLS_BACKEND_H
#define RTW_TLS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "rtweb/tls.h"

typedef struct rtw__tlsb_conf rtw__tlsb_conf;
typedef struct rtw__tlsb rtw__tlsb;

/* The engine's side of the record layer: the backend never sees a socket.
 * recv: copy up to len bytes of the input being fed; return the count, 0 when none is left.
 * send: take all len bytes of ciphertext; return 0, or RTW_ERR_NOMEM. */
typedef size_t (*rtw__tlsb_recv_fn)(void *io, unsigned char *buf, size_t len);
typedef int (*rtw__tlsb_send_fn)(void *io, const unsigned char *buf, size_t len);

/* Optional direct access to the same input and output, which the record path (record.c)
 * uses to open records where they lie in the input and to seal them straight into the
 * output queue, without copies.
 * peek: the input not read yet (*avail bytes; NULL or 0 when none); skip: n of them are read.
 * reserve: room for len bytes at the end of the output (NULL: RTW_ERR_NOMEM); commit: len
 * bytes written there are output. */
typedef struct rtw__tlsb_direct {
  const unsigned char *(*peek)(void *io, size_t *avail);
  void (*skip)(void *io, size_t n);
  unsigned char *(*reserve)(void *io, size_t len);
  void (*commit)(void *io, size_t len);
} rtw__tlsb_direct;

/* Results besides 0 and negative RTW_ERR_* codes. */
#define RTW__TLSB_AGAIN 1  /* needs more input */
#define RTW__TLSB_CLOSED 2 /* the peer's close_notify arrived */
#define RTW__TLSB_BUDGET 3 /* the read's automatic replies went past its room (below) */

/* What a configuration is made from (copied from rtw_tls_config_settings). */
typedef struct rtw__tlsb_conf_params {
  int role;
  uint32_t flags;
  uint32_t ticket_lifetime_s;
  int (*random)(void *buf, size_t len, void *user_data);
  void *random_user_data;
  rtw_tls_sni_fn sni;
  void *sni_user_data;
  rtw_tls_config *owner; /* passed to sni */
} rtw__tlsb_conf_params;

/* Configuration. The backend's objects come from the C library (mbedTLS 2.28 has no
 * per-object allocator); `mem` serves what the seam allocates itself. */
int rtw__tlsb_conf_new(rtw__tlsb_conf **out, const rtw__tlsb_conf_params *p, const rtw_mem *mem);
void rtw__tlsb_conf_free(rtw__tlsb_conf *c);
/* Returns the new certificate's index or an error; sets the error text on failure. */
int rtw__tlsb_conf_add_cert(rtw__tlsb_conf *c, const char *chain, size_t chain_len,
                            const char *key, size_t key_len);
int rtw__tlsb_conf_set_ca(rtw__tlsb_conf *c, const char *pem, size_t len);
/* list: validated comma-separated names; len 0 turns ALPN off. */
int rtw__tlsb_conf_set_alpn(rtw__tlsb_conf *c, const char *list, size_t len);
/* Record an error text for rtw_tls_config_error_text() (a file that could not be read). */
void rtw__tlsb_conf_set_error(rtw__tlsb_conf *c, int raw, const char *what);
size_t rtw__tlsb_conf_error_text(const rtw__tlsb_conf *c, char *buf, size_t cap);
size_t rtw__tlsb_conf_cert_count(const rtw__tlsb_conf *c);

/* Connections. server_name: client only, already checked (1..255 bytes) or NULL. */
int rtw__tlsb_new(rtw__tlsb **out, rtw__tlsb_conf *c, const char *server_name, void *io,
                  rtw__tlsb_recv_fn recv, rtw__tlsb_send_fn send, const rtw_mem *mem);
void rtw__tlsb_free(rtw__tlsb *b);
/* Offer direct access to the connection's input and output (copied; all four set). */
void rtw__tlsb_set_direct(rtw__tlsb *b, const rtw__tlsb_direct *d);
int rtw__tlsb_set_session(rtw__tlsb *b, const void *data, size_t len);
int rtw__tlsb_session_save(rtw__tlsb *b, void *buf, size_t cap, size_t *len);

/* Drive the handshake with the input recv() offers: 0 done, RTW__TLSB_AGAIN, or an error. */
int rtw__tlsb_handshake(rtw__tlsb *b);
/* Decrypt: 0 with *n > 0 bytes in buf, RTW__TLSB_AGAIN (*n 0), RTW__TLSB_CLOSED,
 * RTW__TLSB_BUDGET (*n 0), or an error. What a read sends is automatic replies (the
 * no_renegotiation warning to each renegotiation request, RFC 5246 7.4.1.1, RFC 5746 4.4)
 * and fatal alerts; room is the output they may take in this call (what max_outbound leaves).
 * The reply that takes them past room is queued and is the last: no further reply is sent
 * and no further record read (the rest of the record that held the request is still checked
 * as usual, a bad message failing as it would), and the read ends with RTW__TLSB_BUDGET. So
 * one call queues at most room plus one reply, whatever the input holds. A fatal error keeps
 * its own result. */
int rtw__tlsb_read(rtw__tlsb *b, unsigned char *buf, size_t cap, size_t *n, size_t room);
/* Most plaintext one record of ours carries now (RTW_TLS_MAX_RECORD_PLAINTEXT in TLS 1.2;
 * mbedTLS 3.x sends 16383 in TLS 1.3, a negotiated max_fragment_length less). */
size_t rtw__tlsb_max_record(const rtw__tlsb *b);
/* Encrypt len bytes (at most rtw__tlsb_max_record()) as one record. */
int rtw__tlsb_write(rtw__tlsb *b, const unsigned char *data, size_t len);
int rtw__tlsb_close_notify(rtw__tlsb *b);

/* Tests only: queue an encrypted HelloRequest, a peer asking to renegotiate (RFC 5246
 * 7.4.1.1), through the connection's record layer (TLS 1.2). RTW_ERR_UNSUPPORTED in TLS 1.3. */
int rtw__tlsb_test_hello_request(rtw__tlsb *b);
/* Tests only: send one record of any content type (at most 2^14 bytes) through the
 * connection's record layer, mbedTLS's or the record path's (RTW_ERR_UNSUPPORTED in TLS
 * 1.3). */
int rtw__tlsb_test_record(rtw__tlsb *b, int type, const unsigned char *data, size_t len);
/* Tests only: offer or accept this one TLS 1.2 cipher suite (an IANA number), nothing else
 * (and TLS 1.2 at most, on mbedTLS 3.x). */
void rtw__tlsb_conf_test_suite(rtw__tlsb_conf *c, int suite);
/* 1 when the record path (record.c) protects the records, 0 when mbedTLS does. */
int rtw__tlsb_records(const rtw__tlsb *b);
/* Tests only: the sequence numbers of the next record received and sent (RFC 5246 6.1),
 * read from whichever layer protects the records, and set there. */
void rtw__tlsb_test_seq(const rtw__tlsb *b, uint64_t *in, uint64_t *out);
void rtw__tlsb_test_set_seq(rtw__tlsb *b, uint64_t in, uint64_t out);

int rtw__tlsb_raw_error(const rtw__tlsb *b);
size_t rtw__tlsb_error_text(const rtw__tlsb *b, char *buf, size_t cap);
uint32_t rtw__tlsb_verify_result(const rtw__tlsb *b);
const char *rtw__tlsb_alpn(const rtw__tlsb *b);
const char *rtw__tlsb_protocol(const rtw__tlsb *b);
const char *rtw__tlsb_ciphersuite(const rtw__tlsb *b);
const char *rtw__tlsb_server_name(const rtw__tlsb *b);
int rtw__tlsb_resumed(const rtw__tlsb *b);
int rtw__tlsb_cert_index(const rtw__tlsb *b);
const char *rtw__tlsb_version(void);

#endif /* RTW_TLS_BACKEND_H */
