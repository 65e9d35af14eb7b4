/* SPDX-License-Identifier: MIT */
/* A TLS program built the way a user builds one: against the installed headers and
 * libraries (pkg-config --cflags --libs rtweb-tls, shared or static). It loads a bad PEM (a
 * clear error with mbedTLS's reason), builds a client's ClientHello (a TLS handshake record)
 * and reads the backend's version, so a library missing from rtweb-tls.pc fails to link.
 * One line per check; exit status 0 when all pass. */
#include <rtweb/tls.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
  printf("%s: %s\n", ok ? "pass" : "FAIL", what);
  if (!ok)
    failures++;
}

int main(void)
{
  rtw_tls_config *server = NULL, *client = NULL;
  rtw_tls_config_settings cs = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls *tls = NULL;
  const void *p = NULL;
  size_t len = 0;
  char text[256];
  static const char bad[] = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";

  check(strncmp(rtw_tls_backend_version(), "Mbed TLS", 8) == 0 ||
        strncmp(rtw_tls_backend_version(), "mbed TLS", 8) == 0, rtw_tls_backend_version());
  check(rtw_tls_config_new(&server, RTW_TLS_ROLE_SERVER, NULL, NULL) == 0, "server config");
  check(rtw_tls_config_add_cert(server, bad, sizeof bad - 1, bad, sizeof bad - 1) ==
        RTW_ERR_TLS_CONFIG, "a bad PEM is RTW_ERR_TLS_CONFIG");
  check(rtw_tls_config_error_text(server, text, sizeof text) > 0, "with mbedTLS's reason");
  cs.flags = RTW_TLS_INSECURE;
  check(rtw_tls_config_new(&client, RTW_TLS_ROLE_CLIENT, &cs, NULL) == 0, "client config");
  check(rtw_tls_new(&tls, client, "localhost", NULL, NULL, NULL) == 0, "client connection");
  check(rtw_tls_send_pending(tls, &p, &len) == 0 && len > 5 &&
        ((const unsigned char *)p)[0] == 22, "ClientHello is a handshake record");
  rtw_tls_free(tls);
  rtw_tls_config_free(client);
  rtw_tls_config_free(server);
  return failures == 0 ? 0 : 1;
}
