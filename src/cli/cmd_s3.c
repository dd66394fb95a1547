/* Commands about a store's S3 side (docs/s3.md): the bucket policy coffer
 * recommends for its two credential sets, and lock extension. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/locks.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "store/backend.h"
#include "store/s3proto.h"
#include "store/store.h"

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

/* Extends the Object Lock of what the live restore points need. */
int cmd_lock_extend(struct cli *c, int argc, char **argv)
{
	struct lock_extend_opts o = { 0 };
	struct lock_extend_result res;
	struct store *s;
	struct error err;
	char until[40], below[40];
	const char *v;
	int64_t days;
	size_t k;
	int i;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--unit")) != NULL) {
			o.unit = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--min-remaining")) != NULL) {
			if (parse_int_field("--min-remaining", v, 1, STORE_LOCK_DAYS_MAX, &days,
					    &err) < 0) {
				log_error("%s", err.msg);
				return EXIT_USAGE;
			}
			o.min_remaining = days * 86400;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			o.dry_run = 1;
		} else {
			return cli_usage("lock-extend", USAGE_LOCK_EXTEND);
		}
	}
	s = cli_open(c, 0, &err);
	if (s == NULL || lock_extend(s, &o, &res, &err) < 0) {
		store_close(&s);
		log_error("%s", err.msg);
		return err.code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
	}
	backend_lock_date(res.until, until, sizeof(until));
	backend_lock_date(res.below, below, sizeof(below));
	if (c->json) {
		json_object *o_ = json_object_new_object(), *f = json_object_new_array();

		json_object_object_add(o_, "objectLock", json_object_new_boolean(res.has_locks));
		json_object_object_add(o_, "dryRun", json_object_new_boolean(o.dry_run));
		json_object_object_add(o_, "checked", json_object_new_int64((int64_t)res.checked));
		json_object_object_add(o_, "extended", json_object_new_int64((int64_t)res.extended));
		json_object_object_add(o_, "failed", json_object_new_int64((int64_t)res.failed));
		if (res.has_locks) {
			json_object_object_add(o_, "below", json_object_new_string(below));
			json_object_object_add(o_, "until", json_object_new_string(until));
		}
		for (k = 0; k < res.nfailures; k++)
			json_object_array_add(f, json_object_new_string(res.failures[k]));
		json_object_object_add(o_, "failures", f);
		printf("%s\n", json_object_to_json_string_ext(o_, JSON_C_TO_STRING_PLAIN));
		json_object_put(o_);
	} else if (!res.has_locks) {
		if (!c->quiet)
			printf("store %s has no Object Lock: nothing to extend\n", store_path(s));
	} else {
		for (k = 0; k < res.nfailures; k++)
			fprintf(stderr, "coffer: lock-extend: %s\n", res.failures[k]);
		if (!c->quiet)
			printf("checked %llu objects; %s %llu locked until before %s to %s; %llu "
			       "failed\n", (unsigned long long)res.checked,
			       o.dry_run ? "would extend" : "extended",
			       (unsigned long long)res.extended, below, until,
			       (unsigned long long)res.failed);
	}
	k = res.failed;
	lock_extend_result_clear(&res);
	store_close(&s);
	return k ? EXIT_FAIL : EXIT_OK;
}
