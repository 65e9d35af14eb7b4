/* SPDX-License-Identifier: MIT */
/* Socket, clock, signal, URL and buffer helpers shared by rtwcat's networked commands
 * (ws:// and http:// clients, serve). Linux: epoll and signalfd are used by the callers. */
#ifndef RTWCAT_NET_H
#define RTWCAT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "rtweb/http.h"
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

/* A parsed ws:// or http:// URL. Strings are NUL-terminated and point into `storage`. */
typedef struct rtwcat_url {
  int websocket;     /* 1 for ws://, 0 for http:// */
  char *host;        /* for getaddrinfo(): without the brackets of an IPv6 literal */
  char *port;        /* decimal, "80" by default */
  char *host_header; /* the Host value (RFC 9112 3.2): host, plus ":port" when given */
  char *target;      /* request-target in origin form: path and query, "/" at least */
  char storage[4096];
} rtwcat_url;

/* Parse `s` (RFC 3986 authority form: scheme "://" host [":" port] [path] ["?" query]; a
 * "#fragment" is dropped). Returns 0, or -1 with a message in err. */
int rtwcat_url_parse(const char *s, rtwcat_url *u, char *err, size_t err_cap);

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
int rtwcat_ws_flush(int fd, rtw_ws *ws);

/* Write b's pending bytes; same results as rtwcat_ws_flush() (without RTW_ERR_*). */
int rtwcat_buf_flush(int fd, rtwcat_buf *b);

/* Parse a duration in seconds ("15", "0.5") into milliseconds. Returns 0 or -1. */
int rtwcat_parse_seconds(const char *s, uint64_t *ms);
/* Parse a non-negative decimal integer not above max. Returns 0 or -1. */
int rtwcat_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* ------------------------------------------------------------------ command-line values */

/* Parse the command's URL argument s into u; its scheme must be ws:// (websocket 1) or
 * http:// (0). Returns -1 to go on, or an exit status after reporting a usage error. */
int rtwcat_url_arg(const rtwcat_command *cmd, const char *s, int websocket, rtwcat_url *u);

/* Parse a --header value "Name: value" (blanks after the colon skipped) into h, which points
 * into v. Returns -1 to go on, or an exit status after reporting a usage error. */
int rtwcat_parse_header(const rtwcat_command *cmd, const char *v, rtw_http_header *h);

#endif /* RTWCAT_NET_H */
