/* SPDX-License-Identifier: MIT */
/* The HTTP/1 head parser: the one file in rtweb that includes llhttp.h. See http1.h. */
#include <string.h>

#include <llhttp.h>

#include "fields.h"
#include "http1.h"

/* One field line: offsets into rtw__http1.text (the buffer may move while it grows). */
typedef struct field {
  size_t name_off, name_len;
  size_t value_off, value_len;
} field;

#define STATE_HEAD 0
#define STATE_DONE 1
#define STATE_FAILED 2
#define STATE_BODY_DONE 3 /* the body decoder saw the end of the message */

struct rtw__http1 {
  llhttp_t parser;
  llhttp_settings_t settings; /* llhttp keeps a pointer to it: it lives as long as parser */
  const rtw_mem *mem;
  size_t max_head;
  uint32_t max_headers;
  int type;
  int state;
  int err;         /* sticky error once FAILED; set by callbacks before that */
  int in_field;    /* inside a field name (llhttp may deliver it in pieces) */
  size_t name_bytes; /* bytes of the current field name so far, trailers included */
  int bad_name;      /* the current field name holds a byte that is not a tchar */
  size_t used;     /* head bytes consumed so far */
  rtw__buf text;   /* target, reason phrase, field names and values */
  rtw__buf fields; /* array of `field` */
  size_t nfields;
  size_t target_off, target_len;
  size_t reason_off, reason_len;
  rtw__http1_body_fn body_fn; /* NULL: stop at the head (handshakes); else decode the body */
  void *body_ud;
};

static rtw__http1 *from(llhttp_t *p)
{
  return (rtw__http1 *)p->data;
}

static field *field_ptr(const rtw__http1 *h, size_t i)
{
  return (field *)(void *)(h->fields.data + i * sizeof(field));
}

/* Append a piece of the current span; failures are kept in h->err. */
static int store(rtw__http1 *h, const char *at, size_t n)
{
  int rv = rtw__buf_append(&h->text, h->mem, at, n);
  if (rv != 0) {
    h->err = rv;
    return HPE_USER;
  }
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
  rtw__http1 *h = from(p);
  if (h->target_len == 0)
    h->target_off = h->text.len;
  h->target_len += n;
  return store(h, at, n);
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
  rtw__http1 *h = from(p);
  if (h->reason_len == 0)
    h->reason_off = h->text.len;
  h->reason_len += n;
  return store(h, at, n);
}

/* A new field line starts. max_headers is enforced when its name is complete
 * (on_header_field_complete), not here: llhttp hands over a partial name at the end of each
 * input piece, so checking here would make the outcome depend on the split (a malformed
 * name past the limit: RTW_ERR_HTTP_TOO_MANY_HEADERS when cut, RTW_ERR_HTTP_MALFORMED when
 * whole). The name stored meanwhile is bounded by max_head_size like everything else, and
 * the field array by one entry past max_headers. */
static int begin_field(rtw__http1 *h)
{
  field f;
  int rv;

  memset(&f, 0, sizeof f);
  f.name_off = h->text.len;
  rv = rtw__buf_append(&h->fields, h->mem, &f, sizeof f);
  if (rv != 0) {
    h->err = rv;
    return HPE_USER;
  }
  h->nfields++;
  h->in_field = 1;
  return 0;
}

/* RFC 9112 7.1.2: trailer fields of a chunked body arrive through the same callbacks after
 * the head; they are discarded (nothing is stored, so they cannot grow memory). */
static int in_trailer(const rtw__http1 *h)
{
  return h->state != STATE_HEAD;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
  rtw__http1 *h = from(p);
  int rv;

  /* RFC 9110 5.1: field-name = token. RFC 9112 5.1: "No whitespace is allowed between the
   * field name and colon"; a server MUST answer 400. llhttp 8.1 built without
   * LLHTTP_STRICT_MODE (Debian's sources, built as they come; rtweb sets no lenient flag)
   * allows a space in the token it reads as a field name, so "Host : x" arrives as a field
   * named "Host ". Every piece is checked here, in the layer all of rtweb's HTTP parsers
   * share (trailer fields included), and the name is refused once complete
   * (on_header_field_complete): llhttp hands a name over in pieces that end where the input
   * was cut, so failing here would make the error position depend on the split. */
  if (n > 0 && !rtw__http_is_token(at, n))
    h->bad_name = 1;
  h->name_bytes += n;
  if (in_trailer(h))
    return 0;
  if (!h->in_field && (rv = begin_field(h)) != 0)
    return rv;
  return store(h, at, n);
}

static int on_header_field_complete(llhttp_t *p)
{
  rtw__http1 *h = from(p);
  field *f;

  /* not a token (see on_header_field), or empty (": v"): a token has at least one tchar */
  if (h->bad_name || h->name_bytes == 0) {
    h->err = RTW_ERR_HTTP_MALFORMED;
    return HPE_USER;
  }
  h->name_bytes = 0;
  if (in_trailer(h))
    return 0;
  if (h->nfields > h->max_headers) {
    h->err = RTW_ERR_HTTP_TOO_MANY_HEADERS;
    return HPE_USER;
  }
  f = field_ptr(h, h->nfields - 1);
  f->name_len = h->text.len - f->name_off;
  f->value_off = h->text.len;
  h->in_field = 0;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
  return in_trailer(from(p)) ? 0 : store(from(p), at, n);
}

static int is_ows(char c)
{
  return c == ' ' || c == '\t';
}

/* RFC 9110 5.5: a field value excludes leading and trailing whitespace (OWS). */
static int on_header_value_complete(llhttp_t *p)
{
  rtw__http1 *h = from(p);
  field *f;
  const char *v;
  size_t n;

  if (in_trailer(h))
    return 0;
  f = field_ptr(h, h->nfields - 1);
  v = h->text.data ? h->text.data + f->value_off : "";
  n = h->text.len - f->value_off;

  while (n > 0 && is_ows(v[0])) {
    v++;
    n--;
    f->value_off++;
  }
  while (n > 0 && is_ows(v[n - 1]))
    n--;
  f->value_len = n;
  return 0;
}

/* Stop at the end of the head: 2 tells llhttp "no body, return HPE_PAUSED_UPGRADE", which
 * leaves whatever follows unconsumed for the caller. */
static int on_headers_complete(llhttp_t *p)
{
  rtw__http1 *h = from(p);
  h->state = STATE_DONE;
  /* With a body decoder, pause instead (HPE_PAUSED): llhttp keeps the body framing state and
   * rtw__http1_body_feed() resumes it. */
  return h->body_fn != NULL ? HPE_PAUSED : 2;
}

/* RFC 9112 7.1: llhttp strips the chunk framing and hands over the decoded bytes. */
static int on_body(llhttp_t *p, const char *at, size_t n)
{
  rtw__http1 *h = from(p);
  int rv = h->body_fn(h->body_ud, at, n);
  if (rv != 0) {
    h->err = rv;
    return HPE_USER;
  }
  return 0;
}

/* Pause at the end of the message so that bytes after it stay unconsumed. */
static int on_message_complete(llhttp_t *p)
{
  rtw__http1 *h = from(p);
  if (h->body_fn == NULL)
    return 0;
  h->state = STATE_BODY_DONE;
  return HPE_PAUSED;
}

/* Members are assigned by name: their order differs between llhttp releases. */
static void init_settings(llhttp_settings_t *s)
{
  llhttp_settings_init(s);
  s->on_url = on_url;
  s->on_status = on_status;
  s->on_header_field = on_header_field;
  s->on_header_value = on_header_value;
  s->on_header_field_complete = on_header_field_complete;
  s->on_header_value_complete = on_header_value_complete;
  s->on_headers_complete = on_headers_complete;
  s->on_body = on_body;
  s->on_message_complete = on_message_complete;
}

int rtw__http1_new(rtw__http1 **out, int type, size_t max_head_size, uint32_t max_headers,
                   const rtw_mem *mem)
{
  rtw__http1 *h = rtw__mem_calloc(mem, 1, sizeof *h);

  *out = NULL;
  if (h == NULL)
    return RTW_ERR_NOMEM;
  h->mem = mem;
  h->type = type;
  h->max_head = max_head_size;
  h->max_headers = max_headers;
  init_settings(&h->settings);
  rtw__http1_reset(h);
  *out = h;
  return 0;
}

void rtw__http1_free(rtw__http1 *h)
{
  if (h == NULL)
    return;
  rtw__buf_free(&h->text, h->mem);
  rtw__buf_free(&h->fields, h->mem);
  rtw__mem_free(h->mem, h);
}

void rtw__http1_reset(rtw__http1 *h)
{
  llhttp_init(&h->parser, h->type == RTW__HTTP1_RESPONSE ? HTTP_RESPONSE : HTTP_REQUEST,
              &h->settings);
  h->parser.data = h;
  h->state = STATE_HEAD;
  h->err = 0;
  h->in_field = 0;
  h->name_bytes = 0;
  h->bad_name = 0;
  h->used = 0;
  h->text.len = 0;
  h->fields.len = 0;
  h->nfields = 0;
  h->target_off = h->target_len = 0;
  h->reason_off = h->reason_len = 0;
}

static int fail(rtw__http1 *h, int err)
{
  h->state = STATE_FAILED;
  h->err = err;
  return err;
}

static int feed_head(rtw__http1 *h, const uint8_t *in, size_t len, size_t *nread)
{
  size_t room = h->max_head - h->used, n = len < room ? len : room;
  const char *pos;
  llhttp_errno_t rc;

  *nread = 0;
  if (h->state == STATE_DONE)
    return 1;
  if (h->state == STATE_FAILED)
    return h->err;
  rc = llhttp_execute(&h->parser, (const char *)in, n);
  pos = llhttp_get_error_pos(&h->parser);
  if (rc == HPE_OK) {
    *nread = n;
    h->used += n;
    /* RFC 9110 15.5.20 / RFC 6585 5: the head cannot grow past the limit */
    return h->used >= h->max_head ? fail(h, RTW_ERR_HTTP_HEAD_TOO_LARGE) : 0;
  }
  *nread = pos != NULL && pos >= (const char *)in ? (size_t)(pos - (const char *)in) : n;
  h->used += *nread;
  /* RFC 9112 2.2: a bare CR is invalid. llhttp takes "CR LF CR" plus any byte as the end of
   * the head (the byte is eaten: the first WebSocket frame byte, or the body's), so the head
   * must end with the LF itself. The final byte always arrives in this call (*nread >= 1). */
  if ((rc == HPE_PAUSED_UPGRADE || rc == HPE_PAUSED) && h->state == STATE_DONE && h->err == 0 &&
      *nread > 0 && in[*nread - 1] == '\n')
    return 1;
  return fail(h, h->err != 0 ? h->err : RTW_ERR_HTTP_MALFORMED);
}

/* RFC 9110 15.2: a client must parse the 1xx (interim) responses that may come before the
 * final response, and may ignore them. 101 Switching Protocols is final here: it is the
 * answer a WebSocket client waits for, and an SSE client refuses it. */
static int is_interim(const rtw__http1 *h)
{
  unsigned st = h->type == RTW__HTTP1_RESPONSE ? rtw__http1_status(h) : 0;
  return st >= 100 && st < 200 && st != 101;
}

int rtw__http1_feed(rtw__http1 *h, const uint8_t *in, size_t len, size_t *nread)
{
  size_t n;
  int rv;

  *nread = 0;
  for (;;) {
    rv = feed_head(h, in, len, &n);
    *nread += n;
    if (rv != 1 || !is_interim(h))
      return rv;
    /* skip it: each head is held to the limits on its own, and nothing is kept. A complete
     * head took at least one byte, so `in` is not NULL here. */
    rtw__http1_reset(h);
    in += n;
    len -= n;
    if (len == 0)
      return 0;
  }
}

int rtw__http1_recv(rtw__http1 *h, int *outcome, const void *in, size_t len, size_t *nread,
                    rtw__http1_head_fn on_head, void *obj)
{
  int rv;

  if (*outcome != 0)
    return *outcome;
  rv = rtw__http1_feed(h, in, len, nread);
  if (rv == 0)
    return 0;
  *outcome = on_head(obj, rv);
  return *outcome;
}

void rtw__http1_decode_body(rtw__http1 *h, rtw__http1_body_fn fn, void *user_data)
{
  h->body_fn = fn;
  h->body_ud = user_data;
}

int rtw__http1_body_feed(rtw__http1 *h, const uint8_t *in, size_t len, size_t *nread)
{
  const char *pos;
  llhttp_errno_t rc;

  *nread = 0;
  if (h->state == STATE_BODY_DONE)
    return 1;
  if (h->state != STATE_DONE || h->body_fn == NULL)
    return h->state == STATE_FAILED ? h->err : RTW_ERR_INVALID_STATE;
  llhttp_resume(&h->parser); /* after the head's pause or a previous call's */
  rc = llhttp_execute(&h->parser, (const char *)in, len);
  if (rc == HPE_OK) {
    *nread = len;
    return 0;
  }
  pos = llhttp_get_error_pos(&h->parser);
  *nread = pos != NULL && pos >= (const char *)in ? (size_t)(pos - (const char *)in) : len;
  if (rc == HPE_PAUSED && h->state == STATE_BODY_DONE)
    return 1;
  return fail(h, h->err != 0 ? h->err : RTW_ERR_HTTP_MALFORMED);
}

int rtw__http1_body_finish(rtw__http1 *h)
{
  llhttp_errno_t rc;

  if (h->state == STATE_BODY_DONE)
    return 1;
  if (h->state != STATE_DONE || h->body_fn == NULL)
    return h->state == STATE_FAILED ? h->err : RTW_ERR_INVALID_STATE;
  llhttp_resume(&h->parser);
  /* RFC 9112 6.3 item 8: a body without Content-Length or chunked ends when the connection
   * closes; llhttp_finish() completes it, and reports any other framing as cut short. */
  rc = llhttp_finish(&h->parser);
  if ((rc == HPE_OK || rc == HPE_PAUSED) && h->state == STATE_BODY_DONE)
    return 1;
  return fail(h, h->err != 0 ? h->err : RTW_ERR_HTTP_TRUNCATED_BODY);
}

size_t rtw__http1_head_len(const rtw__http1 *h)
{
  return h->used;
}

const char *rtw__http1_method(const rtw__http1 *h)
{
  return llhttp_method_name((llhttp_method_t)h->parser.method);
}

int rtw__http1_is_get(const rtw__http1 *h)
{
  return h->parser.method == HTTP_GET;
}

static const char *text_at(const rtw__http1 *h, size_t off)
{
  return h->text.data != NULL ? h->text.data + off : "";
}

void rtw__http1_target(const rtw__http1 *h, const char **p, size_t *len)
{
  *p = text_at(h, h->target_off);
  *len = h->target_len;
}

int rtw__http1_target_split(const rtw__http1 *h, const char **path, size_t *path_len,
                            const char **query, size_t *query_len)
{
  const char *t, *end, *s, *mark;
  size_t n;

  rtw__http1_target(h, &t, &n);
  end = t + n;
  s = t;
  if (n > 0 && t[0] != '/') { /* absolute-form: skip "scheme://authority" */
    const char *colon = memchr(t, ':', n);
    if (colon != NULL && end - colon >= 3 && colon[1] == '/' && colon[2] == '/') {
      s = colon + 3;
      while (s < end && *s != '/' && *s != '?')
        s++;
    }
  }
  mark = s < end ? memchr(s, '?', (size_t)(end - s)) : NULL;
  *path = s;
  *path_len = (size_t)((mark != NULL ? mark : end) - s);
  *query = mark != NULL ? mark + 1 : end;
  *query_len = mark != NULL ? (size_t)(end - mark - 1) : 0;
  return mark != NULL;
}

void rtw__http1_reason(const rtw__http1 *h, const char **p, size_t *len)
{
  *p = text_at(h, h->reason_off);
  *len = h->reason_len;
}

unsigned rtw__http1_status(const rtw__http1 *h)
{
  return h->parser.status_code;
}

unsigned rtw__http1_version(const rtw__http1 *h)
{
  return (unsigned)h->parser.http_major * 10u + h->parser.http_minor;
}

void rtw__http1_version_parts(const rtw__http1 *h, int *major, int *minor)
{
  *major = h->parser.http_major;
  *minor = h->parser.http_minor;
}

int rtw__http1_body(const rtw__http1 *h, uint64_t *content_length)
{
  *content_length = 0;
  if (h->parser.flags & F_CHUNKED)
    return RTW__HTTP1_BODY_CHUNKED;
  if (h->parser.flags & F_CONTENT_LENGTH) {
    *content_length = h->parser.content_length;
    return RTW__HTTP1_BODY_LENGTH;
  }
  return RTW__HTTP1_BODY_NONE;
}

size_t rtw__http1_header_count(const rtw__http1 *h)
{
  return h->nfields;
}

void rtw__http1_header_at(const rtw__http1 *h, size_t i, const char **name, size_t *name_len,
                          const char **value, size_t *value_len)
{
  const field *f = field_ptr(h, i);
  *name = text_at(h, f->name_off);
  *name_len = f->name_len;
  *value = text_at(h, f->value_off);
  *value_len = f->value_len;
}

/* RFC 9110 5.1: field names are case-insensitive. */
int rtw__http1_header(const rtw__http1 *h, const char *name, size_t name_len, size_t index,
                      const char **value, size_t *value_len)
{
  size_t i;
  for (i = 0; i < h->nfields; i++) {
    const field *f = field_ptr(h, i);
    if (!rtw__http_ieq(text_at(h, f->name_off), f->name_len, name, name_len))
      continue;
    if (index-- == 0) {
      *value = text_at(h, f->value_off);
      *value_len = f->value_len;
      return 1;
    }
  }
  return 0;
}

size_t rtw__http1_header_lines(const rtw__http1 *h, const char *name, size_t name_len)
{
  size_t i, n = 0;
  for (i = 0; i < h->nfields; i++) {
    const field *f = field_ptr(h, i);
    n += (size_t)rtw__http_ieq(text_at(h, f->name_off), f->name_len, name, name_len);
  }
  return n;
}
