/* SPDX-License-Identifier: MIT */
/* SSE parse benchmark driver: times rtweb's parser and a memchr baseline on three streams. */

/*
 * Run it through bench/run_sse.sh, which adds eventsource-parser and prints the table;
 * docs/performance.md describes the method. Alone:
 *
 *   bench_sse [-d DIR] [-s NAMES] [-r REPS] [-t SECONDS] [-m MIB] [-c CHUNK] [-L BYTES]
 *
 *   -d DIR      write the streams and DIR/manifest.tsv there (for bench/node/bench_sse.mjs)
 *   -r REPS     timed repetitions per parser and stream; the median is reported (default 9)
 *   -t SECONDS  minimum duration of one repetition; a repetition repeats whole passes over
 *               the stream until it lasts that long (default 0.3)
 *   -m MIB      size of each stream in MiB (default 1: cache-resident, like a socket buffer)
 *   -c CHUNK    bytes handed to the parser per call (default 16384)
 *   -s NAMES    only these streams, comma-separated (json,big,heartbeat; default all)
 *   -L BYTES    length of the "big" stream's data lines, "data: " and LF included, 8 to
 *               65000 (default 80, the issue-15 row); long lines (a large JSON value is one
 *               line) are cut by the reads, e.g. -L 1000, 8000 or 65000 with 16 KiB chunks
 *
 * Parsers: rtweb (buffered: on_event gets the whole data), rtweb-stream (the same parser
 * with RTW_SSE_FLAG_STREAM_DATA: data arrives through on_data) and the memchr baseline.
 *
 * Output (stdout) is tab-separated, one record per line, first column the record kind:
 *
 *   info    key value
 *   stream  name bytes events comments data_bytes comment_bytes     (what the generator made)
 *   result  stream parser events comments data_bytes comment_bytes
 *           bytes passes_per_rep reps median_s min_s max_s          (seconds per pass)
 *   error   stream parser message
 *
 * Progress goes to stderr.
 */

#include "memchr_sse.h"

#include <rtweb/rtweb.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

/* ---------------------------------------------------------------- streams */

typedef struct counts {
  unsigned long long events;
  unsigned long long comments;
  unsigned long long data_bytes;    /* sum of data lengths (trailing LF removed) */
  unsigned long long comment_bytes; /* sum of comment text lengths */
  unsigned long long meta_bytes;    /* type + id lengths: touched, not compared */
} counts;

typedef struct stream {
  const char *name;
  char *buf;
  size_t len;
  size_t cap;
  counts expect; /* what the generator put in */
} stream;

static void die(const char *what)
{
  fprintf(stderr, "bench_sse: %s\n", what);
  exit(1);
}

static void put(stream *s, const char *p, size_t n)
{
  if (s->len + n > s->cap) {
    die("stream buffer overflow (generator bug)");
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

static void stream_init(stream *s, const char *name, size_t target)
{
  memset(s, 0, sizeof *s);
  s->name = name;
  s->cap = target;
  s->buf = malloc(target);
  if (s->buf == NULL) {
    die("out of memory");
  }
}

/* Formats into a fixed buffer; the generators only format short, bounded lines. */
static size_t fmt_len(int n, size_t cap)
{
  if (n < 0 || (size_t)n >= cap) {
    die("line too long (generator bug)");
  }
  return (size_t)n;
}

/*
 * Stream 1, "json": small JSON events of exactly 100 bytes each, ids increasing:
 *   id: 12345\ndata: {"seq":12345,"user":"alice","text":"hello world...","ts":1700012345}\n\n
 * The text is padded so every event is 100 bytes whatever the width of the number.
 */
static void make_json(stream *s, size_t target)
{
  static const char pad[] = "hello world, lorem ipsum dolor sit amet consectetur adipiscing";
  char head[128];
  char tail[64];
  unsigned long seq;

  stream_init(s, "json", target);
  for (seq = 1;; seq++) {
    size_t hn = fmt_len(snprintf(head, sizeof head,
                                 "id: %lu\ndata: {\"seq\":%lu,\"user\":\"alice\",\"text\":\"",
                                 seq, seq),
                        sizeof head);
    size_t tn = fmt_len(snprintf(tail, sizeof tail, "\",\"ts\":%lu}\n\n", 1700000000ul + seq),
                        sizeof tail);
    size_t text = 100 - hn - tn;
    size_t id_line = (size_t)(strchr(head, '\n') - head) + 1;

    if (hn + tn + 11 > 100 || text > sizeof pad - 1) {
      die("json event does not fit in 100 bytes (generator bug)");
    }
    if (s->len + 100 > target) {
      break;
    }
    put(s, head, hn);
    put(s, pad, text);
    put(s, tail, tn);
    s->expect.events++;
    /* data value: from after "data: " up to the final "\n\n" */
    s->expect.data_bytes += 100 - id_line - 6 - 2;
  }
}

/*
 * Stream 2, "big": 64 KiB events of 80-byte data lines (about 819 lines each, the last one
 * a little longer so each event is exactly 65536 bytes), printable ASCII from a fixed LCG:
 *   id: 7\ndata: <73 bytes>\ndata: <73 bytes>\n ... \n\n
 * `line` (-L) sets the line length instead of 80, "data: " and LF included.
 */
static void make_big(stream *s, size_t target, size_t line)
{
  enum { EVENT = 65536 };
  const size_t LINE = line;
  uint32_t lcg = 12345u;
  unsigned long seq;

  stream_init(s, "big", target);
  for (seq = 1; s->len + EVENT <= target; seq++) {
    char idl[32];
    size_t idn = fmt_len(snprintf(idl, sizeof idl, "id: %lu\n", seq), sizeof idl);
    size_t left = EVENT - idn - 1; /* bytes for data lines */

    put(s, idl, idn);
    while (left > 0) {
      /* the last line takes the remainder, so no line is shorter than LINE */
      size_t n = left < 2 * LINE ? left : LINE;
      size_t i;

      put(s, "data: ", 6);
      for (i = 0; i < n - 7; i++) {
        char c;
        lcg = lcg * 1664525u + 1013904223u;
        c = (char)(' ' + (char)((lcg >> 24) % 95u)); /* 0x20..0x7e */
        put(s, &c, 1);
      }
      put(s, "\n", 1);
      s->expect.data_bytes += n - 7 + 1; /* value plus its joining LF */
      left -= n;
    }
    put(s, "\n", 1);
    s->expect.data_bytes -= 1; /* the last LF is removed at dispatch */
    s->expect.events++;
  }
}

/* Stream 3, "heartbeat": ": heartbeat\n\n" repeated; each comment counts as an event. */
static void make_heartbeat(stream *s, size_t target)
{
  static const char hb[] = ": heartbeat\n\n";

  stream_init(s, "heartbeat", target);
  while (s->len + sizeof hb - 1 <= target) {
    put(s, hb, sizeof hb - 1);
    s->expect.comments++;
    s->expect.comment_bytes += 9;
  }
}

static int write_file(const char *dir, const char *name, const char *p, size_t n)
{
  char path[4096];
  FILE *f;
  int ok;

  fmt_len(snprintf(path, sizeof path, "%s/%s", dir, name), sizeof path);
  f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "bench_sse: %s: %s\n", path, strerror(errno));
    return -1;
  }
  ok = fwrite(p, 1, n, f) == n;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    fprintf(stderr, "bench_sse: writing %s failed\n", path);
  }
  return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- parsers */

/* One full pass over a stream in chunks; fills c; returns 0 or a negative error. */
typedef int (*pass_fn)(const stream *s, size_t chunk, counts *c, const char **err);

static int rtw_event(rtw_sse_parser *parser, const rtw_sse_event *ev, void *user_data)
{
  counts *c = user_data;

  (void)parser;
  c->events++;
  c->data_bytes += ev->data_len;
  c->meta_bytes += ev->type_len + ev->id_len;
  return 0;
}

static int rtw_comment(rtw_sse_parser *parser, const char *text, size_t len, void *user_data)
{
  counts *c = user_data;

  (void)parser;
  (void)text;
  c->comments++;
  c->comment_bytes += len;
  return 0;
}

/* Feed the whole stream to a parser made from cb and settings (NULL: defaults), end it and
 * free it. */
static int rtweb_run(const stream *s, size_t chunk, const rtw_sse_callbacks *cb,
                     const rtw_sse_settings *settings, counts *c, const char **err)
{
  rtw_sse_parser *p = NULL;
  size_t off;
  int rc;

  rc = rtw_sse_parser_new(&p, cb, settings, NULL, c);
  for (off = 0; off < s->len && rc == 0; off += chunk) {
    size_t n = s->len - off < chunk ? s->len - off : chunk;
    size_t nread = 0;
    rc = rtw_sse_parser_recv(p, s->buf + off, n, &nread);
    if (rc == 0 && nread != n) {
      rc = RTW_ERR_INVALID_STATE; /* nothing pauses here, so all input must be consumed */
    }
  }
  if (rc == 0) {
    rc = rtw_sse_parser_end(p);
  }
  rtw_sse_parser_free(p);
  if (rc != 0) {
    *err = rtw_strerror(rc);
  }
  return rc;
}

static int pass_rtweb(const stream *s, size_t chunk, counts *c, const char **err)
{
  rtw_sse_callbacks cb;

  memset(&cb, 0, sizeof cb);
  cb.version = RTW_SSE_CALLBACKS_VERSION;
  cb.on_event = rtw_event;
  cb.on_comment = rtw_comment;
  return rtweb_run(s, chunk, &cb, NULL, c, err);
}

static int rtw_stream_event(rtw_sse_parser *parser, const rtw_sse_event *ev, void *user_data)
{
  counts *c = user_data;

  (void)parser;
  c->events++; /* the data came through rtw_stream_data; ev->data_len is its total */
  c->meta_bytes += ev->type_len + ev->id_len;
  return 0;
}

static int rtw_stream_data(rtw_sse_parser *parser, const char *piece, size_t len,
                           void *user_data)
{
  counts *c = user_data;

  (void)parser;
  (void)piece;
  c->data_bytes += len;
  return 0;
}

/* rtweb with RTW_SSE_FLAG_STREAM_DATA: data pieces through on_data, nothing buffered. */
static int pass_rtweb_stream(const stream *s, size_t chunk, counts *c, const char **err)
{
  rtw_sse_callbacks cb;
  rtw_sse_settings set;

  memset(&cb, 0, sizeof cb);
  cb.version = RTW_SSE_CALLBACKS_VERSION;
  cb.on_event = rtw_stream_event;
  cb.on_data = rtw_stream_data;
  cb.on_comment = rtw_comment;
  memset(&set, 0, sizeof set);
  set.version = RTW_SSE_SETTINGS_VERSION;
  set.flags = RTW_SSE_FLAG_STREAM_DATA;
  return rtweb_run(s, chunk, &cb, &set, c, err);
}

static int mcs_event(const char *type, size_t type_len, const char *data, size_t data_len,
                     const char *id, size_t id_len, void *user_data)
{
  counts *c = user_data;

  (void)type;
  (void)data;
  (void)id;
  c->events++;
  c->data_bytes += data_len;
  c->meta_bytes += type_len + id_len;
  return 0;
}

static int mcs_comment(const char *text, size_t len, void *user_data)
{
  counts *c = user_data;

  (void)text;
  c->comments++;
  c->comment_bytes += len;
  return 0;
}

static int pass_memchr(const stream *s, size_t chunk, counts *c, const char **err)
{
  mcs_callbacks cb;
  mcs_parser *p;
  size_t off;
  int rc = 0;

  cb.on_event = mcs_event;
  cb.on_comment = mcs_comment;
  p = mcs_new(&cb, c);
  if (p == NULL) {
    *err = "out of memory";
    return -1;
  }
  for (off = 0; off < s->len && rc == 0; off += chunk) {
    size_t n = s->len - off < chunk ? s->len - off : chunk;
    rc = mcs_recv(p, s->buf + off, n);
  }
  mcs_end(p);
  mcs_free(p);
  if (rc != 0) {
    *err = "memchr parser failed";
  }
  return rc;
}

/* ---------------------------------------------------------------- timing */

typedef struct options {
  const char *dir;
  int selected[3]; /* json, big, heartbeat */
  unsigned reps;
  double min_time;
  size_t mib;
  size_t chunk;
  size_t line; /* -L: the big stream's line length */
} options;

#define NPARSERS 3

typedef struct parser_def {
  const char *name;
  pass_fn pass;
} parser_def;

static const parser_def parsers[NPARSERS] = {
  {"rtweb", pass_rtweb},
  {"rtweb-stream", pass_rtweb_stream},
  {"memchr", pass_memchr},
};

/*
 * Times every parser on stream s. Each gets one warm-up pass (also its count check) and a
 * calibration pass (`passes` is chosen so a repetition lasts at least min_time). Then the
 * repetitions are interleaved: repetition r of every parser runs in turn, starting at a
 * different one each time, so load that comes and goes on a shared machine slows them
 * alike. Prints one result (or error) record per parser with the median, minimum and
 * maximum seconds per pass.
 */
static void measure(const options *o, const stream *s)
{
  double t[NPARSERS][MAX_REPS];
  counts first[NPARSERS];
  unsigned long passes[NPARSERS];
  const char *err[NPARSERS];
  int ok[NPARSERS];
  unsigned r;
  size_t k;

  for (k = 0; k < NPARSERS; k++) {
    double t0, warm;
    counts again;

    memset(&first[k], 0, sizeof first[k]);
    err[k] = "";
    ok[k] = parsers[k].pass(s, o->chunk, &first[k], &err[k]) == 0;
    /* calibrate on a second pass: the first one runs on a cold cache (and, for the first
     * parser, cold pages), which made its repetitions a few milliseconds long */
    memset(&again, 0, sizeof again);
    t0 = bench_now();
    if (ok[k])
      (void)parsers[k].pass(s, o->chunk, &again, &err[k]);
    warm = bench_now() - t0;
    passes[k] = warm >= o->min_time
                    ? 1ul
                    : (unsigned long)(o->min_time / (warm > 1e-6 ? warm : 1e-6)) + 1ul;
  }
  for (r = 0; r < o->reps; r++) {
    size_t j;

    for (j = 0; j < NPARSERS; j++) {
      double t0;
      unsigned long i;

      k = (j + r) % NPARSERS;
      if (!ok[k]) {
        continue;
      }
      t0 = bench_now();
      for (i = 0; i < passes[k]; i++) {
        counts c;
        memset(&c, 0, sizeof c);
        if (parsers[k].pass(s, o->chunk, &c, &err[k]) != 0 ||
            memcmp(&c, &first[k], sizeof c) != 0) {
          ok[k] = 0;
          err[k] = "result changed between passes";
          break;
        }
      }
      t[k][r] = (bench_now() - t0) / (double)passes[k];
    }
  }
  for (k = 0; k < NPARSERS; k++) {
    double median;

    fprintf(stderr, "bench_sse: %-9s %-12s ...", s->name, parsers[k].name);
    if (!ok[k]) {
      fprintf(stderr, " failed: %s\n", err[k]);
      printf("error\t%s\t%s\t%s\n", s->name, parsers[k].name, err[k]);
      continue;
    }
    median = bench_median(t[k], o->reps);
    fprintf(stderr, " %.3f GB/s\n", (double)s->len / median / 1e9);
    printf("result\t%s\t%s\t%llu\t%llu\t%llu\t%llu\t%zu\t%lu\t%u\t%.9f\t%.9f\t%.9f\n",
           s->name, parsers[k].name, first[k].events, first[k].comments, first[k].data_bytes,
           first[k].comment_bytes, s->len, passes[k], o->reps, median, t[k][0],
           t[k][o->reps - 1]);
  }
  fflush(stdout);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
  fprintf(stderr,
          "usage: bench_sse [-d DIR] [-s NAMES] [-r REPS] [-t SECONDS] [-m MIB] [-c CHUNK]"
          " [-L BYTES]\n");
  exit(2);
}

static unsigned long num(const char *arg, unsigned long lo, unsigned long hi)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
    usage();
  }
  return v;
}

static const char *const stream_names[3] = {"json", "big", "heartbeat"};

/* -s json,big: select streams by name. */
static void select_streams(options *o, const char *list)
{
  size_t i;

  for (i = 0; i < 3; i++) {
    const char *p = list;
    size_t n = strlen(stream_names[i]);

    o->selected[i] = 0;
    while ((p = strstr(p, stream_names[i])) != NULL) {
      if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
        o->selected[i] = 1;
        break;
      }
      p += n;
    }
  }
  if (!o->selected[0] && !o->selected[1] && !o->selected[2]) {
    usage();
  }
}

static void parse_args(int argc, char **argv, options *o)
{
  int ch;
  char *end;

  o->dir = NULL;
  o->selected[0] = o->selected[1] = o->selected[2] = 1;
  o->reps = 9;
  o->min_time = 0.3;
  o->mib = 1;
  o->chunk = 16384;
  o->line = 80;
  while ((ch = getopt(argc, argv, "d:s:r:t:m:c:L:")) != -1) {
    switch (ch) {
    case 'd': o->dir = optarg; break;
    case 's': select_streams(o, optarg); break;
    case 'r': o->reps = (unsigned)num(optarg, 1, MAX_REPS); break;
    case 'm': o->mib = (size_t)num(optarg, 1, 4096); break;
    case 'c': o->chunk = (size_t)num(optarg, 1, 1ul << 30); break;
    case 'L': o->line = (size_t)num(optarg, 8, 65000); break;
    case 't':
      o->min_time = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || !(o->min_time >= 0.0 && o->min_time <= 60.0)) {
        usage();
      }
      break;
    default: usage();
    }
  }
  if (optind != argc) {
    usage();
  }
}

static void print_stream(const stream *s)
{
  printf("stream\t%s\t%zu\t%llu\t%llu\t%llu\t%llu\n", s->name, s->len, s->expect.events,
         s->expect.comments, s->expect.data_bytes, s->expect.comment_bytes);
}

static void write_streams(const options *o, stream *st, size_t n)
{
  char path[4096];
  FILE *f;
  size_t i;

  for (i = 0; i < n; i++) {
    char file[64];
    if (!o->selected[i]) {
      continue;
    }
    fmt_len(snprintf(file, sizeof file, "%s.sse", st[i].name), sizeof file);
    if (write_file(o->dir, file, st[i].buf, st[i].len) != 0) {
      exit(1);
    }
  }
  fmt_len(snprintf(path, sizeof path, "%s/manifest.tsv", o->dir), sizeof path);
  f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "bench_sse: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  fprintf(f, "chunk\t%zu\n", o->chunk);
  for (i = 0; i < n; i++) {
    if (!o->selected[i]) {
      continue;
    }
    fprintf(f, "stream\t%s\t%s.sse\t%zu\n", st[i].name, st[i].name, st[i].len);
  }
  if (fclose(f) != 0) {
    die("writing manifest.tsv failed");
  }
}

int main(int argc, char **argv)
{
  options o;
  stream st[3];
  size_t target;
  size_t i;

  parse_args(argc, argv, &o);
  target = o.mib * 1024u * 1024u;
  make_json(&st[0], target);
  make_big(&st[1], target, o.line);
  make_heartbeat(&st[2], target);
  if (o.dir != NULL) {
    write_streams(&o, st, 3);
  }

  printf("info\trtweb\t%s\n", rtw_version_string());
  printf("info\tcompiler\t%s\n", BENCH_COMPILER);
  printf("info\tbuildtype\t%s\n", BENCH_BUILDTYPE);
  printf("info\toptimization\t%s\n", BENCH_OPTIMIZATION);
  printf("info\tchunk\t%zu\n", o.chunk);
  printf("info\tbig_line\t%zu\n", o.line);
  printf("info\treps\t%u\n", o.reps);
  printf("info\tmin_time\t%g\n", o.min_time);
  for (i = 0; i < 3; i++) {
    if (o.selected[i]) {
      print_stream(&st[i]);
    }
  }
  fflush(stdout);

  for (i = 0; i < 3; i++) {
    if (o.selected[i]) {
      measure(&o, &st[i]);
    }
  }
  for (i = 0; i < 3; i++) {
    free(st[i].buf);
  }
  return 0;
}
