#ifndef COFFER_DELETION_H
#define COFFER_DELETION_H

/* The deletion log of a unit (docs/format.md 10): before the deletion path
 * deletes anything — forget before a tombstone, prune before it deletes
 * packs — it writes a sealed, write-once record signed by the store's
 * deletion key. The service imports the records into its audit log; check
 * verifies them; prune never deletes them. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store_unit;

struct store_deletion {
	char *name;      /* "<20 digits: time ns>-<16 hex>", the record's name in the log */
	int64_t time_ns; /* when (ns since the epoch, UTC) */
	char *action;    /* "forget", "prune" or "erase" */
	char *tool;      /* "cli", or what store_set_actor() said ("service") */
	char *host;
	uint32_t *seqs;  /* forget: the points forgotten */
	size_t nseqs;
	uint64_t packs, bytes; /* prune: packs deleted and their bytes */
	char *unit;      /* the unit's name, as recorded */
	uint8_t signature[64];
	int has_signature;
	struct store_erasure *erase; /* action "erase": what it withholds; else NULL */
};

/* What an erasure record withholds (docs/format.md 10.1, docs/privacy.md
 * 2): file entries whose content key (SHA-256 over the concatenated ids of
 * their extents: the message key of a mailbox point) is in `keys`, in any
 * restore point; and entries whose path or an ancestor's matches one of
 * `patterns` (fnmatch, FNM_PATHNAME) in points taken at or before
 * `cutoff` (Unix seconds). */
struct store_erasure {
	char *request;         /* the erasure request's id ("e-…") */
	int64_t cutoff;
	uint8_t (*keys)[32];
	size_t nkeys;
	char **patterns;
	size_t npatterns;
};

/* Writes a record of `action` at time_ns into the unit's log: the forgotten
 * points (seqs) or the packs and bytes about to be deleted. Needs the store
 * unlocked with its deletion key (ERROR_KEY), which signs it. */
int store_deletion_record(struct store_unit *u, const char *action, int64_t time_ns,
			  const uint32_t *seqs, size_t nseqs, uint64_t packs, uint64_t bytes,
			  struct error *err);

/* Names of the unit's records, sorted (by time); the caller frees each and
 * the array. Names that are not records are skipped. */
int store_deletions_list(struct store_unit *u, char ***names_r, size_t *n_r, struct error *err);

/* The erasure ledger of a unit (units/<uid>/erasures/, docs/format.md
 * 10.1): records of action "erase", written, listed and read like the
 * deletion log's, in a folder of their own so a reader lists only them.
 * Writing needs the deletion key, which signs it. */
int store_erasure_record(struct store_unit *u, int64_t time_ns, const struct store_erasure *what,
			 struct error *err);
int store_erasures_list(struct store_unit *u, char ***names_r, size_t *n_r, struct error *err);
int store_erasure_read(struct store_unit *u, const char *name, struct store_deletion **d_r,
		       struct error *err);
void store_erasure_clear(struct store_erasure *x);

/* Reads, authenticates and parses record `name` of the unit; checks that
 * it belongs to the unit and to its name (time), and that the deletion
 * key's signature verifies. ERROR_NOTFOUND if there is no such record,
 * ERROR_CORRUPT naming it if anything is wrong (a record without a valid
 * signature was not written by coffer's deletion path), ERROR_VERSION if
 * newer. The caller frees *d_r with store_deletion_free(). */
int store_deletion_read(struct store_unit *u, const char *name, struct store_deletion **d_r,
			struct error *err);

void store_deletion_free(struct store_deletion **d);

/* Parses a decrypted record body (JSON; also the fuzzer's entry): name is
 * left NULL; `what` names it in errors. */
int store_deletion_parse(const uint8_t *data, size_t len, const char *what,
			 struct store_deletion **d_r, struct error *err);

#endif
