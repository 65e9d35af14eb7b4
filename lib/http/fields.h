/* SPDX-License-Identifier: MIT */
/* HTTP field helpers (RFC 9110 section 5): tokens, comma-separated lists, value checks.
 *
 *   token      = 1*tchar                                   (RFC 9110 5.6.2)
 *   tchar      = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *                "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 *   #element   = [ element ] *( OWS "," OWS [ element ] )  (RFC 9110 5.6.1; empty elements
 *                                                           are ignored by recipients)
 *   field-value = *field-content; no CTL but HTAB           (RFC 9110 5.5)
 *
 * A list may be spread over several field lines with the same name; it means the same as
 * one line with the values joined by commas (RFC 9110 5.3), so the helpers walk every line.
 */
#ifndef RTW_HTTP_FIELDS_H
#define RTW_HTTP_FIELDS_H

#include <stddef.h>

#include "http1.h"

/* Case-insensitive (ASCII) equality of two spans. */
int rtw__http_ieq(const char *a, size_t alen, const char *b, size_t blen);

int rtw__http_is_token(const char *p, size_t n);

/* 1 when p[0..n) may be sent as a field value: no CTL other than HTAB (so no CR, LF, NUL)
 * and no DEL. */
int rtw__http_value_ok(const char *p, size_t n);

/* Iterate the elements of one list value: *pos starts at the value and advances; returns 1
 * with the next non-empty element (OWS trimmed) or 0 at the end. Commas inside a
 * quoted-string do not split. */
int rtw__http_list_next(const char **pos, const char *end, const char **elem, size_t *len);

/* 1 when any field line `name` of the head lists `token` (case-insensitive). */
int rtw__http_has_token(const rtw__http1 *h, const char *name, const char *token);

/* The name of an extension element "name; param=value": the token before ';', trimmed. */
void rtw__http_ext_name(const char *elem, size_t len, const char **name, size_t *name_len);

#endif /* RTW_HTTP_FIELDS_H */
