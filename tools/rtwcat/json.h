/* SPDX-License-Identifier: MIT */
/* JSON output shared by rtwcat's commands: the string writer, and the JSON lines that
 * `decode sse` and the http:// client print for SSE, `decode ws` and `ws:// --json` for
 * WebSocket (docs/rtwcat.md gives the formats). */
#ifndef RTWCAT_JSON_H
#define RTWCAT_JSON_H

#include <stddef.h>
#include <stdint.h>
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

/* ------------------------------------------------------------------ SSE lines */

/* {"event":"<type>","data":"<data>","id":"<last event id>"}: a dispatched event. */
void rtwcat_json_sse_event(FILE *out, const char *type, size_t type_len, const char *data,
                           size_t data_len, const char *id, size_t id_len);
/* {"retry":<ms>}: a valid retry field. */
void rtwcat_json_sse_retry(FILE *out, uint32_t ms);
/* {"comment":"<text>"}: a comment line. */
void rtwcat_json_sse_comment(FILE *out, const char *text, size_t len);

/* ------------------------------------------------------------------ WebSocket lines */

/* {"type":"text","data":"<text>"} for RTW_WS_OP_TEXT, else {"type":"binary","base64":...}. */
void rtwcat_json_ws_message(FILE *out, int opcode, const void *data, size_t len);
/* {"type":"<type>","base64":"<payload>"}: a ping or a pong. */
void rtwcat_json_ws_control(FILE *out, const char *type, const void *data, size_t len);
/* {"type":"close","code":<code>,"reason":"<text>"}: the peer's close; "code" is left out
 * for RTW_WS_CLOSE_NO_STATUS (a close frame without a payload). */
void rtwcat_json_ws_close(FILE *out, int code, const char *reason, size_t reason_len);

#endif /* RTWCAT_JSON_H */
