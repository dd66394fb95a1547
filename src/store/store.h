#ifndef COFFER_STORE_H
#define COFFER_STORE_H

/* An opened store and its protection units (docs/format.md). A store holds
 * the backend, the unlocked master key and the cache folder; a unit holds
 * its derived keys and chunkers. Both are opaque. */

#include <stddef.h>
#include <stdint.h>

struct backend;
struct buf;
struct chunker;
struct crypto_mac;
struct error;
struct keysource;
struct store;
struct store_unit;

#define STORE_FORMAT 1

/* Creates a new store at `path` (a missing or empty folder) with one key
 * slot for `src`. */
int store_init(const char *path, const struct keysource *src, struct error *err);

/* Opens and unlocks a store. flags: BACKEND_ALLOW_DELETE for prune only.
 * COFFER_FAULTS in the environment wraps the backend with injected faults
 * (tests). cache_dir NULL picks the default. */
struct store *store_open(const char *path, const struct keysource *src, int flags,
			 const char *cache_dir, struct error *err);
void store_destroy(struct store **s);

/* Adds a key slot so `src` also unlocks the store. */
int store_add_key(struct store *s, const struct keysource *src, struct error *err);

struct backend *store_backend(struct store *s);
const char *store_path(struct store *s);
/* The cache folder of this store: CACHE/<store id>. */
const char *store_cache_dir(struct store *s);

/* Opens unit `name`; with `create`, creates its key if it has none. */
struct store_unit *store_unit_open(struct store *s, const char *name, int create,
				   struct error *err);
void store_unit_destroy(struct store_unit **u);

/* Names of all units, sorted; the caller frees each and the array. */
int store_unit_names(struct store *s, char ***names_r, size_t *n_r, struct error *err);

struct store *store_unit_store(struct store_unit *u);
const char *store_unit_name(struct store_unit *u);
/* "units/<uid>/" + rel, caller frees. */
char *store_unit_path(struct store_unit *u, const char *rel);
/* The unit's local cache folder (created on demand), owned by the unit. */
const char *store_unit_cache(struct store_unit *u, struct error *err);
const uint8_t *store_unit_data_key(struct store_unit *u);

/* Small objects of a unit (index segments, restore points): zstd-compressed,
 * then sealed under the unit's data key (docs/format.md 3.2). put stores
 * `body` as `name` (put-if-absent); get reads it back into `body`, refusing
 * more than `max` bytes. Both give the SHA-256 of the stored object in
 * hash_r when it is not NULL. `type` is an enum seal_type. */
int store_unit_put_sealed(struct store_unit *u, const char *name, int type, const void *body,
			  size_t len, int level, uint8_t *hash_r, struct error *err);
int store_unit_get_sealed(struct store_unit *u, const char *name, int type, size_t max,
			  struct buf *body, uint8_t *hash_r, struct error *err);
/* A new keyed-id state for one thread; the caller destroys it. */
struct crypto_mac *store_unit_id_mac(struct store_unit *u);
const struct chunker *store_unit_chunker(struct store_unit *u, int meta);

#endif
