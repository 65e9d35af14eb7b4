/* SPDX-License-Identifier: MIT */
/* WebSocket opening handshake, client side (RFC 6455 section 4.1): build the request, check
 * the response.
 *
 * The request (RFC 6455 4.1 items 1-12):
 *
 *   GET <path> HTTP/1.1
 *   Host: <host>
 *   Upgrade: websocket
 *   Connection: Upgrade
 *   Sec-WebSocket-Key: <base64 of 16 random bytes>
 *   Sec-WebSocket-Version: 13
 *   [Origin, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions, extra fields]
 *
 * The response is checked in the order of RFC 6455 4.1 ("the client MUST validate the
 * server's response as follows"): status 101, Upgrade, Connection, Sec-WebSocket-Accept,
 * Sec-WebSocket-Extensions, Sec-WebSocket-Protocol; each failure has its own error code.
 */
#include <string.h>

#include "base64.h"
#include "crypto.h"
#include "deflate_ext.h"
#include "fields.h"
#include "handshake.h"

struct rtw_ws_handshake_client {
  rtw_mem mem;
  rtw_ws_handshake_client_callbacks cb;
  void *user_data;
  rtw__http1 *head;
  int outcome;   /* sticky return value of recv; 0 while incomplete */
  int head_done; /* the response head is complete: accessors work */
  rtw__buf request;
  rtw__buf protocols;  /* subprotocols offered, as given */
  rtw__buf extensions; /* extension offers, as given */
  rtw__http_list_index ext_idx; /* the response's extensions, indexed once */
  char accept[RTW_WS_ACCEPT_LEN];
};

/* RFC 6455 4.1 item 10: subprotocols are distinct tokens. */
static int protocols_ok(const char *list, size_t len)
{
  const char *pos = list, *e, *pos2, *e2;
  size_t elen, elen2;

  while (rtw__http_list_next(&pos, list + len, &e, &elen)) {
    if (!rtw__http_is_token(e, elen))
      return 0;
    pos2 = pos;
    while (rtw__http_list_next(&pos2, list + len, &e2, &elen2))
      if (elen == elen2 && memcmp(e, e2, elen) == 0)
        return 0;
  }
  return rtw__http_value_ok(list, len);
}

static int check_settings(const rtw_ws_handshake_client_settings *s)
{
  size_t i;

  if (s == NULL || s->version == 0 || s->version > RTW_WS_HANDSHAKE_CLIENT_SETTINGS_VERSION)
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->host == NULL || s->host_len == 0 || !rtw__http_plain_ok(s->host, s->host_len))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->path_len != 0 &&
      (s->path == NULL || s->path[0] != '/' || !rtw__http_plain_ok(s->path, s->path_len)))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->origin_len != 0 && (s->origin == NULL || !rtw__http_plain_ok(s->origin, s->origin_len)))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->subprotocols_len != 0 &&
      (s->subprotocols == NULL || !protocols_ok(s->subprotocols, s->subprotocols_len)))
    return RTW_ERR_INVALID_ARGUMENT;
  if (s->extensions_len != 0 &&
      (s->extensions == NULL || !rtw__http_value_ok(s->extensions, s->extensions_len)))
    return RTW_ERR_HTTP_INVALID_HEADER;
  if (s->num_headers != 0 && s->headers == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  for (i = 0; i < s->num_headers; i++)
    if (s->headers[i].name == NULL)
      return RTW_ERR_INVALID_ARGUMENT;
  return 0;
}

/* RFC 6455 4.1 item 7: a nonce of 16 random bytes, base64-encoded. */
static int make_key(rtw_ws_handshake_client *hs, char key[RTW_WS_KEY_LEN])
{
  uint8_t nonce[16];
  int rv;

  if (hs->cb.random != NULL) {
    if (hs->cb.random(hs, nonce, sizeof nonce, hs->user_data) != 0)
      return RTW_ERR_CALLBACK_FAILURE;
  } else if ((rv = rtw__random(nonce, sizeof nonce)) != 0) {
    return rv;
  }
  rtw__base64_encode(nonce, sizeof nonce, key);
  return rtw_ws_handshake_accept_value(key, RTW_WS_KEY_LEN, hs->accept);
}

static int build_request(rtw_ws_handshake_client *hs, const rtw_ws_handshake_client_settings *s,
                         const char key[RTW_WS_KEY_LEN])
{
  rtw__out o, p, e;
  size_t i;
  int rv = 0;

  rtw__out_init(&o, &hs->request, &hs->mem);
  rtw__out_get_line(&o, s->path, s->path_len);
  rtw__out_field(&o, RTW__LIT("Host"), s->host, s->host_len);
  RTW__OUT_LIT(&o, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Key"), key, RTW_WS_KEY_LEN);
  RTW__OUT_LIT(&o, "Sec-WebSocket-Version: 13\r\n");
  if (s->origin_len)
    rtw__out_field(&o, RTW__LIT("Origin"), s->origin, s->origin_len);
  if (s->subprotocols_len)
    rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Protocol"), s->subprotocols,
                   s->subprotocols_len);
  if (s->extensions_len)
    rtw__out_field(&o, RTW__LIT("Sec-WebSocket-Extensions"), s->extensions, s->extensions_len);
  for (i = 0; rv == 0 && i < s->num_headers; i++)
    rv = rtw__hs_user_field(&o, s->headers[i].name, s->headers[i].name_len,
                            s->headers[i].value, s->headers[i].value_len, 1);
  RTW__OUT_LIT(&o, "\r\n");
  /* the offers, kept to check the response against */
  rtw__out_init(&p, &hs->protocols, &hs->mem);
  rtw__out_mem(&p, s->subprotocols, s->subprotocols_len);
  rtw__out_init(&e, &hs->extensions, &hs->mem);
  rtw__out_mem(&e, s->extensions, s->extensions_len);
  if (rv == 0)
    rv = rtw__out_end(&o);
  if (rv == 0)
    rv = rtw__out_end(&p);
  return rv != 0 ? rv : rtw__out_end(&e);
}

static int client_init(rtw_ws_handshake_client *hs, const rtw_ws_handshake_client_settings *s)
{
  char key[RTW_WS_KEY_LEN];
  size_t max_head = s->max_head_size ? s->max_head_size : RTW_HTTP_DEFAULT_MAX_HEAD_SIZE;
  uint32_t max_headers = s->max_headers ? s->max_headers : RTW_HTTP_DEFAULT_MAX_HEADERS;
  int rv = make_key(hs, key);

  if (rv == 0)
    rv = build_request(hs, s, key);
  if (rv == 0)
    rv = rtw__http1_new(&hs->head, RTW__HTTP1_RESPONSE, max_head, max_headers, &hs->mem);
  return rv;
}

int rtw_ws_handshake_client_new(rtw_ws_handshake_client **out,
                                const rtw_ws_handshake_client_callbacks *callbacks,
                                const rtw_ws_handshake_client_settings *settings,
                                const rtw_mem *mem, void *user_data)
{
  rtw_ws_handshake_client *hs;
  rtw_mem m;
  int rv;

  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (callbacks != NULL && (callbacks->version == 0 ||
                            callbacks->version > RTW_WS_HANDSHAKE_CLIENT_CALLBACKS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  if ((rv = rtw__mem_init(&m, mem)) != 0 || (rv = check_settings(settings)) != 0)
    return rv;
  hs = rtw__mem_calloc(&m, 1, sizeof *hs);
  if (hs == NULL)
    return RTW_ERR_NOMEM;
  hs->mem = m;
  if (callbacks != NULL)
    hs->cb = *callbacks; /* version 1 is the only layout so far */
  hs->user_data = user_data;
  rv = client_init(hs, settings);
  if (rv != 0) {
    rtw_ws_handshake_client_free(hs);
    return rv;
  }
  *out = hs;
  return 0;
}

void rtw_ws_handshake_client_free(rtw_ws_handshake_client *hs)
{
  if (hs == NULL)
    return;
  rtw__http1_free(hs->head);
  rtw__buf_free(&hs->request, &hs->mem);
  rtw__buf_free(&hs->protocols, &hs->mem);
  rtw__buf_free(&hs->extensions, &hs->mem);
  rtw__http_list_index_free(&hs->ext_idx, &hs->mem);
  rtw__mem_free(&hs->mem, hs);
}

void *rtw_ws_handshake_client_user_data(const rtw_ws_handshake_client *hs)
{
  return hs != NULL ? hs->user_data : NULL;
}

int rtw_ws_handshake_client_request(const rtw_ws_handshake_client *hs, const void **data,
                                    size_t *len)
{
  if (hs == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *data = hs->request.data;
  *len = hs->request.len;
  return 0;
}

/* ---------------------------------------------------------------------- validation */

/* RFC 6455 4.1, the server's response, item 4: exactly the value for our key. */
static int check_accept(const rtw_ws_handshake_client *hs)
{
  const char *v;
  size_t n;
  if (rtw__http1_header_lines(hs->head, RTW__LIT("Sec-WebSocket-Accept")) != 1)
    return RTW_ERR_HTTP_WS_BAD_ACCEPT;
  rtw__http1_header(hs->head, RTW__LIT("Sec-WebSocket-Accept"), 0, &v, &n);
  if (n != RTW_WS_ACCEPT_LEN || memcmp(v, hs->accept, n) != 0)
    return RTW_ERR_HTTP_WS_BAD_ACCEPT;
  return 0;
}

/* Item 5: every extension in the response was offered (none when we offered none). */
static int check_extensions(const rtw_ws_handshake_client *hs)
{
  const char *e, *name;
  size_t i, elen, nlen;

  for (i = 0; rtw__http_list_index_at(&hs->ext_idx, i, &e, &elen); i++) {
    rtw__http_ext_name(e, elen, &name, &nlen);
    if (!rtw__hs_ext_offered(name, nlen, hs->extensions.data ? hs->extensions.data : "",
                             hs->extensions.len))
      return RTW_ERR_HTTP_WS_EXTENSION_NOT_OFFERED;
  }
  return 0;
}

/* Item 6: at most one subprotocol, and one we offered. */
static int check_protocol(const rtw_ws_handshake_client *hs)
{
  const char *v, *pos, *end, *e;
  size_t n, elen;
  size_t lines = rtw__http1_header_lines(hs->head, RTW__LIT("Sec-WebSocket-Protocol"));
  rtw__http_list_iter it;

  if (lines == 0)
    return 0;
  rtw__http_list_begin(&it, hs->head, RTW__LIT("Sec-WebSocket-Protocol"));
  if (lines > 1 || !rtw__http_list_iter_next(&it, &e, &elen) ||
      rtw__http_list_iter_next(&it, &e, &elen)) /* not exactly one element */
    return RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED;
  rtw__http1_header(hs->head, RTW__LIT("Sec-WebSocket-Protocol"), 0, &v, &n);
  pos = hs->protocols.data ? hs->protocols.data : "";
  end = pos + hs->protocols.len;
  while (rtw__http_list_next(&pos, end, &e, &elen))
    if (elen == n && memcmp(e, v, n) == 0)
      return 0;
  return RTW_ERR_HTTP_WS_SUBPROTOCOL_NOT_OFFERED;
}

static int validate(rtw_ws_handshake_client *hs)
{
  const rtw__http1 *h = hs->head;
  int rv;

  if ((rv = rtw__http_list_index_build(&hs->ext_idx, h, RTW__LIT("Sec-WebSocket-Extensions"),
                                       &hs->mem)) != 0)
    return rv;
  hs->head_done = 1;
  if (rtw__http1_version(h) < 11)
    return RTW_ERR_HTTP_BAD_VERSION;
  if (rtw__http1_status(h) != 101) /* item 1 */
    return RTW_ERR_HTTP_WS_BAD_STATUS;
  if (!rtw__http_has_token(h, "Upgrade", "websocket")) /* item 2 */
    return RTW_ERR_HTTP_WS_NO_UPGRADE;
  if (!rtw__http_has_token(h, "Connection", "Upgrade")) /* item 3 */
    return RTW_ERR_HTTP_WS_NO_CONNECTION_UPGRADE;
  if ((rv = check_accept(hs)) != 0 || (rv = check_extensions(hs)) != 0 ||
      (rv = check_protocol(hs)) != 0)
    return rv;
  return RTW_WS_HANDSHAKE_DONE;
}

static int on_head(void *obj, int rv)
{
  return rv == 1 ? validate(obj) : rv;
}

int rtw_ws_handshake_client_recv(rtw_ws_handshake_client *hs, const void *in, size_t len,
                                 size_t *nread)
{
  if (nread != NULL)
    *nread = 0;
  if (hs == NULL || nread == NULL || (in == NULL && len != 0))
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__http1_recv(hs->head, &hs->outcome, in, len, nread, on_head, hs);
}

int rtw_ws_handshake_client_status(const rtw_ws_handshake_client *hs)
{
  return hs != NULL && hs->head_done ? (int)rtw__http1_status(hs->head) : 0;
}

static int empty(const char **p, size_t *len)
{
  *p = "";
  *len = 0;
  return 0;
}

int rtw_ws_handshake_client_header(const rtw_ws_handshake_client *hs, const char *name,
                                   size_t name_len, size_t index, const char **value,
                                   size_t *value_len)
{
  if (hs == NULL || name == NULL || value == NULL || value_len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (hs->head_done && rtw__http1_header(hs->head, name, name_len, index, value, value_len))
    return 1;
  return empty(value, value_len);
}

int rtw_ws_handshake_client_subprotocol(const rtw_ws_handshake_client *hs, const char **name,
                                        size_t *len)
{
  return rtw_ws_handshake_client_header(hs, RTW__LIT("Sec-WebSocket-Protocol"), 0, name, len);
}

size_t rtw_ws_handshake_client_extension_count(const rtw_ws_handshake_client *hs)
{
  return hs != NULL && hs->head_done ? hs->ext_idx.count : 0;
}

int rtw_ws_handshake_client_extension(const rtw_ws_handshake_client *hs, size_t index,
                                      const char **ext, size_t *len)
{
  if (hs == NULL || ext == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!hs->head_done)
    return empty(ext, len);
  return rtw__http_list_index_at(&hs->ext_idx, index, ext, len);
}

/* RFC 7692 7: the response holds at most one permessage-deflate element, valid, with only
 * what we offered; anything else fails the connection. Other extensions are the host's. */
int rtw_ws_handshake_client_deflate(const rtw_ws_handshake_client *hs,
                                    const rtw_ws_deflate_config *config,
                                    rtw_ws_deflate_params *negotiated)
{
  rtw_ws_deflate_config c;
  rtw_ws_deflate_params p;
  const char *e;
  size_t i, elen;
  int rv, found = 0;

  if (negotiated != NULL)
    memset(negotiated, 0, sizeof *negotiated);
  if (hs == NULL || negotiated == NULL || rtw__deflate_config_get(config, &c) != 0)
    return RTW_ERR_INVALID_ARGUMENT;
  if (hs->outcome != RTW_WS_HANDSHAKE_DONE)
    return RTW_ERR_INVALID_STATE;
  for (i = 0; rtw__http_list_index_at(&hs->ext_idx, i, &e, &elen); i++) {
    rv = rtw_ws_deflate_parse(e, elen, RTW_WS_ROLE_SERVER, &p);
    if (rv == 0)
      continue;
    if (rv < 0 || found++ || (rv = rtw_ws_deflate_check_response(&c, &p)) != 0) {
      memset(negotiated, 0, sizeof *negotiated);
      return RTW_ERR_WS_DEFLATE_PARAM;
    }
    *negotiated = p;
  }
  return found;
}
