/* Placeholder until this group of commands lands; see cli.h. */
#include <stdio.h>
#include "cli/cli.h"

int cmd_mail(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "coffer: not built yet\n");
	return EXIT_FAIL;
}
