/* SPDX-License-Identifier: MIT */
/* Server-Sent Events over HTTP/1.1: the server's request parsing and response framing, and
 * the client's request and response processing (WHATWG HTML 9.2.2-9.2.4, RFC 9110, RFC 9112).
 *
 * Server response (WHATWG 9.2.7 "Authoring notes"; RFC 9112 6.3, 7.1):
 *
 *   HTTP/1.1 200 OK
 *   Content-Type: text/event-stream
 *   Cache-Control: no-store
 *   X-Accel-Buffering: no
 *   Transfer-Encoding: chunked        (HTTP/1.1)  |  Connection: close   (HTTP/1.0)
 *   [extra fields]
 *
 *   then per write:  <hex length> CRLF <bytes> CRLF    ...    0 CRLF CRLF
 *
 * Client states: HEAD (collecting the response head) -> BODY (stream open, body bytes to the
 * host's rtw_sse_parser) -> a sticky outcome (END, NO_CONTENT, REDIRECT, or an error). The
 * response is judged as WHATWG 9.2.2 processResponse: status 200 and a Content-Type whose
 * MIME type essence is text/event-stream announce the connection; anything else fails it
 * (no reconnect), 204 being the documented "stop" signal. Redirects are reported with their
 * Location because Fetch follows them ("follow" mode) and only the host can open the new
 * connection.
 */
#include <string.h>

#include "fields.h"
#include "handshake.h"
#include "rtweb/http.h"
#include "sse_http.h"

/* ====================================================================== shared */

/* WHATWG 9.2.4: a last event ID never contains U+0000 NULL, U+000A LF or U+000D CR. */
static int id_ok(const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
      return 0;
  return 1;
}

static int empty(const char **p, size_t *len)
{
  *p = "";
  *len = 0;
  return 0;
}

/* MIME Sniffing 2.1: HTTP whitespace is U+0009 TAB, U+000A LF, U+000D CR and U+0020 SPACE. */
static int http_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* MIME Sniffing 4.4 "parse a MIME type", up to the essence (parameters never make it fail):
 * trim HTTP whitespace; type = token before '/'; subtype = token before ';', trailing
 * whitespace removed. Returns 1 with the two spans, or 0 (failure). */
static int mime_essence(const char *p, size_t n, const char **type, size_t *tlen,
                        const char **sub, size_t *slen)
{
  size_t i = 0, j;

  while (n > 0 && http_ws(p[0])) {
    p++;
    n--;
  }
  while (n > 0 && http_ws(p[n - 1]))
    n--;
  while (i < n && p[i] != '/')
    i++;
  if (i == n || !rtw__http_is_token(p, i))
    return 0;
  j = i + 1;
  while (j < n && p[j] != ';')
    j++;
  *type = p;
  *tlen = i;
  *sub = p + i + 1;
  *slen = j - i - 1;
  while (*slen > 0 && http_ws((*sub)[*slen - 1]))
    (*slen)--;
  return rtw__http_is_token(*sub, *slen);
}

int rtw_sse_http_is_event_stream(const char *value, size_t len)
{
  const char *t, *s;
  size_t tn, sn;

  if (value == NULL || !mime_essence(value, len, &t, &tn, &s, &sn))
    return 0;
  return rtw__http_ieq(t, tn, RTW__LIT("text")) && rtw__http_ieq(s, sn, RTW__LIT("event-stream"));
}

/* ====================================================================== server */

int rtw_sse_http_request_new(rtw_sse_http_request **out,
                             const rtw_sse_http_request_settings *s, const rtw_mem *mem)
{
  rtw_sse_http_request *req;
  rtw_mem m;
  size_t max_head = RTW_HTTP_DEFAULT_MAX_HEAD_SIZE;
  uint32_t max_headers = RTW_HTTP_DEFAULT_MAX_HEADERS;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (s != NULL && (s->version == 0 || s->version > RTW_SSE_HTTP_REQUEST_SETTINGS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = rtw__mem_init(&m, mem)) != 0)
    return rv;
  if (s != NULL && s->max_head_size != 0)
    max_head = s->max_head_size;
  if (s != NULL && s->max_headers != 0)
    max_headers = s->max_headers;
  req = rtw__mem_calloc(&m, 1, sizeof *req);
  if (req == NULL)
    return RTW_ERR_NOMEM;
  req->mem = m;
  rv = rtw__http1_new(&req->head, RTW__HTTP1_REQUEST, max_head, max_headers, &req->mem);
  if (rv != 0) {
    rtw_sse_http_request_free(req);
    return rv;
  }
  *out = req;
  return 0;
}

void rtw_sse_http_request_free(rtw_sse_http_request *req)
{
  if (req == NULL || req->view) /* a view belongs to its handshake server */
    return;
  rtw__http1_free(req->head);
  rtw__mem_free(&req->mem, req);
}

static int validate_request(const rtw__http1 *h)
{
  uint64_t cl;
  const char *v;
  size_t n;
  int body = rtw__http1_body(h, &cl);

  if (!rtw__http1_is_get(h)) /* WHATWG 9.2.2: the EventSource request is a GET */
    return RTW_ERR_HTTP_BAD_METHOD;
  if (rtw__http1_version(h) >= 11 && rtw__http1_header_lines(h, RTW__LIT("Host")) != 1)
    return RTW_ERR_HTTP_NO_HOST; /* RFC 9112 3.2 */
  if (body == RTW__HTTP1_BODY_CHUNKED || (body == RTW__HTTP1_BODY_LENGTH && cl > 0))
    return RTW_ERR_HTTP_UNEXPECTED_BODY;
  switch (rtw__http1_header_lines(h, RTW__LIT("Last-Event-ID"))) {
  case 0:
    return RTW_SSE_HTTP_DONE;
  case 1:
    rtw__http1_header(h, RTW__LIT("Last-Event-ID"), 0, &v, &n);
    return id_ok(v, n) ? RTW_SSE_HTTP_DONE : RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID;
  default:
    return RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID;
  }
}

static int on_request_head(void *obj, int rv)
{
  return rv == 1 ? validate_request(((rtw_sse_http_request *)obj)->head) : rv;
}

void rtw__sse_http_request_view(rtw_sse_http_request *req, rtw__http1 *head)
{
  memset(req, 0, sizeof *req);
  req->view = 1;
  req->head = head;
  req->outcome = validate_request(head);
}

void rtw__sse_http_request_unview(rtw_sse_http_request *req)
{
  req->head = NULL;
  req->outcome = 0;
}

int rtw_sse_http_request_recv(rtw_sse_http_request *req, const void *in, size_t len,
                              size_t *nread)
{
  if (nread != NULL)
    *nread = 0;
  if (req == NULL || nread == NULL || (in == NULL && len != 0) || req->view)
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__http1_recv(req->head, &req->outcome, in, len, nread, on_request_head, req);
}

static int complete(const rtw_sse_http_request *req)
{
  return req != NULL && req->outcome == RTW_SSE_HTTP_DONE;
}

int rtw_sse_http_request_outcome(const rtw_sse_http_request *req)
{
  if (req == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  return req->outcome;
}

int rtw_sse_http_request_version(const rtw_sse_http_request *req, int *major, int *minor)
{
  if (!complete(req) || major == NULL || minor == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rtw__http1_version_parts(req->head, major, minor);
  return 0;
}

int rtw_sse_http_request_path(const rtw_sse_http_request *req, const char **path, size_t *len)
{
  const char *q;
  size_t qlen;

  if (!complete(req) || path == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rtw__http1_target_split(req->head, path, len, &q, &qlen);
  return 1;
}

int rtw_sse_http_request_query(const rtw_sse_http_request *req, const char **query,
                               size_t *len)
{
  const char *p;
  size_t plen;

  if (!complete(req) || query == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!rtw__http1_target_split(req->head, &p, &plen, query, len))
    return empty(query, len);
  return 1;
}

int rtw_sse_http_request_header(const rtw_sse_http_request *req, const char *name,
                                size_t name_len, size_t index, const char **value,
                                size_t *value_len)
{
  if (!complete(req) || name == NULL || value == NULL || value_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (rtw__http1_header(req->head, name, name_len, index, value, value_len))
    return 1;
  return empty(value, value_len);
}

int rtw_sse_http_request_last_event_id(const rtw_sse_http_request *req, const char **id,
                                       size_t *len)
{
  int rv = rtw_sse_http_request_header(req, RTW__LIT("Last-Event-ID"), 0, id, len);
  return rv == 1 && *len == 0 ? 0 : rv;
}

/* RFC 9110 12.4.2: "q=0" means "not acceptable"; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ... */
static int q_zero(const char *params, size_t n)
{
  const char *pos = params, *end = params + n, *p;
  size_t i, len;

  while (pos < end) {
    p = pos;
    while (pos < end && *pos != ';')
      pos++;
    len = (size_t)(pos - p);
    if (pos < end)
      pos++;
    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
      p++;
      len--;
    }
    if (len < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
      continue;
    for (i = 2; i < len; i++)
      if (p[i] != '0' && p[i] != '.' && p[i] != ' ' && p[i] != '\t')
        return 0;
    return 1;
  }
  return 0;
}

/* RFC 9110 12.5.1: media-range = ( "* / *" / ( type "/" "*" ) / ( type "/" subtype ) ) params */
static int range_matches(const char *e, size_t n)
{
  const char *t, *s, *semi = memchr(e, ';', n);
  size_t tn, sn;

  if (!mime_essence(e, n, &t, &tn, &s, &sn))
    return 0;
  if (semi != NULL && q_zero(semi + 1, n - (size_t)(semi + 1 - e)))
    return 0;
  if (tn == 1 && t[0] == '*')
    return sn == 1 && s[0] == '*';
  return rtw__http_ieq(t, tn, RTW__LIT("text")) &&
         ((sn == 1 && s[0] == '*') || rtw__http_ieq(s, sn, RTW__LIT("event-stream")));
}

int rtw_sse_http_request_accepts(const rtw_sse_http_request *req)
{
  rtw__http_list_iter it;
  const char *e;
  size_t n;

  if (!complete(req))
    return RTW_ERR_INVALID_ARGUMENT;
  if (rtw__http1_header_lines(req->head, RTW__LIT("Accept")) == 0)
    return 1; /* RFC 9110 12.5.1: no Accept field means any media type */
  rtw__http_list_begin(&it, req->head, RTW__LIT("Accept"));
  while (rtw__http_list_iter_next(&it, &e, &n))
    if (range_matches(e, n))
      return 1;
  return 0;
}

int rtw_sse_http_request_chunked(const rtw_sse_http_request *req)
{
  if (!complete(req))
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__http1_version(req->head) >= 11; /* RFC 9112 7.1: chunked needs HTTP/1.1 */
}

int rtw_sse_http_request_resume(const rtw_sse_http_request *req,
                                const rtw_sse_history *history, uint64_t *seq)
{
  const char *id;
  size_t n;
  int rv;

  if (!complete(req) || history == NULL || seq == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *seq = rtw_sse_history_next_seq(history);
  if (rtw_sse_http_request_last_event_id(req, &id, &n) != 1)
    return 1;
  rv = rtw_sse_history_find(history, id, n, seq);
  if (rv == RTW_ERR_SSE_HISTORY_GAP)
    *seq = rtw_sse_history_next_seq(history);
  return rv;
}

/* Copy into buf when it is there; count always. */
static void put(char *buf, size_t *off, const char *p, size_t n)
{
  if (buf != NULL && n != 0)
    memcpy(buf + *off, p, n);
  *off += n;
}

static int response_field_ok(const rtw_http_header *h)
{
  if (h->name == NULL || (h->value == NULL && h->value_len != 0))
    return 0;
  return rtw__http_is_token(h->name, h->name_len) &&
         rtw__http_value_ok(h->value != NULL ? h->value : "", h->value_len) &&
         !rtw__hs_reserved(h->name, h->name_len, 0) &&
         !rtw__http_ieq(h->name, h->name_len, RTW__LIT("Cache-Control"));
}

static size_t write_response(char *buf, uint32_t flags, const rtw_http_header *hs, size_t n)
{
  static const char head[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/event-stream\r\n"
                             "Cache-Control: no-store\r\n"
                             "X-Accel-Buffering: no\r\n";
  static const char chunked[] = "Transfer-Encoding: chunked\r\n";
  static const char close_[] = "Connection: close\r\n";
  size_t off = 0, i;

  put(buf, &off, RTW__LIT(head));
  if (flags & RTW_SSE_HTTP_RESPONSE_CHUNKED)
    put(buf, &off, RTW__LIT(chunked));
  else /* RFC 9112 6.3 item 8: the body ends when the server closes */
    put(buf, &off, RTW__LIT(close_));
  for (i = 0; i < n; i++) {
    put(buf, &off, hs[i].name, hs[i].name_len);
    put(buf, &off, RTW__LIT(": "));
    put(buf, &off, hs[i].value, hs[i].value_len);
    put(buf, &off, RTW__LIT("\r\n"));
  }
  put(buf, &off, RTW__LIT("\r\n"));
  return off;
}

int rtw_sse_http_response(char *buf, size_t cap, size_t *out_len, uint32_t flags,
                          const rtw_http_header *headers, size_t num_headers)
{
  size_t i, need;

  if (out_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out_len = 0;
  if ((flags & ~RTW_SSE_HTTP_RESPONSE_CHUNKED) != 0 || (headers == NULL && num_headers != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  for (i = 0; i < num_headers; i++)
    if (!response_field_ok(&headers[i]))
      return RTW_ERR_HTTP_INVALID_HEADER;
  need = write_response(NULL, flags, headers, num_headers);
  *out_len = need;
  if (buf == NULL)
    return 0;
  if (cap < need)
    return RTW_ERR_BUFFER_TOO_SMALL;
  write_response(buf, flags, headers, num_headers);
  return 0;
}

int rtw_sse_http_chunk(char *buf, size_t cap, size_t *out_len, const void *data, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  char size[16];
  size_t digits = 0, v = len, off = 0, i;

  if (out_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out_len = 0;
  if (data == NULL && len != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  if (len == 0)
    return 0; /* RFC 9112 7.1: a chunk of size 0 is the last chunk */
  for (; v != 0; v >>= 4)
    size[sizeof size - 1 - digits++] = hex[v & 0xF];
  if (len > SIZE_MAX - digits - 4)
    return RTW_ERR_INVALID_ARGUMENT;
  *out_len = digits + 4 + len;
  if (buf == NULL)
    return 0;
  if (cap < *out_len)
    return RTW_ERR_BUFFER_TOO_SMALL;
  for (i = 0; i < digits; i++)
    buf[off++] = size[sizeof size - digits + i];
  put(buf, &off, RTW__LIT("\r\n"));
  put(buf, &off, data, len);
  put(buf, &off, RTW__LIT("\r\n"));
  return 0;
}

/* ====================================================================== client */

#define CLIENT_HEAD 0 /* collecting the response head */
#define CLIENT_BODY 1 /* stream open: body bytes go to the parser */

struct rtw_sse_http_client {
  rtw_mem mem;
  rtw_sse_parser *parser; /* the host's; not owned */
  rtw__http1 *head;
  rtw__buf request;
  int state;
  int outcome;    /* sticky result other than INCOMPLETE and DONE; 0 while none */
  int head_done;  /* accessors work */
  int empty_body; /* 200 with Content-Length: 0: the body is over at once */
  int busy;         /* inside recv() or end(): the host's parser callbacks may be running */
  int free_pending; /* rtw_sse_http_client_free() was called from one of them */
};

/* Fields the client writes itself, or that would change what the request means. */
static int client_reserved(const char *name, size_t len)
{
  return rtw__hs_reserved(name, len, 1) || rtw__http_ieq(name, len, RTW__LIT("Accept")) ||
         rtw__http_ieq(name, len, RTW__LIT("Cache-Control")) ||
         rtw__http_ieq(name, len, RTW__LIT("Last-Event-ID"));
}

static int check_client_settings(const rtw_sse_http_client_settings *s)
{
  size_t i;

  if (s == NULL || s->version == 0 || s->version > RTW_SSE_HTTP_CLIENT_SETTINGS_VERSION)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->host == NULL || s->host_len == 0 || !rtw__http_plain_ok(s->host, s->host_len))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->path_len != 0 &&
      (s->path == NULL || s->path[0] != '/' || !rtw__http_plain_ok(s->path, s->path_len)))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->last_event_id_len != 0 && s->last_event_id == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->last_event_id_len != 0 && (!id_ok(s->last_event_id, s->last_event_id_len) ||
                                    !rtw__http_value_ok(s->last_event_id,
                                                        s->last_event_id_len)))
    return RTW_ERR_HTTP_SSE_BAD_LAST_EVENT_ID;
  if (s->num_headers != 0 && s->headers == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  for (i = 0; i < s->num_headers; i++) {
    if (s->headers[i].name == NULL)
      return RTW_ERR_INVALID_ARGUMENT;
    if (client_reserved(s->headers[i].name, s->headers[i].name_len))
      return RTW_ERR_HTTP_INVALID_HEADER;
  }
  return 0;
}

/* WHATWG 9.2.2 steps 10-15 and 9.2.3 "reestablish the connection" step 5. */
static int build_client_request(rtw_sse_http_client *c, const rtw_sse_http_client_settings *s)
{
  rtw__out o;
  size_t i;
  int rv = 0;

  rtw__out_init(&o, &c->request, &c->mem);
  rtw__out_get_line(&o, s->path, s->path_len);
  rtw__out_field(&o, RTW__LIT("Host"), s->host, s->host_len);
  RTW__OUT_LIT(&o, "Accept: text/event-stream\r\nCache-Control: no-store\r\n");
  if (s->last_event_id_len != 0) /* only when not the empty string */
    rtw__out_field(&o, RTW__LIT("Last-Event-ID"), s->last_event_id, s->last_event_id_len);
  for (i = 0; rv == 0 && i < s->num_headers; i++)
    rv = rtw__hs_user_field(&o, s->headers[i].name, s->headers[i].name_len,
                            s->headers[i].value, s->headers[i].value_len, 1);
  RTW__OUT_LIT(&o, "\r\n");
  return rv != 0 ? rv : rtw__out_end(&o);
}

/* The decoded body goes to the parser. A pause from its callbacks is not passed on: the
 * rest of the piece is fed at once (the parser consumed at least the line it paused on). */
static int to_parser(void *user_data, const char *p, size_t n)
{
  rtw_sse_http_client *c = user_data;
  size_t used;
  int rv;

  while (n > 0) {
    rv = rtw_sse_parser_recv(c->parser, p, n, &used);
    if (c->free_pending) /* a callback freed the client: feed nothing more */
      return RTW_ERR_CALLBACK_FAILURE;
    if (rv != 0 && rv != RTW_ERR_PAUSE)
      return rv;
    if (used == 0) /* no progress would loop forever; the parser always takes a line */
      return RTW_ERR_INVALID_STATE;
    p += used;
    n -= used;
  }
  return 0;
}

int rtw_sse_http_client_new(rtw_sse_http_client **out, const rtw_sse_http_client_settings *s,
                            rtw_sse_parser *parser, const rtw_mem *mem)
{
  rtw_sse_http_client *c;
  rtw_mem m;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (parser == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = rtw__mem_init(&m, mem)) != 0 || (rv = check_client_settings(s)) != 0)
    return rv;
  c = rtw__mem_calloc(&m, 1, sizeof *c);
  if (c == NULL)
    return RTW_ERR_NOMEM;
  c->mem = m;
  c->parser = parser;
  rv = build_client_request(c, s);
  if (rv == 0)
    rv = rtw__http1_new(&c->head, RTW__HTTP1_RESPONSE,
                        s->max_head_size ? s->max_head_size : RTW_HTTP_DEFAULT_MAX_HEAD_SIZE,
                        s->max_headers ? s->max_headers : RTW_HTTP_DEFAULT_MAX_HEADERS,
                        &c->mem);
  if (rv != 0) {
    rtw_sse_http_client_free(c);
    return rv;
  }
  rtw__http1_decode_body(c->head, to_parser, c);
  *out = c;
  return 0;
}

static void destroy(rtw_sse_http_client *c)
{
  rtw__http1_free(c->head);
  rtw__buf_free(&c->request, &c->mem);
  rtw__mem_free(&c->mem, c);
}

void rtw_sse_http_client_free(rtw_sse_http_client *c)
{
  if (c == NULL)
    return;
  if (c->busy) { /* from a parser callback: the outermost recv()/end() frees it */
    c->free_pending = 1;
    return;
  }
  destroy(c);
}

/* recv() and end() drive the host's parser, whose callbacks may call back into the client:
 * a nested recv()/end() is refused (it would re-enter llhttp mid-execute), and a free is
 * carried out here, once the callback has returned. */
static int enter(rtw_sse_http_client *c)
{
  if (c->busy)
    return RTW_ERR_REENTRANT;
  c->busy = 1;
  return 0;
}

static int leave(rtw_sse_http_client *c, int rv)
{
  c->busy = 0;
  if (c->free_pending) {
    destroy(c);
    return RTW_ERR_CALLBACK_FAILURE;
  }
  return rv;
}

int rtw_sse_http_client_request(const rtw_sse_http_client *c, const void **data, size_t *len)
{
  if (c == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *data = c->request.data;
  *len = c->request.len;
  return 0;
}

/* Fetch "extract a MIME type": every Content-Type value, split at commas outside quotes;
 * the last one that parses (and is not * / *) wins. Missing or none valid: failure. */
static int content_type_ok(const rtw__http1 *h)
{
  rtw__http_list_iter it;
  const char *e, *t, *s;
  size_t n, tn, sn;
  int found = 0, ok = 0;

  rtw__http_list_begin(&it, h, RTW__LIT("Content-Type"));
  while (rtw__http_list_iter_next(&it, &e, &n)) {
    if (!mime_essence(e, n, &t, &tn, &s, &sn) ||
        (tn == 1 && t[0] == '*' && sn == 1 && s[0] == '*'))
      continue;
    found = 1;
    ok = rtw__http_ieq(t, tn, RTW__LIT("text")) && rtw__http_ieq(s, sn, RTW__LIT("event-stream"));
  }
  return found && ok;
}

static int is_redirect(unsigned status)
{
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* WHATWG 9.2.2 processResponse, after the network-error cases. */
static int process_response(rtw_sse_http_client *c)
{
  const rtw__http1 *h = c->head;
  unsigned status = rtw__http1_status(h);
  uint64_t cl;

  c->head_done = 1;
  if (status == 200) {
    if (!content_type_ok(h))
      return RTW_ERR_HTTP_SSE_BAD_CONTENT_TYPE;
    c->empty_body = rtw__http1_body(h, &cl) == RTW__HTTP1_BODY_LENGTH && cl == 0;
    return RTW_SSE_HTTP_DONE;
  }
  if (status == 204) /* "fail the connection": the server's stop signal */
    return RTW_SSE_HTTP_NO_CONTENT;
  /* Fetch 4.4 HTTP-redirect fetch: a redirect status without Location is a plain response */
  if (is_redirect(status) && rtw__http1_header_lines(h, RTW__LIT("Location")) > 0)
    return RTW_SSE_HTTP_REDIRECT;
  return RTW_ERR_HTTP_SSE_BAD_STATUS;
}

static int finish_stream(rtw_sse_http_client *c, int rv)
{
  int prv = rtw_sse_parser_end(c->parser); /* WHATWG 9.2.6: pending data is discarded */
  if (rv == RTW_SSE_HTTP_END && prv < 0)
    rv = prv;
  c->outcome = rv;
  return rv;
}

static int recv_body(rtw_sse_http_client *c, const void *in, size_t len, size_t *nread)
{
  int rv;

  if (c->empty_body)
    return finish_stream(c, RTW_SSE_HTTP_END);
  rv = rtw__http1_body_feed(c->head, in, len, nread);
  if (rv == 0)
    return RTW_SSE_HTTP_INCOMPLETE;
  if (rv == 1)
    return finish_stream(c, RTW_SSE_HTTP_END);
  c->outcome = rv;
  return rv;
}

static int client_recv(rtw_sse_http_client *c, const void *in, size_t len, size_t *nread)
{
  int rv;

  if (c->outcome != 0)
    return c->outcome;
  if (c->state == CLIENT_BODY)
    return recv_body(c, in, len, nread);
  rv = rtw__http1_feed(c->head, in, len, nread);
  if (rv == 0)
    return RTW_SSE_HTTP_INCOMPLETE;
  if (rv == 1)
    rv = process_response(c);
  if (rv == RTW_SSE_HTTP_DONE)
    c->state = CLIENT_BODY;
  else
    c->outcome = rv;
  return rv;
}

int rtw_sse_http_client_recv(rtw_sse_http_client *c, const void *in, size_t len,
                             size_t *nread)
{
  int rv;

  if (nread != NULL)
    *nread = 0;
  if (c == NULL || nread == NULL || (in == NULL && len != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = enter(c)) != 0)
    return rv;
  return leave(c, client_recv(c, in, len, nread));
}

static int client_end(rtw_sse_http_client *c)
{
  int rv;

  if (c->outcome != 0)
    return c->outcome;
  if (c->state == CLIENT_HEAD) {
    c->outcome = RTW_ERR_HTTP_MALFORMED; /* the head never completed */
    return c->outcome;
  }
  /* RFC 9112 6.3 item 8: a close-delimited body ends here; other framing was cut short */
  rv = c->empty_body ? 1 : rtw__http1_body_finish(c->head);
  return finish_stream(c, rv == 1 ? RTW_SSE_HTTP_END : rv);
}

int rtw_sse_http_client_end(rtw_sse_http_client *c)
{
  int rv;

  if (c == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = enter(c)) != 0)
    return rv;
  return leave(c, client_end(c));
}

int rtw_sse_http_client_status(const rtw_sse_http_client *c)
{
  return c != NULL && c->head_done ? (int)rtw__http1_status(c->head) : 0;
}

int rtw_sse_http_client_header(const rtw_sse_http_client *c, const char *name, size_t name_len,
                               size_t index, const char **value, size_t *value_len)
{
  if (c == NULL || name == NULL || value == NULL || value_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (c->head_done && rtw__http1_header(c->head, name, name_len, index, value, value_len))
    return 1;
  return empty(value, value_len);
}

int rtw_sse_http_client_location(const rtw_sse_http_client *c, const char **value,
                                 size_t *len)
{
  return rtw_sse_http_client_header(c, RTW__LIT("Location"), 0, value, len);
}
