/* coffer: entry point. Parses global options and dispatches through the
 * command table; no business logic lives here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	const struct cli_command *cmd;

	fprintf(f, "usage: coffer [--store DIR|s3://HOST/BUCKET[/PREFIX]] [--key-file F | "
		   "--passphrase-file F]\n  [--s3-credentials F] [--s3-delete-credentials F] [--ca-file F] [--json] [--quiet] "
		   "[--server URL] [--token-file F] COMMAND ...\n\ncommands:\n");
	for (cmd = cli_commands; cmd->name; cmd++)
		fprintf(f, "  %s %s\n", cmd->name, cmd->usage);
	fprintf(f, "\nenvironment: COFFER_STORE, COFFER_KEY_FILE, COFFER_PASSPHRASE_FILE, "
		   "COFFER_PASSPHRASE, COFFER_CACHE,\n  COFFER_DELETION_KEY_FILE (forget, prune), "
		   "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,\n  COFFER_S3_CREDENTIALS, "
		   "COFFER_S3_DELETE_CREDENTIALS, COFFER_S3_CA_FILE (S3 stores, docs/s3.md),\n  "
		   "COFFER_POINT_TIME (backup),\n  COFFER_SERVER, COFFER_TOKEN, COFFER_TENANT "
		   "(service commands, docs/api.md)\n"
		   "see docs/cli.md\n");
}

const char *cli_option_value(int argc, char **argv, int *i, const char *opt)
{
	size_t len = strlen(opt);

	if (strncmp(argv[*i], opt, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int cli_usage(const char *cmd, const char *text)
{
	fprintf(stderr, "usage: coffer %s %s\n", cmd, text);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli c = {
		.store = getenv("COFFER_STORE"),
		.key_file = getenv("COFFER_KEY_FILE"),
		.passphrase_file = getenv("COFFER_PASSPHRASE_FILE"),
		.server = getenv("COFFER_SERVER"),
	};
	const struct cli_command *cmd;
	const char *v;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--store")))
			c.store = v;
		else if ((v = cli_option_value(argc, argv, &i, "--key-file")))
			c.key_file = v;
		else if ((v = cli_option_value(argc, argv, &i, "--passphrase-file")))
			c.passphrase_file = v;
		else if ((v = cli_option_value(argc, argv, &i, "--server")))
			c.server = v;
		else if ((v = cli_option_value(argc, argv, &i, "--token-file")))
			c.token_file = v;
		/* The S3 backend reads its settings from the environment (so
		 * `coffer serve` and the CLI share one way); the flags set it. */
		else if ((v = cli_option_value(argc, argv, &i, "--s3-credentials")))
			setenv("COFFER_S3_CREDENTIALS", v, 1);
		else if ((v = cli_option_value(argc, argv, &i, "--s3-delete-credentials")))
			setenv("COFFER_S3_DELETE_CREDENTIALS", v, 1);
		else if ((v = cli_option_value(argc, argv, &i, "--ca-file")))
			setenv("COFFER_S3_CA_FILE", v, 1);
		else if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			c.quiet = 1;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("coffer 0.1.0 (store format 1)\n");
			return EXIT_OK;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "coffer: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	log_set_quiet(c.quiet || c.json);
	for (cmd = cli_commands; cmd->name; cmd++)
		if (strcmp(cmd->name, argv[i]) == 0)
			return cmd->run(&c, argc - i, argv + i);
	fprintf(stderr, "coffer: unknown command %s\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
