/* The webdav source's restore (docs/webdav.md "Restore"): the server's
 * tree listed first (webdav_lister.c), then the point walked in tree
 * order: a missing collection made by the walk itself, each file that
 * differs read from the point into a temporary file and handed to
 * `connections` writers, which write it conditionally (If-Match /
 * If-None-Match, or a listing again on servers that ignore them) and put
 * its dead properties back; a file a user changed meanwhile is kept, the
 * restored copy put beside it. In place, what the point lacks is deleted
 * last. */

#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/point_reader.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/source.h"
#include "sources/webdav.h"
#include "sources/webdav_internal.h"
#include "sources/webdav_lister.h"
#include "sources/webdav_source.h"

/* What is on the server now, one resource. */
struct live {
	char *path, *etag;
	char *props; /* dead properties, as dav_res */
	int collection, seen;
	uint64_t size;
	int has_mtime;
	int64_t mtime_s;
};

struct wjob;

/* One writer of a restore: a thread with a connection of its own. */
struct writer {
	struct wr *w;
	struct dav_client *dav;
	pthread_t th;
};

/* Files written at once by a restore: the walk reads each file's bytes
 * from the point into a temporary file and queues it; writers take the
 * queue in order (at most WQ_MAX files and WQ_MAX_BYTES of them wait). A
 * collection is made by the walk itself before anything inside it is
 * queued. */
#define WQ_MAX (2 * DAV_MAX_CONNECTIONS)
#define WQ_MAX_BYTES (256u << 20)

struct wr {
	struct dav_client *dav;
	struct dav_lister *lister;
	struct point_reader *pr;
	const struct source_restore_opts *o;
	const struct dav_opts *dopts;
	struct live *live;
	size_t nlive, caplive;
	int checks_conditions;   /* the server checks If-Match (dav_checks_conditions) */
	int props_listed;        /* the point knows every entry's dead properties */
	char *root_props;        /* the target collection's dead properties */
	/* Below: shared with the writers, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* the queue or a writer's state changed */
	struct wjob *queue[WQ_MAX];
	size_t qhead, qn;
	uint64_t qbytes;         /* of the temporary files queued */
	int closing, failed;
	struct error err;        /* the first writer's failure */
	struct writer wt[DAV_MAX_CONNECTIONS];
	int nwt;
	struct source_restore_result *res;
	uint64_t conflicts;
	int no_proppatch;        /* the server does not take PROPPATCH */
	uint64_t props_set, props_failed;
};

static int live_cmp(const void *x, const void *y)
{
	const struct live *a = x, *b = y;

	return meta_path_cmp(a->path, b->path);
}

/* Lists everything below dir (PROPFIND Depth: 1 per collection). */
static int list_live(struct wr *w, const char *dir, int depth, struct error *err)
{
	struct dav_list l;
	size_t i, first = w->nlive, end;
	int ret = 0;

	if (depth > DAV_MAX_TREE_DEPTH)
		return error_set(err, "/%s: collections nest deeper than %d", dir, DAV_MAX_TREE_DEPTH);
	if (dav_lister_get(w->lister, dir, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		struct live *lv;

		if (dir[0] == '\0' && l.res[i].path[0] == '\0' && w->root_props == NULL) {
			w->root_props = l.res[i].props;
			l.res[i].props = NULL;
		}
		if (!webdav_is_child(dir, l.res[i].path))
			continue;
		if (w->nlive == w->caplive) {
			w->caplive = w->caplive ? w->caplive * 2 : 64;
			w->live = xrealloc(w->live, xmul(w->caplive, sizeof(*w->live)));
		}
		lv = &w->live[w->nlive++];
		memset(lv, 0, sizeof(*lv));
		lv->path = l.res[i].path;
		lv->etag = l.res[i].etag;
		lv->props = l.res[i].props;
		l.res[i].path = l.res[i].etag = l.res[i].props = NULL;
		lv->collection = l.res[i].collection;
		lv->size = l.res[i].size;
		lv->has_mtime = l.res[i].has_mtime;
		lv->mtime_s = l.res[i].mtime_s;
	}
	dav_list_clear(&l);
	/* This collection's children are [first, end); recursion appends
	 * after them and may move w->live. In tree order, the order the
	 * lister lists ahead in. */
	end = w->nlive;
	if (end - first > 1)
		qsort(w->live + first, end - first, sizeof(*w->live), live_cmp);
	for (i = first; ret == 0 && i < end; i++) {
		if (w->live[i].collection) {
			char *p = xstrdup(w->live[i].path);

			ret = list_live(w, p, depth + 1, err);
			free(p);
		}
	}
	return ret;
}

static struct live *live_find(struct wr *w, const char *path)
{
	struct live key = { .path = (char *)(uintptr_t)path };

	if (w->nlive == 0)
		return NULL;
	return bsearch(&key, w->live, w->nlive, sizeof(*w->live), live_cmp);
}

/* Whether entry e's pattern list selects path (no patterns: all). A
 * pattern selects the paths it matches and everything below them. */
static int selected(const struct source_restore_opts *o, const char *path)
{
	if (o->npatterns == 0)
		return 1;
	for (size_t i = 0; i < o->npatterns; i++) {
		const char *p = o->patterns[i];
		size_t n = strlen(p);

		while (n > 0 && p[n - 1] == '/')
			n--;
		if (fnmatch(p, path, 0) == 0 ||
		    (strncmp(p, path, n) == 0 && (path[n] == '/' || path[n] == '\0')))
			return 1;
		/* an ancestor of something selected: its collection is needed */
		if (strncmp(p, path, strlen(path)) == 0 && p[strlen(path)] == '/')
			return 1;
	}
	return 0;
}

/* Makes lv->etag strong before a conditional write: a weak ETag never
 * passes If-Match (RFC 9110 13.1.1), and Apache calls an ETag weak in the
 * second its file was written. Listed again (Depth: 0) until strong, up
 * to 3 s; a value that moved meanwhile is kept as listed, so the write's
 * If-Match fails and the file is kept. */
static void strong_etag(struct dav_client *dav, struct live *lv)
{
	for (int i = 0; i < 12 && lv->etag && lv->etag[0] == 'W' && lv->etag[1] == '/'; i++) {
		struct timespec ts = { 0, 250000000L };
		struct dav_list l;
		struct error e2;

		if (i > 0) /* listed again at once first: by now it is often strong */
			nanosleep(&ts, NULL);
		error_init(&e2);
		if (dav_propfind(dav, lv->path, lv->collection, 0, &l, &e2) < 0)
			return;
		if (l.n >= 1 && l.res[0].etag) {
			if (!dav_etag_same(l.res[0].etag, lv->etag)) {
				dav_list_clear(&l);
				return; /* changed: the write's If-Match fails */
			}
			free(lv->etag);
			lv->etag = l.res[0].etag;
			l.res[0].etag = NULL;
		}
		dav_list_clear(&l);
	}
}

/* Whether the server still has at path what its listing said (lv, or
 * nothing when lv is NULL), listed again (Depth: 0) right before a write:
 * nginx and rclone ignore If-Match and If-None-Match (docs/webdav.md
 * "Servers"), so the condition alone would not keep a user's change. The
 * ETag decides (W/ aside), without one size and getlastmodified. On a
 * server that checks the conditions (Apache) the write's own condition
 * decides, without this request. 1 as listed, 0 changed or gone, -1. */
/* Whether file `now` is as lv was listed: the same ETag (W/ aside), or
 * without one the same size and getlastmodified. */
static int listed_same(const struct live *lv, const struct dav_res *now)
{
	if (lv->etag && now->etag)
		return dav_etag_same(lv->etag, now->etag);
	return lv->etag == NULL && now->etag == NULL && now->has_size && now->size == lv->size &&
	       lv->has_mtime && now->has_mtime && now->mtime_s == lv->mtime_s;
}

static int as_listed(struct wr *w, struct dav_client *dav, const char *path,
		     const struct live *lv, struct error *err)
{
	struct dav_list l;
	const struct dav_res *now;
	int same;

	if (w->checks_conditions)
		return 1; /* the write's own If-Match / If-None-Match decides */
	if (dav_propfind(dav, path, lv && lv->collection, 0, &l, err) < 0) {
		if (err->code != ERROR_NOTFOUND)
			return -1;
		error_init(err);
		return lv == NULL;
	}
	now = l.n >= 1 ? &l.res[0] : NULL;
	if (lv == NULL || now == NULL)
		same = lv == NULL && now == NULL;
	else
		same = listed_same(lv, now);
	dav_list_clear(&l);
	return same;
}

/* Whether the collection at path still holds just what the listing
 * showed — every resource there was listed, a file as listed_same says —
 * listed again (Depth: 1 down its tree) right before it is deleted: no
 * server takes a condition on what a collection holds. 1 as listed, 0
 * changed, -1 and err. */
static int subtree_as_listed(struct wr *w, const char *path, int depth, struct error *err)
{
	struct dav_list l;
	int same = 1;

	if (depth > DAV_MAX_TREE_DEPTH)
		return 0;
	if (dav_propfind(w->dav, path, 1, 1, &l, err) < 0) {
		if (err->code != ERROR_NOTFOUND)
			return -1;
		error_init(err);
		return 1; /* gone already */
	}
	for (size_t i = 0; same == 1 && i < l.n; i++) {
		const struct dav_res *r = &l.res[i];
		const struct live *lv;

		if (!webdav_is_child(path, r->path))
			continue;
		lv = live_find(w, r->path);
		if (lv == NULL || lv->collection != r->collection)
			same = 0;
		else if (r->collection)
			same = subtree_as_listed(w, r->path, depth + 1, err);
		else
			same = listed_same(lv, r);
	}
	dav_list_clear(&l);
	return same;
}

static int to_file(void *ctx, const void *data, size_t len, struct error *err)
{
	FILE *f = ctx;

	if (fwrite(data, 1, len, f) != len)
		return error_sys(err, "cannot write a temporary file");
	return 0;
}

struct cmp {
	FILE *f;
	int differs;
};

static int cmp_bytes(void *ctx, const void *data, size_t len, struct error *err)
{
	struct cmp *c = ctx;
	uint8_t tmp[16384];
	const uint8_t *d = data;

	(void)err;
	while (len > 0 && !c->differs) {
		size_t n = len < sizeof(tmp) ? len : sizeof(tmp);

		if (fread(tmp, 1, n, c->f) != n || memcmp(tmp, d, n) != 0)
			c->differs = 1;
		d += n;
		len -= n;
	}
	return 0;
}

/* 1 if the file on the server holds the bytes of f (the point's), 0 if
 * not or it cannot be told. */
static int same_bytes(struct dav_client *dav, struct live *lv, FILE *f)
{
	struct cmp c = { .f = f };
	struct error e2;
	int ret;

	if (fseeko(f, 0, SEEK_SET) != 0)
		return 0;
	error_init(&e2);
	ret = dav_get(dav, lv->path, lv->etag, cmp_bytes, &c, NULL, &e2);
	if (ret != 0 || c.differs || fgetc(f) != EOF)
		return 0;
	return 1;
}

/* A file to write: the point's bytes in f, what the listing showed in lv
 * (NULL: nothing there). */
struct wjob {
	char *path;
	char *props;        /* the point's dead properties, or NULL */
	uint64_t size;
	int64_t mtime_s;
	struct live *lv;
	FILE *f;
};

static void wjob_free(struct wjob *j)
{
	if (j == NULL)
		return;
	if (j->f)
		fclose(j->f);
	free(j->path);
	free(j->props);
	free(j);
}

/* Counts an entry done (bytes: its size if written), under the lock. */
static void count_done(struct wr *w, uint64_t bytes)
{
	pthread_mutex_lock(&w->lock);
	w->res->items_done++;
	w->res->bytes_done += bytes;
	if (w->o->progress)
		w->o->progress(w->o->ctx, w->res->items_done, w->res->bytes_done);
	pthread_mutex_unlock(&w->lock);
}

/* Writes the restored copy beside a file changed meanwhile:
 * "NAME.restored-N", the first N free. */
static int put_beside(struct wr *w, struct dav_client *dav, const struct wjob *j,
		      struct error *err)
{
	for (int n = 1; n <= 1000; n++) {
		char *p = xasprintf("%s.restored-%d", j->path, n);
		int ret = as_listed(w, dav, p, NULL, err);

		if (ret == 1) /* free: written only if still free */
			ret = dav_put(dav, p, j->f, j->size, NULL, 1, j->mtime_s, err);
		else if (ret == 0)
			ret = 1;

		if (ret == 0)
			log_warn("%s changed on the server during the restore: kept; the restored copy "
				 "is %s", j->path, p);
		free(p);
		if (ret <= 0)
			return ret;
	}
	return error_set(err, "%s: no free name %s.restored-N up to 1000", j->path, j->path);
}

/* Puts the point's dead properties (want) back on path where the server's
 * (have) differ: one PROPPATCH setting what differs and removing what the
 * point lacks. A server without PROPPATCH is told once; a property
 * refused is warned about and counted, the restore goes on. */
static void restore_props(struct wr *w, struct dav_client *dav, const char *path,
			  int collection, const char *want, const char *have)
{
	char *body = NULL;
	struct error e2;
	int ret = 0, skip, sent = 0;

	pthread_mutex_lock(&w->lock);
	/* A point listed without allprop does not know them: left alone. */
	skip = w->no_proppatch || (want == NULL && (have == NULL || !w->props_listed));
	pthread_mutex_unlock(&w->lock);
	if (skip)
		return;
	error_init(&e2);
	if (dav_props_patch(want, have, path, &body, &e2) == 0 && body) {
		ret = dav_proppatch(dav, path, collection, body, &e2);
		sent = 1;
	}
	free(body);
	pthread_mutex_lock(&w->lock);
	if (ret == 1 && !w->no_proppatch) {
		w->no_proppatch = 1;
		log_warn("the server does not take PROPPATCH: dead properties are not put back");
	} else if (ret == 0 && sent) {
		w->props_set++;
	}
	if (e2.msg[0]) {
		log_warn("%s", e2.msg);
		w->props_failed++;
	}
	pthread_mutex_unlock(&w->lock);
}

/* Writes one file with dav: 0 written, 1 the same bytes are there
 * already, 2 a user's change kept and the copy put beside it, -1 and err. */
static int write_file(struct wr *w, struct dav_client *dav, struct wjob *j, struct error *err)
{
	struct live *lv = j->lv;
	int ret;

	/* Same size, another ETag (a copy written back by an earlier
	 * restore has a new one): the bytes decide, read back from the
	 * server rather than written again. */
	if (lv && lv->size == j->size && same_bytes(dav, lv, j->f) == 1)
		return 1;
	if (lv)
		strong_etag(dav, lv);
	/* Over what was listed, or only where nothing is: a file changed (or
	 * made) meanwhile is never overwritten, by a server that checks the
	 * condition or, one that does not, by listing it again first. */
	ret = as_listed(w, dav, j->path, lv, err);
	if (ret == 1)
		ret = dav_put(dav, j->path, j->f, j->size, lv ? lv->etag : NULL, lv == NULL,
			      j->mtime_s, err);
	else if (ret == 0)
		ret = 1; /* changed since the listing */
	if (ret != 1)
		return ret;
	pthread_mutex_lock(&w->lock);
	w->conflicts++;
	pthread_mutex_unlock(&w->lock);
	return put_beside(w, dav, j, err) == 0 ? 2 : -1;
}

static void *writer_thread(void *arg)
{
	struct writer *wt = arg;
	struct wr *w = wt->w;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct wjob *j;
		struct error err;
		int ret;

		while (w->qn == 0 && !w->closing && !w->failed)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->failed || w->qn == 0)
			break;
		j = w->queue[w->qhead];
		w->qhead = (w->qhead + 1) % WQ_MAX;
		w->qn--;
		w->qbytes -= j->size;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		error_init(&err);
		ret = write_file(w, wt->dav, j, &err);
		if (ret == 0 || ret == 1)
			restore_props(w, wt->dav, j->path, 0, j->props, j->lv ? j->lv->props : NULL);
		if (ret >= 0)
			count_done(w, ret == 0 ? j->size : 0);
		wjob_free(j);
		pthread_mutex_lock(&w->lock);
		if (ret < 0 && !w->failed) {
			w->failed = 1;
			w->err = err;
		}
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int writers_start(struct wr *w, struct error *err)
{
	for (int i = 0; i < w->dopts->connections; i++) {
		w->wt[i].w = w;
		w->wt[i].dav = dav_open(w->dopts, err);
		if (w->wt[i].dav == NULL)
			return -1;
		if (pthread_create(&w->wt[i].th, NULL, writer_thread, &w->wt[i]) != 0) {
			dav_close(&w->wt[i].dav);
			if (i == 0)
				return error_set(err, "cannot start a restore thread");
			break;
		}
		w->nwt = i + 1;
	}
	return 0;
}

/* Hands j to the writers, waiting while the queue is full (WQ_MAX files,
 * or WQ_MAX_BYTES of temporary files unless it is empty): 0, or -1 and
 * err (j freed) once a writer failed. */
static int writers_queue(struct wr *w, struct wjob *j, struct error *err)
{
	pthread_mutex_lock(&w->lock);
	while ((w->qn == WQ_MAX || (w->qn > 0 && w->qbytes + j->size > WQ_MAX_BYTES)) &&
	       !w->failed)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->failed) {
		*err = w->err;
		pthread_mutex_unlock(&w->lock);
		wjob_free(j);
		return -1;
	}
	w->queue[(w->qhead + w->qn) % WQ_MAX] = j;
	w->qn++;
	w->qbytes += j->size;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Lets the writers finish what is queued (or stop, when one failed or
 * the walk did: abort; the rest is dropped) and joins them: 0, or -1 and
 * the first writer's failure in err (if not NULL). */
static int writers_finish(struct wr *w, int abort, struct error *err)
{
	int failed;

	pthread_mutex_lock(&w->lock);
	w->closing = 1;
	if (abort && !w->failed) {
		w->failed = 1;
		error_set(&w->err, "the restore stopped");
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nwt; i++) {
		pthread_join(w->wt[i].th, NULL);
		dav_close(&w->wt[i].dav);
	}
	w->nwt = 0;
	while (w->qn > 0) {
		wjob_free(w->queue[w->qhead]);
		w->qhead = (w->qhead + 1) % WQ_MAX;
		w->qn--;
	}
	w->qbytes = 0;
	failed = w->failed;
	if (failed && err)
		*err = w->err;
	return failed ? -1 : 0;
}

/* A file of the point: left alone when the server has the same size and
 * ETag, else its bytes are read into a temporary file and queued for the
 * writers. 0 (done or queued), 1 done already (nothing to write), -1. */
static int restore_file(struct wr *w, const struct meta_entry *e, struct live *lv,
			struct error *err)
{
	char *etag = meta_entry_xattr_str(e, XA_ETAG);
	struct wjob *j;
	FILE *f;

	if (lv && !lv->collection && lv->etag && etag && lv->size == e->size &&
	    dav_etag_same(lv->etag, etag)) {
		free(etag);
		return 1; /* the same content is there */
	}
	free(etag);
	if (lv && lv->collection)
		return error_set(err, "%s is a collection on the server, a file in the point; "
				 "left as it is", e->path);
	f = tmpfile();
	if (f == NULL)
		return error_sys(err, "cannot make a temporary file");
	if (point_reader_content(w->pr, e, to_file, f, err) < 0 || fflush(f) != 0) {
		if (err->msg[0] == '\0')
			error_sys(err, "cannot write a temporary file");
		fclose(f);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(e->path);
	j->props = meta_entry_xattr_str(e, XA_PROPS);
	j->size = e->size;
	j->mtime_s = e->mtime_s;
	j->lv = lv;
	j->f = f;
	return writers_queue(w, j, err);
}

/* A collection of the point: made where missing (MKCOL), before anything
 * inside it is queued. 0, or -1 and err. */
static int restore_dir(struct wr *w, const struct meta_entry *e, const struct live *lv,
		       struct error *err)
{
	int ret = 0;

	if (lv == NULL)
		ret = dav_mkcol(w->dav, e->path, err);
	else if (!lv->collection)
		ret = error_set(err, "%s is a file on the server, a collection in the point; "
				"left as it is", e->path);
	if (ret == 1)
		ret = error_set(err, "%s: made by someone else meanwhile", e->path);
	return ret;
}

/* The props of entry e put back by the walk's own connection. */
static void restore_entry_props(struct wr *w, const struct meta_entry *e, const char *have)
{
	char *want = meta_entry_xattr_str(e, XA_PROPS);

	restore_props(w, w->dav, e->path, e->type == META_DIR, want, have);
	free(want);
}

/* An entry an erasure withholds is neither written nor deleted: what the
 * server has there, and below it, stays as it is (docs/privacy.md 2). */
static void leave_alone(struct wr *w, const struct meta_entry *e)
{
	size_t len = strlen(e->path);
	struct live *first = live_find(w, e->path), *lv;

	/* In path order a folder's subtree follows it. */
	for (lv = first; lv && lv < w->live + w->nlive; lv++) {
		if (lv != first && (strncmp(lv->path, e->path, len) != 0 || lv->path[len] != '/'))
			break;
		lv->seen = 1;
	}
}

/* A plan's entry (dry run): what restore_dir or restore_file would do,
 * told to the plan, nothing sent. Dead properties are not compared. */
static void plan_entry(struct wr *w, const struct meta_entry *e, const struct live *lv)
{
	int same = lv != NULL && lv->collection; /* a collection is there */

	if (e->type == META_FILE) {
		char *etag = meta_entry_xattr_str(e, XA_ETAG);

		same = lv && !lv->collection && lv->etag && etag && lv->size == e->size &&
		       dav_etag_same(lv->etag, etag);
		free(etag);
	}
	if (same) {
		w->res->unchanged++;
	} else if (lv && lv->collection != (e->type == META_DIR)) {
		w->res->failed++; /* a file for a collection or back: left as it is */
	} else {
		if (w->o->plan)
			w->o->plan(w->o->ctx, "write", e->path);
		if (e->type == META_FILE)
			w->res->bytes_done += e->size;
	}
}

/* A plan's deletions: the topmost of each subtree the point lacks. */
static void plan_extras(struct wr *w)
{
	const char *gone = NULL;
	size_t gl = 0;

	for (size_t i = 0; i < w->nlive; i++) {
		const struct live *lv = &w->live[i];

		if (lv->seen == 1 || (gone && strncmp(lv->path, gone, gl) == 0 && lv->path[gl] == '/'))
			continue;
		if (w->o->plan)
			w->o->plan(w->o->ctx, "remove", lv->path);
		if (lv->collection) {
			gone = lv->path;
			gl = strlen(gone);
		}
	}
}

static int restore_entries(struct wr *w, struct error *err)
{
	struct tree_reader *tr;
	struct meta_entry *e;
	struct error e2;
	int r;

	tr = point_reader_tree(w->pr, 1, err);
	if (tr == NULL)
		return -1;
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		struct live *lv;
		int ret;

		if (tree_reader_withheld(tr) != NULL) {
			leave_alone(w, e);
			if (e->path[0] != '\0' && selected(w->o, e->path))
				erasure_set_note(point_reader_erasures(w->pr), tree_reader_withheld(tr));
			continue;
		}
		if (e->path[0] == '\0')
			w->props_listed = meta_entry_xattr(e, XA_PROPS_LISTED) != NULL;
		if (e->path[0] == '\0' && e->type == META_DIR && w->o->npatterns == 0) {
			if (!w->o->dry_run)
				restore_entry_props(w, e, w->root_props);
			continue;
		}
		if (e->path[0] == '\0' || (e->type != META_FILE && e->type != META_DIR) ||
		    !selected(w->o, e->path))
			continue;
		w->res->items_total++;
		lv = live_find(w, e->path);
		if (lv)
			lv->seen = 1;
		if (w->o->dry_run) {
			plan_entry(w, e, lv);
			continue;
		}
		error_init(&e2);
		if (e->type == META_DIR)
			ret = restore_dir(w, e, lv, &e2);
		else
			ret = restore_file(w, e, lv, &e2);
		if (ret < 0) {
			/* A failed request fails the restore; a conflict is counted. */
			if (strstr(e2.msg, "left as it is") || strstr(e2.msg, "meanwhile")) {
				log_warn("%s", e2.msg);
				pthread_mutex_lock(&w->lock);
				w->res->failed++;
				pthread_mutex_unlock(&w->lock);
				continue;
			}
			*err = e2;
			tree_reader_close(&tr);
			return -1;
		}
		/* A file queued is counted by its writer. */
		if (e->type == META_DIR || ret == 1) {
			restore_entry_props(w, e, lv ? lv->props : NULL);
			count_done(w, 0);
		}
	}
	tree_reader_close(&tr);
	return r < 0 ? -1 : 0;
}

/* In place, without patterns: what the point does not have is deleted,
 * the topmost of each subtree only; a file changed since it was listed
 * (412, or seen listing it again), or a collection holding anything not
 * as listed, is kept. */
static int delete_extras(struct wr *w, struct error *err)
{
	const char *gone = NULL;
	size_t gl = 0;

	for (size_t i = 0; i < w->nlive; i++) {
		struct live *lv = &w->live[i];
		int ret;

		if (lv->seen == 1)
			continue;
		if (gone && strncmp(lv->path, gone, gl) == 0 && lv->path[gl] == '/')
			continue;
		if (lv->collection) {
			ret = subtree_as_listed(w, lv->path, 0, err);
		} else {
			strong_etag(w->dav, lv);
			ret = as_listed(w, w->dav, lv->path, lv, err);
		}
		if (ret == 1)
			ret = dav_delete(w->dav, lv->path, lv->collection,
					 lv->collection ? NULL : lv->etag, err);
		else if (ret == 0)
			ret = 1;
		if (ret < 0)
			return -1;
		if (ret == 1) {
			log_warn("%s changed on the server during the restore: kept", lv->path);
			w->conflicts++;
			continue;
		}
		if (lv->collection) {
			gone = lv->path;
			gl = strlen(gone);
		}
	}
	return 0;
}

int webdav_restore(struct store *s, const struct source_restore_opts *o,
		   struct source_restore_result *res, struct error *err)
{
	struct wr w;
	struct dav_opts dopts;
	char *url = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.o = o;
	w.res = res;
	w.dopts = &dopts;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	if (webdav_source_opts(o->target ? o->target : o->source, &dopts, &url, err) < 0)
		goto out;
	dopts.policy = o->netpolicy;
	dopts.dead_props = 1; /* compared with the point's */
	w.dav = dav_open(&dopts, err);
	if (w.dav == NULL || point_reader_open(s, o->rp, &w.pr, err) < 0)
		goto out;
	if (o->target && o->dry_run) {
		/* A plan of a new collection: nothing there yet, every entry new. */
		ret = restore_entries(&w, err);
		goto done;
	}
	if (o->target) {
		/* A new collection: made here if missing (its parent must exist). */
		struct dav_client *top;
		char *parent = xstrdup(url), *leaf;
		size_t n = strlen(parent);

		parent[n - 1] = '\0';
		leaf = strrchr(parent, '/');
		if (leaf == NULL || leaf[1] == '\0') {
			free(parent);
			error_setk(err, ERROR_USAGE, "restore target %s has no parent collection", url);
			goto out;
		}
		leaf[1] = '\0';
		dopts.url = parent;
		top = dav_open(&dopts, err);
		dopts.url = url;
		ret = top ? dav_mkcol(top, url + strlen(parent), err) : -1;
		dav_close(&top);
		free(parent);
		if (ret < 0)
			goto out;
		ret = -1;
	}
	w.checks_conditions = dav_checks_conditions(w.dav);
	w.lister = dav_lister_open(&dopts, dopts.connections, NULL, NULL, err);
	if (w.lister == NULL || list_live(&w, "", 0, err) < 0)
		goto out;
	dav_lister_close(&w.lister);
	if (w.nlive > 1)
		qsort(w.live, w.nlive, sizeof(*w.live), live_cmp);
	for (size_t i = 0; i < w.nlive; i++)
		w.live[i].seen = 0;
	if (o->dry_run) { /* read only: no writers, nothing sent */
		ret = restore_entries(&w, err);
		if (ret == 0 && o->target == NULL && o->npatterns == 0)
			plan_extras(&w);
		goto done;
	}
	ret = writers_start(&w, err);
	if (ret == 0)
		ret = restore_entries(&w, err);
	if (writers_finish(&w, ret < 0, ret == 0 ? err : NULL) < 0)
		ret = -1;
	if (ret == 0 && o->target == NULL && o->npatterns == 0)
		ret = delete_extras(&w, err);
	if (ret == 0 && w.props_failed)
		log_warn("restore of %s to %s: the dead properties of %" PRIu64 " entries could not "
			 "be put back (see above)", o->rp, url, w.props_failed);
	if (ret == 0 && w.conflicts)
		log_warn("restore of %s to %s: %" PRIu64 " files changed on the server during the "
			 "restore were kept (restored copies beside them: NAME.restored-N)",
			 o->rp, url, w.conflicts);
done:
	if (ret == 0 && w.pr != NULL) {
		res->withheld = erasure_set_withheld(point_reader_erasures(w.pr));
		res->withheld_by = erasure_set_report_text(point_reader_erasures(w.pr));
	}
out:
	if (ret < 0)
		error_prefix(err, "restore of %s to %s failed", o->rp, url ? url : "webdav");
	for (size_t i = 0; i < w.nlive; i++) {
		free(w.live[i].path);
		free(w.live[i].etag);
		free(w.live[i].props);
	}
	free(w.live);
	free(w.root_props);
	dav_lister_close(&w.lister);
	writers_finish(&w, 1, NULL);
	point_reader_close(&w.pr);
	dav_close(&w.dav);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	free(url);
	return ret;
}
