#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/backend.h"
#include "store/chunker.h"

#define UNIT_NAME_MAX 1024
#define DELKEY_OBJECT "deletion-key"
#define DELKEY_MAGIC "coffer-deletion-key"
#define DELKEY_FORMAT 1
#define DELKEY_MAX ((size_t)64 << 20)
#define DELKEY_FILE_MAX 4096
#define TOMBSTONE_OBJECT_MAX ((size_t)1 << 20)

struct store {
	struct backend *be;
	char *path;
	char *cache;
	char id[33];
	uint8_t master[MASTER_KEY_LEN];
	int lock_mode; /* from config's object-lock line (S3 stores) */
	unsigned lock_days;
	/* The deletion key (docs/format.md 9): its public half, read once
	 * under del_lock (del_state 0: not read yet, 1: read, 2: none), and
	 * the secret once store_unlock_deletion() succeeded. */
	pthread_mutex_t del_lock;
	int del_state;
	struct store_deletion_pub del_pub;
	uint8_t del_sk[64];
	int del_unlocked;
	char *actor;
	char slot_id[17]; /* the key slot that unlocked this handle */
};

struct store_unit {
	struct store *s;
	char *name;
	char uid[33];
	char *cache;
	uint8_t key[32];
	uint8_t data_key[32];
	uint8_t id_key[32];
	struct chunker data_chunker;
	struct chunker meta_chunker;
};

/* The config object; an S3 store adds its Object Lock (docs/format.md 2). */
static char *store_config_text(const char *id, int lock_mode, unsigned lock_days)
{
	if (lock_mode == BACKEND_LOCK_NONE)
		return xasprintf("coffer-store\nformat %d\nid %s\n", STORE_FORMAT, id);
	return xasprintf("coffer-store\nformat %d\nid %s\nobject-lock %s %u\n", STORE_FORMAT, id,
			 lock_mode == BACKEND_LOCK_GOVERNANCE ? "governance" : "compliance",
			 lock_days);
}

static int store_write_config(const char *path, const char *id, struct error *err)
{
	char *cfg = store_config_text(id, BACKEND_LOCK_NONE, 0);
	char *file = fs_join(path, "config");
	int ret = fs_write_once(file, cfg, strlen(cfg), err);

	free(cfg);
	free(file);
	return ret;
}

static int store_dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (d == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* Writes a new key slot keys/<16 hex>; its id in id_r (17 bytes) unless
 * NULL. */
static int store_write_slot(struct backend *be, const uint8_t *master,
			    const struct keysource *src, char *id_r, struct error *err)
{
	uint8_t slot[KEYSLOT_LEN], rnd[8];
	char name[6 + 17];

	if (keyslot_create(master, src, slot, err) < 0)
		return -1;
	crypto_random(rnd, sizeof(rnd));
	memcpy(name, "keys/", 5);
	hex_encode(rnd, sizeof(rnd), name + 5);
	if (backend_put(be, name, slot, sizeof(slot), err) < 0)
		return -1;
	if (id_r)
		memcpy(id_r, name + 5, 17);
	return 0;
}

/* A store in an S3 bucket: the bucket is checked (or created) with Object
 * Lock, then the key slot and the config are put like any object, locked. */
static int store_init_remote(const char *path, const struct keysource *src,
			     const struct store_init_opts *o, struct error *err)
{
	uint8_t master[MASTER_KEY_LEN], rid[16];
	int mode = o && o->lock_mode ? o->lock_mode : BACKEND_LOCK_COMPLIANCE;
	unsigned days = o && o->lock_days ? o->lock_days : STORE_LOCK_DAYS_DEFAULT;
	struct backend *be = backend_open(path, 0, err);
	char id[33], *cfg;
	int ret;

	if (be == NULL)
		return -1;
	if (backend_s3_prepare(be, err) < 0) {
		backend_close(&be);
		return -1;
	}
	backend_s3_set_lock(be, mode, days);
	crypto_random(rid, sizeof(rid));
	hex_encode(rid, sizeof(rid), id);
	crypto_random(master, sizeof(master));
	ret = store_write_slot(be, master, src, NULL, err);
	crypto_wipe(master, sizeof(master));
	/* config last: a store without config is visibly unfinished. */
	if (ret == 0) {
		cfg = store_config_text(id, mode, days);
		ret = backend_put(be, "config", cfg, strlen(cfg), err);
		free(cfg);
	}
	backend_close(&be);
	return ret;
}

int store_init(const char *path, const struct keysource *src, struct error *err)
{
	return store_init_opts(path, src, NULL, err);
}

int store_init_opts(const char *path, const struct keysource *src,
		    const struct store_init_opts *o, struct error *err)
{
	uint8_t master[MASTER_KEY_LEN], rid[16];
	char id[33];
	struct backend *be;
	int ret;

	if (backend_spec_is_url(path))
		return store_init_remote(path, src, o, err);
	if (o && (o->lock_mode || o->lock_days))
		return error_setk(err, ERROR_USAGE, "Object Lock is for S3 stores; %s is a local "
				  "folder", path);
	if (!store_dir_is_empty(path))
		return error_setk(err, ERROR_EXISTS, "cannot create a store in %s: folder is not empty",
				  path);
	if (fs_mkdir_p(path, err) < 0)
		return -1;
	crypto_random(rid, sizeof(rid));
	hex_encode(rid, sizeof(rid), id);
	crypto_random(master, sizeof(master));
	be = backend_local_open(path, 0);
	ret = store_write_slot(be, master, src, NULL, err);
	/* config last: a store without config is visibly unfinished. */
	if (ret == 0)
		ret = store_write_config(path, id, err);
	crypto_wipe(master, sizeof(master));
	backend_close(&be);
	return ret;
}

/* "object-lock MODE DAYS" (S3 stores, docs/s3.md), if there is one. */
static int store_parse_lock(struct store *s, const char *p, struct error *err)
{
	const char *line = strstr(p, "\nobject-lock "), *days;
	size_t n;
	int64_t v;
	char num[16];

	if (line == NULL)
		return 0;
	line += 13;
	if (strncmp(line, "compliance ", 11) == 0)
		s->lock_mode = BACKEND_LOCK_COMPLIANCE, days = line + 11;
	else if (strncmp(line, "governance ", 11) == 0)
		s->lock_mode = BACKEND_LOCK_GOVERNANCE, days = line + 11;
	else
		return error_setk(err, ERROR_CORRUPT, "%s/config: bad object-lock line", s->path);
	n = strspn(days, "0123456789");
	if (n == 0 || n >= sizeof(num) || days[n] != '\n')
		return error_setk(err, ERROR_CORRUPT, "%s/config: bad object-lock line", s->path);
	memcpy(num, days, n);
	num[n] = '\0';
	if (parse_int(num, 1, STORE_LOCK_DAYS_MAX, &v) < 0)
		return error_setk(err, ERROR_CORRUPT, "%s/config: bad object-lock line", s->path);
	s->lock_days = (unsigned)v;
	return 0;
}

static int store_parse_config(struct store *s, const struct buf *cfg, struct error *err)
{
	const char *p = (const char *)cfg->data;
	const char *fmt = strstr(p, "\nformat "), *id = strstr(p, "\nid ");
	long format;

	if (strncmp(p, "coffer-store\n", 13) != 0 || fmt == NULL || id == NULL)
		return error_setk(err, ERROR_CORRUPT, "%s/config is not a coffer store config",
				  s->path);
	format = strtol(fmt + 8, NULL, 10);
	if (format > STORE_FORMAT)
		return error_setk(err, ERROR_VERSION,
				  "store %s has format %ld; this coffer reads format %d only",
				  s->path, format, STORE_FORMAT);
	if (format < 1 || strspn(id + 4, "0123456789abcdef") != 32)
		return error_setk(err, ERROR_CORRUPT, "%s/config is damaged", s->path);
	memcpy(s->id, id + 4, 32);
	s->id[32] = '\0';
	return store_parse_lock(s, p, err);
}

struct slot_scan {
	struct store *s;
	const struct keysource *src;
	struct error *err;
	int opened;
	int failed;
};

static int store_try_slot(void *ctx, const char *name)
{
	struct slot_scan *scan = ctx;
	struct buf slot;
	char *rel = xasprintf("keys/%s", name);
	int ret;

	buf_init(&slot, 4096);
	ret = backend_get(scan->s->be, rel, &slot, 4096, scan->err);
	if (ret == 0)
		ret = keyslot_open(slot.data, slot.len, scan->src, rel, scan->s->master, scan->err);
	buf_clear(&slot);
	free(rel);
	if (ret < 0) {
		scan->failed = 1;
		return 0; /* a damaged slot must not hide a good one */
	}
	if (ret == 1) {
		scan->opened = 1;
		snprintf(scan->s->slot_id, sizeof(scan->s->slot_id), "%s", name);
		return -1;
	}
	return 0;
}

static char *store_default_cache(void)
{
	const char *env = getenv("COFFER_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		return xstrdup(env);
	if (xdg && *xdg)
		return fs_join(xdg, "coffer");
	return xasprintf("%s/.cache/coffer", home && *home ? home : "/tmp");
}

static int store_unlock(struct store *s, const struct keysource *src, struct error *err)
{
	struct slot_scan scan = { .s = s, .src = src, .err = err };
	struct error slot_err;

	error_init(&slot_err);
	scan.err = &slot_err;
	if (backend_list(s->be, "keys", store_try_slot, &scan, err) < 0 && !scan.opened)
		return -1;
	if (scan.opened)
		return 0;
	if (scan.failed && slot_err.code != ERROR_KEY)
		return error_setk(err, slot_err.code, "%s", slot_err.msg);
	return error_setk(err, ERROR_KEY, "wrong passphrase or key file for store %s", s->path);
}

struct store *store_open(const char *path, const struct keysource *src, int flags,
			 const char *cache_dir, struct error *err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct buf cfg;
	const char *faults = getenv("COFFER_FAULTS");
	char *base;

	pthread_mutex_init(&s->del_lock, NULL);
	/* Messages name the store without its settings (docs/s3.md). */
	s->path = backend_spec_identity(path);
	buf_init(&cfg, 4096);
	s->be = backend_open(path, flags, err);
	if (s->be == NULL)
		goto fail;
	if (backend_get(s->be, "config", &cfg, 4096, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			error_setk(err, ERROR_NOTFOUND, "%s is not a coffer store (no config); "
				   "create one with `coffer init`", path);
		goto fail;
	}
	if (store_parse_config(s, &cfg, err) < 0 || store_unlock(s, src, err) < 0)
		goto fail;
	if (s->lock_mode != BACKEND_LOCK_NONE &&
	    backend_s3_set_lock(s->be, s->lock_mode, s->lock_days) < 0) {
		error_setk(err, ERROR_CORRUPT, "%s/config asks for Object Lock, which only S3 "
			   "stores have", path);
		goto fail;
	}
	if (faults && *faults) {
		struct backend *f = backend_fault_open(s->be, faults, err);

		if (f == NULL) {
			s->be = NULL;
			goto fail;
		}
		s->be = f;
	}
	base = cache_dir ? xstrdup(cache_dir) : store_default_cache();
	s->cache = fs_join(base, s->id);
	free(base);
	buf_clear(&cfg);
	return s;
fail:
	buf_clear(&cfg);
	store_close(&s);
	return NULL;
}

void store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	backend_close(&s->be);
	crypto_wipe(s->master, sizeof(s->master));
	crypto_wipe(s->del_sk, sizeof(s->del_sk));
	store_deletion_pub_clear(&s->del_pub);
	pthread_mutex_destroy(&s->del_lock);
	free(s->path);
	free(s->cache);
	free(s->actor);
	free(s);
	*sp = NULL;
}

int store_add_key(struct store *s, const struct keysource *src, char *id_r, struct error *err)
{
	return store_write_slot(s->be, s->master, src, id_r, err);
}

/* --- key slots (docs/format.md 3.1) ---------------------------------------- */

struct slot_list {
	struct store *s;
	struct store_keyslot *v;
	size_t n, cap;
	struct error *err;
};

static int slot_list_add(void *ctx, const char *name)
{
	struct slot_list *l = ctx;
	struct store_keyslot *k;
	struct buf b;
	char *rel;

	if (strlen(name) != 16 || !hex_is_lower(name, 16))
		return 0; /* not a slot coffer wrote */
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	k = &l->v[l->n++];
	memset(k, 0, sizeof(*k));
	memcpy(k->id, name, 17);
	k->in_use = strcmp(name, l->s->slot_id) == 0;
	rel = xasprintf("keys/%s", name);
	buf_init(&b, 4096);
	/* The kdf byte (offset 8); an unreadable slot is listed as kdf 0. */
	if (backend_get(l->s->be, rel, &b, 4096, l->err) == 0 && b.len == KEYSLOT_LEN &&
	    memcmp(b.data, "COFFERK", 7) == 0)
		k->kdf = b.data[8];
	error_init(l->err);
	buf_clear(&b);
	free(rel);
	return 0;
}

int store_key_list(struct store *s, struct store_keyslot **slots_r, size_t *n_r,
		   struct error *err)
{
	struct error ignore;
	struct slot_list l = { .s = s, .err = &ignore };

	error_init(&ignore);
	*slots_r = NULL;
	*n_r = 0;
	if (backend_list(s->be, "keys", slot_list_add, &l, err) < 0) {
		free(l.v);
		return error_prefix(err, "list the key slots of store %s", s->path);
	}
	*slots_r = l.v;
	*n_r = l.n;
	return 0;
}

int store_remove_key(struct store *s, const char *id, struct error *err)
{
	struct store_keyslot *v = NULL;
	size_t n = 0, others = 0, i;
	int found = 0;
	char *rel;
	int ret;

	if (!store_deletion_unlocked(s))
		return error_setk(err, ERROR_KEY, "removing a key slot of store %s needs the "
				  "deletion key (--deletion-key-file)", s->path);
	if (store_key_list(s, &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, id) == 0)
			found = 1;
		else if (v[i].kdf != 0)
			others++;
	}
	free(v);
	if (!found)
		return error_setk(err, ERROR_NOTFOUND, "store %s has no key slot %s", s->path, id);
	if (others == 0)
		return error_setk(err, ERROR_USAGE, "key slot %s is the last one that opens store "
				  "%s: add another first", id, s->path);
	rel = xasprintf("keys/%s", id);
	ret = backend_remove(s->be, rel, err);
	free(rel);
	return ret < 0 ? error_prefix(err, "remove key slot %s", id) : 0;
}

/* --- the deletion key ------------------------------------------------------ */

void store_deletion_pub_clear(struct store_deletion_pub *k)
{
	size_t i;

	for (i = 0; i < k->ntombstones; i++)
		free(k->tombstones[i]);
	free(k->tombstones);
	free(k->hashes);
	memset(k, 0, sizeof(*k));
}

/* The next '\n'-terminated line of [*p, end) without its '\n'; 0 at the
 * end, -1 for a last line without '\n'. */
static int delkey_line(const char **p, const char *end, const char **line_r, size_t *len_r)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		return -1;
	*line_r = *p;
	*len_r = (size_t)(nl - *p);
	*p = nl + 1;
	return 1;
}

static int delkey_is(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(line, word, n) == 0 && (len == n || line[n] == ' ');
}

static int delkey_digits(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return len > 0;
}

static int delkey_tombstone_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "tombstone <32 hex uid> <10 digits> <64 hex>" into k. */
static int delkey_add_tombstone(struct store_deletion_pub *k, const char *line, size_t len)
{
	uint8_t uid[16], hash[32];
	const char *p = line + 10;

	if (len != 10 + 32 + 1 + 10 + 1 + 64 || p[32] != ' ' || p[43] != ' ' ||
	    hex_decode(p, 32, uid, sizeof(uid)) < 0 || !delkey_digits(p + 33, 10) ||
	    hex_decode(p + 44, 64, hash, 32) < 0)
		return -1;
	k->tombstones = xrealloc(k->tombstones, xmul(k->ntombstones + 1, sizeof(char *)));
	k->hashes = xrealloc(k->hashes, xmul(k->ntombstones + 1, 32));
	k->tombstones[k->ntombstones] = xasprintf("units/%.32s/forgotten/%.10s", p, p + 33);
	memcpy(k->hashes[k->ntombstones++], hash, 32);
	return 0;
}

int store_deletion_pub_parse(const uint8_t *data, size_t len, const char *what,
			     struct store_deletion_pub *k, struct error *err)
{
	const char *p = (const char *)data, *end = p + len, *line;
	size_t n, i;
	int r, state = 0; /* 0 magic, 1 format, 2 public, 3 tombstones or end, 4 done */

	memset(k, 0, sizeof(*k));
	while ((r = delkey_line(&p, end, &line, &n)) == 1) {
		if (state == 0 && n == strlen(DELKEY_MAGIC) && memcmp(line, DELKEY_MAGIC, n) == 0) {
			state = 1;
		} else if (state == 1 && delkey_is(line, n, "format") && n > 7 && n < 7 + 10 &&
			   delkey_digits(line + 7, n - 7)) {
			long long f = 0;

			for (i = 7; i < n; i++)
				f = f * 10 + (line[i] - '0');
			if (f > DELKEY_FORMAT) {
				store_deletion_pub_clear(k);
				return error_setk(err, ERROR_VERSION, "deletion key %s has format %lld; "
						  "this coffer reads format %d", what, f, DELKEY_FORMAT);
			}
			if (f < 1)
				break;
			state = 2;
		} else if (state == 2 && delkey_is(line, n, "public") && n == 7 + 64 &&
			   hex_decode(line + 7, 64, k->public_key, 32) == 0) {
			state = 3;
		} else if (state == 3 && delkey_is(line, n, "tombstone")) {
			if (delkey_add_tombstone(k, line, n) < 0)
				break;
		} else if (state == 3 && n == 3 && memcmp(line, "end", 3) == 0) {
			state = 4;
			break;
		} else {
			break;
		}
	}
	if (state != 4 || p != end) {
		store_deletion_pub_clear(k);
		return error_setk(err, ERROR_CORRUPT, "deletion key %s is malformed", what);
	}
	/* Sorted for lookups, hashes following their names. */
	if (k->ntombstones > 1) {
		char **names = xmalloc(xmul(k->ntombstones, sizeof(char *)));
		uint8_t (*hashes)[32] = xmalloc(xmul(k->ntombstones, 32));

		memcpy(names, k->tombstones, k->ntombstones * sizeof(char *));
		qsort(names, k->ntombstones, sizeof(char *), delkey_tombstone_cmp);
		for (i = 0; i < k->ntombstones; i++) {
			char **hit = bsearch(&k->tombstones[i], names, k->ntombstones,
					     sizeof(char *), delkey_tombstone_cmp);

			memcpy(hashes[hit - names], k->hashes[i], 32);
		}
		free(k->tombstones);
		free(k->hashes);
		k->tombstones = names;
		k->hashes = hashes;
	}
	return 0;
}

/* Loads the public key once; 0, or -1 with ERROR_NOTFOUND when there is
 * none. Called with del_lock held. */
static int store_deletion_load(struct store *s, struct error *err)
{
	struct buf b;
	int ret;

	if (s->del_state == 1)
		return 0;
	if (s->del_state == 2)
		return error_setk(err, ERROR_NOTFOUND, "store %s has no deletion key; create one "
				  "with `coffer deletion-key create --deletion-key-file-new FILE`",
				  s->path);
	buf_init(&b, DELKEY_MAX);
	ret = backend_get(s->be, DELKEY_OBJECT, &b, DELKEY_MAX, err);
	if (ret == 0) {
		char *what = backend_describe(s->be, DELKEY_OBJECT);

		ret = store_deletion_pub_parse(b.data, b.len, what, &s->del_pub, err);
		free(what);
		if (ret == 0)
			s->del_state = 1;
	} else if (err->code == ERROR_NOTFOUND) {
		s->del_state = 2;
		buf_clear(&b);
		return store_deletion_load(s, err);
	}
	buf_clear(&b);
	return ret;
}

int store_deletion_public(struct store *s, uint8_t pk[32], struct error *err)
{
	int ret;

	pthread_mutex_lock(&s->del_lock);
	ret = store_deletion_load(s, err);
	if (ret == 0)
		memcpy(pk, s->del_pub.public_key, 32);
	pthread_mutex_unlock(&s->del_lock);
	return ret;
}

int store_deletion_predates_key(struct store *s, const char *name, const uint8_t hash[32])
{
	struct error ignored;
	char **hit = NULL;
	int ret = 0;

	pthread_mutex_lock(&s->del_lock);
	if (store_deletion_load(s, &ignored) == 0 && s->del_pub.ntombstones > 0)
		hit = bsearch(&name, s->del_pub.tombstones, s->del_pub.ntombstones, sizeof(char *),
			      delkey_tombstone_cmp);
	if (hit != NULL)
		ret = memcmp(s->del_pub.hashes[hit - s->del_pub.tombstones], hash, 32) == 0;
	pthread_mutex_unlock(&s->del_lock);
	return ret;
}

struct delkey_scan {
	struct store *s;
	struct buf *out;
	const char *uid;
	struct error *err;
};

static int delkey_note_tombstone(void *ctx, const char *name)
{
	struct delkey_scan *sc = ctx;
	char *obj, hex[65];
	uint8_t hash[32];
	struct buf b;
	int ret;

	if (strlen(name) != 10 || !delkey_digits(name, 10))
		return 0;
	obj = xasprintf("units/%s/forgotten/%s", sc->uid, name);
	buf_init(&b, TOMBSTONE_OBJECT_MAX);
	ret = backend_get(sc->s->be, obj, &b, TOMBSTONE_OBJECT_MAX, sc->err);
	if (ret == 0) {
		crypto_sha256(b.data, b.len, hash);
		hex_encode(hash, 32, hex);
		buf_addf(sc->out, "tombstone %s %s %s\n", sc->uid, name, hex);
	}
	buf_clear(&b);
	free(obj);
	return ret;
}

static int delkey_note_unit(void *ctx, const char *uid)
{
	struct delkey_scan *sc = ctx;
	char *dir;
	int ret;

	if (strlen(uid) != 32 || strspn(uid, "0123456789abcdef") != 32)
		return 0;
	dir = xasprintf("units/%s/forgotten", uid);
	sc->uid = uid;
	ret = backend_list(sc->s->be, dir, delkey_note_tombstone, sc, sc->err);
	free(dir);
	return ret;
}

/* Writes the secret file: the seed in hex and a newline, 0600, O_EXCL. */
static int delkey_write_secret(const char *path, const uint8_t seed[32], struct error *err)
{
	char hex[66];
	int ret;

	hex_encode(seed, 32, hex);
	hex[64] = '\n';
	ret = fs_write_secret(path, hex, 65, err);
	crypto_wipe(hex, sizeof(hex));
	return ret;
}

int store_deletion_key_create(struct store *s, const char *key_file, struct error *err)
{
	return store_deletion_key_create_seed(s, key_file, NULL, err);
}

int store_deletion_key_create_seed(struct store *s, const char *key_file,
				   const uint8_t given[32], struct error *err)
{
	uint8_t seed[32], pk[32], sk[64];
	struct delkey_scan sc = { .s = s, .err = err };
	struct error lerr;
	struct buf obj;
	char hex[65];
	int ret = -1;

	error_init(&lerr);
	pthread_mutex_lock(&s->del_lock);
	if (store_deletion_load(s, &lerr) == 0) {
		pthread_mutex_unlock(&s->del_lock);
		return error_setk(err, ERROR_EXISTS, "store %s has a deletion key already (it is "
				  "written once and never replaced)", s->path);
	}
	if (lerr.code != ERROR_NOTFOUND) {
		pthread_mutex_unlock(&s->del_lock);
		*err = lerr;
		return -1;
	}
	s->del_state = 0; /* it may exist once we put it */
	pthread_mutex_unlock(&s->del_lock);
	buf_init(&obj, 0);
	buf_addf(&obj, "%s\nformat %d\n", DELKEY_MAGIC, DELKEY_FORMAT);
	if (given)
		memcpy(seed, given, sizeof(seed));
	else
		crypto_random(seed, sizeof(seed));
	crypto_ed25519_keypair(seed, pk, sk);
	hex_encode(pk, 32, hex);
	buf_addf(&obj, "public %s\n", hex);
	/* Tombstones written before the key are unsigned: list them so check
	 * accepts exactly those (docs/format.md 9). */
	sc.out = &obj;
	if (backend_list(s->be, "units", delkey_note_unit, &sc, err) < 0) {
		error_prefix(err, "cannot list the tombstones of store %s", s->path);
		goto out;
	}
	buf_addf(&obj, "end\n");
	if (key_file && delkey_write_secret(key_file, seed, err) < 0)
		goto out;
	if (backend_put(s->be, DELKEY_OBJECT, obj.data, obj.len, err) < 0) {
		if (key_file)
			unlink(key_file);
		if (err->code == ERROR_EXISTS)
			error_setk(err, ERROR_EXISTS, "store %s has a deletion key already "
				   "(it is written once and never replaced)", s->path);
		goto out;
	}
	ret = 0;
out:
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(sk, sizeof(sk));
	buf_clear(&obj);
	return ret;
}

/* Unlocks with a seed already read; `from` names where it came from. */
static int unlock_with_seed(struct store *s, const uint8_t seed[32], const char *from,
			    struct error *err)
{
	uint8_t pk[32], mine[32], sk[64];

	if (store_deletion_public(s, pk, err) < 0)
		return -1;
	crypto_ed25519_keypair(seed, mine, sk);
	if (memcmp(mine, pk, 32) != 0) {
		crypto_wipe(sk, sizeof(sk));
		return error_setk(err, ERROR_KEY, "the deletion key in %s is not the deletion key "
				  "of store %s", from, s->path);
	}
	pthread_mutex_lock(&s->del_lock);
	memcpy(s->del_sk, sk, sizeof(sk));
	s->del_unlocked = 1;
	pthread_mutex_unlock(&s->del_lock);
	crypto_wipe(sk, sizeof(sk));
	return 0;
}

int store_unlock_deletion_seed(struct store *s, const uint8_t seed[32], const char *from,
			       struct error *err)
{
	return unlock_with_seed(s, seed, from, err);
}

int store_unlock_deletion(struct store *s, const char *key_file, struct error *err)
{
	uint8_t pk[32], seed[32];
	struct buf b;
	size_t n;
	int ret = -1;

	/* A store without a deletion key says so before the file is read. */
	if (store_deletion_public(s, pk, err) < 0)
		return -1;
	buf_init(&b, DELKEY_FILE_MAX);
	if (fs_read_file(key_file, &b, DELKEY_FILE_MAX, err) < 0) {
		err->code = ERROR_KEY;
		error_prefix(err, "cannot read the deletion key file");
		goto out;
	}
	n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' ' ||
			 b.data[n - 1] == '\t'))
		n--;
	if (n != 64 || hex_decode((const char *)b.data, 64, seed, 32) < 0) {
		error_setk(err, ERROR_KEY, "%s is not a coffer deletion key file (64 hex digits "
			   "expected)", key_file);
		goto out;
	}
	ret = unlock_with_seed(s, seed, key_file, err);
out:
	crypto_wipe(seed, sizeof(seed));
	if (b.data)
		crypto_wipe(b.data, b.len);
	buf_clear(&b);
	return ret;
}

int store_deletion_unlocked(struct store *s)
{
	int r;

	pthread_mutex_lock(&s->del_lock);
	r = s->del_unlocked;
	pthread_mutex_unlock(&s->del_lock);
	return r;
}

int store_deletion_sign(struct store *s, const void *msg, size_t len, uint8_t sig[64],
			struct error *err)
{
	int ret = 0;

	pthread_mutex_lock(&s->del_lock);
	if (s->del_unlocked)
		crypto_ed25519_sign(s->del_sk, msg, len, sig);
	else
		ret = error_setk(err, ERROR_KEY, "deleting needs the store's deletion key "
				 "(--deletion-key-file); the store key alone cannot delete");
	pthread_mutex_unlock(&s->del_lock);
	return ret;
}

int store_deletion_verify(struct store *s, const void *msg, size_t len, const uint8_t sig[64],
			  struct error *err)
{
	uint8_t pk[32];

	if (store_deletion_public(s, pk, err) < 0)
		return -1;
	if (crypto_ed25519_verify(pk, msg, len, sig) < 0)
		return error_setk(err, ERROR_CORRUPT, "signature does not verify under the store's "
				  "deletion key");
	return 0;
}

void store_set_actor(struct store *s, const char *tool)
{
	free(s->actor);
	s->actor = tool ? xstrdup(tool) : NULL;
}

const char *store_actor(struct store *s) { return s->actor ? s->actor : "cli"; }
const char *store_id(struct store *s) { return s->id; }

struct backend *store_backend(struct store *s) { return s->be; }
const char *store_path(struct store *s) { return s->path; }
const char *store_cache_dir(struct store *s) { return s->cache; }

void store_unit_uid(struct store *s, const char *name, char uid[33])
{
	uint8_t mac[32];

	crypto_hmac(s->master + 32, "unit", 4, name, strlen(name), mac);
	hex_encode(mac, 16, uid);
}

static void unit_derive(struct store_unit *u)
{
	uint8_t gear[32];

	crypto_derive(u->key, "data", u->data_key);
	crypto_derive(u->key, "id", u->id_key);
	crypto_derive(u->key, "gear", gear);
	chunker_init(&u->data_chunker, gear, &chunker_data_params);
	chunker_init(&u->meta_chunker, gear, &chunker_meta_params);
	crypto_wipe(gear, sizeof(gear));
}

struct unit_key_check {
	struct store_unit *u;
	const char *keyname;
	struct buf *body;
};

/* The unit key's seal opens under the master key (else it is read again,
 * or from an older version: backend_get_verified). */
static int unit_key_verify(void *ctx, const uint8_t *data, size_t len, struct error *err)
{
	struct unit_key_check *kc = ctx;

	if (kc->body->data)
		crypto_wipe(kc->body->data, kc->body->len);
	buf_reset(kc->body);
	if (seal_open(kc->u->s->master, SEAL_UNIT_KEY, data, len, kc->keyname, kc->body, err) < 0) {
		if (err->code != ERROR_VERSION)
			err->code = ERROR_CORRUPT;
		return -1;
	}
	return 0;
}

static int unit_read_key(struct store_unit *u, const char *keyname, struct error *err)
{
	struct buf raw, body;
	struct unit_key_check kc = { u, keyname, &body };
	size_t namelen;
	int ret = -1;

	buf_init(&raw, 1 << 16);
	buf_init(&body, 1 << 16);
	if (backend_get_verified(u->s->be, keyname, &raw, 1 << 16, unit_key_verify, &kc, err) < 0)
		goto out;
	namelen = body.len >= 34 ? get_u16(body.data + 32) : 0;
	if (body.len < 34 || body.len != 34 + namelen) {
		error_setk(err, ERROR_CORRUPT, "%s is malformed", keyname);
		goto out;
	}
	memcpy(u->key, body.data, 32);
	if (u->name == NULL)
		u->name = xstrndup((const char *)body.data + 34, namelen);
	ret = 0;
out:
	if (body.data)
		crypto_wipe(body.data, body.len);
	buf_clear(&raw);
	buf_clear(&body);
	return ret;
}

static int unit_create_key(struct store_unit *u, const char *keyname, struct error *err)
{
	struct buf body, sealed;
	size_t namelen = strlen(u->name);
	int ret;

	buf_init(&body, 0);
	buf_init(&sealed, 0);
	crypto_random(u->key, 32);
	buf_add(&body, u->key, 32);
	buf_add_u16(&body, (uint16_t)namelen);
	buf_add(&body, u->name, namelen);
	seal_object(u->s->master, SEAL_UNIT_KEY, body.data, body.len, &sealed);
	crypto_wipe(body.data, body.len);
	ret = backend_put(u->s->be, keyname, sealed.data, sealed.len, err);
	buf_clear(&body);
	buf_clear(&sealed);
	/* Another backup may have created it first: use theirs. */
	if (ret < 0 && err->code == ERROR_EXISTS)
		return unit_read_key(u, keyname, err);
	return ret;
}

int store_unit_name_check(const char *name, struct error *err)
{
	if (*name == '\0' || strlen(name) > UNIT_NAME_MAX || strchr(name, '@') != NULL)
		return error_setk(err, ERROR_USAGE, "bad unit name \"%.64s\" (1 to %d bytes, no '@')",
				  name, UNIT_NAME_MAX);
	return 0;
}

/* Whether a unit without a key was destroyed (docs/format.md 11): 1 with
 * ERROR_NOTFOUND "unit NAME was destroyed on DATE" in err; its name is
 * never taken again (a new key would bring its uid back). 0 if not, -1 if
 * its record cannot be read. */
static int unit_destroyed_error(struct store *s, const char *uid, const char *name,
				struct error *err)
{
	struct store_destroyed d;
	char date[40];
	int r = store_destroyed_uid(s, uid, &d, err);

	if (r <= 0)
		return r;
	backend_lock_date(d.time, date, sizeof(date));
	store_destroyed_clear(&d);
	error_setk(err, ERROR_NOTFOUND, "unit %s was destroyed on %s (its key units/%s/key was "
		   "erased: nothing of it can be decrypted)", name, date, uid);
	return 1;
}

struct store_unit *store_unit_open(struct store *s, const char *name, int create,
				   struct error *err)
{
	struct store_unit *u;
	char *keyname;
	int ret, destroyed;

	if (store_unit_name_check(name, err) < 0)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	u->s = s;
	u->name = xstrdup(name);
	store_unit_uid(s, name, u->uid);
	keyname = store_unit_path(u, "key");
	ret = unit_read_key(u, keyname, err);
	if (ret < 0 && err->code == ERROR_NOTFOUND &&
	    (destroyed = unit_destroyed_error(s, u->uid, name, err)) != 0)
		ret = -1;
	else if (ret < 0 && err->code == ERROR_NOTFOUND) {
		if (create)
			ret = unit_create_key(u, keyname, err);
		else
			error_setk(err, ERROR_NOTFOUND, "no protection unit named \"%s\" in store %s",
				   name, s->path);
	}
	free(keyname);
	if (ret < 0) {
		store_unit_close(&u);
		return NULL;
	}
	unit_derive(u);
	return u;
}

void store_unit_close(struct store_unit **up)
{
	struct store_unit *u = *up;

	if (u == NULL)
		return;
	crypto_wipe(u->key, sizeof(u->key));
	crypto_wipe(u->data_key, sizeof(u->data_key));
	crypto_wipe(u->id_key, sizeof(u->id_key));
	free(u->name);
	free(u->cache);
	free(u);
	*up = NULL;
}

struct name_list {
	struct store *s;
	char **names;
	size_t n;
	struct error *err;
};

static int collect_unit(void *ctx, const char *uid)
{
	struct name_list *l = ctx;
	struct store_unit u = { .s = l->s };
	char *keyname = xasprintf("units/%s/key", uid);
	struct store_destroyed d;
	int ret = unit_read_key(&u, keyname, l->err);

	free(keyname);
	crypto_wipe(u.key, sizeof(u.key));
	/* A destroyed unit's leftovers (locked objects) are no unit. */
	if (ret < 0 && l->err->code == ERROR_NOTFOUND &&
	    store_destroyed_uid(l->s, uid, &d, &(struct error){ 0 }) == 1) {
		store_destroyed_clear(&d);
		error_init(l->err);
		return 0;
	}
	if (ret < 0)
		return -1;
	l->names = xrealloc(l->names, xmul(l->n + 1, sizeof(char *)));
	l->names[l->n++] = u.name;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_unit_names(struct store *s, char ***names_r, size_t *n_r, struct error *err)
{
	struct name_list l = { .s = s, .err = err };
	size_t i;

	if (backend_list(s->be, "units", collect_unit, &l, err) < 0) {
		for (i = 0; i < l.n; i++)
			free(l.names[i]);
		free(l.names);
		return -1;
	}
	if (l.n > 0)
		qsort(l.names, l.n, sizeof(char *), name_cmp);
	*names_r = l.names;
	*n_r = l.n;
	return 0;
}

struct store *store_unit_store(struct store_unit *u) { return u->s; }
const char *store_unit_name(struct store_unit *u) { return u->name; }

char *store_unit_path(struct store_unit *u, const char *rel)
{
	return xasprintf("units/%s/%s", u->uid, rel);
}

const char *store_unit_cache(struct store_unit *u, struct error *err)
{
	if (u->cache == NULL) {
		char *dir = fs_join(u->s->cache, u->uid);

		if (fs_mkdir_p(dir, err) < 0) {
			free(dir);
			return NULL;
		}
		u->cache = dir;
	}
	return u->cache;
}

const uint8_t *store_unit_data_key(struct store_unit *u) { return u->data_key; }

struct crypto_mac *store_unit_id_mac(struct store_unit *u) { return crypto_mac_new(u->id_key); }

const struct chunker *store_unit_chunker(struct store_unit *u, int meta)
{
	return meta ? &u->meta_chunker : &u->data_chunker;
}

int store_unit_put_sealed(struct store_unit *u, const char *name, int type, const void *body,
			  size_t len, int level, uint8_t *hash_r, struct error *err)
{
	size_t bound = ZSTD_compressBound(len), zlen;
	struct buf z, sealed;
	int ret;

	buf_init(&z, 0);
	buf_init(&sealed, 0);
	zlen = ZSTD_compress(buf_extend(&z, bound), bound, body, len, level);
	if (ZSTD_isError(zlen))
		abort(); /* only on a bad level or bound: a bug */
	seal_object(u->data_key, (enum seal_type)type, z.data, zlen, &sealed);
	ret = backend_put(u->s->be, name, sealed.data, sealed.len, err);
	if (ret == 0 && hash_r)
		crypto_sha256(sealed.data, sealed.len, hash_r);
	buf_clear(&z);
	buf_clear(&sealed);
	return ret;
}

struct sealed_check {
	struct store_unit *u;
	int type;
	const char *name;
	struct buf *z;
};

/* The object's AEAD seal opens: what came is what was written. */
static int sealed_verify(void *ctx, const uint8_t *data, size_t len, struct error *err)
{
	struct sealed_check *sc = ctx;

	buf_reset(sc->z);
	if (seal_open(sc->u->data_key, (enum seal_type)sc->type, data, len, sc->name, sc->z,
		      err) < 0) {
		if (err->code != ERROR_VERSION)
			err->code = ERROR_CORRUPT;
		return -1;
	}
	return 0;
}

int store_unit_get_sealed(struct store_unit *u, const char *name, int type, size_t max,
			  struct buf *body, uint8_t *hash_r, struct error *err)
{
	struct buf raw, z;
	struct sealed_check sc = { .u = u, .type = type, .name = name, .z = &z };
	unsigned long long size;
	int ret = -1;

	buf_init(&raw, 0);
	buf_init(&z, 0);
	/* A seal that does not open is read again, then from an older
	 * version if the object was overwritten (backend_get_verified). */
	if (backend_get_verified(u->s->be, name, &raw, max, sealed_verify, &sc, err) < 0)
		goto out;
	size = ZSTD_getFrameContentSize(z.data, z.len);
	buf_reset(body);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max ||
	    ZSTD_decompress(buf_extend(body, size), size, z.data, z.len) != size) {
		error_setk(err, ERROR_CORRUPT, "%s: bad compressed body", name);
		goto out;
	}
	if (hash_r)
		crypto_sha256(raw.data, raw.len, hash_r);
	ret = 0;
out:
	buf_clear(&raw);
	buf_clear(&z);
	return ret;
}
