/* SPDX-License-Identifier: MIT */
/* Writes the recorded seeds of fuzz/corpus/fuzz_tls (see fuzz_tls.c for the input layout):
 * a ClientHello and a server's first flight as rtw_tls builds them, whole, split, cut short
 * and followed by junk, and plain HTTP sent to a TLS server.
 *
 *   fuzz_tls_seeds CERT.pem KEY.pem OUTDIR
 *
 * CERT/KEY: any server certificate and key (a throwaway one: docs/fuzzing.md shows the
 * openssl command); only the bytes of the flights end up in the seeds, never the key. Not a
 * test: run by hand when the seeds are to be recorded again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtweb/tls.h"

static unsigned char hello[4096], flight[8192];
static size_t hello_len, flight_len;

static void die(const char *what, int rc)
{
  fprintf(stderr, "fuzz_tls_seeds: %s: %s\n", what, rtw_err_name(rc));
  exit(1);
}

/* Everything the connection wants to send, into buf. */
static size_t take(rtw_tls *t, unsigned char *buf, size_t cap)
{
  size_t n = 0;

  while (rtw_tls_want_write(t)) {
    const void *p;
    size_t len;
    int rc = rtw_tls_send_pending(t, &p, &len);

    if (rc != 0)
      die("rtw_tls_send_pending", rc);
    if (len == 0)
      break;
    if (n + len > cap)
      die("a flight too large", RTW_ERR_BUFFER_TOO_SMALL);
    memcpy(buf + n, p, len);
    n += len;
    if ((rc = rtw_tls_send_consumed(t, len)) != 0)
      die("rtw_tls_send_consumed", rc);
  }
  return n;
}

/* One seed: the 6-byte header, then the parts. */
static void seed(const char *dir, const char *name, const unsigned char h[6],
                 const void *a, size_t alen, const void *b, size_t blen)
{
  char path[1024];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(h, 1, 6, f) != 6 || (alen && fwrite(a, 1, alen, f) != alen) ||
      (blen && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

int main(int argc, char **argv)
{
  rtw_tls_config_settings cs = {RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *scfg, *ccfg;
  rtw_tls *s = NULL, *c = NULL;
  size_t used;
  int rc;
  static const char get[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  static const unsigned char junk[] = {0x17, 0x03, 0x03, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o',
                                       0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
  unsigned char h[6] = {0, 3, 0, 0, 0, 0};

  if (argc != 4) {
    fprintf(stderr, "usage: fuzz_tls_seeds CERT.pem KEY.pem OUTDIR\n");
    return 2;
  }
  cs.flags = RTW_TLS_INSECURE;
  if ((rc = rtw_tls_config_new(&scfg, RTW_TLS_ROLE_SERVER, NULL, NULL)) != 0)
    die("server config", rc);
  if ((rc = rtw_tls_config_add_cert_file(scfg, argv[1], argv[2])) < 0)
    die("rtw_tls_config_add_cert_file", rc);
  if ((rc = rtw_tls_config_new(&ccfg, RTW_TLS_ROLE_CLIENT, &cs, NULL)) != 0)
    die("client config", rc);
  if ((rc = rtw_tls_new(&c, ccfg, "localhost", NULL, NULL, NULL)) != 0 ||
      (rc = rtw_tls_new(&s, scfg, NULL, NULL, NULL, NULL)) != 0)
    die("rtw_tls_new", rc);
  hello_len = take(c, hello, sizeof hello);
  if ((rc = rtw_tls_recv(s, hello, hello_len, &used)) != 0)
    die("server recv", rc);
  flight_len = take(s, flight, sizeof flight);

  /* mode 0: a server fed a client's records */
  seed(argv[3], "server-clienthello", h, hello, hello_len, NULL, 0);
  h[1] = 0; /* one-byte pieces */
  seed(argv[3], "server-clienthello-bytewise", h, hello, hello_len, NULL, 0);
  h[0] = 0x04; /* pull mode */
  h[1] = 1;
  seed(argv[3], "server-clienthello-pull", h, hello, hello_len, NULL, 0);
  h[0] = 0;
  seed(argv[3], "server-clienthello-truncated", h, hello, hello_len / 2, NULL, 0);
  seed(argv[3], "server-clienthello-then-records", h, hello, hello_len, junk, sizeof junk);
  seed(argv[3], "server-plain-http", h, get, sizeof get - 1, NULL, 0);
  seed(argv[3], "server-record-header-only", h, hello, 5, NULL, 0);
  /* mode 1: a client fed a server's first flight (to another client's hello) */
  h[0] = 1;
  h[1] = 3;
  seed(argv[3], "client-server-flight", h, flight, flight_len, NULL, 0);
  h[1] = 2;
  seed(argv[3], "client-server-flight-split", h, flight, flight_len, NULL, 0);
  seed(argv[3], "client-server-flight-truncated", h, flight, flight_len - 7, NULL, 0);
  h[0] = 0x09; /* verifying client: the flight's certificate is not trusted */
  seed(argv[3], "client-server-flight-verify", h, flight, flight_len, NULL, 0);
  h[0] = 1;
  seed(argv[3], "client-plain-http-answer", h, "HTTP/1.1 400 Bad Request\r\n\r\n", 28, NULL, 0);

  rtw_tls_free(c);
  rtw_tls_free(s);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
  printf("ClientHello %zu bytes, server flight %zu bytes\n", hello_len, flight_len);
  return 0;
}
