#ifndef COFFER_RP_H
#define COFFER_RP_H

/* Restore points: immutable, sealed JSON manifests numbered per unit and
 * chained by the hash of their predecessor (docs/format.md section 7).
 * A forgotten (expired) point is replaced by a tombstone that keeps its
 * place in the chain (section 7.1). */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store_unit;

struct rp_stats {
	uint64_t files, dirs, bytes;
	uint64_t new_blobs, new_bytes, stored_bytes, incompressible_bytes;
};

struct rp {
	char *unit;
	uint32_t seq;
	uint8_t parent[32];
	int has_parent;
	int64_t time_ns;
	char *host;
	char *source;
	char *source_state;  /* optional: the source's own summary of its state
				(e.g. a mailbox's folder states), so an unchanged
				source can be recognised without reading the tree */
	/* Retention, Unix seconds, 0 = none (docs/format.md 7), fixed when
	 * the point is taken: until keep_until nothing forgets it; until
	 * retain_until only the thinning rule (a later live point in the same
	 * ISO week) may; after it, it may be forgotten. */
	int64_t keep_until, retain_until;
	uint8_t (*meta)[32]; /* metadata blob ids of the top level */
	size_t nmeta;
	uint32_t levels;
	struct rp_stats stats;
	char **warnings;
	size_t nwarnings;
	uint8_t hash[32]; /* SHA-256 of the stored object (set when read or written) */
};

void rp_free(struct rp **rp);
void rp_add_warning(struct rp *rp, const char *msg);
/* Sets rp->keep_until and rp->retain_until to rp->time_ns (in seconds)
 * plus keep_s and retain_s, saturated; 0 (none) for a value <= 0. Call
 * after setting time_ns. */
void rp_set_retention(struct rp *rp, int64_t keep_s, int64_t retain_s);

/* rp_spec_parse() flags: also take "UNIT" and "UNIT@latest", for the
 * unit's newest point. */
#define RP_SPEC_LATEST 1

/* A restore point as a person names it, "UNIT@N": the unit's name (checked
 * by store_unit_name_check()) and its number N, 1 to 4294967295, in
 * lib/parse's grammar. With RP_SPEC_LATEST, "UNIT" and "UNIT@latest" give
 * *seq_r 0 (the newest). The one parser of such names, for the CLI and
 * for restore sessions alike. *unit_r is the caller's to free. -1 and
 * ERROR_USAGE naming the spec (or the unit name) otherwise. */
int rp_spec_parse(const char *spec, int flags, char **unit_r, uint32_t *seq_r,
		  struct error *err);

/* Numbers of the unit's live restore points (a manifest and no
 * tombstone), ascending; caller frees. */
int rp_list(struct store_unit *u, uint32_t **seqs_r, size_t *n_r, struct error *err);

/* One number of a unit's chain: what exists for it. Live: manifest and not
 * forgotten. Forgotten with a manifest: a forget that has not finished
 * deleting it (the next rp_forget of it or prune does). */
struct rp_slot {
	uint32_t seq;
	unsigned manifest : 1;  /* rp/<seq> exists */
	unsigned forgotten : 1; /* forgotten/<seq> (a tombstone) exists */
};

/* Every number that has a manifest or a tombstone, ascending; caller
 * frees. */
int rp_list_all(struct store_unit *u, struct rp_slot **slots_r, size_t *n_r,
		struct error *err);

/* Reads point `seq`; checks its number and unit name against its place.
 * A forgotten point fails with ERROR_NOTFOUND and a message saying when it
 * was forgotten. */
int rp_read(struct store_unit *u, uint32_t seq, struct rp **rp_r, struct error *err);

/* Reads the manifest of point `seq` even if the point has a tombstone
 * (a forget not finished, or a tombstone the deletion key did not sign):
 * prune keeps the data of every manifest that exists. */
int rp_read_manifest(struct store_unit *u, uint32_t seq, struct rp **rp_r, struct error *err);

/* Writes rp as the unit's next point: sets seq and parent from the current
 * latest, live or forgotten; if another writer took that number first,
 * retries after it. */
int rp_write(struct store_unit *u, struct rp *rp, struct error *err);

/* What a tombstone keeps of a forgotten point. */
struct rp_tombstone {
	char *unit;
	uint32_t seq;
	uint8_t hash[32]; /* SHA-256 of the forgotten manifest: the next point's parent */
	uint8_t parent[32];
	int has_parent;
	int64_t time_ns;      /* the point's own time */
	int64_t forgotten_ns; /* when it was forgotten */
	uint8_t signature[64]; /* by the deletion key (docs/format.md 7.1) */
	int has_signature;
	uint8_t object_hash[32]; /* SHA-256 of the stored object (set by rp_tombstone_read) */
};

void rp_tombstone_free(struct rp_tombstone **t);

/* Reads the tombstone of point `seq`: ERROR_NOTFOUND if it has none,
 * ERROR_CORRUPT if it is damaged or claims another place. */
int rp_tombstone_read(struct store_unit *u, uint32_t seq, struct rp_tombstone **t_r,
		      struct error *err);

/* Checks the deletion key's signature of tombstone t (read by
 * rp_tombstone_read): 0 if it verifies, or if t is unsigned but listed as
 * older than the key (docs/format.md 9); ERROR_NOTFOUND if the store has
 * no deletion key (nothing to check against); ERROR_CORRUPT naming the
 * tombstone if it is unsigned or the signature is wrong. */
int rp_tombstone_verify(struct store_unit *u, const struct rp_tombstone *t, struct error *err);

/* Forgets point `seq` (expiry, docs/format.md 7.1): checks the point's
 * retention, writes a deletion record (docs/format.md 10), then its signed
 * tombstone durably, then deletes its manifest. Needs a store opened with
 * BACKEND_ALLOW_DELETE (else ERROR_USAGE) and unlocked with
 * store_unlock_deletion() (else ERROR_KEY). Refuses with ERROR_LOCKED the
 * unit's newest live point, a point before its keepUntil, a point
 * before its retainUntil that no later live point of the same ISO week
 * replaces, and a point whose manifest the server still locks (S3 Object
 * Lock; nothing written). A manifest DELETE refused as locked after the
 * tombstone is ERROR_LOCKED too, saying the point is forgotten and its
 * manifest stays. Idempotent: forgetting a forgotten point finishes what an
 * interrupted forget left (no retention check then: the tombstone was
 * allowed) — if its tombstone verifies (rp_tombstone_verify): a manifest
 * beside a tombstone written with the store key alone is kept
 * (ERROR_CORRUPT). Refuses a point that does not exist or cannot be read
 * (forgetting it would hide the damage). rp_forget_at takes `now_ns` as
 * the time of forgetting, for the retention rules and the records (0: the
 * real clock; the service passes its own). */
int rp_forget(struct store_unit *u, uint32_t seq, struct error *err);
int rp_forget_at(struct store_unit *u, uint32_t seq, int64_t now_ns, struct error *err);
/* rp_forget_at() that also forgets the unit's newest live point once it is
 * past its retainUntil: the service's expiry of a unit whose source is
 * gone (docs/privacy.md 6); every other rule holds. */
int rp_forget_last_at(struct store_unit *u, uint32_t seq, int64_t now_ns, struct error *err);

/* Parses a decrypted manifest body (also the fuzzer's entry). */
int rp_parse(const uint8_t *data, size_t len, const char *what, struct rp **rp_r,
	     struct error *err);
/* Parses a decrypted tombstone body. */
int rp_tombstone_parse(const uint8_t *data, size_t len, const char *what,
		       struct rp_tombstone **t_r, struct error *err);

#endif
