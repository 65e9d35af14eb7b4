/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: what the server's files share (server.c, feed_conn.c, chat_conn.c,
 * rtweb_chat.c): one connection, the server, the limits.
 *
 * A connection starts as HTTP: its bytes go to an rtw_ws_handshake_server, which either
 * completes a WebSocket upgrade (the connection becomes a chat socket, chat_conn.c) or
 * reports a plain request, which is routed by path (server.c): the page, or the feed
 * (feed_conn.c), which reads the request through the handshake server's SSE view of it.
 * See docs/handshake.md, "One port". With --tls-cert every connection's bytes go through
 * an rtw_tls first (tls_conn.c); nothing above it changes.
 *
 *   HTTP --upgrade /chat--> WS ------------------------------------------------+
 *   HTTP --GET /events----> SSE --shutdown: last chunk--> LINGER --EOF---------+--> closed
 *   HTTP --GET /, errors--> REPLY (Connection: close) --written--> LINGER --EOF-+
 *
 * LINGER: after the last response byte we shut down our side and read until the peer's EOF,
 * so that unread request bytes cannot turn our close into a reset that loses the response.
 * A chat socket closed for its policy (1008) lingers the same way once its close frame is out.
 *
 * Limits: CHAT_MAX_MESSAGE per chat message (bigger: close 1009); per chat socket a rate
 * of messages (control frames included) and of bytes (--msg-rate, --byte-rate: beyond,
 * close 1008 with the reason, policy.c); per client address a rate of chat sockets opened
 * (--join-rate per minute: beyond, 429); --max-conns connections (kept within
 * RLIMIT_NOFILE; more: 503), of which at most --max-conns-per-addr per client address,
 * and --max-http-per-addr of those in the HTTP states (HTTP, REPLY, LINGER; more: 503); and bounded output per connection: a
 * chat socket whose queue passes WS_MAX_OUTBOUND is dropped, and any connection whose
 * output has not been empty for --send-timeout seconds is dropped, however little it reads
 * meanwhile; a feed connection pulls events from the history only while its output is
 * small, so a slow reader costs no memory, and one that falls behind the whole history is
 * dropped (its browser reconnects with Last-Event-ID). At EMFILE the listener leaves the
 * epoll set until a connection closes (or a second passes), so a full table costs no CPU.
 *
 * The loop (server.c) is one epoll instance, level-triggered: a connection is registered
 * once and its interest (EPOLLIN while it takes input, EPOLLOUT while output waits) is
 * changed only when it changes. Each round looks only at the connections something happened
 * to (`touched`: an event, a timer, a broadcast queued to it, a new feed event for a feed
 * stream), so 10,000 idle connections cost nothing per round. Timers (request and linger
 * deadlines, the send timeout, the WebSocket and TLS sessions' own deadlines) sit in a
 * timer wheel of WHEEL_SLOTS slots of WHEEL_TICK_MS: a connection is looked at when its
 * earliest deadline comes (up to one slot late), never by a scan of all of them; feed
 * heartbeats walk the list of feed streams every HEARTBEAT_MS.
 */
#ifndef RTWEB_CHAT_SERVER_H
#define RTWEB_CHAT_SERVER_H

#include "chat.h"

#include <rtweb/tls.h>

#include <signal.h>
#include <time.h>

#define IN_LIMIT (16u * 1024u)         /* WS input held while the session pauses (one read) */
#define HTTP_OUT_LIMIT (256u * 1024u)  /* a response: the page and its head */
#define SSE_LOW_WATER (32u * 1024u)    /* a feed connection takes more events below this */
#define SSE_OUT_LIMIT (256u * 1024u)   /* ... and never holds more than this */
#define WS_MAX_OUTBOUND (512u * 1024u) /* a chat socket's send queue */
#define WS_HIGH_WATER (64u * 1024u)    /* ... over which its input is not read */
#define WS_LOW_WATER (16u * 1024u)     /* ... until it is back to this */
#define HEARTBEAT_MS 15000u            /* feed comments that keep proxies from timing out */
#define KEEPALIVE_MS 30000u            /* WebSocket ping after this much silence */
#define REQUEST_TIMEOUT_MS 10000u      /* to send a complete request head */
#define LINGER_MS 3000u
#define LISTEN_RETRY_MS 1000u          /* accept again after EMFILE, at the latest */
#define FD_RESERVE 16u                 /* descriptors not for connections (stdio, feed, ...) */
#define SHUTDOWN_GRACE_MS 1500u
#define RETRY_MS 1000u                 /* the feed's `retry:` (WHATWG 9.2.6) */
#define JOIN_SLOTS 256u                /* addresses whose chat-socket opens are metered */
#define WHEEL_SLOTS 512u               /* the timer wheel: slots of WHEEL_TICK_MS each, */
#define WHEEL_TICK_MS 256u             /* ... so it spans 131 s; later timers go round again */
#define EPOLL_BATCH 256                /* events taken per epoll_wait() */

enum { CONN_HTTP, CONN_REPLY, CONN_SSE, CONN_WS, CONN_LINGER };

typedef struct server server;

/* Who a connection comes from, for the per-address limit: an IPv4 address, or the /64
 * prefix of an IPv6 one (what one host usually has). */
typedef struct addr_key {
  int family;
  unsigned char bytes[8];
} addr_key;

/* How many chat sockets an address opened lately (chat_conn.c, --join-rate). */
typedef struct join_slot {
  addr_key addr;
  chat_rate rate;
} join_slot;

typedef struct conn {
  server *srv;
  int fd;
  int kind;
  int dead;              /* to be closed and freed by the loop */
  int joined;            /* a chat socket counted in `online` */
  int chunked;           /* feed: Transfer-Encoding: chunked (HTTP/1.1) */
  int ended;             /* feed: no more events (shutting down) */
  int close_after_flush; /* then LINGER */
  int read_eof;          /* REPLY: the client shut down its side; finish writing, then close */
  int policy_closed;     /* WS: closed 1008 for a broken rule; nothing more is read */
  int deflate;           /* WS: permessage-deflate accepted with `negotiated` (RFC 7692) */
  rtw_ws_deflate_params negotiated;
  addr_key addr;
  chat_rate msg_rate, byte_rate; /* WS: what it may still send */
  chat_buf in;           /* WS: input the session left unread while it paused */
  chat_buf out;          /* written before anything the WebSocket session has */
  rtw_ws_handshake_server *hs;
  rtw_ws *ws;
  rtw_tls *tls;          /* --tls-cert: every byte goes through it (tls_conn.c) */
  chat_buf tls_in;       /* ... ciphertext it left unread while the session paused */
  int tls_paused;        /* ... and it holds input (maybe plaintext only) to redeliver */
  uint64_t sse_seq;       /* feed: the next history sequence number to send */
  uint64_t deadline;      /* HTTP: request timeout; LINGER: give up waiting for EOF */
  uint64_t last_empty;    /* the last time its output was seen empty */
  /* the loop's bookkeeping (server.c) */
  size_t index;           /* in srv->conns */
  uint32_t events;        /* what epoll watches for it (EPOLLIN, EPOLLOUT) */
  int touched;            /* in srv->touched: settle() looks at it this round */
  int had_output;         /* output was waiting when settle() last saw it */
  int counted_http;       /* counted as HTTP-state in its address's entry */
  int in_sse;             /* in the list of feed streams */
  struct conn *sse_prev, *sse_next;
  uint64_t wake;          /* when its timers next need a look (UINT64_MAX: never) */
  struct conn *t_prev, *t_next; /* its timer wheel slot's list */
  int in_wheel;
  uint64_t serial;        /* unique in this process (--redis: a chat line's author) */
  int rds_state;          /* feed with --redis: RDS_LIVE, RDS_RESOLVE, RDS_REPLAY, ... */
  uint64_t rds_next;      /* ... RDS_REPLAY*: the next log entry to send */
  char rds_id[CHAT_LOG_ID_MAX]; /* ... RDS_RESOLVE: the id the client resumes after;
                                 * chat socket: /chat?after=<id> */
  size_t rds_id_len;
} conn;

/* Connections per client address, for --max-conns-per-addr and --max-http-per-addr: an
 * open-addressing table (linear probing) of twice --max-conns entries, so the check at
 * accept() costs the same with 10 connections or 100,000. */
typedef struct addr_count {
  addr_key key;
  uint32_t all, http; /* all == 0: a free entry */
} addr_count;

/* A feed connection with --redis (feed_conn.c): sending from the history, waiting to
 * resolve its Last-Event-ID (the epoch is not known yet), or replaying from the log. */
enum { RDS_LIVE, RDS_RESOLVE, RDS_REPLAY, RDS_REPLAY_ASKED };

typedef struct options {
  const char *host, *port, *feed_file;
  const char *tls_cert, *tls_key; /* --tls-cert, --tls-key: https and wss on the port */
  unsigned long history, max_conns, max_conns_per_addr, max_http_per_addr;
  unsigned long msg_rate, byte_rate, join_rate, send_timeout;
  int no_deflate; /* --no-deflate: decline permessage-deflate */
  const char *redis, *redis_stream; /* --redis HOST:PORT, --redis-stream NAME */
  unsigned long redis_maxlen;       /* --redis-maxlen: XADD MAXLEN ~ N */
} options;

struct server {
  int lfd;
  int listen_paused;  /* EMFILE: the listener is out of the epoll set */
  int listen_said;    /* ... and that was logged */
  int listen_watched; /* the listener is in the epoll set */
  uint64_t listen_retry;
  int epfd;           /* the epoll instance (server.c) */
  conn **conns;
  size_t nconns, max_conns;
  conn **touched;     /* connections settle() looks at this round (each at most once) */
  size_t ntouched;
  conn *sse_head;     /* feed streams (CONN_SSE), for new events and heartbeats */
  uint64_t feed_seen; /* the history's next sequence number settle() last saw */
  conn *wheel[WHEEL_SLOTS];
  uint64_t wheel_tick; /* the first tick (now / WHEEL_TICK_MS) not yet run */
  addr_count *addrs;
  size_t addrs_mask;   /* entries - 1 (a power of two) */
  int redis_epfd;      /* --redis: an epoll set of the log's descriptors (server.c) */
  int redis_fds[2], redis_nfds;
  short redis_ev[2];
  size_t online; /* chat sockets */
  chat_feed feed;
  uint64_t now, next_heartbeat;
  options o;
  rtw_tls_config *tls; /* with --tls-cert: the certificate every connection serves */
  /* permessage-deflate policy (RFC 7692): the library's defaults, i.e. no context takeover
   * either way, so an idle chat socket holds no zlib memory and every socket gets the same
   * compressed bytes of a broadcast (rtw_ws_queue_prepared()) */
  rtw_ws_deflate_config deflate;
  join_slot joins[JOIN_SLOTS];
  uint64_t next_serial;
  struct chat_redis *rds; /* --redis: the shared log (redis.c), else NULL */
  char node[24];          /* --redis: this process, in a chat line's `from` */
  char epoch[CHAT_LOG_ID_MAX]; /* ... the log's epoch, once known */
  int have_epoch, log_up;
};

/* ---------------------------------------------------------------------- server.c */

/** Set by SIGINT/SIGTERM: chat_run() shuts down (closes 1001, ends feeds) and returns. */
extern volatile sig_atomic_t chat_stop_requested;

/** Serve on s->lfd until asked to stop. @return 0, or -1 (out of memory, epoll failed). */
int chat_run(server *s);
uint64_t chat_clock_ms(clockid_t id);
int chat_set_nonblocking(int fd);
/** 1 when the span s[0, n) is the string lit. */
int chat_span_is(const char *s, size_t n, const char *lit);
/** Mark for closing (why, when not NULL, is logged once). */
void conn_kill(conn *c, const char *why);
/** Have the loop look at the connection before it waits again: write what was queued for
 * it, move feed events, close it if dead. Whatever changes a connection other than the one
 * whose event is being handled touches it. */
void conn_touch(conn *c);
/** Queue bytes before anything the session has; over `limit` in all: the connection dies. */
void conn_append(conn *c, const void *p, size_t n, size_t limit);
/** Answer with a small text/plain response and close after it. */
void conn_respond_text(conn *c, const char *status, const char *extra, const char *text);

/** Bytes read from the socket, for the connection's current state (below TLS, if any). */
void conn_input(conn *c, const char *p, size_t n);
/** Write what fits to the socket (*sent bytes). @return 0 when all was written, 1 when some
 * waits, -1 on a dead socket. */
int conn_send(conn *c, const void *p, size_t n, size_t *sent);

/* ---------------------------------------------------------------------- tls_conn.c */

/** Start TLS on a new connection (server role, the server's configuration). @return 0, -1. */
int tls_conn_start(conn *c, rtw_tls_config *cfg);
/** Ciphertext read from the socket: decrypted, it goes to conn_input(). */
void tls_conn_input(conn *c, const char *p, size_t n);
/** Redeliver what TLS holds once the chat session reads again (settle()). */
void tls_conn_resume(conn *c);
/** Encrypt c->out and the session's frames, write the ciphertext. @return as conn_send(). */
int tls_conn_flush(conn *c);
/** Queue close_notify and write it. @return 0 when written (close now), 1 when it waits,
 * -1 on a dead socket. */
int tls_conn_close(conn *c);
/** 1 when ciphertext waits for the socket. */
int tls_conn_has_output(const conn *c);

/* ---------------------------------------------------------------------- feed_conn.c */

/** Answer GET /events (the handshake server's plain request): the stream, from where the
 * client resumes. */
void feed_conn_start(conn *c);
/** Move events from the history to the connection while its output is small. */
void feed_conn_fill(conn *c);
/** A heartbeat comment, unless output is waiting anyway. */
void feed_conn_heartbeat(conn *c);
/** End the stream (shutting down): last chunk, then close. */
void feed_conn_end(conn *c);
/** --redis: the hooks for chat_redis_new() (feed_conn.c), user data s. */
struct chat_redis_hooks;
void feed_conn_redis_hooks(struct chat_redis_hooks *h, server *s);

/* ---------------------------------------------------------------------- chat_conn.c */

/** The handshake server's on_upgrade: /chat, from our own page's origin or no browser. */
int chat_conn_on_upgrade(rtw_ws_handshake_server *hs, void *user);
/** The upgrade is done: queue the 101, start the session, feed the first frames. */
void chat_conn_start(conn *c, const char *frames, size_t frames_len);
/** Bytes read from a chat socket (counted against its byte rate). */
void chat_conn_input(conn *c, const char *p, size_t n);
/** Feed what waited while the session paused, once it reads again. */
void chat_conn_resume(conn *c);
/** 1 while the socket should be polled for input. */
int chat_conn_reading(const conn *c);
/** Publish a join or leave event with the number of chat sockets. */
void chat_conn_publish_count(server *s, const char *type);
/** --redis: a message event read back from the log: to every chat socket (the author's
 * copy, when it is here, tagged "mine"), with its feed id. data is the feed's
 * {"name","text"}. A chat socket opened as /chat?after=<id> first gets the lines after
 * that id that the window holds. */
void chat_conn_from_log(server *s, const char *data, size_t len, const char *id,
                        size_t id_len, const char *from, size_t from_len, uint64_t ts);

#endif /* RTWEB_CHAT_SERVER_H */
