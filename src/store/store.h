#ifndef COFFER_STORE_H
#define COFFER_STORE_H

/* An opened store and its protection units (docs/format.md). A store holds
 * the backend, the unlocked master key and the cache folder; a unit holds
 * its derived keys and chunkers. Both are opaque. */

#include <stddef.h>
#include <stdint.h>

/* The units' deletion logs (store_deletions_list(), store_deletion_read()),
 * part of the store's API for its callers. */
#include "store/deletion.h"

struct backend;
struct buf;
struct chunker;
struct crypto_mac;
struct error;
struct keysource;
struct store;
struct store_unit;

#define STORE_FORMAT 1

/* Creates a new store at `path` (a missing or empty folder, or an S3 spec
 * as backend_open() takes: docs/s3.md) with one key slot for `src`. */
int store_init(const char *path, const struct keysource *src, struct error *err);

/* Object Lock of a new S3 store (docs/s3.md): every object is written with
 * a retain-until date lock_days after its PUT, in lock_mode
 * (BACKEND_LOCK_COMPLIANCE or BACKEND_LOCK_GOVERNANCE). Recorded in the
 * store's config, so every client writes the same way. */
struct store_init_opts {
	int lock_mode;      /* 0: BACKEND_LOCK_COMPLIANCE */
	unsigned lock_days; /* 0: STORE_LOCK_DAYS_DEFAULT */
};
#define STORE_LOCK_DAYS_DEFAULT 30
#define STORE_LOCK_DAYS_MAX 36500

/* store_init() with options (NULL: the defaults). On S3 the bucket must
 * have Object Lock enabled or not exist (then it is created with it);
 * ERROR_USAGE otherwise, and for lock options on a local folder. */
int store_init_opts(const char *path, const struct keysource *src,
		    const struct store_init_opts *o, struct error *err);

/* Opens and unlocks a store. flags: BACKEND_ALLOW_DELETE for forget and
 * prune, which also need store_unlock_deletion().
 * COFFER_FAULTS in the environment wraps the backend with injected faults
 * (tests). cache_dir NULL picks the default. */
struct store *store_open(const char *path, const struct keysource *src, int flags,
			 const char *cache_dir, struct error *err);
void store_close(struct store **s);

/* --- key slots (docs/format.md 3.1) ---------------------------------------
 * Any slot unlocks the store; each wraps the same master key under a
 * passphrase or a key file. Adding needs the store key (any slot);
 * removing also needs the deletion key, as every other deletion does. */

/* Adds a key slot so `src` also unlocks the store; its id (16 hex digits)
 * in id_r (17 bytes) unless NULL. */
int store_add_key(struct store *s, const struct keysource *src, char *id_r, struct error *err);

struct store_keyslot {
	char id[17];  /* keys/<id> */
	int kdf;      /* KEYSLOT_ARGON2ID (passphrase), KEYSLOT_KEYFILE; 0: unreadable */
	int in_use;   /* the slot that unlocked this handle */
};
/* The store's key slots (the caller frees *slots_r). */
int store_key_list(struct store *s, struct store_keyslot **slots_r, size_t *n_r,
		   struct error *err);
/* Removes key slot `id`: ERROR_KEY without store_unlock_deletion(),
 * ERROR_NOTFOUND for no such slot, ERROR_USAGE when no other readable slot
 * would be left; the handle must have been opened with
 * BACKEND_ALLOW_DELETE (on S3, a slot under Object Lock stays until its
 * lock lapses: the backend's error says so). */
int store_remove_key(struct store *s, const char *id, struct error *err);

/* --- the deletion key (docs/format.md 9) ---------------------------------
 * The store key reads and adds; forgetting and pruning also need the
 * deletion key, an Ed25519 key pair whose secret lives in a file of its own
 * and whose public half is the store object "deletion-key". */

/* Creates a deletion key pair: the secret (the seed in hex) goes to the new
 * file key_file (mode 0600, O_EXCL: an existing file is refused), the
 * public key into the store (written once, listing the tombstones that
 * exist now as older than the key). ERROR_EXISTS if the store has a
 * deletion key already (no file is written then). */
int store_deletion_key_create(struct store *s, const char *key_file, struct error *err);
/* The same with the pair made from `seed` (NULL: random), and key_file
 * NULL to write no file: for the service, which derives every tenant's
 * seed from its own key so that all of its nodes hold it (docs/service.md
 * "Keys"). */
int store_deletion_key_create_seed(struct store *s, const char *key_file,
				   const uint8_t seed[32], struct error *err);

/* Unlocks deletion on this handle with the secret in key_file: ERROR_NOTFOUND
 * if the store has no deletion key, ERROR_KEY if the file cannot be read or
 * holds another key. On success rp_forget() and prune_run() may delete
 * through s (if it was also opened with BACKEND_ALLOW_DELETE); the secret
 * is wiped by store_close(). */
int store_unlock_deletion(struct store *s, const char *key_file, struct error *err);
/* The same with the secret seed itself; `from` names its origin in errors. */
int store_unlock_deletion_seed(struct store *s, const uint8_t seed[32], const char *from,
			       struct error *err);

/* Whether store_unlock_deletion() succeeded on s. */
int store_deletion_unlocked(struct store *s);

/* The store's deletion public key (read once, then cached): 0;
 * ERROR_NOTFOUND if the store has none; ERROR_CORRUPT or ERROR_VERSION if
 * its object is damaged or newer. */
int store_deletion_public(struct store *s, uint8_t pk[32], struct error *err);

/* Signs msg with the unlocked deletion key; ERROR_KEY if s is not
 * unlocked. */
int store_deletion_sign(struct store *s, const void *msg, size_t len, uint8_t sig[64],
			struct error *err);

/* 0 if sig is the store's deletion key's signature of msg; ERROR_NOTFOUND
 * if the store has no deletion key; ERROR_CORRUPT if it does not verify. */
int store_deletion_verify(struct store *s, const void *msg, size_t len, const uint8_t sig[64],
			  struct error *err);

/* 1 if the tombstone object `name` ("units/<uid>/forgotten/<10 digits>")
 * whose stored bytes hash to `hash` existed when the deletion key was
 * added (so it may be unsigned), else 0. */
int store_deletion_predates_key(struct store *s, const char *name, const uint8_t hash[32]);

/* The parsed "deletion-key" object. */
struct store_deletion_pub {
	uint8_t public_key[32];
	char **tombstones;     /* "units/<uid>/forgotten/<10 digits>", sorted */
	uint8_t (*hashes)[32]; /* SHA-256 of each one's stored bytes */
	size_t ntombstones;
};

/* Parses a "deletion-key" object (also the fuzzer's entry); `what` names
 * it in errors. ERROR_CORRUPT if malformed, ERROR_VERSION if newer. */
int store_deletion_pub_parse(const uint8_t *data, size_t len, const char *what,
			     struct store_deletion_pub *k, struct error *err);
void store_deletion_pub_clear(struct store_deletion_pub *k);

/* Who deletes, as written in deletion records (docs/format.md 10):
 * "cli" unless the caller says otherwise (the service: "service"). The
 * string is copied; set it before the handle is shared between threads. */
void store_set_actor(struct store *s, const char *tool);
const char *store_actor(struct store *s);

/* The store id: 32 hex characters from its config. */
const char *store_id(struct store *s);

struct backend *store_backend(struct store *s);
const char *store_path(struct store *s);
/* The cache folder of this store: CACHE/<store id>. */
const char *store_cache_dir(struct store *s);

/* Whether `name` may name a unit: 1 to 1024 bytes, no '@' (it separates
 * the unit from the number in "UNIT@N"). 0; -1 and ERROR_USAGE naming it
 * otherwise. store_unit_open() checks it; callers that take names from
 * users check it first to refuse them early with the same words. */
int store_unit_name_check(const char *name, struct error *err);

/* Opens unit `name`; with `create`, creates its key if it has none. */
struct store_unit *store_unit_open(struct store *s, const char *name, int create,
				   struct error *err);
void store_unit_close(struct store_unit **u);

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


/* --- destroying a unit (docs/format.md 11, docs/privacy.md 5) ----------
 * Crypto-shredding: the unit's key goes, so nothing of it decrypts again;
 * its other objects are then deleted as locks allow. A signed plaintext
 * record "destroyed/<uid>" says so, readable without any unit key. */

/* The unit's uid (docs/format.md 1) from its name. */
void store_unit_uid(struct store *s, const char *name, char uid[33]);

/* What a destruction record says. */
struct store_destroyed {
	int64_t time;            /* Unix seconds: written, right before the key went */
	uint64_t restore_points; /* what the unit held then: rp objects, */
	uint64_t objects, bytes; /* all its objects (the key too) and their bytes */
	char *host, *tool;
};
void store_destroyed_clear(struct store_destroyed *d);

/* Whether unit `name` was destroyed: 1 with *d filled (the caller clears
 * it) when its record exists and the deletion key's signature verifies; 0
 * if there is no record; -1 with ERROR_CORRUPT naming it if the record is
 * damaged or its signature does not verify. */
int store_unit_destroyed(struct store *s, const char *name, struct store_destroyed *d,
			 struct error *err);
/* Parses a destruction record's text (also the fuzzer's entry) for unit
 * `uid` into *d and its signature into sig (unverified); `what` names it.
 * ERROR_CORRUPT if malformed or of another uid, ERROR_VERSION if newer. On
 * success the caller clears *d; on failure *d is cleared. */
int store_destroyed_parse(const char *text, size_t len, const char *uid, const char *what,
			  struct store_destroyed *d, uint8_t sig[64], struct error *err);
/* The same by uid (32 hex), for listings that see uids only. */
int store_destroyed_uid(struct store *s, const char *uid, struct store_destroyed *d,
			struct error *err);

struct store_destroy_result {
	struct store_destroyed rec; /* the record (written now, or found) */
	uint64_t deleted, deleted_bytes; /* objects deleted by this call */
	uint64_t locked;       /* objects left because a lock refuses their deletion */
	int64_t locked_until;  /* the latest retain-until date among them (0: none or
				* a legal hold) */
};

/* Destroys unit `name` on s, opened with BACKEND_ALLOW_DELETE and unlocked
 * with the deletion key (ERROR_KEY otherwise): writes destroyed/<uid>
 * (signed), deletes units/<uid>/key (every version of it), then every
 * other object of the unit, and its cache folder. A lock on the key
 * refuses the whole: ERROR_LOCKED saying until when, nothing written. Run
 * again it finishes what is left (the record is kept). ERROR_NOTFOUND for
 * a unit that has neither key nor record. res is filled on success; the
 * caller clears res->rec. */
int store_unit_destroy(struct store *s, const char *name, int64_t now,
		       struct store_destroy_result *res, struct error *err);

#endif
