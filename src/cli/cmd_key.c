/* coffer key: the store's key slots (docs/cli.md "Keys", docs/format.md
 * 3.1). Every slot wraps the same master key, so adding one never touches
 * data; removing one is a deletion and needs the deletion key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"

#define KEY_SECRET_MAX 4096

/* The options of the key subcommands. */
struct key_args {
	const char *key_file_new;        /* a new random key file */
	const char *passphrase_file_new; /* a new passphrase, from a file */
	const char *deletion_key_file;
	const char *id;                  /* remove ID */
};

static int key_fail(struct error *err)
{
	log_error("%s", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

static int key_usage(void)
{
	return cli_usage("key", USAGE_KEY);
}

static int key_parse(int argc, char **argv, struct key_args *a)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--key-file-new")))
			a->key_file_new = v;
		else if ((v = cli_option_value(argc, argv, &i, "--passphrase-file-new")))
			a->passphrase_file_new = v;
		else if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file")))
			a->deletion_key_file = v;
		else if (argv[i][0] != '-' && a->id == NULL)
			a->id = argv[i];
		else
			return -1;
	}
	return a->key_file_new && a->passphrase_file_new ? -1 : 0;
}

/* The new key: a random key file written now, or a passphrase from a file,
 * COFFER_PASSPHRASE_NEW or typed twice. *written is set when a key file
 * was made (the caller removes it if the slot is not added). */
static int key_new_source(const struct key_args *a, struct keysource *ks, struct buf *secret,
			  int *written, struct error *err)
{
	*written = 0;
	if (a->key_file_new == NULL)
		return cli_passphrase(a->passphrase_file_new, "COFFER_PASSPHRASE_NEW",
				      "new passphrase: ", 1, ks, secret, err);
	ks->kdf = KEYSLOT_KEYFILE;
	if (cli_write_new_key_file(a->key_file_new, secret, err) < 0)
		return -1;
	*written = 1;
	ks->secret = secret->data;
	ks->len = secret->len;
	return 0;
}

/* Adds the new key's slot; its id in id (17 bytes). */
static int key_add_new(struct store *s, const struct key_args *a, char *id, struct error *err)
{
	struct keysource ks;
	struct buf secret;
	int written = 0, ret;

	buf_init(&secret, KEY_SECRET_MAX);
	ret = key_new_source(a, &ks, &secret, &written, err);
	if (ret == 0)
		ret = store_add_key(s, &ks, id, err);
	/* A key file that opens nothing is no use: it is ours (O_EXCL). */
	if (ret < 0 && written)
		unlink(a->key_file_new);
	crypto_wipe(secret.data, secret.len);
	buf_clear(&secret);
	return ret;
}

static const char *kind_name(int kdf)
{
	return kdf == KEYSLOT_ARGON2ID ? "passphrase" : kdf == KEYSLOT_KEYFILE ? "key-file"
										: "unreadable";
}

static int key_list(struct cli *c)
{
	struct store_keyslot *v = NULL;
	struct json_object *arr;
	struct store *s;
	struct error err;
	size_t n = 0;

	error_init(&err);
	if ((s = cli_open(c, 0, &err)) == NULL || store_key_list(s, &v, &n, &err) < 0) {
		store_close(&s);
		return key_fail(&err);
	}
	store_close(&s);
	if (c->json) {
		arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(v[i].id));
			json_object_object_add(o, "kind", json_object_new_string(kind_name(v[i].kdf)));
			json_object_object_add(o, "inUse", json_object_new_boolean(v[i].in_use));
			json_object_array_add(arr, o);
		}
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s  %-10s%s\n", v[i].id, kind_name(v[i].kdf),
			       v[i].in_use ? "  (opened this time)" : "");
	}
	free(v);
	return EXIT_OK;
}

static int key_add(struct cli *c, const struct key_args *a)
{
	struct store *s;
	struct error err;
	char id[17];

	error_init(&err);
	if ((s = cli_open(c, 0, &err)) == NULL || key_add_new(s, a, id, &err) < 0) {
		store_close(&s);
		return key_fail(&err);
	}
	store_close(&s);
	if (!c->quiet)
		printf("added key slot %s (%s%s)\n", id, a->key_file_new ? "key file " : "passphrase",
		       a->key_file_new ? a->key_file_new : "");
	return EXIT_OK;
}

static int key_remove(struct cli *c, const struct key_args *a)
{
	struct store *s;
	struct error err;

	if (a->id == NULL)
		return key_usage();
	error_init(&err);
	s = cli_open_deletion(c, a->deletion_key_file, "removing a key slot", &err);
	if (s == NULL || store_remove_key(s, a->id, &err) < 0) {
		store_close(&s);
		return key_fail(&err);
	}
	store_close(&s);
	if (!c->quiet)
		printf("removed key slot %s\n", a->id);
	return EXIT_OK;
}

/* A new key in place of the one given: the new slot first, then the old
 * one removed, so no moment leaves the store without a key that opens it. */
static int key_passwd(struct cli *c, const struct key_args *a)
{
	struct store_keyslot *v = NULL;
	struct store *s;
	struct error err;
	char id[17], old[17] = "";
	size_t n = 0;
	int ret;

	error_init(&err);
	s = cli_open_deletion(c, a->deletion_key_file, "changing a key", &err);
	if (s == NULL || store_key_list(s, &v, &n, &err) < 0) {
		store_close(&s);
		return key_fail(&err);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].in_use)
			memcpy(old, v[i].id, sizeof(old));
	free(v);
	ret = key_add_new(s, a, id, &err);
	if (ret == 0 && (ret = store_remove_key(s, old, &err)) < 0)
		error_prefix(&err, "the new key slot %s was added, but the old one %s stays", id, old);
	store_close(&s);
	if (ret < 0)
		return key_fail(&err);
	if (!c->quiet)
		printf("key slot %s replaces %s\n", id, old);
	return EXIT_OK;
}

/* A recovery key: a key-file slot whose 64 hex digits are printed to be
 * written down and kept apart; a file holding that line opens the store. */
static int key_recovery(struct cli *c, const struct key_args *a)
{
	struct store *s;
	struct error err;
	struct buf line;
	char id[17];

	if (a->key_file_new == NULL)
		return key_usage();
	error_init(&err);
	if ((s = cli_open(c, 0, &err)) == NULL || key_add_new(s, a, id, &err) < 0) {
		store_close(&s);
		return key_fail(&err);
	}
	store_close(&s);
	buf_init(&line, 128);
	if (fs_read_file(a->key_file_new, &line, 128, &err) < 0)
		return key_fail(&err);
	printf("recovery key slot %s; the key (file %s holds exactly this line):\n%.*s", id,
	       a->key_file_new, (int)line.len, (const char *)line.data);
	crypto_wipe(line.data, line.len);
	buf_clear(&line);
	return EXIT_OK;
}

int cmd_key(struct cli *c, int argc, char **argv)
{
	struct key_args a;

	if (argc < 2 || key_parse(argc, argv, &a) < 0)
		return key_usage();
	if (strcmp(argv[1], "list") == 0)
		return key_list(c);
	if (strcmp(argv[1], "add") == 0)
		return key_add(c, &a);
	if (strcmp(argv[1], "remove") == 0)
		return key_remove(c, &a);
	if (strcmp(argv[1], "passwd") == 0)
		return key_passwd(c, &a);
	if (strcmp(argv[1], "recovery") == 0)
		return key_recovery(c, &a);
	return key_usage();
}
