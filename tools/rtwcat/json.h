/* SPDX-License-Identifier: MIT */
/* JSON string output shared by rtwcat's decoders (decode sse now, decode ws later). */
#ifndef RTWCAT_JSON_H
#define RTWCAT_JSON_H

#include <stddef.h>
#include <stdio.h>

/*
 * Write s[0..n) to out as a JSON string literal, quotes included (RFC 8259 section 7).
 *
 * Bytes are copied as they are, except:
 *   '"' -> \"    '\\' -> \\    LF -> \n    CR -> \r    TAB -> \t
 *   every other byte below 0x20 (NUL included) -> \u00xx, lowercase hex.
 * DEL (0x7F) and bytes >= 0x80 are not escaped: the text is expected to be UTF-8 already (the
 * SSE parser replaces invalid sequences with U+FFFD), and U+FFFD, U+2028, etc. come out as
 * the characters themselves. s may be NULL when n is 0. Write errors are left in out's error
 * indicator for the caller to check (ferror) once, at exit.
 */
void rtwcat_json_string(FILE *out, const char *s, size_t n);

#endif /* RTWCAT_JSON_H */
