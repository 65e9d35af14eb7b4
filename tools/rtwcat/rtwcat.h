/* SPDX-License-Identifier: MIT */
/* rtwcat internals: the subcommand table entry and helpers shared by the subcommands. */
#ifndef RTWCAT_H
#define RTWCAT_H

#include <stdio.h>

#include "rtweb/ws.h"

/* Exit statuses, the same for every subcommand (docs/rtwcat.md, EXIT STATUS). */
#define RTWCAT_EXIT_OK 0
#define RTWCAT_EXIT_FAILURE 1 /* a protocol or I/O error; already reported */
#define RTWCAT_EXIT_USAGE 2   /* bad command line; message on stderr */

typedef struct rtwcat_command rtwcat_command;

/*
 * One subcommand: a row of the table in main.c. The command is selected by its words
 * ("decode" then "sse"); run() receives the arguments that follow them (argv[0] is the first
 * option, not a program name) and returns an RTWCAT_EXIT_* status.
 */
struct rtwcat_command {
  const char *word1;    /* first word, e.g. "decode"; a URL scheme such as "ws://" matches
                           every argument that starts with it (the URL stays in argv) */
  const char *word2;    /* second word, e.g. "sse", or NULL for a one-word command */
  const char *synopsis; /* the options after the words, for the usage line */
  const char *summary;  /* one line for `rtwcat --help` */
  const char *options;  /* one line per option, already indented, for `... --help` */
  int (*run)(const rtwcat_command *cmd, int argc, char **argv);
};

/* Print the command's usage and option list to out. */
void rtwcat_command_help(const rtwcat_command *cmd, FILE *out);

/* Report a command-line error for cmd on stderr, with its usage line; returns
 * RTWCAT_EXIT_USAGE so callers can `return rtwcat_usage_error(...)`. */
int rtwcat_usage_error(const rtwcat_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* One option of a command: its name ("--chunk") and whether it takes a value, given either
 * as the next argument or after '=' ("--chunk=4"); a flag ("--comments") takes none. */
typedef struct rtwcat_option {
  const char *name;
  int has_value;
} rtwcat_option;

/* Apply option `which` (an index into the command's table) with its value (NULL for a flag)
 * to the command's options `opts`. Returns -1 to go on, or an exit status after reporting a
 * usage error. */
typedef int (*rtwcat_option_fn)(const rtwcat_command *cmd, void *opts, int which,
                                const char *value);

/* How a command reads its arguments. */
typedef struct rtwcat_option_spec {
  const rtwcat_option *options; /* ended by a NULL name */
  rtwcat_option_fn set;
  const char *stray; /* without a URL argument: appended to "unexpected argument '...'" */
} rtwcat_option_spec;

/*
 * The option loop every command shares: -h or --help prints the command's help; an option
 * of the table goes to spec->set() ("NAME needs a value" when its value is missing); another
 * argument that starts with '-' is an unknown option. With url non-NULL the command takes
 * one URL argument, stored in *url (NULL before the call); without, any other argument is a
 * usage error. Returns -1 to go on, or an exit status (help shown, or a usage error reported).
 */
int rtwcat_parse_options(const rtwcat_command *cmd, const rtwcat_option_spec *spec, int argc,
                         char **argv, void *opts, const char **url);

/* Largest --chunk value, and the stdin buffer size. */
#define RTWCAT_MAX_CHUNK 65536u

/* Parse the --chunk value v: decimal digits only, 1..RTWCAT_MAX_CHUNK. Returns -1 to go on,
 * or an exit status after reporting a usage error for cmd (a rtwcat_option_fn result). */
int rtwcat_parse_chunk(const rtwcat_command *cmd, const char *v, size_t *out);

/* Feed one piece of input; returns 0 or an error that stops the pump. */
typedef int (*rtwcat_feed_fn)(void *arg, const unsigned char *p, size_t n);

/*
 * Read stdin to its end and feed it. With a chunk size, every piece has exactly that size
 * (except the last), whatever read(2) returns; 0 feeds what each read returns. Returns 0,
 * feed's first non-zero result, or 1 after reporting a read error on stderr (`what` names
 * the command in the message).
 */
int rtwcat_read_stdin(const char *what, size_t chunk, rtwcat_feed_fn feed, void *arg);

/* The subcommands. */
int rtwcat_decode_sse(const rtwcat_command *cmd, int argc, char **argv);
int rtwcat_decode_ws(const rtwcat_command *cmd, int argc, char **argv);
int rtwcat_client_ws(const rtwcat_command *cmd, int argc, char **argv);
int rtwcat_client_sse(const rtwcat_command *cmd, int argc, char **argv);
int rtwcat_serve(const rtwcat_command *cmd, int argc, char **argv);

/* permessage-deflate (RFC 7692) options of `ws://` and `serve` (deflate_opt.c). */
typedef struct rtwcat_deflate {
  int on;                    /* --deflate or any --deflate-* knob given */
  rtw_ws_deflate_config cfg; /* zero members: the library's defaults */
} rtwcat_deflate;

/* The option lines both commands print in --help (serve has no --deflate-required). */
#define RTWCAT_DEFLATE_HELP                                                                 \
  "  --deflate            negotiate permessage-deflate (RFC 7692) with the defaults:\n"      \
  "                       level 6, windows of 15 bits, no context takeover, every\n"       \
  "                       message compressed; each --deflate-* option implies it\n"        \
  "  --deflate-level N    compression level, 1 (fast) to 9 (small) (default 6)\n"          \
  "  --deflate-window N   largest window of our compressor, 9..15 bits (default 15)\n"     \
  "  --deflate-peer-window N  largest window accepted from the peer, 8..15 (default 15)\n" \
  "  --deflate-mem-level N  zlib memLevel of our compressor, 1..9 (default 8)\n"           \
  "  --deflate-threshold N  send messages shorter than N bytes uncompressed (default 0)\n" \
  "  --deflate-memory N   zlib memory budget per connection, in bytes (default 393216)\n"  \
  "  --deflate-context-takeover  keep the compression contexts between messages, in\n"     \
  "                       both directions (default: reset after each message)\n"

/* Set up d with everything off and the defaults. */
void rtwcat_deflate_init(rtwcat_deflate *d);

/* Apply the option `name` ("--deflate", "--deflate-level", ...) with its value (NULL for a
 * flag) to d. Returns -1 to go on, or an exit status after reporting a usage error. */
int rtwcat_deflate_option(const rtwcat_command *cmd, rtwcat_deflate *d, const char *name,
                          const char *v);

/* The negotiated parameters as the header element text, NUL-terminated ("" on error). */
void rtwcat_deflate_describe(const rtw_ws_deflate_params *p, char *buf, size_t cap);

/* Exit status of a WebSocket client whose peer closed with a code other than 1000/1001. */
#define RTWCAT_EXIT_PEER_CLOSE 3

#endif /* RTWCAT_H */
