/* SPDX-License-Identifier: MIT */
/* rtwcat: a command-line host for rtweb's engines; main() picks a subcommand from a table.
 *
 *   rtwcat <word1> [<word2>] [options...]     run a subcommand (see `commands` below)
 *   rtwcat --help | -h | help [<command>]     usage, on stdout, exit 0
 *
 * A new subcommand is one row in `commands` plus its own file. Exit statuses are shared:
 * 0 success, 1 protocol or I/O error, 2 usage error, 3 WebSocket peer closed abnormally
 * (rtwcat.h). Rows whose first word is a URL scheme ("ws://") take the URL itself as the
 * command word: `rtwcat ws://host:port/path [options]`.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "rtwcat.h"

/* The client options, shared by the plain and the TLS scheme of each protocol. */
#define WS_CLIENT_OPTIONS \
  "  --binary             send each line as a binary message (default: text)\n" \
  "  --json               print JSON lines as 'decode ws' does, with an \"open\" line\n" \
  "                       first and pings, pongs and the peer's close\n" \
  "  --close CODE[:REASON]  the close sent at stdin EOF (default 1000)\n" \
  "  --subprotocol P      offer subprotocol P (repeatable, in order of preference)\n" \
  "  --header 'N: V'      add a request header (repeatable)\n" \
  "  --origin O           send Origin: O\n" \
  "  --ping-interval SEC  send a ping every SEC seconds (decimals allowed)\n" \
  "  --max-message N      largest message accepted, in bytes (default 64 MiB)\n" \
  "  --fragment-size N    send messages in frames of at most N bytes (default 64 KiB)\n" \
  RTWCAT_DEFLATE_HELP \
  "  --deflate-required   close with 1010 when the server declines permessage-deflate\n" \
  RTWCAT_TLS_CLIENT_HELP \
  "after the closing handshake it waits up to 5 s for the server to close TCP first\n" \
  "exit: 0 closed with 1000/1001, 1 error or lost connection, 2 usage,\n" \
  "      3 the peer closed with another code\n"

#define SSE_CLIENT_OPTIONS \
  "  --max-events N       exit 0 after N events\n" \
  "  --max-reconnects N   give up (exit 1) after N reconnects (default: never; 0: no\n" \
  "                       reconnect at all)\n" \
  "  --last-event-id ID   send Last-Event-ID: ID on the first request\n" \
  "  --header 'N: V'      add a request header (repeatable)\n" \
  "  --comments           also print comment lines as {\"comment\":...}\n" \
  "  --retry MS           reconnection time until the server sends retry: (default 3000)\n" \
  RTWCAT_TLS_CLIENT_HELP \
  "exit: 0 on 204 No Content or after --max-events, 1 on a bad status or Content-Type or\n" \
  "      when reconnects are exhausted, 2 usage\n"

static const rtwcat_command commands[] = {
  {"decode", "sse", "[--chunk N] [--comments] [--last-event-id ID]",
   "Decode an event stream on stdin; print one JSON object per line.",
   "  --chunk N            feed the parser N bytes at a time (1..65536; default: as read)\n"
   "  --comments           also print comment lines as {\"comment\":...}\n"
   "  --last-event-id ID   start with ID as the last event ID, as after a reconnect\n",
   rtwcat_decode_sse},
  {"decode", "ws", "[--role server|client] [--chunk N]",
   "Decode raw WebSocket frames on stdin; print one JSON object per line.",
   "  --role ROLE          the receiving endpoint: server (default; expects masked frames)\n"
   "                       or client (expects unmasked frames)\n"
   "  --chunk N            feed the session N bytes at a time (1..65536; default: as read)\n",
   rtwcat_decode_ws},
  {"ws://", NULL, "HOST[:PORT][/PATH][?QUERY] [options]",
   "WebSocket client: stdin lines are sent as messages, messages received are printed.",
   WS_CLIENT_OPTIONS, rtwcat_client_ws},
  {"wss://", NULL, "HOST[:PORT][/PATH][?QUERY] [options]",
   "The WebSocket client over TLS (default port 443), verifying the server.",
   WS_CLIENT_OPTIONS, rtwcat_client_ws},
  {"http://", NULL, "HOST[:PORT][/PATH][?QUERY] [options]",
   "Server-Sent Events client with reconnection; prints events as 'decode sse' does.",
   SSE_CLIENT_OPTIONS, rtwcat_client_sse},
  {"https://", NULL, "HOST[:PORT][/PATH][?QUERY] [options]",
   "The Server-Sent Events client over TLS (default port 443), verifying the server.",
   SSE_CLIENT_OPTIONS, rtwcat_client_sse},
  {"serve", NULL, "[--host H] [--port P] [--tls-cert FILE --tls-key FILE] [options]",
   "Serve WebSocket echo (any path) and an SSE stream of stdin lines at /events.",
   "  --host H             address to listen on (default 127.0.0.1)\n"
   "  --port P             port (default 8080; 0 picks a free port)\n"
   "  --subprotocol P      a subprotocol we speak (repeatable): the first one the client\n"
   "                       offers that is listed is selected\n"
   "  --max-message N      largest WebSocket message, in bytes (default 64 MiB)\n"
   "  --history N          events kept for Last-Event-ID replay (default 1024)\n"
   "  --heartbeat SEC      ': heartbeat' comment on every SSE stream each SEC seconds\n"
   "                       (default 15; 0 turns it off)\n"
   "  --head-timeout SEC   close a connection whose request head is not complete\n"
   "                       after SEC seconds (default 30)\n"
   "  --keepalive SEC      ping a WebSocket silent for SEC seconds; close it when the\n"
   "                       pong does not follow within SEC seconds (default 30; 0: off)\n"
   "  --idle-timeout SEC   close (1001) a WebSocket that sent no whole message or\n"
   "                       control frame for SEC seconds (default 60; 0: off)\n"
   "  --write-timeout SEC  close a WebSocket or SSE stream whose pending output makes\n"
   "                       no progress for SEC seconds (default 30; 0: off)\n"
   "  --close-timeout SEC  after our close frame, wait SEC seconds for the peer's\n"
   "                       (default 5)\n"
   RTWCAT_DEFLATE_HELP
   "  --tls-cert FILE      serve TLS (wss:// and https://) with this PEM certificate\n"
   "                       chain (leaf first); needs --tls-key\n"
   "  --tls-key FILE       the PEM private key of the --tls-cert leaf\n"
   "  --tls-handshake-timeout SEC  drop a connection whose TLS handshake is not\n"
   "                       complete after SEC seconds (default 10)\n"
   "SEC may have decimals (0.5). prints 'listening on http://HOST:PORT/' first\n"
   "(https:// with --tls-cert);\n"
   "SIGINT/SIGTERM stop it (exit 0)\n",
   rtwcat_serve},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* True for a row named by a URL scheme ("ws://"). */
static int is_scheme_row(const rtwcat_command *cmd)
{
  size_t n = strlen(cmd->word1);

  return n > 3 && strcmp(cmd->word1 + n - 3, "://") == 0;
}

/* The words, and the space that separates them from the synopsis (none after a scheme:
 * "ws://HOST:PORT"). */
static void print_words(const rtwcat_command *cmd, FILE *out)
{
  fputs(cmd->word1, out);
  if (cmd->word2 != NULL)
    fprintf(out, " %s", cmd->word2);
}

static const char *synopsis_sep(const rtwcat_command *cmd)
{
  return is_scheme_row(cmd) ? "" : " ";
}

/* Case-insensitive prefix test, for URL schemes (RFC 3986 3.1). */
static int has_prefix_ci(const char *s, const char *prefix)
{
  for (; *prefix != '\0'; s++, prefix++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != *prefix)
      return 0;
  }
  return 1;
}

static void usage(FILE *out)
{
  size_t i;

  fputs("usage: rtwcat <command> [options]\n\ncommands:\n", out);
  for (i = 0; i < NCOMMANDS; i++) {
    fputs("  ", out);
    print_words(&commands[i], out);
    fprintf(out, "%s%s\n        %s\n", synopsis_sep(&commands[i]), commands[i].synopsis,
            commands[i].summary);
  }
  fputs("  help [command]\n        Show this help, or the options of one command.\n\n"
        "Run 'rtwcat <command> --help' for its options. See docs/rtwcat.md.\n",
        out);
}

void rtwcat_command_help(const rtwcat_command *cmd, FILE *out)
{
  fputs("usage: rtwcat ", out);
  print_words(cmd, out);
  fprintf(out, "%s%s\n\n%s\n\noptions:\n%s", synopsis_sep(cmd), cmd->synopsis, cmd->summary,
          cmd->options);
  fputs("  -h, --help           show this help\n", out);
}

int rtwcat_usage_error(const rtwcat_command *cmd, const char *fmt, ...)
{
  va_list ap;

  fputs("rtwcat: ", stderr);
  if (cmd != NULL) {
    print_words(cmd, stderr);
    fputs(": ", stderr);
  }
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd != NULL) {
    fputs("\nusage: rtwcat ", stderr);
    print_words(cmd, stderr);
    fprintf(stderr, "%s%s\n", synopsis_sep(cmd), cmd->synopsis);
  } else {
    fputs("\nRun 'rtwcat --help' for usage.\n", stderr);
  }
  return RTWCAT_EXIT_USAGE;
}

/*
 * Match argv[*i] against the long option `name` (e.g. "--chunk") taking a value, given either
 * as the next argument or after '='. Returns 1 and sets *value (advancing *i past a separate
 * value) when it matches, 0 when argv[*i] is another argument, -1 when the value is missing.
 */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
  const char *arg = argv[*i];
  size_t len = strlen(name);

  if (strncmp(arg, name, len) != 0)
    return 0;
  if (arg[len] == '=') {
    *value = arg + len + 1;
    return 1;
  }
  if (arg[len] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *i += 1;
  *value = argv[*i];
  return 1;
}

/* Match argv[*i] against the table: the option's index (*value set, NULL for a flag), -1
 * when it is none of them, -2 when its value is missing (*value: its name). */
static int find_option(const rtwcat_option *options, int argc, char **argv, int *i,
                       const char **value)
{
  int k;

  for (k = 0; options[k].name != NULL; k++) {
    const char *name = options[k].name;

    if (!options[k].has_value) {
      if (strcmp(argv[*i], name) != 0)
        continue;
      *value = NULL;
      return k;
    }
    switch (option_value(argc, argv, i, name, value)) {
    case 0:
      continue;
    case 1:
      return k;
    default:
      *value = name;
      return -2;
    }
  }
  return -1;
}

int rtwcat_parse_options(const rtwcat_command *cmd, const rtwcat_option_spec *spec, int argc,
                         char **argv, void *opts, const char **url)
{
  int i;

  for (i = 0; i < argc; i++) {
    const char *arg = argv[i], *value;
    int k, rc;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      rtwcat_command_help(cmd, stdout);
      return RTWCAT_EXIT_OK;
    }
    k = find_option(spec->options, argc, argv, &i, &value);
    if (k == -2)
      return rtwcat_usage_error(cmd, "%s needs a value", value);
    if (k >= 0) {
      if ((rc = spec->set(cmd, opts, k, value)) >= 0)
        return rc;
      continue;
    }
    if (arg[0] == '-')
      return rtwcat_usage_error(cmd, "unknown option '%s'", arg);
    if (url == NULL)
      return rtwcat_usage_error(cmd, "unexpected argument '%s'%s", arg, spec->stray);
    if (*url != NULL)
      return rtwcat_usage_error(cmd, "unexpected argument '%s' (one URL only)", arg);
    *url = arg;
  }
  if (url != NULL && *url == NULL)
    return rtwcat_usage_error(cmd, "no URL given");
  return -1;
}

/* The command named by argv[0] (and argv[1] for two-word commands), or NULL. *nwords says
 * how many arguments the name took. */
static const rtwcat_command *find_command(int argc, char **argv, int *nwords)
{
  size_t i;

  for (i = 0; i < NCOMMANDS; i++) {
    const rtwcat_command *cmd = &commands[i];

    if (is_scheme_row(cmd)) {
      /* the URL is the command word and stays in argv for the command; `help ws` and
       * `help ws://` name the row too */
      size_t n = strlen(cmd->word1) - 3;
      if (has_prefix_ci(argv[0], cmd->word1)) {
        *nwords = 0;
        return cmd;
      }
      if (strncmp(argv[0], cmd->word1, n) == 0 && argv[0][n] == '\0') {
        *nwords = 1;
        return cmd;
      }
      continue;
    }
    if (strcmp(argv[0], cmd->word1) != 0)
      continue;
    if (cmd->word2 == NULL) {
      *nwords = 1;
      return cmd;
    }
    if (argc > 1 && strcmp(argv[1], cmd->word2) == 0) {
      *nwords = 2;
      return cmd;
    }
  }
  return NULL;
}

/* True when word starts a two-word command ("decode"). */
static int is_first_word(const char *word)
{
  size_t i;

  for (i = 0; i < NCOMMANDS; i++)
    if (commands[i].word2 != NULL && strcmp(commands[i].word1, word) == 0)
      return 1;
  return 0;
}

/* The second words that may follow word, e.g. "sse", for an error message. */
static const char *second_words(const char *word)
{
  static char list[256];
  size_t i, len = 0;

  list[0] = '\0';
  for (i = 0; i < NCOMMANDS; i++) {
    const rtwcat_command *cmd = &commands[i];
    int n;

    if (cmd->word2 == NULL || strcmp(cmd->word1, word) != 0)
      continue;
    n = snprintf(list + len, sizeof list - len, "%s%s", len > 0 ? ", " : "", cmd->word2);
    if (n < 0 || (size_t)n >= sizeof list - len)
      break;
    len += (size_t)n;
  }
  return list;
}

static int is_help(const char *arg)
{
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* `rtwcat help [command...]` and `rtwcat --help`. */
static int help(int argc, char **argv)
{
  const rtwcat_command *cmd;
  int nwords;

  if (argc == 0) {
    usage(stdout);
    return RTWCAT_EXIT_OK;
  }
  cmd = find_command(argc, argv, &nwords);
  if (cmd != NULL && nwords == 0)
    nwords = 1; /* `help ws://...` */
  if (cmd == NULL || nwords != argc)
    return rtwcat_usage_error(NULL, "help: unknown command '%s'", argv[0]);
  rtwcat_command_help(cmd, stdout);
  return RTWCAT_EXIT_OK;
}

static int finish(int status)
{
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fputs("rtwcat: error writing to standard output\n", stderr);
    return status == RTWCAT_EXIT_OK ? RTWCAT_EXIT_FAILURE : status;
  }
  return status;
}

int main(int argc, char **argv)
{
  const rtwcat_command *cmd;
  int nwords;

  if (argc < 2) {
    usage(stderr);
    return RTWCAT_EXIT_USAGE;
  }
  if (is_help(argv[1]))
    return finish(help(argc - 2, argv + 2));
  cmd = find_command(argc - 1, argv + 1, &nwords);
  if (cmd != NULL && nwords == 1 && is_scheme_row(cmd))
    cmd = NULL; /* a bare "ws" is not a URL */
  if (cmd == NULL) {
    if (strstr(argv[1], "://") != NULL)
      return rtwcat_usage_error(NULL, "'%s': unsupported URL scheme (only ws://, wss://, http:// "
                                "and https://)",
                                argv[1]);
    if (is_first_word(argv[1]) && argc > 2)
      return rtwcat_usage_error(NULL, "unknown command '%s %s' (%s takes: %s)", argv[1],
                                argv[2], argv[1], second_words(argv[1]));
    if (is_first_word(argv[1]))
      return rtwcat_usage_error(NULL, "'%s' needs one of: %s", argv[1], second_words(argv[1]));
    return rtwcat_usage_error(NULL, "unknown command '%s'", argv[1]);
  }
  return finish(cmd->run(cmd, argc - 1 - nwords, argv + 1 + nwords));
}
