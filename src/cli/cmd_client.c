/* Placeholder until this group of commands lands; see cli.h. */
#include <stdio.h>
#include "cli/cli.h"

int cmd_tenant(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

int cmd_token(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

int cmd_unit(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

int cmd_policy(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

int cmd_restore_session(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}

