#include "point_reader.h"

#include <stdlib.h>
#include <string.h>

#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

struct point_reader {
	struct store_unit *u;
	struct rp *rp;
	struct index *ix;
	struct pack_reader *packs; /* made by the first point_reader_content */
	struct erasure_set *es;
};

int point_reader_open(struct store *s, const char *spec, struct point_reader **pr_r,
		      struct error *err)
{
	struct point_reader *pr = xcalloc(1, sizeof(*pr));

	if (tree_resolve(s, spec, &pr->u, &pr->rp, err) < 0 ||
	    (pr->ix = index_open(pr->u, err)) == NULL || erasure_set_load(pr->u, &pr->es, err) < 0) {
		point_reader_close(&pr);
		return -1;
	}
	*pr_r = pr;
	return 0;
}

void point_reader_close(struct point_reader **prp)
{
	struct point_reader *pr = *prp;

	if (pr == NULL)
		return;
	pack_reader_close(&pr->packs);
	erasure_set_free(&pr->es);
	index_close(&pr->ix);
	rp_free(&pr->rp);
	store_unit_close(&pr->u);
	free(pr);
	*prp = NULL;
}

struct store_unit *point_reader_unit(struct point_reader *pr)
{
	return pr->u;
}

const struct index *point_reader_index(struct point_reader *pr)
{
	return pr->ix;
}

const struct rp *point_reader_rp(struct point_reader *pr)
{
	return pr->rp;
}

struct tree_reader *point_reader_tree(struct point_reader *pr, int mark, struct error *err)
{
	struct tree_reader *tr = tree_reader_open(pr->u, pr->ix, pr->rp, err);

	if (tr != NULL)
		tree_reader_withhold(tr, pr->es, mark);
	return tr;
}

struct erasure_set *point_reader_erasures(struct point_reader *pr)
{
	return pr->es;
}

int point_reader_content(struct point_reader *pr, const struct meta_entry *e,
			 point_content_cb *cb, void *ctx, struct error *err)
{
	static const uint8_t hole[32];
	struct buf blob;
	int ret = 0;

	if (pr->packs == NULL)
		pr->packs = pack_reader_open(pr->u);
	buf_init(&blob, 0);
	for (size_t i = 0; ret == 0 && i < e->nextents; i++) {
		const struct meta_extent *x = &e->extents[i];

		if (memcmp(x->id, hole, sizeof(hole)) == 0) {
			uint8_t zeros[4096];
			uint32_t left = x->len;

			memset(zeros, 0, sizeof(zeros));
			while (ret == 0 && left > 0) {
				uint32_t n = left < sizeof(zeros) ? left : (uint32_t)sizeof(zeros);

				ret = cb(ctx, zeros, n, err);
				left -= n;
			}
			continue;
		}
		buf_reset(&blob);
		ret = blob_fetch(pr->u, pr->ix, pr->packs, x->id, 1, &blob, err);
		if (ret == 0 && blob.len != x->len)
			ret = error_setk(err, ERROR_CORRUPT, "%s: a blob of %zu bytes where %u were stored",
					 e->path, blob.len, x->len);
		if (ret == 0)
			ret = cb(ctx, blob.data, blob.len, err);
	}
	buf_clear(&blob);
	return ret < 0 ? -1 : 0;
}

uint32_t point_reader_live_before(struct store *s, const char *unit, uint32_t seq)
{
	struct store_unit *u;
	struct error err;
	uint32_t *seqs = NULL, parent = 0;
	size_t n = 0, i;

	error_init(&err);
	u = store_unit_open(s, unit, 0, &err);
	if (u != NULL && rp_list(u, &seqs, &n, &err) == 0)
		for (i = 0; i < n; i++)
			if (seqs[i] < seq && seqs[i] > parent)
				parent = seqs[i];
	free(seqs);
	store_unit_close(&u);
	return parent;
}
