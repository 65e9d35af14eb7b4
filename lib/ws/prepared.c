/* SPDX-License-Identifier: MIT */
/* Prepared messages: framed and compressed once, queued on many sessions. STUB: being
 * implemented (issue #13). */
#include "internal.h"
#include "rtweb/ws.h"

int rtw_ws_prepared_new(rtw_ws_prepared **pm, int opcode, const void *data, size_t len,
                        const rtw_ws_deflate_config *deflate, const rtw_mem *mem)
{
  (void)opcode, (void)data, (void)len, (void)deflate, (void)mem;
  if (pm)
    *pm = NULL;
  return RTW_ERR_UNSUPPORTED;
}

void rtw_ws_prepared_free(rtw_ws_prepared *pm)
{
  (void)pm;
}

int rtw_ws_prepared_sizes(const rtw_ws_prepared *pm, size_t *plain_len, size_t *compressed_len)
{
  (void)pm, (void)plain_len, (void)compressed_len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_ws_queue_prepared(rtw_ws *ws, rtw_ws_prepared *pm)
{
  (void)ws, (void)pm;
  return RTW_ERR_UNSUPPORTED;
}
