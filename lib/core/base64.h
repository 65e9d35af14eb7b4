/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648 section 4, standard alphabet, with padding): encoder and strict decoder.
 *
 * Used for Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 4.1, 4.2.2). Every 3 input
 * bytes become 4 characters from A-Z a-z 0-9 + /; a final group of 1 or 2 bytes becomes 2 or
 * 3 characters plus "==" or "=".
 *
 * The decoder is strict, as RFC 4648 section 3.3 and 3.5 allow: the length must be a
 * multiple of 4, no characters outside the alphabet (no whitespace, no line breaks, no URL-safe
 * alphabet), padding only at the end, and the bits a padded group leaves unused must be zero
 * (so every byte string has exactly one accepted encoding).
 */
#ifndef RTW_CORE_BASE64_H
#define RTW_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no terminating NUL). n must be below SIZE_MAX / 4 * 3. */
#define RTW__BASE64_ENCODED_LEN(n) ((((n) + 2u) / 3u) * 4u)
/* Most bytes that `len` characters can decode to. */
#define RTW__BASE64_DECODED_MAX(len) (((len) / 4u) * 3u)

/* Encode n bytes of src into out, which has room for RTW__BASE64_ENCODED_LEN(n) characters.
 * Writes no NUL. Returns the characters written. */
size_t rtw__base64_encode(const uint8_t *src, size_t n, char *out);

/* Decode len characters of src into out (room for out_cap bytes). Returns 0 with *out_len set,
 * or -1 when the input is not canonical base64 (see above) or does not fit in out_cap. */
int rtw__base64_decode(const char *src, size_t len, uint8_t *out, size_t out_cap,
                       size_t *out_len);

#endif /* RTW_CORE_BASE64_H */
