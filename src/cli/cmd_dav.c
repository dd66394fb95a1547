/* `coffer dav`: backup of a WebDAV collection (docs/webdav.md, docs/cli.md).
 * Thin: builds the webdav source JSON from the flags (the password or
 * token read from a file, never from the command line), runs the source's
 * backup and prints what it did. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "sources/source.h"
#include "sources/webdav_source.h"
#include "store/store.h"

#define USAGE_DAV_BACKUP "backup UNIT (--source JSON | --url URL [--user U] (--password-file F) " \
	"[--auth basic|bearer] [--ca-file F] [--insecure] [--connections N]) [--keep-days N] [--retain-days N]"
#define USAGE_DAV_RESTORE "restore RP (--source JSON | --url URL [--user U] (--password-file F) " \
	"...) [--to-url URL] [PATH|GLOB ...]"
#define DAV_SECRET_MAX 16384

static int dav_usage(void)
{
	fprintf(stderr, "usage: coffer dav %s\n       coffer dav %s\n", USAGE_DAV_BACKUP,
		USAGE_DAV_RESTORE);
	return EXIT_USAGE;
}

static int dav_fail(struct error *err)
{
	log_error("%s", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static int read_secret(json_object *o, const char *file, struct error *err)
{
	struct buf secret;

	buf_init(&secret, DAV_SECRET_MAX);
	if (fs_read_file(file, &secret, DAV_SECRET_MAX, err) < 0) {
		buf_clear(&secret);
		return error_prefix(err, "cannot read password file");
	}
	while (secret.len > 0 &&
	       (secret.data[secret.len - 1] == '\n' || secret.data[secret.len - 1] == '\r'))
		secret.len--;
	json_object_object_add(o, "secret",
			       json_object_new_string_len((const char *)secret.data, (int)secret.len));
	crypto_wipe(secret.data, secret.len);
	buf_clear(&secret);
	return 0;
}

/* Takes argv[*i] (and its value) if it is one of cli_dav_conn's flags: 1, 0
 * if it is not one, -1 if its value is missing. */
static int dav_conn_option(int argc, char **argv, int *i, struct cli_dav_conn *d)
{
	static const struct {
		const char *flag;
		size_t off;
	} flags[] = {
		{ "--source", offsetof(struct cli_dav_conn, source) },
		{ "--url", offsetof(struct cli_dav_conn, url) },
		{ "--user", offsetof(struct cli_dav_conn, user) },
		{ "--password-file", offsetof(struct cli_dav_conn, pwfile) },
		{ "--auth", offsetof(struct cli_dav_conn, auth) },
		{ "--ca-file", offsetof(struct cli_dav_conn, ca) },
		{ "--connections", offsetof(struct cli_dav_conn, connections) },
	};

	if (strcmp(argv[*i], "--insecure") == 0) {
		d->insecure = 1;
		return 1;
	}
	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (strcmp(argv[*i], flags[k].flag) != 0)
			continue;
		if (*i + 1 >= argc)
			return -1;
		*(const char **)(void *)((char *)d + flags[k].off) = argv[++*i];
		return 1;
	}
	return 0;
}

json_object *cli_dav_source(const struct cli_dav_conn *d, struct error *err)
{
	json_object *src;

	if (d->source) {
		src = json_tokener_parse(d->source);
		if (src == NULL || !json_object_is_type(src, json_type_object)) {
			json_object_put(src);
			error_setk(err, ERROR_USAGE, "--source: not a JSON object");
			return NULL;
		}
	} else {
		if (d->url == NULL || d->pwfile == NULL) {
			error_setk(err, ERROR_USAGE, "give --source JSON, or --url and --password-file");
			return NULL;
		}
		src = json_object_new_object();
		json_object_object_add(src, "url", json_object_new_string(d->url));
		if (d->user)
			json_object_object_add(src, "user", json_object_new_string(d->user));
		if (d->auth)
			json_object_object_add(src, "auth", json_object_new_string(d->auth));
		if (d->ca)
			json_object_object_add(src, "caFile", json_object_new_string(d->ca));
		if (d->insecure)
			json_object_object_add(src, "insecure", json_object_new_boolean(1));
		if (d->connections) {
			int64_t n;

			if (parse_int_field("--connections", d->connections, 1, 16, &n, err) < 0) {
				json_object_put(src);
				return NULL;
			}
			json_object_object_add(src, "connections", json_object_new_int64(n));
		}
		if (read_secret(src, d->pwfile, err) < 0) {
			json_object_put(src);
			return NULL;
		}
	}
	json_object_object_add(src, "type", json_object_new_string("webdav"));
	return src;
}

static int cmd_dav_backup(struct cli *c, int argc, char **argv)
{
	struct cli_dav_conn d = { 0 };
	struct source_backup_opts o = { .quiet = c->quiet || c->json };
	struct webdav_backup_result res;
	json_object *src;
	struct store *s;
	struct error err;
	int i, r, ret;

	if (argc < 2)
		return dav_usage();
	o.unit = argv[1];
	error_init(&err);
	for (i = 2; i < argc; i++) {
		r = cli_retention_option(argc, argv, &i, &o.keep_seconds, &o.retain_seconds, &err);
		if (r < 0)
			return dav_fail(&err);
		if (r == 1)
			continue;
		if (dav_conn_option(argc, argv, &i, &d) != 1)
			return dav_usage();
	}
	if (store_unit_name_check(o.unit, &err) < 0 || cli_point_time(&o.time_ns, &err) < 0 ||
	    (src = cli_dav_source(&d, &err)) == NULL)
		return dav_fail(&err);
	o.source = src;
	s = cli_open(c, 0, &err);
	ret = s ? webdav_backup_run(s, &o, &res, &err) : -1;
	store_close(&s);
	json_object_put(src);
	if (ret < 0)
		return dav_fail(&err);
	if (c->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "unit", json_object_new_string(o.unit));
		add_u64(j, "restorePoint", res.seq);
		add_u64(j, "files", res.files);
		add_u64(j, "dirs", res.dirs);
		add_u64(j, "bytes", res.bytes);
		add_u64(j, "filesReused", res.reused);
		add_u64(j, "filesFetched", res.fetched);
		add_u64(j, "collectionsSkipped", res.skipped);
		add_u64(j, "bytesFetched", res.bytes_fetched);
		add_u64(j, "changedItems", res.changed);
		add_u64(j, "requests", res.requests);
		add_u64(j, "newBytes", res.new_bytes);
		add_u64(j, "storedBytes", res.stored_bytes);
		add_u64(j, "warnings", res.nwarnings);
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else if (!c->quiet) {
		printf("restore point %s@%" PRIu32 ": %" PRIu64 " files, %" PRIu64
		       " collections, %" PRIu64 " bytes; %" PRIu64 " files downloaded (%" PRIu64
		       " bytes), %" PRIu64 " unchanged; %" PRIu64 " requests; %" PRIu64
		       " warnings\n",
		       o.unit, res.seq, res.files, res.dirs, res.bytes, res.fetched,
		       res.bytes_fetched, res.reused, res.requests, res.nwarnings);
	}
	return res.nwarnings ? EXIT_WARNINGS : EXIT_OK;
}

/* In place (the source's URL), or into a new collection --to-url (made if
 * missing) with the same credentials. */
static int cmd_dav_restore(struct cli *c, int argc, char **argv)
{
	struct cli_dav_conn d = { 0 };
	const char *to = NULL;
	int i, r, ret;
	struct source_restore_opts o = { .quiet = c->quiet || c->json };
	struct source_restore_result res = { 0 };
	const struct source_ops *ops;
	json_object *src, *target = NULL;
	char **pats = NULL;
	size_t npats = 0;
	struct store *s;
	struct error err;

	if (argc < 2)
		return dav_usage();
	o.rp = argv[1];
	error_init(&err);
	pats = calloc((size_t)argc, sizeof(char *));
	if (pats == NULL)
		return EXIT_FAIL;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--to-url") == 0 && i + 1 < argc) {
			to = argv[++i];
			continue;
		}
		r = dav_conn_option(argc, argv, &i, &d);
		if (r < 0 || (r == 0 && argv[i][0] == '-')) {
			free(pats);
			return dav_usage();
		}
		if (r == 0)
			pats[npats++] = argv[i];
	}
	if ((src = cli_dav_source(&d, &err)) == NULL) {
		free(pats);
		return dav_fail(&err);
	}
	if (to) {
		if (json_object_deep_copy(src, &target, NULL) < 0 || target == NULL) {
			json_object_put(src);
			free(pats);
			return EXIT_FAIL;
		}
		json_object_object_add(target, "url", json_object_new_string(to));
	}
	o.source = src;
	o.target = target;
	o.patterns = pats;
	o.npatterns = npats;
	ops = source_find(src, &err);
	s = ops ? cli_open(c, 0, &err) : NULL;
	ret = s ? ops->restore(s, &o, &res, &err) : -1;
	store_close(&s);
	json_object_put(src);
	json_object_put(target);
	free(pats);
	if (ret < 0) {
		free(res.withheld_by);
		return dav_fail(&err);
	}
	if (c->json) {
		json_object *j = json_object_new_object();

		add_u64(j, "withheld", res.withheld);
		add_u64(j, "items", res.items_total);
		add_u64(j, "itemsDone", res.items_done);
		add_u64(j, "bytes", res.bytes_done);
		add_u64(j, "failed", res.failed);
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else if (!c->quiet) {
		printf("restored %s: %" PRIu64 " of %" PRIu64 " items, %" PRIu64 " bytes written, %"
		       PRIu64 " failed\n", o.rp, res.items_done, res.items_total, res.bytes_done,
		       res.failed);
	}
	cli_withheld(c, res.withheld, res.withheld_by);
	return res.failed ? EXIT_WARNINGS : EXIT_OK;
}

int cmd_dav(struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return dav_usage();
	if (strcmp(argv[1], "backup") == 0)
		return cmd_dav_backup(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_dav_restore(c, argc - 1, argv + 1);
	fprintf(stderr, "coffer: unknown dav command %s\n", argv[1]);
	return dav_usage();
}
