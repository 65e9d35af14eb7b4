/* SPDX-License-Identifier: MIT */
/* rtwcat: a command-line host for rtweb's engines; main() picks a subcommand from a table.
 *
 *   rtwcat <word1> [<word2>] [options...]     run a subcommand (see `commands` below)
 *   rtwcat --help | -h | help [<command>]     usage, on stdout, exit 0
 *
 * A new subcommand is one row in `commands` plus its own file. Exit statuses are shared:
 * 0 success, 1 protocol or I/O error, 2 usage error (rtwcat.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rtwcat.h"

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
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_words(const rtwcat_command *cmd, FILE *out)
{
  fputs(cmd->word1, out);
  if (cmd->word2 != NULL)
    fprintf(out, " %s", cmd->word2);
}

static void usage(FILE *out)
{
  size_t i;

  fputs("usage: rtwcat <command> [options]\n\ncommands:\n", out);
  for (i = 0; i < NCOMMANDS; i++) {
    fputs("  ", out);
    print_words(&commands[i], out);
    fprintf(out, " %s\n        %s\n", commands[i].synopsis, commands[i].summary);
  }
  fputs("  help [command]\n        Show this help, or the options of one command.\n\n"
        "Run 'rtwcat <command> --help' for its options. See docs/rtwcat.md.\n",
        out);
}

void rtwcat_command_help(const rtwcat_command *cmd, FILE *out)
{
  fputs("usage: rtwcat ", out);
  print_words(cmd, out);
  fprintf(out, " %s\n\n%s\n\noptions:\n%s", cmd->synopsis, cmd->summary, cmd->options);
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
    fprintf(stderr, " %s\n", cmd->synopsis);
  } else {
    fputs("\nRun 'rtwcat --help' for usage.\n", stderr);
  }
  return RTWCAT_EXIT_USAGE;
}

int rtwcat_option_value(int argc, char **argv, int *i, const char *name, const char **value)
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

/* The command named by argv[0] (and argv[1] for two-word commands), or NULL. *nwords says
 * how many arguments the name took. */
static const rtwcat_command *find_command(int argc, char **argv, int *nwords)
{
  size_t i;

  for (i = 0; i < NCOMMANDS; i++) {
    const rtwcat_command *cmd = &commands[i];

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
  if (cmd == NULL) {
    if (is_first_word(argv[1]) && argc > 2)
      return rtwcat_usage_error(NULL, "unknown command '%s %s' (%s takes: %s)", argv[1],
                                argv[2], argv[1], second_words(argv[1]));
    if (is_first_word(argv[1]))
      return rtwcat_usage_error(NULL, "'%s' needs one of: %s", argv[1], second_words(argv[1]));
    return rtwcat_usage_error(NULL, "unknown command '%s'", argv[1]);
  }
  return finish(cmd->run(cmd, argc - 1 - nwords, argv + 1 + nwords));
}
