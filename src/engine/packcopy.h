#ifndef COFFER_PACKCOPY_H
#define COFFER_PACKCOPY_H

/* Copying the blobs still needed out of packs that are about to go, into
 * new packs and one new index segment: the part that prune's repacking
 * and erasure compaction share (docs/prune.md "Repacking" and
 * "Compaction"). The callers decide which packs go and when; this module
 * only adds objects (packs first, then the segment that lists them, after
 * they are durable), so a crash at any point leaves the old packs, still
 * indexed, serving every blob. */

#include <stddef.h>
#include <stdint.h>

#include "engine/idset.h"

struct backend;
struct error;
struct index;
struct pack_entry;
struct store_unit;

/* A pack that goes, with its trailer (both borrowed). */
struct packcopy_src {
	const uint8_t *id;
	const struct pack_entry *t;
	size_t nt;
};

/* The blobs of the sources that must be copied: those in `keep` that no
 * index entry of a pack outside `src_ids` (the sources' ids, sorted)
 * lists. Fills *copy_r (sorted; the caller clears it) and adds to
 * *dropped_r the distinct blobs of the sources that are not in `keep`. */
void packcopy_plan(const struct index *ix, const struct packcopy_src *src, size_t n,
		   const struct idset *src_ids, const struct idset *keep, struct idset *copy_r,
		   uint64_t *dropped_r);

struct packcopy_result {
	uint64_t blobs;        /* blobs copied */
	uint64_t new_packs;
	struct idset packs;    /* the new packs' ids (sorted); the caller clears it */
};

/* Copies every blob of `copy` that the sources hold: each is read from its
 * old pack, decrypted and checked against its id, and sealed anew in a new
 * pack of its type (a new pack key, fresh nonces: nothing sealed is
 * reused); then one index segment lists the new packs, written after they
 * are durable. A blob of `copy` no source holds is not copied. */
int packcopy_run(struct store_unit *u, struct backend *be, const struct packcopy_src *src,
		 size_t n, const struct idset *copy, struct packcopy_result *r, struct error *err);

#endif
