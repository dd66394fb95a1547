/* Collections listed ahead of a walk (sources/webdav_lister.h): a few
 * threads, each with a connection of its own, take the smallest queued
 * path (tree order, the order a depth-first walk asks in), list it with
 * PROPFIND Depth: 1 and queue its subcollections. The walk takes answers
 * by path. Threads pause while LISTER_AHEAD answers are unread, unless
 * the walk waits for one not listed yet. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/meta.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "sources/webdav.h"
#include "sources/webdav_internal.h"
#include "sources/webdav_lister.h"

#define LISTER_MAX_CONN 16
#define LISTER_AHEAD 64

struct answer {
	char *path;
	int done, failed;
	struct dav_list l;
	struct error err;
};

struct worker {
	struct dav_lister *ls;
	struct dav_client *dav;
	uint64_t nreq;       /* its requests, read under the lock */
};

struct dav_lister {
	struct worker wk[LISTER_MAX_CONN];
	pthread_t th[LISTER_MAX_CONN];
	int nconn, nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a queue or an answer changed */
	char **heap;                /* queued paths, smallest first */
	size_t nheap, capheap;
	struct answer **ans;        /* being listed or listed, unread */
	size_t nans, capans;
	const char *wanted;         /* the path the walk waits for */
	int stop;
	dav_lister_want_fn *want;   /* which subcollections to list ahead */
	void *want_ctx;
};

/* ---- the queue: a binary heap in tree order ---- */

static int heap_less(struct dav_lister *ls, size_t a, size_t b)
{
	return meta_path_cmp(ls->heap[a], ls->heap[b]) < 0;
}

static void heap_swap(struct dav_lister *ls, size_t a, size_t b)
{
	char *t = ls->heap[a];

	ls->heap[a] = ls->heap[b];
	ls->heap[b] = t;
}

static void heap_push(struct dav_lister *ls, char *path)
{
	size_t i;

	if (ls->nheap == ls->capheap) {
		ls->capheap = ls->capheap ? ls->capheap * 2 : 64;
		ls->heap = xrealloc(ls->heap, xmul(ls->capheap, sizeof(*ls->heap)));
	}
	i = ls->nheap++;
	ls->heap[i] = path;
	while (i > 0 && heap_less(ls, i, (i - 1) / 2)) {
		heap_swap(ls, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static char *heap_pop(struct dav_lister *ls)
{
	char *top = ls->heap[0];
	size_t i = 0;

	ls->heap[0] = ls->heap[--ls->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < ls->nheap && heap_less(ls, l, m))
			m = l;
		if (r < ls->nheap && heap_less(ls, r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(ls, i, m);
		i = m;
	}
	return top;
}

static int heap_has(const struct dav_lister *ls, const char *path)
{
	for (size_t i = 0; i < ls->nheap; i++)
		if (strcmp(ls->heap[i], path) == 0)
			return 1;
	return 0;
}

/* ---- answers ---- */

static struct answer *answer_find(struct dav_lister *ls, const char *path, size_t *i_r)
{
	for (size_t i = 0; i < ls->nans; i++)
		if (strcmp(ls->ans[i]->path, path) == 0) {
			if (i_r)
				*i_r = i;
			return ls->ans[i];
		}
	return NULL;
}

static struct answer *answer_add(struct dav_lister *ls, char *path)
{
	struct answer *a = xcalloc(1, sizeof(*a));

	a->path = path;
	error_init(&a->err);
	if (ls->nans == ls->capans) {
		ls->capans = ls->capans ? ls->capans * 2 : 16;
		ls->ans = xrealloc(ls->ans, xmul(ls->capans, sizeof(*ls->ans)));
	}
	ls->ans[ls->nans++] = a;
	return a;
}

static void answer_free(struct answer *a)
{
	dav_list_clear(&a->l);
	free(a->path);
	free(a);
}

static int path_cmp(const void *x, const void *y)
{
	return meta_path_cmp(*(char *const *)x, *(char *const *)y);
}

/* Queues the subcollections of a's listing, each name once. */
static void queue_children(struct dav_lister *ls, const struct answer *a)
{
	char **kids = xcalloc(a->l.n + 1, sizeof(*kids));
	size_t n = 0;

	for (size_t i = 0; i < a->l.n; i++)
		if (a->l.res[i].collection && webdav_is_child(a->path, a->l.res[i].path) &&
		    (ls->want == NULL || ls->want(ls->want_ctx, &a->l.res[i])))
			kids[n++] = a->l.res[i].path;
	qsort(kids, n, sizeof(*kids), path_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(kids[i], kids[i - 1]) != 0)
			heap_push(ls, xstrdup(kids[i]));
	free(kids);
}

static void *lister_thread(void *arg)
{
	struct worker *wk = arg;
	struct dav_lister *ls = wk->ls;

	pthread_mutex_lock(&ls->lock);
	for (;;) {
		struct answer *a;
		struct dav_list l;
		struct error err;
		int ret;

		while (!ls->stop &&
		       (ls->nheap == 0 || (ls->nans >= LISTER_AHEAD && ls->wanted == NULL)))
			pthread_cond_wait(&ls->cond, &ls->lock);
		if (ls->stop)
			break;
		a = answer_add(ls, heap_pop(ls));
		pthread_mutex_unlock(&ls->lock);
		error_init(&err);
		ret = dav_propfind(wk->dav, a->path, 1, 1, &l, &err);
		pthread_mutex_lock(&ls->lock);
		wk->nreq = dav_requests(wk->dav);
		a->done = 1;
		a->failed = ret < 0;
		a->err = err;
		a->l = l;
		if (ret == 0)
			queue_children(ls, a);
		pthread_cond_broadcast(&ls->cond);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

struct dav_lister *dav_lister_open(const struct dav_opts *o, int nconn, dav_lister_want_fn *want,
				   void *want_ctx, struct error *err)
{
	struct dav_lister *ls = xcalloc(1, sizeof(*ls));

	ls->want = want;
	ls->want_ctx = want_ctx;
	ls->nconn = nconn < 1 ? 1 : nconn > LISTER_MAX_CONN ? LISTER_MAX_CONN : nconn;
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	for (int i = 0; i < ls->nconn; i++) {
		ls->wk[i].ls = ls;
		ls->wk[i].dav = dav_open(o, err);
		if (ls->wk[i].dav == NULL) {
			dav_lister_close(&ls);
			return NULL;
		}
	}
	for (int i = 0; i < ls->nconn; i++) {
		if (pthread_create(&ls->th[i], NULL, lister_thread, &ls->wk[i]) != 0) {
			if (i == 0) {
				error_set(err, "webdav: cannot start a listing thread");
				dav_lister_close(&ls);
				return NULL;
			}
			break; /* fewer threads list */
		}
		ls->nthreads = i + 1;
	}
	return ls;
}

void dav_lister_close(struct dav_lister **lsp)
{
	struct dav_lister *ls = *lsp;

	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stop = 1;
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	for (int i = 0; i < ls->nthreads; i++)
		pthread_join(ls->th[i], NULL);
	for (int i = 0; i < ls->nconn; i++)
		dav_close(&ls->wk[i].dav);
	while (ls->nheap > 0)
		free(ls->heap[--ls->nheap]);
	free(ls->heap);
	for (size_t i = 0; i < ls->nans; i++)
		answer_free(ls->ans[i]);
	free(ls->ans);
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
	*lsp = NULL;
}

int dav_lister_get(struct dav_lister *ls, const char *path, struct dav_list *l,
		   struct error *err)
{
	struct answer *a;
	size_t i = 0;
	int ret;

	memset(l, 0, sizeof(*l));
	pthread_mutex_lock(&ls->lock);
	/* The walk's first path, or one no listing named: queued now. */
	if (answer_find(ls, path, NULL) == NULL &&
	    (ls->nheap == 0 || strcmp(ls->heap[0], path) != 0) && !heap_has(ls, path))
		heap_push(ls, xstrdup(path));
	ls->wanted = path;
	pthread_cond_broadcast(&ls->cond);
	while ((a = answer_find(ls, path, &i)) == NULL || !a->done)
		pthread_cond_wait(&ls->cond, &ls->lock);
	ls->wanted = NULL;
	ls->ans[i] = ls->ans[--ls->nans];
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	ret = a->failed ? -1 : 0;
	if (a->failed)
		*err = a->err;
	else {
		*l = a->l;
		memset(&a->l, 0, sizeof(a->l));
	}
	answer_free(a);
	return ret;
}

uint64_t dav_lister_requests(struct dav_lister *ls)
{
	uint64_t n = 0;

	pthread_mutex_lock(&ls->lock);
	for (int i = 0; i < ls->nconn; i++)
		n += ls->wk[i].nreq;
	pthread_mutex_unlock(&ls->lock);
	return n;
}
