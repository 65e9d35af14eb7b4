/* SPDX-License-Identifier: MIT */
/* Tests of the zlib seam (lib/ws/deflate.c): the RFC 7692 7.2.3 examples byte for byte, round
 * trips at every window and memLevel, inflate output bounded at every cap and input at every
 * split, context takeover against reset, the memory budget and its accounting, the memory
 * estimates against measured use, and a 1 GiB run of zeros inflated in bounded chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "deflate.h"
#include "rtwt.h"

/* ------------------------------------------------------------------ helpers */

typedef struct bytes {
  const uint8_t *p;
  size_t len;
} bytes;

#define B(...) ((bytes){(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})})

static void acct_init(rtw__zacct *acct, size_t budget)
{
  memset(acct, 0, sizeof *acct);
  assert_int_equal(rtw__mem_init(&acct->mem, NULL), 0);
  acct->budget = budget;
}

static void expect_bytes(const void *got, size_t got_len, bytes want)
{
  if (got_len != want.len || memcmp(got, want.p, want.len) != 0) {
    size_t k;

    print_message("# got     ");
    for (k = 0; k < got_len; k++)
      print_message(" %02x", ((const uint8_t *)got)[k]);
    print_message("\n# expected");
    for (k = 0; k < want.len; k++)
      print_message(" %02x", want.p[k]);
    print_message("\n");
    fail();
  }
}

/* Compress one whole message into a fresh buffer. */
static void deflate_msg(rtw__deflater *d, const void *in, size_t len, rtw__buf *out)
{
  out->len = 0;
  assert_int_equal(rtw__deflate(d, in, len, 1, out), 0);
}

/* Inflate a whole message (the data, then the tail) into out, drawing at most `cap` bytes per
 * call and feeding at most `piece` input bytes per call. Returns 0 or the first error (from
 * rtw__inflate or rtw__inflate_end); *outlen is what came out. */
static int inflate_msg(rtw__inflater *in, const uint8_t *data, size_t len, size_t piece,
                       size_t cap, uint8_t *out, size_t outcap, size_t *outlen, int reset)
{
  const uint8_t *srcs[2] = {data, rtw__deflate_tail};
  size_t lens[2] = {len, 4};
  size_t total = 0;
  int s, rv;

  for (s = 0; s < 2; s++) {
    size_t off = 0;

    for (;;) {
      size_t give = lens[s] - off < piece ? lens[s] - off : piece;
      size_t nin, nout, room = outcap - total < cap ? outcap - total : cap;

      rv = rtw__inflate(in, srcs[s] + off, give, &nin, out + total, room, &nout);
      if (rv != 0)
        return rv;
      assert_true(nin <= give);
      assert_true(nout <= room);
      off += nin;
      total += nout;
      /* Done with this input once it is consumed and zlib stopped short of filling the
       * output (a full output may hide more: drain). */
      if (off == lens[s] && nout < room)
        break;
      if (nin == 0 && nout == 0) {
        if (off < lens[s])
          fail_msg("no progress with input left (output over %zu bytes?)", outcap);
        break;
      }
    }
  }
  *outlen = total;
  return rtw__inflate_end(in, reset);
}

/* Deterministic test data: kind 0 compressible text, 1 random bytes, 2 zeros. */
static void fill(uint8_t *p, size_t n, int kind, uint32_t seed)
{
  static const char words[] = "{\"user\":\"alice\",\"text\":\"hello there\",\"ts\":1700000000}";
  uint32_t x = seed * 2654435761u + 1u;
  size_t k;

  for (k = 0; k < n; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (kind == 0)
      p[k] = (x & 31u) == 0 ? (uint8_t)('a' + x % 26u) : (uint8_t)words[k % (sizeof words - 1)];
    else if (kind == 1)
      p[k] = (uint8_t)(x >> 11);
    else
      p[k] = 0;
  }
}

/* ------------------------------------------------------------------ RFC 7692 7.2.3 */

/* 7.2.3.1: "Hello" compressed, then again with the window shared (context takeover). */
static void test_rfc_hello_deflate(void **state)
{
  rtw__zacct acct;
  rtw__deflater d;
  rtw__buf out = {0};

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 8), 0);
  assert_null(d.z); /* lazy: nothing until first use */
  assert_int_equal(acct.used, 0);
  deflate_msg(&d, "Hello", 5, &out);
  expect_bytes(out.data, out.len, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00));
  rtw__deflate_end(&d, 0);
  deflate_msg(&d, "Hello", 5, &out);
  expect_bytes(out.data, out.len, B(0xf2, 0x00, 0x11, 0x00, 0x00));
  /* Without context takeover the second message is the first again. */
  rtw__deflate_end(&d, 1);
  assert_int_equal(acct.used, 0);
  deflate_msg(&d, "Hello", 5, &out);
  expect_bytes(out.data, out.len, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00));
  rtw__deflater_free(&d);
  assert_int_equal(acct.used, 0);
  rtw__buf_free(&out, &acct.mem);
}

static void expect_inflate(rtw__inflater *in, bytes msg, const char *want, int reset)
{
  uint8_t out[64];
  size_t n = 0;

  assert_int_equal(inflate_msg(in, msg.p, msg.len, SIZE_MAX, sizeof out, out, sizeof out, &n,
                               reset),
                   0);
  expect_bytes(out, n, (bytes){(const uint8_t *)want, strlen(want)});
}

/* 7.2.3.1 to 7.2.3.4 received. */
static void test_rfc_inflate_vectors(void **state)
{
  rtw__zacct acct;
  rtw__inflater in;
  uint8_t out[64];
  size_t n;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  /* 7.2.3.1: a message, then one that refers back into the shared window. */
  expect_inflate(&in, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), "Hello", 0);
  expect_inflate(&in, B(0xf2, 0x00, 0x11, 0x00, 0x00), "Hello", 1);
  assert_int_equal(acct.used, 0);
  /* ... which a reset decompressor cannot decode (distance too far back). */
  expect_inflate(&in, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), "Hello", 1);
  assert_int_equal(inflate_msg(&in, (const uint8_t[]){0xf2, 0x00, 0x11, 0x00, 0x00}, 5,
                               SIZE_MAX, 64, out, sizeof out, &n, 1),
                   RTW_ERR_WS_BAD_COMPRESSED);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
  /* 7.2.3.2: a stored (uncompressed) block. */
  expect_inflate(&in, B(0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00),
                 "Hello", 0);
  /* 7.2.3.4: two blocks ("He", a sync flush, "llo"). */
  expect_inflate(&in,
                 B(0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00),
                 "Hello", 0);
  /* 7.2.3.6: the empty message. */
  expect_inflate(&in, B(0x00), "", 0);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
}

/* 7.2.3.3: a block with BFINAL = 1, followed by the 0x00 the RFC requires. */
static void test_rfc_bfinal(void **state)
{
  static const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
  rtw__zacct acct;
  rtw__inflater in;
  uint8_t out[64], twice[14];
  size_t n, cap;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  /* Whole, at every output cap and byte by byte: the same result. */
  for (cap = 1; cap <= 6; cap++) {
    n = 0;
    assert_int_equal(inflate_msg(&in, bfinal, sizeof bfinal, cap, cap, out, sizeof out, &n, 0),
                     0);
    expect_bytes(out, n, B('H', 'e', 'l', 'l', 'o'));
  }
  /* The stream ended: the next message starts a fresh one even with context takeover, so
   * the 7.2.3.1 first message decodes, and a back reference into the old window fails. */
  expect_inflate(&in, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), "Hello", 0);
  expect_inflate(&in, B(0xf2, 0x00, 0x11, 0x00, 0x00), "Hello", 0);
  assert_int_equal(inflate_msg(&in, bfinal, sizeof bfinal, SIZE_MAX, 64, out, 64, &n, 0), 0);
  assert_int_equal(inflate_msg(&in, (const uint8_t[]){0xf2, 0x00, 0x11, 0x00, 0x00}, 5,
                               SIZE_MAX, 64, out, sizeof out, &n, 0),
                   RTW_ERR_WS_BAD_COMPRESSED);
  rtw__inflater_free(&in);
  /* Data after the final block in the same message is an error, even when it is a whole
   * valid message on its own (which a fresh stream would decode). */
  memcpy(twice, bfinal, 7);
  memcpy(twice + 7, (const uint8_t[]){0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 7);
  for (cap = 1; cap <= 15; cap++) {
    assert_int_equal(inflate_msg(&in, twice, sizeof twice, cap, 64, out, sizeof out, &n, 0),
                     RTW_ERR_WS_BAD_COMPRESSED);
    rtw__inflater_free(&in);
  }
  /* A final block without the 0x00: the tail then leaves a stored block header cut short. */
  assert_int_equal(inflate_msg(&in, bfinal, 7, SIZE_MAX, 64, out, sizeof out, &n, 0),
                   RTW_ERR_WS_BAD_COMPRESSED);
  assert_null(in.z); /* released on the error */
  assert_int_equal(acct.used, 0);
}

/* A message cut inside a block does not end at a block boundary after the tail. */
static void test_truncated_message(void **state)
{
  rtw__zacct acct;
  rtw__inflater in;
  uint8_t out[64];
  size_t n = 0;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  /* The 7.2.3.4 message without its second block's last byte: the stored block is complete
   * but the fixed block "llo" is cut. */
  assert_int_equal(inflate_msg(&in,
                               (const uint8_t[]){0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff,
                                                 0xca, 0xc9},
                               10, SIZE_MAX, 64, out, sizeof out, &n, 0),
                   RTW_ERR_WS_BAD_COMPRESSED);
  assert_int_equal(acct.used, 0);
  /* Not DEFLATE at all: BTYPE 11 is reserved (RFC 1951 3.2.3). */
  assert_int_equal(inflate_msg(&in, (const uint8_t[]){0xff, 0xff}, 2, SIZE_MAX, 64, out,
                               sizeof out, &n, 0),
                   RTW_ERR_WS_BAD_COMPRESSED);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
}

/* 7.2.3.6 and pieces: an empty message is 0x00, also with context, also after a flushed
 * piece; every form decodes back. */
static void test_empty_and_pieces(void **state)
{
  rtw__zacct acct;
  rtw__deflater d;
  rtw__inflater in;
  rtw__buf out = {0};
  uint8_t back[64];
  size_t n;
  int k;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 8), 0);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  for (k = 0; k < 3; k++) { /* fresh, then with the context of earlier empty messages */
    deflate_msg(&d, NULL, 0, &out);
    expect_bytes(out.data, out.len, B(0x00));
    assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 64, back, 64,
                                 &n, 0),
                     0);
    assert_int_equal(n, 0);
    rtw__deflate_end(&d, 0);
  }
  /* "Hel" flushed as a piece, then an empty final piece: 0x00 completes the message. */
  out.len = 0;
  assert_int_equal(rtw__deflate(&d, "Hel", 3, 0, &out), 0);
  assert_true(out.len > 4);
  assert_memory_equal(out.data + out.len - 4, rtw__deflate_tail, 4); /* sync flushed */
  assert_int_equal(rtw__deflate(&d, NULL, 0, 0, &out), 0); /* nothing new: no bytes */
  n = out.len;
  assert_int_equal(rtw__deflate(&d, NULL, 0, 1, &out), 0);
  assert_int_equal(out.len, n + 1);
  assert_int_equal(out.data[n], 0);
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 64, back, 64, &n,
                               0),
                   0);
  expect_bytes(back, n, B('H', 'e', 'l'));
  rtw__deflate_end(&d, 0);
  /* "He" + "llo" in two pieces, the tail stripped from the last only. */
  out.len = 0;
  assert_int_equal(rtw__deflate(&d, "He", 2, 0, &out), 0);
  assert_int_equal(rtw__deflate(&d, "llo", 3, 1, &out), 0);
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, 1, 1, back, 64, &n, 1), 0);
  expect_bytes(back, n, B('H', 'e', 'l', 'l', 'o'));
  rtw__deflater_free(&d);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
  rtw__buf_free(&out, &acct.mem);
}

/* ------------------------------------------------------------------ round trips */

/* Compress data as one message, or in `pieces` pieces, and inflate it back. */
static void round_trip(rtw__deflater *d, rtw__inflater *in, const uint8_t *data, size_t len,
                       size_t pieces, size_t cap, int reset, uint8_t *back)
{
  rtw__buf out = {0};
  size_t n = 0, k, off = 0;

  for (k = 0; k < pieces; k++) {
    size_t part = k + 1 == pieces ? len - off : len / pieces;

    assert_int_equal(rtw__deflate(d, data + off, part, k + 1 == pieces, &out), 0);
    off += part;
  }
  rtw__deflate_end(d, reset);
  assert_int_equal(inflate_msg(in, (uint8_t *)out.data, out.len, SIZE_MAX, cap, back, len + 1,
                               &n, reset),
                   0);
  assert_int_equal(n, len);
  assert_memory_equal(back, data, len);
  rtw__buf_free(&out, &d->acct->mem);
}

static void test_round_trips(void **state)
{
  static const size_t sizes[] = {0, 1, 2, 15, 16, 125, 126, 1000, 4096, 65535, 65536, 200000};
  uint8_t *data = malloc(200000), *back = malloc(200001);
  rtw__zacct acct;
  unsigned w, m, kind, s;

  (void)state;
  assert_non_null(data);
  assert_non_null(back);
  acct_init(&acct, SIZE_MAX);
  for (w = 9; w <= 15; w++) {
    for (m = 1; m <= 9; m++) {
      rtw__deflater d;
      rtw__inflater in;
      int takeover = (w + m) % 2 == 0;

      assert_int_equal(rtw__deflater_init(&d, &acct, 1 + (w * m) % 9, w, m), 0);
      assert_int_equal(rtw__inflater_init(&in, &acct, w), 0);
      for (kind = 0; kind < 3; kind++) {
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
          /* Every size at the default memLevel, a few sizes at the others. */
          if (m != 8 && sizes[s] > 4096 && sizes[s] != 65536)
            continue;
          fill(data, sizes[s], (int)kind, w * 100u + m * 10u + s);
          round_trip(&d, &in, data, sizes[s], 1 + s % 3, 4096, !takeover, back);
        }
      }
      rtw__deflater_free(&d);
      rtw__inflater_free(&in);
      assert_int_equal(acct.used, 0);
    }
  }
  free(data);
  free(back);
}

/* zlib never emits a distance beyond w_size - 262, so a compressor at 9 bits stays within a
 * 256-byte window: a decompressor at 8 bits decodes it (what lets a client answer
 * client_max_window_bits=8 with a 9-bit zlib compressor). */
static void test_window_9_fits_8(void **state)
{
  uint8_t *data = malloc(100000), *back = malloc(100001);
  rtw__zacct acct;
  rtw__deflater d;
  rtw__inflater in;
  int k;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__deflater_init(&d, &acct, 9, 8, 8), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 9, 9, 8), 0);
  assert_int_equal(rtw__inflater_init(&in, &acct, 7), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__inflater_init(&in, &acct, 16), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__inflater_init(&in, &acct, 8), 0);
  for (k = 0; k < 3; k++) {
    fill(data, 100000, k, 7u + (unsigned)k);
    round_trip(&d, &in, data, 100000, 3, 1000, 0, back);
  }
  rtw__deflater_free(&d);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
  free(data);
  free(back);
}

static void test_init_arguments(void **state)
{
  rtw__zacct acct;
  rtw__deflater d;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__deflater_init(&d, &acct, 0, 15, 8), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 10, 15, 8), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 16, 8), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 0), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 10), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, NULL, 6, 15, 8), RTW_ERR_INVALID_ARGUMENT);
  assert_int_equal(rtw__deflater_init(&d, &acct, 1, 9, 1), 0);
  assert_int_equal(rtw__deflater_init(&d, &acct, 9, 15, 9), 0);
}

/* Inflate output drawn at every cap from 1 byte, input fed at several piece sizes: the same
 * bytes every time, never more than cap per call. */
static void test_inflate_every_cap(void **state)
{
  enum { LEN = 3000 };
  uint8_t data[LEN], back[LEN + 1];
  rtw__zacct acct;
  rtw__deflater d;
  rtw__inflater in;
  rtw__buf out = {0};
  size_t cap, n;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  fill(data, LEN, 0, 42);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 8), 0);
  deflate_msg(&d, data, LEN, &out);
  rtw__deflater_free(&d);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  for (cap = 1; cap <= LEN + 1; cap++) {
    size_t piece = cap % 5 == 0 ? 1 : cap % 5 == 1 ? out.len : cap;

    memset(back, 0, sizeof back);
    assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, piece, cap, back,
                                 sizeof back, &n, cap % 2),
                     0);
    assert_int_equal(n, LEN);
    assert_memory_equal(back, data, LEN);
    /* With reset = 0 each message must decode alone too: reset the window between them. */
    rtw__inflater_free(&in);
  }
  /* Input split in two at every offset. */
  for (n = 0; n <= out.len; n++) {
    size_t nin, nout, got = 0, off = 0;

    while (off < n) {
      assert_int_equal(rtw__inflate(&in, out.data + off, n - off, &nin, back + got,
                                    sizeof back - got, &nout), 0);
      off += nin;
      got += nout;
    }
    assert_int_equal(inflate_msg(&in, (uint8_t *)out.data + n, out.len - n, SIZE_MAX, 7,
                                 back + got, sizeof back - got, &nout, 1),
                     0);
    assert_int_equal(got + nout, LEN);
    assert_memory_equal(back, data, LEN);
  }
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
  rtw__buf_free(&out, &acct.mem);
}

/* Context takeover shrinks a repeated message; a reset compressor does not, and holds no
 * memory between messages. */
static void test_takeover_vs_reset(void **state)
{
  uint8_t data[2000], back[2001];
  rtw__zacct acct;
  rtw__deflater d;
  rtw__inflater in;
  rtw__buf out = {0};
  size_t first, n;
  int k;

  (void)state;
  acct_init(&acct, SIZE_MAX);
  fill(data, sizeof data, 1, 5); /* incompressible alone, free the second time */
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 8), 0);
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  deflate_msg(&d, data, sizeof data, &out);
  first = out.len;
  assert_true(first > sizeof data);
  rtw__deflate_end(&d, 0);
  assert_non_null(d.z);
  assert_true(acct.used > 0);
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 512, back,
                               sizeof back, &n, 0),
                   0);
  for (k = 0; k < 3; k++) {
    deflate_msg(&d, data, sizeof data, &out);
    assert_true(out.len < 40);
    rtw__deflate_end(&d, 0);
    assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 512, back,
                                 sizeof back, &n, 0),
                     0);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(back, data, sizeof data);
  }
  rtw__deflater_free(&d);
  rtw__inflater_free(&in);
  for (k = 0; k < 3; k++) {
    deflate_msg(&d, data, sizeof data, &out);
    assert_int_equal(out.len, first);
    rtw__deflate_end(&d, 1);
    assert_null(d.z);
    assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 512, back,
                                 sizeof back, &n, 1),
                     0);
    assert_null(in.z);
    assert_int_equal(acct.used, 0);
  }
  rtw__buf_free(&out, &acct.mem);
}

/* ------------------------------------------------------------------ memory */

/* The estimates bound what zlib takes after a first message, for every window and memLevel,
 * within a small margin (state structs whose size zlib does not publish). */
static void test_mem_estimates(void **state)
{
  uint8_t data[4096], back[4097];
  unsigned w, m;

  (void)state;
  fill(data, sizeof data, 0, 9);
  for (w = 9; w <= 15; w++) {
    for (m = 1; m <= 9; m++) {
      rtw__zacct acct;
      rtw__deflater d;
      rtw__buf out = {0};
      size_t est = rtw__deflate_mem_estimate(w, m);

      acct_init(&acct, SIZE_MAX);
      assert_int_equal(rtw__deflater_init(&d, &acct, 6, w, m), 0);
      deflate_msg(&d, data, sizeof data, &out);
      if (acct.used > est || est - acct.used > 512)
        fail_msg("deflate %u/%u: measured %zu, estimate %zu", w, m, acct.used, est);
      rtw__deflate_end(&d, 1);
      assert_int_equal(acct.used, 0);
      /* Exactly the measured budget suffices; one byte less is refused cleanly. */
      rtw__buf_free(&out, &acct.mem);
    }
  }
  for (w = 8; w <= 15; w++) {
    rtw__zacct acct;
    rtw__inflater in;
    size_t est = rtw__inflate_mem_estimate(w), n;

    acct_init(&acct, SIZE_MAX);
    assert_int_equal(rtw__inflater_init(&in, &acct, w), 0);
    expect_inflate(&in, B(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), "Hello", 0);
    if (acct.used > est || est - acct.used > 512)
      fail_msg("inflate %u: measured %zu, estimate %zu", w, acct.used, est);
    assert_int_equal(inflate_msg(&in, (const uint8_t[]){0x00}, 1, SIZE_MAX, 1, back, 1, &n, 1),
                     0);
    assert_int_equal(acct.used, 0);
  }
}

/* The budget refuses an allocation before it is made: the call fails with RTW_ERR_NOMEM,
 * nothing is left allocated, the output is unchanged; exactly enough budget succeeds. */
static void test_budget(void **state)
{
  uint8_t data[1000], back[1001];
  rtw__zacct acct;
  rtw__deflater d;
  rtw__inflater in;
  rtw__buf out = {0};
  size_t need, n;

  (void)state;
  fill(data, sizeof data, 0, 3);
  /* Measure, then replay with every smaller budget around the edges. */
  acct_init(&acct, SIZE_MAX);
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 12, 4), 0);
  deflate_msg(&d, data, sizeof data, &out);
  need = acct.used;
  rtw__deflater_free(&d);
  for (acct.budget = 0; acct.budget <= need;
       acct.budget += acct.budget + 1100 < need ? 997 : 1) {
    int rv;

    out.len = 3;
    rv = rtw__deflate(&d, data, sizeof data, 1, &out);
    if (acct.budget < need) {
      assert_int_equal(rv, RTW_ERR_NOMEM);
      assert_int_equal(out.len, 3);
      rtw__deflater_free(&d);
      assert_int_equal(acct.used, 0);
    } else {
      assert_int_equal(rv, 0);
      assert_int_equal(acct.used, need);
      rtw__deflater_free(&d);
    }
  }
  assert_int_equal(acct.used, 0);
  /* The decompressor: its window comes with the first output. */
  acct.budget = SIZE_MAX;
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  out.len = 0;
  assert_int_equal(rtw__deflater_init(&d, &acct, 6, 15, 8), 0);
  deflate_msg(&d, data, sizeof data, &out);
  rtw__deflater_free(&d);
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 4096, back,
                               sizeof back, &n, 0),
                   0);
  need = acct.used;
  rtw__inflater_free(&in);
  acct.budget = need - 1;
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 4096, back,
                               sizeof back, &n, 0),
                   RTW_ERR_NOMEM);
  rtw__inflater_free(&in);
  assert_int_equal(acct.used, 0);
  acct.budget = need;
  assert_int_equal(inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 4096, back,
                               sizeof back, &n, 1),
                   0);
  assert_int_equal(n, sizeof data);
  assert_int_equal(acct.used, 0);
  rtw__buf_free(&out, &acct.mem);
}

/* Allocations go through the rtw_mem hooks (the failing allocator sees them) and every
 * failure is clean. */
static int alloc_scenario(const rtw_mem *mem, void *arg)
{
  uint8_t data[3000], back[3001];
  rtw__zacct acct = {*mem, 0, SIZE_MAX};
  rtw__deflater d;
  rtw__inflater in;
  rtw__buf out = {0};
  size_t n;
  int rv;

  (void)arg;
  fill(data, sizeof data, 0, 11);
  rtw__deflater_init(&d, &acct, 6, 15, 8);
  rtw__inflater_init(&in, &acct, 15);
  rv = rtw__deflate(&d, data, sizeof data, 1, &out);
  if (rv == 0)
    rv = inflate_msg(&in, (uint8_t *)out.data, out.len, SIZE_MAX, 100, back, sizeof back, &n,
                     1);
  rtw__deflater_free(&d);
  rtw__inflater_free(&in);
  rtw__buf_free(&out, mem);
  assert_int_equal(acct.used, 0);
  return rv;
}

static void test_alloc_failures(void **state)
{
  (void)state;
  assert_true(rtwt_check_alloc_failures(alloc_scenario, NULL) >= 8);
}

/* ------------------------------------------------------------------ bomb */

/* A 1 GiB run of zeros compressed to about 1 MiB (RFC 7692 7.2.2 receivers must bound what
 * they inflate): inflated in 64 KiB chunks, never more per call, with the decompressor's
 * memory at its estimate the whole time. */
static void test_gigabyte_of_zeros(void **state)
{
  enum { CHUNK = 64 * 1024 };
  const uint64_t total = UINT64_C(1) << 30;
  uint8_t *zeros = calloc(1, 1u << 20), *chunk = malloc(CHUNK);
  uint8_t *bomb = NULL;
  size_t bomb_len = 0, bomb_cap = 2u << 20, off = 0, nin = 0, nout = 0;
  uint64_t produced = 0, k;
  rtw__zacct acct;
  rtw__inflater in;
  size_t peak = 0;
  z_stream z;

  (void)state;
  assert_non_null(zeros);
  assert_non_null(chunk);
  bomb = malloc(bomb_cap);
  assert_non_null(bomb);
  /* Built with zlib directly (Z_RLE is the fastest way to squeeze a run). */
  memset(&z, 0, sizeof z);
  assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_RLE), Z_OK);
  for (k = 0; k < total >> 20; k++) {
    z.next_in = zeros;
    z.avail_in = 1u << 20;
    do {
      z.next_out = bomb + bomb_len;
      z.avail_out = (uInt)(bomb_cap - bomb_len);
      assert_int_equal(deflate(&z, k + 1 == total >> 20 ? Z_SYNC_FLUSH : Z_NO_FLUSH), Z_OK);
      bomb_len = bomb_cap - z.avail_out;
      assert_true(z.avail_out > 0);
    } while (z.avail_in > 0);
  }
  deflateEnd(&z);
  assert_memory_equal(bomb + bomb_len - 4, rtw__deflate_tail, 4);
  bomb_len -= 4;
  print_message("# 1 GiB of zeros compressed to %zu bytes\n", bomb_len);
  assert_true(bomb_len < (2u << 20));

  acct_init(&acct, rtw__inflate_mem_estimate(15));
  assert_int_equal(rtw__inflater_init(&in, &acct, 15), 0);
  while (off < bomb_len || nout == CHUNK) {
    size_t j;

    assert_int_equal(rtw__inflate(&in, bomb + off, bomb_len - off, &nin, chunk, CHUNK, &nout),
                     0);
    off += nin;
    assert_true(nout <= CHUNK);
    for (j = 0; j < nout; j += 4096)
      assert_int_equal(chunk[j], 0);
    produced += nout;
    peak = acct.used > peak ? acct.used : peak;
    if (nin == 0 && nout == 0)
      break;
  }
  assert_int_equal(off, bomb_len);
  assert_true(produced == total);
  assert_true(peak <= rtw__inflate_mem_estimate(15));
  assert_int_equal(rtw__inflate(&in, rtw__deflate_tail, 4, &nin, chunk, CHUNK, &nout), 0);
  assert_int_equal(nout, 0);
  assert_int_equal(rtw__inflate_end(&in, 1), 0);
  assert_int_equal(acct.used, 0);
  free(bomb);
  free(zeros);
  free(chunk);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rfc_hello_deflate),
    cmocka_unit_test(test_rfc_inflate_vectors),
    cmocka_unit_test(test_rfc_bfinal),
    cmocka_unit_test(test_truncated_message),
    cmocka_unit_test(test_empty_and_pieces),
    cmocka_unit_test(test_round_trips),
    cmocka_unit_test(test_window_9_fits_8),
    cmocka_unit_test(test_init_arguments),
    cmocka_unit_test(test_inflate_every_cap),
    cmocka_unit_test(test_takeover_vs_reset),
    cmocka_unit_test(test_mem_estimates),
    cmocka_unit_test(test_budget),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_gigabyte_of_zeros),
  };

  return cmocka_run_group_tests_name("ws_deflate_zlib", tests, NULL, NULL);
}
