#ifndef COFFER_CLI_H
#define COFFER_CLI_H

/* The command line: global options, then one command from the table in
 * commands.c. Commands are thin: they parse their arguments, call the
 * engine and print. Exit codes are documented in docs/cli.md. */

#include <stdint.h>

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_WARNINGS = 3,
	EXIT_DAMAGE = 4,
	EXIT_LOCKED = 5, /* refused: a restore point is retained (ERROR_LOCKED) */
};

struct cli {
	const char *store;
	const char *key_file;
	const char *passphrase_file;
	int json;
	int quiet;
	const char *server;     /* the API's URL (service commands) */
	const char *token_file; /* a file holding the API token */
};

struct cli_command {
	const char *name;
	const char *usage;
	int (*run)(struct cli *c, int argc, char **argv);
};

extern const struct cli_command cli_commands[];

struct error;
struct store;
/* commands.c: opens the store named by --store with the key from --key-file,
 * --passphrase-file, COFFER_PASSPHRASE or the terminal (flags as
 * store_open()); NULL and err on failure. For every command that reads the
 * store. */
struct store *cli_open(struct cli *c, int flags, struct error *err);
/* commands.c: cli_open() with BACKEND_ALLOW_DELETE and the deletion key
 * from key_file or COFFER_DELETION_KEY_FILE unlocked; NULL and err saying
 * that `what` ("forgetting", ...) needs it. */
struct store *cli_open_deletion(struct cli *c, const char *key_file, const char *what,
				struct error *err);
struct buf;
/* commands.c: a new key file at path (O_EXCL, mode 0600): 32 random bytes
 * as 64 hex digits and a newline, also left in secret. */
int cli_write_new_key_file(const char *path, struct buf *secret, struct error *err);
/* commands.c: a line typed on the terminal without echo, after prompt. */
int cli_read_tty_line(const char *prompt, struct buf *out, struct error *err);
struct keysource;
/* commands.c: a passphrase key source from file (its last newlines cut),
 * else the environment variable env_name, else typed after prompt (twice
 * when confirm); ERROR_KEY for an empty one or two that differ. */
int cli_passphrase(const char *file, const char *env_name, const char *prompt, int confirm,
		   struct keysource *ks, struct buf *secret, struct error *err);
/* main.c: the value of "--opt VALUE" (advancing *i) or "--opt=VALUE"; NULL
 * if argv[*i] is not this option. */
const char *cli_option_value(int argc, char **argv, int *i, const char *opt);
/* main.c: prints "usage: coffer CMD TEXT" to stderr; EXIT_USAGE. */
int cli_usage(const char *cmd, const char *text);
/* commands.c: "--keep-days N" or "--retain-days N" at argv[*i] (advancing
 * *i) into *keep_s or *retain_s as seconds: 1; 0 if argv[*i] is neither;
 * -1 and ERROR_USAGE naming the option and N for a bad N. */
int cli_retention_option(int argc, char **argv, int *i, int64_t *keep_s, int64_t *retain_s,
			 struct error *err);
/* commands.c: COFFER_POINT_TIME (a time as lib/timeutil's time_parse()
 * reads it, e.g. RFC 3339) as the time of a new restore point, for tests
 * and imports; 0 (now) when unset. ERROR_USAGE if malformed. */
int cli_point_time(int64_t *time_ns_r, struct error *err);

/* commands.c: tells stderr what a read withheld under the erasure ledger
 * ("withheld N items (erasure requests: e-1 3, ...)"; nothing when n is 0)
 * unless quiet, and frees by (the JSON of erasure_set_report_text). */
void cli_withheld(const struct cli *c, uint64_t n, char *by);

/* cmd_key.c: the store's key slots (docs/cli.md "Keys"). */
#define USAGE_KEY                                                                       \
	"list | add (--key-file-new F | --passphrase-file-new F) | "                    \
	"remove ID --deletion-key-file F | "                                           \
	"passwd (--key-file-new F | --passphrase-file-new F) --deletion-key-file F | " \
	"recovery --key-file-new F"
int cmd_key(struct cli *c, int argc, char **argv);

/* cmd_serve.c: the daemon and its catalog. */
#define USAGE_SERVE "[--config FILE] [--data DIR] [--listen HOST:PORT] ..."
#define USAGE_FIND "UNIT PATTERN [--ignore-case]"
#define USAGE_CATALOG                                                            \
	"rebuild [--data DIR] | tenant-key TENANT --key-file-new F "             \
	"[--deletion-key-file-new F] [--data DIR] [--service-key F]"
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_catalog(struct cli *c, int argc, char **argv);

/* cmd_client.c: clients of the HTTP API (--server URL, --token-file F or
 * COFFER_SERVER / COFFER_TOKEN). */
#define USAGE_TENANT "list | create NAME [--location L] | show ID | set ID --min-retention-days N"
#define USAGE_TOKEN "list | create --role ROLE [--tenant ID] [--break-glass REASON] NAME | " \
	"revoke ID"
#define USAGE_UNIT "list | create ... | show ID | backup ID | restore-points ID | " \
	"recommend ID | ls ID SEQ [PATH] | find ID PATTERN | forget ID SEQ | legal-hold ID (--reason R | --release) | " \
	"destroy ID (--confirm NAME | --cancel) | drill ID [--wait] | drills ID"
#define USAGE_POLICY "list | create ... | show ID | activate ID | deactivate ID"
#define USAGE_RESTORE_SESSION "list | create ... [--path P]... [--dry-run] | show ID [--wait]"
#define USAGE_AUDIT "list [...] | verify"
int cmd_tenant(struct cli *c, int argc, char **argv);
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_unit(struct cli *c, int argc, char **argv);
int cmd_policy(struct cli *c, int argc, char **argv);
int cmd_restore_session(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
#define USAGE_SUBJECT "export ADDRESS -o FILE | report (--unit NAME | --address A) " \
	"[--since D] [--until D] [--json]"
int cmd_subject(struct cli *c, int argc, char **argv);
#define USAGE_ERASURE "request (addresses A... | paths UNIT PATH... | search KEY=VALUE...) " \
	"--reason R | list [--state S] | show ID | approve ID | reject ID"
int cmd_erasure(struct cli *c, int argc, char **argv);

/* cmd_mail.c: mailboxes over IMAP. */
#define USAGE_MAIL "backup UNIT SOURCE | restore RP ... | folders RP"
#define USAGE_SEARCH "[--from A] [--to A] [--subject W] [--body W] [--since D] [--until D] ..."
#define USAGE_EXPORT "RP|--search ... (--mbox FILE | --eml DIR)"
int cmd_mail(struct cli *c, int argc, char **argv);
int cmd_search(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);

/* cmd_dav.c: WebDAV collections (docs/webdav.md). */
#define USAGE_DAV "backup UNIT --url URL --user U --password-file F ..."
int cmd_dav(struct cli *c, int argc, char **argv);
/* How to reach a WebDAV collection: the flags of coffer dav, unit create
 * --webdav and policy create --rule webdav:URL. */
struct cli_dav_conn {
	const char *source, *url, *user, *pwfile, *auth, *ca, *connections;
	int insecure;
};
struct json_object;
/* The webdav source JSON the flags describe (the secret read from its
 * file); NULL and err, ERROR_USAGE when neither source nor url with
 * pwfile is given. The caller puts it. */
struct json_object *cli_dav_source(const struct cli_dav_conn *d, struct error *err);

/* cmd_certificate.c: deletion certificates, checked offline
 * (docs/privacy.md 8). */
#define USAGE_CERTIFICATE "verify FILE [--public-key HEX|FILE]"
int cmd_certificate(struct cli *c, int argc, char **argv);

/* cmd_s3.c: the S3 side of a store (docs/s3.md). */
#define USAGE_S3_POLICY "BUCKET --backup-user ARN --delete-user ARN"
#define USAGE_LOCK_EXTEND "[--unit UNIT] [--min-remaining DAYS] [--dry-run]"
int cmd_s3_policy(struct cli *c, int argc, char **argv);
int cmd_lock_extend(struct cli *c, int argc, char **argv);

#endif
