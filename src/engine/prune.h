#ifndef COFFER_PRUNE_H
#define COFFER_PRUNE_H

/* Reclaims space in two phases without any lock (docs/prune.md). Phase 1
 * writes a plan naming packs no restore point references; phase 2, on a
 * later run once the plan is older than the grace period and no backup
 * writer is open, re-checks each planned pack, writes an index without
 * it and deletes it. A backup running meanwhile never loses data.
 * Packs that restore points use only in part are repacked: their blobs in
 * use are copied into new packs, within a budget, and the old packs leave
 * the index, to be planned and swept like any unused pack. */

#include <stdint.h>

struct error;
struct store;

struct prune_opts {
	int64_t grace_seconds;   /* negative: the default, 3600; 0: none */
	int64_t writer_timeout; /* a writer older than this is dead; <= 0: 86400 */
	int dry_run;
	/* Repacking (docs/prune.md "Repacking"): a pack whose live share (the
	 * stored bytes of its blobs in use over all its blobs' bytes) is below
	 * repack_below percent is rewritten; 0: the default, 50; negative: no
	 * repacking. Per unit and run, at most max_repack bytes of blobs are
	 * copied, or max_repack_pct percent of the unit's indexed bytes when
	 * max_repack is 0 (0 too: the default, 10 %, at least 16 MiB). */
	int repack_below;
	uint64_t max_repack;
	int max_repack_pct;
};

struct prune_result {
	uint64_t planned_packs, deleted_packs, deleted_bytes, kept_packs, deferred_plans;
	uint64_t deleted_segments;
	uint64_t skipped_units;       /* a restore point could not be read: not pruned */
	uint64_t reindexed_packs;     /* unindexed packs holding referenced blobs */
	uint64_t partial_packs;       /* packs with both used and unused blobs, left as they are */
	uint64_t partial_waste_bytes; /* stored bytes of the unused blobs in them: the waste left */
	uint64_t repacked_packs;      /* partly used packs rewritten (dry run: would be) */
	uint64_t repack_written_bytes; /* bytes of the new packs */
	uint64_t repack_freed_bytes;  /* the old packs' bytes less the new ones': freed by a sweep */
	uint64_t repack_locked_packs; /* partly used packs the server still locks: not repacked */
	uint64_t repack_budget_packs; /* below the threshold but over the run's budget: left */
	uint64_t repack_deferred_units; /* a writer started meanwhile: repack undone, old packs kept */
	uint64_t deleted_markers;    /* ended or timed-out writer markers removed */
	uint64_t deleted_temporaries; /* uploads interrupted longer ago than the timeout */
	uint64_t locked_packs;       /* unused packs the server still locks: left, planned again */
	uint64_t locked_segments;    /* superseded segments the server still locks: left */
};

/* Unless o->dry_run, s must be opened with BACKEND_ALLOW_DELETE (else
 * ERROR_USAGE) and unlocked with store_unlock_deletion() (else ERROR_KEY):
 * the store key alone cannot delete. Before a sweep deletes packs of a
 * unit it writes a record into the unit's deletion log (docs/format.md
 * 10), which prune itself never deletes. A dry run needs neither. */
int prune_run(struct store *s, const struct prune_opts *o, struct prune_result *res,
	      struct error *err);

#endif
