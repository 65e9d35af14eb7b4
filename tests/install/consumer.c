/* SPDX-License-Identifier: MIT */
/* A program built the way a user builds one: against the installed headers and library
 * (pkg-config --cflags --libs rtweb, shared or static), or against rtweb as a meson
 * subproject. It touches every module, including the ones that pull in llhttp (the HTTP
 * head parser) and mbedTLS (SHA-1), so a missing library in rtweb.pc fails to link, and
 * prints one line per check; exit status 0 when all pass. */
#include <rtweb/rtweb.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
  printf("%s: %s\n", ok ? "pass" : "FAIL", what);
  if (!ok)
    failures++;
}

/* ------------------------------------------------------------------ SSE */

static char got_event[64];

static int on_event(rtw_sse_parser *p, const rtw_sse_event *ev, void *user_data)
{
  (void)p;
  (void)user_data;
  sprintf(got_event, "%.*s/%.*s/%.*s", (int)ev->type_len, ev->type, (int)ev->id_len, ev->id,
          (int)ev->data_len, ev->data);
  return 0;
}

static void check_sse(void)
{
  rtw_sse_callbacks cb = {.version = RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_event ev = {.type = "tick", .type_len = 4, .id = "7", .id_len = 1,
                      .data = "he\nllo", .data_len = 6};
  rtw_sse_parser *p = NULL;
  char buf[128];
  size_t len = 0, used = 0;
  int rv;

  cb.on_event = on_event;
  rv = rtw_sse_write_event(buf, sizeof buf, &len, &ev, 0);
  check(rv == 0, "rtw_sse_write_event");
  rv = rtw_sse_parser_new(&p, &cb, NULL, NULL, NULL);
  check(rv == 0 && p != NULL, "rtw_sse_parser_new");
  if (p == NULL)
    return;
  rv = rtw_sse_parser_recv(p, buf, len, &used);
  check(rv == 0 && used == len, "rtw_sse_parser_recv");
  check(strcmp(got_event, "tick/7/he\nllo") == 0, "writer -> parser round trip");
  rtw_sse_parser_free(p);
}

/* ------------------------------------------------------------------ HTTP (llhttp, SHA-1) */

static void check_handshake(rtw_ws_handshake_server **out)
{
  static const char req[] = "GET /chat HTTP/1.1\r\n"
                            "Host: server.example.com\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n";
  char accept[RTW_WS_ACCEPT_LEN];
  const void *resp = NULL;
  size_t resp_len = 0, used = 0;
  int rv;

  /* RFC 6455 1.3: the worked example of Sec-WebSocket-Accept. */
  rv = rtw_ws_handshake_accept_value("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
  check(rv == 0 && memcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", RTW_WS_ACCEPT_LEN) == 0,
        "rtw_ws_handshake_accept_value (RFC 6455 1.3 example)");
  rv = rtw_ws_handshake_server_new(out, NULL, NULL, NULL, NULL);
  check(rv == 0, "rtw_ws_handshake_server_new");
  if (rv != 0)
    return;
  rv = rtw_ws_handshake_server_recv(*out, req, sizeof req - 1, &used);
  check(rv == RTW_WS_HANDSHAKE_DONE && used == sizeof req - 1, "server handshake done");
  rv = rtw_ws_handshake_server_response(*out, &resp, &resp_len);
  check(rv == 0 && resp_len > 12 && memcmp(resp, "HTTP/1.1 101", 12) == 0, "101 response");
}

/* ------------------------------------------------------------------ WebSocket session */

static char got_message[32];

static int on_message(rtw_ws *ws, int opcode, const void *data, size_t len, void *user_data)
{
  (void)ws;
  (void)user_data;
  if (opcode == RTW_WS_OP_TEXT && len < sizeof got_message)
    memcpy(got_message, data, len);
  return 0;
}

static void check_session(void)
{
  rtw_ws_callbacks cb = {.version = RTW_WS_CALLBACKS_VERSION};
  rtw_ws_settings st = {.version = RTW_WS_SETTINGS_VERSION};
  rtw_ws *client = NULL, *server = NULL;
  const void *p;
  size_t len = 0, used = 0;
  int rv;

  cb.on_message = on_message;
  st.flags = RTW_WS_FLAG_WHOLE_MESSAGES;
  rv = rtw_ws_new(&client, RTW_WS_ROLE_CLIENT, NULL, NULL, NULL, NULL);
  check(rv == 0, "rtw_ws_new (client)");
  rv = rtw_ws_new(&server, RTW_WS_ROLE_SERVER, &cb, &st, NULL, NULL);
  check(rv == 0, "rtw_ws_new (server)");
  if (client == NULL || server == NULL) {
    rtw_ws_free(client);
    rtw_ws_free(server);
    return;
  }
  /* The client masks with the library's default random source (the crypto seam). */
  rv = rtw_ws_queue_text(client, "hello", 5);
  check(rv == 0, "rtw_ws_queue_text (client, masked)");
  while (rtw_ws_want_write(client) && rtw_ws_send_pending(client, &p, &len) == 0 && len > 0) {
    rv = rtw_ws_recv(server, p, len, &used);
    if (rv != 0 || used != len)
      break;
    rtw_ws_send_consumed(client, len);
  }
  check(rv == 0 && strcmp(got_message, "hello") == 0, "client -> server message");
  rtw_ws_free(client);
  rtw_ws_free(server);
}

int main(void)
{
  rtw_ws_handshake_server *hs = NULL;

  check(rtw_version_number() == RTW_VERSION_NUMBER, "header and library versions agree");
  check(strcmp(rtw_version_string(), RTW_VERSION_STRING) == 0, "rtw_version_string");
  check(strcmp(rtw_err_name(RTW_ERR_NOMEM), "RTW_ERR_NOMEM") == 0, "rtw_err_name");
  check_sse();
  check_handshake(&hs);
  rtw_ws_handshake_server_free(hs);
  check_session();
  printf("%s\n", failures == 0 ? "consumer: all checks passed" : "consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
