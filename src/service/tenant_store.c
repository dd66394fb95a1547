/* Where each tenant's store lives and what unlocks it (docs/service.md
 * "Locations" and "Keys").
 *
 * A location is a named place in the config: a folder or an S3 bucket
 * (prefix). A tenant is created in one location, the catalog keeps the
 * location's name, and its store is LOCATION/<tenant id>: nothing of the
 * tenant is written anywhere else. The implicit location "local" is
 * DATA/stores.
 *
 * Keys: every node of a service must open every tenant's store, so a
 * tenant's store key and deletion key are derived from the service key
 * (the one secret copied to each node) rather than kept in files that only
 * the creating node has. A tenant made before that keeps its key files in
 * DATA/keys; they win when present. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/backend.h"
#include "store/store.h"

#define KEY_FILE_MAX 4096
#define LOCATION_NAME_MAX 32

/* ---- configuration: location.NAME = SPEC, location.NAME.object_lock ---- */

static int location_name_check(const char *name, size_t len, struct error *err)
{
	if (len == 0 || len > LOCATION_NAME_MAX)
		return error_setk(err, ERROR_USAGE, "location name '%.*s' must have 1 to %d "
				  "characters", (int)len, name, LOCATION_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-' || name[i] == '_'))
			return error_setk(err, ERROR_USAGE, "location name '%.*s': only a-z, 0-9, "
					  "'-' and '_'", (int)len, name);
	return 0;
}

static struct svc_location *location_slot(struct svc_config *cfg, const char *name, size_t len,
					  const char *(*keep)(const char *),
					  struct error *err)
{
	char *copy;

	for (size_t i = 0; i < cfg->nlocations; i++)
		if (strlen(cfg->locations[i].name) == len &&
		    memcmp(cfg->locations[i].name, name, len) == 0)
			return &cfg->locations[i];
	if (cfg->nlocations == SVC_LOCATIONS_MAX) {
		error_setk(err, ERROR_USAGE, "more than %d locations", SVC_LOCATIONS_MAX);
		return NULL;
	}
	copy = xstrndup(name, len);
	cfg->locations[cfg->nlocations].name = keep(copy);
	free(copy);
	return &cfg->locations[cfg->nlocations++];
}

static int object_lock_parse(const char *key, const char *value, struct svc_location *l,
			     struct error *err)
{
	const char *sp = strchr(value, ' ');
	int64_t days = STORE_LOCK_DAYS_DEFAULT;
	size_t mlen = sp ? (size_t)(sp - value) : strlen(value);

	if (mlen == 10 && strncmp(value, "compliance", mlen) == 0)
		l->lock_mode = BACKEND_LOCK_COMPLIANCE;
	else if (mlen == 10 && strncmp(value, "governance", mlen) == 0)
		l->lock_mode = BACKEND_LOCK_GOVERNANCE;
	else
		return error_setk(err, ERROR_USAGE, "setting '%s': '%s' is not 'compliance DAYS' or "
				  "'governance DAYS'", key, value);
	while (sp && *sp == ' ')
		sp++;
	if (sp && *sp && parse_int(sp, 1, STORE_LOCK_DAYS_MAX, &days) < 0)
		return error_setk(err, ERROR_USAGE, "setting '%s': '%s' is not a number of days "
				  "from 1 to %d", key, sp, STORE_LOCK_DAYS_MAX);
	l->lock_days = (unsigned)days;
	return 0;
}

int svc_config_location(struct svc_config *cfg, const char *key, const char *value,
			const char *(*keep)(const char *), struct error *err)
{
	const char *name = key + strlen("location."), *dot = strchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);
	struct svc_location *l;

	if (location_name_check(name, len, err) < 0)
		return -1;
	if (dot && strcmp(dot, ".object_lock") != 0)
		return error_setk(err, ERROR_USAGE, "unknown setting '%s'", key);
	if ((l = location_slot(cfg, name, len, keep, err)) == NULL)
		return -1;
	if (dot)
		return object_lock_parse(key, value, l, err);
	if (backend_spec_check(value, err) < 0)
		return error_prefix(err, "setting '%s'", key);
	if (!backend_spec_is_url(value) && value[0] != '/')
		return error_setk(err, ERROR_USAGE, "setting '%s': '%s' is neither an absolute "
				  "folder nor an s3:// URL", key, value);
	l->spec = keep(value);
	return 0;
}

int svc_config_check_locations(const struct svc_config *cfg, struct error *err)
{
	int found = cfg->default_location == NULL ||
		    strcmp(cfg->default_location, SVC_LOCATION_LOCAL) == 0;

	for (size_t i = 0; i < cfg->nlocations; i++) {
		const struct svc_location *l = &cfg->locations[i];

		if (l->spec == NULL)
			return error_setk(err, ERROR_USAGE, "location '%s' has settings but no "
					  "'location.%s = FOLDER|s3://...'", l->name, l->name);
		if (l->lock_mode && !backend_spec_is_url(l->spec))
			return error_setk(err, ERROR_USAGE, "location '%s': object_lock needs an S3 "
					  "location, and %s is a folder", l->name, l->spec);
		if (cfg->default_location && strcmp(l->name, cfg->default_location) == 0)
			found = 1;
	}
	if (!found)
		return error_setk(err, ERROR_USAGE, "default_location '%s' is not a configured "
				  "location", cfg->default_location);
	return 0;
}

/* ---- resolving a tenant's store ---- */

/* The location named `name`; "local" is DATA/stores unless configured. */
static int location_get(struct service *s, const char *name, struct svc_location *l_r,
			struct error *err)
{
	const struct svc_config *cfg = svc_cfg(s);

	for (size_t i = 0; i < cfg->nlocations; i++)
		if (strcmp(cfg->locations[i].name, name) == 0) {
			*l_r = cfg->locations[i];
			return 0;
		}
	if (strcmp(name, SVC_LOCATION_LOCAL) == 0) {
		memset(l_r, 0, sizeof(*l_r));
		l_r->name = SVC_LOCATION_LOCAL;
		return 0;
	}
	return error_setk(err, ERROR_USAGE, "location '%s' is not in this node's config "
			  "(location.%s = ...); every node needs the same locations", name, name);
}

/* SPEC/<tenant>: an S3 spec's settings (after '?') stay at the end. */
static char *spec_join(struct service *s, const struct svc_location *l, const char *tenant)
{
	const char *q;

	if (l->spec == NULL)
		return xasprintf("%s/stores/%s", svc_cfg(s)->data_dir, tenant);
	q = strchr(l->spec, '?');
	if (q == NULL)
		return xasprintf("%s%s%s", l->spec, l->spec[strlen(l->spec) - 1] == '/' ? "" : "/",
				 tenant);
	return xasprintf("%.*s%s%s%s", (int)(q - l->spec), l->spec, q[-1] == '/' ? "" : "/",
			 tenant, q);
}

const char *svc_tenant_location_name(const struct catalog_tenant *t)
{
	/* Before locations, the column held the store's folder. */
	return t->store == NULL || t->store[0] == '/' ? SVC_LOCATION_LOCAL : t->store;
}

/* `where`: a location name, or the folder of a tenant made before them. */
static char *spec_for(struct service *s, const char *tenant, const char *where,
		      struct error *err)
{
	struct svc_location l;

	if (where && where[0] == '/')
		return xstrdup(where);
	if (location_get(s, where ? where : SVC_LOCATION_LOCAL, &l, err) < 0)
		return NULL;
	return spec_join(s, &l, tenant);
}

char *svc_tenant_store_spec(struct service *s, const struct catalog_tenant *t, struct error *err)
{
	return spec_for(s, t->id, t->store, err);
}

/* The folder if the spec is one, else NULL; frees spec. */
static char *folder_of(char *spec)
{
	if (spec && backend_spec_is_url(spec)) {
		free(spec);
		return NULL;
	}
	return spec;
}

char *svc_tenant_store_folder(struct service *s, const struct catalog_tenant *t)
{
	struct error ignore;

	error_init(&ignore);
	return folder_of(svc_tenant_store_spec(s, t, &ignore));
}

/* ---- keys ---- */

static int tenant_id_check(const char *tenant, struct error *err)
{
	/* Ids are made by the catalog; refuse anything that could leave the
	 * data folder. */
	if (tenant == NULL || strncmp(tenant, "t-", 2) != 0 || strchr(tenant, '/') ||
	    strstr(tenant, ".."))
		return error_setk(err, ERROR_USAGE, "'%s' is not a tenant id", tenant ? tenant : "");
	return 0;
}

/* A tenant's derived secrets (docs/service.md "Keys"). */
static void derive_store_secret(const uint8_t service_key[32], const char *tenant,
				char hex[66])
{
	char *label = xasprintf("tenant-store-key %s", tenant);
	uint8_t k[32];

	crypto_derive(service_key, label, k);
	hex_encode(k, sizeof(k), hex);
	hex[64] = '\n';
	hex[65] = '\0';
	crypto_wipe(k, sizeof(k));
	free(label);
}

static void derive_deletion_seed(const uint8_t service_key[32], const char *tenant,
				 uint8_t seed[32])
{
	char *label = xasprintf("tenant-deletion-key %s", tenant);

	crypto_derive(service_key, label, seed);
	free(label);
}

/* The tenant's store secret as a key file would hold it ("HEX\n"): from
 * DATA/keys/<tenant>.key if a node made one before keys were derived,
 * else derived from the service key. */
static int tenant_secret(struct service *s, const char *tenant, struct buf *out,
			 struct error *err)
{
	char *path = xasprintf("%s/keys/%s.key", svc_cfg(s)->data_dir, tenant);
	char hex[66];
	int ret = 0;

	if (access(path, F_OK) == 0) {
		ret = fs_read_file(path, out, KEY_FILE_MAX, err);
		if (ret < 0)
			error_prefix(err, "cannot read the key of tenant %s", tenant);
	} else {
		derive_store_secret(svc_service_key(s), tenant, hex);
		buf_add(out, hex, 65);
		crypto_wipe(hex, sizeof(hex));
	}
	free(path);
	return ret;
}

/* Only a store opened for deletion (expiry) unlocks the tenant's deletion
 * key: DATA/keys/<tenant>.delete.key if an older node made one, else the
 * seed derived from the service key, published into the store at the
 * tenant's first expiry (by whichever node runs it: the same pair). */
static int tenant_unlock_deletion(struct service *s, struct store *st, const char *tenant,
				  struct error *err)
{
	char *path = xasprintf("%s/keys/%s.delete.key", svc_cfg(s)->data_dir, tenant);
	const char *from = "the service key";
	uint8_t seed[32];
	int ret;

	store_set_actor(st, "service");
	derive_deletion_seed(svc_service_key(s), tenant, seed);
	if (access(path, F_OK) == 0) {
		from = path;
		ret = store_unlock_deletion(st, path, err);
	} else {
		ret = store_unlock_deletion_seed(st, seed, from, err);
		if (ret < 0 && err->code == ERROR_NOTFOUND) {
			error_init(err);
			ret = store_deletion_key_create_seed(st, NULL, seed, err);
			if (ret < 0 && err->code == ERROR_EXISTS) { /* another node: same pair */
				error_init(err);
				ret = 0;
			}
			if (ret == 0) {
				log_info("event=tenant.deletion_key tenant=%s", tenant);
				ret = store_unlock_deletion_seed(st, seed, from, err);
			}
		}
	}
	crypto_wipe(seed, sizeof(seed));
	if (ret < 0)
		error_prefix(err, "tenant %s: deletion key from %s", tenant, from);
	free(path);
	return ret;
}

struct store *svc_tenant_store(struct service *s, const char *tenant, int flags,
			       struct error *err)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	struct catalog_tenant *t = NULL;
	struct store *st = NULL;
	struct buf secret;
	char *spec = NULL;

	if (tenant_id_check(tenant, err) < 0 ||
	    catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0 ||
	    (spec = svc_tenant_store_spec(s, t, err)) == NULL) {
		catalog_tenant_free(&t);
		return NULL;
	}
	buf_init(&secret, KEY_FILE_MAX);
	if (tenant_secret(s, tenant, &secret, err) == 0) {
		ks.secret = secret.data;
		ks.len = secret.len;
		st = store_open(spec, &ks, flags, svc_cache_dir(s), err);
		/* A wrong key or a missing store is the tenant's, not the place's. */
		if (st || (err->code != ERROR_KEY && err->code != ERROR_NOTFOUND &&
			   err->code != ERROR_USAGE))
			svc_location_note(s, svc_tenant_location_name(t), st ? NULL : err);
		if (st == NULL)
			error_prefix(err, "tenant %s", tenant);
		else if ((flags & BACKEND_ALLOW_DELETE) && tenant_unlock_deletion(s, st, tenant, err) < 0)
			store_close(&st);
	}
	if (secret.data)
		crypto_wipe(secret.data, secret.len);
	buf_clear(&secret);
	catalog_tenant_free(&t);
	free(spec);
	return st;
}

/* A new store gets its deletion key's public half at once: from its first
 * point on, the store key alone deletes nothing, also by hand. */
static int deletion_key_publish(struct service *s, const char *spec, const struct keysource *ks,
				const char *tenant, struct error *err)
{
	struct store *st = store_open(spec, ks, 0, svc_cache_dir(s), err);
	uint8_t seed[32];
	int ret;

	if (st == NULL)
		return -1;
	derive_deletion_seed(svc_service_key(s), tenant, seed);
	ret = store_deletion_key_create_seed(st, NULL, seed, err);
	crypto_wipe(seed, sizeof(seed));
	store_close(&st);
	return ret;
}

int svc_tenant_store_create(struct service *s, const char *tenant, const char *location,
			    struct error *err)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	struct store_init_opts opts = { 0 };
	struct svc_location l;
	struct buf secret;
	char *spec = NULL;
	int ret = -1;

	buf_init(&secret, KEY_FILE_MAX);
	if (tenant_id_check(tenant, err) < 0 || location_get(s, location, &l, err) < 0 ||
	    (spec = spec_for(s, tenant, location, err)) == NULL ||
	    tenant_secret(s, tenant, &secret, err) < 0)
		goto out;
	ks.secret = secret.data;
	ks.len = secret.len;
	opts.lock_mode = l.lock_mode;
	opts.lock_days = l.lock_days;
	if (!backend_spec_is_url(spec) && fs_mkdir_p(spec, err) < 0)
		goto out;
	ret = store_init_opts(spec, &ks, backend_spec_is_url(spec) ? &opts : NULL, err);
	if (ret == 0)
		ret = deletion_key_publish(s, spec, &ks, tenant, err);
	if (ret == 0)
		log_info("event=tenant.store tenant=%s location=%s", tenant, location);
out:
	if (secret.data)
		crypto_wipe(secret.data, secret.len);
	buf_clear(&secret);
	free(spec);
	return ret;
}

void svc_tenant_store_undo(struct service *s, const char *tenant, const char *location)
{
	struct error ignore;
	char *folder;

	/* An S3 store is left: its objects are locked. A tenant that failed
	 * to be created has no catalog row, so nothing refers to it. */
	error_init(&ignore);
	folder = folder_of(spec_for(s, tenant, location, &ignore));
	if (folder)
		fs_remove_tree(folder, &ignore);
	free(folder);
}

int svc_tenant_keys_write(const struct svc_config *cfg, const char *tenant,
			  const char *key_file, const char *deletion_key_file, struct error *err)
{
	char *path = svc_key_file_path(cfg);
	uint8_t key[32], seed[32];
	char hex[66];
	int ret = -1;

	if (tenant_id_check(tenant, err) < 0 || svc_key_file_read(path, key, err) < 0)
		goto out;
	derive_store_secret(key, tenant, hex);
	if (key_file && fs_write_secret(key_file, hex, 65, err) < 0)
		goto out;
	derive_deletion_seed(key, tenant, seed);
	hex_encode(seed, sizeof(seed), hex);
	hex[64] = '\n';
	if (deletion_key_file && fs_write_secret(deletion_key_file, hex, 65, err) < 0) {
		if (key_file)
			unlink(key_file);
		goto out;
	}
	ret = 0;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(hex, sizeof(hex));
	free(path);
	return ret;
}
