#ifndef COFFER_BLOBREFS_H
#define COFFER_BLOBREFS_H

/* The blobs the restore points of a unit use, as prune's referenced set
 * and compaction's kept and erased sets are built from them: every point
 * with a manifest, live or not (a manifest beside its tombstone may not
 * cost the point its data, docs/prune.md), its metadata blobs and the
 * extents of its entries. */

#include <stdint.h>

struct erasure_set;
struct error;
struct index;
struct meta_entry;
struct store_unit;

struct blobrefs_ops {
	/* One blob of point seq, as stored (a zero id, a hole, included): a
	 * metadata blob (e NULL) or an extent of entry e, whose `withheld`
	 * is set when the walk's erasure set withholds e. */
	void (*blob)(void *ctx, uint32_t seq, const uint8_t id[32], const struct meta_entry *e,
		     int withheld);
	/* After every blob of point seq was given; NULL: not needed. */
	void (*point_done)(void *ctx, uint32_t seq);
};

/* Walks the points of u in ascending order, reading trees through ix;
 * with es (NULL: none) entries it withholds are given flagged. Fails (-1)
 * on the first point any part of which cannot be read, after giving some
 * of its blobs: a caller must not decide anything on a failed walk. */
int blobrefs_walk(struct store_unit *u, const struct index *ix, struct erasure_set *es,
		  const struct blobrefs_ops *ops, void *ctx, struct error *err);

#endif
