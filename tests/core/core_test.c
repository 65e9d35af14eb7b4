/* SPDX-License-Identifier: MIT */
/* Core module tests: error list, version, allocator hooks, UTF-8 decoder, block scanner, and
 * the rule that only lib/core/alloc.c calls the C allocator. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rtwt.h"
#include "internal.h"
#include "scan.h"
#include "utf8.h"

/* ------------------------------------------------------------------ errors, version */

static const int all_errors[] = {
#define X(name, value, msg) RTW_ERR_##name,
    RTW_ERRNO_MAP(X)
#undef X
};

static void test_error_names_and_messages(void **state)
{
  size_t i, j, n = sizeof all_errors / sizeof all_errors[0];
  (void)state;
  for (i = 0; i < n; i++) {
    const char *name = rtw_err_name(all_errors[i]);
    assert_true(all_errors[i] < 0);
    assert_int_equal(strncmp(name, "RTW_ERR_", 8), 0);
    assert_string_not_equal(name, "RTW_ERR_UNKNOWN");
    assert_string_not_equal(rtw_strerror(all_errors[i]), "unknown error");
    for (j = 0; j < i; j++) {
      assert_int_not_equal(all_errors[i], all_errors[j]); /* codes are never reused */
      assert_string_not_equal(name, rtw_err_name(all_errors[j]));
    }
  }
  assert_string_equal(rtw_err_name(RTW_ERR_NOMEM), "RTW_ERR_NOMEM");
  assert_string_equal(rtw_err_name(0), "RTW_OK");
  assert_string_equal(rtw_strerror(0), "success");
  assert_string_equal(rtw_err_name(-9999), "RTW_ERR_UNKNOWN");
  assert_string_equal(rtw_strerror(12345), "unknown error");
}

static void test_version(void **state)
{
  char buf[32];
  uint32_t v = rtw_version_number();
  (void)state;
  assert_string_equal(rtw_version_string(), RTW_PROJECT_VERSION); /* meson.build's version */
  assert_string_equal(RTW_VERSION_STRING, RTW_PROJECT_VERSION);
  snprintf(buf, sizeof buf, "%u.%u.%u", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xFF),
           (unsigned)(v & 0xFF));
  assert_string_equal(buf, RTW_PROJECT_VERSION);
}

/* ------------------------------------------------------------------ allocator */

static void test_mem_init(void **state)
{
  rtw_mem m, half = {0};
  rtwt_failmem fm;
  void *p;
  (void)state;
  assert_int_equal(rtw__mem_init(&m, NULL), 0);
  p = rtw__mem_malloc(&m, 10);
  assert_non_null(p);
  p = rtw__mem_realloc(&m, p, 100);
  assert_non_null(p);
  rtw__mem_free(&m, p);
  rtw__mem_free(&m, NULL); /* free(NULL) is a no-op and never reaches the hook */
  half.malloc_fn = m.malloc_fn;
  assert_int_equal(rtw__mem_init(&m, &half), RTW_ERR_INVALID_ARGUMENT);
  rtwt_failmem_init(&fm, 0);
  assert_int_equal(rtw__mem_init(&m, &fm.mem), 0);
  p = rtw__mem_calloc(&m, 4, 4);
  assert_int_equal(fm.live, 1);
  rtw__mem_free(&m, p);
  assert_int_equal(fm.live, 0);
}

static void test_buf_growth(void **state)
{
  rtw__buf b = {NULL, 0, 0};
  rtwt_failmem fm;
  size_t i;
  (void)state;
  rtwt_failmem_init(&fm, 0);
  for (i = 0; i < 1000; i++)
    assert_int_equal(rtw__buf_append(&b, &fm.mem, "abc", 3), 0);
  assert_int_equal(b.len, 3000);
  assert_true(fm.count < 20); /* geometric growth */
  assert_memory_equal(b.data + 2997, "abc", 3);
  rtw__buf_free(&b, &fm.mem);
  assert_int_equal(fm.live, 0);
  rtwt_failmem_init(&fm, 1);
  assert_int_equal(rtw__buf_append(&b, &fm.mem, "x", 1), RTW_ERR_NOMEM);
  assert_null(b.data);
  /* a size that overflows len + extra fails before reaching the allocator */
  rtwt_failmem_init(&fm, 0);
  assert_int_equal(rtw__buf_append(&b, &fm.mem, "abc", 3), 0);
  assert_int_equal(rtw__buf_reserve(&b, &fm.mem, SIZE_MAX - 1), RTW_ERR_NOMEM);
  assert_int_equal(fm.count, 1);
  rtw__buf_free(&b, &fm.mem);
}

/* Only lib/core/alloc.c may call malloc, calloc, realloc or free (STYLE.md, Memory). */
static void scan_dir(const char *dir, const char *root, int *bad)
{
  static const char *const calls[] = {"malloc(", "calloc(", "realloc(", "free("};
  DIR *d = opendir(dir);
  struct dirent *e;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    char path[4096], line[4096];
    struct stat st;
    FILE *f;
    int lineno = 0;
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    assert_int_equal(stat(path, &st), 0);
    if (S_ISDIR(st.st_mode)) {
      scan_dir(path, root, bad);
      continue;
    }
    if (n < 2 || (strcmp(e->d_name + n - 2, ".c") != 0 && strcmp(e->d_name + n - 2, ".h") != 0))
      continue;
    if (strcmp(path + strlen(root), "/lib/core/alloc.c") == 0)
      continue;
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
      size_t i;
      lineno++;
      for (i = 0; i < 4; i++) {
        const char *hit = strstr(line, calls[i]);
        /* a call, not part of a longer identifier such as rtw__mem_free( or free_fn( */
        if (hit && (hit == line || !(hit[-1] == '_' || (hit[-1] >= 'a' && hit[-1] <= 'z') ||
                                     (hit[-1] >= '0' && hit[-1] <= '9')))) {
          print_error("%s:%d calls %s\n", path, lineno, calls[i]);
          (*bad)++;
        }
      }
    }
    fclose(f);
  }
  closedir(d);
}

static void test_no_allocator_calls_outside_alloc(void **state)
{
  const char *root = getenv("RTW_SOURCE_ROOT");
  if (root == NULL)
    root = RTW_SOURCE_ROOT_DEFAULT; /* set by tests/core/meson.build */
  char lib[4096];
  int bad = 0;
  (void)state;
  assert_non_null(root);
  snprintf(lib, sizeof lib, "%s/lib", root);
  scan_dir(lib, root, &bad);
  assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------ UTF-8 */

/* An independent reference: decode per Unicode table 3-7 with the maximal-subpart rule,
 * written as plainly as possible (no shared code with lib/core/utf8.c). */
static size_t ref_decode(const uint8_t *s, size_t n, uint8_t *out)
{
  size_t i = 0, o = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t len = 0, k;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      out[o++] = b;
      i++;
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF)
      len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
      len = 3;
    else if (b >= 0xF0 && b <= 0xF4)
      len = 4;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    if (len == 0) {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
      continue;
    }
    for (k = 1; k < len; k++) {
      uint8_t c = i + k < n ? s[i + k] : 0;
      if (i + k >= n || c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
        break;
    }
    if (k == len) {
      memcpy(out + o, s + i, len);
      o += len;
      i += len;
    } else { /* maximal subpart s[i..i+k) becomes one U+FFFD */
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i += k;
    }
  }
  return o;
}

static void decode_split(const uint8_t *s, size_t n, size_t cut, uint8_t *out, size_t *olen)
{
  rtw__utf8 st;
  size_t o;
  rtw__utf8_init(&st);
  o = rtw__utf8_decode(&st, s, cut, out);
  o += rtw__utf8_decode(&st, s + cut, n - cut, out + o);
  o += rtw__utf8_flush(&st, out + o);
  *olen = o;
}

static void check_decode(const uint8_t *s, size_t n)
{
  uint8_t ref[64], got[64];
  size_t rlen = ref_decode(s, n, ref), glen, cut;
  rtw__utf8 st;
  for (cut = 0; cut <= n; cut++) {
    decode_split(s, n, cut, got, &glen);
    if (glen != rlen || memcmp(ref, got, rlen) != 0) {
      print_error("decode mismatch, %zu bytes, cut %zu, first %02X\n", n, cut, s[0]);
      fail();
    }
  }
  /* counting (out == NULL) agrees with writing */
  rtw__utf8_init(&st);
  glen = rtw__utf8_decode(&st, s, n, NULL);
  glen += rtw__utf8_flush(&st, NULL);
  assert_int_equal(glen, rlen);
  /* valid_prefix is n exactly when the input decodes to itself */
  assert_int_equal(rtw__utf8_valid_prefix(s, n) == n, rlen == n && memcmp(ref, s, n) == 0);
}

/* Every 1- and 2-byte input, every 3-byte input with a lead byte >= 0xC0, and 4-byte inputs
 * around each 4-byte lead, against the reference, at every split. */
static void test_utf8_exhaustive_short(void **state)
{
  uint8_t s[4];
  unsigned a, b, c, d;
  (void)state;
  for (a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    check_decode(s, 1);
    for (b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      check_decode(s, 2);
    }
  }
  for (a = 0xC0; a < 256; a++)
    for (b = 0x70; b < 0xD0; b++)
      for (c = 0x70; c < 0xD0; c += 3) {
        s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = (uint8_t)c;
        check_decode(s, 3);
      }
  for (a = 0xF0; a <= 0xF5; a++)
    for (b = 0x7F; b <= 0xC0; b += 0x0F)
      for (c = 0x7F; c <= 0xC0; c += 0x20)
        for (d = 0x00; d < 256; d += 0x11) {
          s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = (uint8_t)c, s[3] = (uint8_t)d;
          check_decode(s, 4);
        }
}

/* Markus Kuhn's UTF-8 decoder stress test, selected cases, with the expected U+FFFD count
 * under the maximal-subpart rule (WHATWG Encoding 8.1.1). */
static void test_utf8_kuhn_cases(void **state)
{
  static const struct {
    const char *in;
    size_t fffd;
  } cases[] = {
      {"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 0}, /* 1 "kosme" */
      {"\xF4\x8F\xBF\xBF", 0},                             /* 2.3.5 U+10FFFF */
      {"\xF4\x90\x80\x80", 4},                             /* 2.3.5 above U+10FFFF */
      {"\x80", 1}, {"\xBF", 1}, {"\x80\xBF\x80", 3},       /* 3.1 lone continuations */
      {"\xC0 ", 1}, {"\xE0 ", 1}, {"\xF8 ", 1}, {"\xFC ", 1}, /* 3.2 lone starts */
      {"\xC0", 1}, {"\xE0\x80", 2}, {"\xF0\x80\x80", 3},   /* 3.3 truncated (E0 80: 80 is bad) */
      {"\xE1\x80", 1}, {"\xF1\x80\x80", 1},                /* 3.3 truncated valid prefixes */
      {"\xFE", 1}, {"\xFF", 1}, {"\xFE\xFE\xFF\xFF", 4},   /* 3.5 impossible bytes */
      {"\xC0\xAF", 2}, {"\xE0\x80\xAF", 3}, {"\xF0\x80\x80\xAF", 4}, /* 4.1 overlong '/' */
      {"\xC1\xBF", 2}, {"\xE0\x9F\xBF", 3}, {"\xF0\x8F\xBF\xBF", 4}, /* 4.2 max overlong */
      {"\xED\xA0\x80", 3}, {"\xED\xBF\xBF", 3},            /* 5.1 surrogates */
      {"\xED\xA0\x80\xED\xB0\x80", 6},                     /* 5.2 surrogate pair */
      {"\xEF\xBF\xBE", 0}, {"\xEF\xBF\xBF", 0},            /* 5.3 noncharacters are valid */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const uint8_t *s = (const uint8_t *)cases[i].in;
    size_t n = strlen(cases[i].in), olen, k, count = 0;
    uint8_t out[64];
    check_decode(s, n);
    decode_split(s, n, n, out, &olen);
    for (k = 0; k + 3 <= olen; k++)
      if (memcmp(out + k, "\xEF\xBF\xBD", 3) == 0)
        count++;
    if (count != cases[i].fffd) {
      print_error("case %zu: %zu U+FFFD, expected %zu\n", i, count, cases[i].fffd);
      fail();
    }
  }
}

/* The validator fails fast: it reports the first byte that cannot continue, across calls. */
static void test_utf8_validate_fail_fast(void **state)
{
  rtw__utf8 st;
  (void)state;
  rtw__utf8_init(&st);
  assert_int_equal(rtw__utf8_validate(&st, (const uint8_t *)"ab\xE2\x82", 4), 4);
  assert_false(rtw__utf8_at_boundary(&st));
  assert_int_equal(rtw__utf8_validate(&st, (const uint8_t *)"\xAC" "cd", 3), 3);
  assert_true(rtw__utf8_at_boundary(&st));
  assert_int_equal(rtw__utf8_validate(&st, (const uint8_t *)"x\xED\xA0", 3), 2);
  rtw__utf8_init(&st);
  assert_int_equal(rtw__utf8_validate(&st, (const uint8_t *)"\xF0", 1), 1);
  assert_int_equal(rtw__utf8_validate(&st, (const uint8_t *)"\x8F", 1), 0); /* F0 needs 90+ */
}

static uint64_t xorshift(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* The AVX2 bulk check (used for inputs of 64 bytes or more) agrees with the scalar validator:
 * the same first-error offset from rtw__utf8_validate(), and valid_prefix() == n exactly when
 * the reference decoder leaves the input unchanged. Inputs mix ASCII runs, valid 2-4 byte
 * sequences, truncated ones and stray bytes at every position relative to the 32-byte blocks.
 * The scalar result comes from feeding the validator pieces shorter than 64 bytes. */
static size_t build_mixed(uint8_t *s, size_t target, uint64_t *seed, int bad_rate)
{
  static const char *const valid[] = {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                                      "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                                      "\xF4\x8F\xBF\xBF", "\xE2\x82\xAC", "\xC3\xA9"};
  static const char *const bad[] = {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                    "\xF5", "\xFF", "\x80", "\xBF", "\xC2", "\xE2\x82", "\xF0\x90\x80",
                                    "\xC2\xC2", "\xF0\x8F\xBF\xBF", "\xC1\xBF", "\xED\xBF\xBF",
                                    "\xE0\x9F\xBF", "\xF0\x80\x80\x80", "\xF4\xBF\xBF\xBF",
                                    "\xF8\x88\x80\x80", "\xE1\xC0\x80", "\xF1\x80\x41"};
  size_t n = 0;
  while (n + 4 < target) {
    uint64_t r = xorshift(seed) % 100;
    const char *piece;
    if (r < 50) {
      s[n++] = (uint8_t)('a' + r % 26);
      continue;
    }
    piece = (int)r < 50 + bad_rate ? bad[xorshift(seed) % (sizeof bad / sizeof bad[0])] : valid[xorshift(seed) % (sizeof valid / sizeof valid[0])];
    memcpy(s + n, piece, strlen(piece));
    n += strlen(piece);
  }
  return n;
}

static void test_utf8_bulk_matches_scalar(void **state)
{
  uint64_t seed = 0x243F6A8885A308D3ull;
  uint8_t s[512], ref[2048];
  int round;
  (void)state;
  for (round = 0; round < 40000; round++) {
    size_t n = build_mixed(s, 64 + (size_t)(xorshift(&seed) % 400), &seed,
                           round % 4 == 0 ? 0 : (round % 4 == 1 ? 1 : 5));
    rtw__utf8 a, b;
    size_t whole, pieces = 0, off, rlen;
    int ok;
    rtw__utf8_init(&a);
    whole = rtw__utf8_validate(&a, s, n);
    rtw__utf8_init(&b);
    for (off = 0; off < n; off += 63) {
      size_t k = n - off < 63 ? n - off : 63, got = rtw__utf8_validate(&b, s + off, k);
      if (got != k) {
        pieces = off + got;
        break;
      }
      pieces = off + k;
    }
    assert_int_equal(whole, pieces);
    if (whole == n)
      assert_int_equal(a.need, b.need);
    rlen = ref_decode(s, n, ref);
    ok = rlen == n && memcmp(ref, s, n) == 0;
    assert_int_equal(rtw__utf8_valid_prefix(s, n) == n, ok);
    assert_int_equal(ok, whole == n && a.need == 0);
  }
}

/* ------------------------------------------------------------------ block scanner */

/* Every scanner (portable, SSE2, AVX2, AVX-512 where the CPU has them) matches a byte loop. */
static void test_scan_block(void **state)
{
  static const uint8_t alphabet[] = {'\n', '\r', 'a', 0x80, 0xFF, 0x00, 0x0D ^ 0x80, 0x7F};
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  uint8_t buf[64 + 16];
  int round;
  (void)state;
  for (round = 0; round < 20000; round++) {
    unsigned off = (unsigned)(round % 16), i;
    uint64_t eol = 0, high = 0, e1, h1;
    for (i = 0; i < 64; i++) {
      uint8_t c = (round & 1) ? alphabet[xorshift(&seed) % sizeof alphabet]
                              : (uint8_t)xorshift(&seed);
      buf[off + i] = c;
      if (c == '\n' || c == '\r')
        eol |= UINT64_C(1) << i;
      if ((c & 0x80) || c == 0) /* non-ASCII or NUL: not plain ASCII text */
        high |= UINT64_C(1) << i;
    }
    rtw__scan_block_portable(buf + off, &e1, &h1);
    assert_true(e1 == eol);
    assert_true(h1 == high);
#if defined(RTW__SCAN_HAVE_SSE2)
    rtw__scan_block_sse2(buf + off, &e1, &h1);
    assert_true(e1 == eol);
    assert_true(h1 == high);
#endif
#if defined(RTW__SCAN_HAVE_X86_DISPATCH)
    if (rtw__scan_best() >= RTW__SCAN_AVX2) {
      rtw__scan_block_avx2(buf + off, &e1, &h1);
      assert_true(e1 == eol);
      assert_true(h1 == high);
    }
    if (rtw__scan_best() >= RTW__SCAN_AVX512) {
      rtw__scan_block_avx512(buf + off, &e1, &h1);
      assert_true(e1 == eol);
      assert_true(h1 == high);
    }
#endif
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_names_and_messages),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_mem_init),
      cmocka_unit_test(test_buf_growth),
      cmocka_unit_test(test_no_allocator_calls_outside_alloc),
      cmocka_unit_test(test_utf8_exhaustive_short),
      cmocka_unit_test(test_utf8_kuhn_cases),
      cmocka_unit_test(test_utf8_validate_fail_fast),
      cmocka_unit_test(test_utf8_bulk_matches_scalar),
      cmocka_unit_test(test_scan_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
