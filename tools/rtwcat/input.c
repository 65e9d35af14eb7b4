/* SPDX-License-Identifier: MIT */
/* Input helpers shared by the decode subcommands: the --chunk value and the stdin pump. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "rtwcat.h"

int rtwcat_parse_chunk(const rtwcat_command *cmd, const char *v, size_t *out)
{
  uint64_t n;

  if (rtwcat_parse_u64(v, RTWCAT_MAX_CHUNK, &n) != 0 || n == 0)
    return rtwcat_usage_error(cmd, "--chunk: '%s' is not a number from 1 to %u", v,
                              RTWCAT_MAX_CHUNK);
  *out = (size_t)n;
  return -1;
}

/* Hand len bytes to feed in pieces of at most chunk bytes (0: all at once). */
static int feed_pieces(rtwcat_feed_fn feed, void *arg, const unsigned char *p, size_t len,
                       size_t chunk)
{
  while (len > 0) {
    size_t n = (chunk != 0 && chunk < len) ? chunk : len;
    int rc = feed(arg, p, n);
    if (rc != 0)
      return rc;
    p += n;
    len -= n;
  }
  return 0;
}

int rtwcat_read_stdin(const char *what, size_t chunk, rtwcat_feed_fn feed, void *arg)
{
  static unsigned char buf[RTWCAT_MAX_CHUNK];
  size_t have = 0;
  int rc;

  for (;;) {
    ssize_t r = read(STDIN_FILENO, buf + have, sizeof buf - have);
    size_t whole;

    if (r < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "rtwcat: %s: reading standard input: %s\n", what, strerror(errno));
      return 1;
    }
    if (r == 0)
      break;
    have += (size_t)r;
    /* with a chunk size, hold bytes back until a piece is whole, whatever read(2) returns */
    whole = chunk != 0 ? have - have % chunk : have;
    if ((rc = feed_pieces(feed, arg, buf, whole, chunk)) != 0)
      return rc;
    memmove(buf, buf + whole, have - whole);
    have -= whole;
  }
  return feed_pieces(feed, arg, buf, have, chunk);
}
