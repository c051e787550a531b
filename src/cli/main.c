/* main.c - `coffre`: one binary for the server and (later) the client. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: coffre <command> [options]\n"
            "\n"
            "commands:\n"
            "  server     run the key management server\n"
            "             --data DIR --kmip-listen HOST:PORT --https-listen HOST:PORT\n"
            "  identity   register, list, retire identities (on a data directory)\n"
            "  tenant     create, list tenants (on a data directory)\n"
            "  version    print the version\n"
            "\n"
            "`coffre server --help` lists every server option.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "server") == 0)
        return cli_server_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "identity") == 0)
        return cli_identity_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "tenant") == 0)
        return cli_tenant_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("coffre %s\n", CF_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "coffre: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
