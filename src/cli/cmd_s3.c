/* Commands about a store's S3 side (docs/s3.md): the bucket policy coffer
 * recommends for its two credential sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/error.h"
#include "store/s3proto.h"

/* Prints the policy; nothing is contacted, so the output can be reviewed
 * and applied by whoever owns the bucket. */
int cmd_s3_policy(struct cli *c, int argc, char **argv)
{
	const char *bucket = NULL, *backup = NULL, *del = NULL, *v;
	struct error err;
	char *pol;
	int i;

	(void)c;
	for (i = 1; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--backup-user")) != NULL)
			backup = v;
		else if ((v = cli_option_value(argc, argv, &i, "--delete-user")) != NULL)
			del = v;
		else if (argv[i][0] != '-' && bucket == NULL)
			bucket = argv[i];
		else
			return cli_usage("s3-policy", USAGE_S3_POLICY);
	}
	if (bucket == NULL || backup == NULL || del == NULL)
		return cli_usage("s3-policy", USAGE_S3_POLICY);
	error_init(&err);
	pol = s3proto_policy(bucket, backup, del, &err);
	if (pol == NULL) {
		fprintf(stderr, "coffer: %s\n", err.msg);
		return EXIT_USAGE;
	}
	fputs(pol, stdout);
	free(pol);
	return EXIT_OK;
}
