/* SPDX-License-Identifier: MIT */
/* JSON string literal writer: the one escaping rule every rtwcat output line uses. */

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
