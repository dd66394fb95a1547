/* Lock extension and the object walk behind it and legal hold (locks.h,
 * docs/s3.md). The walk reads what prune's mark phase reads: each live
 * point's manifest, its metadata blobs and its file extents, each resolved
 * to its pack through the unit's index. */
#include "locks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define LOCK_THREADS_MAX 8
#define DAY_S 86400

/* --- a growable list of names ------------------------------------------------ */

struct names {
	char **v;
	size_t n, cap;
};

static void names_push(struct names *l, char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, xmul(l->cap, sizeof(char *)));
	}
	l->v[l->n++] = name;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort_unique(struct names *l)
{
	size_t i, k = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(char *), str_cmp);
	for (i = 0; i < l->n; i++) {
		if (k > 0 && strcmp(l->v[k - 1], l->v[i]) == 0)
			free(l->v[i]);
		else
			l->v[k++] = l->v[i];
	}
	l->n = k;
}

void locks_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* --- the walk ------------------------------------------------------------------ */

struct pack_ids {
	uint8_t (*v)[32];
	size_t n, cap;
};

static void pack_note(struct pack_ids *p, const struct index *ix, const uint8_t blob[32])
{
	static const uint8_t zero[32];
	struct pack_entry e;
	const uint8_t *pack;

	if (memcmp(blob, zero, 32) == 0 || !index_lookup(ix, blob, &e, &pack))
		return; /* a missing blob is check's to report; nothing to lock */
	if (p->n > 0 && memcmp(p->v[p->n - 1], pack, 32) == 0)
		return; /* the common case: the same pack as the blob before */
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->v = xrealloc(p->v, xmul(p->cap, 32));
	}
	memcpy(p->v[p->n++], pack, 32);
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* The packs point `seq` uses, into p. */
static int point_packs(struct store_unit *u, const struct index *ix, uint32_t seq,
		       struct pack_ids *p, struct error *err)
{
	struct tree_reader *tr = NULL;
	uint8_t (*meta)[32] = NULL;
	struct meta_entry *e;
	struct rp *rp = NULL;
	size_t n = 0, i;
	int r = -1;

	if (rp_read_manifest(u, seq, &rp, err) < 0 || tree_meta_blobs(u, ix, rp, &meta, &n, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		pack_note(p, ix, meta[i]);
	tr = tree_reader_open(u, ix, rp, err);
	if (tr == NULL)
		goto out;
	while ((r = tree_reader_next(tr, &e, err)) == 1)
		for (i = 0; i < e->nextents; i++)
			pack_note(p, ix, e->extents[i].id);
out:
	tree_reader_close(&tr);
	free(meta);
	rp_free(&rp);
	return r < 0 ? -1 : 0;
}

struct seg_ctx {
	struct store_unit *u;
	struct names *out;
};

static int note_segment(void *ctx, const char *name, int superseded)
{
	struct seg_ctx *sc = ctx;
	char *rel;

	if (superseded)
		return 0; /* prune deletes it; no point needs it */
	rel = xasprintf("index/%s", name);
	names_push(sc->out, store_unit_path(sc->u, rel));
	free(rel);
	return 0;
}

static void problem(struct names *problems, const char *unit, const struct error *e)
{
	names_push(problems, xasprintf("unit %s: %s", unit, e->msg));
}

/* One unit's objects into out; what cannot be read into problems. */
static void unit_objects(struct store *s, const char *name, struct names *out,
			 struct names *problems)
{
	struct store_unit *u;
	struct index *ix = NULL;
	struct pack_ids packs = { 0 };
	uint32_t *seqs = NULL;
	size_t n = 0, i;
	struct error e;
	char rel[32];

	error_init(&e);
	u = store_unit_open(s, name, 0, &e);
	if (u == NULL) {
		problem(problems, name, &e);
		return;
	}
	names_push(out, store_unit_path(u, "key"));
	ix = index_open(u, &e);
	if (ix == NULL || rp_list(u, &seqs, &n, &e) < 0) {
		problem(problems, name, &e);
		goto out;
	}
	index_foreach_segment(ix, note_segment, &(struct seg_ctx){ .u = u, .out = out });
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "rp/%010u", seqs[i]);
		names_push(out, store_unit_path(u, rel));
		error_init(&e);
		if (point_packs(u, ix, seqs[i], &packs, &e) < 0)
			names_push(problems, xasprintf("restore point %s@%u: %s", name, seqs[i], e.msg));
	}
	if (packs.n > 1)
		qsort(packs.v, packs.n, 32, id_cmp);
	for (i = 0; i < packs.n; i++)
		if (i == 0 || memcmp(packs.v[i], packs.v[i - 1], 32) != 0)
			names_push(out, pack_name(u, packs.v[i]));
out:
	free(packs.v);
	free(seqs);
	index_close(&ix);
	store_unit_close(&u);
}

static int note_key_slot(void *ctx, const char *name)
{
	names_push(ctx, xasprintf("keys/%s", name));
	return 0;
}

int locks_objects(struct store *s, const char *unit, int with_store, char ***names_r,
		  size_t *n_r, char ***problems_r, size_t *nproblems_r, struct error *err)
{
	struct backend *be = store_backend(s);
	struct names out = { 0 }, problems = { 0 };
	char **units = NULL;
	size_t nunits = 0, i;
	uint64_t size;
	struct error e;
	int ret = -1;

	if (unit != NULL) {
		/* A unit that does not exist is the caller's mistake, not a
		 * problem of the walk. */
		struct store_unit *u = store_unit_open(s, unit, 0, err);

		if (u == NULL)
			goto out;
		store_unit_close(&u);
		unit_objects(s, unit, &out, &problems);
	} else {
		if (store_unit_names(s, &units, &nunits, err) < 0)
			goto out;
		for (i = 0; i < nunits; i++)
			unit_objects(s, units[i], &out, &problems);
	}
	if (with_store) {
		names_push(&out, xstrdup("config"));
		error_init(&e);
		if (backend_list(be, "keys", note_key_slot, &out, &e) < 0)
			names_push(&problems, xasprintf("the key slots: %s", e.msg));
		if (backend_size(be, "deletion-key", &size, &e) == 0)
			names_push(&out, xstrdup("deletion-key"));
	}
	names_sort_unique(&out);
	ret = 0;
out:
	locks_names_free(units, nunits);
	if (ret < 0) {
		locks_names_free(out.v, out.n);
		locks_names_free(problems.v, problems.n);
		return -1;
	}
	*names_r = out.v;
	*n_r = out.n;
	*problems_r = problems.v;
	*nproblems_r = problems.n;
	return 0;
}

/* --- extension ------------------------------------------------------------------- */

struct extend_run {
	struct backend *be;
	char **names;
	size_t n, next;
	int64_t below, until;
	int dry_run;
	pthread_mutex_t lock;
	struct lock_extend_result *res;
};

static void failure(struct lock_extend_result *res, char *what)
{
	res->failed++;
	if (res->nfailures < LOCK_EXTEND_FAILURES_MAX)
		res->failures[res->nfailures++] = what;
	else
		free(what);
}

static void *extend_worker(void *arg)
{
	struct extend_run *x = arg;

	for (;;) {
		const char *name;
		int64_t before = 0;
		int extended = 0, ret;
		struct error e;

		pthread_mutex_lock(&x->lock);
		name = x->next < x->n ? x->names[x->next++] : NULL;
		pthread_mutex_unlock(&x->lock);
		if (name == NULL)
			return NULL;
		error_init(&e);
		/* A dry run asks the same question (until 0): every version. */
		ret = backend_retain(x->be, name, x->below, x->dry_run ? 0 : x->until, &before,
				     &extended, &e);
		pthread_mutex_lock(&x->lock);
		if (ret < 0) {
			char *what = backend_describe(x->be, name);

			failure(x->res, xasprintf("%s: %s", what, e.msg));
			free(what);
		} else {
			x->res->checked++;
			x->res->extended += extended != 0;
		}
		pthread_mutex_unlock(&x->lock);
	}
}

int lock_extend(struct store *s, const struct lock_extend_opts *o, struct lock_extend_result *res,
		struct error *err)
{
	struct backend *be = store_backend(s);
	struct extend_run x = { .be = be, .res = res, .dry_run = o->dry_run };
	pthread_t threads[LOCK_THREADS_MAX];
	char **problems = NULL;
	size_t nproblems = 0, nthreads, i;
	int64_t now = o->now > 0 ? o->now : (int64_t)time(NULL), min_remaining, keep;
	unsigned days;

	memset(res, 0, sizeof(*res));
	if (!backend_has_locks(be))
		return 0;
	backend_s3_lock_mode(backend_fault_inner(be), &days);
	res->has_locks = 1;
	min_remaining = o->min_remaining > 0 ? o->min_remaining : (int64_t)days * DAY_S / 3;
	/* At least the lock days, and a third of them beyond the threshold, so
	 * that an object just extended is not due again at the next run. */
	keep = min_remaining + (int64_t)days * DAY_S / 3;
	if (keep < (int64_t)days * DAY_S)
		keep = (int64_t)days * DAY_S;
	res->below = now + min_remaining;
	res->until = now + keep;
	x.below = res->below;
	x.until = res->until;
	if (locks_objects(s, o->unit, 1, &x.names, &x.n, &problems, &nproblems, err) < 0)
		return -1;
	for (i = 0; i < nproblems; i++)
		failure(res, problems[i]);
	free(problems);
	pthread_mutex_init(&x.lock, NULL);
	nthreads = be->parallel > 1 ? (size_t)be->parallel : 1;
	if (nthreads > LOCK_THREADS_MAX)
		nthreads = LOCK_THREADS_MAX;
	if (nthreads > x.n)
		nthreads = x.n ? x.n : 1;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, extend_worker, &x) != 0)
			break;
	if (i == 0)
		extend_worker(&x); /* no thread: this one does it */
	nthreads = i;
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&x.lock);
	locks_names_free(x.names, x.n);
	return 0;
}

void lock_extend_result_clear(struct lock_extend_result *res)
{
	size_t i;

	for (i = 0; i < res->nfailures; i++)
		free(res->failures[i]);
	res->nfailures = 0;
}

/* --- legal hold ------------------------------------------------------------------- */

static void hold_failure(struct legal_hold_result *res, char *what)
{
	res->failed++;
	if (res->nfailures < LOCK_EXTEND_FAILURES_MAX)
		res->failures[res->nfailures++] = what;
	else
		free(what);
}

static int name_in(char **v, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, v, n, sizeof(char *), str_cmp) != NULL;
}

int legal_hold_apply(struct store *s, const char *unit, int on, const char *const *held,
		     size_t nheld, struct legal_hold_result *res, struct error *err)
{
	struct backend *be = store_backend(s);
	struct names keep = { 0 };
	char **names = NULL, **problems = NULL;
	size_t n = 0, nproblems = 0, i, k;

	memset(res, 0, sizeof(*res));
	if (!backend_has_locks(be))
		return 0;
	res->has_locks = 1;
	if (locks_objects(s, unit, 1, &names, &n, &problems, &nproblems, err) < 0)
		return -1;
	for (i = 0; i < nproblems; i++)
		hold_failure(res, problems[i]);
	free(problems);
	/* What the other held units need stays held: the union of theirs. */
	for (k = 0; !on && k < nheld; k++) {
		char **other = NULL, **oprob = NULL;
		size_t nother = 0, noprob = 0;
		struct error e;

		if (strcmp(held[k], unit) == 0)
			continue;
		error_init(&e);
		if (locks_objects(s, held[k], 1, &other, &nother, &oprob, &noprob, &e) < 0 ||
		    noprob > 0) {
			/* Not knowing what a held unit needs, release nothing. */
			locks_names_free(other, nother);
			locks_names_free(oprob, noprob);
			locks_names_free(keep.v, keep.n);
			locks_names_free(names, n);
			legal_hold_result_clear(res);
			return error_setk(err, e.code ? e.code : ERROR_FAIL, "cannot tell what held "
					  "unit %s needs, so no hold of unit %s is released%s%s",
					  held[k], unit, e.msg[0] ? ": " : "", e.msg);
		}
		for (i = 0; i < nother; i++)
			names_push(&keep, other[i]);
		free(other);
	}
	names_sort_unique(&keep);
	res->objects = n;
	for (i = 0; i < n; i++) {
		struct error e;

		if (!on && name_in(keep.v, keep.n, names[i])) {
			res->kept++;
			continue;
		}
		error_init(&e);
		if (backend_hold(be, names[i], on, &e) < 0) {
			char *what = backend_describe(be, names[i]);

			hold_failure(res, xasprintf("%s: %s", what, e.msg));
			free(what);
			continue;
		}
		res->changed++;
	}
	locks_names_free(keep.v, keep.n);
	locks_names_free(names, n);
	return 0;
}

void legal_hold_result_clear(struct legal_hold_result *res)
{
	size_t i;

	for (i = 0; i < res->nfailures; i++)
		free(res->failures[i]);
	res->nfailures = 0;
}
