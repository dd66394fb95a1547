#ifndef COFFER_COMPACT_H
#define COFFER_COMPACT_H

/* Physical removal of erased data (docs/prune.md "Compaction",
 * docs/privacy.md 3): per unit with erasure records, the packs that hold
 * blobs only withheld entries use are rewritten without them: the other
 * blobs they hold that a restore point still needs are copied into new
 * packs, a new index segment lists them, and once no other writer is open
 * the old packs are deleted, after a record in the unit's deletion log.
 * Never on a store with Object Lock: there the data goes when the locks
 * lapse and prune runs. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store;

struct compact_opts {
	const char *const *units; /* the units to compact; NULL: every unit */
	size_t nunits;
	int64_t writer_timeout;   /* a writer older than this is dead; <= 0: 86400 */
	int dry_run;              /* say what would go; write and delete nothing */
};

struct compact_unit_result {
	char *unit;
	uint64_t erased_blobs;    /* blobs only withheld entries use */
	uint64_t packs_rewritten; /* old packs deleted (dry run: that would be) */
	uint64_t blobs_dropped;   /* blobs in them not copied: erased or unused */
	uint64_t blobs_copied;    /* blobs still in use, copied into new packs */
	uint64_t new_packs;
	uint64_t bytes_freed;     /* old packs' bytes minus the new packs' */
	int deferred;             /* another writer was open or started: nothing deleted */
	int skipped;              /* a restore point could not be read: not compacted */
};

struct compact_result {
	struct compact_unit_result *units; /* one per unit with erasure records */
	size_t n;
};

/* Unless o->dry_run, s must be opened with BACKEND_ALLOW_DELETE (else
 * ERROR_USAGE) and unlocked with store_unlock_deletion() (else ERROR_KEY). A
 * store with Object Lock is refused (ERROR_LOCKED): its objects cannot be
 * rewritten early. One unit's failure does not stop the others; the first
 * error is returned. res is filled either way; free it with
 * compact_result_clear(). */
int compact_run(struct store *s, const struct compact_opts *o, struct compact_result *res,
		struct error *err);
void compact_result_clear(struct compact_result *res);

#endif
