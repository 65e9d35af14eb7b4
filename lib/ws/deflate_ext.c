/* SPDX-License-Identifier: MIT */
/* permessage-deflate negotiation (RFC 7692 5, 7.1). STUB: being implemented (issue #13). */
#include "internal.h"
#include "rtweb/ws.h"

int rtw_ws_deflate_parse(const char *ext, size_t len, int from, rtw_ws_deflate_params *params)
{
  (void)ext, (void)len, (void)from, (void)params;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_ws_deflate_accept(const rtw_ws_deflate_params *offer, const rtw_ws_deflate_config *config,
                          rtw_ws_deflate_params *response)
{
  (void)offer, (void)config, (void)response;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_ws_deflate_format(const rtw_ws_deflate_params *params, char *buf, size_t cap, size_t *len)
{
  (void)params, (void)buf, (void)cap, (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_ws_deflate_offer(const rtw_ws_deflate_config *config, char *buf, size_t cap, size_t *len)
{
  (void)config, (void)buf, (void)cap, (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_ws_deflate_check_response(const rtw_ws_deflate_config *config,
                                  const rtw_ws_deflate_params *response)
{
  (void)config, (void)response;
  return RTW_ERR_UNSUPPORTED;
}
