#include "point_reader.h"

#include <stdlib.h>

#include "engine/tree.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

struct point_reader {
	struct store_unit *u;
	struct rp *rp;
	struct index *ix;
};

int point_reader_open(struct store *s, const char *spec, struct point_reader **pr_r,
		      struct error *err)
{
	struct point_reader *pr = xcalloc(1, sizeof(*pr));

	if (tree_resolve(s, spec, &pr->u, &pr->rp, err) < 0 ||
	    (pr->ix = index_open(pr->u, err)) == NULL) {
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
