/* SPDX-License-Identifier: MIT */
/* permessage-deflate negotiation, internal side (deflate_ext.c): the host's policy resolved
 * once, shared by the handshake glue in lib/http and by anything else that needs the
 * effective values of an rtw_ws_deflate_config. */
#ifndef RTW_WS_DEFLATE_EXT_H
#define RTW_WS_DEFLATE_EXT_H

#include "rtweb/ws.h"

/* Every flag rtw_ws_deflate_config::flags may carry. */
#define RTW__DEFLATE_KNOWN_FLAGS                                                            \
  (RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER |            \
   RTW_WS_DEFLATE_REQUIRED | RTW_WS_DEFLATE_NO_CLIENT_BITS_OFFER |                       \
   RTW_WS_DEFLATE_RELEASE_EACH_MESSAGE)

/* Copy the prefix of `in` its version states into `out` with every 0 replaced by its
 * default (NULL in: all defaults), and check the ranges documented at
 * rtw_ws_deflate_config: version 1..RTW_WS_DEFLATE_CONFIG_VERSION, known flags only, level
 * 1..9, deflate_window_bits 9..15, deflate_mem_level 1..9, inflate_window_bits 8..15.
 * Returns 0 or RTW_ERR_INVALID_ARGUMENT (out then holds the defaults). */
int rtw__deflate_config_get(const rtw_ws_deflate_config *in, rtw_ws_deflate_config *out);

#endif /* RTW_WS_DEFLATE_EXT_H */
