/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the TLS engine (include/rtweb/tls.h, librtweb-tls): a server or a
 * client rtw_tls fed the input as records, split and whole, and a client and a server
 * talking to each other in memory under a script of writes, transfers, corruptions,
 * closes, ends and ticks. */
/*
 * The server's certificate: an EC P-256 key and a self-signed certificate (CN=localhost, no
 * extensions) made once at start-up with mbedTLS's key generator and X.509 writer from a
 * DRBG seeded with constant bytes: the same every run, never committed, trusted by nothing
 * but this program. Every configuration takes its DRBG seed from a constant random callback
 * too, so a run is reproducible (mbedTLS still writes the time into its hello random, which
 * changes bytes, never outcomes).
 *
 * Input layout (a 6-byte header; short inputs read as zeros):
 *
 *   byte 0   bits 0-1 mode: 0 a server fed the rest as the client's records; 1 a client
 *            (its ClientHello taken and dropped) fed the rest as the server's records;
 *            2-3 a client and a server in memory, the rest a script (below)
 *            bit 2 pull mode (no on_data: rtw_tls_read_pending / rtw_tls_read_consumed) for
 *                  the fed side (modes 0-1) or the server (pair)
 *            bit 3 the client verifies the server (CA = the certificate, name "localhost")
 *                  instead of RTW_TLS_INSECURE
 *            bit 4 RTW_TLS_NO_TICKETS on the server
 *            bit 5 small max_outbound (byte 3)
 *            bit 6 ALPN: the client offers "x-fuzz" only (the server fails with
 *                  RTW_ERR_TLS_ALPN), or, fed, the fed side has ALPN off
 *            bit 7 the client offers a session saved from the pair's first handshake (pair)
 *   byte 1   piece sizes (bits 0-1: 1, 1..8, 1..64, 1..rest) and, with byte 2, the PRNG seed
 *   byte 2   chance (out of 256) that on_data pauses, or takes only part of what it is given
 *   byte 3   max_outbound = 1 + 1024 * b3 (bit 5)
 *   byte 4   the rtw_mem allocation of run A that fails (1-based; 0 = none)
 *   byte 5   bits 0-3: the handshake timeout in units of 100 ms, + 1
 *            bit 4 rtweb's own TLS 1.2 record layer takes over after the handshake
 *                  (rtw__gcm_test_mode(1): AES-128-GCM preferred, lib/tls/record.c), else
 *                  mbedTLS protects the records (mode 0)
 *            bit 5 RTW_TLS_BACKEND_RECORDS on the client: with bit 4, mbedTLS's record
 *                  layer on one end and rtweb's on the other
 *
 * Modes 0-1: run B feeds the rest whole to a connection that takes everything; run A feeds
 * it in pieces, ticks between pieces, pauses (or takes part) in on_data and in pull mode
 * reads in random amounts, with the failing allocation. Checked in both against tls.h:
 * nread <= len (equal unless an error, a pause, or plaintext waiting in pull mode), pauses
 * only from on_data, errors sticky (the same code again, rtw_tls_error(), want_read 0,
 * STATE_FAILED), no plaintext before the handshake completed, the handshake deadline, what
 * rtw_tls_write and rtw_tls_close may answer, the output accounting (outbound_size equals
 * what send_pending shows, send_consumed beyond it refused), the input accounting
 * (inbound_size: what read_pending shows in pull mode, 0 once on_data took everything). Then A must equal B (error,
 * plaintext delivered, handshake state) when A had no refused allocation.
 *
 * Pair: the script is a sequence of ops (one byte: bits 0-2 kind, bits 3-7 operand, some
 * with a second byte): 0/1 the client/server writes (bit 3: writev of 1-4 pieces) 1..4096
 * bytes of a pattern, 2/3 moves up to 64 * (operand + 1) bytes (or all, operand 31) of the
 * client's/server's output to the other side in pieces, 4 corrupts the byte at offset (the
 * next byte) of the next transfer, 5 rtw_tls_close (bit 3: server), 6 time goes forward by
 * 100 ms * operand (rtw_tls_tick both), 7 rtw_tls_eof (bit 3: server) -- the transport's
 * end, after which nothing more is moved to that side. Then both directions are pumped until
 * nothing moves. Checked: what each side received is a prefix of what the other's writes
 * took, exactly all of it when nothing was corrupted, truncated or timed out and no
 * allocation failed; a corrupted record fails the receiver with a documented fatal error;
 * every error is sticky; after close, rtw_tls_write answers RTW_ERR_INVALID_STATE; eof
 * answers 0 only after the peer's close_notify arrived; no leak of rtw_mem blocks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rtweb/tls.h"
#include "gcm.h" /* rtw__gcm_test_mode() */

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"

#define HEADER_LEN 6u
#define MAX_PLAIN (1u << 20) /* most plaintext one side writes in a pair run */

/* ------------------------------------------------------------------ the certificate */

static char g_cert[2048], g_key[1024];
static size_t g_cert_len, g_key_len;

/* Constant "entropy": the certificate, and so every run, is the same. */
static int const_entropy(void *ctx, unsigned char *buf, size_t len)
{
  (void)ctx;
  memset(buf, 0x5a, len);
  return 0;
}

static void make_cert(void)
{
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context pk;
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  int ok;

  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_pk_init(&pk);
  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&serial);
  ok = mbedtls_ctr_drbg_seed(&drbg, const_entropy, NULL,
                             (const unsigned char *)"rtweb fuzz_tls", 14) == 0 &&
       mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
       mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                           mbedtls_ctr_drbg_random, &drbg) == 0 &&
       mbedtls_mpi_lset(&serial, 1) == 0;
  if (ok) {
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &pk);
    mbedtls_x509write_crt_set_issuer_key(&crt, &pk);
    ok = mbedtls_x509write_crt_set_subject_name(&crt, "CN=localhost") == 0 &&
         mbedtls_x509write_crt_set_issuer_name(&crt, "CN=localhost") == 0 &&
         mbedtls_x509write_crt_set_serial(&crt, &serial) == 0 &&
         mbedtls_x509write_crt_set_validity(&crt, "20250101000000", "20991231235959") == 0 &&
         mbedtls_x509write_crt_pem(&crt, (unsigned char *)g_cert, sizeof g_cert,
                                   mbedtls_ctr_drbg_random, &drbg) == 0 &&
         mbedtls_pk_write_key_pem(&pk, (unsigned char *)g_key, sizeof g_key) == 0;
  }
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&crt);
  mbedtls_pk_free(&pk);
  mbedtls_ctr_drbg_free(&drbg);
  FUZZ_CHECK(ok);
  g_cert_len = strlen(g_cert);
  g_key_len = strlen(g_key);
}

/* The configurations' random source: constant, so runs are reproducible. */
static int const_random(void *buf, size_t len, void *user_data)
{
  (void)user_data;
  memset(buf, 0xa5, len);
  return 0;
}

/* ------------------------------------------------------------------ a connection end */

typedef struct end {
  rtw_tls *tls;
  int pull;          /* no on_data */
  int is_a;          /* pieces, pauses, partial takes */
  fuzz_rng *rng;
  unsigned pause;    /* chance out of 256 */
  int in_cb;
  int err;           /* the sticky error, once seen */
  int done_seen;     /* on_handshake fired */
  int eof;           /* rtw_tls_eof() called: nothing more is moved to this side */
  fuzz_log got;      /* plaintext received */
  uint64_t now;
  uint64_t timeout_ms;
  int ticked;
} end;

static int on_data(rtw_tls *tls, const void *data, size_t len, size_t *used, void *user_data)
{
  end *e = user_data;
  size_t take = len;

  FUZZ_CHECK(tls == e->tls);
  FUZZ_CHECK(len > 0);
  FUZZ_CHECK(rtw_tls_state(tls) & RTW_TLS_STATE_HANDSHAKE_DONE);
  FUZZ_CHECK(e->done_seen);
  e->in_cb = 1;
  /* Nested calls are refused while a callback of the connection runs. */
  {
    size_t n = 7;
    FUZZ_CHECK(rtw_tls_recv(tls, "x", 1, &n) == RTW_ERR_REENTRANT);
    FUZZ_CHECK(rtw_tls_tick(tls, e->now) == RTW_ERR_REENTRANT);
  }
  e->in_cb = 0;
  if (e->is_a && e->pause > 0 && fuzz_rng_below(e->rng, 256) < e->pause) {
    take = fuzz_rng_below(e->rng, len + 1);
    fuzz_log_raw(&e->got, data, take);
    *used = take;
    /* Half the time a pause, else a partial take that returns 0. */
    return (fuzz_rng_next(e->rng) & 1u) ? RTW_ERR_PAUSE : 0;
  }
  fuzz_log_raw(&e->got, data, take);
  *used = take;
  return 0;
}

static int on_handshake(rtw_tls *tls, void *user_data)
{
  end *e = user_data;

  FUZZ_CHECK(tls == e->tls);
  FUZZ_CHECK(!e->done_seen);
  FUZZ_CHECK(rtw_tls_state(tls) & RTW_TLS_STATE_HANDSHAKE_DONE);
  FUZZ_CHECK(rtw_tls_protocol(tls)[0] != 0);
  FUZZ_CHECK(rtw_tls_ciphersuite(tls)[0] != 0);
  e->done_seen = 1;
  return 0;
}

/* Record an API result of the connection: errors other than a callback's are sticky. */
static int saw(end *e, int rc)
{
  if (rc != 0 && rc != RTW_ERR_PAUSE && rtw_is_fatal(rc)) {
    if (e->err == 0)
      e->err = rc;
    FUZZ_CHECK(rc == e->err);
    FUZZ_CHECK(rtw_tls_error(e->tls) == e->err);
    FUZZ_CHECK(rtw_tls_state(e->tls) & RTW_TLS_STATE_FAILED);
    FUZZ_CHECK(!rtw_tls_want_read(e->tls));
    FUZZ_CHECK(rtw_tls_next_deadline(e->tls) == UINT64_MAX);
  }
  return rc;
}

/* Read what waits in pull mode (A: in random amounts). Returns bytes read. */
static size_t pull(end *e)
{
  size_t total = 0;

  for (;;) {
    const void *p = NULL;
    size_t len = 0, take;

    FUZZ_CHECK(rtw_tls_read_pending(e->tls, &p, &len) == 0);
    FUZZ_CHECK(rtw_tls_inbound_size(e->tls) == len); /* what waits, exactly */
    if (len == 0)
      return total;
    FUZZ_CHECK(len <= RTW_TLS_MAX_RECORD_PLAINTEXT);
    FUZZ_CHECK(rtw_tls_state(e->tls) & RTW_TLS_STATE_HANDSHAKE_DONE);
    FUZZ_CHECK(!rtw_tls_want_read(e->tls));
    take = e->is_a ? 1 + fuzz_rng_below(e->rng, len) : len;
    fuzz_log_raw(&e->got, p, take);
    FUZZ_CHECK(rtw_tls_read_consumed(e->tls, len + 1) == RTW_ERR_INVALID_ARGUMENT);
    FUZZ_CHECK(rtw_tls_read_consumed(e->tls, take) == 0);
    total += take;
  }
}

/* Feed bytes to a connection until they are consumed, it fails, or it stops taking
 * (pull mode, nothing read). Resumes after pauses. Returns the bytes consumed. */
static size_t feed(end *e, const uint8_t *p, size_t n)
{
  size_t off = 0;

  for (;;) {
    size_t nread = (size_t)-1;
    int rc = saw(e, rtw_tls_recv(e->tls, n ? p + off : NULL, n - off, &nread));

    FUZZ_CHECK(nread <= n - off);
    off += nread;
    if (rc == RTW_ERR_PAUSE) {
      FUZZ_CHECK(!e->pull); /* only on_data pauses */
      FUZZ_CHECK(rtw_tls_inbound_size(e->tls) <= RTW_TLS_MAX_RECORD_PLAINTEXT);
      continue;             /* resume: recv delivers what was kept first */
    }
    if (rc != 0) {
      FUZZ_CHECK(rtw_is_fatal(rc));
      return off;
    }
    if (e->pull && pull(e) > 0)
      continue;
    if (off == n) {
      if (!e->pull)
        FUZZ_CHECK(rtw_tls_inbound_size(e->tls) == 0); /* all delivered */
      return off;
    }
    FUZZ_CHECK(e->pull); /* with on_data everything is consumed */
    if (nread == 0)
      return off;
  }
}

/* Take what the connection wants to send (A: in random amounts), appending it to out. */
static void drain(end *e, fuzz_log *out)
{
  for (;;) {
    const void *p = NULL;
    size_t len = 0, take;
    int rc = saw(e, rtw_tls_send_pending(e->tls, &p, &len));

    if (rc != 0)
      return;
    FUZZ_CHECK(len <= rtw_tls_outbound_size(e->tls));
    if (len == 0) {
      FUZZ_CHECK(rtw_tls_outbound_size(e->tls) == 0);
      FUZZ_CHECK(!rtw_tls_want_write(e->tls));
      return;
    }
    FUZZ_CHECK(rtw_tls_want_write(e->tls));
    take = e->is_a ? 1 + fuzz_rng_below(e->rng, len) : len;
    if (out != NULL)
      fuzz_log_raw(out, p, take);
    FUZZ_CHECK(rtw_tls_send_consumed(e->tls, rtw_tls_outbound_size(e->tls) + 1) ==
               RTW_ERR_INVALID_ARGUMENT);
    FUZZ_CHECK(rtw_tls_send_consumed(e->tls, take) == 0);
  }
}

static void tick(end *e, uint64_t now)
{
  int rc;
  int was_done = (rtw_tls_state(e->tls) & RTW_TLS_STATE_HANDSHAKE_DONE) != 0;

  e->now = now;
  rc = saw(e, rtw_tls_tick(e->tls, now));
  if (!e->ticked && rc == 0 && !was_done && e->err == 0) {
    e->ticked = 1;
    FUZZ_CHECK(rtw_tls_next_deadline(e->tls) == now + e->timeout_ms ||
               (rtw_tls_state(e->tls) & RTW_TLS_STATE_HANDSHAKE_DONE));
  }
  e->ticked = 1;
  if (rc == RTW_ERR_TLS_HANDSHAKE_TIMEOUT)
    FUZZ_CHECK(!was_done);
  else
    FUZZ_CHECK(rc == 0 || rc == e->err);
}

/* ------------------------------------------------------------------ setup */

typedef struct setup {
  uint8_t h[HEADER_LEN];
  int mode, verify, alpn;
  uint32_t flags_server, flags_client;
  size_t max_out;
  uint64_t timeout_ms;
} setup;

static rtw_tls_config *config(const setup *s, int role, const rtw_mem *mem, int alpn_off)
{
  rtw_tls_config_settings st = {RTW_TLS_CONFIG_SETTINGS_VERSION};
  rtw_tls_config *cfg = NULL;
  int rc;

  st.random = const_random;
  st.max_outbound = s->max_out;
  st.handshake_timeout_ms = (uint32_t)s->timeout_ms;
  st.flags = role == RTW_TLS_ROLE_SERVER ? s->flags_server
                                         : (s->verify ? 0u : RTW_TLS_INSECURE) | s->flags_client;
  rc = fuzz_mem_saw(rtw_tls_config_new(&cfg, role, &st, mem));
  if (rc != 0) {
    FUZZ_CHECK(rc == RTW_ERR_NOMEM && cfg == NULL);
    return NULL;
  }
  if (role == RTW_TLS_ROLE_SERVER)
    rc = rtw_tls_config_add_cert(cfg, g_cert, g_cert_len, g_key, g_key_len);
  else if (s->verify)
    rc = rtw_tls_config_set_ca(cfg, g_cert, g_cert_len);
  if (rc == 0 && alpn_off)
    rc = rtw_tls_config_set_alpn(cfg, "", 0);
  else if (rc == 0 && s->alpn && role == RTW_TLS_ROLE_CLIENT)
    rc = rtw_tls_config_set_alpn(cfg, "x-fuzz", 6);
  if (rc < 0) {
    FUZZ_CHECK(rc == RTW_ERR_NOMEM);
    rtw_tls_config_free(cfg);
    return NULL;
  }
  return cfg;
}

static int open_end(end *e, rtw_tls_config *cfg, int role, int pull_mode)
{
  rtw_tls_callbacks cb = {RTW_TLS_CALLBACKS_VERSION};
  int rc;

  if (!pull_mode)
    cb.on_data = on_data;
  cb.on_handshake = on_handshake;
  e->pull = pull_mode;
  rc = rtw_tls_new(&e->tls, cfg, role == RTW_TLS_ROLE_CLIENT ? "localhost" : NULL, &cb, NULL, e);
  if (rc != 0) {
    FUZZ_CHECK(rc == RTW_ERR_NOMEM || rc == RTW_ERR_TLS_BACKEND);
    FUZZ_CHECK(e->tls == NULL);
    return -1;
  }
  FUZZ_CHECK(rtw_tls_user_data(e->tls) == e);
  FUZZ_CHECK(rtw_tls_inbound_size(e->tls) == 0 && rtw_tls_inbound_size(NULL) == 0);
  FUZZ_CHECK(rtw_tls_next_deadline(e->tls) == 0);
  FUZZ_CHECK(rtw_tls_cert_index(e->tls) == -1);
  FUZZ_CHECK(rtw_tls_resumed(e->tls) == 0);
  if (role == RTW_TLS_ROLE_CLIENT) {
    FUZZ_CHECK(rtw_tls_want_write(e->tls)); /* the hello is still to be built */
    FUZZ_CHECK(strcmp(rtw_tls_server_name(e->tls), "localhost") == 0);
  }
  return 0;
}

/* ------------------------------------------------------------------ modes 0-1: fed */

typedef struct fed_result {
  int err;
  uint32_t state;
  fuzz_log got;
  unsigned long failed; /* allocations refused */
} fed_result;

static void run_fed(const setup *s, const uint8_t *wire, size_t n, int is_a, fed_result *res)
{
  int role = s->mode == 0 ? RTW_TLS_ROLE_SERVER : RTW_TLS_ROLE_CLIENT;
  fuzz_mem fm;
  fuzz_rng rng;
  rtw_tls_config *cfg;
  end e;
  size_t off = 0, took = 7;
  int rc;

  memset(&e, 0, sizeof e);
  fuzz_mem_init(&fm, is_a ? s->h[4] : 0);
  fuzz_rng_seed(&rng, (uint32_t)s->h[1] << 8 | s->h[2]);
  e.rng = &rng;
  e.is_a = is_a;
  e.pause = s->h[2];
  e.timeout_ms = s->timeout_ms;
  cfg = config(s, role, &fm.mem, (s->h[0] & 0x40) != 0);
  if (cfg == NULL || open_end(&e, cfg, role, (s->h[0] & 0x04) != 0) != 0) {
    FUZZ_CHECK(is_a && fm.failed > 0);
    rtw_tls_config_free(cfg);
    res->err = RTW_ERR_NOMEM;
    res->failed = fm.failed;
    fuzz_mem_check_clean(&fm);
    return;
  }
  rtw_tls_config_free(cfg); /* the connection keeps it alive */
  tick(&e, 0);
  if (role == RTW_TLS_ROLE_CLIENT)
    drain(&e, NULL); /* the ClientHello: not needed, the input plays the server */

  while (off < n && e.err == 0) {
    size_t piece = n - off, used;

    if (is_a) {
      switch (s->h[1] & 3u) {
      case 0: piece = 1; break;
      case 1: piece = 1 + fuzz_rng_below(&rng, 8); break;
      case 2: piece = 1 + fuzz_rng_below(&rng, 64); break;
      default: piece = 1 + fuzz_rng_below(&rng, n - off); break;
      }
      if (piece > n - off)
        piece = n - off;
    }
    used = feed(&e, wire + off, piece);
    if (used < piece && e.err == 0)
      break; /* pull mode stopped taking: what is left stays unread */
    off += used;
    drain(&e, NULL);
    if (is_a)
      tick(&e, 0); /* no time passes */
  }
  drain(&e, NULL);

  /* Writing: nothing is taken before the handshake completed (tls.h). */
  rc = saw(&e, rtw_tls_write(e.tls, "ping", 4, &took));
  FUZZ_CHECK(took <= 4);
  if (rc == 0 && !(rtw_tls_state(e.tls) & RTW_TLS_STATE_HANDSHAKE_DONE))
    FUZZ_CHECK(took == 0);
  if (rc != 0)
    FUZZ_CHECK(rc == e.err || rc == RTW_ERR_INVALID_STATE || rc == RTW_ERR_NOMEM);
  drain(&e, NULL);
  res->err = e.err;
  res->state = rtw_tls_state(e.tls) &
               (RTW_TLS_STATE_HANDSHAKE_DONE | RTW_TLS_STATE_PEER_CLOSED | RTW_TLS_STATE_FAILED);
  /* The deadline: fails an incomplete handshake, leaves a complete one alone. */
  tick(&e, e.timeout_ms + 1);
  if (e.err == 0) {
    rc = saw(&e, rtw_tls_close(e.tls));
    FUZZ_CHECK(rc == 0 || rc == RTW_ERR_NOMEM);
    drain(&e, NULL);
    rc = rtw_tls_eof(e.tls);
    if (rc == 0)
      FUZZ_CHECK(rtw_tls_state(e.tls) & RTW_TLS_STATE_PEER_CLOSED);
    else
      FUZZ_CHECK(rc == RTW_ERR_TLS_TRUNCATED || rc == e.err);
    FUZZ_CHECK(rtw_tls_state(e.tls) & RTW_TLS_STATE_EOF);
  }
  res->got = e.got;
  res->failed = fm.failed;
  rtw_tls_free(e.tls);
  fuzz_mem_check_clean(&fm);
}

static void fed(const setup *s, const uint8_t *wire, size_t n)
{
  fed_result a, b;

  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  run_fed(s, wire, n, 0, &b);
  run_fed(s, wire, n, 1, &a);
  if (getenv("FUZZ_TLS_VERBOSE") != NULL)
    fprintf(stderr, "fuzz_tls %s: whole %s state %#x got %zu, split %s state %#x got %zu\n",
            s->mode == 0 ? "server" : "client", rtw_err_name(b.err), (unsigned)b.state, b.got.len,
            rtw_err_name(a.err), (unsigned)a.state, a.got.len);
  /* Every split gives the same outcome (ARCHITECTURE.md, the I/O contract). */
  if (a.failed == 0) {
    if (a.err != b.err || a.state != b.state) {
      fprintf(stderr, "fuzz_tls: split run error %s state %#x, whole run error %s state %#x\n",
              rtw_err_name(a.err), (unsigned)a.state, rtw_err_name(b.err), (unsigned)b.state);
      FUZZ_CHECK(a.err == b.err && a.state == b.state);
    }
    fuzz_log_expect_equal("plaintext received", &b.got, &a.got);
  }
  fuzz_log_free(&a.got);
  fuzz_log_free(&b.got);
}

/* ------------------------------------------------------------------ mode 2: pair */

typedef struct pair {
  end c, s;
  fuzz_log sent_c, sent_s; /* plaintext each side's writes took */
  fuzz_log wire;           /* scratch: bytes in transit */
  int corrupt_armed;
  size_t corrupt_at;
  int disturbed; /* a corruption landed, an eof, a timeout or a refused allocation */
  int closed_c, closed_s;
} pair;

static uint8_t pattern(size_t i)
{
  return (uint8_t)(i * 131u + (i >> 8));
}

static void do_write(end *e, fuzz_log *sent, size_t len, unsigned pieces)
{
  uint8_t buf[4096];
  rtw_iovec iov[4];
  size_t i, took = 9, base = sent->len;
  int rc;

  if (sent->len + len > MAX_PLAIN)
    return;
  for (i = 0; i < len; i++)
    buf[i] = pattern(base + i);
  if (pieces <= 1) {
    rc = saw(e, rtw_tls_write(e->tls, buf, len, &took));
  } else {
    size_t at = 0;

    for (i = 0; i < pieces; i++) {
      size_t part = i + 1 == pieces ? len - at : len / pieces;

      iov[i].base = buf + at;
      iov[i].len = part;
      at += part;
    }
    rc = saw(e, rtw_tls_writev(e->tls, iov, pieces, &took));
  }
  FUZZ_CHECK(took <= len);
  if (rc != 0) {
    FUZZ_CHECK(rc == e->err || rc == RTW_ERR_INVALID_STATE || rc == RTW_ERR_NOMEM);
    FUZZ_CHECK(rc != RTW_ERR_INVALID_STATE ||
               (rtw_tls_state(e->tls) &
                (RTW_TLS_STATE_CLOSE_SENT | RTW_TLS_STATE_PEER_CLOSED)));
  } else if (!(rtw_tls_state(e->tls) & RTW_TLS_STATE_HANDSHAKE_DONE)) {
    FUZZ_CHECK(took == 0);
  }
  fuzz_log_raw(sent, buf, took);
}

/* Move up to max bytes of from's output to `to`. Returns the bytes moved. */
static size_t transfer(pair *p, end *from, end *to, size_t max)
{
  size_t moved, at = 0;

  fuzz_log_clear(&p->wire);
  drain(from, &p->wire);
  moved = p->wire.len;
  if (moved == 0 || to->eof || to->err != 0)
    return moved; /* the bytes are lost with the transport */
  if (p->corrupt_armed) {
    p->corrupt_armed = 0;
    p->wire.p[p->corrupt_at % moved] ^= 0x41;
    p->disturbed = 1;
  }
  (void)max; /* the whole flight goes: a record cut off would stall both sides */
  while (at < moved && to->err == 0) {
    size_t piece = 1 + fuzz_rng_below(to->rng, moved - at);
    size_t used = feed(to, (const uint8_t *)p->wire.p + at, piece);

    at += used;
    if (used < piece)
      break;
  }
  return moved;
}

static void pair_run(const setup *s, const uint8_t *ops, size_t n)
{
  static uint8_t session[4096];
  size_t session_len = 0;
  fuzz_mem fm;
  fuzz_rng rng;
  rtw_tls_config *ccfg, *scfg;
  pair p;
  fuzz_in in;
  uint64_t now = 0;
  int round, rc;

  memset(&p, 0, sizeof p);
  fuzz_mem_init(&fm, s->h[4]);
  fuzz_rng_seed(&rng, (uint32_t)s->h[1] << 8 | s->h[2]);
  ccfg = config(s, RTW_TLS_ROLE_CLIENT, &fm.mem, 0);
  scfg = config(s, RTW_TLS_ROLE_SERVER, &fm.mem, 0);
  if (ccfg == NULL || scfg == NULL) {
    rtw_tls_config_free(ccfg);
    rtw_tls_config_free(scfg);
    fuzz_mem_check_clean(&fm);
    return;
  }

  /* bit 7: a first connection to save a session from, which the real one offers. */
  if (s->h[0] & 0x80 && fm.fail_at == 0) {
    pair q;

    memset(&q, 0, sizeof q);
    q.c.rng = q.s.rng = &rng;
    q.c.timeout_ms = q.s.timeout_ms = s->timeout_ms;
    if (open_end(&q.c, ccfg, RTW_TLS_ROLE_CLIENT, 0) == 0 &&
        open_end(&q.s, scfg, RTW_TLS_ROLE_SERVER, 0) == 0) {
      for (round = 0; round < 8; round++) {
        transfer(&q, &q.c, &q.s, SIZE_MAX);
        transfer(&q, &q.s, &q.c, SIZE_MAX);
      }
      if (q.c.done_seen &&
          rtw_tls_session_save(q.c.tls, session, sizeof session, &session_len) != 0)
        session_len = 0;
    }
    rtw_tls_free(q.c.tls);
    rtw_tls_free(q.s.tls);
    fuzz_log_free(&q.c.got);
    fuzz_log_free(&q.s.got);
    fuzz_log_free(&q.wire);
  }

  p.c.rng = p.s.rng = &rng;
  p.c.is_a = p.s.is_a = 1;
  p.c.pause = p.s.pause = s->h[2];
  p.c.timeout_ms = p.s.timeout_ms = s->timeout_ms;
  if (open_end(&p.c, ccfg, RTW_TLS_ROLE_CLIENT, 0) != 0 ||
      open_end(&p.s, scfg, RTW_TLS_ROLE_SERVER, (s->h[0] & 0x04) != 0) != 0) {
    p.disturbed = 1;
    goto out;
  }
  if (session_len > 0) {
    rc = rtw_tls_set_session(p.c.tls, session, session_len);
    FUZZ_CHECK(rc == 0 || rc == RTW_ERR_NOMEM);
  }
  tick(&p.c, 0);
  tick(&p.s, 0);

  in.p = ops;
  in.n = n;
  while (in.n > 0) {
    uint8_t op = fuzz_u8(&in);
    unsigned arg = op >> 3;

    switch (op & 7u) {
    case 0:
    case 1: {
      size_t len = 1 + (((size_t)arg << 8 | fuzz_u8(&in)) & 4095u);
      end *e = (op & 7u) == 0 ? &p.c : &p.s;

      do_write(e, e == &p.c ? &p.sent_c : &p.sent_s, len, (arg & 1u) ? 1 + (arg >> 1) % 4 : 1);
      break;
    }
    case 2:
      transfer(&p, &p.c, &p.s, 64u * (arg + 1));
      break;
    case 3:
      transfer(&p, &p.s, &p.c, 64u * (arg + 1));
      break;
    case 4:
      p.corrupt_armed = 1;
      p.corrupt_at = fuzz_u8(&in);
      break;
    case 5: {
      end *e = (arg & 1u) ? &p.s : &p.c;

      rc = saw(e, rtw_tls_close(e->tls));
      FUZZ_CHECK(rc == 0 || rc == e->err || rc == RTW_ERR_NOMEM);
      if (rtw_tls_state(e->tls) & RTW_TLS_STATE_CLOSE_SENT) {
        size_t took = 3;

        FUZZ_CHECK(rtw_tls_write(e->tls, "x", 1, &took) != 0 && took == 0);
      }
      break;
    }
    case 6:
      now += 100u * arg;
      tick(&p.c, now);
      tick(&p.s, now);
      if (p.c.err == RTW_ERR_TLS_HANDSHAKE_TIMEOUT || p.s.err == RTW_ERR_TLS_HANDSHAKE_TIMEOUT)
        p.disturbed = 1;
      break;
    default: {
      end *e = (arg & 1u) ? &p.s : &p.c;

      if (!e->eof) {
        uint32_t st = rtw_tls_state(e->tls);

        rc = rtw_tls_eof(e->tls);
        e->eof = 1;
        p.disturbed = 1;
        if (rc == 0)
          FUZZ_CHECK(st & RTW_TLS_STATE_PEER_CLOSED);
        else
          FUZZ_CHECK(rc == RTW_ERR_TLS_TRUNCATED || rc == e->err);
        FUZZ_CHECK(!rtw_tls_want_read(e->tls));
      }
      break;
    }
    }
  }

  /* Settle: move everything until nothing moves. */
  for (round = 0; round < 64; round++) {
    size_t m = transfer(&p, &p.c, &p.s, SIZE_MAX) + transfer(&p, &p.s, &p.c, SIZE_MAX);

    if (p.s.pull)
      m += pull(&p.s);
    if (m == 0 && rtw_tls_outbound_size(p.c.tls) == 0 && rtw_tls_outbound_size(p.s.tls) == 0)
      break;
  }

  /* What each side received is what the other's writes took: a prefix, or all of it. */
  FUZZ_CHECK(p.s.got.len <= p.sent_c.len);
  FUZZ_CHECK(p.c.got.len <= p.sent_s.len);
  FUZZ_CHECK(p.s.got.len == 0 || memcmp(p.s.got.p, p.sent_c.p, p.s.got.len) == 0);
  FUZZ_CHECK(p.c.got.len == 0 || memcmp(p.c.got.p, p.sent_s.p, p.c.got.len) == 0);
  if (s->alpn) {
    /* The client offers only "x-fuzz": no application data can flow (RFC 7301 3.2). */
    FUZZ_CHECK(p.s.got.len == 0 && p.c.got.len == 0);
    if (!p.disturbed && fm.failed == 0 && p.s.err != RTW_ERR_TLS_ALPN) {
      fprintf(stderr, "fuzz_tls: ALPN mismatch: server %s, client %s\n",
              rtw_err_name(p.s.err), rtw_err_name(p.c.err));
      FUZZ_CHECK(p.s.err == RTW_ERR_TLS_ALPN);
    }
  } else if (!p.disturbed && fm.failed == 0) {
    FUZZ_CHECK(p.c.err == 0 && p.s.err == 0);
    FUZZ_CHECK(p.s.got.len == p.sent_c.len);
    FUZZ_CHECK(p.c.got.len == p.sent_s.len);
    FUZZ_CHECK(p.c.done_seen && p.s.done_seen);
    if (session_len > 0 && !(s->flags_server & RTW_TLS_NO_TICKETS))
      FUZZ_CHECK(rtw_tls_resumed(p.c.tls) == rtw_tls_resumed(p.s.tls));
    {
      const char *proto = NULL;
      size_t plen = 0;

      FUZZ_CHECK(rtw_tls_alpn(p.c.tls, &proto, &plen) == 0);
      FUZZ_CHECK(plen == 8 && memcmp(proto, "http/1.1", 8) == 0);
      FUZZ_CHECK(rtw_tls_cert_index(p.s.tls) == 0);
    }
  }
out:
  if (getenv("FUZZ_TLS_VERBOSE") != NULL)
    fprintf(stderr, "fuzz_tls pair: client %s done %d resumed %d got %zu/%zu, server %s done %d "
                    "got %zu/%zu, disturbed %d, allocations %lu refused %lu\n",
            rtw_err_name(p.c.err), p.c.done_seen, rtw_tls_resumed(p.c.tls), p.c.got.len,
            p.sent_s.len, rtw_err_name(p.s.err), p.s.done_seen, p.s.got.len, p.sent_c.len,
            p.disturbed, fm.count, fm.failed);
  rtw_tls_free(p.c.tls);
  rtw_tls_free(p.s.tls);
  rtw_tls_config_free(ccfg);
  rtw_tls_config_free(scfg);
  fuzz_log_free(&p.c.got);
  fuzz_log_free(&p.s.got);
  fuzz_log_free(&p.sent_c);
  fuzz_log_free(&p.sent_s);
  fuzz_log_free(&p.wire);
  fuzz_mem_check_clean(&fm);
}

/* ------------------------------------------------------------------ entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int ready;
  setup s;
  size_t i;

  if (!ready) {
    make_cert();
    ready = 1;
  }
  memset(&s, 0, sizeof s);
  for (i = 0; i < HEADER_LEN; i++)
    s.h[i] = i < size ? data[i] : 0;
  s.mode = s.h[0] & 3;
  s.verify = (s.h[0] & 0x08) != 0;
  s.alpn = (s.h[0] & 0x40) != 0;
  s.flags_server = (s.h[0] & 0x10) ? RTW_TLS_NO_TICKETS : 0u;
  s.max_out = (s.h[0] & 0x20) ? 1u + 1024u * s.h[3] : 0u;
  s.timeout_ms = 100u * (1u + (s.h[5] & 15u));
  s.flags_client = (s.h[5] & 0x20) ? RTW_TLS_BACKEND_RECORDS : 0u;
  rtw__gcm_test_mode((s.h[5] & 0x10) ? 1 : 0);
  data += size < HEADER_LEN ? size : HEADER_LEN;
  size -= size < HEADER_LEN ? size : HEADER_LEN;
  if (s.mode < 2) {
    s.alpn = 0; /* bit 6 means "ALPN off" for the fed side, see config() */
    fed(&s, data, size);
  } else {
    pair_run(&s, data, size);
  }
  return 0;
}
