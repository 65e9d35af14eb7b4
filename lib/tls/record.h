/* SPDX-License-Identifier: MIT */
/* rtweb-tls's own TLS 1.2 record layer for the AES-GCM suites (RFC 5246 6.2, RFC 5288),
 * which backend.c hands the records to once mbedTLS has finished the handshake (see
 * record.c for the wire format and the rules). No mbedTLS header: the keys, sequence
 * numbers and buffers come from the backend, the AES-GCM from gcm.h. */
#ifndef RTW_TLS_RECORD_H
#define RTW_TLS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "gcm.h"

/* TLS record content types (RFC 5246 6.2.1, A.1). */
#define RTW__REC_CCS 20
#define RTW__REC_ALERT 21
#define RTW__REC_HANDSHAKE 22
#define RTW__REC_APPDATA 23

#define RTW__REC_HEADER 5u
#define RTW__REC_EXPLICIT 8u /* the explicit part of the GCM nonce (RFC 5288 3) */
/* The largest record this layer sends or accepts: header, explicit nonce, 2^14 bytes of
 * plaintext, tag. The buffers the backend lends must hold this many bytes. */
#define RTW__REC_MAX_RECORD (RTW__REC_HEADER + RTW__REC_EXPLICIT + 16384u + RTW__GCM_TAG)

/* Results besides 0: RTW__TLSB_AGAIN, RTW__TLSB_CLOSED (backend.h), and these failures,
 * which the backend turns into mbedTLS's raw codes and rtweb's errors. */
#define RTW__REC_E_MAC (-1)        /* authentication failed (or four empty records in a row) */
#define RTW__REC_E_RECORD (-2)     /* malformed record */
#define RTW__REC_E_OVERFLOW (-3)   /* header over 2^14 + 2048 bytes (RFC 5246 6.2.3) */
#define RTW__REC_E_LONG (-4)       /* header announcing more than 2^14 bytes of plaintext */
#define RTW__REC_E_UNEXPECTED (-5) /* a message not allowed after the handshake */
#define RTW__REC_E_FRAGMENT (-6)   /* a handshake message split over records */
#define RTW__REC_E_WRAP (-7)       /* a sequence number would wrap (RFC 5246 6.1) */
#define RTW__REC_E_ALERT (-8)      /* a fatal alert arrived: alert_in */
#define RTW__REC_E_SEND (-9)       /* send() failed: send_err */
#define RTW__REC_E_BUDGET (-10)    /* automatic replies went past room (not a record error) */

typedef struct rtw__rec {
  rtw__gcm seal;                 /* our write key */
  rtw__gcm open;                 /* the peer's write key */
  unsigned char seal_salt[4];    /* our write IV (RFC 5288 3: the salt) */
  unsigned char open_salt[4];
  uint64_t out_seq;              /* sequence number of the next record sent (RFC 5246 6.1) */
  uint64_t in_seq;               /* and received */
  int client;                    /* 1: the client's end (who answers which renegotiation) */
  /* Buffers lent by the backend (at least RTW__REC_MAX_RECORD bytes each). */
  unsigned char *ibuf;           /* the record being received */
  unsigned char *obuf;           /* the record being sent */
  size_t have;                   /* bytes of the current input record in ibuf */
  size_t plain_off, plain_len;   /* its decrypted data not read yet (a small read cap) */
  int empty_run;                 /* empty records in a row */
  /* The output this read's automatic replies may take (the caller sets it before each
   * rtw__rec_read(), SIZE_MAX after rtw__rec_init()), and whether one went past it. */
  size_t room;
  int over;
  int alert_in;                  /* a fatal alert's description, -1 none */
  int send_err;                  /* what send() returned */
  void *io;
  rtw__tlsb_recv_fn recv;
  rtw__tlsb_send_fn send;
  rtw__tlsb_direct direct; /* all NULL: recv and send only */
} rtw__rec;

/* Set up from the key block (RFC 5246 6.3) of an AES-GCM suite: client_write_key,
 * server_write_key (key_len 16 or 32 bytes each), client_write_IV, server_write_IV (4 bytes
 * each). 0, or RTW_ERR_INVALID_ARGUMENT. The caller wipes its copy of the key block. */
int rtw__rec_init(rtw__rec *r, int client, const unsigned char *key_block, size_t key_len,
                  uint64_t in_seq, uint64_t out_seq, unsigned char *ibuf, unsigned char *obuf,
                  void *io, rtw__tlsb_recv_fn recv, rtw__tlsb_send_fn send);
/* Wipe keys and buffered plaintext. */
void rtw__rec_wipe(rtw__rec *r);

/* The next application data: 0 with *n > 0 bytes in buf (at most cap), RTW__TLSB_AGAIN,
 * RTW__TLSB_CLOSED, or an RTW__REC_E_* failure (an alert may have been sent).
 * RTW__REC_E_BUDGET: the no_renegotiation reply that went past room was the last one sent
 * (the rest of its record was checked, no further record read); see rtw__tlsb_read(). */
int rtw__rec_read(rtw__rec *r, unsigned char *buf, size_t cap, size_t *n);
/* Send one record of type with len bytes (at most 2^14): 0, RTW__REC_E_WRAP or
 * RTW__REC_E_SEND. */
int rtw__rec_write(rtw__rec *r, int type, const unsigned char *data, size_t len);

#endif /* RTW_TLS_RECORD_H */
