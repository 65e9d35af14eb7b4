/* SPDX-License-Identifier: MIT */
/**
 * @file tls.h
 * @brief TLS (RFC 5246, TLS 1.2 minimum) as one more sans-I/O engine, over mbedTLS: the
 * library `rtweb-tls` (`librtweb-tls.so`, pkg-config `rtweb-tls`), separate from `rtweb` so a
 * host that terminates TLS elsewhere never links it.
 *
 * An #rtw_tls object is one TLS connection, server or client, that never touches a socket:
 * - **ciphertext in**: rtw_tls_recv() consumes what the socket read; the plaintext it
 *   decrypts goes to the on_data callback (whose shape is the other engines' `recv`, so
 *   `return rtw_ws_recv(ws, data, len, used);` stacks a WebSocket session on top), or, without
 *   on_data, waits for rtw_tls_read_pending() / rtw_tls_read_consumed();
 * - **plaintext out**: rtw_tls_write() / rtw_tls_writev() encrypt what the layer above wants
 *   to send (a handshake head, WebSocket frames, an SSE stream);
 * - **ciphertext out**: rtw_tls_want_write(), rtw_tls_send_pending(), rtw_tls_send_consumed(),
 *   exactly like the WebSocket session's output;
 * - **time**: the handshake deadline runs on rtw_tls_tick() / rtw_tls_next_deadline();
 * - **closing**: rtw_tls_close() queues close_notify; the peer's close_notify shows in
 *   rtw_tls_state(); rtw_tls_eof() tells a clean end from a truncation.
 *
 * An #rtw_tls_config holds what connections share: certificates and keys (server; several,
 * chosen by SNI), trusted CAs (client), ALPN (`http/1.1` by default), session tickets
 * (server) and the random generator (a CTR_DRBG seeded from the operating system through
 * rtweb's crypto seam, or from the host's RNG). See docs/tls.md.
 *
 * Memory: the #rtw_tls object and its buffers go through the #rtw_mem given; mbedTLS's own
 * state (about 34 KiB of record buffers per connection in mbedTLS 2.28, which has no
 * per-object allocator hooks) comes from the C library's calloc. docs/tls.md gives the
 * measured figures.
 *
 * Compiles as C89, C99 and C++.
 */
#ifndef RTWEB_TLS_H
#define RTWEB_TLS_H

#include "common.h"
#include "ws.h" /* rtw_iovec */

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Shared TLS configuration (certificates, CAs, ALPN, tickets, RNG). Opaque,
 * reference-counted: each connection keeps it alive. */
typedef struct rtw_tls_config rtw_tls_config;
/** @brief One TLS connection, server or client. Opaque. */
typedef struct rtw_tls rtw_tls;

/** @name Roles (the values of #RTW_WS_ROLE_SERVER and #RTW_WS_ROLE_CLIENT) */
/**@{*/
#define RTW_TLS_ROLE_SERVER 0 /**< accepts connections: needs a certificate and key */
#define RTW_TLS_ROLE_CLIENT 1 /**< connects: verifies the server against its CAs */
/**@}*/

/** @name rtw_tls_config_settings::flags */
/**@{*/
/** Client: do not verify the server's certificate (chain, dates or name). For tests and
 * `rtwcat --insecure` only: anyone on the path can read and change the traffic. */
#define RTW_TLS_INSECURE 0x1u
/** Server: issue no session tickets (RFC 5077); clients then always do a full handshake. */
#define RTW_TLS_NO_TICKETS 0x2u
/** Let mbedTLS protect the records after the handshake, always. Without it, a TLS 1.2
 * connection with an AES-GCM suite hands its records to rtweb's own record layer once
 * mbedTLS has completed the handshake, where this build and CPU have the fast AES-GCM
 * kernels (AES-NI and PCLMULQDQ); the suites then prefer AES-128-GCM. The wire is the same
 * either way (RFC 5246 6.2, RFC 5288); docs/tls.md, "The record path". */
#define RTW_TLS_BACKEND_RECORDS 0x4u
/**@}*/

/** @brief Current version of #rtw_tls_config_settings. */
#define RTW_TLS_CONFIG_SETTINGS_VERSION 1u
/** @brief Default handshake timeout: 10 s from the first rtw_tls_tick(). */
#define RTW_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
/** @brief Default session ticket lifetime (and key rotation period): 1 hour. */
#define RTW_TLS_DEFAULT_TICKET_LIFETIME_S 3600u
/** @brief Default limit on ciphertext waiting to be written, per connection: 256 KiB. */
#define RTW_TLS_DEFAULT_MAX_OUTBOUND 262144u
/** @brief Largest plaintext in one TLS record (RFC 5246 6.2.1): 16 KiB. */
#define RTW_TLS_MAX_RECORD_PLAINTEXT 16384u
/** @brief Longest server name accepted (RFC 1035 2.3.4: 255 octets). */
#define RTW_TLS_MAX_SERVER_NAME 255u
/** @brief Most certificates a server configuration holds (for SNI). */
#define RTW_TLS_MAX_CERTS 16u
/** @brief Longest ALPN list given to rtw_tls_config_set_alpn(). */
#define RTW_TLS_MAX_ALPN 255u
/** @brief Largest PEM file read by the *_file() functions: 1 MiB. */
#define RTW_TLS_MAX_PEM_FILE 1048576u

/**
 * @brief Chooses a server certificate from the name the client sent (SNI, RFC 6066 3).
 * @param cfg the configuration.
 * @param name the host name, not NUL-terminated (ASCII, as sent); only read during the call.
 * @param len bytes at name (1..#RTW_TLS_MAX_SERVER_NAME).
 * @param user_data rtw_tls_config_settings::sni_user_data.
 * @return the index of a certificate (as returned by rtw_tls_config_add_cert()), or a
 *         negative value to refuse the name (the handshake fails with an
 *         `unrecognized_name` alert).
 */
typedef int (*rtw_tls_sni_fn)(rtw_tls_config *cfg, const char *name, size_t len,
                              void *user_data);

/**
 * @brief Settings of a configuration. Initialise with
 * `rtw_tls_config_settings s = {.version = RTW_TLS_CONFIG_SETTINGS_VERSION};` (zero members
 * take the defaults); the struct only grows at the end (docs/abi.md).
 */
typedef struct rtw_tls_config_settings {
  uint32_t version; /**< #RTW_TLS_CONFIG_SETTINGS_VERSION (or older) */
  uint32_t flags;   /**< RTW_TLS_INSECURE, RTW_TLS_NO_TICKETS, RTW_TLS_BACKEND_RECORDS */
  /** Fail with #RTW_ERR_TLS_HANDSHAKE_TIMEOUT when the handshake is not complete this long
   * after the first rtw_tls_tick(). 0: #RTW_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS. */
  uint32_t handshake_timeout_ms;
  /** Server: lifetime of session tickets, and the period of the ticket key rotation, in
   * seconds. 0: #RTW_TLS_DEFAULT_TICKET_LIFETIME_S. Capped at 7 days (604800) where TLS 1.3
   * is built in (RFC 8446 4.6.1). */
  uint32_t ticket_lifetime_s;
  /** Most ciphertext a connection holds for the socket (rtw_tls_outbound_size());
   * rtw_tls_write() takes no more plaintext once it is reached. 0:
   * #RTW_TLS_DEFAULT_MAX_OUTBOUND. At least one record (about 16.5 KiB) always fits.
   * Automatic replies count too: a peer that keeps asking to renegotiate while not reading
   * (each request draws a no_renegotiation warning, RFC 5746 4.4) fails the connection with
   * #RTW_ERR_TLS_HANDSHAKE at the reply that takes the queue over this. That reply is the
   * last one queued, however many requests one rtw_tls_recv() input holds (many in a
   * record, many records) and however the input is split: replies never take
   * rtw_tls_outbound_size() beyond max_outbound plus one reply (a two-byte alert in a
   * record: 31 bytes with AES-GCM, 23 with ChaCha20-Poly1305 in TLS 1.2). */
  size_t max_outbound;
  /** Random bytes for the DRBG's seed (and its reseeds): return 0, or a negative value on
   * failure. NULL: the operating system's CSPRNG (getrandom, else /dev/urandom). Called
   * during rtw_tls_config_new() and from handshakes on any connection of the config. */
  int (*random)(void *buf, size_t len, void *user_data);
  void *random_user_data; /**< passed to random */
  /** Server: picks the certificate for the name the client sent. NULL: the first
   * certificate whose subjectAltName DNS entries (or, without any, its CN) match the name,
   * case-insensitively with a `*.` wildcard for one label; else the first certificate.
   * Not called when the client sends no name (the first certificate is used). */
  rtw_tls_sni_fn sni;
  void *sni_user_data; /**< passed to sni */
} rtw_tls_config_settings;

/**
 * @brief Create a configuration. It holds a CTR_DRBG seeded now, the ticket keys (server)
 * and, by default, ALPN `http/1.1`; add certificates (server) or CAs (client) next.
 * The setters must run before the first rtw_tls_new() with this configuration; after it
 * they return #RTW_ERR_INVALID_STATE (a running handshake may be reading it). To change
 * certificates, make a new configuration: connections keep the one they started with.
 * @param[out] cfg receives the configuration (reference count 1); NULL on failure.
 * @param role #RTW_TLS_ROLE_SERVER or #RTW_TLS_ROLE_CLIENT.
 * @param settings copied; NULL for the defaults.
 * @param mem allocator hooks for the configuration object and for every connection made
 *        from it that passes no hooks of its own; NULL for the C library.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL cfg, unknown role, unknown or zero version,
 *         unknown flags, incomplete mem); #RTW_ERR_NOMEM; #RTW_ERR_TLS_BACKEND (the DRBG could
 *         not be seeded: the random source failed).
 */
RTW_EXPORT int rtw_tls_config_new(rtw_tls_config **cfg, int role,
                                  const rtw_tls_config_settings *settings,
                                  const rtw_mem *mem);

/**
 * @brief Drop the caller's reference. The configuration is freed when the last connection
 * made from it is freed too, so it may be released right after the last rtw_tls_new().
 * The count is updated atomically: connections on other threads may be freed at the same
 * time.
 * @param cfg the configuration, or NULL (nothing happens).
 */
RTW_EXPORT void rtw_tls_config_free(rtw_tls_config *cfg);

/**
 * @brief Server: add a certificate chain and its private key (PEM). The first one added is
 * the default; more serve other names through SNI.
 * @param cfg a server configuration.
 * @param chain_pem the leaf certificate first, then intermediates (PEM, `-----BEGIN
 *        CERTIFICATE-----` blocks); need not be NUL-terminated; only read during the call.
 * @param chain_len bytes at chain_pem.
 * @param key_pem the private key of the leaf (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; not
 *        encrypted); only read during the call. The copy rtweb keeps is wiped when freed.
 * @param key_len bytes at key_pem.
 * @return the certificate's index (0 for the first); #RTW_ERR_TLS_CONFIG (not PEM, no
 *         certificate, a key that does not parse or does not match the leaf's public key;
 *         rtw_tls_config_error_text() says which); #RTW_ERR_INVALID_ARGUMENT (NULL, a client
 *         configuration, already #RTW_TLS_MAX_CERTS); #RTW_ERR_INVALID_STATE (in use);
 *         #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_tls_config_add_cert(rtw_tls_config *cfg, const char *chain_pem,
                                       size_t chain_len, const char *key_pem, size_t key_len);

/**
 * @brief rtw_tls_config_add_cert() from two files (they may be the same file holding both).
 * @param cfg a server configuration.
 * @param chain_path path of the PEM certificate chain, NUL-terminated.
 * @param key_path path of the PEM private key, NUL-terminated.
 * @return as rtw_tls_config_add_cert(); #RTW_ERR_TLS_CONFIG also when a file cannot be read
 *         or is larger than #RTW_TLS_MAX_PEM_FILE.
 */
RTW_EXPORT int rtw_tls_config_add_cert_file(rtw_tls_config *cfg, const char *chain_path,
                                            const char *key_path);

/**
 * @brief Client: the certificate authorities that may sign the server's chain (PEM, one or
 * more `CERTIFICATE` blocks). Replaces an earlier CA list. Without one, a client that
 * verifies (the default) fails every handshake with #RTW_ERR_TLS_VERIFY.
 * @param cfg a client configuration.
 * @param pem the CA certificates; need not be NUL-terminated; only read during the call.
 * @param len bytes at pem.
 * @return 0; #RTW_ERR_TLS_CONFIG (no certificate parsed); #RTW_ERR_INVALID_ARGUMENT (NULL, a
 *         server configuration); #RTW_ERR_INVALID_STATE (in use); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_tls_config_set_ca(rtw_tls_config *cfg, const char *pem, size_t len);

/**
 * @brief rtw_tls_config_set_ca() from a file, such as the system bundle
 * `/etc/ssl/certs/ca-certificates.crt`.
 * @param cfg a client configuration.
 * @param path the PEM file, NUL-terminated.
 * @return as rtw_tls_config_set_ca(); #RTW_ERR_TLS_CONFIG also when the file cannot be read.
 */
RTW_EXPORT int rtw_tls_config_set_ca_file(rtw_tls_config *cfg, const char *path);

/**
 * @brief The application protocols offered (client) or accepted (server) through ALPN
 * (RFC 7301), as a comma-separated list in preference order, e.g. "http/1.1" (the default).
 * A server picks the first protocol of its own list that the client offered (the server's
 * preference, as RFC 7301 3.2 allows) and fails the handshake with a
 * `no_application_protocol` alert (#RTW_ERR_TLS_ALPN) when there is none; a client whose
 * peer answers no protocol proceeds (an old server), one that answers a protocol not
 * offered fails. An empty list turns ALPN off.
 * @param cfg the configuration.
 * @param list protocol names (1..255 bytes each, no commas), comma-separated; need not be
 *        NUL-terminated; only read during the call.
 * @param len bytes at list (at most #RTW_TLS_MAX_ALPN).
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL cfg, an empty name, too long);
 *         #RTW_ERR_INVALID_STATE (in use); #RTW_ERR_NOMEM.
 */
RTW_EXPORT int rtw_tls_config_set_alpn(rtw_tls_config *cfg, const char *list, size_t len);

/**
 * @brief Why the last configuration call failed, from mbedTLS: e.g. "X509 - The CRT/CRL/CSR
 * format is invalid, e.g. different type expected (in chain)".
 * @param cfg the configuration.
 * @param buf receives the text, NUL-terminated (truncated to fit).
 * @param cap bytes at buf (0: nothing written).
 * @return the length of the whole text (as snprintf()); 0 when there was no error.
 */
RTW_EXPORT size_t rtw_tls_config_error_text(const rtw_tls_config *cfg, char *buf, size_t cap);

/**
 * @brief The TLS backend's name and version, e.g. "Mbed TLS 2.28.3".
 * @return a static string; never NULL.
 */
RTW_EXPORT const char *rtw_tls_backend_version(void);

/* ====================================================================== connections */

/** @brief Current version of #rtw_tls_callbacks. */
#define RTW_TLS_CALLBACKS_VERSION 1u

/**
 * @brief Callbacks of a connection; every member may be NULL. Each returns 0 to go on.
 * Initialise with `rtw_tls_callbacks cb = {.version = RTW_TLS_CALLBACKS_VERSION};`.
 *
 * Re-entrancy: callbacks may call rtw_tls_write(), rtw_tls_writev(), rtw_tls_close() and
 * the accessors. rtw_tls_recv(), rtw_tls_tick(), rtw_tls_send_pending(),
 * rtw_tls_send_consumed(), rtw_tls_read_pending(), rtw_tls_read_consumed() and
 * rtw_tls_free() called from a callback of the same connection return #RTW_ERR_REENTRANT
 * (rtw_tls_free(): does nothing; free after the callback returns).
 */
typedef struct rtw_tls_callbacks {
  uint32_t version; /**< #RTW_TLS_CALLBACKS_VERSION (or older) */
  /** Decrypted bytes. Set `*used` to the bytes taken (0..len) and return 0, or
   * #RTW_ERR_PAUSE (rtw_tls_recv() stops and returns it; the bytes not taken are kept and
   * delivered first by the next rtw_tls_recv(), which may have no input), or another
   * negative code: rtw_tls_recv() stops and returns it unchanged, keeping what was not taken;
   * the TLS connection itself is not failed, so the layer above can still send its close
   * and rtw_tls_close() can follow. With the shape of the engines' recv, a WebSocket session
   * stacks with `return rtw_ws_recv(ws, data, len, used);`. When NULL, decrypted bytes wait
   * for rtw_tls_read_pending(). */
  int (*on_data)(rtw_tls *tls, const void *data, size_t len, size_t *used, void *user_data);
  /** The handshake completed: ALPN, protocol, resumption and the peer's name can be read. A
   * negative return fails the connection with #RTW_ERR_CALLBACK_FAILURE. */
  int (*on_handshake)(rtw_tls *tls, void *user_data);
} rtw_tls_callbacks;

/**
 * @brief Create a connection. Nothing is sent yet: a client's ClientHello is built on the
 * first rtw_tls_send_pending(), rtw_tls_recv() or rtw_tls_tick() (so rtw_tls_set_session()
 * can come first), and rtw_tls_want_write() is 1 until then.
 * @param[out] tls receives the connection; NULL on failure.
 * @param cfg the configuration, whose reference count goes up (it stays alive until
 *        rtw_tls_free()); its role is the connection's.
 * @param server_name client: the server's host name, NUL-terminated, checked against its
 *        certificate (subjectAltName DNS entries, or the CN without any) and sent as SNI;
 *        an IPv4 or IPv6 literal is checked against the certificate's subjectAltName IP
 *        entries and not sent (RFC 6066 3). Required unless the configuration has
 *        #RTW_TLS_INSECURE. Server: must be NULL.
 * @param callbacks copied; NULL for none.
 * @param mem allocator hooks, copied; NULL: the configuration's.
 * @param user_data passed to every callback; see rtw_tls_user_data().
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (NULL tls or cfg, a name longer than
 *         #RTW_TLS_MAX_SERVER_NAME or empty, a client without a name that verifies, a server
 *         with a name, a server configuration without a certificate, an unknown or zero
 *         callbacks version, incomplete mem); #RTW_ERR_NOMEM; #RTW_ERR_TLS_BACKEND.
 */
RTW_EXPORT int rtw_tls_new(rtw_tls **tls, rtw_tls_config *cfg, const char *server_name,
                           const rtw_tls_callbacks *callbacks, const rtw_mem *mem,
                           void *user_data);

/**
 * @brief Free a connection (wiping its keys) and drop its configuration reference. Nothing
 * is sent: call rtw_tls_close() and flush first for a clean close.
 * @param tls the connection, or NULL.
 */
RTW_EXPORT void rtw_tls_free(rtw_tls *tls);

/**
 * @brief The user_data given at creation.
 * @param tls the connection, or NULL.
 * @return the pointer (NULL for NULL).
 */
RTW_EXPORT void *rtw_tls_user_data(const rtw_tls *tls);

/**
 * @brief Client: resume a session saved from an earlier connection with
 * rtw_tls_session_save() (a session ticket, RFC 5077, or a session ID). Call before the
 * ClientHello is built (see rtw_tls_new()). Whether the server accepted shows in
 * rtw_tls_resumed() after the handshake; if it did not, a full handshake happens, not an
 * error.
 * @param tls a client connection.
 * @param data the saved bytes; only read during the call.
 * @param len bytes at data.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (a server, NULL data, bytes that are not a saved
 *         session of this backend and build); #RTW_ERR_INVALID_STATE (the hello was built).
 */
RTW_EXPORT int rtw_tls_set_session(rtw_tls *tls, const void *data, size_t len);

/**
 * @brief Client, after the handshake: the session, serialised, for rtw_tls_set_session() on
 * a later connection to the same server (with the same configuration). It holds secret key
 * material: keep it like a password. In TLS 1.3 (mbedTLS 3.x built with it) a session is
 * resumable only through a ticket, which the server sends after the handshake (RFC 8446
 * 4.6.1): until one arrived through rtw_tls_recv() (or when the server sends none) this
 * returns #RTW_ERR_INVALID_STATE; each new ticket replaces the saved session.
 * @param tls a client connection whose handshake completed.
 * @param buf receives the bytes; NULL with cap 0 to ask the size (then
 *        #RTW_ERR_BUFFER_TOO_SMALL with *len set).
 * @param cap bytes at buf.
 * @param[out] len the size of the session (also when buf is too small).
 * @return 0; #RTW_ERR_BUFFER_TOO_SMALL; #RTW_ERR_INVALID_STATE (no handshake yet, a server);
 *         #RTW_ERR_INVALID_ARGUMENT (NULL).
 */
RTW_EXPORT int rtw_tls_session_save(rtw_tls *tls, void *buf, size_t cap, size_t *len);

/**
 * @brief Feed ciphertext read from the transport. Handshake messages are answered (see
 * rtw_tls_want_write()); decrypted application data goes to on_data, or waits for
 * rtw_tls_read_pending() when on_data is NULL (then recv stops consuming once a record's
 * plaintext waits: read it first). Input may be split anywhere. With len 0 it delivers
 * kept plaintext (after a pause) and returns.
 *
 * Plain HTTP sent to a TLS server (e.g. `GET / HTTP/1.1`) fails with #RTW_ERR_TLS_NOT_TLS
 * and nothing to send: close the transport. A malformed or forged record fails with
 * #RTW_ERR_TLS_BAD_RECORD (a fatal alert, bad_record_mac or record_overflow, is queued:
 * flush it, then close). Errors other than the callback's are sticky. The peer's
 * close_notify is answered with ours at once (RFC 5246 7.2.1; see rtw_tls_state()): flush
 * it, then close the transport.
 * @param tls the connection.
 * @param in ciphertext; only read.
 * @param len bytes at in.
 * @param[out] nread bytes consumed (also on pause and error). Less than len only on pause
 *        or error, or without on_data once plaintext waits.
 * @return 0; #RTW_ERR_PAUSE or another code from on_data; #RTW_ERR_TLS_NOT_TLS,
 *         #RTW_ERR_TLS_BAD_RECORD, #RTW_ERR_TLS_HANDSHAKE, #RTW_ERR_TLS_VERIFY,
 *         #RTW_ERR_TLS_ALPN, #RTW_ERR_TLS_ALERT, #RTW_ERR_TLS_BACKEND,
 *         #RTW_ERR_CALLBACK_FAILURE (on_handshake), #RTW_ERR_NOMEM (all fatal);
 *         #RTW_ERR_REENTRANT; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_tls_recv(rtw_tls *tls, const void *in, size_t len, size_t *nread);

/**
 * @brief Without on_data: the decrypted bytes waiting (at most one record's, 16 KiB).
 * @param tls the connection.
 * @param[out] data points into the connection, valid until the next call on it.
 * @param[out] len bytes at data; 0 when none.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT; #RTW_ERR_REENTRANT.
 */
RTW_EXPORT int rtw_tls_read_pending(rtw_tls *tls, const void **data, size_t *len);
/**
 * @brief Report that n of the bytes from rtw_tls_read_pending() were used.
 * @param tls the connection.
 * @param n bytes used.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (n larger than what waits); #RTW_ERR_REENTRANT.
 */
RTW_EXPORT int rtw_tls_read_consumed(rtw_tls *tls, size_t n);

/**
 * @brief Encrypt plaintext for the peer, as many records as needed (each at most
 * #RTW_TLS_MAX_RECORD_PLAINTEXT). Takes nothing before the handshake completes, and stops
 * taking once rtw_tls_outbound_size() reaches max_outbound: write the ciphertext out and
 * call again with the rest.
 * @param tls the connection.
 * @param data plaintext; only read.
 * @param len bytes at data.
 * @param[out] nwritten the bytes taken (0..len).
 * @return 0 (also when nothing was taken); #RTW_ERR_INVALID_STATE (close_notify sent or
 *         received); a sticky error of the connection; #RTW_ERR_NOMEM;
 *         #RTW_ERR_INVALID_ARGUMENT. Allowed from the connection's callbacks.
 */
RTW_EXPORT int rtw_tls_write(rtw_tls *tls, const void *data, size_t len, size_t *nwritten);

/**
 * @brief rtw_tls_write() from a gather list, such as rtw_ws_send_pending_iov() fills: the
 * pieces are packed into full records (one record for many small frames), not one record
 * per piece.
 * @param tls the connection.
 * @param iov the pieces, in order; only read.
 * @param count elements of iov.
 * @param[out] nwritten the bytes taken across the pieces (report them to the layer above,
 *        e.g. rtw_ws_send_consumed()).
 * @return as rtw_tls_write().
 */
RTW_EXPORT int rtw_tls_writev(rtw_tls *tls, const rtw_iovec *iov, size_t count,
                              size_t *nwritten);

/**
 * @brief Whether rtw_tls_recv() wants input.
 * @param tls the connection, or NULL.
 * @return 1 until the peer's close_notify arrived, the transport's end was reported, or the
 *         connection failed; 0 then, also while plaintext waits for rtw_tls_read_pending()
 *         (without on_data), and for NULL.
 */
RTW_EXPORT int rtw_tls_want_read(const rtw_tls *tls);
/**
 * @brief Whether ciphertext waits for the transport.
 * @param tls the connection, or NULL.
 * @return 1 when rtw_tls_send_pending() has bytes (or a client's hello is still to be
 *         built); 0 otherwise and for NULL.
 */
RTW_EXPORT int rtw_tls_want_write(const rtw_tls *tls);
/**
 * @brief Bytes of ciphertext waiting for the transport.
 * @param tls the connection, or NULL.
 * @return the byte count (0 for NULL).
 */
RTW_EXPORT size_t rtw_tls_outbound_size(const rtw_tls *tls);

/**
 * @brief Bytes of decrypted plaintext the connection keeps: what on_data did not take (a
 * pause; deliver it with `rtw_tls_recv(tls, NULL, 0, &n)` once the layer above reads again)
 * or, without on_data, what waits for rtw_tls_read_pending(). At most one record's.
 * @param tls the connection, or NULL.
 * @return the byte count (0 for NULL).
 */
RTW_EXPORT size_t rtw_tls_inbound_size(const rtw_tls *tls);

/**
 * @brief The next contiguous ciphertext to write (a client's first call builds its hello).
 * @param tls the connection.
 * @param[out] data points into the connection; valid until the next call that changes it.
 * @param[out] len bytes at data; 0 when nothing waits.
 * @return 0; a sticky error (the hello could not be built); #RTW_ERR_REENTRANT;
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_tls_send_pending(rtw_tls *tls, const void **data, size_t *len);
/**
 * @brief Report that the transport took n bytes of rtw_tls_send_pending().
 * @param tls the connection.
 * @param n bytes written.
 * @return 0; #RTW_ERR_INVALID_ARGUMENT (n larger than what waits); #RTW_ERR_REENTRANT.
 */
RTW_EXPORT int rtw_tls_send_consumed(rtw_tls *tls, size_t n);

/**
 * @brief Queue close_notify (RFC 5246 7.2.1): no more writes. Flush, then close the transport
 * (waiting for the peer's close_notify is optional). Before the handshake completes, or when
 * called twice, does nothing and returns 0.
 * @param tls the connection.
 * @return 0; a sticky error; #RTW_ERR_NOMEM; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_tls_close(rtw_tls *tls);

/**
 * @brief Report that the transport reached its end (read returned 0).
 * @param tls the connection.
 * @return 0 when the peer sent close_notify first; #RTW_ERR_TLS_TRUNCATED when it did not
 *         (the data received may be cut short: the layer above decides, e.g. a WebSocket
 *         session that completed its closing handshake lost nothing); it is sticky.
 */
RTW_EXPORT int rtw_tls_eof(rtw_tls *tls);

/** @name rtw_tls_state() bits */
/**@{*/
#define RTW_TLS_STATE_HANDSHAKE_DONE 0x1u /**< the handshake completed */
#define RTW_TLS_STATE_CLOSE_SENT 0x2u     /**< our close_notify is queued */
#define RTW_TLS_STATE_PEER_CLOSED 0x4u    /**< the peer's close_notify arrived */
#define RTW_TLS_STATE_EOF 0x8u            /**< rtw_tls_eof() was called */
#define RTW_TLS_STATE_FAILED 0x10u        /**< a fatal error; see rtw_tls_error() */
/**@}*/
/**
 * @brief The connection's state.
 * @param tls the connection, or NULL.
 * @return RTW_TLS_STATE_* bits (0 for NULL).
 */
RTW_EXPORT uint32_t rtw_tls_state(const rtw_tls *tls);

/**
 * @brief Advance the handshake timer: it starts at the first tick and fails the connection
 * with #RTW_ERR_TLS_HANDSHAKE_TIMEOUT at the first tick at or after handshake_timeout_ms
 * later if the handshake is not complete (nothing is sent then: close the transport).
 * A client's first tick builds its hello.
 * @param tls the connection.
 * @param now_ms a monotonic clock in milliseconds; never smaller than in an earlier call.
 * @return 0 (also on later ticks after a failure: the error stays in rtw_tls_error());
 *         #RTW_ERR_TLS_HANDSHAKE_TIMEOUT (once; the connection is failed); #RTW_ERR_REENTRANT;
 *         #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_tls_tick(rtw_tls *tls, uint64_t now_ms);
/**
 * @brief When rtw_tls_tick() must run next.
 * @param tls the connection, or NULL.
 * @return 0 before the first tick (tick now to start the timer), then the handshake
 *         deadline; UINT64_MAX once the handshake completed or the connection failed, and
 *         for NULL.
 */
RTW_EXPORT uint64_t rtw_tls_next_deadline(const rtw_tls *tls);

/**
 * @brief The connection's sticky error.
 * @param tls the connection, or NULL.
 * @return the RTW_ERR_* code; 0 when none (and for NULL).
 */
RTW_EXPORT int rtw_tls_error(const rtw_tls *tls);
/**
 * @brief The backend's own code for the sticky error.
 * @param tls the connection, or NULL.
 * @return an mbedTLS `MBEDTLS_ERR_*` value (negative); 0 when none.
 */
RTW_EXPORT int rtw_tls_backend_error(const rtw_tls *tls);
/**
 * @brief The sticky error in words, from mbedTLS, with the certificate verification
 * problems when there are any (e.g. "X509 - Certificate verification failed: The
 * certificate Common Name (CN) does not match with the expected CN").
 * @param tls the connection.
 * @param buf receives the text, NUL-terminated (truncated to fit).
 * @param cap bytes at buf (0: nothing written).
 * @return the length of the whole text (as snprintf()); 0 when there is no error.
 */
RTW_EXPORT size_t rtw_tls_error_text(const rtw_tls *tls, char *buf, size_t cap);
/**
 * @brief Client: the certificate verification result.
 * @param tls the connection, or NULL.
 * @return mbedTLS `MBEDTLS_X509_BADCERT_*` bits; 0 when verified, not verified yet, with
 *         #RTW_TLS_INSECURE, and for NULL.
 */
RTW_EXPORT uint32_t rtw_tls_verify_result(const rtw_tls *tls);

/**
 * @brief After the handshake: the protocol chosen by ALPN.
 * @param tls the connection.
 * @param[out] proto the protocol name, not NUL-terminated, valid while the connection
 *        lives; NULL when none was chosen.
 * @param[out] len bytes at proto (0 when none).
 * @return 0; #RTW_ERR_INVALID_STATE before the handshake; #RTW_ERR_INVALID_ARGUMENT.
 */
RTW_EXPORT int rtw_tls_alpn(const rtw_tls *tls, const char **proto, size_t *len);
/**
 * @brief The server name of the connection.
 * @param tls the connection, or NULL.
 * @return server: the name the client sent by SNI (from the handshake on); client: the name
 *         given to rtw_tls_new(); NUL-terminated, valid while the connection lives; NULL
 *         when none.
 */
RTW_EXPORT const char *rtw_tls_server_name(const rtw_tls *tls);
/**
 * @brief Server: the certificate served.
 * @param tls the connection, or NULL.
 * @return its index (rtw_tls_config_add_cert()) once chosen; -1 before, for a client and
 *         for NULL.
 */
RTW_EXPORT int rtw_tls_cert_index(const rtw_tls *tls);
/**
 * @brief Whether the handshake resumed a session (abbreviated handshake, RFC 5246 7.3).
 * @param tls the connection, or NULL.
 * @return 1 if it did; 0 otherwise, before the handshake completes and for NULL.
 */
RTW_EXPORT int rtw_tls_resumed(const rtw_tls *tls);
/**
 * @brief The protocol version negotiated.
 * @param tls the connection, or NULL.
 * @return e.g. "TLSv1.2"; "" before the handshake completes and for NULL. Never NULL.
 */
RTW_EXPORT const char *rtw_tls_protocol(const rtw_tls *tls);
/**
 * @brief The cipher suite negotiated.
 * @param tls the connection, or NULL.
 * @return mbedTLS's name of it, e.g. "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"; "" before
 *         the handshake completes and for NULL. Never NULL.
 */
RTW_EXPORT const char *rtw_tls_ciphersuite(const rtw_tls *tls);

#ifdef __cplusplus
}
#endif

#endif /* RTWEB_TLS_H */
