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
#include <stdint.h>

#include "http1.h"

/* A string literal as the two arguments (pointer, length) the span functions take, its
 * length counted by the compiler: RTW__LIT("Host") is ("Host"), 4. */
#define RTW__LIT(s) (s), (sizeof(s) - 1)

/* Case-insensitive (ASCII) equality of two spans. */
int rtw__http_ieq(const char *a, size_t alen, const char *b, size_t blen);

int rtw__http_is_token(const char *p, size_t n);

/* 1 when p[0..n) may go into a request line or a Host value as given: no CTL, no SP, no DEL
 * (RFC 9112 3.2: Host is uri-host [":" port]; a space or CR would end the line's part). */
int rtw__http_plain_ok(const char *p, size_t n);

/* 1 when p[0..n) may be sent as a field value: no CTL other than HTAB (so no CR, LF, NUL)
 * and no DEL. */
int rtw__http_value_ok(const char *p, size_t n);

/* Iterate the elements of one list value: *pos starts at the value and advances; returns 1
 * with the next non-empty element (OWS trimmed) or 0 at the end. Commas inside a
 * quoted-string do not split. */
int rtw__http_list_next(const char **pos, const char *end, const char **elem, size_t *len);

/* --- lists spread over field lines (RFC 9110 5.3: repeated lines form one list) ---------
 * An iterator walks the elements of every field line `name` of a complete head once, in
 * order: the whole walk costs O(field lines + bytes of their values). `work` counts that
 * cost (field lines examined plus value bytes scanned) so tests can show a walk is linear
 * without a clock. */
typedef struct rtw__http_list_iter {
  const rtw__http1 *h;
  const char *name;
  size_t name_len;
  size_t field;          /* next field line to examine */
  const char *pos, *end; /* the rest of the current line's value */
  size_t work;
} rtw__http_list_iter;

void rtw__http_list_begin(rtw__http_list_iter *it, const rtw__http1 *h, const char *name,
                          size_t name_len);
/* 1 with the next non-empty element (OWS trimmed), or 0 at the end. */
int rtw__http_list_iter_next(rtw__http_list_iter *it, const char **elem, size_t *len);

/* An index of those elements, built once per head so that element i is found in O(1) and
 * walking all of them is linear (issue #12: offers walked from the start for every index
 * were quadratic). Entries are two 32-bit numbers (offset from the first element, length):
 * exactly 8 bytes per element, and at most 8 * (max_head_size / 2 + max_headers) bytes in all,
 * since each element takes at least one byte and one separator of the head; the count is
 * known (and checked against the head) before the allocation is made. */
typedef struct rtw__http_list_index {
  rtw__buf spans;   /* `count` entries of two uint32_t: offset from base, length */
  const char *base; /* the first element; NULL when there is none */
  size_t count;
  size_t work; /* the iterator work spent building */
} rtw__http_list_index;

/* Index the elements of every field line `name` of the complete head h. Any previous
 * content is forgotten (the buffer is reused). 0, RTW_ERR_NOMEM, or
 * RTW_ERR_HTTP_HEAD_TOO_LARGE (a head over 4 GiB: offsets would not fit). */
int rtw__http_list_index_build(rtw__http_list_index *idx, const rtw__http1 *h,
                               const char *name, size_t name_len, const rtw_mem *mem);
/* Element i: 1 with the span, or 0 (out of range) with an empty span. */
int rtw__http_list_index_at(const rtw__http_list_index *idx, size_t i, const char **elem,
                            size_t *len);
/* The index of the element that is exactly the span p[0..n) of the head (an element
 * returned by _at()), found by bisection, or SIZE_MAX. */
size_t rtw__http_list_index_find_span(const rtw__http_list_index *idx, const char *p,
                                      size_t n);
void rtw__http_list_index_clear(rtw__http_list_index *idx);
void rtw__http_list_index_free(rtw__http_list_index *idx, const rtw_mem *mem);

/* 1 when any field line `name` of the head lists `token` (case-insensitive). */
int rtw__http_has_token(const rtw__http1 *h, const char *name, const char *token);

/* The name of an extension element "name; param=value": the token before ';', trimmed. */
void rtw__http_ext_name(const char *elem, size_t len, const char **name, size_t *name_len);

#endif /* RTW_HTTP_FIELDS_H */
