#ifndef COFFER_INDEX_H
#define COFFER_INDEX_H

/* The blob index of one unit: immutable sorted segments (docs/format.md
 * section 6), each decrypted once into the local cache and memory-mapped, so
 * a lookup is a binary search per segment and the index is never loaded
 * whole. New segments are built with an index_builder. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct pack_entry;
struct store_unit;

#define INDEX_MERGE_AT 8
#define INDEX_MERGE_GROWTH 2

struct index;
struct index *index_open(struct store_unit *u, struct error *err);
void index_close(struct index **ix);

/* Told about a segment that index_open_tolerant() leaves out, with why. */
typedef void index_skip_cb(void *ctx, const char *name, const struct error *err);
/* Like index_open(), but a segment that cannot be fetched, authenticated or
 * parsed is reported to `skip` and left out instead of failing the open;
 * its blobs then look missing (and segments it superseded count as live
 * again). For check and restore, which report what they cannot read; never
 * for backup or prune, which must not act on a partial index. Fails only
 * when the segments cannot be listed. */
struct index *index_open_tolerant(struct store_unit *u, index_skip_cb *skip, void *ctx,
				  struct error *err);

/* 1 and fills *e_r and *pack_r (a pointer into the mapping) if the blob is
 * indexed, else 0. */
int index_lookup(const struct index *ix, const uint8_t id[32], struct pack_entry *e_r,
		 const uint8_t **pack_r);
size_t index_segment_count(const struct index *ix);
uint64_t index_entry_count(const struct index *ix);

/* Calls cb for every entry of every live segment; stops at -1. */
typedef int index_foreach_cb(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e);
int index_foreach(const struct index *ix, index_foreach_cb *cb, void *ctx);

/* Calls cb with the id of every segment object, live or superseded. */
typedef int index_segment_cb(void *ctx, const char *name, int superseded);
int index_foreach_segment(const struct index *ix, index_segment_cb *cb, void *ctx);

struct index_builder;
struct index_builder *index_builder_new(void);
void index_builder_free(struct index_builder **b);
void index_builder_add_pack(struct index_builder *b, const uint8_t pack_id[32],
			    const struct pack_entry *entries, size_t n);
size_t index_builder_count(const struct index_builder *b);
/* Writes the collected entries as a new segment (to the store and the
 * cache) and empties the builder. A no-op when it is empty. */
int index_builder_write(struct index_builder *b, struct store_unit *u, struct error *err);

/* When the unit has more than INDEX_MERGE_AT live segments, writes one
 * segment that holds the entries of the smallest ones and supersedes them
 * (size-tiered: docs/format.md 6.1). Readers see every blob at every
 * moment: the old segments stay until prune deletes them. */
int index_merge(struct index *ix, struct store_unit *u, struct error *err);

/* Whether index_rewrite() keeps the entries of a pack (1) or drops them (0). */
typedef int index_keep_cb(void *ctx, const uint8_t pack_id[32]);

/* Writes one segment holding every entry of the live segments whose pack
 * `keep` accepts (every entry when keep is NULL), listing all those segments
 * as superseded; written even when no entry is kept, so the old segments
 * are superseded (prune drops packs this way, docs/prune.md). `ix` is not
 * updated: open the index again to see the new segment. */
int index_rewrite(struct index *ix, struct store_unit *u, index_keep_cb *keep, void *ctx,
		  struct error *err);

/* Recreates the unit's index from the packs' trailers alone: one new
 * segment listing every blob of every readable pack and superseding every
 * existing segment, damaged ones included. A pack whose trailer cannot be
 * read is reported to bad_pack and left out. */
int index_rebuild(struct store_unit *u, index_skip_cb *bad_pack, void *ctx, uint64_t *packs_r,
		  uint64_t *blobs_r, struct error *err);

/* Parses a decrypted segment body; for the fuzzer and the cache check.
 * Returns 0 if well formed. */
int index_parse_body(const uint8_t *data, size_t len, const char *what, struct error *err);

#endif
