/* SPDX-License-Identifier: MIT */
/* rtwcat decode sse: run stdin through rtw_sse_parser and print what it reports as JSON lines.
 *
 * Output, one object per line, in the order the parser reports things:
 *   {"event":"<type>","data":"<data>","id":"<last event id>"}   a dispatched event
 *   {"retry":<ms>}                                               a valid retry field
 *   {"comment":"<text>"}                                         a comment (--comments only)
 *   {"error":"<RTW_ERR_NAME>"}                                   the parser failed (exit 1)
 * Strings are escaped by json.c. The parser runs with default settings, so its limits
 * (line, event and id sizes) are the documented defaults of include/rtweb/sse.h.
 */

#include <stdio.h>
#include <string.h>

#include "rtweb/sse.h"

#include "json.h"
#include "rtwcat.h"

typedef struct sse_options {
  size_t chunk;        /* 0: feed each read(2) result as it comes */
  int comments;        /* print comments */
  const char *last_id; /* seed for the last event ID, or NULL */
} sse_options;

/* ------------------------------------------------------------------ callbacks */

static int on_event(rtw_sse_parser *parser, const rtw_sse_event *ev, void *user_data)
{
  (void)parser;
  rtwcat_json_sse_event(user_data, ev->type, ev->type_len, ev->data, ev->data_len, ev->id,
                        ev->id_len);
  return 0;
}

static int on_retry(rtw_sse_parser *parser, uint32_t ms, void *user_data)
{
  (void)parser;
  rtwcat_json_sse_retry(user_data, ms);
  return 0;
}

static int on_comment(rtw_sse_parser *parser, const char *text, size_t len, void *user_data)
{
  (void)parser;
  rtwcat_json_sse_comment(user_data, text, len);
  return 0;
}

/* ------------------------------------------------------------------ command line */

enum { OPT_COMMENTS, OPT_CHUNK, OPT_LAST_EVENT_ID };

static const rtwcat_option options[] = {
  [OPT_COMMENTS] = {"--comments", 0},
  [OPT_CHUNK] = {"--chunk", 1},
  [OPT_LAST_EVENT_ID] = {"--last-event-id", 1},
  {NULL, 0},
};

static int set_option(const rtwcat_command *cmd, void *opts, int which, const char *value)
{
  sse_options *o = opts;

  if (which == OPT_CHUNK)
    return rtwcat_parse_chunk(cmd, value, &o->chunk);
  if (which == OPT_COMMENTS)
    o->comments = 1;
  else
    o->last_id = value;
  return -1;
}

static const rtwcat_option_spec option_spec = {options, set_option,
                                               " (input is read from stdin)"};

/* ------------------------------------------------------------------ feeding */

/* Feed one piece. Our callbacks never pause, so anything but 0 is a fatal error. */
static int feed(void *arg, const unsigned char *p, size_t n)
{
  size_t nread;

  return rtw_sse_parser_recv(arg, p, n, &nread);
}

/* ------------------------------------------------------------------ command */

static int print_error(int rc)
{
  fputs("{\"error\":", stdout);
  rtwcat_json_string(stdout, rtw_err_name(rc), strlen(rtw_err_name(rc)));
  fputs("}\n", stdout);
  return RTWCAT_EXIT_FAILURE;
}

int rtwcat_decode_sse(const rtwcat_command *cmd, int argc, char **argv)
{
  sse_options o = {0, 0, NULL};
  rtw_sse_callbacks cb = {.version = RTW_SSE_CALLBACKS_VERSION};
  rtw_sse_parser *parser = NULL;
  int rc;

  if ((rc = rtwcat_parse_options(cmd, &option_spec, argc, argv, &o, NULL)) >= 0)
    return rc;
  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (o.comments)
    cb.on_comment = on_comment;
  if ((rc = rtw_sse_parser_new(&parser, &cb, NULL, NULL, stdout)) != 0)
    return print_error(rc);
  if (o.last_id != NULL &&
      (rc = rtw_sse_parser_reset(parser, o.last_id, strlen(o.last_id))) != 0) {
    rtw_sse_parser_free(parser);
    if (rc == RTW_ERR_INVALID_ARGUMENT)
      return rtwcat_usage_error(cmd, "--last-event-id: must not contain CR or LF");
    if (rc == RTW_ERR_SSE_ID_TOO_LONG)
      return rtwcat_usage_error(cmd, "--last-event-id: longer than %u bytes",
                                RTW_SSE_DEFAULT_MAX_ID_LENGTH);
    return print_error(rc);
  }
  rc = rtwcat_read_stdin("decode sse", o.chunk, feed, parser);
  if (rc == 0)
    rc = rtw_sse_parser_end(parser);
  rtw_sse_parser_free(parser);
  if (rc == 1)
    return RTWCAT_EXIT_FAILURE;
  return rc != 0 ? print_error(rc) : RTWCAT_EXIT_OK;
}
