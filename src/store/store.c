#include "store.h"

#include <dirent.h>
#include <errno.h>
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
#include "store/backend.h"
#include "store/chunker.h"

#define UNIT_NAME_MAX 1024

struct store {
	struct backend *be;
	char *path;
	char *cache;
	char id[33];
	uint8_t master[MASTER_KEY_LEN];
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

static int store_write_config(const char *path, const char *id, struct error *err)
{
	char *cfg = xasprintf("coffer-store\nformat %d\nid %s\n", STORE_FORMAT, id);
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

static int store_write_slot(struct backend *be, const uint8_t *master,
			    const struct keysource *src, struct error *err)
{
	uint8_t slot[KEYSLOT_LEN], rnd[8];
	char name[6 + 17];

	if (keyslot_create(master, src, slot, err) < 0)
		return -1;
	crypto_random(rnd, sizeof(rnd));
	memcpy(name, "keys/", 5);
	hex_encode(rnd, sizeof(rnd), name + 5);
	return backend_put(be, name, slot, sizeof(slot), err);
}

int store_init(const char *path, const struct keysource *src, struct error *err)
{
	uint8_t master[MASTER_KEY_LEN], rid[16];
	char id[33];
	struct backend *be;
	int ret;

	if (!store_dir_is_empty(path))
		return error_setk(err, ERROR_EXISTS, "cannot create a store in %s: folder is not empty",
				  path);
	if (fs_mkdir_p(path, err) < 0)
		return -1;
	crypto_random(rid, sizeof(rid));
	hex_encode(rid, sizeof(rid), id);
	crypto_random(master, sizeof(master));
	be = backend_local_create(path, 0);
	ret = store_write_slot(be, master, src, err);
	/* config last: a store without config is visibly unfinished. */
	if (ret == 0)
		ret = store_write_config(path, id, err);
	crypto_wipe(master, sizeof(master));
	backend_destroy(&be);
	return ret;
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
	return 0;
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

	s->path = xstrdup(path);
	s->be = backend_local_create(path, flags);
	buf_init(&cfg, 4096);
	if (backend_get(s->be, "config", &cfg, 4096, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			error_setk(err, ERROR_NOTFOUND, "%s is not a coffer store (no config); "
				   "create one with `coffer init`", path);
		goto fail;
	}
	if (store_parse_config(s, &cfg, err) < 0 || store_unlock(s, src, err) < 0)
		goto fail;
	if (faults && *faults) {
		struct backend *f = backend_fault_create(s->be, faults, err);

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
	store_destroy(&s);
	return NULL;
}

void store_destroy(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	backend_destroy(&s->be);
	crypto_wipe(s->master, sizeof(s->master));
	free(s->path);
	free(s->cache);
	free(s);
	*sp = NULL;
}

int store_add_key(struct store *s, const struct keysource *src, struct error *err)
{
	return store_write_slot(s->be, s->master, src, err);
}

struct backend *store_backend(struct store *s) { return s->be; }
const char *store_path(struct store *s) { return s->path; }
const char *store_cache_dir(struct store *s) { return s->cache; }

static void store_uid(struct store *s, const char *name, char uid[33])
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

static int unit_read_key(struct store_unit *u, const char *keyname, struct error *err)
{
	struct buf raw, body;
	size_t namelen;
	int ret = -1;

	buf_init(&raw, 1 << 16);
	buf_init(&body, 1 << 16);
	if (backend_get(u->s->be, keyname, &raw, 1 << 16, err) < 0)
		goto out;
	if (seal_open(u->s->master, SEAL_UNIT_KEY, raw.data, raw.len, keyname, &body, err) < 0)
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

struct store_unit *store_unit_open(struct store *s, const char *name, int create,
				   struct error *err)
{
	struct store_unit *u;
	char *keyname;
	int ret;

	if (*name == '\0' || strlen(name) > UNIT_NAME_MAX || strchr(name, '@') != NULL) {
		error_setk(err, ERROR_USAGE, "bad unit name \"%s\" (1 to %d bytes, no '@')", name,
			   UNIT_NAME_MAX);
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->s = s;
	u->name = xstrdup(name);
	store_uid(s, name, u->uid);
	keyname = store_unit_path(u, "key");
	ret = unit_read_key(u, keyname, err);
	if (ret < 0 && err->code == ERROR_NOTFOUND) {
		if (create)
			ret = unit_create_key(u, keyname, err);
		else
			error_setk(err, ERROR_NOTFOUND, "no protection unit named \"%s\" in store %s",
				   name, s->path);
	}
	free(keyname);
	if (ret < 0) {
		store_unit_destroy(&u);
		return NULL;
	}
	unit_derive(u);
	return u;
}

void store_unit_destroy(struct store_unit **up)
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
	int ret = unit_read_key(&u, keyname, l->err);

	free(keyname);
	crypto_wipe(u.key, sizeof(u.key));
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

struct crypto_mac *store_unit_id_mac(struct store_unit *u) { return crypto_mac_create(u->id_key); }

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

int store_unit_get_sealed(struct store_unit *u, const char *name, int type, size_t max,
			  struct buf *body, uint8_t *hash_r, struct error *err)
{
	struct buf raw, z;
	unsigned long long size;
	int ret = -1;

	buf_init(&raw, 0);
	buf_init(&z, 0);
	if (backend_get(u->s->be, name, &raw, max, err) < 0 ||
	    seal_open(u->data_key, (enum seal_type)type, raw.data, raw.len, name, &z, err) < 0)
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
