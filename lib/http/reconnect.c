/* SPDX-License-Identifier: MIT */
/* SSE reconnection policy (WHATWG HTML 9.2.3 "reestablish the connection"): when the next
 * attempt is due, with the server's retry, exponential backoff with full jitter and a cap.
 *
 * States: IDLE (created) -> OPEN (opened) -> WAITING (closed: a deadline is set) -> OPEN ...
 * and STOPPED from anywhere (the connection was failed: no more attempts).
 *
 * Delay after n consecutive failures (WHATWG 9.2.3 steps 2-3: wait the reconnection time,
 * then "optionally, wait some more ... exponential backoff"):
 *
 *   n == 0:  retry
 *   n >= 1:  retry + uniform[0, min(max_backoff, backoff * 2^(n-1))]     ("full jitter")
 *
 * No clock inside: the host passes a monotonic `now` in milliseconds to every call.
 */
#include "crypto.h"
#include "internal.h"
#include "rtweb/http.h"

#define RC_IDLE 0
#define RC_OPEN 1
#define RC_WAITING 2
#define RC_STOPPED 3

struct rtw_sse_reconnect {
  rtw_mem mem;
  rtw_sse_reconnect_settings s; /* defaults filled in */
  uint32_t failures;
  int state;
  uint64_t opened_at;
  uint64_t deadline;
};

static uint32_t or_default(uint32_t v, uint32_t def)
{
  return v != 0 ? v : def;
}

int rtw_sse_reconnect_new(rtw_sse_reconnect **out, const rtw_sse_reconnect_settings *settings,
                          const rtw_mem *mem)
{
  rtw_sse_reconnect *rc;
  rtw_mem m;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (settings != NULL &&
      (settings->version == 0 || settings->version > RTW_SSE_RECONNECT_SETTINGS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = rtw__mem_init(&m, mem)) != 0)
    return rv;
  rc = rtw__mem_calloc(&m, 1, sizeof *rc);
  if (rc == NULL)
    return RTW_ERR_NOMEM;
  rc->mem = m;
  if (settings != NULL)
    rc->s = *settings; /* version 1 is the only layout so far */
  rc->s.retry_ms = or_default(rc->s.retry_ms, RTW_SSE_RECONNECT_DEFAULT_RETRY_MS);
  rc->s.backoff_ms = or_default(rc->s.backoff_ms, RTW_SSE_RECONNECT_DEFAULT_BACKOFF_MS);
  rc->s.max_backoff_ms =
      or_default(rc->s.max_backoff_ms, RTW_SSE_RECONNECT_DEFAULT_MAX_BACKOFF_MS);
  rc->s.stable_ms = or_default(rc->s.stable_ms, RTW_SSE_RECONNECT_DEFAULT_STABLE_MS);
  *out = rc;
  return 0;
}

void rtw_sse_reconnect_free(rtw_sse_reconnect *rc)
{
  if (rc != NULL)
    rtw__mem_free(&rc->mem, rc);
}

/* WHATWG 9.2.6 "retry" field: set the event stream's reconnection time (0 is allowed). */
int rtw_sse_reconnect_set_retry(rtw_sse_reconnect *rc, uint32_t ms)
{
  if (rc == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rc->s.retry_ms = ms;
  return 0;
}

int rtw_sse_reconnect_opened(rtw_sse_reconnect *rc, uint64_t now_ms)
{
  if (rc == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (rc->state == RC_STOPPED)
    return RTW_ERR_INVALID_STATE;
  rc->state = RC_OPEN;
  rc->opened_at = now_ms;
  return 0;
}

/* Uniform in [0, w]: 32 random bits scaled by w + 1 (w < 2^32). */
static int jitter(const rtw_sse_reconnect *rc, uint32_t w, uint64_t *out)
{
  uint8_t b[4];
  uint32_t r;
  int rv;

  if (rc->s.random != NULL) {
    if (rc->s.random(b, sizeof b, rc->s.user_data) != 0)
      return RTW_ERR_CALLBACK_FAILURE;
  } else if ((rv = rtw__random(b, sizeof b)) != 0) {
    return rv;
  }
  r = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  *out = ((uint64_t)r * ((uint64_t)w + 1)) >> 32;
  return 0;
}

static uint32_t window(const rtw_sse_reconnect *rc)
{
  unsigned shift = rc->failures - 1 < 32 ? (unsigned)(rc->failures - 1) : 32;
  uint64_t w = shift < 32 ? (uint64_t)rc->s.backoff_ms << shift : UINT64_MAX;
  return w < rc->s.max_backoff_ms ? (uint32_t)w : rc->s.max_backoff_ms;
}

int rtw_sse_reconnect_closed(rtw_sse_reconnect *rc, uint64_t now_ms)
{
  uint64_t extra = 0, delay;
  int rv;

  if (rc == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (rc->state == RC_STOPPED)
    return RTW_ERR_INVALID_STATE;
  if (rc->state == RC_OPEN && now_ms >= rc->opened_at &&
      now_ms - rc->opened_at >= rc->s.stable_ms)
    rc->failures = 0; /* it stayed up: the next attempt is not a failure streak */
  else if (rc->failures < UINT32_MAX)
    rc->failures++;
  if (rc->failures > 0 && (rv = jitter(rc, window(rc), &extra)) != 0)
    return rv;
  delay = rc->s.retry_ms + extra;
  rc->deadline = now_ms > UINT64_MAX - delay ? UINT64_MAX : now_ms + delay;
  rc->state = RC_WAITING;
  return 0;
}

/* WHATWG 9.2.2: "Once the user agent has failed the connection, it does not attempt to
 * reconnect." */
int rtw_sse_reconnect_stop(rtw_sse_reconnect *rc)
{
  if (rc == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rc->state = RC_STOPPED;
  return 0;
}

int rtw_sse_reconnect_next_attempt_ms(const rtw_sse_reconnect *rc, uint64_t now_ms,
                                      uint64_t *wait_ms)
{
  if (rc == NULL || wait_ms == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *wait_ms = 0;
  if (rc->state != RC_WAITING)
    return RTW_ERR_INVALID_STATE;
  *wait_ms = rc->deadline > now_ms ? rc->deadline - now_ms : 0;
  return 0;
}

uint32_t rtw_sse_reconnect_failures(const rtw_sse_reconnect *rc)
{
  return rc != NULL ? rc->failures : 0;
}
