/* `coffer mail`: mailbox backup, restore and folder listing over IMAP
 * (docs/mail.md). Thin: builds the source JSON from the flags, calls
 * sources/mail.h and prints. */
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
#include "lib/mem.h"
#include "lib/parse.h"
#include "sources/mail.h"
#include "store/store.h"

#define USAGE_MAIL_BACKUP "backup UNIT (--source JSON | --host H [--port P] [--tls M] --user U " \
	"(--password-file F | --secret-command CMD) [--auth A] [--ca-file F]) " \
	"[--keep-days N] [--retain-days N]"
#define USAGE_MAIL_RESTORE "restore RP (--source JSON | --to-mailbox JSON | --host H ...) " \
	"[--into-folder NAME] [--folder F]... [--uid N]... [--delete-newer] [PATH...]"
#define USAGE_MAIL_FOLDERS "folders RP"
#define SECRET_MAX 4096
#define SELECT_MAX 4096

static int mail_usage(void)
{
	fprintf(stderr, "usage: coffer mail %s\n       coffer mail %s\n       coffer mail %s\n",
		USAGE_MAIL_BACKUP, USAGE_MAIL_RESTORE, USAGE_MAIL_FOLDERS);
	return EXIT_USAGE;
}

static int mail_fail(struct error *err)
{
	log_error("%s", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

static void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* The connection flags, collected into a source JSON. */
struct conn_flags {
	const char *source, *host, *port, *tls, *user, *password_file, *secret_command, *auth,
		*ca_file;
};

/* 1 if argv[*i] was a connection flag (consumed with its value), 0 if
 * not, -1 if its value is missing. */
static int conn_flag(struct conn_flags *cf, int argc, char **argv, int *i)
{
	static const struct { const char *name; size_t off; } flags[] = {
		{ "--source", offsetof(struct conn_flags, source) },
		{ "--to-mailbox", offsetof(struct conn_flags, source) },
		{ "--host", offsetof(struct conn_flags, host) },
		{ "--port", offsetof(struct conn_flags, port) },
		{ "--tls", offsetof(struct conn_flags, tls) },
		{ "--user", offsetof(struct conn_flags, user) },
		{ "--password-file", offsetof(struct conn_flags, password_file) },
		{ "--secret-command", offsetof(struct conn_flags, secret_command) },
		{ "--auth", offsetof(struct conn_flags, auth) },
		{ "--ca-file", offsetof(struct conn_flags, ca_file) },
	};
	size_t k;

	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (strcmp(argv[*i], flags[k].name) != 0)
			continue;
		if (*i + 1 >= argc)
			return -1;
		*(const char **)(void *)((char *)cf + flags[k].off) = argv[++*i];
		return 1;
	}
	return 0;
}

static void json_set(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* The source JSON: --source as given, else built from the flags (the
 * password read from its file, never from the command line). */
static json_object *conn_source(const struct conn_flags *cf, struct error *err)
{
	json_object *o;

	if (cf->source) {
		o = json_tokener_parse(cf->source);
		if (o == NULL || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			error_setk(err, ERROR_USAGE, "--source: not a JSON object");
			return NULL;
		}
		if (!json_object_object_get_ex(o, "type", NULL))
			json_object_object_add(o, "type", json_object_new_string("imap"));
		return o;
	}
	if (cf->host == NULL || cf->user == NULL) {
		error_setk(err, ERROR_USAGE, "no mailbox given: use --source JSON or --host and --user");
		return NULL;
	}
	o = json_object_new_object();
	json_set(o, "type", "imap");
	json_set(o, "host", cf->host);
	json_set(o, "user", cf->user);
	json_set(o, "tls", cf->tls);
	json_set(o, "auth", cf->auth);
	json_set(o, "caFile", cf->ca_file);
	json_set(o, "secretCommand", cf->secret_command);
	if (cf->port) {
		int64_t p;

		if (parse_int_field("--port", cf->port, 1, 65535, &p, err) < 0) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, "port", json_object_new_int((int)p));
	}
	if (cf->password_file) {
		struct buf secret;

		buf_init(&secret, SECRET_MAX);
		if (fs_read_file(cf->password_file, &secret, SECRET_MAX, err) < 0) {
			buf_clear(&secret);
			json_object_put(o);
			error_prefix(err, "cannot read password file");
			return NULL;
		}
		while (secret.len > 0 && (secret.data[secret.len - 1] == '\n' ||
					  secret.data[secret.len - 1] == '\r'))
			secret.len--;
		json_object_object_add(o, "secret",
				       json_object_new_string_len((const char *)secret.data,
								  (int)secret.len));
		crypto_wipe(secret.data, secret.len);
		buf_clear(&secret);
	}
	return o;
}

static int cmd_mail_backup(struct cli *c, int argc, char **argv)
{
	struct conn_flags cf = { 0 };
	struct mail_backup_opts o = { .quiet = c->quiet || c->json };
	struct mail_backup_result res;
	json_object *src;
	struct store *s;
	struct error err;
	int i, r, ret;

	if (argc < 2)
		return mail_usage();
	o.unit = argv[1];
	error_init(&err);
	for (i = 2; i < argc; i++) {
		r = cli_retention_option(argc, argv, &i, &o.keep_seconds, &o.retain_seconds, &err);
		if (r < 0)
			return mail_fail(&err);
		if (r == 0)
			r = conn_flag(&cf, argc, argv, &i);
		if (r <= 0)
			return mail_usage();
	}
	/* Before the mailbox is read: the store would refuse the name only at
	 * the end. */
	if (store_unit_name_check(o.unit, &err) < 0)
		return mail_fail(&err);
	if (cli_point_time(&o.time_ns, &err) < 0)
		return mail_fail(&err);
	src = conn_source(&cf, &err);
	if (src == NULL)
		return mail_fail(&err);
	o.source = src;
	s = cli_open(c, 0, &err);
	ret = s ? mail_backup_run(s, &o, &res, &err) : -1;
	store_close(&s);
	json_object_put(src);
	if (ret < 0)
		return mail_fail(&err);
	if (c->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "unit", json_object_new_string(o.unit));
		add_u64(j, "restorePoint", res.seq);
		add_u64(j, "folders", res.folders);
		add_u64(j, "messages", res.messages);
		add_u64(j, "bytes", res.bytes);
		add_u64(j, "foldersUnchanged", res.folders_unchanged);
		add_u64(j, "foldersChangedSince", res.folders_changedsince);
		add_u64(j, "foldersListed", res.folders_listed);
		add_u64(j, "messagesReused", res.messages_reused);
		add_u64(j, "messagesMatched", res.messages_matched);
		add_u64(j, "messagesFetched", res.messages_fetched);
		add_u64(j, "bytesFetched", res.bytes_fetched);
		add_u64(j, "changedItems", res.changed_items);
		add_u64(j, "newBytes", res.new_bytes);
		add_u64(j, "storedBytes", res.stored_bytes);
		add_u64(j, "warnings", res.nwarnings);
		json_object_object_add(j, "unchangedMailbox",
				       json_object_new_boolean(res.whole_point_reused));
		json_print(j);
	} else if (!c->quiet) {
		printf("restore point %s@%u: %" PRIu64 " folders, %" PRIu64 " messages, %.1f MiB; "
		       "%" PRIu64 " folders unchanged; fetched %" PRIu64 " messages (%.1f MiB), "
		       "stored %.1f MiB%s%s\n", o.unit, res.seq, res.folders, res.messages,
		       (double)res.bytes / 1048576.0, res.folders_unchanged, res.messages_fetched,
		       (double)res.bytes_fetched / 1048576.0, (double)res.stored_bytes / 1048576.0,
		       res.whole_point_reused ? " (mailbox unchanged)" : "",
		       res.nwarnings ? " (with warnings, see above)" : "");
	}
	return res.nwarnings ? EXIT_WARNINGS : EXIT_OK;
}

struct restore_print {
	struct cli *c;
};

static void print_appended(void *ctx, const char *folder, uint32_t point_uid, uint32_t new_uid)
{
	struct restore_print *p = ctx;

	if (p->c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "appended", json_object_new_string(folder));
		add_u64(o, "pointUid", point_uid);
		add_u64(o, "uid", new_uid);
		json_print(o);
	}
}

static int cmd_mail_restore(struct cli *c, int argc, char **argv)
{
	struct conn_flags cf = { 0 };
	struct mail_restore_opts o = { .quiet = c->quiet || c->json };
	struct mail_restore_result res = { 0 };
	struct restore_print rp = { c };
	char *folders[SELECT_MAX], *paths[SELECT_MAX];
	uint32_t uids[SELECT_MAX];
	json_object *dst;
	struct store *s;
	struct error err;
	int i, r, ret;

	if (argc < 2)
		return mail_usage();
	o.rp = argv[1];
	o.folders = folders;
	o.patterns = paths;
	o.uids = uids;
	error_init(&err);
	for (i = 2; i < argc; i++) {
		r = conn_flag(&cf, argc, argv, &i);
		if (r < 0)
			return mail_usage();
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--delete-newer") == 0) {
			o.delete_newer = 1;
		} else if (strcmp(argv[i], "--into-folder") == 0 && i + 1 < argc) {
			o.into_folder = argv[++i];
		} else if (strcmp(argv[i], "--folder") == 0 && i + 1 < argc &&
			   o.nfolders < SELECT_MAX) {
			folders[o.nfolders++] = argv[++i];
		} else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc && o.nuids < SELECT_MAX) {
			int64_t uid;

			if (parse_int_field("--uid", argv[++i], 1, UINT32_MAX, &uid, &err) < 0)
				return mail_fail(&err);
			uids[o.nuids++] = (uint32_t)uid;
		} else if (argv[i][0] != '-' && o.npatterns < SELECT_MAX) {
			paths[o.npatterns++] = argv[i];
		} else {
			return mail_usage();
		}
	}
	dst = conn_source(&cf, &err);
	if (dst == NULL)
		return mail_fail(&err);
	o.target = dst;
	o.appended = print_appended;
	o.ctx = &rp;
	s = cli_open(c, 0, &err);
	ret = s ? mail_restore_run(s, &o, &res, &err) : -1;
	store_close(&s);
	json_object_put(dst);
	if (ret < 0) {
		free(res.withheld_by);
		return mail_fail(&err);
	}
	if (c->json) {
		json_object *j = json_object_new_object();

		add_u64(j, "withheld", res.withheld);
		json_object_object_add(j, "restored", json_object_new_string(o.rp));
		add_u64(j, "folders", res.folders);
		add_u64(j, "foldersCreated", res.folders_created);
		add_u64(j, "messages", res.messages);
		add_u64(j, "present", res.present);
		add_u64(j, "appended", res.appended);
		add_u64(j, "appendedBytes", res.appended_bytes);
		add_u64(j, "flagsFixed", res.flags_fixed);
		add_u64(j, "deleted", res.deleted);
		json_print(j);
	} else if (!c->quiet) {
		printf("restored %s: %" PRIu64 " messages in %" PRIu64 " folders; %" PRIu64
		       " already there, %" PRIu64 " appended (%.1f MiB), %" PRIu64 " flags fixed, %"
		       PRIu64 " deleted, %" PRIu64 " folders created\n", o.rp, res.messages,
		       res.folders, res.present, res.appended, (double)res.appended_bytes / 1048576.0,
		       res.flags_fixed, res.deleted, res.folders_created);
	}
	cli_withheld(c, res.withheld, res.withheld_by);
	return EXIT_OK;
}

struct folders_print {
	struct cli *c;
	int header_done;
};

static void print_folder(void *ctx, const struct mail_folder_info *f)
{
	struct folders_print *p = ctx;
	struct cli *c = p->c;

	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(f->name));
		json_object_object_add(o, "path", json_object_new_string(f->path));
		json_object_object_add(o, "specialUse", json_object_new_string(f->specialuse));
		json_object_object_add(o, "flags", json_object_new_string(f->flags));
		add_u64(o, "uidValidity", f->uidvalidity);
		add_u64(o, "uidNext", f->uidnext);
		add_u64(o, "highestModSeq", f->highestmodseq);
		add_u64(o, "messages", f->messages);
		add_u64(o, "bytes", f->bytes);
		json_print(o);
		return;
	}
	if (!p->header_done++)
		printf("%-40s %8s %14s  %s\n", "FOLDER", "MESSAGES", "SIZE", "SPECIAL USE");
	printf("%-40s %8" PRIu64 " %10.1f MiB  %s\n", f->name, f->messages,
	       (double)f->bytes / 1048576.0, f->specialuse);
}

static int cmd_mail_folders(struct cli *c, int argc, char **argv)
{
	struct folders_print p = { c, 0 };
	struct store *s;
	struct error err;
	int ret;

	if (argc != 2)
		return mail_usage();
	error_init(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return mail_fail(&err);
	ret = mail_folders_list(s, argv[1], print_folder, &p, &err);
	store_close(&s);
	return ret < 0 ? mail_fail(&err) : EXIT_OK;
}

static const struct cli_command mail_commands[] = {
	{ "backup", USAGE_MAIL_BACKUP, cmd_mail_backup },
	{ "restore", USAGE_MAIL_RESTORE, cmd_mail_restore },
	{ "folders", USAGE_MAIL_FOLDERS, cmd_mail_folders },
	{ NULL, NULL, NULL },
};

int cmd_mail(struct cli *c, int argc, char **argv)
{
	const struct cli_command *cmd;

	if (argc < 2)
		return mail_usage();
	for (cmd = mail_commands; cmd->name; cmd++)
		if (strcmp(cmd->name, argv[1]) == 0)
			return cmd->run(c, argc - 1, argv + 1);
	fprintf(stderr, "coffer: unknown mail command %s\n", argv[1]);
	return mail_usage();
}
