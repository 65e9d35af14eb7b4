/* SPDX-License-Identifier: MIT */
/* The memchr-per-line baseline SSE parser that bench_sse measures rtweb's parser against. */
#ifndef RTWEB_BENCH_MEMCHR_SSE_H
#define RTWEB_BENCH_MEMCHR_SSE_H

#include <stddef.h>

/* Opaque; one per stream. See memchr_sse.c for what it does and does not implement. */
typedef struct mcs_parser mcs_parser;

/* Callbacks, shaped like rtweb's so both parsers pay for the same indirect calls. Pointers
 * are valid only during the call; return 0 to go on, anything else stops mcs_recv(). */
typedef struct mcs_callbacks {
  int (*on_event)(const char *type, size_t type_len, const char *data, size_t data_len,
                  const char *id, size_t id_len, void *user_data);
  int (*on_comment)(const char *text, size_t len, void *user_data);
} mcs_callbacks;

/* Returns NULL when out of memory. callbacks is copied. */
mcs_parser *mcs_new(const mcs_callbacks *callbacks, void *user_data);
void mcs_free(mcs_parser *parser);
/* Feeds bytes, split anywhere. Returns 0, -1 when out of memory, or a callback's non-zero. */
int mcs_recv(mcs_parser *parser, const char *in, size_t len);
/* End of stream: drops an unterminated line and an undispatched event. */
void mcs_end(mcs_parser *parser);

#endif /* RTWEB_BENCH_MEMCHR_SSE_H */
