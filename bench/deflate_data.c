/* SPDX-License-Identifier: MIT */
/* Deterministic JSON chat data for the permessage-deflate benchmarks (see deflate_data.h). */

#include "deflate_data.h"

#include <stdio.h>
#include <string.h>

static const char *const words[] = {
  "the", "a", "to", "and", "is", "it", "on", "for", "we", "you", "i", "that", "this", "in",
  "of", "with", "be", "at", "not", "can", "just", "so", "but", "was", "are", "have", "will",
  "what", "about", "when", "build", "deploy", "release", "staging", "server", "client",
  "socket", "message", "latency", "benchmark", "compression", "window", "buffer", "queue",
  "review", "merge", "branch", "commit", "test", "tests", "failing", "green", "flaky",
  "coffee", "lunch", "meeting", "tomorrow", "today", "later", "morning", "tonight", "weekend",
  "thanks", "sure", "sounds", "good", "great", "nice", "ok", "yes", "no", "maybe", "probably",
  "looks", "like", "think", "know", "see", "check", "try", "tried", "fixed", "broken", "again",
  "anyone", "everyone", "someone", "here", "there", "now", "still", "already", "soon", "new",
  "old", "box", "logs", "error", "timeout", "retry", "memory", "cpu", "graph", "numbers",
  "ticket", "issue", "patch", "docs", "chart", "dashboard", "alert", "pager", "oncall",
  "customer", "ship", "it", "please", "sorry", "lol", "wow", "hmm", "right", "exactly", "agree",
  "ping", "pong", "close", "frame", "header", "handshake", "offer", "accept", "zlib", "deflate",
  "inflate", "ratio", "bytes", "kilobytes", "faster", "slower", "than", "before", "after",
  "did", "does", "should", "could", "would", "might", "must", "need", "want", "let", "me",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const users[] = {
  "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
  "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
};
#define NUSERS (sizeof users / sizeof users[0])

static const char *const rooms[] = {
  "general", "random", "dev", "ops", "release", "support", "design", "bench",
};
#define NROOMS (sizeof rooms / sizeof rooms[0])

static const char *const ends[] = {"", "", "", ".", "?", "!", " :)", "..."};
#define NENDS (sizeof ends / sizeof ends[0])

/* xorshift64*, seeded from the message number (never 0). */
static uint32_t next(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (uint32_t)((*s * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Append s at buf[*len] if it fits (cap includes room for the terminating NUL). */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
  size_t n = strlen(s);

  if (*len + n < cap) {
    memcpy(buf + *len, s, n + 1);
    *len += n;
  }
}

size_t bench_chat_message(uint32_t n, char *buf, size_t cap)
{
  uint64_t s = (uint64_t)n * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  size_t len, target;
  int k;

  if (cap < 512)
    return 0;
  next(&s);
  k = snprintf(buf, cap, "{\"type\":\"message\",\"id\":%u,\"room\":\"%s\",\"user\":\"%s\","
               "\"ts\":%llu,\"text\":\"", (unsigned)n, rooms[next(&s) % NROOMS],
               users[next(&s) % NUSERS], 1733480000000ull + (unsigned long long)n * 731u);
  len = k > 0 ? (size_t)k : 0;
  /* The whole message ends up in 100..200 bytes: words are added until the target is
   * reached, and no word (with its space and an ending) is longer than 17 bytes. */
  target = 100 + next(&s) % 80;
  put(buf, cap, &len, words[next(&s) % NWORDS]);
  while (len + 2 < target) {
    put(buf, cap, &len, " ");
    put(buf, cap, &len, words[next(&s) % NWORDS]);
  }
  put(buf, cap, &len, ends[next(&s) % NENDS]);
  put(buf, cap, &len, "\"}");
  return len;
}

void bench_chat_text(char *buf, size_t len)
{
  char msg[512];
  size_t at = 0;
  uint32_t n = 100000;

  while (at < len) {
    size_t m = bench_chat_message(n++, msg, sizeof msg);

    msg[m++] = '\n'; /* one record a line, as a history dump or log tail would be */
    if (m > len - at)
      m = len - at;
    memcpy(buf + at, msg, m);
    at += m;
  }
}
