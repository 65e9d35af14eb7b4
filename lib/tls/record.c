/* SPDX-License-Identifier: MIT */
/* rtweb-tls's own TLS 1.2 record layer for the AES-GCM suites (record.h). mbedTLS does the
 * handshake; once it is over, backend.c hands the records here (docs/tls.md, "The record
 * path"), so that the bulk encryption runs on gcm.h's kernels instead of mbedTLS 2.28's
 * one-block-at-a-time GCM.
 *
 * A record (RFC 5246 6.2; GenericAEADCipher, 6.2.3.3; RFC 5288 3):
 *
 *   +------+---------+--------+----------------+----------------------+-----+
 *   | type | 3, 3    | length | explicit nonce | ciphertext           | tag |
 *   |  1   |  2      | 2 (BE) |       8        | length - 24          | 16  |
 *   +------+---------+--------+----------------+----------------------+-----+
 *
 *   nonce = salt (the 4-byte write IV of the key block, RFC 5246 6.3) || explicit nonce;
 *           ours is the record's sequence number, which never repeats under one key
 *   AAD   = seq_num (8, BE) || type || version || plaintext length (2, BE)
 *
 * Receiving: the header is checked first (a known type, version 3.3, a length within
 * 2^14 + 2048 and then within 2^14 bytes of plaintext: 6.2.3, 7.2.2 record_overflow), the
 * whole record is gathered in the backend's input buffer, authenticated and only then
 * decrypted or looked at (rtw__gcm_open() yields no plaintext on a bad tag). An application
 * data record that lies whole in the input and fits the caller's buffer is opened from the
 * input straight into it, and records are sealed in place in the output queue, where the
 * backend offers that access (rtw__tlsb_direct). Then by type:
 *
 *   application_data  to the caller; more than the caller's cap stays decrypted in the
 *                     buffer and is handed over by the next reads
 *   alert             close_notify ends the input; a fatal alert fails; warnings are
 *                     ignored (as mbedTLS 2.28 does)
 *   handshake         after the handshake only a renegotiation request can come (7.4.1.1):
 *                     HelloRequest to a client, ClientHello to a server; refused with a
 *                     no_renegotiation warning (7.2.2), like mbedTLS, message by message,
 *                     each reply counted against the read's room (record.h)
 *   change_cipher_spec  unexpected_message
 *
 * Failures mirror mbedTLS 2.28's record layer (which the backend reports with the same raw
 * codes): a bad tag, a record too short to hold nonce and tag, and a fourth empty record in
 * a row fail as a bad MAC and send bad_record_mac; an oversized header sends
 * record_overflow. Sequence numbers never wrap (6.1): the record that would need it is
 * refused. */
#include <mbedtls/platform_util.h>

#include <string.h>

#include "rtweb/common.h"
#include "record.h"

#define ALERT_WARNING 1
#define ALERT_FATAL 2
#define ALERT_CLOSE_NOTIFY 0
#define ALERT_BAD_RECORD_MAC 20
#define ALERT_RECORD_OVERFLOW 22
#define ALERT_NO_RENEGOTIATION 100

#define HS_HELLO_REQUEST 0
#define HS_CLIENT_HELLO 1

#define MAX_PLAIN 16384u                /* 2^14 (RFC 5246 6.2.1) */
#define MAX_CIPHER (MAX_PLAIN + 2048u)  /* 2^14 + 2048 (RFC 5246 6.2.3) */
#define OVERHEAD (RTW__REC_EXPLICIT + RTW__GCM_TAG)
#define MAX_EMPTY 3                     /* empty records in a row accepted (as mbedTLS) */

static void put64(unsigned char *p, uint64_t v)
{
  int i;
  for (i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (56 - 8 * i));
}

/* RFC 5246 6.2.3.3: additional_data = seq_num + TLSCompressed.type + version + length. */
static void make_aad(unsigned char a[13], uint64_t seq, int type, size_t len)
{
  put64(a, seq);
  a[8] = (unsigned char)type;
  a[9] = 3;
  a[10] = 3;
  a[11] = (unsigned char)(len >> 8);
  a[12] = (unsigned char)(len & 0xff);
}

int rtw__rec_init(rtw__rec *r, int client, const unsigned char *key_block, size_t key_len,
                  uint64_t in_seq, uint64_t out_seq, unsigned char *ibuf, unsigned char *obuf,
                  void *io, rtw__tlsb_recv_fn recv, rtw__tlsb_send_fn send)
{
  /* RFC 5246 6.3: client_write_key, server_write_key, client_write_IV, server_write_IV
   * (the suites have no MAC keys). */
  const unsigned char *ck = key_block, *sk = key_block + key_len;
  const unsigned char *civ = key_block + 2 * key_len, *siv = civ + 4;
  int rv;
  memset(r, 0, sizeof *r);
  rv = rtw__gcm_init(&r->seal, client ? ck : sk, key_len);
  if (rv != 0)
    return rv;
  rv = rtw__gcm_init(&r->open, client ? sk : ck, key_len);
  if (rv != 0) {
    rtw__gcm_wipe(&r->seal);
    return rv;
  }
  memcpy(r->seal_salt, client ? civ : siv, 4);
  memcpy(r->open_salt, client ? siv : civ, 4);
  r->client = client;
  r->in_seq = in_seq;
  r->out_seq = out_seq;
  r->ibuf = ibuf;
  r->obuf = obuf;
  r->alert_in = -1;
  r->room = SIZE_MAX;
  r->io = io;
  r->recv = recv;
  r->send = send;
  return 0;
}

void rtw__rec_wipe(rtw__rec *r)
{
  rtw__gcm_wipe(&r->seal);
  rtw__gcm_wipe(&r->open);
  mbedtls_platform_zeroize(r->seal_salt, sizeof r->seal_salt);
  mbedtls_platform_zeroize(r->open_salt, sizeof r->open_salt);
  if (r->ibuf != NULL && r->have > 0)
    mbedtls_platform_zeroize(r->ibuf, r->have);
  r->have = r->plain_len = 0;
}

/* ---------------------------------------------------------------- sending */

int rtw__rec_write(rtw__rec *r, int type, const unsigned char *data, size_t len)
{
  unsigned char aad[13], iv[RTW__GCM_IV], *o = r->obuf;
  size_t total = RTW__REC_HEADER + OVERHEAD + len;
  int rv;
  if (len > MAX_PLAIN)
    return RTW__REC_E_RECORD; /* the callers cut records at rtw__tlsb_max_record() */
  if (r->out_seq == UINT64_MAX)
    return RTW__REC_E_WRAP; /* RFC 5246 6.1: sequence numbers never wrap */
  if (r->direct.reserve != NULL) {
    /* sealed where it is sent from: no copy */
    o = r->direct.reserve(r->io, total);
    if (o == NULL) {
      r->send_err = RTW_ERR_NOMEM;
      return RTW__REC_E_SEND;
    }
  }
  o[0] = (unsigned char)type;
  o[1] = 3;
  o[2] = 3;
  o[3] = (unsigned char)((total - RTW__REC_HEADER) >> 8);
  o[4] = (unsigned char)((total - RTW__REC_HEADER) & 0xff);
  put64(o + RTW__REC_HEADER, r->out_seq); /* the explicit nonce: the sequence number */
  memcpy(iv, r->seal_salt, 4);
  memcpy(iv + 4, o + RTW__REC_HEADER, RTW__REC_EXPLICIT);
  make_aad(aad, r->out_seq, type, len);
  rtw__gcm_seal(&r->seal, iv, aad, sizeof aad, data, len, o + RTW__REC_HEADER + RTW__REC_EXPLICIT,
                o + total - RTW__GCM_TAG);
  r->out_seq++;
  if (r->direct.reserve != NULL) {
    r->direct.commit(r->io, total);
    return 0;
  }
  rv = r->send(r->io, o, total);
  if (rv != 0) {
    r->send_err = rv;
    return RTW__REC_E_SEND;
  }
  return 0;
}

static int send_alert(rtw__rec *r, int level, int description)
{
  unsigned char m[2];
  m[0] = (unsigned char)level;
  m[1] = (unsigned char)description;
  return rtw__rec_write(r, RTW__REC_ALERT, m, 2);
}

/* A failure, with the fatal alert that goes with it (RFC 5246 7.2.2), where mbedTLS sends
 * one. A failure to send the alert leaves send_err set, which the backend reports first. */
static int fail(rtw__rec *r, int code)
{
  if (code == RTW__REC_E_MAC)
    (void)send_alert(r, ALERT_FATAL, ALERT_BAD_RECORD_MAC);
  else if (code == RTW__REC_E_OVERFLOW || code == RTW__REC_E_LONG)
    (void)send_alert(r, ALERT_FATAL, ALERT_RECORD_OVERFLOW);
  return code;
}

/* ---------------------------------------------------------------- receiving */

/* Gather the input record in ibuf up to want bytes: 1 once there, 0 when the input ran out. */
static int fill(rtw__rec *r, size_t want)
{
  while (r->have < want) {
    size_t n = r->recv(r->io, r->ibuf + r->have, want - r->have);
    if (n == 0)
      return 0;
    r->have += n;
  }
  return 1;
}

/* RFC 5246 6.2.1, 6.2.3: the header, before the body is waited for. */
static int check_header(rtw__rec *r, const unsigned char *h, size_t *len)
{
  *len = (size_t)h[3] << 8 | h[4];
  if (h[0] < RTW__REC_CCS || h[0] > RTW__REC_APPDATA)
    return fail(r, RTW__REC_E_RECORD);
  if (h[1] != 3 || h[2] != 3)
    return fail(r, RTW__REC_E_RECORD); /* the version negotiated: TLS 1.2 */
  if (*len > MAX_CIPHER)
    return fail(r, RTW__REC_E_OVERFLOW);
  if (*len > MAX_PLAIN + OVERHEAD)
    return fail(r, RTW__REC_E_LONG); /* would decrypt to more than 2^14 bytes (7.2.2) */
  return 0;
}

/* RFC 5246 7.2: two bytes, level and description. */
static int on_alert(rtw__rec *r, const unsigned char *m, size_t len)
{
  if (len != 2)
    return fail(r, RTW__REC_E_RECORD);
  if (m[0] == ALERT_FATAL) {
    r->alert_in = m[1];
    return RTW__REC_E_ALERT;
  }
  if (m[0] == ALERT_WARNING && m[1] == ALERT_CLOSE_NOTIFY)
    return RTW__TLSB_CLOSED; /* 7.2.1 */
  return 0;
}

/* The size of a reply of ours: a two-byte alert in a record. */
#define REPLY (RTW__REC_HEADER + OVERHEAD + 2u)

/* After the handshake, handshake messages can only ask for a renegotiation (RFC 5246
 * 7.4.1.1): each is answered with a no_renegotiation warning (7.2.2), as mbedTLS does with
 * renegotiation off; anything else, or a message split over records, fails. The replies
 * count against the read's room, message by message (a record can hold thousands): the one
 * that goes past it is the last; the message after it is still checked (a bad one fails
 * as it would have) but not answered, and the read ends there (RTW__REC_E_BUDGET), as
 * backend.c makes mbedTLS's path do. */
static int on_handshake(rtw__rec *r, const unsigned char *m, size_t len)
{
  while (len > 0) {
    size_t hl;
    int rv;
    if (len < 4)
      return fail(r, RTW__REC_E_RECORD);
    hl = 4 + ((size_t)m[1] << 16 | (size_t)m[2] << 8 | (size_t)m[3]);
    if (hl > len)
      return fail(r, RTW__REC_E_FRAGMENT);
    if (r->client ? (m[0] != HS_HELLO_REQUEST || hl != 4) : m[0] != HS_CLIENT_HELLO)
      return fail(r, RTW__REC_E_UNEXPECTED);
    if (r->over)
      return RTW__REC_E_BUDGET;
    rv = send_alert(r, ALERT_WARNING, ALERT_NO_RENEGOTIATION);
    if (rv != 0)
      return rv;
    if (REPLY > r->room)
      r->over = 1;
    else
      r->room -= REPLY;
    m += hl;
    len -= hl;
  }
  return r->over ? RTW__REC_E_BUDGET : 0;
}

/* Authenticate and decrypt the record at rec (len bytes after the header) into dst. */
static int open_record(rtw__rec *r, const unsigned char *rec, size_t len, unsigned char *dst)
{
  unsigned char aad[13], iv[RTW__GCM_IV];
  const unsigned char *body = rec + RTW__REC_HEADER;
  size_t plen = len - OVERHEAD;
  memcpy(iv, r->open_salt, 4);
  memcpy(iv + 4, body, RTW__REC_EXPLICIT);
  make_aad(aad, r->in_seq, rec[0], plen);
  if (rtw__gcm_open(&r->open, iv, aad, sizeof aad, body + RTW__REC_EXPLICIT, plen, dst,
                    body + RTW__REC_EXPLICIT + plen) != 0)
    return fail(r, RTW__REC_E_MAC);
  if (r->in_seq == UINT64_MAX) {
    mbedtls_platform_zeroize(dst, plen); /* authentic, but the counter would wrap (6.1) */
    return fail(r, RTW__REC_E_WRAP);
  }
  r->in_seq++;
  return 0;
}

/* A whole record is in ibuf: 0 with *n bytes of application data in buf (or kept for the
 * next reads), 0 with *n 0 for a record with nothing to deliver, or a result to return. */
static int process(rtw__rec *r, size_t len, unsigned char *buf, size_t cap, size_t *n)
{
  int type = r->ibuf[0], rv;
  size_t plen;
  unsigned char *m = r->ibuf + RTW__REC_HEADER + RTW__REC_EXPLICIT;
  if (len < OVERHEAD)
    return fail(r, RTW__REC_E_MAC); /* no room for nonce and tag: mbedTLS calls it a bad MAC */
  plen = len - OVERHEAD;
  /* Application data that fits is decrypted straight into the caller's buffer. */
  if (type == RTW__REC_APPDATA && plen > 0 && plen <= cap)
    m = buf;
  rv = open_record(r, r->ibuf, len, m);
  if (rv != 0)
    return rv;
  r->have = 0;
  if (plen == 0) {
    /* 6.2.1: only application data may be empty; a run of them only burns CPU */
    if (type != RTW__REC_APPDATA)
      return fail(r, RTW__REC_E_RECORD);
    return ++r->empty_run > MAX_EMPTY ? fail(r, RTW__REC_E_MAC) : 0;
  }
  r->empty_run = 0;
  switch (type) {
  case RTW__REC_APPDATA:
    if (m == buf) {
      *n = plen;
    } else {
      r->have = RTW__REC_HEADER + len; /* the buffer stays in use until all is read */
      r->plain_off = RTW__REC_HEADER + RTW__REC_EXPLICIT;
      r->plain_len = plen;
    }
    return 0;
  case RTW__REC_ALERT:
    return on_alert(r, m, plen);
  case RTW__REC_HANDSHAKE:
    return on_handshake(r, m, plen);
  default: /* change_cipher_spec: only ever part of a handshake (7.1) */
    if (plen != 1 || m[0] != 1)
      return fail(r, RTW__REC_E_RECORD);
    return fail(r, RTW__REC_E_UNEXPECTED);
  }
}

/* The common case without a copy: a whole application data record lies in the input and
 * its plaintext fits buf; it is opened from there into buf. 1 when that is not the case
 * (the copying path takes the record, and every other kind), else 0 or a failure. */
static int read_direct(rtw__rec *r, unsigned char *buf, size_t cap, size_t *n)
{
  size_t avail = 0, len, plen;
  const unsigned char *p = r->direct.peek(r->io, &avail);
  int rv;
  if (p == NULL || avail < RTW__REC_HEADER)
    return 1;
  len = (size_t)p[3] << 8 | p[4];
  if (p[0] != RTW__REC_APPDATA || p[1] != 3 || p[2] != 3 || len <= OVERHEAD ||
      len > MAX_PLAIN + OVERHEAD || avail - RTW__REC_HEADER < len || len - OVERHEAD > cap)
    return 1;
  plen = len - OVERHEAD;
  rv = open_record(r, p, len, buf);
  r->direct.skip(r->io, RTW__REC_HEADER + len);
  if (rv != 0)
    return rv;
  r->empty_run = 0;
  *n = plen;
  return 0;
}

int rtw__rec_read(rtw__rec *r, unsigned char *buf, size_t cap, size_t *n)
{
  *n = 0;
  if (cap == 0)
    return RTW__TLSB_AGAIN;
  for (;;) {
    size_t len;
    int rv;
    if (r->plain_len > 0) {
      size_t k = r->plain_len < cap ? r->plain_len : cap;
      memcpy(buf, r->ibuf + r->plain_off, k);
      r->plain_off += k;
      r->plain_len -= k;
      if (r->plain_len == 0)
        r->have = 0;
      *n = k;
      return 0;
    }
    if (r->have == 0 && r->direct.peek != NULL) {
      rv = read_direct(r, buf, cap, n);
      if (rv != 1)
        return rv;
    }
    if (!fill(r, RTW__REC_HEADER))
      return RTW__TLSB_AGAIN;
    rv = check_header(r, r->ibuf, &len);
    if (rv != 0)
      return rv;
    if (!fill(r, RTW__REC_HEADER + len))
      return RTW__TLSB_AGAIN;
    rv = process(r, len, buf, cap, n);
    if (rv != 0 || *n > 0)
      return rv;
  }
}
