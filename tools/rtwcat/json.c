/* SPDX-License-Identifier: MIT */
/* JSON string literal writer: the one escaping rule every rtwcat output line uses; and the
 * SSE and WebSocket JSON lines built on it. */

#include <inttypes.h>

#include "rtweb/ws.h"

#include "base64.h"
#include "json.h"

/* The escape for byte c, or NULL when c is copied as it is. buf holds a \u00xx form. */
static const char *escape_of(unsigned char c, char buf[7])
{
  static const char hex[] = "0123456789abcdef";

  switch (c) {
  case '"':
    return "\\\"";
  case '\\':
    return "\\\\";
  case '\n':
    return "\\n";
  case '\r':
    return "\\r";
  case '\t':
    return "\\t";
  default:
    break;
  }
  if (c >= 0x20)
    return NULL;
  /* RFC 8259 section 7: control characters U+0000..U+001F must be escaped. */
  buf[0] = '\\';
  buf[1] = 'u';
  buf[2] = '0';
  buf[3] = '0';
  buf[4] = hex[c >> 4];
  buf[5] = hex[c & 0xf];
  buf[6] = '\0';
  return buf;
}

void rtwcat_json_string(FILE *out, const char *s, size_t n)
{
  size_t i, run = 0; /* s[run..i) is pending, to be copied unchanged */
  char buf[7];

  putc('"', out);
  for (i = 0; i < n; i++) {
    const char *esc = escape_of((unsigned char)s[i], buf);

    if (esc == NULL)
      continue;
    if (i > run)
      fwrite(s + run, 1, i - run, out);
    fputs(esc, out);
    run = i + 1;
  }
  if (n > run)
    fwrite(s + run, 1, n - run, out);
  putc('"', out);
}

/* ------------------------------------------------------------------ SSE lines */

void rtwcat_json_sse_event(FILE *out, const char *type, size_t type_len, const char *data,
                           size_t data_len, const char *id, size_t id_len)
{
  fputs("{\"event\":", out);
  rtwcat_json_string(out, type, type_len);
  fputs(",\"data\":", out);
  rtwcat_json_string(out, data, data_len);
  fputs(",\"id\":", out);
  rtwcat_json_string(out, id, id_len);
  fputs("}\n", out);
}

void rtwcat_json_sse_retry(FILE *out, uint32_t ms)
{
  fprintf(out, "{\"retry\":%" PRIu32 "}\n", ms);
}

void rtwcat_json_sse_comment(FILE *out, const char *text, size_t len)
{
  fputs("{\"comment\":", out);
  rtwcat_json_string(out, text, len);
  fputs("}\n", out);
}

/* ------------------------------------------------------------------ WebSocket lines */

void rtwcat_json_ws_message(FILE *out, int opcode, const void *data, size_t len)
{
  if (opcode == RTW_WS_OP_TEXT) {
    fputs("{\"type\":\"text\",\"data\":", out);
    rtwcat_json_string(out, data, len);
  } else {
    fputs("{\"type\":\"binary\",\"base64\":", out);
    rtwcat_base64(out, data, len);
  }
  fputs("}\n", out);
}

void rtwcat_json_ws_control(FILE *out, const char *type, const void *data, size_t len)
{
  fprintf(out, "{\"type\":\"%s\",\"base64\":", type);
  rtwcat_base64(out, data, len);
  fputs("}\n", out);
}

void rtwcat_json_ws_close(FILE *out, int code, const char *reason, size_t reason_len)
{
  fputs("{\"type\":\"close\",", out);
  /* RFC 6455 7.1.5: a close frame without a status code; the session reports 1005. */
  if (code != RTW_WS_CLOSE_NO_STATUS)
    fprintf(out, "\"code\":%d,", code);
  fputs("\"reason\":", out);
  rtwcat_json_string(out, reason, reason_len);
  fputs("}\n", out);
}
