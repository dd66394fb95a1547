#include "blobrefs.h"

#include <stdlib.h>

#include "engine/meta.h"
#include "engine/tree.h"
#include "store/rp.h"

static int walk_point(struct store_unit *u, const struct index *ix, struct erasure_set *es,
		      uint32_t seq, const struct blobrefs_ops *ops, void *ctx, struct error *err)
{
	struct tree_reader *tr = NULL;
	uint8_t (*meta)[32] = NULL;
	struct meta_entry *e;
	struct rp *rp = NULL;
	size_t n, i;
	int r = -1;

	if (rp_read_manifest(u, seq, &rp, err) < 0 ||
	    tree_meta_blobs(u, ix, rp, &meta, &n, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		ops->blob(ctx, seq, meta[i], NULL, 0);
	tr = tree_reader_open(u, ix, rp, err);
	if (tr == NULL)
		goto out;
	if (es != NULL)
		tree_reader_withhold(tr, es, 1);
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		int withheld = es != NULL && tree_reader_withheld(tr) != NULL;

		for (i = 0; i < e->nextents; i++)
			ops->blob(ctx, seq, e->extents[i].id, e, withheld);
	}
	if (r == 0 && ops->point_done)
		ops->point_done(ctx, seq);
out:
	tree_reader_close(&tr);
	free(meta);
	rp_free(&rp);
	return r < 0 ? -1 : 0;
}

int blobrefs_walk(struct store_unit *u, const struct index *ix, struct erasure_set *es,
		  const struct blobrefs_ops *ops, void *ctx, struct error *err)
{
	struct rp_slot *slots = NULL;
	size_t n, i;
	int ret;

	ret = rp_list_all(u, &slots, &n, err);
	for (i = 0; ret == 0 && i < n; i++)
		if (slots[i].manifest)
			ret = walk_point(u, ix, es, slots[i].seq, ops, ctx, err);
	free(slots);
	return ret;
}
