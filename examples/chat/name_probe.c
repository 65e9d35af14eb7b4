/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: a probe of the name rule for tests (hostile_test.py). Reads code points, one
 * per line in hex, and prints for each `<hex> 1` when chat_name_check() accepts the name
 * "a<code point>", `<hex> 0` when it refuses it. Not installed.
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>

static size_t utf8_put(char *out, unsigned long cp)
{
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int main(void)
{
  char line[64], name[8], why[96];

  while (fgets(line, sizeof line, stdin) != NULL) {
    unsigned long cp = strtoul(line, NULL, 16);
    size_t len;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 2; /* not a scalar value: not encodable as UTF-8 */
    name[0] = 'a';
    len = 1 + utf8_put(name + 1, cp);
    printf("%lx %d\n", cp, chat_name_check(name, &len, why, sizeof why) == 0);
  }
  return 0;
}
