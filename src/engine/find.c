/* Finding a lost file across restore points (find.h).
 *
 * Every live point's tree is read once, in order; a point whose metadata
 * tree is the previous one's (a source that saw nothing change reuses it)
 * is not read again. Matches are kept as hits (path, content, point), then
 * sorted by path and point and folded into versions: a run of points
 * holding the path with one content. The content of an entry is a hash of
 * its type, size, extents and link target, so nothing is read but the
 * trees. */
#include "engine/find.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/rp.h"

#define FIND_MAX_HITS 1000000

struct hit {
	char *path;
	uint8_t content[32];
	uint8_t type;
	uint64_t size;
	int64_t mtime_s;
	uint32_t seq;
	int64_t time_ns;
};

struct hits {
	struct hit *v;
	size_t n, cap;
};

static int matches(const struct find_opts *o, const char *path)
{
	const char *subject = path;
	const char *slash = strrchr(path, '/');

	if (strchr(o->pattern, '/') == NULL && slash != NULL)
		subject = slash + 1;
	return fnmatch(o->pattern, subject, o->ignore_case ? FNM_CASEFOLD : 0) == 0;
}

static void content_of(const struct meta_entry *e, uint8_t out[32])
{
	struct buf b;

	buf_init(&b, 0);
	buf_add(&b, &e->type, 1);
	buf_add(&b, &e->size, sizeof(e->size));
	for (size_t i = 0; i < e->nextents; i++) {
		buf_add(&b, e->extents[i].id, 32);
		buf_add(&b, &e->extents[i].len, sizeof(e->extents[i].len));
	}
	if (e->target)
		buf_add(&b, e->target, strlen(e->target));
	crypto_sha256(b.data, b.len, out);
	buf_clear(&b);
}

static int hit_add(struct hits *h, const struct hit *x, struct error *err)
{
	if (h->n == FIND_MAX_HITS)
		return error_setk(err, ERROR_USAGE, "more than %d matches across the restore "
				  "points: narrow the pattern", FIND_MAX_HITS);
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, xmul(h->cap, sizeof(*h->v)));
	}
	h->v[h->n] = *x;
	h->v[h->n].path = xstrdup(x->path);
	h->n++;
	return 0;
}

/* The matches of one point's tree. */
static int point_hits(struct store_unit *u, const struct index *ix, const struct rp *rp,
		      const struct find_opts *o, struct erasure_set *es, struct hits *h,
		      struct error *err)
{
	struct tree_reader *tr = tree_reader_open(u, ix, rp, err);
	struct meta_entry *e;
	struct hit x;
	int r;

	if (tr == NULL)
		return -1;
	tree_reader_withhold(tr, es, 1);
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		if (*e->path == '\0' || !matches(o, e->path))
			continue;
		if (tree_reader_withheld(tr) != NULL) {
			erasure_set_note(es, tree_reader_withheld(tr));
			continue;
		}
		memset(&x, 0, sizeof(x));
		x.path = e->path;
		content_of(e, x.content);
		x.type = e->type;
		x.size = e->size;
		x.mtime_s = e->mtime_s;
		x.seq = rp->seq;
		x.time_ns = rp->time_ns;
		if (hit_add(h, &x, err) < 0) {
			r = -1;
			break;
		}
	}
	tree_reader_close(&tr);
	return r < 0 ? -1 : 0;
}

/* The previous point's hits again, for a point with the same tree. */
static int repeat_hits(struct hits *h, size_t from, size_t to, const struct rp *rp,
		       struct error *err)
{
	for (size_t i = from; i < to; i++) {
		struct hit x = h->v[i];

		x.seq = rp->seq;
		x.time_ns = rp->time_ns;
		if (hit_add(h, &x, err) < 0)
			return -1;
	}
	return 0;
}

static int same_tree(const struct rp *a, const struct rp *b)
{
	return a && b && a->nmeta == b->nmeta && a->levels == b->levels &&
	       memcmp(a->meta, b->meta, a->nmeta * 32) == 0;
}

static int hit_cmp(const void *pa, const void *pb)
{
	const struct hit *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Runs of one path with one content become versions. */
static int fold(struct hits *h, const struct find_opts *o, struct find_result *res,
		struct error *err)
{
	size_t max = o->max_versions ? o->max_versions : FIND_MAX_VERSIONS, cap = 0;
	struct find_version *v = NULL;

	if (h->n > 0)
		qsort(h->v, h->n, sizeof(*h->v), hit_cmp);
	for (size_t i = 0; i < h->n; i++) {
		const struct hit *x = &h->v[i];
		int same_path = v && strcmp(v->path, x->path) == 0;

		if (same_path && memcmp(h->v[i - 1].content, x->content, 32) == 0) {
			v->last_seq = x->seq;
			v->last_time_ns = x->time_ns;
			v->npoints++;
			continue;
		}
		if (res->n == max)
			return error_setk(err, ERROR_USAGE, "more than %zu versions match '%s': "
					  "narrow the pattern", max, o->pattern);
		if (res->n == cap) {
			cap = cap ? cap * 2 : 16;
			res->v = xrealloc(res->v, xmul(cap, sizeof(*res->v)));
		}
		v = &res->v[res->n++];
		memset(v, 0, sizeof(*v));
		v->version = same_path ? v[-1].version + 1 : 1;
		v->path = xstrdup(x->path);
		v->type = x->type;
		v->size = x->size;
		v->mtime_s = x->mtime_s;
		v->first_seq = v->last_seq = x->seq;
		v->first_time_ns = v->last_time_ns = x->time_ns;
		v->npoints = 1;
	}
	return 0;
}

static void hits_clear(struct hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].path);
	free(h->v);
}

int find_run(struct store_unit *u, const struct find_opts *o, struct find_result *res,
	     struct error *err)
{
	struct rp *prev = NULL, *rp = NULL;
	struct erasure_set *es = NULL;
	struct hits h = { 0 };
	struct index *ix = NULL;
	uint32_t *seqs = NULL;
	size_t nseq = 0, prev_from = 0, prev_to = 0, from;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (o->pattern == NULL || *o->pattern == '\0')
		return error_setk(err, ERROR_USAGE, "find needs a name pattern");
	if (rp_list(u, &seqs, &nseq, err) < 0 || (ix = index_open(u, err)) == NULL ||
	    erasure_set_load(u, &es, err) < 0)
		goto out;
	for (size_t i = 0; i < nseq; i++) {
		if (rp_read(u, seqs[i], &rp, err) < 0)
			goto out;
		from = h.n;
		if (same_tree(prev, rp) ? repeat_hits(&h, prev_from, prev_to, rp, err) < 0
					: point_hits(u, ix, rp, o, es, &h, err) < 0)
			goto out;
		prev_from = from;
		prev_to = h.n;
		rp_free(&prev);
		prev = rp;
		rp = NULL;
	}
	res->points = nseq;
	ret = fold(&h, o, res, err);
	res->withheld = erasure_set_withheld(es);
	res->withheld_by = erasure_set_report_text(es);
out:
	erasure_set_free(&es);
	if (ret < 0)
		find_result_clear(res);
	rp_free(&rp);
	rp_free(&prev);
	hits_clear(&h);
	index_close(&ix);
	free(seqs);
	return ret;
}

void find_result_clear(struct find_result *res)
{
	for (size_t i = 0; i < res->n; i++)
		free(res->v[i].path);
	free(res->v);
	free(res->withheld_by);
	memset(res, 0, sizeof(*res));
}
