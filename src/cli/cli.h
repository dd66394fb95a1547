#ifndef COFFER_CLI_H
#define COFFER_CLI_H

/* The command line: global options, then one command from the table in
 * commands.c. Commands are thin: they parse their arguments, call the
 * engine and print. Exit codes are documented in docs/cli.md. */

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_WARNINGS = 3,
	EXIT_DAMAGE = 4,
};

struct cli {
	const char *store;
	const char *key_file;
	const char *passphrase_file;
	int json;
	int quiet;
};

struct cli_command {
	const char *name;
	const char *usage;
	int (*run)(struct cli *c, int argc, char **argv);
};

extern const struct cli_command cli_commands[];

#endif
