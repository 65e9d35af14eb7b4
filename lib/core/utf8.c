/* SPDX-License-Identifier: MIT */
/* Incremental UTF-8 validator and replacing decoder (WHATWG Encoding 8.1.1). See utf8.h. */
#include <string.h>

#include "utf8.h"

#define ASCII_MASK 0x8080808080808080ull

/* Start a sequence with lead byte b. Returns 0 when b is not a valid lead byte. */
static int lead(rtw__utf8 *st, uint8_t b)
{
  st->lo = 0x80;
  st->hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    st->need = 1;
    st->cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0)
      st->lo = 0xA0; /* no overlong 3-byte forms */
    if (b == 0xED)
      st->hi = 0x9F; /* no surrogates D800..DFFF */
    st->need = 2;
    st->cp = b & 0x0Fu;
  } else if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0)
      st->lo = 0x90; /* no overlong 4-byte forms */
    if (b == 0xF4)
      st->hi = 0x8F; /* nothing above U+10FFFF */
    st->need = 3;
    st->cp = b & 0x07u;
  } else {
    return 0;
  }
  return 1;
}

static size_t ascii_run(const uint8_t *p, size_t n)
{
  size_t i = 0;
  uint64_t w;

  while (i + 8 <= n) {
    memcpy(&w, p + i, 8);
    if (w & ASCII_MASK)
      break;
    i += 8;
  }
  while (i < n && p[i] < 0x80)
    i++;
  return i;
}

size_t rtw__utf8_validate(rtw__utf8 *st, const uint8_t *p, size_t n)
{
  size_t i = 0;

  while (i < n) {
    uint8_t b = p[i];
    if (st->need == 0) {
      if (b < 0x80) {
        i += ascii_run(p + i, n - i);
        continue;
      }
      if (!lead(st, b))
        return i;
    } else {
      if (b < st->lo || b > st->hi)
        return i;
      st->lo = 0x80;
      st->hi = 0xBF;
      st->cp = (st->cp << 6) | (b & 0x3Fu);
      st->need--;
    }
    i++;
  }
  return n;
}

size_t rtw__utf8_valid_prefix(const uint8_t *p, size_t n)
{
  rtw__utf8 st;
  size_t i = 0, last = 0;

  rtw__utf8_init(&st);
  while (i < n) {
    uint8_t b = p[i];
    if (st.need == 0) {
      last = i;
      if (b < 0x80) {
        i += ascii_run(p + i, n - i);
        last = i;
        continue;
      }
      if (!lead(&st, b))
        return last;
    } else {
      if (b < st.lo || b > st.hi)
        return last;
      st.lo = 0x80;
      st.hi = 0xBF;
      st.need--;
    }
    i++;
  }
  return st.need == 0 ? n : last;
}

static size_t put_cp(uint8_t *out, uint32_t cp)
{
  if (cp < 0x80) {
    if (out)
      out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    if (out) {
      out[0] = (uint8_t)(0xC0 | (cp >> 6));
      out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return 2;
  }
  if (cp < 0x10000) {
    if (out) {
      out[0] = (uint8_t)(0xE0 | (cp >> 12));
      out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return 3;
  }
  if (out) {
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return 4;
}

#define FFFD 0xFFFDu

size_t rtw__utf8_decode(rtw__utf8 *st, const uint8_t *p, size_t n, uint8_t *out)
{
  size_t i = 0, o = 0;

  while (i < n) {
    uint8_t b = p[i];
    if (st->need == 0) {
      if (b < 0x80) {
        size_t run = ascii_run(p + i, n - i);
        if (out)
          memcpy(out + o, p + i, run);
        o += run;
        i += run;
        continue;
      }
      if (!lead(st, b))
        o += put_cp(out ? out + o : NULL, FFFD);
      i++;
      continue;
    }
    if (b < st->lo || b > st->hi) {
      /* WHATWG: the pending sequence becomes U+FFFD and the byte is processed again
       * ("restore byte to ioQueue"), so it is not consumed here. */
      rtw__utf8_init(st);
      o += put_cp(out ? out + o : NULL, FFFD);
      continue;
    }
    st->lo = 0x80;
    st->hi = 0xBF;
    st->cp = (st->cp << 6) | (b & 0x3Fu);
    if (--st->need == 0) {
      o += put_cp(out ? out + o : NULL, st->cp);
      st->cp = 0;
    }
    i++;
  }
  return o;
}

size_t rtw__utf8_flush(rtw__utf8 *st, uint8_t *out)
{
  if (st->need == 0)
    return 0;
  rtw__utf8_init(st);
  return put_cp(out, FFFD);
}
