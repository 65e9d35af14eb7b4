/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the little JSON the chat needs (RFC 8259): read `{"name":"..","text":".."}`
 * from a client, write string literals for what the server sends.
 *
 * The reader accepts any JSON object (members in any order, other members of any type
 * skipped, nesting up to 16 levels) and requires "name" and "text" to be strings. Strings
 * are unescaped into the caller's buffers; \u escapes (four hex digits) become UTF-8, a
 * surrogate pair one code point, a lone surrogate an error (RFC 8259 section 8.2: such a
 * string is not valid Unicode). The WebSocket session has already checked that the message
 * is UTF-8.
 */
#include "chat.h"

#include <string.h>

#define MAX_DEPTH 16

typedef struct reader {
  const char *p, *end;
} reader;

static void skip_ws(reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int hex4(reader *r, unsigned *out)
{
  unsigned v = 0;
  int i;
  if (r->end - r->p < 4)
    return -1;
  for (i = 0; i < 4; i++) {
    char c = *r->p++;
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* One code point after "\u" (RFC 8259 section 7), a surrogate pair joined. */
static int unicode_escape(reader *r, unsigned *cp)
{
  unsigned hi, lo;
  if (hex4(r, &hi) != 0)
    return -1;
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    return -1;
  if (hi < 0xD800 || hi > 0xDBFF) {
    *cp = hi;
    return 0;
  }
  if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
    return -1;
  r->p += 2;
  if (hex4(r, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
    return -1;
  *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return 0;
}

static int put(char *out, size_t cap, size_t *n, const char *bytes, size_t len)
{
  if (out == NULL) /* skipping */
    return 0;
  if (len > cap - *n)
    return -1;
  memcpy(out + *n, bytes, len);
  *n += len;
  return 0;
}

static int put_utf8(char *out, size_t cap, size_t *n, unsigned cp)
{
  char b[4];
  size_t len;
  if (cp < 0x80) {
    b[0] = (char)cp;
    len = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    len = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    len = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    len = 4;
  }
  return put(out, cap, n, b, len);
}

/* A string literal at r->p, unescaped into out (NULL: only skipped). */
static int read_string(reader *r, char *out, size_t cap, size_t *out_len)
{
  size_t n = 0;
  if (r->p >= r->end || *r->p != '"')
    return -1;
  r->p++;
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p++;
    char e;
    unsigned cp;
    if (c == '"') {
      if (out_len != NULL)
        *out_len = n;
      return 0;
    }
    if (c < 0x20) /* RFC 8259 section 7: control characters must be escaped */
      return -1;
    if (c != '\\') {
      if (put(out, cap, &n, (const char *)&c, 1) != 0)
        return -1;
      continue;
    }
    if (r->p >= r->end)
      return -1;
    switch (*r->p++) {
    case '"': e = '"'; break;
    case '\\': e = '\\'; break;
    case '/': e = '/'; break;
    case 'b': e = '\b'; break;
    case 'f': e = '\f'; break;
    case 'n': e = '\n'; break;
    case 'r': e = '\r'; break;
    case 't': e = '\t'; break;
    case 'u':
      if (unicode_escape(r, &cp) != 0 || put_utf8(out, cap, &n, cp) != 0)
        return -1;
      continue;
    default:
      return -1;
    }
    if (put(out, cap, &n, &e, 1) != 0)
      return -1;
  }
  return -1;
}

static int skip_value(reader *r, int depth);

static int skip_container(reader *r, int depth, char close)
{
  int first = 1;
  r->p++; /* '{' or '[' */
  for (;;) {
    skip_ws(r);
    if (r->p < r->end && *r->p == close && first) {
      r->p++;
      return 0;
    }
    if (close == '}') {
      if (read_string(r, NULL, 0, NULL) != 0)
        return -1;
      skip_ws(r);
      if (r->p >= r->end || *r->p++ != ':')
        return -1;
    }
    if (skip_value(r, depth + 1) != 0)
      return -1;
    skip_ws(r);
    if (r->p >= r->end)
      return -1;
    if (*r->p == close) {
      r->p++;
      return 0;
    }
    if (*r->p++ != ',')
      return -1;
    first = 0;
  }
}

/* Numbers and literals: a run of the characters they are made of (lenient, but bounded). */
static int skip_scalar(reader *r)
{
  const char *start = r->p;
  while (r->p < r->end && strchr("0123456789+-.eEtruefalsn", *r->p) != NULL)
    r->p++;
  return r->p > start ? 0 : -1;
}

static int skip_value(reader *r, int depth)
{
  if (depth > MAX_DEPTH)
    return -1;
  skip_ws(r);
  if (r->p >= r->end)
    return -1;
  if (*r->p == '"')
    return read_string(r, NULL, 0, NULL);
  if (*r->p == '{')
    return skip_container(r, depth, '}');
  if (*r->p == '[')
    return skip_container(r, depth, ']');
  return skip_scalar(r);
}

int chat_json_parse_message(const char *in, size_t len, char *name, size_t name_cap,
                            size_t *name_len, char *text, size_t text_cap, size_t *text_len)
{
  reader r;
  int have_name = 0, have_text = 0;
  char key[8];
  size_t key_len;
  const char *key_start;

  r.p = in;
  r.end = in + len;
  skip_ws(&r);
  if (r.p >= r.end || *r.p++ != '{')
    return -1;
  skip_ws(&r);
  if (r.p < r.end && *r.p == '}')
    return -1; /* no members */
  for (;;) {
    skip_ws(&r);
    key_start = r.p;
    /* a key longer than "name"/"text" is neither: read it again as a skipped string */
    if (read_string(&r, key, sizeof key, &key_len) != 0) {
      r.p = key_start;
      key_len = 0;
      if (read_string(&r, NULL, 0, NULL) != 0)
        return -1;
    }
    skip_ws(&r);
    if (r.p >= r.end || *r.p++ != ':')
      return -1;
    skip_ws(&r);
    if (key_len == 4 && memcmp(key, "name", 4) == 0) {
      if (read_string(&r, name, name_cap, name_len) != 0)
        return -1;
      have_name = 1;
    } else if (key_len == 4 && memcmp(key, "text", 4) == 0) {
      if (read_string(&r, text, text_cap, text_len) != 0)
        return -1;
      have_text = 1;
    } else if (skip_value(&r, 1) != 0) {
      return -1;
    }
    skip_ws(&r);
    if (r.p >= r.end)
      return -1;
    if (*r.p == '}')
      break;
    if (*r.p++ != ',')
      return -1;
  }
  r.p++;
  skip_ws(&r);
  return r.p == r.end && have_name && have_text ? 0 : -1;
}

int chat_json_string(chat_buf *b, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  size_t i, start = 0;
  char esc[6];

  if (chat_buf_puts(b, "\"") != 0)
    return -1;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    size_t n = 2;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    if (chat_buf_append(b, s + start, i - start, (size_t)-1) != 0)
      return -1;
    start = i + 1;
    esc[0] = '\\';
    switch (c) { /* RFC 8259 section 7: '"', '\' and the control characters */
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      n = 6;
    }
    if (chat_buf_append(b, esc, n, (size_t)-1) != 0)
      return -1;
  }
  if (chat_buf_append(b, s + start, len - start, (size_t)-1) != 0)
    return -1;
  return chat_buf_puts(b, "\"");
}
