/* SPDX-License-Identifier: MIT */
/* Base64 output for rtwcat's decoders: binary payloads printed inside JSON lines. */
#ifndef RTWCAT_BASE64_H
#define RTWCAT_BASE64_H

#include <stddef.h>
#include <stdio.h>

/*
 * Write data[0..n) to out as a JSON string holding its base64 encoding, quotes included:
 * the standard alphabet (A-Z a-z 0-9 + /) with '=' padding and no line breaks (RFC 4648
 * section 4), so "" for n == 0. data may be NULL when n is 0. Write errors are left in out's
 * error indicator, as with rtwcat_json_string().
 */
void rtwcat_base64(FILE *out, const void *data, size_t n);

#endif /* RTWCAT_BASE64_H */
