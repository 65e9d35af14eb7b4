/* SPDX-License-Identifier: MIT */
/*
 * rtweb-chat: the activity feed. Every event gets the next integer id (1, 2, 3, ...), is
 * serialised once as an event-stream block (WHATWG HTML 9.2.6: `event`, `id`, `data`), kept
 * in a bounded rtw_sse_history for Last-Event-ID replay, and appended to the feed file.
 *
 * Feed file: one event per line, `<id> TAB <type> TAB <data>` LF, data being single-line
 * JSON. At start the file is read back: ids continue after the last one, the newest events
 * refill the history (so a page that reconnects after a restart gets what it missed), and
 * a line cut short by a crash is cut off. The file stays bounded: whenever it holds more
 * than FEED_FILE_FACTOR times the history's byte budget, or that many times its events
 * (plus FEED_FILE_MIN_LINES), at start or while running, it is rewritten with exactly the
 * events the history keeps (the history is the source: nothing is read back).
 */
#include "chat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Largest serialised event: a message whose text is all control characters (6 bytes of
 * JSON each), plus room for the name and the field names. */
#define MAX_EVENT (CHAT_MAX_MESSAGE * 6u + 1024u)
#define MAX_LINE MAX_EVENT
/* The file is rewritten with what the history keeps when it holds more than this many
 * times the history's bytes or events (each rewrite is paid for by as many appends). */
#define FEED_FILE_FACTOR 4u
#define FEED_FILE_MIN_LINES 1024u

static int valid_type(const char *t, size_t n)
{
  return (n == 4 && memcmp(t, "join", 4) == 0) || (n == 5 && memcmp(t, "leave", 5) == 0) ||
         (n == 7 && memcmp(t, "message", 7) == 0);
}

int chat_feed_serialize(chat_buf *out, const char *id, size_t id_len, const char *type,
                        size_t type_len, const char *data, size_t len)
{
  char *dst;
  size_t n;
  rtw_sse_event ev = {.type = type, .type_len = type_len, .id = id, .id_len = id_len,
                      .data = data, .data_len = len};

  out->off = out->len = 0;
  if (rtw_sse_write_event(NULL, 0, &n, &ev, 0) != 0)
    return -1;
  dst = chat_buf_reserve(out, n, MAX_EVENT);
  if (dst == NULL || rtw_sse_write_event(dst, n, &n, &ev, 0) != 0)
    return -1;
  chat_buf_commit(out, n);
  return 0;
}

/* Serialise and keep one event under `id` (not written to the file). */
static int remember(chat_feed *f, uint64_t id, const char *type, size_t type_len,
                    const char *data, size_t len)
{
  char ids[24];
  int idn = snprintf(ids, sizeof ids, "%" PRIu64, id);

  if (chat_feed_serialize(&f->scratch, ids, (size_t)idn, type, type_len, data, len) != 0)
    return -1;
  return rtw_sse_history_push(f->history, ids, (size_t)idn, f->scratch.data,
                              chat_buf_size(&f->scratch), NULL) == 0 ? 0 : -1;
}

int chat_feed_log_id(char *buf, size_t cap, const char *epoch, uint64_t seq)
{
  int n = snprintf(buf, cap, "%s-%" PRIu64, epoch, seq);
  return n > 0 && (size_t)n < cap ? n : -1;
}

int chat_feed_valid_type(const char *type, size_t len)
{
  return valid_type(type, len);
}

int chat_feed_push_log(chat_feed *f, const char *epoch, uint64_t seq, const char *type,
                       size_t type_len, const char *data, size_t len)
{
  char id[CHAT_LOG_ID_MAX];
  int idn = chat_feed_log_id(id, sizeof id, epoch, seq);

  if (idn < 0)
    return -1;
  if (!valid_type(type, type_len) ||
      chat_feed_serialize(&f->scratch, id, (size_t)idn, type, type_len, data, len) != 0) {
    /* not an event we show (a foreign writer, or too large): its number stays taken by
     * an empty entry, so that the window keeps no hole and every node skips it alike */
    rtw_sse_history_push_at(f->history, seq, id, (size_t)idn, NULL, 0);
    return -1;
  }
  /* the log's numbers: the window follows them, a hole empties it (rtw_sse_history_push_at) */
  return rtw_sse_history_push_at(f->history, seq, id, (size_t)idn, f->scratch.data,
                                 chat_buf_size(&f->scratch)) == 0 ? 0 : -1;
}

/* One line of the feed file: `id TAB type TAB data` (without its LF). */
static int parse_line(const char *line, size_t len, uint64_t *id, const char **type,
                      size_t *type_len, const char **data, size_t *data_len)
{
  const char *t1 = memchr(line, '\t', len), *t2;
  char *end;

  if (t1 == NULL || t1 == line || line[0] < '0' || line[0] > '9')
    return -1;
  t2 = memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line));
  if (t2 == NULL)
    return -1;
  errno = 0;
  *id = strtoull(line, &end, 10);
  if (errno != 0 || end != t1 || *id == 0)
    return -1;
  *type = t1 + 1;
  *type_len = (size_t)(t2 - *type);
  *data = t2 + 1;
  *data_len = len - (size_t)(*data - line);
  return valid_type(*type, *type_len) ? 0 : -1;
}

/* One line of the feed file from one event of the history, as remember() wrote it:
 * `event: TYPE`, `id: ID` and one `data: DATA` line (the data is single-line JSON). */
static int history_line(const char *ev, size_t len, chat_buf *line)
{
  const char *p = ev, *end = ev + len, *type = NULL, *id = NULL, *data = NULL;
  size_t type_len = 0, id_len = 0, data_len = 0;

  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
    if (n > 7 && memcmp(p, "event: ", 7) == 0)
      type = p + 7, type_len = n - 7;
    else if (n > 4 && memcmp(p, "id: ", 4) == 0)
      id = p + 4, id_len = n - 4;
    else if (n >= 6 && memcmp(p, "data: ", 6) == 0)
      data = p + 6, data_len = n - 6;
    p += n + 1;
  }
  line->off = line->len = 0;
  if (type == NULL || id == NULL || data == NULL ||
      chat_buf_append(line, id, id_len, MAX_LINE) != 0 ||
      chat_buf_append(line, "\t", 1, MAX_LINE) != 0 ||
      chat_buf_append(line, type, type_len, MAX_LINE) != 0 ||
      chat_buf_append(line, "\t", 1, MAX_LINE) != 0 ||
      chat_buf_append(line, data, data_len, MAX_LINE) != 0 ||
      chat_buf_append(line, "\n", 1, MAX_LINE) != 0)
    return -1;
  return 0;
}

/* Rewrite the file with exactly what the history keeps (a copy renamed over the file),
 * then append to the new file. The file then holds at most what the history holds. */
static int rewrite(chat_feed *f)
{
  char tmp[4096];
  chat_buf line = {0};
  uint64_t seq, lines = 0;
  size_t bytes = 0;
  FILE *out;
  int ok = 1, fd;

  if (snprintf(tmp, sizeof tmp, "%s.tmp", f->path) >= (int)sizeof tmp ||
      (out = fopen(tmp, "w")) == NULL)
    return -1;
  for (seq = rtw_sse_history_first_seq(f->history);
       ok && seq < rtw_sse_history_next_seq(f->history); seq++) {
    const void *ev;
    size_t len;
    ok = rtw_sse_history_get(f->history, seq, &ev, &len) == 0 &&
         history_line(ev, len, &line) == 0 &&
         fwrite(line.data, 1, chat_buf_size(&line), out) == chat_buf_size(&line);
    bytes += chat_buf_size(&line);
    lines++;
  }
  chat_buf_free(&line);
  ok = ok && fflush(out) == 0 && fsync(fileno(out)) == 0;
  if (fclose(out) != 0 || !ok || rename(tmp, f->path) != 0 ||
      (fd = open(f->path, O_WRONLY | O_APPEND)) < 0) {
    remove(tmp);
    return -1;
  }
  if (f->fd >= 0)
    close(f->fd);
  f->fd = fd;
  f->file_bytes = bytes;
  f->file_lines = lines;
  return 0;
}

/* Keep the file within FEED_FILE_FACTOR times the history (in bytes and in events). */
static void bound_file(chat_feed *f)
{
  if (f->fd < 0 || (f->file_bytes <= f->max_file_bytes && f->file_lines <= f->max_file_lines))
    return;
  if (rewrite(f) != 0) { /* rather no file than an unbounded one */
    fprintf(stderr, "rtweb-chat: %s: cannot rewrite (%s); no longer appending to it\n",
            f->path, strerror(errno));
    close(f->fd);
    f->fd = -1;
  }
}

/* Read the feed file back. Returns the byte offset where its last complete line ends. */
static long reload(chat_feed *f, FILE *in, size_t *lines)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long good = 0, pos = 0;

  *lines = 0;
  while ((n = getline(&line, &cap, in)) > 0) {
    uint64_t id;
    const char *type, *data;
    size_t type_len, data_len;
    pos += (long)n;
    if (line[n - 1] != '\n')
      break; /* cut short: the process died mid-write */
    good = pos;
    if (parse_line(line, (size_t)n - 1, &id, &type, &type_len, &data, &data_len) != 0 ||
        id < f->next_id) /* ids only grow; anything else is not ours */
      continue;
    if (remember(f, id, type, type_len, data, data_len) != 0)
      continue;
    f->next_id = id + 1;
    (*lines)++;
  }
  free(line);
  return good;
}

size_t chat_feed_history_bytes(size_t max_events)
{
  /* room for max_events ordinary events; a burst of long messages evicts sooner */
  size_t max_bytes = max_events * 1024u;
  return max_bytes < RTW_SSE_HISTORY_DEFAULT_MAX_BYTES ? RTW_SSE_HISTORY_DEFAULT_MAX_BYTES
                                                       : max_bytes;
}

int chat_feed_open(chat_feed *f, size_t max_events, const char *path)
{
  size_t max_bytes = chat_feed_history_bytes(max_events), lines = 0;
  long good = 0;
  off_t size;
  FILE *in;

  memset(f, 0, sizeof *f);
  f->fd = -1;
  f->next_id = 1;
  f->path = path;
  f->max_file_bytes = (uint64_t)FEED_FILE_FACTOR * max_bytes;
  f->max_file_lines = (uint64_t)FEED_FILE_FACTOR * max_events + FEED_FILE_MIN_LINES;
  if (rtw_sse_history_new(&f->history, max_events, max_bytes, NULL) != 0) {
    fprintf(stderr, "rtweb-chat: cannot allocate a history of %zu events\n", max_events);
    return -1;
  }
  if (path == NULL)
    return 0;
  in = fopen(path, "r");
  if (in != NULL) {
    good = reload(f, in, &lines);
    fclose(in);
  }
  f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (f->fd < 0) {
    fprintf(stderr, "rtweb-chat: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size = lseek(f->fd, 0, SEEK_END);
  if (size > (off_t)good) { /* drop a half-written last line */
    if (ftruncate(f->fd, (off_t)good) != 0)
      fprintf(stderr, "rtweb-chat: %s: %s\n", path, strerror(errno));
    size = (off_t)good;
  }
  f->file_bytes = size > 0 ? (uint64_t)size : 0;
  f->file_lines = lines;
  bound_file(f);
  if (lines > 0)
    fprintf(stderr, "rtweb-chat: %s: %zu events reloaded, next id %" PRIu64 "\n", path,
            lines, f->next_id);
  return 0;
}

static void append_line(chat_feed *f, uint64_t id, const char *type, const char *data,
                        size_t len)
{
  char head[48];
  chat_buf line = {0};
  size_t off = 0, total;

  snprintf(head, sizeof head, "%" PRIu64 "\t%s\t", id, type);
  if (chat_buf_puts(&line, head) != 0 || chat_buf_append(&line, data, len, (size_t)-1) != 0 ||
      chat_buf_puts(&line, "\n") != 0) {
    chat_buf_free(&line);
    return;
  }
  total = chat_buf_size(&line);
  while (off < total) { /* one write(2) per line with O_APPEND; loop on a short write */
    ssize_t w = write(f->fd, line.data + off, total - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      if (!f->write_failed)
        fprintf(stderr, "rtweb-chat: feed file: %s\n", strerror(errno));
      f->write_failed = 1;
      break;
    }
    off += (size_t)w;
  }
  f->file_bytes += off;
  f->file_lines++;
  chat_buf_free(&line);
}

int chat_feed_publish(chat_feed *f, const char *type, const char *data, size_t len)
{
  uint64_t id = f->next_id;

  if (memchr(data, '\n', len) != NULL || memchr(data, '\r', len) != NULL)
    return -1; /* data is single-line JSON, one line of the feed file */
  if (remember(f, id, type, strlen(type), data, len) != 0)
    return -1;
  f->next_id++;
  if (f->fd >= 0) {
    append_line(f, id, type, data, len);
    bound_file(f);
  }
  return 0;
}

void chat_feed_close(chat_feed *f)
{
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  rtw_sse_history_free(f->history);
  f->history = NULL;
  chat_buf_free(&f->scratch);
}
