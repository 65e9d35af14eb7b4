/* SPDX-License-Identifier: MIT */
/* In-memory TLS harness: two rtw_tls ends joined by buffers (no sockets), configurations
 * from the test certificates, and a pump that moves ciphertext both ways until nothing
 * moves. */
#ifndef TLST_H
#define TLST_H

#include "rtwt.h"
#include "rtweb/tls.h"
#include "certs.h"

typedef struct tlst_end tlst_end;

/* Replaces the plaintext sink: the on_data of a layer stacked on the end. */
typedef int (*tlst_data_fn)(tlst_end *e, const void *data, size_t len, size_t *used);

struct tlst_end {
  rtw_tls *tls;
  const char *name; /* "client" or "server", for messages */
  /* ciphertext from the peer that rtw_tls_recv() has not consumed yet */
  unsigned char *wire;
  size_t wire_len, wire_cap;
  /* plaintext delivered to on_data (default sink) */
  unsigned char *rx;
  size_t rx_len, rx_cap;
  size_t take_max;  /* the sink takes at most this much per call (0: all) */
  int pause;        /* the sink returns RTW_ERR_PAUSE after taking */
  int handshakes;   /* on_handshake calls */
  int data_calls;   /* on_data calls */
  int err;          /* the first error rtw_tls_recv() returned (RTW_ERR_PAUSE excluded) */
  size_t received;  /* ciphertext bytes given to rtw_tls_recv() and consumed */
  size_t sent;      /* ciphertext bytes taken from rtw_tls_send_pending() */
  /* optional: what the end writes and does once its handshake completes */
  const char *hello; /* written (whole) from on_handshake when not NULL */
  int close_after_hello; /* rtw_tls_close() from on_handshake */
  int hello_err;         /* what that write or close returned, when not 0 */
  int hs_result;         /* what on_handshake returns (0: go on) */
  int pull;              /* opened without on_data */
  /* the pump cuts what it delivers to this end at this offset of the stream (0: no cut);
   * byte_by_byte delivers every byte by its own rtw_tls_recv() */
  size_t cut_at;
  int byte_by_byte;
  /* with keep_stream, every ciphertext byte that reached this end is kept here too */
  int keep_stream;
  unsigned char *stream;
  size_t stream_len, stream_cap;
  tlst_data_fn on_data; /* NULL: the default sink (rx) */
  void *arg;            /* for on_data */
};

/* Configurations (asserting success). flags: RTW_TLS_* of the settings. */
rtw_tls_config *tlst_server_config(uint32_t flags, const tlst_pem *cert, const rtw_mem *mem);
rtw_tls_config *tlst_client_config(uint32_t flags, const rtw_mem *mem);

/* Zero the end and name it. */
void tlst_end_init(tlst_end *e, const char *name);
/* rtw_tls_new() with this harness's callbacks (on_data unless pull, on_handshake);
 * returns its result. */
int tlst_end_open(tlst_end *e, rtw_tls_config *cfg, const char *server_name, int pull,
                  const rtw_mem *mem);
/* Free the connection and the buffers (the end can be opened again after tlst_end_init). */
void tlst_end_close(tlst_end *e);

/* Move from's pending ciphertext onto to's wire; returns the bytes moved. */
size_t tlst_flush(tlst_end *from, tlst_end *to);
/* Give to's wire to rtw_tls_recv() (honouring cut_at / byte_by_byte), drop what it
 * consumed; returns the last result (and records the first error in to->err). */
int tlst_feed(tlst_end *to);
/* Flush and feed both ways until nothing moves; returns 0 or the first error of either end
 * (RTW_ERR_PAUSE counts as progress while the sink takes bytes). */
int tlst_pump(tlst_end *c, tlst_end *s);

/* Open both ends and pump; asserts both handshakes completed. */
void tlst_connect(tlst_end *c, tlst_end *s, rtw_tls_config *ccfg, rtw_tls_config *scfg,
                  const char *name);

/* Write all of data through rtw_tls_write() (asserting it takes everything). */
void tlst_write_all(tlst_end *e, const void *data, size_t len);

/* Append bytes to a growable buffer (test memory, not rtweb's). */
void tlst_append(unsigned char **buf, size_t *len, size_t *cap, const void *p, size_t n);

#endif /* TLST_H */
