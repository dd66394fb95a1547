/* The command table and the commands: argument parsing, one engine call,
 * output as a table or JSON lines (--json). */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "engine/backup.h"
#include "engine/check.h"
#include "engine/compact.h"
#include "engine/diff.h"
#include "engine/erasure.h"
#include "engine/find.h"
#include "engine/meta.h"
#include "engine/prune.h"
#include "engine/restore.h"
#include "engine/tree.h"
#include "engine/views.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#define SECRET_MAX 4096
#define DAY_S 86400
#define DAYS_MAX 1000000 /* about 2700 years: far enough, and no overflow */

#define USAGE_INIT "[--key-file-new FILE] [--deletion-key-file-new FILE] " \
	"[--object-lock-days N] [--object-lock-mode compliance|governance]"
#define USAGE_BACKUP "UNIT PATH [--keep-days N] [--retain-days N]"
#define USAGE_RESTORE "RP (--to DIR | --in-place) [--dry-run] [--verbose] [--numeric-owner] " \
	"[PATH|GLOB ...]"
#define USAGE_PRUNE "[--grace SECONDS] [--repack-below PERCENT] [--max-repack SIZE|PERCENT%] " \
	"[--dry-run] [--deletion-key-file FILE]"
#define USAGE_COMPACT "[--dry-run] [--deletion-key-file FILE] [UNIT ...]"
#define USAGE_RESTORE_POINTS "[--all] [UNIT]"
#define USAGE_FORGET "[--deletion-key-file FILE] UNIT@N ..."
#define USAGE_DELETION_KEY "create --deletion-key-file-new FILE"
#define USAGE_DELETION_LOG "[UNIT]"

static int fail(struct error *err)
{
	log_error("%s", err->msg);
	if (err->code == ERROR_LOCKED)
		return EXIT_LOCKED;
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

int cli_retention_option(int argc, char **argv, int *i, int64_t *keep_s, int64_t *retain_s,
			 struct error *err)
{
	const char *v;
	int64_t *out, days;

	if ((v = cli_option_value(argc, argv, i, "--keep-days")) != NULL)
		out = keep_s;
	else if ((v = cli_option_value(argc, argv, i, "--retain-days")) != NULL)
		out = retain_s;
	else
		return 0;
	if (parse_int_field(out == keep_s ? "--keep-days" : "--retain-days", v, 0, DAYS_MAX, &days,
			    err) < 0)
		return -1;
	*out = days * DAY_S;
	return 1;
}

int cli_point_time(int64_t *time_ns_r, struct error *err)
{
	const char *env = getenv("COFFER_POINT_TIME");

	*time_ns_r = 0;
	if (env == NULL || *env == '\0')
		return 0;
	return time_parse_field("COFFER_POINT_TIME", env, 0, time_ns_r, err);
}

static int usage_error(const char *cmd, const char *usage)
{
	fprintf(stderr, "usage: coffer %s %s\n", cmd, usage);
	return EXIT_USAGE;
}

static void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int cli_read_tty_line(const char *prompt, struct buf *out, struct error *err)
{
	struct termios old, quiet;
	char line[1024];
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (tty < 0)
		return error_setk(err, ERROR_KEY, "no key given: use --key-file, --passphrase-file "
				  "or COFFER_PASSPHRASE, or run on a terminal");
	if (write(tty, prompt, strlen(prompt)) < 0 || tcgetattr(tty, &old) < 0) {
		close(tty);
		return error_sys(err, "cannot prompt for the passphrase");
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(tty, TCSAFLUSH, &quiet);
	n = read(tty, line, sizeof(line) - 1);
	tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0)
		n = -1;
	close(tty);
	if (n <= 0)
		return error_setk(err, ERROR_KEY, "no passphrase entered");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	buf_add(out, line, (size_t)n);
	crypto_wipe(line, sizeof(line));
	return 0;
}

int cli_passphrase(const char *file, const char *env_name, const char *prompt, int confirm,
		   struct keysource *ks, struct buf *secret, struct error *err)
{
	const char *env = getenv(env_name);

	ks->kdf = KEYSLOT_ARGON2ID;
	if (file) {
		if (fs_read_file(file, secret, SECRET_MAX, err) < 0)
			return error_prefix(err, "cannot read passphrase file");
		while (secret->len > 0 && secret->data[secret->len - 1] == '\n')
			secret->len--;
	} else if (env && *env) {
		buf_add(secret, env, strlen(env));
	} else {
		struct buf again;
		int same;

		if (cli_read_tty_line(prompt, secret, err) < 0)
			return -1;
		if (confirm) {
			buf_init(&again, SECRET_MAX);
			if (cli_read_tty_line("again: ", &again, err) < 0) {
				buf_clear(&again);
				return -1;
			}
			same = again.len == secret->len && memcmp(again.data, secret->data, again.len) == 0;
			crypto_wipe(again.data, again.len);
			buf_clear(&again);
			if (!same)
				return error_setk(err, ERROR_KEY, "passphrases differ");
		}
	}
	if (secret->len == 0)
		return error_setk(err, ERROR_KEY, "empty passphrase");
	ks->secret = secret->data;
	ks->len = secret->len;
	return 0;
}

/* Fills the key source from --key-file, --passphrase-file,
 * COFFER_PASSPHRASE or the terminal, in that order. */
static int cli_keysource(struct cli *c, struct keysource *ks, struct buf *secret, int confirm,
			 struct error *err)
{
	if (c->key_file == NULL)
		return cli_passphrase(c->passphrase_file, "COFFER_PASSPHRASE", "coffer passphrase: ",
				      confirm, ks, secret, err);
	ks->kdf = KEYSLOT_KEYFILE;
	if (fs_read_file(c->key_file, secret, SECRET_MAX, err) < 0)
		return error_prefix(err, "cannot read key file");
	ks->secret = secret->data;
	ks->len = secret->len;
	return 0;
}

static void secret_clear(struct buf *secret)
{
	if (secret->data)
		crypto_wipe(secret->data, secret->len);
	buf_clear(secret);
}

struct store *cli_open(struct cli *c, int flags, struct error *err)
{
	struct keysource ks;
	struct buf secret;
	struct store *s = NULL;

	if (c->store == NULL || *c->store == '\0') {
		error_setk(err, ERROR_USAGE, "no store given: use --store DIR or COFFER_STORE");
		return NULL;
	}
	/* A spec coffer cannot open is refused before anyone types a passphrase. */
	if (backend_spec_check(c->store, err) < 0)
		return NULL;
	buf_init(&secret, SECRET_MAX);
	if (cli_keysource(c, &ks, &secret, 0, err) == 0)
		s = store_open(c->store, &ks, flags, NULL, err);
	secret_clear(&secret);
	return s;
}

int cli_write_new_key_file(const char *path, struct buf *secret, struct error *err)
{
	uint8_t rnd[32];
	char hex[65];

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	crypto_wipe(rnd, sizeof(rnd));
	buf_add(secret, hex, 64);
	buf_add(secret, "\n", 1);
	crypto_wipe(hex, sizeof(hex));
	return fs_write_secret(path, secret->data, secret->len, err);
}

static int cmd_init(struct cli *c, int argc, char **argv)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	const char *key_new = NULL, *del_new = NULL, *v;
	struct store_init_opts opts = { 0 };
	struct store *s = NULL;
	struct buf secret;
	struct error err;
	int64_t days;
	int i, ret, key_written = 0;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--key-file-new")) != NULL && !key_new) {
			key_new = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file-new")) != NULL &&
			   !del_new) {
			del_new = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--object-lock-days")) != NULL) {
			if (parse_int_field("--object-lock-days", v, 1, STORE_LOCK_DAYS_MAX, &days,
					    &err) < 0)
				return fail(&err);
			opts.lock_days = (unsigned)days;
		} else if ((v = cli_option_value(argc, argv, &i, "--object-lock-mode")) != NULL) {
			if (strcmp(v, "compliance") == 0)
				opts.lock_mode = BACKEND_LOCK_COMPLIANCE;
			else if (strcmp(v, "governance") == 0)
				opts.lock_mode = BACKEND_LOCK_GOVERNANCE;
			else
				return usage_error("init", USAGE_INIT);
		} else {
			return usage_error("init", USAGE_INIT);
		}
	}
	buf_init(&secret, SECRET_MAX);
	if (c->store == NULL)
		ret = error_setk(&err, ERROR_USAGE, "no store given: use --store DIR or COFFER_STORE");
	else if (backend_spec_check(c->store, &err) < 0)
		ret = -1; /* before a key file is written */
	else if (del_new && access(del_new, F_OK) == 0)
		/* Refused before anything is created (it is O_EXCL anyway). */
		ret = error_setk(&err, ERROR_EXISTS, "cannot create deletion key file %s: it exists",
				 del_new);
	else if (key_new)
		key_written = (ret = cli_write_new_key_file(key_new, &secret, &err)) == 0;
	else
		ret = cli_keysource(c, &ks, &secret, 1, &err);
	if (ret == 0) {
		ks.secret = secret.data;
		ks.len = secret.len;
		ret = store_init_opts(c->store, &ks, &opts, &err);
		/* A key to a store that was not created is no use: the file goes
		 * (it is ours: written with O_EXCL just now, never one that was
		 * there before). */
		if (ret < 0 && key_written)
			unlink(key_new);
	}
	/* The deletion key is added to the new store through its own path. */
	if (ret == 0 && del_new) {
		s = store_open(c->store, &ks, 0, NULL, &err);
		ret = s ? store_deletion_key_create(s, del_new, &err) : -1;
		if (ret < 0)
			error_prefix(&err, "store %s created, but not its deletion key", c->store);
		store_close(&s);
	}
	secret_clear(&secret);
	if (ret < 0)
		return fail(&err);
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "store", json_object_new_string(c->store));
		if (del_new)
			json_object_object_add(o, "deletionKeyFile", json_object_new_string(del_new));
		json_print(o);
	} else if (!c->quiet) {
		printf("created store %s%s%s%s%s\n", c->store, key_new ? " with key file " : "",
		       key_new ? key_new : "", del_new ? " and deletion key file " : "",
		       del_new ? del_new : "");
		/* The lock cannot be taken back: say it once, plainly. */
		if (backend_spec_is_url(c->store))
			printf("every object is locked by the server (Object Lock, %s mode) for %u "
			       "day%s after it is written\n",
			       opts.lock_mode == BACKEND_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE",
			       opts.lock_days ? opts.lock_days : STORE_LOCK_DAYS_DEFAULT,
			       opts.lock_days == 1 ? "" : "s");
	}
	return EXIT_OK;
}

/* Adds a deletion key to a store that has none (docs/format.md 9). */
static int cmd_deletion_key(struct cli *c, int argc, char **argv)
{
	const char *file = NULL;
	struct store *s;
	struct error err;
	int i, ret;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return usage_error("deletion-key", USAGE_DELETION_KEY);
	for (i = 2; i < argc; i++)
		if ((file = cli_option_value(argc, argv, &i, "--deletion-key-file-new")) == NULL)
			return usage_error("deletion-key", USAGE_DELETION_KEY);
	if (file == NULL)
		return usage_error("deletion-key", USAGE_DELETION_KEY);
	error_init(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	ret = store_deletion_key_create(s, file, &err);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "store", json_object_new_string(c->store));
		json_object_object_add(o, "deletionKeyFile", json_object_new_string(file));
		json_print(o);
	} else if (!c->quiet) {
		printf("created the deletion key of store %s in %s: keep it away from the backup "
		       "hosts; forget and prune need it\n", c->store, file);
	}
	return EXIT_OK;
}

/* Opens the store for deletion: BACKEND_ALLOW_DELETE and the deletion key
 * from --deletion-key-file or COFFER_DELETION_KEY_FILE. `what` is
 * "forgetting" or "pruning", for the messages. */
struct store *cli_open_deletion(struct cli *c, const char *key_file, const char *what,
				struct error *err)
{
	struct store *s;
	uint8_t pk[32];

	if (key_file == NULL || *key_file == '\0')
		key_file = getenv("COFFER_DELETION_KEY_FILE");
	s = cli_open(c, BACKEND_ALLOW_DELETE, err);
	if (s == NULL)
		return NULL;
	if (key_file == NULL || *key_file == '\0') {
		if (store_deletion_public(s, pk, err) == 0)
			error_setk(err, ERROR_KEY, "%s needs the store's deletion key: give "
				   "--deletion-key-file FILE or COFFER_DELETION_KEY_FILE; the store key "
				   "alone cannot delete", what);
		else if (err->code == ERROR_NOTFOUND)
			error_setk(err, ERROR_KEY, "%s needs the store's deletion key, and store %s has "
				   "none: create one with `coffer deletion-key create "
				   "--deletion-key-file-new FILE` (keep FILE away from the backup hosts)",
				   what, store_path(s));
		/* else: a damaged deletion-key object says so itself */
		store_close(&s);
		return NULL;
	}
	if (store_unlock_deletion(s, key_file, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			err->code = ERROR_KEY;
		store_close(&s);
		return NULL;
	}
	return s;
}

static void json_add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static int cmd_backup(struct cli *c, int argc, char **argv)
{
	struct backup_opts o = { .quiet = c->quiet || c->json };
	struct backup_result res;
	struct store *s;
	struct error err;
	int i, r, ret;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		r = cli_retention_option(argc, argv, &i, &o.keep_seconds, &o.retain_seconds, &err);
		if (r < 0)
			return fail(&err);
		if (r == 0 && argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("backup", USAGE_BACKUP);
		if (r == 1)
			continue;
		if (o.unit == NULL)
			o.unit = argv[i];
		else if (o.path == NULL)
			o.path = argv[i];
		else
			return usage_error("backup", USAGE_BACKUP);
	}
	if (o.path == NULL)
		return usage_error("backup", USAGE_BACKUP);
	/* Before the walk: the store would refuse the name only at the end. */
	if (store_unit_name_check(o.unit, &err) < 0)
		return fail(&err);
	memset(&res, 0, sizeof(res));
	if (cli_point_time(&o.time_ns, &err) < 0)
		return fail(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	ret = backup_run(s, &o, &res, &err);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (c->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "unit", json_object_new_string(o.unit));
		json_add_u64(j, "restorePoint", res.seq);
		json_object_object_add(j, "stats", view_point_stats(&res.stats));
		json_add_u64(j, "reusedFiles", res.reused_files);
		json_add_u64(j, "warnings", res.nwarnings);
		json_print(j);
	} else if (!c->quiet) {
		printf("restore point %s@%u: %llu files, %llu folders, %.1f MiB; %llu files unchanged; "
		       "new %.1f MiB, stored %.1f MiB%s\n", o.unit, res.seq,
		       (unsigned long long)res.stats.files, (unsigned long long)res.stats.dirs,
		       (double)res.stats.bytes / 1048576.0, (unsigned long long)res.reused_files,
		       (double)res.stats.new_bytes / 1048576.0,
		       (double)res.stats.stored_bytes / 1048576.0,
		       res.nwarnings ? " (with warnings, see above)" : "");
	}
	return res.nwarnings ? EXIT_WARNINGS : EXIT_OK;
}

/* A command's work on one unit (restore-points, deletion-log,
 * rebuild-index): -1 stops the command with err. */
typedef int unit_fn(struct cli *c, struct store *s, const char *name, void *ctx,
		    struct error *err);

/* Runs fn on the unit named by argv[1] (checked by the store's own name
 * check) or on every unit of the store, after a table heading (none with
 * --json); an exit code. */
static int for_each_unit(struct cli *c, int argc, char **argv, const char *heading, unit_fn *fn,
			 void *ctx)
{
	struct store *s;
	struct error err;
	char **names = NULL;
	size_t n = 0, i;
	int ret = 0;

	error_init(&err);
	if (argc > 1 && store_unit_name_check(argv[1], &err) < 0)
		return fail(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	if (argc < 2) {
		ret = store_unit_names(s, &names, &n, &err);
	} else {
		names = xcalloc(1, sizeof(char *));
		names[0] = xstrdup(argv[1]);
		n = 1;
	}
	if (ret == 0 && heading && !c->json)
		puts(heading);
	for (i = 0; i < n; i++) {
		if (ret == 0 && fn(c, s, names[i], ctx, &err) < 0)
			ret = -1;
		free(names[i]);
	}
	free(names);
	store_close(&s);
	return ret < 0 ? fail(&err) : EXIT_OK;
}

static void format_time(int64_t ns, char *out, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* One line for a forgotten point (restore-points --all). */
static void print_forgotten(struct cli *c, struct store_unit *u, uint32_t seq, int *damaged)
{
	struct rp_tombstone *t = NULL;
	struct error err;
	char id[64], when[32], gone[32];

	error_init(&err);
	if (rp_tombstone_read(u, seq, &t, &err) < 0) {
		log_error("%s@%u: %s", store_unit_name(u), seq, err.msg);
		*damaged = 1;
		return;
	}
	if (c->json) {
		json_print(view_tombstone(t));
	} else {
		snprintf(id, sizeof(id), "%s@%u", store_unit_name(u), seq);
		format_time(t->time_ns, when, sizeof(when));
		format_time(t->forgotten_ns, gone, sizeof(gone));
		printf("%-24s %-20s %10s  forgotten %s (expired)\n", id, when, "-", gone);
	}
	rp_tombstone_free(&t);
}

/* What restore-points and deletion-log keep across units. */
struct list_ctx {
	int all;     /* restore-points --all */
	int damaged; /* a record did not verify: named, skipped, exit 4 */
};

/* Lists a unit's points (with `all`, forgotten ones too); a damaged point
 * is named and skipped, the others still listed. */
static int list_unit_points(struct cli *c, struct store *s, const char *name, void *ctx,
			    struct error *err)
{
	struct list_ctx *lc = ctx;
	struct store_unit *u = store_unit_open(s, name, 0, err);
	struct rp_slot *slots = NULL;
	size_t n, i;
	int ret = -1;

	if (u == NULL || rp_list_all(u, &slots, &n, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct rp *rp;
		char when[32], until[32];

		if (slots[i].forgotten) {
			if (lc->all)
				print_forgotten(c, u, slots[i].seq, &lc->damaged);
			continue;
		}
		if (rp_read(u, slots[i].seq, &rp, err) < 0) {
			log_error("%s@%u: %s", name, slots[i].seq, err->msg);
			lc->damaged = 1;
			continue;
		}
		if (c->json) {
			json_print(view_point(rp));
		} else {
			char id[64];

			format_time(rp->time_ns, when, sizeof(when));
			snprintf(id, sizeof(id), "%s@%u", name, rp->seq);
			printf("%-24s %-20s %10llu %10.1f MiB %10.1f MiB%s", id, when,
			       (unsigned long long)rp->stats.files,
			       (double)rp->stats.bytes / 1048576.0,
			       (double)rp->stats.new_bytes / 1048576.0,
			       rp->nwarnings ? "  (warnings)" : "");
			if (rp->keep_until > 0) {
				format_time(rp->keep_until * 1000000000, until, sizeof(until));
				printf("  keep until %s", until);
			}
			if (rp->retain_until > 0) {
				format_time(rp->retain_until * 1000000000, until, sizeof(until));
				printf("  retain until %s", until);
			}
			putchar('\n');
		}
		rp_free(&rp);
	}
	ret = 0;
out:
	free(slots);
	store_unit_close(&u);
	return ret;
}

static int cmd_restore_points(struct cli *c, int argc, char **argv)
{
	struct list_ctx lc = { 0 };
	char heading[128];
	int ret;

	if (argc > 1 && strcmp(argv[1], "--all") == 0) {
		lc.all = 1;
		argc--;
		argv++;
	}
	if (argc > 2)
		return usage_error("restore-points", USAGE_RESTORE_POINTS);
	snprintf(heading, sizeof(heading), "%-24s %-20s %10s %14s %14s", "RESTORE POINT",
		 "TIME (UTC)", "FILES", "SIZE", "NEW DATA");
	ret = for_each_unit(c, argc, argv, heading, list_unit_points, &lc);
	return ret == EXIT_OK && lc.damaged ? EXIT_DAMAGE : ret;
}

static int forget_one(struct cli *c, struct store *s, const char *spec, struct error *err)
{
	struct store_unit *u = NULL;
	char *unit = NULL;
	uint32_t seq = 0;
	int ret = -1;

	if (rp_spec_parse(spec, 0, &unit, &seq, err) < 0)
		goto out;
	u = store_unit_open(s, unit, 0, err);
	if (u == NULL || rp_forget(u, seq, err) < 0)
		goto out;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "unit", json_object_new_string(unit));
		json_add_u64(o, "restorePoint", seq);
		json_object_object_add(o, "forgotten", json_object_new_boolean(1));
		json_print(o);
	} else if (!c->quiet) {
		printf("forgot %s\n", spec);
	}
	ret = 0;
out:
	store_unit_close(&u);
	free(unit);
	return ret;
}

/* Forgets restore points by hand (docs/format.md 7.1): each keeps a
 * tombstone in the chain; prune then reclaims the data only they used. */
static int cmd_forget(struct cli *c, int argc, char **argv)
{
	const char *key_file = NULL, *v;
	struct store *s;
	struct error err, first;
	int i, npoints = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file")) != NULL)
			key_file = v;
		else if (argv[i][0] == '-')
			return usage_error("forget", USAGE_FORGET);
		else
			npoints++;
	}
	if (npoints == 0)
		return usage_error("forget", USAGE_FORGET);
	error_init(&err);
	error_init(&first);
	s = cli_open_deletion(c, key_file, "forgetting", &err);
	if (s == NULL)
		return fail(&err);
	/* One point's failure does not stop the others; the first decides. */
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--deletion-key-file", 19) == 0) {
			i += argv[i][19] == '\0';
			continue;
		}
		error_init(&err);
		if (forget_one(c, s, argv[i], &err) < 0) {
			if (failed++ == 0)
				first = err;
			else
				log_error("%s", err.msg);
		}
	}
	store_close(&s);
	return failed ? fail(&first) : EXIT_OK;
}

static int path_below(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);

	return len == 0 || strcmp(path, prefix) == 0 ||
	       (strncmp(path, prefix, len) == 0 && path[len] == '/');
}

static char type_char(uint8_t type)
{
	static const char chars[] = "?-dlhpcbs";

	return type < sizeof(chars) - 1 ? chars[type] : '?';
}

static void print_entry(struct cli *c, const struct meta_entry *e)
{
	char when[32];

	format_time(e->mtime_s * 1000000000, when, sizeof(when));
	if (c->json) {
		json_object *o = json_object_new_object();
		char t[2] = { type_char(e->type), 0 };

		json_object_object_add(o, "path", json_object_new_string(e->path));
		json_object_object_add(o, "type", json_object_new_string(t));
		json_object_object_add(o, "mode", json_object_new_int64(e->mode & 07777));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)e->size));
		json_object_object_add(o, "mtime", json_object_new_string(when));
		json_object_object_add(o, "uid", json_object_new_int64(e->uid));
		json_object_object_add(o, "gid", json_object_new_int64(e->gid));
		/* Names as the backup host knew them; absent in older points. */
		if (e->uname)
			json_object_object_add(o, "user", json_object_new_string(e->uname));
		if (e->gname)
			json_object_object_add(o, "group", json_object_new_string(e->gname));
		if (e->target)
			json_object_object_add(o, "target", json_object_new_string(e->target));
		json_print(o);
		return;
	}
	printf("%c%04o %5u %5u %12llu %s %s%s%s\n", type_char(e->type), e->mode & 07777, e->uid,
	       e->gid, (unsigned long long)e->size, when, *e->path ? e->path : ".",
	       e->target ? " -> " : "", e->target ? e->target : "");
}

static int cmd_ls(struct cli *c, int argc, char **argv)
{
	struct store_unit *u = NULL;
	struct rp *rp = NULL;
	struct tree_reader *tr = NULL;
	struct erasure_set *es = NULL;
	struct index *ix = NULL;
	struct meta_entry *e;
	const char *prefix = argc == 3 ? argv[2] : "";
	struct store *s;
	struct error err;
	int ret = -1;

	if (argc != 2 && argc != 3)
		return usage_error("ls", "RP [PATH]");
	error_init(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	if (tree_resolve(s, argv[1], &u, &rp, &err) < 0 || (ix = index_open(u, &err)) == NULL ||
	    erasure_set_load(u, &es, &err) < 0 || (tr = tree_reader_open(u, ix, rp, &err)) == NULL)
		goto out;
	tree_reader_withhold(tr, es, 1);
	while ((ret = tree_reader_next(tr, &e, &err)) == 1) {
		if (!path_below(e->path, prefix))
			continue;
		if (tree_reader_withheld(tr) != NULL)
			erasure_set_note(es, tree_reader_withheld(tr));
		else
			print_entry(c, e);
	}
	if (ret == 0)
		cli_withheld(c, erasure_set_withheld(es), erasure_set_report_text(es));
out:
	tree_reader_close(&tr);
	erasure_set_free(&es);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	store_close(&s);
	return ret < 0 ? fail(&err) : EXIT_OK;
}

static void diff_line(void *ctx, char kind, const char *path, const struct meta_entry *e)
{
	struct cli *c = ctx;

	(void)e;
	if (c->json) {
		json_object *o = json_object_new_object();
		char k[2] = { kind, 0 };

		json_object_object_add(o, "change", json_object_new_string(k));
		json_object_object_add(o, "path", json_object_new_string(path));
		json_print(o);
	} else {
		printf("%c %s\n", kind, *path ? path : ".");
	}
}

static int cmd_diff(struct cli *c, int argc, char **argv)
{
	struct diff_result res;
	struct store *s;
	struct error err;
	int ret;

	if (argc != 3)
		return usage_error("diff", "RP1 RP2|live");
	error_init(&err);
	memset(&res, 0, sizeof(res));
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	ret = diff_run(s, argv[1], strcmp(argv[2], "live") == 0 ? NULL : argv[2], diff_line, c, &res,
		       &err);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (!c->json && !c->quiet)
		fprintf(stderr, "%llu added, %llu removed, %llu modified, %llu metadata only\n",
			(unsigned long long)res.added, (unsigned long long)res.removed,
			(unsigned long long)res.modified, (unsigned long long)res.attrs);
	cli_withheld(c, res.withheld, res.withheld_by);
	return EXIT_OK;
}

/* find UNIT PATTERN [--ignore-case]: every version of the matching paths
 * across the unit's live points (engine/find.h). */
static int cmd_find(struct cli *c, int argc, char **argv)
{
	struct find_opts o = { 0 };
	struct find_result res;
	struct store_unit *u = NULL;
	const char *unit = NULL;
	struct store *s;
	struct error err;
	char mod[32], first[32], last[32];
	int ret = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ignore-case") == 0)
			o.ignore_case = 1;
		else if (unit == NULL)
			unit = argv[i];
		else if (o.pattern == NULL)
			o.pattern = argv[i];
		else
			return usage_error("find", USAGE_FIND);
	}
	if (o.pattern == NULL)
		return usage_error("find", USAGE_FIND);
	error_init(&err);
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	u = store_unit_open(s, unit, 0, &err);
	if (u != NULL)
		ret = find_run(u, &o, &res, &err);
	store_unit_close(&u);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (!c->json && !c->quiet && res.n > 0)
		printf("%-40s %7s %12s %-20s %s\n", "PATH", "VERSION", "SIZE", "MODIFIED (UTC)",
		       "RESTORE POINTS");
	for (size_t i = 0; i < res.n; i++) {
		const struct find_version *v = &res.v[i];

		if (c->json) {
			json_print(view_find_version(v));
			continue;
		}
		time_format(v->mtime_s, mod);
		time_format(v->first_time_ns / 1000000000, first);
		time_format(v->last_time_ns / 1000000000, last);
		printf("%-40s %7u %12llu %-20s %s@%u..%u (%s .. %s, %zu point%s)\n", v->path,
		       v->version, (unsigned long long)v->size, mod, unit, v->first_seq,
		       v->last_seq, first, last, v->npoints, v->npoints == 1 ? "" : "s");
	}
	if (!c->json && !c->quiet)
		fprintf(stderr, "%zu versions of %s in %zu restore points\n", res.n, o.pattern,
			res.points);
	cli_withheld(c, res.withheld, res.withheld_by);
	res.withheld_by = NULL;
	find_result_clear(&res);
	return EXIT_OK;
}

static void restore_line(void *ctx, const char *action, const char *path)
{
	struct cli *c = ctx;

	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "action", json_object_new_string(action));
		json_object_object_add(o, "path", json_object_new_string(path));
		json_print(o);
	} else {
		printf("%-6s %s\n", action, path);
	}
}

static int cmd_restore(struct cli *c, int argc, char **argv)
{
	struct restore_opts o = { .quiet = c->quiet || c->json, .ctx = c };
	struct restore_result res;
	struct store *s;
	struct error err;
	int i, ret, verbose = 0;

	error_init(&err);
	o.patterns = xcalloc((size_t)argc, sizeof(char *));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			o.target = argv[++i];
		else if (strcmp(argv[i], "--in-place") == 0)
			o.in_place = 1;
		else if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = 1;
		else if (strcmp(argv[i], "--numeric-owner") == 0)
			o.numeric_owner = 1;
		else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			free(o.patterns);
			return usage_error("restore", USAGE_RESTORE);
		} else if (o.rp == NULL)
			o.rp = argv[i];
		else
			o.patterns[o.npatterns++] = argv[i];
	}
	if (o.rp == NULL || (o.target != NULL) == o.in_place) {
		free(o.patterns);
		return usage_error("restore", USAGE_RESTORE);
	}
	if (o.dry_run || verbose || c->json)
		o.report = restore_line;
	s = cli_open(c, 0, &err);
	if (s == NULL) {
		free(o.patterns);
		return fail(&err);
	}
	ret = restore_run(s, &o, &res, &err);
	store_close(&s);
	free(o.patterns);
	if (!c->json && !c->quiet)
		fprintf(stderr, "%s%llu entries: %llu files written (%.1f MiB), %llu removed, "
			"%llu metadata fixed, %llu unchanged, %llu failed\n",
			o.dry_run ? "dry run, nothing changed: " : "",
			(unsigned long long)res.entries, (unsigned long long)res.written_files,
			(double)res.written_bytes / 1048576.0, (unsigned long long)res.removed,
			(unsigned long long)res.attrs_fixed, (unsigned long long)res.unchanged,
			(unsigned long long)res.failed);
	/* What a non-root restore could not put back: one line, not an error. */
	if (res.not_applied && c->json) {
		json_object *jo = json_object_new_object();

		json_object_object_add(jo, "notApplied", json_object_new_string(res.not_applied));
		json_print(jo);
	} else if (res.not_applied && !c->quiet) {
		fprintf(stderr, "%s\n", res.not_applied);
	}
	free(res.not_applied);
	cli_withheld(c, res.withheld, res.withheld_by);
	return ret < 0 ? fail(&err) : EXIT_OK;
}

void cli_withheld(const struct cli *c, uint64_t n, char *by)
{
	json_object *arr = by ? json_tokener_parse(by) : NULL;
	size_t i;

	if (n > 0 && !c->quiet) {
		fprintf(stderr, "withheld %llu item%s (erasure request%s:",
			(unsigned long long)n, n == 1 ? "" : "s",
			json_object_array_length(arr) == 1 ? "" : "s");
		for (i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *o = json_object_array_get_idx(arr, i);

			fprintf(stderr, "%s %s %s", i ? "," : "", jsonu_str(o, "request"),
				json_object_get_string(json_object_object_get(o, "items")));
		}
		fprintf(stderr, ")\n");
	}
	json_object_put(arr);
	free(by);
}

static void check_line(void *ctx, const char *unit, uint32_t seq, const char *path,
		       const char *problem)
{
	struct cli *c = ctx;

	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "unit", json_object_new_string(unit ? unit : ""));
		if (seq)
			json_add_u64(o, "restorePoint", seq);
		if (path)
			json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "problem", json_object_new_string(problem));
		json_print(o);
		return;
	}
	fprintf(stderr, "damage: %s", unit ? unit : "store");
	if (seq)
		fprintf(stderr, "@%u", seq);
	if (path)
		fprintf(stderr, " %s", *path ? path : ".");
	fprintf(stderr, ": %s\n", problem);
}

/* A warning of check (not damage): an overwritten object, say. */
static void check_warning(void *ctx, const char *unit, uint32_t seq, const char *path,
			  const char *problem)
{
	struct cli *c = ctx;

	(void)unit;
	(void)seq;
	(void)path;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "warning", json_object_new_string(problem));
		json_print(o);
		return;
	}
	fprintf(stderr, "warning: %s\n", problem);
}

/* --slice K/N: the packs of slice K (1..N) only, as a restore drill reads
 * them (engine/check.h; restic's --read-data-subset K/N). */
static int parse_slice(const char *v, struct check_opts *o, struct error *err)
{
	const char *slash = strchr(v, '/');
	int64_t k, n;
	char num[24];

	if (slash == NULL || (size_t)(slash - v) >= sizeof(num))
		return error_setk(err, ERROR_USAGE, "--slice: \"%s\" is not K/N", v);
	memcpy(num, v, (size_t)(slash - v));
	num[slash - v] = '\0';
	if (parse_int_field("--slice N", slash + 1, 1, 1000000, &n, err) < 0 ||
	    parse_int_field("--slice K", num, 1, n, &k, err) < 0)
		return -1;
	o->slices = (uint32_t)n;
	o->slice = (uint32_t)(k - 1);
	return 0;
}

static int cmd_check(struct cli *c, int argc, char **argv)
{
	struct check_opts o = { .quiet = c->quiet || c->json, .report = check_line, .ctx = c,
				.warning = check_warning };
	struct check_result res;
	struct store *s;
	struct error err;
	int ret;

	error_init(&err);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--read-data") == 0)
			o.read_data = 1;
		else if (strcmp(argv[i], "--unit") == 0 && i + 1 < argc)
			o.unit = argv[++i];
		else if (strcmp(argv[i], "--slice") == 0 && i + 1 < argc) {
			if (parse_slice(argv[++i], &o, &err) < 0)
				return fail(&err);
		} else
			return usage_error("check", "[--read-data [--slice K/N]] [--unit UNIT]");
	}
	if (o.slices && !o.read_data)
		return usage_error("check", "--slice needs --read-data");
	memset(&res, 0, sizeof(res));
	s = cli_open(c, 0, &err);
	if (s == NULL)
		return fail(&err);
	ret = check_run(s, &o, &res, &err);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (!c->json && !c->quiet) {
		printf("checked %llu units, %llu restore points (and %llu forgotten), %llu packs, "
		       "%llu blobs%s: %llu problems (%llu restore points and %llu files affected)"
		       "%s%.0llu%s\n",
		       (unsigned long long)res.units, (unsigned long long)res.restore_points,
		       (unsigned long long)res.forgotten_points,
		       (unsigned long long)res.packs, (unsigned long long)res.blobs,
		       o.read_data ? " (data read)" : "", (unsigned long long)res.problems,
		       (unsigned long long)res.damaged_points, (unsigned long long)res.damaged_files,
		       res.overwritten ? ", " : "", (unsigned long long)res.overwritten,
		       res.overwritten ? " objects overwritten (warnings)" : "");
		if (o.slices)
			printf("slice %u/%u: %llu packs read, %llu bytes\n", o.slice + 1, o.slices,
			       (unsigned long long)res.packs_read, (unsigned long long)res.bytes_read);
	}
	return res.problems ? EXIT_DAMAGE : EXIT_OK;
}

/* "50" or "50%": a percentage from 0 to 100. */
static int parse_percent(const char *field, const char *v, int64_t *pct_r, struct error *err)
{
	char num[24];
	size_t len = strlen(v);

	if (len > 0 && v[len - 1] == '%')
		len--;
	if (len >= sizeof(num))
		return error_setk(err, ERROR_USAGE, "%s: \"%s\" is not a percentage", field, v);
	memcpy(num, v, len);
	num[len] = '\0';
	return parse_int_field(field, num, 0, 100, pct_r, err);
}

/* --max-repack: "N%" of each unit, or bytes with an optional K, M, G or T
 * (powers of 1024). A size of 0 turns repacking off. */
static int parse_max_repack(const char *v, struct prune_opts *o, struct error *err)
{
	static const char units[] = "KMGT";
	size_t len = strlen(v);
	const char *u;
	int64_t n, pct;
	char num[24];
	int shift = 0;

	if (len > 0 && v[len - 1] == '%') {
		if (parse_percent("--max-repack", v, &pct, err) < 0)
			return -1;
		if (pct == 0)
			o->repack_below = -1;
		o->max_repack_pct = (int)pct;
		return 0;
	}
	if (len > 0 && (v[len - 1] & ~0x20) != '\0' &&
	    (u = strchr(units, v[len - 1] & ~0x20)) != NULL) {
		shift = 10 * (int)(u - units + 1);
		len--;
	}
	if (len >= sizeof(num))
		len = 0; /* refused below */
	memcpy(num, v, len);
	num[len] = '\0';
	if (parse_int(num, 0, INT64_MAX >> shift, &n) < 0)
		return error_setk(err, ERROR_USAGE, "--max-repack: \"%s\" is not a size (bytes, "
				  "or a number with K, M, G or T) or a percentage (N%%)", v);
	if (n == 0)
		o->repack_below = -1;
	o->max_repack = (uint64_t)n << shift;
	return 0;
}

static int cmd_prune(struct cli *c, int argc, char **argv)
{
	struct prune_opts o = { .grace_seconds = 3600, .writer_timeout = 86400 };
	const char *key_file = NULL, *v;
	struct prune_result res;
	struct store *s;
	struct error err;
	int64_t below;
	int i, ret;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
			if (parse_int_field("--grace", argv[++i], 0, INT64_MAX, &o.grace_seconds,
					    &err) < 0)
				return fail(&err);
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			o.dry_run = 1;
		} else if ((v = cli_option_value(argc, argv, &i, "--repack-below")) != NULL) {
			if (parse_percent("--repack-below", v, &below, &err) < 0)
				return fail(&err);
			o.repack_below = below == 0 ? -1 : (int)below;
		} else if ((v = cli_option_value(argc, argv, &i, "--max-repack")) != NULL) {
			if (parse_max_repack(v, &o, &err) < 0)
				return fail(&err);
		} else if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file")) != NULL) {
			key_file = v;
		} else {
			return usage_error("prune", USAGE_PRUNE);
		}
	}
	memset(&res, 0, sizeof(res));
	/* A dry run deletes nothing: the store key is enough. */
	s = o.dry_run ? cli_open(c, 0, &err) : cli_open_deletion(c, key_file, "pruning", &err);
	if (s == NULL)
		return fail(&err);
	ret = prune_run(s, &o, &res, &err);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (c->json) {
		json_object *j = json_object_new_object();

		json_add_u64(j, "plannedPacks", res.planned_packs);
		json_add_u64(j, "deletedPacks", res.deleted_packs);
		json_add_u64(j, "deletedBytes", res.deleted_bytes);
		json_add_u64(j, "keptPacks", res.kept_packs);
		json_add_u64(j, "deferredPlans", res.deferred_plans);
		json_add_u64(j, "deletedSegments", res.deleted_segments);
		json_add_u64(j, "skippedUnits", res.skipped_units);
		json_add_u64(j, "reindexedPacks", res.reindexed_packs);
		json_add_u64(j, "partialPacks", res.partial_packs);
		json_add_u64(j, "partialWasteBytes", res.partial_waste_bytes);
		json_add_u64(j, "repackedPacks", res.repacked_packs);
		json_add_u64(j, "repackWrittenBytes", res.repack_written_bytes);
		json_add_u64(j, "repackFreedBytes", res.repack_freed_bytes);
		json_add_u64(j, "repackLockedPacks", res.repack_locked_packs);
		json_add_u64(j, "repackBudgetPacks", res.repack_budget_packs);
		json_add_u64(j, "repackDeferredUnits", res.repack_deferred_units);
		json_add_u64(j, "deletedMarkers", res.deleted_markers);
		json_add_u64(j, "deletedTemporaries", res.deleted_temporaries);
		json_add_u64(j, "lockedPacks", res.locked_packs);
		json_add_u64(j, "lockedSegments", res.locked_segments);
		json_print(j);
	} else if (!c->quiet) {
		printf("prune%s: %llu packs marked for deletion, %llu deleted (%.1f MiB), %llu kept "
		       "(referenced again), %llu plans deferred (a backup was running), %llu units "
		       "skipped (unreadable restore points)\n", o.dry_run ? " (dry run)" : "",
		       (unsigned long long)res.planned_packs, (unsigned long long)res.deleted_packs,
		       (double)res.deleted_bytes / 1048576.0, (unsigned long long)res.kept_packs,
		       (unsigned long long)res.deferred_plans, (unsigned long long)res.skipped_units);
		printf("repack%s: %llu partly used packs rewritten (%.1f MiB written, %.1f MiB freed "
		       "once a later prune sweeps the old packs); left: %llu partly used packs "
		       "(%.1f MiB unused), %llu of them over the budget, %llu locked%s\n",
		       o.dry_run ? " (dry run)" : "", (unsigned long long)res.repacked_packs,
		       (double)res.repack_written_bytes / 1048576.0,
		       (double)res.repack_freed_bytes / 1048576.0,
		       (unsigned long long)res.partial_packs,
		       (double)res.partial_waste_bytes / 1048576.0,
		       (unsigned long long)res.repack_budget_packs,
		       (unsigned long long)res.repack_locked_packs,
		       res.repack_deferred_units ? "; undone in a unit where a backup started" : "");
		if (res.locked_packs || res.locked_segments)
			printf("%llu unused packs and %llu old index segments are still locked by "
			       "the server (Object Lock): left for a later prune\n",
			       (unsigned long long)res.locked_packs,
			       (unsigned long long)res.locked_segments);
	}
	return res.skipped_units ? EXIT_WARNINGS : EXIT_OK;
}

static void print_compact(struct cli *c, const struct compact_result *res, int dry_run)
{
	size_t i;

	if (c->json) {
		json_object *j = json_object_new_object(), *units = json_object_new_array();

		for (i = 0; i < res->n; i++) {
			const struct compact_unit_result *r = &res->units[i];
			json_object *u = json_object_new_object();

			json_object_object_add(u, "unit", json_object_new_string(r->unit));
			json_add_u64(u, "erasedBlobs", r->erased_blobs);
			json_add_u64(u, "packsRewritten", r->packs_rewritten);
			json_add_u64(u, "blobsDropped", r->blobs_dropped);
			json_add_u64(u, "blobsCopied", r->blobs_copied);
			json_add_u64(u, "newPacks", r->new_packs);
			json_add_u64(u, "bytesFreed", r->bytes_freed);
			json_object_object_add(u, "deferred", json_object_new_boolean(r->deferred));
			json_object_object_add(u, "skipped", json_object_new_boolean(r->skipped));
			json_object_array_add(units, u);
		}
		json_object_object_add(j, "dryRun", json_object_new_boolean(dry_run));
		json_object_object_add(j, "units", units);
		json_print(j);
		return;
	}
	if (c->quiet)
		return;
	if (res->n == 0)
		printf("compact: no unit has erased data\n");
	for (i = 0; i < res->n; i++) {
		const struct compact_unit_result *r = &res->units[i];

		printf("compact%s %s: %llu erased blobs; %llu packs rewritten, %llu blobs dropped, "
		       "%llu blobs copied, %.1f MiB freed%s\n", dry_run ? " (dry run)" : "", r->unit,
		       (unsigned long long)r->erased_blobs, (unsigned long long)r->packs_rewritten,
		       (unsigned long long)r->blobs_dropped, (unsigned long long)r->blobs_copied,
		       (double)r->bytes_freed / 1048576.0,
		       r->deferred ? "; deferred: a backup or prune was writing" :
		       r->skipped ? "; skipped: a restore point could not be read" : "");
	}
}

/* Removes erased data from the packs early (docs/prune.md "Compaction"). */
static int cmd_compact(struct cli *c, int argc, char **argv)
{
	struct compact_opts o = { .writer_timeout = 86400 };
	const char *key_file = NULL, *v;
	const char **units = xcalloc((size_t)argc, sizeof(*units));
	struct compact_result res;
	struct store *s;
	struct error err;
	int i, ret, again = 0;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			o.dry_run = 1;
		} else if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file")) != NULL) {
			key_file = v;
		} else if (argv[i][0] == '-') {
			free(units);
			return usage_error("compact", USAGE_COMPACT);
		} else {
			units[o.nunits++] = argv[i];
		}
	}
	o.units = o.nunits ? units : NULL;
	memset(&res, 0, sizeof(res));
	/* A dry run deletes nothing: the store key is enough. */
	s = o.dry_run ? cli_open(c, 0, &err) : cli_open_deletion(c, key_file, "compaction", &err);
	ret = s ? compact_run(s, &o, &res, &err) : -1;
	store_close(&s);
	free(units);
	if (ret < 0) {
		compact_result_clear(&res);
		return fail(&err);
	}
	print_compact(c, &res, o.dry_run);
	for (i = 0; (size_t)i < res.n; i++)
		again |= res.units[i].deferred || res.units[i].skipped;
	compact_result_clear(&res);
	return again ? EXIT_WARNINGS : EXIT_OK;
}

static void print_deletion(struct cli *c, const char *unit, const struct store_deletion *d)
{
	char when[32], what[128];
	size_t i, len;

	if (c->json) {
		json_print(view_deletion(d));
		return;
	}
	format_time(d->time_ns, when, sizeof(when));
	if (strcmp(d->action, "forget") == 0) {
		snprintf(what, sizeof(what), "point%s", d->nseqs == 1 ? "" : "s");
		for (i = 0; i < d->nseqs; i++) {
			len = strlen(what);
			snprintf(what + len, sizeof(what) - len, "%s%u", i ? "," : " ", d->seqs[i]);
		}
	} else {
		snprintf(what, sizeof(what), "%llu packs, %.1f MiB", (unsigned long long)d->packs,
			 (double)d->bytes / 1048576.0);
	}
	printf("%-20s %-24s %-7s %-28s %s@%s\n", when, unit, d->action, what, d->tool, d->host);
}

/* Lists a unit's deletion log; a record that does not verify is named and
 * skipped, the others still listed. */
static int list_unit_deletions(struct cli *c, struct store *s, const char *name, void *ctx,
			       struct error *err)
{
	struct list_ctx *lc = ctx;
	struct store_unit *u = store_unit_open(s, name, 0, err);
	char **recs;
	size_t nrecs, j;

	if (u == NULL || store_deletions_list(u, &recs, &nrecs, err) < 0) {
		store_unit_close(&u);
		return -1;
	}
	for (j = 0; j < nrecs; j++) {
		struct store_deletion *d = NULL;
		struct error derr;

		error_init(&derr);
		if (store_deletion_read(u, recs[j], &d, &derr) < 0) {
			log_error("%s: %s", name, derr.msg);
			lc->damaged = 1;
		} else {
			print_deletion(c, name, d);
		}
		store_deletion_free(&d);
		free(recs[j]);
	}
	free(recs);
	store_unit_close(&u);
	return 0;
}

/* Lists the deletion logs (docs/format.md 10): every forget and prune, who
 * and when; a record that does not verify is named (exit 4). */
static int cmd_deletion_log(struct cli *c, int argc, char **argv)
{
	struct list_ctx lc = { 0 };
	char heading[128];
	int ret;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return usage_error("deletion-log", USAGE_DELETION_LOG);
	snprintf(heading, sizeof(heading), "%-20s %-24s %-7s %-28s %s", "TIME (UTC)", "UNIT",
		 "ACTION", "WHAT", "BY");
	ret = for_each_unit(c, argc, argv, heading, list_unit_deletions, &lc);
	return ret == EXIT_OK && lc.damaged ? EXIT_DAMAGE : ret;
}

static void bad_pack_line(void *ctx, const char *name, const struct error *err)
{
	(void)ctx;
	log_error("pack %s left out of the index: %s", name, err->msg);
}

static int rebuild_unit(struct cli *c, struct store *s, const char *name, void *ctx,
			struct error *err)
{
	struct store_unit *u = store_unit_open(s, name, 0, err);
	uint64_t packs = 0, blobs = 0;
	int ret;

	(void)ctx;
	if (u == NULL)
		return -1;
	ret = index_rebuild(u, bad_pack_line, c, &packs, &blobs, err);
	store_unit_close(&u);
	if (ret < 0)
		return error_prefix(err, "rebuilding the index of %s", name);
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "unit", json_object_new_string(name));
		json_add_u64(o, "packs", packs);
		json_add_u64(o, "blobs", blobs);
		json_print(o);
	} else if (!c->quiet) {
		printf("%s: index rebuilt from %llu packs (%llu blobs)\n", name,
		       (unsigned long long)packs, (unsigned long long)blobs);
	}
	return 0;
}

/* Recreates index segments from the packs alone (after index damage). */
static int cmd_rebuild_index(struct cli *c, int argc, char **argv)
{
	if (argc > 2)
		return usage_error("rebuild-index", "[UNIT]");
	return for_each_unit(c, argc, argv, NULL, rebuild_unit, NULL);
}

const struct cli_command cli_commands[] = {
	{ "init", USAGE_INIT, cmd_init },
	{ "backup", USAGE_BACKUP, cmd_backup },
	{ "restore-points", USAGE_RESTORE_POINTS, cmd_restore_points },
	{ "ls", "RP [PATH]", cmd_ls },
	{ "diff", "RP1 RP2|live", cmd_diff },
	{ "find", USAGE_FIND, cmd_find },
	{ "restore", USAGE_RESTORE, cmd_restore },
	{ "check", "[--read-data [--slice K/N]] [--unit UNIT]", cmd_check },
	{ "prune", USAGE_PRUNE, cmd_prune },
	{ "compact", USAGE_COMPACT, cmd_compact },
	{ "forget", USAGE_FORGET, cmd_forget },
	{ "deletion-key", USAGE_DELETION_KEY, cmd_deletion_key },
	{ "key", USAGE_KEY, cmd_key },
	{ "deletion-log", USAGE_DELETION_LOG, cmd_deletion_log },
	{ "rebuild-index", "[UNIT]", cmd_rebuild_index },
	{ "s3-policy", USAGE_S3_POLICY, cmd_s3_policy },
	{ "lock-extend", USAGE_LOCK_EXTEND, cmd_lock_extend },
	{ "certificate", USAGE_CERTIFICATE, cmd_certificate },
	/* The service (cmd_serve.c) and its API clients (cmd_client.c). */
	{ "serve", USAGE_SERVE, cmd_serve },
	{ "catalog", USAGE_CATALOG, cmd_catalog },
	{ "tenant", USAGE_TENANT, cmd_tenant },
	{ "token", USAGE_TOKEN, cmd_token },
	{ "unit", USAGE_UNIT, cmd_unit },
	{ "policy", USAGE_POLICY, cmd_policy },
	{ "restore-session", USAGE_RESTORE_SESSION, cmd_restore_session },
	{ "audit", USAGE_AUDIT, cmd_audit },
	{ "subject", USAGE_SUBJECT, cmd_subject },
	{ "erasure", USAGE_ERASURE, cmd_erasure },
	/* Mailboxes (cmd_mail.c). */
	{ "mail", USAGE_MAIL, cmd_mail },
	{ "search", USAGE_SEARCH, cmd_search },
	{ "export", USAGE_EXPORT, cmd_export },
	/* WebDAV drives and sites (cmd_dav.c). */
	{ "dav", USAGE_DAV, cmd_dav },
	{ NULL, NULL, NULL },
};
