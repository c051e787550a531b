/*
 * main.c - `coffre`: one binary for the server, the REST client, and the
 * break-glass tools that work on a data directory.
 *
 *   coffre server ...                      cli/server_main.c
 *   coffre audit verify ...                cli/audit_main.c (offline)
 *   coffre identity|tenant ... --data DIR  cli/identity_main.c (no server needed)
 *   coffre [options] NOUN [VERB] ...       cli/client_cmds.c (the REST API)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/version.h"

/* `--data DIR` or `--data=DIR` anywhere: the data-directory tools. */
static bool has_data_option(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--data") == 0 || strncmp(argv[i], "--data=", 7) == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_client_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "server") == 0)
        return cli_server_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("coffre %s\n", CF_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        cli_client_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "audit") == 0 && argc > 2 && strcmp(argv[2], "verify") == 0)
        return cli_audit_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "identity") == 0 && has_data_option(argc, argv))
        return cli_identity_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "tenant") == 0 && has_data_option(argc, argv))
        return cli_tenant_main(argc - 1, argv + 1);
    return cli_client_main(argc, argv);
}
