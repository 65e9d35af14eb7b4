/* SPDX-License-Identifier: MIT */
/* The third-party dependencies are found and linked: mbedTLS through the crypto seam, and
 * llhttp directly (the library reaches it only through lib/http/http1.c). */
#include <string.h>

#include <llhttp.h>

#include "rtwt.h"
#include "crypto.h"

/* FIPS 180-1 appendix A test vector: SHA-1("abc"). */
static void test_sha1_links(void **state)
{
  static const uint8_t expect[RTW__SHA1_LEN] = {
      0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
      0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
  uint8_t out[RTW__SHA1_LEN];
  (void)state;
  assert_int_equal(rtw__sha1("abc", 3, out), 0);
  assert_memory_equal(out, expect, sizeof expect);
}

static int complete;

static int on_complete(llhttp_t *parser)
{
  (void)parser;
  complete++;
  return 0;
}

static void test_llhttp_links(void **state)
{
  static const char req[] = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n\r\n";
  llhttp_settings_t settings;
  llhttp_t parser;
  (void)state;
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_complete;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  complete = 0;
  /* llhttp stops after an upgrade request so the caller can take over the connection */
  assert_int_equal(llhttp_execute(&parser, req, sizeof req - 1), HPE_PAUSED_UPGRADE);
  assert_int_equal(parser.method, HTTP_GET);
  assert_int_equal(parser.upgrade, 1);
  assert_int_equal(complete, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha1_links),
      cmocka_unit_test(test_llhttp_links),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
