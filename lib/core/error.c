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
