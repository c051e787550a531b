/*
 * client_help.c - the client's help: `coffre --help` (every noun with its
 * verbs, wherever its rows are in the table, the global options, the exit
 * codes), `coffre NOUN --help` and `coffre NOUN VERB --help` (each row's
 * route and options). Generated from the command table of client_cmds.c,
 * so a new row is in the help at once; tests/integration/test_cli*.py
 * compare it with docs/cli.md.
 */
#include "cli/client.h"

#include <stdio.h>
#include <string.h>

static const char globals_help[] =
    "global options (anywhere on the line):\n"
    "  --addr URL         the server (default https://127.0.0.1:8443)\n"
    "  --token-file FILE  read the API key from FILE (mode 0600 or stricter)\n"
    "  --token TOKEN      the API key (shown by ps(1) until read: prefer a file)\n"
    "  --cacert FILE      the CA certificate that signed the server's certificate\n"
    "  --json             print the server's JSON answer as it is\n"
    "  --timeout SECONDS  for the whole request (default 30)\n"
    "  -h, --help         this help; `coffre NOUN --help`, `coffre NOUN VERB --help`\n"
    "\n"
    "Each setting comes from the flags, else COFFRE_ADDR / COFFRE_TOKEN / COFFRE_CACERT, else\n"
    "the config file ($COFFRE_CONFIG, default ~/.config/coffre/config): `key = value` lines\n"
    "with addr, cacert, token, token_file. A config or token file holding an API key is\n"
    "refused when group or others have access to it.\n";

static const char exit_help[] =
    "exit codes:\n"
    "  0  success\n"
    "  1  other failure (a local file, a config file refused, a file that does not\n"
    "     decrypt, out of memory)\n"
    "  2  usage: the command line is wrong\n"
    "  3  authentication: no API key, or the server refused it (401)\n"
    "  4  permission denied (403)\n"
    "  5  not found (404; 410: destroyed)\n"
    "  6  conflict or wrong state (409)\n"
    "  7  invalid request (other 4xx)\n"
    "  8  server error (5xx), server unreachable, TLS failure\n";

/* A noun and all its verbs, wherever its rows are in the table; a line
 * that would pass 100 columns ends with '|' and goes on below. */
static void help_noun(FILE *f, const struct cli_cmd *first)
{
    size_t col = 15;

    if (first->verb == NULL) {
        fprintf(f, "\n  %-12s %s", first->noun, first->help);
        return;
    }
    fprintf(f, "\n  %-12s ", first->noun);
    for (const struct cli_cmd *c = first; c->noun; c++) {
        if (strcmp(c->noun, first->noun) != 0)
            continue;
        if (c != first && col + 1 + strlen(c->verb) > 100) {
            fprintf(f, "|\n%15s", "");
            col = 15;
        } else if (c != first) {
            fputc('|', f);
            col++;
        }
        fputs(c->verb, f);
        col += strlen(c->verb);
    }
}

void cli_help_main(FILE *f, const struct cli_cmd *commands)
{
    fprintf(f, "usage: coffre [global options] NOUN [VERB] [ARG] [options]\n\n"
               "  server       run the key management server (coffre server --help)\n"
               "  audit verify check an audit trail offline (coffre audit verify --help)\n"
               "  version      print the version\n");
    for (const struct cli_cmd *c = commands; c->noun; c++) {
        const struct cli_cmd *p = commands;
        while (p != c && strcmp(p->noun, c->noun) != 0)
            p++;
        if (p == c) /* the noun's first row */
            help_noun(f, c);
    }
    fprintf(f, "\n\n  identity add-cert|add-key|list|retire --data DIR, "
               "tenant create|list --data DIR:\n"
               "               the same on the server's data directory, without the API\n"
               "               (coffre identity --data DIR --help)\n\n%s\n%s"
               "\nMore in docs/cli.md.\n", globals_help, exit_help);
}

static void help_cmd(FILE *f, const struct cli_cmd *c)
{
    fprintf(f, "  coffre %s%s%s%s%s%s\n      %s (%s %s)\n", c->noun, c->verb ? " " : "",
            c->verb ? c->verb : "", c->arg ? " " : "", c->arg ? c->arg : "",
            c->opts[0] ? " [options]" : "", c->help, c->method, c->path);
    for (const struct cli_opt *const *l = c->opts; *l; l++)
        for (const struct cli_opt *o = *l; o->name; o++)
            fprintf(f, "        --%s%s%-*s %s\n", o->name, o->arg ? " " : "",
                    (int)(24 - strlen(o->name) - (o->arg ? 1 : 0)), o->arg ? o->arg : "",
                    o->help);
}

void cli_help_for(FILE *f, const struct cli_args *a, const struct cli_cmd *commands)
{
    bool any = false;
    if (a->noun == NULL) {
        cli_help_main(f, commands);
        return;
    }
    for (const struct cli_cmd *c = commands; c->noun; c++)
        if (strcmp(c->noun, a->noun) == 0 && (a->cmd == NULL || a->cmd == c)) {
            if (!any)
                fprintf(f, "usage:\n");
            help_cmd(f, c);
            any = true;
        }
    if (!any)
        cli_help_main(f, commands);
    else
        fprintf(f, "\n(global options and exit codes: coffre --help)\n");
}
