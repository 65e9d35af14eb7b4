/* SPDX-License-Identifier: MIT */
/* rtweb-tls internals shared by config.c and tls.c. */
#ifndef RTW_TLS_INTERNAL_H
#define RTW_TLS_INTERNAL_H

#include "rtweb/tls.h"
#include "backend.h"

#define RTW__TLS_PATH_TEXT 320

struct rtw_tls_config {
  rtw_mem mem;
  rtw__tlsb_conf *b;
  int role;
  uint32_t flags;
  uint32_t handshake_timeout_ms;
  size_t max_outbound;
  unsigned refs; /* atomic: connections on several threads may drop theirs at once */
  int used;      /* a connection was made: the setters refuse from then on */
};

/* The connection's backend object (tests reach the seam's test hooks through it). */
rtw__tlsb *rtw__tls_backend(rtw_tls *t);

/* A connection takes a reference and freezes the configuration. */
void rtw__tls_config_ref(rtw_tls_config *c);

#endif /* RTW_TLS_INTERNAL_H */
