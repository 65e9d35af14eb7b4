/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: what the server allows a client to say and how fast.
 *
 * Names. A name is shown to every reader next to the text, so it must look like what it
 * is: printable characters only. Refused are the controls (C0, DEL, C1: Unicode category
 * Cc), the format characters that reorder or hide text (bidi embeddings, overrides and
 * isolates, zero-width spaces and joiners, word joiner, invisible operators, BOM, soft
 * hyphen, tags: category Cf), line and paragraph separators, spaces other than U+0020
 * (a name of no-break spaces looks empty), fillers that render as nothing, noncharacters
 * and private-use code points. Emoji variation selector 16 (U+FE0F) is allowed after a
 * non-ASCII character, where it selects the emoji form. The input is valid UTF-8 already
 * (the WebSocket session validated the text message, RFC 6455 8.1, and the JSON reader
 * turns escapes into valid UTF-8).
 *
 * Rates. Each chat socket has two budgets, messages and bytes per second, kept as a GCRA
 * (a token bucket in virtual time): `tat` (in microseconds) is when the budget would be
 * back to full; a cost moves it forward by cost / rate seconds; the cost is refused when
 * `tat` would get more than CHAT_RATE_BURST_MS ahead of now, i.e. a client may spend up to
 * that many milliseconds' worth of its rate at once, and its rate on average.
 */
#include "chat.h"

#include <stdio.h>
#include <string.h>

/* One code point from valid UTF-8 (RFC 3629); returns its length in bytes. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
  if (s[0] < 0x80 || len < 2) {
    *cp = s[0];
    return 1;
  }
  if (s[0] < 0xE0) {
    *cp = ((uint32_t)(s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    return 2;
  }
  if (s[0] < 0xF0 || len < 4) {
    *cp = len < 3 ? 0xFFFDu
                  : ((uint32_t)(s[0] & 0x0Fu) << 12) | ((uint32_t)(s[1] & 0x3Fu) << 6) |
                      (s[2] & 0x3Fu);
    return len < 3 ? len : 3;
  }
  *cp = ((uint32_t)(s[0] & 0x07u) << 18) | ((uint32_t)(s[1] & 0x3Fu) << 12) |
        ((uint32_t)(s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
  return 4;
}

/* Ranges of code points a name may not contain (inclusive), in order. */
static const uint32_t refused[][2] = {
  {0x0000, 0x001F},   /* C0 controls */
  {0x007F, 0x00A0},   /* DEL, C1 controls, no-break space */
  {0x00AD, 0x00AD},   /* soft hyphen */
  {0x034F, 0x034F},   /* combining grapheme joiner */
  {0x0600, 0x0605},   /* arabic number signs (format) */
  {0x061C, 0x061C},   /* arabic letter mark (bidi) */
  {0x06DD, 0x06DD},   /* arabic end of ayah (format) */
  {0x070F, 0x070F},   /* syriac abbreviation mark (format) */
  {0x0890, 0x0891},   /* arabic pound and piastre marks above (format) */
  {0x08E2, 0x08E2},   /* arabic disputed end of ayah (format) */
  {0x115F, 0x1160},   /* hangul fillers */
  {0x1680, 0x1680},   /* ogham space mark */
  {0x17B4, 0x17B5},   /* khmer inherent vowels (invisible) */
  {0x180B, 0x180F},   /* mongolian variation selectors, vowel separator */
  {0x2000, 0x200F},   /* spaces, zero-width space/joiners, LRM, RLM */
  {0x2028, 0x202F},   /* line/paragraph separators, bidi embeddings/overrides, NNBSP */
  {0x205F, 0x206F},   /* math space, word joiner, invisible operators, bidi isolates */
  {0x2800, 0x2800},   /* braille blank */
  {0x3000, 0x3000},   /* ideographic space */
  {0x3164, 0x3164},   /* hangul filler */
  {0xD800, 0xF8FF},   /* surrogates, private use */
  {0xFDD0, 0xFDEF},   /* noncharacters */
  {0xFE00, 0xFE0F},   /* variation selectors (U+FE0F: see allowed_selector) */
  {0xFEFF, 0xFEFF},   /* zero-width no-break space (BOM) */
  {0xFFA0, 0xFFA0},   /* halfwidth hangul filler */
  {0xFFF0, 0xFFFC},   /* specials: interlinear annotation, object replacement */
  {0x110BD, 0x110BD}, /* kaithi number sign (format) */
  {0x110CD, 0x110CD}, /* kaithi number sign above (format) */
  {0x13430, 0x1343F}, /* egyptian hieroglyph format controls */
  {0x1BCA0, 0x1BCA3}, /* shorthand format controls */
  {0x1D173, 0x1D17A}, /* musical symbol format controls */
  {0xE0000, 0xEFFFF}, /* tags, variation selectors supplement */
  {0xF0000, 0x10FFFF} /* supplementary private use */
};

static int is_refused(uint32_t cp)
{
  size_t i;
  if ((cp & 0xFFFEu) == 0xFFFEu) /* U+xFFFE, U+xFFFF: noncharacters */
    return 1;
  for (i = 0; i < sizeof refused / sizeof refused[0] && refused[i][0] <= cp; i++)
    if (cp <= refused[i][1])
      return 1;
  return 0;
}

int chat_name_check(char *name, size_t *len, char *why, size_t why_cap)
{
  const unsigned char *s = (const unsigned char *)name;
  size_t start = 0, end = *len, i, n;
  uint32_t cp, prev = 0;

  while (start < end && name[start] == ' ')
    start++;
  while (end > start && name[end - 1] == ' ')
    end--;
  if (end == start || end - start > CHAT_MAX_NAME) {
    snprintf(why, why_cap, "name: 1 to %u bytes", CHAT_MAX_NAME);
    return -1;
  }
  for (i = start; i < end; i += n, prev = cp) {
    n = utf8_next(s + i, end - i, &cp);
    if (is_refused(cp) && !(cp == 0xFE0F && prev >= 0x80)) {
      snprintf(why, why_cap, "name: U+%04X is not allowed (printable characters only)",
               (unsigned)cp);
      return -1;
    }
  }
  memmove(name, name + start, end - start);
  *len = end - start;
  return 0;
}

void chat_rate_init(chat_rate *r, uint32_t per_second)
{
  r->tat = 0;
  r->per_second = per_second;
}

int chat_rate_take(chat_rate *r, uint64_t cost, uint64_t now)
{
  uint64_t now_us = now * 1000u, tat = r->tat > now_us ? r->tat : now_us, step;

  if (r->per_second == 0) /* unlimited */
    return 0;
  step = cost * 1000000u / r->per_second; /* microseconds: small costs still count */
  if (tat + step - now_us > (uint64_t)CHAT_RATE_BURST_MS * 1000u)
    return -1;
  r->tat = tat + step;
  return 0;
}

int chat_rate_full(const chat_rate *r, uint64_t now)
{
  return r->tat <= now * 1000u;
}
