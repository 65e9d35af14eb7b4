/* SPDX-License-Identifier: MIT */
/* Run-time version of the library. */
#include "internal.h"

const char *rtw_version_string(void)
{
  return RTW_VERSION_STRING;
}

uint32_t rtw_version_number(void)
{
  return (uint32_t)RTW_VERSION_NUMBER;
}
