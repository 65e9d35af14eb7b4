/* SPDX-License-Identifier: MIT */
/* WebSocket frame codec tests: RFC 6455 5.2 header parse/build at every length boundary, every
 * truncation and every first/second byte, and 5.3 masking through every variant (portable,
 * AVX2, AVX-512, the dispatchers) against a byte loop at every alignment, offset and split. */
#if defined(__linux__)
#  define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS for the guard-page test */
#  include <sys/mman.h>
#  include <unistd.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "rtweb/ws.h"
#include "rtwt.h"

/* ------------------------------------------------------------------ helpers */

#define MAX63 ((UINT64_C(1) << 63) - 1u)

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

/* xorshift64*: deterministic test data. */
static uint64_t rnd(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

static void fill_random(uint8_t *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    p[i] = (uint8_t)(rnd() >> 56);
}

static rtw_ws_frame make_frame(unsigned fin, unsigned rsv, unsigned opcode, unsigned masked,
                               uint64_t len)
{
  rtw_ws_frame f;

  memset(&f, 0, sizeof f);
  f.fin = (uint8_t)fin;
  f.rsv = (uint8_t)rsv;
  f.opcode = (uint8_t)opcode;
  f.masked = (uint8_t)masked;
  if (masked) {
    f.mask[0] = 0x37;
    f.mask[1] = 0xFA;
    f.mask[2] = 0x21;
    f.mask[3] = 0x3D;
  }
  f.payload_len = len;
  return f;
}

static void assert_frame_equal(const rtw_ws_frame *a, const rtw_ws_frame *b)
{
  assert_int_equal(a->fin, b->fin);
  assert_int_equal(a->rsv, b->rsv);
  assert_int_equal(a->opcode, b->opcode);
  assert_int_equal(a->masked, b->masked);
  assert_memory_equal(a->mask, b->mask, 4);
  assert_true(a->payload_len == b->payload_len);
}

/* The header size RFC 6455 5.2 prescribes for a payload length. */
static size_t expected_header_len(uint64_t len, unsigned masked)
{
  size_t n = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;

  return n + (masked ? 4u : 0u);
}

/* ------------------------------------------------------------------ parse and build */

static const uint64_t boundary_lengths[] = {
  0, 1, 125, 126, 127, 128, 0xFFFF, 0x10000, 0x10001, 0xFFFFFFFFu, UINT64_C(0x100000000),
  UINT64_C(0x100000001), MAX63 - 1u, MAX63,
};
#define N_BOUNDARY (sizeof boundary_lengths / sizeof boundary_lengths[0])

static void test_length_boundaries_round_trip(void **state)
{
  size_t i;
  unsigned masked, op;

  (void)state;
  for (i = 0; i < N_BOUNDARY; i++) {
    for (masked = 0; masked < 2; masked++) {
      for (op = 0; op < 16; op += 5) {
        rtw_ws_frame f = make_frame(op & 1u, op & 7u, op, masked, boundary_lengths[i]), g;
        uint8_t buf[RTW_WS_MAX_HEADER + 8];
        size_t hl = 99, pl = 99;

        memset(buf, 0xEE, sizeof buf);
        assert_int_equal(rtw_ws_frame_build(buf, &f, &hl), 0);
        assert_int_equal(hl, expected_header_len(f.payload_len, masked));
        assert_int_equal(buf[hl], 0xEE); /* wrote nothing past the header */
        /* parse exactly the header, and the header followed by payload bytes */
        assert_int_equal(rtw_ws_frame_parse(buf, hl, &g, &pl), 0);
        assert_int_equal(pl, hl);
        assert_frame_equal(&f, &g);
        assert_int_equal(rtw_ws_frame_parse(buf, sizeof buf, &g, &pl), 0);
        assert_int_equal(pl, hl);
        assert_frame_equal(&f, &g);
      }
    }
  }
}

/* A header of each shape; every proper prefix must ask for more and leave *frame alone. */
static void test_parse_truncated_prefixes(void **state)
{
  size_t i, cut;
  unsigned masked;

  (void)state;
  for (i = 0; i < N_BOUNDARY; i++) {
    for (masked = 0; masked < 2; masked++) {
      rtw_ws_frame f = make_frame(1, 0, RTW_WS_OP_BINARY, masked, boundary_lengths[i]), g, h;
      uint8_t buf[RTW_WS_MAX_HEADER];
      size_t hl, pl;

      assert_int_equal(rtw_ws_frame_build(buf, &f, &hl), 0);
      for (cut = 0; cut < hl; cut++) {
        /* copy the prefix to the end of a heap block so a read past it is caught by ASan
         * and valgrind */
        uint8_t *p = malloc(cut + 1u);
        assert_non_null(p);
        memcpy(p, buf, cut);
        memset(&g, 0xA5, sizeof g);
        h = g;
        pl = 99;
        assert_int_equal(rtw_ws_frame_parse(p, cut, &g, &pl), 0);
        assert_int_equal(pl, 0);
        assert_memory_equal(&g, &h, sizeof g);
        free(p);
      }
    }
  }
  /* no input at all, even without a buffer */
  {
    rtw_ws_frame g;
    size_t pl = 99;
    assert_int_equal(rtw_ws_frame_parse(NULL, 0, &g, &pl), 0);
    assert_int_equal(pl, 0);
  }
}

/* Every first byte: FIN, the 8 RSV combinations and the 16 opcodes, reported as they are. */
static void test_parse_every_first_byte(void **state)
{
  unsigned b0, masked;

  (void)state;
  for (b0 = 0; b0 < 256; b0++) {
    for (masked = 0; masked < 2; masked++) {
      uint8_t in[6] = {(uint8_t)b0, (uint8_t)(masked ? 0x85 : 0x05), 1, 2, 3, 4};
      rtw_ws_frame g;
      size_t pl;

      assert_int_equal(rtw_ws_frame_parse(in, sizeof in, &g, &pl), 0);
      assert_int_equal(pl, masked ? 6 : 2);
      assert_int_equal(g.fin, b0 >> 7);
      assert_int_equal(g.rsv, (b0 >> 4) & 7u);
      assert_int_equal(g.opcode, b0 & 15u);
      assert_int_equal(g.masked, masked);
      assert_true(g.payload_len == 5);
      /* build gives the same bytes back */
      {
        uint8_t out[RTW_WS_MAX_HEADER];
        size_t ol;
        assert_int_equal(rtw_ws_frame_build(out, &g, &ol), 0);
        assert_int_equal(ol, pl);
        assert_memory_equal(out, in, ol);
      }
    }
  }
  /* the named RSV bits */
  {
    uint8_t in[2] = {0xC1, 0x00};
    rtw_ws_frame g;
    size_t pl;
    assert_int_equal(rtw_ws_frame_parse(in, 2, &g, &pl), 0);
    assert_int_equal(g.rsv, RTW_WS_RSV1);
    in[0] = 0xA1;
    assert_int_equal(rtw_ws_frame_parse(in, 2, &g, &pl), 0);
    assert_int_equal(g.rsv, RTW_WS_RSV2);
    in[0] = 0x91;
    assert_int_equal(rtw_ws_frame_parse(in, 2, &g, &pl), 0);
    assert_int_equal(g.rsv, RTW_WS_RSV3);
  }
}

/* Every second byte (MASK and the 7-bit length) over all input lengths 0..14. */
static void test_parse_every_second_byte(void **state)
{
  unsigned b1;
  size_t len;

  (void)state;
  for (b1 = 0; b1 < 256; b1++) {
    uint8_t in[RTW_WS_MAX_HEADER] = {0x82, (uint8_t)b1};
    unsigned len7 = b1 & 0x7Fu, masked = b1 >> 7;
    size_t need = (len7 == 127 ? 10u : len7 == 126 ? 4u : 2u) + (masked ? 4u : 0u);

    /* make the extended lengths minimal: 16-bit 0x0100, 64-bit 0x0000000000010000 */
    if (len7 == 126)
      in[2] = 1;
    if (len7 == 127)
      in[7] = 1;
    for (len = 0; len <= sizeof in; len++) {
      rtw_ws_frame g;
      size_t pl = 99;
      assert_int_equal(rtw_ws_frame_parse(in, len, &g, &pl), 0);
      assert_int_equal(pl, len < need ? 0u : need);
      if (pl != 0) {
        assert_int_equal(g.masked, masked);
        assert_true(g.payload_len == (len7 == 127 ? 0x10000u : len7 == 126 ? 0x100u : len7));
      }
    }
  }
}

static void expect_bad_length(const uint8_t *in, size_t len)
{
  rtw_ws_frame g;
  size_t pl = 99, cut;

  assert_int_equal(rtw_ws_frame_parse(in, len, &g, &pl), RTW_ERR_WS_BAD_LENGTH);
  assert_int_equal(pl, 0);
  /* the header is judged only when complete: shorter prefixes ask for more */
  for (cut = 0; cut < len; cut++) {
    pl = 99;
    assert_int_equal(rtw_ws_frame_parse(in, cut, &g, &pl), 0);
    assert_int_equal(pl, 0);
  }
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
  unsigned i;

  for (i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length" and the
 * 64-bit length's most significant bit MUST be 0. */
static void test_parse_rejects_bad_lengths(void **state)
{
  static const uint64_t bad64[] = {
    0, 1, 125, 126, 127, 0xFFFF, UINT64_C(1) << 63, (UINT64_C(1) << 63) + 0x10000u, UINT64_MAX,
  };
  uint8_t in[RTW_WS_MAX_HEADER];
  unsigned masked, v;
  size_t i;

  (void)state;
  for (masked = 0; masked < 2; masked++) {
    uint8_t mbit = (uint8_t)(masked ? 0x80 : 0);
    size_t mlen = masked ? 4u : 0u;

    memset(in, 0x5A, sizeof in);
    in[0] = 0x82;
    in[1] = (uint8_t)(mbit | 126);
    for (v = 0; v < 126; v++) {
      put_be(in + 2, v, 2);
      expect_bad_length(in, 4 + mlen);
    }
    in[1] = (uint8_t)(mbit | 127);
    for (i = 0; i < sizeof bad64 / sizeof bad64[0]; i++) {
      put_be(in + 2, bad64[i], 8);
      expect_bad_length(in, 10 + mlen);
    }
    for (v = 0; v < 0x10000u; v += 0x3FFu) { /* a spread of the 16-bit range in 64-bit form */
      put_be(in + 2, v, 8);
      expect_bad_length(in, 10 + mlen);
    }
  }
}

static void test_build_invalid_arguments(void **state)
{
  uint8_t out[RTW_WS_MAX_HEADER];
  rtw_ws_frame f = make_frame(1, 0, RTW_WS_OP_TEXT, 0, 5), g;
  size_t hl;

  (void)state;
  g = f;
  g.opcode = 16;
  hl = 99;
  assert_int_equal(rtw_ws_frame_build(out, &g, &hl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(hl, 0);
  g = f;
  g.rsv = 8;
  assert_int_equal(rtw_ws_frame_build(out, &g, &hl), RTW_ERR_INVALID_ARGUMENT);
  g = f;
  g.payload_len = UINT64_C(1) << 63;
  assert_int_equal(rtw_ws_frame_build(out, &g, &hl), RTW_ERR_INVALID_ARGUMENT);
  g.payload_len = UINT64_MAX;
  assert_int_equal(rtw_ws_frame_build(out, &g, &hl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_frame_build(NULL, &f, &hl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_frame_build(out, NULL, &hl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_frame_build(out, &f, NULL), RTW_ERR_INVALID_ARGUMENT);
  /* fin and masked: any non-zero value means set */
  g = f;
  g.fin = 0x10;
  assert_int_equal(rtw_ws_frame_build(out, &g, &hl), 0);
  assert_int_equal(out[0], 0x81);
}

static void test_parse_invalid_arguments(void **state)
{
  uint8_t in[2] = {0x81, 0x00};
  rtw_ws_frame g;
  size_t pl = 99;

  (void)state;
  assert_int_equal(rtw_ws_frame_parse(NULL, 2, &g, &pl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(pl, 0);
  assert_int_equal(rtw_ws_frame_parse(in, 2, NULL, &pl), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw_ws_frame_parse(in, 2, &g, NULL), RTW_ERR_INVALID_ARGUMENT);
}

/* Oracles on random input: build -> parse is the identity for valid frames; parse -> build
 * gives back the parsed bytes (every accepted header is the canonical one). */
static void test_random_round_trips(void **state)
{
  int i;

  (void)state;
  for (i = 0; i < 200000; i++) {
    uint8_t in[RTW_WS_MAX_HEADER], out[RTW_WS_MAX_HEADER];
    uint64_t r = rnd();
    rtw_ws_frame f, g;
    size_t hl, pl;
    int rv;

    fill_random(in, sizeof in);
    if (r & 1u) /* biased towards small 64-bit lengths so some are valid */
      in[2] = in[3] = in[4] = in[5] = 0;
    rv = rtw_ws_frame_parse(in, sizeof in, &g, &pl);
    if (rv == 0) {
      assert_int_equal(rtw_ws_frame_build(out, &g, &hl), 0);
      assert_int_equal(hl, pl);
      assert_memory_equal(out, in, hl);
    } else {
      unsigned len7 = in[1] & 0x7Fu;
      assert_int_equal(rv, RTW_ERR_WS_BAD_LENGTH);
      assert_true(len7 == 126 || len7 == 127);
    }
    f = make_frame((unsigned)(r >> 8) & 1u, (unsigned)(r >> 9) & 7u, (unsigned)(r >> 12) & 15u,
                   (unsigned)(r >> 16) & 1u, rnd() >> (1u + (unsigned)(r >> 20) % 63u));
    memcpy(f.mask, in, f.masked ? 4 : 0);
    assert_int_equal(rtw_ws_frame_build(out, &f, &hl), 0);
    assert_int_equal(rtw_ws_frame_parse(out, hl, &g, &pl), 0);
    assert_int_equal(pl, hl);
    assert_frame_equal(&f, &g);
  }
}

/* ------------------------------------------------------------------ RFC 6455 5.7 examples */

typedef struct golden {
  const char *name;
  const uint8_t *bytes; /* the whole frame */
  size_t len;
  uint8_t fin, opcode, masked;
  const uint8_t *payload; /* unmasked */
  size_t payload_len;
} golden;

static const uint8_t hello[] = {0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t ex_text[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t ex_text_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t ex_frag1[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
static const uint8_t ex_frag2[] = {0x80, 0x02, 0x6c, 0x6f};
static const uint8_t ex_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t ex_pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};

static void check_golden(const golden *g)
{
  rtw_ws_frame f;
  uint8_t out[RTW_WS_MAX_HEADER];
  uint8_t *payload;
  size_t hl, ol;

  assert_int_equal(rtw_ws_frame_parse(g->bytes, g->len, &f, &hl), 0);
  assert_int_equal(f.fin, g->fin);
  assert_int_equal(f.rsv, 0);
  assert_int_equal(f.opcode, g->opcode);
  assert_int_equal(f.masked, g->masked);
  assert_true(f.payload_len == g->payload_len);
  assert_int_equal(hl + g->payload_len, g->len);
  payload = malloc(g->payload_len + 1u);
  assert_non_null(payload);
  if (f.masked)
    rtw_ws_mask(payload, g->bytes + hl, g->payload_len, f.mask, 0);
  else
    memcpy(payload, g->bytes + hl, g->payload_len);
  assert_memory_equal(payload, g->payload, g->payload_len);
  /* and back: the same header, the same masked bytes */
  assert_int_equal(rtw_ws_frame_build(out, &f, &ol), 0);
  assert_int_equal(ol, hl);
  assert_memory_equal(out, g->bytes, hl);
  if (f.masked) {
    rtw_ws_mask(payload, g->payload, g->payload_len, f.mask, 0);
    assert_memory_equal(payload, g->bytes + hl, g->payload_len);
  }
  free(payload);
}

static void test_rfc6455_examples(void **state)
{
  /* 256 bytes and 64 KiB binary messages in a single unmasked frame */
  uint8_t *big = malloc(10 + 65536);
  uint8_t *body = malloc(65536);
  size_t i;

  (void)state;
  assert_non_null(big);
  assert_non_null(body);
  for (i = 0; i < 65536; i++)
    body[i] = (uint8_t)(i * 7u + 3u);
  {
    const golden cases[] = {
      {"single unmasked text", ex_text, sizeof ex_text, 1, 1, 0, hello, 5},
      {"single masked text", ex_text_masked, sizeof ex_text_masked, 1, 1, 1, hello, 5},
      {"fragment 1", ex_frag1, sizeof ex_frag1, 0, 1, 0, hello, 3},
      {"fragment 2", ex_frag2, sizeof ex_frag2, 1, 0, 0, hello + 3, 2},
      {"unmasked ping", ex_ping, sizeof ex_ping, 1, 9, 0, hello, 5},
      {"masked pong", ex_pong_masked, sizeof ex_pong_masked, 1, 10, 1, hello, 5},
    };
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
      check_golden(&cases[i]);
  }
  {
    /* "0x82 0x7E 0x0100 [256 bytes of binary data]" */
    golden g = {"256 bytes", big, 4 + 256, 1, 2, 0, body, 256};
    big[0] = 0x82;
    big[1] = 0x7E;
    big[2] = 0x01;
    big[3] = 0x00;
    memcpy(big + 4, body, 256);
    check_golden(&g);
  }
  {
    /* "0x82 0x7F 0x0000000000010000 [65536 bytes of binary data]" */
    static const uint8_t hdr[10] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    golden g = {"64 KiB", big, 10 + 65536, 1, 2, 0, body, 65536};
    memcpy(big, hdr, 10);
    memcpy(big + 10, body, 65536);
    check_golden(&g);
  }
  free(big);
  free(body);
}

/* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58, also in pieces. */
static void test_mask_rfc_hello(void **state)
{
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  static const uint8_t want[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  uint8_t out[5];
  size_t cut;

  (void)state;
  rtw_ws_mask(out, hello, 5, key, 0);
  assert_memory_equal(out, want, 5);
  for (cut = 0; cut <= 5; cut++) {
    memcpy(out, want, 5);
    rtw_ws_mask(out, out, cut, key, 0);           /* in place */
    rtw_ws_mask(out + cut, out + cut, 5 - cut, key, cut);
    assert_memory_equal(out, hello, 5);
  }
  assert_true(rtw__ws_mask_key(key) == 0x3d21fa37u);
  assert_true(rtw__ws_mask_rotate(0x3d21fa37u, 0) == 0x3d21fa37u);
  assert_true(rtw__ws_mask_rotate(0x3d21fa37u, 1) == 0x373d21fau);
  assert_true(rtw__ws_mask_rotate(0x3d21fa37u, 2) == 0xfa373d21u);
  assert_true(rtw__ws_mask_rotate(0x3d21fa37u, 7) == 0x21fa373du);
  assert_true(rtw__ws_mask_rotate(0x3d21fa37u, UINT64_MAX) == 0x21fa373du);
  /* invalid arguments do nothing (and do not crash) */
  rtw_ws_mask(NULL, hello, 5, key, 0);
  rtw_ws_mask(out, NULL, 5, key, 0);
  rtw_ws_mask(out, hello, 5, NULL, 0);
}

/* ------------------------------------------------------------------ masking variants */

typedef void (*mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                        uint64_t offset);

static void mask_inline(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                        uint64_t offset)
{
  rtw__ws_mask(dst, src, len, key_le, offset);
}

static void mask_public(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key_le,
                        uint64_t offset)
{
  uint8_t key[4] = {(uint8_t)key_le, (uint8_t)(key_le >> 8), (uint8_t)(key_le >> 16),
                    (uint8_t)(key_le >> 24)};
  rtw_ws_mask(dst, src, len, key, offset);
}

typedef struct variant {
  const char *name;
  mask_fn fn;
  int level; /* the CPU must reach this RTW__WS_MASK_* level */
} variant;

static const variant variants[] = {
  {"portable", rtw__ws_mask_portable, RTW__WS_MASK_PORTABLE},
#if defined(RTW__WS_MASK_HAVE_X86)
  {"avx2", rtw__ws_mask_avx2, RTW__WS_MASK_AVX2},
  {"avx512", rtw__ws_mask_avx512, RTW__WS_MASK_AVX512},
#endif
  {"simd", rtw__ws_mask_simd, RTW__WS_MASK_PORTABLE},
  {"inline", mask_inline, RTW__WS_MASK_PORTABLE},
  {"public", mask_public, RTW__WS_MASK_PORTABLE},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

static const variant *find_variant(const char *name)
{
  size_t i;

  for (i = 0; i < N_VARIANTS; i++)
    if (strcmp(variants[i].name, name) == 0)
      return &variants[i];
  return NULL;
}

static const uint8_t test_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 5.3, literally. */
static void mask_reference(uint8_t *dst, const uint8_t *src, size_t len, uint64_t offset)
{
  size_t i;

  for (i = 0; i < len; i++)
    dst[i] = (uint8_t)(src[i] ^ test_key[(offset + i) % 4]);
}

#define GRID_LEN 300u
#define ALIGNS 64u
#define GUARD 64u
#define SENTINEL 0xC3u

/* Out of place at every src and dst alignment (every astep-th one), offset 0..7 and length
 * 0..GRID_LEN; nothing outside dst[0, len) may change and src must stay as it was. */
static void check_grid_out_of_place(const variant *v, const uint8_t *data,
                                    uint8_t expected[8][GRID_LEN], size_t astep)
{
  uint8_t srcbuf[ALIGNS + GRID_LEN + GUARD], dstbuf[GUARD + ALIGNS + GRID_LEN + GUARD];
  uint32_t key = rtw__ws_mask_key(test_key);
  size_t sa, da, len;
  unsigned off;

  memset(dstbuf, SENTINEL, sizeof dstbuf);
  for (sa = 0; sa < ALIGNS; sa += astep) {
    memcpy(srcbuf + sa, data, GRID_LEN);
    for (da = 0; da < ALIGNS; da += astep) {
      uint8_t *dst = dstbuf + GUARD + da;
      for (off = 0; off < 8; off++) {
        for (len = 0; len <= GRID_LEN; len++) {
          v->fn(dst, srcbuf + sa, len, key, off);
          if (memcmp(dst, expected[off], len) != 0 || dst[-1] != SENTINEL ||
              dst[len] != SENTINEL)
            fail_msg("%s: src align %zu dst align %zu offset %u len %zu", v->name, sa, da,
                     off, len);
        }
        memset(dst, SENTINEL, GRID_LEN);
      }
    }
    assert_memory_equal(srcbuf + sa, data, GRID_LEN);
  }
}

/* In place at every alignment, offset 0..7 and length 0..GRID_LEN. */
static void check_grid_in_place(const variant *v, const uint8_t *data,
                                uint8_t expected[8][GRID_LEN])
{
  uint8_t buf[GUARD + ALIGNS + GRID_LEN + GUARD];
  uint32_t key = rtw__ws_mask_key(test_key);
  size_t a, len;
  unsigned off;

  for (a = 0; a < ALIGNS; a++) {
    uint8_t *p = buf + GUARD + a;
    for (off = 0; off < 8; off++) {
      for (len = 0; len <= GRID_LEN; len++) {
        memset(buf, SENTINEL, sizeof buf);
        memcpy(p, data, len);
        v->fn(p, p, len, key, off);
        if (memcmp(p, expected[off], len) != 0 || p[-1] != SENTINEL || p[len] != SENTINEL)
          fail_msg("%s in place: align %zu offset %u len %zu", v->name, a, off, len);
      }
    }
  }
}

/* Large buffers (beyond every unrolled loop) at a few alignments and odd offsets. */
static void check_large(const variant *v)
{
  static const size_t lens[] = {100000, 65536 + 13, (1u << 20) + 7};
  static const uint64_t offs[] = {0, 1, 2, 3, UINT64_C(0x100000003), UINT64_MAX};
  uint32_t key = rtw__ws_mask_key(test_key);
  size_t i, j;

  for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    size_t n = lens[i];
    uint8_t *src = malloc(n + 128), *dst = malloc(n + 128), *want = malloc(n);
    assert_true(src && dst && want);
    fill_random(src, n + 128);
    for (j = 0; j < sizeof offs / sizeof offs[0]; j++) {
      size_t sa = (j * 17u) % 64u, da = (j * 29u + 3u) % 64u;
      mask_reference(want, src + sa, n, offs[j]);
      dst[da + n] = SENTINEL;
      v->fn(dst + da, src + sa, n, key, offs[j]);
      assert_memory_equal(dst + da, want, n);
      assert_int_equal(dst[da + n], SENTINEL);
      memcpy(dst + da, src + sa, n); /* in place */
      v->fn(dst + da, dst + da, n, key, offs[j]);
      assert_memory_equal(dst + da, want, n);
    }
    free(src);
    free(dst);
    free(want);
  }
}

/* Masking in two pieces (cut anywhere, running offset) equals masking whole, and so does
 * masking in fixed-size pieces of every size 1..80. */
static void check_pieces(const variant *v)
{
  enum { N = 1000 };
  static uint8_t data[N], whole[N], pieces[N];
  uint32_t key = rtw__ws_mask_key(test_key);
  size_t cut, step, at;

  fill_random(data, N);
  mask_reference(whole, data, N, 0);
  for (cut = 0; cut <= N; cut++) {
    v->fn(pieces, data, cut, key, 0);
    v->fn(pieces + cut, data + cut, N - cut, key, cut);
    if (memcmp(pieces, whole, N) != 0)
      fail_msg("%s: cut at %zu", v->name, cut);
    memcpy(pieces, data, N); /* in place */
    v->fn(pieces, pieces, cut, key, 0);
    v->fn(pieces + cut, pieces + cut, N - cut, key, cut);
    if (memcmp(pieces, whole, N) != 0)
      fail_msg("%s in place: cut at %zu", v->name, cut);
  }
  for (step = 1; step <= 80; step++) {
    for (at = 0; at < N; at += step) {
      size_t n = N - at < step ? N - at : step;
      v->fn(pieces + at, data + at, n, key, at);
    }
    if (memcmp(pieces, whole, N) != 0)
      fail_msg("%s: pieces of %zu", v->name, step);
  }
}

#if defined(__linux__)
/* Buffers that end at, or start at, an inaccessible page: no variant may touch a byte
 * outside [src, src + len) or [dst, dst + len) (the AVX-512 masked loads must not fault). */
static void check_page_edges(const variant *v)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uint8_t *map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
  uint8_t *lo, *hi, want[GRID_LEN], data[GRID_LEN];
  uint32_t key = rtw__ws_mask_key(test_key);
  size_t len;

  assert_true(map != MAP_FAILED);
  assert_int_equal(mprotect(map, page, PROT_NONE), 0);
  assert_int_equal(mprotect(map + 3 * page, page, PROT_NONE), 0);
  lo = map + page;     /* the page before is inaccessible */
  hi = map + 3 * page; /* the page from here on is inaccessible */
  fill_random(data, GRID_LEN);
  for (len = 0; len <= GRID_LEN; len++) {
    mask_reference(want, data, len, len);
    memcpy(hi - len, data, len); /* src ends at the edge, dst starts at one */
    v->fn(lo, hi - len, len, key, len);
    assert_memory_equal(lo, want, len);
    memcpy(lo, data, len); /* and the other way round */
    v->fn(hi - len, lo, len, key, len);
    assert_memory_equal(hi - len, want, len);
    v->fn(hi - len, hi - len, len, key, len); /* in place */
    assert_memory_equal(hi - len, data, len);
  }
  assert_int_equal(munmap(map, 4 * page), 0);
}
#endif

/* Every check for one variant; astep > 1 thins the alignment grid (for the dispatchers,
 * which only route to the kernels tested in full). */
static void run_variant(const char *name, size_t astep)
{
  static uint8_t data[GRID_LEN], expected[8][GRID_LEN];
  const variant *v = find_variant(name);
  unsigned off;

  assert_non_null(v);
  assert_true(rtw__ws_mask_level() >= v->level); /* main() registers only what the CPU runs */
  fill_random(data, GRID_LEN);
  for (off = 0; off < 8; off++)
    mask_reference(expected[off], data, GRID_LEN, off);
  check_grid_out_of_place(v, data, expected, astep);
  check_grid_in_place(v, data, expected);
  check_large(v);
  check_pieces(v);
#if defined(__linux__)
  check_page_edges(v);
#endif
}

static void test_mask_portable(void **state)
{
  (void)state;
  run_variant("portable", 1);
}

#if defined(RTW__WS_MASK_HAVE_X86)
static void test_mask_avx2(void **state)
{
  (void)state;
  run_variant("avx2", 1);
}

static void test_mask_avx512(void **state)
{
  (void)state;
  run_variant("avx512", 1);
}
#endif

static void test_mask_dispatch(void **state)
{
  static const char *const names[] = {"portable", "AVX2", "AVX-512"};

  (void)state;
  print_message("# masking on this CPU: %s\n", names[rtw__ws_mask_level()]);
  run_variant("simd", 7);
  run_variant("inline", 7);
  run_variant("public", 7);
}

int main(void)
{
  struct CMUnitTest tests[16];
  size_t n = 0;
  const struct CMUnitTest fixed[] = {
    cmocka_unit_test(test_length_boundaries_round_trip),
    cmocka_unit_test(test_parse_truncated_prefixes),
    cmocka_unit_test(test_parse_every_first_byte),
    cmocka_unit_test(test_parse_every_second_byte),
    cmocka_unit_test(test_parse_rejects_bad_lengths),
    cmocka_unit_test(test_build_invalid_arguments),
    cmocka_unit_test(test_parse_invalid_arguments),
    cmocka_unit_test(test_random_round_trips),
    cmocka_unit_test(test_rfc6455_examples),
    cmocka_unit_test(test_mask_rfc_hello),
    cmocka_unit_test(test_mask_portable),
    cmocka_unit_test(test_mask_dispatch),
  };

  for (n = 0; n < sizeof fixed / sizeof fixed[0]; n++)
    tests[n] = fixed[n];
  /* A kernel the CPU (or valgrind, which hides AVX-512) cannot run is not registered: it is
   * neither passed nor skipped-as-passed, and the line below says so. */
#if defined(RTW__WS_MASK_HAVE_X86)
  if (rtw__ws_mask_level() >= RTW__WS_MASK_AVX2)
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mask_avx2);
  else
    print_message("# AVX2 masking not tested: this CPU does not run it\n");
  if (rtw__ws_mask_level() >= RTW__WS_MASK_AVX512)
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mask_avx512);
  else
    print_message("# AVX-512 masking not tested: this CPU does not run it\n");
#endif
  return _cmocka_run_group_tests("ws_frame", tests, n, NULL, NULL);
}
