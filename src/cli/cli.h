/* cli.h - the `coffre` command's subcommands. */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdio.h>

/* `coffre server ...`: run the KMS. Returns the process exit code. */
int cli_server_main(int argc, char **argv);
/* `coffre identity ... --data DIR`: identities on a data directory. */
int cli_identity_main(int argc, char **argv);
/* `coffre tenant ... --data DIR`: tenants on a data directory. */
int cli_tenant_main(int argc, char **argv);
/* `coffre [global options] NOUN [VERB] ...`: the REST client (client_cmds.c).
 * argv is the whole command line (argv[0] = "coffre"); a --token value in
 * it is wiped once read. Returns the exit code of docs/cli.md. */
int cli_client_main(int argc, char **argv);
/* The client's help (every command, global options, exit codes). */
void cli_client_usage(FILE *f);
/* `coffre audit verify ...`: check an audit trail offline (audit_main.c). */
int cli_audit_main(int argc, char **argv);

#endif
