/* SPDX-License-Identifier: MIT */
/* Deterministic test data for the permessage-deflate benchmarks: JSON chat messages and a
 * 64 KiB JSON-like text. Same seed, same bytes, on every machine and in every program
 * (echo_load, deflate_mem, deflate_broadcast), so ratios compare like with like. */
#ifndef BENCH_DEFLATE_DATA_H
#define BENCH_DEFLATE_DATA_H

#include <stddef.h>
#include <stdint.h>

/* One JSON chat message, e.g.
 *   {"type":"message","id":1042,"room":"general","user":"mallory","ts":1733480001042,
 *    "text":"did anyone try the new build on the staging box? ..."}
 * numbered `n` (its content depends only on n), written into buf (cap >= 512 always
 * suffices). Returns its length: 100..200 bytes, printable ASCII (valid UTF-8 text). */
size_t bench_chat_message(uint32_t n, char *buf, size_t cap);

/* `len` bytes of JSON-like text (a stream of chat records as a history dump would send,
 * cut at len), printable ASCII. Compresses about 3-6x with zlib at level 6. */
void bench_chat_text(char *buf, size_t len);

#endif /* BENCH_DEFLATE_DATA_H */
