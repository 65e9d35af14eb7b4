/* SPDX-License-Identifier: MIT */
/* The Autobahn|Testsuite "fuzzingclient" sections 1-7, 9 and 10 re-expressed as cmocka cases
 * against the sans-I/O session in the server role (the peer is a client, so its frames are
 * masked). Each input is fed whole, byte by byte and split in two at every offset (inputs over
 * WST_SPLIT_MAX bytes: in a few chunk sizes), in streamed and in whole-message mode, and the
 * event logs must match. "OK" here means Autobahn's strict OK, not NON-STRICT: invalid UTF-8
 * fails at the first bad byte even in the middle of a fragmented message, and close codes
 * and reasons are checked.
 *
 * Decisions the header leaves open, made once here: an empty close frame from the peer is
 * answered with an empty close frame (RFC 6455 5.5.1: "typically echos the status code it
 * received" -- there is none; rtw_ws_close() takes 0 for "no payload"), and rtw_ws_close_sent()
 * then reports RTW_WS_CLOSE_NO_STATUS, as rtw_ws_close_received() does for an empty close.
 * A received close code is echoed without the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wst.h"

#define M 1 /* RFC 6455 5.3: every frame from a client is masked */

/* "kosme" in Greek as in Kuhn's test file and Autobahn (with U+1F79, not U+03CC). */
#define KOSME "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"

#define TEXT RTW_WS_OP_TEXT
#define BIN RTW_WS_OP_BINARY
#define CONT RTW_WS_OP_CONTINUATION
#define PING RTW_WS_OP_PING
#define PONG RTW_WS_OP_PONG
#define CLOSE RTW_WS_OP_CLOSE

/* the session is still open after the input */
#define OPEN "end(read=1,sent=0,recvd=0)\n"
/* the session failed with err and queued close(code) */
#define FAILED(err, code) "error(" #err ")\nout:close(" #code ")\nend(read=0,sent=" #code ",recvd=0)\n"
#define PROTO(err) FAILED(err, 1002)

static const wst_opts server = {RTW_WS_ROLE_SERVER};

static void check(const wst_buf *in, const char *expected)
{
  wst_check(&server, in->p, in->len, expected);
}

static void fr(wst_buf *b, int fin, unsigned op, const char *s)
{
  wst_frame_str(b, M, fin, op, s);
}

static void rsv_frame(wst_buf *b, unsigned rsv, int fin, unsigned op, const void *p, size_t n)
{
  wst_hdr h;

  memset(&h, 0, sizeof h);
  h.fin = fin;
  h.rsv = rsv;
  h.opcode = op;
  h.masked = M;
  wst_key(b->keyseq++, h.key);
  wst_put_frame(b, &h, p, n);
}

/* ================================================================== 1 framing */

/* RFC 6455 5.2: payload lengths 0-125 in 7 bits, 126-65535 as 126 + 16 bits, larger as
 * 127 + 64 bits; 5.6: text and binary data frames. Autobahn 1.1.x (text), 1.2.x (binary). */
static void one_length(unsigned op, size_t n)
{
  uint8_t *p = wst_pattern(n, op == TEXT, (uint32_t)n);
  wst_buf in;
  rtwt_log exp;

  wst_buf_init(&in);
  rtwt_log_init(&exp);
  wst_frame(&in, M, 1, op, p, n);
  wst_log_msg(&exp, (int)op, p, n);
  rtwt_log_printf(&exp, OPEN);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
  free(p);
}

/* Autobahn 1.1.1-1.1.5, 1.2.1-1.2.5: 0, 125, 126, 127, 128 bytes. RFC 6455 5.2. */
static void s1_small_lengths(void **state)
{
  static const size_t lens[] = {0, 1, 125, 126, 127, 128};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    one_length(TEXT, lens[i]);
    one_length(BIN, lens[i]);
  }
}

/* Autobahn 1.1.6-1.1.8, 1.2.6-1.2.8: 65535 (largest 16-bit form) and 65536 (smallest 64-bit
 * form). RFC 6455 5.2. */
static void s1_64k_lengths(void **state)
{
  (void)state;
  one_length(TEXT, 65535);
  one_length(TEXT, 65536);
  one_length(BIN, 65535);
  one_length(BIN, 65536);
}

/* A 1 MiB-ish frame, text and binary. RFC 6455 5.2 (64-bit length). */
static void s1_1mib(void **state)
{
  (void)state;
  one_length(TEXT, 1024 * 1024 + 3);
  one_length(BIN, 1024 * 1024 + 3);
}

/* Every boundary length back to back in one stream, so headers of all three forms follow
 * each other at every split. RFC 6455 5.2. */
static void s1_mixed_stream(void **state)
{
  static const size_t lens[] = {0, 125, 126, 127, 128, 3, 0, 300};
  wst_buf in;
  rtwt_log exp;
  size_t i;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    unsigned op = i % 2 ? BIN : TEXT;
    uint8_t *p = wst_pattern(lens[i], op == TEXT, (uint32_t)i);
    wst_frame(&in, M, 1, op, p, lens[i]);
    wst_log_msg(&exp, (int)op, p, lens[i]);
    free(p);
  }
  rtwt_log_printf(&exp, OPEN);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* ================================================================== 2 ping/pong */

/* Autobahn 2.1: ping without payload; RFC 6455 5.5.3: the pong carries the ping's
 * "Application data". */
static void s2_1_ping_empty(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, PING, "");
  check(&in, "ping(\"\")\nout:pong(\"\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 2.2 (text payload) and 2.3 (binary payload). RFC 6455 5.5.2, 5.5.3. */
static void s2_2_ping_payload(void **state)
{
  static const uint8_t bin[] = {0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff};
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, PING, "Hello, world!");
  check(&in, "ping(\"Hello, world!\")\nout:pong(\"Hello, world!\")\n" OPEN);
  wst_buf_clear(&in);
  wst_frame(&in, M, 1, PING, bin, sizeof bin);
  check(&in, "ping(\"\\x00\\xFF\\xFE\\xFD\\xFC\\xFB\\x00\\xFF\")\n"
             "out:pong(\"\\x00\\xFF\\xFE\\xFD\\xFC\\xFB\\x00\\xFF\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 2.4 and 2.6: a 125-byte ping (the largest control payload, RFC 6455 5.5) is
 * answered with the same 125 bytes. */
static void s2_4_ping_125(void **state)
{
  uint8_t p[125];
  wst_buf in;
  rtwt_log exp;

  (void)state;
  memset(p, 0xfe, sizeof p);
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  wst_frame(&in, M, 1, PING, p, sizeof p);
  rtwt_log_printf(&exp, "ping(");
  wst_log_data(&exp, p, sizeof p);
  rtwt_log_printf(&exp, ")\nout:pong(");
  wst_log_data(&exp, p, sizeof p);
  rtwt_log_printf(&exp, ")\n" OPEN);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Autobahn 2.5: a 126-byte ping. RFC 6455 5.5: "All control frames MUST have a payload length
 * of 125 bytes or less" -> fail with 1002. Also with the 64-bit length form. */
static void s2_5_ping_126(void **state)
{
  uint8_t p[126];
  wst_buf in;
  wst_hdr h;

  (void)state;
  memset(p, 0xfe, sizeof p);
  wst_buf_init(&in);
  wst_frame(&in, M, 1, PING, p, sizeof p);
  check(&in, PROTO(RTW_ERR_WS_CONTROL_TOO_LONG));
  /* after a valid text message, nothing after the bad ping is delivered */
  wst_buf_clear(&in);
  fr(&in, 1, TEXT, "first");
  wst_frame(&in, M, 1, PING, p, sizeof p);
  fr(&in, 1, TEXT, "never");
  check(&in, "msg(text,\"first\")\n" PROTO(RTW_ERR_WS_CONTROL_TOO_LONG));
  /* a pong and a close over 125 bytes too */
  wst_buf_clear(&in);
  wst_frame(&in, M, 1, PONG, p, sizeof p);
  check(&in, PROTO(RTW_ERR_WS_CONTROL_TOO_LONG));
  wst_buf_clear(&in);
  memset(&h, 0, sizeof h);
  h.fin = 1;
  h.opcode = PING;
  h.masked = 1;
  h.len_form = WST_LEN_64;
  wst_key(7, h.key);
  wst_put_header(&in, &h, 1u << 20); /* fails at the header, no payload needed */
  check(&in, PROTO(RTW_ERR_WS_CONTROL_TOO_LONG));
  wst_buf_free(&in);
}

/* A ping without FIN. RFC 6455 5.5: "Control frames themselves MUST NOT be fragmented". */
static void s2_ping_fragmented(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, PING, "ping");
  fr(&in, 1, CONT, "payload");
  check(&in, PROTO(RTW_ERR_WS_CONTROL_FRAGMENTED));
  wst_buf_free(&in);
}

/* Autobahn 2.7, 2.8: unsolicited pongs are ignored (reported, never answered). RFC 6455
 * 5.5.3: "A Pong frame MAY be sent unsolicited ... A response to an unsolicited Pong frame is
 * not expected." */
static void s2_7_unsolicited_pong(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, PONG, "");
  fr(&in, 1, PONG, "unsolicited pong payload");
  check(&in, "pong(\"\")\npong(\"unsolicited pong payload\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 2.9: unsolicited pong, then a ping: only the ping is answered. RFC 6455 5.5.3. */
static void s2_9_pong_then_ping(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, PONG, "unsolicited pong payload");
  fr(&in, 1, PING, "ping payload");
  check(&in, "pong(\"unsolicited pong payload\")\nping(\"ping payload\")\n"
             "out:pong(\"ping payload\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 2.10, 2.11: 10 pings, each answered, in order. RFC 6455 5.5.2: "Upon receipt of a
 * Ping frame, an endpoint MUST send a Pong frame in response". */
static void s2_10_ten_pings(void **state)
{
  wst_buf in;
  rtwt_log exp;
  char p[32];
  int i;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < 10; i++) {
    snprintf(p, sizeof p, "payload-%d", i);
    fr(&in, 1, PING, p);
    rtwt_log_printf(&exp, "ping(\"%s\")\n", p);
  }
  for (i = 0; i < 10; i++)
    rtwt_log_printf(&exp, "out:pong(\"payload-%d\")\n", i);
  rtwt_log_printf(&exp, OPEN);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* ================================================================== 3 reserved bits */

/* RFC 6455 5.2: "RSV1, RSV2, RSV3: ... MUST be 0 unless an extension is negotiated that
 * defines meanings for non-zero values. If a nonzero value is received and none of the
 * negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint
 * MUST _Fail the WebSocket Connection_." Every combination of the three bits. */

/* Autobahn 3.1: a text frame with RSV set. */
static void s3_1_text(void **state)
{
  unsigned rsv;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  for (rsv = 1; rsv <= 7; rsv++) {
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 1, TEXT, "Hello, world!", 13);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
  }
  wst_buf_free(&in);
}

/* Autobahn 3.2-3.4: a valid text message, then one with RSV set, then a ping: the first is
 * delivered, the connection fails, the ping is never seen or answered. */
static void s3_2_after_valid_message(void **state)
{
  unsigned rsv;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  for (rsv = 1; rsv <= 7; rsv++) {
    wst_buf_clear(&in);
    fr(&in, 1, TEXT, "Hello, world!");
    rsv_frame(&in, rsv, 1, TEXT, "Hello, world!", 13);
    fr(&in, 1, PING, "");
    check(&in, "msg(text,\"Hello, world!\")\n" PROTO(RTW_ERR_WS_RESERVED_BITS));
  }
  wst_buf_free(&in);
}

/* Autobahn 3.5: a binary frame with RSV set. */
static void s3_5_binary(void **state)
{
  static const uint8_t p[] = {0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff};
  unsigned rsv;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  for (rsv = 1; rsv <= 7; rsv++) {
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 1, BIN, p, sizeof p);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
  }
  wst_buf_free(&in);
}

/* Autobahn 3.6 (ping), 3.7 (close), and a pong: RSV bits on control frames. A close with RSV
 * is not a close: close_received stays 0 and it is not echoed. */
static void s3_6_control(void **state)
{
  static const uint8_t close_pl[] = {0x03, 0xe8};
  unsigned rsv;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  for (rsv = 1; rsv <= 7; rsv++) {
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 1, PING, "Hello, world!", 13);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 1, PONG, "Hello, world!", 13);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 1, CLOSE, close_pl, sizeof close_pl);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
  }
  wst_buf_free(&in);
}

/* RSV bits on the first fragment and on a continuation of a fragmented message: the message
 * is never completed. RFC 6455 5.2, 5.4. */
static void s3_fragments(void **state)
{
  unsigned rsv;
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  for (rsv = 1; rsv <= 7; rsv++) {
    wst_buf_clear(&in);
    rsv_frame(&in, rsv, 0, TEXT, "frag", 4);
    fr(&in, 1, CONT, "ment");
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
    wst_buf_clear(&in);
    fr(&in, 0, TEXT, "frag");
    rsv_frame(&in, rsv, 1, CONT, "ment", 4);
    check(&in, PROTO(RTW_ERR_WS_RESERVED_BITS));
    wst_buf_clear(&in);
    fr(&in, 0, BIN, "frag");
    fr(&in, 1, PING, "between");
    rsv_frame(&in, rsv, 0, CONT, "me", 2);
    fr(&in, 1, CONT, "nt");
    check(&in, "ping(\"between\")\nerror(RTW_ERR_WS_RESERVED_BITS)\nout:pong(\"between\")\n"
               "out:close(1002)\nend(read=0,sent=1002,recvd=0)\n");
  }
  wst_buf_free(&in);
}

/* ================================================================== 4 reserved opcodes */

/* RFC 6455 5.2: "%x3-7 are reserved for further non-control frames", "%xB-F are reserved for
 * further control frames"; 10.7/5.2: "If an unknown opcode is received, the receiving
 * endpoint MUST _Fail the WebSocket Connection_". */
static const unsigned reserved_data[] = {3, 4, 5, 6, 7};
static const unsigned reserved_control[] = {11, 12, 13, 14, 15};

static void reserved_variants(unsigned op)
{
  wst_buf in;

  wst_buf_init(&in);
  /* x.1: alone, empty */
  fr(&in, 1, op, "");
  check(&in, PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  /* x.2: alone, with payload */
  wst_buf_clear(&in);
  fr(&in, 1, op, "reserved opcode payload");
  check(&in, PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  /* x.3, x.4: after a valid message, followed by a ping that must not be answered */
  wst_buf_clear(&in);
  fr(&in, 1, TEXT, "Hello, world!");
  fr(&in, 1, op, "");
  fr(&in, 1, PING, "");
  check(&in, "msg(text,\"Hello, world!\")\n" PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  wst_buf_clear(&in);
  fr(&in, 1, TEXT, "Hello, world!");
  fr(&in, 1, op, "reserved opcode payload");
  fr(&in, 1, PING, "");
  check(&in, "msg(text,\"Hello, world!\")\n" PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  /* between the fragments of a message */
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "frag");
  fr(&in, 1, op, "x");
  fr(&in, 1, CONT, "ment");
  check(&in, PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  wst_buf_free(&in);
}

/* Autobahn 4.1.1-4.1.5: reserved non-control opcodes 3-7. */
static void s4_1_reserved_data_opcodes(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof reserved_data / sizeof reserved_data[0]; i++)
    reserved_variants(reserved_data[i]);
}

/* Autobahn 4.2.1-4.2.5: reserved control opcodes 11-15. */
static void s4_2_reserved_control_opcodes(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof reserved_control / sizeof reserved_control[0]; i++)
    reserved_variants(reserved_control[i]);
}

/* Reserved opcodes without FIN (a fragmented reserved frame is still reserved). RFC 6455 5.2. */
static void s4_reserved_not_final(void **state)
{
  wst_buf in;
  unsigned op;

  (void)state;
  wst_buf_init(&in);
  for (op = 3; op <= 15; op++) {
    if (op >= 8 && op <= 10)
      continue;
    wst_buf_clear(&in);
    fr(&in, 0, op, "abc");
    check(&in, PROTO(RTW_ERR_WS_RESERVED_OPCODE));
  }
  wst_buf_free(&in);
}

/* ================================================================== 5 fragmentation */

/* Autobahn 5.1, 5.2: a ping or pong in two fragments. RFC 6455 5.4/5.5: "Control frames ...
 * MUST NOT be fragmented." */
static void s5_1_fragmented_control(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, PING, "fragment1");
  fr(&in, 1, CONT, "fragment2");
  check(&in, PROTO(RTW_ERR_WS_CONTROL_FRAGMENTED));
  wst_buf_clear(&in);
  fr(&in, 0, PONG, "fragment1");
  fr(&in, 1, CONT, "fragment2");
  check(&in, PROTO(RTW_ERR_WS_CONTROL_FRAGMENTED));
  /* inside a data message too */
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 0, PING, "x");
  fr(&in, 1, CONT, "fragment2");
  check(&in, PROTO(RTW_ERR_WS_CONTROL_FRAGMENTED));
  /* a close without FIN */
  wst_buf_clear(&in);
  fr(&in, 0, CLOSE, "");
  check(&in, PROTO(RTW_ERR_WS_CONTROL_FRAGMENTED));
  wst_buf_free(&in);
}

/* Autobahn 5.3-5.5: text in 2 fragments. RFC 6455 5.4: "a single frame with the FIN bit clear
 * and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the
 * opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0". */
static void s5_3_two_fragments(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, CONT, "fragment2");
  check(&in, "msg(text,\"fragment1fragment2\")\n" OPEN);
  wst_buf_clear(&in);
  fr(&in, 0, BIN, "fragment1");
  fr(&in, 0, CONT, "fragment2");
  fr(&in, 1, CONT, "fragment3");
  check(&in, "msg(binary,\"fragment1fragment2fragment3\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 5.6-5.8 (ping between fragments) and a pong between fragments. RFC 6455 5.4:
 * "Control frames MAY be injected in the middle of a fragmented message." and 5.5.2: the
 * pong goes out at once, not after the message. */
static void s5_6_control_between_fragments(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, PING, "ping payload");
  fr(&in, 1, CONT, "fragment2");
  check(&in, "ping(\"ping payload\")\nmsg(text,\"fragment1fragment2\")\n"
             "out:pong(\"ping payload\")\n" OPEN);
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, PONG, "pong payload");
  fr(&in, 1, CONT, "fragment2");
  check(&in, "pong(\"pong payload\")\nmsg(text,\"fragment1fragment2\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 5.9-5.11 (continuation with FIN, nothing to continue) and 5.12-5.14 (without FIN),
 * each followed by a valid text message that is never delivered. RFC 6455 5.4. */
static void s5_9_continuation_without_message(void **state)
{
  wst_buf in;
  int fin;

  (void)state;
  wst_buf_init(&in);
  for (fin = 0; fin <= 1; fin++) {
    wst_buf_clear(&in);
    fr(&in, fin, CONT, "non-continuation payload");
    fr(&in, 1, TEXT, "Hello, world!");
    check(&in, PROTO(RTW_ERR_WS_UNEXPECTED_CONTINUATION));
  }
  wst_buf_free(&in);
}

/* Autobahn 5.15: a text message in 2 fragments, then a continuation with nothing to continue,
 * then a text message. 5.16, 5.17: repeated twice, (continuation, text in 2 fragments). */
static void s5_15_continuation_after_message(void **state)
{
  wst_buf in;
  int fin;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, CONT, "fragment2");
  fr(&in, 0, CONT, "fragment3");
  fr(&in, 1, CONT, "fragment4");
  check(&in, "msg(text,\"fragment1fragment2\")\n" PROTO(RTW_ERR_WS_UNEXPECTED_CONTINUATION));
  for (fin = 0; fin <= 1; fin++) {
    int i;
    wst_buf_clear(&in);
    for (i = 0; i < 2; i++) {
      fr(&in, fin, CONT, "fragment1");
      fr(&in, 0, TEXT, "fragment2");
      fr(&in, 1, CONT, "fragment3");
    }
    check(&in, PROTO(RTW_ERR_WS_UNEXPECTED_CONTINUATION));
  }
  wst_buf_free(&in);
}

/* Autobahn 5.18: a text message in 2 fragments with both opcodes text; also binary inside
 * text. RFC 6455 5.4: after a non-final first fragment only continuations (or control
 * frames) may follow. */
static void s5_18_new_message_inside_fragmented(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, TEXT, "fragment2");
  check(&in, PROTO(RTW_ERR_WS_EXPECTED_CONTINUATION));
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 1, PING, "p");
  fr(&in, 0, BIN, "fragment2");
  check(&in, "ping(\"p\")\nerror(RTW_ERR_WS_EXPECTED_CONTINUATION)\nout:pong(\"p\")\n"
             "out:close(1002)\nend(read=0,sent=1002,recvd=0)\n");
  wst_buf_free(&in);
}

/* Autobahn 5.19, 5.20: text in 5 fragments with 2 pings in between. RFC 6455 5.4. */
static void s5_19_five_fragments_two_pings(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  fr(&in, 0, CONT, "fragment2");
  fr(&in, 1, PING, "pongme 1!");
  fr(&in, 0, CONT, "fragment3");
  fr(&in, 0, CONT, "fragment4");
  fr(&in, 1, PING, "pongme 2!");
  fr(&in, 1, CONT, "fragment5");
  check(&in, "ping(\"pongme 1!\")\nping(\"pongme 2!\")\n"
             "msg(text,\"fragment1fragment2fragment3fragment4fragment5\")\n"
             "out:pong(\"pongme 1!\")\nout:pong(\"pongme 2!\")\n" OPEN);
  wst_buf_free(&in);
}

/* Many 1-byte fragments, text and binary, with a ping among them. RFC 6455 5.4. */
static void s5_one_byte_fragments(void **state)
{
  static const char text[] = "Hello, fragmented world! 0123456789 abcdefghijklmnopqrstuvwxyz";
  wst_buf in;
  size_t i, n = sizeof text - 1;
  rtwt_log exp;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < n; i++) {
    wst_frame(&in, M, i + 1 == n, i ? CONT : TEXT, text + i, 1);
    if (i == 20)
      fr(&in, 1, PING, "mid");
  }
  for (i = 0; i < n; i++)
    wst_frame(&in, M, i + 1 == n, i ? CONT : BIN, text + i, 1);
  rtwt_log_printf(&exp, "ping(\"mid\")\nmsg(text,\"%s\")\nmsg(binary,\"%s\")\nout:pong(\"mid\")\n"
                  OPEN, text, text);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Empty fragments anywhere in a message. RFC 6455 5.4 allows them (a fragment is a frame;
 * 5.2 allows a zero-length payload). on_message_data never sees an empty piece. */
static void s5_empty_fragments(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "");
  fr(&in, 0, CONT, "");
  fr(&in, 1, CONT, "");
  fr(&in, 0, BIN, "");
  fr(&in, 0, CONT, "abc");
  fr(&in, 0, CONT, "");
  fr(&in, 1, CONT, "");
  fr(&in, 0, TEXT, "x");
  fr(&in, 0, CONT, "");
  fr(&in, 1, CONT, "y");
  check(&in, "msg(text,\"\")\nmsg(binary,\"abc\")\nmsg(text,\"xy\")\n" OPEN);
  wst_buf_free(&in);
}

/* ================================================================== 6 UTF-8 */

typedef struct sample {
  const char *name;
  const char *s;
  size_t n;
} sample;

#define S(name, lit) {name, lit, sizeof(lit) - 1}

/* Markus Kuhn's UTF-8 decoder capability and stress test: every sample that is valid
 * UTF-8, plus the Autobahn 6.2/6.5/6.7/6.9/6.11/6.22/6.23 valid cases. */
static const sample valid_samples[] = {
  S("kuhn-1 greek", KOSME),
  S("6.2.1", "Hello-µ@ßöäüàá-UTF-8!!"),
  S("kuhn-2.1.1 U+0000", "\x00"),
  S("kuhn-2.1.2 U+0080", "\xC2\x80"),
  S("kuhn-2.1.3 U+0800", "\xE0\xA0\x80"),
  S("kuhn-2.1.4 U+10000", "\xF0\x90\x80\x80"),
  S("kuhn-2.2.1 U+007F", "\x7F"),
  S("kuhn-2.2.2 U+07FF", "\xDF\xBF"),
  S("kuhn-2.2.3 U+FFFF", "\xEF\xBF\xBF"),
  S("kuhn-2.3.1 U+D7FF", "\xED\x9F\xBF"),
  S("kuhn-2.3.2 U+E000", "\xEE\x80\x80"),
  S("kuhn-2.3.3 U+FFFD", "\xEF\xBF\xBD"),
  S("kuhn-2.3.4 U+10FFFF", "\xF4\x8F\xBF\xBF"),
  S("kuhn-5.3.1 U+FFFE", "\xEF\xBF\xBE"),
  S("kuhn-5.3.2 U+FFFF", "\xEF\xBF\xBF"),
  S("6.23 BOM", "\xEF\xBB\xBF"),
  S("6.23 U+FFFD x2", "\xEF\xBF\xBD\xEF\xBF\xBD"),
  S("U+2028 U+2029", "\xE2\x80\xA8\xE2\x80\xA9"),
  S("control chars", "\x01\x1F\x7F\t\r\n"),
  S("mixed", "Ünïcödé ✓ 𝄞 € 日本語 ελληνικά 😀"),
  S("all lengths", "a\xC2\x80\xE0\xA0\x80\xF0\x90\x80\x80z\xF4\x8F\xBF\xBF"),
};

/* Invalid samples (Autobahn 6.3, 6.6, 6.8, 6.10-6.21; Kuhn sections 3 and 4 and 5.1/5.2). */
static const sample invalid_samples[] = {
  S("6.3.1", KOSME "\xED\xA0\x80" "edited"),
  S("6.4.1 U+110000", KOSME "\xF4\x90\x80\x80" "edited"),
  S("6.6.1", "\xCE"),
  S("6.6.3", "\xCE\xBA\xE1"),
  S("6.6.4", "\xCE\xBA\xE1\xBD"),
  S("6.6.6", "\xCE\xBA\xE1\xBD\xB9\xCF"),
  S("6.6.8", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE"),
  S("6.6.10", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE"),
  S("6.8.1 5-byte", "\xF8\x88\x80\x80\x80"),
  S("6.8.2 6-byte", "\xFC\x84\x80\x80\x80\x80"),
  S("6.10.1 U+1FFFFF", "\xF7\xBF\xBF\xBF"),
  S("6.10.2", "\xFB\xBF\xBF\xBF\xBF"),
  S("6.10.3", "\xFD\xBF\xBF\xBF\xBF\xBF"),
  S("6.11.5 U+110000", "\xF4\x90\x80\x80"),
  S("6.12.1", "\x80"),
  S("6.12.2", "\xBF"),
  S("6.12.3", "\x80\xBF"),
  S("6.12.4", "\x80\xBF\x80"),
  S("6.12.5", "\x80\xBF\x80\xBF"),
  S("6.12.6", "\x80\xBF\x80\xBF\x80"),
  S("6.12.7", "\x80\xBF\x80\xBF\x80\xBF"),
  S("6.12.8 all continuations",
    "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8A\x8B\x8C\x8D\x8E\x8F"
    "\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9A\x9B\x9C\x9D\x9E\x9F"
    "\xA0\xA1\xA2\xA3\xA4\xA5\xA6\xA7\xA8\xA9\xAA\xAB\xAC\xAD\xAE\xAF"
    "\xB0\xB1\xB2\xB3\xB4\xB5\xB6\xB7\xB8\xB9\xBA\xBB\xBC\xBD\xBE\xBF"),
  S("6.13.1 lonely C0-DF",
    "\xC0 \xC1 \xC2 \xC3 \xC4 \xC5 \xC6 \xC7 \xC8 \xC9 \xCA \xCB \xCC \xCD \xCE \xCF "
    "\xD0 \xD1 \xD2 \xD3 \xD4 \xD5 \xD6 \xD7 \xD8 \xD9 \xDA \xDB \xDC \xDD \xDE \xDF "),
  S("6.13.1b lonely C2", "\xC2 "),
  S("6.13.2 lonely E0-EF",
    "\xE0 \xE1 \xE2 \xE3 \xE4 \xE5 \xE6 \xE7 \xE8 \xE9 \xEA \xEB \xEC \xED \xEE \xEF "),
  S("6.13.2b lonely E1", "\xE1 "),
  S("6.13.3 lonely F0-F7", "\xF0 \xF1 \xF2 \xF3 \xF4 \xF5 \xF6 \xF7 "),
  S("6.13.3b lonely F1", "\xF1 "),
  S("6.13.4 lonely F8-FB", "\xF8 \xF9 \xFA \xFB "),
  S("6.13.5 lonely FC-FD", "\xFC \xFD "),
  S("6.14.1", "\xC0"),
  S("6.14.2", "\xE0\x80"),
  S("6.14.3", "\xF0\x80\x80"),
  S("6.14.4", "\xF8\x80\x80\x80"),
  S("6.14.5", "\xFC\x80\x80\x80\x80"),
  S("6.14.6", "\xDF"),
  S("6.14.7", "\xEF\xBF"),
  S("6.14.8", "\xF7\xBF\xBF"),
  S("6.14.9", "\xFB\xBF\xBF\xBF"),
  S("6.14.10", "\xFD\xBF\xBF\xBF\xBF"),
  S("6.14 valid leads, last byte missing", "\xE1\x80"),
  S("6.14 valid 4-byte lead, last byte missing", "\xF3\xBF\xBF"),
  S("6.15.1 concatenated",
    "\xC0\xE0\x80\xF0\x80\x80\xF8\x80\x80\x80\xFC\x80\x80\x80\x80"
    "\xDF\xEF\xBF\xF7\xBF\xBF\xFB\xBF\xBF\xBF\xFD\xBF\xBF\xBF\xBF"),
  S("6.16.1", "\xFE"),
  S("6.16.2", "\xFF"),
  S("6.16.3", "\xFE\xFE\xFF\xFF"),
  S("6.17.1", "\xC0\xAF"),
  S("6.17.2", "\xE0\x80\xAF"),
  S("6.17.3", "\xF0\x80\x80\xAF"),
  S("6.17.4", "\xF8\x80\x80\x80\xAF"),
  S("6.17.5", "\xFC\x80\x80\x80\x80\xAF"),
  S("6.18.1", "\xC1\xBF"),
  S("6.18.2", "\xE0\x9F\xBF"),
  S("6.18.3", "\xF0\x8F\xBF\xBF"),
  S("6.18.4", "\xF8\x87\xBF\xBF\xBF"),
  S("6.18.5", "\xFC\x83\xBF\xBF\xBF\xBF"),
  S("6.19.1", "\xC0\x80"),
  S("6.19.2", "\xE0\x80\x80"),
  S("6.19.3", "\xF0\x80\x80\x80"),
  S("6.19.4", "\xF8\x80\x80\x80\x80"),
  S("6.19.5", "\xFC\x80\x80\x80\x80\x80"),
  S("6.20.1", "\xED\xA0\x80"),
  S("6.20.2", "\xED\xAD\xBF"),
  S("6.20.3", "\xED\xAE\x80"),
  S("6.20.4", "\xED\xAF\xBF"),
  S("6.20.5", "\xED\xB0\x80"),
  S("6.20.6", "\xED\xBE\x80"),
  S("6.20.7", "\xED\xBF\xBF"),
  S("6.21.1", "\xED\xA0\x80\xED\xB0\x80"),
  S("6.21.2", "\xED\xA0\x80\xED\xBF\xBF"),
  S("6.21.3", "\xED\xAD\xBF\xED\xB0\x80"),
  S("6.21.4", "\xED\xAD\xBF\xED\xBF\xBF"),
  S("6.21.5", "\xED\xAE\x80\xED\xB0\x80"),
  S("6.21.6", "\xED\xAE\x80\xED\xBF\xBF"),
  S("6.21.7", "\xED\xAF\xBF\xED\xB0\x80"),
  S("6.21.8", "\xED\xAF\xBF\xED\xBF\xBF"),
  S("F4 then ASCII", "\xF4" "a"),
  S("valid then truncated 4-byte", "abc\xF0\x9F\x98"),
};

/* Code point to UTF-8 (RFC 3629 section 3), for generated samples. */
static size_t enc(uint32_t cp, uint8_t *o)
{
  if (cp < 0x80) {
    o[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (uint8_t)(0xC0 | (cp >> 6));
    o[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | (cp >> 12));
    o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | (cp >> 18));
  o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

static void expect_text(rtwt_log *exp, const void *p, size_t n)
{
  rtwt_log_clear(exp);
  wst_log_msg(exp, TEXT, p, n);
  rtwt_log_printf(exp, OPEN);
}

/* One text message: in one frame, and in 1-byte fragments (which splits every multi-byte
 * character across frames). */
static void valid_text(const void *p_, size_t n)
{
  const uint8_t *p = p_;
  wst_buf in;
  rtwt_log exp;
  size_t i;

  assert_int_equal(wst_utf8_check(p, n, NULL), WST_UTF8_OK);
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  expect_text(&exp, p, n);
  wst_frame(&in, M, 1, TEXT, p, n);
  check(&in, exp.buf);
  wst_buf_clear(&in);
  for (i = 0; i < n; i++)
    wst_frame(&in, M, i + 1 == n, i ? CONT : TEXT, p + i, 1);
  if (n)
    check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Autobahn 6.1.1-6.1.3: empty text, empty fragments, empty first and last fragment. RFC 6455
 * 5.6: an empty text message is valid UTF-8. */
static void s6_1_empty(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, TEXT, "");
  check(&in, "msg(text,\"\")\n" OPEN);
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "");
  fr(&in, 0, CONT, "");
  fr(&in, 1, CONT, "");
  check(&in, "msg(text,\"\")\n" OPEN);
  wst_buf_clear(&in);
  fr(&in, 0, TEXT, "");
  fr(&in, 0, CONT, "middle");
  fr(&in, 1, CONT, "");
  check(&in, "msg(text,\"middle\")\n" OPEN);
  wst_buf_free(&in);
}

/* Autobahn 6.2.1-6.2.4 and 6.5.x: valid UTF-8 in one frame, split in 2 fragments at every
 * byte (also inside characters), and in 1-byte fragments. RFC 6455 5.6: "the text data as a
 * whole" is UTF-8, fragments need not end on character boundaries. */
static void s6_2_valid_split_everywhere(void **state)
{
  static const char *const texts[] = {"Hello-µ@ßöäüàá-UTF-8!!", KOSME,
                                      ("a\xF0\x9D\x84\x9E" "b€c")};
  wst_buf in;
  rtwt_log exp;
  size_t t, k;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (t = 0; t < sizeof texts / sizeof texts[0]; t++) {
    const char *s = texts[t];
    size_t n = strlen(s);
    valid_text(s, n);
    expect_text(&exp, s, n);
    for (k = 0; k <= n; k++) {
      wst_buf_clear(&in);
      wst_frame(&in, M, 0, TEXT, s, k);
      wst_frame(&in, M, 1, CONT, s + k, n - k);
      check(&in, exp.buf);
    }
  }
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Kuhn's valid samples, each in one frame and in 1-byte fragments. RFC 3629, RFC 6455 8.1. */
static void s6_5_kuhn_valid(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof valid_samples / sizeof valid_samples[0]; i++)
    valid_text(valid_samples[i].s, valid_samples[i].n);
}

/* Autobahn 6.22: noncharacters (U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane) are valid
 * UTF-8 and must be accepted. */
static void s6_22_noncharacters(void **state)
{
  uint8_t buf[4];
  uint32_t cp, plane;

  (void)state;
  for (cp = 0xFDD0; cp <= 0xFDEF; cp++)
    valid_text(buf, enc(cp, buf));
  for (plane = 0; plane <= 16; plane++) {
    valid_text(buf, enc(plane << 16 | 0xFFFE, buf));
    valid_text(buf, enc(plane << 16 | 0xFFFF, buf));
  }
}

/* A sweep over the whole code space (every 97th scalar value and every boundary) in one
 * message: over WST_SPLIT_MAX, so fed in chunks. RFC 3629. */
static void s6_sweep(void **state)
{
  static const uint32_t edges[] = {0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000,
                                   0x10FFFF};
  wst_buf msg, in;
  rtwt_log exp;
  uint8_t b[4];
  uint32_t cp;
  size_t i;

  (void)state;
  wst_buf_init(&msg);
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (cp = 0; cp <= 0x10FFFF; cp += 97)
    if (cp < 0xD800 || cp > 0xDFFF)
      wst_buf_put(&msg, b, enc(cp, b));
  for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
    wst_buf_put(&msg, b, enc(edges[i], b));
  expect_text(&exp, msg.p, msg.len);
  wst_frame(&in, M, 1, TEXT, msg.p, msg.len);
  check(&in, exp.buf);
  /* the same in 1000-byte fragments (cutting characters) */
  wst_buf_clear(&in);
  for (i = 0; i < msg.len; i += 1000) {
    size_t n = msg.len - i < 1000 ? msg.len - i : 1000;
    wst_frame(&in, M, i + n == msg.len, i ? CONT : TEXT, msg.p + i, n);
  }
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
  wst_buf_free(&msg);
}

#define UTF8_FAIL FAILED(RTW_ERR_INVALID_UTF8, 1007)

/* Build a text message from fragments and require the failure at exactly the byte where the
 * oracle says the message stops being a prefix of valid UTF-8 (or, for a message that is
 * only truncated, at its very last byte). RFC 6455 8.1: "When an endpoint is to interpret a
 * byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream,
 * that endpoint MUST _Fail the WebSocket Connection_" -- Autobahn's strict "fail fast". */
static void fail_fast(uint32_t flags, const uint8_t *const *parts, const size_t *lens,
                      size_t nparts)
{
  wst_opts o = server;
  wst_buf in, msg;
  rtwt_log log;
  size_t offs[16], i, bad = 0, at, cum = 0;
  int v;

  assert_true(nparts <= 16);
  o.flags = flags;
  wst_buf_init(&in);
  wst_buf_init(&msg);
  rtwt_log_init(&log);
  for (i = 0; i < nparts; i++) {
    offs[i] = wst_frame(&in, M, i + 1 == nparts, i ? CONT : TEXT, parts[i], lens[i]);
    wst_buf_put(&msg, parts[i], lens[i]);
  }
  v = wst_utf8_check(msg.p, msg.len, &bad);
  assert_int_not_equal(v, WST_UTF8_OK);
  at = in.len - 1;
  if (v == WST_UTF8_BAD)
    for (i = 0; i < nparts; i++) {
      if (bad < cum + lens[i]) {
        at = offs[i] + (bad - cum);
        break;
      }
      cum += lens[i];
    }
  wst_expect_error_at(&o, in.p, in.len, at, RTW_ERR_INVALID_UTF8, 1007, &log);
  /* on_message_end / on_message never ran for the bad message */
  assert_null(strstr(log.buf, "msg("));
  rtwt_log_free(&log);
  wst_buf_free(&msg);
  wst_buf_free(&in);
}

static void fail_fast_both(const uint8_t *const *parts, const size_t *lens, size_t nparts)
{
  fail_fast(0, parts, lens, nparts);
  fail_fast(RTW_WS_FLAG_WHOLE_MESSAGES, parts, lens, nparts);
}

/* Autobahn 6.3.1, 6.3.2: invalid UTF-8 in one frame, and in 1-byte fragments -> 1007. */
static void s6_3_invalid(void **state)
{
  const sample *s = &invalid_samples[0];
  wst_buf in;
  size_t i;

  (void)state;
  wst_buf_init(&in);
  wst_frame(&in, M, 1, TEXT, s->s, s->n);
  check(&in, UTF8_FAIL);
  wst_buf_clear(&in);
  for (i = 0; i < s->n; i++)
    wst_frame(&in, M, i + 1 == s->n, i ? CONT : TEXT, s->s + i, 1);
  check(&in, UTF8_FAIL);
  wst_buf_free(&in);
}

/* Autobahn 6.4.1-6.4.4 (fail fast): a message whose first fragments are valid and whose next
 * fragment makes it invalid must fail at that byte, before the final fragment arrives, with
 * on_message_end never called and close(1007) queued at once. */
static void s6_4_fail_fast(void **state)
{
  static const char p1[] = KOSME;
  static const char p2[] = "\xF4\x90\x80\x80";
  static const char p3[] = "edited";
  static const char all[] = KOSME "\xF4\x90\x80\x80" "edited";
  const uint8_t *parts[3];
  size_t lens[3];

  (void)state;
  /* 6.4.1: three frames, the second one invalid (U+110000) */
  parts[0] = (const uint8_t *)p1, lens[0] = sizeof p1 - 1;
  parts[1] = (const uint8_t *)p2, lens[1] = sizeof p2 - 1;
  parts[2] = (const uint8_t *)p3, lens[2] = sizeof p3 - 1;
  fail_fast_both(parts, lens, 3);
  /* 6.4.2: the second frame holds only the octet that makes it invalid */
  parts[0] = (const uint8_t *)all, lens[0] = sizeof p1; /* ...\xF4 */
  parts[1] = (const uint8_t *)all + sizeof p1, lens[1] = 1;
  parts[2] = (const uint8_t *)all + sizeof p1 + 1, lens[2] = sizeof all - 1 - sizeof p1 - 1;
  fail_fast_both(parts, lens, 3);
  /* 6.4.3, 6.4.4: one frame (fed byte by byte by wst_expect_error_at, i.e. in chops) */
  parts[0] = (const uint8_t *)all, lens[0] = sizeof all - 1;
  fail_fast_both(parts, lens, 1);
}

/* Kuhn's and Autobahn's invalid samples: in one frame, in 1-byte fragments, and fail fast
 * both as the first fragment of a longer message and split in two at every byte. */
static void s6_invalid_samples(void **state)
{
  wst_buf in;
  size_t i, k;

  (void)state;
  wst_buf_init(&in);
  for (i = 0; i < sizeof invalid_samples / sizeof invalid_samples[0]; i++) {
    const sample *s = &invalid_samples[i];
    const uint8_t *p = (const uint8_t *)s->s;
    const uint8_t *parts[4];
    size_t lens[4], j;

    assert_int_not_equal(wst_utf8_check(s->s, s->n, NULL), WST_UTF8_OK);
    wst_buf_clear(&in);
    wst_frame(&in, M, 1, TEXT, p, s->n);
    check(&in, UTF8_FAIL);
    wst_buf_clear(&in);
    for (j = 0; j < s->n; j++)
      wst_frame(&in, M, j + 1 == s->n, j ? CONT : TEXT, p + j, 1);
    check(&in, UTF8_FAIL);
    /* first fragment of a message whose tail has not arrived */
    parts[0] = p, lens[0] = s->n;
    parts[1] = (const uint8_t *)"tail", lens[1] = 4;
    fail_fast_both(parts, lens, 2);
    /* after a valid first fragment, followed by an empty final fragment */
    parts[0] = (const uint8_t *)"ok", lens[0] = 2;
    parts[1] = p, lens[1] = s->n;
    parts[2] = p, lens[2] = 0;
    fail_fast_both(parts, lens, 3);
    /* split in two fragments at every byte, plus a tail */
    for (k = 0; k <= s->n; k++) {
      parts[0] = p, lens[0] = k;
      parts[1] = p + k, lens[1] = s->n - k;
      parts[2] = (const uint8_t *)"tail", lens[2] = 4;
      fail_fast(0, parts, lens, 3);
    }
  }
  wst_buf_free(&in);
}

/* Every prefix of KOSME (Autobahn 6.6.1-6.6.11): those ending inside a character are
 * invalid as a whole message, the others valid. */
static void s6_6_prefixes(void **state)
{
  static const char s[] = KOSME;
  wst_buf in;
  size_t k;

  (void)state;
  wst_buf_init(&in);
  for (k = 1; k < sizeof s; k++) {
    wst_buf_clear(&in);
    wst_frame(&in, M, 1, TEXT, s, k);
    if (wst_utf8_check(s, k, NULL) == WST_UTF8_OK) {
      valid_text(s, k);
    } else {
      check(&in, UTF8_FAIL);
    }
  }
  wst_buf_free(&in);
}

/* Text after an invalid message is never delivered, a valid message before it is. */
static void s6_invalid_between_valid(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, TEXT, "before");
  wst_frame(&in, M, 1, TEXT, "\xC0\xAF", 2);
  fr(&in, 1, TEXT, "after");
  fr(&in, 1, PING, "after");
  check(&in, "msg(text,\"before\")\n" UTF8_FAIL);
  /* binary messages are not UTF-8-checked (RFC 6455 5.6) */
  wst_buf_clear(&in);
  wst_frame(&in, M, 1, BIN, "\xC0\xAF\xFF", 3);
  check(&in, "msg(binary,\"\\xC0\\xAF\\xFF\")\n" OPEN);
  wst_buf_free(&in);
}

/* ================================================================== 7 close */

#define CLOSED(code) "out:close(" #code ")\nend(read=0,sent=" #code ",recvd=" #code ")\n"

/* Autobahn 7.1.1: a message, then a normal close that is echoed. RFC 6455 5.5.1: "If an
 * endpoint receives a Close frame and did not previously send a Close frame, the endpoint
 * MUST send a Close frame in response". */
static void s7_1_1_message_then_close(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, TEXT, "Hello World!");
  wst_close_frame(&in, M, 1000, NULL, 0);
  check(&in, "msg(text,\"Hello World!\")\nclose(1000,\"\")\n" CLOSED(1000));
  wst_buf_free(&in);
}

/* Autobahn 7.1.2-7.1.4 and "data after close": after the peer's close, a second close, a
 * ping, a text message and even garbage are ignored. RFC 6455 5.5.1: "the endpoint ...
 * MAY ... discard any further data"; 1.4: after the close frame no more data is expected. */
static void s7_1_2_after_close_ignored(void **state)
{
  static const uint8_t garbage[] = {0xff, 0xff, 0x00, 0x7f};
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  wst_close_frame(&in, M, 1000, NULL, 0);
  wst_close_frame(&in, M, 1001, NULL, 0);
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1000, NULL, 0);
  fr(&in, 1, PING, "Hello World!");
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1000, NULL, 0);
  fr(&in, 1, TEXT, "Hello World!");
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1000, NULL, 0);
  rsv_frame(&in, 7, 0, 13, "bad", 3);
  wst_buf_put(&in, garbage, sizeof garbage);
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_free(&in);
}

/* Autobahn 7.1.5: a fragmented message interrupted by a close: the close is honoured, the
 * message never completes. RFC 6455 5.4 (control frames between fragments), 5.5.1. */
static void s7_1_5_close_between_fragments(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 0, TEXT, "fragment1");
  wst_close_frame(&in, M, 1000, NULL, 0);
  fr(&in, 1, CONT, "fragment2");
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_free(&in);
}

/* Autobahn 7.3.1: a close without payload. RFC 6455 7.1.5: "If this Close control frame
 * contains no status code, _The WebSocket Connection Close Code_ is considered to be 1005";
 * we answer with an empty close (there is no code to echo). */
static void s7_3_1_empty_close(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  wst_close_frame(&in, M, -1, NULL, 0);
  check(&in, "close(1005,\"\")\nout:close()\nend(read=0,sent=1005,recvd=1005)\n");
  wst_buf_free(&in);
}

/* Autobahn 7.3.2: a close with a 1-byte payload. RFC 6455 5.5.1: "If there is a body, the
 * first two bytes of the body MUST be a 2-byte unsigned integer" -> 1002. */
static void s7_3_2_one_byte_close(void **state)
{
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  fr(&in, 1, CLOSE, "a");
  check(&in, PROTO(RTW_ERR_WS_BAD_CLOSE_PAYLOAD));
  wst_buf_free(&in);
}

/* Autobahn 7.3.3-7.3.5: a code, a code with a reason, a 123-byte reason (the largest that fits
 * in 125 bytes). RFC 6455 5.5.1: the code is echoed. */
static void s7_3_3_code_and_reason(void **state)
{
  char reason[124];
  wst_buf in;
  rtwt_log exp;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  wst_close_frame(&in, M, 1000, NULL, 0);
  check(&in, "close(1000,\"\")\n" CLOSED(1000));
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1000, "Hello World!", 12);
  check(&in, "close(1000,\"Hello World!\")\n" CLOSED(1000));
  wst_buf_clear(&in);
  memset(reason, '*', 123);
  reason[123] = '\0';
  wst_close_frame(&in, M, 1000, reason, 123);
  rtwt_log_printf(&exp, "close(1000,\"%s\")\n" CLOSED(1000), reason);
  check(&in, exp.buf);
  /* a multi-byte reason */
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1001, KOSME, strlen(KOSME));
  check(&in, "close(1001,\"\\xCE\\xBA\\xE1\\xBD\\xB9\\xCF\\x83\\xCE\\xBC\\xCE\\xB5\")\n"
             CLOSED(1001));
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Autobahn 7.3.6: a 124-byte reason makes a 126-byte control payload. RFC 6455 5.5. */
static void s7_3_6_reason_too_long(void **state)
{
  char reason[124];
  wst_buf in;

  (void)state;
  memset(reason, '*', sizeof reason);
  wst_buf_init(&in);
  wst_close_frame(&in, M, 1000, reason, sizeof reason);
  check(&in, PROTO(RTW_ERR_WS_CONTROL_TOO_LONG));
  wst_buf_free(&in);
}

/* Autobahn 7.5.1: a close reason that is not UTF-8. RFC 6455 5.5.1: the reason is UTF-8;
 * 8.1 -> 1007. */
static void s7_5_1_reason_invalid_utf8(void **state)
{
  static const char reason[] = KOSME "\xED\xA0\x80" "edited";
  wst_buf in;

  (void)state;
  wst_buf_init(&in);
  wst_close_frame(&in, M, 1000, reason, sizeof reason - 1);
  check(&in, UTF8_FAIL);
  /* truncated at the end of the reason */
  wst_buf_clear(&in);
  wst_close_frame(&in, M, 1000, "ab\xCE", 3);
  check(&in, UTF8_FAIL);
  wst_buf_free(&in);
}

/* Autobahn 7.7.1-7.7.13 and the codes registered since: 1000-1003, 1007-1014, 3000-4999 are
 * valid and echoed. RFC 6455 7.4.1, 7.4.2; IANA "WebSocket Close Code Number Registry". */
static void s7_7_valid_codes(void **state)
{
  static const int codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                              1013, 1014, 3000, 3999, 4000, 4999};
  wst_buf in;
  rtwt_log exp;
  size_t i;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    wst_buf_clear(&in);
    rtwt_log_clear(&exp);
    wst_close_frame(&in, M, codes[i], "reason", 6);
    rtwt_log_printf(&exp, "close(%d,\"reason\")\nout:close(%d)\nend(read=0,sent=%d,recvd=%d)\n",
                    codes[i], codes[i], codes[i], codes[i]);
    check(&in, exp.buf);
  }
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* Autobahn 7.9.1-7.9.9 and 7.13.1/7.13.2: codes that must not appear on the wire. RFC 6455
 * 7.4.1: 1004 reserved; 1005, 1006, 1015 "MUST NOT be set as a status code in a Close control
 * frame by an endpoint"; 7.4.2: 0-999 not used, 1000-2999 reserved for the protocol, >= 5000
 * not defined -> 1002. */
static void s7_9_invalid_codes(void **state)
{
  static const int codes[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                              5000, 65535};
  wst_buf in;
  size_t i;

  (void)state;
  wst_buf_init(&in);
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    wst_buf_clear(&in);
    wst_close_frame(&in, M, codes[i], NULL, 0);
    check(&in, PROTO(RTW_ERR_WS_BAD_CLOSE_CODE));
    wst_buf_clear(&in);
    wst_close_frame(&in, M, codes[i], "reason", 6);
    check(&in, PROTO(RTW_ERR_WS_BAD_CLOSE_CODE));
  }
  wst_buf_free(&in);
}

static void close_first(wst_run *r)
{
  assert_int_equal(rtw_ws_close(r->ws, 1000, "bye", 3), 0);
}

static void close_first_empty(wst_run *r)
{
  assert_int_equal(rtw_ws_close(r->ws, 0, NULL, 0), 0);
}

/* We close first (RFC 6455 7.1.2), the peer answers (7.1.5): no second close from us, and the
 * session is over: want_read and want_write both 0 (checked after draining). Messages that
 * arrive between the two closes are still delivered (7.1.2: "the endpoint ... MAY ... continue
 * to process data"). */
static void s7_our_close_then_peer_close(void **state)
{
  wst_opts o = server;
  wst_buf in;

  (void)state;
  o.before = close_first;
  wst_buf_init(&in);
  wst_close_frame(&in, M, 1000, NULL, 0);
  wst_check(&o, in.p, in.len,
            "close(1000,\"\")\nout:close(1000,\"bye\")\nend(read=0,sent=1000,recvd=1000)\n");
  wst_buf_clear(&in);
  fr(&in, 1, TEXT, "late");
  wst_close_frame(&in, M, 1001, "going", 5);
  fr(&in, 1, TEXT, "ignored");
  wst_check(&o, in.p, in.len,
            "msg(text,\"late\")\nclose(1001,\"going\")\nout:close(1000,\"bye\")\n"
            "end(read=0,sent=1000,recvd=1001)\n");
  /* our close without payload, their close without payload */
  o.before = close_first_empty;
  wst_buf_clear(&in);
  wst_close_frame(&in, M, -1, NULL, 0);
  wst_check(&o, in.p, in.len, "close(1005,\"\")\nout:close()\nend(read=0,sent=1005,recvd=1005)\n");
  wst_buf_free(&in);
}

/* ================================================================== 9 limits and volume */

static void big_message(unsigned op, size_t total, size_t frag)
{
  uint8_t *p = wst_pattern(total, op == TEXT, 9);
  wst_buf in;
  rtwt_log exp;
  size_t i;

  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (i = 0; i < total; i += frag) {
    size_t n = total - i < frag ? total - i : frag;
    wst_frame(&in, M, i + n == total, i ? CONT : op, p + i, n);
  }
  wst_log_msg(&exp, (int)op, p, total);
  rtwt_log_printf(&exp, OPEN);
  check(&in, exp.buf);
  rtwt_log_free(&exp);
  wst_buf_free(&in);
  free(p);
}

/* Autobahn 9.1.4 / 9.2.4: a 4 MiB text and binary message in one frame (under the default
 * 16 MiB max_frame_size). RFC 6455 5.2 (64-bit length), 8.1 (UTF-8 over the whole). */
static void s9_1_4mib_one_frame(void **state)
{
  (void)state;
  big_message(TEXT, 4u << 20, 4u << 20);
  big_message(BIN, 4u << 20, 4u << 20);
}

/* Autobahn 9.3.x / 9.4.x: 4 MiB in 64 KiB fragments. RFC 6455 5.4. */
static void s9_3_4mib_fragmented(void **state)
{
  (void)state;
  big_message(TEXT, 4u << 20, 64u << 10);
  big_message(BIN, 4u << 20, 64u << 10);
}

/* Autobahn 9.7.x / 9.8.x: 1000 small messages back to back, text and binary. RFC 6455 5.6. */
static void s9_7_many_messages(void **state)
{
  wst_buf in;
  rtwt_log exp;
  int op;
  uint32_t i;

  (void)state;
  wst_buf_init(&in);
  rtwt_log_init(&exp);
  for (op = TEXT; op <= BIN; op++) {
    wst_buf_clear(&in);
    rtwt_log_clear(&exp);
    for (i = 0; i < 1000; i++) {
      size_t n = i % 97;
      uint8_t *p = wst_pattern(n, op == TEXT, i);
      wst_frame(&in, M, 1, (unsigned)op, p, n);
      wst_log_msg(&exp, op, p, n);
      free(p);
    }
    rtwt_log_printf(&exp, OPEN);
    check(&in, exp.buf);
  }
  rtwt_log_free(&exp);
  wst_buf_free(&in);
}

/* ================================================================== 10 our fragmentation */

static void drain_frames(rtw_ws *ws, wst_oframes *of)
{
  wst_buf out;

  wst_buf_init(&out);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  wst_parse_out(out.p, out.len, 0, of);
  wst_buf_free(&out);
}

/* Frames [first, first + count) carry one message fragmented at `frag` bytes: the first has
 * the opcode, the rest are continuations, only the last has FIN, and the payload is intact.
 * RFC 6455 5.4. */
static void expect_fragments(const wst_oframes *of, size_t first, unsigned op, const uint8_t *p,
                             size_t len, size_t frag)
{
  size_t i, off = 0, count = len ? (len + frag - 1) / frag : 1;

  for (i = 0; i < count; i++) {
    const wst_oframe *f = &of->f[first + i];
    size_t n = len - off < frag ? len - off : frag;
    assert_int_equal(f->opcode, i ? CONT : op);
    assert_int_equal(f->fin, i + 1 == count);
    assert_int_equal(f->len, n);
    assert_memory_equal(f->data, p + off, n);
    off += n;
  }
  assert_int_equal(off, len);
}

static rtw_ws *new_server(size_t fragment_size)
{
  rtw_ws_settings st = {RTW_WS_SETTINGS_VERSION};
  rtw_ws *ws = NULL;

  st.fragment_size = fragment_size;
  assert_int_equal(rtw_ws_new(&ws, RTW_WS_ROLE_SERVER, NULL, &st, NULL, NULL), 0);
  return ws;
}

/* Autobahn 10.1.1 (auto-fragmentation) seen from the sending side: a 1 MiB message queued
 * with fragment_size 4096 goes out as 256 frames. RFC 6455 5.4: "An unfragmented message
 * MAY be sent as fragments" */
static void s10_1_fragmented_send(void **state)
{
  static const size_t lens[] = {1u << 20, (1u << 20) + 100};
  wst_oframes of;
  size_t i;

  (void)state;
  for (i = 0; i < 2; i++) {
    unsigned op = i ? BIN : TEXT;
    uint8_t *p = wst_pattern(lens[i], op == TEXT, 10);
    rtw_ws *ws = new_server(4096);
    assert_int_equal(rtw_ws_queue_message(ws, (int)op, p, lens[i], 0), 0);
    drain_frames(ws, &of);
    assert_int_equal(of.n, (lens[i] + 4095) / 4096);
    expect_fragments(&of, 0, op, p, lens[i], 4096);
    wst_oframes_free(&of);
    rtw_ws_free(ws);
    free(p);
  }
}

/* Sizes around fragment_size: 0 and fragment_size go out as one frame, fragment_size + 1 as
 * two. RFC 6455 5.4. */
static void s10_fragment_boundaries(void **state)
{
  static const size_t lens[] = {0, 1, 4095, 4096, 4097, 8192, 8193};
  wst_oframes of;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    uint8_t *p = wst_pattern(lens[i], 0, 11);
    rtw_ws *ws = new_server(4096);
    assert_int_equal(rtw_ws_queue_binary(ws, p, lens[i]), 0);
    drain_frames(ws, &of);
    assert_int_equal(of.n, lens[i] ? (lens[i] + 4095) / 4096 : 1);
    expect_fragments(&of, 0, BIN, p, lens[i], 4096);
    wst_oframes_free(&of);
    rtw_ws_free(ws);
    free(p);
  }
}

/* A ping queued while a large message is half written goes out between its fragments, not
 * after the message. RFC 6455 5.4: "Control frames MAY be injected in the middle of a
 * fragmented message"; 5.5: control frames are the way to check liveness during long sends. */
static void s10_ping_between_fragments(void **state)
{
  size_t len = 1u << 20;
  uint8_t *p = wst_pattern(len, 1, 12);
  rtw_ws *ws = new_server(4096);
  wst_buf out;
  wst_oframes of;
  size_t written = 3 * (4096 + 4) + 1000, k, ping_at = 0, i, off = 0;
  const void *d;
  size_t n;

  (void)state;
  wst_buf_init(&out);
  assert_int_equal(rtw_ws_queue_text(ws, (const char *)p, len), 0);
  /* write 3.x frames (headers are 4 bytes: 126 + 16-bit length) */
  while (out.len < written) {
    assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
    assert_true(n > 0);
    if (n > written - out.len)
      n = written - out.len;
    wst_buf_put(&out, d, n);
    assert_int_equal(rtw_ws_send_consumed(ws, n), 0);
  }
  assert_int_equal(rtw_ws_queue_ping(ws, "mid", 3), 0);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_CONTIG), 0);
  wst_parse_out(out.p, out.len, 0, &of);
  k = 3; /* the frame being written when the ping was queued */
  for (i = 0; i < of.n; i++)
    if (of.f[i].opcode == PING)
      ping_at = i;
  assert_int_equal(of.n, 256 + 1);
  assert_true(ping_at > k && ping_at <= k + 2);
  assert_memory_equal(of.f[ping_at].data, "mid", 3);
  /* the message around it is intact */
  for (i = 0; i < of.n; i++) {
    if (i == ping_at)
      continue;
    assert_int_equal(of.f[i].opcode, off ? CONT : TEXT);
    assert_int_equal(of.f[i].fin, off + of.f[i].len == len);
    assert_memory_equal(of.f[i].data, p + off, of.f[i].len);
    off += of.f[i].len;
  }
  assert_int_equal(off, len);
  wst_oframes_free(&of);
  wst_buf_free(&out);
  rtw_ws_free(ws);
  free(p);
}

/* The automatic pong for a ping received while a large message is half written goes out
 * between its fragments too. RFC 6455 5.5.2: respond "as soon as is practical". */
static void s10_pong_between_fragments(void **state)
{
  size_t len = 256u << 10;
  uint8_t *p = wst_pattern(len, 0, 13);
  rtw_ws *ws = new_server(4096);
  wst_buf out, in;
  wst_oframes of;
  size_t i, pong_at = 0, nread;
  const void *d;
  size_t n;

  (void)state;
  wst_buf_init(&out);
  wst_buf_init(&in);
  assert_int_equal(rtw_ws_queue_binary(ws, p, len), 0);
  while (out.len < 10) { /* the header and 6 payload bytes of the first fragment */
    assert_int_equal(rtw_ws_send_pending(ws, &d, &n), 0);
    assert_true(n > 0);
    if (n > 10 - out.len)
      n = 10 - out.len;
    wst_buf_put(&out, d, n);
    assert_int_equal(rtw_ws_send_consumed(ws, n), 0);
  }
  fr(&in, 1, PING, "are you there");
  assert_int_equal(rtw_ws_recv(ws, in.p, in.len, &nread), 0);
  assert_int_equal(nread, in.len);
  assert_int_equal(wst_drain(ws, &out, WST_DRAIN_IOV), 0);
  wst_parse_out(out.p, out.len, 0, &of);
  assert_int_equal(of.n, 64 + 1);
  for (i = 0; i < of.n; i++)
    if (of.f[i].opcode == PONG)
      pong_at = i;
  assert_true(pong_at >= 1 && pong_at <= 2);
  assert_int_equal(of.f[pong_at].len, 13);
  assert_memory_equal(of.f[pong_at].data, "are you there", 13);
  wst_oframes_free(&of);
  wst_buf_free(&out);
  wst_buf_free(&in);
  rtw_ws_free(ws);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(s1_small_lengths),
    cmocka_unit_test(s1_64k_lengths),
    cmocka_unit_test(s1_1mib),
    cmocka_unit_test(s1_mixed_stream),
    cmocka_unit_test(s2_1_ping_empty),
    cmocka_unit_test(s2_2_ping_payload),
    cmocka_unit_test(s2_4_ping_125),
    cmocka_unit_test(s2_5_ping_126),
    cmocka_unit_test(s2_ping_fragmented),
    cmocka_unit_test(s2_7_unsolicited_pong),
    cmocka_unit_test(s2_9_pong_then_ping),
    cmocka_unit_test(s2_10_ten_pings),
    cmocka_unit_test(s3_1_text),
    cmocka_unit_test(s3_2_after_valid_message),
    cmocka_unit_test(s3_5_binary),
    cmocka_unit_test(s3_6_control),
    cmocka_unit_test(s3_fragments),
    cmocka_unit_test(s4_1_reserved_data_opcodes),
    cmocka_unit_test(s4_2_reserved_control_opcodes),
    cmocka_unit_test(s4_reserved_not_final),
    cmocka_unit_test(s5_1_fragmented_control),
    cmocka_unit_test(s5_3_two_fragments),
    cmocka_unit_test(s5_6_control_between_fragments),
    cmocka_unit_test(s5_9_continuation_without_message),
    cmocka_unit_test(s5_15_continuation_after_message),
    cmocka_unit_test(s5_18_new_message_inside_fragmented),
    cmocka_unit_test(s5_19_five_fragments_two_pings),
    cmocka_unit_test(s5_one_byte_fragments),
    cmocka_unit_test(s5_empty_fragments),
    cmocka_unit_test(s6_1_empty),
    cmocka_unit_test(s6_2_valid_split_everywhere),
    cmocka_unit_test(s6_3_invalid),
    cmocka_unit_test(s6_4_fail_fast),
    cmocka_unit_test(s6_5_kuhn_valid),
    cmocka_unit_test(s6_6_prefixes),
    cmocka_unit_test(s6_invalid_samples),
    cmocka_unit_test(s6_22_noncharacters),
    cmocka_unit_test(s6_sweep),
    cmocka_unit_test(s6_invalid_between_valid),
    cmocka_unit_test(s7_1_1_message_then_close),
    cmocka_unit_test(s7_1_2_after_close_ignored),
    cmocka_unit_test(s7_1_5_close_between_fragments),
    cmocka_unit_test(s7_3_1_empty_close),
    cmocka_unit_test(s7_3_2_one_byte_close),
    cmocka_unit_test(s7_3_3_code_and_reason),
    cmocka_unit_test(s7_3_6_reason_too_long),
    cmocka_unit_test(s7_5_1_reason_invalid_utf8),
    cmocka_unit_test(s7_7_valid_codes),
    cmocka_unit_test(s7_9_invalid_codes),
    cmocka_unit_test(s7_our_close_then_peer_close),
    cmocka_unit_test(s9_1_4mib_one_frame),
    cmocka_unit_test(s9_3_4mib_fragmented),
    cmocka_unit_test(s9_7_many_messages),
    cmocka_unit_test(s10_1_fragmented_send),
    cmocka_unit_test(s10_fragment_boundaries),
    cmocka_unit_test(s10_ping_between_fragments),
    cmocka_unit_test(s10_pong_between_fragments),
  };
  if (getenv("RTWT_FILTER") != NULL) /* e.g. RTWT_FILTER='s6_*' to run some cases */
    cmocka_set_test_filter(getenv("RTWT_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
