#ifndef COFFER_CHECK_H
#define COFFER_CHECK_H

/* Verifies a store: every unit's restore point chain (a removed, altered
 * or out-of-order point is found; when the store has a deletion key, a
 * tombstone it did not sign), the units' deletion logs, that every blob a
 * point references is
 * indexed and its pack exists, and with read_data that every blob decrypts
 * and matches its id. Every problem names the unit, the restore point and,
 * for content, the file. */

#include <stdint.h>

struct error;
struct store;

/* Told about each problem: unit, restore point number (0 if none), path
 * (NULL if none) and what is wrong. */
typedef void check_report_cb(void *ctx, const char *unit, uint32_t seq, const char *path,
			     const char *problem);

struct check_opts {
	int read_data;
	int quiet;
	check_report_cb *report;
	void *ctx;
	/* Told about each warning (not damage): an object that was
	 * overwritten in a versioned bucket and read from the older version
	 * that verifies (docs/s3.md). NULL: not told. Same ctx. */
	check_report_cb *warning;
	/* NULL: every unit; else only this one (a restore drill's). */
	const char *unit;
	/* With read_data and slices > 1: only the packs of slice `slice`
	 * (0..slices-1) are read, a pack being in slice (its id's first 8
	 * bytes, big-endian) mod slices. Every pack is in exactly one slice,
	 * so reading slices 0..slices-1 in turn reads them all (a restore
	 * drill's rotation, docs/service.md "Restore drills"). */
	uint32_t slices, slice;
};

struct check_result {
	uint64_t units, restore_points, packs, blobs, problems;
	uint64_t damaged_points, damaged_files;
	/* Points replaced by tombstones (expired): counted apart from
	 * restore_points, their tombstones checked as links of the chain. */
	uint64_t forgotten_points;
	/* Packs on disk that no index segment lists: leftovers of an
	 * interrupted backup, which prune removes; not a problem. */
	uint64_t unindexed_packs;
	/* Records of the units' deletion logs that verified (docs/format.md
	 * 10); one that does not is a problem. */
	uint64_t deletion_records;
	/* Objects whose newest version did not verify while an older one
	 * did (overwritten; the older one was used): warnings, not problems. */
	uint64_t overwritten;
	/* With read_data: packs read and verified, and their bytes. */
	uint64_t packs_read, bytes_read;
};

/* Whether pack `id` is in slice `slice` of `slices` (see check_opts). */
int check_pack_in_slice(const uint8_t id[32], uint32_t slices, uint32_t slice);

/* 0 when the check ran (problems are counted in the result), -1 when it
 * could not run at all. */
int check_run(struct store *s, const struct check_opts *o, struct check_result *res,
	      struct error *err);

#endif
