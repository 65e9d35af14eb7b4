/* SPDX-License-Identifier: MIT */
/* Placeholder: replaced by the engine (in progress). */
#include "rtweb/tls.h"

int rtw_tls_config_new(rtw_tls_config **cfg, int role, const rtw_tls_config_settings *settings, const rtw_mem *mem)
{
  (void)cfg;
  (void)role;
  (void)settings;
  (void)mem;
  return RTW_ERR_UNSUPPORTED;
}

void rtw_tls_config_free(rtw_tls_config *cfg)
{
  (void)cfg;
}

int rtw_tls_config_add_cert(rtw_tls_config *cfg, const char *chain_pem, size_t chain_len, const char *key_pem, size_t key_len)
{
  (void)cfg;
  (void)chain_pem;
  (void)chain_len;
  (void)key_pem;
  (void)key_len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_config_add_cert_file(rtw_tls_config *cfg, const char *chain_path, const char *key_path)
{
  (void)cfg;
  (void)chain_path;
  (void)key_path;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_config_set_ca(rtw_tls_config *cfg, const char *pem, size_t len)
{
  (void)cfg;
  (void)pem;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_config_set_ca_file(rtw_tls_config *cfg, const char *path)
{
  (void)cfg;
  (void)path;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_config_set_alpn(rtw_tls_config *cfg, const char *list, size_t len)
{
  (void)cfg;
  (void)list;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

size_t rtw_tls_config_error_text(const rtw_tls_config *cfg, char *buf, size_t cap)
{
  (void)cfg;
  (void)buf;
  (void)cap;
  return 0;
}

const char *rtw_tls_backend_version(void)
{
  return "";
}

int rtw_tls_new(rtw_tls **tls, rtw_tls_config *cfg, const char *server_name, const rtw_tls_callbacks *callbacks, const rtw_mem *mem, void *user_data)
{
  (void)tls;
  (void)cfg;
  (void)server_name;
  (void)callbacks;
  (void)mem;
  (void)user_data;
  return RTW_ERR_UNSUPPORTED;
}

void rtw_tls_free(rtw_tls *tls)
{
  (void)tls;
}

void *rtw_tls_user_data(const rtw_tls *tls)
{
  (void)tls;
  return 0;
}

int rtw_tls_set_session(rtw_tls *tls, const void *data, size_t len)
{
  (void)tls;
  (void)data;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_session_save(rtw_tls *tls, void *buf, size_t cap, size_t *len)
{
  (void)tls;
  (void)buf;
  (void)cap;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_recv(rtw_tls *tls, const void *in, size_t len, size_t *nread)
{
  (void)tls;
  (void)in;
  (void)len;
  (void)nread;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_read_pending(rtw_tls *tls, const void **data, size_t *len)
{
  (void)tls;
  (void)data;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_read_consumed(rtw_tls *tls, size_t n)
{
  (void)tls;
  (void)n;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_write(rtw_tls *tls, const void *data, size_t len, size_t *nwritten)
{
  (void)tls;
  (void)data;
  (void)len;
  (void)nwritten;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_writev(rtw_tls *tls, const rtw_iovec *iov, size_t count, size_t *nwritten)
{
  (void)tls;
  (void)iov;
  (void)count;
  (void)nwritten;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_want_read(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_want_write(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

size_t rtw_tls_outbound_size(const rtw_tls *tls)
{
  (void)tls;
  return 0;
}

int rtw_tls_send_pending(rtw_tls *tls, const void **data, size_t *len)
{
  (void)tls;
  (void)data;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_send_consumed(rtw_tls *tls, size_t n)
{
  (void)tls;
  (void)n;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_close(rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_eof(rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

uint32_t rtw_tls_state(const rtw_tls *tls)
{
  (void)tls;
  return 0;
}

int rtw_tls_tick(rtw_tls *tls, uint64_t now_ms)
{
  (void)tls;
  (void)now_ms;
  return RTW_ERR_UNSUPPORTED;
}

uint64_t rtw_tls_next_deadline(const rtw_tls *tls)
{
  (void)tls;
  return UINT64_MAX;
}

int rtw_tls_error(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_backend_error(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

size_t rtw_tls_error_text(const rtw_tls *tls, char *buf, size_t cap)
{
  (void)tls;
  (void)buf;
  (void)cap;
  return 0;
}

uint32_t rtw_tls_verify_result(const rtw_tls *tls)
{
  (void)tls;
  return 0;
}

int rtw_tls_alpn(const rtw_tls *tls, const char **proto, size_t *len)
{
  (void)tls;
  (void)proto;
  (void)len;
  return RTW_ERR_UNSUPPORTED;
}

const char *rtw_tls_server_name(const rtw_tls *tls)
{
  (void)tls;
  return "";
}

int rtw_tls_cert_index(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

int rtw_tls_resumed(const rtw_tls *tls)
{
  (void)tls;
  return RTW_ERR_UNSUPPORTED;
}

const char *rtw_tls_protocol(const rtw_tls *tls)
{
  (void)tls;
  return "";
}

const char *rtw_tls_ciphersuite(const rtw_tls *tls)
{
  (void)tls;
  return "";
}
