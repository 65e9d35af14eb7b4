/* SPDX-License-Identifier: MIT */
/* Error names and messages, generated from RTW_ERRNO_MAP in rtweb/common.h. */
#include "internal.h"

const char *rtw_strerror(int err)
{
  switch (err) {
  case RTW_OK:
    return "success";
#define RTW__ERR_MSG(name, value, msg) \
  case RTW_ERR_##name:                 \
    return msg;
    RTW_ERRNO_MAP(RTW__ERR_MSG)
#undef RTW__ERR_MSG
  default:
    return "unknown error";
  }
}

const char *rtw_err_name(int err)
{
  switch (err) {
  case RTW_OK:
    return "RTW_OK";
#define RTW__ERR_NAME(name, value, msg) \
  case RTW_ERR_##name:                  \
    return "RTW_ERR_" #name;
    RTW_ERRNO_MAP(RTW__ERR_NAME)
#undef RTW__ERR_NAME
  default:
    return "RTW_ERR_UNKNOWN";
  }
}

/* The codes that refuse one call but leave the object usable; every other negative code is
 * sticky where it is returned (docs/errors.md). */
int rtw_is_fatal(int err)
{
  switch (err) {
  case RTW_OK:
  case RTW_ERR_PAUSE:
  case RTW_ERR_INVALID_ARGUMENT:
  case RTW_ERR_BUFFER_TOO_SMALL:
  case RTW_ERR_INVALID_STATE:
  case RTW_ERR_REENTRANT:
  case RTW_ERR_WS_CLOSED:
  case RTW_ERR_WS_OUTBOUND_FULL:
  case RTW_ERR_SSE_OUTBOUND_FULL:
  case RTW_ERR_SSE_HISTORY_GAP:
  case RTW_ERR_SSE_HISTORY_END:
  case RTW_ERR_SSE_HISTORY_ORDER:
    return 0;
  default:
    return err < 0;
  }
}
