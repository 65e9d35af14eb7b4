/* SPDX-License-Identifier: MIT */
/* Socket, transport (plain or TLS), clock, signal, URL and buffer helpers shared by rtwcat's
 * networked commands (ws://, wss://, http://, https:// clients, serve). Linux: epoll and
 * signalfd are used by the callers. */
#ifndef RTWCAT_NET_H
#define RTWCAT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rtweb/http.h"
#include "rtweb/tls.h"
#include "rtweb/ws.h"

#include "rtwcat.h"

/* ------------------------------------------------------------------ clock */

/* Milliseconds of CLOCK_MONOTONIC: the clock every engine timer in rtwcat is fed. */
uint64_t rtwcat_now_ms(void);

/* ------------------------------------------------------------------ growable byte buffer */

/* Bytes data[off, off + len) are pending; cap bytes are allocated. */
typedef struct rtwcat_buf {
  unsigned char *data;
  size_t off;
  size_t len;
  size_t cap;
} rtwcat_buf;

/* Append n bytes (moving or growing the storage). Returns 0, or -1 when out of memory. */
int rtwcat_buf_append(rtwcat_buf *b, const void *p, size_t n);
/* Drop the first n pending bytes (n <= len). */
void rtwcat_buf_consume(rtwcat_buf *b, size_t n);
/* Free the storage; the buffer is empty and reusable afterwards. */
void rtwcat_buf_free(rtwcat_buf *b);

/* ------------------------------------------------------------------ URLs */

/* A parsed ws://, wss://, http:// or https:// URL. Strings are NUL-terminated and point
 * into `storage`. */
typedef struct rtwcat_url {
  int websocket;     /* 1 for ws:// and wss://, 0 for http:// and https:// */
  int tls;           /* 1 for wss:// and https:// */
  char *host;        /* for getaddrinfo() and TLS (the name verified, SNI): without the
                        brackets of an IPv6 literal */
  char *port;        /* decimal, "80" by default ("443" with TLS) */
  char *host_header; /* the Host value (RFC 9112 3.2): host, plus ":port" when given */
  char *target;      /* request-target in origin form: path and query, "/" at least */
  char storage[4096];
} rtwcat_url;

/* Parse `s` (RFC 3986 authority form: scheme "://" host [":" port] [path] ["?" query]; a
 * "#fragment" is dropped). Returns 0, or -1 with a message in err. */
int rtwcat_url_parse(const char *s, rtwcat_url *u, char *err, size_t err_cap);

/* ------------------------------------------------------------------ transport */

/*
 * One connection's transport: a non-blocking socket, plain or with a TLS engine on it. The
 * commands read and write through it as they would with read(2) and writev(2), so the
 * WebSocket, HTTP and SSE code above does not change with TLS:
 *
 *   rtwcat_conn_read()    read(2): plaintext bytes, 0 at the end, -1 with errno (EAGAIN
 *                         while a TLS handshake runs or a record is incomplete; EPROTO when
 *                         TLS failed: rtwcat_conn_strerror() says why)
 *   rtwcat_conn_writev()  writev(2) of the layer above's pieces; with TLS they are
 *                         encrypted (rtw_tls_writev) and the ciphertext written at once
 *   rtwcat_conn_flush()   write ciphertext still waiting (TLS handshake messages, alerts,
 *                         records the socket did not take)
 *   rtwcat_conn_want_write()  ciphertext waits: poll for POLLOUT
 *   rtwcat_conn_close()   close_notify (once the handshake is done), one write attempt,
 *                         close(2), the engine freed
 *
 * With TLS a read takes at most RTWCAT_CONN_READ_MAX(cap) ciphertext bytes, so that all the
 * plaintext it completes fits in the caller's buffer: nothing decrypted is ever kept inside
 * the transport, and a level-triggered poll on the socket stays a complete picture.
 */
typedef struct rtwcat_conn {
  int fd;       /* -1: none */
  rtw_tls *tls; /* NULL: plain TCP */
  unsigned char *rd; /* plaintext destination during rtwcat_conn_read() */
  size_t rd_len, rd_cap;
} rtwcat_conn;

/* Ciphertext read at once for a plaintext buffer of cap bytes: the plaintext of a record
 * started in an earlier read (at most RTW_TLS_MAX_RECORD_PLAINTEXT) must fit too. */
#define RTWCAT_CONN_READ_MAX(cap) ((cap) - RTW_TLS_MAX_RECORD_PLAINTEXT)

/* Set up c on socket fd (plain). */
void rtwcat_conn_init(rtwcat_conn *c, int fd);
/* Put a TLS connection from cfg on c (server: server_name NULL; client: the URL host).
 * Returns 0, or an RTW_ERR_* code from rtw_tls_new(). */
int rtwcat_conn_tls(rtwcat_conn *c, rtw_tls_config *cfg, const char *server_name);
/* read(2) through the transport into buf (cap > RTW_TLS_MAX_RECORD_PLAINTEXT with TLS). */
ssize_t rtwcat_conn_read(rtwcat_conn *c, void *buf, size_t cap);
/* Write pieces; *taken gets the bytes taken. Returns 0 (all taken that could be: with TLS
 * the ciphertext is out too), 1 when the socket would block (poll for POLLOUT), -1 on an
 * error (errno; EPROTO for TLS). */
int rtwcat_conn_writev(rtwcat_conn *c, const rtw_iovec *iov, size_t count, size_t *taken);
/* Write the ciphertext waiting: 0 none left, 1 the socket would block, -1 error (errno). */
int rtwcat_conn_flush(rtwcat_conn *c);
/* 1 when ciphertext waits for the socket. */
int rtwcat_conn_want_write(const rtwcat_conn *c);
/* The end of our output: TLS close_notify (best effort), then shutdown(SHUT_WR). */
void rtwcat_conn_shutdown(rtwcat_conn *c);
/* Close the socket and free the TLS engine (close_notify first when the handshake is done).
 * c is reusable afterwards (fd -1). */
void rtwcat_conn_close(rtwcat_conn *c);
/* Why the last call failed: the TLS engine's reason when it failed (rtw_tls_error_text),
 * else strerror(err). Valid until the next call. */
const char *rtwcat_conn_strerror(rtwcat_conn *c, int err);
/* Client: run the TLS handshake to its end (nothing to do for plain TCP), waiting at most
 * until the deadline. Returns 0, -2 on a signal on sigfd, or -1 after printing "rtwcat: TLS
 * handshake with HOST failed: ..." (with the verification problems, when that is why). */
int rtwcat_conn_handshake(rtwcat_conn *c, const char *host, int sigfd, uint64_t deadline);
/* Write all n bytes through c, waiting with rtwcat_wait_fd() whenever it would block; with
 * TLS, until the ciphertext is out. Results as rtwcat_write_all(). */
int rtwcat_conn_write_all(rtwcat_conn *c, const void *p, size_t n, int sigfd, uint64_t deadline);

/* A client TLS configuration for --cacert FILE (NULL: the system bundle
 * RTWCAT_SYSTEM_CA_FILE when it exists) or --insecure. Returns NULL after printing a
 * message. */
rtw_tls_config *rtwcat_tls_client_config(const char *cafile, int insecure);
#define RTWCAT_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* The client TLS options of ws://, wss://, http:// and https:// (--help lines). */
#define RTWCAT_TLS_CLIENT_HELP                                                             \
  "  --cacert FILE        wss://, https://: the CA certificates (PEM) that verify the\n"   \
  "                       server (default: " RTWCAT_SYSTEM_CA_FILE ")\n"                  \
  "  --insecure           wss://, https://: do not verify the server's certificate\n"

/* ------------------------------------------------------------------ sockets */

/* Make fd non-blocking. Returns 0 or -1 (errno). */
int rtwcat_set_nonblock(int fd);
/* TCP_NODELAY: messages go out at once (RFC 6455 traffic is latency-bound). */
void rtwcat_set_nodelay(int fd);

/*
 * Resolve host:port with getaddrinfo() and connect to the first address that answers,
 * waiting at most timeout_ms per address; abort early when a signal arrives on sigfd (-1:
 * none). Returns a connected non-blocking socket with TCP_NODELAY, or -1 after printing
 * "rtwcat: ..." on stderr (-2 when interrupted by a signal).
 */
int rtwcat_connect(const char *host, const char *port, int timeout_ms, int sigfd);

/* Wait until fd is ready for `events` (POLLIN, POLLOUT), a signal arrives on sigfd (-1:
 * none), or the deadline (rtwcat_now_ms(); UINT64_MAX: none) passes. Returns 1 ready,
 * 0 timeout, -2 signal, -1 error (errno). */
int rtwcat_wait_fd(int fd, short events, int sigfd, uint64_t deadline);

/* Write all n bytes to the non-blocking fd, waiting with rtwcat_wait_fd() whenever it would
 * block. Returns 0, -1 on a write error (errno), -2 on a signal, -3 when the wait failed or
 * the deadline passed. */
int rtwcat_write_all(int fd, const void *p, size_t n, int sigfd, uint64_t deadline);

/* Bind and listen on host:port (port "0": any free port). Returns the socket (non-blocking)
 * and writes the real port to *bound_port, or -1 after printing a message. */
int rtwcat_listen(const char *host, const char *port, unsigned *bound_port);

/* ------------------------------------------------------------------ signals */

/* Block SIGINT and SIGTERM and return a signalfd(2) that reports them; SIGPIPE is ignored
 * (write errors come back as EPIPE). Returns -1 after printing a message. */
int rtwcat_signals_open(void);
/* Read one pending signal from the signalfd: its number, or 0 when none. */
int rtwcat_signals_read(int sigfd);

/* ------------------------------------------------------------------ WebSocket output */

/*
 * Write what the session has pending with writev(2) (rtw_ws_send_pending_iov), reporting
 * each write with rtw_ws_send_consumed(); partial writes are normal. Returns 0 when all was
 * written, 1 when the socket would block (wait for POLLOUT), -1 on a write error (errno
 * set), or a negative RTW_ERR_* from the session (its output could not be prepared).
 */
int rtwcat_ws_flush(rtwcat_conn *c, rtw_ws *ws);

/* Write b's pending bytes; same results as rtwcat_ws_flush() (without RTW_ERR_*). */
int rtwcat_buf_flush(rtwcat_conn *c, rtwcat_buf *b);

/* Parse a duration in seconds ("15", "0.5") into milliseconds. Returns 0 or -1. */
int rtwcat_parse_seconds(const char *s, uint64_t *ms);
/* Parse a non-negative decimal integer not above max. Returns 0 or -1. */
int rtwcat_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* ------------------------------------------------------------------ command-line values */

/* Parse the command's URL argument s into u; its scheme must be ws:// or wss:// (websocket
 * 1), or http:// or https:// (0). Returns -1 to go on, or an exit status after reporting a usage error. */
int rtwcat_url_arg(const rtwcat_command *cmd, const char *s, int websocket, rtwcat_url *u);

/* Parse a --header value "Name: value" (blanks after the colon skipped) into h, which points
 * into v. Returns -1 to go on, or an exit status after reporting a usage error. */
int rtwcat_parse_header(const rtwcat_command *cmd, const char *v, rtw_http_header *h);

#endif /* RTWCAT_NET_H */
