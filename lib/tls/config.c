/* SPDX-License-Identifier: MIT */
/* The shared TLS configuration (rtw_tls_config in tls.h): settings, the reference count, and
 * the checks in front of the backend's certificate, CA and ALPN setters. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tls_internal.h"

#define KNOWN_FLAGS (RTW_TLS_INSECURE | RTW_TLS_NO_TICKETS | RTW_TLS_BACKEND_RECORDS)

static void ref_add(rtw_tls_config *c)
{
#if defined(__GNUC__) || defined(__clang__)
  __atomic_add_fetch(&c->refs, 1u, __ATOMIC_RELAXED);
#else
  c->refs++;
#endif
}

static unsigned ref_drop(rtw_tls_config *c)
{
#if defined(__GNUC__) || defined(__clang__)
  return __atomic_sub_fetch(&c->refs, 1u, __ATOMIC_ACQ_REL);
#else
  return --c->refs;
#endif
}

static int in_use(const rtw_tls_config *c)
{
#if defined(__GNUC__) || defined(__clang__)
  return __atomic_load_n(&c->used, __ATOMIC_RELAXED) != 0;
#else
  return c->used != 0;
#endif
}

int rtw_tls_config_new(rtw_tls_config **out, int role, const rtw_tls_config_settings *settings,
                       const rtw_mem *mem)
{
  rtw_tls_config_settings s;
  rtw__tlsb_conf_params p;
  rtw_tls_config *c;
  rtw_mem m;
  int rv;
  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (role != RTW_TLS_ROLE_SERVER && role != RTW_TLS_ROLE_CLIENT)
    return RTW_ERR_INVALID_ARGUMENT;
  memset(&s, 0, sizeof s);
  if (settings != NULL) {
    /* Versioned struct (docs/abi.md): version 1 is the whole struct today. */
    if (settings->version == 0 || settings->version > RTW_TLS_CONFIG_SETTINGS_VERSION)
      return RTW_ERR_INVALID_ARGUMENT;
    s = *settings;
    if (s.flags & ~KNOWN_FLAGS)
      return RTW_ERR_INVALID_ARGUMENT;
  }
  rv = rtw__mem_init(&m, mem);
  if (rv != 0)
    return rv;
  c = rtw__mem_calloc(&m, 1, sizeof *c);
  if (c == NULL)
    return RTW_ERR_NOMEM;
  c->mem = m;
  c->role = role;
  c->refs = 1;
  c->handshake_timeout_ms =
      s.handshake_timeout_ms ? s.handshake_timeout_ms : RTW_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  c->max_outbound = s.max_outbound ? s.max_outbound : RTW_TLS_DEFAULT_MAX_OUTBOUND;
  c->flags = s.flags;
  memset(&p, 0, sizeof p);
  p.role = role;
  p.flags = s.flags;
  p.ticket_lifetime_s = s.ticket_lifetime_s ? s.ticket_lifetime_s : RTW_TLS_DEFAULT_TICKET_LIFETIME_S;
  p.random = s.random;
  p.random_user_data = s.random_user_data;
  p.sni = s.sni;
  p.sni_user_data = s.sni_user_data;
  p.owner = c;
  rv = rtw__tlsb_conf_new(&c->b, &p, &m);
  if (rv != 0) {
    rtw__mem_free(&m, c);
    return rv;
  }
  *out = c;
  return 0;
}

void rtw__tls_config_ref(rtw_tls_config *c)
{
  ref_add(c);
#if defined(__GNUC__) || defined(__clang__)
  __atomic_store_n(&c->used, 1, __ATOMIC_RELAXED);
#else
  c->used = 1;
#endif
}

void rtw_tls_config_free(rtw_tls_config *c)
{
  rtw_mem m;
  if (c == NULL || ref_drop(c) != 0)
    return;
  m = c->mem;
  rtw__tlsb_conf_free(c->b);
  rtw__mem_free(&m, c);
}

static int setter_check(rtw_tls_config *c, int role)
{
  if (c == NULL || (role >= 0 && c->role != role))
    return RTW_ERR_INVALID_ARGUMENT;
  if (in_use(c))
    return RTW_ERR_INVALID_STATE;
  return 0;
}

int rtw_tls_config_add_cert(rtw_tls_config *c, const char *chain, size_t chain_len,
                            const char *key, size_t key_len)
{
  int rv = setter_check(c, RTW_TLS_ROLE_SERVER);
  if (rv != 0)
    return rv;
  if (chain == NULL || key == NULL || rtw__tlsb_conf_cert_count(c->b) >= RTW_TLS_MAX_CERTS)
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__tlsb_conf_add_cert(c->b, chain, chain_len, key, key_len);
}

/* Read a whole file of at most RTW_TLS_MAX_PEM_FILE bytes into memory from mem. One
 * allocation of the limit, not a growing buffer: a key file must not leave partial copies
 * behind in blocks a reallocation freed (free_secret() wipes the one block). */
static int read_file(rtw_tls_config *c, const char *path, char **data, size_t *len)
{
  FILE *f;
  char *buf;
  size_t n;
  char what[RTW__TLS_PATH_TEXT];
  *data = NULL;
  *len = 0;
  f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(what, sizeof what, "cannot open %s", path);
    rtw__tlsb_conf_set_error(c->b, 0, what);
    return RTW_ERR_TLS_CONFIG;
  }
  buf = rtw__mem_malloc(&c->mem, RTW_TLS_MAX_PEM_FILE + 1);
  if (buf == NULL) {
    fclose(f);
    return RTW_ERR_NOMEM;
  }
  n = fread(buf, 1, RTW_TLS_MAX_PEM_FILE + 1, f);
  if (ferror(f) || n > RTW_TLS_MAX_PEM_FILE) {
    fclose(f);
    rtw__mem_free(&c->mem, buf);
    snprintf(what, sizeof what, "%s: %s", path,
             n > RTW_TLS_MAX_PEM_FILE ? "larger than 1 MiB" : "read error");
    rtw__tlsb_conf_set_error(c->b, 0, what);
    return RTW_ERR_TLS_CONFIG;
  }
  fclose(f);
  *data = buf;
  *len = n;
  return 0;
}

static void free_secret(rtw_tls_config *c, char *p, size_t n)
{
  volatile char *v = p;
  size_t i;
  if (p == NULL)
    return;
  for (i = 0; i < n; i++)
    v[i] = 0;
  rtw__mem_free(&c->mem, p);
}

int rtw_tls_config_add_cert_file(rtw_tls_config *c, const char *chain_path, const char *key_path)
{
  char *chain = NULL, *key = NULL;
  size_t chain_len = 0, key_len = 0;
  int rv = setter_check(c, RTW_TLS_ROLE_SERVER);
  if (rv != 0)
    return rv;
  if (chain_path == NULL || key_path == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (rtw__tlsb_conf_cert_count(c->b) >= RTW_TLS_MAX_CERTS)
    return RTW_ERR_INVALID_ARGUMENT;
  rv = read_file(c, chain_path, &chain, &chain_len);
  if (rv == 0)
    rv = read_file(c, key_path, &key, &key_len);
  if (rv == 0)
    rv = rtw__tlsb_conf_add_cert(c->b, chain, chain_len, key, key_len);
  if (chain != NULL)
    rtw__mem_free(&c->mem, chain);
  free_secret(c, key, key_len);
  return rv;
}

int rtw_tls_config_set_ca(rtw_tls_config *c, const char *pem, size_t len)
{
  int rv = setter_check(c, RTW_TLS_ROLE_CLIENT);
  if (rv != 0)
    return rv;
  if (pem == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  return rtw__tlsb_conf_set_ca(c->b, pem, len);
}

int rtw_tls_config_set_ca_file(rtw_tls_config *c, const char *path)
{
  char *pem = NULL;
  size_t len = 0;
  int rv = setter_check(c, RTW_TLS_ROLE_CLIENT);
  if (rv != 0)
    return rv;
  if (path == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  rv = read_file(c, path, &pem, &len);
  if (rv == 0)
    rv = rtw__tlsb_conf_set_ca(c->b, pem, len);
  if (pem != NULL)
    rtw__mem_free(&c->mem, pem);
  return rv;
}

int rtw_tls_config_set_alpn(rtw_tls_config *c, const char *list, size_t len)
{
  size_t i, start = 0;
  int rv = setter_check(c, -1);
  if (rv != 0)
    return rv;
  if ((list == NULL && len > 0) || len > RTW_TLS_MAX_ALPN)
    return RTW_ERR_INVALID_ARGUMENT;
  /* RFC 7301 3.1: each name is 1..255 bytes; empty names are not allowed. */
  for (i = 0; i <= len && len > 0; i++) {
    if (i == len || list[i] == ',') {
      if (i == start)
        return RTW_ERR_INVALID_ARGUMENT;
      start = i + 1;
    } else if (list[i] == '\0') {
      return RTW_ERR_INVALID_ARGUMENT;
    }
  }
  return rtw__tlsb_conf_set_alpn(c->b, list, len);
}

size_t rtw_tls_config_error_text(const rtw_tls_config *c, char *buf, size_t cap)
{
  if (c == NULL) {
    if (buf != NULL && cap > 0)
      buf[0] = '\0';
    return 0;
  }
  return rtw__tlsb_conf_error_text(c->b, buf, cap);
}

const char *rtw_tls_backend_version(void)
{
  return rtw__tlsb_version();
}
