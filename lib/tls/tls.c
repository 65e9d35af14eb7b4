/* SPDX-License-Identifier: MIT */
/* The TLS engine (tls.h): one connection as bytes in / bytes out. The record protocol itself
 * is the backend's (backend.h, mbedTLS); this file owns what makes it an rtweb engine: the
 * input window the backend reads from, the ciphertext queue and its budget, plaintext
 * delivery with pause and the pull mode, the handshake timer, close_notify, sticky errors
 * and re-entrancy. */
#include <string.h>

#include "internal.h"
#include "tls_internal.h"

#define REC RTW_TLS_MAX_RECORD_PLAINTEXT

/* TLS record content type of a handshake message (RFC 5246 6.2.1, A.1). */
#define TLS_CT_HANDSHAKE 22

struct rtw_tls {
  rtw_mem mem;
  rtw_tls_config *cfg;
  rtw__tlsb *b;
  rtw_tls_callbacks cb;
  void *user_data;
  int role;
  /* the input being fed, read by the backend through io_recv() */
  const unsigned char *in;
  size_t in_len;
  size_t in_off;
  /* ciphertext for the transport: out[out_off, out_len) */
  unsigned char *out;
  size_t out_off;
  size_t out_len;
  size_t out_cap;
  /* decrypted bytes not taken yet: held[held_off, held_off + held_len), capacity REC */
  unsigned char *held;
  size_t held_off;
  size_t held_len;
  uint32_t state;
  int err;
  int started;    /* client: the ClientHello was built */
  int seen_input; /* server: the first byte was checked */
  int in_cb;
  int ticked;
  uint64_t hs_start;
};

static size_t out_pending(const rtw_tls *t);

rtw__tlsb *rtw__tls_backend(rtw_tls *t) { return t->b; }

/* ---------------------------------------------------------------- backend I/O */

static size_t io_recv(void *io, unsigned char *buf, size_t len)
{
  rtw_tls *t = io;
  size_t n = t->in_len - t->in_off;
  if (n > len)
    n = len;
  if (n > 0) {
    memcpy(buf, t->in + t->in_off, n);
    t->in_off += n;
  }
  return n;
}

/* The record path's direct access (backend.h): records are opened where they lie in the
 * input and sealed in place at the end of the output queue. */
static const unsigned char *io_peek(void *io, size_t *avail)
{
  rtw_tls *t = io;
  *avail = t->in_len - t->in_off;
  return *avail > 0 ? t->in + t->in_off : NULL;
}

static void io_skip(void *io, size_t n)
{
  rtw_tls *t = io;
  t->in_off += n;
}

static unsigned char *io_reserve(void *io, size_t len)
{
  rtw_tls *t = io;
  if (t->out_cap - t->out_len < len) {
    size_t need = t->out_len + len, cap = t->out_cap ? t->out_cap : 4096;
    unsigned char *p;
    if (t->out_off > 0) { /* compact first */
      memmove(t->out, t->out + t->out_off, t->out_len - t->out_off);
      t->out_len -= t->out_off;
      t->out_off = 0;
      need = t->out_len + len;
    }
    while (cap < need)
      cap *= 2;
    if (cap != t->out_cap) {
      p = rtw__mem_realloc(&t->mem, t->out, cap);
      if (p == NULL)
        return NULL;
      t->out = p;
      t->out_cap = cap;
    }
  }
  return t->out + t->out_len;
}

static void io_commit(void *io, size_t len)
{
  rtw_tls *t = io;
  t->out_len += len;
}

static int io_send(void *io, const unsigned char *buf, size_t len)
{
  unsigned char *p = io_reserve(io, len);
  if (p == NULL)
    return RTW_ERR_NOMEM;
  memcpy(p, buf, len);
  io_commit(io, len);
  return 0;
}

static void drop_output(rtw_tls *t)
{
  if (t->out != NULL)
    rtw__mem_free(&t->mem, t->out);
  t->out = NULL;
  t->out_off = t->out_len = t->out_cap = 0;
}

static void drop_held(rtw_tls *t)
{
  if (t->held != NULL) {
    memset(t->held, 0, REC);
    rtw__mem_free(&t->mem, t->held);
  }
  t->held = NULL;
  t->held_off = t->held_len = 0;
}

static int fail(rtw_tls *t, int rv)
{
  if (t->err == 0)
    t->err = rv;
  t->state |= RTW_TLS_STATE_FAILED;
  return t->err;
}

/* ---------------------------------------------------------------- create / free */

int rtw_tls_new(rtw_tls **out, rtw_tls_config *cfg, const char *server_name,
                const rtw_tls_callbacks *callbacks, const rtw_mem *mem, void *user_data)
{
  rtw_tls *t;
  rtw_mem m;
  int rv;
  if (out == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (cfg == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (callbacks != NULL &&
      (callbacks->version == 0 || callbacks->version > RTW_TLS_CALLBACKS_VERSION))
    return RTW_ERR_INVALID_ARGUMENT;
  if (cfg->role == RTW_TLS_ROLE_SERVER) {
    if (server_name != NULL || rtw__tlsb_conf_cert_count(cfg->b) == 0)
      return RTW_ERR_INVALID_ARGUMENT;
  } else {
    if (server_name == NULL && !(cfg->flags & RTW_TLS_INSECURE))
      return RTW_ERR_INVALID_ARGUMENT;
    if (server_name != NULL) {
      size_t n = strlen(server_name);
      if (n == 0 || n > RTW_TLS_MAX_SERVER_NAME)
        return RTW_ERR_INVALID_ARGUMENT;
    }
  }
  rv = rtw__mem_init(&m, mem != NULL ? mem : &cfg->mem);
  if (rv != 0)
    return rv;
  t = rtw__mem_calloc(&m, 1, sizeof *t);
  if (t == NULL)
    return RTW_ERR_NOMEM;
  t->mem = m;
  t->cfg = cfg;
  t->role = cfg->role;
  t->user_data = user_data;
  if (callbacks != NULL)
    memcpy(&t->cb, callbacks, sizeof t->cb); /* version 1 is the whole struct */
  rv = rtw__tlsb_new(&t->b, cfg->b, server_name, t, io_recv, io_send, &m);
  if (rv != 0) {
    rtw__mem_free(&m, t);
    return rv;
  }
  {
    static const rtw__tlsb_direct direct = {io_peek, io_skip, io_reserve, io_commit};
    rtw__tlsb_set_direct(t->b, &direct);
  }
  rtw__tls_config_ref(cfg);
  *out = t;
  return 0;
}

void rtw_tls_free(rtw_tls *t)
{
  rtw_mem m;
  rtw_tls_config *cfg;
  if (t == NULL || t->in_cb)
    return;
  m = t->mem;
  cfg = t->cfg;
  rtw__tlsb_free(t->b);
  drop_output(t);
  drop_held(t);
  rtw__mem_free(&m, t);
  rtw_tls_config_free(cfg);
}

void *rtw_tls_user_data(const rtw_tls *t) { return t != NULL ? t->user_data : NULL; }

int rtw_tls_set_session(rtw_tls *t, const void *data, size_t len)
{
  if (t == NULL || data == NULL || t->role != RTW_TLS_ROLE_CLIENT)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->started || t->err)
    return RTW_ERR_INVALID_STATE;
  return rtw__tlsb_set_session(t->b, data, len);
}

int rtw_tls_session_save(rtw_tls *t, void *buf, size_t cap, size_t *len)
{
  if (len != NULL)
    *len = 0;
  if (t == NULL || len == NULL || (buf == NULL && cap > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->role != RTW_TLS_ROLE_CLIENT || !(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return RTW_ERR_INVALID_STATE;
  return rtw__tlsb_session_save(t->b, buf, cap, len);
}

/* ---------------------------------------------------------------- input */

/* A client's first flight (RFC 5246 7.3: the client speaks first). */
static int start(rtw_tls *t)
{
  int rv;
  if (t->role != RTW_TLS_ROLE_CLIENT || t->started || t->err)
    return t->err;
  t->started = 1;
  rv = rtw__tlsb_handshake(t->b);
  if (rv < 0)
    return fail(t, rv);
  return 0;
}

/* Hand plaintext to on_data; what it does not take is kept in held. p may point into held. */
static int deliver(rtw_tls *t, const unsigned char *p, size_t n)
{
  size_t used = 0;
  int rv;
  t->in_cb++;
  rv = t->cb.on_data(t, p, n, &used, t->user_data);
  t->in_cb--;
  if (used > n)
    used = n;
  if (used < n) {
    size_t rest = n - used;
    if (t->held == NULL) {
      t->held = rtw__mem_malloc(&t->mem, REC);
      if (t->held == NULL)
        return fail(t, RTW_ERR_NOMEM);
    }
    memmove(t->held, p + used, rest); /* p may be inside held */
    t->held_off = 0;
    t->held_len = rest;
    if (rv == 0)
      rv = RTW_ERR_PAUSE; /* took less without saying why: stop as on a pause */
  } else if (t->held != NULL && t->held_len == 0) {
    drop_held(t);
  }
  return rv;
}

static int deliver_held(rtw_tls *t)
{
  const unsigned char *p = t->held + t->held_off;
  size_t n = t->held_len;
  t->held_len = 0;
  t->held_off = 0;
  if (n == 0) {
    drop_held(t);
    return 0;
  }
  return deliver(t, p, n);
}

static int peer_closed(rtw_tls *t)
{
  int rv;
  t->state |= RTW_TLS_STATE_PEER_CLOSED;
  /* RFC 5246 7.2.1: answer with our own close_notify. */
  if (!(t->state & RTW_TLS_STATE_CLOSE_SENT)) {
    t->state |= RTW_TLS_STATE_CLOSE_SENT;
    rv = rtw__tlsb_close_notify(t->b);
    if (rv < 0)
      return fail(t, rv);
  }
  return 0;
}

/* After the handshake a read produces output only as automatic replies: the
 * no_renegotiation warning to each renegotiation request (RFC 5246 7.2.2, 7.4.1.1; RFC 5746
 * 4.4). A peer that keeps asking without reading would grow the queue without bound, so the
 * replies count against max_outbound like everything else: the backend is given what is
 * left of it (one read can hold thousands of requests), queues the reply that goes past it
 * as the last one and stops (RTW__TLSB_BUDGET); the connection fails there. */
static size_t reply_room(const rtw_tls *t)
{
  size_t out = out_pending(t);
  return out < t->cfg->max_outbound ? t->cfg->max_outbound - out : 0;
}

static int process(rtw_tls *t)
{
  unsigned char buf[REC];
  int rv;
  if (!(t->state & RTW_TLS_STATE_HANDSHAKE_DONE)) {
    rv = rtw__tlsb_handshake(t->b);
    if (rv == RTW__TLSB_AGAIN)
      return 0;
    if (rv < 0)
      return fail(t, rv);
    t->state |= RTW_TLS_STATE_HANDSHAKE_DONE;
    if (t->cb.on_handshake != NULL) {
      t->in_cb++;
      rv = t->cb.on_handshake(t, t->user_data);
      t->in_cb--;
      if (rv < 0)
        return fail(t, RTW_ERR_CALLBACK_FAILURE);
    }
  }
  for (;;) {
    size_t n = 0;
    if (t->state & RTW_TLS_STATE_PEER_CLOSED) {
      t->in_off = t->in_len; /* nothing counts after close_notify (RFC 5246 7.2.1) */
      return 0;
    }
    if (t->cb.on_data == NULL) {
      if (t->held_len > 0)
        return 0; /* pull mode: one record's plaintext waits */
      if (t->held == NULL) {
        t->held = rtw__mem_malloc(&t->mem, REC);
        if (t->held == NULL)
          return fail(t, RTW_ERR_NOMEM);
      }
      rv = rtw__tlsb_read(t->b, t->held, REC, &n, reply_room(t));
      if (rv == 0) {
        t->held_off = 0;
        t->held_len = n;
        return 0;
      }
      drop_held(t);
    } else {
      rv = rtw__tlsb_read(t->b, buf, sizeof buf, &n, reply_room(t));
      if (rv == 0) {
        rv = deliver(t, buf, n);
        memset(buf, 0, n);
        if (rv != 0)
          return rv;
        continue;
      }
    }
    if (rv == RTW__TLSB_AGAIN)
      return 0;
    if (rv == RTW__TLSB_BUDGET)
      return fail(t, RTW_ERR_TLS_HANDSHAKE);
    if (rv == RTW__TLSB_CLOSED) {
      rv = peer_closed(t);
      if (rv != 0)
        return rv;
      continue;
    }
    return fail(t, rv);
  }
}

int rtw_tls_recv(rtw_tls *t, const void *in, size_t len, size_t *nread)
{
  int rv;
  if (nread != NULL)
    *nread = 0;
  if (t == NULL || nread == NULL || (in == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  if (t->err)
    return t->err;
  if (t->held_len > 0 && t->cb.on_data != NULL) {
    rv = deliver_held(t);
    if (rv != 0)
      return rv;
  }
  rv = start(t);
  if (rv != 0 || len == 0)
    return rv;
  if (t->state & RTW_TLS_STATE_EOF)
    return 0;
  if (t->state & RTW_TLS_STATE_PEER_CLOSED) {
    *nread = len;
    return 0;
  }
  if (t->held_len > 0)
    return 0; /* pull mode: read what waits first */
  if (t->role == RTW_TLS_ROLE_SERVER && !t->seen_input) {
    t->seen_input = 1;
    /* A client speaks first, with a handshake record (RFC 5246 6.2.1, 7.4.1.2). Anything
     * else (plain HTTP on a TLS port: "GET ...") gets no answer at all. */
    if (((const unsigned char *)in)[0] != TLS_CT_HANDSHAKE) {
      drop_output(t);
      return fail(t, RTW_ERR_TLS_NOT_TLS);
    }
  }
  t->in = in;
  t->in_len = len;
  t->in_off = 0;
  rv = process(t);
  *nread = t->in_off;
  t->in = NULL;
  t->in_len = t->in_off = 0;
  return rv;
}

int rtw_tls_read_pending(rtw_tls *t, const void **data, size_t *len)
{
  if (data != NULL)
    *data = NULL;
  if (len != NULL)
    *len = 0;
  if (t == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  if (t->held_len > 0) {
    *data = t->held + t->held_off;
    *len = t->held_len;
  }
  return 0;
}

int rtw_tls_read_consumed(rtw_tls *t, size_t n)
{
  if (t == NULL || n > t->held_len)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  t->held_off += n;
  t->held_len -= n;
  if (t->held_len == 0)
    drop_held(t);
  return 0;
}

/* ---------------------------------------------------------------- output */

static int write_check(rtw_tls *t)
{
  if (t->err)
    return t->err;
  if (t->state & (RTW_TLS_STATE_CLOSE_SENT | RTW_TLS_STATE_PEER_CLOSED))
    return RTW_ERR_INVALID_STATE;
  return 0;
}

static size_t out_pending(const rtw_tls *t) { return t->out_len - t->out_off; }

int rtw_tls_write(rtw_tls *t, const void *data, size_t len, size_t *nwritten)
{
  const unsigned char *p = data;
  size_t done = 0, rec;
  int rv;
  if (nwritten != NULL)
    *nwritten = 0;
  if (t == NULL || nwritten == NULL || (data == NULL && len > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  rv = write_check(t);
  if (rv != 0 || !(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return rv;
  /* One record at a time while under the budget (RFC 5246 6.2.1: 2^14 bytes a record). */
  rec = rtw__tlsb_max_record(t->b);
  while (done < len && out_pending(t) < t->cfg->max_outbound) {
    size_t chunk = len - done < rec ? len - done : rec;
    rv = rtw__tlsb_write(t->b, p + done, chunk);
    if (rv < 0)
      return fail(t, rv);
    done += chunk;
  }
  *nwritten = done;
  return 0;
}

int rtw_tls_writev(rtw_tls *t, const rtw_iovec *iov, size_t count, size_t *nwritten)
{
  unsigned char stage[REC];
  size_t i = 0, off = 0, done = 0, rec;
  int rv;
  if (nwritten != NULL)
    *nwritten = 0;
  if (t == NULL || nwritten == NULL || (iov == NULL && count > 0))
    return RTW_ERR_INVALID_ARGUMENT;
  for (i = 0; i < count; i++)
    if (iov[i].base == NULL && iov[i].len > 0)
      return RTW_ERR_INVALID_ARGUMENT;
  rv = write_check(t);
  if (rv != 0 || !(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return rv;
  i = 0;
  rec = rtw__tlsb_max_record(t->b);
  /* Pack the pieces into full records: many small frames become one record. */
  while (i < count && out_pending(t) < t->cfg->max_outbound) {
    size_t fill = 0;
    if (iov[i].len - off >= rec) {
      /* A piece that fills a record alone (a large payload) is encrypted in place. */
      rv = rtw__tlsb_write(t->b, (const unsigned char *)iov[i].base + off, rec);
      if (rv < 0)
        return fail(t, rv);
      done += rec;
      off += rec;
      if (off == iov[i].len) {
        i++;
        off = 0;
      }
      continue;
    }
    while (i < count && fill < rec) {
      size_t take = iov[i].len - off;
      if (take > rec - fill)
        take = rec - fill;
      memcpy(stage + fill, (const unsigned char *)iov[i].base + off, take);
      fill += take;
      off += take;
      if (off == iov[i].len) {
        i++;
        off = 0;
      }
    }
    if (fill == 0)
      break;
    rv = rtw__tlsb_write(t->b, stage, fill);
    if (rv < 0)
      return fail(t, rv);
    done += fill;
  }
  *nwritten = done;
  return 0;
}

int rtw_tls_want_read(const rtw_tls *t)
{
  if (t == NULL || t->err)
    return 0;
  if (t->state & (RTW_TLS_STATE_PEER_CLOSED | RTW_TLS_STATE_EOF))
    return 0;
  if (t->cb.on_data == NULL && t->held_len > 0)
    return 0;
  return 1;
}

int rtw_tls_want_write(const rtw_tls *t)
{
  if (t == NULL)
    return 0;
  if (out_pending(t) > 0)
    return 1;
  return t->role == RTW_TLS_ROLE_CLIENT && !t->started && !t->err;
}

size_t rtw_tls_outbound_size(const rtw_tls *t) { return t != NULL ? out_pending(t) : 0; }

size_t rtw_tls_inbound_size(const rtw_tls *t) { return t != NULL ? t->held_len : 0; }

int rtw_tls_send_pending(rtw_tls *t, const void **data, size_t *len)
{
  int rv;
  if (data != NULL)
    *data = NULL;
  if (len != NULL)
    *len = 0;
  if (t == NULL || data == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  rv = start(t);
  if (rv != 0 && out_pending(t) == 0)
    return rv;
  if (out_pending(t) > 0) {
    *data = t->out + t->out_off;
    *len = out_pending(t);
  }
  return 0;
}

int rtw_tls_send_consumed(rtw_tls *t, size_t n)
{
  if (t == NULL || n > out_pending(t))
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  t->out_off += n;
  if (t->out_off == t->out_len)
    drop_output(t); /* idle connections hold no output buffer */
  return 0;
}

/* ---------------------------------------------------------------- closing, time */

int rtw_tls_close(rtw_tls *t)
{
  int rv;
  if (t == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->err)
    return t->err;
  if (!(t->state & RTW_TLS_STATE_HANDSHAKE_DONE) || (t->state & RTW_TLS_STATE_CLOSE_SENT))
    return 0;
  t->state |= RTW_TLS_STATE_CLOSE_SENT;
  rv = rtw__tlsb_close_notify(t->b); /* RFC 5246 7.2.1 */
  return rv < 0 ? fail(t, rv) : 0;
}

int rtw_tls_eof(rtw_tls *t)
{
  if (t == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  t->state |= RTW_TLS_STATE_EOF;
  if (t->state & RTW_TLS_STATE_PEER_CLOSED)
    return 0;
  if (t->err == 0)
    fail(t, RTW_ERR_TLS_TRUNCATED);
  return RTW_ERR_TLS_TRUNCATED;
}

uint32_t rtw_tls_state(const rtw_tls *t) { return t != NULL ? t->state : 0; }

int rtw_tls_tick(rtw_tls *t, uint64_t now_ms)
{
  int rv;
  if (t == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (t->in_cb)
    return RTW_ERR_REENTRANT;
  if (t->err)
    return 0; /* reported when it happened */
  rv = start(t);
  if (rv != 0)
    return rv;
  if (!t->ticked) {
    t->ticked = 1;
    t->hs_start = now_ms;
  }
  if (!(t->state & RTW_TLS_STATE_HANDSHAKE_DONE) &&
      now_ms - t->hs_start >= t->cfg->handshake_timeout_ms) {
    drop_output(t); /* a peer that stalls the handshake gets nothing more */
    return fail(t, RTW_ERR_TLS_HANDSHAKE_TIMEOUT);
  }
  return 0;
}

uint64_t rtw_tls_next_deadline(const rtw_tls *t)
{
  if (t == NULL || t->err || (t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return UINT64_MAX;
  if (!t->ticked)
    return 0;
  return t->hs_start + t->cfg->handshake_timeout_ms;
}

/* ---------------------------------------------------------------- accessors */

int rtw_tls_error(const rtw_tls *t) { return t != NULL ? t->err : 0; }

int rtw_tls_backend_error(const rtw_tls *t)
{
  return t != NULL && t->err ? rtw__tlsb_raw_error(t->b) : 0;
}

size_t rtw_tls_error_text(const rtw_tls *t, char *buf, size_t cap)
{
  size_t n;
  if (buf != NULL && cap > 0)
    buf[0] = '\0';
  if (t == NULL || t->err == 0)
    return 0;
  n = rtw__tlsb_raw_error(t->b) != 0 ? rtw__tlsb_error_text(t->b, buf, cap) : 0;
  if (n == 0) {
    /* Errors of the engine itself (not the backend's): rtweb's own message. */
    const char *m = rtw_strerror(t->err);
    n = strlen(m);
    if (buf != NULL && cap > 0) {
      size_t k = n < cap - 1 ? n : cap - 1;
      memcpy(buf, m, k);
      buf[k] = '\0';
    }
  }
  return n;
}

uint32_t rtw_tls_verify_result(const rtw_tls *t) { return t != NULL ? rtw__tlsb_verify_result(t->b) : 0; }

int rtw_tls_alpn(const rtw_tls *t, const char **proto, size_t *len)
{
  const char *p;
  if (proto != NULL)
    *proto = NULL;
  if (len != NULL)
    *len = 0;
  if (t == NULL || proto == NULL || len == NULL)
    return RTW_ERR_INVALID_ARGUMENT;
  if (!(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return RTW_ERR_INVALID_STATE;
  p = rtw__tlsb_alpn(t->b);
  if (p != NULL) {
    *proto = p;
    *len = strlen(p);
  }
  return 0;
}

const char *rtw_tls_server_name(const rtw_tls *t) { return t != NULL ? rtw__tlsb_server_name(t->b) : NULL; }

int rtw_tls_cert_index(const rtw_tls *t) { return t != NULL ? rtw__tlsb_cert_index(t->b) : -1; }

int rtw_tls_resumed(const rtw_tls *t)
{
  return t != NULL && (t->state & RTW_TLS_STATE_HANDSHAKE_DONE) ? rtw__tlsb_resumed(t->b) : 0;
}

const char *rtw_tls_protocol(const rtw_tls *t)
{
  if (t == NULL || !(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return "";
  return rtw__tlsb_protocol(t->b);
}

const char *rtw_tls_ciphersuite(const rtw_tls *t)
{
  if (t == NULL || !(t->state & RTW_TLS_STATE_HANDSHAKE_DONE))
    return "";
  return rtw__tlsb_ciphersuite(t->b);
}
