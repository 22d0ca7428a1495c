/*
 * ring_cli: the `ring lookup` and `ring show` subcommands (see ring_cli.c).
 */
#ifndef SERVER_RING_CLI_H
#define SERVER_RING_CLI_H

/* argv[0] is "lookup" or "show"; returns the process exit status. */
int ring_cli_main(int argc, char **argv);

#endif
