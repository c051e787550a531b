/* cli.h - the `coffre` command's subcommands. */
#ifndef CF_CLI_H
#define CF_CLI_H

/* `coffre server ...`: run the KMS. Returns the process exit code. */
int cli_server_main(int argc, char **argv);
/* `coffre identity ...`: certificate identities on a data directory. */
int cli_identity_main(int argc, char **argv);
/* `coffre tenant ...`: tenants on a data directory. */
int cli_tenant_main(int argc, char **argv);

#endif
