/* SPDX-License-Identifier: MIT */
/* WebSocket opening handshake, server side (RFC 6455 section 4.2), and the helpers both sides
 * share.
 *
 * Flow of one rtw_ws_handshake_server:
 *
 *   HEAD  --bytes-->  rtw__http1 parses the request head (limits: 431)
 *     | head complete
 *     v
 *   not an upgrade (no Upgrade: websocket, no Sec-WebSocket-*)  -> PLAIN_REQUEST (host answers)
 *   an upgrade: validate (RFC 6455 4.2.1) -> error response (400/426) and RTW_ERR_HTTP_*
 *     | valid
 *     v
 *   on_upgrade(hs): 0 -> 101 response, DONE; 300..599 -> that response, RTW_ERR_HTTP_REJECTED
 *
 * Every outcome is sticky until rtw_ws_handshake_server_reset(). The bytes after the head are
 * never consumed: they belong to the WebSocket session (or the next request).
 */
#include <string.h>

#include "base64.h"
#include "crypto.h"
#include "deflate_ext.h"
#include "fields.h"
#include "handshake.h"
#include "sse_http.h"

/* RFC 6455 1.3 and 4.2.2 step 5.4: the GUID appended to the key before hashing. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ====================================================================== shared helpers */

int rtw_ws_handshake_accept_value(const char *key, size_t key_len, char out[RTW_WS_ACCEPT_LEN])
{
  char tmp[128];
  uint8_t digest[RTW__SHA1_LEN];
  int rv;

  if (key == NULL || out == NULL || key_len > sizeof tmp - (sizeof ws_guid - 1))
    return RTW_ERR_INVALID_ARGUMENT;
  memcpy(tmp, key, key_len);
  memcpy(tmp + key_len, ws_guid, sizeof ws_guid - 1);
  rv = rtw__sha1(tmp, key_len + sizeof ws_guid - 1, digest);
  if (rv != 0)
    return rv;
  rtw__base64_encode(digest, sizeof digest, out);
  return 0;
}

void rtw__out_init(rtw__out *o, rtw__buf *b, const rtw_mem *mem)
{
  o->b = b;
  o->mem = mem;
  o->err = 0;
}

void rtw__out_mem(rtw__out *o, const void *p, size_t n)
{
  if (o->err == 0 && n > 0)
    o->err = rtw__buf_append(o->b, o->mem, p, n);
}

void rtw__out_str(rtw__out *o, const char *s)
{
  rtw__out_mem(o, s, strlen(s));
}

void rtw__out_uint(rtw__out *o, unsigned long v)
{
  char tmp[24];
  size_t i = sizeof tmp;

  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  rtw__out_mem(o, tmp + i, sizeof tmp - i);
}

void rtw__out_get_line(rtw__out *o, const char *path, size_t path_len)
{
  RTW__OUT_LIT(o, "GET ");
  if (path_len)
    rtw__out_mem(o, path, path_len);
  else
    RTW__OUT_LIT(o, "/");
  RTW__OUT_LIT(o, " HTTP/1.1\r\n");
}

void rtw__out_field(rtw__out *o, const char *name, size_t name_len, const char *value,
                    size_t value_len)
{
  rtw__out_mem(o, name, name_len);
  RTW__OUT_LIT(o, ": ");
  rtw__out_mem(o, value, value_len);
  RTW__OUT_LIT(o, "\r\n");
}

int rtw__out_end(const rtw__out *o)
{
  return o->err;
}

int rtw__hs_reserved(const char *name, size_t len, int request)
{
  static const char prefix[] = "sec-websocket-";
  static const char *const always[] = {"connection", "upgrade"};
  static const char *const response[] = {"content-length", "content-type",
                                         "transfer-encoding"};
  size_t i;

  if (len >= sizeof prefix - 1 && rtw__http_ieq(name, sizeof prefix - 1, prefix, sizeof prefix - 1))
    return 1;
  for (i = 0; i < sizeof always / sizeof always[0]; i++)
    if (rtw__http_ieq(name, len, always[i], strlen(always[i])))
      return 1;
  if (request)
    return rtw__http_ieq(name, len, RTW__LIT("host"));
  for (i = 0; i < sizeof response / sizeof response[0]; i++)
    if (rtw__http_ieq(name, len, response[i], strlen(response[i])))
      return 1;
  return 0;
}

int rtw__hs_user_field(rtw__out *o, const char *name, size_t name_len, const char *value,
                       size_t value_len, int request)
{
  /* RFC 9110 5.1: a field name is a token; 5.5: a value holds no CR, LF, NUL or other CTL
   * (that is what keeps a value from injecting field lines, RFC 9112 11.1) */
  if (!rtw__http_is_token(name, name_len) || (value == NULL && value_len != 0) ||
      !rtw__http_value_ok(value, value_len) || rtw__hs_reserved(name, name_len, request))
    return RTW_ERR_HTTP_INVALID_HEADER;
  rtw__out_field(o, name, name_len, value, value_len);
  return 0;
}

int rtw__hs_ext_offered(const char *name, size_t name_len, const char *offers,
                        size_t offers_len)
{
  const char *pos = offers, *elem, *n;
  size_t elen, nlen;

  while (rtw__http_list_next(&pos, offers + offers_len, &elem, &elen)) {
    rtw__http_ext_name(elem, elen, &n, &nlen);
    if (rtw__http_ieq(n, nlen, name, name_len))
      return 1;
  }
  return 0;
}

/* ====================================================================== server object */

struct rtw_ws_handshake_server {
  rtw_mem mem;
  rtw_ws_handshake_server_callbacks cb;
  void *user_data;
  rtw__http1 *head;
  size_t max_head;
  uint32_t max_headers;
  int outcome;     /* sticky return value of recv; 0 while incomplete */
  int head_done;   /* the request head is complete: accessors work */
  int in_callback; /* inside on_upgrade: decisions allowed */
  int status;      /* status of the response built, 0 when none */
  rtw__buf response;
  rtw__buf subprotocol; /* chosen by on_upgrade */
  rtw__buf extensions;  /* Sec-WebSocket-Extensions value set by on_upgrade */
  rtw__buf extra;       /* extra field lines, formatted */
  const char *key;      /* Sec-WebSocket-Key, trimmed (points into head) */
  size_t key_len;
  rtw_sse_http_request plain; /* view of head after PLAIN_REQUEST (plain_request()) */
  rtw__http_list_index protocols;  /* Sec-WebSocket-Protocol offers, indexed once per head */
  rtw__http_list_index ext_offers; /* Sec-WebSocket-Extensions offers, likewise */
  size_t work; /* list-walking steps for this head (rtw__ws_handshake_server_work()) */
};

/* Tests read the work done on offers to show it is linear without a clock. The accessors
 * take a const object but count through a cast: no server is ever defined const (each is
 * allocated), so this is well-defined, and one thread uses an object at a time. */
static void count_work(const rtw_ws_handshake_server *hs, size_t n)
{
  ((rtw_ws_handshake_server *)(uintptr_t)hs)->work += n;
}

size_t rtw__ws_handshake_server_work(const rtw_ws_handshake_server *hs)
{
  return hs->work;
}

static int copy_settings(rtw_ws_handshake_server *hs,
                         const rtw_ws_handshake_server_settings *s)
{
  hs->max_head = RTW_HTTP_DEFAULT_MAX_HEAD_SIZE;
  hs->max_headers = RTW_HTTP_DEFAULT_MAX_HEADERS;
  if (s == NULL)
    return 0;
  if (s->version == 0 || s->version > RTW_WS_HANDSHAKE_SERVER_SETTINGS_VERSION)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->max_head_size != 0)
    hs->max_head = s->max_head_size;
  if (s->max_headers != 0)
    hs->max_headers = s->max_headers;
  return 0;
}

int rtw_ws_handshake_server_new(rtw_ws_handshake_server **out,
                                const rtw_ws_handshake_server_callbacks *callbacks,
                                const rtw_ws_handshake_server_settings *settings,
                                const rtw_mem *mem, void *user_data)
{
  rtw_ws_handshake_server tmp, *hs;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  memset(&tmp, 0, sizeof tmp);
  if (callbacks != NULL && (callbacks->version == 0 ||
                            callbacks->version > RTW_WS_HANDSHAKE_SERVER_CALLBACKS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = rtw__mem_init(&tmp.mem, mem)) != 0 || (rv = copy_settings(&tmp, settings)) != 0)
    return rv;
  if (callbacks != NULL)
    tmp.cb = *callbacks; /* version 1 is the only layout so far */
  tmp.user_data = user_data;
  hs = rtw__mem_malloc(&tmp.mem, sizeof *hs);
  if (hs == NULL)
    return RTW_ERR_NOMEM;
  *hs = tmp;
  rv = rtw__http1_new(&hs->head, RTW__HTTP1_REQUEST, hs->max_head, hs->max_headers, &hs->mem);
  if (rv != 0) {
    rtw__mem_free(&hs->mem, hs);
    return rv;
  }
  *out = hs;
  return 0;
}

void rtw_ws_handshake_server_free(rtw_ws_handshake_server *hs)
{
  if (hs == NULL)
    return;
  rtw__http1_free(hs->head);
  rtw__buf_free(&hs->response, &hs->mem);
  rtw__buf_free(&hs->subprotocol, &hs->mem);
  rtw__buf_free(&hs->extensions, &hs->mem);
  rtw__buf_free(&hs->extra, &hs->mem);
  rtw__http_list_index_free(&hs->protocols, &hs->mem);
  rtw__http_list_index_free(&hs->ext_offers, &hs->mem);
  rtw__mem_free(&hs->mem, hs);
}

void *rtw_ws_handshake_server_user_data(const rtw_ws_handshake_server *hs)
{
  return hs != NULL ? hs->user_data : NULL;
}

int rtw_ws_handshake_server_reset(rtw_ws_handshake_server *hs)
{
  if (hs == NULL || hs->in_callback)
    return RTW_ERR_INVALID_ARGUMENT;
  rtw__http1_reset(hs->head);
  rtw__sse_http_request_unview(&hs->plain);
  rtw__http_list_index_clear(&hs->protocols);
  rtw__http_list_index_clear(&hs->ext_offers);
  hs->work = 0;
  hs->outcome = hs->head_done = hs->status = 0;
  hs->response.len = hs->subprotocol.len = hs->extensions.len = hs->extra.len = 0;
  hs->key = NULL;
  hs->key_len = 0;
  return 0;
}

/* ---------------------------------------------------------------------- responses */

static const char *reason_phrase(int status)
{
  switch (status) {
  case 101: return "Switching Protocols";
  case 300: return "Multiple Choices";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 410: return "Gone";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  default: return ""; /* RFC 9112 4: the reason-phrase may be empty */
  }
}

static void status_line(rtw__out *o, int status)
{
  RTW__OUT_LIT(o, "HTTP/1.1 ");
  rtw__out_uint(o, (unsigned long)status);
  RTW__OUT_LIT(o, " ");
  rtw__out_str(o, reason_phrase(status));
  RTW__OUT_LIT(o, "\r\n");
}

/* The status an error answers with. */
static int error_status(int err)
{
  switch (err) {
  case RTW_ERR_HTTP_HEAD_TOO_LARGE:
  case RTW_ERR_HTTP_TOO_MANY_HEADERS:
    return 431; /* RFC 6585 5 */
  case RTW_ERR_HTTP_WS_BAD_VERSION:
    return 426; /* RFC 6455 4.4 */
  case RTW_ERR_CALLBACK_FAILURE:
    return 500;
  default:
    return 400; /* RFC 6455 4.2.1: "an HTTP response with an appropriate error code" */
  }
}

/* Headers of an error response, before the extra ones. */
static void error_fields(rtw__out *o, int status, size_t body_len)
{
  status_line(o, status);
  RTW__OUT_LIT(o, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  rtw__out_uint(o, (unsigned long)body_len);
  if (status == 426)
    /* RFC 6455 4.4: tell the client the versions we support; RFC 9110 15.5.22: a 426 carries
     * Upgrade, and RFC 9110 7.8 then lists "upgrade" in Connection */
    RTW__OUT_LIT(o, "\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
                    "Sec-WebSocket-Version: 13\r\n");
  else
    RTW__OUT_LIT(o, "\r\nConnection: close\r\n");
}

/* The response is complete (rv 0) or memory ran out: then there is no response. */
static int respond_end(rtw_ws_handshake_server *hs, const rtw__out *o, int status, int outcome)
{
  if (rtw__out_end(o) != 0) {
    hs->response.len = 0;
    return RTW_ERR_NOMEM;
  }
  hs->status = status;
  return outcome;
}

/* Build a complete error response: status line, headers, a one-line text body
 * "<status>[ <phrase>][: <why>]\n". `err` is the cause (its message goes in the body) and
 * becomes the outcome. */
static int respond_error(rtw_ws_handshake_server *hs, int status, int err)
{
  const char *why = err == RTW_ERR_HTTP_REJECTED ? "" : rtw_strerror(err);
  const char *phrase = reason_phrase(status);
  size_t body = 3 + (*phrase ? 1 + strlen(phrase) : 0) + (*why ? 2 + strlen(why) : 0) + 1;
  rtw__out o;

  hs->response.len = 0;
  rtw__out_init(&o, &hs->response, &hs->mem);
  error_fields(&o, status, body);
  rtw__out_mem(&o, hs->extra.data, hs->extra.len);
  RTW__OUT_LIT(&o, "\r\n");
  rtw__out_uint(&o, (unsigned long)status); /* 300..599 or a fixed status: 3 digits */
  if (*phrase) {
    RTW__OUT_LIT(&o, " ");
    rtw__out_str(&o, phrase);
  }
  if (*why) {
    RTW__OUT_LIT(&o, ": ");
    rtw__out_str(&o, why);
  }
  RTW__OUT_LIT(&o, "\n");
  return respond_end(hs, &o, status, err);
}

/* RFC 6455 4.2.2 step 5: the 101 response completing the handshake. */
static int respond_101(rtw_ws_handshake_server *hs)
{
  char accept[RTW_WS_ACCEPT_LEN];
  int rv = rtw_ws_handshake_accept_value(hs->key, hs->key_len, accept);
  rtw__out o;

  if (rv != 0)
    return respond_error(hs, 500, rv);
  hs->response.len = 0;
  rtw__out_init(&o, &hs->response, &hs->mem);
  status_line(&o, 101);
  RTW__OUT_LIT(&o, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Accept"), accept, sizeof accept);
  if (hs->subprotocol.len > 0)
    rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Protocol"), hs->subprotocol.data,
                   hs->subprotocol.len);
  if (hs->extensions.len > 0)
    rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Extensions"), hs->extensions.data,
                   hs->extensions.len);
  rtw__out_mem(&o, hs->extra.data, hs->extra.len);
  RTW__OUT_LIT(&o, "\r\n");
  return respond_end(hs, &o, 101, RTW_WS_HANDSHAKE_DONE);
}

/* ---------------------------------------------------------------------- validation */

/* A request is an attempt to open a WebSocket when it asks to upgrade to websocket or carries
 * any of the handshake's own fields; anything else is an ordinary request for the host. */
static int is_upgrade_attempt(const rtw__http1 *h)
{
  const char *v;
  size_t n;
  return rtw__http_has_token(h, "Upgrade", "websocket") ||
         rtw__http1_header(h, RTW__LIT("Sec-WebSocket-Key"), 0, &v, &n) ||
         rtw__http1_header(h, RTW__LIT("Sec-WebSocket-Version"), 0, &v, &n);
}

/* RFC 6455 4.2.1 item 5 and 4.1 item 7: one key, the base64 of 16 bytes. */
static int check_key(rtw_ws_handshake_server *hs)
{
  uint8_t raw[18];
  size_t n;

  if (rtw__http1_header_lines(hs->head, RTW__LIT("Sec-WebSocket-Key")) != 1)
    return RTW_ERR_HTTP_WS_BAD_KEY;
  rtw__http1_header(hs->head, RTW__LIT("Sec-WebSocket-Key"), 0, &hs->key, &hs->key_len);
  if (hs->key_len != RTW_WS_KEY_LEN ||
      rtw__base64_decode(hs->key, hs->key_len, raw, sizeof raw, &n) != 0 || n != 16)
    return RTW_ERR_HTTP_WS_BAD_KEY;
  return 0;
}

/* RFC 6455 4.2.1 item 6: version 13, the only one this server speaks (4.4 otherwise). */
static int check_version(const rtw__http1 *h)
{
  const char *v;
  size_t n;
  if (rtw__http1_header_lines(h, RTW__LIT("Sec-WebSocket-Version")) != 1)
    return RTW_ERR_HTTP_WS_BAD_VERSION;
  rtw__http1_header(h, RTW__LIT("Sec-WebSocket-Version"), 0, &v, &n);
  return n == 2 && v[0] == '1' && v[1] == '3' ? 0 : RTW_ERR_HTTP_WS_BAD_VERSION;
}

/* Every server requirement of RFC 6455 4.2.1, in its order, except that the version goes
 * before the key: a client speaking another version must learn that (426), whatever its key
 * looks like. */
static int validate(rtw_ws_handshake_server *hs)
{
  const rtw__http1 *h = hs->head;
  const char *v;
  size_t n;
  uint64_t clen;
  int body, rv;

  if (!rtw__http1_is_get(h)) /* item 1: "an HTTP/1.1 or higher GET request" */
    return RTW_ERR_HTTP_BAD_METHOD;
  if (rtw__http1_version(h) < 11)
    return RTW_ERR_HTTP_BAD_VERSION;
  /* item 2 and RFC 9112 3.2: exactly one Host field line, else 400 */
  if (rtw__http1_header_lines(h, RTW__LIT("Host")) != 1 ||
      !rtw__http1_header(h, RTW__LIT("Host"), 0, &v, &n) || n == 0)
    return RTW_ERR_HTTP_NO_HOST;
  if (!rtw__http_has_token(h, "Upgrade", "websocket")) /* item 3 */
    return RTW_ERR_HTTP_WS_NO_UPGRADE;
  if (!rtw__http_has_token(h, "Connection", "Upgrade")) /* item 4 */
    return RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE;
  if ((rv = check_version(h)) != 0)
    return rv;
  if ((rv = check_key(hs)) != 0)
    return rv;
  /* a body would sit where the WebSocket frames start */
  body = rtw__http1_body(h, &clen);
  if (body == RTW__HTTP1_BODY_CHUNKED || clen > 0)
    return RTW_ERR_HTTP_UNEXPECTED_BODY;
  return 0;
}

static int run_callback(rtw_ws_handshake_server *hs)
{
  int r;

  if (hs->cb.on_upgrade == NULL)
    return respond_101(hs);
  hs->in_callback = 1;
  r = hs->cb.on_upgrade(hs, hs->user_data);
  hs->in_callback = 0;
  if (r == 0)
    return respond_101(hs);
  if (r >= 300 && r <= 599)
    return respond_error(hs, r, RTW_ERR_HTTP_REJECTED);
  if (r == RTW_ERR_NOMEM)
    return r; /* a decision call ran out of memory: pass it on */
  hs->extra.len = 0; /* a failing callback's half-made decisions are not sent */
  return respond_error(hs, 500, RTW_ERR_CALLBACK_FAILURE);
}

/* Index the offers once per head: each accessor is then O(1), so walking every offer is
 * linear in the head (a 7.9 KB head holds about 3,900 one-letter offers). 1 or an error. */
static int index_offers(rtw_ws_handshake_server *hs)
{
  int rv = rtw__http_list_index_build(&hs->protocols, hs->head, RTW__LIT("Sec-WebSocket-Protocol"),
                                      &hs->mem);
  if (rv == 0)
    rv = rtw__http_list_index_build(&hs->ext_offers, hs->head, RTW__LIT("Sec-WebSocket-Extensions"),
                                    &hs->mem);
  hs->work += hs->protocols.work + hs->ext_offers.work;
  return rv == 0 ? 1 : rv;
}

/* The head is complete (rv 1) or failed (an error): answer it. */
static int on_head(void *obj, int rv)
{
  rtw_ws_handshake_server *hs = obj;

  if (rv == 1)
    rv = index_offers(hs);
  if (rv != 1) /* no response can be built without memory */
    return rv == RTW_ERR_NOMEM ? rv : respond_error(hs, error_status(rv), rv);
  hs->head_done = 1;
  if (!is_upgrade_attempt(hs->head)) {
    rtw__sse_http_request_view(&hs->plain, hs->head); /* shares the parse, no copy */
    return RTW_WS_HANDSHAKE_PLAIN_REQUEST;
  }
  rv = validate(hs);
  if (rv != 0)
    return respond_error(hs, error_status(rv), rv);
  return run_callback(hs);
}

int rtw_ws_handshake_server_recv(rtw_ws_handshake_server *hs, const void *in, size_t len,
                                 size_t *nread)
{
  if (nread != NULL)
    *nread = 0;
  if (hs == NULL || nread == NULL || (in == NULL && len != 0) || hs->in_callback)
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__http1_recv(hs->head, &hs->outcome, in, len, nread, on_head, hs);
}

int rtw_ws_handshake_server_response(const rtw_ws_handshake_server *hs, const void **data,
                                     size_t *len)
{
  if (hs == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *data = hs->response.data;
  *len = hs->status != 0 ? hs->response.len : 0;
  return hs->status != 0 ? 0 : RTW_ERR_INVALID_STATE;
}

int rtw_ws_handshake_server_status(const rtw_ws_handshake_server *hs)
{
  return hs != NULL ? hs->status : 0;
}

const rtw_sse_http_request *rtw_ws_handshake_server_plain_request(
    const rtw_ws_handshake_server *hs)
{
  return hs != NULL && hs->outcome == RTW_WS_HANDSHAKE_PLAIN_REQUEST ? &hs->plain : NULL;
}

/* ---------------------------------------------------------------------- accessors */

static int empty(const char **p, size_t *len)
{
  *p = "";
  *len = 0;
  return 0;
}

static int found(const char **p, size_t *len, const char *v, size_t n)
{
  *p = v;
  *len = n;
  return 1;
}

#define CHECK_OUT(hs, p, len)                                                               \
  do {                                                                                      \
    if ((hs) == NULL || (p) == NULL || (len) == NULL)                                       \
      return RTW_ERR_INVALID_ARGUMENT;                                                      \
    if (!(hs)->head_done)                                                                   \
      return empty(p, len);                                                                 \
  } while (0)

int rtw_ws_handshake_server_method(const rtw_ws_handshake_server *hs, const char **method,
                                   size_t *len)
{
  const char *m;
  CHECK_OUT(hs, method, len);
  m = rtw__http1_method(hs->head);
  return found(method, len, m, strlen(m));
}

int rtw_ws_handshake_server_path(const rtw_ws_handshake_server *hs, const char **path,
                                 size_t *len)
{
  const char *q;
  size_t qlen;
  CHECK_OUT(hs, path, len);
  rtw__http1_target_split(hs->head, path, len, &q, &qlen);
  return 1;
}

int rtw_ws_handshake_server_query(const rtw_ws_handshake_server *hs, const char **query,
                                  size_t *len)
{
  const char *p;
  size_t plen;
  CHECK_OUT(hs, query, len);
  return rtw__http1_target_split(hs->head, &p, &plen, query, len);
}

int rtw_ws_handshake_server_version(const rtw_ws_handshake_server *hs, int *major,
                                    int *minor)
{
  if (hs == NULL || major == NULL || minor == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->head_done) {
    *major = *minor = 0;
    return 0;
  }
  rtw__http1_version_parts(hs->head, major, minor);
  return 1;
}

int rtw_ws_handshake_server_header(const rtw_ws_handshake_server *hs, const char *name,
                                   size_t name_len, size_t index, const char **value,
                                   size_t *value_len)
{
  if (name == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  CHECK_OUT(hs, value, value_len);
  if (rtw__http1_header(hs->head, name, name_len, index, value, value_len))
    return 1;
  return empty(value, value_len);
}

int rtw_ws_handshake_server_origin(const rtw_ws_handshake_server *hs, const char **origin,
                                   size_t *len)
{
  return rtw_ws_handshake_server_header(hs, RTW__LIT("Origin"), 0, origin, len);
}

size_t rtw_ws_handshake_server_header_count(const rtw_ws_handshake_server *hs)
{
  return hs != NULL && hs->head_done ? rtw__http1_header_count(hs->head) : 0;
}

int rtw_ws_handshake_server_header_at(const rtw_ws_handshake_server *hs, size_t index,
                                      const char **name, size_t *name_len, const char **value,
                                      size_t *value_len)
{
  if (name == NULL || name_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  CHECK_OUT(hs, value, value_len);
  if (index >= rtw__http1_header_count(hs->head)) {
    empty(name, name_len);
    return empty(value, value_len);
  }
  rtw__http1_header_at(hs->head, index, name, name_len, value, value_len);
  return 1;
}

size_t rtw_ws_handshake_server_subprotocol_count(const rtw_ws_handshake_server *hs)
{
  return hs != NULL && hs->head_done ? hs->protocols.count : 0;
}

int rtw_ws_handshake_server_subprotocol(const rtw_ws_handshake_server *hs, size_t index,
                                        const char **name, size_t *len)
{
  CHECK_OUT(hs, name, len);
  count_work(hs, 1);
  return rtw__http_list_index_at(&hs->protocols, index, name, len);
}

size_t rtw_ws_handshake_server_extension_count(const rtw_ws_handshake_server *hs)
{
  return hs != NULL && hs->head_done ? hs->ext_offers.count : 0;
}

int rtw_ws_handshake_server_extension(const rtw_ws_handshake_server *hs, size_t index,
                                      const char **offer, size_t *len)
{
  CHECK_OUT(hs, offer, len);
  count_work(hs, 1);
  return rtw__http_list_index_at(&hs->ext_offers, index, offer, len);
}

/* ---------------------------------------------------------------------- decisions */

int rtw_ws_handshake_server_select_subprotocol(rtw_ws_handshake_server *hs, const char *name,
                                               size_t len)
{
  const char *e;
  size_t i, elen;
  int offered;

  if (hs == NULL || (name == NULL && len != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->in_callback)
    return RTW_ERR_INVALID_STATE;
  hs->subprotocol.len = 0;
  if (len == 0)
    return 0;
  /* RFC 6455 4.2.2 step 5.5 item 4: "one of the values ... the client sent" (exact match).
   * A name taken from rtw_ws_handshake_server_subprotocol() is found by bisection, so a host
   * that selects what it meets while walking the offers stays linear; any other name is
   * compared with each offer once. */
  offered = rtw__http_list_index_find_span(&hs->protocols, name, len) != SIZE_MAX;
  count_work(hs, 1);
  for (i = 0; !offered && rtw__http_list_index_at(&hs->protocols, i, &e, &elen); i++) {
    count_work(hs, 1 + elen);
    offered = elen == len && memcmp(e, name, len) == 0;
  }
  if (!offered)
    return RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED;
  return rtw__buf_append(&hs->subprotocol, &hs->mem, name, len);
}

/* 1 when an extension offer is named `name`. */
static int ext_offered(const rtw_ws_handshake_server *hs, const char *name, size_t nlen)
{
  const char *e, *n;
  size_t i, elen, len;

  for (i = 0; rtw__http_list_index_at(&hs->ext_offers, i, &e, &elen); i++) {
    count_work(hs, 1 + elen);
    rtw__http_ext_name(e, elen, &n, &len);
    if (rtw__http_ieq(n, len, name, nlen))
      return 1;
  }
  return 0;
}

/* Every extension the response names must be one the client offered (RFC 6455 9.1). The
 * host's value is short; each of its elements is compared with each offer once. */
static int all_offered(const rtw_ws_handshake_server *hs, const char *value, size_t len)
{
  const char *pos = value, *elem, *name;
  size_t elen, nlen;

  while (rtw__http_list_next(&pos, value + len, &elem, &elen)) {
    rtw__http_ext_name(elem, elen, &name, &nlen);
    if (!rtw__http_is_token(name, nlen) || !ext_offered(hs, name, nlen))
      return 0;
  }
  return 1;
}

int rtw_ws_handshake_server_set_extensions(rtw_ws_handshake_server *hs, const char *value,
                                           size_t len)
{
  if (hs == NULL || (value == NULL && len != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->in_callback)
    return RTW_ERR_INVALID_STATE;
  hs->extensions.len = 0;
  if (len == 0)
    return 0;
  if (!rtw__http_value_ok(value, len))
    return RTW_ERR_HTTP_INVALID_HEADER;
  if (!all_offered(hs, value, len))
    return RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED;
  return rtw__buf_append(&hs->extensions, &hs->mem, value, len);
}

int rtw_ws_handshake_server_add_header(rtw_ws_handshake_server *hs, const char *name,
                                       size_t name_len, const char *value, size_t value_len)
{
  rtw__out o;
  size_t before;
  int rv;

  if (hs == NULL || name == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->in_callback)
    return RTW_ERR_INVALID_STATE;
  before = hs->extra.len;
  rtw__out_init(&o, &hs->extra, &hs->mem);
  rv = rtw__hs_user_field(&o, name, name_len, value, value_len, 0);
  if (rv == 0)
    rv = rtw__out_end(&o);
  if (rv != 0)
    hs->extra.len = before; /* nothing half-written */
  return rv;
}

/* RFC 7692 5 and 7.1: the first offer we accept wins; a malformed one is declined (7: "A
 * server MUST decline an extension negotiation offer for this extension if ...") and the
 * next one tried. Each offer is parsed once: the walk is linear in the head. */
int rtw_ws_handshake_server_accept_deflate(rtw_ws_handshake_server *hs,
                                           const rtw_ws_deflate_config *config,
                                           rtw_ws_deflate_params *negotiated)
{
  rtw_ws_deflate_config c;
  rtw_ws_deflate_params offer, r;
  char text[RTW_WS_DEFLATE_ELEMENT_MAX];
  const char *e;
  size_t i, elen, tlen;
  int rv, accepted = 0;

  if (negotiated != NULL)
    memset(negotiated, 0, sizeof *negotiated);
  if (hs == NULL || negotiated == NULL || rtw__deflate_config_get(config, &c) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->in_callback)
    return RTW_ERR_INVALID_STATE;
  hs->extensions.len = 0;
  for (i = 0; !accepted && rtw__http_list_index_at(&hs->ext_offers, i, &e, &elen); i++) {
    count_work(hs, 1 + elen);
    accepted = rtw_ws_deflate_parse(e, elen, RTW_WS_ROLE_CLIENT, &offer) == 1 &&
               rtw_ws_deflate_accept(&offer, &c, &r) == 1;
  }
  if (!accepted)
    return 0; /* no offer accepted: the response names no extension */
  rtw_ws_deflate_format(&r, text, sizeof text, &tlen); /* cannot fail: r is accept()'s */
  rv = rtw__buf_append(&hs->extensions, &hs->mem, text, tlen);
  if (rv != 0)
    return rv;
  *negotiated = r;
  return 1;
}
