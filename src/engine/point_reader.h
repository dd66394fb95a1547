#ifndef COFFER_POINT_READER_H
#define COFFER_POINT_READER_H

/* A restore point opened for reading, for the restore side of a source:
 * the unit, its manifest and its index held together, so a source reads
 * the point's tree (tree_reader_open) and content (blob_fetch, or its own
 * layout's reader) without touching the store's types. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct erasure_set;
struct index;
struct meta_entry;
struct rp;
struct store;
struct store_unit;
struct tree_reader;

struct point_reader;

/* Opens "UNIT", "UNIT@latest" or "UNIT@N" (tree_resolve) and the unit's
 * index. -1 and err when the unit, the point or the index cannot be read. */
int point_reader_open(struct store *s, const char *spec, struct point_reader **pr_r,
		      struct error *err);
/* Accepts NULL. */
void point_reader_close(struct point_reader **pr);

/* Owned by the reader. */
struct store_unit *point_reader_unit(struct point_reader *pr);
const struct index *point_reader_index(struct point_reader *pr);
const struct rp *point_reader_rp(struct point_reader *pr);

/* A reader of the point's tree (tree.h) that withholds what the unit's
 * erasure ledger covers, loaded at open (tree_reader_withhold: mark 0
 * skips, mark 1 gives them marked). Every reader of content for a user
 * goes through this, not tree_reader_open. NULL and err on failure. */
struct tree_reader *point_reader_tree(struct point_reader *pr, int mark, struct error *err);
/* The unit's erasure set: what the point's readers withheld so far. */
struct erasure_set *point_reader_erasures(struct point_reader *pr);

/* The content of file entry e of the point, told to cb in pieces (a blob
 * at a time; holes as zeros), each blob verified. -1 and err when a blob
 * cannot be read or cb fails. */
typedef int point_content_cb(void *ctx, const void *data, size_t len, struct error *err);
int point_reader_content(struct point_reader *pr, const struct meta_entry *e,
			 point_content_cb *cb, void *ctx, struct error *err);

/* The number of unit's latest live point before point `seq` (forgotten
 * ones skipped); 0 when there is none or the unit's points cannot be
 * listed. */
uint32_t point_reader_live_before(struct store *s, const char *unit, uint32_t seq);

#endif
