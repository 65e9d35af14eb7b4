/* SPDX-License-Identifier: MIT */
/* The permessage-deflate options (RFC 7692) that `rtwcat ws://` and `rtwcat serve` share:
 * `--deflate` alone means the library's defaults (ws.h, rtw_ws_deflate_config); each
 * `--deflate-*` knob implies `--deflate`. */

#include <string.h>

#include "rtwcat.h"

#include "net.h"

void rtwcat_deflate_init(rtwcat_deflate *d)
{
  memset(d, 0, sizeof *d);
  d->cfg.version = RTW_WS_DEFLATE_CONFIG_VERSION;
}

/* A decimal value from lo to hi for option `name`. Returns -1 to go on, or an exit status. */
static int parse_range(const rtwcat_command *cmd, const char *name, const char *v, uint64_t lo,
                       uint64_t hi, uint64_t *out)
{
  if (rtwcat_parse_u64(v, hi, out) != 0 || *out < lo)
    return rtwcat_usage_error(cmd, "%s: '%s' is not a number from %u to %u", name, v,
                              (unsigned)lo, (unsigned)hi);
  return -1;
}

int rtwcat_deflate_option(const rtwcat_command *cmd, rtwcat_deflate *d, const char *name,
                          const char *v)
{
  uint64_t n = 0;
  int rc = -1;

  d->on = 1;
  if (strcmp(name, "--deflate-level") == 0) {
    if ((rc = parse_range(cmd, name, v, 1, 9, &n)) < 0)
      d->cfg.level = (uint8_t)n;
  } else if (strcmp(name, "--deflate-window") == 0) {
    /* zlib cannot deflate with an 8-bit window (ws.h, deflate_window_bits) */
    if ((rc = parse_range(cmd, name, v, 9, 15, &n)) < 0)
      d->cfg.deflate_window_bits = (uint8_t)n;
  } else if (strcmp(name, "--deflate-peer-window") == 0) {
    if ((rc = parse_range(cmd, name, v, 8, 15, &n)) < 0)
      d->cfg.inflate_window_bits = (uint8_t)n;
  } else if (strcmp(name, "--deflate-mem-level") == 0) {
    if ((rc = parse_range(cmd, name, v, 1, 9, &n)) < 0)
      d->cfg.deflate_mem_level = (uint8_t)n;
  } else if (strcmp(name, "--deflate-threshold") == 0) {
    if (rtwcat_parse_u64(v, (uint64_t)1 << 40, &n) != 0)
      return rtwcat_usage_error(cmd, "%s: '%s' is not a size in bytes", name, v);
    d->cfg.threshold = (size_t)n;
  } else if (strcmp(name, "--deflate-memory") == 0) {
    if (rtwcat_parse_u64(v, (uint64_t)1 << 40, &n) != 0 || n == 0)
      return rtwcat_usage_error(cmd, "%s: '%s' is not a size in bytes", name, v);
    d->cfg.memory_budget = (size_t)n;
  } else if (strcmp(name, "--deflate-context-takeover") == 0) {
    d->cfg.flags |= RTW_WS_DEFLATE_OWN_CONTEXT_TAKEOVER | RTW_WS_DEFLATE_PEER_CONTEXT_TAKEOVER;
  } else if (strcmp(name, "--deflate-required") == 0) {
    d->cfg.flags |= RTW_WS_DEFLATE_REQUIRED;
  }
  return rc;
}

void rtwcat_deflate_describe(const rtw_ws_deflate_params *p, char *buf, size_t cap)
{
  size_t len = 0;

  if (cap == 0)
    return;
  if (rtw_ws_deflate_format(p, buf, cap - 1, &len) != 0)
    len = 0;
  buf[len] = '\0';
}
