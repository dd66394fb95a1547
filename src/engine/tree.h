#ifndef COFFER_TREE_H
#define COFFER_TREE_H

/* The metadata stream of a restore point: writing it (chunked into
 * metadata blobs, with a multi-level id list for very large units) and
 * reading it back entry by entry. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;
struct index;
struct meta_entry;
struct pack_reader;
struct rp;
struct blob_writer;
struct store_unit;

/* Fetches blob `id` of the unit through the index into out (replacing its
 * contents). With verify, checks the content against the id. */
int blob_fetch(struct store_unit *u, const struct index *ix, struct pack_reader *pr,
	       const uint8_t id[32], int verify, struct buf *out, struct error *err);

struct tree_writer;
struct tree_writer *tree_writer_open(struct blob_writer *s, struct store_unit *u);
void tree_writer_close(struct tree_writer **tw);
int tree_writer_add(struct tree_writer *tw, const struct meta_entry *e, struct error *err);
/* Stores what is left and fills rp->meta / rp->nmeta / rp->levels. Packs
 * are flushed; the caller writes the index afterwards. */
int tree_writer_finish(struct tree_writer *tw, struct rp *rp, struct error *err);

struct tree_reader;
struct tree_reader *tree_reader_open(struct store_unit *u, const struct index *ix,
				     const struct rp *rp, struct error *err);
void tree_reader_close(struct tree_reader **tr);
/* 1 and an entry (owned by the reader, valid until the next call), 0 at the
 * end, -1 on error (naming the restore point and the blob). */
int tree_reader_next(struct tree_reader *tr, struct meta_entry **e_r, struct error *err);

/* Withholds what es covers (docs/privacy.md 2) from then on: with mark 0
 * each such entry is skipped (a folder with all it holds) and counted in
 * es; with mark 1 it is given, and tree_reader_withheld() names the
 * request withholding it, so a restore can leave that path alone (the
 * caller counts what it withheld: erasure_set_note). es stays the
 * caller's and must outlive the reader's use. */
struct erasure_set;
void tree_reader_withhold(struct tree_reader *tr, struct erasure_set *es, int mark);
/* The request withholding the entry last given, or NULL. */
const char *tree_reader_withheld(const struct tree_reader *tr);
/* The ids of every metadata blob of rp, list levels included (for check
 * and prune); caller frees. */
int tree_meta_blobs(struct store_unit *u, const struct index *ix, const struct rp *rp,
		    uint8_t (**ids_r)[32], size_t *n_r, struct error *err);



struct store;
/* Resolves "UNIT", "UNIT@latest" or "UNIT@N" to an opened unit and its
 * restore point (the caller destroys both). */
int tree_resolve(struct store *s, const char *spec, struct store_unit **u_r, struct rp **rp_r,
		 struct error *err);
#endif
